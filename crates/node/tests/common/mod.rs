//! The consortium the simulation tests run: four validators of one hospital, each the real
//! engine (simplex, marshal, glue::stateful, QMDB, the ledger application) fed by a seeded load
//! generator, or a byzantine stand-in from commonware's simplex mocks in one validator's place.

// Each test binary compiles this module and uses a different part of it.
#![allow(dead_code)]

use commonware_codec::Encode as _;
use commonware_consensus::{
    marshal::Identifier,
    simplex::{
        elector::RoundRobin,
        mocks::{conflicter, equivocator, relay::Relay},
        scheme::ed25519 as ed25519_scheme,
    },
    types::{Epoch, Height},
};
use commonware_cryptography::{Digestible as _, Hasher as _, Sha256, Signer as _, ed25519, sha256};
use commonware_glue::simulate::{
    engine::{EngineDefinition, InitContext},
    exit::ExitCondition,
    processed::ProcessedHeight,
    property::Property,
    reporter::MonitorReporter,
    tracker::ProgressTracker,
};
use commonware_p2p::{
    simulated::Oracle,
    utils::mux::{Muxer, SubReceiver, SubSender},
};
use commonware_runtime::{Clock as _, Handle, Quota, Spawner as _, Supervisor as _, deterministic};
use commonware_utils::{NZU32, NZUsize, TryCollect as _, ordered::Set};
use medchain_crypto::keys::hpke::EncryptionSecretKey;
use medchain_node::{
    chain::ChainView,
    engine::{self, EngineConfig, EngineHandles, Timeouts},
    epochs::EpochRoster,
    mempool::{MEMPOOL_PER_SENDER_MAX_TRANSACTIONS, Mempool, TxStatus},
};
use medchain_state::registration::GenesisKeyring;
use medchain_types::{
    AccountId, Genesis, GenesisInstitution, GenesisValidator, InstitutionId, InstitutionKind,
    Payload, SignedTransaction, Transaction, ValidatorKeyProofs,
};
use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

pub const VALIDATORS: usize = 4;
/// Transactions each honest validator's load generator submits over a run.
pub const LOAD_TRANSACTIONS_PER_VALIDATOR: u64 = 120;
/// Pause between two submissions of one load generator.
const LOAD_INTERVAL_MS: u64 = 40;
const HOSPITAL: &str = "st-mary-hospital";

/// The run's seed: `MEDCHAIN_SIM_SEED` if set, else a fixed default; printed so a failure
/// can be replayed.
pub fn seed() -> u64 {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let seed = std::env::var("MEDCHAIN_SIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x6d65_6463);
    println!("simulation seed: {seed} (replay with MEDCHAIN_SIM_SEED={seed})");
    seed
}

/// A registered (sender, receiver) pair of one simulated p2p channel.
pub type ChannelPair = commonware_glue::simulate::engine::ChannelPair<ed25519::PublicKey>;

/// What a byzantine validator runs instead of the engine (commonware's simplex mocks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Byzantine {
    /// When it leads a view, notarizes one proposal towards one validator and a different
    /// proposal towards the others.
    Equivocator,
    /// Answers every notarize and finalize vote it receives with two of its own: one for a
    /// random digest and one for the proposal it saw, which is attributable double voting.
    Conflicter,
}

#[derive(Clone)]
pub struct Ledger {
    /// The genesis validators, then any candidate nodes governance may admit.
    pub signers: Vec<ed25519::PrivateKey>,
    pub genesis: Arc<Genesis>,
    byzantine: Option<(usize, Byzantine)>,
    /// Governance steps the validators' drivers submit, in order (see `with_governance`).
    governance: Vec<GovernanceStep>,
    /// Adversarial senders beside the honest load (see `with_spam`).
    spam: Option<Spam>,
    /// Spam runs whose transactions have all settled, over every validator.
    pub spam_runs_settled: Arc<AtomicU64>,
}

