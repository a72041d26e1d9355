//! `cargo xtask ci`: the one test command, run by `.ci/run`.
//!
//! Steps, in order, each with a header and its duration; the first failure stops the run and is
//! named, and a summary table closes it:
//!
//! 1. `tools`: install what is missing (rustfmt/clippy components, cargo-fuzz, cargo-deny).
//! 2. `fmt`: `cargo fmt --all -- --check`, and the same for the fuzz workspace.
//! 3. `clippy`: `cargo clippy --workspace --all-targets -- -D warnings`, and `wa-cli` with
//!    `--no-default-features` (the shipping build without `wa demo`).
//! 4. `layers`: `cargo xtask layers`.
//! 5. `codegen`: `cargo xtask codegen --check`.
//! 6. `npm`: `npm ci` in `tests/interop/` when its `node_modules` is missing (the Rust interop
//!    tests drive that Node project, so this comes before the tests).
//! 7. `test`: `cargo test --workspace`, whose result lines are summed.
//! 8. `fuzz`: every fuzz target for `WA_FUZZ_SECONDS` seconds (default 20; 0 skips).
//! 9. `deny`: `cargo deny check bans licenses sources`.

#![allow(
    clippy::disallowed_methods,
    reason = "xtask is an IO layer: it reads the clock to time its steps"
)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Instant;

/// Default seconds per fuzz target in CI.
const DEFAULT_FUZZ_SECONDS: u64 = 20;

/// Renders a command as a shell-like line for headers and errors.
pub(crate) fn command_line(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs a command with inherited stdio; fails with the command line when it exits non-zero.
fn run_command(cmd: &mut Command) -> Result<(), String> {
    let line = command_line(cmd);
    println!("$ {line}");
    let status = cmd
        .status()
        .map_err(|e| format!("cannot start `{line}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{line}` failed ({status})"))
    }
}

/// Runs a command, echoing its stdout and stderr line by line and handing every line (of
/// either stream) to `on_line`. Returns the exit status.
pub(crate) fn run_streaming(
    cmd: &mut Command,
    mut on_line: impl FnMut(&str),
) -> Result<ExitStatus, String> {
    let line = command_line(cmd);
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start `{line}`: {e}"))?;
    let (tx, rx) = mpsc::channel::<(bool, String)>();
    let mut readers = Vec::new();
    if let Some(out) = child.stdout.take() {
        readers.push(spawn_reader(out, false, tx.clone()));
    }
    if let Some(err) = child.stderr.take() {
        readers.push(spawn_reader(err, true, tx.clone()));
    }
    drop(tx);
    for (is_err, text) in rx {
        if is_err {
            eprintln!("{text}");
        } else {
            println!("{text}");
        }
        on_line(&text);
    }
    for reader in readers {
        let _ = reader.join();
    }
    child
        .wait()
        .map_err(|e| format!("waiting for `{line}`: {e}"))
}

fn spawn_reader(
    stream: impl Read + Send + 'static,
    is_err: bool,
    tx: mpsc::Sender<(bool, String)>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&buf);
                    let text = text.trim_end_matches(['\n', '\r']).to_string();
                    if tx.send((is_err, text)).is_err() {
                        break;
                    }
                }
            }
        }
    })
}

