//! The key-value store the state machine runs on, and two implementations:
//! `MemoryStore` (tests, tools) and `Overlay` (buffers one transaction's or one
//! block's writes so a failure leaves nothing behind). The node implements
//! `Store` over QMDB batches.

use medchain_types::merkle::{MerkleDomain, merkle_root};
use std::collections::BTreeMap;
use std::future::Future;
use thiserror::Error;

/// The backing store failed (I/O, corruption); the block cannot be executed now.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("state store failed: {0}; retry once the node's storage is healthy")]
pub struct StoreError(pub String);

/// Keys are a one-byte table tag plus the canonical encoding of the key (see `keys`);
/// values are canonical encodings. `put(key, None)` deletes.
pub trait Store: Send + Sync {
    fn get(&self, key: &[u8]) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;
    fn put(&mut self, key: Vec<u8>, value: Option<Vec<u8>>);
}

/// An in-memory store with a deterministic Merkle root over its sorted pairs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryStore {
    entries: BTreeMap<Vec<u8>, Vec<u8>>,
}

const MEMORY_STORE_TREE: MerkleDomain = MerkleDomain {
    leaf: "medchain 2026 memory store leaf v1",
    node: "medchain 2026 memory store node v1",
    empty: "medchain 2026 memory store empty v1",
};

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// BLAKE3 Merkle root over `(key, value)` pairs in key order; each leaf is
    /// `len(key) || key || value` so no two different stores share a leaf list.
    pub fn root(&self) -> [u8; 32] {
        let leaves: Vec<Vec<u8>> = self
            .entries
            .iter()
            .map(|(key, value)| {
                let mut leaf = Vec::with_capacity(8 + key.len() + value.len());
                leaf.extend_from_slice(&(key.len() as u64).to_be_bytes());
                leaf.extend_from_slice(key);
                leaf.extend_from_slice(value);
                leaf
            })
            .collect();
        merkle_root(MEMORY_STORE_TREE, &leaves)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// All pairs in key order (for tests and state dumps).
    pub fn iter(&self) -> impl Iterator<Item = (&Vec<u8>, &Vec<u8>)> {
        self.entries.iter()
    }
}

impl Store for MemoryStore {
    fn get(&self, key: &[u8]) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send {
        std::future::ready(Ok(self.entries.get(key).cloned()))
    }

    fn put(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) {
        match value {
            Some(value) => self.entries.insert(key, value),
            None => self.entries.remove(&key),
        };
    }
}

/// Reads through to `base`, keeps writes to itself. `into_writes` hands the
/// buffered writes back so the caller commits them (or drops them to roll back).
pub struct Overlay<'a, S> {
    base: &'a S,
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

/// Buffered writes of an `Overlay`, in key order.
pub type Writes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

impl<'a, S: Store> Overlay<'a, S> {
    pub fn new(base: &'a S) -> Self {
        Self {
            base,
            writes: BTreeMap::new(),
        }
    }

    pub fn into_writes(self) -> Writes {
        self.writes
    }
}

/// Applies buffered writes to a store (committing an overlay).
pub fn commit<S: Store>(store: &mut S, writes: Writes) {
    for (key, value) in writes {
        store.put(key, value);
    }
}

impl<S: Store> Store for Overlay<'_, S> {
    async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        match self.writes.get(key) {
            Some(buffered) => Ok(buffered.clone()),
            None => self.base.get(key).await,
        }
    }

    fn put(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) {
        self.writes.insert(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;

    fn store(pairs: &[(&[u8], &[u8])]) -> MemoryStore {
        let mut store = MemoryStore::new();
        for (key, value) in pairs {
            store.put(key.to_vec(), Some(value.to_vec()));
        }
        store
    }

    #[test]
    fn an_overlay_reads_its_own_writes_and_its_deletes_shadow_the_base() {
        let base = store(&[(b"a", b"1"), (b"b", b"2")]);
        let mut overlay = Overlay::new(&base);
        overlay.put(b"a".to_vec(), None);
        overlay.put(b"c".to_vec(), Some(b"3".to_vec()));
        assert_eq!(block_on(overlay.get(b"a")).unwrap(), None);
        assert_eq!(block_on(overlay.get(b"b")).unwrap(), Some(b"2".to_vec()));
        assert_eq!(block_on(overlay.get(b"c")).unwrap(), Some(b"3".to_vec()));
        let mut nested = Overlay::new(&overlay);
        nested.put(b"b".to_vec(), Some(b"9".to_vec()));
        assert_eq!(block_on(nested.get(b"c")).unwrap(), Some(b"3".to_vec()));
        assert_eq!(block_on(nested.get(b"b")).unwrap(), Some(b"9".to_vec()));
        let writes = overlay.into_writes();
        assert_eq!(
            base,
            store(&[(b"a", b"1"), (b"b", b"2")]),
            "the base is untouched until commit"
        );
        let mut committed = base.clone();
        commit(&mut committed, writes);
        assert_eq!(committed, store(&[(b"b", b"2"), (b"c", b"3")]));
    }

    #[test]
    fn the_memory_root_depends_on_content_not_on_insertion_order() {
        let one = store(&[(b"a", b"1"), (b"b", b"2")]);
        let other = store(&[(b"b", b"2"), (b"a", b"1")]);
        assert_eq!(one.root(), other.root());
        assert_ne!(one.root(), store(&[(b"a", b"1"), (b"b", b"3")]).root());
        // The key length is framed: moving a byte from key to value changes the root.
        assert_ne!(
            store(&[(b"ab", b"c")]).root(),
            store(&[(b"a", b"bc")]).root()
        );
        assert_ne!(MemoryStore::new().root(), store(&[(b"", b"")]).root());
    }
}
