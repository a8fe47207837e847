//! Read access to the latest finalized state for the API: a `medchain_state::Store` whose reads
//! come from the state database and whose writes stay in memory and are discarded, so the state
//! machine's checks and queries can run against it without touching the ledger.

use crate::store::{StateDb, state_key_digest};
use commonware_glue::stateful::db::Shared;
use commonware_runtime::Spawner;
use commonware_storage::Context as StorageContext;
use medchain_state::{Store, StoreError};
use std::collections::BTreeMap;

/// A throw-away view of the latest applied state.
pub struct SnapshotStore<E: StorageContext + Spawner> {
    db: Shared<StateDb<E>>,
    overlay: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl<E: StorageContext + Spawner> SnapshotStore<E> {
    pub fn new(db: Shared<StateDb<E>>) -> Self {
        Self {
            db,
            overlay: BTreeMap::new(),
        }
    }
}

impl<E: StorageContext + Spawner> Store for SnapshotStore<E> {
    async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(value) = self.overlay.get(key) {
            return Ok(value.clone());
        }
        // The guard is released before returning: holding it across another acquisition of the
        // same lock could deadlock once the applier queues a write.
        let db = self.db.read().await;
        db.get(&state_key_digest(key))
            .await
            .map(|value| value.map(|v| v.0))
            .map_err(|e| StoreError(format!("state database read failed: {e}")))
    }

    fn put(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) {
        self.overlay.insert(key, value);
    }
}
