//! Break-glass key requests: what a clinician signs to ask their institution's emergency key
//! service for a record's data key, and how the service seals the answer.
//!
//! A patient who enables emergency access for an institution delegates re-encryption fragments
//! to that institution's emergency service (a member with role `emergency_service`), not to any
//! one clinician. A clinician then reads under purpose ETREAT: the ledger decides and flags the
//! read (`break_glass`). The request below names that committed access-log entry and the service
//! it is for, and is signed by the clinician under [`EMERGENCY_KEY_REQUEST_NAMESPACE`]. The
//! service hands over the key only once the entry is a final break-glass permit for the signer,
//! and only once per entry.
//!
//! The data key goes back HPKE-sealed to the clinician's registered X25519 key, with an `info`
//! ([`emergency_key_seal_info`]) naming the chain, the entry, the clinician and the service.

use crate::hexser;
use crate::ids::{AccountId, ChainId};
use commonware_cryptography::{Signer, ed25519};
use serde::{Deserialize, Serialize};

/// Ed25519 namespace of emergency key requests; used for nothing else.
pub const EMERGENCY_KEY_REQUEST_NAMESPACE: &[u8] = b"medchain/emergency-key-request/v1";
/// First part of a sealed data key's HPKE `info`.
pub const EMERGENCY_KEY_SEAL_INFO_PREFIX: &[u8] = b"medchain/emergency/data-key/v1";
/// Largest sealed data key a client accepts: a 32-byte key plus HPKE's overhead, with room.
pub const SEALED_DATA_KEY_SIZE_MAX_BYTES: usize = 256;

/// `POST /v1/emergency-keys`: a clinician asks their institution's emergency service for the key
/// of the record a break-glass permit is for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmergencyKeyRequest {
    /// The record's patient pseudonym, whose access log holds the flagged permit.
    pub patient: AccountId,
    /// The permit's sequence number in that log.
    pub sequence: u64,
    /// The clinician who made the access request, and who signs this.
    pub requester: AccountId,
    /// The emergency service asked (its member account).
    pub service: AccountId,
    /// `requester`'s Ed25519 signature over [`emergency_key_message`].
    #[serde(with = "hexser::array")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub signature: [u8; 64],
}

/// The answer: the record's data key, sealed to the requester.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmergencyKeyResponse {
    pub service: AccountId,
    /// HPKE ciphertext of the 32-byte data key, `info` = [`emergency_key_seal_info`].
    #[serde(with = "hexser::bytes")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub sealed_key: bytes::Bytes,
}

/// What the clinician signs: chain ‖ patient ‖ sequence (u64 big-endian) ‖ requester ‖
/// service, the layout of a release request with the service in the validator's place (the
/// namespaces keep the two apart).
pub fn emergency_key_message(
    chain_id: &ChainId,
    patient: &AccountId,
    sequence: u64,
    requester: &AccountId,
    service: &AccountId,
) -> Vec<u8> {
    crate::release::release_message(chain_id, patient, sequence, requester, service)
}

impl EmergencyKeyRequest {
    /// The request `key`'s holder makes to `service` for access-log entry `sequence`.
    pub fn sign(
        key: &ed25519::PrivateKey,
        chain_id: &ChainId,
        patient: AccountId,
        sequence: u64,
        service: AccountId,
    ) -> Self {
        let requester = AccountId::from(key.public_key());
        let message = emergency_key_message(chain_id, &patient, sequence, &requester, &service);
        let mut signature = [0u8; 64];
        signature.copy_from_slice(key.sign(EMERGENCY_KEY_REQUEST_NAMESPACE, &message).as_ref());
        Self {
            patient,
            sequence,
            requester,
            service,
            signature,
        }
    }

    /// True if `requester` signed exactly this request on `chain_id`.
    pub fn verify(&self, chain_id: &ChainId) -> bool {
        crate::possession::verify_ed25519(
            &self.requester,
            EMERGENCY_KEY_REQUEST_NAMESPACE,
            &self.message(chain_id),
            &self.signature,
        )
    }

    fn message(&self, chain_id: &ChainId) -> Vec<u8> {
        emergency_key_message(
            chain_id,
            &self.patient,
            self.sequence,
            &self.requester,
            &self.service,
        )
    }
}

/// HPKE `info` of a sealed data key: prefix ‖ chain ‖ patient ‖ sequence ‖ requester ‖ service.
pub fn emergency_key_seal_info(request: &EmergencyKeyRequest, chain_id: &ChainId) -> Vec<u8> {
    let mut info = EMERGENCY_KEY_SEAL_INFO_PREFIX.to_vec();
    info.extend_from_slice(&request.message(chain_id));
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(seed: u64) -> AccountId {
        AccountId::from(ed25519::PrivateKey::from_seed(seed).public_key())
    }

    #[test]
    fn a_request_verifies_only_unchanged_and_on_its_chain() {
        let chain = ChainId([1; 32]);
        let clinician = ed25519::PrivateKey::from_seed(2);
        let request = EmergencyKeyRequest::sign(&clinician, &chain, account(3), 7, account(4));
        assert!(request.verify(&chain));
        assert!(!request.verify(&ChainId([2; 32])));
        let mut other_entry = request.clone();
        other_entry.sequence = 8;
        assert!(!other_entry.verify(&chain));
        let mut other_service = request.clone();
        other_service.service = account(5);
        assert!(!other_service.verify(&chain));
        let mut forged = request.clone();
        forged.requester = account(6);
        assert!(!forged.verify(&chain));
    }

    #[test]
    fn the_seal_info_names_the_entry_and_the_service() {
        let chain = ChainId([1; 32]);
        let clinician = ed25519::PrivateKey::from_seed(2);
        let one = EmergencyKeyRequest::sign(&clinician, &chain, account(3), 7, account(4));
        let other = EmergencyKeyRequest::sign(&clinician, &chain, account(3), 8, account(4));
        assert!(emergency_key_seal_info(&one, &chain).starts_with(EMERGENCY_KEY_SEAL_INFO_PREFIX));
        assert_ne!(
            emergency_key_seal_info(&one, &chain),
            emergency_key_seal_info(&other, &chain)
        );
    }
}
