//! The encoder: [`Node`] to WhatsApp binary XML, byte for byte as whatsmeow's `Marshal`.
//!
//! Where whatsmeow and Baileys differ, this encoder makes these choices:
//!
//! * [`AttrValue::Jid`] is written as whatsmeow's `writeJID` does: `AD_JID` for
//!   `s.whatsapp.net`/`lid` with a device, and always for `hosted`/`hosted.lid`; `FB_JID` for
//!   `msgr`; `INTEROP_JID` for `interop`; `JID_PAIR` otherwise. Baileys decides from the string
//!   form instead (any JID string with `:device` becomes `AD_JID`, `hosted` without a device
//!   becomes a `JID_PAIR`). One addition: an `s.whatsapp.net` JID with a non-zero agent is also
//!   written as `AD_JID` with the agent as domain type, where whatsmeow writes domain 0 and
//!   loses the agent (agents 1, 128 and 129 are still written as 0: on the wire they would name
//!   the `lid`, `hosted` and `hosted.lid` servers).
//! * [`AttrValue::Str`] is never turned into a JID (whatsmeow); Baileys writes any string
//!   containing `@` as a JID.
//! * Hex packing accepts only `0-9A-F` (Baileys); whatsmeow also packs lowercase `a-f`, which
//!   decodes as uppercase and so does not round-trip.
//! * Empty strings are written as `BINARY_8 0` and empty attribute values are kept (Baileys);
//!   whatsmeow drops empty attributes and writes `""` as an empty nibble string.

use crate::jid::{Jid, Server};
use crate::node::{AttrValue, Attrs, Content, Node};
use crate::string::Str;
use crate::token::{self, Token};

/// Encodes a node, starting with the `0x00` flags byte (whatsmeow's `Marshal`).
///
/// This never fails: values the wire format cannot hold are truncated exactly as whatsmeow
/// truncates them (a device above 255 in an AD JID keeps its low byte, a list of more than
/// 65,535 entries keeps the low 16 bits of its size, binary longer than 4 GiB keeps the low 32
/// bits of its length). Use [`try_marshal`] to get an error instead.
pub fn marshal(node: &Node) -> Vec<u8> {
    let mut out = Vec::with_capacity(estimate(node) + 1);
    marshal_into(node, &mut out);
    out
}

/// Appends the encoding of `node` (with its leading `0x00` flags byte) to `out`.
pub fn marshal_into(node: &Node, out: &mut Vec<u8>) {
    out.reserve(estimate(node) + 1);
    out.push(0);
    let mut enc = Encoder { out };
    enc.write_node(node);
}

/// Encodes the node with `tag`, `attrs` and `children` as its content (with the leading
/// `0x00` flags byte), byte for byte as [`marshal`] encodes the [`Node`] built from them, but
/// without building it: the attributes of a node at hand are written where they are instead
/// of being copied into a new one first.
///
/// ```
/// use wa_binary::{marshal, marshal_parts, Node, Str};
/// let stanza = Node::new("message").attr("id", "ABC").attr("t", "1700000000").build();
/// let child = Node::new("body").bytes(b"hi".to_vec()).build();
/// let built = Node {
///     tag: "envelope".into(),
///     attrs: stanza.attrs.clone(),
///     content: wa_binary::Content::Nodes(vec![child.clone()]),
/// };
/// let tag = Str::from("envelope");
/// assert_eq!(marshal_parts(&tag, &stanza.attrs, &[child]), marshal(&built));
/// ```
pub fn marshal_parts(tag: &Str, attrs: &Attrs, children: &[Node]) -> Vec<u8> {
    let estimate =
        4 + tag.len() + attrs_estimate(attrs) + children.iter().map(estimate).sum::<usize>();
    let mut out = Vec::with_capacity(estimate);
    out.push(0);
    let mut enc = Encoder { out: &mut out };
    enc.write_head(tag, attrs, true);
    enc.write_children(children);
    out
}

/// Encodes a node like [`marshal`], but returns an error for values the wire format cannot
/// hold instead of truncating them.
pub fn try_marshal(node: &Node) -> Result<Vec<u8>, crate::DecodeError> {
    check(node)?;
    Ok(marshal(node))
}

/// Whether [`marshal`] can encode `node` without truncating anything: the check
/// [`try_marshal`] makes, for callers that then encode with [`marshal_into`].
pub fn check_encodable(node: &Node) -> Result<(), crate::DecodeError> {
    check(node)
}

