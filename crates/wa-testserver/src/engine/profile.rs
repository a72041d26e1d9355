//! Profiles: about texts (`<iq xmlns="status" type="set"><status>TEXT</status>`) and profile
//! pictures of accounts and groups (`xmlns="w:profile:picture"` get and set), read through
//! usync (`<status/>`, `<picture/>`, see `usync.rs`) and the picture IQ.
//!
//! A picture is served unencrypted by the media server at
//! `/v/t61.24694-24/{id}_{image|preview}.jpg`; the get answer names it as `url` and
//! `direct_path`. The server keeps the bytes as uploaded (a `<picture type="preview">` next to
//! the image is the thumbnail, else the image serves as its own thumbnail).
//!
//! Privacy: an account whose `profile` (pictures) or `status` (about text) setting is `none`,
//! or that blocked the asker, hides it from other accounts (picture get: 401; usync: no
//! picture id, `<status code="401"/>`). `contacts` counts as everyone: the server keeps no
//! address books.
//!
//! Who gets told: a change of an account's about text or picture is announced as
//! `<notification type="status">` / `<notification type="picture">` to every companion of
//! every account except the device that made it (the account's other companions included),
//! queued for those offline. A group picture change goes to the companions of every member.

use wa_binary::{Jid, Node, Server};

use super::Connection;
use super::stanza::{error, result};
use crate::error::Result;
use crate::state::{AccountId, DeviceKey, ProfilePicture, ServerState};

/// The key of an account's picture in [`ServerState::pictures`]: its phone-number JID.
fn account_key(state: &ServerState, account: AccountId) -> Option<String> {
    state
        .acct(account)
        .map(|a| a.account.pn_jid(0).to_non_ad().to_string())
}

/// Whether `owner` hides what privacy `category` covers from `asker`.
fn hidden(state: &ServerState, owner: AccountId, asker: AccountId, category: &str) -> bool {
    if owner == asker {
        return false;
    }
    let none = state
        .privacy
        .get(&owner)
        .and_then(|p| p.get(category))
        .is_some_and(|v| v == "none");
    none || state.blocks(owner, asker)
}

/// The usync `<status>` of `account` as `asker` sees it.
pub(super) fn status_node(
    state: &ServerState,
    account: Option<AccountId>,
    asker: AccountId,
) -> Node {
    let Some(owner) = account else {
        return Node::new("status").build();
    };
    if hidden(state, owner, asker, "status") {
        return Node::new("status").attr("code", "401").build();
    }
    match state.abouts.get(&owner) {
        Some((text, at)) if !text.is_empty() => Node::new("status")
            .attr("t", at.to_string())
            .bytes(text.as_bytes().to_vec())
            .build(),
        _ => Node::new("status").build(),
    }
}

/// The usync `<picture>` of `account` as `asker` sees it (`id` when there is one to show).
pub(super) fn picture_id_node(
    state: &ServerState,
    account: Option<AccountId>,
    asker: AccountId,
) -> Node {
    let id = account
        .filter(|owner| !hidden(state, *owner, asker, "profile"))
        .and_then(|owner| account_key(state, owner))
        .and_then(|key| state.pictures.get(&key))
        .map(|p| p.id.clone());
    Node::new("picture").attr_opt("id", id).build()
}

/// Whose picture an IQ is about: `Ok((key, Some(account)))` for an account, `Ok((key, None))`
/// for a group, `Err(code)` when the JID names nothing here.
fn picture_owner(
    node: &Node,
    device: DeviceKey,
    state: &ServerState,
) -> std::result::Result<(String, Option<AccountId>), u16> {
    let jid = |key: &str| node.attr(key).and_then(|v| v.as_jid()).cloned();
    let target = match (jid("to"), jid("target")) {
        (Some(to), _) if *to.server() == Server::Group => Some(to),
        (_, target) => target,
    };
    match target {
        Some(group) if *group.server() == Server::Group => {
            state.groups.members(&group).map_err(|_| 404u16)?;
            Ok((group.to_non_ad().to_string(), None))
        }
        Some(user) => {
            let account = state.account_of(&user).ok_or(404u16)?;
            Ok((account_key(state, account).ok_or(404u16)?, Some(account)))
        }
        None => Ok((
            account_key(state, device.account).ok_or(404u16)?,
            Some(device.account),
        )),
    }
}

