//! The JSON bodies of the HTTP API (`/v1`), shared by the node that serves them and the client
//! that reads them, so the two cannot drift apart. Binary values travel as lowercase hex.

use serde::{Deserialize, Serialize};

/// Every error response: `{ "error": { "code": "...", "message": "..." } }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// A stable machine-readable `code` and a `message` that says what to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

/// `GET /v1/status`
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusResponse {
    pub chain_id: String,
    pub chain_name: String,
    /// `validator` (votes, accepts transactions) or `observer` (follows and verifies, read-only).
    pub role: String,
    /// The consensus epoch the node runs; the validator set may change at each epoch boundary.
    #[serde(default)]
    pub epoch: u64,
    /// Height of the latest finalized block (0 before the first block).
    pub height: u64,
    pub latest_block: Option<String>,
    pub state_root: Option<String>,
    pub latest_block_time_ms: Option<u64>,
    /// The current epoch's validator public keys (hex), in consensus order.
    pub validators: Vec<String>,
    pub mempool_size: usize,
    pub committed_transactions: u64,
}

/// `POST /v1/tx` body: a signed transaction in its canonical binary encoding, as hex.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    pub transaction: String,
}

/// What a node knows about a transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TxStatusResponse {
    pub hash: String,
    /// `pending`, `committed` or `rejected`.
    pub status: String,
    pub height: Option<u64>,
    pub error: Option<ErrorDetail>,
}

/// `GET /v1/accounts/{account}/nonce`: the nonce the account's next transaction must carry,
/// counting its transactions still waiting in this node's mempool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NonceResponse {
    pub account: String,
    pub next_nonce: u64,
}

/// `GET /v1/blocks/{height}`: a finalized block with the certificate that proves it final.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlockResponse {
    pub height: u64,
    pub digest: String,
    pub parent: String,
    pub timestamp_ms: u64,
    pub proposer: String,
    pub transactions_root: String,
    pub state_root: String,
    pub transaction_hashes: Vec<String>,
    /// The block in its canonical encoding (hex), which the finalization certifies by digest.
    pub block: String,
    /// The finalization certificate (hex, commonware simplex ed25519 encoding); absent for genesis.
    pub finalization: Option<String>,
    /// Every change of the validator set between the genesis and this block's epoch, oldest
    /// first. A client that trusts only the genesis walks them to learn who signs this block.
    #[serde(default)]
    pub validator_handoffs: Vec<ValidatorHandoff>,
}

/// The last block of an epoch after which the validator set changed. Its finalization, signed
/// by the outgoing validators, certifies the incoming set the block lists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValidatorHandoff {
    pub height: u64,
    /// The block in its canonical encoding (hex).
    pub block: String,
    /// Its finalization certificate (hex).
    pub finalization: String,
}

/// The proof that `value` is the current value of `state_key` in the state committed by the
/// finalized block at `height`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StateProof {
    /// The state machine's key (hex); QMDB stores it under its SHA-256.
    pub state_key: String,
    /// The value's canonical encoding (hex), which the proof authenticates.
    pub value: String,
    /// The QMDB key-value proof (hex, commonware encoding).
    pub proof: String,
    /// The finalized block whose state root the proof verifies against.
    pub height: u64,
    pub state_root: String,
}

/// A value read from the ledger with its proof.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Proven<T> {
    pub value: T,
    pub proof: StateProof,
}

/// `GET /v1/patients/{pseudonym}/access-log`: a page of a pseudonym's access log. The length
/// (`total`, proven by `total_proof`) and every entry are proven at one height, so a client can
/// check the page holds every entry from its start to `min(start + page, total)`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessLogResponse<E> {
    pub total: u64,
    /// Absent only if the pseudonym is not registered (a registration writes a length of 0).
    pub total_proof: Option<StateProof>,
    pub entries: Vec<Proven<E>>,
    pub next: Option<u64>,
}

/// One validator as the genesis names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValidatorInfo {
    pub account: crate::AccountId,
    pub institution: crate::InstitutionId,
    pub http_address: String,
    /// X25519 key to seal this validator's re-encryption key fragments to (hex).
    #[serde(with = "crate::hexser::array")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub encryption_key: [u8; 32],
}

/// `GET /v1/validators`: the ledger's current validators, whose keys re-encryption fragments are
/// sealed to (consensus runs this set from the next epoch boundary).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValidatorsResponse {
    pub validators: Vec<ValidatorInfo>,
}
