//! Rule tests for `cargo xtask layers`, fed with synthetic `cargo metadata` output.

use super::*;
use serde_json::json;

const ROOT: &str = "/ws";

/// A package entry as `cargo metadata --no-deps` prints it. `deps` is (name, kind) with kind
/// `null`, `"dev"` or `"build"`.
fn package(name: &str, dir: &str, layer: Option<u64>, deps: &[(&str, Option<&str>)]) -> Value {
    let metadata = match layer {
        Some(l) => json!({ "whatsmeow-rs": { "layer": l } }),
        None => Value::Null,
    };
    json!({
        "name": name,
        "id": format!("path+file://{ROOT}/{dir}#{name}@0.1.0"),
        "manifest_path": format!("{ROOT}/{dir}/Cargo.toml"),
        "metadata": metadata,
        "dependencies": deps.iter().map(|(n, k)| json!({
            "name": n, "kind": k, "req": "^0.1.0", "optional": false,
        })).collect::<Vec<_>>(),
    })
}

fn metadata(packages: Vec<Value>) -> Value {
    let ids: Vec<Value> = packages.iter().map(|p| p["id"].clone()).collect();
    json!({ "packages": packages, "workspace_members": ids, "version": 1 })
}

fn check(packages: Vec<Value>) -> Result<LadderSummary, Vec<String>> {
    let members = parse_metadata(&metadata(packages), Path::new(ROOT)).expect("parses");
    check_ladder(&members)
}

/// The real ladder, each crate depending on what it may.
fn clean_ladder() -> Vec<Value> {
    vec![
        package("wa-proto", "crates/wa-proto", Some(0), &[("prost", None)]),
        package(
            "wa-binary",
            "crates/wa-binary",
            Some(0),
            &[("flate2", None)],
        ),
        package(
            "wa-noise",
            "crates/wa-noise",
            Some(1),
            &[("wa-proto", None)],
        ),
        package(
            "wa-signal",
            "crates/wa-signal",
            Some(1),
            &[("wa-proto", None)],
        ),
        package(
            "wa-store",
            "crates/wa-store",
            Some(2),
            &[("wa-signal", None)],
        ),
        package(
            "wa-media",
            "crates/wa-media",
            Some(3),
            &[("wa-store", None)],
        ),
        package(
            "wa-client",
            "crates/wa-client",
            Some(4),
            &[("wa-binary", None), ("wa-noise", None), ("wa-media", None)],
        ),
        package(
            "wa-testserver",
            "crates/wa-testserver",
            Some(5),
            &[
                ("wa-binary", None),
                ("wa-noise", None),
                ("wa-client", Some("dev")),
            ],
        ),
        package("wa-cli", "crates/wa-cli", Some(6), &[("wa-client", None)]),
        package("xtask", "xtask", None, &[("serde_json", None)]),
        package(
            "wa-tests",
            "tests",
            None,
            &[("wa-client", None), ("wa-testserver", None)],
        ),
    ]
}

#[test]
fn clean_ladder_passes_with_summary() {
    let summary = check(clean_ladder()).expect("clean ladder passes");
    assert_eq!(summary.by_layer.len(), 7);
    assert_eq!(summary.by_layer[&0], vec!["wa-proto", "wa-binary"]);
    assert_eq!(summary.unlayered, vec!["xtask", "wa-tests"]);
    // wa-noise, wa-signal, wa-store, wa-media: 1 each; wa-client 3; testserver 2; cli 1.
    // Dev and third-party edges are not counted; wa-tests is unlayered and not checked.
    assert_eq!(summary.edges_checked, 10);
}

#[test]
fn dependency_on_higher_layer_fails() {
    let mut packages = clean_ladder();
    packages[1] = package(
        "wa-binary",
        "crates/wa-binary",
        Some(0),
        &[("wa-store", None)],
    );
    let errors = check(packages).expect_err("upward edge must fail");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("wa-binary (layer 0)"), "{errors:?}");
    assert!(errors[0].contains("wa-store (layer 2)"), "{errors:?}");
}

#[test]
fn dependency_on_same_layer_fails() {
    let mut packages = clean_ladder();
    packages[2] = package(
        "wa-noise",
        "crates/wa-noise",
        Some(1),
        &[("wa-signal", None)],
    );
    let errors = check(packages).expect_err("same-layer edge must fail");
    assert!(errors[0].contains("wa-signal (layer 1)"), "{errors:?}");
}

#[test]
fn build_dependency_counts_but_dev_dependency_is_free() {
    let mut packages = clean_ladder();
    packages[0] = package(
        "wa-proto",
        "crates/wa-proto",
        Some(0),
        &[("wa-cli", Some("dev"))],
    );
    check(packages.clone()).expect("dev-dependency upward is allowed");
    packages[0] = package(
        "wa-proto",
        "crates/wa-proto",
        Some(0),
        &[("wa-cli", Some("build"))],
    );
    let errors = check(packages).expect_err("build-dependency upward must fail");
    assert!(
        errors[0].contains("build dependency on wa-cli"),
        "{errors:?}"
    );
}

