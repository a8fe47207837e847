//! Range proofs for exponential-ElGamal ciphertexts: `C = (R, V) = (r·G, x·G + r·PK)` with
//! `lo <= x <= hi`.
//!
//! Construction: bit decomposition into Pedersen commitments, each with a disjunctive proof that
//! it commits to 0 or 1 (Cramer, Damgård, Schoenmakers, "Proofs of partial knowledge and
//! simplified design of witness hiding protocols", CRYPTO 1994: their OR-composition in the
//! 1-out-of-2 case, over Schnorr proofs), and one Σ-protocol that links the committed bits to
//! the ciphertext; one Fiat–Shamir challenge covers it all.
//!
//! * `H` is a second generator from RFC 9380 hash-to-curve, so nobody knows `log_G H`. Let
//!   `B = hi − lo`, `k` the bit length of `B`, and `x − lo = Σ 2^i·β_i`. The prover commits to
//!   each bit, `C_i = β_i·G + ρ_i·H`, so `D = Σ 2^i·C_i = (x − lo)·G + ρ·H` with
//!   `ρ = Σ 2^i·ρ_i`.
//! * For each bit, a disjunctive proof that `C_i = ρ_i·H` (bit 0) or `C_i − G = ρ_i·H` (bit 1):
//!   the real branch is a Schnorr proof in base `H`, the other is simulated, and the two
//!   challenges add up to the Fiat–Shamir challenge `e`. So `D` commits to a value in
//!   `[0, 2^k − 1]`.
//! * The link proves knowledge of `(x − lo, r, ρ)` with `R = r·G`, `V − lo·G = (x − lo)·G + r·PK`
//!   and `D = (x − lo)·G + ρ·H`: the ciphertext's value is the committed one (a different value
//!   would open `D` twice, which gives `log_G H`). It does not rely on anyone's ignorance of the
//!   analytics secret key, so even a quorum of validators cannot forge a proof.
//! * When `B < 2^k − 1` the prover also commits to the bits of `hi − x` (`E = Σ 2^i·E_i`), and
//!   the link proves knowledge of `τ` with `D + E − B·G = τ·H`: both values lie in `[0, 2^k − 1]`
//!   and add up to `B`, with `2^(k+1)` far below the group order, so `lo <= x <= hi` exactly.
//! * The challenge absorbs the key, the range, the ciphertext, the [`ProofContext`] (chain,
//!   study, key image) and every commitment.
//!
//! The commitments are perfectly hiding and the proofs zero-knowledge: nothing but the range is
//! revealed, not even to a quorum that holds the analytics key.
//!
//! Verification checks the `2` equations per bit and the `3` (or `4`) of the link at once: each
//! is multiplied by an independent random 128-bit weight on its commitment and the sum is checked
//! as one multi-scalar multiplication, so a false equation passes with probability at most
//! 2^-128. [`verify_batch`] does the same across many contributions. The proof's points are
//! uncompressed and not checked for subgroup membership; [`super::wire`] explains why that is
//! sound.
//!
//! A bit proof is `C_i ‖ A_0 ‖ A_1 ‖ c_0 ‖ z_0 ‖ z_1` = 384 bytes and the link 384 bytes (512
//! two-sided): a 16-bit range is 6,528 bytes. `tests/range_proof_peer.rs` pins the seeded
//! prover's output as known answers and has an independent verifier on py_ecc check each of
//! them equation by equation. The prover branches on its own bits (timing is
//! visible only on its own machine).

use std::sync::OnceLock;

use commonware_codec::Write;
use commonware_cryptography::bls12381::primitives::group::{G1, Scalar, SmallScalar};
use commonware_math::algebra::{Additive, CryptoGroup, HashToGroup, Random};
use rand_core::CryptoRng;

use super::elgamal::{AnalyticsPublicKey, Ciphertext, Opening, SCALAR_SIZE_BYTES, decode_scalar};
use super::transcript::{ProofContext, Transcript};
use super::wire::{BatchEquation, WIRE_POINT_SIZE_BYTES, WirePoint};
use super::{AnalyticsError, RANGE_BITS_MAX};

