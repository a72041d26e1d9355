//! The receiving half of a connection's transport: Noise frames in, decoded stanzas out.
//!
//! Once the handshake is done the runtime may take it out of the [`Engine`] with
//! [`Engine::take_reader`] and run it wherever the socket is read (another thread, say), then
//! feed the stanzas it yields to [`Engine::handle_stanza`]. The receive cipher only depends on
//! the frames, so decrypting and decoding can overlap with the engine's work on earlier
//! stanzas without changing their order.

use tracing::trace;
use wa_binary::{Node, decode_frame};
use wa_noise::{FrameDecoder, RecvCipher};

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

impl Engine {
    /// Hands the receiving half of the transport to the caller, once the handshake is done
    /// (`None` before that, and after it was taken). From then on the caller feeds what it
    /// decodes to [`Engine::handle_stanza`] (and a decoding error to
    /// [`Engine::handle_reader_error`]); bytes given to [`Engine::handle_data`] are refused.
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

    /// The taken [`StanzaReader`] failed (a frame that does not decrypt or decode): closes the
    /// connection with [`crate::event::DisconnectReason::ProtocolError`].
    pub fn handle_reader_error(&mut self, error: &crate::error::Error) {
        if self.closed.is_none() {
            self.close_on_protocol_error(error);
        }
    }
}
