//! The admin interface over HTTP and the `wa-testserver` subcommands that use it.

use std::process::Command;

use tokio::net::TcpListener;
use wa_testserver::admin_http::{admin_request, serve_admin};
use wa_testserver::{Config, TestServer};

#[tokio::test]
async fn admin_http_routes_and_errors() {
    let server = TestServer::start(Config::default()).await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve_admin(
        listener,
        server.admin(),
        server.root_public_key(),
    ));

    let root = admin_request(addr, "GET", "/root-key", "").await.unwrap();
    assert_eq!(root, hex::encode(server.root_public_key()));
    assert_eq!(
        admin_request(addr, "GET", "/devices", "").await.unwrap(),
        ""
    );

    let err = admin_request(addr, "POST", "/scan", "not a qr")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("400"), "{err}");
    let b = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
    let qr = format!("https://wa.me/settings/linked_devices#2@nobody,{b},{b},{b},1");
    let err = admin_request(addr, "POST", "/scan", &qr).await.unwrap_err();
    assert!(err.to_string().contains("404"), "{err}");
    let err = admin_request(addr, "POST", "/remove", "15551234567:9@s.whatsapp.net")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("404"), "{err}");
    let err = admin_request(addr, "POST", "/kick", "15551234567:1@s.whatsapp.net 999")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("400"), "{err}");
    assert_eq!(
        admin_request(addr, "POST", "/drop-pings", "true")
            .await
            .unwrap(),
        "ok"
    );
    assert_eq!(
        admin_request(addr, "POST", "/drop-pings", "false")
            .await
            .unwrap(),
        "ok"
    );
    let err = admin_request(addr, "POST", "/drop-pings", "maybe")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("400"), "{err}");
    let err = admin_request(addr, "GET", "/nope", "").await.unwrap_err();
    assert!(err.to_string().contains("404"), "{err}");

    // The binary's client subcommands talk to the same interface.
    let bin = env!("CARGO_BIN_EXE_wa-testserver");
    let admin = addr.to_string();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(bin)
            .args(["scan", "--admin", &admin, "garbage"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bad QR code"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let admin = addr.to_string();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(bin)
            .args(["devices", "--admin", &admin])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success());
    server.shutdown().await;
}

