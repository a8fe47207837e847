//! Patients: a key registers itself as a pseudonym at one active institution (once), with
//! that institution's co-signature, and sets emergency access per institution. Nobody else can.

use crate::entries::{EmergencyAccessEntry, PseudonymEntry};
use crate::error::TxError;
use crate::exec::{Call, Outcome};
use crate::store::Store;
use crate::{keys, possession, rw};
use medchain_types::possession::{may_register_patients, verify_pseudonym_cosignature};
use medchain_types::{AccountId, InstitutionId, Payload, ValidationError};

pub(crate) async fn register_pseudonym<S: Store>(
    store: &mut S,
    call: &Call<'_>,
    payload: &Payload,
) -> Result<Outcome, TxError> {
    let Payload::RegisterPseudonym {
        institution,
        pre_public_key,
        pre_key_proof,
        registrar,
        registrar_signature,
    } = payload
    else {
        unreachable!("dispatch routes only RegisterPseudonym here");
    };
    rw::active_institution(store, institution).await?;
    rw::ensure_unregistered(store, call.sender).await?;
    // The transaction's own signature proves the sender holds the pseudonym key; a weak key
    // would still let others sign as it.
    call.sender.check_registrable("pseudonym key")?;
    check_registrar(
        store,
        call,
        institution,
        pre_public_key,
        registrar,
        registrar_signature,
    )
    .await?;
    possession::check_pre_key(
        &call.env.chain_id,
        call.sender,
        pre_public_key,
        pre_key_proof,
    )?;
    let entry = PseudonymEntry {
        account: call.sender.clone(),
        institution: institution.clone(),
        pre_public_key: *pre_public_key,
        registered_height: call.env.height,
    };
    rw::write(store, keys::pseudonym(call.sender), &entry);
    // The log's length exists from registration on, so a client can prove it (0 included):
    // the state cannot prove a key absent, and a node hiding a log would otherwise answer "none".
    rw::write(store, keys::access_log_count(call.sender), &0u64);
    Ok(Outcome::PseudonymRegistered {
        account: call.sender.clone(),
    })
}

/// The institution vouches for its patient: an active admin or clinician of `institution`
/// co-signed this registration. One signature per patient the institution admits bounds how
/// many pseudonyms (and how much state) anyone can create, and names nothing beyond this
/// institution, so pseudonyms at two institutions stay unlinkable.
async fn check_registrar<S: Store>(
    store: &S,
    call: &Call<'_>,
    institution: &InstitutionId,
    pre_public_key: &[u8; 33],
    registrar: &AccountId,
    signature: &[u8; 64],
) -> Result<(), TxError> {
    let entry = rw::member(store, registrar)
        .await?
        .ok_or_else(|| TxError::UnknownMember(Box::new(registrar.clone())))?;
    if &entry.institution != institution || !may_register_patients(entry.role) {
        return Err(TxError::NotAuthorized(format!(
            "{registrar} cannot register patients at {institution}: ask an admin or clinician of {institution} to co-sign"
        )));
    }
    if !rw::member_is_active(store, &entry).await? {
        return Err(TxError::NotAuthorized(format!(
            "registrar {registrar} is revoked or its institution removed; ask an active member to co-sign"
        )));
    }
    let valid = verify_pseudonym_cosignature(
        registrar,
        &call.env.chain_id,
        call.sender,
        institution,
        pre_public_key,
        signature,
    );
    if !valid {
        return Err(TxError::Invalid(ValidationError::PossessionProof(
            "registrar's co-signature (it must sign this chain, pseudonym, institution and PRE key)",
        )));
    }
    Ok(())
}

pub(crate) async fn set_emergency_access<S: Store>(
    store: &mut S,
    call: &Call<'_>,
    institution: &InstitutionId,
    enabled: bool,
) -> Result<Outcome, TxError> {
    if rw::pseudonym(store, call.sender).await?.is_none() {
        return Err(TxError::UnknownSender {
            sender: Box::new(call.sender.clone()),
        });
    }
    let key = keys::emergency_access(call.sender, institution);
    if enabled {
        rw::active_institution(store, institution).await?;
        rw::write(
            store,
            key,
            &EmergencyAccessEntry {
                enabled_height: call.env.height,
            },
        );
    } else {
        // Disabling is always allowed, even for an institution removed since.
        store.put(key, None);
    }
    Ok(Outcome::EmergencyAccessSet {
        institution: institution.clone(),
        enabled,
    })
}
