//! A 64 MiB blob streams in and out of both backends while the test process never holds more
//! than a fraction of it: the kernel's peak-RSS mark of the process is reset before each step and
//! read after it. Its own test binary, so no other test runs in the process meanwhile.

mod common;

use bytes::Bytes;
use common::{Backend, bytes_of, fixture};
use futures::{StreamExt, TryStreamExt};
use medchain_blob::{BLOB_SIZE_MAX_BYTES, BlobHash, PutOutcome};

/// Resets the kernel's peak-RSS mark of this process (Linux: `5` to `/proc/self/clear_refs`) and
/// returns the resident size it starts from.
fn reset_peak_rss_bytes() -> usize {
    std::fs::write("/proc/self/clear_refs", "5").expect("Linux lets a process reset its peak RSS");
    status_kib("VmRSS:") * 1024
}

fn peak_rss_bytes() -> usize {
    status_kib("VmHWM:") * 1024
}

fn status_kib(field: &str) -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line[field.len()..]
        .trim()
        .trim_end_matches(" kB")
        .trim()
        .parse()
        .unwrap()
}

const MIB: usize = 1024 * 1024;
const BLOB_BYTES: usize = 64 * MIB;
const PIECE_BYTES: usize = 64 * 1024;
/// Three upload parts in flight or filling (15 MiB) plus the HTTP client's buffers: well under
/// the 64 MiB blob, so a whole-blob buffer anywhere would fail the test.
const PEAK_OVER_BASELINE_MAX_BYTES: usize = 30 * MIB;

/// The blob, generated piece by piece (never whole in memory): piece `i` is seeded by `i`.
fn piece(i: usize) -> Bytes {
    bytes_of(1000 + i as u64, PIECE_BYTES)
}

fn pieces() -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    futures::stream::iter((0..BLOB_BYTES / PIECE_BYTES).map(|i| Ok(piece(i))))
}

fn blob_hash() -> BlobHash {
    let mut hasher = blake3::Hasher::new();
    for i in 0..BLOB_BYTES / PIECE_BYTES {
        hasher.update(&piece(i));
    }
    BlobHash(*hasher.finalize().as_bytes())
}

async fn a_64_mib_blob_streams_in_and_out_in_bounded_memory(backend: Backend) {
    let Some(fx) = fixture(backend, "large", BLOB_SIZE_MAX_BYTES).await else {
        return;
    };
    let hash = blob_hash();

    let baseline = reset_peak_rss_bytes();
    let outcome = fx
        .store
        .put(&hash, BLOB_BYTES as u64, pieces())
        .await
        .unwrap();
    assert_eq!(
        outcome,
        PutOutcome::Stored {
            size_bytes: BLOB_BYTES as u64
        }
    );
    let put_peak = peak_rss_bytes().saturating_sub(baseline);

    let baseline = reset_peak_rss_bytes();
    let mut stream = fx.store.get(&hash).await.unwrap();
    let mut hasher = blake3::Hasher::new();
    let mut read_bytes = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        read_bytes += chunk.len();
        hasher.update(&chunk);
    }
    let get_peak = peak_rss_bytes().saturating_sub(baseline);
    assert_eq!(read_bytes, BLOB_BYTES);
    assert_eq!(BlobHash(*hasher.finalize().as_bytes()), hash);

    eprintln!("{backend:?}: peak RSS over baseline: put {put_peak} bytes, get {get_peak} bytes");
    assert!(
        put_peak < PEAK_OVER_BASELINE_MAX_BYTES,
        "{backend:?} put peaked at {put_peak} bytes"
    );
    assert!(
        get_peak < PEAK_OVER_BASELINE_MAX_BYTES,
        "{backend:?} get peaked at {get_peak} bytes"
    );
    assert!(fx.store.delete(&hash).await.unwrap());
    let left: Vec<_> = fx.raw.list(None).try_collect().await.unwrap();
    assert!(left.is_empty());
}

/// One test for both backends, run one after the other, so their peaks do not add up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_64_mib_blob_streams_in_and_out_in_bounded_memory_on_both_backends() {
    a_64_mib_blob_streams_in_and_out_in_bounded_memory(Backend::Local).await;
    a_64_mib_blob_streams_in_and_out_in_bounded_memory(Backend::S3).await;
}
