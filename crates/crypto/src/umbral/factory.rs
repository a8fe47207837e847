//! Deterministic key derivation from one secret seed, as umbral-pre 0.11.0's `SecretKeyFactory`
//! (notes A.2): HKDF-SHA256 (no salt) with a labelled info string, then the Umbral
//! hash-to-scalar with that info as DST. Lets a patient's master seed yield all its keys.

use std::fmt;

use hkdf::Hkdf;
use k256::sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::UmbralError;
use super::group::ScalarHash;
use super::keys::SecretKey;

pub const SECRET_KEY_FACTORY_SEED_SIZE_BYTES: usize = 32;
/// Labels name a purpose ("pseudonym/<institution id>"), never data; the bound keeps them so.
pub const KEY_LABEL_MAX_BYTES: usize = 256;
pub const DERIVED_SECRET_SIZE_BYTES: usize = 64;

/// A 32-byte seed from which keys, secrets and sub-factories are derived by label.
/// Zeroized on drop, never printed.
pub struct SecretKeyFactory([u8; SECRET_KEY_FACTORY_SEED_SIZE_BYTES]);

impl SecretKeyFactory {
    /// `seed` must be exactly 32 bytes of secure randomness.
    pub fn from_secure_randomness(seed: &[u8]) -> Result<Self, UmbralError> {
        let seed = seed.try_into().map_err(|_| UmbralError::InvalidLength {
            what: "secret key factory seed",
            expected_bytes: SECRET_KEY_FACTORY_SEED_SIZE_BYTES,
            actual_bytes: seed.len(),
        })?;
        Ok(Self(seed))
    }

    fn expand<const N: usize>(
        &self,
        prefix: &[u8],
        label: &[u8],
    ) -> Result<Zeroizing<[u8; N]>, UmbralError> {
        if label.len() > KEY_LABEL_MAX_BYTES {
            return Err(UmbralError::LabelTooLong {
                label_bytes: label.len(),
                max_bytes: KEY_LABEL_MAX_BYTES,
            });
        }
        let info = [prefix, label].concat();
        let mut output = Zeroizing::new([0u8; N]);
        Hkdf::<Sha256>::new(None, &self.0)
            .expand(&info, output.as_mut())
            .expect("32 and 64 bytes are valid HKDF-SHA256 output lengths");
        Ok(output)
    }

    /// The secret key for `label`: hash-to-scalar (DST = info) of 64 HKDF bytes, so never zero.
    pub fn make_key(&self, label: &[u8]) -> Result<SecretKey, UmbralError> {
        const PREFIX: &[u8] = b"KEY_DERIVATION/";
        let okm = self.expand::<64>(PREFIX, label)?;
        let info = [PREFIX, label].concat();
        let scalar = Zeroizing::new(ScalarHash::new(&info).chain(okm.as_ref()).finalize());
        Ok(SecretKey::from_nonzero_scalar(*scalar))
    }

    /// 64 secret bytes for `label` (e.g. a symmetric key for another scheme).
    pub fn make_secret(
        &self,
        label: &[u8],
    ) -> Result<Zeroizing<[u8; DERIVED_SECRET_SIZE_BYTES]>, UmbralError> {
        self.expand::<DERIVED_SECRET_SIZE_BYTES>(b"SECRET_DERIVATION/", label)
    }

    /// A child factory for `label`, for hierarchies (patient → institution → purpose).
    pub fn make_factory(&self, label: &[u8]) -> Result<Self, UmbralError> {
        let seed =
            self.expand::<SECRET_KEY_FACTORY_SEED_SIZE_BYTES>(b"FACTORY_DERIVATION/", label)?;
        Ok(Self(*seed))
    }
}

impl Zeroize for SecretKeyFactory {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

impl Drop for SecretKeyFactory {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for SecretKeyFactory {}

impl fmt::Debug for SecretKeyFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKeyFactory(<redacted>)")
    }
}
