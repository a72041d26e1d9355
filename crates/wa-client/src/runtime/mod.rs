//! The tokio shell around the [`Engine`]: one driver task per client owns the socket, the
//! engine and the store handle; [`Client`] sends it commands, [`EventStream`] receives events.

mod appstate;
mod blocklist;
mod calls;
mod groups;
pub(crate) mod history;
mod io;
mod presence;
mod privacy;
mod profile;
mod receipts;
mod send;
pub mod socket;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tracing::{debug, info, warn};
use wa_binary::Node;
use wa_store::{Changes, Container, Device, DeviceId, Store};

use crate::config::Config;
use crate::engine::{Engine, Incoming, IqToken, StoreOp};
use crate::error::{Error, IqError, Result};
use crate::event::{DisconnectReason, Event};

enum Command {
    SendIq {
        node: Node,
        timeout: Option<Duration>,
        reply: oneshot::Sender<Result<Node, IqError>>,
    },
    Logout(oneshot::Sender<Result<()>>),
    PairPhone(String, oneshot::Sender<Result<String>>),
    /// Send a prebuilt stanza as it is (receipts, …).
    SendNode(Node, oneshot::Sender<Result<()>>),
    /// Send a prebuilt `<message>` and answer with the server's ack.
    SendMessage {
        node: Node,
        timeout: Duration,
        reply: oneshot::Sender<
            core::result::Result<crate::engine::MessageAck, crate::error::MessageError>,
        >,
    },
    Disconnect,
}

/// A handle to a running client. Cheap to clone; the driver task stops when it disconnects,
/// logs out, is refused for good, or every `Client` handle is dropped.
#[derive(Debug, Clone)]
pub struct Client {
    commands: mpsc::UnboundedSender<Command>,
    device_id: DeviceId,
    /// Send-side state shared by every handle (store, send lock, device cache).
    pub(crate) send: std::sync::Arc<crate::send::SendState>,
}

/// The events of one client, in order.
#[derive(Debug)]
pub struct EventStream {
    /// Events arrive in batches (all of one receive pass at once), so a burst of messages
    /// wakes the application once per batch rather than once per message.
    rx: mpsc::UnboundedReceiver<Vec<Event>>,
    ready: std::collections::VecDeque<Event>,
}

impl EventStream {
    /// The next event; `None` once the client has stopped and every event was delivered.
    pub async fn recv(&mut self) -> Option<Event> {
        core::future::poll_fn(|cx| self.poll_event(cx)).await
    }

    fn poll_event(&mut self, cx: &mut core::task::Context<'_>) -> core::task::Poll<Option<Event>> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return core::task::Poll::Ready(Some(event));
            }
            match self.rx.poll_recv(cx) {
                core::task::Poll::Ready(Some(batch)) => self.ready.extend(batch),
                core::task::Poll::Ready(None) => return core::task::Poll::Ready(None),
                core::task::Poll::Pending => return core::task::Poll::Pending,
            }
        }
    }
}

impl futures_util::Stream for EventStream {
    type Item = Event;

    fn poll_next(
        mut self: core::pin::Pin<&mut Self>,
        cx: &mut core::task::Context<'_>,
    ) -> core::task::Poll<Option<Event>> {
        self.poll_event(cx)
    }
}

/// The driver's end of the [`EventStream`].
#[derive(Debug)]
struct EventSender {
    tx: mpsc::UnboundedSender<Vec<Event>>,
    /// Something was sent since [`EventSender::take_sent`] last asked.
    sent: bool,
}

impl EventSender {
    /// Sends one event; false if the application dropped its stream.
    fn send(&mut self, event: Event) -> bool {
        self.sent = true;
        self.tx.send(vec![event]).is_ok()
    }

    /// Sends `events` as one batch; false if the application dropped its stream.
    fn send_all(&mut self, events: Vec<Event>) -> bool {
        if events.is_empty() {
            return true;
        }
        self.sent = true;
        self.tx.send(events).is_ok()
    }

    /// Whether anything was sent since the last call.
    fn take_sent(&mut self) -> bool {
        core::mem::take(&mut self.sent)
    }
}

fn os_seed() -> Result<[u8; 32]> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| Error::Config(format!("OS randomness: {e}")))?;
    Ok(seed)
}

