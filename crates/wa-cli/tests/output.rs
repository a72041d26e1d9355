//! `wa` whose standard output has no reader any more (`wa … | head`, or a program that read
//! what it needed and stopped): the command ends as it would have, without a panic.

use std::process::Stdio;

use crate::common::wa;

#[test]
fn a_closed_standard_output_is_not_a_panic() {
    let (reader, writer) = std::io::pipe().unwrap();
    // Closed before `wa` starts, so its first write fails with a broken pipe.
    drop(reader);
    let out = wa(&["decode", "00f80a19085511fa000304291657f801f80156"])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
}
