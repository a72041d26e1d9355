//! Differential test of `wa-binary` against Baileys' `WABinary` encoder and decoder.
//!
//! For every random node: (1) `wa_binary::marshal` equals Baileys' `encodeBinaryNode` byte for
//! byte; (2) Baileys' `decodeBinaryNode` of our bytes equals our node (JIDs compared by their
//! string form); (3) `wa_binary::decode_frame` of Baileys' bytes equals the original node.
//!
//! The generator stays within what both implementations agree on; every exclusion is listed
//! with its reason under "Known differences" in `tests/interop/README.md`, and the pinned tests
//! at the end of this file show each difference.
//!
//! Seed: `WA_INTEROP_SEED=<u64>` (decimal or 0x-hex) replays a run; node count:
//! `WA_INTEROP_NODES=<n>` (default 3,000 top-level nodes, about 14,500 nodes with their children).

use serde_json::{Value, json};
use wa_binary::{AttrValue, Attrs, Content, Jid, Node, Server};
use wa_tests::oracle;

const DEFAULT_SEED: u64 = 0x5EED_B1A1_2026_0001;
/// Top-level nodes; with their children this is about 14,500 nodes.
const DEFAULT_NODES: usize = 3_000;
const BATCH: usize = 500;

// ---------------------------------------------------------------------------------------------
// Deterministic RNG (SplitMix64).

struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        let span = (hi - lo + 1) as u64;
        lo + (self.next_u64() % span) as usize
    }

    fn chance(&mut self, one_in: u64) -> bool {
        self.next_u64().is_multiple_of(one_in)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len() - 1)]
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n + 8);
        while out.len() < n {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.truncate(n);
        out
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

// ---------------------------------------------------------------------------------------------
// Mapping between our nodes and the oracle's JSON.

/// The string to give Baileys' encoder so that it writes the same bytes as we do for `jid`.
fn jid_for_baileys_encode(jid: &Jid) -> String {
    match jid.server() {
        // Baileys writes AD_JID only when the string has a `:device`; we always do for hosted.
        Server::Hosted | Server::HostedLid if jid.device() == 0 => {
            format!("{}:0@{}", jid.user(), jid.server())
        }
        _ => jid_as_baileys_prints(jid),
    }
}

/// The string Baileys' decoder produces for `jid`.
fn jid_as_baileys_prints(jid: &Jid) -> String {
    if jid.user().is_empty() && jid.device() == 0 {
        // Our Display prints a server-only JID as `server`, which Baileys would take as a plain
        // string (and often a token); Baileys spells it `@server`.
        format!("@{}", jid.server())
    } else {
        jid.to_string()
    }
}

fn node_json(node: &Node, jid_str: fn(&Jid) -> String) -> Value {
    let attrs: Vec<Value> = node
        .attrs
        .iter()
        .map(|(k, v)| {
            let v = match v {
                AttrValue::Str(s) => s.to_string(),
                AttrValue::Jid(j) => jid_str(j),
            };
            json!([k, v])
        })
        .collect();
    let content = match &node.content {
        Content::None => Value::Null,
        Content::Bytes(b) => json!({ "bytes": hex::encode(b) }),
        Content::Nodes(children) => {
            Value::Array(children.iter().map(|c| node_json(c, jid_str)).collect())
        }
    };
    json!({ "tag": node.tag.as_str(), "attrs": attrs, "content": content })
}

fn per_item(answer: Value) -> Vec<Result<Value, String>> {
    answer
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| match (item.get("ok"), item.get("error")) {
                    (Some(ok), _) => Ok(ok.clone()),
                    (_, Some(err)) => Err(err.to_string()),
                    _ => Err(format!("malformed item {item}")),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn baileys_encode(nodes: &[Node]) -> Vec<Result<Vec<u8>, String>> {
    let params = Value::Array(
        nodes
            .iter()
            .map(|n| node_json(n, jid_for_baileys_encode))
            .collect(),
    );
    let answer = oracle::call("binary.encode", params).unwrap_or_else(|e| panic!("{e}"));
    let out: Vec<_> = per_item(answer)
        .into_iter()
        .map(|r| {
            r.and_then(|v| hex::decode(v.as_str().unwrap_or_default()).map_err(|e| e.to_string()))
        })
        .collect();
    assert_eq!(
        out.len(),
        nodes.len(),
        "oracle answered a different number of items"
    );
    out
}

fn baileys_decode(frames: &[Vec<u8>]) -> Vec<Result<Value, String>> {
    let params = Value::Array(
        frames
            .iter()
            .map(|f| Value::String(hex::encode(f)))
            .collect(),
    );
    let out = per_item(oracle::call("binary.decode", params).unwrap_or_else(|e| panic!("{e}")));
    assert_eq!(
        out.len(),
        frames.len(),
        "oracle answered a different number of items"
    );
    out
}

// ---------------------------------------------------------------------------------------------
// Generator.

struct Tokens {
    single: Vec<String>,
    double: Vec<String>,
}

fn baileys_tokens() -> Tokens {
    let v = oracle::call("binary.tokens", Value::Null).unwrap_or_else(|e| panic!("{e}"));
    let strings = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let single = strings(v.get("single"));
    let double: Vec<String> = v
        .get("double")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|d| strings(Some(d)))
        .collect();
    assert!(
        single.len() > 200 && double.len() > 900,
        "token tables look wrong"
    );
    Tokens { single, double }
}

/// JS objects list integer-like keys first in ascending order, whatever the insertion order
/// (Known differences: attribute key order).
fn is_array_index(s: &str) -> bool {
    (s == "0" || (!s.starts_with('0') && !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())))
        && s.parse::<u64>().is_ok_and(|n| n < u64::from(u32::MAX))
}

/// Own property names of `Object.prototype`: Baileys looks strings up in a plain-object token
/// map, finds these inherited members and writes byte 0 (Known differences: prototype names).
const OBJECT_PROTOTYPE_NAMES: &[&str] = &[
    "constructor",
    "__defineGetter__",
    "__defineSetter__",
    "hasOwnProperty",
    "__lookupGetter__",
    "__lookupSetter__",
    "isPrototypeOf",
    "propertyIsEnumerable",
    "toString",
    "valueOf",
    "__proto__",
    "toLocaleString",
];

#[derive(Default)]
struct Stats {
    nodes: usize,
    attrs: usize,
    jids: usize,
    long_strings: usize,
    huge_strings: usize,
    bytes_8: usize,
    bytes_20: usize,
    bytes_32: usize,
}

struct Gen<'t> {
    rng: Rng,
    tokens: &'t Tokens,
    stats: Stats,
}

