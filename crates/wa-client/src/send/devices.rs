//! Device lists and LIDs through usync (whatsmeow `user.go`: `usync`, `GetUserDevices`,
//! `parseDeviceList`, and the `<lid/>` query of `GetUserInfo`).
//!
//! Query: `<iq xmlns="usync" type="get"><usync sid context="message" mode="query" last="true"
//! index="0"><query><devices version="2"/>[<lid/>]</query><list><user jid/>…</list></usync>`.
//! Reply: `<usync><list><user jid><devices><device-list><device id [key-index]
//! [is_hosted]/>…</device-list></devices>[<lid val/>]</user>…</list></usync>`.

use wa_binary::{Jid, Node, Server};

use crate::error::MessageError;

/// What usync said about one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserDevices {
    /// The user as the reply names it (non-AD).
    pub user: Jid,
    /// Its devices as AD JIDs (hosted devices on the hosted servers), in reply order.
    pub devices: Vec<Jid>,
    /// Its LID (non-AD), when a `<lid/>` query was answered with one.
    pub lid: Option<Jid>,
}

fn bad(why: impl Into<String>) -> MessageError {
    MessageError::BadReply {
        what: "usync",
        why: why.into(),
    }
}

/// The usync IQ asking for the device lists (and, with `with_lid`, the LIDs) of `users`.
#[must_use]
pub fn devices_query(users: &[Jid], sid: &str, with_lid: bool) -> Node {
    let mut query = vec![Node::new("devices").attr("version", "2").build()];
    if with_lid {
        query.push(Node::new("lid").build());
    }
    Node::new("iq")
        .attr("xmlns", "usync")
        .attr("type", "get")
        .child(usync_node(sid, ("query", "message"), query, users))
        .build()
}

/// The `<usync>` element of a usync IQ: session id `sid`, `(mode, context)`, the `<query>`
/// children and one `<user jid>` per entry of `users` (without device).
pub(crate) fn usync_node(
    sid: &str,
    (mode, context): (&str, &str),
    query: impl IntoIterator<Item = Node>,
    users: &[Jid],
) -> Node {
    Node::new("usync")
        .attr("sid", sid)
        .attr("mode", mode)
        .attr("last", "true")
        .attr("index", "0")
        .attr("context", context)
        .child(Node::new("query").children(query).build())
        .child(
            Node::new("list")
                .children(
                    users
                        .iter()
                        .map(|u| Node::new("user").attr("jid", u.to_non_ad()).build()),
                )
                .build(),
        )
        .build()
}

/// Parses a usync reply (the whole `<iq type="result">`). Users without a usable `jid` are
/// skipped; a missing `<usync><list>` is an error. A device without a numeric `id` is
/// skipped, as whatsmeow does.
pub fn parse_devices_reply(reply: &Node) -> Result<Vec<UserDevices>, MessageError> {
    let list = reply
        .child_path(&["usync", "list"])
        .ok_or_else(|| bad("no <usync><list>"))?;
    let mut out = Vec::new();
    for user in list.children_by_tag("user") {
        let Some(jid) = user.attr("jid").and_then(|v| v.as_jid()) else {
            continue;
        };
        let user_jid = jid.to_non_ad();
        let devices = user
            .child_path(&["devices", "device-list"])
            .map(|l| parse_device_list(&user_jid, l))
            .unwrap_or_default();
        let lid = user
            .child("lid")
            .and_then(|l| l.attr("val"))
            .and_then(|v| v.as_jid())
            .filter(|j| *j.server() == Server::Lid)
            .map(Jid::to_non_ad);
        out.push(UserDevices {
            user: user_jid,
            devices,
            lid,
        });
    }
    Ok(out)
}

fn parse_device_list(user: &Jid, list: &Node) -> Vec<Jid> {
    list.children_by_tag("device")
        .filter_map(|d| {
            let mut r = d.attr_reader();
            let id = u16::try_from(r.optional_u64("id")?).ok()?;
            let hosted = r.optional_bool("is_hosted").unwrap_or(false);
            let jid = if hosted {
                let server = if *user.server() == Server::Lid {
                    Server::HostedLid
                } else {
                    Server::Hosted
                };
                Jid::new(user.user(), server).with_device(id)
            } else {
                user.clone().with_device(id)
            };
            Some(jid)
        })
        .collect()
}

