//! Range proofs for exponential-ElGamal ciphertexts: `C = Enc(x; r)` with `lo <= x <= hi`.
//!
//! Construction (Cramer, Damgård, Schoenmakers, "Proofs of partial knowledge and simplified
//! design of witness hiding protocols", CRYPTO 1994: their OR-composition in the 1-out-of-2 case,
//! over Chaum–Pedersen proofs; ElectionGuard Design Specification 2.0 proves its ballot
//! selections with the same disjunctive proofs):
//!
//! * Let `B = hi − lo` and `k` the bit length of `B`. The prover writes `x − lo = Σ 2^i·β_i` and
//!   encrypts each bit, `C_i = (r_i·G, β_i·G + r_i·PK)`, choosing the `r_i` so that
//!   `Σ 2^i·r_i = r`. The verifier rebuilds `Σ 2^i·C_i` homomorphically and checks that it equals
//!   `C − (0, lo·G)`: the bits are the contribution's own value.
//! * For each bit, a disjunctive proof that `C_i = (a, b)` satisfies `log_G a = log_PK b` (bit 0)
//!   or `log_G a = log_PK (b − G)` (bit 1): the real branch is a Chaum–Pedersen proof, the other is
//!   simulated, and the two challenges add up to the Fiat–Shamir challenge. This gives
//!   `x − lo ∈ [0, 2^k − 1]`.
//! * When `B < 2^k − 1` the prover also decomposes `hi − x` into `k` bits whose ciphertexts add
//!   up to `(0, hi·G) − C` (randomness `−r`). Both `x − lo` and `B − (x − lo)` in `[0, 2^k − 1]`
//!   with `2^(k+1)` far below the group order means `lo <= x <= hi` exactly.
//! * One Fiat–Shamir challenge covers the whole statement (AND of the bit proofs): the key, the
//!   range, the ciphertext, the [`ProofContext`] (chain, study, key image), every bit ciphertext
//!   and every commitment.
//!
//! Verification checks the `4k` (or `8k`) equations `z·G = A + c·a`, `z·PK = B + c·(b − m·G)` at
//! once: each is multiplied by an independent random 128-bit weight and the sum is checked as one
//! multi-scalar multiplication (the commitments take 128-bit scalars), so a false equation passes
//! with probability at most 2^-128. [`verify_batch`] does the same across many contributions.
//!
//! A bit proof is `C_i ‖ A_0 ‖ B_0 ‖ A_1 ‖ B_1 ‖ c_0 ‖ z_0 ‖ z_1` = 384 bytes; a 16-bit range is
//! 6,144 bytes. The prover branches on its own bits (timing is visible only on its own machine).

use commonware_cryptography::bls12381::primitives::group::{G1, Scalar, SmallScalar};
use commonware_math::algebra::{Additive, CryptoGroup, Random, Space};
use commonware_parallel::Sequential;
use rand_core::CryptoRng;

use super::elgamal::{
    AnalyticsPublicKey, Ciphertext, Opening, POINT_SIZE_BYTES, SCALAR_SIZE_BYTES, decode_point,
    decode_scalar, lift,
};
use super::transcript::{ProofContext, Transcript};
use super::{AnalyticsError, RANGE_BITS_MAX};

/// Domain tag of the range-proof challenge.
pub const DST_RANGE_PROOF: &[u8] = b"medchain/analytics/range-proof/bls12381-g1/v1";
/// Encoded size of one bit's ciphertext and disjunctive proof.
pub const BIT_PROOF_SIZE_BYTES: usize = 6 * POINT_SIZE_BYTES + 3 * SCALAR_SIZE_BYTES;

/// A study's declared integer range `[lo, hi]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    lo: u64,
    hi: u64,
    bits: u32,
}

