//! Golden vectors: hand-checked bytes for representative nodes (each also checked against
//! Baileys' `encodeBinaryNode` where the two encoders agree), encoded and decoded both ways.

use wa_binary::{Content, Jid, Node, Server, decode_frame, marshal, unmarshal, unmarshal_ref};

fn jid(s: &str) -> Jid {
    s.parse().unwrap()
}

fn check(node: &Node, hex_bytes: &str) {
    let expected = hex::decode(hex_bytes).unwrap();
    assert_eq!(hex::encode(marshal(node)), hex_bytes, "encoding of\n{node}");
    assert_eq!(
        &decode_frame(&expected).unwrap(),
        node,
        "decoding of {hex_bytes}"
    );
    assert_eq!(&unmarshal(&expected[1..]).unwrap(), node);
    assert_eq!(&unmarshal_ref(&expected[1..]).unwrap().to_owned(), node);
    let flat = wa_binary::unmarshal_flat(&expected[1..]).unwrap();
    assert_eq!(&flat.root().unwrap().to_owned(), node);
    let mut appended = vec![0xaa];
    wa_binary::marshal_into(node, &mut appended);
    assert_eq!(&appended[1..], &expected[..]);
}

/// 00 flags | f8 0a list of 10 | 19 "iq" | 08 "id" 55 "1" | 11 "to" fa 00 03 JID pair (no user,
/// "s.whatsapp.net") | 04 "type" 29 "get" | 16 "xmlns" 57 "w:p" | f8 01 one child | f8 01 56 <ping>
#[test]
fn ping_iq() {
    let node = Node::new("iq")
        .attr("id", "1")
        .attr("to", Jid::new("", Server::User))
        .attr("type", "get")
        .attr("xmlns", "w:p")
        .child(Node::new("ping").build())
        .build();
    check(&node, "00f80a19085511fa000304291657f801f80156");
    assert_eq!(
        node.to_xml(),
        "<iq id=\"1\" to=\"s.whatsapp.net\" type=\"get\" xmlns=\"w:p\">\n  <ping/>\n</iq>"
    );
}

/// f8 08 | 13 "message" | 08 "id" fb 04 3e b0 ab cd (hex-packed "3EB0ABCD") | 11 "to" fa JID pair
/// ff 85 12 34 56 78 9f (nibble "123456789", odd) 03 "s.whatsapp.net" | 04 "type" 38 "text" |
/// f8 01 | f8 06 1d "enc" 51 "v" 45 "2" 04 "type" 53 "pkmsg" fc 03 01 02 03 (binary)
#[test]
fn message_with_enc_child_and_jid_pair() {
    let node = Node::new("message")
        .attr("id", "3EB0ABCD")
        .attr("to", jid("123456789@s.whatsapp.net"))
        .attr("type", "text")
        .child(
            Node::new("enc")
                .attr("v", "2")
                .attr("type", "pkmsg")
                .bytes(vec![1, 2, 3])
                .build(),
        )
        .build();
    check(
        &node,
        "00f8081308fb043eb0abcd11faff85123456789f030438f801f8061d51450453fc03010203",
    );
}

/// f8 05 | 07 "receipt" | 11 "to" f7 00 05 ff 82 12 3f (AD JID: domain 0, device 5, "123") |
/// 05 "participant" f7 01 0c ff 01 77 (AD JID: domain 1 = lid, device 12, "77")
#[test]
fn ad_jids() {
    let node = Node::new("receipt")
        .attr("to", jid("123:5@s.whatsapp.net"))
        .attr("participant", jid("77:12@lid"))
        .build();
    check(&node, "00f8050711f70005ff82123f05f7010cff0177");
}

/// f8 05 | 1f "presence" | 04 "type" ec 01 (dictionary 0, index 1: "active") |
/// 1a "t" ff 03 12 a3 b4 (nibble "12-3.4")
#[test]
fn double_byte_token_and_nibble_packed() {
    let node = Node::new("presence")
        .attr("type", "active")
        .attr("t", "12-3.4")
        .build();
    check(&node, "00f8051f04ec011aff0312a3b4");
}

/// f8 03 | 19 "iq" | 08 "id" fb 82 ab cf (hex "ABC", odd: the last nibble is padding)
#[test]
fn hex_packed_odd() {
    check(
        &Node::new("iq").attr("id", "ABC").build(),
        "00f8031908fb82abcf",
    );
    // Lowercase hex is written raw (whatsmeow would pack it and lose the case).
    check(
        &Node::new("iq").attr("id", "abc").build(),
        "00f8031908fc03616263",
    );
}

/// f8 03 | 19 "iq" | 11 "to" fa ff 84 12 3a 45 6f (nibble "123-456") 1c "g.us"
#[test]
fn group_jid_pair() {
    check(
        &Node::new("iq").attr("to", jid("123-456@g.us")).build(),
        "00f8031911faff84123a456f1c",
    );
}

/// Forms Baileys does not produce from strings, as whatsmeow writes them:
/// hosted without device is still an AD JID (f7 80 00, then "5" = ec 79, a double-byte token); interop is f5 user, device u16,
/// integrator u16, server; msgr is f6 user, device u16, server (cc = token 204 "msgr").
#[test]
fn hosted_interop_and_messenger_jids() {
    check(
        &Node::new("iq").attr("to", jid("5@hosted")).build(),
        "00f8031911f78000ec79",
    );
    check(
        &Node::new("iq").attr("to", jid("7-123:2@interop")).build(),
        "00f8031911f5ff82123f00020007fc07696e7465726f70",
    );
    check(
        &Node::new("iq").attr("to", jid("1001:3@msgr")).build(),
        "00f8031911f6ff0210010003cc",
    );
}

/// Content forms: an empty child list is kept (00; 71 is the token "list"), 300 bytes use BINARY_20 (fd 00 01 2c).
#[test]
fn empty_list_and_binary_20() {
    check(&Node::new("list").children([]).build(), "00f8027100");
    let payload = vec![7u8; 300];
    let node = Node::new("enc").bytes(payload.clone()).build();
    let bytes = marshal(&node);
    assert_eq!(&bytes[..7], &[0x00, 0xf8, 0x02, 0x1d, 0xfd, 0x00, 0x01]);
    assert_eq!(bytes[7], 0x2c);
    assert_eq!(
        decode_frame(&bytes).unwrap().content,
        Content::Bytes(payload)
    );
}

/// A token or packed string in content position decodes to its UTF-8 bytes.
#[test]
fn string_content_decodes_to_bytes() {
    // f8 02 19 "iq" | 56 "ping" as content
    let node = decode_frame(&hex::decode("00f8021956").unwrap()).unwrap();
    assert_eq!(node.content, Content::Bytes(b"ping".to_vec()));
    // nibble "12" as content
    let node = decode_frame(&hex::decode("00f80219ff0112").unwrap()).unwrap();
    assert_eq!(node.content, Content::Bytes(b"12".to_vec()));
}

/// An agent on `s.whatsapp.net` is kept as the AD domain byte (f7 05 02), except the values
/// that name other servers on the wire (1 = lid), which whatsmeow writes as 0.
#[test]
fn agents_on_user_jids() {
    check(
        &Node::new("iq")
            .attr("to", jid("123.5:2@s.whatsapp.net"))
            .build(),
        "00f8031911f70502ff82123f",
    );
    let n = Node::new("iq")
        .attr("to", jid("123.1:2@s.whatsapp.net"))
        .build();
    assert_eq!(hex::encode(marshal(&n)), "00f8031911f70002ff82123f");
    assert!(wa_binary::try_marshal(&n).is_err());
}
