//! `medchain audit`: anyone checks what a node serves against the genesis alone: that a block is
//! final, that a record or consent is the ledger's, and that an access log is complete. A
//! patient's audit covers every pseudonym their seed derives (one per institution).

use crate::commands::{
    ApiArgs, IdentityArgs, TrustArgs, code_name, parse_code, parse_id, report, submit,
};
use anyhow::{Context as _, Result, bail};
use clap::Subcommand;
use commonware_cryptography::Signer as _;
use medchain_client::Client;
use medchain_state::{AccessLogEntry, ReviewItem};
use medchain_types::{
    AccountId, ConsentId, Genesis, InstitutionId, Payload, RecordId, ReviewFinding,
};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Verify that a block is final: its certificate is signed by more than 2/3 of validators.
    Block {
        #[command(flatten)]
        api: ApiArgs,
        #[arg(long)]
        height: u64,
        #[command(flatten)]
        trust: TrustArgs,
    },
    /// Verify a record's metadata with its Merkle proof against a finalized block.
    Record {
        #[command(flatten)]
        api: ApiArgs,
        #[arg(long)]
        id: String,
        #[command(flatten)]
        trust: TrustArgs,
    },
    /// Verify a consent with its Merkle proof against a finalized block.
    Consent {
        #[command(flatten)]
        api: ApiArgs,
        #[arg(long)]
        id: String,
        #[command(flatten)]
        trust: TrustArgs,
    },
    /// List every access to a patient's records, the log proven complete: one pseudonym
    /// (--patient), or all of yours (--as / --key, at every genesis institution and --institution).
    AccessLog {
        #[command(flatten)]
        api: ApiArgs,
        #[command(flatten)]
        trust: TrustArgs,
        /// One pseudonym (hex account).
        #[arg(long, conflicts_with_all = ["key", "as_name"])]
        patient: Option<String>,
        #[command(flatten)]
        identity: IdentityArgs,
        /// More institutions to derive your pseudonym at (admitted after the genesis).
        #[arg(long)]
        institution: Vec<String>,
    },
    /// The auditors' break-glass review queue, proven complete: every permitted ETREAT read
    /// with its justification, open ones first. With --item and --finding (as an auditor),
    /// records a final finding on one item.
    Review {
        #[command(flatten)]
        api: ApiArgs,
        #[command(flatten)]
        trust: TrustArgs,
        /// Also list items already reviewed.
        #[arg(long)]
        all: bool,
        /// The item to record a finding on.
        #[arg(long, requires = "finding")]
        item: Option<u64>,
        /// justified or unjustified.
        #[arg(long, requires = "item")]
        finding: Option<String>,
        /// A short note with the finding; no names or other identifiers.
        #[arg(long, requires = "item")]
        note: Option<String>,
        /// The auditor, for --item.
        #[command(flatten)]
        identity: IdentityArgs,
    },
}

/// A pseudonym to audit and where it lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pseudonym {
    pub account: AccountId,
    /// The institution it was derived for (`None` for a --patient given directly).
    pub institution: Option<InstitutionId>,
}

