//! The receive pipeline: incoming `<message>`, `<receipt>` and `<notification>` stanzas the
//! engine hands over ([`Engine::poll_incoming`](crate::Engine::poll_incoming)), processed
//! sequentially with store access, so the order within a chat is the order on the wire.
//! The runtime hands over runs of messages and receipts that arrived together as one batch
//! (`Receiver::handle_batch`): every store write of the run is one commit, made before
//! any event, receipt or ack of the run leaves. With enough cores, a big run's 1:1 payloads
//! are decrypted ahead of that loop, one partition per Signal session on its own thread
//! (`parallel`), which keeps each chat's order.
//!
//! For a `<message>` (whatsmeow `message.go`): parse the stanza ([`MessageInfo::parse`]);
//! drop a duplicate (same chat, sender and id already delivered, or a ciphertext the event
//! buffer already holds as handled) with an `<ack>` only; otherwise decrypt each `<enc>`
//! (`pkmsg`/`msg`; `skmsg` goes to the group hook) with wa-signal through a
//! [`wa_store::Transaction`], unpad, decode the `Message` protobuf, unwrap
//! `DeviceSentMessage` for copies from our own devices, and commit in the SAME transaction
//! the advanced session, the consumed prekey, the PN↔LID mapping the stanza revealed and the
//! decrypted message in the store's event buffer. Then the runtime delivers
//! [`Event::Message`], sends the delivery `<receipt>` and the `<ack>`, and marks the buffered
//! event handled. A ciphertext already in the buffer with its plaintext (decrypted before a
//! crash, never handled) is delivered from the buffer instead of being decrypted with a spent
//! key, and `pending_events` re-emits such events on startup.
//!
//! A message that does not decrypt becomes [`Event::UndecryptableMessage`] and is answered
//! with a retry receipt ([`retry_receipt`], at most [`MAX_RETRIES`] per id; keys included from
//! the second one on) and the ack.
//!
//! A `<receipt>` becomes [`Event::Receipt`] and is acked; retry receipts are also handed to
//! the send pipeline (it re-encrypts from its outgoing cache). Notifications: device-list
//! changes are reported for the device cache, identity changes reset the contact's sessions,
//! privacy tokens are stored.

mod buffer;
mod dedup;
pub mod group;
mod notification;
mod parallel;
mod receipt;
mod retry;
mod run;
mod serde_helpers;
#[cfg(test)]
mod tests;

use rand_core::CryptoRng;
use tracing::{debug, warn};
use wa_binary::{Jid, Node, Server};
use wa_proto::prost::Message as _;
use wa_signal::SignalError;
use wa_signal::store::{IncomingMessage, ProtocolAddress, SessionStore as _};
use wa_store::hashing::{DigestMap, DigestSet};
use wa_store::{BufferedEvent, Changes, Device, Store, Transaction};

use dedup::{KeySet, MessageKey, RecentIds, key_of};
use run::{Parsed, RunItem};

pub use crate::message::content::serde_message;
pub use receipt::{outgoing_receipt, parse_receipt};
pub use retry::{MAX_RETRIES, retry_receipt};
pub use run::PreparedMessage;
pub(crate) use run::{Run, Spent};
pub use serde_helpers::{serde_jid, serde_jid_list, serde_opt_jid};

/// Runs the notification handler on `node` (for [`crate::fuzzing`]).
pub(crate) fn fuzz_notification(node: &wa_binary::Node) {
    let _ = notification::handle(node);
}

use crate::error::{Error, MessageError, Result};
use crate::event::{Event, MessageEvent, ReceiptKind};
use crate::group::GroupError;
use crate::message::{EncPayload, EncType, MessageInfo, ack_for, delivery_receipt, dsm, unpad};

/// What handling one incoming stanza produced; the runtime applies it in this order.
#[derive(Debug, Default)]
pub(crate) struct Output {
    /// Events for the application, in order.
    pub(crate) events: Vec<Event>,
    /// Buffered events to mark handled once `events` reached the application.
    pub(crate) handled: Vec<[u8; 32]>,
    /// Stanzas to send (receipts, then the ack).
    pub(crate) send: Vec<Node>,
    /// Retry receipts we received, for the send pipeline.
    pub(crate) retry_receipts: Vec<Node>,
    /// Users (without device) whose device list changed, for the send pipeline's cache.
    pub(crate) devices_changed: Vec<Jid>,
    /// A one-time prekey generated for a retry receipt: its id (the engine must not reuse it).
    pub(crate) pre_key_generated: Option<u32>,
    /// A `w:gp2` notification, for the group metadata cache.
    pub(crate) group_notification: Option<wa_groups::GroupNotification>,
}

