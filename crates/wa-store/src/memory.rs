//! The in-memory backend: [`MemoryContainer`] and its per-device [`MemoryStore`].
//!
//! Same behaviour as the SQLite backend (both run [`crate::store_conformance_tests!`]), nothing
//! survives the process. Records are kept serialized, as a database keeps them.

use std::collections::{BTreeMap, HashMap};

use crate::hashing::{DigestMap, FastMap};
use std::sync::{Arc, Mutex, MutexGuard};

use wa_binary::Jid;
use wa_signal::store::{ProtocolAddress, SenderKeyName};
use wa_signal::{PreKeyRecord, PublicKey, SenderKeyRecord, SessionRecord, SignedPreKeyRecord};

use crate::changes::Changes;
use crate::error::{Result, StoreError};
use crate::traits::{BoxFuture, Container, PreKeyCounts, Store};
use crate::types::{
    AppStateSyncKey, AppStateVersion, BufferedEvent, ChatSettings, ContactInfo, Device, DeviceId,
    MessageKey, OutgoingMessage, PrivacyToken, StoredDevice,
};

/// How many sent messages a device keeps for retries unless configured otherwise.
pub const DEFAULT_OUTGOING_CAPACITY: usize = 256;

#[derive(Debug)]
struct DeviceData {
    device: Device,
    identities: FastMap<ProtocolAddress, PublicKey>,
    sessions: FastMap<ProtocolAddress, Vec<u8>>,
    pre_keys: BTreeMap<u32, (PreKeyRecord, bool)>,
    last_pre_key_id: u32,
    signed_pre_keys: HashMap<u32, SignedPreKeyRecord>,
    sender_keys: HashMap<SenderKeyName, Vec<u8>>,
    distributions: HashMap<String, BTreeMap<String, Jid>>,
    sync_keys: HashMap<Vec<u8>, AppStateSyncKey>,
    versions: HashMap<String, AppStateVersion>,
    macs: HashMap<(String, Vec<u8>), Vec<u8>>,
    contacts: BTreeMap<String, (Jid, ContactInfo)>,
    chats: HashMap<Jid, ChatSettings>,
    secrets: HashMap<MessageKey, Vec<u8>>,
    tokens: HashMap<Jid, PrivacyToken>,
    lid_to_pn: FastMap<Jid, Jid>,
    pn_to_lid: FastMap<Jid, Jid>,
    outgoing: BTreeMap<u64, OutgoingMessage>,
    events: DigestMap<(u64, BufferedEvent)>,
    seq: u64,
}

