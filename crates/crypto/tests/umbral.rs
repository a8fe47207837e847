//! Behaviour of the Umbral module: threshold decapsulation, strict decoders, tamper detection,
//! limits, secret hygiene. Randomness comes from seeded ChaCha20 RNGs; the seed is printed.

use medchain_crypto::umbral::*;
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn rng(seed: u64) -> ChaCha20Rng {
    println!("rng seed = {seed}");
    ChaCha20Rng::seed_from_u64(seed)
}

struct Grant {
    delegating_sk: SecretKey,
    receiving_sk: SecretKey,
    signer: Signer,
    capsule: Capsule,
    seed: KeySeed,
    kfrags: Vec<VerifiedKeyFrag>,
}

impl Grant {
    fn new(rng: &mut ChaCha20Rng, threshold: usize, shares: usize) -> Self {
        let delegating_sk = SecretKey::random(rng);
        let receiving_sk = SecretKey::random(rng);
        let signer = Signer::new(&SecretKey::random(rng));
        let (capsule, seed) = encapsulate(rng, &delegating_sk.public_key()).unwrap();
        let params = KeyFragParams {
            threshold,
            shares,
            sign_delegating_key: true,
            sign_receiving_key: true,
        };
        let kfrags = generate_kfrags(
            rng,
            &delegating_sk,
            &receiving_sk.public_key(),
            &signer,
            params,
        )
        .unwrap();
        Self {
            delegating_sk,
            receiving_sk,
            signer,
            capsule,
            seed,
            kfrags,
        }
    }

    fn cfrags(&self, rng: &mut ChaCha20Rng) -> Vec<VerifiedCapsuleFrag> {
        self.kfrags
            .iter()
            .map(|kfrag| reencrypt(rng, &self.capsule, kfrag).unwrap())
            .collect()
    }

    fn open(&self, cfrags: &[VerifiedCapsuleFrag]) -> Result<KeySeed, UmbralError> {
        let delegating_pk = self.delegating_sk.public_key();
        decapsulate_reencrypted(&self.receiving_sk, &delegating_pk, &self.capsule, cfrags)
    }

    fn verify_cfrag(&self, bytes: &[u8]) -> Result<VerifiedCapsuleFrag, UmbralError> {
        CapsuleFrag::from_bytes(bytes)?.verify(
            &self.capsule,
            &self.signer.verifying_key(),
            &self.delegating_sk.public_key(),
            &self.receiving_sk.public_key(),
        )
    }

    fn verify_kfrag(&self, bytes: &[u8]) -> Result<VerifiedKeyFrag, UmbralError> {
        KeyFrag::from_bytes(bytes)?.verify(
            &self.signer.verifying_key(),
            Some(&self.delegating_sk.public_key()),
            Some(&self.receiving_sk.public_key()),
        )
    }
}

#[test]
fn parameter_u_is_hash_to_curve_of_point_u() {
    use k256::elliptic_curve::group::GroupEncoding;
    use k256::hash2curve::{ExpandMsgXmd, hash_from_bytes};
    let point = hash_from_bytes::<k256::Secp256k1, ExpandMsgXmd<k256::sha2::Sha256>>(
        &[b"POINT_U"],
        &[b"PARAMETERS"],
    )
    .unwrap();
    assert_eq!(
        point.to_affine().to_bytes().as_slice(),
        PARAMETER_U_BYTES.as_slice()
    );
}

#[test]
fn original_owner_opens_own_capsule_and_decrypts() {
    let mut rng = rng(1);
    let sk = SecretKey::random(&mut rng);
    let (capsule, seed) = encapsulate(&mut rng, &sk.public_key()).unwrap();
    assert_eq!(decapsulate_original(&sk, &capsule).unwrap(), seed);
    let (capsule, ciphertext) = encrypt(&mut rng, &sk.public_key(), b"blood type O+").unwrap();
    assert_eq!(
        ciphertext.len(),
        13 + DEM_NONCE_SIZE_BYTES + DEM_TAG_SIZE_BYTES
    );
    assert_eq!(
        decrypt_original(&sk, &capsule, &ciphertext).unwrap(),
        b"blood type O+"
    );
}

