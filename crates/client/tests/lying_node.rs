//! A node that lies to the client: each test builds a real ledger state (the node's own QMDB
//! state database, so every proof is genuine), finalizes blocks over it with the genesis
//! validators' keys, serves the answers from a small HTTP server, then tampers with what it
//! serves. Every lie must be refused with an error that says what happened.

use commonware_cryptography::{Signer as _, ed25519};
use commonware_runtime::{Runner as _, Supervisor as _, buffer::paged::CacheRef, deterministic};
use commonware_storage::qmdb::floor::Proportional;
use commonware_utils::{NZU16, NZUsize};
use medchain_client::{Client, ClientError, Trust};
use medchain_node::store::{StateDb, StateValue, state_db_config, state_key_digest};
use medchain_state::{
    AccessLogEntry, AccessReason, MemberEntry, MemberKeys, ValidatorEntry, ValidatorSet, keys,
};
use medchain_types::{
    AccountId, Genesis, InstitutionId, RecordId, TxHash,
    api::{AccessLogResponse, BlockResponse, Proven, StateProof},
    codes::{Decision, Purpose, Role},
};
use medchain_verify::{
    ProofError, VerifyError, finality::fixtures, freshness::MAX_STALENESS_DEFAULT_MS, log::LogError,
};
use serde_json::{Value, json};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

const CHAIN: &str = "lying-node";
const EPOCH_LENGTH_BLOCKS: u64 = 100;
const GENESIS_SET: [u64; 4] = [0, 1, 2, 3];
/// Block h is timestamped `BLOCK_TIME_BASE_MS + h` seconds.
const BLOCK_TIME_BASE_MS: u64 = 1_764_612_000_000;

fn block_time_ms(height: u64) -> u64 {
    BLOCK_TIME_BASE_MS + height * 1_000
}

fn account(seed: u64) -> AccountId {
    AccountId(ed25519::PrivateKey::from_seed(seed).public_key())
}

fn hospital() -> InstitutionId {
    InstitutionId::new("st-mary").unwrap()
}

fn validator(seed: u64) -> ValidatorEntry {
    ValidatorEntry {
        account: account(seed),
        institution: hospital(),
        p2p_address: format!("127.0.0.1:{}", 7000 + seed),
        http_address: format!("127.0.0.1:{}", 8000 + seed),
        encryption_key: [seed as u8 + 1; 32],
        since_height: 0,
    }
}

fn validator_set(seeds: &[u64]) -> ValidatorSet {
    let mut validators: Vec<_> = seeds.iter().map(|s| validator(*s)).collect();
    validators.sort_by(|a, b| a.account.cmp(&b.account));
    ValidatorSet { validators }
}

/// The grantee a patient seals fragments for.
fn grantee() -> AccountId {
    account(50)
}

fn grantee_entry(revoked_height: Option<u64>) -> MemberEntry {
    MemberEntry {
        account: grantee(),
        institution: hospital(),
        role: Role::Clinician,
        keys: Some(MemberKeys {
            pre_public_key: [2; 33],
            encryption_key: [3; 32],
        }),
        registered_height: 1,
        revoked_height,
    }
}

/// The patient whose access log is audited.
fn patient() -> AccountId {
    account(60)
}

fn log_entry(sequence: u64) -> AccessLogEntry {
    let break_glass = sequence == 2;
    AccessLogEntry {
        sequence,
        record: RecordId([7; 32]),
        requester: grantee(),
        purpose: if break_glass {
            Purpose::Etreat
        } else {
            Purpose::Treat
        },
        decision: Decision::Permit,
        reason: if break_glass {
            AccessReason::BreakGlass
        } else {
            AccessReason::Consent
        },
        consent: None,
        break_glass,
        justification: break_glass.then(|| "unconscious on arrival".to_string()),
        height: sequence + 1,
        timestamp_ms: block_time_ms(sequence + 1),
        tx_hash: TxHash([sequence as u8; 32]),
        policy_reasons: vec![],
    }
}

fn encoded<T: commonware_codec::Encode>(value: &T) -> Vec<u8> {
    value.encode().to_vec()
}

