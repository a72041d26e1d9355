//! Frames: a 3-byte big-endian length, then that many bytes; the client's first frame is
//! preceded by the connection intro.
//!
//! The intro is the 4-byte header `W A 6 3` (servers also accept the older `W A 6 2`),
//! optionally preceded by an edge-routing preamble `E D 0 1`, a 3-byte big-endian length and
//! that many bytes of routing info. Only the 4-byte `WA` header enters the handshake hash.
//!
//! [`FrameDecoder`] accepts input cut anywhere (WebSocket messages need not line up with frames)
//! and hands out whole frames; [`FrameEncoder`] writes them.

use bytes::{Buf, BytesMut};

use crate::error::FrameError;

/// Largest frame payload: what a 3-byte length can express (16 MiB - 1).
pub const MAX_FRAME_LEN: usize = 0xFF_FFFF;

/// Length of the frame length prefix.
pub const FRAME_HEADER_LEN: usize = 3;

/// The header WhatsApp Web sends today: `W A`, protocol 6, dictionary version 3.
pub const WA_HEADER: [u8; 4] = [b'W', b'A', 6, 3];

/// The previous header (dictionary version 2), still accepted by servers.
pub const WA_HEADER_V2: [u8; 4] = [b'W', b'A', 6, 2];

/// Start of the optional edge-routing preamble.
pub const EDGE_ROUTING_MAGIC: [u8; 4] = [b'E', b'D', 0, 1];

/// The 3-byte big-endian length prefix for a frame of `len` bytes.
pub fn frame_header(len: usize) -> Result<[u8; FRAME_HEADER_LEN], FrameError> {
    if len > MAX_FRAME_LEN {
        return Err(FrameError::TooLarge {
            len,
            max: MAX_FRAME_LEN,
        });
    }
    let b = (len as u32).to_be_bytes();
    Ok([b[1], b[2], b[3]])
}

/// What the client sends before its first frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intro {
    header: [u8; 4],
    routing_info: Option<Vec<u8>>,
}

impl Default for Intro {
    fn default() -> Self {
        Self {
            header: WA_HEADER,
            routing_info: None,
        }
    }
}

impl Intro {
    /// An intro with `header`, which must be [`WA_HEADER`] or [`WA_HEADER_V2`].
    pub fn new(header: [u8; 4]) -> Result<Self, FrameError> {
        if header == WA_HEADER || header == WA_HEADER_V2 {
            Ok(Self {
                header,
                routing_info: None,
            })
        } else {
            Err(FrameError::BadIntro(header))
        }
    }

    /// Adds the edge-routing preamble carrying `routing_info` (from a previous connection).
    pub fn with_routing_info(mut self, routing_info: Vec<u8>) -> Result<Self, FrameError> {
        if routing_info.len() > MAX_FRAME_LEN {
            return Err(FrameError::TooLarge {
                len: routing_info.len(),
                max: MAX_FRAME_LEN,
            });
        }
        self.routing_info = Some(routing_info);
        Ok(self)
    }

    /// The 4-byte `WA` header, the only part mixed into the handshake hash.
    #[must_use]
    pub fn header(&self) -> &[u8; 4] {
        &self.header
    }

    /// The routing info of the edge-routing preamble, if any.
    #[must_use]
    pub fn routing_info(&self) -> Option<&[u8]> {
        self.routing_info.as_deref()
    }

    /// Appends the intro's wire bytes to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        if let Some(ri) = &self.routing_info {
            out.extend_from_slice(&EDGE_ROUTING_MAGIC);
            // with_routing_info bounds the length to 3 bytes.
            let b = (ri.len() as u32).to_be_bytes();
            out.extend_from_slice(&b[1..]);
            out.extend_from_slice(ri);
        }
        out.extend_from_slice(&self.header);
    }
}

/// Writes frames; the first one carries the intro when built with [`FrameEncoder::client`].
#[derive(Debug, Clone)]
pub struct FrameEncoder {
    pending_intro: Option<Intro>,
}

impl FrameEncoder {
    /// Encoder for the client: the intro goes out in front of the first frame.
    #[must_use]
    pub fn client(intro: Intro) -> Self {
        Self {
            pending_intro: Some(intro),
        }
    }

