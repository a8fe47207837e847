//! Canonical byte layout shared by every Paillier object: `version (1) ‖ kind (1) ‖ fields`, each
//! integer big-endian and zero-padded to a length fixed by the key, so each object has exactly
//! one encoding and a decoder can check the length before it parses anything.

use rug::Integer;
use rug::integer::Order;

use super::PaillierError;

pub(crate) const VERSION: u8 = 1;

/// Object kinds, the second byte of every encoding, so bytes of one type never parse as another.
pub(crate) mod kind {
    pub(crate) const PUBLIC_KEY: u8 = 1;
    pub(crate) const SECRET_KEY: u8 = 2;
    pub(crate) const CIPHERTEXT: u8 = 3;
    pub(crate) const THRESHOLD_PUBLIC_KEY: u8 = 4;
    pub(crate) const KEY_SHARE: u8 = 5;
    pub(crate) const DECRYPTION_SHARE: u8 = 6;
}

/// Starts an encoding with its header.
pub(crate) fn header(kind: u8, capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(capacity + 2);
    out.push(VERSION);
    out.push(kind);
    out
}

/// Appends `x` big-endian, left-padded with zeros to exactly `len` bytes.
pub(crate) fn put_integer(out: &mut Vec<u8>, x: &Integer, len: usize) {
    assert!(x.cmp0().is_ge(), "only non-negative integers are encoded");
    let digits = x.to_digits::<u8>(Order::Msf);
    assert!(
        digits.len() <= len,
        "integer does not fit its fixed-size field"
    );
    out.resize(out.len() + len - digits.len(), 0);
    out.extend_from_slice(&digits);
}

/// Sequential reader over an encoding; every read is bounds-checked.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// Checks version and kind and returns a reader positioned after the header.
    pub(crate) fn open(
        bytes: &'a [u8],
        kind: u8,
        what: &'static str,
    ) -> Result<Self, PaillierError> {
        if bytes.len() < 2 {
            return Err(PaillierError::WrongLength {
                what,
                expected: 2,
                found: bytes.len(),
            });
        }
        if bytes[0] != VERSION {
            return Err(PaillierError::UnsupportedVersion {
                what,
                found: bytes[0],
                expected: VERSION,
            });
        }
        if bytes[1] != kind {
            return Err(PaillierError::WrongKind {
                what,
                found: bytes[1],
                expected: kind,
            });
        }
        Ok(Self {
            bytes: &bytes[2..],
            what,
        })
    }

    pub(crate) fn take(&mut self, len: usize) -> Result<&'a [u8], PaillierError> {
        if self.bytes.len() < len {
            return Err(self.malformed("truncated"));
        }
        let (head, tail) = self.bytes.split_at(len);
        self.bytes = tail;
        Ok(head)
    }

    pub(crate) fn u16(&mut self) -> Result<u16, PaillierError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn integer(&mut self, len: usize) -> Result<Integer, PaillierError> {
        Ok(Integer::from_digits(self.take(len)?, Order::Msf))
    }

    /// Checks that the whole encoding was consumed: trailing bytes would make it non-canonical.
    pub(crate) fn finish(self) -> Result<(), PaillierError> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(self.malformed("trailing bytes after the last field"))
        }
    }

    pub(crate) fn malformed(&self, reason: &'static str) -> PaillierError {
        PaillierError::Malformed {
            what: self.what,
            reason,
        }
    }
}

/// Number of bytes of the big-endian encoding of a `bits`-bit integer.
pub(crate) fn byte_len(bits: u32) -> usize {
    (bits as usize).div_ceil(8)
}