const UNICODE_POOL: &[char] = &[
    'a',
    'Z',
    ' ',
    '~',
    '!',
    '#',
    '"',
    '\\',
    '\n',
    '\t',
    '\u{0}',
    '\u{7f}',
    'é',
    'ß',
    'Ω',
    'Ж',
    'ע',
    'ع',
    'अ',
    '中',
    '文',
    '日',
    '한',
    '\u{200b}',
    '\u{301}',
    '\u{fffd}',
    '\u{feff}',
    '😀',
    '👍',
    '🏳',
    '\u{10ffff}',
    '€',
    ':',
    '_',
    '.',
    '-',
];

impl Gen<'_> {
    fn ascii_word(&mut self, lo: usize, hi: usize) -> String {
        const ALPHA: &[u8] =
            b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.:/+= ";
        let n = self.rng.range(lo, hi);
        (0..n).map(|_| char::from(*self.rng.pick(ALPHA))).collect()
    }

    fn charset(&mut self, set: &[u8], lo: usize, hi: usize) -> String {
        let n = self.rng.range(lo, hi);
        (0..n).map(|_| char::from(*self.rng.pick(set))).collect()
    }

    fn unicode(&mut self, lo: usize, hi: usize) -> String {
        let n = self.rng.range(lo, hi);
        (0..n)
            .map(|_| {
                if self.rng.chance(3) {
                    // Any scalar value outside the surrogates.
                    let c = self.rng.range(1, 0x10_FFFF) as u32;
                    char::from_u32(c).filter(|&c| c != '@').unwrap_or('x')
                } else {
                    *self.rng.pick(UNICODE_POOL)
                }
            })
            .collect()
    }

    /// A string as Baileys can carry it in a string position: never containing `@`.
    fn string(&mut self, allow_empty: bool) -> String {
        let s = match self.rng.range(0, 19) {
            17 if !self.rng.chance(3) => self.ascii_word(1, 8),
            0..=3 => self.rng.pick(&self.tokens.single).clone(),
            4..=5 => self.rng.pick(&self.tokens.double).clone(),
            6..=7 => self.charset(b"0123456789-.", 1, 127),
            8 => self.charset(b"0123456789-.", 128, 300),
            9..=10 => self.charset(b"0123456789ABCDEF", 1, 127),
            11 => self.charset(b"0123456789abcdefABCDEF", 1, 140),
            12..=14 => self.ascii_word(1, 40),
            15..=16 => self.unicode(1, 30),
            17 => {
                self.stats.long_strings += 1;
                if self.rng.chance(2) {
                    self.ascii_word(256, 3000)
                } else {
                    self.unicode(100, 1000)
                }
            }
            // About one per run on top of the one forced in; Baileys needs ~0.3 s per MiB.
            18 if self.rng.chance(20_000) => self.huge_string(),
            _ if allow_empty && self.rng.chance(2) => String::new(),
            _ => self.ascii_word(1, 8),
        };
        let s = s.replace('@', "at");
        if OBJECT_PROTOTYPE_NAMES.contains(&s.as_str()) {
            format!("{s}_")
        } else {
            s
        }
    }

    fn huge_string(&mut self) -> String {
        self.stats.huge_strings += 1;
        let n = self.rng.range(1 << 20, (1 << 20) + 5000);
        self.charset(b"abcdefghijklmnopqrstuvwxyz", n, n)
    }

    fn jid_user(&mut self, allow_empty: bool) -> String {
        // No `@`, `:` or `_`: Baileys' jidDecode splits on them (Known differences: JID users).
        let user = match self.rng.range(0, 9) {
            0..=4 => self.charset(b"0123456789", 5, 20),
            5 => self.rng.pick(&self.tokens.single).clone(),
            6 => self.charset(b"0123456789ABCDEF", 8, 32),
            7 => self.charset(b"abcdefghijklmnopqrstuvwxyz0123456789-.", 1, 20),
            8 if allow_empty => String::new(),
            _ => self.unicode(1, 10),
        };
        let user = user.replace(['@', ':', '_'], "0");
        if OBJECT_PROTOTYPE_NAMES.contains(&user.as_str()) {
            format!("{user}0")
        } else {
            user
        }
    }

    fn jid(&mut self) -> Jid {
        self.stats.jids += 1;
        let device = |rng: &mut Rng| rng.range(1, 255) as u16;
        match self.rng.range(0, 16) {
            0 => Jid::new(self.jid_user(false), Server::User),
            1 => Jid::new(self.jid_user(false), Server::User).with_device(device(&mut self.rng)),
            2 => Jid::new(self.jid_user(false), Server::Lid),
            3 => Jid::new(self.jid_user(false), Server::Lid).with_device(device(&mut self.rng)),
            4 => {
                let user = if self.rng.chance(2) {
                    format!("120363{}", self.charset(b"0123456789", 12, 12))
                } else {
                    format!(
                        "{}-{}",
                        self.charset(b"0123456789", 11, 11),
                        self.charset(b"0123456789", 10, 10)
                    )
                };
                Jid::new(user, Server::Group)
            }
            5 => {
                let user = if self.rng.chance(2) {
                    "status".to_owned()
                } else {
                    self.jid_user(false)
                };
                Jid::new(user, Server::Broadcast)
            }
            6 => Jid::new(self.jid_user(false), Server::Newsletter),
            7 => Jid::new(self.charset(b"0123456789ABCDEF", 16, 32), Server::Call),
            8 => Jid::new(self.jid_user(false), Server::Hosted).with_device(device(&mut self.rng)),
            9 => {
                Jid::new(self.jid_user(false), Server::HostedLid).with_device(device(&mut self.rng))
            }
            10 => Jid::new(self.jid_user(false), Server::Hosted),
            11 => Jid::new(self.jid_user(false), Server::HostedLid),
            12 => Jid::new(self.jid_user(false), Server::Bot),
            13 => Jid::new(self.jid_user(false), Server::LegacyUser),
            14 => Jid::new(
                self.jid_user(false),
                Server::Other("example.test".to_owned()),
            ),
            _ => {
                let server = self
                    .rng
                    .pick(&[
                        Server::User,
                        Server::Group,
                        Server::Broadcast,
                        Server::Lid,
                        Server::Call,
                    ])
                    .clone();
                Jid::new("", server)
            }
        }
    }

    fn attr_key(&mut self) -> String {
        loop {
            let key = self.string(false);
            if !is_array_index(&key) {
                return key;
            }
        }
    }

    fn tag(&mut self) -> String {
        self.string(false)
    }

    fn node(&mut self, depth: usize) -> Node {
        self.stats.nodes += 1;
        let mut attrs = Attrs::new();
        let n_attrs = match self.rng.range(0, 9) {
            0..=1 => 0,
            2..=7 => self.rng.range(1, 4),
            8 => self.rng.range(5, 12),
            _ if self.rng.chance(10) => self.rng.range(13, 130),
            _ => self.rng.range(0, 4),
        };
        let mut keys = std::collections::HashSet::new();
        for _ in 0..n_attrs {
            let key = self.attr_key();
            if !keys.insert(key.clone()) {
                continue;
            }
            self.stats.attrs += 1;
            if self.rng.chance(3) {
                attrs.insert(key, self.jid());
            } else {
                attrs.insert(key, self.string(true));
            }
        }
        let content = match self.rng.range(0, 9) {
            0..=2 => Content::None,
            3..=5 if depth < 4 => {
                let n = match self.rng.range(0, 9) {
                    0 => 0,
                    1..=8 => self.rng.range(1, 4),
                    _ => self.rng.range(5, 20),
                };
                Content::Nodes((0..n).map(|_| self.node(depth + 1)).collect())
            }
            _ => Content::Bytes(self.content_bytes()),
        };
        Node {
            tag: self.tag().into(),
            attrs,
            content,
        }
    }

    fn content_bytes(&mut self) -> Vec<u8> {
        let n = match self.rng.range(0, 199) {
            0..=19 => 0,
            20..=179 => self.rng.range(1, 255),
            180..=198 => self.rng.range(256, 3_000),
            // Large payloads cost Baileys' byte-at-a-time encoder ~0.3 s per MiB: keep them rare.
            _ if self.rng.chance(50) => self.rng.range(1 << 20, (1 << 20) + 10_000),
            _ => self.rng.range(3_000, 60_000),
        };
        match n {
            0..256 => self.stats.bytes_8 += 1,
            256..1_048_576 => self.stats.bytes_20 += 1,
            _ => self.stats.bytes_32 += 1,
        }
        self.rng.bytes(n)
    }
}

