//! The client against `wa-testserver` over real loopback sockets: pairing by QR, login from
//! SQLite after a restart of the process's client, device removal, the same device twice,
//! a server restart, and keepalive loss and recovery.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wa_client::{Client, Config, DisconnectReason, Event, EventStream, KeepAlive};
use wa_store::{Container, SqliteContainer};
use wa_testserver::{Jid, TestServer};

use crate::common;

use common::live::{STEP, config, next, stop, until};

/// Pairs a new device by QR: the phone scans the first QR code shown.
async fn pair(
    server: &TestServer,
    cfg: Config,
    container: impl Container + 'static,
) -> (Client, EventStream, Jid) {
    let (client, mut events) = Client::start(cfg, container, None).await.unwrap();
    let Event::Qr { code } = until(&mut events, |e| matches!(e, Event::Qr { .. })).await else {
        unreachable!()
    };
    assert!(
        code.starts_with("https://wa.me/settings/linked_devices#"),
        "{code}"
    );
    assert_eq!(code.split(',').count(), 5, "{code}");
    let admin = server.admin();
    let scan = tokio::spawn(async move { admin.scan_qr(&code).await });
    let Event::PairSuccess { jid, lid, .. } =
        until(&mut events, |e| matches!(e, Event::PairSuccess { .. })).await
    else {
        unreachable!()
    };
    assert!(lid.is_some());
    let scanned = scan.await.unwrap().unwrap();
    assert_eq!(scanned.to_string(), jid);
    assert_eq!(
        next(&mut events).await,
        Event::Disconnected {
            reason: DisconnectReason::Restart,
            reconnecting: true
        }
    );
    until(&mut events, |e| *e == Event::Connected).await;
    (client, events, scanned)
}

async fn sqlite(path: &Path) -> SqliteContainer {
    SqliteContainer::open(path).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pair_by_qr_then_log_in_again_from_sqlite() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("wa.db");
    let (client, mut events, jid) = pair(&server, config(&server), sqlite(&db).await).await;
    // First login uploaded prekeys because the server held none.
    assert!(server.admin().pre_key_count(&jid).unwrap() >= 5);
    assert!(server.admin().is_online(&jid));
    stop(&client, &mut events).await;
    drop(client);

    // A new client on the same file logs in without pairing.
    let container = sqlite(&db).await;
    let stored = container.list().await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].device.jid.as_ref(), Some(&jid));
    assert!(stored[0].device.account.is_some());
    let (client, mut events) = Client::start(config(&server), container, None)
        .await
        .unwrap();
    // The first event is the login itself: no QR code, no pairing.
    assert_eq!(next(&mut events).await, Event::Connected);
    assert!(server.admin().is_online(&jid));
    stop(&client, &mut events).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_removed_logs_out_and_clears_credentials() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("wa.db");
    let (_client, mut events, jid) = pair(&server, config(&server), sqlite(&db).await).await;
    server.admin().remove_device(&jid).unwrap();
    assert_eq!(
        until(&mut events, |e| matches!(e, Event::LoggedOut { .. })).await,
        Event::LoggedOut {
            on_connect: false,
            reason: Some("device_removed".into())
        }
    );
    assert_eq!(
        next(&mut events).await,
        Event::Disconnected {
            reason: DisconnectReason::LoggedOut,
            reconnecting: false
        }
    );
    assert!(next_or_end(&mut events).await.is_none());
    assert!(sqlite(&db).await.list().await.unwrap().is_empty());
}

