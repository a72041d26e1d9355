//! `wa login`, `wa logout` and `wa status`: a session kept in an SQLite store.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;
use wa_client::{Client, Config, DisconnectReason, Event, EventStream};
use wa_noise::TrustRoot;
use wa_store::{Container, SqliteContainer, Store};

/// Where and how to connect, and where the session lives.
#[derive(Debug, Clone, Args)]
pub struct ConnectArgs {
    /// The SQLite file holding the session.
    #[arg(long, default_value = "./wa.db")]
    pub store: PathBuf,
    /// The WebSocket URL of the server (a `wa-testserver` prints its own).
    #[arg(long)]
    pub server: Option<String>,
    /// A file with the server's Noise root public key as hex (`wa-testserver --root-key-out`).
    #[arg(long)]
    pub root_key: Option<PathBuf>,
    /// A PEM file with an extra CA certificate to trust for `wss://`.
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// Give up after this many seconds without reaching the logged-in state.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
    /// Reach the server through this HTTP proxy (`host:port`, tunnelled with CONNECT).
    #[arg(long, conflicts_with = "socks5")]
    pub http_proxy: Option<String>,
    /// Reach the server through this SOCKS5 proxy (`host:port`, no authentication).
    #[arg(long)]
    pub socks5: Option<String>,
    /// Reach media hosts over plain `http` and without the `mmg.whatsapp.net` fallback (a local
    /// `wa-testserver`, whose media port speaks plain HTTP).
    #[arg(long)]
    pub media_http: bool,
    /// The push name to announce (set by the commands that need one, such as `wa presence`).
    #[arg(skip)]
    pub push_name: Option<String>,
}

/// `wa login` options.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Connection and store options.
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Pair with a code typed on the phone instead of a QR code: the account's phone number
    /// with country code.
    #[arg(long)]
    pub phone: Option<String>,
}

/// Reads a root key file: 64 hex digits (whitespace ignored).
pub fn read_root_key(path: &Path) -> Result<TrustRoot> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading root key {}", path.display()))?;
    parse_root_key(&text).with_context(|| format!("root key file {}", path.display()))
}

/// Parses 64 hex digits into a trust root with serial 0.
pub fn parse_root_key(text: &str) -> Result<TrustRoot> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = hex::decode(&compact).context("root key is not hex")?;
    let key: [u8; 32] = bytes
        .try_into()
        .map_err(|b: Vec<u8>| anyhow::anyhow!("root key is {} bytes, expected 32", b.len()))?;
    Ok(TrustRoot::new(key, 0))
}

impl ConnectArgs {
    /// Options naming a store `path` and nothing else (for unit tests that never connect).
    #[cfg(test)]
    pub(crate) fn offline(path: &str) -> Self {
        Self {
            store: path.into(),
            server: None,
            root_key: None,
            ca: None,
            timeout: 1,
            http_proxy: None,
            socks5: None,
            media_http: false,
            push_name: None,
        }
    }

    fn config(&self) -> Result<Config> {
        let mut config = Config::default();
        if let Some(url) = &self.server {
            config.url.clone_from(url);
        }
        if let Some(path) = &self.root_key {
            config.trust_root = read_root_key(path)?;
        }
        if let Some(p) = &self.http_proxy {
            config.proxy = Some(wa_client::Proxy::HttpConnect(p.clone()));
        }
        if let Some(p) = &self.socks5 {
            config.proxy = Some(wa_client::Proxy::Socks5(p.clone()));
        }
        if self.media_http {
            config.media = wa_client::MediaOptions::test_server();
        }
        config.push_name.clone_from(&self.push_name);
        if let Some(path) = &self.ca {
            let pem = std::fs::read(path)
                .with_context(|| format!("reading CA file {}", path.display()))?;
            config.extra_ca_der = wa_client::runtime::load_pem_certificates(&pem)?;
        }
        Ok(config)
    }

