//! Fixed-base exponentiation for the encryption base `h_s`: a table of `h_s^(d·2^(w·j))` for every
//! window `j` and digit `d`, so `h_s^α` costs one modular multiplication per non-zero `w`-bit digit
//! of α and no squarings (Brickell–Gordon–McCurley–Wilson, EUROCRYPT 1992; fixed-window form as in
//! Menezes–van Oorschot–Vanstone, Handbook of Applied Cryptography, §14.6.3).

use rug::Integer;

/// Window width in bits. 6 keeps the 2048-bit key's table at about 5.5 MB (171 rows × 63 entries ×
/// 512 bytes) and built in ~11k multiplications, while an exponentiation needs ≤ 171 multiplications.
pub(crate) const WINDOW_BITS: u32 = 6;
const DIGITS_PER_ROW: usize = (1 << WINDOW_BITS) - 1;

pub(crate) struct FixedBase {
    modulus: Integer,
    exponent_bits: u32,
    /// `rows[j][d - 1] = base^(d · 2^(WINDOW_BITS · j)) mod modulus`.
    rows: Vec<Vec<Integer>>,
}

impl FixedBase {
    /// Precomputes the table for exponents below `2^exponent_bits`.
    pub(crate) fn new(base: &Integer, modulus: &Integer, exponent_bits: u32) -> Self {
        assert!(
            base.cmp0().is_gt() && base < modulus,
            "base must be reduced"
        );
        let row_count = exponent_bits.div_ceil(WINDOW_BITS) as usize;
        let mut rows = Vec::with_capacity(row_count);
        let mut row_base = base.clone();
        for _ in 0..row_count {
            let mut row = Vec::with_capacity(DIGITS_PER_ROW);
            let mut power = row_base.clone();
            row.push(power.clone());
            for _ in 1..DIGITS_PER_ROW {
                power *= &row_base;
                power %= modulus;
                row.push(power.clone());
            }
            // row_base^(2^w) = row_base^(2^w - 1) · row_base.
            power *= &row_base;
            power %= modulus;
            row_base = power;
            rows.push(row);
        }
        Self {
            modulus: modulus.clone(),
            exponent_bits,
            rows,
        }
    }

    /// `base^exponent mod modulus`. The table lookups depend on the exponent's digits: this is not
    /// constant-time (see the module docs of `keys` for why that is accepted for encryption).
    pub(crate) fn pow(&self, exponent: &Integer) -> Integer {
        assert!(
            exponent.cmp0().is_ge() && exponent.significant_bits() <= self.exponent_bits,
            "exponent outside the precomputed range"
        );
        let mut acc = Integer::from(1);
        for (j, row) in self.rows.iter().enumerate() {
            let digit = window_digit(exponent, j as u32);
            if digit != 0 {
                acc *= &row[digit - 1];
                acc %= &self.modulus;
            }
        }
        acc
    }
}

fn window_digit(exponent: &Integer, window: u32) -> usize {
    let low_bit = window * WINDOW_BITS;
    (0..WINDOW_BITS).fold(0usize, |digit, k| {
        digit | (usize::from(exponent.get_bit(low_bit + k)) << k)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_power_equals_gmp_pow_mod() {
        let modulus = Integer::from(1_000_000_007u64) * 998_244_353u64;
        let base = Integer::from(123_456_789u64);
        let table = FixedBase::new(&base, &modulus, 70);
        for e in [0u128, 1, 63, 64, (1 << 70) - 1, 0x2a_5555_aaaa_0f0f_f0f0] {
            let e = Integer::from(e);
            let want = base.clone().pow_mod(&e, &modulus).unwrap();
            assert_eq!(table.pow(&e), want, "exponent {e}");
        }
    }
}
