//! Message building blocks for 1:1 chats, sans-IO: what the engine needs to turn a decrypted
//! payload into an event and a `<message>` stanza into acknowledgements.
//!
//! - [`padding`]: the random padding WhatsApp appends to every plaintext before Signal
//!   encryption (v2 `<enc>` nodes) and its checked removal.
//! - [`dsm`]: wrapping sent messages in `DeviceSentMessage` for our own other devices, and
//!   unwrapping them on receipt.
//! - [`build`], [`poll`]: builders for the message types a client sends (text with mentions
//!   and replies, reactions, edits, revokes, locations, contact cards, polls and votes, the
//!   disappearing timer); [`secret`]: the message-secret crypto behind poll votes.
//! - [`content`]: a typed, serializable view of any message ([`MessageContent`]) and the
//!   stanza attributes (`type`, `mediatype`, `edit`) a message is sent with.
//! - [`stanza`]: parsing an incoming `<message>` stanza (who sent it, in which chat, whether it
//!   is from one of our own devices, the PN/LID alternate address, push name, timestamp and
//!   the `<enc>` payloads) and building the `<ack>` and delivery `<receipt>` it must be answered
//!   with.
//!
//! The pipelines that use these pieces are [`crate::recv`] (decryption, receipts, retry
//! receipts sent) and [`crate::send`] (`send_message`, device lists, retry receipts answered).

pub mod build;
pub mod content;
pub mod dsm;
pub mod padding;
pub mod poll;
pub mod secret;
pub mod stanza;

pub use content::{MessageContent, edit_attribute, media_type, stanza_type};
pub use padding::{pad, unpad};
pub use stanza::{
    EncPayload, EncType, MessageInfo, MessageSource, ack_for, delivery_receipt, enc_payloads,
};
