//! Not a stable API: one entry point that feeds a decoded stanza to every parser of the
//! client that reads what the network sends, for the `client_stanzas` fuzz target and the
//! no-panic property test. Each parser returns a value or a typed error; none may panic.

use wa_binary::{Jid, Node, Server};
use wa_proto::prost::Message as _;

/// Runs `node` (as it came from the server) through every stanza and reply parser of the
/// client, and `payload` through the decrypted-message parsers (protobuf `Message`, typed
/// content view, poll-vote decryption with `payload` as key material).
pub fn run_every_parser(node: &Node, payload: &[u8]) {
    let own_pn = Jid::new("15550001", Server::User);
    let own_lid = Jid::new("100000001", Server::Lid);
    let _ = crate::message::MessageInfo::parse(node, &own_pn, Some(&own_lid));
    let _ = crate::message::enc_payloads(node);
    let _ = crate::recv::parse_receipt(node, &own_pn, Some(&own_lid));
    crate::recv::fuzz_notification(node);
    let _ = crate::send::devices::parse_devices_reply(node);
    let _ = crate::send::keys::parse_prekey_reply(node);
    let _ = crate::send::keys::bundle_from_node(node);
    let _ = crate::send::retry::parse_retry(node);
    crate::engine::fuzz_ack(node);
    let _ = crate::presence::parse_presence(node);
    let _ = crate::presence::parse_chat_state(node);
    let _ = crate::blocklist::parse_blocklist(node);
    let _ = crate::privacy::parse_reply(node);
    let _ = crate::call::parse_call(node);
    let _ = crate::call::ack_node(node);
    let _ = crate::profile::parse_user_info(node);
    let _ = crate::profile::parse_picture_reply(node, false);
    let _ = crate::profile::parse_set_picture_reply(node);
    let _ = crate::profile::parse_picture_notification(node);
    let _ = crate::profile::parse_status_notification(node);
    let _ = crate::status::parse_privacy(node);
    for child in node.children() {
        let _ = crate::blocklist::parse_blocklist_change(child);
        let _ = crate::privacy::parse_settings(child);
        // Each child as the single child of a `<call>` with the stanza's attributes.
        let call = Node {
            tag: "call".into(),
            attrs: node.attrs.clone(),
            content: wa_binary::Content::Nodes(vec![child.clone()]),
        };
        let _ = crate::call::parse_call(&call);
    }

    if let Ok(message) = wa_proto::proto::Message::decode(payload) {
        let _ = crate::message::content::MessageContent::from_message(&message);
        let _ = crate::message::dsm::unwrap(message);
    }
    let _ = crate::message::unpad(payload, 2);
    let enc = wa_proto::proto::message::PollEncValue {
        enc_payload: Some(payload.to_vec()),
        enc_iv: payload.get(..12).map(<[u8]>::to_vec),
    };
    let _ = crate::message::poll::decrypt_poll_vote(payload, "3EB0", &own_pn, &own_lid, &enc);
}

/// Cap on inflated history blobs while fuzzing (keeps runs fast; the logic is the same).
pub const HISTORY_FUZZ_CAP: usize = 1 << 20;

