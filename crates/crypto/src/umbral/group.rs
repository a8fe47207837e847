//! secp256k1 points and scalars exactly as umbral-pre 0.11.0 encodes and hashes them: 33-byte
//! compressed points (never the identity), canonical 32-byte big-endian scalars, SHA-256 with a
//! u32-BE length-prefixed DST and the non-zero map `(w mod (n-1)) + 1` (notes A.1, A.2).

use k256::elliptic_curve::group::GroupEncoding;
use k256::elliptic_curve::ops::ReduceNonZero;
use k256::elliptic_curve::{BatchNormalize, Generate, Group, PrimeField};
use k256::sha2::{Digest, Sha256};
use k256::{AffinePoint, FieldBytes, ProjectivePoint, Scalar};
use rand_core::CryptoRng;
use std::sync::OnceLock;

use super::UmbralError;

pub(crate) const POINT_SIZE_BYTES: usize = 33;
pub(crate) const SCALAR_SIZE_BYTES: usize = 32;

/// The parameter point U = hash_to_curve("POINT_U", DST "PARAMETERS") of umbral-pre 0.11.0
/// (RFC 9380 secp256k1 XMD:SHA-256 SSWU RO with that custom DST). Hard-coded so the crate needs no
/// hash-to-curve code; the test `parameter_u_is_hash_to_curve_of_point_u` recomputes it.
pub const PARAMETER_U_BYTES: [u8; POINT_SIZE_BYTES] = [
    0x03, 0x07, 0x93, 0x90, 0xd0, 0xfb, 0xe2, 0x20, 0xfc, 0x34, 0xaa, 0xb8, 0xec, 0xbf, 0x49, 0x09,
    0x80, 0x98, 0x03, 0x68, 0x20, 0xfa, 0xdb, 0x98, 0xc0, 0x31, 0x43, 0xe5, 0x5d, 0xb8, 0xec, 0x73,
    0xcd,
];

/// A non-identity curve point together with its compressed encoding, which every hash and every
/// wire format needs; keeping both avoids repeated affine conversions on the hot paths.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Point {
    pub(crate) point: ProjectivePoint,
    pub(crate) bytes: [u8; POINT_SIZE_BYTES],
}

impl std::fmt::Debug for Point {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.bytes
            .iter()
            .try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl Point {
    /// Fails on the identity: it has no 33-byte encoding and no honest computation yields it.
    pub(crate) fn new(point: ProjectivePoint, what: &'static str) -> Result<Self, UmbralError> {
        if bool::from(point.is_identity()) {
            return Err(UmbralError::IdentityPoint { what });
        }
        let encoded = point.to_affine().to_bytes();
        let mut bytes = [0u8; POINT_SIZE_BYTES];
        bytes.copy_from_slice(encoded.as_slice());
        Ok(Self { point, bytes })
    }

    /// `new` for several points with one field inversion instead of N (re-encryption makes five).
    pub(crate) fn new_batch<const N: usize>(
        points: [ProjectivePoint; N],
        what: [&'static str; N],
    ) -> Result<[Self; N], UmbralError> {
        if let Some(index) = points
            .iter()
            .position(|point| bool::from(point.is_identity()))
        {
            return Err(UmbralError::IdentityPoint { what: what[index] });
        }
        let affine =
            <ProjectivePoint as BatchNormalize<[ProjectivePoint; N]>>::batch_normalize(&points);
        Ok(std::array::from_fn(|index| {
            let mut bytes = [0u8; POINT_SIZE_BYTES];
            bytes.copy_from_slice(affine[index].to_bytes().as_slice());
            Self {
                point: points[index],
                bytes,
            }
        }))
    }

    /// Accepts only `02|03 || x` with x a canonical field element on the curve.
    pub(crate) fn from_bytes(bytes: &[u8], what: &'static str) -> Result<Self, UmbralError> {
        let bytes: [u8; POINT_SIZE_BYTES] =
            bytes.try_into().map_err(|_| UmbralError::InvalidLength {
                what,
                expected_bytes: POINT_SIZE_BYTES,
                actual_bytes: bytes.len(),
            })?;
        if bytes[0] != 0x02 && bytes[0] != 0x03 {
            return Err(UmbralError::InvalidPoint { what });
        }
        let affine: Option<AffinePoint> =
            AffinePoint::from_bytes(&k256::CompressedPoint::from(bytes)).into();
        let affine = affine.ok_or(UmbralError::InvalidPoint { what })?;
        let point = ProjectivePoint::from(affine);
        if bool::from(point.is_identity()) {
            return Err(UmbralError::IdentityPoint { what });
        }
        Ok(Self { point, bytes })
    }

    /// Decoded once: decompression costs a square root, and re-encryption needs U every time.
    pub(crate) fn parameter_u() -> &'static Self {
        static PARAMETER_U: OnceLock<Point> = OnceLock::new();
        PARAMETER_U.get_or_init(|| {
            Self::from_bytes(&PARAMETER_U_BYTES, "parameter U")
                .expect("PARAMETER_U_BYTES is a valid point (checked by the test suite)")
        })
    }
}

/// Canonical big-endian scalar: values >= n are rejected, zero is allowed (as in umbral-pre).
pub(crate) fn scalar_from_bytes(bytes: &[u8], what: &'static str) -> Result<Scalar, UmbralError> {
    let array: [u8; SCALAR_SIZE_BYTES] =
        bytes.try_into().map_err(|_| UmbralError::InvalidLength {
            what,
            expected_bytes: SCALAR_SIZE_BYTES,
            actual_bytes: bytes.len(),
        })?;
    Option::from(Scalar::from_repr(FieldBytes::from(array)))
        .ok_or(UmbralError::NonCanonicalScalar { what })
}

pub(crate) fn scalar_to_bytes(scalar: &Scalar) -> [u8; SCALAR_SIZE_BYTES] {
    scalar.to_repr().into()
}

pub(crate) fn random_nonzero_scalar<R: CryptoRng + ?Sized>(rng: &mut R) -> Scalar {
    *k256::NonZeroScalar::generate_from_rng(rng)
}

/// Inverse of a scalar that the protocol guarantees is non-zero (hash-to-scalar outputs).
pub(crate) fn invert_nonzero(scalar: &Scalar) -> Scalar {
    assert!(
        !bool::from(scalar.is_zero()),
        "inverting a scalar the protocol makes non-zero"
    );
    Option::from(scalar.invert()).unwrap_or(Scalar::ZERO)
}

/// SHA-256 over `u32_be(len(dst)) || dst || inputs`, finalised to a non-zero scalar.
pub(crate) struct ScalarHash(Sha256);

impl ScalarHash {
    pub(crate) fn new(dst: &[u8]) -> Self {
        let dst_len = u32::try_from(dst.len()).expect("DSTs are short constants");
        let mut hasher = Sha256::new();
        hasher.update(dst_len.to_be_bytes());
        hasher.update(dst);
        Self(hasher)
    }

