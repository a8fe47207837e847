//! What a transaction asks for: one variant per transaction type, each with
//! exactly one handler in `medchain-state`.

use crate::codec_util::{
    bytes_cfg, opt_str_encode_size, read_opt_str, read_str, str_encode_size, vec_cfg,
    write_opt_str, write_str,
};
use crate::codes::{InstitutionKind, Purpose, RecordCategory, ReviewFinding, Role};
use crate::consent::ConsentPolicy;
use crate::error::ValidationError;
use crate::genesis::parse_validator_address;
use crate::ids::{AccountId, ChainId, ConsentId, InstitutionId, ProposalId, RecordId, StudyId};
use crate::storage::StorageReceipt;
use crate::study::{EncryptedValue, StudyContribution, StudySpec};
use crate::{hexser, impl_struct_codec, limits, phi_guard};
use bytes::{BufMut, Bytes};
use commonware_codec::{Buf, EncodeSize, Error, Read, ReadExt, Write};
use serde::{Deserialize, Serialize};

/// A change to the consortium that needs more than 2/3 of the validators.
#[allow(
    clippy::large_enum_variant,
    reason = "AddValidator carries its two 64-byte proofs inline; proposals are rare and boxing would only add an allocation per decode"
)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum MembershipChange {
    AdmitInstitution {
        id: InstitutionId,
        kind: InstitutionKind,
        admin: AccountId,
        /// The admin key's signature over its possession message (`possession::prove_account`):
        /// the consortium cannot be voted into admitting a key nobody at the institution holds.
        #[serde(with = "hexser::array")]
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
        admin_proof: [u8; 64],
    },
    RemoveInstitution {
        id: InstitutionId,
    },
    AddValidator {
        institution: InstitutionId,
        validator: AccountId,
        /// `ip:port` the other validators dial, written as Rust's `SocketAddr` prints it
        /// (e.g. `10.0.0.5:7100`): a node admitted here is in no genesis file.
        p2p_address: String,
        /// `ip:port` of the node's HTTP API (same rules), where clients reach it.
        http_address: String,
        /// X25519 key that patients seal this validator's re-encryption key fragments to.
        #[serde(with = "hexser::array")]
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
        encryption_key: [u8; 32],
        /// The validator key's signature over its possession message (`possession::prove_account`).
        #[serde(with = "hexser::array")]
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
        validator_proof: [u8; 64],
        /// XEdDSA signature by `encryption_key` over its possession message: nobody can
        /// register a key they do not hold to collect the fragments sealed to it.
        #[serde(with = "hexser::array")]
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
        encryption_key_proof: [u8; 64],
    },
    RemoveValidator {
        validator: AccountId,
    },
    /// Replaces the consortium's own access rules (Cedar policies, see `medchain-policy`) when
    /// the vote passes; the text is validated strictly against schema `schema_version` when
    /// proposed and again when it passes, so a set the ledger cannot evaluate never applies.
    SetConsortiumPolicy {
        schema_version: u32,
        policies: String,
    },
    /// The consortium (as its ethics committee) approves a proposed study: from then on it
    /// takes contributions until its deadline, under the analytics key in force at approval.
    ApproveStudy {
        study: StudyId,
    },
}

impl Write for MembershipChange {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            MembershipChange::AdmitInstitution {
                id,
                kind,
                admin,
                admin_proof,
            } => {
                buf.put_u8(0);
                id.write(buf);
                kind.write(buf);
                admin.write(buf);
                admin_proof.write(buf);
            }
            MembershipChange::RemoveInstitution { id } => {
                buf.put_u8(1);
                id.write(buf);
            }
            MembershipChange::AddValidator {
                institution,
                validator,
                p2p_address,
                http_address,
                encryption_key,
                validator_proof,
                encryption_key_proof,
            } => {
                buf.put_u8(2);
                institution.write(buf);
                validator.write(buf);
                write_str(p2p_address, buf);
                write_str(http_address, buf);
                encryption_key.write(buf);
                validator_proof.write(buf);
                encryption_key_proof.write(buf);
            }
            MembershipChange::RemoveValidator { validator } => {
                buf.put_u8(3);
                validator.write(buf);
            }
            MembershipChange::SetConsortiumPolicy {
                schema_version,
                policies,
            } => {
                buf.put_u8(4);
                schema_version.write(buf);
                write_str(policies, buf);
            }
            MembershipChange::ApproveStudy { study } => {
                buf.put_u8(5);
                study.write(buf);
            }
        }
    }
}

impl EncodeSize for MembershipChange {
    fn encode_size(&self) -> usize {
        1 + match self {
            MembershipChange::AdmitInstitution {
                id,
                kind,
                admin,
                admin_proof,
            } => {
                id.encode_size()
                    + kind.encode_size()
                    + admin.encode_size()
                    + admin_proof.encode_size()
            }
            MembershipChange::RemoveInstitution { id } => id.encode_size(),
            MembershipChange::AddValidator {
                institution,
                validator,
                p2p_address,
                http_address,
                encryption_key,
                validator_proof,
                encryption_key_proof,
            } => {
                institution.encode_size()
                    + validator.encode_size()
                    + str_encode_size(p2p_address)
                    + str_encode_size(http_address)
                    + encryption_key.encode_size()
                    + validator_proof.encode_size()
                    + encryption_key_proof.encode_size()
            }
            MembershipChange::RemoveValidator { validator } => validator.encode_size(),
            MembershipChange::SetConsortiumPolicy {
                schema_version,
                policies,
            } => schema_version.encode_size() + str_encode_size(policies),
            MembershipChange::ApproveStudy { study } => study.encode_size(),
        }
    }
}

