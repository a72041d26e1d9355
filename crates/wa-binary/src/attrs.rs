//! [`AttrReader`]: typed attribute access that collects errors, like whatsmeow's `AttrUtility`.

use crate::DecodeError;
use crate::error::{AttrError, AttrErrorKind};
use crate::jid::Jid;
use crate::node::{AttrValue, Node};

/// Reads typed attributes of a node and collects every failure, so a parser can read all the
/// fields it needs and check once with [`AttrReader::finish`].
///
/// The plain methods (`jid`, `string`, `u64`, …) read a required attribute and return a
/// default value after recording an error; the `optional_*` methods return `None` when the
/// attribute is absent and record an error only when it is present with the wrong type; the
/// `required_*` methods return a `Result` directly (and also record the error).
///
/// ```
/// use wa_binary::{Jid, Node};
/// let node = Node::new("receipt").attr("from", "123@s.whatsapp.net").attr("t", "1700000000").build();
/// let mut r = node.attr_reader();
/// let from = r.jid("from");
/// let t = r.i64("t");
/// let kind = r.optional_string("type");
/// r.finish().unwrap();
/// assert_eq!(from, "123@s.whatsapp.net".parse::<Jid>().unwrap());
/// assert_eq!((t, kind), (1_700_000_000, None));
/// ```
#[derive(Debug)]
pub struct AttrReader<'a> {
    node: &'a Node,
    errors: Vec<AttrError>,
}

impl<'a> AttrReader<'a> {
    /// A reader over `node`'s attributes.
    pub fn new(node: &'a Node) -> Self {
        Self {
            node,
            errors: Vec::new(),
        }
    }

    fn fail(&mut self, key: &str, kind: AttrErrorKind) -> DecodeError {
        let e = AttrError {
            key: key.to_owned(),
            kind,
        };
        self.errors.push(e.clone());
        DecodeError::Attrs(vec![e])
    }

    fn wrong(&mut self, key: &str, expected: &'static str, v: &AttrValue) -> DecodeError {
        self.fail(
            key,
            AttrErrorKind::WrongType {
                expected,
                found: v.to_string(),
            },
        )
    }

