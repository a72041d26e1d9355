//! Interop: our client (wa-client) and Baileys 7 (`baileys@7.0.0-rc14`) in one group on
//! `wa-testserver`.
//!
//! Two of our accounts (X creates the group, Y is a member) and a Baileys client on a third.
//! X's group text reaches Baileys (our sender-key distribution in `<participants>` and our
//! `skmsg` decrypt there) and Y; Baileys' group text is decrypted by both of our clients; Y's
//! text (Y's own distribution) is decrypted by Baileys.
//!
//! Driver script: `tests/interop/baileys_group.mjs` (JSON lines both ways).

use serde_json::json;
use wa_client::{Client, Event, EventStream};
use wa_proto::proto::Message;
use wa_tests::baileys::{Baileys, ONLINE, STEP_TIMEOUT, pair};
use wa_testserver::{Config, TestServer};

use crate::ours_and_baileys::{our_config, pair_ours_as};

const X_PHONE: &str = "15550007001";
const Y_PHONE: &str = "15550007002";

/// One of our clients, paired to the account of `phone`.
async fn pair_ours(server: &TestServer, phone: &str) -> (Client, EventStream) {
    pair_ours_as(server, our_config(server), Some(phone)).await
}

async fn next(events: &mut EventStream) -> Event {
    tokio::time::timeout(STEP_TIMEOUT, events.recv())
        .await
        .expect("timed out waiting for an event of our client")
        .expect("our client stopped")
}

/// Waits for a group text `text` in `group` on one of our clients; returns the sender.
async fn our_text(events: &mut EventStream, group: &str, text: &str) -> wa_binary::Jid {
    loop {
        if let Event::Message(m) = next(events).await
            && text_of(&m.message) == Some(text)
        {
            assert_eq!(m.info.source.chat.to_string(), group);
            assert!(m.info.source.is_group);
            return m.info.source.sender.clone();
        }
    }
}

/// The text of a plain (`conversation`) or extended text message (Baileys sends the latter).
fn text_of(m: &Message) -> Option<&str> {
    m.conversation.as_deref().or_else(|| {
        m.extended_text_message
            .as_ref()
            .and_then(|e| e.text.as_deref())
    })
}

fn text(s: &str) -> Message {
    Message {
        conversation: Some(s.into()),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_clients_and_baileys_read_each_others_group_messages() {
    let server = TestServer::start(Config::default())
        .await
        .expect("start server");
    let admin = server.admin();
    admin.create_account(X_PHONE, "Xavier").expect("account X");
    let y_account = admin.create_account(Y_PHONE, "Yolanda").expect("account Y");
    let auth = tempfile::tempdir().expect("tempdir");
    let mut b = Baileys::spawn("B", "baileys_group.mjs", &server, auth.path(), ONLINE);
    let b_jid = pair(&mut b, &admin, None).await;
    let (x, mut x_events) = pair_ours(&server, X_PHONE).await;
    let (y, mut y_events) = pair_ours(&server, Y_PHONE).await;

    let info = x
        .create_group(
            &wa_client::wa_groups::CreateGroup::new("Mixed")
                .participant(b_jid.to_non_ad())
                .participant(y_account.pn.clone()),
        )
        .await
        .expect("create the group");
    let group = info.jid.to_string();
    assert_eq!(info.participants.len(), 3, "{info:?}");
    b.expect_where("Baileys put in the group", |v| {
        v["event"] == "group" && v["id"] == group.as_str()
    })
    .await;

    // Ours -> Baileys (and our other account).
    x.send_message(info.jid.clone(), text("hello from rust"))
        .await
        .expect("X sends");
    let got = b
        .expect_where("X's group text", |v| {
            v["event"] == "message" && v["text"] == "hello from rust"
        })
        .await;
    assert_eq!(got["remoteJid"], group.as_str(), "{got}");
    our_text(&mut y_events, &group, "hello from rust").await;

    // Baileys -> ours.
    b.command(json!({"cmd": "send", "to": group, "text": "hello from baileys"}))
        .await;
    b.expect("sent").await;
    for events in [&mut x_events, &mut y_events] {
        let sender = our_text(events, &group, "hello from baileys").await;
        assert_eq!(sender.user(), {
            // The group names Baileys by its LID or phone number, as the group addresses.
            let p = info.participant(&b_jid).expect("Baileys is a participant");
            p.jid.user().to_owned()
        });
    }

    // Our second account's own distribution also works for Baileys, and a second message
    // from X (no new distribution) still decrypts there.
    y.send_message(info.jid.clone(), text("y says hi"))
        .await
        .expect("Y sends");
    b.expect_where("Y's group text", |v| {
        v["event"] == "message" && v["text"] == "y says hi"
    })
    .await;
    our_text(&mut x_events, &group, "y says hi").await;
    x.send_message(info.jid.clone(), text("second from rust"))
        .await
        .expect("X sends again");
    b.expect_where("X's second text", |v| {
        v["event"] == "message" && v["text"] == "second from rust"
    })
    .await;

    b.quit().await;
}
