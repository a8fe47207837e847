//! Transactions, blocks, identifiers, canonical encoding and limits of the
//! medchain ledger. Pure: no I/O, no clock, no randomness.
//!
//! Every on-ledger type has one canonical binary encoding (`commonware-codec`:
//! `Encode` to write, `DecodeExt::decode` to read). Decoding is bounded: every
//! length is checked against a named constant in [`limits`] before anything is
//! allocated, and trailing bytes are refused. The limits are protocol constants
//! (every node must agree on them), so the decoders take no config (`Cfg = ()`).
//! Values that arrive as JSON (serde; bytes and ids as hex strings) never went
//! through the decoder: call [`SignedTransaction::validate`] on them.
//!
//! ```
//! use commonware_codec::{DecodeExt, Encode};
//! use commonware_cryptography::{Signer, ed25519::PrivateKey};
//! use medchain_types::*;
//!
//! let patient = PrivateKey::from_seed(7);
//! let tx = Transaction {
//!     chain_id: ChainId([1; 32]),
//!     sender: AccountId(patient.public_key()),
//!     nonce: 0,
//!     payload: Payload::SetEmergencyAccess {
//!         institution: InstitutionId::new("st-mary").unwrap(),
//!         enabled: true,
//!     },
//! };
//! let signed = SignedTransaction::sign(&patient, tx);
//! assert!(signed.verify());
//! signed.validate().unwrap();
//!
//! let bytes = signed.encode();
//! let decoded = SignedTransaction::decode_bounded(&bytes).unwrap();
//! assert_eq!(decoded.hash(), signed.hash());
//! verify_batch(&[signed, decoded]).unwrap();
//! ```

#[doc(hidden)]
pub use bytes as __bytes;
#[doc(hidden)]
pub use commonware_codec as __codec;

pub mod block;
pub mod codec_util;
pub mod codes;
pub mod consent;
pub mod emergency;
pub mod erasure;
pub mod error;
pub mod genesis;
pub mod hexser;
pub mod ids;
pub mod limits;
pub mod merkle;
#[cfg(feature = "openapi")]
mod openapi;
pub mod payload;
pub mod phi_guard;
pub mod possession;
pub mod release;
pub mod storage;
pub mod study;
pub mod transaction;

pub use block::transactions_root;
pub use codes::{
    ConsentAction, Decision, InstitutionKind, Purpose, RecordCategory, ReviewFinding, Role,
};
pub use consent::{ConsentActor, ConsentPolicy, ConsentProvision, DataScope, Period};
pub use erasure::ErasureReceipt;
pub use error::ValidationError;
pub use genesis::{
    Genesis, GenesisInstitution, GenesisMember, GenesisObserver, GenesisValidator,
    ValidatorKeyProofs, parse_validator_address,
};
pub use ids::{
    AccountId, ChainId, ConsentId, InstitutionId, ProposalId, RecordId, StudyId, TxHash,
};
pub use payload::{
    FRAGMENT_SEAL_INFO_PREFIX, FragmentCommitment, MemberKeyProofs, MembershipChange, Payload,
    SealedFragment, fragment_seal_info, sealed_fragment_digest,
};
pub use phi_guard::PhiViolation;
pub use storage::StorageReceipt;
pub use study::{CohortFilter, EncryptedValue, Slot, SlotBound, StudyContribution, StudySpec};
pub use transaction::{BatchError, SignedTransaction, TX_NAMESPACE, Transaction, verify_batch};
pub mod api;
