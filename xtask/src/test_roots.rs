//! Part of `cargo xtask layers`: every integration test file is compiled.
//!
//! A crate whose integration tests are one binary has `autotests = false` in its manifest and a
//! `tests/main.rs` that declares each test file as a module. A file added to `tests/` but not
//! declared there would never be compiled, so its tests would silently not run; this check
//! refuses that, a declaration without its file, and a `tests/main.rs` that cargo would also
//! build next to one binary per file (`autotests` left on, so every test would run twice).

use std::collections::BTreeSet;
use std::path::Path;

/// What the check saw, for the summary line.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct TestRootSummary {
    /// Crates with a `tests/main.rs`.
    pub(crate) crates: usize,
    /// Test modules declared across them.
    pub(crate) modules: usize,
}

/// The module names `main_rs` declares with `mod name;` (inline `mod name { … }` is not a file).
fn declared_modules(main_rs: &str) -> BTreeSet<String> {
    main_rs
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let rest = line
                .strip_prefix("pub mod ")
                .or(line.strip_prefix("mod "))?;
            Some(rest.strip_suffix(';')?.trim().to_string())
        })
        .collect()
}

/// Whether the manifest turns cargo's one-binary-per-file discovery off.
fn autotests_off(manifest: &str) -> bool {
    manifest.lines().any(|line| {
        let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
        compact == "autotests=false"
    })
}

/// Checks every crate directory in `crate_dirs` that has a `tests/main.rs`.
pub(crate) fn check_test_roots(crate_dirs: &[&Path]) -> Result<TestRootSummary, Vec<String>> {
    let mut summary = TestRootSummary::default();
    let mut errors = Vec::new();
    for dir in crate_dirs {
        let tests = dir.join("tests");
        let Ok(main_rs) = std::fs::read_to_string(tests.join("main.rs")) else {
            continue;
        };
        summary.crates += 1;
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap_or_default();
        if !autotests_off(&manifest) {
            errors.push(format!(
                "{}: tests/main.rs gathers the tests but the manifest lacks `autotests = false`",
                dir.display()
            ));
        }
        let declared = declared_modules(&main_rs);
        summary.modules += declared.len();
        let mut files = BTreeSet::new();
        if let Ok(entries) = std::fs::read_dir(&tests) {
            for entry in entries.filter_map(Result::ok) {
                let path = entry.path();
                let is_rs = path.extension().is_some_and(|e| e == "rs");
                let stem = path.file_stem().and_then(|s| s.to_str());
                if let (true, Some(stem)) = (is_rs, stem)
                    && stem != "main"
                {
                    files.insert(stem.to_string());
                }
            }
        }
        for file in files.difference(&declared) {
            errors.push(format!(
                "{}: tests/{file}.rs is not declared in tests/main.rs, so it never runs",
                dir.display()
            ));
        }
        for module in &declared {
            let has_source = tests.join(format!("{module}.rs")).is_file()
                || tests.join(module).join("mod.rs").is_file()
                || main_rs.contains(&format!("#[path = \"{module}/"));
            if !has_source {
                errors.push(format!(
                    "{}: tests/main.rs declares `mod {module};` without tests/{module}.rs",
                    dir.display()
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(summary)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("xtask-test-roots-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("tests").join("common")).unwrap();
        std::fs::write(dir.join("tests").join("common").join("mod.rs"), "").unwrap();
        dir
    }

    #[test]
    fn a_gathered_crate_with_every_file_declared_passes() {
        let dir = scratch("ok");
        std::fs::write(dir.join("Cargo.toml"), "[package]\nautotests = false\n").unwrap();
        std::fs::write(
            dir.join("tests/main.rs"),
            "//! x\nmod common;\n\nmod a;\nmod b;\n",
        )
        .unwrap();
        std::fs::write(dir.join("tests/a.rs"), "").unwrap();
        std::fs::write(dir.join("tests/b.rs"), "").unwrap();
        let summary = check_test_roots(&[dir.as_path()]).unwrap();
        assert_eq!(
            summary,
            TestRootSummary {
                crates: 1,
                modules: 3
            }
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_undeclared_file_a_missing_file_and_autotests_on_are_refused() {
        let dir = scratch("bad");
        std::fs::write(dir.join("Cargo.toml"), "[package]\nname = \"x\"\n").unwrap();
        std::fs::write(dir.join("tests/main.rs"), "mod common;\nmod gone;\n").unwrap();
        std::fs::write(dir.join("tests/forgotten.rs"), "").unwrap();
        let errors = check_test_roots(&[dir.as_path()]).unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].contains("autotests = false"));
        assert!(errors[1].contains("tests/forgotten.rs is not declared"));
        assert!(errors[2].contains("`mod gone;`"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn crates_without_a_test_root_are_skipped() {
        let dir =
            std::env::temp_dir().join(format!("xtask-test-roots-none-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("tests")).unwrap();
        std::fs::write(dir.join("tests/alone.rs"), "").unwrap();
        assert_eq!(
            check_test_roots(&[dir.as_path()]).unwrap(),
            TestRootSummary::default()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
