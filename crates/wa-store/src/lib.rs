//! Everything a companion device knows, stored safely.
//!
//! This crate is a placeholder in the workspace ladder (layer 2): it holds nothing yet.
//! It will hold the store traits (device keys, Signal records, app-state keys and versions, contacts, chat settings, LID mapping, message secrets, retry cache, event buffer), an in-memory implementation, a SQLite implementation (bundled, WAL, migrations, atomic `commit(Changes)`), and one conformance suite run against both.
#![forbid(unsafe_code)]