#[test]
fn testserver_must_not_depend_on_client() {
    let mut packages = clean_ladder();
    packages[7] = package(
        "wa-testserver",
        "crates/wa-testserver",
        Some(5),
        &[("wa-client", None)],
    );
    // Layer 5 over layer 4 is a legal edge by layers alone; the extra rule catches it.
    let errors = check(packages).expect_err("testserver -> client must fail");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].starts_with("wa-testserver has a normal dependency on wa-client"));
}

#[test]
fn missing_layer_is_an_error_for_wa_crates() {
    let mut packages = clean_ladder();
    packages[5] = package("wa-media", "crates/wa-media", None, &[]);
    let errors = check(packages).expect_err("unlayered wa-* crate must fail");
    assert!(errors[0].starts_with("wa-media: no `[package.metadata.whatsmeow-rs] layer"));

    // Outside crates/, a wa-* crate other than the harness still needs a layer.
    let mut packages = clean_ladder();
    packages.push(package("wa-extra", "extra", None, &[]));
    let errors = check(packages).expect_err("unlayered wa-extra must fail");
    assert!(errors[0].starts_with("wa-extra: no"), "{errors:?}");
}

#[test]
fn layered_crate_must_not_depend_on_tools_or_harness() {
    let mut packages = clean_ladder();
    packages[8] = package("wa-cli", "crates/wa-cli", Some(6), &[("wa-tests", None)]);
    let errors = check(packages).expect_err("edge to the harness must fail");
    assert!(errors[0].contains("above the ladder"), "{errors:?}");
}

#[test]
fn bad_layer_value_and_bad_metadata_are_errors() {
    let mut bad = package("wa-binary", "crates/wa-binary", None, &[]);
    bad["metadata"] = json!({ "whatsmeow-rs": { "layer": "zero" } });
    let err = parse_metadata(&metadata(vec![bad]), Path::new(ROOT)).expect_err("string layer");
    assert!(err.contains("non-negative integer"), "{err}");
    assert!(parse_metadata(&json!({}), Path::new(ROOT)).is_err());
}

#[test]
fn non_members_are_ignored() {
    let mut meta = metadata(clean_ladder());
    // A registry package that is not a workspace member, with no layer, is not checked.
    if let Some(packages) = meta["packages"].as_array_mut() {
        packages.push(package("wa-lookalike", "registry/wa-lookalike", None, &[]));
    }
    let members = parse_metadata(&meta, Path::new(ROOT)).expect("parses");
    assert_eq!(members.len(), 11);
    check_ladder(&members).expect("still clean");
}

#[test]
fn test_paths_and_generated_files_are_exempt() {
    assert!(is_test_path(Path::new("crates/wa-binary/tests/decode.rs")));
    assert!(is_test_path(Path::new("crates/wa-binary/src/tests.rs")));
    assert!(is_test_path(Path::new(
        "crates/wa-binary/src/codec/tests/mod.rs"
    )));
    assert!(is_test_path(Path::new("tests/tests/interop.rs")));
    assert!(!is_test_path(Path::new("tests/src/lib.rs")));
    assert!(!is_test_path(Path::new("crates/wa-binary/src/decode.rs")));
    assert!(!is_test_path(Path::new(
        "crates/wa-binary/src/tests_util.rs"
    )));

    assert!(is_generated(
        "// @generated by cargo xtask codegen\nfn x() {}\n"
    ));
    assert!(is_generated("//! Protobuf types.\n\n// @generated\n"));
    assert!(!is_generated(&format!(
        "{}// @generated\n",
        "//\n".repeat(10)
    )));
}

#[test]
fn size_scan_flags_long_hand_written_files_only() {
    let dir = std::env::temp_dir().join(format!("xtask-layers-test-{}", std::process::id()));
    let src = dir.join("crates/demo/src");
    std::fs::create_dir_all(src.join("tests")).expect("mkdir");
    std::fs::create_dir_all(dir.join("crates/demo/target")).expect("mkdir");
    let long = "fn f() {}\n".repeat(MAX_LINES + 1);
    let ok = "fn f() {}\n".repeat(MAX_LINES);
    std::fs::write(src.join("ok.rs"), &ok).expect("write");
    std::fs::write(src.join("tests.rs"), &long).expect("write");
    std::fs::write(src.join("tests/big.rs"), &long).expect("write");
    std::fs::write(src.join("gen.rs"), format!("// @generated\n{long}")).expect("write");
    std::fs::write(dir.join("crates/demo/target/huge.rs"), &long).expect("write");

    let summary = check_sizes(&dir, &["crates", "missing"]).expect("all within cap");
    assert_eq!(summary.checked, 1);
    assert_eq!(summary.exempt, 3);
    assert_eq!(
        summary.longest,
        Some((PathBuf::from("crates/demo/src/ok.rs"), MAX_LINES))
    );

    std::fs::write(src.join("big.rs"), &long).expect("write");
    let errors = check_sizes(&dir, &["crates"]).expect_err("long file must fail");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("crates/demo/src/big.rs: 1001 lines"),
        "{errors:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
