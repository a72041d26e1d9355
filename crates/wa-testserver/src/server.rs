//! [`TestServer`]: start, stop and restart the server; [`Admin`]: the simulated phone's controls.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng as _;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use wa_binary::Jid;
use wa_noise::{CertIssuer, KeyPair, TrustRoot};

use crate::engine::StreamError;
use crate::error::{Error, Result};
use crate::listener::{ConnCmd, Persist, Shared, WS_PATH, accept_loop, lock, now_ms};
use crate::persist::ServerKeys;
use crate::phone::{Phone, QrCode};
use crate::state::{Account, AccountId, ServerState};
use crate::tls::TlsIdentity;

/// How long [`Admin::scan_qr`] waits for the companion to answer `pair-success`.
pub const SCAN_TIMEOUT: Duration = Duration::from_secs(30);

/// How long [`Admin::enter_pair_code`] waits for a companion's code request to arrive.
pub const CODE_REQUEST_WAIT: Duration = Duration::from_secs(5);

/// Test server configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen; port 0 picks a free port. Default `127.0.0.1:0`.
    pub listen: SocketAddr,
    /// The account's phone number. Default `15551234567`.
    pub phone_number: String,
    /// The account's LID user. Default `99887766554433`.
    pub lid: String,
    /// The account's push name. Default `Test Phone`.
    pub push_name: String,
    /// Seed for every key and random value (reproducible runs); `None` draws one from the OS.
    pub seed: Option<u64>,
    /// Persist keys, the account, devices and prekeys in `DIR/state.json` and load them at
    /// start (the account fields above are then ignored). `None`: in memory only.
    pub state_dir: Option<std::path::PathBuf>,
    /// Serve `wss://` with a self-signed certificate (kept in `state_dir` when set).
    pub tls: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            phone_number: "15551234567".into(),
            lid: "99887766554433".into(),
            push_name: "Test Phone".into(),
            seed: None,
            state_dir: None,
            tls: false,
        }
    }
}

struct Running {
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// A running test server: a WebSocket listener on loopback plus the simulated phone.
///
/// ```no_run
/// # async fn demo() -> Result<(), wa_testserver::Error> {
/// let server = wa_testserver::TestServer::start(wa_testserver::Config::default()).await?;
/// println!("connect to {} trusting root {:02x?}", server.url(), server.root_public_key());
/// // A client shows a QR; the phone scans it:
/// // let jid = server.admin().scan_qr(&qr).await?;
/// server.shutdown().await;
/// # Ok(()) }
/// ```
pub struct TestServer {
    addr: SocketAddr,
    tls: Option<TlsIdentity>,
    trust_root: TrustRoot,
    shared: Arc<Shared>,
    running: Option<Running>,
    /// The media HTTP listener's address and task (runs until the server is dropped).
    media: (SocketAddr, JoinHandle<()>),
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("addr", &self.addr)
            .field("running", &self.running.is_some())
            .finish_non_exhaustive()
    }
}

fn os_seed() -> Result<[u8; 32]> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| Error::Random(e.to_string()))?;
    Ok(seed)
}

impl TestServer {
    /// Generates the test root, certificate chain and phone identity, binds `config.listen`
    /// and starts accepting WebSocket connections at [`WS_PATH`].
    pub async fn start(config: Config) -> Result<Self> {
        let seed = match config.seed {
            Some(s) => {
                let mut b = [0u8; 32];
                b[..8].copy_from_slice(&s.to_le_bytes());
                b
            }
            None => os_seed()?,
        };
        let mut rng = ChaCha20Rng::from_seed(seed);
        let loaded = match &config.state_dir {
            Some(dir) => crate::persist::load(dir)?,
            None => None,
        };
        let fresh = loaded.is_none();
        let (state, keys) = match loaded {
            Some(found) => {
                tracing::info!("loaded state from {:?}", config.state_dir);
                found
            }
            None => {
                let keys = ServerKeys {
                    root: KeyPair::generate(&mut rng),
                    intermediate: KeyPair::generate(&mut rng),
                    noise: KeyPair::generate(&mut rng),
                };
                let account = Account {
                    phone_number: config.phone_number,
                    lid: config.lid,
                    push_name: config.push_name,
                    created: now_ms() / 1000,
                };
                let state = ServerState::new(account, Phone::new(KeyPair::generate(&mut rng)));
                (state, keys)
            }
        };
        let issuer = CertIssuer::new(keys.root.clone(), 0, keys.intermediate.clone());
        let cert_chain = issuer.issue(keys.noise.public(), 2, &mut rng);
        let noise_static = keys.noise.clone();
        let conn_rng = ChaCha20Rng::from_seed({
            let mut s = [0u8; 32];
            rand_core::Rng::fill_bytes(&mut rng, &mut s);
            s
        });
        let tls = match (config.tls, &config.state_dir) {
            (false, _) => None,
            (true, Some(dir)) => Some(TlsIdentity::load_or_generate(dir)?),
            (true, None) => Some(TlsIdentity::generate()?),
        };
        let persist = config.state_dir.map(|dir| Persist {
            dir,
            keys,
            saved_revision: std::sync::Mutex::new(0),
        });
        let shared = Arc::new(Shared::new(
            state,
            persist,
            noise_static,
            cert_chain,
            conn_rng,
        ));
        if let Some(p) = &shared.persist {
            if fresh {
                let json = crate::persist::to_json(&lock(&shared.state), &p.keys)?;
                crate::persist::save(&p.dir, &json)?;
            }
            *lock(&p.saved_revision) = lock(&shared.state).revision;
        }
        let media_auth = {
            let mut b = [0u8; 16];
            rand_core::Rng::fill_bytes(&mut rng, &mut b);
            hex::encode(b)
        };
        let media_listener = TcpListener::bind(SocketAddr::new(config.listen.ip(), 0)).await?;
        let media_addr = media_listener.local_addr()?;
        {
            let mut state = lock(&shared.state);
            state.media = crate::media::MediaState::new(media_auth);
            state.media.set_host(media_addr.to_string());
        }
        let media_task = tokio::spawn(crate::media::serve_media(
            media_listener,
            Arc::clone(&shared),
        ));
        let mut server = Self {
            addr: config.listen,
            tls,
            trust_root: issuer.trust_root(),
            shared,
            running: None,
            media: (media_addr, media_task),
        };
        server.bind().await?;
        Ok(server)
    }

