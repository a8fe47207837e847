//! Distributed differential privacy: before a study with ε is decrypted, validators add
//! encrypted noise shares to its aggregates, and only the noised aggregates are ever partially
//! decrypted.
//!
//! Each share is a discrete Laplace sample at the slot's full scale (`StudySpec::slot_noise`),
//! so one honest validator's share alone makes the release ε-differentially private; the
//! others' shares are independent of the data (they see only ciphertexts) and only add noise.
//! The chain therefore waits for `f + 1` shares, where `f` is the number of faulty key holders
//! the consortium tolerates (`(n − 1) / 3` of `n`): at least one of them is honest. A share
//! arrives as `share + bound`, encrypted under the study's key and range-proven within
//! `[0, 2·bound]` in a context bound to its validator ([`noise_share_tag`]), so a validator can
//! move a total by at most `bound` and cannot replay another's share. The release subtracts
//! `shares · bound` after decryption.

use super::contribute::{aggregate, verify_all};
use super::{approved_key, corrupt, load, refuse};
use crate::entries::StudyStatus;
use crate::error::{StudyFault, TxError};
use crate::exec::{Call, Outcome};
use crate::store::Store;
use crate::{keys, query, rw};
use medchain_crypto::analytics::Ciphertext;
use medchain_crypto::analytics::range::{Range, RangeProof};
use medchain_types::study::noise_share_tag;
use medchain_types::{EncryptedValue, StudyId, limits};

/// Noise shares the release waits for with `participants` key holders: one more than the
/// faulty holders tolerated, so at least one share is honest.
pub(crate) fn noise_shares_required(participants: usize) -> usize {
    participants.saturating_sub(1) / 3 + 1
}

/// The most shares any study can collect (with the largest validator set): what a proposal's
/// release width is checked against.
pub(crate) fn noise_shares_max() -> u64 {
    noise_shares_required(limits::VALIDATORS_MAX) as u64
}

pub(crate) async fn add_noise<S: Store>(
    store: &mut S,
    call: &Call<'_>,
    id: &StudyId,
    noise: &[EncryptedValue],
) -> Result<Outcome, TxError> {
    let mut study = load(store, id).await?;
    if study.status != StudyStatus::AddingNoise {
        return Err(refuse(StudyFault::NotAddingNoise {
            status: study.status.name(),
        }));
    }
    let entry = query::analytics_key(store)
        .await?
        .ok_or_else(|| corrupt("analytics_key", "a closed study was approved under a key"))?;
    if !entry.participants.contains(call.sender) {
        return Err(refuse(StudyFault::NotAParticipant));
    }
    if study.noise_from.contains(call.sender) {
        return Err(refuse(StudyFault::NoiseAlreadyAdded));
    }
    let slots = study
        .spec
        .slot_noise()
        .ok_or_else(|| corrupt("study", "a study adding noise has an ε the spec validated"))?;
    if noise.len() != slots.len() {
        return Err(refuse(StudyFault::WrongNoiseSlots {
            expected: slots.len(),
            got: noise.len(),
        }));
    }
    let bad =
        |e: medchain_crypto::analytics::AnalyticsError| refuse(StudyFault::BadNoise(e.to_string()));
    let key = approved_key(&study)?;
    let mut decoded = Vec::with_capacity(slots.len());
    for (value, slot) in noise.iter().zip(&slots) {
        let range = Range::new(0, 2 * slot.bound).map_err(bad)?;
        let ciphertext = Ciphertext::from_bytes(&value.ciphertext).map_err(bad)?;
        let proof = RangeProof::from_bytes(&value.range_proof, &range).map_err(bad)?;
        decoded.push((ciphertext, range, proof));
    }
    let tag = noise_share_tag(call.sender);
    verify_all(call, &key, study.id, &decoded, Some(&tag)).map_err(bad)?;
    let ciphertexts: Vec<Ciphertext> = decoded.iter().map(|(c, _, _)| *c).collect();
    aggregate(&mut study, &ciphertexts)?;
    study.noise_from.push(call.sender.clone());
    let added = study.noise_from.len();
    let releasing = added >= noise_shares_required(entry.participants.len());
    if releasing {
        study.status = StudyStatus::Releasing;
    }
    rw::write(store, keys::study(id), &study);
    Ok(Outcome::StudyNoiseAdded {
        study: *id,
        added,
        releasing,
    })
}
