//! Tests of the oracle harness itself (process start, request/response, error mapping).

use serde_json::json;
use wa_tests::oracle::{self, OracleError};

#[test]
fn ping_round_trips_params() {
    let answer =
        oracle::call("oracle.ping", json!({"a": [1, "two"]})).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(answer, json!({"pong": {"a": [1, "two"]}}));
}

#[test]
fn lists_binary_commands() {
    let answer = oracle::call("oracle.commands", json!(null)).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = answer
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(names.contains(&"binary.encode"), "{names:?}");
    assert!(names.contains(&"binary.decode"), "{names:?}");
}

#[test]
fn unknown_command_is_an_error_and_the_oracle_survives() {
    match oracle::call("no.such.command", json!(null)) {
        Err(OracleError::Command { cmd, message }) => {
            assert_eq!(cmd, "no.such.command");
            assert!(message.contains("unknown command"), "{message}");
        }
        other => panic!("expected a command error, got {other:?}"),
    }
    // The same process keeps answering after an error.
    let answer = oracle::call("oracle.ping", json!(7)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(answer, json!({"pong": 7}));
}

#[test]
fn handler_exception_becomes_command_error() {
    // binary.encode requires a list; anything else makes the handler throw.
    match oracle::call("binary.encode", json!("not a list")) {
        Err(OracleError::Command { message, .. }) => {
            assert!(message.contains("params must be a list"), "{message}")
        }
        other => panic!("expected a command error, got {other:?}"),
    }
}

#[test]
fn missing_node_is_a_clear_error() {
    match oracle::Oracle::spawn_with_node("/nonexistent/node-for-wa-tests") {
        Err(e @ OracleError::NodeMissing { .. }) => {
            let text = e.to_string();
            assert!(text.contains("Node.js is required"), "{text}");
            assert!(text.contains("/nonexistent/node-for-wa-tests"), "{text}");
        }
        other => panic!("expected NodeMissing, got {other:?}"),
    }
}

#[test]
fn npm_ci_failure_is_reported() {
    // A directory without package.json/package-lock.json makes `npm ci` fail.
    let dir = std::env::temp_dir().join(format!("wa-tests-npm-ci-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let result = oracle::ensure_node_modules(&dir);
    let lock_left = dir.join(".npm-ci.lock").exists();
    let _ = std::fs::remove_dir_all(&dir);
    match result {
        Err(OracleError::NpmFailed { detail, .. }) => assert!(!detail.is_empty()),
        other => panic!("expected NpmFailed, got {other:?}"),
    }
    assert!(!lock_left, "the npm ci lock directory must be released");
}

#[test]
fn node_version_reports_a_version() {
    let v = oracle::node_version("node").unwrap_or_else(|e| panic!("{e}"));
    assert!(v.starts_with('v'), "{v}");
}

#[test]
fn oracle_dying_at_startup_reports_its_stderr() {
    let dir = std::env::temp_dir().join(format!("wa-tests-dying-oracle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let script = dir.join("dies.mjs");
    std::fs::write(
        &script,
        "console.error('boom-marker: module failed to load');\nprocess.exit(3);\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let result = oracle::Oracle::spawn_script("node", &script);
    let _ = std::fs::remove_dir_all(&dir);
    match result {
        Err(OracleError::Protocol { message, stderr }) => {
            assert!(message.contains("exited"), "{message}");
            assert!(stderr.contains("boom-marker"), "stderr was {stderr:?}");
        }
        other => panic!("expected a protocol error, got {other:?}"),
    }
}
