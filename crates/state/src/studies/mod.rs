//! Privacy-preserving studies (DESIGN.md flows 5 and 6): the validators' analytics key and the
//! pseudonyms' ring keys (`setup`), proposals and approval, contributions aggregated
//! homomorphically as they land (`contribute`), and the threshold release of the aggregates
//! only (`release`). Every check follows the order `medchain_crypto::analytics`'s module doc
//! prescribes: the study's parameters from state first, then the ring, then the proofs, and
//! only then the aggregate.

mod ahead;
mod contribute;
mod noise;
mod release;
mod setup;
mod verdicts;

pub(crate) use ahead::verify_contributions_ahead;
pub(crate) use contribute::{contribute_anonymously, contribute_institutional};
pub(crate) use noise::add_noise;
pub(crate) use release::{close, post_partials};
pub(crate) use setup::{register_ring_key, submit_analytics_key};

use crate::entries::{StudyApproval, StudyEntry, StudyIndexEntry, StudyStatus};
use crate::error::{StateError, StudyFault, TxError};
use crate::exec::{Call, Outcome};
use crate::store::Store;
use crate::{keys, query, rw};
use medchain_crypto::analytics::{
    AnalyticsPublicKey, dlog::DiscreteLogTable, elgamal, range::Range, threshold,
};
use medchain_types::{ProposalId, Role, StudyId, StudySpec, limits};

// The wire limits in `medchain_types` restate the crypto crate's sizes; they must agree.
const _: () = assert!(limits::STUDY_CIPHERTEXT_SIZE_BYTES == elgamal::CIPHERTEXT_SIZE_BYTES);
const _: () = assert!(limits::STUDY_PARTIAL_SIZE_BYTES == threshold::PARTIAL_SIZE_BYTES);
const _: () = assert!(
    limits::STUDY_RANGE_PROOF_SIZE_MAX_BYTES
        == medchain_crypto::analytics::range::PROOF_SIZE_MAX_BYTES
);
// A noise share `share + bound` within `[0, 2·bound]` (bound checked by `StudySpec::validate`)
// always has a range a proof covers.
const _: () =
    assert!(2 * limits::STUDY_NOISE_BOUND_MAX < 1 << medchain_crypto::analytics::RANGE_BITS_MAX);
const _: () =
    assert!(limits::STUDY_RING_SIZE_MAX_MEMBERS <= medchain_crypto::ring::RING_SIZE_MAX_MEMBERS);
const _: () =
    assert!(limits::STUDY_RING_SIZE_MIN_MEMBERS >= medchain_crypto::ring::RING_SIZE_MIN_MEMBERS);
const _: () = assert!(
    limits::STUDY_DLOG_TABLE_ENTRIES_MAX
        <= medchain_crypto::analytics::dlog::DLOG_TABLE_ENTRIES_MAX
);

pub(crate) fn refuse(fault: StudyFault) -> TxError {
    TxError::Study(fault)
}

pub(crate) async fn load<S: Store>(store: &S, id: &StudyId) -> Result<StudyEntry, TxError> {
    query::study(store, id)
        .await?
        .ok_or(TxError::UnknownStudy(*id))
}

/// A stored G1 key or ciphertext that does not decode is corruption, never bad input.
pub(crate) fn corrupt(table: &'static str, reason: impl ToString) -> TxError {
    TxError::State(StateError::Corrupt {
        table,
        reason: reason.to_string(),
    })
}

/// The key contributions to `study` encrypt to: the one in force when it was approved.
pub(crate) fn approved_key(study: &StudyEntry) -> Result<AnalyticsPublicKey, TxError> {
    let approval = study
        .approval
        .as_ref()
        .ok_or_else(|| corrupt("study", "an approved study has no approval"))?;
    AnalyticsPublicKey::from_bytes(&approval.public_key).map_err(|e| corrupt("study", e))
}

/// Baby steps `DiscreteLogTable::new` allocates for `[0, width]` (its own computation):
/// `ceil(sqrt(width + 1))`.
pub(crate) fn table_entries(width: u64) -> u64 {
    let count = u128::from(width) + 1;
    let mut step = (count as f64).sqrt() as u128;
    while step * step < count {
        step += 1;
    }
    step as u64
}

/// A researcher proposes a study; it waits for the consortium's `ApproveStudy` vote.
pub(crate) async fn propose<S: Store>(
    store: &mut S,
    call: &Call<'_>,
    spec: &StudySpec,
) -> Result<Outcome, TxError> {
    rw::active_member_with_role(store, call.sender, Role::Researcher, "propose a study").await?;
    check_runnable(call.env.height, spec)?;
    for institution in &spec.cohort.institutions {
        rw::active_institution(store, institution).await?;
    }
    let id = StudyId::from_tx(&call.tx_hash);
    let entry = StudyEntry {
        id,
        researcher: call.sender.clone(),
        spec: spec.clone(),
        status: StudyStatus::Proposed,
        proposed_height: call.env.height,
        approval: None,
        aggregates: Vec::new(),
        values: 0,
        anonymous_contributions: 0,
        institutional_contributions: 0,
        closed_height: None,
        partials: Vec::new(),
        noise_from: Vec::new(),
        result: None,
    };
    rw::write(store, keys::study(&id), &entry);
    rw::append(
        store,
        keys::study_index_count(),
        keys::study_index,
        "study_index_count",
        |sequence| StudyIndexEntry {
            sequence,
            study: id,
            proposed_height: call.env.height,
        },
    )
    .await?;
    Ok(Outcome::StudyProposed { study: id })
}

