//! The HTTP API under `/v1`: submit signed transactions, read chain status, blocks with their
//! finalization certificates, state with Merkle proofs; `/metrics` in Prometheus text.
//!
//! Every handler asks the state machine or the engine; none decides anything on its own.
//! Errors are `{ "error": { "code", "message" } }` with the matching HTTP status.

use crate::{
    blobs::BlobService,
    engine::EngineHandles,
    epochs::Epochs,
    mempool::{MempoolError, TxStatus},
    queries, reencryption,
    reencryption::ReencryptionService,
    snapshot::SnapshotStore,
};
use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, Path, Query, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use commonware_codec::Encode as _;
use commonware_consensus::{
    marshal::{Identifier, core::Mailbox as MarshalMailbox, standard::Standard},
    simplex::scheme::ed25519 as ed25519_scheme,
    types::{Epoch, Height},
};
use commonware_runtime::{Metrics as _, tokio::Context};
use medchain_types::{
    ChainId, Genesis, SignedTransaction, TxHash,
    api::{
        ApiErrorCode, BlockResponse, ErrorBody, ErrorDetail, NodeRole, NonceResponse,
        StatusResponse, SubmitRequest, TxState, TxStatusResponse, ValidatorHandoff, ValidatorInfo,
        ValidatorsResponse,
    },
    limits,
};
use medchain_verify::{Block, block_response};
use serde::Deserialize;
use std::{net::SocketAddr, sync::Arc, time::Duration};
use utoipa::OpenApi;

/// Largest request body: a hex-encoded transaction at its size limit plus JSON framing.
pub const REQUEST_BODY_MAX_BYTES: usize = 2 * limits::TX_SIZE_MAX_BYTES + 1024;
/// Longest a `?wait=true` submission waits for its transaction to commit.
pub const SUBMIT_WAIT_MAX_MS: u64 = 30_000;
// The commit-latency histogram's last bucket is the longest a waiting submission can take.
const _: () = assert!(
    crate::mempool::COMMIT_LATENCY_BUCKETS_SECONDS
        [crate::mempool::COMMIT_LATENCY_BUCKETS_SECONDS.len() - 1]
        * 1_000.0
        == SUBMIT_WAIT_MAX_MS as f64
);
// A request body holds a transaction at its size limit, hex-encoded (twice the bytes).
const _: () = assert!(REQUEST_BODY_MAX_BYTES > 2 * limits::TX_SIZE_MAX_BYTES);

/// What every handler can reach.
#[derive(Clone)]
pub struct ApiState {
    inner: Arc<Inner>,
}

struct Inner {
    genesis: Arc<Genesis>,
    chain_id: ChainId,
    handles: EngineHandles<Context>,
    context: Context,
    blobs: BlobService,
    reencryption: ReencryptionService,
    /// The state database handle, asked of the stateful actor once: asking on every read goes
    /// through the actor's mailbox and waits for whatever block work it is doing (a read right
    /// after a commit waited ~0.5 s for it). The handle is shared and always current.
    databases: tokio::sync::OnceCell<crate::store::StateSet<Context>>,
}

impl ApiState {
    pub(crate) fn handles(&self) -> &EngineHandles<Context> {
        &self.inner.handles
    }

    pub(crate) fn reencryption(&self) -> &ReencryptionService {
        &self.inner.reencryption
    }

    pub(crate) fn blobs(&self) -> &BlobService {
        &self.inner.blobs
    }

    pub(crate) fn chain_id(&self) -> &ChainId {
        &self.inner.chain_id
    }

    /// The state databases (cloned handle): subscribed on first use, then reused.
    pub(crate) async fn databases(&self) -> crate::store::StateSet<Context> {
        self.inner
            .databases
            .get_or_init(|| self.inner.handles.stateful.subscribe_databases())
            .await
            .clone()
    }

    pub fn new(
        genesis: Arc<Genesis>,
        handles: EngineHandles<Context>,
        context: Context,
        blobs: BlobService,
        reencryption: ReencryptionService,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                chain_id: genesis.chain_id(),
                genesis,
                handles,
                context,
                blobs,
                reencryption,
                databases: tokio::sync::OnceCell::new(),
            }),
        }
    }
}

