//! A node's configuration file and the files it points to (genesis, validator key).

use medchain_blob::BlobStoreConfig;
use medchain_crypto::keys::{KeyError, MasterSeed, PseudonymKeys};
use medchain_types::{Genesis, limits};
use serde::{Deserialize, Serialize};
use std::{
    net::SocketAddr,
    num::NonZeroU32,
    path::{Path, PathBuf},
};

/// Largest configuration or genesis file read, so a wrong path cannot make the node read a disk
/// image into memory.
pub const CONFIG_FILE_SIZE_MAX_BYTES: u64 = 16 * 1024 * 1024;

/// `node.toml`: where one node finds its genesis, key and storage, and where it listens.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    pub genesis_file: PathBuf,
    pub key_file: PathBuf,
    pub storage_dir: PathBuf,
    pub p2p_listen: SocketAddr,
    pub http_listen: SocketAddr,
    /// Sustained API requests per second one client IP may make (bursts of twice that).
    #[serde(default = "default_api_rate")]
    pub api_requests_per_second_per_client: NonZeroU32,
    /// Most peers (validators and observers, besides this node) one epoch may list. The p2p layer
    /// reserves inbound buffer room for each, so the default is the genesis nodes plus
    /// `P2P_PEERS_HEADROOM` for validators governance admits later; raise it (and restart) when
    /// the consortium outgrows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p2p_peers_max: Option<std::num::NonZeroUsize>,
    /// Where record ciphertexts are kept (`[blobs]`, see `medchain_blob::BlobStoreConfig`). Left
    /// out, a `blobs` directory beside this file; a relative local path is relative to this
    /// file's directory too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blobs: Option<BlobStoreConfig>,
    /// Seconds after which a stored ciphertext that no committed record names (an upload whose
    /// record was never committed) is deleted; longer than any upload-then-commit takes.
    #[serde(default = "default_uncommitted_blob_age")]
    pub uncommitted_blob_max_age_seconds: std::num::NonZeroU64,
    /// Pages of 16 KiB the state database and the block archives share as their read cache
    /// (each allocated up front). Left out, [`PAGE_CACHE_PAGES_DEFAULT`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_cache_pages: Option<std::num::NonZeroUsize>,
}

/// The read cache a node gets unless its node.toml says otherwise: 4,096 pages of 16 KiB
/// (64 MiB at most; the buffers are allocated up front but only touched pages count in RSS: a
/// release validator idles at about 122 MB whether this is 1,024 or 4,096).
pub const PAGE_CACHE_PAGES_DEFAULT: usize = 4_096;

fn default_uncommitted_blob_age() -> std::num::NonZeroU64 {
    std::num::NonZeroU64::new(crate::blobsync::UNCOMMITTED_BLOB_MAX_AGE_SECONDS_DEFAULT)
        .expect("the default age is not zero")
}

fn default_api_rate() -> NonZeroU32 {
    NonZeroU32::new(crate::ratelimit::API_REQUESTS_PER_SECOND_PER_CLIENT)
        .expect("the default rate is not zero")
}

/// Why a configuration file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is larger than {CONFIG_FILE_SIZE_MAX_BYTES} bytes; is it the right file?")]
    TooLarge { path: PathBuf },
    #[error("{path} is not valid TOML for this file: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path} does not hold a validator seed (expected 64 hex characters): {message}")]
    Key { path: PathBuf, message: String },
    #[error("genesis {path} is invalid: {message}")]
    Genesis { path: PathBuf, message: String },
    #[error(
        "{path}: [blobs] size_max_bytes is {got}, over the largest record the ledger accepts \
         ({max} bytes); lower it or leave it out"
    )]
    BlobLimit { path: PathBuf, got: u64, max: u64 },
}

/// Reads a whole small text file, refusing oversized ones.
pub fn read_text(path: &Path) -> Result<String, ConfigError> {
    let read = |source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read)?;
    if meta.len() > CONFIG_FILE_SIZE_MAX_BYTES {
        return Err(ConfigError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    std::fs::read_to_string(path).map_err(read)
}

impl NodeConfig {
    /// Loads `node.toml`; relative paths in it are relative to the file's own directory, so a
    /// data directory can be moved as a whole.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = read_text(path)?;
        let mut config: Self = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        for file in [
            &mut config.genesis_file,
            &mut config.key_file,
            &mut config.storage_dir,
        ] {
            if file.is_relative() {
                *file = base.join(&*file);
            }
        }
        let mut blobs = config.blobs.take().unwrap_or(BlobStoreConfig::Local {
            path: PathBuf::from(DEFAULT_BLOB_DIR),
            size_max_bytes: limits::RECORD_SIZE_MAX_BYTES,
        });
        if let BlobStoreConfig::Local { path: dir, .. } = &mut blobs
            && dir.is_relative()
        {
            *dir = base.join(&*dir);
        }
        // The store takes nothing the ledger would refuse to commit.
        let got = blobs.size_max_bytes();
        if got > limits::RECORD_SIZE_MAX_BYTES {
            return Err(ConfigError::BlobLimit {
                path: path.to_path_buf(),
                got,
                max: limits::RECORD_SIZE_MAX_BYTES,
            });
        }
        config.blobs = Some(blobs);
        Ok(config)
    }

    /// The blob store this node uses; after [`NodeConfig::load`] always the resolved one.
    pub fn blob_store(&self) -> BlobStoreConfig {
        self.blobs.clone().unwrap_or(BlobStoreConfig::Local {
            path: PathBuf::from(DEFAULT_BLOB_DIR),
            size_max_bytes: limits::RECORD_SIZE_MAX_BYTES,
        })
    }
}

