//! Decoders, limits and failure paths: every bound is hit, every malformed input gets its error.

#[path = "vectors/paillier_support.rs"]
mod support;

use medchain_crypto::paillier::threshold::{
    DecryptionShare, HOLDERS_MAX_COUNT, KeyShare, ThresholdPublicKey, dealer_keygen_from_parts,
    dealer_keygen_with_primes,
};
use medchain_crypto::paillier::{
    Ciphertext, FIXED_POINT_SCALE_MAX_DIGITS, FixedPoint, Integer, MODULUS_SIZE_MAX_BITS,
    MODULUS_SIZE_MIN_BITS, PaillierError, PublicKey, SecretKey, keygen, magnitude_max,
};
use support::{int, key, rng, threshold_key, vectors};

fn sample_ciphertext(pk: &PublicKey) -> Ciphertext {
    pk.encrypt(
        &pk.plaintext(&Integer::from(5)).expect("small"),
        &mut rng(3),
    )
}

#[test]
fn ciphertext_not_below_n_squared_is_rejected() {
    let (pk, _) = key();
    assert_eq!(
        Ciphertext::from_integer(&pk, pk.n_squared().clone()),
        Err(PaillierError::CiphertextOutOfRange)
    );
    assert_eq!(
        Ciphertext::from_integer(&pk, Integer::new()),
        Err(PaillierError::CiphertextOutOfRange)
    );
    let mut bytes = vec![1, 3];
    bytes.extend(vec![0xff; 2 * 128]); // 2^2048 − 1 > n²
    assert_eq!(
        Ciphertext::from_bytes(&pk, &bytes),
        Err(PaillierError::CiphertextOutOfRange)
    );
}

#[test]
fn ciphertext_sharing_a_factor_with_n_is_rejected() {
    let (pk, _) = key();
    let p = int(&vectors()["p"]);
    assert_eq!(
        Ciphertext::from_integer(&pk, p),
        Err(PaillierError::CiphertextNotUnit)
    );
}

#[test]
fn ciphertext_of_wrong_length_version_or_kind_is_rejected() {
    let (pk, _) = key();
    let good = sample_ciphertext(&pk).to_bytes(&pk);
    assert_eq!(good.len(), 2 + 256);
    let err = |b: &[u8]| Ciphertext::from_bytes(&pk, b).unwrap_err();
    assert_eq!(
        err(&good[..good.len() - 1]),
        PaillierError::WrongLength {
            what: "Paillier ciphertext",
            expected: 258,
            found: 257
        }
    );
    let mut padded = good.clone();
    padded.push(0);
    assert!(matches!(
        err(&padded),
        PaillierError::WrongLength { found: 259, .. }
    ));
    let mut version = good.clone();
    version[0] = 2;
    assert!(matches!(
        err(&version),
        PaillierError::UnsupportedVersion {
            found: 2,
            expected: 1,
            ..
        }
    ));
    let mut kind = good.clone();
    kind[1] = 1;
    assert!(matches!(
        err(&kind),
        PaillierError::WrongKind {
            found: 1,
            expected: 3,
            ..
        }
    ));
}

#[test]
fn public_and_secret_keys_round_trip_canonically() {
    let (pk, sk) = key();
    let pk_bytes = pk.to_bytes();
    assert_eq!(pk_bytes.len(), 2 + 2 + 2 * 128);
    assert_eq!(PublicKey::from_bytes(&pk_bytes), Ok(pk.clone()));
    let mut trailing = pk_bytes.clone();
    trailing.push(0);
    assert!(matches!(
        PublicKey::from_bytes(&trailing),
        Err(PaillierError::Malformed { .. })
    ));

    let sk_bytes = sk.to_bytes();
    let decoded = SecretKey::from_bytes(&sk_bytes).expect("round trip");
    let ct = sample_ciphertext(&pk);
    assert_eq!(decoded.decrypt(&ct).as_integer(), &Integer::from(5));
    assert_eq!(decoded.public_key(), &pk);
}

#[test]
fn secret_key_with_a_composite_factor_is_rejected() {
    let (_, sk) = key();
    let mut bytes = sk.to_bytes().to_vec();
    bytes[2 + 2 + 63] ^= 0x02; // flips a bit of p: p ± 2 is no longer the prime
    assert_eq!(
        SecretKey::from_bytes(&bytes).map(|_| ()),
        Err(PaillierError::InvalidKey {
            reason: "p and q must be primes without leading zero bytes"
        })
    );
}

