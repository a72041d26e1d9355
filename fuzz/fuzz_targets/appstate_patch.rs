//! Arbitrary input as an app-state patch, decoded and verified with a fixed key (every key id
//! resolves to it), from an empty `regular_high` collection. The first byte picks the mode:
//!
//! - 0: the rest is a `SyncdPatch` protobuf, decoded as is (almost always a MAC error);
//! - 1: the same, with its value, snapshot and patch MACs rewritten under the key so decoding
//!   reaches decryption, the index MAC and the LTHash;
//! - 2: the rest is the plaintext of one record (a `SyncActionData`, or garbage), sealed with a
//!   valid value MAC and the index MAC of the index it holds.
//!
//! Properties: no panic; every error is one of the expected kinds for the mode; a decoded state's
//! LTHash is the sum of the value MACs it holds; a decoded index is the JSON array the sealed
//! plaintext held.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wa_appstate::fuzzing::{remac_patch, seal_value};
use wa_appstate::{
    AppStateError, AppStateKey, Collection, HashState, LtHash, Operation, decode_patch, mac,
};
use wa_proto::prost::Message as _;
use wa_proto::proto::{
    KeyId, SyncActionData, SyncdIndex, SyncdMutation, SyncdPatch, SyncdRecord, SyncdValue,
    SyncdVersion,
};

const NAME: Collection = Collection::RegularHigh;
const KEY: [u8; 32] = [0x24; 32];

fn check_state(state: &HashState) {
    let mut sum = LtHash::ZERO;
    for v in state.index_value_map.values() {
        sum.add(v);
    }
    assert_eq!(
        state.hash, sum,
        "LTHash is not the sum of the held value MACs"
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let key = AppStateKey::new(KEY);
    let keys = key.expand();
    let source = |_: &[u8]| Some(key.clone());
    let start = HashState::new();
    match mode % 3 {
        0 => {
            if let Ok(patch) = SyncdPatch::decode(rest) {
                if let Ok(out) = decode_patch(NAME, &start, &patch, &source) {
                    check_state(&out.state);
                }
            }
        }
        1 => {
            let Ok(mut patch) = SyncdPatch::decode(rest) else {
                return;
            };
            remac_patch(NAME, &start, &mut patch, &keys);
            match decode_patch(NAME, &start, &patch, &source) {
                Ok(out) => check_state(&out.state),
                Err(
                    AppStateError::Malformed(_)
                    | AppStateError::UndecryptableValue { .. }
                    | AppStateError::MismatchingIndexMac { .. }
                    | AppStateError::ExternalMutationsNotLoaded { .. },
                ) => {}
                Err(e) => panic!("unexpected error after re-MAC: {e:?}"),
            }
        }
        _ => {
            let index = SyncActionData::decode(rest)
                .ok()
                .and_then(|d| d.index)
                .unwrap_or_default();
            let key_id = b"fuzz".to_vec();
            let mut patch = SyncdPatch {
                version: Some(SyncdVersion { version: Some(1) }),
                mutations: vec![SyncdMutation {
                    operation: Some(Operation::Set.to_wire()),
                    record: Some(SyncdRecord {
                        index: Some(SyncdIndex {
                            blob: Some(mac::index_mac(keys.index(), &index).to_vec()),
                        }),
                        value: Some(SyncdValue {
                            blob: Some(seal_value(&keys, Operation::Set, &key_id, &[7; 16], rest)),
                        }),
                        key_id: Some(KeyId {
                            id: Some(key_id.clone()),
                        }),
                    }),
                }],
                key_id: Some(KeyId { id: Some(key_id) }),
                ..Default::default()
            };
            remac_patch(NAME, &start, &mut patch, &keys);
            match decode_patch(NAME, &start, &patch, &source) {
                Ok(out) => {
                    check_state(&out.state);
                    let parsed: Vec<String> =
                        serde_json::from_slice(&index).expect("decoded index is JSON");
                    assert_eq!(out.mutations[0].index, parsed);
                }
                // Garbage that is not a SyncActionData, or an index that is not a JSON array of strings.
                Err(AppStateError::UndecryptableValue { .. } | AppStateError::Malformed(_)) => {}
                Err(e) => panic!("unexpected error for a sealed plaintext: {e:?}"),
            }
        }
    }
});
