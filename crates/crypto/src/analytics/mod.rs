//! The cryptography of privacy-preserving studies: exponential (lifted) ElGamal in BLS12-381 G1
//! under the validators' dealerless analytics key, range proofs on contributions, threshold
//! decryption of aggregates with proofs, and the bounded discrete logarithm that recovers a sum.
//!
//! * [`elgamal`]: `(c1, c2) = (rG, mG + rPK)`, additively homomorphic, 96 bytes. The key is the
//!   constant term of the public polynomial that commonware's `bls12381::dkg::feldman_desmedt`
//!   produces with the `MinPk` variant (public keys in G1), so a DKG [`Output`] plugs in as is.
//! * [`range`]: a proof that a ciphertext encrypts an integer in `[lo, hi]`, by bit
//!   decomposition into Pedersen commitments with disjunctive Schnorr proofs (Cramer, Damgård,
//!   Schoenmakers, "Proofs of partial knowledge and simplified design of witness hiding
//!   protocols", CRYPTO 1994, the 1-out-of-2 case of their composition of Σ-protocols) and a
//!   Σ-protocol linking the bits to the ciphertext, made non-interactive by Fiat–Shamir over a
//!   transcript bound to a [`ProofContext`], and verified in batch as one multi-scalar
//!   multiplication over points that skip the subgroup check (`wire` says why that is sound).
//! * [`threshold`]: each validator's partial decryption `s_i·c1` with a Chaum–Pedersen proof of
//!   equality of discrete logarithms (Chaum, Pedersen, "Wallet databases with observers",
//!   CRYPTO 1992) against its public share; a quorum of valid partials combines by Lagrange
//!   interpolation in the exponent (as in ElectionGuard 2.0's verifiable decryption); invalid
//!   ones are excluded.
//! * [`dlog`]: baby-step giant-step (Shanks 1971) for `m` from `mG` within a declared bound.
//! * [`noise`]: exact discrete Laplace samples, each validator's share of a study's
//!   differential-privacy noise, added encrypted and range-proven before anything is decrypted.
//!
//! # How a contribution binds to its study and key image (what the state machine checks)
//!
//! A contribution to study `S` on chain `C` is `(ciphertext, range proof)` plus, for an anonymous
//! patient, a bLSAG ring signature from [`crate::ring`]. The patient computes its key image for
//! `S` first ([`crate::ring::key_image`]), proves the range with it in the [`ProofContext`], then
//! ring-signs `ciphertext ‖ proof` with `S` as the ring context. The state machine, in this order:
//!
//! 1. Takes the study's approved parameters from state, never from the transaction: the range
//!    `[lo, hi]`, the eligible ring, the ring size, the deadline, and the analytics key of the
//!    epoch the study was approved in. A study that is not approved, or past its deadline, is
//!    refused before any proof is checked.
//! 2. Anonymous: checks the ring's members are all in the study's eligible set and that the ring
//!    has at least the study's ring size; verifies the ring signature with the study id `S` as the
//!    ring context (the key image depends on it, so a patient is linkable within a study and
//!    not across studies) over a message that is the encoded ciphertext and range proof; refuses
//!    a key image already recorded for `S`. Institutional: the sender's ordinary signature
//!    instead, and no key image.
//! 3. Verifies the range proof with `ProofContext { chain_id: C, study_id: S, key_image }`, where
//!    `key_image` is the ring signature's key image (or `None` for an institution). The Fiat–Shamir
//!    transcript absorbs all three, so a proof lifted from another study, another chain, or
//!    another patient's contribution fails. Together with step 2 (the signature covers the proof)
//!    the pair cannot be split and recombined.
//! 4. Only then adds the ciphertext to the study's aggregate ([`Ciphertext::add`]) and records the
//!    key image. The sum of `count` contributions lies in `[count·lo, count·hi]`, the bound the
//!    release hands to [`dlog::DiscreteLogTable`].
//! 5. At release, accepts a partial decryption only of the closed study's aggregate, verified
//!    with [`threshold::PartialDecryption::verify`] in the context
//!    `ProofContext { chain_id: C, study_id: S, key_image: None }`, and publishes the
//!    value once a quorum of valid partials combines. A node never partially decrypts any other
//!    ciphertext (a single contribution would leak).
//!
//! [`Output`]: commonware_cryptography::bls12381::dkg::feldman_desmedt::Output
//! [`Ciphertext::add`]: elgamal::Ciphertext::add

