//! The genesis document: the founding institutions, validators and (optionally)
//! staff. Written as TOML by operators; its canonical encoding's hash is the chain id.

use crate::codec_util::{read_str, str_encode_size, vec_cfg, write_str};
use crate::codes::{InstitutionKind, Role};
use crate::error::ValidationError;
use crate::ids::{AccountId, ChainId, InstitutionId, derive};
use crate::payload::MemberKeyProofs;
use crate::possession::PROOF_SIZE_BYTES;
use crate::{hexser, impl_struct_codec, limits};
use bytes::BufMut;
use commonware_codec::{Buf, Encode, EncodeSize, Error, Read, ReadExt, Write};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::net::SocketAddr;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GenesisInstitution {
    pub id: InstitutionId,
    pub kind: InstitutionKind,
    pub admin: AccountId,
    /// The admin key's signature over its possession message for
    /// [`Genesis::possession_chain_id`].
    #[serde(with = "hexser::array")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub admin_proof: [u8; PROOF_SIZE_BYTES],
}
impl_struct_codec!(GenesisInstitution {
    id: (),
    kind: (),
    admin: (),
    admin_proof: ()
});

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GenesisValidator {
    pub account: AccountId,
    pub institution: InstitutionId,
    /// `host:port` other validators dial.
    pub p2p_address: String,
    /// `host:port` of the node's HTTP API.
    pub http_address: String,
    /// X25519 key that patients seal this validator's re-encryption key fragments to.
    #[serde(with = "hexser::array")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub encryption_key: [u8; 32],
    /// Proofs of possession of `account` and `encryption_key` for
    /// [`Genesis::possession_chain_id`].
    pub proofs: ValidatorKeyProofs,
}

impl Write for GenesisValidator {
    fn write(&self, buf: &mut impl BufMut) {
        self.account.write(buf);
        self.institution.write(buf);
        write_str(&self.p2p_address, buf);
        write_str(&self.http_address, buf);
        self.encryption_key.write(buf);
        self.proofs.write(buf);
    }
}

impl EncodeSize for GenesisValidator {
    fn encode_size(&self) -> usize {
        self.account.encode_size()
            + self.institution.encode_size()
            + str_encode_size(&self.p2p_address)
            + str_encode_size(&self.http_address)
            + self.encryption_key.encode_size()
            + self.proofs.encode_size()
    }
}

impl Read for GenesisValidator {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        Ok(Self {
            account: AccountId::read(buf)?,
            institution: InstitutionId::read(buf)?,
            p2p_address: read_str(buf, 1, limits::ADDRESS_SIZE_MAX_BYTES)?,
            http_address: read_str(buf, 1, limits::ADDRESS_SIZE_MAX_BYTES)?,
            encryption_key: <[u8; 32]>::read(buf)?,
            proofs: ValidatorKeyProofs::read(buf)?,
        })
    }
}

/// A founding validator's proofs of possession: its account (consensus) key and its X25519 key,
/// as an `AddValidator` change carries them for a validator admitted later.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValidatorKeyProofs {
    #[serde(with = "hexser::array")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub account: [u8; PROOF_SIZE_BYTES],
    #[serde(with = "hexser::array")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub encryption_key: [u8; PROOF_SIZE_BYTES],
}
impl_struct_codec!(ValidatorKeyProofs {
    account: (),
    encryption_key: ()
});

/// A node that receives every consensus message and finalized block, verifies and executes
/// them, and serves proofs, but never votes or proposes (an auditor's or a lab's replica).
/// Validators accept its p2p connections because the consortium listed it here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GenesisObserver {
    pub account: AccountId,
    pub institution: InstitutionId,
    /// `host:port` this observer listens on for p2p (validators do not dial it; it dials them).
    pub p2p_address: String,
    /// `host:port` of the observer's read-only HTTP API.
    pub http_address: String,
    /// The account key's signature over its possession message for
    /// [`Genesis::possession_chain_id`].
    #[serde(with = "hexser::array")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub account_proof: [u8; PROOF_SIZE_BYTES],
}

