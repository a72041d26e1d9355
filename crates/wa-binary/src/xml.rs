//! Debug XML rendering of nodes, for logs.

use std::fmt::{self, Write};

use crate::node::{AttrValue, Content, Node};

/// How many bytes of non-text content are shown (as hex).
const MAX_HEX_BYTES: usize = 32;

impl Node {
    /// Renders the node as indented XML for logs: attributes in order, children indented by two
    /// spaces, printable UTF-8 content as escaped text, other bytes as a comment with the hex of
    /// the first 32 bytes and the total length.
    pub fn to_xml(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = write_node(&mut out, self, 0);
        out
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_node(f, self, 0)
    }
}

fn indent(w: &mut impl Write, level: usize) -> fmt::Result {
    for _ in 0..level {
        w.write_str("  ")?;
    }
    Ok(())
}

fn escape(w: &mut impl Write, s: &str) -> fmt::Result {
    for c in s.chars() {
        match c {
            '&' => w.write_str("&amp;")?,
            '<' => w.write_str("&lt;")?,
            '>' => w.write_str("&gt;")?,
            '"' => w.write_str("&quot;")?,
            c => w.write_char(c)?,
        }
    }
    Ok(())
}

fn is_printable(b: &[u8]) -> Option<&str> {
    let s = std::str::from_utf8(b).ok()?;
    s.chars()
        .all(|c| !c.is_control() || c == '\n' || c == '\t')
        .then_some(s)
}

fn write_node(w: &mut impl Write, node: &Node, level: usize) -> fmt::Result {
    indent(w, level)?;
    w.write_char('<')?;
    escape(w, &node.tag)?;
    for (k, v) in node.attrs.iter() {
        w.write_char(' ')?;
        escape(w, k)?;
        w.write_str("=\"")?;
        match v {
            AttrValue::Str(s) => escape(w, s)?,
            AttrValue::Jid(j) => escape(w, &j.to_string())?,
        }
        w.write_char('"')?;
    }
    match &node.content {
        Content::None => w.write_str("/>"),
        Content::Nodes(children) if children.is_empty() => w
            .write_str("></")
            .and_then(|()| escape(w, &node.tag))
            .and_then(|()| w.write_char('>')),
        Content::Nodes(children) => {
            w.write_str(">\n")?;
            for child in children {
                write_node(w, child, level + 1)?;
                w.write_char('\n')?;
            }
            indent(w, level)?;
            w.write_str("</")?;
            escape(w, &node.tag)?;
            w.write_char('>')
        }
        Content::Bytes(b) => {
            w.write_char('>')?;
            if let Some(text) = is_printable(b) {
                escape(w, text)?;
            } else {
                write!(w, "<!-- {} bytes: ", b.len())?;
                for byte in b.iter().take(MAX_HEX_BYTES) {
                    write!(w, "{byte:02x}")?;
                }
                if b.len() > MAX_HEX_BYTES {
                    w.write_str("…")?;
                }
                w.write_str(" -->")?;
            }
            w.write_str("</")?;
            escape(w, &node.tag)?;
            w.write_char('>')
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Jid, Node, Server};

    #[test]
    fn renders_attrs_children_text_and_binary() {
        let n = Node::new("iq")
            .attr("id", "a\"b")
            .attr("to", Jid::new("", Server::User))
            .child(Node::new("ping").build())
            .child(Node::new("t").bytes(b"hi <x>".to_vec()).build())
            .child(Node::new("enc").bytes(vec![0u8; 40]).build())
            .child(Node::new("list").children([]).build())
            .build();
        let expected = concat!(
            "<iq id=\"a&quot;b\" to=\"s.whatsapp.net\">\n",
            "  <ping/>\n",
            "  <t>hi &lt;x&gt;</t>\n",
            "  <enc><!-- 40 bytes: 0000000000000000000000000000000000000000000000000000000000000000… --></enc>\n",
            "  <list></list>\n",
            "</iq>"
        );
        assert_eq!(n.to_xml(), expected);
        assert_eq!(n.to_string(), expected);
    }
}
