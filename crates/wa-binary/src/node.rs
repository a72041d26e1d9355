//! The owned node tree: [`Node`], [`Attrs`], [`AttrValue`], [`Content`] and [`NodeBuilder`].

use std::fmt;

use crate::jid::Jid;
use crate::string::Str;

/// An attribute value: a plain string or a JID.
///
/// Decoding yields [`AttrValue::Jid`] for every JID form on the wire (JID pair, AD, FB and
/// interop JIDs) and [`AttrValue::Str`] for everything else.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AttrValue {
    /// A string.
    Str(Str),
    /// A JID.
    Jid(Jid),
}

impl AttrValue {
    /// The string, if this is a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            Self::Jid(_) => None,
        }
    }

    /// The JID, if this is a JID value.
    pub fn as_jid(&self) -> Option<&Jid> {
        match self {
            Self::Jid(j) => Some(j),
            Self::Str(_) => None,
        }
    }
}

impl fmt::Display for AttrValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Str(s) => f.write_str(s),
            Self::Jid(j) => fmt::Display::fmt(j, f),
        }
    }
}

impl From<&str> for AttrValue {
    fn from(s: &str) -> Self {
        Self::Str(Str::from(s))
    }
}

impl From<String> for AttrValue {
    fn from(s: String) -> Self {
        Self::Str(Str::from(s))
    }
}

impl From<&String> for AttrValue {
    fn from(s: &String) -> Self {
        Self::Str(Str::from(s))
    }
}

impl From<Str> for AttrValue {
    fn from(s: Str) -> Self {
        Self::Str(s)
    }
}

impl From<&Str> for AttrValue {
    fn from(s: &Str) -> Self {
        Self::Str(s.clone())
    }
}

impl From<Jid> for AttrValue {
    fn from(j: Jid) -> Self {
        Self::Jid(j)
    }
}

impl From<&Jid> for AttrValue {
    fn from(j: &Jid) -> Self {
        Self::Jid(j.clone())
    }
}

macro_rules! attr_from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for AttrValue {
            fn from(v: $t) -> Self {
                Self::Str(Str::from(v.to_string()))
            }
        }
    )*};
}
attr_from_int!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize, bool);

/// The attributes of a node, in order. Order is kept on encode and decode.
///
/// Inserting a key that is already present replaces its value in place.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Attrs(Vec<(Str, AttrValue)>);

impl Attrs {
    /// No attributes.
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// No attributes, with room for `n`.
    pub fn with_capacity(n: usize) -> Self {
        Self(Vec::with_capacity(n))
    }

    /// Sets `key` to `value`: replaces an existing value in place, or appends.
    pub fn insert(&mut self, key: impl Into<Str>, value: impl Into<AttrValue>) {
        let key = key.into();
        let value = value.into();
        if let Some(slot) = self.0.iter_mut().find(|(k, _)| *k == key) {
            slot.1 = value;
        } else {
            self.0.push((key, value));
        }
    }

    /// Appends without checking for an existing key (the decoder uses this to keep the wire
    /// exactly, duplicates included).
    pub fn push(&mut self, key: impl Into<Str>, value: impl Into<AttrValue>) {
        self.0.push((key.into(), value.into()));
    }

    /// The value of `key` (the first one, if the wire had duplicates).
    pub fn get(&self, key: &str) -> Option<&AttrValue> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Removes `key` and returns its value.
    pub fn remove(&mut self, key: &str) -> Option<AttrValue> {
        let pos = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(pos).1)
    }

    /// Appends an entry (decoder fast path).
    #[inline]
    pub(crate) fn push_raw(&mut self, key: Str, value: AttrValue) {
        self.0.push((key, value));
    }

    /// The entries in order, as stored (encoder fast path).
    #[inline]
    pub(crate) fn entries(&self) -> &[(Str, AttrValue)] {
        &self.0
    }

    /// The attributes in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &AttrValue)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of attributes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no attributes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<K: Into<Str>, V: Into<AttrValue>> FromIterator<(K, V)> for Attrs {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut attrs = Attrs::new();
        for (k, v) in iter {
            attrs.insert(k, v);
        }
        attrs
    }
}

/// What a node holds besides its attributes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum Content {
    /// Nothing.
    #[default]
    None,
    /// Raw bytes (always encoded as binary, never as a token or packed string).
    Bytes(Vec<u8>),
    /// Child nodes (an empty list is kept: it encodes as `LIST_EMPTY`).
    Nodes(Vec<Node>),
}

