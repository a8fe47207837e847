//! The check of a QMDB `current` key-value proof, exactly as commonware-storage 2026.10.0 defines
//! `qmdb::current::unordered::proof::constant::KeyValueProof<mmr::Family, sha256::Digest, N>`
//! and its `verify`, for the one shape the ledger serves: one operation of an MMR operations tree
//! with a fixed bitmap chunk of `STATE_BITMAP_CHUNK_BYTES`. It is written here so that the light
//! client links only commonware's `no_std` `merkle` module (the `current` proof types are behind
//! commonware-storage's `std` feature, which links `commonware-runtime`). It follows, in that
//! version's sources:
//! - `src/qmdb/current/proof/operation.rs`: `Proof` (wire layout `loc || chunk || range_proof`,
//!   the chunk without a length prefix) and `Proof::verify` (the activity bit, then the range);
//! - `src/qmdb/current/proof/mod.rs`: `RangeProof` (wire layout `merkle_proof || pending ||
//!   partial_chunk_digest || ops_root`), `chunk_bits`, `RangeProof::reconstruct_root`;
//! - `src/qmdb/current/grafting.rs`: `graftable_chunks` and `Verifier` (the hasher that folds a
//!   bitmap chunk into the ops-tree node at the grafting height);
//! - `src/qmdb/current/db.rs`: `combine_roots` (the canonical root);
//! - `src/qmdb/mod.rs`: `ROOT_BAGGING` (backward fold);
//! - `src/qmdb/any/operation/{mod.rs,variable.rs}` and `update/unordered.rs`: the leaf, an update
//!   operation `0xD2 || key || value`.
//!
//! What is checked: the operation's bit is set in the served chunk (the value is current, not
//! overwritten or deleted); the location lies inside the proven tree; the proof's pending and
//! partial-chunk slots are present exactly when the proven tree's size calls for them, and a
//! partial chunk holding the operation matches its digest; the MMR range proof over the grafted
//! tree (commonware's own `merkle::Proof::reconstruct_root`, which refuses missing, extra or
//! misplaced digests) and the canonical root built from it equal the state root. Not covered, as
//! the ledger never serves them: proofs of several operations, runtime-sized chunks, MMB trees.
//! The conformance tests (`tests/current_proof_conformance.rs`) hold this to commonware's
//! verifier on a real database.
use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt as _, Write};
use commonware_cryptography::{Hasher as _, Sha256, sha256};
use commonware_storage::{
    merkle::{
        self, Bagging, Family as _, Graftable, PendingChunk as _, Position,
        hasher::{Hasher as MerkleHasher, Standard},
    },
    mmr,
};
use core::cmp::Ordering;

use super::STATE_BITMAP_CHUNK_BYTES;

/// The operations tree's family: the ledger's state database is an MMR.
type Family = mmr::Family;

/// Bits in one bitmap chunk; one bit per operation.
const CHUNK_BITS: u64 = STATE_BITMAP_CHUNK_BYTES as u64 * 8;
// `chunk_bits` in commonware: a power of two whose grafting height stays below 63.
const _: () = assert!(CHUNK_BITS.is_power_of_two() && CHUNK_BITS.trailing_zeros() < 63);
/// Height in the ops tree at which a chunk is grafted: one grafted leaf per `CHUNK_BITS` leaves.
const GRAFTING_HEIGHT: u32 = CHUNK_BITS.trailing_zeros();

/// QMDB's bagging of peaks into operation roots (`qmdb::ROOT_BAGGING`).
const ROOT_BAGGING: Bagging = Bagging::BackwardFold;

/// The context byte of an update operation (`qmdb::any::operation::UPDATE_CONTEXT`).
const UPDATE_CONTEXT: u8 = 0xD2;

