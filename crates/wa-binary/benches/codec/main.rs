//! `cargo bench -p wa-binary`: our codec against whatsapp-rust's `wacore-binary` 0.7.
//!
//! Three corpora (see `corpus.rs`) are encoded once with our encoder; both decoders then decode
//! those same bytes. Before any timing, each corpus is checked: our `unmarshal`/`unmarshal_ref`
//! round-trip every node, wacore decodes our bytes to the node converted from ours
//! (`theirs.rs`), and wacore's encoder is run on that node to see whether it writes our bytes.
//! Each measured operation processes a whole corpus:
//!
//! * encode: our `marshal_into` vs wacore's `marshal_to_vec`, both into a reused buffer, each on
//!   the nodes its own decoder produced from the shared bytes (so both node sets are allocated
//!   alike, and wacore's hold interned `&'static str` tags and keys as its API yields them);
//! * decode: our `unmarshal` (owned) and `unmarshal_ref` (borrowed) vs wacore's `unmarshal_ref`
//!   (borrowed) and `unmarshal_ref(..).to_owned()` (its only way to an owned node); our flat
//!   `unmarshal_flat` (a fresh `Document` per frame) and `Document::decode_into` (one document
//!   reused across frames and passes) vs wacore's `unmarshal_ref` too.
//!
//! After the criterion groups, a short manual timing pass over the same closures prints a ratio
//! table (`ratio` = wacore time / our time, so > 1 means we are faster) checked against the
//! targets: encode ≥ 1.2×, and decode ≥ 1.5× for the decoder a client uses (`unmarshal`, which
//! `decode_frame` runs, against wacore's way to an owned node); the borrowed and flat decoders
//! are listed for comparison without a target. Our batch and wacore's batch alternate, so load from
//! other processes on the machine hits both alike. Run without `--bench` (as `cargo test
//! --benches` does) everything executes a few times as a smoke test and the table says so.

// Benchmarks measure wall-clock time; clippy.toml bans `Instant::now` only for library code.
#![allow(clippy::disallowed_methods, missing_docs)]

mod corpus;
mod theirs;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use wa_binary::{Document, Node};

use corpus::Corpus;

/// A corpus ready to benchmark: our nodes, wacore's equivalent nodes and the encoded frames.
struct Prepared {
    name: &'static str,
    ours: Vec<Node>,
    theirs: Vec<wacore_binary::Node>,
    /// Our encoding of each node, flags byte included (wacore's encoder writes the same bytes
    /// when `same_bytes`).
    frames: Vec<Vec<u8>>,
    /// Sum of the frame lengths: the byte count used for throughput.
    bytes: u64,
    /// Whether wacore's encoder wrote exactly our bytes for every node.
    same_bytes: bool,
}

impl Prepared {
    fn new(corpus: Corpus) -> Self {
        let Corpus { name, nodes: built } = corpus;
        let frames: Vec<Vec<u8>> = built.iter().map(wa_binary::marshal).collect();
        let bytes = frames.iter().map(|f| f.len() as u64).sum();

        let mut ours = Vec::with_capacity(built.len());
        let mut theirs = Vec::with_capacity(built.len());
        let mut same_bytes = true;
        let mut buf = Vec::new();
        for (i, (frame, node)) in frames.iter().zip(&built).enumerate() {
            // Our round trip must be exact, or the numbers would be meaningless.
            let body = &frame[1..];
            let owned = wa_binary::unmarshal(body)
                .unwrap_or_else(|e| panic!("{name}[{i}]: unmarshal: {e}"));
            assert!(owned == *node, "{name}[{i}]: unmarshal does not round-trip");
            let borrowed = wa_binary::unmarshal_ref(body)
                .unwrap_or_else(|e| panic!("{name}[{i}]: unmarshal_ref: {e}"));
            assert!(
                borrowed.to_owned() == *node,
                "{name}[{i}]: unmarshal_ref does not round-trip"
            );
            let flat = wa_binary::unmarshal_flat(body)
                .unwrap_or_else(|e| panic!("{name}[{i}]: unmarshal_flat: {e}"));
            assert!(
                flat.root().map(|r| r.to_owned()).as_ref() == Some(node),
                "{name}[{i}]: unmarshal_flat does not round-trip"
            );
            let mut appended = vec![0xAA];
            wa_binary::marshal_into(node, &mut appended);
            assert_eq!(
                &appended[1..],
                frame.as_slice(),
                "{name}[{i}]: marshal_into differs from marshal"
            );

            // wacore must decode our bytes to the same logical node, so both decoders do the
            // same work.
            let converted = theirs::to_theirs(node);
            let decoded = theirs::decode_owned(body);
            assert!(
                decoded == converted,
                "{name}[{i}]: wacore-binary decodes our frame to a different node"
            );
            theirs::encode_into(&converted, &mut buf);
            if buf != *frame {
                if same_bytes {
                    let at = buf
                        .iter()
                        .zip(frame)
                        .position(|(a, b)| a != b)
                        .unwrap_or(buf.len().min(frame.len()));
                    eprintln!(
                        "note: {name}[{i}]: wacore-binary's encoding differs from ours at byte {at} \
                         (ours {} bytes, theirs {} bytes)",
                        frame.len(),
                        buf.len()
                    );
                }
                same_bytes = false;
            }
            // Each codec encodes the node its own decoder produces from the shared bytes: the
            // representation its API naturally yields (wacore interns token tags and keys as
            // `&'static str`; ours are `String`s by contract), allocated the same way for both.
            ours.push(owned);
            theirs.push(decoded);
        }
        Prepared {
            name,
            ours,
            theirs,
            frames,
            bytes,
            same_bytes,
        }
    }
}

