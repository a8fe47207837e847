//! Records: an active clinician of an active institution registers an
//! encrypted off-chain record for a pseudonym registered at the same institution, once 2f+1
//! current validators have signed that they hold its ciphertext (durable upload, then commit).
//!
//! Erasure: the patient's `EraseRecord` denies every later read; validators' erasure receipts
//! (`ConfirmErasure`) are kept with the record, so an audit shows who deleted the ciphertext.
//!
//! The storage receipts are checked here and not kept in state: they are in the transaction, which
//! block history keeps, and the record's id is derived from the transaction's hash, so the
//! record entry already commits to exactly the receipts that admitted it.

use crate::entries::{RecordEntry, RecordErasure, ValidatorSet};
use crate::error::{StorageReceiptFault, TxError};
use crate::exec::{Call, Outcome};
use crate::store::Store;
use crate::{keys, rw};
use medchain_crypto::umbral;
use medchain_types::{
    AccountId, ChainId, ErasureReceipt, Payload, RecordCategory, RecordId, Role, StorageReceipt,
    ValidationError, limits,
};

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
        storage_receipts,
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
    let validators = rw::validator_set(store).await?;
    check_storage_receipts(
        &validators,
        &call.env.chain_id,
        content_hash,
        *size_bytes,
        storage_receipts,
    )?;
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
        erasure: None,
    };
    let existing: Option<RecordId> = rw::read(
        store,
        &keys::record_by_content(content_hash),
        "record_by_content",
    )
    .await?;
    if existing.is_some() {
        return Err(TxError::Invalid(ValidationError::Transaction(
            "another record already has this ciphertext; encrypt the content afresh (a new data key) for a new record",
        )));
    }
    rw::write(store, keys::record(&id), &entry);
    rw::write(store, keys::record_by_content(content_hash), &id);
    adjust_category_count(store, patient, *category, true).await?;
    Ok(Outcome::RecordCreated { record: id })
}

/// Every receipt must be a distinct current validator's signature for exactly this chain, blob
/// and size class, and there must be at least [`ValidatorSet::storage_quorum`] of them. A bad
/// receipt refuses the record rather than being skipped: the client checked each one before
/// sending, so a bad one means a confused or dishonest client, and block history keeps no junk.
fn check_storage_receipts(
    validators: &ValidatorSet,
    chain_id: &ChainId,
    content_hash: &[u8; 32],
    size_class_bytes: u64,
    receipts: &[StorageReceipt],
) -> Result<(), TxError> {
    let refuse = |receipt: &StorageReceipt, reason| TxError::BadStorageReceipt {
        validator: Box::new(receipt.validator.clone()),
        reason,
    };
    // Cheap checks first, signatures last.
    let mut seen = std::collections::BTreeSet::new();
    for receipt in receipts {
        if !validators.contains(&receipt.validator) {
            return Err(refuse(receipt, StorageReceiptFault::NotValidator));
        }
        if !seen.insert(&receipt.validator) {
            return Err(refuse(receipt, StorageReceiptFault::Duplicate));
        }
        if receipt.content_hash != *content_hash || receipt.size_class_bytes != size_class_bytes {
            return Err(refuse(receipt, StorageReceiptFault::OtherBlob));
        }
    }
    let needed = validators.storage_quorum();
    if receipts.len() < needed {
        return Err(TxError::StorageQuorumNotMet {
            got: receipts.len(),
            needed,
            validators: validators.len(),
        });
    }
    for receipt in receipts {
        if !receipt.verify(chain_id, content_hash, size_class_bytes) {
            return Err(refuse(receipt, StorageReceiptFault::BadSignature));
        }
    }
    Ok(())
}

/// The patient erases one of their records: reads are denied from this block on.
pub(crate) async fn erase<S: Store>(
    store: &mut S,
    call: &Call<'_>,
    id: &RecordId,
) -> Result<Outcome, TxError> {
    let mut entry = crate::query::record(store, id)
        .await?
        .ok_or(TxError::UnknownRecord(*id))?;
    if &entry.patient != call.sender {
        return Err(TxError::NotAuthorized(format!(
            "only the record's patient erases record {id}; sign with the patient's pseudonym at {}",
            entry.institution
        )));
    }
    if entry.erasure.is_some() {
        return Err(TxError::AlreadyErased(*id));
    }
    entry.erasure = Some(RecordErasure {
        requested_height: call.env.height,
        receipts: Vec::new(),
    });
    rw::write(store, keys::record(id), &entry);
    adjust_category_count(store, &entry.patient, entry.category, false).await?;
    Ok(Outcome::RecordErased { record: *id })
}

/// Adds validators' erasure receipts to an erased record. Anyone may submit them (the
/// signatures are what counts); each must be a current validator's, for this chain, record and
/// content hash, and not already recorded.
pub(crate) async fn confirm_erasure<S: Store>(
    store: &mut S,
    call: &Call<'_>,
    id: &RecordId,
    receipts: &[ErasureReceipt],
) -> Result<Outcome, TxError> {
    let mut entry = crate::query::record(store, id)
        .await?
        .ok_or(TxError::UnknownRecord(*id))?;
    let Some(erasure) = entry.erasure.as_mut() else {
        return Err(TxError::NotAuthorized(format!(
            "record {id} is not erased; its patient erases it first (EraseRecord)"
        )));
    };
    let validators = rw::validator_set(store).await?;
    let refuse = |receipt: &ErasureReceipt, reason: &'static str| TxError::BadErasureReceipt {
        validator: Box::new(receipt.validator.clone()),
        reason,
    };
    let mut seen: std::collections::BTreeSet<&AccountId> =
        erasure.receipts.iter().map(|r| &r.validator).collect();
    for receipt in receipts {
        if !validators.contains(&receipt.validator) {
            return Err(refuse(receipt, "it is not a current validator"));
        }
        if !seen.insert(&receipt.validator) {
            return Err(refuse(
                receipt,
                "that validator's receipt is already recorded",
            ));
        }
    }
    for receipt in receipts {
        if !receipt.verify(&call.env.chain_id, id, &entry.content_hash) {
            return Err(refuse(
                receipt,
                "its signature does not verify for this chain and record (namespace medchain/erasure-receipt/v1)",
            ));
        }
    }
    erasure.receipts.extend(receipts.iter().cloned());
    let confirmed = erasure.receipts.len();
    rw::write(store, keys::record(id), &entry);
    Ok(Outcome::ErasureConfirmed {
        record: *id,
        confirmed,
    })
}

/// Counts a pseudonym's unerased records per category: a study's cohort filter asks whether
/// a ring member holds one, without reading its records.
async fn adjust_category_count<S: Store>(
    store: &mut S,
    patient: &AccountId,
    category: RecordCategory,
    created: bool,
) -> Result<(), TxError> {
    let key = keys::patient_category(patient, category);
    let count: u64 = rw::read(store, &key, "patient_category")
        .await?
        .unwrap_or(0);
    let next = if created {
        count + 1
    } else {
        assert!(count > 0, "an unerased record of this category was counted");
        count - 1
    };
    rw::write(store, key, &next);
    Ok(())
}
