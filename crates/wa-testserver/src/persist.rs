//! `--state DIR`: the server's keys, the accounts, their devices, prekeys, app-state keys and
//! patches, and the phone's Signal sessions, saved as `DIR/state.json` after every change and loaded at start.
//!
//! The file holds private keys of a *test* server (its root, its Noise key, the simulated
//! phone's identity): it is written with mode 0600 on Unix, and must never hold real secrets.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use wa_noise::KeyPair;

use crate::error::{Error, Result};
use crate::phone::Phone;
use crate::phone_sync::AppStateKey;
use crate::state::{Account, AccountState, Device, ServerState, SignedPreKey};

/// File name inside the state directory.
pub const STATE_FILE: &str = "state.json";
const FORMAT_VERSION: u32 = 1;

/// Keys that must survive restarts so clients keep trusting and reaching the server.
#[derive(Debug, Clone)]
pub struct ServerKeys {
    /// Certificate root (clients trust its public key).
    pub root: KeyPair,
    /// Certificate intermediate.
    pub intermediate: KeyPair,
    /// The server's static Noise key.
    pub noise: KeyPair,
}

/// The file: the server keys and the default account at the top level (the layout of the
/// single-account format, which still loads), further accounts in `other_accounts`.
#[derive(Serialize, Deserialize)]
struct Snapshot {
    version: u32,
    root_private: String,
    intermediate_private: String,
    noise_private: String,
    phone_private: String,
    phone_number: String,
    lid: String,
    push_name: String,
    created: u64,
    next_device_id: u16,
    next_key_index: u32,
    devices: Vec<DeviceSnap>,
    app_state_keys: Vec<KeySnap>,
    phone_sessions: BTreeMap<u16, String>,
    #[serde(default)]
    require_tctoken: bool,
    /// App-state patches (hex `SyncdPatch`es) by collection, oldest first.
    #[serde(default)]
    app_state: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    other_accounts: Vec<AccountSnap>,
}

/// One account other than the default one.
#[derive(Serialize, Deserialize)]
struct AccountSnap {
    phone_private: String,
    phone_number: String,
    lid: String,
    push_name: String,
    created: u64,
    next_device_id: u16,
    next_key_index: u32,
    devices: Vec<DeviceSnap>,
    app_state_keys: Vec<KeySnap>,
    phone_sessions: BTreeMap<u16, String>,
    #[serde(default)]
    require_tctoken: bool,
    /// App-state patches (hex `SyncdPatch`es) by collection, oldest first.
    #[serde(default)]
    app_state: BTreeMap<String, Vec<String>>,
}

#[derive(Serialize, Deserialize)]
struct DeviceSnap {
    id: u16,
    noise_key: String,
    identity_key: String,
    key_index: u32,
    registration_id: Option<u32>,
    signed_pre_key: Option<(u32, String, String)>,
    pre_keys: BTreeMap<u32, String>,
    logins: u32,
    platform: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct KeySnap {
    id: String,
    data: String,
    timestamp: i64,
}

fn bad(what: &str) -> Error {
    Error::Io(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("state file: bad {what}"),
    ))
}

fn arr<const N: usize>(s: &str, what: &str) -> Result<[u8; N]> {
    hex::decode(s)
        .ok()
        .and_then(|v| <[u8; N]>::try_from(v.as_slice()).ok())
        .ok_or_else(|| bad(what))
}

fn key(s: &str, what: &str) -> Result<KeyPair> {
    Ok(KeyPair::from_private_bytes(arr::<32>(s, what)?))
}

fn private_hex(k: &KeyPair) -> String {
    hex::encode(k.private_bytes().as_slice())
}

fn account_snap(a: &AccountState) -> AccountSnap {
    AccountSnap {
        phone_private: private_hex(a.phone.identity()),
        phone_number: a.account.phone_number.clone(),
        lid: a.account.lid.clone(),
        push_name: a.account.push_name.clone(),
        created: a.account.created,
        next_device_id: a.next_device_id,
        next_key_index: a.next_key_index,
        devices: a
            .devices
            .values()
            .map(|d| DeviceSnap {
                id: d.id,
                noise_key: hex::encode(d.noise_key),
                identity_key: hex::encode(d.identity_key),
                key_index: d.key_index,
                registration_id: d.registration_id,
                signed_pre_key: d
                    .signed_pre_key
                    .as_ref()
                    .map(|s| (s.id, hex::encode(s.public), hex::encode(s.signature))),
                pre_keys: d
                    .pre_keys
                    .iter()
                    .map(|(id, k)| (*id, hex::encode(k)))
                    .collect(),
                logins: d.logins,
                platform: d.platform.clone(),
            })
            .collect(),
        app_state_keys: a
            .app_state_keys
            .iter()
            .map(|k| KeySnap {
                id: hex::encode(&k.id),
                data: hex::encode(k.data),
                timestamp: k.timestamp,
            })
            .collect(),
        phone_sessions: a
            .phone_sessions
            .iter()
            .map(|(d, s)| (*d, hex::encode(s.serialize())))
            .collect(),
        require_tctoken: a.require_tctoken,
        app_state: a
            .app_state
            .stored()
            .iter()
            .map(|(name, list)| (name.clone(), list.iter().map(hex::encode).collect()))
            .collect(),
    }
}

