//! Arbitrary bytes decoded as a stanza and fed to every wa-groups reply parser and to the
//! `w:gp2` notification parser (also wrapped in a result `<iq>` and in a group notification to
//! reach the inner parsers): each returns `Ok` or a typed error, none may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(node) = wa_binary::unmarshal(data) else {
        return;
    };
    wa_groups::fuzzing::run_every_parser_wrapped(&node);
});
