//! Pending transactions waiting for a block: de-duplicated, bounded per sender and in total,
//! and handed to the proposer in nonce order so that every selected transaction can execute.
//!
//! The mempool never decides validity (the state machine does); it only keeps what the API
//! admitted after `medchain_state::check_transaction` and forgets what a finalized block made
//! obsolete. Every operation costs a constant (or logarithmic) amount of work per transaction
//! it touches: waiting transactions are indexed by hash, a sender's waiting transactions are
//! one contiguous run of nonces, and a refused transaction drops its sender's later nonces in
//! one cut, so a sender whose transactions fail at block building cannot make the leader
//! rescan the pool.

use commonware_codec::EncodeSize;
use commonware_runtime::telemetry::metrics::Histogram;
use medchain_types::{AccountId, SignedTransaction, TxHash, api::ApiErrorCode};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
/// Upper bounds (seconds) of the commit-latency histogram's buckets: from one fast block to the
/// submit-and-wait limit.
pub const COMMIT_LATENCY_BUCKETS_SECONDS: [f64; 12] = [
    0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0, 10.0, 30.0,
];

/// Most transactions one sender may have waiting; bounds what one client can make every
/// validator hold in memory.
pub const MEMPOOL_PER_SENDER_MAX_TRANSACTIONS: usize = 256;
/// Most transactions waiting in total: about ten seconds of the consortium's throughput, and
/// about 60 MB of memory at the ~1.2 KB one waiting registration takes (measured).
pub const MEMPOOL_TOTAL_MAX_TRANSACTIONS: usize = 50_000;
/// How many recent outcomes (committed or rejected) `status` remembers.
pub const TX_STATUS_HISTORY_MAX_ENTRIES: usize = 200_000;

/// Why the mempool refused a transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MempoolError {
    #[error("transaction {0} is already pending; wait for it to commit")]
    AlreadyPending(TxHash),
    #[error(
        "sender already has {MEMPOOL_PER_SENDER_MAX_TRANSACTIONS} pending transactions; wait for some to commit"
    )]
    SenderFull,
    #[error(
        "the sender is not on the ledger yet and already has a transaction waiting (its registration); wait until it commits"
    )]
    UnregisteredSenderWaiting,
    #[error("the mempool is full ({MEMPOOL_TOTAL_MAX_TRANSACTIONS} transactions); retry later")]
    Full,
    #[error("nonce {got} was already used (next is {next}); sign with nonce {next}")]
    NonceReplayed { got: u64, next: u64 },
    #[error("nonce {got} leaves a gap (next is {next}); submit nonce {next} first")]
    NonceGap { got: u64, next: u64 },
}

/// What the node knows about one transaction it has seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxStatus {
    Pending,
    Committed { height: u64 },
    Rejected { code: ApiErrorCode, message: String },
}

/// A sender as the mempool keys it: the account's 32 public-key bytes. An `AccountId` also
/// carries its decompressed point (~200 bytes), too much to repeat in the hash index.
type SenderKey = [u8; 32];

fn sender_key(account: &AccountId) -> SenderKey {
    account
        .0
        .as_ref()
        .try_into()
        .expect("an Ed25519 public key is 32 bytes")
}

/// A transaction the state machine refused while a block was built, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub hash: TxHash,
    pub code: ApiErrorCode,
    pub message: String,
}

/// What [`Mempool::select`] offers a proposal, and the work it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub transactions: Vec<SignedTransaction>,
    /// Entries visited (senders and transactions): proportional to what was chosen.
    pub work_steps: u64,
}

/// The mempool's work since it started: entries visited, against transactions handled. Every
/// entry is removed at most once in its life, so `steps` stays within twice `transactions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MempoolWork {
    pub steps: u64,
    pub transactions: u64,
}

/// What the mempool holds, as recounted from its contents by [`Mempool::check_invariants`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MempoolCounts {
    pub pending: usize,
    pub senders: usize,
}

