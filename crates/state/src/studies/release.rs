//! Closing and release. After the deadline anyone responsible (the researcher or a validator)
//! closes the study: below its minimum cohort k nothing is ever decrypted; with ε the
//! validators first add their noise shares (`noise`); otherwise, or then, each
//! validator posts its partial decryptions of the study's aggregates (the only ciphertexts any
//! partial is checked against, so no single contribution is ever decrypted), each verified
//! with its Chaum–Pedersen proof against the validator's public share and refused if it fails.
//! Once a quorum of verified partials is in state, the state machine combines them and
//! recovers each total by baby-step giant-step within the bound the spec declared, with a table
//! no larger than `STUDY_DLOG_TABLE_ENTRIES_MAX`: deterministic work on every node.

use super::setup::threshold_key;
use super::{corrupt, load, noise_widths, refuse, release_table};
use crate::entries::{PostedPartials, ResultNoise, StudyEntry, StudyResult, StudyStatus};
use crate::error::{StudyFault, TxError};
use crate::exec::{Call, Outcome};
use crate::store::Store;
use crate::{keys, query, rw};
use bytes::Bytes;
use medchain_crypto::analytics::threshold::{AnalyticsKey, PartialDecryption, combine};
use medchain_crypto::analytics::{Ciphertext, ProofContext};
use medchain_types::StudyId;

pub(crate) async fn close<S: Store>(
    store: &mut S,
    call: &Call<'_>,
    id: &StudyId,
) -> Result<Outcome, TxError> {
    let mut study = load(store, id).await?;
    let validators = rw::validator_set(store).await?;
    if &study.researcher != call.sender && !validators.contains(call.sender) {
        return Err(refuse(StudyFault::NotCloser));
    }
    if study.status != StudyStatus::Approved {
        return Err(refuse(StudyFault::NotOpen {
            status: study.status.name(),
        }));
    }
    if call.env.height <= study.spec.deadline_height {
        return Err(refuse(StudyFault::DeadlineNotReached {
            deadline: study.spec.deadline_height,
        }));
    }
    study.status = if study.values < study.spec.min_cohort {
        StudyStatus::BelowMinimumCohort
    } else if study.spec.epsilon_milli.is_some() {
        StudyStatus::AddingNoise
    } else {
        StudyStatus::Releasing
    };
    study.closed_height = Some(call.env.height);
    rw::write(store, keys::study(id), &study);
    Ok(Outcome::StudyClosed {
        study: *id,
        status: study.status,
        values: study.values,
    })
}

pub(crate) async fn post_partials<S: Store>(
    store: &mut S,
    call: &Call<'_>,
    id: &StudyId,
    partials: &[Bytes],
) -> Result<Outcome, TxError> {
    let mut study = load(store, id).await?;
    if study.status != StudyStatus::Releasing {
        return Err(refuse(StudyFault::NotReleasing {
            status: study.status.name(),
        }));
    }
    let validators = rw::validator_set(store).await?;
    if !validators.contains(call.sender) {
        return Err(TxError::NotAuthorized(format!(
            "only current validators post partial decryptions; {} is not one",
            call.sender
        )));
    }
    let entry = query::analytics_key(store)
        .await?
        .ok_or_else(|| corrupt("analytics_key", "a released study was approved under a key"))?;
    let approval = study
        .approval
        .as_ref()
        .ok_or_else(|| corrupt("study", "a releasing study was approved"))?;
    if entry.public_key != approval.public_key {
        return Err(refuse(StudyFault::AnalyticsKeyChanged));
    }
    let index = entry
        .participants
        .iter()
        .position(|p| p == call.sender)
        .ok_or(refuse(StudyFault::NotAParticipant))? as u32;
    if study
        .partials
        .iter()
        .any(|p| &p.validator == call.sender && p.key_epoch == entry.epoch)
    {
        return Err(refuse(StudyFault::AlreadyPosted));
    }
    let key = threshold_key(&entry)?;
    let aggregates = stored_aggregates(&study)?;
    verify_partials(call, &key, &study.id, index, &aggregates, partials)?;
    study.partials.push(PostedPartials {
        validator: call.sender.clone(),
        key_epoch: entry.epoch,
        index,
        partials: partials.to_vec(),
    });
    let posted = study
        .partials
        .iter()
        .filter(|p| p.key_epoch == entry.epoch)
        .count();
    let released = posted >= key.required() as usize;
    if released {
        study.result = Some(decrypt(call, &key, &study, entry.epoch, &aggregates)?);
        study.status = StudyStatus::Released;
    }
    rw::write(store, keys::study(id), &study);
    Ok(Outcome::PartialDecryptionPosted {
        study: *id,
        posted,
        released,
    })
}

