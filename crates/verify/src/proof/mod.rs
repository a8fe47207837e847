//! State proofs: a served value is the ledger's when a QMDB `current` key-value proof ties it to
//! the state root of a block whose finality was checked (`finality`). The state database stores
//! each state-machine key under its SHA-256 and each value as its length-prefixed canonical
//! encoding (`StateValue`); both are defined here so the node that writes and the client that
//! checks cannot disagree. The proof itself is checked by `current`.
pub mod current;

use bytes::BufMut;

use crate::finality::{VerifyError, finalized_block};
use commonware_codec::{
    Buf, Encode as _, EncodeSize, Error as CodecError, FixedSize as _, RangeCfg, Read, Write,
};
use commonware_cryptography::{Hasher, Sha256, sha256};
use medchain_types::{
    Genesis,
    api::{BlockResponse, Proven, StateProof},
};

/// Largest value the state machine stores under one key (a consent with its sealed
/// re-encryption fragments is the largest).
pub const STATE_VALUE_MAX_BYTES: usize = 256 * 1024;
/// Bitmap chunk of the `current` database: one SHA-256 digest, the smallest proofs.
pub const STATE_BITMAP_CHUNK_BYTES: usize = 32;
/// Most digests a served proof may carry (a tree of 2^64 operations needs fewer).
pub const PROOF_DIGESTS_MAX: usize = 256;
/// Longest encoding of a served proof: a location, a chunk, an MMR proof of `PROOF_DIGESTS_MAX`
/// digests (its size, inactive-peak count and digest count as varints), the partial-chunk
/// option and the ops root.
pub const PROOF_BYTES_MAX: usize = VARINT_BYTES_MAX
    + STATE_BITMAP_CHUNK_BYTES
    + 3 * VARINT_BYTES_MAX
    + PROOF_DIGESTS_MAX * sha256::Digest::SIZE
    + 1
    + 2 * sha256::Digest::SIZE;
/// Longest varint encoding of a `u64`.
const VARINT_BYTES_MAX: usize = 10;

/// A state value: the canonical encoding of a state-machine entry, at most
/// `STATE_VALUE_MAX_BYTES` long. Its own type so its decoder carries the bound (the state-sync
/// protocol needs values whose codec takes no configuration).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateValue(pub Vec<u8>);

impl Write for StateValue {
    fn write(&self, buf: &mut impl BufMut) {
        self.0.write(buf);
    }
}

impl EncodeSize for StateValue {
    fn encode_size(&self) -> usize {
        self.0.encode_size()
    }
}

impl Read for StateValue {
    type Cfg = ();

    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let range: RangeCfg<usize> = (0..=STATE_VALUE_MAX_BYTES).into();
        Ok(Self(Vec::<u8>::read_cfg(buf, &(range, ()))?))
    }
}

/// The QMDB key under which a state-machine key is stored.
pub fn state_key_digest(key: &[u8]) -> sha256::Digest {
    Sha256::hash(&[key])
}

/// The QMDB proof of one current value, as the node encodes it (commonware's
/// `current::unordered::proof::constant::KeyValueProof<mmr::Family, sha256::Digest, 32>`).
pub type StateKeyValueProof = current::KeyValueProof;

/// Checks a served proof against a state root (from a block whose finality was verified).
/// Refuses (never panics on) undecodable hex, a proof or value longer than its bound, more
/// than `PROOF_DIGESTS_MAX` digests, trailing or non-canonical bytes, and any proof that does
/// not show the value current under the root.
pub fn verify_state_proof(proof: &StateProof, state_root: &sha256::Digest) -> bool {
    if proof.proof.len() > 2 * PROOF_BYTES_MAX || proof.value.len() > 2 * STATE_VALUE_MAX_BYTES {
        return false;
    }
    let (Ok(key), Ok(value), Ok(bytes)) = (
        hex::decode(&proof.state_key),
        hex::decode(&proof.value),
        hex::decode(&proof.proof),
    ) else {
        return false;
    };
    let Ok(kv_proof) = <StateKeyValueProof as commonware_codec::Decode>::decode_cfg(
        commonware_codec::Copying(bytes.as_slice()),
        &PROOF_DIGESTS_MAX,
    ) else {
        return false;
    };
    // One proof, one encoding: a decoder that let two byte strings stand for one proof would
    // let a node vary what it serves without the client noticing.
    if kv_proof.encode().as_ref() != bytes.as_slice() {
        return false;
    }
    let element = current::update_operation(&state_key_digest(&key), &StateValue(value));
    kv_proof.verify(&element, state_root).is_ok()
}

