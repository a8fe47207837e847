//! Threshold Paillier decryption with a trusted dealer (genesis ceremony): Shoup, "Practical
//! Threshold Signatures", EUROCRYPT 2000 (Δ = l!, shares x^(2Δs_i), the DLEQ proof) as generalised
//! by Damgård–Jurik, PKC 2001, threshold variant, here with s = 1. Equations and checks follow the
//! project notes `crypto-schemes.md` Part B (B.1 dealer, B.3 shares, B.4 proof, B.5 combination).
//!
//! Dealer: safe primes p = 2p'+1, q = 2q'+1, m = p'q', d ≡ 0 (mod m), d ≡ 1 (mod n), Shamir
//! shares s_i = f(i) mod n·m with f(0) = d; v a random square mod n², v_i = v^(Δ·s_i).
//! Share: c_i = c^(2Δ·s_i) mod n², with a Fiat–Shamir proof that log_{c⁴}(c_i²) = log_v(v_i).
//! Combination: c' = Π c_i^(2λ_i) = (1+n)^(4Δ²·M), λ_i = Δ·Π_{j≠i} j/(j−i) ∈ Z,
//! M = L(c')·(4Δ²)^(−1) mod n. The combiner never needs m.
//!
//! ```
//! use medchain_crypto::paillier::Integer;
//! use medchain_crypto::paillier::threshold::dealer_keygen;
//! # use rand_chacha::rand_core::SeedableRng;
//! # let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(11);
//! let (tpk, shares) = dealer_keygen(1024, 2, 3, &mut rng).unwrap(); // 2-of-3; deploy 2048+
//! let pk = tpk.public_key();
//! let a = pk.encrypt(&pk.plaintext(&Integer::from(40)).unwrap(), &mut rng);
//! let b = pk.encrypt(&pk.plaintext(&Integer::from(2)).unwrap(), &mut rng);
//! let sum = pk.add(&a, &b);
//! // Each holder publishes a share with its proof; any 2 valid shares decrypt.
//! let published = [
//!     shares[0].decryption_share(&sum, &mut rng).unwrap(),
//!     shares[2].decryption_share(&sum, &mut rng).unwrap(),
//! ];
//! let result = tpk.decrypt(&sum, &published).unwrap();
//! assert_eq!(*result.plaintext.as_integer(), 42);
//! ```

use std::fmt;
use std::sync::{Arc, OnceLock};

use rand_core::CryptoRng;
use rug::Integer;
use rug::integer::IsPrime;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::PaillierError;
use super::fixed_base::FixedBase;
use super::keys::{
    Ciphertext, Plaintext, PublicKey, generate_safe_primes, sample_h, secret_pow_mod,
};
use super::rng::GmpRng;
use super::wipe::{wipe, wipe_all};
use super::wire::{self, Reader, kind};

/// Most key holders a threshold key may have; also bounds Δ = l! (64! ≈ 2^296).
pub const HOLDERS_MAX_COUNT: u16 = 64;
/// Length of the Fiat–Shamir challenge e. Soundness needs 2^t < min(p', q') (B.4, B.7).
pub const CHALLENGE_BITS: u32 = 128;
/// Extra bits of the prover's nonce r beyond e·y, so z = r + e·y statistically hides y (B.4).
pub const STATISTICAL_HIDING_BITS: u32 = 128;
/// Domain separation tag of the share-correctness proof transcript.
const PROOF_DOMAIN: &[u8] = b"medchain/paillier/threshold/decryption-share-proof/v1";
/// Window of the fixed-base table for v used by share verification.
const VERIFICATION_WINDOW_BITS: u32 = 4;
/// Miller–Rabin rounds when checking dealer-supplied primes.
const PRIME_CHECK_ROUNDS: u32 = 40;

/// The consortium's threshold key: Paillier public key plus what is needed to verify and combine.
#[derive(Clone)]
pub struct ThresholdPublicKey {
    public: PublicKey,
    /// k: number of shares needed to decrypt.
    threshold: u16,
    /// l: number of share holders.
    holders: u16,
    /// Δ = l!.
    delta: Integer,
    /// v: random square generating Q_{n²} (w.h.p.).
    v: Integer,
    /// v_i = v^(Δ·s_i), at index i − 1.
    verification_keys: Vec<Integer>,
    /// (4Δ²)^(−1) mod n.
    combine_factor_inv: Integer,
    /// Fixed-base table for v^z in proof verification, built on the first verification.
    verification_base: OnceLock<Arc<FixedBase>>,
}

