//! Lookups across accounts: usync (device lists with key-index data, "is on WhatsApp"
//! contact queries, PN→LID, about texts and profile picture ids) and prekey bundle fetches for any device of any account.

use wa_binary::{Jid, Node, Server};

use super::Connection;
use super::iq::{id3, skey_node};
use super::stanza::{error, result};
use crate::error::Result;
use crate::state::{AccountId, DeviceKey, ServerState};

/// What a usync query asked for.
#[derive(Debug, Clone, Copy)]
struct Wanted {
    devices: bool,
    lid: bool,
    contact: bool,
    /// `<contact addressing_mode='lid'/>` (whatsmeow's `IsOnWhatsApp`): known numbers are
    /// answered with `jid` = the LID and `pn_jid` = the phone-number JID.
    contact_lid: bool,
    /// `<status/>`: the about text (`<status t>TEXT</status>`, `code="401"` when hidden).
    status: bool,
    /// `<picture/>`: the profile picture id (`<picture id/>`, no id when none or hidden).
    picture: bool,
    /// The asking account (for the `status` and `profile` privacy settings).
    requester: AccountId,
}

/// The `<devices>` child for account `a`: the phone and every companion with its key index,
/// plus the phone-signed `<key-index-list>`.
fn devices_node(state: &ServerState, account: AccountId, now_ms: u64) -> Node {
    let mut list = Vec::new();
    let mut key_index = None;
    if let Some(a) = state.acct(account) {
        list.push(Node::new("device").attr("id", "0").build());
        for d in a.devices.values() {
            list.push(
                Node::new("device")
                    .attr("id", d.id.to_string())
                    .attr("key-index", d.key_index.to_string())
                    .build(),
            );
        }
        let indexes: Vec<u32> = a.devices.values().map(|d| d.key_index).collect();
        let ts = now_ms / 1000;
        let signed = a.phone.sign_key_index_list(
            super::pair::raw_id_of(&a.account.phone_number),
            ts,
            a.next_key_index.saturating_sub(1),
            &indexes,
        );
        key_index = Some(
            Node::new("key-index-list")
                .attr("ts", ts.to_string())
                .bytes(signed)
                .build(),
        );
    }
    let mut b = Node::new("devices").child(Node::new("device-list").children(list).build());
    if let Some(k) = key_index {
        b = b.child(k);
    }
    b.build()
}

/// The answer for one `<user>` of a usync list.
fn user_node(user: &Node, want: Wanted, state: &ServerState, now_ms: u64) -> Node {
    let queried = user.attr("jid").and_then(|v| v.as_jid()).cloned();
    let contact = user
        .child("contact")
        .and_then(Node::bytes)
        .map(|b| String::from_utf8_lossy(b).into_owned());
    let (jid, account) = match (&queried, &contact) {
        (Some(j), _) => (j.to_non_ad(), state.account_of(j)),
        (None, Some(c)) => {
            let digits: String = c.chars().filter(char::is_ascii_digit).collect();
            (
                Jid::new(digits.clone(), Server::User),
                state.account_by_phone(&digits),
            )
        }
        (None, None) => (Jid::new("", Server::User), None),
    };
    let lid_answer = (want.contact_lid && contact.is_some())
        .then(|| account.and_then(|a| state.acct(a)))
        .flatten()
        .map(|a| a.account.lid_jid(0));
    let mut b = match lid_answer {
        Some(lid) => Node::new("user")
            .attr("jid", lid)
            .attr("pn_jid", jid.clone()),
        None => Node::new("user").attr("jid", jid.clone()),
    };
    if want.contact || contact.is_some() {
        let mut c = Node::new("contact").attr("type", if account.is_some() { "in" } else { "out" });
        if let Some(q) = &contact {
            c = c.bytes(q.as_bytes().to_vec());
        }
        b = b.child(c.build());
    }
    if want.devices {
        b = b.child(match account {
            Some(a) => devices_node(state, a, now_ms),
            None => Node::new("devices")
                .child(Node::new("device-list").build())
                .build(),
        });
    }
    if want.status {
        b = b.child(super::profile::status_node(state, account, want.requester));
    }
    if want.picture {
        b = b.child(super::profile::picture_id_node(
            state,
            account,
            want.requester,
        ));
    }
    if want.lid
        && *jid.server() == Server::User
        && let Some(a) = account.and_then(|a| state.acct(a))
    {
        b = b.child(Node::new("lid").attr("val", a.account.lid_jid(0)).build());
    }
    b.build()
}

