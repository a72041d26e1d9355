//! Decoding and verifying snapshots and patches.

use std::collections::HashSet;

use wa_proto::prost::Message as _;
use wa_proto::proto::{SyncActionData, SyncdMutations, SyncdPatch, SyncdRecord, SyncdSnapshot};

use crate::collection::Collection;
use crate::crypto::{aes_cbc_decrypt, ct_eq};
use crate::error::{AppStateError, Result};
use crate::keys::{KeyCache, KeySource, MutationKeys};
use crate::mac;
use crate::mutation::{Mutation, Operation};
use crate::state::{HashState, IndexMac, MacChanges, Tracker, ValueMac, apply_all};

/// The smallest record value: 16-byte IV, one AES block, 32-byte value MAC.
const MIN_VALUE_LEN: usize = 16 + 16 + 32;

/// What decoding produced: the state to persist, the mutations to act on, and the MAC rows to
/// store.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The collection's new state.
    pub state: HashState,
    /// Every decoded mutation, in order (snapshot records first, as SETs).
    pub mutations: Vec<Mutation>,
    /// How the stored index → value MAC rows change (also reflected in `state`).
    pub mac_changes: MacChanges,
    /// Index MACs that REMOVE mutations named but the state did not hold. whatsmeow logs these
    /// and goes on (removing contact access creates one); nothing was subtracted for them.
    pub unknown_removals: Vec<IndexMac>,
}

/// A record split into its parts, borrowed from the protobuf.
struct Record<'p> {
    operation: Operation,
    index_mac: IndexMac,
    key_id: &'p [u8],
    /// IV followed by the ciphertext.
    encrypted: &'p [u8],
    value_mac: ValueMac,
}

fn parse_record(operation: Operation, record: Option<&SyncdRecord>) -> Result<Record<'_>> {
    let record = record.ok_or(AppStateError::Malformed("mutation without a record"))?;
    let index = record
        .index
        .as_ref()
        .and_then(|i| i.blob.as_deref())
        .ok_or(AppStateError::Malformed("record without an index MAC"))?;
    let index_mac = IndexMac::try_from(index)
        .map_err(|_| AppStateError::Malformed("index MAC is not 32 bytes"))?;
    let value = record
        .value
        .as_ref()
        .and_then(|v| v.blob.as_deref())
        .ok_or(AppStateError::Malformed("record without a value"))?;
    if value.len() < MIN_VALUE_LEN {
        return Err(AppStateError::Malformed("record value is too short"));
    }
    let too_short = AppStateError::Malformed("record value is too short");
    let (encrypted, mac) = value
        .split_at_checked(value.len() - 32)
        .ok_or_else(|| too_short.clone())?;
    let value_mac = ValueMac::try_from(mac).map_err(|_| too_short)?;
    let key_id = key_id(record.key_id.as_ref())?;
    Ok(Record {
        operation,
        index_mac,
        key_id,
        encrypted,
        value_mac,
    })
}

fn key_id(key_id: Option<&wa_proto::proto::KeyId>) -> Result<&[u8]> {
    key_id
        .and_then(|k| k.id.as_deref())
        .ok_or(AppStateError::Malformed("missing key id"))
}

/// Verifies the value MAC, decrypts, verifies the index MAC and parses the index.
fn open_record(keys: &MutationKeys, rec: &Record<'_>, version: u64, i: usize) -> Result<Mutation> {
    let expected = mac::value_mac(keys.value_mac(), rec.operation, rec.key_id, rec.encrypted);
    if !ct_eq(&expected, &rec.value_mac) {
        return Err(AppStateError::MismatchingContentMac {
            version,
            mutation: i,
        });
    }
    let undecryptable = AppStateError::UndecryptableValue {
        version,
        mutation: i,
    };
    let (iv, ciphertext) = rec
        .encrypted
        .split_first_chunk::<16>()
        .ok_or_else(|| undecryptable.clone())?;
    let plaintext = aes_cbc_decrypt(keys.value_encryption(), iv, ciphertext)
        .ok_or_else(|| undecryptable.clone())?;
    let data = SyncActionData::decode(plaintext.as_slice()).map_err(|_| undecryptable)?;
    let index_json = data.index.unwrap_or_default();
    let expected = mac::index_mac(keys.index(), &index_json);
    if !ct_eq(&expected, &rec.index_mac) {
        return Err(AppStateError::MismatchingIndexMac {
            version,
            mutation: i,
        });
    }
    let index: Vec<String> = serde_json::from_slice(&index_json)
        .map_err(|_| AppStateError::Malformed("index is not a JSON array of strings"))?;
    Ok(Mutation {
        operation: rec.operation,
        index,
        value: data.value,
        action_version: data.version,
        patch_version: version,
        index_mac: rec.index_mac,
        value_mac: rec.value_mac,
    })
}

