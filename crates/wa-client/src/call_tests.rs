use super::*;

fn jid(s: &str) -> Jid {
    s.parse().unwrap()
}

fn call(child: Node) -> Node {
    Node::new("call")
        .attr("from", jid("100000002@lid"))
        .attr("id", "S1")
        .attr("t", "1700000000")
        .attr("platform", "android")
        .attr("version", "2.24.1")
        .child(child)
        .build()
}

fn child(tag: &str) -> wa_binary::NodeBuilder {
    Node::new(tag)
        .attr("call-id", "C1")
        .attr("call-creator", jid("100000002@lid"))
        .attr("caller_pn", jid("15550002222@s.whatsapp.net"))
}

#[test]
fn offer_has_the_basic_and_remote_meta() {
    let offer = child("offer")
        .child(Node::new("audio").attr("enc", "opus").build())
        .build();
    let event = parse_call(&call(offer.clone())).unwrap();
    let CallEvent::Offer { meta, remote, data } = &event else {
        panic!("{event:?}")
    };
    assert_eq!(
        meta,
        &CallMeta {
            from: jid("100000002@lid"),
            timestamp: 1_700_000_000,
            call_creator: jid("100000002@lid"),
            call_creator_alt: Some(jid("15550002222@s.whatsapp.net")),
            call_id: "C1".into(),
            group_jid: None,
            stanza_id: "S1".into(),
        }
    );
    assert_eq!(remote.remote_platform, "android");
    assert_eq!(remote.remote_version, "2.24.1");
    assert_eq!(data, &offer);
    assert_eq!(event.kind(), "offer");

    // A phone-number creator's other form is `caller_lid`; a group call names its group.
    let pn_offer = Node::new("offer")
        .attr("call-id", "C2")
        .attr("call-creator", jid("15550002222@s.whatsapp.net"))
        .attr("caller_lid", jid("100000002@lid"))
        .attr("group-jid", jid("120363000000000001@g.us"))
        .build();
    let meta = parse_call(&call(pn_offer))
        .unwrap()
        .meta()
        .cloned()
        .unwrap();
    assert_eq!(meta.call_creator_alt, Some(jid("100000002@lid")));
    assert_eq!(meta.group_jid, Some(jid("120363000000000001@g.us")));
}

#[test]
fn every_child_tag_has_its_variant() {
    let notice = child("offer_notice")
        .attr("media", "video")
        .attr("type", "group")
        .build();
    assert!(matches!(
        parse_call(&call(notice)).unwrap(),
        CallEvent::OfferNotice { media, call_type, .. } if media == "video" && call_type == "group"
    ));
    let end = child("terminate").attr("reason", "timeout").build();
    assert!(matches!(
        parse_call(&call(end)).unwrap(),
        CallEvent::Terminate { reason, .. } if reason == "timeout"
    ));
    for (tag, kind) in [
        ("relaylatency", "relaylatency"),
        ("accept", "accept"),
        ("preaccept", "preaccept"),
        ("transport", "transport"),
        ("reject", "reject"),
    ] {
        let event = parse_call(&call(child(tag).build())).unwrap();
        assert_eq!(event.kind(), kind);
        assert_eq!(event.meta().unwrap().call_id, "C1");
    }
    let accept = parse_call(&call(child("accept").build())).unwrap();
    assert!(
        matches!(accept, CallEvent::Accept { remote, .. } if remote.remote_platform == "android")
    );
}

#[test]
fn unknown_children_and_counts_are_unknown_events() {
    let odd = call(Node::new("video_state").attr("call-id", "C1").build());
    assert_eq!(
        parse_call(&odd).unwrap(),
        CallEvent::Unknown { node: odd.clone() }
    );
    let empty = Node::new("call").attr("from", jid("1@lid")).build();
    assert!(matches!(
        parse_call(&empty).unwrap(),
        CallEvent::Unknown { .. }
    ));
    let two = Node::new("call")
        .attr("from", jid("1@lid"))
        .children(vec![child("offer").build(), child("reject").build()])
        .build();
    assert!(matches!(
        parse_call(&two).unwrap(),
        CallEvent::Unknown { .. }
    ));
}

#[test]
fn malformed_stanzas_are_typed_errors() {
    let no_call_id = call(
        Node::new("offer")
            .attr("call-creator", jid("1@lid"))
            .build(),
    );
    assert!(matches!(parse_call(&no_call_id), Err(Error::Protocol(_))));
    let no_creator = call(Node::new("reject").attr("call-id", "C1").build());
    assert!(matches!(parse_call(&no_creator), Err(Error::Protocol(_))));
    let bad_creator = call(
        Node::new("reject")
            .attr("call-id", "C1")
            .attr("call-creator", "not a jid")
            .build(),
    );
    assert!(parse_call(&bad_creator).is_err());
    let no_from = Node::new("call")
        .attr("id", "S1")
        .child(child("offer").build())
        .build();
    assert!(parse_call(&no_from).is_err());
    let no_id = Node::new("call")
        .attr("from", jid("1@lid"))
        .child(child("offer").build())
        .build();
    assert!(parse_call(&no_id).is_err());
    assert!(parse_call(&Node::new("message").build()).is_err());
}

#[test]
fn ack_and_reject_match_whatsmeow() {
    let stanza = call(child("offer").build());
    assert_eq!(
        ack_node(&stanza).unwrap().to_xml(),
        r#"<ack class="call" id="S1" to="100000002@lid"/>"#
    );
    assert!(ack_node(&Node::new("call").attr("id", "x").build()).is_none());

    let own = jid("15550001111:3@s.whatsapp.net");
    let caller = jid("100000002:0@lid");
    let reject = reject_node("3EB0AA", &own, &caller, "C1", None);
    assert_eq!(
        reject.to_xml().replace(['\n', ' '], ""),
        r#"<callid="3EB0AA"from="15550001111@s.whatsapp.net"to="100000002@lid"><rejectcall-id="C1"call-creator="100000002@lid"count="0"/></call>"#
    );
    let with_token = reject_node("3EB0AB", &own, &caller, "C1", Some(b"tok"));
    assert_eq!(
        with_token
            .child_path(&["reject", "tctoken"])
            .and_then(Node::bytes),
        Some(&b"tok"[..])
    );
}

#[test]
fn events_round_trip_through_json() {
    let event = parse_call(&call(child("offer").build())).unwrap();
    let json = serde_json::to_value(&event).unwrap();
    assert_eq!(json["kind"], "offer");
    assert_eq!(json["call_id"], "C1");
    assert_eq!(json["call_creator"], "100000002@lid");
    assert_eq!(json["remote_platform"], "android");
    assert!(
        json["data"]["xml"]
            .as_str()
            .unwrap()
            .contains("call-id=\"C1\"")
    );
    let back: CallEvent = serde_json::from_value(json).unwrap();
    assert_eq!(back, event);

    let outer = crate::Event::Call(Box::new(event.clone()));
    let text = serde_json::to_string(&outer).unwrap();
    assert_eq!(serde_json::from_str::<crate::Event>(&text).unwrap(), outer);
}
