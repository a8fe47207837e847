//! The store itself: write-once streaming upload through a staging object, verified reads,
//! deletion for erasure and listing for the collection of blobs no record committed to.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3Builder, S3CopyIfNotExists};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{CopyMode, CopyOptions, ObjectStore, ObjectStoreExt, WriteMultipart};

use crate::config::S3Config;
use crate::{
    BLOB_SIZE_MAX_BYTES, BlobError, BlobHash, BlobStoreConfig, UPLOAD_PART_SIZE_BYTES,
    UPLOAD_PARTS_IN_FLIGHT_MAX, VerifiedBlobStream,
};

/// Published blobs: `blobs/<64 hex digits>`.
const BLOBS_PREFIX: &str = "blobs";
/// Uploads in progress: `staging/<hash>.<unique suffix>`, never read as blobs.
const STAGING_PREFIX: &str = "staging";

/// Tells staging objects of concurrent uploads in one process apart.
static UPLOAD_COUNTER: AtomicU64 = AtomicU64::new(0);

/// What a successful [`BlobStore::put`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutOutcome {
    /// The bytes were checked and published under their hash.
    Stored { size_bytes: u64 },
    /// The same blob was already stored (checked again); nothing was written.
    AlreadyStored { size_bytes: u64 },
}

impl PutOutcome {
    pub fn size_bytes(&self) -> u64 {
        match self {
            Self::Stored { size_bytes } | Self::AlreadyStored { size_bytes } => *size_bytes,
        }
    }
}

/// One published blob, as listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredBlob {
    pub hash: BlobHash,
    pub size_bytes: u64,
    /// When the store wrote it, in milliseconds since the Unix epoch.
    pub written_unix_ms: i64,
}

/// A content-addressed, write-once store of ciphertexts. Cheap to clone.
#[derive(Clone, Debug)]
pub struct BlobStore {
    inner: Arc<dyn ObjectStore>,
    /// For error messages: which backend failed.
    name: String,
    size_max_bytes: u64,
}

impl BlobStore {
    /// Opens the store a node's configuration names (creating a local directory if missing).
    pub fn open(config: &BlobStoreConfig) -> Result<Self, BlobError> {
        match config {
            BlobStoreConfig::Local {
                path,
                size_max_bytes,
            } => Self::local(path, *size_max_bytes),
            BlobStoreConfig::S3(s3) => Self::s3(s3),
        }
    }

    /// A store in a local directory. Writes are fsynced (file and directory) before an upload
    /// is acknowledged: a storage receipt promises the bytes survive a crash.
    pub fn local(
        path: impl AsRef<std::path::Path>,
        size_max_bytes: u64,
    ) -> Result<Self, BlobError> {
        let path = path.as_ref();
        std::fs::create_dir_all(path).map_err(|e| {
            BlobError::Config(format!(
                "cannot create the blob directory {}: {e}; check its parent's permissions",
                path.display()
            ))
        })?;
        let store = LocalFileSystem::new_with_prefix(path)
            .map_err(|e| BlobError::Config(format!("cannot open {}: {e}", path.display())))?
            .with_fsync(true);
        Self::from_object_store(Arc::new(store), size_max_bytes)
    }