/// Applies the records to `state` (as [`apply_all`] does) and moves it to `version`.
fn apply_records(
    state: &mut HashState,
    tracker: &mut Tracker,
    records: &[Record<'_>],
    version: u64,
) {
    apply_all(
        state,
        tracker,
        records
            .iter()
            .map(|r| (r.operation, r.index_mac, r.value_mac)),
    );
    state.version = version;
}

fn open_all<K: KeySource + ?Sized>(
    cache: &mut KeyCache<'_, K>,
    records: &[Record<'_>],
    version: u64,
) -> Result<Vec<Mutation>> {
    records
        .iter()
        .enumerate()
        .map(|(i, rec)| open_record(cache.get(rec.key_id)?, rec, version, i))
        .collect()
}

fn check_snapshot_mac<K: KeySource + ?Sized>(
    cache: &mut KeyCache<'_, K>,
    name: Collection,
    state: &HashState,
    key_id: &[u8],
    expected: &[u8],
) -> Result<()> {
    let keys = cache.get(key_id)?;
    let computed = mac::snapshot_mac(
        keys.snapshot_mac(),
        &state.hash,
        state.version,
        name.as_str(),
    );
    if ct_eq(&computed, expected) {
        Ok(())
    } else {
        Err(AppStateError::MismatchingLtHash {
            version: state.version,
        })
    }
}

/// Decodes a snapshot (the whole collection at one version) into a fresh state, verifying its
/// snapshot MAC and every record's value and index MAC.
///
/// Records are applied in order as SETs; a record repeating an earlier index replaces it.
pub fn decode_snapshot<K: KeySource + ?Sized>(
    name: Collection,
    snapshot: &SyncdSnapshot,
    keys: &K,
) -> Result<Decoded> {
    decode_patches(name, &HashState::new(), Some(snapshot), &[], keys)
}

fn snapshot_into<K: KeySource + ?Sized>(
    cache: &mut KeyCache<'_, K>,
    name: Collection,
    snapshot: &SyncdSnapshot,
    state: &mut HashState,
) -> Result<Vec<Mutation>> {
    let version = snapshot
        .version
        .and_then(|v| v.version)
        .ok_or(AppStateError::Malformed("snapshot without a version"))?;
    let key_id = key_id(snapshot.key_id.as_ref())?;
    let expected = snapshot
        .mac
        .as_deref()
        .ok_or(AppStateError::Malformed("snapshot without a MAC"))?;
    let records = snapshot
        .records
        .iter()
        .map(|r| parse_record(Operation::Set, Some(r)))
        .collect::<Result<Vec<_>>>()?;
    apply_records(state, &mut Tracker::default(), &records, version);
    check_snapshot_mac(cache, name, state, key_id, expected)?;
    open_all(cache, &records, version)
}

fn reset_changes(state: &HashState) -> MacChanges {
    let mut added: Vec<_> = state
        .index_value_map
        .iter()
        .map(|(i, v)| (*i, *v))
        .collect();
    added.sort_unstable();
    MacChanges {
        reset: true,
        added,
        removed: Vec::new(),
    }
}

/// Decodes one patch on top of `state`, verifying its patch MAC, every mutation's value and
/// index MAC, and the snapshot MAC of the resulting LTHash.
///
/// The patch must carry its `version` (the client sets it from the `<collection>` node when
/// the server leaves it out) and its mutations (see [`attach_external_mutations`]). The version
/// is taken as the server numbers it (the snapshot and patch MACs bind it); it is not required
/// to be `state.version + 1`.
pub fn decode_patch<K: KeySource + ?Sized>(
    name: Collection,
    state: &HashState,
    patch: &SyncdPatch,
    keys: &K,
) -> Result<Decoded> {
    decode_patches(name, state, None, std::slice::from_ref(patch), keys)
}

/// Decodes what the server returned for a collection: an optional snapshot (which replaces
/// `state`) followed by patches in order. All or nothing: on error, `state` is still current.
pub fn decode_patches<K: KeySource + ?Sized>(
    name: Collection,
    state: &HashState,
    snapshot: Option<&SyncdSnapshot>,
    patches: &[SyncdPatch],
    keys: &K,
) -> Result<Decoded> {
    let mut cache = KeyCache::new(keys);
    let mut tracker = Tracker::default();
    let (mut current, mut mutations, reset) = match snapshot {
        Some(s) => {
            let mut fresh = HashState::new();
            let m = snapshot_into(&mut cache, name, s, &mut fresh)?;
            (fresh, m, true)
        }
        None => (state.clone(), Vec::new(), false),
    };
    for patch in patches {
        let decoded = patch_into(&mut cache, name, patch, &mut current, &mut tracker)?;
        mutations.extend(decoded);
    }
    let mac_changes = if reset {
        reset_changes(&current)
    } else {
        tracker.changes(&current.index_value_map)
    };
    Ok(Decoded {
        state: current,
        mutations,
        mac_changes,
        unknown_removals: tracker.unknown_removals,
    })
}

fn patch_into<K: KeySource + ?Sized>(
    cache: &mut KeyCache<'_, K>,
    name: Collection,
    patch: &SyncdPatch,
    state: &mut HashState,
    tracker: &mut Tracker,
) -> Result<Vec<Mutation>> {
    let version = patch
        .version
        .and_then(|v| v.version)
        .ok_or(AppStateError::Malformed("patch without a version"))?;
    if patch.mutations.is_empty() && patch.external_mutations.is_some() {
        return Err(AppStateError::ExternalMutationsNotLoaded { version });
    }
    let key_id = key_id(patch.key_id.as_ref())?;
    let snapshot_mac = patch
        .snapshot_mac
        .as_deref()
        .ok_or(AppStateError::Malformed("patch without a snapshot MAC"))?;
    let patch_mac = patch
        .patch_mac
        .as_deref()
        .ok_or(AppStateError::Malformed("patch without a patch MAC"))?;
    let records = patch
        .mutations
        .iter()
        .map(|m| parse_record(Operation::from_wire(m.operation)?, m.record.as_ref()))
        .collect::<Result<Vec<_>>>()?;

    let keys = cache.get(key_id)?;
    let computed = mac::patch_mac(
        keys.patch_mac(),
        snapshot_mac,
        records.iter().map(|r| r.value_mac.as_slice()),
        version,
        name.as_str(),
    );
    if !ct_eq(&computed, patch_mac) {
        return Err(AppStateError::MismatchingPatchMac { version });
    }
    let mutations = open_all(cache, &records, version)?;
    apply_records(state, tracker, &records, version);
    check_snapshot_mac(cache, name, state, key_id, snapshot_mac)?;
    Ok(mutations)
}

/// The key ids that a snapshot and patches need and `keys` lacks, each once, in order of first
/// use: what to ask the primary device for before decoding.
pub fn missing_keys<K: KeySource + ?Sized>(
    snapshot: Option<&SyncdSnapshot>,
    patches: &[SyncdPatch],
    keys: &K,
) -> Vec<Vec<u8>> {
    let mut ids: Vec<&[u8]> = Vec::new();
    if let Some(s) = snapshot {
        ids.extend(s.key_id.as_ref().and_then(|k| k.id.as_deref()));
        ids.extend(
            s.records
                .iter()
                .filter_map(|r| r.key_id.as_ref().and_then(|k| k.id.as_deref())),
        );
    }
    for p in patches {
        ids.extend(p.key_id.as_ref().and_then(|k| k.id.as_deref()));
        ids.extend(p.mutations.iter().filter_map(|m| {
            m.record
                .as_ref()
                .and_then(|r| r.key_id.as_ref())
                .and_then(|k| k.id.as_deref())
        }));
    }
    let mut seen = HashSet::new();
    ids.into_iter()
        .filter(|id| seen.insert(*id))
        .filter(|id| keys.key(id).is_none())
        .map(<[u8]>::to_vec)
        .collect()
}

/// Puts the mutations of a downloaded external blob (a `SyncdMutations` protobuf, already
/// decrypted by the media layer) into `patch`, replacing any it had, as whatsmeow does.
pub fn attach_external_mutations(patch: &mut SyncdPatch, blob: &[u8]) -> Result<()> {
    let list = SyncdMutations::decode(blob)
        .map_err(|_| AppStateError::Malformed("external mutations are not a SyncdMutations"))?;
    if list.mutations.is_empty() {
        return Err(AppStateError::Malformed(
            "external mutations blob holds no mutations",
        ));
    }
    patch.mutations = list.mutations;
    Ok(())
}
