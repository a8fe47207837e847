//! Fixed-base exponentiation: a table of `base^(d·2^(w·j))` for every window `j` and digit `d`, so
//! `base^e` costs one modular multiplication per non-zero `w`-bit digit of e and no squarings
//! (Brickell–Gordon–McCurley–Wilson, EUROCRYPT 1992; fixed-window form as in
//! Menezes–van Oorschot–Vanstone, Handbook of Applied Cryptography, §14.6.3).
//! Table lookups depend on the exponent's digits: use it only where the exponent may leak.

use rug::Integer;

/// Largest window accepted; the table has 2^w − 1 entries per row.
pub(crate) const WINDOW_BITS_MAX: u32 = 8;

pub(crate) struct FixedBase {
    modulus: Integer,
    exponent_bits: u32,
    window_bits: u32,
    /// `rows[j][d - 1] = base^(d · 2^(window_bits · j)) mod modulus`.
    rows: Vec<Vec<Integer>>,
}

impl FixedBase {
    /// Precomputes the table for exponents below `2^exponent_bits`: ⌈exponent_bits / w⌉ rows of
    /// 2^w − 1 powers each.
    pub(crate) fn new(
        base: &Integer,
        modulus: &Integer,
        exponent_bits: u32,
        window_bits: u32,
    ) -> Self {
        assert!(
            base.cmp0().is_gt() && base < modulus,
            "base must be reduced"
        );
        assert!(
            (1..=WINDOW_BITS_MAX).contains(&window_bits),
            "window width out of range"
        );
        let digits_per_row = (1usize << window_bits) - 1;
        let row_count = exponent_bits.div_ceil(window_bits) as usize;
        let mut rows = Vec::with_capacity(row_count);
        let mut row_base = base.clone();
        for _ in 0..row_count {
            let mut row = Vec::with_capacity(digits_per_row);
            let mut power = row_base.clone();
            row.push(power.clone());
            for _ in 1..digits_per_row {
                power *= &row_base;
                power %= modulus;
                row.push(power.clone());
            }
            // row_base^(2^w) = row_base^(2^w − 1) · row_base.
            power *= &row_base;
            power %= modulus;
            row_base = power;
            rows.push(row);
        }
        Self {
            modulus: modulus.clone(),
            exponent_bits,
            window_bits,
            rows,
        }
    }

    /// `base^exponent mod modulus` for 0 ≤ exponent < 2^exponent_bits.
    pub(crate) fn pow(&self, exponent: &Integer) -> Integer {
        assert!(
            exponent.cmp0().is_ge() && exponent.significant_bits() <= self.exponent_bits,
            "exponent outside the precomputed range"
        );
        let mut acc = Integer::from(1);
        for (j, row) in self.rows.iter().enumerate() {
            let digit = self.window_digit(exponent, j as u32);
            if digit != 0 {
                acc *= &row[digit - 1];
                acc %= &self.modulus;
            }
        }
        acc
    }

    fn window_digit(&self, exponent: &Integer, window: u32) -> usize {
        let low_bit = window * self.window_bits;
        (0..self.window_bits).fold(0usize, |digit, k| {
            digit | (usize::from(exponent.get_bit(low_bit + k)) << k)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_power_equals_gmp_pow_mod_for_every_window() {
        let modulus = Integer::from(1_000_000_007u64) * 998_244_353u64;
        let base = Integer::from(123_456_789u64);
        for window_bits in 1..=WINDOW_BITS_MAX {
            let table = FixedBase::new(&base, &modulus, 70, window_bits);
            for e in [0u128, 1, 63, 64, (1 << 70) - 1, 0x2a_5555_aaaa_0f0f_f0f0] {
                let e = Integer::from(e);
                let want = base.clone().pow_mod(&e, &modulus).unwrap();
                assert_eq!(table.pow(&e), want, "exponent {e}, window {window_bits}");
            }
        }
    }
}
