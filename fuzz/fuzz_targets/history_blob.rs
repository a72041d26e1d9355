//! Arbitrary bytes as a history-sync blob (zlib-compressed `HistorySync` protobuf): the first
//! byte picks raw (possibly corrupt zlib) or compressed-here input (arbitrary protobuf behind a
//! valid zlib stream). Inflating is bounded by a cap, a valid stream inflates back to its
//! input, and a decoded chunk goes through every history helper and the store extraction;
//! nothing panics (see `wa_client::fuzzing::run_history_blob`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wa_client::fuzzing::run_history_blob(data);
});
