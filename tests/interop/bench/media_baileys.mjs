// Baileys 7 (baileys@7.0.0-rc14) side of the media benchmark in crates/wa-media/benches/media.rs:
// the same plaintexts (byte i = i * 31 + 7 mod 256) at the same sizes.
//
//   node tests/interop/bench/media_baileys.mjs [--sizes=65536,8388608] [--runs=15]
//
// - encrypt: Baileys' encryptedStream(buffer, 'video'): AES-256-CBC, HMAC, both SHA-256s and the
//   write of the encrypted temporary file it always makes (then deleted here, outside the timing).
// - decrypt: downloadContentFromMessage over a loopback HTTP server (Baileys only downloads
//   through fetch), read to the end; Baileys does not check the MAC or hashes while downloading.
// - decrypt (node crypto only): createDecipheriv + HMAC + SHA-256 over the body in memory, what a
//   checking Node decryptor costs without any IO: the floor for a Node implementation.
// Prints one line per operation and size: median milliseconds and GB/s (10^9 bytes of plaintext).
import { createServer } from 'node:http';
import { createHash, createHmac, createDecipheriv } from 'node:crypto';
import { readFile, unlink } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { downloadContentFromMessage, encryptedStream, getMediaKeys } from 'baileys';

const arg = (name, dflt) => {
	const a = process.argv.find(x => x.startsWith(`--${name}=`));
	return a ? a.split('=')[1] : dflt;
};
const SIZES = arg('sizes', '65536,8388608').split(',').map(Number);
const RUNS = Number(arg('runs', 15));

const plaintext = n => {
	const b = Buffer.allocUnsafe(n);
	for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff;
	return b;
};
const median = xs => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const report = (what, size, ms) => {
	const gbs = size / (ms / 1000) / 1e9;
	console.log(`baileys ${what} ${size} B: median ${ms.toFixed(3)} ms, ${gbs.toFixed(3)} GB/s`);
};

let body = Buffer.alloc(0);
const server = createServer((_req, res) => {
	res.writeHead(200, { 'content-length': body.length });
	res.end(body);
});
await new Promise(r => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${server.address().port}/media`;

for (const size of SIZES) {
	const pt = plaintext(size);
	const runs = size >= 1 << 20 ? RUNS : RUNS * 10;
	const enc = [];
	let last;
	for (let i = 0; i < runs; i++) {
		const t0 = performance.now();
		const r = await encryptedStream(pt, 'video');
		enc.push(performance.now() - t0);
		if (last) await unlink(last.encFilePath);
		last = r;
	}
	report('encryptedStream', size, median(enc));
	body = await readFile(last.encFilePath);
	await unlink(last.encFilePath);

	const dec = [];
	for (let i = 0; i < runs; i++) {
		const t0 = performance.now();
		const stream = await downloadContentFromMessage({ mediaKey: last.mediaKey, url }, 'video');
		let n = 0;
		for await (const chunk of stream) n += chunk.length;
		dec.push(performance.now() - t0);
		if (n !== size) throw new Error(`decrypted ${n} bytes, expected ${size}`);
	}
	report('downloadContentFromMessage (loopback http)', size, median(dec));

	const { iv, cipherKey, macKey } = await getMediaKeys(last.mediaKey, 'video');
	const core = [];
	for (let i = 0; i < runs; i++) {
		const t0 = performance.now();
		const ct = body.subarray(0, body.length - 10);
		const mac = createHmac('sha256', macKey).update(iv).update(ct).digest().subarray(0, 10);
		if (!mac.equals(body.subarray(body.length - 10))) throw new Error('bad mac');
		createHash('sha256').update(body).digest();
		const d = createDecipheriv('aes-256-cbc', cipherKey, iv);
		const out = Buffer.concat([d.update(ct), d.final()]);
		createHash('sha256').update(out).digest();
		core.push(performance.now() - t0);
	}
	report('decrypt (node crypto only, MAC + both hashes)', size, median(core));
}
server.close();
