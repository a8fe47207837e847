//! Keys, envelope encryption, threshold proxy re-encryption (Umbral), linkable ring signatures, and the studies' threshold ElGamal with range proofs
//! ([`analytics`]). Pure: no I/O, no clock; randomness comes in as an
//! argument (see [`rng`]) so every operation can be replayed from a seed.

pub mod analytics;
pub mod envelope;
pub mod error;
pub mod keys;
pub mod ring;
pub mod rng;
pub mod umbral;

pub use error::Error;
