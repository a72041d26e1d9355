// Shared plumbing of the Baileys driver scripts (baileys_client.mjs, baileys_msg.mjs,
// baileys_group.mjs, baileys_peer.mjs) that the Rust interop tests run against wa-testserver
// through `wa_tests::baileys`.
//
// Every driver is started as
//   node <driver>.mjs --url ws://127.0.0.1:PORT/ws/chat --root <hex root public key> --auth DIR [--name value ...]
// and runs one Baileys socket: the test server's certificate root replaces WhatsApp's
// (WA_CERT_DETAILS.PUBLIC_KEY, a shared mutable object), credentials persist in DIR
// (useMultiFileAuthState) and the 515 restart after pairing is followed by a reconnect, as
// Baileys' documentation tells apps to do. Events go to stdout as one JSON object per line;
// commands come on stdin as one JSON object per line. `{"cmd":"quit"}`, a bare `quit` line or EOF
// ends the socket and the process. Baileys' own log goes to stderr at the level in
// WA_BAILEYS_LOG (default "silent").
import makeWASocket, { DisconnectReason, WA_CERT_DETAILS, useMultiFileAuthState } from 'baileys';
import pino from 'pino';

/** Writes one event object as a JSON line to stdout. */
export const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

/** The text of an error for an `error` event. */
export const errorText = (e) => String(e?.stack ?? e);

/** The text of a plain or extended text message, or null. */
export const textOf = (m) => m?.conversation ?? m?.extendedTextMessage?.text ?? null;

/** The HTTP-like status code of a `connection.update` that closed the socket, or null. */
export const closeStatus = (u) => u.lastDisconnect?.error?.output?.statusCode ?? null;

/**
 * The connection events most drivers print: {"event":"qr","qr"}, {"event":"offline"} (pending
 * notifications received), {"event":"open","me"} and {"event":"close","statusCode"}.
 */
export function emitConnectionEvents(u, sock) {
    if (u.qr) emit({ event: 'qr', qr: u.qr });
    if (u.receivedPendingNotifications) emit({ event: 'offline' });
    if (u.connection === 'open') emit({ event: 'open', me: sock.user ?? null });
    if (u.connection === 'close') emit({ event: 'close', statusCode: closeStatus(u) });
}

/**
 * Prints received and sent messages and their status changes, for drivers that deal in texts:
 *   {"event":"message","id","remoteJid","remoteJidAlt","fromMe","text","stub","pushName","participant",
 *    "status"}  (messages.upsert, one per message, with the decrypted text if any; `status` is
 *        the message's status when the upsert left Baileys, which already holds a status update
 *        that Baileys' event buffer merged into a still-buffered upsert instead of emitting it)
 *   {"event":"status","id","remoteJid","fromMe","status":N}   (messages.update with a status:
 *        2 server ack, 3 delivered, 4 read)
 */
export function emitTextMessages(sock) {
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
                status: m.status ?? null,
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
}

/** Parses `--name value` pairs; exits with status 2 if --url, --root or --auth is missing. */
function parseArgs() {
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
    return args;
}

/**
 * Starts a driver. Options:
 *   socketOptions(args): extra makeWASocket options (markOnlineOnConnect, getMessage, ...)
 *   onSocket(sock, { state, saveCreds }): registers the driver's event handlers on each new
 *       socket; without it, creds.update just saves the credentials
 *   onConnection(u, sock): prints connection.update events (default emitConnectionEvents)
 *   command(c): runs one stdin command other than quit; a rejection becomes an `error` event
 *       (default: unknown commands are an error)
 *   quietConsole: send console.log/info (libsignal's session log) to stderr, keeping stdout for
 *       our JSON lines (default true)
 * Returns { args, sock() } where sock() is the current socket.
 */
export function runDriver({
    socketOptions = () => ({}),
    onSocket,
    onConnection = emitConnectionEvents,
    command = async (c) => emit({ event: 'error', message: `unknown command ${c.cmd}` }),
    quietConsole = true,
} = {}) {
    const args = parseArgs();
    WA_CERT_DETAILS.PUBLIC_KEY = Buffer.from(args.root, 'hex');
    const logger = pino({ level: process.env.WA_BAILEYS_LOG || 'silent' }, pino.destination(2));
    if (quietConsole) {
        console.log = (...a) => process.stderr.write(a.map(String).join(' ') + '\n');
        console.info = console.log;
    }

    let sock;
    let quitting = false;

    async function start() {
        const { state, saveCreds } = await useMultiFileAuthState(args.auth);
        sock = makeWASocket({
            auth: state,
            waWebSocketUrl: args.url,
            logger,
            markOnlineOnConnect: false,
            connectTimeoutMs: 20_000,
            defaultQueryTimeoutMs: 20_000,
            ...socketOptions(args),
        });
        if (onSocket) {
            onSocket(sock, { state, saveCreds });
        } else {
            sock.ev.on('creds.update', saveCreds);
        }
        const current = sock;
        sock.ev.on('connection.update', (u) => {
            onConnection(u, current);
            if (u.connection === 'close' && !quitting && closeStatus(u) === DisconnectReason.restartRequired) {
                start().catch((e) => emit({ event: 'error', message: errorText(e) }));
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

    let pending = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (d) => {
        pending += d;
        let nl;
        while ((nl = pending.indexOf('\n')) >= 0) {
            const line = pending.slice(0, nl).trim();
            pending = pending.slice(nl + 1);
            if (!line) continue;
            if (line === 'quit') {
                quit();
                continue;
            }
            let c;
            try {
                c = JSON.parse(line);
            } catch {
                emit({ event: 'error', message: `bad command: ${line}` });
                continue;
            }
            if (c.cmd === 'quit') {
                quit();
                continue;
            }
            command(c).catch((e) => emit({ event: 'error', message: errorText(e) }));
        }
    });
    process.stdin.on('end', quit);
    start().catch((e) => {
        emit({ event: 'error', message: errorText(e) });
        process.exit(1);
    });
    return { args, sock: () => sock };
}
