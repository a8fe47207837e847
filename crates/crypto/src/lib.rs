//! Keys, envelope encryption, threshold proxy re-encryption (Umbral), Paillier with threshold decryption and linkable ring signatures. Pure: no I/O, no clock.
pub mod paillier;
