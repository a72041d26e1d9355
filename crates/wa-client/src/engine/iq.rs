//! IQ bookkeeping: request ids, the table of outstanding requests with their deadlines, and
//! turning a reply into a result.

use std::collections::HashMap;
use std::time::Instant;

use wa_binary::Node;

use crate::error::IqError;

/// A handle for an IQ the application sent through [`super::Engine::send_iq`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IqToken(pub u64);

/// Who is waiting for an IQ reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IqKind {
    /// The application.
    User(IqToken),
    /// `<count/>` of our prekeys on the server.
    PreKeyCount,
    /// The prekey upload of keys up to this id; `at_login` when it is part of the login
    /// sequence (the reply then goes on to `<active/>`), not an answer to a low-prekey
    /// notification.
    PreKeyUpload {
        last_id: u32,
        count: u32,
        at_login: bool,
    },
    /// `<active/>`.
    Passive,
    /// A keepalive ping.
    Ping,
    /// `remove-companion-device`.
    Logout,
    /// A `link_code_companion_reg` stage (phone-code pairing).
    PairCode,
}

#[derive(Debug)]
struct Pending {
    kind: IqKind,
    deadline: Instant,
}

/// Outstanding IQs by id.
#[derive(Debug)]
pub(crate) struct IqTable {
    prefix: String,
    counter: u64,
    pending: HashMap<String, Pending>,
}

impl IqTable {
    /// A table whose ids start with `prefix` (random per connection, as whatsmeow's
    /// `uniqueID` prefix).
    pub(crate) fn new(prefix: String) -> Self {
        Self {
            prefix,
            counter: 0,
            pending: HashMap::new(),
        }
    }

    /// A fresh request id.
    pub(crate) fn next_id(&mut self) -> String {
        self.counter = self.counter.wrapping_add(1);
        format!("{}{}", self.prefix, self.counter)
    }

    /// Remembers a request.
    pub(crate) fn insert(&mut self, id: String, kind: IqKind, deadline: Instant) {
        self.pending.insert(id, Pending { kind, deadline });
    }

    /// Takes the request `id` answers, if we sent it.
    pub(crate) fn take(&mut self, id: &str) -> Option<IqKind> {
        self.pending.remove(id).map(|p| p.kind)
    }

    /// Forgets a user request (cancellation).
    pub(crate) fn cancel(&mut self, token: IqToken) -> bool {
        let before = self.pending.len();
        self.pending.retain(|_, p| p.kind != IqKind::User(token));
        before != self.pending.len()
    }

    /// Removes and returns every request whose deadline is at or before `now`.
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<IqKind> {
        let expired: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(id, _)| id.clone())
            .collect();
        expired
            .into_iter()
            .filter_map(|id| self.pending.remove(&id).map(|p| p.kind))
            .collect()
    }

    /// Removes every request (the connection ended).
    pub(crate) fn drain(&mut self) -> Vec<IqKind> {
        self.pending.drain().map(|(_, p)| p.kind).collect()
    }

    /// The earliest deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.pending.values().map(|p| p.deadline).min()
    }
}

/// Turns a reply `<iq>` into `Ok(reply)` for `type="result"` or the typed error.
pub(crate) fn reply_result(reply: &Node) -> Result<Node, IqError> {
    match reply.attr("type").and_then(|t| t.as_str()) {
        Some("result") => Ok(reply.clone()),
        Some("error") => {
            let err = reply.child("error");
            let code = err
                .and_then(|e| e.attr("code"))
                .and_then(|c| c.as_str())
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            let text = err
                .and_then(|e| e.attr("text"))
                .map(ToString::to_string)
                .unwrap_or_default();
            Err(IqError::Server { code, text })
        }
        other => Err(IqError::UnexpectedType(other.unwrap_or("").to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use core::time::Duration;

    use super::*;

    #[test]
    #[allow(clippy::disallowed_methods)] // only a starting point; the test moves time by hand
    fn ids_are_unique_and_expire_in_order() {
        let mut t = IqTable::new("1.2-".to_owned());
        let now = Instant::now();
        let a = t.next_id();
        let b = t.next_id();
        assert_ne!(a, b);
        assert!(a.starts_with("1.2-"));
        t.insert(a.clone(), IqKind::Ping, now + Duration::from_secs(1));
        t.insert(
            b.clone(),
            IqKind::User(IqToken(9)),
            now + Duration::from_secs(5),
        );
        assert_eq!(t.next_deadline(), Some(now + Duration::from_secs(1)));
        assert_eq!(t.expire(now + Duration::from_secs(2)), vec![IqKind::Ping]);
        assert!(t.take(&a).is_none());
        assert!(t.cancel(IqToken(9)));
        assert!(t.take(&b).is_none());
    }

    #[test]
    fn error_replies_are_typed() {
        let ok = Node::new("iq").attr("type", "result").build();
        assert!(reply_result(&ok).is_ok());
        let err = Node::new("iq")
            .attr("type", "error")
            .child(
                Node::new("error")
                    .attr("code", "404")
                    .attr("text", "item-not-found")
                    .build(),
            )
            .build();
        assert_eq!(
            reply_result(&err),
            Err(IqError::Server {
                code: 404,
                text: "item-not-found".into()
            })
        );
        let odd = Node::new("iq").attr("type", "get").build();
        assert!(matches!(
            reply_result(&odd),
            Err(IqError::UnexpectedType(_))
        ));
    }
}