/// Whether `a` and `b` name the same device (user, server and device number).
pub(crate) fn same_device(a: &Jid, b: &Jid) -> bool {
    a.user() == b.user() && a.server() == b.server() && a.device() == b.device()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jid(s: &str) -> Jid {
        s.parse().unwrap()
    }

    #[test]
    fn query_has_the_whatsmeow_shape() {
        let q = devices_query(&[jid("1555:3@s.whatsapp.net")], "sid-1", true);
        assert_eq!(q.attr("xmlns").unwrap().as_str(), Some("usync"));
        let usync = q.child("usync").unwrap();
        assert_eq!(usync.attr("context").unwrap().as_str(), Some("message"));
        assert_eq!(usync.attr("sid").unwrap().as_str(), Some("sid-1"));
        let query = usync.child("query").unwrap();
        assert_eq!(
            query
                .child("devices")
                .unwrap()
                .attr("version")
                .unwrap()
                .as_str(),
            Some("2")
        );
        assert!(query.child("lid").is_some());
        let user = usync.child_path(&["list", "user"]).unwrap();
        // Device numbers are dropped from the query.
        assert_eq!(
            user.attr("jid").unwrap().as_jid(),
            Some(&jid("1555@s.whatsapp.net"))
        );
        let no_lid = devices_query(&[jid("1555@s.whatsapp.net")], "s", false);
        assert!(no_lid.child_path(&["usync", "query", "lid"]).is_none());
    }

    fn user(j: &str, devices: &[(&str, bool)], lid: Option<&str>) -> Node {
        let mut b = Node::new("user").attr("jid", jid(j)).child(
            Node::new("devices")
                .child(
                    Node::new("device-list")
                        .children(devices.iter().map(|(id, hosted)| {
                            let d = Node::new("device").attr("id", *id).attr("key-index", "1");
                            if *hosted {
                                d.attr("is_hosted", "true").build()
                            } else {
                                d.build()
                            }
                        }))
                        .build(),
                )
                .build(),
        );
        if let Some(l) = lid {
            b = b.child(Node::new("lid").attr("val", jid(l)).build());
        }
        b.build()
    }

    fn reply(users: Vec<Node>) -> Node {
        Node::new("iq")
            .attr("type", "result")
            .child(
                Node::new("usync")
                    .child(Node::new("list").children(users).build())
                    .build(),
            )
            .build()
    }

    #[test]
    fn devices_lids_and_hosted_devices_parse() {
        let r = reply(vec![
            user(
                "1555@s.whatsapp.net",
                &[("0", false), ("3", false), ("x", false), ("99", true)],
                Some("777@lid"),
            ),
            user("888@lid", &[("0", false)], None),
            Node::new("user").build(), // no jid: skipped
        ]);
        let got = parse_devices_reply(&r).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].user, jid("1555@s.whatsapp.net"));
        assert_eq!(
            got[0].devices,
            vec![
                jid("1555@s.whatsapp.net"),
                jid("1555:3@s.whatsapp.net"),
                Jid::new("1555", Server::Hosted).with_device(99),
            ]
        );
        assert_eq!(got[0].lid, Some(jid("777@lid")));
        assert_eq!(got[1].devices, vec![jid("888@lid")]);
        assert_eq!(got[1].lid, None);
    }

    #[test]
    fn a_reply_without_a_list_is_a_typed_error() {
        let r = Node::new("iq").attr("type", "result").build();
        assert!(matches!(
            parse_devices_reply(&r),
            Err(MessageError::BadReply { what: "usync", .. })
        ));
        // A user without <devices> has no devices, which is not an error.
        let r = reply(vec![
            Node::new("user")
                .attr("jid", jid("1@s.whatsapp.net"))
                .build(),
        ]);
        assert!(parse_devices_reply(&r).unwrap()[0].devices.is_empty());
    }

    #[test]
    fn same_device_compares_user_server_and_device() {
        assert!(same_device(
            &jid("1:2@s.whatsapp.net"),
            &jid("1:2@s.whatsapp.net")
        ));
        assert!(!same_device(&jid("1:2@s.whatsapp.net"), &jid("1:2@lid")));
        assert!(!same_device(
            &jid("1:2@s.whatsapp.net"),
            &jid("1:3@s.whatsapp.net")
        ));
    }
}
