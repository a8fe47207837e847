//! The blob store's guarantees, each checked on a local directory and on a real S3 server.

mod common;

use bytes::Bytes;
use common::{Backend, Fixture, body_of, bytes_of, fixture};
use futures::{StreamExt, TryStreamExt};
use medchain_blob::{BLOB_SIZE_MAX_BYTES, BlobError, BlobHash, PutOutcome};
use object_store::path::Path;
use object_store::{CopyMode, CopyOptions, ObjectStore, ObjectStoreExt, PutPayload};

const MIB: usize = 1024 * 1024;
/// A small limit, so the tests can put a blob exactly at it and one byte past it.
const TEST_SIZE_MAX_BYTES: u64 = 3 * MIB as u64;

/// Runs one case against both backends, as two tests named after it.
macro_rules! on_both_backends {
    ($case:ident) => {
        mod $case {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn local() {
                if let Some(fx) =
                    fixture(Backend::Local, stringify!($case), TEST_SIZE_MAX_BYTES).await
                {
                    super::$case(fx).await;
                }
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn s3() {
                if let Some(fx) = fixture(Backend::S3, stringify!($case), TEST_SIZE_MAX_BYTES).await
                {
                    super::$case(fx).await;
                }
            }
        }
    };
}

async fn read_all(fx: &Fixture, hash: &BlobHash) -> Result<Bytes, BlobError> {
    let chunks: Vec<Bytes> = fx.store.get(hash).await?.try_collect().await?;
    Ok(chunks.concat().into())
}

async fn put_bytes(fx: &Fixture, bytes: &Bytes) -> Result<PutOutcome, BlobError> {
    fx.store
        .put(
            &BlobHash::of(bytes),
            bytes.len() as u64,
            body_of(bytes, 64 * 1024),
        )
        .await
}

/// Nothing of an upload is left: neither a blob under its key nor a staging object.
async fn assert_nothing_left(fx: &Fixture, hash: &BlobHash) {
    assert!(matches!(fx.store.get(hash).await, Err(BlobError::NotFound { hash: h }) if h == *hash));
    let leftovers: Vec<_> = fx.raw.list(None).try_collect().await.unwrap();
    assert!(
        leftovers.is_empty(),
        "{:?} left objects behind: {leftovers:?}",
        fx.backend
    );
}

fn raw_key(hash: &BlobHash) -> Path {
    Path::from_iter(["blobs", &hash.to_hex()])
}

async fn a_blob_reads_back_byte_identical(fx: Fixture) {
    let bytes = bytes_of(1, 2 * MIB + 17);
    let hash = BlobHash::of(&bytes);
    assert_eq!(
        put_bytes(&fx, &bytes).await.unwrap(),
        PutOutcome::Stored {
            size_bytes: bytes.len() as u64
        }
    );
    assert_eq!(read_all(&fx, &hash).await.unwrap(), bytes);
    assert_eq!(
        fx.store.size_of(&hash).await.unwrap(),
        Some(bytes.len() as u64)
    );
    // The staging object is gone once the blob is published.
    let objects: Vec<_> = fx
        .raw
        .list(None)
        .map_ok(|m| m.location)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(objects, vec![raw_key(&hash)]);
}
on_both_backends!(a_blob_reads_back_byte_identical);

async fn a_second_put_of_the_same_blob_succeeds_without_rewriting_it(fx: Fixture) {
    let bytes = bytes_of(2, 100_000);
    let hash = BlobHash::of(&bytes);
    put_bytes(&fx, &bytes).await.unwrap();
    let before = fx.raw.head(&raw_key(&hash)).await.unwrap();
    assert_eq!(
        put_bytes(&fx, &bytes).await.unwrap(),
        PutOutcome::AlreadyStored {
            size_bytes: 100_000
        }
    );
    let after = fx.raw.head(&raw_key(&hash)).await.unwrap();
    assert_eq!(
        (before.e_tag, before.last_modified),
        (after.e_tag, after.last_modified)
    );
    assert_eq!(read_all(&fx, &hash).await.unwrap(), bytes);
}
on_both_backends!(a_second_put_of_the_same_blob_succeeds_without_rewriting_it);

async fn a_put_under_a_stored_hash_with_other_bytes_never_overwrites(fx: Fixture) {
    let bytes = bytes_of(3, 50_000);
    let hash = BlobHash::of(&bytes);
    put_bytes(&fx, &bytes).await.unwrap();
    // Publication itself is create-only: a racing upload that reaches the copy loses.
    // An upload under a stored hash is answered from what is stored: its own bytes are not
    // even read, let alone written over the blob.
    let other = bytes_of(4, 50_000);
    let outcome = fx
        .store
        .put(&hash, other.len() as u64, body_of(&other, 4096))
        .await
        .unwrap();
    assert_eq!(outcome, PutOutcome::AlreadyStored { size_bytes: 50_000 });
    assert_eq!(read_all(&fx, &hash).await.unwrap(), bytes);
    // One of another size is refused: the hash fixes the size.
    let err = fx
        .store
        .put(&hash, 49_999, body_of(&other.slice(..49_999), 4096))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            BlobError::DeclaredSizeWrong {
                declared_bytes: 49_999,
                stored_bytes: 50_000,
                ..
            }
        ),
        "{err}"
    );
}
on_both_backends!(a_put_under_a_stored_hash_with_other_bytes_never_overwrites);

