//! Proofs of possession for the keys a member, validator or pseudonym registers on the ledger:
//! a signature by each key over the message the ledger names (chain, account, key kind, key).
//!
//! - Umbral PRE key (secp256k1): ECDSA-SHA256 with Umbral's own [`Signer`](crate::umbral::Signer).
//! - X25519 encryption key: X25519 is a Diffie–Hellman key and cannot sign as such, and no
//!   message to a verifier can prove possession non-interactively (the verifiers are every node,
//!   holding no secret). XEdDSA (T. Perrin, "The XEdDSA and VXEdDSA Signature Schemes", Signal,
//!   rev. 1, 2016-10-20, §2.3 `calculate_key_pair`, §4.1 `xeddsa_sign`/`xeddsa_verify`) signs with
//!   the same secret scalar on the birationally equivalent Edwards curve: the public Edwards key is
//!   the Montgomery `u` mapped with sign bit 0, and the secret is negated when its Edwards point
//!   has sign bit 1. A valid signature therefore shows knowledge of the discrete log of `u`.
//!   The arithmetic is curve25519-dalek's; this module only follows the specification's steps.

use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::montgomery::MontgomeryPoint;
use curve25519_dalek::scalar::{Scalar, clamp_integer};
use rand_core::CryptoRng;
use sha2_11::{Digest, Sha512};
use zeroize::Zeroizing;

use super::hpke::{EncryptionPublicKey, EncryptionSecretKey};
use crate::umbral;

/// Every proof is 64 bytes: XEdDSA `R ‖ s`, ECDSA `r ‖ s`.
pub const PROOF_SIZE_BYTES: usize = 64;
/// XEdDSA's random input `Z` (§4.1: 64 bytes of secure randomness).
const XEDDSA_NONCE_SIZE_BYTES: usize = 64;
/// `hash_1`'s prefix (§2.5): the 32-byte little-endian encoding of 2^256 − 1 − 1.
const HASH1_PREFIX: [u8; 32] = {
    let mut prefix = [0xff; 32];
    prefix[0] = 0xfe;
    prefix
};

/// XEdDSA signature by the X25519 secret `secret` over `message`.
pub fn prove_encryption_key(
    secret: &EncryptionSecretKey,
    rng: &mut impl CryptoRng,
    message: &[u8],
) -> [u8; PROOF_SIZE_BYTES] {
    // calculate_key_pair(k): E = kB; A = E with sign bit 0; a = −k if E's sign bit was 1.
    let k = Zeroizing::new(Scalar::from_bytes_mod_order(clamp_integer(
        *secret.to_bytes(),
    )));
    let e = EdwardsPoint::mul_base(&k).compress().to_bytes();
    let a = Zeroizing::new(if e[31] & 0x80 != 0 { -*k } else { *k });
    let mut a_public = e;
    a_public[31] &= 0x7f;
    let mut z = Zeroizing::new([0u8; XEDDSA_NONCE_SIZE_BYTES]);
    rng.fill_bytes(&mut *z);
    // r = hash_1(a ‖ M ‖ Z); R = rB; h = hash(R ‖ A ‖ M); s = r + h·a.
    let r = Zeroizing::new(Scalar::from_hash(
        Sha512::new()
            .chain_update(HASH1_PREFIX)
            .chain_update(a.as_bytes())
            .chain_update(message)
            .chain_update(z.as_slice()),
    ));
    let r_public = EdwardsPoint::mul_base(&r).compress().to_bytes();
    let h = challenge(&r_public, &a_public, message);
    let s = *r + h * *a;
    let mut proof = [0u8; PROOF_SIZE_BYTES];
    proof[..32].copy_from_slice(&r_public);
    proof[32..].copy_from_slice(s.as_bytes());
    proof
}

/// True if `proof` is an XEdDSA signature over `message` by the holder of `public`.
/// `public` decoded through [`EncryptionPublicKey::from_bytes`], so `u` is canonical and of
/// large order, as §4.1 requires.
pub fn verify_encryption_key(
    public: &EncryptionPublicKey,
    message: &[u8],
    proof: &[u8; PROOF_SIZE_BYTES],
) -> bool {
    let Some(a_point) = MontgomeryPoint(public.to_bytes()).to_edwards(0) else {
        return false;
    };
    let mut r_public = [0u8; 32];
    r_public.copy_from_slice(&proof[..32]);
    let mut s_bytes = [0u8; 32];
    s_bytes.copy_from_slice(&proof[32..]);
    let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes)) else {
        return false;
    };
    let h = challenge(&r_public, &a_point.compress().to_bytes(), message);
    // Rcheck = sB − hA, compared as canonical bytes (a non-canonical R never matches).
    let r_check = EdwardsPoint::vartime_double_scalar_mul_basepoint(&-h, &a_point, &s);
    r_check.compress().to_bytes() == r_public
}

fn challenge(r_public: &[u8; 32], a_public: &[u8; 32], message: &[u8]) -> Scalar {
    Scalar::from_hash(
        Sha512::new()
            .chain_update(r_public)
            .chain_update(a_public)
            .chain_update(message),
    )
}