impl Read for MembershipChange {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        match u8::read(buf)? {
            0 => Ok(MembershipChange::AdmitInstitution {
                id: InstitutionId::read(buf)?,
                kind: InstitutionKind::read(buf)?,
                admin: AccountId::read(buf)?,
                admin_proof: <[u8; 64]>::read(buf)?,
            }),
            1 => Ok(MembershipChange::RemoveInstitution {
                id: InstitutionId::read(buf)?,
            }),
            2 => Ok(MembershipChange::AddValidator {
                institution: InstitutionId::read(buf)?,
                validator: AccountId::read(buf)?,
                p2p_address: read_address(
                    buf,
                    "p2p_address",
                    "p2p_address is not a canonical, dialable ip:port",
                )?,
                http_address: read_address(
                    buf,
                    "http_address",
                    "http_address is not a canonical, dialable ip:port",
                )?,
                encryption_key: <[u8; 32]>::read(buf)?,
                validator_proof: <[u8; 64]>::read(buf)?,
                encryption_key_proof: <[u8; 64]>::read(buf)?,
            }),
            3 => Ok(MembershipChange::RemoveValidator {
                validator: AccountId::read(buf)?,
            }),
            4 => Ok(MembershipChange::SetConsortiumPolicy {
                schema_version: u32::read(buf)?,
                policies: read_str(buf, 1, limits::CONSORTIUM_POLICY_SIZE_MAX_BYTES)?,
            }),
            5 => Ok(MembershipChange::ApproveStudy {
                study: StudyId::read(buf)?,
            }),
            other => Err(Error::InvalidEnum(other)),
        }
    }
}

/// Refuses at decode time what `validate` would refuse later, so no node ever holds a
/// proposal whose address cannot be dialed.
fn read_address(
    buf: &mut impl Buf,
    field: &'static str,
    refusal: &'static str,
) -> Result<String, Error> {
    let address = read_str(buf, 1, limits::ADDRESS_SIZE_MAX_BYTES)?;
    parse_validator_address(field, &address)
        .map_err(|_| Error::Invalid("MembershipChange", refusal))?;
    Ok(address)
}

