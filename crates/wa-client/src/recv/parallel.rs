//! Decrypting a receive run's 1:1 payloads on several threads, one partition per Signal
//! session.
//!
//! Per-chat order only needs each session's messages decrypted in sequence, so a run that
//! carries many payloads for several sessions ([`MIN_JOBS`], two sessions at least) is split
//! by sender address: each partition takes its session record out of the run's
//! [`Transaction`] once, decrypts its payloads in wire order on its own thread
//! (`std::thread::scope`, so it works on a current-thread runtime too), and the results are
//! written back through the transaction in the order sequential handling would have written
//! them (identity trust, the advanced session, consumed prekeys). The receive loop then finds
//! each payload's plaintext here instead of decrypting it, and does everything else (buffering,
//! events, receipts, the single commit) as before.
//!
//! A partition is only formed when its outcome provably equals sequential handling: any
//! session that a message of the run could reach in another way (a repeat of a message or
//! ciphertext inside the run, a payload already in the event buffer, a phone-number sender
//! whose LID is unsettled or whose sessions would move to its LID, a one-time prekey named by
//! more than one session) stays with the sequential path, as does everything about it.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, SeedableRng};
use wa_binary::{Jid, Server};
use wa_signal::store::{
    IdentityKeyStore as _, PreKeyStore as _, ProtocolAddress, SessionStore as _,
    SignedPreKeyStore as _, StoreError as SignalStoreError, trust_identity,
};
use wa_signal::wire::{PreKeySignalMessage, SignalMessage};
use wa_signal::{
    IdentityKeyPair, PreKeyDecryption, PreKeyRecord, PublicKey, SessionRecord, SignalError,
    SignedPreKeyRecord,
};
use wa_store::{BufferedEvent, Store, Transaction};

use super::dedup::{MessageKey, RecentIds};
use super::run::Parsed;
use super::{address, decode_payload};
use crate::error::MessageError;
use crate::error::{Error, Result};
use crate::message::EncType;
use wa_proto::proto::Message;

/// Fewest 1:1 payloads in a run for decrypting it on several threads.
pub(crate) const MIN_JOBS: usize = 32;

/// Most threads one run uses (the calling one included).
const MAX_WORKERS: usize = 4;

/// Fewest cores for decrypting apart by default. On the 2-core VM of `docs/performance.md`
/// the extra thread only competed with the rest of the process (the burst bench got slower:
/// 63k instead of 71k messages/s, 19 instead of 18 µs of process CPU per message).
const MIN_CORES: usize = 4;

/// One `<enc>` of a run: (index of its stanza in the run, index of the `<enc>` in the stanza).
pub(super) type Slot = (usize, usize);

/// A payload decrypted ahead of the receive loop: its plaintext, or why it did not decrypt.
pub(super) type Predecrypted = core::result::Result<Plain, SignalError>;

/// A payload's plaintext, unpadded and decoded on the decrypting thread.
pub(super) struct Plain {
    /// The decrypted bytes, padding included.
    pub(super) padded: Vec<u8>,
    /// The decoded `Message` and the length of the unpadded prefix of `padded`, or why it
    /// does not unpad or decode ([`super::decode_payload`]).
    pub(super) decoded: core::result::Result<(Box<Message>, usize), MessageError>,
}

impl Plain {
    fn new(padded: Vec<u8>, version: u32) -> Self {
        let decoded = decode_payload(&padded, version).map(|(m, plain)| (m, plain.len()));
        Self { padded, decoded }
    }
}

/// Prints sizes only, never plaintext.
impl core::fmt::Debug for Plain {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Plain")
            .field("padded_len", &self.padded.len())
            .field("decoded", &self.decoded.as_ref().map(|(_, len)| len))
            .finish()
    }
}

/// The payloads of a run decrypted ahead, by stanza and `<enc>` index.
#[derive(Debug, Default)]
pub(super) struct Ahead(Vec<Vec<Option<Predecrypted>>>);

impl Ahead {
    fn put(&mut self, (i, j): Slot, p: Predecrypted) {
        if self.0.len() <= i {
            self.0.resize_with(i + 1, Vec::new);
        }
        if let Some(encs) = self.0.get_mut(i) {
            if encs.len() <= j {
                encs.resize_with(j + 1, || None);
            }
            if let Some(e) = encs.get_mut(j) {
                *e = Some(p);
            }
        }
    }

    /// The payload at `slot` if it was decrypted ahead (once).
    pub(super) fn take(&mut self, (i, j): Slot) -> Option<Predecrypted> {
        self.0.get_mut(i)?.get_mut(j)?.take()
    }
}

