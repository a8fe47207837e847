//! Wires one validator's consensus stack: simplex (BFT agreement on block digests), buffered
//! broadcast (block dissemination), marshal (ordered finalized blocks, backfill, archives),
//! `glue::stateful` (speculative and finalized QMDB state) and the ledger application.
//!
//! The function is generic over the runtime and the p2p network, so the same code runs under
//! tokio with authenticated TCP in production and under the deterministic runtime with the
//! simulated network in tests. This module, `epochs` and `app` are the only code that knows the
//! engine's types (the block itself is `medchain_verify`'s, with the engine's traits from its
//! `consensus` feature); swapping engines touches only them.

use crate::faults::FaultReporter;
use crate::{
    app::{LedgerApp, ProposerMeter},
    chain::ChainView,
    epochs::{
        EpochReporter, EpochStart, Epochs, Orchestrator, StartSimplex, TrackPeers,
        simplex_partition,
    },
    mempool::Mempool,
    store::{NoStateSync, StateSet, state_db_config},
};
use commonware_broadcast::buffered;
use commonware_consensus::Reporters;
use commonware_consensus::{
    CertifiableAutomaton, Relay, Reporter,
    marshal::{
        self,
        core::{Actor as MarshalActor, Mailbox as MarshalMailbox},
        resolver::p2p as marshal_resolver,
        standard::{Deferred, Standard},
    },
    simplex::{
        self,
        config::{ForwardPolicy, SkipPolicy},
        elector::RoundRobin,
        scheme::ed25519 as ed25519_scheme,
    },
    types::{FixedEpocher, ViewDelta},
};
use commonware_cryptography::{Digestible as _, Sha256, Signer as _, ed25519, sha256};
use commonware_glue::stateful::{
    Config as StatefulConfig, Mailbox as StatefulMailbox, PruneConfig, Stateful, SyncPlan,
    db::{DatabaseSet, SyncEngineConfig},
};
use commonware_p2p::{Blocker, Provider, Receiver, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::telemetry::metrics::{Counter, MetricsExt as _};
use commonware_runtime::{Clock, Handle, Metrics, Spawner, Storage, buffer::paged::CacheRef};
use commonware_storage::{archive::prunable, translator::TwoCap};
use commonware_utils::{NZDuration, NZU16, NZU64, NZUsize, channel::mpsc, union};
use medchain_types::{Genesis, limits};
use medchain_verify::{
    Block, RosterEntry, block::EngineContext as BlockContext, consensus_namespace,
};
use std::{
    num::{NonZeroU64, NonZeroUsize},
    sync::Arc,
    time::Duration,
};

const MAILBOX_SIZE_MESSAGES: NonZeroUsize = NZUsize!(1024);
const IO_BUFFER_BYTES: NonZeroUsize = NZUsize!(1 << 16);
const ARCHIVE_ITEMS_PER_SECTION: NonZeroU64 = NZU64!(4096);

/// The p2p handshake namespace.
pub fn p2p_namespace(chain_name: &str) -> Vec<u8> {
    union(b"medchain/p2p/", chain_name.as_bytes())
}

/// The p2p channels the engine uses, each an independent stream with its own rate limit.
pub mod channel {
    pub const VOTES: u64 = 0;
    pub const CERTIFICATES: u64 = 1;
    pub const RESOLVER: u64 = 2;
    pub const BACKFILL: u64 = 3;
    pub const BROADCAST: u64 = 4;
    pub const ALL: [u64; 5] = [VOTES, CERTIFICATES, RESOLVER, BACKFILL, BROADCAST];
    /// The analytics-key DKG (`crate::dkg`); registered by `run`, not handed to the engine.
    pub const DKG: u64 = 5;
}

/// How long a validator waits for the leader's proposal before voting to skip the view.
pub const LEADER_TIMEOUT_MS: u64 = 1_000;
/// How long a validator waits for a proposal to be certified before voting to skip the view.
pub const CERTIFICATION_TIMEOUT_MS: u64 = 2_000;
// Simplex refuses a configuration whose certification timeout is not above the leader timeout.
const _: () = assert!(CERTIFICATION_TIMEOUT_MS > LEADER_TIMEOUT_MS);

/// Consensus timing; defaults suit validators on one LAN or machine.
#[derive(Clone, Debug)]
pub struct Timeouts {
    pub leader: Duration,
    pub certification: Duration,
    pub retry: Duration,
    pub fetch: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            leader: Duration::from_millis(LEADER_TIMEOUT_MS),
            certification: Duration::from_millis(CERTIFICATION_TIMEOUT_MS),
            retry: Duration::from_millis(500),
            fetch: Duration::from_secs(2),
        }
    }
}

