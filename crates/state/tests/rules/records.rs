//! Durable upload, then commit: a record needs storage receipts from 2f+1 distinct current
//! validators for exactly its ciphertext hash and size class, signed for this chain.

use crate::harness::*;
use medchain_state::*;
use medchain_types::*;

/// A clinician at St Mary and a patient registered there.
fn clinic(
    chain: &mut Chain,
) -> (
    commonware_cryptography::ed25519::PrivateKey,
    commonware_cryptography::ed25519::PrivateKey,
) {
    let admin = chain.st_mary_admin.clone();
    let clinician = chain.clinician(&admin, 600);
    let patient = chain.patient(ST_MARY, 601);
    (clinician, patient)
}

/// The harness record with `receipts` in place of its quorum.
fn with_receipts(
    chain: &Chain,
    patient: &commonware_cryptography::ed25519::PrivateKey,
    receipts: Vec<StorageReceipt>,
) -> Payload {
    let mut payload = chain.record_payload(patient, RecordCategory::Laboratory);
    if let Payload::CreateRecord {
        storage_receipts,
        content_hash,
        ..
    } = &mut payload
    {
        *storage_receipts = receipts;
        *content_hash = RECORD_HASH;
    }
    payload
}

fn bad_receipt(
    validator: &commonware_cryptography::ed25519::PrivateKey,
    reason: StorageReceiptFault,
) -> TxError {
    TxError::BadStorageReceipt {
        validator: Box::new(account(validator)),
        reason,
    }
}

#[test]
fn a_record_with_receipts_from_a_quorum_of_validators_is_committed() {
    let mut chain = Chain::new();
    let (clinician, patient) = clinic(&mut chain);
    let receipts = chain.storage_receipts(3, &RECORD_HASH, RECORD_SIZE_CLASS_BYTES);
    assert_eq!(receipts.len(), 3, "2f+1 of n = 4");
    let payload = with_receipts(&chain, &patient, receipts);
    let Outcome::RecordCreated { record } = chain.ok(&clinician, payload) else {
        panic!("a record with a quorum of receipts is created");
    };
    let entry = chain
        .query(async |s| query::record(s, &record).await)
        .expect("the record is in state");
    assert_eq!(entry.content_hash, RECORD_HASH);
    assert_eq!(entry.size_bytes, RECORD_SIZE_CLASS_BYTES);
    assert_eq!(entry.patient, account(&patient));
}

#[test]
fn a_record_with_fewer_than_2f_plus_1_receipts_is_refused() {
    let mut chain = Chain::new();
    let (clinician, patient) = clinic(&mut chain);
    for count in [0, 2] {
        let receipts = chain.storage_receipts(count, &RECORD_HASH, RECORD_SIZE_CLASS_BYTES);
        let error = chain.err(&clinician, with_receipts(&chain, &patient, receipts));
        assert_eq!(
            error,
            TxError::StorageQuorumNotMet {
                got: count,
                needed: 3,
                validators: 4
            }
        );
        assert_eq!(error.code(), "storage_quorum_not_met");
    }
    // Seven validators (f = 2) need five.
    let mut chain = Chain::with_validators(7);
    let (clinician, patient) = clinic(&mut chain);
    let four = chain.storage_receipts(4, &RECORD_HASH, RECORD_SIZE_CLASS_BYTES);
    assert_eq!(
        chain.err(&clinician, with_receipts(&chain, &patient, four)),
        TxError::StorageQuorumNotMet {
            got: 4,
            needed: 5,
            validators: 7
        }
    );
    let five = chain.storage_receipts(5, &RECORD_HASH, RECORD_SIZE_CLASS_BYTES);
    let payload = with_receipts(&chain, &patient, five);
    assert!(matches!(
        chain.ok(&clinician, payload),
        Outcome::RecordCreated { .. }
    ));
}

#[test]
fn a_validator_counted_twice_is_refused() {
    let mut chain = Chain::new();
    let (clinician, patient) = clinic(&mut chain);
    let mut receipts = chain.storage_receipts(2, &RECORD_HASH, RECORD_SIZE_CLASS_BYTES);
    receipts.push(receipts[0].clone());
    let twice = receipts[0].validator.clone();
    let error = chain.err(&clinician, with_receipts(&chain, &patient, receipts));
    assert_eq!(
        error,
        TxError::BadStorageReceipt {
            validator: Box::new(twice),
            reason: StorageReceiptFault::Duplicate
        }
    );
    assert_eq!(error.code(), "bad_storage_receipt");
}

