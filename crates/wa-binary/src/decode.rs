//! The decoder: WhatsApp binary XML to [`Node`] (owned) or [`NodeRef`] (borrowed, zero-copy).
//!
//! Every read is bounds-checked and returns a [`DecodeError`]; no allocation is sized by a
//! length field before that length has been checked against the bytes that are left; nesting
//! is capped ([`DecodeOptions::max_depth`]).
//!
//! Where the reference decoders are lenient, this one is strict or explicit:
//!
//! * bytes after the top-level node are an error ([`DecodeError::TrailingBytes`]);
//! * tags, attribute keys and attribute values must be UTF-8 (whatsmeow converts lossily);
//! * nibble digits 12–15 are an error except as the padding of an odd-length string
//!   (whatsmeow and Baileys turn 15 into a NUL character);
//! * `LIST_EMPTY` in content position is an empty child list, as in Baileys (whatsmeow: no
//!   content), so `Content::Nodes(vec![])` round-trips;
//! * `LIST_EMPTY` in a string position is the empty string;
//! * a JID in content position becomes the bytes of its string form.

use std::borrow::Cow;

use crate::DecodeError;
use crate::jid::{Jid, Server};
use crate::node::{AttrValue, Attrs, Content, Node};
use crate::strref::StrRef;
use crate::token;

/// Default cap on node nesting.
pub const DEFAULT_MAX_DEPTH: usize = 128;
/// Default cap on the size of a decompressed frame (64 MiB).
pub const DEFAULT_MAX_DECOMPRESSED: usize = 64 * 1024 * 1024;

/// Limits applied while decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Deepest allowed nesting of nodes (the top-level node is depth 1).
    pub max_depth: usize,
    /// Largest allowed inflated size of a zlib-compressed frame, in bytes.
    pub max_decompressed: usize,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            max_depth: DEFAULT_MAX_DEPTH,
            max_decompressed: DEFAULT_MAX_DECOMPRESSED,
        }
    }
}

/// A JID borrowed from a frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JidRef<'a> {
    /// The user part (may be empty).
    pub user: StrRef<'a>,
    /// The server string.
    pub server: StrRef<'a>,
    /// The raw agent (AD JIDs on `s.whatsapp.net` only).
    pub agent: u8,
    /// The device number.
    pub device: u16,
    /// The integrator (interop JIDs only).
    pub integrator: u16,
}

impl JidRef<'_> {
    /// The owned [`Jid`].
    pub fn to_owned(&self) -> Jid {
        Jid::new(self.user.to_str(), server_of(&self.server))
            .with_agent(self.agent)
            .with_device(self.device)
            .with_integrator(self.integrator)
    }
}

/// An attribute value borrowed from a frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttrValueRef<'a> {
    /// A string (borrowed from the frame or a token; owned only for packed strings).
    Str(StrRef<'a>),
    /// A JID.
    Jid(JidRef<'a>),
}

impl AttrValueRef<'_> {
    /// The owned [`AttrValue`].
    pub fn to_owned(&self) -> AttrValue {
        match self {
            Self::Str(s) => AttrValue::Str(s.to_str()),
            Self::Jid(j) => AttrValue::Jid(j.to_owned()),
        }
    }
}

/// Node content borrowed from a frame.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ContentRef<'a> {
    /// Nothing.
    #[default]
    None,
    /// Bytes (borrowed binary; text of a token or packed string in content position).
    Bytes(Cow<'a, [u8]>),
    /// Child nodes.
    Nodes(Vec<NodeRef<'a>>),
}

/// A node borrowed from a frame: strings and binary point into the input where possible.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeRef<'a> {
    /// The tag.
    pub tag: StrRef<'a>,
    /// The attributes, in wire order.
    pub attrs: Vec<(StrRef<'a>, AttrValueRef<'a>)>,
    /// The content.
    pub content: ContentRef<'a>,
}