/// Domain tag of the range-proof challenge.
pub const DST_RANGE_PROOF: &[u8] = b"medchain/analytics/range-proof/bls12381-g1/v2";
/// Domain tag of the hash-to-curve that makes the bit commitments' second generator `H`.
pub const DST_BIT_COMMITMENT_BASE: &[u8] =
    b"medchain/analytics/range-proof/bit-commitment-base/bls12381g1_xmd:sha-256_sswu_ro_/v2";
/// Encoded size of one bit's commitment and disjunctive proof.
pub const BIT_PROOF_SIZE_BYTES: usize = 3 * WIRE_POINT_SIZE_BYTES + 3 * SCALAR_SIZE_BYTES;
/// Encoded size of the link between the bits and the ciphertext.
pub const LINK_PROOF_SIZE_BYTES: usize = 3 * WIRE_POINT_SIZE_BYTES + 3 * SCALAR_SIZE_BYTES;
/// What a two-sided range adds to the link: the complement's commitment and response.
pub const COMPLEMENT_LINK_SIZE_BYTES: usize = WIRE_POINT_SIZE_BYTES + SCALAR_SIZE_BYTES;
/// The largest proof: a two-sided range of [`RANGE_BITS_MAX`] bits.
pub const PROOF_SIZE_MAX_BYTES: usize = 2 * RANGE_BITS_MAX as usize * BIT_PROOF_SIZE_BYTES
    + LINK_PROOF_SIZE_BYTES
    + COMPLEMENT_LINK_SIZE_BYTES;

/// `G`, `H`, and their wire forms, computed once.
struct Bases {
    g: G1,
    h: G1,
    g_wire: WirePoint,
    h_wire: WirePoint,
}

fn bases() -> &'static Bases {
    static BASES: OnceLock<Bases> = OnceLock::new();
    BASES.get_or_init(|| {
        let g = G1::generator();
        let h = G1::hash_to_group(DST_BIT_COMMITMENT_BASE, b"H");
        Bases {
            g,
            h,
            g_wire: WirePoint::from_g1(&g),
            h_wire: WirePoint::from_g1(&h),
        }
    })
}

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
        let complement = if self.two_sided() {
            COMPLEMENT_LINK_SIZE_BYTES
        } else {
            0
        };
        self.bit_proofs() * BIT_PROOF_SIZE_BYTES + LINK_PROOF_SIZE_BYTES + complement
    }
}

/// One bit's commitment `C_i` and its disjunctive proof.
#[derive(Clone, Debug, PartialEq, Eq)]
struct BitProof {
    commitment: WirePoint,
    a0: WirePoint,
    a1: WirePoint,
    c0: Scalar,
    z0: Scalar,
    z1: Scalar,
}

/// The proof that the committed bits hold the ciphertext's value.
#[derive(Clone, Debug, PartialEq, Eq)]
struct LinkProof {
    /// `T_1 = k_r·G`, for `R = r·G`.
    randomness: WirePoint,
    /// `T_2 = k_x·G + k_r·PK`, for `V − lo·G = (x − lo)·G + r·PK`.
    ciphertext: WirePoint,
    /// `T_3 = k_x·G + k_ρ·H`, for `D = (x − lo)·G + ρ·H`.
    commitment: WirePoint,
    s_randomness: Scalar,
    s_value: Scalar,
    s_blinding: Scalar,
    /// Two-sided ranges: `T_4 = k_τ·H` and `s_τ`, for `D + E − B·G = τ·H`.
    complement: Option<(WirePoint, Scalar)>,
}

/// A proof that a ciphertext encrypts a value of a [`Range`], bound to a [`ProofContext`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeProof {
    bits: Vec<BitProof>,
    link: LinkProof,
}

/// The prover's per-bit secrets until the challenge is known.
struct PendingBit {
    value: bool,
    blinding: Scalar,
    nonce: Scalar,
    simulated_challenge: Scalar,
    simulated_response: Scalar,
}

