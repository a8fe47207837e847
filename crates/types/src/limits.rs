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
/// Ring-key directory lines returned by one page (`GET /v1/ring-keys`).
pub const RING_DIRECTORY_PAGE_MAX_ENTRIES: usize = 256;
/// Study index lines returned by one page (`GET /v1/studies`).
pub const STUDY_INDEX_PAGE_MAX_ENTRIES: usize = 256;
/// The consortium's Cedar policy text (UTF-8 bytes), in genesis state or a governance proposal;
/// the default set is about 2 KiB, and a proposal must fit in one transaction.
pub const CONSORTIUM_POLICY_SIZE_MAX_BYTES: usize = 16 * 1024;
const _: () = assert!(CONSORTIUM_POLICY_SIZE_MAX_BYTES < TX_SIZE_MAX_BYTES);
/// Policies in the consortium's policy set.
pub const CONSORTIUM_POLICIES_MAX: usize = 64;
/// A policy's `@id` (ASCII lowercase letters, digits and hyphens), as logged with a denial.
pub const CONSORTIUM_POLICY_ID_SIZE_MAX_BYTES: usize = 64;

// Studies (`study`, `medchain_state`'s `studies` handler).

/// A study's field name (UTF-8 bytes).
pub const STUDY_FIELD_SIZE_MAX_BYTES: usize = 64;
/// A study's unit (UTF-8 bytes).
pub const STUDY_UNIT_SIZE_MAX_BYTES: usize = 32;
/// Record categories in a cohort filter (there are 11 distinct categories).
pub const STUDY_COHORT_CATEGORIES_MAX: usize = 11;
/// Institutions in a cohort filter.
pub const STUDY_COHORT_INSTITUTIONS_MAX: usize = 64;
/// Histogram buckets of one study: each costs every contribution one ciphertext and one
/// one-bit range proof (768 bytes).
pub const STUDY_HISTOGRAM_BUCKETS_MAX: usize = 16;
/// Aggregate slots of a contribution: the sum, the sum of squares and the buckets.
pub const STUDY_SLOTS_MAX: usize = 2 + STUDY_HISTOGRAM_BUCKETS_MAX;
/// One exponential-ElGamal ciphertext, exactly (`medchain_crypto::analytics::elgamal`; the state
/// machine asserts they agree).
pub const STUDY_CIPHERTEXT_SIZE_BYTES: usize = 96;
/// One range proof: 384 bytes per bit proof, at most 2 × 32 of them (a two-sided 32-bit range),
/// and 512 bytes linking them to the ciphertext (the state machine asserts this against the
/// crypto crate).
pub const STUDY_RANGE_PROOF_SIZE_MAX_BYTES: usize = 2 * 32 * 384 + 512;
/// Smallest minimum cohort k a study may declare: an aggregate of fewer values tells each
/// contributor too much about the others.
pub const STUDY_MIN_COHORT_MIN: u64 = 3;
/// Most values one study aggregates (also the most one institution may declare).
pub const STUDY_VALUES_MAX: u64 = 1_000_000;
/// Smallest ring a study may ask for (a ring of one names the signer).
pub const STUDY_RING_SIZE_MIN_MEMBERS: usize = 2;
/// Largest ring an anonymous contribution may carry: 256 members are 8 KiB of keys and 8 KiB
/// of signature, and leave room for the proofs in one transaction.
pub const STUDY_RING_SIZE_MAX_MEMBERS: usize = 256;
/// An anonymous contribution's ring signature: key image, challenge, one response per member.
pub const STUDY_RING_SIGNATURE_SIZE_MAX_BYTES: usize = (2 + STUDY_RING_SIZE_MAX_MEMBERS) * 32;
/// A ring key's proof of possession (a bLSAG over the key and a decoy: 4 × 32 bytes).
pub const RING_KEY_PROOF_SIZE_BYTES: usize = 128;
/// How far ahead of the proposal a study's deadline may lie (about 6 days at 2 blocks a second).
pub const STUDY_DEADLINE_MAX_BLOCKS: u64 = 1_000_000;
/// Baby steps of the discrete logarithm the state machine runs at release, on every validator,
/// inside block execution. 2^16 entries (about 4 MB) cover a width of 2^32 per aggregate; a
/// study whose worst-case aggregate needs more is refused when proposed. Smaller than the
/// crypto crate's own table limit because this one is paid inside consensus: building the
/// table at this limit took 0.21 s in a dev build (blst at opt-level 2, one core of the 2-core
/// CI machine), and solving costs at most as much again per wide aggregate (the sum and the
/// sum of squares; buckets are at most `values_max` and solve in a few steps), so the block
/// that completes a release runs for under a second.
pub const STUDY_DLOG_TABLE_ENTRIES_MAX: u64 = 1 << 16;
/// The validators' analytics key as submitted: the encoded DKG sharing (mode, participant count
/// and a public polynomial of at most one 48-byte G1 point per validator).
pub const ANALYTICS_KEY_SIZE_MAX_BYTES: usize = 16 + 48 * VALIDATORS_MAX;
/// The DKG output a validator submits: its 32-byte transcript summary, the sharing, and three
/// sets of at most one 32-byte validator key each (dealers, players, revealed) with their
/// length prefixes. Resharing rounds need the whole output (their transcript commits to it).
pub const ANALYTICS_KEY_OUTPUT_SIZE_MAX_BYTES: usize =
    32 + ANALYTICS_KEY_SIZE_MAX_BYTES + 3 * (5 + 32 * VALIDATORS_MAX);
/// Smallest differential-privacy budget a study may ask for, in thousandths (ε = 0.01): below
/// it the noise drowns any aggregate a consortium could collect.
pub const STUDY_EPSILON_MILLI_MIN: u32 = 10;
/// Largest budget, in thousandths (ε = 10): beyond it the guarantee means little.
pub const STUDY_EPSILON_MILLI_MAX: u32 = 10_000;
/// How many noise scales wide each validator's noise share may be, `|share| <= bound`: the
/// share is redrawn until it fits, so a range proof can show it does (a validator cannot skew a
/// result by more than this), at a cost of δ below 10^-16 (the mass of a discrete Laplace beyond
/// 50 − ε scales, `e^-40` at ε = 10, for each of at most four sensitivity groups).
pub const STUDY_NOISE_TAIL_SCALES: u64 = 50;
/// Widest noise share bound: a share is proven as `share + bound ∈ [0, 2·bound]`, and a range
/// proof covers at most 32 bits.
pub const STUDY_NOISE_BOUND_MAX: u64 = (1 << 31) - 1;
/// Partial decryptions one `PostPartialDecryption` carries: one per aggregate slot.
pub const STUDY_PARTIALS_MAX: usize = STUDY_SLOTS_MAX;
/// One partial decryption: index, point, challenge, response (4 + 48 + 32 + 32 bytes).
pub const STUDY_PARTIAL_SIZE_BYTES: usize = 116;
// An anonymous contribution with the widest ring and every slot at its widest proof does not
// fit; the state machine refuses studies whose contributions could not (see `studies`). The
// smallest useful one must fit by far.
const _: () = assert!(
    STUDY_RING_SIGNATURE_SIZE_MAX_BYTES + STUDY_RING_SIZE_MAX_MEMBERS * 32 + 4 * 1024
        < TX_SIZE_MAX_BYTES
);
