//! What this node knows about the finalized chain, shared between the application (which
//! updates it when a block is finalized) and the HTTP API and metrics (which read it).

use commonware_cryptography::{Digestible as _, sha256};
use medchain_types::{Payload, RecordId};
use medchain_verify::Block;
use std::collections::VecDeque;
use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU64, Ordering},
};
use tokio::sync::watch;

/// The latest finalized block as readers need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinalizedTip {
    pub height: u64,
    pub digest: sha256::Digest,
    pub state_root: sha256::Digest,
    pub timestamp_ms: u64,
}

/// Finalized state roots remembered, so a read of the state database can name the block whose
/// root it proves against (the database may run up to a block ahead of the recorded tip).
const RECENT_ROOTS_MAX: usize = 256;

/// Records committed in finalized blocks whose ciphertext this node has not yet checked it
/// holds, at most this many (beyond, the oldest are dropped with a warning: the blob collector
/// never deletes a committed record's ciphertext, so a dropped one is only not fetched).
pub const RECORD_BLOBS_QUEUED_MAX: usize = 100_000;

/// A committed record's ciphertext, as the block that committed it names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordBlob {
    pub record: RecordId,
    pub content_hash: [u8; 32],
    pub size_class_bytes: u64,
}

/// A cheaply cloneable view of the finalized chain.
#[derive(Clone)]
pub struct ChainView {
    tip: watch::Sender<Option<FinalizedTip>>,
    committed_transactions: Arc<AtomicU64>,
    recent_roots: Arc<Mutex<VecDeque<(sha256::Digest, u64)>>>,
    record_blobs: Arc<Mutex<VecDeque<RecordBlob>>>,
}

impl Default for ChainView {
    fn default() -> Self {
        Self::new()
    }
}

impl ChainView {
    pub fn new() -> Self {
        Self {
            tip: watch::channel(None).0,
            committed_transactions: Arc::new(AtomicU64::new(0)),
            recent_roots: Arc::new(Mutex::new(VecDeque::new())),
            record_blobs: Arc::new(Mutex::new(VecDeque::new())),
        }
    }

    /// The committed records whose ciphertexts the blob sync has not looked at yet.
    pub fn take_record_blobs(&self) -> Vec<RecordBlob> {
        self.record_blobs
            .lock()
            .map(|mut queue| queue.drain(..).collect())
            .unwrap_or_default()
    }

    fn queue_record_blobs(&self, block: &Block) {
        let Ok(mut queue) = self.record_blobs.lock() else {
            return;
        };
        for tx in &block.transactions {
            if let Payload::CreateRecord {
                content_hash,
                size_bytes,
                ..
            } = &tx.transaction.payload
            {
                queue.push_back(RecordBlob {
                    record: RecordId::from_tx(&tx.hash()),
                    content_hash: *content_hash,
                    size_class_bytes: *size_bytes,
                });
            }
        }
        if queue.len() > RECORD_BLOBS_QUEUED_MAX {
            let dropped = queue.len() - RECORD_BLOBS_QUEUED_MAX;
            queue.drain(..dropped);
            tracing::warn!(
                dropped,
                "blob sync is behind; not fetching the oldest records' ciphertexts"
            );
        }
    }

    /// Records a finalized block (called once per block, in height order; redelivery after a
    /// restart is harmless).
    pub fn finalized(&self, block: &Block) {
        let height = block.height;
        let fresh = self
            .tip
            .borrow()
            .as_ref()
            .is_none_or(|tip| tip.height < height);
        if !fresh {
            return;
        }
        self.committed_transactions
            .fetch_add(block.transactions.len() as u64, Ordering::Relaxed);
        self.queue_record_blobs(block);
        if let Ok(mut roots) = self.recent_roots.lock() {
            roots.push_back((block.state_root, height));
            while roots.len() > RECENT_ROOTS_MAX {
                roots.pop_front();
            }
        }
        self.tip.send_replace(Some(FinalizedTip {
            height,
            digest: block.digest(),
            state_root: block.state_root,
            timestamp_ms: block.timestamp_ms,
        }));
    }

    /// The latest finalized block, if any block beyond genesis was finalized.
    pub fn tip(&self) -> Option<FinalizedTip> {
        self.tip.borrow().clone()
    }

    /// The height of the recent finalized block with this state root.
    pub fn height_of_state_root(&self, root: &sha256::Digest) -> Option<u64> {
        let roots = self.recent_roots.lock().ok()?;
        roots.iter().rev().find(|(r, _)| r == root).map(|(_, h)| *h)
    }

    /// Transactions committed since this node started.
    pub fn committed_transactions(&self) -> u64 {
        self.committed_transactions.load(Ordering::Relaxed)
    }

    /// Waits until a block at or above `height` is finalized.
    pub async fn wait_for_height(&self, height: u64) {
        let mut rx = self.tip.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = rx
            .wait_for(|tip| tip.as_ref().is_some_and(|t| t.height >= height))
            .await;
    }
}
