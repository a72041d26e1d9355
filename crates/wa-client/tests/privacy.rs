//! Privacy settings through `wa-testserver` over loopback sockets: one companion reads the
//! defaults and changes two categories, the account's other companion hears each change and
//! reads the same settings; a value the server refuses is a typed IQ error.

use wa_client::{Error, Event, IqError, PrivacyCategory, PrivacySettings, PrivacyValue};
use wa_testserver::TestServer;

use crate::common;

use common::live::{Companion, until};

fn privacy_change(event: &Event) -> Option<&PrivacySettings> {
    match event {
        Event::PrivacySettings(p) => Some(p),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_privacy_change_is_stored_and_reaches_the_other_companion() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let mut a1 = Companion::pair(&server, None).await;
    let mut a2 = Companion::pair(&server, None).await;

    let defaults = a1.client.privacy_settings().await.unwrap();
    assert_eq!(defaults.settings.len(), PrivacyCategory::ALL.len());
    assert_eq!(
        defaults.get(PrivacyCategory::LastSeen),
        Some(&PrivacyValue::All)
    );

    let now = a1
        .client
        .set_privacy_setting(PrivacyCategory::LastSeen, &PrivacyValue::Contacts)
        .await
        .unwrap();
    assert_eq!(
        now.get(PrivacyCategory::LastSeen),
        Some(&PrivacyValue::Contacts)
    );
    let heard = until(&mut a2.events, |e| privacy_change(e).is_some()).await;
    assert_eq!(
        privacy_change(&heard).unwrap().settings,
        [(PrivacyCategory::LastSeen, PrivacyValue::Contacts)]
    );

    a1.client
        .set_privacy_setting(PrivacyCategory::ReadReceipts, &PrivacyValue::Off)
        .await
        .unwrap();
    let heard = until(&mut a2.events, |e| privacy_change(e).is_some()).await;
    assert_eq!(
        privacy_change(&heard).unwrap().settings,
        [(PrivacyCategory::ReadReceipts, PrivacyValue::Off)]
    );
    let seen_by_a2 = a2.client.privacy_settings().await.unwrap();
    assert_eq!(
        seen_by_a2.get(PrivacyCategory::ReadReceipts),
        Some(&PrivacyValue::Off)
    );
    assert_eq!(
        seen_by_a2.get(PrivacyCategory::LastSeen),
        Some(&PrivacyValue::Contacts)
    );
    assert_eq!(
        seen_by_a2.get(PrivacyCategory::Online),
        Some(&PrivacyValue::All)
    );

    let refused = a1
        .client
        .set_privacy_setting(PrivacyCategory::Online, &PrivacyValue::Other(String::new()))
        .await;
    assert!(
        matches!(refused, Err(Error::Iq(IqError::Server { code: 400, .. }))),
        "{refused:?}"
    );

    a1.stop().await;
    a2.stop().await;
}
