//! `wa send --to status@broadcast --status-to …` as a process against an in-process
//! `wa-testserver`: Alice posts a status to Bob, Bob's `wa listen --json` prints it as a
//! message in `status@broadcast` from Alice; `--status-to` with another chat is refused.

use crate::common;

use common::{ALICE, BOB, alice_and_bob, lines, run, sent_id, spawn, text, wait_line};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_posted_from_the_cli_reaches_the_named_recipient() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, alice, bob) = alice_and_bob(dir.path(), &[]).await;

    let out = run(&alice.with(&[
        "send",
        "--to",
        "status@broadcast",
        "--status-to",
        BOB,
        "--text",
        "status from the cli",
    ]))
    .await;
    let id = sent_id(&out);

    let mut listener = spawn(&bob.with(&["listen", "--json", "--seconds", "30"]));
    let (got, _rx) = wait_line(lines(&mut listener), "Alice's status was not printed", {
        let id = id.clone();
        move |line| {
            let v: Value = serde_json::from_str(line).unwrap_or(Value::Null);
            (v["type"] == "message" && v["info"]["id"] == id.as_str()).then_some(v)
        }
    })
    .await;
    let _ = listener.kill();
    let _ = listener.wait();
    assert_eq!(got["info"]["source"]["chat"], "status@broadcast", "{got}");
    let sender = got["info"]["source"]["sender"].as_str().unwrap_or_default();
    assert!(sender.starts_with(ALICE), "{got}");
    assert_eq!(got["content"]["text"], "status from the cli", "{got}");

    let out = run(&alice.with(&["send", "--to", BOB, "--status-to", BOB, "--text", "x"])).await;
    assert!(!out.status.success());
    assert!(
        text(&out).contains("--status-to is for a status post"),
        "{}",
        text(&out)
    );
}
