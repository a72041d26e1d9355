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
//   {"event":"message",...} and {"event":"status",...}       (emitTextMessages in lib/driver.mjs)
//   {"event":"sent","id","to"}                                 (after a send command)
//   {"event":"error","message"}
// Input, one JSON object per line on stdin:
//   {"cmd":"send","to":"JID","text":"..."}    {"cmd":"read","key":{remoteJid,id,fromMe,participant?}}
//   {"cmd":"quit"} (or EOF)
// Baileys' own log goes to stderr at the level in WA_BAILEYS_LOG (default "silent").
import { emit, emitTextMessages, runDriver } from './lib/driver.mjs';

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
        emitTextMessages(sock);
    },
    command,
});
