//! Decoding and verification: round trips with our encoder, every MAC tampered with, missing
//! keys, snapshots followed by patches, REMOVE, malformed input.

use std::collections::HashMap;

use aes::Aes256;
use aes::cipher::{BlockModeEncrypt, KeyIvInit, block_padding::NoPadding};
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use wa_appstate::{
    Action, AppStateError, AppStateKey, Collection, Decoded, HashState, LtHash, MessageRef,
    MutationInfo, Operation, PatchInfo, attach_external_mutations, decode_patch, decode_patches,
    decode_snapshot, encode_patch, encode_snapshot, mac, missing_keys,
};
use wa_proto::prost::Message as _;
use wa_proto::proto::sync_action_value::ContactAction;
use wa_proto::proto::{
    ExternalBlobReference, SyncActionData, SyncdMutations, SyncdPatch, SyncdVersion,
};

const KEY_ID: &[u8] = b"\x00\x01key-one";
const TS: i64 = 1_700_000_000_000;
const ALICE: &str = "111@s.whatsapp.net";
const BOB: &str = "222@s.whatsapp.net";

fn key() -> AppStateKey {
    AppStateKey::new([0x42; 32])
}

fn keys() -> HashMap<Vec<u8>, AppStateKey> {
    HashMap::from([(KEY_ID.to_vec(), key())])
}

/// `patch` decoded onto an empty state with [`keys`].
fn decode_fresh(name: Collection, patch: &SyncdPatch) -> Result<Decoded, AppStateError> {
    decode_patch(name, &HashState::new(), patch, &keys())
}

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(9)
}

/// Encodes `info` on top of `state` and numbers it as the server would.
fn encode(info: &PatchInfo, state: &HashState, rng: &mut ChaCha20Rng) -> (SyncdPatch, HashState) {
    let out = encode_patch(info, state, KEY_ID, &key(), TS, rng).unwrap();
    let mut patch = out.patch;
    patch.version = Some(SyncdVersion {
        version: Some(out.state.version),
    });
    (patch, out.state)
}

fn merge(a: PatchInfo, b: PatchInfo) -> PatchInfo {
    assert_eq!(a.collection, b.collection);
    PatchInfo {
        collection: a.collection,
        mutations: a.mutations.into_iter().chain(b.mutations).collect(),
    }
}

/// Re-MACs a patch after tampering, as an attacker holding the key could.
fn remac(patch: &mut SyncdPatch, name: Collection) {
    let keys = key().expand();
    let macs: Vec<Vec<u8>> = patch
        .mutations
        .iter()
        .map(|m| {
            let b = m
                .record
                .as_ref()
                .unwrap()
                .value
                .as_ref()
                .unwrap()
                .blob
                .as_ref()
                .unwrap();
            b[b.len() - 32..].to_vec()
        })
        .collect();
    let pm = mac::patch_mac(
        keys.patch_mac(),
        patch.snapshot_mac.as_deref().unwrap(),
        macs.iter().map(|m| m.as_slice()),
        patch.version.unwrap().version.unwrap(),
        name.as_str(),
    );
    patch.patch_mac = Some(pm.to_vec());
}

fn value_blob(patch: &mut SyncdPatch, i: usize) -> &mut Vec<u8> {
    patch.mutations[i]
        .record
        .as_mut()
        .unwrap()
        .value
        .as_mut()
        .unwrap()
        .blob
        .as_mut()
        .unwrap()
}

/// A value blob with a valid value MAC around arbitrary (padded or not) plaintext.
fn sealed_value(op: Operation, plaintext_blocks: &[u8]) -> Vec<u8> {
    assert_eq!(plaintext_blocks.len() % 16, 0);
    let k = key().expand();
    let iv = [3u8; 16];
    let mut buf = plaintext_blocks.to_vec();
    let n = buf.len();
    cbc::Encryptor::<Aes256>::new(k.value_encryption().into(), (&iv).into())
        .encrypt_padded::<NoPadding>(&mut buf, n)
        .unwrap();
    let mut blob = iv.to_vec();
    blob.extend_from_slice(&buf);
    let vm = mac::value_mac(k.value_mac(), op, KEY_ID, &blob);
    blob.extend_from_slice(&vm);
    blob
}

