//! `POST /v1/erasures/{record}`: once the patient's erasure of a record is final, this validator
//! deletes the record's ciphertext from its blob store, and the key fragments it holds of the
//! patient's consents that cover only this record, then answers its signed [`ErasureReceipt`]
//! for the patient's client to commit (`ConfirmErasure`). Asking again is harmless: the receipt
//! says the validator no longer holds the ciphertext, which stays true.
//!
//! A consent that covers other records too keeps its fragment: without the ciphertext, a
//! capsule fragment of the erased record opens nothing, and the other records stay readable.

use crate::api::{ApiError, ApiState};
use crate::queries::finalized_value;
use axum::{
    Json,
    extract::{Path, State},
};
use medchain_blob::BlobHash;
use medchain_state::{ConsentEntry, PatientConsents, RecordEntry, keys};
use medchain_types::{DataScope, ErasureReceipt, RecordId, api::ApiErrorCode};
use tracing::info;

#[utoipa::path(post, path = "/v1/erasures/{record}",
    params(("record" = String, Path, description = "record id, hex")),
    responses((status = 200, body = ErasureReceipt), (status = 403, body = medchain_types::api::ErrorBody)))]
pub async fn erase(
    State(state): State<ApiState>,
    Path(record): Path<String>,
) -> Result<Json<ErasureReceipt>, ApiError> {
    let id: RecordId = record.parse().map_err(|_| {
        ApiError::new(
            ApiErrorCode::Malformed,
            "record id is malformed (64 hex characters)",
        )
    })?;
    let entry: RecordEntry = finalized_value(&state, keys::record(&id))
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ApiErrorCode::UnknownRecord,
                format!("no record {id} is final on this node"),
            )
        })?;
    if entry.erasure.is_none() {
        // Retriable: this node may be a block behind the one that committed the erasure.
        return Err(ApiError::new(
            ApiErrorCode::StateUnavailable,
            format!(
                "record {id} is not erased in this node's finalized state: if its patient just erased it, retry in a moment; validators delete only after the ledger erased it"
            ),
        ));
    }
    let deleted = state
        .blobs()
        .store()
        .delete(&BlobHash(entry.content_hash))
        .await
        .map_err(crate::api::internal)?;
    let index: PatientConsents = finalized_value(&state, keys::patient_consents(&entry.patient))
        .await?
        .unwrap_or_default();
    let mut fragments = 0;
    for consent in &index.consents {
        let Some(consent) = finalized_value::<ConsentEntry>(&state, keys::consent(consent)).await?
        else {
            continue;
        };
        if matches!(&consent.policy.data, DataScope::Records(only) if only == &[id]) {
            state
                .reencryption()
                .delete_fragment(&consent.id, "its only record was erased");
            fragments += 1;
        }
    }
    info!(record = %id, ciphertext_deleted = deleted, fragments, "erased a record");
    Ok(Json(ErasureReceipt::sign(
        state.blobs().signer(),
        state.chain_id(),
        &id,
        &entry.content_hash,
    )))
}
