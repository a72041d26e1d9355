//! [`GroupError`]: everything that can go wrong while reading a group reply or notification.

use wa_binary::DecodeError;

/// A reply or notification that could not be turned into its typed result.
///
/// Server-side refusals (`<iq type="error">`) are [`GroupError::Server`] with the code and text
/// the server sent; everything else means the stanza did not have the expected shape.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GroupError {
    /// The server answered `<iq type="error">` with this `<error code=… text=…>`.
    #[error("server refused the request: {code} {text}")]
    Server {
        /// The numeric error code (e.g. 401, 403, 404, 406, 409, 410).
        code: u16,
        /// The error text (e.g. `not-authorized`), empty when the server sent none.
        text: String,
    },
    /// The reply is not an `<iq>` stanza.
    #[error("expected an <iq> reply, got <{0}>")]
    NotIq(String),
    /// The reply's `type` is neither `result` nor `error`.
    #[error("unexpected iq type {0:?}")]
    UnexpectedIqType(String),
    /// An element the reply must contain is missing.
    #[error("<{tag}> missing in {context}")]
    MissingElement {
        /// The missing tag.
        tag: &'static str,
        /// Where it was expected.
        context: &'static str,
    },
    /// An element's attributes are missing or malformed.
    #[error("bad attributes on <{element}>: {source}")]
    Attrs {
        /// The element whose attributes failed.
        element: String,
        /// Every attribute failure, as collected by the attribute reader.
        #[source]
        source: DecodeError,
    },
    /// An element's content is not what it must be (e.g. text that is not UTF-8).
    #[error("bad content in <{element}>: {reason}")]
    BadContent {
        /// The element.
        element: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// The stanza is not a group notification this parser understands.
    #[error("not a w:gp2 group notification: {0}")]
    NotGroupNotification(&'static str),
    /// A request could not be built from its input (e.g. a group invite message without a code).
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
}

impl GroupError {
    /// The server's error code, when this is a [`GroupError::Server`].
    pub fn server_code(&self) -> Option<u16> {
        match self {
            Self::Server { code, .. } => Some(*code),
            _ => None,
        }
    }
}
