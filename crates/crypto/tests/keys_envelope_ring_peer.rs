//! Runs the Python peer check (`vectors/keys_envelope_ring_peer.py`), which recomputes every
//! committed known answer with libsodium (ristretto255, Argon2id), pyca/cryptography and blake3.
//! The interpreter comes from `scripts/py-peers.sh` (which installs
//! `bench/peers/requirements-ringenv.txt`); libsodium23 comes from `scripts/setup.sh`.

mod common;

use common::{peer_python, repo_root};
use std::process::Command;

#[test]
fn peer_implementations_reproduce_every_vector() {
    let script = repo_root().join("crates/crypto/tests/vectors/keys_envelope_ring_peer.py");
    let output = Command::new(peer_python())
        .arg(&script)
        .output()
        .expect("python interpreter runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "peer check failed:\n{stdout}\n{stderr}"
    );
    assert_eq!(stdout.trim(), "peer check: all 41 checks passed");
}