#[test]
fn a_receipt_from_a_key_outside_the_validator_set_is_refused() {
    let mut chain = Chain::new();
    let (clinician, patient) = clinic(&mut chain);
    let mut receipts = chain.storage_receipts(3, &RECORD_HASH, RECORD_SIZE_CLASS_BYTES);
    // Validly signed, by the clinician's own key: a receipt is only worth a validator's.
    receipts.push(StorageReceipt::sign(
        &clinician,
        &chain.genesis.chain_id(),
        RECORD_HASH,
        RECORD_SIZE_CLASS_BYTES,
    ));
    assert_eq!(
        chain.err(&clinician, with_receipts(&chain, &patient, receipts)),
        bad_receipt(&clinician, StorageReceiptFault::NotValidator)
    );
}

#[test]
fn a_receipt_for_another_hash_or_size_class_is_refused() {
    let mut chain = Chain::new();
    let (clinician, patient) = clinic(&mut chain);
    let validator = chain.validators[0].clone();
    for (hash, size) in [
        ([6; 32], RECORD_SIZE_CLASS_BYTES),
        (RECORD_HASH, 2 * RECORD_SIZE_CLASS_BYTES),
    ] {
        let mut receipts = chain.storage_receipts(3, &RECORD_HASH, RECORD_SIZE_CLASS_BYTES);
        receipts.retain(|r| r.validator != account(&validator));
        receipts.push(StorageReceipt::sign(
            &validator,
            &chain.genesis.chain_id(),
            hash,
            size,
        ));
        assert_eq!(
            chain.err(&clinician, with_receipts(&chain, &patient, receipts)),
            bad_receipt(&validator, StorageReceiptFault::OtherBlob)
        );
    }
    // A receipt for another blob relabelled with this record's hash: its signature fails.
    let mut relabelled = chain.storage_receipts(3, &[6; 32], RECORD_SIZE_CLASS_BYTES);
    for receipt in &mut relabelled {
        receipt.content_hash = RECORD_HASH;
    }
    let first = relabelled[0].validator.clone();
    assert_eq!(
        chain.err(&clinician, with_receipts(&chain, &patient, relabelled)),
        TxError::BadStorageReceipt {
            validator: Box::new(first),
            reason: StorageReceiptFault::BadSignature
        }
    );
}

#[test]
fn a_receipt_signed_for_another_chain_is_refused() {
    let mut chain = Chain::new();
    let (clinician, patient) = clinic(&mut chain);
    let other_chain = ChainId([0xee; 32]);
    assert_ne!(other_chain, chain.genesis.chain_id());
    let mut receipts = chain.storage_receipts(2, &RECORD_HASH, RECORD_SIZE_CLASS_BYTES);
    let third = chain.validators[3].clone();
    assert!(receipts.iter().all(|r| r.validator != account(&third)));
    receipts.push(StorageReceipt::sign(
        &third,
        &other_chain,
        RECORD_HASH,
        RECORD_SIZE_CLASS_BYTES,
    ));
    assert_eq!(
        chain.err(&clinician, with_receipts(&chain, &patient, receipts)),
        bad_receipt(&third, StorageReceiptFault::BadSignature)
    );
}

#[test]
fn a_removed_validators_receipt_no_longer_counts() {
    let mut chain = Chain::new();
    let (clinician, patient) = clinic(&mut chain);
    let removed = chain.validators[3].clone();
    // Receipts made while it was a validator.
    let before = chain.storage_receipts(4, &RECORD_HASH, RECORD_SIZE_CLASS_BYTES);
    let change = MembershipChange::RemoveValidator {
        validator: account(&removed),
    };
    let proposer = chain.validators[0].clone();
    let Outcome::ProposalOpened { proposal, .. } = chain.ok(
        &proposer,
        Payload::ProposeMembership {
            change,
            ttl_blocks: 100,
        },
    ) else {
        panic!("the removal is proposed");
    };
    for voter in [1, 2] {
        let voter = chain.validators[voter].clone();
        chain.ok(
            &voter,
            Payload::Vote {
                proposal,
                approve: true,
            },
        );
    }
    let set = chain.query(async |s| query::validators(s).await);
    assert!(!set.contains(&account(&removed)));
    assert_eq!(
        chain.err(&clinician, with_receipts(&chain, &patient, before.clone())),
        bad_receipt(&removed, StorageReceiptFault::NotValidator)
    );
    // The three that remain (f = 0, quorum 1) are enough without it.
    let remaining: Vec<_> = before
        .into_iter()
        .filter(|r| r.validator != account(&removed))
        .collect();
    let payload = with_receipts(&chain, &patient, remaining);
    assert!(matches!(
        chain.ok(&clinician, payload),
        Outcome::RecordCreated { .. }
    ));
}

/// A record at St Mary, its clinician and its patient.
fn recorded(chain: &mut Chain) -> (PrivateKey, PrivateKey, RecordId) {
    let (clinician, patient) = clinic(chain);
    let record = chain.record(&clinician, &patient, RecordCategory::Laboratory);
    (clinician, patient, record)
}

use commonware_cryptography::ed25519::PrivateKey;

