//! AES-256-CBC + truncated HMAC-SHA256 encryption of media files, one-shot and streaming.
//!
//! The uploaded body of a file is `AES-256-CBC(cipher_key, iv, PKCS#7(plaintext)) || mac`, where
//! `mac` is the first 10 bytes of `HMAC-SHA256(mac_key, iv || ciphertext)`. The message carries
//! `file_sha256` (of the plaintext), `file_enc_sha256` (of the whole body) and `file_length`
//! (of the plaintext).

use aes::Aes256;
use aes::cipher::consts::U16;
use aes::cipher::{Array, BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{HashKind, MediaError, Result};
use crate::keys::MediaKeys;

/// Length of the truncated HMAC appended to every encrypted body.
pub const MAC_LEN: usize = 10;

/// AES block length.
pub(crate) const BLOCK: usize = 16;

/// Bytes processed per pass in the streaming loops: small enough that a slice stays in the
/// L1/L2 cache between encryption and hashing.
const PASS: usize = 16 * 1024;

/// Smallest possible body: one (padding) block and the MAC.
pub const MIN_BODY_LEN: usize = BLOCK + MAC_LEN;

pub(crate) type HmacSha256 = Hmac<Sha256>;

/// An HMAC-SHA256 keyed with `key`.
pub(crate) fn hmac(key: &[u8]) -> HmacSha256 {
    match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        // HMAC takes keys of any length; this arm only keeps the function total.
        Err(_) => <HmacSha256 as KeyInit>::new(&Default::default()),
    }
}

/// The whole 16-byte blocks at the front of `buf`.
fn blocks_mut(buf: &mut [u8]) -> &mut [Array<u8, U16>] {
    Array::<u8, U16>::slice_as_chunks_mut(buf).0
}

/// Length of the body that `plaintext_len` bytes encrypt to (padding and MAC included).
pub const fn encrypted_len(plaintext_len: u64) -> u64 {
    (plaintext_len / BLOCK as u64 + 1) * BLOCK as u64 + MAC_LEN as u64
}

/// What the message announcing a file says about it. Every field is optional: a check is made
/// only for the fields that are set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Expected {
    /// SHA-256 of the plaintext.
    pub file_sha256: Option<[u8; 32]>,
    /// SHA-256 of the encrypted body (ciphertext and MAC).
    pub file_enc_sha256: Option<[u8; 32]>,
    /// Length of the plaintext.
    pub file_length: Option<u64>,
}

impl Expected {
    /// Builds the checks from a message's `fileSha256`, `fileEncSha256` (empty means absent,
    /// anything else must be 32 bytes) and `fileLength` fields.
    pub fn from_message(
        file_sha256: &[u8],
        file_enc_sha256: &[u8],
        file_length: Option<u64>,
    ) -> Result<Self> {
        let hash = |bytes: &[u8], which| -> Result<Option<[u8; 32]>> {
            if bytes.is_empty() {
                return Ok(None);
            }
            bytes
                .try_into()
                .map(Some)
                .map_err(|_| MediaError::InvalidHashLength {
                    which,
                    len: bytes.len(),
                })
        };
        Ok(Self {
            file_sha256: hash(file_sha256, HashKind::File)?,
            file_enc_sha256: hash(file_enc_sha256, HashKind::EncFile)?,
            file_length,
        })
    }
}

/// The fields a message needs about an encrypted file, as produced by encryption and checked
/// by decryption.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MediaInfo {
    /// SHA-256 of the plaintext (`fileSha256`).
    pub file_sha256: [u8; 32],
    /// SHA-256 of the body, ciphertext and MAC (`fileEncSha256`).
    pub file_enc_sha256: [u8; 32],
    /// Length of the plaintext in bytes (`fileLength`).
    pub file_length: u64,
    /// The 10-byte MAC at the end of the body.
    pub mac: [u8; MAC_LEN],
}

/// A file encrypted in one go: the body to upload and the fields for the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptedMedia {
    /// The upload body: ciphertext followed by the 10-byte MAC.
    pub body: Vec<u8>,
    /// Hashes, length and MAC.
    pub info: MediaInfo,
}