#[allow(clippy::disallowed_methods)] // the runtime is one of the IO places that read the clock
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Client {
    /// Picks the device `device_id` from `container` (or the first stored one, or a new
    /// unpaired one when the container is empty) and starts the driver task, which connects
    /// at once. Pairing shows up as [`Event::Qr`] events.
    pub async fn start<C: Container + 'static>(
        config: Config,
        container: C,
        device_id: Option<DeviceId>,
    ) -> Result<(Self, EventStream)> {
        let store = match device_id {
            Some(id) => container
                .get(id)
                .await?
                .ok_or(Error::Store(wa_store::StoreError::NoDevice(id.0)))?,
            None => match container.list().await?.first() {
                Some(d) => container
                    .get(d.id)
                    .await?
                    .ok_or(Error::Store(wa_store::StoreError::NoDevice(d.id.0)))?,
                None => {
                    let mut rng = ChaCha20Rng::from_seed(os_seed()?);
                    container.create(Device::generate(&mut rng)).await?
                }
            },
        };
        let (ctx, crx) = mpsc::unbounded_channel();
        let (etx, erx) = mpsc::unbounded_channel();
        let device_id = store.id();
        let send = std::sync::Arc::new(crate::send::SendState::new(std::sync::Arc::new(
            store.clone(),
        )));
        send.app_state.set_events(etx.downgrade());
        send.media.configure(&config);
        if let Some(name) = config.push_name.clone().filter(|n| !n.is_empty()) {
            let _ = send.configured_push_name.set(name);
        }
        let recv = crate::recv::Receiver::new(config.decrypt_threads);
        let driver = Driver {
            handle: (ctx.downgrade(), device_id, send.clone()),
            config,
            container,
            store,
            commands: crx,
            events: EventSender {
                tx: etx,
                sent: false,
            },
            rng: ChaCha20Rng::from_seed(os_seed()?),
            recv,
            history_replay: Vec::new(),
            history_receipts: Vec::new(),
        };
        tokio::spawn(driver.run());
        Ok((
            Self {
                commands: ctx,
                device_id,
                send,
            },
            EventStream {
                rx: erx,
                ready: std::collections::VecDeque::new(),
            },
        ))
    }

    /// The store id of this client's device.
    #[must_use]
    pub fn device_id(&self) -> DeviceId {
        self.device_id
    }

    /// Sends an IQ (`id` and, if absent, `to` are filled in) and waits for its reply, at most
    /// `timeout` (default: the config's). Dropping the future cancels the wait.
    pub async fn send_iq(&self, node: Node, timeout: Option<Duration>) -> Result<Node> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::SendIq {
                node,
                timeout,
                reply,
            })
            .map_err(|_| Error::Stopped)?;
        Ok(rx.await.map_err(|_| Error::Stopped)??)
    }

    /// Removes this companion device from the account, clears its credentials and stops.
    pub async fn logout(&self) -> Result<()> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::Logout(reply))
            .map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)?
    }

    /// Starts pairing by phone-number code and returns the 8-character code to type on the
    /// phone (whatsmeow's `PairPhone`). Call it after the first [`Event::Qr`]; the pairing then
    /// ends in [`Event::PairSuccess`] (and a login) or [`Event::PairError`].
    pub async fn pair_phone(&self, phone: &str) -> Result<String> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::PairPhone(phone.to_owned(), reply))
            .map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)?
    }

    /// Closes the connection and stops the driver (no reconnect). Returns once the driver has
    /// stopped: what was sent before (a receipt, a call reject) has been written and the
    /// socket closed, so a program may exit right after. While a connection is being opened
    /// that can take up to [`Config::connect_timeout`].
    pub async fn disconnect(&self) {
        if self.commands.send(Command::Disconnect).is_ok() {
            self.commands.closed().await;
        }
    }
}

struct Driver<C: Container> {
    config: Config,
    container: C,
    store: C::Store,
    commands: mpsc::UnboundedReceiver<Command>,
    events: EventSender,
    rng: ChaCha20Rng,
    /// The receive pipeline's state (retry counts, recent ids), kept across connections.
    recv: crate::recv::Receiver,
    /// What it takes to act as a [`Client`] (answering retry receipts) without keeping the
    /// command channel open: a weak sender, the device id and the send state.
    handle: send::WeakHandle,
    /// History notifications replayed from the event buffer, processed once connected.
    history_replay: Vec<history::PendingHistory>,
    /// `hist_sync` receipts of replayed chunks, sent once connected.
    history_receipts: Vec<String>,
}

