// Binary XML codec commands backed by Baileys' WABinary encoder and decoder.
//
// Node JSON shape used on the wire (shared with tests/src/baileys.rs):
//   {"tag": "iq", "attrs": [["id", "1"], ["to", "s.whatsapp.net"]], "content": <content>}
// where attrs is an ordered list of [key, value] string pairs (a JS object would reorder integer-like keys,
// so the order Baileys actually uses is reported explicitly) and content is one of
//   null                 no content
//   [node, ...]          child nodes (possibly empty)
//   {"bytes": "<hex>"}   binary content (Uint8Array in Baileys)
//   {"text": "<str>"}    string content (only produced by decode, when a token/packed string/JID sits in content)
import { decodeBinaryNode, encodeBinaryNode } from 'baileys/lib/WABinary/index.js';
import { DOUBLE_BYTE_TOKENS, SINGLE_BYTE_TOKENS } from 'baileys/lib/WABinary/constants.js';

const fromJson = node => {
	if (!node || typeof node !== 'object' || typeof node.tag !== 'string') {
		throw new Error('node must be an object with a string "tag"');
	}
	const attrs = {};
	for (const pair of node.attrs ?? []) {
		if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
			throw new Error('attrs must be a list of [string, string] pairs');
		}
		attrs[pair[0]] = pair[1];
	}
	let content;
	const c = node.content;
	if (c === null || c === undefined) {
		content = undefined;
	} else if (Array.isArray(c)) {
		content = c.map(fromJson);
	} else if (typeof c.bytes === 'string') {
		content = Buffer.from(c.bytes, 'hex');
	} else if (typeof c.text === 'string') {
		content = c.text;
	} else {
		throw new Error('content must be null, a list of nodes, {bytes} or {text}');
	}
	return { tag: node.tag, attrs, content };
};

const toJson = node => {
	const attrs = Object.keys(node.attrs ?? {}).map(k => [k, node.attrs[k]]);
	const c = node.content;
	let content;
	if (c === undefined || c === null) {
		content = null;
	} else if (Array.isArray(c)) {
		content = c.map(toJson);
	} else if (Buffer.isBuffer(c) || c instanceof Uint8Array) {
		content = { bytes: Buffer.from(c).toString('hex') };
	} else if (typeof c === 'string') {
		content = { text: c };
	} else {
		throw new Error(`unexpected decoded content of type ${typeof c}`);
	}
	return { tag: node.tag, attrs, content };
};

const each = async (items, fn) => {
	if (!Array.isArray(items)) {
		throw new Error('params must be a list');
	}
	const out = [];
	for (const item of items) {
		try {
			out.push({ ok: await fn(item) });
		} catch (err) {
			out.push({ error: String(err?.message ?? err) });
		}
	}
	return out;
};

export const commands = {
	// params: ignored -> {"single": [token, ...], "double": [[token, ...], ...]}: Baileys' token dictionaries
	'binary.tokens': async () => ({ single: SINGLE_BYTE_TOKENS, double: DOUBLE_BYTE_TOKENS }),
	// params: [node, ...] -> [{ok: "<hex of encodeBinaryNode, flags byte included>"} | {error}, ...]
	'binary.encode': async nodes => each(nodes, async node => encodeBinaryNode(fromJson(node)).toString('hex')),
	// params: ["<hex frame, flags byte included>", ...] -> [{ok: node} | {error}, ...]
	'binary.decode': async frames =>
		each(frames, async hex => {
			if (typeof hex !== 'string') {
				throw new Error('frame must be a hex string');
			}
			return toJson(await decodeBinaryNode(Buffer.from(hex, 'hex')));
		})
};
