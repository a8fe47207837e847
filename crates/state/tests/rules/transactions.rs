//! Chain id, nonces, signatures, all-or-nothing execution, block limits, block building.

use crate::harness::*;
use commonware_codec::EncodeSize;
use commonware_cryptography::ed25519::PrivateKey;
use futures::executor::block_on;
use medchain_state::*;
use medchain_types::*;

/// Key `seed`'s pseudonym at st-mary, co-signed by its admin.
fn pseudonym_payload(chain: &Chain, seed: u64) -> Payload {
    chain.pseudonym_payload(ST_MARY, seed, &chain.st_mary_admin)
}

#[test]
fn a_transaction_for_another_chain_is_refused() {
    let mut chain = Chain::new();
    let patient = key(700);
    let mut tx = chain
        .tx(&patient, pseudonym_payload(&chain, 700))
        .transaction;
    tx.chain_id = ChainId([0xee; 32]);
    let signed = SignedTransaction::sign(&patient, tx);
    let error = chain.block(&[signed]).unwrap_err();
    assert_eq!(
        error.error,
        TxError::WrongChain {
            expected: chain.genesis.chain_id(),
            got: ChainId([0xee; 32])
        }
    );
}

#[test]
fn a_replayed_nonce_and_a_nonce_gap_are_refused_with_distinct_errors() {
    let mut chain = Chain::new();
    let patient = chain.patient(ST_MARY, 701);
    let enable = Payload::SetEmergencyAccess {
        institution: inst(CITY_LAB),
        enabled: true,
    };
    let mut replay = chain.tx(&patient, enable.clone()).transaction;
    replay.nonce = 0;
    let replay = SignedTransaction::sign(&patient, replay);
    assert_eq!(
        chain.block(&[replay]).unwrap_err().error,
        TxError::NonceReplayed {
            expected: 1,
            got: 0
        }
    );
    let mut gap = chain.tx(&patient, enable).transaction;
    gap.nonce = 5;
    let gap = SignedTransaction::sign(&patient, gap);
    assert_eq!(
        chain.block(&[gap]).unwrap_err().error,
        TxError::NonceGap {
            expected: 1,
            got: 5
        }
    );
    assert_eq!(
        chain.query(async |s| query::next_nonce(s, &account(&patient)).await),
        1
    );
}

#[test]
fn a_bad_signature_fails_the_block_at_its_index_and_writes_nothing() {
    let mut chain = Chain::new();
    let root = chain.store.root();
    let good = chain.tx(&key(702), pseudonym_payload(&chain, 702));
    let mut forged = chain.tx(&key(703), pseudonym_payload(&chain, 703));
    forged.signature = good.signature.clone();
    let error = chain.block(&[good, forged]).unwrap_err();
    assert_eq!(
        error,
        BlockError {
            index: 1,
            error: TxError::BadSignature
        }
    );
    assert_eq!(chain.store.root(), root);
}

#[test]
fn a_failing_transaction_fails_the_whole_block_and_writes_nothing() {
    let mut chain = Chain::new();
    let root = chain.store.root();
    let first = chain.tx(&key(704), pseudonym_payload(&chain, 704));
    let mut unknown = pseudonym_payload(&chain, 705);
    if let Payload::RegisterPseudonym { institution, .. } = &mut unknown {
        *institution = inst("nowhere");
    }
    let second = chain.tx(&key(705), unknown);
    let error = chain.block(&[first, second]).unwrap_err();
    assert_eq!(
        error,
        BlockError {
            index: 1,
            error: TxError::UnknownInstitution(inst("nowhere"))
        }
    );
    assert_eq!(chain.store.root(), root);
    assert_eq!(
        chain.query(async |s| query::next_nonce(s, &account(&key(704))).await),
        0
    );
}

#[test]
fn check_transaction_verifies_everything_and_writes_nothing() {
    let chain = Chain::new();
    let root = chain.store.root();
    let tx = chain.tx(&key(706), pseudonym_payload(&chain, 706));
    block_on(check_transaction(&chain.store, &chain.env(), &tx)).unwrap();
    assert_eq!(chain.store.root(), root);
    let mut forged = tx.clone();
    forged.transaction.nonce = 1;
    let error = block_on(check_transaction(&chain.store, &chain.env(), &forged)).unwrap_err();
    assert_eq!(error.code(), "bad_signature");
}

