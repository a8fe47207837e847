//! End to end, as operators run it: four `medchain node` processes on 127.0.0.1 created by
//! `medchain init`, transactions through the HTTP API and the CLI, one validator killed with
//! SIGKILL while load runs, the chain keeps committing, the killed validator restarts and catches
//! up, and every transaction reported committed is in the same finalized blocks on every node;
//! an observer that follows read-only; and a validator admitted by governance that votes from the
//! next epoch boundary.

mod common;

use common::*;
use commonware_cryptography::{Signer as _, ed25519};
use medchain_client::Client;
use medchain_types::{
    AccountId, ChainId, Decision, InstitutionId, Payload, SignedTransaction, Transaction,
    api::{NodeRole, TxState},
};
use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
    process::Stdio,
};

const VALIDATORS: usize = 4;
const LOAD_TRANSACTIONS: u64 = 60;

/// A fresh key registering its pseudonym at the hospital, co-signed by `registrar`.
fn registration(
    chain_id: ChainId,
    registrar: &ed25519::PrivateKey,
    seed: u64,
) -> SignedTransaction {
    let key = ed25519::PrivateKey::from_seed(seed);
    let pre = medchain_crypto::umbral::SecretKey::from_be_bytes(
        blake3::hash(&seed.to_be_bytes()).as_bytes(),
    )
    .unwrap();
    SignedTransaction::sign(
        &key,
        Transaction {
            chain_id,
            sender: AccountId(key.public_key()),
            nonce: 0,
            payload: medchain_state::registration::register_pseudonym(
                &chain_id,
                &key,
                &pre,
                InstitutionId::new(HOSPITAL).unwrap(),
                registrar,
            ),
        },
    )
}

