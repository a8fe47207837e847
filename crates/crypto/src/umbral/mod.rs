//! Umbral threshold proxy re-encryption on secp256k1: D. Nuñez, "Umbral: a threshold proxy
//! re-encryption scheme" (NuCypher technical document, 2018), §3 "The Umbral PRE cryptosystem".
//! Written from the paper and the equations and byte formats of umbral-pre 0.11.0 recorded in
//! the project notes (crypto-schemes.md Part A); objects are byte-compatible with that version.
//!
//! Flow: the patient `encapsulate`s a data key to its own public key (the capsule goes on the
//! ledger), grants access with `generate_kfrags` (one signed fragment per validator, threshold t),
//! each validator `reencrypt`s the capsule with its fragment, and the grantee verifies t capsule
//! fragments and calls `decapsulate_reencrypted`. Every decoder is strict: one encoding per object.
//!
//! Where we are stricter than umbral-pre 0.11.0 (honest umbral-pre objects are all accepted):
//! only `fixarray` + `bin8` msgpack without trailing bytes; high-S ECDSA signatures refused; a
//! key fragment must embed the constant U; `KeyFrag::verify` also checks the receiver's signature
//! when both keys are given; `1 <= t <= n <= KFRAG_SHARES_MAX_COUNT`; DEM payloads are capped at
//! `DEM_PLAINTEXT_MAX_BYTES`. Our ECDSA nonces are RFC 6979 without added entropy, so seeded runs
//! are reproducible (signatures differ from umbral-pre's but verify on both sides).
//!
//! ```
//! use medchain_crypto::umbral::*;
//! # use rand_core::SeedableRng;
//! # let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
//! let patient = SecretKey::random(&mut rng);
//! let grantee = SecretKey::random(&mut rng);
//! let signer = Signer::new(&SecretKey::random(&mut rng));
//! let (capsule, seed) = encapsulate(&mut rng, &patient.public_key())?;
//! let params = KeyFragParams { threshold: 2, shares: 3, sign_delegating_key: true, sign_receiving_key: true };
//! let kfrags = generate_kfrags(&mut rng, &patient, &grantee.public_key(), &signer, params)?;
//! let cfrags: Vec<VerifiedCapsuleFrag> = kfrags[1..]
//!     .iter()
//!     .map(|kfrag| reencrypt(&mut rng, &capsule, kfrag))
//!     .collect::<Result<_, _>>()?;
//! let opened = decapsulate_reencrypted(&grantee, &patient.public_key(), &capsule, &cfrags)?;
//! assert_eq!(opened.as_bytes(), seed.as_bytes());
//! # Ok::<(), UmbralError>(())
//! ```

mod capsule;
mod cfrag;
mod dem;
mod factory;
mod group;
mod keys;
mod kfrag;
mod wire;

pub use capsule::{
    CAPSULE_SIMPLE_SIZE_BYTES, CAPSULE_SIZE_BYTES, Capsule, decapsulate_original,
    decapsulate_reencrypted, encapsulate,
};
pub use cfrag::{
    CFRAG_SIMPLE_SIZE_BYTES, CFRAG_SIZE_BYTES, CapsuleFrag, VerifiedCapsuleFrag, reencrypt,
};
pub use dem::{DEM_NONCE_SIZE_BYTES, DEM_PLAINTEXT_MAX_BYTES, DEM_TAG_SIZE_BYTES, KeySeed};
pub use factory::{
    DERIVED_SECRET_SIZE_BYTES, KEY_LABEL_MAX_BYTES, SECRET_KEY_FACTORY_SEED_SIZE_BYTES,
    SecretKeyFactory,
};
pub use group::PARAMETER_U_BYTES;
pub use keys::{PublicKey, SIGNATURE_SIZE_BYTES, SecretKey, Signature, Signer};
pub use kfrag::{
    KFRAG_ID_SIZE_BYTES, KFRAG_SIZE_BYTES, KeyFrag, KeyFragParams, VerifiedKeyFrag, generate_kfrags,
};
/// The RNG bound every randomised operation takes (rand_core 0.10, as k256 0.14 uses).
pub use rand_core::CryptoRng;

/// Most key fragments one grant may have (and most capsule fragments one decapsulation takes):
/// one per validator, and a consortium is far smaller; the bound caps the O(n²) Lagrange work.
pub const KFRAG_SHARES_MAX_COUNT: usize = 256;

