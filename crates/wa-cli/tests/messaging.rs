//! `wa send`, `wa react`, `wa edit`, `wa revoke` and `wa listen --json` as processes, with
//! sessions saved by `wa login`, against an in-process `wa-testserver` with two accounts.

use crate::common;

use std::time::Duration;

use serde_json::Value;
use wa_testserver::TestServer;

use common::{lines, login, run, sent_id, spawn};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_react_edit_revoke_reach_a_json_listener() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let admin = server.admin();
    admin.create_account("15550300001", "Alice").unwrap();
    let bob_account = admin.create_account("15550300002", "Bob").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let alice = login(&server, dir.path(), "alice", "15550300001", &[]).await;
    let bob = login(&server, dir.path(), "bob", "15550300002", &[]).await;

    // Bob is offline: what Alice sends now waits in the server's queue for him.
    let id = sent_id(
        &run(&alice.with(&[
            "send",
            "--to",
            "15550300002",
            "--text",
            "hello from the CLI",
        ]))
        .await,
    );
    let reply = sent_id(
        &run(&alice.with(&[
            "send",
            "--to",
            "+15550300002",
            "--text",
            "and a reply",
            "--reply-to",
            &id,
            "--reply-sender",
            "15550300001",
            "--quoted-text",
            "hello from the CLI",
        ]))
        .await,
    );
    let react = sent_id(
        &run(&alice.with(&[
            "react",
            "--to",
            "15550300002",
            "--id",
            &id,
            "--emoji",
            "🎉",
            "--mine",
        ]))
        .await,
    );
    let edit = sent_id(
        &run(&alice.with(&[
            "edit",
            "--to",
            "15550300002",
            "--id",
            &id,
            "--text",
            "hello, edited",
        ]))
        .await,
    );
    let revoke =
        sent_id(&run(&alice.with(&["revoke", "--to", "15550300002", "--id", &reply])).await);

    // Bob listens: the five messages as JSON lines, in the order they were sent (other
    // messages, such as the phone's app-state key share, may come too).
    let want: Vec<String> = vec![
        id.clone(),
        reply.clone(),
        react.clone(),
        edit.clone(),
        revoke.clone(),
    ];
    let mut child = spawn(&bob.with(&["listen", "--json", "--seconds", "30", "--read"]));
    let rx = lines(&mut child);
    let wanted = want.clone();
    let (events, seen) = tokio::task::spawn_blocking(move || {
        let mut events = Vec::new();
        let mut seen = Vec::new();
        while seen.len() < wanted.len() {
            let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) else {
                break;
            };
            let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
            if let Some(id) = v["info"]["id"].as_str()
                && wanted.iter().any(|w| w == id)
            {
                seen.push(line.clone());
                events.push(v);
            }
        }
        (events, seen)
    })
    .await
    .unwrap();
    // Give the read receipts a moment to leave, then stop the listener.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(seen.len(), 5, "{seen:#?}");
    let messages: Vec<&Value> = events.iter().filter(|e| e["type"] == "message").collect();
    let ids: Vec<&str> = messages
        .iter()
        .map(|m| m["info"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, want);
    let kinds: Vec<&str> = messages
        .iter()
        .map(|m| m["content"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["text", "text", "reaction", "edit", "revoke"]);
    assert_eq!(messages[0]["content"]["text"], "hello from the CLI");
    assert_eq!(messages[0]["info"]["push_name"], "Alice");
    assert_eq!(messages[1]["content"]["quoted"]["id"], id.as_str());
    assert_eq!(
        messages[1]["content"]["quoted"]["text"],
        "hello from the CLI"
    );
    assert_eq!(messages[2]["content"]["emoji"], "🎉");
    assert_eq!(messages[2]["content"]["key"]["id"], id.as_str());
    assert_eq!(messages[3]["content"]["new"]["text"], "hello, edited");
    assert_eq!(messages[4]["content"]["key"]["id"], reply.as_str());
    // The event's own fields are there too (the raw protobuf for anything not typed).
    assert!(messages[0]["message"]["proto_b64"].is_string());

    // Alice sees Bob's device deliver and read the first text (`--read`).
    let mut child = spawn(&alice.with(&["listen", "--json", "--seconds", "5"]));
    let rx = lines(&mut child);
    let want = id.clone();
    let bob_lid = bob_account.lid.user().to_owned();
    let kinds = tokio::task::spawn_blocking(move || {
        let mut kinds = Vec::new();
        while let Ok(line) = rx.recv_timeout(Duration::from_secs(10)) {
            let v: Value = serde_json::from_str(&line).unwrap();
            if v["type"] == "receipt"
                && v["message_ids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|m| m == want.as_str())
                && v["sender"].as_str().unwrap_or("").contains(&bob_lid)
            {
                kinds.push(v["kind"].as_str().unwrap_or("").to_owned());
            }
        }
        kinds
    })
    .await
    .unwrap();
    let _ = child.wait();
    assert!(kinds.iter().any(|k| k == "read"), "{kinds:?}");
    server.shutdown().await;
}
