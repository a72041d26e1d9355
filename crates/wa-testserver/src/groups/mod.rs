//! A sans-IO registry of groups and communities: the server half of `w:g2`.
//!
//! [`GroupRegistry`] keeps every group's state (subject, description, members and their ranks
//! in PN and LID form, announce/locked modes, member-add mode, disappearing timer, join approval
//! and pending requests, invite codes and v4 invites, communities with their linked and default
//! announcement sub-groups, addressing mode). It does no IO and reads no clock: the time comes
//! in as an argument.
//!
//! The engine calls it at three points:
//!
//! - every `<iq xmlns="w:g2">` from a logged-in device goes to [`GroupRegistry::handle_iq`],
//!   which returns the reply (its `id` copied from the request) and the `w:gp2`
//!   notifications to deliver, each addressed to a user (all of that user's devices);
//! - every `<message>` to a `@g.us` JID first asks [`GroupRegistry::message_targets`] who
//!   receives it (a refusal is a [`RegistryError`] whose [`RegistryError::code`] goes in the
//!   `<ack error=…>`: not a member, or not an admin in announce mode);
//! - [`GroupRegistry::participant_hash`] gives the `phash` of the group's devices, which the
//!   engine compares with the message's `phash` and puts on the ack when they differ (as
//!   whatsmeow's `sendGroup` expects).
//!
//! Error codes follow whatsmeow's IQ errors: 400 `bad-request` (malformed request),
//! 401 `not-authorized` (an admin right is needed), 403 `forbidden` (not a member),
//! 404 `item-not-found` (no such group), 406 `not-acceptable` (bad subject, unknown invite
//! code), 409 `conflict` (stale description id, already a member, already linked),
//! 410 `gone` (revoked or expired invite), 501 `feature-not-implemented` (unknown request).
//! Per-member results of add/remove/promote/demote and join-request actions carry 200, 403
//! (refused: an invite was made instead, or the super admin is untouchable), 404 (not a
//! member or no request) or 409 (already a member).

mod links;
mod manage;
mod model;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_links;

use std::collections::{BTreeMap, HashMap, HashSet};

use sha2::{Digest as _, Sha256};
use wa_binary::{Content, Jid, Node, Server};
use wa_groups::AddressingMode;

use model::Group;
pub use model::{Member, Role, UserRef};

/// The longest subject the server accepts, in characters.
pub const MAX_SUBJECT_CHARS: usize = 100;

/// The longest description the server accepts, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2048;

/// How long a v4 invite (made when an add is refused) stays valid, in seconds.
pub const INVITE_V4_LIFETIME: u64 = 7 * 24 * 3600;

/// Why the registry refused a request or a message. [`RegistryError::code`] and
/// [`RegistryError::text`] are what goes on the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// 400: the request is malformed.
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// 401: the requester is a member but the action needs an admin.
    #[error("only admins may do this")]
    NotAdmin,
    /// 403: the requester is not a member of the group.
    #[error("not a participant of the group")]
    NotParticipant,
    /// 404: no such group.
    #[error("no such group")]
    NotFound,
    /// 406: a value the server does not accept (subject too long, unknown invite code, …).
    #[error("not acceptable: {0}")]
    NotAcceptable(&'static str),
    /// 409: the state changed or already is what was asked.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// 410: the invite was revoked or expired.
    #[error("the invite was revoked or expired")]
    Gone,
    /// 401 on a group message: announce mode is on and the sender is not an admin.
    #[error("only admins may send messages to this group")]
    AdminsOnly,
    /// 501: a `w:g2` request this registry does not implement.
    #[error("unsupported group request <{0}>")]
    Unsupported(String),
}

impl RegistryError {
    /// The numeric code of the `<error>` (or of the message ack's `error`).
    #[must_use]
    pub fn code(&self) -> u16 {
        match self {
            Self::BadRequest(_) => 400,
            Self::NotAdmin | Self::AdminsOnly => 401,
            Self::NotParticipant => 403,
            Self::NotFound => 404,
            Self::NotAcceptable(_) => 406,
            Self::Conflict(_) => 409,
            Self::Gone => 410,
            Self::Unsupported(_) => 501,
        }
    }

