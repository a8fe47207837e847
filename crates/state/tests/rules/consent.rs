//! Consent grant and revoke rules.

use crate::harness::*;
use medchain_state::*;
use medchain_types::*;

struct Setup {
    chain: Chain,
    clinician: commonware_cryptography::ed25519::PrivateKey,
    patient: commonware_cryptography::ed25519::PrivateKey,
    record: RecordId,
}

fn setup() -> Setup {
    let mut chain = Chain::new();
    let admin = chain.st_mary_admin.clone();
    let clinician = chain.clinician(&admin, 500);
    let patient = chain.patient(ST_MARY, 501);
    let record = chain.record(&clinician, &patient, RecordCategory::Diagnosis);
    Setup {
        chain,
        clinician,
        patient,
        record,
    }
}

fn grant_payload(chain: &Chain, policy: ConsentPolicy, fragments: usize) -> Payload {
    Payload::GrantConsent {
        policy,
        fragment_commitments: chain.fragments(fragments),
    }
}

#[test]
fn a_patient_grants_consent_and_it_is_listed_under_the_pseudonym() {
    let Setup {
        mut chain,
        clinician,
        patient,
        ..
    } = setup();
    let tx = chain.tx(
        &patient,
        grant_payload(&chain, permit_person(&clinician), 2),
    );
    chain.block(std::slice::from_ref(&tx)).unwrap();
    let id = ConsentId::for_grant(
        &chain.genesis.chain_id(),
        &tx.transaction.sender,
        tx.transaction.nonce,
    );
    let consent = chain.query(async |s| query::consent(s, &id).await).unwrap();
    assert_eq!(
        (
            consent.patient.clone(),
            consent.revoked_height,
            consent.fragments.len(),
            consent.threshold
        ),
        (account(&patient), None, 2, 2)
    );
    let listed = chain.query(async |s| query::patient_consents(s, &account(&patient)).await);
    assert_eq!(listed.iter().map(|c| c.id).collect::<Vec<_>>(), vec![id]);
}

#[test]
fn only_a_pseudonym_grants_consent() {
    let Setup {
        mut chain,
        clinician,
        ..
    } = setup();
    let payload = grant_payload(&chain, permit_person(&clinician), 2);
    assert_eq!(
        chain.err(&clinician, payload),
        TxError::UnknownSender {
            sender: Box::new(account(&clinician))
        }
    );
}

#[test]
fn a_consent_cannot_name_another_patients_record() {
    let Setup {
        mut chain,
        clinician,
        patient,
        record,
    } = setup();
    let other = chain.patient(ST_MARY, 502);
    let mut policy = permit_person(&clinician);
    policy.data = DataScope::Records(vec![record]);
    assert_eq!(
        chain
            .err(&other, grant_payload(&chain, policy.clone(), 2))
            .code(),
        "not_authorized"
    );
    policy.data = DataScope::Records(vec![RecordId([4; 32])]);
    assert_eq!(
        chain.err(&patient, grant_payload(&chain, policy, 2)),
        TxError::UnknownRecord(RecordId([4; 32]))
    );
}

#[test]
fn a_permit_needs_fragments_for_a_threshold_of_current_validators() {
    let Setup {
        mut chain,
        clinician,
        patient,
        ..
    } = setup();
    // Four validators: f = 1, t = 2.
    assert_eq!(
        chain
            .err(
                &patient,
                grant_payload(&chain, permit_person(&clinician), 1)
            )
            .code(),
        "bad_fragments"
    );
    let stranger = FragmentCommitment {
        validator: account(&key(503)),
        sealed_digest: [1; 32],
    };
    let mut fragments = chain.fragments(2);
    fragments.push(stranger);
    let payload = Payload::GrantConsent {
        policy: permit_person(&clinician),
        fragment_commitments: fragments,
    };
    assert_eq!(chain.err(&patient, payload).code(), "bad_fragments");
    let mut deny = permit_person(&clinician);
    deny.decision = Decision::Deny;
    assert_eq!(
        chain.err(&patient, grant_payload(&chain, deny, 2)).code(),
        "bad_fragments"
    );
}