/// A node of WhatsApp's binary XML: a tag, ordered attributes and content.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Node {
    /// The tag, e.g. `"iq"`.
    pub tag: Str,
    /// The attributes, in order.
    pub attrs: Attrs,
    /// The content.
    pub content: Content,
}

impl Node {
    /// Starts building a node with this tag.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(tag: impl Into<Str>) -> NodeBuilder {
        NodeBuilder::new(tag)
    }

    /// Starts building a node with this tag (same as [`Node::new`]).
    pub fn builder(tag: impl Into<Str>) -> NodeBuilder {
        NodeBuilder::new(tag)
    }

    /// The value of attribute `key`.
    pub fn attr(&self, key: &str) -> Option<&AttrValue> {
        self.attrs.get(key)
    }

    /// The child nodes (empty unless the content is [`Content::Nodes`]).
    pub fn children(&self) -> &[Node] {
        match &self.content {
            Content::Nodes(n) => n,
            _ => &[],
        }
    }

    /// The first child with this tag.
    pub fn child(&self, tag: &str) -> Option<&Node> {
        self.children().iter().find(|n| n.tag == tag)
    }

    /// All children with this tag.
    pub fn children_by_tag<'s>(&'s self, tag: &'s str) -> impl Iterator<Item = &'s Node> + 's {
        self.children().iter().filter(move |n| n.tag == tag)
    }

    /// Follows a path of tags, taking the first matching child at each step.
    pub fn child_path(&self, path: &[&str]) -> Option<&Node> {
        let mut node = self;
        for tag in path {
            node = node.child(tag)?;
        }
        Some(node)
    }

    /// The bytes content, if the content is [`Content::Bytes`].
    pub fn bytes(&self) -> Option<&[u8]> {
        match &self.content {
            Content::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// A reader for typed attribute access that collects errors.
    pub fn attr_reader(&self) -> crate::AttrReader<'_> {
        crate::AttrReader::new(self)
    }
}

/// Builds a [`Node`]: `Node::new("iq").attr("type", "get").child(..).build()`.
#[derive(Clone, Debug)]
#[must_use]
pub struct NodeBuilder {
    node: Node,
}

impl NodeBuilder {
    /// A builder for a node with this tag, no attributes and no content.
    pub fn new(tag: impl Into<Str>) -> Self {
        Self {
            node: Node {
                tag: tag.into(),
                attrs: Attrs::new(),
                content: Content::None,
            },
        }
    }

    /// Sets an attribute (replacing an existing one with the same key).
    pub fn attr(mut self, key: impl Into<Str>, value: impl Into<AttrValue>) -> Self {
        self.node.attrs.insert(key, value);
        self
    }

    /// Sets an attribute when `value` is `Some`.
    pub fn attr_opt<V: Into<AttrValue>>(self, key: impl Into<Str>, value: Option<V>) -> Self {
        match value {
            Some(v) => self.attr(key, v),
            None => self,
        }
    }

    /// Appends one child (turning the content into a child list if it was not one).
    pub fn child(mut self, child: Node) -> Self {
        match &mut self.node.content {
            Content::Nodes(n) => n.push(child),
            other => *other = Content::Nodes(vec![child]),
        }
        self
    }

    /// Appends children (turning the content into a child list, possibly empty).
    pub fn children(mut self, children: impl IntoIterator<Item = Node>) -> Self {
        match &mut self.node.content {
            Content::Nodes(n) => n.extend(children),
            other => *other = Content::Nodes(children.into_iter().collect()),
        }
        self
    }

    /// Sets the content to raw bytes.
    pub fn bytes(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.node.content = Content::Bytes(bytes.into());
        self
    }

    /// Sets the content.
    pub fn content(mut self, content: Content) -> Self {
        self.node.content = content;
        self
    }

    /// The finished node.
    pub fn build(self) -> Node {
        self.node
    }
}

impl From<NodeBuilder> for Node {
    fn from(b: NodeBuilder) -> Self {
        b.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jid::Server;

    #[test]
    fn builder_keeps_order_and_replaces() {
        let n = Node::new("iq")
            .attr("id", "1")
            .attr("to", Jid::new("", Server::User))
            .attr("id", "2")
            .attr_opt("x", None::<&str>)
            .child(Node::new("ping").build())
            .build();
        let keys: Vec<_> = n.attrs.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["id", "to"]);
        assert_eq!(n.attr("id"), Some(&AttrValue::from("2")));
        assert_eq!(n.child("ping").map(|c| c.tag.as_str()), Some("ping"));
        assert_eq!(n.children().len(), 1);
        let e = Node::new("list").children([]).build();
        assert_eq!(e.content, Content::Nodes(vec![]));
    }
}
