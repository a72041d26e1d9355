//! wa-appstate against Baileys 7 (`encodeSyncdPatch`, `decodePatches`, `decodeSyncdPatch`,
//! `decodeSyncdSnapshot`, `chatModificationToAppPatch`, its LTHash and key expansion), through
//! the Node oracle (`tests/interop/commands/appstate.mjs`).
//!
//! - mutation keys and LTHash results are equal for random inputs;
//! - a chain of patches Baileys encodes decodes and verifies with ours, reaching the same state,
//!   and our MAC functions give the same index, value, snapshot and patch MACs for its inputs;
//! - a chain of patches we encode (several mutations each, overwrites and REMOVEs) decodes with
//!   Baileys' `decodePatches` with MAC validation on, giving the same state and mutations;
//! - a snapshot we encode verifies with `decodeSyncdSnapshot`;
//! - our `PatchInfo` constructors give the index, collection, version, operation and value
//!   that `chatModificationToAppPatch` gives.
//!
//! Known differences: Baileys puts stars in `regular_low`, whatsmeow (and we) in `regular_high`.
//! Not ours to copy: after `encodeSyncdPatch` of a REMOVE, Baileys' returned
//! `indexValueMap` still holds the removed index (with the REMOVE's value MAC); its LTHash is
//! right, and its decoder (`decodePatches`) drops the index as we do. Fed back into the encoder,
//! that map would make a later SET of the same index subtract a value that was never added, so
//! each Baileys encode here starts from the decoded state (ours, which equals its decoder's).

use std::collections::HashMap;

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng as _, SeedableRng};
use serde_json::{Value, json};
use wa_appstate::{
    AppStateKey, Collection, HashState, LtHash, MessageRef, MutationInfo, Operation, PatchInfo,
    decode_patch, encode_patch, encode_snapshot, index_json, mac,
};
use wa_proto::prost::Message as _;
use wa_proto::proto::sync_action_value::{ContactAction, LabelEditAction};
use wa_proto::proto::{SyncActionValue, SyncdPatch, SyncdVersion};
use wa_tests::oracle;

const KEY_ID: &[u8] = b"\x00\x00\x01\x7fkey";
const TS: i64 = 1_700_000_000_000;

fn call(cmd: &str, params: Value) -> Value {
    oracle::call(cmd, params).unwrap_or_else(|e| panic!("oracle {cmd}: {e}"))
}

fn unhex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("valid hex")
}

fn key() -> AppStateKey {
    AppStateKey::new([0x17; 32])
}

fn keys_json() -> Value {
    json!({ hex::encode(KEY_ID): hex::encode(key().as_bytes()) })
}

fn key_source() -> HashMap<Vec<u8>, AppStateKey> {
    HashMap::from([(KEY_ID.to_vec(), key())])
}

fn state_json(s: &HashState) -> Value {
    let map: serde_json::Map<String, Value> = s
        .index_value_map
        .iter()
        .map(|(i, v)| (hex::encode(i), json!(hex::encode(v))))
        .collect();
    json!({ "version": s.version, "hash": hex::encode(s.hash.as_bytes()), "map": map })
}

fn state_from_json(v: &Value) -> HashState {
    let index_value_map = v["map"]
        .as_object()
        .expect("map")
        .iter()
        .map(|(i, m)| {
            (
                <[u8; 32]>::try_from(hex::decode(i).unwrap()).unwrap(),
                <[u8; 32]>::try_from(unhex(m)).unwrap(),
            )
        })
        .collect();
    HashState {
        version: v["version"].as_u64().expect("version"),
        hash: LtHash::from_slice(&unhex(&v["hash"])).expect("128-byte hash"),
        index_value_map,
    }
}

fn with_version(bytes: &[u8], version: u64) -> SyncdPatch {
    let mut p = SyncdPatch::decode(bytes).unwrap();
    p.version = Some(SyncdVersion {
        version: Some(version),
    });
    p
}