fn pkcs7(mut data: Vec<u8>) -> Vec<u8> {
    let pad = 16 - data.len() % 16;
    data.extend(std::iter::repeat_n(pad as u8, pad));
    data
}

#[test]
fn round_trip_several_patches() {
    let mut rng = rng();
    let name = Collection::RegularHigh;
    let mut sender = HashState::new();
    let mut patches = Vec::new();
    for info in [
        PatchInfo::mute(ALICE, true, Some(TS + 3_600_000)),
        merge(PatchInfo::mute(BOB, true, None), PatchInfo::clear_chat(BOB)),
        PatchInfo::mute(ALICE, false, None), // overwrites the first record
    ] {
        let (p, s) = encode(&info, &sender, &mut rng);
        patches.push(p);
        sender = s;
    }
    let got = decode_patches(name, &HashState::new(), None, &patches, &keys()).unwrap();
    assert_eq!(got.state, sender);
    assert_eq!(got.state.version, 3);
    assert_eq!(got.state.index_value_map.len(), 3);
    assert_eq!(got.mutations.len(), 4);
    assert_eq!(
        got.mutations[3].action(),
        Action::Mute {
            chat: ALICE.into(),
            muted: false,
            end_timestamp_ms: None
        }
    );
    assert_eq!(got.mutations[0].value.as_ref().unwrap().timestamp, Some(TS));
    assert_eq!(got.mutations[0].action_version, Some(2));
    assert_eq!(got.mutations[2].patch_version, 2);
    // Net rows: three added (the overwritten one once, with its final value), none removed.
    assert_eq!(got.mac_changes.added.len(), 3);
    assert!(got.mac_changes.removed.is_empty());
    assert!(!got.mac_changes.reset);
    // One at a time gives the same state.
    let mut step = HashState::new();
    for p in &patches {
        step = decode_patch(name, &step, p, &keys()).unwrap().state;
    }
    assert_eq!(step, sender);
    // The LTHash is the sum of the value MACs held.
    let mut sum = LtHash::ZERO;
    for v in sender.index_value_map.values() {
        sum.add(v);
    }
    assert_eq!(sender.hash, sum);
}

#[test]
fn remove_subtracts_the_previous_value() {
    let mut rng = rng();
    let name = Collection::CriticalUnblockLow;
    let contact = |n: &str| ContactAction {
        full_name: Some(n.into()),
        ..Default::default()
    };
    let (p1, s1) = encode(
        &merge(
            PatchInfo::contact(ALICE, contact("A")),
            PatchInfo::contact(BOB, contact("B")),
        ),
        &HashState::new(),
        &mut rng,
    );
    let (p2, s2) = encode(&PatchInfo::remove_contact(ALICE), &s1, &mut rng);
    let after1 = decode_fresh(name, &p1).unwrap();
    let got = decode_patch(name, &after1.state, &p2, &keys()).unwrap();
    assert_eq!(got.state, s2);
    assert_eq!(got.state.index_value_map.len(), 1);
    let bob_value = *got.state.index_value_map.values().next().unwrap();
    let mut only_bob = LtHash::ZERO;
    only_bob.add(&bob_value);
    assert_eq!(got.state.hash, only_bob);
    assert_eq!(got.mutations[0].operation, Operation::Remove);
    assert_eq!(
        got.mutations[0].action(),
        Action::ContactRemoved { jid: ALICE.into() }
    );
    assert_eq!(got.mac_changes.removed, vec![got.mutations[0].index_mac]);
    assert!(got.mac_changes.added.is_empty());
    assert!(got.unknown_removals.is_empty());
}

#[test]
fn remove_of_unknown_index_is_reported_and_ignored() {
    let mut rng = rng();
    let name = Collection::CriticalUnblockLow;
    let (p, s) = encode(
        &PatchInfo::remove_contact(ALICE),
        &HashState::new(),
        &mut rng,
    );
    let got = decode_fresh(name, &p).unwrap();
    assert_eq!(got.state, s);
    assert_eq!(got.state.hash, LtHash::ZERO);
    assert_eq!(got.unknown_removals, vec![got.mutations[0].index_mac]);
}