/// The phone's (device 0) bundle: its identity, registration id and signed prekey.
fn phone_bundle(state: &ServerState, account: AccountId, jid: &Jid) -> Option<Node> {
    let a = state.acct(account)?;
    let (skey, reg) = a.phone.signed_pre_key();
    Some(
        Node::new("user")
            .attr("jid", jid.clone())
            .child(
                Node::new("registration")
                    .bytes(reg.to_be_bytes().to_vec())
                    .build(),
            )
            .child(Node::new("type").bytes(vec![5]).build())
            .child(
                Node::new("identity")
                    .bytes(a.phone.identity().public().to_vec())
                    .build(),
            )
            .child(skey_node(&skey))
            .build(),
    )
}

/// A companion's bundle, consuming one one-time prekey; also reports the count left when it
/// reaches the low mark (or 0).
fn companion_bundle(
    state: &mut ServerState,
    key: DeviceKey,
    jid: &Jid,
) -> Option<(Node, Option<usize>)> {
    let d = state.device_mut(key)?;
    let reg = d.registration_id?;
    let skey = d.signed_pre_key.clone()?;
    let one_time = d.pre_keys.pop_first();
    let left = d.pre_keys.len();
    let low =
        (one_time.is_some() && (left + 1 == super::LOW_PRE_KEY_COUNT || left == 0)).then_some(left);
    let mut b = Node::new("user")
        .attr("jid", jid.clone())
        .child(
            Node::new("registration")
                .bytes(reg.to_be_bytes().to_vec())
                .build(),
        )
        .child(Node::new("type").bytes(vec![5]).build())
        .child(Node::new("identity").bytes(d.identity_key.to_vec()).build())
        .child(skey_node(&skey));
    if let Some((id, v)) = one_time {
        b = b.child(
            Node::new("key")
                .child(Node::new("id").bytes(id3(id)).build())
                .child(Node::new("value").bytes(v.to_vec()).build())
                .build(),
        );
    }
    state.touch();
    Some((b.build(), low))
}

impl Connection {
    /// `<iq xmlns='usync' type='get'><usync><query>…</query><list><user …/></list></usync>`.
    pub(super) fn usync(
        &mut self,
        node: &Node,
        device: DeviceKey,
        now_ms: u64,
        state: &ServerState,
    ) -> Result<()> {
        let Some(usync) = node.child("usync") else {
            return self.send(&error(node, 400, "bad-request"));
        };
        let query = usync.child("query");
        let want = Wanted {
            devices: query.and_then(|q| q.child("devices")).is_some(),
            lid: query.and_then(|q| q.child("lid")).is_some(),
            contact: query.and_then(|q| q.child("contact")).is_some(),
            contact_lid: query
                .and_then(|q| q.child("contact"))
                .and_then(|c| c.attr("addressing_mode"))
                .is_some_and(|m| m.as_str() == Some("lid")),
            status: query.and_then(|q| q.child("status")).is_some(),
            picture: query.and_then(|q| q.child("picture")).is_some(),
            requester: device.account,
        };
        let users: Vec<Node> = usync
            .child("list")
            .into_iter()
            .flat_map(|l| l.children_by_tag("user"))
            .map(|u| user_node(u, want, state, now_ms))
            .collect();
        let mut reply = Node::new("usync");
        for (k, v) in usync.attrs.iter() {
            if matches!(k, "sid" | "mode" | "context" | "index" | "last") {
                reply = reply.attr(k.to_owned(), v.clone());
            }
        }
        let reply = reply
            .child(Node::new("list").children(users).build())
            .build();
        self.send(&result(node, vec![reply]))
    }

    /// `<iq xmlns='encrypt' type='get'><key><user jid/>…</key>`: a bundle per device of any
    /// account (PN or LID JID; the phone answers with its signed prekey and no one-time key),
    /// `<error code='404'>` for unknown ones. Low-prekey notifications follow.
    pub(super) fn fetch_keys(
        &mut self,
        node: &Node,
        now_ms: u64,
        state: &mut ServerState,
    ) -> Result<()> {
        let mut users = Vec::new();
        let mut low = Vec::new();
        for user in node
            .child("key")
            .into_iter()
            .flat_map(|k| k.children_by_tag("user"))
        {
            let Some(jid) = user.attr("jid").and_then(|v| v.as_jid()).cloned() else {
                continue;
            };
            let bundle = match state.locate(&jid) {
                Some(k) if k.device == 0 => phone_bundle(state, k.account, &jid),
                Some(k) => companion_bundle(state, k, &jid).map(|(n, left)| {
                    if let Some(left) = left {
                        low.push((k, left));
                    }
                    n
                }),
                None => None,
            };
            users.push(bundle.unwrap_or_else(|| {
                Node::new("user")
                    .attr("jid", jid)
                    .child(
                        Node::new("error")
                            .attr("code", "404")
                            .attr("text", "item-not-found")
                            .build(),
                    )
                    .build()
            }));
        }
        self.send(&result(
            node,
            vec![Node::new("list").children(users).build()],
        ))?;
        for (device, left) in low {
            self.notify_low_pre_keys(device, left, now_ms, state)?;
        }
        Ok(())
    }
}
