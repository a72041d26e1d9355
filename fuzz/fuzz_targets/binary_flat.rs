//! Node bytes: the flat decoder (`unmarshal_flat`, and a reused `Document`) must not panic and
//! must agree with the tree decoder `unmarshal`, errors included.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let tree = wa_binary::unmarshal(data);
    let flat = wa_binary::unmarshal_flat(data).map(|doc| doc.root().map(|r| r.to_owned()));
    assert_eq!(
        flat,
        tree.clone().map(Some),
        "unmarshal_flat and unmarshal disagree"
    );
    // A document that held another frame first decodes the same.
    let mut doc = wa_binary::Document::new();
    let reused = match doc.decode_into(b"\xf8\x01\x19") {
        Ok(()) => doc
            .decode_into(data)
            .map(|()| doc.root().map(|r| r.to_owned())),
        Err(e) => panic!("decoding <iq/> failed: {e}"),
    };
    assert_eq!(
        reused,
        tree.map(Some),
        "a reused Document disagrees with unmarshal"
    );
    if let Some(root) = doc.root() {
        assert_eq!(root.subtree_len(), doc.node_count());
    }
});
