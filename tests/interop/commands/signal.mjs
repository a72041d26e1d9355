// Signal protocol commands backed by libsignal-node 6.0.0 (1:1 sessions, XEdDSA) and Baileys'
// sender-key classes (groups): the implementations Baileys itself runs.
//
// The oracle keeps named parties in memory. A party is one device: identity, registration id,
// signed prekey (id 1), one-time prekeys (ids 1..n), session and sender-key stores.
// All byte values are hex strings.
//
//   signal.newParty      {name, preKeys?}                   -> bundle JSON (see below)
//   signal.processBundle {party, peer, bundle}              -> null   (start a session to peer)
//   signal.encrypt       {party, peer, plaintext}           -> {type: "pkmsg"|"msg", body}
//   signal.decrypt       {party, peer, type, body}          -> plaintext (hex)
//   signal.hasPreKey     {party, id}                        -> bool
//   signal.keyPair       {}                                 -> {pub, priv}
//   signal.sign          {priv, message}                    -> signature
//   signal.verify        {pub, message, signature}          -> bool
//   signal.groupCreate   {party, group, sender}             -> SenderKeyDistributionMessage
//   signal.groupProcess  {party, group, sender, skdm}       -> null
//   signal.groupEncrypt  {party, group, sender, plaintext}  -> SenderKeyMessage
//   signal.groupDecrypt  {party, group, sender, body}       -> plaintext
//
// `peer` and `sender` are libsignal addresses "name.device". A bundle is
//   {registrationId, identityKey, signedPreKey: {keyId, publicKey, signature},
//    preKey: {keyId, publicKey} | null}
import libsignal from 'libsignal';
import {
	GroupCipher,
	GroupSessionBuilder,
	SenderKeyDistributionMessage,
	SenderKeyName,
	SenderKeyRecord,
} from 'baileys/lib/Signal/Group/index.js';

const hex = b => Buffer.from(b).toString('hex');
const buf = h => {
	if (typeof h !== 'string' || !/^([0-9a-f]{2})*$/i.test(h)) {
		throw new Error('expected a hex string');
	}
	return Buffer.from(h, 'hex');
};

const parties = new Map();

const party = name => {
	const p = parties.get(name);
	if (!p) {
		throw new Error(`unknown party ${JSON.stringify(name)}`);
	}
	return p;
};

const address = s => libsignal.ProtocolAddress.from(s);

const makeStorage = p => ({
	getOurIdentity: async () => p.identity,
	getOurRegistrationId: async () => p.registrationId,
	isTrustedIdentity: async () => true,
	loadSession: async id => p.sessions.get(id),
	storeSession: async (id, record) => {
		p.sessions.set(id, record);
	},
	loadPreKey: async id => {
		const k = p.preKeys.get(id);
		return k ? { pubKey: k.pubKey, privKey: k.privKey } : undefined;
	},
	removePreKey: async id => {
		p.preKeys.delete(id);
	},
	loadSignedPreKey: async id => (id === p.signedPreKey.keyId ? p.signedPreKey.keyPair : undefined),
	loadSenderKey: async name => p.senderKeys.get(name.toString()) ?? new SenderKeyRecord(),
	storeSenderKey: async (name, record) => {
		p.senderKeys.set(name.toString(), record);
	},
});

const senderName = (group, sender) => {
	const a = address(sender);
	return new SenderKeyName(group, a);
};

// libsignal-node logs with console.info/console.log, which write to stdout, the oracle's protocol
// channel. Requests are handled one at a time, so route those to stderr for the call's duration.
const quietly = handler => async params => {
	const { info, log } = console;
	console.info = console.error;
	console.log = console.error;
	try {
		return await handler(params);
	} finally {
		console.info = info;
		console.log = log;
	}
};