// ---------------------------------------------------------------------------------------------
// The differential test.

#[derive(Default)]
struct Failures {
    encode: Vec<String>,
    baileys_decode: Vec<String>,
    our_decode: Vec<String>,
}

fn describe(node: &Node) -> String {
    let text = format!("{node:?}");
    match text.char_indices().nth(600) {
        Some((i, _)) => format!("{}… ({} chars)", &text[..i], text.len()),
        None => text,
    }
}

fn record(list: &mut Vec<String>, what: String) {
    if list.len() < 1_000 {
        list.push(what);
    }
}

/// Runs the three checks on one batch and records what differs.
fn check_batch(batch: &[Node], failures: &mut Failures) {
    let ours: Vec<Vec<u8>> = batch.iter().map(wa_binary::marshal).collect();
    let theirs = baileys_encode(batch);
    let decoded_ours = baileys_decode(&ours);
    for (((node, our_bytes), their_bytes), baileys_view) in
        batch.iter().zip(&ours).zip(&theirs).zip(decoded_ours)
    {
        // (1) identical bytes.
        match their_bytes {
            Ok(b) if b == our_bytes => {}
            Ok(b) => {
                let at = b
                    .iter()
                    .zip(our_bytes.iter())
                    .position(|(x, y)| x != y)
                    .unwrap_or(b.len().min(our_bytes.len()));
                record(
                    &mut failures.encode,
                    format!(
                        "bytes differ at offset {at} (ours {} B, Baileys {} B): {}",
                        our_bytes.len(),
                        b.len(),
                        describe(node)
                    ),
                );
            }
            Err(e) => record(
                &mut failures.encode,
                format!("Baileys could not encode ({e}): {}", describe(node)),
            ),
        }
        // (2) Baileys reads our bytes back as our node.
        let expected = node_json(node, jid_as_baileys_prints);
        match baileys_view {
            Ok(v) if v == expected => {}
            Ok(v) => {
                let got = v.to_string();
                let got = got.get(..600.min(got.len())).unwrap_or(&got).to_owned();
                record(
                    &mut failures.baileys_decode,
                    format!("Baileys decoded {got} from {}", describe(node)),
                );
            }
            Err(e) => record(
                &mut failures.baileys_decode,
                format!("Baileys could not decode ({e}): {}", describe(node)),
            ),
        }
        // (3) we read Baileys' bytes back as the original node.
        if let Ok(b) = their_bytes {
            match wa_binary::decode_frame(b) {
                Ok(n) if &n == node => {}
                Ok(n) => record(
                    &mut failures.our_decode,
                    format!("we decoded {} from {}", describe(&n), describe(node)),
                ),
                Err(e) => record(
                    &mut failures.our_decode,
                    format!("we could not decode ({e}): {}", describe(node)),
                ),
            }
        }
    }
}