    async fn bind(&mut self) -> Result<()> {
        let listener = TcpListener::bind(self.addr).await?;
        self.addr = listener.local_addr()?;
        let (tx, rx) = watch::channel(false);
        let acceptor = self.tls.as_ref().map(TlsIdentity::acceptor).transpose()?;
        let task = tokio::spawn(accept_loop(
            listener,
            acceptor,
            Arc::clone(&self.shared),
            rx,
        ));
        tracing::info!(addr = %self.addr, "wa-testserver listening");
        self.running = Some(Running { shutdown: tx, task });
        Ok(())
    }

    /// The bound address.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The WebSocket URL, `ws://ADDR/ws/chat` (`wss://` with TLS).
    #[must_use]
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "wss" } else { "ws" };
        format!("{scheme}://{}{WS_PATH}", self.addr)
    }

    /// With TLS, the server certificate as PEM (clients add it to their trusted CAs).
    #[must_use]
    pub fn tls_cert_pem(&self) -> Option<String> {
        self.tls.as_ref().map(TlsIdentity::cert_pem)
    }

    /// With TLS, the server certificate as DER.
    #[must_use]
    pub fn tls_cert_der(&self) -> Option<&[u8]> {
        self.tls.as_ref().map(TlsIdentity::cert_der)
    }

    /// The test root's public key: clients verify the Noise certificate chain with it.
    #[must_use]
    pub fn root_public_key(&self) -> [u8; 32] {
        *self.trust_root.public_key()
    }

    /// The test root (key and serial) for `wa_noise::ClientConfig::with_trust_root`.
    #[must_use]
    pub fn trust_root(&self) -> TrustRoot {
        self.trust_root
    }

    /// The media server's base URL, `http://127.0.0.1:PORT` ([`crate::media`]); `<media_conn>`
    /// replies name its `host:port`, so clients must use plain `http` for it.
    #[must_use]
    pub fn media_url(&self) -> String {
        format!("http://{}", self.media.0)
    }

    /// The admin handle (the simulated phone's controls); cheap to clone.
    #[must_use]
    pub fn admin(&self) -> Admin {
        Admin {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Stops listening and drops every connection (without a stream error, as a crash would).
    /// Accounts and devices are kept; [`TestServer::restart`] listens again on the same address.
    pub async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            let _ = running.shutdown.send(true);
            let _ = running.task.await;
            // Connection tasks watch the same channel; give them a moment to close sockets.
            for _ in 0..50 {
                if lock(&self.shared.hub).is_empty() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }

    /// Listens again on the same address after [`TestServer::stop`] (no-op while running).
    pub async fn restart(&mut self) -> Result<()> {
        if self.running.is_some() {
            return Ok(());
        }
        self.bind().await
    }

    /// Stops the server for good.
    pub async fn shutdown(mut self) {
        self.stop().await;
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.media.1.abort();
        if let Some(running) = self.running.take() {
            let _ = running.shutdown.send(true);
            running.task.abort();
        }
    }
}

/// Controls of the simulated phone and the server: scan QR codes, unlink devices, inject
/// stream errors. Cheap to clone; usable from any task.
#[derive(Clone)]
pub struct Admin {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin").finish_non_exhaustive()
    }
}

