//! `medchain access request`: a member asks to read a record; the ledger decides and logs the
//! request, and the CLI shows the decision as it stands in the patient's proven access log.

use crate::commands::{
    ApiArgs, IdentityArgs, TrustArgs, code_name, parse_code, parse_id, report, submit,
};
use anyhow::{Result, bail};
use clap::Subcommand;
use medchain_client::Client;
use medchain_state::AccessLogEntry;
use medchain_types::{Payload, RecordId, codes::Purpose, limits};

#[derive(Subcommand)]
pub enum AccessCommand {
    /// Request access to a record; the ledger decides and logs the request.
    Request {
        #[command(flatten)]
        identity: IdentityArgs,
        #[command(flatten)]
        api: ApiArgs,
        #[command(flatten)]
        trust: TrustArgs,
        #[arg(long)]
        record: String,
        #[arg(long, default_value = "treat")]
        purpose: String,
        /// Break-glass justification (purpose etreat); must not contain identifiers.
        #[arg(long)]
        justification: Option<String>,
    },
}

pub async fn run(cmd: AccessCommand) -> Result<()> {
    let AccessCommand::Request {
        identity,
        api,
        trust,
        record,
        purpose,
        justification,
    } = cmd;
    let identity = identity.load()?;
    let keys = identity.member_keys()?;
    let client = trust.client(&api)?;
    let record: RecordId = parse_id(&record, "--record must be a hex record id")?;
    let payload = Payload::RequestAccess {
        record,
        purpose: parse_code::<Purpose>("purpose", &purpose)?,
        justification,
    };
    let outcome = submit(&client, &keys.signing, payload).await?;
    report(&outcome)?;
    if outcome.status == medchain_types::api::TxState::Committed {
        let decided = decision(&client, &record, &outcome.hash).await?;
        println!("{}", describe_decision(&decided));
    }
    Ok(())
}

/// The ledger's decision on a committed request, found in the newest page of the patient's
/// access log (proven complete, so "not there" means the node hides it).
async fn decision(client: &Client, record: &RecordId, tx_hash: &str) -> Result<AccessLogEntry> {
    let patient = client.record(record).await?.value.patient;
    let first = client.access_log_page(&patient, 0, 0).await?;
    let page_max = limits::ACCESS_LOG_PAGE_MAX_ENTRIES as u64;
    let newest = if first.value.count > page_max {
        let from = first.value.count - page_max;
        client
            .access_log_page(&patient, from, first.value.count)
            .await?
            .value
    } else {
        first.value
    };
    match newest
        .entries
        .into_iter()
        .find(|e| e.tx_hash.to_string() == tx_hash)
    {
        Some(entry) => Ok(entry),
        None => bail!(
            "the access request committed but is not in the patient's proven access log; the node may be behind: retry, or ask another node"
        ),
    }
}

/// One line: the decision, why (with the consortium policies that forbade it), and the
/// break-glass flag.
pub fn describe_decision(entry: &AccessLogEntry) -> String {
    let policies = if entry.policy_reasons.is_empty() {
        String::new()
    } else {
        format!(
            ", forbidden by consortium policy {}",
            entry.policy_reasons.join(", ")
        )
    };
    format!(
        "decision: {} ({}){policies}{}",
        code_name(&entry.decision),
        code_name(&entry.reason),
        if entry.break_glass {
            ", break-glass: flagged for review"
        } else {
            ""
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_cryptography::Signer as _;
    use medchain_state::AccessReason;
    use medchain_types::{AccountId, TxHash, codes::Decision};

    fn entry(reason: AccessReason, break_glass: bool) -> AccessLogEntry {
        AccessLogEntry {
            sequence: 0,
            record: RecordId([1; 32]),
            requester: AccountId::from(
                commonware_cryptography::ed25519::PrivateKey::from_seed(1).public_key(),
            ),
            purpose: Purpose::Etreat,
            decision: reason.decision(),
            reason,
            consent: None,
            break_glass,
            justification: None,
            height: 4,
            timestamp_ms: 5,
            tx_hash: TxHash([6; 32]),
            policy_reasons: vec![],
        }
    }

    #[test]
    fn a_break_glass_permit_says_it_is_flagged() {
        let permit = entry(AccessReason::BreakGlass, true);
        assert_eq!(permit.decision, Decision::Permit);
        assert_eq!(
            describe_decision(&permit),
            "decision: permit (break_glass), break-glass: flagged for review"
        );
        assert_eq!(
            describe_decision(&entry(AccessReason::NoConsent, false)),
            "decision: deny (no_consent)"
        );
    }

    #[test]
    fn a_consortium_policy_denial_names_the_policies_that_forbade_it() {
        let mut denied = entry(AccessReason::ConsortiumPolicy, false);
        denied.policy_reasons = vec![
            "break-glass-only-for-clinicians".into(),
            "researchers-never-read-raw-records".into(),
        ];
        assert_eq!(
            describe_decision(&denied),
            "decision: deny (consortium_policy), forbidden by consortium policy break-glass-only-for-clinicians, researchers-never-read-raw-records"
        );
    }
}