async fn next_or_end(events: &mut EventStream) -> Option<Event> {
    tokio::time::timeout(STEP, events.recv()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_removes_the_device_on_both_sides() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("wa.db");
    let (client, mut events, jid) = pair(&server, config(&server), sqlite(&db).await).await;
    client.logout().await.unwrap();
    assert!(matches!(
        until(&mut events, |e| matches!(e, Event::LoggedOut { .. })).await,
        Event::LoggedOut {
            on_connect: false,
            ..
        }
    ));
    assert!(sqlite(&db).await.list().await.unwrap().is_empty());
    assert!(!server.admin().devices().contains(&jid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_device_twice_replaces_the_first_stream() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("wa.db");
    let (_first, mut first_events, _jid) = pair(&server, config(&server), sqlite(&db).await).await;
    let (second, mut second_events) = Client::start(config(&server), sqlite(&db).await, None)
        .await
        .unwrap();
    until(&mut second_events, |e| *e == Event::Connected).await;
    until(&mut first_events, |e| *e == Event::StreamReplaced).await;
    assert_eq!(
        next(&mut first_events).await,
        Event::Disconnected {
            reason: DisconnectReason::Replaced,
            reconnecting: false
        }
    );
    // The credentials stay: a replaced stream is not a logout.
    assert_eq!(sqlite(&db).await.list().await.unwrap().len(), 1);
    stop(&second, &mut second_events).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_restart_mid_session_reconnects_with_backoff() {
    let mut server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("wa.db");
    let (client, mut events, jid) = pair(&server, config(&server), sqlite(&db).await).await;
    server.stop().await;
    let lost = until(&mut events, |e| matches!(e, Event::Disconnected { .. })).await;
    assert!(
        matches!(
            lost,
            Event::Disconnected {
                reason: DisconnectReason::ConnectionLost { .. },
                reconnecting: true
            }
        ),
        "{lost:?}"
    );
    // Attempts against the stopped server fail and back off; let a few of them happen.
    let retry = until(&mut events, |e| matches!(e, Event::Disconnected { .. })).await;
    assert!(
        matches!(
            retry,
            Event::Disconnected {
                reconnecting: true,
                ..
            }
        ),
        "{retry:?}"
    );
    server.restart().await.unwrap();
    until(&mut events, |e| *e == Event::Connected).await;
    assert!(server.admin().is_online(&jid));
    stop(&client, &mut events).await;
}

/// A TCP relay in front of the server that can stop forwarding the client's bytes (held back,
/// not dropped), so pings go unanswered until it resumes.
async fn pausable_relay(
    target: std::net::SocketAddr,
    paused: Arc<AtomicBool>,
) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let paused = Arc::clone(&paused);
            tokio::spawn(async move {
                let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await else {
                    return;
                };
                let (mut ri, mut wi) = inbound.split();
                let (mut ro, mut wo) = outbound.split();
                let up = async {
                    let mut buf = vec![0u8; 65536];
                    loop {
                        let n = ri.read(&mut buf).await?;
                        if n == 0 {
                            return Ok::<_, std::io::Error>(());
                        }
                        while paused.load(Ordering::SeqCst) {
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                        wo.write_all(&buf[..n]).await?;
                    }
                };
                let down = tokio::io::copy(&mut ro, &mut wi);
                let _ = tokio::join!(up, down);
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_pings_time_out_then_recover() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let paused = Arc::new(AtomicBool::new(false));
    let relay = pausable_relay(server.addr(), Arc::clone(&paused)).await;
    let mut cfg = config(&server);
    cfg.url = format!("ws://{relay}/ws/chat");
    cfg.keepalive = KeepAlive {
        interval_min: Duration::from_millis(200),
        interval_max: Duration::from_millis(300),
        response_deadline: Duration::from_millis(300),
        max_fail_time: Duration::from_secs(60),
    };
    let dir = tempfile::tempdir().unwrap();
    let (client, mut events, _jid) =
        pair(&server, cfg, sqlite(&dir.path().join("wa.db")).await).await;
    paused.store(true, Ordering::SeqCst);
    let timeout = until(&mut events, |e| matches!(e, Event::KeepAliveTimeout { .. })).await;
    assert!(
        matches!(timeout, Event::KeepAliveTimeout { error_count: 1, .. }),
        "{timeout:?}"
    );
    paused.store(false, Ordering::SeqCst);
    until(&mut events, |e| *e == Event::KeepAliveRestored).await;
    stop(&client, &mut events).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepalive_failing_too_long_reconnects() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let paused = Arc::new(AtomicBool::new(false));
    let relay = pausable_relay(server.addr(), Arc::clone(&paused)).await;
    let mut cfg = config(&server);
    cfg.url = format!("ws://{relay}/ws/chat");
    cfg.keepalive = KeepAlive {
        interval_min: Duration::from_millis(100),
        interval_max: Duration::from_millis(150),
        response_deadline: Duration::from_millis(200),
        max_fail_time: Duration::from_millis(600),
    };
    let dir = tempfile::tempdir().unwrap();
    let (client, mut events, _jid) =
        pair(&server, cfg, sqlite(&dir.path().join("wa.db")).await).await;
    paused.store(true, Ordering::SeqCst);
    let lost = until(&mut events, |e| matches!(e, Event::Disconnected { .. })).await;
    assert_eq!(
        lost,
        Event::Disconnected {
            reason: DisconnectReason::KeepAliveFailed,
            reconnecting: true
        }
    );
    paused.store(false, Ordering::SeqCst);
    until(&mut events, |e| *e == Event::Connected).await;
    stop(&client, &mut events).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pair_by_phone_code_then_log_in() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("wa.db");
    let (client, mut events) = Client::start(config(&server), sqlite(&db).await, None)
        .await
        .unwrap();
    until(&mut events, |e| matches!(e, Event::Qr { .. })).await;
    let code = client.pair_phone("+1 555 123 4567").await.unwrap();
    assert_eq!(code.len(), 8);
    let jid = server.admin().enter_pair_code(&code).await.unwrap();
    let Event::PairSuccess { jid: paired, .. } =
        until(&mut events, |e| matches!(e, Event::PairSuccess { .. })).await
    else {
        unreachable!()
    };
    assert_eq!(paired, jid.to_string());
    assert_eq!(
        next(&mut events).await,
        Event::Disconnected {
            reason: DisconnectReason::Restart,
            reconnecting: true
        }
    );
    until(&mut events, |e| *e == Event::Connected).await;
    stop(&client, &mut events).await;
    drop(client);
    // The session was saved with the code-derived identity: it logs in again.
    let (client, mut events) = Client::start(config(&server), sqlite(&db).await, None)
        .await
        .unwrap();
    assert_eq!(next(&mut events).await, Event::Connected);
    stop(&client, &mut events).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_phone_code_pairs_nothing() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("wa.db");
    let (client, mut events) = Client::start(config(&server), sqlite(&db).await, None)
        .await
        .unwrap();
    until(&mut events, |e| matches!(e, Event::Qr { .. })).await;
    let code = client.pair_phone("15551234567").await.unwrap();
    let wrong: String = code
        .chars()
        .map(|c| if c == 'Z' { 'Y' } else { 'Z' })
        .collect();
    assert!(server.admin().enter_pair_code(&wrong).await.is_err());
    assert!(server.admin().devices().is_empty());
    let stored = sqlite(&db).await.list().await.unwrap();
    assert!(stored.iter().all(|d| d.device.jid.is_none()));
    assert!(client.pair_phone("12").await.is_err());
    client.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn application_iqs_over_the_socket() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (client, mut events, _jid) = pair(
        &server,
        config(&server),
        sqlite(&dir.path().join("wa.db")).await,
    )
    .await;
    let reply = client
        .send_iq(
            wa_binary::Node::new("iq")
                .attr("xmlns", "blocklist")
                .attr("type", "get")
                .build(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(reply.attr("type").unwrap().to_string(), "result");
    // The server does not know this one and answers with an error IQ, which arrives typed.
    let err = client
        .send_iq(
            wa_binary::Node::new("iq")
                .attr("xmlns", "no:such:namespace")
                .attr("type", "get")
                .child(wa_binary::Node::new("nothing").build())
                .build(),
            Some(Duration::from_secs(5)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, wa_client::Error::Iq(wa_client::IqError::Server { code, .. }) if code >= 400),
        "{err}"
    );
    stop(&client, &mut events).await;
    // After the driver stopped, commands fail instead of hanging.
    assert!(matches!(
        client
            .send_iq(wa_binary::Node::new("iq").build(), None)
            .await,
        Err(wa_client::Error::Stopped)
    ));
}

async fn refused_by_the_test_server(
    bad_hmac: bool,
    bad_signature: bool,
    expected: wa_client::PairError,
) {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    server.admin().set_bad_pairing(bad_hmac, bad_signature);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("wa.db");
    let (_client, mut events) = Client::start(config(&server), sqlite(&db).await, None)
        .await
        .unwrap();
    let Event::Qr { code } = until(&mut events, |e| matches!(e, Event::Qr { .. })).await else {
        unreachable!()
    };
    let admin = server.admin();
    let scan = tokio::spawn(async move { admin.scan_qr(&code).await });
    assert_eq!(
        next(&mut events).await,
        Event::PairError { error: expected }
    );
    assert_eq!(
        next(&mut events).await,
        Event::Disconnected {
            reason: DisconnectReason::PairingEnded,
            reconnecting: false
        }
    );
    assert!(
        scan.await.unwrap().is_err(),
        "the phone must see the pairing fail"
    );
    assert!(server.admin().devices().is_empty());
    let stored = sqlite(&db).await.list().await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(stored[0].device.jid.is_none() && stored[0].device.account.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_adv_hmac_from_the_phone_is_refused_and_nothing_saved() {
    refused_by_the_test_server(true, false, wa_client::PairError::HmacMismatch).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_account_signature_from_the_phone_is_refused_and_nothing_saved() {
    refused_by_the_test_server(false, true, wa_client::PairError::InvalidAccountSignature).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_dropping_pings_times_out_then_recovers() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let mut cfg = config(&server);
    cfg.keepalive = KeepAlive {
        interval_min: Duration::from_millis(200),
        interval_max: Duration::from_millis(300),
        response_deadline: Duration::from_millis(300),
        max_fail_time: Duration::from_secs(60),
    };
    let dir = tempfile::tempdir().unwrap();
    let (client, mut events, _jid) =
        pair(&server, cfg, sqlite(&dir.path().join("wa.db")).await).await;
    server.admin().set_drop_pings(true);
    let timeout = until(&mut events, |e| matches!(e, Event::KeepAliveTimeout { .. })).await;
    assert!(
        matches!(timeout, Event::KeepAliveTimeout { .. }),
        "{timeout:?}"
    );
    server.admin().set_drop_pings(false);
    until(&mut events, |e| *e == Event::KeepAliveRestored).await;
    stop(&client, &mut events).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_to_the_test_server_with_its_certificate() {
    let server = TestServer::start(wa_testserver::Config {
        tls: true,
        ..wa_testserver::Config::default()
    })
    .await
    .unwrap();
    assert!(server.url().starts_with("wss://"));
    let mut cfg = config(&server);
    cfg.extra_ca_der =
        wa_client::runtime::load_pem_certificates(server.tls_cert_pem().unwrap().as_bytes())
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (client, mut events, _jid) =
        pair(&server, cfg, sqlite(&dir.path().join("wa.db")).await).await;
    stop(&client, &mut events).await;
}

/// Pairs a client whose socket is placed by `setting` ([`Config::socket_thread`]).
async fn pair_placed(
    server: &TestServer,
    setting: Option<bool>,
    db: &Path,
) -> (Client, EventStream, Jid) {
    let cfg = Config {
        socket_thread: setting,
        ..config(server)
    };
    pair(server, cfg, sqlite(db).await).await
}

/// On a single-thread runtime the socket is read, decrypted and decoded on the process's
/// socket thread (so a burst is received on two cores); pairing and login work through it,
/// and two clients share the one thread. `socket_thread: Some(false)` keeps the socket on
/// the application's runtime.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "current_thread")]
async fn on_a_single_thread_runtime_sockets_share_a_thread_of_their_own() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // No other test of this binary asks for the socket thread.
    let (on_runtime, mut on_runtime_events, jid) =
        pair_placed(&server, Some(false), &dir.path().join("a.db")).await;
    assert!(server.admin().is_online(&jid));
    assert_eq!(threads_named("wa-socket"), 0);
    let (first, mut first_events, first_jid) =
        pair_placed(&server, Some(true), &dir.path().join("b.db")).await;
    let (second, mut second_events, second_jid) =
        pair_placed(&server, Some(true), &dir.path().join("c.db")).await;
    assert!(server.admin().is_online(&first_jid));
    assert!(server.admin().is_online(&second_jid));
    assert_eq!(threads_named("wa-socket"), 1);
    stop(&on_runtime, &mut on_runtime_events).await;
    stop(&first, &mut first_events).await;
    stop(&second, &mut second_events).await;
}

/// Threads of this process named `name` (`/proc/self/task/*/comm`).
#[cfg(target_os = "linux")]
fn threads_named(name: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
                .filter(|comm| comm.trim_end() == name)
                .count()
        })
        .unwrap_or(0)
}