/// Every transaction hash in finalized blocks 1..=up_to, by block digest, as one node serves them.
async fn committed_on(client: &Client, up_to: u64) -> BTreeMap<u64, (String, Vec<String>)> {
    let mut blocks = BTreeMap::new();
    for h in 1..=up_to {
        let block = client.block(h).await.expect("finalized block is served");
        blocks.insert(h, (block.digest, block.transaction_hashes));
    }
    blocks
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_validator_catches_up_and_nothing_committed_is_lost() {
    let (dir, http) = init_consortium("e2e", VALIDATORS, 0);

    let mut nodes: Vec<Option<Node>> = (0..VALIDATORS).map(|i| Some(start_node(&dir, i))).collect();
    let clients: Vec<Client> = (0..VALIDATORS)
        .map(|i| Client::new(&format!("http://127.0.0.1:{}", http + i as u16)).unwrap())
        .collect();
    for client in &clients {
        wait_for("the first block on every validator", async || {
            height(client).await >= 1
        })
        .await;
    }
    let chain_id: ChainId = clients[0].status().await.unwrap().chain_id.parse().unwrap();

    // Load through every validator's API; kill validator 3 a third of the way through.
    let mut submitted = Vec::new();
    for n in 0..LOAD_TRANSACTIONS {
        if n == LOAD_TRANSACTIONS / 3 {
            let killed = nodes[3].take().unwrap();
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(killed.child.id() as i32),
                nix::sys::signal::Signal::SIGKILL,
            )
            .unwrap();
            drop(killed);
        }
        let alive = if nodes[3].is_some() {
            VALIDATORS
        } else {
            VALIDATORS - 1
        };
        let client = &clients[n as usize % alive];
        let tx = registration(chain_id, &registrar(&dir), 10_000 + n);
        let outcome = client.submit(&tx, false).await.expect("admitted");
        assert_eq!(outcome.status, TxState::Pending);
        // Transactions held only by validator 3 when it is killed may be lost with its mempool
        // (they were never reported committed); the others must all commit.
        if n as usize % alive != 3 {
            submitted.push(tx.hash().to_string());
        }
    }

    // And one through the CLI, as a patient would: a new sealed key file, then a pseudonym.
    let key_file = dir.join("patient.key");
    let generated = medchain()
        .args(["keys", "generate", "--out"])
        .arg(&key_file)
        .env("MEDCHAIN_PASSPHRASE", "correct horse battery staple")
        .output()
        .unwrap();
    assert!(
        generated.status.success(),
        "{}",
        String::from_utf8_lossy(&generated.stderr)
    );
    // The hospital co-signs the pseudonym: the patient shows its pseudonym and PRE key, the
    // hospital's admin co-signs them, the patient registers with that co-signature.
    let api_url = format!("http://127.0.0.1:{http}");
    let run = |args: &[&str]| {
        let out = medchain()
            .args(args)
            .env("MEDCHAIN_PASSPHRASE", "correct horse battery staple")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let key_arg = key_file.to_str().unwrap();
    let shown = run(&["keys", "show", "--key", key_arg, "--institution", HOSPITAL]);
    let admin = format!("admin-{HOSPITAL}");
    let cosigned = run(&[
        "patient",
        "cosign",
        "--as",
        &admin,
        "--data-dir",
        dir.to_str().unwrap(),
        "--api",
        &api_url,
        "--pseudonym",
        field(&shown, "account:"),
        "--pre-public-key",
        field(&shown, "pre public key:"),
    ]);
    let cli = medchain()
        .args(["patient", "register", "--institution", HOSPITAL, "--key"])
        .arg(&key_file)
        .args(["--api", &api_url])
        .args(["--registrar", field(&cosigned, "registrar:")])
        .args([
            "--registrar-signature",
            field(&cosigned, "registrar signature:"),
        ])
        .env("MEDCHAIN_PASSPHRASE", "correct horse battery staple")
        .output()
        .unwrap();
    let cli_out = String::from_utf8_lossy(&cli.stdout).to_string();
    assert!(
        cli.status.success(),
        "CLI failed: {}{cli_out}",
        String::from_utf8_lossy(&cli.stderr)
    );
    assert!(cli_out.contains("committed at height"), "{cli_out}");
    let cli_hash = cli_out
        .split("(transaction ")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .expect("the CLI prints the transaction hash")
        .to_string();

    // Every transaction submitted to a surviving validator commits while validator 3 is down.
    let mut committed = BTreeSet::new();
    wait_for("the load to commit", async || {
        for hash in &submitted {
            if committed.contains(hash) {
                continue;
            }
            for client in &clients[..3] {
                if let Ok(s) = client.tx_status(hash).await
                    && s.status == TxState::Committed
                {
                    committed.insert(hash.clone());
                    break;
                }
            }
        }
        committed.len() == submitted.len()
    })
    .await;
    committed.insert(cli_hash);

    // Validator 3 restarts from its disk and catches up past the others' current height.
    let target = height(&clients[0]).await;
    nodes[3] = Some(start_node(&dir, 3));
    wait_for("the restarted validator to catch up", async || {
        height(&clients[3]).await >= target
    })
    .await;

    // The same blocks, holding every committed transaction, on every validator.
    let mut views = Vec::new();
    for client in &clients {
        views.push(committed_on(client, target).await);
    }
    for view in &views[1..] {
        assert_eq!(
            view, &views[0],
            "validators serve different finalized blocks"
        );
    }
    let everywhere: BTreeSet<String> = views[0]
        .values()
        .flat_map(|(_, txs)| txs.iter().cloned())
        .collect();
    let missing: Vec<_> = committed.difference(&everywhere).collect();
    assert!(
        missing.is_empty(),
        "committed transactions missing from the chain: {missing:?}"
    );
    println!(
        "{} transactions committed across {target} blocks, identical on all {VALIDATORS} validators",
        committed.len()
    );
    drop(nodes);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_refuses_bad_input_with_json_errors_and_commits_nothing() {
    let (dir, http) = init_consortium("bad-input", 1, VALIDATORS as u16 + 2);
    let _node = start_node(&dir, 0);
    let base = format!("http://127.0.0.1:{http}");
    let client = Client::new(&base).unwrap();
    wait_for("the first block", async || height(&client).await >= 1).await;
    // The validator commits one transaction of its own at start (its DKG output); wait for it,
    // so the counts below see only this test's transactions on top of it.
    let genesis = medchain_node::config::load_genesis(&dir.join("genesis.toml")).unwrap();
    let verified = client
        .clone()
        .trusting(medchain_client::Trust::new(genesis));
    wait_for("the analytics key", async || {
        verified.analytics_key().await.is_ok()
    })
    .await;
    let chain_id: ChainId = client.status().await.unwrap().chain_id.parse().unwrap();
    let tx_url = format!("{base}/v1/tx");
    let json = |tx: &SignedTransaction| {
        use commonware_codec::Encode as _;
        serde_json::to_vec(&serde_json::json!({ "transaction": hex::encode(tx.encode()) })).unwrap()
    };

    // Malformed bodies and encodings.
    assert_eq!(
        post_raw(&tx_url, "application/json", b"{".to_vec()).await,
        (400, "malformed".into())
    );
    assert_eq!(
        post_raw(&tx_url, "text/plain", b"x".to_vec()).await.1,
        "malformed"
    );
    let not_hex = br#"{"transaction":"zz"}"#.to_vec();
    assert_eq!(
        post_raw(&tx_url, "application/json", not_hex).await,
        (400, "malformed".into())
    );
    let truncated = br#"{"transaction":"00ff"}"#.to_vec();
    assert_eq!(
        post_raw(&tx_url, "application/json", truncated).await,
        (400, "malformed".into())
    );
    let oversized = vec![b'a'; medchain_node::api::REQUEST_BODY_MAX_BYTES + 1];
    assert_eq!(
        post_raw(&tx_url, "application/json", oversized).await.0,
        413
    );

    // A bad signature, another chain's id, a replayed and a gapped nonce.
    let good = registration(chain_id, &registrar(&dir), 1);
    // At the right nonce, so admission gets past its nonce check to the signature: another
    // transaction's signature over this one.
    let mut forged = good.clone();
    forged.signature = registration(chain_id, &registrar(&dir), 9).signature;
    assert_eq!(
        post_raw(&tx_url, "application/json", json(&forged)).await,
        (400, "bad_signature".into())
    );
    let other_chain = registration(ChainId([7; 32]), &registrar(&dir), 2);
    assert_eq!(
        post_raw(&tx_url, "application/json", json(&other_chain)).await,
        (400, "wrong_chain".into())
    );
    let outcome = client.submit(&good, true).await.unwrap();
    assert_eq!(outcome.status, TxState::Committed);
    assert_eq!(
        post_raw(&tx_url, "application/json", json(&good)).await.0,
        409
    );
    let key = ed25519::PrivateKey::from_seed(3);
    let gapped = SignedTransaction::sign(
        &key,
        Transaction {
            chain_id,
            sender: AccountId(key.public_key()),
            nonce: 4,
            payload: registration(chain_id, &registrar(&dir), 3)
                .transaction
                .payload,
        },
    );
    assert_eq!(
        post_raw(&tx_url, "application/json", json(&gapped)).await,
        (409, "nonce_gap".into())
    );

    // Consent granted by a key that is not a registered patient pseudonym is refused.
    let stranger = ed25519::PrivateKey::from_seed(11);
    let policy = medchain_types::ConsentPolicy {
        decision: medchain_types::Decision::Deny,
        actors: vec![medchain_types::ConsentActor::Institution(
            InstitutionId::new(HOSPITAL).unwrap(),
        )],
        actions: vec![medchain_types::ConsentAction::Access],
        purposes: vec![medchain_types::Purpose::Treat],
        period: medchain_types::Period {
            start_ms: 0,
            end_ms: u64::MAX,
        },
        data: medchain_types::DataScope::All,
        exceptions: vec![],
    };
    let consent = SignedTransaction::sign(
        &stranger,
        Transaction {
            chain_id,
            sender: AccountId(stranger.public_key()),
            nonce: 0,
            payload: Payload::GrantConsent {
                policy,
                fragment_commitments: vec![],
            },
        },
    );
    assert_eq!(
        post_raw(&tx_url, "application/json", json(&consent)).await,
        (403, "unknown_sender".into())
    );

    // Nothing refused reached the mempool or the chain.
    assert_eq!(client.status().await.unwrap().mempool_size, 0);
    let committed = client.status().await.unwrap().committed_transactions;
    assert_eq!(
        committed, 2,
        "only the one valid transaction committed, after the validator's analytics key"
    );

    // /metrics has the chain's gauges and the commit latency of those two transactions.
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("medchain_height "), "{metrics}");
    let latency_count = metrics
        .lines()
        .find(|l| l.contains("commit_latency_seconds_count"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok());
    assert_eq!(latency_count, Some(2.0), "{metrics}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observer_follows_verifies_serves_proofs_and_refuses_transactions() {
    let (dir, http) = init_consortium("observer", VALIDATORS, 10);
    let _validators: Vec<Node> = (0..VALIDATORS).map(|i| start_node(&dir, i)).collect();
    let _observer = start_observer(&dir, 0);
    let validator = Client::new(&format!("http://127.0.0.1:{http}")).unwrap();
    let observer_url = format!("http://127.0.0.1:{}", http + VALIDATORS as u16);
    let observer = Client::new(&observer_url).unwrap();
    wait_for(
        "the first block on the observer and the validator",
        async || height(&observer).await >= 1 && height(&validator).await >= 1,
    )
    .await;
    let status = observer.status().await.unwrap();
    assert_eq!(status.role, NodeRole::Observer);
    let chain_id: ChainId = status.chain_id.parse().unwrap();

    // Transactions go to a validator; the observer executes the same blocks.
    let patients: Vec<SignedTransaction> = (0..5)
        .map(|n| registration(chain_id, &registrar(&dir), 70_000 + n))
        .collect();
    for tx in &patients {
        assert_eq!(
            validator.submit(tx, true).await.unwrap().status,
            TxState::Committed
        );
    }
    let target = height(&validator).await;
    wait_for("the observer to reach the validators' height", async || {
        height(&observer).await >= target
    })
    .await;
    assert_eq!(
        committed_on(&observer, target).await,
        committed_on(&validator, target).await,
        "the observer serves different finalized blocks"
    );
    for h in [1, target] {
        assert_eq!(
            observer.block(h).await.unwrap().state_root,
            validator.block(h).await.unwrap().state_root,
            "the observer's own execution reached another state at height {h}"
        );
    }

    // A patient's pseudonym, read from the observer, verifies against the genesis validators.
    let genesis = medchain_node::config::load_genesis(&dir.join("genesis.toml")).unwrap();
    let patient = patients[4].transaction.sender.clone();
    let verified = observer
        .clone()
        .trusting(medchain_client::Trust::new(genesis))
        .pseudonym(&patient)
        .await
        .expect("the observer's proof verifies");
    assert_eq!(verified.value.account, patient);

    // The observer never proposes, so it refuses transactions instead of holding them forever.
    let refused = post_raw(
        &format!("{observer_url}/v1/tx"),
        "application/json",
        serde_json::to_vec(&serde_json::json!({
            "transaction": hex::encode(commonware_codec::Encode::encode(&registration(chain_id, &registrar(&dir), 80_000)))
        }))
        .unwrap(),
    )
    .await;
    assert_eq!(refused, (403, "observer_read_only".to_string()));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Blocks per epoch of the governance test's chain: short, so the change applies quickly.
const GOVERNANCE_EPOCH_LENGTH_BLOCKS: &str = "10";

#[tokio::test(flavor = "multi_thread")]
async fn validator_admitted_by_governance_votes_from_the_next_epoch() {
    let (dir, http) = init_consortium_with(
        "governance",
        VALIDATORS,
        16,
        &[
            "--observers",
            "0",
            "--epoch-length-blocks",
            GOVERNANCE_EPOCH_LENGTH_BLOCKS,
        ],
    );
    let mut validators: Vec<Node> = (0..VALIDATORS).map(|i| start_node(&dir, i)).collect();
    let api = |i: usize| format!("http://127.0.0.1:{}", http + i as u16);
    let client = Client::new(&api(0)).unwrap();
    wait_for("the first block", async || height(&client).await >= 1).await;
    let genesis_file = dir.join("genesis.toml");
    let proving = client.clone().trusting(medchain_client::Trust::new(
        medchain_node::config::load_genesis(&genesis_file).unwrap(),
    ));
    wait_for(
        "the ledger to adopt the genesis analytics key",
        async || proving.analytics_key().await.is_ok(),
    )
    .await;
    let genesis_key = proving.analytics_key().await.unwrap().value;
    assert_eq!(genesis_key.participants.len(), VALIDATORS);
    let data_dir = dir.to_str().unwrap().to_string();
    let first_api = api(0);
    let as_user = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend([
            "--api",
            &first_api,
            "--genesis",
            genesis_file.to_str().unwrap(),
        ]);
        if args[1] != "show" {
            all.extend(["--data-dir", &data_dir]);
        }
        cli_with_passphrase(&all)
    };

    // A patient grants dr-bob while the consortium has its four genesis validators.
    let patient_key = dir.join("patient.key").to_str().unwrap().to_string();
    let pseudonym = register_patient(&patient_key, &first_api, &data_dir);
    let bob = AccountId::from(demo_keys(&dir, "dr-bob").signing.public_key()).to_string();
    let (ok, stdout, stderr) = as_user(&[
        "consent",
        "grant",
        "--key",
        &patient_key,
        "--institution",
        HOSPITAL,
        "--grantee",
        &bob,
        "--purpose",
        "treat",
    ]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("key fragments held by 4 of 4 validators (2 needed for a read)"),
        "{stdout}"
    );
    let consent = field(&stdout, "consent id:").to_string();

    // A new institution's node: prepared with `join`, started before it is admitted.
    let (http_base, p2p_base) = base_ports();
    let slot = 16 + VALIDATORS as u16;
    let (join_http, join_p2p) = (
        format!("127.0.0.1:{}", http_base + slot),
        format!("127.0.0.1:{}", p2p_base + slot),
    );
    let join_dir = dir.join("joining-node");
    let joined = cli(&[
        "join",
        "--genesis",
        genesis_file.to_str().unwrap(),
        "--data-dir",
        join_dir.to_str().unwrap(),
        "--p2p",
        &join_p2p,
        "--http",
        &join_http,
    ]);
    let validator_key = field(&joined, "validator key:").to_string();
    let encryption_key = field(&joined, "encryption key:").to_string();
    let validator_proof = field(&joined, "validator proof:").to_string();
    let encryption_key_proof = field(&joined, "encryption key proof:").to_string();
    let _joiner = start_process(&join_dir);
    let joiner = Client::new(&format!("http://{join_http}")).unwrap();

    // Validator 0 proposes it; validators 1 and 2 approve (3 of 4 is more than 2/3).
    let key_file = |i: usize| {
        dir.join(format!("validators/node-{i}/validator.key"))
            .to_str()
            .unwrap()
            .to_string()
    };
    let proposed = cli(&[
        "governance",
        "propose",
        "add-validator",
        "--node-key",
        &key_file(0),
        "--api",
        &api(0),
        "--institution",
        HOSPITAL,
        "--validator-key",
        &validator_key,
        "--p2p-address",
        &join_p2p,
        "--http-address",
        &join_http,
        "--encryption-key",
        &encryption_key,
        "--validator-proof",
        &validator_proof,
        "--encryption-key-proof",
        &encryption_key_proof,
    ]);
    let proposal = field(&proposed, "proposal id:").to_string();
    for voter in [1, 2] {
        // Each voter's node checks the vote against its own finalized state.
        let node = Client::new(&api(voter)).unwrap();
        wait_for("the voter's node to see the proposal", async || {
            node.get::<serde_json::Value>(&format!("/v1/proposals/{proposal}"))
                .await
                .is_ok()
        })
        .await;
        cli(&[
            "governance",
            "vote",
            &proposal,
            "--approve",
            "--node-key",
            &key_file(voter),
            "--api",
            &api(voter),
        ]);
    }

    wait_for("the admitted node to vote in a new epoch", async || {
        joiner
            .status()
            .await
            .is_ok_and(|s| s.role == NodeRole::Validator && s.epoch >= 1)
    })
    .await;
    let status = client.status().await.unwrap();
    assert_eq!(status.validators.len(), VALIDATORS + 1);
    assert!(status.validators.contains(&validator_key));
    // Patients seal re-encryption fragments to the keys of the proven validator set: the new
    // validator's comes from its admission on the ledger.
    let genesis = medchain_node::config::load_genesis(&genesis_file).unwrap();
    let trusting = client
        .clone()
        .trusting(medchain_client::Trust::new(genesis.clone()));
    let listed = trusting.validators().await.unwrap().value;
    let admitted = listed
        .validators
        .iter()
        .find(|v| v.account.to_string() == validator_key)
        .expect("the admitted validator is listed");
    assert_eq!(hex::encode(admitted.encryption_key), encryption_key);
    assert_eq!(admitted.http_address, join_http);

    // The analytics key follows the set: the four holders reshare it to the five validators of
    // the new epoch, the public key unchanged (studies encrypted under it still release), and
    // the admitted node keeps its share sealed under its own directory.
    wait_for(
        "the analytics key to be reshared to the five validators",
        async || {
            proving
                .analytics_key()
                .await
                .is_ok_and(|k| k.value.epoch >= 1 && k.value.participants.len() == VALIDATORS + 1)
        },
    )
    .await;
    let reshared = trusting.analytics_key().await.unwrap().value;
    assert_eq!(reshared.public_key, genesis_key.public_key);
    assert!(
        reshared
            .participants
            .iter()
            .any(|p| p.to_string() == validator_key)
    );
    let round_file = format!("round-{}.dkg", reshared.epoch);
    wait_for("the admitted node to store its share", async || {
        files_named(&join_dir, &round_file).len() == 1
    })
    .await;

    // The consent's fragments cover the old set: `consent show` says so, the patient
    // re-issues them for all five, and the admitted validator holds one.
    let (ok, shown, stderr) = as_user(&["consent", "show", &consent]);
    assert!(ok, "{stderr}");
    assert!(
        shown.contains(
            "the validator set changed since the grant (1 current validators hold no fragment)"
        ),
        "{shown}"
    );
    let (ok, stdout, stderr) = as_user(&[
        "consent",
        "reissue",
        "--key",
        &patient_key,
        "--institution",
        HOSPITAL,
        &consent,
    ]);
    assert!(ok, "consent reissue failed: {stderr}");
    assert!(
        stdout.contains("key fragments held by 5 of 5 validators (2 needed for a read)"),
        "{stdout}{stderr}"
    );
    assert_eq!(files_named(&join_dir, &consent).len(), 1);

    // With five validators a quorum is four: once a genesis validator is killed, the chain
    // only finalizes because the admitted node votes.
    drop(validators.pop());
    let before = height(&client).await;
    wait_for("finality without validator 3", async || {
        height(&client).await >= before + 5
    })
    .await;
    let tx = registration(status.chain_id.parse().unwrap(), &registrar(&dir), 90_000);
    assert_eq!(
        joiner.submit(&tx, true).await.unwrap().status,
        TxState::Committed,
        "the admitted validator accepts and commits transactions"
    );

    // Under the re-issued fragments dr-bob reads a record with validator 3 down.
    let file = dir.join("note.bin");
    let plaintext = content(0x5eed_0c0d, 50_000);
    std::fs::write(&file, &plaintext).unwrap();
    let (ok, stdout, stderr) = as_user(&[
        "record",
        "put",
        "--as",
        "dr-alice",
        "--patient",
        &pseudonym,
        "--category",
        "encounter",
        "--file",
        file.to_str().unwrap(),
    ]);
    assert!(ok, "record put failed: {stderr}");
    let record = field(&stdout, "record id:").to_string();
    let out = dir.join("note-bob.bin");
    let (ok, _, stderr) = as_user(&[
        "record",
        "get",
        &record,
        "--as",
        "dr-bob",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "the grantee's read failed: {stderr}");
    assert!(std::fs::read(&out).unwrap() == plaintext);

    // A client trusting only the genesis verifies the latest block through the hand-off.
    let tip = client.block(height(&client).await).await.unwrap();
    assert!(!tip.validator_handoffs.is_empty());
    let verified = medchain_verify::finalized_block(&genesis, &tip)
        .expect("the tip verifies through the validator hand-offs");
    assert_eq!(verified.validators, VALIDATORS + 1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The names of the published blobs under a node's directory (64 hex characters each).
fn blob_files(node_dir: &Path) -> BTreeSet<String> {
    fn walk(dir: &Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if name != "staging" {
                    walk(&path, out);
                }
            } else if name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
                out.insert(name);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(&node_dir.join("blobs"), &mut out);
    out
}

/// Size of the put the records test interrupts: long enough to be caught in flight.
const INTERRUPTED_PUT_SIZE_BYTES: u64 = 512 * 1024 * 1024;

/// A sparse file of `len` zero bytes (quick to make, slow to encrypt).
fn write_zeros(path: &str, len: u64) {
    std::fs::File::create(path).unwrap().set_len(len).unwrap();
}

/// Seconds after which the records test's nodes collect an upload nobody committed.
const UNCOMMITTED_BLOB_TEST_AGE_SECONDS: u64 = 6;

/// Size of the record the put/get test writes: several envelope chunks and upload pieces.
const RECORD_TEST_SIZE_BYTES: usize = 3 * 1024 * 1024 + 12_345;
const RECORD_TEST_SEED: u64 = 0x5eed_0010;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_put_by_a_clinician_reads_back_byte_identical_for_its_patient() {
    println!("content seed {RECORD_TEST_SEED:#x}");
    let (dir, http) = init_consortium_with("records", VALIDATORS, 24, &["--observers", "0"]);
    // Uploads whose record is never committed are collected after this many seconds.
    for i in 0..VALIDATORS {
        let config = dir.join(format!("validators/node-{i}/node.toml"));
        let text = std::fs::read_to_string(&config).unwrap();
        let text = text.replace(
            "uncommitted_blob_max_age_seconds = 3600",
            &format!("uncommitted_blob_max_age_seconds = {UNCOMMITTED_BLOB_TEST_AGE_SECONDS}"),
        );
        assert!(
            text.contains("uncommitted_blob_max_age_seconds = 6"),
            "{text}"
        );
        std::fs::write(&config, text).unwrap();
    }
    let mut validators: Vec<Node> = (0..VALIDATORS).map(|i| start_node(&dir, i)).collect();
    let api = format!("http://127.0.0.1:{http}");
    let client = Client::new(&api).unwrap();
    wait_for("the first block", async || height(&client).await >= 1).await;
    let data_dir = dir.to_str().unwrap();
    let genesis = dir.join("genesis.toml");
    let genesis = genesis.to_str().unwrap();
    let node = ["--api", &api, "--genesis", genesis, "--data-dir", data_dir];
    let path = |name: &str| dir.join(name).to_str().unwrap().to_string();

    // A patient with their own key file, registered at the hospital by its admin.
    let patient_key = path("patient.key");
    let (ok, _, stderr) = cli_with_passphrase(&["keys", "generate", "--out", &patient_key]);
    assert!(ok, "{stderr}");
    let (ok, shown, stderr) = cli_with_passphrase(&[
        "keys",
        "show",
        "--key",
        &patient_key,
        "--institution",
        HOSPITAL,
    ]);
    assert!(ok, "{stderr}");
    let pseudonym = field(&shown, "account:").to_string();
    let (ok, _, stderr) = cli_with_passphrase(&[
        "patient",
        "register",
        "--key",
        &patient_key,
        "--api",
        &api,
        "--data-dir",
        data_dir,
        "--institution",
        HOSPITAL,
        "--registrar-as",
        &format!("admin-{HOSPITAL}"),
    ]);
    assert!(ok, "{stderr}");

    // dr-alice puts a few MiB for the patient.
    let plaintext = content(RECORD_TEST_SEED, RECORD_TEST_SIZE_BYTES);
    let file = path("scan.bin");
    std::fs::write(&file, &plaintext).unwrap();
    let put = |patient: &str, file: &str, who: &[&str]| {
        let mut args = vec![
            "record",
            "put",
            "--patient",
            patient,
            "--category",
            "imaging",
        ];
        args.extend(["--file", file]);
        args.extend(who);
        args.extend(node);
        args.into_iter().map(str::to_string).collect::<Vec<_>>()
    };
    let run =
        |args: &[String]| cli_with_passphrase(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let (ok, stdout, stderr) = run(&put(&pseudonym, &file, &["--as", "dr-alice"]));
    assert!(ok, "record put failed: {stderr}");
    let record = field(&stdout, "record id:").to_string();

    // The ledger holds a size class and the ciphertext's hash; every validator holds the bytes.
    let trusted = client.clone().trusting(medchain_client::Trust::new(
        medchain_node::config::load_genesis(&dir.join("genesis.toml")).unwrap(),
    ));
    let record_id: medchain_types::RecordId = record.parse().unwrap();
    let entry = trusted.record(&record_id).await.unwrap().value;
    assert_eq!(
        entry.size_bytes,
        4 * 1024 * 1024,
        "the size class of 3 MiB and a bit"
    );
    assert_eq!(entry.patient.to_string(), pseudonym);
    let blob_name = hex::encode(entry.content_hash);
    for i in 0..VALIDATORS {
        let node_dir = dir.join(format!("validators/node-{i}"));
        assert_eq!(
            files_named(&node_dir, &blob_name).len(),
            1,
            "node {i} holds the blob"
        );
    }

    // The patient gets it back, byte-identical.
    let out_dir = dir.join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let out = |name: &str| out_dir.join(name).to_str().unwrap().to_string();
    let get = |out: &str, who: &[&str]| {
        let mut args = vec!["record", "get", record.as_str(), "--out", out];
        args.extend(who);
        args.extend(node);
        args.into_iter().map(str::to_string).collect::<Vec<_>>()
    };
    let (ok, _, stderr) = run(&get(&out("first.bin"), &["--key", &patient_key]));
    assert!(ok, "record get failed: {stderr}");
    assert!(
        std::fs::read(out("first.bin")).unwrap() == plaintext,
        "byte-identical"
    );
    // An existing output is not overwritten without --force.
    let refused = run(&get(&out("first.bin"), &["--key", &patient_key]));
    assert!(
        !refused.0 && refused.2.contains("pass --force"),
        "{}",
        refused.2
    );

    // The first validator the client tries serves a tampered copy: it is skipped.
    let set = trusted.validators().await.unwrap().value;
    let first_port: u16 = set.validators[0]
        .http_address
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let tampered_node = dir.join(format!("validators/node-{}", first_port - http));
    let stored = files_named(&tampered_node, &blob_name).remove(0);
    let mut bytes = std::fs::read(&stored).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&stored, &bytes).unwrap();
    let (ok, _, stderr) = run(&get(&out("second.bin"), &["--key", &patient_key]));
    assert!(ok, "record get with one tampered copy failed: {stderr}");
    assert!(
        stderr.contains(&format!(
            "validator {} ({}) did not serve the ciphertext intact",
            set.validators[0].account, set.validators[0].http_address
        )) && stderr.contains("trying the next"),
        "the tampered copy was tried first and skipped: {stderr}"
    );
    assert!(
        std::fs::read(out("second.bin")).unwrap() == plaintext,
        "byte-identical"
    );

    // Someone else's key file reads nothing and writes nothing: a member without consent is
    // denied by the ledger (and logged), another patient is not this record's patient.
    let stderr = cli_refuses(
        &get(&out("wrong.bin"), &["--as", "dr-bob"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(
        stderr.contains("the ledger denied the read: NoConsent"),
        "{stderr}"
    );
    let other_patient = path("other-patient.key");
    assert!(cli_with_passphrase(&["keys", "generate", "--out", &other_patient]).0);
    let stderr = cli_refuses(
        &get(&out("wrong.bin"), &["--key", &other_patient])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(stderr.contains("is not the patient of record"), "{stderr}");
    let mut left: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["first.bin", "second.bin"],
        "no partial or temporary file is left"
    );

    // Bad input at each boundary, each with a clear error.
    let refuse =
        |args: Vec<String>| cli_refuses(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let missing = path("no-such-file.bin");
    let stderr = refuse(put(&pseudonym, &missing, &["--as", "dr-alice"]));
    assert!(stderr.contains("cannot open the record's file"), "{stderr}");
    let stranger = hex::encode(ed25519::PrivateKey::from_seed(4242).public_key().as_ref());
    let stderr = refuse(put(&stranger, &file, &["--as", "dr-alice"]));
    assert!(stderr.contains("no patient pseudonym"), "{stderr}");
    let outsider_key = path("outsider.key");
    assert!(
        cli_with_passphrase(&[
            "keys",
            "generate",
            "--out",
            &outsider_key,
            "--institution",
            HOSPITAL
        ])
        .0
    );
    let stderr = refuse(put(&pseudonym, &file, &["--key", &outsider_key]));
    assert!(
        stderr.contains("is not a member of any institution"),
        "{stderr}"
    );
    let unknown = "ab".repeat(32);
    let mut args = get(&out("unknown.bin"), &["--key", &patient_key]);
    args[2] = unknown.clone();
    let stderr = refuse(args);
    assert!(stderr.contains(&format!("no record {unknown}")), "{stderr}");
    let stderr = refuse(get(&out("missing-dir/x.bin"), &["--key", &patient_key]));
    assert!(
        stderr.contains("does not exist; create it first"),
        "{stderr}"
    );

    // Ctrl-C during a put: the command stops, says so, and leaves no temporary file.
    let big = path("big.bin");
    write_zeros(&big, INTERRUPTED_PUT_SIZE_BYTES);
    let scratch = dir.join("tmp");
    std::fs::create_dir_all(&scratch).unwrap();
    let args = put(&pseudonym, &big, &["--as", "dr-alice"]);
    let child = medchain()
        .args(&args)
        .env("TMPDIR", &scratch)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the put to create its temporary ciphertext", async || {
        std::fs::read_dir(&scratch).unwrap().next().is_some()
    })
    .await;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let interrupted = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&interrupted.stderr);
    assert!(
        !interrupted.status.success()
            && stderr.contains("interrupted: temporary files are removed"),
        "{stderr}"
    );
    let left: Vec<_> = std::fs::read_dir(&scratch).unwrap().collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");

    // A validator down during an upload fetches the committed record's ciphertext from its
    // peers once it is back.
    validators.truncate(3);
    let late = path("late.bin");
    std::fs::write(&late, content(RECORD_TEST_SEED + 1, 300_000)).unwrap();
    let (ok, stdout, stderr) = run(&put(&pseudonym, &late, &["--as", "dr-alice"]));
    assert!(ok, "record put with one validator down failed: {stderr}");
    let late_record: medchain_types::RecordId = field(&stdout, "record id:").parse().unwrap();
    let late_blob = hex::encode(
        trusted
            .record(&late_record)
            .await
            .unwrap()
            .value
            .content_hash,
    );
    let node_3 = dir.join("validators/node-3");
    assert!(files_named(&node_3, &late_blob).is_empty());
    validators.push(start_node(&dir, 3));
    wait_for(
        "the validator that was down to fetch the ciphertext",
        async || files_named(&node_3, &late_blob).len() == 1,
    )
    .await;

    // With two of four validators down the upload cannot reach 2f+1 = 3: nothing is committed,
    // and the error names the two that failed.
    let before_refused = blob_files(&dir.join("validators/node-0"));
    validators.truncate(2);
    let stderr = refuse(put(&pseudonym, &file, &["--as", "dr-alice"]));
    assert!(
        stderr.contains(
            "only 2 of 4 validators stored the ciphertext, 3 are needed; nothing was committed"
        ),
        "{stderr}"
    );
    for down in [2, 3] {
        let address = format!("127.0.0.1:{}", http + down);
        assert!(
            stderr.contains(&address),
            "names validator {address}: {stderr}"
        );
    }
    // The two that stored the uncommitted upload collect it after its age; the committed
    // records' ciphertexts stay.
    assert_eq!(
        blob_files(&dir.join("validators/node-0")).len(),
        before_refused.len() + 1,
        "node 0 holds the uncommitted upload for now"
    );
    wait_for("the uncommitted upload to be collected", async || {
        (0..2).all(|i| blob_files(&dir.join(format!("validators/node-{i}"))) == before_refused)
    })
    .await;
    assert!(before_refused.contains(&blob_name) && before_refused.contains(&late_blob));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Size of the record the sharing test writes, as the issue's end-to-end session asks.
const SHARED_RECORD_SIZE_BYTES: usize = 10 * 1024 * 1024;
const SHARED_RECORD_SEED: u64 = 0x5eed_0011;

/// The HTTP address of the validator whose API port is `http + index`.
fn validator_api(http: u16, index: usize) -> String {
    format!("127.0.0.1:{}", http + index as u16)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_shared_by_consent_reads_for_its_grantee_through_t_validators_until_revoked() {
    println!("content seed {SHARED_RECORD_SEED:#x}");
    let (dir, http) = init_consortium_with("sharing", VALIDATORS, 28, &["--observers", "0"]);
    let mut validators: Vec<Option<Node>> =
        (0..VALIDATORS).map(|i| Some(start_node(&dir, i))).collect();
    let api = format!("http://127.0.0.1:{http}");
    let client = Client::new(&api).unwrap();
    wait_for("the first block", async || height(&client).await >= 1).await;
    let data_dir = dir.to_str().unwrap().to_string();
    let genesis_path = dir.join("genesis.toml");
    let genesis = medchain_node::config::load_genesis(&genesis_path).unwrap();
    let chain_id = genesis.chain_id();
    let trusted = client
        .clone()
        .trusting(medchain_client::Trust::new(genesis));
    let path = |name: &str| dir.join(name).to_str().unwrap().to_string();
    // Most commands verify against the genesis; `patient register` and `consent revoke` only
    // submit, and take fewer flags.
    let run_with = |args: &[&str], api: &str, verifying: bool| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--api", api]);
        if verifying {
            all.extend(["--genesis", genesis_path.to_str().unwrap()]);
        }
        if !matches!(args[1], "revoke" | "show" | "record") {
            all.extend(["--data-dir", &data_dir]);
        }
        cli_with_passphrase(&all)
    };
    let run = |args: &[&str], api: &str| run_with(args, api, true);

    // A patient registered at the hospital; dr-alice puts 10 MB for them.
    let patient_key = path("patient.key");
    let pseudonym = register_patient(&patient_key, &api, &data_dir);
    let plaintext = content(SHARED_RECORD_SEED, SHARED_RECORD_SIZE_BYTES);
    let file = path("discharge.bin");
    std::fs::write(&file, &plaintext).unwrap();
    let (ok, stdout, stderr) = run(
        &[
            "record",
            "put",
            "--as",
            "dr-alice",
            "--patient",
            &pseudonym,
            "--category",
            "encounter",
            "--file",
            &file,
        ],
        &api,
    );
    assert!(ok, "record put failed: {stderr}");
    let record = field(&stdout, "record id:").to_string();
    let record_id: medchain_types::RecordId = record.parse().unwrap();
    let record_entry = trusted.record(&record_id).await.unwrap().value;

    // dr-bob (same hospital, not the author) is denied without consent.
    let out_dir = dir.join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let out = |name: &str| out_dir.join(name).to_str().unwrap().to_string();
    let bob_get = |name: &str, api: &str| {
        run(
            &[
                "record",
                "get",
                &record,
                "--as",
                "dr-bob",
                "--out",
                &out(name),
            ],
            api,
        )
    };
    let (ok, _, stderr) = bob_get("denied.bin", &api);
    assert!(
        !ok && stderr.contains("the ledger denied the read: NoConsent"),
        "{stderr}"
    );

    // The patient grants dr-bob; every validator takes its fragment, none goes on the ledger.
    let bob = demo_keys(&dir, "dr-bob");
    let bob_account = AccountId::from(bob.signing.public_key());
    let (ok, stdout, stderr) = run(
        &[
            "consent",
            "grant",
            "--key",
            &patient_key,
            "--institution",
            HOSPITAL,
            "--grantee",
            &bob_account.to_string(),
            "--purpose",
            "treat",
            "--days",
            "30",
        ],
        &api,
    );
    assert!(ok, "consent grant failed: {stderr}");
    assert!(
        stdout.contains("key fragments held by 4 of 4 validators (2 needed for a read)"),
        "{stdout}"
    );
    let consent = field(&stdout, "consent id:").to_string();
    let consent_id: medchain_types::ConsentId = consent.parse().unwrap();
    let consent_entry = trusted.consent(&consent_id).await.unwrap().value;
    assert_eq!(
        (consent_entry.fragments.len(), consent_entry.threshold),
        (4, 2)
    );
    for i in 0..VALIDATORS {
        let node_dir = dir.join(format!("validators/node-{i}"));
        assert_eq!(
            files_named(&node_dir, &consent).len(),
            1,
            "node {i} holds its fragment"
        );
    }
    let (ok, shown, stderr) = run(&["consent", "show", &consent], &api);
    assert!(ok, "{stderr}");
    assert!(
        shown.contains("key fragments: 4 of 4 holders still hold theirs (2 needed for a read)"),
        "{shown}"
    );

    // dr-bob reads it, byte-identical.
    let (ok, _, stderr) = bob_get("bob-first.bin", &api);
    assert!(ok, "the grantee's read failed: {stderr}");
    assert!(std::fs::read(out("bob-first.bin")).unwrap() == plaintext);
    let log = trusted
        .access_log(&record_entry.patient)
        .await
        .unwrap()
        .value;
    let permit = log.last().unwrap().clone();
    assert_eq!(
        (permit.requester.clone(), permit.decision, permit.consent),
        (bob_account.clone(), Decision::Permit, Some(consent_id))
    );

    // Attacks on the release endpoint, each refused with its code and nothing released.
    let holder = |index: usize| {
        let account = consent_entry.fragments[index].validator.clone();
        let api = trusted_validator_api(&dir, http, &account);
        (account, api)
    };
    let (first, first_api) = holder(0);
    let release = |key: &ed25519::PrivateKey, sequence: u64, validator: &AccountId| {
        medchain_types::release::ReleaseRequest::sign(
            key,
            &chain_id,
            record_entry.patient.clone(),
            sequence,
            validator.clone(),
        )
    };
    // A replay of the release dr-bob's read already used.
    let replay = release(&bob.signing, permit.sequence, &first);
    assert_eq!(
        refused_code(client.release(&first_api, &replay).await),
        "release_replayed"
    );
    // Someone else asking for dr-bob's permit, signing as themselves or as dr-bob.
    let mallory = ed25519::PrivateKey::from_seed(0xbad);
    let (third, third_api) = holder(3);
    assert_eq!(
        refused_code(
            client
                .release(&third_api, &release(&mallory, permit.sequence, &third))
                .await
        ),
        "not_permitted"
    );
    let mut forged = release(&mallory, permit.sequence, &third);
    forged.requester = bob_account.clone();
    assert_eq!(
        refused_code(client.release(&third_api, &forged).await),
        "bad_signature"
    );
    // A request made for one validator, sent to another.
    assert_eq!(
        refused_code(
            client
                .release(&third_api, &release(&bob.signing, permit.sequence, &first))
                .await
        ),
        "not_authorized"
    );
    // dr-bob's earlier denial is not a permit, and an entry that does not exist yet is not one.
    let denial = log
        .iter()
        .find(|e| e.requester == bob_account && e.decision == Decision::Deny)
        .unwrap();
    assert_eq!(
        refused_code(
            client
                .release(&third_api, &release(&bob.signing, denial.sequence, &third))
                .await
        ),
        "not_permitted"
    );
    // A fragment for a consent nobody granted, and one that is not the committed fragment.
    assert_eq!(
        refused_code(
            client
                .put_fragment(
                    &third_api,
                    &medchain_types::ConsentId([7; 32]),
                    &[1; 358],
                    None
                )
                .await
        ),
        "unknown_consent"
    );
    assert_eq!(
        refused_code(
            client
                .put_fragment(&third_api, &consent_id, &[1; 358], None)
                .await
        ),
        "bad_fragments"
    );
    assert_eq!(
        refused_code(
            client
                .put_fragment(&third_api, &consent_id, &[1; 12], None)
                .await
        ),
        "bad_fragments"
    );

    // One validator killed: the read still works through the others.
    let first_index = validator_index(http, &first_api);
    validators[first_index] = None;
    let other_api = format!(
        "http://{}",
        validator_api(http, (first_index + 1) % VALIDATORS)
    );
    let (ok, _, stderr) = bob_get("bob-second.bin", &other_api);
    assert!(ok, "the read with one validator down failed: {stderr}");
    assert!(std::fs::read(out("bob-second.bin")).unwrap() == plaintext);

    // The patient revokes: the next read is denied, the old permit releases nothing more, and
    // the validators delete their fragments.
    let (ok, _, stderr) = run_with(
        &[
            "consent",
            "revoke",
            "--key",
            &patient_key,
            "--institution",
            HOSPITAL,
            "--consent",
            &consent,
        ],
        &other_api,
        false,
    );
    assert!(ok, "{stderr}");
    let (ok, _, stderr) = bob_get("bob-revoked.bin", &other_api);
    assert!(
        !ok && stderr.contains("the ledger denied the read: NoConsent"),
        "{stderr}"
    );
    assert_eq!(
        refused_code(
            client
                .release(&third_api, &release(&bob.signing, permit.sequence, &third))
                .await
        ),
        "not_permitted"
    );
    wait_for(
        "the revoked consent's fragments to be deleted",
        async || {
            (0..VALIDATORS).filter(|&i| i != first_index).all(|i| {
                files_named(&dir.join(format!("validators/node-{i}")), &consent).is_empty()
            })
        },
    )
    .await;

    // The patient's access history shows every read, proven complete.
    let (ok, history, stderr) = run(&["audit", "access-log", "--key", &patient_key], &other_api);
    assert!(ok, "{stderr}");
    let bobs: Vec<&str> = history
        .lines()
        .filter(|l| l.contains(&bob_account.to_string()))
        .collect();
    assert_eq!(bobs.len(), 4, "deny, permit, permit, deny: {history}");
    assert!(bobs[0].contains("-> deny") && bobs[1].contains("-> permit"));
    assert!(bobs[2].contains("-> permit") && bobs[3].contains("-> deny"));
    let left: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left.len(), 2, "only the two reads wrote files: {left:?}");

    // The patient erases the record while one validator is down: the three others delete the
    // ciphertext and their receipts go on the ledger; every later read is refused.
    let blob_name = hex::encode(record_entry.content_hash);
    let (ok, erased, stderr) = run(
        &["record", "erase", &record, "--key", &patient_key],
        &other_api,
    );
    assert!(ok, "record erase failed: {stderr}");
    assert!(
        erased.contains("3 of 4 validators confirmed deleting its ciphertext")
            && erased.contains("run `medchain record erase"),
        "{erased}"
    );
    for i in 0..VALIDATORS {
        let held = files_named(&dir.join(format!("validators/node-{i}")), &blob_name).len();
        assert_eq!(held, usize::from(i == first_index), "node {i}'s copy");
    }
    let (ok, _, stderr) = bob_get("bob-erased.bin", &other_api);
    assert!(
        !ok && stderr.contains("the ledger denied the read: RecordErased"),
        "{stderr}"
    );
    let (ok, _, stderr) = run(
        &[
            "record",
            "get",
            &record,
            "--key",
            &patient_key,
            "--out",
            &out("erased.bin"),
        ],
        &other_api,
    );
    assert!(!ok && stderr.contains("was erased at height"), "{stderr}");
    // The validator that was down comes back, catches up, and erases when asked again.
    validators[first_index] = Some(start_node(&dir, first_index));
    let back = Client::new(&format!("http://{first_api}")).unwrap();
    let tip = height(&client).await;
    wait_for("the restarted validator to catch up", async || {
        height(&back).await >= tip
    })
    .await;
    let (ok, erased, stderr) = run(
        &["record", "erase", &record, "--key", &patient_key],
        &other_api,
    );
    assert!(ok, "the second record erase failed: {stderr}");
    assert!(
        erased.contains("4 of 4 validators confirmed deleting its ciphertext"),
        "{erased}"
    );
    assert!(
        files_named(
            &dir.join(format!("validators/node-{first_index}")),
            &blob_name
        )
        .is_empty()
    );
    let (ok, audit, stderr) = run(&["audit", "record", "--id", &record], &other_api);
    assert!(ok, "{stderr}");
    assert!(
        audit.contains("4 of the 4 current validators confirmed deleting the ciphertext"),
        "{audit}"
    );
    drop(validators);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The API address of the validator `account` (its node directory's index is its port offset).
fn trusted_validator_api(dir: &Path, http: u16, account: &AccountId) -> String {
    let genesis = medchain_node::config::load_genesis(&dir.join("genesis.toml")).unwrap();
    let index = genesis
        .validators
        .iter()
        .position(|v| &v.account == account)
        .unwrap();
    let address = genesis.validators[index].http_address.clone();
    assert_eq!(address, validator_api(http, index));
    address
}

/// The index of the validator whose API is at `address`.
fn validator_index(http: u16, address: &str) -> usize {
    let port: u16 = address.rsplit(':').next().unwrap().parse().unwrap();
    (port - http) as usize
}
