//! Privacy-preserving studies on the wire: what a researcher proposes ([`StudySpec`]), what a
//! contribution carries ([`StudyContribution`]), and the per-aggregate bounds both the
//! contributor and the state machine derive from the spec ([`StudySpec::slot_bounds`]).
//!
//! A contribution is one encrypted value per aggregate "slot", in a fixed order: the sum, then
//! the sum of squares if the study asks for it, then one slot per histogram bucket. Each slot's
//! ciphertext carries a range proof for its bound (`medchain_crypto::analytics::range`); with a
//! histogram, one more proof shows the bucket ciphertexts add up to exactly the contribution's
//! number of values. The count is public (it is the number of contributions, and institutions
//! declare theirs), so it needs no ciphertext.

use crate::codec_util::{bytes_cfg, read_str, str_encode_size, vec_cfg, write_str};
use crate::codes::RecordCategory;
use crate::error::ValidationError;
use crate::ids::{AccountId, ChainId, InstitutionId, StudyId};
use crate::{hexser, impl_struct_codec, limits};
use bytes::{BufMut, Bytes};
use commonware_codec::{Buf, Encode, EncodeSize, Error, Read, ReadExt, Write};
use commonware_cryptography::{Hasher, Sha256};
use serde::{Deserialize, Serialize};

/// Who may contribute: pseudonyms registered at one of `institutions` (any institution if
/// empty) holding an unerased record of one of `categories` (any if empty).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CohortFilter {
    pub categories: Vec<RecordCategory>,
    pub institutions: Vec<InstitutionId>,
}
impl_struct_codec!(CohortFilter {
    categories: vec_cfg(limits::STUDY_COHORT_CATEGORIES_MAX),
    institutions: vec_cfg(limits::STUDY_COHORT_INSTITUTIONS_MAX),
});

/// A study as a researcher proposes it. Values are integers of `[lo, hi]`; a value `v` means
/// `v / scale_divisor` in `unit` (HbA1c in 0.1 %: unit "%", divisor 10).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StudySpec {
    /// Coded field name (e.g. "hba1c"); checked by the PHI guard like all free text.
    pub field: String,
    pub unit: String,
    pub scale_divisor: u32,
    pub lo: u64,
    pub hi: u64,
    pub cohort: CohortFilter,
    /// Also aggregate the squares (for the variance: `sum_sq / n − (sum / n)²`).
    pub sum_of_squares: bool,
    /// Lower edges of the histogram buckets, strictly increasing, the first equal to `lo`;
    /// bucket `i` is `[edge_i, edge_{i+1})`, the last ends at `hi`. Empty: no histogram.
    pub histogram: Vec<u64>,
    /// Nothing is decrypted unless at least this many values were contributed (k).
    pub min_cohort: u64,
    /// Most values the study accepts: bounds the discrete logarithm at release.
    pub values_max: u64,
    /// Last height at which a contribution is accepted; release happens after it.
    pub deadline_height: u64,
    /// Fewest members of an anonymous contribution's ring.
    pub ring_size: u32,
    /// Distributed differential privacy budget in thousandths (500 is ε = 0.5): before anything
    /// is decrypted, validators add encrypted discrete Laplace noise to every aggregate, sized
    /// so that one honest validator's share alone gives ε (see [`StudySpec::slot_noise`]).
    pub epsilon_milli: Option<u32>,
}

impl Write for StudySpec {
    fn write(&self, buf: &mut impl BufMut) {
        write_str(&self.field, buf);
        write_str(&self.unit, buf);
        self.scale_divisor.write(buf);
        self.lo.write(buf);
        self.hi.write(buf);
        self.cohort.write(buf);
        self.sum_of_squares.write(buf);
        self.histogram.write(buf);
        self.min_cohort.write(buf);
        self.values_max.write(buf);
        self.deadline_height.write(buf);
        self.ring_size.write(buf);
        self.epsilon_milli.write(buf);
    }
}

