//! Threshold decryption of aggregate ciphertexts under the DKG's analytics key.
//!
//! Validator `i` holds the share `s_i = f(i + 1)` of the DKG's secret polynomial (commonware's
//! `Mode::NonZeroCounter`), and the ledger holds the public polynomial, so anyone computes its
//! public share `Y_i = s_i·G`. Its partial decryption of `(c1, c2)` is `D_i = s_i·c1` with a
//! Chaum–Pedersen proof (Chaum, Pedersen, "Wallet databases with observers", CRYPTO 1992; the
//! proof ElectionGuard 2.0 attaches to each guardian's partial decryption) that
//! `log_G Y_i = log_c1 D_i`, made non-interactive by Fiat–Shamir over the release context.
//! A quorum of valid partials gives `sk·c1 = Σ λ_i·D_i` (Lagrange coefficients at zero, from
//! commonware's [`Interpolator`]) and so `m·G = c2 − sk·c1`. Partials whose proof fails are
//! excluded and named; fewer than a quorum of valid ones is an error, never a guess.

use commonware_codec::{Encode, Write};
use commonware_cryptography::bls12381::primitives::{
    group::{G1, Scalar, Share},
    sharing::Sharing,
    variant::MinPk,
};
use commonware_math::algebra::{CryptoGroup, Random, Space};
use commonware_math::poly::Interpolator;
use commonware_parallel::Sequential;
use commonware_utils::{Participant, ordered::Map};
use rand_core::CryptoRng;

use super::AnalyticsError;
use super::dlog::DiscreteLogTable;
use super::elgamal::{
    AnalyticsPublicKey, Ciphertext, POINT_SIZE_BYTES, SCALAR_SIZE_BYTES, decode_point,
    decode_scalar,
};
use super::transcript::{ProofContext, Transcript};

/// Domain tag of the partial-decryption proof challenge.
pub const DST_PARTIAL_DECRYPTION: &[u8] = b"medchain/analytics/partial-decryption/bls12381-g1/v1";
/// Encoded size of a partial decryption: index (u32 big-endian), `D_i`, challenge, response.
pub const PARTIAL_SIZE_BYTES: usize = 4 + POINT_SIZE_BYTES + 2 * SCALAR_SIZE_BYTES;

/// The public side of the analytics key: the DKG's public polynomial (its sharing).
#[derive(Clone, Debug)]
pub struct AnalyticsKey {
    sharing: Sharing<MinPk>,
}

impl AnalyticsKey {
    /// Takes a DKG output's sharing. Only the counter mode (evaluation point `index + 1`) is
    /// accepted: its first encoded byte is the mode tag, 0 for `Mode::NonZeroCounter`.
    pub fn new(sharing: Sharing<MinPk>) -> Result<Self, AnalyticsError> {
        if sharing.encode().first() != Some(&0) {
            return Err(AnalyticsError::UnsupportedSharingMode);
        }
        Ok(Self { sharing })
    }

    /// The sharing's canonical encoding (mode, participants, public polynomial), as the ledger
    /// stores it.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.sharing.encode().to_vec()
    }

    /// Decodes exactly one sharing among at most `participants_max` participants, with every
    /// coefficient a valid G1 point, in the counter mode.
    pub fn from_bytes(bytes: &[u8], participants_max: u32) -> Result<Self, AnalyticsError> {
        use commonware_codec::Decode;
        use commonware_cryptography::bls12381::primitives::sharing::ModeVersion;
        let max =
            std::num::NonZeroU32::new(participants_max).ok_or(AnalyticsError::InvalidSharing)?;
        let sharing = Sharing::<MinPk>::decode_cfg(
            commonware_codec::Copying(bytes),
            &(max, ModeVersion::v0()),
        )
        .map_err(|_| AnalyticsError::InvalidSharing)?;
        Self::new(sharing)
    }

    pub fn public_key(&self) -> AnalyticsPublicKey {
        AnalyticsPublicKey::from_sharing(&self.sharing)
    }

    /// Number of valid partial decryptions that reveal a value.
    pub fn required(&self) -> u32 {
        self.sharing.required()
    }

    pub fn total(&self) -> u32 {
        self.sharing.total().get()
    }

    /// `Y_i = s_i·G`, the public polynomial evaluated at participant `index`.
    pub fn public_share(&self, index: u32) -> Result<G1, AnalyticsError> {
        self.sharing
            .partial_public(Participant::new(index))
            .map_err(|_| AnalyticsError::UnknownParticipant {
                index,
                total: self.total(),
            })
    }
}

/// One validator's partial decryption `D_i = s_i·c1` and its Chaum–Pedersen proof `(e, z)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartialDecryption {
    index: u32,
    point: G1,
    challenge: Scalar,
    response: Scalar,
}

fn challenge(
    context: &ProofContext<'_>,
    index: u32,
    public_share: &G1,
    ciphertext: &Ciphertext,
    point: &G1,
    commitments: [&G1; 2],
) -> Scalar {
    let mut transcript = Transcript::new(DST_PARTIAL_DECRYPTION, context);
    transcript.u64(u64::from(index));
    for p in [public_share, &ciphertext.c1, &ciphertext.c2, point] {
        transcript.point(p);
    }
    for p in commitments {
        transcript.point(p);
    }
    transcript.challenge()
}

impl PartialDecryption {
    /// Validator `share.index` decrypts its part of `ciphertext` for the release `context`.
    pub fn new(
        rng: &mut impl CryptoRng,
        share: &Share,
        ciphertext: &Ciphertext,
        context: &ProofContext<'_>,
    ) -> Result<Self, AnalyticsError> {
        context.check()?;
        let index = share.index.get();
        share.private.expose(|secret| {
            let public_share = G1::generator() * secret;
            let point = ciphertext.c1 * secret;
            let nonce = Scalar::random(&mut *rng);
            let t1 = G1::generator() * &nonce;
            let t2 = ciphertext.c1 * &nonce;
            let e = challenge(
                context,
                index,
                &public_share,
                ciphertext,
                &point,
                [&t1, &t2],
            );
            let response = nonce + &(e.clone() * secret);
            Ok(Self {
                index,
                point,
                challenge: e,
                response,
            })
        })
    }

