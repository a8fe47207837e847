//! `medchain governance`: validators propose and vote on changes to the consortium (validators
//! and institutions) and to the consortium's Cedar access policy, and anyone reads a proposal or
//! the policy in force verified against the genesis.

use crate::commands::{ApiArgs, code_name, parse_code, parse_id, report, submit};
use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use medchain_client::Client;
use medchain_state::{ConsortiumPolicyEntry, ProposalEntry, ProposalStatus};
use medchain_types::{
    InstitutionId, MembershipChange, Payload, ProposalId, api::TxStatusResponse,
    codes::InstitutionKind,
};
use std::path::{Path, PathBuf};

/// How long a proposal stays open when `--ttl-blocks` is not given: long enough for operators
/// at other institutions to vote, far below the ledger's `proposal_ttl_max_blocks`.
pub const DEFAULT_PROPOSAL_TTL_BLOCKS: u64 = 10_000;

/// Who signs a governance transaction: a current validator, with its node key.
#[derive(Args, Clone)]
pub struct NodeKeyArgs {
    /// The validator's key file: `validator.key` beside its node.toml, as written by
    /// `medchain init` or `medchain join`.
    #[arg(long)]
    pub node_key: PathBuf,
}

/// What every proposal needs besides its change.
#[derive(Args, Clone)]
pub struct ProposeArgs {
    #[command(flatten)]
    pub signer: NodeKeyArgs,
    #[command(flatten)]
    pub api: ApiArgs,
    /// Blocks the proposal stays open for votes.
    #[arg(long, default_value_t = DEFAULT_PROPOSAL_TTL_BLOCKS)]
    pub ttl_blocks: u64,
}

#[derive(Subcommand)]
pub enum GovernanceCommand {
    /// Open a membership proposal as a validator; proposing counts as approving. It applies once
    /// more than 2/3 of the current validators approve.
    #[command(subcommand)]
    Propose(ProposeCommand),
    /// Approve or reject an open proposal as a validator.
    Vote {
        #[command(flatten)]
        signer: NodeKeyArgs,
        #[command(flatten)]
        api: ApiArgs,
        /// The proposal id (hex) printed by `medchain governance propose`.
        proposal: String,
        #[arg(long, required_unless_present = "reject", conflicts_with = "reject")]
        approve: bool,
        #[arg(long)]
        reject: bool,
    },
    /// Print a proposal (its change, status, votes and expiry), verified with its Merkle proof
    /// against a finalized block, trusting only the genesis.
    Show {
        /// The proposal id (hex) printed by `medchain governance propose`.
        proposal: String,
        #[command(flatten)]
        api: ApiArgs,
        /// The consortium's genesis: the only thing trusted (not the node).
        #[arg(long, default_value = ".medchain/genesis.toml")]
        genesis: PathBuf,
    },
    /// Print the consortium's Cedar policy set in force (version, since which block, the
    /// proposal that set it, the policies), verified against the genesis.
    Policy {
        #[command(flatten)]
        api: ApiArgs,
        /// The consortium's genesis: the only thing trusted (not the node).
        #[arg(long, default_value = ".medchain/genesis.toml")]
        genesis: PathBuf,
        /// Print the Cedar schema the policies are validated against, instead of the policies.
        #[arg(long)]
        schema: bool,
    },
}