/// One holder's secret share s_i, with the public key it belongs to.
#[derive(Clone)]
pub struct KeyShare {
    index: u16,
    secret: Integer,
    public: ThresholdPublicKey,
}

/// A holder's partial decryption c_i = c^(2Δ·s_i) with its proof (challenge e, response z).
#[derive(Clone, PartialEq, Eq)]
pub struct DecryptionShare {
    index: u16,
    value: Integer,
    challenge: Integer,
    response: Integer,
}

/// A decryption share whose proof was checked against one ciphertext; only these can be combined.
#[derive(Clone, Debug)]
pub struct VerifiedShare {
    share: DecryptionShare,
    ciphertext: Ciphertext,
}

/// Result of a robust threshold decryption: the plaintext and the holders whose shares were
/// excluded because their proofs failed.
#[derive(Debug)]
pub struct ThresholdDecryption {
    pub plaintext: Plaintext,
    pub rejected_holders: Vec<u16>,
}

/// Trusted-dealer key generation for a genesis ceremony: fresh safe primes of `bits / 2` bits,
/// then [`dealer_keygen_with_primes`]. The dealer must erase its memory afterwards.
pub fn dealer_keygen(
    bits: u32,
    threshold: u16,
    holders: u16,
    rng: &mut (impl CryptoRng + ?Sized),
) -> Result<(ThresholdPublicKey, Vec<KeyShare>), PaillierError> {
    check_parameters(threshold, holders)?;
    let (p, q) = generate_safe_primes(bits, rng)?;
    dealer_keygen_with_primes(p, q, threshold, holders, rng)
}

/// Dealer key generation from given safe primes (B.1). Checks that p, q, (p−1)/2, (q−1)/2 are
/// prime, p ≠ q, and that the challenge space is below min(p', q').
pub fn dealer_keygen_with_primes(
    mut p: Integer,
    mut q: Integer,
    threshold: u16,
    holders: u16,
    rng: &mut (impl CryptoRng + ?Sized),
) -> Result<(ThresholdPublicKey, Vec<KeyShare>), PaillierError> {
    check_parameters(threshold, holders)?;
    // Checked before sampling too: sampling below n needs a sane n (the check repeats below).
    let (mut p1, mut q1) = (Integer::from(&p - 1u32) >> 1, Integer::from(&q - 1u32) >> 1);
    let checked = check_safe_primes(&p, &q, &p1, &q1);
    wipe_all(&mut [&mut p1, &mut q1]);
    if let Err(e) = checked {
        wipe_all(&mut [&mut p, &mut q]);
        return Err(e);
    }
    let n = Integer::from(&p * &q);
    let h = sample_h(&n, rng);
    let v = sample_square(&Integer::from(n.square_ref()), rng);
    // Uniform below n² then reduced mod n·m: n² = (4 + ε)·n·m with ε ≈ 2^(3−|n|/2), so the
    // reduction's bias is negligible.
    let nm_bound = n.square();
    let mut coefficients = {
        let mut gmp = GmpRng::new(rng);
        let mut state = gmp.state();
        (1..threshold)
            .map(|_| Integer::from(nm_bound.random_below_ref(&mut state)))
            .collect::<Vec<_>>()
    };
    let result = dealer_keygen_from_parts(p, q, h, v, &coefficients, threshold, holders);
    coefficients.iter_mut().for_each(wipe);
    result
}

