//! Signing and submitting transactions as every client does: at the sender's next nonce, to the
//! node this client talks to (waiting for the commit) and, offered at once, to every other
//! validator of the proven set, so whichever leads next can include it.

use crate::{Client, ClientError};
use commonware_cryptography::{Signer as _, ed25519};
use medchain_types::{
    AccountId, ChainId, Payload, SignedTransaction, Transaction, api::TxStatusResponse,
};
use std::time::Duration;

/// Longest the copy of a submission offered to each other validator may take.
pub const OFFER_TIMEOUT_MS: u64 = 2_000;

impl Client {
    /// The chain id transactions are signed for: the trusted genesis's, or, for a client
    /// without one, what the node reports (a lying node can then only make them fail).
    pub async fn signing_chain_id(&self) -> Result<ChainId, ClientError> {
        if let Ok(chain_id) = self.chain_id() {
            return Ok(chain_id);
        }
        let status = self.status().await?;
        status
            .chain_id
            .parse()
            .map_err(|_| ClientError::BadResponse("the node reported a malformed chain id".into()))
    }

    /// Signs `payload` with `key` at the sender's next nonce and submits it; answers once it
    /// is committed, refused, or still pending after the node's wait.
    pub async fn sign_and_submit(
        &self,
        key: &ed25519::PrivateKey,
        payload: Payload,
    ) -> Result<TxStatusResponse, ClientError> {
        let chain_id = self.signing_chain_id().await?;
        let nonce = self.next_nonce(&AccountId::from(key.public_key())).await?;
        self.sign_and_submit_at(key, chain_id, nonce, payload).await
    }

    /// [`Client::sign_and_submit`] at a nonce the caller already fetched: a consent's id,
    /// which its fragments are sealed to, is derived from the granting transaction's nonce.
    pub async fn sign_and_submit_at(
        &self,
        key: &ed25519::PrivateKey,
        chain_id: ChainId,
        nonce: u64,
        payload: Payload,
    ) -> Result<TxStatusResponse, ClientError> {
        let tx = SignedTransaction::sign(
            key,
            Transaction {
                chain_id,
                sender: AccountId::from(key.public_key()),
                nonce,
                payload,
            },
        );
        let (outcome, ()) = tokio::join!(self.submit(&tx, true), self.offer_to_validators(&tx));
        outcome
    }

    /// Offers `tx` to every validator of the proven set as well, without waiting for it to
    /// commit: a validator proposes only what its own mempool holds, so this lets the next
    /// leader include it (one view instead of up to one round of the validators). The same
    /// transaction admitted twice commits once; a validator that is down or slow is skipped. A
    /// client without a trusted genesis offers nothing (it cannot know the validators).
    async fn offer_to_validators(&self, tx: &SignedTransaction) {
        let Ok(set) = self.validators().await else {
            return;
        };
        let mut offers = tokio::task::JoinSet::new();
        for validator in set.value.validators {
            let Ok(other) = Client::new(&format!("http://{}", validator.http_address)) else {
                continue;
            };
            if other.base_url() == self.base_url() {
                continue;
            }
            let tx = tx.clone();
            offers.spawn(async move {
                let _ = tokio::time::timeout(
                    Duration::from_millis(OFFER_TIMEOUT_MS),
                    other.submit(&tx, false),
                )
                .await;
            });
        }
        while offers.join_next().await.is_some() {}
    }
}
