//! Interop: status posts between our `wa-client` (the default account) and a Baileys 7 client
//! (`baileys@7.0.0-rc14`, second account "Bob") through `wa-testserver`:
//!
//! - Baileys posts a status with `statusJidList: [us]`: our client decrypts it as a message in
//!   `status@broadcast` from Bob;
//! - our client posts a status to Bob: Baileys decrypts it (a `messages.upsert` in
//!   `status@broadcast`) and reads it (our client gets the read receipt), then a second post
//!   that carries no new sender key distribution.
//!
//! Driver: `tests/interop/baileys_peer.mjs` (`status` command).

use serde_json::json;
use wa_binary::{Jid, Server};
use wa_client::{Event, ReceiptKind, SendOptions};
use wa_proto::proto::Message;

use crate::ours_and_baileys::{OursAndBob, next_where, ours_and_baileys_bob};

fn text(s: &str) -> Message {
    Message {
        conversation: Some(s.into()),
        ..Message::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_posts_between_our_client_and_baileys() {
    let OursAndBob {
        bob,
        us,
        client,
        mut ours,
        mut b,
        // Bound (not `..`) so the server and Baileys' auth folder live to the end.
        server: _server,
        auth: _auth,
        admin: _,
    } = ours_and_baileys_bob().await;

    // Baileys posts a status to us.
    b.command(json!({
        "cmd": "status",
        "tag": "s1",
        "to": "status@broadcast",
        "text": "Bob's status",
        "jids": [us.pn.to_string()],
    }))
    .await;
    let sent = b
        .expect_where("Baileys' status sent", |v| {
            v["event"] == "sent" && v["tag"] == "s1"
        })
        .await;
    let id = sent["id"].as_str().expect("status id").to_owned();
    let Event::Message(m) = next_where(
        &mut ours,
        "Bob's status",
        |e| matches!(e, Event::Message(m) if m.info.id == id),
    )
    .await
    else {
        unreachable!()
    };
    assert!(m.info.source.chat.is_status_broadcast(), "{:?}", m.info);
    let sender = &m.info.source.sender;
    assert!(
        sender.user() == bob.pn.user() || sender.user() == bob.lid.user(),
        "{:?}",
        m.info.source
    );
    assert!(!m.info.source.is_from_me);
    // Baileys posts a text status as an `ExtendedTextMessage`.
    let body = m.message.conversation.as_deref().or(m
        .message
        .extended_text_message
        .as_ref()
        .and_then(|e| e.text.as_deref()));
    assert_eq!(body, Some("Bob's status"), "{:?}", m.message);

    // We post twice to Bob; the second post carries no sender key distribution.
    for body in ["our status", "our second status"] {
        let posted = client
            .send_message_with(
                Jid::new("status", Server::Broadcast),
                text(body),
                SendOptions::status_to(vec![bob.pn.clone()]),
            )
            .await
            .expect("post a status");
        let got = b
            .expect_where("our status at Baileys", |v| {
                v["event"] == "message" && v["id"] == posted.id.as_str()
            })
            .await;
        assert_eq!(got["remoteJid"], "status@broadcast", "{got}");
        assert_eq!(got["fromMe"], false, "{got}");
        assert_eq!(got["content"]["text"], body, "{got}");
        // Baileys reads it: our client sees the read receipt in status@broadcast.
        b.command(json!({
            "cmd": "read",
            "key": {
                "remoteJid": "status@broadcast",
                "id": posted.id,
                "fromMe": false,
                "participant": us.pn.to_string(),
            },
        }))
        .await;
        let Event::Receipt(read) = next_where(&mut ours, "Baileys' read receipt", |e| {
            matches!(e, Event::Receipt(r)
                if r.kind == ReceiptKind::Read && r.message_ids.contains(&posted.id))
        })
        .await
        else {
            unreachable!()
        };
        assert_eq!(read.chat, "status@broadcast", "{read:?}");
    }
}
