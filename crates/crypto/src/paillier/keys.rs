//! Paillier keys, ciphertexts and plaintexts with g = n + 1 (Paillier, EUROCRYPT 1999, §2–3 and the
//! CRT decryption of §7). Encryption follows Damgård–Jurik–Nielsen ("A generalization of Paillier's
//! public-key system with applications to electronic voting", IJIS 9(6), 2010, the `h_s` variant).
//!
//! Security assumption of the short-exponent encryption: with h = −x² mod n and h_s = h^n mod n²,
//! the ciphertext `(1+n)^m · h_s^α` uses α uniform below 2^⌈|n|/2⌉ instead of a uniform r ∈ Z*_n.
//! It is semantically secure under DCR *plus* the assumption that h^α for such a short α is
//! indistinguishable from a uniform element of ⟨h⟩ (DJN's argument; the exact section number in
//! the journal version is unverified here). Ciphertexts are ordinary Paillier ciphertexts
//! (h_s^α is an n-th residue), so any g = n + 1 implementation decrypts them. The fixed-base table
//! used for h_s^α is not constant-time in α; encryption runs on the contributor's own device.

use std::fmt;
use std::sync::{Arc, OnceLock};

use rand_core::CryptoRng;
use rug::Integer;
use rug::integer::IsPrime;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::fixed_base::FixedBase;
use super::rng::{GmpRng, Rng06};
use super::wipe::{wipe, wipe_all};
use super::wire::{self, Reader, kind};
use super::{MODULUS_SIZE_MAX_BITS, MODULUS_SIZE_MIN_BITS, PaillierError};

/// Window of the h_s table: 6 keeps a 2048-bit key's table at about 5.5 MB (171 rows × 63
/// entries × 512 bytes), built in ~11k multiplications; an encryption then needs ≤ 171.
const ENCRYPTION_WINDOW_BITS: u32 = 6;

/// Miller–Rabin rounds when a decoder checks that p and q are prime (error ≤ 4^-40).
const PRIME_CHECK_ROUNDS: u32 = 40;

/// A Paillier public key: the modulus n and the DJN encryption base h (h_s = h^n mod n² derived).
#[derive(Clone)]
pub struct PublicKey {
    n: Integer,
    nn: Integer,
    h: Integer,
    n_len_bytes: usize,
    /// Built on the first encryption: decoding a key for homomorphic additions stays cheap.
    encryption_base: OnceLock<Arc<FixedBase>>,
}

/// A Paillier ciphertext, always an element of Z*_{n²} of the key it was made or decoded with.
#[derive(Clone, PartialEq, Eq)]
pub struct Ciphertext(pub(crate) Integer);

/// A plaintext residue in [0, n). Redacted in `Debug`: decrypted values are patient data.
#[derive(Clone, PartialEq, Eq)]
pub struct Plaintext(pub(crate) Integer);

/// The Paillier secret key: the factors of n and the CRT constants of Paillier 1999 §7.
#[derive(Clone)]
pub struct SecretKey {
    public: PublicKey,
    p: Integer,
    q: Integer,
    p_squared: Integer,
    q_squared: Integer,
    p_minus_1: Integer,
    q_minus_1: Integer,
    /// h_p = L_p(g^(p−1) mod p²)^(−1) mod p (Paillier 1999 §7), likewise h_q.
    hp: Integer,
    hq: Integer,
    /// q^(−1) mod p, for the CRT recombination.
    q_inv_p: Integer,
}

/// Generates a key pair with an n of exactly `bits` bits from two safe primes (safe primes make the
/// same key usable for threshold decryption, see [`super::threshold`]).
pub fn keygen(
    bits: u32,
    rng: &mut (impl CryptoRng + ?Sized),
) -> Result<(PublicKey, SecretKey), PaillierError> {
    let (p, q) = generate_safe_primes(bits, rng)?;
    let n = Integer::from(&p * &q);
    let h = sample_h(&n, rng);
    let sk = SecretKey::from_primes(p, q, h)?;
    Ok((sk.public.clone(), sk))
}

