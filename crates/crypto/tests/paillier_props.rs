//! Property tests over the committed 1024-bit key and 3-of-5 threshold key: round trips,
//! homomorphic sums, threshold subsets, and rejection of tampered shares and proofs.

#[path = "vectors/paillier_support.rs"]
mod support;

use std::sync::OnceLock;

use medchain_crypto::paillier::threshold::{DecryptionShare, KeyShare, ThresholdPublicKey};
use medchain_crypto::paillier::{
    Ciphertext, FixedPoint, Integer, PaillierError, PublicKey, SecretKey,
};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use support::{key, rng, threshold_key};

/// Fixed so every run explores the same cases; change it to explore others.
const PROPTEST_SEED: u64 = 0x5eed_2026_1125;

fn plain_key() -> &'static (PublicKey, SecretKey) {
    static KEY: OnceLock<(PublicKey, SecretKey)> = OnceLock::new();
    KEY.get_or_init(key)
}

fn tkey() -> &'static (ThresholdPublicKey, Vec<KeyShare>) {
    static KEY: OnceLock<(ThresholdPublicKey, Vec<KeyShare>)> = OnceLock::new();
    KEY.get_or_init(threshold_key)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, rng_seed: RngSeed::Fixed(PROPTEST_SEED), ..ProptestConfig::default() })]

    #[test]
    fn decrypt_inverts_encrypt_for_any_residue(bytes in proptest::collection::vec(any::<u8>(), 0..=128), seed: u64) {
        let (pk, sk) = plain_key();
        let m = Integer::from_digits(&bytes, rug::integer::Order::Msf) % pk.n();
        let pt = pk.plaintext(&m).expect("reduced");
        let ct = pk.encrypt(&pt, &mut rng(seed));
        prop_assert_eq!(sk.decrypt(&ct).as_integer().clone(), m);
        let decoded = Ciphertext::from_bytes(pk, &ct.to_bytes(pk)).expect("own encoding decodes");
        prop_assert_eq!(decoded, ct);
    }

    #[test]
    fn homomorphic_sum_equals_plaintext_sum(values in proptest::collection::vec(-1_000_000_000_000i64..1_000_000_000_000, 1..12), seed: u64) {
        let (pk, sk) = plain_key();
        let codec = FixedPoint::new(3).expect("scale");
        let mut rng = rng(seed);
        let mut acc = pk.zero_ciphertext();
        for &v in &values {
            pk.add_assign(&mut acc, &pk.encrypt(&codec.encode(pk, i128::from(v)).expect("small"), &mut rng));
        }
        let expected: i128 = values.iter().map(|&v| i128::from(v)).sum();
        prop_assert_eq!(codec.decode(pk, &sk.decrypt(&acc)), Ok(expected));
    }

    #[test]
    fn scalar_multiplication_scales_the_plaintext(value in -1_000_000i64..1_000_000, k in -1_000_000i64..1_000_000, seed: u64) {
        let (pk, sk) = plain_key();
        let codec = FixedPoint::new(0).expect("scale");
        let ct = pk.encrypt(&codec.encode(pk, i128::from(value)).expect("small"), &mut rng(seed));
        let scaled = pk.mul_plain(&ct, &Integer::from(k));
        prop_assert_eq!(codec.decode(pk, &sk.decrypt(&scaled)), Ok(i128::from(value) * i128::from(k)));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, rng_seed: RngSeed::Fixed(PROPTEST_SEED), ..ProptestConfig::default() })]

    #[test]
    fn any_three_of_five_shares_decrypt_and_two_do_not(mask in 0u8..32, value: u64, seed: u64) {
        let (tpk, shares) = tkey();
        let pk = tpk.public_key();
        let mut rng = rng(seed);
        let ct = pk.encrypt(&pk.plaintext(&Integer::from(value)).expect("small"), &mut rng);
        let chosen: Vec<DecryptionShare> = shares
            .iter()
            .filter(|s| mask & (1 << (s.index() - 1)) != 0)
            .map(|s| s.decryption_share(&ct, &mut rng).expect("ciphertext under this key"))
            .collect();
        let result = tpk.decrypt(&ct, &chosen);
        if chosen.len() >= 3 {
            prop_assert_eq!(result.expect("enough shares").plaintext.as_integer().clone(), Integer::from(value));
        } else {
            prop_assert_eq!(result.map(|r| r.rejected_holders), Err(PaillierError::NotEnoughShares { valid: chosen.len(), needed: 3 }));
        }
    }

    #[test]
    fn flipped_bit_in_share_or_proof_is_rejected(bit in 16usize..(8 * 800), seed: u64) {
        let (tpk, shares) = tkey();
        let pk = tpk.public_key();
        let mut rng = rng(seed);
        let ct = pk.encrypt(&pk.plaintext(&Integer::from(99u32)).expect("small"), &mut rng);
        let share = shares[1].decryption_share(&ct, &mut rng).expect("ciphertext under this key");
        let mut bytes = share.to_bytes(tpk);
        let bit = bit % (8 * bytes.len() - 16) + 16; // leave version and kind intact
        bytes[bit / 8] ^= 1 << (bit % 8);
        // Either the decoder refuses the bytes or the proof fails; never an accepted share.
        let accepted = DecryptionShare::from_bytes(tpk, &bytes)
            .and_then(|s| tpk.verify_share(&ct, &s).map(|_| ()));
        prop_assert!(accepted.is_err(), "tampered share accepted (bit {})", bit);
    }
}

