//! Whether a served block is final: its finalization certificate carries valid signatures of a
//! quorum (more than 2/3) of its epoch's validators over the block's digest. The genesis names
//! the first epoch's validators; each later change comes as a hand-off, the last block of an
//! epoch listing the next validators and finalized by the outgoing ones.
//!
//! A node could leave out the latest hand-offs; the block would then have to be signed by a
//! quorum of validators the consortium already removed, which the genesis trust model (like any
//! light client's) cannot rule out without asking several nodes.

use crate::{
    block::{Block, RosterEntry},
    certificate::{Finalization, consensus_namespace},
};
use commonware_cryptography::{Digestible as _, ed25519, sha256};
use commonware_utils::{TryCollect as _, ordered::Set};
use medchain_types::{
    Genesis,
    api::{BlockResponse, ValidatorHandoff},
    limits,
};

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
    #[error(
        "the certificate's signatures do not verify against its epoch's validators as learned from your genesis: the block is from another chain, or the node left out the validator hand-offs that lead to its epoch; try another node"
    )]
    BadSignatures,
    #[error("the served fields disagree with the block bytes ({0})")]
    Inconsistent(&'static str),
    #[error("the genesis lists a validator twice")]
    DuplicateValidator,
    #[error("validator hand-off at height {height} is not acceptable: {reason}")]
    BadHandoff { height: u64, reason: String },
}

/// Why a roster cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RosterError {
    #[error("an epoch's roster is empty")]
    Empty,
    #[error("an epoch's roster lists a validator twice")]
    Duplicate,
}

