//! The three benchmark corpora, built as `wa_binary::Node` values from a seeded generator.
//!
//! The stanza shapes follow what a client receives from the server:
//!
//! * `messages`: 1,000 incoming `<message>` stanzas, each its own frame. A mix of 1:1 messages from
//!   LID and phone-number senders (with `sender_pn` / `sender_lid`), group messages with
//!   `participant`, `participant_pn` and `addressing_mode`, the occasional media message, offline
//!   redelivery and a `pkmsg` + `skmsg` pair (sender-key distribution). Ciphertext is 100-450 bytes.
//! * `usync`: one `<iq type=result>` answering a device query for 500 users, each with a device
//!   list (device 0 plus up to four companions with `key-index`), a signed `<key-index-list>` and a
//!   `<lid val=…/>`.
//! * `group`: one `<iq type=result>` with the metadata of a 1,024-member group: attributes of the
//!   `<group>`, a description, settings children and 1,024 `<participant jid=… lid=… type=…/>`.
//!
//! JID-valued attributes are `AttrValue::Jid`, so both codecs write them in their JID forms
//! (`JID_PAIR`, `AD_JID`); ids, timestamps and phone numbers exercise the nibble- and hex-packed
//! string forms; push names and subjects are raw UTF-8.

use wa_binary::{AttrValue, Attrs, Content, Jid, Node};

/// A benchmark corpus: the node values and their encoded frames (flags byte included).
pub struct Corpus {
    /// Short name used in benchmark ids.
    pub name: &'static str,
    /// The nodes, one per frame.
    pub nodes: Vec<Node>,
}

/// Deterministic generator (SplitMix64), so every run benchmarks the same bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    /// True with probability `pct` percent.
    fn chance(&mut self, pct: u64) -> bool {
        self.next() % 100 < pct
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }

    fn upper_hex(&mut self, len: usize) -> String {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        (0..len)
            .map(|_| HEX[(self.next() % 16) as usize] as char)
            .collect()
    }

    /// A phone number user part: country code plus subscriber number, 11-13 digits.
    fn phone(&mut self) -> String {
        let cc = self.pick(&["1", "44", "49", "55", "91", "62", "234", "52", "34", "39"]);
        let digits = 12 - cc.len() as u64 + self.range(0, 1);
        let mut s = String::from(cc);
        s.push(char::from(b'1' + (self.next() % 9) as u8));
        for _ in 1..digits {
            s.push(char::from(b'0' + (self.next() % 10) as u8));
        }
        s
    }

    /// A LID user part: 14-15 digits.
    fn lid(&mut self) -> String {
        let len = self.range(14, 15);
        let mut s = String::with_capacity(len as usize);
        s.push(char::from(b'1' + (self.next() % 9) as u8));
        for _ in 1..len {
            s.push(char::from(b'0' + (self.next() % 10) as u8));
        }
        s
    }

    /// A group id user part: `120363` followed by 12 digits.
    fn group_id(&mut self) -> String {
        format!("120363{:012}", self.next() % 1_000_000_000_000)
    }

    /// A message id as the three client families write them.
    fn message_id(&mut self) -> String {
        match self.next() % 3 {
            0 => format!("3EB0{}", self.upper_hex(18)),
            1 => format!("3A{}", self.upper_hex(18)),
            _ => self.upper_hex(32),
        }
    }

    /// An IQ id as whatsmeow generates them (`<prefix>.<counter>-<n>`, nibble-packable).
    fn iq_id(&mut self) -> String {
        format!(
            "{}.{}-{}",
            self.range(10_000, 65_535),
            self.range(1_000, 60_000),
            self.range(1, 999)
        )
    }
}

fn jid(s: &str) -> AttrValue {
    match s.parse::<Jid>() {
        Ok(j) => AttrValue::Jid(j),
        Err(e) => panic!("corpus JID {s:?} does not parse: {e:?}"),
    }
}

fn text(s: impl Into<String>) -> AttrValue {
    AttrValue::from(s.into())
}

fn node(tag: &str, attrs: Vec<(&str, AttrValue)>, content: Content) -> Node {
    let mut a = Attrs::new();
    for (k, v) in attrs {
        a.insert(k, v);
    }
    Node {
        tag: tag.into(),
        attrs: a,
        content,
    }
}

const PUSH_NAMES: &[&str] = &[
    "Alice",
    "Bob",
    "Mãe",
    "João Silva",
    "Priya 🌸",
    "Dr. Mehta",
    "Ahmed Al-Farsi",
    "Kasia",
    "Tío Pepe 🎸",
    "Nguyễn Văn An",
    "Office",
    "Lukas B.",
];