#[test]
fn a_malformed_policy_is_refused() {
    let Setup {
        mut chain,
        clinician,
        patient,
        ..
    } = setup();
    let mut policy = permit_person(&clinician);
    policy.period = Period {
        start_ms: 10,
        end_ms: 10,
    };
    let error = chain.err(&patient, grant_payload(&chain, policy, 2));
    assert_eq!(error.code(), "invalid_transaction");
}

#[test]
fn only_the_granting_patient_revokes_and_only_once() {
    let Setup {
        mut chain,
        clinician,
        patient,
        ..
    } = setup();
    let id = chain.grant(&patient, permit_person(&clinician));
    let other = chain.patient(ST_MARY, 504);
    assert_eq!(
        chain
            .err(&other, Payload::RevokeConsent { consent: id })
            .code(),
        "not_authorized"
    );
    assert_eq!(
        chain.ok(&patient, Payload::RevokeConsent { consent: id }),
        Outcome::ConsentRevoked { consent: id }
    );
    assert_eq!(
        chain.err(&patient, Payload::RevokeConsent { consent: id }),
        TxError::AlreadyRevoked
    );
    let unknown = ConsentId([1; 32]);
    assert_eq!(
        chain.err(&patient, Payload::RevokeConsent { consent: unknown }),
        TxError::UnknownConsent(unknown)
    );
    let consent = chain.query(async |s| query::consent(s, &id).await).unwrap();
    assert!(consent.revoked_height.is_some());
    assert!(
        chain
            .query(async |s| query::patient_consents(s, &account(&patient)).await)
            .is_empty()
    );
}

#[test]
fn consents_per_patient_max_is_enforced_on_active_consents() {
    let Setup {
        mut chain,
        clinician,
        patient,
        ..
    } = setup();
    let mut first = None;
    for _ in 0..limits::CONSENTS_PER_PATIENT_MAX {
        let id = chain.grant(&patient, permit_person(&clinician));
        first.get_or_insert(id);
    }
    let error = chain.err(
        &patient,
        grant_payload(&chain, permit_person(&clinician), 2),
    );
    assert_eq!(
        error,
        TxError::LimitExceeded {
            limit: "consents_per_patient_max",
            max: limits::CONSENTS_PER_PATIENT_MAX as u64,
            got: limits::CONSENTS_PER_PATIENT_MAX as u64 + 1,
        }
    );
    // Revoking frees a slot.
    chain.ok(
        &patient,
        Payload::RevokeConsent {
            consent: first.unwrap(),
        },
    );
    chain.grant(&patient, permit_person(&clinician));
}

#[test]
fn two_commitments_for_one_validator_are_refused() {
    let Setup {
        mut chain,
        clinician,
        patient,
        ..
    } = setup();
    let mut fragments = chain.fragments(2);
    fragments[1].validator = fragments[0].validator.clone();
    let payload = Payload::GrantConsent {
        policy: permit_person(&clinician),
        fragment_commitments: fragments,
    };
    assert_eq!(chain.err(&patient, payload).code(), "invalid_transaction");
}

#[test]
fn a_permit_that_names_no_person_to_release_keys_to_is_refused() {
    let Setup {
        mut chain, patient, ..
    } = setup();
    let mut policy = permit_person(&key(1));
    policy.actors = vec![ConsentActor::Institution(inst(ST_MARY))];
    assert_eq!(
        chain.err(&patient, grant_payload(&chain, policy, 2)),
        TxError::BadFragments(
            "a permit releases keys to one person: name the grantee as the first person actor"
                .into()
        )
    );
}

