//! Ledger reads with proofs: each value comes with a QMDB key-value proof against the state
//! root of a finalized block, so a client that checks the block's finalization certificate
//! (`medchain_verify`) needs to trust no node. Values read together (a log's length and its
//! entries) are proven under one snapshot, so they share one height.

use crate::{
    api::{ApiError, ApiState, internal},
    store::{StateDb, state_key_digest},
};
use axum::{
    Json,
    extract::{Path, Query, State},
};
use commonware_codec::{DecodeExt as _, Encode as _, Read};
use commonware_cryptography::sha256;
use commonware_runtime::tokio::Context;
use medchain_state::keys;
use medchain_types::{
    AccountId, ConsentId, InstitutionId, ProposalId, RecordCategory, RecordId, StudyId,
    api::{AccessLogResponse, ApiErrorCode, ErrorBody, Proven, StateProof},
};
use serde::Deserialize;
use std::time::Duration;

/// How long a read waits for the state database and the finalized tip to agree.
const SNAPSHOT_SETTLE_MAX_MS: u64 = 2_000;

/// Reads several state keys under one snapshot and proves each.
async fn read_proven(
    state: &ApiState,
    state_keys: &[Vec<u8>],
) -> Result<Vec<Option<StateProof>>, ApiError> {
    with_snapshot(state, async |db, height, root| {
        prove_all(db, state_keys, height, root).await
    })
    .await
}

/// Runs `read` on the state database once its root is that of a finalized block (whose height
/// and root it gets), so every proof it makes is against that one block.
async fn with_snapshot<R>(
    state: &ApiState,
    read: impl AsyncFnOnce(&StateDb<Context>, u64, sha256::Digest) -> Result<R, ApiError>,
) -> Result<R, ApiError> {
    let handles = state.handles();
    let shared = state.databases().await;
    let deadline = std::time::Instant::now() + Duration::from_millis(SNAPSHOT_SETTLE_MAX_MS);
    loop {
        {
            let db = shared.read().await;
            let root = db.root();
            if let Some(height) = handles.chain.height_of_state_root(&root) {
                return read(&db, height, root).await;
            }
        }
        // The database applied a block whose finalization the application has not recorded
        // yet (or vice versa); they agree again within one block.
        if std::time::Instant::now() >= deadline {
            return Err(ApiError::new(
                ApiErrorCode::StateUnavailable,
                "no finalized block matches the state yet; retry in a moment",
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn prove_all(
    db: &StateDb<Context>,
    state_keys: &[Vec<u8>],
    height: u64,
    root: sha256::Digest,
) -> Result<Vec<Option<StateProof>>, ApiError> {
    let mut out = Vec::with_capacity(state_keys.len());
    for key in state_keys {
        let digest = state_key_digest(key);
        let Some(value) = db.get(&digest).await.map_err(internal)? else {
            out.push(None);
            continue;
        };
        let proof = db.key_value_proof(digest).await.map_err(internal)?;
        out.push(Some(StateProof {
            state_key: hex::encode(key),
            value: hex::encode(&value.0),
            proof: hex::encode(proof.encode()),
            height,
            state_root: hex::encode(root),
        }));
    }
    Ok(out)
}

/// The finalized values of several state keys under one snapshot, without proofs: for the
/// node's own decisions (the re-encryption service), which trust its own state.
async fn finalized_values(
    state: &ApiState,
    state_keys: &[Vec<u8>],
) -> Result<Vec<Option<Vec<u8>>>, ApiError> {
    with_snapshot(state, async |db, _height, _root| {
        let mut out = Vec::with_capacity(state_keys.len());
        for key in state_keys {
            let value = db
                .get(&state_key_digest(key))
                .await
                .map_err(internal)?
                .map(|v| v.0.to_vec());
            out.push(value);
        }
        Ok(out)
    })
    .await
}

/// One finalized state value, decoded as `T`, without a proof (see [`finalized_values`]); a
/// value that does not decode is corruption.
pub(crate) async fn finalized_value<T: Read<Cfg = ()>>(
    state: &ApiState,
    key: Vec<u8>,
) -> Result<Option<T>, ApiError> {
    match finalized_values(state, &[key]).await?.pop().flatten() {
        Some(bytes) => Ok(Some(
            T::decode(commonware_codec::Copying(bytes.as_slice())).map_err(internal)?,
        )),
        None => Ok(None),
    }
}

fn decode_entry<T: Read<Cfg = ()>>(proof: &StateProof) -> Result<T, ApiError> {
    let bytes = hex::decode(&proof.value).map_err(internal)?;
    T::decode(commonware_codec::Copying(bytes.as_slice())).map_err(internal)
}

async fn proven_one<T: Read<Cfg = ()>>(
    state: &ApiState,
    key: Vec<u8>,
    what: &str,
) -> Result<Json<Proven<T>>, ApiError> {
    let proof = read_proven(state, &[key])
        .await?
        .pop()
        .flatten()
        .ok_or_else(|| {
            ApiError::new(
                ApiErrorCode::NotFound,
                format!("no such {what} on the ledger"),
            )
        })?;
    Ok(Json(Proven {
        value: decode_entry(&proof)?,
        proof,
    }))
}

fn parse<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, ApiError> {
    text.parse()
        .map_err(|_| ApiError::new(ApiErrorCode::Malformed, format!("{what} is malformed")))
}

#[utoipa::path(get, path = "/v1/records/{id}", params(("id" = String, Path, description = "record id, hex")),
    responses((status = 200, body = Proven<medchain_state::RecordEntry>), (status = 404, body = ErrorBody)))]
pub async fn record(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<Proven<medchain_state::RecordEntry>>, ApiError> {
    let id: RecordId = parse(&id, "record id (64 hex characters)")?;
    proven_one(&state, keys::record(&id), "record").await
}

#[utoipa::path(get, path = "/v1/consents/{id}", params(("id" = String, Path, description = "consent id, hex")),
    responses((status = 200, body = Proven<medchain_state::ConsentEntry>), (status = 404, body = ErrorBody)))]
pub async fn consent(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<Proven<medchain_state::ConsentEntry>>, ApiError> {
    let id: ConsentId = parse(&id, "consent id (64 hex characters)")?;
    proven_one(&state, keys::consent(&id), "consent").await
}

#[utoipa::path(get, path = "/v1/patients/{pseudonym}", params(("pseudonym" = String, Path, description = "pseudonym account, hex")),
    responses((status = 200, body = Proven<medchain_state::PseudonymEntry>), (status = 404, body = ErrorBody)))]
pub async fn pseudonym(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<Proven<medchain_state::PseudonymEntry>>, ApiError> {
    let id: AccountId = parse(&id, "pseudonym (64 hex characters)")?;
    proven_one(&state, keys::pseudonym(&id), "pseudonym").await
}

#[utoipa::path(get, path = "/v1/members/{account}", params(("account" = String, Path, description = "member account, hex")),
    responses((status = 200, body = Proven<medchain_state::MemberEntry>), (status = 404, body = ErrorBody)))]
