//! Serde adapters for the event types: JIDs as strings (messages use [`crate::message::content::serde_message`]).

/// A [`Jid`](wa_binary::Jid) as its string form.
pub mod serde_jid {
    use serde::{Deserialize, Deserializer, Serializer};
    use wa_binary::Jid;

    /// Writes the JID's string form.
    pub fn serialize<S: Serializer>(jid: &Jid, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(jid)
    }

    /// Parses a JID string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Jid, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An optional [`Jid`](wa_binary::Jid) as its string form or `null`.
pub mod serde_opt_jid {
    use serde::{Deserialize, Deserializer, Serializer};
    use wa_binary::Jid;

    /// Writes the JID's string form, or `null`.
    pub fn serialize<S: Serializer>(jid: &Option<Jid>, s: S) -> Result<S::Ok, S::Error> {
        match jid {
            Some(j) => s.collect_str(j),
            None => s.serialize_none(),
        }
    }

    /// Parses a JID string or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Jid>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| s.parse().map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// A list of [`Jid`](wa_binary::Jid)s as their string forms.
pub mod serde_jid_list {
    use serde::{Deserialize, Deserializer, Serializer};
    use wa_binary::Jid;

    /// Writes each JID's string form.
    pub fn serialize<S: Serializer>(jids: &[Jid], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(jids.iter().map(ToString::to_string))
    }

    /// Parses a list of JID strings.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Jid>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|s| s.parse().map_err(serde::de::Error::custom))
            .collect()
    }
}