/// An API error: a stable machine-readable code (which fixes the HTTP status) and a message
/// saying what to do.
#[derive(Debug)]
pub struct ApiError {
    pub code: ApiErrorCode,
    message: String,
}

impl ApiError {
    pub fn new(code: ApiErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// The HTTP status this error answers with.
    /// What was wrong and what to do, as the response body says it.
    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn status(&self) -> StatusCode {
        http_status(self.code)
    }
}

/// The HTTP status of each error code. Exhaustive on purpose: a new code must be given a status
/// here before the node compiles.
pub fn http_status(code: ApiErrorCode) -> StatusCode {
    use ApiErrorCode as C;
    match code {
        C::BadSignature | C::WrongChain | C::InvalidTransaction | C::Malformed => {
            StatusCode::BAD_REQUEST
        }
        C::UnknownSender
        | C::NotAuthorized
        | C::NotMember
        | C::NotPermitted
        | C::InstitutionInactive
        | C::ObserverReadOnly => StatusCode::FORBIDDEN,
        C::UnknownInstitution
        | C::UnknownMember
        | C::UnknownPseudonym
        | C::UnknownRecord
        | C::UnknownConsent
        | C::UnknownProposal
        | C::UnknownStudy
        | C::FragmentNotHeld
        | C::NotFound => StatusCode::NOT_FOUND,
        C::NonceReplayed
        | C::NonceGap
        | C::AlreadyRegistered
        | C::AlreadyRevoked
        | C::AlreadyVoted
        | C::ProposalClosed
        | C::ReleaseReplayed
        | C::AlreadyErased
        | C::AlreadyPending => StatusCode::CONFLICT,
        C::LimitExceeded => StatusCode::PAYLOAD_TOO_LARGE,
        // Well-formed, but what it asks for does not hold.
        C::DirectIdentifier
        | C::InvalidChange
        | C::BadFragments
        | C::BadStorageReceipt
        | C::BadErasureReceipt
        | C::StorageQuorumNotMet
        | C::StudyRefused => StatusCode::UNPROCESSABLE_ENTITY,
        C::SenderMempoolFull | C::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        C::StateUnavailable | C::MempoolFull => StatusCode::SERVICE_UNAVAILABLE,
        C::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
            },
        };
        (status, Json(body)).into_response()
    }
}

