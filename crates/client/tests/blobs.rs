//! Durable upload to every validator with checked receipts, and checked download, against real
//! blob endpoints of the node (its `blobs` router on loopback, each with its own store and key).

use commonware_cryptography::{Signer as _, ed25519};
use medchain_blob::BlobStore;
use medchain_client::{Client, ClientError, Trust};
use medchain_node::blobs::{BlobService, router};
use medchain_state::{ValidatorEntry, ValidatorSet};
use medchain_types::{AccountId, InstitutionId};
use medchain_verify::finality::fixtures;
use std::path::PathBuf;

const CHAIN: &str = "blob-client-test";

struct Validator {
    entry: ValidatorEntry,
    dir: PathBuf,
}

fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("client-blobs")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A blob endpoint on a free loopback port whose receipts are signed by `signing_seed`, listed
/// in the validator set as `listed_seed` (equal for an honest validator).
async fn validator(
    test: &str,
    listed_seed: u64,
    signing_seed: u64,
    chain: medchain_types::ChainId,
) -> Validator {
    let dir = tmp(&format!("{test}-{listed_seed}"));
    let store = BlobStore::local(&dir, medchain_blob::BLOB_SIZE_MAX_BYTES).unwrap();
    let service = BlobService::new(store, ed25519::PrivateKey::from_seed(signing_seed), chain);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(service)).await });
    Validator {
        entry: ValidatorEntry {
            account: AccountId(ed25519::PrivateKey::from_seed(listed_seed).public_key()),
            institution: InstitutionId::new("st-mary").unwrap(),
            p2p_address: format!("127.0.0.1:{}", 7000 + listed_seed),
            http_address: address.to_string(),
            encryption_key: [listed_seed as u8; 32],
            since_height: 0,
        },
        dir,
    }
}

fn client_of(v: &Validator, genesis: &medchain_types::Genesis) -> Client {
    Client::new(&format!("http://{}", v.entry.http_address))
        .unwrap()
        .trusting(Trust::new(genesis.clone()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_collects_a_checked_receipt_from_every_honest_validator_and_reads_back() {
    let genesis = fixtures::genesis(CHAIN, 4, 10);
    let chain = genesis.chain_id();
    let mut validators = Vec::new();
    for seed in 1..=3 {
        validators.push(validator("upload", seed, seed, chain).await);
    }
    // The fourth signs with a key other than the one the ledger lists for it.
    validators.push(validator("upload", 4, 99, chain).await);
    let set = ValidatorSet {
        validators: validators.iter().map(|v| v.entry.clone()).collect(),
    };

    let work = tmp("upload-files");
    let file = work.join("record.envelope");
    let bytes: Vec<u8> = (0..3 * 1024 * 1024 + 5)
        .map(|i| (i * 7 % 256) as u8)
        .collect();
    std::fs::write(&file, &bytes).unwrap();
    let upload = client_of(&validators[0], &genesis)
        .upload_blob(&set, &file)
        .await
        .unwrap();
    assert_eq!(upload.content_hash, *blake3::hash(&bytes).as_bytes());
    assert_eq!(upload.size_bytes, bytes.len() as u64);
    let signers: Vec<_> = upload
        .receipts
        .iter()
        .map(|r| r.validator.clone())
        .collect();
    assert_eq!(
        signers,
        validators[..3]
            .iter()
            .map(|v| v.entry.account.clone())
            .collect::<Vec<_>>()
    );
    assert_eq!(upload.failures.len(), 1);
    assert_eq!(upload.failures[0].0, validators[3].entry.account);
    assert!(
        matches!(upload.failures[0].1, ClientError::BadReceipt { .. }),
        "{}",
        upload.failures[0].1
    );

    let out = work.join("read-back");
    let read = client_of(&validators[1], &genesis)
        .download_blob(&upload.content_hash, Some(upload.size_bytes), &out)
        .await
        .unwrap();
    assert_eq!(read, bytes.len() as u64);
    assert_eq!(std::fs::read(&out).unwrap(), bytes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_blob_never_reaches_the_output_path() {
    let genesis = fixtures::genesis(CHAIN, 4, 10);
    let v = validator("tampered", 1, 1, genesis.chain_id()).await;
    let set = ValidatorSet {
        validators: vec![v.entry.clone()],
    };
    let work = tmp("tampered-files");
    let file = work.join("record.envelope");
    let bytes = vec![3u8; 500_000];
    std::fs::write(&file, &bytes).unwrap();
    let client = client_of(&v, &genesis);
    let upload = client.upload_blob(&set, &file).await.unwrap();
    assert_eq!(upload.receipts.len(), 1);

    let mut tampered = bytes.clone();
    tampered[250_000] ^= 0xff;
    std::fs::write(
        v.dir.join("blobs").join(hex::encode(upload.content_hash)),
        &tampered,
    )
    .unwrap();
    let out = work.join("read-back");
    let err = client
        .download_blob(&upload.content_hash, Some(upload.size_bytes), &out)
        .await
        .unwrap_err();
    // The node cuts the transfer off, or (had it served the bytes) the client's own hash check
    // refuses them; either way nothing is left at the path or beside it.
    assert!(
        matches!(
            err,
            ClientError::Unreachable { .. } | ClientError::BadBlob { .. }
        ),
        "{err}"
    );
    assert!(!out.exists());
    assert!(!work.join("read-back.partial").exists());

    let missing = client
        .download_blob(&[0u8; 32], None, &out)
        .await
        .unwrap_err();
    assert!(
        matches!(missing, ClientError::Api { status: 404, .. }),
        "{missing}"
    );
}
