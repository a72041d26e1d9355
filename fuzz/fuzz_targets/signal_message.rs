//! Arbitrary bytes as a `SignalMessage`: the parse agrees with prost's decoding of the body,
//! parsing re-serializes to the same bytes, and decrypting against a live session (fixed keys)
//! never panics; a failed decrypt leaves the record unchanged.
#![no_main]

#[path = "signal_common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use wa_signal::wire::SignalMessage;

fuzz_target!(|data: &[u8]| {
    let parsed = SignalMessage::parse(data);
    assert_eq!(
        parsed.as_ref().ok().map(common::signal_fields),
        common::signal_by_prost(data),
        "the parser and prost disagree"
    );
    let Ok(message) = parsed else {
        return;
    };
    assert_eq!(message.serialized(), data);
    let fixture = common::fixture();
    let mut record = fixture.bob.clone();
    let before = record.serialize();
    let mut rng = common::rng(1);
    if record.decrypt(&message, &mut rng).is_err() {
        assert_eq!(
            record.serialize(),
            before,
            "failed decrypt changed the record"
        );
    }
});
