//! Groups end to end through `wa-testserver` over loopback sockets: three accounts with two
//! companions each create a group and exchange sender-key messages; members are added and
//! removed (a removed member's store cannot open later messages because the sender key was
//! rotated), promoted and demoted; announce mode is enforced; a member joins by invite link;
//! a community gets two subgroups.

use wa_binary::{Jid, Node};
use wa_client::{Error, Event, GroupEventKind, MessageError};
use wa_groups::{CreateGroup, GroupInfo, JoinResult, ParticipantAction};
use wa_testserver::TestServer;

use crate::common;

use common::live::{Companion, assert_no_message, message_with_id, text, until};

impl Companion {
    /// Waits for the message `id` and returns its text, checking chat and sender.
    async fn expect_text(&mut self, id: &str, group: &Jid, sender_user: &str) -> String {
        let m = message_with_id(&mut self.events, id).await;
        assert_eq!(m.info.source.chat, *group);
        assert!(m.info.source.is_group);
        let sender = &m.info.source.sender;
        let alt = m.info.source.sender_alt.as_ref();
        assert!(
            sender.user() == sender_user || alt.is_some_and(|a| a.user() == sender_user),
            "{sender} / {alt:?} is not {sender_user}"
        );
        m.message.conversation.clone().unwrap_or_default()
    }

    /// Waits for a group event about `group` that `pred` accepts.
    async fn expect_group(&mut self, group: &Jid, pred: impl Fn(&GroupEventKind) -> bool) {
        let g = group.to_string();
        until(
            &mut self.events,
            |e| matches!(e, Event::Group(ev) if ev.group == g && pred(&ev.change)),
        )
        .await;
    }

    /// Asserts that no message `id` arrives within a short while.
    async fn expect_nothing(&mut self, id: &str) {
        assert_no_message(&mut self.events, id).await;
    }
}

/// Three accounts, two companions each.
struct World {
    server: TestServer,
    pn: [Jid; 3],
    a: [Companion; 2],
    b: [Companion; 2],
    c: [Companion; 2],
}

async fn world() -> World {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let phones = ["15550100001", "15550100002", "15550100003"];
    let mut pn = Vec::new();
    for (phone, name) in phones.iter().zip(["Alice", "Bob", "Carol"]) {
        pn.push(server.admin().create_account(phone, name).unwrap().pn);
    }
    let a = [
        Companion::pair(&server, Some(phones[0])).await,
        Companion::pair(&server, Some(phones[0])).await,
    ];
    let b = [
        Companion::pair(&server, Some(phones[1])).await,
        Companion::pair(&server, Some(phones[1])).await,
    ];
    let c = [
        Companion::pair(&server, Some(phones[2])).await,
        Companion::pair(&server, Some(phones[2])).await,
    ];
    World {
        server,
        pn: [pn[0].clone(), pn[1].clone(), pn[2].clone()],
        a,
        b,
        c,
    }
}

fn user_of(info: &GroupInfo, pn: &Jid) -> String {
    info.participant(pn)
        .map(|p| p.jid.user().to_owned())
        .unwrap_or_else(|| pn.user().to_owned())
}

