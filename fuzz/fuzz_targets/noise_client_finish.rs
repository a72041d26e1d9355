//! Client-finish processing on the server. The first byte picks the mode:
//! - even: the rest is a raw client finish; refused or accepted without panicking;
//! - odd: the rest is the client payload, sent by the real fixed client; the server must
//!   recover exactly that payload and the client's static key.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "noise_common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let (server, server_hello) = common::server_after_hello(common::server_config());
    if mode % 2 == 0 {
        let _ = server.read_client_finish(rest);
    } else {
        let (client, _) = common::client();
        let ready = client
            .read_server_hello(&server_hello, common::NOW)
            .expect("fixed handshake");
        let (finish, _) = ready.finish(rest).expect("finish");
        let done = server
            .read_client_finish(&finish)
            .expect("server accepts a real finish");
        assert_eq!(done.payload, rest);
        assert_eq!(&done.client_static, common::kp(5).public());
    }
});
