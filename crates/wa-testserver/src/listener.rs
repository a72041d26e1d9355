//! The IO shell: a WebSocket listener at `/ws/chat` driving one [`Connection`] per socket.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{FutureExt as _, SinkExt as _, StreamExt as _};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng as _, SeedableRng as _};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use wa_binary::{Jid, Node};
use wa_noise::{KeyPair, ServerConfig};

use crate::engine::{Connection, Effect, StreamError};
use crate::error::{Error, Result};
use crate::phone::QrCode;
use crate::state::{AccountId, ConnId, DeviceKey, ServerState};

/// The WebSocket path clients connect to.
pub const WS_PATH: &str = "/ws/chat";

/// Commands for one connection's task.
#[derive(Debug)]
pub(crate) enum ConnCmd {
    /// The phone of an account scanned a QR of this connection.
    Scan(QrCode, AccountId, oneshot::Sender<Result<Jid>>),
    /// A code was typed on a phone (whose identity public key is given).
    PairCode(String, [u8; 32], oneshot::Sender<Result<Jid>>),
    Kick(StreamError),
    Deliver(DeviceKey, Node),
}

/// Where and with which keys the state is persisted (`--state DIR`).
pub(crate) struct Persist {
    pub(crate) dir: std::path::PathBuf,
    pub(crate) keys: crate::persist::ServerKeys,
    pub(crate) saved_revision: Mutex<u64>,
}

