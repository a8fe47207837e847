//! Linkable ring signatures: round trips at every signer position, linkability within and
//! only within a context, strict decoding, every error, limits and the known-answer vector.

mod common;
use common::assert_vectors;

use medchain_crypto::ring::{
    CONTEXT_SIZE_MAX_BYTES, KeyImage, PreparedRing, RING_SIZE_MAX_MEMBERS, RING_SIZE_MIN_MEMBERS,
    Ring, RingError, RingPublicKey, RingSecretKey, RingSignature, sign, verify,
};
use medchain_crypto::rng::{SeededRng, seeded_u64};
use proptest::prelude::*;

const STUDY: &[u8] = b"study:2026-cardiology-042";

fn keys(rng: &mut SeededRng, count: usize) -> Vec<RingSecretKey> {
    (0..count).map(|_| RingSecretKey::generate(rng)).collect()
}

fn ring_of(secrets: &[RingSecretKey]) -> Ring {
    Ring::new(secrets.iter().map(RingSecretKey::public_key).collect()).unwrap()
}

/// A seeded test fixture; prints the seed so a failure can be replayed.
fn fixture(seed: u64, count: usize) -> (SeededRng, Vec<RingSecretKey>, Ring) {
    println!("ring fixture seed {seed}");
    let mut rng = seeded_u64(seed);
    let secrets = keys(&mut rng, count);
    let ring = ring_of(&secrets);
    (rng, secrets, ring)
}

#[test]
fn every_member_can_sign_and_the_signature_verifies() {
    for count in [2, 3, 7, 16] {
        let (mut rng, secrets, ring) = fixture(count as u64, count);
        for secret in &secrets {
            let signature = sign(&mut rng, secret, &ring, STUDY, b"contribution").unwrap();
            assert_eq!(verify(&ring, STUDY, b"contribution", &signature), Ok(()));
            assert_eq!(signature.ring_size(), count);
        }
    }
}

#[test]
fn same_key_in_same_context_links() {
    let (mut rng, secrets, ring) = fixture(1, 5);
    let first = sign(&mut rng, &secrets[2], &ring, STUDY, b"first").unwrap();
    let second = sign(&mut rng, &secrets[2], &ring, STUDY, b"second").unwrap();
    let other = sign(&mut rng, &secrets[3], &ring, STUDY, b"first").unwrap();
    assert!(first.links_to(&second));
    assert!(!first.links_to(&other));
    assert_ne!(first.to_bytes(), second.to_bytes());
}