/// The state of the receive pipeline that outlives one connection.
#[derive(Debug)]
pub(crate) struct Receiver {
    retries: retry::RetryCounter,
    recent: RecentIds,
    /// Threads a big run's 1:1 payloads may be decrypted on ([`parallel`]); 1 turns that off.
    decrypt_threads: usize,
}

impl Default for Receiver {
    fn default() -> Self {
        Self {
            retries: retry::RetryCounter::default(),
            recent: RecentIds::default(),
            decrypt_threads: parallel::default_threads(),
        }
    }
}

/// The state of one receive run ([`Receiver::handle_batch`]).
struct Batch<'s, S: Store + ?Sized> {
    /// Every write of the run, committed once at its end.
    txn: Transaction<'s, S>,
    /// Messages delivered in this run (remembered as recent once the commit succeeded).
    delivered: KeySet<MessageKey>,
    /// Ciphertexts decrypted (and buffered) in this run.
    buffered: DigestSet,
    /// The event-buffer entries the store held for this run's ciphertexts when it began
    /// (asked once for the whole run; usually none).
    stored: DigestMap<BufferedEvent>,
    /// Payloads decrypted ahead of the loop on several threads ([`parallel`]).
    pre: parallel::Ahead,
}

/// What became of one `<enc>`.
enum Decrypted {
    /// Decrypted now or found unhandled in the buffer.
    Event(Box<MessageEvent>, [u8; 32]),
    /// Already handled (or a Signal duplicate).
    Duplicate,
    /// Decrypted, but only protocol plumbing (a group sender key): no event.
    Plumbing,
    /// Did not decrypt; `retry` when a retry receipt can repair it.
    Failed { reason: String, retry: bool },
}

fn address(jid: &Jid) -> ProtocolAddress {
    ProtocolAddress::new(jid.signal_address_user(), u32::from(jid.device()))
}

/// The PN↔LID mapping `a`/`b` reveal, if one is a LID and the other a phone number.
fn put_mapping(changes: &mut Changes, a: &Jid, b: Option<&Jid>) {
    let Some(b) = b else { return };
    match (a.server(), b.server()) {
        (Server::User, Server::Lid) => {
            changes.put_lid_mapping(b.to_non_ad(), a.to_non_ad());
        }
        (Server::Lid, Server::User) => {
            changes.put_lid_mapping(a.to_non_ad(), b.to_non_ad());
        }
        _ => {}
    }
}

/// Unpads a decrypted payload (`<enc v>`) and decodes its `Message`; returns it with the
/// unpadded bytes.
pub(super) fn decode_payload(
    padded: &[u8],
    version: u32,
) -> core::result::Result<(Box<wa_proto::proto::Message>, &[u8]), MessageError> {
    unpad(padded, version).and_then(|plain| {
        // Decoded straight into its box: a `Message` is several KiB, and each move of an
        // unboxed one on its way into the event was a copy.
        let mut message = Box::<wa_proto::proto::Message>::default();
        message
            .merge(plain)
            .map(|()| (message, plain))
            .map_err(|e| MessageError::Malformed(format!("message protobuf: {e}")))
    })
}

fn own_jids(device: &Device) -> Result<(Jid, Option<Jid>)> {
    let pn = device.jid.clone().ok_or(Error::NotPaired)?;
    Ok((pn, device.lid.clone()))
}

/// How long the event buffer keeps the hash of a handled message (to drop a redelivery):
/// two weeks, as whatsmeow keeps its buffered-event hashes.
pub const BUFFER_RETENTION_SECS: u64 = 14 * 24 * 60 * 60;

/// Deletes buffer entries older than [`BUFFER_RETENTION_SECS`] (call after the pending ones
/// were re-emitted).
pub(crate) async fn prune_buffer<S: Store + ?Sized>(store: &S, unix_now: u64) -> Result<()> {
    let cutoff = unix_now.saturating_sub(BUFFER_RETENTION_SECS);
    let mut c = Changes::new();
    c.delete_buffered_events_before(i64::try_from(cutoff).unwrap_or(i64::MAX));
    store.commit(c).await?;
    Ok(())
}

