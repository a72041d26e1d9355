//! Interop: our `wa-client` and a Baileys 7 client (`baileys@7.0.0-rc14`) on two accounts of
//! one `wa-testserver` exchange 1:1 texts both ways.
//!
//! Our client (default account) sends Baileys (second account) a text: our send pipeline
//! addresses Baileys by its LID, fetches the device lists and bundles, and encrypts a `pkmsg`
//! with our device identity; Baileys decrypts it. Baileys answers and our receive pipeline
//! decrypts its `pkmsg`. A second text each way then runs on the established sessions, and
//! Baileys' delivery receipt for our message reaches us as a receipt event. Finally Baileys
//! loses its session files: our next message fails there, Baileys' retry receipt reaches us
//! and our answer (re-encrypted from the outgoing cache on a rebuilt session) decrypts.
//!
//! A second test (`our_client_and_baileys_exchange_every_kind`) runs both directions of a
//! quoted reply, a reaction, an edit and a revocation, each decoded on the receiving side (our
//! `MessageContent`, Baileys' proto fields), and delivery and read receipts both ways.
//!
//! Driver scripts: `tests/interop/baileys_msg.mjs` and `tests/interop/baileys_peer.mjs` (JSON
//! lines both ways).

use serde_json::{Value, json};
use wa_client::message::{MessageContent, build};
use wa_client::{Client, Event, EventStream, ReceiptKind};
use wa_proto::proto::Message;
use wa_tests::baileys::{Baileys, ONLINE, STEP_TIMEOUT, pair};
use wa_testserver::TestServer;

use crate::ours_and_baileys::{B_PHONE, our_config, server_with_bob};

/// Our client's events, with every one already consumed kept for later checks.
struct Ours {
    events: EventStream,
    seen: Vec<Event>,
}

impl Ours {
    /// Starts our client on an in-memory store and pairs it by QR to the server's default
    /// account; returns once it is connected.
    async fn pair(server: &TestServer) -> (Client, Ours) {
        let (client, events) =
            Client::start(our_config(server), wa_store::MemoryContainer::new(), None)
                .await
                .expect("start client");
        let mut ours = Ours {
            events,
            seen: Vec::new(),
        };
        let Event::Qr { code } = ours.until("QR", |e| matches!(e, Event::Qr { .. })).await else {
            unreachable!()
        };
        let scanner = server.admin();
        let scan = tokio::spawn(async move { scanner.scan_qr(&code).await });
        ours.until("login", |e| *e == Event::Connected).await;
        scan.await.expect("join").expect("the phone scans our QR");
        (client, ours)
    }

    /// The first event (already seen, or next) matching `pred`.
    async fn until(&mut self, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
        if let Some(e) = self.seen.iter().find(|e| pred(e)) {
            return e.clone();
        }
        loop {
            let e = tokio::time::timeout(STEP_TIMEOUT, self.events.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "timed out waiting for {what}; our client saw {:#?}",
                        self.seen
                    )
                })
                .expect("event stream ended");
            self.seen.push(e.clone());
            if pred(&e) {
                return e;
            }
        }
    }
}

fn text(s: &str) -> Message {
    Message {
        conversation: Some(s.into()),
        ..Default::default()
    }
}

/// The text of a plain or extended text message (Baileys sends the latter).
fn text_of(m: &Message) -> Option<&str> {
    m.conversation.as_deref().or(m
        .extended_text_message
        .as_ref()
        .and_then(|e| e.text.as_deref()))
}