#[derive(Subcommand)]
pub enum ProposeCommand {
    /// Add a validator node run by a member institution.
    AddValidator {
        #[command(flatten)]
        common: ProposeArgs,
        /// The member institution that runs the node.
        #[arg(long)]
        institution: String,
        /// The node's account (hex), as printed by `medchain join`.
        #[arg(long)]
        validator_key: String,
        /// The `ip:port` the other validators dial (its node.toml `p2p_listen`, as reachable).
        #[arg(long, value_name = "IP:PORT")]
        p2p_address: String,
        /// The `ip:port` of its HTTP API, where patients' clients reach it.
        #[arg(long, value_name = "IP:PORT")]
        http_address: String,
        /// Its X25519 key (64 hex characters), as printed by `medchain join`: patients seal the
        /// node's re-encryption key fragments to it.
        #[arg(long, value_name = "HEX")]
        encryption_key: String,
        /// The validator key's proof of possession (128 hex characters), as printed by
        /// `medchain join`.
        #[arg(long, value_name = "HEX")]
        validator_proof: String,
        /// The encryption key's proof of possession (128 hex characters), as printed by
        /// `medchain join`.
        #[arg(long, value_name = "HEX")]
        encryption_key_proof: String,
    },
    /// Remove a validator from the set.
    RemoveValidator {
        #[command(flatten)]
        common: ProposeArgs,
        /// The validator's account (hex).
        #[arg(long)]
        validator_key: String,
    },
    /// Admit a new institution with its admin account.
    AdmitInstitution {
        #[command(flatten)]
        common: ProposeArgs,
        /// The new institution's id (a slug such as north-clinic).
        #[arg(long)]
        id: String,
        /// hospital, laboratory, regulator or research_centre.
        #[arg(long)]
        kind: String,
        /// The admin's account (hex), as printed by `medchain keys generate --institution ID`.
        #[arg(long)]
        admin: String,
        /// The admin key's proof of possession (hex), as printed by `medchain keys generate
        /// --institution ID --prove-for genesis.toml` (or `keys show ... --prove-for`).
        #[arg(long, value_name = "HEX")]
        admin_proof: String,
    },
    /// Remove an institution: its members and validators stop acting.
    RemoveInstitution {
        #[command(flatten)]
        common: ProposeArgs,
        #[arg(long)]
        id: String,
    },
    /// Replace the consortium's Cedar access policy, which every read must pass after the
    /// patient's consent. Start from the one in force (`medchain governance policy > FILE`).
    ConsortiumPolicy {
        #[command(flatten)]
        common: ProposeArgs,
        /// The Cedar policy file; every policy carries a unique `@id("...")`.
        #[arg(long)]
        file: PathBuf,
        /// The schema version the policies are written for (`medchain governance policy --schema`).
        #[arg(long, default_value_t = medchain_policy::SCHEMA_VERSION)]
        schema_version: u32,
    },
}

impl ProposeCommand {
    /// The signed-to-be payload, checked by the same stateless rules the ledger applies, so a
    /// typo fails here rather than after a round trip.
    pub fn into_payload(self) -> Result<(ProposeArgs, Payload)> {
        let (common, change) = match self {
            ProposeCommand::AddValidator {
                common,
                institution,
                validator_key,
                p2p_address,
                http_address,
                encryption_key,
                validator_proof,
                encryption_key_proof,
            } => {
                let change = MembershipChange::AddValidator {
                    institution: parse_institution(&institution, "--institution")?,
                    validator: parse_id(&validator_key, "--validator-key must be a hex account")?,
                    p2p_address,
                    http_address,
                    encryption_key: parse_encryption_key(&encryption_key)?,
                    validator_proof: parse_proof(&validator_proof, "--validator-proof")?,
                    encryption_key_proof: parse_proof(
                        &encryption_key_proof,
                        "--encryption-key-proof",
                    )?,
                };
                (common, change)
            }
            ProposeCommand::RemoveValidator {
                common,
                validator_key,
            } => {
                let validator = parse_id(&validator_key, "--validator-key must be a hex account")?;
                (common, MembershipChange::RemoveValidator { validator })
            }
            ProposeCommand::AdmitInstitution {
                common,
                id,
                kind,
                admin,
                admin_proof,
            } => {
                let change = MembershipChange::AdmitInstitution {
                    id: parse_institution(&id, "--id")?,
                    kind: parse_code::<InstitutionKind>("institution kind", &kind)?,
                    admin: parse_id(&admin, "--admin must be a hex account")?,
                    admin_proof: parse_proof(&admin_proof, "--admin-proof")?,
                };
                (common, change)
            }
            ProposeCommand::RemoveInstitution { common, id } => {
                let id = parse_institution(&id, "--id")?;
                (common, MembershipChange::RemoveInstitution { id })
            }
            ProposeCommand::ConsortiumPolicy {
                common,
                file,
                schema_version,
            } => {
                let policies = std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read the policy file {}", file.display()))?;
                // The ledger validates again when proposed and when passed; this only saves a
                // round trip (and a proposal nobody can pass) for a typo.
                medchain_policy::validate(schema_version, &policies)
                    .with_context(|| format!("{} is refused", file.display()))?;
                let change = MembershipChange::SetConsortiumPolicy {
                    schema_version,
                    policies,
                };
                (common, change)
            }
        };
        let payload = Payload::ProposeMembership {
            change,
            ttl_blocks: common.ttl_blocks,
        };
        payload.validate().context("the proposal is invalid")?;
        Ok((common, payload))
    }
}

