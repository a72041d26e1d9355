//! Prekey bundles (whatsmeow `prekeys.go`: `fetchPreKeys`, `nodeToPreKeyBundle`).
//!
//! Request: `<iq xmlns="encrypt" type="get"><key><user jid reason="identity"/>…</key></iq>`.
//! Reply: `<list><user jid><registration>4 bytes</registration><type/><identity>32
//! bytes</identity><skey><id>3 bytes</id><value>32</value><signature>64</signature></skey>
//! [<key><id/><value/></key>]</user>…</list>`, or `<user jid><error code text/></user>` for a
//! device without keys. A retry receipt carries the same fields, the keys inside `<keys>`.

use wa_binary::{Jid, Node};
use wa_signal::{PreKeyBundle, PublicKey};

use crate::error::MessageError;

fn bad(why: impl Into<String>) -> MessageError {
    MessageError::BadReply {
        what: "prekeys",
        why: why.into(),
    }
}

/// The IQ fetching the bundles of `devices`.
#[must_use]
pub fn prekey_request(devices: &[Jid]) -> Node {
    Node::new("iq")
        .attr("xmlns", "encrypt")
        .attr("type", "get")
        .child(
            Node::new("key")
                .children(devices.iter().map(|d| {
                    Node::new("user")
                        .attr("jid", d.clone())
                        .attr("reason", "identity")
                        .build()
                }))
                .build(),
        )
        .build()
}

/// One device of a prekey reply: its JID and its bundle, or why there is none.
pub type DeviceBundle = (Jid, Result<PreKeyBundle, MessageError>);

/// Parses the reply: each device named in it with its bundle or why there is none. A reply
/// without `<list>` is an error.
pub fn parse_prekey_reply(reply: &Node) -> Result<Vec<DeviceBundle>, MessageError> {
    let list = reply.child("list").ok_or_else(|| bad("no <list>"))?;
    Ok(list
        .children_by_tag("user")
        .filter_map(|u| {
            let jid = u.attr("jid").and_then(|v| v.as_jid())?.clone();
            Some((jid, bundle_from_node(u)))
        })
        .collect())
}

fn bytes<'a>(node: &'a Node, tag: &str) -> Result<&'a [u8], MessageError> {
    node.child(tag)
        .and_then(Node::bytes)
        .ok_or_else(|| bad(format!("no <{tag}>")))
}

fn key_id(node: &Node) -> Result<u32, MessageError> {
    match bytes(node, "id")? {
        [a, b, c] => Ok(u32::from_be_bytes([0, *a, *b, *c])),
        other => Err(bad(format!("key id of {} bytes", other.len()))),
    }
}

fn public(node: &Node, tag: &str) -> Result<PublicKey, MessageError> {
    let raw = bytes(node, tag)?;
    <[u8; 32]>::try_from(raw)
        .map(PublicKey::from_raw)
        .map_err(|_| bad(format!("<{tag}> is {} bytes, not 32", raw.len())))
}

/// Reads a bundle from a `<user>` node of a prekey reply, or from a retry receipt (keys in
/// `<keys>`, registration id on the node itself). An `<error>` child is a typed error.
pub fn bundle_from_node(node: &Node) -> Result<PreKeyBundle, MessageError> {
    if let Some(e) = node.child("error") {
        let code = e.attr("code").map(ToString::to_string).unwrap_or_default();
        let text = e.attr("text").map(ToString::to_string).unwrap_or_default();
        return Err(bad(format!("server error {code} {text}")));
    }
    let registration_id = match bytes(node, "registration")? {
        [a, b, c, d] => u32::from_be_bytes([*a, *b, *c, *d]),
        other => return Err(bad(format!("registration of {} bytes", other.len()))),
    };
    let keys = node.child("keys").unwrap_or(node);
    let identity_key = public(keys, "identity")?;
    let skey = keys.child("skey").ok_or_else(|| bad("no <skey>"))?;
    let signature = bytes(skey, "signature")?;
    if signature.len() != 64 {
        return Err(bad(format!("signature of {} bytes", signature.len())));
    }
    let pre_key = match keys.child("key") {
        Some(k) => Some((key_id(k)?, public(k, "value")?)),
        None => None,
    };
    Ok(PreKeyBundle {
        registration_id,
        identity_key,
        signed_pre_key_id: key_id(skey)?,
        signed_pre_key: public(skey, "value")?,
        signed_pre_key_signature: signature.to_vec(),
        pre_key,
    })
}

#[cfg(test)]
mod tests {
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;
    use wa_signal::{IdentityKeyPair, PreKeyRecord, SignedPreKeyRecord};

