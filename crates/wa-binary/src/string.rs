//! [`Str`]: the string type of owned nodes (tags, attribute keys and values, JID users).

use std::borrow::{Borrow, Cow};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// Longest string held inline, without a heap allocation.
pub(crate) const INLINE: usize = 22;

/// An immutable string that avoids the heap for the strings stanzas are made of.
///
/// * dictionary tokens (every tag and key the decoder meets, most enum-like values) borrow the
///   `&'static str` of the dictionary and remember their token code, so the encoder writes them
///   without a table lookup;
/// * strings of up to 22 bytes (phone numbers, LIDs, ids, timestamps) are stored inline;
/// * longer strings live in a `Box<str>`.
///
/// It is 24 bytes, dereferences to `str`, compares, hashes and orders exactly like `str`
/// (whatever its representation), and converts from `&str`, `String`, `&String`, `Box<str>` and
/// `Cow<str>` (copying borrowed input; short strings are then stored inline).
///
/// ```
/// use wa_binary::Str;
/// let tag = Str::from("iq");
/// assert_eq!(tag, "iq");
/// assert_eq!(tag.as_str(), "iq");
/// assert!(matches!(tag.as_str(), "iq" | "message"));
/// assert_eq!(Str::from_static("iq"), tag);
/// assert_eq!(Str::from(String::from("a long string that is not stored inline")).len(), 39);
/// ```
#[derive(Clone)]
pub struct Str(Repr);

#[derive(Clone)]
enum Repr {
    /// A static string; `code` is its token code (see [`crate::token`]) or 0 when unknown.
    Static { s: &'static str, code: u16 },
    /// Up to [`INLINE`] bytes of UTF-8 (checked on construction).
    Inline { len: u8, buf: [u8; INLINE] },
    /// A longer string.
    Heap(Box<str>),
}

impl Str {
    /// The empty string.
    pub const fn new() -> Self {
        Self::from_static("")
    }

    /// A static string, borrowed without copying.
    pub const fn from_static(s: &'static str) -> Self {
        Self(Repr::Static { s, code: 0 })
    }

    /// A dictionary token with its code (`1..=255` single-byte, `256 + dict * 256 + index`).
    #[inline]
    pub(crate) const fn token(s: &'static str, code: u16) -> Self {
        Self(Repr::Static { s, code })
    }

    /// The token code the decoder recorded, if any.
    #[inline]
    pub(crate) fn token_code(&self) -> Option<u16> {
        match self.0 {
            Repr::Static { code, .. } if code != 0 => Some(code),
            _ => None,
        }
    }

    /// A copy of `s`: inline when it fits, else on the heap.
    #[inline]
    pub(crate) fn copy(s: &str) -> Self {
        match inline(s.as_bytes()) {
            Some(repr) => Self(repr),
            None => Self(Repr::Heap(s.into())),
        }
    }

    /// Inline bytes that the caller guarantees to be ASCII (packed strings), `len <= INLINE`.
    #[inline]
    pub(crate) fn inline_ascii(len: u8, buf: [u8; INLINE]) -> Self {
        Self(Repr::Inline { len, buf })
    }

    /// Decodes a packed (nibble or hex) string straight into a `Str`: each input byte gives
    /// two characters from `words` (indexed by the byte, first character in the low byte); the
    /// result is cut to `len` characters, `len <= 2 * packed.len()`. `words` holds ASCII for
    /// valid digits and `0x80` for invalid ones; `None` when a kept character is invalid.
    ///
    /// Strings of up to [`INLINE`] characters (at most 11 packed bytes) are assembled in two
    /// integers and stored with two wide writes, which keeps them out of the byte-at-a-time
    /// stores that stall the wide loads moving the value afterwards.
    #[inline(always)]
    pub(crate) fn from_packed(packed: &[u8], words: &[u16; 256], len: usize) -> Option<Self> {
        let word = |b: u8| words.get(usize::from(b)).copied().unwrap_or(0x8080);
        if len > INLINE {
            return Self::from_packed_heap(packed, words, len);
        }
        // `len <= 22` and `len >= 2 * packed.len() - 1`, so at most 11 packed bytes: eight
        // in `lo` (characters 0..16), three in `hi` (characters 16..22).
        let (first, rest) = packed.split_at(packed.len().min(8));
        let mut lo = 0u128;
        for (i, &b) in first.iter().enumerate() {
            lo |= u128::from(word(b)) << (16 * i);
        }
        let mut hi = 0u64;
        for (i, &b) in rest.iter().take(3).enumerate() {
            hi |= u64::from(word(b)) << (16 * i);
        }
        // Drop the characters past `len` (the padding digit of an odd-length string).
        lo &= u128::MAX
            .checked_shr(128 - 8 * len.min(16) as u32)
            .unwrap_or(0);
        hi &= u64::MAX
            .checked_shr(64 - 8 * len.saturating_sub(16) as u32)
            .unwrap_or(0);
        if lo & 0x8080_8080_8080_8080_8080_8080_8080_8080 != 0 || hi & 0x8080_8080_8080 != 0 {
            return None;
        }
        let mut buf = [0u8; INLINE];
        let (a, b) = buf.split_at_mut(16);
        a.copy_from_slice(&lo.to_le_bytes());
        let hi = hi.to_le_bytes();
        let (h, _) = hi.split_at(INLINE - 16);
        b.copy_from_slice(h);
        Some(Self(Repr::Inline {
            len: len as u8,
            buf,
        }))
    }

