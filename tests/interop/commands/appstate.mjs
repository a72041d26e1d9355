// App-state sync commands backed by Baileys 7's chat-utils (encodeSyncdPatch, decodePatches,
// decodeSyncdPatch, decodeSyncdSnapshot, chatModificationToAppPatch) and its LTHash and key
// expansion (whatsapp-rust-bridge, which Baileys 7 calls).
//
// Byte values are hex strings. Key ids are hex too (Baileys keys them by base64; converted here).
// A state is {version, hash, map: {<index MAC hex>: <value MAC hex>}}; Baileys' own form keys
// its indexValueMap by base64 and wraps each value MAC as {valueMac}.
//
//   appstate.mutationKeys   {keyData}                                  -> {index, valueEncryption, valueMac, snapshotMac, patchMac}
//   appstate.ltHash         {base, subtract: [hex], add: [hex]}        -> hash
//   appstate.encodePatch    {keyId, keyData, state, type, index: [str], value, apiVersion, operation}
//                                                                      -> {patch, state}
//   appstate.decodePatches  {name, patches: [hex], state, keys: {id: keyData}}
//                                                                      -> {state, mutations: [{operation, index, value, version}]}
//   appstate.decodeSnapshot {name, snapshot, keys}                     -> {state, mutations}
//   appstate.chatModification {mod, jid, timestamp}                    -> {type, index, apiVersion, operation, value}
//
// `value` is an encoded SyncActionValue. `operation` is 0 (SET) or 1 (REMOVE). Every decode runs
// with MAC validation on; anything Baileys logs as a warning (it skips bad patches and LTHash
// mismatches with a warning instead of failing) is turned into an error here, and a record it
// skipped silently shows up as a missing mutation.
import { proto } from 'baileys/WAProto/index.js';
import {
	chatModificationToAppPatch,
	decodePatches,
	decodeSyncdPatch,
	decodeSyncdSnapshot,
	encodeSyncdPatch,
} from 'baileys/lib/Utils/chat-utils.js';
import { LT_HASH_ANTI_TAMPERING } from 'baileys/lib/Utils/lt-hash.js';
import { expandAppStateKeys } from 'whatsapp-rust-bridge';

const hex = b => Buffer.from(b).toString('hex');
const buf = h => {
	if (typeof h !== 'string' || !/^([0-9a-f]{2})*$/i.test(h)) {
		throw new Error('expected a hex string');
	}
	return Buffer.from(h, 'hex');
};
const b64 = h => buf(h).toString('base64');

const toBaileysState = s => {
	const indexValueMap = {};
	for (const [index, valueMac] of Object.entries(s?.map ?? {})) {
		indexValueMap[b64(index)] = { valueMac: buf(valueMac) };
	}
	return { version: s?.version ?? 0, hash: s?.hash ? buf(s.hash) : Buffer.alloc(128), indexValueMap };
};

const fromBaileysState = s => {
	const map = {};
	for (const [index, { valueMac }] of Object.entries(s.indexValueMap)) {
		map[Buffer.from(index, 'base64').toString('hex')] = hex(valueMac);
	}
	return { version: Number(s.version), hash: hex(s.hash), map };
};

/** getAppStateSyncKey over {keyIdHex: keyDataHex}. */
const keyLookup = keys => {
	const byB64 = new Map(Object.entries(keys ?? {}).map(([id, data]) => [b64(id), buf(data)]));
	return async id => (byB64.has(id) ? { keyData: byB64.get(id) } : undefined);
};

const strictLogger = () => {
	const warnings = [];
	const logger = {
		warn: (obj, msg) => warnings.push(`${msg ?? ''} ${JSON.stringify(obj)}`),
		trace: () => {},
		debug: () => {},
		info: () => {},
		error: (obj, msg) => warnings.push(`${msg ?? ''} ${JSON.stringify(obj)}`),
	};
	const check = () => {
		if (warnings.length) {
			throw new Error(`Baileys warned: ${warnings.join('; ')}`);
		}
	};
	return { logger, check };
};

const mutationJson = (operation, { syncAction, index }) => ({
	operation,
	index,
	value: syncAction.value ? hex(proto.SyncActionValue.encode(syncAction.value).finish()) : null,
	version: syncAction.version ?? null,
});

export const commands = {
	'appstate.mutationKeys': async ({ keyData }) => {
		const k = expandAppStateKeys(buf(keyData));
		return {
			index: hex(k.indexKey),
			valueEncryption: hex(k.valueEncryptionKey),
			valueMac: hex(k.valueMacKey),
			snapshotMac: hex(k.snapshotMacKey),
			patchMac: hex(k.patchMacKey),
		};
	},

	'appstate.ltHash': async ({ base, subtract, add }) =>
		hex(LT_HASH_ANTI_TAMPERING.subtractThenAdd(buf(base), (subtract ?? []).map(buf), (add ?? []).map(buf))),

	'appstate.encodePatch': async ({ keyId, keyData, state, type, index, value, apiVersion, operation }) => {
		const { patch, state: next } = await encodeSyncdPatch(
			{ type, index, syncAction: proto.SyncActionValue.decode(buf(value)), apiVersion, operation },
			b64(keyId),
			toBaileysState(state),
			keyLookup({ [keyId]: keyData }),
		);
		return { patch: hex(proto.SyncdPatch.encode(patch).finish()), state: fromBaileysState(next) };
	},

	'appstate.decodePatches': async ({ name, patches, state, keys }) => {
		const getKey = keyLookup(keys);
		const decoded = patches.map(p => proto.SyncdPatch.decode(buf(p)));
		// Every mutation in order (decodePatches only keeps the last per index).
		const mutations = [];
		let running = toBaileysState(state);
		for (const p of decoded) {
			running = { ...running, version: Number(p.version.version) };
			const ops = p.mutations.map(m => m.operation ?? 0);
			let i = 0;
			const out = await decodeSyncdPatch(p, name, running, getKey, m => mutations.push(mutationJson(ops[i++], m)), true);
			if (i !== ops.length) {
				throw new Error(`Baileys skipped ${ops.length - i} of ${ops.length} mutations of patch v${running.version}`);
			}
			running = { ...running, ...out };
		}
		const { logger, check } = strictLogger();
		const fresh = patches.map(p => proto.SyncdPatch.decode(buf(p)));
		const result = await decodePatches(name, fresh, toBaileysState(state), getKey, {}, undefined, logger, true);
		check();
		return { state: fromBaileysState(result.state), mutations };
	},

	'appstate.decodeSnapshot': async ({ name, snapshot, keys }) => {
		const { logger, check } = strictLogger();
		const snap = proto.SyncdSnapshot.decode(buf(snapshot));
		const { state, mutationMap } = await decodeSyncdSnapshot(name, snap, keyLookup(keys), undefined, true, logger);
		check();
		return { state: fromBaileysState(state), mutations: Object.values(mutationMap).map(m => mutationJson(0, m)) };
	},

	'appstate.chatModification': async ({ mod, jid, timestamp }) => {
		const patch = chatModificationToAppPatch(mod, jid);
		patch.syncAction.timestamp = timestamp;
		return {
			type: patch.type,
			index: patch.index,
			apiVersion: patch.apiVersion,
			operation: patch.operation,
			value: hex(proto.SyncActionValue.encode(proto.SyncActionValue.fromObject(patch.syncAction)).finish()),
		};
	},
};
