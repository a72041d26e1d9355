// Media crypto commands backed by Baileys 7 (lib/Utils/messages-media.js). Byte values are hex.
//
//   media.keys    {mediaKey, type}        -> {info, iv, cipherKey, macKey}   (hkdfInfoKey, getMediaKeys)
//   media.encrypt {plaintext, type}       -> {mediaKey, body, mac, fileSha256, fileEncSha256, fileLength}
//                                            (encryptedStream over a Buffer; Baileys picks the key)
//   media.decrypt {mediaKey, type, body}  -> plaintext   (downloadContentFromMessage, served to it
//                                            from a loopback HTTP server: Baileys only downloads)
//   media.sidecar {mediaKey, type, body}  -> sidecar
//   media.uploadToken {fileEncSha256}     -> the token Baileys puts in upload URLs
//                                            (encodeBase64EncodedStringForUpload)
//
// `type` is a Baileys media type name ("image", "video", "ptt", "md-msg-hist", ...).
//
// Baileys 7 has no sidecar code, so media.sidecar is written here from the definition (HMAC-SHA256
// with Baileys' macKey over each [n*64K, n*64K + 64K + 16) window of iv || body, 10 bytes each):
// an independent second implementation, not Baileys itself.
import { createServer } from 'node:http';
import { createHmac } from 'node:crypto';
import { readFile, unlink } from 'node:fs/promises';
import {
	downloadContentFromMessage,
	encodeBase64EncodedStringForUpload,
	encryptedStream,
	getMediaKeys,
	hkdfInfoKey,
} from 'baileys';

const hex = b => Buffer.from(b).toString('hex');
const buf = h => {
	if (typeof h !== 'string' || !/^([0-9a-f]{2})*$/i.test(h)) {
		throw new Error('expected a hex string');
	}
	return Buffer.from(h, 'hex');
};

// One loopback server for the process; each download gets its own path.
const served = new Map();
let serverUrl;
const serve = async body => {
	if (!serverUrl) {
		const server = createServer((req, res) => {
			const b = served.get(req.url);
			if (!b) {
				res.writeHead(404).end();
				return;
			}
			res.writeHead(200, { 'content-length': b.length });
			res.end(b);
		});
		await new Promise(r => server.listen(0, '127.0.0.1', r));
		server.unref();
		serverUrl = `http://127.0.0.1:${server.address().port}`;
	}
	const path = `/m/${served.size}-${Date.now()}`;
	served.set(path, body);
	return { url: serverUrl + path, done: () => served.delete(path) };
};

export const commands = {
	'media.keys': async ({ mediaKey, type }) => {
		const { iv, cipherKey, macKey } = await getMediaKeys(buf(mediaKey), type);
		return { info: hkdfInfoKey(type), iv: hex(iv), cipherKey: hex(cipherKey), macKey: hex(macKey) };
	},

	'media.encrypt': async ({ plaintext, type }) => {
		const r = await encryptedStream(buf(plaintext), type);
		try {
			const body = await readFile(r.encFilePath);
			return {
				mediaKey: hex(r.mediaKey),
				body: hex(body),
				mac: hex(r.mac),
				fileSha256: hex(r.fileSha256),
				fileEncSha256: hex(r.fileEncSha256),
				fileLength: r.fileLength,
			};
		} finally {
			await unlink(r.encFilePath);
		}
	},

	'media.decrypt': async ({ mediaKey, type, body }) => {
		const { url, done } = await serve(buf(body));
		try {
			const stream = await downloadContentFromMessage({ mediaKey: buf(mediaKey), url }, type);
			const chunks = [];
			for await (const c of stream) chunks.push(c);
			return hex(Buffer.concat(chunks));
		} finally {
			done();
		}
	},

	'media.sidecar': async ({ mediaKey, type, body }) => {
		const { iv, macKey } = await getMediaKeys(buf(mediaKey), type);
		const stream = Buffer.concat([iv, buf(body)]);
		const out = [];
		for (let start = 0; start < stream.length; start += 65536) {
			const window = stream.subarray(start, Math.min(start + 65536 + 16, stream.length));
			out.push(createHmac('sha256', macKey).update(window).digest().subarray(0, 10));
		}
		return hex(Buffer.concat(out));
	},

	'media.uploadToken': async ({ fileEncSha256 }) =>
		encodeBase64EncodedStringForUpload(buf(fileEncSha256).toString('base64')),
};
