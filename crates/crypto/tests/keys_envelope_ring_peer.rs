//! Runs the Python peer check (`vectors/keys_envelope_ring_peer.py`), which recomputes every
//! committed known answer with libsodium (ristretto255, Argon2id), pyca/cryptography and blake3.
//! The interpreter comes from `scripts/py-peers.sh` (which installs
//! `bench/peers/requirements-ringenv.txt`); libsodium23 comes from `scripts/setup.sh`.

mod common;

use common::run_peer_script;

#[test]
fn peer_implementations_reproduce_every_vector() {
    let stdout = run_peer_script("keys_envelope_ring_peer.py");
    assert_eq!(stdout.trim(), "peer check: all 41 checks passed");
}
