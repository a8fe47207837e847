//! Exponential (lifted) ElGamal in BLS12-381 G1: `Enc(m; r) = (rG, mG + rPK)`. Adding two
//! ciphertexts adds the plaintexts, so the ledger sums contributions without decrypting them;
//! decryption yields `mG`, from which a bounded `m` is recovered by [`super::dlog`].
//! Points use commonware's G1 codec: 48-byte compressed, canonical, in the prime-order subgroup,
//! never the identity.

use commonware_codec::{Copying, Decode, Write};
use commonware_cryptography::bls12381::{
    dkg::feldman_desmedt::Output,
    primitives::{
        group::{G1, Scalar},
        sharing::Sharing,
        variant::MinPk,
    },
};
use commonware_math::algebra::{Additive, CryptoGroup, Random};
use rand_core::CryptoRng;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::AnalyticsError;

/// Size of one compressed G1 point.
pub const POINT_SIZE_BYTES: usize = 48;
/// Size of one scalar.
pub const SCALAR_SIZE_BYTES: usize = 32;
/// Size of an encoded ciphertext `c1 ‖ c2`.
pub const CIPHERTEXT_SIZE_BYTES: usize = 2 * POINT_SIZE_BYTES;

pub(crate) fn decode_point(bytes: &[u8], what: &'static str) -> Result<G1, AnalyticsError> {
    if bytes.len() != POINT_SIZE_BYTES {
        return Err(AnalyticsError::BadLength {
            what,
            got_bytes: bytes.len(),
            expected_bytes: POINT_SIZE_BYTES,
        });
    }
    G1::decode_cfg(Copying(bytes), &()).map_err(|_| AnalyticsError::InvalidPoint { what })
}

pub(crate) fn decode_scalar(bytes: &[u8], what: &'static str) -> Result<Scalar, AnalyticsError> {
    use commonware_cryptography::bls12381::primitives::group::ScalarReadCfg;
    if bytes.len() != SCALAR_SIZE_BYTES {
        return Err(AnalyticsError::BadLength {
            what,
            got_bytes: bytes.len(),
            expected_bytes: SCALAR_SIZE_BYTES,
        });
    }
    Scalar::decode_cfg(Copying(bytes), &ScalarReadCfg::AllowZero)
        .map_err(|_| AnalyticsError::InvalidScalar { what })
}

/// `m·G` for a small plaintext.
pub(crate) fn lift(value: u64) -> G1 {
    G1::generator() * &Scalar::from_u64(value)
}

/// The analytics public key `PK = sk·G` (the DKG's public polynomial at zero).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnalyticsPublicKey(pub(crate) G1);

impl AnalyticsPublicKey {
    /// The group key of a commonware DKG sharing (`MinPk`: public keys in G1).
    pub fn from_sharing(sharing: &Sharing<MinPk>) -> Self {
        Self(*sharing.public())
    }

    /// The group key of a finished DKG round.
    pub fn from_output<P: Ord>(output: &Output<MinPk, P>) -> Self {
        Self::from_sharing(output.public())
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AnalyticsError> {
        decode_point(bytes, "analytics public key").map(Self)
    }

    pub fn to_bytes(&self) -> [u8; POINT_SIZE_BYTES] {
        let mut out = [0u8; POINT_SIZE_BYTES];
        self.0.write(&mut &mut out[..]);
        out
    }

    pub fn point(&self) -> &G1 {
        &self.0
    }
}

/// The secret behind a fresh ciphertext: its plaintext and randomness. The contributor keeps it
/// only to make the range proof; it is wiped on drop and never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Opening {
    pub(crate) value: u64,
    pub(crate) randomness: Scalar,
}

impl Opening {
    pub fn value(&self) -> u64 {
        self.value
    }
}

impl Opening {
    /// The opening of the sum of the ciphertexts these open (`None` if the values overflow):
    /// what a contributor proves a total with, e.g. that its histogram buckets add up to one.
    pub fn sum<'a>(openings: impl IntoIterator<Item = &'a Opening>) -> Option<Opening> {
        let mut total = Opening {
            value: 0,
            randomness: Scalar::zero(),
        };
        for opening in openings {
            total.value = total.value.checked_add(opening.value)?;
            total.randomness += &opening.randomness;
        }
        Some(total)
    }
}

