//! What the server remembers across connections: the accounts, their phones and companion devices.

use std::collections::{BTreeMap, HashMap, VecDeque};

use wa_binary::{Jid, Node, Server};

use crate::offline::QueuedStanza;
use crate::phone::Phone;
use crate::phone_sync::AppStateKey;

/// Identifies one client connection for the life of the server.
pub type ConnId = u64;

/// A test account's numbers and names.
#[derive(Debug, Clone)]
pub struct Account {
    /// Phone number (user part of the `@s.whatsapp.net` JID), e.g. `15551234567`.
    pub phone_number: String,
    /// LID user part (of the `@lid` JID).
    pub lid: String,
    /// The account's push name, sent as the `biz`/name hints.
    pub push_name: String,
    /// Unix seconds at which the account was created (the `creation` attribute of `success`).
    pub created: u64,
}

impl Account {
    /// The account's phone-number JID for `device` (0 is the phone).
    #[must_use]
    pub fn pn_jid(&self, device: u16) -> Jid {
        Jid::new(self.phone_number.clone(), Server::User).with_device(device)
    }

    /// The account's LID JID for `device`.
    #[must_use]
    pub fn lid_jid(&self, device: u16) -> Jid {
        Jid::new(self.lid.clone(), Server::Lid).with_device(device)
    }
}

/// A signed prekey as uploaded by a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedPreKey {
    /// Key id (24 bits on the wire).
    pub id: u32,
    /// Public key (32 bytes, no type prefix).
    pub public: [u8; 32],
    /// XEdDSA signature by the device identity key.
    pub signature: [u8; 64],
}

/// A companion device of the account.
#[derive(Debug, Clone)]
pub struct Device {
    /// Device id (the `:N` of its JID).
    pub id: u16,
    /// Its static Noise public key; a login must come from this key.
    pub noise_key: [u8; 32],
    /// Its Signal identity public key.
    pub identity_key: [u8; 32],
    /// ADV key index.
    pub key_index: u32,
    /// Signal registration id, once uploaded.
    pub registration_id: Option<u32>,
    /// Current signed prekey, once uploaded.
    pub signed_pre_key: Option<SignedPreKey>,
    /// One-time prekeys uploaded and not yet handed out, by id.
    pub pre_keys: BTreeMap<u32, [u8; 32]>,
    /// Number of completed logins.
    pub logins: u32,
    /// Platform name reported in the QR, if any.
    pub platform: Option<String>,
}

/// Faults the admin can switch on, for testing clients' error handling.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Faults {
    /// Leave `w:p` pings unanswered (clients should time out and reconnect).
    pub drop_pings: bool,
    /// Send `pair-success` with a wrong ADV HMAC (companions must refuse it).
    pub bad_adv_hmac: bool,
    /// Send `pair-success` with a wrong account signature under a valid HMAC (companions that
    /// verify the signature must refuse it).
    pub bad_account_signature: bool,
    /// Refuse 1:1 `<message>` stanzas without a `<tctoken>` child: they are not routed and
    /// the sender's ack carries `error='463'`.
    pub require_tctoken: bool,
    /// Store the downloadable history chunk with one bit flipped (its hash and MAC fail).
    pub corrupt_history_media: bool,
}

/// Index of an account in [`ServerState::accounts`] (0 is the default account).
pub type AccountId = usize;

/// One device of one account: the unit messages are routed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceKey {
    /// The account.
    pub account: AccountId,
    /// The device id (0 is the account's phone).
    pub device: u16,
}

impl DeviceKey {
    /// Device `device` of account `account`.
    #[must_use]
    pub fn new(account: AccountId, device: u16) -> Self {
        Self { account, device }
    }
}

/// Everything the server keeps about one account: its phone, companions and their queues.
#[derive(Debug)]
pub struct AccountState {
    /// Numbers and names.
    pub account: Account,
    /// The simulated primary phone.
    pub phone: Phone,
    /// Companion devices by id.
    pub devices: BTreeMap<u16, Device>,
    /// Next device id to hand out.
    pub next_device_id: u16,
    /// Next ADV key index to hand out.
    pub next_key_index: u32,
    /// The phone's Signal sessions with its companions, by device id.
    pub phone_sessions: HashMap<u16, wa_signal::SessionRecord>,
    /// The app-state sync keys the phone shares with companions.
    pub app_state_keys: Vec<AppStateKey>,
    /// The account's app-state collections (encrypted patches by version).
    pub app_state: crate::appstate::AppStateCollections,
    /// Stanzas routed to devices while they were offline, oldest first, by device id; sent
    /// on the device's next login before the offline marker. Kept encoded. Not persisted.
    pub offline_queue: HashMap<u16, VecDeque<QueuedStanza>>,
    /// Refuse 1:1 messages *to* this account without a valid `<tctoken>` (error 463).
    pub require_tctoken: bool,
    /// Privacy tokens this account issued, by the account holding them (the latest one).
    pub issued_tokens: HashMap<AccountId, Vec<u8>>,
    /// Conversations the phone sends new companions as a downloadable history chunk
    /// ([`crate::history`]). Not persisted.
    pub history_seed: Vec<wa_proto::proto::Conversation>,
    /// Receipts the companions sent to this account's phone, oldest first (bounded). Not
    /// persisted.
    pub phone_receipts: Vec<crate::history::PhoneReceipt>,
}

