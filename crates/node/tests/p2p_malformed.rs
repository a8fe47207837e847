//! A byzantine peer holding validator 3's identity floods every p2p channel the engine
//! registers (votes, certificates, simplex resolver, marshal backfill, block broadcast) with
//! malformed messages while the three honest validators run the real engine. The deterministic
//! runtime does not catch panics, so a panic in any validator task fails the run. Rerun a
//! failure with `MEDCHAIN_SIM_SEED=<seed> cargo test -p medchain-node --test p2p_malformed`;
//! the same seed replays the same run (checked by the replay test below).

mod common;

use common::{Ledger, NodeState, VALIDATORS, registration};
use commonware_codec::{Copying, Decode as _, DecodeExt as _, Encode as _};
use commonware_consensus::{
    marshal::{Identifier, resolver::handler::Key as BackfillKey},
    simplex::{
        elector::{Config as _, Elector as _, RoundRobin, RoundRobinElector},
        scheme::ed25519 as ed25519_scheme,
        types::{Certificate, Notarize, Proposal, Vote},
    },
    types::{Epoch, Height, Participant, Round, View},
};
use commonware_cryptography::{
    Digestible as _, Hasher as _, Sha256,
    certificate::{Scheme as _, Verifier as _},
    ed25519, sha256,
};
use commonware_glue::simulate::{
    engine::{EngineDefinition as _, InitContext},
    tracker::{FinalizationUpdate, ProgressTracker},
};
use commonware_p2p::{
    Manager as _, Receiver as _, Recipients, Sender as _,
    simulated::{self, Link, Network, Oracle},
};
use commonware_runtime::{Clock as _, Runner as _, Spawner as _, Supervisor as _, deterministic};
use commonware_utils::{NZUsize, channel::mpsc, probability};
use medchain_node::engine::channel;
use medchain_types::SignedTransaction;
use medchain_verify::{Block, Round as BlockRound};
use rand::RngExt as _;
use std::{
    collections::{BTreeMap, BTreeSet, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

/// The varint prefix of epoch 0 on the consensus channels (the genesis epoch is long enough
/// that the run never leaves it).
const EPOCH_ZERO: u8 = 0;
/// The validator whose identity the attacker holds (it runs no engine).
const ATTACKER: usize = 3;
/// How long the attacker floods, from the start of the run.
const ATTACK_DURATION: Duration = Duration::from_secs(8);
/// Pause between two messages the attacker sends on one channel.
const ATTACK_INTERVAL: Duration = Duration::from_millis(10);
/// Every this many messages on a channel, one is as large as the network admits.
const FULL_SIZE_EVERY_MESSAGES: u64 = 100;
/// Real messages the attacker keeps per channel as material to corrupt.
const SAMPLES_KEPT_MESSAGES: usize = 32;
/// Blocks the honest validators must finalize while flooded (they reached 69 to 79 in the
/// seeds tried: the flood costs them little).
const FINALIZED_DURING_ATTACK_BLOCKS_MIN: u64 = 40;
/// Blocks they must finalize after the flood ends, facing only the forging leader.
const FINALIZED_AFTER_ATTACK_BLOCKS: u64 = 10;
/// Simulated time after which a run that has not reached the required height fails.
const RUN_TIMEOUT: Duration = Duration::from_secs(600);
/// Of the 3 x 120 transactions the honest validators submit, at least this many must be
/// committed by the required height.
const COMMITTED_TRANSACTIONS_MIN: usize = 100;
/// A varint length prefix of u32::MAX: a claim of 4 GiB that no message can back.
const HUGE_LENGTH_PREFIX: [u8; 5] = [0xff, 0xff, 0xff, 0xff, 0x0f];

/// What the attacker sends. Everything but `Request` is malformed or forged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Attack {
    /// A well-formed resolver or backfill request, so honest peers answer and the attacker has
    /// real responses to corrupt.
    Request,
    RandomBytes,
    /// A real message cut short.
    Truncated,
    /// A real message with one bit flipped.
    BitFlipped,
    /// A real message followed by junk.
    TrailingBytes,
    /// A real message prefix followed by a length prefix of u32::MAX.
    HugeLengthPrefix,
    /// A real message padded with junk to the network's maximum message size.
    FullSize,
    /// A decodable block that must not be accepted: a transaction with another key's
    /// signature, or a copied block with a different state root (so a different digest).
    ForgedBlock,
    /// In a view the attacker leads, a forged block proposed for real: broadcast, and
    /// notarized with the attacker's valid signature.
    ForgedProposal,
}

const MALFORMED: [Attack; 6] = [
    Attack::RandomBytes,
    Attack::Truncated,
    Attack::BitFlipped,
    Attack::TrailingBytes,
    Attack::HugeLengthPrefix,
    Attack::FullSize,
];

/// Messages the attacker sent, by channel and kind.
type SentCounts = Arc<Mutex<BTreeMap<(u64, Attack), u64>>>;

/// One channel of the attacker: what it heard on it and how it corrupts it.
struct ChannelAttack {
    channel: u64,
    samples: Arc<Mutex<VecDeque<Vec<u8>>>>,
    max_size_bytes: usize,
    genesis: Arc<medchain_types::Genesis>,
    attacker: ed25519::PublicKey,
}

impl ChannelAttack {
    fn sample(&self, rng: &mut deterministic::Context) -> Option<Vec<u8>> {
        let samples = self.samples.lock().unwrap();
        if samples.is_empty() {
            return None;
        }
        Some(samples[rng.random_range(0..samples.len())].clone())
    }

    fn pick(&self, n: u64, rng: &mut deterministic::Context) -> Attack {
        if n.is_multiple_of(FULL_SIZE_EVERY_MESSAGES) {
            return Attack::FullSize;
        }
        let mut kinds = vec![
            Attack::RandomBytes,
            Attack::Truncated,
            Attack::BitFlipped,
            Attack::TrailingBytes,
            Attack::HugeLengthPrefix,
        ];
        if self.channel == channel::RESOLVER || self.channel == channel::BACKFILL {
            kinds.push(Attack::Request);
        }
        if self.channel == channel::BROADCAST {
            kinds.push(Attack::ForgedBlock);
        }
        kinds[rng.random_range(0..kinds.len())]
    }

    /// Builds one message of `kind`, or `None` while the attacker has heard nothing to corrupt.
    fn build(&self, kind: Attack, rng: &mut deterministic::Context) -> Option<Vec<u8>> {
        let mut message = match kind {
            Attack::Request => self.request(rng),
            Attack::RandomBytes => {
                let mut bytes = vec![0u8; rng.random_range(0..512)];
                rng.fill(&mut bytes[..]);
                bytes
            }
            Attack::Truncated => {
                let mut bytes = self.sample(rng)?;
                bytes.truncate(rng.random_range(0..bytes.len().max(1)));
                bytes
            }
            Attack::BitFlipped => {
                let mut bytes = self.sample(rng)?;
                if bytes.is_empty() {
                    return None;
                }
                let bit = rng.random_range(0..bytes.len() * 8);
                bytes[bit / 8] ^= 1 << (bit % 8);
                bytes
            }
            Attack::TrailingBytes => {
                let mut bytes = self.sample(rng)?;
                let mut junk = vec![0u8; rng.random_range(1..64)];
                rng.fill(&mut junk[..]);
                bytes.extend(junk);
                bytes
            }
            Attack::HugeLengthPrefix => {
                let mut bytes = self.sample(rng)?;
                bytes.truncate(rng.random_range(0..bytes.len().max(1)));
                bytes.extend(HUGE_LENGTH_PREFIX);
                bytes.extend(rng.random::<[u8; 16]>());
                bytes
            }
            Attack::FullSize => {
                let mut bytes = self.sample(rng).unwrap_or_default();
                let mut junk = vec![0u8; self.max_size_bytes.saturating_sub(bytes.len())];
                rng.fill(&mut junk[..]);
                bytes.extend(junk);
                bytes
            }
            Attack::ForgedBlock => self.forged_block(rng)?,
            // Proposals follow certificates (`ForgingLeader`), not the flood's clock.
            Attack::ForgedProposal => return None,
        };
        message.truncate(self.max_size_bytes);
        Some(message)
    }

    /// A well-formed request in the resolver's framing: id (u64), tag 0, key.
    fn request(&self, rng: &mut deterministic::Context) -> Vec<u8> {
        let mut bytes = Vec::new();
        if self.channel == channel::RESOLVER {
            bytes.push(EPOCH_ZERO);
        }
        bytes.extend(rng.random::<u64>().to_be_bytes());
        bytes.push(0);
        if self.channel == channel::RESOLVER {
            // simplex asks for the certificates of a view
            bytes.extend(rng.random_range(1..60u64).to_be_bytes());
        } else {
            let key = match rng.random_range(0..3) {
                0 => BackfillKey::Finalized {
                    height: Height::new(rng.random_range(1..60)),
                },
                1 => BackfillKey::Block(Sha256::hash(&[&rng.random::<[u8; 8]>()])),
                _ => BackfillKey::Notarized {
                    round: Round::new(Epoch::zero(), View::new(rng.random_range(1..60))),
                },
            };
            bytes.extend(key.encode());
        }
        bytes
    }

    /// A block built from one the attacker heard, that no honest validator may accept.
    fn forged_block(&self, rng: &mut deterministic::Context) -> Option<Vec<u8>> {
        let heard = Block::decode(Copying(self.sample(rng)?.as_slice())).ok()?;
        let mut forged = heard.clone();
        if rng.random_bool(0.5) {
            forged.state_root = Sha256::hash(&[&rng.random::<[u8; 8]>()]);
            return Some(forged.encode().to_vec());
        }
        let view = View::new(heard.context.round.view);
        let child = forged_child(&heard, view, &self.attacker, &self.genesis, rng);
        Some(child.encode().to_vec())
    }
}

/// A child of `parent` (certified in `parent_view`) proposed by `leader` in the next view,
/// well formed in every field but carrying a registration signed by another key.
fn forged_child(
    parent: &Block,
    parent_view: View,
    leader: &ed25519::PublicKey,
    genesis: &medchain_types::Genesis,
    rng: &mut deterministic::Context,
) -> Block {
    let mut tx = registration(genesis, rng.random());
    tx.signature = registration(genesis, rng.random()).signature;
    let transactions: Vec<SignedTransaction> = vec![tx];
    let mut child = parent.clone();
    child.context.round = BlockRound {
        epoch: 0,
        view: parent_view.next().get(),
    };
    child.context.leader = leader.clone();
    child.context.parent_view = parent_view.get();
    child.context.parent_digest = parent.digest();
    child.parent = parent.digest();
    child.height = parent.height + 1;
    child.timestamp_ms = parent.timestamp_ms + 1;
    child.transactions_root = medchain_types::transactions_root(&transactions);
    child.transactions = transactions;
    child
}

/// The attacker as a leader: whenever a certificate for view `v` arrives and the attacker
/// leads `v + 1`, it proposes a forged child of the certified block, so the honest
/// validators fetch it, find its consensus context in order, and must refuse it on
/// verification.
struct ForgingLeader {
    scheme: ed25519_scheme::Scheme,
    elector: RoundRobinElector<ed25519_scheme::Scheme>,
    me: Participant,
    attacker: ed25519::PublicKey,
    genesis: Arc<medchain_types::Genesis>,
    /// Blocks heard on the broadcast channel, to find the certified parent.
    blocks: Arc<Mutex<VecDeque<Vec<u8>>>>,
    votes: simulated::Sender<ed25519::PublicKey, deterministic::Context>,
    broadcast: simulated::Sender<ed25519::PublicKey, deterministic::Context>,
    proposed: BTreeSet<View>,
    sent: SentCounts,
}

impl ForgingLeader {
    fn on_certificate(&mut self, bytes: &[u8], rng: &mut deterministic::Context) {
        // Consensus messages carry their epoch as a varint prefix; the run stays in epoch 0.
        let Some((&EPOCH_ZERO, bytes)) = bytes.split_first() else {
            return;
        };
        let Ok(certificate) = Certificate::<ed25519_scheme::Scheme, sha256::Digest>::decode_cfg(
            Copying(bytes),
            &self.scheme.certificate_codec_config(),
        ) else {
            return;
        };
        let (view, payload) = match certificate {
            Certificate::Notarization(n) => (n.proposal.round.view(), n.proposal.payload),
            Certificate::Finalization(f) => (f.proposal.round.view(), f.proposal.payload),
            Certificate::Nullification(_) => return,
        };
        let round = Round::new(Epoch::zero(), view.next());
        if self.elector.elect(round, ()) != self.me || !self.proposed.insert(round.view()) {
            return;
        }
        let Some(parent) = self.heard_block(payload) else {
            return;
        };
        let block = forged_child(&parent, view, &self.attacker, &self.genesis, rng);
        let proposal = Proposal::new(round, view, block.digest());
        let notarize =
            Notarize::<ed25519_scheme::Scheme, sha256::Digest>::sign(&self.scheme, proposal)
                .expect("the attacker holds a validator key");
        self.broadcast
            .send(Recipients::All, block.encode().to_vec(), true);
        let mut vote = vec![EPOCH_ZERO];
        vote.extend_from_slice(&Vote::Notarize(notarize).encode());
        self.votes.send(Recipients::All, vote, true);
        *self
            .sent
            .lock()
            .unwrap()
            .entry((channel::VOTES, Attack::ForgedProposal))
            .or_default() += 1;
    }

    fn heard_block(&self, digest: sha256::Digest) -> Option<Block> {
        self.blocks
            .lock()
            .unwrap()
            .iter()
            .filter_map(|bytes| Block::decode(Copying(bytes.as_slice())).ok())
            .find(|block| block.digest() == digest)
    }
}

/// Starts the attacker on one channel: a task keeping what it hears as samples (and handing
/// certificates to the forging leader) and a task sending one attack message every
/// `ATTACK_INTERVAL` until `ATTACK_DURATION` has passed.
fn start_channel_attack(
    context: &deterministic::Context,
    attack: ChannelAttack,
    (mut sender, mut receiver): common::ChannelPair,
    sent: SentCounts,
    mut leader: Option<ForgingLeader>,
) {
    let samples = attack.samples.clone();
    context.child("listen").spawn(move |mut ctx| async move {
        while let Ok((_, message)) = receiver.recv().await {
            let bytes = message.as_ref().to_vec();
            if let Some(leader) = leader.as_mut() {
                leader.on_certificate(&bytes, &mut ctx);
            }
            let mut samples = samples.lock().unwrap();
            if samples.len() == SAMPLES_KEPT_MESSAGES {
                samples.pop_front();
            }
            samples.push_back(bytes);
        }
    });
    context.child("flood").spawn(move |mut ctx| async move {
        let end = ctx.current() + ATTACK_DURATION;
        let mut n = 0u64;
        while ctx.current() < end {
            ctx.sleep(ATTACK_INTERVAL).await;
            n += 1;
            let kind = attack.pick(n, &mut ctx);
            let Some(message) = attack.build(kind, &mut ctx) else {
                continue;
            };
            sender.send(Recipients::All, message, false);
            *sent
                .lock()
                .unwrap()
                .entry((attack.channel, kind))
                .or_default() += 1;
        }
    });
}

/// Starts the attacker on every channel; it floods for `ATTACK_DURATION` and proposes forged
/// blocks in the views it leads for the whole run.
fn start_attacker(
    context: &deterministic::Context,
    ledger: &Ledger,
    channels: Vec<common::ChannelPair>,
) -> SentCounts {
    let sent = SentCounts::default();
    let attacker = ledger.participants()[ATTACKER].clone();
    let position = |wanted: u64| {
        engine_channels()
            .iter()
            .position(|c| *c == wanted)
            .expect("the engine registers this channel")
    };
    let samples: Vec<Arc<Mutex<VecDeque<Vec<u8>>>>> =
        engine_channels().iter().map(|_| Arc::default()).collect();
    let scheme = ledger.scheme(ATTACKER);
    let mut leader = Some(ForgingLeader {
        me: scheme
            .me()
            .and_then(|m| m.signer())
            .expect("the attacker holds a validator key"),
        elector: RoundRobin::<Sha256>::default().build(&ledger.validator_set()),
        scheme,
        attacker: attacker.clone(),
        genesis: ledger.genesis.clone(),
        blocks: samples[position(channel::BROADCAST)].clone(),
        votes: channels[position(channel::VOTES)].0.clone(),
        broadcast: channels[position(channel::BROADCAST)].0.clone(),
        proposed: BTreeSet::new(),
        sent: sent.clone(),
    });
    for ((channel, pair), samples) in engine_channels().into_iter().zip(channels).zip(samples) {
        let attack = ChannelAttack {
            channel,
            samples,
            max_size_bytes: ledger.max_message_size() as usize,
            genesis: ledger.genesis.clone(),
            attacker: attacker.clone(),
        };
        let hook = (channel == channel::CERTIFICATES)
            .then(|| leader.take())
            .flatten();
        let context = context.child("attacker").with_attribute("channel", channel);
        start_channel_attack(&context, attack, pair, sent.clone(), hook);
    }
    sent
}

fn engine_channels() -> Vec<u64> {
    channel::ALL.to_vec()
}

/// Starts the network without disconnecting blocked peers: honest validators block the
/// attacker at its first malformed message, and a disconnect would spare them the rest.
async fn start_network(
    context: &deterministic::Context,
    ledger: &Ledger,
) -> Oracle<ed25519::PublicKey, deterministic::Context> {
    let (network, oracle) = Network::<_, ed25519::PublicKey>::new(
        context.child("network"),
        simulated::Config {
            max_size: ledger.max_message_size(),
            max_peers_per_set: NZUsize!(VALIDATORS),
            disconnect_on_block: false,
            tracked_peer_sets: NZUsize!(1),
        },
    );
    network.start();
    oracle.manager().track(0, ledger.validator_set());
    let keys = ledger.participants();
    let link = Link {
        latency: Duration::from_millis(10),
        jitter: Duration::from_millis(5),
        success_rate: probability!(1.0),
    };
    for from in &keys {
        for to in keys.iter().filter(|to| *to != from) {
            oracle
                .add_link(from.clone(), to.clone(), link.clone())
                .await
                .expect("a fresh link between two simulated peers");
        }
    }
    oracle
}

/// Registers the engine's channels for `key`, in the engine's order.
async fn register(
    oracle: &Oracle<ed25519::PublicKey, deterministic::Context>,
    ledger: &Ledger,
    key: &ed25519::PublicKey,
) -> Vec<common::ChannelPair> {
    let control = oracle.control(key.clone());
    let mut pairs = Vec::new();
    for (channel, quota) in ledger.channels() {
        let pair = control
            .register(channel, quota)
            .await
            .expect("each channel is registered once per peer");
        pairs.push(pair);
    }
    pairs
}

/// The lowest finalized height among the honest validators.
fn lowest_honest_height(states: &[NodeState]) -> u64 {
    states
        .iter()
        .filter_map(|s| s.honest())
        .map(|h| h.chain.tip().map_or(0, |t| t.height))
        .min()
        .unwrap_or(0)
}

/// Runs until the flood is over and every honest validator has finalized
/// `FINALIZED_AFTER_ATTACK_BLOCKS` more blocks, checking each finalization the validators
/// report for forks on the way. Returns the lowest honest height when the flood ended.
async fn await_honest_progress(
    context: &deterministic::Context,
    states: &[NodeState],
    monitor: &mut mpsc::UnboundedReceiver<FinalizationUpdate<ed25519::PublicKey>>,
) -> u64 {
    let mut tracker = ProgressTracker::default();
    let attack_end = context.current() + ATTACK_DURATION;
    let mut height_at_attack_end = None;
    loop {
        context.sleep(Duration::from_millis(100)).await;
        while let Ok(update) = monitor.try_recv() {
            tracker
                .observe(update)
                .expect("honest validators never finalize conflicting blocks");
        }
        if context.current() < attack_end {
            continue;
        }
        let lowest = lowest_honest_height(states);
        let at_end = *height_at_attack_end.get_or_insert(lowest);
        if lowest >= at_end + FINALIZED_AFTER_ATTACK_BLOCKS {
            println!("lowest honest height: {at_end} when the flood ended, {lowest} now");
            return at_end;
        }
    }
}

/// Every honest validator blocked the attacker, and none blocked an honest peer.
async fn assert_only_attacker_blocked(
    oracle: &Oracle<ed25519::PublicKey, deterministic::Context>,
    keys: &[ed25519::PublicKey],
) {
    let mut blocked = oracle
        .blocked()
        .await
        .expect("the simulated network answers");
    blocked.sort();
    let mut expected: Vec<_> = keys
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != ATTACKER)
        .map(|(_, honest)| (honest.clone(), keys[ATTACKER].clone()))
        .collect();
    expected.sort();
    assert_eq!(
        blocked, expected,
        "each honest validator blocks the attacker and no one else"
    );
}

