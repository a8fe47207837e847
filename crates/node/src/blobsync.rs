//! Keeping this validator's blob store in step with the ledger, in the background:
//!
//! - **Fetch**: every record a finalized block commits names its ciphertext's hash and size
//!   class (`ChainView::take_record_blobs`). A validator that does not hold it (it was down
//!   during the upload, or the clinician's client reached only the 2f+1 the ledger requires)
//!   fetches it from the other current validators, one after another, into its store, which
//!   checks hash and size before anything is readable. An erased record is not fetched.
//! - **Collect**: a stored blob that no committed record names, older than the node's
//!   `uncommitted_blob_max_age_seconds` (an upload whose record was never committed), is
//!   deleted, and so is an erased record's ciphertext that survived the erasure (this
//!   validator was down when the patient erased it); so are staging objects of uploads cut off
//!   that long ago. Ages are by this node's clock: a local housekeeping decision, never a
//!   ledger one.

use crate::api::ApiState;
use crate::blobs::BLOB_SIZE_HEADER;
use crate::chain::RecordBlob;
use crate::queries::finalized_value;
use futures::TryStreamExt as _;
use medchain_blob::BlobHash;
use medchain_state::{RecordEntry, ValidatorSet, keys};
use medchain_types::{RecordId, limits};
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// How often the sync looks for committed records it lacks.
pub const BLOB_SYNC_INTERVAL_MS: u64 = 1_000;
/// Rounds (one per interval) a missing ciphertext is tried from the peers before the node
/// gives up on it and says so; a restart tries again for the blocks it re-delivers.
pub const BLOB_FETCH_ROUNDS_MAX: u32 = 300;
/// Longest a peer may take to start answering a fetch.
const PEER_CONNECT_TIMEOUT_MS: u64 = 5_000;
/// Default age after which a blob no committed record names is collected.
pub const UNCOMMITTED_BLOB_MAX_AGE_SECONDS_DEFAULT: u64 = 3_600;

/// Runs the fetch and collect loop until the process stops.
pub async fn run(state: ApiState, uncommitted_max_age: Duration) {
    let http = match reqwest::Client::builder()
        .connect_timeout(Duration::from_millis(PEER_CONNECT_TIMEOUT_MS))
        .build()
    {
        Ok(http) => http,
        Err(e) => {
            warn!(error = %e, "blob sync cannot start its HTTP client; missing ciphertexts are not fetched");
            return;
        }
    };
    // Collect a few times per age, at most every ten minutes, at least every second.
    let collect_every =
        (uncommitted_max_age / 4).clamp(Duration::from_secs(1), Duration::from_secs(600));
    let mut last_collected = Instant::now();
    let mut missing: Vec<(RecordBlob, u32)> = Vec::new();
    let mut every = tokio::time::interval(Duration::from_millis(BLOB_SYNC_INTERVAL_MS));
    loop {
        every.tick().await;
        missing.extend(
            state
                .handles()
                .chain
                .take_record_blobs()
                .into_iter()
                .map(|blob| (blob, 0)),
        );
        if !missing.is_empty() {
            missing = fetch_missing(&state, &http, missing).await;
        }
        if last_collected.elapsed() >= collect_every {
            collect(&state, uncommitted_max_age).await;
            last_collected = Instant::now();
        }
    }
}

