//! Studies with ε: the validators' encrypted noise shares come before any decryption, each is
//! range-proven and bound to its validator, and the result carries exactly the noise added.

use super::*;
use medchain_crypto::analytics::range::{Range, RangeProof};
use medchain_crypto::analytics::{AnalyticsPublicKey, Ciphertext, ProofContext};
use medchain_types::study::noise_share_tag;

/// HbA1c with every aggregate, released at ε = 1.
fn private_hba1c(deadline_height: u64) -> StudySpec {
    StudySpec {
        epsilon_milli: Some(1_000),
        ..hba1c(deadline_height)
    }
}

impl Lab {
    /// A closed study with ε holding the values 55, 72, 130 (anonymous) and 90, 41 (City Lab).
    fn closed_private_study(&mut self) -> StudyId {
        let (secrets, ring) = cohort(self);
        let id = self.approved(private_hba1c(self.chain.height + 40));
        for (secret, value) in secrets.iter().zip([55, 72, 130]) {
            let payload = self.anonymous(id, &ring, secret, value);
            self.contribute_anonymously(payload).unwrap();
        }
        let city_lab = self.chain.city_lab_admin.clone();
        let payload = self.institutional(id, &[90, 41]);
        self.chain.ok(&city_lab, payload);
        assert_eq!(
            self.close(id),
            Outcome::StudyClosed {
                study: id,
                status: StudyStatus::AddingNoise,
                values: 5
            }
        );
        id
    }

    /// Validator `at`'s noise shares (drawn from `seed`) and its `AddStudyNoise` of them.
    fn noise(&self, id: StudyId, at: usize, seed: u64) -> (Vec<i64>, Payload) {
        let study = self.study(id);
        let mut rng = seeded_u64(seed);
        let noise = study.spec.slot_noise().expect("the study has ε");
        let shares = study_payloads::draw_noise_shares(&mut rng, &noise).unwrap();
        let validator = &self.shares[at].0;
        let payload = study_payloads::study_noise(
            &mut rng,
            &self.chain.genesis.chain_id(),
            &study,
            validator,
            &noise,
            &shares,
        )
        .unwrap();
        (shares, payload)
    }

    fn add_noise(&mut self, at: usize, payload: Payload) -> Result<Outcome, TxError> {
        let signer = self.validator(&self.shares[at].0.clone());
        self.chain.run(&signer, payload)
    }
}

#[test]
fn a_study_with_epsilon_is_decrypted_only_after_f_plus_one_noise_shares_and_carries_them() {
    let mut lab = Lab::new();
    let id = lab.closed_private_study();
    let partial = lab.partials(id, &lab.shares[0].1.clone());
    let signer = lab.validator(&lab.shares[0].0.clone());
    assert!(matches!(
        fault(lab.chain.run(&signer, partial).unwrap_err()),
        StudyFault::NotReleasing { .. }
    ));

    let (first, payload) = lab.noise(id, 0, 11);
    assert_eq!(
        lab.add_noise(0, payload.clone()).unwrap(),
        Outcome::StudyNoiseAdded {
            study: id,
            added: 1,
            releasing: false
        }
    );
    assert_eq!(
        fault(lab.add_noise(0, payload).unwrap_err()),
        StudyFault::NoiseAlreadyAdded
    );
    // Four key holders tolerate one faulty one: the second share makes the study releasable.
    let (second, payload) = lab.noise(id, 1, 12);
    assert_eq!(
        lab.add_noise(1, payload).unwrap(),
        Outcome::StudyNoiseAdded {
            study: id,
            added: 2,
            releasing: true
        }
    );
    let (_, late) = lab.noise(id, 2, 13);
    assert!(matches!(
        fault(lab.add_noise(2, late).unwrap_err()),
        StudyFault::NotAddingNoise { .. }
    ));

    let result = lab.release(id);
    let truth: [i64; 5] = [388, 34_890, 2, 2, 1];
    let bounds = lab.study(id).spec.slot_bounds(5).unwrap();
    let expected: Vec<u64> = (0..5)
        .map(|slot| {
            let noised = truth[slot] + first[slot] + second[slot];
            noised.clamp(bounds[slot].lo as i64, bounds[slot].hi as i64) as u64
        })
        .collect();
    assert_eq!(
        result.totals, expected,
        "true totals {truth:?} + {first:?} + {second:?}"
    );
    assert_ne!(
        result.totals[0], 388,
        "the sum carries noise (seeds 11 and 12)"
    );
    assert_eq!(
        result.noise,
        Some(ResultNoise {
            epsilon_milli: 1_000,
            shares: 2
        })
    );
}

