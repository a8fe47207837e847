//! Patients: a key registers itself as a pseudonym at one active institution
//! (once), and sets emergency access per institution. Nobody else can.

use crate::entries::{EmergencyAccessEntry, PseudonymEntry};
use crate::error::TxError;
use crate::exec::{Call, Outcome};
use crate::store::Store;
use crate::{keys, rw};
use medchain_types::InstitutionId;

pub(crate) async fn register_pseudonym<S: Store>(
    store: &mut S,
    call: &Call<'_>,
    institution: &InstitutionId,
    pre_public_key: &[u8; 33],
) -> Result<Outcome, TxError> {
    rw::active_institution(store, institution).await?;
    rw::ensure_unregistered(store, call.sender).await?;
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
