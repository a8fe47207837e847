//! Validator-set changes voted by governance reach consensus at the next epoch boundary: five
//! nodes run the real engine in one process under the deterministic runtime, four of them the
//! genesis validators and one a candidate that follows the chain without voting. The
//! validators vote the candidate in and validator 3 out; every node must then run the new set,
//! the candidate must sign finalizations, validator 3 must keep following without voting, and a
//! client trusting only the genesis must verify the latest block through the validator
//! hand-offs (and fail without them). Rerun a failure with
//! `MEDCHAIN_SIM_SEED=<seed> cargo test -p medchain-node --test reconfiguration`.

mod common;

use common::{CommittedTransactionsAgree, GovernanceStep, HonestHeightAtLeast, Ledger, NodeState};
use commonware_codec::Encode as _;
use commonware_consensus::{marshal::Identifier, types::Height};
use commonware_cryptography::ed25519;
use commonware_glue::simulate::{
    action::{Action, Crash, Schedule},
    plan::PlanBuilder,
    property::Property,
    tracker::ProgressTracker,
};
use medchain_node::{api, engine::EngineHandles};
use medchain_types::{AccountId, MembershipChange, api::BlockResponse};
use medchain_verify::finality as verify;
use std::{future::Future, pin::Pin, time::Duration};

/// Epochs as short as a genesis allows, so both changes take effect early in the run.
const EPOCH_LENGTH_BLOCKS: u64 = medchain_types::limits::EPOCH_LENGTH_MIN_BLOCKS;
/// Every node must finalize this many blocks for the run to end.
const REQUIRED_HEIGHT_BLOCKS: u64 = 120;
/// The candidate's key seed (the genesis validators use seeds 0 to 3).
const CANDIDATE_SEED: u64 = 4;
/// The genesis validator governance removes.
const REMOVED: usize = 3;
/// Latest blocks searched for a finalization the candidate signed.
const SIGNED_BY_CANDIDATE_WITHIN_BLOCKS: u64 = 2 * EPOCH_LENGTH_BLOCKS;

fn consortium() -> (Ledger, usize) {
    let (ledger, candidate) = Ledger::new()
        .with_epoch_length(EPOCH_LENGTH_BLOCKS)
        .with_candidate(CANDIDATE_SEED);
    let admit = GovernanceStep {
        // A real X25519 key with its proofs of possession: the ledger checks both.
        change: medchain_state::registration::add_validator(
            &mut medchain_crypto::rng::seeded_u64(CANDIDATE_SEED),
            &ledger.chain_id(),
            Ledger::hospital(),
            ledger.signer(candidate),
            &medchain_crypto::keys::hpke::EncryptionSecretKey::derive(&[4; 32]).0,
            ("127.0.0.1:7104".into(), "127.0.0.1:8104".into()),
        ),
        proposer: 0,
        voters: vec![1, 2],
    };
    let remove = GovernanceStep {
        change: MembershipChange::RemoveValidator {
            validator: AccountId(ledger.key(REMOVED)),
        },
        proposer: 0,
        voters: vec![1, 2, candidate],
    };
    (ledger.with_governance(vec![admit, remove]), candidate)
}

/// What a node serves for `GET /v1/blocks/{height}`, built from its engine as the API does.
async fn block_response(
    handles: &EngineHandles<commonware_runtime::deterministic::Context>,
    height: u64,
) -> Result<BlockResponse, String> {
    let height = Height::new(height);
    let block = handles
        .marshal
        .get_block(Identifier::Height(height))
        .await
        .ok_or(format!("no block {height}"))?
        .inner()
        .clone();
    let finalization = handles
        .marshal
        .get_finalization(height)
        .await
        .ok_or(format!("no finalization {height}"))?;
    let handoffs = api::validator_handoffs(&handles.marshal, &handles.epochs, &block)
        .await
        .map_err(|boundary| format!("no hand-off block or finalization {boundary}"))?;
    Ok(medchain_verify::block_response(
        &block,
        Some(hex::encode(finalization.encode())),
        handoffs,
    ))
}

/// At the end of the run every node runs the voted set, votes exactly when it belongs to it,
/// the candidate signed recent finalizations, and a genesis-trusting client verifies the tip.
#[derive(Clone)]
struct VotedSetRunsConsensus {
    ledger: Ledger,
    candidate: usize,
}

impl VotedSetRunsConsensus {
    fn expected(&self) -> Vec<ed25519::PublicKey> {
        let mut keys: Vec<_> = [0, 1, 2, self.candidate]
            .iter()
            .map(|i| self.ledger.key(*i))
            .collect();
        keys.sort();
        keys
    }

