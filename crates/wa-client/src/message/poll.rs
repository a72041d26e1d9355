//! Polls: creation (with a fresh message secret), votes encrypted with that secret, their
//! decryption, and a tally that maps the voted option hashes back to option names.
//!
//! A vote names options by the SHA-256 of their names and is sealed with a key derived from
//! the poll's message secret (see [`secret`](super::secret)), so only members who received
//! the poll can count it. A voter's latest vote replaces their earlier ones; an empty vote
//! withdraws it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use wa_binary::{Jid, Server};
use wa_proto::prost::Message as _;
use wa_proto::proto::message::poll_creation_message::Option as PollOption;
use wa_proto::proto::message::{
    PollCreationMessage, PollEncValue, PollUpdateMessage, PollVoteMessage,
};
use wa_proto::proto::{Message, MessageContextInfo, MessageKey};

use super::secret::{IV_LEN, SECRET_LEN, SecretContext, SecretUseCase};
use crate::error::ContentError;

/// The SHA-256 of an option name: how a vote names the option.
pub fn option_hash(name: &str) -> [u8; 32] {
    Sha256::digest(name.as_bytes()).into()
}

/// Builds a poll creation message carrying `secret` in `messageContextInfo.messageSecret`.
///
/// `selectable` is how many options a voter may pick (0 means any number). As WhatsApp does,
/// single-choice polls (`selectable == 1`) go in `pollCreationMessageV3`, others in
/// `pollCreationMessage`. At least two options are needed, all different and non-empty.
pub fn poll_creation<S: AsRef<str>>(
    name: &str,
    options: &[S],
    selectable: u32,
    secret: [u8; SECRET_LEN],
) -> Result<Message, ContentError> {
    let invalid = |why: String| ContentError::Invalid { what: "poll", why };
    if name.is_empty() {
        return Err(invalid("the poll has no name".into()));
    }
    if options.len() < 2 {
        return Err(invalid(format!(
            "{} option(s), at least 2 are needed",
            options.len()
        )));
    }
    let mut seen = std::collections::BTreeSet::new();
    for o in options {
        let o = o.as_ref();
        if o.is_empty() {
            return Err(invalid("an option is empty".into()));
        }
        if !seen.insert(o) {
            return Err(invalid(format!("option {o:?} appears twice")));
        }
    }
    if selectable as usize > options.len() {
        return Err(invalid(format!(
            "{selectable} selectable of {} options",
            options.len()
        )));
    }
    let poll = PollCreationMessage {
        name: Some(name.to_owned()),
        options: options
            .iter()
            .map(|o| PollOption {
                option_name: Some(o.as_ref().to_owned()),
                option_hash: None,
            })
            .collect(),
        selectable_options_count: Some(selectable),
        ..Default::default()
    };
    let mut message = Message {
        message_context_info: Some(MessageContextInfo {
            message_secret: Some(secret.to_vec()),
            ..Default::default()
        }),
        ..Default::default()
    };
    if selectable == 1 {
        message.poll_creation_message_v3 = Some(Box::new(poll));
    } else {
        message.poll_creation_message = Some(Box::new(poll));
    }
    Ok(message)
}

/// The poll creation inside a message, whichever version carries it (v1, v2, v3).
pub fn poll_of(message: &Message) -> Option<&PollCreationMessage> {
    message
        .poll_creation_message
        .as_deref()
        .or(message.poll_creation_message_v3.as_deref())
        .or(message.poll_creation_message_v2.as_deref())
}

/// The message secret a poll was sent with.
pub fn secret_of(message: &Message) -> Option<&[u8]> {
    message
        .message_context_info
        .as_ref()?
        .message_secret
        .as_deref()
        .filter(|s| !s.is_empty())
}

/// A poll someone votes on: where it is, its id and who created it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollRef {
    /// The chat the poll was sent in.
    pub chat: Jid,
    /// The poll message's id.
    pub id: String,
    /// Who created the poll (device part ignored).
    pub creator: Jid,
    /// Whether the voter also created the poll (same account).
    pub from_me: bool,
}

impl PollRef {
    /// The `MessageKey` of the poll as the voter names it.
    pub fn key(&self) -> MessageKey {
        MessageKey {
            remote_jid: Some(self.chat.to_string()),
            from_me: Some(self.from_me),
            id: Some(self.id.clone()),
            participant: matches!(self.chat.server(), Server::Group | Server::Broadcast)
                .then(|| self.creator.to_non_ad().to_string()),
        }
    }
}

