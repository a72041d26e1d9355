//! `wa privacy` as a process against an in-process `wa-testserver`: it prints the defaults,
//! changes a setting that a later run still shows, and refuses a bad `--set` before connecting.

use crate::common;

use wa_testserver::TestServer;

use common::{login, run, text};

const ALICE: &str = "15550400001";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn privacy_settings_are_printed_and_changed_from_the_cli() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    server.admin().create_account(ALICE, "Alice").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let alice = login(&server, dir.path(), "alice", ALICE, &[]).await;

    let out = run(&alice.with(&["privacy"])).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("last: all"), "{}", text(&out));

    let out = run(&alice.with(&["privacy", "--set", "last=contacts"])).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("last: contacts"), "{}", text(&out));
    let out = run(&alice.with(&["privacy"])).await;
    assert!(text(&out).contains("last: contacts"), "{}", text(&out));
    assert!(text(&out).contains("online: all"), "{}", text(&out));

    let out = run(&alice.with(&["privacy", "--set", "bogus=all"])).await;
    assert!(!out.status.success());
    assert!(text(&out).contains("unknown category"), "{}", text(&out));
}
