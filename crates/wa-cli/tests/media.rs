//! `wa send --image` and `wa download` as processes against an in-process `wa-testserver`:
//! Alice sends an image file, Bob's `wa listen --json` prints the message, and `wa download`
//! fed that line writes the identical file.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use serde_json::Value;
use wa_testserver::TestServer;

fn wa(args: &[String]) -> Command {
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
    tokio::task::spawn_blocking(move || wa(&args).output().unwrap())
        .await
        .unwrap()
}

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

/// `cmd` followed by the session options of a store (media over plain http).
fn with(session: &[String], cmd: &[&str]) -> Vec<String> {
    cmd.iter()
        .map(|s| (*s).to_owned())
        .chain(session.iter().cloned())
        .collect()
}

/// `wa login` into a fresh store; the phone of `phone` scans the QR code it prints.
async fn login(server: &TestServer, dir: &std::path::Path, name: &str, phone: &str) -> Vec<String> {
    let key = dir.join("root.key");
    std::fs::write(&key, hex::encode(server.root_public_key())).unwrap();
    let session: Vec<String> = [
        "--store",
        dir.join(format!("{name}.db")).to_str().unwrap(),
        "--server",
        &server.url(),
        "--root-key",
        key.to_str().unwrap(),
        "--timeout",
        "30",
        "--media-http",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let mut child = wa(&with(&session, &["login"]))
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_sent_by_the_cli_is_downloaded_by_the_cli() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let admin = server.admin();
    admin.create_account("15550400001", "Alice").unwrap();
    admin.create_account("15550400002", "Bob").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let alice = login(&server, dir.path(), "alice", "15550400001").await;
    let bob = login(&server, dir.path(), "bob", "15550400002").await;

    let image: Vec<u8> = (0..100_000u32).map(|i| (i * 31 % 251) as u8).collect();
    let path = dir.path().join("photo.png");
    std::fs::write(&path, &image).unwrap();
    let out = run(with(
        &alice,
        &[
            "send",
            "--to",
            "15550400002",
            "--image",
            path.to_str().unwrap(),
            "--text",
            "a photo",
        ],
    ))
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let id = stdout
        .lines()
        .find_map(|l| l.strip_prefix("sent "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no 'sent' line: {}", text(&out)))
        .to_owned();

    let mut child = wa(&with(&bob, &["listen", "--json", "--seconds", "30"]))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rx = lines(&mut child);
    let line = tokio::task::spawn_blocking(move || {
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(30))
                .expect("the image message was not printed");
            let v: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
            if v["info"]["id"].as_str() == Some(id.as_str()) {
                return line;
            }
        }
    })
    .await
    .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["message"]["kind"], "image_message", "{line}");

    let event = dir.path().join("event.json");
    std::fs::write(&event, format!("{line}\n")).unwrap();
    let saved = dir.path().join("saved.png");
    let out = run(with(
        &bob,
        &[
            "download",
            "--event",
            event.to_str().unwrap(),
            "--out",
            saved.to_str().unwrap(),
        ],
    ))
    .await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("wrote 100000 bytes"),
        "{}",
        text(&out)
    );
    assert!(
        std::fs::read(&saved).unwrap() == image,
        "downloaded file differs"
    );
}