/// Encrypts `plaintext` in one call. Same bytes as an [`Encryptor`] fed any chunking.
pub fn encrypt(keys: &MediaKeys, plaintext: &[u8]) -> EncryptedMedia {
    let cap = usize::try_from(encrypted_len(plaintext.len() as u64)).unwrap_or(0);
    let mut body = Vec::with_capacity(cap);
    let mut enc = Encryptor::new(keys);
    enc.update(plaintext, &mut body);
    let info = enc.finish(&mut body);
    EncryptedMedia { body, info }
}

/// Decrypts a downloaded body in one call: checks the length, `file_enc_sha256` (if expected),
/// the MAC, the padding, then `file_length` and `file_sha256` (if expected), in that order,
/// before returning any plaintext.
pub fn decrypt(keys: &MediaKeys, body: &[u8], expected: &Expected) -> Result<Vec<u8>> {
    decrypt_in_place(keys, body.to_vec(), expected)
}

/// Like [`decrypt`], but reuses the body's buffer for the plaintext, so a large file is never
/// held twice.
pub fn decrypt_in_place(
    keys: &MediaKeys,
    mut body: Vec<u8>,
    expected: &Expected,
) -> Result<Vec<u8>> {
    let total = body.len();
    if total < MIN_BODY_LEN {
        return Err(MediaError::TooShort { len: total });
    }
    let ct_len = total - MAC_LEN;
    if !ct_len.is_multiple_of(BLOCK) {
        return Err(MediaError::NotBlockAligned { len: ct_len });
    }
    // One pass over the ciphertext for the MAC and the body hash together.
    let (ct, mac) = body.split_at(ct_len);
    let mut h = hmac(keys.mac_key());
    h.update(keys.iv());
    let mut enc_hash = expected.file_enc_sha256.map(|_| Sha256::new());
    for slice in ct.chunks(PASS) {
        h.update(slice);
        if let Some(e) = enc_hash.as_mut() {
            e.update(slice);
        }
    }
    if let (Some(mut e), Some(want)) = (enc_hash, expected.file_enc_sha256) {
        e.update(mac);
        let got: [u8; 32] = e.finalize().into();
        if !bool::from(got.ct_eq(&want)) {
            return Err(MediaError::HashMismatch {
                which: HashKind::EncFile,
            });
        }
    }
    let tag = h.finalize().into_bytes();
    let tag10 = tag.get(..MAC_LEN).unwrap_or(&[]);
    if !bool::from(tag10.ct_eq(mac)) {
        return Err(MediaError::BadMac);
    }
    body.truncate(ct_len);
    let mut dec = cbc::Decryptor::<Aes256>::new(keys.cipher_key().into(), keys.iv().into());
    // Second pass: decrypt and hash the plaintext, all but the padded last block.
    let mut plain_hash = expected.file_sha256.map(|_| Sha256::new());
    let (head, last) = body.split_at_mut(ct_len - BLOCK);
    for slice in head.chunks_mut(PASS) {
        dec.decrypt_blocks(blocks_mut(slice));
        if let Some(p) = plain_hash.as_mut() {
            p.update(&*slice);
        }
    }
    dec.decrypt_blocks(blocks_mut(last));
    let keep = unpad_len(last).ok_or(MediaError::BadPadding)?;
    let plain_len = ct_len - BLOCK + keep;
    if let Some(p) = plain_hash.as_mut() {
        p.update(last.get(..keep).unwrap_or(&[]));
    }
    body.truncate(plain_len);
    check_plaintext(expected, plain_len as u64, || {
        plain_hash.map(|p| p.finalize().into()).unwrap_or_default()
    })?;
    Ok(body)
}

/// How many bytes of a decrypted last block remain after removing PKCS#7 padding, or `None`
/// when the padding is invalid. Runs after the MAC check, so it leaks nothing useful.
fn unpad_len(last: &[u8]) -> Option<usize> {
    let last: &[u8; BLOCK] = last.try_into().ok()?;
    let pad = usize::from(last[BLOCK - 1]);
    if pad == 0 || pad > BLOCK {
        return None;
    }
    let keep = BLOCK - pad;
    last.iter()
        .skip(keep)
        .all(|&b| usize::from(b) == pad)
        .then_some(keep)
}