#[test]
fn snapshot_then_patches() {
    let mut rng = rng();
    let name = Collection::RegularLow;
    let records: Vec<MutationInfo> = [
        PatchInfo::pin(ALICE, true),
        PatchInfo::archive(BOB, true),
        PatchInfo::mark_read(BOB, false),
    ]
    .into_iter()
    .flat_map(|p| p.mutations)
    .collect();
    let (snapshot, snap_state) =
        encode_snapshot(name, 7, &records, KEY_ID, &key(), &mut rng).unwrap();
    let only = decode_snapshot(name, &snapshot, &keys()).unwrap();
    assert_eq!(only.state, snap_state);
    assert_eq!(only.state.version, 7);
    assert_eq!(only.mutations.len(), 3);
    assert!(only.mac_changes.reset);
    assert_eq!(only.mac_changes.added.len(), 3);

    let (p8, s8) = encode(&PatchInfo::pin(ALICE, false), &snap_state, &mut rng);
    let (p9, s9) = encode(&PatchInfo::archive(BOB, false), &s8, &mut rng);
    assert_eq!(p9.version.unwrap().version, Some(9));
    // The snapshot replaces whatever state the caller had.
    let mut stale = HashState::new();
    stale.version = 100;
    stale.hash.add(b"junk");
    let got = decode_patches(name, &stale, Some(&snapshot), &[p8, p9], &keys()).unwrap();
    assert_eq!(got.state, s9);
    assert_eq!(got.mutations.len(), 5);
    assert!(got.mac_changes.reset);
    assert_eq!(got.mac_changes.added.len(), 3);
    assert_eq!(
        got.mutations[4].action(),
        Action::Archive {
            chat: BOB.into(),
            archived: false
        }
    );
    // REMOVE records cannot go in a snapshot.
    let mut bad = records.clone();
    bad[0].operation = Operation::Remove;
    assert!(encode_snapshot(name, 1, &bad, KEY_ID, &key(), &mut rng).is_err());
}

#[test]
fn snapshot_mac_tampered() {
    let mut rng = rng();
    let name = Collection::RegularLow;
    let records = PatchInfo::pin(ALICE, true).mutations;
    let (snapshot, _) = encode_snapshot(name, 3, &records, KEY_ID, &key(), &mut rng).unwrap();
    let mut bad = snapshot.clone();
    bad.mac.as_mut().unwrap()[0] ^= 1;
    assert_eq!(
        decode_snapshot(name, &bad, &keys()),
        Err(AppStateError::MismatchingLtHash { version: 3 })
    );
    let mut bad = snapshot.clone();
    bad.version = Some(SyncdVersion { version: Some(4) });
    assert_eq!(
        decode_snapshot(name, &bad, &keys()),
        Err(AppStateError::MismatchingLtHash { version: 4 })
    );
    // The collection name is part of the MAC.
    assert_eq!(
        decode_snapshot(Collection::Regular, &snapshot, &keys()),
        Err(AppStateError::MismatchingLtHash { version: 3 })
    );
    let mut bad = snapshot.clone();
    bad.records[0]
        .value
        .as_mut()
        .unwrap()
        .blob
        .as_mut()
        .unwrap()[20] ^= 1;
    assert_eq!(
        decode_snapshot(name, &bad, &keys()),
        Err(AppStateError::MismatchingContentMac {
            version: 3,
            mutation: 0
        })
    );
}

fn one_patch() -> (SyncdPatch, Collection) {
    let mut rng = rng();
    let info = merge(
        PatchInfo::mute(ALICE, true, None),
        PatchInfo::mute(BOB, true, None),
    );
    (
        encode(&info, &HashState::new(), &mut rng).0,
        info.collection,
    )
}

