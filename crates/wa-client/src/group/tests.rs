//! Group sends between several accounts with two devices each, every device with its own
//! in-memory store; sessions are built by X3DH from each recipient's prekeys.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use wa_binary::Jid;
use wa_proto::prost::Message as _;
use wa_proto::proto;
use wa_signal::store::{IncomingMessage, ProtocolAddress};
use wa_signal::{PreKeyBundle, SignalError};
use wa_store::{Container, Device, MemoryContainer, MemoryStore, Store, generate_pre_keys};

use super::*;
use crate::message::{EncType, unpad};

struct Party {
    jid: Jid,
    store: MemoryStore,
}

fn jid(s: &str) -> Jid {
    s.parse().unwrap()
}

fn group() -> Jid {
    jid("120363000000000042@g.us")
}

async fn party(container: &MemoryContainer, user: &str, device: u16, seed: u64) -> Party {
    let store = container
        .create(Device::generate(&mut ChaCha20Rng::seed_from_u64(seed)))
        .await
        .unwrap();
    Party {
        jid: jid(&format!("{user}:{device}@s.whatsapp.net")),
        store,
    }
}

/// Two devices each for `users`, seeded from `seed`.
async fn parties(container: &MemoryContainer, users: &[&str], seed: u64) -> Vec<Party> {
    let mut out = Vec::new();
    for (i, user) in users.iter().enumerate() {
        for device in [0u16, 1] {
            let s = seed + 10 * i as u64 + u64::from(device);
            out.push(party(container, user, device, s).await);
        }
    }
    out
}

/// A bundle of `p` with a fresh one-time prekey, as the server would hand it out.
async fn bundle(p: &Party, rng: &mut ChaCha20Rng) -> (Jid, PreKeyBundle) {
    let device = p.store.device().await.unwrap();
    let one_time = generate_pre_keys(&p.store, 1, rng).await.unwrap().remove(0);
    let bundle = PreKeyBundle {
        registration_id: device.registration_id,
        identity_key: *device.identity_key.public(),
        signed_pre_key_id: device.signed_pre_key.id,
        signed_pre_key: device.signed_pre_key.key_pair.public,
        signed_pre_key_signature: device.signed_pre_key.signature.to_vec(),
        pre_key: Some((one_time.id, one_time.key_pair.public)),
    };
    (p.jid.clone(), bundle)
}

fn devices(members: &[&Party]) -> Vec<Jid> {
    members.iter().map(|p| p.jid.clone()).collect()
}

fn text(body: &str) -> Vec<u8> {
    proto::Message {
        conversation: Some(body.into()),
        ..Default::default()
    }
    .encode_to_vec()
}

/// Sends `body` from `sender`, fetching bundles when the first attempt names devices without
/// a session (as the send pipeline does).
async fn send(sender: &Party, members: &[&Party], body: &str, rng: &mut ChaCha20Rng) -> GroupSend {
    let devices = devices(members);
    let plaintext = text(body);
    let g = group();
    let mut message = GroupMessage {
        group: &g,
        own: &sender.jid,
        devices: &devices,
        plaintext: &plaintext,
        bundles: &[],
    };
    match encrypt_group_message(&sender.store, &message, rng).await {
        Ok(sent) => sent,
        Err(GroupError::MissingSessions(missing)) => {
            let mut bundles = Vec::new();
            for m in members.iter().filter(|m| missing.contains(&m.jid)) {
                bundles.push(bundle(m, rng).await);
            }
            assert_eq!(bundles.len(), missing.len());
            message.bundles = &bundles;
            encrypt_group_message(&sender.store, &message, rng)
                .await
                .unwrap()
        }
        Err(e) => panic!("{e}"),
    }
}

