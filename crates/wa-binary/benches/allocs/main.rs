//! `cargo bench -p wa-binary --bench allocs`: heap allocations per corpus pass, ours vs
//! wacore-binary 0.7, on the same corpora and operations as the `codec` benchmark.
//!
//! Allocation counts do not depend on machine load, so they complement the timings of `codec`:
//! an owned decode that allocates several times per node cannot beat one that allocates once.
//! Counted with `stats_alloc`'s instrumented system allocator (this binary only).

#![allow(missing_docs)]

#[path = "../codec/corpus.rs"]
mod corpus;
#[path = "../codec/theirs.rs"]
#[allow(dead_code)] // `to_theirs` is used by the codec benchmark only
mod theirs;

use std::hint::black_box;

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

/// (allocations including reallocations, bytes allocated).
type Counts = (usize, usize);

/// Allocations and allocated bytes made by `f`, run once.
fn count(f: impl FnOnce()) -> Counts {
    let region = Region::new(GLOBAL);
    f();
    let change = region.change();
    (
        change.allocations + change.reallocations,
        change.bytes_allocated,
    )
}

fn main() {
    println!(
        "{:<14} {:<34} {:>12} {:>12} {:>12} {:>12}",
        "corpus",
        "operation (one corpus pass)",
        "ours allocs",
        "wacore allocs",
        "ours bytes",
        "wacore bytes"
    );
    for c in [corpus::messages(), corpus::usync(), corpus::group()] {
        let frames: Vec<Vec<u8>> = c.nodes.iter().map(wa_binary::marshal).collect();
        let ours: Vec<wa_binary::Node> = frames
            .iter()
            .map(|f| wa_binary::unmarshal(&f[1..]).unwrap_or_else(|e| panic!("{}: {e}", c.name)))
            .collect();
        let theirs: Vec<wacore_binary::Node> = frames
            .iter()
            .map(|f| theirs::decode_owned(&f[1..]))
            .collect();
        let mut buf_ours = Vec::with_capacity(1 << 20);
        let mut buf_theirs = Vec::with_capacity(1 << 20);

        let decode_ref_theirs = count(|| {
            for f in &frames {
                black_box(theirs::decode_ref(&f[1..]));
            }
        });
        // A document that has already decoded this corpus once: the steady state of a read loop.
        let mut warm = wa_binary::Document::new();
        for f in &frames {
            black_box(warm.decode_into(&f[1..]).is_ok());
        }
        let rows: [(&str, Counts, Counts); 5] = [
            (
                "encode (reused buffer)",
                count(|| {
                    for n in &ours {
                        buf_ours.clear();
                        wa_binary::marshal_into(n, &mut buf_ours);
                    }
                }),
                count(|| {
                    for n in &theirs {
                        theirs::encode_into(n, &mut buf_theirs);
                    }
                }),
            ),
            (
                "decode borrowed (unmarshal_ref)",
                count(|| {
                    for f in &frames {
                        black_box(wa_binary::unmarshal_ref(&f[1..]).is_ok());
                    }
                }),
                count(|| {
                    for f in &frames {
                        black_box(theirs::decode_ref(&f[1..]));
                    }
                }),
            ),
            (
                "decode flat (unmarshal_flat)",
                count(|| {
                    for f in &frames {
                        black_box(wa_binary::unmarshal_flat(&f[1..]).is_ok());
                    }
                }),
                decode_ref_theirs,
            ),
            (
                "decode flat (reused Document)",
                count(|| {
                    for f in &frames {
                        black_box(warm.decode_into(&f[1..]).is_ok());
                    }
                }),
                decode_ref_theirs,
            ),
            (
                "decode owned",
                count(|| {
                    for f in &frames {
                        black_box(wa_binary::unmarshal(&f[1..]).is_ok());
                    }
                }),
                count(|| {
                    for f in &frames {
                        black_box(theirs::decode_owned(&f[1..]));
                    }
                }),
            ),
        ];
        for (what, (oa, ob), (ta, tb)) in rows {
            println!(
                "{:<14} {what:<34} {oa:>12} {ta:>12} {ob:>12} {tb:>12}",
                c.name
            );
        }
    }
}