fn parse_institution(text: &str, flag: &str) -> Result<InstitutionId> {
    InstitutionId::new(text.trim()).with_context(|| format!("{flag} is not an institution id"))
}

/// The proposal a current validator runs to admit the node `medchain join` prepared; only the
/// institution (which the joining operator knows, the key files do not) is left to fill in.
pub fn add_validator_command_line(joined: &crate::join::Joined) -> String {
    format!(
        "medchain governance propose add-validator --node-key <a validator's validator.key> --institution <your institution> --validator-key {} --p2p-address {} --http-address {} --encryption-key {} --validator-proof {} --encryption-key-proof {}",
        joined.validator_key,
        joined.p2p_address,
        joined.http_address,
        joined.encryption_key,
        joined.validator_proof,
        joined.encryption_key_proof
    )
}

/// A 64-byte proof of possession as `medchain join` prints it.
fn parse_proof(text: &str, flag: &str) -> Result<[u8; 64]> {
    let text = text.trim();
    let bytes = hex::decode(text).map_err(|e| {
        anyhow::anyhow!(
            "{flag} must be hex (as `medchain join` or `keys show --prove-for` print it): {e}"
        )
    })?;
    <[u8; 64]>::try_from(bytes.as_slice()).map_err(|_| {
        anyhow::anyhow!(
            "{flag} must be 128 hex characters (64 bytes), got {} characters; copy it whole from where it was printed",
            text.len()
        )
    })
}

/// An X25519 public key as `medchain join` prints it: exactly 32 bytes in hex.
fn parse_encryption_key(text: &str) -> Result<[u8; 32]> {
    let text = text.trim();
    let bytes = hex::decode(text).map_err(|e| {
        anyhow::anyhow!("--encryption-key must be hex (as printed by `medchain join`): {e}")
    })?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
        anyhow::anyhow!(
            "--encryption-key must be 64 hex characters (32 bytes), got {} characters; copy it whole from `medchain join`",
            text.len()
        )
    })
}

pub async fn run(cmd: GovernanceCommand) -> Result<()> {
    match cmd {
        GovernanceCommand::Propose(change) => {
            let (common, payload) = change.into_payload()?;
            let outcome = submit_as_validator(&common.signer, &common.api, payload).await?;
            if outcome.status == medchain_types::api::TxState::Committed {
                let tx_hash: medchain_types::TxHash = parse_id(&outcome.hash, "malformed hash")?;
                let id = ProposalId::from_tx(&tx_hash);
                println!("proposal id: {id}");
                println!(
                    "the other validators vote with: medchain governance vote {id} --approve --node-key <their validator.key>"
                );
                println!("anyone follows it with: medchain governance show {id}");
            }
            Ok(())
        }
        GovernanceCommand::Vote {
            signer,
            api,
            proposal,
            approve,
            reject: _,
        } => {
            // clap accepts exactly one of --approve and --reject.
            let payload = Payload::Vote {
                proposal: parse_id(&proposal, "the proposal id must be 64 hex characters")?,
                approve,
            };
            submit_as_validator(&signer, &api, payload).await?;
            Ok(())
        }
        GovernanceCommand::Show {
            proposal,
            api,
            genesis,
        } => show(&api, &genesis, &proposal).await,
        GovernanceCommand::Policy {
            api,
            genesis,
            schema,
        } => show_policy(&api, &genesis, schema).await,
    }
}

fn trust_args(genesis: &Path) -> crate::commands::TrustArgs {
    crate::commands::TrustArgs {
        genesis: genesis.to_path_buf(),
        max_staleness: medchain_verify::freshness::MAX_STALENESS_DEFAULT_MS / 1000,
    }
}

/// Fetches the consortium policy with its proof, checks both against the genesis, and prints
/// it: a header on stderr, the Cedar text alone on stdout (so it can be saved, edited and
/// proposed again).
async fn show_policy(api: &ApiArgs, genesis: &Path, schema: bool) -> Result<()> {
    let verified = trust_args(genesis)
        .client(api)?
        .consortium_policy()
        .await
        .context("the node's answer does not verify against the genesis; do not trust it")?;
    eprint!("{}", describe_policy(&verified.value, verified.height));
    if schema {
        print!("{}", verified.value.schema);
    } else {
        print!("{}", verified.value.policies);
    }
    Ok(())
}