/// Adversarial load: `senders` accounts, spread over the validators' mempools, each queueing
/// `runs` runs one after the other, each run built to fail at block building (see `spam_run`).
#[derive(Clone, Copy, Debug)]
pub struct Spam {
    pub senders: u64,
    pub runs: u64,
}

/// Transactions in one spam run: as many as one sender may have waiting.
pub const SPAM_RUN_TRANSACTIONS: u64 = MEMPOOL_PER_SENDER_MAX_TRANSACTIONS as u64;
/// How often a spammer looks whether its run has settled.
const SPAM_POLL_MS: u64 = 50;
/// Pause between a spammer's runs, so that the runs span the honest load's few seconds.
const SPAM_RUN_PAUSE_MS: u64 = 500;
/// Key seeds of the spammers' accounts start here, clear of the honest load's.
const SPAM_KEY_SEED_BASE: u64 = 900_000_000;

/// One membership change governance carries through: validator `proposer` proposes it, the
/// validators in `voters` approve it, each submitting once the previous step committed.
#[derive(Clone, Debug)]
pub struct GovernanceStep {
    pub change: medchain_types::MembershipChange,
    pub proposer: usize,
    pub voters: Vec<usize>,
}

/// How often a governance driver looks at its transaction's status.
const GOVERNANCE_POLL_MS: u64 = 100;
/// Ttl of the test's membership proposals.
const PROPOSAL_TTL_BLOCKS: u64 = 1_000;

impl Ledger {
    pub fn new() -> Self {
        let signers: Vec<_> = (0..VALIDATORS as u64)
            .map(ed25519::PrivateKey::from_seed)
            .collect();
        let genesis = simulation_genesis(
            &signers,
            medchain_types::limits::EPOCH_LENGTH_DEFAULT_BLOCKS,
        );
        Self {
            signers,
            genesis: Arc::new(genesis),
            byzantine: None,
            governance: Vec::new(),
            spam: None,
            spam_runs_settled: Arc::default(),
        }
    }

    /// The same consortium with adversarial senders beside the honest load.
    pub fn with_spam(mut self, spam: Spam) -> Self {
        self.spam = Some(spam);
        self
    }

    /// The spam runs the run submits in all.
    pub fn spam_runs(&self) -> u64 {
        self.spam.map_or(0, |s| s.senders * s.runs)
    }

    /// Every honest load transaction the validators' load generators submit.
    pub fn honest_load(&self) -> Vec<SignedTransaction> {
        (0..VALIDATORS as u64)
            .flat_map(|index| {
                (0..LOAD_TRANSACTIONS_PER_VALIDATOR)
                    .map(move |n| registration(&self.genesis, honest_load_seed(index, n)))
            })
            .collect()
    }

    /// Adds a node with key `candidate_seed` that is not in the genesis; it follows the chain
    /// until governance admits it. Returns its index among the participants.
    pub fn with_candidate(mut self, candidate_seed: u64) -> (Self, usize) {
        self.signers
            .push(ed25519::PrivateKey::from_seed(candidate_seed));
        let index = self.signers.len() - 1;
        (self, index)
    }

    /// Has the validators' drivers carry `steps` through governance, one after the other.
    pub fn with_governance(mut self, steps: Vec<GovernanceStep>) -> Self {
        self.governance = steps;
        self
    }

    /// The account key of participant `index`.
    pub fn key(&self, index: usize) -> ed25519::PublicKey {
        self.signers[index].public_key()
    }

    /// The signing key of participant `index` (to prove possession when it is admitted).
    pub fn signer(&self, index: usize) -> &ed25519::PrivateKey {
        &self.signers[index]
    }

    pub fn chain_id(&self) -> medchain_types::ChainId {
        self.genesis.chain_id()
    }

    pub fn hospital() -> InstitutionId {
        InstitutionId::new(HOSPITAL).unwrap()
    }

