//! Project automation for whatsmeow-rs: `cargo xtask <command>`.
//!
//! Commands:
//! - `codegen [--check]`: regenerate `crates/wa-proto/src/gen/` from `proto/` (or fail when it is stale).
//! - `proto-import PATH`: take a new `WAProto.proto` into `proto/`.
//! - `layers`: enforce the crate dependency ladder and the source file size cap.
//! - `fuzz TARGET --seconds N`: run one fuzz target.
//! - `ci`: the one test command.

mod ci;
mod codegen;
mod fuzz;
mod layers;
mod proto_import;
mod test_roots;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The workspace root (the parent of this crate's manifest directory).
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = match args.split_first() {
        Some((c, r)) => (c.as_str(), r),
        None => ("help", &[][..]),
    };
    let result = match command {
        "codegen" => codegen::run(rest),
        "proto-import" => proto_import::run(rest),
        "layers" => layers::run(rest),
        "fuzz" => fuzz::run(rest),
        "ci" => ci::run(rest),
        _ => {
            eprintln!(
                "usage: cargo xtask <codegen [--check] | proto-import PATH | layers | fuzz TARGET --seconds N | ci>"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask {command}: {message}");
            ExitCode::FAILURE
        }
    }
}
