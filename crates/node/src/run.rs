//! Runs one node process under the tokio runtime: authenticated p2p over TCP with the nodes
//! named in the genesis, the consensus engine, and the HTTP API. A node whose key the genesis
//! lists as a validator votes; one it lists as an observer follows, verifies and serves reads.

use crate::{
    api::{self, ApiState},
    blobs::BlobService,
    chain::ChainView,
    config::{NodeConfig, load_genesis, load_validator_keys},
    dkg,
    engine::{self, EngineConfig, Timeouts, channel},
    epochs::{EpochRoster, TrackPeers},
    mempool::{COMMIT_LATENCY_BUCKETS_SECONDS, Mempool},
    reencryption::ReencryptionService,
};
use commonware_cryptography::{ChaCha20Poly1305, Signer as _, ed25519};
use commonware_p2p::{
    Address, AddressableManager as _, AddressableTrackedPeers, authenticated::lookup,
};
use commonware_runtime::telemetry::metrics::MetricsExt as _;
use commonware_runtime::{Quota, Runner as _, Spawner as _, Supervisor as _, tokio};
use commonware_stream::{
    cups::{self, Cups},
    sake::{self, Sake},
};
use commonware_utils::{NZU32, NZUsize, TryCollect as _, ordered::Map};
use medchain_types::{AccountId, limits};
use std::{net::SocketAddr, num::NonZeroUsize, sync::Arc, time::Duration};
use tracing::{error, info, warn};

/// Capacity of the p2p router's mailbox, in messages. The router preallocates it (about 60 KB a
/// slot here), so it is sized like commonware's own examples rather than generously: 4096 slots
/// cost each validator about 240 MB of resident memory before any load.
const P2P_MAILBOX_MESSAGES: usize = 1024;

/// Messages per second one peer may send on one channel before being throttled. Consensus sends
/// a few messages per view per channel (about ten views a second under load), so this leaves
/// two orders of magnitude of headroom; each channel's inbound mailbox is preallocated for one
/// burst of this size from every peer, so it is also a memory bound.
const P2P_CHANNEL_QUOTA_PER_SECOND: u32 = 1_000;

/// Peers beyond the genesis nodes a node makes room for by default (see
/// `NodeConfig::p2p_peers_max`).
pub const P2P_PEERS_HEADROOM: usize = 8;

/// Peer sets the p2p layer keeps at once: the current epoch's and the previous one's, so that
/// a node keeps its connections while peers cross an epoch boundary at slightly different times.
/// Each costs inbound buffer room for every peer, so no more are kept.
const P2P_TRACKED_PEER_SETS: usize = 2;

/// Errors that stop a node before it starts.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("node p2p address {address:?} in the genesis is not ip:port: {source}")]
    BadAddress {
        address: String,
        source: std::net::AddrParseError,
    },
    #[error("the genesis lists a node twice")]
    DuplicateNode,
    #[error(
        "the HTTP API cannot listen on {address}: {source}; stop whatever uses that port or set http_listen in node.toml to a free address"
    )]
    ApiBind {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("the HTTP API on {address} stopped: {reason}; restart the node")]
    ApiStopped { address: SocketAddr, reason: String },
    #[error("the blob store cannot be opened: {0}; fix [blobs] in node.toml")]
    BlobStore(#[from] medchain_blob::BlobError),
    #[error(
        "the re-encryption fragment store {path} cannot be opened: {source}; check storage_dir in node.toml and its permissions"
    )]
    FragmentStore {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// The p2p address of each `(key, host:port)` in `nodes`, keyed by the node's public key.
fn addressed<'a>(
    nodes: impl Iterator<Item = (&'a ed25519::PublicKey, &'a str)>,
) -> Result<Map<ed25519::PublicKey, Address>, RunError> {
    let mut peers = Vec::new();
    for (key, address) in nodes {
        let socket: SocketAddr = address.parse().map_err(|source| RunError::BadAddress {
            address: address.to_string(),
            source,
        })?;
        peers.push((key.clone(), Address::from(socket)));
    }
    peers
        .into_iter()
        .try_collect()
        .map_err(|_| RunError::DuplicateNode)
}