impl EncodeSize for StudySpec {
    fn encode_size(&self) -> usize {
        str_encode_size(&self.field)
            + str_encode_size(&self.unit)
            + self.scale_divisor.encode_size()
            + self.lo.encode_size()
            + self.hi.encode_size()
            + self.cohort.encode_size()
            + self.sum_of_squares.encode_size()
            + self.histogram.encode_size()
            + self.min_cohort.encode_size()
            + self.values_max.encode_size()
            + self.deadline_height.encode_size()
            + self.ring_size.encode_size()
            + self.epsilon_milli.encode_size()
    }
}

impl Read for StudySpec {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        Ok(Self {
            field: read_str(buf, 1, limits::STUDY_FIELD_SIZE_MAX_BYTES)?,
            unit: read_str(buf, 1, limits::STUDY_UNIT_SIZE_MAX_BYTES)?,
            scale_divisor: u32::read(buf)?,
            lo: u64::read(buf)?,
            hi: u64::read(buf)?,
            cohort: CohortFilter::read(buf)?,
            sum_of_squares: bool::read(buf)?,
            histogram: Vec::read_cfg(buf, &vec_cfg(limits::STUDY_HISTOGRAM_BUCKETS_MAX))?,
            min_cohort: u64::read(buf)?,
            values_max: u64::read(buf)?,
            deadline_height: u64::read(buf)?,
            ring_size: u32::read(buf)?,
            epsilon_milli: Option::<u32>::read_cfg(buf, &())?,
        })
    }
}

/// One slot's noise share, as each noise-adding validator draws it: discrete Laplace with
/// scale `scale_numerator / scale_denominator`, redrawn until `|share| <= bound`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotNoise {
    pub slot: Slot,
    pub scale_numerator: u64,
    pub scale_denominator: u64,
    pub bound: u64,
}

/// What one aggregate slot sums.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    Sum,
    SumOfSquares,
    /// Histogram bucket `i`: 1 for the bucket a value falls in, 0 for the others.
    Bucket(usize),
}

/// The integer bounds of one slot for a contribution of some number of values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotBound {
    pub slot: Slot,
    pub lo: u64,
    pub hi: u64,
}

impl StudySpec {
    /// The slots in contribution order.
    pub fn slots(&self) -> Vec<Slot> {
        let mut slots = vec![Slot::Sum];
        if self.sum_of_squares {
            slots.push(Slot::SumOfSquares);
        }
        slots.extend((0..self.histogram.len()).map(Slot::Bucket));
        slots
    }

    /// Each slot's bounds for a contribution of `values` values (1 for a patient, the declared
    /// count for an institution), or `None` if a bound overflows `u64`.
    pub fn slot_bounds(&self, values: u64) -> Option<Vec<SlotBound>> {
        self.slots()
            .into_iter()
            .map(|slot| {
                let (lo, hi) = match slot {
                    Slot::Sum => (values.checked_mul(self.lo)?, values.checked_mul(self.hi)?),
                    Slot::SumOfSquares => (
                        values.checked_mul(self.lo.checked_mul(self.lo)?)?,
                        values.checked_mul(self.hi.checked_mul(self.hi)?)?,
                    ),
                    Slot::Bucket(_) => (0, values),
                };
                Some(SlotBound { slot, lo, hi })
            })
            .collect()
    }

    /// The noise every validator adds to each slot, or `None` for a study without ε (or one whose
    /// scale overflows, which `validate` refuses).
    ///
    /// Neighbouring datasets differ in one contributor's value: whether someone contributed is
    /// public anyway (the ledger counts contributions; the ring signature hides who). So the
    /// sensitivities are `hi − lo` for the sum, `hi² − lo²` for the sum of squares and 2 for the
    /// whole histogram (one value leaves a bucket and enters another). ε is split evenly over
    /// the groups released (sum, squares, histogram: basic composition, Dwork and Roth, "The
    /// Algorithmic Foundations of Differential Privacy", 2014, Theorem 3.16), and each slot's
    /// scale is its group's sensitivity over its share of ε: `Δ · groups · 1000 / ε_milli`.
    /// Every validator's share has this full scale, so one honest share suffices; the others
    /// only add noise (post-processing).
    pub fn slot_noise(&self) -> Option<Vec<SlotNoise>> {
        let epsilon_milli = u64::from(self.epsilon_milli?);
        let groups = 1 + u64::from(self.sum_of_squares) + u64::from(!self.histogram.is_empty());
        self.slots()
            .into_iter()
            .map(|slot| {
                let sensitivity = match slot {
                    Slot::Sum => self.hi - self.lo,
                    Slot::SumOfSquares => {
                        self.hi.checked_mul(self.hi)? - self.lo.checked_mul(self.lo)?
                    }
                    Slot::Bucket(_) => 2,
                }
                // A constant slot (lo = hi) reveals nothing; noise of scale 1 keeps the
                // sampler's parameters positive.
                .max(1);
                let scale_numerator = sensitivity.checked_mul(groups)?.checked_mul(1000)?;
                let bound = scale_numerator
                    .checked_mul(limits::STUDY_NOISE_TAIL_SCALES)?
                    .div_ceil(epsilon_milli);
                Some(SlotNoise {
                    slot,
                    scale_numerator,
                    scale_denominator: epsilon_milli,
                    bound,
                })
            })
            .collect()
    }

