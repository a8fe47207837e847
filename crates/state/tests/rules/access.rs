//! Access decisions: consent matching, deny precedence, break-glass, the log.

use crate::harness::*;
use commonware_cryptography::ed25519::PrivateKey;
use medchain_state::{AccessReason as R, *};
use medchain_types::*;

const PERMIT: Decision = Decision::Permit;
const DENY: Decision = Decision::Deny;

struct Setup {
    chain: Chain,
    author: PrivateKey,
    reader: PrivateKey,
    patient: PrivateKey,
    record: RecordId,
}

/// A record written at St Mary's; `reader` is a clinician at the lab.
fn setup() -> Setup {
    let mut chain = Chain::new();
    let (st_mary, lab) = (chain.st_mary_admin.clone(), chain.city_lab_admin.clone());
    let author = chain.clinician(&st_mary, 600);
    let reader = chain.clinician(&lab, 601);
    let patient = chain.patient(ST_MARY, 602);
    let record = chain.record(&author, &patient, RecordCategory::Laboratory);
    Setup {
        chain,
        author,
        reader,
        patient,
        record,
    }
}

#[test]
fn the_author_treating_at_its_institution_is_permitted_without_consent() {
    let Setup {
        mut chain,
        author,
        record,
        ..
    } = setup();
    assert_eq!(
        chain.request(&author, record, Purpose::Treat, None),
        (PERMIT, R::Author, false)
    );
}

#[test]
fn a_request_without_consent_is_denied_and_logged() {
    let Setup {
        mut chain,
        reader,
        patient,
        record,
        ..
    } = setup();
    assert_eq!(
        chain.request(&reader, record, Purpose::Treat, None),
        (DENY, R::NoConsent, false)
    );
    let page = chain.query(async |s| query::access_log(s, &account(&patient), 0, 10).await);
    assert_eq!((page.total, page.next), (1, None));
    let entry = &page.entries[0];
    assert_eq!(
        (entry.sequence, entry.requester.clone(), entry.record),
        (0, account(&reader), record)
    );
    assert_eq!(
        (entry.decision, entry.reason, entry.consent),
        (DENY, R::NoConsent, None)
    );
}

#[test]
fn a_consent_permits_the_named_person_for_its_purpose() {
    let Setup {
        mut chain,
        reader,
        patient,
        record,
        ..
    } = setup();
    let id = chain.grant(&patient, permit_person(&reader));
    assert_eq!(
        chain.request(&reader, record, Purpose::Treat, None),
        (PERMIT, R::Consent, false)
    );
    let page = chain.query(async |s| query::access_log(s, &account(&patient), 0, 10).await);
    assert_eq!(page.entries[0].consent, Some(id));
    // Purpose must match: research is not treatment.
    assert_eq!(
        chain.request(&reader, record, Purpose::Hresch, None),
        (DENY, R::NoConsent, false)
    );
}

#[test]
fn a_consent_actor_matches_by_role_and_institution() {
    let Setup {
        mut chain,
        reader,
        patient,
        record,
        ..
    } = setup();
    let lab_admin = chain.city_lab_admin.clone();
    let researcher = chain.member(&lab_admin, 603, Role::Researcher);
    // A permit releases keys to one person (first), here not the requester: the role matches.
    let keyholder = ConsentActor::Person(account(&key(1)));
    let mut policy = permit_person(&reader);
    policy.actors = vec![
        keyholder.clone(),
        ConsentActor::Role {
            institution: Some(inst(CITY_LAB)),
            role: Role::Clinician,
        },
    ];
    chain.grant(&patient, policy.clone());
    assert_eq!(
        chain.request(&reader, record, Purpose::Treat, None),
        (PERMIT, R::Consent, false)
    );
    assert_eq!(
        chain.request(&researcher, record, Purpose::Treat, None),
        (DENY, R::NoConsent, false)
    );
    let north_admin = chain.north_admin.clone();
    let north = chain.clinician(&north_admin, 604);
    assert_eq!(
        chain.request(&north, record, Purpose::Treat, None),
        (DENY, R::NoConsent, false)
    );
    policy.actors = vec![
        keyholder,
        ConsentActor::Role {
            institution: None,
            role: Role::Clinician,
        },
    ];
    chain.grant(&patient, policy);
    assert_eq!(
        chain.request(&north, record, Purpose::Treat, None),
        (PERMIT, R::Consent, false)
    );
}