impl std::fmt::Debug for Opening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Opening(<redacted>)")
    }
}

/// An exponential-ElGamal ciphertext `(c1, c2) = (rG, mG + rPK)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ciphertext {
    pub(crate) c1: G1,
    pub(crate) c2: G1,
}

impl Ciphertext {
    /// Encrypts `value` under `key` with fresh non-zero randomness.
    pub fn encrypt(
        rng: &mut impl CryptoRng,
        key: &AnalyticsPublicKey,
        value: u64,
    ) -> (Self, Opening) {
        let opening = Opening {
            value,
            randomness: Scalar::random(rng),
        };
        (
            Self::with_randomness(key, value, &opening.randomness),
            opening,
        )
    }

    pub(crate) fn with_randomness(key: &AnalyticsPublicKey, value: u64, r: &Scalar) -> Self {
        Self {
            c1: G1::generator() * r,
            c2: lift(value) + &(key.0 * r),
        }
    }

    /// Whether `opening` is what this ciphertext was encrypted with.
    pub fn opens_to(&self, key: &AnalyticsPublicKey, opening: &Opening) -> bool {
        *self == Self::with_randomness(key, opening.value, &opening.randomness)
    }

    /// The ciphertext of the sum of both plaintexts.
    #[must_use]
    pub fn add(&self, other: &Self) -> Self {
        Self {
            c1: self.c1 + &other.c1,
            c2: self.c2 + &other.c2,
        }
    }

    /// The ciphertext of `factor` times the plaintext.
    #[must_use]
    pub fn scale(&self, factor: u64) -> Self {
        let factor = Scalar::from_u64(factor);
        Self {
            c1: self.c1 * &factor,
            c2: self.c2 * &factor,
        }
    }

    /// The ciphertext of the plaintext plus a public constant (no new randomness).
    #[must_use]
    pub fn add_plain(&self, value: u64) -> Self {
        Self {
            c1: self.c1,
            c2: self.c2 + &lift(value),
        }
    }