/// Why a served value is not accepted as the ledger's.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    #[error("the block the proof refers to is not final: {0}")]
    Block(#[from] VerifyError),
    #[error("the proof is for state root {proof} but finalized block {height} has {block}")]
    RootMismatch {
        proof: String,
        block: String,
        height: u64,
    },
    #[error("the proof is for another state key than the one asked for")]
    WrongKey,
    #[error("the Merkle proof does not verify against the block's state root")]
    BadProof,
    #[error("the served value does not decode: {0}")]
    MalformedValue(String),
    #[error("the served JSON differs from the proven bytes: the node misreported the value")]
    ValueMismatch,
}

/// A value checked against a finalized block: what a decision may rest on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified<T> {
    pub value: T,
    /// The finalized block whose state holds the value.
    pub height: u64,
    /// That block's time (milliseconds since the Unix epoch), for freshness.
    pub block_time_ms: u64,
}

/// Checks that `proven` is the current value of `state_key` in the state committed by the
/// finalized `block` (whose certificate is checked against the genesis validators), and
/// returns the value decoded from the proven bytes (never from the node's JSON).
pub fn proven_value<T>(
    genesis: &Genesis,
    block: &BlockResponse,
    state_key: &[u8],
    proven: &Proven<T>,
) -> Result<Verified<T>, ProofError>
where
    T: Read<Cfg = ()> + PartialEq,
{
    let verified = finalized_block(genesis, block)?;
    let proof = &proven.proof;
    if proof.state_root != verified.state_root || proof.height != verified.block.height {
        return Err(ProofError::RootMismatch {
            proof: proof.state_root.clone(),
            block: verified.state_root,
            height: verified.block.height,
        });
    }
    if proof.state_key != hex::encode(state_key) {
        return Err(ProofError::WrongKey);
    }
    if !verify_state_proof(proof, &verified.block.state_root) {
        return Err(ProofError::BadProof);
    }
    let value = decode_proven(proof)?;
    if value != proven.value {
        return Err(ProofError::ValueMismatch);
    }
    Ok(Verified {
        value,
        height: verified.block.height,
        block_time_ms: verified.block.timestamp_ms,
    })
}

/// Checks `proof` for `state_key` against a block already verified final, and decodes the
/// proven bytes: for reads that bring several proofs at one height.
pub fn proven_at<T: Read<Cfg = ()>>(
    block: &crate::finality::VerifiedBlock,
    state_key: &[u8],
    proof: &StateProof,
) -> Result<T, ProofError> {
    if proof.state_root != block.state_root || proof.height != block.block.height {
        return Err(ProofError::RootMismatch {
            proof: proof.state_root.clone(),
            block: block.state_root.clone(),
            height: block.block.height,
        });
    }
    if proof.state_key != hex::encode(state_key) {
        return Err(ProofError::WrongKey);
    }
    if !verify_state_proof(proof, &block.block.state_root) {
        return Err(ProofError::BadProof);
    }
    decode_proven(proof)
}

fn decode_proven<T: Read<Cfg = ()>>(proof: &StateProof) -> Result<T, ProofError> {
    let bytes = hex::decode(&proof.value).map_err(|e| ProofError::MalformedValue(e.to_string()))?;
    <T as commonware_codec::DecodeExt<()>>::decode(commonware_codec::Copying(bytes.as_slice()))
        .map_err(|e| ProofError::MalformedValue(e.to_string()))
}