/// One measured operation over a whole corpus.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    OursEncode,
    TheirsEncode,
    OursDecodeOwned,
    OursDecodeRef,
    OursDecodeFlat,
    OursDecodeFlatReuse,
    TheirsDecodeRef,
    TheirsDecodeOwned,
}

/// Buffers an operation may reuse across passes: the encode buffer and the flat document.
struct Scratch {
    buf: Vec<u8>,
    doc: Document<'static>,
}

impl Scratch {
    fn new() -> Self {
        Scratch {
            buf: Vec::with_capacity(64 * 1024),
            doc: Document::new(),
        }
    }
}

impl Op {
    const ALL: [Op; 8] = [
        Op::OursEncode,
        Op::TheirsEncode,
        Op::OursDecodeOwned,
        Op::OursDecodeRef,
        Op::OursDecodeFlat,
        Op::OursDecodeFlatReuse,
        Op::TheirsDecodeRef,
        Op::TheirsDecodeOwned,
    ];

    fn id(self) -> &'static str {
        match self {
            Op::OursEncode => "wa-binary/marshal_into",
            Op::TheirsEncode => "wacore/marshal_to_vec",
            Op::OursDecodeOwned => "wa-binary/unmarshal",
            Op::OursDecodeRef => "wa-binary/unmarshal_ref",
            Op::OursDecodeFlat => "wa-binary/unmarshal_flat",
            Op::OursDecodeFlatReuse => "wa-binary/Document::decode_into",
            Op::TheirsDecodeRef => "wacore/unmarshal_ref",
            Op::TheirsDecodeOwned => "wacore/unmarshal_ref+to_owned",
        }
    }

    fn is_encode(self) -> bool {
        matches!(self, Op::OursEncode | Op::TheirsEncode)
    }

    fn run(self, p: &Prepared, s: &mut Scratch) {
        match self {
            Op::OursEncode => pass_ours_encode(p, &mut s.buf),
            Op::TheirsEncode => pass_theirs_encode(p, &mut s.buf),
            Op::OursDecodeOwned => pass_ours_decode_owned(p),
            Op::OursDecodeRef => pass_ours_decode_ref(p),
            Op::OursDecodeFlat => pass_ours_decode_flat(p),
            Op::OursDecodeFlatReuse => pass_ours_decode_flat_reuse(p, &mut s.doc),
            Op::TheirsDecodeRef => pass_theirs_decode_ref(p),
            Op::TheirsDecodeOwned => pass_theirs_decode_owned(p),
        }
    }
}

// One function per operation, never inlined, so that profilers (perf, callgrind) attribute each
// corpus pass to its own symbol: `callgrind_annotate --inclusive=yes` then gives instructions
// per pass, a figure that machine load does not change.