/// Every companion to tell about a change `device` made: of every account, or of the members
/// of `group`; never `device` itself.
fn audience(state: &ServerState, device: DeviceKey, group: Option<&Jid>) -> Vec<DeviceKey> {
    let accounts: Vec<AccountId> = match group {
        Some(g) => state
            .groups
            .members(g)
            .map(|ms| {
                ms.iter()
                    .filter_map(|m| state.account_of(&m.user.user()))
                    .collect()
            })
            .unwrap_or_default(),
        None => (0..state.accounts.len()).collect(),
    };
    accounts
        .into_iter()
        .filter_map(|a| state.acct(a).map(|s| (a, s)))
        .flat_map(|(a, s)| s.devices.keys().map(move |d| DeviceKey::new(a, *d)))
        .filter(|k| k.device != 0 && *k != device)
        .collect()
}

impl Connection {
    /// Sends `notification` to everyone [`audience`] names.
    fn announce(
        &mut self,
        device: DeviceKey,
        group: Option<&Jid>,
        notification: &Node,
        state: &mut ServerState,
    ) -> Result<()> {
        for target in audience(state, device, group) {
            self.deliver_to(target, notification.clone(), state)?;
        }
        Ok(())
    }

    /// `<iq xmlns="status" type="set"><status>TEXT</status>`: stores the about text (empty
    /// clears it) and announces it.
    pub(super) fn status_set(
        &mut self,
        node: &Node,
        device: DeviceKey,
        now_ms: u64,
        state: &mut ServerState,
    ) -> Result<()> {
        let Some(status) = node.child("status") else {
            return self.send(&error(node, 400, "bad-request"));
        };
        let text = match &status.content {
            wa_binary::Content::Bytes(b) => match String::from_utf8(b.clone()) {
                Ok(t) => t,
                Err(_) => return self.send(&error(node, 400, "bad-request")),
            },
            wa_binary::Content::None => String::new(),
            wa_binary::Content::Nodes(_) => return self.send(&error(node, 400, "bad-request")),
        };
        let Some(from) = state.acct(device.account).map(|a| a.account.pn_jid(0)) else {
            return self.send(&error(node, 404, "item-not-found"));
        };
        let now = now_ms / 1000;
        state.abouts.insert(device.account, (text.clone(), now));
        self.send(&result(node, Vec::new()))?;

        state.next_stanza_id = state.next_stanza_id.wrapping_add(1);
        let notification = Node::new("notification")
            .attr("from", from)
            .attr("id", format!("st-{}", state.next_stanza_id))
            .attr("type", "status")
            .attr("t", now.to_string())
            .child(Node::new("set").bytes(text.into_bytes()).build())
            .build();
        self.announce(device, None, &notification, state)
    }

    /// `<iq xmlns="w:profile:picture" type="get"><picture query="url" type [id]/>`: where the
    /// picture is (404 when none, 401 when hidden, `status="304"` when `id` is current).
    pub(super) fn picture_get(
        &mut self,
        node: &Node,
        device: DeviceKey,
        state: &ServerState,
    ) -> Result<()> {
        let (key, account) = match picture_owner(node, device, state) {
            Ok(owner) => owner,
            Err(code) => return self.send(&error(node, code, "item-not-found")),
        };
        if account.is_some_and(|owner| hidden(state, owner, device.account, "profile")) {
            return self.send(&error(node, 401, "not-authorized"));
        }
        let Some(picture) = state.pictures.get(&key) else {
            return self.send(&error(node, 404, "item-not-found"));
        };
        let query = node.child("picture");
        let kind = query
            .and_then(|p| p.attr("type"))
            .and_then(|v| v.as_str())
            .filter(|t| *t == "preview")
            .unwrap_or("image");
        let known = query.and_then(|p| p.attr("id")).and_then(|v| v.as_str());
        if known == Some(picture.id.as_str()) {
            let unchanged = Node::new("picture")
                .attr("id", picture.id.clone())
                .attr("status", "304")
                .build();
            return self.send(&result(node, vec![unchanged]));
        }
        let [image_path, preview_path] = &picture.paths;
        let path = if kind == "preview" {
            preview_path
        } else {
            image_path
        };
        let Some(url) = state.media.url_of(path) else {
            return self.send(&error(node, 503, "service-unavailable"));
        };
        let answer = Node::new("picture")
            .attr("id", picture.id.clone())
            .attr("type", kind)
            .attr("url", url)
            .attr("direct_path", path.clone())
            .build();
        self.send(&result(node, vec![answer]))
    }

