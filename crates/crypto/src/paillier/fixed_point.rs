//! Signed fixed-point plaintexts: a value v with `scale` decimal digits is the integer
//! round(v·10^scale), stored mod n. Residues up to n/3 are positive, residues from n − n/3 are
//! negative and the band between them signals an overflow — the same convention as python `phe`
//! (`max_int = n // 3 − 1`), so signed values interoperate. Splitting at n/2 instead would use the
//! whole ring but could not tell a wrapped-around sum from a legitimately negative one.

use rug::Integer;

use super::{PaillierError, Plaintext, PublicKey};

/// Largest supported scale: 10^38 is the largest power of ten below i128::MAX.
pub const FIXED_POINT_SCALE_MAX_DIGITS: u32 = 38;

/// A fixed-point codec with a given number of decimal digits after the point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedPoint {
    scale_digits: u32,
}

impl FixedPoint {
    /// A codec for values with `scale_digits` digits after the decimal point.
    pub fn new(scale_digits: u32) -> Result<Self, PaillierError> {
        if scale_digits > FIXED_POINT_SCALE_MAX_DIGITS {
            return Err(PaillierError::ScaleTooLarge {
                scale: scale_digits,
                max: FIXED_POINT_SCALE_MAX_DIGITS,
            });
        }
        Ok(Self { scale_digits })
    }

    pub fn scale_digits(&self) -> u32 {
        self.scale_digits
    }

    /// Encodes `units` = value·10^scale (already scaled) as a residue mod n.
    pub fn encode(&self, pk: &PublicKey, units: i128) -> Result<Plaintext, PaillierError> {
        self.encode_integer(pk, &Integer::from(units))
            .map_err(|_| PaillierError::FixedPointOverflow { units })
    }

    /// Encodes an arbitrary-size number of units; |units| must not exceed [`magnitude_max`].
    pub fn encode_integer(
        &self,
        pk: &PublicKey,
        units: &Integer,
    ) -> Result<Plaintext, PaillierError> {
        if Integer::from(units.abs_ref()) > magnitude_max(pk) {
            let clamped = units.to_i128().unwrap_or(if units.cmp0().is_lt() {
                i128::MIN
            } else {
                i128::MAX
            });
            return Err(PaillierError::FixedPointOverflow { units: clamped });
        }
        Ok(Plaintext(Integer::from(units.modulo_ref(pk.n()))))
    }

    /// Encodes a float, rounding to the nearest unit of 10^−scale.
    pub fn encode_f64(&self, pk: &PublicKey, value: f64) -> Result<Plaintext, PaillierError> {
        let scaled = (value * 10f64.powi(self.scale_digits as i32)).round();
        // 2^127 is exactly representable; anything at or beyond it does not fit an i128.
        if !scaled.is_finite() || scaled.abs() >= 2f64.powi(127) {
            return Err(PaillierError::NotRepresentable { value });
        }
        self.encode(pk, scaled as i128)
    }

    /// Decodes to the signed integer of units, detecting overflow of the signed range.
    pub fn decode_integer(&self, pk: &PublicKey, m: &Plaintext) -> Result<Integer, PaillierError> {
        let max = magnitude_max(pk);
        let value = m.as_integer();
        if *value <= max {
            Ok(value.clone())
        } else if *value >= Integer::from(pk.n() - &max) {
            Ok(Integer::from(value - pk.n()))
        } else {
            Err(PaillierError::Overflow)
        }
    }

    /// Decodes to units (value·10^scale) as an i128.
    pub fn decode(&self, pk: &PublicKey, m: &Plaintext) -> Result<i128, PaillierError> {
        self.decode_integer(pk, m)?
            .to_i128()
            .ok_or(PaillierError::ValueTooLarge)
    }

    /// Decodes to a float (exact up to f64 precision).
    pub fn decode_f64(&self, pk: &PublicKey, m: &Plaintext) -> Result<f64, PaillierError> {
        let units = self.decode_integer(pk, m)?;
        Ok(units.to_f64() / 10f64.powi(self.scale_digits as i32))
    }
}

/// Largest encodable magnitude: ⌊n/3⌋ − 1, as in `phe`. Keeping a third of the ring unused lets a
/// decoder tell an overflowed sum from a negative one.
pub fn magnitude_max(pk: &PublicKey) -> Integer {
    Integer::from(pk.n() / 3u32) - 1u32
}