/// Tries each missing ciphertext once from the peers; returns those still missing.
async fn fetch_missing(
    state: &ApiState,
    http: &reqwest::Client,
    missing: Vec<(RecordBlob, u32)>,
) -> Vec<(RecordBlob, u32)> {
    let Ok(Some(set)) = finalized_value::<ValidatorSet>(state, keys::validator_set()).await else {
        return missing;
    };
    let me = state.reencryption().validator().clone();
    let mut still = Vec::new();
    for (blob, rounds) in missing {
        let hash = BlobHash(blob.content_hash);
        match state.blobs().store().size_of(&hash).await {
            Ok(Some(_)) => continue,
            Ok(None) => {}
            Err(e) => {
                warn!(error = %e, "blob sync cannot read the blob store");
                still.push((blob, rounds));
                continue;
            }
        }
        if erased(state, &blob.record).await {
            continue;
        }
        let mut fetched = false;
        for peer in set.validators.iter().filter(|v| v.account != me) {
            match fetch_from(state, http, &peer.http_address, &blob).await {
                Ok(size_bytes) => {
                    info!(record = %blob.record, peer = %peer.account, size_bytes, "fetched a record's ciphertext this node lacked");
                    fetched = true;
                    break;
                }
                Err(reason) => {
                    tracing::debug!(record = %blob.record, peer = %peer.http_address, %reason, "peer did not serve the ciphertext");
                }
            }
        }
        if !fetched {
            if rounds + 1 >= BLOB_FETCH_ROUNDS_MAX {
                warn!(record = %blob.record, "no peer served this record's ciphertext; giving up until the next restart");
            } else {
                still.push((blob, rounds + 1));
            }
        }
    }
    still
}

async fn erased(state: &ApiState, record: &RecordId) -> bool {
    matches!(
        finalized_value::<RecordEntry>(state, keys::record(record)).await,
        Ok(Some(entry)) if entry.erasure.is_some()
    )
}

/// Streams one ciphertext from the peer at `http_address` into the store (which checks it).
async fn fetch_from(
    state: &ApiState,
    http: &reqwest::Client,
    http_address: &str,
    blob: &RecordBlob,
) -> Result<u64, String> {
    let url = format!(
        "http://{http_address}/v1/blobs/{}",
        hex::encode(blob.content_hash)
    );
    let response = http.get(&url).send().await.map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status()));
    }
    let size_bytes: u64 = response
        .headers()
        .get(BLOB_SIZE_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .ok_or("no size header")?;
    // The ledger names the size class; a peer cannot make this node store more than that.
    if limits::record_size_class_bytes(size_bytes) != blob.size_class_bytes {
        return Err(format!(
            "{size_bytes} bytes is not of the record's size class {}",
            blob.size_class_bytes
        ));
    }
    state
        .blobs()
        .store()
        .put(
            &BlobHash(blob.content_hash),
            size_bytes,
            response.bytes_stream(),
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(size_bytes)
}

/// Deletes blobs older than `max_age` that no committed record names, or whose record was
/// erased, and staging objects of uploads cut off that long ago.
async fn collect(state: &ApiState, max_age: Duration) {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let cutoff_ms = now_ms.saturating_sub(max_age.as_millis() as i64);
    let store = state.blobs().store();
    let old: Vec<_> = match store.list_older_than(cutoff_ms).try_collect().await {
        Ok(old) => old,
        Err(e) => {
            warn!(error = %e, "blob collector cannot list the blob store");
            return;
        }
    };
    for blob in old {
        let committed =
            match finalized_value::<RecordId>(state, keys::record_by_content(&blob.hash.0)).await {
                Ok(committed) => committed,
                // The state is not readable right now: keep everything, try at the next round.
                Err(_) => return,
            };
        let why = match committed {
            None => "no committed record names it",
            Some(record) if erased(state, &record).await => "its record was erased",
            Some(_) => continue,
        };
        match store.delete(&blob.hash).await {
            Ok(_) => {
                info!(blob = %blob.hash.to_hex(), size_bytes = blob.size_bytes, why, "collected a blob")
            }
            Err(e) => warn!(blob = %blob.hash.to_hex(), error = %e, "cannot collect a blob"),
        }
    }
    match store.remove_staging_older_than(cutoff_ms).await {
        Ok(0) => {}
        Ok(removed) => info!(removed, "removed staging objects of uploads cut off"),
        Err(e) => warn!(error = %e, "cannot remove stale staging objects"),
    }
}