/// The encoding of the update operation that sets `key` to `value`: the element whose leaf a
/// key-value proof authenticates (`value` written with its own codec, as QMDB's variable
/// encoding does).
pub fn update_operation(key: &sha256::Digest, value: &(impl Write + EncodeSize)) -> Vec<u8> {
    let mut element = Vec::with_capacity(1 + key.encode_size() + value.encode_size());
    element.put_u8(UPDATE_CONTEXT);
    key.write(&mut element);
    value.write(&mut element);
    element
}

/// A proof that one operation is active in a `current` database with a given root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyValueProof {
    /// The operation's location in the log.
    pub location: mmr::Location,
    /// The bitmap chunk holding the operation's activity bit.
    pub chunk: [u8; STATE_BITMAP_CHUNK_BYTES],
    /// The range proof authenticating the operation and its chunk.
    pub range: RangeProof,
}

/// The range proof inside a key-value proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeProof {
    /// The MMR proof over the grafted tree (its `leaves` is the ops tree's size).
    pub merkle: merkle::Proof<Family, sha256::Digest>,
    /// The digest of a complete chunk not yet grafted: an MMR never has one, and its slot
    /// encodes to nothing.
    pub pending_chunk_digest: <Family as Graftable>::PendingChunk<sha256::Digest>,
    /// The digest of the trailing partial chunk, when the tree's size is not chunk-aligned.
    pub partial_chunk_digest: Option<sha256::Digest>,
    /// The root of the operations tree.
    pub ops_root: sha256::Digest,
}

/// Why a key-value proof does not show the operation current under the root.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CurrentProofError {
    #[error("the operation's activity bit is clear: the value was overwritten or deleted")]
    Inactive,
    #[error("location {location} is outside the proven tree of {leaves} operations")]
    OutOfRange { location: u64, leaves: u64 },
    #[error("the proof's pending-chunk slot does not match the proven tree's size")]
    PendingChunk,
    #[error("the proof's partial-chunk digest is missing or unexpected for the tree's size")]
    PartialChunkSlot,
    #[error("the served bitmap chunk does not match the proof's partial-chunk digest")]
    PartialChunkMismatch,
    #[error("the Merkle range proof is malformed: {0}")]
    Malformed(String),
    #[error("the proof reconstructs another root than the state root")]
    RootMismatch,
}

impl KeyValueProof {
    /// Checks that `element` (an encoded operation, see `update_operation`) is active at
    /// `self.location` in the database whose canonical root is `root`.
    pub fn verify(&self, element: &[u8], root: &sha256::Digest) -> Result<(), CurrentProofError> {
        let location = *self.location;
        let bit = location % CHUNK_BITS;
        if self.chunk[(bit / 8) as usize] & (1 << (bit % 8)) == 0 {
            return Err(CurrentProofError::Inactive);
        }
        let range = &self.range;
        let leaves = *range.merkle.leaves;
        let out_of_range = CurrentProofError::OutOfRange { location, leaves };
        let end = location.checked_add(1).ok_or(out_of_range.clone())?;
        if end > leaves {
            return Err(out_of_range);
        }
        // One operation: its chunk is both the first and the last of the range.
        let chunk_index = location / CHUNK_BITS;
        let complete_chunks = leaves / CHUNK_BITS;
        let next_bit = leaves % CHUNK_BITS;

        let graftable_chunks = graftable_chunks(leaves).min(complete_chunks);
        let pending_chunks = complete_chunks - graftable_chunks;
        if pending_chunks > 1 {
            return Err(CurrentProofError::PendingChunk);
        }
        let pending = range.pending_chunk_digest.as_ref();
        if pending.is_some() != (pending_chunks == 1) {
            return Err(CurrentProofError::PendingChunk);
        }
        let chunk_digest = Sha256::hash(&[&self.chunk]);
        if let Some(digest) = pending
            && graftable_chunks == chunk_index
            && *digest != chunk_digest
        {
            return Err(CurrentProofError::PendingChunk);
        }
        let partial = match (next_bit != 0, range.partial_chunk_digest.as_ref()) {
            (true, Some(digest)) => {
                if chunk_index == complete_chunks && *digest != chunk_digest {
                    return Err(CurrentProofError::PartialChunkMismatch);
                }
                Some((next_bit, digest))
            }
            (false, None) => None,
            _ => return Err(CurrentProofError::PartialChunkSlot),
        };

        let grafted = GraftingVerifier {
            standard: Standard::new(ROOT_BAGGING),
            chunk: &self.chunk,
            chunk_index,
            graftable_chunks,
        };
        let grafted_root = range
            .merkle
            .reconstruct_root(&grafted, &[element], self.location)
            .map_err(|e| CurrentProofError::Malformed(e.to_string()))?;
        if combine_roots(&range.ops_root, &grafted_root, pending, partial) != *root {
            return Err(CurrentProofError::RootMismatch);
        }
        Ok(())
    }
}

