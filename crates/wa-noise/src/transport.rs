//! The post-handshake transport: one AES-256-GCM key and counter per direction, no associated data.
//!
//! A half that failed to decrypt a frame is poisoned and refuses further use, so a caller cannot
//! skip a forged or corrupted frame and carry on with a desynchronised counter.

use zeroize::Zeroizing;

use crate::aead::{AeadKey, TAG_LEN};
use crate::error::TransportError;
use crate::frame::{FRAME_HEADER_LEN, MAX_FRAME_LEN, frame_header};

fn aead_key(key: &[u8; 32]) -> Result<AeadKey, TransportError> {
    AeadKey::new(key).map_err(|_| TransportError::Internal("aead key"))
}

/// The sending half of a [`Transport`].
#[derive(Debug)]
pub struct SendCipher {
    key: AeadKey,
    counter: u32,
    exhausted: bool,
}

impl SendCipher {
    pub(crate) fn new(key: &Zeroizing<[u8; 32]>) -> Result<Self, TransportError> {
        Ok(Self {
            key: aead_key(key)?,
            counter: 0,
            exhausted: false,
        })
    }

    fn next_counter(&mut self) -> Result<u32, TransportError> {
        if self.exhausted {
            return Err(TransportError::NonceExhausted);
        }
        let c = self.counter;
        match c.checked_add(1) {
            Some(n) => self.counter = n,
            None => self.exhausted = true,
        }
        Ok(c)
    }

    /// Encrypts `buf` in place and appends the 16-byte tag.
    pub fn encrypt_in_place(&mut self, buf: &mut Vec<u8>) -> Result<(), TransportError> {
        let counter = self.next_counter()?;
        self.key
            .seal_append_from(counter, buf, 0)
            .map_err(|_| TransportError::Internal("seal"))
    }

    /// Encrypts `plaintext` into a new buffer (ciphertext then tag).
    pub fn encrypt(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, TransportError> {
        let mut buf = Vec::with_capacity(plaintext.len() + TAG_LEN);
        buf.extend_from_slice(plaintext);
        self.encrypt_in_place(&mut buf)?;
        Ok(buf)
    }

    /// Appends one whole frame to `out`: the 3-byte length, then the encrypted `plaintext`.
    ///
    /// Fails with [`TransportError::Frame`] when the ciphertext would exceed 16 MiB - 1 bytes;
    /// nothing is written and no nonce is used in that case.
    pub fn encrypt_frame(
        &mut self,
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), TransportError> {
        let len = plaintext.len().saturating_add(TAG_LEN);
        let header = frame_header(len)?;
        let counter = self.next_counter()?;
        out.reserve(FRAME_HEADER_LEN + len);
        out.extend_from_slice(&header);
        let start = out.len();
        out.extend_from_slice(plaintext);
        self.key
            .seal_append_from(counter, out, start)
            .map_err(|_| TransportError::Internal("seal"))
    }

    /// Appends one whole frame to `out` whose plaintext `write` appends in place (after the
    /// 3-byte length, which is filled in afterwards): [`Self::encrypt_frame`] without
    /// building the plaintext apart and copying it in.
    ///
    /// Fails with [`TransportError::Frame`] when the ciphertext would exceed 16 MiB - 1
    /// bytes; `out` is then as it was and no nonce is used.
    pub fn encrypt_frame_with(
        &mut self,
        out: &mut Vec<u8>,
        write: impl FnOnce(&mut Vec<u8>),
    ) -> Result<(), TransportError> {
        let base = out.len();
        out.extend_from_slice(&[0; FRAME_HEADER_LEN]);
        let start = out.len();
        write(out);
        let len = (out.len() - start).saturating_add(TAG_LEN);
        let header = match frame_header(len) {
            Ok(h) => h,
            Err(e) => {
                out.truncate(base);
                return Err(e.into());
            }
        };
        let counter = match self.next_counter() {
            Ok(c) => c,
            Err(e) => {
                out.truncate(base);
                return Err(e);
            }
        };
        if let Some(slot) = out.get_mut(base..start) {
            slot.copy_from_slice(&header);
        }
        self.key
            .seal_append_from(counter, out, start)
            .map_err(|_| TransportError::Internal("seal"))
    }

    /// Frames sent so far.
    #[must_use]
    pub fn frames_sent(&self) -> u64 {
        u64::from(self.counter) + u64::from(self.exhausted)
    }
}

/// The receiving half of a [`Transport`].
#[derive(Debug)]
pub struct RecvCipher {
    key: AeadKey,
    counter: u32,
    exhausted: bool,
    poisoned: bool,
}

impl RecvCipher {
    pub(crate) fn new(key: &Zeroizing<[u8; 32]>) -> Result<Self, TransportError> {
        Ok(Self {
            key: aead_key(key)?,
            counter: 0,
            exhausted: false,
            poisoned: false,
        })
    }

