// Drives a Baileys 7 socket as the peer of OUR client (wa-client) through wa-testserver, for
// `tests/tests/client_baileys_messaging.rs`: it sends and decodes texts, quoted replies,
// reactions, edits and revocations, reports receipts, sends and reports presence and chat
// states, blocks and unblocks, reads and sets privacy settings, reports and rejects calls, and
// reads and sets the about text and profile picture.
//
//   node baileys_peer.mjs --url ws://127.0.0.1:PORT/ws/chat --root <hex root public key> --auth DIR
//
// lib/driver.mjs replaces the certificate root, reconnects after the 515 restart and runs the
// JSON line protocol; presence is 'available' so delivery receipts are not 'inactive'.
//
// Output, one JSON object per line on stdout:
//   {"event":"qr","qr"}  {"event":"open","me"}  {"event":"offline"}  {"event":"close","statusCode"}
//   {"event":"message","id","remoteJid","fromMe","content":{...}}       (messages.upsert)
//        content: {"text"|null, "quoted":{"id","participant","text"}|null,
//                  "reaction":{"key":{remoteJid,fromMe,id},"text"}|null,
//                  "protocol":{"type","key":{...},"editedText"|null}|null,
//                  "wrappedInEdit":bool}
//        (the raw proto fields, read after unwrapping `editedMessage` as Baileys'
//        normalizeMessageContent does)
//   {"event":"status","id","remoteJid","fromMe","status"}   (messages.update: 2 ack, 3 delivered, 4 read)
//   {"event":"update","id","fromMe","stub"|null,"editedText"|null}  (messages.update carrying a
//        message change: revocation stub or edited content)
//   {"event":"reaction","id","fromMe","text"}              (messages.reaction)
//   {"event":"presence","id","presences":{jid:{lastKnownPresence,lastSeen}}}   (presence.update)
//   {"event":"sent","tag","id","to"}                      (after a send command)
//   {"event":"presence-sent","tag"}                       (after a presence, subscribe or block command)
//   {"event":"read-sent","id"}  {"event":"error","message"}
// Input, one JSON object per line on stdin:
//   {"cmd":"send","tag","to":"JID","text"}                     plain text
//   {"cmd":"status","tag","to":"status@broadcast","text","jids":[JID]}  a status post to
//        `jids` (Baileys' statusJidList)
//   {"cmd":"reply","tag","to","text","quotedId"}               text quoting a received message
//   {"cmd":"react","tag","to","key":{remoteJid,fromMe,id},"text"}
//   {"cmd":"edit","tag","to","key":{...},"text"}               edit of our own message
//   {"cmd":"delete","tag","to","key":{...}}                    revoke for everyone
//   {"cmd":"read","key":{remoteJid,id,fromMe}}                 read receipt
//   {"cmd":"presence","tag","type","to"}  sendPresenceUpdate(type, to): composing, recording,
//        paused (a <chatstate> to `to`), available, unavailable
//   {"cmd":"subscribe","tag","to"}        presenceSubscribe(to)
//   {"cmd":"block","tag","to","action"}   updateBlockStatus(to, action): block or unblock
//   {"cmd":"blocklist","tag"}             fetchBlocklist(), answered with
//        {"event":"blocklist","tag","jids":[...]}
//   {"cmd":"privacy","tag","name","value"} sets one privacy category (last, online, calladd,
//        messages) with Baileys' update*Privacy, answered with presence-sent
//   {"cmd":"privacy-get","tag"}           fetchPrivacySettings(true), answered with
//        {"event":"privacy","tag","settings":{name:value}}
//   (events) {"event":"blocklist-update","blocklist":[jid],"type":"add"|"remove"}
//   {"cmd":"reject-call","tag","id","from"} rejectCall(id, from), answered with
//        {"event":"call-rejected","tag"} once the server acked it
//   (events) {"event":"call","id","from","chatId","status","isVideo","isGroup","callerPn","offline"}
//        (one per entry of Baileys' `call` event; status offer, reject, terminate, timeout, ...)
//   {"cmd":"status-set","tag","text"}     updateProfileStatus(text)
//   {"cmd":"status-get","tag","jids"}     fetchStatus(...jids)
//   {"cmd":"picture-url","tag","jid","type","download"}  profilePictureUrl(jid, type) (with
//        download: the body fetched from the url, hex)
//   {"cmd":"picture-set","tag","jid"?}    updateProfilePicture(jid ?? own JID) of a generated
//        64x64 image (the bytes sent are Baileys' generateProfilePicture of it, hex)
//   {"cmd":"picture-remove","tag","jid"?} removeProfilePicture(jid ?? own JID)
//        each answered with {"event":"profile","tag","result"}
//   (events) {"event":"contacts-update","id","imgUrl"}   (contacts.update with imgUrl)
//   {"cmd":"quit"} (or EOF)
// Baileys' own log goes to stderr at the level in WA_BAILEYS_LOG (default "silent").
import { generateProfilePicture } from 'baileys';
import sharp from 'sharp';
import { emit, runDriver, textOf } from './lib/driver.mjs';

