//! Durable upload and checked download of record ciphertexts.
//!
//! A clinician's client streams the envelope file to the blob endpoint of every validator in the
//! proven validator set and collects their signed storage receipts; a `CreateRecord` needs
//! receipts from 2f+1 of them. A download streams into a temporary file beside the destination,
//! hashing as it goes, and moves it into place only when the BLAKE3 and size match: a truncated,
//! substituted or tampered blob never reaches the caller's path.
//!
//! Memory stays constant whatever the file's size: the file is read in
//! [`BLOB_CHUNK_SIZE_BYTES`] pieces for each upload, and the download writes each piece as it
//! arrives.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::StreamExt as _;
use medchain_state::ValidatorSet;
use medchain_types::{AccountId, StorageReceipt, limits};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::{Client, ClientError};

/// Request and response header holding a blob's size in bytes (the node's `BLOB_SIZE_HEADER`).
pub const BLOB_SIZE_HEADER: &str = "x-medchain-blob-size";
/// Size of each piece read from the file for an upload.
pub const BLOB_CHUNK_SIZE_BYTES: usize = 256 * 1024;
/// Longest a blob transfer may go without progress before it is given up (a whole 1 GB upload
/// takes longer than the API's request timeout, so blobs have an idle timeout instead).
pub const BLOB_IDLE_TIMEOUT_MS: u64 = 30_000;
/// Longest connecting to a validator may take.
pub const BLOB_CONNECT_TIMEOUT_MS: u64 = 5_000;

/// The outcome of uploading one file to a validator set.
#[derive(Debug)]
pub struct BlobUpload {
    pub content_hash: [u8; 32],
    pub size_bytes: u64,
    /// Checked receipts (right chain, hash, size and signer), in the validator set's order.
    pub receipts: Vec<StorageReceipt>,
    /// The validators that did not give a valid receipt, and why.
    pub failures: Vec<(AccountId, ClientError)>,
}

/// BLAKE3 and size of a file, read in pieces.
pub async fn hash_file(path: &Path) -> Result<([u8; 32], u64), ClientError> {
    let mut file = open(path).await?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; BLOB_CHUNK_SIZE_BYTES];
    let mut size_bytes = 0u64;
    loop {
        let n = file.read(&mut buf).await.map_err(|e| file_error(path, e))?;
        if n == 0 {
            return Ok((*hasher.finalize().as_bytes(), size_bytes));
        }
        hasher.update(&buf[..n]);
        size_bytes += n as u64;
    }
}

async fn open(path: &Path) -> Result<tokio::fs::File, ClientError> {
    tokio::fs::File::open(path)
        .await
        .map_err(|e| file_error(path, e))
}

fn file_error(path: &Path, e: std::io::Error) -> ClientError {
    ClientError::File {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Told the number of bytes each piece of an upload carried as it is read, summed over every
/// validator being sent to (a progress bar's total is the file size times the validators).
pub type BlobProgress = std::sync::Arc<dyn Fn(u64) + Send + Sync>;

/// The file as a request body, read piece by piece.
fn file_body(file: tokio::fs::File, progress: Option<BlobProgress>) -> reqwest::Body {
    let stream = futures::stream::unfold(file, move |mut file| {
        let progress = progress.clone();
        async move {
            let mut buf = vec![0u8; BLOB_CHUNK_SIZE_BYTES];
            match file.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    if let Some(progress) = &progress {
                        progress(n as u64);
                    }
                    Some((Ok::<_, std::io::Error>(buf), file))
                }
                Err(e) => Some((Err(e), file)),
            }
        }
    });
    reqwest::Body::wrap_stream(stream)
}

