//! A blob's content address: the BLAKE3 hash of its bytes, the same definition as
//! `medchain_crypto::envelope::EnvelopeSummary::content_hash` (plain BLAKE3 of the whole
//! envelope), so the hash a `CreateRecord` commits to is the blob's key.

use std::fmt;
use std::str::FromStr;

use crate::BlobError;

/// BLAKE3 of a blob's bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobHash(pub [u8; 32]);

impl BlobHash {
    /// The content address of bytes held in memory.
    pub fn of(bytes: &[u8]) -> Self {
        Self(*blake3::hash(bytes).as_bytes())
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, the form used in object keys and URLs.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl From<[u8; 32]> for BlobHash {
    fn from(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl FromStr for BlobHash {
    type Err = BlobError;

    /// Exactly 64 hex digits; anything else is refused rather than truncated or padded.
    fn from_str(input: &str) -> Result<Self, BlobError> {
        let mut bytes = [0u8; 32];
        if input.len() != 64 || hex::decode_to_slice(input, &mut bytes).is_err() {
            return Err(BlobError::BadHash {
                input: input.chars().take(80).collect(),
            });
        }
        Ok(Self(bytes))
    }
}

impl fmt::Display for BlobHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for BlobHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobHash({})", self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_round_trips_through_hex() {
        let hash = BlobHash::of(b"ciphertext");
        assert_eq!(hash.to_hex().parse::<BlobHash>().unwrap(), hash);
        assert_eq!(hash.0, *blake3::hash(b"ciphertext").as_bytes());
    }

    #[test]
    fn a_hash_of_the_wrong_length_or_alphabet_is_refused() {
        let good = BlobHash::of(b"x").to_hex();
        for bad in [
            &good[..63],
            &format!("{good}0"),
            &good.replacen(&good[..1], "g", 1),
            "",
        ] {
            assert!(
                matches!(bad.parse::<BlobHash>(), Err(BlobError::BadHash { .. })),
                "{bad:?} was accepted"
            );
        }
    }
}
