//! Runs the Python peer check (`vectors/keys_envelope_ring_peer.py`), which recomputes every
//! committed known answer with libsodium (ristretto255, Argon2id), pyca/cryptography and blake3.
//! The interpreter comes from `scripts/py-peers.sh` (which installs
//! `bench/peers/requirements-ringenv.txt`); libsodium23 comes from `scripts/setup.sh`.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn peer_implementations_reproduce_every_vector() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let setup = Command::new(root.join("scripts/py-peers.sh"))
        .output()
        .expect("scripts/py-peers.sh runs (needs python3 with venv)");
    assert!(
        setup.status.success(),
        "py-peers.sh failed: {}",
        String::from_utf8_lossy(&setup.stderr)
    );
    let python = String::from_utf8(setup.stdout)
        .expect("utf-8 path")
        .trim()
        .to_owned();
    let script = root.join("crates/crypto/tests/vectors/keys_envelope_ring_peer.py");
    let output = Command::new(&python)
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
