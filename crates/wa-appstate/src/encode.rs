//! Encoding outgoing patches (and snapshots, for a simulated primary device).

use rand_core::CryptoRng;
use wa_proto::prost::Message as _;
use wa_proto::proto::{
    KeyId, SyncActionData, SyncActionValue, SyncdIndex, SyncdMutation, SyncdPatch, SyncdRecord,
    SyncdSnapshot, SyncdValue, SyncdVersion,
};

use crate::collection::Collection;
use crate::crypto::aes_cbc_encrypt;
use crate::error::{AppStateError, Result};
use crate::keys::{AppStateKey, MutationKeys};
use crate::mac;
use crate::mutation::Operation;
use crate::state::{HashState, MacChanges, Tracker, apply_all};

/// One mutation to send: the index, the action's schema version and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct MutationInfo {
    /// SET or REMOVE.
    pub operation: Operation,
    /// The index: action name, then its arguments. Sent as its JSON array text.
    pub index: Vec<String>,
    /// The action's schema version (`SyncActionData.version`), fixed per action.
    pub version: i32,
    /// The action value. Its `timestamp` is set by [`encode_patch`].
    pub value: SyncActionValue,
}

/// A patch to send: mutations of one collection. Build one with the constructors in this
/// crate (`PatchInfo::mute`, `PatchInfo::pin`, …) or by hand.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchInfo {
    /// The collection the mutations belong to.
    pub collection: Collection,
    /// The mutations, in order.
    pub mutations: Vec<MutationInfo>,
}

/// An encoded patch and the state it leads to.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedPatch {
    /// The patch to put in `<patch>` of the `w:sync:app:state` IQ. Its `version` is left
    /// out, as whatsmeow and Baileys send it: the server assigns `state.version`.
    pub patch: SyncdPatch,
    /// The collection state once the server accepts the patch (version + 1).
    pub state: HashState,
    /// The MAC rows that change with it.
    pub mac_changes: MacChanges,
}

/// The index JSON: a JSON array of strings, escaped as JavaScript's `JSON.stringify` does (the
/// index MAC is computed over these exact bytes, so every client must agree on them).
pub fn index_json(index: &[String]) -> Vec<u8> {
    // serde_json escapes `"`, `\` and control characters, lowercase `\u00xx` otherwise, and
    // leaves `/` and non-ASCII alone, as JSON.stringify does.
    serde_json::to_vec(index).unwrap_or_else(|_| b"[]".to_vec())
}

/// A record sealed under `keys`: index MAC, IV + ciphertext + value MAC, key id.
fn seal<R: CryptoRng + ?Sized>(
    keys: &MutationKeys,
    key_id: &[u8],
    m: &MutationInfo,
    timestamp_ms: Option<i64>,
    rng: &mut R,
) -> SyncdRecord {
    let index = index_json(&m.index);
    let mut value = m.value.clone();
    if let Some(ts) = timestamp_ms {
        value.timestamp = Some(ts);
    }
    let data = SyncActionData {
        index: Some(index.clone()),
        value: Some(value),
        padding: Some(Vec::new()),
        version: Some(m.version),
    };
    let mut iv = [0u8; 16];
    rng.fill_bytes(&mut iv);
    let mut blob = iv.to_vec();
    blob.extend_from_slice(&aes_cbc_encrypt(
        keys.value_encryption(),
        &iv,
        &data.encode_to_vec(),
    ));
    let value_mac = mac::value_mac(keys.value_mac(), m.operation, key_id, &blob);
    blob.extend_from_slice(&value_mac);
    SyncdRecord {
        index: Some(SyncdIndex {
            blob: Some(mac::index_mac(keys.index(), &index).to_vec()),
        }),
        value: Some(SyncdValue { blob: Some(blob) }),
        key_id: Some(KeyId {
            id: Some(key_id.to_vec()),
        }),
    }
}

/// Index and value MAC of a sealed record (both present by construction).
fn macs(record: &SyncdRecord) -> ([u8; 32], [u8; 32]) {
    let index = record
        .index
        .as_ref()
        .and_then(|i| i.blob.as_deref())
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .unwrap_or_default();
    let value = record
        .value
        .as_ref()
        .and_then(|v| v.blob.as_deref())
        .and_then(|b| b.last_chunk::<32>())
        .copied()
        .unwrap_or_default();
    (index, value)
}

