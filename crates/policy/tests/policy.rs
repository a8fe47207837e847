//! The default rules, strict validation, limits, determinism and time in the context.

use commonware_cryptography::{Signer, ed25519::PrivateKey};
use medchain_policy::{
    CONSORTIUM_POLICIES_MAX, CONSORTIUM_POLICY_SIZE_MAX_BYTES, ConsortiumPolicy, DEFAULT_POLICIES,
    PolicyError, ReadQuestion, SCHEMA_VERSION, Verdict, compiled,
};
use medchain_types::{AccountId, InstitutionId, Purpose, RecordCategory, RecordId, Role};
use std::sync::Arc;

const PERMIT: &str = "permit-reads-the-patient-permitted";
const NO_RESEARCHERS: &str = "researchers-never-read-raw-records";
const CLINICIANS_BREAK_GLASS: &str = "break-glass-only-for-clinicians";
const JUSTIFIED_BREAK_GLASS: &str = "break-glass-needs-a-justification";
const RESTRICTED: &str = "restricted-categories-stay-at-the-author-institution";

struct Fixture {
    member: AccountId,
    st_mary: InstitutionId,
    city_lab: InstitutionId,
    record: RecordId,
}

fn fixture() -> Fixture {
    Fixture {
        member: AccountId(PrivateKey::from_seed(11).public_key()),
        st_mary: InstitutionId::new("st-mary").unwrap(),
        city_lab: InstitutionId::new("city-lab").unwrap(),
        record: RecordId([5; 32]),
    }
}

/// A clinician of St Mary reading a St Mary laboratory record for treatment.
fn question(f: &Fixture) -> ReadQuestion<'_> {
    ReadQuestion {
        member: &f.member,
        role: Role::Clinician,
        institution: &f.st_mary,
        record: &f.record,
        category: RecordCategory::Laboratory,
        record_institution: &f.st_mary,
        purpose: Purpose::Treat,
        block_time_ms: 1_767_225_600_000,
        justification_present: false,
    }
}

fn default_policy() -> Arc<ConsortiumPolicy> {
    compiled(SCHEMA_VERSION, DEFAULT_POLICIES).unwrap()
}

fn allow(ids: &[&str]) -> Verdict {
    Verdict::Allow(ids.iter().map(|s| (*s).to_owned()).collect())
}

fn deny(ids: &[&str]) -> Verdict {
    Verdict::Deny(ids.iter().map(|s| (*s).to_owned()).collect())
}

#[test]
fn the_default_policy_set_passes_strict_validation() {
    let policy = ConsortiumPolicy::compile(SCHEMA_VERSION, DEFAULT_POLICIES).unwrap();
    assert_eq!(policy.hash(), default_policy().hash());
}

#[test]
fn a_clinician_reads_what_the_patient_permitted() {
    let f = fixture();
    assert_eq!(
        default_policy().evaluate(&question(&f)).unwrap(),
        allow(&[PERMIT])
    );
}

#[test]
fn a_researcher_never_reads_a_raw_record() {
    let f = fixture();
    for purpose in [Purpose::Hresch, Purpose::Treat, Purpose::Pubhlth] {
        let q = ReadQuestion {
            role: Role::Researcher,
            purpose,
            ..question(&f)
        };
        assert_eq!(
            default_policy().evaluate(&q).unwrap(),
            deny(&[NO_RESEARCHERS])
        );
    }
}

#[test]
fn break_glass_is_only_for_clinicians() {
    let f = fixture();
    let clinician = ReadQuestion {
        purpose: Purpose::Etreat,
        justification_present: true,
        ..question(&f)
    };
    assert_eq!(
        default_policy().evaluate(&clinician).unwrap(),
        allow(&[PERMIT])
    );
    for role in [Role::Auditor, Role::Admin] {
        let other = ReadQuestion {
            role,
            ..clinician.clone()
        };
        assert_eq!(
            default_policy().evaluate(&other).unwrap(),
            deny(&[CLINICIANS_BREAK_GLASS])
        );
    }
    // Outside an emergency the same auditor is not refused by the break-glass rule.
    let auditor_treating = ReadQuestion {
        role: Role::Auditor,
        ..question(&f)
    };
    assert_eq!(
        default_policy().evaluate(&auditor_treating).unwrap(),
        allow(&[PERMIT])
    );
}

#[test]
fn break_glass_without_a_justification_is_denied() {
    let f = fixture();
    let q = ReadQuestion {
        purpose: Purpose::Etreat,
        justification_present: false,
        ..question(&f)
    };
    assert_eq!(
        default_policy().evaluate(&q).unwrap(),
        deny(&[JUSTIFIED_BREAK_GLASS])
    );
}