    /// The bucket `value` falls in (`None` without a histogram or outside `[lo, hi]`).
    pub fn bucket_of(&self, value: u64) -> Option<usize> {
        if !(self.lo..=self.hi).contains(&value) {
            return None;
        }
        self.histogram.iter().rposition(|edge| *edge <= value)
    }

    /// Rules that need no ledger state (the state machine checks the deadline, the key and the
    /// cost of the release against the limits).
    pub fn validate(&self) -> Result<(), ValidationError> {
        let invalid = |reason| Err(ValidationError::Transaction(reason));
        crate::phi_guard::check(&self.field)?;
        crate::phi_guard::check(&self.unit)?;
        if self.scale_divisor == 0 {
            return invalid("scale_divisor must be at least 1 (1 means values are whole units)");
        }
        if self.lo > self.hi {
            return invalid("the value range is empty: declare lo <= hi");
        }
        ValidationError::check_len(
            "study_histogram_buckets_max",
            self.histogram.len(),
            limits::STUDY_HISTOGRAM_BUCKETS_MAX,
        )?;
        if !self.histogram.is_empty()
            && (self.histogram[0] != self.lo
                || self.histogram.windows(2).any(|w| w[0] >= w[1])
                || self.histogram.last().is_some_and(|last| *last > self.hi))
        {
            return invalid(
                "histogram edges must start at lo, increase strictly and stay within [lo, hi]",
            );
        }
        self.validate_counts()?;
        self.validate_noise()
    }

    fn validate_noise(&self) -> Result<(), ValidationError> {
        let Some(epsilon_milli) = self.epsilon_milli else {
            return Ok(());
        };
        if !(limits::STUDY_EPSILON_MILLI_MIN..=limits::STUDY_EPSILON_MILLI_MAX)
            .contains(&epsilon_milli)
        {
            return Err(ValidationError::Transaction(
                "epsilon_milli must lie in [study_epsilon_milli_min, study_epsilon_milli_max] (10 to 10,000, that is ε from 0.01 to 10)",
            ));
        }
        let noise = self.slot_noise().ok_or(ValidationError::Transaction(
            "the noise scale for this range overflows 64 bits; narrow the range or raise epsilon",
        ))?;
        for slot in noise {
            check_max(
                "study_noise_bound_max",
                slot.bound,
                limits::STUDY_NOISE_BOUND_MAX,
            )?;
        }
        Ok(())
    }

    fn validate_counts(&self) -> Result<(), ValidationError> {
        if self.min_cohort < limits::STUDY_MIN_COHORT_MIN {
            return Err(ValidationError::Transaction(
                "min_cohort must be at least study_min_cohort_min (3): a smaller cohort's aggregate reveals individual values",
            ));
        }
        if self.values_max < self.min_cohort {
            return Err(ValidationError::Transaction(
                "values_max must be at least min_cohort, or the study could never be released",
            ));
        }
        check_max(
            "study_values_max",
            self.values_max,
            limits::STUDY_VALUES_MAX,
        )?;
        if (self.ring_size as usize) < limits::STUDY_RING_SIZE_MIN_MEMBERS {
            return Err(ValidationError::Transaction(
                "ring_size must be at least study_ring_size_min_members (2): a ring of one names the contributor",
            ));
        }
        check_max(
            "study_ring_size_max_members",
            u64::from(self.ring_size),
            limits::STUDY_RING_SIZE_MAX_MEMBERS as u64,
        )
    }
}

