//! Where a node keeps its blobs, as a section of its `node.toml`:
//!
//! ```toml
//! [blobs]
//! kind = "local"
//! path = "blobs"            # relative paths are the node's to resolve (inside its data dir)
//!
//! # or, for a consortium member that outgrew its disks:
//! [blobs]
//! kind = "s3"
//! endpoint = "https://s3.example.org"   # leave out for AWS itself
//! bucket = "medchain-blobs"
//! region = "eu-central-1"
//! access_key_id = "AKIA..."
//! secret_access_key_env = "MEDCHAIN_S3_SECRET"   # or secret_access_key_file = "/run/secrets/s3"
//! allow_http = false
//! ```

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{BLOB_SIZE_MAX_BYTES, BlobError};

/// A blob store's backend. The secret key is never part of the configuration itself: it is read
/// from an environment variable or a file when the store is opened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum BlobStoreConfig {
    /// A directory on the node's own disk, created if missing.
    Local {
        path: PathBuf,
        /// Largest blob accepted; at most [`BLOB_SIZE_MAX_BYTES`].
        #[serde(default = "default_size_max_bytes")]
        size_max_bytes: u64,
    },
    /// Any S3-compatible object store.
    S3(S3Config),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    /// The store's URL; `None` means AWS S3 itself.
    #[serde(default)]
    pub endpoint: Option<String>,
    pub bucket: String,
    #[serde(default = "default_region")]
    pub region: String,
    pub access_key_id: String,
    /// Name of the environment variable holding the secret access key.
    #[serde(default)]
    pub secret_access_key_env: Option<String>,
    /// Path of a file holding the secret access key (surrounding whitespace is ignored).
    #[serde(default)]
    pub secret_access_key_file: Option<PathBuf>,
    /// Allow a plain-HTTP endpoint (a store on the same host or a test server).
    #[serde(default)]
    pub allow_http: bool,
    /// Largest blob accepted; at most [`BLOB_SIZE_MAX_BYTES`].
    #[serde(default = "default_size_max_bytes")]
    pub size_max_bytes: u64,
}

fn default_size_max_bytes() -> u64 {
    BLOB_SIZE_MAX_BYTES
}

fn default_region() -> String {
    "us-east-1".to_owned()
}

impl BlobStoreConfig {
    /// A local directory with the largest allowed blob size.
    pub fn local(path: impl Into<PathBuf>) -> Self {
        Self::Local {
            path: path.into(),
            size_max_bytes: BLOB_SIZE_MAX_BYTES,
        }
    }

    pub fn size_max_bytes(&self) -> u64 {
        match self {
            Self::Local { size_max_bytes, .. } => *size_max_bytes,
            Self::S3(s3) => s3.size_max_bytes,
        }
    }
}

impl S3Config {
    /// The secret access key, from exactly one of its two sources.
    pub(crate) fn secret_access_key(&self) -> Result<String, BlobError> {
        match (&self.secret_access_key_env, &self.secret_access_key_file) {
            (Some(var), None) => std::env::var(var).map_err(|_| {
                BlobError::Config(format!(
                    "the S3 secret access key is to come from the environment variable {var}, \
                     which is not set: export it before starting the node"
                ))
            }),
            (None, Some(path)) => std::fs::read_to_string(path)
                .map(|s| s.trim().to_owned())
                .map_err(|e| {
                    BlobError::Config(format!(
                        "cannot read the S3 secret access key from {}: {e}; check the path \
                         and its permissions",
                        path.display()
                    ))
                }),
            _ => Err(BlobError::Config(
                "an S3 blob store needs exactly one of secret_access_key_env and \
                 secret_access_key_file"
                    .to_owned(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_store_reads_from_toml_with_the_default_limit() {
        let config: BlobStoreConfig = toml::from_str("kind = \"local\"\npath = \"blobs\"").unwrap();
        assert_eq!(config, BlobStoreConfig::local("blobs"));
        assert_eq!(config.size_max_bytes(), BLOB_SIZE_MAX_BYTES);
    }

    #[test]
    fn an_s3_store_reads_from_toml() {
        let config: BlobStoreConfig = toml::from_str(
            "kind = \"s3\"\nendpoint = \"http://127.0.0.1:9000\"\nbucket = \"b\"\n\
             access_key_id = \"id\"\nsecret_access_key_file = \"/run/s3\"\nallow_http = true",
        )
        .unwrap();
        let BlobStoreConfig::S3(s3) = config else {
            panic!("kind = s3 gave {config:?}");
        };
        assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(s3.region, "us-east-1");
        assert!(s3.allow_http);
        assert_eq!(s3.secret_access_key_file, Some(PathBuf::from("/run/s3")));
    }

    #[test]
    fn an_unknown_field_is_refused() {
        let err = toml::from_str::<BlobStoreConfig>("kind = \"local\"\npath = \"b\"\nsecret = 1")
            .unwrap_err();
        assert!(err.to_string().contains("unknown field `secret`"), "{err}");
    }

    #[test]
    fn an_s3_store_with_both_or_neither_secret_source_is_refused() {
        let mut s3 = S3Config {
            endpoint: None,
            bucket: "b".into(),
            region: default_region(),
            access_key_id: "id".into(),
            secret_access_key_env: None,
            secret_access_key_file: None,
            allow_http: false,
            size_max_bytes: BLOB_SIZE_MAX_BYTES,
        };
        assert!(
            matches!(s3.secret_access_key(), Err(BlobError::Config(m)) if m.contains("exactly one"))
        );
        s3.secret_access_key_env = Some("X".into());
        s3.secret_access_key_file = Some("/x".into());
        assert!(
            matches!(s3.secret_access_key(), Err(BlobError::Config(m)) if m.contains("exactly one"))
        );
    }
}
