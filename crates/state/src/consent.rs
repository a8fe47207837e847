//! Consent: only the patient's own pseudonym key grants or revokes. A permit names its grantee
//! (its first person actor) and commits to one sealed re-encryption fragment per validator that
//! will hold one (at least t = f + 1 current validators), each exactly one HPKE-sealed kfrag
//! bound by `fragment_seal_info` to this chain, consent, patient, grantee and validator. The
//! fragments themselves never enter block history: each validator takes its own off-chain and
//! keeps it only if it hashes to the commitment. A revoked consent is dropped from the
//! patient's index and never applies again.

use crate::entries::{ConsentEntry, PatientConsents, ValidatorSet};
use crate::error::TxError;
use crate::exec::{Call, Outcome};
use crate::store::Store;
use crate::{keys, query, rw};
use medchain_types::{
    AccountId, ConsentId, ConsentPolicy, DataScope, Decision, FragmentCommitment, limits,
};

pub(crate) async fn grant<S: Store>(
    store: &mut S,
    call: &Call<'_>,
    policy: &ConsentPolicy,
    fragments: &[FragmentCommitment],
) -> Result<Outcome, TxError> {
    let patient = call.sender;
    if rw::pseudonym(store, patient).await?.is_none() {
        return Err(TxError::UnknownSender {
            sender: Box::new(patient.clone()),
        });
    }
    if let DataScope::Records(records) = &policy.data {
        for record in records {
            check_own_record(store, patient, record).await?;
        }
    }
    if policy.decision == Decision::Permit && policy.grantee().is_none() {
        return Err(TxError::BadFragments(
            "a permit releases keys to one person: name the grantee as the first person actor"
                .into(),
        ));
    }
    let set = rw::validator_set(store).await?;
    check_fragments(&set, policy.decision, fragments)?;
    let mut index = patient_consents(store, patient).await?;
    if index.consents.len() >= limits::CONSENTS_PER_PATIENT_MAX {
        return Err(TxError::LimitExceeded {
            limit: "consents_per_patient_max",
            max: limits::CONSENTS_PER_PATIENT_MAX as u64,
            got: index.consents.len() as u64 + 1,
        });
    }
    let id = ConsentId::for_grant(&call.env.chain_id, patient, call.nonce);
    index.consents.push(id);
    let entry = ConsentEntry {
        id,
        patient: patient.clone(),
        policy: policy.clone(),
        fragments: fragments.to_vec(),
        threshold: if policy.decision == Decision::Permit {
            set.reencryption_threshold() as u32
        } else {
            0
        },
        granted_height: call.env.height,
        revoked_height: None,
    };
    rw::write(store, keys::consent(&id), &entry);
    rw::write(store, keys::patient_consents(patient), &index);
    Ok(Outcome::ConsentGranted { consent: id })
}

async fn check_own_record<S: Store>(
    store: &S,
    patient: &AccountId,
    record: &medchain_types::RecordId,
) -> Result<(), TxError> {
    let entry = query::record(store, record)
        .await?
        .ok_or(TxError::UnknownRecord(*record))?;
    if &entry.patient != patient {
        return Err(TxError::NotAuthorized(format!(
            "record {record} belongs to another pseudonym"
        )));
    }
    Ok(())
}

/// A permit needs fragments for at least t current validators; a deny carries none.
fn check_fragments(
    set: &ValidatorSet,
    decision: Decision,
    fragments: &[FragmentCommitment],
) -> Result<(), TxError> {
    if decision == Decision::Deny {
        if !fragments.is_empty() {
            return Err(TxError::BadFragments(
                "a deny consent releases nothing; send no fragments".into(),
            ));
        }
        return Ok(());
    }
    if let Some(stranger) = fragments.iter().find(|f| !set.contains(&f.validator)) {
        return Err(TxError::BadFragments(format!(
            "{} is not a current validator",
            stranger.validator
        )));
    }
    let threshold = set.reencryption_threshold();
    if fragments.len() < threshold {
        return Err(TxError::BadFragments(format!(
            "{} fragments committed, the current {} validators need at least {threshold}",
            fragments.len(),
            set.len()
        )));
    }
    Ok(())
}

/// Replaces a permit's fragment commitments with ones for the current validator set; the
/// threshold becomes the current set's. Fragments a validator held under the old commitments no
/// longer match, so it releases nothing with them (`node::reencryption` checks the digest).
pub(crate) async fn reissue<S: Store>(
    store: &mut S,
    call: &Call<'_>,
    id: &ConsentId,
    fragments: &[FragmentCommitment],
) -> Result<Outcome, TxError> {
    let mut entry = query::consent(store, id)
        .await?
        .ok_or(TxError::UnknownConsent(*id))?;
    if &entry.patient != call.sender {
        return Err(TxError::NotAuthorized(
            "only the patient who granted a consent can re-issue its fragments".into(),
        ));
    }
    if entry.revoked_height.is_some() {
        return Err(TxError::AlreadyRevoked);
    }
    if entry.policy.decision == Decision::Deny {
        return Err(TxError::BadFragments(
            "a deny consent releases nothing; it has no fragments to re-issue".into(),
        ));
    }
    let set = rw::validator_set(store).await?;
    check_fragments(&set, entry.policy.decision, fragments)?;
    entry.fragments = fragments.to_vec();
    entry.threshold = set.reencryption_threshold() as u32;
    rw::write(store, keys::consent(id), &entry);
    Ok(Outcome::FragmentsReissued {
        consent: *id,
        threshold: entry.threshold,
    })
}

pub(crate) async fn revoke<S: Store>(
    store: &mut S,
    call: &Call<'_>,
    id: &ConsentId,
) -> Result<Outcome, TxError> {
    let mut entry = query::consent(store, id)
        .await?
        .ok_or(TxError::UnknownConsent(*id))?;
    if &entry.patient != call.sender {
        return Err(TxError::NotAuthorized(
            "only the patient who granted a consent can revoke it".into(),
        ));
    }
    if entry.revoked_height.is_some() {
        return Err(TxError::AlreadyRevoked);
    }
    entry.revoked_height = Some(call.env.height);
    let mut index = patient_consents(store, call.sender).await?;
    index.consents.retain(|c| c != id);
    rw::write(store, keys::consent(id), &entry);
    rw::write(store, keys::patient_consents(call.sender), &index);
    Ok(Outcome::ConsentRevoked { consent: *id })
}

pub(crate) async fn patient_consents<S: Store>(
    store: &S,
    patient: &AccountId,
) -> Result<PatientConsents, TxError> {
    Ok(
        rw::read(store, &keys::patient_consents(patient), "patient_consents")
            .await?
            .unwrap_or_default(),
    )
}