/// Everything one node needs besides the network.
pub struct EngineConfig {
    /// The node's identity key: its p2p identity, and its vote key in every epoch whose roster
    /// lists it. In other epochs the node follows without voting.
    pub signer: ed25519::PrivateKey,
    pub genesis: Arc<Genesis>,
    /// Names this node's storage partitions; distinct per node sharing a storage root.
    pub partition_prefix: String,
    pub mempool: Mempool,
    pub chain: ChainView,
    pub timeouts: Timeouts,
    /// Page cache size, in pages of 16 KiB.
    pub page_cache_pages: NonZeroUsize,
}

/// The handles a running node exposes to the API and to tests.
#[derive(Clone)]
pub struct EngineHandles<E: Clock + Spawner + Storage + Metrics + rand::CryptoRng> {
    pub marshal: MarshalMailbox<ed25519_scheme::Scheme, Standard<Block>>,
    pub stateful: StatefulMailbox<E, LedgerApp>,
    pub mempool: Mempool,
    pub chain: ChainView,
    pub epochs: Epochs,
    pub genesis_block: Block,
    /// Fault evidence simplex reported (also in `/metrics`).
    pub faults: Counter,
    /// What this node's proposals cost (proposals over budget also in `/metrics`).
    pub proposer: ProposerMeter,
}

/// The genesis validators as an epoch roster.
pub fn genesis_roster(genesis: &Genesis) -> Vec<RosterEntry> {
    genesis
        .validators
        .iter()
        .map(|v| RosterEntry {
            validator: v.account.0.clone(),
            p2p_address: v.p2p_address.clone(),
        })
        .collect()
}

/// The largest message any channel carries, for the p2p layer's frame limit.
/// Sized for the largest validator set governance may vote (`limits::VALIDATORS_MAX`), plus the
/// epoch prefix the consensus channels carry.
pub fn max_message_size() -> u32 {
    let validators = limits::VALIDATORS_MAX as u32;
    commonware_p2p::max_message_size(&[
        simplex::max_payload_size::<ed25519_scheme::Scheme, commonware_cryptography::sha256::Digest>(
            validators,
        ) + EPOCH_PREFIX_SIZE_MAX_BYTES,
        marshal::max_payload_size::<Standard<Block>, ed25519_scheme::Scheme>(validators, &()),
    ])
}

/// The varint epoch number that prefixes every vote, certificate and resolver message.
const EPOCH_PREFIX_SIZE_MAX_BYTES: usize = 10;

/// The archive configuration for marshal's finalized blocks and certificates. Nothing is
/// pruned: the ledger's history serves audits and lets any node catch up from genesis.
fn archive_config<C>(
    prefix: &str,
    name: &str,
    cache: CacheRef,
    codec: C,
) -> prunable::Config<TwoCap, C> {
    prunable::Config {
        translator: TwoCap,
        metadata_partition: format!("{prefix}-{name}-metadata"),
        key_partition: format!("{prefix}-{name}-key"),
        key_page_cache: cache,
        value_partition: format!("{prefix}-{name}-value"),
        compression: None,
        codec_config: codec,
        items_per_section: ARCHIVE_ITEMS_PER_SECTION,
        key_write_buffer: IO_BUFFER_BYTES,
        value_write_buffer: IO_BUFFER_BYTES,
        replay_buffer: IO_BUFFER_BYTES,
    }
}

/// A (sender, receiver) pair for one p2p channel.
pub type ChannelPair<S, R> = (S, R);

