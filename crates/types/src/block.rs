//! The ledger's block header: what a finalized block commits to. The node
//! wraps it in the consensus engine's block type.

use crate::ids::{AccountId, derive};
use crate::merkle::{MerkleDomain, merkle_root};
use crate::transaction::SignedTransaction;
use crate::{hexser, impl_struct_codec};
use commonware_codec::Encode;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlockHeader {
    pub height: u64,
    #[serde(with = "hexser::array")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub parent: [u8; 32],
    #[serde(with = "hexser::array")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub transactions_root: [u8; 32],
    /// Root of the authenticated state after this block's transactions.
    #[serde(with = "hexser::array")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub state_root: [u8; 32],
    /// Block time, set by the proposer; the only clock the state machine sees.
    pub timestamp_ms: u64,
    pub proposer: AccountId,
}
impl_struct_codec!(BlockHeader {
    height: (),
    parent: (),
    transactions_root: (),
    state_root: (),
    timestamp_ms: (),
    proposer: (),
});

impl BlockHeader {
    pub fn hash(&self) -> [u8; 32] {
        derive("medchain 2026 block header v1", &[&self.encode()])
    }
}

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