impl MembershipChange {
    /// Rules that need no ledger state; JSON-built values never went through the decoder.
    pub fn validate(&self) -> Result<(), ValidationError> {
        match self {
            MembershipChange::AddValidator {
                validator,
                p2p_address,
                http_address,
                ..
            } => {
                validator.check_registrable("validator key")?;
                parse_validator_address("p2p_address", p2p_address)?;
                parse_validator_address("http_address", http_address)?;
                Ok(())
            }
            MembershipChange::AdmitInstitution { admin, .. } => {
                admin.check_registrable("institution admin key")
            }
            MembershipChange::SetConsortiumPolicy { policies, .. } => {
                ValidationError::check_len(
                    "consortium_policy_size_max_bytes",
                    policies.len(),
                    limits::CONSORTIUM_POLICY_SIZE_MAX_BYTES,
                )?;
                if policies.trim().is_empty() {
                    return Err(ValidationError::Transaction(
                        "the consortium policy text is empty; propose at least one Cedar policy",
                    ));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// HPKE `info` of a sealed fragment: it names the chain, the consent, the patient's
/// pseudonym, the grantee and the validator, so a fragment opens only for the one place it was
/// sealed for. Copied into another consent, onto another chain, or listed for another validator
/// or grantee, it fails to open (and a validator refuses to re-encrypt with it).
pub fn fragment_seal_info(
    chain_id: &ChainId,
    consent: &ConsentId,
    patient: &AccountId,
    grantee: &AccountId,
    validator: &AccountId,
) -> Vec<u8> {
    let mut info = Vec::with_capacity(FRAGMENT_SEAL_INFO_PREFIX.len() + 5 * 32);
    info.extend_from_slice(FRAGMENT_SEAL_INFO_PREFIX);
    info.extend_from_slice(chain_id.as_bytes());
    info.extend_from_slice(consent.as_bytes());
    info.extend_from_slice(&patient.to_bytes());
    info.extend_from_slice(&grantee.to_bytes());
    info.extend_from_slice(&validator.to_bytes());
    info
}

/// First part of every fragment's HPKE `info` (see [`fragment_seal_info`]).
pub const FRAGMENT_SEAL_INFO_PREFIX: &[u8] = b"medchain/consent/kfrag/v2";

/// One Umbral re-encryption key fragment, sealed (HPKE) to one validator with
/// [`fragment_seal_info`]; exactly [`limits::SEALED_FRAGMENT_SIZE_BYTES`] long.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SealedFragment {
    pub validator: AccountId,
    #[serde(with = "hexser::bytes")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub ciphertext: Bytes,
}
impl_struct_codec!(SealedFragment {
    validator: (),
    ciphertext: bytes_cfg(limits::SEALED_FRAGMENT_SIZE_BYTES),
});

impl SealedFragment {
    /// What the consent commits to for this fragment. The fragment itself never enters block
    /// history: the patient's client hands it to its validator, which keeps it only if it
    /// hashes to the committed digest.
    pub fn commitment(&self) -> FragmentCommitment {
        FragmentCommitment {
            validator: self.validator.clone(),
            sealed_digest: sealed_fragment_digest(&self.ciphertext),
        }
    }

    /// The length check a validator makes before trying to open a fragment handed to it.
    pub fn validate(&self) -> Result<(), ValidationError> {
        ValidationError::check_len(
            "sealed_fragment_size_bytes",
            self.ciphertext.len(),
            limits::SEALED_FRAGMENT_SIZE_BYTES,
        )?;
        if self.ciphertext.len() != limits::SEALED_FRAGMENT_SIZE_BYTES {
            return Err(ValidationError::Transaction(
                "a sealed fragment is exactly one HPKE-sealed Umbral key fragment (358 bytes)",
            ));
        }
        Ok(())
    }
}

/// The digest a consent commits to for one sealed fragment (BLAKE3, domain-separated).
pub fn sealed_fragment_digest(ciphertext: &[u8]) -> [u8; 32] {
    crate::ids::derive("medchain 2026 sealed fragment v1", &[ciphertext])
}

/// A consent's commitment to the sealed fragment one validator holds off-chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FragmentCommitment {
    pub validator: AccountId,
    /// [`sealed_fragment_digest`] of the sealed fragment.
    #[serde(with = "hexser::array")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub sealed_digest: [u8; 32],
}
impl_struct_codec!(FragmentCommitment {
    validator: (),
    sealed_digest: (),
});

/// A new member's proofs of possession, one per registered key (see `possession`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberKeyProofs {
    #[serde(with = "hexser::array")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub account: [u8; 64],
    #[serde(with = "hexser::array")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub pre_public_key: [u8; 64],
    #[serde(with = "hexser::array")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub encryption_key: [u8; 64],
}
impl_struct_codec!(MemberKeyProofs {
    account: (),
    pre_public_key: (),
    encryption_key: ()
});

/// The transaction types. Field docs say what the ledger stores; there is no
/// field for a name, MRN, birth date or any other direct identifier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Payload {
    /// Governance: a validator opens a proposal (and approves it by doing so).
    ProposeMembership {
        change: MembershipChange,
        ttl_blocks: u64,
    },
    /// Governance: a validator approves or rejects an open proposal.
    Vote { proposal: ProposalId, approve: bool },
    /// Directory: an institution's admin registers one of its staff.
    RegisterMember {
        account: AccountId,
        role: Role,
        /// secp256k1 compressed point (Umbral PRE public key), opaque here.
        #[serde(with = "hexser::array")]
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
        pre_public_key: [u8; 33],
        /// X25519 public key for sealed deliveries.
        #[serde(with = "hexser::array")]
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
        encryption_key: [u8; 32],
        /// Proofs that the member holds each key, each over its `possession::message` for this
        /// chain and `account`: Ed25519 by the account, ECDSA by the PRE key, XEdDSA by the
        /// X25519 key. An admin cannot register keys their staff do not hold.
        proofs: MemberKeyProofs,
    },
    /// Directory: an institution's admin revokes one of its staff.
    RevokeMember { account: AccountId },
    /// Patients: the sender key becomes a pseudonym at `institution`.
    RegisterPseudonym {
        institution: InstitutionId,
        #[serde(with = "hexser::array")]
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
        pre_public_key: [u8; 33],
        /// ECDSA signature by the PRE key over its possession message for the sender.
        #[serde(with = "hexser::array")]
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
        pre_key_proof: [u8; 64],
        /// An active admin or clinician of `institution` who vouches for the patient.
        registrar: AccountId,
        /// The registrar's signature over `possession::pseudonym_registration_message`: the
        /// institution admits its own patients, so nobody mints pseudonyms (and state) at will.
        #[serde(with = "hexser::array")]
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
        registrar_signature: [u8; 64],
    },
    /// Patients: allow (or stop) break-glass reads by clinicians of `institution`.
    SetEmergencyAccess {
        institution: InstitutionId,
        enabled: bool,
    },
    /// Records: a clinician registers an encrypted off-chain record.
    CreateRecord {
        patient: AccountId,
        category: RecordCategory,
        size_bytes: u64,
        #[serde(with = "hexser::array")]
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
        content_hash: [u8; 32],
        #[serde(with = "hexser::bytes")]
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
        capsule: Bytes,
        /// Validators' signed receipts for exactly this `content_hash` and `size_bytes` (the
        /// size class): the state machine commits the record only with receipts from 2f+1
        /// distinct current validators, so at least f+1 honest ones hold the ciphertext.
        storage_receipts: Vec<StorageReceipt>,
    },
    /// Consent: the patient grants a policy. A permit commits to one sealed re-encryption
    /// fragment per validator; the fragments themselves go to the validators off-chain, once
    /// the grant is final, so block history never holds them.
    GrantConsent {
        policy: ConsentPolicy,
        fragment_commitments: Vec<FragmentCommitment>,
    },
    /// Consent: the patient revokes one of its consents.
    RevokeConsent { consent: ConsentId },
    /// Access: a member asks to read a record; decided and logged on chain.
    RequestAccess {
        record: RecordId,
        purpose: Purpose,
        /// Only with purpose ETREAT; checked by the PHI guard.
        justification: Option<String>,
    },
    /// Records: the patient erases one of their records. From the block that commits it, every
    /// request to read it is denied (and logged); the validators delete the ciphertext.
    EraseRecord { record: RecordId },
    /// Records: validators' signed receipts that they deleted an erased record's ciphertext,
    /// kept with the record so an audit shows who confirmed.
    ConfirmErasure {
        record: RecordId,
        receipts: Vec<crate::erasure::ErasureReceipt>,
    },
    /// Consent: the patient replaces a permit's fragment commitments with ones for the current
    /// validator set (after governance changed it), so the new validators can hold fragments
    /// and the threshold follows the new set; the fragments go to the validators off-chain.
    ReissueFragments {
        consent: ConsentId,
        fragment_commitments: Vec<FragmentCommitment>,
    },
    /// Review: an auditor closes item `item` of the consortium's break-glass review queue with
    /// a finding; the note is checked by the PHI guard.
    ReviewBreakGlass {
        item: u64,
        finding: ReviewFinding,
        note: Option<String>,
    },
    /// Studies: a pseudonym registers its ristretto255 ring key, so it can be a member of an
    /// anonymous contribution's ring. One ring key per pseudonym, never shared.
    RegisterRingKey {
        #[serde(with = "hexser::array")]
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
        ring_key: [u8; 32],
        /// `medchain_crypto::ring::prove_possession` over `possession::message(KeyKind::Ring, ..)`
        /// for this chain and the sender, exactly `ring_key_proof_size_bytes`.
        #[serde(with = "hexser::bytes")]
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
        proof: Bytes,
    },
    /// Studies: a validator's node submits the analytics key its DKG round produced for
    /// `epoch`: the encoded public output of commonware's `feldman_desmedt` (transcript
    /// summary, public sharing, dealers, players, revealed players). It becomes the key once
    /// n − f current validators submitted the identical bytes.
    SubmitAnalyticsKey {
        epoch: u64,
        #[serde(with = "hexser::bytes")]
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
        output: Bytes,
    },
    /// Studies: a researcher proposes a study; governance approves it (`ApproveStudy`).
    ProposeStudy { spec: StudySpec },
    /// Studies: an institution contributes the encrypted partial aggregates of `values` of its
    /// own eligible patients, signed by its admin.
    ContributeToStudy {
        study: StudyId,
        values: u64,
        contribution: StudyContribution,
    },
    /// Studies: a patient contributes one value anonymously. The sender is a one-time key that
    /// belongs to nobody on the ledger; the authorisation is the ring signature by one of
    /// `ring`'s eligible pseudonyms over `study::anonymous_contribution_message`.
    ContributeAnonymously {
        study: StudyId,
        /// The ring members' ristretto255 ring keys, 32 bytes each.
        #[serde(with = "hexser::array_list")]
        #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
        ring: Vec<[u8; 32]>,
        #[serde(with = "hexser::bytes")]
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
        ring_signature: Bytes,
        contribution: StudyContribution,
    },
    /// Studies: after the deadline, closes the study: released if it reached its minimum
    /// cohort, closed undecrypted otherwise.
    CloseStudy { study: StudyId },
    /// Studies with ε: a validator's share of differential-privacy noise for a closed study,
    /// one encrypted value per slot in slot order, each `share + bound` range-proven within
    /// `[0, 2·bound]` (`StudySpec::slot_noise`) in a context bound to the validator.
    AddStudyNoise {
        study: StudyId,
        noise: Vec<EncryptedValue>,
    },
    /// Studies: a validator's partial decryptions of a closed study's aggregates, one per slot
    /// in slot order, each with its Chaum–Pedersen proof.
    PostPartialDecryption {
        study: StudyId,
        #[serde(with = "hexser::bytes_list")]
        #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
        partials: Vec<Bytes>,
    },
}

impl Payload {
    /// A short stable name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Payload::ProposeMembership { .. } => "propose_membership",
            Payload::Vote { .. } => "vote",
            Payload::RegisterMember { .. } => "register_member",
            Payload::RevokeMember { .. } => "revoke_member",
            Payload::RegisterPseudonym { .. } => "register_pseudonym",
            Payload::SetEmergencyAccess { .. } => "set_emergency_access",
            Payload::CreateRecord { .. } => "create_record",
            Payload::GrantConsent { .. } => "grant_consent",
            Payload::RevokeConsent { .. } => "revoke_consent",
            Payload::RequestAccess { .. } => "request_access",
            Payload::EraseRecord { .. } => "erase_record",
            Payload::ConfirmErasure { .. } => "confirm_erasure",
            Payload::ReissueFragments { .. } => "reissue_fragments",
            Payload::ReviewBreakGlass { .. } => "review_break_glass",
            Payload::RegisterRingKey { .. } => "register_ring_key",
            Payload::SubmitAnalyticsKey { .. } => "submit_analytics_key",
            Payload::ProposeStudy { .. } => "propose_study",
            Payload::ContributeToStudy { .. } => "contribute_to_study",
            Payload::ContributeAnonymously { .. } => "contribute_anonymously",
            Payload::CloseStudy { .. } => "close_study",
            Payload::PostPartialDecryption { .. } => "post_partial_decryption",
            Payload::AddStudyNoise { .. } => "add_study_noise",
        }
    }

    /// Rules that need no ledger state: limits (also for values that never went
    /// through the decoder, e.g. from JSON), consent structure, the PHI guard.
    pub fn validate(&self) -> Result<(), ValidationError> {
        match self {
            Payload::ProposeMembership { change, ttl_blocks } => {
                change.validate()?;
                if *ttl_blocks == 0 {
                    return Err(ValidationError::Transaction(
                        "ttl_blocks must be at least 1",
                    ));
                }
                let max = limits::PROPOSAL_TTL_MAX_BLOCKS;
                if *ttl_blocks > max {
                    return Err(ValidationError::LimitExceeded {
                        limit: "proposal_ttl_max_blocks",
                        max,
                        got: *ttl_blocks,
                    });
                }
                Ok(())
            }
            Payload::CreateRecord {
                size_bytes,
                capsule,
                storage_receipts,
                ..
            } => {
                ValidationError::check_len(
                    "storage_receipts_max",
                    storage_receipts.len(),
                    limits::STORAGE_RECEIPTS_MAX,
                )?;
                ValidationError::check_len(
                    "capsule_size_max_bytes",
                    capsule.len(),
                    limits::CAPSULE_SIZE_BYTES,
                )?;
                if capsule.len() != limits::CAPSULE_SIZE_BYTES {
                    return Err(ValidationError::Transaction(
                        "a record needs its Umbral capsule, exactly 105 bytes",
                    ));
                }
                let max = limits::RECORD_SIZE_MAX_BYTES;
                if *size_bytes > max {
                    return Err(ValidationError::LimitExceeded {
                        limit: "record_size_max_bytes",
                        max,
                        got: *size_bytes,
                    });
                }
                if *size_bytes != limits::record_size_class_bytes(*size_bytes) {
                    return Err(ValidationError::Transaction(
                        "size_bytes must be a size class (a power of two of at least 4096 bytes); round the ciphertext size up with limits::record_size_class_bytes",
                    ));
                }
                Ok(())
            }
            Payload::GrantConsent {
                policy,
                fragment_commitments,
            } => {
                policy.validate()?;
                validate_commitments(fragment_commitments)
            }
            Payload::RequestAccess {
                purpose,
                justification,
                ..
            } => validate_justification(*purpose, justification.as_deref()),
            Payload::RegisterMember { account, .. } => account.check_registrable("member account"),
            Payload::ConfirmErasure { receipts, .. } => {
                ValidationError::check_len(
                    "erasure_receipts_max",
                    receipts.len(),
                    limits::STORAGE_RECEIPTS_MAX,
                )?;
                if receipts.is_empty() {
                    return Err(ValidationError::Transaction(
                        "an erasure confirmation carries at least one validator's receipt",
                    ));
                }
                Ok(())
            }
            Payload::ReviewBreakGlass { note, .. } => validate_review_note(note.as_deref()),
            Payload::ReissueFragments {
                fragment_commitments,
                ..
            } => validate_commitments(fragment_commitments),
            _ => self.validate_study(),
        }
    }
}

