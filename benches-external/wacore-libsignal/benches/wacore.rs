//! wacore-libsignal 0.7 on the operations `crates/wa-signal/benches/signal.rs` measures:
//! 1:1 encrypt + decrypt per message, X3DH session setup from a bundle, sender-key encrypt and
//! decrypt, and a new sender's first 3 or 8 messages. Stores are plain in-memory maps (its API
//! is store-based).

use std::collections::HashMap;
use std::hint::black_box;

use async_trait::async_trait;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::StdRng;
use wacore_libsignal::protocol::error::Result;
use wacore_libsignal::protocol::{
    CiphertextMessage, DeviceId, Direction, GenericSignedPreKey, IdentityChange, IdentityKey,
    IdentityKeyPair, IdentityKeyStore, KeyPair, PreKeyBundle, PreKeyId, PreKeyRecord, PreKeyStore,
    ProtocolAddress, SenderKeyName, SenderKeyRecord, SenderKeyStore, SessionRecord, SessionStore,
    SignalProtocolError, SignedPreKeyId, SignedPreKeyRecord, SignedPreKeyStore, Timestamp,
    UsePQRatchet, create_sender_key_distribution_message, group_decrypt, group_encrypt,
    message_decrypt, message_encrypt, process_prekey_bundle,
    process_sender_key_distribution_message,
};

const PLAINTEXT: &[u8] = &[0x42; 128];

struct Identities {
    identity: IdentityKeyPair,
    registration_id: u32,
    known: HashMap<ProtocolAddress, IdentityKey>,
}

#[derive(Default)]
struct PreKeys(HashMap<PreKeyId, PreKeyRecord>);
#[derive(Default)]
struct SignedPreKeys(HashMap<SignedPreKeyId, SignedPreKeyRecord>);
#[derive(Default)]
struct Sessions(HashMap<ProtocolAddress, SessionRecord>);
#[derive(Default)]
struct SenderKeys(HashMap<SenderKeyName, SenderKeyRecord>);

/// One device: the stores wacore-libsignal's functions take separately.
struct Party {
    identities: Identities,
    pre_keys: PreKeys,
    signed: SignedPreKeys,
    sessions: Sessions,
}

impl Party {
    fn new(rng: &mut StdRng, registration_id: u32) -> Self {
        Self {
            identities: Identities {
                identity: IdentityKeyPair::generate(rng),
                registration_id,
                known: HashMap::new(),
            },
            pre_keys: PreKeys::default(),
            signed: SignedPreKeys::default(),
            sessions: Sessions::default(),
        }
    }

    fn bundle(&mut self, rng: &mut StdRng) -> PreKeyBundle {
        let signed = KeyPair::generate(rng);
        let signature = self
            .identities
            .identity
            .private_key()
            .calculate_signature(&signed.public_key.serialize(), rng)
            .unwrap();
        let signed_id = SignedPreKeyId::from(1u32);
        let record =
            SignedPreKeyRecord::new(signed_id, Timestamp::from_epoch_millis(0), &signed, &signature);
        self.signed.0.insert(signed_id, record);
        let one_time = KeyPair::generate(rng);
        let pre_id = PreKeyId::from(2u32);
        self.pre_keys.0.insert(pre_id, PreKeyRecord::new(pre_id, &one_time));
        PreKeyBundle::new(
            self.identities.registration_id,
            DeviceId::from(1u32),
            Some((pre_id, one_time.public_key)),
            signed_id,
            signed.public_key,
            signature.to_vec(),
            *self.identities.identity.identity_key(),
        )
        .unwrap()
    }

    fn encrypt(&mut self, to: &ProtocolAddress, plaintext: &[u8]) -> CiphertextMessage {
        pollster::block_on(message_encrypt(plaintext, to, &mut self.sessions, &mut self.identities))
            .unwrap()
    }