#[test]
fn a_consent_actor_matches_by_institution() {
    let Setup {
        mut chain,
        reader,
        patient,
        record,
        ..
    } = setup();
    let lab_admin = chain.city_lab_admin.clone();
    // An auditor: the consortium's default policy lets no researcher read a raw record.
    let auditor = chain.member(&lab_admin, 605, Role::Auditor);
    let mut policy = permit_person(&reader);
    policy.actors = vec![
        ConsentActor::Person(account(&key(1))),
        ConsentActor::Institution(inst(CITY_LAB)),
    ];
    chain.grant(&patient, policy);
    assert_eq!(
        chain.request(&auditor, record, Purpose::Treat, None),
        (PERMIT, R::Consent, false)
    );
}

#[test]
fn the_data_scope_matches_by_category_or_record_id() {
    let Setup {
        mut chain,
        author,
        reader,
        patient,
        record,
    } = setup();
    let imaging = chain.record(&author, &patient, RecordCategory::Imaging);
    let mut policy = permit_person(&reader);
    policy.data = DataScope::Categories(vec![RecordCategory::Laboratory]);
    chain.grant(&patient, policy.clone());
    assert_eq!(
        chain.request(&reader, record, Purpose::Treat, None),
        (PERMIT, R::Consent, false)
    );
    assert_eq!(
        chain.request(&reader, imaging, Purpose::Treat, None),
        (DENY, R::NoConsent, false)
    );
    policy.data = DataScope::Records(vec![imaging]);
    chain.grant(&patient, policy);
    assert_eq!(
        chain.request(&reader, imaging, Purpose::Treat, None),
        (PERMIT, R::Consent, false)
    );
}

#[test]
fn the_consent_period_is_checked_against_the_block_time() {
    let Setup {
        mut chain,
        reader,
        patient,
        record,
        ..
    } = setup();
    let mut policy = permit_person(&reader);
    policy.period = Period {
        start_ms: chain.time_ms + 5 * BLOCK_MS,
        end_ms: chain.time_ms + 10 * BLOCK_MS,
    };
    chain.grant(&patient, policy.clone());
    assert_eq!(
        chain.request(&reader, record, Purpose::Treat, None),
        (DENY, R::NoConsent, false)
    );
    chain.time_ms = policy.period.start_ms;
    assert_eq!(
        chain.request(&reader, record, Purpose::Treat, None),
        (PERMIT, R::Consent, false)
    );
    chain.time_ms = policy.period.end_ms;
    assert_eq!(
        chain.request(&reader, record, Purpose::Treat, None),
        (DENY, R::NoConsent, false)
    );
}

#[test]
fn a_deny_consent_wins_over_a_permit() {
    let Setup {
        mut chain,
        reader,
        patient,
        record,
        ..
    } = setup();
    chain.grant(&patient, permit_person(&reader));
    let mut deny = permit_person(&reader);
    deny.decision = Decision::Deny;
    deny.actors = vec![ConsentActor::Institution(inst(CITY_LAB))];
    chain.grant(&patient, deny);
    assert_eq!(
        chain.request(&reader, record, Purpose::Treat, None),
        (DENY, R::ConsentDenied, false)
    );
}

