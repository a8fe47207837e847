//! Conformance of the light client's `current` key-value proof check (`medchain_verify::proof::
//! current`) with commonware-storage 2026.10.0's own verifier, on a real QMDB `current::
//! unordered::variable` database of the node's kind (MMR, SHA-256 keys, `StateValue` values,
//! 32-byte bitmap chunks, `EightCap` index). A seeded workload inserts, updates and deletes keys
//! over several commits; every live key's real proof must verify under both verifiers, and every
//! tampered proof must be refused by both. The seed is printed; set `MEDCHAIN_TEST_SEED` to
//! replay one.

use commonware_codec::{Decode as _, Encode as _, Write as _, varint::UInt};
use commonware_cryptography::{Hasher as _, Sha256, sha256};
use commonware_parallel::Sequential;
use commonware_runtime::{Runner as _, Supervisor as _, buffer::paged::CacheRef, deterministic};
use commonware_storage::{
    journal::contiguous::variable::Config as VariableJournalConfig,
    mmr::{self, full::Config as MerkleConfig},
    qmdb::{
        any::unordered::{Update, variable::Operation},
        current::{
            VariableConfig,
            unordered::{proof::constant::KeyValueProof as RealProof, variable},
        },
        floor::Proportional,
    },
    translator::EightCap,
};
use commonware_utils::{NZU16, NZU64, NZUsize};
use medchain_types::api::StateProof;
use medchain_verify::proof::{
    PROOF_DIGESTS_MAX, STATE_BITMAP_CHUNK_BYTES, StateKeyValueProof, StateValue,
    current::{self, CurrentProofError},
    state_key_digest, verify_state_proof,
};
use rand::{RngExt as _, SeedableRng as _, rngs::StdRng};
use std::{collections::BTreeMap, sync::LazyLock};

/// The node's state database (`medchain_node::store::StateDb`), with the same generics.
type StateDb = variable::Db<
    mmr::Family,
    deterministic::Context,
    sha256::Digest,
    StateValue,
    Sha256,
    EightCap,
    STATE_BITMAP_CHUNK_BYTES,
    Sequential,
>;

type RealOperation = Operation<mmr::Family, sha256::Digest, StateValue>;

const COMMITS: usize = 8;
const INSERTS_PER_COMMIT: usize = 70;
const UPDATES_PER_COMMIT: usize = 25;
const DELETES_PER_COMMIT: usize = 10;
const VALUE_BYTES_MAX: usize = 300;
const SEED_DEFAULT: u64 = 20261202;
/// Single-key commits tried to reach a chunk-aligned log size (each adds a few operations).
const ALIGNING_COMMITS_MAX: usize = 2_000;

static SEED: LazyLock<u64> = LazyLock::new(|| {
    std::env::var("MEDCHAIN_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SEED_DEFAULT)
});

/// The workload's commits, built once for all tests (each test prints the seed).
fn commits() -> &'static [Commit] {
    static COMMITS: LazyLock<Vec<Commit>> = LazyLock::new(|| build_commits(*SEED));
    let seed = *SEED;
    println!("seed {seed} (replay with MEDCHAIN_TEST_SEED={seed})");
    &COMMITS
}

fn config(page_cache: CacheRef) -> VariableConfig<EightCap, ((), ()), Sequential> {
    let io_buffer = NZUsize!(1 << 16);
    VariableConfig {
        merkle_config: MerkleConfig {
            journal_partition: "conformance-state-merkle".into(),
            metadata_partition: "conformance-state-merkle-meta".into(),
            items_per_blob: NZU64!(4096),
            write_buffer: io_buffer,
            replay_buffer: io_buffer,
            strategy: Sequential,
            page_cache: page_cache.clone(),
        },
        journal_config: VariableJournalConfig {
            partition: "conformance-state-log".into(),
            items_per_section: NZU64!(4096),
            compression: None,
            codec_config: ((), ()),
            page_cache,
            write_buffer: io_buffer,
            replay_buffer: io_buffer,
        },
        grafted_metadata_partition: "conformance-state-grafted".into(),
        translator: EightCap,
        init_cache: Some(NZUsize!(1 << 16)),
        init_buffer: NZUsize!(1 << 21),
        init_concurrency: (),
    }
}

/// A genuine proof of one key's current value, as the node serves it.
#[derive(Clone, Debug)]
struct Served {
    key: Vec<u8>,
    value: Vec<u8>,
    proof: Vec<u8>,
    location: u64,
}