impl Range {
    pub fn new(lo: u64, hi: u64) -> Result<Self, AnalyticsError> {
        let width = hi
            .checked_sub(lo)
            .ok_or(AnalyticsError::BadRange { lo, hi })?;
        let bits = (u64::BITS - width.leading_zeros()).max(1);
        if bits > RANGE_BITS_MAX {
            return Err(AnalyticsError::BadRange { lo, hi });
        }
        Ok(Self { lo, hi, bits })
    }

    pub fn lo(&self) -> u64 {
        self.lo
    }

    pub fn hi(&self) -> u64 {
        self.hi
    }

    pub fn contains(&self, value: u64) -> bool {
        (self.lo..=self.hi).contains(&value)
    }

    /// Whether `hi − lo` is not `2^k − 1`, so the upper bound needs its own decomposition.
    fn two_sided(&self) -> bool {
        self.hi - self.lo != (1u64 << self.bits) - 1
    }

    /// Number of bit proofs in a proof for this range.
    pub fn bit_proofs(&self) -> usize {
        self.bits as usize * if self.two_sided() { 2 } else { 1 }
    }

    /// Encoded size of a proof for this range.
    pub fn proof_size_bytes(&self) -> usize {
        self.bit_proofs() * BIT_PROOF_SIZE_BYTES
    }
}

/// One bit's ciphertext `(a, b)` and its disjunctive Chaum–Pedersen proof.
#[derive(Clone, Debug, PartialEq, Eq)]
struct BitProof {
    bit: Ciphertext,
    a0: G1,
    b0: G1,
    a1: G1,
    b1: G1,
    c0: Scalar,
    z0: Scalar,
    z1: Scalar,
}

/// A proof that a ciphertext encrypts a value of a [`Range`], bound to a [`ProofContext`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeProof {
    bits: Vec<BitProof>,
}

/// The prover's per-bit secrets until the challenge is known.
struct PendingBit {
    value: bool,
    randomness: Scalar,
    nonce: Scalar,
    simulated_challenge: Scalar,
    simulated_response: Scalar,
}

/// Splits `value` (with total randomness `total`) into bit ciphertexts whose weighted sum is
/// `Enc(value; total)`, and starts each bit's disjunctive proof.
fn commit_bits(
    rng: &mut impl CryptoRng,
    key: &AnalyticsPublicKey,
    value: u64,
    total: &Scalar,
    bits: u32,
    proofs: &mut Vec<BitProof>,
    pending: &mut Vec<PendingBit>,
) {
    let g = G1::generator();
    let pk = key.0;
    let mut randomness: Vec<Scalar> = (0..bits).map(|_| Scalar::random(&mut *rng)).collect();
    // r_0 = total − Σ_{i≥1} 2^i·r_i, so the bits add up to exactly the contribution's randomness.
    let mut rest = Scalar::zero();
    for (i, r) in randomness.iter().enumerate().skip(1) {
        rest += &(Scalar::from_u64(1u64 << i) * r);
    }
    randomness[0] = total.clone() - &rest;
    for (i, r) in randomness.into_iter().enumerate() {
        let value = (value >> i) & 1 == 1;
        let bit = Ciphertext::with_randomness(key, u64::from(value), &r);
        let nonce = Scalar::random(&mut *rng);
        let simulated_challenge = Scalar::random(&mut *rng);
        let simulated_response = Scalar::random(&mut *rng);
        let (real_a, real_b) = (g * &nonce, pk * &nonce);
        // The other branch's statement is b − m·G with m = 1 − bit.
        let other_b = if value { bit.c2 } else { bit.c2 - &g };
        let sim_a = g * &simulated_response - &(bit.c1 * &simulated_challenge);
        let sim_b = pk * &simulated_response - &(other_b * &simulated_challenge);
        let (a0, b0, a1, b1) = if value {
            (sim_a, sim_b, real_a, real_b)
        } else {
            (real_a, real_b, sim_a, sim_b)
        };
        proofs.push(BitProof {
            bit,
            a0,
            b0,
            a1,
            b1,
            c0: Scalar::zero(),
            z0: Scalar::zero(),
            z1: Scalar::zero(),
        });
        pending.push(PendingBit {
            value,
            randomness: r,
            nonce,
            simulated_challenge,
            simulated_response,
        });
    }
}

