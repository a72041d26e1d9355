//! (De)serialization of session records with our protobuf schema (`wa.records`).

use prost::Message as _;
use wa_proto::records as pb;
use zeroize::Zeroize;

use super::SessionRecord;
use super::chain::{ChainKey, MessageKeys, RootKey};
use super::state::{MAX_RECEIVER_CHAINS, PendingPreKey, ReceiverChain, SenderChain, SessionState};
use crate::error::{Result, SignalError};
use crate::keys::{KeyPair, PrivateKey, PublicKey};

/// Longest serialized record accepted (keeps a corrupt store from costing unbounded memory).
pub const MAX_RECORD_LEN: usize = 4 * 1024 * 1024;

fn bad(what: &'static str) -> SignalError {
    SignalError::InvalidRecord(what)
}

fn arr<const N: usize>(bytes: &[u8], what: &'static str) -> Result<[u8; N]> {
    bytes.try_into().map_err(|_| bad(what))
}

fn public(bytes: &[u8], what: &'static str) -> Result<PublicKey> {
    PublicKey::from_bytes(bytes).map_err(|_| bad(what))
}

fn chain_to_pb(c: &ChainKey) -> pb::ChainKey {
    pb::ChainKey {
        index: c.index,
        key: c.key.to_vec(),
    }
}

fn chain_from_pb(c: Option<&pb::ChainKey>) -> Result<ChainKey> {
    let c = c.ok_or(bad("missing chain key"))?;
    Ok(ChainKey {
        index: c.index,
        key: arr(&c.key, "chain key length")?,
    })
}

fn state_to_pb(s: &SessionState) -> pb::SessionState {
    pb::SessionState {
        version: s.version,
        local_identity_public: s.local_identity.serialize().to_vec(),
        remote_identity_public: s.remote_identity.serialize().to_vec(),
        root_key: s.root_key.0.to_vec(),
        previous_counter: s.previous_counter,
        sender_chain: Some(pb::SenderChain {
            ratchet_public: s.sender.ratchet.public.serialize().to_vec(),
            ratchet_private: s.sender.ratchet.private.as_bytes().to_vec(),
            chain_key: Some(chain_to_pb(&s.sender.chain)),
        }),
        receiver_chains: s
            .receivers
            .iter()
            .map(|r| pb::ReceiverChain {
                ratchet_public: r.ratchet.serialize().to_vec(),
                chain_key: Some(chain_to_pb(&r.chain)),
                message_keys: r
                    .skipped
                    .iter()
                    .map(|k| pb::MessageKeys {
                        index: k.index,
                        cipher_key: k.cipher_key.to_vec(),
                        mac_key: k.mac_key.to_vec(),
                        iv: k.iv.to_vec(),
                    })
                    .collect(),
            })
            .collect(),
        pending_pre_key: s.pending_pre_key.as_ref().map(|p| pb::PendingPreKey {
            pre_key_id: p.pre_key_id,
            signed_pre_key_id: p.signed_pre_key_id,
            base_key: p.base_key.serialize().to_vec(),
        }),
        remote_registration_id: s.remote_registration_id,
        local_registration_id: s.local_registration_id,
        base_key: s.base_key.serialize().to_vec(),
    }
}

fn state_from_pb(p: &pb::SessionState) -> Result<SessionState> {
    if p.version != 3 {
        return Err(bad("unsupported session version"));
    }
    let sender = p.sender_chain.as_ref().ok_or(bad("missing sender chain"))?;
    // The stored public half is trusted as written (deriving it again costs a base-point
    // multiplication per state on every load); a corrupt pair only makes MACs fail.
    let ratchet = KeyPair {
        public: public(&sender.ratchet_public, "ratchet public key")?,
        private: PrivateKey::from_bytes(arr(&sender.ratchet_private, "ratchet private key")?),
    };
    if p.receiver_chains.len() > MAX_RECEIVER_CHAINS {
        return Err(bad("too many receiver chains"));
    }
    let receivers = p
        .receiver_chains
        .iter()
        .map(|r| {
            Ok(ReceiverChain {
                ratchet: public(&r.ratchet_public, "receiver ratchet key")?,
                chain: chain_from_pb(r.chain_key.as_ref())?,
                skipped: r
                    .message_keys
                    .iter()
                    .map(|k| {
                        Ok(MessageKeys {
                            index: k.index,
                            cipher_key: arr(&k.cipher_key, "cipher key length")?,
                            mac_key: arr(&k.mac_key, "mac key length")?,
                            iv: arr(&k.iv, "iv length")?,
                        })
                    })
                    .collect::<Result<_>>()?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut root = arr::<32>(&p.root_key, "root key length")?;
    let root_key = RootKey(root);
    root.zeroize();
    let mut state = SessionState {
        version: p.version,
        local_identity: public(&p.local_identity_public, "local identity")?,
        remote_identity: public(&p.remote_identity_public, "remote identity")?,
        root_key,
        previous_counter: p.previous_counter,
        sender: SenderChain {
            ratchet,
            chain: chain_from_pb(sender.chain_key.as_ref())?,
        },
        receivers,
        pending_pre_key: p
            .pending_pre_key
            .as_ref()
            .map(|pp| {
                Ok::<_, SignalError>(PendingPreKey {
                    pre_key_id: pp.pre_key_id,
                    signed_pre_key_id: pp.signed_pre_key_id,
                    base_key: public(&pp.base_key, "pending base key")?,
                })
            })
            .transpose()?,
        remote_registration_id: p.remote_registration_id,
        local_registration_id: p.local_registration_id,
        base_key: public(&p.base_key, "base key")?,
    };
    state.enforce_key_caps();
    Ok(state)
}

impl SessionRecord {
    /// Serializes the record (protobuf `wa.records.SessionRecord`).
    pub fn serialize(&self) -> Vec<u8> {
        pb::SessionRecord {
            current: self.current.as_ref().map(state_to_pb),
            previous: self.previous.iter().map(state_to_pb).collect(),
        }
        .encode_to_vec()
    }

    /// Parses a record written by [`SessionRecord::serialize`].
    pub fn deserialize(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_RECORD_LEN {
            return Err(bad("record too large"));
        }
        let p = pb::SessionRecord::decode(bytes).map_err(|_| bad("SessionRecord protobuf"))?;
        let current = p.current.as_ref().map(state_from_pb).transpose()?;
        let mut previous = p
            .previous
            .iter()
            .map(state_from_pb)
            .collect::<Result<std::collections::VecDeque<_>>>()?;
        previous.truncate(super::MAX_ARCHIVED_STATES);
        Ok(Self { current, previous })
    }
}