/// Deterministic dealer from all its random choices: DJN base h, verification base v (a square
/// in Z*_{n²}) and the polynomial coefficients a_1..a_{k−1} (reduced mod n·m). For known-answer
/// tests and for a ceremony that draws its randomness elsewhere; the inputs must be uniform.
pub fn dealer_keygen_from_parts(
    mut p: Integer,
    mut q: Integer,
    h: Integer,
    v: Integer,
    coefficients: &[Integer],
    threshold: u16,
    holders: u16,
) -> Result<(ThresholdPublicKey, Vec<KeyShare>), PaillierError> {
    check_parameters(threshold, holders)?;
    if coefficients.len() + 1 != usize::from(threshold) {
        return Err(PaillierError::InvalidKey {
            reason: "a k-of-l key needs exactly k − 1 polynomial coefficients",
        });
    }
    let (mut p1, mut q1) = (Integer::from(&p - 1u32) >> 1, Integer::from(&q - 1u32) >> 1);
    let checked = check_safe_primes(&p, &q, &p1, &q1);
    let n = Integer::from(&p * &q);
    let mut m = Integer::from(&p1 * &q1);
    wipe_all(&mut [&mut p, &mut q, &mut p1, &mut q1]);
    if let Err(e) = checked {
        wipe(&mut m);
        return Err(e);
    }
    let public = PublicKey::from_n_h(n, h)?;
    let nn = public.n_squared();
    if !(v.cmp0().is_gt() && v < *nn && Integer::from(v.gcd_ref(nn)) == 1) {
        wipe(&mut m);
        return Err(PaillierError::InvalidKey {
            reason: "the verification base v must lie in Z*_{n²}",
        });
    }
    let mut secrets = share_secret_exponent(public.n(), &m, coefficients, holders);
    wipe(&mut m);
    let tpk = ThresholdPublicKey::new(public, threshold, holders, v, |delta, v, nn| {
        secrets
            .iter()
            .map(|s| secret_pow_mod(v.clone(), &Integer::from(delta * s), nn))
            .collect()
    })?;
    let shares = (1..=holders)
        .zip(secrets.iter())
        .map(|(index, secret)| KeyShare {
            index,
            secret: secret.clone(),
            public: tpk.clone(),
        })
        .collect();
    secrets.iter_mut().for_each(wipe);
    Ok((tpk, shares))
}

/// B.1 / B.7: p, q, p', q' prime, p ≠ q, equal lengths, and 2^t < min(p', q') for soundness.
fn check_safe_primes(
    p: &Integer,
    q: &Integer,
    p1: &Integer,
    q1: &Integer,
) -> Result<(), PaillierError> {
    let all_prime = [p, q, p1, q1]
        .iter()
        .all(|x| x.cmp0().is_gt() && x.is_probably_prime(PRIME_CHECK_ROUNDS) != IsPrime::No);
    if !all_prime || p == q || p.significant_bits() != q.significant_bits() {
        return Err(PaillierError::InvalidKey {
            reason: "p and q must be distinct safe primes of equal length",
        });
    }
    if p1.significant_bits().min(q1.significant_bits()) <= CHALLENGE_BITS {
        return Err(PaillierError::InvalidKey {
            reason: "p' and q' must exceed 2^128 for the share proofs to be sound",
        });
    }
    Ok(())
}

fn check_parameters(threshold: u16, holders: u16) -> Result<(), PaillierError> {
    if threshold == 0 || threshold > holders || holders > HOLDERS_MAX_COUNT {
        return Err(PaillierError::ThresholdParameters {
            threshold,
            holders,
            max: HOLDERS_MAX_COUNT,
        });
    }
    Ok(())
}

/// Shamir-shares d = m·(m^(−1) mod n) over Z_{n·m} with f(X) = d + a_1·X + … + a_{k−1}·X^(k−1);
/// returns s_1..s_l. Only the dealer knows m, so reducing mod n·m is allowed here (B.1).
fn share_secret_exponent(
    n: &Integer,
    m: &Integer,
    coefficients: &[Integer],
    holders: u16,
) -> Vec<Integer> {
    let mut nm = Integer::from(n * m);
    let m_inv = Integer::from(
        m.invert_ref(n)
            .expect("gcd(m, n) = 1 for distinct safe primes"),
    );
    let mut polynomial = vec![Integer::from(m * &m_inv)];
    polynomial.extend(coefficients.iter().map(|a| Integer::from(a % &nm)));
    let secrets = (1..=u32::from(holders))
        .map(|i| {
            // Horner's rule for f(i) mod n·m.
            let mut acc = Integer::new();
            for a in polynomial.iter().rev() {
                acc *= i;
                acc += a;
                acc %= &nm;
            }
            acc
        })
        .collect();
    polynomial.iter_mut().for_each(wipe);
    wipe(&mut nm);
    secrets
}