    /// Decrypts `buf` (ciphertext then tag) in place and returns the plaintext, a prefix of `buf`.
    ///
    /// On failure this half is poisoned: every later call returns [`TransportError::Poisoned`].
    pub fn decrypt_in_place<'a>(
        &mut self,
        buf: &'a mut [u8],
    ) -> Result<&'a mut [u8], TransportError> {
        if self.poisoned {
            return Err(TransportError::Poisoned);
        }
        if self.exhausted {
            return Err(TransportError::NonceExhausted);
        }
        if buf.len() < TAG_LEN {
            self.poisoned = true;
            return Err(TransportError::TooShort(buf.len()));
        }
        match self.key.open_in_place(self.counter, &[], buf) {
            Ok(n) => {
                match self.counter.checked_add(1) {
                    Some(c) => self.counter = c,
                    None => self.exhausted = true,
                }
                buf.get_mut(..n)
                    .ok_or(TransportError::Internal("plaintext length"))
            }
            Err(_) => {
                self.poisoned = true;
                Err(TransportError::Decrypt)
            }
        }
    }

    /// Decrypts `ciphertext` into a new buffer.
    pub fn decrypt(&mut self, ciphertext: &[u8]) -> Result<Vec<u8>, TransportError> {
        let mut buf = ciphertext.to_vec();
        let n = self.decrypt_in_place(&mut buf)?.len();
        buf.truncate(n);
        Ok(buf)
    }

    /// Whether an earlier failure made this half unusable.
    #[must_use]
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// Frames received so far.
    #[must_use]
    pub fn frames_received(&self) -> u64 {
        u64::from(self.counter) + u64::from(self.exhausted)
    }
}

/// Both directions of an established Noise session.
///
/// Frames are read with a [`crate::FrameDecoder`] and handed to [`Transport::decrypt_in_place`];
/// outgoing payloads go through [`Transport::encrypt_frame`], which writes the length prefix.
#[derive(Debug)]
pub struct Transport {
    send: SendCipher,
    recv: RecvCipher,
}

impl Transport {
    pub(crate) fn new(
        write: &Zeroizing<[u8; 32]>,
        read: &Zeroizing<[u8; 32]>,
    ) -> Result<Self, TransportError> {
        Ok(Self {
            send: SendCipher::new(write)?,
            recv: RecvCipher::new(read)?,
        })
    }

    /// See [`SendCipher::encrypt`].
    pub fn encrypt(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.send.encrypt(plaintext)
    }

    /// See [`SendCipher::encrypt_in_place`].
    pub fn encrypt_in_place(&mut self, buf: &mut Vec<u8>) -> Result<(), TransportError> {
        self.send.encrypt_in_place(buf)
    }

    /// See [`SendCipher::encrypt_frame`].
    pub fn encrypt_frame(
        &mut self,
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), TransportError> {
        self.send.encrypt_frame(plaintext, out)
    }

    /// See [`SendCipher::encrypt_frame_with`].
    pub fn encrypt_frame_with(
        &mut self,
        out: &mut Vec<u8>,
        write: impl FnOnce(&mut Vec<u8>),
    ) -> Result<(), TransportError> {
        self.send.encrypt_frame_with(out, write)
    }

    /// See [`RecvCipher::decrypt`].
    pub fn decrypt(&mut self, ciphertext: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.recv.decrypt(ciphertext)
    }