#[test]
fn a_deny_exception_inside_a_permit_wins() {
    let Setup {
        mut chain,
        author,
        reader,
        patient,
        record,
    } = setup();
    let mental = chain.record(&author, &patient, RecordCategory::MentalHealth);
    let mut policy = permit_person(&reader);
    policy.exceptions = vec![ConsentProvision {
        actors: vec![],
        actions: vec![],
        purposes: vec![],
        data: DataScope::Categories(vec![RecordCategory::MentalHealth]),
    }];
    chain.grant(&patient, policy);
    assert_eq!(
        chain.request(&reader, record, Purpose::Treat, None),
        (PERMIT, R::Consent, false)
    );
    assert_eq!(
        chain.request(&reader, mental, Purpose::Treat, None),
        (DENY, R::ConsentException, false)
    );
}

#[test]
fn a_revoked_consent_stops_applying_at_once() {
    let Setup {
        mut chain,
        reader,
        patient,
        record,
        ..
    } = setup();
    let id = chain.grant(&patient, permit_person(&reader));
    assert_eq!(
        chain.request(&reader, record, Purpose::Treat, None),
        (PERMIT, R::Consent, false)
    );
    // Revoke and request in the same block: the revocation applies to the next transaction.
    let revoke = chain.tx(&patient, Payload::RevokeConsent { consent: id });
    let request = chain.tx(
        &reader,
        Payload::RequestAccess {
            record,
            purpose: Purpose::Treat,
            justification: None,
        },
    );
    let receipts = chain.block(&[revoke, request]).unwrap();
    match &receipts[1].outcome {
        Outcome::AccessDecided {
            decision, reason, ..
        } => assert_eq!((*decision, *reason), (DENY, R::NoConsent)),
        other => panic!("unexpected outcome {other:?}"),
    }
}

#[test]
fn an_inactive_requester_is_denied_even_with_consent() {
    let Setup {
        mut chain,
        reader,
        patient,
        record,
        ..
    } = setup();
    chain.grant(&patient, permit_person(&reader));
    let lab_admin = chain.city_lab_admin.clone();
    chain.ok(
        &lab_admin,
        Payload::RevokeMember {
            account: account(&reader),
        },
    );
    assert_eq!(
        chain.request(&reader, record, Purpose::Treat, None),
        (DENY, R::RequesterInactive, false)
    );
}

/// The latest entry of `patient`'s access log.
fn last_entry(chain: &Chain, patient: &PrivateKey) -> AccessLogEntry {
    let page = chain.query(async |s| query::access_log(s, &account(patient), 0, 256).await);
    page.entries.last().expect("the log has entries").clone()
}

#[test]
fn a_request_from_a_non_member_is_refused_and_never_logged() {
    let Setup {
        mut chain,
        patient,
        record,
        ..
    } = setup();
    let log_count = |chain: &Chain| {
        chain
            .query(async |s| query::access_log(s, &account(&patient), 0, 256).await)
            .total
    };
    let before = log_count(&chain);
    let other = chain.patient(ST_MARY, 606);
    let stranger = key(607);
    // The record's own patient is no member either: it reads with its own keys, needs no permit,
    // and its log holds only requests a member made.
    for requester in [&patient, &other, &stranger] {
        for record in [record, RecordId([8; 32])] {
            let payload = Payload::RequestAccess {
                record,
                purpose: Purpose::Treat,
                justification: None,
            };
            assert_eq!(
                chain.err(requester, payload),
                TxError::NotMember {
                    sender: Box::new(account(requester))
                },
                "refused before the record is looked up, so it learns nothing about it"
            );
        }
    }
    assert_eq!(log_count(&chain), before, "nothing was written to the log");
    assert_eq!(
        TxError::NotMember {
            sender: Box::new(account(&patient))
        }
        .code(),
        "not_member"
    );
}

#[test]
fn the_author_needs_consent_for_any_purpose_but_treatment() {
    let Setup {
        mut chain,
        author,
        patient,
        record,
        ..
    } = setup();
    assert_eq!(
        chain.request(&author, record, Purpose::Hresch, None),
        (DENY, R::NoConsent, false)
    );
    let mut research = permit_person(&author);
    research.purposes = vec![Purpose::Hresch];
    let consent = chain.grant(&patient, research);
    assert_eq!(
        chain.request(&author, record, Purpose::Hresch, None),
        (PERMIT, R::Consent, false)
    );
    let last = last_entry(&chain, &patient);
    assert_eq!((last.reason, last.consent), (R::Consent, Some(consent)));
}