fn account_state(snap: AccountSnap) -> Result<AccountState> {
    let account = Account {
        phone_number: snap.phone_number,
        lid: snap.lid,
        push_name: snap.push_name,
        created: snap.created,
    };
    let mut state = AccountState::new(account, Phone::new(key(&snap.phone_private, "phone key")?));
    state.next_device_id = snap.next_device_id;
    state.next_key_index = snap.next_key_index;
    state.require_tctoken = snap.require_tctoken;
    for d in snap.devices {
        let signed_pre_key = match d.signed_pre_key {
            Some((id, public, signature)) => Some(SignedPreKey {
                id,
                public: arr(&public, "signed prekey")?,
                signature: arr(&signature, "signed prekey signature")?,
            }),
            None => None,
        };
        let mut pre_keys = BTreeMap::new();
        for (id, k) in d.pre_keys {
            pre_keys.insert(id, arr(&k, "prekey")?);
        }
        state.devices.insert(
            d.id,
            Device {
                id: d.id,
                noise_key: arr(&d.noise_key, "device noise key")?,
                identity_key: arr(&d.identity_key, "device identity key")?,
                key_index: d.key_index,
                registration_id: d.registration_id,
                signed_pre_key,
                pre_keys,
                logins: d.logins,
                platform: d.platform,
            },
        );
    }
    for k in snap.app_state_keys {
        state.app_state_keys.push(AppStateKey {
            id: hex::decode(&k.id).map_err(|_| bad("app-state key id"))?,
            data: arr(&k.data, "app-state key")?,
            timestamp: k.timestamp,
        });
    }
    let mut sessions = HashMap::new();
    for (d, s) in snap.phone_sessions {
        let bytes = hex::decode(&s).map_err(|_| bad("phone session"))?;
        let record =
            wa_signal::SessionRecord::deserialize(&bytes).map_err(|_| bad("phone session"))?;
        sessions.insert(d, record);
    }
    state.phone_sessions = sessions;
    let mut patches = BTreeMap::new();
    for (name, list) in snap.app_state {
        let list = list
            .iter()
            .map(|p| hex::decode(p).map_err(|_| bad("app-state patch")))
            .collect::<Result<Vec<_>>>()?;
        patches.insert(name, list);
    }
    state.app_state = crate::appstate::AppStateCollections::restore(patches)
        .ok_or_else(|| bad("app-state patches"))?;
    Ok(state)
}

/// Serializes the state (every account) and keys.
pub fn to_json(state: &ServerState, keys: &ServerKeys) -> Result<Vec<u8>> {
    let mut accounts = state.accounts.iter().map(account_snap);
    let first = accounts
        .next()
        .ok_or_else(|| bad("state without accounts"))?;
    let snap = Snapshot {
        version: FORMAT_VERSION,
        root_private: private_hex(&keys.root),
        intermediate_private: private_hex(&keys.intermediate),
        noise_private: private_hex(&keys.noise),
        phone_private: first.phone_private,
        phone_number: first.phone_number,
        lid: first.lid,
        push_name: first.push_name,
        created: first.created,
        next_device_id: first.next_device_id,
        next_key_index: first.next_key_index,
        devices: first.devices,
        app_state_keys: first.app_state_keys,
        phone_sessions: first.phone_sessions,
        require_tctoken: first.require_tctoken,
        app_state: first.app_state,
        other_accounts: accounts.collect(),
    };
    serde_json::to_vec_pretty(&snap).map_err(|e| Error::Io(std::io::Error::other(e)))
}

