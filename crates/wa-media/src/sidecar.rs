//! Sidecars of streamable media (video, audio): one truncated MAC per 64 KiB window, so a
//! player can check each downloaded range on its own.
//!
//! The signed stream is `iv || body` (body = ciphertext || MAC). Window `n` is the slice
//! `[n * 65536, n * 65536 + 65536 + 16)` of that stream, cut short at its end; there is a window
//! for every `n` with `n * 65536 < stream length`. Each window covers 64 KiB of ciphertext plus
//! the 16 bytes before it (the IV that CBC needs to decrypt it), and its sidecar entry is the
//! first 10 bytes of `HMAC-SHA256(mac_key, window)`. The sidecar is the concatenation of the
//! entries.
//!
//! Baileys 7 does not compute sidecars; the layout here is the one WhatsApp clients document
//! for `streamingSidecar` (64 KiB + 16 windows over the IV-prefixed encrypted file, 10-byte
//! MACs).

use hmac::Mac;
use subtle::ConstantTimeEq;

use crate::cipher::{HmacSha256, MAC_LEN, hmac};
use crate::error::{MediaError, Result};
use crate::keys::MediaKeys;

/// Distance between the starts of two windows.
pub const WINDOW_STRIDE: usize = 64 * 1024;

/// Length of a full window: the stride plus the 16 bytes before it.
pub const WINDOW_LEN: usize = WINDOW_STRIDE + 16;

/// The sidecar length for a body of `body_len` bytes: 10 bytes per window.
pub const fn sidecar_len(body_len: usize) -> usize {
    let stream = body_len + 16;
    stream.div_ceil(WINDOW_STRIDE) * MAC_LEN
}

/// Computes a sidecar incrementally from the body as it is produced or downloaded.
///
/// ```
/// use wa_media::{MediaKeys, MediaType, SidecarBuilder, encrypt, sidecar};
/// let keys = MediaKeys::from_key(&[3; 32], MediaType::Video);
/// let body = encrypt(&keys, &vec![0u8; 200_000]).body;
/// let mut b = SidecarBuilder::new(&keys);
/// for chunk in body.chunks(10_000) {
///     b.update(chunk);
/// }
/// let sc = b.finish();
/// assert_eq!(sc.len(), 40); // 200,032-byte body + IV: four windows
/// assert_eq!(sc, sidecar::compute(&keys, &body));
/// sidecar::verify(&keys, &body, &sc)?;
/// # Ok::<(), wa_media::MediaError>(())
/// ```
#[derive(Clone)]
pub struct SidecarBuilder {
    key: HmacSha256,
    /// Position in the `iv || body` stream.
    pos: usize,
    /// Open windows (at most two overlap), oldest first, with their start offsets.
    open: Vec<(usize, HmacSha256)>,
    out: Vec<u8>,
}

impl SidecarBuilder {
    /// Starts a sidecar for a body encrypted under `keys`.
    pub fn new(keys: &MediaKeys) -> Self {
        let mut b = Self {
            key: hmac(keys.mac_key()),
            pos: 0,
            open: Vec::with_capacity(2),
            out: Vec::new(),
        };
        b.feed(keys.iv());
        b
    }

    /// Feeds the next bytes of the body (ciphertext, then the MAC).
    pub fn update(&mut self, body: &[u8]) {
        self.feed(body);
    }

    fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if self.pos.is_multiple_of(WINDOW_STRIDE)
                && self.open.last().is_none_or(|(start, _)| *start != self.pos)
            {
                self.open.push((self.pos, self.key.clone()));
            }
            let next_start = (self.pos / WINDOW_STRIDE + 1) * WINDOW_STRIDE;
            let next_end = self
                .open
                .first()
                .map_or(usize::MAX, |(start, _)| start + WINDOW_LEN);
            let take = (next_start.min(next_end) - self.pos).min(data.len());
            let (head, rest) = data.split_at(take);
            for (_, mac) in &mut self.open {
                mac.update(head);
            }
            self.pos += take;
            data = rest;
            if self
                .open
                .first()
                .is_some_and(|(start, _)| start + WINDOW_LEN == self.pos)
            {
                let (_, mac) = self.open.remove(0);
                self.push_tag(mac);
            }
        }
    }

    fn push_tag(&mut self, mac: HmacSha256) {
        let tag = mac.finalize().into_bytes();
        self.out
            .extend_from_slice(tag.get(..MAC_LEN).unwrap_or(&[]));
    }

    /// Closes the windows still open and returns the sidecar.
    pub fn finish(mut self) -> Vec<u8> {
        for (_, mac) in std::mem::take(&mut self.open) {
            self.push_tag(mac);
        }
        self.out
    }
}

impl std::fmt::Debug for SidecarBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SidecarBuilder")
            .field("pos", &self.pos)
            .finish_non_exhaustive()
    }
}

