//! The Signal wire parsers against prost's decoding of the same protobuf schema: any body
//! (well formed or not, with unknown fields, groups and repeated fields) gives the same
//! fields or an error in both.

use proptest::prelude::*;
use wa_proto::prost::Message as _;
use wa_proto::proto as pb;
use wa_signal::keys::PublicKey;
use wa_signal::wire::{PreKeySignalMessage, SignalMessage, VERSION_BYTE};

/// What `SignalMessage::parse` gave before it had its own field reader (prost), as fields.
fn signal_by_prost(body: &[u8]) -> Result<(PublicKey, u32, u32, Vec<u8>), String> {
    let pb = pb::SignalMessage::decode(body).map_err(|_| "protobuf".to_owned())?;
    let key = pb.ratchet_key.ok_or("ratchet key")?;
    let key = PublicKey::from_bytes(&key).map_err(|_| "ratchet key")?;
    let counter = pb.counter.ok_or("counter")?;
    let ciphertext = pb.ciphertext.ok_or("ciphertext")?;
    Ok((key, counter, pb.previous_counter.unwrap_or(0), ciphertext))
}

fn signal_by_parser(body: &[u8]) -> Result<(PublicKey, u32, u32, Vec<u8>), String> {
    let bytes = [&[VERSION_BYTE][..], body, &[0; 8]].concat();
    let m = SignalMessage::parse(&bytes).map_err(|e| e.to_string())?;
    Ok((
        *m.ratchet_key(),
        m.counter(),
        m.previous_counter(),
        m.ciphertext().to_vec(),
    ))
}

type PreKeyFields = (u32, Option<u32>, u32, PublicKey, PublicKey, Vec<u8>);

fn pre_key_by_prost(body: &[u8]) -> Result<PreKeyFields, String> {
    let pb = pb::PreKeySignalMessage::decode(body).map_err(|_| "protobuf".to_owned())?;
    let inner = pb.message.ok_or("body")?;
    let signed = pb.signed_pre_key_id.ok_or("signed prekey id")?;
    let base = PublicKey::from_bytes(&pb.base_key.ok_or("base key")?).map_err(|_| "base key")?;
    let identity =
        PublicKey::from_bytes(&pb.identity_key.ok_or("identity")?).map_err(|_| "identity")?;
    SignalMessage::parse(&inner).map_err(|_| "inner")?;
    Ok((
        pb.registration_id.unwrap_or(0),
        pb.pre_key_id,
        signed,
        base,
        identity,
        inner,
    ))
}

fn pre_key_by_parser(body: &[u8]) -> Result<PreKeyFields, String> {
    let bytes = [&[VERSION_BYTE][..], body].concat();
    let m = PreKeySignalMessage::parse(&bytes).map_err(|e| e.to_string())?;
    Ok((
        m.registration_id(),
        m.pre_key_id(),
        m.signed_pre_key_id(),
        *m.base_key(),
        *m.identity_key(),
        m.message().serialized().to_vec(),
    ))
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// One field as raw protobuf: `kind` picks the wire type (6 and 7 are invalid ones).
fn field(tag: u32, kind: u8, value: u64, bytes: &[u8], out: &mut Vec<u8>) {
    varint((u64::from(tag) << 3) | u64::from(kind), out);
    match kind {
        0 => varint(value, out),
        1 => out.extend_from_slice(&value.to_le_bytes()),
        2 => {
            varint(bytes.len() as u64, out);
            out.extend_from_slice(bytes);
        }
        5 => out.extend_from_slice(&value.to_le_bytes()[..4]),
        _ => {}
    }
}

/// Field payloads: often a well-formed key or a valid inner `SignalMessage`, else random.
fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..40),
        proptest::collection::vec(any::<u8>(), 32).prop_map(|k| [&[5u8][..], &k].concat()),
        inner_message(),
    ]
}

/// A serialized `SignalMessage` with a valid key, as a `pkmsg` carries it.
fn inner_message() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<[u8; 32]>(),
        any::<u32>(),
        proptest::collection::vec(any::<u8>(), 0..20),
    )
        .prop_map(|(key, counter, ciphertext)| {
            let mut body = vec![VERSION_BYTE];
            field(1, 2, 0, &[&[5u8][..], &key].concat(), &mut body);
            field(2, 0, u64::from(counter), &[], &mut body);
            field(4, 2, 0, &ciphertext, &mut body);
            body.extend_from_slice(&[0; 8]);
            body
        })
}

/// One raw field: a tag around the schema's, any wire type, values of every size.
fn any_field() -> impl Strategy<Value = (u32, u8, u64, Vec<u8>)> {
    (
        0u32..9,
        prop_oneof![8 => Just(0u8), 8 => Just(2u8), 1 => 0u8..8],
        prop_oneof![any::<u64>(), 0u64..300, Just(u64::from(u32::MAX) + 1)],
        payload(),
    )
}

