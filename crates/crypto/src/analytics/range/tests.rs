use super::*;
use crate::analytics::elgamal::tests::test_key;
use crate::rng::seeded_u64;
use proptest::prelude::*;

const CHAIN: &[u8] = b"medchain-test";
const STUDY: &[u8] = b"study:hba1c-2026";
const IMAGE: [u8; 32] = [7u8; 32];

fn context() -> ProofContext<'static> {
    ProofContext {
        chain_id: CHAIN,
        study_id: STUDY,
        key_image: Some(&IMAGE),
    }
}

fn prove_and_verify(seed: u64, lo: u64, hi: u64, value: u64) -> Result<(), AnalyticsError> {
    let (_, key) = test_key(seed);
    let range = Range::new(lo, hi)?;
    let mut rng = seeded_u64(seed ^ 0xabc);
    let (ciphertext, proof) = RangeProof::encrypt(&mut rng, &key, value, &range, &context())?;
    let decoded = RangeProof::from_bytes(&proof.to_bytes(), &range)?;
    assert_eq!(decoded, proof, "the proof round-trips through its encoding");
    decoded.verify(&mut rng, &key, &ciphertext, &range, &context())
}

#[test]
fn values_in_range_prove_and_verify_at_both_ends() {
    for (lo, hi) in [(0, 65535), (5, 100), (7, 7), (0, 1), (1000, 1255), (40, 41)] {
        for value in [lo, hi, lo + (hi - lo) / 2] {
            assert_eq!(
                prove_and_verify(11, lo, hi, value),
                Ok(()),
                "[{lo}, {hi}] value {value}"
            );
        }
    }
}

#[test]
fn a_16_bit_range_needs_one_decomposition_and_other_ranges_two() {
    assert_eq!(Range::new(0, 65535).unwrap().bit_proofs(), 16);
    assert_eq!(Range::new(0, 65535).unwrap().proof_size_bytes(), 6528);
    assert_eq!(Range::new(5, 100).unwrap().bit_proofs(), 14);
    assert_eq!(
        Range::new(5, 100).unwrap().proof_size_bytes(),
        14 * 384 + 512
    );
    assert_eq!(
        Range::new(0, (1 << RANGE_BITS_MAX) - 2)
            .unwrap()
            .proof_size_bytes(),
        PROOF_SIZE_MAX_BYTES
    );
    assert_eq!(Range::new(7, 7).unwrap().bit_proofs(), 2);
}

#[test]
fn declared_ranges_are_checked() {
    assert_eq!(
        Range::new(10, 9),
        Err(AnalyticsError::BadRange { lo: 10, hi: 9 })
    );
    assert!(Range::new(0, (1 << RANGE_BITS_MAX) - 1).is_ok());
    assert_eq!(
        Range::new(0, 1 << RANGE_BITS_MAX),
        Err(AnalyticsError::BadRange {
            lo: 0,
            hi: 1 << RANGE_BITS_MAX
        })
    );
}

#[test]
fn a_value_out_of_range_cannot_be_proved() {
    for (lo, hi, value) in [(0, 100, 101), (5, 100, 4), (0, 65535, 65536)] {
        assert_eq!(
            prove_and_verify(12, lo, hi, value),
            Err(AnalyticsError::ValueOutOfRange { value, lo, hi })
        );
    }
}

/// A prover that skips the range check: the bits of an out-of-range value cannot open to the
/// ciphertext's value (or, two-sided, add up to the range's width), so the verifier refuses.
#[test]
fn a_proof_of_an_out_of_range_value_is_refused() {
    let (_, key) = test_key(13);
    let mut rng = seeded_u64(13);
    for (lo, hi, value) in [
        (0, 100, 120),
        (0, 255, 300),
        (50, 60, 49),
        (0, 100, 100 + (1 << 7)),
    ] {
        let range = Range::new(lo, hi).unwrap();
        let (ciphertext, opening) = Ciphertext::encrypt(&mut rng, &key, value);
        let proof = prove_unchecked(
            &mut rng,
            &key,
            &ciphertext,
            value,
            &opening.randomness,
            &range,
            &context(),
        );
        assert_eq!(
            proof.verify(&mut rng, &key, &ciphertext, &range, &context()),
            Err(AnalyticsError::InvalidRangeProof),
            "[{lo}, {hi}] value {value}"
        );
    }
}

