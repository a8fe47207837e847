//! The Umbral KEM (Nuñez 2018, §3 "The Umbral PRE cryptosystem": Encapsulate, Decapsulate,
//! Combine), with the capsule check and the checked threshold opening of umbral-pre 0.11.0
//! (notes A.4): a capsule (E, V, s) carries a key seed to a public key A; A's owner opens it
//! directly, a grantee opens it from any t verified capsule fragments.

use k256::elliptic_curve::ops::{LinearCombination, MulByGeneratorVartime};
use k256::{ProjectivePoint, Scalar};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::cfrag::VerifiedCapsuleFrag;
use super::dem::KeySeed;
use super::group::{
    POINT_SIZE_BYTES, Point, SCALAR_SIZE_BYTES, ScalarHash, invert_nonzero, random_nonzero_scalar,
    scalar_from_bytes, scalar_to_bytes,
};
use super::keys::{PublicKey, SecretKey};
use super::wire::{Reader, Writer};
use super::{KFRAG_SHARES_MAX_COUNT, UmbralError};

pub const CAPSULE_SIZE_BYTES: usize = 105;
/// E || V || s: the DEM's associated data.
pub const CAPSULE_SIMPLE_SIZE_BYTES: usize = 2 * POINT_SIZE_BYTES + SCALAR_SIZE_BYTES;

const DST_CAPSULE_POINTS: &[u8] = b"CAPSULE_POINTS";
pub(crate) const DST_SHARED_SECRET: &[u8] = b"SHARED_SECRET";
pub(crate) const DST_POLYNOMIAL_ARG: &[u8] = b"POLYNOMIAL_ARG";

/// An encapsulated key seed. Every `Capsule` value passed the check `s·g = V + h·E`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Capsule {
    pub(crate) e: Point,
    pub(crate) v: Point,
    s: Scalar,
}

impl Capsule {
    fn checked(e: Point, v: Point, s: Scalar) -> Result<Self, UmbralError> {
        // s·g − h·E = V; all public, so the faster variable-time double multiplication is fine.
        let h = capsule_hash(&e, &v);
        let lhs = ProjectivePoint::mul_by_generator_and_mul_add_vartime(&s, &-h, &e.point);
        if lhs != v.point {
            return Err(UmbralError::CapsuleCheckFailed);
        }
        Ok(Self { e, v, s })
    }

    /// msgpack `[E, V, s]`, 105 bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut writer = Writer::with_capacity(CAPSULE_SIZE_BYTES);
        writer.array(3);
        writer.bin(&self.e.bytes);
        writer.bin(&self.v.bytes);
        writer.bin(&scalar_to_bytes(&self.s));
        writer.finish()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, UmbralError> {
        let mut reader = Reader::new(bytes, "capsule");
        reader.array(3)?;
        let e = Point::from_bytes(reader.bin(POINT_SIZE_BYTES)?, "capsule point E")?;
        let v = Point::from_bytes(reader.bin(POINT_SIZE_BYTES)?, "capsule point V")?;
        let s = scalar_from_bytes(reader.bin(SCALAR_SIZE_BYTES)?, "capsule signature s")?;
        reader.finish()?;
        Self::checked(e, v, s)
    }

    /// E || V || s (98 bytes), the associated data that binds a DEM ciphertext to its capsule.
    pub fn to_bytes_simple(&self) -> [u8; CAPSULE_SIMPLE_SIZE_BYTES] {
        let mut bytes = [0u8; CAPSULE_SIMPLE_SIZE_BYTES];
        bytes[..POINT_SIZE_BYTES].copy_from_slice(&self.e.bytes);
        bytes[POINT_SIZE_BYTES..2 * POINT_SIZE_BYTES].copy_from_slice(&self.v.bytes);
        bytes[2 * POINT_SIZE_BYTES..].copy_from_slice(&scalar_to_bytes(&self.s));
        bytes
    }
}

fn capsule_hash(e: &Point, v: &Point) -> Scalar {
    ScalarHash::new(DST_CAPSULE_POINTS)
        .point(e)
        .point(v)
        .finalize()
}

fn key_seed_of(point: ProjectivePoint) -> Result<KeySeed, UmbralError> {
    Ok(KeySeed::new(Point::new(point, "shared key point")?.bytes))
}

/// Encapsulates a fresh key seed to `delegating_pk`: E = r·g, V = u·g, s = u + r·h,
/// seed = (r + u)·A.
pub fn encapsulate<R: CryptoRng + ?Sized>(
    rng: &mut R,
    delegating_pk: &PublicKey,
) -> Result<(Capsule, KeySeed), UmbralError> {
    let r = Zeroizing::new(random_nonzero_scalar(rng));
    let u = Zeroizing::new(random_nonzero_scalar(rng));
    let [e, v] = Point::new_batch(
        [
            ProjectivePoint::mul_by_generator(&r),
            ProjectivePoint::mul_by_generator(&u),
        ],
        ["capsule point E", "capsule point V"],
    )?;
    let s = *u + *r * capsule_hash(&e, &v);
    let r_plus_u = Zeroizing::new(*r + *u);
    let seed = key_seed_of(delegating_pk.point().point * *r_plus_u)?;
    Ok((Capsule { e, v, s }, seed))
}

