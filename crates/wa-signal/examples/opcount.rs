//! Runs one operation of `benches/signal.rs` N times, for instruction counts under callgrind:
//! `valgrind --tool=callgrind target/release/examples/opcount OP N` for two values of N, the
//! difference of the totals divided by the difference of N. `benches-external/wacore-libsignal`
//! has the same driver for wacore-libsignal. OP is `session` (1:1 encrypt + decrypt), `x3dh`,
//! `group-encrypt`, `group-decrypt` (N messages encrypted first, then decrypted) or
//! `group-prepare` (the same N messages encrypted, not decrypted: subtract it from
//! `group-decrypt`).
#![allow(missing_docs)]

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::hint::black_box;
use wa_signal::wire::{PreKeySignalMessage, SenderKeyMessage, SignalMessage};
use wa_signal::{
    IdentityKeyPair, PreKeyBundle, PreKeyRecord, SenderKeyRecord, SessionRecord, SignedPreKeyRecord,
};

const PLAINTEXT: &[u8] = &[0x42; 128];

fn main() {
    let mut args = std::env::args().skip(1);
    let op = args.next().unwrap_or_default();
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let mut rng = ChaCha20Rng::seed_from_u64(2);

    // Bob's keys and bundle, as in the benchmark.
    let bob_identity = IdentityKeyPair::generate(&mut rng);
    let signed = SignedPreKeyRecord::generate(1, &bob_identity, &mut rng);
    let one_time = PreKeyRecord::generate(2, &mut rng);
    let bundle = PreKeyBundle {
        registration_id: 2,
        identity_key: *bob_identity.public(),
        signed_pre_key_id: 1,
        signed_pre_key: signed.key_pair.public,
        signed_pre_key_signature: signed.signature.to_vec(),
        pre_key: Some((2, one_time.key_pair.public)),
    };
    let alice_identity = IdentityKeyPair::generate(&mut rng);

    match op.as_str() {
        "session" => {
            let mut alice = SessionRecord::new();
            alice
                .initiate(&alice_identity, 1, &bundle, &mut rng)
                .unwrap();
            let first = alice.encrypt(PLAINTEXT).unwrap();
            let pk = PreKeySignalMessage::parse(first.serialized()).unwrap();
            let mut bob = SessionRecord::new();
            bob.decrypt_pre_key(
                &bob_identity,
                2,
                &pk,
                Some(&signed),
                Some(&one_time),
                &mut rng,
            )
            .unwrap();
            let reply = bob.encrypt(PLAINTEXT).unwrap();
            alice
                .decrypt(&SignalMessage::parse(reply.serialized()).unwrap(), &mut rng)
                .unwrap();
            for _ in 0..n {
                let m = alice.encrypt(black_box(PLAINTEXT)).unwrap();
                let parsed = SignalMessage::parse(m.serialized()).unwrap();
                black_box(bob.decrypt(&parsed, &mut rng).unwrap());
            }
        }
        "x3dh" => {
            for _ in 0..n {
                let mut rec = SessionRecord::new();
                rec.initiate(&alice_identity, 1, black_box(&bundle), &mut rng)
                    .unwrap();
                black_box(rec);
            }
        }
        "group-encrypt" | "group-decrypt" | "group-prepare" => {
            let mut ours = SenderKeyRecord::new();
            let mut receiver = SenderKeyRecord::new();
            receiver.process_distribution(&ours.create_distribution(&mut rng));
            if op == "group-encrypt" {
                for _ in 0..n {
                    black_box(ours.encrypt(black_box(PLAINTEXT), &mut rng).unwrap());
                }
                return;
            }
            let msgs: Vec<Vec<u8>> = (0..n)
                .map(|_| {
                    ours.encrypt(PLAINTEXT, &mut rng)
                        .unwrap()
                        .serialized()
                        .to_vec()
                })
                .collect();
            if op == "group-decrypt" {
                for bytes in &msgs {
                    let m = SenderKeyMessage::parse(bytes).unwrap();
                    black_box(receiver.decrypt(&m).unwrap());
                }
            }
            black_box(msgs);
        }
        _ => eprintln!("usage: opcount session|x3dh|group-encrypt|group-decrypt|group-prepare N"),
    }
}