/// How one connection ended.
struct Outcome {
    reason: DisconnectReason,
    /// Whether the session reached [`Event::Connected`] (resets the backoff).
    reached_connected: bool,
}

impl<C: Container> Driver<C> {
    async fn run(mut self) {
        self.replay_buffered().await;
        let mut attempt: u32 = 0;
        loop {
            let outcome = match self.connection().await {
                Ok(o) => o,
                Err(e) => {
                    warn!(error = %e, "connection attempt failed");
                    if matches!(e, Error::Store(_)) {
                        let _ = self.events.send(Event::Disconnected {
                            reason: DisconnectReason::ConnectionLost {
                                detail: e.to_string(),
                            },
                            reconnecting: false,
                        });
                        return;
                    }
                    Outcome {
                        reason: DisconnectReason::ConnectionLost {
                            detail: e.to_string(),
                        },
                        reached_connected: false,
                    }
                }
            };
            if outcome.reached_connected {
                attempt = 0;
            }
            let reason = outcome.reason;
            let restart = reason == DisconnectReason::Restart;
            let reconnect = reason.should_reconnect() && (self.config.auto_reconnect || restart);
            let _ = self.events.send(Event::Disconnected {
                reason: reason.clone(),
                reconnecting: reconnect,
            });
            if !reconnect {
                info!(?reason, "client stopped");
                return;
            }
            let delay = if restart {
                Duration::ZERO
            } else {
                let random = f64::from(self.rng.next_u32()) / f64::from(u32::MAX);
                let d = self.config.backoff.delay(attempt, random);
                attempt = attempt.saturating_add(1);
                d
            };
            debug!(?delay, attempt, "reconnecting");
            if !self.wait(delay).await {
                let _ = self.events.send(Event::Disconnected {
                    reason: DisconnectReason::Requested,
                    reconnecting: false,
                });
                return;
            }
        }
    }

