//! WhatsApp's binary XML codec: nodes, token dictionaries and JIDs.
//!
//! WhatsApp Web multi-device speaks a compact binary form of XML inside its Noise transport.
//! This crate turns those bytes into [`Node`] trees and back:
//!
//! * [`Node`], [`Attrs`], [`AttrValue`], [`Content`] and [`NodeBuilder`] model a stanza;
//!   [`AttrReader`] reads typed attributes and collects errors.
//! * [`Jid`] and [`Server`] model WhatsApp IDs (phone numbers, LIDs, devices, groups,
//!   broadcasts, newsletters, hosted, interop, …) with a parse/display round-trip.
//! * [`marshal`] encodes byte for byte as whatsmeow's `Marshal` (see [`encode`](mod@encode)
//!   for the few documented choices where whatsmeow and Baileys differ).
//! * [`unmarshal`] (owned [`Node`]), [`unmarshal_ref`] (borrowed [`NodeRef`]: tokens and raw
//!   strings point into the dictionaries or the frame, short packed strings are held inline in a
//!   [`StrRef`]) and [`decode_frame`] (flags byte and zlib) decode with strict bounds, typed
//!   errors ([`DecodeError`]) and caps on nesting depth and inflated size ([`DecodeOptions`]).
//! * [`unmarshal_flat`] decodes a frame into a flat [`Document`] (all nodes in one vector, all
//!   attributes in another; reusable across frames) navigated through [`NodeView`]s.
//!
//! **Decode path for clients:** [`decode_frame`] (flags byte, zlib, then [`unmarshal`]) into an
//! owned [`Node`]. This is what a client's read loop uses (`wa-client` and `wa-testserver`
//! do): the node outlives the frame buffer, and the owned decoder is the one tuned for speed
//! (strings go straight into [`Str`]: tokens as static strings, packed ids and phone numbers
//! inline, no borrowed intermediate). `docs/performance.md` compares it with `wacore-binary`.
//! The borrowed decoders suit code that inspects a frame and drops it.
//! * [`token`] holds the dictionaries (version 3) and a compile-time hash table for lookups.
//!
//! It does no IO, no encryption and no framing of the Noise transport: bytes in, nodes out.
//!
//! ```
//! use wa_binary::{Jid, Node, Server, decode_frame, marshal};
//!
//! let ping = Node::new("iq")
//!     .attr("id", "1")
//!     .attr("to", Jid::new("", Server::User))
//!     .attr("type", "get")
//!     .attr("xmlns", "w:p")
//!     .child(Node::new("ping").build())
//!     .build();
//! let frame = marshal(&ping);
//! assert_eq!(frame[0], 0); // flags byte: not compressed
//! assert_eq!(decode_frame(&frame)?, ping);
//! println!("{}", ping.to_xml());
//! # Ok::<(), wa_binary::DecodeError>(())
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod attrs;
pub mod decode;
pub mod encode;
mod error;
pub mod flat;
pub mod jid;
mod node;
mod owned;
mod string;
mod strref;
pub mod token;
mod unpack;
mod xml;

pub use attrs::AttrReader;
pub use decode::{
    AttrValueRef, ContentRef, DecodeOptions, JidRef, NodeRef, unmarshal, unmarshal_ref,
    unmarshal_ref_with, unmarshal_with,
};
pub use encode::{check_encodable, marshal, marshal_into, marshal_parts, try_marshal};
pub use error::{AttrError, AttrErrorKind, DecodeError, JidErrorReason};
pub use flat::{Children, Document, NodeView, unmarshal_flat, unmarshal_flat_with};
pub use jid::{Jid, Server};
pub use node::{AttrValue, Attrs, Content, Node, NodeBuilder};
pub use string::Str;
pub use strref::StrRef;
pub use unpack::{FLAG_COMPRESSED, decode_frame, decode_frame_with, unpack, unpack_with_limit};