    fn decrypt(&mut self, from: &ProtocolAddress, m: &CiphertextMessage, rng: &mut StdRng) -> Vec<u8> {
        pollster::block_on(message_decrypt(
            m,
            from,
            &mut self.sessions,
            &mut self.identities,
            &mut self.pre_keys,
            &self.signed,
            rng,
            UsePQRatchet::No,
        ))
        .unwrap()
        .plaintext
    }
}

#[async_trait]
impl IdentityKeyStore for Identities {
    async fn get_identity_key_pair(&self) -> Result<IdentityKeyPair> {
        Ok(self.identity.clone())
    }
    async fn get_local_registration_id(&self) -> Result<u32> {
        Ok(self.registration_id)
    }
    async fn save_identity(&mut self, a: &ProtocolAddress, k: &IdentityKey) -> Result<IdentityChange> {
        let changed = self.known.insert(a.clone(), *k).is_some_and(|old| &old != k);
        Ok(IdentityChange::from_changed(changed))
    }
    async fn is_trusted_identity(&self, _: &ProtocolAddress, _: &IdentityKey, _: Direction) -> Result<bool> {
        Ok(true)
    }
    async fn get_identity(&self, a: &ProtocolAddress) -> Result<Option<IdentityKey>> {
        Ok(self.known.get(a).copied())
    }
}

#[async_trait]
impl PreKeyStore for PreKeys {
    async fn get_pre_key(&self, id: PreKeyId) -> Result<PreKeyRecord> {
        self.0.get(&id).cloned().ok_or(SignalProtocolError::InvalidPreKeyId)
    }
    async fn save_pre_key(&mut self, id: PreKeyId, r: &PreKeyRecord) -> Result<()> {
        self.0.insert(id, r.clone());
        Ok(())
    }
    async fn remove_pre_key(&mut self, id: PreKeyId) -> Result<()> {
        self.0.remove(&id);
        Ok(())
    }
}

#[async_trait]
impl SignedPreKeyStore for SignedPreKeys {
    async fn get_signed_pre_key(&self, id: SignedPreKeyId) -> Result<SignedPreKeyRecord> {
        self.0.get(&id).cloned().ok_or(SignalProtocolError::InvalidSignedPreKeyId)
    }
    async fn save_signed_pre_key(&mut self, id: SignedPreKeyId, r: &SignedPreKeyRecord) -> Result<()> {
        self.0.insert(id, r.clone());
        Ok(())
    }
}

#[async_trait]
impl SessionStore for Sessions {
    async fn load_session(&self, a: &ProtocolAddress) -> Result<Option<SessionRecord>> {
        Ok(self.0.get(a).cloned())
    }
    async fn has_session(&self, a: &ProtocolAddress) -> Result<bool> {
        Ok(self.0.contains_key(a))
    }
    async fn store_session(&mut self, a: &ProtocolAddress, r: SessionRecord) -> Result<()> {
        self.0.insert(a.clone(), r);
        Ok(())
    }
}

#[async_trait]
impl SenderKeyStore for SenderKeys {
    async fn store_sender_key(&mut self, n: &SenderKeyName, r: SenderKeyRecord) -> Result<()> {
        self.0.insert(n.clone(), r);
        Ok(())
    }
    async fn load_sender_key(&self, n: &SenderKeyName) -> Result<Option<SenderKeyRecord>> {
        Ok(self.0.get(n).cloned())
    }
}

