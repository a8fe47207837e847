//! The consortium's own access rules, beyond each patient's consent, as Cedar policies
//! (`cedar-policy` 4): the [schema](SCHEMA) of medchain's members, records and the `read`
//! action, the [default policy set](DEFAULT_POLICIES), strict validation against the schema, and
//! [`ConsortiumPolicy::evaluate`], a pure function of its inputs.
//!
//! Deterministic on every node: the block's time goes in the context (Cedar has no clock), and
//! the determining policy ids, which Cedar returns as a `HashSet`, come out sorted. A policy set
//! is parsed and validated once per text ([`compiled`] keeps the last few by BLAKE3 hash), not
//! once per request (parsing costs about a hundred times an evaluation).
//!
//! ```
//! use medchain_policy::{ReadQuestion, Verdict, compiled, DEFAULT_POLICIES, SCHEMA_VERSION};
//! use medchain_types::{AccountId, InstitutionId, Purpose, RecordCategory, RecordId, Role};
//! use commonware_cryptography::{Signer, ed25519::PrivateKey};
//!
//! let policy = compiled(SCHEMA_VERSION, DEFAULT_POLICIES).unwrap();
//! let hospital = InstitutionId::new("st-mary").unwrap();
//! let question = ReadQuestion {
//!     member: &AccountId(PrivateKey::from_seed(1).public_key()),
//!     role: Role::Researcher,
//!     institution: &hospital,
//!     record: &RecordId([7; 32]),
//!     category: RecordCategory::Laboratory,
//!     record_institution: &hospital,
//!     purpose: Purpose::Hresch,
//!     block_time_ms: 1_000,
//!     justification_present: false,
//! };
//! let verdict = policy.evaluate(&question).unwrap();
//! assert_eq!(verdict, Verdict::Deny(vec!["researchers-never-read-raw-records".into()]));
//! ```

use cedar_policy::{
    AuthorizationError, Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName,
    EntityUid, Policy, PolicyId, PolicySet, Request, RestrictedExpression, Schema, ValidationMode,
    Validator,
};
use medchain_types::{AccountId, InstitutionId, Purpose, RecordCategory, RecordId, Role, limits};
use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};

pub use medchain_types::limits::{
    CONSORTIUM_POLICIES_MAX, CONSORTIUM_POLICY_ID_SIZE_MAX_BYTES, CONSORTIUM_POLICY_SIZE_MAX_BYTES,
};

/// The schema every policy set is validated against, strictly.
pub const SCHEMA: &str = include_str!("schema.cedarschema");
/// Version of [`SCHEMA`]: a policy set names the version it was written for, and a new schema
/// (new attributes the state machine fills in) is a new version, so no stored policy is ever
/// silently read against a schema it was not validated with.
pub const SCHEMA_VERSION: u32 = 1;
/// The consortium's rules at genesis, until a governance vote replaces them.
pub const DEFAULT_POLICIES: &str = include_str!("default.cedar");
/// Compiled policy sets kept by [`compiled`]: the current one and a few a vote replaced (blocks
/// being re-executed during catch-up may still need them). Each is a few hundred kilobytes at
/// most, at the size and count limits.
pub const COMPILED_CACHE_ENTRIES_MAX: usize = 8;

const NAMESPACE: &str = "Medchain";

/// Why a policy set or a question was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PolicyError {
    #[error(
        "the policy set is written for schema version {got}, but this ledger has schema version {supported}; rewrite it against the current schema (GET /v1/policy shows it)"
    )]
    UnknownSchemaVersion { got: u32, supported: u32 },
    #[error(
        "the policy text is {got} bytes, over consortium_policy_size_max_bytes ({max}); shorten it"
    )]
    TooLarge { got: usize, max: usize },
    #[error("the policy set has {got} policies, over consortium_policies_max ({max}); merge some")]
    TooMany { got: usize, max: usize },
    #[error("the policy set does not parse as Cedar: {0}")]
    Syntax(String),
    #[error(
        "policy {0} is a template (it has ?principal or ?resource slots); the consortium's rules are plain policies"
    )]
    Template(String),
    #[error(
        "policy number {0} (counting from 1) has no @id(\"...\") annotation; name every policy, the access log records the ids"
    )]
    MissingId(usize),
    #[error("policy id {0:?} is not 1 to 64 lowercase ASCII letters, digits or hyphens; rename it")]
    BadId(String),
    #[error("two policies are both named {0:?}; give each its own @id")]
    DuplicateId(String),
    #[error("the policy set fails strict validation against schema version {version}: {errors}")]
    Invalid { version: u32, errors: String },
    #[error("the access question does not fit the policy schema: {0}")]
    Question(String),
}