impl Admin {
    /// Flips one bit of the stored media body at `direct_path` (so its MAC and hash no longer
    /// match); false if nothing is stored there.
    pub fn tamper_media(&self, direct_path: &str) -> bool {
        lock(&self.shared.state).media.tamper(direct_path)
    }

    /// Drops the stored media body at `direct_path` (downloads then get `404`, as for expired
    /// media); false if nothing was stored there.
    pub fn expire_media(&self, direct_path: &str) -> bool {
        lock(&self.shared.state).media.expire(direct_path)
    }

    /// Announces `hosts` in `<media_conn>` before the media server (clients that fetch
    /// `<media_conn>` afterwards try them first): for tests of host fallback.
    pub fn set_leading_media_hosts(&self, hosts: Vec<String>) {
        lock(&self.shared.state).media.set_leading_hosts(hosts);
    }

    /// How many `<media_conn>` queries the server answered (clients cache the answer).
    #[must_use]
    pub fn media_conn_count(&self) -> u64 {
        lock(&self.shared.state).media.issued()
    }

    /// A copy of the stored media body at `direct_path`, if any.
    #[must_use]
    pub fn media_blob(&self, direct_path: &str) -> Option<Vec<u8>> {
        lock(&self.shared.state)
            .media
            .blob(direct_path)
            .map(<[u8]>::to_vec)
    }

    /// The phone scans `qr` (as the companion shows it): the waiting connection gets
    /// `pair-success`; resolves with the new device's JID once the companion's
    /// `pair-device-sign` verified (the server then ends that stream with 515).
    pub async fn scan_qr(&self, qr: &str) -> Result<Jid> {
        self.scan_qr_as(0, qr).await
    }

    /// [`Admin::scan_qr`] by the phone of account `account`.
    pub(crate) async fn scan_qr_as(&self, account: AccountId, qr: &str) -> Result<Jid> {
        let qr = QrCode::parse(qr)?;
        let conn = lock(&self.shared.state)
            .pair_refs
            .get(&qr.reference)
            .copied()
            .ok_or(Error::UnknownPairRef)?;
        let (tx, rx) = oneshot::channel();
        if !self.shared.send_cmd(conn, ConnCmd::Scan(qr, account, tx)) {
            return Err(Error::UnknownPairRef);
        }
        match tokio::time::timeout(SCAN_TIMEOUT, rx).await {
            Ok(Ok(res)) => res,
            Ok(Err(_)) => Err(Error::PairFailed("connection closed".into())),
            Err(_) => Err(Error::PairFailed(
                "companion did not answer pair-success".into(),
            )),
        }
    }

    /// Pairing by phone-number code: the user types `code` (as the companion displayed it,
    /// `ABCD-EFGH` or `ABCDEFGH`) on the phone. It goes to the most recent connection that sent
    /// `link_code_companion_reg` stage `companion_hello`; resolves with the new device's JID once
    /// the companion finished (`companion_finish`, then `pair-device-sign`). A wrong code fails
    /// when the companion's key bundle does not decrypt.
    ///
    /// A companion may show its code before its request reaches the server, so this waits up
    /// to [`CODE_REQUEST_WAIT`] for one.
    pub async fn enter_pair_code(&self, code: &str) -> Result<Jid> {
        self.enter_pair_code_as(None, code).await
    }

