//! Reading a blob back: the stored bytes are hashed as they stream past, and the stream ends with
//! [`BlobError::Corrupt`] when they do not hash to the key (or are longer than the store allows).
//! A consumer must treat every chunk as provisional and use the data only once the stream has
//! ended without an error (written to a temporary file, say, and moved into place at the end).
//! The envelope's chunked AEAD authenticates each chunk again when the grantee decrypts.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;
use futures::stream::BoxStream;

use crate::{BlobError, BlobHash};

/// The bytes of one stored blob, checked against its content address while they stream.
pub struct VerifiedBlobStream {
    hash: BlobHash,
    store: String,
    /// Size the store reports for the object; a stream that ends short or long of it is corrupt.
    size_bytes: u64,
    inner: BoxStream<'static, object_store::Result<Bytes>>,
    hasher: blake3::Hasher,
    received_bytes: u64,
    finished: bool,
}

impl VerifiedBlobStream {
    pub(crate) fn new(
        hash: BlobHash,
        store: String,
        size_bytes: u64,
        inner: BoxStream<'static, object_store::Result<Bytes>>,
    ) -> Self {
        Self {
            hash,
            store,
            size_bytes,
            inner,
            hasher: blake3::Hasher::new(),
            received_bytes: 0,
            finished: false,
        }
    }

    /// The blob's size as stored (checked again at the end of the stream).
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    pub fn hash(&self) -> BlobHash {
        self.hash
    }

    fn fail(&mut self, detail: String) -> Poll<Option<Result<Bytes, BlobError>>> {
        self.finished = true;
        Poll::Ready(Some(Err(BlobError::Corrupt {
            hash: self.hash,
            detail,
        })))
    }
}

impl Stream for VerifiedBlobStream {
    type Item = Result<Bytes, BlobError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.finished {
            return Poll::Ready(None);
        }
        match self.inner.as_mut().poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Err(source))) => {
                self.finished = true;
                let store = self.store.clone();
                Poll::Ready(Some(Err(BlobError::Store { store, source })))
            }
            Poll::Ready(Some(Ok(chunk))) => {
                self.received_bytes += chunk.len() as u64;
                if self.received_bytes > self.size_bytes {
                    let detail = format!("it is longer than its stated {} bytes", self.size_bytes);
                    return self.fail(detail);
                }
                self.hasher.update(&chunk);
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(None) => {
                if self.received_bytes != self.size_bytes {
                    let detail = format!(
                        "it ended after {} of its {} bytes",
                        self.received_bytes, self.size_bytes
                    );
                    return self.fail(detail);
                }
                let actual = BlobHash(*self.hasher.finalize().as_bytes());
                if actual != self.hash {
                    return self.fail(format!("its bytes hash to {actual}"));
                }
                self.finished = true;
                Poll::Ready(None)
            }
        }
    }
}