/// Everything that can go wrong in Umbral; messages say what was wrong and what to do.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum UmbralError {
    #[error("{what}: expected {expected_bytes} bytes, got {actual_bytes}; pass the exact encoding")]
    InvalidLength {
        what: &'static str,
        expected_bytes: usize,
        actual_bytes: usize,
    },
    #[error("{what}: input ends at byte {offset_bytes}; the object was cut short in transit")]
    Truncated {
        what: &'static str,
        offset_bytes: usize,
    },
    #[error(
        "{what}: malformed at byte {offset_bytes}: {reason}; only umbral-pre 0.11 msgpack is accepted"
    )]
    MalformedEncoding {
        what: &'static str,
        offset_bytes: usize,
        reason: &'static str,
    },
    #[error("{what}: {trailing_bytes} trailing bytes after the object; send exactly one object")]
    TrailingBytes {
        what: &'static str,
        trailing_bytes: usize,
    },
    #[error("{what}: not a 33-byte compressed secp256k1 point; check the encoding")]
    InvalidPoint { what: &'static str },
    #[error("{what}: the identity point is not allowed; the input is corrupt or malicious")]
    IdentityPoint { what: &'static str },
    #[error("{what}: scalar is not below the group order; use the canonical big-endian encoding")]
    NonCanonicalScalar { what: &'static str },
    #[error("{what}: zero is not allowed; generate a fresh key")]
    ZeroScalar { what: &'static str },
    #[error("signature: r or s is zero or not below the group order; the signature is corrupt")]
    InvalidSignatureEncoding,
    #[error("signature: s is in the high half (a malleated signature); re-sign with low-S")]
    HighSSignature,
    #[error("capsule check s·g = V + h·E failed: the capsule is corrupt or forged; refetch it")]
    CapsuleCheckFailed,
    #[error(
        "key fragment carries a parameter point other than Umbral's U; it was not made for this scheme"
    )]
    ParameterMismatch,
    #[error(
        "threshold {threshold} of {shares} shares is out of range: need 1 <= t <= n <= {max_shares}"
    )]
    ThresholdOutOfRange {
        threshold: usize,
        shares: usize,
        max_shares: usize,
    },
    #[error(
        "key fragment commitment U1 != rk·U: the fragment is corrupt; ask the delegator for a new one"
    )]
    KeyFragCommitmentMismatch,
    #[error(
        "key fragment signs the delegating key but none was supplied; pass the delegator's public key"
    )]
    DelegatingKeyNotProvided,
    #[error(
        "key fragment signs the receiving key but none was supplied; pass the receiver's public key"
    )]
    ReceivingKeyNotProvided,
    #[error("key fragment signature does not verify: wrong signer or keys, or a forged fragment")]
    KeyFragSignatureInvalid,
    #[error(
        "capsule fragment's key-fragment signature does not verify: wrong signer, delegator or receiver"
    )]
    CapsuleFragSignatureInvalid,
    #[error(
        "capsule fragment's re-encryption proof fails: the proxy cheated or used another capsule; discard it"
    )]
    CapsuleFragProofInvalid,
    #[error("no capsule fragments given; collect at least the threshold number from the proxies")]
    NoCapsuleFrags,
    #[error(
        "{count} capsule fragments exceed the limit of {max_count}; pass only the threshold number"
    )]
    TooManyCapsuleFrags { count: usize, max_count: usize },
    #[error(
        "capsule fragments come from different grants (precursors differ); use fragments of one grant"
    )]
    MismatchedCapsuleFrags,
    #[error("the same key fragment was used twice; pass fragments from distinct proxies")]
    RepeatedCapsuleFrags,
    #[error(
        "{cfrags_count} capsule fragments do not open this capsule: fewer than the grant's threshold, \
         or fragments of another capsule or grant; collect at least t verified fragments"
    )]
    ReencryptedKeyCheckFailed { cfrags_count: usize },
    #[error(
        "key label of {label_bytes} bytes exceeds {max_bytes}; labels name a purpose, keep them short"
    )]
    LabelTooLong {
        label_bytes: usize,
        max_bytes: usize,
    },
    #[error(
        "plaintext of {plaintext_bytes} bytes exceeds the DEM limit of {max_bytes}; use the chunked envelope"
    )]
    PlaintextTooLarge {
        plaintext_bytes: usize,
        max_bytes: usize,
    },
    #[error(
        "ciphertext of {ciphertext_bytes} bytes is shorter than the {min_bytes}-byte nonce and tag"
    )]
    CiphertextTooShort {
        ciphertext_bytes: usize,
        min_bytes: usize,
    },
    #[error(
        "ciphertext does not authenticate under this capsule's key: wrong key, capsule or tampered data"
    )]
    DecryptionFailed,
}

/// Encrypts a small payload to `delegating_pk`: a fresh capsule plus the DEM ciphertext.
pub fn encrypt<R: CryptoRng + ?Sized>(
    rng: &mut R,
    delegating_pk: &PublicKey,
    plaintext: &[u8],
) -> Result<(Capsule, Vec<u8>), UmbralError> {
    let (capsule, key_seed) = encapsulate(rng, delegating_pk)?;
    let ciphertext = dem::dem_encrypt(rng, &key_seed, &capsule.to_bytes_simple(), plaintext)?;
    Ok((capsule, ciphertext))
}

pub fn decrypt_original(
    delegating_sk: &SecretKey,
    capsule: &Capsule,
    ciphertext: &[u8],
) -> Result<Vec<u8>, UmbralError> {
    let key_seed = decapsulate_original(delegating_sk, capsule)?;
    dem::dem_decrypt(&key_seed, &capsule.to_bytes_simple(), ciphertext)
}

pub fn decrypt_reencrypted(
    receiving_sk: &SecretKey,
    delegating_pk: &PublicKey,
    capsule: &Capsule,
    cfrags: &[VerifiedCapsuleFrag],
    ciphertext: &[u8],
) -> Result<Vec<u8>, UmbralError> {
    let key_seed = decapsulate_reencrypted(receiving_sk, delegating_pk, capsule, cfrags)?;
    dem::dem_decrypt(&key_seed, &capsule.to_bytes_simple(), ciphertext)
}
