//! Media encryption and decryption throughput at 64 KiB (a photo thumbnail, one sidecar window)
//! and 8 MiB (a short video).
//!
//! - `media/encrypt/{size}`: one-shot [`wa_media::encrypt`] (AES-256-CBC, HMAC, both SHA-256s).
//! - `media/encrypt_stream/{size}`: [`wa_media::Encryptor`] fed 64 KiB chunks into a reused
//!   buffer, as an uploader streaming from disk would.
//! - `media/decrypt/{size}`: one-shot [`wa_media::decrypt`] with every check (`file_enc_sha256`,
//!   MAC, padding, length, `file_sha256`).
//! - `media/decrypt_stream/{size}`: [`wa_media::Decryptor`] fed 64 KiB chunks, same checks.
//! - `media/sidecar/{size}`: [`wa_media::sidecar::compute`].
//!
//! Throughput is plaintext bytes per second. After the criterion runs, the same sizes are timed
//! on Baileys 7 (`tests/interop/bench/media_baileys.mjs`, run with `node` when
//! `tests/interop/node_modules` exists; set `WA_BENCH_NO_BAILEYS=1` to skip it).
#![allow(missing_docs)]

use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;

use criterion::{Criterion, Throughput};
use wa_media::{Decryptor, Encryptor, Expected, MediaKeys, MediaType, decrypt, encrypt, sidecar};

const SIZES: [usize; 2] = [64 * 1024, 8 * 1024 * 1024];
const CHUNK: usize = 64 * 1024;

/// The plaintext the Node script uses too: byte `i` is `i * 31 + 7`.
fn plaintext(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(7))
        .collect()
}

fn bench(c: &mut Criterion) {
    let keys = MediaKeys::from_key(&[0x11; 32], MediaType::Video);
    let mut grp = c.benchmark_group("media");
    for size in SIZES {
        let pt = plaintext(size);
        let sent = encrypt(&keys, &pt);
        let expected = Expected {
            file_sha256: Some(sent.info.file_sha256),
            file_enc_sha256: Some(sent.info.file_enc_sha256),
            file_length: Some(sent.info.file_length),
        };
        grp.throughput(Throughput::Bytes(size as u64));
        if size > 1 << 20 {
            grp.sample_size(20);
        } else {
            grp.sample_size(100);
        }
        grp.bench_function(format!("encrypt/{size}"), |b| {
            b.iter(|| encrypt(&keys, black_box(&pt)))
        });
        grp.bench_function(format!("encrypt_stream/{size}"), |b| {
            let mut out = Vec::with_capacity(CHUNK + 32);
            b.iter(|| {
                let mut enc = Encryptor::new(&keys);
                for chunk in pt.chunks(CHUNK) {
                    out.clear();
                    enc.update(black_box(chunk), &mut out);
                }
                out.clear();
                enc.finish(&mut out)
            })
        });
        grp.bench_function(format!("decrypt/{size}"), |b| {
            b.iter(|| decrypt(&keys, black_box(&sent.body), &expected))
        });
        grp.bench_function(format!("decrypt_stream/{size}"), |b| {
            let mut out = Vec::with_capacity(CHUNK + 32);
            b.iter(|| {
                let mut dec = Decryptor::new(&keys, expected);
                for chunk in sent.body.chunks(CHUNK) {
                    out.clear();
                    dec.update(black_box(chunk), &mut out);
                }
                out.clear();
                dec.finish(&mut out)
            })
        });
        grp.bench_function(format!("sidecar/{size}"), |b| {
            b.iter(|| sidecar::compute(&keys, black_box(&sent.body)))
        });
    }
    grp.finish();
}

/// Runs the Baileys side of the comparison and prints its figures.
fn baileys() {
    // Only under `cargo bench` (criterion gets `--bench`), not when cargo test runs benches.
    let benching = std::env::args().any(|a| a == "--bench");
    if !benching || std::env::var_os("WA_BENCH_NO_BAILEYS").is_some() {
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let script = root.join("tests/interop/bench/media_baileys.mjs");
    if !root.join("tests/interop/node_modules/baileys").exists() {
        eprintln!("Baileys not installed under tests/interop: skipping the Node comparison");
        return;
    }
    let sizes = SIZES.map(|s| s.to_string()).join(",");
    match Command::new("node")
        .arg(&script)
        .arg(format!("--sizes={sizes}"))
        .status()
    {
        Ok(s) if s.success() => {}
        Ok(s) => eprintln!("media_baileys.mjs exited with {s}"),
        Err(e) => eprintln!("node not runnable ({e}): skipping the Baileys comparison"),
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
    baileys();
}