/// The buffered events the application has not handled yet (oldest first), decoded, with
/// their buffer keys. Entries that no longer decode are skipped (and logged).
pub(crate) async fn pending_events<S: Store + ?Sized>(
    store: &S,
    device: &Device,
) -> Result<Vec<(MessageEvent, [u8; 32])>> {
    let Ok((pn, lid)) = own_jids(device) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for buffered in store.pending_events().await? {
        let Some(bytes) = &buffered.plaintext else {
            continue;
        };
        match buffer::decode(bytes, &pn, lid.as_ref()) {
            Ok(ev) => out.push((ev, buffered.hash)),
            Err(e) => warn!(error = %e, "skipping an unreadable buffered event"),
        }
    }
    Ok(out)
}

impl Receiver {
    /// A receiver decrypting big runs on up to `threads` threads (`None`: by core count, see
    /// [`crate::Config::decrypt_threads`]).
    pub(crate) fn new(threads: Option<usize>) -> Self {
        Self {
            decrypt_threads: threads.map_or_else(parallel::default_threads, |t| t.max(1)),
            ..Self::default()
        }
    }

    /// Handles one stanza from [`Engine::poll_incoming`](crate::Engine::poll_incoming).
    /// Store failures are returned (nothing is acked: the server delivers the stanza again).
    pub(crate) async fn handle<S, R>(
        &mut self,
        store: &S,
        device: &Device,
        node: &Node,
        unix_now: u64,
        rng: &mut R,
    ) -> Result<Output>
    where
        S: Store + ?Sized,
        R: CryptoRng + Send + ?Sized,
    {
        match node.tag.as_str() {
            "message" | "receipt" => {
                let mut outs = self
                    .handle_batch(store, device, core::slice::from_ref(node), unix_now, rng)
                    .await?;
                Ok(outs.pop().unwrap_or_default())
            }
            "notification" if node.attr("type").and_then(|t| t.as_str()) == Some("w:gp2") => {
                let (events, group_notification) = group::handle(store, device, node).await?;
                Ok(Output {
                    events,
                    group_notification,
                    ..Output::default()
                })
            }
            "notification" => {
                let effects = notification::handle(node);
                if let Some(changes) = effects.changes {
                    store.commit(changes).await?;
                }
                Ok(Output {
                    devices_changed: effects.devices_changed,
                    ..Output::default()
                })
            }
            other => {
                debug!(tag = other, "not a stanza for the receive pipeline");
                Ok(Output::default())
            }
        }
    }

    /// Handles a run of `<message>` and `<receipt>` stanzas (in wire order) with ONE store
    /// commit: every session advance, consumed prekey, PN↔LID mapping and buffered plaintext
    /// of the run is committed together before any of the outputs (events, receipts, acks)
    /// may leave. A store failure fails the whole run (nothing is acked, so the server
    /// delivers it again). Other stanzas are skipped with a log line: use [`Self::handle`].
    pub(crate) async fn handle_batch<S, R>(
        &mut self,
        store: &S,
        device: &Device,
        nodes: &[Node],
        unix_now: u64,
        rng: &mut R,
    ) -> Result<Vec<Output>>
    where
        S: Store + ?Sized,
        R: CryptoRng + Send + ?Sized,
    {
        let nodes: Vec<&Node> = nodes.iter().collect();
        let ahead = (0..nodes.len()).map(|_| None);
        self.handle_parsed(store, device, &nodes, ahead, unix_now, rng)
            .await
            .map(|(outs, _)| outs)
    }

    /// [`Self::handle_batch`] for a run whose messages may have been parsed ahead
    /// ([`PreparedMessage`]). Empties the run; what it leaves is the [`Spent`].
    pub(crate) async fn handle_run<S, R>(
        &mut self,
        store: &S,
        device: &Device,
        run: &mut Run,
        unix_now: u64,
        rng: &mut R,
    ) -> (Result<Vec<Output>>, Spent)
    where
        S: Store + ?Sized,
        R: CryptoRng + Send + ?Sized,
    {
        let own = own_jids(device).ok();
        // A parse made for other account JIDs (they changed under the connection) is made
        // again.
        let ahead: Vec<Option<Box<Parsed>>> = run
            .items
            .iter_mut()
            .map(|item| match item {
                RunItem::Prepared(m) => match &own {
                    Some((pn, lid)) if m.own.0 == *pn && m.own.1 == *lid => m.parsed.take(),
                    _ => None,
                },
                RunItem::Stanza(_) => None,
            })
            .collect();
        let nodes: Vec<&Node> = run.items.iter().map(RunItem::node).collect();
        let res = self
            .handle_parsed(store, device, &nodes, ahead.into_iter(), unix_now, rng)
            .await;
        drop(nodes);
        let items = core::mem::take(&mut run.items);
        match res {
            Ok((outs, parsed)) => (Ok(outs), Spent { items, parsed }),
            Err(e) => (
                Err(e),
                Spent {
                    items,
                    parsed: Vec::new(),
                },
            ),
        }
    }