#[test]
fn debug_output_never_shows_secret_material() {
    let (pk, sk) = key();
    let p_hex = int(&vectors()["p"]).to_string_radix(16);
    let shown = format!("{sk:?}");
    assert!(!shown.contains(&p_hex[..12]), "{shown}");
    assert!(shown.contains("redacted"));
    let pt = pk.plaintext(&Integer::from(123_456_789)).expect("small");
    assert_eq!(format!("{pt:?}"), "Plaintext(<redacted>)");
    let (_, shares) = threshold_key();
    assert_eq!(
        format!("{:?}", shares[0]),
        "KeyShare(index 1, secret <redacted>)"
    );
}

#[test]
fn modulus_sizes_outside_the_limits_are_rejected() {
    let mut rng = rng(4);
    let below = MODULUS_SIZE_MIN_BITS - 2;
    let above = MODULUS_SIZE_MAX_BITS + 2;
    for bits in [below, above] {
        assert_eq!(
            keygen(bits, &mut rng).map(|_| ()),
            Err(PaillierError::ModulusSize {
                bits,
                min: 1024,
                max: 4096
            })
        );
    }
    // A decoded key whose modulus has 1016 bits.
    let mut bytes = vec![1, 1, 0, 127];
    bytes.extend(std::iter::once(0x80).chain(std::iter::repeat_n(0x01, 126)));
    bytes.extend(std::iter::repeat_n(0, 126).chain([0, 2]));
    assert_eq!(
        PublicKey::from_bytes(&bytes),
        Err(PaillierError::ModulusSize {
            bits: 1016,
            min: 1024,
            max: 4096
        })
    );
    // A length field above the 4096-bit maximum is refused before any integer is parsed.
    let huge = [1u8, 1, 0x02, 0x01];
    assert!(matches!(
        PublicKey::from_bytes(&huge),
        Err(PaillierError::Malformed { .. })
    ));
}

#[test]
fn keygen_at_the_minimum_size_gives_an_exact_size_working_key() {
    let mut rng = rng(5);
    let (pk, sk) = keygen(MODULUS_SIZE_MIN_BITS, &mut rng).expect("keygen");
    assert_eq!(pk.modulus_bits(), 1024);
    let ct = pk.encrypt(&pk.plaintext(&Integer::from(77)).expect("small"), &mut rng);
    assert_eq!(sk.decrypt(&ct).as_integer(), &Integer::from(77));
}

#[test]
fn fixed_point_scale_limit_is_enforced() {
    assert!(FixedPoint::new(FIXED_POINT_SCALE_MAX_DIGITS).is_ok());
    assert_eq!(
        FixedPoint::new(FIXED_POINT_SCALE_MAX_DIGITS + 1),
        Err(PaillierError::ScaleTooLarge { scale: 39, max: 38 })
    );
}

#[test]
fn fixed_point_values_beyond_a_third_of_n_are_refused_and_overflowed_sums_detected() {
    let (pk, sk) = key();
    let codec = FixedPoint::new(0).expect("scale");
    let max = magnitude_max(&pk);
    assert!(codec.encode_integer(&pk, &max).is_ok());
    let above = Integer::from(&max + 1u32);
    assert!(matches!(
        codec.encode_integer(&pk, &above),
        Err(PaillierError::FixedPointOverflow { .. })
    ));
    let mut rng = rng(6);
    let big = pk.encrypt(
        &codec.encode_integer(&pk, &max).expect("at the limit"),
        &mut rng,
    );
    let sum = pk.add(&big, &big);
    assert_eq!(
        codec.decode_integer(&pk, &sk.decrypt(&sum)),
        Err(PaillierError::Overflow)
    );
}

#[test]
fn fixed_point_floats_round_to_the_scale_and_non_finite_inputs_are_refused() {
    let (pk, sk) = key();
    let codec = FixedPoint::new(2).expect("scale");
    let mut rng = rng(7);
    let a = pk.encrypt(&codec.encode_f64(&pk, 36.6).expect("finite"), &mut rng);
    let b = pk.encrypt(&codec.encode_f64(&pk, -0.125).expect("finite"), &mut rng);
    let total = sk.decrypt(&pk.add(&a, &b));
    assert_eq!(codec.decode(&pk, &total), Ok(3647)); // 3660 + (−13): −12.5 rounds away from zero
    assert_eq!(codec.decode_f64(&pk, &total), Ok(36.47));
    assert!(matches!(
        codec.encode_f64(&pk, f64::NAN),
        Err(PaillierError::NotRepresentable { .. })
    ));
    assert!(matches!(
        codec.encode_f64(&pk, 1e300),
        Err(PaillierError::NotRepresentable { .. })
    ));
}

