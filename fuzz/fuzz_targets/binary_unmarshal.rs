//! Arbitrary bytes after the flags byte: the owned decoder and the zero-copy decoder must agree
//! (same node, or the same error), and neither may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let owned = wa_binary::unmarshal(data);
    let borrowed = wa_binary::unmarshal_ref(data).map(|node| node.to_owned());
    assert_eq!(owned, borrowed, "unmarshal and unmarshal_ref disagree");
});
