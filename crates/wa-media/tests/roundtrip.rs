//! Round trips, streaming against one-shot, and every tampering case with its typed error.

use proptest::prelude::*;
use sha2::{Digest, Sha256};
use wa_media::{
    Decryptor, Expected, HashKind, MediaError, MediaKeys, MediaType, Verifier, decrypt,
    decrypt_in_place, encrypt, encrypted_len, sidecar,
};

const SIZES: [usize; 9] = [0, 1, 15, 16, 17, 65_535, 65_536, 65_537, 1 << 20];

fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn keys(t: MediaType) -> MediaKeys {
    MediaKeys::from_key(&[0x5A; 32], t)
}

fn full_expected(m: &wa_media::EncryptedMedia) -> Expected {
    Expected {
        file_sha256: Some(m.info.file_sha256),
        file_enc_sha256: Some(m.info.file_enc_sha256),
        file_length: Some(m.info.file_length),
    }
}

/// Streaming decryption in chunks of `chunk` bytes.
fn stream_decrypt(
    k: &MediaKeys,
    body: &[u8],
    expected: Expected,
    chunk: usize,
) -> Result<Vec<u8>, MediaError> {
    let mut d = Decryptor::new(k, expected);
    let mut out = Vec::new();
    for c in body.chunks(chunk.max(1)) {
        d.update(c, &mut out);
    }
    d.finish(&mut out)?;
    Ok(out)
}

#[test]
fn round_trip_every_type_and_size() {
    for t in MediaType::ALL {
        let k = keys(t);
        for len in SIZES {
            let pt = data(len, len as u8);
            let m = encrypt(&k, &pt);
            assert_eq!(m.body.len() as u64, encrypted_len(len as u64), "{t} {len}");
            assert_eq!(m.body.len(), (len / 16 + 1) * 16 + 10);
            assert_eq!(m.info.file_length, len as u64);
            let sha: [u8; 32] = Sha256::digest(&pt).into();
            assert_eq!(m.info.file_sha256, sha);
            let enc_sha: [u8; 32] = Sha256::digest(&m.body).into();
            assert_eq!(m.info.file_enc_sha256, enc_sha);
            assert_eq!(&m.body[m.body.len() - 10..], &m.info.mac);
            let exp = full_expected(&m);
            assert_eq!(decrypt(&k, &m.body, &exp).unwrap(), pt, "{t} {len}");
            assert_eq!(decrypt(&k, &m.body, &Expected::default()).unwrap(), pt);
            assert_eq!(stream_decrypt(&k, &m.body, exp, 4096).unwrap(), pt);
        }
    }
}

#[test]
fn types_with_different_labels_do_not_decrypt_each_other() {
    let m = encrypt(&keys(MediaType::Image), b"hello");
    assert_eq!(
        decrypt(&keys(MediaType::Video), &m.body, &Expected::default()),
        Err(MediaError::BadMac)
    );
    // Sticker shares image keys.
    assert_eq!(
        decrypt(&keys(MediaType::Sticker), &m.body, &Expected::default()).unwrap(),
        b"hello"
    );
}

/// Runs one-shot and streaming (two chunkings) decryption and checks they agree on `want`.
fn both(k: &MediaKeys, body: &[u8], exp: Expected, want: &Result<Vec<u8>, MediaError>) {
    assert_eq!(&decrypt(k, body, &exp), want, "one-shot");
    assert_eq!(&stream_decrypt(k, body, exp, 1), want, "stream 1");
    assert_eq!(&stream_decrypt(k, body, exp, 7000), want, "stream 7000");
    // The MAC-only verifier agrees on every error it can see and passes the rest.
    for chunk in [1, 9, 10, 11, 5000] {
        let mut v = Verifier::new(k, exp.file_enc_sha256);
        body.chunks(chunk).for_each(|c| v.update(c));
        match want {
            Err(
                e @ (MediaError::TooShort { .. }
                | MediaError::NotBlockAligned { .. }
                | MediaError::BadMac
                | MediaError::HashMismatch {
                    which: HashKind::EncFile,
                }),
            ) => assert_eq!(v.finish().err().as_ref(), Some(e), "verifier chunk {chunk}"),
            _ => assert!(v.finish().is_ok(), "verifier chunk {chunk}"),
        }
    }
}

