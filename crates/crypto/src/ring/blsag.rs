//! bLSAG signing and verification (Zero to Monero 2nd ed. §3.4, "Back's Linkable Spontaneous
//! Anonymous Group signatures"), with the per-context key image of the module doc.
//!
//! Signing walks the ring starting at the signer. To keep the signer's position out of memory
//! access patterns and operation timing, the ring is first rotated by the secret position with
//! a constant-time barrel shifter, the walk then always starts at index 0 of the rotated ring,
//! every step uses constant-time scalar multiplication, and the results are rotated back.

use curve25519_dalek::{
    ristretto::{RistrettoPoint, VartimeRistrettoPrecomputation},
    scalar::Scalar,
    traits::{MultiscalarMul, VartimePrecomputedMultiscalarMul},
};
use rand_core::CryptoRng;
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroizing;

use super::hashing::{Transcript, key_image_base};
use super::{CONTEXT_SIZE_MAX_BYTES, KeyImage, Ring, RingError, RingSecretKey, RingSignature};

fn check_context(context: &[u8]) -> Result<(), RingError> {
    if context.len() > CONTEXT_SIZE_MAX_BYTES {
        return Err(RingError::ContextTooLarge {
            got_bytes: context.len(),
        });
    }
    Ok(())
}

/// Rotates `items` left by the secret `shift` (< len): `items[j]` becomes `items[(j+shift) % n]`.
/// One conditional-select pass per bit of `shift`, so access pattern and time depend on `n` only.
fn rotate_left_ct<T: ConditionallySelectable>(items: &mut [T], shift: u64) {
    let n = items.len();
    let mut scratch = items.to_vec();
    let mut bit = 0;
    while bit < 64 && (1u64 << bit) < n as u64 {
        let step = ((1u64 << bit) % n as u64) as usize;
        let take = Choice::from(((shift >> bit) & 1) as u8);
        scratch.copy_from_slice(items);
        for (j, item) in items.iter_mut().enumerate() {
            *item = T::conditional_select(&scratch[j], &scratch[(j + step) % n], take);
        }
        bit += 1;
    }
}

/// The signer's index, found without branching on which member matches.
fn locate_signer(ring: &Ring, secret: &RingSecretKey) -> Result<u64, RingError> {
    let own = secret.public_key();
    let mut position = 0u64;
    let mut found = Choice::from(0);
    for (index, member) in ring.members().iter().enumerate() {
        let hit = member
            .compressed()
            .as_bytes()
            .ct_eq(own.compressed().as_bytes());
        position.conditional_assign(&(index as u64), hit);
        found |= hit;
    }
    // Whether the key is in the ring is not secret from the signer, only where it is.
    if !bool::from(found) {
        return Err(RingError::SignerNotInRing);
    }
    Ok(position)
}

/// Signs `message` in `context` as an anonymous member of `ring`.
pub fn sign(
    rng: &mut impl CryptoRng,
    secret: &RingSecretKey,
    ring: &Ring,
    context: &[u8],
    message: &[u8],
) -> Result<RingSignature, RingError> {
    check_context(context)?;
    let n = ring.len();
    let position = locate_signer(ring, secret)?;
    let mut members: Vec<RistrettoPoint> = ring.members().iter().map(|m| *m.point()).collect();
    let mut bases: Vec<RistrettoPoint> = ring
        .members()
        .iter()
        .map(|m| key_image_base(context, m.compressed()))
        .collect();
    rotate_left_ct(&mut members, position);
    rotate_left_ct(&mut bases, position);

    let key_image = KeyImage::from_point(secret.scalar() * bases[0]);
    let transcript = Transcript::new(context, ring, &key_image, message);
    let alpha = Zeroizing::new(Scalar::random(rng));
    let mut responses: Vec<Scalar> = (0..n)
        .map(|j| {
            if j == 0 {
                Scalar::ZERO
            } else {
                Scalar::random(rng)
            }
        })
        .collect();
    let mut challenges = vec![Scalar::ZERO; n];

    let mut challenge =
        transcript.challenge(&RistrettoPoint::mul_base(&alpha), &(*alpha * bases[0]));
    for j in 1..n {
        challenges[j] = challenge;
        let l = RistrettoPoint::mul_base(&responses[j]) + challenge * members[j];
        let r = RistrettoPoint::multiscalar_mul(
            [responses[j], challenge],
            [bases[j], *key_image.point()],
        );
        challenge = transcript.challenge(&l, &r);
    }
    challenges[0] = challenge;
    responses[0] = *alpha - challenge * secret.scalar();

    let back = (n as u64) - position;
    let back = u64::conditional_select(&back, &0, position.ct_eq(&0));
    rotate_left_ct(&mut challenges, back);
    rotate_left_ct(&mut responses, back);
    Ok(RingSignature {
        key_image,
        challenge: challenges[0],
        responses,
    })
}