fn session(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(1);
    let mut alice = Party::new(&mut rng, 1);
    let mut bob = Party::new(&mut rng, 2);
    let alice_addr = ProtocolAddress::new("alice", DeviceId::from(1u32));
    let bob_addr = ProtocolAddress::new("bob", DeviceId::from(1u32));
    let bundle = bob.bundle(&mut rng);
    pollster::block_on(process_prekey_bundle(
        &bob_addr,
        &mut alice.sessions,
        &mut alice.identities,
        &bundle,
        &mut rng,
        UsePQRatchet::No,
    ))
    .unwrap();
    // One round trip so both sides send plain messages.
    let first = alice.encrypt(&bob_addr, PLAINTEXT);
    bob.decrypt(&alice_addr, &first, &mut rng);
    let reply = bob.encrypt(&alice_addr, PLAINTEXT);
    alice.decrypt(&bob_addr, &reply, &mut rng);

    c.bench_function("session/encrypt+decrypt", |b| {
        b.iter(|| {
            let m = alice.encrypt(&bob_addr, black_box(PLAINTEXT));
            black_box(bob.decrypt(&alice_addr, &m, &mut rng))
        })
    });

    let mut fresh = Party::new(&mut rng, 3);
    c.bench_function("session/x3dh_initiate", |b| {
        b.iter(|| {
            fresh.sessions.0.clear();
            pollster::block_on(process_prekey_bundle(
                &bob_addr,
                &mut fresh.sessions,
                &mut fresh.identities,
                black_box(&bundle),
                &mut rng,
                UsePQRatchet::No,
            ))
            .unwrap()
        })
    });
}

fn sender_keys(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(2);
    let mut ours = SenderKeys::default();
    let mut theirs = SenderKeys::default();
    let name = SenderKeyName::new("120363@g.us".to_string(), "alice.1".to_string());
    let skdm =
        pollster::block_on(create_sender_key_distribution_message(&name, &mut ours, &mut rng)).unwrap();
    pollster::block_on(process_sender_key_distribution_message(&name, &skdm, &mut theirs)).unwrap();
    c.bench_function("group/encrypt", |b| {
        b.iter(|| {
            black_box(
                pollster::block_on(group_encrypt(&mut ours, &name, black_box(PLAINTEXT), &mut rng))
                    .unwrap(),
            )
        })
    });
    // A separate sender for decryption, so the receiver never falls 2,000 iterations behind.
    let mut sender = SenderKeys::default();
    let name2 = SenderKeyName::new("120363@g.us".to_string(), "carol.1".to_string());
    let skdm2 =
        pollster::block_on(create_sender_key_distribution_message(&name2, &mut sender, &mut rng)).unwrap();
    pollster::block_on(process_sender_key_distribution_message(&name2, &skdm2, &mut theirs)).unwrap();
    c.bench_function("group/decrypt", |b| {
        b.iter_batched(
            || {
                pollster::block_on(group_encrypt(&mut sender, &name2, PLAINTEXT, &mut rng))
                    .unwrap()
                    .serialized()
                    .to_vec()
            },
            |bytes| black_box(pollster::block_on(group_decrypt(&bytes, &mut theirs, &name2)).unwrap()),
            BatchSize::SmallInput,
        )
    });
    // A sender never seen before: its distribution, then its first 3 or 8 messages.
    let mut next_sender = 0u64;
    for count in [3usize, 8] {
        c.bench_function(&format!("group/new_sender_{count}_messages"), |b| {
            b.iter_batched(
                || {
                    next_sender += 1;
                    let name = SenderKeyName::new("120365@g.us".to_string(), format!("s{next_sender}.0"));
                    let mut sender = SenderKeys::default();
                    let skdm = pollster::block_on(create_sender_key_distribution_message(
                        &name,
                        &mut sender,
                        &mut rng,
                    ))
                    .unwrap();
                    let messages: Vec<Vec<u8>> = (0..count)
                        .map(|_| {
                            pollster::block_on(group_encrypt(&mut sender, &name, PLAINTEXT, &mut rng))
                                .unwrap()
                                .serialized()
                                .to_vec()
                        })
                        .collect();
                    (name, skdm, messages)
                },
                |(name, skdm, messages)| {
                    let mut receiver = SenderKeys::default();
                    pollster::block_on(process_sender_key_distribution_message(&name, &skdm, &mut receiver))
                        .unwrap();
                    for bytes in &messages {
                        black_box(pollster::block_on(group_decrypt(bytes, &mut receiver, &name)).unwrap());
                    }
                },
                BatchSize::SmallInput,
            )
        });
    }
}

criterion_group!(benches, session, sender_keys);
criterion_main!(benches);