    /// The same consortium with epochs of `blocks` blocks, so runs cross epoch boundaries.
    pub fn with_epoch_length(mut self, blocks: u64) -> Self {
        // A new document, so its proofs of possession are signed anew.
        self.genesis = Arc::new(simulation_genesis(&self.signers[..VALIDATORS], blocks));
        self
    }

    /// The same consortium with validator `index` replaced by `behaviour`.
    pub fn with_byzantine(mut self, index: usize, behaviour: Byzantine) -> Self {
        assert!(
            index < VALIDATORS,
            "the byzantine validator is one of the set"
        );
        self.byzantine = Some((index, behaviour));
        self
    }

    /// The genesis validators.
    pub fn validator_set(&self) -> Set<ed25519::PublicKey> {
        self.genesis
            .validators
            .iter()
            .map(|v| v.account.0.clone())
            .try_collect()
            .unwrap()
    }

    /// Validator `index`'s consensus signing scheme, as the engine builds it.
    pub fn scheme(&self, index: usize) -> ed25519_scheme::Scheme {
        ed25519_scheme::Scheme::signer(
            &medchain_verify::consensus_namespace(&self.genesis.chain_name),
            self.validator_set(),
            self.signers[index].clone(),
        )
        .expect("every simulated signer is a validator")
    }

    /// Starts the real engine for validator `index` with a load generator on its mempool.
    async fn start_honest(
        &self,
        ctx: InitContext<'_, ed25519::PublicKey>,
    ) -> (Handle<()>, NodeState) {
        let InitContext {
            context,
            index,
            public_key,
            oracle,
            channels,
            monitor,
            ..
        } = ctx;
        let mempool = Mempool::new();
        let pk = public_key.clone();
        let (handle, handles) = engine::start(
            context.child("validator"),
            EngineConfig {
                signer: self.signers[index].clone(),
                genesis: self.genesis.clone(),
                partition_prefix: format!("validator-{index}"),
                mempool: mempool.clone(),
                chain: ChainView::new(),
                timeouts: Timeouts::default(),
                page_cache_pages: NZUsize!(64),
            },
            channels,
            oracle.manager(),
            oracle.control(public_key.clone()),
            // The harness tracks every participant as one peer set for the whole run.
            Box::new(|_: &EpochRoster| {}),
            move |mailbox| MonitorReporter::new(pk, monitor, mailbox),
        )
        .await;
        if !self.governance.is_empty() {
            let driver = GovernanceDriver {
                ledger: self.clone(),
                index,
                mempool: mempool.clone(),
            };
            context
                .child("governance")
                .spawn(move |ctx| driver.run(ctx));
        }
        if let Some(spam) = self.spam {
            for sender in (index as u64..spam.senders).step_by(VALIDATORS) {
                let spammer = Spammer {
                    genesis: self.genesis.clone(),
                    mempool: mempool.clone(),
                    sender,
                    runs: spam.runs,
                    settled: self.spam_runs_settled.clone(),
                };
                context.child("spam").spawn(move |ctx| spammer.run(ctx));
            }
        }
        let genesis = self.genesis.clone();
        context.child("load").spawn(move |ctx| async move {
            for n in 0..LOAD_TRANSACTIONS_PER_VALIDATOR {
                ctx.sleep(Duration::from_millis(LOAD_INTERVAL_MS)).await;
                let tx = registration(&genesis, honest_load_seed(index as u64, n));
                // A restarted validator submits its load again; the ledger refuses the repeats.
                let _ = mempool.insert(tx, 0);
            }
        });
        (handle, NodeState::Honest(Box::new(handles)))
    }

