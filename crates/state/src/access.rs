//! Access: every request from a member is decided here, deterministically, and logged under the
//! patient's pseudonym, denied ones too; a request from anyone else (a patient pseudonym, the
//! record's own patient included, or an unknown key) is refused with `NotMember` and never
//! reaches the log: a patient reads their own records with their own keys and needs no permit.
//! Order of the rules, as FHIR Consent reads: an inactive requester is denied; the record's author is permitted
//! without consent only for treatment (TREAT) while at the record's institution, any other
//! purpose goes through consent; a matching deny consent wins over any permit; an unrevoked,
//! current permit that matches actor, action (a request is a read: `access`), purpose and data
//! permits unless one of its own deny exceptions matches (an exception applies inside the
//! permit that nests it, never to another permit); otherwise purpose ETREAT from an active
//! clinician is a break-glass read where the patient enabled emergency access for the
//! clinician's institution; else deny. Every permitted read under ETREAT is flagged for review
//! (`break_glass`), whichever rule permitted it, and queued for the auditors' review
//! ([`crate::review`]). An institution's emergency key service never reads for itself
//! (`service_account`). Last, a permit must pass the consortium's own
//! Cedar policy in force (`medchain-policy`, evaluated with the block's time): a forbid turns
//! it into a `consortium_policy` denial that logs the deciding policy ids, sorted.

use crate::entries::{
    AccessLogEntry, AccessReason, ConsentEntry, MemberEntry, RecordEntry, ReviewItem,
};
use crate::error::{StateError, TxError};
use crate::exec::{Call, Outcome};
use crate::store::Store;
use crate::{keys, query, rw};
use medchain_policy::{ReadQuestion, Verdict};
use medchain_types::{
    AccountId, ConsentAction, ConsentActor, ConsentId, DataScope, Decision, Purpose, RecordId, Role,
};

/// Who asks, as far as the decision needs to know.
pub struct Requester<'a> {
    pub account: &'a AccountId,
    pub member: &'a MemberEntry,
    /// Unrevoked and institution still in the consortium.
    pub active: bool,
}

/// Everything a decision depends on; no store access, so it is easy to test.
pub struct AccessQuestion<'a> {
    pub requester: Requester<'a>,
    pub record: &'a RecordEntry,
    pub purpose: Purpose,
    /// The patient's unrevoked consents, in grant order.
    pub consents: &'a [ConsentEntry],
    /// The patient enabled emergency access for the requester's institution.
    pub emergency_enabled: bool,
    pub timestamp_ms: u64,
}

/// The reason (which implies the decision) and the consent that permitted, if any.
pub fn decide(question: &AccessQuestion<'_>) -> (AccessReason, Option<ConsentId>) {
    let requester = &question.requester;
    let member = requester.member;
    if question.record.erasure.is_some() {
        return (AccessReason::RecordErased, None);
    }
    if !requester.active {
        return (AccessReason::RequesterInactive, None);
    }
    if member.role == Role::EmergencyService {
        return (AccessReason::ServiceAccount, None);
    }
    let author_treating = requester.account == &question.record.author
        && question.purpose == Purpose::Treat
        && member.institution == question.record.institution;
    if author_treating {
        return (AccessReason::Author, None);
    }
    match evaluate_consents(question, member) {
        ConsentVerdict::Denied => return (AccessReason::ConsentDenied, None),
        ConsentVerdict::Excepted => return (AccessReason::ConsentException, None),
        ConsentVerdict::Permitted(id) => return (AccessReason::Consent, Some(id)),
        ConsentVerdict::NoneApplies => {}
    }
    if question.purpose != Purpose::Etreat {
        return (AccessReason::NoConsent, None);
    }
    if member.role != Role::Clinician {
        return (AccessReason::BreakGlassNotClinician, None);
    }
    if !question.emergency_enabled {
        return (AccessReason::EmergencyAccessNotEnabled, None);
    }
    (AccessReason::BreakGlass, None)
}

enum ConsentVerdict {
    Denied,
    Excepted,
    Permitted(ConsentId),
    NoneApplies,
}