/// Feeds `data` to the history-blob decoder: mode byte 0 takes the rest as a (possibly
/// corrupt) zlib blob; mode 1 zlib-compresses the rest first, so the `HistorySync` decoder and
/// the history parsers see arbitrary protobuf. A decoded chunk goes through every helper of
/// [`crate::history::HistorySyncEvent`] and the store extraction.
///
/// Properties (panics if broken): no panic; the inflater never returns more than the cap; in
/// mode 1 it gives back exactly the compressed bytes when they fit, and a `TooLarge` error
/// only when they do not.
pub fn run_history_blob(data: &[u8]) {
    use crate::history::{HistoryError, HistorySyncEvent, decode_blob, inflate};
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let blob = if mode % 2 == 0 {
        rest.to_vec()
    } else {
        use std::io::Write as _;
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        if enc.write_all(rest).is_err() {
            return;
        }
        let Ok(blob) = enc.finish() else { return };
        let back = inflate(&blob, HISTORY_FUZZ_CAP);
        let holds = match &back {
            Ok(raw) => raw == rest,
            Err(HistoryError::TooLarge { .. }) => rest.len() > HISTORY_FUZZ_CAP,
            Err(_) => false,
        };
        assert!(
            holds,
            "inflate(zlib(x)) must give x back or refuse it as too large: {:?}",
            back.err()
        );
        blob
    };
    if let Ok(raw) = inflate(&blob, HISTORY_FUZZ_CAP) {
        assert!(raw.len() <= HISTORY_FUZZ_CAP, "inflate exceeded its cap");
    }
    let Ok(data) = decode_blob(&blob, HISTORY_FUZZ_CAP) else {
        return;
    };
    let own = Jid::new("15550001", Server::User);
    let _ = crate::history::store_changes(&data, &own);
    let event = HistorySyncEvent {
        message_id: "FUZZ".into(),
        own_jid: own,
        data,
    };
    let _ = (event.sync_type(), event.chunk_order(), event.progress());
    let _ = event.summary();
    let _ = event.messages();
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_history_fuzz_seeds_and_edges_run_clean() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fuzz/corpus/history_blob"
        );
        let mut seeds = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            super::run_history_blob(&bytes);
            seeds += 1;
        }
        assert!(seeds >= 2);
        for input in [
            &[][..],
            &[0],
            &[1],
            &[0, 0x78, 0x9c],
            &[0, 0x78, 0x9c, 0x03, 0x00],
            &[2, 1, 2, 3],
        ] {
            super::run_history_blob(input);
        }
        // More than the cap after compression, refused as too large.
        let mut big = vec![1u8];
        big.extend(std::iter::repeat_n(0u8, super::HISTORY_FUZZ_CAP + 1));
        super::run_history_blob(&big);
    }

    use proptest::prelude::*;
    use wa_binary::Node;

    /// Stanza shapes the parsers look into, with arbitrary attribute values and contents.
    fn stanza(tag: &str, ty: &str, value: &str, bytes: Vec<u8>) -> Node {
        let leaf = |t: &str| {
            Node::new(t)
                .attr("jid", value)
                .attr("value", value)
                .attr("id", value)
                .attr("count", value)
                .attr("t", value)
                .attr("call-id", value)
                .attr("call-creator", value)
                .bytes(bytes.clone())
                .build()
        };
        Node::new(tag)
            .attr("type", ty)
            .attr("from", value)
            .attr("id", value)
            .attr("participant", value)
            .attr("recipient", value)
            .attr("sender_lid", value)
            .attr("t", value)
            .attr("class", "message")
            .child(leaf("enc"))
            .child(leaf("retry"))
            .child(leaf("registration"))
            .child(
                Node::new("keys")
                    .children(["type", "identity", "key", "skey", "device-identity"].map(leaf))
                    .build(),
            )
            .child(
                Node::new("list")
                    .child(
                        Node::new("user")
                            .attr("jid", value)
                            .child(
                                Node::new("devices")
                                    .child(Node::new("device-list").child(leaf("device")).build())
                                    .child(leaf("key-index-list"))
                                    .build(),
                            )
                            .child(leaf("registration"))
                            .child(leaf("identity"))
                            .child(leaf("skey"))
                            .child(leaf("key"))
                            .child(leaf("status"))
                            .child(leaf("picture"))
                            .build(),
                    )
                    .build(),
            )
            .child(leaf("count"))
            .child(leaf("set"))
            .child(leaf("delete"))
            .child(leaf("picture"))
            .child(leaf("identity"))
            .build()
    }

    proptest! {
        #[test]
        fn no_parser_panics(
            tag in prop::sample::select(vec!["message", "receipt", "notification", "iq", "ack", "presence", "chatstate", "call"]),
            ty in prop::sample::select(vec!["", "retry", "read", "devices", "encrypt", "result", "pkmsg", "msg", "skmsg", "privacy_token", "picture", "status"]),
            value in prop::sample::select(vec!["", "x", "1", "99999999999999999999", "15550002:3@s.whatsapp.net", "1@lid", "123-456@g.us", "status@broadcast"]),
            bytes in prop::collection::vec(any::<u8>(), 0..80),
        ) {
            let node = stanza(tag, ty, value, bytes.clone());
            super::run_every_parser(&node, &bytes);
        }
    }
}