/// Waits for our client's `Message` event whose text is `want`.
async fn our_text(ours: &mut Ours, want: &str) -> Box<wa_client::MessageEvent> {
    let Event::Message(m) = ours
        .until(
            want,
            |e| matches!(e, Event::Message(m) if text_of(&m.message) == Some(want)),
        )
        .await
    else {
        unreachable!()
    };
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_and_baileys_exchange_texts() {
    let (server, admin, bob) = server_with_bob().await;
    let us_account = admin.accounts()[0].clone();

    // Our client on the default account.
    let (client, mut ours) = Ours::pair(&server).await;

    // Baileys on the second account.
    let auth = tempfile::tempdir().expect("tempdir");
    let mut b = Baileys::spawn("msg", "baileys_msg.mjs", &server, auth.path(), ONLINE);
    pair(&mut b, &admin, Some(B_PHONE)).await;

    // Us -> Baileys: a pkmsg from our send pipeline.
    let sent = client
        .send_message(bob.pn.clone(), text("hello Baileys, from Rust"))
        .await
        .expect("send to Baileys");
    assert_eq!(sent.chat, bob.lid, "addressed by LID");
    let got = b
        .expect_where("our text", |v| {
            v["event"] == "message" && v["text"] == "hello Baileys, from Rust"
        })
        .await;
    assert_eq!(got["id"], sent.id.as_str(), "{got}");
    assert_eq!(got["fromMe"], false, "{got}");

    // Baileys -> us.
    b.command(json!({"cmd": "send", "to": us_account.pn.to_string(), "text": "hi Rust"}))
        .await;
    b.expect("sent").await;
    let m = our_text(&mut ours, "hi Rust").await;
    assert!(!m.info.source.is_from_me);
    // The chat in either of Bob's forms (the server addresses this one by phone number).
    let chat = m.info.source.chat.user();
    assert!(
        chat == bob.pn.user() || chat == bob.lid.user(),
        "{:?}",
        m.info.source
    );

    // Second round on the established sessions, both ways.
    let again = client
        .send_message(bob.pn.clone(), text("second from Rust"))
        .await
        .expect("second send");
    b.expect_where("our second text", |v| {
        v["event"] == "message" && v["text"] == "second from Rust"
    })
    .await;
    b.command(
        json!({"cmd": "send", "to": us_account.pn.to_string(), "text": "second from Baileys"}),
    )
    .await;
    our_text(&mut ours, "second from Baileys").await;

    // Baileys' delivery receipt for our messages reaches us.
    ours.until("delivery receipt", |e| {
        matches!(e, Event::Receipt(r)
            if r.kind == ReceiptKind::Delivered
                && (r.message_ids.contains(&sent.id) || r.message_ids.contains(&again.id)))
    })
    .await;

    // Baileys loses its Signal sessions (its auth files): our next message does not decrypt
    // there, Baileys sends a retry receipt, and our send pipeline answers it from the
    // outgoing cache with a rebuilt session; Baileys then decrypts the message.
    for entry in std::fs::read_dir(auth.path()).expect("auth dir") {
        let path = entry.expect("dir entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("session-") {
            std::fs::remove_file(&path).expect("remove a Baileys session file");
        }
    }
    let lost = client
        .send_message(bob.pn.clone(), text("after Baileys lost its sessions"))
        .await
        .expect("send after the loss");
    b.expect_where("the resent text", |v| {
        v["event"] == "message" && v["text"] == "after Baileys lost its sessions"
    })
    .await;
    ours.until("Baileys' retry receipt", |e| {
        matches!(e, Event::Receipt(r)
            if r.kind == ReceiptKind::Retry && r.message_ids.contains(&lost.id))
    })
    .await;
    b.quit().await;
    client.disconnect().await;
}

/// Milliseconds from a server timestamp in seconds (the sans-IO clock of this test: the
/// server's time of a message received, instead of reading the system clock).
fn ms(seconds: u64) -> i64 {
    i64::try_from(seconds.saturating_mul(1000)).unwrap_or(i64::MAX)
}

/// Waits for our client's `Message` event whose typed content satisfies `pred`.
async fn our_content(
    ours: &mut Ours,
    what: &str,
    pred: impl Fn(&MessageContent) -> bool,
) -> (Box<wa_client::MessageEvent>, MessageContent) {
    let Event::Message(m) = ours
        .until(
            what,
            |e| matches!(e, Event::Message(m) if pred(&MessageContent::from_message(&m.message))),
        )
        .await
    else {
        unreachable!()
    };
    let content = MessageContent::from_message(&m.message);
    (m, content)
}

/// Waits for our client's receipt of `kind` covering `id`.
async fn our_receipt(ours: &mut Ours, what: &str, kind: ReceiptKind, id: &str) {
    ours.until(what, |e| {
        matches!(e, Event::Receipt(r) if r.kind == kind && r.message_ids.iter().any(|m| m == id))
    })
    .await;
}

/// Waits for Baileys' `message` event with id `id` and returns its decoded content.
async fn baileys_message(b: &mut Baileys, what: &str, id: &str) -> Value {
    let v = b
        .expect_where(what, |v| v["event"] == "message" && v["id"] == id)
        .await;
    assert_eq!(v["fromMe"], false, "{what}: {v}");
    v["content"].clone()
}

/// Sends a command to Baileys and returns the id of the message it sent.
async fn baileys_send(b: &mut Baileys, tag: &str, mut cmd: Value) -> String {
    cmd["tag"] = json!(tag);
    b.command(cmd).await;
    let sent = b
        .expect_where(tag, |v| v["event"] == "sent" && v["tag"] == tag)
        .await;
    sent["id"]
        .as_str()
        .unwrap_or_else(|| panic!("Baileys sent {tag} without an id: {sent}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_and_baileys_exchange_every_kind() {
    let (server, admin, bob) = server_with_bob().await;
    let us_account = admin.accounts()[0].clone();
    let us = us_account.pn.to_string();

    // Our client on the default account.
    let (client, mut ours) = Ours::pair(&server).await;

    // Baileys on the second account.
    let auth = tempfile::tempdir().expect("tempdir");
    let mut b = Baileys::spawn("peer", "baileys_peer.mjs", &server, auth.path(), ONLINE);
    pair(&mut b, &admin, Some(B_PHONE)).await;

    // --- Text, Baileys -> us, with our delivery and read receipts back.
    let b1 = baileys_send(
        &mut b,
        "b1",
        json!({"cmd": "send", "to": us, "text": "b1 text"}),
    )
    .await;
    let (m, content) = our_content(
        &mut ours,
        "Baileys' text",
        |c| matches!(c, MessageContent::Text { text, .. } if text == "b1 text"),
    )
    .await;
    assert_eq!(m.info.id, b1);
    assert!(!m.info.source.is_from_me);
    assert!(
        matches!(&content, MessageContent::Text { quoted: None, .. }),
        "{content:?}"
    );
    let bob_chat = m.info.source.chat.clone();
    let server_time = m.info.timestamp;
    assert!(server_time > 0, "the server stamps Baileys' message");
    let bob_sender = m.info.source.sender.to_non_ad();
    assert!(
        bob_chat.user() == bob.pn.user() || bob_chat.user() == bob.lid.user(),
        "{:?}",
        m.info.source
    );
    b.expect_where("our delivery receipt for b1 (status 3)", |v| {
        v["event"] == "status" && v["id"] == b1.as_str() && v["status"].as_u64() >= Some(3)
    })
    .await;
    client
        .mark_read(
            std::slice::from_ref(&b1),
            bob_chat.clone(),
            None,
            server_time,
        )
        .await
        .expect("mark b1 read");
    b.expect_where("our read receipt for b1 (status 4)", |v| {
        v["event"] == "status" && v["id"] == b1.as_str() && v["status"].as_u64() >= Some(4)
    })
    .await;

    // --- Text, us -> Baileys, with Baileys' delivery and read receipts back.
    let r1 = client
        .send_message(bob.pn.clone(), build::text("r1 text"))
        .await
        .expect("send r1");
    let got = b
        .expect_where("our text r1", |v| {
            v["event"] == "message" && v["id"] == r1.id.as_str()
        })
        .await;
    assert_eq!(got["content"]["text"], "r1 text", "{got}");
    assert_eq!(got["content"]["quoted"], Value::Null, "{got}");
    let r1_chat_at_b = got["remoteJid"].clone();
    our_receipt(
        &mut ours,
        "Baileys' delivery receipt for r1",
        ReceiptKind::Delivered,
        &r1.id,
    )
    .await;
    b.command(
        json!({"cmd": "read", "key": {"remoteJid": r1_chat_at_b, "id": r1.id, "fromMe": false}}),
    )
    .await;
    b.expect_where("read-sent", |v| {
        v["event"] == "read-sent" && v["id"] == r1.id.as_str()
    })
    .await;
    our_receipt(
        &mut ours,
        "Baileys' read receipt for r1",
        ReceiptKind::Read,
        &r1.id,
    )
    .await;

    // --- Quoted replies both ways.
    let reply = build::TextBuilder::new("our reply")
        .reply_to(build::Quote {
            id: b1.clone(),
            sender: bob_sender.clone(),
            message: build::text("b1 text"),
        })
        .build();
    let sent = client
        .send_message(bob.pn.clone(), reply)
        .await
        .expect("send our reply");
    let c = baileys_message(&mut b, "our reply", &sent.id).await;
    assert_eq!(c["text"], "our reply", "{c}");
    assert_eq!(c["quoted"]["id"], b1.as_str(), "{c}");
    assert_eq!(c["quoted"]["text"], "b1 text", "{c}");
    assert_eq!(c["quoted"]["participant"], bob_sender.to_string(), "{c}");

    let b_reply = baileys_send(
        &mut b,
        "b-reply",
        json!({"cmd": "reply", "to": us, "text": "Baileys' reply", "quotedId": r1.id}),
    )
    .await;
    let (m, content) = our_content(
        &mut ours,
        "Baileys' reply",
        |c| matches!(c, MessageContent::Text { text, .. } if text == "Baileys' reply"),
    )
    .await;
    assert_eq!(m.info.id, b_reply);
    let MessageContent::Text {
        quoted: Some(q), ..
    } = &content
    else {
        panic!("Baileys' reply decodes without a quote: {content:?}")
    };
    assert_eq!(q.id, r1.id);
    assert_eq!(q.text.as_deref(), Some("r1 text"), "{q:?}");

    // --- Reactions both ways.
    let react = build::reaction(
        &build::Target::from(bob_chat.clone(), b1.clone(), bob_sender.clone()),
        "👍",
        ms(server_time),
    );
    let sent = client
        .send_message(bob.pn.clone(), react)
        .await
        .expect("send our reaction");
    let c = baileys_message(&mut b, "our reaction", &sent.id).await;
    assert_eq!(c["reaction"]["text"], "👍", "{c}");
    assert_eq!(c["reaction"]["key"]["id"], b1.as_str(), "{c}");
    // Baileys maps the key to its own perspective: b1 is its own message.
    b.expect_where("Baileys applies our reaction to its b1", |v| {
        v["event"] == "reaction"
            && v["id"] == b1.as_str()
            && v["fromMe"] == true
            && v["text"] == "👍"
    })
    .await;

    baileys_send(
        &mut b,
        "b-react",
        json!({"cmd": "react", "to": us, "text": "❤️",
               "key": {"remoteJid": r1_chat_at_b, "fromMe": false, "id": r1.id}}),
    )
    .await;
    let (_, content) = our_content(&mut ours, "Baileys' reaction", |c| {
        matches!(c, MessageContent::Reaction { .. })
    })
    .await;
    let MessageContent::Reaction { key, emoji } = &content else {
        unreachable!()
    };
    assert_eq!(emoji, "❤️");
    assert_eq!(key.id, r1.id, "{content:?}");

    // --- Edits both ways.
    let sent = client
        .send_message(
            bob.pn.clone(),
            build::edit(
                &bob.pn,
                &r1.id,
                build::text("r1 edited"),
                ms(server_time) + 1,
            ),
        )
        .await
        .expect("send our edit");
    let c = baileys_message(&mut b, "our edit", &sent.id).await;
    assert_eq!(c["wrappedInEdit"], true, "{c}");
    assert_eq!(c["protocol"]["type"], 14, "MESSAGE_EDIT: {c}");
    assert_eq!(c["protocol"]["key"]["id"], r1.id.as_str(), "{c}");
    assert_eq!(c["protocol"]["editedText"], "r1 edited", "{c}");
    b.expect_where("Baileys applies our edit to r1", |v| {
        v["event"] == "update" && v["id"] == r1.id.as_str() && v["editedText"] == "r1 edited"
    })
    .await;

    baileys_send(
        &mut b,
        "b-edit",
        json!({"cmd": "edit", "to": us, "text": "b1 edited",
               "key": {"remoteJid": us, "fromMe": true, "id": b1}}),
    )
    .await;
    let (_, content) = our_content(&mut ours, "Baileys' edit", |c| {
        matches!(c, MessageContent::Edit { .. })
    })
    .await;
    let MessageContent::Edit { key, new } = &content else {
        unreachable!()
    };
    assert_eq!(key.id, b1, "{content:?}");
    assert!(
        matches!(new.as_ref(), MessageContent::Text { text, .. } if text == "b1 edited"),
        "{content:?}"
    );

    // --- Revocations both ways.
    let sent = client
        .send_message(
            bob.pn.clone(),
            build::revoke(&build::Target::own(bob.pn.clone(), r1.id.clone())),
        )
        .await
        .expect("send our revocation");
    let c = baileys_message(&mut b, "our revocation", &sent.id).await;
    assert_eq!(c["protocol"]["type"], 0, "REVOKE: {c}");
    assert_eq!(c["protocol"]["key"]["id"], r1.id.as_str(), "{c}");
    b.expect_where("Baileys applies our revocation to r1", |v| {
        v["event"] == "update" && v["id"] == r1.id.as_str() && v["stub"] == 1
    })
    .await;

    baileys_send(
        &mut b,
        "b-delete",
        json!({"cmd": "delete", "to": us, "key": {"remoteJid": us, "fromMe": true, "id": b1}}),
    )
    .await;
    let (_, content) = our_content(&mut ours, "Baileys' revocation", |c| {
        matches!(c, MessageContent::Revoke { .. })
    })
    .await;
    let MessageContent::Revoke { key } = &content else {
        unreachable!()
    };
    assert_eq!(key.id, b1, "{content:?}");

    b.quit().await;
    client.disconnect().await;
}

/// Sends a presence or subscribe command to Baileys and waits for it to be done.
async fn baileys_presence(b: &mut Baileys, tag: &str, mut cmd: Value) {
    cmd["tag"] = json!(tag);
    b.command(cmd).await;
    b.expect_where(tag, |v| v["event"] == "presence-sent" && v["tag"] == tag)
        .await;
}

/// The presence Baileys reports for `participant` in `chat` once it equals `want`.
async fn baileys_sees(b: &mut Baileys, chat: &str, participant: &str, want: &str) -> Value {
    let what = format!("Baileys sees {participant} {want} in {chat}");
    b.expect_where(&what, |v| {
        v["event"] == "presence"
            && v["id"] == chat
            && v["presences"][participant]["lastKnownPresence"] == want
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_and_baileys_see_each_others_presence_and_chat_state() {
    use wa_client::{ChatPresence, ChatPresenceMedia, PresenceEvent};

    let (server, admin, bob) = server_with_bob().await;
    let us = admin.accounts()[0].pn.clone();
    let us_str = us.to_string();
    let bob_str = bob.pn.to_string();

    let (client, mut ours) = Ours::pair(&server).await;
    let auth = tempfile::tempdir().expect("tempdir");
    // ONLINE: Baileys announces `available` when it connects.
    let mut b = Baileys::spawn("peer", "baileys_peer.mjs", &server, auth.path(), ONLINE);
    pair(&mut b, &admin, Some(B_PHONE)).await;

    // Our subscription: the server answers with Baileys' presence, online.
    client
        .subscribe_presence(bob.pn.clone())
        .await
        .expect("subscribe to Baileys");
    let online = ours
        .until("Baileys' presence", |e| matches!(e, Event::Presence(_)))
        .await;
    assert_eq!(
        online,
        Event::Presence(PresenceEvent {
            from: bob.pn.clone(),
            unavailable: false,
            last_seen: None,
        })
    );

    // Baileys types, records and pauses in our chat; we see each state.
    for (tag, kind, state, media) in [
        (
            "b-typing",
            "composing",
            ChatPresence::Composing,
            ChatPresenceMedia::Text,
        ),
        (
            "b-recording",
            "recording",
            ChatPresence::Composing,
            ChatPresenceMedia::Audio,
        ),
        (
            "b-paused",
            "paused",
            ChatPresence::Paused,
            ChatPresenceMedia::Text,
        ),
    ] {
        ours.seen.clear();
        baileys_presence(
            &mut b,
            tag,
            json!({"cmd": "presence", "type": kind, "to": us_str}),
        )
        .await;
        let event = ours
            .until(tag, |e| matches!(e, Event::ChatPresence(_)))
            .await;
        let Event::ChatPresence(c) = event else {
            unreachable!()
        };
        assert_eq!(
            (&c.chat, &c.sender, c.state, c.media),
            (&bob.pn, &bob.pn, state, media),
            "{tag}"
        );
    }

    // Baileys subscribes to us: it hears that we were never seen, then our chat states.
    baileys_presence(
        &mut b,
        "b-subscribe",
        json!({"cmd": "subscribe", "to": us_str}),
    )
    .await;
    baileys_sees(&mut b, &us_str, &us_str, "unavailable").await;
    for (state, media, want) in [
        (
            ChatPresence::Composing,
            ChatPresenceMedia::Text,
            "composing",
        ),
        (
            ChatPresence::Composing,
            ChatPresenceMedia::Audio,
            "recording",
        ),
        (ChatPresence::Paused, ChatPresenceMedia::Text, "available"),
    ] {
        client
            .send_chat_presence(bob.pn.clone(), state, media)
            .await
            .expect("send our chat state");
        baileys_sees(&mut b, &us_str, &us_str, want).await;
    }

    // Baileys goes offline: we get its last-seen time.
    ours.seen.clear();
    baileys_presence(
        &mut b,
        "b-away",
        json!({"cmd": "presence", "type": "unavailable", "to": bob_str}),
    )
    .await;
    let away = ours
        .until(
            "Baileys away",
            |e| matches!(e, Event::Presence(p) if p.unavailable),
        )
        .await;
    let Event::Presence(away) = away else {
        unreachable!()
    };
    assert_eq!(away.from, bob.pn);
    assert!(
        away.last_seen.is_some_and(|t| t > 1_600_000_000),
        "{away:?}"
    );

    b.quit().await;
    client.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baileys_blocks_our_client_and_our_message_is_not_delivered_until_unblocked() {
    let (server, admin, bob) = server_with_bob().await;
    let us = admin.accounts()[0].clone();
    let (client, _ours) = Ours::pair(&server).await;
    let auth = tempfile::tempdir().expect("tempdir");
    let mut b = Baileys::spawn("peer", "baileys_peer.mjs", &server, auth.path(), ONLINE);
    pair(&mut b, &admin, Some(B_PHONE)).await;

    // A first text, so Baileys knows our LID (its block IQ names LIDs).
    let hello = client
        .send_message(bob.pn.clone(), text("hello"))
        .await
        .expect("send hello");
    baileys_message(&mut b, "our hello", &hello.id).await;

    baileys_presence(
        &mut b,
        "b-block",
        json!({"cmd": "block", "to": us.pn.to_string(), "action": "block"}),
    )
    .await;
    b.command(json!({"cmd": "blocklist", "tag": "list-1"}))
        .await;
    let list = b
        .expect_where("Baileys' blocklist", |v| {
            v["event"] == "blocklist" && v["tag"] == "list-1"
        })
        .await;
    assert_eq!(list["jids"], json!([us.lid.to_string()]), "{list}");

    // Sent while blocked: acked to us, never shown to Baileys.
    let blocked = client
        .send_message(bob.pn.clone(), text("while blocked"))
        .await
        .expect("the server acks a message to an account that blocked us");

    baileys_presence(
        &mut b,
        "b-unblock",
        json!({"cmd": "block", "to": us.pn.to_string(), "action": "unblock"}),
    )
    .await;
    let after = client
        .send_message(bob.pn.clone(), text("after unblock"))
        .await
        .expect("send after unblock");
    let c = baileys_message(&mut b, "our text after the unblock", &after.id).await;
    assert_eq!(c["text"], "after unblock", "{c}");
    assert!(
        !b.seen().iter().any(|v| v["id"] == blocked.id.as_str()),
        "the message sent while blocked reached Baileys: {:#?}",
        b.seen()
    );
    b.quit().await;
    client.disconnect().await;
}

/// Baileys as our account's second companion: our blocklist change reaches it as
/// `blocklist.update`, its privacy change reaches our client as an event, and it reads ours.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baileys_on_our_account_sees_our_blocklist_and_privacy_changes_and_we_see_its() {
    use wa_client::{BlocklistAction, PrivacyCategory, PrivacyValue};

    let (server, admin, bob) = server_with_bob().await;
    let (client, mut ours) = Ours::pair(&server).await;
    let auth = tempfile::tempdir().expect("tempdir");
    let mut b = Baileys::spawn(
        "companion",
        "baileys_peer.mjs",
        &server,
        auth.path(),
        ONLINE,
    );
    pair(&mut b, &admin, None).await;

    // Our block reaches Baileys through the account_sync notification.
    client
        .update_blocklist(&bob.pn, BlocklistAction::Block)
        .await
        .expect("block Bob");
    let update = b
        .expect_where("Baileys' blocklist.update", |v| {
            v["event"] == "blocklist-update" && v["type"] == "add"
        })
        .await;
    assert_eq!(update["blocklist"], json!([bob.pn.to_string()]), "{update}");

    // Baileys' privacy change reaches our client.
    baileys_presence(
        &mut b,
        "b-last",
        json!({"cmd": "privacy", "name": "last", "value": "contacts"}),
    )
    .await;
    let event = ours
        .until("Baileys' privacy change", |e| {
            matches!(e, Event::PrivacySettings(_))
        })
        .await;
    let Event::PrivacySettings(changed) = event else {
        unreachable!()
    };
    assert_eq!(
        changed.settings,
        [(PrivacyCategory::LastSeen, PrivacyValue::Contacts)]
    );
    baileys_presence(
        &mut b,
        "b-messages",
        json!({"cmd": "privacy", "name": "messages", "value": "contacts"}),
    )
    .await;

    // Ours, read back by Baileys (with its own changes).
    client
        .set_privacy_setting(PrivacyCategory::ReadReceipts, &PrivacyValue::Off)
        .await
        .expect("set read receipts off");
    b.command(json!({"cmd": "privacy-get", "tag": "get-1"}))
        .await;
    let got = b
        .expect_where("Baileys' privacy settings", |v| {
            v["event"] == "privacy" && v["tag"] == "get-1"
        })
        .await;
    assert_eq!(got["settings"]["readreceipts"], "off", "{got}");
    assert_eq!(got["settings"]["last"], "contacts", "{got}");
    assert_eq!(got["settings"]["messages"], "contacts", "{got}");
    let mine = client.privacy_settings().await.expect("read privacy");
    assert_eq!(
        mine.get(PrivacyCategory::Messages),
        Some(&PrivacyValue::Contacts)
    );

    b.quit().await;
    client.disconnect().await;
}
