//! Resident memory of an idle, logged-in `wa listen` (issue 7's memory figure, measured on the
//! binary a user runs).
//!
//! `cargo bench -p wa-cli --bench listen_memory`; `WA_LISTEN_BIN=target/dist/wa` measures
//! another build of `wa` (`cargo build --profile dist -p wa-cli`, the shipping build). An
//! in-process test server gets one account; `wa login` pairs a companion into a
//! fresh SQLite store (the account's phone scans the QR code); then `wa listen` runs as its
//! own process, and 4 s after it started its `/proc/PID/status` is read: `VmRSS`, and its
//! anonymous (`RssAnon`) and file-backed (`RssFile`, the executable's and libraries' pages)
//! parts. Three rounds, each a new `wa listen`; the median is printed.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use wa_testserver::{Config, TestServer};

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const PHONE: &str = "15550900001";
const ROUNDS: usize = 3;
/// How long `wa listen` runs before it is measured: login, the first app-state and history
/// work and the offline marker are over by then.
const SETTLE: Duration = Duration::from_secs(4);

/// `VmRSS`, `RssAnon` and `RssFile` of `pid`, in KiB.
fn rss(pid: u32) -> Res<[u64; 3]> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> Res<u64> {
        let line = status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .ok_or_else(|| format!("no {name} in /proc/{pid}/status"))?;
        Ok(line.trim().trim_end_matches("kB").trim().parse()?)
    };
    Ok([field("VmRSS:")?, field("RssAnon:")?, field("RssFile:")?])
}

/// The `wa` executable measured: `WA_LISTEN_BIN`, else the one this bench was built with.
fn wa_bin() -> std::path::PathBuf {
    std::env::var_os("WA_LISTEN_BIN").map_or_else(|| env!("CARGO_BIN_EXE_wa").into(), Into::into)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

async fn login(server: &TestServer, args: &[String]) -> Res<()> {
    let mut child = Command::new(wa_bin())
        .arg("login")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    // Read to the end: `wa login` goes on printing after its QR code.
    let reader = tokio::task::spawn_blocking(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(code) = line.strip_prefix("QR code: ")
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(code.to_owned());
            }
        }
    });
    let code = rx.await.map_err(|_| "wa login printed no QR code")?;
    server.admin().scan_qr_for(PHONE, &code).await?;
    let out = tokio::task::spawn_blocking(move || child.wait_with_output()).await??;
    reader.await?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(format!("wa login failed ({}): {stderr}", out.status).into());
    }
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Res<()> {
    // `cargo bench` passes `--bench`; this binary takes no options.
    let dir = std::env::temp_dir().join(format!("wa-listen-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let server = TestServer::start(Config::default()).await?;
    server.admin().create_account(PHONE, "Listener")?;
    let key = dir.join("root.key");
    std::fs::write(&key, hex::encode(server.root_public_key()))?;
    let args: Vec<String> = [
        "--store",
        dir.join("listen.db").to_str().ok_or("path")?,
        "--server",
        &server.url(),
        "--root-key",
        key.to_str().ok_or("path")?,
        "--timeout",
        "30",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    login(&server, &args).await?;

    let mut rounds = Vec::new();
    for round in 1..=ROUNDS {
        let mut child = Command::new(wa_bin())
            .args(["listen", "--json", "--seconds", "60"])
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        tokio::time::sleep(SETTLE).await;
        let measured = rss(child.id());
        let _ = child.kill();
        let _ = child.wait();
        let [total, anon, file] = measured?;
        println!(
            "listen_memory: round {round}: idle logged-in `wa listen`: {:.2} MiB RSS ({:.2} MiB anonymous, {:.2} MiB file-backed)",
            mib(total),
            mib(anon),
            mib(file)
        );
        rounds.push((total, anon, file));
    }
    rounds.sort_unstable();
    let (total, anon, file) = rounds[ROUNDS / 2];
    println!(
        "listen_memory: median of {ROUNDS}: {:.2} MiB RSS ({:.2} MiB anonymous, {:.2} MiB file-backed), executable {}",
        mib(total),
        mib(anon),
        mib(file),
        wa_bin().display()
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
