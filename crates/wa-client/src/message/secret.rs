//! Message secrets: the 32 random bytes a poll (or event, …) carries in
//! `messageContextInfo.messageSecret`, and the add-ons encrypted with keys derived from it.
//!
//! A vote on a poll is not readable by the server: the voter derives a key from the poll's
//! secret with HKDF-SHA256 (empty salt), the info being the poll's message id, the poll
//! creator's JID, the voter's JID (both without device) and a use-case label (`Poll Vote`),
//! and seals the vote with AES-256-GCM under a 12-byte random IV. For poll votes and event
//! responses the additional data is `"{id}\0{voter}"`; other use cases have none
//! (whatsmeow `msgsecret.go`, Baileys `decryptPollVote`).

use hkdf::Hkdf;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use sha2::Sha256;
use wa_binary::Jid;

use crate::error::ContentError;

/// Length of a message secret.
pub const SECRET_LEN: usize = 32;
/// Length of the AES-GCM IV.
pub const IV_LEN: usize = 12;

/// What an encrypted add-on is for; each has its own HKDF label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SecretUseCase {
    /// A poll vote (`PollUpdateMessage.vote`).
    PollVote,
    /// A reaction in a community announcement group (`EncReactionMessage`).
    EncReaction,
    /// A comment in a community announcement group (`EncCommentMessage`).
    EncComment,
    /// A report token.
    ReportToken,
    /// An answer to an event (`EncEventResponseMessage`).
    EventResponse,
    /// An edit of an event (`SecretEncryptedMessage` of type `EVENT_EDIT`).
    EventEdit,
}

impl SecretUseCase {
    /// The label mixed into the key derivation.
    pub fn label(self) -> &'static str {
        match self {
            Self::PollVote => "Poll Vote",
            Self::EncReaction => "Enc Reaction",
            Self::EncComment => "Enc Comment",
            Self::ReportToken => "Report Token",
            Self::EventResponse => "Event Response",
            Self::EventEdit => "Event Edit",
        }
    }

    /// Whether the AES-GCM additional data binds the message id and the modifier.
    fn has_aad(self) -> bool {
        matches!(self, Self::PollVote | Self::EventResponse)
    }
}

/// Which original message an add-on refers to, and who writes the add-on.
#[derive(Debug, Clone, Copy)]
pub struct SecretContext<'a> {
    /// What the add-on is.
    pub use_case: SecretUseCase,
    /// The original message's id (the poll's id).
    pub original_id: &'a str,
    /// Who sent the original message (the poll's creator); the device part is ignored.
    pub original_sender: &'a Jid,
    /// Who writes the add-on (the voter); the device part is ignored.
    pub modifier: &'a Jid,
}