#[cfg(test)]
thread_local! {
    /// (partitions, payloads) the calling thread's last run decrypted ahead.
    pub(super) static AHEAD: core::cell::Cell<(usize, usize)> = const { core::cell::Cell::new((0, 0)) };
}

/// One payload to decrypt.
struct Job<'a> {
    slot: Slot,
    /// The `<enc v>` (how the plaintext is padded).
    version: u32,
    kind: JobKind<'a>,
}

enum JobKind<'a> {
    Whisper(&'a [u8]),
    PreKey(core::result::Result<Box<PreKeySignalMessage>, SignalError>),
}

/// What one payload gave.
enum Outcome {
    Plain(Predecrypted),
    /// A `pkmsg` that decrypted: its sender's identity is trusted on the way back.
    PreKey {
        identity: PublicKey,
        /// The one-time prekey it consumed.
        consumed: Option<u32>,
        plain: Plain,
    },
}

/// One session's payloads, in wire order.
struct Partition<'a> {
    address: ProtocolAddress,
    record: SessionRecord,
    jobs: Vec<Job<'a>>,
    rng: ChaCha20Rng,
}

/// A partition after decryption.
struct Done {
    address: ProtocolAddress,
    record: SessionRecord,
    /// Whether any payload decrypted (only then was the session advanced and is written).
    advanced: bool,
    outcomes: Vec<(Slot, Outcome)>,
}

/// What `pkmsg` decryption reads besides the session: read once for the run.
struct Keys {
    identity: IdentityKeyPair,
    registration_id: u32,
    signed: HashMap<u32, Option<SignedPreKeyRecord>>,
    one_time: HashMap<u32, Option<PreKeyRecord>>,
}

/// How a phone-number sender's messages are addressed in this run.
#[derive(Default)]
struct PnSender {
    /// The `sender_lid` of each of its messages.
    alts: Vec<Option<Jid>>,
}

/// Decrypts the run's 1:1 payloads ahead of the receive loop when it is big enough and spans
/// several sessions, writing the session effects into `txn`. Returns the plaintexts by slot;
/// payloads without one take the sequential path. Store failures are returned.
pub(super) async fn predecrypt<S, R>(
    txn: &Transaction<'_, S>,
    (recent, stored): (&RecentIds, &wa_store::hashing::DigestMap<BufferedEvent>),
    parsed: &[Option<Box<Parsed>>],
    threads: usize,
    rng: &mut R,
) -> Result<Ahead>
where
    S: Store + ?Sized,
    R: CryptoRng + Send + ?Sized,
{
    let mut out = Ahead::default();
    let one_to_one = |kind: EncType| matches!(kind, EncType::PreKey | EncType::Whisper);
    let candidates = parsed
        .iter()
        .flatten()
        .filter_map(|p| p.info.as_ref().ok().and(p.encs.as_ref().ok()))
        .flatten()
        .filter(|e| one_to_one(e.kind))
        .count();
    #[cfg(test)]
    AHEAD.with(|a| a.set((0, 0)));
    if candidates < MIN_JOBS {
        return Ok(out);
    }
    let Some(partitions) = partition(txn, (recent, stored), parsed).await? else {
        return Ok(out);
    };
    #[cfg(test)]
    AHEAD.with(|a| a.set((partitions.len(), partitions.iter().map(|p| p.1.len()).sum())));
    let keys = load_keys(txn, &partitions).await?;
    let mut loaded = Vec::with_capacity(partitions.len());
    for (address, jobs) in partitions {
        let record = txn.load_session(&address).await?.unwrap_or_default();
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        loaded.push(Partition {
            address,
            record,
            jobs,
            rng: ChaCha20Rng::from_seed(seed),
        });
    }
    let done = run(loaded, keys.as_ref(), threads);
    for d in done {
        for (slot, outcome) in d.outcomes {
            let plain = match outcome {
                Outcome::Plain(p) => p,
                Outcome::PreKey {
                    identity,
                    consumed,
                    plain,
                } => {
                    match trust_identity(txn, &d.address, &identity, true).await {
                        Ok(_) => {}
                        Err(SignalStoreError::Store(e)) => return Err(Error::Store(e)),
                        Err(SignalStoreError::Signal(e)) => {
                            out.put(slot, Err(e));
                            continue;
                        }
                        Err(e) => return Err(Error::Protocol(e.to_string())),
                    }
                    if let Some(id) = consumed {
                        txn.remove_pre_key(id).await?;
                    }
                    Ok(plain)
                }
            };
            out.put(slot, plain);
        }
        if d.advanced {
            txn.store_session(&d.address, &d.record).await?;
        }
    }
    Ok(out)
}