#[test]
fn build_block_skips_failing_transactions_and_its_block_verifies_to_the_same_root() {
    let mut chain = Chain::new();
    let before = chain.store.clone();
    let first = chain.tx(&key(707), pseudonym_payload(&chain, 707));
    let duplicate = first.clone();
    let mut forged = chain.tx(&key(708), pseudonym_payload(&chain, 708));
    forged.signature = first.signature.clone();
    let second = chain.tx(&key(709), pseudonym_payload(&chain, 709));
    let env = chain.env();
    let candidates = vec![
        first.clone(),
        duplicate.clone(),
        forged.clone(),
        second.clone(),
    ];
    let built = block_on(build_block(&mut chain.store, &env, candidates));
    let included: Vec<SignedTransaction> =
        built.included.iter().map(|(tx, _)| tx.clone()).collect();
    assert_eq!(included, vec![first, second]);
    let rejected: Vec<(TxHash, &str)> = built
        .rejected
        .iter()
        .map(|(h, e)| (*h, e.code().as_str()))
        .collect();
    assert_eq!(
        rejected,
        vec![
            (duplicate.hash(), "nonce_replayed"),
            (forged.hash(), "bad_signature")
        ]
    );
    assert!(built.deferred.is_empty());
    let mut verifier = before;
    let receipts = block_on(execute_block(&mut verifier, &env, &included)).unwrap();
    assert_eq!(
        receipts,
        built
            .included
            .iter()
            .map(|(_, r)| r.clone())
            .collect::<Vec<_>>()
    );
    assert_eq!(verifier.root(), chain.store.root());
}

#[test]
fn a_block_stops_at_the_proposers_budget_and_defers_the_rest_after_one_inclusion() {
    let mut chain = Chain::new();
    let before = chain.store.clone();
    let candidates: Vec<SignedTransaction> = (720..724)
        .map(|seed| chain.tx(&key(seed), pseudonym_payload(&chain, seed)))
        .collect();
    let env = chain.env();
    // A budget already spent still admits the first transaction, so a block always progresses.
    let mut asked = 0;
    let built = block_on(build_block_within(
        &mut chain.store,
        &env,
        candidates.clone(),
        || {
            asked += 1;
            true
        },
    ));
    let included: Vec<SignedTransaction> =
        built.included.iter().map(|(tx, _)| tx.clone()).collect();
    assert_eq!(included, vec![candidates[0].clone()]);
    assert_eq!(
        built.deferred,
        candidates[1..].to_vec(),
        "the rest wait, unexecuted"
    );
    assert!(built.rejected.is_empty());
    assert_eq!(
        asked, 3,
        "asked before each candidate after the first inclusion"
    );
    let mut verifier = before;
    block_on(execute_block(&mut verifier, &env, &included)).expect("the short block verifies");
    assert_eq!(verifier.root(), chain.store.root());
}

/// The sender's transaction at `nonce` with `payload`, signed.
fn at_nonce(chain: &Chain, signer: &PrivateKey, nonce: u64, payload: Payload) -> SignedTransaction {
    let mut transaction = chain.tx(signer, payload).transaction;
    transaction.nonce = nonce;
    SignedTransaction::sign(signer, transaction)
}

#[test]
fn build_block_refuses_a_failed_senders_later_nonces_without_executing_them() {
    let mut chain = Chain::new();
    let spammer = key(710);
    // Registration, a second registration (fails), then followers that can only be gaps; one
    // of them carries a bad signature, which is never checked.
    let mut run: Vec<_> = (0..6)
        .map(|nonce| at_nonce(&chain, &spammer, nonce, pseudonym_payload(&chain, 710)))
        .collect();
    run[4].signature = run[0].signature.clone();
    let honest = chain.tx(&key(711), pseudonym_payload(&chain, 711));
    let mut candidates = run.clone();
    candidates.insert(3, honest.clone());
    let env = chain.env();
    let built = block_on(build_block(&mut chain.store, &env, candidates));
    let included: Vec<_> = built.included.iter().map(|(tx, _)| tx.hash()).collect();
    assert_eq!(included, vec![run[0].hash(), honest.hash()]);
    let rejected: Vec<(TxHash, TxError)> = built.rejected.clone();
    let mut expected = vec![(
        run[1].hash(),
        TxError::AlreadyRegistered {
            account: Box::new(account(&spammer)),
        },
    )];
    for follower in &run[2..] {
        expected.push((
            follower.hash(),
            TxError::NonceGap {
                expected: 1,
                got: follower.transaction.nonce,
            },
        ));
    }
    assert_eq!(rejected, expected);
    assert_eq!(built.unexecuted, 4, "nonces 2 to 5 were not executed");
}

