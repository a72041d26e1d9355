//! Lines for standard output that never panic.
//!
//! `println!` panics when standard output is a pipe whose reader has gone (`wa listen | head`,
//! or a program that read `wa login`'s QR code and stopped reading). A command whose output
//! nobody reads any more carries on and ends as it would have; a write error is only logged.

use std::io::Write as _;

/// Writes `line` and a newline to standard output and flushes it.
pub fn line(line: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
        tracing::debug!("standard output not written: {e}");
    }
}

/// `println!` through [`line`]: a closed standard output is not a panic.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::output::line(format_args!($($arg)*))
    };
}
