//! The sans-IO client engine: bytes, time and commands in; bytes, events and store writes out.
//!
//! One [`Engine`] lives for one connection. The runtime (or a test) feeds it what the socket
//! delivered ([`Engine::handle_data`]) and the passing of time ([`Engine::handle_timeout`]),
//! calls commands ([`Engine::send_iq`], [`Engine::logout`], [`Engine::disconnect`]), and after
//! each call drains, in this order: [`Engine::poll_store`] (persist first), [`Engine::poll_transmit`]
//! (bytes for the socket), [`Engine::poll_event`], [`Engine::poll_iq_result`], and finally asks
//! [`Engine::poll_timeout`] when to call [`Engine::handle_timeout`] next. When
//! [`Engine::closed`] returns a reason the connection is over: flush, close the socket, and
//! decide (with [`DisconnectReason::should_reconnect`]) whether to start a new engine.
//!
//! Time comes in as `Instant`s and the wall clock (for certificate validity) as Unix seconds;
//! randomness comes from a seed. The engine never sleeps, spawns or touches a socket.

mod incoming;
mod iq;
mod outgoing;
mod reader;
mod session;

use std::collections::VecDeque;
use std::time::Instant;

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use tracing::{debug, trace, warn};
use wa_binary::{Jid, Node, Server, marshal};
use wa_noise::{
    ClientConfig as NoiseConfig, ExpectServerHello, FrameDecoder, FrameEncoder, SendCipher,
    client_hello,
};
use wa_proto::prost::Message;
use wa_store::{Changes, Device, PreKeyCounts};

pub use incoming::Incoming;
pub use iq::IqToken;
use iq::{IqKind, IqTable, reply_result};
pub use outgoing::{MessageAck, PRIVACY_TOKEN_REQUIRED, SendToken};
pub use reader::{StanzaReader, StanzaWriter};

/// Runs the message-ack parser on `node` (for [`crate::fuzzing`]).
pub(crate) fn fuzz_ack(node: &Node) {
    let _ = outgoing::parse_ack(node, "3EB0");
}

use crate::config::Config;
use crate::error::{Error, IqError, Result};
use crate::event::{DisconnectReason, Event};
use crate::payload;

/// A write the runtime must apply to the store before sending what follows.
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreOp {
    /// Save the device record (after pairing, or when the server changed our LID).
    SaveDevice(Box<Device>),
    /// Commit a batch (prekeys generated or marked uploaded).
    Commit(Box<Changes>),
    /// The device is logged out: delete it and everything stored for it.
    DeleteDevice,
}

enum Phase {
    /// Waiting for the server hello.
    Handshake(Option<Box<ExpectServerHello>>),
    /// Transport up; waiting for `<success>` or for pairing stanzas.
    Connected,
    /// Logged in (`<success>` received).
    LoggedIn,
}

struct Qr {
    refs: VecDeque<String>,
    next_at: Instant,
    started: bool,
}

struct KeepAliveState {
    next_ping: Option<Instant>,
    last_success: Instant,
    error_count: u32,
}

/// The client state machine for one connection. See the [module docs](self).
pub struct Engine {
    config: Config,
    device: Device,
    prekeys: PreKeyCounts,
    /// A prekey upload answering a low-prekey notification is in flight.
    prekey_refill_pending: bool,
    unix_now: u64,
    phase: Phase,
    /// Splits the handshake frames; moves into [`StanzaReader`] once the handshake is done.
    decoder: FrameDecoder,
    encoder: FrameEncoder,
    /// The sending cipher after the handshake, until [`Engine::take_writer`] takes it.
    send: Option<SendCipher>,
    /// [`Engine::take_writer`] was called: stanzas leave through [`Engine::poll_stanza`].
    writer_taken: bool,
    /// Stanzas for the taken [`StanzaWriter`], in order.
    stanzas_out: VecDeque<Node>,
    /// The receiving half after the handshake, until [`Engine::take_reader`] takes it.
    reader: Option<StanzaReader>,
    /// [`Engine::take_reader`] was called: stanzas come through [`Engine::handle_stanza`].
    reader_taken: bool,
    rng: ChaCha20Rng,
    iqs: IqTable,
    next_token: u64,
    transmits: VecDeque<Vec<u8>>,
    events: VecDeque<Event>,
    incoming: VecDeque<Incoming>,
    store_ops: VecDeque<StoreOp>,
    iq_results: VecDeque<(IqToken, Result<Node, IqError>)>,
    outgoing: outgoing::OutgoingTable,
    send_results: VecDeque<(
        SendToken,
        core::result::Result<MessageAck, crate::error::MessageError>,
    )>,
    qr: Option<Qr>,
    phone_pairing: Option<crate::pair_code::PhonePairing>,
    keepalive: KeepAliveState,
    login_deadline: Option<Instant>,
    routing_info: Option<Vec<u8>>,
    closed: Option<DisconnectReason>,
}

