//! [`StrRef`]: the string type of borrowed nodes.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use crate::string::{INLINE, Str};

/// The two characters of every nibble-packed byte (`0x80` marks digits 12..=15).
pub(crate) static NIBBLE_PAIRS: [[u8; 2]; 256] = pairs(b"0123456789-.\x80\x80\x80\x80");
/// The two characters of every hex-packed byte.
pub(crate) static HEX_PAIRS: [[u8; 2]; 256] = pairs(b"0123456789ABCDEF");

/// [`NIBBLE_PAIRS`] as little-endian words (first character in the low byte).
pub(crate) static NIBBLE_WORDS: [u16; 256] = words(&NIBBLE_PAIRS);
/// [`HEX_PAIRS`] as little-endian words (first character in the low byte).
pub(crate) static HEX_WORDS: [u16; 256] = words(&HEX_PAIRS);

// Evaluated by the compiler only: an out-of-bounds index is a build error, not a panic.
#[allow(clippy::indexing_slicing)]
const fn words(pairs: &[[u8; 2]; 256]) -> [u16; 256] {
    let mut out = [0u16; 256];
    let mut b = 0;
    while b < 256 {
        out[b] = u16::from_le_bytes(pairs[b]);
        b += 1;
    }
    out
}

// Evaluated by the compiler only: an out-of-bounds index is a build error, not a panic.
#[allow(clippy::indexing_slicing)]
const fn pairs(digits: &[u8; 16]) -> [[u8; 2]; 256] {
    let mut out = [[0u8; 2]; 256];
    let mut b = 0;
    while b < 256 {
        out[b] = [digits[b >> 4], digits[b & 0x0f]];
        b += 1;
    }
    out
}

/// A string in a [`NodeRef`](crate::NodeRef): borrowed from the frame or a token dictionary,
/// or, for nibble/hex-packed strings, decoded inline (up to 22 bytes) or on the heap.
///
/// It dereferences to `str`, compares with `str`, and converts to `String` with
/// [`StrRef::into_owned`].
#[derive(Clone)]
pub struct StrRef<'a>(Repr<'a>);

#[derive(Clone)]
enum Repr<'a> {
    Borrowed(&'a str),
    /// A dictionary token and its code (see [`Str`]).
    Static {
        s: &'static str,
        code: u16,
    },
    Inline {
        len: u8,
        buf: [u8; INLINE],
    },
    Owned(Box<str>),
}

impl<'a> StrRef<'a> {
    /// A borrowed string.
    pub const fn borrowed(s: &'a str) -> Self {
        Self(Repr::Borrowed(s))
    }

    /// A dictionary token with its code.
    #[inline]
    pub(crate) const fn token(s: &'static str, code: u16) -> Self {
        Self(Repr::Static { s, code })
    }

