//! The deployment sizes, 2048- and 3072-bit moduli, with committed safe-prime keys
//! (tests/vectors/paillier_keys_2048_3072.json from bench/peers/paillier_sized_keys.py):
//! python `phe` known answers, encoding lengths, and a 3-of-4 threshold decryption at 2048 bits.

#[path = "vectors/paillier_support.rs"]
mod support;

use medchain_crypto::paillier::threshold::{DecryptionShare, dealer_keygen_with_primes};
use medchain_crypto::paillier::{Ciphertext, FixedPoint, Integer, PublicKey, SecretKey};
use serde_json::Value;
use support::{int, rng};

fn sized_keys() -> Vec<Value> {
    let text = include_str!("vectors/paillier_keys_2048_3072.json");
    let v: Value = serde_json::from_str(text).expect("valid JSON");
    v["keys"].as_array().expect("keys").clone()
}

fn secret_key(entry: &Value) -> SecretKey {
    SecretKey::from_primes(int(&entry["p"]), int(&entry["q"]), int(&entry["h"])).expect("valid key")
}

#[test]
fn deployment_size_keys_match_phe_and_encode_at_fixed_lengths() {
    let mut rng = rng(30);
    for entry in sized_keys() {
        let bits = entry["bits"].as_u64().expect("bits") as u32;
        let sk = secret_key(&entry);
        let pk = sk.public_key();
        assert_eq!(pk.modulus_bits(), bits);
        for case in entry["classic"].as_array().expect("cases") {
            let m = pk.plaintext(&int(&case["m"])).expect("m < n");
            let c = pk
                .encrypt_with_nonce(&m, &int(&case["r"]))
                .expect("r in Z*_n");
            assert_eq!(
                c.as_integer(),
                &int(&case["c"]),
                "{bits}-bit phe ciphertext"
            );
            assert_eq!(sk.decrypt(&c).as_integer(), &int(&case["m"]));
        }
        let n_len = bits as usize / 8;
        let pk_bytes = pk.to_bytes();
        assert_eq!(pk_bytes.len(), 4 + 2 * n_len);
        assert_eq!(PublicKey::from_bytes(&pk_bytes).as_ref(), Ok(pk));
        let codec = FixedPoint::new(4).expect("scale");
        let ct = pk.encrypt(&codec.encode(pk, -31_415_926).expect("small"), &mut rng);
        let ct_bytes = ct.to_bytes(pk);
        assert_eq!(ct_bytes.len(), 2 + 2 * n_len);
        let decoded = Ciphertext::from_bytes(pk, &ct_bytes).expect("canonical");
        assert_eq!(codec.decode(pk, &sk.decrypt(&decoded)), Ok(-31_415_926));
    }
}

#[test]
fn three_of_four_threshold_decryption_works_at_2048_bits() {
    let entry = &sized_keys()[0];
    assert_eq!(entry["bits"], 2048);
    let mut rng = rng(31);
    let (tpk, shares) =
        dealer_keygen_with_primes(int(&entry["p"]), int(&entry["q"]), 3, 4, &mut rng)
            .expect("dealer");
    let pk = tpk.public_key();
    let a = pk.encrypt(
        &pk.plaintext(&Integer::from(1_000)).expect("small"),
        &mut rng,
    );
    let b = pk.encrypt(&pk.plaintext(&Integer::from(337)).expect("small"), &mut rng);
    let total = pk.add(&a, &b);
    let made: Vec<DecryptionShare> = shares[1..]
        .iter()
        .map(|s| {
            s.decryption_share(&total, &mut rng)
                .expect("ciphertext under this key")
        })
        .collect();
    let result = tpk.decrypt(&total, &made).expect("3 honest holders");
    assert_eq!(result.plaintext.as_integer(), &Integer::from(1_337));
}
