//! Helpers shared by the tests that run `wa` as a process against an in-process
//! `wa-testserver`: spawning it, reading its stdout line by line, the connection options of a
//! store, and `wa login` of a fresh store.

// Each test binary compiles this module and uses only some of it.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::fmt::Display;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use wa_testserver::TestServer;

/// A `wa` command with `args`.
pub fn wa<S: AsRef<OsStr>>(args: &[S]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wa"));
    c.args(args);
    c
}

/// Everything a finished process printed: stdout, then stderr.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs `wa args` to completion off the async runtime.
pub async fn run<S: AsRef<OsStr>>(args: &[S]) -> Output {
    let mut cmd = wa(args);
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

/// Starts `wa args` with stdout and stderr piped.
pub fn spawn<S: AsRef<OsStr>>(args: &[S]) -> Child {
    wa(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Lines of a child's stdout, read on a thread (the channel closes at the child's EOF).
pub fn lines(child: &mut Child) -> Receiver<String> {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

/// Reads lines from `rx` until `pick` returns a value (each line waited for up to 30 s);
/// panics with `what` and the lines seen so far if none comes. Returns the value and the
/// receiver, for the lines after it.
pub async fn wait_line<T, F>(rx: Receiver<String>, what: &str, mut pick: F) -> (T, Receiver<String>)
where
    T: Send + 'static,
    F: FnMut(&str) -> Option<T> + Send + 'static,
{
    let what = what.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut seen = Vec::new();
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("{what}; got {seen:?}"));
            if let Some(found) = pick(&line) {
                return (found, rx);
            }
            seen.push(line);
        }
    })
    .await
    .unwrap()
}

/// The code of the "QR code: CODE" line `wa login` prints.
pub async fn qr_code(rx: Receiver<String>) -> (String, Receiver<String>) {
    wait_line(rx, "no QR code printed", |line| {
        line.strip_prefix("QR code: ").map(str::to_owned)
    })
    .await
}

/// Waits for a child to exit, off the async runtime.
pub async fn finish(child: Child) -> Output {
    tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap()
}

/// Waits for `wa login` to exit and asserts that it succeeded and printed "logged in as JID"
/// (`rx` holds its stdout lines after the pairing code).
pub async fn assert_logged_in(child: Child, rx: Receiver<String>, jid: impl Display) {
    let out = finish(child).await;
    // Every line the process printed: the reader thread ends at its EOF.
    let rest: Vec<String> = rx.iter().collect();
    assert!(out.status.success(), "{rest:?} {}", text(&out));
    assert!(
        rest.iter()
            .any(|l| l.contains(&format!("logged in as {jid}"))),
        "{rest:?}"
    );
}

/// Writes the server's root public key (hex) to `dir/root.key` and returns that path.
pub fn write_root_key(server: &TestServer, dir: &Path) -> PathBuf {
    let key = dir.join("root.key");
    std::fs::write(&key, hex::encode(server.root_public_key())).unwrap();
    key
}

/// The options that point `wa` at a store, a server and the root key file, with a timeout in
/// seconds.
pub fn connect_args(store: &Path, url: &str, root_key: &Path, timeout: &str) -> Vec<String> {
    [
        "--store",
        store.to_str().unwrap(),
        "--server",
        url,
        "--root-key",
        root_key.to_str().unwrap(),
        "--timeout",
        timeout,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

/// A session saved by `wa login`: the options every later command needs.
pub struct Session {
    /// Connection options of the saved store.
    pub args: Vec<String>,
}

impl Session {
    /// `cmd` followed by the session's options.
    pub fn with(&self, cmd: &[&str]) -> Vec<String> {
        cmd.iter()
            .map(|s| (*s).to_owned())
            .chain(self.args.iter().cloned())
            .collect()
    }
}

/// `wa login` into a fresh store `dir/NAME.db` (with `extra` options after the connection
/// ones); the phone of `phone` scans the QR code it prints.
pub async fn login(
    server: &TestServer,
    dir: &Path,
    name: &str,
    phone: &str,
    extra: &[&str],
) -> Session {
    let key = write_root_key(server, dir);
    let mut args = connect_args(&dir.join(format!("{name}.db")), &server.url(), &key, "30");
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let session = Session { args };
    let mut child = spawn(&session.with(&["login"]));
    let (code, _rx) = qr_code(lines(&mut child)).await;
    server.admin().scan_qr_for(phone, &code).await.unwrap();
    let out = finish(child).await;
    assert!(out.status.success(), "{}", text(&out));
    session
}

/// The id in the "sent ID to CHAT ..." line of a `wa send` (or react, edit, revoke) that
/// succeeded.
pub fn sent_id(out: &Output) -> String {
    assert!(out.status.success(), "{}", text(out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("sent "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no 'sent' line: {}", text(out)))
        .to_owned()
}

/// Alice's phone number in [`alice_and_bob`].
pub const ALICE: &str = "15550400001";
/// Bob's phone number in [`alice_and_bob`].
pub const BOB: &str = "15550400002";

/// A server with the accounts of [`ALICE`] and [`BOB`], each with a session saved by `wa login`
/// in `dir` (`extra` options after the connection ones).
pub async fn alice_and_bob(dir: &Path, extra: &[&str]) -> (TestServer, Session, Session) {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let admin = server.admin();
    admin.create_account(ALICE, "Alice").unwrap();
    admin.create_account(BOB, "Bob").unwrap();
    let alice = login(&server, dir, "alice", ALICE, extra).await;
    let bob = login(&server, dir, "bob", BOB, extra).await;
    (server, alice, bob)
}