/// A commitment point in wire form, back as a group element (test helper).
fn g1(point: &WirePoint) -> G1 {
    crate::analytics::elgamal::decode_point(&point.to_compressed(), "test point").unwrap()
}

/// The strongest cheat: bits that do add up to 256 in an 8-bit range, because one "bit"
/// commits to 2. Its disjunctive proof cannot hold for either branch.
#[test]
fn a_bit_that_is_neither_zero_nor_one_is_refused() {
    let (_, key) = test_key(14);
    let mut rng = seeded_u64(14);
    let range = Range::new(0, 255).unwrap();
    let (ciphertext, opening) = Ciphertext::encrypt(&mut rng, &key, 255);
    let honest =
        RangeProof::prove(&mut rng, &key, &ciphertext, &opening, &range, &context()).unwrap();
    // Bit 0 of 255 is 1; make it commit to 2 with the same blinding: the sum becomes 256.
    let mut forged = honest.clone();
    let two = g1(&forged.bits[0].commitment) + &G1::generator();
    forged.bits[0].commitment = WirePoint::from_g1(&two);
    let target = ciphertext.add_plain(1);
    assert_eq!(
        forged.verify(&mut rng, &key, &target, &range, &context()),
        Err(AnalyticsError::InvalidRangeProof)
    );
    assert_eq!(
        honest.verify(&mut rng, &key, &ciphertext, &range, &context()),
        Ok(())
    );
}

#[test]
fn a_range_proof_for_another_study_chain_or_contributor_is_refused() {
    let (_, key) = test_key(15);
    let mut rng = seeded_u64(15);
    let range = Range::new(0, 65535).unwrap();
    let (ciphertext, proof) =
        RangeProof::encrypt(&mut rng, &key, 4242, &range, &context()).unwrap();
    let other_image = [8u8; 32];
    let others = [
        ProofContext {
            study_id: b"study:other",
            ..context()
        },
        ProofContext {
            chain_id: b"medchain-other",
            ..context()
        },
        ProofContext {
            key_image: Some(&other_image),
            ..context()
        },
        ProofContext {
            key_image: None,
            ..context()
        },
    ];
    for other in others {
        assert_eq!(
            proof.verify(&mut rng, &key, &ciphertext, &range, &other),
            Err(AnalyticsError::InvalidRangeProof),
            "{other:?}"
        );
    }
    assert_eq!(
        proof.verify(&mut rng, &key, &ciphertext, &range, &context()),
        Ok(())
    );
}

#[test]
fn a_range_proof_for_another_ciphertext_key_or_range_is_refused() {
    let (_, key) = test_key(16);
    let (_, other_key) = test_key(17);
    let mut rng = seeded_u64(16);
    let range = Range::new(0, 65535).unwrap();
    let (ciphertext, proof) = RangeProof::encrypt(&mut rng, &key, 9, &range, &context()).unwrap();
    let (other, _) = Ciphertext::encrypt(&mut rng, &key, 9);
    assert_eq!(
        proof.verify(&mut rng, &key, &other, &range, &context()),
        Err(AnalyticsError::InvalidRangeProof)
    );
    assert_eq!(
        proof.verify(&mut rng, &other_key, &ciphertext, &range, &context()),
        Err(AnalyticsError::InvalidRangeProof)
    );
    let wider = Range::new(0, 65534).unwrap();
    assert_eq!(
        proof.verify(&mut rng, &key, &ciphertext, &wider, &context()),
        Err(AnalyticsError::InvalidRangeProof),
        "a proof for another range has the wrong number of bits"
    );
    let shifted = Range::new(1, 65536).unwrap();
    assert_eq!(
        proof.verify(&mut rng, &key, &ciphertext, &shifted, &context()),
        Err(AnalyticsError::InvalidRangeProof),
        "a proof for a range of the same width elsewhere"
    );
}

