//! App-state sync end to end through `wa-testserver`: one account, two companions. Device A
//! mutes and pins a chat; device B hears `server_sync`, fetches, verifies and emits the typed
//! events; B restarted from its SQLite store keeps its versions (no refetch from 0); a patch
//! the server corrupted is refused with a typed error and nothing is stored.

use std::path::Path;

use wa_client::appstate::{Collection, PatchInfo};
use wa_client::{
    AppStateAction, AppStateEvent, AppStateSyncError, Client, Error, Event, EventStream,
};
use wa_store::{ChatSettings, Container, MemoryContainer, SqliteContainer, Store};
use wa_testserver::TestServer;

use crate::common;

use common::live::{config, next, pair_by_qr, stop, until};

const CHAT: &str = "15550009999@s.whatsapp.net";

async fn sqlite(path: &Path) -> SqliteContainer {
    SqliteContainer::open(path).await.unwrap()
}

/// Waits until every collection reported a finished sync; returns the app-state events seen
/// on the way (and the versions synced).
async fn until_all_synced(events: &mut EventStream) -> (Vec<AppStateEvent>, Vec<(String, u64)>) {
    let mut seen = Vec::new();
    let mut synced: Vec<(String, u64)> = Vec::new();
    while synced.len() < Collection::ALL.len() {
        match next(events).await {
            Event::AppState(e) => seen.push(*e),
            Event::AppStateSynced {
                collection,
                version,
            } if !synced.iter().any(|(c, _)| *c == collection) => {
                synced.push((collection, version));
            }
            Event::AppStateSyncFailed { collection, error } => {
                panic!("sync of {collection} failed: {error}")
            }
            _ => {}
        }
    }
    (seen, synced)
}

/// The next app-state event.
async fn next_app_state(events: &mut EventStream) -> AppStateEvent {
    let Event::AppState(e) = until(events, |e| matches!(e, Event::AppState(_))).await else {
        unreachable!()
    };
    *e
}