/// What `recipient` makes of `sent` from `sender`: processes its distribution payload (if any)
/// and decrypts the skmsg.
async fn receive(
    recipient: &Party,
    sender: &Party,
    sent: &GroupSend,
    rng: &mut ChaCha20Rng,
) -> Result<String, GroupError> {
    let address = ProtocolAddress::new(
        sender.jid.signal_address_user(),
        u32::from(sender.jid.device()),
    );
    if let Some(d) = sent.distribution.iter().find(|d| d.device == recipient.jid) {
        let incoming = match d.payload.kind {
            EncType::PreKey => IncomingMessage::PreKey(&d.payload.ciphertext),
            _ => IncomingMessage::Whisper(&d.payload.ciphertext),
        };
        let (padded, _) = wa_signal::store::decrypt(&recipient.store, &address, incoming, rng)
            .await
            .unwrap();
        let msg = proto::Message::decode(unpad(&padded, 2).unwrap()).unwrap();
        let skdm = msg.sender_key_distribution_message.unwrap();
        assert_eq!(skdm.group_id.as_deref(), Some(group().to_string().as_str()));
        process_sender_key_distribution(&recipient.store, &group(), &sender.jid, &skdm).await?;
    }
    let padded =
        decrypt_group_message(&recipient.store, &group(), &sender.jid, &sent.skmsg).await?;
    let msg = proto::Message::decode(unpad(&padded, 2).unwrap()).unwrap();
    Ok(msg.conversation.unwrap())
}

fn targets(sent: &GroupSend) -> Vec<String> {
    let mut t: Vec<_> = sent
        .distribution
        .iter()
        .map(|d| d.device.to_string())
        .collect();
    t.sort();
    t
}

#[tokio::test]
async fn three_accounts_first_send_distributes_then_skmsg_only() {
    let container = MemoryContainer::new();
    let all = parties(&container, &["111", "222", "333"], 100).await;
    let members: Vec<&Party> = all.iter().collect();
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let sender = &all[0];

    let first = send(sender, &members, "hello group", &mut rng).await;
    assert!(first.new_sender_key);
    assert_eq!(
        targets(&first),
        [
            "111:1@s.whatsapp.net",
            "222:1@s.whatsapp.net",
            "222@s.whatsapp.net",
            "333:1@s.whatsapp.net",
            "333@s.whatsapp.net"
        ]
    );
    assert!(first.has_pre_key_message());
    assert_eq!(
        first.phash,
        wa_groups::participant_hash_v2(&devices(&members))
    );
    for r in &all[1..] {
        assert_eq!(
            receive(r, sender, &first, &mut rng).await.unwrap(),
            "hello group"
        );
    }

    let second = send(sender, &members, "second", &mut rng).await;
    assert!(second.distribution.is_empty() && !second.new_sender_key);
    assert_eq!(second.phash, first.phash);
    for r in &all[1..] {
        assert_eq!(
            receive(r, sender, &second, &mut rng).await.unwrap(),
            "second"
        );
    }

    // Another member sends: its own key, distributed to the five others (the first sender
    // included), over new sessions.
    let other = &all[3];
    let reply = send(other, &members, "reply", &mut rng).await;
    assert_eq!(reply.distribution.len(), 5);
    assert!(reply.distribution.iter().all(|d| d.device != other.jid));
    for r in all.iter().filter(|p| p.jid != other.jid) {
        assert_eq!(receive(r, other, &reply, &mut rng).await.unwrap(), "reply");
    }
}

