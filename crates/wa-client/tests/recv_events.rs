//! The receive pipeline's events as JSON (what `wa listen --json` prints) and back.

use wa_binary::{Jid, Node};
use wa_client::message::MessageInfo;
use wa_client::{Event, MessageEvent, ReceiptEvent, ReceiptKind};
use wa_proto::proto::Message;

fn jid(s: &str) -> Jid {
    s.parse().unwrap()
}

fn info() -> MessageInfo {
    let node = Node::new("message")
        .attr("from", jid("222:1@s.whatsapp.net"))
        .attr("sender_lid", jid("777:1@lid"))
        .attr("id", "J1")
        .attr("t", "1700000000")
        .attr("notify", "Bob")
        .build();
    MessageInfo::parse(&node, &jid("111@s.whatsapp.net"), None).unwrap()
}

#[test]
fn message_event_round_trips_through_json() {
    let event = Event::Message(Box::new(MessageEvent {
        info: info(),
        message: Box::new(Message {
            conversation: Some("json".into()),
            ..Message::default()
        }),
        retry_count: 1,
        unwrapped_from_device_sent: false,
        from_buffer: true,
    }));
    let json = serde_json::to_value(&event).unwrap();
    assert_eq!(json["type"], "message");
    assert_eq!(json["message"]["text"], "json");
    assert_eq!(json["message"]["kind"], "text");
    assert!(json["message"]["proto_b64"].is_string());
    assert_eq!(json["info"]["source"]["sender"], "222:1@s.whatsapp.net");
    assert_eq!(json["info"]["source"]["sender_alt"], "777:1@lid");
    assert_eq!(
        json["info"]["source"]["recipient_alt"],
        serde_json::Value::Null
    );
    assert_eq!(json["retry_count"], 1);
    let back: Event = serde_json::from_value(json).unwrap();
    assert_eq!(back, event);
}

#[test]
fn receipt_and_undecryptable_events_round_trip() {
    for event in [
        Event::Receipt(ReceiptEvent {
            chat: "222@s.whatsapp.net".into(),
            sender: "222:1@s.whatsapp.net".into(),
            message_ids: vec!["A".into(), "B".into()],
            kind: ReceiptKind::ReadSelf,
            timestamp: 5,
        }),
        Event::Receipt(ReceiptEvent {
            chat: "c".into(),
            sender: "s".into(),
            message_ids: vec!["A".into()],
            kind: ReceiptKind::Other("hist_sync".into()),
            timestamp: 0,
        }),
        Event::UndecryptableMessage {
            info: Box::new(info()),
            reason: "invalid MAC".into(),
        },
    ] {
        let text = serde_json::to_string(&event).unwrap();
        let back: Event = serde_json::from_str(&text).unwrap();
        assert_eq!(back, event, "{text}");
    }
    let kinds = [
        (None, ReceiptKind::Delivered),
        (Some("read"), ReceiptKind::Read),
        (Some("read-self"), ReceiptKind::ReadSelf),
        (Some("played"), ReceiptKind::Played),
        (Some("played-self"), ReceiptKind::PlayedSelf),
        (Some("retry"), ReceiptKind::Retry),
        (Some("sender"), ReceiptKind::Sender),
        (Some("inactive"), ReceiptKind::Inactive),
        (Some("server-error"), ReceiptKind::ServerError),
        (Some("peer_msg"), ReceiptKind::Other("peer_msg".into())),
    ];
    for (attr, kind) in kinds {
        assert_eq!(ReceiptKind::from_attr(attr), kind);
        assert_eq!(kind.as_attr(), attr);
    }
}