#[utoipa::path(get, path = "/v1/status", responses((status = 200, body = StatusResponse)))]
async fn status(State(state): State<ApiState>) -> Json<StatusResponse> {
    let s = &state.inner;
    let tip = s.handles.chain.tip();
    let epoch = s.handles.epochs.active();
    Json(StatusResponse {
        chain_id: s.chain_id.to_string(),
        chain_name: s.genesis.chain_name.clone(),
        role: if epoch.signs() {
            NodeRole::Validator
        } else {
            NodeRole::Observer
        },
        epoch: epoch.epoch.get(),
        height: tip.as_ref().map_or(0, |t| t.height),
        latest_block: tip.as_ref().map(|t| hex::encode(t.digest)),
        state_root: tip.as_ref().map(|t| hex::encode(t.state_root)),
        latest_block_time_ms: tip.as_ref().map(|t| t.timestamp_ms),
        validators: epoch
            .validators
            .iter()
            .map(|v| hex::encode(v.as_ref()))
            .collect(),
        mempool_size: s.handles.mempool.len(),
        committed_transactions: s.handles.chain.committed_transactions(),
    })
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct SubmitParams {
    /// Wait (up to 30 s) until the transaction is committed or rejected.
    #[serde(default)]
    pub wait: bool,
}

fn status_response(hash: &TxHash, status: &TxStatus) -> TxStatusResponse {
    let (state, height, error) = match status {
        TxStatus::Pending => (TxState::Pending, None, None),
        TxStatus::Committed { height } => (TxState::Committed, Some(*height), None),
        TxStatus::Rejected { code, message } => (
            TxState::Rejected,
            None,
            Some(ErrorDetail {
                code: *code,
                message: message.clone(),
            }),
        ),
    };
    TxStatusResponse {
        hash: hash.to_string(),
        status: state,
        height,
        error,
    }
}

#[utoipa::path(
    post, path = "/v1/tx", request_body = SubmitRequest, params(SubmitParams),
    responses(
        (status = 202, description = "admitted to the mempool", body = TxStatusResponse),
        (status = 200, description = "committed (with wait=true)", body = TxStatusResponse),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody),
    )
)]
async fn submit(
    State(state): State<ApiState>,
    Query(params): Query<SubmitParams>,
    JsonBody(request): JsonBody<SubmitRequest>,
) -> Result<Response, ApiError> {
    if !state.inner.handles.epochs.active().signs() {
        // Only the current epoch's validators propose, so a transaction left here would wait
        // forever.
        return Err(ApiError::new(
            ApiErrorCode::ObserverReadOnly,
            "this node is not a validator in the current epoch and does not accept transactions; submit to a validator's API (see /v1/validators)",
        ));
    }
    let bytes = hex::decode(request.transaction.trim()).map_err(|e| {
        ApiError::new(
            ApiErrorCode::Malformed,
            format!("transaction is not hex: {e}"),
        )
    })?;
    if bytes.len() > limits::TX_SIZE_MAX_BYTES {
        return Err(ApiError::new(
            ApiErrorCode::LimitExceeded,
            format!(
                "transaction is {} bytes; the limit is {}",
                bytes.len(),
                limits::TX_SIZE_MAX_BYTES
            ),
        ));
    }
    let tx = SignedTransaction::decode_bounded(&bytes).map_err(|e| {
        ApiError::new(
            ApiErrorCode::Malformed,
            format!("transaction does not decode: {e}; sign it with the medchain client"),
        )
    })?;
    let hash = tx.hash();
    admit(&state, tx).await?;
    if !params.wait {
        let body = status_response(&hash, &TxStatus::Pending);
        return Ok((StatusCode::ACCEPTED, Json(body)).into_response());
    }
    let outcome = wait_for_outcome(&state, &hash).await;
    let code = match &outcome {
        TxStatus::Committed { .. } => StatusCode::OK,
        TxStatus::Pending => StatusCode::ACCEPTED,
        TxStatus::Rejected { code, message } => {
            return Err(ApiError::new(*code, message.clone()));
        }
    };
    Ok((code, Json(status_response(&hash, &outcome))).into_response())
}

/// Checks a transaction against the latest finalized state (as if its sender's waiting
/// transactions had already executed) and puts it in the mempool. The mempool checks the
/// nonce again as it inserts, under its lock, so a transaction racing another of the same
/// sender and nonce is refused there.
pub(crate) async fn admit(state: &ApiState, tx: SignedTransaction) -> Result<(), ApiError> {
    let s = &state.inner;
    if s.handles.mempool.is_full() {
        return Err(mempool_error(MempoolError::Full));
    }
    let mut snapshot = SnapshotStore::new(state.databases().await);
    // The genesis state (institutions, validators, policy) is applied with block 1: before it,
    // every check would fail for the wrong reason ("no institution ...").
    let validators = medchain_state::query::validators(&snapshot)
        .await
        .map_err(internal)?;
    if validators.is_empty() {
        return Err(ApiError::new(
            ApiErrorCode::StateUnavailable,
            "this node has not executed its first block yet, so it has no state to check the transaction against; retry in a moment".to_string(),
        ));
    }
    let sender = tx.transaction.sender.clone();
    let ledger_nonce = medchain_state::query::next_nonce(&snapshot, &sender)
        .await
        .map_err(internal)?;
    // A member at nonce 0 (a genesis admin, newly registered staff) is known without a
    // committed transaction; anyone else at nonce 0 is a key the ledger has never seen. Only
    // a sender with a transaction already waiting can be refused for that, so the member entry
    // is read only then, not for every fresh registration.
    let nothing_waiting = s.handles.mempool.expected_nonce(&sender, ledger_nonce) == ledger_nonce;
    let known_on_ledger = ledger_nonce > 0
        || nothing_waiting
        || medchain_state::query::member(&snapshot, &sender)
            .await
            .map_err(internal)?
            .is_some();
    let expected = s
        .handles
        .mempool
        .next_nonce_to_admit(&sender, tx.transaction.nonce, ledger_nonce, known_on_ledger)
        .map_err(mempool_error)?;
    // Pretend the waiting transactions executed, so the state machine checks this one at the
    // nonce it will actually run at.
    if expected != ledger_nonce {
        use medchain_state::Store as _;
        snapshot.put(
            medchain_state::keys::nonce(&sender),
            Some(expected.encode().to_vec()),
        );
    }
    let env = medchain_state::BlockEnv {
        chain_id: s.chain_id,
        height: s.handles.chain.tip().map_or(0, |t| t.height) + 1,
        timestamp_ms: now_ms(),
        proposer: sender.clone(),
    };
    medchain_state::check_transaction(&snapshot, &env, &tx)
        .await
        .map_err(|e| ApiError::new(e.code(), e.to_string()))?;
    s.handles
        .mempool
        .insert(tx, ledger_nonce)
        .map_err(mempool_error)
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn mempool_error(e: MempoolError) -> ApiError {
    let code = match e {
        MempoolError::AlreadyPending(_) => ApiErrorCode::AlreadyPending,
        MempoolError::NonceReplayed { .. } => ApiErrorCode::NonceReplayed,
        MempoolError::NonceGap { .. } => ApiErrorCode::NonceGap,
        MempoolError::SenderFull | MempoolError::UnregisteredSenderWaiting => {
            ApiErrorCode::SenderMempoolFull
        }
        MempoolError::Full => ApiErrorCode::MempoolFull,
    };
    ApiError::new(code, e.to_string())
}

pub(crate) fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        ApiErrorCode::Internal,
        format!("the node could not read its state ({e}); check the node's log"),
    )
}

