//! The ledger application that consensus drives: builds blocks from the mempool, re-executes
//! peers' blocks to verify them, and reports finalized blocks to the mempool and the API.
//!
//! All decisions about transactions are `medchain_state`'s; this module only moves blocks
//! between the engine, the state database and the mempool, and checks what belongs to a block
//! as a whole (height, parent, timestamp, transactions root, state roots).

use crate::{
    chain::ChainView,
    epochs::Epochs,
    mempool::{Mempool, Rejection},
    store::{BatchStore, StateBatch, StateMerkleized, StateSet},
};
use commonware_consensus::{marshal::ancestry::Ancestry, simplex::scheme::ed25519, types::Height};
use commonware_cryptography::Digestible as _;
use commonware_glue::stateful::{
    Application, Finality, Input, Proposed,
    db::{DatabaseSet, Merkleized as _, Unmerkleized as _},
};
use commonware_runtime::{Clock, Spawner, telemetry::metrics::Counter};
use commonware_storage::{Context as StorageContext, qmdb::sync::Target};
use commonware_utils::non_empty_range;
use futures::StreamExt as _;
use medchain_state::{BlockEnv, build_block_within, execute_block};
use medchain_types::{AccountId, ChainId, Genesis, limits, transactions_root};
use medchain_verify::{Block, RosterEntry, block::EngineContext as BlockContext};
use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, UNIX_EPOCH},
};
use tracing::{debug, info, warn};

/// How far ahead of this validator's clock a proposed block's timestamp may be. Beyond it the
/// block is refused; within it the validator waits until its clock catches up.
pub const BLOCK_TIMESTAMP_DRIFT_MAX_MS: u64 = 2_000;
/// How far behind this validator's clock a proposed block's timestamp may be. Beyond it the
/// block is refused, so a byzantine leader cannot hold the chain's time back to keep using a
/// consent that has expired: with honest validators voting, block time stays within this bound
/// of real time. It is far above what an honest proposal lags (proposed at once, verified within
/// the 1 s leader timeout, plus clock skew) and equal to the clients' default freshness bound.
/// Only the live verify path checks it: finalized blocks that marshal delivers to a node catching
/// up are old by nature and are never judged on lag.
pub const BLOCK_TIMESTAMP_LAG_MAX_MS: u64 = 30_000;
const _: () = assert!(BLOCK_TIMESTAMP_DRIFT_MAX_MS < BLOCK_TIMESTAMP_LAG_MAX_MS);

/// How long an idle leader waits for a transaction before proposing an empty block. Keeps an
/// idle chain at about two blocks a second instead of as many as consensus can finalize, while
/// staying well inside the leader timeout (1 s) so the round is not skipped.
pub const EMPTY_BLOCK_INTERVAL_MS: u64 = 500;
/// How often an idle leader looks at the mempool while waiting.
const MEMPOOL_POLL_MS: u64 = 10;

/// How long a leader may spend executing the transactions of its proposal: it stops taking
/// candidates once this is spent, and sizes its next selection from it. Well inside the 1 s
/// leader timeout, so that when execution slows (a large state, a cold cache, a loaded machine,
/// expensive transactions) blocks shrink instead of every leader's proposal being cancelled.
pub const PROPOSAL_EXECUTION_BUDGET_MS: u64 = 300;
/// The fewest transactions a leader offers per block however slow execution gets.
pub const PROPOSAL_TRANSACTIONS_MIN: usize = 64;

// A leader may wait out the empty-block interval (overshooting it by one poll) and then, as a
// transaction lands, spend its whole execution budget: all of it must fit in the leader
// timeout, or an idle chain's first transaction would make its leader's round be skipped.
const _: () = assert!(
    EMPTY_BLOCK_INTERVAL_MS + MEMPOOL_POLL_MS + PROPOSAL_EXECUTION_BUDGET_MS
        < crate::engine::LEADER_TIMEOUT_MS
);
// `next_proposal_size` clamps between the two; the other order would panic.
const _: () = assert!(PROPOSAL_TRANSACTIONS_MIN <= limits::BLOCK_TRANSACTIONS_MAX);