#[test]
fn other_key_cannot_decrypt_original() {
    let mut rng = rng(2);
    let owner = SecretKey::random(&mut rng);
    let stranger = SecretKey::random(&mut rng);
    let (capsule, ciphertext) = encrypt(&mut rng, &owner.public_key(), b"record").unwrap();
    assert_eq!(
        decrypt_original(&stranger, &capsule, &ciphertext),
        Err(UmbralError::DecryptionFailed)
    );
}

#[test]
fn objects_have_umbral_pre_sizes_and_round_trip() {
    let mut rng = rng(3);
    let grant = Grant::new(&mut rng, 2, 3);
    let cfrags = grant.cfrags(&mut rng);
    let capsule_bytes = grant.capsule.to_bytes();
    assert_eq!(capsule_bytes.len(), CAPSULE_SIZE_BYTES);
    assert_eq!(Capsule::from_bytes(&capsule_bytes).unwrap(), grant.capsule);
    let kfrag_bytes = grant.kfrags[0].to_bytes();
    assert_eq!(kfrag_bytes.len(), KFRAG_SIZE_BYTES);
    assert_eq!(
        &kfrag_bytes[..8],
        &[0x95, 0x91, 0xc4, 0x21, 0x03, 0x07, 0x93, 0x90]
    );
    assert_eq!(grant.verify_kfrag(&kfrag_bytes).unwrap(), grant.kfrags[0]);
    let cfrag_bytes = cfrags[0].to_bytes();
    assert_eq!(cfrag_bytes.len(), CFRAG_SIZE_BYTES);
    assert_eq!(cfrags[0].to_bytes_simple().len(), CFRAG_SIMPLE_SIZE_BYTES);
    assert_eq!(grant.verify_cfrag(&cfrag_bytes).unwrap(), cfrags[0]);
}

#[test]
fn threshold_of_cfrags_recovers_the_key_seed() {
    let mut rng = rng(4);
    let grant = Grant::new(&mut rng, 3, 5);
    let cfrags = grant.cfrags(&mut rng);
    assert_eq!(grant.open(&cfrags[1..4]).unwrap(), grant.seed);
    assert_eq!(
        grant.open(&cfrags).unwrap(),
        grant.seed,
        "more than t fragments also open"
    );
}

#[test]
fn fewer_than_threshold_cfrags_fail_with_key_check_error() {
    let mut rng = rng(5);
    let grant = Grant::new(&mut rng, 3, 5);
    let cfrags = grant.cfrags(&mut rng);
    assert_eq!(
        grant.open(&cfrags[..2]),
        Err(UmbralError::ReencryptedKeyCheckFailed { cfrags_count: 2 })
    );
    assert_eq!(grant.open(&[]), Err(UmbralError::NoCapsuleFrags));
}

#[test]
fn repeated_cfrag_is_refused() {
    let mut rng = rng(6);
    let grant = Grant::new(&mut rng, 2, 3);
    let cfrags = grant.cfrags(&mut rng);
    let again = reencrypt(&mut rng, &grant.capsule, &grant.kfrags[0]).unwrap();
    assert_eq!(
        grant.open(&[cfrags[0], again]),
        Err(UmbralError::RepeatedCapsuleFrags)
    );
}

#[test]
fn cfrags_of_two_grants_do_not_mix() {
    let mut rng = rng(7);
    let grant = Grant::new(&mut rng, 2, 3);
    let params = KeyFragParams {
        threshold: 2,
        shares: 3,
        sign_delegating_key: true,
        sign_receiving_key: true,
    };
    let other_kfrags = generate_kfrags(
        &mut rng,
        &grant.delegating_sk,
        &grant.receiving_sk.public_key(),
        &grant.signer,
        params,
    )
    .unwrap();
    let mine = reencrypt(&mut rng, &grant.capsule, &grant.kfrags[0]).unwrap();
    let other = reencrypt(&mut rng, &grant.capsule, &other_kfrags[1]).unwrap();
    assert_eq!(
        grant.open(&[mine, other]),
        Err(UmbralError::MismatchedCapsuleFrags)
    );
}