#[test]
fn tampered_scalars_points_or_reordered_bits_are_refused() {
    let (_, key) = test_key(18);
    let mut rng = seeded_u64(18);
    let range = Range::new(3, 90).unwrap();
    let (ciphertext, proof) = RangeProof::encrypt(&mut rng, &key, 50, &range, &context()).unwrap();
    let one = Scalar::from_u64(1);
    let generator = WirePoint::from_g1(&G1::generator());
    let tampers: [fn(&mut BitProof, &Scalar, &WirePoint); 5] = [
        |bit, one, _| bit.c0 += one,
        |bit, one, _| bit.z0 += one,
        |bit, one, _| bit.z1 += one,
        |bit, _, g| bit.a0 = *g,
        |bit, _, g| bit.commitment = *g,
    ];
    for (which, tamper) in tampers.iter().enumerate() {
        for index in [0, 3, proof.bits.len() - 1] {
            let mut forged = proof.clone();
            tamper(&mut forged.bits[index], &one, &generator);
            assert_eq!(
                forged.verify(&mut rng, &key, &ciphertext, &range, &context()),
                Err(AnalyticsError::InvalidRangeProof),
                "tamper {which} at bit {index}"
            );
        }
    }
    let link_tampers: [fn(&mut LinkProof, &Scalar, &WirePoint); 6] = [
        |link, one, _| link.s_randomness += one,
        |link, one, _| link.s_value += one,
        |link, one, _| link.s_blinding += one,
        |link, _, g| link.ciphertext = *g,
        |link, _, g| link.complement.as_mut().unwrap().0 = *g,
        |link, one, _| link.complement.as_mut().unwrap().1 += one,
    ];
    for (which, tamper) in link_tampers.iter().enumerate() {
        let mut forged = proof.clone();
        tamper(&mut forged.link, &one, &generator);
        assert_eq!(
            forged.verify(&mut rng, &key, &ciphertext, &range, &context()),
            Err(AnalyticsError::InvalidRangeProof),
            "link tamper {which}"
        );
    }
    let mut swapped = proof.clone();
    swapped.bits.swap(1, 2);
    assert_eq!(
        swapped.verify(&mut rng, &key, &ciphertext, &range, &context()),
        Err(AnalyticsError::InvalidRangeProof)
    );
    let mut halves = proof.clone();
    halves.bits.rotate_left(range.bits as usize);
    assert_eq!(
        halves.verify(&mut rng, &key, &ciphertext, &range, &context()),
        Err(AnalyticsError::InvalidRangeProof),
        "the lower and upper decompositions swapped"
    );
}

/// A point carrying a torsion component decodes (the verifier skips the subgroup check) but is
/// refused, by every verifier, whatever its random weights.
#[test]
fn a_proof_point_outside_g1_is_refused_by_every_verifier() {
    let (_, key) = test_key(21);
    let mut rng = seeded_u64(21);
    let range = Range::new(0, 255).unwrap();
    let (ciphertext, proof) = RangeProof::encrypt(&mut rng, &key, 77, &range, &context()).unwrap();
    let mut forged = proof.clone();
    forged.bits[2].a1 = crate::analytics::wire::tests::with_torsion(&forged.bits[2].a1);
    let decoded = RangeProof::from_bytes(&forged.to_bytes(), &range).unwrap();
    assert_eq!(decoded, forged);
    for seed in 0..8 {
        assert_eq!(
            decoded.verify(&mut seeded_u64(seed), &key, &ciphertext, &range, &context()),
            Err(AnalyticsError::InvalidRangeProof),
            "verifier seed {seed}"
        );
    }
    assert_eq!(
        proof.verify(&mut rng, &key, &ciphertext, &range, &context()),
        Ok(())
    );
}