/// What makes a valid spec runnable on this ledger: a deadline ahead, a release whose
/// discrete logarithm fits the table limit at `values_max`, per-value ranges a proof can
/// cover, and an anonymous contribution that fits in one transaction.
fn check_runnable(height: u64, spec: &StudySpec) -> Result<(), TxError> {
    let unrunnable = |reason: String| Err(refuse(StudyFault::Unrunnable(reason)));
    if spec.deadline_height <= height
        || spec.deadline_height - height > limits::STUDY_DEADLINE_MAX_BLOCKS
    {
        return unrunnable(format!(
            "the deadline must lie 1 to {} blocks after height {height}",
            limits::STUDY_DEADLINE_MAX_BLOCKS
        ));
    }
    let Some(release) = spec.slot_bounds(spec.values_max) else {
        return unrunnable("values_max times the range overflows 64 bits".into());
    };
    // With ε, up to `noise_shares_max` shares widen each plaintext.
    let noise_widths = noise_widths(spec, noise::noise_shares_max());
    for (bound, noise_width) in release.iter().zip(noise_widths) {
        let Some(width) = (bound.hi - bound.lo).checked_add(noise_width) else {
            return unrunnable("the release width overflows 64 bits".into());
        };
        let entries = table_entries(width);
        if entries > limits::STUDY_DLOG_TABLE_ENTRIES_MAX {
            return unrunnable(format!(
                "releasing its {:?} aggregate of up to {} values (and its noise, with epsilon) needs {entries} discrete-log table entries, more than study_dlog_table_entries_max ({}); narrow the range, lower values_max or raise epsilon",
                bound.slot,
                spec.values_max,
                limits::STUDY_DLOG_TABLE_ENTRIES_MAX
            ));
        }
    }
    let single = spec
        .slot_bounds(1)
        .ok_or_else(|| refuse(StudyFault::Unrunnable("the range overflows".into())))?;
    let mut proofs_bytes = 0usize;
    for bound in &single {
        let range = Range::new(bound.lo, bound.hi)
            .map_err(|e| refuse(StudyFault::Unrunnable(e.to_string())))?;
        proofs_bytes += limits::STUDY_CIPHERTEXT_SIZE_BYTES + range.proof_size_bytes() + 8;
    }
    if !spec.histogram.is_empty() {
        proofs_bytes += Range::new(1, 1)
            .map_err(|e| refuse(StudyFault::Unrunnable(e.to_string())))?
            .proof_size_bytes();
    }
    // Ring keys and signature responses, 32 bytes each, plus envelope, ids and signatures.
    let ring_bytes = 32 * (2 * spec.ring_size as usize + 2);
    let total_bytes = proofs_bytes + ring_bytes + 512;
    if total_bytes > limits::TX_SIZE_MAX_BYTES {
        return unrunnable(format!(
            "an anonymous contribution would be about {total_bytes} bytes, more than tx_size_max_bytes ({}); ask for fewer aggregates, a narrower range or a smaller ring",
            limits::TX_SIZE_MAX_BYTES
        ));
    }
    Ok(())
}

/// Preconditions of `ApproveStudy`, checked when proposed and again when the vote passes.
pub(crate) async fn check_approvable<S: Store>(store: &S, id: &StudyId) -> Result<(), TxError> {
    let study = load(store, id).await?;
    if study.status != StudyStatus::Proposed {
        return Err(TxError::InvalidChange(format!(
            "study {id} is {}; only a proposed study is approved",
            study.status.name()
        )));
    }
    if query::analytics_key(store).await?.is_none() {
        return Err(TxError::InvalidChange(
            "no analytics key is on the ledger yet; approve the study once the validators' DKG key is in force".into(),
        ));
    }
    Ok(())
}

/// The vote passed: the study opens under the analytics key in force now.
pub(crate) async fn approve<S: Store>(
    store: &mut S,
    id: &StudyId,
    proposal: ProposalId,
    height: u64,
) -> Result<(), TxError> {
    let mut study = load(store, id).await?;
    let key = query::analytics_key(store)
        .await?
        .ok_or_else(|| corrupt("analytics_key", "checked present before approval"))?;
    assert_eq!(
        study.status,
        StudyStatus::Proposed,
        "checked by check_approvable"
    );
    study.status = StudyStatus::Approved;
    study.approval = Some(StudyApproval {
        proposal,
        height,
        key_epoch: key.epoch,
        public_key: key.public_key,
    });
    rw::write(store, keys::study(id), &study);
    Ok(())
}

/// How much `shares` noise shares can widen each slot's plaintext: each adds `share + bound`,
/// a value of `[0, 2·bound]`, so `2·shares·bound` (zero for every slot without ε).
pub(crate) fn noise_widths(spec: &StudySpec, shares: u64) -> Vec<u64> {
    match spec.slot_noise() {
        Some(noise) => noise.iter().map(|n| 2 * shares * n.bound).collect(),
        None => vec![0; spec.slots().len()],
    }
}

/// A table for the widest aggregate of a study with `values` values and `noise_shares` noise
/// shares added (built once per release).
pub(crate) fn release_table(
    spec: &StudySpec,
    values: u64,
    noise_shares: u64,
) -> Result<DiscreteLogTable, TxError> {
    let bounds = spec
        .slot_bounds(values)
        .ok_or_else(|| corrupt("study", "values beyond values_max"))?;
    let width = bounds
        .iter()
        .zip(noise_widths(spec, noise_shares))
        .map(|(b, noise_width)| b.hi - b.lo + noise_width)
        .max()
        .unwrap_or(0);
    assert!(
        noise_shares <= noise::noise_shares_max()
            && table_entries(width) <= limits::STUDY_DLOG_TABLE_ENTRIES_MAX,
        "check_runnable bounds the table at values_max and the most noise shares, and values <= values_max"
    );
    DiscreteLogTable::new(width).map_err(|e| corrupt("study", e))
}