/// The sidecar of a whole body.
pub fn compute(keys: &MediaKeys, body: &[u8]) -> Vec<u8> {
    let mut b = SidecarBuilder::new(keys);
    b.update(body);
    b.finish()
}

/// Checks a sidecar against a whole body: [`MediaError::SidecarLength`] when the entry count is
/// wrong, [`MediaError::BadSidecar`] naming the first window whose MAC differs (compared in
/// constant time).
pub fn verify(keys: &MediaKeys, body: &[u8], sidecar: &[u8]) -> Result<()> {
    let expected = sidecar_len(body.len());
    if sidecar.len() != expected {
        return Err(MediaError::SidecarLength {
            expected,
            actual: sidecar.len(),
        });
    }
    let ours = compute(keys, body);
    for (window, (a, b)) in ours
        .chunks(MAC_LEN)
        .zip(sidecar.chunks(MAC_LEN))
        .enumerate()
    {
        if !bool::from(a.ct_eq(b)) {
            return Err(MediaError::BadSidecar { window });
        }
    }
    Ok(())
}

/// Checks one window fetched on its own (for a ranged download): `window` is the window index
/// and `bytes` the `iv || body` slice `[window * 65536, window * 65536 + 65552)` (shorter for
/// the last window).
pub fn verify_window(keys: &MediaKeys, window: usize, bytes: &[u8], sidecar: &[u8]) -> Result<()> {
    let entry = window
        .checked_mul(MAC_LEN)
        .and_then(|start| sidecar.get(start..start.checked_add(MAC_LEN)?))
        .ok_or(MediaError::SidecarLength {
            expected: window.saturating_add(1).saturating_mul(MAC_LEN),
            actual: sidecar.len(),
        })?;
    let mut mac = hmac(keys.mac_key());
    mac.update(bytes);
    let tag = mac.finalize().into_bytes();
    if bool::from(tag.get(..MAC_LEN).unwrap_or(&[]).ct_eq(entry)) {
        Ok(())
    } else {
        Err(MediaError::BadSidecar { window })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MediaType;

    /// The definition, written directly: HMAC of each window of `iv || body`.
    fn reference(keys: &MediaKeys, body: &[u8]) -> Vec<u8> {
        let mut stream = keys.iv().to_vec();
        stream.extend_from_slice(body);
        let mut out = Vec::new();
        let mut start = 0;
        while start < stream.len() {
            let end = (start + WINDOW_LEN).min(stream.len());
            let mut m = hmac(keys.mac_key());
            m.update(&stream[start..end]);
            out.extend_from_slice(&m.finalize().into_bytes()[..MAC_LEN]);
            start += WINDOW_STRIDE;
        }
        out
    }

    #[test]
    fn builder_matches_definition_at_window_edges() {
        let keys = MediaKeys::from_key(&[9; 32], MediaType::Video);
        for len in [
            0,
            1,
            26,
            WINDOW_STRIDE - 17,
            WINDOW_STRIDE - 16,
            WINDOW_STRIDE - 15,
            WINDOW_STRIDE,
            WINDOW_STRIDE + 1,
            2 * WINDOW_STRIDE - 16,
            2 * WINDOW_STRIDE,
            3 * WINDOW_STRIDE + 5,
        ] {
            let body: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let want = reference(&keys, &body);
            assert_eq!(want.len(), sidecar_len(len), "len {len}");
            for chunk in [1usize, 15, 16, 4096, 65_536, 70_000, usize::MAX] {
                let mut b = SidecarBuilder::new(&keys);
                for c in body.chunks(chunk.min(body.len().max(1))) {
                    b.update(c);
                }
                assert_eq!(b.finish(), want, "len {len} chunk {chunk}");
            }
        }
    }

    #[test]
    fn verify_names_the_bad_window() {
        let keys = MediaKeys::from_key(&[4; 32], MediaType::Audio);
        let body: Vec<u8> = (0..3 * WINDOW_STRIDE).map(|i| (i / 1000) as u8).collect();
        let mut sc = compute(&keys, &body);
        assert_eq!(verify(&keys, &body, &sc), Ok(()));
        sc[25] ^= 1;
        assert_eq!(
            verify(&keys, &body, &sc),
            Err(MediaError::BadSidecar { window: 2 })
        );
        assert_eq!(
            verify(&keys, &body, &sc[..20]),
            Err(MediaError::SidecarLength {
                expected: 40,
                actual: 20
            })
        );
        let sc = compute(&keys, &body);
        let mut stream = keys.iv().to_vec();
        stream.extend_from_slice(&body);
        let w1 = &stream[WINDOW_STRIDE..WINDOW_STRIDE + WINDOW_LEN];
        assert_eq!(verify_window(&keys, 1, w1, &sc), Ok(()));
        assert_eq!(
            verify_window(&keys, 2, w1, &sc),
            Err(MediaError::BadSidecar { window: 2 })
        );
        assert!(matches!(
            verify_window(&keys, 9, w1, &sc),
            Err(MediaError::SidecarLength { .. })
        ));
    }
}
