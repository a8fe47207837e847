//! `medchain consent`: a patient grants, refuses or revokes access to their records, and sets
//! break-glass access. The policy is built from the flags by a pure function; a permit then
//! carries re-encryption key fragments for its person grantee, sealed to the validators, and
//! every key and count they are made from is a proven ledger value (the grantee's member entry,
//! the current validator set), never a node's unproven answer.

use crate::commands::{ApiArgs, IdentityArgs, TrustArgs, parse_code, parse_id, report, submit};
use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use commonware_cryptography::Signer as _;
use medchain_client::Client;
use medchain_types::{
    AccountId, ConsentId, InstitutionId, Payload,
    api::TxState,
    codes::{ConsentAction, Decision, Purpose, RecordCategory, Role},
    consent::{ConsentActor, ConsentPolicy, DataScope, Period},
};

/// How long before "now" a consent starts, so a grantee whose clock is slightly behind the
/// ledger's can use it at once.
const CONSENT_START_BACKDATE_MS: u64 = 60_000;
const DAY_MS: u64 = 86_400_000;

#[derive(Subcommand)]
pub enum ConsentCommand {
    /// Grant (or, with --deny, refuse) access to your records at one institution.
    Grant {
        #[command(flatten)]
        identity: IdentityArgs,
        #[command(flatten)]
        api: ApiArgs,
        #[command(flatten)]
        trust: TrustArgs,
        /// The institution whose pseudonym grants.
        #[arg(long)]
        institution: String,
        #[command(flatten)]
        spec: GrantSpec,
    },
    /// Show a consent as the ledger proves it, and how many validators still hold its key
    /// fragments (a read needs the threshold).
    Show {
        #[command(flatten)]
        api: ApiArgs,
        #[command(flatten)]
        trust: TrustArgs,
        /// The consent id (hex), as `consent grant` printed it.
        consent: String,
    },
    /// Revoke a consent you granted.
    Revoke {
        #[command(flatten)]
        identity: IdentityArgs,
        #[command(flatten)]
        api: ApiArgs,
        #[arg(long)]
        institution: String,
        #[arg(long)]
        consent: String,
    },
    /// Make a permit's key fragments anew for the current validators (after governance changed
    /// the set): the consent commits to the new ones and each validator takes its own.
    Reissue {
        #[command(flatten)]
        identity: IdentityArgs,
        #[command(flatten)]
        api: ApiArgs,
        #[command(flatten)]
        trust: TrustArgs,
        /// The institution of the pseudonym that granted it.
        #[arg(long)]
        institution: String,
        consent: String,
    },
    /// Allow (or stop allowing) break-glass emergency access by an institution's clinicians:
    /// sets the ledger's flag and delegates key fragments to the institution's emergency key
    /// service (or revokes that delegation), so a flagged read can release the record's key.
    Emergency {
        #[command(flatten)]
        identity: IdentityArgs,
        #[command(flatten)]
        api: ApiArgs,
        #[command(flatten)]
        trust: TrustArgs,
        /// The institution whose pseudonym sets the flag, and whose clinicians it concerns.
        #[arg(long)]
        institution: String,
        #[arg(long)]
        disable: bool,
    },
}

/// Who a consent is for, for what, and how long: the flags of `consent grant`.
#[derive(Args, Clone, Debug, Default)]
pub struct GrantSpec {
    /// A person (hex account) allowed.
    #[arg(long)]
    pub grantee: Vec<String>,
    /// An institution whose members are allowed.
    #[arg(long)]
    pub grantee_institution: Vec<String>,
    /// A role allowed (clinician, researcher, auditor), at --institution's peers or anywhere.
    #[arg(long)]
    pub grantee_role: Vec<String>,
    /// Purposes of use (treat, etreat, hresch, ...).
    #[arg(long, required = true)]
    pub purpose: Vec<String>,
    /// Limit to categories (default: all records).
    #[arg(long)]
    pub category: Vec<String>,
    /// Limit to record ids.
    #[arg(long, conflicts_with = "category")]
    pub record: Vec<String>,
    /// Days the consent lasts.
    #[arg(long, default_value_t = 365)]
    pub days: u64,
    /// Record a refusal instead of a permission.
    #[arg(long)]
    pub deny: bool,
}

