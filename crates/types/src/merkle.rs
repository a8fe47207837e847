//! Binary Merkle root with BLAKE3, leaves and inner nodes hashed under
//! different derive-key contexts (no second-preimage via leaf/node confusion).
//! An odd node is promoted unchanged rather than duplicated, so no two leaf
//! lists share a root (the duplicate-last-leaf flaw of Bitcoin's tree).

/// Hash contexts of one tree kind.
#[derive(Clone, Copy, Debug)]
pub struct MerkleDomain {
    pub leaf: &'static str,
    pub node: &'static str,
    pub empty: &'static str,
}

/// Root over leaf payloads, in the given order.
pub fn merkle_root<L: AsRef<[u8]>>(domain: MerkleDomain, leaves: &[L]) -> [u8; 32] {
    if leaves.is_empty() {
        return *blake3::Hasher::new_derive_key(domain.empty)
            .finalize()
            .as_bytes();
    }
    let mut level: Vec<[u8; 32]> = leaves
        .iter()
        .map(|leaf| {
            *blake3::Hasher::new_derive_key(domain.leaf)
                .update(leaf.as_ref())
                .finalize()
                .as_bytes()
        })
        .collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [left, right] => {
                    let mut hasher = blake3::Hasher::new_derive_key(domain.node);
                    hasher.update(left).update(right);
                    *hasher.finalize().as_bytes()
                }
                [single] => *single,
                _ => unreachable!("chunks(2) yields one or two items"),
            })
            .collect();
    }
    level[0]
}