#[test]
fn the_proof_codec_refuses_malformed_bytes() {
    let (_, key) = test_key(19);
    let mut rng = seeded_u64(19);
    let range = Range::new(0, 255).unwrap();
    let (_, proof) = RangeProof::encrypt(&mut rng, &key, 200, &range, &context()).unwrap();
    let bytes = proof.to_bytes();
    assert_eq!(bytes.len(), range.proof_size_bytes());
    assert_eq!(
        RangeProof::from_bytes(&bytes[1..], &range),
        Err(AnalyticsError::BadLength {
            what: "range proof",
            got_bytes: bytes.len() - 1,
            expected_bytes: 8 * BIT_PROOF_SIZE_BYTES + LINK_PROOF_SIZE_BYTES
        })
    );
    let mut high_scalar = bytes.clone();
    high_scalar[3 * WIRE_POINT_SIZE_BYTES..][..SCALAR_SIZE_BYTES].fill(0xff);
    assert_eq!(
        RangeProof::from_bytes(&high_scalar, &range),
        Err(AnalyticsError::InvalidScalar {
            what: "bit proof challenge"
        })
    );
    let mut identity = bytes.clone();
    identity[WIRE_POINT_SIZE_BYTES..][..WIRE_POINT_SIZE_BYTES].fill(0);
    identity[WIRE_POINT_SIZE_BYTES] = 0x40;
    assert_eq!(
        RangeProof::from_bytes(&identity, &range),
        Err(AnalyticsError::InvalidProofPoint {
            what: "bit proof commitment"
        })
    );
    let mut off_curve = bytes.clone();
    off_curve[8 * BIT_PROOF_SIZE_BYTES + WIRE_POINT_SIZE_BYTES - 1] ^= 1;
    assert_eq!(
        RangeProof::from_bytes(&off_curve, &range),
        Err(AnalyticsError::InvalidProofPoint {
            what: "link commitment"
        })
    );
    let mut compressed_flag = bytes.clone();
    compressed_flag[0] |= 0x80;
    assert_eq!(
        RangeProof::from_bytes(&compressed_flag, &range),
        Err(AnalyticsError::InvalidProofPoint {
            what: "bit commitment"
        })
    );
}

#[test]
fn a_batch_verifies_many_proofs_and_one_bad_proof_fails_it() {
    let (_, key) = test_key(20);
    let mut rng = seeded_u64(20);
    let range = Range::new(0, 65535).unwrap();
    let images: Vec<[u8; 32]> = (0..6u8).map(|i| [i; 32]).collect();
    let contexts: Vec<ProofContext<'_>> = images
        .iter()
        .map(|image| ProofContext {
            key_image: Some(image),
            ..context()
        })
        .collect();
    let contributions: Vec<(Ciphertext, RangeProof)> = contexts
        .iter()
        .enumerate()
        .map(|(i, ctx)| RangeProof::encrypt(&mut rng, &key, 1000 * i as u64, &range, ctx).unwrap())
        .collect();
    let statements: Vec<RangeStatement<'_>> = contributions
        .iter()
        .zip(&contexts)
        .map(|((ciphertext, proof), context)| RangeStatement {
            key: &key,
            ciphertext,
            range: &range,
            context: *context,
            proof,
        })
        .collect();
    assert_eq!(verify_batch(&mut rng, &statements), Ok(()));
    let mut bad = contributions[3].1.clone();
    bad.bits[5].z1 += &Scalar::from_u64(1);
    let mut with_bad = statements.clone();
    with_bad[3].proof = &bad;
    assert_eq!(
        verify_batch(&mut rng, &with_bad),
        Err(AnalyticsError::InvalidRangeProof)
    );
    let mut crossed = statements.clone();
    crossed[2].context = contexts[4];
    assert_eq!(
        verify_batch(&mut rng, &crossed),
        Err(AnalyticsError::InvalidRangeProof),
        "a proof checked under another contributor's key image fails the batch"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn any_value_of_any_range_proves_and_verifies(lo in 0u64..1 << 40, width in 0u64..1 << 12, at in 0u64..1 << 12, seed: u64) {
        let value = lo + at % (width + 1);
        prop_assert_eq!(prove_and_verify(seed, lo, lo + width, value), Ok(()));
    }

    #[test]
    fn a_flipped_byte_never_verifies(position in 0usize..4 * BIT_PROOF_SIZE_BYTES + LINK_PROOF_SIZE_BYTES, flip in 1u8..=255, seed: u64) {
        let (_, key) = test_key(seed);
        let mut rng = seeded_u64(seed);
        let range = Range::new(0, 15).unwrap();
        let (ciphertext, proof) = RangeProof::encrypt(&mut rng, &key, 9, &range, &context()).unwrap();
        let mut bytes = proof.to_bytes();
        bytes[position] ^= flip;
        let outcome = RangeProof::from_bytes(&bytes, &range)
            .and_then(|forged| forged.verify(&mut rng, &key, &ciphertext, &range, &context()));
        prop_assert!(outcome.is_err());
    }
}