    /// Encoder for the server: plain frames.
    #[must_use]
    pub fn server() -> Self {
        Self {
            pending_intro: None,
        }
    }

    /// Appends `payload` as one frame (with the intro first if still pending) to `out`.
    pub fn encode(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), FrameError> {
        let header = frame_header(payload.len())?;
        if let Some(intro) = self.pending_intro.take() {
            intro.write_to(out);
        }
        out.reserve(FRAME_HEADER_LEN + payload.len());
        out.extend_from_slice(&header);
        out.extend_from_slice(payload);
        Ok(())
    }

    /// Whether the intro has gone out (always true for a server encoder).
    #[must_use]
    pub fn intro_sent(&self) -> bool {
        self.pending_intro.is_none()
    }
}

#[derive(Debug, Clone)]
enum IntroState {
    /// The peer sends no intro (the client reading server frames).
    NotExpected,
    /// The server has not read the intro yet.
    Awaiting,
    /// The server has read it.
    Received(Intro),
}

/// Splits a byte stream into frames, however the input was cut.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    buf: BytesMut,
    max_len: usize,
    intro: IntroState,
    poisoned: bool,
}

impl FrameDecoder {
    /// Decoder for the client side: frames from the server, no intro.
    #[must_use]
    pub fn client() -> Self {
        Self {
            buf: BytesMut::new(),
            max_len: MAX_FRAME_LEN,
            intro: IntroState::NotExpected,
            poisoned: false,
        }
    }

    /// Decoder for the server side: the client's intro comes first.
    #[must_use]
    pub fn server() -> Self {
        Self {
            intro: IntroState::Awaiting,
            ..Self::client()
        }
    }

    /// Lowers the largest accepted frame (and routing info) below [`MAX_FRAME_LEN`].
    #[must_use]
    pub fn with_max_frame_len(mut self, max_len: usize) -> Self {
        self.max_len = max_len.min(MAX_FRAME_LEN);
        self
    }

    /// Appends received bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes received but not yet handed out as frames.
    #[must_use]
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The client's intro, once the server has read it.
    #[must_use]
    pub fn intro(&self) -> Option<&Intro> {
        match &self.intro {
            IntroState::Received(i) => Some(i),
            _ => None,
        }
    }

    fn read_u24(b: &[u8]) -> Option<usize> {
        match b {
            [a, b, c, ..] => Some(usize::from(*a) << 16 | usize::from(*b) << 8 | usize::from(*c)),
            _ => None,
        }
    }

    /// Tries to read the intro; `Ok(false)` means more bytes are needed.
    fn read_intro(&mut self) -> Result<bool, FrameError> {
        let Some(first) = self.buf.first_chunk::<4>().copied() else {
            return Ok(false);
        };
        let (skip, routing_info) = if first == EDGE_ROUTING_MAGIC {
            let Some(len) = self.buf.get(4..).and_then(Self::read_u24) else {
                return Ok(false);
            };
            if len > self.max_len {
                return Err(FrameError::TooLarge {
                    len,
                    max: self.max_len,
                });
            }
            match self.buf.get(7..7 + len) {
                Some(ri) => (7 + len, Some(ri.to_vec())),
                None => return Ok(false),
            }
        } else {
            (0, None)
        };
        let Some(header) = self.buf.get(skip..skip + 4) else {
            return Ok(false);
        };
        let mut h = [0u8; 4];
        h.copy_from_slice(header);
        let intro = Intro::new(h)?;
        self.buf.advance(skip + 4);
        self.intro = IntroState::Received(Intro {
            routing_info,
            ..intro
        });
        Ok(true)
    }

    /// The next whole frame, `Ok(None)` if more input is needed.
    ///
    /// An error (bad intro, frame over the limit) is final: the decoder refuses further use.
    pub fn next_frame(&mut self) -> Result<Option<BytesMut>, FrameError> {
        if self.poisoned {
            return Err(FrameError::Poisoned);
        }
        let r = self.next_frame_inner();
        if r.is_err() {
            self.poisoned = true;
        }
        r
    }