/// v = r² mod n² for a uniform r ∈ Z*_{n²}.
fn sample_square(nn: &Integer, rng: &mut (impl CryptoRng + ?Sized)) -> Integer {
    let mut gmp = GmpRng::new(rng);
    let mut state = gmp.state();
    loop {
        let r = Integer::from(nn.random_below_ref(&mut state));
        if r.cmp0().is_gt() && Integer::from(r.gcd_ref(nn)) == 1 {
            return r.square() % nn;
        }
    }
}

fn factorial(l: u16) -> Integer {
    Integer::from(Integer::factorial(u32::from(l)))
}

/// Bits of the prover's nonce r: y = Δ·s_i < Δ·n², e < 2^t, plus the statistical hiding margin.
fn nonce_bits(delta: &Integer, n_bits: u32) -> u32 {
    delta.significant_bits() + 2 * n_bits + CHALLENGE_BITS + STATISTICAL_HIDING_BITS
}

impl ThresholdPublicKey {
    /// Assembles the key; `make_verification_keys(Δ, v, n²)` supplies v_1..v_l.
    fn new(
        public: PublicKey,
        threshold: u16,
        holders: u16,
        v: Integer,
        make_verification_keys: impl FnOnce(&Integer, &Integer, &Integer) -> Vec<Integer>,
    ) -> Result<Self, PaillierError> {
        check_parameters(threshold, holders)?;
        let delta = factorial(holders);
        let four_delta_squared = Integer::from(delta.square_ref()) * 4u32;
        let combine_factor_inv =
            four_delta_squared
                .invert(public.n())
                .map_err(|_| PaillierError::InvalidKey {
                    reason: "gcd(4Δ², n) ≠ 1: n has a prime factor no larger than the holder count",
                })?;
        let verification_keys = make_verification_keys(&delta, &v, public.n_squared());
        assert_eq!(verification_keys.len(), usize::from(holders));
        Ok(Self {
            public,
            threshold,
            holders,
            delta,
            v,
            verification_keys,
            combine_factor_inv,
            verification_base: OnceLock::new(),
        })
    }

    /// The Paillier public key under which contributors encrypt.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// k: number of valid shares needed to decrypt.
    pub fn threshold(&self) -> u16 {
        self.threshold
    }

    /// l: number of share holders.
    pub fn holders(&self) -> u16 {
        self.holders
    }

    /// v_1..v_l, the public verification keys of the holders.
    pub fn verification_keys(&self) -> &[Integer] {
        &self.verification_keys
    }

    fn verification_key(&self, index: u16) -> Result<&Integer, PaillierError> {
        if index == 0 || index > self.holders {
            return Err(PaillierError::ShareIndex {
                index,
                holders: self.holders,
            });
        }
        Ok(&self.verification_keys[usize::from(index) - 1])
    }

    /// v^z costs one multiplication per 4-bit digit of z instead of ~|z| squarings: z is public,
    /// so the digit-dependent lookups leak nothing. 2048-bit key: 1101 rows × 15 × 512 bytes ≈ 8.5 MB,
    /// built once per node (~17k multiplications), then ~3.5× faster than square-and-multiply.
    fn verification_base(&self) -> &FixedBase {
        self.verification_base.get_or_init(|| {
            let z_bits = nonce_bits(&self.delta, self.public.modulus_bits()) + 1;
            let table = FixedBase::new(
                &self.v,
                self.public.n_squared(),
                z_bits,
                VERIFICATION_WINDOW_BITS,
            );
            Arc::new(table)
        })
    }

    fn response_len_bytes(&self) -> usize {
        wire::byte_len(nonce_bits(&self.delta, self.public.modulus_bits()) + 1)
    }

