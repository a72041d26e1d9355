//! Stanzas of a logged-in device: prekeys, passive/active, digest, props, blocklist, privacy,
//! app-state sync, usync, logout.

use rand_core::CryptoRng;
use sha2::{Digest as _, Sha256};
use wa_binary::Node;

use super::stanza::{error, result};
use super::{Connection, Effect, StreamError};
use crate::error::Result;
use crate::state::{DeviceKey, ServerState, SignedPreKey};

fn attr<'a>(node: &'a Node, key: &str) -> &'a str {
    node.attr(key).and_then(|v| v.as_str()).unwrap_or("")
}

fn child_bytes<'a>(node: &'a Node, tag: &str) -> Option<&'a [u8]> {
    node.child(tag).and_then(Node::bytes)
}

fn key_id(bytes: &[u8]) -> Option<u32> {
    match bytes {
        [a, b, c] => Some(u32::from_be_bytes([0, *a, *b, *c])),
        _ => None,
    }
}

pub(super) fn id3(id: u32) -> Vec<u8> {
    id.to_be_bytes()[1..].to_vec()
}

/// A parsed prekey upload.
struct Upload {
    registration_id: u32,
    identity: [u8; 32],
    pre_keys: Vec<(u32, [u8; 32])>,
    signed: SignedPreKey,
}

fn parse_upload(iq: &Node) -> std::result::Result<Upload, &'static str> {
    let reg = child_bytes(iq, "registration").ok_or("missing registration")?;
    let registration_id =
        u32::from_be_bytes(reg.try_into().map_err(|_| "registration is not 4 bytes")?);
    if child_bytes(iq, "type") != Some(&[5]) {
        return Err("key type is not 05");
    }
    let identity: [u8; 32] = child_bytes(iq, "identity")
        .ok_or("missing identity")?
        .try_into()
        .map_err(|_| "identity is not 32 bytes")?;
    let mut pre_keys = Vec::new();
    if let Some(list) = iq.child("list") {
        for key in list.children_by_tag("key") {
            let id = child_bytes(key, "id")
                .and_then(key_id)
                .ok_or("bad prekey id")?;
            let value: [u8; 32] = child_bytes(key, "value")
                .ok_or("missing prekey value")?
                .try_into()
                .map_err(|_| "prekey value is not 32 bytes")?;
            pre_keys.push((id, value));
        }
    }
    let skey = iq.child("skey").ok_or("missing skey")?;
    let signed = SignedPreKey {
        id: child_bytes(skey, "id")
            .and_then(key_id)
            .ok_or("bad signed prekey id")?,
        public: child_bytes(skey, "value")
            .ok_or("missing signed prekey value")?
            .try_into()
            .map_err(|_| "signed prekey value is not 32 bytes")?,
        signature: child_bytes(skey, "signature")
            .ok_or("missing signed prekey signature")?
            .try_into()
            .map_err(|_| "signed prekey signature is not 64 bytes")?,
    };
    Ok(Upload {
        registration_id,
        identity,
        pre_keys,
        signed,
    })
}

pub(super) fn skey_node(s: &SignedPreKey) -> Node {
    Node::new("skey")
        .child(Node::new("id").bytes(id3(s.id)).build())
        .child(Node::new("value").bytes(s.public.to_vec()).build())
        .child(Node::new("signature").bytes(s.signature.to_vec()).build())
        .build()
}

impl Connection {
    pub(super) fn handle_logged_in<R: CryptoRng>(
        &mut self,
        node: &Node,
        device: DeviceKey,
        now_ms: u64,
        state: &mut ServerState,
        rng: &mut R,
    ) -> Result<()> {
        match node.tag.as_str() {
            "iq" => {}
            "message" if super::appstate::is_peer_to_phone(node, device, state) => {
                return self.phone_peer_message(node, device, now_ms, state, rng);
            }
            "message" => return self.route_message(node, device, now_ms, state),
            "receipt" => return self.route_receipt(node, device, now_ms, state),
            "presence" => return self.handle_presence(node, device, now_ms, state),
            "chatstate" => return self.route_chat_state(node, device, state),
            "call" => return self.route_call(node, device, now_ms, state),
            "ack" if attr(node, "class") == "call" => {
                self.record_call_ack(node, device, state);
                return Ok(());
            }
            _ => return self.handle_common(node, now_ms, state),
        }
        let kind = attr(node, "type");
        let first = node
            .children()
            .first()
            .map(|c| c.tag.as_str())
            .unwrap_or("");
        match (attr(node, "xmlns"), kind, first) {
            ("encrypt", "get", "count") => {
                let n = state.device(device).map_or(0, |d| d.pre_keys.len());
                self.send(&result(
                    node,
                    vec![Node::new("count").attr("value", n.to_string()).build()],
                ))
            }
            ("encrypt", "set", _) if node.child("skey").is_some() => {
                self.upload_pre_keys(node, device, state)
            }
            ("encrypt", "get", "digest") => self.digest(node, device, state),
            ("encrypt", "get", "key") => self.fetch_keys(node, now_ms, state),
            ("passive", "set", "active" | "passive") => {
                self.send(&result(node, Vec::new()))?;
                self.send_offline_marker()?;
                self.send_phone_sync(device, now_ms, state, rng)
            }
            ("abt" | "w", "get", "props") => {
                let protocol = node
                    .child("props")
                    .map(|p| attr(p, "protocol"))
                    .filter(|p| !p.is_empty())
                    .unwrap_or("1")
                    .to_owned();
                let props = Node::new("props")
                    .attr("protocol", protocol)
                    .attr("hash", "wa-testserver-1")
                    .child(
                        Node::new("prop")
                            .attr("config_code", "10518")
                            .attr("config_value", "true")
                            .build(),
                    )
                    .build();
                self.send(&result(node, vec![props]))
            }
            ("blocklist", "get", _) => self.blocklist_get(node, device, state),
            ("blocklist", "set", _) => self.blocklist_set(node, device, now_ms, state),
            ("privacy", "set", "tokens") => self.privacy_tokens(node, device, now_ms, state, rng),
            ("privacy", "get", _) => self.privacy_get(node, device, state),
            ("privacy", "set", _) => self.privacy_set(node, device, now_ms, state),
            ("w:sync:app:state", "set", "sync") => self.app_state_sync(node, device, now_ms, state),
            ("usync", "get", "usync") => self.usync(node, device, now_ms, state),
            ("status", "set", _) => self.status_set(node, device, now_ms, state),
            ("status", "get", "privacy") => self.status_privacy_get(node, device, state),
            ("w:profile:picture", "get", _) => self.picture_get(node, device, state),
            ("w:profile:picture", "set", _) => self.picture_set(node, device, now_ms, state),
            ("md", "set", "remove-companion-device") => self.remove_device(node, device, state),
            ("w:g2", _, _) => self.group_iq(node, device, now_ms, state),
            ("w:m", "set", "media_conn") => match state.media.issue_media_conn() {
                Some(conn) => self.send(&result(node, vec![conn])),
                None => self.send(&error(node, 503, "service-unavailable")),
            },
            _ => self.handle_common(node, now_ms, state),
        }
    }