/// 1,000 incoming `<message>` stanzas.
pub fn messages() -> Corpus {
    let mut rng = Rng(0x5EED_0001);
    let base_t: u64 = 1_764_150_000;
    let groups: Vec<String> = (0..12).map(|_| rng.group_id()).collect();
    let nodes = (0..1_000u64)
        .map(|i| {
            let t = (base_t + i * 7).to_string();
            let id = rng.message_id();
            let notify = rng.pick(PUSH_NAMES);
            let kind = rng.next() % 100;
            let mut attrs: Vec<(&str, AttrValue)> = Vec::with_capacity(9);
            let mut encs: Vec<Node> = Vec::with_capacity(2);
            let media = rng.chance(8);
            let msg_type = if media { "media" } else { "text" };
            if kind < 40 {
                // 1:1 from a LID sender, phone number alongside.
                let dev = if rng.chance(30) { rng.range(1, 30) } else { 0 };
                let lid = rng.lid();
                let pn = rng.phone();
                let from = if dev == 0 {
                    format!("{lid}@lid")
                } else {
                    format!("{lid}:{dev}@lid")
                };
                attrs.push(("from", jid(&from)));
                attrs.push(("sender_pn", jid(&format!("{pn}@s.whatsapp.net"))));
                attrs.push(("id", text(id)));
                attrs.push(("t", text(t)));
                attrs.push(("type", text(msg_type)));
                attrs.push(("notify", text(notify)));
            } else if kind < 60 {
                // 1:1 from a phone-number sender, possibly a companion device.
                let dev = if rng.chance(40) { rng.range(1, 30) } else { 0 };
                let pn = rng.phone();
                let from = if dev == 0 {
                    format!("{pn}@s.whatsapp.net")
                } else {
                    format!("{pn}:{dev}@s.whatsapp.net")
                };
                attrs.push(("from", jid(&from)));
                attrs.push(("sender_lid", jid(&format!("{}@lid", rng.lid()))));
                attrs.push(("id", text(id)));
                attrs.push(("t", text(t)));
                attrs.push(("type", text(msg_type)));
                attrs.push(("notify", text(notify)));
            } else {
                // Group message in LID addressing mode.
                let g = &groups[(rng.next() % groups.len() as u64) as usize];
                let dev = if rng.chance(35) { rng.range(1, 30) } else { 0 };
                let lid = rng.lid();
                let participant = if dev == 0 {
                    format!("{lid}@lid")
                } else {
                    format!("{lid}:{dev}@lid")
                };
                attrs.push(("from", jid(&format!("{g}@g.us"))));
                attrs.push(("id", text(id)));
                attrs.push(("t", text(t)));
                attrs.push(("type", text(msg_type)));
                attrs.push(("participant", jid(&participant)));
                attrs.push((
                    "participant_pn",
                    jid(&format!("{}@s.whatsapp.net", rng.phone())),
                ));
                attrs.push(("addressing_mode", text("lid")));
                attrs.push(("notify", text(notify)));
                if rng.chance(20) {
                    // Sender-key distribution rides in a pkmsg before the group ciphertext.
                    let len = rng.range(300, 450) as usize;
                    encs.push(enc("pkmsg", rng.bytes(len), None));
                }
                let len = rng.range(100, 300) as usize;
                let mediatype = media.then(|| rng.pick(&["image", "video", "document", "ptt"]));
                encs.push(enc("skmsg", rng.bytes(len), mediatype));
            }
            if rng.chance(10) {
                attrs.push(("offline", text("1")));
            }
            if encs.is_empty() {
                let (ty, len) = if rng.chance(15) {
                    ("pkmsg", rng.range(300, 450) as usize)
                } else {
                    ("msg", rng.range(100, 300) as usize)
                };
                let mediatype = media.then(|| rng.pick(&["image", "video", "document", "ptt"]));
                encs.push(enc(ty, rng.bytes(len), mediatype));
            }
            node("message", attrs, Content::Nodes(encs))
        })
        .collect();
    Corpus {
        name: "messages_1000",
        nodes,
    }
}

fn enc(ty: &str, payload: Vec<u8>, mediatype: Option<&str>) -> Node {
    let mut attrs = vec![("v", text("2")), ("type", text(ty))];
    if let Some(m) = mediatype {
        attrs.push(("mediatype", text(m)));
    }
    node("enc", attrs, Content::Bytes(payload))
}

