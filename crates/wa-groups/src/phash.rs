//! The participant list hash (`phash`) a client puts on group message stanzas so the server
//! can tell whether the sender's view of the group's devices is current.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use sha2::{Digest, Sha256};
use wa_binary::Jid;

/// The version-2 participant hash of a set of device JIDs, as whatsmeow computes it:
/// each device written as `user.agent:device@server`, the strings sorted and concatenated,
/// SHA-256, and `"2:"` followed by the unpadded base64 of the first 6 bytes (8 characters).
///
/// The order of `devices` does not matter; duplicates count twice, as in whatsmeow.
pub fn participant_hash_v2<'a>(devices: impl IntoIterator<Item = &'a Jid>) -> String {
    let mut parts: Vec<String> = devices
        .into_iter()
        .map(|j| format!("{}.{}:{}@{}", j.user(), j.agent(), j.device(), j.server()))
        .collect();
    parts.sort_unstable();
    let mut h = Sha256::new();
    for p in &parts {
        h.update(p.as_bytes());
    }
    let digest = h.finalize();
    let prefix = digest.get(..6).unwrap_or_default();
    format!("2:{}", STANDARD_NO_PAD.encode(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jid(s: &str) -> Jid {
        s.parse().unwrap()
    }

    #[test]
    fn matches_reference_values() {
        // Reference values computed independently (Python hashlib/base64) from the same rule.
        let devices = [
            jid("4915:3@s.whatsapp.net"),
            jid("100@lid"),
            jid("4915@s.whatsapp.net"),
            jid("100:2@lid"),
        ];
        assert_eq!(participant_hash_v2(&devices), "2:CZ9XF1nq");
        let mut reversed = devices.clone();
        reversed.reverse();
        assert_eq!(participant_hash_v2(&reversed), "2:CZ9XF1nq");
        assert_eq!(participant_hash_v2(&[]), "2:47DEQpj8");
        assert_ne!(participant_hash_v2(&devices[..3]), "2:CZ9XF1nq");
    }
}
