//! Transactions and their Ed25519 signatures. The signature covers the
//! canonical encoding of the whole `Transaction` (chain id, sender, nonce,
//! payload) under the namespace `medchain/tx/v1`, so a transaction cannot be
//! replayed on another chain, at another nonce, or in another protocol.

use crate::error::ValidationError;
use crate::ids::{AccountId, ChainId, TxHash, derive};
use crate::payload::Payload;
use crate::{hexser, impl_struct_codec, limits};
use bytes::{BufMut, Bytes};
use commonware_codec::{Buf, DecodeExt, Encode, EncodeSize, Error, Read, ReadExt, Write};
use commonware_cryptography::{BatchEntry, BatchVerifier, Signer, Verifier, ed25519};
use commonware_parallel::Sequential;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};
use thiserror::Error;

/// Signing namespace of every ledger transaction.
pub const TX_NAMESPACE: &[u8] = b"medchain/tx/v1";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Transaction {
    pub chain_id: ChainId,
    pub sender: AccountId,
    /// Must equal the sender's next nonce: each account's transactions apply in order, once.
    pub nonce: u64,
    pub payload: Payload,
}
impl_struct_codec!(Transaction {
    chain_id: (),
    sender: (),
    nonce: (),
    payload: ()
});

impl Transaction {
    /// Domain-separated BLAKE3 of the canonical encoding. The signature is not
    /// hashed: Ed25519 signatures may have several encodings, the transaction not.
    pub fn hash(&self) -> TxHash {
        TxHash(derive(
            "medchain 2026 transaction hash v1",
            &[&self.encode()],
        ))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignedTransaction {
    pub transaction: Transaction,
    #[serde(
        serialize_with = "serialize_signature",
        deserialize_with = "deserialize_signature"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub signature: ed25519::Signature,
}

impl SignedTransaction {
    pub fn sign(key: &ed25519::PrivateKey, transaction: Transaction) -> Self {
        let signature = key.sign(TX_NAMESPACE, &transaction.encode());
        Self {
            transaction,
            signature,
        }
    }

    pub fn hash(&self) -> TxHash {
        self.transaction.hash()
    }

    /// True if the signature is the sender's over this transaction.
    pub fn verify(&self) -> bool {
        let message = self.transaction.encode();
        self.transaction
            .sender
            .0
            .verify(TX_NAMESPACE, &message, &self.signature)
    }

    /// Decodes one transaction received from outside (API body, p2p),
    /// refusing it before parsing if it is over `tx_size_max_bytes`.
    pub fn decode_bounded(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() > limits::TX_SIZE_MAX_BYTES {
            return Err(Error::InvalidLength(bytes.len()));
        }
        Self::decode(commonware_codec::Copying(bytes))
    }

    /// Stateless checks: size and payload rules (not the signature).
    pub fn validate(&self) -> Result<(), ValidationError> {
        ValidationError::check_len(
            "tx_size_max_bytes",
            self.encode_size(),
            limits::TX_SIZE_MAX_BYTES,
        )?;
        self.transaction.payload.validate()
    }
}

impl Write for SignedTransaction {
    fn write(&self, buf: &mut impl BufMut) {
        self.transaction.write(buf);
        self.signature.write(buf);
    }
}

impl EncodeSize for SignedTransaction {
    fn encode_size(&self) -> usize {
        self.transaction.encode_size() + self.signature.encode_size()
    }
}

impl Read for SignedTransaction {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        let tx = Self {
            transaction: Transaction::read(buf)?,
            signature: ed25519::Signature::read(buf)?,
        };
        // Every field is bounded already; this keeps the whole within the protocol limit too.
        if tx.encode_size() > limits::TX_SIZE_MAX_BYTES {
            return Err(Error::Invalid(
                "SignedTransaction",
                "larger than tx_size_max_bytes",
            ));
        }
        Ok(tx)
    }
}

fn serialize_signature<S: Serializer>(sig: &ed25519::Signature, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(sig.as_ref()))
}

fn deserialize_signature<'de, D: Deserializer<'de>>(d: D) -> Result<ed25519::Signature, D::Error> {
    let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
    let raw = hexser::parse::<64>(text.as_ref()).map_err(D::Error::custom)?;
    ed25519::Signature::decode(commonware_codec::Copying(raw.as_slice()))
        .map_err(|e| D::Error::custom(format!("not an Ed25519 signature: {e}")))
}

/// The first transaction of a batch whose signature does not verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[error(
    "transaction {first_bad_index} of the batch has an invalid signature; re-sign it with the sender's key over this chain id"
)]
pub struct BatchError {
    pub first_bad_index: usize,
}

/// Verifies all signatures at once (Ed25519 batch verification, ZIP-215 rules,
/// so it agrees with single verification); on failure finds the first bad one.
///
/// The batch coefficients come from a ChaCha20 stream seeded with a hash of the
/// whole batch: deterministic on every node, yet fixed only after the batch
/// is, so an attacker cannot pick signatures that cancel out (Fiat-Shamir).
pub fn verify_batch(txs: &[SignedTransaction]) -> Result<(), BatchError> {
    if txs.is_empty() {
        return Ok(());
    }
    let messages: Vec<Bytes> = txs.iter().map(|tx| tx.transaction.encode()).collect();
    let mut seed = blake3::Hasher::new_derive_key("medchain 2026 batch verification seed v1");
    for (message, tx) in messages.iter().zip(txs) {
        seed.update(&(message.len() as u64).to_be_bytes());
        seed.update(message);
        seed.update(tx.signature.as_ref());
    }
    let mut rng = ChaCha20Rng::from_seed(*seed.finalize().as_bytes());
    let items: Vec<(&Bytes, &SignedTransaction)> = messages.iter().zip(txs).collect();
    let all_valid = ed25519::PublicKey::verify_batch(
        &mut rng,
        &items,
        |_, (message, tx)| BatchEntry {
            namespace: TX_NAMESPACE,
            message: message.as_ref(),
            public_key: &tx.transaction.sender.0,
            signature: &tx.signature,
        },
        &Sequential,
    );
    if all_valid {
        return Ok(());
    }
    let first_bad_index = txs.iter().position(|tx| !tx.verify());
    // The batch and single checks follow the same ZIP-215 rules, so a failing batch has a bad member.
    assert!(
        first_bad_index.is_some(),
        "batch verification failed but every signature verifies alone"
    );
    Err(BatchError {
        first_bad_index: first_bad_index.unwrap_or(0),
    })
}
