//! Whole frames (flags byte, optionally zlib-compressed body): `decode_frame` must not panic and
//! must agree with `unpack` followed by `unmarshal`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let direct = wa_binary::decode_frame(data);
    let staged = wa_binary::unpack(data).and_then(|body| wa_binary::unmarshal(&body));
    assert_eq!(direct, staged, "decode_frame and unpack+unmarshal disagree");
});