/// The writes of blocks 1, 2 and 3: the validators and the grantee at 1, the patient's access
/// log growing by one entry a block (the last a break-glass read), the grantee revoked at 3.
fn block_writes() -> Vec<Vec<(Vec<u8>, Vec<u8>)>> {
    let pseudonym = patient();
    let log = |sequence: u64| {
        vec![
            (
                keys::access_log(&pseudonym, sequence),
                encoded(&log_entry(sequence)),
            ),
            (keys::access_log_count(&pseudonym), encoded(&(sequence + 1))),
        ]
    };
    let mut first = vec![
        (keys::validator_set(), encoded(&validator_set(&GENESIS_SET))),
        (keys::member(&grantee()), encoded(&grantee_entry(None))),
    ];
    first.extend(log(0));
    let second = log(1);
    let mut third = log(2);
    third.push((keys::member(&grantee()), encoded(&grantee_entry(Some(3)))));
    vec![first, second, third]
}

/// The state after each block: its root and a proof of every key written so far.
struct State {
    height: u64,
    root: commonware_cryptography::sha256::Digest,
    proofs: HashMap<Vec<u8>, StateProof>,
}

/// Applies `blocks` to a fresh state database of the node's own kind and proves every key
/// after each block.
fn build_states(blocks: Vec<Vec<(Vec<u8>, Vec<u8>)>>) -> Vec<State> {
    deterministic::Runner::seeded(9).start(|context| async move {
        let config = state_db_config::<deterministic::Context>(
            "lying",
            CacheRef::new(NZU16!(4096), NZUsize!(64)),
        );
        let mut db = StateDb::init(context.child("state"), config, None)
            .await
            .expect("the state database opens");
        let mut written: Vec<Vec<u8>> = Vec::new();
        let mut states = Vec::new();
        for (index, writes) in blocks.into_iter().enumerate() {
            let mut batch = db.new_batch();
            for (key, value) in writes {
                if !written.contains(&key) {
                    written.push(key.clone());
                }
                batch = batch.write(state_key_digest(&key), Some(StateValue(value)));
            }
            let merkleized = batch
                .merkleize(&db, None, &mut Proportional)
                .await
                .expect("the batch merkleizes");
            db = db.apply_batch(merkleized).await.expect("the batch applies");
            let root = db.root();
            let height = index as u64 + 1;
            let mut proofs = HashMap::new();
            for key in &written {
                let value = db
                    .get(&state_key_digest(key))
                    .await
                    .expect("the key reads")
                    .expect("the key is present");
                let proof = db
                    .key_value_proof(state_key_digest(key))
                    .await
                    .expect("the key proves");
                proofs.insert(
                    key.clone(),
                    StateProof {
                        state_key: hex::encode(key),
                        value: hex::encode(&value.0),
                        proof: hex::encode(commonware_codec::Encode::encode(&proof)),
                        height,
                        state_root: hex::encode(root),
                    },
                );
            }
            states.push(State {
                height,
                root,
                proofs,
            });
        }
        states
    })
}

/// A chain over the states: block h commits to state h and is finalized by the genesis set
/// (of chain `chain_name`, which the tests vary to forge a foreign chain).
fn blocks_over(states: &[State], chain_name: &str) -> HashMap<u64, BlockResponse> {
    states
        .iter()
        .map(|state| {
            let mut block = fixtures::block(state.height, 0, state.height + 1, &[]);
            block.state_root = state.root;
            block.timestamp_ms = block_time_ms(state.height);
            let finalization = fixtures::finalize(chain_name, &block, &GENESIS_SET, &[0, 1, 2]);
            (
                state.height,
                fixtures::response(&block, Some(finalization), vec![]),
            )
        })
        .collect()
}

/// What the node serves: a JSON answer per path and query, as the tests craft them.
type Answers = Arc<Mutex<HashMap<String, Value>>>;

struct LyingNode {
    answers: Answers,
    client: Client,
}

