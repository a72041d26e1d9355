//! wa-signal throughput: 1:1 encrypt + decrypt, X3DH session setup, sender-key encrypt and
//! decrypt (and a new sender's first three messages). `benches-external/wacore-libsignal` measures the same operations on wacore-libsignal.
#![allow(missing_docs)]

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::hint::black_box;
use wa_signal::wire::{PreKeySignalMessage, SenderKeyMessage, SignalMessage};
use wa_signal::{
    IdentityKeyPair, PreKeyBundle, PreKeyRecord, SenderKeyRecord, SessionRecord, SignedPreKeyRecord,
};

const PLAINTEXT: &[u8] = &[0x42; 128];

struct Bob {
    identity: IdentityKeyPair,
    signed: SignedPreKeyRecord,
    one_time: PreKeyRecord,
    bundle: PreKeyBundle,
}

fn bob(rng: &mut ChaCha20Rng) -> Bob {
    let identity = IdentityKeyPair::generate(rng);
    let signed = SignedPreKeyRecord::generate(1, &identity, rng);
    let one_time = PreKeyRecord::generate(2, rng);
    let bundle = PreKeyBundle {
        registration_id: 2,
        identity_key: *identity.public(),
        signed_pre_key_id: 1,
        signed_pre_key: signed.key_pair.public,
        signed_pre_key_signature: signed.signature.to_vec(),
        pre_key: Some((2, one_time.key_pair.public)),
    };
    Bob {
        identity,
        signed,
        one_time,
        bundle,
    }
}

/// Alice and Bob after one round trip (plain `msg` from then on).
fn established(rng: &mut ChaCha20Rng) -> (SessionRecord, SessionRecord) {
    let b = bob(rng);
    let alice_identity = IdentityKeyPair::generate(rng);
    let mut alice = SessionRecord::new();
    alice.initiate(&alice_identity, 1, &b.bundle, rng).unwrap();
    let first = alice.encrypt(PLAINTEXT).unwrap();
    let pk = PreKeySignalMessage::parse(first.serialized()).unwrap();
    let mut bob_rec = SessionRecord::new();
    bob_rec
        .decrypt_pre_key(&b.identity, 2, &pk, Some(&b.signed), Some(&b.one_time), rng)
        .unwrap();
    let reply = bob_rec.encrypt(PLAINTEXT).unwrap();
    alice
        .decrypt(&SignalMessage::parse(reply.serialized()).unwrap(), rng)
        .unwrap();
    (alice, bob_rec)
}

fn session(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let (mut alice, mut bob_rec) = established(&mut rng);
    c.bench_function("session/encrypt+decrypt", |b| {
        b.iter(|| {
            let m = alice.encrypt(black_box(PLAINTEXT)).unwrap();
            let parsed = SignalMessage::parse(m.serialized()).unwrap();
            black_box(bob_rec.decrypt(&parsed, &mut rng).unwrap())
        })
    });

    let b = bob(&mut rng);
    let alice_identity = IdentityKeyPair::generate(&mut rng);
    c.bench_function("session/x3dh_initiate", |bch| {
        bch.iter(|| {
            let mut rec = SessionRecord::new();
            rec.initiate(&alice_identity, 1, black_box(&b.bundle), &mut rng)
                .unwrap();
            black_box(rec)
        })
    });
}

fn sender_keys(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let mut ours = SenderKeyRecord::new();
    ours.create_distribution(&mut rng);
    c.bench_function("group/encrypt", |b| {
        b.iter(|| black_box(ours.encrypt(black_box(PLAINTEXT), &mut rng).unwrap()))
    });
    // A separate sender for decryption, so the receiver never falls 2,000 iterations behind.
    let mut sender = SenderKeyRecord::new();
    let mut receiver = SenderKeyRecord::new();
    receiver.process_distribution(&sender.create_distribution(&mut rng));
    c.bench_function("group/decrypt", |b| {
        b.iter_batched(
            || {
                sender
                    .encrypt(PLAINTEXT, &mut rng)
                    .unwrap()
                    .serialized()
                    .to_vec()
            },
            |bytes| {
                let m = SenderKeyMessage::parse(&bytes).unwrap();
                black_box(receiver.decrypt(&m).unwrap())
            },
            BatchSize::SmallInput,
        )
    });
    // A sender never seen before: its distribution, then its first 3 or 8 messages. With 3 all
    // are checked without a comb table; with 8 the fourth builds one and the last five use it.
    for count in [3usize, 8] {
        c.bench_function(&format!("group/new_sender_{count}_messages"), |b| {
            b.iter_batched(
                || {
                    let mut sender = SenderKeyRecord::new();
                    let distribution = sender.create_distribution(&mut rng);
                    let messages: Vec<Vec<u8>> = (0..count)
                        .map(|_| {
                            sender
                                .encrypt(PLAINTEXT, &mut rng)
                                .unwrap()
                                .serialized()
                                .to_vec()
                        })
                        .collect();
                    (distribution, messages)
                },
                |(distribution, messages)| {
                    let mut receiver = SenderKeyRecord::new();
                    receiver.process_distribution(&distribution);
                    for bytes in &messages {
                        let m = SenderKeyMessage::parse(bytes).unwrap();
                        black_box(receiver.decrypt(&m).unwrap());
                    }
                },
                BatchSize::SmallInput,
            )
        });
    }
}

criterion_group!(benches, session, sender_keys);
criterion_main!(benches);
