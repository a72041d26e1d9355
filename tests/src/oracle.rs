//! A client for the Node oracle process in `tests/interop/oracle.mjs`.
//!
//! The oracle runs Baileys (the reference TypeScript implementation) and answers newline-delimited JSON
//! requests on its stdin. Each test binary starts one oracle process on first use and shares it through
//! [`shared`]; [`call`] is the one-line way to use it:
//!
//! ```no_run
//! let hex = wa_tests::oracle::call("oracle.ping", serde_json::json!({"x": 1}))?;
//! # Ok::<(), wa_tests::oracle::OracleError>(())
//! ```
//!
//! If `tests/interop/node_modules` is missing, `npm ci` is run there first (once per process, guarded
//! by a lock directory against concurrent test binaries). If `node` is not installed the result is
//! [`OracleError::NodeMissing`]: interop tests must fail, never pass silently.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use serde_json::Value;

/// Environment variable naming the Node executable to use (default: `node` on `PATH`).
pub const NODE_ENV: &str = "WA_ORACLE_NODE";

/// How much of the oracle's stderr is kept for error messages.
const STDERR_KEEP: usize = 16 * 1024;

/// Poll interval while another process holds the `npm ci` lock.
const NPM_LOCK_POLL: Duration = Duration::from_millis(200);

/// How many polls (5 minutes in all) to wait for another process's `npm ci` before giving up.
const NPM_LOCK_POLLS: u32 = 1500;

/// Everything that can go wrong while starting or talking to the oracle.
#[derive(Debug, thiserror::Error)]
pub enum OracleError {
    /// The `node` executable could not be run.
    #[error(
        "Node.js is required for the Baileys interop tests but `{node}` could not be run ({source}); \
         install Node.js 20+ or set {NODE_ENV}"
    )]
    NodeMissing {
        /// The executable that was tried.
        node: String,
        /// Why running it failed.
        source: std::io::Error,
    },
    /// `npm ci` in `tests/interop` failed.
    #[error("`npm ci` in {dir} failed: {detail}")]
    NpmFailed {
        /// The directory npm ran in.
        dir: PathBuf,
        /// Exit status and output, or the spawn error.
        detail: String,
    },
    /// Reading from or writing to the oracle process failed.
    #[error("oracle I/O failed: {0}")]
    Io(#[from] std::io::Error),
    /// The oracle exited or answered something that is not a valid response.
    #[error("oracle protocol error: {message}; oracle stderr:\n{stderr}")]
    Protocol {
        /// What was wrong.
        message: String,
        /// The tail of the oracle's stderr.
        stderr: String,
    },
    /// The command's handler threw; the message is the JavaScript error.
    #[error("oracle command `{cmd}` failed: {message}")]
    Command {
        /// The command that was called.
        cmd: String,
        /// The error text the oracle returned.
        message: String,
    },
    /// An earlier attempt to start the shared oracle failed; the message is that failure.
    #[error("the shared oracle could not be started: {0}")]
    StartFailed(String),
}

/// The directory holding the Node project (`tests/interop`).
pub fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("interop")
}

fn node_program() -> String {
    std::env::var(NODE_ENV).unwrap_or_else(|_| "node".to_owned())
}