/// Starts a node and returns its handles and the consensus task.
///
/// `observe` wraps the reporter that receives finalized blocks from marshal (the stateful
/// actor); production passes it through unchanged, simulations add progress tracking.
/// `track_peers` opens each epoch's p2p peer set as the node enters it.
#[allow(clippy::too_many_arguments)]
pub async fn start<E, S, R, P, B, O>(
    context: E,
    config: EngineConfig,
    mut channels: Vec<ChannelPair<S, R>>,
    peers: P,
    blocker: B,
    track_peers: TrackPeers,
    observe: impl FnOnce(StatefulMailbox<E, LedgerApp>) -> O,
) -> (Handle<()>, EngineHandles<E>)
where
    O: Reporter<Activity = marshal::Update<Block>>,
    E: Clock + Spawner + Storage + Metrics + rand::CryptoRng + commonware_storage::Context,
    S: Sender<PublicKey = ed25519::PublicKey>,
    R: Receiver<PublicKey = ed25519::PublicKey>,
    P: Provider<PublicKey = ed25519::PublicKey> + Clone,
    B: Blocker<PublicKey = ed25519::PublicKey> + Clone,
{
    assert_eq!(
        channels.len(),
        channel::ALL.len(),
        "one channel pair per engine channel"
    );
    let broadcast_net = channels.pop().expect("broadcast channel");
    let backfill_net = channels.pop().expect("backfill channel");
    let resolver_net = channels.pop().expect("resolver channel");
    let certificate_net = channels.pop().expect("certificate channel");
    let vote_net = channels.pop().expect("vote channel");

    let public_key = config.signer.public_key();
    let prefix = config.partition_prefix.clone();
    let epoch_length = NonZeroU64::new(config.genesis.epoch_length_blocks)
        .expect("a validated genesis has epochs of at least epoch_length_min_blocks");
    let epocher = FixedEpocher::new(epoch_length);
    let epochs = Epochs::new(
        consensus_namespace(&config.genesis.chain_name),
        config.signer.clone(),
        epocher.clone(),
        genesis_roster(&config.genesis),
    )
    .expect("a validated genesis lists distinct validators");
    let page_cache = CacheRef::new(NZU16!(16_384), config.page_cache_pages);

    let resolver = marshal_resolver::init(
        context.child("marshal_resolver"),
        marshal_resolver::Config {
            public_key: public_key.clone(),
            peer_provider: peers.clone(),
            blocker: blocker.clone(),
            mailbox_size: MAILBOX_SIZE_MESSAGES,
            fetch_timeout: NZDuration!(Duration::from_secs(2)),
            fetch_retry_delay: Duration::from_millis(100),
            priority_requests: false,
            priority_responses: false,
        },
        backfill_net,
    );
    let (broadcast_engine, buffer) = buffered::Engine::new(
        context.child("broadcast"),
        buffered::Config {
            public_key: public_key.clone(),
            mailbox_size: MAILBOX_SIZE_MESSAGES,
            deque_size: 10,
            priority: false,
            codec_config: (),
            peer_provider: peers.clone(),
            strategy: Sequential,
        },
    );
    broadcast_engine.start(broadcast_net);

    let finalizations_by_height = prunable::Archive::init(
        context.child("finalizations_by_height"),
        archive_config(
            &prefix,
            "finalizations",
            page_cache.clone(),
            limits::VALIDATORS_MAX,
        ),
    )
    .await
    .expect("finalizations archive opens (is the data directory writable?)");
    let finalized_blocks = prunable::Archive::init(
        context.child("finalized_blocks"),
        archive_config(&prefix, "blocks", page_cache.clone(), ()),
    )
    .await
    .expect("blocks archive opens (is the data directory writable?)");

    // The genesis block commits to the empty database, which every node can compute without
    // opening it; it is never executed or verified, so it carries the empty database's ops root
    // in both root fields. Block 1 applies the genesis document.
    let initial = <StateSet<E> as DatabaseSet<E>>::initial_sync_targets();
    let genesis_block = Block::genesis(
        config.genesis.genesis_time_ms,
        initial.root,
        initial.root,
        initial.range,
        epochs.active().validators[0].clone(),
    );

    let plan = SyncPlan::init(context.child("plan"), prefix.clone()).await;
    let genesis_digested = commonware_cryptography::Digested::precomputed(
        genesis_block.clone(),
        genesis_block.digest(),
    );
    let (marshal_actor, marshal_mailbox, floor) =
        MarshalActor::<_, Standard<Block>, _, _, _, _, _>::init(
            context.child("marshal"),
            finalizations_by_height,
            finalized_blocks,
            marshal::Config {
                provider: epochs.clone(),
                epocher: epocher.clone(),
                start: plan.marshal_start(genesis_digested),
                partition_prefix: prefix.clone(),
                mailbox_size: MAILBOX_SIZE_MESSAGES,
                view_retention: ViewDelta::new(10),
                prunable_items_per_section: ARCHIVE_ITEMS_PER_SECTION,
                page_cache: page_cache.clone(),
                replay_buffer: IO_BUFFER_BYTES,
                key_write_buffer: IO_BUFFER_BYTES,
                value_write_buffer: IO_BUFFER_BYTES,
                block_codec_config: (),
                max_repair: NZUsize!(16),
                max_pending_acks: NZUsize!(4),
                strategy: Sequential,
            },
        )
        .await;

    let proposer = ProposerMeter::with_counter(context.child("proposer").counter(
        // Exported as `proposer_over_budget_total`.
        "over_budget",
        "Proposals whose transactions took longer than the execution budget to execute",
    ));
    let application = LedgerApp::new(
        config.genesis.clone(),
        genesis_block.clone(),
        config.mempool.clone(),
        config.chain.clone(),
        epochs.clone(),
        proposer.clone(),
    );
    let (stateful_actor, stateful_mailbox) = Stateful::new(
        context.child("stateful"),
        StatefulConfig {
            application,
            db_config: state_db_config::<E>(&prefix, page_cache.clone()),
            provider: config.mempool.clone(),
            marshal: (marshal_mailbox.clone(), floor),
            mailbox_size: MAILBOX_SIZE_MESSAGES,
            plan,
            resolvers: NoStateSync::<E>::new(),
            sync_config: SyncEngineConfig {
                fetch_batch_size: NZU64!(1024),
                apply_batch_size: NZU64!(1024),
                max_outstanding_requests: NZUsize!(8),
            },
            prune_config: None::<PruneConfig>,
            strategy: Sequential,
        },
    );
    let deferred = Deferred::new(
        context.child("deferred"),
        stateful_mailbox.clone(),
        marshal_mailbox.clone(),
        epocher,
    );
    let (boundaries_sender, boundaries) = mpsc::unbounded_channel();
    marshal_actor.start(
        EpochReporter::new(
            observe(stateful_mailbox.clone()),
            epochs.clone(),
            boundaries_sender,
        ),
        buffer,
        resolver,
    );
    stateful_actor.start();

    let faults = context.child("consensus").counter(
        // Exported as `engine_consensus_faults_total` (the counter type appends `_total`).
        "faults",
        "Fault evidence (conflicting or contradictory votes) seen from validators",
    );
    let start_simplex = simplex_starter(
        context.child("simplex"),
        SimplexParts {
            deferred,
            blocker,
            faults: faults.clone(),
            prefix,
            page_cache,
            timeouts: config.timeouts.clone(),
        },
    );
    let handle = Orchestrator {
        context: context.child("epochs"),
        partition_prefix: config.partition_prefix.clone(),
        epochs: epochs.clone(),
        marshal: marshal_mailbox.clone(),
        genesis_digest: genesis_block.digest(),
        boundaries,
        start_simplex,
        track_peers,
    }
    .start(vote_net, certificate_net, resolver_net);
    (
        handle,
        EngineHandles {
            marshal: marshal_mailbox,
            stateful: stateful_mailbox,
            mempool: config.mempool,
            chain: config.chain,
            epochs,
            genesis_block,
            faults,
            proposer,
        },
    )
}

