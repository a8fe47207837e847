//! Governance: the genesis consortium, and membership proposals that pass with
//! more than 2/3 of the current validators (applied at once), fail as soon as
//! that can no longer happen, and expire after their ttl in blocks.
//! A proposal may also replace the consortium's Cedar policy set (`SetConsortiumPolicy`),
//! validated strictly when proposed and again when it passes.

use crate::entries::{
    ConsortiumPolicyEntry, InstitutionEntry, MemberEntry, ProposalEntry, ProposalStatus,
    ValidatorEntry, ValidatorSet,
};
use crate::error::TxError;
use crate::exec::{Call, Outcome};
use crate::store::Store;
use crate::{keys, possession, query, rw};
use medchain_types::{
    AccountId, Genesis, InstitutionId, InstitutionKind, MembershipChange, ProposalId, Role, limits,
    parse_validator_address,
};
use std::net::SocketAddr;

pub(crate) fn write_genesis<S: Store>(store: &mut S, genesis: &Genesis) {
    for institution in &genesis.institutions {
        admit(
            store,
            &institution.id,
            institution.kind,
            &institution.admin,
            0,
        );
    }
    let mut set = ValidatorSet::default();
    for validator in &genesis.validators {
        set.insert(ValidatorEntry {
            account: validator.account.clone(),
            institution: validator.institution.clone(),
            p2p_address: validator.p2p_address.clone(),
            http_address: validator.http_address.clone(),
            encryption_key: validator.encryption_key,
            since_height: 0,
        });
    }
    rw::write(store, keys::validator_set(), &set);
    // The default consortium rules hold from the start; `medchain_policy` tests that they pass
    // strict validation, and every node writes the same bytes.
    let policy = ConsortiumPolicyEntry {
        version: 1,
        schema_version: medchain_policy::SCHEMA_VERSION,
        schema: medchain_policy::SCHEMA.to_owned(),
        policies: medchain_policy::DEFAULT_POLICIES.to_owned(),
        since_height: 0,
        proposal: None,
    };
    rw::write(store, keys::consortium_policy(), &policy);
}

async fn require_validator<S: Store>(
    store: &S,
    sender: &AccountId,
) -> Result<ValidatorSet, TxError> {
    let set = rw::validator_set(store).await?;
    if !set.contains(sender) {
        return Err(TxError::NotAuthorized(format!(
            "only current validators propose and vote; {sender} is not one"
        )));
    }
    Ok(set)
}

pub(crate) async fn propose<S: Store>(
    store: &mut S,
    call: &Call<'_>,
    change: &MembershipChange,
    ttl_blocks: u64,
) -> Result<Outcome, TxError> {
    let set = require_validator(store, call.sender).await?;
    check_change(store, &set, change).await?;
    check_change_keys(call, change)?;
    let id = ProposalId::from_tx(&call.tx_hash);
    let mut proposal = ProposalEntry {
        id,
        proposer: call.sender.clone(),
        change: change.clone(),
        created_height: call.env.height,
        expires_height: call.env.height.saturating_add(ttl_blocks),
        // Proposing is approving: a single-validator consortium can still govern itself.
        approvals: vec![call.sender.clone()],
        rejections: Vec::new(),
        status: ProposalStatus::Open,
        closed_height: None,
    };
    settle(store, &set, &mut proposal, call.env.height).await?;
    rw::write(store, keys::proposal(&id), &proposal);
    Ok(Outcome::ProposalOpened {
        proposal: id,
        status: proposal.status,
    })
}

pub(crate) async fn vote<S: Store>(
    store: &mut S,
    call: &Call<'_>,
    id: &ProposalId,
    approve: bool,
) -> Result<Outcome, TxError> {
    let set = require_validator(store, call.sender).await?;
    let mut proposal = query::proposal(store, id)
        .await?
        .ok_or(TxError::UnknownProposal(*id))?;
    let status = proposal.status_at(call.env.height);
    if status != ProposalStatus::Open {
        return Err(TxError::ProposalClosed {
            proposal: *id,
            status,
        });
    }
    if proposal.approvals.contains(call.sender) || proposal.rejections.contains(call.sender) {
        return Err(TxError::AlreadyVoted { proposal: *id });
    }
    if approve {
        proposal.approvals.push(call.sender.clone());
    } else {
        proposal.rejections.push(call.sender.clone());
    }
    settle(store, &set, &mut proposal, call.env.height).await?;
    rw::write(store, keys::proposal(id), &proposal);
    Ok(Outcome::Voted {
        proposal: *id,
        status: proposal.status,
    })
}

