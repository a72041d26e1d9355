//! Tests of the typed view: every builder's output reads back as its variant, through
//! protobuf bytes, and the stanza attributes match whatsmeow's rules.

use super::*;
use crate::message::build::{self, Quote, Target, TextBuilder};
use crate::message::poll::{self, PollRef};
use wa_binary::Jid;
use wa_proto::prost::Message as _;
use wa_proto::proto::message::{
    AudioMessage, ExtendedTextMessage, FutureProofMessage, ImageMessage, PollUpdateMessage,
    VideoMessage,
};

fn jid(s: &str) -> Jid {
    s.parse().unwrap()
}

fn view(m: &Message) -> MessageContent {
    let decoded = Message::decode(m.encode_to_vec().as_slice()).unwrap();
    MessageContent::from_message(&decoded)
}

#[test]
fn every_built_type_reads_back() {
    let chat = jid("200@s.whatsapp.net");
    assert_eq!(
        view(&build::text("hi")),
        MessageContent::Text {
            text: "hi".into(),
            mentions: vec![],
            quoted: None
        }
    );
    let reply = TextBuilder::new("@200 sure")
        .mention(chat.clone())
        .reply_to(Quote {
            id: "Q1".into(),
            sender: chat.clone(),
            message: build::text("lunch?"),
        })
        .build();
    assert_eq!(
        view(&reply),
        MessageContent::Text {
            text: "@200 sure".into(),
            mentions: vec!["200@s.whatsapp.net".into()],
            quoted: Some(QuoteView {
                id: "Q1".into(),
                sender: Some("200@s.whatsapp.net".into()),
                text: Some("lunch?".into()),
            }),
        }
    );
    let target = Target::from(chat.clone(), "M1", chat.clone());
    let key = KeyView {
        chat: "200@s.whatsapp.net".into(),
        id: "M1".into(),
        from_me: false,
        participant: None,
    };
    assert_eq!(
        view(&build::reaction(&target, "❤️", 1)),
        MessageContent::Reaction {
            key: key.clone(),
            emoji: "❤️".into()
        }
    );
    let own_key = KeyView {
        from_me: true,
        ..key.clone()
    };
    assert_eq!(
        view(&build::edit(&chat, "M1", build::text("new"), 1)),
        MessageContent::Edit {
            key: own_key.clone(),
            new: Box::new(MessageContent::Text {
                text: "new".into(),
                mentions: vec![],
                quoted: None
            }),
        }
    );
    assert_eq!(
        view(&build::revoke(&Target::own(chat.clone(), "M1"))),
        MessageContent::Revoke { key: own_key }
    );
    assert_eq!(
        view(&build::location(1.5, -2.5, Some("here"), Some("street")).unwrap()),
        MessageContent::Location {
            latitude: 1.5,
            longitude: -2.5,
            name: Some("here".into()),
            address: Some("street".into())
        }
    );
    let card = build::vcard("Ada", "+1 555 0100").unwrap();
    assert_eq!(
        view(&build::contact("Ada", &card)),
        MessageContent::Contact {
            display_name: "Ada".into(),
            vcard: card
        }
    );
    for sel in [0, 1] {
        assert_eq!(
            view(&poll::poll_creation("q?", &["a", "b"], sel, [1; 32]).unwrap()),
            MessageContent::PollCreation {
                name: "q?".into(),
                options: vec!["a".into(), "b".into()],
                selectable: sel
            }
        );
    }
    let vote = poll::poll_vote(
        &PollRef {
            chat: chat.clone(),
            id: "P1".into(),
            creator: chat.clone(),
            from_me: false,
        },
        &jid("100@s.whatsapp.net"),
        &[1; 32],
        &["a"],
        [2; 12],
        77,
    )
    .unwrap();
    let MessageContent::PollVote {
        poll,
        enc_payload,
        enc_iv,
        sender_timestamp_ms,
    } = view(&vote)
    else {
        panic!("not a vote")
    };
    assert_eq!(poll.id, "P1");
    assert_eq!(enc_iv, B64.encode([2u8; 12]));
    assert_eq!(B64.decode(enc_payload).unwrap().len(), 2 + 32 + 16);
    assert_eq!(sender_timestamp_ms, Some(77));
    assert_eq!(
        view(&build::ephemeral_setting(604_800, 0)),
        MessageContent::EphemeralSetting { seconds: 604_800 }
    );
}