/// Checks that the Node executable `node` runs, and returns its version string.
pub fn node_version(node: &str) -> Result<String, OracleError> {
    let node = node.to_owned();
    let out = Command::new(&node)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|source| OracleError::NodeMissing {
            node: node.clone(),
            source,
        })?;
    if !out.status.success() {
        return Err(OracleError::NodeMissing {
            node,
            source: std::io::Error::other(format!("`--version` exited with {}", out.status)),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Runs `npm ci` in `dir` unless `dir/node_modules/baileys` already exists.
///
/// A lock directory (`dir/.npm-ci.lock`) keeps concurrent test processes from installing at once.
pub fn ensure_node_modules(dir: &Path) -> Result<(), OracleError> {
    let marker = dir
        .join("node_modules")
        .join("baileys")
        .join("package.json");
    if marker.exists() {
        return Ok(());
    }
    let lock = dir.join(".npm-ci.lock");
    let mut polls = 0u32;
    loop {
        match std::fs::create_dir(&lock) {
            Ok(()) => break,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if marker.exists() {
                    return Ok(());
                }
                polls += 1;
                if polls > NPM_LOCK_POLLS {
                    return Err(OracleError::NpmFailed {
                        dir: dir.to_owned(),
                        detail: format!(
                            "lock {} held too long; remove it if stale",
                            lock.display()
                        ),
                    });
                }
                thread::sleep(NPM_LOCK_POLL);
            }
            Err(e) => return Err(e.into()),
        }
    }
    let result = run_npm_ci(dir);
    // Best effort: a leftover lock only delays the next run by the lock wait.
    let _ = std::fs::remove_dir(&lock);
    result
}

fn run_npm_ci(dir: &Path) -> Result<(), OracleError> {
    if dir
        .join("node_modules")
        .join("baileys")
        .join("package.json")
        .exists()
    {
        return Ok(());
    }
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| OracleError::NpmFailed {
            dir: dir.to_owned(),
            detail: format!("could not run npm: {e}"),
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(OracleError::NpmFailed {
            dir: dir.to_owned(),
            detail: format!(
                "{}\nstdout:\n{}\nstderr:\n{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        })
    }
}

/// One running oracle process.
#[derive(Debug)]
pub struct Oracle {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    stderr: Arc<Mutex<String>>,
    stderr_thread: Option<JoinHandle<()>>,
    next_id: u64,
}

impl Oracle {
    /// Starts `node tests/interop/oracle.mjs`, installing its npm dependencies first if needed.
    ///
    /// The executable is `node` from `PATH` unless the environment variable [`NODE_ENV`] names another.
    pub fn spawn() -> Result<Self, OracleError> {
        Self::spawn_with_node(&node_program())
    }

    /// Like [`Oracle::spawn`] with an explicit Node executable.
    pub fn spawn_with_node(node: &str) -> Result<Self, OracleError> {
        node_version(node)?;
        let dir = interop_dir();
        ensure_node_modules(&dir)?;
        Self::spawn_script(node, &dir.join("oracle.mjs"))
    }

    /// Starts `node <script>` (run in `tests/interop`) and expects it to speak the oracle
    /// protocol; no `npm ci` is done. The script must answer `oracle.ping`.
    pub fn spawn_script(node: &str, script: &Path) -> Result<Self, OracleError> {
        let node = node.to_owned();
        let mut child = Command::new(&node)
            .arg(script)
            .current_dir(interop_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| OracleError::NodeMissing { node, source })?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            return Err(OracleError::Protocol {
                message: "child pipes missing".to_owned(),
                stderr: String::new(),
            });
        };
        let kept = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&kept);
        let stderr_thread = thread::spawn(move || collect_stderr(stderr, &sink));
        let mut oracle = Oracle {
            child,
            stdin,
            stdout: BufReader::new(stdout),
            stderr: kept,
            stderr_thread: Some(stderr_thread),
            next_id: 0,
        };
        // Fail at spawn time, not at first use, if the oracle cannot load its command modules.
        oracle.call("oracle.ping", Value::Null)?;
        Ok(oracle)
    }

    /// Sends one request and waits for its response; a handler error becomes [`OracleError::Command`].
    pub fn call(&mut self, cmd: &str, params: Value) -> Result<Value, OracleError> {
        self.next_id += 1;
        let id = self.next_id;
        let mut line =
            serde_json::to_vec(&serde_json::json!({ "id": id, "cmd": cmd, "params": params }))
                .map_err(|e| self.protocol(format!("request not serialisable: {e}")))?;
        line.push(b'\n');
        if let Err(e) = self
            .stdin
            .write_all(&line)
            .and_then(|()| self.stdin.flush())
        {
            return Err(self.protocol(format!("writing the request failed: {e}")));
        }
        let mut answer = String::new();
        let n = self.stdout.read_line(&mut answer)?;
        if n == 0 {
            // stdout closed: the process is exiting. Wait for it and for the rest of its stderr,
            // which usually says why.
            let status = self.child.wait().ok();
            if let Some(t) = self.stderr_thread.take() {
                let _ = t.join();
            }
            return Err(self.protocol(format!(
                "oracle exited before answering `{cmd}` (status {status:?})"
            )));
        }
        let mut response: Value = serde_json::from_str(&answer).map_err(|e| {
            self.protocol(format!(
                "response is not JSON ({e}): {}",
                truncate(&answer, 200)
            ))
        })?;
        if response.get("id").and_then(Value::as_u64) != Some(id) {
            return Err(self.protocol(format!(
                "response id mismatch, expected {id}: {}",
                truncate(&answer, 200)
            )));
        }
        if let Some(err) = response.get("error") {
            let message = err.as_str().map_or_else(|| err.to_string(), str::to_owned);
            return Err(OracleError::Command {
                cmd: cmd.to_owned(),
                message,
            });
        }
        match response.get_mut("ok") {
            Some(ok) => Ok(ok.take()),
            None => Err(self.protocol(format!(
                "response has neither ok nor error: {}",
                truncate(&answer, 200)
            ))),
        }
    }

    /// The tail of what the oracle wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn protocol(&self, message: String) -> OracleError {
        OracleError::Protocol {
            message,
            stderr: self.stderr(),
        }
    }
}

impl Drop for Oracle {
    fn drop(&mut self) {
        // Closing stdin ends the oracle's read loop; kill is the fallback.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn collect_stderr(mut stderr: impl Read, sink: &Mutex<String>) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = stderr.read(&mut buf) {
        let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
            break;
        };
        let mut kept = sink.lock().unwrap_or_else(PoisonError::into_inner);
        kept.push_str(&String::from_utf8_lossy(chunk));
        if kept.len() > STDERR_KEEP {
            let cut = kept.len() - STDERR_KEEP;
            let cut = (cut..kept.len())
                .find(|&i| kept.is_char_boundary(i))
                .unwrap_or(kept.len());
            kept.drain(..cut);
        }
    }
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => s.get(..i).unwrap_or(s),
        None => s,
    }
}

static SHARED: OnceLock<Result<Mutex<Oracle>, String>> = OnceLock::new();

/// The process-wide oracle, started on first use; concurrent tests take turns through the mutex.
pub fn shared() -> Result<MutexGuard<'static, Oracle>, OracleError> {
    match SHARED.get_or_init(|| Oracle::spawn().map(Mutex::new).map_err(|e| e.to_string())) {
        Ok(m) => Ok(m.lock().unwrap_or_else(PoisonError::into_inner)),
        Err(e) => Err(OracleError::StartFailed(e.clone())),
    }
}

/// Calls `cmd` on the shared oracle (see [`shared`]).
pub fn call(cmd: &str, params: Value) -> Result<Value, OracleError> {
    shared()?.call(cmd, params)
}
