//! The sans-IO server engine: one [`Connection`] per client socket.
//!
//! A connection is fed the bytes its WebSocket received ([`Connection::handle_data`]), admin
//! commands ([`Connection::handle_scan`], [`Connection::handle_kick`]) and the clock
//! ([`Connection::handle_timeout`]); it never touches a socket or the system clock. After each
//! input the caller drains [`Connection::poll_transmit`] (WebSocket binary messages to send),
//! [`Connection::poll_effect`] (things for other connections or the admin), and reads
//! [`Connection::poll_timeout`] and [`Connection::is_closing`].
//!
//! State shared between connections lives in [`ServerState`], passed in by `&mut`.

mod appstate;
mod blocklist;
mod call;
mod fanout;
mod group_route;
mod iq;
mod notify;
mod pair;
mod presence;
mod privacy;
mod profile;
mod route;
mod stanza;
mod status;
mod usync;

use std::collections::VecDeque;

use prost::Message as _;
use rand_core::CryptoRng;
#[cfg(test)]
use wa_binary::Content;
use wa_binary::{Jid, Node, Server};
use wa_noise::{
    ExpectClientFinish, ExpectClientHello, FrameDecoder, FrameEncoder, KeyPair, ServerConfig,
    Transport,
};
use wa_proto::proto::ClientPayload;

use crate::error::{Error, Result};
use crate::offline::QueuedStanza;
use crate::phone::QrCode;
use crate::state::{AccountId, ConnId, DeviceKey, ServerState};

pub(crate) use call::route as route_call;
pub use call::{CALL_LOG_CAP, CallLog, CallStanzaRecord};
pub use notify::{DeviceChange, LOW_PRE_KEY_COUNT, announce_device_change, device_notification};
pub use pair::PairingInfo;

/// How long after `success` the offline marker goes out if the client never sends its
/// `passive`/`active` IQ, in milliseconds.
pub const OFFLINE_MARKER_FALLBACK_MS: u64 = 5_000;

/// How many offline stanzas one [`Connection::pump_backlog`] call encrypts.
pub const BACKLOG_CHUNK: usize = 64;

/// A stream error the server can end a connection with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamError {
    /// `515`: the client must reconnect (sent after pairing).
    RestartRequired,
    /// `401` with `<conflict type='device_removed'/>`: the device was unlinked.
    DeviceRemoved,
    /// `440` with `<conflict type='replaced'/>`: the same device connected elsewhere.
    Replaced,
    /// `503`: service unavailable, the client should reconnect later.
    ServiceUnavailable,
}

impl StreamError {
    /// The numeric code on the wire.
    #[must_use]
    pub fn code(self) -> u16 {
        match self {
            Self::RestartRequired => 515,
            Self::DeviceRemoved => 401,
            Self::Replaced => 440,
            Self::ServiceUnavailable => 503,
        }
    }

    /// The `<stream:error>` stanza.
    #[must_use]
    pub fn node(self) -> Node {
        let b = Node::new("stream:error").attr("code", self.code().to_string());
        match self {
            Self::DeviceRemoved => b
                .child(Node::new("conflict").attr("type", "device_removed").build())
                .build(),
            Self::Replaced => b
                .child(Node::new("conflict").attr("type", "replaced").build())
                .build(),
            Self::RestartRequired | Self::ServiceUnavailable => b.build(),
        }
    }
}

/// Something a connection asks the surrounding server to do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Effect {
    /// End another connection with a stream error.
    Kick {
        /// The connection to end.
        conn: ConnId,
        /// The stream error to send it.
        error: StreamError,
    },
    /// A QR pairing completed: the new device's phone-number JID.
    Paired(Jid),
    /// A QR pairing started by the admin failed.
    PairFailed(String),
    /// A device logged in (its phone-number JID).
    LoggedIn(Jid),
    /// A routed stanza for `device` on connection `conn`: pass it to that connection's
    /// [`Connection::handle_deliver`].
    Deliver {
        /// The connection `device` was logged in on.
        conn: ConnId,
        /// The addressed device.
        device: DeviceKey,
        /// The rewritten stanza.
        node: Node,
    },
}

enum Phase {
    Hello(ExpectClientHello),
    Finish(Box<ExpectClientFinish>),
    Pairing(Box<pair::Pairing>),
    LoggedIn(LoggedIn),
    Closed,
}