fn check_plaintext(expected: &Expected, len: u64, hash: impl FnOnce() -> [u8; 32]) -> Result<()> {
    if let Some(want) = expected.file_length
        && want != len
    {
        return Err(MediaError::LengthMismatch {
            expected: want,
            actual: len,
        });
    }
    if let Some(want) = expected.file_sha256
        && !bool::from(hash().ct_eq(&want))
    {
        return Err(MediaError::HashMismatch {
            which: HashKind::File,
        });
    }
    Ok(())
}

/// Streaming encryption: feed plaintext in chunks of any size with [`Encryptor::update`], which
/// appends ciphertext to a caller's buffer (drain it between calls to keep memory flat), then
/// [`Encryptor::finish`] appends the last block and the MAC and returns the [`MediaInfo`].
///
/// ```
/// use wa_media::{Encryptor, MediaKeys, MediaType, encrypt};
/// let keys = MediaKeys::from_key(&[1; 32], MediaType::Video);
/// let mut enc = Encryptor::new(&keys);
/// let mut body = Vec::new();
/// for chunk in b"some video bytes".chunks(5) {
///     enc.update(chunk, &mut body);
/// }
/// let info = enc.finish(&mut body);
/// assert_eq!(body, encrypt(&keys, b"some video bytes").body);
/// assert_eq!(info.file_length, 16);
/// ```
pub struct Encryptor {
    cbc: cbc::Encryptor<Aes256>,
    mac: HmacSha256,
    enc_hash: Sha256,
    plain_hash: Sha256,
    pending: [u8; BLOCK],
    pending_len: usize,
    file_length: u64,
}

impl Encryptor {
    /// Starts encrypting a file under `keys`.
    pub fn new(keys: &MediaKeys) -> Self {
        let mut mac = hmac(keys.mac_key());
        mac.update(keys.iv());
        Self {
            cbc: cbc::Encryptor::<Aes256>::new(keys.cipher_key().into(), keys.iv().into()),
            mac,
            enc_hash: Sha256::new(),
            plain_hash: Sha256::new(),
            pending: [0; BLOCK],
            pending_len: 0,
            file_length: 0,
        }
    }

    /// Encrypts the next `plaintext` bytes, appending every completed cipher block to `out`.
    pub fn update(&mut self, plaintext: &[u8], out: &mut Vec<u8>) {
        self.file_length += plaintext.len() as u64;
        let start = out.len();
        let mut input = plaintext;
        if self.pending_len > 0 {
            let take = (BLOCK - self.pending_len).min(input.len());
            let (head, rest) = input.split_at(take);
            if let Some(dst) = self
                .pending
                .get_mut(self.pending_len..self.pending_len + take)
            {
                dst.copy_from_slice(head);
            }
            self.pending_len += take;
            input = rest;
            if self.pending_len < BLOCK {
                return;
            }
            out.extend_from_slice(&self.pending);
            self.pending_len = 0;
        }
        let whole = input.len() - input.len() % BLOCK;
        let (blocks, rest) = input.split_at(whole);
        out.extend_from_slice(blocks);
        if let Some(dst) = self.pending.get_mut(..rest.len()) {
            dst.copy_from_slice(rest);
        }
        self.pending_len = rest.len();
        self.seal(out, start);
    }

    /// Hashes the plaintext in `out[start..]` (whole blocks), encrypts it in place and feeds
    /// the ciphertext to the MAC and body hash, a cache-sized slice at a time so every byte is
    /// fetched from memory once.
    fn seal(&mut self, out: &mut [u8], start: usize) {
        if let Some(region) = out.get_mut(start..) {
            for slice in region.chunks_mut(PASS) {
                self.plain_hash.update(&*slice);
                self.encrypt_slice(slice);
            }
        }
    }

