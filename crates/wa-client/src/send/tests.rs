use wa_proto::proto::message::{
    AudioMessage, ExtendedTextMessage, FutureProofMessage, ImageMessage, PollCreationMessage,
    ProtocolMessage, ReactionMessage, protocol_message,
};
use wa_proto::proto::{Message, MessageKey};

use super::*;

fn text(s: &str) -> Message {
    Message {
        conversation: Some(s.into()),
        ..Default::default()
    }
}

#[test]
fn types_follow_whatsmeow() {
    assert_eq!(message_type(&text("hi")), "text");
    assert_eq!(media_type(&text("hi")), None);
    let reaction = Message {
        reaction_message: Some(ReactionMessage {
            text: Some("👍".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(message_type(&reaction), "reaction");
    assert_eq!(
        enc_attrs(&reaction),
        vec![("decrypt-fail", "hide")],
        "reactions are hidden when they fail to decrypt"
    );
    let poll = Message {
        poll_creation_message: Some(Box::new(PollCreationMessage::default())),
        ..Default::default()
    };
    assert_eq!(message_type(&poll), "poll");
    let image = Message {
        image_message: Some(Box::new(ImageMessage::default())),
        ..Default::default()
    };
    assert_eq!(message_type(&image), "media");
    assert_eq!(enc_attrs(&image), vec![("mediatype", "image")]);
    let ptt = Message {
        audio_message: Some(Box::new(AudioMessage {
            ptt: Some(true),
            ..Default::default()
        })),
        ..Default::default()
    };
    assert_eq!(media_type(&ptt), Some("ptt"));
    let link = Message {
        extended_text_message: Some(Box::new(ExtendedTextMessage {
            title: Some("t".into()),
            ..Default::default()
        })),
        ..Default::default()
    };
    assert_eq!(media_type(&link), Some("url"));
    // Locations carry no mediatype (whatsmeow lists none for them).
    let location = Message {
        location_message: Some(Box::default()),
        ..Default::default()
    };
    assert_eq!(enc_attrs(&location), vec![]);
    assert_eq!(message_type(&location), "text");
    // Wrappers are looked through.
    let ephemeral = Message {
        ephemeral_message: Some(Box::new(FutureProofMessage {
            message: Some(Box::new(image.clone())),
        })),
        ..Default::default()
    };
    assert_eq!(message_type(&ephemeral), "media");
}

#[test]
fn edit_attributes_follow_whatsmeow() {
    let key = |from_me| MessageKey {
        from_me: Some(from_me),
        id: Some("X".into()),
        ..Default::default()
    };
    let revoke = |from_me| Message {
        protocol_message: Some(Box::new(ProtocolMessage {
            key: Some(key(from_me)),
            r#type: Some(protocol_message::Type::Revoke as i32),
            ..Default::default()
        })),
        ..Default::default()
    };
    assert_eq!(edit_attr(&revoke(true)), Some("7"));
    assert_eq!(edit_attr(&revoke(false)), Some("8"));
    let edit = Message {
        protocol_message: Some(Box::new(ProtocolMessage {
            key: Some(key(true)),
            r#type: Some(protocol_message::Type::MessageEdit as i32),
            edited_message: Some(Box::new(text("new"))),
            ..Default::default()
        })),
        ..Default::default()
    };
    assert_eq!(edit_attr(&edit), Some("1"));
    assert!(enc_attrs(&edit).contains(&("decrypt-fail", "hide")));
    let unreact = Message {
        reaction_message: Some(ReactionMessage {
            text: Some(String::new()),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(edit_attr(&unreact), Some("7"));
    assert_eq!(edit_attr(&text("plain")), None);
}

#[test]
fn message_ids_have_the_whatsmeow_format() {
    let a = generate_message_id(1_700_000_000, "15551234567", &[1; 16]);
    let b = generate_message_id(1_700_000_000, "15551234567", &[2; 16]);
    assert_ne!(a, b);
    assert_eq!(a.len(), 22);
    assert!(a.starts_with("3EB0"));
    assert!(
        a.chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
    );
    // The inputs are hashed as whatsmeow does.
    let mut h = Sha256::new();
    h.update(1_700_000_000u64.to_be_bytes());
    h.update(b"15551234567@c.us");
    h.update([1u8; 16]);
    let digest = h.finalize();
    let hex: String = digest[..9].iter().map(|b| format!("{b:02X}")).collect();
    assert_eq!(a, format!("3EB0{hex}"));
    // Deterministic in its inputs.
    assert_eq!(
        a,
        generate_message_id(1_700_000_000, "15551234567", &[1; 16])
    );
}

#[test]
fn participant_hash_is_order_independent() {
    let a: Jid = "1:1@s.whatsapp.net".parse().unwrap();
    let b: Jid = "2@lid".parse().unwrap();
    let h = participant_list_hash(&[a.clone(), b.clone()]);
    assert_eq!(h, participant_list_hash(&[b, a.clone()]));
    assert!(h.starts_with("2:"));
    assert_eq!(h.len(), 2 + 8);
    assert_ne!(h, participant_list_hash(std::slice::from_ref(&a)));
    // The hashed form is whatsmeow's ADString (`user.agent:device@server`), not the JID text.
    let digest = Sha256::digest(b"1.0:1@s.whatsapp.net");
    let want = format!(
        "2:{}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD_NO_PAD,
            &digest[..6]
        )
    );
    assert_eq!(participant_list_hash(&[a]), want);
}

#[test]
fn stanza_carries_participants_identity_and_token() {
    let chat: Jid = "777@lid".parse().unwrap();
    let pn: Jid = "1555@s.whatsapp.net".parse().unwrap();
    let msg = text("hi");
    let to = Node::new("to")
        .attr("jid", "777:1@lid".parse::<Jid>().unwrap())
        .build();
    let node = Stanza {
        id: "3EB0X",
        chat: &chat,
        message: &msg,
        participants: vec![to],
        device_identity: Some(vec![1, 2, 3]),
        tctoken: Some(vec![9; 16]),
        peer_recipient_pn: Some(pn.clone()),
    }
    .build();
    assert_eq!(node.tag, "message");
    assert_eq!(node.attr("id").unwrap().as_str(), Some("3EB0X"));
    assert_eq!(node.attr("type").unwrap().as_str(), Some("text"));
    assert_eq!(node.attr("to").unwrap().as_jid(), Some(&chat));
    assert_eq!(node.attr("peer_recipient_pn").unwrap().as_jid(), Some(&pn));
    assert!(node.attr("edit").is_none());
    assert_eq!(node.child("participants").unwrap().children().len(), 1);
    assert_eq!(
        node.child("device-identity").unwrap().bytes(),
        Some(&[1u8, 2, 3][..])
    );
    assert_eq!(node.child("tctoken").unwrap().bytes(), Some(&[9u8; 16][..]));

    // Without a pkmsg or token those children are absent; polls get <meta polltype>.
    let poll = Message {
        poll_creation_message: Some(Box::new(PollCreationMessage::default())),
        ..Default::default()
    };
    let node = Stanza {
        id: "3EB0Y",
        chat: &chat,
        message: &poll,
        participants: Vec::new(),
        device_identity: None,
        tctoken: None,
        peer_recipient_pn: None,
    }
    .build();
    assert!(node.child("device-identity").is_none());
    assert!(node.child("tctoken").is_none());
    assert_eq!(
        node.child("meta")
            .unwrap()
            .attr("polltype")
            .unwrap()
            .as_str(),
        Some("creation")
    );
}

#[test]
fn send_state_caches_and_counts() {
    let store: Arc<dyn wa_store::Store> = {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            use rand_core::SeedableRng;
            use wa_store::Container;
            let c = wa_store::MemoryContainer::new();
            let d = wa_store::Device::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(1));
            Arc::new(c.create(d).await.unwrap()) as Arc<dyn wa_store::Store>
        })
    };
    let s = SendState::new(store);
    let user: Jid = "1555@s.whatsapp.net".parse().unwrap();
    let dev: Jid = "1555:2@s.whatsapp.net".parse().unwrap();
    assert!(s.cached_devices(&user).is_none());
    s.cache_devices(&dev, vec![dev.clone()]);
    // Keyed by the user without device.
    assert_eq!(s.cached_devices(&user), Some(vec![dev.clone()]));
    s.invalidate_devices(&dev);
    assert!(s.cached_devices(&user).is_none());
    assert_eq!(s.count_retry(&dev, "A"), 1);
    assert_eq!(s.count_retry(&dev, "A"), 2);
    assert_eq!(s.count_retry(&dev, "B"), 1);
    assert!(s.recreate_due(&dev, Duration::from_secs(3600)));
    assert!(!s.recreate_due(&dev, Duration::from_secs(3600)));
    assert!(s.recreate_due(&dev, Duration::ZERO) || cfg!(miri));
    // The counters are bounded: past RETRY_MEMORY entries they start over.
    for i in 0..RETRY_MEMORY {
        s.count_retry(&dev, &i.to_string());
    }
    assert_eq!(s.count_retry(&dev, "A"), 1, "forgotten after the bound");
    assert!(s.retries.lock().unwrap().len() <= RETRY_MEMORY);
}