#[derive(Debug)]
struct LoggedIn {
    device: DeviceKey,
    offline_sent: bool,
    offline_count: usize,
    /// Offline stanzas not yet sent, oldest first: they leave in chunks of
    /// [`BACKLOG_CHUNK`] so the client starts on the first ones while later ones are still
    /// being encrypted, and this connection keeps reading (acks, receipts) in between.
    backlog: VecDeque<QueuedStanza>,
    /// The offline marker was asked for while the backlog was not empty: it follows the
    /// backlog's last stanza.
    marker_after_backlog: bool,
    first_login: bool,
    phone_sync_sent: bool,
}

/// One client connection, from the Noise handshake to the end of the stream.
pub struct Connection {
    id: ConnId,
    phase: Phase,
    decoder: FrameDecoder,
    encoder: FrameEncoder,
    transport: Option<Transport>,
    transmit: VecDeque<Vec<u8>>,
    effects: VecDeque<Effect>,
    closing: bool,
    next_id: u64,
    offline_deadline: Option<u64>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let phase = match &self.phase {
            Phase::Hello(_) => "hello",
            Phase::Finish(_) => "finish",
            Phase::Pairing(_) => "pairing",
            Phase::LoggedIn(_) => "logged-in",
            Phase::Closed => "closed",
        };
        f.debug_struct("Connection")
            .field("id", &self.id)
            .field("phase", &phase)
            .field("closing", &self.closing)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A connection that will answer the client's hello with `noise` (static key and chain).
    #[must_use]
    pub fn new(id: ConnId, noise: ServerConfig) -> Self {
        Self {
            id,
            phase: Phase::Hello(ExpectClientHello::new(noise)),
            decoder: FrameDecoder::server(),
            encoder: FrameEncoder::server(),
            transport: None,
            transmit: VecDeque::new(),
            effects: VecDeque::new(),
            closing: false,
            next_id: 1,
            offline_deadline: None,
        }
    }

    /// This connection's id.
    #[must_use]
    pub fn id(&self) -> ConnId {
        self.id
    }

    /// The device logged in on this connection, if any.
    #[must_use]
    pub fn device(&self) -> Option<DeviceKey> {
        match &self.phase {
            Phase::LoggedIn(l) => Some(l.device),
            _ => None,
        }
    }

    /// Whether this connection is waiting for its QR to be scanned, and with which references.
    #[must_use]
    pub fn pairing_refs(&self) -> Option<&[String]> {
        match &self.phase {
            Phase::Pairing(p) => Some(p.refs()),
            _ => None,
        }
    }

