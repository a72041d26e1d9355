//! App-state sync costs.
//!
//! - `appstate/decode_patch_1000`: decode and verify one `regular_high` patch of 1,000 mute
//!   mutations (patch MAC, 1,000 value MACs, AES-CBC decryptions and index MACs, LTHash update,
//!   snapshot MAC) from its protobuf bytes.
//! - `appstate/encode_patch_1000`: encode the same 1,000 mutations into one patch.
//! - `appstate/lthash_add_10000`: add 10,000 32-byte values to an LTHash.
//!
//! After the criterion runs, the same patch bytes (written to a temporary file) are decoded with
//! Baileys 7's `decodePatches` (MAC validation on) and the same 10,000 values are added with its
//! LTHash (`tests/interop/bench/appstate_baileys.mjs`, run with `node` when
//! `tests/interop/node_modules` exists; set `WA_BENCH_NO_BAILEYS=1` to skip it).
#![allow(missing_docs)]

use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;

use criterion::{Criterion, Throughput};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use wa_appstate::{
    AppStateKey, Collection, HashState, LtHash, PatchInfo, decode_patch, encode_patch,
};
use wa_proto::prost::Message as _;
use wa_proto::proto::{SyncdPatch, SyncdVersion};

const MUTATIONS: usize = 1_000;
const VALUES: usize = 10_000;
const KEY_ID: &[u8] = b"bench-key";
const KEY: [u8; 32] = [0x5a; 32];
const TS: i64 = 1_700_000_000_000;

fn patch_info() -> PatchInfo {
    PatchInfo {
        collection: Collection::RegularHigh,
        mutations: (0..MUTATIONS)
            .flat_map(|i| PatchInfo::mute(&format!("{i}@s.whatsapp.net"), true, None).mutations)
            .collect(),
    }
}

fn patch_bytes() -> (Vec<u8>, HashState) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let out = encode_patch(
        &patch_info(),
        &HashState::new(),
        KEY_ID,
        &AppStateKey::new(KEY),
        TS,
        &mut rng,
    )
    .unwrap();
    let mut patch = out.patch;
    patch.version = Some(SyncdVersion { version: Some(1) });
    (patch.encode_to_vec(), out.state)
}

/// Value `i`: its index as a little-endian `u32`, then 28 bytes of `0xa5` (the Node side
/// builds the same values).
fn values() -> Vec<[u8; 32]> {
    (0..VALUES as u32)
        .map(|i| {
            let mut v = [0xa5u8; 32];
            v[..4].copy_from_slice(&i.to_le_bytes());
            v
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let (bytes, expected) = patch_bytes();
    let key = AppStateKey::new(KEY);
    let keys = |id: &[u8]| (id == KEY_ID).then(|| key.clone());
    let mut g = c.benchmark_group("appstate");
    g.sample_size(20);
    g.throughput(Throughput::Elements(MUTATIONS as u64));
    g.bench_function("decode_patch_1000", |b| {
        b.iter(|| {
            let patch = SyncdPatch::decode(black_box(bytes.as_slice())).unwrap();
            let out =
                decode_patch(Collection::RegularHigh, &HashState::new(), &patch, &keys).unwrap();
            assert_eq!(out.state.hash, expected.hash);
            out
        })
    });
    let info = patch_info();
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    g.bench_function("encode_patch_1000", |b| {
        b.iter(|| encode_patch(&info, &HashState::new(), KEY_ID, &key, TS, &mut rng).unwrap())
    });
    let values = values();
    g.throughput(Throughput::Elements(VALUES as u64));
    g.bench_function("lthash_add_10000", |b| {
        b.iter(|| {
            let mut h = LtHash::ZERO;
            h.subtract_then_add(std::iter::empty::<&[u8]>(), black_box(&values));
            h
        })
    });
    g.finish();
}

fn baileys(bytes: &[u8], state: &HashState) {
    if std::env::var_os("WA_BENCH_NO_BAILEYS").is_some() {
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    if !root.join("tests/interop/node_modules/baileys").exists() {
        eprintln!(
            "tests/interop/node_modules missing (npm ci there): skipping the Baileys comparison"
        );
        return;
    }
    let dir = std::env::temp_dir().join(format!("wa-appstate-bench-{}", std::process::id()));
    let file = dir.join("patch.bin");
    if std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&file, bytes))
        .is_err()
    {
        eprintln!("cannot write the patch file: skipping the Baileys comparison");
        return;
    }
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let script = root.join("tests/interop/bench/appstate_baileys.mjs");
    let status = Command::new("node")
        .arg(&script)
        .arg(format!("--patch={}", file.display()))
        .arg(format!("--key={}", hex(&KEY)))
        .arg(format!("--keyid={}", hex(KEY_ID)))
        .arg(format!("--expect-hash={}", hex(state.hash.as_bytes())))
        .arg(format!("--values={VALUES}"))
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => eprintln!("Baileys bench exited with {s}"),
        Err(e) => eprintln!("node not runnable ({e}): skipping the Baileys comparison"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
    let (bytes, state) = patch_bytes();
    baileys(&bytes, &state);
}