    /// The text of the `<error>`.
    #[must_use]
    pub fn text(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad-request",
            Self::NotAdmin | Self::AdminsOnly => "not-authorized",
            Self::NotParticipant => "forbidden",
            Self::NotFound => "item-not-found",
            Self::NotAcceptable(_) => "not-acceptable",
            Self::Conflict(_) => "conflict",
            Self::Gone => "gone",
            Self::Unsupported(_) => "feature-not-implemented",
        }
    }
}

/// What one group IQ produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupOutcome {
    /// The `<iq type="result">` or `<iq type="error">` answering the request.
    pub reply: Node,
    /// `w:gp2` notifications: `(user, stanza)`, the user as [`UserRef::user`] (phone-number JID
    /// when known, else LID); deliver the stanza to all of that user's devices (the engine adds
    /// nothing but may rewrite `id`). The same stanza goes to several users.
    pub notifications: Vec<(Jid, Node)>,
}

/// Notifications collected while handling one request.
#[derive(Debug, Default)]
struct Outbox {
    items: Vec<(Jid, Node)>,
}

impl Outbox {
    /// Sends `node` once to each distinct user in `to`.
    fn send(&mut self, to: impl IntoIterator<Item = Jid>, node: &Node) {
        let mut seen = HashSet::new();
        for user in to {
            if seen.insert(user.clone()) {
                self.items.push((user, node.clone()));
            }
        }
    }
}

/// Counters and lookups shared by all groups (split from the group map so handlers can hold a
/// group mutably while minting ids).
#[derive(Debug, Default)]
struct Shared {
    /// PN → LID and LID → PN of registered accounts.
    alternates: HashMap<Jid, Jid>,
    /// Live invite codes.
    codes: HashMap<String, Jid>,
    /// Codes that were reset or belong to deleted groups.
    revoked: HashSet<String>,
    /// Users whose privacy settings refuse direct adds (an invite is made instead).
    invite_only: HashSet<Jid>,
    next_group: u64,
    next_code: u64,
    next_stanza: u64,
}

impl Shared {
    fn stanza_id(&mut self) -> String {
        self.next_stanza += 1;
        format!("gp2.{}", self.next_stanza)
    }

    fn group_jid(&mut self) -> Jid {
        self.next_group += 1;
        Jid::new(format!("120363{:012}", self.next_group), Server::Group)
    }

    /// A fresh 22-character code, deterministic in the registry's history.
    fn code(&mut self, group: &Jid) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        self.next_code += 1;
        let digest = Sha256::new()
            .chain_update(group.to_string().as_bytes())
            .chain_update(self.next_code.to_be_bytes())
            .finalize();
        digest
            .iter()
            .take(22)
            .map(|b| {
                char::from(
                    ALPHABET
                        .get(usize::from(*b) % ALPHABET.len())
                        .copied()
                        .unwrap_or(b'A'),
                )
            })
            .collect()
    }

    /// Both forms of `jid` (device dropped) as far as the registry knows them.
    fn resolve(&self, jid: &Jid, alt: Option<Jid>) -> Option<UserRef> {
        let bare = jid.to_non_ad();
        let known = self.alternates.get(&bare).cloned();
        match bare.server() {
            Server::User => Some(UserRef {
                lid: known.or(alt.filter(|a| *a.server() == Server::Lid)),
                pn: Some(bare),
            }),
            Server::Lid => Some(UserRef {
                pn: known.or(alt.filter(|a| *a.server() == Server::User)),
                lid: Some(bare),
            }),
            _ => None,
        }
    }
}

/// Every group and community of the test server. See the [module docs](self).
#[derive(Debug)]
pub struct GroupRegistry {
    groups: BTreeMap<Jid, Group>,
    shared: Shared,
    addressing: AddressingMode,
}

