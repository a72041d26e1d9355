//! wa-media against Baileys 7 (`lib/Utils/messages-media.js`) through the Node oracle
//! (`tests/interop/commands/media.mjs`).
//!
//! - The same media key expands to the same IV, cipher key and MAC key for every media type,
//!   and the HKDF labels are Baileys' `hkdfInfoKey`.
//! - Files Baileys encrypts (`encryptedStream`, its own random key) decrypt with ours, one-shot
//!   and streaming, with every hash and the length checked; re-encrypting the plaintext under
//!   Baileys' key gives the same body, MAC and hashes byte for byte.
//! - Files we encrypt decrypt with Baileys (`downloadContentFromMessage`).
//! - Sidecars equal an independent JavaScript implementation of the definition (Baileys 7 has
//!   no sidecar code).
//! - The `<media_conn>` query we marshal decodes in Baileys to the node its `refreshMediaConn`
//!   sends, and a reply Baileys encodes parses with ours after `wa_binary::decode_frame`.
//! - Pinned differences: Baileys drops the base64 padding of the upload token (whatsmeow and we
//!   keep it), and Baileys does not check the MAC when downloading (we do).

use serde_json::{Value, json};
use wa_media::{Decryptor, Expected, MediaError, MediaKeys, MediaType, decrypt, encrypt, sidecar};
use wa_tests::oracle;

fn call(cmd: &str, params: Value) -> Value {
    oracle::call(cmd, params).unwrap_or_else(|e| panic!("oracle {cmd}: {e}"))
}

fn unhex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("valid hex")
}

fn arr32(v: &Value) -> [u8; 32] {
    unhex(v).try_into().expect("32 bytes")
}

/// Deterministic test bytes (SplitMix64).
fn bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut s = seed;
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(n);
    out
}

const SIZES: [usize; 10] = [0, 1, 15, 16, 17, 1000, 65_535, 65_536, 65_537, 300_000];

#[test]
fn same_media_key_same_expanded_keys() {
    for (i, t) in MediaType::ALL.into_iter().enumerate() {
        for k in 0..4u64 {
            let media_key = bytes(1000 + 10 * i as u64 + k, 32);
            let theirs = call(
                "media.keys",
                json!({"mediaKey": hex::encode(&media_key), "type": t.baileys_name()}),
            );
            let ours = MediaKeys::derive(&media_key, t).unwrap();
            assert_eq!(theirs["info"], t.hkdf_info(), "{t}");
            assert_eq!(unhex(&theirs["iv"]), ours.iv(), "{t}");
            assert_eq!(unhex(&theirs["cipherKey"]), ours.cipher_key(), "{t}");
            assert_eq!(unhex(&theirs["macKey"]), ours.mac_key(), "{t}");
        }
    }
}

#[test]
fn baileys_encrypts_we_decrypt_and_reproduce() {
    let mut checked = 0;
    for (i, t) in MediaType::ALL.into_iter().enumerate() {
        for (j, size) in SIZES.into_iter().enumerate() {
            // Every size for four types, the small sizes for the rest.
            let all_sizes = matches!(
                t,
                MediaType::Image | MediaType::Video | MediaType::Ptt | MediaType::History
            );
            if !all_sizes && size > 1000 {
                continue;
            }
            let pt = bytes((i * 100 + j) as u64, size);
            let r = call(
                "media.encrypt",
                json!({"plaintext": hex::encode(&pt), "type": t.baileys_name()}),
            );
            let body = unhex(&r["body"]);
            let keys = MediaKeys::derive(&unhex(&r["mediaKey"]), t).unwrap();
            let expected = Expected {
                file_sha256: Some(arr32(&r["fileSha256"])),
                file_enc_sha256: Some(arr32(&r["fileEncSha256"])),
                file_length: r["fileLength"].as_u64(),
            };
            assert_eq!(decrypt(&keys, &body, &expected).unwrap(), pt, "{t} {size}");

            let mut dec = Decryptor::new(&keys, expected);
            let mut out = Vec::new();
            for chunk in body.chunks(4093) {
                dec.update(chunk, &mut out);
            }
            let info = dec.finish(&mut out).unwrap();
            assert_eq!(out, pt, "{t} {size} streaming");

            let ours = encrypt(&keys, &pt);
            assert_eq!(ours.body, body, "{t} {size}: same key, same body");
            assert_eq!(ours.info, info);
            assert_eq!(ours.info.mac.as_slice(), unhex(&r["mac"]));
            assert_eq!(Some(ours.info.file_sha256), expected.file_sha256);
            assert_eq!(Some(ours.info.file_enc_sha256), expected.file_enc_sha256);
            assert_eq!(Some(ours.info.file_length), expected.file_length);
            checked += 1;
        }
    }
    assert_eq!(checked, 4 * SIZES.len() + 7 * 6);
}

#[test]
fn we_encrypt_baileys_decrypts() {
    for (i, t) in [
        MediaType::Image,
        MediaType::Video,
        MediaType::Audio,
        MediaType::Document,
        MediaType::Sticker,
        MediaType::AppState,
        MediaType::LinkThumbnail,
    ]
    .into_iter()
    .enumerate()
    {
        for (j, size) in SIZES.into_iter().enumerate() {
            let media_key = bytes(5000 + (i * 100 + j) as u64, 32);
            let keys = MediaKeys::derive(&media_key, t).unwrap();
            let pt = bytes(7000 + (i * 100 + j) as u64, size);
            let sent = encrypt(&keys, &pt);
            let theirs = call(
                "media.decrypt",
                json!({
                    "mediaKey": hex::encode(&media_key),
                    "type": t.baileys_name(),
                    "body": hex::encode(&sent.body),
                }),
            );
            assert_eq!(unhex(&theirs), pt, "{t} {size}");
        }
    }
}