/// The consortium's answer to one read: allow, or deny with the ids of the policies that
/// decided, sorted (a deny that no forbid decided, because no permit matched, has none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allow(Vec<String>),
    Deny(Vec<String>),
}

impl Verdict {
    pub fn is_allow(&self) -> bool {
        matches!(self, Verdict::Allow(_))
    }

    /// The determining policy ids, sorted.
    pub fn reasons(&self) -> &[String] {
        match self {
            Verdict::Allow(ids) | Verdict::Deny(ids) => ids,
        }
    }

    /// One byte for the decision, then each id length-prefixed (u16, big-endian): equal verdicts
    /// give equal bytes on every node, whatever order Cedar found the policies in.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = vec![u8::from(!self.is_allow())];
        for id in self.reasons() {
            // Ids are at most CONSORTIUM_POLICY_ID_SIZE_MAX_BYTES long (checked at compile time).
            let len = u16::try_from(id.len()).unwrap_or(u16::MAX);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(id.as_bytes());
        }
        out
    }
}

/// Everything the consortium's rules may look at for one read, all from the ledger's state and
/// the block (no clock). The state machine asks only about members: a patient reading its own
/// record is outside the consortium's rules.
#[derive(Clone, Debug)]
pub struct ReadQuestion<'a> {
    pub member: &'a AccountId,
    pub role: Role,
    pub institution: &'a InstitutionId,
    pub record: &'a RecordId,
    pub category: RecordCategory,
    /// The author's institution.
    pub record_institution: &'a InstitutionId,
    /// ETREAT makes the read a break-glass read (`context.break_glass`).
    pub purpose: Purpose,
    /// The block's timestamp, Unix milliseconds.
    pub block_time_ms: u64,
    pub justification_present: bool,
}

/// A parsed policy set that passed strict validation, ready to evaluate.
#[derive(Debug)]
pub struct ConsortiumPolicy {
    schema: Schema,
    policies: PolicySet,
    hash: [u8; 32],
}

impl ConsortiumPolicy {
    /// Parses `text` and validates it strictly against schema `schema_version`; every policy
    /// must carry a unique `@id`, which becomes its policy id.
    pub fn compile(schema_version: u32, text: &str) -> Result<Self, PolicyError> {
        if schema_version != SCHEMA_VERSION {
            return Err(PolicyError::UnknownSchemaVersion {
                got: schema_version,
                supported: SCHEMA_VERSION,
            });
        }
        if text.len() > CONSORTIUM_POLICY_SIZE_MAX_BYTES {
            return Err(PolicyError::TooLarge {
                got: text.len(),
                max: CONSORTIUM_POLICY_SIZE_MAX_BYTES,
            });
        }
        let parsed = PolicySet::from_str(text).map_err(|e| PolicyError::Syntax(e.to_string()))?;
        if let Some(template) = parsed.templates().next() {
            return Err(PolicyError::Template(template.id().to_string()));
        }
        let policies = rename_by_annotation(&parsed)?;
        let schema = schema();
        let result = Validator::new(schema.clone()).validate(&policies, ValidationMode::Strict);
        if !result.validation_passed() {
            let errors: Vec<String> = result.validation_errors().map(|e| e.to_string()).collect();
            return Err(PolicyError::Invalid {
                version: schema_version,
                errors: errors.join("; "),
            });
        }
        Ok(Self {
            schema,
            policies,
            hash: text_hash(schema_version, text),
        })
    }

    /// What [`compiled`] keys this set by: BLAKE3 of the schema version and the text.
    pub fn hash(&self) -> [u8; 32] {
        self.hash
    }

    /// The consortium's verdict on one read. Fails closed: a policy whose evaluation errs (which
    /// strict validation rules out for the attributes the schema declares) denies, naming it.
    pub fn evaluate(&self, question: &ReadQuestion<'_>) -> Result<Verdict, PolicyError> {
        let (request, entities) = self.request(question)?;
        let response = Authorizer::new().is_authorized(&request, &self.policies, &entities);
        let diagnostics = response.diagnostics();
        let mut errored: Vec<String> = diagnostics
            .errors()
            .map(|e| match e {
                AuthorizationError::PolicyEvaluationError(e) => e.policy_id().to_string(),
            })
            .collect();
        if !errored.is_empty() {
            errored.sort();
            errored.dedup();
            return Ok(Verdict::Deny(errored));
        }
        let mut reasons: Vec<String> = diagnostics.reason().map(PolicyId::to_string).collect();
        reasons.sort();
        Ok(match response.decision() {
            Decision::Allow => Verdict::Allow(reasons),
            Decision::Deny => Verdict::Deny(reasons),
        })
    }

