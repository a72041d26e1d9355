//! Cross-crate scenarios and interop suites; the tests live in `tests/tests/`.