    /// Checks a share's proof for `ct` (B.4): recomputes a' = (c⁴)^z·(c_i²)^(−e) and
    /// b' = v^z·v_i^(−e) and accepts iff the transcript hash gives back e.
    pub fn verify_share(
        &self,
        ct: &Ciphertext,
        share: &DecryptionShare,
    ) -> Result<VerifiedShare, PaillierError> {
        let invalid = PaillierError::InvalidShareProof { index: share.index };
        let vk = self.verification_key(share.index)?;
        let nn = self.public.n_squared();
        if ct.as_integer() >= nn || share.value >= *nn {
            return Err(PaillierError::CiphertextOutOfRange);
        }
        let z = &share.response;
        let z_bits_max = nonce_bits(&self.delta, self.public.modulus_bits()) + 1;
        if z.cmp0().is_lt() || z.significant_bits() > z_bits_max {
            return Err(invalid);
        }
        if share.challenge.cmp0().is_lt() || share.challenge.significant_bits() > CHALLENGE_BITS {
            return Err(invalid);
        }
        let c4 = pow_public(ct.as_integer(), &Integer::from(4), nn);
        let ci2 = pow_public(&share.value, &Integer::from(2), nn);
        let ci2_inv = Integer::from(ci2.invert_ref(nn).ok_or(invalid.clone())?);
        let vk_inv = Integer::from(vk.invert_ref(nn).ok_or(invalid.clone())?);
        let a = mul_mod(
            pow_public(&c4, z, nn),
            &pow_public(&ci2_inv, &share.challenge, nn),
            nn,
        );
        let b = mul_mod(
            self.verification_base().pow(z),
            &pow_public(&vk_inv, &share.challenge, nn),
            nn,
        );
        let e = self.challenge(share.index, ct, &c4, &ci2, &a, &b);
        if e != share.challenge {
            return Err(invalid);
        }
        Ok(VerifiedShare {
            share: share.clone(),
            ciphertext: ct.clone(),
        })
    }

    /// Fiat–Shamir challenge: SHA-256 over a length-prefixed transcript, truncated to 128 bits.
    fn challenge(
        &self,
        index: u16,
        ct: &Ciphertext,
        c4: &Integer,
        ci2: &Integer,
        a: &Integer,
        b: &Integer,
    ) -> Integer {
        let len = 2 * self.public.n_len_bytes();
        let mut hasher = Sha256::new();
        absorb(&mut hasher, PROOF_DOMAIN);
        absorb(&mut hasher, &self.public.to_bytes());
        absorb(&mut hasher, &index.to_be_bytes());
        let vk = &self.verification_keys[usize::from(index) - 1];
        for x in [ct.as_integer(), c4, ci2, &self.v, vk, a, b] {
            let mut field = Vec::with_capacity(len);
            wire::put_integer(&mut field, x, len);
            absorb(&mut hasher, &field);
        }
        let digest = hasher.finalize();
        Integer::from_digits(
            &digest[..(CHALLENGE_BITS / 8) as usize],
            rug::integer::Order::Msf,
        )
    }

    /// Combines verified shares for `ct` (B.5): uses the first k shares with distinct holders.
    pub fn combine(
        &self,
        ct: &Ciphertext,
        shares: &[VerifiedShare],
    ) -> Result<Plaintext, PaillierError> {
        let mut chosen: Vec<&DecryptionShare> = Vec::with_capacity(usize::from(self.threshold));
        for verified in shares {
            if verified.ciphertext != *ct {
                return Err(PaillierError::Malformed {
                    what: "verified decryption share",
                    reason: "it was verified for a different ciphertext",
                });
            }
            let share = &verified.share;
            self.verification_key(share.index)?;
            if chosen.iter().any(|s| s.index == share.index) {
                return Err(PaillierError::DuplicateShare { index: share.index });
            }
            if chosen.len() < usize::from(self.threshold) {
                chosen.push(share);
            }
        }
        if chosen.len() < usize::from(self.threshold) {
            return Err(PaillierError::NotEnoughShares {
                valid: chosen.len(),
                needed: usize::from(self.threshold),
            });
        }
        Ok(self.combine_unchecked(&chosen))
    }

