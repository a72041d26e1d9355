//! Arbitrary bytes as a `SenderKeyMessage` (and as a `SenderKeyDistributionMessage`): no panic,
//! parse keeps the bytes, and a failed decrypt against a live sender-key state changes nothing.
#![no_main]

#[path = "signal_common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use wa_signal::wire::{SenderKeyDistributionMessage, SenderKeyMessage};

fuzz_target!(|data: &[u8]| {
    if let Ok(skdm) = SenderKeyDistributionMessage::parse(data) {
        assert_eq!(skdm.serialized(), data);
        let mut record = common::fixture().bob_group.clone();
        record.process_distribution(&skdm);
    }
    let Ok(message) = SenderKeyMessage::parse(data) else {
        return;
    };
    assert_eq!(message.serialized(), data);
    let mut record = common::fixture().bob_group.clone();
    let before = record.serialize();
    if record.decrypt(&message).is_err() {
        assert_eq!(
            record.serialize(),
            before,
            "failed decrypt changed the record"
        );
    }
});
