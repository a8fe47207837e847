//! Four validators in one process under commonware's deterministic runtime and simulated
//! network: the real engine (simplex, marshal, glue::stateful, QMDB, the ledger application),
//! fed transactions by a seeded load generator, through a partition that heals, a crash and
//! restart, and a silent byzantine validator. Each test prints its seed; rerun a failure with
//! `MEDCHAIN_SIM_SEED=<seed> cargo test -p medchain-node --test simulation`.

use commonware_codec::Encode as _;
use commonware_consensus::{marshal::Identifier, types::Height};
use commonware_cryptography::{Digestible as _, Hasher as _, Signer as _, ed25519};
use commonware_glue::simulate::{
    action::{Action, Crash, Schedule},
    engine::{EngineDefinition, InitContext},
    exit::ExitCondition,
    plan::PlanBuilder,
    processed::ProcessedHeight,
    property::Property,
    reporter::MonitorReporter,
    tracker::ProgressTracker,
};
use commonware_p2p::simulated::Link;
use commonware_runtime::{Clock as _, Handle, Quota, Spawner as _, Supervisor as _, deterministic};
use commonware_utils::{NZU32, NZUsize, TryCollect as _, ordered::Set, probability};
use medchain_node::{
    chain::ChainView,
    engine::{self, EngineConfig, EngineHandles, Timeouts},
    mempool::Mempool,
};
use medchain_types::{
    AccountId, Genesis, GenesisInstitution, GenesisValidator, InstitutionId, InstitutionKind,
    Payload, SignedTransaction, Transaction,
};
use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

const VALIDATORS: usize = 4;
/// Transactions each validator's load generator submits over a run.
const LOAD_TRANSACTIONS_PER_VALIDATOR: u64 = 120;
const HOSPITAL: &str = "st-mary-hospital";

fn seed() -> u64 {
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

#[derive(Clone)]
struct Ledger {
    signers: Vec<ed25519::PrivateKey>,
    genesis: Arc<Genesis>,
}

impl Ledger {
    fn new() -> Self {
        let signers: Vec<_> = (0..VALIDATORS as u64)
            .map(ed25519::PrivateKey::from_seed)
            .collect();
        let genesis = Genesis {
            chain_name: "medchain-sim".into(),
            genesis_time_ms: 0,
            institutions: vec![GenesisInstitution {
                id: InstitutionId::new(HOSPITAL).unwrap(),
                kind: InstitutionKind::Hospital,
                admin: AccountId(ed25519::PrivateKey::from_seed(1_000).public_key()),
            }],
            validators: signers
                .iter()
                .enumerate()
                .map(|(i, s)| GenesisValidator {
                    account: AccountId(s.public_key()),
                    institution: InstitutionId::new(HOSPITAL).unwrap(),
                    p2p_address: format!("127.0.0.1:{}", 7100 + i),
                    http_address: format!("127.0.0.1:{}", 8100 + i),
                    encryption_key: [9; 32],
                })
                .collect(),
            members: vec![],
        };
        genesis.validate().expect("simulation genesis is valid");
        Self {
            signers,
            genesis: Arc::new(genesis),
        }
    }

    fn validator_set(&self) -> Set<ed25519::PublicKey> {
        self.signers
            .iter()
            .map(|s| s.public_key())
            .try_collect()
            .unwrap()
    }
}

/// What a test can inspect of a running validator.
struct NodeState {
    handles: EngineHandles<deterministic::Context>,
}

impl ProcessedHeight for NodeState {
    async fn processed_height(&self) -> u64 {
        self.handles.chain.tip().map_or(0, |t| t.height)
    }
}

/// A patient registering a pseudonym: valid for any fresh key, so the load needs no setup.
fn registration(genesis: &Genesis, key_seed: u64) -> SignedTransaction {
    let key = ed25519::PrivateKey::from_seed(key_seed);
    let mut pre_public_key = [0u8; 33];
    pre_public_key[0] = 2;
    pre_public_key[1..].copy_from_slice(
        &commonware_cryptography::Sha256::hash(&[&key_seed.to_be_bytes()]).encode()[..32],
    );
    let tx = Transaction {
        chain_id: genesis.chain_id(),
        sender: AccountId(key.public_key()),
        nonce: 0,
        payload: Payload::RegisterPseudonym {
            institution: InstitutionId::new(HOSPITAL).unwrap(),
            pre_public_key,
        },
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
        engine::max_message_size(VALIDATORS as u32)
    }

    async fn init(&self, ctx: InitContext<'_, ed25519::PublicKey>) -> (Handle<()>, NodeState) {
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
                validators: self.validator_set(),
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
            move |mailbox| MonitorReporter::new(pk, monitor, mailbox),
        )
        .await;
        let genesis = self.genesis.clone();
        context.child("load").spawn(move |ctx| async move {
            for n in 0..LOAD_TRANSACTIONS_PER_VALIDATOR {
                ctx.sleep(Duration::from_millis(40)).await;
                let tx = registration(&genesis, 1_000_000 * (index as u64 + 1) + n);
                // A restarted validator submits its load again; the ledger refuses the repeats.
                let _ = mempool.insert(tx, 0);
            }
        });
        (handle, NodeState { handles })
    }

    fn start(engine: Handle<()>) -> Handle<()> {
        engine
    }
}