/// Encodes `info` as the next patch of its collection on top of `state` (whatsmeow
/// `EncodePatch`, Baileys `encodeSyncdPatch`): encrypts each mutation under `key` with a
/// random IV from `rng`, stamps each value with `timestamp_ms` (ms since the epoch), updates
/// the LTHash and computes the snapshot and patch MACs for version `state.version + 1`.
pub fn encode_patch<R: CryptoRng + ?Sized>(
    info: &PatchInfo,
    state: &HashState,
    key_id: &[u8],
    key: &AppStateKey,
    timestamp_ms: i64,
    rng: &mut R,
) -> Result<EncodedPatch> {
    if info.mutations.is_empty() {
        return Err(AppStateError::EmptyPatch);
    }
    let keys = key.expand();
    let name = info.collection.as_str();
    let mutations: Vec<SyncdMutation> = info
        .mutations
        .iter()
        .map(|m| SyncdMutation {
            operation: Some(m.operation.to_wire()),
            record: Some(seal(&keys, key_id, m, Some(timestamp_ms), rng)),
        })
        .collect();
    let mut next = state.clone();
    let mut tracker = Tracker::default();
    apply_all(
        &mut next,
        &mut tracker,
        info.mutations.iter().zip(&mutations).map(|(m, sm)| {
            let (i, v) = sm.record.as_ref().map(macs).unwrap_or_default();
            (m.operation, i, v)
        }),
    );
    next.version = state.version.wrapping_add(1);
    let snapshot_mac = mac::snapshot_mac(keys.snapshot_mac(), &next.hash, next.version, name);
    let value_macs: Vec<[u8; 32]> = mutations
        .iter()
        .map(|m| m.record.as_ref().map(macs).unwrap_or_default().1)
        .collect();
    let patch_mac = mac::patch_mac(
        keys.patch_mac(),
        &snapshot_mac,
        value_macs.iter().map(|v| v.as_slice()),
        next.version,
        name,
    );
    let mac_changes = tracker.changes(&next.index_value_map);
    Ok(EncodedPatch {
        patch: SyncdPatch {
            version: None,
            mutations,
            external_mutations: None,
            snapshot_mac: Some(snapshot_mac.to_vec()),
            patch_mac: Some(patch_mac.to_vec()),
            key_id: Some(KeyId {
                id: Some(key_id.to_vec()),
            }),
            exit_code: None,
            device_index: None,
            client_debug_data: None,
        },
        state: next,
        mac_changes,
    })
}

/// Encodes a snapshot of `collection` at `version` holding `records` (all SETs; their values
/// keep the timestamps they carry), as the server sends one: what a simulated primary device
/// or a test server needs. Returns the snapshot and the state a client reaches by decoding it.
pub fn encode_snapshot<R: CryptoRng + ?Sized>(
    collection: Collection,
    version: u64,
    records: &[MutationInfo],
    key_id: &[u8],
    key: &AppStateKey,
    rng: &mut R,
) -> Result<(SyncdSnapshot, HashState)> {
    if records.iter().any(|m| m.operation != Operation::Set) {
        return Err(AppStateError::Malformed("snapshot records are SETs"));
    }
    let keys = key.expand();
    let sealed: Vec<SyncdRecord> = records
        .iter()
        .map(|m| seal(&keys, key_id, m, None, rng))
        .collect();
    let mut state = HashState::new();
    apply_all(
        &mut state,
        &mut Tracker::default(),
        sealed.iter().map(|r| {
            let (i, v) = macs(r);
            (Operation::Set, i, v)
        }),
    );
    state.version = version;
    let snapshot_mac = mac::snapshot_mac(
        keys.snapshot_mac(),
        &state.hash,
        version,
        collection.as_str(),
    );
    Ok((
        SyncdSnapshot {
            version: Some(SyncdVersion {
                version: Some(version),
            }),
            records: sealed,
            mac: Some(snapshot_mac.to_vec()),
            key_id: Some(KeyId {
                id: Some(key_id.to_vec()),
            }),
        },
        state,
    ))
}
