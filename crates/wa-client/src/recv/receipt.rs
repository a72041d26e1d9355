//! `<receipt>` stanzas: the ones we receive become [`ReceiptEvent`]s (whatsmeow `receipt.go`
//! `parseReceipt`), the ones we send for read and played messages (`MarkRead`).

use wa_binary::{Jid, Node, Server};

use crate::error::MessageError;
use crate::event::{ReceiptEvent, ReceiptKind};

/// Parses an incoming `<receipt>`. `own_pn` and `own_lid` tell receipts from our own devices
/// (whose chat is the `recipient`) from the other party's.
pub fn parse_receipt(
    node: &Node,
    own_pn: &Jid,
    own_lid: Option<&Jid>,
) -> Result<ReceiptEvent, MessageError> {
    if node.tag.as_str() != "receipt" {
        return Err(MessageError::Malformed(format!(
            "expected <receipt>, got <{}>",
            node.tag.as_str()
        )));
    }
    let mut ag = node.attr_reader();
    let from = ag.required_jid("from");
    let id = ag.required_string("id").map(str::to_owned);
    let kind = ReceiptKind::from_attr(ag.optional_string("type"));
    let timestamp = ag.optional_u64("t").unwrap_or(0);
    let participant = ag.optional_jid("participant");
    let recipient = ag.optional_jid("recipient");
    ag.finish()
        .map_err(|e| MessageError::Malformed(e.to_string()))?;
    let (Ok(from), Ok(id)) = (from, id) else {
        return Err(MessageError::Malformed("receipt without from/id".into()));
    };
    let is_own = |j: &Jid| {
        j.user() == own_pn.user()
            || own_lid.is_some_and(|l| !l.user().is_empty() && l.user() == j.user())
    };
    let (chat, sender) = match from.server() {
        Server::Group | Server::Broadcast => {
            let sender = participant.ok_or_else(|| {
                MessageError::Malformed("group receipt without participant".into())
            })?;
            (from, sender)
        }
        _ if is_own(&from) => {
            let chat = recipient
                .map(|r| r.to_non_ad())
                .unwrap_or_else(|| from.to_non_ad());
            (chat, from)
        }
        _ => (from.to_non_ad(), from),
    };
    let mut message_ids = vec![id];
    if let Some(list) = node.child("list") {
        for item in list.children_by_tag("item") {
            if let Some(id) = item.attr("id").and_then(|v| v.as_str()) {
                message_ids.push(id.to_owned());
            }
        }
    }
    Ok(ReceiptEvent {
        chat: chat.to_string(),
        sender: sender.to_string(),
        message_ids,
        kind,
        timestamp,
    })
}

/// Builds the receipt marking `ids` of `chat` as `kind` (whatsmeow `MarkRead`): `to` = the
/// chat, `t` = `timestamp`, `participant` = the sender (without device) in groups, extra ids
/// in `<list><item id/></list>`. Fails on an empty `ids`.
pub fn outgoing_receipt(
    ids: &[String],
    chat: &Jid,
    sender: Option<&Jid>,
    timestamp: u64,
    kind: &ReceiptKind,
) -> Result<Node, MessageError> {
    let (first, rest) = ids
        .split_first()
        .ok_or_else(|| MessageError::Malformed("no message ids to mark".into()))?;
    let mut b = Node::new("receipt")
        .attr("id", first.as_str())
        .attr("to", chat.clone())
        .attr("t", timestamp.to_string());
    if let Some(ty) = kind.as_attr() {
        b = b.attr("type", ty);
    }
    if let Some(sender) = sender
        && !matches!(chat.server(), Server::User | Server::Lid)
    {
        b = b.attr("participant", sender.to_non_ad());
    }
    if !rest.is_empty() {
        b = b.child(
            Node::new("list")
                .children(
                    rest.iter()
                        .map(|id| Node::new("item").attr("id", id.as_str()).build()),
                )
                .build(),
        );
    }
    Ok(b.build())
}