pub mod dlog;
pub mod elgamal;
pub mod noise;
pub mod range;
pub mod threshold;
mod transcript;
mod wire;

use thiserror::Error;

pub use elgamal::{AnalyticsPublicKey, Ciphertext, Opening};
pub use transcript::ProofContext;

/// Largest identifier in a [`ProofContext`] (a chain id or a study id), so transcripts stay small.
pub const CONTEXT_FIELD_SIZE_MAX_BYTES: usize = 256;
/// Widest declared range `hi − lo` in bits: each bit costs 384 bytes of proof and two
/// equations, and a sum of many such values must stay within reach of [`dlog`].
pub const RANGE_BITS_MAX: u32 = 32;

/// Why an analytics ciphertext, proof or decryption was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum AnalyticsError {
    #[error(
        "{what} is {got_bytes} bytes, expected {expected_bytes}: the encoding is truncated or padded"
    )]
    BadLength {
        what: &'static str,
        got_bytes: usize,
        expected_bytes: usize,
    },
    #[error(
        "{what} is not a valid compressed BLS12-381 G1 point (non-canonical, off the curve, outside the prime-order subgroup, or the identity): the bytes were corrupted or forged"
    )]
    InvalidPoint { what: &'static str },
    #[error(
        "{what} is not an uncompressed BLS12-381 G1 encoding of a point on the curve other than the identity: the proof bytes were corrupted or forged"
    )]
    InvalidProofPoint { what: &'static str },
    #[error(
        "{what} is not a canonical scalar (must be below the group order): the bytes were corrupted or forged"
    )]
    InvalidScalar { what: &'static str },
    #[error(
        "{what} is {got_bytes} bytes, more than the maximum {CONTEXT_FIELD_SIZE_MAX_BYTES}: use a short identifier"
    )]
    ContextTooLarge {
        what: &'static str,
        got_bytes: usize,
    },
    #[error("noise scale {numerator}/{denominator} is not positive: both parts must be at least 1")]
    BadNoiseScale { numerator: u64, denominator: u64 },
    #[error(
        "range [{lo}, {hi}] is empty or wider than {RANGE_BITS_MAX} bits: declare lo <= hi with hi - lo < 2^{RANGE_BITS_MAX}"
    )]
    BadRange { lo: u64, hi: u64 },
    #[error(
        "value {value} is outside the declared range [{lo}, {hi}]: no proof can be made for it"
    )]
    ValueOutOfRange { value: u64, lo: u64, hi: u64 },
    #[error(
        "the opening does not match the ciphertext: prove with the value and randomness it was encrypted with"
    )]
    OpeningMismatch,
    #[error(
        "range proof does not verify for this ciphertext, key, range and context (a tampered proof, or one made for another study, chain or contributor)"
    )]
    InvalidRangeProof,
    #[error(
        "the analytics key's sharing uses evaluation points other than the counter mode (index + 1): run the DKG with Mode::NonZeroCounter"
    )]
    UnsupportedSharingMode,
    #[error(
        "the analytics key is not one encoded DKG sharing (counter mode, G1 public polynomial, within the participant limit): submit the DKG output as produced"
    )]
    InvalidSharing,
    #[error("participant {index} has no share in this analytics key (it has {total} participants)")]
    UnknownParticipant { index: u32, total: u32 },
    #[error(
        "partial decryption of participant {index} does not verify against its public share: exclude it"
    )]
    InvalidPartial { index: u32 },
    #[error("participant {index} sent two partial decryptions: keep one per participant")]
    DuplicatePartial { index: u32 },
    #[error(
        "only {valid} valid partial decryptions, the key needs {required}: wait for more validators (excluded as invalid: {invalid:?})"
    )]
    NotEnoughPartials {
        valid: usize,
        required: usize,
        invalid: Vec<u32>,
    },
    #[error(
        "discrete-log bound {bound} needs {entries} table entries, more than the limit {table_entries_max}: lower the bound (fewer contributions or a narrower range)"
    )]
    BoundTooLarge {
        bound: u64,
        entries: u64,
        table_entries_max: u64,
    },
    #[error(
        "the decrypted value is not in [0, {bound}]: the aggregate holds more than the study's declared bound, or the partials decrypt another ciphertext"
    )]
    ValueAboveBound { bound: u64 },
}