/// The number of complete chunks whose height-`GRAFTING_HEIGHT` ancestor exists in an ops tree
/// of `ops_leaves` leaves (`grafting::graftable_chunks`; for an MMR, every complete chunk).
fn graftable_chunks(ops_leaves: u64) -> u64 {
    let position = Family::subtree_root_position(mmr::Location::new(0), GRAFTING_HEIGHT);
    let birth_chunk_0 = Family::peak_birth_size(position, GRAFTING_HEIGHT);
    if ops_leaves < birth_chunk_0 {
        return 0;
    }
    (ops_leaves - birth_chunk_0) / CHUNK_BITS + 1
}

/// The canonical `current` root: `hash(ops_root || grafted_root [|| pending] [|| next_bit_be ||
/// partial])` (`db::combine_roots`).
fn combine_roots(
    ops_root: &sha256::Digest,
    grafted_root: &sha256::Digest,
    pending: Option<&sha256::Digest>,
    partial: Option<(u64, &sha256::Digest)>,
) -> sha256::Digest {
    let next_bit = partial.map(|(next_bit, _)| next_bit.to_be_bytes());
    let mut parts: Vec<&[u8]> = vec![ops_root.as_ref(), grafted_root.as_ref()];
    if let Some(pending) = pending {
        parts.push(pending.as_ref());
    }
    if let (Some(next_bit), Some((_, digest))) = (&next_bit, partial) {
        parts.push(next_bit);
        parts.push(digest.as_ref());
    }
    Sha256::hash(&parts)
}

/// The hasher of the grafted tree's proof (`grafting::Verifier` with one chunk): standard MMR
/// hashing with ops-tree positions, except at the grafting height, where the ops subtree root
/// is combined with its bitmap chunk (`hash(chunk || subtree_root)`). Chunks other than the one
/// served, and chunks not yet grafted, keep the subtree root; the proof's digests already stand
/// for them above the grafting height.
#[derive(Clone)]
struct GraftingVerifier<'a> {
    standard: Standard<Sha256>,
    chunk: &'a [u8; STATE_BITMAP_CHUNK_BYTES],
    chunk_index: u64,
    graftable_chunks: u64,
}

impl MerkleHasher<Family> for GraftingVerifier<'_> {
    type Digest = sha256::Digest;

    fn hash(&self, parts: &[&[u8]]) -> sha256::Digest {
        self.standard.hash(parts)
    }

    fn root_bagging(&self) -> Bagging {
        ROOT_BAGGING
    }

    fn node_digest(
        &self,
        position: Position<Family>,
        left: &sha256::Digest,
        right: &sha256::Digest,
    ) -> sha256::Digest {
        let digest = MerkleHasher::<Family>::node_digest(&self.standard, position, left, right);
        if Family::pos_to_height(position).cmp(&GRAFTING_HEIGHT) != Ordering::Equal {
            return digest;
        }
        let chunk_index = *Family::leftmost_leaf(position, GRAFTING_HEIGHT) >> GRAFTING_HEIGHT;
        // commonware also keeps the subtree root for an all-zero chunk; the served chunk never
        // is one, as `verify` first checks that it has the operation's bit set.
        if chunk_index >= self.graftable_chunks || chunk_index != self.chunk_index {
            return digest;
        }
        self.hash(&[self.chunk, digest.as_ref()])
    }

    fn node_digest_pair(
        &self,
        nodes: [(Position<Family>, &sha256::Digest, &sha256::Digest); 2],
    ) -> (sha256::Digest, sha256::Digest) {
        let [(left_pos, left_l, left_r), (right_pos, right_l, right_r)] = nodes;
        (
            self.node_digest(left_pos, left_l, left_r),
            self.node_digest(right_pos, right_l, right_r),
        )
    }
}

