//! Erasure receipts: a validator's signed statement that it deleted a record's ciphertext.
//!
//! Once a patient's `EraseRecord` is final, each validator deletes the record's ciphertext from
//! its blob store (and the key fragments of consents that cover only this record) and signs a
//! receipt; the patient's client commits the receipts (`ConfirmErasure`), so `audit record`
//! shows which validators confirmed. The ledger keeps only the hash, the metadata and the
//! receipts; without the ciphertext the capsule on the ledger opens nothing.
//!
//! The signed message is domain-separated ([`ERASURE_RECEIPT_NAMESPACE`]) and names the chain,
//! the validator, the record and its content hash, so a receipt for one record, chain or
//! validator proves nothing about another.

use crate::ids::{AccountId, ChainId, RecordId};
use crate::{hexser, impl_struct_codec};
use commonware_cryptography::{Signer, ed25519};
use serde::{Deserialize, Serialize};

/// Ed25519 namespace of erasure receipts; used for nothing else.
pub const ERASURE_RECEIPT_NAMESPACE: &[u8] = b"medchain/erasure-receipt/v1";

/// One validator's receipt for one erased record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErasureReceipt {
    /// The validator's Ed25519 consensus key, which signed.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub validator: AccountId,
    #[serde(with = "hexser::array")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub signature: [u8; 64],
}
impl_struct_codec!(ErasureReceipt {
    validator: (),
    signature: (),
});

/// What a validator signs: chain id ‖ validator ‖ record id ‖ content hash (fixed lengths).
pub fn erasure_message(
    chain_id: &ChainId,
    validator: &AccountId,
    record: &RecordId,
    content_hash: &[u8; 32],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 * 4);
    out.extend_from_slice(chain_id.as_bytes());
    out.extend_from_slice(&validator.to_bytes());
    out.extend_from_slice(record.as_bytes());
    out.extend_from_slice(content_hash);
    out
}

impl ErasureReceipt {
    /// The receipt `key`'s holder gives once it deleted `record`'s ciphertext.
    pub fn sign(
        key: &ed25519::PrivateKey,
        chain_id: &ChainId,
        record: &RecordId,
        content_hash: &[u8; 32],
    ) -> Self {
        let validator = AccountId::from(key.public_key());
        let message = erasure_message(chain_id, &validator, record, content_hash);
        let mut signature = [0u8; 64];
        signature.copy_from_slice(key.sign(ERASURE_RECEIPT_NAMESPACE, &message).as_ref());
        Self {
            validator,
            signature,
        }
    }

    /// True if the receipt is its validator's signature for exactly this chain and record.
    pub fn verify(&self, chain_id: &ChainId, record: &RecordId, content_hash: &[u8; 32]) -> bool {
        let message = erasure_message(chain_id, &self.validator, record, content_hash);
        crate::possession::verify_ed25519(
            &self.validator,
            ERASURE_RECEIPT_NAMESPACE,
            &message,
            &self.signature,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receipt_verifies_for_exactly_its_chain_record_and_content() {
        let key = ed25519::PrivateKey::from_seed(1);
        let (chain, record) = (ChainId([1; 32]), RecordId([2; 32]));
        let receipt = ErasureReceipt::sign(&key, &chain, &record, &[3; 32]);
        assert!(receipt.verify(&chain, &record, &[3; 32]));
        assert!(!receipt.verify(&ChainId([9; 32]), &record, &[3; 32]));
        assert!(!receipt.verify(&chain, &RecordId([9; 32]), &[3; 32]));
        assert!(!receipt.verify(&chain, &record, &[9; 32]));
        let mut claimed = receipt.clone();
        claimed.validator = AccountId::from(ed25519::PrivateKey::from_seed(2).public_key());
        assert!(!claimed.verify(&chain, &record, &[3; 32]));
    }
}
