//! Bounded discrete logarithm in G1 by baby-step giant-step (Shanks 1971): `m` from `m·G` with
//! `0 <= m <= bound`, in about `2·sqrt(bound)` group operations. A study's bound is declared in
//! advance (its aggregate of `count` values of `[lo, hi]` is at most `count·hi`), so the work and
//! the table size are known before release; a bound the table limit cannot cover is refused up
//! front instead of running for hours.

use std::collections::HashMap;

use commonware_codec::Write;
use commonware_cryptography::bls12381::primitives::group::{G1, Scalar};
use commonware_math::algebra::{Additive, CryptoGroup};

use super::AnalyticsError;
use super::elgamal::POINT_SIZE_BYTES;

/// Most baby steps kept in memory: 2^20 points at about 60 bytes each (48-byte key, index,
/// hash-map overhead) is about 64 MB, and covers bounds up to 2^40 (10,000 contributions of
/// 24-bit values need about 2^18.5).
pub const DLOG_TABLE_ENTRIES_MAX: u64 = 1 << 20;

fn key(point: &G1) -> [u8; POINT_SIZE_BYTES] {
    let mut out = [0u8; POINT_SIZE_BYTES];
    point.write(&mut &mut out[..]);
    out
}

/// The baby steps `j·G` for `j < step`, for one bound; build once per bound and reuse.
pub struct DiscreteLogTable {
    bound: u64,
    step: u64,
    baby: HashMap<[u8; POINT_SIZE_BYTES], u32>,
    /// `−step·G`, one giant step.
    giant: G1,
}

impl DiscreteLogTable {
    /// A table for values in `[0, bound]`: `ceil(sqrt(bound + 1))` baby steps.
    pub fn new(bound: u64) -> Result<Self, AnalyticsError> {
        let count = u128::from(bound) + 1;
        let mut step = (count as f64).sqrt() as u64;
        while u128::from(step) * u128::from(step) < count {
            step += 1;
        }
        if step > DLOG_TABLE_ENTRIES_MAX {
            return Err(AnalyticsError::BoundTooLarge {
                bound,
                entries: step,
                table_entries_max: DLOG_TABLE_ENTRIES_MAX,
            });
        }
        let mut baby = HashMap::with_capacity(step as usize);
        let generator = G1::generator();
        let mut point = G1::zero();
        for j in 0..step {
            // `step <= DLOG_TABLE_ENTRIES_MAX < 2^32`, so `j` fits.
            baby.insert(key(&point), j as u32);
            point += &generator;
        }
        Ok(Self {
            bound,
            step,
            baby,
            giant: -(generator * &Scalar::from_u64(step)),
        })
    }

    pub fn bound(&self) -> u64 {
        self.bound
    }

    /// `m` with `m·G = point − offset·G` and `m <= bound`: a sum of `count` values of
    /// `[lo, hi]` is solved as `count·lo` plus a value of `[0, count·(hi − lo)]`, so the table
    /// covers only the width.
    pub fn solve_shifted(&self, point: &G1, offset: u64) -> Result<u64, AnalyticsError> {
        self.solve(&(*point - &super::elgamal::lift(offset)))
    }

    /// `m` with `m·G = point` and `m <= bound`, or [`AnalyticsError::ValueAboveBound`].
    pub fn solve(&self, point: &G1) -> Result<u64, AnalyticsError> {
        let giant_steps = self.bound / self.step + 1;
        let mut current = *point;
        for i in 0..giant_steps {
            if let Some(&j) = self.baby.get(&key(&current)) {
                let value = i * self.step + u64::from(j);
                if value <= self.bound {
                    return Ok(value);
                }
                break;
            }
            current += &self.giant;
        }
        Err(AnalyticsError::ValueAboveBound { bound: self.bound })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::elgamal::lift;
    use proptest::prelude::*;

    #[test]
    fn every_value_up_to_the_bound_is_found() {
        let table = DiscreteLogTable::new(1000).unwrap();
        for value in 0..=1000 {
            assert_eq!(table.solve(&lift(value)), Ok(value), "value {value}");
        }
    }

    #[test]
    fn a_shifted_value_is_found_within_the_width() {
        let table = DiscreteLogTable::new(100).unwrap();
        assert_eq!(table.solve_shifted(&lift(1_000_050), 1_000_000), Ok(50));
        assert_eq!(
            table.solve_shifted(&lift(1_000_101), 1_000_000),
            Err(AnalyticsError::ValueAboveBound { bound: 100 })
        );
    }

    #[test]
    fn a_value_past_the_bound_is_refused() {
        let table = DiscreteLogTable::new(1000).unwrap();
        assert_eq!(
            table.solve(&lift(1001)),
            Err(AnalyticsError::ValueAboveBound { bound: 1000 })
        );
        assert_eq!(
            table.solve(&lift(5_000_000)),
            Err(AnalyticsError::ValueAboveBound { bound: 1000 })
        );
    }

    #[test]
    fn a_bound_past_the_table_limit_is_refused() {
        // The largest bound the limit covers is DLOG_TABLE_ENTRIES_MAX^2 - 1 (building that
        // table takes seconds, so only the bound one past it is exercised here).
        let past = DLOG_TABLE_ENTRIES_MAX * DLOG_TABLE_ENTRIES_MAX;
        assert_eq!(
            DiscreteLogTable::new(past).err(),
            Some(AnalyticsError::BoundTooLarge {
                bound: past,
                entries: DLOG_TABLE_ENTRIES_MAX + 1,
                table_entries_max: DLOG_TABLE_ENTRIES_MAX,
            })
        );
        assert_eq!(
            DiscreteLogTable::new(u64::MAX).err(),
            Some(AnalyticsError::BoundTooLarge {
                bound: u64::MAX,
                entries: 1 << 32,
                table_entries_max: DLOG_TABLE_ENTRIES_MAX,
            })
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn values_near_a_large_bound_are_found(bound in 1u64..1 << 24, offset in 0u64..1000) {
            let table = DiscreteLogTable::new(bound).unwrap();
            let value = bound.saturating_sub(offset);
            prop_assert_eq!(table.solve(&lift(value)), Ok(value));
        }
    }
}