    use super::*;

    fn id3(v: u32) -> Vec<u8> {
        v.to_be_bytes()[1..].to_vec()
    }

    fn user_node(jid: &str, with_one_time: bool) -> (Node, PreKeyBundle) {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let ik = IdentityKeyPair::generate(&mut rng);
        let spk = SignedPreKeyRecord::generate(7, &ik, &mut rng);
        let pk = PreKeyRecord::generate(0x01_02_03, &mut rng);
        let mut b = Node::new("user")
            .attr("jid", jid.parse::<Jid>().unwrap())
            .child(
                Node::new("registration")
                    .bytes(4242u32.to_be_bytes().to_vec())
                    .build(),
            )
            .child(Node::new("type").bytes(vec![5]).build())
            .child(
                Node::new("identity")
                    .bytes(ik.public().raw().to_vec())
                    .build(),
            )
            .child(
                Node::new("skey")
                    .child(Node::new("id").bytes(id3(7)).build())
                    .child(
                        Node::new("value")
                            .bytes(spk.key_pair.public.raw().to_vec())
                            .build(),
                    )
                    .child(Node::new("signature").bytes(spk.signature.to_vec()).build())
                    .build(),
            );
        if with_one_time {
            b = b.child(
                Node::new("key")
                    .child(Node::new("id").bytes(id3(pk.id)).build())
                    .child(
                        Node::new("value")
                            .bytes(pk.key_pair.public.raw().to_vec())
                            .build(),
                    )
                    .build(),
            );
        }
        let bundle = PreKeyBundle {
            registration_id: 4242,
            identity_key: *ik.public(),
            signed_pre_key_id: 7,
            signed_pre_key: spk.key_pair.public,
            signed_pre_key_signature: spk.signature.to_vec(),
            pre_key: with_one_time.then_some((pk.id, pk.key_pair.public)),
        };
        (b.build(), bundle)
    }

    #[test]
    fn request_names_each_device() {
        let r = prekey_request(&["1:2@lid".parse().unwrap()]);
        assert_eq!(r.attr("xmlns").unwrap().as_str(), Some("encrypt"));
        let u = r.child_path(&["key", "user"]).unwrap();
        assert_eq!(u.attr("reason").unwrap().as_str(), Some("identity"));
    }

    #[test]
    fn bundles_parse_and_verify() {
        let (a, want_a) = user_node("1:2@s.whatsapp.net", true);
        let (b, want_b) = user_node("1:3@s.whatsapp.net", false);
        let missing = Node::new("user")
            .attr("jid", "1:4@s.whatsapp.net".parse::<Jid>().unwrap())
            .child(
                Node::new("error")
                    .attr("code", "404")
                    .attr("text", "item-not-found")
                    .build(),
            )
            .build();
        let reply = Node::new("iq")
            .child(Node::new("list").children([a, b, missing]).build())
            .build();
        let got = parse_prekey_reply(&reply).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].1.as_ref().unwrap(), &want_a);
        got[0].1.as_ref().unwrap().verify().unwrap();
        assert_eq!(got[1].1.as_ref().unwrap(), &want_b);
        assert!(matches!(got[2].1, Err(MessageError::BadReply { .. })));
        assert!(parse_prekey_reply(&Node::new("iq").build()).is_err());
    }

    #[test]
    fn retry_receipt_keys_parse() {
        // A retry receipt: registration on the receipt, the rest inside <keys>.
        let (user, want) = user_node("1:2@s.whatsapp.net", true);
        let keys: Vec<Node> = user
            .children()
            .iter()
            .filter(|c| c.tag != "registration")
            .cloned()
            .collect();
        let receipt = Node::new("receipt")
            .child(user.child("registration").unwrap().clone())
            .child(Node::new("keys").children(keys).build())
            .build();
        assert_eq!(bundle_from_node(&receipt).unwrap(), want);
    }

    #[test]
    fn malformed_fields_are_typed_errors() {
        let (user, _) = user_node("1:2@s.whatsapp.net", true);
        let strip = |tag: &str| {
            let children: Vec<Node> = user
                .children()
                .iter()
                .filter(|c| c.tag != tag)
                .cloned()
                .collect();
            Node::new("user").children(children).build()
        };
        for tag in ["registration", "identity", "skey"] {
            assert!(
                matches!(
                    bundle_from_node(&strip(tag)),
                    Err(MessageError::BadReply { .. })
                ),
                "{tag}"
            );
        }
        let short = Node::new("user")
            .child(Node::new("registration").bytes(vec![1, 2]).build())
            .build();
        assert!(bundle_from_node(&short).is_err());
    }
}
