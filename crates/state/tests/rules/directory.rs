//! Directory, patient and record rules.

use crate::harness::*;
use medchain_state::*;
use medchain_types::*;

fn register(account: &AccountId, role: Role) -> Payload {
    Payload::RegisterMember {
        account: account.clone(),
        role,
        pre_public_key: [2; 33],
        encryption_key: [9; 32],
    }
}

#[test]
fn an_admin_registers_staff_of_its_own_institution() {
    let mut chain = Chain::new();
    let admin = chain.st_mary_admin.clone();
    let researcher = chain.member(&admin, 400, Role::Researcher);
    let view = chain
        .query(async |s| query::member(s, &account(&researcher)).await)
        .unwrap();
    assert_eq!(view.member.institution, inst(ST_MARY));
    assert_eq!(view.member.role, Role::Researcher);
    assert_eq!(view.member.keys.unwrap().encryption_key, [9; 32]);
    assert!(view.active);
}

#[test]
fn only_an_active_admin_registers_members() {
    let mut chain = Chain::new();
    let admin = chain.st_mary_admin.clone();
    let clinician = chain.clinician(&admin, 401);
    let error = chain.err(&clinician, register(&account(&key(402)), Role::Clinician));
    assert_eq!(error.code(), "not_authorized");
    let stranger = key(403);
    let error = chain.err(&stranger, register(&account(&key(402)), Role::Clinician));
    assert_eq!(
        error,
        TxError::UnknownSender {
            sender: Box::new(account(&stranger))
        }
    );
}

#[test]
fn admins_are_not_registered_through_the_directory() {
    let mut chain = Chain::new();
    let admin = chain.st_mary_admin.clone();
    assert_eq!(
        chain
            .err(&admin, register(&account(&key(404)), Role::Admin))
            .code(),
        "not_authorized"
    );
}

#[test]
fn one_key_is_registered_once_as_member_or_pseudonym() {
    let mut chain = Chain::new();
    let admin = chain.st_mary_admin.clone();
    let clinician = chain.clinician(&admin, 405);
    let error = chain.err(&admin, register(&account(&clinician), Role::Auditor));
    assert_eq!(
        error,
        TxError::AlreadyRegistered {
            account: Box::new(account(&clinician))
        }
    );
    let patient = chain.patient(ST_MARY, 406);
    assert_eq!(
        chain
            .err(&admin, register(&account(&patient), Role::Clinician))
            .code(),
        "already_registered"
    );
    let again = Payload::RegisterPseudonym {
        institution: inst(CITY_LAB),
        pre_public_key: [3; 33],
    };
    assert_eq!(chain.err(&patient, again).code(), "already_registered");
}

#[test]
fn an_admin_revokes_only_its_own_staff() {
    let mut chain = Chain::new();
    let st_mary = chain.st_mary_admin.clone();
    let lab = chain.city_lab_admin.clone();
    let clinician = chain.clinician(&st_mary, 407);
    let error = chain.err(
        &lab,
        Payload::RevokeMember {
            account: account(&clinician),
        },
    );
    assert_eq!(error.code(), "not_authorized");
    chain.ok(
        &st_mary,
        Payload::RevokeMember {
            account: account(&clinician),
        },
    );
    let view = chain
        .query(async |s| query::member(s, &account(&clinician)).await)
        .unwrap();
    assert_eq!(
        (view.member.revoked_height, view.active),
        (Some(chain.height - 1), false)
    );
}

#[test]
fn a_revoked_member_cannot_act_and_is_revoked_once() {
    let mut chain = Chain::new();
    let admin = chain.st_mary_admin.clone();
    let clinician = chain.clinician(&admin, 408);
    let patient = chain.patient(ST_MARY, 409);
    chain.ok(
        &admin,
        Payload::RevokeMember {
            account: account(&clinician),
        },
    );
    assert_eq!(
        chain
            .err(
                &clinician,
                record_payload(&patient, RecordCategory::Encounter)
            )
            .code(),
        "not_authorized"
    );
    assert_eq!(
        chain.err(
            &admin,
            Payload::RevokeMember {
                account: account(&clinician)
            }
        ),
        TxError::AlreadyRevoked
    );
    let unknown = account(&key(410));
    assert_eq!(
        chain.err(
            &admin,
            Payload::RevokeMember {
                account: unknown.clone()
            }
        ),
        TxError::UnknownMember(Box::new(unknown))
    );
}