impl DeviceData {
    fn new(device: Device) -> Self {
        let mut signed_pre_keys = HashMap::new();
        signed_pre_keys.insert(device.signed_pre_key.id, device.signed_pre_key.clone());
        Self {
            device,
            identities: FastMap::default(),
            sessions: FastMap::default(),
            pre_keys: BTreeMap::new(),
            last_pre_key_id: 0,
            signed_pre_keys,
            sender_keys: HashMap::new(),
            distributions: HashMap::new(),
            sync_keys: HashMap::new(),
            versions: HashMap::new(),
            macs: HashMap::new(),
            contacts: BTreeMap::new(),
            chats: HashMap::new(),
            secrets: HashMap::new(),
            tokens: HashMap::new(),
            lid_to_pn: FastMap::default(),
            pn_to_lid: FastMap::default(),
            outgoing: BTreeMap::new(),
            events: DigestMap::default(),
            seq: 0,
        }
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn apply(&mut self, c: Changes, outgoing_capacity: usize) {
        if let Some(device) = c.device {
            self.signed_pre_keys
                .insert(device.signed_pre_key.id, device.signed_pre_key.clone());
            self.device = device;
        }
        self.identities.extend(c.identities);
        for r in &c.removed_identities {
            self.identities.retain(|a, _| !r.matches(a));
        }
        self.sessions.extend(c.sessions);
        for r in &c.removed_sessions {
            self.sessions.retain(|a, _| !r.matches(a));
        }
        for record in c.pre_keys {
            self.last_pre_key_id = record.id;
            self.pre_keys.insert(record.id, (record, false));
        }
        for id in c.removed_pre_keys {
            self.pre_keys.remove(&id);
        }
        if let Some(last) = c.pre_keys_uploaded_through {
            for (_, (_, uploaded)) in self.pre_keys.range_mut(..=last) {
                *uploaded = true;
            }
        }
        for r in c.signed_pre_keys {
            self.signed_pre_keys.insert(r.id, r);
        }
        self.sender_keys.extend(c.sender_keys);
        for (group, devices) in c.forgotten_distributions {
            let group = group.to_string();
            match devices {
                None => {
                    self.distributions.remove(&group);
                }
                Some(devices) => {
                    if let Some(set) = self.distributions.get_mut(&group) {
                        for d in devices {
                            set.remove(&d.to_string());
                        }
                    }
                }
            }
        }
        for (group, devices) in c.distributions {
            let set = self.distributions.entry(group.to_string()).or_default();
            for d in devices {
                set.insert(d.to_string(), d);
            }
        }
        for (pn, lid) in &c.pn_to_lid_moves {
            move_user(&mut self.sessions, pn, lid, |a| a);
            move_user(&mut self.identities, pn, lid, |a| a);
            move_user(&mut self.sender_keys, pn, lid, |n| &mut n.sender);
        }
        for k in c.app_state_sync_keys {
            self.sync_keys.insert(k.key_id.clone(), k);
        }
        for v in c.app_state_versions {
            self.versions.insert(v.name.clone(), v);
        }
        for name in c.removed_app_state_versions {
            self.versions.remove(&name);
            self.macs.retain(|(n, _), _| n != &name);
        }
        for (name, _version, macs) in c.mutation_macs {
            for m in macs {
                self.macs.insert((name.clone(), m.index_mac), m.value_mac);
            }
        }
        for (name, indexes) in c.removed_mutation_macs {
            for index in indexes {
                self.macs.remove(&(name.clone(), index));
            }
        }
        for (jid, info) in c.contacts {
            let entry = self
                .contacts
                .entry(jid.to_string())
                .or_insert_with(|| (jid, ContactInfo::default()));
            let stored = &mut entry.1;
            merge(&mut stored.first_name, info.first_name);
            merge(&mut stored.full_name, info.full_name);
            merge(&mut stored.push_name, info.push_name);
            merge(&mut stored.business_name, info.business_name);
        }
        self.chats.extend(c.chat_settings);
        for (key, secret) in c.message_secrets {
            self.secrets.entry(key).or_insert(secret);
        }
        for t in c.privacy_tokens {
            self.tokens.insert(t.jid.clone(), t);
        }
        for (lid, pn) in c.lid_mappings {
            if let Some(old_pn) = self.lid_to_pn.remove(&lid) {
                self.pn_to_lid.remove(&old_pn);
            }
            if let Some(old_lid) = self.pn_to_lid.remove(&pn) {
                self.lid_to_pn.remove(&old_lid);
            }
            self.lid_to_pn.insert(lid.clone(), pn.clone());
            self.pn_to_lid.insert(pn, lid);
        }
        for m in c.outgoing_messages {
            self.outgoing
                .retain(|_, o| !(o.chat == m.chat && o.id == m.id));
            let seq = self.next_seq();
            self.outgoing.insert(seq, m);
        }
        while self.outgoing.len() > outgoing_capacity {
            self.outgoing.pop_first();
        }
        for e in c.buffered_events {
            let seq = self.next_seq();
            self.events.insert(e.hash, (seq, e));
        }
        for hash in c.cleared_events {
            if let Some((_, e)) = self.events.get_mut(&hash) {
                e.plaintext = None;
            }
        }
        if let Some(before) = c.events_deleted_before {
            self.events.retain(|_, (_, e)| e.inserted_at >= before);
        }
    }
}

/// Re-keys every entry whose address (reached through `address`) belongs to user `from` to
/// user `to`, replacing entries already there.
fn move_user<K, V, H: core::hash::BuildHasher>(
    map: &mut HashMap<K, V, H>,
    from: &str,
    to: &str,
    address: impl Fn(&mut K) -> &mut ProtocolAddress,
) where
    K: Clone + Eq + core::hash::Hash,
{
    let keys: Vec<K> = (map.keys())
        .filter(|k| address(&mut (*k).clone()).name == from)
        .cloned()
        .collect();
    for key in keys {
        if let Some(value) = map.remove(&key) {
            let mut moved = key;
            address(&mut moved).name = to.to_owned();
            map.insert(moved, value);
        }
    }
}

fn merge(stored: &mut Option<String>, new: Option<String>) {
    if new.is_some() {
        *stored = new;
    }
}

#[derive(Debug)]
struct Db {
    next_id: i64,
    devices: BTreeMap<i64, DeviceData>,
    outgoing_capacity: usize,
}

impl Db {
    fn jid_taken(&self, jid: Option<&Jid>, except: Option<i64>) -> bool {
        let Some(jid) = jid.map(Jid::to_string) else {
            return false;
        };
        self.devices.iter().any(|(id, d)| {
            Some(*id) != except && d.device.jid.as_ref().map(Jid::to_string) == Some(jid.clone())
        })
    }
}

fn lock(db: &Mutex<Db>) -> Result<MutexGuard<'_, Db>> {
    db.lock().map_err(|_| StoreError::Closed)
}