    /// The sum of many ciphertexts (the empty sum is the identity, an encryption of 0 that is
    /// never sent on the wire).
    pub fn sum<'a>(ciphertexts: impl IntoIterator<Item = &'a Ciphertext>) -> Self {
        let mut acc = Self {
            c1: G1::zero(),
            c2: G1::zero(),
        };
        for ciphertext in ciphertexts {
            acc.c1 += &ciphertext.c1;
            acc.c2 += &ciphertext.c2;
        }
        acc
    }

    pub fn c1(&self) -> &G1 {
        &self.c1
    }

    pub fn c2(&self) -> &G1 {
        &self.c2
    }

    /// `c1 ‖ c2`, 48 bytes each.
    pub fn to_bytes(&self) -> [u8; CIPHERTEXT_SIZE_BYTES] {
        let mut out = [0u8; CIPHERTEXT_SIZE_BYTES];
        let mut cursor = &mut out[..];
        self.c1.write(&mut cursor);
        self.c2.write(&mut cursor);
        out
    }

    /// Decodes exactly 96 bytes, refusing non-canonical points, points outside G1 and the
    /// identity (an honest fresh ciphertext never holds it; an aggregate holds it with
    /// negligible probability).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AnalyticsError> {
        if bytes.len() != CIPHERTEXT_SIZE_BYTES {
            return Err(AnalyticsError::BadLength {
                what: "ciphertext",
                got_bytes: bytes.len(),
                expected_bytes: CIPHERTEXT_SIZE_BYTES,
            });
        }
        Ok(Self {
            c1: decode_point(&bytes[..POINT_SIZE_BYTES], "ciphertext c1")?,
            c2: decode_point(&bytes[POINT_SIZE_BYTES..], "ciphertext c2")?,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::rng::seeded_u64;
    use proptest::prelude::*;

    /// A single-party key for the unit tests (the threshold tests use a DKG).
    pub(crate) fn test_key(seed: u64) -> (Scalar, AnalyticsPublicKey) {
        let sk = Scalar::random(seeded_u64(seed));
        let pk = AnalyticsPublicKey(G1::generator() * &sk);
        (sk, pk)
    }

    pub(crate) fn decrypt_point(sk: &Scalar, ciphertext: &Ciphertext) -> G1 {
        ciphertext.c2 - &(ciphertext.c1 * sk)
    }

    #[test]
    fn a_ciphertext_decrypts_to_its_value() {
        let (sk, pk) = test_key(1);
        let (ciphertext, opening) = Ciphertext::encrypt(&mut seeded_u64(2), &pk, 4242);
        assert_eq!(decrypt_point(&sk, &ciphertext), lift(4242));
        assert!(ciphertext.opens_to(&pk, &opening));
        assert_eq!(format!("{opening:?}"), "Opening(<redacted>)");
    }

    #[test]
    fn a_ciphertext_round_trips_through_96_bytes() {
        let (_, pk) = test_key(1);
        let (ciphertext, _) = Ciphertext::encrypt(&mut seeded_u64(3), &pk, 7);
        let bytes = ciphertext.to_bytes();
        assert_eq!(bytes.len(), 96);
        assert_eq!(Ciphertext::from_bytes(&bytes), Ok(ciphertext));
        assert_eq!(
            AnalyticsPublicKey::from_bytes(&pk.to_bytes()),
            Ok(pk),
            "the key round-trips too"
        );
    }

    #[test]
    fn the_codec_refuses_malformed_ciphertexts() {
        let (_, pk) = test_key(1);
        let (ciphertext, _) = Ciphertext::encrypt(&mut seeded_u64(3), &pk, 7);
        let bytes = ciphertext.to_bytes();
        assert_eq!(
            Ciphertext::from_bytes(&bytes[..95]),
            Err(AnalyticsError::BadLength {
                what: "ciphertext",
                got_bytes: 95,
                expected_bytes: 96
            })
        );
        let mut identity = bytes;
        identity[48..].fill(0);
        identity[48] = 0xc0; // the compressed encoding of the point at infinity
        assert_eq!(
            Ciphertext::from_bytes(&identity),
            Err(AnalyticsError::InvalidPoint {
                what: "ciphertext c2"
            })
        );
        let mut uncompressed_flag = bytes;
        uncompressed_flag[0] &= 0x7f; // clears the compression flag: not our encoding
        assert_eq!(
            Ciphertext::from_bytes(&uncompressed_flag),
            Err(AnalyticsError::InvalidPoint {
                what: "ciphertext c1"
            })
        );
        let mut too_large = bytes;
        too_large[..48].fill(0xff); // x >= p with the flags set: not canonical
        too_large[0] = 0x9f;
        assert_eq!(
            Ciphertext::from_bytes(&too_large),
            Err(AnalyticsError::InvalidPoint {
                what: "ciphertext c1"
            })
        );
    }

    #[test]
    fn points_off_the_curve_or_outside_the_prime_order_subgroup_are_refused() {
        // A small x either has no curve point or one outside G1: G1 has index about 2^126 in
        // E(F_p), so no point with x <= 40 lies in it. About half of these are on the curve, so
        // this exercises both the curve check and the subgroup check.
        let mut refused = 0;
        for x in 1u8..=40 {
            let mut bytes = [0u8; 48];
            bytes[0] = 0x80;
            bytes[47] = x;
            if let Err(AnalyticsError::InvalidPoint { .. }) = AnalyticsPublicKey::from_bytes(&bytes)
            {
                refused += 1;
            }
        }
        assert_eq!(
            refused, 40,
            "no small-x point is in the prime-order subgroup"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn ciphertexts_add_and_scale_homomorphically(a in 0u64..1 << 20, b in 0u64..1 << 20, k in 0u64..1000, seed: u64) {
            let (sk, pk) = test_key(seed);
            let mut rng = seeded_u64(seed ^ 0x5eed);
            let (ca, _) = Ciphertext::encrypt(&mut rng, &pk, a);
            let (cb, _) = Ciphertext::encrypt(&mut rng, &pk, b);
            prop_assert_eq!(decrypt_point(&sk, &ca.add(&cb)), lift(a + b));
            prop_assert_eq!(decrypt_point(&sk, &ca.scale(k)), lift(a * k));
            prop_assert_eq!(decrypt_point(&sk, &ca.add_plain(k)), lift(a + k));
            prop_assert_eq!(decrypt_point(&sk, &Ciphertext::sum([&ca, &cb, &ca])), lift(2 * a + b));
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(ciphertext) = Ciphertext::from_bytes(&bytes) {
                prop_assert_eq!(&ciphertext.to_bytes()[..], &bytes[..]);
            }
        }
    }
}