#[test]
fn cfrag_for_another_capsule_fails_verification() {
    let mut rng = rng(8);
    let grant = Grant::new(&mut rng, 2, 3);
    let (other_capsule, _) = encapsulate(&mut rng, &grant.delegating_sk.public_key()).unwrap();
    let cfrag = reencrypt(&mut rng, &other_capsule, &grant.kfrags[0]).unwrap();
    assert_eq!(
        grant.verify_cfrag(&cfrag.to_bytes()),
        Err(UmbralError::CapsuleFragProofInvalid)
    );
}

#[test]
fn cfrag_checked_against_wrong_keys_is_refused() {
    let mut rng = rng(24);
    let grant = Grant::new(&mut rng, 2, 3);
    let cfrag = reencrypt(&mut rng, &grant.capsule, &grant.kfrags[0])
        .unwrap()
        .unverify();
    let stranger = SecretKey::random(&mut rng).public_key();
    let check = |verifying: &PublicKey, delegating: &PublicKey, receiving: &PublicKey| {
        cfrag
            .verify(&grant.capsule, verifying, delegating, receiving)
            .map(|_| ())
    };
    let (verifying_pk, delegating_pk, receiving_pk) = (
        grant.signer.verifying_key(),
        grant.delegating_sk.public_key(),
        grant.receiving_sk.public_key(),
    );
    let refused = Err(UmbralError::CapsuleFragSignatureInvalid);
    assert_eq!(check(&stranger, &delegating_pk, &receiving_pk), refused);
    assert_eq!(check(&verifying_pk, &stranger, &receiving_pk), refused);
    assert_eq!(check(&verifying_pk, &delegating_pk, &stranger), refused);
    assert_eq!(check(&verifying_pk, &delegating_pk, &receiving_pk), Ok(()));
}

#[test]
fn another_receiver_cannot_open_reencrypted_capsule() {
    let mut rng = rng(25);
    let grant = Grant::new(&mut rng, 2, 3);
    let cfrags = grant.cfrags(&mut rng);
    let eavesdropper = SecretKey::random(&mut rng);
    let opened = decapsulate_reencrypted(
        &eavesdropper,
        &grant.delegating_sk.public_key(),
        &grant.capsule,
        &cfrags[..2],
    );
    assert_eq!(
        opened,
        Err(UmbralError::ReencryptedKeyCheckFailed { cfrags_count: 2 })
    );
}

#[test]
fn reencrypted_payload_decrypts_for_the_receiver() {
    let mut rng = rng(26);
    let delegating_sk = SecretKey::random(&mut rng);
    let receiving_sk = SecretKey::random(&mut rng);
    let signer = Signer::new(&SecretKey::random(&mut rng));
    let (capsule, ciphertext) =
        encrypt(&mut rng, &delegating_sk.public_key(), b"HbA1c 6.1%").unwrap();
    let params = KeyFragParams {
        threshold: 2,
        shares: 4,
        sign_delegating_key: false,
        sign_receiving_key: true,
    };
    let kfrags = generate_kfrags(
        &mut rng,
        &delegating_sk,
        &receiving_sk.public_key(),
        &signer,
        params,
    )
    .unwrap();
    let cfrags: Vec<_> = kfrags[2..]
        .iter()
        .map(|k| reencrypt(&mut rng, &capsule, k).unwrap())
        .collect();
    let plaintext = decrypt_reencrypted(
        &receiving_sk,
        &delegating_sk.public_key(),
        &capsule,
        &cfrags,
        &ciphertext,
    );
    assert_eq!(plaintext.unwrap(), b"HbA1c 6.1%");
}

