//! [`Changes`]: a batch of writes that a store commits atomically (one SQLite transaction).

use wa_binary::Jid;
use wa_signal::store::{ProtocolAddress, SenderKeyName};
use wa_signal::{PreKeyRecord, PublicKey, SenderKeyRecord, SessionRecord, SignedPreKeyRecord};

use crate::types::{
    AppStateSyncKey, AppStateVersion, BufferedEvent, ChatSettings, ContactInfo, Device, MessageKey,
    MutationMac, OutgoingMessage, PrivacyToken,
};

/// What a session or identity removal targets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Removal {
    /// One device.
    Address(ProtocolAddress),
    /// Every device of a user (address name).
    User(String),
}

impl Removal {
    /// True if `address` is targeted.
    pub(crate) fn matches(&self, address: &ProtocolAddress) -> bool {
        match self {
            Self::Address(a) => a == address,
            Self::User(user) => &address.name == user,
        }
    }
}

/// Writes to one device's data, applied all together or not at all by [`crate::Store::commit`].
///
/// Within one batch, writes apply in this order: device, identities (puts, then removals),
/// sessions (puts, then removals), prekeys (puts, then removals, then the uploaded mark), signed prekeys, sender keys,
/// sender-key distribution (forgets, then marks), PN→LID moves, app state (keys,
/// versions, MACs put then removed), contacts, chat settings, message secrets, privacy
/// tokens, LID mappings, outgoing messages (then the bound is enforced), buffered events (put,
/// then cleared, then old ones deleted). Later writes to the same key win.
#[derive(Clone, Default)]
pub struct Changes {
    pub(crate) device: Option<Device>,
    pub(crate) identities: Vec<(ProtocolAddress, PublicKey)>,
    pub(crate) removed_identities: Vec<Removal>,
    pub(crate) sessions: Vec<(ProtocolAddress, Vec<u8>)>,
    pub(crate) removed_sessions: Vec<Removal>,
    pub(crate) pre_keys: Vec<PreKeyRecord>,
    pub(crate) removed_pre_keys: Vec<u32>,
    pub(crate) pre_keys_uploaded_through: Option<u32>,
    pub(crate) signed_pre_keys: Vec<SignedPreKeyRecord>,
    pub(crate) sender_keys: Vec<(SenderKeyName, Vec<u8>)>,
    pub(crate) forgotten_distributions: Vec<(Jid, Option<Vec<Jid>>)>,
    pub(crate) distributions: Vec<(Jid, Vec<Jid>)>,
    pub(crate) pn_to_lid_moves: Vec<(String, String)>,
    pub(crate) app_state_sync_keys: Vec<AppStateSyncKey>,
    pub(crate) app_state_versions: Vec<AppStateVersion>,
    pub(crate) removed_app_state_versions: Vec<String>,
    pub(crate) mutation_macs: Vec<(String, u64, Vec<MutationMac>)>,
    pub(crate) removed_mutation_macs: Vec<(String, Vec<Vec<u8>>)>,
    pub(crate) contacts: Vec<(Jid, ContactInfo)>,
    pub(crate) chat_settings: Vec<(Jid, ChatSettings)>,
    pub(crate) message_secrets: Vec<(MessageKey, Vec<u8>)>,
    pub(crate) privacy_tokens: Vec<PrivacyToken>,
    pub(crate) lid_mappings: Vec<(Jid, Jid)>,
    pub(crate) outgoing_messages: Vec<OutgoingMessage>,
    pub(crate) buffered_events: Vec<BufferedEvent>,
    pub(crate) cleared_events: Vec<[u8; 32]>,
    pub(crate) events_deleted_before: Option<i64>,
    /// Where each address's pending session sits in `sessions`: a later write replaces it in
    /// place, so a batch that advances one session many times (a burst of messages from one
    /// chat) holds and commits it once.
    session_slots: std::collections::HashMap<ProtocolAddress, usize>,
    /// The same for `sender_keys`.
    sender_key_slots: std::collections::HashMap<SenderKeyName, usize>,
}