fn check_max(limit: &'static str, got: u64, max: u64) -> Result<(), ValidationError> {
    if got > max {
        return Err(ValidationError::LimitExceeded { limit, max, got });
    }
    Ok(())
}

/// One slot's ciphertext (`c1 ‖ c2`, 96 bytes) and its range proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EncryptedValue {
    #[serde(with = "hexser::bytes")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub ciphertext: Bytes,
    #[serde(with = "hexser::bytes")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub range_proof: Bytes,
}
impl_struct_codec!(EncryptedValue {
    ciphertext: bytes_cfg(limits::STUDY_CIPHERTEXT_SIZE_BYTES),
    range_proof: bytes_cfg(limits::STUDY_RANGE_PROOF_SIZE_MAX_BYTES),
});

/// The encrypted slots of one contribution, and with a histogram the proof that its buckets
/// add up to the number of values contributed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StudyContribution {
    pub slots: Vec<EncryptedValue>,
    #[serde(with = "hexser::bytes")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub bucket_total_proof: Bytes,
}
impl_struct_codec!(StudyContribution {
    slots: vec_cfg(limits::STUDY_SLOTS_MAX),
    bucket_total_proof: bytes_cfg(limits::STUDY_RANGE_PROOF_SIZE_MAX_BYTES),
});

impl EncryptedValue {
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.ciphertext.len() != limits::STUDY_CIPHERTEXT_SIZE_BYTES {
            return Err(ValidationError::Transaction(
                "a study ciphertext is exactly 96 bytes (two compressed G1 points)",
            ));
        }
        ValidationError::check_len(
            "study_range_proof_size_max_bytes",
            self.range_proof.len(),
            limits::STUDY_RANGE_PROOF_SIZE_MAX_BYTES,
        )
    }

    /// A list of at most one value per slot, each well-formed.
    pub fn validate_slots(slots: &[EncryptedValue]) -> Result<(), ValidationError> {
        ValidationError::check_len("study_slots_max", slots.len(), limits::STUDY_SLOTS_MAX)?;
        slots.iter().try_for_each(EncryptedValue::validate)
    }
}

impl StudyContribution {
    pub fn validate(&self) -> Result<(), ValidationError> {
        EncryptedValue::validate_slots(&self.slots)?;
        ValidationError::check_len(
            "study_range_proof_size_max_bytes",
            self.bucket_total_proof.len(),
            limits::STUDY_RANGE_PROOF_SIZE_MAX_BYTES,
        )
    }
}

/// Domain tag of what an anonymous contributor ring-signs.
pub const ANONYMOUS_CONTRIBUTION_NAMESPACE: &[u8] = b"medchain/study/anonymous-contribution/v1";

/// What an anonymous contributor ring-signs (with the study id as the ring's context): the
/// chain, the study and the whole encoded contribution, so no ciphertext or proof can be
/// swapped out and none can be replayed on another chain.
pub fn anonymous_contribution_message(
    chain_id: &ChainId,
    study: &StudyId,
    contribution: &StudyContribution,
) -> Vec<u8> {
    let encoded = contribution.encode();
    let mut out = Vec::with_capacity(ANONYMOUS_CONTRIBUTION_NAMESPACE.len() + 64 + encoded.len());
    out.extend_from_slice(ANONYMOUS_CONTRIBUTION_NAMESPACE);
    out.extend_from_slice(chain_id.as_bytes());
    out.extend_from_slice(study.as_bytes());
    out.extend_from_slice(&encoded);
    out
}

/// Domain tag of the context a validator's noise proofs are bound to.
pub const NOISE_SHARE_NAMESPACE: &[u8] = b"medchain/study/noise-share/v1";