/// The blob directory of a node whose `node.toml` names none, beside the file.
pub const DEFAULT_BLOB_DIR: &str = "blobs";

/// Loads and validates a genesis document, every founding key's proof of possession included.
pub fn load_genesis(path: &Path) -> Result<Genesis, ConfigError> {
    let text = read_text(path)?;
    let genesis: Genesis = toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    medchain_state::check_genesis(&genesis).map_err(|e| ConfigError::Genesis {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok(genesis)
}

/// The derivation label of a validator's keys within its master seed.
pub const VALIDATOR_KEY_LABEL: &[u8] = b"validator";

/// A validator's keys: Ed25519 for consensus and transactions, X25519 for the re-encryption
/// key fragments patients seal to it.
pub fn validator_keys(seed: &MasterSeed) -> Result<PseudonymKeys, KeyError> {
    seed.pseudonym_keys(VALIDATOR_KEY_LABEL)
}

/// Loads a validator's master seed (32 bytes as hex, the file readable by its owner only) and
/// derives its keys.
pub fn load_validator_keys(path: &Path) -> Result<PseudonymKeys, ConfigError> {
    let text = zeroize::Zeroizing::new(read_text(path)?);
    let key_error = |message: String| ConfigError::Key {
        path: path.to_path_buf(),
        message,
    };
    let bytes =
        zeroize::Zeroizing::new(hex::decode(text.trim()).map_err(|e| key_error(e.to_string()))?);
    let seed = MasterSeed::from_slice(&bytes).map_err(|e| key_error(e.to_string()))?;
    validator_keys(&seed).map_err(|e| key_error(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_files_over_the_size_limit_are_refused_unread() {
        let dir = std::env::temp_dir().join(format!("medchain-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let at_limit = dir.join("at-limit.toml");
        std::fs::File::create(&at_limit)
            .unwrap()
            .set_len(CONFIG_FILE_SIZE_MAX_BYTES)
            .unwrap();
        assert_eq!(
            read_text(&at_limit).unwrap().len() as u64,
            CONFIG_FILE_SIZE_MAX_BYTES
        );
        let over = dir.join("over.toml");
        std::fs::File::create(&over)
            .unwrap()
            .set_len(CONFIG_FILE_SIZE_MAX_BYTES + 1)
            .unwrap();
        assert!(matches!(
            read_text(&over),
            Err(ConfigError::TooLarge { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_zero_request_rate_is_refused_with_the_field_named() {
        let text = r#"
            genesis_file = "genesis.toml"
            key_file = "validator.key"
            storage_dir = "storage"
            p2p_listen = "127.0.0.1:3000"
            http_listen = "127.0.0.1:8080"
            api_requests_per_second_per_client = 0
        "#;
        let error = toml::from_str::<NodeConfig>(text).unwrap_err().to_string();
        assert!(
            error.contains("api_requests_per_second_per_client"),
            "{error}"
        );
        let five = toml::from_str::<NodeConfig>(&text.replace("= 0", "= 5")).unwrap();
        assert_eq!(five.api_requests_per_second_per_client.get(), 5);
    }

    #[test]
    fn the_blob_store_defaults_to_a_directory_beside_node_toml_and_its_limit_is_capped() {
        let dir =
            std::env::temp_dir().join(format!("medchain-config-blobs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let base = r#"
            genesis_file = "genesis.toml"
            key_file = "validator.key"
            storage_dir = "storage"
            p2p_listen = "127.0.0.1:3000"
            http_listen = "127.0.0.1:8080"
        "#;
        let path = dir.join("node.toml");
        std::fs::write(&path, base).unwrap();
        assert_eq!(
            NodeConfig::load(&path).unwrap().blob_store(),
            BlobStoreConfig::Local {
                path: dir.join(DEFAULT_BLOB_DIR),
                size_max_bytes: limits::RECORD_SIZE_MAX_BYTES,
            }
        );
        let over = limits::RECORD_SIZE_MAX_BYTES + 1;
        std::fs::write(
            &path,
            format!("{base}\n[blobs]\nkind = \"local\"\npath = \"b\"\nsize_max_bytes = {over}\n"),
        )
        .unwrap();
        assert!(matches!(
            NodeConfig::load(&path),
            Err(ConfigError::BlobLimit { got, .. }) if got == over
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