fn transcript(
    key: &AnalyticsPublicKey,
    ciphertext: &Ciphertext,
    range: &Range,
    context: &ProofContext<'_>,
    bits: &[BitProof],
) -> Transcript {
    let mut transcript = Transcript::new(DST_RANGE_PROOF, context);
    transcript.point(&key.0);
    transcript.u64(range.lo);
    transcript.u64(range.hi);
    transcript.point(&ciphertext.c1);
    transcript.point(&ciphertext.c2);
    for proof in bits {
        for point in [
            &proof.bit.c1,
            &proof.bit.c2,
            &proof.a0,
            &proof.b0,
            &proof.a1,
            &proof.b1,
        ] {
            transcript.point(point);
        }
    }
    transcript
}

/// `Σ 2^i·C_i` by Horner's rule (the scalars are small and public).
fn weighted_sum(bits: &[BitProof]) -> Ciphertext {
    let mut acc = Ciphertext::sum([]);
    for proof in bits.iter().rev() {
        acc.c1.double();
        acc.c2.double();
        acc = acc.add(&proof.bit);
    }
    acc
}

impl RangeProof {
    /// Proves that `ciphertext` (encrypted with `opening`) holds a value of `range`, for
    /// `context` only.
    pub fn prove(
        rng: &mut impl CryptoRng,
        key: &AnalyticsPublicKey,
        ciphertext: &Ciphertext,
        opening: &Opening,
        range: &Range,
        context: &ProofContext<'_>,
    ) -> Result<Self, AnalyticsError> {
        context.check()?;
        let value = opening.value;
        if !range.contains(value) {
            return Err(AnalyticsError::ValueOutOfRange {
                value,
                lo: range.lo,
                hi: range.hi,
            });
        }
        if !ciphertext.opens_to(key, opening) {
            return Err(AnalyticsError::OpeningMismatch);
        }
        Ok(prove_unchecked(
            rng,
            key,
            ciphertext,
            value,
            &opening.randomness,
            range,
            context,
        ))
    }

    /// Encrypts `value` under `key` and proves it lies in `range`.
    pub fn encrypt(
        rng: &mut impl CryptoRng,
        key: &AnalyticsPublicKey,
        value: u64,
        range: &Range,
        context: &ProofContext<'_>,
    ) -> Result<(Ciphertext, Self), AnalyticsError> {
        let (ciphertext, opening) = Ciphertext::encrypt(rng, key, value);
        let proof = Self::prove(rng, key, &ciphertext, &opening, range, context)?;
        Ok((ciphertext, proof))
    }

    /// Verifies this proof alone (see [`verify_batch`] for many). `rng` draws the batch weights:
    /// they must be unpredictable to the prover, so use the verifier's own randomness (or a
    /// seed derived from a hash of everything verified, as for Fiat–Shamir).
    pub fn verify(
        &self,
        rng: &mut impl CryptoRng,
        key: &AnalyticsPublicKey,
        ciphertext: &Ciphertext,
        range: &Range,
        context: &ProofContext<'_>,
    ) -> Result<(), AnalyticsError> {
        verify_batch(
            rng,
            &[RangeStatement {
                key,
                ciphertext,
                range,
                context: *context,
                proof: self,
            }],
        )
    }

    /// The bit proofs concatenated, [`BIT_PROOF_SIZE_BYTES`] each.
    pub fn to_bytes(&self) -> Vec<u8> {
        use commonware_codec::Write;
        let mut out = Vec::with_capacity(self.bits.len() * BIT_PROOF_SIZE_BYTES);
        for proof in &self.bits {
            for point in [
                &proof.bit.c1,
                &proof.bit.c2,
                &proof.a0,
                &proof.b0,
                &proof.a1,
                &proof.b1,
            ] {
                point.write(&mut out);
            }
            for scalar in [&proof.c0, &proof.z0, &proof.z1] {
                scalar.write(&mut out);
            }
        }
        out
    }