#[test]
fn a_deny_exception_applies_only_inside_the_permit_that_nests_it() {
    let Setup {
        mut chain,
        author,
        reader,
        patient,
        ..
    } = setup();
    let diagnosis = chain.record(&author, &patient, RecordCategory::Diagnosis);
    // One permit excepts diagnoses; a second permit covers diagnoses. (Not a restricted category:
    // the consortium's default policy keeps those at their author institution.)
    let mut narrow = permit_person(&reader);
    narrow.exceptions = vec![ConsentProvision {
        actors: vec![],
        actions: vec![],
        purposes: vec![],
        data: DataScope::Categories(vec![RecordCategory::Diagnosis]),
    }];
    chain.grant(&patient, narrow);
    assert_eq!(
        chain.request(&reader, diagnosis, Purpose::Treat, None),
        (DENY, R::ConsentException, false)
    );
    let mut diagnoses = permit_person(&reader);
    diagnoses.data = DataScope::Categories(vec![RecordCategory::Diagnosis]);
    let second = chain.grant(&patient, diagnoses);
    assert_eq!(
        chain.request(&reader, diagnosis, Purpose::Treat, None),
        (PERMIT, R::Consent, false),
        "the first permit's exception does not reach into the second permit"
    );
    assert_eq!(last_entry(&chain, &patient).consent, Some(second));
}

#[test]
fn a_read_under_etreat_is_flagged_for_review_however_it_was_permitted() {
    let Setup {
        mut chain,
        author,
        reader,
        patient,
        record,
    } = setup();
    let mut emergency = permit_person(&reader);
    emergency.purposes = vec![Purpose::Etreat];
    chain.grant(&patient, emergency);
    let why = Some("unconscious in ED, anticoagulation status needed");
    assert_eq!(
        chain.request(&reader, record, Purpose::Etreat, why),
        (PERMIT, R::Consent, true),
        "permitted by consent, still flagged"
    );
    // The author's ETREAT read goes through consent (only TREAT is the author's own), and with
    // emergency access enabled it is a flagged break-glass read.
    chain.ok(
        &patient,
        Payload::SetEmergencyAccess {
            institution: inst(ST_MARY),
            enabled: true,
        },
    );
    assert_eq!(
        chain.request(&author, record, Purpose::Etreat, why),
        (PERMIT, R::BreakGlass, true)
    );
    // A denied ETREAT read is not a read: nothing to review beyond the denial itself.
    let lab_admin = chain.city_lab_admin.clone();
    let other = chain.clinician(&lab_admin, 608);
    assert_eq!(
        chain.request(&other, record, Purpose::Etreat, why),
        (DENY, R::EmergencyAccessNotEnabled, false)
    );
}

#[test]
fn break_glass_is_permitted_and_flagged_where_the_patient_enabled_emergency_access() {
    let Setup {
        mut chain,
        reader,
        patient,
        record,
        ..
    } = setup();
    chain.ok(
        &patient,
        Payload::SetEmergencyAccess {
            institution: inst(CITY_LAB),
            enabled: true,
        },
    );
    let why = "unconscious on arrival, suspected anaphylaxis";
    assert_eq!(
        chain.request(&reader, record, Purpose::Etreat, Some(why)),
        (PERMIT, R::BreakGlass, true)
    );
    let page = chain.query(async |s| query::access_log(s, &account(&patient), 0, 10).await);
    let entry = &page.entries[0];
    assert_eq!(
        (
            entry.break_glass,
            entry.justification.as_deref(),
            entry.purpose
        ),
        (true, Some(why), Purpose::Etreat)
    );
}