async fn wait_for_outcome(state: &ApiState, hash: &TxHash) -> TxStatus {
    let s = &state.inner;
    let deadline = std::time::Instant::now() + Duration::from_millis(SUBMIT_WAIT_MAX_MS);
    loop {
        let status = s.handles.mempool.status(hash).unwrap_or(TxStatus::Pending);
        if status != TxStatus::Pending || std::time::Instant::now() >= deadline {
            return status;
        }
        let next = s.handles.chain.tip().map_or(1, |t| t.height + 1);
        let _ = tokio::time::timeout(
            Duration::from_millis(250),
            s.handles.chain.wait_for_height(next),
        )
        .await;
    }
}

#[utoipa::path(
    get, path = "/v1/tx/{hash}", params(("hash" = String, Path, description = "transaction hash, hex")),
    responses((status = 200, body = TxStatusResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
async fn tx_status(
    State(state): State<ApiState>,
    Path(hash): Path<String>,
) -> Result<Json<TxStatusResponse>, ApiError> {
    let hash: TxHash = hash
        .parse()
        .map_err(|_| ApiError::new(ApiErrorCode::Malformed, "hash must be 64 hex characters"))?;
    let status = state.inner.handles.mempool.status(&hash).ok_or_else(|| {
        ApiError::new(
            ApiErrorCode::NotFound,
            "this node has not seen that transaction recently; look it up in a block",
        )
    })?;
    Ok(Json(status_response(&hash, &status)))
}

#[utoipa::path(
    get, path = "/v1/blocks/{height}", params(("height" = u64, Path, description = "block height")),
    responses((status = 200, body = BlockResponse), (status = 404, body = ErrorBody))
)]
async fn block_at(
    State(state): State<ApiState>,
    Path(height): Path<u64>,
) -> Result<Json<BlockResponse>, ApiError> {
    let s = &state.inner;
    let block: Block = if height == 0 {
        s.handles.genesis_block.clone()
    } else {
        s.handles
            .marshal
            .get_block(Identifier::Height(Height::new(height)))
            .await
            .ok_or_else(|| {
                ApiError::new(
                    ApiErrorCode::NotFound,
                    format!("no finalized block at height {height} yet"),
                )
            })?
            .inner()
            .clone()
    };
    let finalization = if height == 0 {
        None
    } else {
        s.handles
            .marshal
            .get_finalization(Height::new(height))
            .await
            .map(|f| hex::encode(f.encode()))
    };
    let validator_handoffs = validator_handoffs(&s.handles.marshal, &s.handles.epochs, &block)
        .await
        .map_err(|height| {
            ApiError::new(
                ApiErrorCode::StateUnavailable,
                format!(
                    "the validator hand-off block {height} is not readable yet; retry in a moment"
                ),
            )
        })?;
    Ok(Json(block_response(
        &block,
        finalization,
        validator_handoffs,
    )))
}