    async fn check_client_view(
        &self,
        handles: &EngineHandles<commonware_runtime::deterministic::Context>,
    ) -> Result<(), String> {
        let tip = handles.chain.tip().ok_or("no finalized tip")?.height;
        let response = block_response(handles, tip).await?;
        if response.validator_handoffs.is_empty() {
            return Err("the tip's epoch was reached without any hand-off".into());
        }
        let verified = verify::finalized_block(&self.ledger.genesis, &response)
            .map_err(|e| format!("client refused the tip {tip}: {e}"))?;
        println!(
            "client verified block {tip} through {} hand-offs ({} of {} validators signed)",
            response.validator_handoffs.len(),
            verified.signers,
            verified.validators
        );
        let mut stripped = response.clone();
        stripped.validator_handoffs.clear();
        if verify::finalized_block(&self.ledger.genesis, &stripped).is_ok() {
            return Err("the tip verified against the genesis set without hand-offs".into());
        }
        Ok(())
    }

    async fn candidate_signed(
        &self,
        handles: &EngineHandles<commonware_runtime::deterministic::Context>,
    ) -> Result<(), String> {
        let tip = handles.chain.tip().ok_or("no finalized tip")?.height;
        let candidate = self.ledger.key(self.candidate);
        let roster = handles.epochs.active();
        let position = roster
            .validators
            .position(&candidate)
            .ok_or("the candidate is not in the active set")?;
        for height in tip.saturating_sub(SIGNED_BY_CANDIDATE_WITHIN_BLOCKS)..=tip {
            let Some(finalization) = handles.marshal.get_finalization(Height::new(height)).await
            else {
                continue;
            };
            let epoch = commonware_consensus::Epochable::epoch(&finalization);
            let signed = finalization
                .certificate
                .signers
                .iter()
                .any(|p| usize::from(p) == position);
            if epoch == roster.epoch && signed {
                return Ok(());
            }
        }
        Err(format!(
            "the candidate signed none of the last {SIGNED_BY_CANDIDATE_WITHIN_BLOCKS} finalizations"
        ))
    }
}

impl Property<ed25519::PublicKey, NodeState> for VotedSetRunsConsensus {
    fn name(&self) -> &str {
        "voted_set_runs_consensus"
    }

    fn check<'a>(
        &'a self,
        _tracker: &'a ProgressTracker<ed25519::PublicKey>,
        states: &'a [&'a NodeState],
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            let expected = self.expected();
            for (index, state) in states.iter().enumerate() {
                let handles = state.honest().ok_or("every node runs the real engine")?;
                let roster = handles.epochs.active();
                let keys: Vec<_> = roster.validators.iter().cloned().collect();
                if keys != expected {
                    return Err(format!(
                        "node {index} runs epoch {} with {} validators, not the voted set",
                        roster.epoch,
                        keys.len()
                    ));
                }
                let should_sign = index != REMOVED;
                if roster.signs() != should_sign {
                    return Err(format!(
                        "node {index} votes: {}, expected {should_sign}",
                        roster.signs()
                    ));
                }
                println!(
                    "node {index}: epoch {}, votes: {}",
                    roster.epoch,
                    roster.signs()
                );
            }
            let first = states[0].honest().ok_or("node 0 runs the real engine")?;
            self.candidate_signed(first).await?;
            self.check_client_view(first).await
        })
    }
}

fn run(schedule: Schedule<ed25519::PublicKey>) {
    let (ledger, candidate) = consortium();
    let nodes = ledger.signers.len();
    PlanBuilder::new(ledger.clone())
        .seed(common::seed())
        .crash(Crash::Schedule(schedule))
        .exit_condition(HonestHeightAtLeast {
            required: REQUIRED_HEIGHT_BLOCKS,
            honest: nodes,
        })
        .property(CommittedTransactionsAgree {
            min_transactions: 100,
        })
        .property(VotedSetRunsConsensus { ledger, candidate })
        .timeout(Duration::from_secs(600))
        .run()
        .expect("the voted validator set takes over consensus and the chain keeps finalizing");
}

#[test]
fn governance_admits_and_removes_validators_at_epoch_boundaries() {
    run(Schedule::new());
}

#[test]
fn admitted_validator_restarts_into_the_voted_set() {
    // The candidate crashes after its admission took effect and restarts: it must recover the
    // changed rosters from the boundary blocks it stored, rejoin the current epoch and vote.
    let (ledger, candidate) = consortium();
    let key = ledger.key(candidate);
    run(Schedule::new()
        .at(Duration::from_millis(1_500), Action::Crash(key.clone()))
        .at(Duration::from_millis(2_500), Action::Restart(key)));
}
