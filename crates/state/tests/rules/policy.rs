//! The consortium's Cedar policy on the ledger: the genesis default, changes by vote only, strict
//! validation when proposed.

use crate::harness::*;
use medchain_state::*;
use medchain_types::*;

const RESEARCHERS_MAY_READ: &str = r#"@id("permit-reads-the-patient-permitted")
permit (principal, action == Medchain::Action::"read", resource);
"#;

fn set_policy(policies: &str) -> MembershipChange {
    MembershipChange::SetConsortiumPolicy {
        schema_version: medchain_policy::SCHEMA_VERSION,
        policies: policies.to_owned(),
    }
}

fn current_policy(chain: &Chain) -> ConsortiumPolicyEntry {
    chain
        .query(async |s| query::consortium_policy(s).await)
        .expect("genesis writes the consortium policy")
}

/// Validator 0 proposes, validators 1 and 2 approve: 3 of 4 pass it.
pub fn pass_policy(chain: &mut Chain, policies: &str) -> ProposalId {
    let proposer = chain.validators[0].clone();
    let proposal = match chain.ok(
        &proposer,
        Payload::ProposeMembership {
            change: set_policy(policies),
            ttl_blocks: 100,
        },
    ) {
        Outcome::ProposalOpened { proposal, status } => {
            assert_eq!(status, ProposalStatus::Open);
            proposal
        }
        other => panic!("unexpected outcome {other:?}"),
    };
    for (voter, expected) in [(1, ProposalStatus::Open), (2, ProposalStatus::Applied)] {
        let voter = chain.validators[voter].clone();
        let outcome = chain.ok(
            &voter,
            Payload::Vote {
                proposal,
                approve: true,
            },
        );
        assert!(
            matches!(outcome, Outcome::Voted { status, .. } if status == expected),
            "{outcome:?}"
        );
    }
    proposal
}

#[test]
fn genesis_holds_the_default_consortium_policy() {
    let chain = Chain::new();
    let entry = current_policy(&chain);
    assert_eq!(
        entry,
        ConsortiumPolicyEntry {
            version: 1,
            schema_version: medchain_policy::SCHEMA_VERSION,
            schema: medchain_policy::SCHEMA.to_owned(),
            policies: medchain_policy::DEFAULT_POLICIES.to_owned(),
            since_height: 0,
            proposal: None,
        }
    );
}

#[test]
fn a_consortium_policy_changes_only_when_the_vote_passes() {
    let mut chain = Chain::new();
    let proposer = chain.validators[0].clone();
    let opened = chain.ok(
        &proposer,
        Payload::ProposeMembership {
            change: set_policy(RESEARCHERS_MAY_READ),
            ttl_blocks: 100,
        },
    );
    let Outcome::ProposalOpened { proposal, .. } = opened else {
        panic!("unexpected outcome {opened:?}");
    };
    // One approval of four is not enough: the default still holds.
    assert_eq!(current_policy(&chain).version, 1);
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
    let passed_at = chain.height - 1;
    assert_eq!(
        current_policy(&chain),
        ConsortiumPolicyEntry {
            version: 2,
            schema_version: medchain_policy::SCHEMA_VERSION,
            schema: medchain_policy::SCHEMA.to_owned(),
            policies: RESEARCHERS_MAY_READ.to_owned(),
            since_height: passed_at,
            proposal: Some(proposal),
        }
    );
    // A later vote restores the default: a new version, not the old one back.
    let restored = pass_policy(&mut chain, medchain_policy::DEFAULT_POLICIES);
    let entry = current_policy(&chain);
    assert_eq!(
        (entry.version, entry.proposal, entry.policies.as_str()),
        (3, Some(restored), medchain_policy::DEFAULT_POLICIES)
    );
}

#[test]
fn only_a_validator_proposes_a_consortium_policy() {
    let mut chain = Chain::new();
    let admin = chain.st_mary_admin.clone();
    let error = chain.err(
        &admin,
        Payload::ProposeMembership {
            change: set_policy(RESEARCHERS_MAY_READ),
            ttl_blocks: 10,
        },
    );
    assert_eq!(error.code(), "not_authorized");
    assert_eq!(current_policy(&chain).version, 1);
}