#[test]
fn threshold_parameters_outside_the_limits_are_rejected() {
    let v = vectors();
    let (p, q) = (int(&v["p"]), int(&v["q"]));
    let mut rng = rng(8);
    for (k, l) in [(0, 4), (5, 4), (2, HOLDERS_MAX_COUNT + 1)] {
        assert_eq!(
            dealer_keygen_with_primes(p.clone(), q.clone(), k, l, &mut rng).map(|_| ()),
            Err(PaillierError::ThresholdParameters {
                threshold: k,
                holders: l,
                max: 64
            })
        );
    }
    let (tpk, shares) =
        dealer_keygen_with_primes(p, q, 2, HOLDERS_MAX_COUNT, &mut rng).expect("64 holders");
    assert_eq!((tpk.holders(), shares.len()), (64, 64));
    let ct = sample_ciphertext(tpk.public_key());
    let pair = [
        shares[0]
            .decryption_share(&ct, &mut rng)
            .expect("ciphertext under this key"),
        shares[63]
            .decryption_share(&ct, &mut rng)
            .expect("ciphertext under this key"),
    ];
    assert_eq!(
        tpk.decrypt(&ct, &pair)
            .expect("2 of 64")
            .plaintext
            .as_integer(),
        &Integer::from(5)
    );
}

#[test]
fn dealer_refuses_primes_that_are_not_safe() {
    let v = vectors();
    let p = int(&v["p"]);
    let not_safe = Integer::from(&p + 2u32).next_prime(); // a prime, but (q − 1)/2 is not (w.h.p.)
    let q1: Integer = Integer::from(&not_safe - 1u32) >> 1;
    assert!(q1.is_probably_prime(30) == rug::integer::IsPrime::No);
    assert_eq!(
        dealer_keygen_with_primes(p, not_safe, 2, 3, &mut rng(9)).map(|_| ()),
        Err(PaillierError::InvalidKey {
            reason: "p and q must be distinct safe primes of equal length"
        })
    );
}

#[test]
fn threshold_key_and_key_share_round_trip_and_a_corrupted_share_is_refused() {
    let (tpk, shares) = threshold_key();
    assert_eq!(
        ThresholdPublicKey::from_bytes(&tpk.to_bytes()),
        Ok(tpk.clone())
    );
    let bytes = shares[2].to_bytes();
    let decoded = KeyShare::from_bytes(&bytes).expect("round trip");
    assert_eq!((decoded.index(), decoded.public_key()), (3, &tpk));
    let mut corrupted = bytes.to_vec();
    let last = corrupted.len() - 1;
    corrupted[last] ^= 1;
    assert_eq!(
        KeyShare::from_bytes(&corrupted).map(|_| ()),
        Err(PaillierError::InvalidKey {
            reason: "the key share does not match its verification key v_i"
        })
    );
}

#[test]
fn decryption_share_with_bad_index_or_length_is_refused() {
    let (tpk, shares) = threshold_key();
    let ct = sample_ciphertext(tpk.public_key());
    let bytes = shares[0]
        .decryption_share(&ct, &mut rng(10))
        .expect("ciphertext under this key")
        .to_bytes(&tpk);
    for index in [0u16, 6] {
        let mut b = bytes.clone();
        b[2..4].copy_from_slice(&index.to_be_bytes());
        assert_eq!(
            DecryptionShare::from_bytes(&tpk, &b).map(|_| ()),
            Err(PaillierError::ShareIndex { index, holders: 5 })
        );
    }
    assert!(matches!(
        DecryptionShare::from_bytes(&tpk, &bytes[..bytes.len() - 1]),
        Err(PaillierError::WrongLength { .. })
    ));
}