/// Counts only votes of current validators: a removed validator's vote lapses.
async fn settle<S: Store>(
    store: &mut S,
    set: &ValidatorSet,
    proposal: &mut ProposalEntry,
    height: u64,
) -> Result<(), TxError> {
    let n = set.len();
    let approvals = proposal
        .approvals
        .iter()
        .filter(|a| set.contains(a))
        .count();
    let rejections = proposal
        .rejections
        .iter()
        .filter(|a| set.contains(a))
        .count();
    if 3 * approvals > 2 * n {
        proposal.status = match check_change(store, set, &proposal.change).await {
            Ok(()) => {
                apply_change(store, set, proposal, height).await?;
                ProposalStatus::Applied
            }
            Err(TxError::State(e)) => return Err(TxError::State(e)),
            Err(_) => ProposalStatus::Inapplicable,
        };
        proposal.closed_height = Some(height);
    } else if 3 * (n - rejections) <= 2 * n {
        proposal.status = ProposalStatus::Rejected;
        proposal.closed_height = Some(height);
    }
    Ok(())
}

/// Preconditions of a change, checked when proposed and again when it passes.
async fn check_change<S: Store>(
    store: &S,
    set: &ValidatorSet,
    change: &MembershipChange,
) -> Result<(), TxError> {
    let invalid = |reason: String| Err(TxError::InvalidChange(reason));
    match change {
        MembershipChange::AdmitInstitution { id, admin, .. } => {
            if rw::institution(store, id).await?.is_some() {
                return invalid(format!(
                    "institution {id} exists or existed; ids are never reused"
                ));
            }
            rw::ensure_unregistered(store, admin).await
        }
        MembershipChange::RemoveInstitution { id } => {
            rw::active_institution(store, id).await?;
            if set.validators.iter().all(|v| &v.institution == id) {
                return invalid(format!("removing {id} would leave no validator"));
            }
            Ok(())
        }
        MembershipChange::AddValidator {
            institution,
            validator,
            p2p_address,
            http_address,
            encryption_key,
            ..
        } => {
            rw::active_institution(store, institution).await?;
            if set.contains(validator) {
                return invalid(format!("{validator} is already a validator"));
            }
            if let Some(holder) = set
                .validators
                .iter()
                .find(|v| &v.encryption_key == encryption_key)
            {
                return invalid(format!(
                    "the encryption key is already validator {}'s; each validator seals fragments to its own key",
                    holder.account
                ));
            }
            if set.len() >= limits::VALIDATORS_MAX {
                return invalid(format!(
                    "the set is at validators_max ({})",
                    limits::VALIDATORS_MAX
                ));
            }
            check_new_address(set, "p2p_address", p2p_address, |v| &v.p2p_address)?;
            check_new_address(set, "http_address", http_address, |v| &v.http_address)
        }
        MembershipChange::RemoveValidator { validator } => {
            if !set.contains(validator) {
                return invalid(format!("{validator} is not a validator"));
            }
            if set.len() == 1 {
                return invalid("the last validator cannot be removed".into());
            }
            Ok(())
        }
        MembershipChange::SetConsortiumPolicy {
            schema_version,
            policies,
        } => medchain_policy::validate(*schema_version, policies)
            .map_err(|e| TxError::InvalidChange(format!("the consortium policy is refused: {e}"))),
        MembershipChange::ApproveStudy { study } => {
            crate::studies::check_approvable(store, study).await
        }
    }
}

/// A validator joins with proofs that it holds its account key and its X25519 key, on this
/// chain, and a new institution's admin with a proof for its account key: a proposer cannot
/// add a key it copied (someone else's vote key, another validator's encryption key to receive
/// that validator's re-encryption fragments twice, or an admin key nobody at the institution
/// holds).
fn check_change_keys(call: &Call<'_>, change: &MembershipChange) -> Result<(), TxError> {
    let chain_id = &call.env.chain_id;
    match change {
        MembershipChange::AddValidator {
            validator,
            encryption_key,
            validator_proof,
            encryption_key_proof,
            ..
        } => {
            possession::check_account(chain_id, validator, validator_proof, "validator key")?;
            possession::check_encryption_key(
                chain_id,
                validator,
                encryption_key,
                encryption_key_proof,
            )
        }
        MembershipChange::AdmitInstitution {
            admin, admin_proof, ..
        } => possession::check_account(chain_id, admin, admin_proof, "institution admin key"),
        MembershipChange::RemoveInstitution { .. }
        | MembershipChange::RemoveValidator { .. }
        | MembershipChange::SetConsortiumPolicy { .. }
        | MembershipChange::ApproveStudy { .. } => Ok(()),
    }
}

