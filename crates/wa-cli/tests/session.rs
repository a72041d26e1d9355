//! `wa login`, `wa status` and `wa logout` as processes against an in-process `wa-testserver`.

use crate::common;

use std::path::Path;

use common::{
    assert_logged_in, connect_args, lines, qr_code, run, spawn, text, wait_line, write_root_key,
};
use wa_testserver::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_status_logout() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("wa.db");
    let key = dir.path().join("root.key");
    std::fs::write(&key, format!("{}\n", hex::encode(server.root_public_key()))).unwrap();
    let args = connect_args(&db, &server.url(), &key, "30");
    let cmd = |c: &[&str]| -> Vec<String> {
        c.iter()
            .map(|s| (*s).to_owned())
            .chain(args.iter().cloned())
            .collect()
    };

    let out = run(&cmd(&["status"])).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("no session"), "{}", text(&out));

    // `wa login` prints a QR code; the phone scans it.
    let mut child = spawn(&cmd(&["login"]));
    let (code, rx) = qr_code(lines(&mut child)).await;
    let jid = server.admin().scan_qr(&code).await.unwrap();
    assert_logged_in(child, rx, &jid).await;

    let out = run(&cmd(&["status"])).await;
    assert!(
        text(&out).contains(&format!("paired as {jid}")),
        "{}",
        text(&out)
    );

    // A second login reuses the session: no QR code.
    let out = run(&cmd(&["login"])).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("QR code:"), "{}", text(&out));

    let out = run(&cmd(&["logout"])).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(!server.admin().devices().contains(&jid));
    let out = run(&cmd(&["status"])).await;
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
    let mut args = vec!["login".to_owned()];
    args.extend(connect_args(&db, &server.url(), &key, "5"));
    let out = run(&args).await;
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
    let key = write_root_key(&server, dir.path());
    let mut args: Vec<String> = ["login", "--phone", "+15551234567"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    args.extend(connect_args(
        &dir.path().join("wa.db"),
        &server.url(),
        &key,
        "30",
    ));
    let mut child = spawn(&args);
    let (code, rx) = wait_line(lines(&mut child), "no pairing code printed", |line| {
        assert!(!line.starts_with("QR code:"), "{line}");
        line.strip_prefix("Pairing code: ").map(str::to_owned)
    })
    .await;
    let jid = server.admin().enter_pair_code(&code).await.unwrap();
    assert_logged_in(child, rx, &jid).await;
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
    let key = write_root_key(&server, dir.path());
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, server.tls_cert_pem().unwrap()).unwrap();
    let url = server.url();
    assert!(url.starts_with("wss://"));
    let mut args = vec!["login".to_owned()];
    args.extend(connect_args(&db, &url, &key, "30"));
    args.extend(["--ca".to_owned(), ca.to_str().unwrap().to_owned()]);
    let mut child = spawn(&args);
    let (code, rx) = qr_code(lines(&mut child)).await;
    let jid = server.admin().scan_qr(&code).await.unwrap();
    assert_logged_in(child, rx, &jid).await;

    // Without --ca the self-signed certificate is not trusted.
    let mut args = vec!["login".to_owned()];
    args.extend(connect_args(&db, &url, &key, "3"));
    let out = run(&args).await;
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).to_lowercase().contains("certificate"),
        "{}",
        text(&out)
    );
}
