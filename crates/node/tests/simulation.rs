//! Four validators in one process under commonware's deterministic runtime and simulated
//! network: the real engine (simplex, marshal, glue::stateful, QMDB, the ledger application),
//! fed transactions by a seeded load generator, through a partition that heals, a crash and
//! restart, a silent byzantine validator, and byzantine validators that equivocate. Each test
//! prints its seed; rerun a failure with
//! `MEDCHAIN_SIM_SEED=<seed> cargo test -p medchain-node --test simulation`. The rerun is exact
//! only once the mempool orders its senders (see `same_seed_replays_the_same_run`).

mod common;

use common::{
    Byzantine, CommittedTransactionsAgree, HonestHeightAtLeast, Ledger, NodeState, VALIDATORS,
};
use commonware_cryptography::ed25519;
use commonware_glue::simulate::{
    action::{Action, Crash, Schedule},
    engine::EngineDefinition as _,
    plan::PlanBuilder,
    property::Property,
    tracker::ProgressTracker,
};
use commonware_p2p::simulated::Link;
use commonware_utils::probability;
use std::{future::Future, pin::Pin, time::Duration};

/// Honest validators must finalize this many blocks for a run to pass.
const REQUIRED_HEIGHT_BLOCKS: u64 = 40;
/// Of the 3 x 120 or 4 x 120 transactions submitted, at least this many must be committed by
/// the required height.
const COMMITTED_TRANSACTIONS_MIN: usize = 100;

/// Epochs as short as a genesis allows, so that every fault run crosses several epoch
/// boundaries (a new simplex instance each) while the fault is in effect.
const EPOCH_LENGTH_BLOCKS: u64 = medchain_types::limits::EPOCH_LENGTH_MIN_BLOCKS;

fn run(schedule: Schedule<ed25519::PublicKey>, required_height: u64, honest: usize) {
    let engine = Ledger::new().with_epoch_length(EPOCH_LENGTH_BLOCKS);
    PlanBuilder::new(engine)
        .seed(common::seed())
        .crash(Crash::Schedule(schedule))
        .exit_condition(HonestHeightAtLeast {
            required: required_height,
            honest,
        })
        .property(CommittedTransactionsAgree {
            min_transactions: COMMITTED_TRANSACTIONS_MIN,
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
    run(schedule, REQUIRED_HEIGHT_BLOCKS, VALIDATORS);
}

#[test]
fn crashed_validator_restarts_and_catches_up() {
    let keys = Ledger::new().participants();
    let schedule = Schedule::new()
        .at(Duration::from_secs(2), Action::Crash(keys[1].clone()))
        .at(Duration::from_secs(5), Action::Restart(keys[1].clone()));
    run(schedule, REQUIRED_HEIGHT_BLOCKS, VALIDATORS);
}

/// Down for longer than `BLOCK_TIMESTAMP_LAG_MAX_MS`: on restart the validator receives blocks
/// that are older than the lag bound by its clock. They come finalized (marshal backfill), so they
/// are executed, never refused for their age, and the validator reaches the chain's height.
#[test]
fn validator_down_longer_than_the_lag_bound_catches_up_on_old_blocks() {
    let keys = Ledger::new().participants();
    let down_ms = medchain_node::app::BLOCK_TIMESTAMP_LAG_MAX_MS + 10_000;
    let schedule = Schedule::new()
        .at(Duration::from_secs(2), Action::Crash(keys[1].clone()))
        .at(
            Duration::from_millis(2_000 + down_ms),
            Action::Restart(keys[1].clone()),
        );
    // About two blocks a second while it is down, so the chain is past 80 when it returns.
    run(schedule, 100, VALIDATORS);
}

#[test]
fn silent_byzantine_validator_cannot_stall_the_chain() {
    let keys = Ledger::new().participants();
    // Validator 3 goes silent for the rest of the run: it neither votes nor proposes, and
    // the other three (a quorum of 2f+1 = 3) keep finalizing.
    let schedule = Schedule::new().at(Duration::from_secs(1), Action::Crash(keys[3].clone()));
    run(schedule, REQUIRED_HEIGHT_BLOCKS, VALIDATORS - 1);
}

/// The validator a byzantine mock replaces.
const BYZANTINE: usize = 3;
/// Views in which the equivocator must have sent conflicting proposals during a run.
const EQUIVOCATING_VIEWS_MIN: usize = 10;

/// At the end of a run the honest validators have blocked exactly the `expected`
/// (blocker, blocked) pairs: every misbehaviour they can prove, and no honest peer.
#[derive(Clone)]
struct BlockedPeersAre {
    expected: Vec<(ed25519::PublicKey, ed25519::PublicKey)>,
}

impl Property<ed25519::PublicKey, NodeState> for BlockedPeersAre {
    fn name(&self) -> &str {
        "blocked_peers_are"
    }

    fn check<'a>(
        &'a self,
        _tracker: &'a ProgressTracker<ed25519::PublicKey>,
        states: &'a [&'a NodeState],
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            let oracle = states
                .iter()
                .find_map(|s| match s {
                    NodeState::Byzantine { oracle, .. } => Some(oracle),
                    NodeState::Honest(_) => None,
                })
                .ok_or("no byzantine validator is running")?;
            let mut blocked = oracle
                .blocked()
                .await
                .map_err(|e| format!("the simulated network did not answer: {e}"))?;
            blocked.sort();
            let mut expected = self.expected.clone();
            expected.sort();
            println!("blocked (blocker, blocked) pairs: {}", blocked.len());
            if blocked != expected {
                return Err(format!("blocked {blocked:?}, expected {expected:?}"));
            }
            Ok(())
        })
    }
}