#[test]
fn patch_mac_tampered() {
    let (patch, name) = one_patch();
    let err = Err(AppStateError::MismatchingPatchMac { version: 1 });
    let mut bad = patch.clone();
    bad.patch_mac.as_mut().unwrap()[31] ^= 0x80;
    assert_eq!(decode_fresh(name, &bad), err);
    // The patch MAC covers the snapshot MAC, every value MAC, the version and the name.
    let mut bad = patch.clone();
    bad.snapshot_mac.as_mut().unwrap()[0] ^= 1;
    assert_eq!(decode_fresh(name, &bad), err);
    let mut bad = patch.clone();
    let blob = value_blob(&mut bad, 1);
    let last = blob.len() - 1;
    blob[last] ^= 1;
    assert_eq!(decode_fresh(name, &bad), err);
    let mut bad = patch.clone();
    bad.mutations.swap(0, 1);
    assert_eq!(decode_fresh(name, &bad), err);
    let mut bad = patch.clone();
    bad.version = Some(SyncdVersion { version: Some(2) });
    assert_eq!(
        decode_fresh(name, &bad),
        Err(AppStateError::MismatchingPatchMac { version: 2 })
    );
    assert_eq!(decode_fresh(Collection::Regular, &patch), err);
}

#[test]
fn lthash_mismatch() {
    let (patch, name) = one_patch();
    // The patch was made on an empty collection; a receiver holding another record disagrees.
    let mut other = HashState::new();
    other.index_value_map.insert([9; 32], [8; 32]);
    other.hash.add(&[8; 32]);
    assert_eq!(
        decode_patch(name, &other, &patch, &keys()),
        Err(AppStateError::MismatchingLtHash { version: 1 })
    );
    // A snapshot MAC re-signed into the patch MAC but not matching the hash.
    let mut bad = patch.clone();
    bad.snapshot_mac.as_mut().unwrap()[5] ^= 1;
    remac(&mut bad, name);
    assert_eq!(
        decode_fresh(name, &bad),
        Err(AppStateError::MismatchingLtHash { version: 1 })
    );
}

#[test]
fn content_mac_tampered() {
    let (patch, name) = one_patch();
    // A flipped ciphertext bit: the patch MAC still holds (it covers only the value MACs).
    let mut bad = patch.clone();
    value_blob(&mut bad, 1)[17] ^= 1;
    assert_eq!(
        decode_fresh(name, &bad),
        Err(AppStateError::MismatchingContentMac {
            version: 1,
            mutation: 1
        })
    );
    // The operation is part of the value MAC.
    let mut bad = patch.clone();
    bad.mutations[0].operation = Some(Operation::Remove.to_wire());
    assert_eq!(
        decode_fresh(name, &bad),
        Err(AppStateError::MismatchingContentMac {
            version: 1,
            mutation: 0
        })
    );
    // A forged value MAC, re-signed into the patch MAC.
    let mut bad = patch.clone();
    let blob = value_blob(&mut bad, 0);
    let at = blob.len() - 5;
    blob[at] ^= 1;
    remac(&mut bad, name);
    assert_eq!(
        decode_fresh(name, &bad),
        Err(AppStateError::MismatchingContentMac {
            version: 1,
            mutation: 0
        })
    );
}

#[test]
fn index_mac_tampered() {
    let (patch, name) = one_patch();
    let mut bad = patch.clone();
    bad.mutations[1]
        .record
        .as_mut()
        .unwrap()
        .index
        .as_mut()
        .unwrap()
        .blob
        .as_mut()
        .unwrap()[0] ^= 1;
    assert_eq!(
        decode_fresh(name, &bad),
        Err(AppStateError::MismatchingIndexMac {
            version: 1,
            mutation: 1
        })
    );
    // Index MACs swapped between the two records.
    let mut bad = patch.clone();
    let i0 = bad.mutations[0].record.as_ref().unwrap().index.clone();
    let i1 = bad.mutations[1].record.as_ref().unwrap().index.clone();
    bad.mutations[0].record.as_mut().unwrap().index = i1;
    bad.mutations[1].record.as_mut().unwrap().index = i0;
    assert_eq!(
        decode_fresh(name, &bad),
        Err(AppStateError::MismatchingIndexMac {
            version: 1,
            mutation: 0
        })
    );
}