    /// The token code the decoder recorded, if this is a dictionary token.
    #[inline]
    pub(crate) fn token_code(&self) -> Option<u16> {
        match self.0 {
            Repr::Static { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The owned [`Str`]: tokens stay static, packed strings stay inline, strings borrowed
    /// from the frame are copied (inline up to 22 bytes).
    #[inline]
    pub fn to_str(&self) -> Str {
        match &self.0 {
            Repr::Borrowed(s) => Str::copy(s),
            Repr::Static { s, code } => Str::token(s, *code),
            Repr::Inline { len, buf } => Str::inline_ascii(*len, *buf),
            Repr::Owned(s) => Str::from(s.clone()),
        }
    }

    /// The owned [`Str`], reusing a heap string.
    #[inline]
    pub fn into_str(self) -> Str {
        match self.0 {
            Repr::Owned(s) => Str::from(s),
            other => StrRef(other).to_str(),
        }
    }

    /// Decodes a packed (nibble or hex) string: each input byte gives two characters from
    /// `pairs` (indexed by the byte: high nibble's character first); the result is cut to `len`
    /// characters, `len <= 2 * packed.len()`. `pairs` holds ASCII for valid digits and `0x80`
    /// for invalid ones; `None` when a kept character is invalid (the caller then locates the
    /// bad digit).
    #[inline]
    pub(crate) fn from_packed(packed: &[u8], pairs: &[[u8; 2]; 256], len: usize) -> Option<Self> {
        let pair_at = |b: u8| pairs.get(usize::from(b)).copied().unwrap_or([0x80; 2]);
        if len <= INLINE {
            let mut buf = [0u8; INLINE];
            for (b, out) in packed.iter().zip(buf.chunks_exact_mut(2)) {
                if let [hi, lo] = out {
                    [*hi, *lo] = pair_at(*b);
                }
            }
            let kept = buf.get(..len).unwrap_or_default();
            if kept.iter().fold(0, |acc, c| acc | c) & 0x80 != 0 {
                return None;
            }
            Some(Self(Repr::Inline {
                len: len as u8,
                buf,
            }))
        } else {
            let mut v = Vec::with_capacity(2 * packed.len());
            for b in packed {
                v.extend_from_slice(&pair_at(*b));
            }
            v.truncate(len);
            // Only ASCII is left once no invalid marker is kept.
            String::from_utf8(v)
                .ok()
                .map(|s| Self(Repr::Owned(s.into_boxed_str())))
        }
    }

    /// The string.
    #[inline]
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Borrowed(s) => s,
            Repr::Static { s, .. } => s,
            // Only ASCII is ever stored inline, so the conversion cannot fail.
            Repr::Inline { len, buf } => {
                std::str::from_utf8(buf.get(..usize::from(*len)).unwrap_or_default())
                    .unwrap_or_default()
            }
            Repr::Owned(s) => s,
        }
    }

    /// The owned `String`.
    pub fn into_owned(self) -> String {
        match self.0 {
            Repr::Owned(s) => s.into_string(),
            other => StrRef(other).as_str().to_owned(),
        }
    }

    /// The string as a `Cow`, borrowed when it points into the frame or a dictionary.
    pub fn into_cow(self) -> std::borrow::Cow<'a, str> {
        match self.0 {
            Repr::Borrowed(s) => std::borrow::Cow::Borrowed(s),
            Repr::Static { s, .. } => std::borrow::Cow::Borrowed(s),
            other => std::borrow::Cow::Owned(StrRef(other).into_owned()),
        }
    }

    /// True when the string points into the frame or a token dictionary.
    pub fn is_borrowed(&self) -> bool {
        matches!(self.0, Repr::Borrowed(_) | Repr::Static { .. })
    }
}

impl Default for StrRef<'_> {
    fn default() -> Self {
        Self::borrowed("")
    }
}

impl Deref for StrRef<'_> {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for StrRef<'_> {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for StrRef<'_> {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl<'a> From<&'a str> for StrRef<'a> {
    fn from(s: &'a str) -> Self {
        Self::borrowed(s)
    }
}

impl From<String> for StrRef<'_> {
    fn from(s: String) -> Self {
        Self(Repr::Owned(s.into_boxed_str()))
    }
}

impl PartialEq for StrRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for StrRef<'_> {}

impl PartialEq<str> for StrRef<'_> {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for StrRef<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Hash for StrRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for StrRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for StrRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_heap_and_borrowed_agree() {
        let table = &NIBBLE_PAIRS;
        for len in [0usize, 1, 21, 22, 23, 24, 254] {
            let n = len.div_ceil(2);
            let packed: Vec<u8> = (0..n)
                .map(|i| (((2 * i) % 10) as u8) << 4 | ((2 * i + 1) % 10) as u8)
                .collect();
            let s = StrRef::from_packed(&packed, table, len).unwrap();
            let expected: String = (0..len)
                .map(|i| char::from(b'0' + (i % 10) as u8))
                .collect();
            assert_eq!(s.as_str(), expected);
            assert!(!s.is_borrowed());
            assert_eq!(s.clone().into_owned(), expected);
            assert_eq!(s, StrRef::borrowed(&expected));
        }
    }
}

#[cfg(test)]
mod size_tests {
    #[test]
    fn small() {
        assert_eq!(std::mem::size_of::<super::StrRef<'static>>(), 24);
    }
}
