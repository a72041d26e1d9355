//! The comparison codec: whatsapp-rust's `wacore-binary` 0.7 (MIT, `default-features = false`).
//!
//! Its node type is built once from ours, outside any timing. JID attributes become
//! `NodeValue::Jid` (parsed by wacore from our JID's string form), strings stay strings, and
//! bytes stay bytes, so both encoders see the same logical stanza.

use std::borrow::Cow;

use wa_binary::{AttrValue, Content, Node};
use wacore_binary::node::{Attrs as TheirAttrs, Node as TheirNode, NodeContent, NodeValue};

/// Converts one of our nodes into the equivalent `wacore_binary` node.
pub fn to_theirs(node: &Node) -> TheirNode {
    let mut attrs = TheirAttrs::with_capacity(node.attrs.len());
    for (key, value) in node.attrs.iter() {
        let value = match value {
            AttrValue::Jid(j) => {
                let s = j.to_string();
                match s.parse::<wacore_binary::Jid>() {
                    Ok(theirs) => NodeValue::Jid(theirs),
                    Err(e) => panic!("wacore-binary does not parse JID {s:?}: {e}"),
                }
            }
            other => NodeValue::String(other.to_string().into()),
        };
        attrs.push(Cow::Owned(key.to_owned()), value);
    }
    let content = match &node.content {
        Content::None => None,
        Content::Bytes(b) => Some(NodeContent::Bytes(b.clone())),
        Content::Nodes(children) => {
            Some(NodeContent::Nodes(children.iter().map(to_theirs).collect()))
        }
    };
    TheirNode::new(Cow::Owned(node.tag.to_string()), attrs, content)
}

/// wacore's encoder into a reused buffer (it clears the buffer and writes the flags byte first).
pub fn encode_into(node: &TheirNode, out: &mut Vec<u8>) {
    if let Err(e) = wacore_binary::marshal_to_vec(node, out) {
        panic!("wacore-binary failed to encode a corpus node: {e}");
    }
}

/// wacore's zero-copy decode of the bytes after the flags byte.
pub fn decode_ref(data: &[u8]) -> wacore_binary::NodeRef<'_> {
    match wacore_binary::marshal::unmarshal_ref(data) {
        Ok(n) => n,
        Err(e) => panic!("wacore-binary failed to decode a corpus frame: {e}"),
    }
}

/// wacore's owned decode: its API has no direct owned decoder, so this is the documented path,
/// the borrowed decode followed by `NodeRef::to_owned`.
pub fn decode_owned(data: &[u8]) -> TheirNode {
    decode_ref(data).to_owned()
}
