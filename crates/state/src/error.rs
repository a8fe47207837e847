//! The state machine's errors. `TxError::code()` is stable and machine-readable
//! (the API maps it to HTTP errors); messages say what to do.

use crate::entries::ProposalStatus;
use crate::store::StoreError;
use medchain_types::{
    AccountId, ChainId, ConsentId, InstitutionId, PhiViolation, ProposalId, RecordId, StudyId,
    ValidationError, api::ApiErrorCode,
};
use thiserror::Error;

/// Reading state failed: the store failed, or a stored value does not decode.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum StateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "stored {table} value does not decode ({reason}); the state is corrupt, resync this node"
    )]
    Corrupt { table: &'static str, reason: String },
}

/// Accounts are boxed: an `AccountId` carries its decompressed Ed25519 point
/// (192 bytes), and every `Result<_, TxError>` would pay for it.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum TxError {
    #[error(
        "the signature does not verify; sign the canonical transaction with the sender's key in namespace medchain/tx/v1"
    )]
    BadSignature,
    #[error(
        "transaction is for chain {got}, this chain is {expected}; rebuild it with this chain's id"
    )]
    WrongChain { expected: ChainId, got: ChainId },
    #[error(
        "nonce {got} was already used (next is {expected}); this transaction is a replay or a duplicate"
    )]
    NonceReplayed { expected: u64, got: u64 },
    #[error(
        "nonce {got} is ahead of the next nonce {expected}; submit the missing transactions first"
    )]
    NonceGap { expected: u64, got: u64 },
    #[error("account {sender} is not registered for this action; register it first")]
    UnknownSender { sender: Box<AccountId> },
    #[error("not authorized: {0}")]
    NotAuthorized(String),
    #[error(
        "account {sender} is not a member of any institution, and only members may request access to a record; a patient reads their own records with their own keys, anyone else must first be registered as a member by their institution"
    )]
    NotMember { sender: Box<AccountId> },
    #[error("{limit} exceeded: got {got}, at most {max} allowed; reduce the request")]
    LimitExceeded {
        limit: &'static str,
        max: u64,
        got: u64,
    },
    #[error(
        "the justification looks like it contains {0}; use coded clinical wording, no identifiers"
    )]
    DirectIdentifier(PhiViolation),
    #[error("{0}")]
    Invalid(ValidationError),
    #[error("account {account} is already registered as a member or pseudonym; use another key")]
    AlreadyRegistered { account: Box<AccountId> },
    #[error("no institution {0}; check the id or admit it through governance")]
    UnknownInstitution(InstitutionId),
    #[error("institution {0} has been removed from the consortium")]
    InstitutionInactive(InstitutionId),
    #[error("no member {0}; check the account")]
    UnknownMember(Box<AccountId>),
    #[error("no pseudonym {0}; the patient must register it first")]
    UnknownPseudonym(Box<AccountId>),
    #[error("no record {0}; check the id")]
    UnknownRecord(RecordId),
    #[error("no consent {0}; check the id")]
    UnknownConsent(ConsentId),
    #[error("no proposal {0}; check the id")]
    UnknownProposal(ProposalId),
    #[error("already revoked; nothing to do")]
    AlreadyRevoked,
    #[error("proposal {proposal} is {status:?} and takes no more votes")]
    ProposalClosed {
        proposal: ProposalId,
        status: ProposalStatus,
    },
    #[error("validator already voted on proposal {proposal}; votes cannot be changed")]
    AlreadyVoted { proposal: ProposalId },
    #[error("membership change does not apply: {0}")]
    InvalidChange(String),
    #[error("re-encryption fragments are wrong: {0}")]
    BadFragments(String),
    #[error(
        "storage receipt from {validator} refused: {reason}; upload the ciphertext again and send only the receipts the current validators signed for its hash and size class"
    )]
    BadStorageReceipt {
        validator: Box<AccountId>,
        reason: StorageReceiptFault,
    },
    #[error(
        "the record carries storage receipts from {got} of the {validators} current validators, it needs {needed} (2f+1); upload the ciphertext to more validators and collect their receipts"
    )]
    StorageQuorumNotMet {
        got: usize,
        needed: usize,
        validators: usize,
    },
    #[error("record {0} is already erased; nothing to do")]
    AlreadyErased(RecordId),
    #[error(
        "erasure receipt from {validator} refused: {reason}; ask the validators to erase again (`medchain record erase`) and send only their new receipts"
    )]
    BadErasureReceipt {
        validator: Box<AccountId>,
        reason: &'static str,
    },
    #[error("no study {0}; check the id")]
    UnknownStudy(StudyId),
    #[error("study transaction refused: {0}")]
    Study(StudyFault),
    #[error(transparent)]
    State(#[from] StateError),
}

