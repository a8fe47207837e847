//! Domain-separated hashes of the bLSAG scheme (ZtM2 §3.4: `H_p` to points, `H_n` to scalars),
//! both SHA-512 based. Every variable-length input is length-prefixed (u64 big-endian) so no two
//! different inputs share an encoding.
//!
//! * key-image base `H_p(context, K) = from_uniform_bytes(SHA-512(len‖DST_BASE ‖ len‖context ‖ K))`
//! * challenge `H_n(prefix, L, R) = SHA-512(len‖DST_CHALLENGE ‖ len‖context ‖ n ‖ K_0…K_{n-1} ‖
//!   key image ‖ len‖message ‖ L ‖ R) mod ℓ`: the ring, key image, context and message are bound.

use curve25519_dalek::{
    ristretto::{CompressedRistretto, RistrettoPoint},
    scalar::Scalar,
};
use sha2_11::{Digest, Sha512};

use super::{KeyImage, Ring};

/// Domain tag of the per-context key-image base point.
pub const DST_KEY_IMAGE_BASE: &[u8] = b"medchain/ring/bLSAG-ristretto255/v1/key-image-base";
/// Domain tag of the ring challenges.
pub const DST_CHALLENGE: &[u8] = b"medchain/ring/bLSAG-ristretto255/v1/challenge";

fn absorb(hasher: &mut Sha512, bytes: &[u8]) {
    hasher.update((bytes.len() as u64).to_be_bytes());
    hasher.update(bytes);
}

/// `H_p(context ‖ K)`: the base point of member `K`'s key image in this context.
pub fn key_image_base(context: &[u8], member: &CompressedRistretto) -> RistrettoPoint {
    let mut hasher = Sha512::new();
    absorb(&mut hasher, DST_KEY_IMAGE_BASE);
    absorb(&mut hasher, context);
    hasher.update(member.as_bytes());
    let digest: [u8; 64] = hasher.finalize().into();
    RistrettoPoint::from_uniform_bytes(&digest)
}

/// The hash state after absorbing everything a signature binds; each challenge clones it.
#[derive(Clone)]
pub struct Transcript {
    prefix: Sha512,
}

impl Transcript {
    pub fn new(context: &[u8], ring: &Ring, key_image: &KeyImage, message: &[u8]) -> Self {
        let mut prefix = Sha512::new();
        absorb(&mut prefix, DST_CHALLENGE);
        absorb(&mut prefix, context);
        prefix.update((ring.len() as u64).to_be_bytes());
        for member in ring.members() {
            prefix.update(member.compressed().as_bytes());
        }
        prefix.update(key_image.to_bytes());
        absorb(&mut prefix, message);
        Self { prefix }
    }

    /// `H_n(prefix ‖ L ‖ R)`.
    pub fn challenge(&self, l: &RistrettoPoint, r: &RistrettoPoint) -> Scalar {
        let mut hasher = self.prefix.clone();
        hasher.update(l.compress().as_bytes());
        hasher.update(r.compress().as_bytes());
        let digest: [u8; 64] = hasher.finalize().into();
        Scalar::from_bytes_mod_order_wide(&digest)
    }
}
