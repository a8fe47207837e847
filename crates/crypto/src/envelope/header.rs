//! The versioned envelope header: what a reader needs before the first chunk, and the key
//! commitment that lets a wrong data key be reported as such instead of as chunk tampering.

use subtle::ConstantTimeEq;

use super::{CHUNK_SIZE_BYTES, DataKey, EnvelopeError};

/// First bytes of every envelope, so foreign files are refused before any cryptography.
pub const MAGIC: [u8; 8] = *b"MEDCHENV";
/// The only format version this code writes and reads.
pub const VERSION: u8 = 1;
/// Algorithm identifier: ChaCha20-Poly1305 in STREAM with a 32-bit big-endian counter.
pub const ALGORITHM_CHACHA20POLY1305_STREAM_BE32: u8 = 1;
/// STREAM nonce prefix: the 96-bit ChaCha20-Poly1305 nonce minus 4 counter bytes and 1 flag byte.
pub const NONCE_PREFIX_SIZE_BYTES: usize = 7;
/// Length of the key commitment carried in the header.
pub const KEY_COMMITMENT_SIZE_BYTES: usize = 32;
/// Encoded header length.
pub const HEADER_SIZE_BYTES: usize =
    8 + 1 + 1 + 4 + NONCE_PREFIX_SIZE_BYTES + KEY_COMMITMENT_SIZE_BYTES;

/// BLAKE3 derive-key context for the key commitment; never reused for anything else.
const KEY_COMMITMENT_CONTEXT: &str = "medchain envelope v1 2026-11 data key commitment";

/// The decoded header of an envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub nonce_prefix: [u8; NONCE_PREFIX_SIZE_BYTES],
    pub key_commitment: [u8; KEY_COMMITMENT_SIZE_BYTES],
}

/// Commits to the data key without revealing it: AEADs like ChaCha20-Poly1305 are not
/// key-committing, so without this a wrong key and a modified chunk look the same.
pub fn key_commitment(key: &DataKey) -> [u8; KEY_COMMITMENT_SIZE_BYTES] {
    blake3::derive_key(KEY_COMMITMENT_CONTEXT, key.as_bytes())
}

impl Header {
    pub fn new(key: &DataKey, nonce_prefix: [u8; NONCE_PREFIX_SIZE_BYTES]) -> Self {
        Self {
            nonce_prefix,
            key_commitment: key_commitment(key),
        }
    }

    pub fn encode(&self) -> [u8; HEADER_SIZE_BYTES] {
        let mut out = [0u8; HEADER_SIZE_BYTES];
        out[..8].copy_from_slice(&MAGIC);
        out[8] = VERSION;
        out[9] = ALGORITHM_CHACHA20POLY1305_STREAM_BE32;
        let chunk_size = u32::try_from(CHUNK_SIZE_BYTES).expect("chunk size constant fits u32");
        out[10..14].copy_from_slice(&chunk_size.to_be_bytes());
        out[14..21].copy_from_slice(&self.nonce_prefix);
        out[21..].copy_from_slice(&self.key_commitment);
        out
    }

    /// Parses and checks every fixed field; `bytes` must be exactly one header.
    pub fn decode(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        if bytes.len() < HEADER_SIZE_BYTES {
            return Err(EnvelopeError::TruncatedHeader {
                got_bytes: bytes.len(),
            });
        }
        if bytes[..8] != MAGIC {
            return Err(EnvelopeError::NotAnEnvelope);
        }
        if bytes[8] != VERSION {
            return Err(EnvelopeError::UnsupportedVersion { version: bytes[8] });
        }
        if bytes[9] != ALGORITHM_CHACHA20POLY1305_STREAM_BE32 {
            return Err(EnvelopeError::UnsupportedAlgorithm {
                algorithm: bytes[9],
            });
        }
        let chunk_size = u32::from_be_bytes([bytes[10], bytes[11], bytes[12], bytes[13]]);
        if usize::try_from(chunk_size).ok() != Some(CHUNK_SIZE_BYTES) {
            return Err(EnvelopeError::UnsupportedChunkSize {
                chunk_size_bytes: chunk_size,
            });
        }
        let mut nonce_prefix = [0u8; NONCE_PREFIX_SIZE_BYTES];
        nonce_prefix.copy_from_slice(&bytes[14..21]);
        let mut key_commitment = [0u8; KEY_COMMITMENT_SIZE_BYTES];
        key_commitment.copy_from_slice(&bytes[21..HEADER_SIZE_BYTES]);
        Ok(Self {
            nonce_prefix,
            key_commitment,
        })
    }

    /// Whether `key` is the key this envelope was sealed with.
    pub fn key_matches(&self, key: &DataKey) -> bool {
        self.key_commitment.ct_eq(&key_commitment(key)).into()
    }
}