/// Two distinct safe primes of `bits / 2` bits whose product has exactly `bits` bits.
/// The primes come from `fast-paillier`'s sieve; candidates whose product is one bit short are kept
/// and paired with later ones, so on average about 2.6 safe primes are generated per key.
pub(crate) fn generate_safe_primes(
    bits: u32,
    rng: &mut (impl CryptoRng + ?Sized),
) -> Result<(Integer, Integer), PaillierError> {
    check_modulus_bits(bits)?;
    if !bits.is_multiple_of(2) {
        return Err(PaillierError::InvalidKey {
            reason: "the modulus size must be even so p and q have equal length",
        });
    }
    let mut found: Vec<Integer> = Vec::new();
    loop {
        let candidate =
            fast_paillier::backend::Integer::generate_safe_prime(&mut Rng06::new(rng), bits / 2)
                .to_rug();
        for other in &found {
            let n = Integer::from(other * &candidate);
            if *other != candidate && n.significant_bits() == bits {
                return Ok((other.clone(), candidate));
            }
        }
        found.push(candidate);
    }
}

/// DJN's h = −x² mod n for a uniform x ∈ Z*_n.
pub(crate) fn sample_h(n: &Integer, rng: &mut (impl CryptoRng + ?Sized)) -> Integer {
    let mut gmp = GmpRng::new(rng);
    let mut state = gmp.state();
    loop {
        let x = Integer::from(n.random_below_ref(&mut state));
        if x.cmp0().is_gt() && Integer::from(x.gcd_ref(n)) == 1 {
            let x_squared = x.square() % n;
            return n - x_squared;
        }
    }
}

fn check_modulus_bits(bits: u32) -> Result<(), PaillierError> {
    if (MODULUS_SIZE_MIN_BITS..=MODULUS_SIZE_MAX_BITS).contains(&bits) {
        Ok(())
    } else {
        Err(PaillierError::ModulusSize {
            bits,
            min: MODULUS_SIZE_MIN_BITS,
            max: MODULUS_SIZE_MAX_BITS,
        })
    }
}

impl PublicKey {
    /// Builds a key from n and h, checking the properties a decoder can check without the factors.
    pub(crate) fn from_n_h(n: Integer, h: Integer) -> Result<Self, PaillierError> {
        check_modulus_bits(n.significant_bits())?;
        if n.is_even() || n.is_perfect_square() {
            return Err(PaillierError::InvalidKey {
                reason: "n must be odd and not a perfect square",
            });
        }
        if !(h.cmp0().is_gt() && h < n && Integer::from(h.gcd_ref(&n)) == 1) {
            return Err(PaillierError::InvalidKey {
                reason: "the encryption base h must lie in Z*_n",
            });
        }
        let nn = Integer::from(n.square_ref());
        let n_len_bytes = wire::byte_len(n.significant_bits());
        Ok(Self {
            n,
            nn,
            h,
            n_len_bytes,
            encryption_base: OnceLock::new(),
        })
    }

    /// The modulus n.
    pub fn n(&self) -> &Integer {
        &self.n
    }

    /// n².
    pub fn n_squared(&self) -> &Integer {
        &self.nn
    }

    /// Size of n in bits.
    pub fn modulus_bits(&self) -> u32 {
        self.n.significant_bits()
    }

    /// Bits of the DJN encryption exponent α: ⌈|n|/2⌉.
    pub fn exponent_bits(&self) -> u32 {
        self.modulus_bits().div_ceil(2)
    }

    pub(crate) fn n_len_bytes(&self) -> usize {
        self.n_len_bytes
    }

    /// Checks `value < n` and wraps it as a plaintext.
    pub fn plaintext(&self, value: &Integer) -> Result<Plaintext, PaillierError> {
        if value.cmp0().is_ge() && *value < self.n {
            Ok(Plaintext(value.clone()))
        } else {
            Err(PaillierError::PlaintextOutOfRange)
        }
    }

    /// Encrypts with fresh randomness: `(1+n)^m · h_s^α mod n²`, α uniform below 2^⌈|n|/2⌉ (DJN).
    pub fn encrypt(&self, m: &Plaintext, rng: &mut (impl CryptoRng + ?Sized)) -> Ciphertext {
        let mut gmp = GmpRng::new(rng);
        let alpha = Integer::from(Integer::random_bits(self.exponent_bits(), &mut gmp.state()));
        self.encrypt_djn(m, &alpha)
    }

