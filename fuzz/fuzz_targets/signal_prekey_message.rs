//! Arbitrary bytes as a `PreKeySignalMessage`, decrypted both by a device without a session and
//! by one with a live session (fixed keys): no panic, and a failure changes nothing.
#![no_main]

#[path = "signal_common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use wa_signal::SessionRecord;
use wa_signal::wire::PreKeySignalMessage;

fuzz_target!(|data: &[u8]| {
    let Ok(message) = PreKeySignalMessage::parse(data) else {
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