fn check(node: &Node) -> Result<(), crate::DecodeError> {
    use crate::DecodeError::Unencodable;
    let entries = 2 * node.attrs.len() + 1 + usize::from(node.content != Content::None);
    if entries > usize::from(u16::MAX) {
        return Err(Unencodable("more than 65,535 list entries in a node"));
    }
    for (_, v) in node.attrs.iter() {
        if let AttrValue::Jid(j) = v
            && uses_ad_form(j)
            && j.device() > 255
        {
            return Err(Unencodable("AD JID device above 255"));
        }
        if let AttrValue::Jid(j) = v
            && j.server() == &Server::User
            && wire_agent(j) != j.agent()
        {
            return Err(Unencodable(
                "s.whatsapp.net agent 1, 128 or 129 reads back as another server",
            ));
        }
        if let AttrValue::Str(s) = v
            && u32::try_from(s.len()).is_err()
        {
            return Err(Unencodable("string longer than 4 GiB"));
        }
    }
    match &node.content {
        Content::None => Ok(()),
        Content::Bytes(b) => {
            if u32::try_from(b.len()).is_err() {
                return Err(Unencodable("binary longer than 4 GiB"));
            }
            Ok(())
        }
        Content::Nodes(children) => {
            if children.len() > usize::from(u16::MAX) {
                return Err(Unencodable("more than 65,535 children"));
            }
            children.iter().try_for_each(check)
        }
    }
}

/// A cheap upper-ish estimate of the encoded size, to size the output buffer once.
fn estimate(node: &Node) -> usize {
    3 + node.tag.len()
        + attrs_estimate(&node.attrs)
        + match &node.content {
            Content::None => 0,
            Content::Bytes(b) => 5 + b.len(),
            Content::Nodes(c) => 3 + c.iter().map(estimate).sum::<usize>(),
        }
}

fn attrs_estimate(attrs: &Attrs) -> usize {
    attrs
        .entries()
        .iter()
        .map(|(k, v)| {
            2 + k.len()
                + match v {
                    AttrValue::Str(s) => 5 + s.len(),
                    AttrValue::Jid(j) => 8 + j.user_str().len(),
                }
        })
        .sum()
}

/// True when whatsmeow writes this JID as `AD_JID` (plus agent-carrying `s.whatsapp.net`).
pub(crate) fn uses_ad_form(jid: &Jid) -> bool {
    match jid.server() {
        Server::User => jid.device() > 0 || wire_agent(jid) > 0,
        Server::Lid => jid.device() > 0,
        Server::Hosted | Server::HostedLid => true,
        _ => false,
    }
}

/// The agent written for an `s.whatsapp.net` AD JID: the raw agent, except that values which
/// would decode as another server (1 = lid, 128 = hosted, 129 = hosted.lid) are written as 0,
/// as whatsmeow always does.
fn wire_agent(jid: &Jid) -> u8 {
    match jid.agent() {
        crate::jid::LID_DOMAIN | crate::jid::HOSTED_DOMAIN | crate::jid::HOSTED_LID_DOMAIN => 0,
        agent => agent,
    }
}

struct Encoder<'o> {
    out: &'o mut Vec<u8>,
}

