//! The validators' per-node services: handing a consent's sealed fragments to the
//! validators, asking which still hold them, and asking each for a capsule fragment of a
//! permitted read, and asking each to delete an erased record's ciphertext. Each call goes to
//! one validator's own API (its `http_address` in the proven validator set), since each holds
//! its own fragment and copy. What comes back is the validator's own word, not a proven ledger
//! value: a capsule fragment's worth is checked by its proof, an erasure receipt by its
//! signature, never taken on trust.

use crate::{Client, ClientError};
use medchain_types::{
    ConsentId,
    release::{FragmentHeld, FragmentUpload, ReleaseRequest, ReleaseResponse},
};

impl Client {
    /// Hands the validator at `http_address` its sealed fragment of `consent` (committed and
    /// final, at `committed_height` if known); the validator checks it against the consent
    /// before it keeps it.
    pub async fn put_fragment(
        &self,
        http_address: &str,
        consent: &ConsentId,
        sealed: &[u8],
        committed_height: Option<u64>,
    ) -> Result<FragmentHeld, ClientError> {
        let url = format!("http://{http_address}/v1/fragments/{consent}");
        let body = FragmentUpload {
            ciphertext: sealed.to_vec().into(),
            committed_height,
        };
        let response = self.http.put(&url).json(&body).send().await;
        self.read(&url, response).await
    }

    /// Whether the validator at `http_address` holds its fragment of `consent`.
    pub async fn fragment_held(
        &self,
        http_address: &str,
        consent: &ConsentId,
    ) -> Result<FragmentHeld, ClientError> {
        let url = format!("http://{http_address}/v1/fragments/{consent}");
        let response = self.http.get(&url).send().await;
        self.read(&url, response).await
    }

    /// Asks the validator at `http_address` for its capsule fragment of the permitted read that
    /// `request` names; the answer is sealed to the requester.
    pub async fn release(
        &self,
        http_address: &str,
        request: &ReleaseRequest,
    ) -> Result<ReleaseResponse, ClientError> {
        let url = format!("http://{http_address}/v1/releases");
        let response = self.http.post(&url).json(request).send().await;
        self.read(&url, response).await
    }
}

impl Client {
    /// Asks the validator at `http_address` to delete an erased record's ciphertext; answers its
    /// signed receipt (check it with `ErasureReceipt::verify` before committing it).
    pub async fn erase_on(
        &self,
        http_address: &str,
        record: &medchain_types::RecordId,
    ) -> Result<medchain_types::ErasureReceipt, ClientError> {
        let url = format!("http://{http_address}/v1/erasures/{record}");
        let response = self.http.post(&url).send().await;
        self.read(&url, response).await
    }
}