    /// Handles `nodes` with `ahead[i]` the parse of `nodes[i]` made ahead (if any).
    async fn handle_parsed<S, R>(
        &mut self,
        store: &S,
        device: &Device,
        nodes: &[&Node],
        ahead: impl Iterator<Item = Option<Box<Parsed>>>,
        unix_now: u64,
        rng: &mut R,
    ) -> Result<(Vec<Output>, Vec<Option<Box<Parsed>>>)>
    where
        S: Store + ?Sized,
        R: CryptoRng + Send + ?Sized,
    {
        let mut batch = Batch {
            txn: Transaction::new(store),
            delivered: KeySet::with_capacity_and_hasher(nodes.len(), Default::default()),
            buffered: DigestSet::with_capacity_and_hasher(nodes.len(), Default::default()),
            stored: DigestMap::default(),
            pre: parallel::Ahead::default(),
        };
        // Every message stanza parsed once (without our own JIDs `message` fails below):
        // ahead when the parse was made for this account, else here.
        let own = own_jids(device).ok();
        let mut ahead = ahead;
        let mut parsed: Vec<Option<Box<Parsed>>> = nodes
            .iter()
            .map(|n| {
                let early = ahead.next().flatten();
                match &own {
                    Some((pn, lid)) if n.tag.as_str() == "message" => {
                        Some(early.unwrap_or_else(|| Box::new(Parsed::new(n, pn, lid.as_ref()))))
                    }
                    _ => None,
                }
            })
            .collect();
        // One store question for every ciphertext of the run (was it decrypted before?).
        let hashes: Vec<[u8; 32]> = parsed
            .iter()
            .flatten()
            .flat_map(|p| p.hashes.iter().copied())
            .collect();
        if !hashes.is_empty() {
            let found = store.buffered_events(&hashes).await?;
            batch.stored = found.into_iter().map(|e| (e.hash, e)).collect();
        }
        if self.decrypt_threads > 1 {
            batch.pre = parallel::predecrypt(
                &batch.txn,
                (&self.recent, &batch.stored),
                &parsed,
                self.decrypt_threads,
                rng,
            )
            .await?;
        }
        let mut outs = Vec::with_capacity(nodes.len());
        for (i, node) in nodes.iter().enumerate() {
            outs.push(match node.tag.as_str() {
                "message" => {
                    let Some((pn, lid)) = &own else {
                        return Err(Error::NotPaired);
                    };
                    let mut unparsed;
                    let p = match parsed.get_mut(i).and_then(Option::as_mut) {
                        Some(p) => p,
                        None => {
                            unparsed = Parsed::new(node, pn, lid.as_ref());
                            &mut unparsed
                        }
                    };
                    let own = (pn, lid.as_ref());
                    self.message(&mut batch, device, node, (i, p), own, unix_now, rng)
                        .await?
                }
                "receipt" => self.receipt(device, node),
                other => {
                    debug!(tag = other, "not a stanza for a receive batch");
                    Output::default()
                }
            });
        }
        let Batch { txn, delivered, .. } = batch;
        if !txn.is_empty() {
            txn.commit().await?;
        }
        // Only now: a run whose commit failed is delivered again and must not look like a
        // duplicate then.
        for key in delivered {
            self.recent.insert(key);
        }
        Ok((outs, parsed))
    }

    fn receipt(&mut self, device: &Device, node: &Node) -> Output {
        let mut out = Output::default();
        let Ok((pn, lid)) = own_jids(device) else {
            return out;
        };
        match parse_receipt(node, &pn, lid.as_ref()) {
            Ok(ev) => {
                if ev.kind == ReceiptKind::Retry {
                    out.retry_receipts.push(node.clone());
                }
                out.events.push(Event::Receipt(ev));
            }
            Err(e) => warn!(error = %e, "unusable receipt"),
        }
        match ack_for(node) {
            Ok(ack) => out.send.push(ack),
            Err(e) => warn!(error = %e, "receipt cannot be acked"),
        }
        out
    }

