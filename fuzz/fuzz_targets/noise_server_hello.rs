//! Server-hello processing on the client. The first byte picks the mode:
//! - even: the rest is a raw server hello; it must be refused or accepted without panicking;
//! - odd: the rest is a certificate chain that a real server (fixed keys) encrypts into its hello,
//!   so the chain parser and verifier run behind valid AES-GCM; any result but a panic is fine,
//!   and an accepted chain must certify the server's static key.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "noise_common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let (client, _) = common::client();
    if mode % 2 == 0 {
        let _ = client.read_server_hello(rest, common::NOW);
    } else {
        let (_, hello) =
            common::server_after_hello(common::server_config_with_chain(rest.to_vec()));
        if let Ok(done) = client.read_server_hello(&hello, common::NOW) {
            assert_eq!(done.server_static_key(), common::kp(3).public());
            assert_eq!(&done.cert_chain().leaf.key, common::kp(3).public());
        }
    }
});