#[tokio::test]
async fn new_members_get_the_key_and_removed_members_lose_it() {
    let container = MemoryContainer::new();
    let all = parties(&container, &["111", "222", "333", "444"], 200).await;
    let (sender, first_members, newcomers) = (&all[0], &all[..6], &all[6..]);
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let members: Vec<&Party> = first_members.iter().collect();
    let first = send(sender, &members, "before", &mut rng).await;
    for r in &first_members[1..] {
        assert_eq!(
            receive(r, sender, &first, &mut rng).await.unwrap(),
            "before"
        );
    }

    // 444 joins: only its two devices get the key.
    let members: Vec<&Party> = all.iter().collect();
    let joined = send(sender, &members, "welcome", &mut rng).await;
    assert_eq!(
        targets(&joined),
        ["444:1@s.whatsapp.net", "444@s.whatsapp.net"]
    );
    assert!(!joined.new_sender_key);
    for r in &all[1..] {
        assert_eq!(
            receive(r, sender, &joined, &mut rng).await.unwrap(),
            "welcome"
        );
    }
    assert!(
        newcomers
            .iter()
            .all(|n| joined.distribution.iter().any(|d| d.device == n.jid))
    );

    // After forget_distribution every device gets the same key again over the existing
    // sessions (still pkmsg: no recipient has answered on its session yet); processing a key
    // they already hold changes nothing for them.
    forget_distribution(&sender.store, &group()).await.unwrap();
    let again = send(sender, &members, "again", &mut rng).await;
    assert_eq!(again.distribution.len(), 7);
    assert!(!again.new_sender_key);
    for r in &all[1..] {
        assert_eq!(receive(r, sender, &again, &mut rng).await.unwrap(), "again");
    }
    forget_distribution_to(&sender.store, &group(), &[all[2].jid.clone()])
        .await
        .unwrap();
    let one = send(sender, &members, "one", &mut rng).await;
    assert_eq!(targets(&one), ["222@s.whatsapp.net"]);

    // 333 is removed: the key rotates, the remaining devices get the new one, and 333's
    // devices (which still hold the old key and see the stanza) cannot decrypt.
    rotate_sender_key(&sender.store, &group(), &sender.jid)
        .await
        .unwrap();
    let removed = &all[4..6];
    let members: Vec<&Party> = all.iter().filter(|p| !p.jid.user().eq("333")).collect();
    let after = send(sender, &members, "after removal", &mut rng).await;
    assert!(after.new_sender_key);
    assert_eq!(after.distribution.len(), members.len() - 1);
    assert!(after.distribution.iter().all(|d| d.device.user() != "333"));
    for r in &members[1..] {
        assert_eq!(
            receive(r, sender, &after, &mut rng).await.unwrap(),
            "after removal"
        );
    }
    for r in removed {
        let err = receive(r, sender, &after, &mut rng).await.unwrap_err();
        assert!(
            matches!(err, GroupError::Signal(SignalError::InvalidKeyId(_))),
            "{err}"
        );
    }
}

#[tokio::test]
async fn missing_sessions_fail_without_writing_anything() {
    let container = MemoryContainer::new();
    let all = parties(&container, &["111", "222"], 300).await;
    let sender = &all[0];
    let members = devices(&all.iter().collect::<Vec<_>>());
    let plaintext = text("x");
    let g = group();
    let message = GroupMessage {
        group: &g,
        own: &sender.jid,
        devices: &members,
        plaintext: &plaintext,
        bundles: &[],
    };
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let err = encrypt_group_message(&sender.store, &message, &mut rng)
        .await
        .unwrap_err();
    let GroupError::MissingSessions(mut missing) = err else {
        panic!("{err}");
    };
    missing.sort_by_key(ToString::to_string);
    assert_eq!(
        missing,
        [all[1].jid.clone(), all[3].jid.clone(), all[2].jid.clone()]
    );
    let name = sender_key_name(&g, &sender.jid);
    assert!(sender.store.sender_key(&name).await.unwrap().is_none());
    assert!(
        sender
            .store
            .sender_key_distribution(&g)
            .await
            .unwrap()
            .is_empty()
    );

    // A bundle whose signature does not verify is refused by device, nothing written.
    let (dev, mut bad) = bundle(&all[1], &mut rng).await;
    bad.signed_pre_key_signature[0] ^= 1;
    let bundles = [(dev.clone(), bad)];
    let message = GroupMessage {
        bundles: &bundles,
        devices: std::slice::from_ref(&dev),
        ..message
    };
    let err = encrypt_group_message(&sender.store, &message, &mut rng)
        .await
        .unwrap_err();
    assert!(
        matches!(err, GroupError::Bundle { ref device, .. } if *device == dev),
        "{err}"
    );
    assert!(sender.store.sender_key(&name).await.unwrap().is_none());
}