#[test]
fn kfrag_verification_needs_the_signed_keys() {
    let mut rng = rng(9);
    let grant = Grant::new(&mut rng, 2, 3);
    let kfrag = grant.kfrags[0].clone().unverify();
    let verifying_pk = grant.signer.verifying_key();
    let delegating_pk = grant.delegating_sk.public_key();
    let receiving_pk = grant.receiving_sk.public_key();
    assert_eq!(
        kfrag
            .clone()
            .verify(&verifying_pk, None, Some(&receiving_pk)),
        Err(UmbralError::DelegatingKeyNotProvided)
    );
    assert_eq!(
        kfrag
            .clone()
            .verify(&verifying_pk, Some(&delegating_pk), None),
        Err(UmbralError::ReceivingKeyNotProvided)
    );
    assert_eq!(
        kfrag.verify(&receiving_pk, Some(&delegating_pk), Some(&receiving_pk)),
        Err(UmbralError::KeyFragSignatureInvalid)
    );
}

#[test]
fn unsigned_keys_may_be_omitted_when_verifying_a_kfrag() {
    let mut rng = rng(10);
    let delegating_sk = SecretKey::random(&mut rng);
    let receiving_pk = SecretKey::random(&mut rng).public_key();
    let signer = Signer::new(&SecretKey::random(&mut rng));
    let params = KeyFragParams {
        threshold: 1,
        shares: 1,
        sign_delegating_key: false,
        sign_receiving_key: false,
    };
    let kfrags = generate_kfrags(&mut rng, &delegating_sk, &receiving_pk, &signer, params).unwrap();
    let kfrag = KeyFrag::from_bytes(&kfrags[0].to_bytes()).unwrap();
    assert_eq!(
        kfrag.verify(&signer.verifying_key(), None, None).unwrap(),
        kfrags[0]
    );
}

#[test]
fn threshold_and_shares_are_range_checked() {
    let mut rng = rng(11);
    let delegating_sk = SecretKey::random(&mut rng);
    let receiving_pk = SecretKey::random(&mut rng).public_key();
    let signer = Signer::new(&SecretKey::random(&mut rng));
    let mut attempt = |threshold, shares| {
        let params = KeyFragParams {
            threshold,
            shares,
            sign_delegating_key: true,
            sign_receiving_key: true,
        };
        generate_kfrags(&mut rng, &delegating_sk, &receiving_pk, &signer, params).map(|k| k.len())
    };
    let out_of_range = |threshold, shares| UmbralError::ThresholdOutOfRange {
        threshold,
        shares,
        max_shares: KFRAG_SHARES_MAX_COUNT,
    };
    assert_eq!(attempt(0, 3), Err(out_of_range(0, 3)));
    assert_eq!(attempt(4, 3), Err(out_of_range(4, 3)));
    assert_eq!(
        attempt(2, KFRAG_SHARES_MAX_COUNT + 1),
        Err(out_of_range(2, KFRAG_SHARES_MAX_COUNT + 1))
    );
    assert_eq!(attempt(1, 1), Ok(1));
    assert_eq!(
        attempt(2, KFRAG_SHARES_MAX_COUNT),
        Ok(KFRAG_SHARES_MAX_COUNT)
    );
}

#[test]
fn more_cfrags_than_the_limit_are_refused() {
    let mut rng = rng(12);
    let grant = Grant::new(&mut rng, 1, 1);
    let cfrag = reencrypt(&mut rng, &grant.capsule, &grant.kfrags[0]).unwrap();
    let too_many = vec![cfrag; KFRAG_SHARES_MAX_COUNT + 1];
    assert_eq!(
        grant.open(&too_many),
        Err(UmbralError::TooManyCapsuleFrags {
            count: KFRAG_SHARES_MAX_COUNT + 1,
            max_count: KFRAG_SHARES_MAX_COUNT
        })
    );
}