impl Write for GenesisObserver {
    fn write(&self, buf: &mut impl BufMut) {
        self.account.write(buf);
        self.institution.write(buf);
        write_str(&self.p2p_address, buf);
        write_str(&self.http_address, buf);
        self.account_proof.write(buf);
    }
}

impl EncodeSize for GenesisObserver {
    fn encode_size(&self) -> usize {
        self.account.encode_size()
            + self.institution.encode_size()
            + str_encode_size(&self.p2p_address)
            + str_encode_size(&self.http_address)
            + self.account_proof.encode_size()
    }
}

impl Read for GenesisObserver {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        Ok(Self {
            account: AccountId::read(buf)?,
            institution: InstitutionId::read(buf)?,
            p2p_address: read_str(buf, 1, limits::ADDRESS_SIZE_MAX_BYTES)?,
            http_address: read_str(buf, 1, limits::ADDRESS_SIZE_MAX_BYTES)?,
            account_proof: <[u8; PROOF_SIZE_BYTES]>::read(buf)?,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GenesisMember {
    pub account: AccountId,
    pub institution: InstitutionId,
    pub role: Role,
    #[serde(with = "hexser::array")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub pre_public_key: [u8; 33],
    #[serde(with = "hexser::array")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub encryption_key: [u8; 32],
    /// Proofs of possession of the three keys for [`Genesis::possession_chain_id`].
    pub proofs: MemberKeyProofs,
}
impl_struct_codec!(GenesisMember {
    account: (),
    institution: (),
    role: (),
    pre_public_key: (),
    encryption_key: (),
    proofs: (),
});

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Genesis {
    pub chain_name: String,
    pub genesis_time_ms: u64,
    pub institutions: Vec<GenesisInstitution>,
    pub validators: Vec<GenesisValidator>,
    #[serde(default)]
    pub observers: Vec<GenesisObserver>,
    #[serde(default)]
    pub members: Vec<GenesisMember>,
    /// Blocks per consensus epoch; a validator set voted by governance takes effect at the next
    /// epoch boundary.
    #[serde(default = "default_epoch_length_blocks")]
    pub epoch_length_blocks: u64,
}

fn default_epoch_length_blocks() -> u64 {
    limits::EPOCH_LENGTH_DEFAULT_BLOCKS
}

impl Write for Genesis {
    fn write(&self, buf: &mut impl BufMut) {
        write_str(&self.chain_name, buf);
        self.genesis_time_ms.write(buf);
        self.institutions.write(buf);
        self.validators.write(buf);
        self.observers.write(buf);
        self.members.write(buf);
        self.epoch_length_blocks.write(buf);
    }
}

impl EncodeSize for Genesis {
    fn encode_size(&self) -> usize {
        str_encode_size(&self.chain_name)
            + self.genesis_time_ms.encode_size()
            + self.institutions.encode_size()
            + self.validators.encode_size()
            + self.observers.encode_size()
            + self.members.encode_size()
            + self.epoch_length_blocks.encode_size()
    }
}

impl Read for Genesis {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        Ok(Self {
            chain_name: read_str(buf, 1, limits::CHAIN_NAME_SIZE_MAX_BYTES)?,
            genesis_time_ms: u64::read(buf)?,
            institutions: Vec::read_cfg(buf, &vec_cfg(limits::GENESIS_INSTITUTIONS_MAX))?,
            validators: Vec::read_cfg(buf, &vec_cfg(limits::VALIDATORS_MAX))?,
            observers: Vec::read_cfg(buf, &vec_cfg(limits::OBSERVERS_MAX))?,
            members: Vec::read_cfg(buf, &vec_cfg(limits::GENESIS_MEMBERS_MAX))?,
            epoch_length_blocks: u64::read(buf)?,
        })
    }
}

impl Genesis {
    /// BLAKE3 (derive-key mode) of the canonical encoding, proofs included.
    pub fn chain_id(&self) -> ChainId {
        ChainId(derive(
            "medchain 2026 genesis document v1",
            &[&self.encode()],
        ))
    }

    /// The chain id the genesis's proofs of possession sign: the id of this document with every
    /// proof zeroed, under its own derivation context. The proofs cannot sign [`Self::chain_id`],
    /// which hashes them; this id still names every key, address and institution, so a proof
    /// made for one founding document proves nothing in another, nor in a transaction on the
    /// chain (whose proofs sign `chain_id`).
    pub fn possession_chain_id(&self) -> ChainId {
        let mut unproven = self.clone();
        unproven.clear_proofs();
        ChainId(derive(
            "medchain 2026 genesis possession proofs v1",
            &[&unproven.encode()],
        ))
    }

    fn clear_proofs(&mut self) {
        let zero = [0u8; PROOF_SIZE_BYTES];
        for institution in &mut self.institutions {
            institution.admin_proof = zero;
        }
        for validator in &mut self.validators {
            validator.proofs = ValidatorKeyProofs {
                account: zero,
                encryption_key: zero,
            };
        }
        for observer in &mut self.observers {
            observer.account_proof = zero;
        }
        for member in &mut self.members {
            member.proofs = MemberKeyProofs {
                account: zero,
                pre_public_key: zero,
                encryption_key: zero,
            };
        }
    }

    /// Every rule a genesis must meet before a chain can start from it.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let name_ok = !self.chain_name.is_empty()
            && self.chain_name.len() <= limits::CHAIN_NAME_SIZE_MAX_BYTES;
        if !name_ok {
            return Err(ValidationError::Genesis(format!(
                "chain_name must be 1 to {} bytes",
                limits::CHAIN_NAME_SIZE_MAX_BYTES
            )));
        }
        ValidationError::check_len(
            "genesis_institutions_max",
            self.institutions.len(),
            limits::GENESIS_INSTITUTIONS_MAX,
        )?;
        ValidationError::check_len(
            "validators_max",
            self.validators.len(),
            limits::VALIDATORS_MAX,
        )?;
        ValidationError::check_len("observers_max", self.observers.len(), limits::OBSERVERS_MAX)?;
        ValidationError::check_len(
            "genesis_members_max",
            self.members.len(),
            limits::GENESIS_MEMBERS_MAX,
        )?;
        if self.epoch_length_blocks < limits::EPOCH_LENGTH_MIN_BLOCKS {
            return Err(ValidationError::Genesis(format!(
                "epoch_length_blocks must be at least {} (epoch_length_min_blocks)",
                limits::EPOCH_LENGTH_MIN_BLOCKS
            )));
        }
        let institutions = self.institution_ids()?;
        self.validate_validators(&institutions)?;
        self.validate_observers(&institutions)?;
        self.validate_accounts(&institutions)
    }

    fn institution_ids(&self) -> Result<BTreeSet<&InstitutionId>, ValidationError> {
        let mut ids = BTreeSet::new();
        for institution in &self.institutions {
            if !ids.insert(&institution.id) {
                return Err(ValidationError::Genesis(format!(
                    "institution {} is listed twice",
                    institution.id
                )));
            }
        }
        Ok(ids)
    }

    fn validate_validators(
        &self,
        institutions: &BTreeSet<&InstitutionId>,
    ) -> Result<(), ValidationError> {
        if self.validators.is_empty() {
            return Err(ValidationError::Genesis(
                "list at least one validator".into(),
            ));
        }
        let mut seen = BTreeSet::new();
        for v in &self.validators {
            let addresses = [v.p2p_address.as_str(), v.http_address.as_str()];
            check_node(
                "validator",
                &v.account,
                &v.institution,
                addresses,
                &mut seen,
                institutions,
            )?;
        }
        Ok(())
    }

    /// Observers are distinct from each other and from validators: one key, one p2p role.
    fn validate_observers(
        &self,
        institutions: &BTreeSet<&InstitutionId>,
    ) -> Result<(), ValidationError> {
        let mut seen: BTreeSet<_> = self.validators.iter().map(|v| &v.account).collect();
        for o in &self.observers {
            let addresses = [o.p2p_address.as_str(), o.http_address.as_str()];
            check_node(
                "observer",
                &o.account,
                &o.institution,
                addresses,
                &mut seen,
                institutions,
            )?;
        }
        Ok(())
    }

    /// Admins and members are distinct accounts; staff are never admins here.
    fn validate_accounts(
        &self,
        institutions: &BTreeSet<&InstitutionId>,
    ) -> Result<(), ValidationError> {
        let mut accounts = BTreeSet::new();
        let mut services = BTreeSet::new();
        for institution in &self.institutions {
            institution
                .admin
                .check_registrable("institution admin key")?;
            if !accounts.insert(&institution.admin) {
                return Err(ValidationError::Genesis(format!(
                    "account {} is used twice",
                    institution.admin
                )));
            }
        }
        for member in &self.members {
            member.account.check_registrable("member account key")?;
            if !institutions.contains(&member.institution) {
                return Err(ValidationError::Genesis(format!(
                    "member {} names institution {} which is not in `institutions`",
                    member.account, member.institution
                )));
            }
            if member.role == Role::Admin {
                return Err(ValidationError::Genesis(format!(
                    "member {} has role admin; admins are given per institution",
                    member.account
                )));
            }
            if !accounts.insert(&member.account) {
                return Err(ValidationError::Genesis(format!(
                    "account {} is used twice",
                    member.account
                )));
            }
            if member.role == Role::EmergencyService && !services.insert(&member.institution) {
                return Err(ValidationError::Genesis(format!(
                    "institution {} has two emergency services; an institution runs one",
                    member.institution
                )));
            }
        }
        Ok(())
    }
}

/// A validator's or observer's entry: a key not seen before, a listed institution, addresses
/// within their size limit.
fn check_node<'a>(
    role: &'static str,
    account: &'a AccountId,
    institution: &InstitutionId,
    addresses: [&str; 2],
    seen: &mut BTreeSet<&'a AccountId>,
    institutions: &BTreeSet<&InstitutionId>,
) -> Result<(), ValidationError> {
    account.check_registrable(role)?;
    if !seen.insert(account) {
        return Err(ValidationError::Genesis(format!(
            "{role} {account} is listed twice (as a validator or an observer)"
        )));
    }
    if !institutions.contains(institution) {
        return Err(ValidationError::Genesis(format!(
            "{role} {account} names institution {institution} which is not in `institutions`"
        )));
    }
    for address in addresses {
        check_address(role, account, address)?;
    }
    Ok(())
}

