//! App-state sync (`<iq xmlns='w:sync:app:state' type='set'><sync>`): uploads of patches and
//! fetches of the patches after a version, with `<notification type='server_sync'>` to the
//! account's other companions when a collection moves on; and the simulated phone answering
//! app-state key requests (peer messages to device 0) with key shares.

use rand_core::CryptoRng;
use wa_binary::Node;
use wa_proto::prost::Message as _;
use wa_proto::proto::Message;
use wa_proto::proto::message::protocol_message;

use super::Connection;
use super::stanza::result;
use crate::appstate::{AppStateCollections, UploadError};
use crate::error::Result;
use crate::state::{DeviceKey, ServerState};

fn attr<'a>(node: &'a Node, key: &str) -> &'a str {
    node.attr(key).and_then(|v| v.as_str()).unwrap_or("")
}

/// `<collection name type='error'><error code text/></collection>`.
fn collection_error(name: &str, code: u16, text: &str) -> Node {
    Node::new("collection")
        .attr("name", name)
        .attr("type", "error")
        .child(
            Node::new("error")
                .attr("code", code.to_string())
                .attr("text", text)
                .build(),
        )
        .build()
}

/// The answer for one `<collection>` of the request, and the new version when a patch was
/// stored.
fn answer(
    c: &Node,
    collections: Option<&mut AppStateCollections>,
) -> (Node, Option<(String, u64)>) {
    let name = attr(c, "name");
    let Some(collections) = collections else {
        return (collection_error(name, 404, "item-not-found"), None);
    };
    let Ok(base) = (match attr(c, "version") {
        "" => Ok(0),
        v => v.parse::<u64>(),
    }) else {
        return (collection_error(name, 400, "bad-request"), None);
    };
    let uploads: Vec<&Node> = c.children_by_tag("patch").collect();
    if uploads.is_empty() {
        return match collections.fetch(name, base) {
            None => (collection_error(name, 404, "item-not-found"), None),
            Some(f) => {
                let mut n = Node::new("collection")
                    .attr("name", name)
                    .attr("version", f.version.to_string());
                if f.has_more {
                    n = n.attr("has_more_patches", "true");
                }
                if !f.patches.is_empty() {
                    n = n.child(
                        Node::new("patches")
                            .children(
                                f.patches
                                    .iter()
                                    .map(|p| Node::new("patch").bytes(p.clone()).build()),
                            )
                            .build(),
                    );
                }
                (n.build(), None)
            }
        };
    }
    let mut version = base;
    for p in uploads {
        let Some(bytes) = p.bytes() else {
            return (collection_error(name, 400, "bad-request"), None);
        };
        version = match collections.upload(name, version, bytes) {
            Ok(v) => v,
            Err(UploadError::UnknownCollection) => {
                return (collection_error(name, 404, "item-not-found"), None);
            }
            Err(UploadError::Conflict { .. }) => {
                return (collection_error(name, 409, "conflict"), None);
            }
            Err(UploadError::BadPatch) => {
                return (collection_error(name, 400, "bad-request"), None);
            }
        };
    }
    (
        Node::new("collection")
            .attr("name", name)
            .attr("version", version.to_string())
            .build(),
        Some((name.to_owned(), version)),
    )
}

impl Connection {
    /// Answers an app-state `<sync>`: each `<collection>` either uploads its `<patch>`es on top
    /// of its `version` (409 when the server holds another version) or fetches the patches
    /// after `version`. Stored patches are announced to the account's other companions.
    pub(super) fn app_state_sync(
        &mut self,
        node: &Node,
        device: DeviceKey,
        now_ms: u64,
        state: &mut ServerState,
    ) -> Result<()> {
        let mut out = Vec::new();
        let mut moved = Vec::new();
        for c in node
            .child("sync")
            .into_iter()
            .flat_map(|s| s.children_by_tag("collection"))
        {
            let collections = state.acct_mut(device.account).map(|a| &mut a.app_state);
            let (reply, stored) = answer(c, collections);
            out.push(reply);
            moved.extend(stored);
        }
        self.send(&result(node, vec![Node::new("sync").children(out).build()]))?;
        if !moved.is_empty() {
            state.touch();
            self.announce_server_sync(device, &moved, now_ms, state)?;
        }
        Ok(())
    }