/// Prints how many writes of each kind the batch holds, never their (secret) contents.
impl core::fmt::Debug for Changes {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Changes")
            .field("device", &self.device.is_some())
            .field("identities", &self.identities.len())
            .field("sessions", &self.sessions.len())
            .field("removed_sessions", &self.removed_sessions.len())
            .field("pre_keys", &self.pre_keys.len())
            .field("removed_pre_keys", &self.removed_pre_keys.len())
            .field("signed_pre_keys", &self.signed_pre_keys.len())
            .field("sender_keys", &self.sender_keys.len())
            .field("distributions", &self.distributions.len())
            .field("pn_to_lid_moves", &self.pn_to_lid_moves.len())
            .field("app_state_sync_keys", &self.app_state_sync_keys.len())
            .field("app_state_versions", &self.app_state_versions.len())
            .field("mutation_macs", &self.mutation_macs.len())
            .field("contacts", &self.contacts.len())
            .field("message_secrets", &self.message_secrets.len())
            .field("outgoing_messages", &self.outgoing_messages.len())
            .field("buffered_events", &self.buffered_events.len())
            .finish_non_exhaustive()
    }
}

impl Changes {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// True when the batch writes nothing.
    pub fn is_empty(&self) -> bool {
        self.device.is_none()
            && self.identities.is_empty()
            && self.removed_identities.is_empty()
            && self.sessions.is_empty()
            && self.removed_sessions.is_empty()
            && self.pre_keys.is_empty()
            && self.removed_pre_keys.is_empty()
            && self.pre_keys_uploaded_through.is_none()
            && self.signed_pre_keys.is_empty()
            && self.sender_keys.is_empty()
            && self.forgotten_distributions.is_empty()
            && self.distributions.is_empty()
            && self.pn_to_lid_moves.is_empty()
            && self.app_state_sync_keys.is_empty()
            && self.app_state_versions.is_empty()
            && self.removed_app_state_versions.is_empty()
            && self.mutation_macs.is_empty()
            && self.removed_mutation_macs.is_empty()
            && self.contacts.is_empty()
            && self.chat_settings.is_empty()
            && self.message_secrets.is_empty()
            && self.privacy_tokens.is_empty()
            && self.lid_mappings.is_empty()
            && self.outgoing_messages.is_empty()
            && self.buffered_events.is_empty()
            && self.cleared_events.is_empty()
            && self.events_deleted_before.is_none()
    }

    /// Checks what a backend cannot store (app-state versions above `i64::MAX`), so a batch
    /// is refused whole instead of failing half-way.
    pub(crate) fn validate(&self) -> crate::Result<()> {
        let too_big = |v: u64| i64::try_from(v).is_err();
        if self.app_state_versions.iter().any(|v| too_big(v.version))
            || self.mutation_macs.iter().any(|(_, v, _)| too_big(*v))
        {
            return Err(crate::StoreError::InvalidInput(
                "app state version above i64::MAX",
            ));
        }
        Ok(())
    }

    /// Replaces the device record (its signed prekey is stored as a signed prekey too).
    pub fn set_device(&mut self, device: Device) -> &mut Self {
        self.device = Some(device);
        self
    }

    /// Stores (or replaces) the identity key of `address`.
    pub fn put_identity(&mut self, address: ProtocolAddress, key: PublicKey) -> &mut Self {
        self.identities.push((address, key));
        self
    }

    /// Forgets the identity of `address`.
    pub fn remove_identity(&mut self, address: ProtocolAddress) -> &mut Self {
        self.removed_identities.push(Removal::Address(address));
        self
    }

    /// Forgets the identities of every device of `user` (the address name).
    pub fn remove_identities_of(&mut self, user: impl Into<String>) -> &mut Self {
        self.removed_identities.push(Removal::User(user.into()));
        self
    }

    /// Deletes the session with `address`.
    pub fn remove_session(&mut self, address: ProtocolAddress) -> &mut Self {
        self.removed_sessions.push(Removal::Address(address));
        self
    }

    /// Deletes the sessions with every device of `user` (the address name).
    pub fn remove_sessions_of(&mut self, user: impl Into<String>) -> &mut Self {
        self.removed_sessions.push(Removal::User(user.into()));
        self
    }

    /// Stores the session record of `address` (serialized now).
    pub fn put_session(&mut self, address: ProtocolAddress, record: &SessionRecord) -> &mut Self {
        let bytes = record.serialize();
        match self
            .session_slots
            .get(&address)
            .and_then(|&i| self.sessions.get_mut(i))
        {
            Some(entry) => entry.1 = bytes,
            None => {
                self.session_slots
                    .insert(address.clone(), self.sessions.len());
                self.sessions.push((address, bytes));
            }
        }
        self
    }

    /// Stores a one-time prekey (not yet uploaded).
    pub fn put_pre_key(&mut self, record: PreKeyRecord) -> &mut Self {
        self.pre_keys.push(record);
        self
    }

