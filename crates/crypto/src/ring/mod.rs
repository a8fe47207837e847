//! Linkable ring signatures: bLSAG (Noether, Goodell, "Zero to Monero", 2nd ed., 2020, §3.4)
//! over ristretto255 (`curve25519-dalek`). A patient proves "one of these eligible pseudonyms
//! signed" without saying which, and a second contribution with the same key is recognisable.
//!
//! Deviation from Monero: the key image is `k·H_p(context ‖ K)` instead of the context-free
//! `k·H_p(K)`. A patient contributing to two studies must not be linkable across studies, so
//! linkability holds only within one context (one study); see [`hashing`] for the encodings.
//!
//! ```
//! use medchain_crypto::ring::{Ring, RingSecretKey, sign, verify};
//! use medchain_crypto::rng::seeded_u64;
//!
//! let mut rng = seeded_u64(1);
//! let patients: Vec<RingSecretKey> = (0..4).map(|_| RingSecretKey::generate(&mut rng)).collect();
//! let ring = Ring::new(patients.iter().map(RingSecretKey::public_key).collect())?;
//! let first = sign(&mut rng, &patients[2], &ring, b"study:42", b"value=7")?;
//! verify(&ring, b"study:42", b"value=7", &first)?;
//! let again = sign(&mut rng, &patients[2], &ring, b"study:42", b"value=9")?;
//! assert!(first.links_to(&again)); // a second contribution to study 42 is refused
//! let elsewhere = sign(&mut rng, &patients[2], &ring, b"study:43", b"value=7")?;
//! assert!(!first.links_to(&elsewhere)); // but study 43 cannot tell it is the same patient
//! # Ok::<(), medchain_crypto::ring::RingError>(())
//! ```

mod blsag;
pub mod hashing;

use curve25519_dalek::{
    ristretto::{CompressedRistretto, RistrettoPoint},
    scalar::Scalar,
    traits::IsIdentity,
};
use rand_core::CryptoRng;
use thiserror::Error;
use zeroize::{Zeroize, ZeroizeOnDrop};

pub use blsag::{KeyImageBases, PreparedRing, key_image, sign, verify};

/// Smallest ring: one member would name the signer.
pub const RING_SIZE_MIN_MEMBERS: usize = 2;
/// Largest ring: signing and verifying cost grows linearly (two scalar multiplications and a
/// hash-to-point per member); 1024 members verify in tens of milliseconds.
pub const RING_SIZE_MAX_MEMBERS: usize = 1024;
/// Largest linkability context (a study identifier), so transcripts stay small.
pub const CONTEXT_SIZE_MAX_BYTES: usize = 256;
/// Encoded size of a point or scalar.
pub const ELEMENT_SIZE_BYTES: usize = 32;

/// Why a ring, key or signature was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum RingError {
    #[error(
        "ring has {members} members, fewer than the minimum {RING_SIZE_MIN_MEMBERS}: add decoy members"
    )]
    RingTooSmall { members: usize },
    #[error(
        "ring has {members} members, more than the maximum {RING_SIZE_MAX_MEMBERS}: use a smaller anonymity set"
    )]
    RingTooLarge { members: usize },
    #[error("ring member {index} appears twice: each public key may appear once")]
    DuplicateMember { index: usize },
    #[error("{what} is not a canonical ristretto255 encoding: the bytes were corrupted or forged")]
    NonCanonicalPoint { what: &'static str },
    #[error("{what} is the identity point, which is never a valid key: the bytes were forged")]
    IdentityPoint { what: &'static str },
    #[error(
        "{what} is not a canonical scalar (must be below the group order): the bytes were corrupted or forged"
    )]
    NonCanonicalScalar { what: &'static str },
    #[error("a ring secret key must not be zero: generate or derive the key again")]
    ZeroSecretKey,
    #[error(
        "{what} is {got_bytes} bytes, expected {expected}: the encoding is truncated or padded"
    )]
    BadLength {
        what: &'static str,
        got_bytes: usize,
        expected: &'static str,
    },
    #[error(
        "context is {got_bytes} bytes, more than the maximum {CONTEXT_SIZE_MAX_BYTES}: use a study identifier"
    )]
    ContextTooLarge { got_bytes: usize },
    #[error("the signing key's public key is not a member of the ring: add it to the ring")]
    SignerNotInRing,
    #[error(
        "signature has {signature} responses but the ring has {ring} members: verify against the ring it was made for"
    )]
    RingSizeMismatch { ring: usize, signature: usize },
    #[error("ring signature does not verify for this ring, context and message")]
    InvalidSignature,
}

