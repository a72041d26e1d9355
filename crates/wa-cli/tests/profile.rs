//! `wa profile`, `wa user-info` and `wa picture` as processes against an in-process
//! `wa-testserver`: Alice sets her about text and a picture; Bob's `wa listen --json` prints
//! both changes, `wa user-info` shows them, `wa picture --out` saves the same bytes; after
//! `wa profile --remove-picture` Bob is told there is none.

use crate::common;

use common::{ALICE, BOB, alice_and_bob, lines, run, spawn, text, wait_line};
use serde_json::Value;

const JPEG: &[u8] = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00cli-picture\xff\xd9";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_set_from_the_cli_is_seen_by_another_account() {
    let dir = tempfile::tempdir().unwrap();
    // The test server serves pictures over plain HTTP.
    let (_server, alice, bob) = alice_and_bob(dir.path(), &["--media-http"]).await;
    let alice_jid = format!("{ALICE}@s.whatsapp.net");
    let file = dir.path().join("me.jpg");
    std::fs::write(&file, JPEG).unwrap();

    let out = run(&alice.with(&[
        "profile",
        "--about",
        "Gone fishing",
        "--picture",
        file.to_str().unwrap(),
    ]))
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let printed = text(&out);
    assert!(printed.contains("about text set"), "{printed}");
    assert!(printed.contains("about: Gone fishing"), "{printed}");
    let id = printed
        .lines()
        .find_map(|l| l.strip_prefix("picture set: "))
        .unwrap_or_else(|| panic!("no picture id in {printed}"))
        .to_owned();
    assert!(printed.contains(&format!("picture: {id}")), "{printed}");

    // Bob was offline: the notifications wait for his next session.
    let mut listener = spawn(&bob.with(&["listen", "--json", "--seconds", "30"]));
    let (_, _rx) = wait_line(
        lines(&mut listener),
        "the profile changes were not printed",
        {
            let (mut about, mut picture) = (false, false);
            let (alice_jid, id) = (alice_jid.clone(), id.clone());
            move |line| {
                let v: Value = serde_json::from_str(line).unwrap_or(Value::Null);
                if v["type"] == "user_about" && v["jid"] == alice_jid.as_str() {
                    assert_eq!(v["status"], "Gone fishing");
                    about = true;
                }
                if v["type"] == "picture" && v["jid"] == alice_jid.as_str() {
                    assert_eq!(v["picture_id"], id.as_str());
                    picture = true;
                }
                (about && picture).then_some(())
            }
        },
    )
    .await;
    let _ = listener.kill();
    let _ = listener.wait();

    let out = run(&bob.with(&["user-info", ALICE])).await;
    assert!(out.status.success(), "{}", text(&out));
    let printed = text(&out);
    assert!(printed.contains(&alice_jid), "{printed}");
    assert!(printed.contains("about: Gone fishing"), "{printed}");
    assert!(printed.contains(&format!("picture: {id}")), "{printed}");
    assert!(printed.contains("devices: "), "{printed}");

    let saved = dir.path().join("alice.jpg");
    let out = run(&bob.with(&["picture", ALICE, "--out", saved.to_str().unwrap()])).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("picture {id} (image)")),
        "{}",
        text(&out)
    );
    assert_eq!(std::fs::read(&saved).unwrap(), JPEG);

    let out = run(&alice.with(&["profile", "--remove-picture"])).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("picture: (none)"), "{}", text(&out));
    let out = run(&bob.with(&["picture", ALICE, "--preview"])).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("{alice_jid} has no profile picture")),
        "{}",
        text(&out)
    );

    // Clap refuses a picture and its removal together, before connecting.
    let out = run(&bob.with(&[
        "profile",
        "--remove-picture",
        "--picture",
        file.to_str().unwrap(),
    ]))
    .await;
    assert!(!out.status.success());
    let _ = BOB;
}