/// No block the attacker proposed (all of them forged) was finalized.
async fn assert_no_forged_block_finalized(
    state: &NodeState,
    height: u64,
    attacker: &ed25519::PublicKey,
) {
    let handles = state.honest().expect("an honest validator");
    for height in 1..=height {
        let block = handles
            .marshal
            .get_block(Identifier::Height(Height::new(height)))
            .await
            .expect("the agreement check found every block up to this height");
        assert_ne!(
            block.inner().proposer(),
            attacker,
            "the attacker's forged block was finalized at height {height}"
        );
    }
}

fn assert_every_channel_attacked(sent: &SentCounts) {
    let sent = sent.lock().unwrap();
    println!("attack messages sent (channel, kind) -> count: {sent:?}");
    for channel in engine_channels() {
        let mut kinds = MALFORMED.to_vec();
        if channel == channel::RESOLVER || channel == channel::BACKFILL {
            kinds.push(Attack::Request);
        }
        if channel == channel::BROADCAST {
            kinds.push(Attack::ForgedBlock);
        }
        if channel == channel::VOTES {
            kinds.push(Attack::ForgedProposal);
        }
        for kind in kinds {
            let count = sent.get(&(channel, kind)).copied().unwrap_or(0);
            assert!(
                count > 0,
                "the attacker never sent {kind:?} on channel {channel}"
            );
        }
    }
}