#[test]
fn every_forbidding_rule_is_named_sorted() {
    let f = fixture();
    // A researcher of another institution breaking glass on a genomic record, unjustified.
    let q = ReadQuestion {
        role: Role::Researcher,
        institution: &f.city_lab,
        category: RecordCategory::Genomic,
        purpose: Purpose::Etreat,
        justification_present: false,
        ..question(&f)
    };
    assert_eq!(
        default_policy().evaluate(&q).unwrap(),
        deny(&[
            JUSTIFIED_BREAK_GLASS,
            CLINICIANS_BREAK_GLASS,
            NO_RESEARCHERS,
            RESTRICTED
        ])
    );
}

#[test]
fn a_restricted_category_is_read_only_at_its_author_institution() {
    let f = fixture();
    for category in [RecordCategory::MentalHealth, RecordCategory::Genomic] {
        let elsewhere = ReadQuestion {
            institution: &f.city_lab,
            category,
            ..question(&f)
        };
        assert_eq!(
            default_policy().evaluate(&elsewhere).unwrap(),
            deny(&[RESTRICTED])
        );
        let at_author = ReadQuestion {
            category,
            ..question(&f)
        };
        assert_eq!(
            default_policy().evaluate(&at_author).unwrap(),
            allow(&[PERMIT])
        );
    }
    let unrestricted_elsewhere = ReadQuestion {
        institution: &f.city_lab,
        category: RecordCategory::Imaging,
        ..question(&f)
    };
    assert_eq!(
        default_policy().evaluate(&unrestricted_elsewhere).unwrap(),
        allow(&[PERMIT])
    );
}

#[test]
fn a_set_with_no_matching_permit_denies_with_no_reason() {
    let f = fixture();
    let text = r#"@id("only-auditors") permit (principal, action, resource)
        when { principal.role == Medchain::Role::"auditor" };"#;
    let policy = ConsortiumPolicy::compile(SCHEMA_VERSION, text).unwrap();
    assert_eq!(policy.evaluate(&question(&f)).unwrap(), deny(&[]));
}

#[test]
fn a_policy_with_a_syntax_error_is_refused() {
    let text = r#"@id("broken") permit (principal, action, resource) when { principal.role == };"#;
    let error = ConsortiumPolicy::compile(SCHEMA_VERSION, text).unwrap_err();
    assert!(matches!(error, PolicyError::Syntax(_)), "{error}");
    assert!(
        error
            .to_string()
            .starts_with("the policy set does not parse as Cedar")
    );
}

#[test]
fn a_policy_that_fails_strict_validation_is_refused() {
    let cases = [
        // A misspelt role: a rule that would never match.
        r#"@id("typo") forbid (principal, action, resource) when { principal.role == Medchain::Role::"reseacher" };"#,
        // An attribute the schema does not have.
        r#"@id("no-such-attribute") forbid (principal, action, resource) when { principal.age > 3 };"#,
        // A type error: a purpose is not a string.
        r#"@id("type-error") forbid (principal, action, resource) when { context.purpose == "HRESCH" };"#,
        // An action the schema does not declare.
        r#"@id("unknown-action") permit (principal, action == Medchain::Action::"write", resource);"#,
    ];
    for text in cases {
        let error = ConsortiumPolicy::compile(SCHEMA_VERSION, text).unwrap_err();
        match &error {
            PolicyError::Invalid { version, errors } => {
                assert_eq!(*version, SCHEMA_VERSION);
                assert!(!errors.is_empty());
            }
            other => panic!("{text}: expected a validation error, got {other}"),
        }
    }
}

#[test]
fn every_policy_needs_a_unique_well_formed_id() {
    let permit = "permit (principal, action, resource);";
    assert_eq!(
        ConsortiumPolicy::compile(SCHEMA_VERSION, &format!("@id(\"a\") {permit}\n{permit}"))
            .unwrap_err(),
        PolicyError::MissingId(2)
    );
    assert_eq!(
        ConsortiumPolicy::compile(
            SCHEMA_VERSION,
            &format!("@id(\"a\") {permit} @id(\"a\") {permit}")
        )
        .unwrap_err(),
        PolicyError::DuplicateId("a".into())
    );
    assert_eq!(
        ConsortiumPolicy::compile(SCHEMA_VERSION, &format!("@id(\"Has Space\") {permit}"))
            .unwrap_err(),
        PolicyError::BadId("Has Space".into())
    );
    let template = r#"@id("t") permit (principal == ?principal, action, resource);"#;
    assert!(matches!(
        ConsortiumPolicy::compile(SCHEMA_VERSION, template).unwrap_err(),
        PolicyError::Template(_)
    ));
}

#[test]
fn a_policy_for_another_schema_version_is_refused() {
    assert_eq!(
        ConsortiumPolicy::compile(SCHEMA_VERSION + 1, DEFAULT_POLICIES).unwrap_err(),
        PolicyError::UnknownSchemaVersion {
            got: SCHEMA_VERSION + 1,
            supported: SCHEMA_VERSION
        }
    );
}