    pub(crate) fn chain(mut self, bytes: &[u8]) -> Self {
        self.0.update(bytes);
        self
    }

    pub(crate) fn point(self, point: &Point) -> Self {
        self.chain(&point.bytes)
    }

    /// `(w mod (n-1)) + 1` for the digest read as a big-endian integer w: never zero, so the
    /// result can always be inverted (k256's `reduce_nonzero` is exactly this map).
    pub(crate) fn finalize(self) -> Scalar {
        nonzero_scalar_from_digest(self.0.finalize().into())
    }
}

fn nonzero_scalar_from_digest(digest: [u8; 32]) -> Scalar {
    <Scalar as ReduceNonZero<FieldBytes>>::reduce_nonzero(&FieldBytes::from(digest))
}

pub(crate) fn sha256(message: &[u8]) -> [u8; 32] {
    Sha256::digest(message).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_hex(text: &str) -> [u8; 32] {
        let padded = format!("{text:0>64}");
        std::array::from_fn(|i| u8::from_str_radix(&padded[2 * i..2 * i + 2], 16).unwrap())
    }

    fn scalar_hex(scalar: &Scalar) -> String {
        scalar_to_bytes(scalar)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    const N_MINUS_1: &str = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140";

    /// `(w mod (n-1)) + 1` at its boundaries, where `w mod n` would differ.
    #[test]
    fn hash_to_scalar_maps_w_to_w_mod_n_minus_1_plus_1() {
        let cases = [
            ("0", "1"),
            (
                "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd036413f",
                N_MINUS_1,
            ),
            (N_MINUS_1, "1"),
            (
                "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
                "2",
            ),
            (&"f".repeat(64), "14551231950b75fc4402da1732fc9bec0"),
        ];
        for (w, expected) in cases {
            let scalar = nonzero_scalar_from_digest(from_hex(w));
            assert_eq!(scalar_hex(&scalar), format!("{expected:0>64}"), "w = {w}");
        }
    }

    #[test]
    fn dst_is_prefixed_with_its_u32_big_endian_length() {
        let expected = nonzero_scalar_from_digest(sha256(b"\x00\x00\x00\x0eCAPSULE_POINTSabc"));
        assert_eq!(
            ScalarHash::new(b"CAPSULE_POINTS").chain(b"abc").finalize(),
            expected
        );
    }

    #[test]
    fn parameter_u_decodes_to_the_constant() {
        assert_eq!(Point::parameter_u().bytes, PARAMETER_U_BYTES);
    }
}
