//! Property tests: random nodes survive marshal → decode (owned and borrowed) unchanged, and
//! JIDs survive display → parse.

use proptest::prelude::*;
use wa_binary::{
    AttrValue, Attrs, Content, Jid, Node, Server, decode_frame, marshal, unmarshal_ref,
};

fn user() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,15}",
        "[0-9]{1,10}-[0-9]{1,10}",
        "[a-z]{1,12}",
        Just(String::new()),
    ]
}

/// Every JID kind, restricted to what the wire can represent (AD device ≤ 255, agent only on
/// `s.whatsapp.net` and not one of the reserved domain types 1/128/129).
fn jid() -> impl Strategy<Value = Jid> {
    let agent = any::<u8>().prop_filter("reserved domain types", |a| ![1, 128, 129].contains(a));
    prop_oneof![
        (user()).prop_map(|u| Jid::new(u, Server::User)),
        ("[0-9]{1,15}", 1..=255u16).prop_map(|(u, d)| Jid::new(u, Server::User).with_device(d)),
        ("[0-9]{1,15}", agent, 0..=255u16)
            .prop_map(|(u, a, d)| Jid::new(u, Server::User).with_agent(a).with_device(d)),
        ("[0-9]{1,15}", 0..=255u16).prop_map(|(u, d)| Jid::new(u, Server::Lid).with_device(d)),
        ("[0-9]{1,15}", 0..=255u16).prop_map(|(u, d)| Jid::new(u, Server::Hosted).with_device(d)),
        ("[0-9]{1,15}", 0..=255u16)
            .prop_map(|(u, d)| Jid::new(u, Server::HostedLid).with_device(d)),
        user().prop_map(|u| Jid::new(u, Server::Group)),
        user().prop_map(|u| Jid::new(u, Server::Broadcast)),
        Just(Jid::new("status", Server::Broadcast)),
        user().prop_map(|u| Jid::new(u, Server::Newsletter)),
        user().prop_map(|u| Jid::new(u, Server::Call)),
        user().prop_map(|u| Jid::new(u, Server::Bot)),
        user().prop_map(|u| Jid::new(u, Server::LegacyUser)),
        ("[0-9]{1,15}", any::<u16>())
            .prop_map(|(u, d)| Jid::new(u, Server::Messenger).with_device(d)),
        ("[0-9]{1,15}", any::<u16>(), any::<u16>()).prop_map(|(u, d, i)| Jid::new_interop(u, d, i)),
        (user(), "[a-z]{1,8}\\.[a-z]{2,3}").prop_map(|(u, s)| Jid::new(u, Server::parse(&s))),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        // tokens (single and double byte)
        prop::sample::select(vec![
            "iq",
            "id",
            "s.whatsapp.net",
            "read-self",
            "active",
            "5",
            "text",
            "w:p"
        ])
        .prop_map(str::to_owned),
        "[0-9.-]{1,127}",    // nibble-packed
        "[0-9A-F]{1,127}",   // hex-packed
        "[0-9A-F]{128,140}", // too long to pack
        "[a-zA-Z0-9 @:_.-]{0,40}",
        ".{0,20}",        // any unicode
        "[a-z]{256,300}", // long raw (BINARY_20)
        Just(String::new()),
    ]
}

fn attr_value() -> impl Strategy<Value = AttrValue> {
    prop_oneof![3 => text().prop_map(AttrValue::from), 2 => jid().prop_map(AttrValue::Jid)]
}

fn tag() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec!["iq", "message", "enc", "receipt", "ping", "presence"])
            .prop_map(str::to_owned),
        "[a-z][a-z0-9_:-]{0,15}",
    ]
}

