//! SQLite-specific behaviour: migrations, file mode, pragmas, corrupt rows, persistence.

use std::path::Path;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use wa_signal::store::ProtocolAddress;
use wa_store::conformance::{block_on, session_record};
use wa_store::sqlite::schema::LATEST_VERSION;
use wa_store::{
    BufferedEvent, Changes, ContactInfo, Container, Device, OutgoingMessage, SqliteContainer,
    Store, StoreError,
};

fn device(seed: u64) -> Device {
    let mut d = Device::generate(&mut ChaCha20Rng::seed_from_u64(seed));
    d.jid = Some(format!("{seed}:2@s.whatsapp.net").parse().unwrap());
    d
}

fn raw(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

#[test]
fn empty_file_migrates_to_latest_with_wal_fk_full_sync() {
    block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        let c = SqliteContainer::open(&path).await.unwrap();
        assert_eq!(c.schema_version().await.unwrap(), LATEST_VERSION);
        assert_eq!(LATEST_VERSION, 4);
        assert_eq!(c.pragma("journal_mode").await.unwrap(), "wal");
        assert_eq!(c.pragma("foreign_keys").await.unwrap(), "1");
        assert_eq!(c.pragma("synchronous").await.unwrap(), "2", "FULL");
        assert_eq!(c.integrity_check().await.unwrap(), vec!["ok".to_owned()]);
        assert!(matches!(
            c.pragma("x; DROP TABLE devices").await,
            Err(StoreError::InvalidInput(_))
        ));
        // Reopening an up-to-date file changes nothing.
        drop(c);
        let c = SqliteContainer::open(&path).await.unwrap();
        assert_eq!(c.schema_version().await.unwrap(), LATEST_VERSION);
    });
}

/// Writes what schema `version` can hold, upgrades, and checks it all survived.
fn migrate_from(version: i64) {
    block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        let old = SqliteContainer::open_at_version(&path, version)
            .await
            .unwrap();
        assert_eq!(old.schema_version().await.unwrap(), version);
        let alice = ProtocolAddress::new("alice", 1);
        let contact = "77@s.whatsapp.net".parse().unwrap();
        if version >= 1 {
            let store = old.create(device(1)).await.unwrap();
            let mut ch = Changes::new();
            ch.put_session(alice.clone(), &session_record(3));
            if version >= 2 {
                let info = ContactInfo {
                    full_name: Some("Old Friend".into()),
                    ..ContactInfo::default()
                };
                ch.upsert_contact(Clone::clone(&contact), info);
            }
            store.commit(ch).await.unwrap();
        }
        drop(old);

        let c = SqliteContainer::open(&path).await.unwrap();
        assert_eq!(c.schema_version().await.unwrap(), LATEST_VERSION);
        assert_eq!(c.integrity_check().await.unwrap(), vec!["ok".to_owned()]);
        let store = match c.list().await.unwrap().first() {
            Some(d) => c.get(d.id).await.unwrap().unwrap(),
            None => c.create(device(1)).await.unwrap(),
        };
        if version >= 1 {
            let got = store.session(&alice).await.unwrap().unwrap();
            assert_eq!(got.serialize(), session_record(3).serialize());
        }
        if version >= 2 {
            let got = store.contact(&contact).await.unwrap().unwrap();
            assert_eq!(got.full_name.as_deref(), Some("Old Friend"));
        }
        // Tables of every later version work.
        let mut ch = Changes::new();
        ch.put_outgoing_message(OutgoingMessage {
            chat: Clone::clone(&contact),
            id: "m".into(),
            payload: vec![1],
        })
        .upsert_contact(Clone::clone(&contact), ContactInfo::default())
        .buffer_event(BufferedEvent {
            hash: [1; 32],
            plaintext: Some(vec![2]),
            server_timestamp: 1,
            inserted_at: 1,
        });
        store.commit(ch).await.unwrap();
        assert_eq!(store.pending_events().await.unwrap().len(), 1);
    });
}

#[test]
fn migrates_from_every_earlier_version() {
    for version in 0..LATEST_VERSION {
        migrate_from(version);
    }
}

#[test]
fn newer_schema_is_refused() {
    block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.db");
        drop(SqliteContainer::open(&path).await.unwrap());
        raw(&path)
            .execute("UPDATE schema_version SET version = 99", [])
            .unwrap();
        let err = SqliteContainer::open(&path).await.unwrap_err();
        assert!(matches!(
            err,
            StoreError::UnsupportedSchema { found: 99, supported } if supported == LATEST_VERSION
        ));
    });
}

#[cfg(unix)]
#[test]
fn files_are_mode_0600() {
    use std::os::unix::fs::PermissionsExt;
    block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        // A pre-existing world-readable file is tightened too.
        std::fs::write(&path, b"").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let c = SqliteContainer::open(&path).await.unwrap();
        c.create(device(5)).await.unwrap();
        for suffix in ["", "-wal", "-shm"] {
            let file = format!("{}{suffix}", path.display());
            let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{file}");
        }
    });
}

#[test]
fn writes_survive_reopen() {
    block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let c = SqliteContainer::open(&path).await.unwrap();
        let d = device(6);
        let id = c.create(d.clone()).await.unwrap().id();
        let store = c.get(id).await.unwrap().unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let keys = wa_store::generate_pre_keys(&store, 5, &mut rng)
            .await
            .unwrap();
        drop((c, store));
        let c = SqliteContainer::open(&path).await.unwrap();
        let store = c
            .get_by_jid(d.jid.as_ref().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(store.id(), id);
        let back = store.device().await.unwrap();
        assert_eq!(back.identity_key.public(), d.identity_key.public());
        let k = store.pre_key(keys[4].id).await.unwrap().unwrap();
        assert_eq!(k.key_pair.public, keys[4].key_pair.public);
    });
}

