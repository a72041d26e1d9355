//! A harness for the Baileys driver processes (`tests/interop/baileys_*.mjs`) that the live
//! interop tests run against `wa-testserver`.
//!
//! Each driver is a Node script that runs one Baileys 7 socket against the test server and speaks
//! JSON lines: it prints one event object per stdout line (`{"event":"qr",...}`,
//! `{"event":"open",...}`, ...) and reads one command object per stdin line (`{"cmd":"send",...}`,
//! `{"cmd":"quit"}`). [`Baileys`] starts such a process (running `npm ci` in `tests/interop`
//! first if needed), keeps every event it printed, and waits for events with a timeout.
//!
//! This is test scaffolding: every failure (Node missing, the driver exiting or reporting an
//! `error` event, a timeout) panics with everything the driver printed so far, which is how a
//! test should fail.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use wa_testserver::{Admin, Jid, TestServer};

use crate::oracle;

/// How long one wait for a driver event may take before the test fails.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(45);

/// Driver arguments that make Baileys mark itself online on connect (`--online 1`), so its
/// delivery receipts are not sent as `inactive`.
pub const ONLINE: &[&str] = &["--online", "1"];

/// How long [`Baileys::quit`] waits for the process to exit.
const QUIT_WAIT: Duration = Duration::from_secs(10);

/// One running Baileys driver process and the events it has printed.
#[derive(Debug)]
pub struct Baileys {
    name: String,
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    seen: Vec<Value>,
}

impl Baileys {
    /// Starts `tests/interop/<script>` against `server` with its credentials in `auth` and the
    /// extra driver arguments `extra`; `name` labels the process in failure messages.
    ///
    /// # Panics
    ///
    /// If `npm ci` fails, Node.js cannot be run, or the process cannot be spawned.
    pub fn spawn(
        name: &str,
        script: &str,
        server: &TestServer,
        auth: &Path,
        extra: &[&str],
    ) -> Baileys {
        Self::spawn_with_ca(name, script, server, auth, extra, None)
    }

    /// As [`Baileys::spawn`]; `ca` is a PEM file Node adds to its trusted CAs (for `wss://`
    /// with the test server's certificate).
    ///
    /// # Panics
    ///
    /// As [`Baileys::spawn`].
    pub fn spawn_with_ca(
        name: &str,
        script: &str,
        server: &TestServer,
        auth: &Path,
        extra: &[&str],
        ca: Option<&Path>,
    ) -> Baileys {
        let dir = oracle::interop_dir();
        oracle::ensure_node_modules(&dir).expect("npm ci in tests/interop");
        let node = std::env::var(oracle::NODE_ENV).unwrap_or_else(|_| "node".to_owned());
        oracle::node_version(&node).expect("Node.js is required for the Baileys interop test");
        let mut cmd = Command::new(node);
        if let Some(ca) = ca {
            cmd.env("NODE_EXTRA_CA_CERTS", ca);
        }
        let mut child = cmd
            .arg(dir.join(script))
            .arg("--url")
            .arg(server.url())
            .arg("--root")
            .arg(hex::encode(server.root_public_key()))
            .arg("--auth")
            .arg(auth)
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn node");
        let stdout = child.stdout.take().expect("stdout");
        Baileys {
            name: name.to_owned(),
            child,
            lines: BufReader::new(stdout).lines(),
            seen: Vec::new(),
        }
    }

    /// Every event the driver has printed so far, oldest first.
    pub fn seen(&self) -> &[Value] {
        &self.seen
    }

    /// Whether the driver has printed an event named `event`.
    pub fn saw(&self, event: &str) -> bool {
        self.seen.iter().any(|v| v["event"] == event)
    }

    /// The first event for which `pred` holds: an already seen one, else the next matching one
    /// the driver prints. `what` describes it in failure messages.
    ///
    /// # Panics
    ///
    /// On timeout ([`STEP_TIMEOUT`]), if the driver exits, prints a non-JSON line or reports an
    /// `error` event.
    pub async fn expect_where(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(v) = self.seen.iter().find(|v| pred(v)) {
            return v.clone();
        }
        self.next_where(what, pred).await
    }

    /// The first event named `event`, already seen or next (see [`Baileys::expect_where`]).
    ///
    /// # Panics
    ///
    /// As [`Baileys::expect_where`].
    pub async fn expect(&mut self, event: &str) -> Value {
        self.expect_where(event, |v| v["event"] == event).await
    }

    /// The next event named `event` the driver prints from now on, ignoring those already
    /// seen (for events that come more than once, such as `close`).
    ///
    /// # Panics
    ///
    /// As [`Baileys::expect_where`].
    pub async fn expect_new(&mut self, event: &str) -> Value {
        self.next_where(event, |v| v["event"] == event).await
    }

    /// Reads new lines until one satisfies `pred`.
    async fn next_where(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        loop {
            let line = match tokio::time::timeout_at(deadline, self.lines.next_line()).await {
                Ok(Ok(Some(l))) => l,
                Ok(Ok(None)) => panic!(
                    "Baileys {} exited while waiting for {what}; saw {:#?}",
                    self.name, self.seen
                ),
                Ok(Err(e)) => panic!("reading Baileys {} output: {e}", self.name),
                Err(_) => panic!(
                    "Baileys {}: timed out waiting for {what}; saw {:#?}",
                    self.name, self.seen
                ),
            };
            let v: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("bad line from Baileys {} ({e}): {line}", self.name));
            self.seen.push(v.clone());
            assert!(
                v["event"] != "error",
                "Baileys {} driver error: {v}",
                self.name
            );
            if pred(&v) {
                return v;
            }
        }
    }

    /// Writes one command object as a line to the driver's stdin.
    ///
    /// # Panics
    ///
    /// If the driver's stdin is closed.
    pub async fn command(&mut self, cmd: Value) {
        let stdin = self.child.stdin.as_mut().expect("stdin");
        stdin
            .write_all(format!("{cmd}\n").as_bytes())
            .await
            .expect("write command");
    }

    /// Asks the driver to end its socket and exit (`{"cmd":"quit"}`, then end of input) and
    /// waits a little for it; the process is killed when this value is dropped in any case.
    pub async fn quit(mut self) {
        if let Some(mut stdin) = self.child.stdin.take() {
            let _ = stdin
                .write_all(format!("{}\n", json!({"cmd": "quit"})).as_bytes())
                .await;
            drop(stdin);
        }
        let _ = tokio::time::timeout(QUIT_WAIT, self.child.wait()).await;
    }
}

/// Pairs `b` through the QR it shows, scanned by the phone of `phone` (`None`: the server's
/// default account), and waits until it is online with its offline queue drained; returns the
/// device JID the phone linked.
///
/// # Panics
///
/// If Baileys shows no QR, the scan fails, or Baileys does not come online.
pub async fn pair(b: &mut Baileys, admin: &Admin, phone: Option<&str>) -> Jid {
    let qr = b.expect("qr").await["qr"]
        .as_str()
        .expect("qr string")
        .to_owned();
    let jid = match phone {
        None => admin.scan_qr(&qr).await,
        Some(p) => admin.scan_qr_for(p, &qr).await,
    }
    .expect("the phone scans the QR");
    b.expect("open").await;
    b.expect("offline").await;
    jid
}