/// Devices kept in memory. Cheap to clone; clones share the devices.
#[derive(Clone, Debug)]
pub struct MemoryContainer {
    db: Arc<Mutex<Db>>,
}

impl Default for MemoryContainer {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryContainer {
    /// An empty container.
    pub fn new() -> Self {
        Self {
            db: Arc::new(Mutex::new(Db {
                next_id: 1,
                devices: BTreeMap::new(),
                outgoing_capacity: DEFAULT_OUTGOING_CAPACITY,
            })),
        }
    }

    /// Keeps at most `capacity` sent messages per device for retries.
    pub fn with_outgoing_capacity(self, capacity: usize) -> Self {
        if let Ok(mut db) = self.db.lock() {
            db.outgoing_capacity = capacity;
        }
        self
    }

    fn handle(&self, id: i64) -> MemoryStore {
        MemoryStore {
            db: Arc::clone(&self.db),
            id: DeviceId(id),
        }
    }
}

impl Container for MemoryContainer {
    type Store = MemoryStore;

    fn list(&self) -> BoxFuture<'_, Result<Vec<StoredDevice>>> {
        Box::pin(async move {
            let db = lock(&self.db)?;
            Ok(db
                .devices
                .iter()
                .map(|(id, d)| StoredDevice {
                    id: DeviceId(*id),
                    device: d.device.clone(),
                })
                .collect())
        })
    }

    fn get(&self, id: DeviceId) -> BoxFuture<'_, Result<Option<MemoryStore>>> {
        Box::pin(async move {
            let exists = lock(&self.db)?.devices.contains_key(&id.0);
            Ok(exists.then(|| self.handle(id.0)))
        })
    }

    fn get_by_jid<'a>(&'a self, jid: &'a Jid) -> BoxFuture<'a, Result<Option<MemoryStore>>> {
        Box::pin(async move {
            let wanted = jid.to_string();
            let found = (lock(&self.db)?.devices.iter())
                .find(|(_, d)| d.device.jid.as_ref().map(Jid::to_string) == Some(wanted.clone()))
                .map(|(id, _)| *id);
            Ok(found.map(|id| self.handle(id)))
        })
    }

    fn create(&self, device: Device) -> BoxFuture<'_, Result<MemoryStore>> {
        Box::pin(async move {
            let mut db = lock(&self.db)?;
            if db.jid_taken(device.jid.as_ref(), None) {
                return Err(StoreError::InvalidInput(
                    "JID already used by another device",
                ));
            }
            let id = db.next_id;
            db.next_id += 1;
            db.devices.insert(id, DeviceData::new(device));
            drop(db);
            Ok(self.handle(id))
        })
    }

    fn delete(&self, id: DeviceId) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            lock(&self.db)?.devices.remove(&id.0);
            Ok(())
        })
    }
}

/// One device's data in a [`MemoryContainer`].
#[derive(Clone, Debug)]
pub struct MemoryStore {
    db: Arc<Mutex<Db>>,
    id: DeviceId,
}

impl MemoryStore {
    /// Runs `f` on this device's data; `None` when the device is gone.
    fn read<T>(&self, f: impl FnOnce(&DeviceData) -> T) -> Result<Option<T>> {
        Ok(lock(&self.db)?.devices.get(&self.id.0).map(f))
    }

    fn read_opt<T>(&self, f: impl FnOnce(&DeviceData) -> Option<T>) -> Result<Option<T>> {
        Ok(self.read(f)?.flatten())
    }
}

fn decode_session(bytes: &[u8]) -> Result<SessionRecord> {
    SessionRecord::deserialize(bytes).map_err(|e| StoreError::corrupt("session", e))
}

