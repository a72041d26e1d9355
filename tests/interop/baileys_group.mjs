// Drives a Baileys 7 socket that creates groups and sends and receives group messages through
// wa-testserver, for `tests/tests/testserver_groups_baileys.rs` (one process per account).
//
//   node baileys_group.mjs --url ws://127.0.0.1:PORT/ws/chat --root <hex root public key> --auth DIR
//
// Connection handling as baileys_msg.mjs (test root, reconnect after the 515 restart).
//
// Output, one JSON object per line on stdout: the events of baileys_msg.mjs (qr, open, offline,
// close, message with "participant", status, sent with "text", error) and
//   {"event":"created","id","subject","participants":[...],"addressingMode"}  (after create)
//   {"event":"group","id","subject"}                 (groups.upsert: we were put in a group)
//   {"event":"participants","id","action","participants":[...]}  (group-participants.update)
//   {"event":"metadata","id","subject","participants":[...],"announce"}  (after metadata)
//   {"event":"setting-done","id","setting"}
//   {"event":"updated","id","action","results":[{"jid","status"}]}  (after update)
//   {"event":"send-failed","to","text","message"}    (sendMessage threw)
// Input, one JSON object per line on stdin:
//   {"cmd":"create","subject":"...","participants":["JID",...]}   {"cmd":"metadata","id":"JID"}
//   {"cmd":"send","to":"JID","text":"..."}   {"cmd":"setting","id":"JID","setting":"announcement"}
//   {"cmd":"update","id":"JID","participants":["JID",...],"action":"add|remove|promote|demote"}
//   {"cmd":"quit"} (or EOF)
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

function textOf(m) {
    return m?.conversation ?? m?.extendedTextMessage?.text ?? null;
}

async function start() {
    const { state, saveCreds } = await useMultiFileAuthState(args.auth);
    sock = makeWASocket({
        auth: state,
        waWebSocketUrl: args.url,
        logger,
        // --online 1: 'available' presence, so delivery receipts go out without type='inactive'.
        markOnlineOnConnect: args.online === '1',
        connectTimeoutMs: 20_000,
        defaultQueryTimeoutMs: 20_000,
    });
    sock.ev.on('creds.update', saveCreds);
    sock.ev.on('messages.upsert', ({ messages }) => {
        for (const m of messages) {
            emit({
                event: 'message',
                id: m.key.id,
                remoteJid: m.key.remoteJid,
                remoteJidAlt: m.key.remoteJidAlt ?? null,
                fromMe: !!m.key.fromMe,
                text: textOf(m.message),
                stub: m.messageStubType ?? null,
                pushName: m.pushName ?? null,
                participant: m.key.participant ?? null,
            });
        }
    });
    sock.ev.on('messages.update', (updates) => {
        for (const { key, update } of updates) {
            if (update.status !== undefined) {
                emit({ event: 'status', id: key.id, remoteJid: key.remoteJid, fromMe: !!key.fromMe, status: update.status });
            }
        }
    });
    sock.ev.on('groups.upsert', (groups) => {
        for (const g of groups) emit({ event: 'group', id: g.id, subject: g.subject ?? null });
    });
    sock.ev.on('group-participants.update', (u) => {
        emit({
            event: 'participants',
            id: u.id,
            action: u.action,
            participants: (u.participants ?? []).map((p) => (typeof p === 'string' ? p : p.id)),
        });
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

async function command(c) {
    if (c.cmd === 'send') {
        let sent;
        try {
            sent = await sock.sendMessage(c.to, { text: c.text });
        } catch (e) {
            // e.g. the group metadata query refused (403) after we were removed
            emit({ event: 'send-failed', to: c.to, text: c.text, message: String(e?.message ?? e) });
            return;
        }
        emit({ event: 'sent', id: sent?.key?.id ?? null, to: c.to, text: c.text });
    } else if (c.cmd === 'create') {
        const meta = await sock.groupCreate(c.subject, c.participants);
        emit({
            event: 'created',
            id: meta.id,
            subject: meta.subject,
            participants: meta.participants.map((p) => p.id),
            addressingMode: meta.addressingMode ?? null,
        });
    } else if (c.cmd === 'metadata') {
        const meta = await sock.groupMetadata(c.id);
        emit({
            event: 'metadata',
            id: meta.id,
            subject: meta.subject,
            participants: meta.participants.map((p) => p.id),
            announce: !!meta.announce,
        });
    } else if (c.cmd === 'update') {
        const results = await sock.groupParticipantsUpdate(c.id, c.participants, c.action);
        emit({
            event: 'updated',
            id: c.id,
            action: c.action,
            results: results.map((r) => ({ jid: r.jid, status: String(r.status) })),
        });
    } else if (c.cmd === 'setting') {
        await sock.groupSettingUpdate(c.id, c.setting);
        emit({ event: 'setting-done', id: c.id, setting: c.setting });
    } else if (c.cmd === 'read') {
        await sock.readMessages([c.key]);
        emit({ event: 'read-sent', id: c.key.id });
    } else if (c.cmd === 'quit') {
        quit();
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
