//! Cross-crate scenarios and interop suites; the tests live in `tests/tests/`.
//!
//! [`oracle`] talks to the Baileys oracle process (`tests/interop/oracle.mjs`) that the differential
//! interop tests compare against; [`baileys`] runs the Baileys driver processes of the live interop
//! tests against `wa-testserver`.

pub mod baileys;
pub mod oracle;