    fn next_frame_inner(&mut self) -> Result<Option<BytesMut>, FrameError> {
        if matches!(self.intro, IntroState::Awaiting) && !self.read_intro()? {
            return Ok(None);
        }
        let Some(len) = Self::read_u24(&self.buf) else {
            return Ok(None);
        };
        if len > self.max_len {
            return Err(FrameError::TooLarge {
                len,
                max: self.max_len,
            });
        }
        if self.buf.len() < FRAME_HEADER_LEN + len {
            self.buf.reserve(FRAME_HEADER_LEN + len - self.buf.len());
            return Ok(None);
        }
        self.buf.advance(FRAME_HEADER_LEN);
        Ok(Some(self.buf.split_to(len)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_bounds() {
        assert_eq!(frame_header(0).unwrap(), [0, 0, 0]);
        assert_eq!(frame_header(0x01_0203).unwrap(), [1, 2, 3]);
        assert_eq!(frame_header(MAX_FRAME_LEN).unwrap(), [0xFF; 3]);
        assert_eq!(
            frame_header(MAX_FRAME_LEN + 1),
            Err(FrameError::TooLarge {
                len: MAX_FRAME_LEN + 1,
                max: MAX_FRAME_LEN
            })
        );
    }

    fn client_stream(intro: Intro, frames: &[Vec<u8>]) -> Vec<u8> {
        let mut enc = FrameEncoder::client(intro);
        let mut out = Vec::new();
        for f in frames {
            enc.encode(f, &mut out).unwrap();
        }
        out
    }

    #[test]
    fn split_at_every_boundary_with_routing_preamble() {
        let frames = vec![vec![1u8; 5], vec![], vec![2u8; 300], vec![3u8; 70_000]];
        let intro = Intro::default().with_routing_info(vec![9, 8, 7]).unwrap();
        let stream = client_stream(intro.clone(), &frames);
        assert_eq!(&stream[..11], &[b'E', b'D', 0, 1, 0, 0, 3, 9, 8, 7, b'W']);
        for cut in (0..stream.len())
            .step_by(97)
            .chain([1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13])
        {
            let mut dec = FrameDecoder::server();
            let mut got = Vec::new();
            for part in [&stream[..cut], &stream[cut..]] {
                dec.push(part);
                while let Some(f) = dec.next_frame().unwrap() {
                    got.push(f.to_vec());
                }
            }
            assert_eq!(got, frames, "cut at {cut}");
            assert_eq!(dec.intro(), Some(&intro));
            assert_eq!(dec.buffered(), 0);
        }
    }

    #[test]
    fn byte_by_byte() {
        let frames = vec![vec![7u8; 3], vec![8u8; 1000]];
        let stream = client_stream(Intro::new(WA_HEADER_V2).unwrap(), &frames);
        let mut dec = FrameDecoder::server();
        let mut got = Vec::new();
        for b in &stream {
            dec.push(std::slice::from_ref(b));
            while let Some(f) = dec.next_frame().unwrap() {
                got.push(f.to_vec());
            }
        }
        assert_eq!(got, frames);
        assert_eq!(dec.intro().unwrap().header(), &WA_HEADER_V2);
    }

    #[test]
    fn bad_intro_and_oversize_are_final() {
        let mut dec = FrameDecoder::server();
        dec.push(b"WA\x05\x02\x00\x00\x00");
        assert_eq!(
            dec.next_frame(),
            Err(FrameError::BadIntro([b'W', b'A', 5, 2]))
        );
        assert_eq!(dec.next_frame(), Err(FrameError::Poisoned));

        let mut dec = FrameDecoder::client().with_max_frame_len(10);
        dec.push(&[0, 0, 11]);
        assert_eq!(
            dec.next_frame(),
            Err(FrameError::TooLarge { len: 11, max: 10 })
        );

        let mut dec = FrameDecoder::server().with_max_frame_len(2);
        dec.push(&[b'E', b'D', 0, 1, 0, 0, 3]);
        assert_eq!(
            dec.next_frame(),
            Err(FrameError::TooLarge { len: 3, max: 2 })
        );
        assert_eq!(
            Intro::new([b'W', b'A', 6, 4]),
            Err(FrameError::BadIntro([b'W', b'A', 6, 4]))
        );
    }
}