    /// Removes a consumed one-time prekey.
    pub fn remove_pre_key(&mut self, id: u32) -> &mut Self {
        self.removed_pre_keys.push(id);
        self
    }

    /// Marks every stored prekey with id `<= last_id` as uploaded to the server.
    pub fn mark_pre_keys_uploaded(&mut self, last_id: u32) -> &mut Self {
        self.pre_keys_uploaded_through = Some(last_id);
        self
    }

    /// Stores a signed prekey.
    pub fn put_signed_pre_key(&mut self, record: SignedPreKeyRecord) -> &mut Self {
        self.signed_pre_keys.push(record);
        self
    }

    /// Stores a sender-key record (serialized now).
    pub fn put_sender_key(&mut self, name: SenderKeyName, record: &SenderKeyRecord) -> &mut Self {
        let bytes = record.serialize();
        match self
            .sender_key_slots
            .get(&name)
            .and_then(|&i| self.sender_keys.get_mut(i))
        {
            Some(entry) => entry.1 = bytes,
            None => {
                self.sender_key_slots
                    .insert(name.clone(), self.sender_keys.len());
                self.sender_keys.push((name, bytes));
            }
        }
        self
    }

    /// Records that our sender key for `group` was distributed to `devices` (device JIDs), so
    /// the next send to the group skips them. Applied after this batch's forgets.
    pub fn mark_sender_key_distributed(
        &mut self,
        group: Jid,
        devices: impl IntoIterator<Item = Jid>,
    ) -> &mut Self {
        self.distributions
            .push((group, devices.into_iter().collect()));
        self
    }

    /// Forgets every device our sender key for `group` was distributed to (after a key
    /// rotation everyone needs the new key).
    pub fn forget_sender_key_distribution(&mut self, group: Jid) -> &mut Self {
        self.forgotten_distributions.push((group, None));
        self
    }

    /// Forgets that `devices` hold our sender key for `group` (a device whose session was
    /// reset needs the key again).
    pub fn forget_sender_key_distribution_to(
        &mut self,
        group: Jid,
        devices: impl IntoIterator<Item = Jid>,
    ) -> &mut Self {
        self.forgotten_distributions
            .push((group, Some(devices.into_iter().collect())));
        self
    }

    /// Moves the sessions, identities and sender keys of every device of phone-number user
    /// `pn_user` to the same device of LID user `lid_user` (replacing what the LID user had
    /// there), as whatsmeow's `MigratePNToLID`. Applied after the batch's other Signal writes.
    pub fn migrate_pn_to_lid(
        &mut self,
        pn_user: impl Into<String>,
        lid_user: impl Into<String>,
    ) -> &mut Self {
        self.pn_to_lid_moves.push((pn_user.into(), lid_user.into()));
        self
    }

    /// Stores an app-state sync key.
    pub fn put_app_state_sync_key(&mut self, key: AppStateSyncKey) -> &mut Self {
        self.app_state_sync_keys.push(key);
        self
    }

    /// Stores the version and LTHash of a collection.
    pub fn put_app_state_version(&mut self, version: AppStateVersion) -> &mut Self {
        self.app_state_versions.push(version);
        self
    }

    /// Forgets a collection's version and all of its mutation MACs (a full resync follows).
    pub fn remove_app_state_version(&mut self, name: impl Into<String>) -> &mut Self {
        self.removed_app_state_versions.push(name.into());
        self
    }

    /// Stores mutation MACs of a collection at `version`.
    pub fn put_mutation_macs(
        &mut self,
        name: impl Into<String>,
        version: u64,
        macs: Vec<MutationMac>,
    ) -> &mut Self {
        self.mutation_macs.push((name.into(), version, macs));
        self
    }

    /// Removes mutation MACs (by index MAC) of a collection.
    pub fn remove_mutation_macs(
        &mut self,
        name: impl Into<String>,
        index_macs: Vec<Vec<u8>>,
    ) -> &mut Self {
        self.removed_mutation_macs.push((name.into(), index_macs));
        self
    }

    /// Upserts a contact: `Some` fields overwrite, `None` fields keep what is stored.
    pub fn upsert_contact(&mut self, jid: Jid, info: ContactInfo) -> &mut Self {
        self.contacts.push((jid, info));
        self
    }

    /// Stores a chat's settings.
    pub fn put_chat_settings(&mut self, chat: Jid, settings: ChatSettings) -> &mut Self {
        self.chat_settings.push((chat, settings));
        self
    }

