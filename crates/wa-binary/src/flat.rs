//! A flat borrowed decoder: one [`Document`] per frame holds every node in one `Vec` (pre-order)
//! and every attribute in another, so decoding a frame costs two allocations (none when the
//! document is reused) instead of one or two per node as with [`unmarshal_ref`](crate::unmarshal_ref).
//!
//! Strings are [`StrRef`]s (frame slices, dictionary tokens or inline packed strings), binary
//! content is a slice of the frame. [`NodeView`] navigates the document: tag, attributes,
//! children, content and [`NodeView::to_owned`].
//!
//! The bounds checks, typed errors and depth cap are those of the tree decoders (the same
//! reader primitives are used), and a frame that decodes with [`unmarshal`](crate::unmarshal)
//! decodes here to the same node.
//!
//! ```
//! use wa_binary::{Node, marshal, unmarshal_flat};
//!
//! let node = Node::new("iq").attr("id", "7").child(Node::new("ping").build()).build();
//! let frame = marshal(&node);
//! let doc = unmarshal_flat(&frame[1..])?;
//! let root = doc.root().expect("a decoded document has a root");
//! assert_eq!(root.tag(), "iq");
//! assert_eq!(root.attr_str("id"), Some("7"));
//! assert_eq!(root.child("ping").map(|c| c.tag()), Some("ping"));
//! assert_eq!(root.to_owned(), node);
//! # Ok::<(), wa_binary::DecodeError>(())
//! ```

use std::borrow::Cow;
use std::iter::FusedIterator;

use crate::DecodeError;
use crate::decode::{AttrValueRef, DecodeOptions, Reader};
use crate::node::{Attrs, Content, Node};
use crate::strref::StrRef;
use crate::token;

/// One node of a [`Document`].
#[derive(Clone, Debug)]
struct Rec<'a> {
    tag: StrRef<'a>,
    /// Range of this node's attributes in [`Document::attrs`].
    attr_start: usize,
    attr_end: usize,
    /// Index one past this node's subtree in [`Document::nodes`] (its next sibling, if any).
    end: usize,
    /// Number of direct children.
    child_count: usize,
    body: Body<'a>,
}

/// The content of a node record.
#[derive(Clone, Debug)]
enum Body<'a> {
    None,
    /// A child list (possibly empty); the children follow the record in pre-order.
    Nodes,
    Bytes(Cow<'a, [u8]>),
}

/// A decoded frame in flat form: all nodes and all attributes in two vectors, borrowing the
/// frame. Build one with [`unmarshal_flat`] or reuse one with [`Document::decode_into`].
#[derive(Clone, Debug, Default)]
pub struct Document<'a> {
    nodes: Vec<Rec<'a>>,
    attrs: Vec<(StrRef<'a>, AttrValueRef<'a>)>,
}

/// Decodes node bytes that follow the flags byte into a flat [`Document`].
pub fn unmarshal_flat(data: &[u8]) -> Result<Document<'_>, DecodeError> {
    unmarshal_flat_with(data, &DecodeOptions::default())
}

/// [`unmarshal_flat`] with explicit limits.
pub fn unmarshal_flat_with<'a>(
    data: &'a [u8],
    opts: &DecodeOptions,
) -> Result<Document<'a>, DecodeError> {
    // A size estimate from the frame length, so that a small frame costs one allocation per
    // vector (growth still handles denser frames; the caps bound the waste on large ones).
    let mut doc = Document {
        nodes: Vec::with_capacity((data.len() / 48).clamp(4, 4096)),
        attrs: Vec::with_capacity((data.len() / 16).clamp(8, 8192)),
    };
    doc.decode_into_with(data, opts)?;
    Ok(doc)
}

impl<'a> Document<'a> {
    /// An empty document (no root), to be filled by [`Document::decode_into`].
    pub const fn new() -> Self {
        Self {
            nodes: Vec::new(),
            attrs: Vec::new(),
        }
    }

    /// Decodes `data` (node bytes after the flags byte) into this document, replacing what it
    /// held and keeping the capacity of its vectors. On error the document is left empty.
    pub fn decode_into(&mut self, data: &'a [u8]) -> Result<(), DecodeError> {
        self.decode_into_with(data, &DecodeOptions::default())
    }

    /// [`Document::decode_into`] with explicit limits.
    pub fn decode_into_with(
        &mut self,
        data: &'a [u8],
        opts: &DecodeOptions,
    ) -> Result<(), DecodeError> {
        self.clear();
        let mut r = Reader {
            data,
            pos: 0,
            max_depth: opts.max_depth,
        };
        let result = self.read_node(&mut r, 1).and_then(|()| r.finish());
        if result.is_err() {
            self.clear();
        }
        result
    }

