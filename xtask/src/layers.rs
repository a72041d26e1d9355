//! `cargo xtask layers`: enforce the crate dependency ladder and the source file size cap.
//!
//! Rules:
//! - Every workspace member under `crates/` declares `[package.metadata.whatsmeow-rs] layer = N`
//!   (a `wa-*` crate there without one is an error).
//! - A layered crate may depend (normal or build dependency; dev-dependencies are free) only on
//!   workspace crates of a strictly LOWER layer, and never on an unlayered workspace member
//!   (`xtask`, the `wa-tests` harness), which sit above the ladder.
//! - `wa-testserver` must not depend on `wa-client`, whatever the layers say: the test server is
//!   an independent implementation of the other side of the protocol.
//! - A hand-written `.rs` file under `crates/`, `xtask/` or `tests/` has at most
//!   [`MAX_LINES`] lines. Generated files (`@generated` in their first lines) and test files
//!   (under a `tests` directory below the crate, or named `tests.rs`) are exempt.
//! - A crate that gathers its integration tests in `tests/main.rs` declares every `tests/*.rs`
//!   there (see [`crate::test_roots`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The most lines a hand-written source file may have.
pub(crate) const MAX_LINES: usize = 1_000;

/// How many leading lines are searched for the `@generated` marker.
const GENERATED_MARKER_LINES: usize = 5;

/// Directories (relative to the workspace root) whose source files are size-checked.
const CHECKED_ROOTS: [&str; 3] = ["crates", "xtask", "tests"];

/// The dependency kind, as `cargo metadata` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DepKind {
    /// A `[dependencies]` entry.
    Normal,
    /// A `[build-dependencies]` entry.
    Build,
    /// A `[dev-dependencies]` entry (exempt from the ladder).
    Dev,
}

impl fmt::Display for DepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DepKind::Normal => "normal",
            DepKind::Build => "build",
            DepKind::Dev => "dev",
        })
    }
}

/// One dependency edge of a workspace member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Dep {
    /// The package name depended on.
    pub(crate) name: String,
    /// Its kind.
    pub(crate) kind: DepKind,
}

/// A workspace member as the ladder check sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Member {
    /// Package name.
    pub(crate) name: String,
    /// Declared layer, if any.
    pub(crate) layer: Option<u64>,
    /// Whether the manifest lives under `crates/` (such members must be layered).
    pub(crate) in_crates_dir: bool,
    /// Its dependencies.
    pub(crate) deps: Vec<Dep>,
}

/// What the ladder check found when it passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LadderSummary {
    /// Layered crates, by layer.
    pub(crate) by_layer: BTreeMap<u64, Vec<String>>,
    /// Unlayered members above the ladder (xtask, the test harness).
    pub(crate) unlayered: Vec<String>,
    /// How many normal/build edges between workspace crates were checked.
    pub(crate) edges_checked: usize,
}

/// Parses `cargo metadata --format-version 1` output into workspace members.
pub(crate) fn parse_metadata(json: &Value, root: &Path) -> Result<Vec<Member>, String> {
    let ids: BTreeSet<&str> = json
        .get("workspace_members")
        .and_then(Value::as_array)
        .ok_or("cargo metadata: no `workspace_members` array")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let packages = json
        .get("packages")
        .and_then(Value::as_array)
        .ok_or("cargo metadata: no `packages` array")?;
    let crates_dir = root.join("crates");
    let mut members = Vec::new();
    for package in packages {
        let id = package
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !ids.contains(id) {
            continue;
        }
        let name = package
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("cargo metadata: package `{id}` has no name"))?
            .to_string();
        let manifest = package
            .get("manifest_path")
            .and_then(Value::as_str)
            .map(PathBuf::from)
            .unwrap_or_default();
        let layer =
            match package.pointer("/metadata/whatsmeow-rs/layer") {
                None | Some(Value::Null) => None,
                Some(v) => Some(v.as_u64().ok_or_else(|| {
                    format!("{name}: layer must be a non-negative integer, got {v}")
                })?),
            };
        let deps = package
            .get("dependencies")
            .and_then(Value::as_array)
            .map(|deps| deps.iter().filter_map(parse_dep).collect())
            .unwrap_or_default();
        members.push(Member {
            name,
            layer,
            in_crates_dir: manifest.starts_with(&crates_dir),
            deps,
        });
    }
    Ok(members)
}