#[test]
fn noise_from_outside_the_key_or_for_a_study_without_epsilon_is_refused() {
    let mut lab = Lab::new();
    let id = lab.closed_private_study();
    let (_, payload) = lab.noise(id, 0, 21);
    let researcher = lab.researcher.clone();
    assert_eq!(
        fault(lab.chain.run(&researcher, payload).unwrap_err()),
        StudyFault::NotAParticipant
    );

    let secrets = cohort_again(&mut lab);
    let plain = lab.approved(sum_only(lab.chain.height + 40));
    let ring: Vec<RingPublicKey> = secrets.iter().map(RingSecretKey::public_key).collect();
    for (secret, value) in secrets.iter().zip([50, 60, 70]) {
        let payload = lab.anonymous(plain, &ring, secret, value);
        lab.contribute_anonymously(payload).unwrap();
    }
    lab.close(plain);
    let Payload::AddStudyNoise { noise, .. } = lab.noise(id, 0, 22).1 else {
        unreachable!()
    };
    let payload = Payload::AddStudyNoise {
        study: plain,
        noise: noise[..1].to_vec(),
    };
    assert!(matches!(
        fault(lab.add_noise(0, payload).unwrap_err()),
        StudyFault::NotAddingNoise { .. }
    ));
}

/// Three more lab patients, for a second study in the same lab.
fn cohort_again(lab: &mut Lab) -> Vec<RingSecretKey> {
    vec![
        lab.patient(ST_MARY, 410, RecordCategory::Laboratory),
        lab.patient(NORTH, 411, RecordCategory::Laboratory),
        lab.patient(ST_MARY, 412, RecordCategory::Laboratory),
    ]
}

#[test]
fn a_copied_tampered_wider_or_incomplete_noise_share_is_refused_and_changes_nothing() {
    let mut lab = Lab::new();
    let id = lab.closed_private_study();
    let before = lab.study(id);
    let (_, payload) = lab.noise(id, 0, 31);
    let Payload::AddStudyNoise { noise, .. } = payload.clone() else {
        unreachable!()
    };

    // Validator 1 posting validator 0's shares: the proofs name validator 0.
    assert!(matches!(
        fault(lab.add_noise(1, payload).unwrap_err()),
        StudyFault::BadNoise(_)
    ));

    let mut tampered = noise.clone();
    let mut proof = tampered[0].range_proof.to_vec();
    proof[200] ^= 1;
    tampered[0].range_proof = proof.into();
    assert!(matches!(
        fault(
            lab.add_noise(
                0,
                Payload::AddStudyNoise {
                    study: id,
                    noise: tampered
                }
            )
            .unwrap_err()
        ),
        StudyFault::BadNoise(_)
    ));

    assert_eq!(
        fault(
            lab.add_noise(
                0,
                Payload::AddStudyNoise {
                    study: id,
                    noise: noise[1..].to_vec()
                }
            )
            .unwrap_err()
        ),
        StudyFault::WrongNoiseSlots {
            expected: 5,
            got: 4
        }
    );

    // A share beyond its bound, proven for a range twice as wide: a validator could skew the
    // total by more than `bound`, so the proof is refused.
    let study = lab.study(id);
    let bound = study.spec.slot_noise().unwrap()[0].bound;
    let key = AnalyticsPublicKey::from_bytes(&study.approval.as_ref().unwrap().public_key).unwrap();
    let tag = noise_share_tag(&lab.shares[0].0);
    let chain_id = lab.chain.genesis.chain_id();
    let context = ProofContext {
        chain_id: chain_id.as_bytes(),
        study_id: id.as_bytes(),
        key_image: Some(&tag),
    };
    let mut rng = seeded_u64(32);
    let wide = Range::new(0, 4 * bound).unwrap();
    let (ciphertext, opening) = Ciphertext::encrypt(&mut rng, &key, 3 * bound);
    let proof = RangeProof::prove(&mut rng, &key, &ciphertext, &opening, &wide, &context).unwrap();
    let mut skewed = noise.clone();
    skewed[0] = EncryptedValue {
        ciphertext: ciphertext.to_bytes().to_vec().into(),
        range_proof: proof.to_bytes().into(),
    };
    assert!(matches!(
        fault(
            lab.add_noise(
                0,
                Payload::AddStudyNoise {
                    study: id,
                    noise: skewed
                }
            )
            .unwrap_err()
        ),
        StudyFault::BadNoise(_)
    ));
    assert_eq!(
        lab.study(id),
        before,
        "no refused share touched the aggregates"
    );
}

