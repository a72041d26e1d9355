//! The owned decoder ([`unmarshal`](crate::unmarshal)): WhatsApp binary XML straight into
//! [`Node`], without the borrowed intermediate of [`NodeRef`](crate::NodeRef).
//!
//! Strings go straight into [`Str`]: dictionary tokens as static strings with their code,
//! nibble- and hex-packed strings unpacked into inline storage, JID servers resolved from their
//! token code. Everything else (raw strings, rare JID forms, content that is not bytes or a
//! child list) goes through the shared [`Reader`] primitives, so bounds checks, error values
//! and the depth cap are the borrowed decoder's.

use crate::DecodeError;
use crate::decode::{AttrValueRef, Reader, invalid_digit, jid_owned, server_of};
use crate::jid::{Jid, Server};
use crate::node::{AttrValue, Attrs, Content, Node};
use crate::string::Str;
use crate::strref::{HEX_WORDS, NIBBLE_WORDS};
use crate::token;

/// Single-byte token codes of the servers that are dictionary tokens (checked by a test in
/// `decode.rs` through `server_of`).
const TOKEN_S_WHATSAPP_NET: u8 = 3;
const TOKEN_G_US: u8 = 28;
const TOKEN_LID: u8 = 118;

impl Reader<'_> {
    /// A string (tag, key, value or JID user) straight into a [`Str`].
    #[inline(always)]
    fn read_str_owned(&mut self) -> Result<Str, DecodeError> {
        let offset = self.pos;
        let tag = self.read_u8()?;
        if let Some(s) = token::single_byte(tag) {
            return Ok(Str::token(s, u16::from(tag)));
        }
        match tag {
            token::NIBBLE_8 | token::HEX_8 => self.read_packed_owned(tag),
            _ => match self.read_value_tagged(tag, offset)? {
                AttrValueRef::Str(s) => Ok(s.into_str()),
                AttrValueRef::Jid(_) => Err(DecodeError::ExpectedString { offset }),
            },
        }
    }

    /// A nibble- or hex-packed string (after its tag byte) into a [`Str`].
    #[inline(always)]
    fn read_packed_owned(&mut self, tag: u8) -> Result<Str, DecodeError> {
        let start = self.read_u8()?;
        let n = usize::from(start & 0x7f);
        let odd = start & 0x80 != 0;
        let offset = self.pos;
        let bytes = self.read_slice(n)?;
        let words = if tag == token::NIBBLE_8 {
            &NIBBLE_WORDS
        } else {
            &HEX_WORDS
        };
        let len = 2 * n - usize::from(odd && n > 0);
        match Str::from_packed(bytes, words, len) {
            Some(s) => Ok(s),
            None => Err(invalid_digit(bytes, odd, offset)),
        }
    }

    /// The server of a JID pair: the common servers straight from their token byte.
    #[inline(always)]
    fn read_server(&mut self, offset: usize) -> Result<Server, DecodeError> {
        let server = match self.data.get(self.pos).copied() {
            Some(TOKEN_S_WHATSAPP_NET) => Server::User,
            Some(TOKEN_LID) => Server::Lid,
            Some(TOKEN_G_US) => Server::Group,
            _ => {
                let s = self.read_str()?;
                if s.is_empty() {
                    return Err(DecodeError::InvalidWireJid {
                        offset,
                        reason: "JID pair without server",
                    });
                }
                return Ok(server_of(&s));
            }
        };
        self.pos += 1;
        Ok(server)
    }

    /// Reads an attribute value and appends `(key, value)` to `attrs`. Each form pushes the
    /// value it builds, so that the compiler can write it straight into the vector instead of
    /// assembling one enum of every form on the stack and copying it (a copy that stalls on
    /// store forwarding).
    #[inline(always)]
    fn push_attr_owned(&mut self, attrs: &mut Attrs, key: Str) -> Result<(), DecodeError> {
        let offset = self.pos;
        let tag = self.read_u8()?;
        if let Some(s) = token::single_byte(tag) {
            attrs.push_raw(key, AttrValue::Str(Str::token(s, u16::from(tag))));
            return Ok(());
        }
        match tag {
            token::NIBBLE_8 | token::HEX_8 => {
                let s = self.read_packed_owned(tag)?;
                attrs.push_raw(key, AttrValue::Str(s));
            }
            token::JID_PAIR => {
                let user = self.read_str_owned()?;
                let server = self.read_server(offset)?;
                attrs.push_raw(key, AttrValue::Jid(Jid::new(user, server)));
            }
            token::AD_JID => {
                let domain = self.read_u8()?;
                let device = u16::from(self.read_u8()?);
                let user = self.read_str_owned()?;
                attrs.push_raw(key, AttrValue::Jid(Jid::new_ad(user, domain, device)));
            }
            _ => {
                let value = match self.read_value_tagged(tag, offset)? {
                    AttrValueRef::Str(s) => AttrValue::Str(s.into_str()),
                    AttrValueRef::Jid(j) => AttrValue::Jid(jid_owned(j)),
                };
                attrs.push_raw(key, value);
            }
        }
        Ok(())
    }

    /// [`Reader::read_node_head`] with the tag read straight into a [`Str`]: the same checks
    /// in the same order, so the same errors.
    #[inline(always)]
    fn read_node_head_owned(&mut self, depth: usize) -> Result<(usize, Str), DecodeError> {
        if depth > self.max_depth {
            return Err(DecodeError::TooDeep {
                limit: self.max_depth,
            });
        }
        let offset = self.pos;
        let list_tag = self.read_u8()?;
        let size = match list_tag {
            token::LIST_8 => usize::from(self.read_u8()?),
            token::LIST_16 => usize::from(self.read_u16()?),
            _ => return Err(self.bad_list_head(list_tag, offset)),
        };
        if size == 0 {
            return Err(empty_list(offset));
        }
        let tag = self.read_str_owned()?;
        if tag.is_empty() {
            return Err(DecodeError::InvalidNode {
                offset,
                reason: "empty tag",
            });
        }
        let attr_count = (size - 1) / 2;
        let remaining = self.data.len().saturating_sub(self.pos);
        if attr_count.saturating_mul(2) > remaining {
            return Err(DecodeError::LengthExceedsInput {
                declared: attr_count,
                remaining,
                offset,
            });
        }
        Ok((size, tag))
    }

    /// The error for a node header that is not `LIST_8`/`LIST_16` (what the shared header
    /// reader reports for the same bytes).
    #[cold]
    #[inline(never)]
    fn bad_list_head(&mut self, list_tag: u8, offset: usize) -> DecodeError {
        match list_tag {
            token::LIST_EMPTY => empty_list(offset),
            tag => DecodeError::InvalidTag { tag, offset },
        }
    }

    /// Appends the `count` attributes of a node to `attrs`. Not inlined into the recursive
    /// node reader, so that the locals of the inlined value readers stay off the stack frame of
    /// every nesting level; `attrs` is an out-parameter so that the vector is not returned
    /// through memory right before it is read again.
    #[inline(never)]
    fn read_attrs_owned(&mut self, attrs: &mut Attrs, count: usize) -> Result<(), DecodeError> {
        for _ in 0..count {
            // Keys are nearly always one-byte tokens: that case gets its own copy of the value
            // reader, so the key is built straight into the vector as well.
            let token = self
                .data
                .get(self.pos)
                .copied()
                .and_then(|tag| token::single_byte(tag).map(|s| Str::token(s, u16::from(tag))));
            match token {
                Some(key) => {
                    self.pos += 1;
                    self.push_attr_owned(attrs, key)?;
                }
                None => {
                    let key = self.read_str_owned()?;
                    self.push_attr_owned(attrs, key)?;
                }
            }
        }
        Ok(())
    }

    /// One node and its subtree (the top-level node of a frame).
    pub(crate) fn read_node_owned(&mut self, depth: usize) -> Result<Node, DecodeError> {
        self.read_node_body(depth)
    }

    /// One child node and its subtree, appended to `out`: the node is built and stored in
    /// the same function instead of being returned through memory to the parent's loop.
    #[inline(never)]
    fn read_child_owned(&mut self, depth: usize, out: &mut Vec<Node>) -> Result<(), DecodeError> {
        let node = self.read_node_body(depth)?;
        out.push(node);
        Ok(())
    }

    /// The node reader shared by [`Reader::read_node_owned`] and [`Reader::read_child_owned`].
    #[inline(always)]
    fn read_node_body(&mut self, depth: usize) -> Result<Node, DecodeError> {
        let (size, tag) = self.read_node_head_owned(depth)?;
        let attr_count = (size - 1) / 2;
        let mut attrs = Attrs::with_capacity(attr_count);
        self.read_attrs_owned(&mut attrs, attr_count)?;
        let content = if size % 2 == 0 {
            let offset = self.pos;
            let tag = self.read_u8()?;
            match tag {
                token::LIST_EMPTY | token::LIST_8 | token::LIST_16 => {
                    let n = self.read_children_len(tag, offset)?;
                    let mut children = Vec::with_capacity(n);
                    for _ in 0..n {
                        self.read_child_owned(depth + 1, &mut children)?;
                    }
                    Content::Nodes(children)
                }
                token::BINARY_8 | token::BINARY_20 | token::BINARY_32 => {
                    let len = self.read_len(tag)?;
                    Content::Bytes(self.read_slice(len)?.to_vec())
                }
                _ => Content::Bytes(match self.read_value_tagged(tag, offset)? {
                    AttrValueRef::Str(s) => s.into_owned().into_bytes(),
                    AttrValueRef::Jid(j) => jid_owned(j).to_string().into_bytes(),
                }),
            }
        } else {
            Content::None
        };
        Ok(Node {
            tag,
            attrs,
            content,
        })
    }
}

