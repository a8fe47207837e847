//! The typed Rust client of the medchain HTTP API (`/v1`), used by the CLI, the end-to-end
//! tests and the benchmarks.
//!
//! Ledger reads return only verified values: each comes with a proof that the client checks
//! (with `medchain_verify`) against a finalized block whose certificate chains, through the
//! validator hand-offs, to the genesis the user trusts, and the block must be fresh (at most
//! `Trust::max_staleness_ms` of block time behind the user's clock). Transaction submission,
//! nonces and status are not proven: a node that lies about them can only make a transaction
//! fail, never make the user act on a false ledger value.
//!
//! ```no_run
//! # async fn demo(genesis: medchain_types::Genesis) -> Result<(), medchain_client::ClientError> {
//! use medchain_client::{Client, Trust};
//! let client = Client::new("http://127.0.0.1:8100")?.trusting(Trust::new(genesis));
//! let validators = client.validators().await?;
//! println!("{} validators, proven at block {}", validators.value.validators.len(), validators.height);
//! # Ok(()) }
//! ```

pub mod blob;
pub mod emergency;
pub mod records;
pub mod reencryption;
pub mod sharing;
pub mod studies;
pub mod transactions;

use commonware_codec::Encode as _;
use medchain_state::{
    AccessLogEntry, AnalyticsKeyEntry, ConsentEntry, ConsortiumPolicyEntry, EmergencyServiceEntry,
    InstitutionEntry, MemberEntry, PatientConsents, ProposalEntry, PseudonymEntry, RecordEntry,
    ReviewItem, ValidatorSet, keys,
};
use medchain_types::{
    AccountId, ConsentId, Genesis, InstitutionId, ProposalId, RecordId, SignedTransaction,
    api::{
        AccessLogResponse, ApiErrorCode, BlockResponse, ErrorBody, NonceResponse, Proven,
        StatusResponse, SubmitRequest, TxStatusResponse,
    },
    limits,
};
use medchain_verify::{
    ProofError, Verified, VerifiedBlock, VerifyError,
    freshness::{MAX_STALENESS_DEFAULT_MS, Stale, check_fresh},
    log::{LogError, LogKeys, LogPage, complete_page},
};
use serde::de::DeserializeOwned;
use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

/// How long one request may take before the client gives up (a `wait=true` submission waits
/// up to 30 s on the node, so this leaves room for it).
pub const REQUEST_TIMEOUT_MS: u64 = 45_000;
/// Most pages one access-log read fetches: a log of this many full pages is longer than any
/// pseudonym's would be in decades, and a node cannot keep the client reading forever.
pub const ACCESS_LOG_PAGES_MAX: u64 = 4_096;

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
    #[error("a verified read needs the genesis you trust: build the client with `trusting`")]
    Untrusted,
    #[error("block {height} is not final as your genesis sees it: {source}")]
    NotFinal { height: u64, source: VerifyError },
    #[error(
        "the node's answer for {what} does not verify: {source}; the node may be lying: try another node"
    )]
    Unproven { what: String, source: ProofError },
    #[error("{0}")]
    Stale(#[from] Stale),
    #[error(
        "the node served the state of block {height} after you had already verified block {newest}: it went back in time (a stale replica, or a node hiding a later change such as a revocation); try another node"
    )]
    RolledBack { height: u64, newest: u64 },
    #[error("{log} is not complete: {source}")]
    IncompleteLog { log: String, source: LogError },
    #[error(
        "{0} has more than {ACCESS_LOG_PAGES_MAX} pages; the node keeps the client reading: try another node"
    )]
    EndlessLog(String),
    #[error("{path}: {message}")]
    File {
        path: std::path::PathBuf,
        message: String,
    },
    #[error(
        "validator {validator} answered a storage receipt that is not its own signature for this chain, blob and size; it does not count toward the quorum"
    )]
    BadReceipt { validator: String },
    #[error(
        "the blob {hash} as served is not the one asked for ({reason}); nothing was written: fetch it from another validator"
    )]
    BadBlob { hash: String, reason: String },
    /// A key from the ledger or the caller's key file is not usable.
    #[error("{0}")]
    KeyMaterial(String),
    /// The member cannot be a grantee of a consent.
    #[error("{0}")]
    NotAGrantee(String),
    /// A validator's (or a key service's) answer to a release does not check out.
    #[error("{0}")]
    BadFragment(String),
    #[error(
        "only {released} of the {threshold} key fragments needed were released; nothing was decrypted. These did not release one:\n{failures}"
    )]
    TooFewFragments {
        released: usize,
        threshold: usize,
        failures: String,
    },
    #[error("the ledger did not take {what}: {reason}")]
    NotCommitted { what: String, reason: String },
    /// What the ledger says rules the request out before anything is sent.
    #[error("{0}")]
    Refused(String),
}