    fn get_required(&mut self, key: &str) -> Result<&'a AttrValue, DecodeError> {
        match self.node.attrs.get(key) {
            Some(v) => Ok(v),
            None => Err(self.fail(key, AttrErrorKind::Missing)),
        }
    }

    fn parse_jid(&mut self, key: &str, v: &AttrValue) -> Result<Jid, DecodeError> {
        match v {
            AttrValue::Jid(j) => Ok(j.clone()),
            AttrValue::Str(s) => s.parse().map_err(|_| self.wrong(key, "JID", v)),
        }
    }

    fn parse_str(&mut self, key: &str, v: &'a AttrValue) -> Result<&'a str, DecodeError> {
        match v {
            AttrValue::Str(s) => Ok(s),
            AttrValue::Jid(_) => Err(self.wrong(key, "string", v)),
        }
    }

    fn parse_num<T: std::str::FromStr>(
        &mut self,
        key: &str,
        v: &AttrValue,
        what: &'static str,
    ) -> Result<T, DecodeError> {
        v.as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| self.wrong(key, what, v))
    }

    fn parse_bool(&mut self, key: &str, v: &AttrValue) -> Result<bool, DecodeError> {
        match v.as_str() {
            Some("true" | "1") => Ok(true),
            Some("false" | "0") => Ok(false),
            _ => Err(self.wrong(key, "boolean", v)),
        }
    }

    /// The attribute as a JID (a JID value, or a string that parses as one).
    pub fn required_jid(&mut self, key: &str) -> Result<Jid, DecodeError> {
        let v = self.get_required(key)?;
        self.parse_jid(key, v)
    }

    /// The attribute as a string (a JID value is a type error).
    pub fn required_string(&mut self, key: &str) -> Result<&'a str, DecodeError> {
        let v = self.get_required(key)?;
        self.parse_str(key, v)
    }

    /// The attribute as a signed decimal integer.
    pub fn required_i64(&mut self, key: &str) -> Result<i64, DecodeError> {
        let v = self.get_required(key)?;
        self.parse_num(key, v, "integer")
    }

    /// The attribute as an unsigned decimal integer.
    pub fn required_u64(&mut self, key: &str) -> Result<u64, DecodeError> {
        let v = self.get_required(key)?;
        self.parse_num(key, v, "unsigned integer")
    }

    /// The attribute as a boolean (`true`/`false`/`1`/`0`).
    pub fn required_bool(&mut self, key: &str) -> Result<bool, DecodeError> {
        let v = self.get_required(key)?;
        self.parse_bool(key, v)
    }

    /// Required JID; on error records it and returns [`Jid::default`].
    pub fn jid(&mut self, key: &str) -> Jid {
        self.required_jid(key).unwrap_or_default()
    }

    /// Required string; on error records it and returns `""`.
    pub fn string(&mut self, key: &str) -> &'a str {
        self.required_string(key).unwrap_or_default()
    }

    /// Required signed integer; on error records it and returns 0.
    pub fn i64(&mut self, key: &str) -> i64 {
        self.required_i64(key).unwrap_or_default()
    }

    /// Required unsigned integer; on error records it and returns 0.
    pub fn u64(&mut self, key: &str) -> u64 {
        self.required_u64(key).unwrap_or_default()
    }

    /// Required boolean; on error records it and returns `false`.
    pub fn bool(&mut self, key: &str) -> bool {
        self.required_bool(key).unwrap_or_default()
    }

    /// Optional JID: `None` when absent; an error is recorded when present but not a JID.
    pub fn optional_jid(&mut self, key: &str) -> Option<Jid> {
        let v = self.node.attrs.get(key)?;
        self.parse_jid(key, v).ok()
    }

    /// Optional string: `None` when absent; an error is recorded when present as a JID.
    pub fn optional_string(&mut self, key: &str) -> Option<&'a str> {
        let v = self.node.attrs.get(key)?;
        self.parse_str(key, v).ok()
    }

    /// Optional signed integer.
    pub fn optional_i64(&mut self, key: &str) -> Option<i64> {
        let v = self.node.attrs.get(key)?;
        self.parse_num(key, v, "integer").ok()
    }

    /// Optional unsigned integer.
    pub fn optional_u64(&mut self, key: &str) -> Option<u64> {
        let v = self.node.attrs.get(key)?;
        self.parse_num(key, v, "unsigned integer").ok()
    }

    /// Optional boolean.
    pub fn optional_bool(&mut self, key: &str) -> Option<bool> {
        let v = self.node.attrs.get(key)?;
        self.parse_bool(key, v).ok()
    }

    /// True while no read has failed.
    pub fn ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// The failures so far.
    pub fn errors(&self) -> &[AttrError] {
        &self.errors
    }

    /// `Ok` when no read failed, else [`DecodeError::Attrs`] with every failure in order.
    pub fn finish(self) -> Result<(), DecodeError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::Attrs(self.errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Server;

    #[test]
    fn collects_every_error_in_order() {
        let node = Node::new("x")
            .attr("from", Jid::new("1", Server::User))
            .attr("t", "12a")
            .attr("s", "a@b@c")
            .attr("b", "maybe")
            .attr("ok", "true")
            .build();
        let mut r = node.attr_reader();
        assert_eq!(r.jid("from"), Jid::new("1", Server::User));
        assert_eq!(r.i64("t"), 0);
        assert_eq!(r.string("missing"), "");
        assert_eq!(r.optional_string("from"), None);
        assert_eq!(r.optional_u64("absent"), None);
        assert!(!r.bool("b"));
        assert!(r.bool("ok"));
        assert_eq!(r.optional_jid("s"), None);
        assert_eq!(r.errors().len(), 5);
        let Err(DecodeError::Attrs(errs)) = r.finish() else {
            panic!("expected errors")
        };
        let keys: Vec<_> = errs.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["t", "missing", "from", "b", "s"]);
        assert_eq!(errs[1].kind, AttrErrorKind::Missing);
        assert!(
            matches!(&errs[0].kind, AttrErrorKind::WrongType { expected: "integer", found } if found == "12a")
        );
    }

    #[test]
    fn string_jids_parse_and_required_returns_result() {
        let node = Node::new("x").attr("p", "5:2@lid").attr("n", "-3").build();
        let mut r = node.attr_reader();
        assert_eq!(r.required_jid("p").unwrap().to_string(), "5:2@lid");
        assert_eq!(r.required_i64("n").unwrap(), -3);
        assert!(r.required_u64("n").is_err());
        assert!(r.required_string("nope").is_err());
        assert_eq!(r.errors().len(), 2);
    }

    #[test]
    fn clean_reads_finish_ok() {
        let node = Node::new("x").attr("a", "1").build();
        let mut r = node.attr_reader();
        assert_eq!(r.u64("a"), 1);
        assert!(r.ok());
        assert!(r.finish().is_ok());
    }
}
