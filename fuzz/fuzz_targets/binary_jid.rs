//! JID strings: parsing must not panic, and a parsed JID must display to a string that parses
//! back to the same JID.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wa_binary::Jid;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(jid) = text.parse::<Jid>() else {
        return;
    };
    let shown = jid.to_string();
    match shown.parse::<Jid>() {
        Ok(again) => assert_eq!(jid, again, "{text:?} -> {shown:?} parses differently"),
        Err(e) => panic!("{text:?} parsed but its display {shown:?} does not: {e}"),
    }
});