fn describe_policy(entry: &ConsortiumPolicyEntry, height: u64) -> String {
    let set_by = match &entry.proposal {
        Some(id) => format!("proposal {id}"),
        None => "the genesis (the default)".to_owned(),
    };
    format!(
        "consortium policy version {} (schema version {}), in force since height {}, set by {set_by}\nverified: proven in the state of finalized block {height}\n",
        entry.version, entry.schema_version, entry.since_height
    )
}

/// Signs with the validator's node key, submits, and fails with the ledger's reason if refused.
pub(crate) async fn submit_as_validator(
    signer: &NodeKeyArgs,
    api: &ApiArgs,
    payload: Payload,
) -> Result<TxStatusResponse> {
    let keys = medchain_node::config::load_validator_keys(&signer.node_key)
        .context("--node-key must be a validator's key file")?;
    let client = Client::new(&api.api)?;
    let outcome = submit(&client, &keys.signing, payload).await?;
    if let Some(error) = &outcome.error {
        bail!(
            "transaction {} was refused ({}): {}",
            outcome.hash,
            error.code,
            error.message
        );
    }
    report(&outcome)?;
    Ok(outcome)
}

/// Fetches a proposal with its proof, checks both against the genesis, and prints it.
async fn show(api: &ApiArgs, genesis: &Path, proposal: &str) -> Result<()> {
    let id: ProposalId = parse_id(proposal, "the proposal id must be 64 hex characters")?;
    let verified = trust_args(genesis)
        .client(api)?
        .proposal(&id)
        .await
        .context("the node's answer does not verify against the genesis; do not trust it")?;
    print!("{}", describe_proposal(&verified.value, verified.height));
    println!(
        "verified: proven in the state of finalized block {}",
        verified.height
    );
    Ok(())
}

/// What an operator needs to decide a vote, as of the block at `height`.
fn describe_proposal(entry: &ProposalEntry, height: u64) -> String {
    let status = entry.status_at(height);
    let mut text = format!("proposal:   {}\n", entry.id);
    for (i, line) in describe_change(&entry.change).iter().enumerate() {
        let label = if i == 0 { "change:" } else { "" };
        text += &format!("{label:<12}{line}\n");
    }
    text += &format!(
        "proposed:   by {} at height {}\n",
        entry.proposer, entry.created_height
    );
    let name = code_name(&status);
    text += &match entry.closed_height {
        Some(closed) => format!("status:     {name} at height {closed} (as of height {height})\n"),
        None => format!("status:     {name} (as of height {height})\n"),
    };
    for (label, voters) in [
        ("approvals:", &entry.approvals),
        ("rejections:", &entry.rejections),
    ] {
        text += &format!("{label:<12}{}\n", voters.len());
        for voter in voters.iter() {
            text += &format!("{:<12}{voter}\n", "");
        }
    }
    let expiry = match status {
        ProposalStatus::Open => "expires:    votes are accepted up to height",
        ProposalStatus::Expired => "expired:    votes were accepted up to height",
        // Closed before its expiry: the height no longer matters, but it is part of the record.
        _ => "expiry:     closed; votes would have been accepted up to height",
    };
    text += &format!("{expiry} {}\n", entry.expires_height);
    text
}