    /// Encrypts with a caller-chosen DJN exponent α (for known-answer tests); α must be below
    /// 2^⌈|n|/2⌉. Reusing α across plaintexts destroys semantic security.
    pub fn encrypt_with_exponent(
        &self,
        m: &Plaintext,
        alpha: &Integer,
    ) -> Result<Ciphertext, PaillierError> {
        if alpha.cmp0().is_lt() || alpha.significant_bits() > self.exponent_bits() {
            return Err(PaillierError::InvalidExponent {
                max_bits: self.exponent_bits(),
            });
        }
        Ok(self.encrypt_djn(m, alpha))
    }

    fn encrypt_djn(&self, m: &Plaintext, alpha: &Integer) -> Ciphertext {
        let mask = self.encryption_base().pow(alpha);
        Ciphertext(self.mask_message(m, mask))
    }

    /// Classic Paillier encryption `(1+n)^m · r^n mod n²` with r ∈ Z*_n: the form of the paper and
    /// of python `phe`, kept for known-answer vectors and interoperability tests.
    pub fn encrypt_with_nonce(
        &self,
        m: &Plaintext,
        r: &Integer,
    ) -> Result<Ciphertext, PaillierError> {
        if !(r.cmp0().is_gt() && *r < self.n && Integer::from(r.gcd_ref(&self.n)) == 1) {
            return Err(PaillierError::InvalidNonce);
        }
        let mask = r
            .pow_mod_ref(&self.n, &self.nn)
            .map(Integer::from)
            .ok_or(PaillierError::InvalidNonce)?;
        Ok(Ciphertext(self.mask_message(m, mask)))
    }

    /// (1+n)^m = 1 + m·n mod n² (binomial theorem), times the n-th residue `mask`.
    fn mask_message(&self, m: &Plaintext, mask: Integer) -> Integer {
        debug_assert!(m.0 < self.n, "plaintexts are reduced mod n on construction");
        let mut c = Integer::from(&m.0 * &self.n);
        c += 1;
        c *= mask;
        c %= &self.nn;
        c
    }

    fn encryption_base(&self) -> &FixedBase {
        self.encryption_base.get_or_init(|| {
            // h_s = h^n mod n² (DJN with s = 1); the exponent is public.
            let h_s = Integer::from(self.h.pow_mod_ref(&self.n, &self.nn).expect("h is a unit"));
            Arc::new(FixedBase::new(
                &h_s,
                &self.nn,
                self.exponent_bits(),
                ENCRYPTION_WINDOW_BITS,
            ))
        })
    }

    /// The additive identity 1 = Enc(0) with randomness r = 1: the deterministic starting value
    /// of an on-chain sum. It hides nothing by itself; every real contribution is randomised.
    pub fn zero_ciphertext(&self) -> Ciphertext {
        Ciphertext(Integer::from(1))
    }

    /// Homomorphic addition: Enc(a)·Enc(b) mod n² decrypts to a + b mod n. Deterministic.
    pub fn add(&self, a: &Ciphertext, b: &Ciphertext) -> Ciphertext {
        let mut sum = Integer::from(&a.0 * &b.0);
        sum %= &self.nn;
        Ciphertext(sum)
    }

    /// In-place homomorphic addition `acc ← acc + c`: the on-chain aggregate. One GMP
    /// multiplication and one reduction mod n² (a reused scratch buffer, or Montgomery REDC through
    /// GMP's mpn layer, measured no reliable gain at 64 limbs).
    pub fn add_assign(&self, acc: &mut Ciphertext, c: &Ciphertext) {
        acc.0 *= &c.0;
        acc.0 %= &self.nn;
    }

    /// Homomorphic multiplication by a plaintext scalar k: Enc(a)^k decrypts to k·a mod n.
    /// Negative scalars are taken mod n (−1 ↦ n − 1), matching the signed fixed-point encoding.
    pub fn mul_plain(&self, c: &Ciphertext, k: &Integer) -> Ciphertext {
        let k = Integer::from(k.modulo_ref(&self.n));
        Ciphertext(Integer::from(
            c.0.pow_mod_ref(&k, &self.nn)
                .expect("non-negative exponent"),
        ))
    }