    /// [`Admin::enter_pair_code`] on the phone of `account` (any account's request when
    /// `None`): only a companion that asked to pair with that account's number is answered.
    pub(crate) async fn enter_pair_code_as(
        &self,
        account: Option<AccountId>,
        code: &str,
    ) -> Result<Jid> {
        let deadline = tokio::time::Instant::now() + CODE_REQUEST_WAIT;
        let (conn, phone) = loop {
            {
                let state = lock(&self.shared.state);
                let waiting = state
                    .code_waiting
                    .iter()
                    .rev()
                    .find(|(_, a)| account.is_none_or(|want| want == *a))
                    .copied();
                if let Some((c, a)) = waiting
                    && let Some(acct) = state.acct(a)
                {
                    break (c, *acct.phone.identity().public());
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::UnknownPairRef);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let (tx, rx) = oneshot::channel();
        if !self
            .shared
            .send_cmd(conn, ConnCmd::PairCode(code.to_owned(), phone, tx))
        {
            return Err(Error::UnknownPairRef);
        }
        match tokio::time::timeout(SCAN_TIMEOUT, rx).await {
            Ok(Ok(res)) => res,
            Ok(Err(_)) => Err(Error::PairFailed("connection closed".into())),
            Err(_) => Err(Error::PairFailed(
                "companion did not finish code pairing".into(),
            )),
        }
    }

    /// Fault injection: while `true`, pings (`<iq xmlns='w:p'><ping/></iq>`) get no answer, so
    /// clients' keepalive times out; `false` restores answers.
    pub fn set_drop_pings(&self, drop: bool) {
        lock(&self.shared.state).faults.drop_pings = drop;
    }

    /// When on, 1:1 messages (to any account) without a `<tctoken>` (privacy token) are
    /// refused with an ack carrying `error='463'` and are not delivered; any token passes.
    /// See [`Admin::set_require_tctoken_for`] for one account with token checks.
    pub fn set_require_tctoken(&self, require: bool) {
        lock(&self.shared.state).faults.require_tctoken = require;
    }

    /// Fault injection: the next `pair-success` messages carry a wrong ADV HMAC
    /// (`bad_hmac`) and/or a wrong account signature under a valid HMAC (`bad_signature`).
    pub fn set_bad_pairing(&self, bad_hmac: bool, bad_signature: bool) {
        let mut state = lock(&self.shared.state);
        state.faults.bad_adv_hmac = bad_hmac;
        state.faults.bad_account_signature = bad_signature;
    }

    /// The default account's companion devices (phone-number JIDs).
    #[must_use]
    pub fn devices(&self) -> Vec<Jid> {
        self.devices_of_account(0)
    }

    pub(crate) fn devices_of_account(&self, account: AccountId) -> Vec<Jid> {
        let state = lock(&self.shared.state);
        state
            .acct(account)
            .map(|a| a.devices.keys().map(|d| a.account.pn_jid(*d)).collect())
            .unwrap_or_default()
    }

    /// Whether `jid`'s device (of any account, PN or LID form) has a logged-in connection.
    #[must_use]
    pub fn is_online(&self, jid: &Jid) -> bool {
        let state = lock(&self.shared.state);
        state
            .companion(jid)
            .is_some_and(|d| state.online.contains_key(&d))
    }

    /// The number of one-time prekeys the server holds for `jid`'s device.
    #[must_use]
    pub fn pre_key_count(&self, jid: &Jid) -> Option<usize> {
        let state = lock(&self.shared.state);
        let d = state.companion(jid)?;
        state.device(d).map(|d| d.pre_keys.len())
    }

    /// The stanzas (messages, receipts) routed to `jid`'s device while it was offline, oldest
    /// first; they are sent on its next login, before `<ib><offline count=N/>`. `None` for an
    /// unknown device.
    #[must_use]
    pub fn queued_stanzas(&self, jid: &Jid) -> Option<Vec<wa_binary::Node>> {
        let state = lock(&self.shared.state);
        let d = state.companion(jid)?;
        Some(
            state
                .acct(d.account)
                .and_then(|a| a.offline_queue.get(&d.device))
                .map(|q| {
                    q.iter()
                        .filter_map(|s| {
                            s.node()
                                .map_err(|e| tracing::error!("queued stanza does not decode: {e}"))
                                .ok()
                        })
                        .collect()
                })
                .unwrap_or_default(),
        )
    }

    /// The phone unlinks `jid`: the device is forgotten and, if connected, gets
    /// `<stream:error code='401'><conflict type='device_removed'/></stream:error>`; the other
    /// companions get a `<notification type='devices'><remove>` (queued if offline).
    pub fn remove_device(&self, jid: &Jid) -> Result<()> {
        let (conn, notify) = {
            let mut state = lock(&self.shared.state);
            let d = state
                .companion(jid)
                .ok_or_else(|| Error::UnknownDevice(jid.to_string()))?;
            let conn = state.remove_device(d);
            let notify = crate::engine::announce_device_change(
                &mut state,
                crate::engine::DeviceChange::Removed,
                d,
                crate::listener::now_ms(),
            );
            (conn, notify)
        };
        self.shared.persist();
        for (c, device, node) in notify {
            if let Some(node) = self.shared.deliver(c, device, node) {
                lock(&self.shared.state).queue_offline(device, node);
            }
        }
        if let Some(conn) = conn {
            self.shared
                .send_cmd(conn, ConnCmd::Kick(StreamError::DeviceRemoved));
        }
        Ok(())
    }

    /// Ends `jid`'s connection with `error` (e.g. [`StreamError::ServiceUnavailable`]).
    pub fn kick(&self, jid: &Jid, error: StreamError) -> Result<()> {
        let conn = {
            let state = lock(&self.shared.state);
            let d = state
                .companion(jid)
                .ok_or_else(|| Error::UnknownDevice(jid.to_string()))?;
            state.online.get(&d).copied()
        };
        let conn = conn.ok_or_else(|| Error::UnknownDevice(format!("{jid} is not connected")))?;
        self.shared.send_cmd(conn, ConnCmd::Kick(error));
        Ok(())
    }
}
