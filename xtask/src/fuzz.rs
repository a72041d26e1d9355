//! `cargo xtask fuzz`: run one cargo-fuzz target for a bounded time.
//!
//! - `cargo xtask fuzz --list` lists the targets of `fuzz/Cargo.toml`.
//! - `cargo xtask fuzz TARGET [--seconds N] [--stable]` runs TARGET for N seconds (default 60).
//!
//! With a nightly toolchain installed (`rustup toolchain list`) the target is built with
//! AddressSanitizer (`cargo +nightly fuzz run`); otherwise, or with `--stable`, it is built on the
//! default toolchain without a sanitizer (`cargo fuzz run -s none`: cargo-fuzz then passes only
//! stable `-C` flags for the SanitizerCoverage instrumentation, so no `RUSTC_BOOTSTRAP` is
//! needed). Either way libFuzzer itself runs: the final statistics it prints
//! (`stat::number_of_executed_units`) are read back and reported.
//!
//! The checked-in seeds `fuzz/corpus/TARGET/seed-*` are read but never written; new inputs go
//! to `<fuzz target dir>/corpus/TARGET`, which git ignores. Crashes land in
//! `fuzz/artifacts/TARGET/` (ignored too) and make the command fail.

#![allow(
    clippy::disallowed_methods,
    reason = "xtask is an IO layer: it reads the clock to time its steps"
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::Value;

use crate::ci::{command_line, run_streaming};

/// Seconds per target when `--seconds` is not given.
const DEFAULT_SECONDS: u64 = 60;

/// What one fuzz run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FuzzOutcome {
    /// Inputs libFuzzer executed (from its final statistics).
    pub(crate) execs: u64,
    /// `"nightly+asan"` or `"stable, no sanitizer"`.
    pub(crate) mode: &'static str,
}

/// Whether a nightly toolchain is installed, per `rustup toolchain list`.
pub(crate) fn nightly_available() -> bool {
    Command::new("rustup")
        .args(["toolchain", "list"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .is_some_and(|o| has_nightly(&String::from_utf8_lossy(&o.stdout)))
}

/// Whether `rustup toolchain list` output names a nightly toolchain.
pub(crate) fn has_nightly(toolchains: &str) -> bool {
    toolchains
        .lines()
        .any(|l| l.trim_start().starts_with("nightly"))
}

/// The fuzz targets declared in `fuzz/Cargo.toml` (its `[[bin]]` entries), sorted.
pub(crate) fn targets(root: &Path) -> Result<Vec<String>, String> {
    let manifest = root.join("fuzz").join("Cargo.toml");
    let output = Command::new("cargo")
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--manifest-path",
        ])
        .arg(&manifest)
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo metadata for {} failed: {}",
            manifest.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let json: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("cargo metadata printed invalid JSON: {e}"))?;
    Ok(bin_targets(&json))
}

/// Names of the `bin` targets in `cargo metadata` output.
pub(crate) fn bin_targets(json: &Value) -> Vec<String> {
    let mut names: Vec<String> = json
        .get("packages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("targets").and_then(Value::as_array))
        .flatten()
        .filter(|t| {
            t.get("kind")
                .and_then(Value::as_array)
                .is_some_and(|k| k.iter().any(|k| k == "bin"))
        })
        .filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_string))
        .collect();
    names.sort();
    names
}

/// The cargo target dir for the fuzz workspace: `$CARGO_TARGET_DIR/fuzz` when that is set
/// (so engineers with their own target dir keep it), else `fuzz/target`.
fn fuzz_target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join("fuzz"),
        _ => root.join("fuzz").join("target"),
    }
}

/// The number after `stat::number_of_executed_units:` in a libFuzzer output line.
pub(crate) fn parse_execs(line: &str) -> Option<u64> {
    line.trim()
        .strip_prefix("stat::number_of_executed_units:")
        .and_then(|n| n.trim().parse().ok())
}