/// Why a study transaction (a ring key, the analytics key, a proposal, a contribution, a
/// closing or a partial decryption) was refused. Crypto errors are carried as their message:
/// they say which proof or encoding failed.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum StudyFault {
    #[error("the pseudonym already registered a ring key; a pseudonym has one ring key for good")]
    RingKeyAlreadyRegistered,
    #[error("this ring key is already another pseudonym's; derive a fresh one")]
    RingKeyTaken,
    #[error(
        "the ring key or its proof of possession is refused ({0}); prove with the ring secret over the possession message for this chain and pseudonym"
    )]
    BadRingKey(String),
    #[error("the analytics key is refused ({0}); submit the DKG output as the round produced it")]
    BadAnalyticsKey(String),
    #[error(
        "an analytics key for epoch {current} is in force; submit only a later epoch's key (got {got})"
    )]
    StaleAnalyticsKey { current: u64, got: u64 },
    #[error("this validator already submitted this key for this epoch")]
    AlreadySubmitted,
    #[error(
        "no analytics key is on the ledger yet; wait until 2f+1 validators submitted their DKG output"
    )]
    NoAnalyticsKey,
    #[error(
        "the analytics key changed since the study was approved (a new DKG, not a resharing); the study cannot be released under it"
    )]
    AnalyticsKeyChanged,
    #[error("the study cannot run as proposed: {0}")]
    Unrunnable(String),
    #[error(
        "the study is {status}, not open for contributions; contribute only to an approved study"
    )]
    NotOpen { status: &'static str },
    #[error("the study's deadline was height {deadline}; it takes no more contributions")]
    PastDeadline { deadline: u64 },
    #[error("the study's deadline is height {deadline}; close it only after that")]
    DeadlineNotReached { deadline: u64 },
    #[error("the study is {status}; only a study closed for release takes partial decryptions")]
    NotReleasing { status: &'static str },
    #[error("only the study's researcher or a current validator closes it")]
    NotCloser,
    #[error(
        "the sender of an anonymous contribution must be a fresh one-time key (nonce 0, not a member or pseudonym): a known key would name the contributor"
    )]
    NotOneTimeSender,
    #[error("the study takes at most {values_max} values and would reach {got}; it is full")]
    TooManyValues { values_max: u64, got: u64 },
    #[error(
        "the contribution has {got} encrypted slots, the study needs {expected} (sum, sum of squares if asked, one per bucket)"
    )]
    WrongSlots { expected: usize, got: usize },
    #[error("the bucket-total proof must be present exactly when the study has a histogram")]
    BucketTotalProof,
    #[error("the institution declares {0} values; declare at least 1")]
    NoValues(u64),
    #[error("institution {0} is outside the study's cohort filter")]
    InstitutionOutsideCohort(InstitutionId),
    #[error("institution {0} already contributed to this study; an institution contributes once")]
    InstitutionAlreadyContributed(InstitutionId),
    #[error(
        "the ring has {got} members, the study requires at least {required}; add eligible pseudonyms"
    )]
    RingTooSmall { got: usize, required: usize },
    #[error(
        "ring member {member} is not in the study's eligible set ({reason}); build the ring from eligible pseudonyms' ring keys"
    )]
    NotEligible { member: usize, reason: &'static str },
    #[error(
        "the ring or its signature is refused ({0}); sign with the study id as context over the contribution message"
    )]
    BadRingSignature(String),
    #[error("this key image already contributed to the study; one contribution per pseudonym")]
    KeyImageSeen,
    #[error(
        "a ciphertext or range proof is refused ({0}); encrypt under the study's key and prove with its context"
    )]
    BadProof(String),
    #[error(
        "the aggregate's randomness would cancel out and expose it; re-encrypt with fresh randomness"
    )]
    DegenerateAggregate,
    #[error("the sender is not a participant of the analytics key in force")]
    NotAParticipant,
    #[error("this validator already posted its partial decryptions for the study")]
    AlreadyPosted,
    #[error(
        "{got} partial decryptions, the study has {expected} aggregates; post one per aggregate in slot order"
    )]
    WrongPartials { expected: usize, got: usize },
    #[error(
        "a partial decryption is refused ({0}); decrypt only the closed study's aggregates with your own share"
    )]
    BadPartial(String),
    #[error("the combined aggregates do not decrypt within their declared bounds ({0})")]
    Release(String),
    #[error(
        "the study is {status}; only a closed study with epsilon waiting for noise takes noise shares"
    )]
    NotAddingNoise { status: &'static str },
    #[error("this validator's noise shares are already in the study's aggregates")]
    NoiseAlreadyAdded,
    #[error(
        "{got} noise shares, the study has {expected} aggregates; add one per aggregate in slot order"
    )]
    WrongNoiseSlots { expected: usize, got: usize },
    #[error(
        "a noise share is refused ({0}); encrypt share + bound under the study's key and prove it within [0, 2·bound] with your own noise tag"
    )]
    BadNoise(String),
}

