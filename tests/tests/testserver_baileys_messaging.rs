//! Interop: two Baileys 7 clients (`baileys@7.0.0-rc14`) on two accounts of one `wa-testserver`
//! exchange 1:1 texts and receipts.
//!
//! The server gets a second account (`Admin::create_account`); each Baileys process shows a QR
//! that the phone of its own account scans (`Admin::scan_qr` / `Admin::scan_qr_for`). A then
//! sends B a text: Baileys looks up both device lists and LIDs by usync, fetches the bundles
//! (B's companion and both phones), encrypts per device and the server fans the stanza out to
//! B's companion (and would to A's other devices); B decrypts it. B answers, A decrypts. The
//! delivery receipts Baileys sends on its own and a read receipt travel back to the sender.
//! Then B goes offline and a second device of A sends B a text: A's first device gets the
//! own-device copy, and B gets the queued message when it logs in again.
//!
//! Driver script: `tests/interop/baileys_msg.mjs` (JSON lines both ways).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use wa_tests::oracle;
use wa_testserver::{Config, TestServer};

const STEP_TIMEOUT: Duration = Duration::from_secs(45);
const B_PHONE: &str = "15550002222";

struct Baileys {
    name: &'static str,
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    seen: Vec<Value>,
}

impl Baileys {
    fn spawn(name: &'static str, server: &TestServer, auth: &Path) -> Baileys {
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
            name,
            child,
            lines: BufReader::new(stdout).lines(),
            seen: Vec::new(),
        }
    }

    /// Reads events until `pred` holds for one (earlier matching events are searched first).
    async fn expect_where(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(v) = self.seen.iter().find(|v| pred(v)) {
            return v.clone();
        }
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        loop {
            let line = tokio::time::timeout_at(deadline, self.lines.next_line()).await;
            let line = match line {
                Ok(Ok(Some(l))) => l,
                Ok(Ok(None)) => panic!(
                    "Baileys {} exited while waiting for {what}; saw {:#?}",
                    self.name, self.seen
                ),
                Ok(Err(e)) => panic!("reading Baileys output: {e}"),
                Err(_) => panic!(
                    "Baileys {}: timed out waiting for {what}; saw {:#?}",
                    self.name, self.seen
                ),
            };
            let v: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("bad line from Baileys {} ({e}): {line}", self.name));
            self.seen.push(v.clone());
            if v["event"] == "error" {
                panic!("Baileys {} driver error: {v}", self.name);
            }
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

/// Pairs `b` through the QR it shows, scanned by the phone of `phone` (`None`: the default
/// account), and waits until it is online with its offline queue drained.
async fn pair(
    b: &mut Baileys,
    admin: &wa_testserver::Admin,
    phone: Option<&str>,
) -> wa_testserver::Jid {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_baileys_accounts_exchange_texts_and_receipts() {
    let server = TestServer::start(Config::default())
        .await
        .expect("start server");
    let admin = server.admin();
    let bob = admin
        .create_account(B_PHONE, "Bob")
        .expect("create the second account");
    assert_eq!(bob.pn.to_string(), format!("{B_PHONE}@s.whatsapp.net"));
    let a_user = admin.accounts()[0].clone();

    let auth_a = tempfile::tempdir().expect("tempdir");
    let auth_b = tempfile::tempdir().expect("tempdir");
    let mut a = Baileys::spawn("A", &server, auth_a.path());
    let mut b = Baileys::spawn("B", &server, auth_b.path());
    let a_dev = pair(&mut a, &admin, None).await;
    let b_dev = pair(&mut b, &admin, Some(B_PHONE)).await;
    assert_eq!(a_dev.to_string(), "15551234567:1@s.whatsapp.net");
    assert_eq!(b_dev.to_string(), format!("{B_PHONE}:1@s.whatsapp.net"));
    assert_eq!(
        admin.devices_of(B_PHONE).expect("B exists"),
        vec![b_dev.clone()]
    );

    // A -> B.
    a.command(json!({"cmd": "send", "to": bob.pn.to_string(), "text": "hello from A"}))
        .await;
    let sent = a.expect("sent").await;
    let a_msg_id = sent["id"].as_str().expect("message id").to_owned();
    let got = b
        .expect_where("A's text", |v| {
            v["event"] == "message" && v["text"] == "hello from A"
        })
        .await;
    assert_eq!(got["fromMe"], false, "{got}");
    assert_eq!(got["id"], a_msg_id.as_str(), "{got}");
    let from = got["remoteJid"].as_str().expect("remoteJid");
    assert!(
        from == a_user.pn.to_string() || from == a_user.lid.to_string(),
        "B sees the chat with A as {from}"
    );

    // B -> A.
    b.command(json!({"cmd": "send", "to": a_user.pn.to_string(), "text": "hello from B"}))
        .await;
    b.expect("sent").await;
    let got = a
        .expect_where("B's text", |v| {
            v["event"] == "message" && v["text"] == "hello from B"
        })
        .await;
    assert_eq!(got["fromMe"], false, "{got}");
    let from = got["remoteJid"].as_str().expect("remoteJid");
    assert!(
        from == bob.pn.to_string() || from == bob.lid.to_string(),
        "A sees the chat with B as {from}"
    );

    // Receipts: B's automatic delivery receipt reaches A (status 3 = delivered), then B reads
    // A's message and A sees status 4 (read).
    a.expect_where("delivery receipt for A's message", |v| {
        v["event"] == "status" && v["id"] == a_msg_id.as_str() && v["status"].as_u64() >= Some(3)
    })
    .await;
    let key = json!({"remoteJid": from_chat(&b, &a_msg_id), "id": a_msg_id, "fromMe": false});
    b.command(json!({"cmd": "read", "key": key})).await;
    b.expect("read-sent").await;
    a.expect_where("read receipt for A's message", |v| {
        v["event"] == "status" && v["id"] == a_msg_id.as_str() && v["status"].as_u64() >= Some(4)
    })
    .await;

    // B goes offline; A pairs a second device, which sends B a text: A's first device gets
    // the copy (DeviceSentMessage), B's device gets it queued and reads it on its next login.
    b.quit().await;
    let auth_a2 = tempfile::tempdir().expect("tempdir");
    let mut a2 = Baileys::spawn("A2", &server, auth_a2.path());
    let a2_dev = pair(&mut a2, &admin, None).await;
    assert_eq!(a2_dev.to_string(), "15551234567:2@s.whatsapp.net");
    let away = "sent while B was away";
    a2.command(json!({"cmd": "send", "to": bob.pn.to_string(), "text": away}))
        .await;
    a2.expect("sent").await;
    let copy = a
        .expect_where("A2's text on A's first device", |v| {
            v["event"] == "message" && v["text"] == away
        })
        .await;
    assert_eq!(copy["fromMe"], true, "{copy}");
    let queued = admin.queued_stanzas(&b_dev).expect("B's device is known");
    assert!(
        queued.iter().any(|n| n.tag == "message"
            && n.attr("from")
                .is_some_and(|f| f.to_string() == "15551234567:2@s.whatsapp.net")),
        "{queued:?}"
    );
    let mut b = Baileys::spawn("B again", &server, auth_b.path());
    b.expect("open").await;
    let got = b
        .expect_where("the queued text", |v| {
            v["event"] == "message" && v["text"] == away
        })
        .await;
    assert_eq!(got["fromMe"], false, "{got}");
    assert!(!b.seen.iter().any(|v| v["event"] == "qr"));
    assert!(admin.queued_stanzas(&b_dev).expect("known").is_empty());

    a.quit().await;
    a2.quit().await;
    b.quit().await;
}

/// The chat JID under which `b` saw message `id`.
fn from_chat(b: &Baileys, id: &str) -> String {
    b.seen
        .iter()
        .find(|v| v["event"] == "message" && v["id"] == id)
        .and_then(|v| v["remoteJid"].as_str())
        .expect("message seen")
        .to_owned()
}
