//! Pending transactions waiting for a block: de-duplicated, bounded per sender and in total,
//! and handed to the proposer in nonce order so that every selected transaction can execute.
//!
//! The mempool never decides validity (the state machine does); it only keeps what the API
//! admitted after `medchain_state::check_transaction` and forgets what a finalized block made
//! obsolete.

use commonware_codec::EncodeSize;
use commonware_runtime::telemetry::metrics::Histogram;
use medchain_types::{AccountId, SignedTransaction, TxHash, api::ApiErrorCode};
use std::collections::{BTreeMap, HashMap, VecDeque};
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

#[derive(Default)]
struct Inner {
    /// Per sender: the next nonce the ledger expects (as of the last finalized block) and the
    /// waiting transactions keyed by nonce.
    /// Ordered, so that block contents depend only on what was admitted (a printed simulation
    /// seed replays the same blocks), not on a hash map's per-process random order.
    senders: BTreeMap<AccountId, Sender>,
    pending: usize,
    outcomes: HashMap<TxHash, TxStatus>,
    outcome_order: VecDeque<TxHash>,
    /// Admission to commit, for transactions this node admitted (wall-clock; observability only).
    commit_latency: Option<Histogram>,
}

#[derive(Default)]
struct Sender {
    committed_nonce: u64,
    /// Boxed: a B-tree leaf allocates room for eleven values, and most senders have one
    /// transaction waiting (a fresh pseudonym's registration), so inline values cost ~6 KB each.
    waiting: BTreeMap<u64, Box<Waiting>>,
}

