//! The token dictionaries of WhatsApp's binary XML (dictionary version 3) and the wire tags.
//!
//! Strings that appear in the dictionaries are written as one byte (single-byte tokens) or two
//! bytes (a dictionary tag `0xEC..=0xEF` followed by an index). The reverse lookup from string to
//! token is a static open-addressing hash table built at compile time (`const` evaluation), so
//! the encoder pays one hash of the length and the first and last eight bytes and usually one string comparison per string.

mod dict;

/// Version of the token dictionaries this crate implements.
pub const DICT_VERSION: u8 = 3;

/// Wire tag: an empty list, or an absent/empty string.
pub const LIST_EMPTY: u8 = 0;
/// Wire tag: double-byte token from dictionary 0.
pub const DICTIONARY_0: u8 = 236;
/// Wire tag: double-byte token from dictionary 1.
pub const DICTIONARY_1: u8 = 237;
/// Wire tag: double-byte token from dictionary 2.
pub const DICTIONARY_2: u8 = 238;
/// Wire tag: double-byte token from dictionary 3.
pub const DICTIONARY_3: u8 = 239;
/// Wire tag: interop JID (user, 16-bit device, 16-bit integrator, server).
pub const INTEROP_JID: u8 = 245;
/// Wire tag: Messenger (`msgr`) JID (user, 16-bit device, server).
pub const FB_JID: u8 = 246;
/// Wire tag: AD JID (domain type byte, device byte, user).
pub const AD_JID: u8 = 247;
/// Wire tag: list with an 8-bit size.
pub const LIST_8: u8 = 248;
/// Wire tag: list with a 16-bit big-endian size.
pub const LIST_16: u8 = 249;
/// Wire tag: JID pair (user, server).
pub const JID_PAIR: u8 = 250;
/// Wire tag: hex-packed string (two `0-9A-F` characters per byte).
pub const HEX_8: u8 = 251;
/// Wire tag: binary with an 8-bit length.
pub const BINARY_8: u8 = 252;
/// Wire tag: binary with a 20-bit big-endian length.
pub const BINARY_20: u8 = 253;
/// Wire tag: binary with a 32-bit big-endian length.
pub const BINARY_32: u8 = 254;
/// Wire tag: nibble-packed string (two `0-9 - .` characters per byte).
pub const NIBBLE_8: u8 = 255;
/// Longest string that may be written packed (nibble or hex).
pub const PACKED_MAX: usize = 127;

/// A token found for a string: how the encoder writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Token {
    /// One byte, `1..=235`.
    Single(u8),
    /// A dictionary number `0..=3` and an index byte.
    Double(u8, u8),
}

/// The single-byte token with this byte value, if there is one (`1..=235`).
#[inline]
pub fn single_byte(index: u8) -> Option<&'static str> {
    if index == 0 {
        return None;
    }
    dict::SINGLE_BYTE.get(usize::from(index)).copied()
}

/// The double-byte token at `index` in dictionary `dict` (`0..=3`), if there is one.
#[inline]
pub fn double_byte(dict: u8, index: u8) -> Option<&'static str> {
    dict::DOUBLE_BYTE
        .get(usize::from(dict))
        .and_then(|d| d.get(usize::from(index)))
        .copied()
}

/// Number of single-byte tokens, including the unused index 0.
pub const SINGLE_BYTE_COUNT: usize = dict::SINGLE_BYTE.len();

const TABLE_BITS: u32 = 12;
const TABLE_SIZE: usize = 1 << TABLE_BITS;
const TABLE_MASK: usize = TABLE_SIZE - 1;
/// Longest token, in bytes: longer strings skip the hash entirely.
const MAX_TOKEN_LEN: usize = max_token_len();

/// Hash of a candidate token: length plus the first and last eight bytes, multiplied and
/// folded. Usable in `const` context so the table is built by the compiler; at run time it
/// costs two loads and a multiply for strings of 8+ bytes.
#[inline]
const fn hash(bytes: &[u8]) -> u32 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let (a, b) = match (bytes.first_chunk::<8>(), bytes.last_chunk::<8>()) {
        (Some(first), Some(last)) => (u64::from_le_bytes(*first), u64::from_le_bytes(*last)),
        _ => {
            let mut v = 0u64;
            let mut rest = bytes;
            while let [first, tail @ ..] = rest {
                v = (v << 8) | *first as u64;
                rest = tail;
            }
            (v, 0)
        }
    };
    let h = (a ^ b.rotate_left(23) ^ (bytes.len() as u64).wrapping_mul(K)).wrapping_mul(K);
    (h >> 40) as u32
}