    /// Decodes a proof for `range`: exactly [`Range::proof_size_bytes`] bytes of valid points
    /// and canonical scalars, or an error (never a panic).
    pub fn from_bytes(bytes: &[u8], range: &Range) -> Result<Self, AnalyticsError> {
        let expected = range.proof_size_bytes();
        if bytes.len() != expected {
            return Err(AnalyticsError::BadLength {
                what: "range proof",
                got_bytes: bytes.len(),
                expected_bytes: expected,
            });
        }
        let bits = bytes
            .chunks_exact(BIT_PROOF_SIZE_BYTES)
            .map(decode_bit)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { bits })
    }
}

fn decode_bit(bytes: &[u8]) -> Result<BitProof, AnalyticsError> {
    let point =
        |i: usize, what| decode_point(&bytes[i * POINT_SIZE_BYTES..][..POINT_SIZE_BYTES], what);
    let scalars = &bytes[6 * POINT_SIZE_BYTES..];
    let scalar = |i: usize, what| {
        decode_scalar(&scalars[i * SCALAR_SIZE_BYTES..][..SCALAR_SIZE_BYTES], what)
    };
    Ok(BitProof {
        bit: Ciphertext {
            c1: point(0, "bit ciphertext c1")?,
            c2: point(1, "bit ciphertext c2")?,
        },
        a0: point(2, "bit proof commitment")?,
        b0: point(3, "bit proof commitment")?,
        a1: point(4, "bit proof commitment")?,
        b1: point(5, "bit proof commitment")?,
        c0: scalar(0, "bit proof challenge")?,
        z0: scalar(1, "bit proof response")?,
        z1: scalar(2, "bit proof response")?,
    })
}

/// The proof steps without the range check, so tests can show that a proof of an
/// out-of-range value (made by a prover that skips the check) is refused by the verifier.
fn prove_unchecked(
    rng: &mut impl CryptoRng,
    key: &AnalyticsPublicKey,
    ciphertext: &Ciphertext,
    value: u64,
    r: &Scalar,
    range: &Range,
    context: &ProofContext<'_>,
) -> RangeProof {
    let mut bits = Vec::with_capacity(range.bit_proofs());
    let mut pending = Vec::with_capacity(range.bit_proofs());
    let bit_count = range.bits;
    commit_bits(
        rng,
        key,
        value.wrapping_sub(range.lo),
        r,
        bit_count,
        &mut bits,
        &mut pending,
    );
    if range.two_sided() {
        let negated = -r.clone();
        let upper = range.hi.wrapping_sub(value);
        commit_bits(
            rng,
            key,
            upper,
            &negated,
            bit_count,
            &mut bits,
            &mut pending,
        );
    }
    let challenge = transcript(key, ciphertext, range, context, &bits).challenge();
    for (proof, secret) in bits.iter_mut().zip(&pending) {
        let real_challenge = challenge.clone() - &secret.simulated_challenge;
        let real_response = secret.nonce.clone() + &(real_challenge.clone() * &secret.randomness);
        if secret.value {
            proof.c0 = secret.simulated_challenge.clone();
            proof.z0 = secret.simulated_response.clone();
            proof.z1 = real_response;
        } else {
            proof.c0 = real_challenge;
            proof.z0 = real_response;
            proof.z1 = secret.simulated_response.clone();
        }
    }
    RangeProof { bits }
}

/// One contribution to verify: its key, ciphertext, declared range, context and proof.
#[derive(Clone, Copy, Debug)]
pub struct RangeStatement<'a> {
    pub key: &'a AnalyticsPublicKey,
    pub ciphertext: &'a Ciphertext,
    pub range: &'a Range,
    pub context: ProofContext<'a>,
    pub proof: &'a RangeProof,
}

