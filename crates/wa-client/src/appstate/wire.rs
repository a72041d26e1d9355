//! The app-state stanzas, sans IO: the `<iq xmlns='w:sync:app:state'>` fetch and upload
//! requests, their replies, `<notification type='server_sync'>` and the key share a primary
//! device sends (whatsmeow `appstate.go`, `notification.go`).

use wa_appstate::Collection;
use wa_binary::{Jid, Node, Server};
use wa_proto::prost::Message as _;
use wa_proto::proto::{Message, SyncdPatch, SyncdVersion, message::protocol_message};

use super::AppStateSyncError;

/// The collection a name names, if it is one of the five.
pub(crate) fn collection(name: &str) -> Option<Collection> {
    Collection::ALL.into_iter().find(|c| c.as_str() == name)
}

fn sync_iq(collection: Node) -> Node {
    Node::new("iq")
        .attr("xmlns", "w:sync:app:state")
        .attr("type", "set")
        .attr("to", Jid::new("", Server::User))
        .child(Node::new("sync").child(collection).build())
        .build()
}

/// The fetch of `collection`'s patches after `version` (a snapshot asked for from 0).
pub(crate) fn fetch_request(collection: Collection, version: u64) -> Node {
    sync_iq(
        Node::new("collection")
            .attr("name", collection.as_str())
            .attr("version", version.to_string())
            .attr(
                "return_snapshot",
                if version == 0 { "true" } else { "false" },
            )
            .build(),
    )
}

/// The upload of `patch` on top of `version`.
pub(crate) fn upload_request(collection: Collection, version: u64, patch: &SyncdPatch) -> Node {
    sync_iq(
        Node::new("collection")
            .attr("name", collection.as_str())
            .attr("version", version.to_string())
            .attr("return_snapshot", "false")
            .child(Node::new("patch").bytes(patch.encode_to_vec()).build())
            .build(),
    )
}

/// One `<collection>` of a fetch reply.
#[derive(Debug, Default)]
pub(crate) struct PatchList {
    /// The patches, oldest first, each with its version.
    pub(crate) patches: Vec<SyncdPatch>,
    /// Whether the server holds more after these.
    pub(crate) has_more: bool,
}

/// The `<collection>` answering for `collection`, with a server refusal as a typed error.
fn reply_collection(reply: &Node, collection: Collection) -> Result<&Node, AppStateSyncError> {
    let node = reply
        .child("sync")
        .into_iter()
        .flat_map(|s| s.children_by_tag("collection"))
        .find(|c| c.attr("name").and_then(|v| v.as_str()) == Some(collection.as_str()))
        .ok_or(AppStateSyncError::BadReply(
            "no <collection> for the request",
        ))?;
    if node.attr("type").and_then(|v| v.as_str()) == Some("error") {
        let err = node.child("error");
        let code = err
            .and_then(|e| e.attr("code"))
            .and_then(|v| v.as_str())
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let text = err
            .and_then(|e| e.attr("text"))
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_owned();
        return Err(if code == 409 {
            AppStateSyncError::Conflict { collection }
        } else {
            AppStateSyncError::Refused {
                collection,
                code,
                text,
            }
        });
    }
    Ok(node)
}

/// Parses a fetch reply. A patch without a version takes the collection's (whatsmeow's
/// fallback); one that does not decode is an error.
pub(crate) fn parse_fetch_reply(
    reply: &Node,
    collection: Collection,
) -> Result<PatchList, AppStateSyncError> {
    let node = reply_collection(reply, collection)?;
    if node.child("snapshot").is_some() {
        return Err(AppStateSyncError::SnapshotUnsupported { collection });
    }
    let version = node.attr_reader().optional_u64("version");
    let has_more = node.attr("has_more_patches").and_then(|v| v.as_str()) == Some("true");
    let mut patches = Vec::new();
    for p in node
        .child("patches")
        .into_iter()
        .flat_map(|ps| ps.children_by_tag("patch"))
    {
        let bytes = p
            .bytes()
            .ok_or(AppStateSyncError::BadReply("<patch> without bytes"))?;
        let mut patch = SyncdPatch::decode(bytes)
            .map_err(|_| AppStateSyncError::BadReply("<patch> is not a SyncdPatch"))?;
        if patch.version.and_then(|v| v.version).is_none() {
            patch.version = Some(SyncdVersion { version });
        }
        patches.push(patch);
    }
    Ok(PatchList { patches, has_more })
}

/// Checks an upload reply: the collection's new version.
pub(crate) fn parse_upload_reply(
    reply: &Node,
    collection: Collection,
) -> Result<Option<u64>, AppStateSyncError> {
    let node = reply_collection(reply, collection)?;
    Ok(node.attr_reader().optional_u64("version"))
}

