//! Directory, patient and record rules.

use crate::harness::*;
use medchain_state::*;
use medchain_types::*;

/// A registration of the member with key `seed`, its keys proven on the test chain.
fn register(chain: &Chain, seed: u64, role: Role) -> Payload {
    member_payload(&chain.genesis.chain_id(), seed, role)
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
    assert_eq!(
        view.member.keys.unwrap().encryption_key,
        encryption_secret(400).public_key().to_bytes()
    );
    assert!(view.active);
}

#[test]
fn only_an_active_admin_registers_members() {
    let mut chain = Chain::new();
    let admin = chain.st_mary_admin.clone();
    let clinician = chain.clinician(&admin, 401);
    let error = chain.err(&clinician, register(&chain, 402, Role::Clinician));
    assert_eq!(error.code(), "not_authorized");
    let stranger = key(403);
    let error = chain.err(&stranger, register(&chain, 402, Role::Clinician));
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
        chain.err(&admin, register(&chain, 404, Role::Admin)).code(),
        "not_authorized"
    );
}

#[test]
fn one_key_is_registered_once_as_member_or_pseudonym() {
    let mut chain = Chain::new();
    let admin = chain.st_mary_admin.clone();
    let clinician = chain.clinician(&admin, 405);
    let error = chain.err(&admin, register(&chain, 405, Role::Auditor));
    assert_eq!(
        error,
        TxError::AlreadyRegistered {
            account: Box::new(account(&clinician))
        }
    );
    let patient = chain.patient(ST_MARY, 406);
    assert_eq!(
        chain
            .err(&admin, register(&chain, 406, Role::Clinician))
            .code(),
        "already_registered"
    );
    let lab_admin = chain.city_lab_admin.clone();
    let again = chain.pseudonym_payload(CITY_LAB, 406, &lab_admin);
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
                chain.record_payload(&patient, RecordCategory::Encounter)
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
fn a_pseudonym_co_signed_by_its_institution_is_registered_there() {
    let mut chain = Chain::new();
    let patient = chain.patient(NORTH, 411);
    let entry = chain
        .query(async |s| query::pseudonym(s, &account(&patient)).await)
        .unwrap();
    assert_eq!(
        (entry.institution.as_str(), entry.pre_public_key),
        (NORTH, pre_secret(411).public_key().to_compressed_bytes())
    );
    let stranger = key(412);
    let admin = chain.north_admin.clone();
    let mut nowhere = chain.pseudonym_payload(NORTH, 412, &admin);
    if let Payload::RegisterPseudonym { institution, .. } = &mut nowhere {
        *institution = inst("nowhere");
    }
    let error = chain.err(&stranger, nowhere);
    assert_eq!(error, TxError::UnknownInstitution(inst("nowhere")));
}

#[test]
fn a_clinician_of_the_institution_may_co_sign_a_pseudonym() {
    let mut chain = Chain::new();
    let admin = chain.st_mary_admin.clone();
    let clinician = chain.clinician(&admin, 430);
    let payload = chain.pseudonym_payload(ST_MARY, 431, &clinician);
    assert_eq!(
        chain.ok(&key(431), payload),
        Outcome::PseudonymRegistered {
            account: account(&key(431))
        }
    );
}

#[test]
fn a_pseudonym_without_its_institutions_co_signature_is_refused() {
    let mut chain = Chain::new();
    let st_mary_admin = chain.st_mary_admin.clone();
    let lab_admin = chain.city_lab_admin.clone();
    let researcher = chain.member(&st_mary_admin, 432, Role::Researcher);
    let revoked = chain.clinician(&st_mary_admin, 433);
    chain.ok(
        &st_mary_admin,
        Payload::RevokeMember {
            account: account(&revoked),
        },
    );
    let patient = key(434);
    // Another institution's admin, a role that does not admit patients, a revoked clinician,
    // and a key that is no member at all: none of them speaks for st-mary.
    for registrar in [&lab_admin, &researcher, &revoked] {
        let payload = chain.pseudonym_payload(ST_MARY, 434, registrar);
        assert_eq!(chain.err(&patient, payload).code(), "not_authorized");
    }
    let outsider = key(435);
    let payload = chain.pseudonym_payload(ST_MARY, 434, &outsider);
    assert_eq!(
        chain.err(&patient, payload),
        TxError::UnknownMember(Box::new(account(&outsider)))
    );
    // The admin's signature over another pseudonym, or for another chain, does not transfer.
    let mut copied = chain.pseudonym_payload(ST_MARY, 434, &st_mary_admin);
    let other = chain.pseudonym_payload(ST_MARY, 436, &st_mary_admin);
    if let (
        Payload::RegisterPseudonym {
            registrar_signature,
            ..
        },
        Payload::RegisterPseudonym {
            registrar_signature: other_signature,
            ..
        },
    ) = (&mut copied, &other)
    {
        *registrar_signature = *other_signature;
    }
    assert_eq!(
        chain.err(&patient, copied),
        TxError::Invalid(ValidationError::PossessionProof(
            "registrar's co-signature (it must sign this chain, pseudonym, institution and PRE key)"
        ))
    );
    let foreign = medchain_state::registration::register_pseudonym(
        &ChainId([7; 32]),
        &patient,
        &pre_secret(434),
        inst(ST_MARY),
        &st_mary_admin,
    );
    assert_eq!(chain.err(&patient, foreign).code(), "invalid_transaction");
}

#[test]
fn a_pseudonym_whose_pre_key_proof_is_for_another_key_is_refused() {
    let mut chain = Chain::new();
    let admin = chain.st_mary_admin.clone();
    // Claims another patient's PRE key: the registrar co-signs what it is shown, but the
    // proof of possession cannot be made without that key's secret.
    let mut squatting = chain.pseudonym_payload(ST_MARY, 437, &admin);
    let victim = pre_secret(438).public_key().to_compressed_bytes();
    if let Payload::RegisterPseudonym {
        pre_public_key,
        registrar_signature,
        ..
    } = &mut squatting
    {
        *pre_public_key = victim;
        *registrar_signature = medchain_types::possession::cosign_pseudonym(
            &admin,
            &chain.genesis.chain_id(),
            &account(&key(437)),
            &inst(ST_MARY),
            &victim,
        );
    }
    assert_eq!(
        chain.err(&key(437), squatting),
        TxError::Invalid(ValidationError::PossessionProof("Umbral PRE key"))
    );
}

#[test]
fn a_member_whose_keys_are_not_proven_is_refused() {
    let mut chain = Chain::new();
    let admin = chain.st_mary_admin.clone();
    let chain_id = chain.genesis.chain_id();
    // Each proof made for another chain, and each key swapped for a key the member does not hold.
    let foreign = member_payload(&ChainId([7; 32]), 440, Role::Clinician);
    let Payload::RegisterMember {
        proofs: foreign_proofs,
        ..
    } = foreign
    else {
        unreachable!()
    };
    let cases: [(&str, Tamper<'_>); 5] = [
        (
            "member account key",
            Box::new(|p| set_proofs(p, |proofs| proofs.account = foreign_proofs.account)),
        ),
        (
            "Umbral PRE key",
            Box::new(|p| {
                set_proofs(p, |proofs| {
                    proofs.pre_public_key = foreign_proofs.pre_public_key
                })
            }),
        ),
        (
            "X25519 encryption key",
            Box::new(|p| {
                set_proofs(p, |proofs| {
                    proofs.encryption_key = foreign_proofs.encryption_key
                })
            }),
        ),
        (
            "Umbral PRE key",
            Box::new(|p| {
                if let Payload::RegisterMember { pre_public_key, .. } = p {
                    *pre_public_key = pre_secret(441).public_key().to_compressed_bytes();
                }
            }),
        ),
        (
            "X25519 encryption key",
            Box::new(|p| {
                if let Payload::RegisterMember { encryption_key, .. } = p {
                    *encryption_key = encryption_secret(441).public_key().to_bytes();
                }
            }),
        ),
    ];
    for (what, tamper) in cases {
        let mut payload = member_payload(&chain_id, 440, Role::Clinician);
        tamper(&mut payload);
        assert_eq!(
            chain.err(&admin, payload),
            TxError::Invalid(ValidationError::PossessionProof(what)),
            "{what}"
        );
    }
    chain.ok(&admin, member_payload(&chain_id, 440, Role::Clinician));
}

/// A change made to a good registration before it is submitted.
type Tamper<'a> = Box<dyn Fn(&mut Payload) + 'a>;

fn set_proofs(payload: &mut Payload, change: impl FnOnce(&mut MemberKeyProofs)) {
    if let Payload::RegisterMember { proofs, .. } = payload {
        change(proofs);
    }
}

/// The eight small-order points of edwards25519 in their usual encodings (identity, order 2,
/// two of order 4, four of order 8) and two non-canonical encodings (y + p): the identity's, and
/// that of the point with y = 3, which is not of small order. Commonware's decoder accepts them
/// all (it follows ZIP 215).
const WEAK_ED25519_KEYS: [&str; 10] = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "f0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
];

#[test]
fn small_order_and_non_canonical_ed25519_keys_are_refused_as_members() {
    let mut chain = Chain::new();
    let admin = chain.st_mary_admin.clone();
    for hex_key in WEAK_ED25519_KEYS {
        let bytes: [u8; 32] = hex::decode(hex_key).unwrap().try_into().unwrap();
        let Ok(weak) = AccountId::from_bytes(bytes) else {
            panic!("commonware accepts {hex_key}, so the ledger must refuse it itself");
        };
        assert!(!weak.is_registrable(), "{hex_key}");
        let mut payload = member_payload(&chain.genesis.chain_id(), 442, Role::Clinician);
        if let Payload::RegisterMember { account, .. } = &mut payload {
            *account = weak;
        }
        assert_eq!(
            chain.err(&admin, payload),
            TxError::Invalid(ValidationError::WeakKey("member account")),
            "{hex_key}"
        );
    }
    assert!(account(&key(443)).is_registrable());
}

#[test]
fn a_record_whose_capsule_is_not_an_umbral_capsule_is_refused() {
    let mut chain = Chain::new();
    let admin = chain.st_mary_admin.clone();
    let clinician = chain.clinician(&admin, 444);
    let patient = chain.patient(ST_MARY, 445);
    let mut forged = chain.record_payload(&patient, RecordCategory::Other);
    if let Payload::CreateRecord { capsule, .. } = &mut forged {
        // Right length, wrong contents: 105 bytes of data smuggled onto the ledger.
        *capsule = vec![0x41; limits::CAPSULE_SIZE_BYTES].into();
    }
    assert_eq!(
        chain.err(&clinician, forged),
        TxError::Invalid(ValidationError::Transaction(
            "capsule is not a valid Umbral capsule; encapsulate the data key to the patient's PRE key and send capsule.to_bytes()"
        ))
    );
    let mut tampered = chain.record_payload(&patient, RecordCategory::Other);
    if let Payload::CreateRecord { capsule, .. } = &mut tampered {
        let mut bytes = capsule.to_vec();
        bytes[limits::CAPSULE_SIZE_BYTES - 1] ^= 1;
        *capsule = bytes.into();
    }
    assert_eq!(
        chain.err(&clinician, tampered).code(),
        "invalid_transaction"
    );
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
        chain.record_payload(&patient, RecordCategory::Imaging),
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
            .err(
                &researcher,
                chain.record_payload(&patient, RecordCategory::Other)
            )
            .code(),
        "not_authorized"
    );
    assert_eq!(
        chain
            .err(
                &patient,
                chain.record_payload(&patient, RecordCategory::Other)
            )
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
                chain.record_payload(&elsewhere, RecordCategory::Other)
            )
            .code(),
        "not_authorized"
    );
    let unregistered = key(420);
    let error = chain.err(
        &clinician,
        chain.record_payload(&unregistered, RecordCategory::Other),
    );
    assert_eq!(
        error,
        TxError::UnknownPseudonym(Box::new(account(&unregistered)))
    );
}