/// The finalized boundary blocks after which the validator set changed, up to `block`'s epoch,
/// each with its finalization, as a client needs them to verify `block`. `Err` names a
/// hand-off this node cannot read yet.
pub async fn validator_handoffs(
    marshal: &MarshalMailbox<ed25519_scheme::Scheme, Standard<Block>>,
    epochs: &Epochs,
    block: &Block,
) -> Result<Vec<ValidatorHandoff>, Height> {
    let mut out = Vec::new();
    for height in epochs.handoffs_until(Epoch::new(block.context.round.epoch)) {
        let boundary = marshal
            .get_block(Identifier::Height(height))
            .await
            .ok_or(height)?;
        let finalization = marshal.get_finalization(height).await.ok_or(height)?;
        out.push(ValidatorHandoff {
            height: height.get(),
            block: hex::encode(boundary.inner().encode()),
            finalization: hex::encode(finalization.encode()),
        });
    }
    Ok(out)
}

#[utoipa::path(get, path = "/v1/validators", responses((status = 200, body = ValidatorsResponse), (status = 503, body = ErrorBody)))]
async fn validators(State(state): State<ApiState>) -> Result<Json<ValidatorsResponse>, ApiError> {
    let validators = match queries::validator_set(&state).await {
        Ok(set) => set
            .0
            .value
            .validators
            .into_iter()
            .map(|v| ValidatorInfo {
                account: v.account,
                institution: v.institution,
                http_address: v.http_address,
                encryption_key: v.encryption_key,
            })
            .collect(),
        // Before block 1 applies the genesis, the ledger has no set yet: the genesis is it.
        Err(e) if e.code == ApiErrorCode::NotFound => state
            .inner
            .genesis
            .validators
            .iter()
            .map(|v| ValidatorInfo {
                account: v.account.clone(),
                institution: v.institution.clone(),
                http_address: v.http_address.clone(),
                encryption_key: v.encryption_key,
            })
            .collect(),
        Err(e) => return Err(e),
    };
    Ok(Json(ValidatorsResponse { validators }))
}

#[utoipa::path(
    get, path = "/v1/accounts/{account}/nonce",
    params(("account" = String, Path, description = "account public key, hex")),
    responses((status = 200, body = NonceResponse), (status = 400, body = ErrorBody))
)]
async fn next_nonce(
    State(state): State<ApiState>,
    Path(account): Path<String>,
) -> Result<Json<NonceResponse>, ApiError> {
    let id: medchain_types::AccountId = account.parse().map_err(|_| {
        ApiError::new(
            ApiErrorCode::Malformed,
            "account must be 64 hex characters (an Ed25519 public key)",
        )
    })?;
    let s = &state.inner;
    let snapshot = SnapshotStore::new(state.databases().await);
    let ledger = medchain_state::query::next_nonce(&snapshot, &id)
        .await
        .map_err(internal)?;
    Ok(Json(NonceResponse {
        account: id.to_string(),
        next_nonce: s.handles.mempool.expected_nonce(&id, ledger),
    }))
}

/// A JSON body whose rejections (bad JSON, wrong content type, too large) answer in the API's
/// error format rather than axum's plain text.
pub struct JsonBody<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for JsonBody<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => {
                let status = rejection.status();
                // One code per cause: too large, or anything else wrong with the body (axum's
                // 415 and 422 become the API's 400 `malformed`).
                let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiErrorCode::LimitExceeded
                } else {
                    ApiErrorCode::Malformed
                };
                Err(ApiError::new(
                    code,
                    format!(
                        "{}; send JSON as described in /v1/openapi.json",
                        rejection.body_text()
                    ),
                ))
            }
        }
    }
}