/// Commits to the `bits` low bits of `value` and starts each bit's disjunctive proof. Returns
/// the total blinding `Σ 2^i·ρ_i`.
fn commit_bits(
    rng: &mut impl CryptoRng,
    value: u64,
    bits: u32,
    proofs: &mut Vec<BitProof>,
    pending: &mut Vec<PendingBit>,
) -> Scalar {
    let Bases { g, h, .. } = bases();
    let mut total = Scalar::zero();
    for i in 0..bits {
        let value = (value >> i) & 1 == 1;
        let blinding = Scalar::random(&mut *rng);
        let mut commitment = *h * &blinding;
        if value {
            commitment += g;
        }
        let nonce = Scalar::random(&mut *rng);
        let simulated_challenge = Scalar::random(&mut *rng);
        let simulated_response = Scalar::random(&mut *rng);
        let real = *h * &nonce;
        // The other branch's statement is C − m·G = ρ·H with m = 1 − bit.
        let other = if value { commitment } else { commitment - g };
        let simulated = *h * &simulated_response - &(other * &simulated_challenge);
        let (a0, a1) = if value {
            (simulated, real)
        } else {
            (real, simulated)
        };
        proofs.push(BitProof {
            commitment: WirePoint::from_g1(&commitment),
            a0: WirePoint::from_g1(&a0),
            a1: WirePoint::from_g1(&a1),
            c0: Scalar::zero(),
            z0: Scalar::zero(),
            z1: Scalar::zero(),
        });
        total += &(Scalar::from_u64(1u64 << i) * &blinding);
        pending.push(PendingBit {
            value,
            blinding,
            nonce,
            simulated_challenge,
            simulated_response,
        });
    }
    total
}

fn transcript(
    key: &AnalyticsPublicKey,
    ciphertext: &Ciphertext,
    range: &Range,
    context: &ProofContext<'_>,
    proof: &RangeProof,
) -> Transcript {
    let mut transcript = Transcript::new(DST_RANGE_PROOF, context);
    transcript.point(&key.0);
    transcript.u64(range.lo);
    transcript.u64(range.hi);
    transcript.point(&ciphertext.c1);
    transcript.point(&ciphertext.c2);
    for bit in &proof.bits {
        for point in [&bit.commitment, &bit.a0, &bit.a1] {
            transcript.wire_point(&point.to_bytes());
        }
    }
    let link = &proof.link;
    for point in [&link.randomness, &link.ciphertext, &link.commitment] {
        transcript.wire_point(&point.to_bytes());
    }
    if let Some((point, _)) = &link.complement {
        transcript.wire_point(&point.to_bytes());
    }
    transcript
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

    /// The bit proofs, then the link: [`Range::proof_size_bytes`] bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            self.bits.len() * BIT_PROOF_SIZE_BYTES
                + LINK_PROOF_SIZE_BYTES
                + COMPLEMENT_LINK_SIZE_BYTES,
        );
        for bit in &self.bits {
            for point in [&bit.commitment, &bit.a0, &bit.a1] {
                out.extend_from_slice(&point.to_bytes());
            }
            for scalar in [&bit.c0, &bit.z0, &bit.z1] {
                scalar.write(&mut out);
            }
        }
        let link = &self.link;
        for point in [&link.randomness, &link.ciphertext, &link.commitment] {
            out.extend_from_slice(&point.to_bytes());
        }
        for scalar in [&link.s_randomness, &link.s_value, &link.s_blinding] {
            scalar.write(&mut out);
        }
        if let Some((point, scalar)) = &link.complement {
            out.extend_from_slice(&point.to_bytes());
            scalar.write(&mut out);
        }
        out
    }

    /// Decodes a proof for `range`: exactly [`Range::proof_size_bytes`] bytes of points on the
    /// curve and canonical scalars, or an error (never a panic).
    pub fn from_bytes(bytes: &[u8], range: &Range) -> Result<Self, AnalyticsError> {
        let expected = range.proof_size_bytes();
        if bytes.len() != expected {
            return Err(AnalyticsError::BadLength {
                what: "range proof",
                got_bytes: bytes.len(),
                expected_bytes: expected,
            });
        }
        let (bits, link) = bytes.split_at(range.bit_proofs() * BIT_PROOF_SIZE_BYTES);
        let bits = bits
            .chunks_exact(BIT_PROOF_SIZE_BYTES)
            .map(|bit| {
                let mut fields = Fields(bit);
                Ok(BitProof {
                    commitment: fields.point("bit commitment")?,
                    a0: fields.point("bit proof commitment")?,
                    a1: fields.point("bit proof commitment")?,
                    c0: fields.scalar("bit proof challenge")?,
                    z0: fields.scalar("bit proof response")?,
                    z1: fields.scalar("bit proof response")?,
                })
            })
            .collect::<Result<Vec<_>, AnalyticsError>>()?;
        let mut fields = Fields(link);
        let link = LinkProof {
            randomness: fields.point("link commitment")?,
            ciphertext: fields.point("link commitment")?,
            commitment: fields.point("link commitment")?,
            s_randomness: fields.scalar("link response")?,
            s_value: fields.scalar("link response")?,
            s_blinding: fields.scalar("link response")?,
            complement: if range.two_sided() {
                Some((
                    fields.point("link commitment")?,
                    fields.scalar("link response")?,
                ))
            } else {
                None
            },
        };
        Ok(Self { bits, link })
    }
}

