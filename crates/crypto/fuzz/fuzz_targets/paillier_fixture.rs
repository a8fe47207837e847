// The committed 1024-bit test key and 3-of-5 threshold key, for targets that decode under a key.
#![allow(dead_code)]

use medchain_crypto::paillier::threshold::{KeyShare, ThresholdPublicKey, dealer_keygen_from_parts};
use medchain_crypto::paillier::{Integer, PublicKey, SecretKey};
use serde_json::Value;

fn vectors() -> Value {
    serde_json::from_str(include_str!("../../tests/vectors/paillier_kat.json")).expect("vector file")
}

fn int(v: &Value) -> Integer {
    let hex = v.as_str().and_then(|s| s.strip_prefix("0x")).expect("hex field");
    Integer::from_str_radix(hex, 16).expect("hex")
}

pub fn public_key() -> PublicKey {
    let v = vectors();
    let sk = SecretKey::from_primes(int(&v["p"]), int(&v["q"]), int(&v["h"])).expect("key");
    sk.public_key().clone()
}

pub fn threshold_key() -> (ThresholdPublicKey, Vec<KeyShare>) {
    let v = vectors();
    let t = &v["threshold"];
    let coefficients: Vec<Integer> = t["coefficients"].as_array().expect("list").iter().map(int).collect();
    dealer_keygen_from_parts(int(&v["p"]), int(&v["q"]), int(&v["h"]), int(&t["v"]), &coefficients, 3, 5)
        .expect("threshold key")
}
