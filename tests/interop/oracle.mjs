// Long-lived oracle process for the whatsmeow-rs differential tests.
//
// Protocol (one JSON object per line, both directions):
//   request:  {"id": <number>, "cmd": "<module>.<name>", "params": <any JSON>}
//   response: {"id": <same>, "ok": <any JSON>}   on success
//             {"id": <same>, "error": "<message>"} when the handler threw or the command is unknown
// Requests are answered strictly in the order they arrive.
//
// Commands are plugged in from ./commands/*.mjs: each module exports `commands`, an object mapping a
// command name to an async handler(params) -> JSON-serialisable result. Two modules registering the same
// name is a startup error. Built-in commands: "oracle.ping" and "oracle.commands".
import { readdir } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const commandsDir = path.join(here, 'commands');

const registry = new Map();
registry.set('oracle.ping', async params => ({ pong: params ?? null }));
registry.set('oracle.commands', async () => [...registry.keys()].sort());

const files = (await readdir(commandsDir)).filter(f => f.endsWith('.mjs')).sort();
for (const file of files) {
	const mod = await import(pathToFileURL(path.join(commandsDir, file)).href);
	if (!mod.commands || typeof mod.commands !== 'object') {
		throw new Error(`commands/${file} does not export a "commands" object`);
	}
	for (const [name, handler] of Object.entries(mod.commands)) {
		if (typeof handler !== 'function') {
			throw new Error(`commands/${file}: handler for "${name}" is not a function`);
		}
		if (registry.has(name)) {
			throw new Error(`commands/${file}: command "${name}" is already registered`);
		}
		registry.set(name, handler);
	}
}

const write = obj =>
	new Promise(resolve => {
		if (process.stdout.write(JSON.stringify(obj) + '\n')) {
			resolve();
		} else {
			process.stdout.once('drain', resolve);
		}
	});

const handleLine = async line => {
	let request;
	try {
		request = JSON.parse(line);
	} catch (err) {
		return { id: null, error: `request is not JSON: ${err.message}` };
	}
	const id = request?.id ?? null;
	const handler = registry.get(request?.cmd);
	if (!handler) {
		return { id, error: `unknown command: ${JSON.stringify(request?.cmd)}` };
	}
	try {
		const ok = await handler(request.params);
		return { id, ok: ok === undefined ? null : ok };
	} catch (err) {
		return { id, error: String(err?.stack ?? err) };
	}
};

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of rl) {
	if (line.trim() === '') {
		continue;
	}
	await write(await handleLine(line));
}
