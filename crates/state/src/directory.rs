//! Directory: an active institution's admin registers and revokes its
//! clinicians, researchers and auditors. Admins come only from governance.

use crate::entries::{MemberEntry, MemberKeys};
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
    }
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
    Ok(Outcome::MemberRevoked {
        account: account.clone(),
    })
}