fn evaluate_consents(question: &AccessQuestion<'_>, member: &MemberEntry) -> ConsentVerdict {
    let matcher = Matcher {
        account: question.requester.account,
        member,
        record: question.record,
        purpose: question.purpose,
    };
    let mut permitted = None;
    let mut excepted = false;
    let current = question
        .consents
        .iter()
        .filter(|c| c.revoked_height.is_none() && c.policy.period.contains(question.timestamp_ms));
    for consent in current {
        let policy = &consent.policy;
        if !matcher.matches(
            &policy.actors,
            &policy.actions,
            &policy.purposes,
            &policy.data,
            false,
        ) {
            continue;
        }
        if policy.decision == Decision::Deny {
            return ConsentVerdict::Denied;
        }
        // The exception carves out of this permit only; another permit may still cover the read.
        let exception = policy
            .exceptions
            .iter()
            .any(|e| matcher.matches(&e.actors, &e.actions, &e.purposes, &e.data, true));
        if exception {
            excepted = true;
        } else if permitted.is_none() {
            permitted = Some(consent.id);
        }
    }
    match (permitted, excepted) {
        (Some(id), _) => ConsentVerdict::Permitted(id),
        (None, true) => ConsentVerdict::Excepted,
        (None, false) => ConsentVerdict::NoneApplies,
    }
}

struct Matcher<'a> {
    account: &'a AccountId,
    member: &'a MemberEntry,
    record: &'a RecordEntry,
    purpose: Purpose,
}

impl Matcher<'_> {
    /// In a nested exception an empty list means "any"; at the top it matches nothing.
    fn matches(
        &self,
        actors: &[ConsentActor],
        actions: &[ConsentAction],
        purposes: &[Purpose],
        data: &DataScope,
        empty_is_any: bool,
    ) -> bool {
        let any_or = |empty: bool, hit: bool| (empty && empty_is_any) || hit;
        any_or(actors.is_empty(), actors.iter().any(|a| self.actor(a)))
            && any_or(actions.is_empty(), actions.contains(&ConsentAction::Access))
            && any_or(purposes.is_empty(), purposes.contains(&self.purpose))
            && self.data(data)
    }

    fn actor(&self, actor: &ConsentActor) -> bool {
        match actor {
            ConsentActor::Person(account) => account == self.account,
            ConsentActor::Role { institution, role } => {
                *role == self.member.role
                    && institution
                        .as_ref()
                        .is_none_or(|i| i == &self.member.institution)
            }
            ConsentActor::Institution(id) => id == &self.member.institution,
        }
    }

    fn data(&self, data: &DataScope) -> bool {
        match data {
            DataScope::All => true,
            DataScope::Categories(categories) => categories.contains(&self.record.category),
            DataScope::Records(records) => records.contains(&self.record.id),
        }
    }
}

pub(crate) async fn request<S: Store>(
    store: &mut S,
    call: &Call<'_>,
    record_id: &RecordId,
    purpose: Purpose,
    justification: Option<&str>,
) -> Result<Outcome, TxError> {
    // Only members ask for access: a request from any other key would let anyone write into a
    // patient's access log, so it is refused before the record is even looked up, never logged.
    let member = rw::member(store, call.sender)
        .await?
        .ok_or_else(|| TxError::NotMember {
            sender: Box::new(call.sender.clone()),
        })?;
    let record = query::record(store, record_id)
        .await?
        .ok_or(TxError::UnknownRecord(*record_id))?;
    let active = rw::member_is_active(store, &member).await?;
    let emergency_enabled = store
        .get(&keys::emergency_access(
            &record.patient,
            &member.institution,
        ))
        .await?
        .is_some();
    let consents = query::patient_consents(store, &record.patient).await?;
    let question = AccessQuestion {
        requester: Requester {
            account: call.sender,
            member: &member,
            active,
        },
        record: &record,
        purpose,
        consents: &consents,
        emergency_enabled,
        timestamp_ms: call.env.timestamp_ms,
    };
    let (mut reason, mut consent) = decide(&question);
    let mut policy_reasons = Vec::new();
    if reason.decision() == Decision::Permit {
        let verdict =
            consortium_verdict(store, call, &member, &record, purpose, justification).await?;
        if let Verdict::Deny(ids) = verdict {
            (reason, consent, policy_reasons) = (AccessReason::ConsortiumPolicy, None, ids);
        }
    }
    let entry = log(
        store,
        call,
        &record,
        Decided {
            purpose,
            reason,
            consent,
            policy_reasons,
        },
        justification,
    )
    .await?;
    if entry.break_glass {
        queue_for_review(store, &record, &entry, &member).await?;
    }
    Ok(Outcome::AccessDecided {
        patient: record.patient,
        sequence: entry.sequence,
        decision: entry.decision,
        reason,
        break_glass: entry.break_glass,
    })
}

