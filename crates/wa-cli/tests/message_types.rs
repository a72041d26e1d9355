//! Every message type of `wa_client::message` through a real `wa-testserver` between two
//! paired accounts: location, contact card, mentions, revoke, disappearing timer, and a poll
//! whose vote is sealed by the voter with the poll's message secret, then opened and tallied
//! by the poll's creator.

use wa_cli::demo::{Narrator, join};
use wa_client::message::build::{self, Target, TextBuilder};
use wa_client::message::content::MessageContent;
use wa_client::message::poll::{self, PollRef, PollTally};
use wa_client::message::secret::random_bytes;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_type_crosses_the_server() {
    let server = wa_testserver::TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let mut n = Narrator::new(false);
    let mut alice = join(&server, &mut n, "Alice", "15550200001").await.unwrap();
    let mut bob = join(&server, &mut n, "Bob", "15550200002").await.unwrap();
    let bob_pn = bob.account.pn.clone();

    // A location.
    let loc = build::location(52.52, 13.405, Some("Berlin"), Some("Pariser Platz")).unwrap();
    let id = alice.send(&bob_pn, loc, "location").await.unwrap();
    let got = bob.message(&id, "location").await.unwrap();
    assert_eq!(
        MessageContent::from_message(&got.message),
        MessageContent::Location {
            latitude: 52.52,
            longitude: 13.405,
            name: Some("Berlin".into()),
            address: Some("Pariser Platz".into())
        }
    );
    let chat_for_bob = got.info.source.chat.clone();
    let alice_as_bob_sees = got.info.source.sender.to_non_ad();

    // A contact card.
    let card = build::vcard("Ada Lovelace", "+44 20 7946 0958").unwrap();
    let id = alice
        .send(&bob_pn, build::contact("Ada", &card), "contact")
        .await
        .unwrap();
    let got = bob.message(&id, "contact").await.unwrap();
    assert_eq!(
        MessageContent::from_message(&got.message),
        MessageContent::Contact {
            display_name: "Ada".into(),
            vcard: card
        }
    );

    // A text mentioning Bob.
    let text = TextBuilder::new("@15550200002 look")
        .mention(bob_pn.clone())
        .build();
    let id = alice.send(&bob_pn, text, "mention").await.unwrap();
    let got = bob.message(&id, "mention").await.unwrap();
    let MessageContent::Text { mentions, .. } = MessageContent::from_message(&got.message) else {
        panic!("not text")
    };
    assert_eq!(mentions, vec!["15550200002@s.whatsapp.net"]);

    // Bob sends a text and deletes it for everyone.
    let oops = bob
        .send(&chat_for_bob, build::text("oops"), "text")
        .await
        .unwrap();
    let got = alice.message(&oops, "text to revoke").await.unwrap();
    let chat_for_alice = got.info.source.chat.clone();
    let id = bob
        .send(
            &chat_for_bob,
            build::revoke(&Target::own(chat_for_bob.clone(), &oops)),
            "revoke",
        )
        .await
        .unwrap();
    let got = alice.message(&id, "revoke").await.unwrap();
    let MessageContent::Revoke { key } = MessageContent::from_message(&got.message) else {
        panic!("not a revoke")
    };
    assert_eq!(key.id, oops);
    assert!(key.from_me);

    // Disappearing messages after a day.
    let id = alice
        .send(
            &bob_pn,
            build::ephemeral_setting(86_400, 1_700_000_000),
            "timer",
        )
        .await
        .unwrap();
    let got = bob.message(&id, "timer").await.unwrap();
    assert_eq!(
        MessageContent::from_message(&got.message),
        MessageContent::EphemeralSetting { seconds: 86_400 }
    );

    // A poll: Alice creates it, Bob votes with the secret it carried, Alice tallies.
    let secret = random_bytes::<32>().unwrap();
    let poll_msg = poll::poll_creation("Lunch?", &["pizza", "sushi", "salad"], 0, secret).unwrap();
    let poll_id = alice.send(&bob_pn, poll_msg.clone(), "poll").await.unwrap();
    let got = bob.message(&poll_id, "poll").await.unwrap();
    assert_eq!(
        MessageContent::from_message(&got.message),
        MessageContent::PollCreation {
            name: "Lunch?".into(),
            options: vec!["pizza".into(), "sushi".into(), "salad".into()],
            selectable: 0
        }
    );
    let received_secret = poll::secret_of(&got.message).expect("the poll carries its secret");
    assert_eq!(received_secret, secret);
    // Bob votes as his LID, as WhatsApp clients do, naming the creator as he saw her.
    let vote = poll::poll_vote(
        &PollRef {
            chat: chat_for_bob.clone(),
            id: poll_id.clone(),
            creator: alice_as_bob_sees.clone(),
            from_me: false,
        },
        &bob.account.lid,
        received_secret,
        &["pizza", "salad"],
        random_bytes().unwrap(),
        1_700_000_000_000,
    )
    .unwrap();
    let id = bob.send(&chat_for_bob, vote, "vote").await.unwrap();
    let got = alice.message(&id, "vote").await.unwrap();
    let MessageContent::PollVote { poll: key, .. } = MessageContent::from_message(&got.message)
    else {
        panic!("not a vote")
    };
    assert_eq!(key.id, poll_id);
    let update = got.message.poll_update_message.as_ref().unwrap();
    let voter = got.info.source.sender.to_non_ad();
    assert_eq!(voter, bob.account.lid, "Bob's vote arrives from his LID");
    let creator = poll::poll_creator(
        update.poll_creation_message_key.as_ref().unwrap(),
        &chat_for_alice,
        &voter,
    )
    .unwrap();
    assert_eq!(creator, alice.account.lid);
    let selected = poll::decrypt_poll_vote(
        &secret,
        &poll_id,
        &creator,
        &voter,
        update.vote.as_ref().unwrap(),
    )
    .unwrap();
    let mut tally = PollTally::for_poll(&poll_msg).unwrap();
    tally.apply(&voter, selected, update.sender_timestamp_ms.unwrap_or(0));
    let results = tally.results();
    let bob_lid = bob.account.lid.to_string();
    assert_eq!(results[0].voters, vec![bob_lid.clone()]);
    assert!(results[1].voters.is_empty());
    assert_eq!(results[2].voters, vec![bob_lid]);

    alice.client.disconnect().await;
    bob.client.disconnect().await;
    server.shutdown().await;
}
