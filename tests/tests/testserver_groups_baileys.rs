//! Interop: Baileys 7 (`baileys@7.0.0-rc14`) in a group on `wa-testserver`.
//!
//! Two Baileys clients on two accounts. A creates a group with B (`w:g2` create answered by
//! the server's group registry, B told by a `w:gp2` create notification), then each sends a
//! text to the group: Baileys fetches the group metadata, distributes its sender key to the
//! other member's devices (pkmsg in `<participants>`) and sends the `skmsg`; the server fans it
//! out with `participant` set, and the other side decrypts. Then A turns announce mode on:
//! B's next group text is refused by the server and never reaches A, while A's still reaches B.
//! Finally A removes B: B is told, its send fails (the group info is refused to non-members)
//! and A's texts no longer reach it.
//!
//! Driver script: `tests/interop/baileys_group.mjs` (JSON lines both ways).

use std::time::Duration;

use serde_json::json;
use wa_tests::baileys::{Baileys, ONLINE, pair};

use crate::ours_and_baileys::{B_PHONE, server_with_bob};

const SCRIPT: &str = "baileys_group.mjs";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baileys_members_exchange_group_messages_and_announce_mode_is_enforced() {
    let (server, admin, bob) = server_with_bob().await;
    let auth_a = tempfile::tempdir().expect("tempdir");
    let auth_b = tempfile::tempdir().expect("tempdir");
    let mut a = Baileys::spawn("A", SCRIPT, &server, auth_a.path(), ONLINE);
    let mut b = Baileys::spawn("B", SCRIPT, &server, auth_b.path(), ONLINE);
    pair(&mut a, &admin, None).await;
    pair(&mut b, &admin, Some(B_PHONE)).await;

    a.command(json!({"cmd": "create", "subject": "Interop", "participants": [bob.pn.to_string()]}))
        .await;
    let created = a.expect("created").await;
    let group = created["id"].as_str().expect("group id").to_owned();
    assert!(group.ends_with("@g.us"), "{created}");
    assert_eq!(created["subject"], "Interop");
    assert_eq!(
        created["participants"].as_array().map(Vec::len),
        Some(2),
        "{created}"
    );
    let upsert = b
        .expect_where("B put in the group", |v| {
            v["event"] == "group" && v["id"] == group.as_str()
        })
        .await;
    assert_eq!(upsert["subject"], "Interop");

    // A -> group: B decrypts (sender key distributed in the same stanza).
    a.command(json!({"cmd": "send", "to": group, "text": "hello group"}))
        .await;
    a.expect("sent").await;
    let got = b
        .expect_where("A's group text", |v| {
            v["event"] == "message" && v["text"] == "hello group"
        })
        .await;
    assert_eq!(got["remoteJid"], group.as_str(), "{got}");
    assert_eq!(got["fromMe"], false, "{got}");
    assert!(
        got["participant"].as_str().is_some_and(|p| !p.is_empty()),
        "{got}"
    );

    // B -> group: A decrypts.
    b.command(json!({"cmd": "send", "to": group, "text": "hi from B"}))
        .await;
    b.expect("sent").await;
    let got = a
        .expect_where("B's group text", |v| {
            v["event"] == "message" && v["text"] == "hi from B"
        })
        .await;
    assert_eq!(got["remoteJid"], group.as_str(), "{got}");

    // Announce mode: only admins post.
    a.command(json!({"cmd": "setting", "id": group, "setting": "announcement"}))
        .await;
    a.expect("setting-done").await;
    b.command(json!({"cmd": "metadata", "id": group})).await;
    let meta = b.expect("metadata").await;
    assert_eq!(meta["announce"], true, "{meta}");
    b.command(json!({"cmd": "send", "to": group, "text": "not allowed"}))
        .await;
    let refused = b
        .expect_where("B's refused send", |v| {
            v["event"] == "sent" && v["text"] == "not allowed"
        })
        .await;
    let refused_id = refused["id"].as_str().expect("message id").to_owned();
    // The server's ack carries an error: Baileys marks the message failed (status 0, ERROR).
    // That comes as a status update, or, when the ack arrived while Baileys still buffered the
    // upsert of its own copy, merged into that upsert (its event buffer folds the update in).
    let error_ack = |v: &serde_json::Value| {
        v["id"] == refused_id.as_str()
            && v["status"] == 0
            && (v["event"] == "status" || v["event"] == "message")
    };
    if !b.seen().iter().any(error_ack) {
        b.expect_where("the error ack", error_ack).await;
    }
    a.command(json!({"cmd": "send", "to": group, "text": "admins only"}))
        .await;
    b.expect_where("A's announcement", |v| {
        v["event"] == "message" && v["text"] == "admins only"
    })
    .await;
    // A's own text comes back as fromMe only locally; B's refused text never arrives.
    tokio::time::sleep(Duration::from_secs(2)).await;
    a.command(json!({"cmd": "metadata", "id": group})).await;
    a.expect("metadata").await;
    assert!(
        !a.seen()
            .iter()
            .any(|v| v["event"] == "message" && v["text"] == "not allowed"),
        "{:#?}",
        a.seen()
    );

    // A removes B: B is told, B can no longer send, A's next text no longer reaches B.
    a.command(json!({"cmd": "update", "id": group, "participants": [bob.pn.to_string()], "action": "remove"}))
        .await;
    let updated = a.expect("updated").await;
    assert_eq!(updated["results"][0]["status"], "200", "{updated}");
    b.expect_where("B told of its removal", |v| {
        v["event"] == "participants" && v["id"] == group.as_str() && v["action"] == "remove"
    })
    .await;
    // Baileys asks for the group's metadata before sending: the server now refuses it (403).
    b.command(json!({"cmd": "send", "to": group, "text": "still here?"}))
        .await;
    let failed = b
        .expect_where("B's send after removal", |v| {
            v["event"] == "send-failed" && v["text"] == "still here?"
        })
        .await;
    assert!(
        failed["message"]
            .as_str()
            .is_some_and(|m| m.contains("forbidden")),
        "{failed}"
    );
    a.command(json!({"cmd": "send", "to": group, "text": "after removal"}))
        .await;
    a.expect_where("A's send after removal", |v| {
        v["event"] == "sent" && v["text"] == "after removal"
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        !b.seen()
            .iter()
            .any(|v| v["event"] == "message" && v["text"] == "after removal"),
        "{:#?}",
        b.seen()
    );

    a.quit().await;
    b.quit().await;
}
