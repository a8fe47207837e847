//! The study payloads built the one way the state machine checks them (ring-key registration,
//! contributions, noise shares, partial decryptions): for clients, the node, benchmarks and tests. Pure:
//! keys, shares and randomness come in.

use crate::entries::StudyEntry;
use bytes::Bytes;
use commonware_cryptography::bls12381::primitives::group::Share;
use medchain_crypto::Error;
use medchain_crypto::analytics::noise::DiscreteLaplace;
use medchain_crypto::analytics::range::{Range, RangeProof};
use medchain_crypto::analytics::threshold::PartialDecryption;
use medchain_crypto::analytics::{
    AnalyticsError, AnalyticsPublicKey, Ciphertext, Opening, ProofContext,
};
use medchain_crypto::ring::{
    Ring, RingPublicKey, RingSecretKey, key_image, prove_possession, sign,
};
use medchain_crypto::rng::CryptoRng;
use medchain_types::possession::{KeyKind, message};
use medchain_types::study::{SlotNoise, anonymous_contribution_message, noise_share_tag};
use medchain_types::{AccountId, ChainId, EncryptedValue, Payload, Slot, StudyContribution};

/// A pseudonym's `RegisterRingKey` for `secret`'s public key, proven for this chain and account.
pub fn register_ring_key(
    rng: &mut impl CryptoRng,
    chain_id: &ChainId,
    pseudonym: &AccountId,
    secret: &RingSecretKey,
) -> Result<Payload, Error> {
    let ring_key = secret.public_key().to_bytes();
    let statement = message(KeyKind::Ring, chain_id, pseudonym, &ring_key);
    let proof = prove_possession(rng, secret, &statement)?;
    Ok(Payload::RegisterRingKey {
        ring_key,
        proof: proof.to_bytes().into(),
    })
}

fn study_key(study: &StudyEntry) -> Result<AnalyticsPublicKey, Error> {
    let approval = study
        .approval
        .as_ref()
        .ok_or(AnalyticsError::InvalidRangeProof)?;
    Ok(AnalyticsPublicKey::from_bytes(&approval.public_key)?)
}

/// `plaintext` encrypted under `key` with a proof that it lies in `range` in `context`, and the
/// ciphertext and opening for proofs over sums of slots.
fn proven_value(
    rng: &mut impl CryptoRng,
    key: &AnalyticsPublicKey,
    plaintext: u64,
    range: &Range,
    context: &ProofContext<'_>,
) -> Result<(EncryptedValue, Ciphertext, Opening), Error> {
    let (ciphertext, opening) = Ciphertext::encrypt(rng, key, plaintext);
    let proof = RangeProof::prove(rng, key, &ciphertext, &opening, range, context)?;
    let value = EncryptedValue {
        ciphertext: ciphertext.to_bytes().to_vec().into(),
        range_proof: proof.to_bytes().into(),
    };
    Ok((value, ciphertext, opening))
}

/// The encrypted slots of `values` (one value for a patient, an institution's patients'
/// values), each range-proven for `study` in the context of `key_image`.
pub fn contribution(
    rng: &mut impl CryptoRng,
    chain_id: &ChainId,
    study: &StudyEntry,
    values: &[u64],
    key_image: Option<&[u8; 32]>,
) -> Result<StudyContribution, Error> {
    let spec = &study.spec;
    let key = study_key(study)?;
    let count = values.len() as u64;
    let bounds = spec.slot_bounds(count).ok_or(AnalyticsError::BadRange {
        lo: spec.lo,
        hi: spec.hi,
    })?;
    let context = ProofContext {
        chain_id: chain_id.as_bytes(),
        study_id: study.id.as_bytes(),
        key_image,
    };
    let mut slots = Vec::with_capacity(bounds.len());
    let mut bucket_openings: Vec<(Ciphertext, Opening)> = Vec::new();
    for bound in &bounds {
        let plaintext: u64 = match bound.slot {
            Slot::Sum => values.iter().sum(),
            Slot::SumOfSquares => values.iter().map(|v| v * v).sum(),
            Slot::Bucket(i) => values
                .iter()
                .filter(|v| spec.bucket_of(**v) == Some(i))
                .count() as u64,
        };
        let range = Range::new(bound.lo, bound.hi)?;
        let (value, ciphertext, opening) = proven_value(rng, &key, plaintext, &range, &context)?;
        slots.push(value);
        if matches!(bound.slot, Slot::Bucket(_)) {
            bucket_openings.push((ciphertext, opening));
        }
    }
    let bucket_total_proof = if bucket_openings.is_empty() {
        Bytes::new()
    } else {
        let total = Ciphertext::sum(bucket_openings.iter().map(|(c, _)| c));
        let opening = Opening::sum(bucket_openings.iter().map(|(_, o)| o))
            .ok_or(AnalyticsError::OpeningMismatch)?;
        let range = Range::new(count, count)?;
        RangeProof::prove(rng, &key, &total, &opening, &range, &context)?
            .to_bytes()
            .into()
    };
    Ok(StudyContribution {
        slots,
        bucket_total_proof,
    })
}

