//! Profiles: the about text (status message), profile pictures and user info, as whatsmeow's
//! `user.go` and `group.go` and Baileys' `chats.js` have them.
//!
//! Sans-IO: the requests ([`set_status_request`], [`user_info_request`], [`picture_request`],
//! [`set_picture_request`]), their replies ([`parse_user_info`], [`parse_picture_reply`],
//! [`parse_set_picture_reply`]) and the notifications announcing a change
//! (`<notification type="picture">`, [`parse_picture_notification`]; `<notification
//! type="status">`, [`parse_status_notification`]). [`crate::Client::set_status_message`],
//! [`crate::Client::user_info`], [`crate::Client::profile_picture_info`],
//! [`crate::Client::set_profile_picture`] and [`crate::Client::download_profile_picture`] send
//! them; [`crate::Event::Picture`] and [`crate::Event::UserAbout`] report changes.
//!
//! ```
//! use wa_binary::Jid;
//! use wa_client::profile::picture_request;
//!
//! let bob: Jid = "15550002@s.whatsapp.net".parse().unwrap();
//! let iq = picture_request(&bob, true, None);
//! assert_eq!(iq.attr("target").and_then(|v| v.as_jid()), Some(&bob));
//! let picture = iq.child("picture").unwrap();
//! assert_eq!(picture.attr("type").and_then(|v| v.as_str()), Some("preview"));
//! assert_eq!(picture.attr("query").and_then(|v| v.as_str()), Some("url"));
//! ```

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use wa_binary::{Jid, Node, Server};
use wa_proto::prost::Message as _;

use crate::engine::server_jid;
use crate::error::{Error, IqError};
use crate::event::Event;

/// What usync said about one user ([`crate::Client::user_info`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    /// The about text; `None` when not set or not visible to us.
    pub status: Option<String>,
    /// When the about text was set (Unix seconds), if the server said.
    pub status_timestamp: Option<u64>,
    /// The current profile picture's id; `None` when there is none (or it is hidden).
    pub picture_id: Option<String>,
    /// The verified business name, for business accounts.
    pub verified_name: Option<String>,
    /// The user's devices (AD JIDs: the phone is device 0).
    #[serde(with = "crate::recv::serde_jid_list")]
    pub devices: Vec<Jid>,
}

/// Where a profile picture can be downloaded ([`crate::Client::profile_picture_info`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PictureInfo {
    /// The picture's id (changes with every new picture).
    pub id: String,
    /// The full URL to download it from.
    pub url: String,
    /// The path on the media hosts.
    pub direct_path: String,
    /// `image` (full size) or `preview` (thumbnail).
    #[serde(rename = "type")]
    pub kind: String,
}

/// A profile picture (of a user or a group) changed (`<notification type="picture">`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PictureEvent {
    /// Whose picture: the user or the group.
    #[serde(with = "crate::recv::serde_jid")]
    pub jid: Jid,
    /// Who changed it, when the server says (a group admin, …).
    #[serde(with = "crate::recv::serde_opt_jid")]
    pub author: Option<Jid>,
    /// The picture was removed.
    pub remove: bool,
    /// The new picture's id (`None` when removed).
    pub picture_id: Option<String>,
    /// When (Unix seconds; 0 when absent).
    pub timestamp: u64,
}

/// A user changed their about text (`<notification type="status"><set>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserAboutEvent {
    /// The user.
    #[serde(with = "crate::recv::serde_jid")]
    pub jid: Jid,
    /// The new about text.
    pub status: String,
    /// When (Unix seconds; 0 when absent).
    pub timestamp: u64,
}

fn attr_str<'a>(node: &'a Node, key: &str) -> Option<&'a str> {
    node.attr(key).and_then(|v| v.as_str())
}

fn attr_u64(node: &Node, key: &str) -> Option<u64> {
    attr_str(node, key).and_then(|t| t.parse().ok())
}

/// `<iq xmlns="status" type="set"><status>TEXT</status></iq>`: sets our about text.
#[must_use]
pub fn set_status_request(text: &str) -> Node {
    Node::new("iq")
        .attr("xmlns", "status")
        .attr("type", "set")
        .attr("to", server_jid())
        .child(Node::new("status").bytes(text.as_bytes().to_vec()).build())
        .build()
}

/// The usync IQ of whatsmeow's `GetUserInfo` (`mode="full" context="background"`, querying
/// `<business><verified_name/></business>`, `<status/>`, `<picture/>` and `<devices
/// version="2"/>`) for `users`, with session id `sid`.
#[must_use]
pub fn user_info_request(users: &[Jid], sid: &str) -> Node {
    let query = [
        Node::new("business")
            .child(Node::new("verified_name").build())
            .build(),
        Node::new("status").build(),
        Node::new("picture").build(),
        Node::new("devices").attr("version", "2").build(),
    ];
    Node::new("iq")
        .attr("xmlns", "usync")
        .attr("type", "get")
        .attr("to", server_jid())
        .child(crate::send::devices::usync_node(
            sid,
            ("full", "background"),
            query,
            users,
        ))
        .build()
}

