use super::*;

fn jid(s: &str) -> Jid {
    s.parse().unwrap()
}

fn flat(node: &Node) -> String {
    node.to_xml().replace(['\n', ' '], "")
}

#[test]
fn requests_match_whatsmeow_and_baileys() {
    let status = set_status_request("hi there");
    assert_eq!(attr_str(&status, "xmlns"), Some("status"));
    assert_eq!(attr_str(&status, "type"), Some("set"));
    assert_eq!(
        status.child("status").and_then(Node::bytes),
        Some(&b"hi there"[..])
    );

    let q = user_info_request(&[jid("15550002:3@s.whatsapp.net")], "sid-1");
    let usync = q.child("usync").unwrap();
    assert_eq!(attr_str(usync, "mode"), Some("full"));
    assert_eq!(attr_str(usync, "context"), Some("background"));
    let query: Vec<&str> = usync
        .child("query")
        .unwrap()
        .children()
        .iter()
        .map(|c| c.tag.as_str())
        .collect();
    assert_eq!(query, ["business", "status", "picture", "devices"]);
    let user = usync.child_path(&["list", "user"]).unwrap();
    assert_eq!(
        user.attr("jid").and_then(|v| v.as_jid()),
        Some(&jid("15550002@s.whatsapp.net"))
    );

    let user_pic = picture_request(&jid("15550002@s.whatsapp.net"), false, Some("7"));
    assert_eq!(
        flat(&user_pic),
        r#"<iqxmlns="w:profile:picture"type="get"to="s.whatsapp.net"target="15550002@s.whatsapp.net"><picturequery="url"type="image"id="7"/></iq>"#
    );
    let group_pic = picture_request(&jid("123-456@g.us"), true, None);
    assert_eq!(
        group_pic.attr("to").and_then(|v| v.as_jid()),
        Some(&jid("123-456@g.us"))
    );
    assert!(group_pic.attr("target").is_none());

    let set = set_picture_request(None, Some(b"\xff\xd8jpeg"));
    assert!(set.attr("target").is_none());
    let p = set.child("picture").unwrap();
    assert_eq!(attr_str(p, "type"), Some("image"));
    assert_eq!(p.bytes(), Some(&b"\xff\xd8jpeg"[..]));
    let remove = set_picture_request(Some(&jid("123-456@g.us")), None);
    assert_eq!(
        remove.attr("target").and_then(|v| v.as_jid()),
        Some(&jid("123-456@g.us"))
    );
    assert!(remove.children().is_empty());
}

fn certificate(name: &str) -> Vec<u8> {
    let details = wa_proto::proto::verified_name_certificate::Details {
        verified_name: Some(name.into()),
        ..Default::default()
    };
    wa_proto::proto::VerifiedNameCertificate {
        details: Some(details.encode_to_vec()),
        ..Default::default()
    }
    .encode_to_vec()
}

#[test]
fn user_info_replies_parse() {
    let alice = Node::new("user")
        .attr("jid", jid("15550001@s.whatsapp.net"))
        .child(
            Node::new("business")
                .child(
                    Node::new("verified_name")
                        .bytes(certificate("Shop"))
                        .build(),
                )
                .build(),
        )
        .child(
            Node::new("status")
                .attr("t", "1700000000")
                .bytes(b"busy".to_vec())
                .build(),
        )
        .child(Node::new("picture").attr("id", "42").build())
        .child(
            Node::new("devices")
                .child(
                    Node::new("device-list")
                        .child(Node::new("device").attr("id", "0").build())
                        .child(Node::new("device").attr("id", "3").build())
                        .build(),
                )
                .build(),
        )
        .build();
    let hidden = Node::new("user")
        .attr("jid", jid("15550002@s.whatsapp.net"))
        .child(Node::new("status").attr("code", "401").build())
        .child(Node::new("picture").build())
        .child(
            Node::new("business")
                .child(Node::new("verified_name").bytes(vec![0xff]).build())
                .build(),
        )
        .build();
    let reply = Node::new("iq")
        .child(
            Node::new("usync")
                .child(
                    Node::new("list")
                        .child(alice)
                        .child(hidden)
                        .child(Node::new("user").build())
                        .build(),
                )
                .build(),
        )
        .build();
    let infos = parse_user_info(&reply).unwrap();
    assert_eq!(infos.len(), 2);
    let a = &infos[&jid("15550001@s.whatsapp.net")];
    assert_eq!(a.status.as_deref(), Some("busy"));
    assert_eq!(a.status_timestamp, Some(1_700_000_000));
    assert_eq!(a.picture_id.as_deref(), Some("42"));
    assert_eq!(a.verified_name.as_deref(), Some("Shop"));
    assert_eq!(
        a.devices,
        [
            jid("15550001@s.whatsapp.net"),
            jid("15550001:3@s.whatsapp.net")
        ]
    );
    let b = &infos[&jid("15550002@s.whatsapp.net")];
    assert_eq!(b, &UserInfo::default());
    assert!(parse_user_info(&Node::new("iq").build()).is_err());
}

