//! What the server remembers across connections: the account, its phone and companion devices.

use std::collections::{BTreeMap, HashMap, VecDeque};

use wa_binary::{Jid, Node, Server};

use crate::phone::Phone;
use crate::phone_sync::AppStateKey;

/// Identifies one client connection for the life of the server.
pub type ConnId = u64;

/// The test account.
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
}

/// All server-side state shared by connections (locked by the listener around each engine call).
#[derive(Debug)]
pub struct ServerState {
    /// The account every device belongs to.
    pub account: Account,
    /// The simulated primary phone.
    pub phone: Phone,
    /// Companion devices by id.
    pub devices: BTreeMap<u16, Device>,
    /// Next device id to hand out.
    pub next_device_id: u16,
    /// Next ADV key index to hand out.
    pub next_key_index: u32,
    /// Pairing references handed out, to the connection waiting with them.
    pub pair_refs: HashMap<String, ConnId>,
    /// Which connection each logged-in device is on.
    pub online: HashMap<u16, ConnId>,
    /// Connections waiting for a pairing code to be entered on the phone, oldest first.
    pub code_waiting: Vec<ConnId>,
    /// The phone's Signal sessions with its companions, by device id.
    pub phone_sessions: HashMap<u16, wa_signal::SessionRecord>,
    /// The app-state sync keys the phone shares with companions.
    pub app_state_keys: Vec<AppStateKey>,
    /// Faults switched on by the admin.
    pub faults: Faults,
    /// Bumped by every change worth persisting (see [`ServerState::touch`]).
    pub revision: u64,
    /// Stanzas routed to devices while they were offline, oldest first, by device id; sent
    /// on the device's next login before the offline marker. Not persisted.
    pub offline_queue: HashMap<u16, VecDeque<Node>>,
    /// Counter for ids of server-initiated stanzas (notifications).
    pub next_stanza_id: u64,
}

impl ServerState {
    /// Fresh state for `account` with its `phone`.
    #[must_use]
    pub fn new(account: Account, phone: Phone) -> Self {
        Self {
            account,
            phone,
            devices: BTreeMap::new(),
            next_device_id: 1,
            next_key_index: 1,
            pair_refs: HashMap::new(),
            online: HashMap::new(),
            code_waiting: Vec::new(),
            phone_sessions: HashMap::new(),
            app_state_keys: Vec::new(),
            revision: 0,
            faults: Faults::default(),
            offline_queue: HashMap::new(),
            next_stanza_id: 0,
        }
    }

    /// Records that persistent state (accounts, devices, prekeys, keys, sessions) changed.
    pub fn touch(&mut self) {
        self.revision = self.revision.wrapping_add(1);
    }

    /// Forgets every pairing reference held by `conn`.
    pub fn drop_refs_of(&mut self, conn: ConnId) {
        self.pair_refs.retain(|_, c| *c != conn);
        self.code_waiting.retain(|c| *c != conn);
    }

    /// Forgets device `id` (unlinked): its record, its phone session and its online entry.
    /// Returns the connection it was on, if any.
    pub fn remove_device(&mut self, id: u16) -> Option<ConnId> {
        self.touch();
        self.devices.remove(&id);
        self.phone_sessions.remove(&id);
        self.offline_queue.remove(&id);
        self.online.remove(&id)
    }

    /// Queues `node` for `device`'s next login (dropped if the device is unknown).
    pub fn queue_offline(&mut self, device: u16, node: Node) {
        if self.devices.contains_key(&device) {
            self.offline_queue
                .entry(device)
                .or_default()
                .push_back(node);
        }
    }

    /// Takes everything queued for `device`, oldest first.
    pub fn take_offline(&mut self, device: u16) -> Vec<Node> {
        self.offline_queue
            .remove(&device)
            .map(Vec::from)
            .unwrap_or_default()
    }

    /// How many stanzas wait for `device`'s next login.
    #[must_use]
    pub fn queued(&self, device: u16) -> usize {
        self.offline_queue.get(&device).map_or(0, VecDeque::len)
    }

    /// Marks `conn` offline (if it held a device).
    pub fn connection_closed(&mut self, conn: ConnId) {
        self.drop_refs_of(conn);
        self.online.retain(|_, c| *c != conn);
    }

    /// The device id for a companion JID of this account (PN or LID form), if it is one.
    #[must_use]
    pub fn device_of(&self, jid: &Jid) -> Option<u16> {
        let ours = match jid.server() {
            Server::User => jid.user() == self.account.phone_number,
            Server::Lid => jid.user() == self.account.lid,
            _ => false,
        };
        (ours && self.devices.contains_key(&jid.device())).then(|| jid.device())
    }
}