fn decode_point(
    bytes: &[u8; ELEMENT_SIZE_BYTES],
    what: &'static str,
) -> Result<RistrettoPoint, RingError> {
    let point = CompressedRistretto(*bytes)
        .decompress()
        .ok_or(RingError::NonCanonicalPoint { what })?;
    if point.is_identity() {
        return Err(RingError::IdentityPoint { what });
    }
    Ok(point)
}

fn decode_scalar(
    bytes: &[u8; ELEMENT_SIZE_BYTES],
    what: &'static str,
) -> Result<Scalar, RingError> {
    Option::from(Scalar::from_canonical_bytes(*bytes)).ok_or(RingError::NonCanonicalScalar { what })
}

fn element(bytes: &[u8], index: usize) -> &[u8; ELEMENT_SIZE_BYTES] {
    let start = index * ELEMENT_SIZE_BYTES;
    bytes[start..start + ELEMENT_SIZE_BYTES]
        .try_into()
        .expect("slice is one element long")
}

/// Context of a ring key's proof of possession: never a study id, so the proof's key image links
/// to no contribution.
pub const POSSESSION_CONTEXT: &[u8] = b"medchain/ring/possession/v1";

/// The decoy of a proof of possession: a hash-to-point of a fixed label, so nobody knows its
/// discrete logarithm (Ristretto's `from_uniform_bytes` is a random oracle onto the group).
fn possession_decoy() -> RingPublicKey {
    let point = hashing::key_image_base(
        b"medchain/ring/possession-decoy/v1",
        &CompressedRistretto([0; ELEMENT_SIZE_BYTES]),
    );
    RingPublicKey {
        point,
        compressed: point.compress(),
    }
}

fn possession_ring(public: &RingPublicKey) -> Result<Ring, RingError> {
    Ring::new(vec![*public, possession_decoy()])
}

/// A proof that the holder of `secret` signed `message` (which names the chain and the account
/// the key is registered for): a bLSAG over the ring `{K, D}` with `D` the decoy nobody holds,
/// so only `K`'s secret can have made it. This reuses the ring signature instead of adding a
/// second signature scheme; it costs 128 bytes.
pub fn prove_possession(
    rng: &mut impl CryptoRng,
    secret: &RingSecretKey,
    message: &[u8],
) -> Result<RingSignature, RingError> {
    let ring = possession_ring(&secret.public_key())?;
    sign(rng, secret, &ring, POSSESSION_CONTEXT, message)
}

/// Checks a [`prove_possession`] proof for `public` over `message`.
pub fn verify_possession(
    public: &RingPublicKey,
    message: &[u8],
    proof: &RingSignature,
) -> Result<(), RingError> {
    let ring = possession_ring(public)?;
    verify(&ring, POSSESSION_CONTEXT, message, proof)
}

/// A ring signing key (a non-zero scalar). Zeroized on drop; Debug hides it.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct RingSecretKey(Scalar);

impl RingSecretKey {
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        loop {
            let scalar = Scalar::random(rng);
            if scalar != Scalar::ZERO {
                return Self(scalar);
            }
        }
    }

    /// From 64 uniform bytes (a KDF output), reduced modulo the group order without bias.
    pub fn from_uniform_bytes(bytes: &[u8; 64]) -> Result<Self, RingError> {
        Self::nonzero(Scalar::from_bytes_mod_order_wide(bytes))
    }

    pub fn from_bytes(bytes: &[u8; ELEMENT_SIZE_BYTES]) -> Result<Self, RingError> {
        Self::nonzero(decode_scalar(bytes, "ring secret key")?)
    }

    fn nonzero(scalar: Scalar) -> Result<Self, RingError> {
        if scalar == Scalar::ZERO {
            return Err(RingError::ZeroSecretKey);
        }
        Ok(Self(scalar))
    }

    pub fn to_bytes(&self) -> zeroize::Zeroizing<[u8; ELEMENT_SIZE_BYTES]> {
        zeroize::Zeroizing::new(self.0.to_bytes())
    }

    pub fn public_key(&self) -> RingPublicKey {
        let point = RistrettoPoint::mul_base(&self.0);
        RingPublicKey {
            point,
            compressed: point.compress(),
        }
    }

    pub(crate) fn scalar(&self) -> &Scalar {
        &self.0
    }
}