impl NodeRef<'_> {
    /// The owned [`Node`].
    pub fn to_owned(&self) -> Node {
        let mut attrs = Attrs::with_capacity(self.attrs.len());
        for (k, v) in &self.attrs {
            attrs.push_raw(k.to_str(), v.to_owned());
        }
        let content = match &self.content {
            ContentRef::None => Content::None,
            ContentRef::Bytes(b) => Content::Bytes(b.to_vec()),
            ContentRef::Nodes(n) => Content::Nodes(n.iter().map(NodeRef::to_owned).collect()),
        };
        Node {
            tag: self.tag.to_str(),
            attrs,
            content,
        }
    }

    /// The value of attribute `key`.
    pub fn attr(&self, key: &str) -> Option<&AttrValueRef<'_>> {
        self.attrs
            .iter()
            .find(|(k, _)| k.as_str() == key)
            .map(|(_, v)| v)
    }

    /// The child nodes (empty unless the content is a list).
    pub fn children(&self) -> &[NodeRef<'_>] {
        match &self.content {
            ContentRef::Nodes(n) => n,
            _ => &[],
        }
    }
}

/// Decodes node bytes that follow the flags byte (whatsmeow's `Unmarshal`) into an owned node.
pub fn unmarshal(data: &[u8]) -> Result<Node, DecodeError> {
    unmarshal_with(data, &DecodeOptions::default())
}

/// [`unmarshal`] with explicit limits.
pub fn unmarshal_with(data: &[u8], opts: &DecodeOptions) -> Result<Node, DecodeError> {
    let mut r = Reader {
        data,
        pos: 0,
        max_depth: opts.max_depth,
    };
    let node = r.read_node_owned(1)?;
    r.finish()?;
    Ok(node)
}

/// Decodes node bytes that follow the flags byte into a borrowed [`NodeRef`].
pub fn unmarshal_ref(data: &[u8]) -> Result<NodeRef<'_>, DecodeError> {
    unmarshal_ref_with(data, &DecodeOptions::default())
}

/// [`unmarshal_ref`] with explicit limits.
pub fn unmarshal_ref_with<'a>(
    data: &'a [u8],
    opts: &DecodeOptions,
) -> Result<NodeRef<'a>, DecodeError> {
    let mut r = Reader {
        data,
        pos: 0,
        max_depth: opts.max_depth,
    };
    let node = r.read_node_ref(1)?;
    r.finish()?;
    Ok(node)
}

/// Smallest possible encoded node: list tag, size, one-byte tag.
const MIN_NODE_LEN: usize = 3;
/// Smallest possible encoded attribute: two one-byte tokens.
const MIN_ATTR_LEN: usize = 2;

