//! What a client needs to know before it connects: where, whom to trust, who it claims to be,
//! and its timers.

use core::time::Duration;

use wa_noise::TrustRoot;
use wa_proto::proto::device_props::PlatformType;

/// WhatsApp Web's chat socket.
pub const DEFAULT_URL: &str = "wss://web.whatsapp.com/ws/chat";
/// The `Origin` header WhatsApp Web sends.
pub const DEFAULT_ORIGIN: &str = "https://web.whatsapp.com";
/// The WhatsApp Web version announced by default (as Baileys 7.0.0-rc14 does).
pub const DEFAULT_VERSION: [u32; 3] = [2, 3000, 1_043_857_760];

/// A proxy to reach the server through.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Proxy {
    /// An HTTP proxy, tunnelled with `CONNECT host:port`; `host:port` of the proxy.
    HttpConnect(String),
    /// A SOCKS5 proxy without authentication; `host:port` of the proxy.
    Socks5(String),
}

/// Who this companion device says it is (the `DeviceProps` and user agent of the payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceProps {
    /// Operating system name shown on the phone's linked-devices list.
    pub os: String,
    /// Browser / platform type.
    pub platform_type: PlatformType,
    /// Ask the phone for a full history sync.
    pub require_full_sync: bool,
}

impl Default for DeviceProps {
    fn default() -> Self {
        Self {
            os: "whatsmeow-rs".to_owned(),
            platform_type: PlatformType::Chrome,
            require_full_sync: false,
        }
    }
}

impl DeviceProps {
    /// The companion platform id put in QR codes and pairing-code requests (WhatsApp's
    /// `CompanionWebClientType`: Chrome 1, Edge 2, Firefox 3, IE 4, Opera 5, Safari 6,
    /// desktop app 7, other 9).
    #[must_use]
    pub fn companion_platform_id(&self) -> u8 {
        match self.platform_type {
            PlatformType::Chrome => 1,
            PlatformType::Edge => 2,
            PlatformType::Firefox => 3,
            PlatformType::Ie => 4,
            PlatformType::Opera => 5,
            PlatformType::Safari => 6,
            PlatformType::Desktop => 7,
            _ => 9,
        }
    }
}

/// Keepalive timing (whatsmeow's `keepalive.go` defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepAlive {
    /// Shortest wait between pings.
    pub interval_min: Duration,
    /// Longest wait between pings (the wait is drawn uniformly in between).
    pub interval_max: Duration,
    /// How long a ping may stay unanswered before a [`crate::Event::KeepAliveTimeout`].
    pub response_deadline: Duration,
    /// After failing this long without a single answer the connection is dropped and reconnected.
    pub max_fail_time: Duration,
}

impl Default for KeepAlive {
    fn default() -> Self {
        Self {
            interval_min: Duration::from_secs(20),
            interval_max: Duration::from_secs(30),
            response_deadline: Duration::from_secs(10),
            max_fail_time: Duration::from_secs(180),
        }
    }
}

/// Reconnect backoff: `min(base * 2^attempt, cap)`, with up to `jitter` of it added at random.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The first delay.
    pub base: Duration,
    /// The largest delay.
    pub cap: Duration,
    /// Fraction (0..=1) of the delay added as random jitter.
    pub jitter: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(120),
            jitter: 0.25,
        }
    }
}

impl Backoff {
    /// The delay before reconnect attempt `attempt` (0-based), given a uniform `random` in `[0, 1)`.
    #[must_use]
    pub fn delay(&self, attempt: u32, random: f64) -> Duration {
        let factor = 2u32.saturating_pow(attempt.min(30));
        let raw = self.base.saturating_mul(factor).min(self.cap);
        let jitter = raw.mul_f64(self.jitter.clamp(0.0, 1.0) * random.clamp(0.0, 1.0));
        raw.saturating_add(jitter).min(self.cap)
    }
}