#[test]
fn anyone_registers_a_pseudonym_at_an_existing_institution() {
    let mut chain = Chain::new();
    let patient = chain.patient(NORTH, 411);
    let entry = chain
        .query(async |s| query::pseudonym(s, &account(&patient)).await)
        .unwrap();
    assert_eq!(
        (entry.institution.as_str(), entry.pre_public_key),
        (NORTH, [3; 33])
    );
    let stranger = key(412);
    let error = chain.err(
        &stranger,
        Payload::RegisterPseudonym {
            institution: inst("nowhere"),
            pre_public_key: [3; 33],
        },
    );
    assert_eq!(error, TxError::UnknownInstitution(inst("nowhere")));
}

#[test]
fn only_the_pseudonym_sets_its_emergency_access() {
    let mut chain = Chain::new();
    let patient = chain.patient(ST_MARY, 413);
    let enable = Payload::SetEmergencyAccess {
        institution: inst(CITY_LAB),
        enabled: true,
    };
    let admin = chain.st_mary_admin.clone();
    assert_eq!(
        chain.err(&admin, enable.clone()),
        TxError::UnknownSender {
            sender: Box::new(account(&admin))
        }
    );
    chain.ok(&patient, enable);
    assert!(
        chain
            .query(async |s| query::emergency_access(s, &account(&patient), &inst(CITY_LAB)).await)
    );
    assert!(
        !chain
            .query(async |s| query::emergency_access(s, &account(&patient), &inst(ST_MARY)).await)
    );
    chain.ok(
        &patient,
        Payload::SetEmergencyAccess {
            institution: inst(CITY_LAB),
            enabled: false,
        },
    );
    assert!(
        !chain
            .query(async |s| query::emergency_access(s, &account(&patient), &inst(CITY_LAB)).await)
    );
}

#[test]
fn a_clinician_creates_a_record_with_an_id_derived_from_the_transaction() {
    let mut chain = Chain::new();
    let admin = chain.st_mary_admin.clone();
    let clinician = chain.clinician(&admin, 414);
    let patient = chain.patient(ST_MARY, 415);
    let tx = chain.tx(
        &clinician,
        record_payload(&patient, RecordCategory::Imaging),
    );
    let receipts = chain.block(std::slice::from_ref(&tx)).unwrap();
    let expected = RecordId::from_tx(&tx.hash());
    assert_eq!(
        receipts[0].outcome,
        Outcome::RecordCreated { record: expected }
    );
    let record = chain
        .query(async |s| query::record(s, &expected).await)
        .unwrap();
    assert_eq!(record.author, account(&clinician));
    assert_eq!(record.patient, account(&patient));
    assert_eq!(
        (
            record.category,
            record.size_bytes,
            record.institution.as_str()
        ),
        (RecordCategory::Imaging, 4_096, ST_MARY)
    );
}

#[test]
fn only_clinicians_create_records() {
    let mut chain = Chain::new();
    let admin = chain.st_mary_admin.clone();
    let researcher = chain.member(&admin, 416, Role::Researcher);
    let patient = chain.patient(ST_MARY, 417);
    assert_eq!(
        chain
            .err(&researcher, record_payload(&patient, RecordCategory::Other))
            .code(),
        "not_authorized"
    );
    assert_eq!(
        chain
            .err(&patient, record_payload(&patient, RecordCategory::Other))
            .code(),
        "unknown_sender"
    );
}

#[test]
fn records_are_created_only_for_pseudonyms_of_the_clinicians_institution() {
    let mut chain = Chain::new();
    let admin = chain.st_mary_admin.clone();
    let clinician = chain.clinician(&admin, 418);
    let elsewhere = chain.patient(CITY_LAB, 419);
    assert_eq!(
        chain
            .err(
                &clinician,
                record_payload(&elsewhere, RecordCategory::Other)
            )
            .code(),
        "not_authorized"
    );
    let unregistered = key(420);
    let error = chain.err(
        &clinician,
        record_payload(&unregistered, RecordCategory::Other),
    );
    assert_eq!(
        error,
        TxError::UnknownPseudonym(Box::new(account(&unregistered)))
    );
}
