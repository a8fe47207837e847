//! The ledger application that consensus drives: builds blocks from the mempool, re-executes
//! peers' blocks to verify them, and reports finalized blocks to the mempool and the API.
//!
//! All decisions about transactions are `medchain_state`'s; this module only moves blocks
//! between the engine, the state database and the mempool, and checks what belongs to a block
//! as a whole (height, parent, timestamp, transactions root, state roots).

use crate::{
    chain::ChainView,
    epochs::Epochs,
    mempool::Mempool,
    store::{BatchStore, StateBatch, StateMerkleized, StateSet},
};
use commonware_consensus::{marshal::ancestry::Ancestry, simplex::scheme::ed25519, types::Height};
use commonware_cryptography::Digestible as _;
use commonware_glue::stateful::{
    Application, Finality, Input, Proposed,
    db::{DatabaseSet, Merkleized as _, Unmerkleized as _},
};
use commonware_runtime::{Clock, Spawner};
use commonware_storage::{Context as StorageContext, qmdb::sync::Target};
use commonware_utils::non_empty_range;
use futures::StreamExt as _;
use medchain_state::{BlockEnv, build_block, execute_block};
use medchain_types::{AccountId, ChainId, Genesis, limits, transactions_root};
use medchain_verify::{Block, RosterEntry, block::EngineContext as BlockContext};
use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, UNIX_EPOCH},
};
use tracing::{debug, info, warn};

/// How far ahead of this validator's clock a proposed block's timestamp may be. Beyond it the
/// block is refused; within it the validator waits until its clock catches up.
pub const BLOCK_TIMESTAMP_DRIFT_MAX_MS: u64 = 2_000;

/// How long an idle leader waits for a transaction before proposing an empty block. Keeps an
/// idle chain at about two blocks a second instead of as many as consensus can finalize, while
/// staying well inside the leader timeout (1 s) so the round is not skipped.
pub const EMPTY_BLOCK_INTERVAL_MS: u64 = 500;
/// How often an idle leader looks at the mempool while waiting.
const MEMPOOL_POLL_MS: u64 = 10;

/// How long a leader may spend executing the transactions of its proposal. Well inside the 1 s
/// leader timeout, so that when execution slows (a large state, a cold cache, a loaded machine)
/// blocks shrink instead of every leader's proposal being cancelled.
pub const PROPOSAL_EXECUTION_BUDGET_MS: u64 = 300;
/// The fewest transactions a leader offers per block however slow execution gets.
pub const PROPOSAL_TRANSACTIONS_MIN: usize = 64;

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
    ) -> Self {
        Self {
            chain_id: genesis.chain_id(),
            genesis,
            genesis_block,
            mempool,
            chain,
            epochs,
            proposal_size: Arc::new(AtomicUsize::new(limits::BLOCK_TRANSACTIONS_MAX)),
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
    async fn apply_genesis_if_first<E: StorageContext + Spawner>(
        &self,
        height: u64,
        store: &mut BatchStore<E>,
    ) -> bool {
        if height != 1 {
            return true;
        }
        match medchain_state::apply_genesis(store, &self.genesis).await {
            Ok(()) => true,
            Err(e) => {
                warn!(error = %e, "genesis document cannot be applied");
                false
            }
        }
    }
}

impl LedgerApp {
    /// The roster the block at `height` hands to the next epoch: the state's validator set after
    /// the block if it is the last of its epoch, else nothing.
    async fn next_roster<E: StorageContext + Spawner>(
        &self,
        height: u64,
        store: &BatchStore<E>,
    ) -> Option<Vec<RosterEntry>> {
        if !self.epochs.is_boundary(Height::new(height)) {
            return Some(Vec::new());
        }
        match medchain_state::query::validators(store).await {
            Ok(set) => Some(
                set.validators
                    .into_iter()
                    .map(|v| RosterEntry {
                        validator: v.account.0,
                        p2p_address: v.p2p_address,
                    })
                    .collect(),
            ),
            Err(e) => {
                warn!(height, error = %e, "cannot read the validator set for the next epoch");
                None
            }
        }
    }
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
        if !self.apply_genesis_if_first(height, &mut store).await {
            return None;
        }
        let offered = self.proposal_size.load(Ordering::Relaxed);
        let candidates = input.provider.select(offered, limits::BLOCK_SIZE_MAX_BYTES);
        let (count, started) = (candidates.len(), now_ms(&context.0));
        let built = build_block(&mut store, &env, candidates).await;
        let elapsed_ms = now_ms(&context.0).saturating_sub(started);
        let next = next_proposal_size(offered, count, elapsed_ms);
        if next != offered {
            debug!(height, offered, next, elapsed_ms, "proposal size adapted");
        }
        self.proposal_size.store(next, Ordering::Relaxed);
        for (hash, error) in built.rejected {
            // A replayed nonce here usually means the transaction is already in an ancestor
            // that is not final yet; its finalization settles it (committed, or superseded).
            if matches!(error, medchain_state::TxError::NonceReplayed { .. }) {
                continue;
            }
            debug!(%hash, code = error.code(), "transaction dropped while building a block");
            input
                .provider
                .rejected(hash, error.code().to_string(), error.to_string());
        }
        let transactions: Vec<_> = built.included.into_iter().map(|(tx, _)| tx).collect();
        let next_roster = self.next_roster(height, &store).await?;
        let merkleized = match store.into_batch().merkleize().await {
            Ok(m) => m,
            Err(e) => {
                warn!(error = %e, "state merkleization failed while proposing");
                return None;
            }
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
        if !self.apply_genesis_if_first(height, &mut store).await {
            return None;
        }
        if let Err(e) = execute_block(&mut store, &env, &block.transactions).await {
            warn!(height, error = %e, "refusing a block with an invalid transaction");
            return None;
        }
        if self.next_roster(height, &store).await? != block.next_roster {
            warn!(
                height,
                "refusing a block whose next-epoch roster differs from the state's validator set"
            );
            return None;
        }
        let merkleized = match store.into_batch().merkleize().await {
            Ok(m) => m,
            Err(e) => {
                warn!(height, error = %e, "state merkleization failed while processing a block");
                return None;
            }
        };
        let (state_root, _, _) = roots::<E>(&merkleized);
        if state_root != block.state_root {
            warn!(
                height,
                "refusing a block whose state root does not match its execution"
            );
            return None;
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
        let leader = leader_key();
        let parent = Block::genesis(
            now_ms,
            sha256::Digest::EMPTY,
            sha256::Digest::EMPTY,
            non_empty_range!(Location::new(0), Location::new(1)),
            leader,
        );
        let genesis = Genesis {
            chain_name: "drift".into(),
            genesis_time_ms: now_ms,
            institutions: vec![],
            validators: vec![],
            observers: vec![],
            members: vec![],
            epoch_length_blocks: medchain_types::limits::EPOCH_LENGTH_DEFAULT_BLOCKS,
        };
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
        );
        (app, parent)
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
}
