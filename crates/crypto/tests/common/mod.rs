//! Helpers shared by the crypto integration tests.

// Each test binary compiles this module and uses only some of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository's root directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The Python interpreter of the peer implementations' virtual environment, created on first use
/// by `scripts/py-peers.sh` (which needs PyPI the first time).
pub fn peer_python() -> PathBuf {
    let setup = Command::new(repo_root().join("scripts/py-peers.sh"))
        .output()
        .expect("scripts/py-peers.sh runs (needs python3 with venv)");
    assert!(
        setup.status.success(),
        "scripts/py-peers.sh failed: {}",
        String::from_utf8_lossy(&setup.stderr)
    );
    PathBuf::from(String::from_utf8(setup.stdout).expect("utf-8 path").trim())
}

/// Runs a peer check script of `tests/vectors` with the peers' interpreter and returns what it
/// printed, failing the test with its output if it exits non-zero.
pub fn run_peer_script(name: &str) -> String {
    let script = repo_root().join("crates/crypto/tests/vectors").join(name);
    let output = Command::new(peer_python())
        .arg(&script)
        .output()
        .expect("python interpreter runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "peer check failed:\n{stdout}\n{stderr}"
    );
    stdout
}

/// Compares `computed` with the committed vector file, or rewrites the file when
/// `MEDCHAIN_WRITE_VECTORS=1` (then review the diff and run the peer script).
pub fn assert_vectors(name: &str, computed: serde_json::Value) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(name);
    if std::env::var_os("MEDCHAIN_WRITE_VECTORS").is_some() {
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&computed).unwrap() + "\n",
        )
        .unwrap();
    }
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        committed, computed,
        "{name} differs from the committed known answers"
    );
}
