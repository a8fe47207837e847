//! Records: an active clinician of an active institution registers an
//! encrypted off-chain record for a pseudonym registered at the same institution.

use crate::entries::RecordEntry;
use crate::error::TxError;
use crate::exec::{Call, Outcome};
use crate::store::Store;
use crate::{keys, rw};
use medchain_crypto::umbral;
use medchain_types::{Payload, RecordId, Role, ValidationError, limits};

// The ledger's fixed sizes are the crypto library's: one capsule, one HPKE-sealed kfrag.
const _: () = assert!(limits::CAPSULE_SIZE_BYTES == umbral::CAPSULE_SIZE_BYTES);
const _: () = assert!(
    limits::SEALED_FRAGMENT_SIZE_BYTES
        == medchain_crypto::keys::hpke::SEAL_OVERHEAD_BYTES + umbral::KFRAG_SIZE_BYTES
);

pub(crate) async fn create_record<S: Store>(
    store: &mut S,
    call: &Call<'_>,
    payload: &Payload,
) -> Result<Outcome, TxError> {
    let Payload::CreateRecord {
        patient,
        category,
        size_bytes,
        content_hash,
        capsule,
    } = payload
    else {
        unreachable!("dispatch routes only CreateRecord here");
    };
    let author =
        rw::active_member_with_role(store, call.sender, Role::Clinician, "create records").await?;
    // The capsule is the record's data key encapsulated to the patient: it must be one, not
    // arbitrary bytes stored on the ledger for ever.
    if umbral::Capsule::from_bytes(capsule).is_err() {
        return Err(TxError::Invalid(ValidationError::Transaction(
            "capsule is not a valid Umbral capsule; encapsulate the data key to the patient's PRE key and send capsule.to_bytes()",
        )));
    }
    let pseudonym = rw::pseudonym(store, patient)
        .await?
        .ok_or_else(|| TxError::UnknownPseudonym(Box::new(patient.clone())))?;
    if pseudonym.institution != author.institution {
        return Err(TxError::NotAuthorized(format!(
            "pseudonym {patient} is registered at {}, the clinician works at {}",
            pseudonym.institution, author.institution
        )));
    }
    let id = RecordId::from_tx(&call.tx_hash);
    let entry = RecordEntry {
        id,
        patient: patient.clone(),
        author: call.sender.clone(),
        institution: author.institution,
        category: *category,
        size_bytes: *size_bytes,
        content_hash: *content_hash,
        capsule: capsule.clone(),
        created_height: call.env.height,
        created_ms: call.env.timestamp_ms,
    };
    rw::write(store, keys::record(&id), &entry);
    Ok(Outcome::RecordCreated { record: id })
}