async fn a_tampered_object_is_detected_on_every_read(fx: Fixture) {
    let bytes = bytes_of(5, 300_000);
    let hash = BlobHash::of(&bytes);
    put_bytes(&fx, &bytes).await.unwrap();
    let mut tampered = bytes.to_vec();
    tampered[150_000] ^= 1;
    fx.raw
        .put(&raw_key(&hash), PutPayload::from(tampered))
        .await
        .unwrap();

    // The stream ends with an error, never with a clean end after wrong bytes.
    let results: Vec<Result<Bytes, BlobError>> = fx.store.get(&hash).await.unwrap().collect().await;
    let last = results
        .last()
        .expect("the stream yields at least the error");
    assert!(
        matches!(last, Err(BlobError::Corrupt { hash: h, .. }) if *h == hash),
        "{last:?}"
    );
    assert!(matches!(
        fx.store.verify(&hash).await,
        Err(BlobError::Corrupt { .. })
    ));
    // A re-upload of the right bytes reports the corruption instead of papering over it.
    assert!(matches!(
        put_bytes(&fx, &bytes).await,
        Err(BlobError::Corrupt { .. })
    ));

    // Truncated and extended objects are caught as well.
    fx.raw
        .put(&raw_key(&hash), PutPayload::from(bytes.slice(..299_999)))
        .await
        .unwrap();
    assert!(matches!(
        fx.store.verify(&hash).await,
        Err(BlobError::Corrupt { .. })
    ));
    let mut longer = bytes.to_vec();
    longer.push(0);
    fx.raw
        .put(&raw_key(&hash), PutPayload::from(longer))
        .await
        .unwrap();
    assert!(matches!(
        fx.store.verify(&hash).await,
        Err(BlobError::Corrupt { .. })
    ));
}
on_both_backends!(a_tampered_object_is_detected_on_every_read);

async fn a_blob_at_the_size_limit_is_stored_and_one_byte_more_is_refused(fx: Fixture) {
    let at_limit = bytes_of(6, TEST_SIZE_MAX_BYTES as usize);
    assert_eq!(
        put_bytes(&fx, &at_limit).await.unwrap(),
        PutOutcome::Stored {
            size_bytes: TEST_SIZE_MAX_BYTES
        }
    );
    assert_eq!(
        read_all(&fx, &BlobHash::of(&at_limit)).await.unwrap(),
        at_limit
    );

    let past = bytes_of(7, TEST_SIZE_MAX_BYTES as usize + 1);
    let err = put_bytes(&fx, &past).await.unwrap_err();
    assert!(
        matches!(err, BlobError::TooLarge { declared_bytes, limit_bytes }
            if declared_bytes == TEST_SIZE_MAX_BYTES + 1 && limit_bytes == TEST_SIZE_MAX_BYTES),
        "{err}"
    );
    assert!(matches!(
        fx.store.get(&BlobHash::of(&past)).await,
        Err(BlobError::NotFound { .. })
    ));
}
on_both_backends!(a_blob_at_the_size_limit_is_stored_and_one_byte_more_is_refused);

