//! The JSON bodies of the HTTP API (`/v1`), shared by the node that serves them and the client
//! that reads them, so the two cannot drift apart. Binary values travel as lowercase hex.

use serde::{Deserialize, Serialize};

/// Declares [`ApiErrorCode`] with its wire spelling once, so the enum, `as_str`, the JSON form
/// and [`ApiErrorCode::ALL`] cannot disagree.
macro_rules! api_error_codes {
    ($($(#[$doc:meta])* $variant:ident = $wire:literal,)+) => {
        /// Every `code` the API answers with. The node maps each to its HTTP status with an
        /// exhaustive `match`, so a new code cannot silently fall into a default status.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub enum ApiErrorCode {
            $($(#[$doc])* #[serde(rename = $wire)] $variant,)+
        }

        impl ApiErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ApiErrorCode] = &[$(ApiErrorCode::$variant,)+];

            /// The code as it travels in JSON (`nonce_gap`, `mempool_full`, ...).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ApiErrorCode::$variant => $wire,)+
                }
            }
        }

        impl std::str::FromStr for ApiErrorCode {
            type Err = UnknownApiErrorCode;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text {
                    $($wire => Ok(ApiErrorCode::$variant),)+
                    other => Err(UnknownApiErrorCode(other.to_string())),
                }
            }
        }
    };
}

api_error_codes! {
    // Refusals by the state machine (`medchain_state::TxError::code`).
    /// The signature does not verify.
    BadSignature = "bad_signature",
    /// The transaction names another chain.
    WrongChain = "wrong_chain",
    /// The nonce was already used.
    NonceReplayed = "nonce_replayed",
    /// The nonce is ahead of the sender's next nonce.
    NonceGap = "nonce_gap",
    /// The sender is not registered for the action.
    UnknownSender = "unknown_sender",
    /// The sender may not do this.
    NotAuthorized = "not_authorized",
    /// The sender's account is not a registered member; only members may request access.
    NotMember = "not_member",
    /// A size or count limit is exceeded.
    LimitExceeded = "limit_exceeded",
    /// Free text looks like it holds a direct identifier.
    DirectIdentifier = "direct_identifier",
    /// The transaction fails a stateless check.
    InvalidTransaction = "invalid_transaction",
    /// The account is already registered.
    AlreadyRegistered = "already_registered",
    UnknownInstitution = "unknown_institution",
    /// The institution was removed from the consortium.
    InstitutionInactive = "institution_inactive",
    UnknownMember = "unknown_member",
    UnknownPseudonym = "unknown_pseudonym",
    UnknownRecord = "unknown_record",
    UnknownConsent = "unknown_consent",
    UnknownProposal = "unknown_proposal",
    AlreadyRevoked = "already_revoked",
    /// The proposal takes no more votes.
    ProposalClosed = "proposal_closed",
    AlreadyVoted = "already_voted",
    /// A membership change does not apply to the current set.
    InvalidChange = "invalid_change",
    /// A consent's re-encryption fragments are wrong.
    BadFragments = "bad_fragments",
    /// A record's storage receipt is not a current validator's valid receipt for its blob.
    BadStorageReceipt = "bad_storage_receipt",
    /// The record was already erased.
    AlreadyErased = "already_erased",
    /// An erasure receipt is not a current validator's valid receipt for the record.
    BadErasureReceipt = "bad_erasure_receipt",
    /// A record's receipts do not reach 2f+1 distinct current validators.
    StorageQuorumNotMet = "storage_quorum_not_met",
    UnknownStudy = "unknown_study",
    /// A study transaction breaks a study rule (state, deadline, ring, proofs, key, release).
    StudyRefused = "study_refused",
    // Refusals by a validator's re-encryption service.
    /// The access log holds no final permit for this requester that a current consent backs.
    NotPermitted = "not_permitted",
    /// This validator already released its fragment for that access-log entry.
    ReleaseReplayed = "release_replayed",
    /// This validator holds no fragment for that consent.
    FragmentNotHeld = "fragment_not_held",
    /// The node's state could not be read right now; retrying may work.
    StateUnavailable = "state_unavailable",
    // Refusals by the mempool.
    /// The same transaction is already waiting.
    AlreadyPending = "already_pending",
    /// The sender has as many transactions waiting as it may.
    SenderMempoolFull = "sender_mempool_full",
    /// The node's mempool is full.
    MempoolFull = "mempool_full",
    // Refusals by the API itself.
    /// The request does not parse (hex, JSON, an id).
    Malformed = "malformed",
    /// No such endpoint, block, transaction or ledger entry.
    NotFound = "not_found",
    /// The node is not a validator in the current epoch and takes no transactions.
    ObserverReadOnly = "observer_read_only",
    /// The client sent more requests per second than the node allows.
    RateLimited = "rate_limited",
    /// The node failed on its side; its log says why.
    Internal = "internal",
}

impl std::fmt::Display for ApiErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Compares with the wire spelling, so a test can say `assert_eq!(error.code(), "nonce_gap")`.
impl PartialEq<&str> for ApiErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A string that is not one of the API's error codes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an API error code")]
pub struct UnknownApiErrorCode(pub String);

/// What a node does in its current epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum NodeRole {
    /// Votes and accepts transactions.
    Validator,
    /// Follows and verifies, read-only.
    Observer,
}

impl std::fmt::Display for NodeRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NodeRole::Validator => "validator",
            NodeRole::Observer => "observer",
        })
    }
}

/// Where a transaction is, as far as one node knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TxState {
    /// Waiting in the mempool.
    Pending,
    /// In a finalized block.
    Committed,
    /// Dropped; `error` says why.
    Rejected,
}

impl std::fmt::Display for TxState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TxState::Pending => "pending",
            TxState::Committed => "committed",
            TxState::Rejected => "rejected",
        })
    }
}

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
    pub code: ApiErrorCode,
    pub message: String,
}

/// `GET /v1/status`
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusResponse {
    pub chain_id: String,
    pub chain_name: String,
    pub role: NodeRole,
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
    pub status: TxState,
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
