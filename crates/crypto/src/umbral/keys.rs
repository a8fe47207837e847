//! Umbral key pairs and the ECDSA signer that authenticates key fragments: secp256k1 keys, 32-byte
//! big-endian secret keys, 33-byte compressed public keys, ECDSA-SHA256 signatures as r || s
//! (notes A.3). Signatures are emitted low-S and only low-S is accepted, so none is malleable.

use std::fmt;

use k256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use k256::ecdsa::{SigningKey, VerifyingKey};
use k256::elliptic_curve::scalar::IsHigh;
use k256::{NonZeroScalar, ProjectivePoint, Scalar};
use rand_core::CryptoRng;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::UmbralError;
use super::group::{Point, SCALAR_SIZE_BYTES, random_nonzero_scalar, scalar_from_bytes, sha256};

pub const SIGNATURE_SIZE_BYTES: usize = 64;

/// A non-zero secret scalar. Zeroized on drop; `Debug` never shows it.
#[derive(Clone)]
pub struct SecretKey(Scalar);

impl SecretKey {
    pub fn random<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self(random_nonzero_scalar(rng))
    }

    /// Parses the 32-byte big-endian form; zero and values >= the group order are refused.
    pub fn from_be_bytes(bytes: &[u8]) -> Result<Self, UmbralError> {
        let scalar = scalar_from_bytes(bytes, "secret key")?;
        if bool::from(scalar.is_zero()) {
            return Err(UmbralError::ZeroScalar { what: "secret key" });
        }
        Ok(Self(scalar))
    }

    pub fn to_be_bytes(&self) -> Zeroizing<[u8; SCALAR_SIZE_BYTES]> {
        Zeroizing::new(self.0.to_bytes().into())
    }

    pub fn public_key(&self) -> PublicKey {
        let point = Point::new(ProjectivePoint::mul_by_generator(&self.0), "public key")
            .expect("a non-zero scalar times the generator is never the identity");
        PublicKey(point)
    }

    pub(crate) fn from_nonzero_scalar(scalar: Scalar) -> Self {
        assert!(
            !bool::from(scalar.is_zero()),
            "hash-to-scalar output is never zero"
        );
        Self(scalar)
    }

    pub(crate) fn scalar(&self) -> &Scalar {
        &self.0
    }
}

impl Zeroize for SecretKey {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for SecretKey {}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// A public key: a non-identity point, 33 bytes compressed on the wire.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(pub(crate) Point);

impl PublicKey {
    pub fn from_compressed_bytes(bytes: &[u8]) -> Result<Self, UmbralError> {
        Point::from_bytes(bytes, "public key").map(Self)
    }

    pub fn to_compressed_bytes(&self) -> [u8; 33] {
        self.0.bytes
    }

    pub(crate) fn point(&self) -> &Point {
        &self.0
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey(")?;
        self.0
            .bytes
            .iter()
            .try_for_each(|byte| write!(f, "{byte:02x}"))?;
        write!(f, ")")
    }
}

/// Signs key fragments. Holds its own key (umbral separates the signing key from the
/// delegating key); the inner `SigningKey` zeroizes itself on drop.
pub struct Signer {
    signing_key: SigningKey,
    verifying_key: PublicKey,
}

impl Signer {
    pub fn new(secret_key: &SecretKey) -> Self {
        let nonzero = Option::<NonZeroScalar>::from(NonZeroScalar::new(secret_key.0))
            .expect("SecretKey is non-zero by construction");
        Self {
            signing_key: SigningKey::from(nonzero),
            verifying_key: secret_key.public_key(),
        }
    }

    pub fn verifying_key(&self) -> PublicKey {
        self.verifying_key
    }

    /// ECDSA over SHA-256(message) with an RFC 6979 nonce; k256 returns it low-S normalised.
    pub fn sign(&self, message: &[u8]) -> Signature {
        let signature: k256::ecdsa::Signature = self
            .signing_key
            .sign_prehash(&sha256(message))
            .expect("signing a 32-byte prehash with a valid key cannot fail");
        Signature(signature)
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signer({:?})", self.verifying_key)
    }
}

/// ECDSA-secp256k1-SHA256 signature, 64 bytes r || s on the wire, always low-S.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Signature(k256::ecdsa::Signature);

impl Signature {
    /// Refuses r or s equal to zero or >= n, and high-S (a malleated copy of a valid signature).
    pub fn from_be_bytes(bytes: &[u8]) -> Result<Self, UmbralError> {
        let array: [u8; SIGNATURE_SIZE_BYTES] =
            bytes.try_into().map_err(|_| UmbralError::InvalidLength {
                what: "signature",
                expected_bytes: SIGNATURE_SIZE_BYTES,
                actual_bytes: bytes.len(),
            })?;
        let signature = k256::ecdsa::Signature::from_slice(&array)
            .map_err(|_| UmbralError::InvalidSignatureEncoding)?;
        if bool::from(signature.s().is_high()) {
            return Err(UmbralError::HighSSignature);
        }
        Ok(Self(signature))
    }

    pub fn to_be_bytes(&self) -> [u8; SIGNATURE_SIZE_BYTES] {
        self.0.to_bytes().into()
    }

    pub fn verify(&self, verifying_key: &PublicKey, message: &[u8]) -> bool {
        let Ok(key) = VerifyingKey::from_affine(verifying_key.0.point.to_affine()) else {
            return false;
        };
        key.verify_prehash(&sha256(message), &self.0).is_ok()
    }
}