impl core::fmt::Debug for Engine {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Engine")
            .field("jid", &self.device.jid)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

/// The server's JID (`s.whatsapp.net`).
pub(crate) fn server_jid() -> Jid {
    Jid::new("", Server::User)
}

impl Engine {
    /// Starts a connection for `device` (paired or not) whose store holds `prekeys`; the client
    /// hello is queued for [`Engine::poll_transmit`]. `unix_now` is the wall clock (seconds) used
    /// to check the server certificate; `seed` feeds every random choice of this connection.
    pub fn new(
        config: Config,
        device: Device,
        prekeys: PreKeyCounts,
        now: Instant,
        unix_now: u64,
        seed: [u8; 32],
    ) -> Result<Self> {
        let mut rng = ChaCha20Rng::from_seed(seed);
        let noise_static =
            wa_noise::KeyPair::from_private_bytes(*device.noise_key.private.as_bytes());
        let mut noise = NoiseConfig::new(noise_static).with_trust_root(config.trust_root);
        if let Some(ri) = &config.routing_info {
            noise = noise.with_intro(wa_noise::Intro::default().with_routing_info(ri.clone())?);
        }
        let mut encoder = FrameEncoder::client(noise.intro.clone());
        let (hs, hello) = client_hello(noise, wa_noise::KeyPair::generate(&mut rng))?;
        let mut first = Vec::new();
        encoder.encode(&hello, &mut first)?;
        let prefix = format!("{}.{}-", rng.next_u32() % 1000, rng.next_u32() % 1000);
        let login_deadline = Some(now + config.connect_timeout);
        let mut engine = Self {
            config,
            device,
            prekeys,
            prekey_refill_pending: false,
            unix_now,
            phase: Phase::Handshake(Some(Box::new(hs))),
            decoder: FrameDecoder::client(),
            encoder,
            send: None,
            writer_taken: false,
            stanzas_out: VecDeque::new(),
            reader: None,
            reader_taken: false,
            rng,
            iqs: IqTable::new(prefix),
            next_token: 0,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            incoming: VecDeque::new(),
            store_ops: VecDeque::new(),
            iq_results: VecDeque::new(),
            outgoing: outgoing::OutgoingTable::default(),
            send_results: VecDeque::new(),
            qr: None,
            phone_pairing: None,
            keepalive: KeepAliveState {
                next_ping: None,
                last_success: now,
                error_count: 0,
            },
            login_deadline,
            routing_info: None,
            closed: None,
        };
        engine.transmits.push_back(first);
        Ok(engine)
    }

    // ---- getters ----

    /// The device as this connection knows it (updated by pairing and `<success>`).
    #[must_use]
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Whether `<success>` was received.
    #[must_use]
    pub fn is_logged_in(&self) -> bool {
        matches!(self.phase, Phase::LoggedIn)
    }

    /// The edge-routing info the server sent on this connection, if any: pass it as
    /// [`Config::routing_info`] to the next connection.
    #[must_use]
    pub fn routing_info(&self) -> Option<&[u8]> {
        self.routing_info.as_deref()
    }

