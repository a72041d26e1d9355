// Baileys 7 (baileys@7.0.0-rc14) side of the group benchmark in
// crates/wa-client/benches/group_send.rs: the same operations on the same sizes, through
// Baileys' own signal repository (makeLibSignalRepository over an in-memory key store with
// Baileys' transaction layer, as a socket sets it up).
//
//   node tests/interop/bench/group_baileys.mjs [--participants=1024] [--decrypts=1000] [--runs=5]
//
// - first send: sender-key memory read, encryptGroupMessage (creates our sender key, SKDM and
//   skmsg), the SKDM message padded and encrypted with encryptMessage for every device (in
//   parallel, as createParticipantNodes does), sender-key memory written.
// - second send: the same with every device already in the sender-key memory (skmsg only).
// - decrypt: decryptGroupMessage of consecutive skmsgs from one sender.
// Prints one line per operation: median milliseconds per send, and decrypts per second, each
// also as CPU time of this process (process.cpuUsage), which a loaded machine distorts less.
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { addTransactionCapability, encodeWAMessage, initAuthCreds, Curve, signedKeyPair } from 'baileys';
import { makeLibSignalRepository } from 'baileys/lib/Signal/libsignal.js';

const arg = (name, dflt) => {
	const a = process.argv.find(x => x.startsWith(`--${name}=`));
	return a ? Number(a.split('=')[1]) : dflt;
};
const PARTICIPANTS = arg('participants', 1024);
const DECRYPTS = arg('decrypts', 1000);
const RUNS = arg('runs', 5);
const logger = pino({ level: 'silent' });

/** A plain in-memory SignalKeyStore (what useMultiFileAuthState keeps, without the files). */
const memoryKeys = () => {
	const data = {};
	return {
		get: async (type, ids) => {
			const out = {};
			const bucket = data[type] || {};
			for (const id of ids) {
				if (bucket[id] !== undefined && bucket[id] !== null) {
					out[id] = bucket[id];
				}
			}
			return out;
		},
		set: async changes => {
			for (const type in changes) {
				data[type] = data[type] || {};
				Object.assign(data[type], changes[type]);
			}
		},
		clear: async () => {},
	};
};

const party = meId => {
	const creds = initAuthCreds();
	creds.me = { id: meId };
	const keys = addTransactionCapability(memoryKeys(), logger, { maxCommitRetries: 1, delayBetweenTriesMs: 0 });
	const auth = { creds, keys };
	return { auth, repo: makeLibSignalRepository(auth, logger) };
};

const median = xs => {
	const s = [...xs].sort((a, b) => a - b);
	return s[Math.floor(s.length / 2)];
};

const group = '120363000000000777@g.us';
const meId = '15550000000:3@s.whatsapp.net';
const message = { conversation: 'The meeting moved to 3 pm, room 2; bring the slides.' };

const sender = party(meId);
// One recipient key set published under every address, as the Rust bench does.
const identity = Curve.generateKeyPair();
const signed = signedKeyPair(identity, 1);
const oneTime = Curve.generateKeyPair();
const devices = [];
for (let i = 0; i < PARTICIPANTS; i++) {
	const user = `4917${String(i).padStart(8, '0')}`;
	devices.push(`${user}@s.whatsapp.net`, `${user}:1@s.whatsapp.net`);
}
for (const jid of devices) {
	await sender.repo.injectE2ESession({
		jid,
		session: {
			registrationId: 7,
			identityKey: Buffer.concat([Buffer.from([5]), identity.public]),
			signedPreKey: { keyId: 1, publicKey: Buffer.concat([Buffer.from([5]), signed.keyPair.public]), signature: signed.signature },
			preKey: { keyId: 2, publicKey: Buffer.concat([Buffer.from([5]), oneTime.public]) },
		},
	});
}