/// Each corruption is applied to a fresh database; every read must give `Corrupt`.
#[test]
fn corrupt_rows_give_typed_errors() {
    let cases: &[(&str, &str)] = &[
        ("session", "UPDATE sessions SET record = x'ffffffff'"),
        ("identity", "UPDATE identities SET key = x'0501'"),
        ("device", "UPDATE devices SET noise_key = x'01'"),
        ("device", "UPDATE devices SET jid = '@@'"),
        ("device", "UPDATE devices SET registration_id = 'text'"),
        ("device", "UPDATE devices SET registration_id = -5"),
        ("device", "DELETE FROM signed_pre_keys"),
        ("prekey", "UPDATE pre_keys SET key = x'00'"),
        ("sender", "UPDATE sender_keys SET record = x'0a0a0a'"),
        ("contacts", "UPDATE contacts SET jid = ''"),
        ("event", "UPDATE event_buffer SET hash = x'01'"),
        ("version", "UPDATE app_state_versions SET hash = x'01'"),
        ("lid", "UPDATE lid_map SET pn = 'a@b@c'"),
    ];
    for (what, sql) in cases {
        block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("c.db");
            let c = SqliteContainer::open(&path).await.unwrap();
            let store = c.create(device(7)).await.unwrap();
            let addr = ProtocolAddress::new("bob", 0);
            let name = wa_signal::store::SenderKeyName {
                group_id: "g@g.us".into(),
                sender: addr.clone(),
            };
            let mut sk = wa_signal::SenderKeyRecord::new();
            sk.create_distribution(&mut ChaCha20Rng::seed_from_u64(2));
            let lid: wa_binary::Jid = "9@lid".parse().unwrap();
            let mut ch = Changes::new();
            ch.put_session(addr.clone(), &session_record(1))
                .put_identity(addr.clone(), session_identity())
                .put_pre_key(wa_signal::PreKeyRecord::generate(
                    1,
                    &mut ChaCha20Rng::seed_from_u64(3),
                ))
                .put_sender_key(name.clone(), &sk)
                .upsert_contact("1@s.whatsapp.net".parse().unwrap(), ContactInfo::default())
                .put_app_state_version(wa_store::AppStateVersion {
                    name: "regular".into(),
                    version: 1,
                    hash: [0; 128],
                })
                .put_lid_mapping(lid.clone(), "9@s.whatsapp.net".parse().unwrap())
                .buffer_event(BufferedEvent {
                    hash: [1; 32],
                    plaintext: Some(vec![1]),
                    server_timestamp: 1,
                    inserted_at: 1,
                });
            store.commit(ch).await.unwrap();
            raw(&path).execute(sql, []).unwrap();
            let err = match *what {
                "session" => store.session(&addr).await.map(|_| ()),
                "identity" => store.identity(&addr).await.map(|_| ()),
                "device" => {
                    assert!(matches!(c.list().await, Err(StoreError::Corrupt { .. })));
                    store.device().await.map(|_| ())
                }
                "prekey" => store.pre_key(1).await.map(|_| ()),
                "sender" => store.sender_key(&name).await.map(|_| ()),
                "contacts" => store.contacts().await.map(|_| ()),
                "event" => store.pending_events().await.map(|_| ()),
                "version" => store.app_state_version("regular").await.map(|_| ()),
                "lid" => store.pn_for_lid(&lid).await.map(|_| ()),
                _ => unreachable!(),
            };
            assert!(
                matches!(err, Err(StoreError::Corrupt { .. })),
                "{sql}: {err:?}"
            );
        });
    }
}

fn session_identity() -> wa_signal::PublicKey {
    *wa_signal::IdentityKeyPair::generate(&mut ChaCha20Rng::seed_from_u64(9)).public()
}

#[test]
fn async_calls_do_not_block_a_current_thread_runtime() {
    // One big commit (10,000 contacts) and a 1 ms ticker on a single-threaded tokio runtime: the
    // SQLite work runs on the store's own thread, so the ticker keeps firing while the commit is
    // in flight. Were the commit run on the runtime thread, no tick could happen before it ended.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let c = SqliteContainer::open(dir.path().join("t.db"))
            .await
            .unwrap();
        let store = c.create(device(10)).await.unwrap();
        let mut ch = Changes::new();
        for i in 0..10_000u64 {
            let info = ContactInfo {
                full_name: Some(format!("contact number {i}")),
                ..ContactInfo::default()
            };
            ch.upsert_contact(
                format!("{}@s.whatsapp.net", 1_000_000 + i).parse().unwrap(),
                info,
            );
        }
        let done = std::cell::Cell::new(false);
        let ticks_during = std::cell::Cell::new(0u32);
        let commit = async {
            store.commit(ch).await.unwrap();
            done.set(true);
        };
        let ticker = async {
            while !done.get() {
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                if !done.get() {
                    ticks_during.set(ticks_during.get() + 1);
                }
            }
        };
        tokio::join!(commit, ticker);
        assert!(
            ticks_during.get() >= 2,
            "ticks during commit: {}",
            ticks_during.get()
        );
        assert_eq!(store.contacts().await.unwrap().len(), 10_000);
    });
}
