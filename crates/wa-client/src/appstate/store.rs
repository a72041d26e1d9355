//! Between the store and `wa-appstate`: the state a decode starts from (version, LTHash and the
//! stored value MACs of the records the patches touch), the keys, and the one commit that
//! persists a decode.

use std::collections::HashMap;

use rand_core::SeedableRng as _;
use wa_appstate::Action;
use wa_appstate::{
    AppStateKey, Collection, Decoded, HashState, LtHash, PatchInfo, decode_patches, encode_patch,
    index_json, mac, missing_keys,
};
use wa_binary::Jid;
use wa_binary::Node;
use wa_proto::proto::SyncdPatch;
use wa_store::{AppStateVersion, Changes, ChatSettings, ContactInfo, MutationMac, Store};

use super::{AppStateSyncError, wire};

/// The stored version and LTHash of `collection` (version 0 and a zero hash when none), with
/// no value MACs yet.
pub(super) async fn load_version(
    store: &dyn Store,
    collection: Collection,
) -> crate::Result<HashState> {
    let mut state = HashState::new();
    if let Some(v) = store.app_state_version(collection.as_str()).await? {
        state.version = v.version;
        state.hash = LtHash::from_slice(&v.hash)
            .ok_or(AppStateSyncError::BadStore("LTHash of the wrong length"))?;
    }
    Ok(state)
}

/// Forgets the stored state of `collection` (a full sync follows).
pub(super) async fn forget(store: &dyn Store, collection: Collection) -> crate::Result<()> {
    let mut c = Changes::new();
    c.remove_app_state_version(collection.as_str());
    store.commit(c).await?;
    Ok(())
}

/// Adds the stored value MAC of each index MAC to `state` (what an overwrite or removal
/// subtracts from the LTHash).
async fn load_macs<'a>(
    store: &dyn Store,
    collection: Collection,
    state: &mut HashState,
    index_macs: impl Iterator<Item = &'a [u8]>,
) -> crate::Result<()> {
    for im in index_macs {
        let Ok(key) = <[u8; 32]>::try_from(im) else {
            continue;
        };
        if state.index_value_map.contains_key(&key) {
            continue;
        }
        if let Some(v) = store.mutation_mac(collection.as_str(), im).await?
            && let Ok(v) = <[u8; 32]>::try_from(v.as_slice())
        {
            state.index_value_map.insert(key, v);
        }
    }
    Ok(())
}