    /// Handles the `<message>` at `index` in the run (`parsed`: the stanza parsed already).
    #[allow(clippy::too_many_arguments)]
    async fn message<S, R>(
        &mut self,
        batch: &mut Batch<'_, S>,
        device: &Device,
        node: &Node,
        (index, parsed): (usize, &mut Parsed),
        (pn, lid): (&Jid, Option<&Jid>),
        unix_now: u64,
        rng: &mut R,
    ) -> Result<Output>
    where
        S: Store + ?Sized,
        R: CryptoRng + Send + ?Sized,
    {
        // Room for the usual outcome: one event; a receipt and the ack.
        let mut out = Output {
            events: Vec::with_capacity(1),
            send: Vec::with_capacity(2),
            ..Output::default()
        };
        let ack = parsed.ack.take().unwrap_or_else(|| ack_for(node))?;
        // Borrowed, not moved: a parsed stanza is large and most of it is only read.
        let info = match &parsed.info {
            Ok(info) => info,
            Err(e) => {
                warn!(error = %e, "unusable message stanza");
                out.send.push(ack);
                return Ok(out);
            }
        };
        let key = parsed.key.take().unwrap_or_else(|| key_of(info));
        if self.recent.contains(&key) || batch.delivered.contains(&key) {
            debug!(id = %info.id, "duplicate message dropped");
            out.send.push(ack);
            return Ok(out);
        }
        let encs = match &parsed.encs {
            Ok(encs) if !encs.is_empty() => encs,
            Ok(_) => {
                out.events.push(Event::UndecryptableMessage {
                    info: Box::new(info.clone()),
                    reason: "no encrypted payload".into(),
                });
                out.send.push(ack);
                return Ok(out);
            }
            Err(e) => {
                out.events.push(Event::UndecryptableMessage {
                    info: Box::new(info.clone()),
                    reason: e.to_string(),
                });
                out.send.push(ack);
                return Ok(out);
            }
        };
        let mut delivered = false;
        let mut delivered_plumbing = false;
        let mut failure: Option<(String, bool)> = None;
        for (j, (enc, hash)) in encs.iter().zip(parsed.hashes.iter().copied()).enumerate() {
            let pre = batch.pre.take((index, j));
            match self
                .decrypt(
                    batch,
                    node,
                    info,
                    (enc, hash, pre),
                    unix_now,
                    rng,
                    (pn, lid),
                )
                .await?
            {
                Decrypted::Event(ev, hash) => {
                    out.events.push(Event::Message(ev));
                    out.handled.push(hash);
                    delivered = true;
                }
                Decrypted::Duplicate => debug!(id = %info.id, "payload already handled"),
                Decrypted::Plumbing => delivered_plumbing = true,
                Decrypted::Failed { reason, retry } => {
                    warn!(id = %info.id, sender = %info.source.sender, %reason, "message did not decrypt");
                    failure.get_or_insert((reason, retry));
                }
            }
        }
        if delivered || (delivered_plumbing && failure.is_none()) {
            batch.delivered.insert(key);
            let receipt = parsed.receipt.take();
            out.send
                .push(receipt.unwrap_or_else(|| delivery_receipt(node, info, true))?);
        }
        if let Some((reason, retry)) = failure {
            if retry
                && let Some(receipt) = self
                    .retry(batch.txn.store(), device, node, info, rng, &mut out)
                    .await?
            {
                out.send.push(receipt);
            }
            out.events.push(Event::UndecryptableMessage {
                info: Box::new(info.clone()),
                reason,
            });
        }
        out.send.push(ack);
        Ok(out)
    }

    /// The retry receipt for a failed message, if the bound allows another one.
    async fn retry<S, R>(
        &mut self,
        store: &S,
        device: &Device,
        node: &Node,
        info: &MessageInfo,
        rng: &mut R,
        out: &mut Output,
    ) -> Result<Option<Node>>
    where
        S: Store + ?Sized,
        R: CryptoRng + Send + ?Sized,
    {
        let Some(count) = self.retries.next(&info.id) else {
            warn!(id = %info.id, "no more retry receipts for this message");
            return Ok(None);
        };
        let pre_key = if count > 1 {
            let key = wa_store::generate_pre_keys(store, 1, rng).await?;
            key.into_iter().next()
        } else {
            None
        };
        out.pre_key_generated = pre_key.as_ref().map(|k| k.id);
        Ok(Some(retry_receipt(node, count, device, pre_key.as_ref())?))
    }