fn stored_aggregates(study: &StudyEntry) -> Result<Vec<Ciphertext>, TxError> {
    study
        .aggregates
        .iter()
        .map(|bytes| Ciphertext::from_bytes(bytes).map_err(|e| corrupt("study", e)))
        .collect()
}

fn release_context<'a>(call: &'a Call<'_>, study: &'a StudyId) -> ProofContext<'a> {
    ProofContext {
        chain_id: call.env.chain_id.as_bytes(),
        study_id: study.as_bytes(),
        key_image: None,
    }
}

/// One partial per aggregate, each the sender's own (its participant index) and each proven
/// against its public share for exactly that aggregate.
fn verify_partials(
    call: &Call<'_>,
    key: &AnalyticsKey,
    study: &StudyId,
    index: u32,
    aggregates: &[Ciphertext],
    partials: &[Bytes],
) -> Result<(), TxError> {
    if partials.len() != aggregates.len() {
        return Err(refuse(StudyFault::WrongPartials {
            expected: aggregates.len(),
            got: partials.len(),
        }));
    }
    let bad = |reason: String| refuse(StudyFault::BadPartial(reason));
    let context = release_context(call, study);
    for (bytes, aggregate) in partials.iter().zip(aggregates) {
        let partial = PartialDecryption::from_bytes(bytes).map_err(|e| bad(e.to_string()))?;
        if partial.index() != index {
            return Err(bad(format!(
                "it names participant {}, the sender is participant {index}",
                partial.index()
            )));
        }
        partial
            .verify(key, aggregate, &context)
            .map_err(|e| bad(e.to_string()))?;
    }
    Ok(())
}

/// Combines the stored partials of `epoch` per aggregate and solves each total within its
/// declared bound (widened by the noise shares added, then clamped back into it).
fn decrypt(
    call: &Call<'_>,
    key: &AnalyticsKey,
    study: &StudyEntry,
    epoch: u64,
    aggregates: &[Ciphertext],
) -> Result<StudyResult, TxError> {
    let bounds = study
        .spec
        .slot_bounds(study.values)
        .ok_or_else(|| corrupt("study", "values beyond values_max"))?;
    let shares = study.noise_from.len() as u64;
    // The noise shares add `share + bound` each: the plaintext lies up to `noise_width` above
    // the true total's range, and `noise_width / 2 = shares · bound` is their offset.
    let noise_widths = noise_widths(&study.spec, shares);
    let table = release_table(&study.spec, study.values, shares)?;
    let context = release_context(call, &study.id);
    let posted: Vec<&PostedPartials> = study
        .partials
        .iter()
        .filter(|p| p.key_epoch == epoch)
        .collect();
    let failed = |reason: String| refuse(StudyFault::Release(reason));
    let mut totals = Vec::with_capacity(aggregates.len());
    let mut decrypted_by = Vec::new();
    for (slot, (aggregate, bound)) in aggregates.iter().zip(&bounds).enumerate() {
        let partials = posted
            .iter()
            .map(|p| PartialDecryption::from_bytes(&p.partials[slot]))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| corrupt("study", e))?;
        let combined =
            combine(key, aggregate, &context, &partials).map_err(|e| failed(e.to_string()))?;
        let above_lo = table
            .solve_shifted(&combined.point, bound.lo)
            .map_err(|e| failed(e.to_string()))?;
        let width = bound.hi - bound.lo;
        if above_lo > width + noise_widths[slot] {
            return Err(failed(format!(
                "the {:?} total lies above its bound",
                bound.slot
            )));
        }
        let noised = i128::from(above_lo) - i128::from(noise_widths[slot] / 2);
        totals.push(bound.lo + noised.clamp(0, i128::from(width)) as u64);
        decrypted_by = combined.used;
    }
    Ok(StudyResult {
        values: study.values,
        contributions: study.anonymous_contributions + study.institutional_contributions,
        totals,
        decrypted_by,
        height: call.env.height,
        noise: study.spec.epsilon_milli.map(|epsilon_milli| ResultNoise {
            epsilon_milli,
            shares: shares as u32,
        }),
    })
}
