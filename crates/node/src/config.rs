//! A node's configuration file and the files it points to (genesis, validator key).

use medchain_crypto::keys::{KeyError, MasterSeed, PseudonymKeys};
use medchain_types::Genesis;
use serde::{Deserialize, Serialize};
use std::{
    net::SocketAddr,
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
}

/// Why a configuration file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
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
        Ok(config)
    }
}

/// Loads and validates a genesis document.
pub fn load_genesis(path: &Path) -> Result<Genesis, ConfigError> {
    let text = read_text(path)?;
    let genesis: Genesis = toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    genesis.validate().map_err(|e| ConfigError::Genesis {
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
