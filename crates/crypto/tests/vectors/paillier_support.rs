// Shared by the Paillier integration tests: loads the committed known-answer vectors
// (tests/vectors/paillier_kat.json, written by bench/peers/paillier_vectors.py).
// Not every test file uses every helper.
#![allow(dead_code)]

use medchain_crypto::paillier::threshold::{
    KeyShare, ThresholdPublicKey, dealer_keygen_from_parts,
};
use medchain_crypto::paillier::{Integer, PublicKey, SecretKey};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use serde_json::Value;

pub fn vectors() -> Value {
    let text = include_str!("paillier_kat.json");
    serde_json::from_str(text).expect("committed vector file is valid JSON")
}

pub fn int(v: &Value) -> Integer {
    let s = v.as_str().expect("vector field is a string");
    let digits = s.strip_prefix("0x").expect("hex fields start with 0x");
    Integer::from_str_radix(digits, 16).expect("valid hex")
}

pub fn ints(v: &Value) -> Vec<Integer> {
    v.as_array().expect("array").iter().map(int).collect()
}

/// The committed 1024-bit key (two 512-bit safe primes).
pub fn key() -> (PublicKey, SecretKey) {
    let v = vectors();
    let sk = SecretKey::from_primes(int(&v["p"]), int(&v["q"]), int(&v["h"])).expect("valid key");
    (sk.public_key().clone(), sk)
}

/// The committed 3-of-5 threshold key over the same primes.
pub fn threshold_key() -> (ThresholdPublicKey, Vec<KeyShare>) {
    let v = vectors();
    let t = &v["threshold"];
    dealer_keygen_from_parts(
        int(&v["p"]),
        int(&v["q"]),
        int(&v["h"]),
        int(&t["v"]),
        &ints(&t["coefficients"]),
        t["threshold"].as_u64().expect("k") as u16,
        t["holders"].as_u64().expect("l") as u16,
    )
    .expect("valid threshold key")
}

/// A deterministic RNG; the seed is printed so a failure can be replayed.
pub fn rng(seed: u64) -> ChaCha20Rng {
    println!("rng seed = {seed}");
    ChaCha20Rng::seed_from_u64(seed)
}
