//! `wa send --image` and `wa download` as processes against an in-process `wa-testserver`:
//! Alice sends an image file, Bob's `wa listen --json` prints the message, and `wa download`
//! fed that line writes the identical file.

use crate::common;

use serde_json::Value;

use common::{BOB, alice_and_bob, lines, run, sent_id, spawn, text, wait_line};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_sent_by_the_cli_is_downloaded_by_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, alice, bob) = alice_and_bob(dir.path(), &["--media-http"]).await;

    let image: Vec<u8> = (0..100_000u32).map(|i| (i * 31 % 251) as u8).collect();
    let path = dir.path().join("photo.png");
    std::fs::write(&path, &image).unwrap();
    let out = run(&alice.with(&[
        "send",
        "--to",
        BOB,
        "--image",
        path.to_str().unwrap(),
        "--text",
        "a photo",
    ]))
    .await;
    let id = sent_id(&out);

    let mut child = spawn(&bob.with(&["listen", "--json", "--seconds", "30"]));
    let (line, _rx) = wait_line(
        lines(&mut child),
        "the image message was not printed",
        move |line| {
            let v: Value = serde_json::from_str(line).unwrap_or(Value::Null);
            (v["info"]["id"].as_str() == Some(id.as_str())).then(|| line.to_owned())
        },
    )
    .await;
    let _ = child.kill();
    let _ = child.wait();
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["message"]["kind"], "image_message", "{line}");

    let event = dir.path().join("event.json");
    std::fs::write(&event, format!("{line}\n")).unwrap();
    let saved = dir.path().join("saved.png");
    let out = run(&bob.with(&[
        "download",
        "--event",
        event.to_str().unwrap(),
        "--out",
        saved.to_str().unwrap(),
    ]))
    .await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("wrote 100000 bytes"),
        "{}",
        text(&out)
    );
    assert!(
        std::fs::read(&saved).unwrap() == image,
        "downloaded file differs"
    );
}
