//! The typed Rust client of the medchain HTTP API, verifying proofs against finalized headers.