fn vote_context<'a>(poll_id: &'a str, creator: &'a Jid, voter: &'a Jid) -> SecretContext<'a> {
    SecretContext {
        use_case: SecretUseCase::PollVote,
        original_id: poll_id,
        original_sender: creator,
        modifier: voter,
    }
}

/// Encrypts the selected option hashes as `voter`'s vote on the poll `poll_id` by `creator`.
pub fn encrypt_poll_vote(
    secret: &[u8],
    poll_id: &str,
    creator: &Jid,
    voter: &Jid,
    selected: &[[u8; 32]],
    iv: [u8; IV_LEN],
) -> Result<PollEncValue, ContentError> {
    let vote = PollVoteMessage {
        selected_options: selected.iter().map(|h| h.to_vec()).collect(),
    };
    let payload =
        vote_context(poll_id, creator, voter).encrypt(secret, &iv, &vote.encode_to_vec())?;
    Ok(PollEncValue {
        enc_payload: Some(payload),
        enc_iv: Some(iv.to_vec()),
    })
}

/// Decrypts `voter`'s vote on the poll `poll_id` by `creator`: the selected option hashes.
pub fn decrypt_poll_vote(
    secret: &[u8],
    poll_id: &str,
    creator: &Jid,
    voter: &Jid,
    enc: &PollEncValue,
) -> Result<Vec<Vec<u8>>, ContentError> {
    let iv = enc.enc_iv.as_deref().unwrap_or_default();
    let payload = enc.enc_payload.as_deref().unwrap_or_default();
    let plain = vote_context(poll_id, creator, voter).decrypt(secret, iv, payload)?;
    let vote = PollVoteMessage::decode(plain.as_slice())
        .map_err(|e| ContentError::Protobuf(e.to_string()))?;
    Ok(vote.selected_options)
}

/// Builds `voter`'s vote for the options named `selected` on `poll` (sealed with the poll's
/// `secret`, `iv` fresh random bytes), as a message to send to the poll's chat.
pub fn poll_vote<S: AsRef<str>>(
    poll: &PollRef,
    voter: &Jid,
    secret: &[u8],
    selected: &[S],
    iv: [u8; IV_LEN],
    timestamp_ms: i64,
) -> Result<Message, ContentError> {
    let hashes: Vec<[u8; 32]> = selected.iter().map(|s| option_hash(s.as_ref())).collect();
    let vote = encrypt_poll_vote(secret, &poll.id, &poll.creator, voter, &hashes, iv)?;
    Ok(Message {
        poll_update_message: Some(PollUpdateMessage {
            poll_creation_message_key: Some(poll.key()),
            vote: Some(vote),
            metadata: None,
            sender_timestamp_ms: Some(timestamp_ms),
        }),
        ..Default::default()
    })
}

/// Who created the poll a received vote refers to, from the vote's poll key as whatsmeow
/// reads it: the voter's own account when `from_me`, the key's chat in a 1:1 chat, else the
/// key's participant.
pub fn poll_creator(key: &MessageKey, chat: &Jid, voter: &Jid) -> Result<Jid, ContentError> {
    let invalid = |why: &str| ContentError::Invalid {
        what: "poll key",
        why: why.to_owned(),
    };
    if key.from_me == Some(true) {
        return Ok(voter.to_non_ad());
    }
    let raw = if matches!(chat.server(), Server::User | Server::Lid) {
        key.remote_jid.as_deref()
    } else {
        key.participant.as_deref()
    };
    let raw = raw.ok_or_else(|| invalid("no creator JID"))?;
    let jid: Jid = raw.parse().map_err(|_| invalid("unparsable creator JID"))?;
    if !matches!(jid.server(), Server::User | Server::Lid) {
        return Err(invalid("the creator is not a user"));
    }
    Ok(jid.to_non_ad())
}

/// One option of a tallied poll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionResult {
    /// The option's name.
    pub name: String,
    /// Who voted for it (JIDs without device), sorted.
    pub voters: Vec<String>,
}

/// Counts a poll's votes: each voter's latest vote, hashes mapped back to option names.
#[derive(Debug, Clone, Default)]
pub struct PollTally {
    options: Vec<(String, [u8; 32])>,
    /// voter → (sender timestamp ms, selected hashes)
    votes: BTreeMap<String, (i64, Vec<Vec<u8>>)>,
}