    /// Sleeps `delay` while answering commands; returns false when asked to stop.
    async fn wait(&mut self, delay: Duration) -> bool {
        let until = Instant::now() + delay;
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(until) => return true,
                cmd = self.commands.recv() => match cmd {
                    None | Some(Command::Disconnect) => return false,
                    Some(Command::SendIq { reply, .. }) => {
                        let _ = reply.send(Err(IqError::Disconnected));
                    }
                    Some(Command::Logout(reply)) => {
                        let _ = reply.send(Err(Error::NotConnected));
                    }
                    Some(Command::PairPhone(_, reply)) => {
                        let _ = reply.send(Err(Error::NotConnected));
                    }
                    Some(Command::SendNode(_, reply)) => {
                        let _ = reply.send(Err(Error::NotConnected));
                    }
                    Some(Command::SendMessage { reply, .. }) => {
                        let _ = reply.send(Err(crate::error::MessageError::NotConnected));
                    }
                },
            }
        }
    }

    async fn connection(&mut self) -> Result<Outcome> {
        let device = self.store.device().await?;
        let counts = self.store.pre_key_counts().await?;
        let mut socket = io::SocketStage::start(&self.config)?;
        // The stage gives up after the connect timeout; this one is a second guard.
        let guard = self.config.connect_timeout + Duration::from_secs(1);
        match tokio::time::timeout(guard, socket.recv()).await {
            Ok(io::Inbound::Open) => {}
            Ok(io::Inbound::ConnectFailed(e)) => return Err(e),
            Ok(other) => return Err(Error::Connect(format!("socket stage: {other:?}"))),
            Err(_) => return Err(Error::Connect("timed out".into())),
        }
        let mut seed = [0u8; 32];
        self.rng.fill_bytes(&mut seed);
        let mut engine = Engine::new(
            self.config.clone(),
            device,
            counts,
            Instant::now().into_std(),
            unix_now(),
            seed,
        )?;
        let mut pending: HashMap<IqToken, oneshot::Sender<Result<Node, IqError>>> = HashMap::new();
        let mut logout_reply: Option<oneshot::Sender<Result<()>>> = None;
        let mut sends = send::PendingSends::default();
        let mut reached_connected = false;
        // A failed write does not end the connection at once: what the server sent before
        // closing (a stream error, say) is still read, for a moment.
        let mut write_failed: Option<(String, Instant)> = None;
        // The run of messages and receipts being gathered (emptied each time it is handled).
        let mut run = crate::recv::Run::default();
        loop {
            // Once the handshake is done the socket stage decrypts and decodes what it reads,
            // and encodes and encrypts what it writes. The reader goes over before the
            // handshake's last message is written, so the first frame the server sends after
            // it is already the stage's to decode.
            if let Some(reader) = engine.take_reader() {
                // Messages are parsed on the stage too, for the account as it is now.
                let own = engine
                    .device()
                    .jid
                    .clone()
                    .map(|pn| Arc::new((pn, engine.device().lid.clone())));
                socket.hand_over_reader(reader, own);
            }
            if let Some(writer) = engine.take_writer() {
                socket.hand_over_writer(writer);
            }
            // Persist first, then send, then tell the application.
            while let Some(op) = engine.poll_store() {
                self.apply(op).await?;
            }
            flush(&mut engine, &mut socket, &write_failed);
            while let Some(event) = engine.poll_event() {
                reached_connected |= event == Event::Connected;
                if event == Event::Connected {
                    self.app_state_on_connected();
                    self.history_on_connected(&mut engine);
                }
                let _ = self.events.send(event);
            }
            while let Some((token, res)) = engine.poll_iq_result() {
                if let Some(tx) = pending.remove(&token) {
                    let _ = tx.send(res);
                }
            }
            sends.deliver(&mut engine);
            // Messages, receipts and notifications in wire order. A run of messages and
            // receipts is handled together: one store commit before any of their events,
            // receipts or acks leave, and one socket flush.
            while let Some(item) = engine.poll_incoming() {
                match item {
                    Incoming::Prepared(message) => run.push_prepared(message),
                    Incoming::Stanza(node)
                        if matches!(node.tag.as_str(), "message" | "receipt") =>
                    {
                        run.push(node);
                    }
                    Incoming::Stanza(node) => {
                        self.receive_run(&mut engine, &mut socket, &mut run).await;
                        self.app_state_on_stanza(&node);
                        self.receive(&mut engine, &node).await;
                    }
                    Incoming::Event(event) => {
                        self.receive_run(&mut engine, &mut socket, &mut run).await;
                        let _ = self.events.send(*event);
                    }
                }
            }
            self.receive_run(&mut engine, &mut socket, &mut run).await;
            flush(&mut engine, &mut socket, &write_failed);
            if let Some(reason) = engine.closed() {
                let reason = reason.clone();
                if let Some(ri) = engine.routing_info() {
                    self.config.routing_info = Some(ri.to_vec());
                }
                socket.close().await;
                if let Some(tx) = logout_reply.take() {
                    let _ = tx.send(if reason == DisconnectReason::LoggedOut {
                        Ok(())
                    } else {
                        Err(Error::NotConnected)
                    });
                }
                return Ok(Outcome {
                    reason,
                    reached_connected,
                });
            }
            // A caller that dropped its `send_iq` future cancelled the request.
            pending.retain(|token, tx| {
                let waiting = !tx.is_closed();
                if !waiting {
                    engine.cancel_iq(*token);
                }
                waiting
            });
            sends.drop_abandoned(&mut engine);
            // The socket stage decodes ahead, so the next batch is often ready at once and
            // the channel alone would rarely make this task yield: let the application (on
            // a single-thread runtime, the same thread) take the events before the next run.
            if self.events.take_sent() {
                tokio::task::yield_now().await;
            }
            let mut deadline = engine.poll_timeout().map(Instant::from_std);
            if let Some((_, at)) = &write_failed {
                let give_up = *at + WRITE_FAILURE_GRACE;
                deadline = Some(deadline.map_or(give_up, |d| d.min(give_up)));
            }
            tokio::select! {
                report = socket.recv() => {
                    let mut pass = on_socket_report(&mut engine, report, &mut write_failed);
                    // Batches that already arrived join this pass (a burst of offline
                    // messages becomes one run), up to a bound that keeps timers, commands
                    // and the application served.
                    while let Some(stanzas) = pass.filter(|n| *n < PASS_STANZAS) {
                        let Some(report) = socket.try_recv() else {
                            break;
                        };
                        pass = on_socket_report(&mut engine, report, &mut write_failed)
                            .map(|n| n + stanzas);
                    }
                }
                () = sleep_until_opt(deadline) => {
                    let now = Instant::now();
                    if let Some((e, at)) = &write_failed
                        && *at + WRITE_FAILURE_GRACE <= now
                    {
                        engine.handle_connection_lost(e.clone());
                    }
                    engine.handle_timeout(now.into_std());
                }
                cmd = self.commands.recv() => match cmd {
                    Some(Command::SendIq { node, timeout, reply }) => {
                        let token = engine.send_iq(Instant::now().into_std(), node, timeout);
                        pending.insert(token, reply);
                    }
                    Some(Command::Logout(reply)) => match engine.logout(Instant::now().into_std()) {
                        Ok(()) => logout_reply = Some(reply),
                        Err(e) => { let _ = reply.send(Err(e)); }
                    },
                    Some(Command::PairPhone(phone, reply)) => {
                        let _ = reply.send(engine.pair_phone(Instant::now().into_std(), &phone));
                    }
                    Some(Command::SendNode(node, reply)) => {
                        let _ = reply.send(if engine.is_logged_in() && engine.closed().is_none() {
                            engine.send_stanza(&node);
                            Ok(())
                        } else {
                            Err(Error::NotConnected)
                        });
                    }
                    Some(Command::SendMessage { node, timeout, reply }) => {
                        sends.start(&mut engine, &node, timeout, reply);
                    }
                    Some(Command::Disconnect) | None => engine.disconnect(),
                },
            }
        }
    }

    /// Runs a run of messages and receipts through the receive pipeline as one batch (one
    /// store commit), then delivers each stanza's output in order and marks the delivered
    /// plaintexts handled in one commit. A store failure leaves the whole run unacknowledged,
    /// so the server delivers it again. Empties `run`.
    async fn receive_run(
        &mut self,
        engine: &mut Engine,
        socket: &mut io::SocketStage,
        run: &mut crate::recv::Run,
    ) {
        if run.is_empty() {
            return;
        }
        // Decryption advances Signal sessions: not while a send is encrypting.
        let send = self.handle.2.clone();
        let _sessions = send.lock.lock().await;
        let stanzas = run.len();
        let (res, spent) = self
            .recv
            .handle_run(&self.store, engine.device(), run, unix_now(), &mut self.rng)
            .await;
        tracing::trace!(stanzas, "receive run handled");
        socket.free(spent);
        let outs = match res {
            Ok(outs) => outs,
            Err(e) => {
                warn!(error = %e, stanzas, "incoming stanzas not processed");
                return;
            }
        };
        let mut events = Vec::new();
        let mut handled = Vec::new();
        for out in outs {
            self.deliver(engine, out, &mut events, &mut handled).await;
        }
        if self.events.send_all(events) && !handled.is_empty() {
            self.mark_handled(&handled).await;
        }
    }

    /// Applies one stanza's output: its receipts and ack go out, its events are added to
    /// `events` (for the application) and its buffered plaintexts to `handled` (to mark once
    /// `events` were delivered).
    async fn deliver(
        &mut self,
        engine: &mut Engine,
        mut out: crate::recv::Output,
        events: &mut Vec<Event>,
        handled: &mut Vec<[u8; 32]>,
    ) {
        if let Some(id) = out.pre_key_generated {
            engine.note_pre_key_generated(id);
        }
        if let Some(n) = &out.group_notification {
            self.handle.2.groups.apply(n);
        }
        self.app_state_on_events(&out.events).await;
        self.history_on_output(engine, &mut out.events, &mut out.handled)
            .await;
        events.extend(out.events);
        for stanza in core::mem::take(&mut out.send) {
            engine.send_stanza_owned(stanza);
        }
        for receipt in &out.retry_receipts {
            self.spawn_retry(receipt);
        }
        for user in &out.devices_changed {
            self.handle.2.invalidate_user(user).await;
        }
        handled.extend(out.handled);
    }

    /// Runs one stanza through the receive pipeline: events to the application, then the
    /// receipts and ack, then the buffered plaintexts are marked handled. A store failure
    /// leaves the stanza unacknowledged, so the server delivers it again.
    async fn receive(&mut self, engine: &mut Engine, node: &Node) {
        // Decryption advances Signal sessions: not while a send is encrypting.
        let send = self.handle.2.clone();
        let _sessions = send.lock.lock().await;
        let res = self
            .recv
            .handle(
                &self.store,
                engine.device(),
                node,
                unix_now(),
                &mut self.rng,
            )
            .await;
        let out = match res {
            Ok(out) => out,
            Err(e) => {
                warn!(error = %e, tag = node.tag.as_str(), "incoming stanza not processed");
                return;
            }
        };
        let mut events = Vec::new();
        let mut handled = Vec::new();
        self.deliver(engine, out, &mut events, &mut handled).await;
        if self.events.send_all(events) && !handled.is_empty() {
            self.mark_handled(&handled).await;
        }
    }

    /// Marks buffered events handled (their plaintext is dropped, the hash stays).
    async fn mark_handled(&self, hashes: &[[u8; 32]]) {
        let mut c = Changes::new();
        for hash in hashes {
            c.clear_buffered_event(*hash);
        }
        if let Err(e) = self.store.commit(c).await {
            warn!(error = %e, "could not mark buffered events handled");
        }
    }

    /// Delivers the messages decrypted before the last stop but never handled.
    async fn replay_buffered(&mut self) {
        let Ok(device) = self.store.device().await else {
            return;
        };
        match crate::recv::pending_events(&self.store, &device).await {
            Ok(pending) => {
                for (event, hash) in pending {
                    let history = self.history_on_replay(&event, hash).await;
                    let mut batch = vec![Event::Message(Box::new(event))];
                    let mark = match history {
                        history::HistoryReplay::NotHistory => true,
                        history::HistoryReplay::Done(extra) => {
                            batch.extend(extra);
                            true
                        }
                        history::HistoryReplay::Pending => false,
                    };
                    if self.events.send_all(batch) && mark {
                        self.mark_handled(&[hash]).await;
                    }
                }
            }
            Err(e) => warn!(error = %e, "could not read the event buffer"),
        }
        if let Err(e) = crate::recv::prune_buffer(&self.store, unix_now()).await {
            warn!(error = %e, "could not prune the event buffer");
        }
    }

    async fn apply(&mut self, op: StoreOp) -> Result<()> {
        match op {
            StoreOp::SaveDevice(device) => {
                let mut c = wa_store::Changes::new();
                c.set_device(*device);
                self.store.commit(c).await?;
            }
            StoreOp::Commit(changes) => self.store.commit(*changes).await?,
            StoreOp::DeleteDevice => self.container.delete(self.store.id()).await?,
        }
        Ok(())
    }
}

