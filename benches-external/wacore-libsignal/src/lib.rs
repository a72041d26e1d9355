//! Nothing here: see `benches/wacore.rs`.
