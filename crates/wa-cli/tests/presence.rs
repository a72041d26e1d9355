//! `wa presence`, `wa typing` and `wa listen --subscribe` as processes against an in-process
//! `wa-testserver`: Bob's `wa listen --json --subscribe ALICE` prints Alice's presence when it
//! starts, when `wa presence available --name Alice` brings her online, and her chat states from
//! `wa typing`; going online without a push name fails with a message.

use crate::common;

use common::{ALICE, BOB, alice_and_bob, lines, run, spawn, text, wait_line};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_and_typing_from_the_cli_reach_a_subscribed_listener() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, alice, bob) = alice_and_bob(dir.path(), &[]).await;
    let alice_jid = format!("{ALICE}@s.whatsapp.net");

    let mut listener =
        spawn(&bob.with(&["listen", "--json", "--seconds", "60", "--subscribe", ALICE]));
    let rx = lines(&mut listener);
    let jid = alice_jid.clone();
    let (first, rx) = wait_line(rx, "no presence for Alice at subscription", move |line| {
        let v: Value = serde_json::from_str(line).unwrap_or(Value::Null);
        (v["type"] == "presence" && v["from"] == jid.as_str()).then_some(v)
    })
    .await;
    assert_eq!(first["unavailable"], true, "{first}");

    let refused = run(&alice.with(&["presence", "available"])).await;
    assert!(!refused.status.success());
    assert!(text(&refused).contains("push name"), "{}", text(&refused));

    let out = run(&alice.with(&["presence", "available", "--name", "Alice"])).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("is now online"), "{}", text(&out));
    let jid = alice_jid.clone();
    let (online, rx) = wait_line(rx, "Alice's online presence was not printed", move |line| {
        let v: Value = serde_json::from_str(line).unwrap_or(Value::Null);
        (v["type"] == "presence" && v["from"] == jid.as_str() && v["unavailable"] == false)
            .then_some(v)
    })
    .await;
    assert!(online["last_seen"].is_null(), "{online}");

    let out = run(&alice.with(&["typing", "--to", BOB, "--audio"])).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("recording in"), "{}", text(&out));
    let jid = alice_jid.clone();
    let (recording, _rx) = wait_line(rx, "Alice's recording state was not printed", move |line| {
        let v: Value = serde_json::from_str(line).unwrap_or(Value::Null);
        (v["type"] == "chat_presence" && v["sender"] == jid.as_str()).then_some(v)
    })
    .await;
    assert_eq!(recording["state"], "composing", "{recording}");
    assert_eq!(recording["media"], "audio", "{recording}");
    assert_eq!(recording["chat"], alice_jid.as_str(), "{recording}");

    let _ = listener.kill();
    let _ = listener.wait();
}