    /// c' = Π c_i^(2λ_i) mod n², M = L(c')·(4Δ²)^(−1) mod n. Shares are verified and distinct.
    fn combine_unchecked(&self, shares: &[&DecryptionShare]) -> Plaintext {
        let nn = self.public.n_squared();
        let n = self.public.n();
        let indices: Vec<i64> = shares.iter().map(|s| i64::from(s.index)).collect();
        let mut acc = Integer::from(1);
        for share in shares {
            let lambda = self.lagrange_at_zero(i64::from(share.index), &indices);
            let exponent = Integer::from(lambda.abs_ref()) * 2u32;
            let base = if lambda.cmp0().is_lt() {
                Integer::from(
                    share
                        .value
                        .invert_ref(nn)
                        .expect("verified shares are units"),
                )
            } else {
                share.value.clone()
            };
            acc = mul_mod(acc, &pow_public(&base, &exponent, nn), nn);
        }
        // L(c') = (c' − 1)/n; exact because c' = (1+n)^(4Δ²M) = 1 + 4Δ²M·n mod n².
        let l = (acc - 1u32) / n;
        Plaintext(mul_mod(l, &self.combine_factor_inv, n))
    }

    /// λ_{0,i} = Δ·Π_{j∈S∖{i}} j/(j − i), an integer because Δ = l! (B.5).
    fn lagrange_at_zero(&self, i: i64, indices: &[i64]) -> Integer {
        let mut numerator = self.delta.clone();
        let mut denominator = Integer::from(1);
        for &j in indices.iter().filter(|&&j| j != i) {
            numerator *= j;
            denominator *= j - i;
        }
        assert!(
            numerator.is_divisible(&denominator),
            "Δ = l! makes λ integral"
        );
        numerator.div_exact(&denominator)
    }

    /// Robust decryption for the combiner: verifies every share, excludes (and reports) holders
    /// whose proofs fail, ignores repeats of an already accepted holder, and combines k shares.
    pub fn decrypt(
        &self,
        ct: &Ciphertext,
        shares: &[DecryptionShare],
    ) -> Result<ThresholdDecryption, PaillierError> {
        let mut verified: Vec<VerifiedShare> = Vec::new();
        let mut rejected_holders = Vec::new();
        for share in shares {
            if verified.iter().any(|v| v.share.index == share.index) {
                continue;
            }
            match self.verify_share(ct, share) {
                Ok(v) => verified.push(v),
                Err(_) => rejected_holders.push(share.index),
            }
            if verified.len() == usize::from(self.threshold) {
                break;
            }
        }
        let plaintext = self.combine(ct, &verified)?;
        Ok(ThresholdDecryption {
            plaintext,
            rejected_holders,
        })
    }
}

fn absorb(hasher: &mut Sha256, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).expect("transcript items are far below 4 GiB");
    hasher.update(len.to_be_bytes());
    hasher.update(bytes);
}

/// Exponentiation with a public exponent (variable time is fine).
fn pow_public(base: &Integer, exponent: &Integer, modulus: &Integer) -> Integer {
    Integer::from(
        base.pow_mod_ref(exponent, modulus)
            .expect("exponents here are non-negative"),
    )
}

fn mul_mod(mut a: Integer, b: &Integer, modulus: &Integer) -> Integer {
    a *= b;
    a %= modulus;
    a
}

impl KeyShare {
    /// The holder's index i in 1..=l.
    pub fn index(&self) -> u16 {
        self.index
    }

    /// The threshold public key this share belongs to.
    pub fn public_key(&self) -> &ThresholdPublicKey {
        &self.public
    }

    /// Partial decryption c_i = c^(2Δ·s_i) mod n² (B.3) with its proof of correctness (B.4):
    /// r random, a = (c⁴)^r, b = v^r, e = H(…), z = r + e·Δ·s_i over the integers.
    /// Fails only for a ciphertext of another key (not below this key's n²).
    pub fn decryption_share(
        &self,
        ct: &Ciphertext,
        rng: &mut (impl CryptoRng + ?Sized),
    ) -> Result<DecryptionShare, PaillierError> {
        let tpk = &self.public;
        let nn = tpk.public.n_squared();
        if ct.as_integer() >= nn {
            return Err(PaillierError::CiphertextOutOfRange);
        }
        let mut y = Integer::from(&tpk.delta * &self.secret);
        let value = secret_pow_mod(ct.as_integer().clone(), &(Integer::from(&y * 2u32)), nn);
        let c4 = pow_public(ct.as_integer(), &Integer::from(4), nn);
        let ci2 = pow_public(&value, &Integer::from(2), nn);
        let bits = nonce_bits(&tpk.delta, tpk.public.modulus_bits());
        let mut r = {
            let mut gmp = GmpRng::new(rng);
            Integer::from(Integer::random_bits(bits, &mut gmp.state()))
        };
        let a = secret_pow_mod(c4.clone(), &r, nn);
        let b = secret_pow_mod(tpk.v.clone(), &r, nn);
        let challenge = tpk.challenge(self.index, ct, &c4, &ci2, &a, &b);
        let response = Integer::from(&challenge * &y) + &r;
        wipe_all(&mut [&mut y, &mut r]);
        Ok(DecryptionShare {
            index: self.index,
            value,
            challenge,
            response,
        })
    }