/// Once a pass has this many stanzas it takes no more batches that already arrived.
const PASS_STANZAS: usize = 256;

/// Feeds one report of the socket stage to the engine. Returns how many stanzas it held, or
/// `None` once reading has ended.
fn on_socket_report(
    engine: &mut Engine,
    report: io::Inbound,
    write_failed: &mut Option<(String, Instant)>,
) -> Option<usize> {
    match report {
        io::Inbound::Frames(frames) => {
            for frame in &frames {
                let _ = engine.handle_data(Instant::now().into_std(), frame);
            }
            Some(frames.len())
        }
        io::Inbound::Stanzas(stanzas) => {
            let now = Instant::now().into_std();
            let n = stanzas.len();
            for stanza in stanzas {
                let _ = match stanza {
                    io::Decoded::Stanza(node) => engine.handle_stanza(now, node),
                    io::Decoded::Message(message) => {
                        engine.handle_prepared_message(message);
                        Ok(())
                    }
                };
            }
            Some(n)
        }
        io::Inbound::TransportFailed(e) => {
            engine.handle_transport_error(&e);
            None
        }
        io::Inbound::WriteFailed(e) => {
            *write_failed = Some((e, Instant::now()));
            Some(0)
        }
        io::Inbound::Closed(detail) => {
            engine.handle_connection_lost(write_failed.take().map_or(detail, |(e, _)| e));
            None
        }
        io::Inbound::Open | io::Inbound::ConnectFailed(_) => Some(0),
    }
}

/// How long the read side is still served after a write failed.
const WRITE_FAILURE_GRACE: Duration = Duration::from_millis(500);

/// Hands what the engine queued to the socket stage (written in order, flushed once). After a
/// failed write nothing more is sent; the connection ends once the read side is drained or
/// the grace period ends.
fn flush(
    engine: &mut Engine,
    socket: &mut io::SocketStage,
    write_failed: &Option<(String, Instant)>,
) {
    let mut frames = Vec::new();
    let mut stanzas = Vec::new();
    while let Some(bytes) = engine.poll_transmit() {
        frames.push(bytes);
    }
    while let Some(stanza) = engine.poll_stanza() {
        stanzas.push(stanza);
    }
    if write_failed.is_none() {
        socket.write(frames, stanzas);
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => core::future::pending().await,
    }
}

pub use socket::load_pem_certificates;
