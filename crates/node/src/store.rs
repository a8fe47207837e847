//! The authenticated state on disk: a QMDB `current` database whose keys are the SHA-256 of the
//! state machine's keys, and the adapter that lets `medchain_state` read and write a speculative
//! batch of it.
//!
//! Keys are hashed so that QMDB's compressed index (which looks at a key's first bytes) spreads
//! them evenly; `medchain_state` keys all start with a one-byte table tag. A proof for a state key
//! is a QMDB key-value proof for its hash.

use commonware_cryptography::{Sha256, sha256};
use commonware_glue::stateful::db::{AttachableResolver, DatabaseSet, Shared};
use commonware_parallel::Sequential;
use commonware_runtime::{Spawner, buffer::paged::CacheRef};
use commonware_storage::{
    Context as StorageContext,
    journal::contiguous::variable::Config as VariableJournalConfig,
    mmr::{self, full::Config as MerkleConfig},
    qmdb::{
        current::{VariableConfig, unordered::variable},
        sync,
    },
    translator::EightCap,
};
use commonware_utils::{NZU64, NZUsize};
use medchain_state::{Store, StoreError};
use std::{marker::PhantomData, num::NonZeroUsize};

// The value encoding, key hashing and chunk size are the light client's too: they are what a
// state proof commits to.
pub use medchain_verify::proof::{
    STATE_BITMAP_CHUNK_BYTES, STATE_VALUE_MAX_BYTES, StateValue, state_key_digest,
};

const IO_BUFFER_BYTES: NonZeroUsize = NZUsize!(1 << 16);

/// The ledger's authenticated state database. Its in-memory index keys each entry by the first
/// 8 bytes of the SHA-256 key: with 2 bytes (`TwoCap`) every lookup of a new key had to read
/// all keys sharing its prefix from the log, ~12 reads each at 800k keys, which slowed
/// proposals past the leader timeout around 400k transactions; 8 bytes cannot be ground into
/// collisions by an attacker choosing accounts.
pub type StateDb<E> = variable::Db<
    mmr::Family,
    E,
    sha256::Digest,
    StateValue,
    Sha256,
    EightCap,
    STATE_BITMAP_CHUNK_BYTES,
    Sequential,
>;

/// The database set `commonware_glue::stateful` manages for the ledger.
pub type StateSet<E> = Shared<StateDb<E>>;

/// A speculative batch of state writes on top of a parent block's state.
pub type StateBatch<E> = <StateSet<E> as DatabaseSet<E>>::Unmerkleized;

/// A sealed batch with its roots computed.
pub type StateMerkleized<E> = <StateSet<E> as DatabaseSet<E>>::Merkleized;

/// The configuration of the state database, in partitions named after `prefix`.
pub fn state_db_config<E: StorageContext + Spawner>(
    prefix: &str,
    page_cache: CacheRef,
) -> <StateSet<E> as DatabaseSet<E>>::Config {
    VariableConfig {
        merkle_config: MerkleConfig {
            journal_partition: format!("{prefix}-state-merkle"),
            metadata_partition: format!("{prefix}-state-merkle-meta"),
            items_per_blob: NZU64!(4096),
            write_buffer: IO_BUFFER_BYTES,
            replay_buffer: IO_BUFFER_BYTES,
            strategy: Sequential,
            page_cache: page_cache.clone(),
        },
        journal_config: VariableJournalConfig {
            partition: format!("{prefix}-state-log"),
            items_per_section: NZU64!(4096),
            compression: None,
            codec_config: ((), ()),
            page_cache,
            write_buffer: IO_BUFFER_BYTES,
            replay_buffer: IO_BUFFER_BYTES,
        },
        grafted_metadata_partition: format!("{prefix}-state-grafted"),
        translator: EightCap,
        init_cache: Some(NZUsize!(1 << 16)),
        init_buffer: NZUsize!(1 << 21),
        init_concurrency: (),
    }
}

/// Lets `medchain_state` execute transactions against a speculative QMDB batch.
pub struct BatchStore<E: StorageContext + Spawner> {
    // `write` consumes the batch and returns it, so it is moved out and back in.
    batch: Option<StateBatch<E>>,
}

impl<E: StorageContext + Spawner> BatchStore<E> {
    pub fn new(batch: StateBatch<E>) -> Self {
        Self { batch: Some(batch) }
    }

    pub fn into_batch(self) -> StateBatch<E> {
        self.batch.expect("batch is always present between calls")
    }
}

impl<E: StorageContext + Spawner> Store for BatchStore<E> {
    async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let batch = self
            .batch
            .as_ref()
            .expect("batch is always present between calls");
        batch
            .get(&state_key_digest(key))
            .await
            .map(|value| value.map(|v| v.0))
            .map_err(|e| StoreError(format!("state database read failed: {e}")))
    }

    fn put(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) {
        let batch = self
            .batch
            .take()
            .expect("batch is always present between calls");
        self.batch = Some(batch.write(state_key_digest(&key), value.map(StateValue)));
    }
}

/// The state-sync source this node plugs into `glue::stateful`: it refuses every request.
///
/// A node that is behind catches up by fetching finalized blocks from its peers (marshal
/// backfill) and re-executing them, which also re-checks every block. Syncing QMDB state
/// directly from peers needs commonware's p2p state resolver, which only serves databases
/// whose values have a fixed size; ours are variable-length entries.
pub struct NoStateSync<E>(PhantomData<fn() -> E>);

impl<E> NoStateSync<E> {
    pub fn new() -> Self {
        Self(PhantomData)
    }
}

impl<E> Default for NoStateSync<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> Clone for NoStateSync<E> {
    fn clone(&self) -> Self {
        Self::new()
    }
}

/// Why a state-sync request was refused.
#[derive(Debug, thiserror::Error)]
#[error(
    "state sync from peers is not supported; the node catches up by replaying finalized blocks"
)]
pub struct StateSyncUnsupported;

impl<E: StorageContext + Spawner> sync::Source for NoStateSync<E> {
    type Family = mmr::Family;
    type Digest = sha256::Digest;
    type Op = <StateDb<E> as sync::Database>::Op;
    type Error = StateSyncUnsupported;

    async fn serve(&self, _request: sync::Request<mmr::Family>) -> sync::source::Result<Self> {
        Err(StateSyncUnsupported)
    }
}

impl<E: StorageContext + Spawner> AttachableResolver<StateDb<E>> for NoStateSync<E> {
    async fn attach_database(&self, _db: Shared<StateDb<E>>) {}
}