impl PollTally {
    /// A tally for a poll with these option names.
    pub fn new<S: AsRef<str>>(options: &[S]) -> Self {
        Self {
            options: options
                .iter()
                .map(|o| (o.as_ref().to_owned(), option_hash(o.as_ref())))
                .collect(),
            votes: BTreeMap::new(),
        }
    }

    /// A tally for the poll in `message` (v1, v2 or v3).
    pub fn for_poll(message: &Message) -> Result<Self, ContentError> {
        let poll = poll_of(message).ok_or(ContentError::WrongKind("poll creation"))?;
        let names: Vec<&str> = poll
            .options
            .iter()
            .map(|o| o.option_name.as_deref().unwrap_or_default())
            .collect();
        Ok(Self::new(&names))
    }

    /// Records `voter`'s vote sent at `timestamp_ms`. An older vote than the one already
    /// recorded for that voter is ignored; an empty selection withdraws the vote.
    pub fn apply(&mut self, voter: &Jid, selected: Vec<Vec<u8>>, timestamp_ms: i64) {
        let voter = voter.to_non_ad().to_string();
        if let Some((ts, _)) = self.votes.get(&voter)
            && *ts > timestamp_ms
        {
            return;
        }
        self.votes.insert(voter, (timestamp_ms, selected));
    }

    /// Each option with its voters, in the poll's order.
    pub fn results(&self) -> Vec<OptionResult> {
        self.options
            .iter()
            .map(|(name, hash)| OptionResult {
                name: name.clone(),
                voters: self
                    .votes
                    .iter()
                    .filter(|(_, (_, sel))| sel.iter().any(|h| h.as_slice() == hash))
                    .map(|(v, _)| v.clone())
                    .collect(),
            })
            .collect()
    }

