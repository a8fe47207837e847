//! The typed Rust client of the medchain HTTP API (`/v1`), used by the CLI, the end-to-end
//! tests and the benchmarks.
//!
//! ```no_run
//! # async fn demo() -> Result<(), medchain_client::ClientError> {
//! let client = medchain_client::Client::new("http://127.0.0.1:8100")?;
//! let status = client.status().await?;
//! println!("chain {} at height {}", status.chain_name, status.height);
//! # Ok(()) }
//! ```

use commonware_codec::Encode as _;
use medchain_types::{
    AccountId, SignedTransaction,
    api::{
        ApiErrorCode, BlockResponse, ErrorBody, NonceResponse, StatusResponse, SubmitRequest,
        TxStatusResponse,
    },
};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// How long one request may take before the client gives up (a `wait=true` submission waits
/// up to 30 s on the node, so this leaves room for it).
pub const REQUEST_TIMEOUT_MS: u64 = 45_000;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{url} is not a valid API address: {message}")]
    BadUrl { url: String, message: String },
    #[error("cannot reach the node at {url}: {source}; is `medchain up` running?")]
    Unreachable { url: String, source: reqwest::Error },
    /// The node answered with an API error.
    #[error("{message} ({code}, HTTP {status})")]
    Api {
        status: u16,
        code: ApiErrorCode,
        message: String,
    },
    #[error("the node's answer could not be read: {0}")]
    BadResponse(String),
}

/// A client of one node's API.
#[derive(Clone, Debug)]
pub struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    /// A client for the node at `base` (e.g. `http://127.0.0.1:8100`).
    pub fn new(base: &str) -> Result<Self, ClientError> {
        let base = base.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ClientError::BadUrl {
                url: base,
                message: "it must start with http:// or https://".into(),
            });
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(REQUEST_TIMEOUT_MS))
            .build()
            .map_err(|e| ClientError::BadUrl {
                url: base.clone(),
                message: e.to_string(),
            })?;
        Ok(Self { base, http })
    }

    /// The API address this client talks to.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub async fn status(&self) -> Result<StatusResponse, ClientError> {
        self.get("/v1/status").await
    }

    /// The nonce `account`'s next transaction must carry.
    pub async fn next_nonce(&self, account: &AccountId) -> Result<u64, ClientError> {
        let response: NonceResponse = self.get(&format!("/v1/accounts/{account}/nonce")).await?;
        Ok(response.next_nonce)
    }

    /// Submits a signed transaction; with `wait`, returns once it is committed or rejected.
    pub async fn submit(
        &self,
        tx: &SignedTransaction,
        wait: bool,
    ) -> Result<TxStatusResponse, ClientError> {
        let body = SubmitRequest {
            transaction: hex::encode(tx.encode()),
        };
        let url = format!("{}/v1/tx?wait={wait}", self.base);
        let response = self.http.post(&url).json(&body).send().await;
        self.read(&url, response).await
    }

    pub async fn tx_status(&self, hash: &str) -> Result<TxStatusResponse, ClientError> {
        self.get(&format!("/v1/tx/{hash}")).await
    }

    pub async fn block(&self, height: u64) -> Result<BlockResponse, ClientError> {
        self.get(&format!("/v1/blocks/{height}")).await
    }

    /// A GET of any API path returning JSON.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let url = format!("{}{path}", self.base);
        let response = self.http.get(&url).send().await;
        self.read(&url, response).await
    }

    async fn read<T: DeserializeOwned>(
        &self,
        url: &str,
        response: Result<reqwest::Response, reqwest::Error>,
    ) -> Result<T, ClientError> {
        let response = response.map_err(|source| ClientError::Unreachable {
            url: url.to_string(),
            source,
        })?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| ClientError::BadResponse(e.to_string()))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map_err(|e| ClientError::BadResponse(e.to_string()));
        }
        match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(body) => Err(ClientError::Api {
                status: status.as_u16(),
                code: body.error.code,
                message: body.error.message,
            }),
            // Not the API's error format (a proxy in between, or a node with codes this client
            // does not know): there is no code to act on.
            Err(_) => Err(ClientError::BadResponse(format!(
                "HTTP {status} without an API error body: {}",
                String::from_utf8_lossy(&bytes)
                    .chars()
                    .take(200)
                    .collect::<String>()
            ))),
        }
    }
}