// Every message seen (received or sent), by id: the quoted message of a reply.
const byId = new Map();

const keyOf = (k) => (k ? { remoteJid: k.remoteJid ?? null, fromMe: !!k.fromMe, id: k.id ?? null } : null);

function describe(raw) {
    const wrappedInEdit = !!raw?.editedMessage;
    const m = raw?.editedMessage?.message ?? raw?.ephemeralMessage?.message ?? raw;
    const ctx = m?.extendedTextMessage?.contextInfo;
    const p = m?.protocolMessage;
    return {
        text: textOf(m),
        quoted: ctx?.stanzaId
            ? { id: ctx.stanzaId, participant: ctx.participant ?? null, text: textOf(ctx.quotedMessage) }
            : null,
        reaction: m?.reactionMessage
            ? { key: keyOf(m.reactionMessage.key), text: m.reactionMessage.text ?? '' }
            : null,
        protocol: p
            ? { type: p.type ?? 0, key: keyOf(p.key), editedText: textOf(p.editedMessage) }
            : null,
        wrappedInEdit,
    };
}

function contentFor(c) {
    switch (c.cmd) {
        case 'send':
            return [{ text: c.text }, {}];
        case 'status':
            return [{ text: c.text }, { statusJidList: c.jids }];
        case 'reply': {
            const quoted = byId.get(c.quotedId);
            if (!quoted) throw new Error(`no message ${c.quotedId} to quote`);
            return [{ text: c.text }, { quoted }];
        }
        case 'react':
            return [{ react: { text: c.text, key: c.key } }, {}];
        case 'edit':
            return [{ text: c.text, edit: c.key }, {}];
        case 'delete':
            return [{ delete: c.key }, {}];
        default:
            return null;
    }
}

async function command(c) {
    const sock = driver.sock();
    const content = contentFor(c);
    if (content) {
        const sent = await sock.sendMessage(c.to, content[0], content[1]);
        if (sent?.key?.id) byId.set(sent.key.id, sent);
        emit({ event: 'sent', tag: c.tag ?? null, id: sent?.key?.id ?? null, to: c.to });
    } else if (c.cmd === 'presence') {
        await sock.sendPresenceUpdate(c.type, c.to);
        emit({ event: 'presence-sent', tag: c.tag ?? null });
    } else if (c.cmd === 'subscribe') {
        await sock.presenceSubscribe(c.to);
        emit({ event: 'presence-sent', tag: c.tag ?? null });
    } else if (c.cmd === 'block') {
        await sock.updateBlockStatus(c.to, c.action);
        emit({ event: 'presence-sent', tag: c.tag ?? null });
    } else if (c.cmd === 'blocklist') {
        emit({ event: 'blocklist', tag: c.tag ?? null, jids: await sock.fetchBlocklist() });
    } else if (c.cmd === 'privacy') {
        const set = {
            last: sock.updateLastSeenPrivacy,
            online: sock.updateOnlinePrivacy,
            calladd: sock.updateCallPrivacy,
            messages: sock.updateMessagesPrivacy,
        }[c.name];
        if (!set) throw new Error(`no Baileys setter for privacy category ${c.name}`);
        await set(c.value);
        emit({ event: 'presence-sent', tag: c.tag ?? null });
    } else if (c.cmd === 'privacy-get') {
        emit({ event: 'privacy', tag: c.tag ?? null, settings: await sock.fetchPrivacySettings(true) });
    } else if (c.cmd === 'reject-call') {
        await sock.rejectCall(c.id, c.from);
        emit({ event: 'call-rejected', tag: c.tag ?? null });
    } else if (c.cmd.startsWith('status-') || c.cmd.startsWith('picture-')) {
        emit({ event: 'profile', tag: c.tag ?? null, result: await profileCommand(sock, c) });
    } else if (c.cmd === 'read') {
        await sock.readMessages([c.key]);
        emit({ event: 'read-sent', id: c.key.id });
    } else {
        emit({ event: 'error', message: `unknown command ${c.cmd}` });
    }
}

