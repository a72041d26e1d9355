//! The `wa-testserver` binary (command line in progress).
fn main() {}
