//! Plaintext padding (whatsmeow `padMessage` / `unpadMessage`).
//!
//! Before a serialized `Message` is Signal-encrypted it gets `n` extra bytes, each equal to
//! `n`, where `n` is a random value in `1..=15` (the low nibble of a random byte, with 0 mapped
//! to 15). The receiver checks that the last `n` bytes all equal `n` and strips them. `<enc>`
//! nodes with `v="3"` carry unpadded plaintext.

use rand_core::Rng;

use crate::error::MessageError;

/// Appends the random padding to `plaintext`, drawing one byte from `rng`.
pub fn pad<R: Rng + ?Sized>(mut plaintext: Vec<u8>, rng: &mut R) -> Vec<u8> {
    let mut byte = [0u8; 1];
    rng.fill_bytes(&mut byte);
    let [b] = byte;
    let n = match b & 0x0f {
        0 => 0x0f,
        n => n,
    };
    plaintext.resize(plaintext.len() + usize::from(n), n);
    plaintext
}

/// Strips the padding of a decrypted plaintext from an `<enc>` node of version `version`
/// (the `v` attribute; version 3 is not padded).
///
/// Fails with [`MessageError::Padding`] when the plaintext is empty or its tail is not `n`
/// copies of the byte `n`.
pub fn unpad(plaintext: &[u8], version: u32) -> Result<&[u8], MessageError> {
    if version == 3 {
        return Ok(plaintext);
    }
    let Some((&n, _)) = plaintext.split_last() else {
        return Err(MessageError::Padding("plaintext is empty".into()));
    };
    let pad_len = usize::from(n);
    let Some(body_len) = plaintext.len().checked_sub(pad_len) else {
        return Err(MessageError::Padding(format!(
            "padding of {pad_len} bytes in a {}-byte plaintext",
            plaintext.len()
        )));
    };
    let (body, tail) = plaintext.split_at(body_len);
    if tail.iter().any(|&b| b != n) {
        return Err(MessageError::Padding(format!(
            "the last {pad_len} bytes are not all {n}"
        )));
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn pad_adds_1_to_15_copies_of_the_length_and_unpad_removes_them() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let mut seen = [false; 16];
        for i in 0..2000u32 {
            let msg = i.to_be_bytes().to_vec();
            let padded = pad(msg.clone(), &mut rng);
            let n = padded.len() - msg.len();
            assert!((1..=15).contains(&n), "pad length {n}");
            assert!(padded[msg.len()..].iter().all(|&b| usize::from(b) == n));
            seen[n] = true;
            assert_eq!(unpad(&padded, 2).unwrap(), &msg[..]);
        }
        // Every length 1..=15 occurs; 0 never does (it maps to 15).
        assert!(!seen[0]);
        assert!(seen[1..].iter().all(|&s| s));
    }

    #[test]
    fn unpad_rejects_bad_padding() {
        assert!(matches!(unpad(&[], 2), Err(MessageError::Padding(_))));
        // Claims 5 bytes of padding in a 3-byte plaintext.
        assert!(matches!(
            unpad(&[1, 2, 5], 2),
            Err(MessageError::Padding(_))
        ));
        // Tail is not all equal to the pad length.
        assert!(matches!(
            unpad(&[9, 9, 1, 3, 3], 2),
            Err(MessageError::Padding(_))
        ));
        // A zero last byte means zero padding: accepted as whatsmeow does.
        assert_eq!(unpad(&[4, 0], 2).unwrap(), &[4, 0][..]);
        assert_eq!(unpad(&[3, 3, 3], 2).unwrap(), &[0u8; 0][..]);
    }

    #[test]
    fn version_3_is_not_padded() {
        assert_eq!(unpad(&[1, 2, 200], 3).unwrap(), &[1, 2, 200][..]);
        assert_eq!(unpad(&[], 3).unwrap(), &[0u8; 0][..]);
    }
}
