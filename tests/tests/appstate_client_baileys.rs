//! Interop: app-state sync between our client and Baileys 7 (`baileys@7.0.0-rc14`), two
//! companions of one account on `wa-testserver`.
//!
//! Both get the phone's key share on their first login. Our client mutes a chat: the server
//! numbers the patch and sends `server_sync` to Baileys, which fetches it, verifies it with its
//! own code (patch, snapshot, value and index MACs, LTHash) and reports the mute in
//! `chats.update`. Baileys then pins the chat (`chatModify`, which first resyncs the collection
//! and uploads on top of the version it reached): our client hears `server_sync`, fetches,
//! verifies and emits the pin.
//!
//! Driver script: `tests/interop/baileys_appstate.mjs` (JSON lines both ways).

use serde_json::json;
use wa_client::appstate::PatchInfo;
use wa_client::{AppStateAction, Client, Event, EventStream};
use wa_tests::baileys::{Baileys, STEP_TIMEOUT, pair};
use wa_testserver::{Config, TestServer};

use crate::ours_and_baileys::our_config;

const SCRIPT: &str = "baileys_appstate.mjs";
const CHAT: &str = "15550009999@s.whatsapp.net";

async fn next(events: &mut EventStream) -> Event {
    tokio::time::timeout(STEP_TIMEOUT, events.recv())
        .await
        .expect("timed out waiting for our client")
        .expect("event stream ended")
}

/// Our client, paired by QR and with every collection synced (its key share arrived).
async fn ours(server: &TestServer) -> (Client, EventStream) {
    let (client, mut events) =
        Client::start(our_config(server), wa_store::MemoryContainer::new(), None)
            .await
            .expect("start client");
    let code = loop {
        if let Event::Qr { code } = next(&mut events).await {
            break code;
        }
    };
    server
        .admin()
        .scan_qr(&code)
        .await
        .expect("the phone scans our QR");
    let mut synced = 0;
    while synced < 5 {
        match next(&mut events).await {
            Event::AppStateSynced { .. } => synced += 1,
            Event::AppStateSyncFailed { collection, error } => {
                panic!("sync of {collection} failed: {error}")
            }
            _ => {}
        }
    }
    (client, events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mute_from_us_reaches_baileys_and_pin_from_baileys_reaches_us() {
    let server = TestServer::start(Config::default())
        .await
        .expect("start server");
    let admin = server.admin();
    let (client, mut events) = ours(&server).await;
    let auth = tempfile::tempdir().expect("tempdir");
    let mut baileys = Baileys::spawn("baileys", SCRIPT, &server, auth.path(), &[]);
    pair(&mut baileys, &admin, None).await;

    // Ours -> Baileys: a mute until a fixed time.
    let end: i64 = 1_900_000_000_000;
    client
        .send_app_state(&PatchInfo::mute(CHAT, true, Some(end)))
        .await
        .expect("upload the mute");
    let got = baileys
        .expect_where("the mute in chats.update", |v| {
            v["event"] == "chat" && v["id"] == CHAT && !v["muteEndTime"].is_null()
        })
        .await;
    assert_eq!(got["muteEndTime"], end, "{got}");

    // Baileys -> ours: a pin.
    baileys
        .command(json!({"cmd": "modify", "jid": CHAT, "mod": {"pin": true}}))
        .await;
    baileys.expect("modified").await;
    let pin = loop {
        match next(&mut events).await {
            Event::AppState(e) if matches!(e.action, AppStateAction::Pin { .. }) => break e,
            Event::AppStateSyncFailed { collection, error } => {
                panic!("our sync of {collection} failed: {error}")
            }
            _ => {}
        }
    };
    assert_eq!(
        pin.action,
        AppStateAction::Pin {
            chat: CHAT.into(),
            pinned: true
        }
    );
    assert_eq!(pin.collection, "regular_low");
    assert_eq!(pin.index, ["pin_v1", CHAT]);
    baileys.quit().await;
    client.disconnect().await;
}