async fn an_upload_longer_than_declared_is_aborted_and_leaves_nothing(fx: Fixture) {
    let bytes = bytes_of(8, 2 * MIB);
    let hash = BlobHash::of(&bytes);
    let err = fx
        .store
        .put(&hash, MIB as u64, body_of(&bytes, 64 * 1024))
        .await
        .unwrap_err();
    assert!(
        matches!(err, BlobError::LongerThanDeclared { declared_bytes } if declared_bytes == MIB as u64),
        "{err}"
    );
    assert_nothing_left(&fx, &hash).await;
}
on_both_backends!(an_upload_longer_than_declared_is_aborted_and_leaves_nothing);

async fn an_upload_shorter_than_declared_leaves_nothing(fx: Fixture) {
    let bytes = bytes_of(9, MIB);
    let hash = BlobHash::of(&bytes);
    let err = fx
        .store
        .put(&hash, MIB as u64 + 1, body_of(&bytes, 64 * 1024))
        .await
        .unwrap_err();
    assert!(
        matches!(err, BlobError::ShorterThanDeclared { received_bytes, .. } if received_bytes == MIB as u64),
        "{err}"
    );
    assert_nothing_left(&fx, &hash).await;
}
on_both_backends!(an_upload_shorter_than_declared_leaves_nothing);

async fn an_upload_whose_hash_differs_leaves_nothing_readable(fx: Fixture) {
    let bytes = bytes_of(10, 2 * MIB);
    let claimed = BlobHash::of(b"some other ciphertext");
    let err = fx
        .store
        .put(&claimed, bytes.len() as u64, body_of(&bytes, 64 * 1024))
        .await
        .unwrap_err();
    assert!(
        matches!(err, BlobError::HashMismatch { declared, actual } if declared == claimed && actual == BlobHash::of(&bytes)),
        "{err}"
    );
    assert_nothing_left(&fx, &claimed).await;
    assert_nothing_left(&fx, &BlobHash::of(&bytes)).await;
}
on_both_backends!(an_upload_whose_hash_differs_leaves_nothing_readable);

async fn an_upload_interrupted_halfway_leaves_nothing_readable(fx: Fixture) {
    // More than one upload part has gone out before the body fails.
    let bytes = bytes_of(11, 20 * MIB);
    let hash = BlobHash::of(&bytes);
    let half: Vec<Result<Bytes, std::io::Error>> = (0..10)
        .map(|i| Ok(bytes.slice(i * MIB..(i + 1) * MIB)))
        .collect();
    let body = futures::stream::iter(half).chain(futures::stream::once(async {
        Err(std::io::Error::other("client went away"))
    }));
    let big = limit_raised(&fx);
    let err = big.put(&hash, bytes.len() as u64, body).await.unwrap_err();
    assert!(
        matches!(&err, BlobError::Interrupted { received_bytes, reason }
            if *received_bytes == 10 * MIB as u64 && reason == "client went away"),
        "{err}"
    );
    assert_nothing_left(&fx, &hash).await;
}
on_both_backends!(an_upload_interrupted_halfway_leaves_nothing_readable);

/// The same objects as the fixture's store, with the largest blob limit (for uploads past the
/// small test limit).
fn limit_raised(fx: &Fixture) -> medchain_blob::BlobStore {
    medchain_blob::BlobStore::from_object_store(fx.raw.clone(), BLOB_SIZE_MAX_BYTES).unwrap()
}

async fn deleted_blobs_are_gone_and_listing_finds_only_older_ones(fx: Fixture) {
    let a = bytes_of(12, 1000);
    let b = bytes_of(13, 2000);
    put_bytes(&fx, &a).await.unwrap();
    put_bytes(&fx, &b).await.unwrap();
    let far_future_ms = i64::MAX;
    let mut listed: Vec<_> = fx
        .store
        .list_older_than(far_future_ms)
        .map_ok(|s| (s.hash, s.size_bytes))
        .try_collect()
        .await
        .unwrap();
    listed.sort();
    let mut want = vec![(BlobHash::of(&a), 1000), (BlobHash::of(&b), 2000)];
    want.sort();
    assert_eq!(listed, want);
    let before_anything: Vec<_> = fx.store.list_older_than(0).try_collect().await.unwrap();
    assert!(before_anything.is_empty());

    assert!(fx.store.delete(&BlobHash::of(&a)).await.unwrap());
    assert!(matches!(
        fx.store.get(&BlobHash::of(&a)).await,
        Err(BlobError::NotFound { .. })
    ));
    assert!(!fx.store.delete(&BlobHash::of(&a)).await.unwrap());
    assert_eq!(read_all(&fx, &BlobHash::of(&b)).await.unwrap(), b);
}
on_both_backends!(deleted_blobs_are_gone_and_listing_finds_only_older_ones);

