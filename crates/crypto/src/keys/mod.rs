//! Identities and pseudonyms. A patient's 32-byte master seed derives, per institution, an
//! independent key set (Ed25519 signing, X25519/HPKE encryption, secp256k1 PRE secret,
//! ristretto255 ring key) with HKDF-SHA256 (RFC 5869) whose info names the version, the
//! institution and the purpose, so pseudonyms at two institutions share nothing visible.
//!
//! ```
//! use medchain_crypto::keys::{MasterSeed, open_with, seal_to};
//! use medchain_crypto::rng::seeded_u64;
//!
//! let mut rng = seeded_u64(1);
//! let seed = MasterSeed::generate(&mut rng);
//! let at_a = seed.pseudonym_keys(b"hospital-a")?;
//! let at_b = seed.pseudonym_keys(b"hospital-b")?;
//! assert_ne!(at_a.public_keys(), at_b.public_keys());
//! let sealed = seal_to(&mut rng, &at_a.public_keys().encryption, b"kfrag", b"", b"fragment")?;
//! assert_eq!(&open_with(&at_a.encryption, b"kfrag", b"", &sealed)?[..], b"fragment");
//! # Ok::<(), medchain_crypto::keys::KeyError>(())
//! ```

pub mod file;
pub mod hpke;
pub mod possession;

use commonware_codec::{Copying, DecodeExt};
use commonware_cryptography::{Signer as _, ed25519};
use hkdf::Hkdf;
use rand_core::CryptoRng;
use sha2_11::Sha256;
use thiserror::Error;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

pub use self::hpke::{EncryptionPublicKey, EncryptionSecretKey, open_with, seal_to};
use crate::ring::{RingPublicKey, RingSecretKey};

/// Master seed length.
pub const MASTER_SEED_SIZE_BYTES: usize = 32;
/// Longest institution identifier accepted in a derivation.
pub const INSTITUTION_ID_SIZE_MAX_BYTES: usize = 64;
/// Longest output one derivation gives (the ring key takes 64 bytes for an unbiased scalar).
pub const DERIVED_SIZE_MAX_BYTES: usize = 64;
/// HKDF salt: fixes the scheme so the same seed used elsewhere yields unrelated keys.
const DERIVATION_SALT: &[u8] = b"medchain/pseudonym-keys";
/// First part of every HKDF info; bump the version to rotate every derived key.
const DERIVATION_INFO_VERSION: &[u8] = b"medchain/pseudonym-keys/v1";

/// Why a key could not be derived, decoded or used.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("institution id is empty: use the institution's registered identifier")]
    EmptyInstitutionId,
    #[error(
        "institution id is {got_bytes} bytes, more than the maximum {INSTITUTION_ID_SIZE_MAX_BYTES}"
    )]
    InstitutionIdTooLong { got_bytes: usize },
    #[error(
        "master seed is {got_bytes} bytes, expected {MASTER_SEED_SIZE_BYTES}: restore it from the backup"
    )]
    BadSeedLength { got_bytes: usize },
    #[error(
        "X25519 public key is not a canonical curve point outside the small subgroup: the key was corrupted or forged"
    )]
    InvalidEncryptionKey,
    #[error(
        "{got_bytes} bytes requested from one key derivation, more than {DERIVED_SIZE_MAX_BYTES}: derive keys one purpose at a time"
    )]
    DerivedTooLong { got_bytes: usize },
    #[error("derived ring key is zero (probability 2^-252): report this seed as a bug")]
    DerivedZeroRingKey,
    #[error(
        "plaintext of {got_bytes} bytes is larger than the {} bytes that may be sealed to a public key: use envelope encryption",
        hpke::SEAL_PLAINTEXT_MAX_BYTES
    )]
    SealPlaintextTooLarge { got_bytes: usize },
    #[error(
        "sealed message is {got_bytes} bytes, shorter than the {} bytes of overhead: it was truncated",
        hpke::SEAL_OVERHEAD_BYTES
    )]
    SealedTooShort { got_bytes: usize },
    #[error(
        "sealed message does not open with this key, info and aad: wrong recipient, or the message was modified"
    )]
    OpenFailed,
}

/// What a derived key is for; each purpose gets its own HKDF output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyPurpose {
    Signing,
    Encryption,
    ProxyReEncryption,
    Ring,
}

impl KeyPurpose {
    fn label(self) -> &'static [u8] {
        match self {
            KeyPurpose::Signing => b"ed25519-signing",
            KeyPurpose::Encryption => b"x25519-hpke-encryption",
            KeyPurpose::ProxyReEncryption => b"secp256k1-umbral-pre",
            KeyPurpose::Ring => b"ristretto255-ring",
        }
    }
}

/// A patient's master seed. Zeroized on drop; Debug hides it.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct MasterSeed([u8; MASTER_SEED_SIZE_BYTES]);

impl std::fmt::Debug for MasterSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterSeed(<redacted>)")
    }
}