impl GrantSpec {
    fn actors(&self) -> Result<Vec<ConsentActor>> {
        let mut actors = Vec::new();
        for g in &self.grantee {
            actors.push(ConsentActor::Person(parse_id(
                g,
                "--grantee must be a hex account",
            )?));
        }
        for i in &self.grantee_institution {
            actors.push(ConsentActor::Institution(InstitutionId::new(i)?));
        }
        for r in &self.grantee_role {
            let (role, at) = match r.split_once('@') {
                Some((role, at)) => (role.to_string(), Some(InstitutionId::new(at)?)),
                None => (r.clone(), None),
            };
            actors.push(ConsentActor::Role {
                institution: at,
                role: parse_code::<Role>("role", &role)?,
            });
        }
        if actors.is_empty() {
            bail!(
                "name who the consent is for: --grantee, --grantee-institution or --grantee-role"
            );
        }
        Ok(actors)
    }

    fn data(&self) -> Result<DataScope> {
        Ok(if !self.record.is_empty() {
            DataScope::Records(
                self.record
                    .iter()
                    .map(|r| parse_id(r, "--record must be a hex record id"))
                    .collect::<Result<_>>()?,
            )
        } else if !self.category.is_empty() {
            DataScope::Categories(
                self.category
                    .iter()
                    .map(|c| parse_code::<RecordCategory>("record category", c))
                    .collect::<Result<_>>()?,
            )
        } else {
            DataScope::All
        })
    }

    /// The policy these flags state, starting at `now_ms` (the user's clock).
    pub fn policy(&self, now_ms: u64) -> Result<ConsentPolicy> {
        let purposes = self
            .purpose
            .iter()
            .map(|p| parse_code::<Purpose>("purpose", p))
            .collect::<Result<_>>()?;
        Ok(ConsentPolicy {
            decision: if self.deny {
                Decision::Deny
            } else {
                Decision::Permit
            },
            actors: self.actors()?,
            actions: vec![ConsentAction::Access],
            purposes,
            period: Period {
                start_ms: now_ms.saturating_sub(CONSENT_START_BACKDATE_MS),
                end_ms: now_ms.saturating_add(self.days.saturating_mul(DAY_MS)),
            },
            data: self.data()?,
            exceptions: Vec::new(),
        })
    }
}

/// The person a policy's key fragments are made for: its first person grantee for a permit,
/// nobody for a deny (which releases nothing).
pub fn fragment_grantee(policy: &ConsentPolicy) -> Result<Option<AccountId>> {
    if policy.decision == Decision::Deny {
        return Ok(None);
    }
    match policy.actors.iter().find_map(|a| match a {
        ConsentActor::Person(p) => Some(p.clone()),
        _ => None,
    }) {
        Some(grantee) => Ok(Some(grantee)),
        None => bail!(
            "a permit needs a --grantee person to release keys to (roles and institutions may be added beside it)"
        ),
    }
}

fn now_ms() -> Result<u64> {
    Ok(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as u64)
}

