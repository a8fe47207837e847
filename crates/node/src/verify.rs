//! Client-side verification of what a node serves: a block is final when its finalization
//! certificate carries valid signatures of a quorum (more than 2/3) of its epoch's validators
//! over the block's digest. The genesis names the first epoch's validators; each later change
//! comes as a hand-off, the last block of an epoch listing the next validators and finalized
//! by the outgoing ones. Auditors and the CLI use this against any node, trusting only the
//! genesis document.
//!
//! A node could leave out the latest hand-offs; the block would then have to be signed by a
//! quorum of validators the consortium already removed, which the genesis trust model (like any
//! light client's) cannot rule out without asking several nodes.

use crate::{block::Block, engine::consensus_namespace, epochs::roster_validators};
use commonware_codec::{Decode as _, DecodeExt as _};
use commonware_consensus::{
    Epochable as _,
    simplex::{scheme::ed25519 as ed25519_scheme, types::Finalization},
    types::{Epoch, Epocher as _, FixedEpocher},
};
use commonware_cryptography::{Digestible as _, ed25519, sha256};
use commonware_parallel::Sequential;
use commonware_utils::{TryCollect as _, ordered::Set};
use medchain_types::{
    Genesis,
    api::{BlockResponse, ValidatorHandoff},
    limits,
};
use std::num::NonZeroU64;

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
    #[error("the certificate's signatures do not verify against its epoch's validators")]
    BadSignatures,
    #[error("the served fields disagree with the block bytes ({0})")]
    Inconsistent(&'static str),
    #[error("the genesis lists a validator twice")]
    DuplicateValidator,
    #[error("validator hand-off at height {height} is not acceptable: {reason}")]
    BadHandoff { height: u64, reason: String },
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

fn decode_block(hex_bytes: &str) -> Result<Block, VerifyError> {
    let bytes = hex::decode(hex_bytes).map_err(|e| VerifyError::MalformedBlock(e.to_string()))?;
    Block::decode(commonware_codec::Copying(bytes.as_slice()))
        .map_err(|e| VerifyError::MalformedBlock(e.to_string()))
}

type BlockFinalization = Finalization<ed25519_scheme::Scheme, sha256::Digest>;

fn decode_finalization(
    hex_bytes: &str,
    signers_max: usize,
) -> Result<BlockFinalization, VerifyError> {
    let bytes =
        hex::decode(hex_bytes).map_err(|e| VerifyError::MalformedCertificate(e.to_string()))?;
    BlockFinalization::decode_cfg(commonware_codec::Copying(bytes.as_slice()), &signers_max)
        .map_err(|e| VerifyError::MalformedCertificate(e.to_string()))
}

/// Whether `finalization` certifies `digest` with a quorum of `validators`.
fn certifies(
    genesis: &Genesis,
    validators: &Set<ed25519::PublicKey>,
    finalization: &BlockFinalization,
    digest: sha256::Digest,
) -> Result<(), VerifyError> {
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
    Ok(())
}

/// The validators that sign in `epoch`: the genesis set, changed by each hand-off in turn.
fn validators_of(
    genesis: &Genesis,
    epoch: Epoch,
    handoffs: &[ValidatorHandoff],
) -> Result<Set<ed25519::PublicKey>, VerifyError> {
    let epocher = FixedEpocher::new(NonZeroU64::new(genesis.epoch_length_blocks).ok_or(
        VerifyError::Inconsistent("the genesis epoch length is zero"),
    )?);
    let mut validators = validator_set(genesis)?;
    let mut previous_height = 0;
    for handoff in handoffs {
        let bad = |reason: &str| VerifyError::BadHandoff {
            height: handoff.height,
            reason: reason.to_string(),
        };
        let block = decode_block(&handoff.block)?;
        let height = block.height;
        let ended = epocher.containing(height).map(|e| e.epoch());
        if height.get() != handoff.height || height.get() <= previous_height {
            return Err(bad("heights are not the served ones in increasing order"));
        }
        if ended.and_then(|e| epocher.last(e)) != Some(height) {
            return Err(bad("the block is not the last of its epoch"));
        }
        if ended.is_none_or(|e| e >= epoch) {
            return Err(bad("the hand-off is not before the block's epoch"));
        }
        let finalization = decode_finalization(&handoff.finalization, validators.len())?;
        certifies(genesis, &validators, &finalization, block.digest())?;
        validators = roster_validators(&block.next_roster).map_err(|e| bad(&e.to_string()))?;
        previous_height = height.get();
    }
    Ok(validators)
}

/// Checks that `response` is a block finalized by the validators of its epoch, as learned from
/// `genesis` and the hand-offs the response carries.
pub fn finalized_block(
    genesis: &Genesis,
    response: &BlockResponse,
) -> Result<VerifiedBlock, VerifyError> {
    let block = decode_block(&response.block)?;
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
    let finalization = decode_finalization(certificate, limits::VALIDATORS_MAX)?;
    let validators = validators_of(genesis, finalization.epoch(), &response.validator_handoffs)?;
    certifies(genesis, &validators, &finalization, digest)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::RosterEntry;
    use commonware_codec::Encode as _;
    use commonware_consensus::{
        simplex::types::{Finalize, Proposal},
        types::{Height, Round, View},
    };
    use commonware_cryptography::{Digest as _, Signer as _};
    use commonware_storage::mmr::Location;
    use commonware_utils::{iter::NonEmpty, non_empty_range};
    use medchain_types::{AccountId, GenesisInstitution, GenesisValidator, InstitutionId};

    const EPOCH_LENGTH_BLOCKS: u64 = 10;

    fn key(seed: u64) -> ed25519::PrivateKey {
        ed25519::PrivateKey::from_seed(seed)
    }

    fn genesis() -> Genesis {
        let hospital = InstitutionId::new("st-mary").unwrap();
        Genesis {
            chain_name: "handoffs".into(),
            genesis_time_ms: 0,
            institutions: vec![GenesisInstitution {
                id: hospital.clone(),
                kind: medchain_types::InstitutionKind::Hospital,
                admin: AccountId(key(100).public_key()),
            }],
            validators: (0..4)
                .map(|seed| GenesisValidator {
                    account: AccountId(key(seed).public_key()),
                    institution: hospital.clone(),
                    p2p_address: format!("127.0.0.1:{}", 7000 + seed),
                    http_address: format!("127.0.0.1:{}", 8000 + seed),
                    encryption_key: [9; 32],
                })
                .collect(),
            observers: vec![],
            members: vec![],
            epoch_length_blocks: EPOCH_LENGTH_BLOCKS,
        }
    }

    fn set(seeds: &[u64]) -> Set<ed25519::PublicKey> {
        seeds
            .iter()
            .map(|s| key(*s).public_key())
            .try_collect()
            .unwrap()
    }

    fn block(height: u64, view: u64, next: &[u64]) -> Block {
        let mut block = Block::genesis(
            0,
            sha256::Digest::EMPTY,
            sha256::Digest::EMPTY,
            non_empty_range!(Location::new(0), Location::new(1)),
            key(0).public_key(),
        );
        block.height = Height::new(height);
        block.context.round = Round::new(Epoch::new(height / EPOCH_LENGTH_BLOCKS), View::new(view));
        block.next_roster = next
            .iter()
            .map(|seed| RosterEntry {
                validator: key(*seed).public_key(),
                p2p_address: format!("127.0.0.1:{}", 7000 + seed),
            })
            .collect();
        block
    }

    /// The finalization of `block` by `signers`, members of `validators` (hex).
    fn finalize(block: &Block, validators: &[u64], signers: &[u64]) -> String {
        let namespace = consensus_namespace("handoffs");
        let proposal = Proposal::new(
            block.context.round,
            View::new(block.context.round.view().get() - 1),
            block.digest(),
        );
        let finalizes: Vec<_> = signers
            .iter()
            .map(|seed| {
                let scheme =
                    ed25519_scheme::Scheme::signer(&namespace, set(validators), key(*seed))
                        .unwrap();
                Finalize::sign(&scheme, proposal.clone()).unwrap()
            })
            .collect();
        let scheme = ed25519_scheme::Scheme::verifier(&namespace, set(validators));
        let finalization = BlockFinalization::from_finalizes(
            &scheme,
            NonEmpty::try_new(finalizes.iter()).unwrap(),
            &Sequential,
        )
        .unwrap();
        hex::encode(finalization.encode())
    }

    fn handoff(block: &Block, finalization: String) -> ValidatorHandoff {
        ValidatorHandoff {
            height: block.height.get(),
            block: hex::encode(block.encode()),
            finalization,
        }
    }

    fn response(
        block: &Block,
        finalization: String,
        handoffs: Vec<ValidatorHandoff>,
    ) -> BlockResponse {
        crate::api::block_response(block, Some(finalization), handoffs)
    }

    const GENESIS_SET: [u64; 4] = [0, 1, 2, 3];
    /// Validator 3 removed, 4 admitted.
    const NEXT_SET: [u64; 4] = [0, 1, 2, 4];

    /// Block 15 (epoch 1), finalized by the next set, and the hand-off at block 9.
    fn changed_set() -> (Block, String, ValidatorHandoff) {
        let boundary = block(9, 12, &NEXT_SET);
        let handoff = handoff(&boundary, finalize(&boundary, &GENESIS_SET, &[0, 1, 3]));
        let target = block(15, 3, &[]);
        let finalization = finalize(&target, &NEXT_SET, &[1, 2, 4]);
        (target, finalization, handoff)
    }

    #[test]
    fn a_block_of_a_later_epoch_verifies_through_its_handoff() {
        let (target, finalization, handoff) = changed_set();
        let verified =
            finalized_block(&genesis(), &response(&target, finalization, vec![handoff])).unwrap();
        assert_eq!((verified.signers, verified.validators), (3, 4));
    }

    #[test]
    fn without_the_handoff_the_new_validators_are_not_trusted() {
        let (target, finalization, _) = changed_set();
        let result = finalized_block(&genesis(), &response(&target, finalization, vec![]));
        assert!(
            matches!(result, Err(VerifyError::BadSignatures)),
            "{result:?}"
        );
    }

    #[test]
    fn a_handoff_signed_by_the_incoming_set_is_refused() {
        let (target, finalization, _) = changed_set();
        let boundary = block(9, 12, &NEXT_SET);
        let forged = handoff(&boundary, finalize(&boundary, &NEXT_SET, &[0, 1, 4]));
        let result = finalized_block(&genesis(), &response(&target, finalization, vec![forged]));
        assert!(
            matches!(result, Err(VerifyError::BadSignatures)),
            "{result:?}"
        );
    }

    #[test]
    fn a_handoff_that_is_not_an_epoch_boundary_is_refused() {
        let (target, finalization, _) = changed_set();
        let inner = block(8, 11, &NEXT_SET);
        let forged = handoff(&inner, finalize(&inner, &GENESIS_SET, &[0, 1, 2]));
        let result = finalized_block(&genesis(), &response(&target, finalization, vec![forged]));
        assert!(
            matches!(result, Err(VerifyError::BadHandoff { height: 8, .. })),
            "{result:?}"
        );
    }

    #[test]
    fn a_handoff_after_the_blocks_epoch_is_refused() {
        let boundary = block(9, 12, &NEXT_SET);
        let handoff = handoff(&boundary, finalize(&boundary, &GENESIS_SET, &[0, 1, 2]));
        let target = block(5, 6, &[]);
        let finalization = finalize(&target, &GENESIS_SET, &[0, 1, 2]);
        let result = finalized_block(&genesis(), &response(&target, finalization, vec![handoff]));
        assert!(
            matches!(result, Err(VerifyError::BadHandoff { height: 9, .. })),
            "{result:?}"
        );
    }
}
