//! A medchain validator: the consensus adapter (commonware simplex + marshal), the mempool,
//! the authenticated state database (QMDB through `commonware_glue::stateful`), and the HTTP API.
//!
//! Data flows one way: API → mempool → consensus → state machine (`medchain_state`) → storage;
//! reads come back from storage with proofs. Record ciphertexts go around consensus: they are
//! streamed to every validator's blob store (`blobs`), which answers signed storage receipts. The node never decides whether a transaction is
//! allowed: it asks `medchain_state`.

pub mod api;
pub mod app;
pub mod blobs;
pub mod blobsync;
pub mod chain;
pub mod config;
pub mod dkg;
pub mod engine;
pub mod epochs;
pub mod erasure;
pub mod fatal;
pub mod faults;
pub mod mempool;
pub mod queries;
pub mod ratelimit;
pub mod reencryption;
pub mod run;
pub mod snapshot;
pub mod store;