/// What this node's proposals cost, summed since start: for `/metrics` (proposals over
/// budget) and for tests that bound the leader's work per transaction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProposerTotals {
    pub proposals: u64,
    /// Proposals whose candidates took longer than [`PROPOSAL_EXECUTION_BUDGET_MS`] to execute
    /// on the node's clock.
    pub over_budget: u64,
    /// Transactions the mempool offered.
    pub candidates: u64,
    /// Candidates the state machine executed (signature check and rules).
    pub executed: u64,
    /// Candidates refused without executing: later nonces of a sender that already failed.
    pub unexecuted: u64,
    /// Candidates refused (executed or not) and dropped from the mempool.
    pub rejected: u64,
    /// The mempool's work (entries visited selecting and dropping) for all proposals.
    pub mempool_steps: u64,
}

/// A handle on [`ProposerTotals`], shared by the application and whoever watches it.
#[derive(Clone, Default)]
pub struct ProposerMeter {
    totals: Arc<Mutex<ProposerTotals>>,
    over_budget: Option<Counter>,
}

impl ProposerMeter {
    /// A meter that also counts proposals over budget in `over_budget` (a `/metrics` counter).
    pub fn with_counter(over_budget: Counter) -> Self {
        Self {
            totals: Arc::default(),
            over_budget: Some(over_budget),
        }
    }

    pub fn totals(&self) -> ProposerTotals {
        *self.totals.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn record(&self, proposal: ProposalCost) {
        let mut totals = self.totals.lock().unwrap_or_else(|p| p.into_inner());
        let over = proposal.elapsed_ms > PROPOSAL_EXECUTION_BUDGET_MS;
        totals.proposals += 1;
        totals.over_budget += u64::from(over);
        totals.candidates += proposal.candidates;
        totals.executed += proposal.executed;
        totals.unexecuted += proposal.unexecuted;
        totals.rejected += proposal.rejected;
        totals.mempool_steps += proposal.mempool_steps;
        if over && let Some(counter) = &self.over_budget {
            counter.inc();
        }
    }
}

/// One proposal's cost, as [`ProposerMeter::record`] adds it up.
struct ProposalCost {
    elapsed_ms: u64,
    candidates: u64,
    executed: u64,
    unexecuted: u64,
    rejected: u64,
    mempool_steps: u64,
}

/// The ledger application driven by `commonware_glue::stateful`.
#[derive(Clone)]
pub struct LedgerApp {
    chain_id: ChainId,
    genesis: Arc<Genesis>,
    genesis_block: Block,
    mempool: Mempool,
    chain: ChainView,
    epochs: Epochs,
    /// How many mempool transactions the next proposal takes, adapted to the last proposal's
    /// execution time (runtime clock, so deterministic in simulation).
    proposal_size: Arc<AtomicUsize>,
    meter: ProposerMeter,
}

/// The next proposal's size given the last one's: scaled towards the execution budget, within
/// [`PROPOSAL_TRANSACTIONS_MIN`, `BLOCK_TRANSACTIONS_MAX`].
fn next_proposal_size(offered: usize, executed: usize, elapsed_ms: u64) -> usize {
    let size = if elapsed_ms > PROPOSAL_EXECUTION_BUDGET_MS {
        // Over budget: shrink in proportion, aiming at 80% of the budget.
        (executed as u64 * PROPOSAL_EXECUTION_BUDGET_MS * 4 / 5 / elapsed_ms) as usize
    } else if executed == offered && elapsed_ms < PROPOSAL_EXECUTION_BUDGET_MS / 2 {
        // Full and fast: grow by a quarter.
        offered + offered / 4 + 1
    } else {
        offered
    };
    size.clamp(PROPOSAL_TRANSACTIONS_MIN, limits::BLOCK_TRANSACTIONS_MAX)
}

impl LedgerApp {
    pub fn new(
        genesis: Arc<Genesis>,
        genesis_block: Block,
        mempool: Mempool,
        chain: ChainView,
        epochs: Epochs,
        meter: ProposerMeter,
    ) -> Self {
        Self {
            chain_id: genesis.chain_id(),
            genesis,
            genesis_block,
            mempool,
            chain,
            epochs,
            proposal_size: Arc::new(AtomicUsize::new(limits::BLOCK_TRANSACTIONS_MAX)),
            meter,
        }
    }

