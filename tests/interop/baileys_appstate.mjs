// Drives a Baileys 7 socket that changes and follows app state (mute, pin) through
// wa-testserver, for `tests/tests/appstate_client_baileys.rs`.
//
//   node baileys_appstate.mjs --url ws://127.0.0.1:PORT/ws/chat --root <hex root public key> --auth DIR
//
// Arguments, the test server's certificate root, the reconnect after the 515 restart and the
// stdin/stdout line protocol are lib/driver.mjs's.
//
// Output, one JSON object per line on stdout:
//   {"event":"qr","qr":"..."}  {"event":"open","me":{...}}  {"event":"offline"}
//   {"event":"close","statusCode":N}
//   {"event":"chat","id","muteEndTime","pinned","archived"}   (one per chats.update entry;
//        fields Baileys did not set are absent)
//   {"event":"modified","jid"}                                 (after a modify command)
//   {"event":"error","message"}
// Input, one JSON object per line on stdin:
//   {"cmd":"modify","jid":"JID","mod":{"mute":MS|null} | {"pin":BOOL}}   (sock.chatModify)
//   {"cmd":"quit"} (or EOF)
import { emit, runDriver } from './lib/driver.mjs';

async function command(c) {
    const sock = driver.sock();
    if (c.cmd === 'modify') {
        await sock.chatModify(c.mod, c.jid);
        emit({ event: 'modified', jid: c.jid });
    }
}

const driver = runDriver({
    onSocket(sock, { saveCreds }) {
        sock.ev.on('creds.update', saveCreds);
        sock.ev.on('chats.update', (updates) => {
            for (const u of updates) {
                emit({
                    event: 'chat',
                    id: u.id,
                    muteEndTime: u.muteEndTime,
                    pinned: u.pinned,
                    archived: u.archived,
                });
            }
        });
    },
    command,
});
