//! The blob endpoints: clinicians stream a record's ciphertext in and get this node's signed
//! storage receipt back; readers stream it out, re-checked against its hash.
//!
//! - `PUT /v1/blobs/{hash}` with the ciphertext's exact size in [`BLOB_SIZE_HEADER`]: the body
//!   is streamed into the blob store (never buffered whole; the API's request-body cap does not
//!   apply here, the store's size limit does). The receipt is signed only after the store
//!   checked size and hash and published the blob durably.
//! - `GET /v1/blobs/{hash}`: chunked, with the size in [`BLOB_SIZE_HEADER`]. The bytes are
//!   re-hashed as they go out; a stored object that was changed makes the node cut the response
//!   off before its end, so a client never sees a clean end after wrong bytes (and the client
//!   checks the hash itself too).

use crate::api::ApiError;
use axum::{
    Json, Router,
    body::Body,
    extract::{DefaultBodyLimit, Path, State},
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
    routing::get,
};
use commonware_cryptography::ed25519;
use futures::TryStreamExt as _;
use medchain_blob::{BlobError, BlobHash, BlobStore};
use medchain_types::{ChainId, StorageReceipt, api::ApiErrorCode};
use std::sync::Arc;

/// Request and response header holding a blob's size in bytes (decimal).
pub const BLOB_SIZE_HEADER: &str = "x-medchain-blob-size";

/// What the blob endpoints need: the store and the key that signs receipts.
#[derive(Clone)]
pub struct BlobService {
    inner: Arc<Inner>,
}

struct Inner {
    store: BlobStore,
    /// The node's Ed25519 consensus key: a receipt is only worth what the signer's stake is.
    signer: ed25519::PrivateKey,
    chain_id: ChainId,
}

impl BlobService {
    pub fn new(store: BlobStore, signer: ed25519::PrivateKey, chain_id: ChainId) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                signer,
                chain_id,
            }),
        }
    }

    pub fn store(&self) -> &BlobStore {
        &self.inner.store
    }

    /// The key receipts (storage and erasure) are signed with.
    pub(crate) fn signer(&self) -> &ed25519::PrivateKey {
        &self.inner.signer
    }
}

/// The blob routes, with the API's body cap lifted (the store enforces its own limit).
pub fn router(service: BlobService) -> Router {
    Router::new()
        .route("/v1/blobs/{hash}", get(get_blob).put(put_blob))
        .layer(DefaultBodyLimit::disable())
        .with_state(service)
}

fn parse_hash(hash: &str) -> Result<BlobHash, ApiError> {
    hash.parse()
        .map_err(|e: BlobError| ApiError::new(ApiErrorCode::Malformed, e.to_string()))
}

/// The API error for each blob-store error. Exhaustive, so a new variant needs a decision here.
fn api_error(error: BlobError) -> ApiError {
    let code = match &error {
        BlobError::TooLarge { .. } => ApiErrorCode::LimitExceeded,
        BlobError::LongerThanDeclared { .. }
        | BlobError::ShorterThanDeclared { .. }
        | BlobError::HashMismatch { .. }
        | BlobError::DeclaredSizeWrong { .. }
        | BlobError::Interrupted { .. }
        | BlobError::BadHash { .. } => ApiErrorCode::Malformed,
        BlobError::NotFound { .. } => ApiErrorCode::NotFound,
        // Ours, not the client's: a corrupt copy or a store that fails.
        BlobError::Corrupt { .. } => ApiErrorCode::Internal,
        BlobError::Store { .. } | BlobError::Config(_) => ApiErrorCode::StateUnavailable,
    };
    ApiError::new(code, error.to_string())
}

