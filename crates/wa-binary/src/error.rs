//! The crate's error type.

use std::fmt;

/// Everything that can go wrong in this crate: decoding frames and nodes, parsing JIDs,
/// reading typed attributes and (for [`try_marshal`](crate::try_marshal)) encoding.
///
/// Bad input always ends here; the codec never panics on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The frame was empty: there is no flags byte.
    #[error("empty frame: missing flags byte")]
    EmptyFrame,
    /// The input ended while `needed` more bytes were expected at `offset`.
    #[error("unexpected end of data at offset {offset}: {needed} more byte(s) needed")]
    UnexpectedEof {
        /// Where the read started.
        offset: usize,
        /// How many bytes the read needed.
        needed: usize,
    },
    /// A byte that is not a valid tag in this position.
    #[error("invalid tag {tag:#04x} at offset {offset}")]
    InvalidTag {
        /// The tag byte.
        tag: u8,
        /// Where it was found.
        offset: usize,
    },
    /// A double-byte token reference outside the dictionaries.
    #[error("unknown double-byte token {dict}/{index} at offset {offset}")]
    UnknownToken {
        /// Dictionary number.
        dict: u8,
        /// Index in the dictionary.
        index: u8,
        /// Where it was found.
        offset: usize,
    },
    /// A nibble or hex digit outside its alphabet.
    #[error("invalid packed digit {digit:#x} at offset {offset}")]
    InvalidPackedDigit {
        /// The 4-bit value.
        digit: u8,
        /// Where it was found.
        offset: usize,
    },
    /// A node list header with size 0, or a node with an empty tag.
    #[error("invalid node at offset {offset}: {reason}")]
    InvalidNode {
        /// Where the node started.
        offset: usize,
        /// What was wrong.
        reason: &'static str,
    },
    /// An attribute key or a tag that was a JID or binary instead of a string.
    #[error("expected a string at offset {offset}")]
    ExpectedString {
        /// Where the value started.
        offset: usize,
    },
    /// A JID on the wire that cannot be valid (for example a JID pair with no server).
    #[error("invalid JID on the wire at offset {offset}: {reason}")]
    InvalidWireJid {
        /// Where the JID started.
        offset: usize,
        /// What was wrong.
        reason: &'static str,
    },
    /// A string on the wire that is not UTF-8 (tags, attribute keys and values must be).
    #[error("invalid UTF-8 in string at offset {offset}")]
    InvalidUtf8 {
        /// Where the string bytes started.
        offset: usize,
    },
    /// A binary length, list size or attribute count larger than the bytes left can hold.
    #[error("declared size {declared} at offset {offset} exceeds the {remaining} byte(s) left")]
    LengthExceedsInput {
        /// The declared length or item count.
        declared: usize,
        /// Bytes left after the length field.
        remaining: usize,
        /// Where the length field was.
        offset: usize,
    },
    /// Nodes nested deeper than the limit.
    #[error("nesting deeper than {limit} levels")]
    TooDeep {
        /// The depth limit.
        limit: usize,
    },
    /// Bytes left over after the top-level node.
    #[error("{count} trailing byte(s) after the node")]
    TrailingBytes {
        /// How many bytes were left.
        count: usize,
    },
    /// The zlib stream of a compressed frame is corrupt.
    #[error("invalid zlib data: {0}")]
    Zlib(String),
    /// The compressed frame inflates past the configured limit.
    #[error("decompressed frame exceeds the {limit}-byte limit")]
    DecompressedTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A JID string that does not parse.
    #[error("invalid JID {input:?}: {reason}")]
    InvalidJid {
        /// The input string.
        input: String,
        /// What was wrong.
        reason: JidErrorReason,
    },
    /// Typed attribute reads failed (all failures of one [`AttrReader`](crate::AttrReader)).
    #[error("{}", AttrErrorList(.0))]
    Attrs(Vec<AttrError>),
    /// The node cannot be represented on the wire (only from [`try_marshal`](crate::try_marshal)).
    #[error("cannot encode: {0}")]
    Unencodable(&'static str),
}

/// Why a JID string did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum JidErrorReason {
    /// The string was empty.
    Empty,
    /// More than one `@`.
    TooManyAt,
    /// The server part after `@` was empty.
    EmptyServer,
    /// More than one `.` in the user part of an AD JID.
    TooManyDots,
    /// More than one `:` in the user part.
    TooManyColons,
    /// The agent after `.` is not a number in `0..=255`.
    BadAgent,
    /// The device after `:` is not a number in `0..=65535`.
    BadDevice,
    /// The integrator before `-` in an interop JID is not a number in `0..=65535`.
    BadIntegrator,
}

impl fmt::Display for JidErrorReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "empty string",
            Self::TooManyAt => "more than one '@'",
            Self::EmptyServer => "empty server",
            Self::TooManyDots => "more than one '.' in the user part",
            Self::TooManyColons => "more than one ':' in the user part",
            Self::BadAgent => "agent is not a number in 0..=255",
            Self::BadDevice => "device is not a number in 0..=65535",
            Self::BadIntegrator => "integrator is not a number in 0..=65535",
        })
    }
}

/// One failed typed attribute read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrError {
    /// The attribute key.
    pub key: String,
    /// What was wrong.
    pub kind: AttrErrorKind,
}

/// Why a typed attribute read failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttrErrorKind {
    /// The attribute is required but absent.
    Missing,
    /// The value is not of the requested type.
    WrongType {
        /// The requested type, e.g. `"integer"`.
        expected: &'static str,
        /// The value found, as a string.
        found: String,
    },
}

impl fmt::Display for AttrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            AttrErrorKind::Missing => write!(f, "missing attribute {:?}", self.key),
            AttrErrorKind::WrongType { expected, found } => {
                write!(
                    f,
                    "attribute {:?}: expected {expected}, found {found:?}",
                    self.key
                )
            }
        }
    }
}

struct AttrErrorList<'a>(&'a [AttrError]);

impl fmt::Display for AttrErrorList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("attribute errors: ")?;
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}
