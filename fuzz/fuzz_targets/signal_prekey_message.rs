//! Arbitrary bytes as a `PreKeySignalMessage`: the parse agrees with prost's decoding of the
//! body, and the message is decrypted both by a device without a session and by one with a
//! live session (fixed keys): no panic, and a failure changes nothing.
#![no_main]

#[path = "signal_common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use wa_signal::SessionRecord;
use wa_signal::wire::PreKeySignalMessage;

fuzz_target!(|data: &[u8]| {
    let parsed = PreKeySignalMessage::parse(data);
    assert_eq!(
        parsed.as_ref().ok().map(common::pre_key_fields),
        common::pre_key_by_prost(data),
        "the parser and prost disagree"
    );
    let Ok(message) = parsed else {
        return;
    };
    assert_eq!(message.serialized(), data);
    let f = common::fixture();
    let mut rng = common::rng(2);
    for mut record in [SessionRecord::new(), f.bob.clone()] {
        let before = record.serialize();
        let result = record.decrypt_pre_key(
            &f.bob_identity,
            f.bob_registration_id,
            &message,
            Some(&f.bob_signed),
            Some(&f.bob_one_time),
            &mut rng,
        );
        if result.is_err() {
            assert_eq!(
                record.serialize(),
                before,
                "failed decrypt changed the record"
            );
        }
    }
});
