//! Serde adapters for the event types: JIDs as strings, messages as JSON-friendly views.

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

/// A [`wa_proto::proto::Message`] as `{"text": …, "kind": …, "proto_b64": …}`: the text (of a
/// plain or extended text message) and the name of the first field set, for people and
/// `jq`, and the whole protobuf in base64, which is what deserialization reads back.
pub mod serde_message {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use wa_proto::prost::Message as _;
    use wa_proto::proto::Message;

    #[derive(Serialize, Deserialize)]
    struct View {
        #[serde(default)]
        text: Option<String>,
        #[serde(default)]
        kind: String,
        proto_b64: String,
    }

    /// The text of a plain (`conversation`) or extended text message, if it is one.
    pub(crate) fn text_of(m: &Message) -> Option<String> {
        m.conversation.clone().or_else(|| {
            m.extended_text_message
                .as_ref()
                .and_then(|e| e.text.clone())
        })
    }

    /// A short name for what the message carries (the first content field set).
    pub(crate) fn kind_of(m: &Message) -> &'static str {
        if m.conversation.is_some() || m.extended_text_message.is_some() {
            "text"
        } else if m.reaction_message.is_some() {
            "reaction"
        } else if m.protocol_message.is_some() {
            "protocol"
        } else if m.image_message.is_some() {
            "image"
        } else if m.location_message.is_some() {
            "location"
        } else if m.contact_message.is_some() {
            "contact"
        } else if m.poll_update_message.is_some() {
            "poll_update"
        } else if m.sender_key_distribution_message.is_some() {
            "sender_key_distribution"
        } else {
            "other"
        }
    }

    /// Writes the view.
    pub fn serialize<S: Serializer>(m: &Message, s: S) -> Result<S::Ok, S::Error> {
        View {
            text: text_of(m),
            kind: kind_of(m).to_owned(),
            proto_b64: STANDARD.encode(m.encode_to_vec()),
        }
        .serialize(s)
    }

    /// Reads the message back from `proto_b64`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Message, D::Error> {
        let view = View::deserialize(d)?;
        let bytes = STANDARD
            .decode(view.proto_b64.as_bytes())
            .map_err(serde::de::Error::custom)?;
        Message::decode(bytes.as_slice()).map_err(serde::de::Error::custom)
    }
}
