//! The validators' encrypted blob store: a record's ciphertext (an envelope from
//! `medchain_crypto::envelope`) lives here, off the ledger, under its BLAKE3 content address, the
//! same hash a `CreateRecord` commits to. Only ciphertext is ever stored: nothing here can read it.
//!
//! - **Backends** ([`BlobStoreConfig`]): a local directory by default, any S3-compatible store by
//!   configuration, both through `object_store`.
//! - **Written once**: an upload is streamed into a staging object while its bytes are counted and
//!   hashed; only when the size and the hash match is it published under `blobs/<hash>` with a
//!   create-only copy (a hard link on a local directory, `If-None-Match: *` on S3). A failed,
//!   oversized, wrong or interrupted upload never becomes readable under the final key. A second
//!   upload of a blob that is already stored succeeds without overwriting it.
//! - **Every read re-checks the hash** ([`VerifiedBlobStream`]): the bytes of a stream are
//!   provisional until the stream has ended without an error; a stored object that was changed
//!   ends its stream with [`BlobError::Corrupt`].
//! - **Constant memory**: uploads go out in parts of [`UPLOAD_PART_SIZE_BYTES`], at most
//!   [`UPLOAD_PARTS_IN_FLIGHT_MAX`] at a time; reads stream the store's own chunks.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use medchain_blob::{BlobHash, BlobStore};
//! use futures::TryStreamExt;
//!
//! let dir = std::env::temp_dir().join(format!("medchain-blob-doc-{}", std::process::id()));
//! let store = BlobStore::local(&dir, medchain_blob::BLOB_SIZE_MAX_BYTES)?;
//! let ciphertext = bytes::Bytes::from_static(b"an envelope's bytes");
//! let hash = BlobHash::of(&ciphertext);
//! let body = futures::stream::iter([Ok::<_, std::io::Error>(ciphertext.clone())]);
//! store.put(&hash, ciphertext.len() as u64, body).await?;
//! // Use the bytes only once the stream has ended without an error: that is when the hash held.
//! let read: Vec<bytes::Bytes> = store.get(&hash).await?.try_collect().await?;
//! assert_eq!(read.concat(), &ciphertext[..]);
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), medchain_blob::BlobError>(())
//! # }).unwrap();
//! ```

mod config;
mod error;
mod hash;
mod read;
mod store;

pub use config::{BlobStoreConfig, S3Config};
pub use error::BlobError;
pub use hash::BlobHash;
pub use read::VerifiedBlobStream;
pub use store::{BlobStore, PutOutcome, StoredBlob};

/// Largest blob a store accepts. Publication copies the staged object as one S3 part, which S3
/// caps at 5 GiB; 4 GiB leaves room and is well past the largest record the benchmarks put (1 GB).
pub const BLOB_SIZE_MAX_BYTES: u64 = 4 * 1024 * 1024 * 1024;
/// Size of each uploaded part: S3's minimum for every part but the last, so an upload's buffers
/// stay small (8 MiB parts put a validator's peak over 150 MB during a 1 GB put, at 152-160 MB).
pub const UPLOAD_PART_SIZE_BYTES: usize = 5 * 1024 * 1024;
/// Parts uploading at once: with the part being filled, an upload holds at most three parts
/// (15 MiB) whatever the blob's size.
pub const UPLOAD_PARTS_IN_FLIGHT_MAX: usize = 2;
/// S3 refuses an upload of more parts than this.
const S3_PART_COUNT_MAX: u64 = 10_000;
/// S3's limit on one part of a server-side copy, which publication uses.
const S3_COPY_PART_SIZE_MAX_BYTES: u64 = 5 * 1024 * 1024 * 1024;

const _: () = assert!(UPLOAD_PART_SIZE_BYTES >= 5 * 1024 * 1024);
const _: () =
    assert!(BLOB_SIZE_MAX_BYTES.div_ceil(UPLOAD_PART_SIZE_BYTES as u64) <= S3_PART_COUNT_MAX);
const _: () = assert!(BLOB_SIZE_MAX_BYTES <= S3_COPY_PART_SIZE_MAX_BYTES);