#[test]
fn sidecars_equal() {
    for (i, t) in [MediaType::Video, MediaType::Audio, MediaType::Ptt]
        .into_iter()
        .enumerate()
    {
        for (j, size) in [0usize, 65_509, 65_510, 65_526, 131_000, 300_000]
            .into_iter()
            .enumerate()
        {
            let media_key = bytes(9000 + (i * 100 + j) as u64, 32);
            let keys = MediaKeys::derive(&media_key, t).unwrap();
            let sent = encrypt(&keys, &bytes(j as u64, size));
            let theirs = unhex(&call(
                "media.sidecar",
                json!({
                    "mediaKey": hex::encode(&media_key),
                    "type": t.baileys_name(),
                    "body": hex::encode(&sent.body),
                }),
            ));
            let ours = sidecar::compute(&keys, &sent.body);
            assert_eq!(ours, theirs, "{t} {size}");
            assert_eq!(ours.len(), sidecar::sidecar_len(sent.body.len()));
            assert_eq!(sidecar::verify(&keys, &sent.body, &theirs), Ok(()));
        }
    }
}

/// Known difference: Baileys strips the `=` padding from the upload token; whatsmeow (and this
/// crate) send the padded URL-safe base64. Without the padding the two are the same string.
#[test]
fn upload_token_differs_only_by_padding() {
    let hash: [u8; 32] = bytes(42, 32).try_into().unwrap();
    let theirs = call(
        "media.uploadToken",
        json!({"fileEncSha256": hex::encode(hash)}),
    );
    let theirs = theirs.as_str().unwrap();
    let reply = wa_binary::Node::new("media_conn")
        .attr("auth", "a")
        .attr("ttl", "1")
        .child(
            wa_binary::Node::new("host")
                .attr("hostname", "mmg.whatsapp.net")
                .build(),
        )
        .build();
    let conn = wa_media::MediaConn::from_node(&reply).unwrap();
    let url = &conn.upload_urls(MediaType::Image, &hash)[0];
    let path_token = url
        .strip_prefix("https://mmg.whatsapp.net/mms/image/")
        .and_then(|rest| rest.split('?').next())
        .unwrap();
    assert!(path_token.ends_with('='));
    assert_eq!(path_token.trim_end_matches('='), theirs);
}

/// Known difference: Baileys' download path decrypts without checking the MAC, so a body with a
/// flipped ciphertext bit comes back as (corrupted) plaintext; we refuse it.
#[test]
fn baileys_does_not_check_the_mac() {
    let media_key = bytes(77, 32);
    let keys = MediaKeys::derive(&media_key, MediaType::Document).unwrap();
    let pt = bytes(78, 4096);
    let mut body = encrypt(&keys, &pt).body;
    body[0] ^= 0x80;
    let theirs = unhex(&call(
        "media.decrypt",
        json!({"mediaKey": hex::encode(&media_key), "type": "document", "body": hex::encode(&body)}),
    ));
    assert_eq!(theirs.len(), pt.len());
    assert_ne!(theirs, pt);
    assert_eq!(
        decrypt(&keys, &body, &Expected::default()),
        Err(MediaError::BadMac)
    );
}

/// The query node on the wire, and a reply encoded by Baileys' `encodeBinaryNode`.
#[test]
fn media_conn_query_and_reply_on_the_wire() {
    let ours = wa_binary::marshal(&wa_media::MediaConn::request_node("7.2-1"));
    let decoded = call("binary.decode", json!([hex::encode(&ours)]));
    // Baileys spells the server JID (empty user) "@s.whatsapp.net": its own S_WHATSAPP_NET.
    assert_eq!(
        decoded[0]["ok"],
        json!({
            "tag": "iq",
            "attrs": [["id", "7.2-1"], ["to", "@s.whatsapp.net"], ["type", "set"], ["xmlns", "w:m"]],
            "content": [{"tag": "media_conn", "attrs": [], "content": null}],
        })
    );

    let reply = json!({
        "tag": "iq",
        "attrs": [["from", "s.whatsapp.net"], ["id", "7.2-1"], ["type", "result"]],
        "content": [{
            "tag": "media_conn",
            "attrs": [["auth", "AWQ9+x/Yz="], ["ttl", "300"], ["auth_ttl", "21600"], ["max_buckets", "12"]],
            "content": [
                {"tag": "host", "attrs": [["hostname", "mmg.whatsapp.net"]], "content": null},
                {"tag": "host", "attrs": [["hostname", "media-fra5-1.cdn.whatsapp.net"],
                    ["maxContentLengthBytes", "104857600"]], "content": null},
            ],
        }],
    });
    let frame = call("binary.encode", json!([reply]));
    let frame = unhex(&frame[0]["ok"]);
    let node = wa_binary::decode_frame(&frame).unwrap();
    let conn = wa_media::MediaConn::from_node(&node).unwrap();
    assert_eq!(conn.auth, "AWQ9+x/Yz=");
    assert_eq!(conn.ttl, std::time::Duration::from_secs(300));
    assert_eq!(conn.max_buckets, Some(12));
    let hosts: Vec<_> = conn.hosts.iter().map(|h| h.hostname.as_str()).collect();
    assert_eq!(hosts, ["mmg.whatsapp.net", "media-fra5-1.cdn.whatsapp.net"]);
    assert_eq!(conn.hosts[1].max_content_length, Some(104_857_600));
    let url = &conn.upload_urls(MediaType::Video, &[0; 32])[1];
    assert!(url.starts_with("https://media-fra5-1.cdn.whatsapp.net/mms/video/"));
    assert!(url.contains("?auth=AWQ9%2Bx%2FYz%3D&token="));
}
