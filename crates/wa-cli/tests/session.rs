//! `wa login`, `wa status` and `wa logout` as processes against an in-process `wa-testserver`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

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

async fn run(cmd: Command) -> Output {
    let mut cmd = cmd;
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn connect_args<'a>(db: &'a str, url: &'a str, key: &'a str) -> Vec<&'a str> {
    vec![
        "--store",
        db,
        "--server",
        url,
        "--root-key",
        key,
        "--timeout",
        "30",
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_status_logout() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("wa.db");
    let key = dir.path().join("root.key");
    std::fs::write(&key, format!("{}\n", hex::encode(server.root_public_key()))).unwrap();
    let (db, key, url) = (
        db.to_str().unwrap().to_owned(),
        key.to_str().unwrap().to_owned(),
        server.url(),
    );
    let args = connect_args(&db, &url, &key);

    let out = run(wa(&[&["status"], &args[..]].concat())).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("no session"), "{}", text(&out));

    // `wa login` prints a QR code; the phone scans it.
    let mut child = wa(&[&["login"], &args[..]].concat())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let code = tokio::task::spawn_blocking(move || {
        let mut seen = Vec::new();
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("no QR code printed; got {seen:?}"));
            if let Some(code) = line.strip_prefix("QR code: ") {
                return (code.to_owned(), rx);
            }
            seen.push(line);
        }
    })
    .await
    .unwrap();
    let (code, rx) = code;
    let jid = server.admin().scan_qr(&code).await.unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    // Every line the process printed: the reader thread ends at its EOF.
    let rest: Vec<String> = rx.iter().collect();
    assert!(status.status.success(), "{rest:?} {}", text(&status));
    assert!(
        rest.iter()
            .any(|l| l.contains(&format!("logged in as {jid}"))),
        "{rest:?}"
    );

    let out = run(wa(&[&["status"], &args[..]].concat())).await;
    assert!(
        text(&out).contains(&format!("paired as {jid}")),
        "{}",
        text(&out)
    );

    // A second login reuses the session: no QR code.
    let out = run(wa(&[&["login"], &args[..]].concat())).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("QR code:"), "{}", text(&out));

    let out = run(wa(&[&["logout"], &args[..]].concat())).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(!server.admin().devices().contains(&jid));
    let out = run(wa(&[&["status"], &args[..]].concat())).await;
    assert!(text(&out).contains("no session"), "{}", text(&out));
    assert!(Path::new(&db).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_root_key_is_refused() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("wa.db");
    let key = dir.path().join("root.key");
    std::fs::write(&key, "11".repeat(32)).unwrap();
    let (db, key, url) = (
        db.to_str().unwrap().to_owned(),
        key.to_str().unwrap().to_owned(),
        server.url(),
    );
    let mut args = connect_args(&db, &url, &key);
    args[7] = "5";
    let out = run(wa(&[&["login"], &args[..]].concat())).await;
    assert!(!out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("QR code:"), "{}", text(&out));
    assert!(text(&out).contains("certificate"), "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_with_a_phone_code() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("wa.db");
    let key = dir.path().join("root.key");
    std::fs::write(&key, hex::encode(server.root_public_key())).unwrap();
    let (db, key, url) = (
        db.to_str().unwrap().to_owned(),
        key.to_str().unwrap().to_owned(),
        server.url(),
    );
    let args = connect_args(&db, &url, &key);
    let mut child = wa(&[&["login", "--phone", "+15551234567"], &args[..]].concat())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let (code, rx) = tokio::task::spawn_blocking(move || {
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(30))
                .expect("no pairing code printed");
            assert!(!line.starts_with("QR code:"), "{line}");
            if let Some(code) = line.strip_prefix("Pairing code: ") {
                return (code.to_owned(), rx);
            }
        }
    })
    .await
    .unwrap();
    let jid = server.admin().enter_pair_code(&code).await.unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    // Every line the process printed: the reader thread ends at its EOF.
    let rest: Vec<String> = rx.iter().collect();
    assert!(out.status.success(), "{rest:?} {}", text(&out));
    assert!(
        rest.iter()
            .any(|l| l.contains(&format!("logged in as {jid}"))),
        "{rest:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_over_wss_with_ca() {
    let server = TestServer::start(wa_testserver::Config {
        tls: true,
        ..wa_testserver::Config::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("wa.db");
    let key = dir.path().join("root.key");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&key, hex::encode(server.root_public_key())).unwrap();
    std::fs::write(&ca, server.tls_cert_pem().unwrap()).unwrap();
    let (db, key, ca, url) = (
        db.to_str().unwrap().to_owned(),
        key.to_str().unwrap().to_owned(),
        ca.to_str().unwrap().to_owned(),
        server.url(),
    );
    assert!(url.starts_with("wss://"));
    let mut args = connect_args(&db, &url, &key);
    args.extend(["--ca", ca.as_str()]);
    let mut child = wa(&[&["login"], &args[..]].concat())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let (code, rx) = tokio::task::spawn_blocking(move || {
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(30))
                .expect("no QR code printed");
            if let Some(code) = line.strip_prefix("QR code: ") {
                return (code.to_owned(), rx);
            }
        }
    })
    .await
    .unwrap();
    let jid = server.admin().scan_qr(&code).await.unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    // Every line the process printed: the reader thread ends at its EOF.
    let rest: Vec<String> = rx.iter().collect();
    assert!(out.status.success(), "{rest:?} {}", text(&out));
    assert!(
        rest.iter()
            .any(|l| l.contains(&format!("logged in as {jid}"))),
        "{rest:?}"
    );

    // Without --ca the self-signed certificate is not trusted.
    let args = connect_args(&db, &url, &key);
    let mut args = args;
    args[7] = "3";
    let out = run(wa(&[&["login"], &args[..]].concat())).await;
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).to_lowercase().contains("certificate"),
        "{}",
        text(&out)
    );
}