pub(crate) struct Reader<'a> {
    pub(crate) data: &'a [u8],
    pub(crate) pos: usize,
    pub(crate) max_depth: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(DecodeError::TrailingBytes { count }),
        }
    }

    #[inline]
    pub(crate) fn read_u8(&mut self) -> Result<u8, DecodeError> {
        match self.data.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => Err(DecodeError::UnexpectedEof {
                offset: self.pos,
                needed: 1,
            }),
        }
    }

    #[inline]
    pub(crate) fn read_slice(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let data: &'a [u8] = self.data;
        let end = self.pos.checked_add(n);
        match end.and_then(|end| data.get(self.pos..end)) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(DecodeError::UnexpectedEof {
                offset: self.pos,
                needed: n,
            }),
        }
    }

    #[inline]
    pub(crate) fn read_u16(&mut self) -> Result<u16, DecodeError> {
        match self.read_slice(2)? {
            &[a, b] => Ok(u16::from_be_bytes([a, b])),
            _ => Err(DecodeError::UnexpectedEof {
                offset: self.pos,
                needed: 2,
            }),
        }
    }

    /// Reads a length field of a binary value, then checks it against the input left.
    pub(crate) fn read_len(&mut self, tag: u8) -> Result<usize, DecodeError> {
        let offset = self.pos;
        let len = match tag {
            token::BINARY_8 => usize::from(self.read_u8()?),
            token::BINARY_20 => match self.read_slice(3)? {
                &[a, b, c] => {
                    (usize::from(a & 0x0f) << 16) | (usize::from(b) << 8) | usize::from(c)
                }
                _ => return Err(DecodeError::UnexpectedEof { offset, needed: 3 }),
            },
            _ => match self.read_slice(4)? {
                &[a, b, c, d] => u32::from_be_bytes([a, b, c, d]) as usize,
                _ => return Err(DecodeError::UnexpectedEof { offset, needed: 4 }),
            },
        };
        if len > self.remaining() {
            return Err(DecodeError::LengthExceedsInput {
                declared: len,
                remaining: self.remaining(),
                offset,
            });
        }
        Ok(len)
    }

    fn read_list_size(&mut self, tag: u8, tag_offset: usize) -> Result<usize, DecodeError> {
        match tag {
            token::LIST_EMPTY => Ok(0),
            token::LIST_8 => Ok(usize::from(self.read_u8()?)),
            token::LIST_16 => Ok(usize::from(self.read_u16()?)),
            _ => Err(DecodeError::InvalidTag {
                tag,
                offset: tag_offset,
            }),
        }
    }

    fn read_packed(&mut self, tag: u8) -> Result<StrRef<'a>, DecodeError> {
        let start = self.read_u8()?;
        let n = usize::from(start & 0x7f);
        let odd = start & 0x80 != 0;
        let offset = self.pos;
        let bytes = self.read_slice(n)?;
        let nibble = tag == token::NIBBLE_8;
        // Invalid nibble digits (12..=15) decode to 0x80, which `from_packed` rejects unless
        // it is the padding of an odd-length string (cut off by `len`).
        let table = if nibble {
            &crate::strref::NIBBLE_PAIRS
        } else {
            &crate::strref::HEX_PAIRS
        };
        let len = 2 * n - usize::from(odd && n > 0);
        match StrRef::from_packed(bytes, table, len) {
            Some(s) => Ok(s),
            None => Err(invalid_digit(bytes, odd, offset)),
        }
    }

    #[inline]
    pub(crate) fn read_value(&mut self) -> Result<AttrValueRef<'a>, DecodeError> {
        let offset = self.pos;
        let tag = self.read_u8()?;
        // Fast path: most values are single-byte tokens.
        if let Some(s) = token::single_byte(tag) {
            return Ok(AttrValueRef::Str(StrRef::token(s, u16::from(tag))));
        }
        self.read_value_tagged(tag, offset)
    }

    #[inline]
    pub(crate) fn read_str(&mut self) -> Result<StrRef<'a>, DecodeError> {
        let offset = self.pos;
        let tag = self.read_u8()?;
        // Fast path: most tags and keys are single-byte tokens.
        if let Some(s) = token::single_byte(tag) {
            return Ok(StrRef::token(s, u16::from(tag)));
        }
        match self.read_value_tagged(tag, offset)? {
            AttrValueRef::Str(s) => Ok(s),
            AttrValueRef::Jid(_) => Err(DecodeError::ExpectedString { offset }),
        }
    }

    pub(crate) fn read_value_tagged(
        &mut self,
        tag: u8,
        offset: usize,
    ) -> Result<AttrValueRef<'a>, DecodeError> {
        Ok(match tag {
            token::LIST_EMPTY => AttrValueRef::Str(StrRef::borrowed("")),
            token::DICTIONARY_0..=token::DICTIONARY_3 => {
                let dict = tag - token::DICTIONARY_0;
                let index = self.read_u8()?;
                let Some(s) = token::double_byte(dict, index) else {
                    return Err(DecodeError::UnknownToken {
                        dict,
                        index,
                        offset,
                    });
                };
                AttrValueRef::Str(StrRef::token(
                    s,
                    256 + u16::from(dict) * 256 + u16::from(index),
                ))
            }
            token::BINARY_8 | token::BINARY_20 | token::BINARY_32 => {
                let len = self.read_len(tag)?;
                let start = self.pos;
                let bytes = self.read_slice(len)?;
                let s = std::str::from_utf8(bytes)
                    .map_err(|_| DecodeError::InvalidUtf8 { offset: start })?;
                AttrValueRef::Str(StrRef::borrowed(s))
            }
            token::NIBBLE_8 | token::HEX_8 => AttrValueRef::Str(self.read_packed(tag)?),
            token::JID_PAIR => {
                let user = self.read_str()?;
                let server = self.read_str()?;
                if server.is_empty() {
                    return Err(DecodeError::InvalidWireJid {
                        offset,
                        reason: "JID pair without server",
                    });
                }
                AttrValueRef::Jid(JidRef {
                    user,
                    server,
                    agent: 0,
                    device: 0,
                    integrator: 0,
                })
            }
            token::AD_JID => {
                let domain = self.read_u8()?;
                let device = u16::from(self.read_u8()?);
                let user = self.read_str()?;
                let (server, agent) = match domain {
                    crate::jid::LID_DOMAIN => ("lid", 0),
                    crate::jid::HOSTED_DOMAIN => ("hosted", 0),
                    crate::jid::HOSTED_LID_DOMAIN => ("hosted.lid", 0),
                    other => ("s.whatsapp.net", other),
                };
                AttrValueRef::Jid(JidRef {
                    user,
                    server: StrRef::borrowed(server),
                    agent,
                    device,
                    integrator: 0,
                })
            }
            token::FB_JID => {
                let user = self.read_str()?;
                let device = self.read_u16()?;
                let server = self.read_str()?;
                if server != "msgr" {
                    return Err(DecodeError::InvalidWireJid {
                        offset,
                        reason: "FB JID server is not msgr",
                    });
                }
                AttrValueRef::Jid(JidRef {
                    user,
                    server,
                    agent: 0,
                    device,
                    integrator: 0,
                })
            }
            token::INTEROP_JID => {
                let user = self.read_str()?;
                let device = self.read_u16()?;
                let integrator = self.read_u16()?;
                let server = self.read_str()?;
                if server != "interop" {
                    return Err(DecodeError::InvalidWireJid {
                        offset,
                        reason: "interop JID server is not interop",
                    });
                }
                AttrValueRef::Jid(JidRef {
                    user,
                    server,
                    agent: 0,
                    device,
                    integrator,
                })
            }
            _ => match token::single_byte(tag) {
                Some(s) => AttrValueRef::Str(StrRef::token(s, u16::from(tag))),
                None => return Err(DecodeError::InvalidTag { tag, offset }),
            },
        })
    }

    /// Reads the list header and the tag of a node; returns (list size, tag).
    pub(crate) fn read_node_head(
        &mut self,
        depth: usize,
    ) -> Result<(usize, StrRef<'a>), DecodeError> {
        if depth > self.max_depth {
            return Err(DecodeError::TooDeep {
                limit: self.max_depth,
            });
        }
        let offset = self.pos;
        let list_tag = self.read_u8()?;
        let size = self.read_list_size(list_tag, offset)?;
        if size == 0 {
            return Err(DecodeError::InvalidNode {
                offset,
                reason: "empty list",
            });
        }
        let tag = self.read_str()?;
        if tag.is_empty() {
            return Err(DecodeError::InvalidNode {
                offset,
                reason: "empty tag",
            });
        }
        let attr_count = (size - 1) / 2;
        if attr_count.saturating_mul(MIN_ATTR_LEN) > self.remaining() {
            return Err(DecodeError::LengthExceedsInput {
                declared: attr_count,
                remaining: self.remaining(),
                offset,
            });
        }
        Ok((size, tag))
    }

    /// Reads a child list header; returns its length, checked against the input left.
    pub(crate) fn read_children_len(
        &mut self,
        tag: u8,
        offset: usize,
    ) -> Result<usize, DecodeError> {
        let n = self.read_list_size(tag, offset)?;
        if n.saturating_mul(MIN_NODE_LEN) > self.remaining() {
            return Err(DecodeError::LengthExceedsInput {
                declared: n,
                remaining: self.remaining(),
                offset,
            });
        }
        Ok(n)
    }

    fn read_node_ref(&mut self, depth: usize) -> Result<NodeRef<'a>, DecodeError> {
        let (size, tag) = self.read_node_head(depth)?;
        let attr_count = (size - 1) / 2;
        let mut attrs = Vec::with_capacity(attr_count);
        for _ in 0..attr_count {
            let key = self.read_str()?;
            let value = self.read_value()?;
            attrs.push((key, value));
        }
        let content = if size % 2 == 0 {
            let offset = self.pos;
            let tag = self.read_u8()?;
            match tag {
                token::LIST_EMPTY | token::LIST_8 | token::LIST_16 => {
                    let n = self.read_children_len(tag, offset)?;
                    let mut children = Vec::with_capacity(n);
                    for _ in 0..n {
                        children.push(self.read_node_ref(depth + 1)?);
                    }
                    ContentRef::Nodes(children)
                }
                token::BINARY_8 | token::BINARY_20 | token::BINARY_32 => {
                    let len = self.read_len(tag)?;
                    ContentRef::Bytes(Cow::Borrowed(self.read_slice(len)?))
                }
                _ => ContentRef::Bytes(match self.read_value_tagged(tag, offset)? {
                    AttrValueRef::Str(s) => match s.into_cow() {
                        Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
                        Cow::Owned(s) => Cow::Owned(s.into_bytes()),
                    },
                    AttrValueRef::Jid(j) => Cow::Owned(j.to_owned().to_string().into_bytes()),
                }),
            }
        } else {
            ContentRef::None
        };
        Ok(NodeRef {
            tag,
            attrs,
            content,
        })
    }
}