impl MasterSeed {
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut bytes = [0u8; MASTER_SEED_SIZE_BYTES];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    pub fn from_bytes(bytes: [u8; MASTER_SEED_SIZE_BYTES]) -> Self {
        Self(bytes)
    }

    /// From bytes of unchecked length, e.g. an opened key file.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, KeyError> {
        let array: [u8; MASTER_SEED_SIZE_BYTES] =
            bytes.try_into().map_err(|_| KeyError::BadSeedLength {
                got_bytes: bytes.len(),
            })?;
        Ok(Self(array))
    }

    pub fn as_bytes(&self) -> &[u8; MASTER_SEED_SIZE_BYTES] {
        &self.0
    }

    /// HKDF-SHA256(salt, seed, info = version ‖ len ‖ institution ‖ len ‖ purpose) into `out`.
    pub fn derive_bytes(
        &self,
        institution: &[u8],
        purpose: KeyPurpose,
        out: &mut [u8],
    ) -> Result<(), KeyError> {
        check_institution(institution)?;
        if out.len() > DERIVED_SIZE_MAX_BYTES {
            return Err(KeyError::DerivedTooLong {
                got_bytes: out.len(),
            });
        }
        let label = purpose.label();
        let mut info =
            Vec::with_capacity(DERIVATION_INFO_VERSION.len() + 2 + institution.len() + label.len());
        info.extend_from_slice(DERIVATION_INFO_VERSION);
        info.push(u8::try_from(institution.len()).expect("checked against the 64-byte limit"));
        info.extend_from_slice(institution);
        info.push(u8::try_from(label.len()).expect("labels are short constants"));
        info.extend_from_slice(label);
        Hkdf::<Sha256>::new(Some(DERIVATION_SALT), &self.0)
            .expand(&info, out)
            .expect("at most 64 bytes, within HKDF-SHA256's 8160-byte limit");
        Ok(())
    }

    /// The full key set of this patient's pseudonym at `institution`.
    pub fn pseudonym_keys(&self, institution: &[u8]) -> Result<PseudonymKeys, KeyError> {
        let mut signing = Zeroizing::new([0u8; 32]);
        self.derive_bytes(institution, KeyPurpose::Signing, &mut *signing)?;
        let mut encryption = Zeroizing::new([0u8; 32]);
        self.derive_bytes(institution, KeyPurpose::Encryption, &mut *encryption)?;
        let mut pre = PreSecret([0u8; 32]);
        self.derive_bytes(institution, KeyPurpose::ProxyReEncryption, &mut pre.0)?;
        let mut ring = Zeroizing::new([0u8; 64]);
        self.derive_bytes(institution, KeyPurpose::Ring, &mut *ring)?;
        Ok(PseudonymKeys {
            signing: signing_key_from_seed(&signing),
            encryption: EncryptionSecretKey::derive(&encryption).0,
            pre,
            ring: RingSecretKey::from_uniform_bytes(&ring)
                .map_err(|_| KeyError::DerivedZeroRingKey)?,
        })
    }
}

fn check_institution(institution: &[u8]) -> Result<(), KeyError> {
    if institution.is_empty() {
        return Err(KeyError::EmptyInstitutionId);
    }
    if institution.len() > INSTITUTION_ID_SIZE_MAX_BYTES {
        return Err(KeyError::InstitutionIdTooLong {
            got_bytes: institution.len(),
        });
    }
    Ok(())
}

/// An Ed25519 signing key (commonware's implementation, shared with consensus) from its
/// 32-byte RFC 8032 seed.
pub fn signing_key_from_seed(seed: &[u8; 32]) -> ed25519::PrivateKey {
    ed25519::PrivateKey::decode(Copying(&seed[..])).expect("any 32 bytes are an Ed25519 seed")
}

/// The 32-byte secret from which the Umbral module makes the secp256k1 PRE key: uniform bytes,
/// not yet a scalar (map them to a non-zero scalar, e.g. `(w mod (n−1)) + 1` as Umbral's
/// hash-to-scalar does). Zeroized on drop; Debug hides it.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct PreSecret([u8; 32]);

impl PreSecret {
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for PreSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PreSecret(<redacted>)")
    }
}

/// All secret keys of one pseudonym. Every field zeroizes on drop; Debug hides them.
#[derive(Clone)]
pub struct PseudonymKeys {
    pub signing: ed25519::PrivateKey,
    pub encryption: EncryptionSecretKey,
    pub pre: PreSecret,
    pub ring: RingSecretKey,
}

impl std::fmt::Debug for PseudonymKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PseudonymKeys(<redacted>)")
    }
}

/// The public half of a pseudonym, as registered on the ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PseudonymPublicKeys {
    pub signing: ed25519::PublicKey,
    pub encryption: EncryptionPublicKey,
    pub ring: RingPublicKey,
}

impl PseudonymKeys {
    pub fn public_keys(&self) -> PseudonymPublicKeys {
        PseudonymPublicKeys {
            signing: self.signing.public_key(),
            encryption: self.encryption.public_key(),
            ring: self.ring.public_key(),
        }
    }
}