/// Whether `cargo <sub> --version` works.
fn cargo_subcommand_works(sub: &str) -> bool {
    Command::new("cargo")
        .args([sub, "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Makes `cargo <sub>` available, running `cargo install --locked <krate>` when it is missing.
/// Returns whether it had to install.
pub(crate) fn ensure_cargo_tool(sub: &str, krate: &str) -> Result<bool, String> {
    if cargo_subcommand_works(sub) {
        return Ok(false);
    }
    println!("{krate} is missing: installing it");
    run_command(Command::new("cargo").args(["install", "--locked", krate]))?;
    if cargo_subcommand_works(sub) {
        Ok(true)
    } else {
        Err(format!(
            "`cargo {sub}` still does not work after installing {krate}"
        ))
    }
}

/// Totals of the `test result:` lines of `cargo test`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TestTotals {
    /// Tests passed.
    pub(crate) passed: u64,
    /// Tests failed.
    pub(crate) failed: u64,
    /// Tests ignored.
    pub(crate) ignored: u64,
    /// Test binaries (and doctest runs) that reported.
    pub(crate) suites: u64,
}

impl TestTotals {
    /// Adds one `test result: ok. 3 passed; 0 failed; 1 ignored; ...` line; other lines are
    /// ignored. Returns whether the line was a result line.
    pub(crate) fn add_line(&mut self, line: &str) -> bool {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            return false;
        };
        let count = |label: &str| -> Option<u64> {
            rest.split([';', '.'])
                .map(str::trim)
                .find_map(|part| part.strip_suffix(label)?.trim().parse().ok())
        };
        let (Some(passed), Some(failed)) = (count(" passed"), count(" failed")) else {
            return false;
        };
        self.passed += passed;
        self.failed += failed;
        self.ignored += count(" ignored").unwrap_or(0);
        self.suites += 1;
        true
    }
}

/// State shared by the steps.
#[derive(Debug)]
struct Ctx {
    root: PathBuf,
    fuzz_seconds: u64,
    tests: TestTotals,
}

type StepFn = fn(&mut Ctx) -> Result<String, String>;

/// The steps, in order.
const STEPS: [(&str, StepFn); 9] = [
    ("tools", step_tools),
    ("fmt", step_fmt),
    ("clippy", step_clippy),
    ("layers", step_layers),
    ("codegen", step_codegen),
    ("npm", step_npm),
    ("test", step_test),
    ("fuzz", step_fuzz),
    ("deny", step_deny),
];

/// Cargo settings for every CI build. A clean clone's full debug build (debuginfo in every test
/// binary, incremental caches nobody reuses) took more disk than a CI machine had; without them
/// the build is a fraction of the size and a failing test still names its file and line (panic
/// locations do not need debuginfo).
const CI_CARGO_ENV: [(&str, &str); 3] = [
    ("CARGO_INCREMENTAL", "0"),
    ("CARGO_PROFILE_DEV_DEBUG", "0"),
    ("CARGO_PROFILE_TEST_DEBUG", "0"),
];

fn cargo(root: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.args(args).current_dir(root).envs(CI_CARGO_ENV);
    cmd
}

/// Bytes under `dir`, counting every file once (no symlinks followed); 0 when it is missing.
fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => dir_size(&entry.path()),
            Ok(kind) if kind.is_file() => entry.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}

/// The workspace's target directory (`CARGO_TARGET_DIR` when set).
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

fn step_tools(_ctx: &mut Ctx) -> Result<String, String> {
    let mut notes = Vec::new();
    if !cargo_subcommand_works("fmt") || !cargo_subcommand_works("clippy") {
        run_command(Command::new("rustup").args(["component", "add", "rustfmt", "clippy"]))?;
        notes.push("added rustfmt, clippy");
    }
    if ensure_cargo_tool("fuzz", "cargo-fuzz")? {
        notes.push("installed cargo-fuzz");
    }
    if ensure_cargo_tool("deny", "cargo-deny")? {
        notes.push("installed cargo-deny");
    }
    if crate::fuzz::nightly_available() {
        notes.push("nightly found: fuzzing with ASan");
    } else {
        notes.push("no nightly: fuzzing on stable without sanitizer");
    }
    Ok(notes.join(", "))
}

fn step_fmt(ctx: &mut Ctx) -> Result<String, String> {
    run_command(&mut cargo(&ctx.root, &["fmt", "--all", "--", "--check"]))?;
    let fuzz_manifest = ctx.root.join("fuzz").join("Cargo.toml");
    let mut fuzz = cargo(&ctx.root, &["fmt", "--manifest-path"]);
    fuzz.arg(&fuzz_manifest).args(["--", "--check"]);
    run_command(&mut fuzz)?;
    Ok("workspace and fuzz/".to_string())
}