#[derive(Default)]
struct Inner {
    /// Ordered, so that block contents depend only on what was admitted (a printed simulation
    /// seed replays the same blocks), not on a hash map's per-process random order.
    senders: BTreeMap<SenderKey, Sender>,
    /// Every waiting transaction's sender and nonce: a refusal or a status query finds its
    /// transaction without scanning. Its size is the pending count, so no separate counter
    /// can drift from the contents.
    by_hash: HashMap<TxHash, (SenderKey, u64)>,
    /// The sender the last selection's first round ended with. The next selection starts after
    /// it, so that under a backlog larger than a block every sender gets its turn.
    cursor: Option<SenderKey>,
    /// Final outcomes (committed or rejected) of recent transactions; waiting ones are in
    /// `by_hash`.
    outcomes: HashMap<TxHash, TxStatus>,
    outcome_order: VecDeque<TxHash>,
    /// Entries every operation visited since start: a deterministic measure of the mempool's
    /// work, which tests bound per transaction handled.
    work_steps: u64,
    /// Transactions the operations were given or gave out since start: insert attempts,
    /// selected transactions, committed and refused ones reported.
    handled: u64,
    /// Admission to commit, for transactions this node admitted (wall-clock; observability only).
    commit_latency: Option<Histogram>,
}

#[derive(Default)]
struct Sender {
    /// The sender's next nonce on the ledger as last learned (a finalized block or admission).
    committed_nonce: u64,
    /// The waiting transactions keyed by nonce. Those at or above `committed_nonce` form one
    /// run without gaps starting at it: admission appends at the run's end, a commit cuts from
    /// below and a refusal from above. (Below it may linger, until their block is reported, ones
    /// admission learned were committed.)
    /// Boxed: a B-tree leaf allocates room for eleven values, and most senders have one
    /// transaction waiting (a fresh pseudonym's registration), so inline values cost ~6 KB each.
    waiting: BTreeMap<u64, Box<Waiting>>,
}

impl Sender {
    /// The nonce the sender's next transaction must carry: after the ledger's, and after its
    /// waiting run.
    fn next_nonce(&self, ledger_nonce: u64) -> u64 {
        let base = self.committed_nonce.max(ledger_nonce);
        self.waiting
            .last_key_value()
            .map_or(base, |(last, _)| base.max(last.saturating_add(1)))
    }

    /// Removes and returns the waiting transactions with nonces up to `nonce`, inclusive.
    fn take_through(&mut self, nonce: u64) -> BTreeMap<u64, Box<Waiting>> {
        let keep = match nonce.checked_add(1) {
            Some(after) => self.waiting.split_off(&after),
            None => BTreeMap::new(),
        };
        std::mem::replace(&mut self.waiting, keep)
    }
}

struct Waiting {
    tx: SignedTransaction,
    hash: TxHash,
    admitted: Instant,
}

/// A cheaply cloneable handle on the node's mempool.
#[derive(Clone, Default)]
pub struct Mempool {
    inner: Arc<Mutex<Inner>>,
}

impl Mempool {
    pub fn new() -> Self {
        Self::default()
    }