pub async fn member(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<Proven<medchain_state::MemberEntry>>, ApiError> {
    let id: AccountId = parse(&id, "account (64 hex characters)")?;
    proven_one(&state, keys::member(&id), "member").await
}

#[utoipa::path(get, path = "/v1/institutions/{id}", params(("id" = String, Path, description = "institution slug")),
    responses((status = 200, body = Proven<medchain_state::InstitutionEntry>), (status = 404, body = ErrorBody)))]
pub async fn institution(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<Proven<medchain_state::InstitutionEntry>>, ApiError> {
    let id = InstitutionId::new(&id)
        .map_err(|e| ApiError::new(ApiErrorCode::Malformed, e.to_string()))?;
    proven_one(&state, keys::institution(&id), "institution").await
}

#[utoipa::path(get, path = "/v1/proposals/{id}", params(("id" = String, Path, description = "proposal id, hex")),
    responses((status = 200, body = Proven<medchain_state::ProposalEntry>), (status = 404, body = ErrorBody)))]
pub async fn proposal(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<Proven<medchain_state::ProposalEntry>>, ApiError> {
    let id: ProposalId = parse(&id, "proposal id (64 hex characters)")?;
    proven_one(&state, keys::proposal(&id), "proposal").await
}

#[utoipa::path(get, path = "/v1/validator-set",
    responses((status = 200, body = Proven<medchain_state::ValidatorSet>), (status = 404, body = ErrorBody)))]
/// The state's current validator set with its proof: the keys and the count a patient's client
/// seals re-encryption fragments to (and takes the threshold from).
pub async fn validator_set_proven(
    State(state): State<ApiState>,
) -> Result<Json<Proven<medchain_state::ValidatorSet>>, ApiError> {
    validator_set(&state).await
}

/// The state's current validator set (the one governance changes; consensus follows it from
/// the next epoch boundary).
pub async fn validator_set(
    state: &ApiState,
) -> Result<Json<Proven<medchain_state::ValidatorSet>>, ApiError> {
    proven_one(state, keys::validator_set(), "validator set").await
}

#[utoipa::path(get, path = "/v1/policy",
    responses((status = 200, body = Proven<medchain_state::ConsortiumPolicyEntry>), (status = 404, body = ErrorBody)))]
