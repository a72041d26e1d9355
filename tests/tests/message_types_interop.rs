//! wa-client's message builders, typed view and poll-vote crypto against Baileys 7 through the
//! Node oracle (`tests/interop/commands/messages.mjs`).
//!
//! - Votes we seal, Baileys' `decryptPollVote` opens (and refuses under another voter); votes
//!   sealed the way Baileys opens them, we open. PN, LID and device-qualified voters.
//! - Our tally agrees with Baileys' `getAggregateVotesInPollMessage`.
//! - What Baileys' `generateWAMessageContent` builds (poll, reaction, delete, edit, location,
//!   contact, text with mentions, disappearing timer) reads as the right `MessageContent`;
//!   what our builders produce, Baileys decodes to the expected content type and fields.

use serde_json::{Value, json};
use wa_binary::Jid;
use wa_client::message::build::{self, Quote, Target, TextBuilder};
use wa_client::message::content::{KeyView, MessageContent};
use wa_client::message::poll::{self, PollRef, PollTally};
use wa_proto::prost::Message as _;
use wa_proto::proto::Message;
use wa_tests::oracle;

fn call(cmd: &str, params: Value) -> Value {
    oracle::call(cmd, params).unwrap_or_else(|e| panic!("oracle {cmd}: {e}"))
}

fn jid(s: &str) -> Jid {
    s.parse().unwrap()
}

fn from_baileys(content: Value) -> Message {
    let bytes = hex::decode(
        call("messages.generate", json!({ "content": content }))
            .as_str()
            .unwrap(),
    )
    .unwrap();
    Message::decode(bytes.as_slice()).unwrap()
}

fn baileys_reads(m: &Message) -> (Value, String) {
    let v = call(
        "messages.decode",
        json!({ "proto": hex::encode(m.encode_to_vec()) }),
    );
    (
        v["json"].clone(),
        v["contentType"].as_str().unwrap_or("").to_owned(),
    )
}

const SECRET: [u8; 32] = [0x42; 32];

/// (creator, voter) pairs: phone numbers, LIDs, a voter with a device number (dropped).
fn parties() -> Vec<(Jid, Jid)> {
    vec![
        (
            jid("15550001@s.whatsapp.net"),
            jid("15550002@s.whatsapp.net"),
        ),
        (jid("90001@lid"), jid("90002@lid")),
        (
            jid("15550001@s.whatsapp.net"),
            jid("15550003:7@s.whatsapp.net"),
        ),
    ]
}