fn erasure_receipts(chain: &Chain, record: &RecordId, validators: &[usize]) -> Vec<ErasureReceipt> {
    validators
        .iter()
        .map(|&i| {
            ErasureReceipt::sign(
                &chain.validators[i],
                &chain.genesis.chain_id(),
                record,
                &RECORD_HASH,
            )
        })
        .collect()
}

#[test]
fn a_second_record_of_the_same_ciphertext_is_refused() {
    let mut chain = Chain::new();
    let (clinician, patient) = clinic(&mut chain);
    let receipts = chain.storage_receipts(3, &RECORD_HASH, RECORD_SIZE_CLASS_BYTES);
    chain.ok(
        &clinician,
        with_receipts(&chain, &patient, receipts.clone()),
    );
    assert_eq!(
        chain
            .err(&clinician, with_receipts(&chain, &patient, receipts))
            .code(),
        "invalid_transaction"
    );
}

#[test]
fn only_the_patient_erases_a_record_and_every_later_read_is_denied_and_logged() {
    let mut chain = Chain::new();
    let (clinician, patient, record) = recorded(&mut chain);
    let erase = Payload::EraseRecord { record };
    assert_eq!(
        chain.err(&clinician, erase.clone()).code(),
        "not_authorized"
    );
    assert_eq!(
        chain
            .err(&chain.validators[0].clone(), erase.clone())
            .code(),
        "not_authorized"
    );
    assert_eq!(
        chain.ok(&patient, erase.clone()),
        Outcome::RecordErased { record }
    );
    assert_eq!(chain.err(&patient, erase), TxError::AlreadyErased(record));
    // Even the author, treating at the author's institution, is denied now, and it is logged.
    assert_eq!(
        chain.request(&clinician, record, Purpose::Treat, None),
        (Decision::Deny, AccessReason::RecordErased, false)
    );
    let log = chain.query(async |s| query::access_log(s, &account(&patient), 0, 10).await);
    assert_eq!(
        (log.total, log.entries[0].reason),
        (1, AccessReason::RecordErased)
    );
    let entry = chain
        .query(async |s| query::record(s, &record).await)
        .unwrap();
    let erasure = entry.erasure.expect("the record is marked erased");
    assert!(erasure.receipts.is_empty());
    assert_eq!(entry.content_hash, RECORD_HASH, "hash and metadata stay");
}

#[test]
fn erasure_receipts_count_once_per_current_validator_and_only_for_their_record() {
    let mut chain = Chain::new();
    let (_, patient, record) = recorded(&mut chain);
    let confirm = |receipts| Payload::ConfirmErasure { record, receipts };
    // Not erased yet: no receipt counts.
    assert_eq!(
        chain
            .err(&patient, confirm(erasure_receipts(&chain, &record, &[0])))
            .code(),
        "not_authorized"
    );
    chain.ok(&patient, Payload::EraseRecord { record });
    assert_eq!(
        chain.ok(
            &patient,
            confirm(erasure_receipts(&chain, &record, &[0, 1]))
        ),
        Outcome::ErasureConfirmed {
            record,
            confirmed: 2
        }
    );
    // A validator already recorded, twice in one batch, a stranger, a receipt for another
    // record, a receipt whose signature was altered: each refused, nothing added.
    let again = erasure_receipts(&chain, &record, &[1]);
    assert_eq!(
        chain.err(&patient, confirm(again)).code(),
        "bad_erasure_receipt"
    );
    let twice = erasure_receipts(&chain, &record, &[2, 2]);
    assert_eq!(
        chain.err(&patient, confirm(twice)).code(),
        "bad_erasure_receipt"
    );
    let stranger = vec![ErasureReceipt::sign(
        &key(9_999),
        &chain.genesis.chain_id(),
        &record,
        &RECORD_HASH,
    )];
    assert_eq!(
        chain.err(&patient, confirm(stranger)).code(),
        "bad_erasure_receipt"
    );
    let other = erasure_receipts(&chain, &RecordId([1; 32]), &[2]);
    assert_eq!(
        chain.err(&patient, confirm(other)).code(),
        "bad_erasure_receipt"
    );
    let mut altered = erasure_receipts(&chain, &record, &[3]);
    altered[0].signature[5] ^= 1;
    assert_eq!(
        chain.err(&patient, confirm(altered)).code(),
        "bad_erasure_receipt"
    );
    assert_eq!(
        chain.err(&patient, confirm(Vec::new())).code(),
        "invalid_transaction"
    );
    // Anyone may carry the receipts; the signatures are what counts.
    let carrier = chain.validators[0].clone();
    assert_eq!(
        chain.ok(
            &carrier,
            confirm(erasure_receipts(&chain, &record, &[2, 3]))
        ),
        Outcome::ErasureConfirmed {
            record,
            confirmed: 4
        }
    );
}
