//! Transport throughput next to raw AES-256-GCM (ring and RustCrypto `aes-gcm`) on the same
//! buffers, and the cost of a full handshake (client plus server, certificate check included).

#![allow(missing_docs)]

use std::hint::black_box;

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce as RcNonce};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use wa_noise::{
    CertIssuer, ClientConfig, ExpectClientHello, KeyPair, ServerConfig, Transport, client_hello,
};

const NOW: u64 = 1_750_000_000;
const SIZES: [(usize, &str); 2] = [(1024, "1KiB"), (64 * 1024, "64KiB")];

struct Setup {
    issuer: CertIssuer,
    server: ServerConfig,
    client_static: KeyPair,
}

fn setup() -> Setup {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let issuer = CertIssuer::new(KeyPair::generate(&mut rng), 0, KeyPair::generate(&mut rng));
    let static_key = KeyPair::generate(&mut rng);
    let cert_chain = issuer.issue(static_key.public(), 1, &mut rng);
    Setup {
        issuer,
        server: ServerConfig {
            static_key,
            cert_chain,
        },
        client_static: KeyPair::generate(&mut rng),
    }
}

fn handshake(s: &Setup, rng: &mut ChaCha20Rng) -> (Transport, Transport) {
    let cfg = ClientConfig::new(s.client_static.clone()).with_trust_root(s.issuer.trust_root());
    let (c, hello) = client_hello(cfg, KeyPair::generate(rng)).unwrap();
    let (srv, sh) = ExpectClientHello::new(s.server.clone())
        .read_client_hello(&Default::default(), &hello, KeyPair::generate(rng))
        .unwrap();
    let (finish, ct) = c
        .read_server_hello(&sh, NOW)
        .unwrap()
        .finish(b"payload")
        .unwrap();
    let done = srv.read_client_finish(&finish).unwrap();
    (ct, done.transport)
}

fn nonce() -> [u8; 12] {
    let mut n = [0u8; 12];
    n[11] = 1;
    n
}

fn seal(c: &mut Criterion) {
    let s = setup();
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let key = [7u8; 32];
    let ring_key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).unwrap());
    let rc_key = Aes256Gcm::new(&key.into());
    for (size, name) in SIZES {
        let mut g = c.benchmark_group(format!("seal/{name}"));
        g.throughput(Throughput::Bytes(size as u64));
        let plain = vec![0x61u8; size];
        let mut buf = Vec::with_capacity(size + 64);

        let (mut client, _server) = handshake(&s, &mut rng);
        g.bench_function("wa-noise encrypt_frame", |b| {
            b.iter(|| {
                buf.clear();
                client.encrypt_frame(black_box(&plain), &mut buf).unwrap();
                black_box(&buf);
            })
        });
        // In place, no plaintext copy (re-encrypting the previous output; AES-GCM's cost does
        // not depend on the bytes), as `openssl speed` measures.
        let mut inplace = plain.clone();
        g.bench_function("wa-noise encrypt_in_place", |b| {
            b.iter(|| {
                inplace.truncate(size);
                client.encrypt_in_place(black_box(&mut inplace)).unwrap();
            })
        });
        g.bench_function("ring raw in place", |b| {
            b.iter(|| {
                inplace.truncate(size);
                let tag = ring_key
                    .seal_in_place_separate_tag(
                        Nonce::assume_unique_for_key(nonce()),
                        Aad::empty(),
                        black_box(&mut inplace),
                    )
                    .unwrap();
                inplace.extend_from_slice(tag.as_ref());
            })
        });
        g.bench_function("ring raw", |b| {
            b.iter(|| {
                buf.clear();
                buf.extend_from_slice(black_box(&plain));
                let tag = ring_key
                    .seal_in_place_separate_tag(
                        Nonce::assume_unique_for_key(nonce()),
                        Aad::empty(),
                        &mut buf,
                    )
                    .unwrap();
                buf.extend_from_slice(tag.as_ref());
                black_box(&buf);
            })
        });
        g.bench_function("aes-gcm raw", |b| {
            b.iter(|| {
                buf.clear();
                buf.extend_from_slice(black_box(&plain));
                let tag = rc_key
                    .encrypt_inout_detached(&RcNonce::from(nonce()), &[], buf.as_mut_slice().into())
                    .unwrap();
                buf.extend_from_slice(tag.as_slice());
                black_box(&buf);
            })
        });
        g.finish();
    }
}

fn open(c: &mut Criterion) {
    let s = setup();
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let key = [7u8; 32];
    let ring_key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).unwrap());
    let rc_key = Aes256Gcm::new(&key.into());
    for (size, name) in SIZES {
        let mut g = c.benchmark_group(format!("open/{name}"));
        g.throughput(Throughput::Bytes(size as u64));
        let plain = vec![0x62u8; size];

        // The sender seals in the (untimed) setup, the receiver opens in the timed routine; both
        // counters advance in lockstep.
        let (mut client, mut server) = handshake(&s, &mut rng);
        g.bench_function("wa-noise decrypt_in_place", |b| {
            b.iter_batched_ref(
                || client.encrypt(&plain).unwrap(),
                |ct| {
                    black_box(server.decrypt_in_place(ct).unwrap());
                },
                BatchSize::LargeInput,
            )
        });

        let mut ring_ct = plain.clone();
        let tag = ring_key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce()),
                Aad::empty(),
                &mut ring_ct,
            )
            .unwrap();
        ring_ct.extend_from_slice(tag.as_ref());
        g.bench_function("ring raw", |b| {
            b.iter_batched_ref(
                || ring_ct.clone(),
                |ct| {
                    black_box(
                        ring_key
                            .open_in_place(Nonce::assume_unique_for_key(nonce()), Aad::empty(), ct)
                            .unwrap(),
                    );
                },
                BatchSize::LargeInput,
            )
        });
        g.bench_function("aes-gcm raw", |b| {
            b.iter_batched_ref(
                || ring_ct.clone(),
                |ct| {
                    let (body, tag) = ct.split_at_mut(size);
                    let tag = aes_gcm::Tag::try_from(&*tag).unwrap();
                    rc_key
                        .decrypt_inout_detached(&RcNonce::from(nonce()), &[], body.into(), &tag)
                        .unwrap();
                    black_box(body);
                },
                BatchSize::LargeInput,
            )
        });
        g.finish();
    }
}

fn full_handshake(c: &mut Criterion) {
    let s = setup();
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    c.bench_function("handshake/client+server", |b| {
        b.iter(|| black_box(handshake(&s, &mut rng)))
    });
}

criterion_group!(benches, seal, open, full_handshake);
criterion_main!(benches);
