//! The root a block commits its transactions under. The block itself (header fields, consensus
//! context, transactions) is `medchain_verify::Block`, the one type the node builds and the
//! light client checks.

use crate::merkle::{MerkleDomain, merkle_root};
use crate::transaction::SignedTransaction;

const TRANSACTIONS_TREE: MerkleDomain = MerkleDomain {
    leaf: "medchain 2026 transactions root leaf v1",
    node: "medchain 2026 transactions root node v1",
    empty: "medchain 2026 transactions root empty v1",
};

/// Merkle root over the transactions' hashes, in block order.
pub fn transactions_root(txs: &[SignedTransaction]) -> [u8; 32] {
    let hashes: Vec<[u8; 32]> = txs.iter().map(|tx| tx.hash().0).collect();
    merkle_root(TRANSACTIONS_TREE, &hashes)
}