impl Write for RangeProof {
    fn write(&self, buf: &mut impl BufMut) {
        self.merkle.write(buf);
        self.pending_chunk_digest.write(buf);
        self.partial_chunk_digest.write(buf);
        self.ops_root.write(buf);
    }
}

impl EncodeSize for RangeProof {
    fn encode_size(&self) -> usize {
        self.merkle.encode_size()
            + self.pending_chunk_digest.encode_size()
            + self.partial_chunk_digest.encode_size()
            + self.ops_root.encode_size()
    }
}

impl Read for RangeProof {
    /// The most digests the MMR proof may carry.
    type Cfg = usize;

    fn read_cfg(buf: &mut impl Buf, digests_max: &usize) -> Result<Self, CodecError> {
        Ok(Self {
            merkle: merkle::Proof::read_cfg(buf, digests_max)?,
            pending_chunk_digest: <Family as Graftable>::PendingChunk::<sha256::Digest>::read(buf)?,
            partial_chunk_digest: Option::<sha256::Digest>::read(buf)?,
            ops_root: sha256::Digest::read(buf)?,
        })
    }
}

impl Write for KeyValueProof {
    fn write(&self, buf: &mut impl BufMut) {
        self.location.write(buf);
        buf.put_slice(&self.chunk);
        self.range.write(buf);
    }
}

impl EncodeSize for KeyValueProof {
    fn encode_size(&self) -> usize {
        self.location.encode_size() + self.chunk.len() + self.range.encode_size()
    }
}

impl Read for KeyValueProof {
    /// The most digests the MMR proof may carry.
    type Cfg = usize;

