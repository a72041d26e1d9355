//! The flat decoder (`unmarshal_flat`, `Document`): malformed input gives the same typed error
//! as the tree decoder, never a panic; reused documents decode a stream of frames correctly.

use wa_binary::decode::DecodeOptions;
use wa_binary::{
    DecodeError, Document, Jid, Node, marshal, unmarshal, unmarshal_flat, unmarshal_flat_with,
};

fn sample() -> Node {
    Node::new("message")
        .attr("id", "3EB0ABCD")
        .attr("to", "123456789:4@s.whatsapp.net".parse::<Jid>().unwrap())
        .attr("from", "7-55:1@interop".parse::<Jid>().unwrap())
        .attr("x", "some raw string")
        .attr("p", "1.2-3")
        .child(Node::new("enc").attr("v", "2").bytes(vec![9; 300]).build())
        .child(
            Node::new("list")
                .child(Node::new("a").build())
                .child(Node::new("b").children([]).build())
                .build(),
        )
        .child(Node::new("list").children([]).build())
        .build()
}

/// The flat decoder's outcome, in the tree decoder's terms.
fn flat(data: &[u8]) -> Result<Node, DecodeError> {
    let doc = unmarshal_flat(data)?;
    Ok(doc
        .root()
        .expect("a decoded document has a root")
        .to_owned())
}

#[test]
fn truncated_at_every_byte() {
    let frame = marshal(&sample());
    let body = &frame[1..];
    let mut doc = Document::new();
    for cut in 0..body.len() {
        let r = flat(&body[..cut]);
        assert!(r.is_err(), "prefix of {cut} bytes decoded: {r:?}");
        assert_eq!(r, unmarshal(&body[..cut]), "prefix of {cut} bytes");
        assert!(doc.decode_into(&body[..cut]).is_err());
        assert!(doc.root().is_none());
    }
    assert_eq!(flat(body).unwrap(), sample());
}

#[test]
fn malformed_inputs_give_the_tree_decoders_errors() {
    let cases: &[&[u8]] = &[
        &[],
        &[0xf9, 0xff, 0xff, 0x19, 0x08, 0x08],
        &[0xf8, 0x02, 0x19, 0xf9, 0xff, 0xff, 0xf8, 0x01, 0x19],
        &[0xf8, 0x02, 0x19, 0xfe, 0xff, 0xff, 0xff, 0xff],
        &[0xf8, 0x03, 0x19, 0x08, 0xfd, 0x0f, 0xff, 0xff, 0x41],
        &[0xf8, 0x03, 0x19, 0x08, 0xff, 0x7f, 0x12],
        &[0xf8, 0x01, 0xf0],
        &[0x19],
        &[0x00],
        &[0xf8, 0x01, 0x00],
        &[0xf8, 0x01, 0xfa, 0x00, 0x03],
        &[0xf8, 0x03, 0x19, 0xfa, 0x00, 0x03, 0x08],
        &[0xf8, 0x03, 0x19, 0x08, 0xf8, 0x00],
        &[0xf8, 0x03, 0x19, 0x08, 0xff, 0x01, 0x1c],
        &[0xf8, 0x03, 0x19, 0x08, 0xff, 0x01, 0xf1],
        &[0xf8, 0x03, 0x19, 0x08, 0xfc, 0x01, 0xff],
        &[0xf8, 0x03, 0x19, 0x11, 0xfa, 0x00, 0x00],
        &[0xf8, 0x03, 0x19, 0x11, 0xf6, 0x45, 0x00, 0x01, 0x03],
        &[
            0xf8, 0x03, 0x19, 0x11, 0xf5, 0x45, 0x00, 0x01, 0x00, 0x02, 0x03,
        ],
        // Trailing byte after a complete node.
        &[0xf8, 0x01, 0x19, 0x00],
    ];
    for (i, data) in cases.iter().enumerate() {
        let expected = unmarshal(data);
        assert!(expected.is_err(), "case {i} is not malformed");
        assert_eq!(flat(data), expected, "case {i}: {data:02x?}");
    }
    for tag in 240..=244u8 {
        let data = [0xf8, 0x01, tag];
        assert_eq!(flat(&data), unmarshal(&data));
    }
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
fn depth_is_capped() {
    assert_eq!(
        flat(&nested(100_000)),
        Err(DecodeError::TooDeep { limit: 128 })
    );
    let deepest = nested(128);
    let doc = unmarshal_flat(&deepest).unwrap();
    assert_eq!(doc.node_count(), 128);
    assert_eq!(flat(&nested(129)), Err(DecodeError::TooDeep { limit: 128 }));
    let opts = DecodeOptions {
        max_depth: 5,
        ..DecodeOptions::default()
    };
    assert!(unmarshal_flat_with(&nested(5), &opts).is_ok());
    assert_eq!(
        unmarshal_flat_with(&nested(6), &opts).map(|_| ()),
        Err(DecodeError::TooDeep { limit: 5 })
    );
}

#[test]
fn a_reused_document_decodes_a_stream_of_frames() {
    let nodes: Vec<Node> = (0..20)
        .map(|i| {
            let mut b = Node::new("iq").attr("id", i.to_string());
            for j in 0..i {
                b = b.child(Node::new("item").attr("n", j.to_string()).build());
            }
            b.build()
        })
        .collect();
    let frames: Vec<Vec<u8>> = nodes.iter().map(marshal).collect();
    let mut doc = Document::new();
    for (node, frame) in nodes.iter().zip(&frames).rev() {
        // Each frame is a separate buffer; `recycle` rebinds the document to it.
        let mut d = doc.recycle();
        d.decode_into(&frame[1..]).unwrap();
        let root = d.root().unwrap();
        assert_eq!(&root.to_owned(), node);
        assert_eq!(root.children().len(), node.children().len());
        doc = d.recycle();
    }
    // The largest frame came first; its capacity was kept for the rest.
    assert!(doc.capacity().0 >= 20);
}