impl Encoder<'_> {
    fn write_node(&mut self, node: &Node) {
        self.write_head(&node.tag, &node.attrs, node.content != Content::None);
        match &node.content {
            Content::None => {}
            Content::Bytes(b) => self.write_bytes(b),
            Content::Nodes(children) => self.write_children(children),
        }
    }

    /// A node's list header, tag and attributes (its content follows when `has_content`).
    fn write_head(&mut self, tag: &Str, attrs: &Attrs, has_content: bool) {
        self.write_list_start(2 * attrs.len() + 1 + usize::from(has_content));
        self.write_str(tag);
        for (key, value) in attrs.entries() {
            self.write_str(key);
            match value {
                AttrValue::Str(s) => self.write_str(s),
                AttrValue::Jid(j) => self.write_jid(j),
            }
        }
    }

    fn write_children(&mut self, children: &[Node]) {
        self.write_list_start(children.len());
        for child in children {
            self.write_node(child);
        }
    }

    fn write_list_start(&mut self, size: usize) {
        if size == 0 {
            self.out.push(token::LIST_EMPTY);
        } else if size < 256 {
            self.out.extend_from_slice(&[token::LIST_8, size as u8]);
        } else {
            let [hi, lo] = (size as u16).to_be_bytes();
            self.out.extend_from_slice(&[token::LIST_16, hi, lo]);
        }
    }

    fn write_byte_length(&mut self, len: usize) {
        if len < 256 {
            self.out.extend_from_slice(&[token::BINARY_8, len as u8]);
        } else if len < (1 << 20) {
            self.out.extend_from_slice(&[
                token::BINARY_20,
                ((len >> 16) & 0x0f) as u8,
                (len >> 8) as u8,
                len as u8,
            ]);
        } else {
            self.out.push(token::BINARY_32);
            self.out.extend_from_slice(&(len as u32).to_be_bytes());
        }
    }

    fn write_bytes(&mut self, b: &[u8]) {
        self.write_byte_length(b.len());
        self.out.extend_from_slice(b);
    }

    /// Writes a [`Str`]: a token the decoder recorded is written without a table lookup.
    #[inline]
    fn write_str(&mut self, s: &Str) {
        match s.token_code() {
            Some(code @ 1..=255) => self.out.push(code as u8),
            Some(code) => {
                let rest = code - 256;
                self.out
                    .extend_from_slice(&[token::DICTIONARY_0 + (rest >> 8) as u8, rest as u8]);
            }
            None => self.write_string(s.as_bytes()),
        }
    }

    fn write_string(&mut self, s: &[u8]) {
        if let Some(tok) = token::lookup_bytes(s) {
            match tok {
                Token::Single(i) => self.out.push(i),
                Token::Double(d, i) => self.out.extend_from_slice(&[token::DICTIONARY_0 + d, i]),
            }
        } else if s.is_empty() || s.len() > token::PACKED_MAX {
            self.write_bytes(s);
        } else if s
            .iter()
            .all(|&c| c.is_ascii_digit() || c == b'-' || c == b'.')
        {
            self.write_packed(s, token::NIBBLE_8, pack_nibble);
        } else if s
            .iter()
            .all(|&c| c.is_ascii_digit() || (b'A'..=b'F').contains(&c))
        {
            self.write_packed(s, token::HEX_8, pack_hex);
        } else {
            self.write_bytes(s);
        }
    }

    fn write_packed(&mut self, s: &[u8], tag: u8, pack: fn(u8) -> u8) {
        let odd = s.len() % 2;
        let rounded = (s.len() / 2 + odd) as u8 | ((odd as u8) << 7);
        self.out.reserve(2 + s.len() / 2 + odd);
        self.out.push(tag);
        self.out.push(rounded);
        let mut pairs = s.chunks_exact(2);
        for pair in &mut pairs {
            if let [a, b] = pair {
                self.out.push((pack(*a) << 4) | pack(*b));
            }
        }
        if let [last] = pairs.remainder() {
            self.out.push((pack(*last) << 4) | 15);
        }
    }

    fn write_jid(&mut self, jid: &Jid) {
        if uses_ad_form(jid) {
            let domain = match jid.server() {
                Server::User => wire_agent(jid),
                _ => jid.actual_agent(),
            };
            self.out
                .extend_from_slice(&[token::AD_JID, domain, jid.device() as u8]);
            self.write_str(jid.user_str());
            return;
        }
        match jid.server() {
            Server::Messenger => {
                self.out.push(token::FB_JID);
                self.write_str(jid.user_str());
                self.out.extend_from_slice(&jid.device().to_be_bytes());
                self.write_string(jid.server().as_str().as_bytes());
            }
            Server::Interop => {
                self.out.push(token::INTEROP_JID);
                self.write_str(jid.user_str());
                self.out.extend_from_slice(&jid.device().to_be_bytes());
                self.out.extend_from_slice(&jid.integrator().to_be_bytes());
                self.write_string(jid.server().as_str().as_bytes());
            }
            server => {
                self.out.push(token::JID_PAIR);
                if jid.user_str().is_empty() {
                    self.out.push(token::LIST_EMPTY);
                } else {
                    self.write_str(jid.user_str());
                }
                self.write_string(server.as_str().as_bytes());
            }
        }
    }
}

/// Only called on bytes already checked to be in the nibble alphabet.
fn pack_nibble(c: u8) -> u8 {
    match c {
        b'-' => 10,
        b'.' => 11,
        _ => c.wrapping_sub(b'0') & 0x0f,
    }
}

/// Only called on bytes already checked to be in `0-9A-F`.
fn pack_hex(c: u8) -> u8 {
    if c.is_ascii_digit() {
        c - b'0'
    } else {
        (c.wrapping_sub(b'A') + 10) & 0x0f
    }
}
