//! Resident memory of idle, logged-in clients, measured in a separate process that holds only
//! clients (the test server runs in this parent process).
//!
//! ```sh
//! cargo run --profile dist -p wa-client --example memory_clients -- [COUNT]   # default 100
//! ```
//!
//! The parent starts `wa-testserver` on loopback, pairs `COUNT` companions (one account each)
//! whose devices it keeps in one SQLite file, disconnects them, and runs itself again as a child
//! (`--child <db> <url> <root-hex> <serial> <count>`). The child (current-thread tokio runtime,
//! like `wa listen`) logs in the first device, waits for `Connected`, idles two seconds and
//! reports `VmRSS`; then logs in the other `COUNT - 1`, idles, and reports again. The parent
//! prints one idle client's RSS and the cost of each additional client.
#![allow(missing_docs)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use wa_client::{Client, Config, Event, EventStream};
use wa_noise::TrustRoot;
use wa_store::{Container, Device, SqliteContainer, Store as _};
use wa_testserver::TestServer;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

async fn wait_for(events: &mut EventStream, pred: impl Fn(&Event) -> bool) -> Res<Event> {
    loop {
        match tokio::time::timeout(Duration::from_secs(60), events.recv()).await {
            Ok(Some(e)) if pred(&e) => return Ok(e),
            Ok(Some(_)) => {}
            Ok(None) => return Err("event stream ended".into()),
            Err(_) => return Err("timed out".into()),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Res<[u8; 32]> {
    let mut out = [0u8; 32];
    if s.len() != 64 {
        return Err("root key: 64 hex digits".into());
    }
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2).ok_or("hex")?, 16)?;
    }
    Ok(out)
}

async fn child(db: &str, url: &str, root: &str, serial: &str, count: usize) -> Res<()> {
    let config = Config {
        url: url.to_owned(),
        trust_root: TrustRoot::new(unhex(root)?, serial.parse()?),
        ..Config::default()
    };
    let container = SqliteContainer::open(db).await?;
    let devices = container.list().await?;
    let mut held = Vec::new();
    let base = rss_kib();
    for (n, d) in devices.iter().take(count).enumerate() {
        let (client, mut events) =
            Client::start(config.clone(), container.clone(), Some(d.id)).await?;
        wait_for(&mut events, |e| *e == Event::Connected).await?;
        held.push((client, events));
        if n == 0 {
            tokio::time::sleep(Duration::from_secs(2)).await;
            println!("one {} {base}", rss_kib());
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    println!("all {} {}", held.len(), rss_kib());
    Ok(())
}

async fn parent(count: usize) -> Res<()> {
    let server = TestServer::start(wa_testserver::Config::default()).await?;
    let dir = tempfile_dir()?;
    let db = dir.join("clients.db");
    let container = SqliteContainer::open(&db).await?;
    let config = Config {
        url: server.url(),
        trust_root: server.trust_root(),
        ..Config::default()
    };
    let admin = server.admin();
    for k in 0..count {
        let phone = format!("1555090{k:04}");
        admin.create_account(&phone, "Idle")?;
        let mut rng = ChaCha20Rng::seed_from_u64(1_000 + k as u64);
        let id = container.create(Device::generate(&mut rng)).await?.id();
        let (client, mut events) =
            Client::start(config.clone(), container.clone(), Some(id)).await?;
        let Event::Qr { code } = wait_for(&mut events, |e| matches!(e, Event::Qr { .. })).await?
        else {
            return Err("no QR".into());
        };
        let a = admin.clone();
        let scan = tokio::spawn(async move { a.scan_qr_for(&phone, &code).await });
        wait_for(&mut events, |e| *e == Event::Connected).await?;
        scan.await??;
        client.disconnect().await;
        wait_for(&mut events, |e| matches!(e, Event::Disconnected { .. })).await?;
    }
    drop(container);
    let root = server.trust_root();
    let mut proc = Command::new(std::env::current_exe()?)
        .args([
            "--child",
            db.to_str().ok_or("path")?,
            &server.url(),
            &hex(root.public_key()),
            &root.serial().to_string(),
            &count.to_string(),
        ])
        .stdout(Stdio::piped())
        .spawn()?;
    let out = proc.stdout.take().ok_or("stdout")?;
    let lines = tokio::task::spawn_blocking(move || {
        BufReader::new(out)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    })
    .await?;
    proc.wait()?;
    let mut one = None;
    let mut all = None;
    for l in &lines {
        let f: Vec<&str> = l.split_whitespace().collect();
        match f.as_slice() {
            ["one", rss, base] => one = Some((rss.parse::<u64>()?, base.parse::<u64>()?)),
            ["all", n, rss] => all = Some((n.parse::<u64>()?, rss.parse::<u64>()?)),
            _ => {}
        }
    }
    let (one, base) = one.ok_or("child reported nothing")?;
    let mib = |k: u64| k as f64 / 1024.0;
    println!(
        "memory: child process before any client (runtime, SQLite container open): {:.2} MiB RSS",
        mib(base)
    );
    println!(
        "memory: one idle logged-in client (whole process): {:.2} MiB RSS",
        mib(one)
    );
    if let Some((n, rss)) = all
        && n > 1
    {
        println!(
            "memory: {n} idle logged-in clients (whole process): {:.2} MiB RSS, {:.3} MiB per additional client",
            mib(rss),
            mib(rss.saturating_sub(one)) / (n - 1) as f64
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    baileys();
    Ok(())
}

/// RSS of a Node process that only imports Baileys 7 (when `tests/interop/node_modules` has
/// it), two seconds after the import, for comparison.
fn baileys() {
    let interop = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop");
    if !interop.join("node_modules/baileys").exists() {
        println!("memory: Baileys not installed under tests/interop, no Node comparison");
        return;
    }
    let script = "await import('baileys'); await new Promise(r => setTimeout(r, 2000)); \
                  console.log(process.memoryUsage().rss)";
    let out = Command::new("node")
        .args(["--input-type=module", "-e", script])
        .current_dir(&interop)
        .output();
    match out.ok().and_then(|o| String::from_utf8(o.stdout).ok()) {
        Some(s) => match s.trim().parse::<u64>() {
            Ok(b) => println!(
                "memory: Node process that only imports Baileys 7: {:.2} MiB RSS",
                b as f64 / 1048576.0
            ),
            Err(_) => println!("memory: the Baileys script printed {s:?}"),
        },
        None => println!("memory: node not runnable, no Baileys comparison"),
    }
}

fn tempfile_dir() -> Res<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("wa-memory-clients-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        let [_, _, db, url, root, serial, count] = args.as_slice() else {
            return Err("usage: --child <db> <url> <root-hex> <serial> <count>".into());
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        return rt.block_on(child(db, url, root, serial, count.parse()?));
    }
    let count = args.get(1).map(|c| c.parse()).transpose()?.unwrap_or(100);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(parent(count))
}