/// Reads fixed-size fields off the front of a slice whose length was checked.
struct Fields<'a>(&'a [u8]);

impl Fields<'_> {
    fn take(&mut self, size: usize) -> &[u8] {
        let (field, rest) = self.0.split_at(size);
        self.0 = rest;
        field
    }

    fn point(&mut self, what: &'static str) -> Result<WirePoint, AnalyticsError> {
        WirePoint::decode(self.take(WIRE_POINT_SIZE_BYTES), what)
    }

    fn scalar(&mut self, what: &'static str) -> Result<Scalar, AnalyticsError> {
        decode_scalar(self.take(SCALAR_SIZE_BYTES), what)
    }
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
    let Bases { g, h, .. } = bases();
    let mut bits = Vec::with_capacity(range.bit_proofs());
    let mut pending = Vec::with_capacity(range.bit_proofs());
    let blinding = commit_bits(
        rng,
        value.wrapping_sub(range.lo),
        range.bits,
        &mut bits,
        &mut pending,
    );
    let complement_blinding = range.two_sided().then(|| {
        let upper = range.hi.wrapping_sub(value);
        blinding.clone() + &commit_bits(rng, upper, range.bits, &mut bits, &mut pending)
    });
    let shifted = Scalar::from_u64(value) - &Scalar::from_u64(range.lo);
    let [k_r, k_x, k_rho, k_tau] = std::array::from_fn(|_| Scalar::random(&mut *rng));
    let mut proof = RangeProof {
        bits,
        link: LinkProof {
            randomness: WirePoint::from_g1(&(*g * &k_r)),
            ciphertext: WirePoint::from_g1(&(*g * &k_x + &(key.0 * &k_r))),
            commitment: WirePoint::from_g1(&(*g * &k_x + &(*h * &k_rho))),
            s_randomness: Scalar::zero(),
            s_value: Scalar::zero(),
            s_blinding: Scalar::zero(),
            complement: complement_blinding
                .as_ref()
                .map(|_| (WirePoint::from_g1(&(*h * &k_tau)), Scalar::zero())),
        },
    };
    let challenge = transcript(key, ciphertext, range, context, &proof).challenge();
    for (bit, secret) in proof.bits.iter_mut().zip(&pending) {
        let real_challenge = challenge.clone() - &secret.simulated_challenge;
        let real_response = secret.nonce.clone() + &(real_challenge.clone() * &secret.blinding);
        if secret.value {
            bit.c0 = secret.simulated_challenge.clone();
            bit.z0 = secret.simulated_response.clone();
            bit.z1 = real_response;
        } else {
            bit.c0 = real_challenge;
            bit.z0 = real_response;
            bit.z1 = secret.simulated_response.clone();
        }
    }
    let link = &mut proof.link;
    link.s_randomness = k_r + &(challenge.clone() * r);
    link.s_value = k_x + &(challenge.clone() * &shifted);
    link.s_blinding = k_rho + &(challenge.clone() * &blinding);
    if let (Some((_, response)), Some(tau)) = (&mut link.complement, &complement_blinding) {
        *response = k_tau + &(challenge * tau);
    }
    proof
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

/// The equations of many proofs, with the coefficients of the shared bases summed.
struct Batch {
    equation: BatchEquation,
    g: Scalar,
    h: Scalar,
    /// Each distinct analytics key with its summed coefficient.
    keys: Vec<(G1, Scalar)>,
}

impl Batch {
    fn new() -> Self {
        Self {
            equation: BatchEquation::default(),
            g: Scalar::zero(),
            h: Scalar::zero(),
            keys: Vec::new(),
        }
    }

