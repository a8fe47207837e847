//! Typed reads for the API. Each reads the keys in `keys`, so the node can
//! prove any answer with a proof for that key against a finalized state root.

use crate::entries::{
    AccessLogEntry, ChainEntry, ConsentEntry, ConsortiumPolicyEntry, EmergencyServiceEntry,
    InstitutionEntry, MemberEntry, PatientConsents, ProposalEntry, PseudonymEntry, RecordEntry,
    ReviewItem, ValidatorSet,
};
use crate::error::StateError;
use crate::store::Store;
use crate::{keys, rw};
use medchain_types::{AccountId, ConsentId, InstitutionId, ProposalId, RecordId, limits};
use serde::{Deserialize, Serialize};

pub async fn chain<S: Store>(store: &S) -> Result<Option<ChainEntry>, StateError> {
    rw::read(store, &keys::chain(), "chain").await
}

pub async fn institution<S: Store>(
    store: &S,
    id: &InstitutionId,
) -> Result<Option<InstitutionEntry>, StateError> {
    rw::institution(store, id).await
}

/// A member and whether it may act now (unrevoked, institution still in the consortium).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberView {
    pub member: MemberEntry,
    pub active: bool,
}

pub async fn member<S: Store>(
    store: &S,
    account: &AccountId,
) -> Result<Option<MemberView>, StateError> {
    let Some(member) = rw::member(store, account).await? else {
        return Ok(None);
    };
    let active = rw::member_is_active(store, &member).await?;
    Ok(Some(MemberView { member, active }))
}

/// The consortium's Cedar policy set in force (written at genesis, so absent only before it).
pub async fn consortium_policy<S: Store>(
    store: &S,
) -> Result<Option<ConsortiumPolicyEntry>, StateError> {
    rw::read(store, &keys::consortium_policy(), "consortium_policy").await
}

pub async fn validators<S: Store>(store: &S) -> Result<ValidatorSet, StateError> {
    rw::validator_set(store).await
}

pub async fn pseudonym<S: Store>(
    store: &S,
    account: &AccountId,
) -> Result<Option<PseudonymEntry>, StateError> {
    rw::pseudonym(store, account).await
}

pub async fn emergency_access<S: Store>(
    store: &S,
    pseudonym: &AccountId,
    institution: &InstitutionId,
) -> Result<bool, StateError> {
    Ok(store
        .get(&keys::emergency_access(pseudonym, institution))
        .await?
        .is_some())
}

/// The institution's active emergency key service, if it registered one.
pub async fn emergency_service<S: Store>(
    store: &S,
    institution: &InstitutionId,
) -> Result<Option<EmergencyServiceEntry>, StateError> {
    rw::read(
        store,
        &keys::emergency_service(institution),
        "emergency_service",
    )
    .await
}

/// Items `from..` of the break-glass review queue, at most `limit` and never more than
/// `review_queue_page_max_entries`, with the queue's length.
pub async fn review_queue<S: Store>(
    store: &S,
    from: u64,
    limit: usize,
) -> Result<(Vec<ReviewItem>, u64), StateError> {
    let total: u64 = rw::read(store, &keys::review_queue_count(), "review_queue_count")
        .await?
        .unwrap_or(0);
    let limit = limit.min(limits::REVIEW_QUEUE_PAGE_MAX_ENTRIES) as u64;
    let end = from.saturating_add(limit).min(total);
    let mut items = Vec::new();
    for item in from..end {
        let entry = rw::read(store, &keys::review_item(item), "review_queue").await?;
        items.push(entry.ok_or_else(|| StateError::Corrupt {
            table: "review_queue",
            reason: format!("item {item} below the count {total} is missing"),
        })?);
    }
    Ok((items, total))
}

pub async fn record<S: Store>(store: &S, id: &RecordId) -> Result<Option<RecordEntry>, StateError> {
    rw::read(store, &keys::record(id), "record").await
}

pub async fn consent<S: Store>(
    store: &S,
    id: &ConsentId,
) -> Result<Option<ConsentEntry>, StateError> {
    rw::read(store, &keys::consent(id), "consent").await
}