    pub fn index(&self) -> u32 {
        self.index
    }

    /// Checks the proof against the participant's public share.
    pub fn verify(
        &self,
        key: &AnalyticsKey,
        ciphertext: &Ciphertext,
        context: &ProofContext<'_>,
    ) -> Result<(), AnalyticsError> {
        context.check()?;
        let public_share = key.public_share(self.index)?;
        let minus_e = -self.challenge.clone();
        // T1 = z·G − e·Y_i and T2 = z·c1 − e·D_i, as the prover's commitments must have been.
        let t1 = G1::msm(
            &[G1::generator(), public_share],
            &[self.response.clone(), minus_e.clone()],
            &Sequential,
        );
        let t2 = G1::msm(
            &[ciphertext.c1, self.point],
            &[self.response.clone(), minus_e],
            &Sequential,
        );
        let expected = challenge(
            context,
            self.index,
            &public_share,
            ciphertext,
            &self.point,
            [&t1, &t2],
        );
        if expected == self.challenge {
            Ok(())
        } else {
            Err(AnalyticsError::InvalidPartial { index: self.index })
        }
    }

    /// `index ‖ D_i ‖ e ‖ z`, [`PARTIAL_SIZE_BYTES`] bytes.
    pub fn to_bytes(&self) -> [u8; PARTIAL_SIZE_BYTES] {
        let mut out = [0u8; PARTIAL_SIZE_BYTES];
        let mut cursor = &mut out[..];
        cursor[..4].copy_from_slice(&self.index.to_be_bytes());
        cursor = &mut cursor[4..];
        self.point.write(&mut cursor);
        self.challenge.write(&mut cursor);
        self.response.write(&mut cursor);
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AnalyticsError> {
        if bytes.len() != PARTIAL_SIZE_BYTES {
            return Err(AnalyticsError::BadLength {
                what: "partial decryption",
                got_bytes: bytes.len(),
                expected_bytes: PARTIAL_SIZE_BYTES,
            });
        }
        let (index, rest) = bytes.split_at(4);
        let (point, scalars) = rest.split_at(POINT_SIZE_BYTES);
        let (challenge, response) = scalars.split_at(SCALAR_SIZE_BYTES);
        Ok(Self {
            index: u32::from_be_bytes([index[0], index[1], index[2], index[3]]),
            point: decode_point(point, "partial decryption")?,
            challenge: decode_scalar(challenge, "partial decryption challenge")?,
            response: decode_scalar(response, "partial decryption response")?,
        })
    }
}

/// The outcome of combining partial decryptions: `m·G` and who took part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Combined {
    /// `m·G`, the plaintext in the exponent.
    pub point: G1,
    /// The participants whose partials were interpolated (the lowest valid indices).
    pub used: Vec<u32>,
    /// Participants whose partial failed its proof or named no share (later duplicates of a
    /// valid partial are ignored, not listed).
    pub excluded: Vec<u32>,
}

/// Verifies every partial, excludes the invalid ones, and interpolates a quorum of valid ones.
pub fn combine(
    key: &AnalyticsKey,
    ciphertext: &Ciphertext,
    context: &ProofContext<'_>,
    partials: &[PartialDecryption],
) -> Result<Combined, AnalyticsError> {
    context.check()?;
    let mut valid: std::collections::BTreeMap<u32, G1> = std::collections::BTreeMap::new();
    let mut excluded = Vec::new();
    for partial in partials {
        if valid.contains_key(&partial.index) {
            continue;
        }
        match partial.verify(key, ciphertext, context) {
            Ok(()) => {
                valid.insert(partial.index, partial.point);
            }
            Err(AnalyticsError::InvalidPartial { index })
            | Err(AnalyticsError::UnknownParticipant { index, .. }) => excluded.push(index),
            Err(other) => return Err(other),
        }
    }
    excluded.sort_unstable();
    excluded.dedup();
    let required = key.required() as usize;
    if valid.len() < required {
        return Err(AnalyticsError::NotEnoughPartials {
            valid: valid.len(),
            required,
            invalid: excluded,
        });
    }
    let quorum: Vec<(u32, G1)> = valid.into_iter().take(required).collect();
    let interpolator = Interpolator::new(
        quorum
            .iter()
            .map(|(index, _)| (*index, Scalar::from_u64(u64::from(*index) + 1))),
    );
    let evals = Map::from_iter_dedup(quorum.iter().copied());
    let secret_times_c1 =
        interpolator
            .interpolate(&evals, &Sequential)
            .ok_or(AnalyticsError::NotEnoughPartials {
                valid: quorum.len(),
                required,
                invalid: excluded.clone(),
            })?;
    Ok(Combined {
        point: ciphertext.c2 - &secret_times_c1,
        used: quorum.iter().map(|(index, _)| *index).collect(),
        excluded,
    })
}

/// [`combine`], then the discrete logarithm within `table`'s bound: the released value.
pub fn decrypt(
    key: &AnalyticsKey,
    ciphertext: &Ciphertext,
    context: &ProofContext<'_>,
    partials: &[PartialDecryption],
    table: &DiscreteLogTable,
) -> Result<(u64, Combined), AnalyticsError> {
    let combined = combine(key, ciphertext, context, partials)?;
    let value = table.solve(&combined.point)?;
    Ok((value, combined))
}

#[cfg(test)]
mod tests;