/// The name inside a `<verified_name>` certificate (a `VerifiedNameCertificate` whose
/// `details` hold the name); `None` when absent or undecodable.
fn verified_name(user: &Node) -> Option<String> {
    let cert = user.child_path(&["business", "verified_name"])?.bytes()?;
    let cert = wa_proto::proto::VerifiedNameCertificate::decode(cert).ok()?;
    let details = wa_proto::proto::verified_name_certificate::Details::decode(
        cert.details.as_deref().unwrap_or_default(),
    )
    .ok()?;
    details.verified_name.filter(|n| !n.is_empty())
}

/// Parses a [`user_info_request`] reply (the whole `<iq type="result">`): one [`UserInfo`] per
/// `<user jid>` (users without a JID are skipped). A missing `<usync><list>` is an error.
pub fn parse_user_info(reply: &Node) -> Result<HashMap<Jid, UserInfo>, Error> {
    let list = reply
        .child_path(&["usync", "list"])
        .ok_or_else(|| Error::Protocol("usync reply without <usync><list>".into()))?;
    let mut devices: HashMap<Jid, Vec<Jid>> = crate::send::devices::parse_devices_reply(reply)
        .map_err(crate::error::Error::from)?
        .into_iter()
        .map(|u| (u.user, u.devices))
        .collect();
    let mut out = HashMap::new();
    for user in list.children_by_tag("user") {
        let Some(jid) = user
            .attr("jid")
            .and_then(|v| v.as_jid())
            .map(Jid::to_non_ad)
        else {
            continue;
        };
        let status = user.child("status");
        let info = UserInfo {
            status: status
                .filter(|s| attr_str(s, "code").is_none())
                .and_then(Node::bytes)
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .filter(|s| !s.is_empty()),
            status_timestamp: status.and_then(|s| attr_u64(s, "t")).filter(|t| *t > 0),
            picture_id: user
                .child("picture")
                .and_then(|p| attr_str(p, "id"))
                .filter(|id| !id.is_empty())
                .map(str::to_owned),
            verified_name: verified_name(user),
            devices: devices.remove(&jid).unwrap_or_default(),
        };
        out.insert(jid, info);
    }
    Ok(out)
}

/// `<iq xmlns="w:profile:picture" type="get"><picture query="url" type="image|preview"
/// [id]/></iq>` for `jid`'s picture: a group is asked directly (`to` = the group), a user
/// through the server (`target` = the user). With `existing_id`, the server answers "not
/// modified" when the picture is still that one.
#[must_use]
pub fn picture_request(jid: &Jid, preview: bool, existing_id: Option<&str>) -> Node {
    let mut picture = Node::new("picture")
        .attr("query", "url")
        .attr("type", if preview { "preview" } else { "image" });
    if let Some(id) = existing_id.filter(|id| !id.is_empty()) {
        picture = picture.attr("id", id);
    }
    let iq = Node::new("iq")
        .attr("xmlns", "w:profile:picture")
        .attr("type", "get");
    let iq = if *jid.server() == Server::Group {
        iq.attr("to", jid.to_non_ad())
    } else {
        iq.attr("to", server_jid()).attr("target", jid.to_non_ad())
    };
    iq.child(picture.build()).build()
}

/// Parses a [`picture_request`] reply: `None` when the server says the picture is still
/// `existing_id` (`status="304"`, or no `<picture>` at all after asking with an id).
pub fn parse_picture_reply(
    reply: &Node,
    asked_with_id: bool,
) -> Result<Option<PictureInfo>, Error> {
    let Some(picture) = reply.child("picture") else {
        return if asked_with_id {
            Ok(None)
        } else {
            Err(Error::Protocol("picture reply without <picture>".into()))
        };
    };
    if attr_u64(picture, "status") == Some(304) {
        return Ok(None);
    }
    let get = |key: &'static str| {
        attr_str(picture, key)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| Error::Protocol(format!("<picture> without {key}")))
    };
    Ok(Some(PictureInfo {
        id: get("id")?,
        url: get("url")?,
        direct_path: attr_str(picture, "direct_path")
            .unwrap_or_default()
            .to_owned(),
        kind: attr_str(picture, "type").unwrap_or("image").to_owned(),
    }))
}

/// Maps the IQ errors of a picture query to the typed ones: 401 is
/// [`Error::ProfilePictureUnauthorized`], 404 [`Error::ProfilePictureNotSet`].
#[must_use]
pub fn picture_error(error: Error) -> Error {
    match error {
        Error::Iq(IqError::Server { code: 401, .. }) => Error::ProfilePictureUnauthorized,
        Error::Iq(IqError::Server { code: 404, .. }) => Error::ProfilePictureNotSet,
        other => other,
    }
}