/// Checks a batch and keeps the first few disagreeing nodes for [`minimize`].
fn check_and_keep(batch: &[Node], failures: &mut Failures, keep: &mut Vec<Node>) {
    let before = failures.encode.len() + failures.baileys_decode.len() + failures.our_decode.len();
    check_batch(batch, failures);
    let after = failures.encode.len() + failures.baileys_decode.len() + failures.our_decode.len();
    if after > before && keep.len() < 5 {
        keep.extend(
            batch
                .iter()
                .filter(|n| !agrees(n))
                .take(5 - keep.len())
                .cloned(),
        );
    }
}

/// True when all three checks pass for `node` alone.
fn agrees(node: &Node) -> bool {
    let mut f = Failures::default();
    check_batch(std::slice::from_ref(node), &mut f);
    f.encode.is_empty() && f.baileys_decode.is_empty() && f.our_decode.is_empty()
}

/// Shrinks a disagreeing node to a small part that still disagrees: a child, one attribute,
/// or the tag with the content alone.
fn minimize(node: &Node) -> Node {
    if let Content::Nodes(children) = &node.content
        && let Some(child) = children.iter().find(|c| !agrees(c))
    {
        return minimize(child);
    }
    for (k, v) in node.attrs.iter() {
        let mut attrs = Attrs::new();
        attrs.insert(k, v.clone());
        let single = Node {
            tag: node.tag.clone(),
            attrs,
            content: Content::None,
        };
        if !agrees(&single) {
            return single;
        }
    }
    let bare = Node {
        tag: node.tag.clone(),
        attrs: Attrs::new(),
        content: node.content.clone(),
    };
    if !agrees(&bare) { bare } else { node.clone() }
}