    /// The Signal address to decrypt with: the sender's LID device when it is known (from
    /// `sender_lid` or the store's map), moving any sessions kept under its phone number.
    async fn sender_address<S: Store + ?Sized>(
        txn: &mut Transaction<'_, S>,
        info: &MessageInfo,
    ) -> Result<ProtocolAddress> {
        let sender = &info.source.sender;
        if *sender.server() != Server::User {
            return Ok(address(sender));
        }
        let lid_user = match &info.source.sender_alt {
            Some(alt) if *alt.server() == Server::Lid => Some(alt.to_non_ad()),
            _ => txn.lid_for_pn(&sender.to_non_ad()).await?,
        };
        let Some(lid_user) = lid_user else {
            return Ok(address(sender));
        };
        let lid = lid_user.clone().with_device(sender.device());
        if txn.load_session(&address(sender)).await?.is_some() {
            txn.changes()
                .put_lid_mapping(lid_user.clone(), sender.to_non_ad())
                .migrate_pn_to_lid(sender.signal_address_user(), lid_user.signal_address_user());
            debug!(pn = %sender, lid = %lid, "moved sessions from the phone number to the LID");
        }
        Ok(address(&lid))
    }

    #[allow(clippy::too_many_arguments)]
    async fn decrypt<S, R>(
        &mut self,
        batch: &mut Batch<'_, S>,
        node: &Node,
        info: &MessageInfo,
        (enc, hash, pre): (&EncPayload, [u8; 32], Option<parallel::Predecrypted>),
        unix_now: u64,
        rng: &mut R,
        (own_pn, own_lid): (&Jid, Option<&Jid>),
    ) -> Result<Decrypted>
    where
        S: Store + ?Sized,
        R: CryptoRng + Send + ?Sized,
    {
        if let Some(pre) = pre {
            // Decrypted ahead on another thread; its session writes are in the transaction.
            // Its ciphertext is neither in the store's buffer nor repeated in the run (or
            // it would not have been decrypted ahead), so the checks below are skipped.
            return match pre {
                Ok(parallel::Plain { padded, decoded }) => {
                    // Unpadded and decoded on the decrypting thread too; `len` is the
                    // unpadded prefix.
                    let decoded = decoded.map(|(m, len)| (m, padded.get(..len).unwrap_or(&padded)));
                    self.finish(batch, node, info, hash, decoded, unix_now)
                        .await
                }
                Err(SignalError::DuplicateMessage(_)) => Ok(Decrypted::Duplicate),
                Err(e) => Ok(Decrypted::Failed {
                    reason: e.to_string(),
                    retry: true,
                }),
            };
        }
        if batch.buffered.contains(&hash) {
            // Decrypted earlier in this run: the same ciphertext again.
            return Ok(Decrypted::Duplicate);
        }
        // Not buffered by this run (`buffered`), so only the store can hold it.
        if let Some(buffered) = batch.stored.get(&hash).cloned() {
            return Ok(match buffered.plaintext {
                Some(bytes) => match buffer::decode(&bytes, own_pn, own_lid) {
                    Ok(ev) => Decrypted::Event(Box::new(ev), hash),
                    Err(e) => {
                        warn!(error = %e, "unreadable buffered event; dropping the redelivery");
                        Decrypted::Duplicate
                    }
                },
                None => Decrypted::Duplicate,
            });
        }
        let txn = &mut batch.txn;
        let incoming = match enc.kind {
            EncType::PreKey => IncomingMessage::PreKey(&enc.ciphertext),
            EncType::Whisper => IncomingMessage::Whisper(&enc.ciphertext),
            EncType::SenderKey => {
                if !info.source.is_group {
                    return Ok(Decrypted::Failed {
                        reason: MessageError::Unsupported("skmsg outside a group".into())
                            .to_string(),
                        retry: false,
                    });
                }
                let res = crate::group::decrypt_group_message(
                    &*txn,
                    &info.source.chat,
                    &info.source.sender,
                    &enc.ciphertext,
                )
                .await;
                match res {
                    Ok(padded) => {
                        let decoded = decode_payload(&padded, enc.version);
                        return self
                            .finish(batch, node, info, hash, decoded, unix_now)
                            .await;
                    }
                    Err(GroupError::Store(e)) => return Err(Error::Store(e)),
                    Err(GroupError::Signal(SignalError::DuplicateMessage(_))) => {
                        return Ok(Decrypted::Duplicate);
                    }
                    Err(e) => {
                        return Ok(Decrypted::Failed {
                            reason: e.to_string(),
                            retry: true,
                        });
                    }
                }
            }
        };
        let addr = Self::sender_address(txn, info).await?;
        let padded = match wa_signal::store::decrypt(&*txn, &addr, incoming, rng).await {
            Ok((plain, _identity)) => plain,
            Err(wa_signal::store::StoreError::Store(e)) => return Err(Error::Store(e)),
            Err(wa_signal::store::StoreError::Signal(SignalError::DuplicateMessage(_))) => {
                return Ok(Decrypted::Duplicate);
            }
            Err(e) => {
                return Ok(Decrypted::Failed {
                    reason: e.to_string(),
                    retry: true,
                });
            }
        };
        let decoded = decode_payload(&padded, enc.version);
        self.finish(batch, node, info, hash, decoded, unix_now)
            .await
    }

