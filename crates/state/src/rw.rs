//! Typed reads and writes over a `Store`, and the lookups every handler shares.

use crate::entries::{InstitutionEntry, MemberEntry, PseudonymEntry, ValidatorSet};
use crate::error::{StateError, TxError};
use crate::keys;
use crate::store::Store;
use commonware_codec::{Decode, Encode, Read};
use medchain_types::{AccountId, InstitutionId};

/// Reads and decodes one value; a value that does not decode is corruption, not bad input.
pub(crate) async fn read<S: Store, T: Read<Cfg = ()>>(
    store: &S,
    key: &[u8],
    table: &'static str,
) -> Result<Option<T>, StateError> {
    let Some(raw) = store.get(key).await? else {
        return Ok(None);
    };
    T::decode_cfg(raw, &())
        .map(Some)
        .map_err(|e| StateError::Corrupt {
            table,
            reason: e.to_string(),
        })
}

pub(crate) fn write<S: Store, T: Encode>(store: &mut S, key: Vec<u8>, value: &T) {
    store.put(key, Some(value.encode().to_vec()));
}

/// Appends to an append-only log (its length at `count_key`, its lines at `line(sequence)`):
/// `entry` gets the new line's sequence.
pub(crate) async fn append<S: Store, T: Encode>(
    store: &mut S,
    count_key: Vec<u8>,
    line: fn(u64) -> Vec<u8>,
    table: &'static str,
    entry: impl FnOnce(u64) -> T,
) -> Result<u64, StateError> {
    let sequence: u64 = read(store, &count_key, table).await?.unwrap_or(0);
    write(store, line(sequence), &entry(sequence));
    write(store, count_key, &(sequence + 1));
    Ok(sequence)
}

pub(crate) async fn validator_set<S: Store>(store: &S) -> Result<ValidatorSet, StateError> {
    Ok(read(store, &keys::validator_set(), "validator_set")
        .await?
        .unwrap_or_default())
}

pub(crate) async fn member<S: Store>(
    store: &S,
    account: &AccountId,
) -> Result<Option<MemberEntry>, StateError> {
    read(store, &keys::member(account), "member").await
}

pub(crate) async fn pseudonym<S: Store>(
    store: &S,
    account: &AccountId,
) -> Result<Option<PseudonymEntry>, StateError> {
    read(store, &keys::pseudonym(account), "pseudonym").await
}

pub(crate) async fn institution<S: Store>(
    store: &S,
    id: &InstitutionId,
) -> Result<Option<InstitutionEntry>, StateError> {
    read(store, &keys::institution(id), "institution").await
}

/// The institution, which must exist and not have been removed.
pub(crate) async fn active_institution<S: Store>(
    store: &S,
    id: &InstitutionId,
) -> Result<InstitutionEntry, TxError> {
    let entry = institution(store, id)
        .await?
        .ok_or_else(|| TxError::UnknownInstitution(id.clone()))?;
    if !entry.active {
        return Err(TxError::InstitutionInactive(id.clone()));
    }
    Ok(entry)
}

/// A member is active while it is unrevoked and its institution is in the
/// consortium: removing an institution deactivates all its members at once.
pub(crate) async fn member_is_active<S: Store>(
    store: &S,
    member: &MemberEntry,
) -> Result<bool, StateError> {
    if member.revoked_height.is_some() {
        return Ok(false);
    }
    Ok(institution(store, &member.institution)
        .await?
        .is_some_and(|i| i.active))
}

/// The sender as an active member with `role`.
pub(crate) async fn active_member_with_role<S: Store>(
    store: &S,
    sender: &AccountId,
    role: medchain_types::Role,
    action: &str,
) -> Result<MemberEntry, TxError> {
    let entry = member(store, sender)
        .await?
        .ok_or_else(|| TxError::UnknownSender {
            sender: Box::new(sender.clone()),
        })?;
    if !member_is_active(store, &entry).await? {
        return Err(TxError::NotAuthorized(format!(
            "{sender} is revoked or its institution was removed; it cannot {action}"
        )));
    }
    if entry.role != role {
        return Err(TxError::NotAuthorized(format!(
            "only a {role:?} may {action}; {sender} is a {:?}",
            entry.role
        )));
    }
    Ok(entry)
}

/// One key is one identity: a member, or a pseudonym, never both, never twice.
pub(crate) async fn ensure_unregistered<S: Store>(
    store: &S,
    account: &AccountId,
) -> Result<(), TxError> {
    if member(store, account).await?.is_some() || pseudonym(store, account).await?.is_some() {
        return Err(TxError::AlreadyRegistered {
            account: Box::new(account.clone()),
        });
    }
    Ok(())
}