/// A new validator's address (`field` of its entry, read by `held`) must be dialable and not
/// another validator's: two nodes behind one address would leave one of them unreachable (the
/// set short of a vote, or patients' fragments sealed to a node nobody can ask).
fn check_new_address(
    set: &ValidatorSet,
    field: &'static str,
    address: &str,
    held: impl Fn(&ValidatorEntry) -> &String,
) -> Result<(), TxError> {
    let parsed = parse_validator_address(field, address)?;
    // Genesis addresses were only length-checked, so compare parsed forms as well as text.
    let taken = set.validators.iter().find(|v| {
        let other = held(v);
        other == address || other.parse::<SocketAddr>().ok() == Some(parsed)
    });
    match taken {
        Some(holder) => Err(TxError::InvalidChange(format!(
            "{field} {address} is already used by validator {}; give the new validator its own address",
            holder.account
        ))),
        None => Ok(()),
    }
}

async fn apply_change<S: Store>(
    store: &mut S,
    set: &ValidatorSet,
    proposal: &ProposalEntry,
    height: u64,
) -> Result<(), TxError> {
    if let MembershipChange::SetConsortiumPolicy {
        schema_version,
        policies,
    } = &proposal.change
    {
        return set_consortium_policy(store, proposal.id, *schema_version, policies, height).await;
    }
    if let MembershipChange::ApproveStudy { study } = &proposal.change {
        return crate::studies::approve(store, study, proposal.id, height).await;
    }
    let mut next = set.clone();
    match &proposal.change {
        MembershipChange::AdmitInstitution {
            id, kind, admin, ..
        } => admit(store, id, *kind, admin, height),
        MembershipChange::RemoveInstitution { id } => {
            let mut entry = rw::active_institution(store, id).await?;
            entry.active = false;
            entry.removed_height = Some(height);
            rw::write(store, keys::institution(id), &entry);
            next.validators.retain(|v| &v.institution != id);
        }
        MembershipChange::AddValidator {
            institution,
            validator,
            p2p_address,
            http_address,
            encryption_key,
            ..
        } => next.insert(ValidatorEntry {
            account: validator.clone(),
            institution: institution.clone(),
            p2p_address: p2p_address.clone(),
            http_address: http_address.clone(),
            encryption_key: *encryption_key,
            since_height: height,
        }),
        MembershipChange::RemoveValidator { validator } => {
            next.validators.retain(|v| &v.account != validator)
        }
        MembershipChange::SetConsortiumPolicy { .. } | MembershipChange::ApproveStudy { .. } => {
            unreachable!("a policy change and a study approval returned above")
        }
    }
    assert!(
        !next.is_empty() && next.len() <= limits::VALIDATORS_MAX,
        "check_change keeps the set in bounds"
    );
    rw::write(store, keys::validator_set(), &next);
    Ok(())
}

/// The next version of the consortium's rules, in force for the transactions after this one.
async fn set_consortium_policy<S: Store>(
    store: &mut S,
    proposal: ProposalId,
    schema_version: u32,
    policies: &str,
    height: u64,
) -> Result<(), TxError> {
    let version = match query::consortium_policy(store).await? {
        Some(current) => current.version + 1,
        None => 1,
    };
    let entry = ConsortiumPolicyEntry {
        version,
        schema_version,
        schema: medchain_policy::SCHEMA.to_owned(),
        policies: policies.to_owned(),
        since_height: height,
        proposal: Some(proposal),
    };
    rw::write(store, keys::consortium_policy(), &entry);
    Ok(())
}

/// Registers the institution and its admin (admins carry no read keys: they manage staff).
fn admit<S: Store>(
    store: &mut S,
    id: &InstitutionId,
    kind: InstitutionKind,
    admin: &AccountId,
    height: u64,
) {
    let institution = InstitutionEntry {
        id: id.clone(),
        kind,
        admin: admin.clone(),
        active: true,
        admitted_height: height,
        removed_height: None,
    };
    rw::write(store, keys::institution(id), &institution);
    let member = MemberEntry {
        account: admin.clone(),
        institution: id.clone(),
        role: Role::Admin,
        keys: None,
        registered_height: height,
        revoked_height: None,
    };
    rw::write(store, keys::member(admin), &member);
}
