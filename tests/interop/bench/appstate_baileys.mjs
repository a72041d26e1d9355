// Baileys 7 (baileys@7.0.0-rc14) side of the app-state benchmark in
// crates/wa-appstate/benches/appstate.rs, on the same inputs.
//
//   node tests/interop/bench/appstate_baileys.mjs --patch=FILE --key=HEX --keyid=HEX
//        [--name=regular_high] [--expect-hash=HEX] [--values=10000] [--runs=20]
//
// - decode_patch: proto.SyncdPatch.decode of the patch bytes in FILE, then decodePatches with MAC
//   validation on, from an empty state (what Baileys does per patch of a sync response). The
//   result's LTHash is checked against --expect-hash and the mutation count against the patch.
// - lthash_add: LT_HASH_ANTI_TAMPERING.subtractThenAdd of the zero hash with N values, value i
//   being i as a little-endian u32 followed by 28 bytes 0xa5 (the Rust bench's values).
// Prints the median wall time per run and the median CPU time of this process per run.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { proto } from 'baileys/WAProto/index.js';
import { decodePatches, newLTHashState } from 'baileys/lib/Utils/chat-utils.js';
import { LT_HASH_ANTI_TAMPERING } from 'baileys/lib/Utils/lt-hash.js';

const arg = (name, dflt) => {
	const a = process.argv.find(x => x.startsWith(`--${name}=`));
	return a ? a.slice(name.length + 3) : dflt;
};
const patchFile = arg('patch');
const key = Buffer.from(arg('key', ''), 'hex');
const keyId = Buffer.from(arg('keyid', ''), 'hex');
const name = arg('name', 'regular_high');
const expectHash = arg('expect-hash');
const VALUES = Number(arg('values', 10000));
const RUNS = Number(arg('runs', 20));
if (!patchFile || key.length !== 32) {
	throw new Error('--patch=FILE and --key=<64 hex> are required');
}
const bytes = readFileSync(patchFile);
const keyB64 = keyId.toString('base64');
const getAppStateSyncKey = async id => (id === keyB64 ? { keyData: key } : undefined);
const warnings = [];
const logger = {
	warn: (...a) => warnings.push(a),
	trace: () => {},
	debug: () => {},
	info: () => {},
};

const median = xs => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const time = async (label, runs, per, f) => {
	const wall = [];
	const cpu = [];
	for (let i = 0; i < runs; i++) {
		const c0 = process.cpuUsage();
		const t0 = performance.now();
		await f();
		wall.push(performance.now() - t0);
		const c = process.cpuUsage(c0);
		cpu.push((c.user + c.system) / 1000);
	}
	const w = median(wall);
	console.log(
		`baileys ${label}: median ${w.toFixed(2)} ms wall (${(w * 1000 / per).toFixed(2)} µs per item), ` +
			`${median(cpu).toFixed(2)} ms cpu, ${runs} runs`,
	);
};

const decodeOnce = async () => {
	const patch = proto.SyncdPatch.decode(bytes);
	const count = patch.mutations.length;
	const { state, mutationMap } = await decodePatches(name, [patch], newLTHashState(), getAppStateSyncKey, {}, undefined, logger, true);
	if (warnings.length) {
		throw new Error(`Baileys reported: ${JSON.stringify(warnings[0])}`);
	}
	if (Object.keys(mutationMap).length !== count) {
		throw new Error(`decoded ${Object.keys(mutationMap).length} of ${count} mutations`);
	}
	if (expectHash && Buffer.from(state.hash).toString('hex') !== expectHash) {
		throw new Error('LTHash differs from the Rust side');
	}
	return count;
};

const count = await decodeOnce(); // warm-up and check
await time(`decode_patch_${count}`, RUNS, count, decodeOnce);

const values = [];
for (let i = 0; i < VALUES; i++) {
	const v = Buffer.alloc(32, 0xa5);
	v.writeUInt32LE(i, 0);
	values.push(v);
}
const zero = Buffer.alloc(128);
await time(`lthash_add_${VALUES}`, RUNS, VALUES, () => LT_HASH_ANTI_TAMPERING.subtractThenAdd(zero, [], values));