/// The pseudonym's unrevoked consents, in grant order (revoked ones stay readable by id).
pub async fn patient_consents<S: Store>(
    store: &S,
    pseudonym: &AccountId,
) -> Result<Vec<ConsentEntry>, StateError> {
    let index: PatientConsents = rw::read(
        store,
        &keys::patient_consents(pseudonym),
        "patient_consents",
    )
    .await?
    .unwrap_or_default();
    let mut consents = Vec::with_capacity(index.consents.len());
    for id in index.consents {
        let entry = consent(store, &id)
            .await?
            .ok_or_else(|| StateError::Corrupt {
                table: "patient_consents",
                reason: format!("lists consent {id} which is not stored"),
            })?;
        consents.push(entry);
    }
    Ok(consents)
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessLogPage {
    pub entries: Vec<AccessLogEntry>,
    /// Entries logged for this pseudonym so far.
    pub total: u64,
    /// Sequence to ask for next, if there are more.
    pub next: Option<u64>,
}

/// Entries `from..` of a pseudonym's access log, at most `limit` and never more
/// than `access_log_page_max_entries`.
pub async fn access_log<S: Store>(
    store: &S,
    pseudonym: &AccountId,
    from: u64,
    limit: usize,
) -> Result<AccessLogPage, StateError> {
    let total: u64 = rw::read(
        store,
        &keys::access_log_count(pseudonym),
        "access_log_count",
    )
    .await?
    .unwrap_or(0);
    let limit = limit.min(limits::ACCESS_LOG_PAGE_MAX_ENTRIES) as u64;
    let end = from.saturating_add(limit).min(total);
    let mut entries = Vec::new();
    for sequence in from..end {
        let entry = rw::read(store, &keys::access_log(pseudonym, sequence), "access_log").await?;
        entries.push(entry.ok_or_else(|| StateError::Corrupt {
            table: "access_log",
            reason: format!("entry {sequence} below the count {total} is missing"),
        })?);
    }
    let next = (end < total).then_some(end);
    Ok(AccessLogPage {
        entries,
        total,
        next,
    })
}

pub async fn proposal<S: Store>(
    store: &S,
    id: &ProposalId,
) -> Result<Option<ProposalEntry>, StateError> {
    rw::read(store, &keys::proposal(id), "proposal").await
}

/// The nonce the account's next transaction must carry.
pub async fn next_nonce<S: Store>(store: &S, account: &AccountId) -> Result<u64, StateError> {
    Ok(rw::read::<_, u64>(store, &keys::nonce(account), "nonce")
        .await?
        .unwrap_or(0))
}

/// The validators' analytics key in force, if 2f+1 of them have submitted it.
pub async fn analytics_key<S: Store>(
    store: &S,
) -> Result<Option<crate::entries::AnalyticsKeyEntry>, StateError> {
    rw::read(store, &keys::analytics_key(), "analytics_key").await
}

pub async fn ring_key<S: Store>(
    store: &S,
    pseudonym: &AccountId,
) -> Result<Option<crate::entries::RingKeyEntry>, StateError> {
    rw::read(store, &keys::ring_key(pseudonym), "ring_key").await
}

/// The pseudonym that registered `ring_key`.
pub async fn ring_key_owner<S: Store>(
    store: &S,
    ring_key: &[u8; 32],
) -> Result<Option<AccountId>, StateError> {
    rw::read(store, &keys::ring_key_owner(ring_key), "ring_key_owner").await
}

pub async fn study<S: Store>(
    store: &S,
    id: &medchain_types::StudyId,
) -> Result<Option<crate::entries::StudyEntry>, StateError> {
    rw::read(store, &keys::study(id), "study").await
}

/// The pseudonym's count of unerased records of `category` (0 if none): what a study's cohort
/// filter checks of a ring member.
pub async fn patient_category<S: Store>(
    store: &S,
    pseudonym: &AccountId,
    category: medchain_types::RecordCategory,
) -> Result<u64, StateError> {
    Ok(rw::read(
        store,
        &keys::patient_category(pseudonym, category),
        "patient_category",
    )
    .await?
    .unwrap_or(0))
}

/// Lines `from..from + limit` of an append-only log whose length is at `count_key`.
async fn log_lines<S: Store, T: commonware_codec::Read<Cfg = ()>>(
    store: &S,
    count_key: &[u8],
    line: fn(u64) -> Vec<u8>,
    table: &'static str,
    from: u64,
    limit: u64,
) -> Result<Vec<T>, StateError> {
    let total: u64 = rw::read(store, count_key, table).await?.unwrap_or(0);
    let end = from.saturating_add(limit).min(total);
    let mut lines = Vec::new();
    for sequence in from..end {
        let entry = rw::read(store, &line(sequence), table).await?;
        lines.push(entry.ok_or_else(|| StateError::Corrupt {
            table,
            reason: format!("line {sequence} below the count {total} is missing"),
        })?);
    }
    Ok(lines)
}

/// Studies `from..from + limit` in proposal order.
pub async fn study_index<S: Store>(
    store: &S,
    from: u64,
    limit: u64,
) -> Result<Vec<crate::entries::StudyIndexEntry>, StateError> {
    log_lines(
        store,
        &keys::study_index_count(),
        keys::study_index,
        "study_index",
        from,
        limit,
    )
    .await
}

/// Ring keys `from..from + limit` in registration order.
pub async fn ring_directory<S: Store>(
    store: &S,
    from: u64,
    limit: u64,
) -> Result<Vec<crate::entries::RingDirectoryEntry>, StateError> {
    log_lines(
        store,
        &keys::ring_directory_count(),
        keys::ring_directory,
        "ring_directory",
        from,
        limit,
    )
    .await
}