#[test]
fn build_block_still_executes_the_next_nonce_after_a_replay() {
    let mut chain = Chain::new();
    let patient = chain.patient(ST_MARY, 712);
    let enable = |enabled| Payload::SetEmergencyAccess {
        institution: inst(CITY_LAB),
        enabled,
    };
    // Nonce 0 (the registration) is already on the ledger, as a transaction in a parent block
    // the mempool still holds would be: its replay must not hold back nonce 1.
    let replay = at_nonce(&chain, &patient, 0, enable(true));
    let next = at_nonce(&chain, &patient, 1, enable(true));
    let env = chain.env();
    let built = block_on(build_block(
        &mut chain.store,
        &env,
        vec![replay.clone(), next.clone()],
    ));
    assert_eq!(built.included.len(), 1);
    assert_eq!(built.included[0].0, next);
    assert_eq!(built.rejected.len(), 1);
    assert_eq!(built.rejected[0].1.code(), "nonce_replayed");
    assert_eq!(built.unexecuted, 0);
}

#[test]
fn block_transactions_max_is_enforced_when_building_and_verifying() {
    let mut chain = Chain::new();
    let before = chain.store.clone();
    let candidates: Vec<SignedTransaction> = (0..=limits::BLOCK_TRANSACTIONS_MAX as u64)
        .map(|i| chain.tx(&key(10_000 + i), pseudonym_payload(&chain, 10_000 + i)))
        .collect();
    let env = chain.env();
    let mut verifier = before.clone();
    let error = block_on(execute_block(&mut verifier, &env, &candidates)).unwrap_err();
    assert_eq!(error.index, limits::BLOCK_TRANSACTIONS_MAX);
    assert_eq!(error.error.code(), "limit_exceeded");
    let built = block_on(build_block(&mut chain.store, &env, candidates.clone()));
    assert_eq!(built.included.len(), limits::BLOCK_TRANSACTIONS_MAX);
    assert_eq!(
        built.deferred,
        vec![candidates[limits::BLOCK_TRANSACTIONS_MAX].clone()]
    );
    let full = &candidates[..limits::BLOCK_TRANSACTIONS_MAX];
    let receipts = block_on(execute_block(&mut verifier, &env, full)).unwrap();
    assert_eq!(receipts.len(), limits::BLOCK_TRANSACTIONS_MAX);
}

#[test]
fn block_size_max_bytes_is_enforced_before_anything_executes() {
    let chain = Chain::new();
    // Large grants: the size check runs before signatures or rules, so these need not be valid.
    let fragments: Vec<FragmentCommitment> = (0..limits::SEALED_FRAGMENTS_MAX as u64)
        .map(|i| FragmentCommitment {
            validator: account(&key(20_000 + i)),
            sealed_digest: [0; 32],
        })
        .collect();
    let payload = Payload::GrantConsent {
        policy: permit_person(&key(1)),
        fragment_commitments: fragments,
    };
    let big = chain.tx(&key(711), payload);
    let size = big.encode_size();
    let fitting = limits::BLOCK_SIZE_MAX_BYTES / size;
    let txs = vec![big; fitting + 1];
    let env = chain.env();
    let mut store = chain.store.clone();
    let error = block_on(execute_block(&mut store, &env, &txs)).unwrap_err();
    assert_eq!(error.index, fitting);
    assert_eq!(error.error.code(), "limit_exceeded");
    // At the limit the size check passes; the block then fails on its contents instead.
    let error = block_on(execute_block(&mut store, &env, &txs[..fitting])).unwrap_err();
    assert_ne!(error.error.code(), "limit_exceeded");
}