/// The delegator opens its own capsule: seed = a·(E + V).
pub fn decapsulate_original(
    delegating_sk: &SecretKey,
    capsule: &Capsule,
) -> Result<KeySeed, UmbralError> {
    key_seed_of((capsule.e.point + capsule.v.point) * delegating_sk.scalar())
}

/// The receiver opens a re-encrypted capsule from verified fragments of one grant. With fewer
/// than t fragments the combination is a wrong point and the capsule consistency check fails.
pub fn decapsulate_reencrypted(
    receiving_sk: &SecretKey,
    delegating_pk: &PublicKey,
    capsule: &Capsule,
    cfrags: &[VerifiedCapsuleFrag],
) -> Result<KeySeed, UmbralError> {
    let first = cfrags.first().ok_or(UmbralError::NoCapsuleFrags)?;
    if cfrags.len() > KFRAG_SHARES_MAX_COUNT {
        return Err(UmbralError::TooManyCapsuleFrags {
            count: cfrags.len(),
            max_count: KFRAG_SHARES_MAX_COUNT,
        });
    }
    let precursor = first.precursor();
    if cfrags.iter().any(|cfrag| cfrag.precursor() != precursor) {
        return Err(UmbralError::MismatchedCapsuleFrags);
    }
    let (e_prime, v_prime, d) = combine(receiving_sk, precursor, cfrags)?;
    // E' = (a/d)·E and V' = (a/d)·V exactly when the fragments combine correctly, and then
    // (s/d)·A = h·E' + V' follows from s·g = V + h·E.
    let h = capsule_hash(&capsule.e, &capsule.v);
    let lhs = delegating_pk.point().point * (capsule.s * invert_nonzero(&d));
    if lhs != e_prime * h + v_prime {
        return Err(UmbralError::ReencryptedKeyCheckFailed {
            cfrags_count: cfrags.len(),
        });
    }
    key_seed_of((e_prime + v_prime) * *d)
}

/// Lagrange-combines the fragments at zero: (E', V') = Σ λ_i·(E1_i, V1_i), with the share
/// indices x_i and the secret d rederived from the receiver's DH with the precursor.
fn combine(
    receiving_sk: &SecretKey,
    precursor: &Point,
    cfrags: &[VerifiedCapsuleFrag],
) -> Result<(ProjectivePoint, ProjectivePoint, Zeroizing<Scalar>), UmbralError> {
    let receiving_pk = receiving_sk.public_key();
    let dh_point = Point::new(precursor.point * receiving_sk.scalar(), "receiver DH point")?;
    let hash = |dst| {
        ScalarHash::new(dst)
            .point(precursor)
            .point(receiving_pk.point())
            .point(&dh_point)
    };
    let share_indices: Vec<Scalar> = cfrags
        .iter()
        .map(|cfrag| hash(DST_POLYNOMIAL_ARG).chain(cfrag.kfrag_id()).finalize())
        .collect();
    let lambdas = lagrange_at_zero(&share_indices)?;
    let terms = |pick: fn(&VerifiedCapsuleFrag) -> &Point| -> Vec<(ProjectivePoint, Scalar)> {
        cfrags
            .iter()
            .zip(&lambdas)
            .map(|(cfrag, lambda)| (pick(cfrag).point, *lambda))
            .collect()
    };
    let e_prime = ProjectivePoint::lincomb(terms(VerifiedCapsuleFrag::e1).as_slice());
    let v_prime = ProjectivePoint::lincomb(terms(VerifiedCapsuleFrag::v1).as_slice());
    let d = Zeroizing::new(hash(DST_SHARED_SECRET).finalize());
    Ok((e_prime, v_prime, d))
}

/// λ_i = Π_{j≠i} x_j / (x_j − x_i), with one inversion for all denominators.
fn lagrange_at_zero(xs: &[Scalar]) -> Result<Vec<Scalar>, UmbralError> {
    let mut numerators = Vec::with_capacity(xs.len());
    let mut denominators = Vec::with_capacity(xs.len());
    for (i, x_i) in xs.iter().enumerate() {
        let mut numerator = Scalar::ONE;
        let mut denominator = Scalar::ONE;
        for (j, x_j) in xs.iter().enumerate() {
            if i != j {
                numerator *= x_j;
                denominator *= *x_j - x_i;
            }
        }
        if bool::from(denominator.is_zero()) {
            return Err(UmbralError::RepeatedCapsuleFrags);
        }
        numerators.push(numerator);
        denominators.push(denominator);
    }
    // Montgomery's trick: prefix products, one inversion, then walk back.
    let mut prefix = Vec::with_capacity(denominators.len());
    let mut running = Scalar::ONE;
    for denominator in &denominators {
        prefix.push(running);
        running *= denominator;
    }
    let mut inverse = invert_nonzero(&running);
    let mut lambdas = vec![Scalar::ZERO; xs.len()];
    for i in (0..xs.len()).rev() {
        lambdas[i] = numerators[i] * inverse * prefix[i];
        inverse *= denominators[i];
    }
    Ok(lambdas)
}