    /// Encoding: `version ‖ kind ‖ u16 n_len ‖ n (n_len bytes) ‖ h (n_len bytes)`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let len = self.n_len_bytes;
        let mut out = wire::header(kind::PUBLIC_KEY, 2 + 2 * len);
        out.extend_from_slice(&(len as u16).to_be_bytes());
        wire::put_integer(&mut out, &self.n, len);
        wire::put_integer(&mut out, &self.h, len);
        out
    }

    /// Decodes and validates a public key (size bounds, odd n, h ∈ Z*_n, canonical length).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PaillierError> {
        let mut r = Reader::open(bytes, kind::PUBLIC_KEY, "Paillier public key")?;
        let key = Self::read(&mut r)?;
        r.finish()?;
        Ok(key)
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, PaillierError> {
        let len = usize::from(r.u16()?);
        if len > wire::byte_len(MODULUS_SIZE_MAX_BITS) || len == 0 {
            return Err(r.malformed("modulus length field out of range"));
        }
        let n = r.integer(len)?;
        if wire::byte_len(n.significant_bits()) != len {
            return Err(r.malformed("modulus has leading zero bytes"));
        }
        let h = r.integer(len)?;
        Self::from_n_h(n, h)
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.n == other.n && self.h == other.h
    }
}
impl Eq for PublicKey {}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = self.n.to_string_radix(16);
        write!(
            f,
            "PublicKey({} bits, n=0x{}…)",
            self.modulus_bits(),
            &hex[..hex.len().min(16)]
        )
    }
}

impl Ciphertext {
    /// Encoding: `version ‖ kind ‖ c` with c big-endian in exactly 2·n_len bytes.
    /// Panics if the ciphertext belongs to a key with a larger modulus (a caller bug: every
    /// ciphertext is created or decoded under one key and must be encoded under the same key).
    pub fn to_bytes(&self, pk: &PublicKey) -> Vec<u8> {
        let len = 2 * pk.n_len_bytes;
        let mut out = wire::header(kind::CIPHERTEXT, len);
        wire::put_integer(&mut out, &self.0, len);
        out
    }

    /// Decodes a ciphertext under `pk`: rejects a wrong length, c = 0, c ≥ n² and gcd(c, n) ≠ 1
    /// (such a c would expose a factor of n and is not an encryption of anything).
    pub fn from_bytes(pk: &PublicKey, bytes: &[u8]) -> Result<Self, PaillierError> {
        let expected = 2 + 2 * pk.n_len_bytes;
        if bytes.len() != expected {
            return Err(PaillierError::WrongLength {
                what: "Paillier ciphertext",
                expected,
                found: bytes.len(),
            });
        }
        let mut r = Reader::open(bytes, kind::CIPHERTEXT, "Paillier ciphertext")?;
        let c = r.integer(2 * pk.n_len_bytes)?;
        r.finish()?;
        Self::from_integer(pk, c)
    }

    /// Validates a raw integer as a ciphertext under `pk`.
    pub fn from_integer(pk: &PublicKey, c: Integer) -> Result<Self, PaillierError> {
        if c.cmp0().is_le() || c >= pk.nn {
            return Err(PaillierError::CiphertextOutOfRange);
        }
        if Integer::from(c.gcd_ref(&pk.n)) != 1 {
            return Err(PaillierError::CiphertextNotUnit);
        }
        Ok(Self(c))
    }

    /// The ciphertext as an integer in (0, n²).
    pub fn as_integer(&self) -> &Integer {
        &self.0
    }
}

impl fmt::Debug for Ciphertext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = self.0.to_string_radix(16);
        write!(f, "Ciphertext(0x{}…)", &hex[..hex.len().min(16)])
    }
}

impl Plaintext {
    /// The residue in [0, n).
    pub fn as_integer(&self) -> &Integer {
        &self.0
    }
}

impl fmt::Debug for Plaintext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Plaintext(<redacted>)")
    }
}

impl Zeroize for Plaintext {
    fn zeroize(&mut self) {
        wipe(&mut self.0);
    }
}

impl Drop for Plaintext {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for Plaintext {}

impl SecretKey {
    /// Builds the key from its primes and the DJN base h ∈ Z*_n, precomputing the §7 CRT
    /// constants. Primality is the caller's responsibility ([`SecretKey::from_bytes`] checks it).
    pub fn from_primes(mut p: Integer, mut q: Integer, h: Integer) -> Result<Self, PaillierError> {
        let key = Self::precompute(&p, &q, h);
        wipe_all(&mut [&mut p, &mut q]);
        key
    }