#[test]
fn picture_replies_parse() {
    let reply = |p: Node| Node::new("iq").child(p).build();
    let ok = reply(
        Node::new("picture")
            .attr("id", "9")
            .attr("url", "https://h/p.jpg?x")
            .attr("direct_path", "/p.jpg?x")
            .attr("type", "preview")
            .build(),
    );
    assert_eq!(
        parse_picture_reply(&ok, false).unwrap(),
        Some(PictureInfo {
            id: "9".into(),
            url: "https://h/p.jpg?x".into(),
            direct_path: "/p.jpg?x".into(),
            kind: "preview".into(),
        })
    );
    let unchanged = reply(Node::new("picture").attr("status", "304").build());
    assert_eq!(parse_picture_reply(&unchanged, true).unwrap(), None);
    assert_eq!(
        parse_picture_reply(&Node::new("iq").build(), true).unwrap(),
        None
    );
    assert!(parse_picture_reply(&Node::new("iq").build(), false).is_err());
    let no_url = reply(Node::new("picture").attr("id", "9").build());
    assert!(parse_picture_reply(&no_url, false).is_err());

    assert_eq!(
        parse_set_picture_reply(&reply(Node::new("picture").attr("id", "5").build())).unwrap(),
        "5"
    );
    assert!(parse_set_picture_reply(&Node::new("iq").build()).is_err());

    let server = |code| {
        Error::Iq(IqError::Server {
            code,
            text: String::new(),
        })
    };
    assert!(matches!(
        picture_error(server(404)),
        Error::ProfilePictureNotSet
    ));
    assert!(matches!(
        picture_error(server(401)),
        Error::ProfilePictureUnauthorized
    ));
    assert!(matches!(
        picture_error(server(500)),
        Error::Iq(IqError::Server { code: 500, .. })
    ));
}

#[test]
fn picture_notifications_parse() {
    let n = Node::new("notification")
        .attr("type", "picture")
        .attr("from", jid("15550001@s.whatsapp.net"))
        .attr("t", "1700000001")
        .child(
            Node::new("set")
                .attr("jid", jid("15550001@s.whatsapp.net"))
                .attr("id", "11")
                .attr("author", jid("15550001@s.whatsapp.net"))
                .build(),
        )
        .child(Node::new("delete").attr("jid", jid("123-456@g.us")).build())
        .child(
            Node::new("set")
                .attr("jid", jid("1@s.whatsapp.net"))
                .build(),
        )
        .child(Node::new("delete").build())
        .child(
            Node::new("request")
                .attr("jid", jid("1@s.whatsapp.net"))
                .build(),
        )
        .build();
    let events = parse_picture_notification(&n).unwrap();
    assert_eq!(
        events,
        [
            PictureEvent {
                jid: jid("15550001@s.whatsapp.net"),
                author: Some(jid("15550001@s.whatsapp.net")),
                remove: false,
                picture_id: Some("11".into()),
                timestamp: 1_700_000_001,
            },
            PictureEvent {
                jid: jid("123-456@g.us"),
                author: None,
                remove: true,
                picture_id: None,
                timestamp: 1_700_000_001,
            },
        ]
    );
    assert_eq!(notification_events(&n).len(), 2);
    assert!(parse_picture_notification(&Node::new("notification").build()).is_err());
}

#[test]
fn status_notifications_parse() {
    let n = Node::new("notification")
        .attr("type", "status")
        .attr("from", jid("15550001:2@s.whatsapp.net"))
        .attr("t", "5")
        .child(Node::new("set").bytes(b"away".to_vec()).build())
        .build();
    let about = parse_status_notification(&n).unwrap();
    assert_eq!(
        about,
        UserAboutEvent {
            jid: jid("15550001@s.whatsapp.net"),
            status: "away".into(),
            timestamp: 5,
        }
    );
    assert_eq!(notification_events(&n), [Event::UserAbout(about)]);
    let no_set = Node::new("notification")
        .attr("type", "status")
        .attr("from", jid("15550001@s.whatsapp.net"))
        .build();
    assert!(parse_status_notification(&no_set).is_err());
    assert!(notification_events(&no_set).is_empty());
    let nested = Node::new("notification")
        .attr("type", "status")
        .attr("from", jid("15550001@s.whatsapp.net"))
        .child(Node::new("set").child(Node::new("x").build()).build())
        .build();
    assert!(parse_status_notification(&nested).is_err());
}

#[test]
fn an_account_sync_picture_is_our_own_picture() {
    let n = Node::new("notification")
        .attr("type", "account_sync")
        .attr("t", "77")
        .child(Node::new("picture").build())
        .build();
    assert_eq!(
        own_picture_changed(&jid("15550001:4@s.whatsapp.net"), &n),
        PictureEvent {
            jid: jid("15550001@s.whatsapp.net"),
            author: None,
            remove: false,
            picture_id: None,
            timestamp: 77,
        }
    );
}
