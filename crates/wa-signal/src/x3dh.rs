//! X3DH: the shared secret that starts a session, from a prekey bundle (initiator) or from a
//! `PreKeySignalMessage` (responder).

use rand_core::CryptoRng;
use zeroize::Zeroize;

use crate::crypto::hkdf;
use crate::error::{Result, SignalError};
use crate::keys::{IdentityKeyPair, KeyPair, PublicKey};
use crate::prekeys::{PreKeyBundle, PreKeyRecord, SignedPreKeyRecord};
use crate::session::chain::{ChainKey, RootKey, split_64};
use crate::session::state::{PendingPreKey, ReceiverChain, SenderChain, SessionState};
use crate::wire::{CIPHERTEXT_VERSION, PreKeySignalMessage};

fn derive(agreements: &[[u8; 32]]) -> (RootKey, ChainKey) {
    let mut secret = Vec::with_capacity(32 * (agreements.len() + 1));
    secret.extend_from_slice(&[0xFF; 32]);
    for a in agreements {
        secret.extend_from_slice(a);
    }
    let mut okm: [u8; 64] = hkdf(&secret, None, b"WhisperText");
    secret.zeroize();
    let (root, chain) = split_64(&okm);
    okm.zeroize();
    (
        RootKey(root),
        ChainKey {
            index: 0,
            key: chain,
        },
    )
}

/// Starts a session as the initiator ("Alice") from the peer's bundle.
pub(crate) fn initiate<R: CryptoRng + ?Sized>(
    identity: &IdentityKeyPair,
    local_registration_id: u32,
    bundle: &PreKeyBundle,
    rng: &mut R,
) -> Result<SessionState> {
    bundle.verify()?;
    let base = KeyPair::generate(rng);
    let mut agreements = vec![
        identity.private().agree(&bundle.signed_pre_key),
        base.private.agree(&bundle.identity_key),
        base.private.agree(&bundle.signed_pre_key),
    ];
    if let Some((_, one_time)) = &bundle.pre_key {
        agreements.push(base.private.agree(one_time));
    }
    let (root, chain) = derive(&agreements);
    agreements.iter_mut().for_each(Zeroize::zeroize);

    let ratchet = KeyPair::generate(rng);
    let (root, sending) = root.create_chain(&bundle.signed_pre_key, &ratchet.private);
    Ok(SessionState {
        version: u32::from(CIPHERTEXT_VERSION),
        local_identity: *identity.public(),
        remote_identity: bundle.identity_key,
        root_key: root,
        previous_counter: 0,
        sender: SenderChain {
            ratchet,
            chain: sending,
        },
        receivers: vec![ReceiverChain {
            ratchet: bundle.signed_pre_key,
            chain,
            skipped: Vec::new(),
        }],
        pending_pre_key: Some(PendingPreKey {
            pre_key_id: bundle.pre_key.as_ref().map(|(id, _)| *id),
            signed_pre_key_id: bundle.signed_pre_key_id,
            base_key: base.public,
        }),
        remote_registration_id: bundle.registration_id,
        local_registration_id,
        base_key: base.public,
    })
}

/// Starts a session as the responder ("Bob") from an incoming `PreKeySignalMessage`.
pub(crate) fn respond(
    identity: &IdentityKeyPair,
    local_registration_id: u32,
    message: &PreKeySignalMessage,
    signed_pre_key: &SignedPreKeyRecord,
    one_time_pre_key: Option<&PreKeyRecord>,
) -> Result<SessionState> {
    if signed_pre_key.id != message.signed_pre_key_id() {
        return Err(SignalError::InvalidKeyId(message.signed_pre_key_id()));
    }
    let one_time = match (message.pre_key_id(), one_time_pre_key) {
        (None, _) => None,
        (Some(id), Some(pk)) if pk.id == id => Some(pk),
        (Some(id), _) => return Err(SignalError::InvalidKeyId(id)),
    };
    let their_base: &PublicKey = message.base_key();
    let their_identity = message.identity_key();
    let mut agreements = vec![
        signed_pre_key.key_pair.private.agree(their_identity),
        identity.private().agree(their_base),
        signed_pre_key.key_pair.private.agree(their_base),
    ];
    if let Some(pk) = one_time {
        agreements.push(pk.key_pair.private.agree(their_base));
    }
    let (root, chain) = derive(&agreements);
    agreements.iter_mut().for_each(Zeroize::zeroize);
    Ok(SessionState {
        version: u32::from(CIPHERTEXT_VERSION),
        local_identity: *identity.public(),
        remote_identity: *their_identity,
        root_key: root,
        previous_counter: 0,
        sender: SenderChain {
            ratchet: signed_pre_key.key_pair.clone(),
            chain,
        },
        receivers: Vec::new(),
        pending_pre_key: None,
        remote_registration_id: message.registration_id(),
        local_registration_id,
        base_key: *their_base,
    })
}
