//! The G1 points a range proof carries, and the batched equation over them.
//!
//! A proof's points travel as 96-byte uncompressed encodings that the verifier checks to lie on
//! the curve but *not* to lie in the prime-order subgroup G1. Commonware's [`G1`] decoder always
//! checks membership, and on this machine that check is 43 of the 57 µs a compressed point costs:
//! three quarters of a 16-bit proof's verification. The check is not needed for points that only
//! enter the batched equation, because the verifier compares the two sides after clearing the
//! cofactor:
//!
//! * `E(Fp) = G1 × T`, with `T` the torsion of order `h` coprime to the group order `r`, so the
//!   projection `π: E(Fp) → G1` is a homomorphism and `π(Σ s_j·P_j) = Σ s_j·π(P_j)`.
//! * Multiplying by `h_eff = 1 − z = 0xd201000000010001` (RFC 9380, section 8.8.1) maps `E(Fp)`
//!   into G1 and is injective on G1, so `h_eff·L = h_eff·R` holds exactly when `π(L) = π(R)`.
//! * The proof's soundness argument therefore applies to the `π(P_j)`, which are points of G1:
//!   a torsion component cannot make a false statement pass. Nor can it make the verdict depend
//!   on the verifier's random weights (it is cleared before the comparison), so every validator
//!   reaches the same verdict on the same bytes.
//!
//! What the state machine adds into study aggregates (a contribution's own ciphertext) is still a
//! commonware [`G1`], decoded with the subgroup check: torsion there would survive into the
//! aggregate and stop it from decrypting.
//!
//! blst's safe Rust bindings reach unchecked points and single-core multi-scalar multiplication
//! through their minimal-signature-size types, whose signatures are G1 points; this module is the
//! only place that knows it. The workspace forbids `unsafe`, so the raw blst functions that
//! commonware wraps privately are out of reach.

use blst::MultiPoint;
use blst::min_sig::{AggregateSignature, Signature};
use commonware_codec::Encode;
use commonware_cryptography::bls12381::primitives::group::{G1, Scalar, SmallScalar};

use super::AnalyticsError;
use super::elgamal::SCALAR_SIZE_BYTES;

/// One uncompressed G1 point: `x ‖ y`, 48 bytes each, big-endian.
pub const WIRE_POINT_SIZE_BYTES: usize = 96;
/// Width of the batch weights on commitments: a false equation passes with probability 2^-128.
const WEIGHT_BITS: usize = 128;
/// Width of every other scalar: they are reduced below the group order, which is under 2^255.
const SCALAR_BITS: usize = 255;
/// `1 − z` for the BLS parameter `z = −0xd201000000010000`: RFC 9380's `h_eff` for G1.
const H_EFF: u64 = 0xd201_0000_0001_0001;

/// A point of `E(Fp)` (on the curve, perhaps outside G1) as a range proof carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WirePoint(Signature);

impl WirePoint {
    /// The wire form of a point already in G1.
    pub fn from_g1(point: &G1) -> Self {
        let compressed = point.encode();
        // A commonware G1 always compresses to a valid encoding of a point in G1.
        match Signature::uncompress(&compressed) {
            Ok(point) => Self(point),
            Err(error) => unreachable!("commonware's compression of a G1 point failed: {error:?}"),
        }
    }

    /// Decodes exactly [`WIRE_POINT_SIZE_BYTES`] bytes of a point on the curve other than the
    /// identity: any other bytes are an error, never a panic.
    pub fn decode(bytes: &[u8], what: &'static str) -> Result<Self, AnalyticsError> {
        if bytes.len() != WIRE_POINT_SIZE_BYTES {
            return Err(AnalyticsError::BadLength {
                what,
                got_bytes: bytes.len(),
                expected_bytes: WIRE_POINT_SIZE_BYTES,
            });
        }
        // The identity is refused: no honest proof holds one, and it is the one point whose
        // affine form the multiplication would have to special-case.
        match Signature::deserialize(bytes) {
            Ok(point) if point != Signature::from(blst::blst_p1_affine::default()) => {
                Ok(Self(point))
            }
            _ => Err(AnalyticsError::InvalidProofPoint { what }),
        }
    }

    pub fn to_bytes(self) -> [u8; WIRE_POINT_SIZE_BYTES] {
        self.0.serialize()
    }

    #[cfg(test)]
    pub fn to_compressed(self) -> [u8; 48] {
        self.0.compress()
    }
}

/// `Σ weight·commitment = Σ scalar·point`, accumulated over many proofs and checked once.
/// Commitments take 128-bit weights (half the multiplication work of full scalars).
#[derive(Default)]
pub struct BatchEquation {
    commitments: Vec<Signature>,
    weights: Vec<u8>,
    points: Vec<Signature>,
    scalars: Vec<u8>,
}

impl BatchEquation {
    /// Adds `weight·commitment` to the left side and returns the weight as a scalar.
    pub fn commitment(&mut self, weight: &SmallScalar, commitment: &WirePoint) -> Scalar {
        let weight = Scalar::from(weight.clone());
        let le = little_endian(&weight);
        debug_assert!(le[WEIGHT_BITS / 8..].iter().all(|&byte| byte == 0));
        self.commitments.push(commitment.0);
        self.weights.extend_from_slice(&le[..WEIGHT_BITS / 8]);
        weight
    }

    /// Adds `scalar·point` to the right side.
    pub fn term(&mut self, scalar: &Scalar, point: &WirePoint) {
        self.points.push(point.0);
        self.scalars.extend_from_slice(&little_endian(scalar));
    }