impl AccountState {
    /// A fresh account with no companions.
    #[must_use]
    pub fn new(account: Account, phone: Phone) -> Self {
        Self {
            account,
            phone,
            devices: BTreeMap::new(),
            next_device_id: 1,
            next_key_index: 1,
            phone_sessions: HashMap::new(),
            app_state_keys: Vec::new(),
            app_state: crate::appstate::AppStateCollections::default(),
            offline_queue: HashMap::new(),
            require_tctoken: false,
            issued_tokens: HashMap::new(),
            history_seed: Vec::new(),
            phone_receipts: Vec::new(),
        }
    }

    /// Whether `jid`'s user part names this account (phone-number or LID form, any device).
    #[must_use]
    pub fn owns(&self, jid: &Jid) -> bool {
        match jid.server() {
            Server::User => jid.user() == self.account.phone_number,
            Server::Lid => jid.user() == self.account.lid,
            _ => false,
        }
    }

    /// Device ids of the account: the phone (0) and every companion, ascending.
    #[must_use]
    pub fn all_device_ids(&self) -> Vec<u16> {
        std::iter::once(0)
            .chain(self.devices.keys().copied().filter(|d| *d != 0))
            .collect()
    }
}

/// All server-side state shared by connections (locked by the listener around each engine call).
#[derive(Debug)]
pub struct ServerState {
    /// Every account; index 0 is the default one (the single-account API acts on it).
    pub accounts: Vec<AccountState>,
    /// Pairing references handed out, to the connection waiting with them.
    pub pair_refs: HashMap<String, ConnId>,
    /// Which connection each logged-in device is on.
    pub online: HashMap<DeviceKey, ConnId>,
    /// Connections waiting for a pairing code to be entered on the phone of an account,
    /// oldest first.
    pub code_waiting: Vec<(ConnId, AccountId)>,
    /// Faults switched on by the admin.
    pub faults: Faults,
    /// Bumped by every change worth persisting (see [`ServerState::touch`]).
    pub revision: u64,
    /// Counter for ids of server-initiated stanzas (notifications).
    pub next_stanza_id: u64,
    /// Groups and communities (not persisted).
    pub groups: crate::groups::GroupRegistry,
    /// Uploaded media and the media server's address (not persisted).
    pub media: crate::media::MediaState,
    /// What each account last said of its presence (not persisted).
    pub presence: HashMap<AccountId, AccountPresence>,
    /// The devices subscribed to each account's presence (not persisted).
    pub presence_subscribers: HashMap<AccountId, std::collections::BTreeSet<DeviceKey>>,
    /// Each account's blocked users (not persisted).
    pub blocklists: HashMap<AccountId, AccountBlocklist>,
    /// Each account's privacy settings that differ from the defaults, by category name (not
    /// persisted).
    pub privacy: HashMap<AccountId, BTreeMap<String, String>>,
    /// Call stanzas handed out and acked, and those that reached the phones (not persisted).
    pub calls: crate::engine::CallLog,
    /// Each account's about text and when it was set (Unix seconds; not persisted).
    pub abouts: HashMap<AccountId, (String, u64)>,
    /// Profile pictures by their owner's JID text (an account's phone-number JID or a
    /// group's JID; not persisted).
    pub pictures: HashMap<String, ProfilePicture>,
    /// The id the next profile picture gets.
    pub next_picture_id: u64,
    /// Who sees each account's status posts: every account a post of it named in
    /// `<participants>` (which received its status sender key; not persisted).
    pub status_audience: HashMap<AccountId, std::collections::BTreeSet<AccountId>>,
    /// Each account's status privacy as `<iq xmlns="status" type="get"><privacy/>` answers
    /// it: `contacts`, `whitelist` or `blacklist`, and the users listed (set by the admin;
    /// "contacts" with no list when unset; not persisted).
    pub status_privacy: HashMap<AccountId, (String, Vec<Jid>)>,
}