/// What a validator's noise range proofs carry where an anonymous contribution carries its key
/// image: a digest naming the validator, so no validator can post another's shares as its own
/// (two equal shares would no longer be independent noise).
pub fn noise_share_tag(validator: &AccountId) -> [u8; 32] {
    let digest = Sha256::hash(&[NOISE_SHARE_NAMESPACE, &validator.to_bytes()]);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::Payload;
    use commonware_codec::{DecodeExt, Encode};
    use proptest::prelude::*;

    fn spec() -> StudySpec {
        StudySpec {
            field: "hba1c".into(),
            unit: "%".into(),
            scale_divisor: 10,
            lo: 40,
            hi: 200,
            cohort: CohortFilter::default(),
            sum_of_squares: true,
            histogram: vec![40, 60, 100],
            min_cohort: 3,
            values_max: 1_000,
            deadline_height: 100,
            ring_size: 3,
            epsilon_milli: None,
        }
    }

    fn decodes(payload: &Payload) -> bool {
        Payload::decode(payload.encode()).is_ok()
    }

    #[test]
    fn slot_bounds_scale_with_the_number_of_values() {
        let bounds = spec().slot_bounds(5).unwrap();
        let pairs: Vec<(Slot, u64, u64)> = bounds.iter().map(|b| (b.slot, b.lo, b.hi)).collect();
        assert_eq!(
            pairs,
            vec![
                (Slot::Sum, 200, 1_000),
                (Slot::SumOfSquares, 8_000, 200_000),
                (Slot::Bucket(0), 0, 5),
                (Slot::Bucket(1), 0, 5),
                (Slot::Bucket(2), 0, 5),
            ]
        );
        let huge = StudySpec {
            hi: u64::MAX,
            ..spec()
        };
        assert_eq!(huge.slot_bounds(2), None, "an overflowing bound is refused");
    }

    #[test]
    fn text_fields_decode_up_to_their_limits_and_no_further() {
        let at = |field: usize, unit: usize| Payload::ProposeStudy {
            spec: StudySpec {
                field: "a".repeat(field),
                unit: "u".repeat(unit),
                ..spec()
            },
        };
        let (field, unit) = (
            limits::STUDY_FIELD_SIZE_MAX_BYTES,
            limits::STUDY_UNIT_SIZE_MAX_BYTES,
        );
        assert!(decodes(&at(field, unit)));
        assert!(!decodes(&at(field + 1, unit)));
        assert!(!decodes(&at(field, unit + 1)));
    }

    #[test]
    fn cohort_lists_decode_up_to_their_limits_and_no_further() {
        let with = |categories: usize, institutions: usize| Payload::ProposeStudy {
            spec: StudySpec {
                cohort: CohortFilter {
                    categories: vec![RecordCategory::Laboratory; categories],
                    institutions: vec![InstitutionId::new("st-mary").unwrap(); institutions],
                },
                ..spec()
            },
        };
        let (categories, institutions) = (
            limits::STUDY_COHORT_CATEGORIES_MAX,
            limits::STUDY_COHORT_INSTITUTIONS_MAX,
        );
        assert!(decodes(&with(categories, institutions)));
        assert!(!decodes(&with(categories + 1, institutions)));
        assert!(!decodes(&with(categories, institutions + 1)));
    }

    fn contribution(slots: usize, proof_bytes: usize) -> StudyContribution {
        StudyContribution {
            slots: vec![
                EncryptedValue {
                    ciphertext: vec![0; limits::STUDY_CIPHERTEXT_SIZE_BYTES].into(),
                    range_proof: vec![0; proof_bytes].into(),
                };
                slots
            ],
            bucket_total_proof: Bytes::new(),
        }
    }

    #[test]
    fn contributions_hold_up_to_their_slot_and_proof_limits_and_no_further() {
        let (slots, proof) = (
            limits::STUDY_SLOTS_MAX,
            limits::STUDY_RANGE_PROOF_SIZE_MAX_BYTES,
        );
        assert_eq!(contribution(slots, proof).validate(), Ok(()));
        assert!(matches!(
            contribution(slots + 1, proof).validate(),
            Err(ValidationError::LimitExceeded {
                limit: "study_slots_max",
                ..
            })
        ));
        assert!(matches!(
            contribution(1, proof + 1).validate(),
            Err(ValidationError::LimitExceeded {
                limit: "study_range_proof_size_max_bytes",
                ..
            })
        ));
        let short = StudyContribution {
            slots: vec![EncryptedValue {
                ciphertext: vec![0; 95].into(),
                range_proof: Bytes::new(),
            }],
            bucket_total_proof: Bytes::new(),
        };
        assert!(
            short.validate().is_err(),
            "a ciphertext is exactly 96 bytes"
        );
        let wire = |slots, proof| Payload::ContributeToStudy {
            study: StudyId([1; 32]),
            values: 1,
            contribution: contribution(slots, proof),
        };
        assert!(decodes(&wire(slots, 0)));
        assert!(!decodes(&wire(slots + 1, 0)));
        assert!(!decodes(&wire(1, proof + 1)));
    }

    #[test]
    fn keys_and_signatures_decode_up_to_their_limits_and_no_further() {
        let key = |bytes: usize| Payload::SubmitAnalyticsKey {
            epoch: 1,
            output: vec![0; bytes].into(),
        };
        let max = limits::ANALYTICS_KEY_OUTPUT_SIZE_MAX_BYTES;
        assert!(decodes(&key(max)));
        assert!(!decodes(&key(max + 1)));
        assert_eq!(key(max).validate(), Ok(()));
        let ring_key = |bytes: usize| Payload::RegisterRingKey {
            ring_key: [1; 32],
            proof: vec![0; bytes].into(),
        };
        assert_eq!(
            ring_key(limits::RING_KEY_PROOF_SIZE_BYTES).validate(),
            Ok(())
        );
        assert!(
            ring_key(limits::RING_KEY_PROOF_SIZE_BYTES - 1)
                .validate()
                .is_err()
        );
        assert!(!decodes(&ring_key(limits::RING_KEY_PROOF_SIZE_BYTES + 1)));
        let signature = |bytes: usize| Payload::ContributeAnonymously {
            study: StudyId([1; 32]),
            ring: vec![],
            ring_signature: vec![0; bytes].into(),
            contribution: contribution(0, 0),
        };
        let max = limits::STUDY_RING_SIGNATURE_SIZE_MAX_BYTES;
        assert!(decodes(&signature(max)));
        assert!(!decodes(&signature(max + 1)));
    }

    #[test]
    fn every_study_payload_keeps_its_tag() {
        let id = StudyId([2; 32]);
        let payloads = [
            (
                Payload::RegisterRingKey {
                    ring_key: [1; 32],
                    proof: vec![0; 128].into(),
                },
                16u8,
            ),
            (
                Payload::SubmitAnalyticsKey {
                    epoch: 1,
                    output: vec![0; 8].into(),
                },
                17,
            ),
            (Payload::ProposeStudy { spec: spec() }, 18),
            (
                Payload::ContributeToStudy {
                    study: id,
                    values: 2,
                    contribution: contribution(1, 384),
                },
                19,
            ),
            (
                Payload::ContributeAnonymously {
                    study: id,
                    ring: vec![[3; 32]; 2],
                    ring_signature: vec![0; 128].into(),
                    contribution: contribution(1, 384),
                },
                20,
            ),
            (Payload::CloseStudy { study: id }, 21),
            (
                Payload::PostPartialDecryption {
                    study: id,
                    partials: vec![vec![0; limits::STUDY_PARTIAL_SIZE_BYTES].into()],
                },
                22,
            ),
            (
                Payload::AddStudyNoise {
                    study: id,
                    noise: contribution(1, 384).slots,
                },
                23,
            ),
        ];
        for (payload, tag) in payloads {
            let bytes = payload.encode();
            assert_eq!(bytes[0], tag, "{}", payload.kind());
            assert_eq!(Payload::decode(bytes).unwrap(), payload);
            let json = serde_json::to_string(&payload).unwrap();
            assert_eq!(serde_json::from_str::<Payload>(&json).unwrap(), payload);
        }
    }

    proptest! {
        #[test]
        fn every_value_in_range_falls_in_exactly_the_bucket_whose_edges_hold_it(value in 40u64..=200) {
            let spec = spec();
            let bucket = spec.bucket_of(value).unwrap();
            let lower = spec.histogram[bucket];
            let upper = spec.histogram.get(bucket + 1).copied().unwrap_or(spec.hi + 1);
            prop_assert!(lower <= value && value < upper);
        }

        #[test]
        fn a_value_outside_the_range_has_no_bucket(value in prop_oneof![0u64..40, 201u64..1_000]) {
            prop_assert_eq!(spec().bucket_of(value), None);
        }
    }
}