fn parse_dep(dep: &Value) -> Option<Dep> {
    let name = dep.get("name")?.as_str()?.to_string();
    let kind = match dep.get("kind").and_then(Value::as_str) {
        Some("dev") => DepKind::Dev,
        Some("build") => DepKind::Build,
        _ => DepKind::Normal,
    };
    Some(Dep { name, kind })
}

/// Checks the ladder rules; returns every violation found, or a summary.
pub(crate) fn check_ladder(members: &[Member]) -> Result<LadderSummary, Vec<String>> {
    let mut errors = Vec::new();
    let layers: BTreeMap<&str, Option<u64>> =
        members.iter().map(|m| (m.name.as_str(), m.layer)).collect();
    let mut summary = LadderSummary {
        by_layer: BTreeMap::new(),
        unlayered: Vec::new(),
        edges_checked: 0,
    };
    for member in members {
        match member.layer {
            Some(layer) => summary
                .by_layer
                .entry(layer)
                .or_default()
                .push(member.name.clone()),
            None if must_be_layered(member) => {
                errors.push(format!(
                    "{}: no `[package.metadata.whatsmeow-rs] layer = N` in its Cargo.toml",
                    member.name
                ));
            }
            None => summary.unlayered.push(member.name.clone()),
        }
    }
    for member in members {
        let Some(own) = member.layer else { continue };
        for dep in &member.deps {
            if dep.kind == DepKind::Dev {
                continue;
            }
            let Some(target) = layers.get(dep.name.as_str()) else {
                continue;
            };
            summary.edges_checked += 1;
            match target {
                Some(theirs) if *theirs >= own => errors.push(format!(
                    "{} (layer {own}) has a {} dependency on {} (layer {theirs}): \
                     a crate may depend only on lower layers",
                    member.name, dep.kind, dep.name
                )),
                Some(_) => {}
                None => errors.push(format!(
                    "{} (layer {own}) has a {} dependency on {}, which is above the ladder",
                    member.name, dep.kind, dep.name
                )),
            }
            if member.name == "wa-testserver" && dep.name == "wa-client" {
                errors.push(format!(
                    "wa-testserver has a {} dependency on wa-client: the test server must be \
                     an independent implementation",
                    dep.kind
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(summary)
    } else {
        Err(errors)
    }
}

/// The cross-crate test harness: a `wa-*` crate that sits above the ladder.
const HARNESS: &str = "wa-tests";

/// Members under `crates/` and every `wa-*` crate but the test harness must declare a layer;
/// tools such as `xtask` and the harness may not, and then nothing layered may depend on them.
fn must_be_layered(member: &Member) -> bool {
    member.in_crates_dir || (member.name.starts_with("wa-") && member.name != HARNESS)
}

/// Result of the file size scan.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct SizeSummary {
    /// Hand-written files checked.
    pub(crate) checked: usize,
    /// Files exempt (generated or tests).
    pub(crate) exempt: usize,
    /// The longest checked file and its line count.
    pub(crate) longest: Option<(PathBuf, usize)>,
}

/// Whether a path (relative to the workspace root) is a test file, exempt from the size cap.
pub(crate) fn is_test_path(relative: &Path) -> bool {
    if relative.file_name().is_some_and(|n| n == "tests.rs") {
        return true;
    }
    // The first component is the checked root itself (`tests/` is the harness crate, whose
    // `src/` is hand-written); a `tests` directory anywhere below it marks test files.
    let dirs: Vec<_> = relative
        .parent()
        .map(|p| p.components().collect())
        .unwrap_or_default();
    dirs.iter().skip(1).any(|c| c.as_os_str() == "tests")
}

/// Whether a file's first lines carry the `@generated` marker.
pub(crate) fn is_generated(text: &str) -> bool {
    text.lines()
        .take(GENERATED_MARKER_LINES)
        .any(|l| l.contains("@generated"))
}

/// Scans `roots` (relative to `root`) for oversized hand-written `.rs` files.
pub(crate) fn check_sizes(root: &Path, roots: &[&str]) -> Result<SizeSummary, Vec<String>> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for dir in roots {
        collect_rs_files(&root.join(dir), &mut files, &mut errors);
    }
    files.sort();
    let mut summary = SizeSummary::default();
    for path in files {
        let relative = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                errors.push(format!("{}: {e}", relative.display()));
                continue;
            }
        };
        if is_test_path(&relative) || is_generated(&text) {
            summary.exempt += 1;
            continue;
        }
        summary.checked += 1;
        let lines = text.lines().count();
        if lines > MAX_LINES {
            errors.push(format!(
                "{}: {lines} lines, over the {MAX_LINES}-line cap for hand-written files \
                 (split it into modules)",
                relative.display()
            ));
        }
        if summary.longest.as_ref().is_none_or(|(_, n)| lines > *n) {
            summary.longest = Some((relative, lines));
        }
    }
    if errors.is_empty() {
        Ok(summary)
    } else {
        Err(errors)
    }
}

