//! Malformed input: every case returns a typed error, never a panic.

use std::io::Write;

use wa_binary::decode::DecodeOptions;
use wa_binary::{
    DecodeError, Jid, Node, decode_frame, decode_frame_with, marshal, unmarshal, unmarshal_ref,
    unpack, unpack_with_limit,
};

fn sample() -> Node {
    Node::new("message")
        .attr("id", "3EB0ABCD")
        .attr("to", "123456789:4@s.whatsapp.net".parse::<Jid>().unwrap())
        .attr("from", "7-55:1@interop".parse::<Jid>().unwrap())
        .attr("x", "some raw string")
        .attr("p", "1.2-3")
        .child(Node::new("enc").attr("v", "2").bytes(vec![9; 300]).build())
        .child(Node::new("list").children([]).build())
        .build()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

#[test]
fn truncated_at_every_byte() {
    let frame = marshal(&sample());
    for cut in 0..frame.len() {
        let r = decode_frame(&frame[..cut]);
        assert!(r.is_err(), "prefix of {cut} bytes decoded: {r:?}");
        if cut >= 1 {
            assert!(unmarshal_ref(&frame[1..cut]).is_err());
        }
    }
    assert_eq!(decode_frame(&frame).unwrap(), sample());
    assert_eq!(decode_frame(&[]), Err(DecodeError::EmptyFrame));
}

#[test]
fn trailing_bytes_are_rejected() {
    let mut frame = marshal(&sample());
    frame.push(0);
    assert_eq!(
        decode_frame(&frame),
        Err(DecodeError::TrailingBytes { count: 1 })
    );
}

#[test]
fn huge_lengths_fail_before_allocating() {
    // LIST_16 with 65,535 entries and 3 bytes left.
    assert!(matches!(
        unmarshal(&[0xf9, 0xff, 0xff, 0x19, 0x08, 0x08]),
        Err(DecodeError::LengthExceedsInput { .. })
    ));
    // A node whose child list claims 65,535 children.
    assert!(matches!(
        unmarshal(&[0xf8, 0x02, 0x19, 0xf9, 0xff, 0xff, 0xf8, 0x01, 0x19]),
        Err(DecodeError::LengthExceedsInput {
            declared: 65535,
            ..
        })
    ));
    // BINARY_32 content of 4 GiB - 1 with nothing behind it.
    assert!(matches!(
        unmarshal(&[0xf8, 0x02, 0x19, 0xfe, 0xff, 0xff, 0xff, 0xff]),
        Err(DecodeError::LengthExceedsInput {
            declared: 0xffff_ffff,
            ..
        })
    ));
    // BINARY_20 attribute value longer than the input.
    assert!(matches!(
        unmarshal(&[0xf8, 0x03, 0x19, 0x08, 0xfd, 0x0f, 0xff, 0xff, 0x41]),
        Err(DecodeError::LengthExceedsInput { .. })
    ));
    // Packed string claiming 127 bytes.
    assert!(matches!(
        unmarshal(&[0xf8, 0x03, 0x19, 0x08, 0xff, 0x7f, 0x12]),
        Err(DecodeError::UnexpectedEof { .. })
    ));
}

#[test]
fn invalid_tags_and_tokens() {
    for tag in 240..=244u8 {
        assert!(
            matches!(unmarshal(&[0xf8, 0x01, tag]), Err(DecodeError::InvalidTag { tag: t, .. }) if t == tag)
        );
    }
    // A dictionary tag without its index byte.
    assert!(matches!(
        unmarshal(&[0xf8, 0x01, 236 - 1 + 1]),
        Err(DecodeError::UnexpectedEof { .. })
    ));
    assert!(matches!(
        unmarshal(&[0xf8, 0x01, 0xf0]),
        Err(DecodeError::InvalidTag { tag: 0xf0, .. })
    ));
    // Not a list tag at the start of a node.
    assert!(matches!(
        unmarshal(&[0x19]),
        Err(DecodeError::InvalidTag {
            tag: 0x19,
            offset: 0
        })
    ));
    // Empty list as a node, empty tag.
    assert!(matches!(
        unmarshal(&[0x00]),
        Err(DecodeError::InvalidNode { .. })
    ));
    assert!(matches!(
        unmarshal(&[0xf8, 0x01, 0x00]),
        Err(DecodeError::InvalidNode { .. })
    ));
    // A JID as the tag and as an attribute key.
    assert!(matches!(
        unmarshal(&[0xf8, 0x01, 0xfa, 0x00, 0x03]),
        Err(DecodeError::ExpectedString { .. })
    ));
    assert!(matches!(
        unmarshal(&[0xf8, 0x03, 0x19, 0xfa, 0x00, 0x03, 0x08]),
        Err(DecodeError::ExpectedString { .. })
    ));
    // A list in attribute-value position.
    assert!(matches!(
        unmarshal(&[0xf8, 0x03, 0x19, 0x08, 0xf8, 0x00]),
        Err(DecodeError::InvalidTag { tag: 0xf8, .. })
    ));
    // Bad nibble digit (12) and a padding nibble in the middle.
    assert!(matches!(
        unmarshal(&[0xf8, 0x03, 0x19, 0x08, 0xff, 0x01, 0x1c]),
        Err(DecodeError::InvalidPackedDigit { digit: 12, .. })
    ));
    assert!(matches!(
        unmarshal(&[0xf8, 0x03, 0x19, 0x08, 0xff, 0x01, 0xf1]),
        Err(DecodeError::InvalidPackedDigit { digit: 15, .. })
    ));
    // Invalid UTF-8 in a string.
    assert!(matches!(
        unmarshal(&[0xf8, 0x03, 0x19, 0x08, 0xfc, 0x01, 0xff]),
        Err(DecodeError::InvalidUtf8 { .. })
    ));
}

#[test]
fn bad_wire_jids() {
    // JID pair with an empty server.
    assert!(matches!(
        unmarshal(&[0xf8, 0x03, 0x19, 0x11, 0xfa, 0x00, 0x00]),
        Err(DecodeError::InvalidWireJid { .. })
    ));
    // FB JID whose server is not msgr (03 = s.whatsapp.net).
    assert!(matches!(
        unmarshal(&[0xf8, 0x03, 0x19, 0x11, 0xf6, 0x45, 0x00, 0x01, 0x03]),
        Err(DecodeError::InvalidWireJid { .. })
    ));
    // Interop JID whose server is not interop.
    assert!(matches!(
        unmarshal(&[
            0xf8, 0x03, 0x19, 0x11, 0xf5, 0x45, 0x00, 0x01, 0x00, 0x02, 0x03
        ]),
        Err(DecodeError::InvalidWireJid { .. })
    ));
}

fn nested(levels: usize) -> Vec<u8> {
    // Each "f8 02 19 f8 01" is a node <iq> holding a list of one child.
    let mut data = Vec::new();
    for _ in 1..levels {
        data.extend_from_slice(&[0xf8, 0x02, 0x19, 0xf8, 0x01]);
    }
    data.extend_from_slice(&[0xf8, 0x01, 0x19]);
    data
}

#[test]
fn depth_bomb() {
    let bomb = nested(100_000);
    assert_eq!(unmarshal(&bomb), Err(DecodeError::TooDeep { limit: 128 }));
    assert_eq!(
        unmarshal_ref(&bomb),
        Err(DecodeError::TooDeep { limit: 128 })
    );
    // Exactly at the default limit is fine; one more level is not.
    assert!(unmarshal(&nested(128)).is_ok());
    assert_eq!(
        unmarshal(&nested(129)),
        Err(DecodeError::TooDeep { limit: 128 })
    );
    let opts = DecodeOptions {
        max_depth: 5,
        ..DecodeOptions::default()
    };
    assert!(wa_binary::unmarshal_with(&nested(5), &opts).is_ok());
    assert!(wa_binary::unmarshal_with(&nested(6), &opts).is_err());
}

#[test]
fn compressed_frames() {
    let plain = marshal(&sample());
    let mut frame = vec![2u8];
    frame.extend_from_slice(&zlib(&plain[1..]));
    assert_eq!(&*unpack(&frame).unwrap(), &plain[1..]);
    assert_eq!(decode_frame(&frame).unwrap(), sample());
    // Uncompressed frames are borrowed, not copied.
    assert!(matches!(
        unpack(&plain).unwrap(),
        std::borrow::Cow::Borrowed(_)
    ));
}

#[test]
fn bad_zlib() {
    assert!(matches!(
        unpack(&[2, 0x78, 0x9c, 0xde, 0xad, 0xbe, 0xef]),
        Err(DecodeError::Zlib(_))
    ));
    assert!(matches!(
        decode_frame(&[2]),
        Err(DecodeError::Zlib(_)) | Err(DecodeError::UnexpectedEof { .. })
    ));
    // Truncated valid stream.
    let z = zlib(&[0u8; 1000]);
    let mut frame = vec![2u8];
    frame.extend_from_slice(&z[..z.len() / 2]);
    assert!(matches!(unpack(&frame), Err(DecodeError::Zlib(_))));
}

#[test]
fn zlib_bomb() {
    // 16 MiB of zeros compresses to ~16 KiB.
    let bomb = zlib(&vec![0u8; 16 << 20]);
    assert!(bomb.len() < 100_000);
    let mut frame = vec![2u8];
    frame.extend_from_slice(&bomb);
    assert_eq!(
        unpack_with_limit(&frame, 1 << 20),
        Err(DecodeError::DecompressedTooLarge { limit: 1 << 20 })
    );
    let opts = DecodeOptions {
        max_decompressed: 4096,
        ..DecodeOptions::default()
    };
    assert_eq!(
        decode_frame_with(&frame, &opts),
        Err(DecodeError::DecompressedTooLarge { limit: 4096 })
    );
    // Exactly at the limit passes the unpack step.
    assert_eq!(unpack_with_limit(&frame, 16 << 20).unwrap().len(), 16 << 20);
}

#[test]
fn try_marshal_reports_unencodable() {
    let big_device = Node::new("iq")
        .attr("to", "1:300@s.whatsapp.net".parse::<Jid>().unwrap())
        .build();
    assert!(matches!(
        wa_binary::try_marshal(&big_device),
        Err(DecodeError::Unencodable(_))
    ));
    let many = Node::new("l")
        .children((0..70_000).map(|_| Node::new("a").build()))
        .build();
    assert!(matches!(
        wa_binary::try_marshal(&many),
        Err(DecodeError::Unencodable(_))
    ));
    assert!(wa_binary::try_marshal(&sample()).is_ok());
}
