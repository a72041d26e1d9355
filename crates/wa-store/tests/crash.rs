//! Crash safety: a child process (this binary, re-invoked) commits sessions, prekeys and
//! buffered events in a loop and prints `committed N` after each commit returns; the parent
//! kills it with SIGKILL at seeded random moments, then checks that the database opens, that
//! `PRAGMA integrity_check` is `ok`, and that every write reported committed is present.
//!
//! `harness = false`: `main` is either the parent (default) or the child (`WA_STORE_CRASH_DB`).

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use wa_signal::PreKeyRecord;
use wa_signal::store::ProtocolAddress;
use wa_store::conformance::{block_on, session_record};
use wa_store::{BufferedEvent, Changes, Container, Device, SqliteContainer, Store};

const KILLS: usize = 60;

fn hash_of(i: u64) -> [u8; 32] {
    let mut h = [0u8; 32];
    h[..8].copy_from_slice(&i.to_be_bytes());
    h
}

fn address(i: u64) -> ProtocolAddress {
    ProtocolAddress::new(format!("peer{i}"), 1)
}

fn pre_key_id(i: u64) -> u32 {
    u32::try_from(i % 0xFF_FFFF).unwrap() + 1
}

/// The child: commits forever from `start`, reporting each commit on stdout.
fn child(db: &str, start: u64) {
    block_on(async {
        let c = SqliteContainer::open(db).await.unwrap();
        let store = c.list().await.unwrap().into_iter().next().unwrap();
        let store = c.get(store.id).await.unwrap().unwrap();
        let record = session_record(1);
        let mut rng = ChaCha20Rng::seed_from_u64(start);
        let mut out = std::io::stdout().lock();
        for i in start.. {
            let mut ch = Changes::new();
            ch.put_session(address(i), &record)
                .put_pre_key(PreKeyRecord::generate(pre_key_id(i), &mut rng))
                .buffer_event(BufferedEvent {
                    hash: hash_of(i),
                    plaintext: Some(vec![7; 200]),
                    server_timestamp: i64::try_from(i).unwrap(),
                    inserted_at: i64::try_from(i).unwrap(),
                });
            store.commit(ch).await.unwrap();
            writeln!(out, "committed {i}").unwrap();
            out.flush().unwrap();
        }
    });
}

/// Everything present in the database (read with a plain connection, after the store opened it).
fn present(db: &Path) -> (HashSet<String>, HashSet<i64>, HashSet<Vec<u8>>) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let strings = |sql: &str| -> HashSet<String> {
        let mut stmt = conn.prepare(sql).unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let sessions = strings("SELECT address FROM sessions");
    let mut stmt = conn.prepare("SELECT key_id FROM pre_keys").unwrap();
    let pre_keys = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut stmt = conn.prepare("SELECT hash FROM event_buffer").unwrap();
    let events = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    (sessions, pre_keys, events)
}

fn parent() {
    let seed = std::env::var("WA_STORE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_u64);
    println!("crash test: {KILLS} kills, seed {seed}");
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    block_on(async {
        let c = SqliteContainer::open(&db).await.unwrap();
        c.create(Device::generate(&mut ChaCha20Rng::seed_from_u64(seed)))
            .await
            .unwrap();
    });
    let exe = std::env::current_exe().unwrap();
    let mut reported: Vec<u64> = Vec::new();
    let mut next = 0u64;
    for kill in 0..KILLS {
        let mut child = Command::new(&exe)
            .env("WA_STORE_CRASH_DB", &db)
            .env("WA_STORE_CRASH_START", next.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(n) = line.strip_prefix("committed ").and_then(|n| n.parse().ok())
                    && tx.send(n).is_err()
                {
                    break;
                }
            }
        });
        // Random moment: one run in eight dies while still opening the database; the others
        // after the first commit, 0-30 ms into the write loop.
        let mut got: Vec<u64> = Vec::new();
        if rng.next_u32() % 8 == 0 {
            std::thread::sleep(Duration::from_millis(rng.next_u64() % 10));
        } else {
            let first = rx.recv_timeout(Duration::from_secs(10));
            got.push(first.expect("child never committed"));
            std::thread::sleep(Duration::from_millis(rng.next_u64() % 30));
        }
        child.kill().unwrap(); // SIGKILL on Unix
        let status = child.wait().unwrap();
        assert!(!status.success(), "child must die by the signal");
        reader.join().unwrap();
        got.extend(rx.try_iter());
        if let Some(last) = got.last() {
            next = last + 1;
        }
        reported.extend(got);

        // After each kill: the database opens, is intact, and holds every reported write.
        block_on(async {
            let c = SqliteContainer::open(&db).await.unwrap();
            assert_eq!(c.integrity_check().await.unwrap(), vec!["ok".to_owned()]);
            let store = c.list().await.unwrap().into_iter().next().unwrap();
            let store = c.get(store.id).await.unwrap().unwrap();
            if let Some(&last) = reported.last() {
                let s = store.session(&address(last)).await.unwrap();
                assert!(s.is_some(), "kill {kill}: session {last} lost");
                let e = store.buffered_event(&hash_of(last)).await.unwrap();
                assert!(e.is_some(), "kill {kill}: event {last} lost");
            }
        });
        let (sessions, pre_keys, events) = present(&db);
        for &i in &reported {
            assert!(
                sessions.contains(&address(i).to_string()),
                "kill {kill}: session {i}"
            );
            assert!(
                pre_keys.contains(&i64::from(pre_key_id(i))),
                "kill {kill}: prekey {i}"
            );
            assert!(
                events.contains(hash_of(i).as_slice()),
                "kill {kill}: event {i}"
            );
        }
    }
    println!(
        "crash test: ok, {KILLS} SIGKILLs, {} commits reported and verified",
        reported.len()
    );
    assert!(
        reported.len() >= KILLS / 2,
        "too few commits reported ({}) for a meaningful test",
        reported.len()
    );
}

fn main() {
    if !cfg!(unix) {
        println!("crash test: SIGKILL semantics need Unix; skipped");
        return;
    }
    match std::env::var("WA_STORE_CRASH_DB") {
        Ok(db) => {
            let start = std::env::var("WA_STORE_CRASH_START")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            child(&db, start);
        }
        Err(_) => parent(),
    }
}