#[test]
fn baileys_style_edit_without_wrapper_and_ephemeral_wrapping() {
    // Baileys sends the MESSAGE_EDIT protocol message at the top level.
    let wrapped = build::edit(&jid("1@s.whatsapp.net"), "X", build::text("y"), 0);
    let bare = *wrapped.edited_message.unwrap().message.unwrap().clone();
    assert!(matches!(view(&bare), MessageContent::Edit { .. }));
    // Content inside an ephemeral wrapper is seen through.
    let eph = Message {
        ephemeral_message: Some(Box::new(FutureProofMessage {
            message: Some(Box::new(build::text("inside"))),
        })),
        ..Default::default()
    };
    assert_eq!(text_of(&eph).as_deref(), Some("inside"));
    assert_eq!(view(&eph).kind(), "text");
}

#[test]
fn other_types_are_named() {
    let img = Message {
        image_message: Some(Box::new(ImageMessage::default())),
        ..Default::default()
    };
    assert_eq!(
        view(&img),
        MessageContent::Other {
            kind: "image_message".into()
        }
    );
    assert_eq!(view(&Message::default()).kind(), "empty");
    let sync = Message {
        protocol_message: Some(Box::new(ProtocolMessage {
            r#type: Some(protocol_message::Type::HistorySyncNotification as i32),
            ..Default::default()
        })),
        ..Default::default()
    };
    assert_eq!(
        view(&sync).kind(),
        "protocol_message:HISTORY_SYNC_NOTIFICATION"
    );
    let unknown = Message {
        protocol_message: Some(Box::new(ProtocolMessage {
            r#type: Some(9999),
            ..Default::default()
        })),
        ..Default::default()
    };
    assert_eq!(view(&unknown).kind(), "protocol_message:9999");
}

#[test]
fn deep_nesting_is_bounded() {
    let mut m = build::text("core");
    for _ in 0..50 {
        m = Message {
            ephemeral_message: Some(Box::new(FutureProofMessage {
                message: Some(Box::new(m)),
            })),
            ..Default::default()
        };
    }
    // No stack overflow, no panic; past the bound it is just "other".
    let _ = MessageContent::from_message(&m);
    assert_eq!(stanza_type(&m), "text");
    let mut e = build::text("x");
    for _ in 0..20 {
        e = build::edit(&jid("1@s.whatsapp.net"), "I", e, 0);
    }
    let _ = MessageContent::from_message(&e);
    let _ = edit_attribute(&e);
}

#[test]
fn stanza_attributes_follow_whatsmeow() {
    let chat = jid("1@s.whatsapp.net");
    let t = Target::own(chat.clone(), "I");
    assert_eq!(stanza_type(&build::text("x")), "text");
    assert_eq!(stanza_type(&build::reaction(&t, "x", 0)), "reaction");
    assert_eq!(
        stanza_type(&poll::poll_creation("q", &["a", "b"], 1, [0; 32]).unwrap()),
        "poll"
    );
    let update = Message {
        poll_update_message: Some(PollUpdateMessage::default()),
        ..Default::default()
    };
    assert_eq!(stanza_type(&update), "poll");
    assert_eq!(stanza_type(&build::revoke(&t)), "text");
    assert_eq!(
        stanza_type(&build::edit(&chat, "I", build::text("y"), 0)),
        "text"
    );
    let card = build::contact("a", "BEGIN:VCARD");
    assert_eq!(stanza_type(&card), "media");
    assert_eq!(media_type(&card), Some("vcard"));
    let ptt = Message {
        audio_message: Some(Box::new(AudioMessage {
            ptt: Some(true),
            ..Default::default()
        })),
        ..Default::default()
    };
    assert_eq!(media_type(&ptt), Some("ptt"));
    let gif = Message {
        video_message: Some(Box::new(VideoMessage {
            gif_playback: Some(true),
            ..Default::default()
        })),
        ..Default::default()
    };
    assert_eq!(media_type(&gif), Some("gif"));
    let link = Message {
        extended_text_message: Some(Box::new(ExtendedTextMessage {
            title: Some("a page".into()),
            ..Default::default()
        })),
        ..Default::default()
    };
    assert_eq!(stanza_type(&link), "media");
    assert_eq!(media_type(&link), Some("url"));
    assert_eq!(media_type(&build::text("x")), None);

    assert_eq!(edit_attribute(&build::text("x")), None);
    assert_eq!(
        edit_attribute(&build::edit(&chat, "I", build::text("y"), 0)),
        Some("1")
    );
    assert_eq!(edit_attribute(&build::revoke(&t)), Some("7"));
    let admin = Target::from(jid("1-2@g.us"), "I", jid("5@s.whatsapp.net"));
    assert_eq!(edit_attribute(&build::revoke(&admin)), Some("8"));
    assert_eq!(edit_attribute(&build::reaction(&t, "", 0)), Some("7"));
    assert_eq!(edit_attribute(&build::reaction(&t, "👍", 0)), None);
}