fn leaf() -> impl Strategy<Value = Node> {
    let content = prop_oneof![
        Just(Content::None),
        prop::collection::vec(any::<u8>(), 0..300).prop_map(Content::Bytes),
        Just(Content::Nodes(Vec::new())),
    ];
    let attrs = prop::collection::vec(("[a-z_]{1,10}", attr_value()), 0..5)
        .prop_map(|pairs| pairs.into_iter().collect::<Attrs>());
    (tag(), attrs, content).prop_map(|(tag, attrs, content)| Node {
        tag: tag.into(),
        attrs,
        content,
    })
}

fn node() -> impl Strategy<Value = Node> {
    leaf().prop_recursive(4, 40, 6, |inner| {
        (leaf(), prop::collection::vec(inner, 0..6)).prop_map(|(mut n, children)| {
            n.content = Content::Nodes(children);
            n
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn nodes_round_trip(n in node()) {
        let bytes = marshal(&n);
        prop_assert_eq!(bytes[0], 0);
        prop_assert_eq!(&decode_frame(&bytes).unwrap(), &n);
        prop_assert_eq!(&unmarshal_ref(&bytes[1..]).unwrap().to_owned(), &n);
        prop_assert_eq!(&wa_binary::try_marshal(&n).unwrap(), &bytes);
        // Decoded tokens carry their code and are written without the table lookup: the bytes
        // must be the same as for the built node.
        prop_assert_eq!(&marshal(&decode_frame(&bytes).unwrap()), &bytes);
        prop_assert_eq!(marshal(&unmarshal_ref(&bytes[1..]).unwrap().to_owned()), bytes.clone());
        // The flat decoder yields the same tree, and what it yields re-encodes to the same bytes.
        let flat = wa_binary::unmarshal_flat(&bytes[1..]).unwrap();
        let root = flat.root().unwrap();
        prop_assert_eq!(root.subtree_len(), flat.node_count());
        prop_assert_eq!(&root.to_owned(), &n);
        prop_assert_eq!(marshal(&root.to_owned()), bytes);
    }

    #[test]
    fn a_node_from_parts_encodes_as_the_node_built_from_them(
        t in tag(),
        from in node(),
        children in prop::collection::vec(node(), 0..4),
    ) {
        let built = Node {
            tag: t.as_str().into(),
            attrs: from.attrs.clone(),
            content: wa_binary::Content::Nodes(children.clone()),
        };
        prop_assert_eq!(
            wa_binary::marshal_parts(&t.as_str().into(), &from.attrs, &children),
            marshal(&built)
        );
    }

    #[test]
    fn jids_round_trip(j in jid()) {
        let s = j.to_string();
        let back: Jid = s.parse().unwrap();
        prop_assert_eq!(back, j);
    }

    #[test]
    fn decoder_never_panics(data in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode_frame(&data);
        let _ = unmarshal_ref(&data);
        // The flat and tree decoders agree on arbitrary bytes, errors included.
        let flat = wa_binary::unmarshal_flat(&data).map(|d| d.root().map(|r| r.to_owned()));
        prop_assert_eq!(flat, wa_binary::unmarshal(&data).map(Some));
    }

    #[test]
    fn mutated_frames_never_panic(n in node(), pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = marshal(&n);
        let i = pos.index(bytes.len());
        bytes[i] = byte;
        let body = &bytes[1..];
        let flat = wa_binary::unmarshal_flat(body).map(|d| d.root().map(|r| r.to_owned()));
        prop_assert_eq!(flat, wa_binary::unmarshal(body).map(Some));
        if let Ok(decoded) = decode_frame(&bytes) {
            // Whatever decodes must re-encode and decode to the same tree.
            prop_assert_eq!(decode_frame(&marshal(&decoded)).unwrap(), decoded);
        }
    }
}

#[test]
fn binary_32_round_trips() {
    let n = Node::new("enc").bytes(vec![1u8; (1 << 20) + 5]).build();
    let bytes = marshal(&n);
    assert_eq!(&bytes[..7], &[0x00, 0xf8, 0x02, 0x1d, 0xfe, 0x00, 0x10]);
    assert_eq!(decode_frame(&bytes).unwrap(), n);
}