/// The multi-scalar multiplication both sides of the batch equation accumulate into.
struct BatchEquation {
    /// Commitments `A, B` with their 128-bit weights (left side).
    commitments: Vec<G1>,
    weights: Vec<SmallScalar>,
    /// Everything else with full scalars (right side); the generator's coefficient is summed.
    points: Vec<G1>,
    scalars: Vec<Scalar>,
    generator: Scalar,
}

impl BatchEquation {
    fn new() -> Self {
        Self {
            commitments: Vec::new(),
            weights: Vec::new(),
            points: Vec::new(),
            scalars: Vec::new(),
            generator: Scalar::zero(),
        }
    }

    /// Adds one statement's bit equations after checking its bits rebuild `target`.
    fn add(
        &mut self,
        rng: &mut impl CryptoRng,
        statement: &RangeStatement<'_>,
    ) -> Result<(), AnalyticsError> {
        let RangeStatement {
            key,
            ciphertext,
            range,
            context,
            proof,
        } = statement;
        context.check()?;
        if proof.bits.len() != range.bit_proofs() {
            return Err(AnalyticsError::InvalidRangeProof);
        }
        let k = range.bits as usize;
        let (lower, upper) = proof.bits.split_at(k);
        let shifted = Ciphertext {
            c1: ciphertext.c1,
            c2: ciphertext.c2 - &lift(range.lo),
        };
        if weighted_sum(lower) != shifted {
            return Err(AnalyticsError::RangeProofNotForCiphertext);
        }
        if range.two_sided() {
            let complement = Ciphertext {
                c1: -ciphertext.c1,
                c2: lift(range.hi) - &ciphertext.c2,
            };
            if weighted_sum(upper) != complement {
                return Err(AnalyticsError::RangeProofNotForCiphertext);
            }
        }
        let challenge = transcript(key, ciphertext, range, context, &proof.bits).challenge();
        let mut pk_coefficient = Scalar::zero();
        for bit in &proof.bits {
            let rho: [SmallScalar; 4] = std::array::from_fn(|_| SmallScalar::random(&mut *rng));
            let [r1, r2, r3, r4] = rho.clone().map(Scalar::from);
            let c0 = &bit.c0;
            let c1 = challenge.clone() - c0;
            // Σρ·(A, B) = G·(ρ1·z0 + ρ3·z1 + ρ4·c1) + PK·(ρ2·z0 + ρ4·z1)
            //             − a·(ρ1·c0 + ρ3·c1) − b·(ρ2·c0 + ρ4·c1)
            self.generator +=
                &(r1.clone() * &bit.z0 + &(r3.clone() * &bit.z1) + &(r4.clone() * &c1));
            pk_coefficient += &(r2.clone() * &bit.z0 + &(r4.clone() * &bit.z1));
            self.points.push(bit.bit.c1);
            self.scalars.push(-(r1 * c0 + &(r3 * &c1)));
            self.points.push(bit.bit.c2);
            self.scalars.push(-(r2 * c0 + &(r4 * &c1)));
            self.commitments.extend([bit.a0, bit.b0, bit.a1, bit.b1]);
            self.weights.extend(rho);
        }
        self.points.push(key.0);
        self.scalars.push(pk_coefficient);
        Ok(())
    }

    fn holds(mut self) -> bool {
        self.points.push(G1::generator());
        self.scalars.push(self.generator);
        let left = G1::msm(&self.commitments, &self.weights, &Sequential);
        let right = G1::msm(&self.points, &self.scalars, &Sequential);
        left == right
    }
}

/// Verifies many range proofs as one multi-scalar multiplication. An error says the batch holds
/// at least one bad proof; verify them one by one to find which.
pub fn verify_batch(
    rng: &mut impl CryptoRng,
    statements: &[RangeStatement<'_>],
) -> Result<(), AnalyticsError> {
    let mut equation = BatchEquation::new();
    for statement in statements {
        equation.add(rng, statement)?;
    }
    if equation.holds() {
        Ok(())
    } else {
        Err(AnalyticsError::InvalidRangeProof)
    }
}

#[cfg(test)]
mod tests;
