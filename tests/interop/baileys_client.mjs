// Drives a live Baileys 7 socket against a WhatsApp-compatible server (wa-testserver), for the
// Rust interop test `tests/tests/testserver_baileys.rs`.
//
//   node baileys_client.mjs --url ws://127.0.0.1:PORT/ws/chat --root <hex root public key> --auth DIR
//        [--pair-phone NUMBER]
//
// With --pair-phone, the first time Baileys offers a QR it asks for a phone-number pairing code
// instead (sock.requestPairingCode) and prints {"event":"pair-code","code":"ABCDEFGH"}.
//
// Baileys hard-codes WhatsApp's certificate root; the test server's root replaces it
// (WA_CERT_DETAILS.PUBLIC_KEY, a shared mutable object). Credentials persist in DIR
// (useMultiFileAuthState), so a second run logs in with the saved session.
//
// Output: one JSON object per line on stdout:
//   {"event":"qr","qr":"https://wa.me/settings/linked_devices#..."}
//   {"event":"close","statusCode":515,"message":"..."}    (515 is followed by a reconnect, as
//                                                          Baileys' documentation tells apps to do)
//   {"event":"open","me":{"id":"...","lid":"..."}}
//   {"event":"offline","received":true}                  (receivedPendingNotifications)
//   {"event":"creds","registered":bool,"me":...,"nextPreKeyId":N,"firstUnuploadedPreKeyId":N,
//    "myAppStateKeyId":"base64"|null,"accountSyncCounter":N,"keys":[updated creds fields]}
//   {"event":"history","syncType":N,"chats":N,"messages":N}   (messaging-history.set)
// Input: a line `quit` (or EOF) ends the socket and the process. Baileys' own log goes to stderr
// at the level in WA_BAILEYS_LOG (default "silent").
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

let sock;
let quitting = false;
let codeRequested = false;

async function start() {
    const { state, saveCreds } = await useMultiFileAuthState(args.auth);
    sock = makeWASocket({
        auth: state,
        waWebSocketUrl: args.url,
        logger,
        markOnlineOnConnect: false,
        connectTimeoutMs: 20_000,
        defaultQueryTimeoutMs: 20_000,
    });
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
        emit({ event: 'history', syncType: h.syncType ?? null, chats: h.chats.length, messages: h.messages.length });
    });
    sock.ev.on('connection.update', (u) => {
        if (u.qr) emit({ event: 'qr', qr: u.qr });
        if (u.qr && args['pair-phone'] && !codeRequested) {
            codeRequested = true;
            sock.requestPairingCode(args['pair-phone'])
                .then((code) => emit({ event: 'pair-code', code }))
                .catch((e) => emit({ event: 'error', message: String(e?.stack ?? e) }));
        }
        if (u.receivedPendingNotifications !== undefined) {
            emit({ event: 'offline', received: u.receivedPendingNotifications });
        }
        if (u.connection === 'open') emit({ event: 'open', me: sock.user ?? null });
        if (u.connection === 'close') {
            const err = u.lastDisconnect?.error;
            const statusCode = err?.output?.statusCode ?? null;
            emit({ event: 'close', statusCode, message: String(err?.message ?? '') });
            if (!quitting && statusCode === DisconnectReason.restartRequired) {
                start().catch((e) => emit({ event: 'error', message: String(e) }));
            }
        }
    });
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

process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
    if (d.split('\n').some((l) => l.trim() === 'quit')) quit();
});
process.stdin.on('end', quit);
start().catch((e) => {
    emit({ event: 'error', message: String(e?.stack ?? e) });
    process.exit(1);
});