const handlers = {
	'signal.newParty': async ({ name, preKeys = 5 }) => {
		const identity = libsignal.keyhelper.generateIdentityKeyPair();
		const registrationId = libsignal.keyhelper.generateRegistrationId();
		const signedPreKey = libsignal.keyhelper.generateSignedPreKey(identity, 1);
		const p = {
			identity,
			registrationId,
			signedPreKey,
			preKeys: new Map(),
			sessions: new Map(),
			senderKeys: new Map(),
		};
		for (let id = 1; id <= preKeys; id++) {
			p.preKeys.set(id, libsignal.keyhelper.generatePreKey(id).keyPair);
		}
		p.storage = makeStorage(p);
		parties.set(name, p);
		const first = p.preKeys.get(1);
		return {
			registrationId,
			identityKey: hex(identity.pubKey),
			signedPreKey: {
				keyId: 1,
				publicKey: hex(signedPreKey.keyPair.pubKey),
				signature: hex(signedPreKey.signature),
			},
			preKey: first ? { keyId: 1, publicKey: hex(first.pubKey) } : null,
		};
	},
	'signal.processBundle': async ({ party: name, peer, bundle }) => {
		const p = party(name);
		const device = {
			registrationId: bundle.registrationId,
			identityKey: buf(bundle.identityKey),
			signedPreKey: {
				keyId: bundle.signedPreKey.keyId,
				publicKey: buf(bundle.signedPreKey.publicKey),
				signature: buf(bundle.signedPreKey.signature),
			},
			preKey: bundle.preKey
				? { keyId: bundle.preKey.keyId, publicKey: buf(bundle.preKey.publicKey) }
				: undefined,
		};
		await new libsignal.SessionBuilder(p.storage, address(peer)).initOutgoing(device);
		return null;
	},
	'signal.encrypt': async ({ party: name, peer, plaintext }) => {
		const p = party(name);
		const { type, body } = await new libsignal.SessionCipher(p.storage, address(peer)).encrypt(buf(plaintext));
		return { type: type === 3 ? 'pkmsg' : 'msg', body: hex(body) };
	},
	'signal.decrypt': async ({ party: name, peer, type, body }) => {
		const p = party(name);
		const cipher = new libsignal.SessionCipher(p.storage, address(peer));
		const out =
			type === 'pkmsg'
				? await cipher.decryptPreKeyWhisperMessage(buf(body))
				: await cipher.decryptWhisperMessage(buf(body));
		return hex(out);
	},
	'signal.hasPreKey': async ({ party: name, id }) => party(name).preKeys.has(id),
	'signal.keyPair': async () => {
		const kp = libsignal.curve.generateKeyPair();
		return { pub: hex(kp.pubKey), priv: hex(kp.privKey) };
	},
	'signal.sign': async ({ priv, message }) => hex(libsignal.curve.calculateSignature(buf(priv), buf(message))),
	'signal.verify': async ({ pub, message, signature }) =>
		libsignal.curve.verifySignature(buf(pub), buf(message), buf(signature)),
	'signal.groupCreate': async ({ party: name, group, sender }) => {
		const p = party(name);
		const skdm = await new GroupSessionBuilder(p.storage).create(senderName(group, sender));
		return hex(skdm.serialize());
	},
	'signal.groupProcess': async ({ party: name, group, sender, skdm }) => {
		const p = party(name);
		const msg = new SenderKeyDistributionMessage(null, null, null, null, buf(skdm));
		await new GroupSessionBuilder(p.storage).process(senderName(group, sender), msg);
		return null;
	},
	'signal.groupEncrypt': async ({ party: name, group, sender, plaintext }) => {
		const p = party(name);
		return hex(await new GroupCipher(p.storage, senderName(group, sender)).encrypt(buf(plaintext)));
	},
	'signal.groupDecrypt': async ({ party: name, group, sender, body }) => {
		const p = party(name);
		return hex(await new GroupCipher(p.storage, senderName(group, sender)).decrypt(buf(body)));
	},
};

export const commands = Object.fromEntries(Object.entries(handlers).map(([k, h]) => [k, quietly(h)]));