// Evaluated by the compiler only: an out-of-bounds index is a build error, not a panic.
#[allow(clippy::indexing_slicing)]
const fn max_token_len() -> usize {
    let mut max = 0;
    let mut i = 0;
    while i < dict::SINGLE_BYTE.len() {
        if dict::SINGLE_BYTE[i].len() > max {
            max = dict::SINGLE_BYTE[i].len();
        }
        i += 1;
    }
    let mut d = 0;
    while d < dict::DOUBLE_BYTE.len() {
        let mut j = 0;
        while j < 256 {
            if dict::DOUBLE_BYTE[d][j].len() > max {
                max = dict::DOUBLE_BYTE[d][j].len();
            }
            j += 1;
        }
        d += 1;
    }
    max
}

/// Slot encoding: 0 = empty; `1..=255` = single-byte token; `256 + dict * 256 + index` = double.
// Evaluated by the compiler only: an out-of-bounds index is a build error, not a panic.
#[allow(clippy::indexing_slicing)]
const fn insert(table: &mut [u16; TABLE_SIZE], s: &str, code: u16) {
    let mut slot = (hash(s.as_bytes()) as usize) & TABLE_MASK;
    while table[slot] != 0 {
        slot = (slot + 1) & TABLE_MASK;
    }
    table[slot] = code;
}

// Evaluated by the compiler only: an out-of-bounds index is a build error, not a panic.
#[allow(clippy::indexing_slicing)]
const fn build_table() -> [u16; TABLE_SIZE] {
    let mut table = [0u16; TABLE_SIZE];
    let mut i = 1;
    while i < dict::SINGLE_BYTE.len() {
        insert(&mut table, dict::SINGLE_BYTE[i], i as u16);
        i += 1;
    }
    let mut d = 0;
    while d < dict::DOUBLE_BYTE.len() {
        let mut j = 0;
        while j < 256 {
            insert(
                &mut table,
                dict::DOUBLE_BYTE[d][j],
                (256 + d * 256 + j) as u16,
            );
            j += 1;
        }
        d += 1;
    }
    table
}

static TABLE: [u16; TABLE_SIZE] = build_table();

#[inline]
fn decode_code(code: u16) -> Option<(Token, &'static str)> {
    if code < 256 {
        let index = code as u8;
        single_byte(index).map(|s| (Token::Single(index), s))
    } else {
        let rest = code - 256;
        let dict = (rest >> 8) as u8;
        let index = (rest & 0xff) as u8;
        double_byte(dict, index).map(|s| (Token::Double(dict, index), s))
    }
}

/// Finds the token for a string, as the encoder does before trying packed or raw forms.
///
/// Single-byte tokens win over double-byte ones (the dictionaries have no duplicates).
#[inline]
pub fn lookup(s: &str) -> Option<Token> {
    lookup_bytes(s.as_bytes())
}

/// [`lookup`] on the bytes of a string.
#[inline]
pub(crate) fn lookup_bytes(s: &[u8]) -> Option<Token> {
    if s.is_empty() || s.len() > MAX_TOKEN_LEN {
        return None;
    }
    let mut slot = (hash(s) as usize) & TABLE_MASK;
    loop {
        let code = *TABLE.get(slot)?;
        if code == 0 {
            return None;
        }
        if let Some((token, text)) = decode_code(code)
            && text.as_bytes() == s
        {
            return Some(token);
        }
        slot = (slot + 1) & TABLE_MASK;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_token_looks_up_to_itself() {
        for i in 1..=255u8 {
            if let Some(s) = single_byte(i) {
                assert_eq!(lookup(s), Some(Token::Single(i)), "{s}");
            }
        }
        for d in 0..4u8 {
            for i in 0..=255u8 {
                let s = double_byte(d, i).unwrap();
                assert_eq!(lookup(s), Some(Token::Double(d, i)), "{s}");
            }
        }
    }

    #[test]
    fn dictionary_shape() {
        assert_eq!(SINGLE_BYTE_COUNT, 236);
        assert_eq!(single_byte(0), None);
        assert_eq!(single_byte(3), Some("s.whatsapp.net"));
        assert_eq!(single_byte(236), None);
        assert_eq!(double_byte(0, 0), Some("read-self"));
        assert_eq!(double_byte(4, 0), None);
    }

    #[test]
    fn non_tokens_are_not_found() {
        for s in ["", "nope-not-a-token", "S.WHATSAPP.NET", "iq ", "x"] {
            assert_eq!(lookup(s), None, "{s}");
        }
        assert_eq!(lookup(&"a".repeat(500)), None);
    }
}