fn step_clippy(ctx: &mut Ctx) -> Result<String, String> {
    run_command(&mut cargo(
        &ctx.root,
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    ))?;
    // `wa` without `wa demo` (the shipping build) must build too.
    run_command(&mut cargo(
        &ctx.root,
        &[
            "clippy",
            "--package",
            "wa-cli",
            "--no-default-features",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    ))?;
    Ok("also wa-cli without default features".to_string())
}

fn step_layers(_ctx: &mut Ctx) -> Result<String, String> {
    crate::layers::run(&[]).map(|()| String::new())
}

fn step_codegen(_ctx: &mut Ctx) -> Result<String, String> {
    crate::codegen::run(&["--check".to_string()]).map(|()| String::new())
}

fn step_npm(ctx: &mut Ctx) -> Result<String, String> {
    let interop = ctx.root.join("tests").join("interop");
    if !interop.join("package.json").is_file() {
        return Ok("no tests/interop/package.json: nothing to install".to_string());
    }
    if interop.join("node_modules").is_dir() {
        return Ok("tests/interop/node_modules present".to_string());
    }
    run_command(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&interop),
    )?;
    Ok("npm ci in tests/interop".to_string())
}

fn step_test(ctx: &mut Ctx) -> Result<String, String> {
    let mut cmd = cargo(&ctx.root, &["test", "--workspace"]);
    println!("$ {}", command_line(&cmd));
    let mut totals = TestTotals::default();
    let status = run_streaming(&mut cmd, |line| {
        totals.add_line(line);
    })?;
    ctx.tests = totals;
    let note = format!(
        "{} passed, {} failed, {} ignored in {} suites; target/ holds {:.2} GiB",
        totals.passed,
        totals.failed,
        totals.ignored,
        totals.suites,
        dir_size(&target_dir(&ctx.root)) as f64 / f64::from(1u32 << 30)
    );
    if !status.success() {
        return Err(format!("cargo test failed ({status}): {note}"));
    }
    if totals.passed == 0 {
        return Err("cargo test ran no test".to_string());
    }
    Ok(note)
}

fn step_fuzz(ctx: &mut Ctx) -> Result<String, String> {
    if ctx.fuzz_seconds == 0 {
        return Ok("skipped: WA_FUZZ_SECONDS=0".to_string());
    }
    let targets = crate::fuzz::targets(&ctx.root)?;
    if targets.is_empty() {
        return Err("fuzz/Cargo.toml declares no targets".to_string());
    }
    let mut execs = 0;
    let mut mode = "";
    for target in &targets {
        let outcome = crate::fuzz::run_target(&ctx.root, target, ctx.fuzz_seconds, false)?;
        execs += outcome.execs;
        mode = outcome.mode;
    }
    Ok(format!(
        "{} targets x {} s, {execs} inputs, {mode}",
        targets.len(),
        ctx.fuzz_seconds
    ))
}

fn step_deny(ctx: &mut Ctx) -> Result<String, String> {
    run_command(&mut cargo(
        &ctx.root,
        &[
            "deny",
            "check",
            "--hide-inclusion-graph",
            "bans",
            "licenses",
            "sources",
        ],
    ))?;
    Ok("bans, licenses, sources".to_string())
}

/// Reads `WA_FUZZ_SECONDS` (default [`DEFAULT_FUZZ_SECONDS`]).
fn fuzz_seconds(value: Option<&str>) -> Result<u64, String> {
    match value.map(str::trim) {
        None | Some("") => Ok(DEFAULT_FUZZ_SECONDS),
        Some(v) => v
            .parse()
            .map_err(|_| format!("WA_FUZZ_SECONDS=`{v}` is not a whole number of seconds")),
    }
}