    /// Starts a commonware simplex mock in validator `index`'s place. The mocks speak only
    /// consensus; the block channels are left unserved, as a byzantine node may.
    async fn start_byzantine(
        &self,
        ctx: InitContext<'_, ed25519::PublicKey>,
        behaviour: Byzantine,
    ) -> (Handle<()>, NodeState) {
        let scheme = self.scheme(ctx.index);
        let mut channels = ctx.channels.into_iter();
        let votes = epoch_zero(
            &ctx.context,
            "votes",
            channels.next().expect("vote channel"),
        )
        .await;
        let certificates = epoch_zero(
            &ctx.context,
            "certificates",
            channels.next().expect("certificate channel"),
        )
        .await;
        let proposals = Arc::new(Mutex::new(Vec::new()));
        let handle = match behaviour {
            Byzantine::Equivocator => {
                // The equivocator hands both payloads of each equivocation to its relay. They
                // are not ledger blocks, so no validator listens; the test does, to count
                // the equivocations.
                let relay = Arc::new(Relay::new());
                let observer = ed25519::PrivateKey::from_seed(u64::MAX).public_key();
                let mut payloads = relay.register(observer);
                let seen = proposals.clone();
                ctx.context
                    .child("relay_observer")
                    .spawn(move |_| async move {
                        while let Some((digest, _)) = payloads.recv().await {
                            seen.lock().unwrap().push(digest);
                        }
                    });
                equivocator::Equivocator::<_, _, _, Sha256>::new(
                    ctx.context.child("equivocator"),
                    equivocator::Config {
                        scheme,
                        elector: RoundRobin::<Sha256>::default(),
                        epoch: Epoch::zero(),
                        relay,
                    },
                )
                .start(votes, certificates)
            }
            Byzantine::Conflicter => conflicter::Conflicter::<_, _, Sha256>::new(
                ctx.context.child("conflicter"),
                conflicter::Config { scheme },
            )
            .start(votes),
        };
        let state = NodeState::Byzantine {
            oracle: ctx.oracle.clone(),
            proposals,
        };
        (handle, state)
    }
}

/// The epoch-0 sub-channel of a consensus channel: every node prefixes its votes,
/// certificates and resolver messages with their epoch, and so must a byzantine stand-in.
pub async fn epoch_zero(
    context: &deterministic::Context,
    name: &'static str,
    (sender, receiver): ChannelPair,
) -> EpochChannel {
    let (mux, mut handle) = Muxer::new(context.child(name), sender, receiver);
    mux.start();
    handle
        .register(0)
        .await
        .expect("a fresh muxer registers epoch 0")
}

/// One epoch's sub-channel of a simulated p2p channel.
pub type EpochChannel = (
    SubSender<commonware_p2p::simulated::Sender<ed25519::PublicKey, deterministic::Context>>,
    SubReceiver<ed25519::PublicKey>,
);

/// Submits this validator's part of the governance steps: for each step in order, the
/// proposal (if it proposes) or its approving vote (if it votes), resubmitted until committed,
/// since a vote sent before the proposal committed is refused. It learns that a step's
/// proposal and votes committed from its own transactions committing; validators taking no
/// part in a step wait for it by time.
struct GovernanceDriver {
    ledger: Ledger,
    index: usize,
    mempool: Mempool,
}

impl GovernanceDriver {
    async fn run(self, context: deterministic::Context) {
        let key = &self.ledger.signers[self.index];
        let mut nonce = 0;
        for (step_number, step) in self.ledger.governance.iter().enumerate() {
            let proposal = self.ledger.proposal_tx(step_number);
            let tx = if step.proposer == self.index {
                proposal
            } else if step.voters.contains(&self.index) {
                let vote = Transaction {
                    chain_id: self.ledger.genesis.chain_id(),
                    sender: AccountId(key.public_key()),
                    nonce,
                    payload: Payload::Vote {
                        proposal: medchain_types::ProposalId::from_tx(&proposal.hash()),
                        approve: true,
                    },
                };
                SignedTransaction::sign(key, vote)
            } else {
                continue;
            };
            self.submit_until_committed(&context, tx).await;
            nonce += 1;
        }
    }