/// Where one append-only ledger log lives: its API path and its state keys.
struct LogSource<'a, E> {
    /// How errors name it ("the access log of ...").
    name: String,
    path: String,
    count: Vec<u8>,
    entry: Box<dyn Fn(u64) -> Vec<u8> + Send + Sync + 'a>,
    sequence: fn(&E) -> u64,
    page_max: usize,
}

type SystemClock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// What verified reads are checked against: the genesis the user trusts, how old a block may
/// be, and the user's clock (replaceable, so freshness is testable).
#[derive(Clone)]
pub struct Trust {
    pub genesis: Genesis,
    pub max_staleness_ms: u64,
    now_ms: SystemClock,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trust")
            .field("chain_name", &self.genesis.chain_name)
            .field("max_staleness_ms", &self.max_staleness_ms)
            .finish()
    }
}

impl Trust {
    /// Trusts `genesis`, with the default staleness bound and the system clock.
    pub fn new(genesis: Genesis) -> Self {
        Self {
            genesis,
            max_staleness_ms: MAX_STALENESS_DEFAULT_MS,
            now_ms: Arc::new(system_now_ms),
        }
    }

    pub fn with_max_staleness_ms(mut self, max_staleness_ms: u64) -> Self {
        self.max_staleness_ms = max_staleness_ms;
        self
    }

    /// Replaces the clock (milliseconds since the Unix epoch).
    pub fn with_clock(mut self, now_ms: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        self.now_ms = Arc::new(now_ms);
        self
    }

    pub fn now_ms(&self) -> u64 {
        (self.now_ms)()
    }
}

fn system_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A client of one node's API.
#[derive(Clone, Debug)]
pub struct Client {
    base: String,
    http: reqwest::Client,
    trust: Option<Arc<Trust>>,
    /// The highest block a verified read came from: a later read from an older block means the
    /// node went back in time.
    newest_height: Arc<AtomicU64>,
}

impl Client {
    /// A client for the node at `base` (e.g. `http://127.0.0.1:8100`).
    pub fn new(base: &str) -> Result<Self, ClientError> {
        Self::build(base, None)
    }

    /// A client whose connections leave from `local`, on a host with several addresses (a
    /// gateway that must reach the consortium from the address its firewall rules name; the
    /// ledger benchmark's adversarial senders, each from its own loopback address).
    pub fn from_local_address(base: &str, local: std::net::IpAddr) -> Result<Self, ClientError> {
        Self::build(base, Some(local))
    }