    /// Takes a decrypted payload (`decoded`: its `Message` and unpadded bytes, see
    /// [`decode_payload`]), stores a group sender key it distributes, and adds everything with
    /// the buffered plaintext to the run's transaction.
    async fn finish<S: Store + ?Sized>(
        &mut self,
        batch: &mut Batch<'_, S>,
        node: &Node,
        info: &MessageInfo,
        hash: [u8; 32],
        decoded: core::result::Result<(Box<wa_proto::proto::Message>, &[u8]), MessageError>,
        unix_now: u64,
    ) -> Result<Decrypted> {
        let server_timestamp = i64::try_from(info.timestamp).unwrap_or(i64::MAX);
        let inserted_at = i64::try_from(unix_now).unwrap_or(i64::MAX);
        let (message, plain) = match decoded {
            Ok(m) => m,
            Err(e) => {
                // The session moved on; keep that, and remember the payload as handled so a
                // redelivery is dropped rather than failing on a spent key.
                batch.txn.changes().buffer_event(BufferedEvent {
                    hash,
                    plaintext: None,
                    server_timestamp,
                    inserted_at,
                });
                batch.buffered.insert(hash);
                return Ok(Decrypted::Failed {
                    reason: e.to_string(),
                    retry: false,
                });
            }
        };
        // The event is boxed too and the message shaped in place through its box.
        let mut event = Box::new(MessageEvent {
            info: info.clone(),
            message,
            retry_count: self.retries.get(&info.id),
            unwrapped_from_device_sent: false,
            from_buffer: false,
        });
        let message = &mut event.message;
        let distributes = message.sender_key_distribution_message.take();
        if let Some(skdm) = &distributes
            && info.source.is_group
            && let Err(e) = crate::group::process_sender_key_distribution(
                &batch.txn,
                &info.source.chat,
                &info.source.sender,
                skdm,
            )
            .await
        {
            match e {
                GroupError::Store(e) => return Err(Error::Store(e)),
                e => warn!(error = %e, "unusable sender key distribution"),
            }
        }
        // A payload that only carried the group's sender key is plumbing, not a message.
        let only_plumbing = distributes.is_some()
            && wa_proto::proto::Message {
                message_context_info: None,
                ..(**message).clone()
            } == wa_proto::proto::Message::default();
        let message = &mut event.message;
        if !info.source.is_group {
            // Outside groups the field is passed through untouched.
            message.sender_key_distribution_message = distributes;
        }
        if info.source.is_from_me {
            let (inner, dest) = dsm::unwrap(core::mem::take(&mut **message));
            **message = inner;
            event.unwrapped_from_device_sent = dest.is_some();
        }
        let changes = batch.txn.changes();
        put_mapping(
            changes,
            &info.source.sender,
            info.source.sender_alt.as_ref(),
        );
        put_mapping(
            changes,
            &info.source.chat,
            info.source.recipient_alt.as_ref(),
        );
        changes.buffer_event(BufferedEvent {
            hash,
            plaintext: (!only_plumbing).then(|| buffer::encode(node, plain, event.retry_count)),
            server_timestamp,
            inserted_at,
        });
        batch.buffered.insert(hash);
        Ok(if only_plumbing {
            Decrypted::Plumbing
        } else {
            Decrypted::Event(event, hash)
        })
    }
}