#[test]
fn mutation_keys_match() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    for _ in 0..20 {
        let mut data = [0u8; 32];
        rng.fill_bytes(&mut data);
        let ours = AppStateKey::new(data).expand();
        let theirs = call(
            "appstate.mutationKeys",
            json!({ "keyData": hex::encode(data) }),
        );
        assert_eq!(unhex(&theirs["index"]), ours.index());
        assert_eq!(unhex(&theirs["valueEncryption"]), ours.value_encryption());
        assert_eq!(unhex(&theirs["valueMac"]), ours.value_mac());
        assert_eq!(unhex(&theirs["snapshotMac"]), ours.snapshot_mac());
        assert_eq!(unhex(&theirs["patchMac"]), ours.patch_mac());
    }
}

#[test]
fn lthash_matches() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let value = |rng: &mut ChaCha20Rng| {
        let len = if rng.next_u32().is_multiple_of(4) {
            (rng.next_u32() % 70) as usize
        } else {
            32
        };
        let mut v = vec![0u8; len];
        rng.fill_bytes(&mut v);
        v
    };
    for round in 0..30 {
        let mut base = [0u8; 128];
        if round % 2 == 1 {
            rng.fill_bytes(&mut base);
        }
        let subtract: Vec<Vec<u8>> = (0..rng.next_u32() % 5).map(|_| value(&mut rng)).collect();
        let add: Vec<Vec<u8>> = (0..rng.next_u32() % 9).map(|_| value(&mut rng)).collect();
        let mut ours = LtHash::from_bytes(base);
        ours.subtract_then_add(&subtract, &add);
        let theirs = call(
            "appstate.ltHash",
            json!({
                "base": hex::encode(base),
                "subtract": subtract.iter().map(hex::encode).collect::<Vec<_>>(),
                "add": add.iter().map(hex::encode).collect::<Vec<_>>(),
            }),
        );
        assert_eq!(unhex(&theirs), ours.as_bytes(), "round {round}");
    }
}

/// Single-mutation steps for Baileys' encoder (it encodes one mutation per patch), all in
/// `regular_high`: overwrites, REMOVEs of held and of unknown indexes, and indexes with
/// characters JSON must escape.
fn baileys_steps() -> Vec<MutationInfo> {
    let chat = |i: u32| format!("{i}@s.whatsapp.net");
    let msg = MessageRef {
        chat: "120363@g.us".into(),
        id: "3EB0\"quoted\"".into(),
        from_me: false,
        participant: Some(chat(9)),
    };
    let mut steps = Vec::new();
    steps.extend(PatchInfo::mute(&chat(1), true, Some(TS + 60_000)).mutations);
    steps.extend(PatchInfo::mute(&chat(2), true, None).mutations);
    steps.extend(PatchInfo::star(&msg, true).mutations);
    steps.extend(PatchInfo::mute(&chat(1), false, None).mutations); // overwrite
    let mut remove = PatchInfo::mute(&chat(2), false, None).mutations;
    remove[0].operation = Operation::Remove; // remove a held index
    steps.extend(remove);
    steps.extend(PatchInfo::delete_message_for_me(&msg, true, 1_700_000_001).mutations);
    steps.extend(PatchInfo::clear_chat(&chat(3)).mutations);
    steps.extend(PatchInfo::delete_chat(&chat(4)).mutations);
    let mut odd = PatchInfo::mute(&chat(5), true, None).mutations;
    odd[0].index = vec![
        "mute".into(),
        "back\\slash/é☃\u{1F600}\u{2028}\t\n\u{1}\u{7f}".into(),
    ];
    steps.extend(odd);
    steps.extend(PatchInfo::mute(&chat(2), true, None).mutations); // SET again after REMOVE
    steps
}

