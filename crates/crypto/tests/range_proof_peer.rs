//! Range proofs against an independent implementation. The seeded prover must reproduce the
//! committed vectors (`vectors/range_proofs.json`) byte for byte, and
//! `vectors/range_proof_peer.py` verifies each of them equation by equation, without batching,
//! on py_ecc's BLS12-381 (RFC 9380 `expand_message_xmd` for the challenge, `hash_to_G1` for the
//! second generator), and refuses tampered copies. The interpreter comes from
//! `scripts/py-peers.sh` (which installs `bench/peers/requirements-analytics.txt`).

mod common;

use common::{assert_vectors, run_peer_script};
use commonware_codec::Encode;
use commonware_cryptography::bls12381::primitives::group::{G1, Scalar};
use commonware_math::algebra::CryptoGroup;
use medchain_crypto::analytics::range::{
    DST_BIT_COMMITMENT_BASE, DST_RANGE_PROOF, Range, RangeProof,
};
use medchain_crypto::analytics::{AnalyticsPublicKey, ProofContext};
use medchain_crypto::rng::seeded_u64;
use serde_json::json;

const CHAIN: &str = "medchain-vectors";
const STUDY: &str = "study:hba1c-vectors";

/// One vector: its name, the range `[lo, hi]`, the value, and the key image if anonymous.
type Case<'a> = (&'a str, u64, u64, u64, Option<&'a [u8; 32]>);

fn vectors() -> serde_json::Value {
    // A key whose secret is public: vectors need no DKG.
    let secret = Scalar::from_u64(0x6d65_6463_6861_696e);
    let key = AnalyticsPublicKey::from_bytes(&(G1::generator() * &secret).encode()).unwrap();
    let image = [0x5au8; 32];
    let cases: [Case<'_>; 3] = [
        ("16-bit anonymous", 0, 65535, 4242, Some(&image)),
        ("two-sided institutional", 5, 100, 50, None),
        ("single value", 7, 7, 7, None),
    ];
    let mut out = Vec::new();
    for (index, (name, lo, hi, value, key_image)) in cases.into_iter().enumerate() {
        let range = Range::new(lo, hi).unwrap();
        let context = ProofContext {
            chain_id: CHAIN.as_bytes(),
            study_id: STUDY.as_bytes(),
            key_image,
        };
        let mut rng = seeded_u64(2026 + index as u64);
        let (ciphertext, proof) =
            RangeProof::encrypt(&mut rng, &key, value, &range, &context).unwrap();
        proof
            .verify(&mut rng, &key, &ciphertext, &range, &context)
            .unwrap();
        out.push(json!({
            "name": name,
            "key": hex::encode(key.to_bytes()),
            "chain_id": CHAIN,
            "study_id": STUDY,
            "key_image": key_image.map(hex::encode),
            "lo": lo,
            "hi": hi,
            "ciphertext": hex::encode(ciphertext.to_bytes()),
            "proof": hex::encode(proof.to_bytes()),
        }));
    }
    json!({
        "dst_range_proof": String::from_utf8(DST_RANGE_PROOF.to_vec()).unwrap(),
        "dst_bit_commitment_base": String::from_utf8(DST_BIT_COMMITMENT_BASE.to_vec()).unwrap(),
        "vectors": out,
    })
}

#[test]
fn the_seeded_prover_reproduces_the_committed_vectors() {
    assert_vectors("range_proofs.json", vectors());
}

#[test]
fn py_ecc_verifies_every_committed_proof_and_refuses_tampered_ones() {
    let stdout = run_peer_script("range_proof_peer.py");
    assert_eq!(stdout.trim(), "range peer: all 12 checks passed");
}