    fn encrypt_slice(&mut self, slice: &mut [u8]) {
        self.cbc.encrypt_blocks(blocks_mut(slice));
        self.mac.update(&*slice);
        self.enc_hash.update(&*slice);
    }

    /// Pads and encrypts the last block, appends it and the 10-byte MAC to `out`, and returns
    /// the file's hashes and length.
    pub fn finish(mut self, out: &mut Vec<u8>) -> MediaInfo {
        let pad = BLOCK - self.pending_len;
        // `pad` is 1..=16, so it fits a byte.
        let pad_byte = pad as u8;
        let mut last = self.pending;
        let (data, padding) = last.split_at_mut(self.pending_len);
        self.plain_hash.update(&*data);
        padding.fill(pad_byte);
        self.encrypt_slice(&mut last);
        out.extend_from_slice(&last);
        let tag = self.mac.finalize().into_bytes();
        let mut mac = [0u8; MAC_LEN];
        if let Some(t) = tag.get(..MAC_LEN) {
            mac.copy_from_slice(t);
        }
        out.extend_from_slice(&mac);
        self.enc_hash.update(mac);
        MediaInfo {
            file_sha256: self.plain_hash.finalize().into(),
            file_enc_sha256: self.enc_hash.finalize().into(),
            file_length: self.file_length,
            mac,
        }
    }
}

impl std::fmt::Debug for Encryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encryptor")
            .field("file_length", &self.file_length)
            .finish_non_exhaustive()
    }
}

/// Bytes a [`Decryptor`] holds back: the last cipher block (it carries the padding) and the MAC.
const HOLD: usize = BLOCK + MAC_LEN;

/// Streaming decryption: feed the downloaded body in chunks of any size with
/// [`Decryptor::update`]; [`Decryptor::finish`] checks `file_enc_sha256`, the MAC, the padding,
/// the length and `file_sha256` at the end.
///
/// **The plaintext appended by `update` is unauthenticated until `finish` returns `Ok`.** Write
/// it somewhere temporary and discard it if `finish` fails, or check the body with a
/// [`Verifier`] first (use [`decrypt`] to get plaintext only after every check).
///
/// ```
/// use wa_media::{Decryptor, Expected, MediaKeys, MediaType, encrypt};
/// let keys = MediaKeys::from_key(&[2; 32], MediaType::Audio);
/// let sent = encrypt(&keys, b"voice note");
/// let expected = Expected { file_sha256: Some(sent.info.file_sha256), ..Expected::default() };
/// let mut dec = Decryptor::new(&keys, expected);
/// let mut plain = Vec::new();
/// for chunk in sent.body.chunks(7) {
///     dec.update(chunk, &mut plain);
/// }
/// let info = dec.finish(&mut plain)?;
/// assert_eq!(plain, b"voice note");
/// assert_eq!(info, sent.info);
/// # Ok::<(), wa_media::MediaError>(())
/// ```
pub struct Decryptor {
    cbc: cbc::Decryptor<Aes256>,
    mac: HmacSha256,
    enc_hash: Sha256,
    plain_hash: Sha256,
    expected: Expected,
    tail: [u8; HOLD + BLOCK],
    tail_len: usize,
    body_len: u64,
    plain_len: u64,
}

impl Decryptor {
    /// Starts decrypting a body under `keys`, checking `expected` at the end.
    pub fn new(keys: &MediaKeys, expected: Expected) -> Self {
        let mut mac = hmac(keys.mac_key());
        mac.update(keys.iv());
        Self {
            cbc: cbc::Decryptor::<Aes256>::new(keys.cipher_key().into(), keys.iv().into()),
            mac,
            enc_hash: Sha256::new(),
            plain_hash: Sha256::new(),
            expected,
            tail: [0; HOLD + BLOCK],
            tail_len: 0,
            body_len: 0,
            plain_len: 0,
        }
    }