async fn version(store: &impl Store, name: &str) -> u64 {
    store
        .app_state_version(name)
        .await
        .unwrap()
        .map_or(0, |v| v.version)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mute_and_pin_reach_the_other_device_and_survive_its_restart() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let phone = server.admin().accounts()[0].pn.user().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");

    let (a, mut a_events, _) = pair_by_qr(&server, None, MemoryContainer::new()).await;
    // The phone's key share arrives after login; the key is stored and every collection synced.
    let (seen, _) = until_all_synced(&mut a_events).await;
    assert!(seen.is_empty());
    let (b, mut b_events, _) = pair_by_qr(&server, None, sqlite(&db).await).await;
    until_all_synced(&mut b_events).await;

    // A mutes (regular_high) and pins (regular_low); each upload comes back as its own event.
    let end = 1_900_000_000_000;
    assert_eq!(
        a.send_app_state(&PatchInfo::mute(CHAT, true, Some(end)))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        a.send_app_state(&PatchInfo::pin(CHAT, true)).await.unwrap(),
        1
    );
    let mine = next_app_state(&mut a_events).await;
    assert_eq!(
        mine.action,
        AppStateAction::Mute {
            chat: CHAT.into(),
            muted: true,
            end_timestamp_ms: Some(end)
        }
    );

    // B hears server_sync and fetches both.
    let mut got = [
        next_app_state(&mut b_events).await,
        next_app_state(&mut b_events).await,
    ];
    got.sort_by(|x, y| x.collection.cmp(&y.collection));
    assert_eq!(got[0].collection, "regular_high");
    assert_eq!(got[0].index, ["mute", CHAT]);
    assert!(got[0].set);
    assert_eq!(got[0].version, 1);
    assert_eq!(
        got[0].action,
        AppStateAction::Mute {
            chat: CHAT.into(),
            muted: true,
            end_timestamp_ms: Some(end)
        }
    );
    assert!(got[0].timestamp_ms.is_some_and(|t| t > 0));
    assert_eq!(got[1].collection, "regular_low");
    assert_eq!(
        got[1].action,
        AppStateAction::Pin {
            chat: CHAT.into(),
            pinned: true
        }
    );
    let b_id = b.device_id();
    stop(&b, &mut b_events).await;
    drop(b);
    let b_store = sqlite(&db).await.get(b_id).await.unwrap().unwrap();
    assert_eq!(version(&b_store, "regular_high").await, 1);
    assert_eq!(version(&b_store, "regular_low").await, 1);
    // The chat's settings were stored with the versions.
    let chat: wa_binary::Jid = CHAT.parse().unwrap();
    assert_eq!(
        b_store.chat_settings(&chat).await.unwrap(),
        Some(ChatSettings {
            muted_until: end / 1000,
            pinned: true,
            archived: false
        })
    );
    drop(b_store);

    // B restarts from SQLite: it syncs from its stored versions, so nothing is applied again.
    let (b, mut b_events) = Client::start(config(&server), sqlite(&db).await, Some(b_id))
        .await
        .unwrap();
    assert_eq!(next(&mut b_events).await, Event::Connected);
    let (seen, synced) = until_all_synced(&mut b_events).await;
    assert!(seen.is_empty(), "{seen:?}");
    assert!(synced.contains(&("regular_high".into(), 1)), "{synced:?}");
    assert!(synced.contains(&("regular_low".into(), 1)), "{synced:?}");

    // A archives: B gets exactly that change, at version 2, on top of the state it reloaded.
    assert_eq!(
        a.send_app_state(&PatchInfo::archive(CHAT, true))
            .await
            .unwrap(),
        2
    );
    let e = next_app_state(&mut b_events).await;
    assert_eq!(e.version, 2);
    assert_eq!(
        e.action,
        AppStateAction::Archive {
            chat: CHAT.into(),
            archived: true
        }
    );
    // A unmutes: an overwrite of the same index (the stored value MAC is subtracted).
    a.send_app_state(&PatchInfo::mute(CHAT, false, None))
        .await
        .unwrap();
    let e = next_app_state(&mut b_events).await;
    assert_eq!(
        (e.version, e.action),
        (
            2,
            AppStateAction::Mute {
                chat: CHAT.into(),
                muted: false,
                end_timestamp_ms: None
            }
        )
    );
    until(&mut b_events, |e| {
        matches!(e, Event::AppStateSynced { collection, version: 2 } if collection == "regular_high")
    })
    .await;

    // B goes offline; A marks the chat read (regular_low 3) and the server corrupts it.
    stop(&b, &mut b_events).await;
    drop(b);
    a.send_app_state(&PatchInfo::mark_read(CHAT, true))
        .await
        .unwrap();
    assert_eq!(
        server
            .admin()
            .app_state_version_of(&phone, "regular_low")
            .unwrap(),
        3
    );
    assert!(
        server
            .admin()
            .tamper_app_state_patch(&phone, "regular_low", 3)
            .unwrap()
    );
    let (b, mut b_events) = Client::start(config(&server), sqlite(&db).await, Some(b_id))
        .await
        .unwrap();
    // (The queued server_sync may start a sync before the login completes: no order with
    // `Connected` is assumed.)
    let failed = until(&mut b_events, |e| {
        matches!(e, Event::AppStateSyncFailed { .. } | Event::AppState(_))
    })
    .await;
    let Event::AppStateSyncFailed { collection, error } = failed else {
        panic!("a tampered patch was applied: {failed:?}");
    };
    assert_eq!(collection, "regular_low");
    assert!(error.contains("patch MAC"), "{error}");
    // Asked directly: the typed error, and the stored version did not move.
    let err = b
        .fetch_app_state(Collection::RegularLow, false)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::AppState(AppStateSyncError::Decode {
                collection: Collection::RegularLow,
                source: wa_appstate::AppStateError::MismatchingPatchMac { version: 3 }
            })
        ),
        "{err:?}"
    );
    stop(&b, &mut b_events).await;
    drop(b);
    let b_store = sqlite(&db).await.get(b_id).await.unwrap().unwrap();
    assert_eq!(version(&b_store, "regular_low").await, 2);
    assert_eq!(version(&b_store, "regular_high").await, 2);
    // Archived and unmuted; the refused mark-read left nothing behind.
    assert_eq!(
        b_store.chat_settings(&chat).await.unwrap(),
        Some(ChatSettings {
            muted_until: 0,
            pinned: true,
            archived: true
        })
    );
    a.disconnect().await;
}