#[test]
fn baileys_patches_decode_and_verify_with_ours() {
    let name = Collection::RegularHigh;
    let expanded = key().expand();
    let mut ours = HashState::new();
    let mut patches = Vec::new();
    for (n, step) in baileys_steps().into_iter().enumerate() {
        let mut value = step.value.clone();
        value.timestamp = Some(TS + n as i64);
        let out = call(
            "appstate.encodePatch",
            json!({
                "keyId": hex::encode(KEY_ID),
                "keyData": hex::encode(key().as_bytes()),
                "state": state_json(&ours),
                "type": name.as_str(),
                "index": step.index,
                "value": hex::encode(value.encode_to_vec()),
                "apiVersion": step.version,
                "operation": step.operation.to_wire(),
            }),
        );
        let encoder_state = state_from_json(&out["state"]);
        let patch = with_version(&unhex(&out["patch"]), encoder_state.version);

        // Ours decodes and verifies it: same version and LTHash as Baileys' encoder.
        let decoded = decode_patch(name, &ours, &patch, &key_source())
            .unwrap_or_else(|e| panic!("step {n} ({:?}): {e}", step.index));
        assert_eq!(decoded.state.version, encoder_state.version, "step {n}");
        assert_eq!(decoded.state.hash, encoder_state.hash, "step {n}");
        if step.operation == Operation::Set {
            assert_eq!(decoded.state, encoder_state, "step {n}");
        }
        let m = &decoded.mutations[0];
        assert_eq!(m.index, step.index, "step {n}");
        assert_eq!(m.operation, step.operation);
        assert_eq!(m.value.as_ref(), Some(&value));
        assert_eq!(m.action_version, Some(step.version));

        // Our MAC functions on the same inputs give Baileys' MACs.
        let record = patch.mutations[0].record.as_ref().unwrap();
        let blob = record.value.as_ref().unwrap().blob.as_ref().unwrap();
        let (encrypted, value_mac) = blob.split_at(blob.len() - 32);
        assert_eq!(
            mac::value_mac(expanded.value_mac(), step.operation, KEY_ID, encrypted),
            value_mac
        );
        assert_eq!(
            mac::index_mac(expanded.index(), &index_json(&step.index)).as_slice(),
            record.index.as_ref().unwrap().blob.as_deref().unwrap(),
            "index JSON of {:?}",
            step.index
        );
        let snapshot_mac = mac::snapshot_mac(
            expanded.snapshot_mac(),
            &encoder_state.hash,
            encoder_state.version,
            name.as_str(),
        );
        assert_eq!(Some(snapshot_mac.as_slice()), patch.snapshot_mac.as_deref());
        let patch_mac = mac::patch_mac(
            expanded.patch_mac(),
            &snapshot_mac,
            [value_mac],
            encoder_state.version,
            name.as_str(),
        );
        assert_eq!(Some(patch_mac.as_slice()), patch.patch_mac.as_deref());

        ours = decoded.state;
        patches.push(patch);
    }
    // Baileys' own decoder over the whole chain reaches our state, map included.
    let theirs = call(
        "appstate.decodePatches",
        json!({
            "name": name.as_str(),
            "patches": patches.iter().map(|p| hex::encode(p.encode_to_vec())).collect::<Vec<_>>(),
            "state": state_json(&HashState::new()),
            "keys": keys_json(),
        }),
    );
    assert_eq!(state_from_json(&theirs["state"]), ours);
    assert_eq!(ours.version, 10);
}

/// Our patches: several mutations each, overwrite within a patch, REMOVEs.
fn our_patches() -> Vec<PatchInfo> {
    let chat = |i: u32| format!("{i}@s.whatsapp.net");
    let join = |parts: Vec<PatchInfo>| PatchInfo {
        collection: parts[0].collection,
        mutations: parts.into_iter().flat_map(|p| p.mutations).collect(),
    };
    let remove = |mut p: PatchInfo| {
        p.mutations[0].operation = Operation::Remove;
        p
    };
    vec![
        join(vec![
            PatchInfo::pin(&chat(1), true),
            PatchInfo::archive(&chat(2), true),
            PatchInfo::mark_read(&chat(3), false),
        ]),
        join(vec![
            PatchInfo::pin(&chat(1), false),
            PatchInfo::pin(&chat(1), true), // overwritten twice in one patch
            remove(PatchInfo::archive(&chat(2), false)),
        ]),
        PatchInfo::mark_read(&chat(3), true),
        join(vec![
            remove(PatchInfo::pin(&chat(1), false)),
            PatchInfo::archive(&chat(4), true),
        ]),
    ]
}

