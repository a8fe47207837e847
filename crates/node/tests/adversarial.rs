//! Four honest validators under commonware's deterministic runtime while about fifty
//! adversarial senders queue runs built to fail at block building (a registration, a second
//! registration of the same key, then nonce-gap followers) beside the honest load. The honest
//! load must all commit, the leaders' mempool work must stay constant per transaction, the
//! proposers must refuse each failing sender's followers without executing them, and every
//! mempool must end empty with its counters matching its contents. Prints its seed; rerun with
//! `MEDCHAIN_SIM_SEED=<seed> cargo test -p medchain-node --test adversarial`.

mod common;

use common::{Ledger, NodeState, SPAM_RUN_TRANSACTIONS, Spam, VALIDATORS};
use commonware_cryptography::ed25519;
use commonware_glue::simulate::{
    exit::ExitCondition, plan::PlanBuilder, property::Property, tracker::ProgressTracker,
};
use medchain_node::mempool::{MempoolCounts, TxStatus};
use medchain_types::TxHash;
use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

/// Adversarial senders, spread over the four validators' mempools.
const SPAM_SENDERS: u64 = 50;
/// Runs each adversarial sender queues, one after the other, each with a fresh key.
const SPAM_RUNS_PER_SENDER: u64 = 8;
/// Most mempool entries visited per transaction handled. Each entry is removed at most once
/// in its life, so inserts, selections, commits and refusals cost at most two visits each; a
/// pool rescan per refusal would cost thousands.
const MEMPOOL_STEPS_PER_TRANSACTION_MAX: u64 = 2;

/// Done once every spam run has settled and, on every validator, every honest load
/// transaction is committed and the mempool is empty.
#[derive(Clone)]
struct SpamSettledAndHonestCommitted {
    ledger: Ledger,
    honest: Arc<Vec<TxHash>>,
}

impl ExitCondition<ed25519::PublicKey, NodeState> for SpamSettledAndHonestCommitted {
    fn name(&self) -> &str {
        "spam_settled_and_honest_committed"
    }

    fn requires_polling(&self) -> bool {
        true
    }

    fn reached<'a>(
        &'a self,
        _tracker: &'a ProgressTracker<ed25519::PublicKey>,
        states: &'a [&'a NodeState],
        _target_count: usize,
    ) -> Pin<Box<dyn Future<Output = Result<bool, String>> + Send + 'a>> {
        Box::pin(async move {
            let settled = self
                .ledger
                .spam_runs_settled
                .load(std::sync::atomic::Ordering::SeqCst);
            if settled < self.ledger.spam_runs() {
                return Ok(false);
            }
            let honest: Vec<_> = states.iter().filter_map(|s| s.honest()).collect();
            Ok(honest.len() == VALIDATORS
                && honest.iter().all(|node| {
                    node.mempool.is_empty()
                        && self.honest.iter().all(|h| {
                            matches!(node.mempool.status(h), Some(TxStatus::Committed { .. }))
                        })
                }))
        })
    }
}

/// After the run: the validators agree, every honest transaction is in their common chain,
/// the spam was refused at block building with its followers unexecuted, each mempool's work
/// stayed within a constant per transaction, and each mempool is empty by count and by content.
#[derive(Clone)]
struct SpamCostTheLeadersConstantWork {
    spam_runs: u64,
    honest: Arc<Vec<TxHash>>,
}

impl Property<ed25519::PublicKey, NodeState> for SpamCostTheLeadersConstantWork {
    fn name(&self) -> &str {
        "spam_cost_the_leaders_constant_work"
    }

    fn check<'a>(
        &'a self,
        _tracker: &'a ProgressTracker<ed25519::PublicKey>,
        states: &'a [&'a NodeState],
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            common::honest_agreement(states).await?;
            let nodes: Vec<_> = states.iter().filter_map(|s| s.honest()).collect();
            let (mut rejected, mut unexecuted, mut executed) = (0, 0, 0);
            for (i, node) in nodes.iter().enumerate() {
                let counts = node.mempool.check_invariants()?;
                let empty = MempoolCounts {
                    pending: 0,
                    senders: 0,
                };
                if counts != empty || !node.mempool.is_empty() {
                    return Err(format!(
                        "validator {i}'s mempool holds {counts:?}, counts {}",
                        node.mempool.len()
                    ));
                }
                let work = node.mempool.work();
                println!("validator {i}: mempool work {work:?}");
                if work.steps > MEMPOOL_STEPS_PER_TRANSACTION_MAX * work.transactions {
                    return Err(format!("validator {i}'s mempool did {work:?}"));
                }
                let totals = node.proposer.totals();
                println!("validator {i}: proposals {totals:?}");
                rejected += totals.rejected;
                unexecuted += totals.unexecuted;
                executed += totals.executed;
            }
            // Every run's second registration is refused once it executes; its followers are
            // refused unexecuted whenever the proposal that refused it offered them too.
            if rejected < self.spam_runs || unexecuted == 0 {
                return Err(format!(
                    "{rejected} refusals ({unexecuted} unexecuted) for {} spam runs",
                    self.spam_runs
                ));
            }
            let spam = self.spam_runs * SPAM_RUN_TRANSACTIONS;
            println!(
                "{} honest and {spam} spam transactions: {executed} executions by proposers, {unexecuted} refused unexecuted",
                self.honest.len()
            );
            Ok(())
        })
    }
}

#[test]
fn honest_load_commits_while_fifty_senders_queue_transactions_built_to_fail() {
    let ledger = Ledger::new().with_spam(Spam {
        senders: SPAM_SENDERS,
        runs: SPAM_RUNS_PER_SENDER,
    });
    let honest: Arc<Vec<TxHash>> =
        Arc::new(ledger.honest_load().iter().map(|t| t.hash()).collect());
    let spam_runs = ledger.spam_runs();
    PlanBuilder::new(ledger.clone())
        .seed(common::seed())
        .exit_condition(SpamSettledAndHonestCommitted {
            ledger,
            honest: honest.clone(),
        })
        .property(SpamCostTheLeadersConstantWork { spam_runs, honest })
        .timeout(Duration::from_secs(600))
        .run()
        .expect("honest transactions commit and the leaders' work stays bounded under spam");
}