async fn metrics(State(state): State<ApiState>) -> impl IntoResponse {
    let s = &state.inner;
    let mut text = s.context.encode();
    let tip = s.handles.chain.tip();
    text.push_str(&format!(
        "# HELP medchain_height Height of the latest finalized block.\n# TYPE medchain_height gauge\nmedchain_height {}\n",
        tip.map_or(0, |t| t.height)
    ));
    text.push_str(&format!(
        "# HELP medchain_committed_transactions_total Transactions committed since start.\n# TYPE medchain_committed_transactions_total counter\nmedchain_committed_transactions_total {}\n",
        s.handles.chain.committed_transactions()
    ));
    text.push_str(&format!(
        "# HELP medchain_mempool_size Transactions waiting for a block.\n# TYPE medchain_mempool_size gauge\nmedchain_mempool_size {}\n",
        s.handles.mempool.len()
    ));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "medchain API",
        description = "A consortium ledger for medical record sharing."
    ),
    paths(
        status,
        submit,
        tx_status,
        next_nonce,
        block_at,
        validators,
        queries::validator_set_proven,
        queries::record,
        queries::consent,
        queries::pseudonym,
        queries::member,
        queries::institution,
        queries::proposal,
        queries::consortium_policy,
        queries::access_log,
        queries::review_queue,
        queries::patient_consents,
        queries::emergency_service,
        queries::analytics_key,
        queries::ring_directory,
        queries::patient_category,
        queries::study_index,
        queries::study,
        crate::blobs::put_blob,
        crate::blobs::get_blob,
        reencryption::put_fragment,
        reencryption::get_fragment,
        reencryption::release,
        crate::erasure::erase
    ),
    components(schemas(
        ErrorBody,
        ErrorDetail,
        StatusResponse,
        SubmitRequest,
        TxStatusResponse,
        NonceResponse,
        BlockResponse,
        medchain_types::StorageReceipt,
        medchain_types::release::FragmentUpload,
        medchain_types::release::FragmentHeld,
        medchain_types::release::ReleaseRequest,
        medchain_types::release::ReleaseResponse,
        medchain_types::ErasureReceipt
    ))
)]
pub struct ApiDoc;

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

async fn not_found() -> ApiError {
    ApiError::new(
        ApiErrorCode::NotFound,
        "no such endpoint; see /v1/openapi.json",
    )
}

/// The API's routes.
pub fn router(state: ApiState) -> Router {
    // The blob routes stream their bodies and have their own size limit, not the body cap.
    let blobs = crate::blobs::router(state.inner.blobs.clone());
    Router::new()
        .route("/v1/status", get(status))
        .route(crate::ratelimit::SUBMIT_PATH, post(submit))
        .route("/v1/tx/{hash}", get(tx_status))
        .route("/v1/accounts/{account}/nonce", get(next_nonce))
        .route("/v1/validators", get(validators))
        .route("/v1/validator-set", get(queries::validator_set_proven))
        .route("/v1/blocks/{height}", get(block_at))
        .route("/v1/records/{id}", get(queries::record))
        .route("/v1/consents/{id}", get(queries::consent))
        .route("/v1/patients/{pseudonym}", get(queries::pseudonym))
        .route(
            "/v1/patients/{pseudonym}/access-log",
            get(queries::access_log),
        )
        .route(
            "/v1/patients/{pseudonym}/consents",
            get(queries::patient_consents),
        )
        .route("/v1/members/{account}", get(queries::member))
        .route("/v1/institutions/{id}", get(queries::institution))
        .route(
            "/v1/institutions/{id}/emergency-service",
            get(queries::emergency_service),
        )
        .route("/v1/analytics-key", get(queries::analytics_key))
        .route("/v1/ring-keys", get(queries::ring_directory))
        .route(
            "/v1/patients/{pseudonym}/categories/{category}",
            get(queries::patient_category),
        )
        .route("/v1/studies", get(queries::study_index))
        .route("/v1/studies/{id}", get(queries::study))
        .route("/v1/reviews", get(queries::review_queue))
        .route("/v1/proposals/{id}", get(queries::proposal))
        .route("/v1/policy", get(queries::consortium_policy))
        .route(
            "/v1/fragments/{consent}",
            get(reencryption::get_fragment).put(reencryption::put_fragment),
        )
        .route("/v1/releases", post(reencryption::release))
        .route("/v1/erasures/{record}", post(crate::erasure::erase))
        .route("/v1/openapi.json", get(openapi))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(REQUEST_BODY_MAX_BYTES))
        .with_state(state)
        .merge(blobs)
}