impl Default for GroupRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl GroupRegistry {
    /// An empty registry whose new groups are LID-addressed.
    #[must_use]
    pub fn new() -> Self {
        Self {
            groups: BTreeMap::new(),
            shared: Shared::default(),
            addressing: AddressingMode::Lid,
        }
    }

    /// Sets the addressing mode of groups created from now on (`pn` or `lid`).
    pub fn set_default_addressing(&mut self, mode: AddressingMode) {
        self.addressing = mode;
    }

    /// Records that `pn` and `lid` are the same account, so members appear in both forms.
    pub fn register_user(&mut self, pn: &Jid, lid: &Jid) {
        let (pn, lid) = (pn.to_non_ad(), lid.to_non_ad());
        if self.shared.alternates.get(&pn) == Some(&lid)
            && self.shared.alternates.get(&lid) == Some(&pn)
        {
            return;
        }
        self.shared.alternates.insert(pn.clone(), lid.clone());
        self.shared.alternates.insert(lid.clone(), pn.clone());
        let user = UserRef {
            pn: Some(pn),
            lid: Some(lid),
        };
        for g in self.groups.values_mut() {
            for m in &mut g.members {
                if m.user.same(&user) {
                    m.user.merge(&user);
                }
            }
        }
    }

    /// Simulates a privacy setting: adds of `user` are refused with 403 and a v4 invite.
    pub fn set_invite_only(&mut self, user: &Jid, on: bool) {
        let bare = user.to_non_ad();
        if on {
            self.shared.invite_only.insert(bare);
        } else {
            self.shared.invite_only.remove(&bare);
        }
    }

    /// The number of groups (communities and their sub-groups included).
    #[must_use]
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// True when there is no group.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The members of `group`, in join order.
    pub fn members(&self, group: &Jid) -> Result<&[Member], RegistryError> {
        Ok(&self.get(group)?.members)
    }

    /// The addressing mode of `group`.
    pub fn addressing_mode(&self, group: &Jid) -> Result<&AddressingMode, RegistryError> {
        Ok(&self.get(group)?.addressing)
    }

    /// The `<group>` element describing `group` with its members, as a group info reply has it.
    pub fn group_node(&self, group: &Jid) -> Result<Node, RegistryError> {
        Ok(self.get(group)?.to_node(true))
    }

    /// Who receives a message `sender` sends to `group`: every member's user JID (as in
    /// [`GroupOutcome::notifications`]), the sender included (for their other devices).
    /// Refused when the group does not exist (404), the sender is not a member (403) or the
    /// group is in announce mode and the sender is not an admin ([`RegistryError::AdminsOnly`]).
    pub fn message_targets(&self, group: &Jid, sender: &Jid) -> Result<Vec<Jid>, RegistryError> {
        let g = self.get(group)?;
        let sender = self
            .shared
            .resolve(sender, None)
            .ok_or(RegistryError::NotParticipant)?;
        let member = g.member(&sender).ok_or(RegistryError::NotParticipant)?;
        if g.announce && !member.role.is_admin() {
            return Err(RegistryError::AdminsOnly);
        }
        Ok(g.users())
    }

    /// The participant hash (`phash`, [`wa_groups::participant_hash_v2`]) of the devices of
    /// `group`'s members: `devices` maps each member to its device JIDs, in the form the
    /// group addresses members ([`UserRef::jid_in`] of [`Self::addressing_mode`]).
    pub fn participant_hash(
        &self,
        group: &Jid,
        mut devices: impl FnMut(&Member) -> Vec<Jid>,
    ) -> Result<String, RegistryError> {
        let g = self.get(group)?;
        let all: Vec<Jid> = g.members.iter().flat_map(&mut devices).collect();
        Ok(wa_groups::participant_hash_v2(&all))
    }