/// The state after one commit: its root, every live key's proof, and the proofs built with
/// `range_proof` for locations whose operation is no longer current (overwritten or deleted).
struct Commit {
    root: sha256::Digest,
    live: Vec<Served>,
    stale: Vec<Served>,
}

fn random_value(rng: &mut StdRng) -> Vec<u8> {
    let len = rng.random_range(0..=VALUE_BYTES_MAX);
    (0..len).map(|_| rng.random()).collect()
}

/// Runs the seeded workload on a real database and collects proofs after every commit.
fn build_commits(seed: u64) -> Vec<Commit> {
    deterministic::Runner::seeded(seed).start(|context| async move {
        let page_cache = CacheRef::new(NZU16!(4096), NZUsize!(64));
        let mut db = StateDb::init(context.child("state"), config(page_cache), None)
            .await
            .expect("the state database opens");
        let mut rng = StdRng::seed_from_u64(seed);
        let mut live: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        // The location each key's value had when it was last proven.
        let mut last_location: BTreeMap<Vec<u8>, (u64, Vec<u8>)> = BTreeMap::new();
        let mut next_key = 0u64;
        let mut commits = Vec::new();
        for _ in 0..COMMITS {
            let mut batch = db.new_batch();
            let mut changed = Vec::new();
            for _ in 0..INSERTS_PER_COMMIT {
                let key = format!("key-{next_key}").into_bytes();
                next_key += 1;
                let value = random_value(&mut rng);
                batch = batch.write(state_key_digest(&key), Some(StateValue(value.clone())));
                live.insert(key, value);
            }
            let keys: Vec<Vec<u8>> = live.keys().cloned().collect();
            for _ in 0..UPDATES_PER_COMMIT {
                let key = keys[rng.random_range(0..keys.len())].clone();
                let value = random_value(&mut rng);
                batch = batch.write(state_key_digest(&key), Some(StateValue(value.clone())));
                live.insert(key.clone(), value);
                changed.push(key);
            }
            for _ in 0..DELETES_PER_COMMIT {
                let key = keys[rng.random_range(0..keys.len())].clone();
                if live.remove(&key).is_some() {
                    batch = batch.write(state_key_digest(&key), None);
                    changed.push(key);
                }
            }
            let merkleized = batch
                .merkleize(&db, None, &mut Proportional)
                .await
                .expect("the batch merkleizes");
            db = db.apply_batch(merkleized).await.expect("the batch applies");
            let root = db.root();

            let mut stale = Vec::new();
            for key in &changed {
                let Some((location, value)) = last_location.get(key) else {
                    continue;
                };
                let (range, ops, chunks) = db
                    .range_proof(mmr::Location::new(*location), NZU64!(1))
                    .await
                    .expect("an unpruned location proves");
                let old =
                    RealOperation::Update(Update(state_key_digest(key), StateValue(value.clone())));
                assert_eq!(ops, vec![old], "the range proof is of the old operation");
                let proof = RealProof::<mmr::Family, sha256::Digest, STATE_BITMAP_CHUNK_BYTES> {
                    loc: mmr::Location::new(*location),
                    chunk: chunks[0],
                    range_proof: range,
                };
                stale.push(Served {
                    key: key.clone(),
                    value: value.clone(),
                    proof: proof.encode().to_vec(),
                    location: *location,
                });
            }

            let mut proven = Vec::new();
            for (key, value) in &live {
                let proof = db
                    .key_value_proof(state_key_digest(key))
                    .await
                    .expect("a live key proves");
                last_location.insert(key.clone(), (*proof.loc, value.clone()));
                proven.push(Served {
                    key: key.clone(),
                    value: value.clone(),
                    proof: proof.encode().to_vec(),
                    location: *proof.loc,
                });
            }
            commits.push(Commit {
                root,
                live: proven,
                stale,
            });
        }
        // Then single-key commits until the log ends on a chunk boundary, the one tree size
        // whose proofs carry no partial chunk.
        let mut extra = 0;
        while !(*db.bounds().end).is_multiple_of(256) {
            assert!(
                extra < ALIGNING_COMMITS_MAX,
                "no chunk-aligned size in {extra} commits"
            );
            let key = format!("key-{next_key}").into_bytes();
            next_key += 1;
            let value = random_value(&mut rng);
            let batch = db
                .new_batch()
                .write(state_key_digest(&key), Some(StateValue(value.clone())));
            live.insert(key, value);
            let merkleized = batch
                .merkleize(&db, None, &mut Proportional)
                .await
                .expect("the batch merkleizes");
            db = db.apply_batch(merkleized).await.expect("the batch applies");
            extra += 1;
        }
        let mut proven = Vec::new();
        for (key, value) in &live {
            let proof = db
                .key_value_proof(state_key_digest(key))
                .await
                .expect("a live key proves");
            assert_eq!(proof.range_proof.partial_chunk_digest, None);
            proven.push(Served {
                key: key.clone(),
                value: value.clone(),
                proof: proof.encode().to_vec(),
                location: *proof.loc,
            });
        }
        commits.push(Commit {
            root: db.root(),
            live: proven,
            stale: Vec::new(),
        });
        commits
    })
}