fn skmsg(node: &Node) -> (&[u8], Jid) {
    let enc = node
        .children_by_tag("enc")
        .find(|e| e.attr("type").and_then(|t| t.as_str()) == Some("skmsg"))
        .expect("an skmsg");
    let participant = node
        .attr("participant")
        .and_then(|v| v.as_jid())
        .cloned()
        .expect("participant");
    (enc.bytes().unwrap(), participant)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_exchange_messages_and_a_removed_member_cannot_read_later_ones() {
    let mut w = world().await;
    let [pa, pb, pc] = w.pn.clone();
    let info = w.a[0]
        .client
        .create_group(&CreateGroup::new("Team").participant(pb.clone()))
        .await
        .unwrap();
    let group = info.jid.clone();
    let (ua, ub, uc) = (
        user_of(&info, &pa),
        user_of(&info, &pb),
        user_of(&info, &pc),
    );
    assert_eq!(info.participants.len(), 2);

    // Alice's first message distributes her sender key to every other device.
    let sent = w.a[0]
        .client
        .send_message(group.clone(), text("hello team"))
        .await
        .unwrap();
    assert_eq!(sent.chat, group);
    for m in w.b.iter_mut().chain([&mut w.a[1]]) {
        assert_eq!(m.expect_text(&sent.id, &group, &ua).await, "hello team");
    }
    // Bob answers from his second companion; the first one gets it too.
    let reply = w.b[1]
        .client
        .send_message(group.clone(), text("hi alice"))
        .await
        .unwrap();
    for m in w.a.iter_mut().chain([&mut w.b[0]]) {
        assert_eq!(m.expect_text(&reply.id, &group, &ub).await, "hi alice");
    }
    // A second message needs no distribution and still arrives.
    let again = w.a[1]
        .client
        .send_message(group.clone(), text("from my other device"))
        .await
        .unwrap();
    for m in w.b.iter_mut().chain([&mut w.a[0]]) {
        assert_eq!(
            m.expect_text(&again.id, &group, &ua).await,
            "from my other device"
        );
    }

    // Carol is added: she gets the current key with Alice's next message.
    let added = w.a[0]
        .client
        .update_participants(&group, ParticipantAction::Add, std::slice::from_ref(&pc))
        .await
        .unwrap();
    assert!(added.iter().all(|r| r.is_ok()), "{added:?}");
    for c in &mut w.c {
        c.expect_group(&group, |k| matches!(k, GroupEventKind::Joined { .. }))
            .await;
    }
    w.b[0]
        .expect_group(&group, |k| {
            matches!(k, GroupEventKind::ParticipantsAdded { participants, .. } if participants.len() == 1)
        })
        .await;
    let welcome = w.a[0]
        .client
        .send_message(group.clone(), text("welcome carol"))
        .await
        .unwrap();
    for m in w.c.iter_mut().chain(w.b.iter_mut()) {
        assert_eq!(
            m.expect_text(&welcome.id, &group, &ua).await,
            "welcome carol"
        );
    }
    let carol_says = w.c[0]
        .client
        .send_message(group.clone(), text("thanks"))
        .await
        .unwrap();
    assert_eq!(
        w.a[0].expect_text(&carol_says.id, &group, &uc).await,
        "thanks"
    );

    // Bob talks to Carol too: her stores now hold Bob's sender key as well.
    let bob_says = w.b[0]
        .client
        .send_message(group.clone(), text("hi carol"))
        .await
        .unwrap();
    for c in &mut w.c {
        assert_eq!(c.expect_text(&bob_says.id, &group, &ub).await, "hi carol");
    }

    // Carol is removed; Bob's second companion goes offline so the next message waits in its
    // queue, where we can check that Carol's keys do not open it.
    let removed = w.a[0]
        .client
        .update_participants(&group, ParticipantAction::Remove, std::slice::from_ref(&pc))
        .await
        .unwrap();
    assert!(removed.iter().all(|r| r.is_ok()), "{removed:?}");
    for c in &mut w.c {
        c.expect_group(&group, |k| *k == GroupEventKind::Left { removed: true })
            .await;
    }
    // Bob learns it from the notification and rotates his own sender key.
    w.b[0]
        .expect_group(&group, |k| {
            matches!(k, GroupEventKind::ParticipantsRemoved { .. })
        })
        .await;
    w.b[1].stop().await;
    let secret = w.a[0]
        .client
        .send_message(group.clone(), text("after carol"))
        .await
        .unwrap();
    assert_eq!(
        w.b[0].expect_text(&secret.id, &group, &ua).await,
        "after carol"
    );
    w.c[0].expect_nothing(&secret.id).await;
    let bob_secret = w.b[0]
        .client
        .send_message(group.clone(), text("bob after carol"))
        .await
        .unwrap();
    assert_eq!(
        w.a[0].expect_text(&bob_secret.id, &group, &ub).await,
        "bob after carol"
    );
    let queued = w.server.admin().queued_stanzas(&w.b[1].jid).unwrap();
    for id in [&secret.id, &bob_secret.id] {
        let node = queued
            .iter()
            .find(|n| n.tag == "message" && n.attr("id").and_then(|v| v.as_str()) == Some(id))
            .expect("queued for the offline companion");
        let (bytes, sender) = skmsg(node);
        for c in &w.c {
            let store = c.store().await;
            let res = wa_client::group::decrypt_group_message(&store, &group, &sender, bytes).await;
            assert!(res.is_err(), "a removed member decrypted message {id}");
        }
    }
    // The removed member can no longer send to the group.
    let err = w.c[1]
        .client
        .send_message(group.clone(), text("still here?"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Iq(_) | Error::Message(MessageError::ServerAck { .. })
        ),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_announce_mode_invite_links_and_communities() {
    let mut w = world().await;
    let [_pa, pb, pc] = w.pn.clone();
    let info = w.a[0]
        .client
        .create_group(&CreateGroup::new("Admins").participant(pb.clone()))
        .await
        .unwrap();
    let group = info.jid.clone();
    let ub = user_of(&info, &pb);

    // Announce mode: Bob (not an admin) is refused with 401, Alice still sends.
    w.a[0]
        .client
        .set_group_announce(&group, true)
        .await
        .unwrap();
    for b in &mut w.b {
        b.expect_group(&group, |k| *k == GroupEventKind::Announce { on: true })
            .await;
    }
    let fresh = w.a[0].client.fetch_group_info(&group).await.unwrap();
    assert!(fresh.announce);
    let err = w.b[0]
        .client
        .send_message(group.clone(), text("may I?"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Message(MessageError::ServerAck { code: 401, .. })
        ),
        "{err:?}"
    );
    // Promoted, Bob may send; demoted again, he may not.
    let promoted = w.a[0]
        .client
        .update_participants(
            &group,
            ParticipantAction::Promote,
            std::slice::from_ref(&pb),
        )
        .await
        .unwrap();
    assert!(promoted.iter().all(|r| r.is_ok()), "{promoted:?}");
    w.b[1]
        .expect_group(&group, |k| matches!(k, GroupEventKind::Promoted { .. }))
        .await;
    let info = w.a[0].client.fetch_group_info(&group).await.unwrap();
    assert!(info.participant(&pb).is_some_and(|p| p.is_admin));
    let ok = w.b[0]
        .client
        .send_message(group.clone(), text("as admin"))
        .await
        .unwrap();
    assert_eq!(w.a[0].expect_text(&ok.id, &group, &ub).await, "as admin");
    w.a[0]
        .client
        .update_participants(&group, ParticipantAction::Demote, std::slice::from_ref(&pb))
        .await
        .unwrap();
    let err = w.b[1]
        .client
        .send_message(group.clone(), text("again?"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Message(MessageError::ServerAck { code: 401, .. })
        ),
        "{err:?}"
    );
    w.a[0]
        .client
        .set_group_announce(&group, false)
        .await
        .unwrap();

    // Subject, description and locked mode: members are told, the metadata follows.
    let alice = &w.a[0].client;
    alice
        .set_group_subject(&group, "Admins only")
        .await
        .unwrap();
    alice
        .set_group_description(&group, "rules", None)
        .await
        .unwrap();
    alice.set_group_locked(&group, true).await.unwrap();
    let fresh = alice.fetch_group_info(&group).await.unwrap();
    assert_eq!(fresh.subject, "Admins only");
    assert_eq!(
        fresh.description.as_ref().map(|d| d.text.as_str()),
        Some("rules")
    );
    assert!(fresh.locked);
    let b0 = &mut w.b[0];
    b0.expect_group(&group, |k| {
        *k == GroupEventKind::Subject {
            subject: "Admins only".into(),
        }
    })
    .await;
    b0.expect_group(&group, |k| {
        *k == GroupEventKind::Description {
            text: Some("rules".into()),
        }
    })
    .await;
    b0.expect_group(&group, |k| *k == GroupEventKind::Locked { on: true })
        .await;
    // Bob's view of the group follows the notifications.
    let cached = b0.client.group_info(&group).await.unwrap();
    assert_eq!(cached.subject, "Admins only");
    assert!(cached.locked);

    // Invite link: Carol joins and reads the next message; a reset link stops the old one.
    let link = w.a[0]
        .client
        .group_invite_link(&group, false)
        .await
        .unwrap();
    assert!(link.starts_with("https://chat.whatsapp.com/"), "{link}");
    let preview = w.c[0].client.group_info_from_link(&link).await.unwrap();
    assert_eq!(preview.jid, group);
    let joined = w.c[0].client.join_group_with_link(&link).await.unwrap();
    assert_eq!(joined, JoinResult::Joined(group.clone()));
    let hi = w.a[0]
        .client
        .send_message(group.clone(), text("hi carol"))
        .await
        .unwrap();
    let ua = user_of(&w.a[0].client.group_info(&group).await.unwrap(), &w.pn[0]);
    for c in &mut w.c {
        assert_eq!(c.expect_text(&hi.id, &group, &ua).await, "hi carol");
    }
    let reset = w.a[0].client.group_invite_link(&group, true).await.unwrap();
    assert_ne!(reset, link);
    assert!(w.c[0].client.group_info_from_link(&link).await.is_err());
    assert!(
        w.a[0]
            .client
            .joined_groups()
            .await
            .unwrap()
            .iter()
            .any(|g| g.jid == group)
    );

    // A community with two subgroups: one created inside it, one linked afterwards.
    let community = w.a[0]
        .client
        .create_group(&CreateGroup::new("Neighbours").community())
        .await
        .unwrap();
    assert!(community.is_community);
    let inside = w.a[0]
        .client
        .create_group(
            &CreateGroup::new("Garden")
                .in_community(community.jid.clone())
                .participant(pc.clone()),
        )
        .await
        .unwrap();
    w.a[0]
        .client
        .link_groups(&community.jid, std::slice::from_ref(&group))
        .await
        .unwrap();
    let subs = w.a[0].client.sub_groups(&community.jid).await.unwrap();
    let jids: Vec<&Jid> = subs.iter().map(|s| &s.jid).collect();
    assert!(
        jids.contains(&&inside.jid) && jids.contains(&&group),
        "{subs:?}"
    );
    // Messages work inside the subgroup.
    let garden = w.a[0]
        .client
        .send_message(inside.jid.clone(), text("tomatoes"))
        .await
        .unwrap();
    assert_eq!(
        w.c[1].expect_text(&garden.id, &inside.jid, &ua).await,
        "tomatoes"
    );
    w.a[0]
        .client
        .unlink_groups(&community.jid, std::slice::from_ref(&group))
        .await
        .unwrap();
    let subs = w.a[0].client.sub_groups(&community.jid).await.unwrap();
    assert!(!subs.iter().any(|s| s.jid == group), "{subs:?}");

    // Leaving: Alice's later sends to the group fail.
    w.b[0].client.leave_group(&group).await.unwrap();
    let err = w.b[0]
        .client
        .send_message(group.clone(), text("bye"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Iq(_) | Error::Message(MessageError::ServerAck { .. })
        ),
        "{err:?}"
    );
}

/// A member that lost our sender key cannot open the `skmsg`; its retry receipt reaches us
/// and we resend the message to that one device pairwise with the key attached (whatsmeow
/// `handleRetryReceipt` for groups), after which it reads our later `skmsg`s again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_lost_our_sender_key_gets_the_message_resent_with_it() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let (a, pa) = Companion::pair_new_account(&server, "15550200001", "Alice").await;
    let (mut b, pb) = Companion::pair_new_account(&server, "15550200002", "Bob").await;
    let info = a
        .client
        .create_group(&CreateGroup::new("Retry").participant(pb.clone()))
        .await
        .unwrap();
    let group = info.jid.clone();
    let ua = user_of(&info, &pa);

    let first = a
        .client
        .send_message(group.clone(), text("one"))
        .await
        .unwrap();
    let Event::Message(m) = until(
        &mut b.events,
        |e| matches!(e, Event::Message(m) if m.info.id == first.id),
    )
    .await
    else {
        unreachable!()
    };
    assert_eq!(m.retry_count, 0);
    // Bob's store loses Alice's sender key.
    b.lose_sender_key(&group, &m.info.source.sender).await;

    let second = a
        .client
        .send_message(group.clone(), text("two"))
        .await
        .unwrap();
    until(
        &mut b.events,
        |e| matches!(e, Event::UndecryptableMessage { info, .. } if info.id == second.id),
    )
    .await;
    let Event::Message(m) = until(
        &mut b.events,
        |e| matches!(e, Event::Message(m) if m.info.id == second.id),
    )
    .await
    else {
        unreachable!()
    };
    assert_eq!(m.message.conversation.as_deref(), Some("two"));
    assert_eq!(m.info.source.chat, group);
    assert!(m.retry_count >= 1, "delivered by the resend");
    assert!(m.message.sender_key_distribution_message.is_none());

    // The key came with the resend: the next skmsg opens directly.
    let third = a
        .client
        .send_message(group.clone(), text("three"))
        .await
        .unwrap();
    assert_eq!(b.expect_text(&third.id, &group, &ua).await, "three");
}
