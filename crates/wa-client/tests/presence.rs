//! Presence and chat state through `wa-testserver` over loopback sockets: B subscribes to A's
//! presence and sees A come online and go away (with a last-seen time); A types and records to
//! B and in a group with B, and B sees who, where and what; going online without a push name
//! is a typed error.

use wa_client::wa_groups::CreateGroup;
use wa_client::{
    ChatPresence, ChatPresenceEvent, ChatPresenceMedia, Client, Config, Error, Event, Presence,
    PresenceEvent,
};
use wa_testserver::TestServer;

use crate::common;

use common::live::{Companion, config, until};

const BOB: &str = "15550002222";

fn presence_of(event: &Event) -> Option<&PresenceEvent> {
    match event {
        Event::Presence(p) => Some(p),
        _ => None,
    }
}

fn chat_presence_of(event: &Event) -> Option<&ChatPresenceEvent> {
    match event {
        Event::ChatPresence(c) => Some(c),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_and_chat_state_reach_the_other_account() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    server.admin().create_account(BOB, "Bob").unwrap();
    let mut a = Companion::pair(&server, None).await;
    let mut b = Companion::pair(&server, Some(BOB)).await;
    let a_user = a.jid.to_non_ad();
    let b_user = b.jid.to_non_ad();

    // No push name anywhere: going online is refused before anything is sent.
    assert!(matches!(
        a.client.send_presence(Presence::Available).await,
        Err(Error::Config(_))
    ));

    // B subscribes and gets A's current state at once: never seen.
    b.client.subscribe_presence(a_user.clone()).await.unwrap();
    let first = until(&mut b.events, |e| presence_of(e).is_some()).await;
    assert_eq!(
        presence_of(&first),
        Some(&PresenceEvent {
            from: a_user.clone(),
            unavailable: true,
            last_seen: None,
        })
    );

    // A comes back with a push name and goes online, then away.
    let device = a.client.device_id();
    a.stop().await;
    let named = Config {
        push_name: Some("Ann".into()),
        ..config(&server)
    };
    let (client, mut events) = Client::start(named, a.container.clone(), Some(device))
        .await
        .unwrap();
    until(&mut events, |e| matches!(e, Event::Connected)).await;
    client.send_presence(Presence::Available).await.unwrap();
    let online = until(&mut b.events, |e| presence_of(e).is_some()).await;
    assert_eq!(
        presence_of(&online).map(|p| (&p.from, p.unavailable)),
        Some((&a_user, false))
    );
    client.send_presence(Presence::Unavailable).await.unwrap();
    let away = until(&mut b.events, |e| presence_of(e).is_some()).await;
    let away = presence_of(&away).unwrap();
    assert!(away.unavailable);
    assert!(
        away.last_seen.is_some_and(|t| t > 1_600_000_000),
        "{away:?}"
    );

    // A records a voice note to B, then stops.
    client
        .send_chat_presence(
            b_user.clone(),
            ChatPresence::Composing,
            ChatPresenceMedia::Audio,
        )
        .await
        .unwrap();
    let recording = until(&mut b.events, |e| chat_presence_of(e).is_some()).await;
    assert_eq!(
        chat_presence_of(&recording),
        Some(&ChatPresenceEvent {
            chat: a_user.clone(),
            sender: a_user.clone(),
            state: ChatPresence::Composing,
            media: ChatPresenceMedia::Audio,
        })
    );
    client
        .send_chat_presence(
            b_user.clone(),
            ChatPresence::Paused,
            ChatPresenceMedia::Text,
        )
        .await
        .unwrap();
    let paused = until(&mut b.events, |e| chat_presence_of(e).is_some()).await;
    assert_eq!(
        chat_presence_of(&paused).map(|c| c.state),
        Some(ChatPresence::Paused)
    );

    // In a group, B sees the group as the chat and A as the sender.
    let group = client
        .create_group(&CreateGroup::new("Typing").participant(b_user.clone()))
        .await
        .unwrap()
        .jid;
    client
        .send_chat_presence(
            group.clone(),
            ChatPresence::Composing,
            ChatPresenceMedia::Text,
        )
        .await
        .unwrap();
    let typing = until(&mut b.events, |e| {
        chat_presence_of(e).is_some_and(|c| c.chat == group)
    })
    .await;
    let typing = chat_presence_of(&typing).unwrap();
    assert_eq!(
        (&typing.sender, typing.state, typing.media),
        (&a_user, ChatPresence::Composing, ChatPresenceMedia::Text)
    );

    // B answers in the 1:1 chat; A hears it.
    b.client
        .send_chat_presence(
            a_user.clone(),
            ChatPresence::Composing,
            ChatPresenceMedia::Text,
        )
        .await
        .unwrap();
    let back = until(&mut events, |e| chat_presence_of(e).is_some()).await;
    assert_eq!(chat_presence_of(&back).map(|c| &c.sender), Some(&b_user));

    client.disconnect().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_state_sent_while_the_peer_is_offline_is_not_queued() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    server.admin().create_account(BOB, "Bob").unwrap();
    let a = Companion::pair(&server, None).await;
    let mut b = Companion::pair(&server, Some(BOB)).await;
    let a_user = a.jid.to_non_ad();
    let b_user = b.jid.to_non_ad();

    let device = b.client.device_id();
    b.stop().await;
    a.client
        .send_chat_presence(
            b_user.clone(),
            ChatPresence::Composing,
            ChatPresenceMedia::Text,
        )
        .await
        .unwrap();
    let sent = a
        .client
        .send_message(b_user.clone(), common::live::text("queued"))
        .await
        .unwrap();

    // B comes back: the queued message arrives, the chat state from before does not.
    let (client, mut events) = Client::start(config(&server), b.container.clone(), Some(device))
        .await
        .unwrap();
    let mut chat_states = 0;
    loop {
        let event = tokio::time::timeout(common::live::STEP, events.recv())
            .await
            .expect("the queued message did not arrive")
            .expect("event stream ended");
        match &event {
            Event::ChatPresence(c) if c.sender == a_user => chat_states += 1,
            Event::Message(m) if m.info.id == sent.id => break,
            _ => {}
        }
    }
    assert_eq!(
        chat_states, 0,
        "a chat state was queued for an offline device"
    );
    client.disconnect().await;
}
