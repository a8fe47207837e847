//! Exact sampling of the discrete Laplace distribution, for the validators' shares of
//! differential-privacy noise on a study's aggregates.
//!
//! `DiscreteLaplace { scale: t/s }` has `P[X = x] ∝ exp(−|x|·s/t)` on the integers: added to a
//! total whose sensitivity is `Δ`, a scale of `Δ/ε` gives ε-differential privacy (the geometric
//! mechanism of Ghosh, Roughgarden, Sundararajan, "Universally utility-maximizing privacy
//! mechanisms", STOC 2009). Sampling follows Canonne, Kamath, Steinke, "The Discrete Gaussian for
//! Differential Privacy", NeurIPS 2020, Algorithm 1 (`Bernoulli(exp(−γ))` for a rational `γ`)
//! and Algorithm 2 (the discrete Laplace with a rational scale), with integer arithmetic only:
//! no floating point, so the output distribution is exactly the one the analysis assumes, not
//! the porous approximation of a floating-point Laplace (Mironov, CCS 2012).
//!
//! The loops are rejection samplers; their expected number of rounds is a small constant for
//! every scale (about 1/(1 − 1/e) for the outer loop), and each round draws a few 64-bit words.

use rand_core::Rng;

use super::AnalyticsError;

/// The discrete Laplace distribution with scale `numerator / denominator`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiscreteLaplace {
    numerator: u64,
    denominator: u64,
}

impl DiscreteLaplace {
    /// Scale `numerator / denominator`, both at least 1.
    pub fn new(numerator: u64, denominator: u64) -> Result<Self, AnalyticsError> {
        if numerator == 0 || denominator == 0 {
            return Err(AnalyticsError::BadNoiseScale {
                numerator,
                denominator,
            });
        }
        Ok(Self {
            numerator,
            denominator,
        })
    }

    /// One sample (CKS20 Algorithm 2). Saturates at `±i64::MAX`, which a scale below 2^63
    /// reaches with probability below `exp(−2^63/scale)`.
    pub fn sample(&self, rng: &mut impl Rng) -> i64 {
        let (t, s) = (u128::from(self.numerator), u128::from(self.denominator));
        loop {
            let u = uniform_below(rng, t);
            if !bernoulli_exp_minus_ratio(rng, u, t) {
                continue;
            }
            let mut v: u128 = 0;
            while bernoulli_exp_minus_ratio(rng, 1, 1) {
                v += 1;
            }
            let x = u.saturating_add(t.saturating_mul(v));
            let y = i64::try_from(x / s).unwrap_or(i64::MAX);
            let negative = rng.next_u32() & 1 == 1;
            if negative && y == 0 {
                continue;
            }
            return if negative { -y } else { y };
        }
    }

    /// One sample conditioned on `|x| <= bound` (redrawn until it is), so that a proof can show
    /// the share lies in `[−bound, bound]`. With `bound` many scales wide the condition changes
    /// the distribution by the mass beyond it, `≈ exp(−bound/scale)`, which becomes the δ of an
    /// (ε, δ) guarantee.
    pub fn sample_within(&self, rng: &mut impl Rng, bound: u64) -> i64 {
        loop {
            let x = self.sample(rng);
            if x.unsigned_abs() <= bound {
                return x;
            }
        }
    }
}

/// Uniform on `[0, n)` by rejection from 128 random bits (`n >= 1`).
fn uniform_below(rng: &mut impl Rng, n: u128) -> u128 {
    // The largest multiple of `n` that fits: draws at or above it would bias the remainder.
    let zone = u128::MAX - (u128::MAX % n);
    loop {
        let draw = (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64());
        if draw < zone {
            return draw % n;
        }
    }
}

/// `true` with probability `numerator / denominator` (at most 1).
fn bernoulli(rng: &mut impl Rng, numerator: u128, denominator: u128) -> bool {
    uniform_below(rng, denominator) < numerator
}