fn describe_change(change: &MembershipChange) -> Vec<String> {
    match change {
        MembershipChange::AdmitInstitution {
            id, kind, admin, ..
        } => vec![
            format!("admit institution {id} ({})", code_name(kind)),
            format!("admin {admin}"),
        ],
        MembershipChange::RemoveInstitution { id } => vec![format!("remove institution {id}")],
        MembershipChange::AddValidator {
            institution,
            validator,
            p2p_address,
            http_address,
            encryption_key,
            ..
        } => vec![
            format!("add validator {validator} run by {institution}"),
            format!("p2p address {p2p_address}, http address {http_address}"),
            format!("encryption key {}", hex::encode(encryption_key)),
        ],
        MembershipChange::RemoveValidator { validator } => {
            vec![format!("remove validator {validator}")]
        }
        // A voter approves the text itself, so it is shown whole.
        MembershipChange::SetConsortiumPolicy {
            schema_version,
            policies,
        } => std::iter::once(format!(
            "set the consortium policy (schema version {schema_version}, {} bytes):",
            policies.len()
        ))
        .chain(policies.lines().map(|line| format!("  {line}")))
        .collect(),
        MembershipChange::ApproveStudy { study } => vec![format!("approve study {study}")],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use commonware_cryptography::{Signer as _, ed25519};
    use medchain_types::AccountId;

    /// The governance subcommand alone, parsed as the `medchain` binary would.
    #[derive(Parser)]
    struct Governance {
        #[command(subcommand)]
        command: GovernanceCommand,
    }

    fn parse(args: &[&str]) -> Result<GovernanceCommand, clap::Error> {
        let argv = std::iter::once("governance").chain(args.iter().copied());
        Governance::try_parse_from(argv).map(|g| g.command)
    }

    fn account_hex(seed: u64) -> String {
        AccountId::from(ed25519::PrivateKey::from_seed(seed).public_key()).to_string()
    }

    fn propose(args: &[&str]) -> Result<Payload> {
        match parse(args)? {
            GovernanceCommand::Propose(change) => Ok(change.into_payload()?.1),
            _ => panic!("not a proposal: {args:?}"),
        }
    }

    #[test]
    fn the_governance_command_line_is_well_formed() {
        use clap::CommandFactory as _;
        Governance::command().debug_assert();
    }

    #[test]
    fn add_validator_builds_the_proposal_with_its_address_and_default_ttl() {
        let validator = account_hex(1);
        let payload = propose(&[
            "propose",
            "add-validator",
            "--node-key",
            "v.key",
            "--institution",
            "north-clinic",
            "--validator-key",
            &validator,
            "--p2p-address",
            "10.0.0.5:7100",
            "--http-address",
            "10.0.0.5:8100",
            "--encryption-key",
            &"5a".repeat(32),
            "--validator-proof",
            &"ab".repeat(64),
            "--encryption-key-proof",
            &"cd".repeat(64),
        ])
        .unwrap();
        let expected = Payload::ProposeMembership {
            change: MembershipChange::AddValidator {
                institution: InstitutionId::new("north-clinic").unwrap(),
                validator: validator.parse().unwrap(),
                p2p_address: "10.0.0.5:7100".into(),
                http_address: "10.0.0.5:8100".into(),
                encryption_key: [0x5a; 32],
                validator_proof: [0xab; 64],
                encryption_key_proof: [0xcd; 64],
            },
            ttl_blocks: DEFAULT_PROPOSAL_TTL_BLOCKS,
        };
        assert_eq!(payload, expected);
    }

    /// `add-validator` with `(flag, value)` replacing that flag's good value.
    fn add_validator_error(flag: &str, value: &str) -> String {
        let validator = account_hex(1);
        let key = "5a".repeat(32);
        let proof = "ab".repeat(64);
        let mut args = vec![
            "propose",
            "add-validator",
            "--node-key",
            "v.key",
            "--institution",
            "north-clinic",
        ];
        for (name, good) in [
            ("--validator-key", validator.as_str()),
            ("--p2p-address", "10.0.0.5:7100"),
            ("--http-address", "10.0.0.5:8100"),
            ("--encryption-key", key.as_str()),
            ("--validator-proof", proof.as_str()),
            ("--encryption-key-proof", proof.as_str()),
        ] {
            args.extend([name, if name == flag { value } else { good }]);
        }
        format!("{:#}", propose(&args).unwrap_err())
    }

    #[test]
    fn add_validator_with_a_bad_key_or_address_fails_before_signing() {
        let bad_key = add_validator_error("--validator-key", "zz");
        assert!(
            bad_key.starts_with("--validator-key must be a hex account"),
            "{bad_key}"
        );
        let host = add_validator_error("--p2p-address", "node-1:7100");
        assert!(
            host.starts_with("the proposal is invalid: p2p_address \"node-1:7100\" is not ip:port"),
            "{host}"
        );
        let padded = add_validator_error("--p2p-address", "10.0.0.5:07100");
        assert!(padded.ends_with("write it as 10.0.0.5:7100"), "{padded}");
        let http = add_validator_error("--http-address", "0.0.0.0:8100");
        assert!(
            http.starts_with(
                "the proposal is invalid: http_address \"0.0.0.0:8100\" cannot be dialed"
            ),
            "{http}"
        );
    }

    #[test]
    fn an_encryption_key_that_is_not_64_hex_characters_is_refused_with_its_length() {
        assert_eq!(
            add_validator_error("--encryption-key", &"5a".repeat(31)),
            "--encryption-key must be 64 hex characters (32 bytes), got 62 characters; copy it whole from `medchain join`"
        );
        assert_eq!(
            add_validator_error("--encryption-key", &"5a".repeat(33)),
            "--encryption-key must be 64 hex characters (32 bytes), got 66 characters; copy it whole from `medchain join`"
        );
        let not_hex = add_validator_error("--encryption-key", &"zz".repeat(32));
        assert!(
            not_hex.starts_with("--encryption-key must be hex (as printed by `medchain join`)"),
            "{not_hex}"
        );
    }

    #[test]
    fn add_validator_requires_the_http_address_encryption_key_and_proofs() {
        let validator = account_hex(1);
        let without = |skipped: &str| {
            let mut args = vec![
                "propose",
                "add-validator",
                "--node-key",
                "v.key",
                "--institution",
                "north-clinic",
                "--validator-key",
                validator.as_str(),
                "--p2p-address",
                "10.0.0.5:7100",
            ];
            if skipped != "--http-address" {
                args.extend(["--http-address", "10.0.0.5:8100"]);
            }
            for flag in [
                "--encryption-key",
                "--validator-proof",
                "--encryption-key-proof",
            ] {
                if skipped != flag {
                    args.extend([flag, "00"]);
                }
            }
            parse(&args).err().map(|e| e.kind())
        };
        for flag in [
            "--http-address",
            "--encryption-key",
            "--validator-proof",
            "--encryption-key-proof",
        ] {
            assert_eq!(
                without(flag),
                Some(clap::error::ErrorKind::MissingRequiredArgument),
                "{flag}"
            );
        }
    }

    #[test]
    fn the_line_printed_by_join_proposes_exactly_the_joined_node() {
        let joined = crate::join::Joined {
            validator_key: account_hex(7),
            encryption_key: "c3".repeat(32),
            validator_proof: "ab".repeat(64),
            encryption_key_proof: "cd".repeat(64),
            p2p_address: "10.0.0.7:7100".parse().unwrap(),
            http_address: "10.0.0.7:8100".parse().unwrap(),
            config: PathBuf::from("north/node.toml"),
        };
        let line = add_validator_command_line(&joined)
            .replace("<a validator's validator.key>", "v.key")
            .replace("<your institution>", "north-clinic");
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words[..2], ["medchain", "governance"]);
        assert_eq!(
            propose(&words[2..]).unwrap(),
            Payload::ProposeMembership {
                change: MembershipChange::AddValidator {
                    institution: InstitutionId::new("north-clinic").unwrap(),
                    validator: joined.validator_key.parse().unwrap(),
                    p2p_address: "10.0.0.7:7100".into(),
                    http_address: "10.0.0.7:8100".into(),
                    encryption_key: [0xc3; 32],
                    validator_proof: [0xab; 64],
                    encryption_key_proof: [0xcd; 64],
                },
                ttl_blocks: DEFAULT_PROPOSAL_TTL_BLOCKS,
            }
        );
    }

    #[test]
    fn a_ttl_over_the_ledger_limit_is_refused_locally() {
        let validator = account_hex(1);
        let ttl = (medchain_types::limits::PROPOSAL_TTL_MAX_BLOCKS + 1).to_string();
        let error = propose(&[
            "propose",
            "remove-validator",
            "--node-key",
            "v.key",
            "--validator-key",
            &validator,
            "--ttl-blocks",
            &ttl,
        ])
        .unwrap_err();
        assert!(
            format!("{error:#}").contains("proposal_ttl_max_blocks exceeded"),
            "{error:#}"
        );
    }

    #[test]
    fn admit_and_remove_institution_build_their_changes() {
        let admin = account_hex(2);
        let admit = propose(&[
            "propose",
            "admit-institution",
            "--node-key",
            "v.key",
            "--id",
            "north-clinic",
            "--kind",
            "research_centre",
            "--admin",
            &admin,
            "--admin-proof",
            &"cd".repeat(64),
            "--ttl-blocks",
            "50",
        ])
        .unwrap();
        assert_eq!(
            admit,
            Payload::ProposeMembership {
                change: MembershipChange::AdmitInstitution {
                    id: InstitutionId::new("north-clinic").unwrap(),
                    kind: InstitutionKind::ResearchCentre,
                    admin: admin.parse().unwrap(),
                    admin_proof: [0xcd; 64],
                },
                ttl_blocks: 50,
            }
        );
        let remove = propose(&[
            "propose",
            "remove-institution",
            "--node-key",
            "v.key",
            "--id",
            "north-clinic",
        ])
        .unwrap();
        assert_eq!(
            remove,
            Payload::ProposeMembership {
                change: MembershipChange::RemoveInstitution {
                    id: InstitutionId::new("north-clinic").unwrap(),
                },
                ttl_blocks: DEFAULT_PROPOSAL_TTL_BLOCKS,
            }
        );
    }

    #[test]
    fn a_vote_takes_exactly_one_of_approve_and_reject() {
        let id = "ab".repeat(32);
        let vote = |flags: &[&str]| {
            let mut args = vec!["vote", "--node-key", "v.key", id.as_str()];
            args.extend_from_slice(flags);
            parse(&args)
        };
        match vote(&["--reject"]).unwrap() {
            GovernanceCommand::Vote {
                approve, proposal, ..
            } => assert_eq!((approve, proposal.as_str()), (false, id.as_str())),
            _ => panic!("not a vote"),
        }
        assert_eq!(
            vote(&[]).err().map(|e| e.kind()),
            Some(clap::error::ErrorKind::MissingRequiredArgument)
        );
        assert_eq!(
            vote(&["--approve", "--reject"]).err().map(|e| e.kind()),
            Some(clap::error::ErrorKind::ArgumentConflict)
        );
    }

    #[test]
    fn show_takes_the_proposal_id_and_optional_api_and_genesis() {
        let id = "ab".repeat(32);
        match parse(&["show", &id, "--api", "http://10.0.0.5:8100"]).unwrap() {
            GovernanceCommand::Show {
                proposal,
                api,
                genesis,
            } => assert_eq!(
                (proposal.as_str(), api.api.as_str(), genesis),
                (
                    id.as_str(),
                    "http://10.0.0.5:8100",
                    PathBuf::from(".medchain/genesis.toml")
                )
            ),
            _ => panic!("not show"),
        }
        assert_eq!(
            parse(&["show"]).err().map(|e| e.kind()),
            Some(clap::error::ErrorKind::MissingRequiredArgument)
        );
    }

    fn proposal_entry(change: MembershipChange) -> ProposalEntry {
        ProposalEntry {
            id: ProposalId([0xab; 32]),
            proposer: account_hex(1).parse().unwrap(),
            change,
            created_height: 12,
            expires_height: 112,
            approvals: vec![
                account_hex(1).parse().unwrap(),
                account_hex(2).parse().unwrap(),
            ],
            rejections: vec![],
            status: ProposalStatus::Open,
            closed_height: None,
        }
    }

    #[test]
    fn show_prints_an_open_add_validator_with_its_addresses_key_votes_and_expiry() {
        let entry = proposal_entry(MembershipChange::AddValidator {
            institution: InstitutionId::new("north-clinic").unwrap(),
            validator: account_hex(7).parse().unwrap(),
            p2p_address: "10.0.0.7:7100".into(),
            http_address: "10.0.0.7:8100".into(),
            encryption_key: [0xc3; 32],
            validator_proof: [0xab; 64],
            encryption_key_proof: [0xcd; 64],
        });
        let expected = format!(
            "proposal:   {id}\n\
             change:     add validator {v7} run by north-clinic\n\
             \x20           p2p address 10.0.0.7:7100, http address 10.0.0.7:8100\n\
             \x20           encryption key {key}\n\
             proposed:   by {v1} at height 12\n\
             status:     open (as of height 40)\n\
             approvals:  2\n\
             \x20           {v1}\n\
             \x20           {v2}\n\
             rejections: 0\n\
             expires:    votes are accepted up to height 112\n",
            id = "ab".repeat(32),
            v1 = account_hex(1),
            v2 = account_hex(2),
            v7 = account_hex(7),
            key = "c3".repeat(32),
        );
        assert_eq!(describe_proposal(&entry, 40), expected);
    }

    #[test]
    fn show_reports_an_open_proposal_past_its_expiry_as_expired_and_a_closed_one_with_its_height() {
        let mut entry = proposal_entry(MembershipChange::RemoveValidator {
            validator: account_hex(3).parse().unwrap(),
        });
        let expired = describe_proposal(&entry, 113);
        assert!(
            expired.contains("status:     expired (as of height 113)\n"),
            "{expired}"
        );
        assert!(
            expired.ends_with("expired:    votes were accepted up to height 112\n"),
            "{expired}"
        );
        entry.status = ProposalStatus::Applied;
        entry.closed_height = Some(20);
        let applied = describe_proposal(&entry, 113);
        assert!(
            applied.contains(&format!(
                "change:     remove validator {}\nproposed:",
                account_hex(3)
            )),
            "{applied}"
        );
        assert!(
            applied.contains("status:     applied at height 20 (as of height 113)\n"),
            "{applied}"
        );
        assert!(
            applied
                .ends_with("expiry:     closed; votes would have been accepted up to height 112\n"),
            "{applied}"
        );
    }

    /// A policy file in the test's own temporary directory (named after the test).
    fn policy_file(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("medchain-cli-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("policy.cedar");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn consortium_policy_builds_the_proposal_from_a_policy_file() {
        let text = "@id(\"permit-all\") permit (principal, action, resource);\n";
        let file = policy_file("good", text);
        let payload = propose(&[
            "propose",
            "consortium-policy",
            "--node-key",
            "v.key",
            "--file",
            file.to_str().unwrap(),
        ])
        .unwrap();
        let expected = Payload::ProposeMembership {
            change: MembershipChange::SetConsortiumPolicy {
                schema_version: medchain_policy::SCHEMA_VERSION,
                policies: text.to_owned(),
            },
            ttl_blocks: DEFAULT_PROPOSAL_TTL_BLOCKS,
        };
        assert_eq!(payload, expected);
    }

    #[test]
    fn a_policy_file_that_fails_strict_validation_is_refused_before_submission() {
        let text = "@id(\"typo\") forbid (principal, action, resource) when { principal.role == Medchain::Role::\"nurse\" };";
        let file = policy_file("invalid", text);
        let error = propose(&[
            "propose",
            "consortium-policy",
            "--node-key",
            "v.key",
            "--file",
            file.to_str().unwrap(),
        ])
        .unwrap_err();
        let message = format!("{error:#}");
        assert!(message.contains("is refused"), "{message}");
        assert!(message.contains("fails strict validation"), "{message}");
        let missing = propose(&[
            "propose",
            "consortium-policy",
            "--node-key",
            "v.key",
            "--file",
            "/nonexistent/policy.cedar",
        ])
        .unwrap_err();
        assert!(
            format!("{missing:#}")
                .contains("cannot read the policy file /nonexistent/policy.cedar"),
            "{missing:#}"
        );
    }

    #[test]
    fn show_prints_a_policy_proposal_with_its_whole_text() {
        let entry = proposal_entry(MembershipChange::SetConsortiumPolicy {
            schema_version: 1,
            policies: "@id(\"a\")\npermit (principal, action, resource);".into(),
        });
        let text = describe_proposal(&entry, 20);
        assert!(
            text.contains(
                "change:     set the consortium policy (schema version 1, 46 bytes):\n            \x20 @id(\"a\")\n              permit (principal, action, resource);\nproposed:"
            ),
            "{text}"
        );
    }

    #[test]
    fn the_policy_header_says_version_height_and_who_set_it() {
        let mut entry = ConsortiumPolicyEntry {
            version: 1,
            schema_version: 1,
            schema: medchain_policy::SCHEMA.into(),
            policies: medchain_policy::DEFAULT_POLICIES.into(),
            since_height: 0,
            proposal: None,
        };
        assert_eq!(
            describe_policy(&entry, 9),
            "consortium policy version 1 (schema version 1), in force since height 0, set by the genesis (the default)\nverified: proven in the state of finalized block 9\n"
        );
        entry.version = 2;
        entry.since_height = 40;
        entry.proposal = Some(ProposalId([0xab; 32]));
        assert!(describe_policy(&entry, 41).contains(&format!(
            "version 2 (schema version 1), in force since height 40, set by proposal {}",
            ProposalId([0xab; 32])
        )));
    }
}