/// The collections a `<notification type='server_sync'>` says moved on.
pub(crate) fn server_sync_collections(node: &Node) -> Vec<Collection> {
    if node.tag != "notification"
        || node.attr("type").and_then(|v| v.as_str()) != Some("server_sync")
    {
        return Vec::new();
    }
    let mut out = Vec::new();
    for c in node.children_by_tag("collection") {
        if let Some(c) = c.attr("name").and_then(|v| v.as_str()).and_then(collection)
            && !out.contains(&c)
        {
            out.push(c);
        }
    }
    out
}

/// The app-state sync keys of a key share (`ProtocolMessage` of type
/// `APP_STATE_SYNC_KEY_SHARE`); keys without id or data are skipped.
pub(crate) fn shared_keys(message: &Message) -> Vec<wa_store::AppStateSyncKey> {
    let Some(pm) = message.protocol_message.as_deref() else {
        return Vec::new();
    };
    if pm.r#type != Some(protocol_message::Type::AppStateSyncKeyShare as i32) {
        return Vec::new();
    }
    pm.app_state_sync_key_share
        .iter()
        .flat_map(|s| &s.keys)
        .filter_map(|k| {
            let id = k.key_id.as_ref()?.key_id.clone()?;
            let data = k.key_data.as_ref()?;
            let bytes = data.key_data.clone()?;
            Some(wa_store::AppStateSyncKey {
                key_id: id,
                data: bytes.into(),
                fingerprint: data
                    .fingerprint
                    .as_ref()
                    .map(|f| f.encode_to_vec())
                    .unwrap_or_default(),
                timestamp: data.timestamp.unwrap_or(0),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use wa_proto::proto::message::{
        AppStateSyncKey, AppStateSyncKeyData, AppStateSyncKeyId, AppStateSyncKeyShare,
        ProtocolMessage,
    };

    use super::*;

    fn reply(collection: Node) -> Node {
        Node::new("iq")
            .attr("type", "result")
            .child(Node::new("sync").child(collection).build())
            .build()
    }

    #[test]
    fn requests_name_the_collection_and_version() {
        let f = fetch_request(Collection::RegularHigh, 0);
        let c = f.child_path(&["sync", "collection"]).unwrap();
        assert_eq!(f.attr("xmlns").unwrap().as_str(), Some("w:sync:app:state"));
        assert_eq!(c.attr("name").unwrap().as_str(), Some("regular_high"));
        assert_eq!(c.attr("version").unwrap().as_str(), Some("0"));
        assert_eq!(c.attr("return_snapshot").unwrap().as_str(), Some("true"));
        let f = fetch_request(Collection::Regular, 7);
        let c = f.child_path(&["sync", "collection"]).unwrap();
        assert_eq!(c.attr("return_snapshot").unwrap().as_str(), Some("false"));
        let patch = SyncdPatch {
            patch_mac: Some(vec![1; 32]),
            ..SyncdPatch::default()
        };
        let u = upload_request(Collection::Regular, 3, &patch);
        let c = u.child_path(&["sync", "collection"]).unwrap();
        assert_eq!(c.attr("version").unwrap().as_str(), Some("3"));
        let bytes = c.child("patch").unwrap().bytes().unwrap();
        assert_eq!(SyncdPatch::decode(bytes).unwrap(), patch);
    }

    #[test]
    fn fetch_replies_parse_and_refusals_are_typed() {
        let with_version = SyncdPatch {
            version: Some(SyncdVersion { version: Some(4) }),
            ..SyncdPatch::default()
        };
        let r = reply(
            Node::new("collection")
                .attr("name", "regular")
                .attr("version", "5")
                .attr("has_more_patches", "true")
                .child(
                    Node::new("patches")
                        .child(
                            Node::new("patch")
                                .bytes(with_version.encode_to_vec())
                                .build(),
                        )
                        .child(Node::new("patch").bytes(Vec::new()).build())
                        .build(),
                )
                .build(),
        );
        let list = parse_fetch_reply(&r, Collection::Regular).unwrap();
        assert!(list.has_more);
        let v: Vec<_> = list
            .patches
            .iter()
            .map(|p| p.version.unwrap().version)
            .collect();
        assert_eq!(v, [Some(4), Some(5)]);
        assert!(matches!(
            parse_fetch_reply(&r, Collection::RegularLow),
            Err(AppStateSyncError::BadReply(_))
        ));

        let garbage = reply(
            Node::new("collection")
                .attr("name", "regular")
                .child(
                    Node::new("patches")
                        .child(Node::new("patch").bytes(vec![0xff]).build())
                        .build(),
                )
                .build(),
        );
        assert!(matches!(
            parse_fetch_reply(&garbage, Collection::Regular),
            Err(AppStateSyncError::BadReply(_))
        ));

        let err = |code: &str| {
            reply(
                Node::new("collection")
                    .attr("name", "regular")
                    .attr("type", "error")
                    .child(
                        Node::new("error")
                            .attr("code", code)
                            .attr("text", "x")
                            .build(),
                    )
                    .build(),
            )
        };
        assert!(matches!(
            parse_upload_reply(&err("409"), Collection::Regular),
            Err(AppStateSyncError::Conflict { .. })
        ));
        assert!(matches!(
            parse_fetch_reply(&err("404"), Collection::Regular),
            Err(AppStateSyncError::Refused { code: 404, .. })
        ));
        let ok = reply(
            Node::new("collection")
                .attr("name", "regular")
                .attr("version", "9")
                .build(),
        );
        assert_eq!(
            parse_upload_reply(&ok, Collection::Regular).unwrap(),
            Some(9)
        );
        let snap = reply(
            Node::new("collection")
                .attr("name", "regular")
                .child(Node::new("snapshot").bytes(vec![1]).build())
                .build(),
        );
        assert!(matches!(
            parse_fetch_reply(&snap, Collection::Regular),
            Err(AppStateSyncError::SnapshotUnsupported { .. })
        ));
    }

    #[test]
    fn server_sync_and_key_shares() {
        let n = Node::new("notification")
            .attr("type", "server_sync")
            .children(
                ["regular_high", "nope", "regular_high", "regular"].map(|c| {
                    Node::new("collection")
                        .attr("name", c)
                        .attr("version", "1")
                        .build()
                }),
            )
            .build();
        assert_eq!(
            server_sync_collections(&n),
            [Collection::RegularHigh, Collection::Regular]
        );
        let other = Node::new("notification").attr("type", "devices").build();
        assert!(server_sync_collections(&other).is_empty());

        let key = |id: Option<u8>, data: Option<u8>| AppStateSyncKey {
            key_id: id.map(|i| AppStateSyncKeyId {
                key_id: Some(vec![i; 6]),
            }),
            key_data: data.map(|d| AppStateSyncKeyData {
                key_data: Some(vec![d; 32]),
                fingerprint: None,
                timestamp: Some(77),
            }),
        };
        let share = Message {
            protocol_message: Some(Box::new(ProtocolMessage {
                r#type: Some(protocol_message::Type::AppStateSyncKeyShare as i32),
                app_state_sync_key_share: Some(AppStateSyncKeyShare {
                    keys: vec![
                        key(Some(1), Some(2)),
                        key(None, Some(3)),
                        key(Some(4), None),
                    ],
                }),
                ..Default::default()
            })),
            ..Default::default()
        };
        let keys = shared_keys(&share);
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].key_id, vec![1; 6]);
        assert_eq!(keys[0].data.as_slice(), &[2; 32]);
        assert_eq!(keys[0].timestamp, 77);
        assert!(shared_keys(&Message::default()).is_empty());
    }

    proptest::proptest! {
        /// Whatever the server puts in a reply or notification, parsing gives a value or a
        /// typed error, never a panic; patches that decode keep or get a version.
        #[test]
        fn arbitrary_replies_never_panic(
            name in "[a-z_]{0,14}",
            version in proptest::option::of("[0-9a-z]{0,22}"),
            kind in proptest::option::of("error|result|x"),
            more in proptest::bool::ANY,
            blobs in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..48), 0..4),
        ) {
            let mut c = Node::new("collection").attr("name", name.as_str());
            if let Some(v) = &version {
                c = c.attr("version", v.as_str());
            }
            if let Some(k) = &kind {
                c = c.attr("type", k.as_str());
            }
            if more {
                c = c.attr("has_more_patches", "true");
            }
            let patches = Node::new("patches")
                .children(blobs.iter().map(|b| Node::new("patch").bytes(b.clone()).build()))
                .build();
            let r = reply(c.child(patches).build());
            for col in Collection::ALL {
                if let Ok(list) = parse_fetch_reply(&r, col) {
                    proptest::prop_assert!(list.patches.len() <= blobs.len());
                }
                let _ = parse_upload_reply(&r, col);
            }
            let n = Node::new("notification")
                .attr("type", "server_sync")
                .child(Node::new("collection").attr("name", name.as_str()).build())
                .build();
            proptest::prop_assert!(server_sync_collections(&n).len() <= 1);
        }
    }
}
