// Drives a Baileys 7 socket that sends and receives 1:1 messages through wa-testserver, for
// `tests/tests/testserver_baileys_messaging.rs` (two of these run at once, one per account).
//
//   node baileys_msg.mjs --url ws://127.0.0.1:PORT/ws/chat --root <hex root public key> --auth DIR
//        [--online 1]
//
// Arguments, the test server's certificate root, the reconnect after the 515 restart and the
// stdin/stdout line protocol are lib/driver.mjs's.
//
// Output, one JSON object per line on stdout:
//   {"event":"qr","qr":"..."}  {"event":"open","me":{...}}  {"event":"offline"}
//   {"event":"close","statusCode":N}
//   {"event":"message","id","remoteJid","fromMe","text","pushName","senderLid"|null,"senderPn"|null}
//        (messages.upsert, one per message, with the decrypted text if any)
//   {"event":"status","id","remoteJid","fromMe","status":N}   (messages.update with a status:
//        2 server ack, 3 delivered, 4 read)
//   {"event":"sent","id","to"}                                 (after a send command)
//   {"event":"error","message"}
// Input, one JSON object per line on stdin:
//   {"cmd":"send","to":"JID","text":"..."}    {"cmd":"read","key":{remoteJid,id,fromMe,participant?}}
//   {"cmd":"quit"} (or EOF)
// Baileys' own log goes to stderr at the level in WA_BAILEYS_LOG (default "silent").
import { emit, runDriver, textOf } from './lib/driver.mjs';

async function command(c) {
    const sock = driver.sock();
    if (c.cmd === 'send') {
        const sent = await sock.sendMessage(c.to, { text: c.text });
        emit({ event: 'sent', id: sent?.key?.id ?? null, to: c.to });
    } else if (c.cmd === 'read') {
        await sock.readMessages([c.key]);
        emit({ event: 'read-sent', id: c.key.id });
    }
}

const driver = runDriver({
    socketOptions: (args) => ({
        // --online 1: 'available' presence, so delivery receipts go out without type='inactive'.
        markOnlineOnConnect: args.online === '1',
    }),
    onSocket(sock, { saveCreds }) {
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
    },
    command,
});
