//! Every bound the ledger enforces, as a named constant with its unit last.
//! Decoders and `validate()` check against these; each one is hit by a test
//! (limit accepted, limit + 1 refused). Changing one is a protocol change.

/// Canonical encoding of one signed transaction.
pub const TX_SIZE_MAX_BYTES: usize = 64 * 1024;
/// Sum of the canonical encodings of a block's transactions.
pub const BLOCK_SIZE_MAX_BYTES: usize = 4 * 1024 * 1024;
/// Transactions in one block.
pub const BLOCK_TRANSACTIONS_MAX: usize = 2_048;
// A transaction at its size limit must fit in a block, or it could be admitted and never run.
const _: () = assert!(TX_SIZE_MAX_BYTES <= BLOCK_SIZE_MAX_BYTES);
/// A record's Umbral capsule: exactly one msgpack `[E, V, s]` on secp256k1
/// (`medchain_crypto::umbral::CAPSULE_SIZE_BYTES`; the state machine asserts they agree and
/// parses it). Anything else is not what the field claims to be.
pub const CAPSULE_SIZE_BYTES: usize = 105;
/// Categories or record ids named in one consent's data scope.
pub const CONSENT_SCOPE_MAX_ITEMS: usize = 64;
/// Actors named in one consent provision.
pub const CONSENT_ACTORS_MAX: usize = 16;
/// Actions in one provision (there are 3 distinct actions).
pub const CONSENT_ACTIONS_MAX: usize = 3;
/// Purposes of use in one provision (there are 7 distinct codes).
pub const CONSENT_PURPOSES_MAX: usize = 7;
/// Deny exceptions nested in one permit.
pub const CONSENT_EXCEPTIONS_MAX: usize = 8;
/// Sealed re-encryption fragments in one grant (one per validator at most).
pub const SEALED_FRAGMENTS_MAX: usize = 64;
/// One sealed re-encryption key fragment, exactly: HPKE's 32-byte encapsulated key, one
/// 310-byte Umbral kfrag and the 16-byte Poly1305 tag (the state machine asserts this against
/// `medchain_crypto`'s constants). A fixed length leaves no room to smuggle data.
pub const SEALED_FRAGMENT_SIZE_BYTES: usize = 32 + 310 + 16;
/// Break-glass justification text (UTF-8 bytes).
pub const JUSTIFICATION_SIZE_MAX_BYTES: usize = 256;
/// An auditor's note on a reviewed break-glass read (UTF-8 bytes).
pub const REVIEW_NOTE_SIZE_MAX_BYTES: usize = 256;
/// Review-queue items one page of `GET /v1/reviews` returns at most.
pub const REVIEW_QUEUE_PAGE_MAX_ENTRIES: usize = 256;
/// How long a membership proposal stays open.
pub const PROPOSAL_TTL_MAX_BLOCKS: u64 = 100_000;
/// Active (unrevoked) consents one pseudonym may hold at a time.
pub const CONSENTS_PER_PATIENT_MAX: usize = 64;
/// Validators in the consortium (also bounds the validator-set value in state).
pub const VALIDATORS_MAX: usize = 64;
/// Storage receipts one `CreateRecord` carries: at most one per validator.
pub const STORAGE_RECEIPTS_MAX: usize = VALIDATORS_MAX;
// A record with a receipt from every validator (136 bytes each) must fit in one transaction.
const _: () = assert!(STORAGE_RECEIPTS_MAX * 136 + 1024 < TX_SIZE_MAX_BYTES);
/// Blocks in one consensus epoch when the genesis does not say: the validator set governance
/// voted takes effect at the next epoch boundary, so this bounds how long a change waits
/// (about 8 minutes on an idle chain of two blocks a second).
pub const EPOCH_LENGTH_DEFAULT_BLOCKS: u64 = 1_000;
/// Shortest epoch a genesis may set: each epoch starts a new consensus instance, so shorter ones
/// spend more time on hand-offs than on blocks.
pub const EPOCH_LENGTH_MIN_BLOCKS: u64 = 10;
/// Observer nodes (follow and verify the chain without voting) listed in the genesis document.
pub const OBSERVERS_MAX: usize = 64;
/// Size of the off-chain ciphertext a record may describe.
pub const RECORD_SIZE_MAX_BYTES: u64 = 1024 * 1024 * 1024;
/// Smallest size class a record's `size_bytes` names.
pub const RECORD_SIZE_CLASS_MIN_BYTES: u64 = 4096;

/// The size class a ciphertext of `len` bytes is recorded under: the next power of two, at
/// least [`RECORD_SIZE_CLASS_MIN_BYTES`]. The ledger keeps records forever, and an exact size
/// tells an observer which kind of document (a one-line result, a scan) a patient has; a size
/// class within a factor of two is all that quotas and download limits need.
pub const fn record_size_class_bytes(len: u64) -> u64 {
    if len <= RECORD_SIZE_CLASS_MIN_BYTES {
        RECORD_SIZE_CLASS_MIN_BYTES
    } else {
        match len.checked_next_power_of_two() {
            Some(class) => class,
            None => u64::MAX,
        }
    }
}
/// Institution slug length, lower bound.
pub const INSTITUTION_ID_SIZE_MIN_BYTES: usize = 3;
/// Institution slug length, upper bound.
pub const INSTITUTION_ID_SIZE_MAX_BYTES: usize = 32;
/// Genesis chain name.
pub const CHAIN_NAME_SIZE_MAX_BYTES: usize = 64;
/// A validator's p2p or HTTP address string in the genesis document or an `AddValidator` proposal.
pub const ADDRESS_SIZE_MAX_BYTES: usize = 256;
/// Institutions listed in the genesis document.
pub const GENESIS_INSTITUTIONS_MAX: usize = 256;
/// Members listed in the genesis document.
pub const GENESIS_MEMBERS_MAX: usize = 4_096;
/// Access-log entries returned by one page of the access-log query.
pub const ACCESS_LOG_PAGE_MAX_ENTRIES: usize = 256;
/// The consortium's Cedar policy text (UTF-8 bytes), in genesis state or a governance proposal;
/// the default set is about 2 KiB, and a proposal must fit in one transaction.
pub const CONSORTIUM_POLICY_SIZE_MAX_BYTES: usize = 16 * 1024;
const _: () = assert!(CONSORTIUM_POLICY_SIZE_MAX_BYTES < TX_SIZE_MAX_BYTES);
/// Policies in the consortium's policy set.
pub const CONSORTIUM_POLICIES_MAX: usize = 64;
/// A policy's `@id` (ASCII lowercase letters, digits and hyphens), as logged with a denial.
pub const CONSORTIUM_POLICY_ID_SIZE_MAX_BYTES: usize = 64;