    /// Bytes to send on the WebSocket (one binary message each).
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.pop_front()
    }

    /// The next effect for the surrounding server.
    pub fn poll_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    /// The next deadline (Unix milliseconds) at which [`Connection::handle_timeout`] must run.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<u64> {
        self.offline_deadline
    }

    /// Whether the socket should be closed once everything from `poll_transmit` is sent.
    #[must_use]
    pub fn is_closing(&self) -> bool {
        self.closing
    }

    /// Feeds bytes received from the client. `now_ms` is Unix time in milliseconds.
    ///
    /// An error means the client broke the protocol; the connection is then closing and the
    /// caller should flush and close the socket.
    pub fn handle_data<R: CryptoRng>(
        &mut self,
        data: &[u8],
        now_ms: u64,
        state: &mut ServerState,
        rng: &mut R,
    ) -> Result<()> {
        if self.closing {
            return Ok(());
        }
        self.decoder.push(data);
        let result = self.drain_frames(now_ms, state, rng);
        if result.is_err() {
            self.closing = true;
        }
        result
    }

    fn drain_frames<R: CryptoRng>(
        &mut self,
        now_ms: u64,
        state: &mut ServerState,
        rng: &mut R,
    ) -> Result<()> {
        while !self.closing {
            let Some(mut frame) = self.decoder.next_frame()? else {
                return Ok(());
            };
            match std::mem::replace(&mut self.phase, Phase::Closed) {
                Phase::Hello(hello) => {
                    let intro = self
                        .decoder
                        .intro()
                        .ok_or_else(|| Error::Protocol("frame before the intro".into()))?
                        .clone();
                    let (next, reply) =
                        hello.read_client_hello(&intro, &frame, KeyPair::generate(rng))?;
                    let mut out = Vec::new();
                    self.encoder.encode(&reply, &mut out)?;
                    self.transmit.push_back(out);
                    self.phase = Phase::Finish(Box::new(next));
                }
                Phase::Finish(finish) => {
                    let done = finish.read_client_finish(&frame)?;
                    self.transport = Some(done.transport);
                    let payload = ClientPayload::decode(done.payload.as_slice())?;
                    self.start_session(&payload, done.client_static, now_ms, state, rng)?;
                }
                phase => {
                    self.phase = phase;
                    let transport = self
                        .transport
                        .as_mut()
                        .ok_or_else(|| Error::Protocol("no transport".into()))?;
                    let plain = transport.decrypt_in_place(&mut frame)?;
                    let node = wa_binary::decode_frame(plain)?;
                    stanza::log_in(self.id, &node);
                    self.handle_node(node, now_ms, state, rng)?;
                }
            }
        }
        Ok(())
    }

    fn start_session<R: CryptoRng>(
        &mut self,
        payload: &ClientPayload,
        client_static: [u8; 32],
        now_ms: u64,
        state: &mut ServerState,
        rng: &mut R,
    ) -> Result<()> {
        if let Some(reg) = payload.device_pairing_data.as_ref()
            && payload.username.is_none()
        {
            let pairing = pair::Pairing::start(self.id, client_static, reg, state, rng)?;
            let node = pairing.pair_device_node(self.next_iq_id());
            self.phase = Phase::Pairing(Box::new(pairing));
            return self.send(&node);
        }
        let (Some(username), Some(device)) = (payload.username, payload.device) else {
            return Err(Error::Protocol(
                "client payload has neither pairing data nor username and device".into(),
            ));
        };
        let device_id = u16::try_from(device)
            .map_err(|_| Error::Protocol(format!("device id {device} out of range")))?;
        let known = state
            .account_by_phone(&username.to_string())
            .map(|account| DeviceKey::new(account, device_id))
            .filter(|k| {
                state
                    .device(*k)
                    .is_some_and(|d| d.noise_key == client_static)
            });
        let Some(device) = known else {
            tracing::info!(
                conn = self.id,
                username,
                device,
                "login refused: unknown device"
            );
            self.send(
                &Node::new("failure")
                    .attr("reason", "401")
                    .attr("location", "frc")
                    .build(),
            )?;
            self.closing = true;
            self.phase = Phase::Closed;
            return Ok(());
        };
        if let Some(old) = state.online.insert(device, self.id)
            && old != self.id
        {
            self.effects.push_back(Effect::Kick {
                conn: old,
                error: StreamError::Replaced,
            });
        }
        let first_login = match state.device_mut(device) {
            Some(d) => {
                d.logins += 1;
                let first = d.logins == 1;
                state.touch();
                first
            }
            None => false,
        };
        let Some(account) = state.acct(device.account).map(|a| &a.account) else {
            return Err(Error::Protocol("login for a vanished account".into()));
        };
        let success = Node::new("success")
            .attr("t", (now_ms / 1000).to_string())
            .attr("props", "1")
            .attr("abprops", "1")
            .attr("location", "frc")
            .attr("creation", account.created.to_string())
            .attr("lid", account.lid_jid(device.device))
            .build();
        tracing::info!(
            conn = self.id,
            account = device.account,
            device = device.device,
            first_login,
            "device logged in"
        );
        self.effects
            .push_back(Effect::LoggedIn(account.pn_jid(device.device)));
        self.phase = Phase::LoggedIn(LoggedIn {
            device,
            offline_sent: false,
            offline_count: 0,
            backlog: VecDeque::new(),
            marker_after_backlog: false,
            first_login,
            phone_sync_sent: false,
        });
        self.offline_deadline = Some(now_ms.saturating_add(OFFLINE_MARKER_FALLBACK_MS));
        self.send(&success)?;
        let queued = state.take_offline(device);
        if let Phase::LoggedIn(l) = &mut self.phase {
            l.offline_count = queued.len();
            l.backlog = queued;
        }
        self.pump_backlog()
    }

    /// True while offline stanzas wait to be sent: call [`Connection::pump_backlog`]
    /// again once the transmitted frames are written.
    #[must_use]
    pub fn has_backlog(&self) -> bool {
        matches!(&self.phase, Phase::LoggedIn(l) if !l.backlog.is_empty())
    }

    /// The offline backlog of a logged-in connection, while it is not empty.
    pub(crate) fn backlog_mut(&mut self) -> Option<&mut VecDeque<QueuedStanza>> {
        match &mut self.phase {
            Phase::LoggedIn(l) if !l.backlog.is_empty() => Some(&mut l.backlog),
            _ => None,
        }
    }

    /// Encrypts the next chunk of the offline backlog (and the offline marker after its last
    /// stanza, if it was asked for).
    pub fn pump_backlog(&mut self) -> Result<()> {
        for _ in 0..BACKLOG_CHUNK {
            let next = match &mut self.phase {
                Phase::LoggedIn(l) => l.backlog.pop_front(),
                _ => None,
            };
            let Some(stanza) = next else { break };
            self.send_queued(&stanza)?;
        }
        let marker_due = matches!(&self.phase, Phase::LoggedIn(l) if l.backlog.is_empty() && l.marker_after_backlog);
        if marker_due {
            self.send_offline_marker()?;
        }
        Ok(())
    }

    /// Runs timers due at `now_ms`.
    pub fn handle_timeout(&mut self, now_ms: u64) -> Result<()> {
        if self.offline_deadline.is_some_and(|d| d <= now_ms) {
            self.offline_deadline = None;
            self.send_offline_marker()?;
        }
        Ok(())
    }

    /// The default account's phone scanned `qr`, which names one of this connection's
    /// references.
    pub fn handle_scan<R: CryptoRng>(
        &mut self,
        qr: &QrCode,
        now_ms: u64,
        state: &mut ServerState,
        rng: &mut R,
    ) -> Result<()> {
        self.handle_scan_for(qr, 0, now_ms, state, rng)
    }

    /// The phone of `account` scanned `qr`: the companion becomes a device of that account.
    pub fn handle_scan_for<R: CryptoRng>(
        &mut self,
        qr: &QrCode,
        account: AccountId,
        now_ms: u64,
        state: &mut ServerState,
        rng: &mut R,
    ) -> Result<()> {
        let id = self.next_iq_id();
        let Phase::Pairing(pairing) = &mut self.phase else {
            return Err(Error::UnknownPairRef);
        };
        let node = pairing.scanned(qr, account, id, now_ms, state, rng)?;
        self.send(&node)
    }

    /// The user typed `code` on the phone for this connection's code pairing: sends the
    /// `primary_hello` notification. Pairing then completes (or fails) as effects.
    ///
    /// `phone_identity` is the phone's identity public key (`ServerState::phone`); this step
    /// runs PBKDF2 twice, so it takes no shared state and callers need not hold a lock.
    pub fn handle_pair_code<R: CryptoRng>(
        &mut self,
        code: &str,
        phone_identity: &[u8; 32],
        now_ms: u64,
        rng: &mut R,
    ) -> Result<()> {
        let id = self.next_iq_id();
        let Phase::Pairing(pairing) = &mut self.phase else {
            return Err(Error::UnknownPairRef);
        };
        let node = pairing.code_entered(code, id, now_ms, phone_identity, rng)?;
        self.send(&node)
    }

    /// Ends the connection with `error` (sent by the admin or because another login replaced it).
    pub fn handle_kick(&mut self, error: StreamError) -> Result<()> {
        if self.closing {
            return Ok(());
        }
        tracing::info!(conn = self.id, code = error.code(), "stream error");
        let result = self.send(&error.node());
        self.closing = true;
        self.phase = Phase::Closed;
        result
    }

    /// The socket is gone: forgets this connection in the shared state.
    pub fn handle_closed(&mut self, state: &mut ServerState) {
        if let Phase::Pairing(p) = &self.phase
            && p.awaiting_sign()
        {
            self.effects
                .push_back(Effect::PairFailed("client disconnected".into()));
        }
        if let Phase::LoggedIn(l) = &mut self.phase
            && !l.backlog.is_empty()
        {
            let backlog = core::mem::take(&mut l.backlog);
            state.requeue_offline_front(l.device, backlog.into_iter());
        }
        state.connection_closed(self.id);
        self.closing = true;
        self.phase = Phase::Closed;
    }

    fn next_iq_id(&mut self) -> String {
        let id = format!("ts-{}", self.next_id);
        self.next_id += 1;
        id
    }

    fn send(&mut self, node: &Node) -> Result<()> {
        stanza::log_out(self.id, node);
        wa_binary::check_encodable(node)?;
        // Encoded straight into the frame, not apart and then copied in.
        self.transmit_frame(|frame| wa_binary::marshal_into(node, frame))
    }

    /// Sends a stanza that was encoded when it was queued.
    fn send_queued(&mut self, stanza: &QueuedStanza) -> Result<()> {
        tracing::debug!(
            conn = self.id,
            bytes = stanza.encoded().len(),
            "send queued stanza"
        );
        self.transmit_frame(|frame| frame.extend_from_slice(stanza.encoded()))
    }

    /// Encrypts the stanza bytes `write` puts into a frame and queues the frame to go out.
    fn transmit_frame(&mut self, write: impl FnOnce(&mut Vec<u8>)) -> Result<()> {
        let transport = self
            .transport
            .as_mut()
            .ok_or_else(|| Error::Protocol("send before the handshake finished".into()))?;
        let mut out = Vec::new();
        transport.encrypt_frame_with(&mut out, write)?;
        self.transmit.push_back(out);
        Ok(())
    }

    fn send_offline_marker(&mut self) -> Result<()> {
        let Phase::LoggedIn(l) = &mut self.phase else {
            return Ok(());
        };
        if l.offline_sent {
            return Ok(());
        }
        if !l.backlog.is_empty() {
            l.marker_after_backlog = true;
            return Ok(());
        }
        l.offline_sent = true;
        let count = l.offline_count;
        self.offline_deadline = None;
        self.send(
            &Node::new("ib")
                .attr("from", Jid::new("", Server::User))
                .child(
                    Node::new("offline")
                        .attr("count", count.to_string())
                        .build(),
                )
                .build(),
        )
    }

    /// On a device's first login, the phone sends the app-state key share and the history-sync
    /// notification (once, after the offline marker). A failure is logged, not fatal: the
    /// companion then goes online without them.
    fn send_phone_sync<R: CryptoRng>(
        &mut self,
        device: DeviceKey,
        now_ms: u64,
        state: &mut ServerState,
        rng: &mut R,
    ) -> Result<()> {
        let Phase::LoggedIn(l) = &mut self.phase else {
            return Ok(());
        };
        if !l.first_login || l.phone_sync_sent {
            return Ok(());
        }
        l.phone_sync_sent = true;
        match crate::phone_sync::first_login_messages(state, device, now_ms, rng) {
            Ok(nodes) => {
                tracing::info!(
                    conn = self.id,
                    account = device.account,
                    device = device.device,
                    "phone sent app-state keys and history sync"
                );
                for n in &nodes {
                    self.send(n)?;
                }
                Ok(())
            }
            Err(e) => {
                tracing::warn!(
                    conn = self.id,
                    account = device.account,
                    device = device.device,
                    "phone could not message the device: {e}"
                );
                Ok(())
            }
        }
    }

    fn handle_node<R: CryptoRng>(
        &mut self,
        node: Node,
        now_ms: u64,
        state: &mut ServerState,
        rng: &mut R,
    ) -> Result<()> {
        match &mut self.phase {
            Phase::Pairing(_) => {
                let fresh_id = self.next_iq_id();
                let Phase::Pairing(pairing) = &mut self.phase else {
                    return Ok(());
                };
                match pairing.handle_node(&node, fresh_id, now_ms, state, rng)? {
                    pair::Outcome::Continue => {}
                    pair::Outcome::Reply(nodes) => {
                        for n in &nodes {
                            self.send(n)?;
                        }
                    }
                    pair::Outcome::Paired(jid) => {
                        let added = state.companion(&jid);
                        for (conn, device, node) in added
                            .map(|k| announce_device_change(state, DeviceChange::Added, k, now_ms))
                            .unwrap_or_default()
                        {
                            self.effects
                                .push_back(Effect::Deliver { conn, device, node });
                        }
                        self.effects.push_back(Effect::Paired(jid));
                        return self.handle_kick(StreamError::RestartRequired);
                    }
                    pair::Outcome::Failed(reason) => {
                        self.effects.push_back(Effect::PairFailed(reason));
                        self.closing = true;
                        self.phase = Phase::Closed;
                        return Ok(());
                    }
                    pair::Outcome::Unhandled => return self.handle_common(&node, now_ms, state),
                }
                Ok(())
            }
            Phase::LoggedIn(l) => {
                let device = l.device;
                self.handle_logged_in(&node, device, now_ms, state, rng)
            }
            Phase::Hello(_) | Phase::Finish(_) | Phase::Closed => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