#[cold]
fn empty_list(offset: usize) -> DecodeError {
    DecodeError::InvalidNode {
        offset,
        reason: "empty list",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strref::{HEX_PAIRS, NIBBLE_PAIRS, StrRef};

    #[test]
    fn server_token_bytes_match_the_dictionary() {
        for (code, server) in [
            (TOKEN_S_WHATSAPP_NET, Server::User),
            (TOKEN_LID, Server::Lid),
            (TOKEN_G_US, Server::Group),
        ] {
            assert_eq!(token::single_byte(code), Some(server.as_str()));
        }
    }

    /// The word unpacker agrees with the byte-pair one on every length and on invalid digits
    /// at every position, padding included.
    #[test]
    fn packed_words_match_pairs() {
        let mut seed = 0x1234_5678_u32;
        for n in 0..=13usize {
            for odd in [false, true] {
                if odd && n == 0 {
                    continue;
                }
                let len = 2 * n - usize::from(odd);
                for round in 0..64 {
                    let packed: Vec<u8> = (0..n)
                        .map(|_| {
                            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                            let b = (seed >> 16) as u8;
                            // Mostly valid nibble digits, sometimes an invalid one.
                            if round % 4 == 0 { b } else { b & 0xBB }
                        })
                        .collect();
                    for (pairs, words) in [(&NIBBLE_PAIRS, &NIBBLE_WORDS), (&HEX_PAIRS, &HEX_WORDS)]
                    {
                        let want = StrRef::from_packed(&packed, pairs, len).map(|s| s.to_str());
                        let got = Str::from_packed(&packed, words, len);
                        assert_eq!(got, want, "n={n} odd={odd} packed={packed:02x?}");
                        if let Some(s) = got {
                            assert_eq!(s.len(), len);
                            assert_eq!(s.is_heap_free(), len <= crate::string::INLINE);
                        }
                    }
                }
            }
        }
    }
}