impl std::fmt::Debug for RingSecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RingSecretKey(<redacted>)")
    }
}

/// A ring member's public key: a non-identity ristretto255 point.
#[derive(Clone, Copy, Debug)]
pub struct RingPublicKey {
    point: RistrettoPoint,
    compressed: CompressedRistretto,
}

impl RingPublicKey {
    pub fn from_bytes(bytes: &[u8; ELEMENT_SIZE_BYTES]) -> Result<Self, RingError> {
        let point = decode_point(bytes, "ring public key")?;
        Ok(Self {
            point,
            compressed: CompressedRistretto(*bytes),
        })
    }

    pub fn to_bytes(&self) -> [u8; ELEMENT_SIZE_BYTES] {
        self.compressed.to_bytes()
    }

    pub(crate) fn point(&self) -> &RistrettoPoint {
        &self.point
    }

    pub(crate) fn compressed(&self) -> &CompressedRistretto {
        &self.compressed
    }
}

impl PartialEq for RingPublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.compressed == other.compressed
    }
}
impl Eq for RingPublicKey {}

/// Hashing and ordering follow the 32-byte encoding, so the ledger can keep these in sets and
/// sorted maps (e.g. the key images already seen in a study).
impl std::hash::Hash for RingPublicKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.compressed.as_bytes().hash(state);
    }
}

impl PartialOrd for RingPublicKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for RingPublicKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.compressed.as_bytes().cmp(other.compressed.as_bytes())
    }
}

/// An ordered anonymity set of distinct public keys. The order is part of what is signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ring {
    members: Vec<RingPublicKey>,
}

impl Ring {
    pub fn new(members: Vec<RingPublicKey>) -> Result<Self, RingError> {
        let count = members.len();
        if count < RING_SIZE_MIN_MEMBERS {
            return Err(RingError::RingTooSmall { members: count });
        }
        if count > RING_SIZE_MAX_MEMBERS {
            return Err(RingError::RingTooLarge { members: count });
        }
        let mut sorted: Vec<(&[u8; 32], usize)> = members
            .iter()
            .enumerate()
            .map(|(i, m)| (m.compressed.as_bytes(), i))
            .collect();
        sorted.sort_unstable();
        if let Some(pair) = sorted.windows(2).find(|pair| pair[0].0 == pair[1].0) {
            return Err(RingError::DuplicateMember {
                index: pair[0].1.max(pair[1].1),
            });
        }
        Ok(Self { members })
    }