#[test]
fn dem_plaintext_limit_is_enforced() {
    let mut rng = rng(13);
    let sk = SecretKey::random(&mut rng);
    let at_limit = vec![7u8; DEM_PLAINTEXT_MAX_BYTES];
    let (capsule, ciphertext) = encrypt(&mut rng, &sk.public_key(), &at_limit).unwrap();
    assert_eq!(
        decrypt_original(&sk, &capsule, &ciphertext).unwrap(),
        at_limit
    );
    let over = vec![7u8; DEM_PLAINTEXT_MAX_BYTES + 1];
    assert_eq!(
        encrypt(&mut rng, &sk.public_key(), &over).unwrap_err(),
        UmbralError::PlaintextTooLarge {
            plaintext_bytes: DEM_PLAINTEXT_MAX_BYTES + 1,
            max_bytes: DEM_PLAINTEXT_MAX_BYTES
        }
    );
    let oversized_ciphertext = vec![0u8; DEM_PLAINTEXT_MAX_BYTES + 41];
    assert!(matches!(
        decrypt_original(&sk, &capsule, &oversized_ciphertext),
        Err(UmbralError::PlaintextTooLarge { .. })
    ));
    assert_eq!(
        decrypt_original(&sk, &capsule, &[0u8; 39]),
        Err(UmbralError::CiphertextTooShort {
            ciphertext_bytes: 39,
            min_bytes: 40
        })
    );
}

/// Flips every bit of `bytes` and requires `accept` to refuse each variant.
fn every_bit_flip_is_rejected<T>(bytes: &[u8], accept: impl Fn(&[u8]) -> Result<T, UmbralError>) {
    let mut copy = bytes.to_vec();
    for index in 0..bytes.len() * 8 {
        copy[index / 8] ^= 1 << (index % 8);
        assert!(accept(&copy).is_err(), "bit {index} flipped was accepted");
        copy[index / 8] ^= 1 << (index % 8);
    }
    assert!(
        accept(&copy).is_ok(),
        "the untouched encoding must still be accepted"
    );
}

#[test]
fn flipped_bit_anywhere_in_capsule_is_rejected() {
    let mut rng = rng(14);
    let grant = Grant::new(&mut rng, 1, 1);
    every_bit_flip_is_rejected(&grant.capsule.to_bytes(), Capsule::from_bytes);
}

#[test]
fn flipped_bit_anywhere_in_kfrag_is_rejected() {
    let mut rng = rng(15);
    let grant = Grant::new(&mut rng, 2, 3);
    every_bit_flip_is_rejected(&grant.kfrags[1].to_bytes(), |bytes| {
        grant.verify_kfrag(bytes)
    });
}

#[test]
fn flipped_bit_anywhere_in_cfrag_is_rejected() {
    let mut rng = rng(16);
    let grant = Grant::new(&mut rng, 2, 3);
    let cfrag = reencrypt(&mut rng, &grant.capsule, &grant.kfrags[2]).unwrap();
    every_bit_flip_is_rejected(&cfrag.to_bytes(), |bytes| grant.verify_cfrag(bytes));
}

#[test]
fn flipped_bit_anywhere_in_ciphertext_is_rejected() {
    let mut rng = rng(17);
    let sk = SecretKey::random(&mut rng);
    let (capsule, ciphertext) =
        encrypt(&mut rng, &sk.public_key(), b"allergy: penicillin").unwrap();
    every_bit_flip_is_rejected(&ciphertext, |bytes| decrypt_original(&sk, &capsule, bytes));
}

#[test]
fn trailing_bytes_and_lenient_msgpack_forms_are_refused() {
    let mut rng = rng(18);
    let grant = Grant::new(&mut rng, 1, 1);
    let mut bytes = grant.capsule.to_bytes();
    bytes.push(0);
    assert_eq!(
        Capsule::from_bytes(&bytes),
        Err(UmbralError::TrailingBytes {
            what: "capsule",
            trailing_bytes: 1
        })
    );
    // bin16 for E, which rmp-serde would accept.
    let mut bin16 = vec![0x93, 0xc5, 0x00, 0x21];
    bin16.extend_from_slice(&grant.capsule.to_bytes()[3..]);
    assert!(matches!(
        Capsule::from_bytes(&bin16),
        Err(UmbralError::MalformedEncoding {
            what: "capsule",
            offset_bytes: 2,
            ..
        })
    ));
    let truncated = &grant.capsule.to_bytes()[..CAPSULE_SIZE_BYTES - 1];
    assert!(matches!(
        Capsule::from_bytes(truncated),
        Err(UmbralError::Truncated { .. })
    ));
}