/// A body: `required` fields (the ones a message of the schema needs, so that many bodies
/// parse) mixed with random ones (unknown, repeated, of a wrong wire type, groups closed or
/// not), in any order, sometimes cut short.
fn body_with(
    required: impl Strategy<Value = Vec<(u32, u8, u64, Vec<u8>)>>,
) -> impl Strategy<Value = Vec<u8>> {
    (
        required,
        proptest::collection::vec(any_field(), 0..6),
        any::<u64>(),
        any::<u16>(),
        prop_oneof![4 => Just(false), 1 => Just(true)],
    )
        .prop_map(|(required, extra, order, cut, do_cut)| {
            let mut fields: Vec<_> = required.into_iter().chain(extra).collect();
            // A cheap shuffle driven by `order`.
            let n = fields.len();
            for i in 0..n {
                let j = ((order >> (i % 60)) as usize).wrapping_add(i * 7) % n;
                fields.swap(i, j);
            }
            let mut out = Vec::new();
            for (tag, kind, value, bytes) in fields {
                field(tag, kind, value, &bytes, &mut out);
            }
            if do_cut && !out.is_empty() {
                out.truncate(usize::from(cut) % out.len());
            }
            out
        })
}

fn key_bytes() -> impl Strategy<Value = Vec<u8>> {
    any::<[u8; 32]>().prop_map(|k| [&[5u8][..], &k].concat())
}

/// Bodies for `SignalMessage`: ratchet key, counter and ciphertext, plus random fields.
fn signal_body() -> impl Strategy<Value = Vec<u8>> {
    body_with(
        (
            key_bytes(),
            any::<u64>(),
            proptest::collection::vec(any::<u8>(), 0..20),
        )
            .prop_map(|(key, counter, ciphertext)| {
                vec![
                    (1, 2, 0, key),
                    (2, 0, counter, vec![]),
                    (4, 2, 0, ciphertext),
                ]
            }),
    )
}

/// Bodies for `PreKeySignalMessage`: signed prekey id, base and identity keys and an inner
/// message, plus random fields.
fn pre_key_body() -> impl Strategy<Value = Vec<u8>> {
    body_with(
        (any::<u64>(), key_bytes(), key_bytes(), inner_message()).prop_map(
            |(signed, base, identity, inner)| {
                vec![
                    (6, 0, signed, vec![]),
                    (2, 2, 0, base),
                    (3, 2, 0, identity),
                    (4, 2, 0, inner),
                ]
            },
        ),
    )
}

/// Errors agree in kind: both parse, or both fail.
fn same<T: PartialEq + std::fmt::Debug>(ours: Result<T, String>, prost: Result<T, String>) {
    match (ours, prost) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(_), Err(_)) => {}
        (a, b) => panic!("parser {a:?} but prost {b:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn signal_message_fields_are_prosts(body in signal_body()) {
        same(signal_by_parser(&body), signal_by_prost(&body));
    }

    #[test]
    fn pre_key_message_fields_are_prosts(body in pre_key_body()) {
        same(pre_key_by_parser(&body), pre_key_by_prost(&body));
        same(signal_by_parser(&body), signal_by_prost(&body));
    }

    #[test]
    fn any_fields_parse_as_prost_decodes_them(body in body_with(Just(Vec::new()))) {
        same(signal_by_parser(&body), signal_by_prost(&body));
        same(pre_key_by_parser(&body), pre_key_by_prost(&body));
    }

    #[test]
    fn arbitrary_bytes_parse_as_prost_decodes_them(body in proptest::collection::vec(any::<u8>(), 0..80)) {
        same(signal_by_parser(&body), signal_by_prost(&body));
        same(pre_key_by_parser(&body), pre_key_by_prost(&body));
    }
}

#[test]
fn nested_groups_up_to_prosts_limit_are_skipped_and_deeper_ones_refused() {
    for depth in [99, 100, 101, 150] {
        let body: Vec<u8> = [vec![0x3b; depth], vec![0x3c; depth]].concat();
        same(signal_by_parser(&body), signal_by_prost(&body));
        let with_fields = [body.clone(), vec![0x08, 0x01]].concat();
        same(
            pre_key_by_parser(&with_fields),
            pre_key_by_prost(&with_fields),
        );
    }
}

#[test]
fn the_ciphertext_and_serialized_bytes_survive_a_parse() {
    let key = [&[5u8][..], &[7; 32]].concat();
    let mut body = Vec::new();
    field(1, 2, 0, &key, &mut body);
    field(2, 0, 9, &[], &mut body);
    field(4, 2, 0, b"first", &mut body);
    field(4, 2, 0, b"the last one wins", &mut body);
    let bytes = [&[VERSION_BYTE][..], &body, &[1; 8]].concat();
    let m = SignalMessage::parse(&bytes).unwrap();
    assert_eq!(m.ciphertext(), b"the last one wins");
    assert_eq!(m.serialized(), bytes.as_slice());
    assert_eq!(m.counter(), 9);
}

#[test]
fn the_generated_bodies_include_ones_that_parse() {
    use proptest::strategy::ValueTree as _;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut signal, mut pre_key) = (0, 0);
    for _ in 0..1000 {
        let body = signal_body().new_tree(&mut runner).unwrap().current();
        signal += usize::from(signal_by_prost(&body).is_ok());
        let body = pre_key_body().new_tree(&mut runner).unwrap().current();
        pre_key += usize::from(pre_key_by_prost(&body).is_ok());
    }
    // The comparisons above cover successful parses too, not only errors.
    assert!(
        signal >= 200 && pre_key >= 200,
        "{signal} and {pre_key} of 1000 parsed"
    );
}
