//! Interop: call signalling between our `wa-client` (the default account) and a Baileys 7
//! client (`baileys@7.0.0-rc14`, second account "Bob") through `wa-testserver`. Neither can
//! place a call, so the accounts' simulated phones do (the server's admin API):
//!
//! - our phone calls Bob: the offer reaches Baileys as a `call` event with status `offer`;
//!   Baileys' `rejectCall` reaches our client (a companion of the caller's account) as
//!   `Event::Call(Reject)`;
//! - Bob's phone calls us: our client gets `Event::Call(Offer)`, and our `reject_call` reaches
//!   Baileys (a companion of the caller's account) as a `call` event with status `reject`.
//!
//! Both clients ack every call stanza (the server records the acks).
//!
//! Driver: `tests/interop/baileys_peer.mjs` (`call` events, `reject-call` command).

use serde_json::json;
use wa_client::{CallEvent, Event, EventStream};
use wa_tests::baileys::STEP_TIMEOUT;

use crate::ours_and_baileys::{B_PHONE, OursAndBob, next_where, ours_and_baileys_bob};

/// Our next call event.
async fn our_call(events: &mut EventStream, what: &str) -> CallEvent {
    match next_where(events, what, |e| matches!(e, Event::Call(_))).await {
        Event::Call(c) => *c,
        _ => unreachable!(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_between_our_client_and_baileys() {
    let OursAndBob {
        server: _server,
        admin,
        bob,
        us,
        client,
        mut ours,
        mut b,
        auth: _auth,
    } = ours_and_baileys_bob().await;
    let our_phone = us.pn.user().to_owned();

    // Our phone calls Bob: Baileys reports the offer.
    let call_id = admin
        .place_call(&our_phone, B_PHONE, true)
        .expect("our phone calls Bob");
    let offer = b
        .expect_where("Baileys' call offer", |v| {
            v["event"] == "call" && v["id"] == call_id.as_str() && v["status"] == "offer"
        })
        .await;
    assert_eq!(offer["from"], us.lid.to_string().as_str(), "{offer}");
    assert_eq!(offer["callerPn"], us.pn.to_string().as_str(), "{offer}");
    assert_eq!(offer["isVideo"], true, "{offer}");
    assert_eq!(offer["isGroup"], false, "{offer}");

    // Baileys rejects it: our client, a companion of the caller, sees the reject.
    b.command(json!({
        "cmd": "reject-call",
        "tag": "reject-1",
        "id": call_id,
        "from": offer["from"],
    }))
    .await;
    b.expect_where("Baileys' rejectCall answered", |v| {
        v["event"] == "call-rejected" && v["tag"] == "reject-1"
    })
    .await;
    let reject = our_call(&mut ours, "Baileys' reject").await;
    let CallEvent::Reject { meta, .. } = &reject else {
        panic!("{reject:?}")
    };
    assert_eq!(meta.call_id, call_id);
    assert_eq!(meta.call_creator.to_non_ad(), us.lid);
    assert_eq!(meta.from.user(), bob.lid.user(), "{meta:?}");
    // Our phone got it too.
    assert!(
        admin
            .calls_to_phone(&our_phone)
            .expect("our phone's calls")
            .iter()
            .any(|n| n.child("reject").is_some()),
        "the reject did not reach our phone"
    );

    // Bob's phone calls us: we get the offer and reject it; Baileys, a companion of the
    // caller, reports the reject.
    let second = admin
        .place_call(B_PHONE, &our_phone, false)
        .expect("Bob's phone calls us");
    let offer = our_call(&mut ours, "Bob's offer").await;
    let CallEvent::Offer { meta, .. } = &offer else {
        panic!("{offer:?}")
    };
    assert_eq!(meta.call_id, second);
    client
        .reject_call(meta.call_creator.clone(), &meta.call_id)
        .await
        .expect("reject Bob's call");
    let rejected = b
        .expect_where("Baileys' call reject", |v| {
            v["event"] == "call" && v["id"] == second.as_str() && v["status"] == "reject"
        })
        .await;
    // Baileys' `from` is the call's creator (Bob), `chatId` the stanza's sender: our device.
    assert_eq!(rejected["from"], bob.lid.to_string().as_str(), "{rejected}");
    assert!(
        rejected["chatId"]
            .as_str()
            .is_some_and(|c| c.starts_with(us.lid.user()) && c.ends_with("@lid")),
        "{rejected}"
    );

    // Both clients acked every call stanza the server handed them.
    let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
    loop {
        let acks = admin.call_acks();
        let delivered = admin.delivered_calls();
        let missing: Vec<_> = delivered.iter().filter(|d| !acks.contains(d)).collect();
        if missing.is_empty() && delivered.len() == 4 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not acked: {missing:?} of {delivered:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    b.quit().await;
    client.disconnect().await;
}