    fn build(base: &str, local: Option<std::net::IpAddr>) -> Result<Self, ClientError> {
        let base = base.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ClientError::BadUrl {
                url: base,
                message: "it must start with http:// or https://".into(),
            });
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(REQUEST_TIMEOUT_MS))
            .local_address(local)
            .build()
            .map_err(|e| ClientError::BadUrl {
                url: base.clone(),
                message: e.to_string(),
            })?;
        Ok(Self {
            base,
            http,
            trust: None,
            newest_height: Arc::new(AtomicU64::new(0)),
        })
    }

    /// The same node, with verified reads checked against `trust`.
    pub fn trusting(mut self, trust: Trust) -> Self {
        self.trust = Some(Arc::new(trust));
        self
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

    /// A block as the node serves it, unchecked (see `finalized_block`).
    pub async fn block(&self, height: u64) -> Result<BlockResponse, ClientError> {
        self.get(&format!("/v1/blocks/{height}")).await
    }

    /// The block at `height`, checked final against the trusted genesis (an audit of history:
    /// no freshness bound).
    pub async fn finalized_block(&self, height: u64) -> Result<VerifiedBlock, ClientError> {
        let trust = self.trust()?;
        let response = self.block(height).await?;
        medchain_verify::finalized_block(&trust.genesis, &response)
            .map_err(|source| ClientError::NotFinal { height, source })
    }

    pub async fn record(&self, id: &RecordId) -> Result<Verified<RecordEntry>, ClientError> {
        self.proven(&format!("/v1/records/{id}"), &keys::record(id), "record")
            .await
    }

    pub async fn consent(&self, id: &ConsentId) -> Result<Verified<ConsentEntry>, ClientError> {
        self.proven(&format!("/v1/consents/{id}"), &keys::consent(id), "consent")
            .await
    }

    pub async fn member(&self, account: &AccountId) -> Result<Verified<MemberEntry>, ClientError> {
        self.proven(
            &format!("/v1/members/{account}"),
            &keys::member(account),
            "member",
        )
        .await
    }

    pub async fn pseudonym(
        &self,
        account: &AccountId,
    ) -> Result<Verified<PseudonymEntry>, ClientError> {
        self.proven(
            &format!("/v1/patients/{account}"),
            &keys::pseudonym(account),
            "pseudonym",
        )
        .await
    }

    pub async fn institution(
        &self,
        id: &InstitutionId,
    ) -> Result<Verified<InstitutionEntry>, ClientError> {
        self.proven(
            &format!("/v1/institutions/{}", id.as_str()),
            &keys::institution(id),
            "institution",
        )
        .await
    }

    pub async fn proposal(&self, id: &ProposalId) -> Result<Verified<ProposalEntry>, ClientError> {
        self.proven(
            &format!("/v1/proposals/{id}"),
            &keys::proposal(id),
            "proposal",
        )
        .await
    }

    /// The consortium's Cedar policy set in force, with its schema and version (`GET /v1/policy`).
    pub async fn consortium_policy(&self) -> Result<Verified<ConsortiumPolicyEntry>, ClientError> {
        self.proven(
            "/v1/policy",
            &keys::consortium_policy(),
            "consortium policy",
        )
        .await
    }

    /// The ledger's current validator set with every validator's encryption key: what consent
    /// fragments are sealed to, and whose size sets their threshold.
    pub async fn validators(&self) -> Result<Verified<ValidatorSet>, ClientError> {
        self.proven("/v1/validator-set", &keys::validator_set(), "validator set")
            .await
    }

    /// Every entry of `pseudonym`'s access log, proven complete (see `medchain_verify::log`).
    pub async fn access_log(
        &self,
        pseudonym: &AccountId,
    ) -> Result<Verified<Vec<AccessLogEntry>>, ClientError> {
        let log = self.access_log_source(pseudonym);
        self.whole_log(&log).await
    }

    /// The page of `pseudonym`'s access log from `from`, proven complete; `previous_count` is
    /// the length an earlier page proved (0 for the first).
    pub async fn access_log_page(
        &self,
        pseudonym: &AccountId,
        from: u64,
        previous_count: u64,
    ) -> Result<Verified<LogPage<AccessLogEntry>>, ClientError> {
        let log = self.access_log_source(pseudonym);
        self.log_page(&log, from, previous_count).await
    }

    /// Every item of the consortium's break-glass review queue (each permitted ETREAT read,
    /// with the auditor's finding once reviewed), proven complete.
    pub async fn review_queue(&self) -> Result<Verified<Vec<ReviewItem>>, ClientError> {
        let log = LogSource {
            name: "the break-glass review queue".into(),
            path: "/v1/reviews".into(),
            count: keys::review_queue_count(),
            entry: Box::new(keys::review_item),
            sequence: |item: &ReviewItem| item.item,
            page_max: limits::REVIEW_QUEUE_PAGE_MAX_ENTRIES,
        };
        self.whole_log(&log).await
    }

    /// The ids of the pseudonym's unrevoked consents, proven.
    pub async fn patient_consents(
        &self,
        pseudonym: &AccountId,
    ) -> Result<Verified<PatientConsents>, ClientError> {
        self.proven(
            &format!("/v1/patients/{pseudonym}/consents"),
            &keys::patient_consents(pseudonym),
            "patient consents",
        )
        .await
    }

    /// The institution's active emergency key service, proven.
    pub async fn emergency_service(
        &self,
        institution: &InstitutionId,
    ) -> Result<Verified<EmergencyServiceEntry>, ClientError> {
        self.proven(
            &format!(
                "/v1/institutions/{}/emergency-service",
                institution.as_str()
            ),
            &keys::emergency_service(institution),
            "emergency service",
        )
        .await
    }

    /// The validators' analytics key, proven; `ClientError` not-found until the ledger
    /// adopted one (2f+1 validators submitted the same DKG output).
    pub async fn analytics_key(&self) -> Result<Verified<AnalyticsKeyEntry>, ClientError> {
        self.proven("/v1/analytics-key", &keys::analytics_key(), "analytics key")
            .await
    }

    fn access_log_source(&self, pseudonym: &AccountId) -> LogSource<'static, AccessLogEntry> {
        let owner = pseudonym.clone();
        LogSource {
            name: format!("the access log of {pseudonym}"),
            path: format!("/v1/patients/{pseudonym}/access-log"),
            count: keys::access_log_count(pseudonym),
            entry: Box::new(move |sequence| keys::access_log(&owner, sequence)),
            sequence: |entry: &AccessLogEntry| entry.sequence,
            page_max: limits::ACCESS_LOG_PAGE_MAX_ENTRIES,
        }
    }

    async fn whole_log<E>(&self, log: &LogSource<'_, E>) -> Result<Verified<Vec<E>>, ClientError>
    where
        E: DeserializeOwned + commonware_codec::Read<Cfg = ()> + PartialEq,
    {
        let mut entries = Vec::new();
        let mut from = 0;
        let mut count = 0;
        for _ in 0..ACCESS_LOG_PAGES_MAX {
            let page = self.log_page(log, from, count).await?;
            count = page.value.count;
            entries.extend(page.value.entries);
            match page.value.next {
                Some(next) => from = next,
                None => {
                    return Ok(Verified {
                        value: entries,
                        height: page.height,
                        block_time_ms: page.block_time_ms,
                    });
                }
            }
        }
        Err(ClientError::EndlessLog(log.name.clone()))
    }

    async fn log_page<E>(
        &self,
        log: &LogSource<'_, E>,
        from: u64,
        previous_count: u64,
    ) -> Result<Verified<LogPage<E>>, ClientError>
    where
        E: DeserializeOwned + commonware_codec::Read<Cfg = ()> + PartialEq,
    {
        let page: AccessLogResponse<E> = self
            .get(&format!("{}?from={from}&limit={}", log.path, log.page_max))
            .await?;
        let incomplete = |source| ClientError::IncompleteLog {
            log: log.name.clone(),
            source,
        };
        let height = page
            .total_proof
            .as_ref()
            .ok_or_else(|| incomplete(LogError::MissingCount))?
            .height;
        let block = self.finalized_block(height).await?;
        let log_keys = LogKeys {
            count: &log.count,
            entry: &*log.entry,
            sequence: &log.sequence,
            page_max: log.page_max as u64,
        };
        let checked = complete_page(
            &block,
            &log_keys,
            from,
            page.total_proof.as_ref(),
            &page.entries,
            previous_count,
        )
        .map_err(incomplete)?;
        self.accept(Verified {
            value: checked,
            height: block.block.height,
            block_time_ms: block.block.timestamp_ms,
        })
    }

    /// A GET of any API path returning JSON. Ledger values read this way are unverified: use
    /// the typed methods above for anything a decision rests on.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let url = format!("{}{path}", self.base);
        let response = self.http.get(&url).send().await;
        self.read(&url, response).await
    }

    fn trust(&self) -> Result<&Trust, ClientError> {
        self.trust.as_deref().ok_or(ClientError::Untrusted)
    }

    /// Reads `path`, a proven value of `state_key`, and checks it against its finalized block.
    async fn proven<T>(
        &self,
        path: &str,
        state_key: &[u8],
        what: &str,
    ) -> Result<Verified<T>, ClientError>
    where
        T: DeserializeOwned + commonware_codec::Read<Cfg = ()> + PartialEq,
    {
        let trust = self.trust()?;
        let proven: Proven<T> = self.get(path).await?;
        let height = proven.proof.height;
        let block = self.block(height).await?;
        let verified = medchain_verify::proven_value(&trust.genesis, &block, state_key, &proven)
            .map_err(|source| ClientError::Unproven {
                what: what.to_string(),
                source,
            })?;
        self.accept(verified)
    }

    /// A verified value is acted on only if its block is fresh and not older than one already
    /// seen.
    fn accept<T>(&self, verified: Verified<T>) -> Result<Verified<T>, ClientError> {
        let trust = self.trust()?;
        check_fresh(
            verified.height,
            verified.block_time_ms,
            trust.now_ms(),
            trust.max_staleness_ms,
        )?;
        let newest = self
            .newest_height
            .fetch_max(verified.height, Ordering::Relaxed);
        if verified.height < newest {
            return Err(ClientError::RolledBack {
                height: verified.height,
                newest,
            });
        }
        Ok(verified)
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
