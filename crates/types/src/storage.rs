//! Storage receipts: a validator's signed statement that it holds a record's ciphertext.
//!
//! A validator signs one only after its blob store checked the uploaded bytes against their
//! BLAKE3 hash and size and published them durably. `CreateRecord` must carry receipts from a
//! quorum (2f+1) of the current validators for exactly its content hash and size, so that at
//! least f+1 honest validators hold the bytes the ledger points to.
//!
//! The signed message is domain-separated ([`STORAGE_RECEIPT_NAMESPACE`], Ed25519 under
//! commonware's namespaced signing) and names the chain, the validator's own key, the content
//! hash and the size class: a receipt for one chain, blob, size or validator proves nothing
//! about another.
//!
//! The receipt names the ciphertext's size class ([`limits::record_size_class_bytes`]), not its
//! exact size: the receipts travel in the `CreateRecord` transaction, so block history keeps
//! them for ever, and an exact size would tell an observer what kind of document a patient has,
//! which the ledger's own size class is there to hide. The hash already pins the exact bytes.

use crate::ids::{AccountId, ChainId};
use crate::{hexser, impl_struct_codec, limits};
use commonware_cryptography::{Signer, ed25519};
use serde::{Deserialize, Serialize};

/// Ed25519 namespace of storage receipts; used for nothing else.
pub const STORAGE_RECEIPT_NAMESPACE: &[u8] = b"medchain/storage-receipt/v1";

/// One validator's receipt for one stored blob.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StorageReceipt {
    /// The validator's Ed25519 consensus key, which signed.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub validator: AccountId,
    /// BLAKE3 of the ciphertext (the envelope's `content_hash`).
    #[serde(with = "hexser::array")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub content_hash: [u8; 32],
    /// The ciphertext's size class in bytes (`limits::record_size_class_bytes` of its size).
    pub size_class_bytes: u64,
    #[serde(with = "hexser::array")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub signature: [u8; 64],
}

impl_struct_codec!(StorageReceipt {
    validator: (),
    content_hash: (),
    size_class_bytes: (),
    signature: (),
});

/// What a validator signs: chain id ‖ validator key ‖ content hash ‖ size class (u64
/// big-endian).
/// Every part has a fixed length, so the encoding is unambiguous.
pub fn receipt_message(
    chain_id: &ChainId,
    validator: &AccountId,
    content_hash: &[u8; 32],
    size_class_bytes: u64,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + 32 + 32 + 8);
    out.extend_from_slice(chain_id.as_bytes());
    out.extend_from_slice(&validator.to_bytes());
    out.extend_from_slice(content_hash);
    out.extend_from_slice(&size_class_bytes.to_be_bytes());
    out
}

impl StorageReceipt {
    /// The receipt `key`'s holder gives for a blob of `size_bytes` it stored (signed for the
    /// size's class).
    pub fn sign(
        key: &ed25519::PrivateKey,
        chain_id: &ChainId,
        content_hash: [u8; 32],
        size_bytes: u64,
    ) -> Self {
        let validator = AccountId::from(key.public_key());
        let size_class_bytes = limits::record_size_class_bytes(size_bytes);
        let message = receipt_message(chain_id, &validator, &content_hash, size_class_bytes);
        let signature = key.sign(STORAGE_RECEIPT_NAMESPACE, &message);
        let mut bytes = [0u8; 64];
        bytes.copy_from_slice(signature.as_ref());
        Self {
            validator,
            content_hash,
            size_class_bytes,
            signature: bytes,
        }
    }

    /// True if the receipt is its validator's signature for exactly this chain, hash and size
    /// class.
    pub fn verify(
        &self,
        chain_id: &ChainId,
        content_hash: &[u8; 32],
        size_class_bytes: u64,
    ) -> bool {
        if self.content_hash != *content_hash || self.size_class_bytes != size_class_bytes {
            return false;
        }
        let message = receipt_message(chain_id, &self.validator, content_hash, size_class_bytes);
        crate::possession::verify_ed25519(
            &self.validator,
            STORAGE_RECEIPT_NAMESPACE,
            &message,
            &self.signature,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::{DecodeExt, Encode};

    fn key(seed: u64) -> ed25519::PrivateKey {
        ed25519::PrivateKey::from_seed(seed)
    }

    #[test]
    fn a_receipt_verifies_for_exactly_its_chain_hash_and_size() {
        let chain = ChainId([1; 32]);
        let receipt = StorageReceipt::sign(&key(1), &chain, [7; 32], 5000);
        assert_eq!(receipt.size_class_bytes, 8192);
        assert!(receipt.verify(&chain, &[7; 32], 8192));
        assert!(!receipt.verify(&ChainId([2; 32]), &[7; 32], 8192));
        assert!(!receipt.verify(&chain, &[8; 32], 8192));
        assert!(!receipt.verify(&chain, &[7; 32], 16384));
        // The exact size is never what a receipt names.
        assert!(!receipt.verify(&chain, &[7; 32], 5000));
    }

    #[test]
    fn a_receipt_claimed_by_another_validator_or_altered_does_not_verify() {
        let chain = ChainId([1; 32]);
        let mut receipt = StorageReceipt::sign(&key(1), &chain, [7; 32], 4096);
        receipt.validator = AccountId::from(key(2).public_key());
        assert!(!receipt.verify(&chain, &[7; 32], 4096));
        let mut receipt = StorageReceipt::sign(&key(1), &chain, [7; 32], 4096);
        receipt.signature[10] ^= 1;
        assert!(!receipt.verify(&chain, &[7; 32], 4096));
    }

    #[test]
    fn a_receipt_round_trips_through_its_canonical_encoding_and_json() {
        let receipt = StorageReceipt::sign(&key(3), &ChainId([1; 32]), [9; 32], u64::MAX);
        let bytes = receipt.encode();
        assert_eq!(bytes.len(), 32 + 32 + 8 + 64);
        assert_eq!(StorageReceipt::decode(bytes.clone()).unwrap(), receipt);
        // Truncated or extended encodings are refused.
        assert!(
            StorageReceipt::decode(commonware_codec::Copying(&bytes[..bytes.len() - 1])).is_err()
        );
        let mut longer = bytes.to_vec();
        longer.push(0);
        assert!(StorageReceipt::decode(commonware_codec::Copying(&longer[..])).is_err());
        let json = serde_json::to_string(&receipt).unwrap();
        assert_eq!(
            serde_json::from_str::<StorageReceipt>(&json).unwrap(),
            receipt
        );
    }
}