    /// Whether both sides agree in G1 (after clearing the cofactor, see the module comment).
    pub fn holds(&self) -> bool {
        let left = msm(&self.commitments, &self.weights, WEIGHT_BITS);
        let right = msm(&self.points, &self.scalars, SCALAR_BITS);
        clear_cofactor(&left) == clear_cofactor(&right)
    }
}

/// `Σ scalar·point` on one core (blst's `no-threads`), the identity when empty.
fn msm(points: &[Signature], scalars: &[u8], bits: usize) -> AggregateSignature {
    if points.is_empty() {
        return AggregateSignature::from(blst::blst_p1::default());
    }
    points.mult(scalars, bits)
}

fn clear_cofactor(point: &AggregateSignature) -> Signature {
    let affine = point.to_signature();
    std::slice::from_ref(&affine)
        .mult(&H_EFF.to_le_bytes(), u64::BITS as usize)
        .to_signature()
}

fn little_endian(scalar: &Scalar) -> [u8; SCALAR_SIZE_BYTES] {
    let mut bytes = [0u8; SCALAR_SIZE_BYTES];
    bytes.copy_from_slice(&scalar.encode());
    bytes.reverse();
    bytes
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use commonware_math::algebra::{CryptoGroup, Random};

    /// A point of `E(Fp)` outside G1: the first `x` whose `x³ + 4` is a square, taken unchecked.
    fn point_outside_g1() -> Signature {
        (1u8..=255)
            .find_map(|x| {
                let mut compressed = [0u8; 48];
                compressed[0] = 0x80;
                compressed[47] = x;
                Signature::uncompress(&compressed)
                    .ok()
                    .filter(|point| !point.subgroup_check())
            })
            .expect("small x coordinates give points outside G1")
    }

    /// The group order `r`, little-endian: `r·P` is the torsion part of `P`, times `r`.
    const ORDER_LE: [u8; 32] = {
        let be: [u8; 32] = [
            0x73, 0xed, 0xa7, 0x53, 0x29, 0x9d, 0x7d, 0x48, 0x33, 0x39, 0xd8, 0x08, 0x09, 0xa1,
            0xd8, 0x05, 0x53, 0xbd, 0xa4, 0x02, 0xff, 0xfe, 0x5b, 0xfe, 0xff, 0xff, 0xff, 0xff,
            0x00, 0x00, 0x00, 0x01,
        ];
        let mut le = [0u8; 32];
        let mut i = 0;
        while i < 32 {
            le[i] = be[31 - i];
            i += 1;
        }
        le
    };

    fn torsion() -> Signature {
        std::slice::from_ref(&point_outside_g1())
            .mult(&ORDER_LE, 255)
            .to_signature()
    }

    /// `point` plus a non-trivial torsion point: on the curve, outside G1.
    pub(crate) fn with_torsion(point: &WirePoint) -> WirePoint {
        let mut sum = AggregateSignature::from_signature(&point.0);
        sum.add_aggregate(&AggregateSignature::from_signature(&torsion()));
        WirePoint(sum.to_signature())
    }

    #[test]
    fn clearing_the_cofactor_maps_any_curve_point_into_g1() {
        let outside = point_outside_g1();
        let cleared = clear_cofactor(&AggregateSignature::from_signature(&outside));
        assert!(!outside.subgroup_check());
        assert!(cleared.subgroup_check());
        let t = torsion();
        assert!(!t.subgroup_check(), "a non-trivial torsion point");
        assert_eq!(
            clear_cofactor(&AggregateSignature::from_signature(&t)),
            clear_cofactor(&AggregateSignature::from(blst::blst_p1::default())),
            "h_eff kills the torsion"
        );
    }

    /// A commitment carrying a torsion component balances the same equation as without it, for
    /// every choice of weights: the verdict cannot depend on the verifier's randomness.
    #[test]
    fn a_torsion_component_never_changes_the_verdict() {
        let mut rng = crate::rng::seeded_u64(31);
        let base = G1::generator() * &Scalar::random(&mut rng);
        let mut with_torsion = AggregateSignature::from_signature(&WirePoint::from_g1(&base).0);
        with_torsion.add_aggregate(&AggregateSignature::from_signature(&torsion()));
        let tainted = WirePoint(with_torsion.to_signature());
        assert!(!tainted.0.subgroup_check());
        let decoded = WirePoint::decode(&tainted.to_bytes(), "tainted").unwrap();
        assert_eq!(decoded, tainted, "points outside G1 decode");
        for _ in 0..16 {
            let weight = SmallScalar::random(&mut rng);
            let mut equation = BatchEquation::default();
            let scalar = equation.commitment(&weight, &tainted);
            equation.term(&scalar, &WirePoint::from_g1(&base));
            assert!(equation.holds());
            let mut wrong = BatchEquation::default();
            let scalar = wrong.commitment(&weight, &tainted);
            wrong.term(&(scalar + &Scalar::from_u64(1)), &WirePoint::from_g1(&base));
            assert!(!wrong.holds());
        }
    }

    #[test]
    fn bytes_off_the_curve_or_of_the_wrong_length_are_refused() {
        let point = WirePoint::from_g1(&G1::generator());
        let mut bytes = point.to_bytes();
        assert_eq!(WirePoint::decode(&bytes, "p"), Ok(point));
        bytes[95] ^= 1;
        assert_eq!(
            WirePoint::decode(&bytes, "p"),
            Err(AnalyticsError::InvalidProofPoint { what: "p" })
        );
        assert_eq!(
            WirePoint::decode(&bytes[..48], "p"),
            Err(AnalyticsError::BadLength {
                what: "p",
                got_bytes: 48,
                expected_bytes: 96
            })
        );
    }
}
