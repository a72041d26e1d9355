// History-sync commands backed by Baileys 7 (lib/Utils/history.js, WAProto's HistorySync,
// lib/Utils/messages-media.js) and Node's zlib. Byte values are hex.
//
//   history.build   {syncType, chunkOrder, progress, conversations, pushnames, mappings}
//                   -> {blob, mediaKey, body, fileSha256, fileEncSha256, fileLength}
//       proto.HistorySync.encode of the given chunk, zlib.deflateSync, then encryptedStream
//       with Baileys' media type 'md-msg-hist' (Baileys picks the media key). `blob` is the
//       compressed plaintext (what an inline bootstrap payload carries).
//       conversations: [{id, name?, messages: [{id, fromMe, participant?, text, timestamp}]}]
//       pushnames: [{id, pushname}]; mappings: [{pnJid, lidJid}]
//   history.process {url?, mediaKey?, inline?}
//                   -> {syncType, progress, chats, messages, contacts, lidPnMappings}
//       downloadAndProcessHistorySyncNotification on a notification with the inline payload,
//       or with the media key and a URL to download from (Baileys fetches and decrypts it).
import { readFile, unlink } from 'node:fs/promises';
import { deflateSync } from 'node:zlib';
import { downloadAndProcessHistorySyncNotification, encryptedStream, proto } from 'baileys';

const hex = b => Buffer.from(b).toString('hex');
const buf = h => {
	if (typeof h !== 'string' || !/^([0-9a-f]{2})*$/i.test(h)) {
		throw new Error('expected a hex string');
	}
	return Buffer.from(h, 'hex');
};

const webMessage = (chatId, m) => ({
	key: { remoteJid: chatId, fromMe: !!m.fromMe, id: m.id, participant: m.participant || undefined },
	message: { conversation: m.text },
	messageTimestamp: m.timestamp,
	participant: m.participant || undefined,
});

export const commands = {
	'history.build': async ({ syncType, chunkOrder, progress, conversations = [], pushnames = [], mappings = [] }) => {
		const chunk = proto.HistorySync.fromObject({
			syncType,
			chunkOrder,
			progress,
			conversations: conversations.map(c => ({
				id: c.id,
				name: c.name || undefined,
				messages: c.messages.map((m, i) => ({ message: webMessage(c.id, m), msgOrderId: i + 1 })),
			})),
			pushnames,
			phoneNumberToLidMappings: mappings,
		});
		const blob = deflateSync(proto.HistorySync.encode(chunk).finish());
		const r = await encryptedStream(blob, 'md-msg-hist');
		try {
			const body = await readFile(r.encFilePath);
			return {
				blob: hex(blob),
				mediaKey: hex(r.mediaKey),
				body: hex(body),
				fileSha256: hex(r.fileSha256),
				fileEncSha256: hex(r.fileEncSha256),
				fileLength: r.fileLength,
			};
		} finally {
			await unlink(r.encFilePath);
		}
	},

	'history.process': async ({ url, mediaKey, inline }) => {
		const notification = inline
			? { initialHistBootstrapInlinePayload: buf(inline) }
			: { mediaKey: buf(mediaKey), url };
		const r = await downloadAndProcessHistorySyncNotification(notification, {});
		return {
			syncType: r.syncType,
			progress: r.progress ?? null,
			chats: r.chats.map(c => ({ id: c.id, name: c.name ?? null })),
			messages: r.messages.map(m => ({
				remoteJid: m.key.remoteJid,
				id: m.key.id,
				fromMe: !!m.key.fromMe,
				participant: m.participant || m.key.participant || null,
				text: m.message?.conversation ?? null,
				timestamp: Number(m.messageTimestamp ?? 0),
			})),
			contacts: r.contacts.map(c => ({ id: c.id, notify: c.notify ?? null })),
			lidPnMappings: r.lidPnMappings,
		};
	},
};