    /// Every secret value lands in `Self` as soon as it exists, so an early error return drops
    /// (and wipes) it through `Drop`.
    fn precompute(p: &Integer, q: &Integer, h: Integer) -> Result<Self, PaillierError> {
        if p == q || *p < 3 || *q < 3 || p.significant_bits() != q.significant_bits() {
            return Err(PaillierError::InvalidKey {
                reason: "p and q must be distinct primes of equal length",
            });
        }
        let public = PublicKey::from_n_h(Integer::from(p * q), h)?;
        let mut key = Self {
            public,
            p: p.clone(),
            q: q.clone(),
            p_squared: Integer::from(p.square_ref()),
            q_squared: Integer::from(q.square_ref()),
            p_minus_1: Integer::from(p - 1u32),
            q_minus_1: Integer::from(q - 1u32),
            hp: Integer::new(),
            hq: Integer::new(),
            q_inv_p: Integer::new(),
        };
        key.hp = crt_constant(&key.public.n, &key.p, &key.p_squared, &key.p_minus_1)?;
        key.hq = crt_constant(&key.public.n, &key.q, &key.q_squared, &key.q_minus_1)?;
        key.q_inv_p =
            key.q
                .invert_ref(&key.p)
                .map(Integer::from)
                .ok_or(PaillierError::InvalidKey {
                    reason: "p and q must be coprime",
                })?;
        Ok(key)
    }

    /// The matching public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The secret factors (p, q): for handing the key to a threshold dealer or to another
    /// implementation in tests and benchmarks. Same exposure as [`SecretKey::to_bytes`].
    pub fn primes(&self) -> (&Integer, &Integer) {
        (&self.p, &self.q)
    }

    /// CRT decryption (Paillier 1999 §7): m_p = L_p(c^(p−1) mod p²)·h_p mod p, likewise m_q, then
    /// m = CRT(m_p, m_q). Two exponentiations with |p|-bit exponents modulo p² instead of one
    /// |n|-bit exponent modulo n². The exponents are secret, so GMP's side-channel-resistant
    /// `mpz_powm_sec` is used.
    pub fn decrypt(&self, c: &Ciphertext) -> Plaintext {
        let m_p = self.decrypt_mod_p(c);
        let m_q = self.decrypt_mod_q(c);
        self.recombine(m_p, m_q)
    }

    /// m mod p, the first CRT half of [`SecretKey::decrypt`].
    pub(super) fn decrypt_mod_p(&self, c: &Ciphertext) -> Integer {
        self.decrypt_mod_prime(&c.0, &self.p, &self.p_squared, &self.p_minus_1, &self.hp)
    }

    /// m mod q, the second CRT half of [`SecretKey::decrypt`].
    pub(super) fn decrypt_mod_q(&self, c: &Ciphertext) -> Integer {
        self.decrypt_mod_prime(&c.0, &self.q, &self.q_squared, &self.q_minus_1, &self.hq)
    }

    /// m from m mod p and m mod q; the halves are wiped like the plaintext they reveal.
    pub(super) fn recombine(&self, mut m_p: Integer, mut m_q: Integer) -> Plaintext {
        // Garner: m = m_q + q·((m_p − m_q)·q^(−1) mod p).
        let mut t = Integer::from(&m_p - &m_q);
        t *= &self.q_inv_p;
        t = t.modulo(&self.p);
        t *= &self.q;
        t += &m_q;
        wipe_all(&mut [&mut m_p, &mut m_q]);
        Plaintext(t)
    }

    fn decrypt_mod_prime(
        &self,
        c: &Integer,
        prime: &Integer,
        prime_squared: &Integer,
        prime_minus_1: &Integer,
        h: &Integer,
    ) -> Integer {
        let base = Integer::from(c % prime_squared);
        let x = secret_pow_mod(base, prime_minus_1, prime_squared);
        // L_p(x) = (x − 1)/p; exact for valid ciphertexts, and never panics for foreign ones.
        let mut l = x - 1u32;
        l /= prime;
        l *= h;
        l.modulo(prime)
    }

    /// Encoding: `version ‖ kind ‖ u16 prime_len ‖ p ‖ q ‖ h`. Secret: wipe the bytes after use.
    pub fn to_bytes(&self) -> zeroize::Zeroizing<Vec<u8>> {
        let prime_len = wire::byte_len(self.p.significant_bits());
        let n_len = self.public.n_len_bytes;
        let mut out = wire::header(kind::SECRET_KEY, 2 + 2 * prime_len + n_len);
        out.extend_from_slice(&(prime_len as u16).to_be_bytes());
        wire::put_integer(&mut out, &self.p, prime_len);
        wire::put_integer(&mut out, &self.q, prime_len);
        wire::put_integer(&mut out, &self.public.h, n_len);
        zeroize::Zeroizing::new(out)
    }