/// The light client's verdict, through the API the client calls.
fn ours(key: &[u8], value: &[u8], proof: &[u8], root: &sha256::Digest) -> bool {
    let served = StateProof {
        state_key: hex::encode(key),
        value: hex::encode(value),
        proof: hex::encode(proof),
        height: 1,
        state_root: hex::encode(root),
    };
    verify_state_proof(&served, root)
}

/// commonware-storage's verdict on the same bytes.
fn theirs(key: &[u8], value: &[u8], proof: &[u8], root: &sha256::Digest) -> bool {
    let Ok(proof) = RealProof::<mmr::Family, sha256::Digest, STATE_BITMAP_CHUNK_BYTES>::decode_cfg(
        commonware_codec::Copying(proof),
        &PROOF_DIGESTS_MAX,
    ) else {
        return false;
    };
    let operation =
        RealOperation::Update(Update(state_key_digest(key), StateValue(value.to_vec())));
    proof.verify::<Sha256, _>(operation, root)
}

fn both(key: &[u8], value: &[u8], proof: &[u8], root: &sha256::Digest) -> (bool, bool) {
    (
        ours(key, value, proof, root),
        theirs(key, value, proof, root),
    )
}

fn decoded(bytes: &[u8]) -> StateKeyValueProof {
    StateKeyValueProof::decode_cfg(commonware_codec::Copying(bytes), &PROOF_DIGESTS_MAX)
        .expect("a genuine proof decodes")
}

/// `digest` with one bit of byte `at` flipped.
fn flipped(digest: &sha256::Digest, at: usize) -> sha256::Digest {
    let mut bytes: [u8; 32] = digest
        .as_ref()
        .try_into()
        .expect("a SHA-256 digest is 32 bytes");
    bytes[at] ^= 1;
    sha256::Digest::from(bytes)
}

fn element(served: &Served) -> Vec<u8> {
    current::update_operation(
        &state_key_digest(&served.key),
        &StateValue(served.value.clone()),
    )
}

#[test]
fn every_live_key_proof_from_a_real_database_verifies_here_and_in_commonware() {
    let commits = commits();
    let mut proofs = 0;
    let mut with_partial_chunk = 0;
    let mut with_complete_chunk = 0;
    for commit in commits {
        for served in &commit.live {
            assert_eq!(
                both(&served.key, &served.value, &served.proof, &commit.root),
                (true, true),
                "key {:?}",
                String::from_utf8_lossy(&served.key)
            );
            // The light client's encoding is the node's, byte for byte.
            assert_eq!(
                decoded(&served.proof).encode().as_ref(),
                served.proof.as_slice()
            );
            let proof = decoded(&served.proof);
            let leaves = *proof.range.merkle.leaves;
            if served.location / 256 == leaves / 256 && !leaves.is_multiple_of(256) {
                with_partial_chunk += 1;
            } else {
                with_complete_chunk += 1;
            }
            proofs += 1;
        }
    }
    // The workload covers both kinds of chunk a value can sit in.
    assert!(
        with_partial_chunk > 0 && with_complete_chunk > 0,
        "{with_partial_chunk} / {with_complete_chunk}"
    );
    assert!(proofs > COMMITS * INSERTS_PER_COMMIT, "{proofs} proofs");
}

#[test]
fn the_update_operation_encodes_as_commonwares_leaf() {
    let key = state_key_digest(b"member/alice");
    for value in [Vec::new(), vec![7u8; 1], vec![0xAB; 300]] {
        let real = RealOperation::Update(Update(key, StateValue(value.clone())));
        assert_eq!(
            current::update_operation(&key, &StateValue(value)),
            real.encode().to_vec()
        );
    }
}