/// A usync device-list result for 500 users.
pub fn usync() -> Corpus {
    let mut rng = Rng(0x5EED_0002);
    let users = (0..500)
        .map(|_| {
            let pn = rng.phone();
            let companions = match rng.next() % 10 {
                0..=3 => 0,
                4..=6 => 1,
                7..=8 => 2,
                _ => 4,
            };
            let key_index = rng.range(1, 40);
            let mut devices = vec![node("device", vec![("id", text("0"))], Content::None)];
            let mut dev_id = 0u64;
            for k in 0..companions {
                dev_id += rng.range(1, 6);
                let attrs = vec![
                    ("id", text(dev_id.to_string())),
                    ("key-index", text((key_index + k).to_string())),
                ];
                devices.push(node("device", attrs, Content::None));
            }
            let ts = rng.range(1_600_000_000, 1_764_000_000).to_string();
            let signed_list_len = rng.range(95, 140) as usize;
            let devices_node = node(
                "devices",
                vec![],
                Content::Nodes(vec![
                    node("device-list", vec![], Content::Nodes(devices)),
                    node(
                        "key-index-list",
                        vec![("ts", text(ts))],
                        Content::Bytes(rng.bytes(signed_list_len)),
                    ),
                ]),
            );
            let lid = node(
                "lid",
                vec![("val", jid(&format!("{}@lid", rng.lid())))],
                Content::None,
            );
            node(
                "user",
                vec![("jid", jid(&format!("{pn}@s.whatsapp.net")))],
                Content::Nodes(vec![devices_node, lid]),
            )
        })
        .collect();
    let usync = node(
        "usync",
        vec![
            ("sid", text(rng.iq_id())),
            ("index", text("0")),
            ("last", text("true")),
            ("mode", text("query")),
            ("context", text("message")),
        ],
        Content::Nodes(vec![
            node(
                "result",
                vec![],
                Content::Nodes(vec![
                    node("devices", vec![], Content::None),
                    node("lid", vec![], Content::None),
                ]),
            ),
            node("list", vec![], Content::Nodes(users)),
        ]),
    );
    let iq = node(
        "iq",
        vec![
            ("from", jid("s.whatsapp.net")),
            ("id", text(rng.iq_id())),
            ("type", text("result")),
        ],
        Content::Nodes(vec![usync]),
    );
    Corpus {
        name: "usync_500",
        nodes: vec![iq],
    }
}

/// A group-info result for a group of 1,024 participants.
pub fn group() -> Corpus {
    let mut rng = Rng(0x5EED_0003);
    let gid = rng.group_id();
    let creator_pn = rng.phone();
    let creation = rng.range(1_500_000_000, 1_700_000_000);
    let mut participants = Vec::with_capacity(1_024);
    for i in 0..1_024 {
        let pn = if i == 0 {
            creator_pn.clone()
        } else {
            rng.phone()
        };
        let mut attrs = vec![
            ("jid", jid(&format!("{pn}@s.whatsapp.net"))),
            ("lid", jid(&format!("{}@lid", rng.lid()))),
        ];
        if i == 0 {
            attrs.push(("type", text("superadmin")));
        } else if rng.chance(5) {
            attrs.push(("type", text("admin")));
        }
        participants.push(node("participant", attrs, Content::None));
    }
    let s_o = format!("{}@s.whatsapp.net", rng.phone());
    let mut children = vec![
        node(
            "description",
            vec![
                ("id", text(rng.upper_hex(16))),
                ("t", text((creation + 86_400).to_string())),
                ("participant", jid(&format!("{creator_pn}@s.whatsapp.net"))),
            ],
            Content::Nodes(vec![node(
                "body",
                vec![],
                Content::Bytes(
                    "Neighbourhood association 🏡 — rules: be kind, no spam, events every first Sunday."
                        .as_bytes()
                        .to_vec(),
                ),
            )]),
        ),
        node("member_add_mode", vec![], Content::Bytes(b"admin_add".to_vec())),
        node("ephemeral", vec![("expiration", text("604800"))], Content::None),
        node(
            "membership_approval_mode",
            vec![],
            Content::Nodes(vec![node("group_join", vec![("state", text("on"))], Content::None)]),
        ),
        node("announcement", vec![], Content::None),
    ];
    children.extend(participants);
    let group = node(
        "group",
        vec![
            ("id", text(gid.clone())),
            ("creator", jid(&format!("{creator_pn}@s.whatsapp.net"))),
            ("creation", text(creation.to_string())),
            ("subject", text("Rua das Flores 123 · Vizinhos")),
            ("s_t", text((creation + 3_600).to_string())),
            ("s_o", jid(&s_o)),
            ("size", text("1024")),
            ("addressing_mode", text("pn")),
        ],
        Content::Nodes(children),
    );
    let iq = node(
        "iq",
        vec![
            ("from", jid(&format!("{gid}@g.us"))),
            ("id", text(rng.iq_id())),
            ("type", text("result")),
        ],
        Content::Nodes(vec![group]),
    );
    Corpus {
        name: "group_1024",
        nodes: vec![iq],
    }
}
