//! Call signalling through `wa-testserver` over loopback sockets: B's (simulated) phone calls
//! A, who has two companions; both ring with the caller's meta; A rejects on one, and B's
//! companion, B's phone and A's other companion see the reject; a hang-up arrives as
//! `Terminate`, an unknown child as `Unknown`, a malformed stanza as no event; every `<call>`
//! handed to a companion was acked (the server records the acks); an offline companion misses
//! calls (nothing is queued).

use std::time::Duration;

use wa_binary::{Jid, Node};
use wa_client::{CallEvent, CallMeta, Event, EventStream};
use wa_testserver::TestServer;

use crate::common;

use common::live::{Companion, until};

const BOB: &str = "15550002222";

fn call_of(event: &Event) -> Option<&CallEvent> {
    match event {
        Event::Call(c) => Some(c.as_ref()),
        _ => None,
    }
}

async fn next_call(events: &mut EventStream) -> CallEvent {
    let event = until(events, |e| call_of(e).is_some()).await;
    call_of(&event).cloned().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_ring_every_companion_and_rejects_reach_the_caller() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let admin = server.admin();
    let bob = admin.create_account(BOB, "Bob").unwrap();
    let alice_phone = admin.accounts()[0].pn.user().to_owned();
    let mut a1 = Companion::pair(&server, None).await;
    let mut a2 = Companion::pair(&server, None).await;
    let mut b = Companion::pair(&server, Some(BOB)).await;

    // B's phone calls A: both of A's companions ring, with the caller's meta.
    let call_id = admin.place_call(BOB, &alice_phone, true).unwrap();
    for a in [&mut a1, &mut a2] {
        let offer = next_call(&mut a.events).await;
        let CallEvent::Offer { meta, remote, data } = &offer else {
            panic!("{offer:?}")
        };
        assert_eq!(
            (&meta.from.to_non_ad(), &meta.call_creator.to_non_ad()),
            (&bob.lid, &bob.lid)
        );
        assert_eq!(
            meta.call_creator_alt.as_ref().map(Jid::to_non_ad),
            Some(bob.pn.clone())
        );
        assert_eq!(meta.call_id, call_id);
        assert_eq!(meta.group_jid, None);
        assert!(meta.timestamp > 1_600_000_000);
        assert!(meta.stanza_id.starts_with("call-"), "{meta:?}");
        assert_eq!(remote.remote_platform, "android");
        assert!(!remote.remote_version.is_empty());
        assert!(data.child("video").is_some());
    }
    // B's own companion is not rung by its own phone.

    // A rejects on its first companion.
    a1.client
        .reject_call(bob.lid.clone(), &call_id)
        .await
        .unwrap();
    // The caller's companion sees the reject, from A's rejecting device.
    let reject = next_call(&mut b.events).await;
    let CallEvent::Reject { meta, .. } = &reject else {
        panic!("{reject:?}")
    };
    let alice_lid = admin.accounts()[0].lid.clone();
    let expect = CallMeta {
        from: meta.from.clone(),
        call_creator: bob.lid.clone(),
        call_id: call_id.clone(),
        ..meta.clone()
    };
    assert_eq!(meta, &expect);
    assert_eq!(meta.from.to_non_ad(), alice_lid);
    assert_eq!(meta.from.device(), a1.jid.device());
    // A's other companion stops ringing: it gets the reject too.
    let elsewhere = next_call(&mut a2.events).await;
    assert!(
        matches!(&elsewhere, CallEvent::Reject { meta, .. } if meta.call_id == call_id),
        "{elsewhere:?}"
    );
    // And so does B's phone.
    let to_phone = admin.calls_to_phone(BOB).unwrap();
    assert!(
        to_phone.iter().any(|n| n
            .child("reject")
            .and_then(|r| r.attr("call-id"))
            .and_then(|v| v.as_str())
            == Some(call_id.as_str())),
        "{to_phone:?}"
    );

    // A second call is hung up by the caller before anyone answers.
    let second = admin.place_call(BOB, &alice_phone, false).unwrap();
    let offer = next_call(&mut a1.events).await;
    assert!(matches!(&offer, CallEvent::Offer { data, .. } if data.child("video").is_none()));
    assert_eq!(
        admin
            .end_call(BOB, &alice_phone, &second, Some("timeout"))
            .unwrap(),
        2
    );
    let end = next_call(&mut a1.events).await;
    assert!(
        matches!(&end, CallEvent::Terminate { meta, reason, .. } if meta.call_id == second && reason == "timeout"),
        "{end:?}"
    );

    // A malformed stanza (an offer without call-id) gives no event; an unknown child gives
    // `Unknown` with the whole stanza.
    let bad = Node::new("offer")
        .attr("call-creator", bob.lid.clone())
        .build();
    assert_eq!(admin.phone_call_stanza(BOB, &alice_phone, bad).unwrap(), 2);
    let odd = Node::new("video_state")
        .attr("call-id", second.clone())
        .build();
    admin.phone_call_stanza(BOB, &alice_phone, odd).unwrap();
    let unknown = next_call(&mut a1.events).await;
    let CallEvent::Unknown { node } = &unknown else {
        panic!("the malformed offer became an event, or the unknown child did not: {unknown:?}")
    };
    assert_eq!(node.tag, "call");
    assert_eq!(node.children()[0].tag, "video_state");

    // Every call stanza handed to a companion (the malformed one too) was acked by it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let delivered = admin.delivered_calls();
        let acks = admin.call_acks();
        let missing: Vec<_> = delivered.iter().filter(|d| !acks.contains(d)).collect();
        // Two offers and the terminate, the malformed and unknown stanzas to A's two
        // companions; the reject to B's companion and to A's other one.
        assert_eq!(delivered.len(), 12, "{delivered:?}");
        if missing.is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not acked: {missing:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A companion that is offline misses calls: nothing is queued for it.
    a2.stop().await;
    let missed = admin.place_call(BOB, &alice_phone, false).unwrap();
    let offer = next_call(&mut a1.events).await;
    assert_eq!(
        offer.meta().map(|m| m.call_id.as_str()),
        Some(missed.as_str())
    );
    let queued = admin.queued_stanzas(&a2.jid).unwrap();
    assert!(queued.iter().all(|n| n.tag != "call"), "{queued:?}");
}