    /// How many selected hashes match no option (a vote for an option we do not know).
    pub fn unknown_selections(&self) -> usize {
        self.votes
            .values()
            .flat_map(|(_, sel)| sel)
            .filter(|h| !self.options.iter().any(|(_, o)| h.as_slice() == o))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jid(s: &str) -> Jid {
        s.parse().unwrap()
    }

    #[test]
    fn option_hash_is_sha256_of_the_name() {
        assert_eq!(
            hex::encode(option_hash("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn creation_picks_the_version_and_carries_the_secret() {
        let single = poll_creation("lunch?", &["pizza", "sushi"], 1, [5; 32]).unwrap();
        assert!(single.poll_creation_message.is_none());
        let p = single.poll_creation_message_v3.as_deref().unwrap();
        assert_eq!(p.name.as_deref(), Some("lunch?"));
        assert_eq!(p.selectable_options_count, Some(1));
        assert_eq!(p.options[1].option_name.as_deref(), Some("sushi"));
        assert_eq!(secret_of(&single), Some(&[5u8; 32][..]));

        let multi = poll_creation("lunch?", &["pizza", "sushi", "soup"], 0, [5; 32]).unwrap();
        assert!(multi.poll_creation_message_v3.is_none());
        assert_eq!(poll_of(&multi).unwrap().options.len(), 3);
        // Survives protobuf.
        let back = Message::decode(multi.encode_to_vec().as_slice()).unwrap();
        assert_eq!(back, multi);
    }

    #[test]
    fn creation_refuses_bad_polls() {
        for (name, opts, sel) in [
            ("", vec!["a", "b"], 0),
            ("q", vec!["a"], 0),
            ("q", vec!["a", "a"], 0),
            ("q", vec!["a", ""], 0),
            ("q", vec!["a", "b"], 3),
        ] {
            assert!(
                matches!(
                    poll_creation(name, &opts, sel, [0; 32]),
                    Err(ContentError::Invalid { what: "poll", .. })
                ),
                "{name:?} {opts:?} {sel}"
            );
        }
    }

    #[test]
    fn vote_round_trip_and_tally() {
        let creator = jid("111@s.whatsapp.net");
        let voter = jid("222:4@s.whatsapp.net");
        let poll_msg = poll_creation("q", &["yes", "no", "maybe"], 0, [8; 32]).unwrap();
        let poll = PollRef {
            chat: creator.clone(),
            id: "3EB0POLL".into(),
            creator: creator.clone(),
            from_me: false,
        };
        let vote = poll_vote(&poll, &voter, &[8; 32], &["yes", "maybe"], [1; 12], 1000).unwrap();
        let update = vote.poll_update_message.as_ref().unwrap();
        let key = update.poll_creation_message_key.as_ref().unwrap();
        assert_eq!(key.id.as_deref(), Some("3EB0POLL"));
        assert_eq!(key.participant, None);

        // The creator receives it in the chat with the voter and finds itself as creator.
        let found = poll_creator(key, &voter.to_non_ad(), &voter).unwrap();
        assert_eq!(found, creator);
        let enc = update.vote.as_ref().unwrap();
        let selected = decrypt_poll_vote(&[8; 32], "3EB0POLL", &found, &voter, enc).unwrap();
        assert_eq!(
            selected,
            vec![option_hash("yes").to_vec(), option_hash("maybe").to_vec()]
        );

        let mut tally = PollTally::for_poll(&poll_msg).unwrap();
        tally.apply(&voter, selected, 1000);
        tally.apply(
            &jid("333@s.whatsapp.net"),
            vec![option_hash("no").to_vec()],
            900,
        );
        let r = tally.results();
        assert_eq!(r[0].voters, vec!["222@s.whatsapp.net"]);
        assert_eq!(r[1].voters, vec!["333@s.whatsapp.net"]);
        assert_eq!(r[2].voters, vec!["222@s.whatsapp.net"]);
        // A later vote replaces, an older one is ignored, an empty one withdraws.
        tally.apply(&voter, vec![option_hash("no").to_vec()], 2000);
        tally.apply(&voter, vec![option_hash("yes").to_vec()], 1500);
        let r = tally.results();
        assert!(r[0].voters.is_empty());
        assert_eq!(r[1].voters.len(), 2);
        tally.apply(&jid("333@s.whatsapp.net"), vec![], 3000);
        assert_eq!(tally.results()[1].voters, vec!["222@s.whatsapp.net"]);
        tally.apply(&jid("444@lid"), vec![vec![0; 32]], 1);
        assert_eq!(tally.unknown_selections(), 1);

        // Wrong secret or another voter's identity: typed failure.
        assert_eq!(
            decrypt_poll_vote(&[9; 32], "3EB0POLL", &found, &voter, enc),
            Err(ContentError::Decrypt)
        );
        assert_eq!(
            decrypt_poll_vote(&[8; 32], "3EB0POLL", &found, &jid("9@s.whatsapp.net"), enc),
            Err(ContentError::Decrypt)
        );
        let no_iv = PollEncValue {
            enc_iv: None,
            ..enc.clone()
        };
        assert_eq!(
            decrypt_poll_vote(&[8; 32], "3EB0POLL", &found, &voter, &no_iv),
            Err(ContentError::BadIv(0))
        );
    }

    #[test]
    fn garbage_plaintext_is_a_protobuf_error() {
        let a = jid("1@s.whatsapp.net");
        let b = jid("2@s.whatsapp.net");
        let ctx = vote_context("ID", &a, &b);
        let sealed = ctx
            .encrypt(&[1; 32], &[0; 12], &[0xff, 0xff, 0xff])
            .unwrap();
        let enc = PollEncValue {
            enc_payload: Some(sealed),
            enc_iv: Some(vec![0; 12]),
        };
        assert!(matches!(
            decrypt_poll_vote(&[1; 32], "ID", &a, &b, &enc),
            Err(ContentError::Protobuf(_))
        ));
    }

    #[test]
    fn creator_from_key() {
        let me = jid("100:2@s.whatsapp.net");
        let group = jid("123-456@g.us");
        let own = MessageKey {
            from_me: Some(true),
            remote_jid: Some("200@s.whatsapp.net".into()),
            ..Default::default()
        };
        assert_eq!(
            poll_creator(&own, &jid("200@s.whatsapp.net"), &me).unwrap(),
            jid("100@s.whatsapp.net")
        );
        let in_group = PollRef {
            chat: group.clone(),
            id: "X".into(),
            creator: jid("300:1@lid"),
            from_me: false,
        }
        .key();
        assert_eq!(in_group.participant.as_deref(), Some("300@lid"));
        assert_eq!(
            poll_creator(&in_group, &group, &me).unwrap(),
            jid("300@lid")
        );
        let bad = MessageKey {
            participant: Some("123@g.us".into()),
            ..Default::default()
        };
        assert!(poll_creator(&bad, &group, &me).is_err());
        assert!(poll_creator(&MessageKey::default(), &group, &me).is_err());
    }
}
