//! `wa demo` end to end: the embedded server, two paired accounts, and every step of the
//! conversation in both directions, checked on what the clients really received.

use wa_cli::demo;
use wa_client::ReceiptKind;
use wa_client::message::content::MessageContent;

fn texts(received: &[MessageContent]) -> Vec<&str> {
    received.iter().map(MessageContent::kind).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_runs_both_ways_with_receipts() {
    let report = demo::run(false).await.expect("the demo fails");

    // Alice saw Bob typing before his reply.
    assert_eq!(
        report
            .alice_saw_typing
            .iter()
            .map(|j| j.user().to_owned())
            .collect::<Vec<_>>(),
        ["15550100002"]
    );
    assert!(
        report.lines.iter().any(|l| l.contains("is typing")),
        "{:#?}",
        report.lines
    );

    // Each side got a text (Alice's is the reply), a reaction and an edit.
    assert_eq!(texts(&report.bob_received), ["text", "reaction", "edit"]);
    assert_eq!(texts(&report.alice_received), ["text", "reaction", "edit"]);

    let MessageContent::Text { text, quoted, .. } = &report.bob_received[0] else {
        unreachable!()
    };
    assert_eq!(text, "Hi Bob! Lunch today?");
    assert!(quoted.is_none());
    let alice_first_id = match &report.alice_received[1] {
        MessageContent::Reaction { key, emoji } => {
            assert_eq!(emoji, "❤️");
            key.id.clone()
        }
        other => panic!("{other:?}"),
    };
    // Alice got Bob's reply quoting her first message, by id.
    let MessageContent::Text {
        text,
        quoted: Some(q),
        ..
    } = &report.alice_received[0]
    else {
        panic!("not a reply: {:?}", report.alice_received[0])
    };
    assert_eq!(text, "Sure, 12:30 at the usual place?");
    assert_eq!(q.id, alice_first_id);
    assert_eq!(q.text.as_deref(), Some("Hi Bob! Lunch today?"));

    // Bob's edit notice names Alice's first message and carries the new text.
    let MessageContent::Edit { key, new } = &report.bob_received[2] else {
        unreachable!()
    };
    assert_eq!(key.id, alice_first_id);
    assert!(key.from_me, "an edit names the sender's own message");
    assert_eq!(
        **new,
        MessageContent::Text {
            text: "Hi Bob! Lunch tomorrow instead?".into(),
            mentions: vec![],
            quoted: None
        }
    );
    let MessageContent::Reaction { key, emoji } = &report.bob_received[1] else {
        unreachable!()
    };
    assert_eq!(emoji, "👍");
    let MessageContent::Edit { key: edited, .. } = &report.alice_received[2] else {
        unreachable!()
    };
    assert_eq!(&edited.id, &key.id, "Bob edits the reply Alice reacted to");

    // Delivery then read receipts, both directions.
    for receipts in [&report.alice_receipts, &report.bob_receipts] {
        let kinds: Vec<&ReceiptKind> = receipts.iter().map(|(_, k)| k).collect();
        assert_eq!(kinds, [&ReceiptKind::Delivered, &ReceiptKind::Read]);
        assert_eq!(receipts[0].0, receipts[1].0);
    }
    assert_eq!(report.alice_receipts[0].0, alice_first_id);

    // The narration says it in plain words, QR codes and the phone's scan included.
    let all = report.lines.join("\n");
    for fact in [
        "Started an embedded wa-testserver",
        "Alice's new companion device shows this QR code:",
        "Alice's phone scans it",
        "Bob's companion is paired as 15550100002:",
        "Bob receives it from Alice",
        "Alice sees: delivered",
        "Alice sees: read",
        "Bob sees: delivered",
        "Bob sees: read",
        "Bob receives: reaction 👍",
        "Alice receives: reaction ❤️",
        "Bob receives: edit of",
        "Alice receives: edit of",
        "Done:",
    ] {
        assert!(all.contains(fact), "missing {fact:?} in:\n{all}");
    }
    assert!(all.contains('█'), "the QR code is drawn");
    assert!(
        report.conversation_time.as_secs() < 10,
        "{:?}",
        report.conversation_time
    );
}
