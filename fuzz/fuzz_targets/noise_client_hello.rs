//! Client-hello processing on the server: arbitrary bytes as the hello must be refused or
//! answered without panicking; an answer is a well-formed server hello the fixed client of a
//! matching ephemeral could read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wa_noise::{ExpectClientHello, Intro};
use wa_proto::prost::Message;
use wa_proto::proto::HandshakeMessage;

#[path = "noise_common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let server = ExpectClientHello::new(common::server_config());
    if let Ok((_, reply)) = server.read_client_hello(&Intro::default(), data, common::kp(7)) {
        let msg = HandshakeMessage::decode(reply.as_slice()).expect("server hello decodes");
        let hello = msg.server_hello.expect("server hello present");
        assert_eq!(
            hello.ephemeral.as_deref(),
            Some(&common::kp(7).public()[..])
        );
    }
});