    /// A mempool that observes, for every transaction it admitted, the time until it commits.
    pub fn with_commit_latency(histogram: Histogram) -> Self {
        let mempool = Self::default();
        mempool.lock().commit_latency = Some(histogram);
        mempool
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A poisoned lock means a panic elsewhere already took the node down; the data is a
        // cache of pending work, so continuing with it is safe.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The nonce a new transaction of `sender` must carry, counting its waiting transactions.
    /// `ledger_nonce` is the sender's next nonce in the latest finalized state.
    pub fn expected_nonce(&self, sender: &AccountId, ledger_nonce: u64) -> u64 {
        let inner = self.lock();
        inner
            .senders
            .get(&sender_key(sender))
            .map_or(ledger_nonce, |s| s.next_nonce(ledger_nonce))
    }

    /// The nonce the sender's next transaction must carry, or a refusal made before the
    /// transaction's signature is checked, since no signature can make it valid:
    /// - its `nonce` is not that next nonce (a replay of a committed or waiting transaction, or
    ///   a gap), so it could never execute;
    /// - the sender is a key the ledger does not know (`known_on_ledger` false: no committed
    ///   transaction, no member entry; consulted only when the sender has a transaction
    ///   waiting, so a caller may skip the lookup otherwise), which can only register, and
    ///   already has a transaction waiting. Without this, throwaway keys buy admissions that fail at block building (a
    ///   second registration, then nonce-gap followers).
    pub fn next_nonce_to_admit(
        &self,
        sender: &AccountId,
        nonce: u64,
        ledger_nonce: u64,
        known_on_ledger: bool,
    ) -> Result<u64, MempoolError> {
        let next = self.expected_nonce(sender, ledger_nonce);
        if nonce < next {
            return Err(MempoolError::NonceReplayed { got: nonce, next });
        }
        if nonce > next {
            return Err(MempoolError::NonceGap { got: nonce, next });
        }
        if next != ledger_nonce && !known_on_ledger {
            return Err(MempoolError::UnregisteredSenderWaiting);
        }
        Ok(next)
    }

    /// Admits a transaction that the state machine has already checked at nonce
    /// `expected_nonce(sender, ledger_nonce)`. The nonce is checked again here, under the same
    /// lock as the insert, so that of two transactions racing for one nonce only one gets in.
    pub fn insert(&self, tx: SignedTransaction, ledger_nonce: u64) -> Result<(), MempoolError> {
        let hash = tx.hash();
        let key = sender_key(&tx.transaction.sender);
        let nonce = tx.transaction.nonce;
        let mut guard = self.lock();
        let inner = &mut *guard;
        inner.work_steps += 1;
        inner.handled += 1;
        if inner.by_hash.contains_key(&hash) {
            return Err(MempoolError::AlreadyPending(hash));
        }
        let existing = inner.senders.get(&key);
        let next = existing.map_or(ledger_nonce, |s| s.next_nonce(ledger_nonce));
        if nonce < next {
            return Err(MempoolError::NonceReplayed { got: nonce, next });
        }
        if nonce > next {
            return Err(MempoolError::NonceGap { got: nonce, next });
        }
        if inner.by_hash.len() >= MEMPOOL_TOTAL_MAX_TRANSACTIONS {
            return Err(MempoolError::Full);
        }
        if existing.is_some_and(|s| s.waiting.len() >= MEMPOOL_PER_SENDER_MAX_TRANSACTIONS) {
            return Err(MempoolError::SenderFull);
        }
        let sender = inner.senders.entry(key).or_default();
        sender.committed_nonce = sender.committed_nonce.max(ledger_nonce);
        let waiting = Waiting {
            tx,
            hash,
            admitted: Instant::now(),
        };
        sender.waiting.insert(nonce, Box::new(waiting));
        inner.by_hash.insert(hash, (key, nonce));
        Ok(())
    }

    /// Up to `max_transactions` waiting transactions within `max_bytes`, taking senders in turn
    /// and each sender's transactions in nonce order, so that no sender starves the others.
    /// The first round starts after the sender the previous selection's first round ended
    /// with, and stops once the block is full: the work is proportional to what is chosen, not
    /// to the size of the pool.
    pub fn select(&self, max_transactions: usize, max_bytes: usize) -> Selection {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let (after, wrapped) = match inner.cursor {
            Some(c) => (
                inner.senders.range((Bound::Excluded(c), Bound::Unbounded)),
                Some(inner.senders.range(..=c)),
            ),
            None => (inner.senders.range::<SenderKey, _>(..), None),
        };
        let mut chosen = Vec::new();
        let mut bytes = 0usize;
        let mut steps = 0u64;
        let mut last_visited = inner.cursor;
        // Round one: the first waiting transaction of each sender; senders with more wait in
        // `queues` for the later rounds.
        let mut queues = Vec::new();
        for (key, sender) in after.chain(wrapped.into_iter().flatten()) {
            if chosen.len() >= max_transactions {
                break;
            }
            steps += 1;
            last_visited = Some(*key);
            let mut queue = sender
                .waiting
                .range(sender.committed_nonce..)
                .map(|(_, waiting)| &waiting.tx)
                .peekable();
            // A transaction that does not fit keeps its sender's later nonces out as well.
            let Some(tx) = queue.next_if(|tx| bytes + tx.encode_size() <= max_bytes) else {
                continue;
            };
            bytes += tx.encode_size();
            chosen.push(tx.clone());
            if queue.peek().is_some() {
                queues.push(queue);
            }
        }
        // Later rounds: one more from each sender that has more, until the block is full.
        while !queues.is_empty() && chosen.len() < max_transactions {
            queues.retain_mut(|queue| {
                if chosen.len() >= max_transactions {
                    return false;
                }
                steps += 1;
                let Some(tx) = queue.next_if(|tx| bytes + tx.encode_size() <= max_bytes) else {
                    return false;
                };
                bytes += tx.encode_size();
                chosen.push(tx.clone());
                queue.peek().is_some()
            });
        }
        inner.cursor = last_visited;
        let work_steps = steps + chosen.len() as u64;
        inner.work_steps += work_steps;
        inner.handled += chosen.len() as u64;
        Selection {
            transactions: chosen,
            work_steps,
        }
    }

    /// Forgets what a finalized block committed, and every waiting transaction its nonces made
    /// obsolete.
    pub fn committed(&self, height: u64, transactions: &[SignedTransaction]) {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let mut superseded = Vec::new();
        for tx in transactions {
            let key = sender_key(&tx.transaction.sender);
            let nonce = tx.transaction.nonce;
            let hash = tx.hash();
            inner.work_steps += 1;
            inner.handled += 1;
            if let Some(sender) = inner.senders.get_mut(&key) {
                sender.committed_nonce = sender.committed_nonce.max(nonce.saturating_add(1));
                // Everything at or below the committed nonce is done: this transaction, or a
                // conflicting one signed with the same nonce that can never execute now.
                let done = sender.take_through(nonce);
                if sender.waiting.is_empty() {
                    inner.senders.remove(&key);
                }
                for waiting in done.into_values() {
                    inner.work_steps += 1;
                    inner.by_hash.remove(&waiting.hash);
                    if waiting.hash != hash {
                        superseded.push(waiting.hash);
                    } else if let Some(histogram) = &inner.commit_latency {
                        histogram.observe(waiting.admitted.elapsed().as_secs_f64());
                    }
                }
            }
            inner.settle(hash, TxStatus::Committed { height });
        }
        for hash in superseded {
            inner.settle(
                hash,
                TxStatus::Rejected {
                    code: ApiErrorCode::NonceReplayed,
                    message: "another transaction with the same sender and nonce committed first"
                        .into(),
                },
            );
        }
    }

    /// Drops the transactions the state machine refused while building a block, remembering
    /// why. Each refusal also drops its sender's later nonces, which can no longer execute, in
    /// one cut; a refusal of a transaction already dropped that way costs one lookup. Returns
    /// the entries visited.
    pub fn rejected(&self, rejections: Vec<Rejection>) -> u64 {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let before = inner.work_steps;
        for Rejection {
            hash,
            code,
            message,
        } in rejections
        {
            inner.work_steps += 1;
            inner.handled += 1;
            if let Some((key, nonce)) = inner.by_hash.get(&hash).copied() {
                inner.drop_from(key, nonce, code);
            }
            inner.settle(hash, TxStatus::Rejected { code, message });
        }
        inner.work_steps - before
    }

    /// What the node knows about a transaction, if it has seen it recently.
    pub fn status(&self, hash: &TxHash) -> Option<TxStatus> {
        let inner = self.lock();
        if inner.by_hash.contains_key(hash) {
            return Some(TxStatus::Pending);
        }
        inner.outcomes.get(hash).cloned()
    }

    /// Whether the mempool is at its total limit: the API refuses new transactions before
    /// spending a signature check and state reads on them.
    pub fn is_full(&self) -> bool {
        self.len() >= MEMPOOL_TOTAL_MAX_TRANSACTIONS
    }

    /// Transactions waiting for a block.
    pub fn len(&self) -> usize {
        self.lock().by_hash.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The work the mempool's operations did since it started.
    pub fn work(&self) -> MempoolWork {
        let inner = self.lock();
        MempoolWork {
            steps: inner.work_steps,
            transactions: inner.handled,
        }
    }

    /// Recounts the contents and checks them against the index: every waiting transaction is
    /// indexed under its own sender and nonce and nothing else is, each sender's run has no
    /// gap, no sender is kept empty or over its limit. O(pool): for tests and diagnosis.
    pub fn check_invariants(&self) -> Result<MempoolCounts, String> {
        let inner = self.lock();
        let mut pending = 0;
        for (key, sender) in &inner.senders {
            let who = hex::encode(key);
            if sender.waiting.is_empty() {
                return Err(format!("sender {who} is kept with nothing waiting"));
            }
            if sender.waiting.len() > MEMPOOL_PER_SENDER_MAX_TRANSACTIONS {
                return Err(format!("sender {who} holds {}", sender.waiting.len()));
            }
            let run = sender.waiting.range(sender.committed_nonce..);
            for ((&nonce, _), expected) in run.zip(sender.committed_nonce..) {
                if nonce != expected {
                    return Err(format!("sender {who} waits at {nonce}, not {expected}"));
                }
            }
            for (nonce, waiting) in &sender.waiting {
                pending += 1;
                let tx = &waiting.tx.transaction;
                if tx.nonce != *nonce || sender_key(&tx.sender) != *key {
                    return Err(format!(
                        "sender {who} holds a transaction under nonce {nonce} that is not its own"
                    ));
                }
                if waiting.hash != waiting.tx.hash()
                    || inner.by_hash.get(&waiting.hash) != Some(&(*key, *nonce))
                {
                    return Err(format!(
                        "sender {who}'s nonce {nonce} is not indexed by its hash"
                    ));
                }
            }
        }
        if pending != inner.by_hash.len() {
            return Err(format!(
                "the index holds {} transactions, the senders {pending}",
                inner.by_hash.len()
            ));
        }
        Ok(MempoolCounts {
            pending,
            senders: inner.senders.len(),
        })
    }
}

impl Inner {
    /// Drops `key`'s waiting transactions from `nonce` on: the one at `nonce` was refused
    /// (`code`), so the later ones can only fail for the gap it leaves.
    fn drop_from(&mut self, key: SenderKey, nonce: u64, code: ApiErrorCode) {
        let Some(sender) = self.senders.get_mut(&key) else {
            return;
        };
        let dropped = sender.waiting.split_off(&nonce);
        if sender.waiting.is_empty() {
            self.senders.remove(&key);
        }
        for (follower, waiting) in dropped {
            self.work_steps += 1;
            self.by_hash.remove(&waiting.hash);
            if follower != nonce {
                let message = format!(
                    "dropped without executing: this sender's transaction at nonce {nonce} was refused ({code}); resubmit from nonce {nonce}"
                );
                self.settle(
                    waiting.hash,
                    TxStatus::Rejected {
                        code: ApiErrorCode::NonceGap,
                        message,
                    },
                );
            }
        }
    }

    /// Remembers a final outcome. A commit is final: a refusal seen later (a proposal on
    /// another fork) does not overwrite it.
    fn settle(&mut self, hash: TxHash, status: TxStatus) {
        if matches!(status, TxStatus::Rejected { .. })
            && matches!(self.outcomes.get(&hash), Some(TxStatus::Committed { .. }))
        {
            return;
        }
        self.record(hash, status);
    }

    fn record(&mut self, hash: TxHash, status: TxStatus) {
        if self.outcomes.insert(hash, status).is_none() {
            self.outcome_order.push_back(hash);
            while self.outcome_order.len() > TX_STATUS_HISTORY_MAX_ENTRIES {
                if let Some(old) = self.outcome_order.pop_front() {
                    self.outcomes.remove(&old);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_cryptography::{Signer as _, ed25519};
    use medchain_types::{ChainId, InstitutionId, Payload, Transaction};

    fn tx(sender_seed: u64, nonce: u64, institution: &str) -> SignedTransaction {
        let key = ed25519::PrivateKey::from_seed(sender_seed);
        SignedTransaction::sign(
            &key,
            Transaction {
                chain_id: ChainId([1; 32]),
                sender: AccountId(key.public_key()),
                nonce,
                payload: Payload::SetEmergencyAccess {
                    institution: InstitutionId::new(institution).unwrap(),
                    enabled: true,
                },
            },
        )
    }

    /// A distinct three-letter institution slug per `i` (slugs take no digits), so that
    /// transactions of one sender and nonce can differ.
    fn slug(i: usize) -> String {
        let letter = |n: usize| char::from(b'a' + (n % 26) as u8);
        [letter(i / 676), letter(i / 26), letter(i)]
            .iter()
            .collect()
    }

    #[test]
    fn a_key_unknown_to_the_ledger_gets_one_waiting_transaction() {
        let pool = Mempool::new();
        let first = tx(41, 0, "abc");
        let sender = first.transaction.sender.clone();
        assert_eq!(pool.next_nonce_to_admit(&sender, 0, 0, false), Ok(0));
        pool.insert(first, 0).unwrap();
        assert_eq!(
            pool.next_nonce_to_admit(&sender, 1, 0, false),
            Err(MempoolError::UnregisteredSenderWaiting),
            "a second transaction waits for the registration to commit"
        );
        assert_eq!(
            pool.next_nonce_to_admit(&sender, 1, 0, true),
            Ok(1),
            "a member at nonce 0 (a genesis admin) may queue several"
        );
        let known = tx(42, 5, "abc");
        let known_sender = known.transaction.sender.clone();
        pool.insert(known, 5).unwrap();
        assert_eq!(
            pool.next_nonce_to_admit(&known_sender, 6, 5, true),
            Ok(6),
            "a sender with committed transactions may queue several"
        );
    }

    #[test]
    fn a_replayed_or_gapped_nonce_is_refused_before_any_signature_check() {
        let pool = Mempool::new();
        let waiting = tx(43, 3, "abc");
        let sender = waiting.transaction.sender.clone();
        pool.insert(waiting, 3).unwrap();
        // A transaction whose nonce is taken (committed below 3, or waiting at 3) or skips one
        // can never execute, whatever its signature; the pool says which nonce to use.
        for (nonce, refusal) in [
            (2, MempoolError::NonceReplayed { got: 2, next: 4 }),
            (3, MempoolError::NonceReplayed { got: 3, next: 4 }),
            (5, MempoolError::NonceGap { got: 5, next: 4 }),
        ] {
            assert_eq!(
                pool.next_nonce_to_admit(&sender, nonce, 3, true),
                Err(refusal)
            );
        }
        assert_eq!(pool.next_nonce_to_admit(&sender, 4, 3, true), Ok(4));
    }

    #[test]
    fn racing_submissions_of_one_nonce_admit_exactly_one() {
        const THREADS: usize = 8;
        const ROUNDS: u64 = 50;
        for round in 0..ROUNDS {
            let pool = Mempool::new();
            let barrier = std::sync::Barrier::new(THREADS);
            let outcomes: Vec<_> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..THREADS)
                    .map(|i| {
                        let (pool, barrier) = (&pool, &barrier);
                        let tx = tx(round, 0, &slug(i));
                        scope.spawn(move || {
                            barrier.wait();
                            pool.insert(tx, 0)
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            let admitted = outcomes.iter().filter(|o| o.is_ok()).count();
            let replayed = outcomes
                .iter()
                .filter(|o| **o == Err(MempoolError::NonceReplayed { got: 0, next: 1 }))
                .count();
            assert_eq!((admitted, replayed), (1, THREADS - 1), "round {round}");
            assert_eq!(pool.len(), 1);
            assert_eq!(
                pool.check_invariants(),
                Ok(MempoolCounts {
                    pending: 1,
                    senders: 1
                })
            );
        }
    }

    #[test]
    fn concurrent_senders_are_counted_exactly() {
        const THREADS: usize = 4;
        const NONCES: u64 = 100;
        let pool = Mempool::new();
        let barrier = std::sync::Barrier::new(THREADS);
        // Every thread submits the shared sender's run and its own sender's run, interleaved:
        // each shared nonce gets in once, each own nonce once.
        let admitted: usize = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..THREADS)
                .map(|i| {
                    let (pool, barrier) = (&pool, &barrier);
                    scope.spawn(move || {
                        barrier.wait();
                        let mut admitted = 0;
                        for nonce in 0..NONCES {
                            let shared = tx(1, nonce, &slug(i));
                            // Retry until this nonce is taken by someone: the run has no gaps.
                            while pool.expected_nonce(&shared.transaction.sender, 0) <= nonce {
                                admitted += usize::from(pool.insert(shared.clone(), 0).is_ok());
                            }
                            admitted += usize::from(
                                pool.insert(tx(10 + i as u64, nonce, "aaa"), 0).is_ok(),
                            );
                        }
                        admitted
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        let expected = (NONCES as usize) * (THREADS + 1);
        assert_eq!(admitted, expected);
        assert_eq!(pool.len(), expected);
        assert_eq!(
            pool.check_invariants(),
            Ok(MempoolCounts {
                pending: expected,
                senders: THREADS + 1
            })
        );
    }

    #[test]
    fn a_refused_transaction_drops_its_senders_later_nonces_in_one_cut() {
        let pool = Mempool::new();
        // A large honest backlog: a refusal must not cost anything proportional to it.
        for sender in 100..5_100 {
            pool.insert(tx(sender, 0, "aaa"), 0).unwrap();
        }
        let run: Vec<_> = (0..10).map(|nonce| tx(1, nonce, "aaa")).collect();
        for t in &run {
            pool.insert(t.clone(), 0).unwrap();
        }
        let refuse = |t: &SignedTransaction| Rejection {
            hash: t.hash(),
            code: ApiErrorCode::AlreadyRegistered,
            message: "registered once".into(),
        };
        assert_eq!(
            pool.rejected(vec![refuse(&run[3])]),
            1 + 7,
            "one lookup, seven dropped"
        );
        assert_eq!(pool.len(), 5_000 + 3);
        assert!(
            matches!(pool.status(&run[3].hash()), Some(TxStatus::Rejected { code, .. }) if code == "already_registered")
        );
        for follower in &run[4..] {
            assert!(
                matches!(pool.status(&follower.hash()), Some(TxStatus::Rejected { code, .. }) if code == "nonce_gap")
            );
        }
        // The block builder reports the followers too: each is one lookup of a hash gone.
        assert_eq!(pool.rejected(run[4..].iter().map(refuse).collect()), 6);
        assert_eq!(pool.expected_nonce(&run[0].transaction.sender, 0), 3);
        assert_eq!(
            pool.insert(tx(1, 3, "bbb"), 0),
            Ok(()),
            "resubmitted from the gap"
        );
        assert_eq!(pool.check_invariants().map(|c| c.pending), Ok(5_004));
        let work = pool.work();
        assert!(work.steps <= 2 * work.transactions, "{work:?}");
    }

    #[test]
    fn selection_work_follows_what_is_chosen_and_rotates_through_senders() {
        let pool = Mempool::new();
        for sender in 0..10_000 {
            pool.insert(tx(sender, 0, "aaa"), 0).unwrap();
        }
        let first = pool.select(100, usize::MAX);
        assert_eq!(first.transactions.len(), 100);
        assert_eq!(first.work_steps, 200, "100 senders visited, 100 chosen");
        let first = first.transactions;
        let second = pool.select(100, usize::MAX).transactions;
        let first: std::collections::HashSet<_> = first.iter().map(|t| t.hash()).collect();
        assert!(
            second.iter().all(|t| !first.contains(&t.hash())),
            "the next selection starts after the senders the last one served"
        );
    }

    #[test]
    fn nonces_must_follow_the_ledger_and_the_waiting_transactions() {
        let pool = Mempool::new();
        assert_eq!(pool.insert(tx(1, 3, "aaa"), 3), Ok(()));
        assert_eq!(pool.insert(tx(1, 4, "aaa"), 3), Ok(()));
        assert_eq!(
            pool.insert(tx(1, 3, "bbb"), 3),
            Err(MempoolError::NonceReplayed { got: 3, next: 5 })
        );
        assert_eq!(
            pool.insert(tx(1, 7, "aaa"), 3),
            Err(MempoolError::NonceGap { got: 7, next: 5 })
        );
        assert_eq!(
            pool.insert(tx(1, 4, "aaa"), 3),
            Err(MempoolError::AlreadyPending(tx(1, 4, "aaa").hash()))
        );
        assert_eq!(pool.len(), 2);
    }

    #[test]
    fn one_sender_cannot_hold_more_than_its_share() {
        let pool = Mempool::new();
        for nonce in 0..MEMPOOL_PER_SENDER_MAX_TRANSACTIONS as u64 {
            pool.insert(tx(1, nonce, "aaa"), 0).unwrap();
        }
        let next = MEMPOOL_PER_SENDER_MAX_TRANSACTIONS as u64;
        assert_eq!(
            pool.insert(tx(1, next, "aaa"), 0),
            Err(MempoolError::SenderFull)
        );
        assert_eq!(
            pool.insert(tx(2, 0, "aaa"), 0),
            Ok(()),
            "other senders are unaffected"
        );
    }

    #[test]
    fn selection_takes_senders_in_turn_and_each_in_nonce_order() {
        let pool = Mempool::new();
        for nonce in 0..3 {
            pool.insert(tx(1, nonce, "aaa"), 0).unwrap();
        }
        pool.insert(tx(2, 0, "aaa"), 0).unwrap();
        let chosen = pool.select(3, usize::MAX).transactions;
        assert_eq!(chosen.len(), 3);
        let from_one: Vec<u64> = chosen
            .iter()
            .filter(|t| t.transaction.sender == tx(1, 0, "aaa").transaction.sender)
            .map(|t| t.transaction.nonce)
            .collect();
        assert_eq!(
            from_one,
            vec![0, 1],
            "sender 2 got its turn before sender 1's third"
        );
        assert_eq!(
            pool.select(10, 0).transactions.len(),
            0,
            "the byte budget is respected"
        );
    }

    #[test]
    fn a_commit_settles_the_transaction_and_supersedes_conflicting_ones() {
        let pool = Mempool::new();
        let first = tx(1, 0, "aaa");
        pool.insert(first.clone(), 0).unwrap();
        pool.insert(tx(1, 1, "aaa"), 0).unwrap();
        let conflicting = tx(1, 0, "bbb");
        pool.committed(7, std::slice::from_ref(&conflicting));
        assert_eq!(
            pool.status(&conflicting.hash()),
            Some(TxStatus::Committed { height: 7 })
        );
        assert!(
            matches!(pool.status(&first.hash()), Some(TxStatus::Rejected { code, .. }) if code == "nonce_replayed")
        );
        assert_eq!(pool.len(), 1, "the later nonce still waits");
        assert_eq!(pool.expected_nonce(&first.transaction.sender, 1), 2);
    }
    #[test]
    fn the_mempool_as_a_whole_is_bounded() {
        let pool = Mempool::new();
        let per_sender = MEMPOOL_PER_SENDER_MAX_TRANSACTIONS as u64;
        let mut admitted = 0;
        'fill: for sender in 1.. {
            for nonce in 0..per_sender {
                if admitted == MEMPOOL_TOTAL_MAX_TRANSACTIONS {
                    break 'fill;
                }
                pool.insert(tx(sender, nonce, "aaa"), 0).unwrap();
                admitted += 1;
            }
        }
        assert_eq!(pool.len(), MEMPOOL_TOTAL_MAX_TRANSACTIONS);
        assert!(pool.is_full());
        assert_eq!(
            pool.insert(tx(u64::MAX, 0, "aaa"), 0),
            Err(MempoolError::Full)
        );
    }

    #[test]
    fn outcome_history_forgets_the_oldest_beyond_its_limit() {
        let mut inner = Inner::default();
        let hash = |i: u64| {
            let mut bytes = [0u8; 32];
            bytes[..8].copy_from_slice(&i.to_be_bytes());
            TxHash(bytes)
        };
        let limit = TX_STATUS_HISTORY_MAX_ENTRIES as u64;
        for i in 0..=limit {
            inner.record(hash(i), TxStatus::Committed { height: i });
        }
        assert_eq!(inner.outcomes.len(), TX_STATUS_HISTORY_MAX_ENTRIES);
        assert_eq!(
            inner.outcomes.get(&hash(0)),
            None,
            "the oldest is forgotten"
        );
        assert_eq!(
            inner.outcomes.get(&hash(limit)),
            Some(&TxStatus::Committed { height: limit })
        );
    }
}
