//! Envelope encryption of records of any size: a fresh 256-bit data key per record, the
//! plaintext cut into 64 KiB chunks sealed with ChaCha20-Poly1305 ([`cipher`]) in the STREAM construction
//! (Hoang, Reyhanitabar, Rogaway, Vizár, CRYPTO 2015, §7, via the `aead-stream` crate), and a
//! BLAKE3 hash of the ciphertext computed on the way for content addressing.
//!
//! Wire format (version 1): a 53-byte [`header`] (magic, version, algorithm, chunk size, STREAM
//! nonce prefix, key commitment), then chunks of `CHUNK_SIZE_BYTES + 16` bytes, the last one
//! shorter or equal and flagged final in its nonce. Every chunk authenticates the whole header.
//!
//! ```
//! use medchain_crypto::{envelope, rng::seeded_u64};
//!
//! let mut rng = seeded_u64(1);
//! let (key, sealed) = envelope::seal_record(&mut rng, b"{\"resourceType\":\"Observation\"}")?;
//! // `sealed.summary.content_hash` addresses the blob; `key` is encapsulated to the patient.
//! let (plaintext, summary) = envelope::decrypt(&key, &sealed.envelope)?;
//! assert_eq!(&plaintext[..], b"{\"resourceType\":\"Observation\"}");
//! assert_eq!(summary.content_hash, sealed.summary.content_hash);
//! # Ok::<(), envelope::EnvelopeError>(())
//! ```

pub mod cipher;
pub mod header;
mod stream;

use std::io;

use rand_core::CryptoRng;
use thiserror::Error;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

pub use header::{HEADER_SIZE_BYTES, NONCE_PREFIX_SIZE_BYTES};
pub use stream::{decrypt_stream, encrypt_stream};

/// Plaintext bytes per chunk. Memory use of a streaming operation is two chunks.
pub const CHUNK_SIZE_BYTES: usize = 64 * 1024;
/// Poly1305 tag appended to every chunk.
pub const TAG_SIZE_BYTES: usize = 16;
/// Most chunks one envelope may hold: the STREAM-BE32 counter reserves its maximum value.
pub const CHUNK_COUNT_MAX: u64 = u32::MAX as u64;
/// Largest record one envelope can carry (about 256 TiB), implied by the counter limit.
pub const RECORD_SIZE_MAX_BYTES: u64 = CHUNK_COUNT_MAX * CHUNK_SIZE_BYTES as u64;
/// How far from its place a chunk is searched for before calling a failure tampering, not
/// reordering. The search only runs after a failure, so it costs nothing on the good path.
pub const REORDER_SEARCH_WINDOW_CHUNKS: u32 = 64;

/// A record's symmetric data key. Zeroized on drop; its Debug output hides the bytes.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DataKey([u8; 32]);

impl DataKey {
    /// A fresh uniformly random key.
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw key, for encapsulating it to the patient (PRE capsule) and nothing else.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

/// What a completed encryption or decryption saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnvelopeSummary {
    /// BLAKE3 of the whole envelope (header and chunks): the blob's content address.
    pub content_hash: [u8; 32],
    pub plaintext_len_bytes: u64,
    pub ciphertext_len_bytes: u64,
    pub chunk_count: u64,
}

/// A record sealed in memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedRecord {
    pub envelope: Vec<u8>,
    pub summary: EnvelopeSummary,
}

/// Why an envelope could not be written or read.
#[derive(Debug, Error)]
pub enum EnvelopeError {
    #[error(
        "envelope header is truncated ({got_bytes} of {HEADER_SIZE_BYTES} bytes): the blob was cut short, fetch it again"
    )]
    TruncatedHeader { got_bytes: usize },
    #[error("not a medchain envelope (magic bytes differ): check that the right blob was fetched")]
    NotAnEnvelope,
    #[error(
        "envelope format version {version} is not supported (this build reads version 1): upgrade medchain"
    )]
    UnsupportedVersion { version: u8 },
    #[error(
        "envelope algorithm {algorithm} is unknown (this build knows 1 = ChaCha20-Poly1305 STREAM-BE32): upgrade medchain"
    )]
    UnsupportedAlgorithm { algorithm: u8 },
    #[error(
        "envelope chunk size {chunk_size_bytes} bytes is not supported (expected {CHUNK_SIZE_BYTES}): the blob was not written by medchain v1"
    )]
    UnsupportedChunkSize { chunk_size_bytes: u32 },
    #[error(
        "the data key does not match this envelope (wrong key, or the header's key commitment was altered): fetch the key for this record"
    )]
    WrongKey,
    #[error(
        "envelope is truncated: the stream ended after {chunks_received} chunks without its final chunk; fetch the blob again"
    )]
    Truncated { chunks_received: u64 },
    #[error(
        "chunk {found_at} belongs at position {belongs_at}: chunks were reordered or duplicated; the blob is corrupt"
    )]
    Reordered { found_at: u64, belongs_at: u64 },
    #[error(
        "chunk {chunk} failed authentication: the ciphertext was modified or cut inside this chunk; the blob is corrupt"
    )]
    Tampered { chunk: u64 },
    #[error(
        "data follows the final chunk {final_chunk}: bytes were appended to the envelope; the blob is corrupt"
    )]
    TrailingData { final_chunk: u64 },
    #[error(
        "record exceeds {chunk_count_max} chunks of {CHUNK_SIZE_BYTES} bytes: split it into several records"
    )]
    TooManyChunks { chunk_count_max: u64 },
    #[error("I/O error while streaming the envelope: {0}")]
    Io(#[from] io::Error),
}

/// Seals `plaintext` under a fresh data key and nonce prefix drawn from `rng`.
pub fn seal_record(
    rng: &mut impl CryptoRng,
    plaintext: &[u8],
) -> Result<(DataKey, SealedRecord), EnvelopeError> {
    let key = DataKey::generate(rng);
    let mut nonce_prefix = [0u8; NONCE_PREFIX_SIZE_BYTES];
    rng.fill_bytes(&mut nonce_prefix);
    let sealed = encrypt(&key, nonce_prefix, plaintext)?;
    Ok((key, sealed))
}

/// In-memory encryption; `nonce_prefix` must never repeat under one key (a fresh key per
/// record makes any fixed prefix safe, the random one is defence in depth).
pub fn encrypt(
    key: &DataKey,
    nonce_prefix: [u8; NONCE_PREFIX_SIZE_BYTES],
    plaintext: &[u8],
) -> Result<SealedRecord, EnvelopeError> {
    let chunks = plaintext.len().div_ceil(CHUNK_SIZE_BYTES).max(1);
    let mut envelope =
        Vec::with_capacity(HEADER_SIZE_BYTES + plaintext.len() + chunks * TAG_SIZE_BYTES);
    let summary = encrypt_stream(key, nonce_prefix, plaintext, &mut envelope)?;
    Ok(SealedRecord { envelope, summary })
}

/// In-memory decryption; the plaintext is returned only if the whole envelope authenticates.
pub fn decrypt(
    key: &DataKey,
    envelope: &[u8],
) -> Result<(Zeroizing<Vec<u8>>, EnvelopeSummary), EnvelopeError> {
    let capacity = envelope.len().saturating_sub(HEADER_SIZE_BYTES);
    let mut plaintext = Zeroizing::new(Vec::with_capacity(capacity));
    let summary = decrypt_stream(key, envelope, &mut *plaintext)?;
    Ok((plaintext, summary))
}