impl Payload {
    fn validate_study(&self) -> Result<(), ValidationError> {
        match self {
            Payload::RegisterRingKey { proof, .. } => {
                if proof.len() != limits::RING_KEY_PROOF_SIZE_BYTES {
                    return Err(ValidationError::Transaction(
                        "a ring key's proof of possession is exactly 128 bytes (a two-member bLSAG)",
                    ));
                }
                Ok(())
            }
            Payload::SubmitAnalyticsKey { output, .. } => ValidationError::check_len(
                "analytics_key_output_size_max_bytes",
                output.len(),
                limits::ANALYTICS_KEY_OUTPUT_SIZE_MAX_BYTES,
            ),
            Payload::ProposeStudy { spec } => spec.validate(),
            Payload::ContributeToStudy { contribution, .. } => contribution.validate(),
            Payload::ContributeAnonymously {
                ring,
                ring_signature,
                contribution,
                ..
            } => {
                ValidationError::check_len(
                    "study_ring_size_max_members",
                    ring.len(),
                    limits::STUDY_RING_SIZE_MAX_MEMBERS,
                )?;
                ValidationError::check_len(
                    "study_ring_signature_size_max_bytes",
                    ring_signature.len(),
                    limits::STUDY_RING_SIGNATURE_SIZE_MAX_BYTES,
                )?;
                contribution.validate()
            }
            Payload::AddStudyNoise { noise, .. } => EncryptedValue::validate_slots(noise),
            Payload::PostPartialDecryption { partials, .. } => {
                ValidationError::check_len(
                    "study_partials_max",
                    partials.len(),
                    limits::STUDY_PARTIALS_MAX,
                )?;
                if partials
                    .iter()
                    .any(|p| p.len() != limits::STUDY_PARTIAL_SIZE_BYTES)
                {
                    return Err(ValidationError::Transaction(
                        "a partial decryption is exactly 116 bytes (index, point, challenge, response)",
                    ));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

fn validate_commitments(commitments: &[FragmentCommitment]) -> Result<(), ValidationError> {
    ValidationError::check_len(
        "sealed_fragments_max",
        commitments.len(),
        limits::SEALED_FRAGMENTS_MAX,
    )?;
    let mut validators: Vec<&AccountId> = commitments.iter().map(|f| &f.validator).collect();
    validators.sort();
    if validators.windows(2).any(|w| w[0] == w[1]) {
        return Err(ValidationError::Transaction(
            "two fragments are committed for the same validator",
        ));
    }
    Ok(())
}

fn validate_review_note(note: Option<&str>) -> Result<(), ValidationError> {
    let Some(text) = note else {
        return Ok(());
    };
    ValidationError::check_len(
        "review_note_size_max_bytes",
        text.len(),
        limits::REVIEW_NOTE_SIZE_MAX_BYTES,
    )?;
    if text.trim().is_empty() {
        return Err(ValidationError::Transaction(
            "the review note is empty; leave it out instead",
        ));
    }
    phi_guard::check(text).map_err(ValidationError::from)
}

fn validate_justification(
    purpose: Purpose,
    justification: Option<&str>,
) -> Result<(), ValidationError> {
    match (purpose, justification) {
        (Purpose::Etreat, None) => Err(ValidationError::Transaction(
            "break-glass (purpose ETREAT) needs a justification",
        )),
        (Purpose::Etreat, Some(text)) => {
            ValidationError::check_len(
                "justification_size_max_bytes",
                text.len(),
                limits::JUSTIFICATION_SIZE_MAX_BYTES,
            )?;
            if text.trim().is_empty() {
                return Err(ValidationError::Transaction(
                    "the break-glass justification is empty",
                ));
            }
            phi_guard::check(text).map_err(ValidationError::from)
        }
        (_, Some(_)) => Err(ValidationError::Transaction(
            "a justification is only accepted with purpose ETREAT; drop it",
        )),
        (_, None) => Ok(()),
    }
}

impl Write for Payload {
    fn write(&self, buf: &mut impl BufMut) {
        buf.put_u8(self.tag());
        match self {
            Payload::ProposeMembership { change, ttl_blocks } => {
                change.write(buf);
                ttl_blocks.write(buf);
            }
            Payload::Vote { proposal, approve } => {
                proposal.write(buf);
                approve.write(buf);
            }
            Payload::RegisterMember {
                account,
                role,
                pre_public_key,
                encryption_key,
                proofs,
            } => {
                account.write(buf);
                role.write(buf);
                pre_public_key.write(buf);
                encryption_key.write(buf);
                proofs.write(buf);
            }
            Payload::RevokeMember { account } => account.write(buf),
            Payload::RegisterPseudonym {
                institution,
                pre_public_key,
                pre_key_proof,
                registrar,
                registrar_signature,
            } => {
                institution.write(buf);
                pre_public_key.write(buf);
                pre_key_proof.write(buf);
                registrar.write(buf);
                registrar_signature.write(buf);
            }
            Payload::SetEmergencyAccess {
                institution,
                enabled,
            } => {
                institution.write(buf);
                enabled.write(buf);
            }
            Payload::CreateRecord {
                patient,
                category,
                size_bytes,
                content_hash,
                capsule,
                storage_receipts,
            } => {
                patient.write(buf);
                category.write(buf);
                size_bytes.write(buf);
                content_hash.write(buf);
                capsule.write(buf);
                storage_receipts.write(buf);
            }
            Payload::GrantConsent {
                policy,
                fragment_commitments,
            } => {
                policy.write(buf);
                fragment_commitments.write(buf);
            }
            Payload::RevokeConsent { consent } => consent.write(buf),
            Payload::RequestAccess {
                record,
                purpose,
                justification,
            } => {
                record.write(buf);
                purpose.write(buf);
                write_opt_str(justification.as_deref(), buf);
            }
            Payload::EraseRecord { record } => record.write(buf),
            Payload::ConfirmErasure { record, receipts } => {
                record.write(buf);
                receipts.write(buf);
            }
            Payload::ReissueFragments {
                consent,
                fragment_commitments,
            } => {
                consent.write(buf);
                fragment_commitments.write(buf);
            }
            Payload::ReviewBreakGlass {
                item,
                finding,
                note,
            } => {
                item.write(buf);
                finding.write(buf);
                write_opt_str(note.as_deref(), buf);
            }
            Payload::RegisterRingKey { ring_key, proof } => {
                ring_key.write(buf);
                proof.write(buf);
            }
            Payload::SubmitAnalyticsKey { epoch, output } => {
                epoch.write(buf);
                output.write(buf);
            }
            Payload::ProposeStudy { spec } => spec.write(buf),
            Payload::ContributeToStudy {
                study,
                values,
                contribution,
            } => {
                study.write(buf);
                values.write(buf);
                contribution.write(buf);
            }
            Payload::ContributeAnonymously {
                study,
                ring,
                ring_signature,
                contribution,
            } => {
                study.write(buf);
                ring.write(buf);
                ring_signature.write(buf);
                contribution.write(buf);
            }
            Payload::CloseStudy { study } => study.write(buf),
            Payload::PostPartialDecryption { study, partials } => {
                study.write(buf);
                partials.write(buf);
            }
            Payload::AddStudyNoise { study, noise } => {
                study.write(buf);
                noise.write(buf);
            }
        }
    }
}

impl Payload {
    fn tag(&self) -> u8 {
        match self {
            Payload::ProposeMembership { .. } => 0,
            Payload::Vote { .. } => 1,
            Payload::RegisterMember { .. } => 2,
            Payload::RevokeMember { .. } => 3,
            Payload::RegisterPseudonym { .. } => 4,
            Payload::SetEmergencyAccess { .. } => 5,
            Payload::CreateRecord { .. } => 6,
            Payload::GrantConsent { .. } => 7,
            Payload::RevokeConsent { .. } => 8,
            Payload::RequestAccess { .. } => 9,
            Payload::EraseRecord { .. } => 10,
            Payload::ConfirmErasure { .. } => 11,
            Payload::ReviewBreakGlass { .. } => 12,
            Payload::ReissueFragments { .. } => 13,
            // 12–15 are reserved for payloads being added on another branch.
            Payload::RegisterRingKey { .. } => 16,
            Payload::SubmitAnalyticsKey { .. } => 17,
            Payload::ProposeStudy { .. } => 18,
            Payload::ContributeToStudy { .. } => 19,
            Payload::ContributeAnonymously { .. } => 20,
            Payload::CloseStudy { .. } => 21,
            Payload::PostPartialDecryption { .. } => 22,
            Payload::AddStudyNoise { .. } => 23,
        }
    }
}

impl EncodeSize for Payload {
    fn encode_size(&self) -> usize {
        1 + match self {
            Payload::ProposeMembership { change, ttl_blocks } => {
                change.encode_size() + ttl_blocks.encode_size()
            }
            Payload::Vote { proposal, approve } => proposal.encode_size() + approve.encode_size(),
            Payload::RegisterMember {
                account,
                role,
                pre_public_key,
                encryption_key,
                proofs,
            } => {
                account.encode_size()
                    + role.encode_size()
                    + pre_public_key.encode_size()
                    + encryption_key.encode_size()
                    + proofs.encode_size()
            }
            Payload::RevokeMember { account } => account.encode_size(),
            Payload::RegisterPseudonym {
                institution,
                pre_public_key,
                pre_key_proof,
                registrar,
                registrar_signature,
            } => {
                institution.encode_size()
                    + pre_public_key.encode_size()
                    + pre_key_proof.encode_size()
                    + registrar.encode_size()
                    + registrar_signature.encode_size()
            }
            Payload::SetEmergencyAccess {
                institution,
                enabled,
            } => institution.encode_size() + enabled.encode_size(),
            Payload::CreateRecord {
                patient,
                category,
                size_bytes,
                content_hash,
                capsule,
                storage_receipts,
            } => {
                patient.encode_size()
                    + category.encode_size()
                    + size_bytes.encode_size()
                    + content_hash.encode_size()
                    + capsule.encode_size()
                    + storage_receipts.encode_size()
            }
            Payload::GrantConsent {
                policy,
                fragment_commitments,
            } => policy.encode_size() + fragment_commitments.encode_size(),
            Payload::RevokeConsent { consent } => consent.encode_size(),
            Payload::RequestAccess {
                record,
                purpose,
                justification,
            } => {
                record.encode_size()
                    + purpose.encode_size()
                    + opt_str_encode_size(justification.as_deref())
            }
            Payload::EraseRecord { record } => record.encode_size(),
            Payload::ConfirmErasure { record, receipts } => {
                record.encode_size() + receipts.encode_size()
            }
            Payload::ReissueFragments {
                consent,
                fragment_commitments,
            } => consent.encode_size() + fragment_commitments.encode_size(),
            Payload::ReviewBreakGlass {
                item,
                finding,
                note,
            } => item.encode_size() + finding.encode_size() + opt_str_encode_size(note.as_deref()),
            Payload::RegisterRingKey { ring_key, proof } => {
                ring_key.encode_size() + proof.encode_size()
            }
            Payload::SubmitAnalyticsKey { epoch, output } => {
                epoch.encode_size() + output.encode_size()
            }
            Payload::ProposeStudy { spec } => spec.encode_size(),
            Payload::ContributeToStudy {
                study,
                values,
                contribution,
            } => study.encode_size() + values.encode_size() + contribution.encode_size(),
            Payload::ContributeAnonymously {
                study,
                ring,
                ring_signature,
                contribution,
            } => {
                study.encode_size()
                    + ring.encode_size()
                    + ring_signature.encode_size()
                    + contribution.encode_size()
            }
            Payload::CloseStudy { study } => study.encode_size(),
            Payload::PostPartialDecryption { study, partials } => {
                study.encode_size() + partials.encode_size()
            }
            Payload::AddStudyNoise { study, noise } => study.encode_size() + noise.encode_size(),
        }
    }
}

impl Read for Payload {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        Ok(match u8::read(buf)? {
            0 => Payload::ProposeMembership {
                change: MembershipChange::read(buf)?,
                ttl_blocks: u64::read(buf)?,
            },
            1 => Payload::Vote {
                proposal: ProposalId::read(buf)?,
                approve: bool::read(buf)?,
            },
            2 => Payload::RegisterMember {
                account: AccountId::read(buf)?,
                role: Role::read(buf)?,
                pre_public_key: <[u8; 33]>::read(buf)?,
                encryption_key: <[u8; 32]>::read(buf)?,
                proofs: MemberKeyProofs::read(buf)?,
            },
            3 => Payload::RevokeMember {
                account: AccountId::read(buf)?,
            },
            4 => Payload::RegisterPseudonym {
                institution: InstitutionId::read(buf)?,
                pre_public_key: <[u8; 33]>::read(buf)?,
                pre_key_proof: <[u8; 64]>::read(buf)?,
                registrar: AccountId::read(buf)?,
                registrar_signature: <[u8; 64]>::read(buf)?,
            },
            5 => Payload::SetEmergencyAccess {
                institution: InstitutionId::read(buf)?,
                enabled: bool::read(buf)?,
            },
            6 => Payload::CreateRecord {
                patient: AccountId::read(buf)?,
                category: RecordCategory::read(buf)?,
                size_bytes: u64::read(buf)?,
                content_hash: <[u8; 32]>::read(buf)?,
                capsule: Bytes::read_cfg(buf, &bytes_cfg(limits::CAPSULE_SIZE_BYTES))?,
                storage_receipts: Vec::read_cfg(buf, &vec_cfg(limits::STORAGE_RECEIPTS_MAX))?,
            },
            7 => Payload::GrantConsent {
                policy: ConsentPolicy::read(buf)?,
                fragment_commitments: Vec::read_cfg(buf, &vec_cfg(limits::SEALED_FRAGMENTS_MAX))?,
            },
            8 => Payload::RevokeConsent {
                consent: ConsentId::read(buf)?,
            },
            9 => Payload::RequestAccess {
                record: RecordId::read(buf)?,
                purpose: Purpose::read(buf)?,
                justification: read_opt_str(buf, limits::JUSTIFICATION_SIZE_MAX_BYTES)?,
            },
            10 => Payload::EraseRecord {
                record: RecordId::read(buf)?,
            },
            11 => Payload::ConfirmErasure {
                record: RecordId::read(buf)?,
                receipts: Vec::read_cfg(buf, &vec_cfg(limits::STORAGE_RECEIPTS_MAX))?,
            },
            12 => Payload::ReviewBreakGlass {
                item: u64::read(buf)?,
                finding: ReviewFinding::read(buf)?,
                note: read_opt_str(buf, limits::REVIEW_NOTE_SIZE_MAX_BYTES)?,
            },
            13 => Payload::ReissueFragments {
                consent: ConsentId::read(buf)?,
                fragment_commitments: Vec::read_cfg(buf, &vec_cfg(limits::SEALED_FRAGMENTS_MAX))?,
            },
            16 => Payload::RegisterRingKey {
                ring_key: <[u8; 32]>::read(buf)?,
                proof: Bytes::read_cfg(buf, &bytes_cfg(limits::RING_KEY_PROOF_SIZE_BYTES))?,
            },
            17 => Payload::SubmitAnalyticsKey {
                epoch: u64::read(buf)?,
                output: Bytes::read_cfg(
                    buf,
                    &bytes_cfg(limits::ANALYTICS_KEY_OUTPUT_SIZE_MAX_BYTES),
                )?,
            },
            18 => Payload::ProposeStudy {
                spec: StudySpec::read(buf)?,
            },
            19 => Payload::ContributeToStudy {
                study: StudyId::read(buf)?,
                values: u64::read(buf)?,
                contribution: StudyContribution::read(buf)?,
            },
            20 => Payload::ContributeAnonymously {
                study: StudyId::read(buf)?,
                ring: Vec::read_cfg(buf, &vec_cfg(limits::STUDY_RING_SIZE_MAX_MEMBERS))?,
                ring_signature: Bytes::read_cfg(
                    buf,
                    &bytes_cfg(limits::STUDY_RING_SIGNATURE_SIZE_MAX_BYTES),
                )?,
                contribution: StudyContribution::read(buf)?,
            },
            21 => Payload::CloseStudy {
                study: StudyId::read(buf)?,
            },
            22 => Payload::PostPartialDecryption {
                study: StudyId::read(buf)?,
                partials: Vec::read_cfg(
                    buf,
                    &(
                        commonware_codec::RangeCfg::new(0..=limits::STUDY_PARTIALS_MAX),
                        bytes_cfg(limits::STUDY_PARTIAL_SIZE_BYTES),
                    ),
                )?,
            },
            23 => Payload::AddStudyNoise {
                study: StudyId::read(buf)?,
                noise: Vec::read_cfg(buf, &vec_cfg(limits::STUDY_SLOTS_MAX))?,
            },
            other => return Err(Error::InvalidEnum(other)),
        })
    }
}