    async fn container(&self) -> Result<SqliteContainer> {
        SqliteContainer::open(&self.store)
            .await
            .with_context(|| format!("opening store {}", self.store.display()))
    }
}

async fn next_event(events: &mut EventStream, deadline: tokio::time::Instant) -> Result<Event> {
    match tokio::time::timeout_at(deadline, events.recv()).await {
        Ok(Some(e)) => Ok(e),
        Ok(None) => bail!("the client stopped"),
        Err(_) => bail!("timed out"),
    }
}

/// Renders `code` as a QR code for a terminal.
pub fn render_qr(code: &str) -> Result<String> {
    let qr = QrCode::new(code.as_bytes()).context("encoding the QR code")?;
    Ok(qr
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .quiet_zone(true)
        .build())
}

/// Follows events until logged in; prints QR codes (or requests a pairing code for `phone`)
/// and pairing results. Returns the other events that arrived on the way (messages and
/// receipts the server delivered before the client reported the session active).
pub async fn until_connected(
    client: &Client,
    events: &mut EventStream,
    timeout: Duration,
    phone: Option<&str>,
) -> Result<Vec<Event>> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut code_requested = false;
    let mut early = Vec::new();
    loop {
        match next_event(events, deadline).await? {
            Event::Qr { .. } if code_requested => {}
            Event::Qr { .. } if phone.is_some() => {
                let phone = phone.unwrap_or_default();
                let code = client.pair_phone(phone).await?;
                code_requested = true;
                let (a, b) = code.split_at(4.min(code.len()));
                crate::say!("Pairing code: {a}-{b}");
                crate::say!(
                    "On the phone: Linked devices > Link with phone number instead, then type it."
                );
            }
            Event::Qr { code } => {
                crate::say!("{}", render_qr(&code)?);
                crate::say!("QR code: {code}");
                crate::say!("Scan it with WhatsApp on your phone (Linked devices).");
            }
            Event::PairSuccess { jid, .. } => crate::say!("paired as {jid}"),
            Event::Connected => return Ok(early),
            Event::PairError { error } => bail!("pairing refused: {error}"),
            Event::QrTimeout => bail!("no QR code was scanned in time"),
            Event::LoggedOut { reason, .. } => bail!(
                "the server says this device is logged out ({}); the session was cleared",
                reason.unwrap_or_default()
            ),
            Event::StreamReplaced => bail!("another connection of this device replaced this one"),
            Event::ConnectFailure { reason, message } => {
                bail!("login refused: {reason} {}", message.unwrap_or_default())
            }
            Event::Disconnected {
                reason,
                reconnecting: false,
            } => bail!("disconnected: {reason:?}"),
            Event::Disconnected {
                reason,
                reconnecting: true,
            } if reason != DisconnectReason::Restart => {
                eprintln!("wa: connection lost ({reason:?}); retrying");
            }
            other => early.push(other),
        }
    }
}

/// How long `wa login` waits for the phone's app-state keys after logging in.
const KEY_WAIT: Duration = Duration::from_secs(10);

/// `wa login`: pair if needed, log in, save the session, exit.
pub async fn login(login: &LoginArgs) -> Result<String> {
    let args = &login.connect;
    let config = args.config()?;
    let container = args.container().await?;
    let (client, mut events) = Client::start(config, container.clone(), None).await?;
    let res = until_connected(
        &client,
        &mut events,
        Duration::from_secs(args.timeout),
        login.phone.as_deref(),
    )
    .await;
    // The phone shares its app-state keys right after the first login; keep the session open
    // until they are stored (`wa mute`, `wa pin`, `wa archive` need them).
    let keyed = match &res {
        Ok(_) => crate::appstate::wait_for_key(&container, client.device_id(), KEY_WAIT).await,
        Err(_) => true,
    };
    client.disconnect().await;
    res?;
    let device = container
        .get(client.device_id())
        .await?
        .context("the device vanished from the store")?
        .device()
        .await?;
    let jid = device.jid.map(|j| j.to_string()).unwrap_or_default();
    Ok(format!(
        "logged in as {jid}; session saved to {}{}",
        args.store.display(),
        if keyed {
            ""
        } else {
            " (the phone has not shared app-state keys yet)"
        }
    ))
}