/// The key image `secret` has in `context`: what every signature it makes there carries. A
/// study contributor needs it before signing, to bind its range proof to it.
pub fn key_image(secret: &RingSecretKey, context: &[u8]) -> Result<KeyImage, RingError> {
    check_context(context)?;
    let base = key_image_base(context, secret.public_key().compressed());
    Ok(KeyImage::from_point(secret.scalar() * base))
}

/// A ring with its key-image base points for one context computed once. A study verifies
/// every contribution against the same ring and context, so this saves a hash-to-point per
/// member per signature.
#[derive(Clone, Debug)]
pub struct PreparedRing {
    ring: Ring,
    context: Vec<u8>,
    bases: Vec<RistrettoPoint>,
}

impl PreparedRing {
    pub fn new(ring: Ring, context: &[u8]) -> Result<Self, RingError> {
        check_context(context)?;
        let bases = ring
            .members()
            .iter()
            .map(|m| key_image_base(context, m.compressed()))
            .collect();
        Ok(Self {
            ring,
            context: context.to_vec(),
            bases,
        })
    }

    pub fn ring(&self) -> &Ring {
        &self.ring
    }

    /// Verifies `signature` on `message`. Everything here is public, so it uses variable-time
    /// arithmetic.
    pub fn verify(&self, message: &[u8], signature: &RingSignature) -> Result<(), RingError> {
        let ring = &self.ring;
        if signature.responses.len() != ring.len() {
            return Err(RingError::RingSizeMismatch {
                ring: ring.len(),
                signature: signature.responses.len(),
            });
        }
        let transcript = Transcript::new(&self.context, ring, &signature.key_image, message);
        // The key image takes part in every member's `R`: one table for it serves the ring.
        let image = VartimeRistrettoPrecomputation::new([*signature.key_image.point()]);
        let mut challenge = signature.challenge;
        let steps = ring
            .members()
            .iter()
            .zip(&self.bases)
            .zip(&signature.responses);
        for ((member, base), response) in steps {
            let l = RistrettoPoint::vartime_double_scalar_mul_basepoint(
                &challenge,
                member.point(),
                response,
            );
            let r = image.vartime_mixed_multiscalar_mul([challenge], [*response], [*base]);
            challenge = transcript.challenge(&l, &r);
        }
        if bool::from(challenge.ct_eq(&signature.challenge)) {
            Ok(())
        } else {
            Err(RingError::InvalidSignature)
        }
    }
}

/// Key-image base points of one context, remembered across rings: a study's contributions are
/// signed over different rings drawn from the same eligible pseudonyms, so each member's base is
/// hashed once per study instead of once per signature (a tenth of a 64-member verification).
#[derive(Clone, Debug)]
pub struct KeyImageBases {
    context: Vec<u8>,
    bases: std::collections::HashMap<[u8; 32], RistrettoPoint>,
}

impl KeyImageBases {
    /// Most bases remembered (about 200 bytes each): a full cache starts over.
    pub const ENTRIES_MAX: usize = 32_768;

    pub fn new(context: &[u8]) -> Result<Self, RingError> {
        check_context(context)?;
        Ok(Self {
            context: context.to_vec(),
            bases: std::collections::HashMap::new(),
        })
    }

