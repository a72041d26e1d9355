// Drives a Baileys 7 socket that creates groups and sends and receives group messages through
// wa-testserver, for `tests/tests/testserver_groups_baileys.rs` (one process per account).
//
//   node baileys_group.mjs --url ws://127.0.0.1:PORT/ws/chat --root <hex root public key> --auth DIR
//
// Connection handling as baileys_msg.mjs (lib/driver.mjs: test root, reconnect after the 515
// restart, JSON lines).
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
import { emit, emitTextMessages, runDriver } from './lib/driver.mjs';

async function command(c) {
    const sock = driver.sock();
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
    }
}

const driver = runDriver({
    socketOptions: (args) => ({ markOnlineOnConnect: args.online === '1' }),
    onSocket(sock, { saveCreds }) {
        sock.ev.on('creds.update', saveCreds);
        emitTextMessages(sock);
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
    },
    command,
});