    fn request(&self, q: &ReadQuestion<'_>) -> Result<(Request, Entities), PolicyError> {
        let question_error = |e: &dyn std::fmt::Display| PolicyError::Question(e.to_string());
        let member_institution = uid("Institution", q.institution.as_str())?;
        let record_institution = uid("Institution", q.record_institution.as_str())?;
        let member = uid("Member", &q.member.to_string())?;
        let record = uid("Record", &q.record.to_string())?;
        let member_entity = Entity::new(
            member.clone(),
            HashMap::from([
                ("role".to_owned(), enum_value("Role", role_name(q.role))?),
                (
                    "institution".to_owned(),
                    RestrictedExpression::new_entity_uid(member_institution.clone()),
                ),
            ]),
            HashSet::new(),
        )
        .map_err(|e| question_error(&e))?;
        let record_entity = Entity::new(
            record.clone(),
            HashMap::from([
                (
                    "category".to_owned(),
                    enum_value("Category", category_name(q.category))?,
                ),
                (
                    "institution".to_owned(),
                    RestrictedExpression::new_entity_uid(record_institution.clone()),
                ),
            ]),
            HashSet::new(),
        )
        .map_err(|e| question_error(&e))?;
        let mut entities = vec![
            member_entity,
            record_entity,
            Entity::with_uid(member_institution.clone()),
        ];
        if record_institution != member_institution {
            entities.push(Entity::with_uid(record_institution));
        }
        let entities = Entities::from_entities(entities, Some(&self.schema))
            .map_err(|e| question_error(&e))?;
        let block_time_ms = i64::try_from(q.block_time_ms).map_err(|_| {
            PolicyError::Question(format!(
                "block time {} ms is past Cedar's Long range",
                q.block_time_ms
            ))
        })?;
        let context = Context::from_pairs([
            (
                "purpose".to_owned(),
                enum_value("Purpose", q.purpose.code())?,
            ),
            (
                "block_time_ms".to_owned(),
                RestrictedExpression::new_long(block_time_ms),
            ),
            (
                "break_glass".to_owned(),
                RestrictedExpression::new_bool(q.purpose == Purpose::Etreat),
            ),
            (
                "justification_present".to_owned(),
                RestrictedExpression::new_bool(q.justification_present),
            ),
        ])
        .map_err(|e| question_error(&e))?;
        let action = uid("Action", "read")?;
        let request = Request::new(member, action, record, context, Some(&self.schema))
            .map_err(|e| question_error(&e))?;
        Ok((request, entities))
    }
}

/// The compiled policy set for `text` under `schema_version`, parsed and validated on first use
/// and then served from a small process-wide cache keyed by [`ConsortiumPolicy::hash`]. A cache
/// hit returns what compiling again would, so nodes with cold and warm caches agree.
pub fn compiled(schema_version: u32, text: &str) -> Result<Arc<ConsortiumPolicy>, PolicyError> {
    static CACHE: OnceLock<Mutex<Vec<Arc<ConsortiumPolicy>>>> = OnceLock::new();
    let hash = text_hash(schema_version, text);
    let cache = CACHE.get_or_init(|| Mutex::new(Vec::new()));
    // A poisoned lock only means another thread panicked mid-insert; the entries stay whole.
    let lookup = |entries: &mut Vec<Arc<ConsortiumPolicy>>| {
        entries.iter().position(|p| p.hash == hash).map(|at| {
            // Most recently used last, so the oldest is evicted first.
            let hit = entries.remove(at);
            entries.push(Arc::clone(&hit));
            hit
        })
    };
    if let Some(hit) = lookup(&mut cache.lock().unwrap_or_else(|e| e.into_inner())) {
        return Ok(hit);
    }
    let fresh = Arc::new(ConsortiumPolicy::compile(schema_version, text)?);
    let mut entries = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(hit) = lookup(&mut entries) {
        return Ok(hit);
    }
    if entries.len() >= COMPILED_CACHE_ENTRIES_MAX {
        entries.remove(0);
    }
    entries.push(Arc::clone(&fresh));
    Ok(fresh)
}

