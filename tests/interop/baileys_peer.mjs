// Drives a Baileys 7 socket as the peer of OUR client (wa-client) through wa-testserver, for
// `tests/tests/client_baileys_messaging.rs`: it sends and decodes texts, quoted replies,
// reactions, edits and revocations, and reports receipts.
//
//   node baileys_peer.mjs --url ws://127.0.0.1:PORT/ws/chat --root <hex root public key> --auth DIR
//
// The test server's certificate root replaces WhatsApp's; the 515 restart after pairing is
// followed by a reconnect; presence is 'available' so delivery receipts are not 'inactive'.
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
//   {"event":"sent","tag","id","to"}                      (after a send command)
//   {"event":"read-sent","id"}  {"event":"error","message"}
// Input, one JSON object per line on stdin:
//   {"cmd":"send","tag","to":"JID","text"}                     plain text
//   {"cmd":"reply","tag","to","text","quotedId"}               text quoting a received message
//   {"cmd":"react","tag","to","key":{remoteJid,fromMe,id},"text"}
//   {"cmd":"edit","tag","to","key":{...},"text"}               edit of our own message
//   {"cmd":"delete","tag","to","key":{...}}                    revoke for everyone
//   {"cmd":"read","key":{remoteJid,id,fromMe}}                 read receipt
//   {"cmd":"quit"} (or EOF)
// Baileys' own log goes to stderr at the level in WA_BAILEYS_LOG (default "silent").
import makeWASocket, { DisconnectReason, WA_CERT_DETAILS, useMultiFileAuthState } from 'baileys';
import pino from 'pino';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) {
    args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
}
for (const k of ['url', 'root', 'auth']) {
    if (!args[k]) {
        process.stderr.write(`missing --${k}\n`);
        process.exit(2);
    }
}
WA_CERT_DETAILS.PUBLIC_KEY = Buffer.from(args.root, 'hex');

const logger = pino({ level: process.env.WA_BAILEYS_LOG || 'silent' }, pino.destination(2));
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
// libsignal logs session changes with console.log/info: keep stdout for our JSON lines.
console.log = (...a) => process.stderr.write(a.map(String).join(' ') + '\n');
console.info = console.log;

let sock;
let quitting = false;
// Every message seen (received or sent), by id: the quoted message of a reply.
const byId = new Map();

const textOf = (m) => m?.conversation ?? m?.extendedTextMessage?.text ?? null;
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

async function start() {
    const { state, saveCreds } = await useMultiFileAuthState(args.auth);
    sock = makeWASocket({
        auth: state,
        waWebSocketUrl: args.url,
        logger,
        markOnlineOnConnect: true,
        connectTimeoutMs: 20_000,
        defaultQueryTimeoutMs: 20_000,
        getMessage: async (key) => byId.get(key.id)?.message ?? undefined,
    });
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
    sock.ev.on('messages.reaction', (reactions) => {
        for (const { key, reaction } of reactions) {
            emit({ event: 'reaction', id: key.id, fromMe: !!key.fromMe, text: reaction?.text ?? '' });
        }
    });
    sock.ev.on('connection.update', (u) => {
        if (u.qr) emit({ event: 'qr', qr: u.qr });
        if (u.receivedPendingNotifications) emit({ event: 'offline' });
        if (u.connection === 'open') emit({ event: 'open', me: sock.user ?? null });
        if (u.connection === 'close') {
            const statusCode = u.lastDisconnect?.error?.output?.statusCode ?? null;
            emit({ event: 'close', statusCode });
            if (!quitting && statusCode === DisconnectReason.restartRequired) {
                start().catch((e) => emit({ event: 'error', message: String(e?.stack ?? e) }));
            }
        }
    });
}

function contentFor(c) {
    switch (c.cmd) {
        case 'send':
            return [{ text: c.text }, {}];
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
    const content = contentFor(c);
    if (content) {
        const sent = await sock.sendMessage(c.to, content[0], content[1]);
        if (sent?.key?.id) byId.set(sent.key.id, sent);
        emit({ event: 'sent', tag: c.tag ?? null, id: sent?.key?.id ?? null, to: c.to });
    } else if (c.cmd === 'read') {
        await sock.readMessages([c.key]);
        emit({ event: 'read-sent', id: c.key.id });
    } else if (c.cmd === 'quit') {
        quit();
    } else {
        emit({ event: 'error', message: `unknown command ${c.cmd}` });
    }
}

function quit() {
    quitting = true;
    try {
        sock?.end(undefined);
    } catch {
        // already closed
    }
    setTimeout(() => process.exit(0), 200);
}

let pending = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
    pending += d;
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (!line) continue;
        let c;
        try {
            c = JSON.parse(line);
        } catch {
            emit({ event: 'error', message: `bad command: ${line}` });
            continue;
        }
        command(c).catch((e) => emit({ event: 'error', message: String(e?.stack ?? e) }));
    }
});
process.stdin.on('end', quit);
start().catch((e) => {
    emit({ event: 'error', message: String(e?.stack ?? e) });
    process.exit(1);
});