/// ECDSA signature by the Umbral secret `secret` over `message`.
pub fn prove_pre_key(secret: &umbral::SecretKey, message: &[u8]) -> [u8; PROOF_SIZE_BYTES] {
    umbral::Signer::new(secret).sign(message).to_be_bytes()
}

/// True if `proof` is a low-S ECDSA signature over `message` by the compressed secp256k1
/// point `public` (false as well if `public` is not a point).
pub fn verify_pre_key(public: &[u8; 33], message: &[u8], proof: &[u8; PROOF_SIZE_BYTES]) -> bool {
    let Ok(key) = umbral::PublicKey::from_compressed_bytes(public) else {
        return false;
    };
    let Ok(signature) = umbral::Signature::from_be_bytes(proof) else {
        return false;
    };
    signature.verify(&key, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::seeded_u64;

    #[test]
    fn xeddsa_proof_verifies_for_its_key_and_message_only() {
        for seed in 0..32u64 {
            let mut rng = seeded_u64(seed);
            let (secret, public) = EncryptionSecretKey::generate(&mut rng);
            let proof = prove_encryption_key(&secret, &mut rng, b"message");
            assert!(
                verify_encryption_key(&public, b"message", &proof),
                "seed {seed}"
            );
            assert!(
                !verify_encryption_key(&public, b"other", &proof),
                "seed {seed}"
            );
            let (_, stranger) = EncryptionSecretKey::generate(&mut rng);
            assert!(
                !verify_encryption_key(&stranger, b"message", &proof),
                "seed {seed}"
            );
        }
    }

    /// XEdDSA's point (§4.1): its signature is an RFC 8032 Ed25519 signature under the Edwards
    /// form of the X25519 key, so an independent Ed25519 verifier (commonware's) accepts it.
    #[test]
    fn xeddsa_proof_is_an_ed25519_signature_under_the_mapped_key() {
        use commonware_codec::DecodeExt as _;
        use commonware_cryptography::{Verifier as _, ed25519};
        for seed in 0..16u64 {
            let mut rng = seeded_u64(100 + seed);
            let (secret, public) = EncryptionSecretKey::generate(&mut rng);
            // commonware signs namespace-prefixed messages: varint length, namespace, message.
            let mut prefixed = vec![6u8];
            prefixed.extend_from_slice(b"xeddsa");
            prefixed.extend_from_slice(b"message");
            let proof = prove_encryption_key(&secret, &mut rng, &prefixed);
            let edwards = MontgomeryPoint(public.to_bytes())
                .to_edwards(0)
                .unwrap()
                .compress()
                .to_bytes();
            let key = ed25519::PublicKey::decode(commonware_codec::Copying(&edwards[..])).unwrap();
            let signature =
                ed25519::Signature::decode(commonware_codec::Copying(&proof[..])).unwrap();
            assert!(key.verify(b"xeddsa", b"message", &signature), "seed {seed}");
        }
    }

    #[test]
    fn xeddsa_proof_with_a_flipped_bit_is_refused() {
        let mut rng = seeded_u64(7);
        let (secret, public) = EncryptionSecretKey::generate(&mut rng);
        let proof = prove_encryption_key(&secret, &mut rng, b"m");
        for bit in [0usize, 100, 255, 256, 300, 511] {
            let mut bad = proof;
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(!verify_encryption_key(&public, b"m", &bad), "bit {bit}");
        }
    }

    #[test]
    fn xeddsa_proof_with_unreduced_s_is_refused() {
        let mut rng = seeded_u64(8);
        let (secret, public) = EncryptionSecretKey::generate(&mut rng);
        let mut proof = prove_encryption_key(&secret, &mut rng, b"m");
        // s + l is the same scalar mod l but not canonical: a malleated copy.
        // l = 2^252 + 27742317777372353535851937790883648493, little-endian.
        let mut l = [0u8; 32];
        hex_to(
            &mut l,
            "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010",
        );
        let mut carry = 0u16;
        for i in 0..32 {
            let sum = proof[32 + i] as u16 + l[i] as u16 + carry;
            proof[32 + i] = sum as u8;
            carry = sum >> 8;
        }
        assert!(!verify_encryption_key(&public, b"m", &proof));
    }

    fn hex_to(out: &mut [u8; 32], text: &str) {
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap();
        }
    }

    #[test]
    fn pre_key_proof_verifies_for_its_key_and_message_only() {
        let mut rng = seeded_u64(9);
        let secret = umbral::SecretKey::random(&mut rng);
        let public = secret.public_key().to_compressed_bytes();
        let proof = prove_pre_key(&secret, b"message");
        assert!(verify_pre_key(&public, b"message", &proof));
        assert!(!verify_pre_key(&public, b"other", &proof));
        let stranger = umbral::SecretKey::random(&mut rng)
            .public_key()
            .to_compressed_bytes();
        assert!(!verify_pre_key(&stranger, b"message", &proof));
        assert!(!verify_pre_key(&[0u8; 33], b"message", &proof));
    }
}