    /// Encoding: `version ‖ kind ‖ threshold public key fields ‖ u16 index ‖ s_i (2·n_len bytes)`.
    /// Secret: store it encrypted and let the returned buffer wipe itself.
    pub fn to_bytes(&self) -> zeroize::Zeroizing<Vec<u8>> {
        let len = 2 * self.public.public.n_len_bytes();
        let mut out = wire::header(kind::KEY_SHARE, 0);
        self.public.write(&mut out);
        out.extend_from_slice(&self.index.to_be_bytes());
        wire::put_integer(&mut out, &self.secret, len);
        zeroize::Zeroizing::new(out)
    }

    /// Decodes a key share and checks it against its verification key (v^(Δ·s_i) = v_i), so a
    /// corrupted or mismatched share is caught before it produces shares that every verifier rejects.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PaillierError> {
        let mut r = Reader::open(bytes, kind::KEY_SHARE, "Paillier key share")?;
        let public = ThresholdPublicKey::read(&mut r)?;
        let index = r.u16()?;
        let mut secret = r.integer(2 * public.public.n_len_bytes())?;
        r.finish()?;
        let expected = public.verification_key(index)?;
        let nn = public.public.n_squared();
        let exponent = Integer::from(&public.delta * &secret);
        if secret >= *nn || secret_pow_mod(public.v.clone(), &exponent, nn) != *expected {
            wipe(&mut secret);
            return Err(PaillierError::InvalidKey {
                reason: "the key share does not match its verification key v_i",
            });
        }
        Ok(Self {
            index,
            secret,
            public,
        })
    }
}

impl Zeroize for KeyShare {
    fn zeroize(&mut self) {
        wipe(&mut self.secret);
    }
}

impl Drop for KeyShare {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for KeyShare {}

impl fmt::Debug for KeyShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyShare(index {}, secret <redacted>)", self.index)
    }
}

impl ThresholdPublicKey {
    /// Encoding: `version ‖ kind ‖ public key fields ‖ u16 k ‖ u16 l ‖ v ‖ v_1 … v_l`, with v and
    /// each v_i in 2·n_len bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = wire::header(kind::THRESHOLD_PUBLIC_KEY, 0);
        self.write(&mut out);
        out
    }

    /// Decodes and validates a threshold public key (parameters, v and v_i in Z*_{n²}).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PaillierError> {
        let mut r = Reader::open(bytes, kind::THRESHOLD_PUBLIC_KEY, "threshold public key")?;
        let key = Self::read(&mut r)?;
        r.finish()?;
        Ok(key)
    }

    fn write(&self, out: &mut Vec<u8>) {
        let len = 2 * self.public.n_len_bytes();
        out.extend_from_slice(&self.public.to_bytes()[2..]);
        out.extend_from_slice(&self.threshold.to_be_bytes());
        out.extend_from_slice(&self.holders.to_be_bytes());
        wire::put_integer(out, &self.v, len);
        for vk in &self.verification_keys {
            wire::put_integer(out, vk, len);
        }
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, PaillierError> {
        let public = PublicKey::read(r)?;
        let threshold = r.u16()?;
        let holders = r.u16()?;
        check_parameters(threshold, holders)?;
        let len = 2 * public.n_len_bytes();
        let nn = public.n_squared().clone();
        let in_group =
            |x: &Integer| x.cmp0().is_gt() && *x < nn && Integer::from(x.gcd_ref(&nn)) == 1;
        let v = r.integer(len)?;
        let mut keys = Vec::with_capacity(usize::from(holders));
        for _ in 0..holders {
            keys.push(r.integer(len)?);
        }
        if !in_group(&v) || !keys.iter().all(in_group) {
            return Err(r.malformed("v and every v_i must lie in Z*_{n²}"));
        }
        Self::new(public, threshold, holders, v, |_, _, _| keys)
    }
}