/// Every active validator finalized the same blocks (so the same transactions, in the same
/// order) up to the lowest height they all reached, and transactions were committed.
#[derive(Clone)]
struct CommittedTransactionsAgree {
    min_transactions: usize,
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
            let mut lowest = u64::MAX;
            for state in states {
                lowest = lowest.min(state.processed_height().await);
            }
            let mut committed = 0;
            for height in 1..=lowest {
                let mut digest = None;
                for (i, state) in states.iter().enumerate() {
                    let block = state
                        .handles
                        .marshal
                        .get_block(Identifier::Height(Height::new(height)))
                        .await
                        .ok_or_else(|| format!("validator {i} lacks finalized block {height}"))?;
                    match digest {
                        None => {
                            digest = Some(block.digest());
                            committed += block.inner().transactions.len();
                        }
                        Some(d) if d != block.digest() => {
                            return Err(format!("validators disagree on block {height}"));
                        }
                        Some(_) => {}
                    }
                }
            }
            println!(
                "{} validators agree on {lowest} blocks holding {committed} transactions",
                states.len()
            );
            if committed < self.min_transactions {
                return Err(format!(
                    "only {committed} transactions committed up to height {lowest}"
                ));
            }
            Ok(())
        })
    }
}

/// Done once `honest` validators have finalized and applied `required` blocks (the harness
/// counts a crashed validator as still expected, which a permanently silent one never meets).
#[derive(Clone)]
struct HonestHeightAtLeast {
    required: u64,
    honest: usize,
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

fn run(schedule: Schedule<ed25519::PublicKey>, required_height: u64, honest: usize) {
    let engine = Ledger::new();
    PlanBuilder::new(engine)
        .seed(seed())
        .crash(Crash::Schedule(schedule))
        .exit_condition(HonestHeightAtLeast {
            required: required_height,
            honest,
        })
        .property(CommittedTransactionsAgree {
            min_transactions: 100,
        })
        .timeout(Duration::from_secs(600))
        .run()
        .expect("the consortium keeps finalizing and agrees on committed transactions");
}

fn cut(from: &ed25519::PublicKey, to: &ed25519::PublicKey) -> Action<ed25519::PublicKey> {
    Action::UpdateLink {
        from: from.clone(),
        to: to.clone(),
        link: Link {
            latency: Duration::from_millis(10),
            jitter: Duration::ZERO,
            success_rate: probability!(0.0),
        },
    }
}

fn healthy() -> Link {
    Link {
        latency: Duration::from_millis(10),
        jitter: Duration::from_millis(5),
        success_rate: probability!(1.0),
    }
}

#[test]
fn partition_heals_and_chain_keeps_finalizing() {
    let keys = Ledger::new().participants();
    // Isolate validator 0 from the others in both directions for 3 s, then heal.
    let mut schedule = Schedule::new();
    for other in &keys[1..] {
        schedule = schedule.at(Duration::from_secs(2), cut(&keys[0], other));
        schedule = schedule.at(Duration::from_secs(2), cut(other, &keys[0]));
    }
    schedule = schedule.at(Duration::from_secs(5), Action::Heal(healthy()));
    run(schedule, 40, VALIDATORS);
}

#[test]
fn crashed_validator_restarts_and_catches_up() {
    let keys = Ledger::new().participants();
    let schedule = Schedule::new()
        .at(Duration::from_secs(2), Action::Crash(keys[1].clone()))
        .at(Duration::from_secs(5), Action::Restart(keys[1].clone()));
    run(schedule, 40, VALIDATORS);
}

#[test]
fn silent_byzantine_validator_cannot_stall_the_chain() {
    let keys = Ledger::new().participants();
    // Validator 3 goes silent for the rest of the run: it neither votes nor proposes, and
    // the other three (a quorum of 2f+1 = 3) keep finalizing.
    let schedule = Schedule::new().at(Duration::from_secs(1), Action::Crash(keys[3].clone()));
    run(schedule, 40, VALIDATORS - 1);
}