    fn s3(config: &S3Config) -> Result<Self, BlobError> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_access_key_id(&config.access_key_id)
            .with_secret_access_key(config.secret_access_key()?)
            .with_allow_http(config.allow_http)
            // Publication is a create-only copy: a one-part multipart copy completed with
            // `If-None-Match: *`, which S3 and its compatible stores refuse when the key exists.
            .with_copy_if_not_exists(S3CopyIfNotExists::Multipart);
        if let Some(endpoint) = &config.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        let store = builder.build().map_err(|e| {
            BlobError::Config(format!(
                "cannot configure the S3 store {}: {e}",
                config.bucket
            ))
        })?;
        Self::from_object_store(Arc::new(store), config.size_max_bytes)
    }

    /// A store over any `object_store` backend that supports create-only copies.
    pub fn from_object_store(
        inner: Arc<dyn ObjectStore>,
        size_max_bytes: u64,
    ) -> Result<Self, BlobError> {
        if size_max_bytes == 0 || size_max_bytes > BLOB_SIZE_MAX_BYTES {
            return Err(BlobError::Config(format!(
                "size_max_bytes is {size_max_bytes}; set it between 1 and {BLOB_SIZE_MAX_BYTES}"
            )));
        }
        Ok(Self {
            name: inner.to_string(),
            inner,
            size_max_bytes,
        })
    }

    pub fn size_max_bytes(&self) -> u64 {
        self.size_max_bytes
    }

    fn key(hash: &BlobHash) -> Path {
        Path::from_iter([BLOBS_PREFIX, &hash.to_hex()])
    }

    fn store_error(&self, source: object_store::Error) -> BlobError {
        BlobError::Store {
            store: self.name.clone(),
            source,
        }
    }

    /// Streams `body` in as the blob `hash` of exactly `declared_size_bytes` bytes. The upload is
    /// refused before anything is read when the declared size is over the limit, and aborted
    /// (nothing readable, the staging object removed) as soon as the body runs past its declared
    /// size, fails, or ends short or with another hash.
    ///
    /// Run it to completion (the node spawns it as a task): a future dropped halfway leaves its
    /// staging object behind, which [`BlobStore::remove_staging_older_than`] collects.
    pub async fn put<S, E>(
        &self,
        hash: &BlobHash,
        declared_size_bytes: u64,
        body: S,
    ) -> Result<PutOutcome, BlobError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        if declared_size_bytes > self.size_max_bytes {
            return Err(BlobError::TooLarge {
                declared_bytes: declared_size_bytes,
                limit_bytes: self.size_max_bytes,
            });
        }
        if let Some(stored) = self.already_stored(hash, declared_size_bytes).await? {
            return Ok(stored);
        }
        let suffix = format!(
            "{}.{}-{}",
            hash.to_hex(),
            std::process::id(),
            UPLOAD_COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let staging = Path::from_iter([STAGING_PREFIX, &suffix]);
        let upload = self
            .inner
            .put_multipart(&staging)
            .await
            .map_err(|e| self.store_error(e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, UPLOAD_PART_SIZE_BYTES);
        if let Err(refusal) = self
            .stream_into(&mut writer, hash, declared_size_bytes, body)
            .await
        {
            // The refusal is what the uploader needs to hear; a failed abort only leaves a
            // staging object, never a readable blob.
            let _ = writer.abort().await;
            return Err(refusal);
        }
        writer.finish().await.map_err(|e| self.store_error(e))?;
        let published = self
            .inner
            .copy_opts(
                &staging,
                &Self::key(hash),
                CopyOptions::new().with_mode(CopyMode::Create),
            )
            .await;
        // The staging copy is no longer needed whatever happened; if deleting it fails it is
        // collected later and never read as a blob.
        let _ = self.inner.delete(&staging).await;
        match published {
            Ok(()) => Ok(PutOutcome::Stored {
                size_bytes: declared_size_bytes,
            }),
            // A concurrent upload of the same blob won the race: check what it wrote.
            // (`object_store` reports S3's 412 and its 409 for a completion in progress alike.)
            Err(object_store::Error::AlreadyExists { .. }) => self
                .already_stored(hash, declared_size_bytes)
                .await?
                .ok_or_else(|| BlobError::NotFound { hash: *hash }),
            Err(e) => Err(self.store_error(e)),
        }
    }

    /// Copies `body` into the staging upload while counting and hashing it.
    async fn stream_into<S, E>(
        &self,
        writer: &mut WriteMultipart,
        hash: &BlobHash,
        declared_size_bytes: u64,
        body: S,
    ) -> Result<(), BlobError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        let mut body = std::pin::pin!(body);
        let mut hasher = blake3::Hasher::new();
        let mut received_bytes = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| BlobError::Interrupted {
                received_bytes,
                reason: e.to_string(),
            })?;
            received_bytes += chunk.len() as u64;
            if received_bytes > declared_size_bytes {
                return Err(BlobError::LongerThanDeclared {
                    declared_bytes: declared_size_bytes,
                });
            }
            hasher.update(&chunk);
            writer
                .wait_for_capacity(UPLOAD_PARTS_IN_FLIGHT_MAX)
                .await
                .map_err(|e| self.store_error(e))?;
            writer.put(chunk);
        }
        if received_bytes < declared_size_bytes {
            return Err(BlobError::ShorterThanDeclared {
                received_bytes,
                declared_bytes: declared_size_bytes,
            });
        }
        let actual = BlobHash(*hasher.finalize().as_bytes());
        if actual != *hash {
            return Err(BlobError::HashMismatch {
                declared: *hash,
                actual,
            });
        }
        Ok(())
    }

    /// `Some` when the blob is already published and still hashes right; an error when it is
    /// there but corrupt, or of another size than the uploader declares (the hash fixes the size).
    async fn already_stored(
        &self,
        hash: &BlobHash,
        declared_size_bytes: u64,
    ) -> Result<Option<PutOutcome>, BlobError> {
        let Some(size_bytes) = self.size_of(hash).await? else {
            return Ok(None);
        };
        if size_bytes != declared_size_bytes {
            return Err(BlobError::DeclaredSizeWrong {
                hash: *hash,
                declared_bytes: declared_size_bytes,
                stored_bytes: size_bytes,
            });
        }
        self.verify(hash).await?;
        Ok(Some(PutOutcome::AlreadyStored { size_bytes }))
    }

    /// The blob's size, or `None` when it is not stored. Does not check the bytes.
    pub async fn size_of(&self, hash: &BlobHash) -> Result<Option<u64>, BlobError> {
        match self.inner.head(&Self::key(hash)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.store_error(e)),
        }
    }

    /// Streams the blob out, checking it against its hash on the way; see
    /// [`VerifiedBlobStream`] for when its bytes may be used.
    pub async fn get(&self, hash: &BlobHash) -> Result<VerifiedBlobStream, BlobError> {
        let result = match self.inner.get(&Self::key(hash)).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(BlobError::NotFound { hash: *hash });
            }
            Err(e) => return Err(self.store_error(e)),
        };
        let size_bytes = result.meta.size;
        if size_bytes > self.size_max_bytes {
            return Err(BlobError::Corrupt {
                hash: *hash,
                detail: format!(
                    "it is stored as {size_bytes} bytes, over the limit of {}",
                    self.size_max_bytes
                ),
            });
        }
        Ok(VerifiedBlobStream::new(
            *hash,
            self.name.clone(),
            size_bytes,
            result.into_stream(),
        ))
    }

    /// Reads the whole blob through the hash check without keeping it; its size when intact.
    pub async fn verify(&self, hash: &BlobHash) -> Result<u64, BlobError> {
        let mut stream = self.get(hash).await?;
        let size_bytes = stream.size_bytes();
        while stream.try_next().await?.is_some() {}
        Ok(size_bytes)
    }

    /// Deletes the blob (erasure); `false` when it was not stored.
    pub async fn delete(&self, hash: &BlobHash) -> Result<bool, BlobError> {
        if self.size_of(hash).await?.is_none() {
            return Ok(false);
        }
        match self.inner.delete(&Self::key(hash)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(true),
            Err(e) => Err(self.store_error(e)),
        }
    }

    /// Published blobs written before `cutoff_unix_ms`, for collecting those no committed
    /// record names. Objects under the prefix whose names are not hashes are not the store's and
    /// are left out.
    pub fn list_older_than(
        &self,
        cutoff_unix_ms: i64,
    ) -> BoxStream<'static, Result<StoredBlob, BlobError>> {
        let name = self.name.clone();
        self.inner
            .list(Some(&Path::from(BLOBS_PREFIX)))
            .map_err(move |source| BlobError::Store {
                store: name.clone(),
                source,
            })
            .try_filter_map(move |meta| async move {
                let written_unix_ms = meta.last_modified.timestamp_millis();
                let hash = meta
                    .location
                    .filename()
                    .and_then(|f| f.parse::<BlobHash>().ok());
                Ok(match hash {
                    Some(hash) if written_unix_ms < cutoff_unix_ms => Some(StoredBlob {
                        hash,
                        size_bytes: meta.size,
                        written_unix_ms,
                    }),
                    _ => None,
                })
            })
            .boxed()
    }

    /// Removes staging objects of uploads that were cut off (a crash) before `cutoff_unix_ms`;
    /// the count removed. Pass a cutoff older than the longest upload still allowed to run.
    pub async fn remove_staging_older_than(&self, cutoff_unix_ms: i64) -> Result<u64, BlobError> {
        let stale: Vec<Path> = self
            .inner
            .list(Some(&Path::from(STAGING_PREFIX)))
            .try_filter_map(|meta| async move {
                Ok((meta.last_modified.timestamp_millis() < cutoff_unix_ms)
                    .then_some(meta.location))
            })
            .try_collect()
            .await
            .map_err(|e| self.store_error(e))?;
        let mut removed = 0;
        for location in stale {
            match self.inner.delete(&location).await {
                Ok(()) => removed += 1,
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(self.store_error(e)),
            }
        }
        Ok(removed)
    }
}