#[test]
fn a_proof_with_a_flipped_digest_is_refused_by_both() {
    let commits = commits();
    let mut tampered = 0;
    for commit in commits {
        for served in commit.live.iter().step_by(7) {
            let genuine = decoded(&served.proof);
            let mut variants = Vec::new();
            for index in 0..genuine.range.merkle.digests.len() {
                let mut proof = genuine.clone();
                proof.range.merkle.digests[index] =
                    flipped(&genuine.range.merkle.digests[index], 0);
                variants.push(proof);
            }
            let mut proof = genuine.clone();
            proof.range.ops_root = flipped(&genuine.range.ops_root, 31);
            variants.push(proof);
            if let Some(partial) = genuine.range.partial_chunk_digest {
                let mut proof = genuine.clone();
                proof.range.partial_chunk_digest = Some(flipped(&partial, 5));
                variants.push(proof);
            }
            // Another operation's activity bit in the chunk.
            let own_bit = served.location % 256;
            let other_bit = (own_bit + 1) % 256;
            let mut proof = genuine.clone();
            proof.chunk[(other_bit / 8) as usize] ^= 1 << (other_bit % 8);
            variants.push(proof);
            for proof in variants {
                let bytes = proof.encode();
                assert_eq!(
                    both(&served.key, &served.value, &bytes, &commit.root),
                    (false, false)
                );
                tampered += 1;
            }
        }
    }
    assert!(tampered > 100, "{tampered} tampered proofs");
}

#[test]
fn a_proof_checked_for_another_key_or_value_is_refused_by_both() {
    let commit = commits().last().unwrap();
    for (index, served) in commit.live.iter().enumerate().step_by(5) {
        let other = &commit.live[(index + 1) % commit.live.len()];
        let mut key = served.key.clone();
        key.push(b'x');
        assert_eq!(
            both(&key, &served.value, &served.proof, &commit.root),
            (false, false)
        );
        assert_eq!(
            both(&other.key, &served.value, &served.proof, &commit.root),
            (false, false)
        );
        let mut value = served.value.clone();
        value.push(0);
        assert_eq!(
            both(&served.key, &value, &served.proof, &commit.root),
            (false, false)
        );
        if other.value != served.value {
            assert_eq!(
                both(&served.key, &other.value, &served.proof, &commit.root),
                (false, false)
            );
        }
    }
}

#[test]
fn a_proof_moved_to_another_location_is_refused_by_both() {
    let commit = commits().last().unwrap();
    for served in commit.live.iter().step_by(5) {
        let genuine = decoded(&served.proof);
        for location in [
            served.location.wrapping_sub(1),
            served.location + 1,
            served.location + 256,
        ] {
            let mut proof = genuine.clone();
            proof.location = mmr::Location::new(location);
            let bytes = proof.encode();
            assert_eq!(
                both(&served.key, &served.value, &bytes, &commit.root),
                (false, false)
            );
        }
        let mut proof = genuine.clone();
        proof.range.merkle.leaves = mmr::Location::new(*genuine.range.merkle.leaves + 1);
        assert_eq!(
            both(&served.key, &served.value, &proof.encode(), &commit.root),
            (false, false)
        );
        let mut proof = genuine.clone();
        proof.range.merkle.inactive_peaks += 1;
        assert_eq!(
            both(&served.key, &served.value, &proof.encode(), &commit.root),
            (false, false)
        );
    }
}

#[test]
fn a_proof_checked_against_another_root_is_refused_by_both() {
    let commits = commits();
    let random_root = Sha256::hash(&[b"no such state"]);
    for pair in commits.windows(2) {
        let (earlier, later) = (&pair[0], &pair[1]);
        for served in earlier.live.iter().step_by(3) {
            assert_eq!(
                both(&served.key, &served.value, &served.proof, &later.root),
                (false, false)
            );
            assert_eq!(
                both(&served.key, &served.value, &served.proof, &random_root),
                (false, false)
            );
        }
    }
}

#[test]
fn a_proof_of_an_overwritten_or_deleted_value_is_refused_by_both() {
    let commits = commits();
    let mut stale = 0;
    for commit in commits {
        for served in &commit.stale {
            assert_eq!(
                both(&served.key, &served.value, &served.proof, &commit.root),
                (false, false)
            );
            assert_eq!(
                decoded(&served.proof).verify(&element(served), &commit.root),
                Err(CurrentProofError::Inactive)
            );
            // Setting the operation's bit again does not help: the chunk is committed.
            let mut proof = decoded(&served.proof);
            let bit = served.location % 256;
            proof.chunk[(bit / 8) as usize] |= 1 << (bit % 8);
            let bytes = proof.encode();
            assert_eq!(
                both(&served.key, &served.value, &bytes, &commit.root),
                (false, false)
            );
            stale += 1;
        }
    }
    assert!(stale > COMMITS, "{stale} stale proofs");
}