/// The consortium's Cedar policy set in force, with its schema, version and the proposal that set
/// it, proven: the rules every access decision applies after the patient's consent.
pub async fn consortium_policy(
    State(state): State<ApiState>,
) -> Result<Json<Proven<medchain_state::ConsortiumPolicyEntry>>, ApiError> {
    proven_one(&state, keys::consortium_policy(), "consortium policy").await
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct PageParams {
    /// First sequence number to return.
    #[serde(default)]
    pub from: u64,
    /// Entries to return (at most 256).
    #[serde(default = "default_page")]
    pub limit: usize,
}

fn default_page() -> usize {
    medchain_types::limits::ACCESS_LOG_PAGE_MAX_ENTRIES
}

/// A page of a pseudonym's access log as this node serves it.
pub type AccessLogPage = AccessLogResponse<medchain_state::AccessLogEntry>;

#[utoipa::path(get, path = "/v1/patients/{pseudonym}/access-log", params(("pseudonym" = String, Path, description = "pseudonym account, hex"), PageParams),
    responses((status = 200, body = AccessLogResponse<medchain_state::AccessLogEntry>), (status = 400, body = ErrorBody)))]
pub async fn access_log(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Query(page): Query<PageParams>,
) -> Result<Json<AccessLogPage>, ApiError> {
    let id: AccountId = parse(&id, "pseudonym (64 hex characters)")?;
    let limit = page
        .limit
        .min(medchain_types::limits::ACCESS_LOG_PAGE_MAX_ENTRIES) as u64;
    let log = LogKeys {
        count: keys::access_log_count(&id),
        entry: &|sequence| keys::access_log(&id, sequence),
    };
    Ok(Json(log_page(&state, &log, page.from, limit).await?))
}

/// A page of the consortium's break-glass review queue as this node serves it.
pub type ReviewQueuePage = AccessLogResponse<medchain_state::ReviewItem>;

#[utoipa::path(get, path = "/v1/reviews", params(PageParams),
    responses((status = 200, body = AccessLogResponse<medchain_state::ReviewItem>)))]
/// The break-glass review queue from `from`, proven complete like an access log: every
/// permitted ETREAT read, in commit order, with the auditor's finding once reviewed.
pub async fn review_queue(
    State(state): State<ApiState>,
    Query(page): Query<PageParams>,
) -> Result<Json<ReviewQueuePage>, ApiError> {
    let limit = page
        .limit
        .min(medchain_types::limits::REVIEW_QUEUE_PAGE_MAX_ENTRIES) as u64;
    let log = LogKeys {
        count: keys::review_queue_count(),
        entry: &keys::review_item,
    };
    Ok(Json(log_page(&state, &log, page.from, limit).await?))
}

#[utoipa::path(get, path = "/v1/patients/{pseudonym}/consents", params(("pseudonym" = String, Path, description = "pseudonym account, hex")),
    responses((status = 200, body = Proven<medchain_state::PatientConsents>), (status = 404, body = ErrorBody)))]
/// The ids of a pseudonym's unrevoked consents, proven.
pub async fn patient_consents(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<Proven<medchain_state::PatientConsents>>, ApiError> {
    let id: AccountId = parse(&id, "pseudonym (64 hex characters)")?;
    proven_one(&state, keys::patient_consents(&id), "patient consents").await
}

#[utoipa::path(get, path = "/v1/institutions/{id}/emergency-service", params(("id" = String, Path, description = "institution slug")),
    responses((status = 200, body = Proven<medchain_state::EmergencyServiceEntry>), (status = 404, body = ErrorBody)))]
/// The institution's active emergency key service, proven: the member a patient delegates
/// emergency fragments to.
pub async fn emergency_service(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<Proven<medchain_state::EmergencyServiceEntry>>, ApiError> {
    let id = InstitutionId::new(&id)
        .map_err(|e| ApiError::new(ApiErrorCode::Malformed, e.to_string()))?;
    proven_one(&state, keys::emergency_service(&id), "emergency service").await
}

#[utoipa::path(get, path = "/v1/analytics-key",
    responses((status = 200, body = Proven<medchain_state::AnalyticsKeyEntry>), (status = 404, body = ErrorBody)))]
/// The validators' analytics key (the DKG's public polynomial and group key), proven; 404
/// until n − f validators (2f+1 of 3f+1) submitted the same DKG output.
pub async fn analytics_key(
    State(state): State<ApiState>,
) -> Result<Json<Proven<medchain_state::AnalyticsKeyEntry>>, ApiError> {
    proven_one(&state, keys::analytics_key(), "analytics key").await
}

#[utoipa::path(get, path = "/v1/studies/{id}", params(("id" = String, Path, description = "study id, hex")),
    responses((status = 200, body = Proven<medchain_state::StudyEntry>), (status = 404, body = ErrorBody)))]