/// `true` with probability `exp(−γ)` for `γ = numerator / denominator ∈ [0, 1]` (CKS20
/// Algorithm 1: the parity of the first `k` at which `Bernoulli(γ/k)` fails).
fn bernoulli_exp_minus_ratio(rng: &mut impl Rng, numerator: u128, denominator: u128) -> bool {
    debug_assert!(numerator <= denominator);
    let mut k: u128 = 1;
    while bernoulli(rng, numerator, denominator.saturating_mul(k)) {
        k += 1;
    }
    k % 2 == 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::seeded_u64;

    /// `P[X = x]` for scale `t/s`: `(1 − α)/(1 + α) · α^|x|` with `α = exp(−s/t)`.
    fn pmf(t: f64, s: f64, x: i64) -> f64 {
        let alpha = (-s / t).exp();
        (1.0 - alpha) / (1.0 + alpha) * alpha.powi(x.unsigned_abs() as i32)
    }

    /// Pearson's χ² of `draws` samples against the exact pmf, over the values `|x| <= cut` and
    /// one bin for the two tails together.
    fn chi_square(t: u64, s: u64, draws: usize, cut: i64, seed: u64) -> (f64, usize) {
        let noise = DiscreteLaplace::new(t, s).unwrap();
        let mut rng = seeded_u64(seed);
        let mut counts = vec![0usize; (2 * cut + 2) as usize];
        for _ in 0..draws {
            let x = noise.sample(&mut rng);
            let bin = if x.abs() > cut { 2 * cut + 1 } else { x + cut };
            counts[bin as usize] += 1;
        }
        let inside: f64 = (-cut..=cut).map(|x| pmf(t as f64, s as f64, x)).sum();
        let mut statistic = 0.0;
        for (bin, observed) in counts.iter().enumerate() {
            let p = if bin as i64 == 2 * cut + 1 {
                1.0 - inside
            } else {
                pmf(t as f64, s as f64, bin as i64 - cut)
            };
            let expected = p * draws as f64;
            statistic += (*observed as f64 - expected).powi(2) / expected;
        }
        (statistic, counts.len() - 1)
    }

    #[test]
    fn samples_follow_the_exact_discrete_laplace_pmf() {
        // Degrees of freedom 23 and 31: the 0.1 % critical values are 49.7 and 61.1. The seeds
        // are fixed, so the verdict is reproducible; a biased sampler (e.g. one that drops the
        // rejection of −0, doubling the mass at zero) lands far above.
        for (t, s, cut, critical) in [(3u64, 1u64, 11i64, 49.7), (7, 2, 15, 61.1)] {
            let seed = 2026 + t;
            let (statistic, dof) = chi_square(t, s, 200_000, cut, seed);
            assert!(
                statistic < critical,
                "scale {t}/{s} (seed {seed}): χ² = {statistic:.1} with {dof} degrees of freedom"
            );
        }
    }

    #[test]
    fn a_wide_scale_has_the_variance_the_analysis_assumes() {
        // Var = 2α/(1 − α)² ≈ 2·scale² for a wide scale; 20,000 draws estimate it within a few
        // percent.
        let (t, s) = (131_070u64, 1u64);
        let noise = DiscreteLaplace::new(t, s).unwrap();
        let mut rng = seeded_u64(7);
        let draws = 20_000;
        let samples: Vec<f64> = (0..draws).map(|_| noise.sample(&mut rng) as f64).collect();
        let mean = samples.iter().sum::<f64>() / draws as f64;
        let variance = samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / draws as f64;
        let alpha = (-(s as f64) / t as f64).exp();
        let expected = 2.0 * alpha / (1.0 - alpha).powi(2);
        assert!(
            (variance / expected - 1.0).abs() < 0.05,
            "variance {variance:.3e}, expected {expected:.3e}"
        );
        assert!(mean.abs() < 0.05 * (t as f64), "mean {mean}");
    }

    #[test]
    fn a_bounded_sample_stays_within_its_bound() {
        let noise = DiscreteLaplace::new(10, 1).unwrap();
        let mut rng = seeded_u64(3);
        for _ in 0..10_000 {
            assert!(noise.sample_within(&mut rng, 5).abs() <= 5);
        }
        assert_eq!(noise.sample_within(&mut rng, 0), 0);
    }

    #[test]
    fn the_same_seed_gives_the_same_noise_and_a_zero_scale_is_refused() {
        let noise = DiscreteLaplace::new(1_000, 3).unwrap();
        let draw = |seed| {
            let mut rng = seeded_u64(seed);
            (0..8).map(|_| noise.sample(&mut rng)).collect::<Vec<_>>()
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));
        assert!(matches!(
            DiscreteLaplace::new(0, 1),
            Err(AnalyticsError::BadNoiseScale { .. })
        ));
        assert!(DiscreteLaplace::new(1, 0).is_err());
    }

    #[test]
    fn uniform_and_bernoulli_draws_are_unbiased_at_their_edges() {
        let mut rng = seeded_u64(11);
        assert_eq!(uniform_below(&mut rng, 1), 0);
        assert!(!bernoulli(&mut rng, 0, 5));
        assert!(bernoulli(&mut rng, 5, 5));
        // exp(−0) = 1: always true.
        assert!(bernoulli_exp_minus_ratio(&mut rng, 0, 9));
        let hits = (0..100_000)
            .filter(|_| bernoulli_exp_minus_ratio(&mut rng, 1, 1))
            .count();
        let rate = hits as f64 / 100_000.0;
        assert!((rate - (-1.0f64).exp()).abs() < 0.005, "rate {rate}");
    }
}