/// One valid encoding of each object type, under the committed keys.
fn encodings() -> &'static [Vec<u8>; 6] {
    static ENCODINGS: OnceLock<[Vec<u8>; 6]> = OnceLock::new();
    ENCODINGS.get_or_init(|| {
        let (pk, sk) = plain_key();
        let (tpk, shares) = tkey();
        let mut rng = rng(40);
        let ct = pk.encrypt(&pk.plaintext(&Integer::from(1)).expect("small"), &mut rng);
        let tct =
            Ciphertext::from_integer(tpk.public_key(), Integer::from(tpk.public_key().n() + 1u32))
                .expect("1 + n");
        [
            ct.to_bytes(pk),
            pk.to_bytes(),
            sk.to_bytes().to_vec(),
            tpk.to_bytes(),
            shares[0].to_bytes().to_vec(),
            shares[0]
                .decryption_share(&tct, &mut rng)
                .expect("ciphertext under this key")
                .to_bytes(tpk),
        ]
    })
}

/// Decodes `bytes` as object `which` and returns its re-encoding, or None if refused.
fn decode_and_reencode(which: usize, bytes: &[u8]) -> Option<Vec<u8>> {
    let (pk, _) = plain_key();
    let (tpk, _) = tkey();
    match which {
        0 => Ciphertext::from_bytes(pk, bytes)
            .ok()
            .map(|c| c.to_bytes(pk)),
        1 => PublicKey::from_bytes(bytes).ok().map(|k| k.to_bytes()),
        2 => SecretKey::from_bytes(bytes)
            .ok()
            .map(|k| k.to_bytes().to_vec()),
        3 => ThresholdPublicKey::from_bytes(bytes)
            .ok()
            .map(|k| k.to_bytes()),
        4 => KeyShare::from_bytes(bytes)
            .ok()
            .map(|k| k.to_bytes().to_vec()),
        _ => DecryptionShare::from_bytes(tpk, bytes)
            .ok()
            .map(|s| s.to_bytes(tpk)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, rng_seed: RngSeed::Fixed(PROPTEST_SEED), ..ProptestConfig::default() })]

    #[test]
    fn decoders_refuse_or_canonically_accept_mutated_encodings(
        which in 0usize..6,
        position: proptest::sample::Index,
        byte: u8,
        mutation in 0u8..3,
    ) {
        let original = &encodings()[which];
        prop_assert_eq!(decode_and_reencode(which, original), Some(original.clone()));
        let mut bytes = original.clone();
        match mutation {
            0 => bytes[position.index(original.len())] = byte,
            1 => bytes.truncate(position.index(original.len())),
            _ => bytes.push(byte),
        }
        if let Some(reencoded) = decode_and_reencode(which, &bytes) {
            prop_assert_eq!(reencoded, bytes, "accepted bytes must be the canonical encoding");
        }
    }
}