/// A profile picture of an account or a group, as the server serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfilePicture {
    /// The picture's id (a decimal number, new for every picture).
    pub id: String,
    /// The full image, as uploaded.
    pub image: Vec<u8>,
    /// The thumbnail: the uploaded `<picture type="preview">`, else the image itself (the
    /// server does not resize).
    pub preview: Vec<u8>,
    /// The media-server paths of the image and of the preview.
    pub paths: [String; 2],
}

/// The users an account blocked, keyed by their JID's text (phone number or LID, no device).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountBlocklist {
    /// The blocked users.
    pub jids: std::collections::BTreeMap<String, Jid>,
    /// Bumped by every change; sent as the list's `dhash`.
    pub revision: u64,
}

/// An account's last `<presence type=available|unavailable>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountPresence {
    /// Online.
    pub available: bool,
    /// When it went offline (Unix seconds); meaningful when not `available`.
    pub last_seen: u64,
}

impl ServerState {
    /// Fresh state whose default account is `account` with its `phone`.
    #[must_use]
    pub fn new(account: Account, phone: Phone) -> Self {
        Self {
            accounts: vec![AccountState::new(account, phone)],
            pair_refs: HashMap::new(),
            online: HashMap::new(),
            code_waiting: Vec::new(),
            revision: 0,
            faults: Faults::default(),
            next_stanza_id: 0,
            groups: crate::groups::GroupRegistry::new(),
            media: crate::media::MediaState::default(),
            presence: HashMap::new(),
            presence_subscribers: HashMap::new(),
            blocklists: HashMap::new(),
            privacy: HashMap::new(),
            calls: crate::engine::CallLog::default(),
            abouts: HashMap::new(),
            status_audience: HashMap::new(),
            status_privacy: HashMap::new(),
            pictures: HashMap::new(),
            next_picture_id: 1,
        }
    }

    /// Whether account `blocker` blocked account `sender` (by its phone number or its LID).
    #[must_use]
    pub fn blocks(&self, blocker: AccountId, sender: AccountId) -> bool {
        let (Some(list), Some(s)) = (self.blocklists.get(&blocker), self.acct(sender)) else {
            return false;
        };
        list.jids.values().any(|j| s.owns(j))
    }

    /// Records that persistent state (accounts, devices, prekeys, keys, sessions) changed.
    pub fn touch(&mut self) {
        self.revision = self.revision.wrapping_add(1);
    }

    /// Account `id`, if it exists.
    #[must_use]
    pub fn acct(&self, id: AccountId) -> Option<&AccountState> {
        self.accounts.get(id)
    }

    /// Account `id` for changes, if it exists.
    pub fn acct_mut(&mut self, id: AccountId) -> Option<&mut AccountState> {
        self.accounts.get_mut(id)
    }

    /// Adds an account; returns its id. Fails (returning the existing id as `Err`) when the
    /// phone number or LID is already taken.
    pub fn add_account(
        &mut self,
        account: Account,
        phone: Phone,
    ) -> std::result::Result<AccountId, AccountId> {
        if let Some(i) = self.accounts.iter().position(|a| {
            a.account.phone_number == account.phone_number || a.account.lid == account.lid
        }) {
            return Err(i);
        }
        self.accounts.push(AccountState::new(account, phone));
        self.touch();
        Ok(self.accounts.len() - 1)
    }

    /// The account whose phone number is `phone` (digits, an optional leading `+` ignored).
    #[must_use]
    pub fn account_by_phone(&self, phone: &str) -> Option<AccountId> {
        let phone = phone.trim_start_matches('+');
        self.accounts
            .iter()
            .position(|a| a.account.phone_number == phone)
    }

    /// The account `jid`'s user part names (PN or LID form), if any.
    #[must_use]
    pub fn account_of(&self, jid: &Jid) -> Option<AccountId> {
        self.accounts.iter().position(|a| a.owns(jid))
    }

    /// The device for a JID of any account (PN or LID form): a paired companion or the
    /// phone (device 0).
    #[must_use]
    pub fn locate(&self, jid: &Jid) -> Option<DeviceKey> {
        let account = self.account_of(jid)?;
        let a = self.accounts.get(account)?;
        let device = jid.device();
        (device == 0 || a.devices.contains_key(&device)).then_some(DeviceKey { account, device })
    }