#[test]
fn public_key_decoder_accepts_only_compressed_non_identity_points() {
    let mut rng = rng(19);
    let pk = SecretKey::random(&mut rng).public_key();
    let bytes = pk.to_compressed_bytes();
    assert_eq!(PublicKey::from_compressed_bytes(&bytes).unwrap(), pk);
    assert_eq!(
        PublicKey::from_compressed_bytes(&[0u8; 33]),
        Err(UmbralError::InvalidPoint { what: "public key" })
    );
    assert_eq!(
        PublicKey::from_compressed_bytes(&[0u8]),
        Err(UmbralError::InvalidLength {
            what: "public key",
            expected_bytes: 33,
            actual_bytes: 1
        })
    );
    let mut uncompressed_prefix = bytes;
    uncompressed_prefix[0] = 0x04;
    assert_eq!(
        PublicKey::from_compressed_bytes(&uncompressed_prefix),
        Err(UmbralError::InvalidPoint { what: "public key" })
    );
    // x = p (the field modulus) is a non-canonical encoding of x = 0.
    let mut non_canonical_x = [0x02u8; 33];
    non_canonical_x[1..33].copy_from_slice(
        &hex::decode("fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f").unwrap(),
    );
    assert_eq!(
        PublicKey::from_compressed_bytes(&non_canonical_x),
        Err(UmbralError::InvalidPoint { what: "public key" })
    );
}

const ORDER_HEX: &str = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";

#[test]
fn secret_key_decoder_refuses_zero_and_non_canonical_scalars() {
    let order = hex::decode(ORDER_HEX).unwrap();
    assert_eq!(
        SecretKey::from_be_bytes(&order).unwrap_err(),
        UmbralError::NonCanonicalScalar { what: "secret key" }
    );
    assert_eq!(
        SecretKey::from_be_bytes(&[0u8; 32]).unwrap_err(),
        UmbralError::ZeroScalar { what: "secret key" }
    );
    let mut one = [0u8; 32];
    one[31] = 1;
    let sk = SecretKey::from_be_bytes(&one).unwrap();
    assert_eq!(*sk.to_be_bytes(), one);
}

#[test]
fn capsule_with_non_canonical_s_is_refused() {
    let mut rng = rng(20);
    let grant = Grant::new(&mut rng, 1, 1);
    let mut bytes = grant.capsule.to_bytes();
    bytes[CAPSULE_SIZE_BYTES - 32..].copy_from_slice(&hex::decode(ORDER_HEX).unwrap());
    assert_eq!(
        Capsule::from_bytes(&bytes),
        Err(UmbralError::NonCanonicalScalar {
            what: "capsule signature s"
        })
    );
}

/// Adds one to the big-endian scalar at `bytes[range]` (the test scalars are far below n − 1).
fn increment_scalar(bytes: &mut [u8]) {
    use k256::elliptic_curve::PrimeField;
    let current: [u8; 32] = bytes.try_into().unwrap();
    let scalar = Option::<k256::Scalar>::from(k256::Scalar::from_repr(current.into())).unwrap();
    bytes.copy_from_slice(&(scalar + k256::Scalar::ONE).to_repr());
}

#[test]
fn forged_capsule_fails_self_check() {
    let mut rng = rng(27);
    let grant = Grant::new(&mut rng, 1, 1);
    let mut bytes = grant.capsule.to_bytes();
    increment_scalar(&mut bytes[CAPSULE_SIZE_BYTES - 32..]);
    assert_eq!(
        Capsule::from_bytes(&bytes),
        Err(UmbralError::CapsuleCheckFailed)
    );
    let mut swapped = grant.capsule.to_bytes();
    swapped.copy_within(3..36, 38);
    assert_eq!(
        Capsule::from_bytes(&swapped),
        Err(UmbralError::CapsuleCheckFailed)
    );
}

