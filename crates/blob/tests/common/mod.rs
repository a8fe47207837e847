//! The two backends every blob-store test runs against: a local directory and a real
//! S3-compatible server (moto, started by `scripts/s3-server.sh`, reached through
//! `MEDCHAIN_TEST_S3_ENDPOINT`). Under `CI=true` a missing endpoint fails the S3 runs.

#![allow(dead_code)] // each test binary uses its own part of the fixtures

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use medchain_blob::{BlobStore, BlobStoreConfig, S3Config};
use object_store::ObjectStore;
use object_store::aws::{AmazonS3Builder, S3CopyIfNotExists};
use object_store::local::LocalFileSystem;

pub const S3_ENDPOINT_VAR: &str = "MEDCHAIN_TEST_S3_ENDPOINT";
const ACCESS_KEY_ID: &str = "medchain-test";
const SECRET_ACCESS_KEY: &str = "medchain-test-secret";

static FIXTURE_COUNTER: AtomicU64 = AtomicU64::new(0);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Local,
    S3,
}

/// A fresh, empty store plus a raw handle on the same objects, for tampering with them.
pub struct Fixture {
    pub store: BlobStore,
    pub raw: Arc<dyn ObjectStore>,
    pub backend: Backend,
}

fn unique_name(test: &str) -> String {
    let n = FIXTURE_COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{}-{}-{n}", test.replace('_', "-"), std::process::id())
}

fn tmp_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("blob-tests")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The S3 endpoint, or `None` (with the reason printed) when these runs are skipped. Under CI
/// the endpoint must be there: a skipped S3 suite would pass without testing anything.
pub fn s3_endpoint() -> Option<String> {
    match std::env::var(S3_ENDPOINT_VAR) {
        Ok(endpoint) => Some(endpoint),
        Err(_) if std::env::var("CI").as_deref() == Ok("true") => panic!(
            "CI=true but {S3_ENDPOINT_VAR} is not set: scripts/test.sh starts the S3 server \
             (scripts/s3-server.sh) and exports its endpoint before the tests"
        ),
        Err(_) => {
            eprintln!(
                "skipping the S3 run: {S3_ENDPOINT_VAR} is not set (start one with \
                 `export $(scripts/s3-server.sh)`; under CI=true this is a failure)"
            );
            None
        }
    }
}

/// A fixture on `backend`, or `None` when the S3 server is not configured outside CI.
pub async fn fixture(backend: Backend, test: &str, size_max_bytes: u64) -> Option<Fixture> {
    let name = unique_name(test);
    match backend {
        Backend::Local => {
            let dir = tmp_dir(&name);
            let store = BlobStore::open(&BlobStoreConfig::Local {
                path: dir.clone(),
                size_max_bytes,
            })
            .unwrap();
            let raw = Arc::new(LocalFileSystem::new_with_prefix(&dir).unwrap());
            Some(Fixture {
                store,
                raw,
                backend,
            })
        }
        Backend::S3 => {
            let endpoint = s3_endpoint()?;
            // Bucket names: lower case, at most 63 characters.
            let bucket: String = name
                .to_lowercase()
                .chars()
                .rev()
                .take(63)
                .collect::<String>();
            let bucket: String = bucket.chars().rev().collect();
            let bucket = bucket.trim_start_matches('-').to_owned();
            let created = reqwest::Client::new()
                .put(format!("{endpoint}/{bucket}"))
                .send()
                .await
                .unwrap_or_else(|e| panic!("the S3 server at {endpoint} does not answer: {e}"));
            assert!(
                created.status().is_success(),
                "creating bucket {bucket}: {created:?}"
            );
            let secret_file = tmp_dir(&name).join("s3-secret");
            std::fs::write(&secret_file, format!("{SECRET_ACCESS_KEY}\n")).unwrap();
            let config = S3Config {
                endpoint: Some(endpoint.clone()),
                bucket: bucket.clone(),
                region: "us-east-1".into(),
                access_key_id: ACCESS_KEY_ID.into(),
                secret_access_key_env: None,
                secret_access_key_file: Some(secret_file),
                allow_http: true,
                size_max_bytes,
            };
            let store = BlobStore::open(&BlobStoreConfig::S3(config)).unwrap();
            let raw = AmazonS3Builder::new()
                .with_endpoint(&endpoint)
                .with_bucket_name(&bucket)
                .with_region("us-east-1")
                .with_access_key_id(ACCESS_KEY_ID)
                .with_secret_access_key(SECRET_ACCESS_KEY)
                .with_allow_http(true)
                .with_copy_if_not_exists(S3CopyIfNotExists::Multipart)
                .build()
                .unwrap();
            Some(Fixture {
                store,
                raw: Arc::new(raw),
                backend,
            })
        }
    }
}

/// Deterministic bytes (a seeded xorshift), different for each seed.
pub fn bytes_of(seed: u64, len: usize) -> Bytes {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    Bytes::from(out)
}

/// `bytes` as an upload body in pieces of `piece_bytes`.
pub fn body_of(
    bytes: &Bytes,
    piece_bytes: usize,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + use<> {
    let pieces: Vec<_> = (0..bytes.len().div_ceil(piece_bytes).max(1))
        .map(|i| Ok(bytes.slice(i * piece_bytes..((i + 1) * piece_bytes).min(bytes.len()))))
        .collect();
    futures::stream::iter(pieces)
}
