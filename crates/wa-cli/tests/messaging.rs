//! `wa send`, `wa react`, `wa edit`, `wa revoke` and `wa listen --json` as processes, with
//! sessions saved by `wa login`, against an in-process `wa-testserver` with two accounts.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use serde_json::Value;
use wa_testserver::TestServer;

fn wa(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wa"));
    c.args(args);
    c
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

async fn run(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        wa(&args).output().unwrap()
    })
    .await
    .unwrap()
}

/// Lines of a child's stdout, read on a thread.
fn lines(child: &mut std::process::Child) -> Receiver<String> {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

struct Session {
    args: Vec<String>,
}

impl Session {
    fn with(&self, cmd: &[&str]) -> Vec<String> {
        cmd.iter()
            .map(|s| (*s).to_owned())
            .chain(self.args.iter().cloned())
            .collect()
    }
}

/// `wa login` into a fresh store; the phone of `phone` scans the QR code it prints.
async fn login(server: &TestServer, dir: &std::path::Path, name: &str, phone: &str) -> Session {
    let key = dir.join("root.key");
    std::fs::write(&key, hex::encode(server.root_public_key())).unwrap();
    let args = vec![
        "--store".to_owned(),
        dir.join(format!("{name}.db")).to_str().unwrap().to_owned(),
        "--server".to_owned(),
        server.url(),
        "--root-key".to_owned(),
        key.to_str().unwrap().to_owned(),
        "--timeout".to_owned(),
        "30".to_owned(),
    ];
    let session = Session { args };
    let login_args = session.with(&["login"]);
    let mut child = wa(&login_args.iter().map(String::as_str).collect::<Vec<_>>())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rx = lines(&mut child);
    let code = tokio::task::spawn_blocking(move || {
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(30))
                .expect("no QR code printed");
            if let Some(code) = line.strip_prefix("QR code: ") {
                return code.to_owned();
            }
        }
    })
    .await
    .unwrap();
    server.admin().scan_qr_for(phone, &code).await.unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    session
}

/// The id in `wa send`'s "sent ID to CHAT ..." line.
fn sent_id(out: &Output) -> String {
    assert!(out.status.success(), "{}", text(out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("sent "))
        .unwrap_or_else(|| panic!("no 'sent' line: {}", text(out)));
    line.split_whitespace().nth(1).unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_react_edit_revoke_reach_a_json_listener() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let admin = server.admin();
    admin.create_account("15550300001", "Alice").unwrap();
    let bob_account = admin.create_account("15550300002", "Bob").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let alice = login(&server, dir.path(), "alice", "15550300001").await;
    let bob = login(&server, dir.path(), "bob", "15550300002").await;

    // Bob is offline: what Alice sends now waits in the server's queue for him.
    let id = sent_id(
        &run(alice.with(&[
            "send",
            "--to",
            "15550300002",
            "--text",
            "hello from the CLI",
        ]))
        .await,
    );
    let reply = sent_id(
        &run(alice.with(&[
            "send",
            "--to",
            "+15550300002",
            "--text",
            "and a reply",
            "--reply-to",
            &id,
            "--reply-sender",
            "15550300001",
            "--quoted-text",
            "hello from the CLI",
        ]))
        .await,
    );
    let react = sent_id(
        &run(alice.with(&[
            "react",
            "--to",
            "15550300002",
            "--id",
            &id,
            "--emoji",
            "🎉",
            "--mine",
        ]))
        .await,
    );
    let edit = sent_id(
        &run(alice.with(&[
            "edit",
            "--to",
            "15550300002",
            "--id",
            &id,
            "--text",
            "hello, edited",
        ]))
        .await,
    );
    let revoke =
        sent_id(&run(alice.with(&["revoke", "--to", "15550300002", "--id", &reply])).await);

    // Bob listens: the five messages as JSON lines, in the order they were sent (other
    // messages, such as the phone's app-state key share, may come too).
    let want: Vec<String> = vec![
        id.clone(),
        reply.clone(),
        react.clone(),
        edit.clone(),
        revoke.clone(),
    ];
    let listen_args = bob.with(&["listen", "--json", "--seconds", "30", "--read"]);
    let mut child = wa(&listen_args.iter().map(String::as_str).collect::<Vec<_>>())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rx = lines(&mut child);
    let wanted = want.clone();
    let (events, seen) = tokio::task::spawn_blocking(move || {
        let mut events = Vec::new();
        let mut seen = Vec::new();
        while seen.len() < wanted.len() {
            let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) else {
                break;
            };
            let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
            if let Some(id) = v["info"]["id"].as_str()
                && wanted.iter().any(|w| w == id)
            {
                seen.push(line.clone());
                events.push(v);
            }
        }
        (events, seen)
    })
    .await
    .unwrap();
    // Give the read receipts a moment to leave, then stop the listener.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(seen.len(), 5, "{seen:#?}");
    let messages: Vec<&Value> = events.iter().filter(|e| e["type"] == "message").collect();
    let ids: Vec<&str> = messages
        .iter()
        .map(|m| m["info"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, want);
    let kinds: Vec<&str> = messages
        .iter()
        .map(|m| m["content"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["text", "text", "reaction", "edit", "revoke"]);
    assert_eq!(messages[0]["content"]["text"], "hello from the CLI");
    assert_eq!(messages[0]["info"]["push_name"], "Alice");
    assert_eq!(messages[1]["content"]["quoted"]["id"], id.as_str());
    assert_eq!(
        messages[1]["content"]["quoted"]["text"],
        "hello from the CLI"
    );
    assert_eq!(messages[2]["content"]["emoji"], "🎉");
    assert_eq!(messages[2]["content"]["key"]["id"], id.as_str());
    assert_eq!(messages[3]["content"]["new"]["text"], "hello, edited");
    assert_eq!(messages[4]["content"]["key"]["id"], reply.as_str());
    // The event's own fields are there too (the raw protobuf for anything not typed).
    assert!(messages[0]["message"]["proto_b64"].is_string());

    // Alice sees Bob's device deliver and read the first text (`--read`).
    let mut child = wa(&alice
        .with(&["listen", "--json", "--seconds", "5"])
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let rx = lines(&mut child);
    let want = id.clone();
    let bob_lid = bob_account.lid.user().to_owned();
    let kinds = tokio::task::spawn_blocking(move || {
        let mut kinds = Vec::new();
        while let Ok(line) = rx.recv_timeout(Duration::from_secs(10)) {
            let v: Value = serde_json::from_str(&line).unwrap();
            if v["type"] == "receipt"
                && v["message_ids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|m| m == want.as_str())
                && v["sender"].as_str().unwrap_or("").contains(&bob_lid)
            {
                kinds.push(v["kind"].as_str().unwrap_or("").to_owned());
            }
        }
        kinds
    })
    .await
    .unwrap();
    let _ = child.wait();
    assert!(kinds.iter().any(|k| k == "read"), "{kinds:?}");
    server.shutdown().await;
}
