//! Profiles through `wa-testserver` over loopback sockets: account A (two companions) sets its
//! about text and a profile picture; account B reads them with `user_info` and
//! `profile_picture_info`, hears `Event::UserAbout` / `Event::Picture`, downloads the picture
//! bytes; A removes the picture and B gets "not set"; A's other companion hears every change.
//! A's `profile` privacy set to `none`, or a block, hides the picture from B (typed 401); its
//! `status` privacy set to `none` hides the about text from B's `user_info`.

use wa_client::{
    BlocklistAction, Error, Event, PictureEvent, PrivacyCategory, PrivacyValue, UserAboutEvent,
};
use wa_testserver::TestServer;

use crate::common;

use common::live::{Companion, until};

const BOB: &str = "15550002222";

/// A small JPEG-looking body (the server keeps the bytes as given).
const JPEG: &[u8] = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00profile-picture-bytes\xff\xd9";

fn about(event: &Event) -> Option<&UserAboutEvent> {
    match event {
        Event::UserAbout(a) => Some(a),
        _ => None,
    }
}

fn picture(event: &Event) -> Option<&PictureEvent> {
    match event {
        Event::Picture(p) => Some(p),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn about_text_and_picture_reach_other_accounts_and_companions() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    server.admin().create_account(BOB, "Bob").unwrap();
    let mut a1 = Companion::pair(&server, None).await;
    let mut a2 = Companion::pair(&server, None).await;
    let mut b = Companion::pair(&server, Some(BOB)).await;
    let a_user = a1.jid.to_non_ad();

    // Nothing set yet.
    let info = b
        .client
        .user_info(std::slice::from_ref(&a_user))
        .await
        .unwrap();
    let a_info = &info[&a_user];
    assert_eq!(a_info.status, None);
    assert_eq!(a_info.picture_id, None);
    assert!(a_info.devices.contains(&a1.jid), "{:?}", a_info.devices);
    assert!(a_info.devices.contains(&a2.jid), "{:?}", a_info.devices);
    let none = b.client.profile_picture_info(&a_user, false, None).await;
    assert!(matches!(none, Err(Error::ProfilePictureNotSet)), "{none:?}");

    // About text.
    a1.client.set_status_message("Out hiking ⛰").await.unwrap();
    for events in [&mut b.events, &mut a2.events] {
        let heard = until(events, |e| about(e).is_some()).await;
        let heard = about(&heard).unwrap();
        assert_eq!(heard.jid, a_user);
        assert_eq!(heard.status, "Out hiking ⛰");
        assert!(heard.timestamp > 0);
    }
    let info = b
        .client
        .user_info(std::slice::from_ref(&a_user))
        .await
        .unwrap();
    assert_eq!(info[&a_user].status.as_deref(), Some("Out hiking ⛰"));
    assert!(info[&a_user].status_timestamp.is_some());

    // Picture.
    let id = a1.client.set_profile_picture(JPEG).await.unwrap();
    for events in [&mut b.events, &mut a2.events] {
        let heard = until(events, |e| picture(e).is_some()).await;
        let heard = picture(&heard).unwrap();
        assert_eq!(heard.jid, a_user);
        assert!(!heard.remove);
        assert_eq!(heard.picture_id.as_deref(), Some(id.as_str()));
        assert_eq!(heard.author.as_ref(), Some(&a_user));
    }
    let info = b
        .client
        .user_info(std::slice::from_ref(&a_user))
        .await
        .unwrap();
    assert_eq!(info[&a_user].picture_id.as_deref(), Some(id.as_str()));
    let full = b
        .client
        .profile_picture_info(&a_user, false, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(full.id, id);
    assert_eq!(full.kind, "image");
    assert!(full.url.ends_with(&full.direct_path), "{full:?}");
    assert_eq!(
        b.client.download_profile_picture(&full).await.unwrap(),
        JPEG
    );
    let preview = b
        .client
        .profile_picture_info(&a_user, true, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(preview.kind, "preview");
    assert_eq!(
        b.client.download_profile_picture(&preview).await.unwrap(),
        JPEG
    );
    // Asking with the current id: unchanged.
    let unchanged = b
        .client
        .profile_picture_info(&a_user, false, Some(&id))
        .await
        .unwrap();
    assert_eq!(unchanged, None);

    // Hidden by A's privacy setting, then visible again.
    a1.client
        .set_privacy_setting(PrivacyCategory::Profile, &PrivacyValue::None)
        .await
        .unwrap();
    let hidden = b.client.profile_picture_info(&a_user, false, None).await;
    assert!(
        matches!(hidden, Err(Error::ProfilePictureUnauthorized)),
        "{hidden:?}"
    );
    let own = a2
        .client
        .profile_picture_info(&a_user, false, None)
        .await
        .unwrap();
    assert_eq!(own.map(|p| p.id), Some(id.clone()));
    a1.client
        .set_privacy_setting(PrivacyCategory::Profile, &PrivacyValue::All)
        .await
        .unwrap();

    // The about text hidden by the status setting; the picture hidden by a block.
    a1.client
        .set_privacy_setting(PrivacyCategory::Status, &PrivacyValue::None)
        .await
        .unwrap();
    let info = b
        .client
        .user_info(std::slice::from_ref(&a_user))
        .await
        .unwrap();
    assert_eq!(info[&a_user].status, None);
    assert_eq!(info[&a_user].picture_id.as_deref(), Some(id.as_str()));
    let info = a2
        .client
        .user_info(std::slice::from_ref(&a_user))
        .await
        .unwrap();
    assert_eq!(info[&a_user].status.as_deref(), Some("Out hiking ⛰"));
    a1.client
        .set_privacy_setting(PrivacyCategory::Status, &PrivacyValue::All)
        .await
        .unwrap();
    let b_user = b.jid.to_non_ad();
    a1.client
        .update_blocklist(&b_user, BlocklistAction::Block)
        .await
        .unwrap();
    let blocked = b.client.profile_picture_info(&a_user, true, None).await;
    assert!(
        matches!(blocked, Err(Error::ProfilePictureUnauthorized)),
        "{blocked:?}"
    );
    a1.client
        .update_blocklist(&b_user, BlocklistAction::Unblock)
        .await
        .unwrap();

    // Removal.
    a1.client.remove_profile_picture().await.unwrap();
    for events in [&mut b.events, &mut a2.events] {
        let heard = until(events, |e| picture(e).is_some_and(|p| p.remove)).await;
        let heard = picture(&heard).unwrap();
        assert_eq!(heard.jid, a_user);
        assert_eq!(heard.picture_id, None);
    }
    let gone = b.client.profile_picture_info(&a_user, false, None).await;
    assert!(matches!(gone, Err(Error::ProfilePictureNotSet)), "{gone:?}");
    let stale = b.client.download_profile_picture(&full).await;
    assert!(stale.is_err(), "the old picture is no longer served");
    let info = b
        .client
        .user_info(std::slice::from_ref(&a_user))
        .await
        .unwrap();
    assert_eq!(info[&a_user].picture_id, None);

    a1.stop().await;
    a2.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_photo_reaches_the_members_and_outsiders_cannot_set_it() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    server.admin().create_account(BOB, "Bob").unwrap();
    server
        .admin()
        .create_account("15550003333", "Carol")
        .unwrap();
    let mut a = Companion::pair(&server, None).await;
    let mut b = Companion::pair(&server, Some(BOB)).await;
    let mut c = Companion::pair(&server, Some("15550003333")).await;
    let group = a
        .client
        .create_group(&wa_groups::CreateGroup::new("Photos").participant(b.jid.to_non_ad()))
        .await
        .unwrap()
        .jid;

    let id = a
        .client
        .set_group_photo(&group, Some(JPEG))
        .await
        .unwrap()
        .unwrap();
    let heard = until(&mut b.events, |e| picture(e).is_some()).await;
    let heard = picture(&heard).unwrap();
    assert_eq!(heard.jid, group);
    assert_eq!(heard.author.as_ref(), Some(&a.jid.to_non_ad()));
    assert_eq!(heard.picture_id.as_deref(), Some(id.as_str()));
    let info = b
        .client
        .profile_picture_info(&group, false, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.id, id);
    assert_eq!(
        b.client.download_profile_picture(&info).await.unwrap(),
        JPEG
    );

    // Carol is not a member: refused.
    let refused = c.client.set_group_photo(&group, None).await;
    assert!(
        matches!(
            refused,
            Err(Error::Iq(wa_client::IqError::Server { code: 403, .. }))
        ),
        "{refused:?}"
    );

    assert_eq!(b.client.set_group_photo(&group, None).await.unwrap(), None);
    let heard = until(&mut a.events, |e| picture(e).is_some()).await;
    assert!(picture(&heard).unwrap().remove);
    let gone = a.client.profile_picture_info(&group, true, None).await;
    assert!(matches!(gone, Err(Error::ProfilePictureNotSet)), "{gone:?}");

    a.stop().await;
    b.stop().await;
    c.stop().await;
}