#[test]
fn random_nodes_match_baileys_byte_for_byte() {
    let seed = env_u64("WA_INTEROP_SEED").unwrap_or(DEFAULT_SEED);
    let count = env_u64("WA_INTEROP_NODES").map_or(DEFAULT_NODES, |n| n as usize);
    println!(
        "binary interop: seed {seed:#x} (replay with WA_INTEROP_SEED={seed:#x}), {count} top-level nodes"
    );
    let tokens = baileys_tokens();
    let mut generator = Gen {
        rng: Rng(seed),
        tokens: &tokens,
        stats: Stats::default(),
    };

    let mut failures = Failures::default();
    let mut first_failing: Vec<Node> = Vec::new();
    let mut batch = Vec::with_capacity(BATCH);
    let mut batch_bytes = 0usize;
    for i in 0..count {
        let mut node = generator.node(0);
        // Make sure every run covers the length boundaries and the rare 32-bit lengths.
        let forced_len = match i {
            1 => Some(1 << 20),       // smallest BINARY_32
            3 => Some((1 << 20) - 1), // largest BINARY_20
            4 => Some(256),           // smallest BINARY_20
            5 => Some(255),           // largest BINARY_8
            _ => None,
        };
        if let Some(n) = forced_len {
            node.content = Content::Bytes(generator.rng.bytes(n));
            match n {
                0..256 => generator.stats.bytes_8 += 1,
                256..1_048_576 => generator.stats.bytes_20 += 1,
                _ => generator.stats.bytes_32 += 1,
            }
        }
        if i == 2 {
            let huge = generator.huge_string();
            node.attrs.insert("huge", huge);
        }
        batch_bytes += wa_binary::marshal(&node).len();
        batch.push(node);
        if batch.len() == BATCH || batch_bytes > 8 << 20 {
            check_and_keep(&batch, &mut failures, &mut first_failing);
            batch.clear();
            batch_bytes = 0;
        }
    }
    if !batch.is_empty() {
        check_and_keep(&batch, &mut failures, &mut first_failing);
    }

    let s = &generator.stats;
    println!(
        "binary interop: {} nodes in all ({} attributes, {} JIDs, {} long and {} >1 MiB strings, \
         bytes content {} short / {} 20-bit / {} 32-bit)",
        s.nodes, s.attrs, s.jids, s.long_strings, s.huge_strings, s.bytes_8, s.bytes_20, s.bytes_32
    );
    println!(
        "binary interop: mismatches: encode {}, Baileys decoding ours {}, we decoding Baileys' {}",
        failures.encode.len(),
        failures.baileys_decode.len(),
        failures.our_decode.len()
    );
    for (name, list) in [
        ("encode", &failures.encode),
        ("baileys decode", &failures.baileys_decode),
        ("our decode", &failures.our_decode),
    ] {
        for f in list.iter().take(8) {
            println!("  [{name}] {f}");
        }
    }
    for node in &first_failing {
        println!(
            "  [smallest disagreeing part] {}",
            describe(&minimize(node))
        );
    }
    assert!(
        s.nodes >= 10_000 || count < DEFAULT_NODES,
        "generated only {} nodes",
        s.nodes
    );
    assert!(
        failures.encode.is_empty()
            && failures.baileys_decode.is_empty()
            && failures.our_decode.is_empty(),
        "wa-binary and Baileys disagree (seed {seed:#x}); see the lines above"
    );
}