    /// Decodes a secret key and checks p and q are primes (Miller–Rabin) of equal length.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PaillierError> {
        let mut r = Reader::open(bytes, kind::SECRET_KEY, "Paillier secret key")?;
        let prime_len = usize::from(r.u16()?);
        if prime_len == 0 || prime_len > wire::byte_len(MODULUS_SIZE_MAX_BITS / 2) {
            return Err(r.malformed("prime length field out of range"));
        }
        let mut p = r.integer(prime_len)?;
        let mut q = r.integer(prime_len)?;
        let n_len = wire::byte_len(Integer::from(&p * &q).significant_bits());
        let h = r.integer(n_len)?;
        r.finish()?;
        let primes_ok = [&p, &q]
            .iter()
            .all(|x| x.is_probably_prime(PRIME_CHECK_ROUNDS) != IsPrime::No);
        if !primes_ok || wire::byte_len(p.significant_bits()) != prime_len {
            wipe_all(&mut [&mut p, &mut q]);
            return Err(PaillierError::InvalidKey {
                reason: "p and q must be primes without leading zero bytes",
            });
        }
        Self::from_primes(p, q, h)
    }
}

/// h_p = L_p(g^(p−1) mod p²)^(−1) mod p with g = n + 1 (Paillier 1999 §7).
fn crt_constant(
    n: &Integer,
    prime: &Integer,
    prime_squared: &Integer,
    prime_minus_1: &Integer,
) -> Result<Integer, PaillierError> {
    let g = Integer::from(n + 1u32);
    let x = Integer::from(
        g.pow_mod_ref(prime_minus_1, prime_squared)
            .expect("positive exponent"),
    );
    let l = (x - 1u32) / prime;
    l.invert(prime).map_err(|_| PaillierError::InvalidKey {
        reason: "gcd(n, φ(n)) ≠ 1: p − 1 and q must be coprime (use safe primes)",
    })
}

/// `base^exponent mod modulus` through `mpz_powm_sec` (constant time in the exponent's value for a
/// given size). GMP requires a positive exponent and an odd modulus.
pub(crate) fn secret_pow_mod(base: Integer, exponent: &Integer, modulus: &Integer) -> Integer {
    assert!(
        modulus.is_odd(),
        "secure exponentiation needs an odd modulus"
    );
    if exponent.cmp0().is_eq() {
        return Integer::from(1);
    }
    base.secure_pow_mod(exponent, modulus)
}

impl Zeroize for SecretKey {
    fn zeroize(&mut self) {
        wipe_all(&mut [
            &mut self.p,
            &mut self.q,
            &mut self.p_squared,
            &mut self.q_squared,
            &mut self.p_minus_1,
            &mut self.q_minus_1,
            &mut self.hp,
            &mut self.hq,
            &mut self.q_inv_p,
        ]);
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
        write!(f, "SecretKey(<redacted>, public: {:?})", self.public)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn committed_key() -> SecretKey {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/vectors/paillier_kat.json")).unwrap();
        let int = |k: &str| Integer::from_str_radix(&v[k].as_str().unwrap()[2..], 16).unwrap();
        SecretKey::from_primes(int("p"), int("q"), int("h")).unwrap()
    }

    #[test]
    fn zeroize_clears_every_secret_field_of_the_secret_key() {
        let mut sk = committed_key();
        sk.zeroize();
        let fields = [
            &sk.p,
            &sk.q,
            &sk.p_squared,
            &sk.q_squared,
            &sk.p_minus_1,
            &sk.q_minus_1,
            &sk.hp,
            &sk.hq,
            &sk.q_inv_p,
        ];
        assert!(fields.iter().all(|x| x.cmp0().is_eq()));
    }

    #[test]
    fn zeroize_clears_a_plaintext() {
        let sk = committed_key();
        let mut m = sk.public_key().plaintext(&Integer::from(4242)).unwrap();
        m.zeroize();
        assert_eq!(*m.as_integer(), 0);
    }
}