#[test]
fn our_votes_open_in_baileys() {
    for (i, (creator, voter)) in parties().into_iter().enumerate() {
        let poll_id = format!("3EB0POLL{i}");
        let hashes = [poll::option_hash("yes"), poll::option_hash("later")];
        let iv = [i as u8 + 1; 12];
        let enc =
            poll::encrypt_poll_vote(&SECRET, &poll_id, &creator, &voter, &hashes, iv).unwrap();
        let params = json!({
            "encPayload": hex::encode(enc.enc_payload.as_ref().unwrap()),
            "encIv": hex::encode(iv),
            "pollCreatorJid": creator.to_non_ad().to_string(),
            "pollMsgId": poll_id,
            "pollEncKey": hex::encode(SECRET),
            "voterJid": voter.to_non_ad().to_string(),
        });
        let out = call("messages.decryptPollVote", params.clone());
        let got: Vec<String> = out["selectedOptions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(got, vec![hex::encode(hashes[0]), hex::encode(hashes[1])]);

        // Under another voter's name Baileys' AES-GCM refuses it.
        let mut wrong = params;
        wrong["voterJid"] = json!("19999@s.whatsapp.net");
        assert!(oracle::call("messages.decryptPollVote", wrong).is_err());
    }
}

#[test]
fn baileys_sealed_votes_open_here() {
    for (i, (creator, voter)) in parties().into_iter().enumerate() {
        let poll_id = format!("BAE5{i}");
        let iv = [9u8; 12];
        let selected = [poll::option_hash("pizza")];
        let out = call(
            "messages.encryptPollVote",
            json!({
                "selectedOptions": [hex::encode(selected[0])],
                "encIv": hex::encode(iv),
                "pollCreatorJid": creator.to_non_ad().to_string(),
                "pollMsgId": poll_id,
                "pollEncKey": hex::encode(SECRET),
                "voterJid": voter.to_non_ad().to_string(),
            }),
        );
        let payload = hex::decode(out["encPayload"].as_str().unwrap()).unwrap();
        // Byte-identical to ours with the same IV.
        let ours =
            poll::encrypt_poll_vote(&SECRET, &poll_id, &creator, &voter, &selected, iv).unwrap();
        assert_eq!(ours.enc_payload.as_deref(), Some(payload.as_slice()));

        let enc = wa_proto::proto::message::PollEncValue {
            enc_payload: Some(payload),
            enc_iv: Some(iv.to_vec()),
        };
        let got = poll::decrypt_poll_vote(&SECRET, &poll_id, &creator, &voter, &enc).unwrap();
        assert_eq!(got, vec![selected[0].to_vec()]);
        assert!(poll::decrypt_poll_vote(&SECRET, &poll_id, &voter, &creator, &enc).is_err());
    }
}

#[test]
fn tallies_agree_with_baileys() {
    let options = ["red", "green", "blue"];
    let poll_msg = poll::poll_creation("colour?", &options, 0, SECRET).unwrap();
    let votes = [
        ("1@s.whatsapp.net", vec!["red", "blue"]),
        ("2@s.whatsapp.net", vec!["blue"]),
        ("3@s.whatsapp.net", vec!["green"]),
    ];
    let mut tally = PollTally::for_poll(&poll_msg).unwrap();
    let mut oracle_votes = Vec::new();
    for (i, (voter, picks)) in votes.iter().enumerate() {
        let hashes: Vec<Vec<u8>> = picks
            .iter()
            .map(|p| poll::option_hash(p).to_vec())
            .collect();
        oracle_votes.push(json!({
            "voter": voter,
            "selectedOptions": hashes.iter().map(hex::encode).collect::<Vec<_>>(),
        }));
        tally.apply(&jid(voter), hashes, i as i64);
    }
    let theirs = call(
        "messages.aggregate",
        json!({ "poll": hex::encode(poll_msg.encode_to_vec()), "votes": oracle_votes }),
    );
    let ours = serde_json::to_value(tally.results()).unwrap();
    assert_eq!(ours, theirs);
}

#[test]
fn baileys_messages_read_as_typed_content() {
    let key = json!({"remoteJid": "15550002@s.whatsapp.net", "id": "3EB0AB", "fromMe": true});
    let key_view = KeyView {
        chat: "15550002@s.whatsapp.net".into(),
        id: "3EB0AB".into(),
        from_me: true,
        participant: None,
    };

    let single = from_baileys(json!({"poll": {
        "name": "lunch?", "values": ["pizza", "sushi"], "selectableCount": 1,
        "messageSecret": hex::encode(SECRET)}}));
    assert_eq!(
        MessageContent::from_message(&single),
        MessageContent::PollCreation {
            name: "lunch?".into(),
            options: vec!["pizza".into(), "sushi".into()],
            selectable: 1
        }
    );
    assert_eq!(poll::secret_of(&single), Some(&SECRET[..]));
    assert_eq!(wa_client::message::stanza_type(&single), "poll");
    // Same shape as ours (v3 for single choice) apart from field order details.
    let ours = poll::poll_creation("lunch?", &["pizza", "sushi"], 1, SECRET).unwrap();
    assert_eq!(poll::poll_of(&single), poll::poll_of(&ours));
    let multi = from_baileys(
        json!({"poll": {"name": "q", "values": ["a", "b", "c"], "selectableCount": 2}}),
    );
    assert!(multi.poll_creation_message.is_some());
    assert_eq!(poll::secret_of(&multi).map(<[u8]>::len), Some(32));

    let react = from_baileys(json!({"react": {"key": key, "text": "🔥"}}));
    assert_eq!(
        MessageContent::from_message(&react),
        MessageContent::Reaction {
            key: key_view.clone(),
            emoji: "🔥".into()
        }
    );
    assert_eq!(wa_client::message::stanza_type(&react), "reaction");

    let delete = from_baileys(json!({"delete": key}));
    assert_eq!(
        MessageContent::from_message(&delete),
        MessageContent::Revoke {
            key: key_view.clone()
        }
    );
    assert_eq!(wa_client::message::edit_attribute(&delete), Some("7"));

    let edit = from_baileys(json!({"text": "fixed", "edit": key}));
    assert_eq!(
        MessageContent::from_message(&edit),
        MessageContent::Edit {
            key: key_view,
            new: Box::new(MessageContent::Text {
                text: "fixed".into(),
                mentions: vec![],
                quoted: None
            })
        }
    );
    assert_eq!(wa_client::message::edit_attribute(&edit), Some("1"));

    let loc = from_baileys(
        json!({"location": {"degreesLatitude": 48.85, "degreesLongitude": 2.35, "name": "Paris"}}),
    );
    assert_eq!(
        MessageContent::from_message(&loc),
        MessageContent::Location {
            latitude: 48.85,
            longitude: 2.35,
            name: Some("Paris".into()),
            address: None
        }
    );

    let card = build::vcard("Ada", "+44 20 7946 0958").unwrap();
    let contact =
        from_baileys(json!({"contacts": {"contacts": [{"displayName": "Ada", "vcard": card}]}}));
    assert_eq!(
        MessageContent::from_message(&contact),
        MessageContent::Contact {
            display_name: "Ada".into(),
            vcard: card
        }
    );
    assert_eq!(wa_client::message::media_type(&contact), Some("vcard"));

    let mention =
        from_baileys(json!({"text": "hi @15550003", "mentions": ["15550003@s.whatsapp.net"]}));
    assert_eq!(
        MessageContent::from_message(&mention),
        MessageContent::Text {
            text: "hi @15550003".into(),
            mentions: vec!["15550003@s.whatsapp.net".into()],
            quoted: None
        }
    );

    let timer = from_baileys(json!({"disappearingMessagesInChat": 604800}));
    assert_eq!(
        MessageContent::from_message(&timer),
        MessageContent::EphemeralSetting { seconds: 604_800 }
    );
}

#[test]
fn our_messages_read_in_baileys() {
    let chat = jid("15550002@s.whatsapp.net");
    let (json, kind) = baileys_reads(&build::text("hello"));
    assert_eq!(kind, "conversation");
    assert_eq!(json["conversation"], "hello");

    let reply = TextBuilder::new("@15550002 yes")
        .mention(chat.clone())
        .reply_to(Quote {
            id: "3EB0Q".into(),
            sender: chat.clone(),
            message: build::text("coffee?"),
        })
        .build();
    let (json, kind) = baileys_reads(&reply);
    assert_eq!(kind, "extendedTextMessage");
    let ctx = &json["extendedTextMessage"]["contextInfo"];
    assert_eq!(ctx["stanzaId"], "3EB0Q");
    assert_eq!(ctx["participant"], "15550002@s.whatsapp.net");
    assert_eq!(ctx["mentionedJid"][0], "15550002@s.whatsapp.net");
    assert_eq!(ctx["quotedMessage"]["conversation"], "coffee?");

    let target = Target::from(chat.clone(), "3EB0T", chat.clone());
    let (json, kind) = baileys_reads(&build::reaction(&target, "👍", 1_700_000_000_000));
    assert_eq!(kind, "reactionMessage");
    assert_eq!(json["reactionMessage"]["text"], "👍");
    assert_eq!(json["reactionMessage"]["key"]["id"], "3EB0T");
    assert_eq!(
        json["reactionMessage"]["senderTimestampMs"],
        1_700_000_000_000i64
    );

    let (json, kind) = baileys_reads(&build::edit(&chat, "3EB0E", build::text("new"), 5));
    // Baileys normalises the editedMessage wrapper away and sees the protocol message.
    assert_eq!(kind, "protocolMessage");
    let pm = &json["editedMessage"]["message"]["protocolMessage"];
    assert_eq!(pm["type"], 14);
    assert_eq!(pm["key"]["id"], "3EB0E");
    assert_eq!(pm["editedMessage"]["conversation"], "new");

    let (json, kind) = baileys_reads(&build::revoke(&Target::own(chat.clone(), "3EB0R")));
    assert_eq!(kind, "protocolMessage");
    // REVOKE is enum 0, which toObject leaves out as a default; the key is there.
    assert_eq!(json["protocolMessage"]["key"]["id"], "3EB0R");
    assert_eq!(json["protocolMessage"]["key"]["fromMe"], true);

    let (json, kind) =
        baileys_reads(&build::location(-33.86, 151.21, Some("Sydney"), None).unwrap());
    assert_eq!(kind, "locationMessage");
    assert_eq!(json["locationMessage"]["degreesLatitude"], -33.86);

    let card = build::vcard("Ada", "+1 555 0100").unwrap();
    let (json, kind) = baileys_reads(&build::contact("Ada", &card));
    assert_eq!(kind, "contactMessage");
    assert_eq!(json["contactMessage"]["vcard"], card.as_str());

    let (json, kind) = baileys_reads(&poll::poll_creation("q", &["a", "b"], 1, SECRET).unwrap());
    assert_eq!(kind, "pollCreationMessageV3");
    assert_eq!(
        json["pollCreationMessageV3"]["options"][1]["optionName"],
        "b"
    );
    assert!(json["messageContextInfo"]["messageSecret"].is_string());

    let vote = poll::poll_vote(
        &PollRef {
            chat: chat.clone(),
            id: "P".into(),
            creator: chat.clone(),
            from_me: false,
        },
        &jid("15550001@s.whatsapp.net"),
        &SECRET,
        &["a"],
        [3; 12],
        9,
    )
    .unwrap();
    let (json, kind) = baileys_reads(&vote);
    assert_eq!(kind, "pollUpdateMessage");
    assert_eq!(
        json["pollUpdateMessage"]["pollCreationMessageKey"]["id"],
        "P"
    );

    let (json, kind) = baileys_reads(&build::ephemeral_setting(86_400, 1_700_000_000));
    assert_eq!(kind, "protocolMessage");
    assert_eq!(json["protocolMessage"]["type"], 3);
    assert_eq!(json["protocolMessage"]["ephemeralExpiration"], 86_400);
}
