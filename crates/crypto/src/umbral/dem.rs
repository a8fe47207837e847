//! The data encapsulation of umbral-pre 0.11.0 (notes A.2 "KDF / DEM key", "DEM"): the 33-byte
//! key seed goes through HKDF-SHA256 (no salt, empty info) to a 32-byte XChaCha20-Poly1305 key;
//! ciphertext = nonce(24) || ciphertext || tag(16), associated data = the 98-byte capsule.

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{Key, KeyInit, XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use k256::elliptic_curve::subtle::ConstantTimeEq;
use k256::sha2::Sha256;
use rand_core::CryptoRng;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::UmbralError;
use super::group::POINT_SIZE_BYTES;

/// Largest plaintext the DEM takes. Records use the chunked envelope AEAD; this DEM only
/// carries keys and small payloads, so a tight bound keeps a hostile input from allocating much.
pub const DEM_PLAINTEXT_MAX_BYTES: usize = 1 << 20;
pub const DEM_NONCE_SIZE_BYTES: usize = 24;
pub const DEM_TAG_SIZE_BYTES: usize = 16;

/// The encapsulated secret: the compressed shared point (r + u)·A. Whoever holds it can derive
/// the data key, so it is zeroized on drop and never printed.
#[derive(Clone)]
pub struct KeySeed([u8; POINT_SIZE_BYTES]);

/// Constant-time, so comparing a candidate seed leaks nothing about the real one.
impl PartialEq for KeySeed {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for KeySeed {}

impl KeySeed {
    pub(crate) fn new(bytes: [u8; POINT_SIZE_BYTES]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; POINT_SIZE_BYTES] {
        &self.0
    }

    /// The 32-byte symmetric key umbral-pre derives from this seed.
    pub fn derive_key(&self) -> Zeroizing<[u8; 32]> {
        let mut key = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(None, &self.0)
            .expand(&[], key.as_mut())
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        key
    }
}

impl Zeroize for KeySeed {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

impl Drop for KeySeed {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for KeySeed {}

impl std::fmt::Debug for KeySeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeySeed(<redacted>)")
    }
}

pub(crate) fn dem_encrypt<R: CryptoRng + ?Sized>(
    rng: &mut R,
    key_seed: &KeySeed,
    associated_data: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, UmbralError> {
    if plaintext.len() > DEM_PLAINTEXT_MAX_BYTES {
        return Err(UmbralError::PlaintextTooLarge {
            plaintext_bytes: plaintext.len(),
            max_bytes: DEM_PLAINTEXT_MAX_BYTES,
        });
    }
    let cipher = XChaCha20Poly1305::new(<&Key>::from(&*key_seed.derive_key()));
    let mut nonce = [0u8; DEM_NONCE_SIZE_BYTES];
    rng.fill_bytes(&mut nonce);
    let sealed = cipher
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: plaintext,
                aad: associated_data,
            },
        )
        .map_err(|_| UmbralError::PlaintextTooLarge {
            plaintext_bytes: plaintext.len(),
            max_bytes: DEM_PLAINTEXT_MAX_BYTES,
        })?;
    let mut ciphertext = Vec::with_capacity(DEM_NONCE_SIZE_BYTES + sealed.len());
    ciphertext.extend_from_slice(&nonce);
    ciphertext.extend_from_slice(&sealed);
    Ok(ciphertext)
}

pub(crate) fn dem_decrypt(
    key_seed: &KeySeed,
    associated_data: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, UmbralError> {
    let overhead_bytes = DEM_NONCE_SIZE_BYTES + DEM_TAG_SIZE_BYTES;
    if ciphertext.len() < overhead_bytes {
        return Err(UmbralError::CiphertextTooShort {
            ciphertext_bytes: ciphertext.len(),
            min_bytes: overhead_bytes,
        });
    }
    if ciphertext.len() > DEM_PLAINTEXT_MAX_BYTES + overhead_bytes {
        return Err(UmbralError::PlaintextTooLarge {
            plaintext_bytes: ciphertext.len() - overhead_bytes,
            max_bytes: DEM_PLAINTEXT_MAX_BYTES,
        });
    }
    let (nonce, sealed) = ciphertext.split_at(DEM_NONCE_SIZE_BYTES);
    let nonce = XNonce::try_from(nonce).expect("split at the nonce length");
    let cipher = XChaCha20Poly1305::new(<&Key>::from(&*key_seed.derive_key()));
    cipher
        .decrypt(
            &nonce,
            Payload {
                msg: sealed,
                aad: associated_data,
            },
        )
        .map_err(|_| UmbralError::DecryptionFailed)
}