/// `<iq xmlns="w:profile:picture" type="set" [target]>[<picture type="image">JPEG</picture>]
/// </iq>`: sets (`Some`) or removes (`None`) a picture; `target` names a group (or
/// another chat we administer), `None` is our own picture.
#[must_use]
pub fn set_picture_request(target: Option<&Jid>, jpeg: Option<&[u8]>) -> Node {
    let mut iq = Node::new("iq")
        .attr("xmlns", "w:profile:picture")
        .attr("type", "set")
        .attr("to", server_jid());
    if let Some(target) = target {
        iq = iq.attr("target", target.to_non_ad());
    }
    if let Some(jpeg) = jpeg {
        iq = iq.child(
            Node::new("picture")
                .attr("type", "image")
                .bytes(jpeg.to_vec())
                .build(),
        );
    }
    iq.build()
}

/// The new picture's id from a [`set_picture_request`] reply (`<picture id>`).
pub fn parse_set_picture_reply(reply: &Node) -> Result<String, Error> {
    reply
        .child("picture")
        .and_then(|p| attr_str(p, "id"))
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| Error::Protocol("picture set reply without <picture id>".into()))
}

/// The changes a `<notification type="picture">` announces: one per `<set>`, `<add>` (a new
/// picture, with `id`) or `<delete>` child with a `jid` (others are skipped, as whatsmeow
/// does). The event's time is the notification's `t`.
pub fn parse_picture_notification(node: &Node) -> Result<Vec<PictureEvent>, Error> {
    if node.tag != "notification" || attr_str(node, "type") != Some("picture") {
        return Err(Error::Protocol("not a picture notification".into()));
    }
    let timestamp = attr_u64(node, "t").unwrap_or(0);
    let mut out = Vec::new();
    for child in node.children() {
        let remove = match child.tag.as_str() {
            "delete" => true,
            "set" | "add" => false,
            _ => continue,
        };
        let Some(jid) = child.attr("jid").and_then(|v| v.as_jid()).cloned() else {
            tracing::debug!("picture change without a jid skipped");
            continue;
        };
        let picture_id = attr_str(child, "id")
            .filter(|id| !id.is_empty())
            .map(str::to_owned);
        if !remove && picture_id.is_none() {
            tracing::debug!("picture change without an id skipped");
            continue;
        }
        out.push(PictureEvent {
            jid,
            author: child.attr("author").and_then(|v| v.as_jid()).cloned(),
            remove,
            picture_id: if remove { None } else { picture_id },
            timestamp,
        });
    }
    Ok(out)
}

/// Our own picture changed on another device (`<notification type="account_sync"><picture/>`,
/// as whatsmeow reads it): an event for our non-AD JID with no id, at the notification's `t`.
#[must_use]
pub fn own_picture_changed(own: &Jid, notification: &Node) -> PictureEvent {
    PictureEvent {
        jid: own.to_non_ad(),
        author: None,
        remove: false,
        picture_id: None,
        timestamp: attr_u64(notification, "t").unwrap_or(0),
    }
}

/// The about-text change of a `<notification type="status" from><set>TEXT</set>`.
pub fn parse_status_notification(node: &Node) -> Result<UserAboutEvent, Error> {
    if node.tag != "notification" || attr_str(node, "type") != Some("status") {
        return Err(Error::Protocol("not a status notification".into()));
    }
    let jid = node
        .attr("from")
        .and_then(|v| v.as_jid())
        .map(Jid::to_non_ad)
        .ok_or_else(|| Error::Protocol("status notification without from".into()))?;
    let set = node
        .child("set")
        .ok_or_else(|| Error::Protocol("status notification without <set>".into()))?;
    let status = match &set.content {
        wa_binary::Content::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        wa_binary::Content::None => String::new(),
        wa_binary::Content::Nodes(_) => {
            return Err(Error::Protocol("status <set> holds nodes".into()));
        }
    };
    Ok(UserAboutEvent {
        jid,
        status,
        timestamp: attr_u64(node, "t").unwrap_or(0),
    })
}

/// The events of a `picture` or `status` notification (none for other notifications or
/// unusable ones, which are logged).
pub(crate) fn notification_events(node: &Node) -> Vec<Event> {
    match attr_str(node, "type") {
        Some("picture") => match parse_picture_notification(node) {
            Ok(changes) => changes.into_iter().map(Event::Picture).collect(),
            Err(e) => {
                tracing::debug!(error = %e, "picture notification ignored");
                Vec::new()
            }
        },
        Some("status") => match parse_status_notification(node) {
            Ok(about) => vec![Event::UserAbout(about)],
            Err(e) => {
                tracing::debug!(error = %e, "status notification ignored");
                Vec::new()
            }
        },
        _ => Vec::new(),
    }
}

#[cfg(test)]
#[path = "profile_tests.rs"]
mod tests;
