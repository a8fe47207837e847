//! Directory: an active institution's admin registers and revokes its
//! clinicians, researchers, auditors and its one emergency key service. Admins come only from
//! governance.

use crate::entries::{EmergencyServiceEntry, MemberEntry, MemberKeys};
use crate::error::TxError;
use crate::exec::{Call, Outcome};
use crate::store::Store;
use crate::{keys, possession, rw};
use medchain_types::{AccountId, Genesis, MemberKeyProofs, Role};

pub(crate) fn write_genesis_members<S: Store>(store: &mut S, genesis: &Genesis) {
    for member in &genesis.members {
        let entry = MemberEntry {
            account: member.account.clone(),
            institution: member.institution.clone(),
            role: member.role,
            keys: Some(MemberKeys {
                pre_public_key: member.pre_public_key,
                encryption_key: member.encryption_key,
            }),
            registered_height: 0,
            revoked_height: None,
        };
        rw::write(store, keys::member(&member.account), &entry);
        if member.role == Role::EmergencyService {
            write_emergency_service(store, &entry);
        }
    }
}

fn write_emergency_service<S: Store>(store: &mut S, member: &MemberEntry) {
    rw::write(
        store,
        keys::emergency_service(&member.institution),
        &EmergencyServiceEntry {
            account: member.account.clone(),
            registered_height: member.registered_height,
        },
    );
}

pub(crate) async fn register_member<S: Store>(
    store: &mut S,
    call: &Call<'_>,
    account: &AccountId,
    role: Role,
    pre_public_key: &[u8; 33],
    encryption_key: &[u8; 32],
    proofs: &MemberKeyProofs,
) -> Result<Outcome, TxError> {
    let admin =
        rw::active_member_with_role(store, call.sender, Role::Admin, "register members").await?;
    if role == Role::Admin {
        return Err(TxError::NotAuthorized(
            "admins are admitted with their institution by governance, not registered".into(),
        ));
    }
    rw::ensure_unregistered(store, account).await?;
    if role == Role::EmergencyService {
        let current: Option<EmergencyServiceEntry> = rw::read(
            store,
            &keys::emergency_service(&admin.institution),
            "emergency_service",
        )
        .await?;
        if let Some(current) = current {
            return Err(TxError::NotAuthorized(format!(
                "{} already has an emergency service ({}); revoke it first, then patients re-enable emergency access for the new one",
                admin.institution, current.account
            )));
        }
    }
    possession::check_member_keys(
        &call.env.chain_id,
        account,
        pre_public_key,
        encryption_key,
        proofs,
    )?;
    let entry = MemberEntry {
        account: account.clone(),
        institution: admin.institution,
        role,
        keys: Some(MemberKeys {
            pre_public_key: *pre_public_key,
            encryption_key: *encryption_key,
        }),
        registered_height: call.env.height,
        revoked_height: None,
    };
    rw::write(store, keys::member(account), &entry);
    if role == Role::EmergencyService {
        write_emergency_service(store, &entry);
    }
    Ok(Outcome::MemberRegistered {
        account: account.clone(),
    })
}

pub(crate) async fn revoke_member<S: Store>(
    store: &mut S,
    call: &Call<'_>,
    account: &AccountId,
) -> Result<Outcome, TxError> {
    let admin =
        rw::active_member_with_role(store, call.sender, Role::Admin, "revoke members").await?;
    let mut entry = rw::member(store, account)
        .await?
        .ok_or_else(|| TxError::UnknownMember(Box::new(account.clone())))?;
    if entry.institution != admin.institution {
        return Err(TxError::NotAuthorized(format!(
            "{account} belongs to {}, not to {}",
            entry.institution, admin.institution
        )));
    }
    if entry.role == Role::Admin {
        return Err(TxError::NotAuthorized(
            "an admin leaves only with its institution".into(),
        ));
    }
    if entry.revoked_height.is_some() {
        return Err(TxError::AlreadyRevoked);
    }
    entry.revoked_height = Some(call.env.height);
    rw::write(store, keys::member(account), &entry);
    if entry.role == Role::EmergencyService {
        // Its fragments release nothing from here on: validators check the service is active.
        store.put(keys::emergency_service(&entry.institution), None);
    }
    Ok(Outcome::MemberRevoked {
        account: account.clone(),
    })
}