    fn read_cfg(buf: &mut impl Buf, digests_max: &usize) -> Result<Self, CodecError> {
        Ok(Self {
            location: mmr::Location::read(buf)?,
            chunk: <[u8; STATE_BITMAP_CHUNK_BYTES]>::read(buf)?,
            range: RangeProof::read_cfg(buf, digests_max)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proof::{PROOF_BYTES_MAX, PROOF_DIGESTS_MAX};
    use commonware_codec::{Decode as _, Encode as _};

    /// The largest proof the decoder accepts: every varint at its longest, every digest slot full.
    fn largest(digests: usize) -> KeyValueProof {
        let max_leaves = <Family as merkle::Family>::MAX_LEAVES;
        KeyValueProof {
            location: mmr::Location::new(*max_leaves - 1),
            chunk: [0xFF; STATE_BITMAP_CHUNK_BYTES],
            range: RangeProof {
                merkle: merkle::Proof {
                    leaves: max_leaves,
                    inactive_peaks: usize::MAX,
                    digests: vec![Sha256::hash(&[b"digest"]); digests],
                },
                pending_chunk_digest: merkle::Unused,
                partial_chunk_digest: Some(Sha256::hash(&[b"partial"])),
                ops_root: Sha256::hash(&[b"ops"]),
            },
        }
    }

    fn decode(bytes: &[u8]) -> Result<KeyValueProof, CodecError> {
        KeyValueProof::decode_cfg(commonware_codec::Copying(bytes), &PROOF_DIGESTS_MAX)
    }

    #[test]
    fn a_proof_of_the_most_digests_fits_the_byte_bound_and_one_more_digest_is_refused() {
        let at_limit = largest(PROOF_DIGESTS_MAX).encode();
        assert!(
            at_limit.len() <= PROOF_BYTES_MAX,
            "{} bytes",
            at_limit.len()
        );
        assert_eq!(decode(&at_limit).unwrap(), largest(PROOF_DIGESTS_MAX));
        let past_limit = largest(PROOF_DIGESTS_MAX + 1).encode();
        assert!(decode(&past_limit).is_err());
    }

    #[test]
    fn a_location_past_the_largest_tree_is_refused_at_decoding() {
        let mut bytes = Vec::new();
        let past = *<Family as merkle::Family>::MAX_LEAVES + 1;
        mmr::Location::new(past).write(&mut bytes);
        let genuine = largest(1).encode();
        let location_len = largest(1).location.encode_size();
        bytes.extend_from_slice(&genuine[location_len..]);
        assert!(decode(&bytes).is_err());
    }

    #[test]
    fn a_proof_for_an_inactive_bit_is_refused_before_any_hashing() {
        let mut proof = largest(3);
        proof.location = mmr::Location::new(5);
        proof.chunk = [0xFF; STATE_BITMAP_CHUNK_BYTES];
        proof.chunk[0] &= !(1 << 5);
        let root = Sha256::hash(&[b"root"]);
        assert_eq!(proof.verify(b"op", &root), Err(CurrentProofError::Inactive));
    }

    #[test]
    fn a_location_at_or_past_the_proven_size_is_out_of_range() {
        let mut proof = largest(3);
        proof.range.merkle.leaves = mmr::Location::new(10);
        let root = Sha256::hash(&[b"root"]);
        for location in [10, 11, u64::MAX] {
            proof.location = mmr::Location::new(location);
            assert_eq!(
                proof.verify(b"op", &root),
                Err(CurrentProofError::OutOfRange {
                    location,
                    leaves: 10
                })
            );
        }
    }

    #[test]
    fn the_partial_chunk_slot_must_match_the_tree_size() {
        let root = Sha256::hash(&[b"root"]);
        // 512 operations: two complete chunks, no partial one.
        let mut aligned = largest(3);
        aligned.location = mmr::Location::new(3);
        aligned.range.merkle.leaves = mmr::Location::new(512);
        assert_eq!(
            aligned.verify(b"op", &root),
            Err(CurrentProofError::PartialChunkSlot)
        );
        // 300 operations: the operation sits in the partial chunk, whose digest must match it.
        let mut partial = largest(3);
        partial.location = mmr::Location::new(260);
        partial.range.merkle.leaves = mmr::Location::new(300);
        assert_eq!(
            partial.verify(b"op", &root),
            Err(CurrentProofError::PartialChunkMismatch)
        );
        partial.range.partial_chunk_digest = None;
        assert_eq!(
            partial.verify(b"op", &root),
            Err(CurrentProofError::PartialChunkSlot)
        );
    }

    #[test]
    fn the_canonical_root_hashes_the_slots_in_commonwares_order() {
        // `combine_roots_format_golden` in commonware-storage's `qmdb/current/db.rs`.
        let ops = Sha256::hash(&[b"ops"]);
        let grafted = Sha256::hash(&[b"grafted"]);
        let partial = Sha256::hash(&[b"partial"]);
        let next_bit: u64 = 0x1122_3344_5566_7788;
        assert_eq!(
            combine_roots(&ops, &grafted, None, None),
            Sha256::hash(&[ops.as_ref(), grafted.as_ref()])
        );
        assert_eq!(
            combine_roots(&ops, &grafted, None, Some((next_bit, &partial))),
            Sha256::hash(&[
                ops.as_ref(),
                grafted.as_ref(),
                next_bit.to_be_bytes().as_slice(),
                partial.as_ref(),
            ])
        );
    }
}
