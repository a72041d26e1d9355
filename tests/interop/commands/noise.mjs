// Noise handshake commands backed by Baileys' own `makeNoiseHandler` (the client half WhatsApp Web
// clients built on Baileys run) and, for the server half, Baileys' crypto primitives composed in the
// order the server runs them. All byte values are hex strings.
//
//   noise.vector      {clientEphemeral, clientStatic, serverEphemeral, serverStatic, rootPub,
//                      certChain, payload, routingInfo?, c2s, s2c}
//                     -> {helloFrame, serverHello, finishFrame, c2sFrame, s2cFrame, s2cDecrypted}
//       Runs a whole handshake with fixed private keys: the client through makeNoiseHandler, the
//       server through sha256/hkdf/aesEncryptGCM/Curve.sharedKey. Client frames are framed by
//       Baileys' encodeFrame (intro included in the first); `serverHello` is the bare message.
//   noise.clientStart {rootPub, routingInfo?}                -> {id, helloFrame, noisePub}
//   noise.clientFinish {id, serverBytes, payload}           -> {finishFrame}
//       Baileys' client, with random keys, against a server over bytes the caller relays.
//       `serverBytes` is fed to decodeFrame in two pieces.
//   noise.clientSend  {id, plaintext}                        -> frame (transport-encrypted, framed)
//   noise.clientRecv  {id, bytes}                            -> [{tag, attrs}]  (decodeFrame, two pieces)
//   noise.xeddsaSign  {priv, message, random}                -> signature (curve25519-js, random given)
//   noise.xeddsaVerify {pub, message, signature}             -> bool (curve25519-js verify)
//
// Note: Baileys' `Curve.verify` (rc14) returns true for any 64-byte signature, because libsignal's
// verifySignature returns false instead of throwing; so Baileys' own certificate check accepts any
// chain, and signature checks here call curve25519-js directly.
//
// Baileys hard-codes WhatsApp's certificate root; tests with their own root set
// WA_CERT_DETAILS.PUBLIC_KEY (a shared mutable object) for the duration of one handshake step.
import { createRequire } from 'node:module';
import { proto } from 'baileys/WAProto/index.js';
import { NOISE_WA_HEADER, WA_CERT_DETAILS } from 'baileys/lib/Defaults/index.js';
import { makeNoiseHandler } from 'baileys/lib/Utils/noise-handler.js';
import { aesDecryptGCM, aesEncryptGCM, Curve, hkdf, sha256 } from 'baileys/lib/Utils/crypto.js';

const require = createRequire(import.meta.url);
const curveJs = require('curve25519-js');

const hex = b => Buffer.from(b).toString('hex');
const buf = h => {
	if (typeof h !== 'string' || !/^([0-9a-f]{2})*$/i.test(h)) {
		throw new Error('expected a hex string');
	}
	return Buffer.from(h, 'hex');
};

const logger = {
	level: 'silent',
	child: () => logger,
	trace: () => {},
	debug: () => {},
	info: () => {},
	warn: () => {},
	error: () => {},
};

const keyPair = privHex => {
	const priv = buf(privHex);
	return { private: priv, public: Buffer.from(curveJs.generateKeyPair(priv).public) };
};

const withRoot = (rootPub, fn) => {
	const saved = WA_CERT_DETAILS.PUBLIC_KEY;
	WA_CERT_DETAILS.PUBLIC_KEY = buf(rootPub);
	try {
		return fn();
	} finally {
		WA_CERT_DETAILS.PUBLIC_KEY = saved;
	}
};

// Feeds `bytes` to decodeFrame in two pieces and collects what onFrame receives.
const decodeAll = async (noise, bytes) => {
	const out = [];
	const cut = Math.floor(bytes.length / 2);
	await noise.decodeFrame(bytes.subarray(0, cut), f => out.push(f));
	await noise.decodeFrame(bytes.subarray(cut), f => out.push(f));
	return out;
};