/// `wa logout`: log in, remove this companion device from the account, clear the session.
pub async fn logout(args: &ConnectArgs) -> Result<String> {
    let container = args.container().await?;
    let paired = container
        .list()
        .await?
        .into_iter()
        .find(|d| d.device.jid.is_some());
    let Some(stored) = paired else {
        bail!("no paired device in {}", args.store.display());
    };
    let (client, mut events) = Client::start(args.config()?, container, Some(stored.id)).await?;
    until_connected(
        &client,
        &mut events,
        Duration::from_secs(args.timeout),
        None,
    )
    .await?;
    client.logout().await?;
    Ok(format!(
        "logged out {}",
        stored.device.jid.map(|j| j.to_string()).unwrap_or_default()
    ))
}

/// A logged-in session opened by [`open_session`].
#[derive(Debug)]
pub struct Session {
    /// The client.
    pub client: Client,
    /// Its events from now on.
    pub events: EventStream,
    /// Our own JID (with device).
    pub own: wa_binary::Jid,
    /// Events that arrived before the session was reported active (offline messages, …).
    pub early: Vec<Event>,
}

/// Logs in with the session saved in `args.store` (which must be paired) and waits until the
/// session is active.
pub async fn open_session(args: &ConnectArgs) -> Result<Session> {
    let container = args.container().await?;
    let paired = container
        .list()
        .await?
        .into_iter()
        .find(|d| d.device.jid.is_some());
    let Some(stored) = paired else {
        bail!(
            "no paired device in {} (run `wa login` first)",
            args.store.display()
        );
    };
    let own = stored
        .device
        .jid
        .clone()
        .context("the stored device has no JID")?;
    let (client, mut events) = Client::start(args.config()?, container, Some(stored.id)).await?;
    match until_connected(
        &client,
        &mut events,
        Duration::from_secs(args.timeout),
        None,
    )
    .await
    {
        Ok(early) => Ok(Session {
            client,
            events,
            own,
            early,
        }),
        Err(e) => {
            client.disconnect().await;
            Err(e)
        }
    }
}

/// `wa status`: what the store holds (no network).
pub async fn status(args: &ConnectArgs) -> Result<String> {
    if !args.store.exists() {
        return Ok(format!(
            "no session ({} does not exist)",
            args.store.display()
        ));
    }
    let container = args.container().await?;
    let devices = container.list().await?;
    if devices.is_empty() {
        return Ok(format!("no session in {}", args.store.display()));
    }
    let mut out = Vec::new();
    for d in devices {
        let dev = &d.device;
        match &dev.jid {
            Some(jid) => out.push(format!(
                "device {}: paired as {jid}{}{}",
                d.id,
                dev.lid
                    .as_ref()
                    .map(|l| format!(" (lid {l})"))
                    .unwrap_or_default(),
                if dev.platform.is_empty() {
                    String::new()
                } else {
                    format!(", phone platform {}", dev.platform)
                }
            )),
            None => out.push(format!("device {}: not paired", d.id)),
        }
    }
    Ok(out.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_keys_parse_from_hex_files() {
        let key = parse_root_key(&format!("{}\n", "ab".repeat(32))).unwrap();
        assert_eq!(key.public_key(), &[0xab; 32]);
        assert!(parse_root_key("abcd").is_err());
        assert!(parse_root_key("zz").is_err());
    }

    #[test]
    fn qr_codes_render_as_blocks() {
        let s = render_qr("https://wa.me/settings/linked_devices#a,b,c,d,1").unwrap();
        assert!(s.lines().count() > 10);
        assert!(s.contains('█') || s.contains('▀') || s.contains('▄'));
    }
}