fn check_address(role: &str, account: &AccountId, address: &str) -> Result<(), ValidationError> {
    if address.is_empty() || !address_size_ok(address) {
        return Err(ValidationError::Genesis(format!(
            "{role} {account} has an address that is empty or over {} bytes",
            limits::ADDRESS_SIZE_MAX_BYTES
        )));
    }
    Ok(())
}

fn address_size_ok(address: &str) -> bool {
    address.len() <= limits::ADDRESS_SIZE_MAX_BYTES
}

/// Parses an address (`field`: `p2p_address` or `http_address`) of a validator admitted by
/// governance. Only `ip:port`: a host name could resolve differently on each node. Only the
/// canonical spelling (as `SocketAddr` prints it), so one address cannot be admitted twice under
/// two spellings. Only addresses others can dial: a listen-anywhere or multicast address or port
/// 0 would make the newcomer unreachable.
pub fn parse_validator_address(
    field: &'static str,
    address: &str,
) -> Result<SocketAddr, ValidationError> {
    if !address_size_ok(address) {
        return Err(ValidationError::LimitExceeded {
            limit: "address_size_max_bytes",
            max: limits::ADDRESS_SIZE_MAX_BYTES as u64,
            got: address.len() as u64,
        });
    }
    let parsed: SocketAddr = address
        .parse()
        .map_err(|_| ValidationError::AddressSyntax {
            field,
            address: address.to_string(),
        })?;
    let canonical = parsed.to_string();
    if canonical != address {
        return Err(ValidationError::AddressNotCanonical {
            field,
            address: address.to_string(),
            canonical,
        });
    }
    let ip = parsed.ip();
    if parsed.port() == 0 || ip.is_unspecified() || ip.is_multicast() {
        return Err(ValidationError::AddressNotDialable {
            field,
            address: address.to_string(),
        });
    }
    Ok(parsed)
}