/// The consortium's Cedar rules on a read the patient's side permitted, under the policy in force
/// at this transaction and this block's time.
async fn consortium_verdict<S: Store>(
    store: &S,
    call: &Call<'_>,
    member: &MemberEntry,
    record: &RecordEntry,
    purpose: Purpose,
    justification: Option<&str>,
) -> Result<Verdict, TxError> {
    let entry = query::consortium_policy(store)
        .await?
        .ok_or_else(|| StateError::Corrupt {
            table: "consortium_policy",
            reason: "genesis writes the consortium policy, and it is missing".into(),
        })?;
    // Validated strictly before it was stored, so a failure here means this build cannot
    // evaluate what the ledger holds: corruption, not the requester's fault.
    let policy = medchain_policy::compiled(entry.schema_version, &entry.policies).map_err(|e| {
        StateError::Corrupt {
            table: "consortium_policy",
            reason: e.to_string(),
        }
    })?;
    let question = ReadQuestion {
        member: &member.account,
        role: member.role,
        institution: &member.institution,
        record: &record.id,
        category: record.category,
        record_institution: &record.institution,
        purpose,
        block_time_ms: call.env.timestamp_ms,
        justification_present: justification.is_some(),
    };
    policy.evaluate(&question).map_err(|e| {
        TxError::NotAuthorized(format!(
            "the consortium policy cannot decide this read ({e}); nothing was logged"
        ))
    })
}

/// What the decision was, as the log records it.
struct Decided {
    purpose: Purpose,
    reason: AccessReason,
    consent: Option<ConsentId>,
    policy_reasons: Vec<String>,
}

async fn log<S: Store>(
    store: &mut S,
    call: &Call<'_>,
    record: &RecordEntry,
    decided: Decided,
    justification: Option<&str>,
) -> Result<AccessLogEntry, TxError> {
    let Decided {
        purpose,
        reason,
        consent,
        policy_reasons,
    } = decided;
    let count_key = keys::access_log_count(&record.patient);
    let sequence: u64 = rw::read(store, &count_key, "access_log_count")
        .await?
        .unwrap_or(0);
    let entry = AccessLogEntry {
        sequence,
        record: record.id,
        requester: call.sender.clone(),
        purpose,
        decision: reason.decision(),
        reason,
        consent,
        // Emergency treatment is reviewed however it was permitted (break-glass, consent, author).
        break_glass: reason.decision() == Decision::Permit && purpose == Purpose::Etreat,
        justification: justification.map(str::to_owned),
        height: call.env.height,
        timestamp_ms: call.env.timestamp_ms,
        tx_hash: call.tx_hash,
        policy_reasons,
    };
    rw::write(store, keys::access_log(&record.patient, sequence), &entry);
    rw::write(store, count_key, &(sequence + 1));
    Ok(entry)
}

/// Appends a flagged read to the consortium's review queue.
async fn queue_for_review<S: Store>(
    store: &mut S,
    record: &RecordEntry,
    entry: &AccessLogEntry,
    member: &MemberEntry,
) -> Result<(), TxError> {
    let count_key = keys::review_queue_count();
    let item: u64 = rw::read(store, &count_key, "review_queue_count")
        .await?
        .unwrap_or(0);
    let queued = ReviewItem {
        item,
        patient: record.patient.clone(),
        sequence: entry.sequence,
        record: record.id,
        requester: entry.requester.clone(),
        institution: member.institution.clone(),
        reason: entry.reason,
        justification: entry.justification.clone(),
        height: entry.height,
        timestamp_ms: entry.timestamp_ms,
        review: None,
    };
    rw::write(store, keys::review_item(item), &queued);
    rw::write(store, count_key, &(item + 1));
    Ok(())
}