    /// [`Str::from_packed`] for strings longer than [`INLINE`].
    #[inline(never)]
    fn from_packed_heap(packed: &[u8], words: &[u16; 256], len: usize) -> Option<Self> {
        let mut v = Vec::with_capacity(2 * packed.len());
        for &b in packed {
            let w = words.get(usize::from(b)).copied().unwrap_or(0x8080);
            v.extend_from_slice(&w.to_le_bytes());
        }
        v.truncate(len);
        // Only ASCII is left once no invalid marker is kept.
        String::from_utf8(v).ok().map(Self::from)
    }

    /// The string.
    #[inline]
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Static { s, .. } => s,
            // Inline bytes are valid UTF-8 by construction; the fallback is never taken.
            Repr::Inline { len, buf } => {
                std::str::from_utf8(buf.get(..usize::from(*len)).unwrap_or_default())
                    .unwrap_or_default()
            }
            Repr::Heap(s) => s,
        }
    }

    /// The bytes of the string (no UTF-8 check needed).
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Static { s, .. } => s.as_bytes(),
            Repr::Inline { len, buf } => buf.get(..usize::from(*len)).unwrap_or_default(),
            Repr::Heap(s) => s.as_bytes(),
        }
    }

    /// Length in bytes (without a UTF-8 check).
    #[inline]
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Static { s, .. } => s.len(),
            Repr::Inline { len, .. } => usize::from(*len),
            Repr::Heap(s) => s.len(),
        }
    }

    /// True for the empty string.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The string as an owned `String`.
    pub fn into_string(self) -> String {
        match self.0 {
            Repr::Heap(s) => s.into_string(),
            other => Str(other).as_str().to_owned(),
        }
    }

    /// True when the string is held without a heap allocation.
    pub fn is_heap_free(&self) -> bool {
        !matches!(self.0, Repr::Heap(_))
    }
}

#[inline]
fn inline(bytes: &[u8]) -> Option<Repr> {
    if bytes.len() > INLINE {
        return None;
    }
    let mut buf = [0u8; INLINE];
    buf.get_mut(..bytes.len())?.copy_from_slice(bytes);
    Some(Repr::Inline {
        len: bytes.len() as u8,
        buf,
    })
}

impl Default for Str {
    fn default() -> Self {
        Self::new()
    }
}

impl Deref for Str {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Str {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for Str {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Borrow<str> for Str {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for Str {
    #[inline]
    fn from(s: &str) -> Self {
        Self::copy(s)
    }
}

impl From<&String> for Str {
    fn from(s: &String) -> Self {
        Self::copy(s)
    }
}

impl From<&Str> for Str {
    fn from(s: &Str) -> Self {
        s.clone()
    }
}

impl From<String> for Str {
    fn from(s: String) -> Self {
        match inline(s.as_bytes()) {
            Some(repr) => Self(repr),
            None => Self(Repr::Heap(s.into_boxed_str())),
        }
    }
}

impl From<Box<str>> for Str {
    fn from(s: Box<str>) -> Self {
        Self(Repr::Heap(s))
    }
}

impl From<Cow<'_, str>> for Str {
    fn from(s: Cow<'_, str>) -> Self {
        match s {
            Cow::Borrowed(s) => Self::copy(s),
            Cow::Owned(s) => Self::from(s),
        }
    }
}

impl From<char> for Str {
    fn from(c: char) -> Self {
        Self::copy(c.encode_utf8(&mut [0u8; 4]))
    }
}

impl From<Str> for String {
    fn from(s: Str) -> Self {
        s.into_string()
    }
}

impl PartialEq for Str {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Str {}

impl PartialEq<str> for Str {
    #[inline]
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for Str {
    #[inline]
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<String> for Str {
    fn eq(&self, other: &String) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<Str> for str {
    fn eq(&self, other: &Str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<Str> for &str {
    fn eq(&self, other: &Str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<Str> for String {
    fn eq(&self, other: &Str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialOrd for Str {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Str {
    /// Byte order, as `str`.
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl Hash for Str {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::DefaultHasher;

    fn hash_of<T: Hash + ?Sized>(v: &T) -> u64 {
        let mut h = DefaultHasher::new();
        v.hash(&mut h);
        h.finish()
    }

    #[test]
    fn representations_agree() {
        let long = "x".repeat(INLINE + 1);
        for s in ["", "iq", "é€😀", &"y".repeat(INLINE), long.as_str()] {
            let copied = Str::from(s);
            let owned = Str::from(s.to_owned());
            assert_eq!(copied.as_str(), s);
            assert_eq!(copied.as_bytes(), s.as_bytes());
            assert_eq!(copied, owned);
            assert_eq!(copied, s);
            assert_eq!(s, copied);
            assert_eq!(copied, s.to_owned());
            assert_eq!(hash_of(&copied), hash_of(s));
            assert_eq!(copied.is_heap_free(), s.len() <= INLINE);
            assert_eq!(copied.clone().into_string(), s);
        }
        let stat = Str::from_static("iq");
        assert_eq!(stat, Str::from("iq"));
        assert_eq!(hash_of(&stat), hash_of(&Str::from("iq")));
        assert_eq!(stat.token_code(), None);
        assert_eq!(Str::token("iq", 5).token_code(), Some(5));
        assert_eq!(Str::from(Box::<str>::from(&*long)), long.as_str());
        assert_eq!(Str::from(Cow::Borrowed("ab")), "ab");
        assert_eq!(Str::from('é'), "é");
        assert_eq!(
            Str::from("a").cmp(&Str::from(long.as_str())),
            Ordering::Less
        );
        assert_eq!(Str::default(), "");
    }

    #[test]
    fn is_24_bytes() {
        assert_eq!(std::mem::size_of::<Str>(), 24);
        assert_eq!(std::mem::size_of::<Option<Str>>(), 24);
    }
}