/// Opens each epoch's peer set: its validators are dialed at the addresses the ledger lists;
/// the genesis observers are accepted (never dialed) as secondary peers. A set larger than
/// `peers_max` would overflow the buffers the p2p layer sized at start, so observers beyond it
/// are left out, and a roster beyond it is refused with the fix in the log.
fn track_epoch_peers(
    mut oracle: lookup::Oracle<ed25519::PublicKey>,
    me: ed25519::PublicKey,
    observers: Map<ed25519::PublicKey, Address>,
    peers_max: usize,
) -> TrackPeers {
    Box::new(move |epoch: &EpochRoster| {
        let validators = epoch.roster.iter().filter(|e| e.validator != me).count();
        if validators > peers_max {
            error!(
                epoch = %epoch.epoch,
                validators,
                peers_max,
                "this epoch lists more validators than p2p_peers_max; raise p2p_peers_max in node.toml and restart to reach them"
            );
            return;
        }
        let mut primary = Vec::new();
        for entry in &epoch.roster {
            match entry.p2p_address.parse::<SocketAddr>() {
                Ok(socket) => primary.push((entry.validator.clone(), Address::from(socket))),
                // The state machine admits only ip:port addresses; this guards older ledgers.
                Err(e) => {
                    warn!(validator = %hex::encode(entry.validator.as_ref()), address = %entry.p2p_address, error = %e, "validator address is not ip:port; not dialing it")
                }
            }
        }
        let Ok(primary) = primary.into_iter().try_collect::<Map<_, _>>() else {
            warn!(epoch = %epoch.epoch, "an epoch roster lists a validator twice; keeping the previous peer set");
            return;
        };
        let room = peers_max - validators;
        let secondary: Map<_, _> = observers
            .iter_pairs()
            .filter(|(key, _)| primary.keys().position(key).is_none() && **key != me)
            .take(room)
            .map(|(key, address)| (key.clone(), address.clone()))
            .try_collect()
            .expect("a subset of a map has distinct keys");
        if secondary.len() < observers.len() && observers.len() > room {
            warn!(epoch = %epoch.epoch, peers_max, "observers beyond p2p_peers_max are not accepted this epoch; raise p2p_peers_max in node.toml");
        }
        oracle.track(
            epoch.epoch.get(),
            AddressableTrackedPeers::new(primary, secondary),
        );
    })
}

/// Where, under `storage_dir`, the re-encryption service keeps fragments and its release log.
pub const REENCRYPTION_DIR: &str = "reencryption";

/// Where, under `storage_dir`, a validator keeps its finished DKG rounds (share sealed).
pub const DKG_DIR: &str = "dkg";