pub async fn run(cmd: ConsentCommand) -> Result<()> {
    match cmd {
        ConsentCommand::Grant {
            identity,
            api,
            trust,
            institution,
            spec,
        } => {
            let identity = identity.load()?;
            let keys = identity.keys_at(&InstitutionId::new(&institution)?)?;
            let policy = spec.policy(now_ms()?)?;
            let client = trust.client(&api)?;
            let granted = grant(&client, &keys, policy).await?;
            report(&granted.outcome)?;
            if granted.outcome.status != TxState::Committed {
                return Ok(());
            }
            println!("consent id: {}", granted.consent);
            if let Some(fragments) = granted.fragments {
                println!(
                    "key fragments held by {} of {} validators ({} needed for a read)",
                    fragments.held, fragments.sealed, fragments.threshold
                );
                if fragments.held < fragments.threshold {
                    bail!(
                        "too few validators took their key fragment, so the grantee cannot read yet; revoke consent {} and grant again once the validators are reachable",
                        granted.consent
                    );
                }
            }
            Ok(())
        }
        ConsentCommand::Show {
            api,
            trust,
            consent,
        } => {
            let client = trust.client(&api)?;
            let id: ConsentId = parse_id(&consent, "the consent id must be hex")?;
            let entry = client.consent(&id).await?;
            let consent = &entry.value;
            println!("consent {id} (proven at height {})", entry.height);
            println!("  patient:  {}", consent.patient);
            println!(
                "  decision: {:?}, purposes {:?}, data {:?}",
                consent.policy.decision, consent.policy.purposes, consent.policy.data
            );
            println!("  granted at height {}", consent.granted_height);
            match consent.revoked_height {
                Some(height) => println!("  revoked at height {height}"),
                None => println!("  in force"),
            }
            if consent.policy.decision == Decision::Permit {
                let validators = crate::sharing::validators(&client).await?.value;
                let (held, committed) = client.fragment_holders(&validators, consent).await;
                println!(
                    "  key fragments: {held} of {committed} holders still hold theirs ({} needed for a read)",
                    consent.threshold
                );
                let uncovered = validators
                    .validators
                    .iter()
                    .filter(|v| !consent.fragments.iter().any(|c| c.validator == v.account))
                    .count();
                if uncovered > 0 {
                    println!(
                        "  the validator set changed since the grant ({uncovered} current validators hold no fragment): the patient runs `medchain consent reissue {id}`"
                    );
                } else if held < committed {
                    println!(
                        "  {} holders did not answer or lost their fragment; if that lasts, the patient runs `medchain consent reissue {id}`",
                        committed - held
                    );
                }
            }
            Ok(())
        }
        ConsentCommand::Revoke {
            identity,
            api,
            institution,
            consent,
        } => {
            let identity = identity.load()?;
            let keys = identity.keys_at(&InstitutionId::new(&institution)?)?;
            let client = Client::new(&api.api)?;
            let payload = Payload::RevokeConsent {
                consent: parse_id(&consent, "--consent must be a hex consent id")?,
            };
            report(&submit(&client, &keys.signing, payload).await?)
        }
        ConsentCommand::Reissue {
            identity,
            api,
            trust,
            institution,
            consent,
        } => {
            let keys = identity
                .load()?
                .keys_at(&InstitutionId::new(&institution)?)?;
            let client = trust.client(&api)?;
            let id: ConsentId = parse_id(&consent, "the consent id must be hex")?;
            let fragments = reissue(&client, &keys, &id).await?;
            println!(
                "key fragments held by {} of {} validators ({} needed for a read)",
                fragments.held, fragments.sealed, fragments.threshold
            );
            if fragments.held < fragments.threshold {
                bail!(
                    "too few validators took their new key fragment; run `consent reissue` again once they are reachable"
                );
            }
            Ok(())
        }
        ConsentCommand::Emergency {
            identity,
            api,
            trust,
            institution,
            disable,
        } => {
            let identity = identity.load()?;
            let institution = InstitutionId::new(&institution)?;
            let keys = identity.keys_at(&institution)?;
            let client = trust.client(&api)?;
            if disable {
                disable_emergency(&client, &keys, &institution).await
            } else {
                let delegated = enable_emergency(&client, &keys, &institution).await?;
                println!(
                    "emergency access for {institution}: enabled, key fragments delegated to its emergency key service under consent {}",
                    delegated.consent
                );
                if let Some(f) = delegated.fragments {
                    println!(
                        "key fragments held by {} of {} validators ({} needed for a read)",
                        f.held, f.sealed, f.threshold
                    );
                }
                Ok(())
            }
        }
    }
}

/// How long an emergency delegation lasts before the patient renews it.
const EMERGENCY_DELEGATION_DAYS: u64 = 365;

