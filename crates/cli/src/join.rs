//! `medchain join`: prepares the node of an institution joining a running consortium as a
//! validator: a new key, a copy of the consortium's genesis and a node.toml. Started with
//! `medchain node`, the node follows the chain from genesis (once the validators admit its
//! connections) and votes from the epoch after governance admits it.
//!
//! Layout: `DIR/{node.toml, validator.key, genesis.toml, storage/}`.

use crate::init::write_node_files;
use anyhow::{Context as _, Result, bail};
use commonware_cryptography::Signer as _;
use medchain_crypto::keys::MasterSeed;
use medchain_node::config::{load_genesis, validator_keys};
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

/// What the new node needs to be admitted: the values of its `AddValidator` proposal.
pub struct Joined {
    /// The node's Ed25519 key (hex): its p2p identity and, once admitted, its vote key.
    pub validator_key: String,
    /// Its X25519 key (hex) that re-encryption fragments are sealed to.
    pub encryption_key: String,
    /// Proof (hex) that the node holds its validator key, for this consortium's chain.
    pub validator_proof: String,
    /// Proof (hex, XEdDSA) that the node holds its X25519 key, for this consortium's chain.
    pub encryption_key_proof: String,
    pub p2p_address: SocketAddr,
    pub http_address: SocketAddr,
    pub config: PathBuf,
}

/// Creates the node directory `dir` for the consortium of `genesis_file`.
pub fn prepare(
    genesis_file: &Path,
    dir: &Path,
    p2p: SocketAddr,
    http: SocketAddr,
) -> Result<Joined> {
    if dir.join("node.toml").exists() {
        bail!(
            "{} already holds a node; choose another --data-dir",
            dir.display()
        );
    }
    let genesis = load_genesis(genesis_file)?;
    let seed = MasterSeed::generate(&mut rand::rng());
    let keys = validator_keys(&seed)?;
    let validator = keys.signing.public_key();
    let listed = genesis.validators.iter().any(|v| v.account.0 == validator)
        || genesis.observers.iter().any(|o| o.account.0 == validator);
    if listed {
        bail!("the new key is already in the genesis; run join again for a fresh key");
    }
    write_node_files(
        dir,
        "validator.key",
        &seed,
        (p2p, http),
        Path::new("genesis.toml"),
    )?;
    std::fs::copy(genesis_file, dir.join("genesis.toml")).with_context(|| {
        format!(
            "cannot copy {} into {}",
            genesis_file.display(),
            dir.display()
        )
    })?;
    let (validator_proof, encryption_key_proof) =
        medchain_state::registration::validator_key_proofs(
            &mut rand::rng(),
            &genesis.chain_id(),
            &keys.signing,
            &keys.encryption,
        );
    Ok(Joined {
        validator_key: hex::encode(validator.as_ref()),
        encryption_key: hex::encode(keys.encryption.public_key().to_bytes()),
        validator_proof: hex::encode(validator_proof),
        encryption_key_proof: hex::encode(encryption_key_proof),
        p2p_address: p2p,
        http_address: http,
        config: dir.join("node.toml"),
    })
}