    /// Decrypts the next `body` bytes, appending to `out` the plaintext of every cipher block
    /// that is known not to be the last one (which is held back with the MAC).
    pub fn update(&mut self, body: &[u8], out: &mut Vec<u8>) {
        self.body_len += body.len() as u64;
        let total = self.tail_len + body.len();
        let process = total.saturating_sub(HOLD) / BLOCK * BLOCK;
        if process == 0 {
            // total < HOLD + BLOCK: everything fits the tail.
            if let Some(dst) = self.tail.get_mut(self.tail_len..total) {
                dst.copy_from_slice(body);
            }
            self.tail_len = total;
            return;
        }
        let start = out.len();
        let from_tail = process.min(self.tail_len);
        let from_body = process - from_tail;
        out.extend_from_slice(self.tail.get(..from_tail).unwrap_or(&[]));
        let (body_head, body_rest) = body.split_at(from_body.min(body.len()));
        out.extend_from_slice(body_head);
        // New tail: the unused part of the old tail, then the rest of the body; together they
        // are `total - process` bytes, at least HOLD and less than HOLD + BLOCK.
        let mut tail = [0u8; HOLD + BLOCK];
        let old = self.tail.get(from_tail..self.tail_len).unwrap_or(&[]);
        let new_len = old.len() + body_rest.len();
        if let Some(dst) = tail.get_mut(..old.len()) {
            dst.copy_from_slice(old);
        }
        if let Some(dst) = tail.get_mut(old.len()..new_len) {
            dst.copy_from_slice(body_rest);
        }
        self.tail = tail;
        self.tail_len = new_len;
        if let Some(region) = out.get_mut(start..) {
            self.plain_len += region.len() as u64;
            for slice in region.chunks_mut(PASS) {
                self.mac.update(&*slice);
                self.enc_hash.update(&*slice);
                self.cbc.decrypt_blocks(blocks_mut(slice));
                self.plain_hash.update(&*slice);
            }
        }
    }

    /// Checks the end of the body and appends the last plaintext bytes to `out`. On error,
    /// discard everything this decryptor wrote to `out`.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<MediaInfo> {
        let total = usize::try_from(self.body_len).unwrap_or(usize::MAX);
        if total < MIN_BODY_LEN {
            return Err(MediaError::TooShort { len: total });
        }
        if !(total - MAC_LEN).is_multiple_of(BLOCK) || self.tail_len != HOLD {
            return Err(MediaError::NotBlockAligned {
                len: total - MAC_LEN,
            });
        }
        let mut block = [0u8; BLOCK];
        let mut mac = [0u8; MAC_LEN];
        block.copy_from_slice(self.tail.get(..BLOCK).unwrap_or(&[0; BLOCK]));
        mac.copy_from_slice(self.tail.get(BLOCK..HOLD).unwrap_or(&[0; MAC_LEN]));
        self.mac.update(&block);
        self.enc_hash.update(block);
        self.enc_hash.update(mac);
        let file_enc_sha256: [u8; 32] = self.enc_hash.finalize().into();
        if let Some(want) = self.expected.file_enc_sha256
            && !bool::from(file_enc_sha256.ct_eq(&want))
        {
            return Err(MediaError::HashMismatch {
                which: HashKind::EncFile,
            });
        }
        let tag = self.mac.finalize().into_bytes();
        if !bool::from(tag.get(..MAC_LEN).unwrap_or(&[]).ct_eq(&mac)) {
            return Err(MediaError::BadMac);
        }
        self.cbc.decrypt_blocks(blocks_mut(&mut block));
        let keep = unpad_len(&block).ok_or(MediaError::BadPadding)?;
        let last = block.get(..keep).unwrap_or(&[]);
        self.plain_hash.update(last);
        out.extend_from_slice(last);
        let file_length = self.plain_len + keep as u64;
        let file_sha256: [u8; 32] = self.plain_hash.finalize().into();
        check_plaintext(&self.expected, file_length, || file_sha256)?;
        Ok(MediaInfo {
            file_sha256,
            file_enc_sha256,
            file_length,
            mac,
        })
    }
}

impl std::fmt::Debug for Decryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decryptor")
            .field("body_len", &self.body_len)
            .field("expected", &self.expected)
            .finish_non_exhaustive()
    }
}