async function profileCommand(sock, c) {
    const own = sock.user?.id;
    switch (c.cmd) {
        case 'status-set':
            await sock.updateProfileStatus(c.text);
            return null;
        case 'status-get':
            return await sock.fetchStatus(...c.jids);
        case 'picture-url': {
            const url = (await sock.profilePictureUrl(c.jid, c.type ?? 'preview')) ?? null;
            if (!c.download || !url) return { url };
            const res = await fetch(url);
            if (!res.ok) throw new Error(`GET picture: HTTP ${res.status}`);
            return { url, data: Buffer.from(await res.arrayBuffer()).toString('hex') };
        }
        case 'picture-set': {
            const image = await sharp({
                create: { width: 64, height: 64, channels: 3, background: { r: 30, g: 90, b: 200 } },
            })
                .jpeg()
                .toBuffer();
            await sock.updateProfilePicture(c.jid ?? own, image);
            const { img } = await generateProfilePicture(image);
            return { data: img.toString('hex') };
        }
        case 'picture-remove':
            await sock.removeProfilePicture(c.jid ?? own);
            return null;
        default:
            throw new Error(`unknown command ${c.cmd}`);
    }
}

const driver = runDriver({
    socketOptions: () => ({
        markOnlineOnConnect: true,
        getMessage: async (key) => byId.get(key.id)?.message ?? undefined,
    }),
    onSocket(sock, { saveCreds }) {
        sock.ev.on('creds.update', saveCreds);
        sock.ev.on('messages.upsert', ({ messages }) => {
            for (const m of messages) {
                if (m.key?.id) byId.set(m.key.id, m);
                emit({
                    event: 'message',
                    id: m.key.id,
                    remoteJid: m.key.remoteJid,
                    fromMe: !!m.key.fromMe,
                    stub: m.messageStubType ?? null,
                    content: describe(m.message),
                });
            }
        });
        sock.ev.on('messages.update', (updates) => {
            for (const { key, update } of updates) {
                if (update.status !== undefined) {
                    emit({ event: 'status', id: key.id, remoteJid: key.remoteJid, fromMe: !!key.fromMe, status: update.status });
                }
                if (update.message !== undefined || update.messageStubType !== undefined) {
                    emit({
                        event: 'update',
                        id: key.id,
                        fromMe: !!key.fromMe,
                        stub: update.messageStubType ?? null,
                        editedText: textOf(update.message?.editedMessage?.message ?? update.message),
                    });
                }
            }
        });
        sock.ev.on('blocklist.update', ({ blocklist, type }) => {
            emit({ event: 'blocklist-update', blocklist, type });
        });
        sock.ev.on('call', (calls) => {
            for (const call of calls) {
                emit({
                    event: 'call',
                    id: call.id,
                    from: call.from,
                    chatId: call.chatId,
                    status: call.status,
                    isVideo: call.isVideo ?? null,
                    isGroup: call.isGroup ?? null,
                    callerPn: call.callerPn ?? null,
                    offline: call.offline,
                });
            }
        });
        sock.ev.on('contacts.update', (updates) => {
            for (const u of updates) {
                if (u.imgUrl !== undefined) emit({ event: 'contacts-update', id: u.id, imgUrl: u.imgUrl });
            }
        });
        sock.ev.on('presence.update', ({ id, presences }) => {
            emit({ event: 'presence', id, presences });
        });
        sock.ev.on('messages.reaction', (reactions) => {
            for (const { key, reaction } of reactions) {
                emit({ event: 'reaction', id: key.id, fromMe: !!key.fromMe, text: reaction?.text ?? '' });
            }
        });
    },
    command,
});