/// A patient's `ContributeAnonymously` of `value`, ring-signed by `secret` among `ring`.
pub fn anonymous_contribution(
    rng: &mut impl CryptoRng,
    chain_id: &ChainId,
    study: &StudyEntry,
    ring: &[RingPublicKey],
    secret: &RingSecretKey,
    value: u64,
) -> Result<Payload, Error> {
    let image = key_image(secret, study.id.as_bytes())?.to_bytes();
    let contribution = contribution(rng, chain_id, study, &[value], Some(&image))?;
    let members = Ring::new(ring.to_vec())?;
    let statement = anonymous_contribution_message(chain_id, &study.id, &contribution);
    let signature = sign(rng, secret, &members, study.id.as_bytes(), &statement)?;
    Ok(Payload::ContributeAnonymously {
        study: study.id,
        ring: members
            .members()
            .iter()
            .map(RingPublicKey::to_bytes)
            .collect(),
        ring_signature: signature.to_bytes().into(),
        contribution,
    })
}

/// An institution's `ContributeToStudy` of its patients' `values`.
pub fn institutional_contribution(
    rng: &mut impl CryptoRng,
    chain_id: &ChainId,
    study: &StudyEntry,
    values: &[u64],
) -> Result<Payload, Error> {
    Ok(Payload::ContributeToStudy {
        study: study.id,
        values: values.len() as u64,
        contribution: contribution(rng, chain_id, study, values, None)?,
    })
}

/// A validator's noise shares, one per slot of `noise` (`StudySpec::slot_noise`), each drawn
/// exactly from the slot's discrete Laplace within its bound. They stay with the caller only to
/// build [`study_noise`]; tests read them to check the release.
pub fn draw_noise_shares(
    rng: &mut impl CryptoRng,
    noise: &[SlotNoise],
) -> Result<Vec<i64>, AnalyticsError> {
    noise
        .iter()
        .map(|slot| {
            let laplace = DiscreteLaplace::new(slot.scale_numerator, slot.scale_denominator)?;
            Ok(laplace.sample_within(rng, slot.bound))
        })
        .collect()
}

/// A validator's `AddStudyNoise` of `shares` (one per slot of `noise`, `|share| <= bound`):
/// each encrypted as `share + bound` and range-proven within `[0, 2·bound]` in the context of
/// `validator`.
pub fn study_noise(
    rng: &mut impl CryptoRng,
    chain_id: &ChainId,
    study: &StudyEntry,
    validator: &AccountId,
    noise: &[SlotNoise],
    shares: &[i64],
) -> Result<Payload, Error> {
    let key = study_key(study)?;
    let tag = noise_share_tag(validator);
    let context = ProofContext {
        chain_id: chain_id.as_bytes(),
        study_id: study.id.as_bytes(),
        key_image: Some(&tag),
    };
    let mut values = Vec::with_capacity(noise.len());
    for (slot, share) in noise.iter().zip(shares) {
        let range = Range::new(0, 2 * slot.bound)?;
        let shifted = share
            .checked_add_unsigned(slot.bound)
            .and_then(|v| u64::try_from(v).ok())
            .ok_or(AnalyticsError::ValueOutOfRange {
                value: share.unsigned_abs(),
                lo: 0,
                hi: slot.bound,
            })?;
        values.push(proven_value(rng, &key, shifted, &range, &context)?.0);
    }
    Ok(Payload::AddStudyNoise {
        study: study.id,
        noise: values,
    })
}

/// A validator's `PostPartialDecryption` of every aggregate of a closed study, with `share`.
pub fn partial_decryptions(
    rng: &mut impl CryptoRng,
    chain_id: &ChainId,
    study: &StudyEntry,
    share: &Share,
) -> Result<Payload, Error> {
    let context = ProofContext {
        chain_id: chain_id.as_bytes(),
        study_id: study.id.as_bytes(),
        key_image: None,
    };
    let partials = study
        .aggregates
        .iter()
        .map(|bytes| {
            let aggregate = Ciphertext::from_bytes(bytes)?;
            let partial = PartialDecryption::new(rng, share, &aggregate, &context)?;
            Ok(Bytes::from(partial.to_bytes().to_vec()))
        })
        .collect::<Result<Vec<_>, AnalyticsError>>()?;
    Ok(Payload::PostPartialDecryption {
        study: study.id,
        partials,
    })
}