    /// Empties the document, keeping the capacity of its vectors.
    pub fn clear(&mut self) {
        self.nodes.clear();
        self.attrs.clear();
    }

    /// The empty document for another frame lifetime, reusing this document's allocations.
    ///
    /// A client loop keeps one document and calls `doc = doc.recycle();` before
    /// [`Document::decode_into`] with the next frame's buffer.
    // `filter_map` (not `filter`) is what changes the element lifetime without producing one.
    #[allow(clippy::unnecessary_filter_map)]
    pub fn recycle<'b>(mut self) -> Document<'b> {
        self.clear();
        // Collecting an emptied `vec::IntoIter` into a vector of a same-layout type reuses the
        // allocation (std's in-place collection); no element is ever produced.
        Document {
            nodes: self
                .nodes
                .into_iter()
                .filter_map(|_| None::<Rec<'b>>)
                .collect(),
            attrs: self
                .attrs
                .into_iter()
                .filter_map(|_| None::<(StrRef<'b>, AttrValueRef<'b>)>)
                .collect(),
        }
    }

    /// The top-level node; `None` for an empty document.
    pub fn root(&self) -> Option<NodeView<'_, 'a>> {
        self.view(0)
    }

    /// Number of nodes in the document.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Number of attributes over all nodes of the document.
    pub fn attr_count(&self) -> usize {
        self.attrs.len()
    }

    /// Capacity of the node and attribute vectors (what [`Document::decode_into`] reuses).
    pub fn capacity(&self) -> (usize, usize) {
        (self.nodes.capacity(), self.attrs.capacity())
    }

    fn view(&self, index: usize) -> Option<NodeView<'_, 'a>> {
        self.nodes.get(index).map(|rec| NodeView {
            doc: self,
            index,
            rec,
        })
    }

    fn read_node(&mut self, r: &mut Reader<'a>, depth: usize) -> Result<(), DecodeError> {
        let (size, tag) = r.read_node_head(depth)?;
        let attr_count = (size - 1) / 2;
        let attr_start = self.attrs.len();
        // `read_node_head` checked the count against the bytes left.
        self.attrs.reserve(attr_count);
        for _ in 0..attr_count {
            let key = r.read_str()?;
            let value = r.read_value()?;
            self.attrs.push((key, value));
        }
        let attr_end = self.attrs.len();
        let index = self.nodes.len();
        if size % 2 != 0 {
            self.nodes.push(Rec {
                tag,
                attr_start,
                attr_end,
                end: index + 1,
                child_count: 0,
                body: Body::None,
            });
            return Ok(());
        }
        let offset = r.pos;
        let content_tag = r.read_u8()?;
        let body = match content_tag {
            token::LIST_EMPTY | token::LIST_8 | token::LIST_16 => {
                let n = r.read_children_len(content_tag, offset)?;
                self.nodes.push(Rec {
                    tag,
                    attr_start,
                    attr_end,
                    end: index + 1,
                    child_count: n,
                    body: Body::Nodes,
                });
                self.nodes.reserve(n);
                for _ in 0..n {
                    self.read_node(r, depth + 1)?;
                }
                let end = self.nodes.len();
                if let Some(rec) = self.nodes.get_mut(index) {
                    rec.end = end;
                }
                return Ok(());
            }
            token::BINARY_8 | token::BINARY_20 | token::BINARY_32 => {
                let len = r.read_len(content_tag)?;
                Body::Bytes(Cow::Borrowed(r.read_slice(len)?))
            }
            _ => Body::Bytes(match r.read_value_tagged(content_tag, offset)? {
                AttrValueRef::Str(s) => match s.into_cow() {
                    Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
                    Cow::Owned(s) => Cow::Owned(s.into_bytes()),
                },
                AttrValueRef::Jid(j) => Cow::Owned(j.to_owned().to_string().into_bytes()),
            }),
        };
        self.nodes.push(Rec {
            tag,
            attr_start,
            attr_end,
            end: index + 1,
            child_count: 0,
            body,
        });
        Ok(())
    }
}

/// A node of a [`Document`]: a cheap copyable handle.
#[derive(Clone, Copy, Debug)]
pub struct NodeView<'d, 'a> {
    doc: &'d Document<'a>,
    index: usize,
    rec: &'d Rec<'a>,
}

impl<'d, 'a> NodeView<'d, 'a> {
    /// The tag.
    pub fn tag(&self) -> &'d str {
        self.rec.tag.as_str()
    }

    /// The tag as decoded (token, frame slice or packed string).
    pub fn tag_ref(&self) -> &'d StrRef<'a> {
        &self.rec.tag
    }