/// The patient's unrevoked ETREAT permits whose grantee is `service`.
async fn delegations_to(
    client: &Client,
    patient: &AccountId,
    service: &AccountId,
) -> Result<Vec<ConsentId>> {
    let consents = match client.patient_consents(patient).await {
        Ok(consents) => consents.value.consents,
        // Never granted anything: no index yet (absence is unproven, and the worst a lying node
        // gets from it is a second delegation).
        Err(medchain_client::ClientError::Api { status: 404, .. }) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    let mut found = Vec::new();
    for id in consents {
        let consent = client.consent(&id).await?.value;
        if consent.delegates_emergency_to(service) {
            found.push(id);
        }
    }
    Ok(found)
}

/// The institution's emergency key service, proven, or what to do without one.
async fn emergency_service(client: &Client, institution: &InstitutionId) -> Result<AccountId> {
    Ok(client
        .emergency_service(institution)
        .await
        .with_context(|| {
            format!(
                "{institution} has no emergency key service on the ledger (its admin registers a member with role emergency_service); break-glass reads there cannot release keys"
            )
        })?
        .value
        .account)
}

/// Enables emergency access for `institution` on the ledger and delegates key fragments to its
/// emergency key service (an ETREAT permit for the service, all records), unless an unrevoked
/// delegation already exists.
pub async fn enable_emergency(
    client: &Client,
    keys: &medchain_crypto::keys::PseudonymKeys,
    institution: &InstitutionId,
) -> Result<Granted> {
    let service = emergency_service(client, institution).await?;
    let flag = Payload::SetEmergencyAccess {
        institution: institution.clone(),
        enabled: true,
    };
    let outcome = submit(client, &keys.signing, flag).await?;
    if outcome.status != TxState::Committed {
        report(&outcome)?;
        bail!("emergency access was not enabled; nothing was delegated");
    }
    let patient = AccountId::from(keys.signing.public_key());
    if let Some(existing) = delegations_to(client, &patient, &service).await?.first() {
        return Ok(Granted {
            outcome,
            consent: *existing,
            fragments: None,
        });
    }
    let spec = GrantSpec {
        grantee: vec![service.to_string()],
        purpose: vec!["etreat".into()],
        days: EMERGENCY_DELEGATION_DAYS,
        ..GrantSpec::default()
    };
    let granted = grant(client, keys, spec.policy(now_ms()?)?).await?;
    if granted.outcome.status != TxState::Committed {
        report(&granted.outcome)?;
        bail!(
            "emergency access is enabled but the delegation to the emergency service was not committed; run the command again"
        );
    }
    Ok(granted)
}

/// Stops emergency access for `institution` and revokes every delegation to its service, so
/// validators delete those fragments.
async fn disable_emergency(
    client: &Client,
    keys: &medchain_crypto::keys::PseudonymKeys,
    institution: &InstitutionId,
) -> Result<()> {
    let flag = Payload::SetEmergencyAccess {
        institution: institution.clone(),
        enabled: false,
    };
    report(&submit(client, &keys.signing, flag).await?)?;
    let patient = AccountId::from(keys.signing.public_key());
    let Ok(service) = emergency_service(client, institution).await else {
        return Ok(());
    };
    for consent in delegations_to(client, &patient, &service).await? {
        let revoke = Payload::RevokeConsent { consent };
        report(&submit(client, &keys.signing, revoke).await?)?;
        println!("revoked the delegation {consent} to {institution}'s emergency key service");
    }
    Ok(())
}

/// What a grant did: the transaction, the consent's id, and for a permit how many validators
/// took their key fragment.
pub struct Granted {
    pub outcome: medchain_types::api::TxStatusResponse,
    pub consent: ConsentId,
    pub fragments: Option<FragmentsHeld>,
}

pub struct FragmentsHeld {
    pub held: usize,
    pub sealed: usize,
    pub threshold: usize,
}

/// Grants `policy` as the patient pseudonym `keys` (`medchain_client::Client::grant_consent`),
/// printing why any validator did not take its fragment.
pub async fn grant(
    client: &Client,
    keys: &medchain_crypto::keys::PseudonymKeys,
    policy: ConsentPolicy,
) -> Result<Granted> {
    fragment_grantee(&policy)?;
    let grant = client.grant_consent(keys, policy).await?;
    Ok(Granted {
        outcome: grant.outcome,
        consent: grant.consent,
        fragments: grant.delivery.map(|d| fragments_held(&d)),
    })
}

/// Re-issues the fragments of the patient's permit `id` for the current (proven) validator set.
pub async fn reissue(
    client: &Client,
    keys: &medchain_crypto::keys::PseudonymKeys,
    id: &ConsentId,
) -> Result<FragmentsHeld> {
    let (outcome, delivery) = client.reissue_fragments(keys, id).await?;
    report(&outcome)?;
    match delivery {
        Some(delivery) => Ok(fragments_held(&delivery)),
        None => bail!("the re-issue was not committed; the old fragments stay in force"),
    }
}

/// Prints why any validator did not take its fragment; counts those that did.
fn fragments_held(delivery: &medchain_client::sharing::FragmentDelivery) -> FragmentsHeld {
    for (validator, outcome) in &delivery.outcomes {
        match outcome {
            Ok(true) => {}
            Ok(false) => eprintln!("validator {validator} did not keep its fragment"),
            Err(e) => eprintln!("validator {validator} did not take its fragment: {e}"),
        }
    }
    FragmentsHeld {
        held: delivery.held(),
        sealed: delivery.sealed,
        threshold: delivery.threshold,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grantee() -> AccountId {
        use commonware_cryptography::Signer as _;
        AccountId::from(commonware_cryptography::ed25519::PrivateKey::from_seed(1).public_key())
    }

    fn spec() -> GrantSpec {
        GrantSpec {
            grantee: vec![grantee().to_string()],
            purpose: vec!["treat".into()],
            days: 2,
            ..GrantSpec::default()
        }
    }

    #[test]
    fn a_grant_permits_its_grantee_for_the_days_asked_from_a_minute_ago() {
        let policy = spec().policy(10_000_000).unwrap();
        assert_eq!(policy.decision, Decision::Permit);
        assert_eq!(policy.actors, vec![ConsentActor::Person(grantee())]);
        assert_eq!(policy.purposes, vec![Purpose::Treat]);
        assert_eq!(
            policy.period,
            Period {
                start_ms: 10_000_000 - 60_000,
                end_ms: 10_000_000 + 2 * DAY_MS
            }
        );
        assert_eq!(policy.data, DataScope::All);
        assert_eq!(fragment_grantee(&policy).unwrap(), Some(grantee()));
    }

    #[test]
    fn a_deny_releases_no_fragments_and_a_permit_without_a_person_is_refused() {
        let deny = GrantSpec {
            deny: true,
            ..spec()
        };
        assert_eq!(fragment_grantee(&deny.policy(0).unwrap()).unwrap(), None);
        let roles_only = GrantSpec {
            grantee: vec![],
            grantee_role: vec!["clinician@st-mary".into()],
            ..spec()
        };
        let policy = roles_only.policy(0).unwrap();
        assert_eq!(
            policy.actors,
            vec![ConsentActor::Role {
                institution: Some(InstitutionId::new("st-mary").unwrap()),
                role: Role::Clinician
            }]
        );
        let error = fragment_grantee(&policy).unwrap_err();
        assert!(
            error.to_string().contains("needs a --grantee person"),
            "{error}"
        );
    }

    #[test]
    fn bad_flags_are_refused_with_the_flag_named() {
        let nobody = GrantSpec {
            grantee: vec![],
            ..spec()
        };
        assert!(
            nobody
                .policy(0)
                .unwrap_err()
                .to_string()
                .contains("name who the consent is for")
        );
        let bad_purpose = GrantSpec {
            purpose: vec!["shopping".into()],
            ..spec()
        };
        assert!(
            bad_purpose
                .policy(0)
                .unwrap_err()
                .to_string()
                .contains("not a known purpose")
        );
        let bad_record = GrantSpec {
            record: vec!["zz".into()],
            ..spec()
        };
        assert!(
            bad_record
                .policy(0)
                .unwrap_err()
                .to_string()
                .contains("--record")
        );
    }

    #[test]
    fn categories_limit_the_data() {
        let labs = GrantSpec {
            category: vec!["laboratory".into()],
            ..spec()
        };
        assert_eq!(
            labs.policy(0).unwrap().data,
            DataScope::Categories(vec![RecordCategory::Laboratory])
        );
    }
}