/// The run's payloads by session, or `None` when fewer than two sessions (or too few
/// payloads) can be decrypted apart.
async fn partition<'a, S: Store + ?Sized>(
    txn: &Transaction<'_, S>,
    (recent, stored): (&RecentIds, &wa_store::hashing::DigestMap<BufferedEvent>),
    parsed: &'a [Option<Box<Parsed>>],
) -> Result<Option<Vec<(ProtocolAddress, Vec<Job<'a>>)>>> {
    // PN users whose LID this run reveals (a later message would be addressed by it), with
    // the LIDs revealed.
    let mut revealed: HashMap<Jid, HashSet<Jid>> = HashMap::new();
    let mut pn_senders: HashMap<Jid, PnSender> = HashMap::new();
    for p in parsed.iter().flatten() {
        let Ok(info) = &p.info else { continue };
        let s = &info.source;
        for (a, b) in [
            (&s.sender, s.sender_alt.as_ref()),
            (&s.chat, s.recipient_alt.as_ref()),
        ] {
            if let Some(b) = b {
                let (pn, lid) = match (a.server(), b.server()) {
                    (Server::User, Server::Lid) => (a, b),
                    (Server::Lid, Server::User) => (b, a),
                    _ => continue,
                };
                (revealed.entry(pn.to_non_ad()).or_default()).insert(lid.to_non_ad());
            }
        }
        if *s.sender.server() == Server::User {
            let alt = s.sender_alt.clone().filter(|a| *a.server() == Server::Lid);
            pn_senders
                .entry(s.sender.to_non_ad())
                .or_default()
                .alts
                .push(alt.map(|a| a.to_non_ad()));
        }
    }
    // Each PN sender's LID for the whole run (`None`: its messages stay sequential).
    let mut tainted: HashSet<String> = HashSet::new();
    let mut lid_of: HashMap<Jid, Option<Jid>> = HashMap::new();
    for (pn, sender) in &pn_senders {
        let first = sender.alts.first().cloned().flatten();
        let settled = if first.is_some() && sender.alts.iter().all(|a| *a == first) {
            Some(first)
        } else if sender.alts.iter().all(Option::is_none) && !revealed.contains_key(pn) {
            Some(txn.lid_for_pn(pn).await?)
        } else {
            None
        };
        if settled.is_none() {
            tainted.insert(pn.signal_address_user());
            let lids = sender.alts.iter().flatten();
            for lid in lids.chain(revealed.get(pn).into_iter().flatten()) {
                tainted.insert(lid.signal_address_user());
            }
            if let Some(lid) = txn.lid_for_pn(pn).await? {
                tainted.insert(lid.signal_address_user());
            }
        }
        lid_of.insert(pn.clone(), settled.unwrap_or(None));
    }
    let mut seen_keys: HashSet<&MessageKey> = HashSet::new();
    let mut seen_hashes: HashSet<&[u8; 32]> = HashSet::new();
    // Each sender device's partition (its index in `partitions`).
    let mut of_sender: HashMap<&Jid, usize> = HashMap::new();
    let mut of_address: HashMap<ProtocolAddress, usize> = HashMap::new();
    let mut partitions: Vec<(ProtocolAddress, Vec<Job<'a>>)> = Vec::new();
    let mut pre_key_users: HashMap<u32, HashSet<usize>> = HashMap::new();
    let mut irregular: HashSet<usize> = HashSet::new();
    for (i, p) in parsed.iter().enumerate() {
        let Some(Parsed {
            info: Ok(info),
            key: Some(key),
            encs: Ok(encs),
            hashes,
            ..
        }) = p.as_deref()
        else {
            continue;
        };
        if recent.contains(key) {
            continue; // Dropped as a duplicate without decrypting.
        }
        let sender = &info.source.sender;
        let at = match of_sender.get(sender) {
            Some(at) => *at,
            None => {
                let address = sender_address(txn, sender, &lid_of, &mut tainted).await?;
                let at = match of_address.get(&address) {
                    Some(at) => *at,
                    None => {
                        of_address.insert(address.clone(), partitions.len());
                        partitions.push((address, Vec::new()));
                        partitions.len() - 1
                    }
                };
                of_sender.insert(sender, at);
                at
            }
        };
        let mut regular = seen_keys.insert(key);
        for (j, enc) in encs.iter().enumerate() {
            if !matches!(enc.kind, EncType::PreKey | EncType::Whisper) {
                continue;
            }
            let Some(hash) = hashes.get(j) else {
                regular = false;
                continue;
            };
            if !seen_hashes.insert(hash) || stored.contains_key(hash) {
                regular = false;
            }
            let kind = match enc.kind {
                EncType::PreKey => {
                    let msg = PreKeySignalMessage::parse(&enc.ciphertext).map(Box::new);
                    if let Ok(m) = &msg
                        && let Some(id) = m.pre_key_id()
                    {
                        pre_key_users.entry(id).or_default().insert(at);
                    }
                    JobKind::PreKey(msg)
                }
                _ => JobKind::Whisper(&enc.ciphertext),
            };
            if let Some((_, jobs)) = partitions.get_mut(at) {
                jobs.push(Job {
                    slot: (i, j),
                    version: enc.version,
                    kind,
                });
            }
        }
        if !regular {
            irregular.insert(at);
        }
    }
    for users in pre_key_users.values() {
        if users.len() > 1 {
            irregular.extend(users);
        }
    }
    for at in irregular {
        if let Some((address, _)) = partitions.get(at) {
            tainted.insert(address.name.clone());
        }
    }
    let partitions: Vec<_> = partitions
        .into_iter()
        .filter(|(a, jobs)| !jobs.is_empty() && !tainted.contains(&a.name))
        .collect();
    let jobs: usize = partitions.iter().map(|(_, j)| j.len()).sum();
    Ok((partitions.len() >= 2 && jobs >= MIN_JOBS).then_some(partitions))
}

/// The Signal address `sender`'s payloads decrypt with (as `Receiver::sender_address` would
/// find it), tainting the users whose sessions would move from the phone number to the LID.
async fn sender_address<S: Store + ?Sized>(
    txn: &Transaction<'_, S>,
    sender: &Jid,
    lid_of: &HashMap<Jid, Option<Jid>>,
    tainted: &mut HashSet<String>,
) -> Result<ProtocolAddress> {
    if *sender.server() != Server::User {
        return Ok(address(sender));
    }
    let pn = sender.to_non_ad();
    let Some(lid) = lid_of.get(&pn).cloned().flatten() else {
        return Ok(address(sender));
    };
    if txn.load_session(&address(sender)).await?.is_some() {
        // Its sessions move to the LID: sequential handling does that.
        tainted.insert(pn.signal_address_user());
        tainted.insert(lid.signal_address_user());
    }
    Ok(address(&lid.with_device(sender.device())))
}

/// Our identity and the prekeys the partitions' `pkmsg`s name, if there are any.
async fn load_keys<S: Store + ?Sized>(
    txn: &Transaction<'_, S>,
    partitions: &[(ProtocolAddress, Vec<Job<'_>>)],
) -> Result<Option<Keys>> {
    let mut keys: Option<Keys> = None;
    for job in partitions.iter().flat_map(|(_, jobs)| jobs) {
        let JobKind::PreKey(Ok(msg)) = &job.kind else {
            continue;
        };
        let k = match &mut keys {
            Some(k) => k,
            None => keys.insert(Keys {
                identity: txn.identity_key_pair().await?,
                registration_id: txn.local_registration_id().await?,
                signed: HashMap::new(),
                one_time: HashMap::new(),
            }),
        };
        if let Entry::Vacant(e) = k.signed.entry(msg.signed_pre_key_id()) {
            let record = txn.load_signed_pre_key(*e.key()).await?;
            e.insert(record);
        }
        if let Some(id) = msg.pre_key_id()
            && let Entry::Vacant(e) = k.one_time.entry(id)
        {
            e.insert(txn.load_pre_key(id).await?);
        }
    }
    Ok(keys)
}

/// How many threads a run's payloads are decrypted on by default: none besides the receiving
/// one below [`MIN_CORES`] cores, else up to [`MAX_WORKERS`], leaving a core for the rest.
pub(super) fn default_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if cores < MIN_CORES {
        1
    } else {
        (cores - 1).min(MAX_WORKERS)
    }
}

/// Decrypts every partition, spread over up to `threads` threads (this one included).
fn run(partitions: Vec<Partition<'_>>, keys: Option<&Keys>, threads: usize) -> Vec<Done> {
    let workers = threads.clamp(1, MAX_WORKERS).min(partitions.len());
    // Biggest partitions first, each to the least loaded worker.
    let mut partitions = partitions;
    partitions.sort_by_key(|p| core::cmp::Reverse(p.jobs.len()));
    let mut groups: Vec<(usize, Vec<Partition<'_>>)> =
        (0..workers.max(1)).map(|_| (0, Vec::new())).collect();
    for p in partitions {
        if let Some(g) = groups.iter_mut().min_by_key(|g| g.0) {
            g.0 += p.jobs.len();
            g.1.push(p);
        }
    }
    let mut groups = groups.into_iter().map(|(_, g)| g);
    let mine = groups.next().unwrap_or_default();
    // Each other group waits in a slot its thread takes it from; a group whose thread could
    // not start is taken back and decrypted here.
    let slots: Vec<std::sync::Mutex<Option<Vec<Partition<'_>>>>> =
        groups.map(|g| std::sync::Mutex::new(Some(g))).collect();
    std::thread::scope(|scope| {
        let mut handles = Vec::with_capacity(slots.len());
        let mut done = Vec::new();
        for slot in &slots {
            let builder = std::thread::Builder::new().name("wa-recv-decrypt".into());
            match builder.spawn_scoped(scope, move || decrypt_all(take(slot), keys)) {
                Ok(h) => handles.push(h),
                Err(e) => {
                    tracing::debug!(error = %e, "no decrypt thread; decrypting inline");
                    done.extend(decrypt_all(take(slot), keys));
                }
            }
        }
        done.extend(decrypt_all(mine, keys));
        for h in handles {
            match h.join() {
                Ok(d) => done.extend(d),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        done
    })
}

fn take<'a>(slot: &std::sync::Mutex<Option<Vec<Partition<'a>>>>) -> Vec<Partition<'a>> {
    slot.lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .unwrap_or_default()
}

fn decrypt_all(group: Vec<Partition<'_>>, keys: Option<&Keys>) -> Vec<Done> {
    group
        .into_iter()
        .map(|p| decrypt_partition(p, keys))
        .collect()
}

/// Decrypts one session's payloads in order, as `wa_signal::store::decrypt` would one by one.
fn decrypt_partition(p: Partition<'_>, keys: Option<&Keys>) -> Done {
    let Partition {
        address,
        mut record,
        jobs,
        mut rng,
    } = p;
    let mut consumed: HashSet<u32> = HashSet::new();
    let mut advanced = false;
    let mut outcomes = Vec::with_capacity(jobs.len());
    for job in jobs {
        let outcome = match job.kind {
            JobKind::Whisper(bytes) => Outcome::Plain(
                SignalMessage::parse(bytes)
                    .and_then(|m| record.decrypt(&m, &mut rng))
                    .map(|padded| Plain::new(padded, job.version)),
            ),
            JobKind::PreKey(Err(e)) => Outcome::Plain(Err(e)),
            JobKind::PreKey(Ok(msg)) => match pre_key(&mut record, &msg, keys, &consumed, &mut rng)
            {
                Ok(decrypted) => {
                    if let Some(id) = decrypted.consumed_pre_key_id {
                        consumed.insert(id);
                    }
                    Outcome::PreKey {
                        identity: *msg.identity_key(),
                        consumed: decrypted.consumed_pre_key_id,
                        plain: Plain::new(decrypted.plaintext, job.version),
                    }
                }
                Err(e) => Outcome::Plain(Err(e)),
            },
        };
        advanced |= !matches!(outcome, Outcome::Plain(Err(_)));
        outcomes.push((job.slot, outcome));
    }
    Done {
        address,
        record,
        advanced,
        outcomes,
    }
}

/// One `pkmsg`: the prekeys as the store would answer after the partition's earlier
/// payloads (a consumed one-time prekey is gone).
fn pre_key(
    record: &mut SessionRecord,
    msg: &PreKeySignalMessage,
    keys: Option<&Keys>,
    consumed: &HashSet<u32>,
    rng: &mut ChaCha20Rng,
) -> core::result::Result<PreKeyDecryption, SignalError> {
    let Some(keys) = keys else {
        return Err(SignalError::NoSession);
    };
    let known = record.has_base_key(msg.base_key());
    let signed = if known {
        None
    } else {
        keys.signed
            .get(&msg.signed_pre_key_id())
            .and_then(Option::as_ref)
    };
    let one_time = match (known, msg.pre_key_id()) {
        (false, Some(id)) if !consumed.contains(&id) => {
            keys.one_time.get(&id).and_then(Option::as_ref)
        }
        _ => None,
    };
    record.decrypt_pre_key(
        &keys.identity,
        keys.registration_id,
        msg,
        signed,
        one_time,
        rng,
    )
}