    /// Stores a message secret; an existing secret for the same message is kept.
    pub fn put_message_secret(&mut self, key: MessageKey, secret: Vec<u8>) -> &mut Self {
        self.message_secrets.push((key, secret));
        self
    }

    /// Stores (or replaces) a privacy token.
    pub fn put_privacy_token(&mut self, token: PrivacyToken) -> &mut Self {
        self.privacy_tokens.push(token);
        self
    }

    /// Maps a LID user to a phone-number user (both without device); replaces any mapping of
    /// either side.
    pub fn put_lid_mapping(&mut self, lid: Jid, pn: Jid) -> &mut Self {
        // Every message of a chat reveals the same mapping: keep one copy per batch. A pending
        // identical pair counts only if no later pending write mentions either side.
        for (l, p) in self.lid_mappings.iter().rev() {
            if *l == lid && *p == pn {
                return self;
            }
            if *l == lid || *p == pn {
                break;
            }
        }
        self.lid_mappings.push((lid, pn));
        self
    }

    /// Caches a sent message for retries; the oldest entries beyond the store's bound go.
    pub fn put_outgoing_message(&mut self, message: OutgoingMessage) -> &mut Self {
        self.outgoing_messages.push(message);
        self
    }

    /// Buffers a decrypted message until the application handled it.
    pub fn buffer_event(&mut self, event: BufferedEvent) -> &mut Self {
        self.buffered_events.push(event);
        self
    }

    /// Drops a buffered plaintext (the application handled it); the hash stays.
    pub fn clear_buffered_event(&mut self, hash: [u8; 32]) -> &mut Self {
        self.cleared_events.push(hash);
        self
    }

    /// Deletes buffered events inserted before `inserted_before` (unix seconds).
    pub fn delete_buffered_events_before(&mut self, inserted_before: i64) -> &mut Self {
        self.events_deleted_before = Some(inserted_before);
        self
    }
}

#[cfg(test)]
mod tests {
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    use super::*;

    #[test]
    fn repeated_writes_in_one_batch_are_kept_once_and_the_last_one_wins() {
        let lid = |u: &str| Jid::new(u, wa_binary::Server::Lid);
        let pn = |u: &str| Jid::new(u, wa_binary::Server::User);
        let mut c = Changes::new();
        for _ in 0..3 {
            c.put_lid_mapping(lid("1"), pn("10"));
            c.put_lid_mapping(lid("2"), pn("20"));
        }
        assert_eq!(c.lid_mappings.len(), 2);
        // A conflicting write in between: the repeat must be kept so it wins again.
        c.put_lid_mapping(lid("3"), pn("10"));
        c.put_lid_mapping(lid("1"), pn("10"));
        assert_eq!(c.lid_mappings.len(), 4);
        assert_eq!(c.lid_mappings.last(), Some(&(lid("1"), pn("10"))));

        // Sessions: one pending copy per address, in first-write order.
        let record = SessionRecord::new();
        for _ in 0..3 {
            c.put_session(ProtocolAddress::new("10", 1), &record);
            c.put_session(ProtocolAddress::new("20", 1), &record);
        }
        let addresses: Vec<&ProtocolAddress> = c.sessions.iter().map(|(a, _)| a).collect();
        assert_eq!(
            addresses,
            [
                &ProtocolAddress::new("10", 1),
                &ProtocolAddress::new("20", 1)
            ]
        );
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let device = Device::generate(&mut ChaCha20Rng::seed_from_u64(1));
        let secrets = [
            format!("{:?}", device.adv_secret_key.0),
            format!("{:?}", device.noise_key.private.as_bytes()),
            format!("{:?}", device.identity_key.private().as_bytes()),
            format!("{:?}", device.signed_pre_key.key_pair.private.as_bytes()),
        ];
        let record = SessionRecord::new();
        let mut changes = Changes::new();
        changes
            .set_device(device.clone())
            .put_session(ProtocolAddress::new("a", 1), &record)
            .put_message_secret(
                MessageKey {
                    chat: Jid::default(),
                    sender: Jid::default(),
                    id: "x".into(),
                },
                vec![201, 202, 203],
            );
        for shown in [format!("{device:?}"), format!("{changes:?}")] {
            for secret in &secrets {
                assert!(!shown.contains(secret.as_str()), "{shown}");
            }
            assert!(!shown.contains("201, 202, 203"), "{shown}");
        }
        assert!(format!("{changes:?}").contains("sessions: 1"));
    }
}