    /// Decodes concatenated 32-byte members, refusing non-canonical or identity points.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, RingError> {
        if !bytes.len().is_multiple_of(ELEMENT_SIZE_BYTES) {
            return Err(RingError::BadLength {
                what: "ring",
                got_bytes: bytes.len(),
                expected: "a multiple of 32",
            });
        }
        let count = bytes.len() / ELEMENT_SIZE_BYTES;
        if count > RING_SIZE_MAX_MEMBERS {
            return Err(RingError::RingTooLarge { members: count });
        }
        let members = (0..count)
            .map(|i| RingPublicKey::from_bytes(element(bytes, i)))
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(members)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.members.iter().flat_map(|m| m.to_bytes()).collect()
    }

    pub fn members(&self) -> &[RingPublicKey] {
        &self.members
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

/// The linkability tag: equal key images in one context mean the same signer.
#[derive(Clone, Copy, Debug)]
pub struct KeyImage {
    point: RistrettoPoint,
    compressed: CompressedRistretto,
}

impl KeyImage {
    pub fn from_bytes(bytes: &[u8; ELEMENT_SIZE_BYTES]) -> Result<Self, RingError> {
        let point = decode_point(bytes, "key image")?;
        Ok(Self {
            point,
            compressed: CompressedRistretto(*bytes),
        })
    }

    pub(crate) fn from_point(point: RistrettoPoint) -> Self {
        Self {
            point,
            compressed: point.compress(),
        }
    }

    pub fn to_bytes(&self) -> [u8; ELEMENT_SIZE_BYTES] {
        self.compressed.to_bytes()
    }

    pub(crate) fn point(&self) -> &RistrettoPoint {
        &self.point
    }
}

impl PartialEq for KeyImage {
    fn eq(&self, other: &Self) -> bool {
        self.compressed == other.compressed
    }
}
impl Eq for KeyImage {}

/// Hashing and ordering follow the 32-byte encoding, so the ledger can keep these in sets and
/// sorted maps (e.g. the key images already seen in a study).
impl std::hash::Hash for KeyImage {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.compressed.as_bytes().hash(state);
    }
}

impl PartialOrd for KeyImage {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for KeyImage {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.compressed.as_bytes().cmp(other.compressed.as_bytes())
    }
}

/// A bLSAG signature: key image, the challenge at member 0, and one response per member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RingSignature {
    key_image: KeyImage,
    challenge: Scalar,
    responses: Vec<Scalar>,
}

impl RingSignature {
    pub fn key_image(&self) -> &KeyImage {
        &self.key_image
    }

    /// Whether two signatures (verified in the same context) come from the same key.
    pub fn links_to(&self, other: &RingSignature) -> bool {
        self.key_image == other.key_image
    }

    pub fn ring_size(&self) -> usize {
        self.responses.len()
    }

    /// `key_image ‖ challenge ‖ response_0 ‖ … ‖ response_{n-1}`, 32 bytes each.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity((2 + self.responses.len()) * ELEMENT_SIZE_BYTES);
        out.extend_from_slice(&self.key_image.to_bytes());
        out.extend_from_slice(self.challenge.as_bytes());
        for response in &self.responses {
            out.extend_from_slice(response.as_bytes());
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, RingError> {
        let elements = bytes.len() / ELEMENT_SIZE_BYTES;
        let bad_length = || RingError::BadLength {
            what: "ring signature",
            got_bytes: bytes.len(),
            expected: "64 + 32 per ring member",
        };
        if !bytes.len().is_multiple_of(ELEMENT_SIZE_BYTES) || elements < 2 {
            return Err(bad_length());
        }
        let members = elements - 2;
        if members < RING_SIZE_MIN_MEMBERS {
            return Err(RingError::RingTooSmall { members });
        }
        if members > RING_SIZE_MAX_MEMBERS {
            return Err(RingError::RingTooLarge { members });
        }
        let key_image = KeyImage::from_bytes(element(bytes, 0))?;
        let challenge = decode_scalar(element(bytes, 1), "signature challenge")?;
        let responses = (2..elements)
            .map(|i| decode_scalar(element(bytes, i), "signature response"))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            key_image,
            challenge,
            responses,
        })
    }
}

#[cfg(test)]
mod possession_tests {
    use super::*;
    use crate::rng::seeded_u64;

    #[test]
    fn a_possession_proof_verifies_only_for_its_key_and_message() {
        let mut rng = seeded_u64(1);
        let secret = RingSecretKey::generate(&mut rng);
        let other = RingSecretKey::generate(&mut rng);
        let proof = prove_possession(&mut rng, &secret, b"chain|account").unwrap();
        assert_eq!(
            verify_possession(&secret.public_key(), b"chain|account", &proof),
            Ok(())
        );
        assert_eq!(
            verify_possession(&secret.public_key(), b"chain|another", &proof),
            Err(RingError::InvalidSignature)
        );
        assert_eq!(
            verify_possession(&other.public_key(), b"chain|account", &proof),
            Err(RingError::InvalidSignature)
        );
        assert_eq!(proof.to_bytes().len(), 128);
    }
}