const iv = counter => {
	const v = Buffer.alloc(12);
	v.writeUInt32BE(counter, 8);
	return v;
};

// The server's side of the handshake, step by step with Baileys' primitives.
class Server {
	constructor(ephemeral, stat, certChain) {
		this.e = ephemeral;
		this.s = stat;
		this.cert = certChain;
		this.hash = Buffer.from('Noise_XX_25519_AESGCM_SHA256\0\0\0\0');
		this.salt = this.hash;
		this.key = this.hash;
		this.counter = 0;
	}
	auth(data) {
		this.hash = sha256(Buffer.concat([this.hash, data]));
	}
	mix(ikm) {
		const okm = hkdf(ikm, 64, { salt: this.salt, info: '' });
		this.salt = Buffer.from(okm.subarray(0, 32));
		this.key = Buffer.from(okm.subarray(32));
		this.counter = 0;
	}
	enc(plain) {
		const ct = aesEncryptGCM(plain, this.key, iv(this.counter++), this.hash);
		this.auth(ct);
		return ct;
	}
	dec(ct) {
		const plain = aesDecryptGCM(ct, this.key, iv(this.counter++), this.hash);
		this.auth(ct);
		return plain;
	}
	hello(header, clientHelloBytes) {
		const { clientHello } = proto.HandshakeMessage.decode(clientHelloBytes);
		this.ce = Buffer.from(clientHello.ephemeral);
		this.auth(header);
		this.auth(this.ce);
		this.auth(this.e.public);
		this.mix(Curve.sharedKey(this.e.private, this.ce));
		const stat = this.enc(this.s.public);
		this.mix(Curve.sharedKey(this.s.private, this.ce));
		const payload = this.enc(this.cert);
		return proto.HandshakeMessage.encode({ serverHello: { ephemeral: this.e.public, static: stat, payload } }).finish();
	}
	finish(clientFinishBytes) {
		const { clientFinish } = proto.HandshakeMessage.decode(clientFinishBytes);
		const cs = this.dec(Buffer.from(clientFinish.static));
		this.mix(Curve.sharedKey(this.e.private, cs));
		const payload = this.dec(Buffer.from(clientFinish.payload));
		const okm = hkdf(new Uint8Array(0), 64, { salt: this.salt, info: '' });
		this.send = { key: Buffer.from(okm.subarray(32)), counter: 0 };
		return { clientStatic: cs, payload };
	}
	encryptFrame(plain) {
		const ct = aesEncryptGCM(plain, this.send.key, iv(this.send.counter++), Buffer.alloc(0));
		const head = Buffer.from([ct.length >> 16, (ct.length >> 8) & 0xff, ct.length & 0xff]);
		return Buffer.concat([head, ct]);
	}
}

// Splits framed bytes from a client: skips the intro, returns the frame bodies.
const clientFrames = (bytes, introLen) => {
	const frames = [];
	let i = introLen;
	while (i + 3 <= bytes.length) {
		const len = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
		frames.push(bytes.subarray(i + 3, i + 3 + len));
		i += 3 + len;
	}
	return frames;
};

const sessions = new Map();
let nextId = 1;