/// Everything the engine and runtime need besides the store.
#[derive(Debug, Clone)]
pub struct Config {
    /// The WebSocket URL (`ws://` or `wss://`).
    pub url: String,
    /// The `Origin` header.
    pub origin: String,
    /// The root that must sign the server's Noise certificate chain.
    pub trust_root: TrustRoot,
    /// Extra trusted CA certificates (DER) for `wss://`, e.g. a test server's self-signed one.
    pub extra_ca_der: Vec<Vec<u8>>,
    /// A proxy, if any.
    pub proxy: Option<Proxy>,
    /// The WhatsApp Web version announced.
    pub version: [u32; 3],
    /// Device properties sent at registration.
    pub device_props: DeviceProps,
    /// Push name to announce, if any.
    pub push_name: Option<String>,
    /// Keepalive timing.
    pub keepalive: KeepAlive,
    /// Reconnect backoff.
    pub backoff: Backoff,
    /// Default IQ timeout.
    pub iq_timeout: Duration,
    /// How long connecting (socket + Noise + login reply) may take.
    pub connect_timeout: Duration,
    /// Reconnect automatically after a lost connection.
    pub auto_reconnect: bool,
    /// Edge-routing info to send before the first frame (`ED 0 1` preamble). The server hands
    /// it out in `<ib><edge_routing>`; the runtime keeps the latest one for reconnects.
    pub routing_info: Option<Vec<u8>>,
    /// Media transfers ([`crate::media`]): plain `http` for test servers, fallback host,
    /// limits.
    pub media: crate::media::MediaOptions,
    /// Threads a big run of incoming 1:1 messages may be decrypted on, one Signal session per
    /// thread (the receiving thread included; at most 4). `None` picks by core count: the
    /// receiving thread alone below 4 cores (on 2 cores the extra thread competed with the rest
    /// of the process and slowed bursts), else one fewer than the cores. `Some(1)` turns
    /// parallel decryption off.
    pub decrypt_threads: Option<usize>,
    /// Where the socket is read and written, and what the server sends is decrypted and
    /// decoded: `Some(true)` on the process's socket thread (one OS thread, started on first
    /// use and shared by every client placed there), `Some(false)` as a task on the
    /// application's runtime. `None` takes the socket thread when the runtime has a single
    /// thread and the machine more than one core (a burst of messages is then received on
    /// two cores), else a task.
    pub socket_thread: Option<bool>,
    /// History sync: automatic processing and the inflated size cap ([`crate::history`]).
    pub history: crate::history::HistoryOptions,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            url: DEFAULT_URL.to_owned(),
            origin: DEFAULT_ORIGIN.to_owned(),
            trust_root: TrustRoot::WHATSAPP,
            extra_ca_der: Vec::new(),
            proxy: None,
            version: DEFAULT_VERSION,
            device_props: DeviceProps::default(),
            push_name: None,
            keepalive: KeepAlive::default(),
            backoff: Backoff::default(),
            iq_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(20),
            auto_reconnect: true,
            routing_info: None,
            media: crate::media::MediaOptions::default(),
            decrypt_threads: None,
            socket_thread: None,
            history: crate::history::HistoryOptions::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let b = Backoff {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(10),
            jitter: 0.5,
        };
        assert_eq!(b.delay(0, 0.0), Duration::from_secs(1));
        assert_eq!(b.delay(1, 0.0), Duration::from_secs(2));
        assert_eq!(b.delay(3, 0.0), Duration::from_secs(8));
        assert_eq!(b.delay(4, 0.0), Duration::from_secs(10));
        assert_eq!(b.delay(1000, 0.99), Duration::from_secs(10));
        assert_eq!(b.delay(1, 1.0), Duration::from_secs(3));
    }

    #[test]
    fn platform_ids_follow_companion_web_client_type() {
        let mut p = DeviceProps::default();
        assert_eq!(p.companion_platform_id(), 1);
        p.platform_type = PlatformType::Desktop;
        assert_eq!(p.companion_platform_id(), 7);
        p.platform_type = PlatformType::IosPhone;
        assert_eq!(p.companion_platform_id(), 9);
    }
}