    fn key(&mut self, key: &G1) -> &mut Scalar {
        let index = match self.keys.iter().position(|(known, _)| known == key) {
            Some(index) => index,
            None => {
                self.keys.push((*key, Scalar::zero()));
                self.keys.len() - 1
            }
        };
        &mut self.keys[index].1
    }

    /// Adds one statement's equations, each weighted on its commitment:
    ///
    /// ```text
    /// w1·T1 = w1·s_r·G − w1·e·R
    /// w2·T2 = w2·(s_x + e·lo)·G + w2·s_r·PK − w2·e·V
    /// w3·T3 = w3·s_x·G + w3·s_ρ·H − w3·e·Σ 2^i·C_i
    /// w4·T4 = w4·s_τ·H + w4·e·B·G − w4·e·(Σ 2^i·C_i + Σ 2^i·E_i)          (two-sided)
    /// u·A0  = u·z0·H − u·c0·C_i                                            (each bit)
    /// u'·A1 = u'·z1·H + u'·c1·G − u'·c1·C_i            with c1 = e − c0
    /// ```
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
        let link = &proof.link;
        if proof.bits.len() != range.bit_proofs() || link.complement.is_some() != range.two_sided()
        {
            return Err(AnalyticsError::InvalidRangeProof);
        }
        let e = transcript(key, ciphertext, range, context, proof).challenge();
        let mut weigh = |equation: &mut BatchEquation, commitment: &WirePoint| {
            equation.commitment(&SmallScalar::random(&mut *rng), commitment)
        };
        let w1 = weigh(&mut self.equation, &link.randomness);
        let w2 = weigh(&mut self.equation, &link.ciphertext);
        let w3 = weigh(&mut self.equation, &link.commitment);
        self.g += &(w1.clone() * &link.s_randomness
            + &(w2.clone() * &(link.s_value.clone() + &(e.clone() * &Scalar::from_u64(range.lo))))
            + &(w3.clone() * &link.s_value));
        self.h += &(w3.clone() * &link.s_blinding);
        *self.key(&key.0) += &(w2.clone() * &link.s_randomness);
        self.equation
            .term(&-(w1 * &e), &WirePoint::from_g1(&ciphertext.c1));
        self.equation
            .term(&-(w2 * &e), &WirePoint::from_g1(&ciphertext.c2));
        // What each bit's commitment carries into the link, times 2^i.
        let mut lower = w3 * &e;
        let mut upper = Scalar::zero();
        if let Some((commitment, response)) = &link.complement {
            let w4 = weigh(&mut self.equation, commitment);
            let width = Scalar::from_u64(range.hi - range.lo);
            self.h += &(w4.clone() * response);
            self.g += &(w4.clone() * &e * &width);
            upper = w4 * &e;
            lower += &upper;
        }
        let k = range.bits as usize;
        for (index, bit) in proof.bits.iter().enumerate() {
            let u0 = weigh(&mut self.equation, &bit.a0);
            let u1 = weigh(&mut self.equation, &bit.a1);
            let c1 = e.clone() - &bit.c0;
            self.h += &(u0.clone() * &bit.z0 + &(u1.clone() * &bit.z1));
            self.g += &(u1.clone() * &c1);
            let (position, link_weight) = if index < k {
                (index, &lower)
            } else {
                (index - k, &upper)
            };
            let scalar =
                u0 * &bit.c0 + &(u1 * &c1) + &(Scalar::from_u64(1u64 << position) * link_weight);
            self.equation.term(&-scalar, &bit.commitment);
        }
        Ok(())
    }

    fn holds(mut self) -> bool {
        let Bases { g_wire, h_wire, .. } = bases();
        self.equation.term(&self.g, g_wire);
        self.equation.term(&self.h, h_wire);
        for (key, scalar) in &self.keys {
            self.equation.term(scalar, &WirePoint::from_g1(key));
        }
        self.equation.holds()
    }
}

/// Verifies many range proofs as one multi-scalar multiplication. An error says the batch holds
/// at least one bad proof; verify them one by one to find which.
pub fn verify_batch(
    rng: &mut impl CryptoRng,
    statements: &[RangeStatement<'_>],
) -> Result<(), AnalyticsError> {
    let mut batch = Batch::new();
    for statement in statements {
        batch.add(rng, statement)?;
    }
    if batch.holds() {
        Ok(())
    } else {
        Err(AnalyticsError::InvalidRangeProof)
    }
}

#[cfg(test)]
mod tests;
