//! Calls from the command line against an in-process `wa-testserver`: Bob's phone calls Alice,
//! whose `wa listen --json --reject-calls` prints the offer and rejects it; Bob's
//! `wa listen --json` prints the reject. Then Alice's phone calls Bob, whose listener prints
//! the offer, and `wa reject-call --from --id` refuses it: Alice's listener prints the reject.

use crate::common;

use std::time::Duration;

use common::{ALICE, BOB, alice_and_bob, lines, run, spawn, text, wait_line};
use serde_json::Value;
use wa_testserver::Admin;

/// Waits until the companion of `phone` is logged in (its `wa listen` is running).
async fn online(admin: &Admin, phone: &str) {
    let device = admin.devices_of(phone).unwrap()[0].clone();
    for _ in 0..600 {
        if admin.is_online(&device) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{phone}'s listener never logged in");
}

fn json(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_reject_calls_and_reject_call_refuse_calls() {
    let dir = tempfile::tempdir().unwrap();
    let (server, alice, bob) = alice_and_bob(dir.path(), &[]).await;
    let admin = server.admin();

    let mut alice_listener =
        spawn(&alice.with(&["listen", "--json", "--reject-calls", "--seconds", "90"]));
    let alice_rx = lines(&mut alice_listener);
    let mut bob_listener = spawn(&bob.with(&["listen", "--json", "--seconds", "90"]));
    let bob_rx = lines(&mut bob_listener);
    online(&admin, ALICE).await;
    online(&admin, BOB).await;

    // Bob's phone calls Alice: her listener prints the offer, then rejects it.
    let call_id = admin.place_call(BOB, ALICE, false).unwrap();
    let id = call_id.clone();
    let (offer, alice_rx) = wait_line(alice_rx, "Alice's listener printed no offer", move |l| {
        let v = json(l);
        (v["type"] == "call" && v["kind"] == "offer" && v["call_id"] == id.as_str()).then_some(v)
    })
    .await;
    let bob_lid = admin.account(BOB).unwrap().lid.to_string();
    assert_eq!(offer["call_creator"], bob_lid.as_str(), "{offer}");
    assert_eq!(offer["remote_platform"], "android", "{offer}");
    let id = call_id.clone();
    let (rejected, alice_rx) = wait_line(alice_rx, "Alice's listener did not reject", move |l| {
        let v = json(l);
        (v["type"] == "call_rejected" && v["call_id"] == id.as_str()).then_some(v)
    })
    .await;
    assert_eq!(rejected["call_creator"], bob_lid.as_str(), "{rejected}");
    // Bob's companion (the caller's) sees the reject.
    let id = call_id.clone();
    let (reject, bob_rx) = wait_line(bob_rx, "Bob's listener printed no reject", move |l| {
        let v = json(l);
        (v["type"] == "call" && v["kind"] == "reject" && v["call_id"] == id.as_str()).then_some(v)
    })
    .await;
    let alice_lid = admin.account(ALICE).unwrap().lid;
    assert!(
        reject["from"]
            .as_str()
            .is_some_and(|f| f.starts_with(alice_lid.user())),
        "{reject}"
    );

    // Alice's phone calls Bob; Bob rejects with `wa reject-call` (his listener must go first:
    // one device, one connection).
    let second = admin.place_call(ALICE, BOB, true).unwrap();
    let id = second.clone();
    let (offer, _bob_rx) = wait_line(bob_rx, "Bob's listener printed no offer", move |l| {
        let v = json(l);
        (v["type"] == "call" && v["kind"] == "offer" && v["call_id"] == id.as_str()).then_some(v)
    })
    .await;
    let _ = bob_listener.kill();
    let _ = bob_listener.wait();
    let creator = offer["call_creator"].as_str().unwrap().to_owned();
    let out = run(&bob.with(&["reject-call", "--from", &creator, "--id", &second])).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("rejected call {second}")),
        "{}",
        text(&out)
    );
    let id = second.clone();
    let (reject, _alice_rx) = wait_line(alice_rx, "Alice's listener printed no reject", move |l| {
        let v = json(l);
        (v["type"] == "call" && v["kind"] == "reject" && v["call_id"] == id.as_str()).then_some(v)
    })
    .await;
    assert_eq!(
        reject["call_creator"],
        alice_lid.to_string().as_str(),
        "{reject}"
    );

    // A bad caller is refused before connecting.
    let bad = run(&bob.with(&["reject-call", "--from", "", "--id", "X"])).await;
    assert!(!bad.status.success());

    let _ = alice_listener.kill();
    let _ = alice_listener.wait();
}