async fn a_stale_staging_object_is_collected(fx: Fixture) {
    let staging = Path::from_iter(["staging", "left-by-a-crash"]);
    fx.raw
        .put(&staging, PutPayload::from_static(b"partial"))
        .await
        .unwrap();
    assert_eq!(fx.store.remove_staging_older_than(0).await.unwrap(), 0);
    assert_eq!(
        fx.store.remove_staging_older_than(i64::MAX).await.unwrap(),
        1
    );
    let left: Vec<_> = fx.raw.list(None).try_collect().await.unwrap();
    assert!(left.is_empty(), "{left:?}");
}
on_both_backends!(a_stale_staging_object_is_collected);

#[tokio::test]
async fn a_limit_above_the_largest_blob_size_is_refused() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("blob-limit-refused");
    let err = medchain_blob::BlobStore::local(&dir, BLOB_SIZE_MAX_BYTES + 1).unwrap_err();
    assert!(matches!(err, BlobError::Config(m) if m.contains("set it between 1 and")));
}

async fn concurrent_uploads_of_one_blob_both_succeed_and_store_it_once(fx: Fixture) {
    let bytes = bytes_of(14, 6 * MIB / 4);
    let hash = BlobHash::of(&bytes);
    let (a, b) = tokio::join!(put_bytes(&fx, &bytes), put_bytes(&fx, &bytes));
    let mut outcomes = [a.unwrap(), b.unwrap()];
    outcomes.sort_by_key(|o| matches!(o, PutOutcome::AlreadyStored { .. }));
    let stored = PutOutcome::Stored {
        size_bytes: bytes.len() as u64,
    };
    let already = PutOutcome::AlreadyStored {
        size_bytes: bytes.len() as u64,
    };
    assert_eq!(
        outcomes[0], stored,
        "at least one upload publishes the blob"
    );
    match fx.backend {
        // A hard link is atomic: exactly one upload wrote, the other found its blob (either
        // because it lost the create-only link or because it looked after the first finished).
        Backend::Local => assert_eq!(outcomes[1], already),
        // moto checks `If-None-Match: *` and then writes, not atomically, so two completions
        // that interleave can both pass; AWS S3 refuses the later one (412 or 409). Both
        // uploads carry the same bytes under their hash, so either outcome stores one blob.
        Backend::S3 => assert!(outcomes[1] == already || outcomes[1] == stored),
    }
    assert_eq!(read_all(&fx, &hash).await.unwrap(), bytes);
    let staging: Vec<_> = fx
        .raw
        .list(Some(&Path::from("staging")))
        .try_collect()
        .await
        .unwrap();
    assert!(staging.is_empty(), "no staging object is left: {staging:?}");
}
on_both_backends!(concurrent_uploads_of_one_blob_both_succeed_and_store_it_once);

/// What publication rests on: the backend refuses a create-only copy onto an existing key
/// (a hard link locally; `If-None-Match: *` on the S3 server's multipart completion).
async fn the_backend_refuses_a_create_only_copy_onto_an_existing_key(fx: Fixture) {
    let bytes = bytes_of(15, 1000);
    put_bytes(&fx, &bytes).await.unwrap();
    let hash = BlobHash::of(&bytes);
    let intruder = Path::from_iter(["staging", "intruder"]);
    fx.raw
        .put(&intruder, PutPayload::from_static(b"other bytes"))
        .await
        .unwrap();
    let copy = fx
        .raw
        .copy_opts(
            &intruder,
            &raw_key(&hash),
            CopyOptions::new().with_mode(CopyMode::Create),
        )
        .await;
    assert!(
        matches!(copy, Err(object_store::Error::AlreadyExists { .. })),
        "{copy:?}"
    );
    assert_eq!(read_all(&fx, &hash).await.unwrap(), bytes);
}
on_both_backends!(the_backend_refuses_a_create_only_copy_onto_an_existing_key);