#[test]
fn json_shape_and_serde_message_round_trip() {
    let content = MessageContent::Reaction {
        key: KeyView {
            chat: "1@s.whatsapp.net".into(),
            id: "I".into(),
            from_me: true,
            participant: None,
        },
        emoji: "👍".into(),
    };
    let json = serde_json::to_value(&content).unwrap();
    assert_eq!(json["kind"], "reaction");
    assert_eq!(json["emoji"], "👍");
    assert_eq!(json["key"]["id"], "I");
    let back: MessageContent = serde_json::from_value(json).unwrap();
    assert_eq!(back, content);
    let other = serde_json::to_value(MessageContent::Other {
        kind: "image_message".into(),
    })
    .unwrap();
    assert_eq!(
        other,
        serde_json::json!({"kind": "other", "type": "image_message"})
    );

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Holder {
        #[serde(with = "serde_message")]
        message: Message,
    }
    let h = Holder {
        message: TextBuilder::new("hey")
            .mention(jid("2@s.whatsapp.net"))
            .build(),
    };
    let json = serde_json::to_value(&h).unwrap();
    assert_eq!(json["message"]["kind"], "text");
    assert_eq!(json["message"]["text"], "hey");
    assert_eq!(
        json["message"]["content"]["mentions"][0],
        "2@s.whatsapp.net"
    );
    let back: Holder = serde_json::from_value(json).unwrap();
    assert_eq!(back, h);
    let bad = serde_json::json!({"message": {"proto_b64": "!!"}});
    assert!(serde_json::from_value::<Holder>(bad).is_err());
    let bad = serde_json::json!({"message": {"proto_b64": "/w=="}});
    assert!(serde_json::from_value::<Holder>(bad).is_err());
}

mod no_panic {
    use super::*;
    use crate::message::poll::{PollTally, decrypt_poll_vote, poll_creator};
    use proptest::prelude::*;
    use wa_proto::proto::message::PollEncValue;

    /// Wraps `m` in the nested containers the view looks through, `depth` times.
    fn nest(mut m: Message, depth: u8, kind: u8) -> Message {
        for i in 0..depth {
            let f = Some(Box::new(FutureProofMessage {
                message: Some(Box::new(m)),
            }));
            m = match (kind + i) % 4 {
                0 => Message {
                    ephemeral_message: f,
                    ..Default::default()
                },
                1 => Message {
                    view_once_message_v2: f,
                    ..Default::default()
                },
                2 => Message {
                    edited_message: f,
                    ..Default::default()
                },
                _ => Message {
                    document_with_caption_message: f,
                    ..Default::default()
                },
            };
        }
        m
    }

    proptest! {
        /// Any bytes that decode as a `Message`, nested in any wrappers, give a view, a
        /// JSON round trip of the view, and stanza attributes, without panicking.
        #[test]
        fn any_message_has_a_view(
            bytes in proptest::collection::vec(any::<u8>(), 0..256),
            depth in 0u8..12,
            kind in 0u8..4,
        ) {
            if let Ok(m) = Message::decode(bytes.as_slice()) {
                let m = nest(m, depth, kind);
                let view = MessageContent::from_message(&m);
                let _ = view.summary();
                let json = serde_json::to_string(&view).unwrap();
                let back: MessageContent = serde_json::from_str(&json).unwrap();
                // NaN coordinates are the one thing JSON cannot carry back.
                if !matches!(view, MessageContent::Location { .. }) {
                    prop_assert_eq!(back, view);
                }
                let _ = stanza_type(&m);
                let _ = media_type(&m);
                let _ = edit_attribute(&m);
                let _ = PollTally::for_poll(&m);
            }
        }

        /// Poll-vote decryption of arbitrary input is a typed error, never a panic.
        #[test]
        fn any_vote_input_is_handled(
            secret in proptest::collection::vec(any::<u8>(), 0..40),
            iv in proptest::collection::vec(any::<u8>(), 0..16),
            payload in proptest::collection::vec(any::<u8>(), 0..64),
            id in "[A-Z0-9]{0,8}",
            participant in proptest::option::of("[a-z0-9@.:-]{0,20}"),
        ) {
            let a = Jid::new("1", wa_binary::Server::User);
            let b = Jid::new("2", wa_binary::Server::Lid);
            let enc = PollEncValue { enc_payload: Some(payload), enc_iv: Some(iv) };
            prop_assert!(decrypt_poll_vote(&secret, &id, &a, &b, &enc).is_err());
            let key = wa_proto::proto::MessageKey {
                participant,
                ..Default::default()
            };
            let _ = poll_creator(&key, &Jid::new("1-2", wa_binary::Server::Group), &b);
        }
    }
}
