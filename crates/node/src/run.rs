//! Runs one validator process under the tokio runtime: authenticated p2p over TCP with the
//! other validators named in the genesis, the consensus engine, and the HTTP API.

use crate::{
    api::{self, ApiState},
    chain::ChainView,
    config::{NodeConfig, load_genesis, load_validator_keys},
    engine::{self, EngineConfig, Timeouts, channel},
    mempool::Mempool,
};
use commonware_cryptography::{ChaCha20Poly1305, Signer as _, ed25519};
use commonware_p2p::{Address, AddressableManager as _, authenticated::lookup};
use commonware_runtime::{Quota, Runner as _, Spawner as _, Supervisor as _, tokio};
use commonware_stream::{
    cups::{self, Cups},
    sake::{self, Sake},
};
use commonware_utils::{
    NZU32, NZUsize, TryCollect as _,
    ordered::{Map, Set},
};
use std::{net::SocketAddr, sync::Arc, time::Duration};
use tracing::{error, info};

/// Capacity of the p2p router's mailbox, in messages. The router preallocates it (about 60 KB a
/// slot here), so it is sized like commonware's own examples rather than generously: 4096 slots
/// cost each validator about 240 MB of resident memory before any load.
const P2P_MAILBOX_MESSAGES: usize = 1024;

/// Messages per second one peer may send on one channel before being throttled. Consensus sends
/// a few messages per view per channel (about ten views a second under load), so this leaves
/// two orders of magnitude of headroom; each channel's inbound mailbox is preallocated for one
/// burst of this size from every peer, so it is also a memory bound.
const P2P_CHANNEL_QUOTA_PER_SECOND: u32 = 1_000;

/// Errors that stop a node before it starts.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Config(#[from] crate::config::ConfigError),
    #[error(
        "this node's key {0} is not a validator in the genesis; check key_file and genesis_file"
    )]
    NotAValidator(String),
    #[error("validator address {address:?} in the genesis is not host:port: {source}")]
    BadAddress {
        address: String,
        source: std::net::AddrParseError,
    },
    #[error("the genesis lists a validator twice")]
    DuplicateValidator,
}

/// Runs a validator until the process is stopped.
pub fn run_validator(config: NodeConfig) -> Result<(), RunError> {
    let genesis = Arc::new(load_genesis(&config.genesis_file)?);
    let signer: ed25519::PrivateKey = load_validator_keys(&config.key_file)?.signing;
    let me = signer.public_key();

    let mut peers = Vec::new();
    for v in &genesis.validators {
        let address: SocketAddr = v
            .p2p_address
            .parse()
            .map_err(|source| RunError::BadAddress {
                address: v.p2p_address.clone(),
                source,
            })?;
        peers.push((v.account.0.clone(), Address::from(address)));
    }
    let validators: Set<ed25519::PublicKey> = peers
        .iter()
        .map(|(k, _)| k.clone())
        .try_collect()
        .map_err(|_| RunError::DuplicateValidator)?;
    if validators.position(&me).is_none() {
        return Err(RunError::NotAValidator(hex::encode(me.as_ref())));
    }
    let peer_map: Map<ed25519::PublicKey, Address> = peers
        .into_iter()
        .try_collect()
        .map_err(|_| RunError::DuplicateValidator)?;

    let runtime = tokio::Config::new()
        .with_storage_directory(config.storage_dir.clone())
        .with_tcp_nodelay(Some(true))
        .with_catch_panics(false);
    let runner = tokio::Runner::new(runtime);
    runner.start(async move |context| {
        let max_message = engine::max_message_size(validators.len() as u32);
        let p2p = lookup::Config::local(
            Cups::<_, ChaCha20Poly1305>::new(
                Sake {
                    signer: signer.clone(),
                    synchrony_bound: Duration::from_secs(5),
                    max_handshake_age: Duration::from_secs(10),
                    version: sake::Version::V1,
                },
                cups::Version::V1,
            ),
            &engine::p2p_namespace(&genesis.chain_name),
            config.p2p_listen,
            NZUsize!(validators.len().max(1)),
            max_message,
            NZUsize!(P2P_MAILBOX_MESSAGES),
        );
        let (mut network, mut oracle) = lookup::Network::new(context.child("network"), p2p);
        oracle.track(0, peer_map);
        let channels: Vec<_> = channel::ALL
            .iter()
            .map(|id| {
                network.register(*id, Quota::per_second(NZU32!(P2P_CHANNEL_QUOTA_PER_SECOND)))
            })
            .collect();
        network.start();

        let mempool = Mempool::new();
        let chain = ChainView::new();
        let (consensus, handles) = engine::start(
            context.child("engine"),
            EngineConfig {
                signer,
                validators: validators.clone(),
                genesis: genesis.clone(),
                partition_prefix: "validator".to_string(),
                mempool,
                chain,
                timeouts: Timeouts::default(),
                page_cache_pages: NZUsize!(4096),
            },
            channels,
            oracle.clone(),
            oracle,
            |mailbox| mailbox,
        )
        .await;

        let state = ApiState::new(genesis.clone(), validators, handles, context.child("api"));
        let http = config.http_listen;
        let server = context.child("http").spawn(move |_| async move {
            if let Err(e) = api::serve(http, state).await {
                error!(error = %e, %http, "HTTP API stopped");
            }
        });
        info!(
            chain = %genesis.chain_name,
            validator = %hex::encode(me.as_ref()),
            http = %format!("http://{http}/v1/status"),
            "validator started"
        );
        let _ = consensus.await;
        server.abort();
    });
    Ok(())
}
