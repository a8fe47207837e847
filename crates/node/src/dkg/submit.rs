//! Puts this validator's DKG output on the ledger: a `SubmitAnalyticsKey` signed by the node
//! key, admitted through the same checks as a transaction posted to `POST /v1/tx`, then
//! watches the finalized state until the ledger adopts the key (n − f identical submissions).

use crate::api::{self, ApiState};
use crate::mempool::TxStatus;
use crate::snapshot::SnapshotStore;
use commonware_cryptography::{Signer as _, ed25519};
use commonware_runtime::telemetry::metrics::{Gauge, GaugeExt as _};
use medchain_types::{AccountId, Payload, SignedTransaction, Transaction};
use std::time::Duration;
use tracing::{error, info, warn};

/// Pause between two looks at the ledger (and two submission attempts while admission fails,
/// for example while the mempool is full or the chain has not started).
pub const ANALYTICS_KEY_POLL_INTERVAL_MS: u64 = 2_000;

/// What the submitter last saw on the ledger.
enum Seen {
    Adopted { epoch: u64, height: u64 },
    NotYet,
}

async fn ledger_key(state: &ApiState) -> Seen {
    let snapshot = SnapshotStore::new(state.databases().await);
    match medchain_state::query::analytics_key(&snapshot).await {
        Ok(Some(entry)) => Seen::Adopted {
            epoch: entry.epoch,
            height: entry.since_height,
        },
        Ok(None) => Seen::NotYet,
        Err(e) => {
            warn!(error = %e, "cannot read the analytics key from the state; retrying");
            Seen::NotYet
        }
    }
}

async fn next_nonce(state: &ApiState, sender: &AccountId) -> Option<u64> {
    let snapshot = SnapshotStore::new(state.databases().await);
    match medchain_state::query::next_nonce(&snapshot, sender).await {
        Ok(ledger) => Some(state.handles().mempool.expected_nonce(sender, ledger)),
        Err(e) => {
            warn!(error = %e, "cannot read this node's nonce; retrying");
            None
        }
    }
}

/// Submits `output` for `round` until it is committed (or refused for good), then waits for
/// the ledger to adopt a key of this round or later; sets `adopted` to 1 and logs it.
pub async fn submit_until_adopted(
    state: ApiState,
    signer: ed25519::PrivateKey,
    round: u64,
    output: Vec<u8>,
    adopted: Gauge,
) {
    let sender = AccountId::from(signer.public_key());
    let mut submitted: Option<medchain_types::TxHash> = None;
    let mut settled = false;
    loop {
        if let Seen::Adopted { epoch, height } = ledger_key(&state).await
            && epoch >= round
        {
            let _ = adopted.try_set(1);
            info!(
                epoch,
                height, "analytics key ready: the ledger adopted the validators' DKG key"
            );
            return;
        }
        match submitted
            .as_ref()
            .and_then(|h| state.handles().mempool.status(h))
        {
            Some(TxStatus::Pending) => {}
            Some(TxStatus::Committed { height }) if !settled => {
                settled = true;
                info!(
                    round,
                    height,
                    "this validator's analytics key submission is committed; waiting for n - f validators"
                );
            }
            Some(TxStatus::Rejected { code, message }) if !settled => {
                settled = true;
                error!(round, ?code, %message, "the ledger refused this validator's analytics key; it will not be resubmitted (check that every validator runs the same release)");
            }
            Some(_) => {}
            None if !settled => submitted = admit(&state, &signer, &sender, round, &output).await,
            None => {}
        }
        tokio::time::sleep(Duration::from_millis(ANALYTICS_KEY_POLL_INTERVAL_MS)).await;
    }
}

async fn admit(
    state: &ApiState,
    signer: &ed25519::PrivateKey,
    sender: &AccountId,
    round: u64,
    output: &[u8],
) -> Option<medchain_types::TxHash> {
    let payload = Payload::SubmitAnalyticsKey {
        epoch: round,
        output: output.to_vec().into(),
    };
    match admit_payload(state, signer, sender, payload).await {
        Ok(hash) => {
            info!(round, %hash, "submitted this validator's analytics key");
            Some(hash)
        }
        Err(message) => {
            warn!(round, error = %message, "the analytics key submission was not admitted yet; retrying");
            None
        }
    }
}

/// Signs `payload` with the node key at its next nonce (the ledger's, after any of its
/// transactions still waiting) and admits it as `POST /v1/tx` would; the admission error's
/// message if refused.
pub(crate) async fn admit_payload(
    state: &ApiState,
    signer: &ed25519::PrivateKey,
    sender: &AccountId,
    payload: Payload,
) -> Result<medchain_types::TxHash, String> {
    let nonce = next_nonce(state, sender)
        .await
        .ok_or_else(|| "this node's nonce cannot be read yet".to_string())?;
    let transaction = Transaction {
        chain_id: *state.chain_id(),
        sender: sender.clone(),
        nonce,
        payload,
    };
    let tx = SignedTransaction::sign(signer, transaction);
    let hash = tx.hash();
    api::admit(state, tx)
        .await
        .map(|()| hash)
        .map_err(|e| e.message().to_string())
}
