//! Interop: Baileys 7 (`baileys@7.0.0-rc14`, a client no one here wrote) against `wa-testserver`
//! over real loopback sockets.
//!
//! Baileys shows a QR code, the simulated phone scans it through the admin API, Baileys follows
//! the 515 restart, logs in, uploads its prekeys and reaches `connection: 'open'`. A second
//! Baileys process then logs in from the saved session, a third with the same session replaces
//! it (stream error 440), and unlinking the device through the admin API ends it with 401.
//!
//! Driver script: `tests/interop/baileys_client.mjs` (one JSON event per stdout line).

use std::time::Duration;

use wa_tests::baileys::Baileys;
use wa_testserver::admin_http::{admin_request, serve_admin};
use wa_testserver::{Config, StreamError, TestServer};

const SCRIPT: &str = "baileys_client.mjs";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baileys_pairs_by_qr_logs_in_and_is_replaced_and_removed() {
    let state_dir = tempfile::tempdir().expect("tempdir");
    let config = Config {
        state_dir: Some(state_dir.path().to_owned()),
        ..Config::default()
    };
    let mut server = TestServer::start(config.clone())
        .await
        .expect("start server");
    let mut admin = server.admin();
    let auth = tempfile::tempdir().expect("tempdir");

    // 1. New device: QR, scan by the phone, 515, login, prekey upload, open.
    let mut first = Baileys::spawn("first", SCRIPT, &server, auth.path(), &[]);
    let qr = first.expect_new("qr").await["qr"]
        .as_str()
        .expect("qr string")
        .to_owned();
    assert!(
        qr.starts_with("https://wa.me/settings/linked_devices#"),
        "{qr}"
    );
    // The phone scans through the HTTP admin interface (what `wa-testserver scan` uses).
    let http = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind admin");
    let http_addr = http.local_addr().expect("admin addr");
    let http_task = tokio::spawn(serve_admin(http, admin.clone(), server.root_public_key()));
    let jid = admin_request(http_addr, "POST", "/scan", &qr)
        .await
        .expect("phone scans the QR");
    http_task.abort();
    assert_eq!(jid, "15551234567:1@s.whatsapp.net");
    let jid: wa_testserver::Jid = jid.parse().expect("device JID");
    let close = first.expect_new("close").await;
    assert_eq!(close["statusCode"], 515, "{close}");
    let open = first.expect_new("open").await;
    assert_eq!(open["me"]["id"], "15551234567:1@s.whatsapp.net", "{open}");
    assert_eq!(open["me"]["lid"], "99887766554433:1@lid", "{open}");
    assert_eq!(admin.devices(), vec![jid.clone()]);
    assert!(admin.is_online(&jid));
    let prekeys = admin.pre_key_count(&jid).expect("device known");
    assert!(prekeys >= 30, "Baileys uploaded {prekeys} prekeys");
    // The offline marker reaches Baileys (receivedPendingNotifications).
    while !first
        .seen()
        .iter()
        .any(|v| v["event"] == "offline" && v["received"] == true)
    {
        first.expect_new("offline").await;
    }
    // First login: the phone's Signal peer messages arrive and decrypt: Baileys stores the
    // shared app-state key and processes the inline history sync.
    let key_id = loop {
        let creds = first.expect_new("creds").await;
        if let Some(id) = creds["myAppStateKeyId"].as_str() {
            break id.to_owned();
        }
    };
    assert_eq!(key_id.len(), 8, "6-byte key id in base64: {key_id}");
    first.expect_new("history").await;
    // Then Baileys syncs the five app-state collections and counts the account as synced;
    // well before its 20 s fallback timer would do the same.
    let since = tokio::time::Instant::now();
    loop {
        let creds = first.expect_new("creds").await;
        if creds["accountSyncCounter"] == 1 {
            break;
        }
    }
    assert!(
        since.elapsed() < Duration::from_secs(10),
        "app-state sync took {:?}",
        since.elapsed()
    );
    first.quit().await;

    // The server process "restarts": a new server from the same --state directory, with the
    // same root key, still knows the device and its prekeys. (On a fresh port: under load
    // another test may take the old one in between; Baileys is given the new URL.)
    let root = server.root_public_key();
    let prekeys = admin.pre_key_count(&jid);
    server.shutdown().await;
    server = TestServer::start(config)
        .await
        .expect("restart server from its state directory");
    admin = server.admin();
    assert_eq!(server.root_public_key(), root);
    assert_eq!(admin.devices(), vec![jid.clone()]);
    assert_eq!(admin.pre_key_count(&jid), prekeys);

    // 2. Returning device: logs in from the saved session, no QR.
    let mut second = Baileys::spawn("second", SCRIPT, &server, auth.path(), &[]);
    second.expect_new("open").await;
    assert!(
        !second.saw("qr"),
        "a returning device must not be asked to pair"
    );
    assert_eq!(admin.devices(), vec![jid.clone()]);

    // 3. The same device connecting again replaces the first connection: 440.
    let copy = tempfile::tempdir().expect("tempdir");
    for entry in std::fs::read_dir(auth.path()).expect("auth dir") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), copy.path().join(entry.file_name())).expect("copy creds");
    }
    let mut third = Baileys::spawn("third", SCRIPT, &server, copy.path(), &[]);
    third.expect_new("open").await;
    let replaced = second.expect_new("close").await;
    assert_eq!(replaced["statusCode"], 440, "{replaced}");
    second.quit().await;

    // 4. A 503 from the server, then the phone unlinks the device: 401.
    admin
        .kick(&jid, StreamError::ServiceUnavailable)
        .expect("kick online device");
    let unavailable = third.expect_new("close").await;
    assert_eq!(unavailable["statusCode"], 503, "{unavailable}");
    third.quit().await;

    let mut fourth = Baileys::spawn("fourth", SCRIPT, &server, copy.path(), &[]);
    fourth.expect_new("open").await;
    admin.remove_device(&jid).expect("remove device");
    let removed = fourth.expect_new("close").await;
    assert_eq!(removed["statusCode"], 401, "{removed}");
    assert!(admin.devices().is_empty());
    fourth.quit().await;

    // 5. The removed device can no longer log in (failure 401).
    let mut fifth = Baileys::spawn("fifth", SCRIPT, &server, copy.path(), &[]);
    let refused = fifth.expect_new("close").await;
    assert_eq!(refused["statusCode"], 401, "{refused}");
    fifth.quit().await;

    // 6. A pair-success with a bad ADV HMAC: Baileys refuses it (closes with 500), the scan
    //    fails and nothing is saved.
    admin.set_bad_pairing(true, false);
    let bad_auth = tempfile::tempdir().expect("tempdir");
    let mut bad = Baileys::spawn("bad", SCRIPT, &server, bad_auth.path(), &[]);
    let qr = bad.expect_new("qr").await["qr"]
        .as_str()
        .expect("qr string")
        .to_owned();
    let err = admin
        .scan_qr(&qr)
        .await
        .expect_err("Baileys must refuse a bad HMAC");
    assert!(matches!(err, wa_testserver::Error::PairFailed(_)), "{err}");
    let close = bad.expect_new("close").await;
    assert_eq!(close["statusCode"], 500, "{close}");
    assert!(admin.devices().is_empty());
    bad.quit().await;
    admin.set_bad_pairing(false, false);

    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baileys_pairs_by_phone_code_over_wss_and_a_wrong_code_is_refused() {
    // Over wss://: the server's self-signed certificate is Node's extra trusted CA.
    let server = TestServer::start(Config {
        tls: true,
        ..Config::default()
    })
    .await
    .expect("start server");
    assert!(
        server.url().starts_with("wss://127.0.0.1:"),
        "{}",
        server.url()
    );
    let ca_dir = tempfile::tempdir().expect("tempdir");
    let ca = ca_dir.path().join("testserver-ca.pem");
    std::fs::write(&ca, server.tls_cert_pem().expect("TLS on")).expect("write CA");
    let admin = server.admin();

    // A wrong code: the key bundle does not decrypt, pairing fails, nothing is saved.
    let wrong_auth = tempfile::tempdir().expect("tempdir");
    let mut wrong = Baileys::spawn_with_ca(
        "wrong",
        SCRIPT,
        &server,
        wrong_auth.path(),
        &["--pair-phone", "15551234567"],
        Some(&ca),
    );
    let code = wrong.expect_new("pair-code").await["code"]
        .as_str()
        .expect("code")
        .to_owned();
    let typo = if code.starts_with('A') {
        "BBBBBBBB"
    } else {
        "AAAAAAAA"
    };
    let err = admin
        .enter_pair_code(typo)
        .await
        .expect_err("a wrong code must fail");
    assert!(matches!(err, wa_testserver::Error::PairFailed(_)), "{err}");
    assert!(admin.devices().is_empty());
    wrong.quit().await;

    // The right code, typed as shown with a dash: pair-success, 515, login, open.
    let auth = tempfile::tempdir().expect("tempdir");
    let mut baileys = Baileys::spawn_with_ca(
        "baileys",
        SCRIPT,
        &server,
        auth.path(),
        &["--pair-phone", "15551234567"],
        Some(&ca),
    );
    let code = baileys.expect_new("pair-code").await["code"]
        .as_str()
        .expect("code")
        .to_owned();
    assert_eq!(code.len(), 8, "{code}");
    let typed = format!("{}-{}", &code[..4], &code[4..]);
    let jid = admin
        .enter_pair_code(&typed)
        .await
        .expect("phone enters the code");
    let close = baileys.expect_new("close").await;
    assert_eq!(close["statusCode"], 515, "{close}");
    let open = baileys.expect_new("open").await;
    assert_eq!(open["me"]["id"], jid.to_string(), "{open}");
    assert_eq!(admin.devices(), vec![jid.clone()]);
    assert!(admin.pre_key_count(&jid).expect("device known") >= 30);
    baileys.quit().await;
    server.shutdown().await;
}