/// What every epoch's simplex instance shares.
struct SimplexParts<A, B> {
    deferred: A,
    blocker: B,
    faults: Counter,
    prefix: String,
    page_cache: CacheRef,
    timeouts: Timeouts,
}

/// Builds the function the orchestrator calls to start each epoch's simplex instance.
fn simplex_starter<E, S, A, B>(context: E, parts: SimplexParts<A, B>) -> StartSimplex<S>
where
    E: Clock + Spawner + Storage + Metrics + rand::CryptoRng,
    S: Sender<PublicKey = ed25519::PublicKey>,
    A: CertifiableAutomaton<Context = BlockContext, Digest = sha256::Digest>
        + Relay<
            Digest = sha256::Digest,
            PublicKey = ed25519::PublicKey,
            Plan = simplex::Plan<ed25519::PublicKey>,
        > + Reporter<Activity = simplex::types::Activity<ed25519_scheme::Scheme, sha256::Digest>>
        + Clone,
    B: Blocker<PublicKey = ed25519::PublicKey> + Clone,
{
    Box::new(move |start: EpochStart<S>| {
        let epoch = start.roster.epoch;
        let timeouts = &parts.timeouts;
        let engine = simplex::Engine::new(
            context.child("epoch").with_attribute("epoch", epoch),
            simplex::Config {
                scheme: start.roster.scheme().clone(),
                elector: RoundRobin::<Sha256>::default(),
                blocker: parts.blocker.clone(),
                automaton: parts.deferred.clone(),
                relay: parts.deferred.clone(),
                reporter: Reporters::from((
                    parts.deferred.clone(),
                    FaultReporter::new(start.roster.validators.clone(), parts.faults.clone()),
                )),
                strategy: Sequential,
                partition: simplex_partition(&parts.prefix, epoch),
                mailbox_size: MAILBOX_SIZE_MESSAGES,
                epoch,
                floor: start.floor,
                replay_buffer: IO_BUFFER_BYTES,
                write_buffer: IO_BUFFER_BYTES,
                page_cache: parts.page_cache.clone(),
                leader_timeout: timeouts.leader,
                certification_timeout: timeouts.certification,
                timeout_retry: timeouts.retry,
                view_retention: ViewDelta::new(10),
                skip: SkipPolicy::Enabled {
                    timeout: timeouts.leader * 5,
                    budget: simplex::SkipBudget::Participants,
                },
                fetch_timeout: NZDuration!(Duration::from_secs(2)),
                fetch_retry_delay: timeouts.fetch,
                forward: ForwardPolicy::Disabled,
                track_historical_votes: false,
            },
        );
        engine.start(start.votes, start.certificates, start.resolver)
    })
}