    /// Why the connection ended, once it has.
    #[must_use]
    pub fn closed(&self) -> Option<&DisconnectReason> {
        self.closed.as_ref()
    }

    // ---- inputs ----

    /// Feeds bytes the socket delivered (cut anywhere). A protocol error closes the connection
    /// with [`DisconnectReason::ProtocolError`] and is also returned.
    pub fn handle_data(&mut self, now: Instant, data: &[u8]) -> Result<()> {
        if self.closed.is_some() {
            return Ok(());
        }
        match &mut self.reader {
            Some(reader) => reader.push(data),
            None if self.reader_taken => {
                let e = Error::Protocol("bytes after the stanza reader was taken".into());
                self.close_on_protocol_error(&e);
                return Err(e);
            }
            None => self.decoder.push(data),
        }
        let res = self.process_frames(now);
        if let Err(e) = &res {
            self.close_on_protocol_error(e);
        }
        res
    }

    fn close_on_protocol_error(&mut self, e: &Error) {
        warn!(error = %e, "dropping connection after a protocol error");
        self.close(DisconnectReason::ProtocolError {
            detail: e.to_string(),
        });
    }

    /// The socket closed or failed; ends the connection.
    pub fn handle_connection_lost(&mut self, detail: impl Into<String>) {
        if self.closed.is_none() {
            self.close(DisconnectReason::ConnectionLost {
                detail: detail.into(),
            });
        }
    }