#[tokio::test]
async fn receiver_errors_are_typed_and_change_nothing() {
    let container = MemoryContainer::new();
    let all = parties(&container, &["111", "222"], 400).await;
    let (sender, r) = (&all[0], &all[2]);
    let members: Vec<&Party> = vec![sender, r];
    let mut rng = ChaCha20Rng::seed_from_u64(10);
    let first = send(sender, &members, "one", &mut rng).await;

    // No key yet: NoSenderKey naming the group and the sender.
    let err = decrypt_group_message(&r.store, &group(), &sender.jid, &first.skmsg)
        .await
        .unwrap_err();
    assert!(
        matches!(err, GroupError::NoSenderKey { ref group, ref sender } if *group == super::tests::group() && *sender == all[0].jid),
        "{err}"
    );
    assert_eq!(receive(r, sender, &first, &mut rng).await.unwrap(), "one");
    // A replay is refused; a tampered message fails its signature and leaves the record as
    // it was, so the genuine next message still decrypts.
    let err = decrypt_group_message(&r.store, &group(), &sender.jid, &first.skmsg)
        .await
        .unwrap_err();
    assert!(
        matches!(err, GroupError::Signal(SignalError::DuplicateMessage(0))),
        "{err}"
    );
    let second = send(sender, &members, "two", &mut rng).await;
    let mut tampered = second.skmsg.clone();
    let mid = tampered.len() / 2;
    tampered[mid] ^= 0x40;
    assert!(matches!(
        decrypt_group_message(&r.store, &group(), &sender.jid, &tampered).await,
        Err(GroupError::Signal(_))
    ));
    assert_eq!(receive(r, sender, &second, &mut rng).await.unwrap(), "two");
    // Garbage is a parse error, not a panic; a distribution without its key is typed too.
    assert!(matches!(
        decrypt_group_message(&r.store, &group(), &sender.jid, &[3, 1, 2]).await,
        Err(GroupError::Signal(_))
    ));
    let empty = proto::message::SenderKeyDistributionMessage::default();
    assert!(matches!(
        process_sender_key_distribution(&r.store, &group(), &sender.jid, &empty).await,
        Err(GroupError::BadDistribution(_))
    ));
}

#[tokio::test]
async fn stanza_shape() {
    let container = MemoryContainer::new();
    let all = parties(&container, &["111", "222"], 500).await;
    let members: Vec<&Party> = all.iter().collect();
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let first = send(&all[0], &members, "hi", &mut rng).await;
    let identity = [9u8, 9, 9];
    let opts = GroupStanza {
        id: "3EB0ABCDEF",
        kind: "text",
        addressing_mode: Some("pn"),
        device_identity: Some(&identity),
    };
    let node = first.to_stanza(&group(), &opts);
    let attr = |k: &str| node.attr(k).map(ToString::to_string);
    assert_eq!(attr("to").as_deref(), Some("120363000000000042@g.us"));
    assert_eq!(attr("type").as_deref(), Some("text"));
    assert_eq!(attr("id").as_deref(), Some("3EB0ABCDEF"));
    assert_eq!(attr("phash"), Some(first.phash.clone()));
    assert_eq!(attr("addressing_mode").as_deref(), Some("pn"));
    let to: Vec<_> = node
        .child("participants")
        .unwrap()
        .children_by_tag("to")
        .collect();
    assert_eq!(to.len(), 3);
    for t in to {
        let enc = t.child("enc").unwrap();
        assert_eq!(
            enc.attr("type").map(ToString::to_string).as_deref(),
            Some("pkmsg")
        );
        assert_eq!(enc.attr("v").map(ToString::to_string).as_deref(), Some("2"));
    }
    let enc = node.child("enc").unwrap();
    assert_eq!(
        enc.attr("type").map(ToString::to_string).as_deref(),
        Some("skmsg")
    );
    assert_eq!(enc.bytes(), Some(first.skmsg.as_slice()));
    assert_eq!(
        node.child("device-identity").and_then(|d| d.bytes()),
        Some(&identity[..])
    );

    // Second send: no participants, no device identity.
    let second = send(&all[0], &members, "again", &mut rng).await;
    let node = second.to_stanza(&group(), &opts);
    assert!(node.child("participants").is_none() && node.child("device-identity").is_none());
    assert!(node.attr("addressing_mode").is_some());
}
