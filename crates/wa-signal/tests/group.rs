//! Sender keys: distribution, out-of-order and skipped iterations, the forward bound,
//! duplicates, signatures and record serialization.

use crate::common;

use wa_signal::group::{MAX_SENDER_FORWARD_JUMP, MAX_SENDER_KEY_STATES};
use wa_signal::wire::{SenderKeyDistributionMessage, SenderKeyMessage};
use wa_signal::{SenderKeyRecord, SignalError};

fn setup() -> (SenderKeyRecord, SenderKeyRecord, rand_chacha::ChaCha20Rng) {
    let mut rng = common::rng(11);
    let mut ours = SenderKeyRecord::new();
    let skdm = ours.create_distribution(&mut rng);
    let parsed = SenderKeyDistributionMessage::parse(skdm.serialized()).unwrap();
    assert_eq!(parsed, skdm);
    let mut theirs = SenderKeyRecord::new();
    theirs.process_distribution(&parsed);
    (ours, theirs, rng)
}

fn enc(
    rec: &mut SenderKeyRecord,
    rng: &mut rand_chacha::ChaCha20Rng,
    text: &str,
) -> SenderKeyMessage {
    let m = rec.encrypt(text.as_bytes(), rng).unwrap();
    SenderKeyMessage::parse(m.serialized()).unwrap()
}

#[test]
fn in_order_out_of_order_and_duplicates() {
    let (mut ours, mut theirs, mut rng) = setup();
    let msgs: Vec<_> = (0..8)
        .map(|i| enc(&mut ours, &mut rng, &format!("g{i}")))
        .collect();
    assert_eq!(msgs[3].iteration(), 3);
    for i in [0usize, 5, 2, 1, 7, 3, 6, 4] {
        assert_eq!(
            theirs.decrypt(&msgs[i]).unwrap(),
            format!("g{i}").as_bytes()
        );
    }
    assert_eq!(
        theirs.decrypt(&msgs[2]),
        Err(SignalError::DuplicateMessage(2))
    );
    assert_eq!(
        theirs.decrypt(&msgs[7]),
        Err(SignalError::DuplicateMessage(7))
    );
}

#[test]
fn forward_bound() {
    let (mut ours, mut theirs, mut rng) = setup();
    for _ in 0..MAX_SENDER_FORWARD_JUMP {
        ours.encrypt(b"lost", &mut rng).unwrap();
    }
    let at_bound = enc(&mut ours, &mut rng, "at bound");
    assert_eq!(theirs.decrypt(&at_bound).unwrap(), b"at bound");
    for _ in 0..=MAX_SENDER_FORWARD_JUMP {
        ours.encrypt(b"lost", &mut rng).unwrap();
    }
    let beyond = enc(&mut ours, &mut rng, "beyond");
    assert!(matches!(
        theirs.decrypt(&beyond),
        Err(SignalError::TooFarAhead { .. })
    ));
}

#[test]
fn signature_and_key_id_checks_leave_record_unchanged() {
    let (mut ours, mut theirs, mut rng) = setup();
    let m = enc(&mut ours, &mut rng, "signed");
    let before = theirs.serialize();
    let mut bytes = m.serialized().to_vec();
    let n = bytes.len();
    bytes[n - 10] ^= 1;
    let tampered = SenderKeyMessage::parse(&bytes).unwrap();
    assert_eq!(
        theirs.decrypt(&tampered),
        Err(SignalError::InvalidSignature)
    );
    assert_eq!(theirs.serialize(), before);

    let mut stranger = SenderKeyRecord::new();
    stranger.create_distribution(&mut rng);
    let foreign = enc(&mut stranger, &mut rng, "x");
    assert_eq!(
        theirs.decrypt(&foreign),
        Err(SignalError::InvalidKeyId(foreign.key_id()))
    );
    assert_eq!(
        SenderKeyRecord::new().decrypt(&m),
        Err(SignalError::NoSession)
    );
    assert_eq!(theirs.decrypt(&m).unwrap(), b"signed");
}

#[test]
fn replayed_distribution_does_not_rewind() {
    let (mut ours, mut theirs, mut rng) = setup();
    let skdm = ours.create_distribution(&mut rng);
    let m = enc(&mut ours, &mut rng, "once");
    theirs.decrypt(&m).unwrap();
    theirs.process_distribution(&skdm);
    assert_eq!(theirs.decrypt(&m), Err(SignalError::DuplicateMessage(0)));
    // Asking again for our distribution keeps the same state and announces the current iteration.
    let again = ours.create_distribution(&mut rng);
    assert_eq!(again.key_id(), skdm.key_id());
    assert_eq!(again.iteration(), 1);
}

#[test]
fn states_are_bounded_and_records_round_trip() {
    let mut rng = common::rng(12);
    let mut theirs = SenderKeyRecord::new();
    let mut senders = Vec::new();
    for _ in 0..(MAX_SENDER_KEY_STATES + 2) {
        let mut s = SenderKeyRecord::new();
        theirs.process_distribution(&s.create_distribution(&mut rng));
        senders.push(s);
    }
    let oldest = enc(&mut senders[0], &mut rng, "old");
    assert!(matches!(
        theirs.decrypt(&oldest),
        Err(SignalError::InvalidKeyId(_))
    ));
    let newest = enc(senders.last_mut().unwrap(), &mut rng, "new");
    let skipped = enc(senders.last_mut().unwrap(), &mut rng, "skipped");
    let newest2 = enc(senders.last_mut().unwrap(), &mut rng, "new2");
    assert_eq!(theirs.decrypt(&newest2).unwrap(), b"new2");

    let bytes = theirs.serialize();
    let mut restored = SenderKeyRecord::deserialize(&bytes).unwrap();
    assert_eq!(restored.serialize(), bytes);
    assert_eq!(restored.decrypt(&skipped).unwrap(), b"skipped");
    assert_eq!(restored.decrypt(&newest).unwrap(), b"new");

    let own = senders.last().unwrap().serialize();
    let mut own_restored = SenderKeyRecord::deserialize(&own).unwrap();
    let after = enc(&mut own_restored, &mut rng, "after restore");
    assert_eq!(restored.decrypt(&after).unwrap(), b"after restore");
    assert!(SenderKeyRecord::deserialize(&[0x0a, 0x05, 1]).is_err());
}

#[test]
fn malformed_messages_are_errors() {
    for bytes in [&[][..], &[0x33][..], &[0x23; 80][..], &[0x33; 70][..]] {
        assert!(SenderKeyMessage::parse(bytes).is_err());
        assert!(SenderKeyDistributionMessage::parse(bytes).is_err());
    }
}
