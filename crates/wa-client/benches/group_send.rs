//! Group messaging with sender keys at the size of a large group: 1,024 other participants with
//! two devices each (2,048 devices).
//!
//! - `group/first_send_2048`: the first message, which creates our sender key and sends it
//!   pairwise-encrypted to all 2,048 devices, plus the `skmsg` (store reads and the commit
//!   included, in-memory store).
//! - `group/second_send_2048`: a following message (only the `skmsg`; the store says every
//!   device holds the key).
//! - `group/decrypt`: a recipient decrypting 1,000 consecutive `skmsg`s of one sender.
//!
//! After the criterion runs, the same operations are timed on Baileys 7
//! (`tests/interop/bench/group_baileys.mjs`, run with `node` when `tests/interop/node_modules`
//! exists; set `WA_BENCH_NO_BAILEYS=1` to skip it).
#![allow(missing_docs)]

use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;

use criterion::{BatchSize, Criterion, Throughput};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use wa_binary::Jid;
use wa_client::group::{self, GroupMessage};
use wa_proto::prost::Message as _;
use wa_signal::store::ProtocolAddress;
use wa_signal::wire::SenderKeyDistributionMessage;
use wa_signal::{
    IdentityKeyPair, PreKeyBundle, PreKeyRecord, SenderKeyRecord, SessionRecord, SignedPreKeyRecord,
};
use wa_store::{Changes, Container, Device, MemoryContainer, MemoryStore, Store};

const PARTICIPANTS: usize = 1_024;
const DECRYPTS: usize = 1_000;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

fn group_jid() -> Jid {
    "120363000000000777@g.us".parse().unwrap()
}

fn own_jid() -> Jid {
    "15550000000:3@s.whatsapp.net".parse().unwrap()
}

/// A text message of about the size of a chat line.
fn plaintext() -> Vec<u8> {
    wa_proto::proto::Message {
        conversation: Some("The meeting moved to 3 pm, room 2; bring the slides.".into()),
        ..Default::default()
    }
    .encode_to_vec()
}

/// The sender's store with a session (X3DH initiated, as after a prekey fetch) to each of the
/// 2,048 devices, and the device list of the group (ours first).
fn sender(rt: &tokio::runtime::Runtime) -> (MemoryStore, Vec<Jid>) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let store = rt
        .block_on(MemoryContainer::new().create(Device::generate(&mut rng)))
        .unwrap();
    let ours = rt.block_on(store.device()).unwrap();
    // One recipient key set, published under every address (the cost per device is the same).
    let identity = IdentityKeyPair::generate(&mut rng);
    let signed = SignedPreKeyRecord::generate(1, &identity, &mut rng);
    let one_time = PreKeyRecord::generate(2, &mut rng);
    let bundle = PreKeyBundle {
        registration_id: 7,
        identity_key: *identity.public(),
        signed_pre_key_id: signed.id,
        signed_pre_key: signed.key_pair.public,
        signed_pre_key_signature: signed.signature.to_vec(),
        pre_key: Some((one_time.id, one_time.key_pair.public)),
    };
    let mut devices = vec![own_jid()];
    let mut changes = Changes::new();
    for i in 0..PARTICIPANTS {
        for device in [0u16, 1] {
            let jid = Jid::new(format!("4917{i:08}"), wa_binary::Server::User).with_device(device);
            let mut session = SessionRecord::new();
            session
                .initiate(&ours.identity_key, ours.registration_id, &bundle, &mut rng)
                .unwrap();
            let address = ProtocolAddress::new(jid.signal_address_user(), u32::from(device));
            changes.put_session(address.clone(), &session);
            changes.put_identity(address, bundle.identity_key);
            devices.push(jid);
        }
    }
    rt.block_on(store.commit(changes)).unwrap();
    (store, devices)
}

fn bench(c: &mut Criterion) {
    let rt = runtime();
    let (store, devices) = sender(&rt);
    let (g, own, plaintext) = (group_jid(), own_jid(), plaintext());
    let message = GroupMessage {
        group: &g,
        own: &own,
        devices: &devices,
        plaintext: &plaintext,
        bundles: &[],
    };
    let mut rng = ChaCha20Rng::seed_from_u64(2);

    let mut grp = c.benchmark_group("group");
    grp.sample_size(10);
    grp.bench_function("first_send_2048", |b| {
        b.iter_batched(
            || {
                rt.block_on(group::rotate_sender_key(&store, &g, &own))
                    .unwrap()
            },
            |()| {
                let sent = rt
                    .block_on(group::encrypt_group_message(&store, &message, &mut rng))
                    .unwrap();
                assert_eq!(sent.distribution.len(), 2 * PARTICIPANTS);
                black_box(sent)
            },
            BatchSize::PerIteration,
        )
    });

    grp.sample_size(50);
    grp.bench_function("second_send_2048", |b| {
        b.iter(|| {
            let sent = rt
                .block_on(group::encrypt_group_message(&store, &message, &mut rng))
                .unwrap();
            assert!(sent.distribution.is_empty());
            black_box(sent)
        })
    });

    // A recipient holding the sender's key, and 1,000 consecutive messages of that sender.
    let recipient = rt
        .block_on(MemoryContainer::new().create(Device::generate(&mut rng)))
        .unwrap();
    let mut sender_record = SenderKeyRecord::new();
    let skdm = sender_record.create_distribution(&mut rng);
    let skdm = SenderKeyDistributionMessage::parse(skdm.serialized()).unwrap();
    let mut initial = SenderKeyRecord::new();
    initial.process_distribution(&skdm);
    let name = group::sender_key_name(&g, &own);
    let padded = {
        let mut p = plaintext.clone();
        p.extend([4u8; 4]);
        p
    };
    let messages: Vec<Vec<u8>> = (0..DECRYPTS)
        .map(|_| {
            (sender_record.encrypt(&padded, &mut rng).unwrap())
                .serialized()
                .to_vec()
        })
        .collect();
    grp.sample_size(10);
    grp.throughput(Throughput::Elements(DECRYPTS as u64));
    grp.bench_function("decrypt", |b| {
        b.iter_batched(
            || {
                let mut reset = Changes::new();
                reset.put_sender_key(name.clone(), &initial);
                rt.block_on(recipient.commit(reset)).unwrap();
            },
            |()| {
                for m in &messages {
                    let out = rt
                        .block_on(group::decrypt_group_message(&recipient, &g, &own, m))
                        .unwrap();
                    black_box(out);
                }
            },
            BatchSize::PerIteration,
        )
    });
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
    let script = root.join("tests/interop/bench/group_baileys.mjs");
    if !root.join("tests/interop/node_modules/baileys").exists() {
        eprintln!("Baileys not installed under tests/interop: skipping the Node comparison");
        return;
    }
    let args = [
        format!("--participants={PARTICIPANTS}"),
        format!("--decrypts={DECRYPTS}"),
    ];
    match Command::new("node").arg(&script).args(&args).status() {
        Ok(s) if s.success() => {}
        Ok(s) => eprintln!("group_baileys.mjs exited with {s}"),
        Err(e) => eprintln!("node not runnable ({e}): skipping the Baileys comparison"),
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
    baileys();
}
