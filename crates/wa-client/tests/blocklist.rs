//! The blocklist through `wa-testserver` over loopback sockets: account A (two companions)
//! blocks B; the other companion hears of it and reads the same list; B's message sent while
//! blocked never reaches A (B still gets its ack), the one after the unblock does.

use wa_client::{BlocklistAction, BlocklistChange, Event};
use wa_testserver::TestServer;

use crate::common;

use common::live::{Companion, STEP, text, until};

const BOB: &str = "15550002222";

fn blocklist_change(event: &Event) -> Option<&Vec<BlocklistChange>> {
    match event {
        Event::Blocklist(b) => Some(&b.changes),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_user_cannot_reach_the_account_until_unblocked() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    server.admin().create_account(BOB, "Bob").unwrap();
    let mut a1 = Companion::pair(&server, None).await;
    let mut a2 = Companion::pair(&server, None).await;
    let mut b = Companion::pair(&server, Some(BOB)).await;
    let a_user = a1.jid.to_non_ad();
    let b_user = b.jid.to_non_ad();

    assert!(a1.client.blocklist().await.unwrap().jids.is_empty());
    let list = a1
        .client
        .update_blocklist(&b_user, BlocklistAction::Block)
        .await
        .unwrap();
    assert_eq!(list.jids, std::slice::from_ref(&b_user));
    let heard = until(&mut a2.events, |e| blocklist_change(e).is_some()).await;
    assert_eq!(
        blocklist_change(&heard).unwrap(),
        &[BlocklistChange {
            jid: b_user.clone(),
            action: BlocklistAction::Block,
        }]
    );
    let seen_by_a2 = a2.client.blocklist().await.unwrap();
    assert_eq!(seen_by_a2.jids, std::slice::from_ref(&b_user));
    assert_eq!(seen_by_a2.dhash, list.dhash);

    // Sent while blocked: the server acks it to Bob and keeps it from A.
    let blocked = b
        .client
        .send_message(a_user.clone(), text("while blocked"))
        .await
        .unwrap();

    let list = a1
        .client
        .update_blocklist(&b_user, BlocklistAction::Unblock)
        .await
        .unwrap();
    assert!(list.jids.is_empty());
    let heard = until(&mut a2.events, |e| blocklist_change(e).is_some()).await;
    assert_eq!(
        blocklist_change(&heard).unwrap()[0].action,
        BlocklistAction::Unblock
    );

    let after = b
        .client
        .send_message(a_user.clone(), text("after unblock"))
        .await
        .unwrap();
    // Every message from someone else up to Bob's second one: the first is not among them
    // (the others from A's own phone are skipped).
    let mut seen = Vec::new();
    loop {
        let event = tokio::time::timeout(STEP, a1.events.recv())
            .await
            .expect("Bob's message after the unblock did not arrive")
            .expect("event stream ended");
        if let Event::Message(m) = &event
            && !m.info.source.is_from_me
        {
            seen.push((m.info.id.clone(), m.message.conversation.clone()));
            if m.info.id == after.id {
                break;
            }
        }
    }
    assert_eq!(
        seen,
        [(after.id.clone(), Some("after unblock".to_owned()))],
        "message {} sent while blocked must not arrive",
        blocked.id
    );

    a1.stop().await;
    a2.stop().await;
    b.stop().await;
}
