//! Records as every client writes and reads them, between the file handling a front end does
//! (temporary files, progress, cancellation) and the ledger: who may write for whom, committing
//! a stored ciphertext, the patient's own key, and fetching a ciphertext intact.

use crate::blob::BlobUpload;
use crate::sharing::pre_secret_key;
use crate::{Client, ClientError};
use commonware_cryptography::Signer as _;
use medchain_crypto::{envelope, keys::PseudonymKeys, umbral};
use medchain_state::{RecordEntry, ValidatorSet};
use medchain_types::{
    AccountId, Payload, RecordId, Role, TxHash,
    api::{ApiErrorCode, TxState},
    codes::RecordCategory,
    limits,
};
use std::path::Path;

/// True for the answers that mean "no such entry on the ledger".
pub fn not_found(error: &ClientError) -> bool {
    matches!(
        error,
        ClientError::Api {
            code: ApiErrorCode::NotFound
                | ApiErrorCode::UnknownMember
                | ApiErrorCode::UnknownPseudonym
                | ApiErrorCode::UnknownRecord,
            ..
        }
    )
}

impl Client {
    /// The PRE key to seal a record for `patient` to, from their proven pseudonym entry, after
    /// checking (against proven state too) that `author` is an active clinician of the
    /// patient's institution, so a refusal comes before encrypting and uploading a large file.
    pub async fn record_recipient(
        &self,
        author: &AccountId,
        patient: &AccountId,
    ) -> Result<umbral::PublicKey, ClientError> {
        let member = match self.member(author).await {
            Ok(member) => member.value,
            Err(e) if not_found(&e) => {
                return Err(ClientError::Refused(format!(
                    "{author} is not a member of any institution; only a registered clinician can write records: ask your institution's admin to register you"
                )));
            }
            Err(e) => return Err(e),
        };
        if member.revoked_height.is_some() || member.role != Role::Clinician {
            return Err(ClientError::Refused(format!(
                "{author} is not an active clinician (role {}{}); only clinicians write records",
                format!("{:?}", member.role).to_lowercase(),
                if member.revoked_height.is_some() {
                    ", revoked"
                } else {
                    ""
                }
            )));
        }
        let pseudonym = match self.pseudonym(patient).await {
            Ok(pseudonym) => pseudonym.value,
            Err(e) if not_found(&e) => {
                return Err(ClientError::Refused(format!(
                    "no patient pseudonym {patient} on the ledger; ask the patient for their pseudonym at {0} (`medchain keys show --institution {0}`) and check it is registered",
                    member.institution
                )));
            }
            Err(e) => return Err(e),
        };
        if pseudonym.institution != member.institution {
            return Err(ClientError::Refused(format!(
                "pseudonym {patient} is registered at {}, you work at {}; write records for the patient's pseudonym at your own institution",
                pseudonym.institution, member.institution
            )));
        }
        umbral::PublicKey::from_compressed_bytes(&pseudonym.pre_public_key).map_err(|_| {
            ClientError::KeyMaterial("the patient's proven PRE key does not parse".into())
        })
    }

    /// Commits a record whose ciphertext `upload` stored (with its receipts) and whose data
    /// key `capsule` seals to the patient; answers the record's id once committed.
    pub async fn commit_record(
        &self,
        keys: &PseudonymKeys,
        patient: &AccountId,
        category: RecordCategory,
        upload: BlobUpload,
        capsule: &umbral::Capsule,
    ) -> Result<RecordId, ClientError> {
        let payload = Payload::CreateRecord {
            patient: patient.clone(),
            category,
            size_bytes: limits::record_size_class_bytes(upload.size_bytes),
            content_hash: upload.content_hash,
            capsule: capsule.to_bytes().into(),
            storage_receipts: upload.receipts,
        };
        let outcome = self.sign_and_submit(&keys.signing, payload).await?;
        match outcome.status {
            TxState::Committed => {
                let hash: TxHash = outcome.hash.parse().map_err(|_| {
                    ClientError::BadResponse("the node answered a malformed hash".into())
                })?;
                Ok(RecordId::from_tx(&hash))
            }
            TxState::Pending => Err(ClientError::NotCommitted {
                what: "the record".into(),
                reason: format!(
                    "the ciphertext is stored, but transaction {} is still pending after 30 s; check it with `medchain status` before writing it again",
                    outcome.hash
                ),
            }),
            TxState::Rejected => Err(ClientError::NotCommitted {
                what: "the record".into(),
                reason: outcome.error.map_or("no reason given".to_string(), |e| {
                    format!("{} ({})", e.message, e.code)
                }),
            }),
        }
    }

    /// Downloads record `entry`'s ciphertext into `file` from the first validator of the
    /// proven set that serves it intact (hash and size class checked), calling `on_failure`
    /// for each that does not.
    pub async fn fetch_record_ciphertext(
        &self,
        validators: &ValidatorSet,
        entry: &RecordEntry,
        file: &Path,
        mut on_failure: impl FnMut(&medchain_state::ValidatorEntry, &ClientError),
    ) -> Result<(), ClientError> {
        let mut failures = Vec::new();
        for validator in &validators.validators {
            match self
                .download_blob_from(
                    &validator.http_address,
                    &entry.content_hash,
                    entry.size_bytes,
                    file,
                )
                .await
            {
                Ok(_) => return Ok(()),
                Err(e) => {
                    on_failure(validator, &e);
                    failures.push(format!(
                        "  {} ({}): {e}",
                        validator.account, validator.http_address
                    ));
                }
            }
        }
        Err(ClientError::BadBlob {
            hash: hex::encode(entry.content_hash),
            reason: format!(
                "no validator served the ciphertext of record {} intact. Tried:\n{}",
                entry.id,
                failures.join("\n")
            ),
        })
    }
}

/// The record's data key, opened with the patient's own PRE secret (`keys`: the patient's key
/// set at the record's institution). Only the record's patient can do this; anyone else reads
/// through threshold re-encryption.
pub fn patient_data_key(
    keys: &PseudonymKeys,
    entry: &RecordEntry,
) -> Result<envelope::DataKey, ClientError> {
    let account = AccountId::from(keys.signing.public_key());
    if account != entry.patient {
        return Err(ClientError::Refused(format!(
            "this key is not the patient of record {} (its pseudonym at {} is {account}, the record's patient is {}); only the patient reads with their own key",
            entry.id, entry.institution, entry.patient
        )));
    }
    let capsule = umbral::Capsule::from_bytes(&entry.capsule).map_err(|_| {
        ClientError::KeyMaterial("the record's proven capsule does not parse".into())
    })?;
    let seed = umbral::decapsulate_original(&pre_secret_key(keys)?, &capsule).map_err(|_| {
        ClientError::KeyMaterial("cannot open the record's capsule with your PRE key".into())
    })?;
    Ok(envelope::DataKey::from_bytes(*seed.derive_key()))
}