/// Locates the first invalid nibble digit (12..=15 other than the padding of an odd string).
#[cold]
pub(crate) fn invalid_digit(bytes: &[u8], odd: bool, offset: usize) -> DecodeError {
    let n = bytes.len();
    for (i, &b) in bytes.iter().enumerate() {
        let (hi, lo) = (b >> 4, b & 0x0f);
        if hi > 11 {
            return DecodeError::InvalidPackedDigit {
                digit: hi,
                offset: offset + i,
            };
        }
        if lo > 11 && !(odd && i + 1 == n) {
            return DecodeError::InvalidPackedDigit {
                digit: lo,
                offset: offset + i,
            };
        }
    }
    // Not reached: `from_packed` only fails on one of the digits above.
    DecodeError::InvalidPackedDigit { digit: 15, offset }
}

/// Single-byte token codes of the servers that are dictionary tokens (checked by a test).
const TOKEN_S_WHATSAPP_NET: u16 = 3;
const TOKEN_BROADCAST: u16 = 13;
const TOKEN_G_US: u16 = 28;
const TOKEN_CALL: u16 = 100;
const TOKEN_LID: u16 = 118;
const TOKEN_MSGR: u16 = 204;

/// The [`Server`] for a decoded server string: by token code when it was a token, else by
/// name (unknown servers are kept verbatim).
#[inline]
pub(crate) fn server_of(s: &StrRef<'_>) -> Server {
    match s.token_code() {
        Some(TOKEN_S_WHATSAPP_NET) => Server::User,
        Some(TOKEN_LID) => Server::Lid,
        Some(TOKEN_G_US) => Server::Group,
        Some(TOKEN_BROADCAST) => Server::Broadcast,
        Some(TOKEN_MSGR) => Server::Messenger,
        Some(TOKEN_CALL) => Server::Call,
        _ => Server::parse(s),
    }
}

