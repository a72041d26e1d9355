//! WhatsApp media encryption, decryption and transfer planning, sans IO.
//!
//! Attachments (images, videos, voice notes, documents, stickers, history and app state
//! blobs) travel outside the Signal session: the sender encrypts the file under a fresh
//! 32-byte *media key*, uploads the result to a WhatsApp media server and sends the key,
//! hashes and server path inside the (Signal-encrypted) message. This crate holds every step
//! of that which is not IO:
//!
//! * [`MediaType`]: per-kind HKDF label (`"WhatsApp Image Keys"`, …), upload path
//!   (`/mms/image`, …) and the `mediatype` stanza attribute.
//! * [`MediaKeys`]: HKDF-SHA256 expansion of the media key into IV, cipher key, MAC key and
//!   ref key; wiped on drop.
//! * [`encrypt`] / [`decrypt`] (one-shot) and [`Encryptor`] / [`Decryptor`] (streaming, any
//!   chunk sizes, same bytes): AES-256-CBC with PKCS#7, a 10-byte HMAC-SHA256 over
//!   `iv || ciphertext` appended, `file_sha256`, `file_enc_sha256` and `file_length`, each
//!   failure a typed [`MediaError`] (MAC compared in constant time). [`Verifier`] checks a
//!   body's MAC and hash without decrypting, for two-pass downloads that never release
//!   unauthenticated plaintext.
//! * [`sidecar`]: the per-64 KiB MACs of streamable media, computed and verified.
//! * [`MediaConn`]: the `<media_conn>` query node, its reply parsed, and the upload and
//!   download URLs for a file.
//!
//! The byte formats match whatsmeow (`download.go`, `upload.go`, `mediaconn.go`) and Baileys 7
//! (`lib/Utils/messages-media.js`); `tests/tests/media_interop.rs` checks them against Baileys.
//!
//! ```
//! use wa_media::{Expected, MediaConn, MediaKeys, MediaType, decrypt, encrypt};
//!
//! // Sender: encrypt under a fresh random key (from the OS RNG in real code).
//! let media_key = [0x42u8; 32];
//! let keys = MediaKeys::derive(&media_key, MediaType::Image)?;
//! let sent = encrypt(&keys, b"\x89PNG...");
//! assert_eq!(sent.body.len(), 16 + 10); // one padded block and the MAC
//!
//! // Where to upload it, from the server's <media_conn> reply.
//! let reply = wa_binary::Node::new("media_conn")
//!     .attr("auth", "token")
//!     .attr("ttl", "300")
//!     .child(wa_binary::Node::new("host").attr("hostname", "mmg.whatsapp.net").build())
//!     .build();
//! let conn = MediaConn::from_node(&reply)?;
//! let url = &conn.upload_urls(MediaType::Image, &sent.info.file_enc_sha256)[0];
//! assert!(url.starts_with("https://mmg.whatsapp.net/mms/image/"));
//!
//! // Receiver: the message carries the key, hashes and length.
//! let expected = Expected {
//!     file_sha256: Some(sent.info.file_sha256),
//!     file_enc_sha256: Some(sent.info.file_enc_sha256),
//!     file_length: Some(sent.info.file_length),
//! };
//! let keys = MediaKeys::derive(&media_key, MediaType::Image)?;
//! assert_eq!(decrypt(&keys, &sent.body, &expected)?, b"\x89PNG...");
//! # Ok::<(), wa_media::MediaError>(())
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

mod cipher;
mod conn;
mod error;
mod keys;
mod media_type;
pub mod sidecar;

pub use cipher::{
    Decryptor, EncryptedMedia, Encryptor, Expected, MAC_LEN, MIN_BODY_LEN, MediaInfo, Verifier,
    decrypt, decrypt_in_place, encrypt, encrypted_len,
};
pub use conn::{DEFAULT_MEDIA_HOST, MediaConn, MediaHost, default_download_url};
pub use error::{HashKind, MediaError, Result};
pub use keys::{EXPANDED_LEN, MEDIA_KEY_LEN, MediaKeys};
pub use media_type::{MediaType, UnknownMediaType};
pub use sidecar::SidecarBuilder;
