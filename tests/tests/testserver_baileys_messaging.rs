//! Interop: two Baileys 7 clients (`baileys@7.0.0-rc14`) on two accounts of one `wa-testserver`
//! exchange 1:1 texts and receipts.
//!
//! The server gets a second account (`Admin::create_account`); each Baileys process shows a QR
//! that the phone of its own account scans (`Admin::scan_qr` / `Admin::scan_qr_for`). A then
//! sends B a text: Baileys looks up both device lists and LIDs by usync, fetches the bundles
//! (B's companion and both phones), encrypts per device and the server fans the stanza out to
//! B's companion (and would to A's other devices); B decrypts it. B answers, A decrypts. The
//! delivery receipts Baileys sends on its own and a read receipt travel back to the sender.
//! Then B goes offline and a second device of A sends B a text: A's first device gets the
//! own-device copy, and B gets the queued message when it logs in again.
//!
//! Driver script: `tests/interop/baileys_msg.mjs` (JSON lines both ways).

use serde_json::json;
use wa_tests::baileys::{Baileys, ONLINE, pair};

use crate::ours_and_baileys::{B_PHONE, server_with_bob};

const SCRIPT: &str = "baileys_msg.mjs";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_baileys_accounts_exchange_texts_and_receipts() {
    let (server, admin, bob) = server_with_bob().await;
    assert_eq!(bob.pn.to_string(), format!("{B_PHONE}@s.whatsapp.net"));
    let a_user = admin.accounts()[0].clone();

    let auth_a = tempfile::tempdir().expect("tempdir");
    let auth_b = tempfile::tempdir().expect("tempdir");
    let mut a = Baileys::spawn("A", SCRIPT, &server, auth_a.path(), ONLINE);
    let mut b = Baileys::spawn("B", SCRIPT, &server, auth_b.path(), ONLINE);
    let a_dev = pair(&mut a, &admin, None).await;
    let b_dev = pair(&mut b, &admin, Some(B_PHONE)).await;
    assert_eq!(a_dev.to_string(), "15551234567:1@s.whatsapp.net");
    assert_eq!(b_dev.to_string(), format!("{B_PHONE}:1@s.whatsapp.net"));
    assert_eq!(
        admin.devices_of(B_PHONE).expect("B exists"),
        vec![b_dev.clone()]
    );

    // A -> B.
    a.command(json!({"cmd": "send", "to": bob.pn.to_string(), "text": "hello from A"}))
        .await;
    let sent = a.expect("sent").await;
    let a_msg_id = sent["id"].as_str().expect("message id").to_owned();
    let got = b
        .expect_where("A's text", |v| {
            v["event"] == "message" && v["text"] == "hello from A"
        })
        .await;
    assert_eq!(got["fromMe"], false, "{got}");
    assert_eq!(got["id"], a_msg_id.as_str(), "{got}");
    let from = got["remoteJid"].as_str().expect("remoteJid");
    assert!(
        from == a_user.pn.to_string() || from == a_user.lid.to_string(),
        "B sees the chat with A as {from}"
    );

    // B -> A.
    b.command(json!({"cmd": "send", "to": a_user.pn.to_string(), "text": "hello from B"}))
        .await;
    b.expect("sent").await;
    let got = a
        .expect_where("B's text", |v| {
            v["event"] == "message" && v["text"] == "hello from B"
        })
        .await;
    assert_eq!(got["fromMe"], false, "{got}");
    let from = got["remoteJid"].as_str().expect("remoteJid");
    assert!(
        from == bob.pn.to_string() || from == bob.lid.to_string(),
        "A sees the chat with B as {from}"
    );

    // Receipts: B's automatic delivery receipt reaches A (status 3 = delivered), then B reads
    // A's message and A sees status 4 (read).
    a.expect_where("delivery receipt for A's message", |v| {
        v["event"] == "status" && v["id"] == a_msg_id.as_str() && v["status"].as_u64() >= Some(3)
    })
    .await;
    let key = json!({"remoteJid": from_chat(&b, &a_msg_id), "id": a_msg_id, "fromMe": false});
    b.command(json!({"cmd": "read", "key": key})).await;
    b.expect("read-sent").await;
    a.expect_where("read receipt for A's message", |v| {
        v["event"] == "status" && v["id"] == a_msg_id.as_str() && v["status"].as_u64() >= Some(4)
    })
    .await;

    // B goes offline; A pairs a second device, which sends B a text: A's first device gets
    // the copy (DeviceSentMessage), B's device gets it queued and reads it on its next login.
    b.quit().await;
    let auth_a2 = tempfile::tempdir().expect("tempdir");
    let mut a2 = Baileys::spawn("A2", SCRIPT, &server, auth_a2.path(), ONLINE);
    let a2_dev = pair(&mut a2, &admin, None).await;
    assert_eq!(a2_dev.to_string(), "15551234567:2@s.whatsapp.net");
    let away = "sent while B was away";
    a2.command(json!({"cmd": "send", "to": bob.pn.to_string(), "text": away}))
        .await;
    a2.expect("sent").await;
    let copy = a
        .expect_where("A2's text on A's first device", |v| {
            v["event"] == "message" && v["text"] == away
        })
        .await;
    assert_eq!(copy["fromMe"], true, "{copy}");
    let queued = admin.queued_stanzas(&b_dev).expect("B's device is known");
    assert!(
        queued.iter().any(|n| n.tag == "message"
            && n.attr("from")
                .is_some_and(|f| f.to_string() == "15551234567:2@s.whatsapp.net")),
        "{queued:?}"
    );
    let mut b = Baileys::spawn("B again", SCRIPT, &server, auth_b.path(), ONLINE);
    b.expect("open").await;
    let got = b
        .expect_where("the queued text", |v| {
            v["event"] == "message" && v["text"] == away
        })
        .await;
    assert_eq!(got["fromMe"], false, "{got}");
    assert!(!b.seen().iter().any(|v| v["event"] == "qr"));
    assert!(admin.queued_stanzas(&b_dev).expect("known").is_empty());

    a.quit().await;
    a2.quit().await;
    b.quit().await;
}

/// The chat JID under which `b` saw message `id`.
fn from_chat(b: &Baileys, id: &str) -> String {
    b.seen()
        .iter()
        .find(|v| v["event"] == "message" && v["id"] == id)
        .and_then(|v| v["remoteJid"].as_str())
        .expect("message seen")
        .to_owned()
}