impl Client {
    fn blob_http(&self) -> Result<reqwest::Client, ClientError> {
        reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(BLOB_CONNECT_TIMEOUT_MS))
            .read_timeout(Duration::from_millis(BLOB_IDLE_TIMEOUT_MS))
            .build()
            .map_err(|e| ClientError::BadUrl {
                url: self.base.clone(),
                message: e.to_string(),
            })
    }

    /// Streams the file at `path` (an envelope) to every validator of `validators` (the proven
    /// set from [`Client::validators`]) at once, and checks each receipt against the trusted
    /// chain. Validators that fail are listed, not fatal: the caller decides whether the
    /// receipts reach the quorum.
    pub async fn upload_blob(
        &self,
        validators: &ValidatorSet,
        path: &Path,
    ) -> Result<BlobUpload, ClientError> {
        self.upload_blob_reporting(validators, path, None).await
    }

    /// [`Client::upload_blob`], telling `progress` how many bytes went out as they go.
    pub async fn upload_blob_reporting(
        &self,
        validators: &ValidatorSet,
        path: &Path,
        progress: Option<BlobProgress>,
    ) -> Result<BlobUpload, ClientError> {
        let chain_id = self.trust()?.genesis.chain_id();
        let (content_hash, size_bytes) = hash_file(path).await?;
        let size_class_bytes = limits::record_size_class_bytes(size_bytes);
        let http = self.blob_http()?;
        let uploads = validators.validators.iter().map(|validator| {
            let http = http.clone();
            let progress = progress.clone();
            async move {
                let url = format!(
                    "http://{}/v1/blobs/{}",
                    validator.http_address,
                    hex::encode(content_hash)
                );
                let file = open(path).await?;
                let response = http
                    .put(&url)
                    .header(BLOB_SIZE_HEADER, size_bytes)
                    .body(file_body(file, progress))
                    .send()
                    .await;
                let receipt: StorageReceipt = self.read(&url, response).await?;
                if receipt.validator != validator.account
                    || !receipt.verify(&chain_id, &content_hash, size_class_bytes)
                {
                    return Err(ClientError::BadReceipt {
                        validator: validator.account.to_string(),
                    });
                }
                Ok(receipt)
            }
        });
        let results = futures::future::join_all(uploads).await;
        let mut receipts = Vec::new();
        let mut failures = Vec::new();
        for (validator, result) in validators.validators.iter().zip(results) {
            match result {
                Ok(receipt) => receipts.push(receipt),
                Err(e) => failures.push((validator.account.clone(), e)),
            }
        }
        Ok(BlobUpload {
            content_hash,
            size_bytes,
            receipts,
            failures,
        })
    }

    /// Streams the blob `content_hash` from this client's node into `out`, which appears only
    /// once the bytes hash to `content_hash` (and, when given, have `size_bytes`).
    pub async fn download_blob(
        &self,
        content_hash: &[u8; 32],
        size_bytes: Option<u64>,
        out: &Path,
    ) -> Result<u64, ClientError> {
        let partial = partial_path(out);
        let url = format!("{}/v1/blobs/{}", self.base, hex::encode(content_hash));
        let size = size_bytes.map_or(BlobSize::Any, BlobSize::Exact);
        let result = self.download_into(&url, content_hash, size, &partial).await;
        match result {
            Ok(written) => {
                tokio::fs::rename(&partial, out)
                    .await
                    .map_err(|e| file_error(out, e))?;
                Ok(written)
            }
            Err(e) => {
                let _ = tokio::fs::remove_file(&partial).await;
                Err(e)
            }
        }
    }

    /// Streams the blob `content_hash` of a record whose ledger entry names `size_class_bytes`
    /// from the validator whose API is at `http_address` into `file` (created or truncated).
    /// On an error the file holds unchecked bytes: the caller discards it. A record's ciphertext
    /// is read from any validator of the proven set, so this is how a reader tries one after
    /// another.
    pub async fn download_blob_from(
        &self,
        http_address: &str,
        content_hash: &[u8; 32],
        size_class_bytes: u64,
        file: &Path,
    ) -> Result<u64, ClientError> {
        let url = format!(
            "http://{http_address}/v1/blobs/{}",
            hex::encode(content_hash)
        );
        self.download_into(&url, content_hash, BlobSize::Class(size_class_bytes), file)
            .await
    }

    async fn download_into(
        &self,
        url: &str,
        content_hash: &[u8; 32],
        size: BlobSize,
        partial: &Path,
    ) -> Result<u64, ClientError> {
        let url = url.to_string();
        let size_bytes = size.max_bytes();
        let response = self.blob_http()?.get(&url).send().await;
        let response = match response {
            Ok(r) if r.status().is_success() => r,
            other => {
                // The API's error body, as every other call reads it.
                let _: serde_json::Value = self.read(&url, other).await?;
                return Err(ClientError::BadResponse(format!(
                    "{url} answered success without a blob"
                )));
            }
        };
        let mut file = tokio::fs::File::create(partial)
            .await
            .map_err(|e| file_error(partial, e))?;
        let mut hasher = blake3::Hasher::new();
        let mut received = 0u64;
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|source| ClientError::Unreachable {
                url: url.clone(),
                source,
            })?;
            received += chunk.len() as u64;
            if size_bytes.is_some_and(|size| received > size) {
                return Err(ClientError::BadBlob {
                    hash: hex::encode(content_hash),
                    reason: "it is longer than its record says".into(),
                });
            }
            hasher.update(&chunk);
            file.write_all(&chunk)
                .await
                .map_err(|e| file_error(partial, e))?;
        }
        file.sync_all().await.map_err(|e| file_error(partial, e))?;
        if !size.admits(received) {
            return Err(ClientError::BadBlob {
                hash: hex::encode(content_hash),
                reason: format!("it ended after {received} bytes"),
            });
        }
        if hasher.finalize().as_bytes() != content_hash {
            return Err(ClientError::BadBlob {
                hash: hex::encode(content_hash),
                reason: "its bytes hash to something else".into(),
            });
        }
        Ok(received)
    }
}

/// What a download knows of a blob's size.
#[derive(Clone, Copy)]
enum BlobSize {
    Any,
    Exact(u64),
    /// The ledger's size class: the blob is no longer and rounds up to it.
    Class(u64),
}

impl BlobSize {
    fn max_bytes(self) -> Option<u64> {
        match self {
            BlobSize::Any => None,
            BlobSize::Exact(size) | BlobSize::Class(size) => Some(size),
        }
    }

    fn admits(self, received: u64) -> bool {
        match self {
            BlobSize::Any => true,
            BlobSize::Exact(size) => received == size,
            BlobSize::Class(class) => limits::record_size_class_bytes(received) == class,
        }
    }
}

/// `out` with `.partial` appended, in the same directory so the final rename is atomic.
fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}
