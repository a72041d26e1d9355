//! `wa mute`, `wa pin` and `wa archive` as processes with a session saved by `wa login`,
//! against an in-process `wa-testserver`; another companion of the same account (an in-process
//! client) receives each change as a typed app-state event.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use wa_client::{AppStateAction, Client, Config, Event, EventStream};
use wa_store::MemoryContainer;
use wa_testserver::TestServer;

const PHONE: &str = "15550400001";
const CHAT: &str = "15550009999@s.whatsapp.net";

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

/// `wa login` into a fresh store, the account's phone scanning the QR code; returns the
/// connection arguments of the saved session.
async fn login(server: &TestServer, dir: &std::path::Path) -> Vec<String> {
    let key = dir.join("root.key");
    std::fs::write(&key, hex::encode(server.root_public_key())).unwrap();
    let connect = vec![
        "--store".to_owned(),
        dir.join("cli.db").to_str().unwrap().to_owned(),
        "--server".to_owned(),
        server.url(),
        "--root-key".to_owned(),
        key.to_str().unwrap().to_owned(),
        "--timeout".to_owned(),
        "30".to_owned(),
    ];
    let mut args = vec!["login".to_owned()];
    args.extend(connect.iter().cloned());
    let mut child = wa(&args)
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
    server.admin().scan_qr_for(PHONE, &code).await.unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("not shared"),
        "{}",
        text(&out)
    );
    connect
}

async fn next(events: &mut EventStream) -> Event {
    tokio::time::timeout(Duration::from_secs(30), events.recv())
        .await
        .expect("timed out waiting for an event")
        .expect("event stream ended")
}

/// An in-process companion of the account, synced.
async fn companion(server: &TestServer) -> (Client, EventStream) {
    let config = Config {
        url: server.url(),
        trust_root: server.trust_root(),
        ..Config::default()
    };
    let (client, mut events) = Client::start(config, MemoryContainer::new(), None)
        .await
        .unwrap();
    let code = loop {
        if let Event::Qr { code } = next(&mut events).await {
            break code;
        }
    };
    server.admin().scan_qr_for(PHONE, &code).await.unwrap();
    let mut synced = 0;
    while synced < 5 {
        if let Event::AppStateSynced { .. } = next(&mut events).await {
            synced += 1;
        }
    }
    (client, events)
}

async fn next_action(events: &mut EventStream) -> AppStateAction {
    loop {
        if let Event::AppState(e) = next(events).await {
            return e.action;
        }
    }
}

fn with(cmd: &[&str], connect: &[String]) -> Vec<String> {
    cmd.iter()
        .map(|s| (*s).to_owned())
        .chain(connect.iter().cloned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mute_pin_archive_reach_the_other_companion() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    server.admin().create_account(PHONE, "Carol").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let connect = login(&server, dir.path()).await;
    let (other, mut events) = companion(&server).await;

    let before = wa_cli::messaging::now_ms();
    let out = run(with(
        &["mute", "--chat", "15550009999", "--hours", "8"],
        &connect,
    ))
    .await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains(&format!("muted {CHAT} (regular_high version 1)")),
        "{}",
        text(&out)
    );
    let AppStateAction::Mute {
        chat,
        muted: true,
        end_timestamp_ms: Some(end),
    } = next_action(&mut events).await
    else {
        panic!("not a mute");
    };
    assert_eq!(chat, CHAT);
    let eight_hours = 8 * 3_600_000;
    assert!(end >= before + eight_hours && end <= wa_cli::messaging::now_ms() + eight_hours);

    let out = run(with(&["pin", "--chat", CHAT], &connect)).await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        next_action(&mut events).await,
        AppStateAction::Pin {
            chat: CHAT.into(),
            pinned: true
        }
    );
    let out = run(with(&["archive", "--chat", CHAT], &connect)).await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        next_action(&mut events).await,
        AppStateAction::Archive {
            chat: CHAT.into(),
            archived: true
        }
    );
    let out = run(with(&["pin", "--chat", CHAT, "--off"], &connect)).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("unpinned"),
        "{}",
        text(&out)
    );
    assert_eq!(
        next_action(&mut events).await,
        AppStateAction::Pin {
            chat: CHAT.into(),
            pinned: false
        }
    );
    // A bad chat is refused before connecting.
    let out = run(with(&["archive", "--chat", "not a jid"], &connect)).await;
    assert!(!out.status.success());
    other.disconnect().await;
}