/// Stores a blob and answers this node's signed storage receipt for it.
#[utoipa::path(
    put,
    path = "/v1/blobs/{hash}",
    params(
        ("hash" = String, Path, description = "BLAKE3 of the ciphertext, 64 hex digits"),
        ("x-medchain-blob-size" = u64, Header, description = "the ciphertext's exact size in bytes")
    ),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses(
        (status = 200, body = StorageReceipt, description = "stored and checked; the receipt"),
        (status = 400, body = medchain_types::api::ErrorBody, description = "size or hash did not match; nothing stored"),
        (status = 413, body = medchain_types::api::ErrorBody, description = "over the blob size limit")
    )
)]
pub(crate) async fn put_blob(
    State(service): State<BlobService>,
    Path(hash): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<StorageReceipt>, ApiError> {
    let hash = parse_hash(&hash)?;
    let declared_size_bytes = headers
        .get(BLOB_SIZE_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| {
            ApiError::new(
                ApiErrorCode::Malformed,
                format!(
                    "send the ciphertext's exact size in bytes in the {BLOB_SIZE_HEADER} header"
                ),
            )
        })?;
    // The upload runs as its own task: a client that disconnects ends the body stream with an
    // error, which aborts the upload, instead of dropping it half-written.
    let store = service.inner.store.clone();
    let stream = body.into_data_stream();
    let stored = tokio::spawn(async move { store.put(&hash, declared_size_bytes, stream).await })
        .await
        .map_err(|e| {
            ApiError::new(
                ApiErrorCode::Internal,
                format!("the upload task failed: {e}"),
            )
        })?
        .map_err(api_error)?;
    // Signed for the size class (`StorageReceipt::sign` rounds it): the receipt goes into block
    // history, where an exact size would say more than the ledger's own record does.
    let receipt = StorageReceipt::sign(
        &service.inner.signer,
        &service.inner.chain_id,
        *hash.as_bytes(),
        stored.size_bytes(),
    );
    Ok(Json(receipt))
}

/// Streams a stored blob out, re-checked against its hash on the way.
#[utoipa::path(
    get,
    path = "/v1/blobs/{hash}",
    params(("hash" = String, Path, description = "BLAKE3 of the ciphertext, 64 hex digits")),
    responses(
        (status = 200, content_type = "application/octet-stream", description = "the ciphertext; use it only if the body ends cleanly and hashes to the key"),
        (status = 404, body = medchain_types::api::ErrorBody, description = "not stored here")
    )
)]
pub(crate) async fn get_blob(
    State(service): State<BlobService>,
    Path(hash): Path<String>,
) -> Result<Response, ApiError> {
    let hash = parse_hash(&hash)?;
    let stream = service.inner.store.get(&hash).await.map_err(api_error)?;
    let size = HeaderValue::from(stream.size_bytes());
    // No Content-Length: a body that fails its hash check at the end must end the response
    // without the closing chunk, which a client sees as a broken transfer.
    let body = Body::from_stream(stream.map_err(std::io::Error::other));
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            ),
            (header::HeaderName::from_static(BLOB_SIZE_HEADER), size),
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{Request, StatusCode};
    use commonware_cryptography::Signer as _;
    use medchain_types::AccountId;
    use tower::ServiceExt as _;

    const CHAIN: ChainId = ChainId([5; 32]);

    fn service(test: &str, size_max_bytes: u64) -> (BlobService, std::path::PathBuf) {
        let dir =
            std::env::temp_dir().join(format!("medchain-node-blobs-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = BlobStore::local(&dir, size_max_bytes).unwrap();
        (
            BlobService::new(store, ed25519::PrivateKey::from_seed(9), CHAIN),
            dir,
        )
    }

    fn put(hash: &BlobHash, size: Option<u64>, body: Body) -> Request<Body> {
        let mut request = Request::put(format!("/v1/blobs/{hash}"));
        if let Some(size) = size {
            request = request.header(BLOB_SIZE_HEADER, size);
        }
        request.body(body).unwrap()
    }

    async fn error_code(response: Response) -> ApiErrorCode {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        serde_json::from_slice::<medchain_types::api::ErrorBody>(&bytes)
            .unwrap()
            .error
            .code
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_streamed_upload_larger_than_the_api_body_cap_is_stored_and_receipted() {
        let (service, dir) = service("receipt", medchain_blob::BLOB_SIZE_MAX_BYTES);
        let bytes: Vec<u8> = (0..crate::api::REQUEST_BODY_MAX_BYTES * 3)
            .map(|i| (i % 251) as u8)
            .collect();
        let hash = BlobHash::of(&bytes);
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
            bytes.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
        let body = Body::from_stream(futures::stream::iter(chunks));
        let response = router(service.clone())
            .oneshot(put(&hash, Some(bytes.len() as u64), body))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let receipt: StorageReceipt = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            receipt.validator,
            AccountId::from(ed25519::PrivateKey::from_seed(9).public_key())
        );
        // Signed for the size class the ledger records, never the exact size.
        let class = medchain_types::limits::record_size_class_bytes(bytes.len() as u64);
        assert_eq!(receipt.size_class_bytes, class);
        assert!(receipt.verify(&CHAIN, hash.as_bytes(), class));

        let response = router(service)
            .oneshot(
                Request::get(format!("/v1/blobs/{hash}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[BLOB_SIZE_HEADER],
            bytes.len().to_string().as_str()
        );
        let read = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        assert_eq!(&read[..], &bytes[..]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn an_upload_without_its_size_or_with_a_bad_hash_is_refused() {
        let (service, dir) = service("refused", 1024);
        let hash = BlobHash::of(b"abc");
        let response = router(service.clone())
            .oneshot(put(&hash, None, Body::from("abc")))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(error_code(response).await, ApiErrorCode::Malformed);
        let request = Request::put("/v1/blobs/not-hex")
            .header(BLOB_SIZE_HEADER, 3)
            .body(Body::from("abc"))
            .unwrap();
        let response = router(service.clone()).oneshot(request).await.unwrap();
        assert_eq!(error_code(response).await, ApiErrorCode::Malformed);
        // Other bytes than the hash names: refused, and nothing readable afterwards.
        let response = router(service.clone())
            .oneshot(put(&hash, Some(3), Body::from("abd")))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let response = router(service.clone())
            .oneshot(
                Request::get(format!("/v1/blobs/{hash}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        // Over the store's limit: 413 before a byte is read.
        let response = router(service)
            .oneshot(put(&hash, Some(1025), Body::from("abc")))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_tampered_blob_is_cut_off_instead_of_served_whole() {
        let (service, dir) = service("tampered", 1 << 20);
        let bytes = vec![7u8; 100_000];
        let hash = BlobHash::of(&bytes);
        let response = router(service.clone())
            .oneshot(put(
                &hash,
                Some(bytes.len() as u64),
                Body::from(bytes.clone()),
            ))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let mut tampered = bytes.clone();
        tampered[99_999] = 8;
        std::fs::write(dir.join("blobs").join(hash.to_hex()), &tampered).unwrap();
        let response = router(service)
            .oneshot(
                Request::get(format!("/v1/blobs/{hash}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let read = axum::body::to_bytes(response.into_body(), usize::MAX).await;
        assert!(read.is_err(), "a tampered blob was served to its end");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
