//! Whatever decodes must survive a re-encode: unmarshal(marshal(node)) == node.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(first) = wa_binary::unmarshal(data) else {
        return;
    };
    let encoded = wa_binary::marshal(&first);
    assert_eq!(
        encoded.first(),
        Some(&0),
        "marshal must start with a zero flags byte"
    );
    let body = encoded.get(1..).unwrap_or_default();
    match wa_binary::unmarshal(body) {
        Ok(second) => assert_eq!(first, second, "re-encoded node decodes differently"),
        Err(e) => panic!("re-encoded node does not decode: {e}\nnode: {first:?}"),
    }
});
