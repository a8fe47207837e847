//! Wires one validator's consensus stack: simplex (BFT agreement on block digests), buffered
//! broadcast (block dissemination), marshal (ordered finalized blocks, backfill, archives),
//! `glue::stateful` (speculative and finalized QMDB state) and the ledger application.
//!
//! The function is generic over the runtime and the p2p network, so the same code runs under
//! tokio with authenticated TCP in production and under the deterministic runtime with the
//! simulated network in tests. This module and `block` are the only code that knows the
//! engine's types; swapping engines touches only them.

use crate::faults::FaultReporter;
use crate::{
    app::LedgerApp,
    block::Block,
    chain::ChainView,
    mempool::Mempool,
    store::{NoStateSync, StateSet, state_db_config},
};
use commonware_broadcast::buffered;
use commonware_consensus::Reporters;
use commonware_consensus::{
    Reporter,
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
    types::{Epoch, FixedEpocher, ViewDelta},
};
use commonware_cryptography::{
    Digestible as _, Sha256, Signer as _, certificate::ConstantProvider, ed25519,
};
use commonware_glue::stateful::{
    Config as StatefulConfig, Mailbox as StatefulMailbox, PruneConfig, Stateful, SyncPlan,
    db::{DatabaseSet, SyncEngineConfig},
};
use commonware_p2p::{Blocker, Provider, Receiver, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::telemetry::metrics::{Counter, MetricsExt as _};
use commonware_runtime::{Clock, Handle, Metrics, Spawner, Storage, buffer::paged::CacheRef};
use commonware_storage::{archive::prunable, translator::TwoCap};
use commonware_utils::{NZDuration, NZU16, NZU64, NZUsize, ordered::Set, union};
use medchain_types::Genesis;
use std::{
    num::{NonZeroU64, NonZeroUsize},
    sync::Arc,
    time::Duration,
};

/// One epoch for the life of the chain: the validator set changes only through a new genesis
/// until on-chain validator changes are wired to consensus epochs.
const EPOCH_LENGTH_BLOCKS: NonZeroU64 = NZU64!(u64::MAX);
const MAILBOX_SIZE_MESSAGES: NonZeroUsize = NZUsize!(1024);
const IO_BUFFER_BYTES: NonZeroUsize = NZUsize!(1 << 16);
const ARCHIVE_ITEMS_PER_SECTION: NonZeroU64 = NZU64!(4096);

/// The consensus namespace; signatures made under it cannot be replayed on another protocol.
pub fn consensus_namespace(chain_name: &str) -> Vec<u8> {
    union(b"medchain/consensus/", chain_name.as_bytes())
}

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
}

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
            leader: Duration::from_secs(1),
            certification: Duration::from_secs(2),
            retry: Duration::from_millis(500),
            fetch: Duration::from_secs(2),
        }
    }
}

/// Whether a node votes or only follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Participation {
    /// Proposes, votes and signs certificates.
    Validator,
    /// Receives votes, certificates and blocks, verifies and executes them, never signs: the
    /// consensus scheme holds no key, so it cannot vote even by mistake.
    Observer,
}

/// Everything one node needs besides the network.
pub struct EngineConfig {
    /// The node's identity key (its p2p identity; it signs votes only as a validator).
    pub signer: ed25519::PrivateKey,
    pub participation: Participation,
    pub validators: Set<ed25519::PublicKey>,
    pub genesis: Arc<Genesis>,
    /// Names this validator's storage partitions; distinct per validator sharing a storage root.
    pub partition_prefix: String,
    pub mempool: Mempool,
    pub chain: ChainView,
    pub timeouts: Timeouts,
    /// Page cache size, in pages of 16 KiB.
    pub page_cache_pages: NonZeroUsize,
}

/// The handles a running validator exposes to the API and to tests.
#[derive(Clone)]
pub struct EngineHandles<E: Clock + Spawner + Storage + Metrics + rand::CryptoRng> {
    pub marshal: MarshalMailbox<ed25519_scheme::Scheme, Standard<Block>>,
    pub stateful: StatefulMailbox<E, LedgerApp>,
    pub mempool: Mempool,
    pub chain: ChainView,
    pub genesis_block: Block,
    /// Fault evidence simplex reported (also in `/metrics`).
    pub faults: Counter,
}

/// The largest message any channel carries, for the p2p layer's frame limit.
pub fn max_message_size(validators: u32) -> u32 {
    commonware_p2p::max_message_size(&[
        simplex::max_payload_size::<ed25519_scheme::Scheme, commonware_cryptography::sha256::Digest>(
            validators,
        ),
        marshal::max_payload_size::<Standard<Block>, ed25519_scheme::Scheme>(validators, &()),
    ])
}

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

/// Starts a validator and returns its handles and the consensus task.
///
/// `observe` wraps the reporter that receives finalized blocks from marshal (the stateful
/// actor); production passes it through unchanged, simulations add progress tracking.
pub async fn start<E, S, R, P, B, O>(
    context: E,
    config: EngineConfig,
    mut channels: Vec<ChannelPair<S, R>>,
    peers: P,
    blocker: B,
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
    let namespace = consensus_namespace(&config.genesis.chain_name);
    let scheme = match config.participation {
        Participation::Validator => ed25519_scheme::Scheme::signer(
            &namespace,
            config.validators.clone(),
            config.signer.clone(),
        )
        .expect("the caller checked that this node's key is one of the validators"),
        Participation::Observer => {
            ed25519_scheme::Scheme::verifier(&namespace, config.validators.clone())
        }
    };
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
            config.validators.len(),
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
        config
            .validators
            .iter()
            .next()
            .expect("at least one validator")
            .clone(),
    );

    let plan = SyncPlan::init(context.child("plan"), prefix.clone()).await;
    let provider = ConstantProvider::new(scheme.clone());

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
                provider: provider.clone(),
                epocher: FixedEpocher::new(EPOCH_LENGTH_BLOCKS),
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

    let application = LedgerApp::new(
        config.genesis.clone(),
        genesis_block.clone(),
        config.mempool.clone(),
        config.chain.clone(),
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
        FixedEpocher::new(EPOCH_LENGTH_BLOCKS),
    );
    marshal_actor.start(observe(stateful_mailbox.clone()), buffer, resolver);
    stateful_actor.start();

    let faults = context.child("consensus").counter(
        // Exported as `engine_consensus_faults_total` (the counter type appends `_total`).
        "faults",
        "Fault evidence (conflicting or contradictory votes) seen from validators",
    );
    let timeouts = &config.timeouts;
    let engine = simplex::Engine::new(
        context.child("simplex"),
        simplex::Config {
            scheme,
            elector: RoundRobin::<Sha256>::default(),
            blocker,
            automaton: deferred.clone(),
            relay: deferred.clone(),
            reporter: Reporters::from((
                deferred,
                FaultReporter::new(config.validators.clone(), faults.clone()),
            )),
            strategy: Sequential,
            partition: format!("{prefix}-simplex"),
            mailbox_size: MAILBOX_SIZE_MESSAGES,
            epoch: Epoch::zero(),
            floor: simplex::config::Floor::Genesis(genesis_block.digest()),
            replay_buffer: IO_BUFFER_BYTES,
            write_buffer: IO_BUFFER_BYTES,
            page_cache,
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
    let handle = engine.start(vote_net, certificate_net, resolver_net);
    (
        handle,
        EngineHandles {
            marshal: marshal_mailbox,
            stateful: stateful_mailbox,
            mempool: config.mempool,
            chain: config.chain,
            genesis_block,
            faults,
        },
    )
}