/// Binds the API's listening socket. The node binds it before it starts consensus, so an
/// address it cannot use stops the node at once instead of leaving it running without an API.
pub async fn bind(listen: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(listen).await
}

/// Serves the API on `listener` until the process stops, each client IP limited to
/// `per_client_per_second` requests per second and held back when too many of its
/// transactions are refused at admission (`ratelimit::AdmissionPenalty`).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: ApiState,
    per_client_per_second: std::num::NonZeroU32,
) -> std::io::Result<()> {
    let limit = crate::ratelimit::ClientRateLimit::new(per_client_per_second);
    let penalty = crate::ratelimit::AdmissionPenalty::new();
    let sweeper = {
        let (limit, penalty) = (limit.clone(), penalty.clone());
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_millis(
                crate::ratelimit::RATE_LIMIT_SWEEP_INTERVAL_MS,
            ));
            loop {
                every.tick().await;
                limit.sweep();
                penalty.sweep();
            }
        })
    };
    let fragment_sweeper = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_millis(
                reencryption::FRAGMENT_SWEEP_INTERVAL_MS,
            ));
            loop {
                every.tick().await;
                reencryption::sweep(&state).await;
            }
        })
    };
    // The rate limit runs first, so a request it refuses never counts as an admission refusal.
    let app = router(state)
        .layer(axum::middleware::from_fn_with_state(
            penalty,
            crate::ratelimit::penalize,
        ))
        .layer(axum::middleware::from_fn_with_state(
            limit,
            crate::ratelimit::limit,
        ));
    let served = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await;
    sweeper.abort();
    fragment_sweeper.abort();
    served
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_code_answers_with_an_error_status_and_its_wire_code() {
        for &code in ApiErrorCode::ALL {
            let status = http_status(code);
            assert!(
                status.is_client_error() || status.is_server_error(),
                "{code} answers {status}"
            );
            let response = ApiError::new(code, "what to do").into_response();
            assert_eq!(response.status(), status);
        }
    }

    #[test]
    fn error_codes_keep_the_statuses_clients_rely_on() {
        use ApiErrorCode as C;
        for (code, status) in [
            (C::Malformed, 400),
            (C::BadSignature, 400),
            (C::ObserverReadOnly, 403),
            (C::NotAuthorized, 403),
            (C::NotMember, 403),
            (C::NotFound, 404),
            (C::UnknownRecord, 404),
            (C::NonceGap, 409),
            (C::AlreadyPending, 409),
            (C::LimitExceeded, 413),
            (C::DirectIdentifier, 422),
            (C::BadFragments, 422),
            (C::BadStorageReceipt, 422),
            (C::StorageQuorumNotMet, 422),
            (C::SenderMempoolFull, 429),
            (C::RateLimited, 429),
            (C::Internal, 500),
            (C::MempoolFull, 503),
            (C::StateUnavailable, 503),
        ] {
            assert_eq!(http_status(code).as_u16(), status, "{code}");
        }
    }

    #[tokio::test]
    async fn an_error_response_carries_its_code_in_the_json_body() {
        let response =
            ApiError::new(ApiErrorCode::NonceGap, "submit nonce 3 first").into_response();
        assert_eq!(response.status(), StatusCode::CONFLICT);
        let bytes = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        let body: ErrorBody = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body.error.code, ApiErrorCode::NonceGap);
        assert_eq!(body.error.message, "submit nonce 3 first");
    }

    #[test]
    fn openapi_describes_every_v1_route() {
        let doc = ApiDoc::openapi();
        for path in [
            "/v1/status",
            "/v1/tx",
            "/v1/tx/{hash}",
            "/v1/accounts/{account}/nonce",
            "/v1/validators",
            "/v1/validator-set",
            "/v1/blocks/{height}",
            "/v1/records/{id}",
            "/v1/consents/{id}",
            "/v1/patients/{pseudonym}",
            "/v1/patients/{pseudonym}/access-log",
            "/v1/members/{account}",
            "/v1/institutions/{id}",
            "/v1/proposals/{id}",
            "/v1/blobs/{hash}",
            "/v1/policy",
        ] {
            assert!(
                doc.paths.paths.contains_key(path),
                "{path} is missing from the OpenAPI document"
            );
        }
    }
}