#[test]
fn epsilon_and_the_noise_bound_are_checked_when_the_study_is_proposed() {
    let base = private_hba1c(100);
    for (epsilon_milli, accepted) in [
        (limits::STUDY_EPSILON_MILLI_MIN - 1, false),
        (limits::STUDY_EPSILON_MILLI_MIN, true),
        (limits::STUDY_EPSILON_MILLI_MAX, true),
        (limits::STUDY_EPSILON_MILLI_MAX + 1, false),
    ] {
        let spec = StudySpec {
            epsilon_milli: Some(epsilon_milli),
            ..base.clone()
        };
        assert_eq!(spec.validate().is_ok(), accepted, "ε_milli {epsilon_milli}");
    }
    // 16-bit squares have a sensitivity near 2^32: no share of their noise fits a range proof.
    let squares = StudySpec {
        lo: 0,
        hi: 65_535,
        histogram: vec![],
        ..base.clone()
    };
    assert!(matches!(
        squares.validate(),
        Err(ValidationError::LimitExceeded {
            limit: "study_noise_bound_max",
            ..
        })
    ));
    // The scale is the group's sensitivity over its share of ε, and the bound 50 scales.
    let noise = base.slot_noise().unwrap();
    let sum = noise[0];
    assert_eq!(
        (sum.scale_numerator, sum.scale_denominator),
        (160 * 3 * 1000, 1000)
    );
    assert_eq!(sum.bound, 50 * 480);
    let bucket = noise[2];
    assert_eq!(bucket.scale_numerator, 2 * 3 * 1000);
    assert_eq!(sum_only(100).slot_noise(), None);
}

#[test]
fn a_private_study_whose_release_with_every_noise_share_would_overflow_the_table_is_refused() {
    let mut lab = Lab::new();
    // ε = 0.01 on a 100,000-wide range: each share may reach 50 · 10^5 / 0.01 = 5·10^8, within
    // a range proof, but 22 of them (a consortium of 64 validators) push the release past 2^32.
    let spec = StudySpec {
        lo: 0,
        hi: 100_000,
        sum_of_squares: false,
        histogram: vec![],
        epsilon_milli: Some(10),
        ..hba1c(lab.chain.height + 40)
    };
    spec.validate().unwrap();
    let researcher = lab.researcher.clone();
    let error = lab
        .chain
        .run(&researcher, Payload::ProposeStudy { spec })
        .unwrap_err();
    match fault(error) {
        StudyFault::Unrunnable(reason) => assert!(reason.contains("raise epsilon"), "{reason}"),
        other => panic!("expected the release width to be refused, got {other:?}"),
    }
}