/// Checks a body's MAC and `file_enc_sha256` without decrypting, fed in chunks of any size:
/// the first pass of a two-pass download (verify the body on disk, then decrypt it with a
/// [`Decryptor`]), so no unauthenticated plaintext is ever written.
///
/// ```
/// use wa_media::{MediaError, MediaKeys, MediaType, Verifier, encrypt};
/// let keys = MediaKeys::from_key(&[6; 32], MediaType::Document);
/// let mut body = encrypt(&keys, b"contract.pdf").body;
/// let mut v = Verifier::new(&keys, None);
/// body.chunks(5).for_each(|c| v.update(c));
/// assert!(v.finish().is_ok());
/// body[3] ^= 1;
/// let mut v = Verifier::new(&keys, None);
/// v.update(&body);
/// assert_eq!(v.finish(), Err(MediaError::BadMac));
/// ```
pub struct Verifier {
    mac: HmacSha256,
    enc_hash: Sha256,
    expected_enc_sha256: Option<[u8; 32]>,
    /// The last up to 10 bytes seen: the MAC once the body ends.
    tail: [u8; MAC_LEN],
    tail_len: usize,
    body_len: u64,
}

impl Verifier {
    /// Starts checking a body under `keys`, and against `file_enc_sha256` when given.
    pub fn new(keys: &MediaKeys, file_enc_sha256: Option<[u8; 32]>) -> Self {
        let mut mac = hmac(keys.mac_key());
        mac.update(keys.iv());
        Self {
            mac,
            enc_hash: Sha256::new(),
            expected_enc_sha256: file_enc_sha256,
            tail: [0; MAC_LEN],
            tail_len: 0,
            body_len: 0,
        }
    }

    /// Feeds the next bytes of the body.
    pub fn update(&mut self, body: &[u8]) {
        self.body_len += body.len() as u64;
        self.enc_hash.update(body);
        let total = self.tail_len + body.len();
        // Everything but the last MAC_LEN bytes seen so far is ciphertext: MAC it now.
        let release = total.saturating_sub(MAC_LEN);
        let from_tail = release.min(self.tail_len);
        self.mac.update(self.tail.get(..from_tail).unwrap_or(&[]));
        let (head, rest) = body.split_at((release - from_tail).min(body.len()));
        self.mac.update(head);
        let mut tail = [0u8; MAC_LEN];
        let old = self.tail.get(from_tail..self.tail_len).unwrap_or(&[]);
        let new_len = old.len() + rest.len();
        if let Some(dst) = tail.get_mut(..old.len()) {
            dst.copy_from_slice(old);
        }
        if let Some(dst) = tail.get_mut(old.len()..new_len) {
            dst.copy_from_slice(rest);
        }
        self.tail = tail;
        self.tail_len = new_len;
    }

    /// Checks the length, `file_enc_sha256` (when given) and the MAC, in that order, and
    /// returns the body's SHA-256.
    pub fn finish(self) -> Result<[u8; 32]> {
        let total = usize::try_from(self.body_len).unwrap_or(usize::MAX);
        if total < MIN_BODY_LEN {
            return Err(MediaError::TooShort { len: total });
        }
        if !(total - MAC_LEN).is_multiple_of(BLOCK) {
            return Err(MediaError::NotBlockAligned {
                len: total - MAC_LEN,
            });
        }
        let file_enc_sha256: [u8; 32] = self.enc_hash.finalize().into();
        if let Some(want) = self.expected_enc_sha256
            && !bool::from(file_enc_sha256.ct_eq(&want))
        {
            return Err(MediaError::HashMismatch {
                which: HashKind::EncFile,
            });
        }
        let tag = self.mac.finalize().into_bytes();
        if !bool::from(tag.get(..MAC_LEN).unwrap_or(&[]).ct_eq(&self.tail)) {
            return Err(MediaError::BadMac);
        }
        Ok(file_enc_sha256)
    }
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("body_len", &self.body_len)
            .finish_non_exhaustive()
    }
}
