//! Shared helpers for wa-signal integration tests.
#![allow(dead_code, missing_docs)]

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use wa_signal::{
    CiphertextMessage, IdentityKeyPair, PreKeyBundle, PreKeyRecord, SessionRecord, SignalError,
    SignedPreKeyRecord,
    wire::{PreKeySignalMessage, SignalMessage},
};

pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

#[derive(Debug)]
pub struct Party {
    pub identity: IdentityKeyPair,
    pub registration_id: u32,
    pub signed: SignedPreKeyRecord,
    pub one_time: Vec<PreKeyRecord>,
    pub record: SessionRecord,
    pub rng: ChaCha20Rng,
}

impl Party {
    pub fn new(seed: u64) -> Self {
        let mut rng = rng(seed);
        let identity = IdentityKeyPair::generate(&mut rng);
        let registration_id = wa_signal::generate_registration_id(&mut rng);
        let signed = SignedPreKeyRecord::generate(1, &identity, &mut rng);
        let one_time = (1..=5)
            .map(|id| PreKeyRecord::generate(id, &mut rng))
            .collect();
        Self {
            identity,
            registration_id,
            signed,
            one_time,
            record: SessionRecord::new(),
            rng,
        }
    }

    pub fn bundle(&self, with_one_time: bool) -> PreKeyBundle {
        PreKeyBundle {
            registration_id: self.registration_id,
            identity_key: *self.identity.public(),
            signed_pre_key_id: self.signed.id,
            signed_pre_key: self.signed.key_pair.public,
            signed_pre_key_signature: self.signed.signature.to_vec(),
            pre_key: with_one_time
                .then(|| self.one_time.first().map(|p| (p.id, p.key_pair.public)))
                .flatten(),
        }
    }

    pub fn start_with(&mut self, bundle: &PreKeyBundle) {
        self.record
            .initiate(&self.identity, self.registration_id, bundle, &mut self.rng)
            .unwrap();
    }

    pub fn encrypt(&mut self, text: &[u8]) -> Wire {
        let m = self.record.encrypt(text).unwrap();
        Wire {
            pkmsg: is_pkmsg(&m),
            bytes: m.serialized().to_vec(),
        }
    }

    /// Decrypts either kind of message, the way a client does with the `type` attribute.
    pub fn decrypt(&mut self, wire: &Wire) -> Result<Vec<u8>, SignalError> {
        if wire.pkmsg {
            let pk = PreKeySignalMessage::parse(&wire.bytes)?;
            let one_time = pk
                .pre_key_id()
                .and_then(|id| self.one_time.iter().find(|p| p.id == id).cloned());
            let signed = self.signed.clone();
            let out = self.record.decrypt_pre_key(
                &self.identity,
                self.registration_id,
                &pk,
                Some(&signed),
                one_time.as_ref(),
                &mut self.rng,
            )?;
            if let Some(id) = out.consumed_pre_key_id {
                self.one_time.retain(|p| p.id != id);
            }
            return Ok(out.plaintext);
        }
        let msg = SignalMessage::parse(&wire.bytes)?;
        self.record.decrypt(&msg, &mut self.rng)
    }
}

/// A message as it travels: its bytes and whether the `type` attribute says `pkmsg`.
#[derive(Clone, Debug)]
pub struct Wire {
    pub pkmsg: bool,
    pub bytes: Vec<u8>,
}

pub fn wire_bytes(m: CiphertextMessage) -> Vec<u8> {
    m.serialized().to_vec()
}

/// Tags a message as pkmsg (true) or msg (false) so decrypt picks the right parser.
pub fn is_pkmsg(m: &CiphertextMessage) -> bool {
    matches!(m, CiphertextMessage::PreKey(_))
}