/// Builds and runs one target for `seconds` seconds.
pub(crate) fn run_target(
    root: &Path,
    target: &str,
    seconds: u64,
    force_stable: bool,
) -> Result<FuzzOutcome, String> {
    if seconds == 0 {
        return Err("--seconds must be at least 1 (libFuzzer treats 0 as unlimited)".to_string());
    }
    let seeds = root.join("fuzz").join("corpus").join(target);
    let target_dir = fuzz_target_dir(root);
    let run_corpus = target_dir.join("corpus").join(target);
    std::fs::create_dir_all(&run_corpus)
        .map_err(|e| format!("cannot create {}: {e}", run_corpus.display()))?;

    let nightly = !force_stable && nightly_available();
    let mut cmd = Command::new("cargo");
    // Let the toolchain be chosen by `+nightly` or the default, not by whatever ran xtask.
    cmd.env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("RUSTC")
        .env_remove("CARGO");
    let mode = if nightly {
        cmd.args(["+nightly", "fuzz", "run", "--sanitizer", "address"]);
        "nightly+asan"
    } else {
        cmd.args(["fuzz", "run", "--sanitizer", "none"]);
        "stable, no sanitizer"
    };
    cmd.arg("--target-dir")
        .arg(&target_dir)
        .arg(target)
        .arg(&run_corpus);
    if seeds.is_dir() {
        cmd.arg(&seeds);
    }
    cmd.arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .arg("-print_final_stats=1")
        .current_dir(root.join("fuzz"));

    println!(
        "fuzz: {target} for {seconds} s ({mode}): {}",
        command_line(&cmd)
    );
    let started = Instant::now();
    let mut execs = None;
    let status = run_streaming(&mut cmd, |line| {
        if let Some(n) = parse_execs(line) {
            execs = Some(n);
        }
    })?;
    if !status.success() {
        return Err(format!(
            "{target} failed ({status}) after {:.0} s: see the crash input under fuzz/artifacts/{target}/ \
             and reproduce with `cd fuzz && cargo fuzz run {target} <that file>`",
            started.elapsed().as_secs_f64()
        ));
    }
    let execs = execs.ok_or_else(|| {
        format!("{target}: libFuzzer printed no final statistics, so it did not really run")
    })?;
    if execs == 0 {
        return Err(format!("{target}: libFuzzer executed no inputs"));
    }
    println!(
        "fuzz: {target}: {execs} inputs in {:.0} s, no crash",
        started.elapsed().as_secs_f64()
    );
    Ok(FuzzOutcome { execs, mode })
}

/// Runs `cargo xtask fuzz`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    const USAGE: &str =
        "usage: cargo xtask fuzz --list | cargo xtask fuzz TARGET [--seconds N] [--stable]";
    let root = crate::workspace_root();
    let mut target = None;
    let mut seconds = DEFAULT_SECONDS;
    let mut force_stable = false;
    let mut list = false;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--list" => list = true,
            "--stable" => force_stable = true,
            "--seconds" => {
                let value = args
                    .next()
                    .ok_or(format!("--seconds needs a value; {USAGE}"))?;
                seconds = value
                    .parse()
                    .map_err(|_| format!("--seconds: `{value}` is not a whole number"))?;
            }
            other if other.starts_with('-') => {
                return Err(format!("unknown flag `{other}`; {USAGE}"));
            }
            other if target.is_none() => target = Some(other.to_string()),
            other => return Err(format!("unexpected argument `{other}`; {USAGE}")),
        }
    }
    let known = targets(&root)?;
    if list {
        for name in &known {
            println!("{name}");
        }
        return Ok(());
    }
    let target = target.ok_or(USAGE)?;
    if !known.contains(&target) {
        return Err(format!(
            "unknown target `{target}`; targets: {}",
            known.join(", ")
        ));
    }
    crate::ci::ensure_cargo_tool("fuzz", "cargo-fuzz")?;
    run_target(&root, &target, seconds, force_stable).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nightly_detection_reads_rustup_list() {
        let list = "stable-x86_64-unknown-linux-gnu (active, default)\n\
                    nightly-x86_64-unknown-linux-gnu\n1.95.0-x86_64-unknown-linux-gnu\n";
        assert!(has_nightly(list));
        assert!(!has_nightly("stable-x86_64-unknown-linux-gnu (default)\n"));
        assert!(!has_nightly(""));
    }

    #[test]
    fn exec_count_comes_from_final_stats() {
        assert_eq!(
            parse_execs("stat::number_of_executed_units: 123456"),
            Some(123_456)
        );
        assert_eq!(parse_execs("stat::average_exec_per_sec:     6000"), None);
        assert_eq!(parse_execs("#2 INITED cov: 10 ft: 10 corp: 1/1b"), None);
    }

    #[test]
    fn bin_targets_are_listed_sorted() {
        let json = serde_json::json!({ "packages": [{ "targets": [
            { "name": "binary_roundtrip", "kind": ["bin"] },
            { "name": "fuzzlib", "kind": ["lib"] },
            { "name": "binary_frame", "kind": ["bin"] },
        ]}]});
        assert_eq!(bin_targets(&json), vec!["binary_frame", "binary_roundtrip"]);
        assert!(bin_targets(&serde_json::json!({})).is_empty());
    }

    #[test]
    fn binary_targets_are_declared_with_seeds() {
        let root = crate::workspace_root();
        let names = targets(&root).expect("fuzz/Cargo.toml readable");
        for name in [
            "binary_frame",
            "binary_jid",
            "binary_roundtrip",
            "binary_unmarshal",
        ] {
            assert!(
                names.iter().any(|n| n == name),
                "{name} missing from {names:?}"
            );
            let seeds = std::fs::read_dir(root.join("fuzz/corpus").join(name))
                .map(|d| {
                    d.flatten()
                        .filter(|e| e.file_name().to_string_lossy().starts_with("seed-"))
                        .count()
                })
                .unwrap_or(0);
            assert!(
                seeds > 0,
                "fuzz target {name} has no fuzz/corpus/{name}/seed-* files"
            );
        }
    }
}
