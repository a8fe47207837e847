//! Re-encryption releases: what a grantee signs to ask one validator for its capsule fragment
//! of a record, and how the validator seals the answer.
//!
//! A release request names one committed access-log entry (the patient's pseudonym and the
//! entry's sequence number) and the validator it is for, and is signed by the member who made
//! that request, under [`RELEASE_REQUEST_NAMESPACE`]. The validator releases only if that entry
//! is a permit by an unrevoked, unexpired consent whose grantee is the signer, in a finalized
//! block, and only once per entry: a replayed request is refused, and a request made for one
//! validator proves nothing to another.
//!
//! The capsule fragment goes back HPKE-sealed to the grantee's registered X25519 key, with an
//! `info` ([`cfrag_seal_info`]) naming the chain, the entry and the validator, so an eavesdropper
//! learns nothing and a sealed answer cannot be passed off as another entry's.

use crate::ids::{AccountId, ChainId};
use crate::{hexser, limits};
use commonware_cryptography::{Signer, ed25519};
use serde::{Deserialize, Serialize};

/// Ed25519 namespace of release requests; used for nothing else.
pub const RELEASE_REQUEST_NAMESPACE: &[u8] = b"medchain/reencryption-release/v1";
/// First part of a released capsule fragment's HPKE `info`.
pub const CFRAG_SEAL_INFO_PREFIX: &[u8] = b"medchain/reencryption/cfrag/v1";

/// `POST /v1/releases`: a grantee asks one validator for its capsule fragment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReleaseRequest {
    /// The record's patient pseudonym, whose access log holds the permit.
    pub patient: AccountId,
    /// The permit's sequence number in that log (`AccessDecided::sequence`).
    pub sequence: u64,
    /// The member who made the access request, and who signs this.
    pub requester: AccountId,
    /// The validator asked; a request for another validator is refused.
    pub validator: AccountId,
    /// `requester`'s Ed25519 signature over [`release_message`].
    #[serde(with = "hexser::array")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub signature: [u8; 64],
}

/// The answer: this validator's capsule fragment, sealed to the requester.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReleaseResponse {
    pub validator: AccountId,
    /// HPKE ciphertext of the Umbral capsule fragment, `info` = [`cfrag_seal_info`].
    #[serde(with = "hexser::bytes")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub sealed_cfrag: bytes::Bytes,
}

/// `PUT /v1/fragments/{consent}`: the patient hands a validator its sealed key fragment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FragmentUpload {
    /// Exactly [`limits::SEALED_FRAGMENT_SIZE_BYTES`].
    #[serde(with = "hexser::bytes")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub ciphertext: bytes::Bytes,
    /// The height of the block that committed the commitment this fragment matches (the
    /// grant, or its latest re-issue). A validator that has not finalized it yet answers
    /// `state_unavailable`, so the client retries instead of being refused by an older
    /// consent entry.
    #[serde(default)]
    pub committed_height: Option<u64>,
}

/// `GET /v1/fragments/{consent}` (and the answer to a `PUT`): whether this validator holds the
/// consent's fragment, checked against the committed consent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FragmentHeld {
    pub validator: AccountId,
    pub held: bool,
}

/// What the requester signs: chain ‖ patient ‖ sequence (u64 big-endian) ‖ requester ‖
/// validator. Every part has a fixed length, so the encoding is unambiguous.
pub fn release_message(
    chain_id: &ChainId,
    patient: &AccountId,
    sequence: u64,
    requester: &AccountId,
    validator: &AccountId,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 * 4 + 8);
    out.extend_from_slice(chain_id.as_bytes());
    out.extend_from_slice(&patient.to_bytes());
    out.extend_from_slice(&sequence.to_be_bytes());
    out.extend_from_slice(&requester.to_bytes());
    out.extend_from_slice(&validator.to_bytes());
    out
}

impl ReleaseRequest {
    /// The request `key`'s holder makes to `validator` for access-log entry `sequence`.
    pub fn sign(
        key: &ed25519::PrivateKey,
        chain_id: &ChainId,
        patient: AccountId,
        sequence: u64,
        validator: AccountId,
    ) -> Self {
        let requester = AccountId::from(key.public_key());
        let message = release_message(chain_id, &patient, sequence, &requester, &validator);
        let mut signature = [0u8; 64];
        signature.copy_from_slice(key.sign(RELEASE_REQUEST_NAMESPACE, &message).as_ref());
        Self {
            patient,
            sequence,
            requester,
            validator,
            signature,
        }
    }

    /// True if `requester` signed exactly this request on `chain_id`.
    pub fn verify(&self, chain_id: &ChainId) -> bool {
        let message = release_message(
            chain_id,
            &self.patient,
            self.sequence,
            &self.requester,
            &self.validator,
        );
        crate::possession::verify_ed25519(
            &self.requester,
            RELEASE_REQUEST_NAMESPACE,
            &message,
            &self.signature,
        )
    }
}

/// HPKE `info` of a released capsule fragment: prefix ‖ chain ‖ patient ‖ sequence ‖
/// requester ‖ validator.
pub fn cfrag_seal_info(request: &ReleaseRequest, chain_id: &ChainId) -> Vec<u8> {
    let mut info = Vec::with_capacity(CFRAG_SEAL_INFO_PREFIX.len() + 32 * 4 + 8);
    info.extend_from_slice(CFRAG_SEAL_INFO_PREFIX);
    info.extend_from_slice(&release_message(
        chain_id,
        &request.patient,
        request.sequence,
        &request.requester,
        &request.validator,
    ));
    info
}

/// Largest sealed capsule fragment a client accepts: an Umbral cfrag plus HPKE's overhead.
pub const SEALED_CFRAG_SIZE_MAX_BYTES: usize = limits::SEALED_FRAGMENT_SIZE_BYTES * 2;

#[cfg(test)]
mod tests {
    use super::*;

    fn account(seed: u64) -> AccountId {
        AccountId::from(ed25519::PrivateKey::from_seed(seed).public_key())
    }

    #[test]
    fn a_release_request_verifies_only_as_signed() {
        let chain = ChainId([1; 32]);
        let grantee = ed25519::PrivateKey::from_seed(7);
        let request = ReleaseRequest::sign(&grantee, &chain, account(1), 3, account(2));
        assert!(request.verify(&chain));
        assert!(!request.verify(&ChainId([2; 32])));
        let mut other_entry = request.clone();
        other_entry.sequence = 4;
        assert!(!other_entry.verify(&chain));
        let mut other_validator = request.clone();
        other_validator.validator = account(3);
        assert!(!other_validator.verify(&chain));
        let mut impostor = request.clone();
        impostor.requester = account(8);
        assert!(!impostor.verify(&chain));
        let mut garbled = request;
        garbled.signature[0] ^= 1;
        assert!(!garbled.verify(&chain));
    }
}