#[test]
fn an_invalid_consortium_policy_is_refused_when_proposed() {
    let mut chain = Chain::new();
    let proposer = chain.validators[0].clone();
    let cases = [
        (
            set_policy(r#"@id("broken") permit (principal, action, resource"#),
            "does not parse as Cedar",
        ),
        (
            set_policy(
                r#"@id("typo") forbid (principal, action, resource) when { principal.role == Medchain::Role::"reseacher" };"#,
            ),
            "fails strict validation",
        ),
        (
            set_policy("permit (principal, action, resource);"),
            "has no @id",
        ),
        (
            MembershipChange::SetConsortiumPolicy {
                schema_version: medchain_policy::SCHEMA_VERSION + 1,
                policies: RESEARCHERS_MAY_READ.to_owned(),
            },
            "schema version",
        ),
    ];
    for (change, says) in cases {
        let error = chain.err(
            &proposer,
            Payload::ProposeMembership {
                change,
                ttl_blocks: 10,
            },
        );
        assert_eq!(error.code(), "invalid_change");
        let message = error.to_string();
        assert!(
            message.contains("the consortium policy is refused"),
            "{message}"
        );
        assert!(message.contains(says), "{message} should say {says}");
    }
    assert_eq!(current_policy(&chain).version, 1);
}

#[test]
fn an_empty_or_oversized_consortium_policy_is_refused_before_it_reaches_state() {
    let mut chain = Chain::new();
    let proposer = chain.validators[0].clone();
    for (text, code) in [
        ("  \n".to_owned(), "invalid_transaction"),
        (
            "x".repeat(limits::CONSORTIUM_POLICY_SIZE_MAX_BYTES + 1),
            "limit_exceeded",
        ),
    ] {
        let error = chain.err(
            &proposer,
            Payload::ProposeMembership {
                change: set_policy(&text),
                ttl_blocks: 10,
            },
        );
        assert_eq!(error.code(), code, "{error}");
    }
}

/// A St Mary clinician's laboratory record of a St Mary patient, and a City Lab member of `role`
/// whom the patient's consent permits for TREAT, ETREAT and HRESCH.
struct Consented {
    chain: Chain,
    patient: commonware_cryptography::ed25519::PrivateKey,
    reader: commonware_cryptography::ed25519::PrivateKey,
    record: RecordId,
}

fn consented(role: Role) -> Consented {
    let mut chain = Chain::new();
    let (st_mary, lab) = (chain.st_mary_admin.clone(), chain.city_lab_admin.clone());
    let author = chain.clinician(&st_mary, 700);
    let reader = chain.member(&lab, 701, role);
    let patient = chain.patient(ST_MARY, 702);
    let record = chain.record(&author, &patient, RecordCategory::Laboratory);
    let mut consent = permit_person(&reader);
    consent.purposes = vec![Purpose::Treat, Purpose::Etreat, Purpose::Hresch];
    chain.grant(&patient, consent);
    Consented {
        chain,
        patient,
        reader,
        record,
    }
}

fn last_entry(
    chain: &Chain,
    patient: &commonware_cryptography::ed25519::PrivateKey,
) -> AccessLogEntry {
    let page = chain.query(async |s| query::access_log(s, &account(patient), 0, 256).await);
    page.entries.last().expect("the log has entries").clone()
}

#[test]
fn a_researchers_read_is_denied_by_the_default_policy_even_with_consent_and_logged() {
    let Consented {
        mut chain,
        patient,
        reader,
        record,
    } = consented(Role::Researcher);
    assert_eq!(
        chain.request(&reader, record, Purpose::Hresch, None),
        (Decision::Deny, AccessReason::ConsortiumPolicy, false)
    );
    let entry = last_entry(&chain, &patient);
    assert_eq!(
        (
            entry.requester,
            entry.decision,
            entry.reason,
            entry.consent,
            entry.policy_reasons
        ),
        (
            account(&reader),
            Decision::Deny,
            AccessReason::ConsortiumPolicy,
            None,
            vec!["researchers-never-read-raw-records".to_owned()]
        )
    );
}

#[test]
fn a_permitted_read_logs_no_policy_reasons() {
    let Consented {
        mut chain,
        patient,
        reader,
        record,
    } = consented(Role::Clinician);
    assert_eq!(
        chain.request(&reader, record, Purpose::Treat, None),
        (Decision::Permit, AccessReason::Consent, false)
    );
    assert_eq!(
        last_entry(&chain, &patient).policy_reasons,
        Vec::<String>::new()
    );
}

#[test]
fn a_non_clinician_break_glass_is_refused_by_the_consortium_policy() {
    let Consented {
        mut chain,
        patient,
        reader,
        record,
    } = consented(Role::Auditor);
    // The consent covers ETREAT for this auditor, so only the consortium's rule stops it.
    assert_eq!(
        chain.request(&reader, record, Purpose::Etreat, Some("cardiac arrest")),
        (Decision::Deny, AccessReason::ConsortiumPolicy, false)
    );
    let entry = last_entry(&chain, &patient);
    assert_eq!(
        (entry.break_glass, entry.policy_reasons),
        (false, vec!["break-glass-only-for-clinicians".to_owned()])
    );
}

#[test]
fn a_restricted_category_is_read_only_at_its_author_institution_even_with_consent() {
    let Consented {
        mut chain,
        patient,
        reader,
        ..
    } = consented(Role::Clinician);
    let st_mary = chain.st_mary_admin.clone();
    let author = chain.clinician(&st_mary, 703);
    let genomic = chain.record(&author, &patient, RecordCategory::Genomic);
    assert_eq!(
        chain.request(&reader, genomic, Purpose::Treat, None),
        (Decision::Deny, AccessReason::ConsortiumPolicy, false)
    );
    assert_eq!(
        last_entry(&chain, &patient).policy_reasons,
        vec!["restricted-categories-stay-at-the-author-institution".to_owned()]
    );
    assert_eq!(
        chain.request(&author, genomic, Purpose::Treat, None),
        (Decision::Permit, AccessReason::Author, false)
    );
}

#[test]
fn a_policy_change_by_vote_takes_effect_in_the_block_it_passes() {
    let Consented {
        mut chain,
        patient,
        reader,
        record,
    } = consented(Role::Researcher);
    let proposer = chain.validators[0].clone();
    let opened = chain.ok(
        &proposer,
        Payload::ProposeMembership {
            change: set_policy(RESEARCHERS_MAY_READ),
            ttl_blocks: 100,
        },
    );
    let Outcome::ProposalOpened { proposal, .. } = opened else {
        panic!("unexpected outcome {opened:?}");
    };
    let (v1, v2) = (chain.validators[1].clone(), chain.validators[2].clone());
    chain.ok(
        &v1,
        Payload::Vote {
            proposal,
            approve: true,
        },
    );
    // One block: a read, the deciding vote, the same read again.
    let read = Payload::RequestAccess {
        record,
        purpose: Purpose::Hresch,
        justification: None,
    };
    let before = chain.tx(&reader, read.clone());
    let vote = chain.tx(
        &v2,
        Payload::Vote {
            proposal,
            approve: true,
        },
    );
    // `Chain::tx` numbers nonces from the last executed block; the reader sends two in this one.
    let mut transaction = chain.tx(&reader, read).transaction;
    transaction.nonce = before.transaction.nonce + 1;
    let after_tx = SignedTransaction::sign(&reader, transaction);
    let receipts = chain.block(&[before, vote, after_tx]).unwrap();
    let decided: Vec<_> = receipts
        .iter()
        .map(|r| match &r.outcome {
            Outcome::AccessDecided { reason, .. } => Some(*reason),
            Outcome::Voted { status, .. } => {
                assert_eq!(*status, ProposalStatus::Applied);
                None
            }
            other => panic!("unexpected outcome {other:?}"),
        })
        .collect();
    assert_eq!(
        decided,
        vec![
            Some(AccessReason::ConsortiumPolicy),
            None,
            Some(AccessReason::Consent)
        ]
    );
    let entry = last_entry(&chain, &patient);
    assert_eq!(
        (entry.decision, entry.policy_reasons),
        (Decision::Permit, vec![])
    );
}
