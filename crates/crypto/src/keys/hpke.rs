//! Public-key encryption to a validator or a person with HPKE (RFC 9180, base mode,
//! DHKEM(X25519, HKDF-SHA256) + HKDF-SHA256 + ChaCha20-Poly1305, via the `hpke` crate).
//! Used, for example, to send each validator its re-encryption key fragment.
//!
//! Sealed format: the 32-byte encapsulated key followed by the AEAD ciphertext and tag.

use hpke::{
    Deserializable, Kem as _, OpModeR, OpModeS, Serializable, aead::ChaCha20Poly1305,
    kdf::HkdfSha256, kem::X25519HkdfSha256,
};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use curve25519_dalek::montgomery::MontgomeryPoint;

use super::KeyError;

type Kem = X25519HkdfSha256;
type KemPrivateKey = <Kem as hpke::Kem>::PrivateKey;
type KemPublicKey = <Kem as hpke::Kem>::PublicKey;
type EncappedKey = <Kem as hpke::Kem>::EncappedKey;

/// Size of an X25519 public key and of the encapsulated key that starts every sealed message.
pub const ENCRYPTION_KEY_SIZE_BYTES: usize = 32;
/// Poly1305 tag at the end of every sealed message.
pub const SEAL_OVERHEAD_BYTES: usize = ENCRYPTION_KEY_SIZE_BYTES + 16;
/// Largest plaintext sealed to a public key: this is for keys and key fragments, not records
/// (records go through the envelope with a data key).
pub const SEAL_PLAINTEXT_MAX_BYTES: usize = 64 * 1024;

/// An X25519 decryption key. Zeroized on drop (the wrapped x25519-dalek secret does so);
/// Debug hides it.
#[derive(Clone)]
pub struct EncryptionSecretKey(KemPrivateKey);

/// An X25519 encryption public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptionPublicKey(KemPublicKey);

impl EncryptionSecretKey {
    /// RFC 9180 `DeriveKeyPair(ikm)`: deterministic, so a seed-derived key is reproducible.
    pub fn derive(ikm: &[u8; 32]) -> (Self, EncryptionPublicKey) {
        let (secret, public) = Kem::derive_keypair(ikm);
        (Self(secret), EncryptionPublicKey(public))
    }

    pub fn generate(rng: &mut impl CryptoRng) -> (Self, EncryptionPublicKey) {
        let mut ikm = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut *ikm);
        Self::derive(&ikm)
    }

    /// Any 32 bytes are a key (X25519 clamps them).
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        Self(KemPrivateKey::from_bytes(bytes).expect("32 bytes are an X25519 secret"))
    }

    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes().into())
    }

    pub fn public_key(&self) -> EncryptionPublicKey {
        EncryptionPublicKey(Kem::sk_to_pk(&self.0))
    }
}

impl std::fmt::Debug for EncryptionSecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EncryptionSecretKey(<redacted>)")
    }
}

impl EncryptionPublicKey {
    /// Accepts only the canonical encoding of a curve point outside the small subgroup, so a
    /// bad key is refused when it is registered rather than when someone first seals to it.
    pub fn from_bytes(bytes: &[u8; ENCRYPTION_KEY_SIZE_BYTES]) -> Result<Self, KeyError> {
        let montgomery = MontgomeryPoint(*bytes);
        let on_curve = montgomery
            .to_edwards(0)
            .filter(|point| !point.is_small_order())
            .filter(|point| point.to_montgomery() == montgomery);
        if on_curve.is_none() {
            return Err(KeyError::InvalidEncryptionKey);
        }
        Ok(Self(
            KemPublicKey::from_bytes(bytes).expect("32 bytes decode"),
        ))
    }

    pub fn to_bytes(&self) -> [u8; ENCRYPTION_KEY_SIZE_BYTES] {
        self.0.to_bytes().into()
    }
}

/// Encrypts `plaintext` to `recipient`. `info` names the purpose (it must match on opening) and
/// `aad` is authenticated but not encrypted.
pub fn seal_to(
    rng: &mut impl CryptoRng,
    recipient: &EncryptionPublicKey,
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, KeyError> {
    if plaintext.len() > SEAL_PLAINTEXT_MAX_BYTES {
        return Err(KeyError::SealPlaintextTooLarge {
            got_bytes: plaintext.len(),
        });
    }
    let (encapped, ciphertext) =
        hpke::single_shot_seal_with_rng::<ChaCha20Poly1305, HkdfSha256, Kem>(
            &OpModeS::Base,
            &recipient.0,
            info,
            plaintext,
            aad,
            rng,
        )
        .expect("sealing to a validated public key succeeds");
    let mut sealed = Vec::with_capacity(ENCRYPTION_KEY_SIZE_BYTES + ciphertext.len());
    sealed.extend_from_slice(&encapped.to_bytes());
    sealed.extend_from_slice(&ciphertext);
    Ok(sealed)
}

/// Decrypts what [`seal_to`] produced for this key, with the same `info` and `aad`.
pub fn open_with(
    secret: &EncryptionSecretKey,
    info: &[u8],
    aad: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    if sealed.len() < SEAL_OVERHEAD_BYTES {
        return Err(KeyError::SealedTooShort {
            got_bytes: sealed.len(),
        });
    }
    if sealed.len() > SEAL_PLAINTEXT_MAX_BYTES + SEAL_OVERHEAD_BYTES {
        return Err(KeyError::SealPlaintextTooLarge {
            got_bytes: sealed.len() - SEAL_OVERHEAD_BYTES,
        });
    }
    let (encapped, ciphertext) = sealed.split_at(ENCRYPTION_KEY_SIZE_BYTES);
    let encapped = EncappedKey::from_bytes(encapped).map_err(|_| KeyError::OpenFailed)?;
    hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, Kem>(
        &OpModeR::Base,
        &secret.0,
        &encapped,
        info,
        ciphertext,
        aad,
    )
    .map(Zeroizing::new)
    .map_err(|_| KeyError::OpenFailed)
}
