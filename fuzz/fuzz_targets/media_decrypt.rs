//! Arbitrary bytes as a downloaded media body, decrypted one-shot and streaming (chunk size from
//! the first byte) under a fixed key: both must give the same typed result, never a panic, and
//! the MAC-only `Verifier` must agree. The same bytes as plaintext must round-trip,
//! stream-encrypted identically to one-shot. The bytes decoded as a stanza go to the
//! `<media_conn>` reply parser, and a parsed reply plans URLs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wa_media::{
    Decryptor, Encryptor, Expected, MediaConn, MediaError, MediaKeys, MediaType, Verifier, decrypt,
    encrypt, sidecar,
};

fuzz_target!(|data: &[u8]| {
    let keys = MediaKeys::from_key(&[0x24; 32], MediaType::Video);
    let chunk = usize::from(data.first().copied().unwrap_or(1)).max(1);

    let one = decrypt(&keys, data, &Expected::default());
    let mut dec = Decryptor::new(&keys, Expected::default());
    let mut out = Vec::new();
    for c in data.chunks(chunk) {
        dec.update(c, &mut out);
    }
    let streamed = dec.finish(&mut out).map(|_| out);
    assert_eq!(one, streamed);

    let mut v = Verifier::new(&keys, None);
    data.chunks(chunk).for_each(|c| v.update(c));
    match (&one, v.finish()) {
        (Ok(_), verified) => assert!(verified.is_ok()),
        (Err(MediaError::BadPadding), verified) => assert!(verified.is_ok()),
        (Err(e), verified) => assert_eq!(verified.err().as_ref(), Some(e)),
    }

    let sent = encrypt(&keys, data);
    let mut enc = Encryptor::new(&keys);
    let mut body = Vec::new();
    for c in data.chunks(chunk) {
        enc.update(c, &mut body);
    }
    assert_eq!(enc.finish(&mut body), sent.info);
    assert_eq!(body, sent.body);
    assert_eq!(
        decrypt(&keys, &sent.body, &Expected::default()).as_deref(),
        Ok(data)
    );
    let sc = sidecar::compute(&keys, &sent.body);
    assert_eq!(sidecar::verify(&keys, &sent.body, &sc), Ok(()));

    if let Ok(node) = wa_binary::unmarshal(data) {
        if let Ok(conn) = MediaConn::from_node(&node) {
            let _ = conn.upload_urls(MediaType::Image, &sent.info.file_enc_sha256);
            let _ = conn.download_urls("/v/t62/x.enc?ccb=1", MediaType::Audio, None);
        }
    }
});
