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