/// Strict validation only, for a governance proposal (compiles, then drops the result).
pub fn validate(schema_version: u32, text: &str) -> Result<(), PolicyError> {
    compiled(schema_version, text).map(|_| ())
}

fn text_hash(schema_version: u32, text: &str) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new_derive_key("medchain 2026 consortium policy v1");
    hasher.update(&schema_version.to_be_bytes());
    hasher.update(text.as_bytes());
    *hasher.finalize().as_bytes()
}

fn schema() -> Schema {
    // SCHEMA is a constant of this crate; `the_default_policy_set_passes_strict_validation` parses it, so this cannot fail at
    // run time unless the build itself is broken.
    match Schema::from_cedarschema_str(SCHEMA) {
        Ok((schema, _warnings)) => schema,
        Err(e) => panic!("the built-in Cedar schema does not parse: {e}"),
    }
}

/// Cedar names policies `policy0`, `policy1`, ... by position; the consortium names them by
/// `@id`, so a denial's reasons stay meaningful when policies are added or reordered.
fn rename_by_annotation(parsed: &PolicySet) -> Result<PolicySet, PolicyError> {
    let count = parsed.policies().count();
    if count > CONSORTIUM_POLICIES_MAX {
        return Err(PolicyError::TooMany {
            got: count,
            max: CONSORTIUM_POLICIES_MAX,
        });
    }
    // `policies()` iterates in an unspecified order; sort by Cedar's positional id number so the
    // "policy number" in an error counts from the top of the text.
    let mut positional: Vec<(usize, &Policy)> = parsed
        .policies()
        .map(|p| (positional_index(p.id()), p))
        .collect();
    positional.sort_by_key(|(index, _)| *index);
    let mut seen = HashSet::new();
    let mut renamed = Vec::with_capacity(count);
    for (index, policy) in positional {
        let id = policy
            .annotation("id")
            .ok_or(PolicyError::MissingId(index + 1))?;
        let well_formed = !id.is_empty()
            && id.len() <= CONSORTIUM_POLICY_ID_SIZE_MAX_BYTES
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !well_formed {
            return Err(PolicyError::BadId(id.to_owned()));
        }
        if !seen.insert(id.to_owned()) {
            return Err(PolicyError::DuplicateId(id.to_owned()));
        }
        renamed.push(policy.new_id(PolicyId::new(id)));
    }
    PolicySet::from_policies(renamed).map_err(|e| PolicyError::Syntax(e.to_string()))
}

fn positional_index(id: &PolicyId) -> usize {
    id.to_string()
        .strip_prefix("policy")
        .and_then(|n| n.parse().ok())
        .unwrap_or(usize::MAX)
}

fn uid(kind: &str, id: &str) -> Result<EntityUid, PolicyError> {
    let name = EntityTypeName::from_str(&format!("{NAMESPACE}::{kind}"))
        .map_err(|e| PolicyError::Question(e.to_string()))?;
    Ok(EntityUid::from_type_name_and_id(name, EntityId::new(id)))
}

fn enum_value(kind: &str, id: &str) -> Result<RestrictedExpression, PolicyError> {
    Ok(RestrictedExpression::new_entity_uid(uid(kind, id)?))
}

/// The role's name in the schema (as `medchain_types` serializes it).
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::Clinician => "clinician",
        Role::Researcher => "researcher",
        Role::Auditor => "auditor",
        Role::EmergencyService => "emergency_service",
    }
}

/// The category's name in the schema (as `medchain_types` serializes it).
pub fn category_name(category: RecordCategory) -> &'static str {
    match category {
        RecordCategory::Encounter => "encounter",
        RecordCategory::Laboratory => "laboratory",
        RecordCategory::Imaging => "imaging",
        RecordCategory::Medication => "medication",
        RecordCategory::Allergy => "allergy",
        RecordCategory::Immunization => "immunization",
        RecordCategory::Procedure => "procedure",
        RecordCategory::Diagnosis => "diagnosis",
        RecordCategory::MentalHealth => "mental_health",
        RecordCategory::Genomic => "genomic",
        RecordCategory::Other => "other",
    }
}

const _: () = assert!(limits::CONSORTIUM_POLICY_ID_SIZE_MAX_BYTES <= u16::MAX as usize);
// The ledger stores the schema beside the policies, under the same decoder bound.
const _: () = assert!(SCHEMA.len() <= CONSORTIUM_POLICY_SIZE_MAX_BYTES);
const _: () = assert!(DEFAULT_POLICIES.len() <= CONSORTIUM_POLICY_SIZE_MAX_BYTES);
