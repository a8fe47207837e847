//! Keys, envelope encryption, threshold proxy re-encryption (Umbral), Paillier with threshold
//! decryption and linkable ring signatures. Pure: no I/O, no clock; randomness comes in as an
//! argument (see [`rng`]) so every operation can be replayed from a seed.

pub mod envelope;
pub mod error;
pub mod keys;
pub mod paillier;
pub mod ring;
pub mod rng;
pub mod umbral;

pub use error::Error;