#[test]
fn missing_keys_are_typed_and_listed() {
    let (patch, name) = one_patch();
    let none = |_: &[u8]| None::<AppStateKey>;
    assert_eq!(
        decode_patch(name, &HashState::new(), &patch, &none),
        Err(AppStateError::MissingKey {
            id: KEY_ID.to_vec()
        })
    );
    assert_eq!(
        missing_keys(None, std::slice::from_ref(&patch), &none),
        vec![KEY_ID.to_vec()]
    );
    assert!(missing_keys(None, std::slice::from_ref(&patch), &keys()).is_empty());
    // A record under another key than its patch.
    let mut mixed = patch.clone();
    mixed.mutations[1]
        .record
        .as_mut()
        .unwrap()
        .key_id
        .as_mut()
        .unwrap()
        .id = Some(b"k2".to_vec());
    assert_eq!(
        missing_keys(None, std::slice::from_ref(&mixed), &keys()),
        vec![b"k2".to_vec()]
    );
    assert_eq!(
        decode_fresh(name, &mixed),
        Err(AppStateError::MissingKey { id: b"k2".to_vec() })
    );
    let mut rng = rng();
    let (snapshot, _) = encode_snapshot(
        name,
        1,
        &PatchInfo::mute(ALICE, true, None).mutations,
        b"k3",
        &key(),
        &mut rng,
    )
    .unwrap();
    assert_eq!(
        missing_keys(Some(&snapshot), &[patch], &keys()),
        vec![b"k3".to_vec()]
    );
    assert_eq!(
        decode_snapshot(name, &snapshot, &keys()),
        Err(AppStateError::MissingKey { id: b"k3".to_vec() })
    );
}

#[test]
fn crafted_plaintexts_with_valid_macs() {
    let (patch, name) = one_patch();
    let k = key().expand();
    let set_record = |bad: &mut SyncdPatch, index: &[u8], blob: Vec<u8>| {
        let r = bad.mutations[0].record.as_mut().unwrap();
        r.index.as_mut().unwrap().blob = Some(mac::index_mac(k.index(), index).to_vec());
        r.value.as_mut().unwrap().blob = Some(blob);
        remac(bad, name);
    };
    // Bad padding.
    let mut bad = patch.clone();
    set_record(&mut bad, b"[]", sealed_value(Operation::Set, &[0u8; 32]));
    assert_eq!(
        decode_fresh(name, &bad),
        Err(AppStateError::UndecryptableValue {
            version: 1,
            mutation: 0
        })
    );
    // Not a protobuf.
    let mut bad = patch.clone();
    set_record(
        &mut bad,
        b"[]",
        sealed_value(Operation::Set, &pkcs7(vec![0xff; 7])),
    );
    assert_eq!(
        decode_fresh(name, &bad),
        Err(AppStateError::UndecryptableValue {
            version: 1,
            mutation: 0
        })
    );
    // An index that is not a JSON array of strings.
    for index in [&b"{\"a\":1}"[..], b"[1,2]", b"", b"[\"a\""] {
        let data = SyncActionData {
            index: Some(index.to_vec()),
            ..Default::default()
        };
        let mut bad = patch.clone();
        set_record(
            &mut bad,
            index,
            sealed_value(Operation::Set, &pkcs7(data.encode_to_vec())),
        );
        assert_eq!(
            decode_fresh(name, &bad),
            Err(AppStateError::Malformed(
                "index is not a JSON array of strings"
            )),
            "{index:?}"
        );
    }
}

#[test]
fn malformed_structure() {
    let (patch, name) = one_patch();
    let check = |bad: SyncdPatch| {
        assert!(
            matches!(decode_fresh(name, &bad), Err(AppStateError::Malformed(_))),
            "{bad:?}"
        );
    };
    let mut bad = patch.clone();
    bad.version = None;
    check(bad);
    let mut bad = patch.clone();
    bad.key_id = None;
    check(bad);
    let mut bad = patch.clone();
    bad.patch_mac = None;
    check(bad);
    let mut bad = patch.clone();
    bad.snapshot_mac = None;
    check(bad);
    let mut bad = patch.clone();
    bad.mutations[0].operation = Some(5);
    check(bad);
    let mut bad = patch.clone();
    bad.mutations[0].record = None;
    check(bad);
    let mut bad = patch.clone();
    value_blob(&mut bad, 0).truncate(63);
    check(bad);
    let mut bad = patch.clone();
    bad.mutations[1]
        .record
        .as_mut()
        .unwrap()
        .index
        .as_mut()
        .unwrap()
        .blob = Some(vec![0; 31]);
    check(bad);
    let mut bad = patch.clone();
    bad.mutations[1].record.as_mut().unwrap().key_id = None;
    check(bad);
}