fn patch_key_ids(patches: &[SyncdPatch]) -> Vec<Vec<u8>> {
    let mut ids: Vec<Vec<u8>> = Vec::new();
    let all = patches.iter().flat_map(|p| {
        p.key_id.iter().filter_map(|k| k.id.clone()).chain(
            p.mutations
                .iter()
                .filter_map(|m| m.record.as_ref()?.key_id.as_ref()?.id.clone()),
        )
    });
    for id in all {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

/// Verifies and decodes `patches` on top of `state`; returns the result and the one commit
/// that persists it (version, LTHash, mutation MAC rows).
pub(super) async fn decode(
    store: &dyn Store,
    collection: Collection,
    mut state: HashState,
    patches: &[SyncdPatch],
) -> crate::Result<(Decoded, Changes)> {
    let mut keys: HashMap<Vec<u8>, AppStateKey> = HashMap::new();
    for id in patch_key_ids(patches) {
        if let Some(k) = store.app_state_sync_key(&id).await?
            && let Ok(key) = AppStateKey::from_slice(&k.data)
        {
            keys.insert(id, key);
        }
    }
    let missing = missing_keys(None, patches, &keys);
    if !missing.is_empty() {
        return Err(AppStateSyncError::MissingKeys {
            collection,
            key_ids: missing,
        }
        .into());
    }
    let index_macs: Vec<&[u8]> = patches
        .iter()
        .flat_map(|p| &p.mutations)
        .filter_map(|m| m.record.as_ref()?.index.as_ref()?.blob.as_deref())
        .collect();
    load_macs(store, collection, &mut state, index_macs.into_iter()).await?;
    let decoded = decode_patches(collection, &state, None, patches, &keys)
        .map_err(|source| AppStateSyncError::Decode { collection, source })?;
    let mut changes = changes_for(collection, &decoded);
    apply_actions(store, &decoded.mutations, &mut changes).await?;
    Ok((decoded, changes))
}

/// Adds what the mutations say about chats (mute, pin, archive) and contacts (address-book
/// names) to `changes`, in order, on top of the stored chat settings (whatsmeow keeps them in
/// its chat-settings and contact stores). Unparsable JIDs are skipped.
pub(super) async fn apply_actions(
    store: &dyn Store,
    mutations: &[wa_appstate::Mutation],
    changes: &mut Changes,
) -> crate::Result<()> {
    let mut chats: Vec<(Jid, ChatSettings)> = Vec::new();
    for m in mutations {
        let action = m.action();
        let chat = match &action {
            Action::Contact {
                jid,
                full_name,
                first_name,
                ..
            } => {
                if let Ok(jid) = jid.parse::<Jid>() {
                    changes.upsert_contact(
                        jid,
                        ContactInfo {
                            first_name: first_name.clone(),
                            full_name: full_name.clone(),
                            ..ContactInfo::default()
                        },
                    );
                }
                continue;
            }
            Action::Mute { chat, .. } | Action::Pin { chat, .. } | Action::Archive { chat, .. } => {
                chat
            }
            _ => continue,
        };
        let Ok(jid) = chat.parse::<Jid>() else {
            continue;
        };
        let pos = match chats.iter().position(|(j, _)| *j == jid) {
            Some(p) => p,
            None => {
                let stored = store.chat_settings(&jid).await?.unwrap_or_default();
                chats.push((jid, stored));
                chats.len() - 1
            }
        };
        if let Some((_, settings)) = chats.get_mut(pos) {
            update_settings(settings, &action);
        }
    }
    for (jid, settings) in chats {
        changes.put_chat_settings(jid, settings);
    }
    Ok(())
}

/// Applies a mute, pin or archive to a chat's settings (`muted_until` in Unix seconds, -1 for
/// ever, 0 for not muted).
fn update_settings(settings: &mut ChatSettings, action: &Action) {
    match action {
        Action::Mute {
            muted,
            end_timestamp_ms,
            ..
        } => {
            settings.muted_until = match (muted, end_timestamp_ms) {
                (false, _) => 0,
                (true, Some(end)) if *end > 0 => end / 1000,
                (true, _) => -1,
            };
        }
        Action::Pin { pinned, .. } => settings.pinned = *pinned,
        Action::Archive { archived, .. } => settings.archived = *archived,
        _ => {}
    }
}

/// The store writes of a decode.
pub(super) fn changes_for(collection: Collection, decoded: &Decoded) -> Changes {
    let name = collection.as_str();
    let mut c = Changes::new();
    if decoded.mac_changes.reset {
        c.remove_app_state_version(name);
    }
    c.put_app_state_version(AppStateVersion {
        name: name.to_owned(),
        version: decoded.state.version,
        hash: *decoded.state.hash.as_bytes(),
    });
    if !decoded.mac_changes.removed.is_empty() {
        c.remove_mutation_macs(
            name,
            decoded
                .mac_changes
                .removed
                .iter()
                .map(|i| i.to_vec())
                .collect(),
        );
    }
    if !decoded.mac_changes.added.is_empty() {
        c.put_mutation_macs(
            name,
            decoded.state.version,
            decoded
                .mac_changes
                .added
                .iter()
                .map(|(i, v)| MutationMac {
                    index_mac: i.to_vec(),
                    value_mac: v.to_vec(),
                })
                .collect(),
        );
    }
    c
}

/// Encodes `patch` under the latest key on top of the stored state; returns the version it
/// builds on and the upload IQ.
pub(super) async fn encode(
    store: &dyn Store,
    patch: &PatchInfo,
    now_ms: i64,
) -> crate::Result<(u64, Node)> {
    let collection = patch.collection;
    let latest = store
        .latest_app_state_sync_key()
        .await?
        .ok_or(AppStateSyncError::NoKey)?;
    let key = AppStateKey::from_slice(&latest.data)
        .map_err(|_| AppStateSyncError::BadStore("app-state key of the wrong length"))?;
    let mut state = load_version(store, collection).await?;
    let index_key = *key.expand().index();
    let index_macs: Vec<[u8; 32]> = patch
        .mutations
        .iter()
        .map(|m| mac::index_mac(&index_key, &index_json(&m.index)))
        .collect();
    load_macs(
        store,
        collection,
        &mut state,
        index_macs.iter().map(<[u8; 32]>::as_slice),
    )
    .await?;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| crate::Error::Config(format!("OS randomness: {e}")))?;
    let mut rng = rand_chacha::ChaCha20Rng::from_seed(seed);
    let encoded = encode_patch(patch, &state, &latest.key_id, &key, now_ms, &mut rng)
        .map_err(AppStateSyncError::Encode)?;
    Ok((
        state.version,
        wire::upload_request(collection, state.version, &encoded.patch),
    ))
}

#[cfg(test)]
mod tests {
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;
    use wa_appstate::{Collection, HashState, PatchInfo, decode_patch, encode_patch};
    use wa_proto::proto::SyncdVersion;
    use wa_store::{Container, MemoryContainer, Store};

    use super::*;

    /// Decoding through the store: the commit persists version, LTHash and MACs, so a second
    /// patch overwriting the same index decodes on top of what was loaded back; a tampered
    /// patch is refused and stores nothing; an unknown key is reported as missing.
    #[tokio::test]
    async fn decode_persists_and_reloads_state() {
        let container = MemoryContainer::new();
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let store = container
            .create(wa_store::Device::generate(&mut rng))
            .await
            .unwrap();
        let key_id = b"k1".to_vec();
        let key = AppStateKey::new([5; 32]);
        let mut c = Changes::new();
        c.put_app_state_sync_key(wa_store::AppStateSyncKey {
            key_id: key_id.clone(),
            data: vec![5; 32].into(),
            fingerprint: Vec::new(),
            timestamp: 1,
        });
        store.commit(c).await.unwrap();

        let chat = "123@s.whatsapp.net";
        let first = PatchInfo::mute(chat, true, None);
        let mut sent = encode_patch(&first, &HashState::new(), &key_id, &key, 1, &mut rng).unwrap();
        sent.patch.version = Some(SyncdVersion { version: Some(1) });
        let state = load_version(&store, Collection::RegularHigh).await.unwrap();
        let (d, changes) = decode(
            &store,
            Collection::RegularHigh,
            state,
            &[sent.patch.clone()],
        )
        .await
        .unwrap();
        store.commit(changes).await.unwrap();
        assert_eq!(d.state, sent.state);

        // Unmute (same index) on top of the state the sender holds.
        let second = PatchInfo::mute(chat, false, None);
        let mut next = encode_patch(&second, &sent.state, &key_id, &key, 2, &mut rng).unwrap();
        next.patch.version = Some(SyncdVersion { version: Some(2) });
        let mut tampered = next.patch.clone();
        if let Some(m) = tampered.snapshot_mac.as_mut() {
            m[0] ^= 1;
        }
        let state = load_version(&store, Collection::RegularHigh).await.unwrap();
        let err = decode(&store, Collection::RegularHigh, state.clone(), &[tampered])
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            crate::Error::AppState(AppStateSyncError::Decode { .. })
        ));
        assert_eq!(
            store
                .app_state_version("regular_high")
                .await
                .unwrap()
                .unwrap()
                .version,
            1
        );
        let (d, changes) = decode(
            &store,
            Collection::RegularHigh,
            state,
            &[next.patch.clone()],
        )
        .await
        .unwrap();
        store.commit(changes).await.unwrap();
        assert_eq!(d.state, next.state);
        let v = store
            .app_state_version("regular_high")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((v.version, v.hash), (2, *next.state.hash.as_bytes()));
        // The same patch checked against a fresh decode agrees.
        assert!(
            decode_patch(
                Collection::RegularHigh,
                &sent.state,
                &next.patch,
                &|id: &[u8]| { (id == key_id.as_slice()).then(|| key.clone()) }
            )
            .is_ok()
        );

        let mut foreign =
            encode_patch(&first, &HashState::new(), b"k2", &key, 3, &mut rng).unwrap();
        foreign.patch.version = Some(SyncdVersion { version: Some(3) });
        let state = load_version(&store, Collection::RegularHigh).await.unwrap();
        let err = decode(&store, Collection::RegularHigh, state, &[foreign.patch])
            .await
            .unwrap_err();
        let crate::Error::AppState(AppStateSyncError::MissingKeys { key_ids, .. }) = err else {
            panic!("{err:?}");
        };
        assert_eq!(key_ids, [b"k2".to_vec()]);
    }
}

