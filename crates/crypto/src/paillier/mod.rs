//! Paillier encryption (Paillier, EUROCRYPT 1999) with g = n + 1, homomorphic addition and plaintext
//! scalar multiplication, a signed fixed-point plaintext encoding, and threshold decryption
//! (Shoup 2000 / Damgård–Jurik 2001, s = 1, see [`threshold`]). All arithmetic runs on GMP via `rug`.
//!
//! Speed-ups, each cited where it is implemented: CRT decryption with precomputed constants
//! (Paillier 1999 §7) in [`SecretKey::decrypt`], and the Damgård–Jurik–Nielsen short-exponent
//! encryption `(1+n)^m · h_s^α` with a fixed-base table for `h_s` in [`PublicKey::encrypt`].
//! Many ciphertexts are summed ([`PublicKey::sum`]) or decrypted ([`SecretKey::decrypt_batch`])
//! on every core.
//!
//! ```
//! use medchain_crypto::paillier::{keygen, FixedPoint};
//! # use rand_chacha::rand_core::SeedableRng;
//! # let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
//! let (pk, sk) = keygen(1024, &mut rng).unwrap(); // deployments use 2048 or 3072 bits
//! let money = FixedPoint::new(2).unwrap(); // two decimal places
//! let a = pk.encrypt(&money.encode(&pk, -1250).unwrap(), &mut rng); // -12.50
//! let b = pk.encrypt(&money.encode(&pk, 400).unwrap(), &mut rng); //   4.00
//! let sum = sk.decrypt(&pk.add(&a, &b));
//! assert_eq!(money.decode(&pk, &sum).unwrap(), -850);
//! ```

mod aggregate;
mod fixed_base;
mod fixed_point;
mod keys;
mod rng;
pub mod threshold;
mod wipe;
mod wire;

pub use aggregate::{PARALLELISM_MAX_THREADS, SUM_THREAD_MIN_CIPHERTEXTS};
pub use fixed_point::{FIXED_POINT_SCALE_MAX_DIGITS, FixedPoint, magnitude_max};
pub use keys::{Ciphertext, Plaintext, PublicKey, SecretKey, keygen};
/// GMP integers as used throughout this API (re-exported so callers need no direct `rug` dependency).
pub use rug::Integer;

/// Smallest modulus accepted anywhere (key generation and decoding). 1024-bit keys exist only so
/// logic tests run fast; deployments use 2048 bits (≈ 112-bit security, NIST SP 800-57) or
/// 3072 bits (≈ 128-bit security).
pub const MODULUS_SIZE_MIN_BITS: u32 = 1024;
/// Largest modulus accepted; bounds the work an attacker can make a decoder do.
pub const MODULUS_SIZE_MAX_BITS: u32 = 4096;

/// Everything that can go wrong in Paillier encoding, decoding and (threshold) decryption.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PaillierError {
    #[error(
        "a Paillier modulus of {bits} bits is outside {min}..={max} bits; use a 2048- or 3072-bit key"
    )]
    ModulusSize { bits: u32, min: u32, max: u32 },
    #[error(
        "{what}: encoding version {found} is not supported (this build reads version {expected})"
    )]
    UnsupportedVersion {
        what: &'static str,
        found: u8,
        expected: u8,
    },
    #[error(
        "{what}: the bytes encode object kind {found}, not kind {expected}; pass the right object"
    )]
    WrongKind {
        what: &'static str,
        found: u8,
        expected: u8,
    },
    #[error(
        "{what}: expected {expected} bytes but got {found}; the encoding is truncated or padded"
    )]
    WrongLength {
        what: &'static str,
        expected: usize,
        found: usize,
    },
    #[error("{what}: {reason}")]
    Malformed {
        what: &'static str,
        reason: &'static str,
    },
    #[error("ciphertext is zero or not below n^2: it was not produced under this public key")]
    CiphertextOutOfRange,
    #[error(
        "ciphertext shares a factor with n: it is not a valid ciphertext under this public key"
    )]
    CiphertextNotUnit,
    #[error("encryption randomness r must lie in Z*_n (0 < r < n, gcd(r, n) = 1)")]
    InvalidNonce,
    #[error("the DJN encryption exponent α must be non-negative and below 2^{max_bits}")]
    InvalidExponent { max_bits: u32 },
    #[error("plaintext is not below n; reduce it modulo n or use the signed fixed-point encoding")]
    PlaintextOutOfRange,
    #[error(
        "fixed-point value of {units} units has magnitude above n/3, the signed plaintext range; use a larger key or a smaller scale"
    )]
    FixedPointOverflow { units: i128 },
    #[error(
        "decrypted value lies between +n/3 and n - n/3: a homomorphic sum or product overflowed the signed plaintext range; aggregate fewer or smaller values per ciphertext"
    )]
    Overflow,
    #[error(
        "decoded value does not fit in a signed 128-bit integer; decode it as an Integer instead"
    )]
    ValueTooLarge,
    #[error("fixed-point scale of {scale} decimal digits is above the maximum of {max}")]
    ScaleTooLarge { scale: u32, max: u32 },
    #[error("fixed-point input {value} is not a finite number that fits in 128 bits after scaling")]
    NotRepresentable { value: f64 },
    #[error("invalid key: {reason}")]
    InvalidKey { reason: &'static str },
    #[error(
        "threshold {threshold} of {holders} holders is invalid: need 1 <= threshold <= holders <= {max}"
    )]
    ThresholdParameters {
        threshold: u16,
        holders: u16,
        max: u16,
    },
    #[error("decryption share names holder {index}, outside 1..={holders}")]
    ShareIndex { index: u16, holders: u16 },
    #[error(
        "decryption share from holder {index} fails its proof of correctness; exclude that holder"
    )]
    InvalidShareProof { index: u16 },
    #[error("two decryption shares name holder {index}; each holder contributes once")]
    DuplicateShare { index: u16 },
    #[error("only {valid} valid decryption shares but {needed} are needed; ask more holders")]
    NotEnoughShares { valid: usize, needed: usize },
}
