//! Runs the Python peer check (`vectors/keys_envelope_ring_peer.py`), which recomputes every
//! committed known answer with libsodium, pyca/cryptography and blake3. Ignored by default
//! because it needs those installed:
//!
//! ```text
//! apt-get install libsodium23 && python3 -m venv target/py-ringenv
//! target/py-ringenv/bin/pip install -r crates/crypto/tests/vectors/keys_envelope_ring_peer.requirements.txt
//! MEDCHAIN_PEER_PYTHON=target/py-ringenv/bin/python cargo test -p medchain-crypto --test keys_envelope_ring_peer -- --ignored
//! ```

use std::path::Path;
use std::process::Command;

#[test]
#[ignore = "needs python3 with blake3 + cryptography and libsodium23 (see the module doc)"]
fn peer_implementations_reproduce_every_vector() {
    let python = std::env::var("MEDCHAIN_PEER_PYTHON").unwrap_or_else(|_| "python3".into());
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/keys_envelope_ring_peer.py");
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