#[test]
fn tampering_gives_typed_errors() {
    let k = keys(MediaType::Document);
    let pt = data(100_000, 3);
    let m = encrypt(&k, &pt);
    let exp = full_expected(&m);
    let no_hash = Expected {
        file_enc_sha256: None,
        ..exp
    };

    // A bit flip anywhere in the ciphertext or the MAC.
    for pos in [
        0,
        16,
        50_000,
        m.body.len() - 11,
        m.body.len() - 10,
        m.body.len() - 1,
    ] {
        let mut b = m.body.clone();
        b[pos] ^= 0x01;
        both(&k, &b, Expected::default(), &Err(MediaError::BadMac));
        both(&k, &b, no_hash, &Err(MediaError::BadMac));
        both(
            &k,
            &b,
            exp,
            &Err(MediaError::HashMismatch {
                which: HashKind::EncFile,
            }),
        );
    }

    // Truncation: below the minimum, off the block grid, and by whole blocks.
    both(
        &k,
        &m.body[..25],
        exp,
        &Err(MediaError::TooShort { len: 25 }),
    );
    both(&k, &[], exp, &Err(MediaError::TooShort { len: 0 }));
    both(
        &k,
        &m.body[..m.body.len() - 1],
        Expected::default(),
        &Err(MediaError::NotBlockAligned {
            len: m.body.len() - 11,
        }),
    );
    both(
        &k,
        &m.body[16..],
        Expected::default(),
        &Err(MediaError::BadMac),
    );

    // Wrong key.
    let other = MediaKeys::from_key(&[0x5B; 32], MediaType::Document);
    both(&other, &m.body, no_hash, &Err(MediaError::BadMac));

    // Wrong announced hashes and length.
    let mut bad = exp;
    bad.file_sha256.as_mut().unwrap()[0] ^= 1;
    both(
        &k,
        &m.body,
        bad,
        &Err(MediaError::HashMismatch {
            which: HashKind::File,
        }),
    );
    let mut bad = exp;
    bad.file_enc_sha256.as_mut().unwrap()[31] ^= 1;
    both(
        &k,
        &m.body,
        bad,
        &Err(MediaError::HashMismatch {
            which: HashKind::EncFile,
        }),
    );
    let bad = Expected {
        file_length: Some(99_999),
        ..exp
    };
    both(
        &k,
        &m.body,
        bad,
        &Err(MediaError::LengthMismatch {
            expected: 99_999,
            actual: 100_000,
        }),
    );

    // Correct MAC over a last block whose padding is invalid: only reachable with the MAC key.
    let forged = forge_bad_padding(&k);
    both(
        &k,
        &forged,
        Expected::default(),
        &Err(MediaError::BadPadding),
    );
}

/// A body whose MAC is right but whose plaintext ends in a 0x00 "padding" byte.
fn forge_bad_padding(k: &MediaKeys) -> Vec<u8> {
    use aes::cipher::{BlockModeEncrypt, KeyIvInit};
    use hmac::{KeyInit, Mac};
    let mut block = aes::cipher::Array::from([0u8; 16]);
    cbc::Encryptor::<aes::Aes256>::new(k.cipher_key().into(), k.iv().into())
        .encrypt_block(&mut block);
    let mut h = hmac::Hmac::<Sha256>::new_from_slice(k.mac_key()).unwrap();
    h.update(k.iv());
    h.update(&block);
    let tag = h.finalize().into_bytes();
    let mut body = block.to_vec();
    body.extend_from_slice(&tag[..10]);
    body
}