#[test]
fn external_mutations() {
    let (patch, name) = one_patch();
    let mut external = patch.clone();
    let list = SyncdMutations {
        mutations: std::mem::take(&mut external.mutations),
    };
    external.external_mutations = Some(ExternalBlobReference::default());
    assert_eq!(
        decode_fresh(name, &external),
        Err(AppStateError::ExternalMutationsNotLoaded { version: 1 })
    );
    assert!(attach_external_mutations(&mut external, b"\xff\xff").is_err());
    assert!(attach_external_mutations(&mut external, &[]).is_err());
    attach_external_mutations(&mut external, &list.encode_to_vec()).unwrap();
    let got = decode_fresh(name, &external).unwrap();
    assert_eq!(got.mutations.len(), 2);
}

#[test]
fn errors_leave_nothing_half_applied() {
    let mut rng = rng();
    let name = Collection::RegularHigh;
    let (p1, s1) = encode(
        &PatchInfo::mute(ALICE, true, None),
        &HashState::new(),
        &mut rng,
    );
    let (mut p2, _) = encode(&PatchInfo::mute(BOB, true, None), &s1, &mut rng);
    p2.patch_mac.as_mut().unwrap()[0] ^= 1;
    let start = HashState::new();
    assert!(decode_patches(name, &start, None, &[p1.clone(), p2], &keys()).is_err());
    assert_eq!(start, HashState::new());
    assert_eq!(decode_patch(name, &start, &p1, &keys()).unwrap().state, s1);
}

#[test]
fn encode_rejects_empty_patch_and_uses_fresh_ivs() {
    let mut rng = rng();
    let empty = PatchInfo {
        collection: Collection::Regular,
        mutations: Vec::new(),
    };
    assert_eq!(
        encode_patch(&empty, &HashState::new(), KEY_ID, &key(), TS, &mut rng),
        Err(AppStateError::EmptyPatch)
    );
    let info = PatchInfo::pin(ALICE, true);
    let (a, sa) = encode(&info, &HashState::new(), &mut rng);
    let (b, sb) = encode(&info, &HashState::new(), &mut rng);
    assert_ne!(a.mutations[0], b.mutations[0]);
    // Same index MAC, different value MACs: the states differ only in the value.
    assert_eq!(
        sa.index_value_map.keys().collect::<Vec<_>>(),
        sb.index_value_map.keys().collect::<Vec<_>>()
    );
    assert_ne!(sa.hash, sb.hash);
}

#[test]
fn message_actions_round_trip() {
    let mut rng = rng();
    let msg = MessageRef {
        chat: "1203@g.us".into(),
        id: "3EB0ABC".into(),
        from_me: false,
        participant: Some(BOB.into()),
    };
    let info = merge(
        PatchInfo::star(&msg, true),
        PatchInfo::delete_message_for_me(&msg, false, 1_700_000_123),
    );
    let (p, _) = encode(&info, &HashState::new(), &mut rng);
    let got = decode_fresh(info.collection, &p).unwrap();
    assert_eq!(
        got.mutations[0].action(),
        Action::Star {
            message: msg.clone(),
            starred: true
        }
    );
    assert_eq!(
        got.mutations[1].action(),
        Action::DeleteMessageForMe {
            message: msg,
            delete_media: false,
            message_timestamp: Some(1_700_000_123)
        }
    );
}

