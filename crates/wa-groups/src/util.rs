//! Shared helpers: the `<iq>` envelope, reply checking and small typed readers.

use wa_binary::{AttrReader, Content, Jid, Node, Server};

use crate::GroupError;

/// `get` or `set`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IqType {
    Get,
    Set,
}

/// The JID of the group server, `@g.us`, the target of requests that name no group.
pub fn group_server() -> Jid {
    Jid::new("", Server::Group)
}

/// An `<iq xmlns="w:g2">` to `to` holding one child; the client adds the `id`.
pub(crate) fn iq(kind: IqType, to: Jid, content: Node) -> Node {
    let kind = match kind {
        IqType::Get => "get",
        IqType::Set => "set",
    };
    Node::new("iq")
        .attr("to", to)
        .attr("type", kind)
        .attr("xmlns", crate::NAMESPACE)
        .child(content)
        .build()
}

/// Checks that `reply` is `<iq type="result">`; an error reply becomes [`GroupError::Server`].
pub fn check_reply(reply: &Node) -> Result<&Node, GroupError> {
    if reply.tag.as_str() != "iq" {
        return Err(GroupError::NotIq(reply.tag.as_str().to_owned()));
    }
    let mut r = reply.attr_reader();
    let kind = r.required_string("type").ok();
    finish(r, "iq")?;
    match kind {
        Some("result") => Ok(reply),
        Some("error") => {
            let err = child(reply, "error", "error reply")?;
            let mut r = err.attr_reader();
            let code = r.required_u64("code").ok();
            let text = r.optional_string("text").unwrap_or_default().to_owned();
            finish(r, "error")?;
            let code = code
                .and_then(|c| u16::try_from(c).ok())
                .ok_or(GroupError::BadContent {
                    element: "error",
                    reason: "error code out of range",
                })?;
            Err(GroupError::Server { code, text })
        }
        Some(other) => Err(GroupError::UnexpectedIqType(other.to_owned())),
        None => Err(GroupError::UnexpectedIqType(String::new())),
    }
}

/// The first child `tag` of `node`, or [`GroupError::MissingElement`].
pub(crate) fn child<'a>(
    node: &'a Node,
    tag: &'static str,
    context: &'static str,
) -> Result<&'a Node, GroupError> {
    node.child(tag)
        .ok_or(GroupError::MissingElement { tag, context })
}

/// Turns the reader's collected failures into [`GroupError::Attrs`].
pub(crate) fn finish(r: AttrReader<'_>, element: &str) -> Result<(), GroupError> {
    r.finish().map_err(|source| GroupError::Attrs {
        element: element.to_owned(),
        source,
    })
}

/// The node's content as UTF-8 text (no content is the empty string).
pub(crate) fn text(node: &Node, element: &'static str) -> Result<String, GroupError> {
    match &node.content {
        Content::None => Ok(String::new()),
        Content::Bytes(b) => String::from_utf8(b.clone()).map_err(|_| GroupError::BadContent {
            element,
            reason: "text is not UTF-8",
        }),
        Content::Nodes(_) => Err(GroupError::BadContent {
            element,
            reason: "expected text, found child elements",
        }),
    }
}

/// A group JID from an `id` attribute: a bare id (`123-456`) or a full JID.
pub(crate) fn group_jid_from_id(id: &str) -> Result<Jid, GroupError> {
    let bad = || GroupError::BadContent {
        element: "group",
        reason: "group id is not a group JID",
    };
    if id.is_empty() {
        return Err(bad());
    }
    if id.contains('@') {
        let jid: Jid = id.parse().map_err(|_| bad())?;
        if jid.is_group() { Ok(jid) } else { Err(bad()) }
    } else {
        Ok(Jid::new(id, Server::Group))
    }
}

/// A `u32` from a `u64` attribute, saturating (timers and sizes never reach it).
pub(crate) fn to_u32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_reply_is_typed() {
        let reply = Node::new("iq")
            .attr("type", "error")
            .child(
                Node::new("error")
                    .attr("code", "403")
                    .attr("text", "forbidden")
                    .build(),
            )
            .build();
        let err = check_reply(&reply).unwrap_err();
        assert!(matches!(&err, GroupError::Server { code: 403, text } if text == "forbidden"));
        assert_eq!(err.server_code(), Some(403));
    }

    #[test]
    fn malformed_replies_are_errors() {
        let not_iq = Node::new("message").build();
        assert!(matches!(check_reply(&not_iq), Err(GroupError::NotIq(t)) if t == "message"));
        let no_type = Node::new("iq").build();
        assert!(matches!(
            check_reply(&no_type),
            Err(GroupError::Attrs { .. })
        ));
        let odd = Node::new("iq").attr("type", "set").build();
        assert!(matches!(check_reply(&odd), Err(GroupError::UnexpectedIqType(t)) if t == "set"));
        let no_error_child = Node::new("iq").attr("type", "error").build();
        assert!(matches!(
            check_reply(&no_error_child),
            Err(GroupError::MissingElement { tag: "error", .. })
        ));
        let bad_code = Node::new("iq")
            .attr("type", "error")
            .child(Node::new("error").attr("code", "abc").build())
            .build();
        assert!(matches!(
            check_reply(&bad_code),
            Err(GroupError::Attrs { .. })
        ));
        let huge_code = Node::new("iq")
            .attr("type", "error")
            .child(Node::new("error").attr("code", "70000").build())
            .build();
        assert!(matches!(
            check_reply(&huge_code),
            Err(GroupError::BadContent { .. })
        ));
    }

    #[test]
    fn group_ids() {
        assert_eq!(
            group_jid_from_id("123-456").unwrap().to_string(),
            "123-456@g.us"
        );
        assert_eq!(group_jid_from_id("1@g.us").unwrap().to_string(), "1@g.us");
        assert!(group_jid_from_id("1@s.whatsapp.net").is_err());
        assert!(group_jid_from_id("").is_err());
        assert!(group_jid_from_id("a@b@c").is_err());
    }

    #[test]
    fn text_content() {
        let n = Node::new("body").bytes(b"hi".to_vec()).build();
        assert_eq!(text(&n, "body").unwrap(), "hi");
        let bad = Node::new("body").bytes(vec![0xff]).build();
        assert!(text(&bad, "body").is_err());
        let nodes = Node::new("body").children([]).build();
        assert!(text(&nodes, "body").is_err());
    }
}