/// Both devices change the same collection at once: the server takes one upload per version,
/// so whichever encoded on a stale version gets a 409, fetches, encodes again and lands next.
/// Both end at the same version and LTHash, having applied both changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_uploads_to_one_collection_both_land() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let a_box = MemoryContainer::new();
    let b_box = MemoryContainer::new();
    let (a, mut a_events, _) = pair_by_qr(&server, None, a_box.clone()).await;
    until_all_synced(&mut a_events).await;
    let (b, mut b_events, _) = pair_by_qr(&server, None, b_box.clone()).await;
    until_all_synced(&mut b_events).await;

    for round in 0..3u64 {
        let chat_a = format!("1555000{round}001@s.whatsapp.net");
        let chat_b = format!("1555000{round}002@s.whatsapp.net");
        let pa = PatchInfo::archive(&chat_a, true);
        let pb = PatchInfo::archive(&chat_b, true);
        let (ra, rb) = tokio::join!(a.send_app_state(&pa), b.send_app_state(&pb));
        let (va, vb) = (ra.unwrap(), rb.unwrap());
        // Each returns the version it fetched back up to: the later upload landed at 2r+2,
        // the earlier one at 2r+1 (its fetch may already include the other's).
        assert_eq!(va.max(vb), round * 2 + 2, "{va} {vb}");
        assert!(va.min(vb) > round * 2, "{va} {vb}");
    }
    let a_v = a
        .fetch_app_state(Collection::RegularLow, false)
        .await
        .unwrap();
    let b_v = b
        .fetch_app_state(Collection::RegularLow, false)
        .await
        .unwrap();
    assert_eq!((a_v, b_v), (6, 6));
    let a_store = a_box.get(a.device_id()).await.unwrap().unwrap();
    let b_store = b_box.get(b.device_id()).await.unwrap().unwrap();
    let ha = a_store
        .app_state_version("regular_low")
        .await
        .unwrap()
        .unwrap();
    let hb = b_store
        .app_state_version("regular_low")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ha, hb);
    // Each device applied all six archives (its own three and the other's three).
    for events in [&mut a_events, &mut b_events] {
        let mut chats = Vec::new();
        while chats.len() < 6 {
            let e = next_app_state(events).await;
            if let AppStateAction::Archive {
                chat,
                archived: true,
            } = e.action
            {
                chats.push(chat);
            }
        }
        chats.sort();
        chats.dedup();
        assert_eq!(chats.len(), 6);
    }
    // A full sync forgets A's state and rebuilds it from version 0: all six archives are
    // applied again, ending at the same version and hash. (Events of earlier syncs are
    // drained first.)
    while let Ok(Some(_)) =
        tokio::time::timeout(std::time::Duration::from_millis(300), a_events.recv()).await
    {}
    assert_eq!(
        a.fetch_app_state(Collection::RegularLow, true)
            .await
            .unwrap(),
        6
    );
    let mut again = 0;
    loop {
        match next(&mut a_events).await {
            Event::AppState(e) if e.collection == "regular_low" => again += 1,
            Event::AppStateSynced { collection, .. } if collection == "regular_low" => break,
            _ => {}
        }
    }
    assert_eq!(again, 6);
    let rebuilt = a_store
        .app_state_version("regular_low")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rebuilt, ha);
    a.disconnect().await;
    b.disconnect().await;
}

/// With `--state`, the server keeps the app-state patches across a restart: a companion
/// paired afterwards fetches them (under the phone's persisted key) and sees the mute.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patches_survive_a_server_restart_with_state() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = || wa_testserver::Config {
        state_dir: Some(dir.path().to_owned()),
        ..wa_testserver::Config::default()
    };
    let server = TestServer::start(cfg()).await.unwrap();
    let phone = server.admin().accounts()[0].pn.user().to_owned();
    let (a, mut a_events, _) = pair_by_qr(&server, None, MemoryContainer::new()).await;
    until_all_synced(&mut a_events).await;
    a.send_app_state(&PatchInfo::mute(CHAT, true, None))
        .await
        .unwrap();
    stop(&a, &mut a_events).await;
    server.shutdown().await;

    let server = TestServer::start(cfg()).await.unwrap();
    assert_eq!(
        server
            .admin()
            .app_state_version_of(&phone, "regular_high")
            .unwrap(),
        1
    );
    let (c, mut c_events, _) = pair_by_qr(&server, None, MemoryContainer::new()).await;
    let (seen, _) = until_all_synced(&mut c_events).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(
        seen[0].action,
        AppStateAction::Mute {
            chat: CHAT.into(),
            muted: true,
            end_timestamp_ms: None
        }
    );
    c.disconnect().await;
}

/// A patch under a key this device never got: the sync fails with missing keys, the device
/// asks its phone (a peer key-request message), the phone shares the key, and the sync that
/// follows applies the patch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_key_is_requested_from_the_phone() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let phone = server.admin().accounts()[0].pn.user().to_owned();
    let b_box = MemoryContainer::new();
    let (b, mut b_events, _) = pair_by_qr(&server, None, b_box.clone()).await;
    until_all_synced(&mut b_events).await;

    // The phone makes a new key; only a companion paired afterwards gets it at once.
    let new_key = server.admin().rotate_app_state_key(&phone).unwrap();
    let (c, mut c_events, _) = pair_by_qr(&server, None, MemoryContainer::new()).await;
    until_all_synced(&mut c_events).await;
    c.send_app_state(&PatchInfo::pin(CHAT, true)).await.unwrap();

    let b_store = b_box.get(b.device_id()).await.unwrap().unwrap();
    assert!(
        b_store
            .app_state_sync_key(&new_key)
            .await
            .unwrap()
            .is_none()
    );
    let failed = until(&mut b_events, |e| {
        matches!(e, Event::AppStateSyncFailed { .. } | Event::AppState(_))
    })
    .await;
    let Event::AppStateSyncFailed { collection, error } = failed else {
        panic!("applied without the key: {failed:?}");
    };
    assert_eq!(collection, "regular_low");
    assert!(error.contains("keys missing"), "{error}");
    let e = next_app_state(&mut b_events).await;
    assert_eq!(
        e.action,
        AppStateAction::Pin {
            chat: CHAT.into(),
            pinned: true
        }
    );
    assert!(
        b_store
            .app_state_sync_key(&new_key)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(version(&b_store, "regular_low").await, 1);
    b.disconnect().await;
    c.disconnect().await;
}