// ---------------------------------------------------------------------------------------------
// Known differences, pinned (see "Known differences" in tests/interop/README.md). Each test
// shows the difference so that the generator's exclusion stays justified; if Baileys or
// wa-binary changes, the matching test fails and the exclusion can be revisited.

fn baileys_encode_json(node: Value) -> Vec<u8> {
    let answer = oracle::call("binary.encode", json!([node])).unwrap_or_else(|e| panic!("{e}"));
    match per_item(answer).pop() {
        Some(Ok(Value::String(hex))) => hex::decode(hex).unwrap_or_else(|e| panic!("{e}")),
        other => panic!("Baileys could not encode: {other:?}"),
    }
}

fn baileys_decode_one(frame: &[u8]) -> Value {
    match baileys_decode(&[frame.to_vec()]).pop() {
        Some(Ok(v)) => v,
        other => panic!("Baileys could not decode: {other:?}"),
    }
}

fn jid(s: &str) -> Jid {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

#[test]
fn known_difference_baileys_writes_jid_looking_strings_as_jids() {
    let as_string = Node::new("m").attr("to", "123@s.whatsapp.net").build();
    let as_jid = Node::new("m").attr("to", jid("123@s.whatsapp.net")).build();
    let theirs = baileys_encode_json(
        json!({"tag": "m", "attrs": [["to", "123@s.whatsapp.net"]], "content": null}),
    );
    // Baileys' bytes are our bytes for a JID value, not for a string value.
    assert_eq!(theirs, wa_binary::marshal(&as_jid));
    assert_ne!(theirs, wa_binary::marshal(&as_string));
    // So a string attribute containing `@` comes back from Baileys as a JID.
    let back = wa_binary::decode_frame(&theirs).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, as_jid);
    // Our raw-string encoding is still readable by Baileys, with the same text.
    let view = baileys_decode_one(&wa_binary::marshal(&as_string));
    assert_eq!(view["attrs"], json!([["to", "123@s.whatsapp.net"]]));
}

#[test]
fn known_difference_js_objects_put_integer_like_keys_first() {
    let node = Node::new("n")
        .attr("b", "x")
        .attr("10", "y")
        .attr("2", "z")
        .attr("a", "w")
        .build();
    let ours = wa_binary::marshal(&node);
    // Baileys decodes into a JS object, which lists array-index keys first, ascending.
    let view = baileys_decode_one(&ours);
    assert_eq!(
        view["attrs"],
        json!([["2", "z"], ["10", "y"], ["b", "x"], ["a", "w"]])
    );
    // Its encoder iterates a JS object too, so it cannot produce our order either.
    let theirs = baileys_encode_json(node_json(&node, jid_as_baileys_prints));
    assert_ne!(theirs, ours);
    let reordered = Node::new("n")
        .attr("2", "z")
        .attr("10", "y")
        .attr("b", "x")
        .attr("a", "w")
        .build();
    assert_eq!(theirs, wa_binary::marshal(&reordered));
    // Keys that are not array indexes ("01", "-1", "4294967295") keep their order.
    assert!(!is_array_index("01") && !is_array_index("-1") && !is_array_index("4294967295"));
    assert!(is_array_index("0") && is_array_index("4294967294"));
    let node = Node::new("n")
        .attr("b", "x")
        .attr("01", "y")
        .attr("-1", "z")
        .attr("4294967295", "w")
        .build();
    let view = baileys_decode_one(&wa_binary::marshal(&node));
    assert_eq!(
        view["attrs"],
        json!([["b", "x"], ["01", "y"], ["-1", "z"], ["4294967295", "w"]])
    );
}

