//! Arbitrary bytes decoded as a stanza and fed to every wa-client parser of network input
//! (`<message>` info and `<enc>` payloads, receipts, notifications, usync and prekey replies,
//! retry receipts, message acks, presence and chat states, call signalling); the undecoded
//! tail also goes through the decrypted-message parsers (protobuf `Message`, content view,
//! unpadding, poll-vote decryption). Each returns a value or a typed error; none may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    let (stanza, payload) = data.split_at(split);
    if let Ok(node) = wa_binary::unmarshal(stanza) {
        wa_client::fuzzing::run_every_parser(&node, payload);
    } else {
        wa_client::fuzzing::run_every_parser(&wa_binary::Node::new("message").build(), payload);
    }
});