/** relayMessage's group branch without the network: returns [skmsg, participant nodes]. */
const groupSend = async () => {
	const keys = sender.auth.keys;
	const senderKeyMap = (await keys.get('sender-key-memory', [group]))[group] || {};
	const bytes = encodeWAMessage(message);
	const { ciphertext, senderKeyDistributionMessage } = await sender.repo.encryptGroupMessage({ group, data: bytes, meId });
	const recipients = [];
	for (const jid of devices) {
		if (!senderKeyMap[jid]) {
			recipients.push(jid);
			senderKeyMap[jid] = true;
		}
	}
	let nodes = [];
	if (recipients.length) {
		const senderKeyMsg = {
			senderKeyDistributionMessage: { axolotlSenderKeyDistributionMessage: senderKeyDistributionMessage, groupId: group },
		};
		nodes = await Promise.all(
			recipients.map(async jid => {
				const { type, ciphertext } = await sender.repo.encryptMessage({ jid, data: encodeWAMessage(senderKeyMsg) });
				return { tag: 'to', attrs: { jid }, content: [{ tag: 'enc', attrs: { v: '2', type }, content: ciphertext }] };
			}),
		);
	}
	await keys.set({ 'sender-key-memory': { [group]: senderKeyMap } });
	return [ciphertext, nodes];
};

/** Forgets our sender key and the memory of who holds it (what a first send starts from). */
const reset = async () => {
	const senderName = `${group}::${meId.split(':')[0].split('@')[0]}::3`;
	await sender.auth.keys.set({ 'sender-key': { [senderName]: null }, 'sender-key-memory': { [group]: null } });
	if (await sender.repo.hasSenderKey({ group, meId })) {
		throw new Error(`reset did not remove our sender key (${senderName})`);
	}
};

const cpuMs = start => {
	const u = process.cpuUsage(start);
	return (u.user + u.system) / 1000;
};
const first = [];
const firstCpu = [];
for (let r = 0; r < RUNS; r++) {
	await reset();
	const t = performance.now();
	const c = process.cpuUsage();
	const [, nodes] = await groupSend();
	firstCpu.push(cpuMs(c));
	first.push(performance.now() - t);
	if (nodes.length !== devices.length) {
		throw new Error(`first send distributed to ${nodes.length} devices`);
	}
}
const second = [];
const secondCpu = [];
for (let r = 0; r < Math.max(RUNS, 20); r++) {
	const t = performance.now();
	const c = process.cpuUsage();
	const [, nodes] = await groupSend();
	secondCpu.push(cpuMs(c));
	second.push(performance.now() - t);
	if (nodes.length !== 0) {
		throw new Error('second send distributed again');
	}
}

// Decrypt: a recipient that processed our distribution, and DECRYPTS consecutive skmsgs.
const recipient = party('4917000000001@s.whatsapp.net');
await reset();
const skdmBytes = await sender.repo.getSenderKeyDistributionMessage({ group, meId });
await recipient.repo.processSenderKeyDistributionMessage({
	item: { groupId: group, axolotlSenderKeyDistributionMessage: skdmBytes },
	authorJid: meId,
});
const skmsgs = [];
for (let i = 0; i < DECRYPTS; i++) {
	const { ciphertext } = await sender.repo.encryptGroupMessage({ group, data: encodeWAMessage(message), meId });
	skmsgs.push(ciphertext);
}
const t = performance.now();
const c = process.cpuUsage();
for (const msg of skmsgs) {
	await recipient.repo.decryptGroupMessage({ group, authorJid: meId, msg });
}
const decryptCpu = cpuMs(c);
const decryptMs = performance.now() - t;

const devicesN = devices.length;
console.log(
	`baileys group first_send_${devicesN}: median ${median(first).toFixed(1)} ms wall, ${median(firstCpu).toFixed(1)} ms CPU (wall runs: ${first.map(x => x.toFixed(0)).join(', ')})`,
);
console.log(`baileys group second_send_${devicesN}: median ${median(second).toFixed(3)} ms wall, ${median(secondCpu).toFixed(3)} ms CPU`);
console.log(
	`baileys group decrypt: ${DECRYPTS} in ${decryptMs.toFixed(1)} ms wall = ${((DECRYPTS / decryptMs) * 1000).toFixed(1)} msg/s; ${decryptCpu.toFixed(1)} ms CPU = ${((DECRYPTS / decryptCpu) * 1000).toFixed(1)} msg/s`,
);