#[test]
fn binary_prints_url_and_writes_the_root_key() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("root.hex");
    let mut child = Command::new(env!("CARGO_BIN_EXE_wa-testserver"))
        .args(["--listen", "127.0.0.1:0", "--seed", "7", "--root-key-out"])
        .arg(&key_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(
        first.starts_with("wa-testserver listening on ws://127.0.0.1:"),
        "{first}"
    );
    assert!(first.ends_with("/ws/chat"), "{first}");
    let mut root_line = String::new();
    for line in lines.by_ref().take(5) {
        let line = line.unwrap();
        if let Some(k) = line.strip_prefix("test root public key: ") {
            root_line = k.to_owned();
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let written = std::fs::read_to_string(&key_file).unwrap();
    assert_eq!(written.trim(), root_line);
    assert_eq!(hex::decode(written.trim()).unwrap().len(), 32);
}

/// A free loopback port below the kernel's ephemeral range. Neither another test's `bind(0)` nor
/// the local end of an outgoing connect can take it, so a port freed by `stop` stays free (a
/// connect to a free ephemeral port can even connect to itself).
fn free_port_outside_ephemeral_range() -> u16 {
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let low = 10_000.min(ephemeral_low / 2);
    let span = ephemeral_low.saturating_sub(low).max(1);
    let start = low + (std::process::id() % u32::from(span)) as u16;
    (0..span)
        .map(|i| low + (start - low + i) % span)
        .find(|&port| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok())
        .expect("a free port below the ephemeral range")
}

#[tokio::test]
async fn stop_and_restart_keep_the_address() {
    let listen = std::net::SocketAddr::from(([127, 0, 0, 1], free_port_outside_ephemeral_range()));
    let mut server = TestServer::start(Config {
        listen,
        ..Config::default()
    })
    .await
    .unwrap();
    let addr = server.addr();
    assert_eq!(addr, listen);
    assert_eq!(server.url(), format!("ws://{addr}/ws/chat"));
    tokio::net::TcpStream::connect(addr).await.unwrap();
    server.stop().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    server.restart().await.unwrap();
    assert_eq!(server.addr(), addr);
    tokio::net::TcpStream::connect(addr).await.unwrap();
    server.shutdown().await;
}

#[test]
fn binary_with_state_and_tls_writes_key_and_certificate_and_keeps_them() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wa-testserver"))
            .args(["--tls", "--state"])
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let first = BufReader::new(child.stdout.take().unwrap())
            .lines()
            .next()
            .unwrap()
            .unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(first.contains("wss://127.0.0.1:"), "{first}");
        (
            std::fs::read_to_string(dir.path().join("root-key.hex")).unwrap(),
            std::fs::read_to_string(dir.path().join("tls-cert.pem")).unwrap(),
        )
    };
    let (root1, cert1) = run();
    assert!(cert1.starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(dir.path().join("state.json").exists());
    let (root2, cert2) = run();
    assert_eq!(root1, root2, "the root key survives a restart");
    assert_eq!(cert1, cert2, "the certificate survives a restart");
}

#[tokio::test]
async fn accounts_are_created_listed_and_persisted() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        state_dir: Some(dir.path().to_owned()),
        ..Config::default()
    };
    let mut server = TestServer::start(config.clone()).await.unwrap();
    let admin = server.admin();
    let bob = admin.create_account("+15550002222", "Bob").unwrap();
    assert_eq!(bob.pn.to_string(), "15550002222@s.whatsapp.net");
    assert_eq!(*bob.lid.server(), wa_binary::Server::Lid);
    assert_ne!(bob.lid.user(), "99887766554433");
    // Taken or malformed numbers are refused.
    assert!(admin.create_account("15550002222", "Again").is_err());
    assert!(admin.create_account("15551234567", "Default").is_err());
    assert!(admin.create_account("12ab", "Bad").is_err());
    assert_eq!(admin.accounts().len(), 2);
    assert_eq!(admin.account("15550002222"), Some(bob.clone()));
    assert!(admin.devices_of("15550002222").unwrap().is_empty());
    assert!(admin.devices_of("19990000000").is_err());
    assert!(admin.set_require_tctoken_for("19990000000", true).is_err());
    admin.set_require_tctoken_for("15550002222", true).unwrap();
    let err = admin
        .scan_qr_for(
            "19990000000",
            "https://wa.me/settings/linked_devices#x,y,z,w",
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, wa_testserver::Error::UnknownAccount(_)),
        "{err}"
    );

    // Over HTTP.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let http = tokio::spawn(serve_admin(
        listener,
        admin.clone(),
        server.root_public_key(),
    ));
    let made = admin_request(addr, "POST", "/accounts", "15550003333 Carol C")
        .await
        .unwrap();
    assert!(made.starts_with("15550003333@s.whatsapp.net "), "{made}");
    let list = admin_request(addr, "GET", "/accounts", "").await.unwrap();
    assert_eq!(list.lines().count(), 3, "{list}");
    assert!(list.lines().nth(2).unwrap().ends_with(" Carol C"), "{list}");
    let err = admin_request(addr, "POST", "/accounts", "15550003333 Dup")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("400"), "{err}");
    let err = admin_request(addr, "POST", "/devices-of", "19990000000")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("404"), "{err}");
    assert_eq!(
        admin_request(addr, "POST", "/devices-of", "15550003333")
            .await
            .unwrap(),
        ""
    );
    http.abort();

    // A restart from the state directory keeps every account, with the same LIDs. (On a fresh
    // port: under load another test may take the old one in between.)
    server.shutdown().await;
    server = TestServer::start(config).await.unwrap();
    let again = server.admin().accounts();
    assert_eq!(again.len(), 3);
    assert_eq!(again[1], bob);
    server.shutdown().await;
}

#[test]
fn binary_account_subcommands() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let bin = env!("CARGO_BIN_EXE_wa-testserver");
    let mut server = Command::new(bin)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let admin = lines
        .take(3)
        .map(Result::unwrap)
        .find_map(|l| {
            l.strip_prefix("admin interface on http://")
                .map(str::to_owned)
        })
        .expect("admin address printed");
    let run = |args: &[&str]| {
        let out = Command::new(bin).args(args).output().unwrap();
        (out.status.success(), String::from_utf8(out.stdout).unwrap())
    };
    let (ok, made) = run(&["create-account", "--admin", &admin, "15550002222", "Bob B"]);
    assert!(ok);
    assert!(made.starts_with("15550002222@s.whatsapp.net "), "{made}");
    let (ok, list) = run(&["accounts", "--admin", &admin]);
    assert!(ok);
    assert_eq!(list.lines().count(), 2, "{list}");
    assert!(list.lines().nth(1).unwrap().ends_with(" Bob B"), "{list}");
    let (ok, devices) = run(&["devices", "--admin", &admin, "--account", "15550002222"]);
    assert!(ok);
    assert_eq!(devices.trim(), "");
    let (ok, _) = run(&["devices", "--admin", &admin, "--account", "19990000000"]);
    assert!(!ok, "unknown account");
    let (ok, _) = run(&["create-account", "--admin", &admin, "15550002222", "Again"]);
    assert!(!ok, "taken number");
    server.kill().unwrap();
    server.wait().unwrap();
}