    /// `<notification type='server_sync' from=account><collection name version/>…` to every
    /// companion of `device`'s account but `device` (queued for offline ones).
    fn announce_server_sync(
        &mut self,
        device: DeviceKey,
        moved: &[(String, u64)],
        now_ms: u64,
        state: &mut ServerState,
    ) -> Result<()> {
        state.next_stanza_id = state.next_stanza_id.wrapping_add(1);
        let id = state.next_stanza_id;
        let Some(a) = state.acct(device.account) else {
            return Ok(());
        };
        let n = Node::new("notification")
            .attr("from", a.account.pn_jid(0).to_non_ad())
            .attr("id", format!("ss-{id}"))
            .attr("type", "server_sync")
            .attr("t", (now_ms / 1000).to_string())
            .children(moved.iter().map(|(name, version)| {
                Node::new("collection")
                    .attr("name", name.as_str())
                    .attr("version", version.to_string())
                    .build()
            }))
            .build();
        let targets: Vec<DeviceKey> = a
            .devices
            .keys()
            .filter(|d| **d != 0)
            .map(|d| DeviceKey::new(device.account, *d))
            .filter(|k| *k != device)
            .collect();
        for d in targets {
            self.deliver_to(d, n.clone(), state)?;
        }
        Ok(())
    }
}

/// Whether `node` is a peer `<message>` from a companion to its own primary phone (device 0
/// of its account): what whatsmeow sends for app-state key requests.
pub(super) fn is_peer_to_phone(node: &Node, device: DeviceKey, state: &ServerState) -> bool {
    if node.tag != "message" || attr(node, "category") != "peer" {
        return false;
    }
    let Some(to) = node.attr("to").and_then(|v| v.as_jid()) else {
        return false;
    };
    to.device() == 0 && state.acct(device.account).is_some_and(|a| a.owns(to))
}

/// Decrypts what a companion sent the phone over their Signal session (a `msg`; the phone
/// started the session) and strips the padding.
fn phone_decrypt<R: CryptoRng>(
    a: &mut crate::state::AccountState,
    device: u16,
    node: &Node,
    rng: &mut R,
) -> Option<Message> {
    let enc = node.child("enc").filter(|e| attr(e, "type") == "msg")?;
    let msg = wa_signal::wire::SignalMessage::parse(enc.bytes()?).ok()?;
    let padded = a.phone_sessions.get_mut(&device)?.decrypt(&msg, rng).ok()?;
    let n = usize::from(*padded.last()?);
    let plain = padded.get(..padded.len().checked_sub(n)?)?;
    Message::decode(plain).ok()
}

impl Connection {
    /// A peer message from a companion to its phone: the simulated phone decrypts it and, for
    /// an app-state key request, answers with a key share of the requested keys it holds
    /// (whatsmeow's primary device does the same). Other peer messages are only acked.
    pub(super) fn phone_peer_message<R: CryptoRng>(
        &mut self,
        node: &Node,
        device: DeviceKey,
        now_ms: u64,
        state: &mut ServerState,
        rng: &mut R,
    ) -> Result<()> {
        let reply = state.acct_mut(device.account).and_then(|a| {
            let message = phone_decrypt(a, device.device, node, rng)?;
            let pm = message.protocol_message.as_deref()?;
            if pm.r#type != Some(protocol_message::Type::AppStateSyncKeyRequest as i32) {
                return None;
            }
            let ids: Vec<Vec<u8>> = pm
                .app_state_sync_key_request
                .iter()
                .flat_map(|r| &r.key_ids)
                .filter_map(|k| k.key_id.clone())
                .collect();
            let share = crate::phone_sync::key_share(a, device.device, &ids);
            tracing::info!(
                conn = self.id,
                ?device,
                requested = ids.len(),
                "phone answers an app-state key request"
            );
            crate::phone_sync::peer_message(a, device.device, &share, now_ms, rng).ok()
        });
        // The phone's session advanced either way.
        state.touch();
        self.handle_common(node, now_ms, state)?;
        if let Some(n) = reply {
            self.deliver_to(device, n, state)?;
        }
        Ok(())
    }
}