#[test]
fn expected_from_message_fields() {
    assert_eq!(
        Expected::from_message(&[], &[], None).unwrap(),
        Expected::default()
    );
    let e = Expected::from_message(&[1; 32], &[2; 32], Some(5)).unwrap();
    assert_eq!(e.file_sha256, Some([1; 32]));
    assert_eq!(e.file_enc_sha256, Some([2; 32]));
    assert_eq!(
        Expected::from_message(&[1; 31], &[], None),
        Err(MediaError::InvalidHashLength {
            which: HashKind::File,
            len: 31
        })
    );
    assert_eq!(
        Expected::from_message(&[], &[1; 33], None),
        Err(MediaError::InvalidHashLength {
            which: HashKind::EncFile,
            len: 33
        })
    );
}

#[test]
fn decrypt_in_place_reuses_the_buffer() {
    let k = keys(MediaType::Video);
    let m = encrypt(&k, &data(1 << 20, 9));
    let ptr = m.body.as_ptr();
    let out = decrypt_in_place(&k, m.body, &Expected::default()).unwrap();
    assert_eq!(out.as_ptr(), ptr);
    assert_eq!(out, data(1 << 20, 9));
}

#[test]
fn sidecar_of_streamable_media() {
    let k = keys(MediaType::Video);
    let m = encrypt(&k, &data(300_000, 1));
    let sc = sidecar::compute(&k, &m.body);
    assert_eq!(sc.len(), sidecar::sidecar_len(m.body.len()));
    assert_eq!(sc.len(), 50); // 300,026-byte body + IV = 300,042 bytes: 5 windows
    assert_eq!(sidecar::verify(&k, &m.body, &sc), Ok(()));
    let mut tampered = m.body.clone();
    tampered[200_000] ^= 1;
    assert_eq!(
        sidecar::verify(&k, &tampered, &sc),
        Err(MediaError::BadSidecar { window: 3 })
    );
}

/// Splits `data` at the given cut points (sorted, deduplicated, clamped).
fn split<'a>(data: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut out = Vec::new();
    let mut prev = 0;
    for c in cuts {
        out.push(&data[prev..c]);
        prev = c;
    }
    out.push(&data[prev..]);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn streaming_equals_one_shot(
        len in prop_oneof![0usize..100, 65_500usize..65_600, 0usize..300_000],
        seed: u8,
        enc_cuts in proptest::collection::vec(any::<usize>(), 0..12),
        dec_cuts in proptest::collection::vec(any::<usize>(), 0..12),
        type_idx in 0usize..MediaType::ALL.len(),
    ) {
        let t = MediaType::ALL[type_idx];
        let k = keys(t);
        let pt = data(len, seed);
        let one = encrypt(&k, &pt);

        let mut enc = wa_media::Encryptor::new(&k);
        let mut body = Vec::new();
        for piece in split(&pt, &enc_cuts) {
            enc.update(piece, &mut body);
        }
        let info = enc.finish(&mut body);
        prop_assert_eq!(&body, &one.body);
        prop_assert_eq!(info, one.info);

        let mut dec = Decryptor::new(&k, full_expected(&one));
        let mut out = Vec::new();
        for piece in split(&body, &dec_cuts) {
            dec.update(piece, &mut out);
        }
        prop_assert_eq!(dec.finish(&mut out), Ok(one.info));
        prop_assert_eq!(&out, &pt);

        let mut v = Verifier::new(&k, Some(one.info.file_enc_sha256));
        for piece in split(&body, &dec_cuts) {
            v.update(piece);
        }
        prop_assert_eq!(v.finish(), Ok(one.info.file_enc_sha256));

        let mut sb = wa_media::SidecarBuilder::new(&k);
        for piece in split(&body, &dec_cuts) {
            sb.update(piece);
        }
        prop_assert_eq!(sb.finish(), sidecar::compute(&k, &body));
    }

    #[test]
    fn decrypt_never_panics_on_garbage(body in proptest::collection::vec(any::<u8>(), 0..200)) {
        let k = keys(MediaType::Image);
        let one = decrypt(&k, &body, &Expected::default());
        prop_assert!(one.is_err());
        prop_assert_eq!(stream_decrypt(&k, &body, Expected::default(), 5), one);
    }
}
