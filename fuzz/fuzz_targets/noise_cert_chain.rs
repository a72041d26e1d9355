//! Certificate chain verification on arbitrary bytes (no handshake around it, so runs are fast):
//! never a panic, and an accepted chain certifies the key asked for under the fixture's root.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wa_noise::verify_cert_chain;

#[path = "noise_common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let root = common::issuer().trust_root();
    let key = *common::kp(3).public();
    if let Ok(chain) = verify_cert_chain(data, &root, &key, common::NOW) {
        assert_eq!(chain.leaf.key, key);
        assert_eq!(chain.intermediate.issuer_serial, root.serial());
        assert_eq!(chain.leaf.issuer_serial, chain.intermediate.serial);
    }
});
