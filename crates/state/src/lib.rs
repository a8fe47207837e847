//! The deterministic medchain state machine: governance, directory, patients,
//! records, consent, access and studies, over an abstract key-value [`Store`]. No
//! network, no disk, no clock: block time comes from [`BlockEnv`]; the same
//! blocks give the same state (and root) on every node.
//!
//! The node calls [`apply_genesis`] once, [`build_block`] when proposing,
//! [`execute_block`] when verifying, [`check_transaction`] for mempool/API
//! admission, and the [`query`] functions (with [`keys`] for proofs) to read.
//! A failing transaction never leaves a write behind (it runs in an [`Overlay`]).
//!
//! Notes for the node:
//! - [`check_transaction`] takes the env of the *next* block (tip height + 1, a
//!   timestamp estimate): consent periods and proposal expiry may still differ
//!   when the transaction is executed, which [`build_block`] then reports.
//! - [`execute_block`] is all-or-nothing: on `Err` nothing was written, drop the block.
//!   [`build_block`] writes the included transactions: run it on a fresh batch.
//! - After each finalized block, read the validator set with [`query::validators`]
//!   (key [`keys::validator_set`]). Network addresses are not on the ledger: a
//!   validator admitted by governance must be given its address by configuration.
//! - Map [`TxError::code`] to the API's error code; [`TxError::is_internal`]
//!   marks a storage failure (HTTP 5xx), everything else is the client's (4xx).
//!
//! ```
//! use commonware_cryptography::{Signer, ed25519::PrivateKey};
//! use futures::executor::block_on;
//! use medchain_state::*;
//! use medchain_types::*;
//!
//! let validator = PrivateKey::from_seed(1);
//! let admin = PrivateKey::from_seed(2);
//! let patient = PrivateKey::from_seed(3);
//! let hospital = InstitutionId::new("st-mary").unwrap();
//! let encryption = medchain_crypto::keys::hpke::EncryptionSecretKey::derive(&[9; 32]).0;
//! let mut genesis = Genesis {
//!     chain_name: "demo".into(),
//!     genesis_time_ms: 0,
//!     institutions: vec![GenesisInstitution {
//!         id: hospital.clone(),
//!         kind: InstitutionKind::Hospital,
//!         admin: AccountId(admin.public_key()),
//!         admin_proof: [0; 64],
//!     }],
//!     validators: vec![GenesisValidator {
//!         account: AccountId(validator.public_key()),
//!         institution: hospital.clone(),
//!         p2p_address: "127.0.0.1:3000".into(),
//!         http_address: "127.0.0.1:8080".into(),
//!         encryption_key: encryption.public_key().to_bytes(),
//!         proofs: ValidatorKeyProofs { account: [0; 64], encryption_key: [0; 64] },
//!     }],
//!     observers: vec![],
//!     members: vec![],
//!     epoch_length_blocks: 1_000,
//! };
//! // Every founding key proves possession; whoever generated the keys signs the proofs.
//! let mut keyring = registration::GenesisKeyring::default();
//! keyring.account(&admin).validator(&validator, &encryption);
//! keyring.sign(&mut medchain_crypto::rng::seeded_u64(1), &mut genesis).unwrap();
//! let mut store = MemoryStore::new();
//! block_on(apply_genesis(&mut store, &genesis)).unwrap();
//!
//! let env = BlockEnv {
//!     chain_id: genesis.chain_id(),
//!     height: 1,
//!     timestamp_ms: 1_000,
//!     proposer: AccountId(validator.public_key()),
//! };
//! let tx = SignedTransaction::sign(&patient, Transaction {
//!     chain_id: env.chain_id,
//!     sender: AccountId(patient.public_key()),
//!     nonce: 0,
//!     // The hospital's admin co-signs its patient's pseudonym; the PRE key proves itself.
//!     payload: registration::register_pseudonym(
//!         &env.chain_id,
//!         &patient,
//!         &medchain_crypto::umbral::SecretKey::from_be_bytes(&[7; 32]).unwrap(),
//!         hospital,
//!         &admin,
//!     ),
//! });
//! block_on(check_transaction(&store, &env, &tx)).unwrap();
//! let built = block_on(build_block(&mut store, &env, vec![tx]));
//! assert_eq!(built.included.len(), 1);
//! let pseudonym = block_on(query::pseudonym(&store, &AccountId(patient.public_key()))).unwrap();
//! assert_eq!(pseudonym.unwrap().registered_height, 1);
//! ```

pub mod access;
mod consent;
mod directory;
pub mod entries;
pub mod error;
mod exec;
mod governance;
pub mod keys;
mod patients;
mod possession;
pub mod query;
mod records;
pub mod registration;
mod review;
mod rw;
pub mod store;
mod studies;
pub mod study_payloads;

pub use entries::*;
pub use error::{BlockError, GenesisError, StateError, StorageReceiptFault, StudyFault, TxError};
pub use exec::{
    BlockEnv, BuiltBlock, Outcome, Receipt, apply_genesis, build_block, build_block_within,
    check_genesis, check_transaction, execute_block,
};
pub use store::{MemoryStore, Overlay, Store, StoreError, Writes, commit};
