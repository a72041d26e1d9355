//! Interop: our `wa-client` and a Baileys 7 client (`baileys@7.0.0-rc14`) on two accounts of
//! one `wa-testserver` exchange 1:1 texts both ways.
//!
//! Our client (default account) sends Baileys (second account) a text: our send pipeline
//! addresses Baileys by its LID, fetches the device lists and bundles, and encrypts a `pkmsg`
//! with our device identity; Baileys decrypts it. Baileys answers and our receive pipeline
//! decrypts its `pkmsg`. A second text each way then runs on the established sessions, and
//! Baileys' delivery receipt for our message reaches us as a receipt event. Finally Baileys
//! loses its session files: our next message fails there, Baileys' retry receipt reaches us
//! and our answer (re-encrypted from the outgoing cache on a rebuilt session) decrypts.
//!
//! Driver script: `tests/interop/baileys_msg.mjs` (JSON lines both ways).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use wa_client::{Client, Event, EventStream, ReceiptKind};
use wa_proto::proto::Message;
use wa_tests::oracle;
use wa_testserver::{Config, TestServer};

const STEP_TIMEOUT: Duration = Duration::from_secs(45);
const B_PHONE: &str = "15550002222";

struct Baileys {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    seen: Vec<Value>,
}

impl Baileys {
    fn spawn(server: &TestServer, auth: &Path) -> Baileys {
        let dir = oracle::interop_dir();
        oracle::ensure_node_modules(&dir).expect("npm ci in tests/interop");
        let node = std::env::var(oracle::NODE_ENV).unwrap_or_else(|_| "node".to_owned());
        oracle::node_version(&node).expect("Node.js is required for the Baileys interop test");
        let mut child = Command::new(node)
            .arg(dir.join("baileys_msg.mjs"))
            .arg("--url")
            .arg(server.url())
            .arg("--root")
            .arg(hex::encode(server.root_public_key()))
            .arg("--auth")
            .arg(auth)
            .args(["--online", "1"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn node");
        let stdout = child.stdout.take().expect("stdout");
        Baileys {
            child,
            lines: BufReader::new(stdout).lines(),
            seen: Vec::new(),
        }
    }

    /// Reads events until `pred` holds for one (earlier events are searched first).
    async fn expect_where(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(v) = self.seen.iter().find(|v| pred(v)) {
            return v.clone();
        }
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        loop {
            let line = match tokio::time::timeout_at(deadline, self.lines.next_line()).await {
                Ok(Ok(Some(l))) => l,
                Ok(Ok(None)) => panic!(
                    "Baileys exited while waiting for {what}; saw {:#?}",
                    self.seen
                ),
                Ok(Err(e)) => panic!("reading Baileys output: {e}"),
                Err(_) => panic!("timed out waiting for {what}; saw {:#?}", self.seen),
            };
            let v: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("bad line from Baileys ({e}): {line}"));
            self.seen.push(v.clone());
            assert!(v["event"] != "error", "Baileys driver error: {v}");
            if pred(&v) {
                return v;
            }
        }
    }

    async fn expect(&mut self, event: &str) -> Value {
        self.expect_where(event, |v| v["event"] == event).await
    }

    async fn command(&mut self, cmd: Value) {
        let stdin = self.child.stdin.as_mut().expect("stdin");
        stdin
            .write_all(format!("{cmd}\n").as_bytes())
            .await
            .expect("write command");
    }

    async fn quit(mut self) {
        self.command(json!({"cmd": "quit"})).await;
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
    }
}

/// Our client's events, with every one already consumed kept for later checks.
struct Ours {
    events: EventStream,
    seen: Vec<Event>,
}

impl Ours {
    /// The first event (already seen, or next) matching `pred`.
    async fn until(&mut self, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
        if let Some(e) = self.seen.iter().find(|e| pred(e)) {
            return e.clone();
        }
        loop {
            let e = tokio::time::timeout(STEP_TIMEOUT, self.events.recv())
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
                .expect("event stream ended");
            self.seen.push(e.clone());
            if pred(&e) {
                return e;
            }
        }
    }
}

fn text(s: &str) -> Message {
    Message {
        conversation: Some(s.into()),
        ..Default::default()
    }
}

/// The text of a plain or extended text message (Baileys sends the latter).
fn text_of(m: &Message) -> Option<&str> {
    m.conversation.as_deref().or(m
        .extended_text_message
        .as_ref()
        .and_then(|e| e.text.as_deref()))
}

/// Waits for our client's `Message` event whose text is `want`.
async fn our_text(ours: &mut Ours, want: &str) -> Box<wa_client::MessageEvent> {
    let Event::Message(m) = ours
        .until(
            want,
            |e| matches!(e, Event::Message(m) if text_of(&m.message) == Some(want)),
        )
        .await
    else {
        unreachable!()
    };
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_and_baileys_exchange_texts() {
    let server = TestServer::start(Config::default())
        .await
        .expect("start server");
    let admin = server.admin();
    let bob = admin
        .create_account(B_PHONE, "Bob")
        .expect("create the second account");
    let us_account = admin.accounts()[0].clone();

    // Our client on the default account.
    let config = wa_client::Config {
        url: server.url(),
        trust_root: server.trust_root(),
        ..wa_client::Config::default()
    };
    let (client, events) = Client::start(config, wa_store::MemoryContainer::new(), None)
        .await
        .expect("start client");
    let mut ours = Ours {
        events,
        seen: Vec::new(),
    };
    let Event::Qr { code } = ours.until("QR", |e| matches!(e, Event::Qr { .. })).await else {
        unreachable!()
    };
    let scanner = admin.clone();
    let scan = tokio::spawn(async move { scanner.scan_qr(&code).await });
    ours.until("login", |e| *e == Event::Connected).await;
    scan.await.expect("join").expect("the phone scans our QR");

    // Baileys on the second account.
    let auth = tempfile::tempdir().expect("tempdir");
    let mut b = Baileys::spawn(&server, auth.path());
    let qr = b.expect("qr").await["qr"]
        .as_str()
        .expect("qr string")
        .to_owned();
    admin
        .scan_qr_for(B_PHONE, &qr)
        .await
        .expect("Bob's phone scans Baileys' QR");
    b.expect("open").await;
    b.expect("offline").await;

    // Us -> Baileys: a pkmsg from our send pipeline.
    let sent = client
        .send_message(bob.pn.clone(), text("hello Baileys, from Rust"))
        .await
        .expect("send to Baileys");
    assert_eq!(sent.chat, bob.lid, "addressed by LID");
    let got = b
        .expect_where("our text", |v| {
            v["event"] == "message" && v["text"] == "hello Baileys, from Rust"
        })
        .await;
    assert_eq!(got["id"], sent.id.as_str(), "{got}");
    assert_eq!(got["fromMe"], false, "{got}");

    // Baileys -> us.
    b.command(json!({"cmd": "send", "to": us_account.pn.to_string(), "text": "hi Rust"}))
        .await;
    b.expect("sent").await;
    let m = our_text(&mut ours, "hi Rust").await;
    assert!(!m.info.source.is_from_me);
    // The chat in either of Bob's forms (the server addresses this one by phone number).
    let chat = m.info.source.chat.user();
    assert!(
        chat == bob.pn.user() || chat == bob.lid.user(),
        "{:?}",
        m.info.source
    );

    // Second round on the established sessions, both ways.
    let again = client
        .send_message(bob.pn.clone(), text("second from Rust"))
        .await
        .expect("second send");
    b.expect_where("our second text", |v| {
        v["event"] == "message" && v["text"] == "second from Rust"
    })
    .await;
    b.command(
        json!({"cmd": "send", "to": us_account.pn.to_string(), "text": "second from Baileys"}),
    )
    .await;
    our_text(&mut ours, "second from Baileys").await;

    // Baileys' delivery receipt for our messages reaches us.
    ours.until("delivery receipt", |e| {
        matches!(e, Event::Receipt(r)
            if r.kind == ReceiptKind::Delivered
                && (r.message_ids.contains(&sent.id) || r.message_ids.contains(&again.id)))
    })
    .await;

    // Baileys loses its Signal sessions (its auth files): our next message does not decrypt
    // there, Baileys sends a retry receipt, and our send pipeline answers it from the
    // outgoing cache with a rebuilt session; Baileys then decrypts the message.
    for entry in std::fs::read_dir(auth.path()).expect("auth dir") {
        let path = entry.expect("dir entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("session-") {
            std::fs::remove_file(&path).expect("remove a Baileys session file");
        }
    }
    let lost = client
        .send_message(bob.pn.clone(), text("after Baileys lost its sessions"))
        .await
        .expect("send after the loss");
    b.expect_where("the resent text", |v| {
        v["event"] == "message" && v["text"] == "after Baileys lost its sessions"
    })
    .await;
    ours.until("Baileys' retry receipt", |e| {
        matches!(e, Event::Receipt(r)
            if r.kind == ReceiptKind::Retry && r.message_ids.contains(&lost.id))
    })
    .await;
    b.quit().await;
    client.disconnect().await;
}