    async fn submit_until_committed(
        &self,
        context: &deterministic::Context,
        tx: SignedTransaction,
    ) {
        let hash = tx.hash();
        loop {
            match self.mempool.status(&hash) {
                Some(TxStatus::Committed { .. }) => return,
                Some(TxStatus::Pending) => {}
                None | Some(TxStatus::Rejected { .. }) => {
                    let _ = self.mempool.insert(tx.clone(), tx.transaction.nonce);
                }
            }
            context
                .sleep(Duration::from_millis(GOVERNANCE_POLL_MS))
                .await;
        }
    }
}

impl Ledger {
    /// The proposal transaction of governance step `step`, as its proposer signs it (its
    /// nonce counts the proposer's earlier governance transactions).
    pub fn proposal_tx(&self, step: usize) -> SignedTransaction {
        let proposer = self.governance[step].proposer;
        let nonce = self.governance[..step]
            .iter()
            .filter(|s| s.proposer == proposer || s.voters.contains(&proposer))
            .count() as u64;
        let key = &self.signers[proposer];
        let tx = Transaction {
            chain_id: self.genesis.chain_id(),
            sender: AccountId(key.public_key()),
            nonce,
            payload: Payload::ProposeMembership {
                change: self.governance[step].change.clone(),
                ttl_blocks: PROPOSAL_TTL_BLOCKS,
            },
        };
        SignedTransaction::sign(key, tx)
    }
}

/// What a test can inspect of a running validator.
pub enum NodeState {
    Honest(Box<EngineHandles<deterministic::Context>>),
    /// A byzantine validator has no ledger; it keeps the network oracle so end-of-run checks
    /// can ask which peers the honest validators blocked.
    Byzantine {
        oracle: Oracle<ed25519::PublicKey, deterministic::Context>,
        /// The payload digests an equivocator proposed, two per view it equivocated in.
        proposals: Arc<Mutex<Vec<sha256::Digest>>>,
    },
}

impl NodeState {
    pub fn honest(&self) -> Option<&EngineHandles<deterministic::Context>> {
        match self {
            Self::Honest(handles) => Some(handles.as_ref()),
            Self::Byzantine { .. } => None,
        }
    }
}

impl ProcessedHeight for NodeState {
    async fn processed_height(&self) -> u64 {
        self.honest()
            .and_then(|h| h.chain.tip())
            .map_or(0, |t| t.height)
    }
}

/// Seed of the hospital admin's key, who co-signs the load's pseudonym registrations.
const HOSPITAL_ADMIN_SEED: u64 = 1_000;

/// The key seed of validator `index`'s `n`th honest load transaction.
fn honest_load_seed(index: u64, n: u64) -> u64 {
    1_000_000 * (index + 1) + n
}

/// One adversarial sender: queues a run, waits until every transaction of it has settled
/// (committed, or dropped with a reason), then queues the next with a fresh key, as an attacker
/// minting accounts would.
struct Spammer {
    genesis: Arc<Genesis>,
    mempool: Mempool,
    sender: u64,
    runs: u64,
    settled: Arc<AtomicU64>,
}