#[test]
fn a_truncated_or_extended_proof_is_refused_by_both() {
    let commit = commits().last().unwrap();
    for served in commit.live.iter().step_by(40) {
        for len in 0..served.proof.len() {
            let truncated = &served.proof[..len];
            assert_eq!(
                both(&served.key, &served.value, truncated, &commit.root),
                (false, false)
            );
        }
        let mut extended = served.proof.clone();
        extended.push(0);
        assert_eq!(
            both(&served.key, &served.value, &extended, &commit.root),
            (false, false)
        );
    }
}

#[test]
fn a_proof_with_a_digest_more_or_less_or_past_the_bound_is_refused_by_both() {
    let commit = commits().last().unwrap();
    for served in commit.live.iter().step_by(10) {
        let genuine = decoded(&served.proof);
        let mut more = genuine.clone();
        more.range.merkle.digests.push(Sha256::hash(&[b"extra"]));
        assert_eq!(
            both(&served.key, &served.value, &more.encode(), &commit.root),
            (false, false)
        );
        let mut fewer = genuine.clone();
        fewer.range.merkle.digests.pop();
        assert_eq!(
            both(&served.key, &served.value, &fewer.encode(), &commit.root),
            (false, false)
        );
    }
    let served = &commit.live[0];
    let mut oversized = decoded(&served.proof);
    oversized.range.merkle.digests = vec![Sha256::hash(&[b"pad"]); PROOF_DIGESTS_MAX + 1];
    let bytes = oversized.encode();
    assert!(
        StateKeyValueProof::decode_cfg(
            commonware_codec::Copying(bytes.as_ref()),
            &PROOF_DIGESTS_MAX
        )
        .is_err()
    );
    assert_eq!(
        both(&served.key, &served.value, &bytes, &commit.root),
        (false, false)
    );
}

#[test]
fn a_non_canonical_encoding_of_a_genuine_proof_is_refused_by_both() {
    let commit = commits().last().unwrap();
    let served = &commit.live[commit.live.len() / 2];
    let genuine = decoded(&served.proof);
    // The location as an overlong varint: the same number, one byte longer.
    let location_len = genuine.location.encode().len();
    let mut overlong = Vec::new();
    UInt(*genuine.location).write(&mut overlong);
    let last = overlong.len() - 1;
    overlong[last] |= 0x80;
    overlong.push(0);
    overlong.extend_from_slice(&served.proof[location_len..]);
    assert_eq!(
        both(&served.key, &served.value, &overlong, &commit.root),
        (false, false)
    );
    // The partial-chunk option's tag as 2 rather than 1 (or 0).
    let tag_at = served.proof.len() - 32 - genuine.range.partial_chunk_digest.map_or(1, |_| 33);
    let mut tag = served.proof.clone();
    assert!(tag[tag_at] <= 1);
    tag[tag_at] = 2;
    assert_eq!(
        both(&served.key, &served.value, &tag, &commit.root),
        (false, false)
    );
}

#[test]
fn random_corruptions_of_real_proofs_get_the_same_verdict_here_and_in_commonware() {
    let commits = commits();
    let mut rng = StdRng::seed_from_u64(*SEED ^ 0x5eed);
    let mut refused = 0;
    for commit in commits {
        for served in commit.live.iter().step_by(11) {
            for _ in 0..40 {
                let mut bytes = served.proof.clone();
                for _ in 0..rng.random_range(1..=3) {
                    let at = rng.random_range(0..bytes.len());
                    bytes[at] ^= 1 << rng.random_range(0..8);
                }
                let verdicts = both(&served.key, &served.value, &bytes, &commit.root);
                assert_eq!(verdicts.0, verdicts.1, "bytes {}", hex::encode(&bytes));
                refused += usize::from(!verdicts.0);
            }
        }
    }
    assert!(refused > 1000, "{refused} corruptions refused");
}

#[test]
fn a_genuine_proof_decodes_here_with_its_location_and_an_active_bit() {
    let commit = commits().last().unwrap();
    for served in commit.live.iter().step_by(17) {
        let proof = decoded(&served.proof);
        assert_eq!(*proof.location, served.location);
        assert_eq!(proof.verify(&element(served), &commit.root), Ok(()));
        let bit = served.location % 256;
        assert_ne!(proof.chunk[(bit / 8) as usize] & (1 << (bit % 8)), 0);
    }
}