export const commands = {
	'noise.vector': async p => {
		const ce = keyPair(p.clientEphemeral);
		const cs = keyPair(p.clientStatic);
		const routingInfo = p.routingInfo ? buf(p.routingInfo) : undefined;
		const noise = makeNoiseHandler({ keyPair: ce, NOISE_HEADER: NOISE_WA_HEADER, logger, routingInfo });
		const server = new Server(keyPair(p.serverEphemeral), keyPair(p.serverStatic), buf(p.certChain));

		const hello = proto.HandshakeMessage.encode({ clientHello: { ephemeral: ce.public } }).finish();
		const helloFrame = noise.encodeFrame(hello);
		const introLen = helloFrame.length - 3 - hello.length;
		const serverHello = server.hello(NOISE_WA_HEADER, clientFrames(helloFrame, introLen)[0]);

		const [frame] = await decodeAll(noise, Buffer.concat([Buffer.from([0, serverHello.length >> 8, serverHello.length & 0xff]), serverHello]));
		const keyEnc = withRoot(p.rootPub, () => noise.processHandshake(proto.HandshakeMessage.decode(frame), cs));
		const payloadEnc = noise.encrypt(buf(p.payload));
		const finish = proto.HandshakeMessage.encode({ clientFinish: { static: keyEnc, payload: payloadEnc } }).finish();
		const finishFrame = noise.encodeFrame(finish);
		await noise.finishInit();

		const got = server.finish(clientFrames(finishFrame, 0)[0]);
		if (hex(got.clientStatic) !== hex(cs.public) || hex(got.payload) !== p.payload) {
			throw new Error('server side of the vector did not recover the client static key and payload');
		}
		const c2sFrame = noise.encodeFrame(buf(p.c2s));
		const s2cFrame = server.encryptFrame(buf(p.s2c));
		const s2cDecrypted = noise.decrypt(s2cFrame.subarray(3));
		return {
			helloFrame: hex(helloFrame),
			serverHello: hex(serverHello),
			finishFrame: hex(finishFrame),
			c2sFrame: hex(c2sFrame),
			s2cFrame: hex(s2cFrame),
			s2cDecrypted: hex(s2cDecrypted),
		};
	},

	'noise.clientStart': async p => {
		const ephemeral = Curve.generateKeyPair();
		const noiseKey = Curve.generateKeyPair();
		const routingInfo = p.routingInfo ? buf(p.routingInfo) : undefined;
		const noise = makeNoiseHandler({ keyPair: ephemeral, NOISE_HEADER: NOISE_WA_HEADER, logger, routingInfo });
		const hello = proto.HandshakeMessage.encode({ clientHello: { ephemeral: ephemeral.public } }).finish();
		const id = nextId++;
		sessions.set(id, { noise, noiseKey, rootPub: p.rootPub });
		return { id, helloFrame: hex(noise.encodeFrame(hello)), noisePub: hex(noiseKey.public) };
	},

	'noise.clientFinish': async p => {
		const s = sessions.get(p.id);
		if (!s) {
			throw new Error(`unknown session ${p.id}`);
		}
		const frames = await decodeAll(s.noise, buf(p.serverBytes));
		if (frames.length !== 1) {
			throw new Error(`expected one handshake frame, got ${frames.length}`);
		}
		const handshake = proto.HandshakeMessage.decode(frames[0]);
		const keyEnc = withRoot(s.rootPub, () => s.noise.processHandshake(handshake, s.noiseKey));
		const payloadEnc = s.noise.encrypt(buf(p.payload));
		const finish = proto.HandshakeMessage.encode({ clientFinish: { static: keyEnc, payload: payloadEnc } }).finish();
		const finishFrame = s.noise.encodeFrame(finish);
		await s.noise.finishInit();
		return { finishFrame: hex(finishFrame) };
	},

	'noise.clientSend': async p => {
		const s = sessions.get(p.id);
		if (!s) {
			throw new Error(`unknown session ${p.id}`);
		}
		return hex(s.noise.encodeFrame(buf(p.plaintext)));
	},

	'noise.clientRecv': async p => {
		const s = sessions.get(p.id);
		if (!s) {
			throw new Error(`unknown session ${p.id}`);
		}
		const nodes = await decodeAll(s.noise, buf(p.bytes));
		return nodes.map(n => ({ tag: n.tag, attrs: n.attrs }));
	},

	'noise.xeddsaSign': async p => hex(curveJs.sign(buf(p.priv), buf(p.message), buf(p.random))),

	'noise.xeddsaVerify': async p => curveJs.verify(buf(p.pub), buf(p.message), buf(p.signature)),
};
