//! The two halves of a connection's transport after the handshake: Noise frames in, decoded
//! stanzas out ([`StanzaReader`]), and stanzas in, encoded and encrypted frames out
//! ([`StanzaWriter`]).
//!
//! Once the handshake is done the runtime may take them out of the [`Engine`] with
//! [`Engine::take_reader`] and [`Engine::take_writer`] and run them wherever the socket is
//! read and written (another thread, say): it feeds the stanzas the reader yields to
//! [`Engine::handle_stanza`] and writes what the writer makes of [`Engine::poll_stanza`].
//! Each cipher only depends on its own stream of frames, so this work can overlap with the
//! engine's without changing any order.

use tracing::trace;
use wa_binary::{Node, decode_frame, marshal_into};
use wa_noise::{FrameDecoder, RecvCipher, SendCipher};

use super::Engine;
use crate::error::Result;

/// Frame splitting, Noise decryption and binary decoding of what the server sends after the
/// handshake. Sans-IO: bytes in with [`StanzaReader::push`], stanzas out with
/// [`StanzaReader::next_stanza`].
pub struct StanzaReader {
    decoder: FrameDecoder,
    cipher: RecvCipher,
}

impl core::fmt::Debug for StanzaReader {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StanzaReader")
            .field("buffered", &self.decoder.buffered())
            .field("frames_received", &self.cipher.frames_received())
            .finish_non_exhaustive()
    }
}

impl StanzaReader {
    pub(super) fn new(decoder: FrameDecoder, cipher: RecvCipher) -> Self {
        Self { decoder, cipher }
    }

    /// Adds bytes the socket delivered (cut anywhere).
    pub fn push(&mut self, data: &[u8]) {
        self.decoder.push(data);
    }

    /// The next whole stanza, `None` until more bytes arrive. An error (a frame that does not
    /// decrypt or decode) is final: the connection must be dropped.
    pub fn next_stanza(&mut self) -> Result<Option<Node>> {
        let Some(mut frame) = self.decoder.next_frame()? else {
            return Ok(None);
        };
        let plain = self.cipher.decrypt_in_place(&mut frame)?;
        let node = decode_frame(plain)?;
        trace!(xml = %node.to_xml(), "<- stanza");
        Ok(Some(node))
    }
}

/// Binary encoding and Noise encryption of the stanzas a connection sends after the
/// handshake. Sans-IO: a stanza in, the bytes of one WebSocket message out.
pub struct StanzaWriter {
    cipher: SendCipher,
}

impl core::fmt::Debug for StanzaWriter {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StanzaWriter")
            .field("frames_sent", &self.cipher.frames_sent())
            .finish_non_exhaustive()
    }
}

impl StanzaWriter {
    /// Encodes and encrypts `node` into `out` (cleared first): the bytes of one WebSocket
    /// message. An error (the cipher's counter is exhausted) is final: drop the connection.
    pub fn encode(&mut self, node: &Node, out: &mut Vec<u8>) -> Result<()> {
        out.clear();
        // Encoded straight into the frame, not apart and then copied in.
        self.cipher
            .encrypt_frame_with(out, |frame| marshal_into(node, frame))?;
        Ok(())
    }
}

impl Engine {
    /// Hands the sending half of the transport to the caller, once the handshake is done
    /// (`None` before that, and after it was taken). From then on every stanza the engine
    /// sends comes out of [`Engine::poll_stanza`] for the caller to encode with the
    /// [`StanzaWriter`], after the frames [`Engine::poll_transmit`] still holds.
    pub fn take_writer(&mut self) -> Option<StanzaWriter> {
        let cipher = self.send.take()?;
        self.writer_taken = true;
        Some(StanzaWriter { cipher })
    }

    /// The next stanza for the taken [`StanzaWriter`], in order.
    pub fn poll_stanza(&mut self) -> Option<Node> {
        self.stanzas_out.pop_front()
    }

    /// Hands the receiving half of the transport to the caller, once the handshake is done
    /// (`None` before that, and after it was taken). From then on the caller feeds what it
    /// decodes to [`Engine::handle_stanza`] (and a decoding error to
    /// [`Engine::handle_transport_error`]); bytes given to [`Engine::handle_data`] are refused.
    pub fn take_reader(&mut self) -> Option<StanzaReader> {
        if matches!(self.phase, super::Phase::Handshake(_)) {
            return None;
        }
        let reader = self.reader.take()?;
        self.reader_taken = true;
        Some(reader)
    }

    /// Handles one stanza a [`StanzaReader`] taken with [`Engine::take_reader`] decoded. A
    /// protocol error closes the connection with
    /// [`crate::event::DisconnectReason::ProtocolError`] and is also returned.
    pub fn handle_stanza(&mut self, now: std::time::Instant, node: Node) -> Result<()> {
        if self.closed.is_some() {
            return Ok(());
        }
        let res = self.process_stanza(now, node);
        if let Err(e) = &res {
            self.close_on_protocol_error(e);
        }
        res
    }

    /// Handles a `<message>` stanza a [`StanzaReader`] taken with [`Engine::take_reader`]
    /// decoded and the caller parsed ahead ([`crate::recv::PreparedMessage`]): it is queued
    /// for the receive pipeline in wire order, as [`Engine::handle_stanza`] queues a message.
    pub fn handle_prepared_message(&mut self, message: Box<crate::recv::PreparedMessage>) {
        if self.closed.is_none() {
            self.incoming.push_back(super::Incoming::Prepared(message));
        }
    }

    /// The taken [`StanzaReader`] or [`StanzaWriter`] failed (a frame that does not decrypt or
    /// decode, an exhausted cipher): closes the connection with
    /// [`crate::event::DisconnectReason::ProtocolError`].
    pub fn handle_transport_error(&mut self, error: &crate::error::Error) {
        if self.closed.is_none() {
            self.close_on_protocol_error(error);
        }
    }
}