/// Runs `cargo xtask ci`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if let Some(extra) = args.first() {
        return Err(format!(
            "unexpected argument `{extra}` (usage: cargo xtask ci)"
        ));
    }
    let mut ctx = Ctx {
        root: crate::workspace_root(),
        fuzz_seconds: fuzz_seconds(std::env::var("WA_FUZZ_SECONDS").ok().as_deref())?,
        tests: TestTotals::default(),
    };
    let started = Instant::now();
    let mut rows: Vec<(&str, &str, f64, String)> = Vec::new();
    let mut failure = None;
    for (index, (name, step)) in STEPS.iter().enumerate() {
        println!("\n==> ci step {}/{}: {name}", index + 1, STEPS.len());
        let step_started = Instant::now();
        let result = step(&mut ctx);
        let secs = step_started.elapsed().as_secs_f64();
        match result {
            Ok(note) => {
                println!("==> {name}: ok in {secs:.1} s");
                rows.push((name, "ok", secs, note));
            }
            Err(e) => {
                println!("==> {name}: FAILED in {secs:.1} s: {e}");
                rows.push((name, "FAILED", secs, e.clone()));
                failure = Some(format!("step `{name}` failed: {e}"));
                break;
            }
        }
    }
    println!("\nci summary");
    println!("{:<8} {:<7} {:>8}  note", "step", "status", "seconds");
    for (name, status, secs, note) in &rows {
        println!("{name:<8} {status:<7} {secs:>8.1}  {note}");
    }
    for (name, _) in STEPS.iter().skip(rows.len()) {
        println!("{name:<8} {:<7} {:>8}  not run", "-", "-");
    }
    println!("total {:.1} s", started.elapsed().as_secs_f64());
    if ctx.tests.suites > 0 {
        println!(
            "tests: {} passed, {} failed",
            ctx.tests.passed, ctx.tests.failed
        );
    }
    match failure {
        Some(f) => Err(f),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_size_counts_nested_files_and_missing_dirs_as_zero() {
        let dir = std::env::temp_dir().join(format!("xtask-dir-size-{}", std::process::id()));
        let nested = dir.join("a").join("b");
        std::fs::create_dir_all(&nested).unwrap();
        std::fs::write(dir.join("one"), [0u8; 10]).unwrap();
        std::fs::write(nested.join("two"), [0u8; 32]).unwrap();
        assert_eq!(dir_size(&dir), 42);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(dir_size(&dir), 0);
    }

    #[test]
    fn ci_builds_without_debuginfo_or_incremental_caches() {
        let cmd = cargo(Path::new("."), &["test"]);
        let envs: Vec<_> = cmd.get_envs().collect();
        for (key, value) in CI_CARGO_ENV {
            assert!(
                envs.contains(&(key.as_ref(), Some(value.as_ref()))),
                "{key} not set"
            );
        }
    }

    #[test]
    fn test_result_lines_are_summed() {
        let mut totals = TestTotals::default();
        assert!(totals.add_line(
            "test result: ok. 11 passed; 0 failed; 0 ignored; 0 measured; 7 filtered out; finished in 0.05s"
        ));
        assert!(totals.add_line(
            "test result: FAILED. 3 passed; 2 failed; 1 ignored; 0 measured; 0 filtered out; finished in 1.00s"
        ));
        assert!(!totals.add_line("running 11 tests"));
        assert!(!totals.add_line("test layers::tests::x ... ok"));
        assert_eq!(
            totals,
            TestTotals {
                passed: 14,
                failed: 2,
                ignored: 1,
                suites: 2
            }
        );
    }

    #[test]
    fn fuzz_seconds_default_and_errors() {
        assert_eq!(fuzz_seconds(None), Ok(DEFAULT_FUZZ_SECONDS));
        assert_eq!(fuzz_seconds(Some(" ")), Ok(DEFAULT_FUZZ_SECONDS));
        assert_eq!(fuzz_seconds(Some("5")), Ok(5));
        assert_eq!(fuzz_seconds(Some("0")), Ok(0));
        assert!(fuzz_seconds(Some("ten")).is_err());
    }

    #[test]
    fn streaming_sees_both_streams_and_the_status() {
        let mut lines = Vec::new();
        let status = run_streaming(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            |l| lines.push(l.to_string()),
        )
        .expect("sh runs");
        assert_eq!(status.code(), Some(3));
        lines.sort();
        assert_eq!(lines, vec!["err", "out"]);
    }

    #[test]
    fn command_line_shows_program_and_args() {
        let mut cmd = Command::new("cargo");
        cmd.args(["deny", "check"]);
        assert_eq!(command_line(&cmd), "cargo deny check");
    }
}