    /// The attributes, in wire order.
    pub fn attrs(&self) -> &'d [(StrRef<'a>, AttrValueRef<'a>)] {
        self.doc
            .attrs
            .get(self.rec.attr_start..self.rec.attr_end)
            .unwrap_or_default()
    }

    /// The value of attribute `key`.
    pub fn attr(&self, key: &str) -> Option<&'d AttrValueRef<'a>> {
        self.attrs()
            .iter()
            .find(|(k, _)| k.as_str() == key)
            .map(|(_, v)| v)
    }

    /// The value of attribute `key` when it is a string (not a JID).
    pub fn attr_str(&self, key: &str) -> Option<&'d str> {
        match self.attr(key)? {
            AttrValueRef::Str(s) => Some(s.as_str()),
            AttrValueRef::Jid(_) => None,
        }
    }

    /// The direct children, in order (empty unless the content is a child list).
    pub fn children(&self) -> Children<'d, 'a> {
        Children {
            doc: self.doc,
            next: self.index + 1,
            left: self.rec.child_count,
        }
    }

    /// The first direct child with tag `tag`.
    pub fn child(&self, tag: &str) -> Option<NodeView<'d, 'a>> {
        self.children().find(|c| c.tag() == tag)
    }

    /// True when the content is a child list (possibly empty).
    pub fn has_child_list(&self) -> bool {
        matches!(self.rec.body, Body::Nodes)
    }

    /// The content bytes (`None` unless the content is bytes).
    pub fn content_bytes(&self) -> Option<&'d [u8]> {
        match &self.rec.body {
            Body::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// Number of nodes in this node's subtree, itself included.
    pub fn subtree_len(&self) -> usize {
        self.rec.end.saturating_sub(self.index)
    }

    /// The owned [`Node`] of this subtree.
    pub fn to_owned(&self) -> Node {
        let attrs_in = self.attrs();
        let mut attrs = Attrs::with_capacity(attrs_in.len());
        for (k, v) in attrs_in {
            attrs.push_raw(k.to_str(), v.to_owned());
        }
        let content = match &self.rec.body {
            Body::None => Content::None,
            Body::Bytes(b) => Content::Bytes(b.to_vec()),
            Body::Nodes => Content::Nodes(self.children().map(|c| c.to_owned()).collect()),
        };
        Node {
            tag: self.rec.tag.to_str(),
            attrs,
            content,
        }
    }
}

/// The direct children of a [`NodeView`].
#[derive(Clone, Debug)]
pub struct Children<'d, 'a> {
    doc: &'d Document<'a>,
    next: usize,
    left: usize,
}

impl<'d, 'a> Iterator for Children<'d, 'a> {
    type Item = NodeView<'d, 'a>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let view = self.doc.view(self.next)?;
        self.left -= 1;
        self.next = view.rec.end;
        Some(view)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Children<'_, '_> {}

impl FusedIterator for Children<'_, '_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::marshal;

    fn sample() -> Node {
        Node::new("iq")
            .attr("id", "1")
            .attr("type", "result")
            .child(
                Node::new("list")
                    .child(Node::new("item").attr("n", "1").build())
                    .child(Node::new("item").attr("n", "2").bytes(vec![1, 2]).build())
                    .build(),
            )
            .child(Node::new("empty").children(Vec::new()).build())
            .build()
    }

    #[test]
    fn navigation() {
        let frame = marshal(&sample());
        let doc = unmarshal_flat(&frame[1..]).unwrap();
        assert_eq!(doc.node_count(), 5);
        assert_eq!(doc.attr_count(), 4);
        let root = doc.root().unwrap();
        assert_eq!(root.subtree_len(), 5);
        assert_eq!(root.children().len(), 2);
        let list = root.child("list").unwrap();
        let items: Vec<_> = list.children().map(|c| c.attr_str("n").unwrap()).collect();
        assert_eq!(items, ["1", "2"]);
        assert_eq!(
            list.children().nth(1).unwrap().content_bytes(),
            Some(&[1u8, 2][..])
        );
        let empty = root.child("empty").unwrap();
        assert!(empty.has_child_list());
        assert_eq!(empty.children().count(), 0);
        assert!(root.child("nope").is_none());
        assert_eq!(root.to_owned(), sample());
    }

    #[test]
    fn reuse_keeps_capacity_and_empties_on_error() {
        let frame = marshal(&sample());
        let doc = unmarshal_flat(&frame[1..]).unwrap();
        let cap = doc.capacity();
        let other = frame.clone();
        let mut doc = doc.recycle();
        assert_eq!(doc.capacity(), cap);
        assert!(doc.root().is_none());
        doc.decode_into(&other[1..]).unwrap();
        assert_eq!(doc.capacity(), cap);
        assert_eq!(doc.root().unwrap().to_owned(), sample());
        assert!(doc.decode_into(&other[1..other.len() - 1]).is_err());
        assert!(doc.root().is_none());
    }
}