#[test]
fn a_study_can_refuse_a_second_contribution_by_key_image() {
    let (mut rng, secrets, ring) = fixture(14, 4);
    let mut seen = std::collections::BTreeSet::new();
    let mut accepted = 0;
    for signer in [0, 2, 0, 3, 2] {
        let signature = sign(&mut rng, &secrets[signer], &ring, STUDY, b"value").unwrap();
        verify(&ring, STUDY, b"value", &signature).unwrap();
        if seen.insert(*signature.key_image()) {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 3);
    assert_eq!(seen.len(), 3);
}

#[test]
fn same_key_in_two_contexts_does_not_link() {
    let (mut rng, secrets, ring) = fixture(2, 5);
    let study_a = sign(&mut rng, &secrets[0], &ring, b"study:a", b"m").unwrap();
    let study_b = sign(&mut rng, &secrets[0], &ring, b"study:b", b"m").unwrap();
    assert_eq!(verify(&ring, b"study:a", b"m", &study_a), Ok(()));
    assert_eq!(verify(&ring, b"study:b", b"m", &study_b), Ok(()));
    assert!(!study_a.links_to(&study_b));
}

#[test]
fn signature_is_bound_to_message_context_ring_and_order() {
    let (mut rng, secrets, ring) = fixture(3, 4);
    let signature = sign(&mut rng, &secrets[1], &ring, STUDY, b"value=7").unwrap();
    assert_eq!(
        verify(&ring, STUDY, b"value=8", &signature),
        Err(RingError::InvalidSignature)
    );
    assert_eq!(
        verify(&ring, b"study:other", b"value=7", &signature),
        Err(RingError::InvalidSignature)
    );
    let mut reordered: Vec<RingPublicKey> = ring.members().to_vec();
    reordered.swap(0, 3);
    let reordered = Ring::new(reordered).unwrap();
    assert_eq!(
        verify(&reordered, STUDY, b"value=7", &signature),
        Err(RingError::InvalidSignature)
    );
    let mut rng2 = seeded_u64(99);
    let mut replaced: Vec<RingPublicKey> = ring.members().to_vec();
    replaced[2] = RingSecretKey::generate(&mut rng2).public_key();
    let replaced = Ring::new(replaced).unwrap();
    assert_eq!(
        verify(&replaced, STUDY, b"value=7", &signature),
        Err(RingError::InvalidSignature)
    );
}

#[test]
fn signature_bytes_round_trip() {
    let (mut rng, secrets, ring) = fixture(4, 3);
    let signature = sign(&mut rng, &secrets[0], &ring, STUDY, b"m").unwrap();
    let bytes = signature.to_bytes();
    assert_eq!(bytes.len(), 32 * (2 + 3));
    let decoded = RingSignature::from_bytes(&bytes).unwrap();
    assert_eq!(decoded, signature);
    assert_eq!(verify(&ring, STUDY, b"m", &decoded), Ok(()));
    assert_eq!(Ring::from_bytes(&ring.to_bytes()).unwrap(), ring);
}

#[test]
fn prepared_ring_verifies_like_the_plain_function() {
    let (mut rng, secrets, ring) = fixture(13, 6);
    let prepared = PreparedRing::new(ring.clone(), STUDY).unwrap();
    for secret in &secrets {
        let signature = sign(&mut rng, secret, &ring, STUDY, b"m").unwrap();
        assert_eq!(prepared.verify(b"m", &signature), Ok(()));
        assert_eq!(
            prepared.verify(b"other", &signature),
            Err(RingError::InvalidSignature)
        );
    }
    let elsewhere = sign(&mut rng, &secrets[0], &ring, b"study:other", b"m").unwrap();
    assert_eq!(
        prepared.verify(b"m", &elsewhere),
        Err(RingError::InvalidSignature)
    );
    let too_long = vec![0u8; CONTEXT_SIZE_MAX_BYTES + 1];
    assert_eq!(
        PreparedRing::new(ring, &too_long).unwrap_err(),
        RingError::ContextTooLarge {
            got_bytes: CONTEXT_SIZE_MAX_BYTES + 1
        }
    );
}

#[test]
fn signer_outside_the_ring_is_refused() {
    let (mut rng, _secrets, ring) = fixture(5, 3);
    let outsider = RingSecretKey::generate(&mut rng);
    assert_eq!(
        sign(&mut rng, &outsider, &ring, STUDY, b"m").unwrap_err(),
        RingError::SignerNotInRing
    );
}

#[test]
fn ring_size_limits_are_enforced() {
    let mut rng = seeded_u64(6);
    let secrets = keys(&mut rng, RING_SIZE_MAX_MEMBERS + 1);
    let publics: Vec<RingPublicKey> = secrets.iter().map(RingSecretKey::public_key).collect();
    assert_eq!(
        Ring::new(publics[..RING_SIZE_MIN_MEMBERS - 1].to_vec()).unwrap_err(),
        RingError::RingTooSmall { members: 1 }
    );
    assert_eq!(
        Ring::new(publics.clone()).unwrap_err(),
        RingError::RingTooLarge {
            members: RING_SIZE_MAX_MEMBERS + 1
        }
    );
    let largest = Ring::new(publics[..RING_SIZE_MAX_MEMBERS].to_vec()).unwrap();
    let signature = sign(
        &mut rng,
        &secrets[RING_SIZE_MAX_MEMBERS - 1],
        &largest,
        STUDY,
        b"m",
    )
    .unwrap();
    assert_eq!(verify(&largest, STUDY, b"m", &signature), Ok(()));
    let too_many = vec![1u8; 32 * (RING_SIZE_MAX_MEMBERS + 1 + 2)];
    assert_eq!(
        RingSignature::from_bytes(&too_many).unwrap_err(),
        RingError::RingTooLarge {
            members: RING_SIZE_MAX_MEMBERS + 1
        }
    );
    assert_eq!(
        RingSignature::from_bytes(&[0u8; 32 * 3]).unwrap_err(),
        RingError::RingTooSmall { members: 1 }
    );
}

#[test]
fn context_size_limit_is_enforced() {
    let (mut rng, secrets, ring) = fixture(7, 2);
    let longest = vec![b'c'; CONTEXT_SIZE_MAX_BYTES];
    let signature = sign(&mut rng, &secrets[0], &ring, &longest, b"m").unwrap();
    assert_eq!(verify(&ring, &longest, b"m", &signature), Ok(()));
    let too_long = vec![b'c'; CONTEXT_SIZE_MAX_BYTES + 1];
    let expected = RingError::ContextTooLarge {
        got_bytes: CONTEXT_SIZE_MAX_BYTES + 1,
    };
    assert_eq!(
        sign(&mut rng, &secrets[0], &ring, &too_long, b"m").unwrap_err(),
        expected
    );
    assert_eq!(
        verify(&ring, &too_long, b"m", &signature).unwrap_err(),
        expected
    );
}

#[test]
fn duplicate_members_are_refused() {
    let (_, secrets, _) = fixture(8, 3);
    let mut publics: Vec<RingPublicKey> = secrets.iter().map(RingSecretKey::public_key).collect();
    publics.push(publics[1]);
    assert_eq!(
        Ring::new(publics).unwrap_err(),
        RingError::DuplicateMember { index: 3 }
    );
}

#[test]
fn ring_size_mismatch_is_reported() {
    let (mut rng, secrets, ring) = fixture(9, 3);
    let signature = sign(&mut rng, &secrets[0], &ring, STUDY, b"m").unwrap();
    let smaller = ring_of(&secrets[..2]);
    assert_eq!(
        verify(&smaller, STUDY, b"m", &signature).unwrap_err(),
        RingError::RingSizeMismatch {
            ring: 2,
            signature: 3
        }
    );
}

/// The group order ℓ = 2^252 + 27742317777372353535851937790883648493, little-endian.
const GROUP_ORDER: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

#[test]
fn non_canonical_and_identity_encodings_are_refused() {
    let identity = [0u8; 32];
    assert_eq!(
        RingPublicKey::from_bytes(&identity).unwrap_err(),
        RingError::IdentityPoint {
            what: "ring public key"
        }
    );
    assert_eq!(
        KeyImage::from_bytes(&identity).unwrap_err(),
        RingError::IdentityPoint { what: "key image" }
    );
    // A negative field element (odd low bit) is never a canonical ristretto255 encoding.
    let mut negative = [0u8; 32];
    negative[0] = 1;
    assert_eq!(
        RingPublicKey::from_bytes(&negative).unwrap_err(),
        RingError::NonCanonicalPoint {
            what: "ring public key"
        }
    );
    let high_bit = [0xffu8; 32];
    assert_eq!(
        RingPublicKey::from_bytes(&high_bit).unwrap_err(),
        RingError::NonCanonicalPoint {
            what: "ring public key"
        }
    );
    assert_eq!(
        RingSecretKey::from_bytes(&GROUP_ORDER).unwrap_err(),
        RingError::NonCanonicalScalar {
            what: "ring secret key"
        }
    );
    assert_eq!(
        RingSecretKey::from_bytes(&[0u8; 32]).unwrap_err(),
        RingError::ZeroSecretKey
    );
    assert_eq!(
        RingSecretKey::from_uniform_bytes(&[0u8; 64]).unwrap_err(),
        RingError::ZeroSecretKey
    );
}

#[test]
fn non_canonical_signature_scalars_are_refused() {
    let (mut rng, secrets, ring) = fixture(10, 2);
    let bytes = sign(&mut rng, &secrets[0], &ring, STUDY, b"m")
        .unwrap()
        .to_bytes();
    let mut bad_challenge = bytes.clone();
    bad_challenge[32..64].copy_from_slice(&GROUP_ORDER);
    assert_eq!(
        RingSignature::from_bytes(&bad_challenge).unwrap_err(),
        RingError::NonCanonicalScalar {
            what: "signature challenge"
        }
    );
    let mut bad_response = bytes.clone();
    bad_response[96..128].copy_from_slice(&GROUP_ORDER);
    assert_eq!(
        RingSignature::from_bytes(&bad_response).unwrap_err(),
        RingError::NonCanonicalScalar {
            what: "signature response"
        }
    );
    assert!(matches!(
        RingSignature::from_bytes(&bytes[..bytes.len() - 1]).unwrap_err(),
        RingError::BadLength {
            what: "ring signature",
            got_bytes: 127,
            ..
        }
    ));
    assert!(matches!(
        Ring::from_bytes(&[0u8; 33]).unwrap_err(),
        RingError::BadLength { what: "ring", .. }
    ));
}

#[test]
fn secret_key_debug_output_hides_the_key() {
    let secret = RingSecretKey::from_bytes(&[7u8; 32]).unwrap();
    let shown = format!("{secret:?}");
    assert_eq!(shown, "RingSecretKey(<redacted>)");
}

/// Secret keys 1..=4 (as little-endian scalars), signer index 2, nonces from ChaCha20 seeded
/// with 32 bytes of 0x5a.
#[test]
fn known_answer_vector_matches() {
    let secrets: Vec<RingSecretKey> = (1u8..=4)
        .map(|i| {
            let mut bytes = [0u8; 32];
            bytes[0] = i;
            RingSecretKey::from_bytes(&bytes).unwrap()
        })
        .collect();
    let ring = ring_of(&secrets);
    let mut rng = medchain_crypto::rng::seeded([0x5a; 32]);
    let (context, message) = (b"study:kat", b"medchain ring signature test vector");
    let signature = sign(&mut rng, &secrets[2], &ring, context, message).unwrap();
    assert_eq!(verify(&ring, context, message, &signature), Ok(()));
    let computed = serde_json::json!({
        "scheme": "bLSAG over ristretto255, medchain v1 transcript",
        "secret_keys_le": secrets.iter().map(|s| hex::encode(*s.to_bytes())).collect::<Vec<_>>(),
        "ring": ring.members().iter().map(|m| hex::encode(m.to_bytes())).collect::<Vec<_>>(),
        "signer_index": 2,
        "rng": "ChaCha20Rng seeded with 32 bytes 0x5a",
        "context": String::from_utf8_lossy(context),
        "message": String::from_utf8_lossy(message),
        "key_image": hex::encode(signature.key_image().to_bytes()),
        "signature": hex::encode(signature.to_bytes()),
    });
    assert_vectors("ring_blsag_v1.json", computed);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_signer_position_round_trips(seed in any::<u64>(), count in 2usize..12, pick in any::<usize>()) {
        let (mut rng, secrets, ring) = fixture(seed, count);
        let signer = pick % count;
        let signature = sign(&mut rng, &secrets[signer], &ring, STUDY, &seed.to_le_bytes()).unwrap();
        prop_assert_eq!(verify(&ring, STUDY, &seed.to_le_bytes(), &signature), Ok(()));
        let decoded = RingSignature::from_bytes(&signature.to_bytes()).unwrap();
        prop_assert_eq!(decoded, signature);
    }

    #[test]
    fn any_flipped_bit_is_rejected(bit in 0usize..(32 * 6 * 8)) {
        let (mut rng, secrets, ring) = fixture(12, 4);
        let mut bytes = sign(&mut rng, &secrets[1], &ring, STUDY, b"m").unwrap().to_bytes();
        bytes[bit / 8] ^= 1 << (bit % 8);
        let outcome = RingSignature::from_bytes(&bytes).and_then(|s| verify(&ring, STUDY, b"m", &s));
        prop_assert!(outcome.is_err());
    }

    #[test]
    fn whatever_decodes_is_canonical(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(signature) = RingSignature::from_bytes(&bytes) {
            prop_assert_eq!(signature.to_bytes(), bytes.clone());
        }
        if let Ok(ring) = Ring::from_bytes(&bytes) {
            prop_assert_eq!(ring.to_bytes(), bytes);
        }
    }
}