#[inline(never)]
fn pass_ours_encode(p: &Prepared, buf: &mut Vec<u8>) {
    for node in &p.ours {
        buf.clear();
        wa_binary::marshal_into(black_box(node), buf);
        black_box(buf.as_slice());
    }
}

#[inline(never)]
fn pass_theirs_encode(p: &Prepared, buf: &mut Vec<u8>) {
    for node in &p.theirs {
        theirs::encode_into(black_box(node), buf);
        black_box(buf.as_slice());
    }
}

#[inline(never)]
fn pass_ours_decode_owned(p: &Prepared) {
    for frame in &p.frames {
        black_box(wa_binary::unmarshal(black_box(&frame[1..])).is_ok());
    }
}

#[inline(never)]
fn pass_ours_decode_ref(p: &Prepared) {
    for frame in &p.frames {
        black_box(wa_binary::unmarshal_ref(black_box(&frame[1..])).is_ok());
    }
}

#[inline(never)]
fn pass_ours_decode_flat(p: &Prepared) {
    for frame in &p.frames {
        black_box(wa_binary::unmarshal_flat(black_box(&frame[1..])).is_ok());
    }
}

/// One document for every frame of every pass, as a client's read loop would keep it.
#[inline(never)]
fn pass_ours_decode_flat_reuse(p: &Prepared, doc: &mut Document<'static>) {
    let mut d = std::mem::take(doc).recycle();
    for frame in &p.frames {
        black_box(d.decode_into(black_box(&frame[1..])).is_ok());
        black_box(&d);
    }
    *doc = d.recycle();
}

#[inline(never)]
fn pass_theirs_decode_ref(p: &Prepared) {
    for frame in &p.frames {
        black_box(theirs::decode_ref(black_box(&frame[1..])));
    }
}

#[inline(never)]
fn pass_theirs_decode_owned(p: &Prepared) {
    for frame in &p.frames {
        black_box(theirs::decode_owned(black_box(&frame[1..])));
    }
}

fn criterion_groups(c: &mut Criterion, corpora: &[Prepared]) {
    for p in corpora {
        for (kind, encode) in [("encode", true), ("decode", false)] {
            let mut group = c.benchmark_group(format!("{kind}/{}", p.name));
            group.throughput(Throughput::Bytes(p.bytes));
            for op in Op::ALL.into_iter().filter(|op| op.is_encode() == encode) {
                let mut scratch = Scratch::new();
                group.bench_function(op.id(), |b| b.iter(|| op.run(p, &mut scratch)));
            }
            group.finish();
        }
    }
}

/// Runs `op` for about `batch` (at least three passes) and returns the passes per batch.
fn calibrate(op: Op, p: &Prepared, batch: Duration, s: &mut Scratch) -> u64 {
    let start = Instant::now();
    let mut passes = 0u64;
    while start.elapsed() < batch || passes < 3 {
        op.run(p, s);
        passes += 1;
    }
    let per = start.elapsed().as_secs_f64() / passes as f64;
    ((batch.as_secs_f64() / per) as u64).max(1)
}