#[test]
fn cfrag_with_altered_proof_response_is_refused() {
    let mut rng = rng(28);
    let grant = Grant::new(&mut rng, 2, 3);
    let cfrag = reencrypt(&mut rng, &grant.capsule, &grant.kfrags[0]).unwrap();
    let mut bytes = cfrag.to_bytes();
    // z3 sits just before the 64-byte signature and its 2-byte bin8 header.
    let z3_start = CFRAG_SIZE_BYTES - 66 - 32;
    increment_scalar(&mut bytes[z3_start..z3_start + 32]);
    assert_eq!(
        grant.verify_cfrag(&bytes),
        Err(UmbralError::CapsuleFragProofInvalid)
    );
}

#[test]
fn kfrag_with_altered_key_fails_commitment_check() {
    let mut rng = rng(29);
    let grant = Grant::new(&mut rng, 2, 3);
    let mut bytes = grant.kfrags[0].to_bytes();
    // key: after fixarray, params [U] (36), id (34), and its own 2-byte header.
    increment_scalar(&mut bytes[73..105]);
    assert_eq!(
        grant.verify_kfrag(&bytes),
        Err(UmbralError::KeyFragCommitmentMismatch)
    );
}

#[test]
fn kfrag_with_foreign_parameter_point_is_refused() {
    let mut rng = rng(21);
    let grant = Grant::new(&mut rng, 1, 1);
    let mut bytes = grant.kfrags[0].to_bytes();
    let other_point = SecretKey::random(&mut rng)
        .public_key()
        .to_compressed_bytes();
    bytes[4..37].copy_from_slice(&other_point);
    assert_eq!(
        KeyFrag::from_bytes(&bytes),
        Err(UmbralError::ParameterMismatch)
    );
}

#[test]
fn high_s_signature_is_refused() {
    let mut rng = rng(22);
    let signer = Signer::new(&SecretKey::random(&mut rng));
    let signature = signer.sign(b"consent grant");
    assert!(signature.verify(&signer.verifying_key(), b"consent grant"));
    let bytes = signature.to_be_bytes();
    let order = k256::U256::from_be_hex(ORDER_HEX);
    let s = k256::U256::from_be_slice(&bytes[32..]);
    let mut high = bytes;
    high[32..].copy_from_slice(&order.wrapping_sub(&s).to_be_bytes());
    assert_eq!(
        Signature::from_be_bytes(&high),
        Err(UmbralError::HighSSignature)
    );
}

#[test]
fn secrets_are_not_debug_printed() {
    let mut rng = rng(23);
    let grant = Grant::new(&mut rng, 1, 1);
    let sk_hex = hex::encode(grant.delegating_sk.to_be_bytes().as_ref());
    assert_eq!(
        format!("{:?}", grant.delegating_sk),
        "SecretKey(<redacted>)"
    );
    assert_eq!(format!("{:?}", grant.seed), "KeySeed(<redacted>)");
    let kfrag_debug = format!("{:?}", grant.kfrags[0]);
    let kfrag_key_hex = hex::encode(&grant.kfrags[0].to_bytes()[73..105]);
    assert!(kfrag_debug.contains("<redacted>"));
    assert!(!kfrag_debug.contains(&kfrag_key_hex));
    assert!(!format!("{:?}", grant.signer).contains(&sk_hex));
}

#[test]
fn key_factory_refuses_bad_seeds_and_long_labels() {
    assert_eq!(
        SecretKeyFactory::from_secure_randomness(&[1u8; 31]).unwrap_err(),
        UmbralError::InvalidLength {
            what: "secret key factory seed",
            expected_bytes: SECRET_KEY_FACTORY_SEED_SIZE_BYTES,
            actual_bytes: 31
        }
    );
    let factory = SecretKeyFactory::from_secure_randomness(&[1u8; 32]).unwrap();
    let at_limit = vec![b'x'; KEY_LABEL_MAX_BYTES];
    let over = vec![b'x'; KEY_LABEL_MAX_BYTES + 1];
    let too_long = UmbralError::LabelTooLong {
        label_bytes: KEY_LABEL_MAX_BYTES + 1,
        max_bytes: KEY_LABEL_MAX_BYTES,
    };
    assert!(factory.make_key(&at_limit).is_ok());
    assert_eq!(factory.make_key(&over).unwrap_err(), too_long);
    assert_eq!(factory.make_secret(&over).unwrap_err(), too_long);
    assert_eq!(factory.make_factory(&over).unwrap_err(), too_long);
    assert_eq!(format!("{factory:?}"), "SecretKeyFactory(<redacted>)");
}