    /// Answers one `<iq xmlns="w:g2">` from `requester` (the account's user JID, PN or LID; a
    /// device part is ignored) at `now` (Unix seconds). Never panics on malformed input: it
    /// becomes an error reply.
    pub fn handle_iq(&mut self, now: u64, requester: &Jid, iq: &Node) -> GroupOutcome {
        let mut out = Outbox::default();
        let result = match self.shared.resolve(requester, None) {
            Some(user) => self.dispatch(now, &user, iq, &mut out),
            None => Err(RegistryError::BadRequest("requester is not a user JID")),
        };
        let from = attr_jid(iq, "to").unwrap_or_else(wa_groups::group_server);
        let id = attr_str(iq, "id").unwrap_or_default();
        match result {
            Ok(children) => {
                let b = Node::new("iq")
                    .attr("type", "result")
                    .attr("id", id)
                    .attr("from", from);
                let reply = if children.is_empty() {
                    b.build()
                } else {
                    b.children(children).build()
                };
                GroupOutcome {
                    reply,
                    notifications: out.items,
                }
            }
            Err(e) => GroupOutcome {
                reply: Node::new("iq")
                    .attr("type", "error")
                    .attr("id", id)
                    .attr("from", from)
                    .child(
                        Node::new("error")
                            .attr("code", e.code())
                            .attr("text", e.text())
                            .build(),
                    )
                    .build(),
                notifications: Vec::new(),
            },
        }
    }

    fn dispatch(
        &mut self,
        now: u64,
        who: &UserRef,
        iq: &Node,
        out: &mut Outbox,
    ) -> Result<Vec<Node>, RegistryError> {
        if iq.tag.as_str() != "iq" || attr_str(iq, "xmlns") != Some(wa_groups::NAMESPACE) {
            return Err(RegistryError::BadRequest("not a w:g2 iq"));
        }
        let to = attr_jid(iq, "to").ok_or(RegistryError::BadRequest("missing to"))?;
        if !to.is_group() || to.device() != 0 {
            return Err(RegistryError::BadRequest("to is not a group JID"));
        }
        let set = match attr_str(iq, "type") {
            Some("set") => true,
            Some("get") => false,
            _ => return Err(RegistryError::BadRequest("type is neither get nor set")),
        };
        let body = iq
            .children()
            .first()
            .ok_or(RegistryError::BadRequest("empty iq"))?;
        let tag = body.tag.as_str();
        if to.user().is_empty() {
            return match (set, tag) {
                (true, "create") => self.create(now, who, body, out),
                (false, "participating") => Ok(self.participating(who)),
                (true, "leave") => Ok(self.leave(now, who, body, out)),
                (false, "invite") => self.link_info(body),
                (true, "invite") => self.join_link(now, who, body, out),
                _ => Err(RegistryError::Unsupported(tag.to_owned())),
            };
        }
        match (set, tag) {
            (false, "query") if body.child("add_request").is_some() => {
                self.invite_v4_info(now, who, &to, body)
            }
            (false, "query") => self.info(who, &to),
            (true, "add" | "remove" | "promote" | "demote") => {
                self.update_participants(now, who, &to, body, out)
            }
            (true, "subject") => self.set_subject(now, who, &to, body, out),
            (true, "description") => self.set_description(now, who, &to, body, out),
            (true, "announcement" | "not_announcement" | "locked" | "unlocked") => {
                self.set_flag(now, who, &to, tag, out)
            }
            (true, "member_add_mode") => self.set_member_add_mode(now, who, &to, body, out),
            (true, "ephemeral" | "not_ephemeral") => self.set_ephemeral(now, who, &to, body, out),
            (true, "membership_approval_mode") => self.set_join_approval(now, who, &to, body, out),
            (_, "invite") => self.invite_code(now, who, &to, set, out),
            (true, "accept") => self.accept_v4(now, who, &to, body, out),
            (true, "revoke") => self.revoke_v4(who, &to, body),
            (false, "membership_approval_requests") => self.join_requests(who, &to),
            (true, "membership_requests_action") => self.act_on_requests(now, who, &to, body, out),
            (true, "links") => self.link(now, who, &to, body, out),
            (true, "unlink") => self.unlink(now, who, &to, body, out),
            (false, "sub_groups") => self.sub_groups(who, &to),
            (false, "linked_groups_participants") => self.linked_participants(who, &to),
            _ => Err(RegistryError::Unsupported(tag.to_owned())),
        }
    }

