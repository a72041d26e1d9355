//! Shared fixture of the `signal_*` fuzz targets: a live session and sender-key state built from
//! fixed keys (seeded RNG), so checked-in seeds stay valid messages for it.
#![allow(dead_code)]

use std::sync::OnceLock;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use wa_proto::prost::Message as _;
use wa_signal::PublicKey;
use wa_signal::wire::{PreKeySignalMessage, SenderKeyDistributionMessage, SignalMessage};
use wa_signal::{
    IdentityKeyPair, PreKeyBundle, PreKeyRecord, SenderKeyRecord, SessionRecord, SignedPreKeyRecord,
};

/// Bob's keys and records after a short exchange with Alice.
pub struct Fixture {
    pub bob_identity: IdentityKeyPair,
    pub bob_registration_id: u32,
    pub bob_signed: SignedPreKeyRecord,
    pub bob_one_time: PreKeyRecord,
    pub bob_bundle: PreKeyBundle,
    /// Bob's session with Alice (established, with a skipped key pending).
    pub bob: SessionRecord,
    /// Alice's side, to make seeds.
    pub alice: SessionRecord,
    pub alice_identity: IdentityKeyPair,
    /// Bob's copy of Alice's sender key.
    pub bob_group: SenderKeyRecord,
    /// Alice's own sender key.
    pub alice_group: SenderKeyRecord,
}

pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

pub fn build() -> Fixture {
    let mut rng = rng(0x5157_4e41);
    let bob_identity = IdentityKeyPair::generate(&mut rng);
    let bob_signed = SignedPreKeyRecord::generate(1, &bob_identity, &mut rng);
    let bob_one_time = PreKeyRecord::generate(2, &mut rng);
    let bob_bundle = PreKeyBundle {
        registration_id: 4321,
        identity_key: *bob_identity.public(),
        signed_pre_key_id: 1,
        signed_pre_key: bob_signed.key_pair.public,
        signed_pre_key_signature: bob_signed.signature.to_vec(),
        pre_key: Some((2, bob_one_time.key_pair.public)),
    };
    let alice_identity = IdentityKeyPair::generate(&mut rng);
    let mut alice = SessionRecord::new();
    let mut bob = SessionRecord::new();
    alice
        .initiate(&alice_identity, 1234, &bob_bundle, &mut rng)
        .expect("fixture: initiate");
    let first = alice.encrypt(b"first").expect("fixture: encrypt");
    let pk = PreKeySignalMessage::parse(first.serialized()).expect("fixture: parse");
    bob.decrypt_pre_key(
        &bob_identity,
        4321,
        &pk,
        Some(&bob_signed),
        Some(&bob_one_time),
        &mut rng,
    )
    .expect("fixture: pkmsg");
    let reply = bob.encrypt(b"reply").expect("fixture: reply");
    let reply = wa_signal::wire::SignalMessage::parse(reply.serialized()).expect("fixture: parse");
    alice
        .decrypt(&reply, &mut rng)
        .expect("fixture: decrypt reply");
    let _skipped = alice.encrypt(b"skipped").expect("fixture: encrypt");
    let delivered = alice.encrypt(b"delivered").expect("fixture: encrypt");
    let delivered =
        wa_signal::wire::SignalMessage::parse(delivered.serialized()).expect("fixture: parse");
    bob.decrypt(&delivered, &mut rng).expect("fixture: decrypt");

    let mut alice_group = SenderKeyRecord::new();
    let skdm = alice_group.create_distribution(&mut rng);
    let mut bob_group = SenderKeyRecord::new();
    bob_group.process_distribution(
        &SenderKeyDistributionMessage::parse(skdm.serialized()).expect("fixture: skdm"),
    );
    Fixture {
        bob_identity,
        bob_registration_id: 4321,
        bob_signed,
        bob_one_time,
        bob_bundle,
        bob,
        alice,
        alice_identity,
        bob_group,
        alice_group,
    }
}

pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(build)
}

/// The fields prost's decoder gives a serialized `SignalMessage` (what the parser used before
/// it read fields itself), or `None` where the parse must fail.
pub fn signal_by_prost(data: &[u8]) -> Option<(PublicKey, u32, u32, Vec<u8>)> {
    if data.first()? >> 4 != 3 {
        return None;
    }
    let body = data.get(1..data.len().checked_sub(8)?)?;
    let pb = wa_proto::proto::SignalMessage::decode(body).ok()?;
    let key = PublicKey::from_bytes(&pb.ratchet_key?).ok()?;
    let counter = pb.counter?;
    Some((
        key,
        counter,
        pb.previous_counter.unwrap_or(0),
        pb.ciphertext?,
    ))
}

/// The fields of a parsed `SignalMessage`, to compare with [`signal_by_prost`].
pub fn signal_fields(m: &SignalMessage) -> (PublicKey, u32, u32, Vec<u8>) {
    (
        *m.ratchet_key(),
        m.counter(),
        m.previous_counter(),
        m.ciphertext().to_vec(),
    )
}

/// The fields prost's decoder gives a serialized `PreKeySignalMessage`, or `None` where the
/// parse must fail.
pub fn pre_key_by_prost(
    data: &[u8],
) -> Option<(u32, Option<u32>, u32, PublicKey, PublicKey, Vec<u8>)> {
    if data.first()? >> 4 != 3 {
        return None;
    }
    let pb = wa_proto::proto::PreKeySignalMessage::decode(data.get(1..)?).ok()?;
    let inner = pb.message?;
    let signed = pb.signed_pre_key_id?;
    let base = PublicKey::from_bytes(&pb.base_key?).ok()?;
    let identity = PublicKey::from_bytes(&pb.identity_key?).ok()?;
    signal_by_prost(&inner)?;
    Some((
        pb.registration_id.unwrap_or(0),
        pb.pre_key_id,
        signed,
        base,
        identity,
        inner,
    ))
}

/// The fields of a parsed `PreKeySignalMessage`, to compare with [`pre_key_by_prost`].
pub fn pre_key_fields(
    m: &PreKeySignalMessage,
) -> (u32, Option<u32>, u32, PublicKey, PublicKey, Vec<u8>) {
    (
        m.registration_id(),
        m.pre_key_id(),
        m.signed_pre_key_id(),
        *m.base_key(),
        *m.identity_key(),
        m.message().serialized().to_vec(),
    )
}