/// A study, proven: its spec, status, encrypted aggregates, posted partial decryptions and, once
/// released, its result.
pub async fn study(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<Proven<medchain_state::StudyEntry>>, ApiError> {
    let id: StudyId = parse(&id, "study id (64 hex characters)")?;
    proven_one(&state, keys::study(&id), "study").await
}

/// A page of the study index as this node serves it.
pub type StudyIndexPage = AccessLogResponse<medchain_state::StudyIndexEntry>;

#[utoipa::path(get, path = "/v1/studies", params(PageParams),
    responses((status = 200, body = AccessLogResponse<medchain_state::StudyIndexEntry>)))]
/// Every study ever proposed, in proposal order, proven complete like an access log.
pub async fn study_index(
    State(state): State<ApiState>,
    Query(page): Query<PageParams>,
) -> Result<Json<StudyIndexPage>, ApiError> {
    let limit = page
        .limit
        .min(medchain_types::limits::STUDY_INDEX_PAGE_MAX_ENTRIES) as u64;
    let log = LogKeys {
        count: keys::study_index_count(),
        entry: &keys::study_index,
    };
    Ok(Json(log_page(&state, &log, page.from, limit).await?))
}

/// A page of the ring-key directory as this node serves it.
pub type RingDirectoryPage = AccessLogResponse<medchain_state::RingDirectoryEntry>;

#[utoipa::path(get, path = "/v1/ring-keys", params(PageParams),
    responses((status = 200, body = AccessLogResponse<medchain_state::RingDirectoryEntry>)))]
/// Every registered ring key with its pseudonym and institution, in registration order, proven
/// complete: where an anonymous contributor's client picks the other members of its ring.
pub async fn ring_directory(
    State(state): State<ApiState>,
    Query(page): Query<PageParams>,
) -> Result<Json<RingDirectoryPage>, ApiError> {
    let limit = page
        .limit
        .min(medchain_types::limits::RING_DIRECTORY_PAGE_MAX_ENTRIES) as u64;
    let log = LogKeys {
        count: keys::ring_directory_count(),
        entry: &keys::ring_directory,
    };
    Ok(Json(log_page(&state, &log, page.from, limit).await?))
}

#[utoipa::path(get, path = "/v1/patients/{pseudonym}/categories/{category}",
    params(("pseudonym" = String, Path, description = "pseudonym account, hex"),
           ("category" = String, Path, description = "record category, e.g. laboratory")),
    responses((status = 200, body = Proven<u64>), (status = 404, body = ErrorBody)))]
/// How many unerased records of a category the pseudonym holds, proven (404 for none ever):
/// what a study's cohort filter checks of each ring member.
pub async fn patient_category(
    State(state): State<ApiState>,
    Path((id, category)): Path<(String, String)>,
) -> Result<Json<Proven<u64>>, ApiError> {
    let id: AccountId = parse(&id, "pseudonym (64 hex characters)")?;
    let category: RecordCategory = serde_json::from_value(serde_json::Value::String(category))
        .map_err(|_| {
            ApiError::new(
                ApiErrorCode::Malformed,
                "unknown record category; use a snake_case name such as laboratory",
            )
        })?;
    proven_one(
        &state,
        keys::patient_category(&id, category),
        "record of that category for this pseudonym",
    )
    .await
}

/// The state keys of one append-only log: its length and its entries by sequence.
struct LogKeys<'a> {
    count: Vec<u8>,
    entry: &'a (dyn Fn(u64) -> Vec<u8> + Sync),
}

/// Entries `from..from+limit` of a log with their proofs and the proven length.
async fn log_page<E>(
    state: &ApiState,
    log: &LogKeys<'_>,
    from: u64,
    limit: u64,
) -> Result<AccessLogResponse<E>, ApiError>
where
    E: commonware_codec::Read<Cfg = ()> + Send,
{
    // The length and the entries come from one snapshot: a client checks that they are proven
    // at one height, which is what makes the page provably complete.
    with_snapshot(state, async |db, height, root| {
        let count = prove_all(db, std::slice::from_ref(&log.count), height, root)
            .await?
            .pop()
            .flatten();
        let total: u64 = match &count {
            Some(proof) => decode_entry(proof)?,
            None => 0,
        };
        let end = from.saturating_add(limit).min(total);
        let entry_keys: Vec<_> = (from..end).map(log.entry).collect();
        let mut entries = Vec::new();
        for proof in prove_all(db, &entry_keys, height, root)
            .await?
            .into_iter()
            .flatten()
        {
            entries.push(Proven {
                value: decode_entry(&proof)?,
                proof,
            });
        }
        Ok(AccessLogResponse {
            total,
            total_proof: count,
            entries,
            next: (end < total).then_some(end),
        })
    })
    .await
}