#[test]
fn known_difference_hosted_jids_without_device() {
    for server in ["hosted", "hosted.lid"] {
        let ours = wa_binary::marshal(
            &Node::new("n")
                .attr("j", jid(&format!("123@{server}")))
                .build(),
        );
        // whatsmeow (and we) always write hosted JIDs as AD_JID; Baileys only with a `:device`.
        let pair = baileys_encode_json(
            json!({"tag": "n", "attrs": [["j", format!("123@{server}")]], "content": null}),
        );
        let ad = baileys_encode_json(
            json!({"tag": "n", "attrs": [["j", format!("123:0@{server}")]], "content": null}),
        );
        assert_ne!(ours, pair, "{server}");
        assert_eq!(ours, ad, "{server}");
        // Both forms decode to the same JID on both sides.
        assert_eq!(
            baileys_decode_one(&ours)["attrs"],
            json!([["j", format!("123@{server}")]])
        );
        let back = wa_binary::decode_frame(&pair).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            back.attrs.get("j"),
            Some(&AttrValue::Jid(jid(&format!("123@{server}"))))
        );
    }
}

#[test]
fn known_difference_server_only_jids_are_spelled_with_a_leading_at_in_baileys() {
    let node = Node::new("iq")
        .attr("to", Jid::new("", Server::User))
        .build();
    let ours = wa_binary::marshal(&node);
    assert_eq!(
        baileys_decode_one(&ours)["attrs"],
        json!([["to", "@s.whatsapp.net"]])
    );
    // Our display form `s.whatsapp.net` is a plain string (a token) to Baileys.
    let token = baileys_encode_json(
        json!({"tag": "iq", "attrs": [["to", "s.whatsapp.net"]], "content": null}),
    );
    assert_ne!(token, ours);
    assert_eq!(
        baileys_encode_json(
            json!({"tag": "iq", "attrs": [["to", "@s.whatsapp.net"]], "content": null})
        ),
        ours
    );
}

#[test]
fn known_difference_messenger_and_interop_jids_are_decode_only_in_baileys() {
    let cases = [
        (jid("123:4@msgr"), "123:4@msgr"),
        (jid("123@msgr"), "123:0@msgr"),
        (jid("7-123:4@interop"), "7-123:4@interop"),
        (jid("7-123@interop"), "7-123:0@interop"),
    ];
    for (j, baileys_prints) in cases {
        let ours = wa_binary::marshal(&Node::new("n").attr("j", j.clone()).build());
        // Baileys reads our FB_JID / INTEROP_JID (always printing the device).
        assert_eq!(
            baileys_decode_one(&ours)["attrs"],
            json!([["j", baileys_prints]]),
            "{j}"
        );
        // But its encoder has no FB_JID / INTEROP_JID: `:device` makes any JID string an AD_JID.
        let theirs = baileys_encode_json(
            json!({"tag": "n", "attrs": [["j", baileys_prints]], "content": null}),
        );
        assert_ne!(theirs, ours, "{j}");
        let back = wa_binary::decode_frame(&theirs).unwrap_or_else(|e| panic!("{e}"));
        let back = back.attrs.get("j").and_then(AttrValue::as_jid).cloned();
        assert_eq!(
            back.as_ref().map(Jid::server),
            Some(&Server::User),
            "{j}: {back:?}"
        );
    }
}

#[test]
fn known_difference_agents_are_spelled_differently_and_lost_by_baileys() {
    // whatsmeow spells an agent `user.agent:device`; Baileys `user_agent:device`.
    let j = Jid::new("123", Server::User).with_agent(2).with_device(4);
    assert_eq!(j.to_string(), "123.2:4@s.whatsapp.net");
    let ours = wa_binary::marshal(&Node::new("n").attr("j", j.clone()).build());
    let theirs = baileys_encode_json(
        json!({"tag": "n", "attrs": [["j", "123_2:4@s.whatsapp.net"]], "content": null}),
    );
    assert_eq!(theirs, ours);
    // Baileys' decoder drops the agent; ours keeps it.
    assert_eq!(
        baileys_decode_one(&ours)["attrs"],
        json!([["j", "123:4@s.whatsapp.net"]])
    );
    let back = wa_binary::decode_frame(&theirs).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back.attrs.get("j"), Some(&AttrValue::Jid(j)));
}

#[test]
fn known_difference_baileys_splits_jid_users_on_colon_and_underscore() {
    // `a_b@g.us` is user `a` with agent `b` to Baileys: the `_b` is dropped on encode.
    let theirs =
        baileys_encode_json(json!({"tag": "n", "attrs": [["j", "a_b@g.us"]], "content": null}));
    let back = wa_binary::decode_frame(&theirs).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back.attrs.get("j"), Some(&AttrValue::Jid(jid("a@g.us"))));
    // We carry such a user unchanged, and Baileys reads it back unchanged too.
    let ours = wa_binary::marshal(
        &Node::new("n")
            .attr("j", Jid::new("a_b", Server::Group))
            .build(),
    );
    assert_eq!(
        baileys_decode_one(&ours)["attrs"],
        json!([["j", "a_b@g.us"]])
    );
}