/// Nanoseconds per corpus pass of one batch of `iters` passes.
fn time_batch(op: Op, p: &Prepared, iters: u64, s: &mut Scratch) -> f64 {
    let t = Instant::now();
    for _ in 0..iters {
        op.run(p, s);
    }
    t.elapsed().as_nanos() as f64 / iters as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Times `ours` and `theirs` in alternating batches, so that load from other processes on the
/// machine hits both alike. Returns (median ns/pass ours, median ns/pass theirs, median of the
/// per-pair ratios theirs/ours).
fn time_pair(
    ours: Op,
    theirs: Op,
    p: &Prepared,
    batch: Duration,
    batches: usize,
) -> (f64, f64, f64) {
    let mut s = Scratch::new();
    let iters_ours = calibrate(ours, p, batch, &mut s);
    let iters_theirs = calibrate(theirs, p, batch, &mut s);
    let mut t_ours = Vec::with_capacity(batches);
    let mut t_theirs = Vec::with_capacity(batches);
    let mut ratios = Vec::with_capacity(batches);
    for _ in 0..batches {
        let a = time_batch(ours, p, iters_ours, &mut s);
        let b = time_batch(theirs, p, iters_theirs, &mut s);
        t_ours.push(a);
        t_theirs.push(b);
        ratios.push(b / a);
    }
    (median(t_ours), median(t_theirs), median(ratios))
}

fn mb_per_s(bytes: u64, ns: f64) -> f64 {
    bytes as f64 / ns * 1e9 / 1e6
}

/// Times every operation and prints ours-vs-wacore ratios against the targets.
fn ratio_table(corpora: &[Prepared], measure: bool) {
    // (ours, theirs, what, target). The decode target applies to the decoder a client uses,
    // `unmarshal` (what `decode_frame` runs); the borrowed and flat decoders are shown for
    // comparison, without a target.
    let pairs = [
        (Op::OursEncode, Op::TheirsEncode, "encode", Some(1.2)),
        (
            Op::OursDecodeOwned,
            Op::TheirsDecodeOwned,
            "decode owned",
            Some(1.5),
        ),
        (
            Op::OursDecodeRef,
            Op::TheirsDecodeRef,
            "decode borrowed",
            None,
        ),
        (Op::OursDecodeFlat, Op::TheirsDecodeRef, "decode flat", None),
        (
            Op::OursDecodeFlatReuse,
            Op::TheirsDecodeRef,
            "decode flat reuse",
            None,
        ),
    ];
    let (batch, batches) = if measure {
        (Duration::from_millis(50), 15)
    } else {
        (Duration::ZERO, 1)
    };
    println!();
    if measure {
        println!(
            "wa-binary vs wacore-binary 0.7: {batches} alternating batch pairs; ns/op are medians, \
             ratio = median over pairs of wacore time / our time"
        );
    } else {
        println!(
            "wa-binary vs wacore-binary 0.7: SMOKE RUN (a few passes, not a measurement; use `cargo bench`)"
        );
    }
    println!(
        "{:<14} {:<18} {:>9} {:>13} {:>13} {:>10} {:>10} {:>7} {:>7}  result",
        "corpus",
        "operation",
        "bytes",
        "ours ns/op",
        "wacore ns/op",
        "ours MB/s",
        "wacore MB/s",
        "ratio",
        "target"
    );
    let mut all_met = true;
    for p in corpora {
        for (ours, theirs, what, target) in pairs {
            let (t_ours, t_theirs, ratio) = time_pair(ours, theirs, p, batch, batches);
            let (target, result) = match target {
                Some(target) => {
                    let met = ratio >= target;
                    all_met &= met;
                    (format!("{target:.1}x"), if met { "ok" } else { "MISSED" })
                }
                None => ("-".to_owned(), "(no target)"),
            };
            println!(
                "{:<14} {:<18} {:>9} {:>13.0} {:>13.0} {:>10.1} {:>10.1} {:>6.2}x {:>7}  {}",
                p.name,
                what,
                p.bytes,
                t_ours,
                t_theirs,
                mb_per_s(p.bytes, t_ours),
                mb_per_s(p.bytes, t_theirs),
                ratio,
                target,
                result
            );
        }
    }
    for p in corpora {
        println!(
            "{}: {} frame(s), {} bytes; wacore-binary encodes {} bytes",
            p.name,
            p.frames.len(),
            p.bytes,
            if p.same_bytes {
                "identical"
            } else {
                "DIFFERENT (see note above)"
            }
        );
    }
    if measure {
        println!(
            "{}",
            if all_met {
                "all targets met"
            } else {
                "some targets MISSED"
            }
        );
    }
}

fn main() {
    // WA_BENCH_CORPUS=<name> restricts the run to one corpus (for profiling).
    let only = std::env::var("WA_BENCH_CORPUS").ok();
    let corpora: Vec<Prepared> = [corpus::messages(), corpus::usync(), corpus::group()]
        .into_iter()
        .filter(|c| only.as_deref().is_none_or(|name| name == c.name))
        .map(Prepared::new)
        .collect();
    // `cargo bench` passes `--bench`; `cargo test --benches` does not (criterion then runs each
    // benchmark once as a test).
    let args: Vec<String> = std::env::args().collect();
    let measure = args.iter().any(|a| a == "--bench");
    // Profiling (`--profile-time`) and listing must run only what criterion selects.
    let table = !args.iter().any(|a| a == "--profile-time" || a == "--list");

    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    criterion_groups(&mut c, &corpora);
    c.final_summary();

    if table {
        ratio_table(&corpora, measure);
    }
}