#[test]
fn break_glass_is_denied_without_emergency_access_for_that_institution() {
    let Setup {
        mut chain,
        reader,
        patient,
        record,
        ..
    } = setup();
    chain.ok(
        &patient,
        Payload::SetEmergencyAccess {
            institution: inst(NORTH),
            enabled: true,
        },
    );
    let decision = chain.request(&reader, record, Purpose::Etreat, Some("cardiac arrest"));
    assert_eq!(decision, (DENY, R::EmergencyAccessNotEnabled, false));
}

#[test]
fn break_glass_is_only_for_clinicians() {
    let Setup {
        mut chain,
        patient,
        record,
        ..
    } = setup();
    chain.ok(
        &patient,
        Payload::SetEmergencyAccess {
            institution: inst(CITY_LAB),
            enabled: true,
        },
    );
    let lab_admin = chain.city_lab_admin.clone();
    let auditor = chain.member(&lab_admin, 608, Role::Auditor);
    let decision = chain.request(&auditor, record, Purpose::Etreat, Some("cardiac arrest"));
    assert_eq!(decision, (DENY, R::BreakGlassNotClinician, false));
}

#[test]
fn break_glass_needs_a_justification_free_of_identifiers() {
    let Setup {
        mut chain,
        reader,
        patient,
        record,
        ..
    } = setup();
    chain.ok(
        &patient,
        Payload::SetEmergencyAccess {
            institution: inst(CITY_LAB),
            enabled: true,
        },
    );
    let without = Payload::RequestAccess {
        record,
        purpose: Purpose::Etreat,
        justification: None,
    };
    assert_eq!(chain.err(&reader, without).code(), "invalid_transaction");
    let with_dob = Payload::RequestAccess {
        record,
        purpose: Purpose::Etreat,
        justification: Some("dob 12/03/1980".into()),
    };
    assert_eq!(
        chain.err(&reader, with_dob),
        TxError::DirectIdentifier(PhiViolation::Date)
    );
    let off_purpose = Payload::RequestAccess {
        record,
        purpose: Purpose::Treat,
        justification: Some("routine".into()),
    };
    assert_eq!(
        chain.err(&reader, off_purpose).code(),
        "invalid_transaction"
    );
}

#[test]
fn the_access_log_is_paged_and_the_page_size_is_capped() {
    let Setup {
        mut chain,
        reader,
        patient,
        record,
        ..
    } = setup();
    let total = limits::ACCESS_LOG_PAGE_MAX_ENTRIES as u64 + 2;
    let txs: Vec<SignedTransaction> = (0..total)
        .map(|i| {
            let payload = Payload::RequestAccess {
                record,
                purpose: Purpose::Treat,
                justification: None,
            };
            let mut tx = chain.tx(&reader, payload).transaction;
            tx.nonce += i;
            SignedTransaction::sign(&reader, tx)
        })
        .collect();
    chain.block(&txs).unwrap();
    let page = chain.query(async |s| query::access_log(s, &account(&patient), 0, usize::MAX).await);
    assert_eq!(page.entries.len(), limits::ACCESS_LOG_PAGE_MAX_ENTRIES);
    assert_eq!(
        (page.total, page.next),
        (total, Some(limits::ACCESS_LOG_PAGE_MAX_ENTRIES as u64))
    );
    let rest = chain
        .query(async |s| query::access_log(s, &account(&patient), page.next.unwrap(), 10).await);
    assert_eq!(
        rest.entries.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        vec![total - 2, total - 1]
    );
    assert_eq!(rest.next, None);
}

#[test]
fn an_explicit_deny_consent_wins_over_break_glass() {
    let Setup {
        mut chain,
        reader,
        patient,
        record,
        ..
    } = setup();
    chain.ok(
        &patient,
        Payload::SetEmergencyAccess {
            institution: inst(CITY_LAB),
            enabled: true,
        },
    );
    let mut deny = permit_person(&reader);
    deny.decision = Decision::Deny;
    deny.purposes = vec![Purpose::Etreat];
    chain.grant(&patient, deny);
    let decision = chain.request(&reader, record, Purpose::Etreat, Some("cardiac arrest"));
    assert_eq!(decision, (DENY, R::ConsentDenied, false));
}