    /// `ring` prepared in this context, hashing only the members not seen before.
    pub fn prepare(&mut self, ring: Ring) -> PreparedRing {
        if self.bases.len() + ring.len() > Self::ENTRIES_MAX {
            self.bases.clear();
        }
        let context = &self.context;
        let bases = ring
            .members()
            .iter()
            .map(|member| {
                *self
                    .bases
                    .entry(member.to_bytes())
                    .or_insert_with(|| key_image_base(context, member.compressed()))
            })
            .collect();
        PreparedRing {
            ring,
            context: context.clone(),
            bases,
        }
    }
}

/// Verifies `signature` on `message` in `context` against `ring` (see [`PreparedRing`] to
/// verify many signatures against one ring).
pub fn verify(
    ring: &Ring,
    context: &[u8],
    message: &[u8],
    signature: &RingSignature,
) -> Result<(), RingError> {
    check_context(context)?;
    if signature.responses.len() != ring.len() {
        return Err(RingError::RingSizeMismatch {
            ring: ring.len(),
            signature: signature.responses.len(),
        });
    }
    PreparedRing::new(ring.clone(), context)?.verify(message, signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_image_is_known_before_signing_and_matches_the_signature() {
        let mut rng = crate::rng::seeded_u64(31);
        let keys: Vec<RingSecretKey> = (0..5).map(|_| RingSecretKey::generate(&mut rng)).collect();
        let ring = Ring::new(keys.iter().map(RingSecretKey::public_key).collect()).unwrap();
        let image = key_image(&keys[3], b"study:7").unwrap();
        let signature = sign(&mut rng, &keys[3], &ring, b"study:7", b"m").unwrap();
        assert_eq!(*signature.key_image(), image);
        assert_ne!(key_image(&keys[3], b"study:8").unwrap(), image);
        assert_eq!(
            key_image(&keys[3], &[0u8; CONTEXT_SIZE_MAX_BYTES + 1]),
            Err(RingError::ContextTooLarge {
                got_bytes: CONTEXT_SIZE_MAX_BYTES + 1
            })
        );
    }

    #[test]
    fn a_ring_prepared_from_remembered_bases_verifies_like_a_fresh_one() {
        let mut rng = crate::rng::seeded_u64(5);
        let secrets: Vec<RingSecretKey> =
            (0..6).map(|_| RingSecretKey::generate(&mut rng)).collect();
        let publics: Vec<_> = secrets.iter().map(RingSecretKey::public_key).collect();
        let mut bases = KeyImageBases::new(b"study:a").unwrap();
        for (members, signer) in [(0..4, 1), (2..6, 3), (0..6, 5)] {
            let ring = Ring::new(publics[members].to_vec()).unwrap();
            let signature = sign(&mut rng, &secrets[signer], &ring, b"study:a", b"m").unwrap();
            let prepared = bases.prepare(ring.clone());
            assert_eq!(prepared.verify(b"m", &signature), Ok(()));
            assert_eq!(verify(&ring, b"study:a", b"m", &signature), Ok(()));
            assert_eq!(
                prepared.verify(b"other", &signature),
                Err(RingError::InvalidSignature)
            );
        }
        assert_eq!(bases.bases.len(), 6, "each member hashed once");
        let mut other = KeyImageBases::new(b"study:b").unwrap();
        let ring = Ring::new(publics[..4].to_vec()).unwrap();
        let signature = sign(&mut rng, &secrets[0], &ring, b"study:a", b"m").unwrap();
        assert_eq!(
            other.prepare(ring).verify(b"m", &signature),
            Err(RingError::InvalidSignature),
            "bases of another context do not verify this one's signature"
        );
    }

    #[test]
    fn rotation_matches_plain_rotation_for_every_shift() {
        for n in 1..=13u64 {
            for shift in 0..n {
                let mut items: Vec<u64> = (0..n).collect();
                rotate_left_ct(&mut items, shift);
                let expected: Vec<u64> = (0..n).map(|j| (j + shift) % n).collect();
                assert_eq!(items, expected, "n={n} shift={shift}");
            }
        }
    }
}
