//! Break-glass reads through an institution's emergency key service: the clinician's signed
//! request for the key of a final, flagged ETREAT permit, and opening the sealed answer. The
//! service's answer is its own word; the data key it seals is checked by the record's
//! authenticated decryption, never taken on trust.

use crate::{Client, ClientError};
use medchain_crypto::{
    envelope,
    keys::{PseudonymKeys, hpke},
};
use medchain_types::{
    AccountId,
    emergency::{
        EmergencyKeyRequest, EmergencyKeyResponse, SEALED_DATA_KEY_SIZE_MAX_BYTES,
        emergency_key_seal_info,
    },
};

impl Client {
    /// Asks the emergency key service at `service_url` for the data key of the break-glass
    /// permit `sequence` in `patient`'s access log, and opens the answer with `keys`.
    pub async fn emergency_data_key(
        &self,
        service_url: &str,
        keys: &PseudonymKeys,
        service: &AccountId,
        patient: &AccountId,
        sequence: u64,
    ) -> Result<envelope::DataKey, ClientError> {
        let chain_id = self.chain_id()?;
        let request = EmergencyKeyRequest::sign(
            &keys.signing,
            &chain_id,
            patient.clone(),
            sequence,
            service.clone(),
        );
        let url = format!("{}/v1/emergency-keys", service_url.trim_end_matches('/'));
        let response = self.http.post(&url).json(&request).send().await;
        let answer: EmergencyKeyResponse = self.read(&url, response).await?;
        if answer.sealed_key.len() > SEALED_DATA_KEY_SIZE_MAX_BYTES {
            return Err(ClientError::BadFragment(format!(
                "the emergency service's sealed key is {} bytes, longer than {SEALED_DATA_KEY_SIZE_MAX_BYTES}",
                answer.sealed_key.len()
            )));
        }
        let opened = hpke::open_with(
            &keys.encryption,
            &emergency_key_seal_info(&request, &chain_id),
            b"",
            &answer.sealed_key,
        )
        .map_err(|_| {
            ClientError::BadFragment(
                "the emergency service's answer does not open with your encryption key".into(),
            )
        })?;
        let bytes: [u8; 32] = opened.as_slice().try_into().map_err(|_| {
            ClientError::BadFragment("the emergency service's answer is not a 32-byte key".into())
        })?;
        Ok(envelope::DataKey::from_bytes(bytes))
    }
}