fn decode_sender_key(bytes: &[u8]) -> Result<SenderKeyRecord> {
    SenderKeyRecord::deserialize(bytes).map_err(|e| StoreError::corrupt("sender key", e))
}

impl Store for MemoryStore {
    fn id(&self) -> DeviceId {
        self.id
    }

    fn device(&self) -> BoxFuture<'_, Result<Device>> {
        Box::pin(async move {
            self.read(|d| d.device.clone())?
                .ok_or(StoreError::NoDevice(self.id.0))
        })
    }

    fn commit(&self, changes: Changes) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let mut db = lock(&self.db)?;
            if !db.devices.contains_key(&self.id.0) {
                return Err(StoreError::NoDevice(self.id.0));
            }
            changes.validate()?;
            if let Some(d) = &changes.device
                && db.jid_taken(d.jid.as_ref(), Some(self.id.0))
            {
                return Err(StoreError::InvalidInput(
                    "JID already used by another device",
                ));
            }
            let capacity = db.outgoing_capacity;
            if let Some(data) = db.devices.get_mut(&self.id.0) {
                data.apply(changes, capacity);
            }
            Ok(())
        })
    }

    fn identity<'a>(
        &'a self,
        address: &'a ProtocolAddress,
    ) -> BoxFuture<'a, Result<Option<PublicKey>>> {
        Box::pin(async move { self.read_opt(|d| d.identities.get(address).copied()) })
    }

    fn session<'a>(
        &'a self,
        address: &'a ProtocolAddress,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>>> {
        Box::pin(async move {
            let bytes = self.read_opt(|d| d.sessions.get(address).cloned())?;
            bytes.map(|b| decode_session(&b)).transpose()
        })
    }

    fn sessions<'a>(
        &'a self,
        addresses: &'a [ProtocolAddress],
    ) -> BoxFuture<'a, Result<Vec<Option<SessionRecord>>>> {
        Box::pin(async move {
            let found = self
                .read(|d| {
                    (addresses.iter())
                        .map(|a| d.sessions.get(a).cloned())
                        .collect::<Vec<_>>()
                })?
                .unwrap_or_else(|| vec![None; addresses.len()]);
            found
                .into_iter()
                .map(|b| b.map(|b| decode_session(&b)).transpose())
                .collect()
        })
    }

    fn pre_key(&self, id: u32) -> BoxFuture<'_, Result<Option<PreKeyRecord>>> {
        Box::pin(async move { self.read_opt(|d| d.pre_keys.get(&id).map(|(r, _)| r.clone())) })
    }

    fn pre_key_counts(&self) -> BoxFuture<'_, Result<PreKeyCounts>> {
        Box::pin(async move {
            let counts = self.read(|d| PreKeyCounts {
                total: u32::try_from(d.pre_keys.len()).unwrap_or(u32::MAX),
                uploaded: u32::try_from(d.pre_keys.values().filter(|(_, u)| *u).count())
                    .unwrap_or(u32::MAX),
                last_id: d.last_pre_key_id,
            })?;
            Ok(counts.unwrap_or_default())
        })
    }

    fn signed_pre_key(&self, id: u32) -> BoxFuture<'_, Result<Option<SignedPreKeyRecord>>> {
        Box::pin(async move { self.read_opt(|d| d.signed_pre_keys.get(&id).cloned()) })
    }

    fn sender_key<'a>(
        &'a self,
        name: &'a SenderKeyName,
    ) -> BoxFuture<'a, Result<Option<SenderKeyRecord>>> {
        Box::pin(async move {
            let bytes = self.read_opt(|d| d.sender_keys.get(name).cloned())?;
            bytes.map(|b| decode_sender_key(&b)).transpose()
        })
    }

    fn sender_key_distribution<'a>(&'a self, group: &'a Jid) -> BoxFuture<'a, Result<Vec<Jid>>> {
        Box::pin(async move {
            let devices = self.read_opt(|d| {
                d.distributions
                    .get(&group.to_string())
                    .map(|set| set.values().cloned().collect::<Vec<_>>())
            })?;
            Ok(devices.unwrap_or_default())
        })
    }

    fn app_state_sync_key<'a>(
        &'a self,
        key_id: &'a [u8],
    ) -> BoxFuture<'a, Result<Option<AppStateSyncKey>>> {
        Box::pin(async move { self.read_opt(|d| d.sync_keys.get(key_id).cloned()) })
    }

    fn latest_app_state_sync_key(&self) -> BoxFuture<'_, Result<Option<AppStateSyncKey>>> {
        Box::pin(async move {
            self.read_opt(|d| {
                (d.sync_keys.values())
                    .max_by(|a, b| (a.timestamp, &a.key_id).cmp(&(b.timestamp, &b.key_id)))
                    .cloned()
            })
        })
    }

    fn app_state_version<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<AppStateVersion>>> {
        Box::pin(async move { self.read_opt(|d| d.versions.get(name).cloned()) })
    }

    fn mutation_mac<'a>(
        &'a self,
        name: &'a str,
        index_mac: &'a [u8],
    ) -> BoxFuture<'a, Result<Option<Vec<u8>>>> {
        Box::pin(async move {
            self.read_opt(|d| d.macs.get(&(name.to_owned(), index_mac.to_vec())).cloned())
        })
    }

    fn contact<'a>(&'a self, jid: &'a Jid) -> BoxFuture<'a, Result<Option<ContactInfo>>> {
        Box::pin(async move {
            self.read_opt(|d| d.contacts.get(&jid.to_string()).map(|(_, c)| c.clone()))
        })
    }

    fn contacts(&self) -> BoxFuture<'_, Result<Vec<(Jid, ContactInfo)>>> {
        Box::pin(async move {
            Ok(self
                .read(|d| d.contacts.values().cloned().collect())?
                .unwrap_or_default())
        })
    }

    fn chat_settings<'a>(&'a self, chat: &'a Jid) -> BoxFuture<'a, Result<Option<ChatSettings>>> {
        Box::pin(async move { self.read_opt(|d| d.chats.get(chat).copied()) })
    }

    fn message_secret<'a>(&'a self, key: &'a MessageKey) -> BoxFuture<'a, Result<Option<Vec<u8>>>> {
        Box::pin(async move { self.read_opt(|d| d.secrets.get(key).cloned()) })
    }

    fn privacy_token<'a>(&'a self, jid: &'a Jid) -> BoxFuture<'a, Result<Option<PrivacyToken>>> {
        Box::pin(async move { self.read_opt(|d| d.tokens.get(jid).cloned()) })
    }

    fn pn_for_lid<'a>(&'a self, lid: &'a Jid) -> BoxFuture<'a, Result<Option<Jid>>> {
        Box::pin(async move { self.read_opt(|d| d.lid_to_pn.get(lid).cloned()) })
    }

    fn lid_for_pn<'a>(&'a self, pn: &'a Jid) -> BoxFuture<'a, Result<Option<Jid>>> {
        Box::pin(async move { self.read_opt(|d| d.pn_to_lid.get(pn).cloned()) })
    }

    fn outgoing_message<'a>(
        &'a self,
        chat: &'a Jid,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<OutgoingMessage>>> {
        Box::pin(async move {
            self.read_opt(|d| {
                (d.outgoing.values())
                    .find(|m| &m.chat == chat && m.id == id)
                    .cloned()
            })
        })
    }

    fn buffered_event<'a>(
        &'a self,
        hash: &'a [u8; 32],
    ) -> BoxFuture<'a, Result<Option<BufferedEvent>>> {
        Box::pin(async move { self.read_opt(|d| d.events.get(hash).map(|(_, e)| e.clone())) })
    }

    // One lock for the whole run's hashes (the default asks hash by hash).
    fn buffered_events<'a>(
        &'a self,
        hashes: &'a [[u8; 32]],
    ) -> BoxFuture<'a, Result<Vec<BufferedEvent>>> {
        Box::pin(async move {
            let found = self.read(|d| {
                (hashes.iter())
                    .filter_map(|h| d.events.get(h).map(|(_, e)| e.clone()))
                    .collect::<Vec<_>>()
            })?;
            Ok(found.unwrap_or_default())
        })
    }

    fn pending_events(&self) -> BoxFuture<'_, Result<Vec<BufferedEvent>>> {
        Box::pin(async move {
            let mut events = self
                .read(|d| {
                    (d.events.values())
                        .filter(|(_, e)| e.plaintext.is_some())
                        .cloned()
                        .collect::<Vec<_>>()
                })?
                .unwrap_or_default();
            events.sort_by_key(|(seq, e)| (e.inserted_at, *seq));
            Ok(events.into_iter().map(|(_, e)| e).collect())
        })
    }
}