impl LyingNode {
    /// Serves `answers` on a fresh loopback port; the client trusts `genesis` and reads the clock
    /// at `now_ms`.
    async fn start(genesis: Genesis, now_ms: u64) -> Self {
        let answers: Answers = Arc::default();
        let served = answers.clone();
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
            let served = served.clone();
            async move {
                let key = uri.path_and_query().map_or("", |p| p.as_str()).to_string();
                let answer = served.lock().unwrap().get(&key).cloned();
                match answer {
                    Some(body) => (axum::http::StatusCode::OK, axum::Json(body)),
                    None => (
                        axum::http::StatusCode::NOT_FOUND,
                        axum::Json(json!({"error": {"code": "not_found", "message": key}})),
                    ),
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let trust = Trust::new(genesis).with_clock(move || now_ms);
        let client = Client::new(&format!("http://{address}"))
            .unwrap()
            .trusting(trust);
        Self { answers, client }
    }

    fn serve(&self, path: &str, body: impl serde::Serialize) {
        self.answers
            .lock()
            .unwrap()
            .insert(path.to_string(), serde_json::to_value(body).unwrap());
    }

    fn serve_blocks(&self, blocks: &HashMap<u64, BlockResponse>) {
        for (height, block) in blocks {
            self.serve(&format!("/v1/blocks/{height}"), block);
        }
    }
}

fn proven<T: commonware_codec::Read<Cfg = ()>>(state: &State, key: &[u8]) -> Proven<T> {
    let proof = state.proofs[key].clone();
    let bytes = hex::decode(&proof.value).unwrap();
    let value =
        <T as commonware_codec::DecodeExt<()>>::decode(commonware_codec::Copying(bytes.as_slice()))
            .unwrap();
    Proven { value, proof }
}

const LOG_PAGE: &str = "limit=256";

fn log_path(from: u64) -> String {
    format!(
        "/v1/patients/{}/access-log?from={from}&{LOG_PAGE}",
        patient()
    )
}

fn log_page(
    state: &State,
    count_at: &State,
    served: std::ops::Range<u64>,
) -> AccessLogResponse<AccessLogEntry> {
    let pseudonym = patient();
    let count: Proven<u64> = proven(count_at, &keys::access_log_count(&pseudonym));
    AccessLogResponse {
        total: count.value,
        total_proof: Some(count.proof),
        entries: served
            .map(|sequence| proven(state, &keys::access_log(&pseudonym, sequence)))
            .collect(),
        next: None,
    }
}

/// An honest node at block 3, the clock half a second after it.
async fn honest_node() -> (LyingNode, Vec<State>) {
    let states = build_states(block_writes());
    let node = LyingNode::start(
        fixtures::genesis(CHAIN, 4, EPOCH_LENGTH_BLOCKS),
        block_time_ms(3) + 500,
    )
    .await;
    node.serve_blocks(&blocks_over(&states, CHAIN));
    let tip = &states[2];
    node.serve(
        "/v1/validator-set",
        proven::<ValidatorSet>(tip, &keys::validator_set()),
    );
    node.serve(
        &format!("/v1/members/{}", grantee()),
        proven::<MemberEntry>(tip, &keys::member(&grantee())),
    );
    node.serve(&log_path(0), log_page(tip, tip, 0..3));
    (node, states)
}

fn assert_unproven(
    result: Result<impl std::fmt::Debug, ClientError>,
    expected: fn(&ProofError) -> bool,
) {
    match result {
        Err(ClientError::Unproven { source, .. }) if expected(&source) => {}
        other => panic!("expected the answer to be refused as unproven, got {other:?}"),
    }
}

#[tokio::test]
async fn an_honest_node_serves_the_validator_set_the_threshold_is_taken_from() {
    let (node, _) = honest_node().await;
    let set = node.client.validators().await.unwrap();
    assert_eq!(set.height, 3);
    assert_eq!(set.value, validator_set(&GENESIS_SET));
    assert_eq!(set.value.reencryption_threshold(), 2);
    let member = node.client.member(&grantee()).await.unwrap();
    assert_eq!(member.value, grantee_entry(Some(3)));
}

#[tokio::test]
async fn lying_node_substituting_validator_encryption_keys_is_refused() {
    let (node, states) = honest_node().await;
    let mut answer = proven::<ValidatorSet>(&states[2], &keys::validator_set());
    answer.value.validators[0].encryption_key = [0xee; 32];
    node.serve("/v1/validator-set", &answer);
    assert_unproven(node.client.validators().await, |e| {
        matches!(e, ProofError::ValueMismatch)
    });
    // Re-encoding the proven bytes to match does not help: the Merkle proof no longer holds.
    answer.proof.value = hex::encode(encoded(&answer.value));
    node.serve("/v1/validator-set", &answer);
    assert_unproven(node.client.validators().await, |e| {
        matches!(e, ProofError::BadProof)
    });
}

#[tokio::test]
async fn lying_node_dropping_a_validator_is_refused() {
    let (node, states) = honest_node().await;
    let mut answer = proven::<ValidatorSet>(&states[2], &keys::validator_set());
    answer.value.validators.pop();
    answer.proof.value = hex::encode(encoded(&answer.value));
    node.serve("/v1/validator-set", &answer);
    assert_unproven(node.client.validators().await, |e| {
        matches!(e, ProofError::BadProof)
    });
}

#[tokio::test]
async fn lying_node_inflating_the_validator_set_is_refused() {
    let (node, states) = honest_node().await;
    let mut answer = proven::<ValidatorSet>(&states[2], &keys::validator_set());
    answer.value = validator_set(&[0, 1, 2, 3, 66, 67, 68]);
    answer.proof.value = hex::encode(encoded(&answer.value));
    node.serve("/v1/validator-set", &answer);
    assert_unproven(node.client.validators().await, |e| {
        matches!(e, ProofError::BadProof)
    });
}

#[tokio::test]
async fn lying_node_substituting_the_grantees_key_is_refused() {
    let (node, states) = honest_node().await;
    let path = format!("/v1/members/{}", grantee());
    let mut answer = proven::<MemberEntry>(&states[2], &keys::member(&grantee()));
    if let Some(keys) = &mut answer.value.keys {
        keys.pre_public_key = [0xaa; 33];
    }
    node.serve(&path, &answer);
    assert_unproven(node.client.member(&grantee()).await, |e| {
        matches!(e, ProofError::ValueMismatch)
    });
    // Another member's genuine entry and proof, served for the grantee, names another key.
    let validators: Proven<ValidatorSet> = proven(&states[2], &keys::validator_set());
    node.serve(&path, &validators);
    assert!(node.client.member(&grantee()).await.is_err());
}

#[tokio::test]
async fn an_honest_nodes_access_log_is_complete_with_the_break_glass_read() {
    let (node, _) = honest_node().await;
    let log = node.client.access_log(&patient()).await.unwrap();
    assert_eq!(log.height, 3);
    assert_eq!(log.value, vec![log_entry(0), log_entry(1), log_entry(2)]);
    assert!(log.value[2].break_glass);
}

fn assert_incomplete(
    result: Result<impl std::fmt::Debug, ClientError>,
    expected: fn(&LogError) -> bool,
) {
    match result {
        Err(ClientError::IncompleteLog { source, .. }) if expected(&source) => {}
        other => panic!("expected the log to be refused as incomplete, got {other:?}"),
    }
}

#[tokio::test]
async fn lying_node_omitting_an_access_log_entry_is_refused() {
    let (node, states) = honest_node().await;
    let tip = &states[2];
    // The break-glass read (entry 2) left out, the proven length kept.
    node.serve(&log_path(0), log_page(tip, tip, 0..2));
    assert_incomplete(node.client.access_log(&patient()).await, |e| {
        matches!(
            e,
            LogError::Incomplete {
                served_end: 2,
                expected_end: 3,
                count: 3,
                ..
            }
        )
    });
    // An entry in the middle left out: entry 2 is served where 1 belongs.
    let mut page = log_page(tip, tip, 0..3);
    page.entries.remove(1);
    node.serve(&log_path(0), &page);
    assert_incomplete(node.client.access_log(&patient()).await, |e| {
        matches!(e, LogError::Incomplete { .. })
    });
}

#[tokio::test]
async fn lying_node_serving_a_total_too_small_is_refused() {
    let (node, states) = honest_node().await;
    let tip = &states[2];
    // The JSON total says 2 and the last entry is gone, but the proven length says 3.
    let mut page = log_page(tip, tip, 0..2);
    page.total = 2;
    node.serve(&log_path(0), &page);
    assert_incomplete(node.client.access_log(&patient()).await, |e| {
        matches!(e, LogError::Incomplete { count: 3, .. })
    });
    // A proven length of 2 taken from block 2, beside block 3's entries: two heights.
    let page = log_page(tip, &states[1], 0..2);
    node.serve(&log_path(0), &page);
    assert_incomplete(node.client.access_log(&patient()).await, |e| {
        matches!(
            e,
            LogError::Entry {
                sequence: 0,
                error: ProofError::RootMismatch { .. }
            }
        )
    });
    // No length at all.
    let mut page = log_page(tip, tip, 0..3);
    page.total_proof = None;
    node.serve(&log_path(0), &page);
    assert_incomplete(node.client.access_log(&patient()).await, |e| {
        matches!(e, LogError::MissingCount)
    });
}

#[tokio::test]
async fn lying_node_mixing_heights_in_an_access_log_page_is_refused() {
    let (node, states) = honest_node().await;
    // Length and entry 2 from block 3, entries 0 and 1 from block 2.
    let mut page = log_page(&states[2], &states[2], 0..3);
    let older = log_page(&states[1], &states[1], 0..2);
    page.entries[0] = older.entries[0].clone();
    page.entries[1] = older.entries[1].clone();
    node.serve(&log_path(0), &page);
    assert_incomplete(node.client.access_log(&patient()).await, |e| {
        matches!(
            e,
            LogError::Entry {
                sequence: 0,
                error: ProofError::RootMismatch { .. }
            }
        )
    });
}

#[tokio::test]
async fn a_proof_older_than_max_staleness_is_refused_with_what_to_do() {
    let states = build_states(block_writes());
    // The user's clock is 95 s past block 3: the node is stuck (or hiding what came after).
    let node = LyingNode::start(
        fixtures::genesis(CHAIN, 4, EPOCH_LENGTH_BLOCKS),
        block_time_ms(3) + 95_000,
    )
    .await;
    node.serve_blocks(&blocks_over(&states, CHAIN));
    node.serve(
        "/v1/validator-set",
        proven::<ValidatorSet>(&states[2], &keys::validator_set()),
    );
    let error = node.client.validators().await.unwrap_err();
    assert!(
        matches!(&error, ClientError::Stale(stale) if stale.behind_ms == 95_000 && stale.max_staleness_ms == MAX_STALENESS_DEFAULT_MS),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "the node's newest proof is from block 3 at time 2025-12-01 18:00:03 UTC, 95 s behind your clock (limit 30 s); the node may be partitioned or lying: try another node or pass --max-staleness"
    );
}

#[tokio::test]
async fn a_proof_from_before_a_revocation_is_refused_once_the_revocation_was_seen() {
    let (node, states) = honest_node().await;
    let revoked = node.client.member(&grantee()).await.unwrap();
    assert_eq!((revoked.height, revoked.value.revoked_height), (3, Some(3)));
    // The node now serves the genuine entry from block 2, before the revocation.
    node.serve(
        &format!("/v1/members/{}", grantee()),
        proven::<MemberEntry>(&states[1], &keys::member(&grantee())),
    );
    let error = node.client.member(&grantee()).await.unwrap_err();
    assert!(
        matches!(
            error,
            ClientError::RolledBack {
                height: 2,
                newest: 3
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_proof_from_another_chain_is_refused() {
    let states = build_states(block_writes());
    let node = LyingNode::start(
        fixtures::genesis(CHAIN, 4, EPOCH_LENGTH_BLOCKS),
        block_time_ms(3) + 500,
    )
    .await;
    // Same validator keys, same state, but the certificates are of another chain.
    node.serve_blocks(&blocks_over(&states, "another-chain"));
    node.serve(
        "/v1/validator-set",
        proven::<ValidatorSet>(&states[2], &keys::validator_set()),
    );
    assert_unproven(node.client.validators().await, |e| {
        matches!(e, ProofError::Block(VerifyError::BadSignatures))
    });
}

#[tokio::test]
async fn a_block_of_a_later_epoch_served_without_its_handoffs_is_refused() {
    let states = build_states(block_writes());
    let genesis = fixtures::genesis(CHAIN, 4, 2);
    let node = LyingNode::start(genesis.clone(), block_time_ms(3) + 500).await;
    // Epochs of 2 blocks: block 1 ends epoch 0 and hands over to {0, 1, 2, 4}; block 3 (epoch
    // 1) is signed by that set.
    let next = [0, 1, 2, 4];
    let mut boundary = fixtures::block(1, 0, 2, &next);
    boundary.state_root = states[0].root;
    boundary.timestamp_ms = block_time_ms(1);
    let handoff = fixtures::handoff(
        &boundary,
        fixtures::finalize(CHAIN, &boundary, &GENESIS_SET, &[0, 1, 2]),
    );
    let mut tip = fixtures::block(3, 1, 4, &[]);
    tip.state_root = states[2].root;
    tip.timestamp_ms = block_time_ms(3);
    let finalization = fixtures::finalize(CHAIN, &tip, &next, &[1, 2, 4]);
    node.serve(
        "/v1/validator-set",
        proven::<ValidatorSet>(&states[2], &keys::validator_set()),
    );
    node.serve(
        "/v1/blocks/3",
        fixtures::response(&tip, Some(finalization.clone()), vec![handoff]),
    );
    assert_eq!(node.client.validators().await.unwrap().height, 3);
    node.serve(
        "/v1/blocks/3",
        fixtures::response(&tip, Some(finalization), vec![]),
    );
    assert_unproven(node.client.validators().await, |e| {
        matches!(e, ProofError::Block(VerifyError::BadSignatures))
    });
}