    fn get(&self, group: &Jid) -> Result<&Group, RegistryError> {
        self.groups
            .get(&group.to_non_ad())
            .ok_or(RegistryError::NotFound)
    }

    /// The group, which `who` must be a member of.
    fn member_of(&self, who: &UserRef, group: &Jid) -> Result<&Group, RegistryError> {
        let g = self.get(group)?;
        g.member(who).ok_or(RegistryError::NotParticipant)?;
        Ok(g)
    }

    /// The group, mutably, which `who` must be an admin of.
    fn admin_of(&mut self, who: &UserRef, group: &Jid) -> Result<&mut Group, RegistryError> {
        admin_in(&mut self.groups, who, group)
    }
}

/// The group in `groups`, mutably, which `who` must be an admin of.
fn admin_in<'a>(
    groups: &'a mut BTreeMap<Jid, Group>,
    who: &UserRef,
    group: &Jid,
) -> Result<&'a mut Group, RegistryError> {
    let g = groups
        .get_mut(&group.to_non_ad())
        .ok_or(RegistryError::NotFound)?;
    match g.member(who) {
        None => Err(RegistryError::NotParticipant),
        Some(m) if !m.role.is_admin() => Err(RegistryError::NotAdmin),
        Some(_) => Ok(g),
    }
}

/// A `w:gp2` notification from `group` by `actor` at `now`, holding `changes`.
fn notification(
    id: String,
    now: u64,
    group: &Group,
    actor: Option<&UserRef>,
    changes: Vec<Node>,
) -> Node {
    let mode = &group.addressing;
    let lid_mode = *mode == AddressingMode::Lid;
    Node::new("notification")
        .attr("from", &group.jid)
        .attr("type", "w:gp2")
        .attr("id", id)
        .attr("t", now)
        .attr_opt("participant", actor.map(|a| a.jid_in(mode)))
        .attr_opt(
            "participant_pn",
            actor.and_then(|a| a.pn.clone()).filter(|_| lid_mode),
        )
        .attr("addressing_mode", mode.as_str())
        .children(changes)
        .build()
}

/// A string attribute (a JID value is not a string).
fn attr_str<'a>(node: &'a Node, key: &str) -> Option<&'a str> {
    node.attr(key).and_then(|v| v.as_str())
}

/// A JID attribute, whether it arrived as a JID or as text.
fn attr_jid(node: &Node, key: &str) -> Option<Jid> {
    let v = node.attr(key)?;
    match v.as_jid() {
        Some(j) => Some(j.clone()),
        None => v.as_str().and_then(|s| s.parse().ok()),
    }
}

/// A group named by `key`: a JID, or a bare id (`123-456`).
fn attr_group(node: &Node, key: &str) -> Option<Jid> {
    let v = node.attr(key)?;
    let jid = match v.as_str() {
        Some(s) if !s.contains('@') && !s.is_empty() => Jid::new(s.to_owned(), Server::Group),
        _ => attr_jid(node, key)?,
    };
    jid.is_group().then_some(jid)
}

/// The node's content as UTF-8 text (no content is empty).
fn text(node: &Node) -> Result<String, RegistryError> {
    match &node.content {
        Content::None => Ok(String::new()),
        Content::Bytes(b) => {
            String::from_utf8(b.clone()).map_err(|_| RegistryError::BadRequest("text is not UTF-8"))
        }
        Content::Nodes(n) if n.is_empty() => Ok(String::new()),
        Content::Nodes(_) => Err(RegistryError::BadRequest("expected text")),
    }
}
