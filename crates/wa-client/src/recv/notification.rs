//! The `<notification>`s the receive pipeline acts on (whatsmeow `notification.go`): device
//! lists changed, a contact's identity changed, privacy tokens issued. The engine already
//! acknowledged them.

use wa_binary::{Jid, Node};
use wa_store::{Changes, PrivacyToken};

/// What a notification asks of the client.
#[derive(Debug, Default)]
pub(crate) struct NotificationEffects {
    /// Store writes (identity resets, privacy tokens, LID mappings).
    pub(crate) changes: Option<Changes>,
    /// Users (without device) whose device list changed.
    pub(crate) devices_changed: Vec<Jid>,
}

fn jid_attr(node: &Node, key: &str) -> Option<Jid> {
    let v = node.attr(key)?;
    match v.as_jid() {
        Some(j) => Some(j.clone()),
        None => v.as_str().and_then(|s| s.parse().ok()),
    }
}

fn lid_mapping(changes: &mut Changes, a: &Jid, b: &Jid) -> bool {
    use wa_binary::Server;
    let (lid, pn) = match (a.server(), b.server()) {
        (Server::Lid, Server::User) => (a, b),
        (Server::User, Server::Lid) => (b, a),
        _ => return false,
    };
    changes.put_lid_mapping(lid.to_non_ad(), pn.to_non_ad());
    true
}

/// Interprets a notification. Unknown types and malformed children are ignored (the engine
/// acked them; there is nothing to repair).
pub(crate) fn handle(node: &Node) -> NotificationEffects {
    let mut out = NotificationEffects::default();
    let Some(from) = jid_attr(node, "from") else {
        return out;
    };
    let mut changes = Changes::new();
    let mut wrote = false;
    match node.attr("type").and_then(|t| t.as_str()) {
        Some("devices") => {
            for change in node
                .children()
                .iter()
                .filter(|c| matches!(c.tag.as_str(), "add" | "remove" | "update"))
            {
                for dev in change.children_by_tag("device") {
                    if let (Some(j), Some(l)) = (jid_attr(dev, "jid"), jid_attr(dev, "lid")) {
                        wrote |= lid_mapping(&mut changes, &j, &l);
                    }
                }
            }
            out.devices_changed.push(from.to_non_ad());
            if let Some(lid) = jid_attr(node, "lid") {
                out.devices_changed.push(lid.to_non_ad());
            }
        }
        Some("encrypt") if node.child("identity").is_some() => {
            // The contact re-installed: its sessions and identity are gone for good.
            changes.remove_sessions_of(from.signal_address_user());
            changes.remove_identities_of(from.signal_address_user());
            wrote = true;
        }
        Some("privacy_token") => {
            if let Some(lid) = jid_attr(node, "sender_lid") {
                wrote |= lid_mapping(&mut changes, &from, &lid);
            }
            for token in node
                .child("tokens")
                .into_iter()
                .flat_map(|t| t.children_by_tag("token"))
            {
                if token.attr("type").and_then(|t| t.as_str()) != Some("trusted_contact") {
                    continue;
                }
                let Some(bytes) = token.bytes() else { continue };
                let timestamp = token
                    .attr_reader()
                    .optional_u64("t")
                    .and_then(|t| i64::try_from(t).ok())
                    .unwrap_or(0);
                changes.put_privacy_token(PrivacyToken {
                    jid: from.to_non_ad(),
                    token: bytes.to_vec(),
                    timestamp,
                });
                wrote = true;
            }
        }
        _ => {}
    }
    if wrote {
        out.changes = Some(changes);
    }
    out
}
