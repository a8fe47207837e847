//! Break-glass review: flagged reads queue for the auditors; the emergency key service is one
//! per institution and never reads for itself.

use crate::harness::*;
use commonware_cryptography::ed25519::PrivateKey;
use medchain_state::{AccessReason as R, *};
use medchain_types::*;

const WHY: &str = "unconscious on arrival, suspected anaphylaxis";

struct Setup {
    chain: Chain,
    reader: PrivateKey,
    patient: PrivateKey,
    record: RecordId,
}

/// A St Mary's record whose patient enabled emergency access for the lab, where `reader` works.
fn setup() -> Setup {
    let mut chain = Chain::new();
    let (st_mary, lab) = (chain.st_mary_admin.clone(), chain.city_lab_admin.clone());
    let author = chain.clinician(&st_mary, 700);
    let reader = chain.clinician(&lab, 701);
    let patient = chain.patient(ST_MARY, 702);
    let record = chain.record(&author, &patient, RecordCategory::Laboratory);
    chain.ok(
        &patient,
        Payload::SetEmergencyAccess {
            institution: inst(CITY_LAB),
            enabled: true,
        },
    );
    Setup {
        chain,
        reader,
        patient,
        record,
    }
}

fn queue(chain: &Chain) -> (Vec<ReviewItem>, u64) {
    chain.query(async |s| query::review_queue(s, 0, 100).await)
}

fn review(item: u64, finding: ReviewFinding) -> Payload {
    Payload::ReviewBreakGlass {
        item,
        finding,
        note: Some("emergency confirmed with the ward".into()),
    }
}

#[test]
fn a_break_glass_read_is_queued_for_review_and_an_ordinary_read_is_not() {
    let Setup {
        mut chain,
        reader,
        patient,
        record,
    } = setup();
    chain.grant(&patient, permit_person(&reader));
    assert_eq!(
        chain.request(&reader, record, Purpose::Treat, None),
        (Decision::Permit, R::Consent, false)
    );
    assert_eq!(queue(&chain), (vec![], 0));
    chain.request(&reader, record, Purpose::Etreat, Some(WHY));
    let (items, total) = queue(&chain);
    assert_eq!(total, 1);
    let item = &items[0];
    assert_eq!(
        (
            item.item,
            item.patient.clone(),
            item.sequence,
            item.record,
            item.requester.clone(),
            item.institution.clone(),
            item.justification.as_deref(),
            item.review.clone(),
        ),
        (
            0,
            account(&patient),
            1,
            record,
            account(&reader),
            inst(CITY_LAB),
            Some(WHY),
            None
        )
    );
}

#[test]
fn a_denied_break_glass_attempt_is_logged_but_not_queued() {
    let Setup {
        mut chain, record, ..
    } = setup();
    let north = chain.north_admin.clone();
    let outsider = chain.clinician(&north, 703);
    assert_eq!(
        chain.request(&outsider, record, Purpose::Etreat, Some(WHY)),
        (Decision::Deny, R::EmergencyAccessNotEnabled, false)
    );
    assert_eq!(queue(&chain).1, 0);
}

#[test]
fn an_auditor_records_one_final_finding_per_item() {
    let Setup {
        mut chain,
        reader,
        record,
        ..
    } = setup();
    chain.request(&reader, record, Purpose::Etreat, Some(WHY));
    let lab = chain.city_lab_admin.clone();
    let auditor = chain.member(&lab, 704, Role::Auditor);
    assert_eq!(
        chain.ok(&auditor, review(0, ReviewFinding::Justified)),
        Outcome::BreakGlassReviewed {
            item: 0,
            finding: ReviewFinding::Justified
        }
    );
    let reviewed = queue(&chain).0[0].review.clone().unwrap();
    assert_eq!(
        (reviewed.auditor, reviewed.finding),
        (account(&auditor), ReviewFinding::Justified)
    );
    let again = chain.err(&auditor, review(0, ReviewFinding::Unjustified));
    assert!(
        again.to_string().contains("already reviewed"),
        "got: {again}"
    );
    let missing = chain.err(&auditor, review(1, ReviewFinding::Justified));
    assert!(missing.to_string().contains("no item 1"), "got: {missing}");
}

#[test]
fn only_an_active_auditor_reviews() {
    let Setup {
        mut chain,
        reader,
        record,
        ..
    } = setup();
    chain.request(&reader, record, Purpose::Etreat, Some(WHY));
    let refused = chain.err(&reader, review(0, ReviewFinding::Justified));
    assert!(
        matches!(&refused, TxError::NotAuthorized(m) if m.contains("Auditor")),
        "got: {refused}"
    );
    let lab = chain.city_lab_admin.clone();
    let auditor = chain.member(&lab, 705, Role::Auditor);
    chain.ok(
        &lab,
        Payload::RevokeMember {
            account: account(&auditor),
        },
    );
    let revoked = chain.err(&auditor, review(0, ReviewFinding::Justified));
    assert!(revoked.to_string().contains("revoked"), "got: {revoked}");
    assert_eq!(queue(&chain).0[0].review, None);
}

#[test]
fn an_institution_has_one_emergency_service_until_it_revokes_it() {
    let mut chain = Chain::new();
    let lab = chain.city_lab_admin.clone();
    let service = chain.member(&lab, 706, Role::EmergencyService);
    let entry = chain.query(async |s| query::emergency_service(s, &inst(CITY_LAB)).await);
    assert_eq!(entry.map(|e| e.account), Some(account(&service)));
    let second = member_payload(&chain.genesis.chain_id(), 707, Role::EmergencyService);
    let refused = chain.err(&lab, second.clone());
    assert!(
        refused
            .to_string()
            .contains("already has an emergency service"),
        "got: {refused}"
    );
    chain.ok(
        &lab,
        Payload::RevokeMember {
            account: account(&service),
        },
    );
    assert_eq!(
        chain.query(async |s| query::emergency_service(s, &inst(CITY_LAB)).await),
        None
    );
    chain.ok(&lab, second);
    let entry = chain.query(async |s| query::emergency_service(s, &inst(CITY_LAB)).await);
    assert_eq!(entry.map(|e| e.account), Some(account(&key(707))));
}

#[test]
fn an_emergency_service_never_reads_for_itself_even_with_a_consent() {
    let Setup {
        mut chain,
        patient,
        record,
        ..
    } = setup();
    let lab = chain.city_lab_admin.clone();
    let service = chain.member(&lab, 708, Role::EmergencyService);
    let mut policy = permit_person(&service);
    policy.purposes = vec![Purpose::Etreat];
    chain.grant(&patient, policy);
    assert_eq!(
        chain.request(&service, record, Purpose::Etreat, Some(WHY)),
        (Decision::Deny, R::ServiceAccount, false)
    );
    assert_eq!(queue(&chain).1, 0);
}