fn mutations_json(m: &[wa_appstate::Mutation]) -> Vec<Value> {
    m.iter()
        .map(|m| {
            json!({
                "operation": m.operation.to_wire(),
                "index": m.index,
                "value": m.value.as_ref().map(|v| hex::encode(v.encode_to_vec())),
                "version": m.action_version,
            })
        })
        .collect()
}

#[test]
fn our_patches_decode_with_baileys() {
    let name = Collection::RegularLow;
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let mut state = HashState::new();
    let mut bytes = Vec::new();
    let mut all = Vec::new();
    for info in our_patches() {
        let out = encode_patch(&info, &state, KEY_ID, &key(), TS, &mut rng).unwrap();
        let mut patch = out.patch;
        patch.version = Some(SyncdVersion {
            version: Some(out.state.version),
        });
        let decoded = decode_patch(name, &state, &patch, &key_source()).unwrap();
        assert_eq!(decoded.state, out.state);
        all.extend(decoded.mutations);
        bytes.push(hex::encode(patch.encode_to_vec()));
        state = out.state;
    }
    let theirs = call(
        "appstate.decodePatches",
        json!({
            "name": name.as_str(),
            "patches": bytes,
            "state": state_json(&HashState::new()),
            "keys": keys_json(),
        }),
    );
    assert_eq!(state_from_json(&theirs["state"]), state);
    assert_eq!(
        theirs["mutations"].as_array().unwrap(),
        &mutations_json(&all)
    );
    assert_eq!(state.index_value_map.len(), 2); // markChatAsRead 3, archive 4

    // With a broken patch MAC, Baileys' validation rejects it (the oracle turns its warning
    // into an error), so the checks above ran with validation on.
    let mut bad = SyncdPatch::decode(hex::decode(&bytes[0]).unwrap().as_slice()).unwrap();
    bad.patch_mac.as_mut().unwrap()[0] ^= 1;
    let err = oracle::call(
        "appstate.decodePatches",
        json!({
            "name": name.as_str(),
            "patches": [hex::encode(bad.encode_to_vec())],
            "state": state_json(&HashState::new()),
            "keys": keys_json(),
        }),
    );
    assert!(
        err.is_err(),
        "Baileys accepted a patch with a bad MAC: {err:?}"
    );
    // Starting from another state, Baileys' LTHash check fails as ours does.
    let mut other = HashState::new();
    other.index_value_map.insert([1; 32], [2; 32]);
    other.hash.add(&[2; 32]);
    let err = oracle::call(
        "appstate.decodePatches",
        json!({
            "name": name.as_str(),
            "patches": [bytes[0].clone()],
            "state": state_json(&other),
            "keys": keys_json(),
        }),
    );
    assert!(
        err.is_err(),
        "Baileys accepted a patch over a different state: {err:?}"
    );
}

#[test]
fn our_snapshot_verifies_with_baileys() {
    let name = Collection::CriticalUnblockLow;
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let records: Vec<MutationInfo> = (0..25)
        .flat_map(|i| {
            let mut m = PatchInfo::contact(
                &format!("{i}@s.whatsapp.net"),
                ContactAction {
                    full_name: Some(format!("Contact {i}")),
                    first_name: Some("C".into()),
                    ..Default::default()
                },
            )
            .mutations;
            m[0].value.timestamp = Some(TS);
            m
        })
        .collect();
    let (snapshot, state) = encode_snapshot(name, 42, &records, KEY_ID, &key(), &mut rng).unwrap();
    let theirs = call(
        "appstate.decodeSnapshot",
        json!({
            "name": name.as_str(),
            "snapshot": hex::encode(snapshot.encode_to_vec()),
            "keys": keys_json(),
        }),
    );
    assert_eq!(state_from_json(&theirs["state"]), state);
    assert_eq!(theirs["mutations"].as_array().unwrap().len(), 25);
    // A snapshot under the wrong collection name fails Baileys' MAC check too.
    let err = oracle::call(
        "appstate.decodeSnapshot",
        json!({
            "name": "regular",
            "snapshot": hex::encode(snapshot.encode_to_vec()),
            "keys": keys_json(),
        }),
    );
    assert!(
        err.is_err(),
        "Baileys accepted a snapshot MAC for another collection"
    );
}