    /// See [`RecvCipher::decrypt_in_place`].
    pub fn decrypt_in_place<'a>(
        &mut self,
        buf: &'a mut [u8],
    ) -> Result<&'a mut [u8], TransportError> {
        self.recv.decrypt_in_place(buf)
    }

    /// Splits into independently owned halves (for a reader task and a writer task).
    #[must_use]
    pub fn split(self) -> (SendCipher, RecvCipher) {
        (self.send, self.recv)
    }

    /// Largest plaintext that fits in one frame.
    pub const MAX_PLAINTEXT_LEN: usize = MAX_FRAME_LEN - TAG_LEN;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (Transport, Transport) {
        let a = Zeroizing::new([1u8; 32]);
        let b = Zeroizing::new([2u8; 32]);
        (
            Transport::new(&a, &b).unwrap(),
            Transport::new(&b, &a).unwrap(),
        )
    }

    #[test]
    fn round_trip_and_counter_nonces() {
        let (mut c, mut s) = pair();
        let c1 = c.encrypt(b"hello").unwrap();
        let c2 = c.encrypt(b"hello").unwrap();
        assert_ne!(c1, c2, "the counter must change the nonce");
        assert_eq!(s.decrypt(&c1).unwrap(), b"hello");
        assert_eq!(s.decrypt(&c2).unwrap(), b"hello");
        let mut frame = Vec::new();
        s.encrypt_frame(b"back", &mut frame).unwrap();
        assert_eq!(&frame[..3], &[0, 0, 4 + 16]);
        assert_eq!(c.decrypt(&frame[3..]).unwrap(), b"back");
    }

    #[test]
    fn failure_poisons_receiver() {
        let (mut c, mut s) = pair();
        let mut ct = c.encrypt(b"x").unwrap();
        ct[0] ^= 1;
        assert_eq!(s.decrypt(&ct), Err(TransportError::Decrypt));
        let good = c.encrypt(b"y").unwrap();
        assert_eq!(s.decrypt(&good), Err(TransportError::Poisoned));
        let (_, mut s2) = pair();
        assert_eq!(s2.decrypt(&[0; 15]), Err(TransportError::TooShort(15)));
        assert_eq!(s2.decrypt(&[0; 32]), Err(TransportError::Poisoned));
    }

    #[test]
    fn replay_and_reorder_fail() {
        let (mut c, mut s) = pair();
        let a = c.encrypt(b"a").unwrap();
        let b = c.encrypt(b"b").unwrap();
        assert_eq!(s.decrypt(&b), Err(TransportError::Decrypt));
        let (_, mut s) = pair();
        s.decrypt(&a).unwrap();
        assert_eq!(s.decrypt(&a), Err(TransportError::Decrypt));
    }

    #[test]
    fn oversize_frame_is_refused_without_using_a_nonce() {
        let (mut c, mut s) = pair();
        let big = vec![0u8; Transport::MAX_PLAINTEXT_LEN + 1];
        let mut out = Vec::new();
        assert!(matches!(
            c.encrypt_frame(&big, &mut out),
            Err(TransportError::Frame(crate::FrameError::TooLarge { .. }))
        ));
        assert!(out.is_empty());
        let ok = c.encrypt(b"z").unwrap();
        assert_eq!(s.decrypt(&ok).unwrap(), b"z");
    }

    #[test]
    fn a_frame_written_in_place_is_the_frame_of_the_same_plaintext() {
        let (mut a, mut b) = pair();
        let (mut a2, _) = pair();
        let mut in_place = b"kept".to_vec();
        a.encrypt_frame_with(&mut in_place, |out| out.extend_from_slice(b"stanza"))
            .unwrap();
        let mut copied = b"kept".to_vec();
        a2.encrypt_frame(b"stanza", &mut copied).unwrap();
        assert_eq!(in_place, copied);
        assert_eq!(b.decrypt(&in_place[4 + 3..]).unwrap(), b"stanza");
        // Too big: `out` is left as it was and the nonce unused.
        let mut out = b"kept".to_vec();
        let big = Transport::MAX_PLAINTEXT_LEN + 1;
        assert!(matches!(
            a.encrypt_frame_with(&mut out, |o| o.resize(o.len() + big, 0)),
            Err(TransportError::Frame(crate::FrameError::TooLarge { .. }))
        ));
        assert_eq!(out, b"kept");
        let next = a.encrypt(b"next").unwrap();
        assert_eq!(b.decrypt(&next).unwrap(), b"next");
    }

    #[test]
    fn nonce_exhaustion() {
        let (mut c, _) = pair();
        c.send.counter = u32::MAX;
        c.encrypt(b"last").unwrap();
        assert_eq!(c.encrypt(b"more"), Err(TransportError::NonceExhausted));
        assert_eq!(c.send.frames_sent(), 1 << 32);
    }
}