/// The institutions a patient's pseudonyms are derived at: the genesis's, then `extra`, once each.
pub fn institutions(genesis: &Genesis, extra: &[String]) -> Result<Vec<InstitutionId>> {
    let mut out: Vec<InstitutionId> = genesis.institutions.iter().map(|i| i.id.clone()).collect();
    for slug in extra {
        let id = InstitutionId::new(slug)?;
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

/// One printed line per access-log entry.
pub fn describe_entry(entry: &AccessLogEntry) -> String {
    format!(
        "#{} height {} {} {} purpose {} -> {} ({}){}",
        entry.sequence,
        entry.height,
        entry.requester,
        entry.record,
        code_name(&entry.purpose),
        code_name(&entry.decision),
        code_name(&entry.reason),
        if entry.break_glass {
            " BREAK-GLASS"
        } else {
            ""
        }
    )
}

pub async fn run(cmd: AuditCommand) -> Result<()> {
    match cmd {
        AuditCommand::Block { api, height, trust } => {
            let verified = trust.client(&api)?.finalized_block(height).await?;
            println!(
                "block {height} is final: digest {}, state root {}, certified by {} of {} validators",
                verified.digest, verified.state_root, verified.signers, verified.validators
            );
        }
        AuditCommand::Record { api, id, trust } => {
            let id: RecordId = parse_id(&id, "--id must be a hex record id")?;
            let client = trust.client(&api)?;
            let verified = client.record(&id).await?;
            print_verified(&verified.value, verified.height)?;
            if let Some(erasure) = &verified.value.erasure {
                let validators = client.validators().await?.value;
                println!(
                    "erased at height {}: {} of the {} current validators confirmed deleting the ciphertext",
                    erasure.requested_height,
                    erasure
                        .receipts
                        .iter()
                        .filter(|r| validators.contains(&r.validator))
                        .count(),
                    validators.len()
                );
                for receipt in &erasure.receipts {
                    println!("  receipt from {}", receipt.validator);
                }
            }
        }
        AuditCommand::Consent { api, id, trust } => {
            let id: ConsentId = parse_id(&id, "--id must be a hex consent id")?;
            let verified = trust.client(&api)?.consent(&id).await?;
            print_verified(&verified.value, verified.height)?;
        }
        AuditCommand::AccessLog {
            api,
            trust,
            patient,
            identity,
            institution,
        } => {
            let client = trust.client(&api)?;
            let pseudonyms = match patient {
                Some(hex) => vec![Pseudonym {
                    account: parse_id(&hex, "--patient must be a hex pseudonym")?,
                    institution: None,
                }],
                None => {
                    let genesis = medchain_node::config::load_genesis(&trust.genesis)?;
                    let identity = identity.load().context(
                        "say whose log to audit: --patient PSEUDONYM, or --as NAME / --key FILE for all of yours",
                    )?;
                    institutions(&genesis, &institution)?
                        .into_iter()
                        .map(|at| {
                            let keys = identity.keys_at(&at)?;
                            Ok(Pseudonym {
                                account: AccountId::from(keys.signing.public_key()),
                                institution: Some(at),
                            })
                        })
                        .collect::<Result<_>>()?
                }
            };
            audit_access_logs(&client, &pseudonyms).await?;
        }
        AuditCommand::Review {
            api,
            trust,
            all,
            item,
            finding,
            note,
            identity,
        } => {
            let client = trust.client(&api)?;
            match (item, finding) {
                (Some(item), Some(finding)) => {
                    let keys = identity.load()?.member_keys()?;
                    let payload = Payload::ReviewBreakGlass {
                        item,
                        finding: parse_code::<ReviewFinding>("finding", &finding)?,
                        note,
                    };
                    report(&submit(&client, &keys.signing, payload).await?)?;
                }
                _ => print_review_queue(&client, all).await?,
            }
        }
    }
    Ok(())
}

/// One printed line per review item.
pub fn describe_review(item: &ReviewItem) -> String {
    let status = match &item.review {
        None => "OPEN".to_string(),
        Some(review) => format!(
            "{} by {} at height {}{}",
            code_name(&review.finding),
            review.auditor,
            review.height,
            review
                .note
                .as_deref()
                .map_or(String::new(), |n| format!(": {n}"))
        ),
    };
    format!(
        "item {} [{status}] height {} {} at {} read {} of patient {} (access log #{}): \"{}\"",
        item.item,
        item.height,
        item.requester,
        item.institution,
        item.record,
        item.patient,
        item.sequence,
        item.justification.as_deref().unwrap_or("")
    )
}

async fn print_review_queue(client: &Client, all: bool) -> Result<()> {
    let queue = client.review_queue().await?;
    let open = queue.value.iter().filter(|i| i.review.is_none()).count();
    for item in queue.value.iter().filter(|i| all || i.review.is_none()) {
        println!("{}", describe_review(item));
    }
    println!(
        "{open} open of {} break-glass reads, the queue proven complete at finalized block {}{}",
        queue.value.len(),
        queue.height,
        if all || open == queue.value.len() {
            ""
        } else {
            " (--all lists the reviewed ones too)"
        }
    );
    Ok(())
}

fn print_verified<T: serde::Serialize>(value: &T, height: u64) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    println!("verified: proven in the state of finalized block {height}");
    Ok(())
}

/// Prints every pseudonym's complete log. A pseudonym derived at an institution where the
/// patient never registered has no log; a node could also claim that of a registered one, so
/// it is printed as the node's unproven claim.
async fn audit_access_logs(client: &Client, pseudonyms: &[Pseudonym]) -> Result<()> {
    let mut total = 0;
    let mut audited = 0;
    for pseudonym in pseudonyms {
        let at = pseudonym
            .institution
            .as_ref()
            .map_or(String::new(), |i| format!(" at {}", i.as_str()));
        if pseudonym.institution.is_some() {
            match client.pseudonym(&pseudonym.account).await {
                Ok(_) => {}
                Err(medchain_client::ClientError::Api { status: 404, .. }) => {
                    println!(
                        "{}{at}: not registered, says the node (absence cannot be proven; ask another node to be sure)",
                        pseudonym.account
                    );
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
        }
        let log = client.access_log(&pseudonym.account).await?;
        println!("{}{at}:", pseudonym.account);
        for entry in &log.value {
            println!("  {}", describe_entry(entry));
        }
        println!(
            "  {} accesses, the log proven complete at finalized block {}",
            log.value.len(),
            log.height
        );
        total += log.value.len();
        audited += 1;
    }
    if audited == 0 {
        bail!("no registered pseudonym to audit");
    }
    println!("{total} accesses across {audited} pseudonyms, every log proven complete");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use medchain_state::AccessReason;
    use medchain_types::{TxHash, codes::Purpose};

    #[test]
    fn a_patients_audit_covers_every_genesis_institution_and_the_extra_ones_once() {
        let genesis = medchain_verify::finality::fixtures::genesis("audit", 4, 10);
        let all = institutions(&genesis, &["lab-north".into(), "st-mary".into()]).unwrap();
        assert_eq!(
            all,
            vec![
                InstitutionId::new("st-mary").unwrap(),
                InstitutionId::new("lab-north").unwrap()
            ]
        );
        assert!(institutions(&genesis, &["Not A Slug".into()]).is_err());
    }

    #[test]
    fn a_break_glass_entry_is_marked() {
        let entry = AccessLogEntry {
            sequence: 2,
            record: RecordId([1; 32]),
            requester: AccountId::from(
                commonware_cryptography::ed25519::PrivateKey::from_seed(1).public_key(),
            ),
            purpose: Purpose::Etreat,
            decision: AccessReason::BreakGlass.decision(),
            reason: AccessReason::BreakGlass,
            consent: None,
            break_glass: true,
            justification: None,
            height: 9,
            timestamp_ms: 5,
            tx_hash: TxHash([6; 32]),
            policy_reasons: vec![],
        };
        let line = describe_entry(&entry);
        assert!(line.starts_with("#2 height 9 "), "{line}");
        assert!(
            line.ends_with("purpose ETREAT -> permit (break_glass) BREAK-GLASS"),
            "{line}"
        );
    }
}