    fn upload_pre_keys(
        &mut self,
        node: &Node,
        device: DeviceKey,
        state: &mut ServerState,
    ) -> Result<()> {
        let upload = match parse_upload(node) {
            Ok(u) => u,
            Err(why) => {
                tracing::warn!(conn = self.id, ?device, "bad prekey upload: {why}");
                return self.send(&error(node, 400, "bad-request"));
            }
        };
        let Some(d) = state.device_mut(device) else {
            return self.send(&error(node, 404, "item-not-found"));
        };
        if upload.identity != d.identity_key {
            tracing::warn!(
                conn = self.id,
                ?device,
                "prekey upload with a foreign identity key"
            );
            return self.send(&error(node, 406, "not-acceptable"));
        }
        d.registration_id = Some(upload.registration_id);
        d.signed_pre_key = Some(upload.signed);
        let n = upload.pre_keys.len();
        d.pre_keys.extend(upload.pre_keys);
        let total = d.pre_keys.len();
        state.touch();
        tracing::info!(conn = self.id, ?device, uploaded = n, total, "prekeys");
        self.send(&result(node, Vec::new()))
    }

    fn digest(&mut self, node: &Node, device: DeviceKey, state: &ServerState) -> Result<()> {
        let Some(d) = state.device(device) else {
            return self.send(&error(node, 404, "item-not-found"));
        };
        let (Some(reg), Some(skey)) = (d.registration_id, d.signed_pre_key.as_ref()) else {
            return self.send(&error(node, 404, "item-not-found"));
        };
        // Our own digest hash: SHA-256 over identity, signed prekey, signature and every
        // prekey value in id order (clients here only check that a digest exists).
        let mut h = Sha256::new();
        h.update(d.identity_key);
        h.update(skey.public);
        h.update(skey.signature);
        for v in d.pre_keys.values() {
            h.update(v);
        }
        let digest = Node::new("digest")
            .child(Node::new("type").bytes(vec![5]).build())
            .child(Node::new("identity").bytes(d.identity_key.to_vec()).build())
            .child(
                Node::new("registration")
                    .bytes(reg.to_be_bytes().to_vec())
                    .build(),
            )
            .child(skey_node(skey))
            .child(
                Node::new("list")
                    .children(
                        d.pre_keys
                            .keys()
                            .map(|id| Node::new("id").bytes(id3(*id)).build()),
                    )
                    .build(),
            )
            .child(Node::new("hash").bytes(h.finalize().to_vec()).build())
            .build();
        self.send(&result(node, vec![digest]))
    }

    fn remove_device(
        &mut self,
        node: &Node,
        own: DeviceKey,
        state: &mut ServerState,
    ) -> Result<()> {
        let Some(jid) = node
            .child("remove-companion-device")
            .and_then(|r| r.attr("jid"))
            .and_then(|v| v.as_jid())
            .cloned()
        else {
            return self.send(&error(node, 400, "bad-request"));
        };
        let Some(target) = state.companion(&jid).filter(|k| k.account == own.account) else {
            return self.send(&error(node, 404, "item-not-found"));
        };
        let online = state.remove_device(target);
        tracing::info!(conn = self.id, device = ?target, "device removed by logout");
        self.send(&result(node, Vec::new()))?;
        if target == own {
            self.closing = true;
        } else if let Some(conn) = online {
            self.effects.push_back(Effect::Kick {
                conn,
                error: StreamError::DeviceRemoved,
            });
        }
        Ok(())
    }
}