    /// Handles every deadline at or before `now` (IQ timeouts, QR rotation, keepalive).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed.is_some() {
            return;
        }
        if self.login_deadline.is_some_and(|d| d <= now) {
            self.close(DisconnectReason::ConnectionLost {
                detail: "no login reply before the connect timeout".to_owned(),
            });
            return;
        }
        for kind in self.iqs.expire(now) {
            self.on_iq_reply(now, kind, Err(IqError::Timeout));
            if self.closed.is_some() {
                return;
            }
        }
        self.expire_sends(now);
        self.rotate_qr(now);
        if self.closed.is_none() {
            self.keepalive_tick(now);
        }
    }

    // ---- commands ----

    /// Sends an IQ (its `id` is set here; `to` defaults to the server) and returns the token
    /// its result will carry in [`Engine::poll_iq_result`]. `timeout` defaults to the config's.
    pub fn send_iq(
        &mut self,
        now: Instant,
        node: Node,
        timeout: Option<core::time::Duration>,
    ) -> IqToken {
        self.next_token = self.next_token.wrapping_add(1);
        let token = IqToken(self.next_token);
        if self.closed.is_some() || !self.transport_ready() {
            self.iq_results
                .push_back((token, Err(IqError::Disconnected)));
            return token;
        }
        let timeout = timeout.unwrap_or(self.config.iq_timeout);
        self.send_iq_kind(now, node, IqKind::User(token), timeout);
        token
    }

    /// Stops waiting for an IQ; a late reply is dropped. Returns whether it was pending.
    pub fn cancel_iq(&mut self, token: IqToken) -> bool {
        self.iqs.cancel(token)
    }

    /// Tells the server to remove this companion device; the engine then emits
    /// [`Event::LoggedOut`], asks for the device to be deleted and closes.
    pub fn logout(&mut self, now: Instant) -> Result<()> {
        let jid = self.device.jid.clone().ok_or(Error::NotPaired)?;
        if !self.is_logged_in() {
            return Err(Error::NotConnected);
        }
        let node = Node::new("iq")
            .attr("xmlns", "md")
            .attr("type", "set")
            .child(
                Node::new("remove-companion-device")
                    .attr("jid", jid)
                    .attr("reason", "user_initiated")
                    .build(),
            )
            .build();
        let timeout = self.config.keepalive.response_deadline;
        self.send_iq_kind(now, node, IqKind::Logout, timeout);
        Ok(())
    }

    /// Starts pairing by phone-number code for `phone` (digits with country code) and returns
    /// the 8-character code the user must type on the phone. Call it once the server has sent
    /// the first QR code (the connection is up and unpaired); QR codes stop.
    pub fn pair_phone(&mut self, now: Instant, phone: &str) -> Result<String> {
        if self.device.jid.is_some() {
            return Err(Error::Protocol("the device is already paired".into()));
        }
        if !self.transport_ready() || self.closed.is_some() {
            return Err(Error::NotConnected);
        }
        let display = format!(
            "{} ({})",
            self.config.device_props.platform_type.as_str_name(),
            self.config.device_props.os
        );
        let (pairing, node) = crate::pair_code::companion_hello(
            phone,
            &self.device,
            self.config.device_props.companion_platform_id(),
            &display,
            &mut self.rng,
        )?;
        let code = pairing.code.clone();
        self.phone_pairing = Some(pairing);
        self.qr = None;
        let timeout = self.config.iq_timeout;
        self.send_iq_kind(now, node, IqKind::PairCode, timeout);
        Ok(code)
    }

    /// Ends the connection at the application's request.
    pub fn disconnect(&mut self) {
        if self.closed.is_none() {
            self.close(DisconnectReason::Requested);
        }
    }

    // ---- outputs ----

    /// The next store write to apply (before sending anything queued after it).
    pub fn poll_store(&mut self) -> Option<StoreOp> {
        self.store_ops.pop_front()
    }

    /// The next bytes to write to the socket (one WebSocket binary message each).
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmits.pop_front()
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The next finished application IQ.
    pub fn poll_iq_result(&mut self) -> Option<(IqToken, Result<Node, IqError>)> {
        self.iq_results.pop_front()
    }

    /// When [`Engine::handle_timeout`] must be called next, if ever.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed.is_some() {
            return None;
        }
        [
            self.login_deadline,
            self.iqs.next_deadline(),
            self.outgoing.next_deadline(),
            self.qr.as_ref().map(|q| q.next_at),
            self.keepalive.next_ping,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ---- internals ----

    fn process_frames(&mut self, now: Instant) -> Result<()> {
        while self.closed.is_none() {
            if let Phase::Handshake(state) = &mut self.phase {
                let Some(frame) = self.decoder.next_frame()? else {
                    return Ok(());
                };
                let hs = state
                    .take()
                    .ok_or_else(|| Error::Protocol("handshake state lost".into()))?;
                let finish_state = hs.read_server_hello(&frame, self.unix_now)?;
                let client_payload =
                    payload::for_device(&self.config, &self.device)?.encode_to_vec();
                let (finish, transport) = finish_state.finish(&client_payload)?;
                let mut out = Vec::new();
                self.encoder.encode(&finish, &mut out)?;
                self.transmits.push_back(out);
                let (send, recv) = transport.split();
                self.send = Some(send);
                // Bytes already buffered after the server hello stay with the reader.
                let decoder = core::mem::replace(&mut self.decoder, FrameDecoder::client());
                self.reader = Some(StanzaReader::new(decoder, recv));
                self.phase = Phase::Connected;
                debug!(paired = self.device.jid.is_some(), "noise handshake done");
                continue;
            }
            let reader = self
                .reader
                .as_mut()
                .ok_or_else(|| Error::Protocol("no receive cipher".into()))?;
            let Some(node) = reader.next_stanza()? else {
                return Ok(());
            };
            self.process_stanza(now, node)?;
        }
        Ok(())
    }

    /// One decoded stanza: `<message>` and `<receipt>` go straight to the receive pipeline
    /// (without a copy), the rest is handled here.
    fn process_stanza(&mut self, now: Instant, node: Node) -> Result<()> {
        if matches!(node.tag.as_str(), "message" | "receipt") {
            self.incoming.push_back(Incoming::Stanza(node));
            Ok(())
        } else {
            self.handle_node(now, &node)
        }
    }

    /// Whether the handshake is done, so stanzas can be sent.
    pub(crate) fn transport_ready(&self) -> bool {
        self.send.is_some() || self.writer_taken
    }

    /// Queues a stanza the caller no longer needs: for the taken writer as it is, else
    /// encrypted here.
    pub(crate) fn send_node_owned(&mut self, node: Node) {
        if self.writer_taken {
            trace!(xml = %node.to_xml(), "-> stanza");
            self.stanzas_out.push_back(node);
        } else {
            self.send_node(&node);
        }
    }

    /// Encrypts and queues a stanza (or queues a copy for the taken writer).
    pub(crate) fn send_node(&mut self, node: &Node) {
        if self.writer_taken {
            self.send_node_owned(node.clone());
            return;
        }
        trace!(xml = %node.to_xml(), "-> stanza");
        let Some(send) = self.send.as_mut() else {
            warn!("stanza dropped: transport not ready");
            return;
        };
        let mut out = Vec::new();
        match send.encrypt_frame(&marshal(node), &mut out) {
            Ok(()) => self.transmits.push_back(out),
            Err(e) => self.close(DisconnectReason::ProtocolError {
                detail: e.to_string(),
            }),
        }
    }

    fn send_iq_kind(
        &mut self,
        now: Instant,
        node: Node,
        kind: IqKind,
        timeout: core::time::Duration,
    ) {
        let id = self.iqs.next_id();
        let mut node = node;
        node.attrs.insert("id", id.as_str());
        if node.attr("to").is_none() {
            node.attrs.insert("to", server_jid());
        }
        self.iqs.insert(id, kind, now + timeout);
        self.send_node(&node);
    }

    pub(crate) fn close(&mut self, reason: DisconnectReason) {
        debug!(?reason, "connection closing");
        for kind in self.iqs.drain() {
            if let IqKind::User(token) = kind {
                self.iq_results
                    .push_back((token, Err(IqError::Disconnected)));
            }
        }
        self.drain_sends();
        self.qr = None;
        self.keepalive.next_ping = None;
        self.login_deadline = None;
        self.closed = Some(reason);
    }

    fn handle_node(&mut self, now: Instant, node: &Node) -> Result<()> {
        match node.tag.as_str() {
            "iq" => self.handle_iq(now, node),
            "success" => {
                self.handle_success(now, node);
                Ok(())
            }
            "failure" => {
                self.handle_failure(node);
                Ok(())
            }
            "stream:error" => {
                self.handle_stream_error(node);
                Ok(())
            }
            "xmlstreamend" => {
                self.close(DisconnectReason::ConnectionLost {
                    detail: "stream ended by server".into(),
                });
                Ok(())
            }
            "ib" => {
                if let Some(ri) = node
                    .child_path(&["edge_routing", "routing_info"])
                    .and_then(Node::bytes)
                {
                    self.routing_info = Some(ri.to_vec());
                }
                if let Some(off) = node.child("offline") {
                    let count = off.attr_reader().optional_u64("count").unwrap_or(0);
                    self.event_after_incoming(Event::OfflineSyncCompleted { count });
                }
                Ok(())
            }
            "ack" => {
                self.handle_ack(node);
                Ok(())
            }
            "message" | "receipt" => {
                self.queue_incoming(node);
                Ok(())
            }
            "presence" => {
                match crate::presence::parse_presence(node) {
                    Ok(p) => self.event_after_incoming(Event::Presence(p)),
                    Err(e) => debug!(error = %e, "presence ignored"),
                }
                Ok(())
            }
            "chatstate" => {
                match crate::presence::parse_chat_state(node) {
                    Ok(c) => self.event_after_incoming(Event::ChatPresence(c)),
                    Err(e) => debug!(error = %e, "chat state ignored"),
                }
                Ok(())
            }
            "call" => {
                self.handle_call(node);
                Ok(())
            }
            "notification" => {
                self.ack(node);
                if Self::pipeline_notification(node) {
                    self.queue_incoming(node);
                }
                match node.attr("type").and_then(|t| t.as_str()) {
                    Some("link_code_companion_reg") => self.handle_link_code(now, node),
                    Some("encrypt") => self.handle_pre_key_low(now, node),
                    Some("account_sync") => self.handle_account_sync(node),
                    Some("picture" | "status") => {
                        for event in crate::profile::notification_events(node) {
                            self.event_after_incoming(event);
                        }
                    }
                    _ => {}
                }
                Ok(())
            }
            other => {
                debug!(tag = other, "stanza not handled at this layer");
                Ok(())
            }
        }
    }

    /// `<notification type="account_sync">`: blocklist, privacy and own-picture changes made on
    /// another device of the account become events; other children are logged and skipped.
    fn handle_account_sync(&mut self, node: &Node) {
        for child in node.children() {
            let event = match child.tag.as_str() {
                "blocklist" => {
                    crate::blocklist::parse_blocklist_change(child).map(Event::Blocklist)
                }
                "privacy" => crate::privacy::parse_settings(child).map(Event::PrivacySettings),
                "picture" => match &self.device.jid {
                    Some(own) => Ok(Event::Picture(crate::profile::own_picture_changed(
                        own, node,
                    ))),
                    None => continue,
                },
                other => {
                    debug!(tag = other, "account_sync item not handled");
                    continue;
                }
            };
            match event {
                Ok(event) => self.event_after_incoming(event),
                Err(e) => debug!(error = %e, "account_sync item ignored"),
            }
        }
    }

    /// `<call>`: acked whatever it holds (as whatsmeow does), then reported as
    /// [`Event::Call`]; a malformed one is logged and dropped.
    fn handle_call(&mut self, node: &Node) {
        if let Some(ack) = crate::call::ack_node(node) {
            self.send_node(&ack);
        }
        match crate::call::parse_call(node) {
            Ok(call) => self.event_after_incoming(Event::Call(Box::new(call))),
            Err(e) => warn!(error = %e, "malformed call stanza ignored"),
        }
    }

    /// Acknowledges a stanza (`<ack class=tag id to=from [type] [participant]>`).
    fn ack(&mut self, node: &Node) {
        let (Some(id), Some(from)) = (node.attr("id"), node.attr("from")) else {
            return;
        };
        let ack = Node::new("ack")
            .attr("class", node.tag.as_str())
            .attr("id", id.clone())
            .attr("to", from.clone())
            .attr_opt("type", node.attr("type").cloned())
            .attr_opt("participant", node.attr("participant").cloned())
            .build();
        self.send_node(&ack);
    }

    fn handle_iq(&mut self, now: Instant, node: &Node) -> Result<()> {
        let ty = node.attr("type").and_then(|t| t.as_str()).unwrap_or("");
        let id = node
            .attr("id")
            .and_then(|t| t.as_str())
            .unwrap_or("")
            .to_owned();
        if ty == "result" || ty == "error" {
            match self.iqs.take(&id) {
                Some(kind) => self.on_iq_reply(now, kind, reply_result(node)),
                None => debug!(id, "reply to an IQ we are not waiting for"),
            }
            return Ok(());
        }
        if node.child("pair-device").is_some() {
            return self.handle_pair_device(now, node, &id);
        }
        if node.child("pair-success").is_some() {
            self.handle_pair_success(node, &id);
            return Ok(());
        }
        if ty == "get" && node.attr("xmlns").and_then(|x| x.as_str()) == Some("urn:xmpp:ping") {
            let pong = Node::new("iq")
                .attr("to", server_jid())
                .attr("id", id)
                .attr("type", "result")
                .build();
            self.send_node(&pong);
            return Ok(());
        }
        debug!(xml = %node.to_xml(), "unhandled server IQ");
        Ok(())
    }

    fn random_between(
        &mut self,
        min: core::time::Duration,
        max: core::time::Duration,
    ) -> core::time::Duration {
        let span = max.saturating_sub(min).as_millis();
        let span = u64::try_from(span).unwrap_or(u64::MAX);
        let add = if span == 0 {
            0
        } else {
            self.rng.next_u64() % span
        };
        min + core::time::Duration::from_millis(add)
    }
}