#[test]
fn byzantine_share_is_detected_and_excluded_from_the_combination() {
    let v = vectors();
    let mut rng = rng(11);
    let (tpk, shares) =
        dealer_keygen_with_primes(int(&v["p"]), int(&v["q"]), 3, 4, &mut rng).expect("3-of-4");
    let pk = tpk.public_key();
    let ct = pk.encrypt(
        &pk.plaintext(&Integer::from(2026)).expect("small"),
        &mut rng,
    );
    let mut made: Vec<DecryptionShare> = shares
        .iter()
        .map(|s| {
            s.decryption_share(&ct, &mut rng)
                .expect("ciphertext under this key")
        })
        .collect();
    // Holder 1 multiplies its partial decryption by (1 + n) but keeps its proof.
    let mut bytes = made[0].to_bytes(&tpk);
    let len = 2 * 128;
    let value = Integer::from_digits(&bytes[4..4 + len], rug::integer::Order::Msf);
    let forged = (value * (Integer::from(pk.n()) + 1u32)) % pk.n_squared();
    let digits = forged.to_digits::<u8>(rug::integer::Order::Msf);
    bytes[4..4 + len].fill(0);
    bytes[4 + len - digits.len()..4 + len].copy_from_slice(&digits);
    made[0] = DecryptionShare::from_bytes(&tpk, &bytes).expect("well-formed");

    assert_eq!(
        tpk.verify_share(&ct, &made[0]).map(|_| ()),
        Err(PaillierError::InvalidShareProof { index: 1 })
    );
    let result = tpk
        .decrypt(&ct, &made)
        .expect("three honest holders remain");
    assert_eq!(result.plaintext.as_integer(), &Integer::from(2026));
    assert_eq!(result.rejected_holders, vec![1]);
    assert_eq!(
        tpk.decrypt(&ct, &made[..3]).map(|r| r.rejected_holders),
        Err(PaillierError::NotEnoughShares {
            valid: 2,
            needed: 3
        })
    );
}

#[test]
fn combine_refuses_duplicates_and_shares_verified_for_another_ciphertext() {
    let (tpk, shares) = threshold_key();
    let pk = tpk.public_key();
    let mut rng = rng(12);
    let ct = sample_ciphertext(pk);
    let other = pk.encrypt(&pk.plaintext(&Integer::from(6)).expect("small"), &mut rng);
    let verify = |ct: &Ciphertext, i: usize, rng: &mut _| {
        tpk.verify_share(
            ct,
            &shares[i]
                .decryption_share(ct, rng)
                .expect("ciphertext under this key"),
        )
        .expect("honest share")
    };
    let one = verify(&ct, 0, &mut rng);
    let dup = [one.clone(), one.clone(), verify(&ct, 1, &mut rng)];
    assert_eq!(
        tpk.combine(&ct, &dup).map(|_| ()),
        Err(PaillierError::DuplicateShare { index: 1 })
    );
    let mixed = [one, verify(&other, 1, &mut rng), verify(&ct, 2, &mut rng)];
    assert!(matches!(
        tpk.combine(&ct, &mixed),
        Err(PaillierError::Malformed { .. })
    ));
    // A share proven for one ciphertext does not verify for another.
    let share = shares[3]
        .decryption_share(&other, &mut rng)
        .expect("ciphertext under this key");
    assert_eq!(
        tpk.verify_share(&ct, &share).map(|_| ()),
        Err(PaillierError::InvalidShareProof { index: 4 })
    );
}

#[test]
fn dealer_from_parts_needs_exactly_k_minus_1_coefficients() {
    let v = vectors();
    let t = &v["threshold"];
    let result = dealer_keygen_from_parts(
        int(&v["p"]),
        int(&v["q"]),
        int(&v["h"]),
        int(&t["v"]),
        &[],
        3,
        5,
    );
    assert_eq!(
        result.map(|_| ()),
        Err(PaillierError::InvalidKey {
            reason: "a k-of-l key needs exactly k − 1 polynomial coefficients"
        })
    );
}

#[test]
fn encryption_randomness_outside_its_range_is_refused() {
    let (pk, _) = key();
    let m = pk.plaintext(&Integer::from(1)).expect("small");
    let too_long = Integer::from(1) << 512u32; // 513 bits for a 1024-bit key
    assert_eq!(
        pk.encrypt_with_exponent(&m, &too_long).map(|_| ()),
        Err(PaillierError::InvalidExponent { max_bits: 512 })
    );
    let p = int(&vectors()["p"]);
    assert_eq!(
        pk.encrypt_with_nonce(&m, &p).map(|_| ()),
        Err(PaillierError::InvalidNonce)
    );
    assert_eq!(
        pk.encrypt_with_nonce(&m, pk.n()).map(|_| ()),
        Err(PaillierError::InvalidNonce)
    );
    assert_eq!(
        pk.plaintext(pk.n()).map(|_| ()),
        Err(PaillierError::PlaintextOutOfRange)
    );
}