/// The equivocator proposed two different payloads in at least `views_min` views.
#[derive(Clone)]
struct Equivocated {
    views_min: usize,
}

impl Property<ed25519::PublicKey, NodeState> for Equivocated {
    fn name(&self) -> &str {
        "equivocated"
    }

    fn check<'a>(
        &'a self,
        _tracker: &'a ProgressTracker<ed25519::PublicKey>,
        states: &'a [&'a NodeState],
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            let proposals = states
                .iter()
                .find_map(|s| match s {
                    NodeState::Byzantine { proposals, .. } => Some(proposals.lock().unwrap()),
                    NodeState::Honest(_) => None,
                })
                .ok_or("no byzantine validator is running")?;
            let views = proposals.chunks_exact(2).filter(|p| p[0] != p[1]).count();
            println!("the equivocator sent conflicting proposals in {views} views");
            if views < self.views_min {
                return Err(format!(
                    "the equivocator equivocated in {views} views, fewer than {}",
                    self.views_min
                ));
            }
            Ok(())
        })
    }
}

fn run_with_byzantine(
    behaviour: Byzantine,
    expected_blocks: Vec<(ed25519::PublicKey, ed25519::PublicKey)>,
) {
    let engine = Ledger::new().with_byzantine(BYZANTINE, behaviour);
    let mut plan = PlanBuilder::new(engine)
        .seed(common::seed())
        .exit_condition(HonestHeightAtLeast {
            required: REQUIRED_HEIGHT_BLOCKS,
            honest: VALIDATORS - 1,
        })
        .property(CommittedTransactionsAgree {
            min_transactions: COMMITTED_TRANSACTIONS_MIN,
        })
        .property(BlockedPeersAre {
            expected: expected_blocks,
        })
        .timeout(Duration::from_secs(600));
    if behaviour == Byzantine::Equivocator {
        // It leads every fourth view, so 40 honest blocks give it 13 turns or more; it
        // equivocates in each that follows a certified view.
        plan = plan.property(Equivocated {
            views_min: EQUIVOCATING_VIEWS_MIN,
        });
    }
    plan.run()
        .expect("the honest validators keep finalizing the same blocks despite the byzantine one");
}

#[test]
fn equivocating_leader_cannot_fork_or_stall_the_chain() {
    // When it leads, the equivocator notarizes one digest towards one validator and another
    // towards the rest. Neither names a block anyone can fetch, so the honest validators
    // nullify those views; each saw a single signed vote, so none can prove the equivocation
    // and nobody is blocked.
    run_with_byzantine(Byzantine::Equivocator, vec![]);
}

#[test]
fn double_voting_validator_is_detected_and_blocked_by_every_honest_validator() {
    // The conflicter signs two different notarizes (or finalizes) for the same round: each
    // honest validator holds both signatures, proof enough to block it for good.
    let keys = Ledger::new().participants();
    let expected = keys
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != BYZANTINE)
        .map(|(_, honest)| (honest.clone(), keys[BYZANTINE].clone()))
        .collect();
    run_with_byzantine(Byzantine::Conflicter, expected);
}

#[test]
fn same_seed_replays_the_same_run() {
    // A failure is only worth its printed seed if the seed replays it: same seed, same audit
    // digest of every task, message, storage and randomness event.
    let seed = common::seed();
    let runs = PlanBuilder::new(Ledger::new().with_byzantine(BYZANTINE, Byzantine::Conflicter))
        .seeds([seed, seed])
        .exit_condition(HonestHeightAtLeast {
            required: REQUIRED_HEIGHT_BLOCKS,
            honest: VALIDATORS - 1,
        })
        .timeout(Duration::from_secs(600))
        .run()
        .expect("the honest validators keep finalizing");
    assert_eq!(
        runs[0].state, runs[1].state,
        "seed {seed} replays a different run"
    );
}