fn collect_rs_files(dir: &Path, out: &mut Vec<PathBuf>, errors: &mut Vec<String>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            errors.push(format!("{}: {e}", dir.display()));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        if file_type.is_dir() {
            if name.starts_with('.') || name == "target" || name == "node_modules" {
                continue;
            }
            collect_rs_files(&path, out, errors);
        } else if file_type.is_file() && name.ends_with(".rs") {
            out.push(path);
        }
    }
}

/// Runs `cargo xtask layers`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if let Some(extra) = args.first() {
        return Err(format!(
            "unexpected argument `{extra}` (usage: cargo xtask layers)"
        ));
    }
    let root = crate::workspace_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(&root)
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let json: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("cargo metadata printed invalid JSON: {e}"))?;
    // cargo reports canonical paths; compare against the canonical root.
    let canonical_root = root.canonicalize().unwrap_or_else(|_| root.clone());
    let members = parse_metadata(&json, &canonical_root)?;

    let mut errors = Vec::new();
    let ladder = check_ladder(&members).map_err(|e| errors.extend(e)).ok();
    let sizes = check_sizes(&root, &CHECKED_ROOTS)
        .map_err(|e| errors.extend(e))
        .ok();
    let member_dirs: Vec<PathBuf> = json["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            Some(
                Path::new(p["manifest_path"].as_str()?)
                    .parent()?
                    .to_path_buf(),
            )
        })
        .collect();
    let member_dirs: Vec<&Path> = member_dirs.iter().map(PathBuf::as_path).collect();
    let test_roots = crate::test_roots::check_test_roots(&member_dirs)
        .map_err(|e| errors.extend(e))
        .ok();
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("  error: {e}");
        }
        return Err(format!("{} violation(s)", errors.len()));
    }
    if let Some(ladder) = ladder {
        let layered: usize = ladder.by_layer.values().map(Vec::len).sum();
        println!(
            "layers: {layered} layered crates in {} layers, {} unlayered ({}), {} workspace edges checked",
            ladder.by_layer.len(),
            ladder.unlayered.len(),
            ladder.unlayered.join(", "),
            ladder.edges_checked
        );
        for (layer, names) in &ladder.by_layer {
            println!("  layer {layer}: {}", names.join(", "));
        }
    }
    if let Some(sizes) = sizes {
        let longest = sizes
            .longest
            .map(|(p, n)| format!("; longest {} ({n} lines)", p.display()))
            .unwrap_or_default();
        println!(
            "layers: {} hand-written source files within {MAX_LINES} lines, {} exempt{longest}",
            sizes.checked, sizes.exempt
        );
    }
    if let Some(roots) = test_roots {
        println!(
            "layers: {} crates gather their integration tests in tests/main.rs, {} modules, every tests/*.rs declared",
            roots.crates, roots.modules
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests;