#[test]
fn known_difference_string_content_decodes_as_bytes() {
    // Baileys can put a string (token, packed or raw) in content position; we never write one,
    // and read one back as bytes of its text.
    for text in ["result", "12345", "ABCDEF01", "free text"] {
        let theirs =
            baileys_encode_json(json!({"tag": "n", "attrs": [], "content": {"text": text}}));
        let back = wa_binary::decode_frame(&theirs).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            back.content,
            Content::Bytes(text.as_bytes().to_vec()),
            "{text}"
        );
    }
    // Bytes content is always raw binary on our side, even when it spells a token.
    let ours = wa_binary::marshal(&Node::new("n").bytes(b"result".to_vec()).build());
    assert_eq!(
        baileys_decode_one(&ours)["content"],
        json!({"bytes": hex::encode("result")})
    );
}

#[test]
fn known_difference_baileys_writes_object_prototype_names_as_byte_zero() {
    // Baileys' TOKEN_MAP is a plain object: `TOKEN_MAP["toString"]` is the inherited method, so
    // the string is "found" and written as its (undefined) index, i.e. byte 0.
    let theirs =
        baileys_encode_json(json!({"tag": "n", "attrs": [["a", "toString"]], "content": null}));
    // flags, LIST_8 3, tag "n" (BINARY_8), key "a" (BINARY_8), value: a lone 0x00.
    assert_eq!(theirs, [0x00, 0xf8, 3, 0xfc, 1, b'n', 0xfc, 1, b'a', 0x00]);
    let back = wa_binary::decode_frame(&theirs).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back.attrs.get("a"), Some(&AttrValue::from("")));
    // We write these names as ordinary strings, and Baileys reads ours back unchanged.
    for name in OBJECT_PROTOTYPE_NAMES {
        let node = Node::new("n").attr("a", *name).build();
        assert_eq!(
            baileys_decode_one(&wa_binary::marshal(&node))["attrs"],
            json!([["a", name]]),
            "{name}"
        );
    }
    // As a key, `__proto__` is lost by Baileys' decoder (assigning it sets the prototype).
    let node = Node::new("n").attr("__proto__", "x").attr("b", "y").build();
    assert_eq!(
        baileys_decode_one(&wa_binary::marshal(&node))["attrs"],
        json!([["b", "y"]])
    );
}

// ---------------------------------------------------------------------------------------------
// Compressed frames (flags bit 2: zlib), which both decoders accept.

fn zlib_frame(frame: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let body = frame.get(1..).unwrap_or_default();
    let mut z = flate2::write::ZlibEncoder::new(vec![2u8], flate2::Compression::default());
    z.write_all(body).unwrap_or_else(|e| panic!("{e}"));
    z.finish().unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn compressed_frames_decode_the_same_on_both_sides() {
    let seed = env_u64("WA_INTEROP_SEED").unwrap_or(DEFAULT_SEED) ^ 0x2A;
    println!("binary interop (zlib): seed {seed:#x}");
    let tokens = baileys_tokens();
    let mut generator = Gen {
        rng: Rng(seed),
        tokens: &tokens,
        stats: Stats::default(),
    };
    let nodes: Vec<Node> = (0..300).map(|_| generator.node(0)).collect();
    let frames: Vec<Vec<u8>> = nodes
        .iter()
        .map(|n| zlib_frame(&wa_binary::marshal(n)))
        .collect();
    let mut disagreements = 0usize;
    for ((node, frame), view) in nodes.iter().zip(&frames).zip(baileys_decode(&frames)) {
        let expected = node_json(node, jid_as_baileys_prints);
        let ours = wa_binary::decode_frame(frame);
        let baileys_ok = matches!(&view, Ok(v) if *v == expected);
        let ours_ok = matches!(&ours, Ok(n) if n == node);
        if !(baileys_ok && ours_ok) {
            disagreements += 1;
            if disagreements <= 5 {
                println!(
                    "  zlib frame disagrees (Baileys ok: {baileys_ok}, ours ok: {ours_ok}): {}",
                    describe(node)
                );
            }
        }
    }
    println!(
        "binary interop (zlib): {} frames, {} nodes, {disagreements} disagreements",
        frames.len(),
        generator.stats.nodes
    );
    assert_eq!(disagreements, 0);
}