#[test]
fn builders_match_chat_modification_to_app_patch() {
    let jid = "123@s.whatsapp.net";
    let msg = MessageRef {
        chat: jid.into(),
        id: "ABCD".into(),
        from_me: true,
        participant: None,
    };
    let cases: Vec<(Value, PatchInfo)> = vec![
        (
            json!({"mute": TS + 1000}),
            PatchInfo::mute(jid, true, Some(TS + 1000)),
        ),
        (json!({"mute": null}), PatchInfo::mute(jid, false, None)),
        (json!({"pin": true}), PatchInfo::pin(jid, true)),
        (json!({"pin": false}), PatchInfo::pin(jid, false)),
        (json!({"archive": true}), PatchInfo::archive(jid, true)),
        (json!({"markRead": false}), PatchInfo::mark_read(jid, false)),
        (
            json!({"star": {"messages": [{"id": "ABCD", "fromMe": true}], "star": true}}),
            PatchInfo::star(&msg, true),
        ),
        (
            json!({"deleteForMe": {"key": {"id": "ABCD", "fromMe": true}, "timestamp": 1_700_000_000, "deleteMedia": true}}),
            PatchInfo::delete_message_for_me(&msg, true, 1_700_000_000),
        ),
        (json!({"clear": true}), PatchInfo::clear_chat(jid)),
        (json!({"delete": true}), PatchInfo::delete_chat(jid)),
        (
            json!({"contact": {"fullName": "Ann Lee", "firstName": "Ann"}}),
            PatchInfo::contact(
                jid,
                ContactAction {
                    full_name: Some("Ann Lee".into()),
                    first_name: Some("Ann".into()),
                    ..Default::default()
                },
            ),
        ),
        (json!({"contact": null}), PatchInfo::remove_contact(jid)),
        (json!({"pushNameSetting": "Me"}), PatchInfo::push_name("Me")),
        (
            json!({"addLabel": {"id": "7", "name": "Work", "color": 2, "deleted": false}}),
            PatchInfo::label_edit(
                "7",
                LabelEditAction {
                    name: Some("Work".into()),
                    color: Some(2),
                    deleted: Some(false),
                    ..Default::default()
                },
            ),
        ),
        (
            json!({"addChatLabel": {"labelId": "7"}}),
            PatchInfo::label_chat("7", jid, true),
        ),
        (
            json!({"removeChatLabel": {"labelId": "7"}}),
            PatchInfo::label_chat("7", jid, false),
        ),
        (
            json!({"addMessageLabel": {"labelId": "7", "messageId": "M1"}}),
            PatchInfo::label_message("7", jid, "M1", true),
        ),
        (
            json!({"removeMessageLabel": {"labelId": "7", "messageId": "M1"}}),
            PatchInfo::label_message("7", jid, "M1", false),
        ),
    ];
    for (m, ours) in cases {
        let theirs = call(
            "appstate.chatModification",
            json!({ "mod": m, "jid": jid, "timestamp": TS }),
        );
        let mine = &ours.mutations[0];
        let mut value: SyncActionValue = mine.value.clone();
        value.timestamp = Some(TS);
        if m.get("star").is_none() {
            assert_eq!(theirs["type"], ours.collection.as_str(), "{m}");
        } else {
            // Known difference: whatsmeow (BuildStar) sends stars in regular_high, Baileys in
            // regular_low; we follow whatsmeow.
            assert_eq!(theirs["type"], "regular_low");
            assert_eq!(ours.collection, Collection::RegularHigh);
        }
        assert_eq!(theirs["index"], json!(mine.index), "{m}");
        assert_eq!(theirs["apiVersion"], mine.version, "{m}");
        assert_eq!(theirs["operation"], mine.operation.to_wire(), "{m}");
        assert_eq!(
            theirs["value"].as_str().unwrap(),
            hex::encode(value.encode_to_vec()),
            "{m}"
        );
    }
}