pub(crate) fn jid_owned(j: JidRef<'_>) -> Jid {
    let server = server_of(&j.server);
    Jid::new(j.user.into_str(), server)
        .with_agent(j.agent)
        .with_device(j.device)
        .with_integrator(j.integrator)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_token_codes_match_the_dictionary() {
        for (code, server) in [
            (TOKEN_S_WHATSAPP_NET, Server::User),
            (TOKEN_LID, Server::Lid),
            (TOKEN_G_US, Server::Group),
            (TOKEN_BROADCAST, Server::Broadcast),
            (TOKEN_MSGR, Server::Messenger),
            (TOKEN_CALL, Server::Call),
        ] {
            let byte = u8::try_from(code).unwrap();
            let text = token::single_byte(byte).unwrap();
            assert_eq!(text, server.as_str());
            let s = StrRef::token(text, code);
            assert_eq!(server_of(&s), server);
            // The same string not seen as a token resolves by name to the same server.
            assert_eq!(server_of(&StrRef::borrowed(server.as_str())), server);
        }
        assert_eq!(
            server_of(&StrRef::borrowed("example.org")),
            Server::Other("example.org".into())
        );
    }

    #[test]
    fn owned_and_borrowed_decoders_agree_on_jid_values() {
        let node = Node::new("x")
            .attr("a", Jid::new("123", Server::User))
            .attr("b", Jid::new("9", Server::Lid).with_device(3))
            .attr("c", Jid::new("", Server::Group))
            .attr("d", Jid::new("1", Server::Other("example.org".into())))
            .attr(
                "e",
                Jid::new("5", Server::User).with_agent(7).with_device(2),
            )
            .build();
        let bytes = crate::marshal(&node);
        let body = bytes.get(1..).unwrap();
        assert_eq!(unmarshal(body).unwrap(), node);
        assert_eq!(unmarshal_ref(body).unwrap().to_owned(), node);
    }
}
