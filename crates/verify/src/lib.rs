//! The medchain light client: what an auditor, a patient's client or a browser needs to trust
//! nothing a node says but the genesis document. It checks that a block is final (its simplex
//! finalization certificate is signed by a quorum of its epoch's validators, learned from the
//! genesis through validator hand-offs), that a value is in the state a final block commits to
//! (a QMDB key-value proof against its state root), that a log is complete, and that a block is
//! fresh against a clock the caller passes in. No I/O, no clock, no randomness but the batch
//! verifier's.
//!
//! ```
//! use medchain_verify::{finality::fixtures, finalized_block};
//! let genesis = fixtures::genesis("demo", 4, 10);
//! let block = fixtures::block(5, 0, 6, &[]);
//! let certificate = fixtures::finalize("demo", &block, &[0, 1, 2, 3], &[0, 1, 2]);
//! let served = fixtures::response(&block, Some(certificate), vec![]);
//! let verified = finalized_block(&genesis, &served).unwrap();
//! assert_eq!((verified.signers, verified.validators), (3, 4));
//! ```
//!
//! # Dependencies
//!
//! The block, its consensus context and the finalization certificate are decoded here, and the
//! certificate is checked with `commonware-cryptography`'s ed25519 certificate scheme under the
//! subject simplex signs, so `commonware-consensus` is not linked: it depends unconditionally on
//! `commonware-p2p`, `-runtime`, `-broadcast`, `-resolver`, `-actor` and (through
//! `commonware-coding`) `-storage`. The `consensus` feature, which only the node enables, adds
//! the engine's block traits. Conformance tests (with the engine as a dev-dependency) hold the
//! encodings and the signed subject to the engine's.
//!
//! The state proof, QMDB's `current` key-value proof (a Merkle range proof over an ops tree with
//! an activity bitmap grafted onto it), is checked in `proof::current`, written after
//! commonware-storage 2026.10.0's verifier (the module doc names the files) and held to it by
//! the conformance tests on a real database. That verifier is only in commonware-storage with
//! its `std` feature, which links `commonware-runtime` (tokio, axum, prometheus, ...).
//! `commonware-storage` is still a dependency, without default features: its `no_std` `merkle`
//! module gives the MMR range proof (`merkle::Proof::reconstruct_root`, commonware's own, with
//! its fold-based digest layout and inactive peaks) and `mmr::Location`; re-implementing that
//! too would be a second copy of the larger half of the proof system for nothing.
//!
//! With the workspace's commonware crates taken without `std`, the normal dependency tree holds
//! no `commonware-runtime`, `-p2p`, axum, tokio, or `commonware-storage` with `std`;
//! `scripts/check-light-client.sh` (run by CI) fails if one comes back.

pub mod block;
pub mod certificate;
pub mod finality;
pub mod freshness;
pub mod log;
pub mod proof;

pub use block::{Block, BlockContext, RosterEntry, Round};
pub use certificate::consensus_namespace;
pub use finality::{
    RosterError, VerifiedBlock, VerifyError, finalized_block, roster_validators, validator_set,
};
pub use proof::{ProofError, Verified, proven_value};

use commonware_codec::Encode as _;
use commonware_cryptography::Digestible as _;
use medchain_types::api::{BlockResponse, ValidatorHandoff};

/// What `GET /v1/blocks/{height}` serves for `block`: its header fields, its canonical
/// encoding, its finalization certificate and the validator hand-offs a client needs to check it.
pub fn block_response(
    block: &Block,
    finalization: Option<String>,
    validator_handoffs: Vec<ValidatorHandoff>,
) -> BlockResponse {
    BlockResponse {
        height: block.height,
        digest: hex::encode(block.digest()),
        parent: hex::encode(block.parent),
        timestamp_ms: block.timestamp_ms,
        proposer: hex::encode(block.proposer().as_ref()),
        transactions_root: hex::encode(block.transactions_root),
        state_root: hex::encode(block.state_root),
        transaction_hashes: block
            .transactions
            .iter()
            .map(|t| t.hash().to_string())
            .collect(),
        block: hex::encode(block.encode()),
        finalization,
        validator_handoffs,
    }
}