/// A kfrag sealed for one consent opens for the validator it names, with the info of that
/// chain, consent, patient and grantee only: copied anywhere else it does not open.
#[test]
fn a_fragment_moved_to_another_consent_chain_grantee_or_validator_does_not_open() {
    use medchain_crypto::keys::hpke::{EncryptionSecretKey, open_with, seal_to};
    let mut rng = medchain_crypto::rng::seeded_u64(9);
    let (validator_secret, validator_public) = EncryptionSecretKey::generate(&mut rng);
    let chain_id = ChainId([1; 32]);
    let (patient, grantee, validator) = (account(&key(1)), account(&key(2)), account(&key(3)));
    let consent = ConsentId::for_grant(&chain_id, &patient, 4);
    let info =
        |chain: &ChainId, consent: &ConsentId, grantee: &AccountId, validator: &AccountId| {
            fragment_seal_info(chain, consent, &patient, grantee, validator)
        };
    let kfrag = vec![0x5a; medchain_crypto::umbral::KFRAG_SIZE_BYTES];
    let sealed = seal_to(
        &mut rng,
        &validator_public,
        &info(&chain_id, &consent, &grantee, &validator),
        b"",
        &kfrag,
    )
    .unwrap();
    assert_eq!(sealed.len(), limits::SEALED_FRAGMENT_SIZE_BYTES);
    let opens = |info: Vec<u8>| open_with(&validator_secret, &info, b"", &sealed).is_ok();
    assert!(opens(info(&chain_id, &consent, &grantee, &validator)));
    let other_consent = ConsentId::for_grant(&chain_id, &patient, 5);
    assert!(
        !opens(info(&chain_id, &other_consent, &grantee, &validator)),
        "another consent"
    );
    let other_chain = ChainId([2; 32]);
    assert!(
        !opens(info(&other_chain, &consent, &grantee, &validator)),
        "another chain"
    );
    assert!(
        !opens(info(&chain_id, &consent, &account(&key(5)), &validator)),
        "another grantee"
    );
    assert!(
        !opens(info(&chain_id, &consent, &grantee, &account(&key(6)))),
        "another validator"
    );
    let other_patient =
        fragment_seal_info(&chain_id, &consent, &account(&key(7)), &grantee, &validator);
    assert!(!opens(other_patient), "another patient");
}

#[test]
fn consent_ids_differ_by_chain_patient_and_nonce() {
    let (chain, patient) = (ChainId([1; 32]), account(&key(1)));
    let id = ConsentId::for_grant(&chain, &patient, 0);
    assert_ne!(id, ConsentId::for_grant(&ChainId([2; 32]), &patient, 0));
    assert_ne!(id, ConsentId::for_grant(&chain, &account(&key(2)), 0));
    assert_ne!(id, ConsentId::for_grant(&chain, &patient, 1));
}

#[test]
fn the_patient_reissues_a_permits_fragments_for_the_current_validators() {
    let Setup {
        mut chain,
        clinician,
        patient,
        ..
    } = setup();
    let id = chain.grant(&patient, permit_person(&clinician));
    let fresh = chain.fragments(4);
    let outcome = chain.ok(
        &patient,
        Payload::ReissueFragments {
            consent: id,
            fragment_commitments: fresh.clone(),
        },
    );
    let threshold = chain
        .query(async |s| query::validators(s).await)
        .reencryption_threshold();
    assert_eq!(
        outcome,
        Outcome::FragmentsReissued {
            consent: id,
            threshold: threshold as u32
        }
    );
    let entry = chain.query(async |s| query::consent(s, &id).await).unwrap();
    assert_eq!(
        (entry.fragments, entry.threshold),
        (fresh, threshold as u32)
    );
}

#[test]
fn reissuing_is_refused_to_others_for_revoked_consents_and_for_strangers_or_too_few() {
    let Setup {
        mut chain,
        clinician,
        patient,
        ..
    } = setup();
    let id = chain.grant(&patient, permit_person(&clinician));
    let reissue = |fragments| Payload::ReissueFragments {
        consent: id,
        fragment_commitments: fragments,
    };
    let refused = chain.err(&clinician, reissue(chain.fragments(4)));
    assert!(
        matches!(&refused, TxError::NotAuthorized(m) if m.contains("only the patient")),
        "{refused}"
    );
    let mut stranger = chain.fragments(2);
    stranger[1].validator = account(&key(9_999));
    assert!(matches!(
        chain.err(&patient, reissue(stranger)),
        TxError::BadFragments(m) if m.contains("not a current validator")
    ));
    assert!(matches!(
        chain.err(&patient, reissue(chain.fragments(1))),
        TxError::BadFragments(m) if m.contains("need at least")
    ));
    chain.ok(&patient, Payload::RevokeConsent { consent: id });
    assert_eq!(
        chain.err(&patient, reissue(chain.fragments(4))),
        TxError::AlreadyRevoked
    );
}