struct Waiting {
    tx: SignedTransaction,
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
        let Some(entry) = inner.senders.get(sender) else {
            return ledger_nonce;
        };
        let mut next = entry.committed_nonce.max(ledger_nonce);
        while entry.waiting.contains_key(&next) {
            next += 1;
        }
        next
    }

    /// Admits a transaction that the state machine has already checked at nonce
    /// `expected_nonce(sender, ledger_nonce)`.
    pub fn insert(&self, tx: SignedTransaction, ledger_nonce: u64) -> Result<(), MempoolError> {
        let hash = tx.hash();
        let sender_id = tx.transaction.sender.clone();
        let nonce = tx.transaction.nonce;
        let next = self.expected_nonce(&sender_id, ledger_nonce);
        let mut inner = self.lock();
        if matches!(inner.outcomes.get(&hash), Some(TxStatus::Pending)) {
            return Err(MempoolError::AlreadyPending(hash));
        }
        if nonce < next {
            return Err(MempoolError::NonceReplayed { got: nonce, next });
        }
        if nonce > next {
            return Err(MempoolError::NonceGap { got: nonce, next });
        }
        if inner.pending >= MEMPOOL_TOTAL_MAX_TRANSACTIONS {
            return Err(MempoolError::Full);
        }
        let sender = inner.senders.entry(sender_id).or_default();
        if sender.waiting.len() >= MEMPOOL_PER_SENDER_MAX_TRANSACTIONS {
            return Err(MempoolError::SenderFull);
        }
        sender.committed_nonce = sender.committed_nonce.max(ledger_nonce);
        sender.waiting.insert(
            nonce,
            Box::new(Waiting {
                tx,
                admitted: Instant::now(),
            }),
        );
        inner.pending += 1;
        inner.record(hash, TxStatus::Pending);
        Ok(())
    }

    /// Up to `max_transactions` waiting transactions within `max_bytes`, taking senders in turn
    /// and each sender's transactions in nonce order, so that no sender starves the others.
    pub fn select(&self, max_transactions: usize, max_bytes: usize) -> Vec<SignedTransaction> {
        let inner = self.lock();
        let mut queues: Vec<_> = inner
            .senders
            .values()
            .map(|s| {
                s.waiting
                    .range(s.committed_nonce..)
                    .map(|(_, waiting)| &waiting.tx)
                    .peekable()
            })
            .collect();
        let mut chosen = Vec::new();
        let mut bytes = 0usize;
        let mut progressed = true;
        while progressed && chosen.len() < max_transactions {
            progressed = false;
            for queue in queues.iter_mut() {
                if chosen.len() >= max_transactions {
                    break;
                }
                let Some(tx) = queue.peek() else { continue };
                let size = tx.encode_size();
                if bytes + size > max_bytes {
                    continue;
                }
                bytes += size;
                chosen.push((*tx).clone());
                queue.next();
                progressed = true;
            }
        }
        chosen
    }

    /// Forgets what a finalized block committed, and every waiting transaction its nonces made
    /// obsolete.
    pub fn committed(&self, height: u64, transactions: &[SignedTransaction]) {
        let mut inner = self.lock();
        let inner = &mut *inner;
        let mut superseded = Vec::new();
        for tx in transactions {
            let sender_id = &tx.transaction.sender;
            let nonce = tx.transaction.nonce;
            let hash = tx.hash();
            let mut removed = 0;
            if let Some(sender) = inner.senders.get_mut(sender_id) {
                sender.committed_nonce = sender.committed_nonce.max(nonce + 1);
                // Everything at or below the committed nonce is done: this transaction, or a
                // conflicting one signed with the same nonce that can never execute now.
                let keep = sender.waiting.split_off(&(nonce + 1));
                let done = std::mem::replace(&mut sender.waiting, keep);
                removed = done.len();
                if let (Some(histogram), Some(ours)) = (&inner.commit_latency, done.get(&nonce))
                    && ours.tx.hash() == hash
                {
                    histogram.observe(ours.admitted.elapsed().as_secs_f64());
                }
                superseded.extend(done.values().map(|w| w.tx.hash()).filter(|h| *h != hash));
                if sender.waiting.is_empty() {
                    inner.senders.remove(sender_id);
                }
            }
            inner.pending = inner.pending.saturating_sub(removed);
            inner.record(hash, TxStatus::Committed { height });
        }
        for hash in superseded {
            inner.record(
                hash,
                TxStatus::Rejected {
                    code: ApiErrorCode::NonceReplayed,
                    message: "another transaction with the same sender and nonce committed first"
                        .into(),
                },
            );
        }
    }

    /// Drops a transaction the state machine refused while building a block, remembering why.
    pub fn rejected(&self, hash: TxHash, code: ApiErrorCode, message: String) {
        let mut inner = self.lock();
        let mut found = None;
        for (id, sender) in inner.senders.iter_mut() {
            if let Some((&nonce, _)) = sender.waiting.iter().find(|(_, w)| w.tx.hash() == hash) {
                // Later nonces of this sender can no longer execute either.
                let dropped = sender.waiting.split_off(&nonce).len();
                found = Some((id.clone(), dropped, sender.waiting.is_empty()));
                break;
            }
        }
        if let Some((id, dropped, empty)) = found {
            inner.pending = inner.pending.saturating_sub(dropped);
            if empty {
                inner.senders.remove(&id);
            }
        }
        inner.record(hash, TxStatus::Rejected { code, message });
    }

    /// What the node knows about a transaction, if it has seen it recently.
    pub fn status(&self, hash: &TxHash) -> Option<TxStatus> {
        self.lock().outcomes.get(hash).cloned()
    }

    /// Whether the mempool is at its total limit: the API refuses new transactions before
    /// spending a signature check and state reads on them.
    pub fn is_full(&self) -> bool {
        self.lock().pending >= MEMPOOL_TOTAL_MAX_TRANSACTIONS
    }

    /// Transactions waiting for a block.
    pub fn len(&self) -> usize {
        self.lock().pending
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Inner {
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
        let chosen = pool.select(3, usize::MAX);
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
        assert_eq!(pool.select(10, 0).len(), 0, "the byte budget is respected");
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
