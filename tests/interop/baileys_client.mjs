// Drives a live Baileys 7 socket against a WhatsApp-compatible server (wa-testserver), for the
// Rust interop test `tests/tests/testserver_baileys.rs`.
//
//   node baileys_client.mjs --url ws://127.0.0.1:PORT/ws/chat --root <hex root public key> --auth DIR
//        [--pair-phone NUMBER] [--media-host HOST:PORT]
//
// With --pair-phone, the first time Baileys offers a QR it asks for a phone-number pairing code
// instead (sock.requestPairingCode) and prints {"event":"pair-code","code":"ABCDEFGH"}.
//
// lib/driver.mjs replaces Baileys' hard-coded WhatsApp certificate root with the test server's,
// keeps the credentials in DIR (useMultiFileAuthState, so a second run logs in with the saved
// session) and reconnects after the 515 restart.
//
// Output: one JSON object per line on stdout:
//   {"event":"qr","qr":"https://wa.me/settings/linked_devices#..."}
//   {"event":"close","statusCode":515,"message":"..."}    (515 is followed by a reconnect, as
//                                                          Baileys' documentation tells apps to do)
//   {"event":"open","me":{"id":"...","lid":"..."}}
//   {"event":"offline","received":true}                  (receivedPendingNotifications)
//   {"event":"creds","registered":bool,"me":...,"nextPreKeyId":N,"firstUnuploadedPreKeyId":N,
//    "myAppStateKeyId":"base64"|null,"accountSyncCounter":N,"keys":[updated creds fields]}
//   {"event":"history","syncType":N,"progress":N,"chats":N,"messages":N,"ids":[...],"texts":[...]}
//        (messaging-history.set; ids and plain texts of the messages, in order)
// Input: a line `quit` or `{"cmd":"quit"}` (or EOF) ends the socket and the process. Baileys' own
// log goes to stderr at the level in WA_BAILEYS_LOG (default "silent").
import { closeStatus, emit, errorText, runDriver } from './lib/driver.mjs';

let codeRequested = false;

const driver = runDriver({
    quietConsole: false,
    onSocket(sock, { state, saveCreds }) {
        sock.ev.on('creds.update', async (update) => {
            await saveCreds();
            const c = state.creds;
            emit({
                event: 'creds',
                registered: !!c.registered,
                me: c.me ?? null,
                nextPreKeyId: c.nextPreKeyId,
                firstUnuploadedPreKeyId: c.firstUnuploadedPreKeyId,
                myAppStateKeyId: c.myAppStateKeyId ?? null,
                accountSyncCounter: c.accountSyncCounter ?? 0,
                keys: Object.keys(update),
            });
        });
        sock.ev.on('messaging-history.set', (h) => {
            emit({
                event: 'history',
                syncType: h.syncType ?? null,
                progress: h.progress ?? null,
                chats: h.chats.length,
                messages: h.messages.length,
                ids: h.messages.map((m) => m.key.id),
                texts: h.messages.map((m) => m.message?.conversation ?? null),
            });
        });
    },
    onConnection(u, sock) {
        if (u.qr) emit({ event: 'qr', qr: u.qr });
        const phone = driver.args['pair-phone'];
        if (u.qr && phone && !codeRequested) {
            codeRequested = true;
            sock.requestPairingCode(phone)
                .then((code) => emit({ event: 'pair-code', code }))
                .catch((e) => emit({ event: 'error', message: errorText(e) }));
        }
        if (u.receivedPendingNotifications !== undefined) {
            emit({ event: 'offline', received: u.receivedPendingNotifications });
        }
        if (u.connection === 'open') emit({ event: 'open', me: sock.user ?? null });
        if (u.connection === 'close') {
            emit({ event: 'close', statusCode: closeStatus(u), message: String(u.lastDisconnect?.error?.message ?? '') });
        }
    },
});

// --media-host HOST:PORT: Baileys downloads history (and other media given by direct path) from
// https://mmg.whatsapp.net; this points that host at the test server's plain-HTTP media host
// instead, as a DNS entry would. Every other request goes out unchanged.
const mediaHost = driver.args['media-host'];
if (mediaHost) {
    const realFetch = globalThis.fetch;
    globalThis.fetch = (input, init) => {
        const url = String(input);
        const prefix = 'https://mmg.whatsapp.net/';
        return realFetch(url.startsWith(prefix) ? `http://${mediaHost}/${url.slice(prefix.length)}` : input, init);
    };
}
