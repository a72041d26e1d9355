//! Interop: profiles between our `wa-client` (the server's default account) and a Baileys 7
//! client (`baileys@7.0.0-rc14`, a second account) through `wa-testserver`.
//!
//! Baileys' `updateProfileStatus` reaches our client as `Event::UserAbout` and our `user_info`
//! reads it; our `set_status_message` is read by Baileys' `fetchStatus`. Our
//! `set_profile_picture` reaches Baileys as `contacts.update` (`imgUrl: "changed"`) and its
//! `profilePictureUrl` serves the bytes we set. Baileys' `updateProfilePicture` (resized by
//! `sharp`, as Baileys does) reaches us as `Event::Picture`, and the bytes we download are the
//! ones Baileys sent; its `removeProfilePicture` reads as "not set" on our side, and ours reaches
//! Baileys as `imgUrl: "removed"`.
//!
//! Driver: `tests/interop/baileys_peer.mjs` (`status-set`, `status-get`, `picture-url`,
//! `picture-set`, `picture-remove`; `contacts-update` events).

use serde_json::{Value, json};
use wa_client::{Error, Event, EventStream};
use wa_tests::baileys::{Baileys, ONLINE, STEP_TIMEOUT, pair};

use crate::ours_and_baileys::{B_PHONE, our_config, pair_ours_as, server_with_bob};

/// What our client sets as its picture (the server keeps the bytes as given).
const JPEG: &[u8] = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00our-picture-bytes\xff\xd9";

/// The next event of ours for which `pick` gives a value.
async fn ours<T>(events: &mut EventStream, what: &str, pick: impl Fn(&Event) -> Option<T>) -> T {
    let mut seen = Vec::new();
    loop {
        let e = tokio::time::timeout(STEP_TIMEOUT, events.recv())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}; saw {seen:#?}"))
            .expect("event stream ended");
        if let Some(found) = pick(&e) {
            return found;
        }
        seen.push(e);
    }
}

/// Sends a profile command to Baileys and returns its `result`.
async fn baileys_profile(b: &mut Baileys, tag: &str, mut cmd: Value) -> Value {
    cmd["tag"] = json!(tag);
    b.command(cmd).await;
    b.expect_where(tag, |v| v["event"] == "profile" && v["tag"] == tag)
        .await["result"]
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_and_baileys_read_each_others_about_text_and_picture() {
    let (server, admin, bob) = server_with_bob().await;
    let us = admin.accounts()[0].clone();
    let config = wa_client::Config {
        // The test server serves pictures over plain HTTP on loopback.
        media: wa_client::MediaOptions::test_server(),
        ..our_config(&server)
    };
    let (client, mut events) = pair_ours_as(&server, config, None).await;

    let auth = tempfile::tempdir().expect("tempdir");
    let mut b = Baileys::spawn("peer", "baileys_peer.mjs", &server, auth.path(), ONLINE);
    pair(&mut b, &admin, Some(B_PHONE)).await;
    let our_pn = us.pn.to_string();

    // Baileys' about text, seen by our client as an event and through user_info.
    baileys_profile(
        &mut b,
        "status-set",
        json!({"cmd": "status-set", "text": "Baileys here 👋"}),
    )
    .await;
    let about = ours(&mut events, "Baileys' about text", |e| match e {
        Event::UserAbout(a) => Some(a.clone()),
        _ => None,
    })
    .await;
    assert_eq!(about.jid, bob.pn);
    assert_eq!(about.status, "Baileys here 👋");
    let info = client
        .user_info(std::slice::from_ref(&bob.pn))
        .await
        .expect("user info");
    assert_eq!(info[&bob.pn].status.as_deref(), Some("Baileys here 👋"));
    assert!(!info[&bob.pn].devices.is_empty());

    // Ours, read by Baileys' fetchStatus.
    client
        .set_status_message("Rust side")
        .await
        .expect("set our about text");
    let list = baileys_profile(
        &mut b,
        "status-get",
        json!({"cmd": "status-get", "jids": [our_pn]}),
    )
    .await;
    let entry = list
        .as_array()
        .and_then(|l| l.iter().find(|u| u["id"] == our_pn.as_str()))
        .unwrap_or_else(|| panic!("no entry for us in {list}"));
    assert_eq!(entry["status"]["status"], "Rust side", "{entry}");

    // Our picture: Baileys hears of it and downloads the same bytes.
    let id = client
        .set_profile_picture(JPEG)
        .await
        .expect("set our picture");
    let update = b
        .expect_where("Baileys' contacts.update for our picture", |v| {
            v["event"] == "contacts-update" && v["id"] == our_pn.as_str()
        })
        .await;
    assert_eq!(update["imgUrl"], "changed", "{update}");
    let got = baileys_profile(
        &mut b,
        "picture-url",
        json!({"cmd": "picture-url", "jid": our_pn, "type": "image", "download": true}),
    )
    .await;
    assert!(
        got["url"].as_str().is_some_and(|u| u.contains(&id)),
        "{got}"
    );
    assert_eq!(got["data"], hex::encode(JPEG), "{got}");

    // Baileys' picture: we hear of it and download what Baileys sent.
    let sent = baileys_profile(&mut b, "picture-set", json!({"cmd": "picture-set"})).await;
    let sent = hex::decode(sent["data"].as_str().expect("sent bytes")).expect("hex");
    assert!(sent.starts_with(b"\xff\xd8"), "Baileys sends a JPEG");
    let change = ours(&mut events, "Baileys' picture", |e| match e {
        Event::Picture(p) if p.jid == bob.pn => Some(p.clone()),
        _ => None,
    })
    .await;
    assert!(!change.remove);
    let info = client
        .profile_picture_info(&bob.pn, false, None)
        .await
        .expect("picture info")
        .expect("a picture");
    assert_eq!(Some(&info.id), change.picture_id.as_ref());
    let bytes = client
        .download_profile_picture(&info)
        .await
        .expect("download Baileys' picture");
    assert_eq!(bytes, sent);

    // Baileys removes its picture; we remove ours.
    baileys_profile(&mut b, "picture-remove", json!({"cmd": "picture-remove"})).await;
    let change = ours(&mut events, "Baileys' picture removal", |e| match e {
        Event::Picture(p) if p.jid == bob.pn => Some(p.clone()),
        _ => None,
    })
    .await;
    assert!(change.remove);
    let gone = client.profile_picture_info(&bob.pn, true, None).await;
    assert!(matches!(gone, Err(Error::ProfilePictureNotSet)), "{gone:?}");
    client
        .remove_profile_picture()
        .await
        .expect("remove our picture");
    b.expect_where("Baileys' contacts.update for our removal", |v| {
        v["event"] == "contacts-update" && v["id"] == our_pn.as_str() && v["imgUrl"] == "removed"
    })
    .await;

    b.quit().await;
    client.disconnect().await;
}