    /// Every companion device (not the phone, device 0) of `account`; none for an unknown
    /// account.
    #[must_use]
    pub fn companions(&self, account: AccountId) -> Vec<DeviceKey> {
        self.acct(account)
            .map(|a| {
                a.devices
                    .keys()
                    .filter(|d| **d != 0)
                    .map(|d| DeviceKey::new(account, *d))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The companion device for a JID of any account (PN or LID form); never the phone.
    #[must_use]
    pub fn companion(&self, jid: &Jid) -> Option<DeviceKey> {
        self.locate(jid).filter(|k| k.device != 0)
    }

    /// The companion record behind `key`.
    #[must_use]
    pub fn device(&self, key: DeviceKey) -> Option<&Device> {
        self.accounts.get(key.account)?.devices.get(&key.device)
    }

    /// The companion record behind `key`, for changes.
    pub fn device_mut(&mut self, key: DeviceKey) -> Option<&mut Device> {
        self.accounts
            .get_mut(key.account)?
            .devices
            .get_mut(&key.device)
    }

    /// Forgets every pairing reference held by `conn`.
    pub fn drop_refs_of(&mut self, conn: ConnId) {
        self.pair_refs.retain(|_, c| *c != conn);
        self.code_waiting.retain(|(c, _)| *c != conn);
    }

    /// Forgets companion `key` (unlinked): its record, its phone session and its online
    /// entry. Returns the connection it was on, if any.
    pub fn remove_device(&mut self, key: DeviceKey) -> Option<ConnId> {
        self.touch();
        if let Some(a) = self.accounts.get_mut(key.account) {
            a.devices.remove(&key.device);
            a.phone_sessions.remove(&key.device);
            a.offline_queue.remove(&key.device);
        }
        self.online.remove(&key)
    }

    /// Queues `node` for companion `key`'s next login (dropped if it is not a companion).
    /// Ephemeral stanzas ([`is_ephemeral`]) are dropped too: they reach only devices that are
    /// online, and land here only when the connection they were handed to ended meanwhile.
    /// A node the wire format cannot hold is dropped with an error logged: sending it would
    /// fail as well.
    pub fn queue_offline(&mut self, key: DeviceKey, node: Node) {
        if is_ephemeral(&node) {
            tracing::debug!(
                ?key,
                tag = node.tag.as_str(),
                "ephemeral stanza for a device gone offline: dropped"
            );
            return;
        }
        if let Some(a) = self.accounts.get_mut(key.account)
            && a.devices.contains_key(&key.device)
        {
            match QueuedStanza::encode(&node) {
                Ok(queued) => a
                    .offline_queue
                    .entry(key.device)
                    .or_default()
                    .push_back(queued),
                Err(e) => tracing::error!(
                    ?key,
                    tag = node.tag.as_str(),
                    "stanza cannot be encoded, not queued: {e}"
                ),
            }
        }
    }

    /// Puts `stanzas` (oldest first) back at the front of `key`'s queue, before anything
    /// queued since: the part of a login's offline backlog that never left when the
    /// connection ended.
    pub fn requeue_offline_front(
        &mut self,
        key: DeviceKey,
        stanzas: impl DoubleEndedIterator<Item = QueuedStanza>,
    ) {
        if let Some(a) = self.accounts.get_mut(key.account)
            && a.devices.contains_key(&key.device)
        {
            let queue = a.offline_queue.entry(key.device).or_default();
            for stanza in stanzas.rev() {
                queue.push_front(stanza);
            }
        }
    }

    /// Takes everything queued for `key`, oldest first.
    pub fn take_offline(&mut self, key: DeviceKey) -> VecDeque<QueuedStanza> {
        self.accounts
            .get_mut(key.account)
            .and_then(|a| a.offline_queue.remove(&key.device))
            .unwrap_or_default()
    }

    /// How many stanzas wait for `key`'s next login.
    #[must_use]
    pub fn queued(&self, key: DeviceKey) -> usize {
        self.accounts
            .get(key.account)
            .and_then(|a| a.offline_queue.get(&key.device))
            .map_or(0, VecDeque::len)
    }

    /// Marks `conn` offline (if it held a device).
    pub fn connection_closed(&mut self, conn: ConnId) {
        self.drop_refs_of(conn);
        self.online.retain(|_, c| *c != conn);
    }
}

/// Whether `node` is ephemeral on WhatsApp: chat states, presence updates and call signalling
/// reach the devices online when they are sent, and are never kept for a later login.
#[must_use]
pub fn is_ephemeral(node: &Node) -> bool {
    matches!(node.tag.as_str(), "chatstate" | "presence" | "call")
}