impl PartialEq for ThresholdPublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.public == other.public
            && self.threshold == other.threshold
            && self.holders == other.holders
            && self.v == other.v
            && self.verification_keys == other.verification_keys
    }
}
impl Eq for ThresholdPublicKey {}

impl fmt::Debug for ThresholdPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ThresholdPublicKey({}-of-{}, {:?})",
            self.threshold, self.holders, self.public
        )
    }
}

impl DecryptionShare {
    /// The holder that produced the share.
    pub fn index(&self) -> u16 {
        self.index
    }

    /// The partial decryption c_i = c^(2Δ·s_i) mod n².
    pub fn partial_decryption(&self) -> &Integer {
        &self.value
    }

    /// Encoding: `version ‖ kind ‖ u16 index ‖ c_i (2·n_len) ‖ e (16 bytes) ‖ z (fixed by key)`.
    pub fn to_bytes(&self, tpk: &ThresholdPublicKey) -> Vec<u8> {
        let len = 2 * tpk.public.n_len_bytes();
        let z_len = tpk.response_len_bytes();
        let e_len = (CHALLENGE_BITS / 8) as usize;
        let mut out = wire::header(kind::DECRYPTION_SHARE, 2 + len + e_len + z_len);
        out.extend_from_slice(&self.index.to_be_bytes());
        wire::put_integer(&mut out, &self.value, len);
        wire::put_integer(&mut out, &self.challenge, e_len);
        wire::put_integer(&mut out, &self.response, z_len);
        out
    }

    /// Decodes a share for `tpk`: exact length, holder index in range, c_i ∈ Z*_{n²}.
    /// The proof itself is checked by [`ThresholdPublicKey::verify_share`].
    pub fn from_bytes(tpk: &ThresholdPublicKey, bytes: &[u8]) -> Result<Self, PaillierError> {
        let len = 2 * tpk.public.n_len_bytes();
        let z_len = tpk.response_len_bytes();
        let e_len = (CHALLENGE_BITS / 8) as usize;
        let expected = 2 + 2 + len + e_len + z_len;
        if bytes.len() != expected {
            return Err(PaillierError::WrongLength {
                what: "decryption share",
                expected,
                found: bytes.len(),
            });
        }
        let mut r = Reader::open(bytes, kind::DECRYPTION_SHARE, "decryption share")?;
        let index = r.u16()?;
        tpk.verification_key(index)?;
        let value = r.integer(len)?;
        let challenge = r.integer(e_len)?;
        let response = r.integer(z_len)?;
        r.finish()?;
        let nn = tpk.public.n_squared();
        if value.cmp0().is_le() || value >= *nn || Integer::from(value.gcd_ref(nn)) != 1 {
            return Err(share_malformed(
                "the partial decryption must lie in Z*_{n²}",
            ));
        }
        Ok(Self {
            index,
            value,
            challenge,
            response,
        })
    }
}

fn share_malformed(reason: &'static str) -> PaillierError {
    PaillierError::Malformed {
        what: "decryption share",
        reason,
    }
}

impl fmt::Debug for DecryptionShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DecryptionShare(holder {})", self.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroize_clears_the_key_share_secret() {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/vectors/paillier_kat.json")).unwrap();
        let int =
            |x: &serde_json::Value| Integer::from_str_radix(&x.as_str().unwrap()[2..], 16).unwrap();
        let t = &v["threshold"];
        let coefficients: Vec<Integer> = t["coefficients"]
            .as_array()
            .unwrap()
            .iter()
            .map(int)
            .collect();
        let (_, mut shares) = dealer_keygen_from_parts(
            int(&v["p"]),
            int(&v["q"]),
            int(&v["h"]),
            int(&t["v"]),
            &coefficients,
            3,
            5,
        )
        .unwrap();
        assert_ne!(shares[0].secret, 0);
        shares[0].zeroize();
        assert_eq!(shares[0].secret, 0);
    }
}