/// One step of the random scenario: which action, on which of a few chats.
#[derive(Debug, Clone)]
enum Step {
    Mute(usize, bool),
    Clear(usize),
    Remove(usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0..4usize, any::<bool>()).prop_map(|(c, m)| Step::Mute(c, m)),
        (0..4usize).prop_map(Step::Clear),
        (0..4usize).prop_map(Step::Remove),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever sequence of patches one device encodes, another decoding them reaches the same
    /// state, and the LTHash is the sum of the value MACs held.
    #[test]
    fn any_patch_sequence_agrees(patches in proptest::collection::vec(proptest::collection::vec(step(), 1..4), 1..6), seed in any::<u64>()) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let chat = |c: usize| format!("{c}@s.whatsapp.net");
        let mut sender = HashState::new();
        let mut receiver = HashState::new();
        for steps in patches {
            let mutations = steps.iter().flat_map(|s| match s {
                Step::Mute(c, m) => PatchInfo::mute(&chat(*c), *m, None).mutations,
                Step::Clear(c) => PatchInfo::clear_chat(&chat(*c)).mutations,
                Step::Remove(c) => {
                    let mut m = PatchInfo::mute(&chat(*c), false, None).mutations;
                    m[0].operation = Operation::Remove;
                    m
                }
            }).collect();
            let info = PatchInfo { collection: Collection::RegularHigh, mutations };
            let (p, s) = encode(&info, &sender, &mut rng);
            sender = s;
            receiver = decode_patch(info.collection, &receiver, &p, &keys()).unwrap().state;
            prop_assert_eq!(&receiver, &sender);
        }
        let mut sum = LtHash::ZERO;
        for v in receiver.index_value_map.values() { sum.add(v); }
        prop_assert_eq!(receiver.hash, sum);
    }
}

/// A patch Baileys 7's `encodeSyncdPatch` produced (key 32 × 0x24, key id "fuzz", mute of
/// `1@s.whatsapp.net` with `muted: true`, SET, on an empty `regular_high`), with the LTHash and
/// record its encoder reported. Decoding it checks all four MACs against Baileys' output.
#[test]
fn baileys_vector_patch() {
    const PATCH: &str = "12950108001290010a220a20171e71fc300e8794d9cc4489c40eb513ba602aac8e1cfb85de2cf34b680e47b712620a60cae2660b9abb076962e0603858b73acb5649d36e3cc3be8bd89c5297019b3b664ff3a9c4c66b2cf5155473c021ef19d106990fa44cadd01c41c29c36664ffa470b0d137cb2a8c356a82bc092526017ee7d35f97d7edc4e2e8925c663806c774f1a060a0466757a7a2220164f550787f586ba6d2df2bbc8a12082e3d3d3710b4c2fb90323046d904c32732a20e99397d2bf3caa2ec756e48b0b16cb7a3704e98ed0745d3d27f5f83a0774597c32060a0466757a7a";
    const HASH: &str = "6f968a17bf190dfcaaf0b0fd5e2c61e4dce80aea05e7216e317fff568124de08f7e9efbe8380227bc032559a7b80a5e6957662262cd9cd0837bd30393f4979fba7ff584ef10ee5a9a94775a5e02abf4f3ca7545ad105f57fd2695cd60e5a06ead131812a60ebd62183954436d908cecb62273c79f8a4be9cf99ec16115889e29";
    const INDEX_MAC: &str = "171e71fc300e8794d9cc4489c40eb513ba602aac8e1cfb85de2cf34b680e47b7";
    const VALUE_MAC: &str = "0b0d137cb2a8c356a82bc092526017ee7d35f97d7edc4e2e8925c663806c774f";
    let hex = |s: &str| -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    };
    let mut patch = SyncdPatch::decode(hex(PATCH).as_slice()).unwrap();
    assert_eq!(
        patch.version, None,
        "Baileys leaves the version to the server"
    );
    patch.version = Some(SyncdVersion { version: Some(1) });
    let key = AppStateKey::new([0x24; 32]);
    let source = |id: &[u8]| (id == b"fuzz").then(|| key.clone());
    let got = decode_patch(Collection::RegularHigh, &HashState::new(), &patch, &source).unwrap();
    assert_eq!(got.state.version, 1);
    assert_eq!(got.state.hash.as_bytes().to_vec(), hex(HASH));
    let (index, value) = got.state.index_value_map.iter().next().unwrap();
    assert_eq!(index.to_vec(), hex(INDEX_MAC));
    assert_eq!(value.to_vec(), hex(VALUE_MAC));
    assert_eq!(
        got.mutations[0].action(),
        Action::Mute {
            chat: "1@s.whatsapp.net".into(),
            muted: true,
            end_timestamp_ms: None
        }
    );
    // Our index MAC of the same index JSON is Baileys' (JSON.stringify) one.
    let keys = key.expand();
    let json = wa_appstate::index_json(&["mute".to_owned(), "1@s.whatsapp.net".to_owned()]);
    assert_eq!(mac::index_mac(keys.index(), &json).to_vec(), hex(INDEX_MAC));
}