/// The validator set consensus indexes signers by, for a roster: distinct keys, at least one.
pub fn roster_validators(roster: &[RosterEntry]) -> Result<Set<ed25519::PublicKey>, RosterError> {
    let validators: Set<ed25519::PublicKey> = roster
        .iter()
        .map(|entry| entry.validator.clone())
        .try_collect()
        .map_err(|_| RosterError::Duplicate)?;
    if validators.is_empty() {
        return Err(RosterError::Empty);
    }
    Ok(validators)
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

/// Epochs of a fixed length, as the node's `FixedEpocher` cuts them: epoch e holds the
/// heights e·L ..= e·L + L - 1.
#[derive(Clone, Copy, Debug)]
pub struct Epochs {
    length_blocks: u64,
}

impl Epochs {
    pub fn new(length_blocks: u64) -> Option<Self> {
        (length_blocks > 0).then_some(Self { length_blocks })
    }

    pub fn of_genesis(genesis: &Genesis) -> Result<Self, VerifyError> {
        Self::new(genesis.epoch_length_blocks).ok_or(VerifyError::Inconsistent(
            "the genesis epoch length is zero",
        ))
    }

    /// The epoch the block at `height` belongs to.
    pub fn epoch_of(&self, height: u64) -> u64 {
        height / self.length_blocks
    }

    /// The last height of `epoch`, if it fits in a u64.
    pub fn last(&self, epoch: u64) -> Option<u64> {
        epoch
            .checked_add(1)?
            .checked_mul(self.length_blocks)?
            .checked_sub(1)
    }

    /// Whether `height` is the last block of its epoch (and so carries the next roster).
    pub fn is_boundary(&self, height: u64) -> bool {
        self.last(self.epoch_of(height)) == Some(height)
    }
}

fn decode_block(hex_bytes: &str) -> Result<Block, VerifyError> {
    Block::from_hex(hex_bytes).map_err(VerifyError::MalformedBlock)
}

fn decode_finalization(hex_bytes: &str, signers_max: usize) -> Result<Finalization, VerifyError> {
    Finalization::from_hex(hex_bytes, signers_max).map_err(VerifyError::MalformedCertificate)
}

/// Whether `finalization` certifies `digest` with a quorum of `validators`.
fn certifies(
    genesis: &Genesis,
    validators: &Set<ed25519::PublicKey>,
    finalization: &Finalization,
    digest: sha256::Digest,
) -> Result<(), VerifyError> {
    if finalization.proposal.payload != digest {
        return Err(VerifyError::WrongBlock);
    }
    if !finalization.verify(&consensus_namespace(&genesis.chain_name), validators) {
        return Err(VerifyError::BadSignatures);
    }
    Ok(())
}

/// The validators that sign in `epoch`: the genesis set, changed by each hand-off in turn.
fn validators_of(
    genesis: &Genesis,
    epoch: u64,
    handoffs: &[ValidatorHandoff],
) -> Result<Set<ed25519::PublicKey>, VerifyError> {
    let epochs = Epochs::of_genesis(genesis)?;
    let mut validators = validator_set(genesis)?;
    let mut previous_height = 0;
    for handoff in handoffs {
        let bad = |reason: &str| VerifyError::BadHandoff {
            height: handoff.height,
            reason: reason.to_string(),
        };
        let block = decode_block(&handoff.block)?;
        let height = block.height;
        let ended = epochs.epoch_of(height);
        if height != handoff.height || height <= previous_height {
            return Err(bad("heights are not the served ones in increasing order"));
        }
        if !epochs.is_boundary(height) {
            return Err(bad("the block is not the last of its epoch"));
        }
        if ended >= epoch {
            return Err(bad("the hand-off is not before the block's epoch"));
        }
        let finalization = decode_finalization(&handoff.finalization, validators.len())?;
        certifies(genesis, &validators, &finalization, block.digest())?;
        validators = roster_validators(&block.next_roster).map_err(|e| bad(&e.to_string()))?;
        previous_height = height;
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
    if hex::encode(digest) != response.digest || block.height != response.height {
        return Err(VerifyError::Inconsistent("digest or height"));
    }
    if hex::encode(block.state_root) != response.state_root
        || block.timestamp_ms != response.timestamp_ms
    {
        return Err(VerifyError::Inconsistent("state root or timestamp"));
    }
    let certificate = response
        .finalization
        .as_ref()
        .ok_or(VerifyError::MissingCertificate(response.height))?;
    let finalization = decode_finalization(certificate, limits::VALIDATORS_MAX)?;
    let validators = validators_of(
        genesis,
        finalization.proposal.round.epoch,
        &response.validator_handoffs,
    )?;
    certifies(genesis, &validators, &finalization, digest)?;
    Ok(VerifiedBlock {
        digest: hex::encode(digest),
        state_root: hex::encode(block.state_root),
        signers: finalization.signers(),
        validators: validators.len(),
        block,
    })
}

/// Test fixtures: a genesis of seeded validators and blocks finalized by chosen signers, built
/// with the engine-independent certificate code (the conformance tests in `certificate` tie it
/// to the engine). Public so the client's and the CLI's lying-node tests can build chains.
pub mod fixtures {
    use super::*;
    use crate::block::Round;
    use commonware_codec::Encode as _;
    use commonware_cryptography::{Digest as _, Signer as _, certificate::Scheme as _};
    use commonware_parallel::Sequential;
    use commonware_storage::mmr::Location;
    use commonware_utils::{iter::NonEmpty, non_empty_range};
    use medchain_types::{AccountId, GenesisInstitution, GenesisValidator, InstitutionId};

    pub fn key(seed: u64) -> ed25519::PrivateKey {
        ed25519::PrivateKey::from_seed(seed)
    }

    /// A genesis whose validators are the keys seeded `0..validators`.
    pub fn genesis(chain_name: &str, validators: u64, epoch_length_blocks: u64) -> Genesis {
        let hospital = InstitutionId::new("st-mary").expect("a valid slug");
        Genesis {
            chain_name: chain_name.into(),
            genesis_time_ms: 0,
            institutions: vec![GenesisInstitution {
                id: hospital.clone(),
                kind: medchain_types::InstitutionKind::Hospital,
                admin: AccountId(key(100).public_key()),
                // The light client trusts the genesis it is given; the state machine checks
                // these proofs when a chain starts from it.
                admin_proof: [0; 64],
            }],
            validators: (0..validators)
                .map(|seed| GenesisValidator {
                    account: AccountId(key(seed).public_key()),
                    institution: hospital.clone(),
                    p2p_address: format!("127.0.0.1:{}", 7000 + seed),
                    http_address: format!("127.0.0.1:{}", 8000 + seed),
                    encryption_key: [9; 32],
                    proofs: medchain_types::ValidatorKeyProofs {
                        account: [0; 64],
                        encryption_key: [0; 64],
                    },
                })
                .collect(),
            observers: vec![],
            members: vec![],
            epoch_length_blocks,
        }
    }

    pub fn set(seeds: &[u64]) -> Set<ed25519::PublicKey> {
        seeds
            .iter()
            .map(|s| key(*s).public_key())
            .try_collect()
            .expect("distinct seeds")
    }

    /// A block at `height` in `epoch`, view `view`, listing `next` as the next roster.
    pub fn block(height: u64, epoch: u64, view: u64, next: &[u64]) -> Block {
        let mut block = Block::genesis(
            0,
            sha256::Digest::EMPTY,
            sha256::Digest::EMPTY,
            non_empty_range!(Location::new(0), Location::new(1)),
            key(0).public_key(),
        );
        block.height = height;
        block.context.round = Round { epoch, view };
        block.context.parent_view = view.saturating_sub(1);
        block.next_roster = next
            .iter()
            .map(|seed| RosterEntry {
                validator: key(*seed).public_key(),
                p2p_address: format!("127.0.0.1:{}", 7000 + seed),
            })
            .collect();
        block
    }

    /// The finalization of `block` on chain `chain_name` by `signers`, members of
    /// `validators` (hex, as the API serves it).
    pub fn finalize(
        chain_name: &str,
        block: &Block,
        validators: &[u64],
        signers: &[u64],
    ) -> String {
        use crate::certificate::{FinalizeScheme, FinalizeSubject, Proposal};
        let namespace = consensus_namespace(chain_name);
        let proposal = Proposal {
            round: block.context.round,
            parent_view: block.context.parent_view,
            payload: block.digest(),
        };
        let attestations: Vec<_> = signers
            .iter()
            .map(|seed| {
                let scheme = FinalizeScheme::signer(&namespace, set(validators), key(*seed))
                    .expect("the signer is a validator");
                scheme
                    .sign::<sha256::Digest>(FinalizeSubject {
                        proposal: &proposal,
                    })
                    .expect("a signer signs")
            })
            .collect();
        let scheme = FinalizeScheme::verifier(&namespace, set(validators));
        let certificate = scheme
            .assemble(
                NonEmpty::try_new(attestations.into_iter()).expect("at least one signer"),
                &Sequential,
            )
            .expect("a quorum of signers");
        hex::encode(
            Finalization {
                proposal,
                certificate,
            }
            .encode(),
        )
    }

    /// What `GET /v1/blocks/{height}` serves for `block`.
    pub fn response(
        block: &Block,
        finalization: Option<String>,
        validator_handoffs: Vec<ValidatorHandoff>,
    ) -> BlockResponse {
        crate::block_response(block, finalization, validator_handoffs)
    }

    pub fn handoff(block: &Block, finalization: String) -> ValidatorHandoff {
        ValidatorHandoff {
            height: block.height,
            block: hex::encode(block.encode()),
            finalization,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    const CHAIN: &str = "handoffs";
    const EPOCH_LENGTH_BLOCKS: u64 = 10;
    const GENESIS_SET: [u64; 4] = [0, 1, 2, 3];
    /// Validator 3 removed, 4 admitted.
    const NEXT_SET: [u64; 4] = [0, 1, 2, 4];

    fn trusted() -> Genesis {
        genesis(CHAIN, 4, EPOCH_LENGTH_BLOCKS)
    }

    /// Block 15 (epoch 1), finalized by the next set, and the hand-off at block 9.
    fn changed_set() -> (Block, String, ValidatorHandoff) {
        let boundary = block(9, 0, 12, &NEXT_SET);
        let handoff = handoff(
            &boundary,
            finalize(CHAIN, &boundary, &GENESIS_SET, &[0, 1, 3]),
        );
        let target = block(15, 1, 3, &[]);
        let finalization = finalize(CHAIN, &target, &NEXT_SET, &[1, 2, 4]);
        (target, finalization, handoff)
    }

    #[test]
    fn a_block_of_a_later_epoch_verifies_through_its_handoff() {
        let (target, finalization, handoff) = changed_set();
        let verified = finalized_block(
            &trusted(),
            &response(&target, Some(finalization), vec![handoff]),
        )
        .unwrap();
        assert_eq!((verified.signers, verified.validators), (3, 4));
    }

    #[test]
    fn a_block_of_a_later_epoch_served_without_its_handoffs_is_refused() {
        let (target, finalization, _) = changed_set();
        let result = finalized_block(&trusted(), &response(&target, Some(finalization), vec![]));
        assert!(
            matches!(result, Err(VerifyError::BadSignatures)),
            "{result:?}"
        );
    }

    #[test]
    fn a_block_of_another_chain_is_refused() {
        let target = block(5, 0, 6, &[]);
        let foreign = finalize("another-chain", &target, &GENESIS_SET, &[0, 1, 2]);
        let result = finalized_block(&trusted(), &response(&target, Some(foreign), vec![]));
        assert!(
            matches!(result, Err(VerifyError::BadSignatures)),
            "{result:?}"
        );
    }

    #[test]
    fn a_block_whose_served_fields_differ_from_its_bytes_is_refused() {
        let target = block(5, 0, 6, &[]);
        let finalization = finalize(CHAIN, &target, &GENESIS_SET, &[0, 1, 2]);
        let mut served = response(&target, Some(finalization), vec![]);
        served.timestamp_ms += 60_000;
        let result = finalized_block(&trusted(), &served);
        assert!(
            matches!(result, Err(VerifyError::Inconsistent(_))),
            "{result:?}"
        );
    }

    #[test]
    fn a_handoff_signed_by_the_incoming_set_is_refused() {
        let (target, finalization, _) = changed_set();
        let boundary = block(9, 0, 12, &NEXT_SET);
        let forged = handoff(&boundary, finalize(CHAIN, &boundary, &NEXT_SET, &[0, 1, 4]));
        let result = finalized_block(
            &trusted(),
            &response(&target, Some(finalization), vec![forged]),
        );
        assert!(
            matches!(result, Err(VerifyError::BadSignatures)),
            "{result:?}"
        );
    }

    #[test]
    fn a_handoff_that_is_not_an_epoch_boundary_is_refused() {
        let (target, finalization, _) = changed_set();
        let inner = block(8, 0, 11, &NEXT_SET);
        let forged = handoff(&inner, finalize(CHAIN, &inner, &GENESIS_SET, &[0, 1, 2]));
        let result = finalized_block(
            &trusted(),
            &response(&target, Some(finalization), vec![forged]),
        );
        assert!(
            matches!(result, Err(VerifyError::BadHandoff { height: 8, .. })),
            "{result:?}"
        );
    }

    #[test]
    fn a_handoff_after_the_blocks_epoch_is_refused() {
        let boundary = block(9, 0, 12, &NEXT_SET);
        let handoff = handoff(
            &boundary,
            finalize(CHAIN, &boundary, &GENESIS_SET, &[0, 1, 2]),
        );
        let target = block(5, 0, 6, &[]);
        let finalization = finalize(CHAIN, &target, &GENESIS_SET, &[0, 1, 2]);
        let result = finalized_block(
            &trusted(),
            &response(&target, Some(finalization), vec![handoff]),
        );
        assert!(
            matches!(result, Err(VerifyError::BadHandoff { height: 9, .. })),
            "{result:?}"
        );
    }

    #[test]
    fn epochs_end_at_the_last_height_of_each_length() {
        let epochs = Epochs::new(10).unwrap();
        assert!(!epochs.is_boundary(0));
        assert!(epochs.is_boundary(9));
        assert!(!epochs.is_boundary(10));
        assert!(epochs.is_boundary(19));
        assert_eq!(epochs.epoch_of(10), 1);
        assert!(Epochs::new(0).is_none());
    }

    #[test]
    fn unusable_rosters_are_refused() {
        assert!(matches!(roster_validators(&[]), Err(RosterError::Empty)));
        let entry = block(9, 0, 1, &[0]).next_roster[0].clone();
        assert!(matches!(
            roster_validators(&[entry.clone(), entry]),
            Err(RosterError::Duplicate)
        ));
    }
}
