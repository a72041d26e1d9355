//! `wa block` and `wa blocklist` as processes against an in-process `wa-testserver`: Alice
//! blocks Bob, the list shows him, Bob's `wa send` is acked but Alice's `wa listen` only prints
//! the message Bob sends after `wa block --off`.

use crate::common;

use common::{ALICE, BOB, alice_and_bob, lines, run, sent_id, spawn, text, wait_line};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_blocked_from_the_cli_is_listed_and_cannot_write_until_unblocked() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, alice, bob) = alice_and_bob(dir.path(), &[]).await;
    let bob_jid = format!("{BOB}@s.whatsapp.net");

    let out = run(&alice.with(&["blocklist"])).await;
    assert!(text(&out).contains("no one is blocked"), "{}", text(&out));
    let out = run(&alice.with(&["block", "--user", BOB])).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("blocked {bob_jid}")),
        "{}",
        text(&out)
    );
    let out = run(&alice.with(&["blocklist"])).await;
    assert!(
        text(&out).contains(&format!("1 blocked:\n  {bob_jid}")),
        "{}",
        text(&out)
    );

    let out = run(&bob.with(&["send", "--to", ALICE, "--text", "while blocked"])).await;
    let blocked = sent_id(&out);
    let out = run(&alice.with(&["block", "--user", BOB, "--off"])).await;
    assert!(text(&out).contains("no one is blocked"), "{}", text(&out));
    let out = run(&bob.with(&["send", "--to", ALICE, "--text", "after unblock"])).await;
    let after = sent_id(&out);

    let mut listener = spawn(&alice.with(&["listen", "--json", "--seconds", "30"]));
    let (ids, _rx) = wait_line(
        lines(&mut listener),
        "Bob's message after the unblock was not printed",
        {
            let mut ids = Vec::new();
            move |line| {
                let v: Value = serde_json::from_str(line).unwrap_or(Value::Null);
                if v["type"] == "message" && v["info"]["source"]["is_from_me"] == false {
                    ids.push(v["info"]["id"].as_str().unwrap_or_default().to_owned());
                }
                ids.contains(&after).then(|| ids.clone())
            }
        },
    )
    .await;
    let _ = listener.kill();
    let _ = listener.wait();
    assert!(!ids.contains(&blocked), "{ids:?} holds {blocked}");
}