/// What every connection task shares.
pub(crate) struct Shared {
    pub(crate) state: Mutex<ServerState>,
    pub(crate) persist: Option<Persist>,
    pub(crate) hub: Mutex<HashMap<ConnId, mpsc::UnboundedSender<ConnCmd>>>,
    pub(crate) noise_static: KeyPair,
    pub(crate) cert_chain: Vec<u8>,
    rng: Mutex<ChaCha20Rng>,
    next_conn: AtomicU64,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

/// Locks a mutex, recovering the data if a task panicked while holding it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Unix time in milliseconds (the listener is one of the places allowed to read the clock).
#[allow(clippy::disallowed_methods)]
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Shared {
    pub(crate) fn new(
        state: ServerState,
        persist: Option<Persist>,
        noise_static: KeyPair,
        cert_chain: Vec<u8>,
        rng: ChaCha20Rng,
    ) -> Self {
        Self {
            state: Mutex::new(state),
            persist,
            hub: Mutex::new(HashMap::new()),
            noise_static,
            cert_chain,
            rng: Mutex::new(rng),
            next_conn: AtomicU64::new(1),
        }
    }

    pub(crate) fn conn_rng(&self) -> ChaCha20Rng {
        let mut seed = [0u8; 32];
        lock(&self.rng).fill_bytes(&mut seed);
        ChaCha20Rng::from_seed(seed)
    }

    /// Writes the state file if persistence is on and the state changed since the last write.
    /// A failed write is logged (the server keeps running on its in-memory state).
    pub(crate) fn persist(&self) {
        let Some(p) = &self.persist else { return };
        let mut saved = lock(&p.saved_revision);
        let json = {
            let state = lock(&self.state);
            if state.revision == *saved {
                return;
            }
            *saved = state.revision;
            crate::persist::to_json(&state, &p.keys)
        };
        if let Err(e) = json.and_then(|j| crate::persist::save(&p.dir, &j)) {
            tracing::warn!(dir = %p.dir.display(), "could not save state: {e}");
        }
    }

    /// Passes a routed stanza for `device` to connection `conn`; gives it back if the
    /// connection is gone.
    pub(crate) fn deliver(&self, conn: ConnId, device: DeviceKey, node: Node) -> Option<Node> {
        match lock(&self.hub).get(&conn) {
            Some(tx) => match tx.send(ConnCmd::Deliver(device, node)) {
                Ok(()) => None,
                Err(mpsc::error::SendError(ConnCmd::Deliver(_, node))) => Some(node),
                Err(_) => None,
            },
            None => Some(node),
        }
    }

    /// Sends `cmd` to connection `conn`; false if it is gone.
    pub(crate) fn send_cmd(&self, conn: ConnId, cmd: ConnCmd) -> bool {
        lock(&self.hub)
            .get(&conn)
            .is_some_and(|tx| tx.send(cmd).is_ok())
    }
}

/// Accepts connections until `shutdown` turns true.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // Small frames go out at once (no Nagle wait on the peer's delayed ACK).
                    if let Err(e) = stream.set_nodelay(true) {
                        tracing::debug!(%peer, "TCP_NODELAY not set: {e}");
                    }
                    let shared = Arc::clone(&shared);
                    let shutdown = shutdown.clone();
                    let tls = tls.clone();
                    tokio::spawn(async move {
                        let res = match tls {
                            None => serve(stream, peer, shared, shutdown).await,
                            Some(acceptor) => match acceptor.accept(stream).await {
                                Ok(tls_stream) => serve(tls_stream, peer, shared, shutdown).await,
                                Err(e) => Err(Error::Tls(e.to_string())),
                            },
                        };
                        if let Err(e) = res {
                            tracing::info!(%peer, "connection ended: {e}");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    tracing::info!("listener stopped");
}

#[allow(clippy::result_large_err)]
fn check_path(req: &Request, resp: Response) -> std::result::Result<Response, ErrorResponse> {
    if req.uri().path() == WS_PATH {
        Ok(resp)
    } else {
        let mut err = ErrorResponse::new(Some(format!("no WebSocket at {}", req.uri().path())));
        *err.status_mut() = StatusCode::NOT_FOUND;
        Err(err)
    }
}

async fn serve<S>(
    stream: S,
    peer: SocketAddr,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // A 16 KiB read buffer instead of tungstenite's 128 KiB default: tungstenite zero-fills
    // the whole buffer before every read attempt.
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(16 * 1024);
    let mut ws = tokio_tungstenite::accept_hdr_async_with_config(stream, check_path, Some(config))
        .await
        .map_err(|e| Error::Io(std::io::Error::other(e)))?;
    let id = shared.next_conn.fetch_add(1, Ordering::Relaxed);
    tracing::info!(conn = id, %peer, "WebSocket accepted");
    let (tx, mut rx) = mpsc::unbounded_channel();
    lock(&shared.hub).insert(id, tx);
    let mut rng = shared.conn_rng();
    let mut conn = Connection::new(
        id,
        ServerConfig {
            static_key: shared.noise_static.clone(),
            cert_chain: shared.cert_chain.clone(),
        },
    );
    let mut pending_scan: Option<oneshot::Sender<Result<Jid>>> = None;
    let outcome: Result<()> = async {
        loop {
            let deadline = conn.poll_timeout().map(|at| {
                tokio::time::Instant::now() + Duration::from_millis(at.saturating_sub(now_ms()))
            });
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            let mut step: Result<()> = Ok(());
            tokio::select! {
                _ = shutdown.changed() => return Ok(()),
                msg = ws.next() => {
                    // Frames that already arrived are handled in the same pass, so their
                    // answers (acks, receipts routed back) leave in one write.
                    let mut msg = msg;
                    let mut drained = 0;
                    loop {
                        match msg {
                            None | Some(Ok(Message::Close(_))) => return Ok(()),
                            Some(Err(e)) => return Err(Error::Io(std::io::Error::other(e))),
                            Some(Ok(Message::Binary(data))) => {
                                let mut state = lock(&shared.state);
                                step = conn.handle_data(&data, now_ms(), &mut state, &mut rng);
                            }
                            Some(Ok(_)) => {}
                        }
                        if step.is_err() || conn.is_closing() || drained == DRAIN_FRAMES {
                            break;
                        }
                        drained += 1;
                        match ws.next().now_or_never() {
                            Some(next) => msg = next,
                            None => break,
                        }
                    }
                }
                () = std::future::ready(()), if conn.has_backlog() => step = conn.pump_backlog(),
                cmd = rx.recv() => match cmd {
                    Some(ConnCmd::Scan(qr, account, reply)) => {
                        let res = {
                            let mut state = lock(&shared.state);
                            conn.handle_scan_for(&qr, account, now_ms(), &mut state, &mut rng)
                        };
                        match res {
                            Ok(()) => pending_scan = Some(reply),
                            Err(e) => { let _ = reply.send(Err(e)); }
                        }
                    }
                    Some(ConnCmd::PairCode(code, phone, reply)) => {
                        let res = conn.handle_pair_code(&code, &phone, now_ms(), &mut rng);
                        match res {
                            Ok(()) => pending_scan = Some(reply),
                            Err(e) => { let _ = reply.send(Err(e)); }
                        }
                    }
                    Some(ConnCmd::Kick(err)) => step = conn.handle_kick(err),
                    Some(ConnCmd::Deliver(device, node)) => {
                        let mut state = lock(&shared.state);
                        step = conn.handle_deliver(device, node, &mut state);
                    }
                    None => return Ok(()),
                },
                () = sleep => step = conn.handle_timeout(now_ms()),
            }
            shared.persist();
            flush(&mut conn, &mut ws, &shared, &mut pending_scan).await?;
            if let Err(e) = step {
                tracing::info!(conn = id, "protocol error: {e}");
            }
            if conn.is_closing() {
                return Ok(());
            }
        }
    }
    .await;
    {
        // The state lock first: a stanza routed after the hub entry is gone is queued by its
        // router only once this block has queued what is still in the channel, so the queue
        // keeps the routing order.
        let mut state = lock(&shared.state);
        lock(&shared.hub).remove(&id);
        conn.handle_closed(&mut state);
        // Stanzas routed here while the connection was ending still wait in the channel:
        // they go to the device's offline queue (after the backlog handle_closed put back),
        // not into the void.
        rx.close();
        while let Ok(cmd) = rx.try_recv() {
            if let ConnCmd::Deliver(device, node) = cmd {
                state.queue_offline(device, node);
            }
        }
    }
    while let Some(effect) = conn.poll_effect() {
        dispatch(effect, &shared, &mut pending_scan);
    }
    shared.persist();
    if let Some(reply) = pending_scan.take() {
        let _ = reply.send(Err(Error::PairFailed("connection closed".into())));
    }
    let _ = ws.close(None).await;
    tracing::info!(conn = id, "closed");
    outcome
}

/// How many already-arrived WebSocket messages one pass reads after the one it woke up for.
const DRAIN_FRAMES: usize = 255;

async fn flush<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Connection,
    ws: &mut tokio_tungstenite::WebSocketStream<S>,
    shared: &Shared,
    pending_scan: &mut Option<oneshot::Sender<Result<Jid>>>,
) -> Result<()> {
    while let Some(effect) = conn.poll_effect() {
        dispatch(effect, shared, pending_scan);
    }
    while let Some(bytes) = conn.poll_transmit() {
        ws.feed(Message::Binary(bytes.into()))
            .await
            .map_err(|e| Error::Io(std::io::Error::other(e)))?;
    }
    ws.flush()
        .await
        .map_err(|e| Error::Io(std::io::Error::other(e)))
}

fn dispatch(
    effect: Effect,
    shared: &Shared,
    pending_scan: &mut Option<oneshot::Sender<Result<Jid>>>,
) {
    match effect {
        Effect::Kick { conn, error } => {
            if !shared.send_cmd(conn, ConnCmd::Kick(error)) {
                tracing::debug!(conn, "kick: connection already gone");
            }
        }
        Effect::Paired(jid) => {
            if let Some(reply) = pending_scan.take() {
                let _ = reply.send(Ok(jid));
            }
        }
        Effect::PairFailed(reason) => {
            tracing::warn!("pairing failed: {reason}");
            if let Some(reply) = pending_scan.take() {
                let _ = reply.send(Err(Error::PairFailed(reason)));
            }
        }
        Effect::LoggedIn(_) => {}
        Effect::Deliver { conn, device, node } => {
            if let Some(node) = shared.deliver(conn, device, node) {
                tracing::debug!(conn, ?device, "deliver: connection gone, queued");
                lock(&shared.state).queue_offline(device, node);
            }
        }
    }
}