#[test]
fn the_policy_count_limit_is_enforced() {
    let set = |n: usize| {
        (0..n)
            .map(|i| format!("@id(\"p-{i}\") permit (principal, action, resource);\n"))
            .collect::<String>()
    };
    let at_limit = ConsortiumPolicy::compile(SCHEMA_VERSION, &set(CONSORTIUM_POLICIES_MAX));
    assert!(at_limit.is_ok(), "{at_limit:?}");
    assert_eq!(
        ConsortiumPolicy::compile(SCHEMA_VERSION, &set(CONSORTIUM_POLICIES_MAX + 1)).unwrap_err(),
        PolicyError::TooMany {
            got: CONSORTIUM_POLICIES_MAX + 1,
            max: CONSORTIUM_POLICIES_MAX
        }
    );
}

#[test]
fn the_policy_text_size_limit_is_enforced() {
    let padded = |len: usize| {
        let mut text = format!("{DEFAULT_POLICIES}\n//");
        text.push_str(&"x".repeat(len - text.len()));
        text
    };
    let at_limit = padded(CONSORTIUM_POLICY_SIZE_MAX_BYTES);
    assert_eq!(at_limit.len(), CONSORTIUM_POLICY_SIZE_MAX_BYTES);
    assert!(ConsortiumPolicy::compile(SCHEMA_VERSION, &at_limit).is_ok());
    assert_eq!(
        ConsortiumPolicy::compile(
            SCHEMA_VERSION,
            &padded(CONSORTIUM_POLICY_SIZE_MAX_BYTES + 1)
        )
        .unwrap_err(),
        PolicyError::TooLarge {
            got: CONSORTIUM_POLICY_SIZE_MAX_BYTES + 1,
            max: CONSORTIUM_POLICY_SIZE_MAX_BYTES
        }
    );
}

#[test]
fn the_same_question_gives_byte_identical_verdicts_on_two_fresh_evaluators() {
    let f = fixture();
    let first = ConsortiumPolicy::compile(SCHEMA_VERSION, DEFAULT_POLICIES).unwrap();
    let second = ConsortiumPolicy::compile(SCHEMA_VERSION, DEFAULT_POLICIES).unwrap();
    let roles = [
        Role::Admin,
        Role::Clinician,
        Role::Researcher,
        Role::Auditor,
    ];
    let purposes = [Purpose::Treat, Purpose::Etreat, Purpose::Hresch];
    let categories = [RecordCategory::Genomic, RecordCategory::Laboratory];
    let mut compared = 0;
    for role in roles {
        for purpose in purposes {
            for category in categories {
                for institution in [&f.st_mary, &f.city_lab] {
                    let q = ReadQuestion {
                        role,
                        purpose,
                        category,
                        institution,
                        justification_present: purpose == Purpose::Etreat,
                        ..question(&f)
                    };
                    let bytes = first.evaluate(&q).unwrap().canonical_bytes();
                    assert_eq!(bytes, second.evaluate(&q).unwrap().canonical_bytes());
                    assert_eq!(
                        bytes,
                        default_policy().evaluate(&q).unwrap().canonical_bytes()
                    );
                    compared += 1;
                }
            }
        }
    }
    assert_eq!(compared, 48);
}

#[test]
fn the_block_time_in_the_context_governs_a_time_window() {
    let f = fixture();
    // The consortium suspends City Lab's reads from 2027-01-01T00:00:00Z on.
    let suspension_ms: u64 = 1_798_761_600_000;
    let text = format!(
        r#"@id("permit-all") permit (principal, action, resource);
        @id("city-lab-suspended") forbid (principal, action, resource)
        when {{ principal.institution == Medchain::Institution::"city-lab" &&
                context.block_time_ms >= {suspension_ms} }};"#
    );
    let policy = ConsortiumPolicy::compile(SCHEMA_VERSION, &text).unwrap();
    let at = |block_time_ms: u64| ReadQuestion {
        institution: &f.city_lab,
        block_time_ms,
        ..question(&f)
    };
    assert_eq!(
        policy.evaluate(&at(suspension_ms - 1)).unwrap(),
        allow(&["permit-all"])
    );
    assert_eq!(
        policy.evaluate(&at(suspension_ms)).unwrap(),
        deny(&["city-lab-suspended"])
    );
    let past_cedar_long = ReadQuestion {
        block_time_ms: u64::MAX,
        ..question(&f)
    };
    assert!(matches!(
        policy.evaluate(&past_cedar_long).unwrap_err(),
        PolicyError::Question(_)
    ));
}

#[test]
fn a_policy_text_is_compiled_once_and_then_served_from_the_cache() {
    let text = r#"@id("cache-probe") permit (principal, action, resource);"#;
    let first = compiled(SCHEMA_VERSION, text).unwrap();
    let again = compiled(SCHEMA_VERSION, text).unwrap();
    assert!(Arc::ptr_eq(&first, &again));
    assert!(!Arc::ptr_eq(&first, &default_policy()));
}