/// The running consortium: the honest validators' states, what the attacker sent, and the
/// finalizations the honest validators report. (Engine tasks run until the runtime stops;
/// dropping their handles does not abort them.)
struct Consortium {
    states: Vec<NodeState>,
    sent: SentCounts,
    updates: mpsc::UnboundedReceiver<FinalizationUpdate<ed25519::PublicKey>>,
}

async fn start_consortium(
    context: &deterministic::Context,
    ledger: &Ledger,
    oracle: &Oracle<ed25519::PublicKey, deterministic::Context>,
) -> Consortium {
    let keys = ledger.participants();
    let (monitor, updates) = mpsc::unbounded_channel();
    let mut states = Vec::new();
    let mut sent = None;
    for (index, key) in keys.iter().enumerate() {
        let channels = register(oracle, ledger, key).await;
        if index == ATTACKER {
            sent = Some(start_attacker(context, ledger, channels));
            continue;
        }
        let (_engine, state) = ledger
            .init(InitContext {
                context: context.child("validator").with_attribute("index", index),
                index,
                delayed: false,
                public_key: key,
                oracle,
                channels,
                participants: &keys,
                monitor: monitor.clone(),
            })
            .await;
        states.push(state);
    }
    Consortium {
        states,
        sent: sent.expect("the attacker is one of the validators"),
        updates,
    }
}