/// Runs a validator or an observer until the process is stopped. Returns an error, before
/// consensus starts, if the HTTP API cannot bind its address, and if the API stops later.
pub fn run_node(config: NodeConfig) -> Result<(), RunError> {
    let genesis = Arc::new(load_genesis(&config.genesis_file)?);
    let validator_keys = load_validator_keys(&config.key_file)?;
    let signer: ed25519::PrivateKey = validator_keys.signing.clone();
    let dkg_signer = signer.clone();
    let me = signer.public_key();
    // Opened before consensus starts, so a store it cannot use stops the node at once.
    let blob_store = medchain_blob::BlobStore::open(&config.blob_store())?;
    let blob_signer = signer.clone();
    let fragments_dir = config.storage_dir.join(REENCRYPTION_DIR);
    let reencryption = ReencryptionService::open(
        &fragments_dir,
        AccountId::from(me.clone()),
        validator_keys.encryption.clone(),
        genesis.chain_id(),
    )
    .map_err(|source| RunError::FragmentStore {
        path: fragments_dir.clone(),
        source,
    })?;

    let validators = addressed(
        genesis
            .validators
            .iter()
            .map(|v| (&v.account.0, v.p2p_address.as_str())),
    )?;
    let observers = addressed(
        genesis
            .observers
            .iter()
            .map(|o| (&o.account.0, o.p2p_address.as_str())),
    )?;
    if validators.keys().position(&me).is_none() && observers.keys().position(&me).is_none() {
        // A validator admitted by governance is not in the genesis: it follows the chain from
        // genesis and votes from the epoch whose roster lists it.
        warn!(
            node = %hex::encode(me.as_ref()),
            "this node's key is not in the genesis: it follows the chain and votes only from the epoch after governance admits it as a validator"
        );
    }

    // The genesis validators run the analytics-key DKG; a validator admitted later receives
    // its share in the resharing round of the epoch that makes it a validator.
    let genesis_validators = validators.keys().clone();

    let peers_max = config
        .p2p_peers_max
        .map_or(
            genesis.validators.len() + genesis.observers.len() + P2P_PEERS_HEADROOM,
            NonZeroUsize::get,
        )
        .min(limits::VALIDATORS_MAX + limits::OBSERVERS_MAX);
    let runtime = tokio::Config::new()
        .with_storage_directory(config.storage_dir.clone())
        .with_tcp_nodelay(Some(true))
        .with_catch_panics(false);
    let runner = tokio::Runner::new(runtime);
    runner.start(async move |context| {
        let http = config.http_listen;
        let listener = api::bind(http).await.map_err(|source| RunError::ApiBind {
            address: http,
            source,
        })?;
        let mut p2p = lookup::Config::local(
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
            NonZeroUsize::new(peers_max).expect("peers_max is at least one"),
            engine::max_message_size(),
            NZUsize!(P2P_MAILBOX_MESSAGES),
        );
        p2p.tracked_peer_sets = NZUsize!(P2P_TRACKED_PEER_SETS);
        let (mut network, oracle) = lookup::Network::new(context.child("network"), p2p);
        let channels: Vec<_> = channel::ALL
            .iter()
            .map(|id| {
                network.register(*id, Quota::per_second(NZU32!(P2P_CHANNEL_QUOTA_PER_SECOND)))
            })
            .collect();
        let dkg_channel = network.register(
            channel::DKG,
            Quota::per_second(NZU32!(P2P_CHANNEL_QUOTA_PER_SECOND)),
        );
        network.start();

        let mempool = Mempool::with_commit_latency(context.child("mempool").histogram(
            "commit_latency_seconds",
            "Time from admitting a transaction through this node's API to its finalization.",
            COMMIT_LATENCY_BUCKETS_SECONDS,
        ));
        let chain = ChainView::new();
        let (consensus, handles) = engine::start(
            context.child("engine"),
            EngineConfig {
                signer,
                genesis: genesis.clone(),
                partition_prefix: "validator".to_string(),
                mempool,
                chain,
                timeouts: Timeouts::default(),
                page_cache_pages: config
                    .page_cache_pages
                    .unwrap_or(NZUsize!(crate::config::PAGE_CACHE_PAGES_DEFAULT)),
            },
            channels,
            oracle.clone(),
            oracle.clone(),
            track_epoch_peers(oracle, me.clone(), observers, peers_max),
            |mailbox| mailbox,
        )
        .await;

        let blobs = BlobService::new(blob_store, blob_signer, genesis.chain_id());
        let state = ApiState::new(
            genesis.clone(),
            handles,
            context.child("api"),
            blobs,
            reencryption,
        );
        ::tokio::spawn(crate::blobsync::run(
            state.clone(),
            Duration::from_secs(config.uncommitted_blob_max_age_seconds.get()),
        ));
        let adopted = context.child("dkg").gauge(
            "analytics_key_adopted",
            "1 once the ledger adopted an analytics key (a DKG output) this node holds a share of, else 0",
        );
        ::tokio::spawn(dkg::keeper::keep_analytics_key(
            context.child("dkg"),
            state.clone(),
            dkg::keeper::DkgIdentity {
                chain_id: genesis.chain_id(),
                signer: dkg_signer,
                encryption: validator_keys.encryption.clone(),
                dir: config.storage_dir.join(DKG_DIR),
            },
            genesis_validators,
            dkg_channel,
            adopted,
        ));
        let rate = config.api_requests_per_second_per_client;
        let server = context
            .child("http")
            .spawn(move |_| async move { api::serve(listener, state, rate).await });
        info!(
            chain = %genesis.chain_name,
            node = %hex::encode(me.as_ref()),
            http = %format!("http://{http}/v1/status"),
            "node started"
        );
        // A node without its API cannot take transactions or serve reads: it stops with it.
        match futures::future::select(consensus, server).await {
            futures::future::Either::Left((_, server)) => {
                server.abort();
                Ok(())
            }
            futures::future::Either::Right((served, _)) => {
                let reason = match served {
                    Ok(Ok(())) => "it closed".to_string(),
                    Ok(Err(e)) => e.to_string(),
                    Err(e) => e.to_string(),
                };
                error!(%http, %reason, "HTTP API stopped; stopping the node");
                Err(RunError::ApiStopped {
                    address: http,
                    reason,
                })
            }
        }
    })
}