impl Spammer {
    async fn run(self, context: deterministic::Context) {
        for run in 0..self.runs {
            context
                .sleep(Duration::from_millis(SPAM_RUN_PAUSE_MS))
                .await;
            let seed = SPAM_KEY_SEED_BASE + self.sender * 1_000 + run;
            let txs = spam_run(&self.genesis, seed);
            let hashes: Vec<_> = txs.iter().map(|t| t.hash()).collect();
            for tx in txs {
                // Admitted as the API admits them: each passes the state's check against the
                // finalized state at its nonce (nothing there says the key is registered yet).
                self.mempool
                    .insert(tx, 0)
                    .expect("a fresh sender's run fits its mempool share");
            }
            while hashes.iter().any(|h| {
                !matches!(
                    self.mempool.status(h),
                    Some(TxStatus::Committed { .. } | TxStatus::Rejected { .. })
                )
            }) {
                context.sleep(Duration::from_millis(SPAM_POLL_MS)).await;
            }
            self.settled.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// A run built to fail at block building: a registration, a second registration of the same
/// key (refused: already registered), then nonce-gap followers.
/// The simulated consortium's genesis: one hospital, `signers` as its validators, every founding
/// key's proof of possession signed.
fn simulation_genesis(signers: &[ed25519::PrivateKey], epoch_length_blocks: u64) -> Genesis {
    // Clear of the candidates' `[4; 32]`: an X25519 key is registered once.
    let encryption: Vec<_> = (0..signers.len())
        .map(|i| EncryptionSecretKey::derive(&[0xa0 + i as u8; 32]).0)
        .collect();
    let admin = ed25519::PrivateKey::from_seed(HOSPITAL_ADMIN_SEED);
    let mut genesis = Genesis {
        chain_name: "medchain-sim".into(),
        genesis_time_ms: 0,
        institutions: vec![GenesisInstitution {
            id: InstitutionId::new(HOSPITAL).unwrap(),
            kind: InstitutionKind::Hospital,
            admin: AccountId(admin.public_key()),
            admin_proof: [0; 64],
        }],
        validators: signers
            .iter()
            .zip(&encryption)
            .enumerate()
            .map(|(i, (s, e))| GenesisValidator {
                account: AccountId(s.public_key()),
                institution: InstitutionId::new(HOSPITAL).unwrap(),
                p2p_address: format!("127.0.0.1:{}", 7100 + i),
                http_address: format!("127.0.0.1:{}", 8100 + i),
                encryption_key: e.public_key().to_bytes(),
                proofs: ValidatorKeyProofs {
                    account: [0; 64],
                    encryption_key: [0; 64],
                },
            })
            .collect(),
        observers: vec![],
        members: vec![],
        epoch_length_blocks,
    };
    let mut keyring = GenesisKeyring::default();
    keyring.account(&admin);
    for (signer, encryption) in signers.iter().zip(&encryption) {
        keyring.validator(signer, encryption);
    }
    keyring
        .sign(&mut medchain_crypto::rng::seeded_u64(0), &mut genesis)
        .expect("every founding key is in the keyring");
    medchain_state::check_genesis(&genesis).expect("simulation genesis is valid");
    genesis
}

pub fn spam_run(genesis: &Genesis, key_seed: u64) -> Vec<SignedTransaction> {
    let key = ed25519::PrivateKey::from_seed(key_seed);
    let template = registration(genesis, key_seed).transaction;
    (0..SPAM_RUN_TRANSACTIONS)
        .map(|nonce| {
            let transaction = Transaction {
                nonce,
                ..template.clone()
            };
            SignedTransaction::sign(&key, transaction)
        })
        .collect()
}

/// A patient registering a pseudonym, co-signed by the hospital's admin: valid for any fresh
/// key, so the load needs no setup.
pub fn registration(genesis: &Genesis, key_seed: u64) -> SignedTransaction {
    let key = ed25519::PrivateKey::from_seed(key_seed);
    let pre = medchain_crypto::umbral::SecretKey::from_be_bytes(
        &commonware_cryptography::Sha256::hash(&[&key_seed.to_be_bytes()]).encode()[..32],
    )
    .expect("a SHA-256 output is a secp256k1 scalar but with probability 2^-128");
    let tx = Transaction {
        chain_id: genesis.chain_id(),
        sender: AccountId(key.public_key()),
        nonce: 0,
        payload: medchain_state::registration::register_pseudonym(
            &genesis.chain_id(),
            &key,
            &pre,
            InstitutionId::new(HOSPITAL).unwrap(),
            &ed25519::PrivateKey::from_seed(HOSPITAL_ADMIN_SEED),
        ),
    };
    SignedTransaction::sign(&key, tx)
}

impl EngineDefinition for Ledger {
    type PublicKey = ed25519::PublicKey;
    type Engine = Handle<()>;
    type State = NodeState;

    fn participants(&self) -> Vec<ed25519::PublicKey> {
        self.signers.iter().map(|s| s.public_key()).collect()
    }

    fn channels(&self) -> Vec<(u64, Quota)> {
        engine::channel::ALL
            .iter()
            .map(|c| (*c, Quota::per_second(NZU32!(10_000))))
            .collect()
    }

    fn max_message_size(&self) -> u32 {
        engine::max_message_size()
    }

    async fn init(&self, ctx: InitContext<'_, ed25519::PublicKey>) -> (Handle<()>, NodeState) {
        match self.byzantine {
            Some((index, behaviour)) if index == ctx.index => {
                self.start_byzantine(ctx, behaviour).await
            }
            _ => self.start_honest(ctx).await,
        }
    }

    fn start(engine: Handle<()>) -> Handle<()> {
        engine
    }
}

/// The finalized chain the honest validators agree on.
#[derive(Debug)]
pub struct Agreement {
    /// The lowest finalized height among them; every block up to it was compared.
    pub height: u64,
    pub transactions: usize,
}

/// Checks that every honest validator holds the same finalized block (so the same
/// transactions, in the same order) at every height up to the lowest height they all reached.
pub async fn honest_agreement(states: &[&NodeState]) -> Result<Agreement, String> {
    let honest: Vec<_> = states.iter().filter_map(|s| s.honest()).collect();
    let mut lowest = u64::MAX;
    for handles in &honest {
        lowest = lowest.min(handles.chain.tip().map_or(0, |t| t.height));
    }
    let mut transactions = 0;
    for height in 1..=lowest {
        let mut digest = None;
        for (i, handles) in honest.iter().enumerate() {
            let block = handles
                .marshal
                .get_block(Identifier::Height(Height::new(height)))
                .await
                .ok_or_else(|| format!("honest validator {i} lacks finalized block {height}"))?;
            match digest {
                None => {
                    digest = Some(block.digest());
                    transactions += block.inner().transactions.len();
                }
                Some(d) if d != block.digest() => {
                    return Err(format!("honest validators disagree on block {height}"));
                }
                Some(_) => {}
            }
        }
    }
    println!(
        "{} honest validators agree on {lowest} blocks holding {transactions} transactions",
        honest.len()
    );
    Ok(Agreement {
        height: lowest,
        transactions,
    })
}

/// Every honest validator finalized the same blocks up to the lowest height they all reached,
/// and at least `min_transactions` transactions were committed in them.
#[derive(Clone)]
pub struct CommittedTransactionsAgree {
    pub min_transactions: usize,
}

impl Property<ed25519::PublicKey, NodeState> for CommittedTransactionsAgree {
    fn name(&self) -> &str {
        "committed_transactions_agree"
    }

    fn check<'a>(
        &'a self,
        _tracker: &'a ProgressTracker<ed25519::PublicKey>,
        states: &'a [&'a NodeState],
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            let agreement = honest_agreement(states).await?;
            if agreement.transactions < self.min_transactions {
                return Err(format!(
                    "only {} transactions committed up to height {}",
                    agreement.transactions, agreement.height
                ));
            }
            Ok(())
        })
    }
}

/// Done once `honest` validators have finalized and applied `required` blocks (the harness
/// counts a crashed or byzantine validator as still expected, which it never meets).
#[derive(Clone)]
pub struct HonestHeightAtLeast {
    pub required: u64,
    pub honest: usize,
}

impl ExitCondition<ed25519::PublicKey, NodeState> for HonestHeightAtLeast {
    fn name(&self) -> &str {
        "honest_height_at_least"
    }

    fn requires_polling(&self) -> bool {
        true
    }

    fn reached<'a>(
        &'a self,
        _tracker: &'a ProgressTracker<ed25519::PublicKey>,
        states: &'a [&'a NodeState],
        target_count: usize,
    ) -> Pin<Box<dyn Future<Output = Result<bool, String>> + Send + 'a>> {
        Box::pin(async move {
            let mut reached = 0;
            for state in states {
                if state.processed_height().await >= self.required {
                    reached += 1;
                }
            }
            Ok(reached >= self.honest.min(target_count))
        })
    }
}
