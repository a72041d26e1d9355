//! [`StrRef`]: the string type of borrowed nodes.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// Longest decoded packed string held inline, without a heap allocation.
const INLINE: usize = 22;

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
    Inline { len: u8, buf: [u8; INLINE] },
    Owned(String),
}

impl<'a> StrRef<'a> {
    /// A borrowed string.
    pub const fn borrowed(s: &'a str) -> Self {
        Self(Repr::Borrowed(s))
    }

    /// Builds a string from ASCII bytes produced by `fill`, inline when `len` fits.
    /// `fill` writes exactly `len` bytes through the callback it is given.
    pub(crate) fn from_ascii(len: usize, fill: impl FnOnce(&mut dyn FnMut(u8))) -> Self {
        if len <= INLINE {
            let mut buf = [0u8; INLINE];
            let mut slots = buf.iter_mut();
            fill(&mut |b| {
                if let Some(slot) = slots.next() {
                    *slot = b;
                }
            });
            Self(Repr::Inline {
                len: len as u8,
                buf,
            })
        } else {
            let mut s = String::with_capacity(len);
            fill(&mut |b| s.push(char::from(b)));
            Self(Repr::Owned(s))
        }
    }

    /// The string.
    #[inline]
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Borrowed(s) => s,
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
            Repr::Owned(s) => s,
            other => StrRef(other).as_str().to_owned(),
        }
    }

    /// The string as a `Cow`, borrowed when it points into the frame or a dictionary.
    pub fn into_cow(self) -> std::borrow::Cow<'a, str> {
        match self.0 {
            Repr::Borrowed(s) => std::borrow::Cow::Borrowed(s),
            other => std::borrow::Cow::Owned(StrRef(other).into_owned()),
        }
    }

    /// True when the string points into the frame or a token dictionary.
    pub fn is_borrowed(&self) -> bool {
        matches!(self.0, Repr::Borrowed(_))
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
        Self(Repr::Owned(s))
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
        for len in [0usize, 1, 21, 22, 23, 254] {
            let s = StrRef::from_ascii(len, |w| (0..len).for_each(|i| w(b'0' + (i % 10) as u8)));
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
        assert!(std::mem::size_of::<super::StrRef<'static>>() <= 32);
    }
}
