//! Store throughput on both backends: session, sender-key and identity reads and writes, 1,000
//! one-time prekeys generated and stored, 10,000 contacts upserted in one commit.
//!
//! `cargo bench -p wa-store --bench store`. The SQLite file lives in a temp dir; every write is
//! one transaction with `synchronous=FULL`, so write figures include an fsync.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use wa_signal::store::{ProtocolAddress, SenderKeyName};
use wa_signal::{IdentityKeyPair, SenderKeyRecord};
use wa_store::conformance::{block_on, session_record};
use wa_store::{
    Changes, ContactInfo, Container, Device, MemoryContainer, SqliteContainer, Store,
    generate_pre_keys,
};

/// A backend under test: its name, a store handle, and what keeps its files alive.
struct Backend {
    name: &'static str,
    store: Box<dyn Store>,
    _dir: Option<tempfile::TempDir>,
}

fn backends() -> Vec<Backend> {
    let device = || Device::generate(&mut ChaCha20Rng::seed_from_u64(1));
    let memory = block_on(MemoryContainer::new().create(device())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = block_on(async {
        let c = SqliteContainer::open(dir.path().join("bench.db"))
            .await
            .unwrap();
        c.create(device()).await.unwrap()
    });
    vec![
        Backend {
            name: "memory",
            store: Box::new(memory),
            _dir: None,
        },
        Backend {
            name: "sqlite",
            store: Box::new(sqlite),
            _dir: Some(dir),
        },
    ]
}

fn bench(c: &mut Criterion) {
    let backends = backends();
    let address = ProtocolAddress::new("15551234567", 3);
    let session = session_record(7);
    let name = SenderKeyName {
        group_id: "120363000000000000@g.us".into(),
        sender: address.clone(),
    };
    let mut sender_key = SenderKeyRecord::new();
    sender_key.create_distribution(&mut ChaCha20Rng::seed_from_u64(2));
    let identity = *IdentityKeyPair::generate(&mut ChaCha20Rng::seed_from_u64(3)).public();
    for b in &backends {
        let mut ch = Changes::new();
        ch.put_session(address.clone(), &session)
            .put_sender_key(name.clone(), &sender_key)
            .put_identity(address.clone(), identity);
        block_on(b.store.commit(ch)).unwrap();
    }

    let mut g = c.benchmark_group("store");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    g.throughput(Throughput::Elements(1));
    for b in &backends {
        let s = &*b.store;
        g.bench_function(BenchmarkId::new("session_load", b.name), |x| {
            x.iter(|| black_box(block_on(s.session(&address)).unwrap()))
        });
        g.bench_function(BenchmarkId::new("session_store", b.name), |x| {
            x.iter(|| {
                let mut ch = Changes::new();
                ch.put_session(address.clone(), &session);
                block_on(s.commit(ch)).unwrap()
            })
        });
        g.bench_function(BenchmarkId::new("sender_key_load", b.name), |x| {
            x.iter(|| black_box(block_on(s.sender_key(&name)).unwrap()))
        });
        g.bench_function(BenchmarkId::new("sender_key_store", b.name), |x| {
            x.iter(|| {
                let mut ch = Changes::new();
                ch.put_sender_key(name.clone(), &sender_key);
                block_on(s.commit(ch)).unwrap()
            })
        });
        g.bench_function(BenchmarkId::new("identity_lookup", b.name), |x| {
            x.iter(|| black_box(block_on(s.identity(&address)).unwrap()))
        });
    }
    g.throughput(Throughput::Elements(1_000));
    for b in &backends {
        let s = &*b.store;
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        g.bench_function(
            BenchmarkId::new("prekeys_generate_store_1000", b.name),
            |x| x.iter(|| black_box(block_on(generate_pre_keys(s, 1_000, &mut rng)).unwrap())),
        );
    }
    let contacts: Vec<(wa_binary::Jid, ContactInfo)> = (0..10_000u64)
        .map(|i| {
            let jid = format!("{}@s.whatsapp.net", 15_550_000_000 + i)
                .parse()
                .unwrap();
            let info = ContactInfo {
                first_name: Some(format!("First{i}")),
                full_name: Some(format!("First{i} Last")),
                push_name: Some(format!("push{i}")),
                business_name: None,
            };
            (jid, info)
        })
        .collect();
    g.throughput(Throughput::Elements(10_000));
    g.sample_size(10);
    for b in &backends {
        let s = &*b.store;
        g.bench_function(
            BenchmarkId::new("contacts_upsert_10000_one_commit", b.name),
            |x| {
                x.iter(|| {
                    let mut ch = Changes::new();
                    for (jid, info) in &contacts {
                        ch.upsert_contact(jid.clone(), info.clone());
                    }
                    block_on(s.commit(ch)).unwrap()
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