    /// `<iq xmlns="w:profile:picture" type="set" [target]>[<picture type="image">JPEG
    /// </picture>]`: sets or (without `<picture>`) removes our picture or, with a group
    /// `target` we are a member of, the group's; answers `<picture id>` and announces it.
    pub(super) fn picture_set(
        &mut self,
        node: &Node,
        device: DeviceKey,
        now_ms: u64,
        state: &mut ServerState,
    ) -> Result<()> {
        let (key, account) = match picture_owner(node, device, state) {
            Ok(owner) => owner,
            Err(code) => return self.send(&error(node, code, "item-not-found")),
        };
        let Some(me) = state.acct(device.account).map(|a| a.account.pn_jid(0)) else {
            return self.send(&error(node, 404, "item-not-found"));
        };
        let group: Option<Jid> = match account {
            Some(owner) if owner != device.account => {
                return self.send(&error(node, 403, "forbidden"));
            }
            Some(_) => None,
            None => {
                let Ok(group) = key.parse::<Jid>() else {
                    return self.send(&error(node, 404, "item-not-found"));
                };
                let member = state.groups.members(&group).is_ok_and(|ms| {
                    ms.iter()
                        .any(|m| state.account_of(&m.user.user()) == Some(device.account))
                });
                if !member {
                    return self.send(&error(node, 403, "forbidden"));
                }
                Some(group)
            }
        };
        let bytes_of = |kind: &str| {
            node.children()
                .iter()
                .find(|c| {
                    c.tag == "picture" && c.attr("type").and_then(|v| v.as_str()) == Some(kind)
                })
                .and_then(Node::bytes)
                .map(<[u8]>::to_vec)
        };
        let image = bytes_of("image");
        if node.child("picture").is_some() && image.as_ref().is_none_or(Vec::is_empty) {
            return self.send(&error(node, 400, "bad-request"));
        }
        if let Some(old) = state.pictures.remove(&key) {
            for path in &old.paths {
                state.media.expire(path);
            }
        }
        let owner_jid = match &group {
            Some(g) => g.clone(),
            None => me.to_non_ad(),
        };
        let change = match image {
            Some(image) => {
                let id = state.next_picture_id.to_string();
                state.next_picture_id = state.next_picture_id.wrapping_add(1);
                let preview = bytes_of("preview")
                    .filter(|p| !p.is_empty())
                    .unwrap_or_else(|| image.clone());
                let paths = ["image", "preview"].map(|k| format!("/v/t61.24694-24/{id}_{k}.jpg"));
                let [image_path, preview_path] = &paths;
                state.media.publish(image_path, image.clone());
                state.media.publish(preview_path, preview.clone());
                state.pictures.insert(
                    key,
                    ProfilePicture {
                        id: id.clone(),
                        image,
                        preview,
                        paths,
                    },
                );
                self.send(&result(
                    node,
                    vec![Node::new("picture").attr("id", id.clone()).build()],
                ))?;
                Node::new("set").attr("id", id)
            }
            None => {
                self.send(&result(node, Vec::new()))?;
                Node::new("delete")
            }
        };
        state.next_stanza_id = state.next_stanza_id.wrapping_add(1);
        let notification = Node::new("notification")
            .attr("from", owner_jid.clone())
            .attr("id", format!("pic-{}", state.next_stanza_id))
            .attr("type", "picture")
            .attr("t", (now_ms / 1000).to_string())
            .child(change.attr("jid", owner_jid).attr("author", me).build())
            .build();
        self.announce(device, group.as_ref(), &notification, state)
    }
}