/// Why one storage receipt does not count towards a record's quorum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum StorageReceiptFault {
    #[error("it is not a current validator")]
    NotValidator,
    #[error("that validator's receipt appears twice")]
    Duplicate,
    #[error("it is for another content hash or size class than the record's")]
    OtherBlob,
    #[error("its signature does not verify for this chain (namespace medchain/storage-receipt/v1)")]
    BadSignature,
}

impl TxError {
    /// Stable machine-readable code, as the API answers it.
    pub fn code(&self) -> ApiErrorCode {
        match self {
            TxError::BadSignature => ApiErrorCode::BadSignature,
            TxError::WrongChain { .. } => ApiErrorCode::WrongChain,
            TxError::NonceReplayed { .. } => ApiErrorCode::NonceReplayed,
            TxError::NonceGap { .. } => ApiErrorCode::NonceGap,
            TxError::UnknownSender { .. } => ApiErrorCode::UnknownSender,
            TxError::NotAuthorized(_) => ApiErrorCode::NotAuthorized,
            TxError::NotMember { .. } => ApiErrorCode::NotMember,
            TxError::LimitExceeded { .. } => ApiErrorCode::LimitExceeded,
            TxError::DirectIdentifier(_) => ApiErrorCode::DirectIdentifier,
            TxError::Invalid(_) => ApiErrorCode::InvalidTransaction,
            TxError::AlreadyRegistered { .. } => ApiErrorCode::AlreadyRegistered,
            TxError::UnknownInstitution(_) => ApiErrorCode::UnknownInstitution,
            TxError::InstitutionInactive(_) => ApiErrorCode::InstitutionInactive,
            TxError::UnknownMember(_) => ApiErrorCode::UnknownMember,
            TxError::UnknownPseudonym(_) => ApiErrorCode::UnknownPseudonym,
            TxError::UnknownRecord(_) => ApiErrorCode::UnknownRecord,
            TxError::UnknownConsent(_) => ApiErrorCode::UnknownConsent,
            TxError::UnknownProposal(_) => ApiErrorCode::UnknownProposal,
            TxError::AlreadyRevoked => ApiErrorCode::AlreadyRevoked,
            TxError::AlreadyErased(_) => ApiErrorCode::AlreadyErased,
            TxError::BadErasureReceipt { .. } => ApiErrorCode::BadErasureReceipt,
            TxError::ProposalClosed { .. } => ApiErrorCode::ProposalClosed,
            TxError::AlreadyVoted { .. } => ApiErrorCode::AlreadyVoted,
            TxError::InvalidChange(_) => ApiErrorCode::InvalidChange,
            TxError::BadFragments(_) => ApiErrorCode::BadFragments,
            TxError::BadStorageReceipt { .. } => ApiErrorCode::BadStorageReceipt,
            TxError::StorageQuorumNotMet { .. } => ApiErrorCode::StorageQuorumNotMet,
            TxError::UnknownStudy(_) => ApiErrorCode::UnknownStudy,
            TxError::Study(_) => ApiErrorCode::StudyRefused,
            TxError::State(_) => ApiErrorCode::StateUnavailable,
        }
    }

    /// True if the node's own storage failed: the transaction itself may be fine.
    pub fn is_internal(&self) -> bool {
        matches!(self, TxError::State(_))
    }
}

impl From<ValidationError> for TxError {
    fn from(error: ValidationError) -> Self {
        match error {
            ValidationError::LimitExceeded { limit, max, got } => {
                TxError::LimitExceeded { limit, max, got }
            }
            ValidationError::DirectIdentifier(kind) => TxError::DirectIdentifier(kind),
            // The same refusal whether the stateless check or the governance handler finds it.
            bad @ (ValidationError::AddressSyntax { .. }
            | ValidationError::AddressNotCanonical { .. }
            | ValidationError::AddressNotDialable { .. }) => {
                TxError::InvalidChange(bad.to_string())
            }
            other => TxError::Invalid(other),
        }
    }
}

impl From<StoreError> for TxError {
    fn from(error: StoreError) -> Self {
        TxError::State(StateError::Store(error))
    }
}

/// A block that must not be accepted: transaction `index` failed with `error`
/// (block limits report the first transaction over the limit).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("block rejected: transaction {index}: {error}")]
pub struct BlockError {
    pub index: usize,
    pub error: TxError,
}

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum GenesisError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("the store already holds a chain ({0}); start from an empty store")]
    AlreadyApplied(ChainId),
    /// A founding key without a valid proof of possession: the document was edited after
    /// `medchain init` signed it, or names a key its holder did not sign for.
    #[error(
        "genesis {entry}: {reason} (the proofs sign the genesis's possession chain id; regenerate them with the key holders)"
    )]
    KeyProof { entry: String, reason: TxError },
    #[error(transparent)]
    State(#[from] StateError),
}