impl SecretContext<'_> {
    /// The AES-256 key and the additional data for this context under `secret`.
    pub fn derive(&self, secret: &[u8]) -> Result<([u8; 32], Vec<u8>), ContentError> {
        if secret.is_empty() {
            return Err(ContentError::MissingSecret);
        }
        let original_sender = self.original_sender.to_non_ad().to_string();
        let modifier = self.modifier.to_non_ad().to_string();
        let label = self.use_case.label();
        let mut info = Vec::with_capacity(
            self.original_id.len() + original_sender.len() + modifier.len() + label.len(),
        );
        info.extend_from_slice(self.original_id.as_bytes());
        info.extend_from_slice(original_sender.as_bytes());
        info.extend_from_slice(modifier.as_bytes());
        info.extend_from_slice(label.as_bytes());
        let mut key = [0u8; 32];
        Hkdf::<Sha256>::new(None, secret)
            .expand(&info, &mut key)
            .map_err(|_| ContentError::Random("HKDF output length".into()))?;
        let aad = if self.use_case.has_aad() {
            let mut aad = Vec::with_capacity(self.original_id.len() + 1 + modifier.len());
            aad.extend_from_slice(self.original_id.as_bytes());
            aad.push(0);
            aad.extend_from_slice(modifier.as_bytes());
            aad
        } else {
            Vec::new()
        };
        Ok((key, aad))
    }

    /// Seals `plaintext` under the key derived from `secret`, with the given IV.
    pub fn encrypt(
        &self,
        secret: &[u8],
        iv: &[u8; IV_LEN],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, ContentError> {
        let (key, aad) = self.derive(secret)?;
        let key = aes_key(&key)?;
        let mut buf = plaintext.to_vec();
        key.seal_in_place_append_tag(Nonce::assume_unique_for_key(*iv), Aad::from(aad), &mut buf)
            .map_err(|_| ContentError::Decrypt)?;
        Ok(buf)
    }

    /// Opens `ciphertext` (with its 16-byte tag) sealed under the key derived from `secret`.
    pub fn decrypt(
        &self,
        secret: &[u8],
        iv: &[u8],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, ContentError> {
        let iv: [u8; IV_LEN] = iv.try_into().map_err(|_| ContentError::BadIv(iv.len()))?;
        let (key, aad) = self.derive(secret)?;
        let key = aes_key(&key)?;
        let mut buf = ciphertext.to_vec();
        let plain_len = key
            .open_in_place(Nonce::assume_unique_for_key(iv), Aad::from(aad), &mut buf)
            .map_err(|_| ContentError::Decrypt)?
            .len();
        buf.truncate(plain_len);
        Ok(buf)
    }
}

fn aes_key(key: &[u8; 32]) -> Result<LessSafeKey, ContentError> {
    UnboundKey::new(&AES_256_GCM, key)
        .map(LessSafeKey::new)
        .map_err(|_| ContentError::Decrypt)
}

/// Fresh random bytes from the OS (for a new message secret or IV).
pub fn random_bytes<const N: usize>() -> Result<[u8; N], ContentError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|e| ContentError::Random(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, KeyInit, Mac};

    fn jid(s: &str) -> Jid {
        s.parse().unwrap()
    }

    /// Baileys spells the derivation out as two HMACs (HKDF extract with a zero salt, then
    /// one expand block); ours must agree.
    #[test]
    fn key_matches_the_two_hmac_form() {
        let secret = [9u8; 32];
        let creator = jid("111@s.whatsapp.net");
        let voter = jid("222:3@s.whatsapp.net");
        let ctx = SecretContext {
            use_case: SecretUseCase::PollVote,
            original_id: "3EB0AA",
            original_sender: &creator,
            modifier: &voter,
        };
        let (key, aad) = ctx.derive(&secret).unwrap();

        let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(&[0u8; 32]).unwrap();
        m.update(&secret);
        let prk = m.finalize().into_bytes();
        let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(&prk).unwrap();
        m.update(b"3EB0AA111@s.whatsapp.net222@s.whatsapp.netPoll Vote\x01");
        let expected = m.finalize().into_bytes();
        assert_eq!(&key[..], &expected[..]);
        // The voter's device is dropped in the AAD too.
        assert_eq!(aad, b"3EB0AA\x00222@s.whatsapp.net");
    }

    #[test]
    fn round_trip_and_binding() {
        let secret = [1u8; 32];
        let creator = jid("111@s.whatsapp.net");
        let voter = jid("222@lid");
        let other = jid("333@lid");
        let ctx = SecretContext {
            use_case: SecretUseCase::PollVote,
            original_id: "ID1",
            original_sender: &creator,
            modifier: &voter,
        };
        let iv = [7u8; 12];
        let sealed = ctx.encrypt(&secret, &iv, b"vote").unwrap();
        assert_eq!(sealed.len(), 4 + 16);
        assert_eq!(ctx.decrypt(&secret, &iv, &sealed).unwrap(), b"vote");

        // Another voter, another id, another secret, a flipped bit, a bad IV: all refused.
        let wrong_voter = SecretContext {
            modifier: &other,
            ..ctx
        };
        assert_eq!(
            wrong_voter.decrypt(&secret, &iv, &sealed),
            Err(ContentError::Decrypt)
        );
        let wrong_id = SecretContext {
            original_id: "ID2",
            ..ctx
        };
        assert_eq!(
            wrong_id.decrypt(&secret, &iv, &sealed),
            Err(ContentError::Decrypt)
        );
        assert_eq!(
            ctx.decrypt(&[2u8; 32], &iv, &sealed),
            Err(ContentError::Decrypt)
        );
        let mut flipped = sealed.clone();
        flipped[0] ^= 1;
        assert_eq!(
            ctx.decrypt(&secret, &iv, &flipped),
            Err(ContentError::Decrypt)
        );
        assert_eq!(
            ctx.decrypt(&secret, &iv[..11], &sealed),
            Err(ContentError::BadIv(11))
        );
        assert_eq!(ctx.decrypt(&secret, &iv, &[]), Err(ContentError::Decrypt));
        assert_eq!(
            ctx.decrypt(&[], &iv, &sealed),
            Err(ContentError::MissingSecret)
        );
    }

    #[test]
    fn reactions_have_no_aad_and_their_own_label() {
        let a = jid("1@s.whatsapp.net");
        let b = jid("2@s.whatsapp.net");
        let vote = SecretContext {
            use_case: SecretUseCase::PollVote,
            original_id: "X",
            original_sender: &a,
            modifier: &b,
        };
        let reaction = SecretContext {
            use_case: SecretUseCase::EncReaction,
            ..vote
        };
        let (k1, _) = vote.derive(&[3; 32]).unwrap();
        let (k2, aad) = reaction.derive(&[3; 32]).unwrap();
        assert_ne!(k1, k2);
        assert!(aad.is_empty());
    }

    #[test]
    fn random_bytes_differ() {
        let a: [u8; 32] = random_bytes().unwrap();
        let b: [u8; 32] = random_bytes().unwrap();
        assert_ne!(a, b);
    }
}
