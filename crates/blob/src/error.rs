//! The blob store's one error type. Every message says what to do next.

use thiserror::Error;

use crate::BlobHash;

#[derive(Debug, Error)]
pub enum BlobError {
    #[error(
        "a blob of {declared_bytes} bytes is over this store's limit of {limit_bytes} bytes: \
         split the record into smaller ones"
    )]
    TooLarge {
        declared_bytes: u64,
        limit_bytes: u64,
    },
    #[error(
        "the upload sent more than the {declared_bytes} bytes it declared: declare the \
         ciphertext's exact size and send it again; nothing was stored"
    )]
    LongerThanDeclared { declared_bytes: u64 },
    #[error(
        "the upload ended after {received_bytes} of the {declared_bytes} bytes it declared: \
         send the whole ciphertext again; nothing was stored"
    )]
    ShorterThanDeclared {
        received_bytes: u64,
        declared_bytes: u64,
    },
    #[error(
        "the uploaded bytes hash to {actual}, not to {declared}: upload the envelope whose \
         BLAKE3 hash is the key; nothing was stored"
    )]
    HashMismatch {
        declared: BlobHash,
        actual: BlobHash,
    },
    #[error(
        "the upload stream failed after {received_bytes} bytes ({reason}): nothing was stored, \
         send it again"
    )]
    Interrupted { received_bytes: u64, reason: String },
    #[error(
        "the blob {hash} is stored with {stored_bytes} bytes, not the {declared_bytes} declared: \
         the hash fixes the size, so declare the ciphertext's exact size"
    )]
    DeclaredSizeWrong {
        hash: BlobHash,
        declared_bytes: u64,
        stored_bytes: u64,
    },
    #[error("no blob {hash} in this store: upload it first, or fetch it from another validator")]
    NotFound { hash: BlobHash },
    #[error(
        "the stored blob {hash} is corrupt ({detail}): do not use any of its bytes; delete it \
         and fetch a good copy from another validator"
    )]
    Corrupt { hash: BlobHash, detail: String },
    #[error("not a blob hash: {input:?}; give the 64 hex digits of the ciphertext's BLAKE3 hash")]
    BadHash { input: String },
    #[error("blob store configuration: {0}")]
    Config(String),
    #[error("the blob store ({store}) failed: {source}; check that it is reachable and writable")]
    Store {
        store: String,
        #[source]
        source: object_store::Error,
    },
}