#[cfg(test)]
mod action_tests {
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;
    use wa_appstate::{HashState, PatchInfo, decode_patch, encode_patch};
    use wa_proto::proto::SyncdVersion;
    use wa_store::{Container, MemoryContainer, Store};

    use super::*;

    /// Mutations of `info` (encoded and decoded back under a throwaway key).
    fn mutations(info: &PatchInfo) -> Vec<wa_appstate::Mutation> {
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let key = AppStateKey::new([1; 32]);
        let mut p = encode_patch(info, &HashState::new(), b"k", &key, 5, &mut rng)
            .unwrap()
            .patch;
        p.version = Some(SyncdVersion { version: Some(1) });
        let keys = |_: &[u8]| Some(key.clone());
        decode_patch(info.collection, &HashState::new(), &p, &keys)
            .unwrap()
            .mutations
    }

    #[tokio::test]
    async fn mute_pin_archive_and_contacts_reach_the_store() {
        let container = MemoryContainer::new();
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let store = container
            .create(wa_store::Device::generate(&mut rng))
            .await
            .unwrap();
        let chat = "123@s.whatsapp.net";
        let jid: Jid = chat.parse().unwrap();
        let apply = |infos: Vec<PatchInfo>| {
            let store = &store;
            async move {
                let all: Vec<_> = infos.iter().flat_map(mutations).collect();
                let mut c = Changes::new();
                apply_actions(store, &all, &mut c).await.unwrap();
                store.commit(c).await.unwrap();
                store
                    .chat_settings(&"123@s.whatsapp.net".parse().unwrap())
                    .await
                    .unwrap()
            }
        };
        let s = apply(vec![
            PatchInfo::mute(chat, true, Some(1_700_000_123_456)),
            PatchInfo::pin(chat, true),
        ])
        .await
        .unwrap();
        assert_eq!(
            s,
            ChatSettings {
                muted_until: 1_700_000_123,
                pinned: true,
                archived: false
            }
        );
        // Later batches build on what is stored; the last word on one chat wins in a batch.
        let s = apply(vec![
            PatchInfo::archive(chat, true),
            PatchInfo::mute(chat, true, None),
        ])
        .await
        .unwrap();
        assert_eq!((s.muted_until, s.pinned, s.archived), (-1, true, true));
        let s = apply(vec![
            PatchInfo::mute(chat, false, None),
            PatchInfo::pin(chat, false),
        ])
        .await
        .unwrap();
        assert_eq!((s.muted_until, s.pinned, s.archived), (0, false, true));

        let contact = wa_proto::proto::sync_action_value::ContactAction {
            full_name: Some("Ann Example".into()),
            first_name: Some("Ann".into()),
            ..Default::default()
        };
        apply(vec![PatchInfo::contact(chat, contact)]).await;
        let c = store.contact(&jid).await.unwrap().unwrap();
        assert_eq!(c.full_name.as_deref(), Some("Ann Example"));
        assert_eq!(c.first_name.as_deref(), Some("Ann"));
        // A chat that is not a JID (two `@`) changes nothing and fails nothing.
        let mut c = Changes::new();
        apply_actions(&store, &mutations(&PatchInfo::pin("a@b@c", true)), &mut c)
            .await
            .unwrap();
        assert!(c.is_empty());
    }
}