/// Restores state and keys from [`to_json`]'s output (or the single-account format).
pub fn from_json(bytes: &[u8]) -> Result<(ServerState, ServerKeys)> {
    let snap: Snapshot = serde_json::from_slice(bytes)
        .map_err(|e| Error::Io(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
    if snap.version != FORMAT_VERSION {
        return Err(bad("format version"));
    }
    let keys = ServerKeys {
        root: key(&snap.root_private, "root key")?,
        intermediate: key(&snap.intermediate_private, "intermediate key")?,
        noise: key(&snap.noise_private, "noise key")?,
    };
    let first = account_state(AccountSnap {
        phone_private: snap.phone_private,
        phone_number: snap.phone_number,
        lid: snap.lid,
        push_name: snap.push_name,
        created: snap.created,
        next_device_id: snap.next_device_id,
        next_key_index: snap.next_key_index,
        devices: snap.devices,
        app_state_keys: snap.app_state_keys,
        phone_sessions: snap.phone_sessions,
        require_tctoken: snap.require_tctoken,
        app_state: snap.app_state,
    })?;
    let mut state = ServerState::new(first.account.clone(), first.phone.clone());
    state.accounts = vec![first];
    for other in snap.other_accounts {
        let a = account_state(other)?;
        if state
            .add_account(a.account.clone(), a.phone.clone())
            .is_err()
        {
            return Err(bad("duplicate account"));
        }
        state.accounts.pop();
        state.accounts.push(a);
    }
    state.revision = 0;
    Ok((state, keys))
}

/// The state file in `dir`.
#[must_use]
pub fn state_path(dir: &Path) -> PathBuf {
    dir.join(STATE_FILE)
}

/// Loads `dir/state.json` if it exists.
pub fn load(dir: &Path) -> Result<Option<(ServerState, ServerKeys)>> {
    match std::fs::read(state_path(dir)) {
        Ok(bytes) => from_json(&bytes).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Writes `data` to `path`, readable by the owner only (mode 0600 on Unix), and syncs it.
pub fn write_private(path: &Path, data: &[u8]) -> Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path)?;
    std::io::Write::write_all(&mut f, data)?;
    f.sync_all()?;
    Ok(())
}

/// Writes `json` to `dir/state.json` atomically (temporary file, then rename), mode 0600.
pub fn save(dir: &Path, json: &[u8]) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!("{STATE_FILE}.tmp"));
    write_private(&tmp, json)?;
    std::fs::rename(&tmp, state_path(dir))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn round_trip_and_corrupt_files() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let account = Account {
            phone_number: "1555".into(),
            lid: "999".into(),
            push_name: "P".into(),
            created: 7,
        };
        let mut state = ServerState::new(account, Phone::new(KeyPair::generate(&mut rng)));
        state
            .add_account(
                Account {
                    phone_number: "1666".into(),
                    lid: "888".into(),
                    push_name: "Q".into(),
                    created: 8,
                },
                Phone::new(KeyPair::generate(&mut rng)),
            )
            .unwrap();
        state.accounts[1].require_tctoken = true;
        let second_phone = *state.accounts[1].phone.identity().public();
        let mut state_all = state;
        let state = &mut state_all.accounts[0];
        state.next_device_id = 3;
        state.next_key_index = 4;
        state.devices.insert(
            2,
            Device {
                id: 2,
                noise_key: [1; 32],
                identity_key: [2; 32],
                key_index: 3,
                registration_id: Some(77),
                signed_pre_key: Some(SignedPreKey {
                    id: 1,
                    public: [3; 32],
                    signature: [4; 64],
                }),
                pre_keys: [(5, [5; 32]), (6, [6; 32])].into_iter().collect(),
                logins: 2,
                platform: Some("Chrome (Linux)".into()),
            },
        );
        state
            .app_state_keys
            .push(AppStateKey::generate(1_000, &mut rng));
        state
            .phone_sessions
            .insert(2, wa_signal::SessionRecord::new());
        let patch = wa_proto::proto::SyncdPatch {
            mutations: vec![wa_proto::proto::SyncdMutation::default()],
            ..Default::default()
        };
        state
            .app_state
            .upload("regular_low", 0, &prost::Message::encode_to_vec(&patch))
            .unwrap();
        let keys = ServerKeys {
            root: KeyPair::generate(&mut rng),
            intermediate: KeyPair::generate(&mut rng),
            noise: KeyPair::generate(&mut rng),
        };
        let json = to_json(&state_all, &keys).unwrap();
        let state = &state_all.accounts[0];
        let (back_all, back_keys) = from_json(&json).unwrap();
        assert_eq!(back_all.accounts.len(), 2);
        assert_eq!(back_all.accounts[1].account.phone_number, "1666");
        assert_eq!(
            back_all.accounts[1].phone.identity().public(),
            &second_phone
        );
        assert!(back_all.accounts[1].require_tctoken);
        let back = &back_all.accounts[0];
        assert_eq!(back_keys.root.public(), keys.root.public());
        assert_eq!(back_keys.noise.public(), keys.noise.public());
        assert_eq!(
            back.phone.identity().public(),
            state.phone.identity().public()
        );
        assert_eq!(back.account.created, 7);
        assert_eq!((back.next_device_id, back.next_key_index), (3, 4));
        let d = &back.devices[&2];
        assert_eq!(d.pre_keys.len(), 2);
        assert_eq!(d.signed_pre_key, state.devices[&2].signed_pre_key);
        assert_eq!(d.platform.as_deref(), Some("Chrome (Linux)"));
        assert_eq!(back.app_state_keys, state.app_state_keys);
        assert_eq!(back.app_state, state.app_state);
        assert_eq!(back.app_state.version("regular_low"), 1);
        assert!(back.phone_sessions.contains_key(&2));
        // Saved and loaded through a directory, file mode 0600.
        let dir = tempfile::tempdir().unwrap();
        assert!(load(dir.path()).unwrap().is_none());
        save(dir.path(), &json).unwrap();
        assert!(load(dir.path()).unwrap().is_some());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(state_path(dir.path()))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Corrupt files are errors, not panics.
        assert!(from_json(b"{").is_err());
        let text = String::from_utf8(json).unwrap();
        assert!(
            from_json(
                text.replacen("\"root_private\": \"", "\"root_private\": \"zz", 1)
                    .as_bytes()
            )
            .is_err()
        );
        assert!(from_json(text.replace("\"version\": 1", "\"version\": 9").as_bytes()).is_err());
    }
}
