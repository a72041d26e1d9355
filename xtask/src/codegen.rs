//! `cargo xtask` command module (being written).

/// Runs the command with its arguments.
pub(crate) fn run(_args: &[String]) -> Result<(), String> {
    Err("not written yet".to_string())
}
