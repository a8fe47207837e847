//! Client-side verification of what a node serves: a block is final when its finalization
//! certificate carries valid signatures of a quorum (more than 2/3) of the genesis validators
//! over the block's digest. Auditors and the CLI use this against any node, trusting only the
//! genesis document.

use crate::{block::Block, engine::consensus_namespace};
use commonware_codec::{Decode as _, DecodeExt as _};
use commonware_consensus::simplex::{scheme::ed25519 as ed25519_scheme, types::Finalization};
use commonware_cryptography::{Digestible as _, ed25519, sha256};
use commonware_parallel::Sequential;
use commonware_utils::{TryCollect as _, ordered::Set};
use medchain_types::{Genesis, api::BlockResponse};

/// A block whose finality was checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedBlock {
    pub block: Block,
    pub digest: String,
    pub state_root: String,
    /// Validators whose signatures the certificate carries.
    pub signers: usize,
    pub validators: usize,
}

/// Why a served block is not accepted as final.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("the block bytes do not decode: {0}")]
    MalformedBlock(String),
    #[error("the finalization certificate does not decode: {0}")]
    MalformedCertificate(String),
    #[error("the node sent no finalization certificate for height {0}")]
    MissingCertificate(u64),
    #[error(
        "the certificate is for another block (digest differs): the node served inconsistent data"
    )]
    WrongBlock,
    #[error("the certificate's signatures do not verify against the genesis validators")]
    BadSignatures,
    #[error("the served fields disagree with the block bytes ({0})")]
    Inconsistent(&'static str),
    #[error("the genesis lists a validator twice")]
    DuplicateValidator,
}

/// The genesis validators as consensus orders them.
pub fn validator_set(genesis: &Genesis) -> Result<Set<ed25519::PublicKey>, VerifyError> {
    genesis
        .validators
        .iter()
        .map(|v| v.account.0.clone())
        .try_collect()
        .map_err(|_| VerifyError::DuplicateValidator)
}

/// Checks that `response` is a block finalized by the validators of `genesis`.
pub fn finalized_block(
    genesis: &Genesis,
    response: &BlockResponse,
) -> Result<VerifiedBlock, VerifyError> {
    let validators = validator_set(genesis)?;
    let bytes =
        hex::decode(&response.block).map_err(|e| VerifyError::MalformedBlock(e.to_string()))?;
    let block = Block::decode(commonware_codec::Copying(bytes.as_slice()))
        .map_err(|e| VerifyError::MalformedBlock(e.to_string()))?;
    let digest: sha256::Digest = block.digest();
    if hex::encode(digest) != response.digest || block.height.get() != response.height {
        return Err(VerifyError::Inconsistent("digest or height"));
    }
    if hex::encode(block.state_root) != response.state_root {
        return Err(VerifyError::Inconsistent("state root"));
    }
    let certificate = response
        .finalization
        .as_ref()
        .ok_or(VerifyError::MissingCertificate(response.height))?;
    let certificate =
        hex::decode(certificate).map_err(|e| VerifyError::MalformedCertificate(e.to_string()))?;
    let finalization = Finalization::<ed25519_scheme::Scheme, sha256::Digest>::decode_cfg(
        commonware_codec::Copying(certificate.as_slice()),
        &validators.len(),
    )
    .map_err(|e| VerifyError::MalformedCertificate(e.to_string()))?;
    if finalization.proposal.payload != digest {
        return Err(VerifyError::WrongBlock);
    }
    let verifier = ed25519_scheme::Scheme::verifier(
        &consensus_namespace(&genesis.chain_name),
        validators.clone(),
    );
    if !finalization.verify(&mut rand::rng(), &verifier, &Sequential) {
        return Err(VerifyError::BadSignatures);
    }
    Ok(VerifiedBlock {
        digest: hex::encode(digest),
        state_root: hex::encode(block.state_root),
        signers: finalization.certificate.signers.count(),
        validators: validators.len(),
        block,
    })
}

/// Why a served value is not accepted as the ledger's.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    #[error("the block the proof refers to is not final")]
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

/// Checks that `proven` is the current value of `state_key` in the state committed by the
/// finalized `block` (whose certificate is checked against the genesis validators), and
/// returns the value decoded from the proven bytes (never from the node's JSON).
pub fn proven_value<T>(
    genesis: &Genesis,
    block: &BlockResponse,
    state_key: &[u8],
    proven: &medchain_types::api::Proven<T>,
) -> Result<T, ProofError>
where
    T: commonware_codec::Read<Cfg = ()> + PartialEq,
{
    let verified = finalized_block(genesis, block)?;
    let proof = &proven.proof;
    if proof.state_root != verified.state_root || proof.height != block.height {
        return Err(ProofError::RootMismatch {
            proof: proof.state_root.clone(),
            block: verified.state_root,
            height: block.height,
        });
    }
    if proof.state_key != hex::encode(state_key) {
        return Err(ProofError::WrongKey);
    }
    if !crate::queries::verify_state_proof(proof, &verified.block.state_root) {
        return Err(ProofError::BadProof);
    }
    let bytes = hex::decode(&proof.value).map_err(|e| ProofError::MalformedValue(e.to_string()))?;
    let value = T::decode(commonware_codec::Copying(bytes.as_slice()))
        .map_err(|e| ProofError::MalformedValue(e.to_string()))?;
    if value != proven.value {
        return Err(ProofError::ValueMismatch);
    }
    Ok(value)
}