#[test]
fn key_factory_labels_separate_keys() {
    let factory = SecretKeyFactory::from_secure_randomness(&[9u8; 32]).unwrap();
    let first = factory.make_key(b"pseudonym/hospital-1").unwrap();
    let again = factory.make_key(b"pseudonym/hospital-1").unwrap();
    let other = factory.make_key(b"pseudonym/hospital-2").unwrap();
    assert_eq!(first.public_key(), again.public_key());
    assert_ne!(first.public_key(), other.public_key());
}

#[test]
fn zeroize_wipes_secret_key_and_key_seed() {
    use zeroize::Zeroize;
    let mut rng = rng(30);
    let mut sk = SecretKey::random(&mut rng);
    let (_, mut seed) = encapsulate(&mut rng, &sk.public_key()).unwrap();
    sk.zeroize();
    seed.zeroize();
    assert_eq!(*sk.to_be_bytes(), [0u8; 32]);
    assert_eq!(*seed.as_bytes(), [0u8; 33]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn any_t_of_n_cfrags_open_and_t_minus_one_do_not(
        seed in any::<u64>(),
        (threshold, shares, picks) in (1usize..=5).prop_flat_map(|shares| (1..=shares, Just(shares)))
            .prop_flat_map(|(threshold, shares)| {
                (Just(threshold), Just(shares), Just((0..shares).collect::<Vec<_>>()).prop_shuffle())
            }),
    ) {
        let mut rng = rng(seed);
        let grant = Grant::new(&mut rng, threshold, shares);
        let cfrags = grant.cfrags(&mut rng);
        let chosen: Vec<_> = picks.iter().map(|&i| cfrags[i]).collect();
        prop_assert_eq!(grant.open(&chosen[..threshold]).unwrap(), grant.seed.clone());
        let expected = if threshold == 1 {
            UmbralError::NoCapsuleFrags
        } else {
            UmbralError::ReencryptedKeyCheckFailed { cfrags_count: threshold - 1 }
        };
        prop_assert_eq!(grant.open(&chosen[..threshold - 1]).unwrap_err(), expected);
    }

    #[test]
    fn substituted_bytes_in_a_cfrag_are_rejected(
        seed in any::<u64>(),
        edits in proptest::collection::vec((0usize..CFRAG_SIZE_BYTES, 1u8..=255), 1..4),
    ) {
        let mut rng = rng(seed);
        let grant = Grant::new(&mut rng, 1, 1);
        let cfrag = reencrypt(&mut rng, &grant.capsule, &grant.kfrags[0]).unwrap();
        let mut bytes = cfrag.to_bytes();
        for (index, delta) in edits {
            bytes[index] = bytes[index].wrapping_add(delta);
        }
        prop_assume!(bytes != cfrag.to_bytes());
        prop_assert!(grant.verify_cfrag(&bytes).is_err());
    }

    #[test]
    fn decoders_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        prop_assert!(Capsule::from_bytes(&bytes).is_err() || bytes.len() == CAPSULE_SIZE_BYTES);
        prop_assert!(KeyFrag::from_bytes(&bytes).is_err() || bytes.len() == KFRAG_SIZE_BYTES);
        prop_assert!(CapsuleFrag::from_bytes(&bytes).is_err() || bytes.len() == CFRAG_SIZE_BYTES);
        prop_assert!(PublicKey::from_compressed_bytes(&bytes).is_err() || bytes.len() == 33);
        prop_assert!(Signature::from_be_bytes(&bytes).is_err() || bytes.len() == 64);
    }
}