    fn env(
        &self,
        height: u64,
        timestamp_ms: u64,
        proposer: &commonware_cryptography::ed25519::PublicKey,
    ) -> BlockEnv {
        BlockEnv {
            chain_id: self.chain_id,
            height,
            timestamp_ms,
            proposer: AccountId::from(proposer.clone()),
        }
    }

    /// The genesis document is applied as the first thing block 1 does, so that the genesis block
    /// itself commits to the empty state every node can compute without reading any file.
    /// The genesis was validated when the node loaded it, so a failure here is this node's own
    /// state (a store fault, or a chain already in it): the node halts.
    async fn apply_genesis_if_first<S: medchain_state::Store>(&self, height: u64, store: &mut S) {
        if height != 1 {
            return;
        }
        if let Err(e) = medchain_state::apply_genesis(store, &self.genesis).await {
            crate::fatal::halt("the genesis document cannot be applied to the state", &e);
        }
    }
}

impl LedgerApp {
    /// The roster the block at `height` hands to the next epoch: the state's validator set after
    /// the block if it is the last of its epoch, else nothing. The set is in every state from
    /// block 1 on, so failing to read it is this node's own state failing: the node halts.
    async fn next_roster<S: medchain_state::Store>(
        &self,
        height: u64,
        store: &S,
    ) -> Vec<RosterEntry> {
        if !self.epochs.is_boundary(Height::new(height)) {
            return Vec::new();
        }
        match medchain_state::query::validators(store).await {
            Ok(set) => set
                .validators
                .into_iter()
                .map(|v| RosterEntry {
                    validator: v.account.0,
                    p2p_address: v.p2p_address,
                })
                .collect(),
            Err(e) => crate::fatal::halt(
                &format!("the validator set for the epoch after block {height} cannot be read"),
                &e,
            ),
        }
    }
}

/// Refuses a block whose execution disagrees with it. A candidate is simply voted against; a
/// finalized block was accepted by a quorum that executed it, so disagreeing with it means this
/// node's state has diverged: it halts.
fn refuse<T>(finality: Finality, height: u64, why: &str) -> Option<T> {
    if finality == Finality::Finalized {
        crate::fatal::halt(
            &format!("this node's execution of finalized block {height} disagrees with it"),
            &why,
        );
    }
    warn!(height, "refusing a block: {why}");
    None
}

/// The refusals of a block being built that the mempool must drop. A replayed nonce usually
/// means the transaction is already in an ancestor that is not final yet; its finalization
/// settles it (committed, or superseded), so it stays.
fn dropped_from_mempool(
    rejected: Vec<(medchain_types::TxHash, medchain_state::TxError)>,
) -> Vec<Rejection> {
    rejected
        .into_iter()
        .filter(|(_, error)| !matches!(error, medchain_state::TxError::NonceReplayed { .. }))
        .map(|(hash, error)| {
            debug!(%hash, code = error.code().as_str(), "transaction dropped while building a block");
            Rejection {
                hash,
                code: error.code(),
                message: error.to_string(),
            }
        })
        .collect()
}

fn now_ms<E: Clock>(context: &E) -> u64 {
    context
        .current()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The sync target and canonical root a merkleized batch commits to.
fn roots<E: StorageContext + Spawner>(
    merkleized: &StateMerkleized<E>,
) -> (
    commonware_cryptography::sha256::Digest,
    commonware_cryptography::sha256::Digest,
    commonware_utils::range::NonEmptyRange<commonware_storage::mmr::Location>,
) {
    let bounds = merkleized.bounds();
    (
        merkleized.root(),
        merkleized.ops_root(),
        non_empty_range!(merkleized.sync_boundary(), bounds.tip.size),
    )
}

impl<E> Application<E> for LedgerApp
where
    E: StorageContext + Spawner + Clock,
{
    type SigningScheme = ed25519::Scheme;
    type Context = BlockContext;
    type Block = Block;
    type Databases = StateSet<E>;
    type Captured = ();
    type Provider = Mempool;
    type Input = ();

    fn sync_targets(block: &Block) -> <StateSet<E> as DatabaseSet<E>>::SyncTargets {
        Target::new(block.ops_root, block.ops_range.clone())
    }

    async fn genesis(&mut self) -> Block {
        self.genesis_block.clone()
    }

    async fn propose(
        &mut self,
        context: (E, BlockContext),
        ancestry: impl Ancestry<Block>,
        batches: StateBatch<E>,
        input: Input<(), Mempool>,
    ) -> Option<Proposed<Self, E>> {
        let mut ancestry = Box::pin(ancestry);
        let Some(parent) = ancestry.next().await else {
            warn!("cannot propose: the parent block is unavailable");
            return None;
        };
        let parent = parent.inner();
        let height = parent.height + 1;
        debug!(height, "proposing");
        while input.provider.is_empty()
            && now_ms(&context.0) < parent.timestamp_ms + EMPTY_BLOCK_INTERVAL_MS
        {
            context
                .0
                .sleep(Duration::from_millis(MEMPOOL_POLL_MS))
                .await;
        }
        let timestamp_ms = now_ms(&context.0).max(parent.timestamp_ms + 1);
        let env = self.env(height, timestamp_ms, &context.1.leader);

        let mut store = BatchStore::new(batches);
        self.apply_genesis_if_first(height, &mut store).await;
        let offered = self.proposal_size.load(Ordering::Relaxed);
        let proposal_started = now_ms(&context.0);
        let selection = input.provider.select(offered, limits::BLOCK_SIZE_MAX_BYTES);
        let (count, started) = (selection.transactions.len(), now_ms(&context.0));
        // Expensive transactions (a study contribution costs ~15 ms to check) stop the block
        // at the budget rather than at a count: the others then verify it in about as long.
        let out_of_time = || now_ms(&context.0) >= started + PROPOSAL_EXECUTION_BUDGET_MS;
        let built = build_block_within(&mut store, &env, selection.transactions, out_of_time).await;
        let elapsed_ms = now_ms(&context.0).saturating_sub(started);
        let next = next_proposal_size(offered, count, elapsed_ms);
        if next != offered {
            debug!(height, offered, next, elapsed_ms, "proposal size adapted");
        }
        self.proposal_size.store(next, Ordering::Relaxed);
        for (_, error) in &built.rejected {
            if error.is_internal() {
                crate::fatal::halt(
                    &format!("the state failed while building block {height}"),
                    error,
                );
            }
        }
        let executed = count - built.deferred.len() - built.unexecuted;
        let unexecuted = built.unexecuted;
        let rejections = dropped_from_mempool(built.rejected);
        let rejected = rejections.len();
        let rejection_steps = input.provider.rejected(rejections);
        self.meter.record(ProposalCost {
            elapsed_ms: now_ms(&context.0).saturating_sub(proposal_started),
            candidates: count as u64,
            executed: executed as u64,
            unexecuted: unexecuted as u64,
            rejected: rejected as u64,
            mempool_steps: selection.work_steps + rejection_steps,
        });
        let transactions: Vec<_> = built.included.into_iter().map(|(tx, _)| tx).collect();
        let next_roster = self.next_roster(height, &store).await;
        let merkleized = match store.into_batch().merkleize().await {
            Ok(m) => m,
            Err(e) => crate::fatal::halt(
                &format!("state merkleization failed while proposing block {height}"),
                &e,
            ),
        };
        let (state_root, ops_root, ops_range) = roots::<E>(&merkleized);
        let block = Block {
            context: medchain_verify::BlockContext::from(&context.1),
            parent: parent.digest(),
            height,
            timestamp_ms,
            transactions_root: transactions_root(&transactions),
            state_root,
            ops_root,
            ops_range,
            transactions,
            next_roster,
        };
        Some(Proposed { block, merkleized })
    }

    async fn process(
        &mut self,
        context: (E, BlockContext),
        ancestry: impl Ancestry<Block>,
        batches: StateBatch<E>,
        finality: Finality,
    ) -> Option<StateMerkleized<E>> {
        let mut ancestry = Box::pin(ancestry);
        let Some(block) = ancestry.next().await else {
            warn!(?finality, "cannot process: the block is unavailable");
            return None;
        };
        let block = block.inner().clone();
        debug!(height = block.height, ?finality, "processing");
        if finality == Finality::Candidate {
            let Some(parent) = ancestry.next().await else {
                warn!("cannot verify a candidate: its parent block is unavailable");
                return None;
            };
            if !self
                .header_is_valid(&context.0, &block, parent.inner())
                .await
            {
                return None;
            }
        }
        let height = block.height;
        let env = self.env(height, block.timestamp_ms, &block.context.leader);
        let mut store = BatchStore::new(batches);
        self.apply_genesis_if_first(height, &mut store).await;
        if let Err(e) = execute_block(&mut store, &env, &block.transactions).await {
            if e.error.is_internal() {
                crate::fatal::halt(
                    &format!("the state failed while executing block {height}"),
                    &e,
                );
            }
            return refuse(finality, height, &format!("a transaction fails: {e}"));
        }
        if self.next_roster(height, &store).await != block.next_roster {
            return refuse(
                finality,
                height,
                "its next-epoch roster differs from the state's validator set",
            );
        }
        let merkleized = match store.into_batch().merkleize().await {
            Ok(m) => m,
            Err(e) => crate::fatal::halt(
                &format!("state merkleization failed while processing block {height}"),
                &e,
            ),
        };
        let (state_root, _, _) = roots::<E>(&merkleized);
        if state_root != block.state_root {
            return refuse(
                finality,
                height,
                "its state root does not match its execution",
            );
        }
        Some(merkleized)
    }

    async fn capture(
        &mut self,
        _context: (E, BlockContext),
        _block: &Block,
        _batches: &StateMerkleized<E>,
        _readers: <StateSet<E> as DatabaseSet<E>>::Readers,
    ) {
    }

    async fn finalized(
        &mut self,
        _context: (E, BlockContext),
        block: &Block,
        _captured: (),
        _readers: <StateSet<E> as DatabaseSet<E>>::Readers,
    ) {
        let height = block.height;
        self.mempool.committed(height, &block.transactions);
        self.chain.finalized(block);
        if !block.transactions.is_empty() {
            info!(
                height,
                transactions = block.transactions.len(),
                "block finalized"
            );
        }
    }
}

impl LedgerApp {
    /// Checks what a block must satisfy as a whole before its transactions are executed.
    async fn header_is_valid<E: Clock>(&self, clock: &E, block: &Block, parent: &Block) -> bool {
        let height = block.height;
        if block.parent != parent.digest() || height != parent.height + 1 {
            warn!(height, "refusing a block that does not extend its parent");
            return false;
        }
        if block.timestamp_ms <= parent.timestamp_ms {
            warn!(height, "refusing a block whose timestamp does not advance");
            return false;
        }
        if block.transactions.len() > limits::BLOCK_TRANSACTIONS_MAX {
            warn!(height, "refusing a block over the transaction count limit");
            return false;
        }
        if block.transactions_root != transactions_root(&block.transactions) {
            warn!(
                height,
                "refusing a block whose transactions root does not match"
            );
            return false;
        }
        // A timestamp slightly ahead of our clock is waited for, one far ahead refused: a
        // proposer cannot push the chain's time forward by more than the allowed drift.
        let now = now_ms(clock);
        if block.timestamp_ms + BLOCK_TIMESTAMP_LAG_MAX_MS < now {
            warn!(
                height,
                lag_ms = now - block.timestamp_ms,
                "refusing a block timestamped too far behind this node's clock"
            );
            return false;
        }
        if block.timestamp_ms > now + 30 * BLOCK_TIMESTAMP_DRIFT_MAX_MS {
            warn!(height, "refusing a block timestamped far in the future");
            return false;
        }
        if block.timestamp_ms > now + BLOCK_TIMESTAMP_DRIFT_MAX_MS {
            let wait = block.timestamp_ms - now - BLOCK_TIMESTAMP_DRIFT_MAX_MS;
            clock.sleep(Duration::from_millis(wait)).await;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_cryptography::{Digest as _, Signer as _, ed25519::PrivateKey, sha256};
    use commonware_runtime::{Runner as _, deterministic};
    use commonware_storage::mmr::Location;

    fn leader_key() -> commonware_cryptography::ed25519::PublicKey {
        PrivateKey::from_seed(1).public_key()
    }

    fn app_and_parent(now_ms: u64) -> (LedgerApp, Block) {
        let genesis = Genesis {
            chain_name: "drift".into(),
            genesis_time_ms: now_ms,
            institutions: vec![],
            validators: vec![],
            observers: vec![],
            members: vec![],
            epoch_length_blocks: medchain_types::limits::EPOCH_LENGTH_DEFAULT_BLOCKS,
        };
        app_for(genesis, now_ms)
    }

    fn app_for(genesis: Genesis, now_ms: u64) -> (LedgerApp, Block) {
        let leader = leader_key();
        let parent = Block::genesis(
            now_ms,
            sha256::Digest::EMPTY,
            sha256::Digest::EMPTY,
            non_empty_range!(Location::new(0), Location::new(1)),
            leader,
        );
        let epochs = Epochs::new(
            b"drift".to_vec(),
            PrivateKey::from_seed(1),
            commonware_consensus::types::FixedEpocher::new(commonware_utils::NZU64!(1_000)),
            vec![RosterEntry {
                validator: leader_key(),
                p2p_address: "127.0.0.1:3000".into(),
            }],
        )
        .unwrap();
        let app = LedgerApp::new(
            Arc::new(genesis),
            parent.clone(),
            Mempool::new(),
            ChainView::new(),
            epochs,
            ProposerMeter::default(),
        );
        (app, parent)
    }

    /// A genesis that validates: one hospital, the leader as its only validator.
    fn valid_genesis() -> Genesis {
        use medchain_crypto::keys::hpke::EncryptionSecretKey;
        use medchain_types::{
            GenesisInstitution, GenesisValidator, InstitutionId, InstitutionKind,
            ValidatorKeyProofs,
        };
        let hospital = InstitutionId::new("st-mary").unwrap();
        let (admin, encryption) = (
            PrivateKey::from_seed(1_000),
            EncryptionSecretKey::derive(&[9; 32]).0,
        );
        let mut genesis = Genesis {
            chain_name: "halt".into(),
            genesis_time_ms: 0,
            institutions: vec![GenesisInstitution {
                id: hospital.clone(),
                kind: InstitutionKind::Hospital,
                admin: AccountId(admin.public_key()),
                admin_proof: [0; 64],
            }],
            validators: vec![GenesisValidator {
                account: AccountId(leader_key()),
                institution: hospital,
                p2p_address: "127.0.0.1:3000".into(),
                http_address: "127.0.0.1:8000".into(),
                encryption_key: encryption.public_key().to_bytes(),
                proofs: ValidatorKeyProofs {
                    account: [0; 64],
                    encryption_key: [0; 64],
                },
            }],
            observers: vec![],
            members: vec![],
            epoch_length_blocks: medchain_types::limits::EPOCH_LENGTH_DEFAULT_BLOCKS,
        };
        let mut keyring = medchain_state::registration::GenesisKeyring::default();
        keyring
            .account(&admin)
            .validator(&PrivateKey::from_seed(1), &encryption);
        keyring
            .sign(&mut medchain_crypto::rng::seeded_u64(1), &mut genesis)
            .unwrap();
        medchain_state::check_genesis(&genesis).unwrap();
        genesis
    }

    /// The state store with a fault switch: while `failing`, every read fails as a dying disk's
    /// would. Writes go to `inner`, which stands for the data directory a restart reopens.
    #[derive(Default)]
    struct FaultyStore {
        inner: medchain_state::MemoryStore,
        failing: bool,
    }

    impl medchain_state::Store for FaultyStore {
        async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, medchain_state::StoreError> {
            if self.failing {
                return Err(medchain_state::StoreError(
                    "injected read failure (I/O error)".into(),
                ));
            }
            self.inner.get(key).await
        }

        fn put(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) {
            self.inner.put(key, value);
        }
    }

    /// Runs `run` to completion and returns the message the node halted with, if it did.
    fn halted(run: impl FnOnce()) -> Option<String> {
        let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).err()?;
        Some(
            payload
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_else(|| "a panic without a message".into()),
        )
    }

    #[test]
    fn a_store_fault_while_applying_the_genesis_halts_the_node_and_a_restart_recovers() {
        let genesis = valid_genesis();
        let (app, _) = app_for(genesis.clone(), 0);
        let mut store = FaultyStore {
            failing: true,
            ..FaultyStore::default()
        };
        let message = halted(|| {
            futures::executor::block_on(app.apply_genesis_if_first(1, &mut store));
        })
        .expect("a failing store halts the node");
        assert!(
            message.starts_with(
                "medchain node halted: the genesis document cannot be applied to the state: state store failed: injected read failure"
            ),
            "{message}"
        );
        assert!(message.contains("Restart it"), "{message}");
        assert!(store.inner.is_empty(), "the halted attempt wrote nothing");

        // The disk recovers; the restarted node applies the same block from the same data.
        store.failing = false;
        let (restarted, _) = app_for(genesis.clone(), 0);
        assert_eq!(
            halted(|| futures::executor::block_on(restarted.apply_genesis_if_first(1, &mut store))),
            None
        );
        let chain = futures::executor::block_on(medchain_state::query::chain(&store.inner))
            .unwrap()
            .expect("the genesis is applied");
        assert_eq!(chain.chain_id, genesis.chain_id());
    }

    #[test]
    fn a_store_fault_reading_the_next_roster_halts_the_node() {
        use commonware_consensus::types::Epocher as _;
        let genesis = valid_genesis();
        let (app, _) = app_for(genesis.clone(), 0);
        let boundary = app
            .epochs
            .epocher()
            .last(commonware_consensus::types::Epoch::zero())
            .unwrap()
            .get();
        let mut store = FaultyStore::default();
        futures::executor::block_on(app.apply_genesis_if_first(1, &mut store));
        let roster = futures::executor::block_on(app.next_roster(boundary, &store));
        assert_eq!(
            roster
                .iter()
                .map(|e| e.validator.clone())
                .collect::<Vec<_>>(),
            vec![leader_key()]
        );
        store.failing = true;
        let message = halted(|| {
            futures::executor::block_on(app.next_roster(boundary, &store));
        })
        .expect("a failing store halts the node");
        assert!(
            message.starts_with(&format!(
                "medchain node halted: the validator set for the epoch after block {boundary} cannot be read"
            )),
            "{message}"
        );
        // Away from a boundary no roster is read, so nothing can fail.
        assert_eq!(
            halted(|| {
                futures::executor::block_on(app.next_roster(boundary - 1, &store));
            }),
            None
        );
    }

    #[test]
    fn disagreeing_with_a_finalized_block_halts_but_a_bad_candidate_is_only_refused() {
        assert_eq!(
            refuse::<()>(
                Finality::Candidate,
                7,
                "its state root does not match its execution"
            ),
            None
        );
        let message = halted(|| {
            let _ = refuse::<()>(
                Finality::Finalized,
                7,
                "its state root does not match its execution",
            );
        })
        .expect("a finalized block this node cannot reproduce halts it");
        assert_eq!(
            message,
            crate::fatal::halt_message(
                "this node's execution of finalized block 7 disagrees with it",
                &"its state root does not match its execution"
            )
        );
    }

    fn child(parent: &Block, timestamp_ms: u64) -> Block {
        Block {
            parent: parent.digest(),
            height: parent.height + 1,
            timestamp_ms,
            ..parent.clone()
        }
    }

    #[test]
    fn proposals_shrink_when_execution_is_slow_and_grow_back_when_fast() {
        let max = limits::BLOCK_TRANSACTIONS_MAX;
        let slow = next_proposal_size(max, max, 3 * PROPOSAL_EXECUTION_BUDGET_MS);
        assert_eq!(slow, max * 4 / 5 / 3, "scaled to 80% of the budget");
        assert_eq!(
            next_proposal_size(100, 100, 100 * PROPOSAL_EXECUTION_BUDGET_MS),
            PROPOSAL_TRANSACTIONS_MIN
        );
        assert_eq!(next_proposal_size(slow, slow, 0), slow + slow / 4 + 1);
        assert_eq!(
            next_proposal_size(max, max, 0),
            max,
            "never past the block limit"
        );
        assert_eq!(
            next_proposal_size(500, 20, 0),
            500,
            "a small mempool says nothing about speed"
        );
    }

    #[test]
    fn block_time_must_advance_and_stay_within_the_allowed_drift() {
        deterministic::Runner::default().start(|context| async move {
            let start = now_ms(&context) + 10_000;
            context.sleep(Duration::from_millis(10_000)).await;
            let (app, parent) = app_and_parent(start);
            let at = |timestamp_ms| child(&parent, timestamp_ms);
            assert!(
                !app.header_is_valid(&context, &at(start), &parent).await,
                "time must advance"
            );
            let far = start + 30 * BLOCK_TIMESTAMP_DRIFT_MAX_MS + 1;
            assert!(
                !app.header_is_valid(&context, &at(far), &parent).await,
                "far future refused"
            );
            // Within the drift: accepted at once. Beyond it but not far: accepted after waiting
            // until this node's clock is within the drift of the block's time.
            let near = start + BLOCK_TIMESTAMP_DRIFT_MAX_MS;
            assert!(app.header_is_valid(&context, &at(near), &parent).await);
            assert_eq!(now_ms(&context), start, "no wait within the drift");
            let ahead = start + BLOCK_TIMESTAMP_DRIFT_MAX_MS + 700;
            assert!(app.header_is_valid(&context, &at(ahead), &parent).await);
            assert_eq!(now_ms(&context), start + 700, "waited out the excess");
        });
    }

    #[test]
    fn block_timestamped_further_behind_than_the_lag_bound_is_refused() {
        deterministic::Runner::default().start(|context| async move {
            let parent_ms = now_ms(&context) + 1_000;
            let (app, parent) = app_and_parent(parent_ms);
            // This node's clock runs a minute past the parent: a leader holding time back
            // proposes a block stamped just after its parent.
            context.sleep(Duration::from_millis(1_000 + 60_000)).await;
            let now = now_ms(&context);
            let at = |timestamp_ms| child(&parent, timestamp_ms);
            let held_back = now - BLOCK_TIMESTAMP_LAG_MAX_MS - 1;
            assert!(
                !app.header_is_valid(&context, &at(held_back), &parent).await,
                "one past the lag bound is refused"
            );
            assert!(
                !app.header_is_valid(&context, &at(parent_ms + 1), &parent)
                    .await,
                "a block a minute behind is refused"
            );
            let at_bound = now - BLOCK_TIMESTAMP_LAG_MAX_MS;
            assert!(
                app.header_is_valid(&context, &at(at_bound), &parent).await,
                "exactly at the lag bound is accepted"
            );
            assert_eq!(
                now_ms(&context),
                now,
                "no wait for a block behind the clock"
            );
        });
    }
}