/// Runs the attack under `seed` and returns the runtime's audit digest of everything that
/// happened, after checking the honest validators survived it.
fn run_attack(seed: u64) -> String {
    let config = deterministic::Config::new()
        .with_seed(seed)
        .with_timeout(Some(RUN_TIMEOUT));
    deterministic::Runner::new(config).start(|context| async move {
        let ledger = Ledger::new();
        let keys = ledger.participants();
        let oracle = start_network(&context, &ledger).await;
        let mut consortium = start_consortium(&context, &ledger, &oracle).await;
        let during_attack =
            await_honest_progress(&context, &consortium.states, &mut consortium.updates).await;
        assert!(
            during_attack >= FINALIZED_DURING_ATTACK_BLOCKS_MIN,
            "only {during_attack} blocks finalized during the flood"
        );
        let states: Vec<&NodeState> = consortium.states.iter().collect();
        let agreement = common::honest_agreement(&states)
            .await
            .expect("honest validators agree on every finalized block");
        assert!(
            agreement.transactions >= COMMITTED_TRANSACTIONS_MIN,
            "only {} transactions committed",
            agreement.transactions
        );
        assert_no_forged_block_finalized(states[0], agreement.height, &keys[ATTACKER]).await;
        assert_every_channel_attacked(&consortium.sent);
        assert_only_attacker_blocked(&oracle, &keys).await;
        context.auditor().state()
    })
}

#[test]
fn malformed_messages_on_every_channel_never_crash_or_stall_a_validator() {
    run_attack(common::seed());
}

#[test]
fn malformed_message_attack_replays_from_its_seed() {
    let seed = common::seed();
    let first = run_attack(seed);
    let replay = run_attack(seed);
    assert_eq!(first, replay, "seed {seed} replays a different run");
}
