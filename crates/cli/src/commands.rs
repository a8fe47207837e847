//! The subcommands that talk to a node's API: each builds a transaction, signs it with the
//! caller's identity and waits for the ledger's answer, or reads and verifies ledger content.

use crate::identity::{Identity, IdentityFile, demo_identities_path};
use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use commonware_cryptography::{Signer as _, ed25519};
use medchain_client::Client;
use medchain_types::{
    AccountId, ChainId, ConsentId, InstitutionId, MembershipChange, Payload, ProposalId, RecordId,
    SignedTransaction, Transaction,
    api::{Proven, TxStatusResponse},
    codes::{ConsentAction, Decision, InstitutionKind, Purpose, RecordCategory, Role},
    consent::{ConsentActor, ConsentPolicy, DataScope, Period},
};
use std::path::{Path, PathBuf};

/// Where to reach a node.
#[derive(Args, Clone)]
pub struct ApiArgs {
    /// A validator's API address.
    #[arg(long, default_value = "http://127.0.0.1:8100", env = "MEDCHAIN_API")]
    pub api: String,
}

/// Who to act as: a sealed key file, or a demo identity by name.
#[derive(Args, Clone)]
pub struct IdentityArgs {
    /// A key file made by `medchain keys generate` (passphrase in MEDCHAIN_PASSPHRASE).
    #[arg(long, conflicts_with = "as_name")]
    pub key: Option<PathBuf>,
    /// A demo identity from DATA_DIR/demo/identities.toml (e.g. dr-alice, patient-1).
    #[arg(long = "as")]
    pub as_name: Option<String>,
    /// The data directory of `medchain up`, for --as.
    #[arg(long, default_value = ".medchain")]
    pub data_dir: PathBuf,
}

impl IdentityArgs {
    pub fn load(&self) -> Result<Identity> {
        match (&self.key, &self.as_name) {
            (Some(path), _) => Identity::load_sealed(path),
            (None, Some(name)) => {
                IdentityFile::load(&demo_identities_path(&self.data_dir))?.get(name)
            }
            (None, None) => bail!("say who you are: --key FILE or --as NAME"),
        }
    }
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create a new identity in a passphrase-sealed key file (passphrase from MEDCHAIN_PASSPHRASE).
    Generate {
        #[arg(long)]
        out: PathBuf,
        /// Home institution of a member (clinician, admin, ...); omit for a patient.
        #[arg(long)]
        institution: Option<String>,
    },
    /// Print an identity's public keys (a patient's at a given institution).
    Show {
        #[command(flatten)]
        identity: IdentityArgs,
        /// For a patient: the institution whose pseudonym to show.
        #[arg(long)]
        institution: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum PatientCommand {
    /// Register your pseudonym at an institution (derived from your seed; nothing identifying).
    Register {
        #[command(flatten)]
        identity: IdentityArgs,
        #[command(flatten)]
        api: ApiArgs,
        #[arg(long)]
        institution: String,
    },
}

#[derive(Subcommand)]
pub enum RecordCommand {
    /// Commit a record's metadata (as a clinician): hash and size of its encrypted content.
    Create {
        #[command(flatten)]
        identity: IdentityArgs,
        #[command(flatten)]
        api: ApiArgs,
        /// The patient's pseudonym at your institution (hex account).
        #[arg(long)]
        patient: String,
        /// Coarse category, e.g. laboratory, imaging, encounter.
        #[arg(long)]
        category: String,
        /// The encrypted content whose BLAKE3 hash and size are committed.
        #[arg(long)]
        file: PathBuf,
        /// The Umbral capsule of the record's data key (hex), as made by the encrypting client.
        #[arg(long)]
        capsule: String,
    },
}

#[derive(Subcommand)]
pub enum ConsentCommand {
    /// Grant (or, with --deny, refuse) access to your records at one institution.
    Grant {
        #[command(flatten)]
        identity: IdentityArgs,
        #[command(flatten)]
        api: ApiArgs,
        /// The institution whose pseudonym grants.
        #[arg(long)]
        institution: String,
        /// A person (hex account) allowed.
        #[arg(long)]
        grantee: Vec<String>,
        /// An institution whose members are allowed.
        #[arg(long)]
        grantee_institution: Vec<String>,
        /// A role allowed (clinician, researcher, auditor), at --institution's peers or anywhere.
        #[arg(long)]
        grantee_role: Vec<String>,
        /// Purposes of use (treat, etreat, hresch, ...).
        #[arg(long, required = true)]
        purpose: Vec<String>,
        /// Limit to categories (default: all records).
        #[arg(long)]
        category: Vec<String>,
        /// Limit to record ids.
        #[arg(long, conflicts_with = "category")]
        record: Vec<String>,
        /// Days the consent lasts.
        #[arg(long, default_value_t = 365)]
        days: u64,
        /// Record a refusal instead of a permission.
        #[arg(long)]
        deny: bool,
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
    /// Allow (or stop allowing) break-glass emergency access by an institution's clinicians.
    Emergency {
        #[command(flatten)]
        identity: IdentityArgs,
        #[command(flatten)]
        api: ApiArgs,
        /// The institution whose pseudonym sets the flag, and whose clinicians it concerns.
        #[arg(long)]
        institution: String,
        #[arg(long)]
        disable: bool,
    },
}

#[derive(Subcommand)]
pub enum AccessCommand {
    /// Request access to a record; the ledger decides and logs the request.
    Request {
        #[command(flatten)]
        identity: IdentityArgs,
        #[command(flatten)]
        api: ApiArgs,
        #[arg(long)]
        record: String,
        #[arg(long, default_value = "treat")]
        purpose: String,
        /// Break-glass justification (purpose etreat); must not contain identifiers.
        #[arg(long)]
        justification: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Verify that a block is final: its certificate is signed by more than 2/3 of validators.
    Block {
        #[command(flatten)]
        api: ApiArgs,
        #[arg(long)]
        height: u64,
        /// The consortium's genesis: the only thing trusted (not the node).
        #[arg(long, default_value = ".medchain/genesis.toml")]
        genesis: PathBuf,
    },
    /// Verify a record's metadata with its Merkle proof against a finalized block.
    Record {
        #[command(flatten)]
        api: ApiArgs,
        #[arg(long)]
        id: String,
        #[arg(long, default_value = ".medchain/genesis.toml")]
        genesis: PathBuf,
    },
    /// Verify a consent with its Merkle proof against a finalized block.
    Consent {
        #[command(flatten)]
        api: ApiArgs,
        #[arg(long)]
        id: String,
        #[arg(long, default_value = ".medchain/genesis.toml")]
        genesis: PathBuf,
    },
    /// List every access to a pseudonym's records, each entry verified with its proof.
    AccessLog {
        #[command(flatten)]
        api: ApiArgs,
        /// The patient's pseudonym (hex account).
        #[arg(long)]
        patient: String,
        #[arg(long, default_value = ".medchain/genesis.toml")]
        genesis: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum BenchCommand {
    /// All cryptography groups below, one summary line each.
    Crypto,
    /// Paillier 2048 against python phe (gmpy2), and 3-of-4 threshold combination.
    Paillier,
    /// Umbral re-encryption and decapsulation against python umbral-pre.
    Umbral,
    /// Linkable ring signatures at ring sizes 16, 64 and 256.
    Ring,
    /// Envelope encryption throughput against the raw AEAD and openssl.
    Aead,
    /// A local 4-validator consortium: sustained TPS, commit latency and memory against the
    /// machine's Ed25519 verification limit.
    Ledger {
        /// Transactions in the saturating phase.
        #[arg(long, default_value_t = 20_000)]
        transactions: u64,
        /// Where the benchmark consortium lives (default: a fresh temporary directory).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[arg(long, default_value = "127.0.0.1:8300")]
        http: std::net::SocketAddr,
        #[arg(long, default_value_t = 7300)]
        p2p_port: u16,
    },
}

/// How long a proposal stays open when `--ttl-blocks` is not given: long enough for operators
/// at other institutions to vote, far below the ledger's `proposal_ttl_max_blocks`.
pub const DEFAULT_PROPOSAL_TTL_BLOCKS: u64 = 10_000;

/// Who signs a governance transaction: a current validator, with its node key.
#[derive(Args, Clone)]
pub struct NodeKeyArgs {
    /// The validator's key file: `validator.key` beside its node.toml, as written by
    /// `medchain init` or `medchain governance validator-key`.
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
    /// Create the key file of a new validator node and print the account to propose for it.
    ValidatorKey {
        /// Where to write the key (a new file, readable by its owner only).
        #[arg(long)]
        out: PathBuf,
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
        /// The node's account (hex), as printed by `medchain governance validator-key`.
        #[arg(long)]
        validator_key: String,
        /// The `ip:port` the other validators dial (its node.toml `p2p_listen`, as reachable).
        #[arg(long)]
        p2p_address: String,
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
    },
    /// Remove an institution: its members and validators stop acting.
    RemoveInstitution {
        #[command(flatten)]
        common: ProposeArgs,
        #[arg(long)]
        id: String,
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
            } => {
                let change = MembershipChange::AddValidator {
                    institution: parse_institution(&institution, "--institution")?,
                    validator: parse_id(&validator_key, "--validator-key must be a hex account")?,
                    p2p_address,
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
            } => {
                let change = MembershipChange::AdmitInstitution {
                    id: parse_institution(&id, "--id")?,
                    kind: parse_code::<InstitutionKind>("institution kind", &kind)?,
                    admin: parse_id(&admin, "--admin must be a hex account")?,
                };
                (common, change)
            }
            ProposeCommand::RemoveInstitution { common, id } => {
                let id = parse_institution(&id, "--id")?;
                (common, MembershipChange::RemoveInstitution { id })
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

pub async fn governance(cmd: GovernanceCommand) -> Result<()> {
    match cmd {
        GovernanceCommand::Propose(change) => {
            let (common, payload) = change.into_payload()?;
            let outcome = submit_as_validator(&common.signer, &common.api, payload).await?;
            if outcome.status == "committed" {
                let tx_hash: medchain_types::TxHash = parse_id(&outcome.hash, "malformed hash")?;
                let id = ProposalId::from_tx(&tx_hash);
                println!("proposal id: {id}");
                println!(
                    "the other validators vote with: medchain governance vote {id} --approve --node-key <their validator.key>"
                );
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
        GovernanceCommand::ValidatorKey { out } => new_validator_key(&out),
    }
}

/// Signs with the validator's node key, submits, and fails with the ledger's reason if refused.
async fn submit_as_validator(
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

/// Writes a new validator seed the way `medchain init` does for the genesis validators.
fn new_validator_key(out: &Path) -> Result<()> {
    let seed = medchain_crypto::keys::MasterSeed::generate(&mut rand::rng());
    let keys = medchain_node::config::validator_keys(&seed)?;
    let secret = zeroize::Zeroizing::new(hex::encode(seed.as_bytes()));
    crate::identity::write_new_secret_file(out, secret.as_bytes())?;
    println!("wrote {}", out.display());
    println!(
        "account: {} (propose it with --validator-key)",
        AccountId::from(keys.signing.public_key())
    );
    Ok(())
}

pub fn node(config: &Path) -> Result<()> {
    let config = medchain_node::config::NodeConfig::load(config)?;
    init_logging();
    medchain_node::run::run_node(config)?;
    Ok(())
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

pub fn keys(cmd: KeysCommand) -> Result<()> {
    match cmd {
        KeysCommand::Generate { out, institution } => {
            let mut identity = Identity::generate();
            if let Some(slug) = institution {
                identity = identity.with_home(InstitutionId::new(&slug)?);
            }
            identity.save_sealed(&out)?;
            println!("wrote {}", out.display());
            print_identity(&identity, None)
        }
        KeysCommand::Show {
            identity,
            institution,
        } => {
            let identity = identity.load()?;
            let institution = institution.map(|s| InstitutionId::new(&s)).transpose()?;
            print_identity(&identity, institution.as_ref())
        }
    }
}

fn print_identity(identity: &Identity, institution: Option<&InstitutionId>) -> Result<()> {
    let at = match (institution, identity.home()) {
        (Some(i), _) | (None, Some(i)) => i.clone(),
        (None, None) => {
            println!("a patient identity: pass --institution to see its pseudonym there");
            return Ok(());
        }
    };
    let keys = identity.keys_at(&at)?;
    println!("institution:     {}", at.as_str());
    println!(
        "account:         {}",
        AccountId::from(keys.signing.public_key())
    );
    println!(
        "pre public key:  {}",
        hex::encode(crate::identity::pre_public_key(&keys)?)
    );
    println!(
        "encryption key:  {}",
        hex::encode(keys.encryption.public_key().to_bytes())
    );
    Ok(())
}

pub async fn status(args: ApiArgs) -> Result<()> {
    let status = Client::new(&args.api)?.status().await?;
    println!("chain:        {} ({})", status.chain_name, status.chain_id);
    println!("node role:    {}", status.role);
    println!("height:       {}", status.height);
    if let Some(block) = &status.latest_block {
        println!("latest block: {block}");
    }
    println!("validators:   {}", status.validators.len());
    println!("mempool:      {} waiting", status.mempool_size);
    Ok(())
}

/// Signs `payload` as `key`'s account with its next nonce, submits it and waits for the result.
pub async fn submit(
    client: &Client,
    key: &ed25519::PrivateKey,
    payload: Payload,
) -> Result<TxStatusResponse> {
    let status = client.status().await?;
    let chain_id: ChainId = parse_id(&status.chain_id, "node reported a malformed chain id")?;
    let sender = AccountId::from(key.public_key());
    let nonce = client.next_nonce(&sender).await?;
    let tx = SignedTransaction::sign(
        key,
        Transaction {
            chain_id,
            sender,
            nonce,
            payload,
        },
    );
    Ok(client.submit(&tx, true).await?)
}

fn report(outcome: &TxStatusResponse) -> Result<()> {
    match outcome.status.as_str() {
        "committed" => {
            println!(
                "committed at height {} (transaction {})",
                outcome.height.unwrap_or(0),
                outcome.hash
            );
            Ok(())
        }
        "pending" => {
            println!(
                "submitted; still pending after 30 s (transaction {})",
                outcome.hash
            );
            Ok(())
        }
        other => bail!("transaction {} is {other}", outcome.hash),
    }
}

/// Parses an id or account given as hex, saying which argument was wrong.
pub fn parse_id<T: std::str::FromStr<Err = String>>(text: &str, what: &str) -> Result<T> {
    text.trim()
        .parse()
        .map_err(|e| anyhow::anyhow!("{what}: {e}"))
}

/// Parses a code (category, purpose, role) the way the JSON API spells it, in any case:
/// categories and roles are snake_case, HL7 purposes of use upper case.
fn parse_code<T: serde::de::DeserializeOwned>(kind: &str, text: &str) -> Result<T> {
    [text.to_lowercase(), text.to_uppercase()]
        .into_iter()
        .find_map(|spelling| serde_json::from_value(serde_json::Value::String(spelling)).ok())
        .with_context(|| format!("{text:?} is not a known {kind}"))
}

pub async fn patient(cmd: PatientCommand) -> Result<()> {
    let PatientCommand::Register {
        identity,
        api,
        institution,
    } = cmd;
    let identity = identity.load()?;
    let institution = InstitutionId::new(&institution)?;
    let keys = identity.keys_at(&institution)?;
    let client = Client::new(&api.api)?;
    let payload = Payload::RegisterPseudonym {
        institution,
        pre_public_key: crate::identity::pre_public_key(&keys)?,
    };
    let outcome = submit(&client, &keys.signing, payload).await?;
    report(&outcome)?;
    println!("pseudonym: {}", AccountId::from(keys.signing.public_key()));
    Ok(())
}

pub async fn record(cmd: RecordCommand) -> Result<()> {
    let RecordCommand::Create {
        identity,
        api,
        patient,
        category,
        file,
        capsule,
    } = cmd;
    let identity = identity.load()?;
    let keys = identity.member_keys()?;
    let client = Client::new(&api.api)?;
    let (content_hash, size_bytes) = hash_file(&file)?;
    let payload = Payload::CreateRecord {
        patient: parse_id(&patient, "--patient must be a hex account")?,
        category: parse_code::<RecordCategory>("record category", &category)?,
        size_bytes,
        content_hash,
        capsule: hex::decode(capsule.trim())
            .context("--capsule must be hex")?
            .into(),
    };
    let outcome = submit(&client, &keys.signing, payload).await?;
    report(&outcome)?;
    if outcome.status == "committed" {
        let tx_hash: medchain_types::TxHash = parse_id(&outcome.hash, "malformed hash")?;
        println!("record id: {}", RecordId::from_tx(&tx_hash));
    }
    Ok(())
}

/// BLAKE3 and size of a file, streamed so any size fits in constant memory.
fn hash_file(path: &Path) -> Result<([u8; 32], u64)> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut hasher = blake3::Hasher::new();
    let size = std::io::copy(&mut file, &mut hasher)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok((*hasher.finalize().as_bytes(), size))
}

pub async fn consent(cmd: ConsentCommand) -> Result<()> {
    match cmd {
        ConsentCommand::Grant {
            identity,
            api,
            institution,
            grantee,
            grantee_institution,
            grantee_role,
            purpose,
            category,
            record,
            days,
            deny,
        } => {
            let identity = identity.load()?;
            let keys = identity.keys_at(&InstitutionId::new(&institution)?)?;
            let mut actors = Vec::new();
            for g in grantee {
                actors.push(ConsentActor::Person(parse_id(
                    &g,
                    "--grantee must be a hex account",
                )?));
            }
            for i in grantee_institution {
                actors.push(ConsentActor::Institution(InstitutionId::new(&i)?));
            }
            for r in grantee_role {
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
            let purposes = purpose
                .iter()
                .map(|p| parse_code::<Purpose>("purpose", p))
                .collect::<Result<_>>()?;
            let data = if !record.is_empty() {
                DataScope::Records(
                    record
                        .iter()
                        .map(|r| parse_id(r, "--record must be a hex record id"))
                        .collect::<Result<_>>()?,
                )
            } else if !category.is_empty() {
                DataScope::Categories(
                    category
                        .iter()
                        .map(|c| parse_code::<RecordCategory>("record category", c))
                        .collect::<Result<_>>()?,
                )
            } else {
                DataScope::All
            };
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_millis() as u64;
            let policy = ConsentPolicy {
                decision: if deny {
                    Decision::Deny
                } else {
                    Decision::Permit
                },
                actors,
                actions: vec![ConsentAction::Access],
                purposes,
                period: Period {
                    start_ms: now.saturating_sub(60_000),
                    end_ms: now + days * 86_400_000,
                },
                data,
                exceptions: Vec::new(),
            };
            let client = Client::new(&api.api)?;
            // A permit carries the re-encryption key fragments that will let its first person
            // grantee open the records; a deny releases nothing.
            let reencryption_fragments = if deny {
                Vec::new()
            } else {
                let Some(grantee) = policy.actors.iter().find_map(|a| match a {
                    ConsentActor::Person(p) => Some(p.clone()),
                    _ => None,
                }) else {
                    bail!(
                        "a permit needs a --grantee person to release keys to (roles and institutions may be added beside it)"
                    );
                };
                let grantee_pre = crate::sharing::grantee_pre_key(&client, &grantee).await?;
                let validators = crate::sharing::validators(&client).await?;
                crate::sharing::sealed_fragments(&keys, &grantee_pre, &validators)?
            };
            let outcome = submit(
                &client,
                &keys.signing,
                Payload::GrantConsent {
                    policy,
                    reencryption_fragments,
                },
            )
            .await?;
            report(&outcome)?;
            if outcome.status == "committed" {
                let tx_hash: medchain_types::TxHash = parse_id(&outcome.hash, "malformed hash")?;
                println!("consent id: {}", ConsentId::from_tx(&tx_hash));
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
        ConsentCommand::Emergency {
            identity,
            api,
            institution,
            disable,
        } => {
            let identity = identity.load()?;
            let institution = InstitutionId::new(&institution)?;
            let keys = identity.keys_at(&institution)?;
            let client = Client::new(&api.api)?;
            let payload = Payload::SetEmergencyAccess {
                institution,
                enabled: !disable,
            };
            report(&submit(&client, &keys.signing, payload).await?)
        }
    }
}

pub async fn access(cmd: AccessCommand) -> Result<()> {
    let AccessCommand::Request {
        identity,
        api,
        record,
        purpose,
        justification,
    } = cmd;
    let identity = identity.load()?;
    let keys = identity.member_keys()?;
    let client = Client::new(&api.api)?;
    let record: RecordId = parse_id(&record, "--record must be a hex record id")?;
    let payload = Payload::RequestAccess {
        record,
        purpose: parse_code::<Purpose>("purpose", &purpose)?,
        justification,
    };
    let outcome = submit(&client, &keys.signing, payload).await?;
    report(&outcome)?;
    if outcome.status == "committed" {
        print_access_decision(&client, &record, &outcome.hash).await?;
    }
    Ok(())
}

/// Finds the ledger's decision on a committed access request in the patient's access log.
async fn print_access_decision(client: &Client, record: &RecordId, tx_hash: &str) -> Result<()> {
    let entry: Proven<medchain_state::RecordEntry> =
        client.get(&format!("/v1/records/{record}")).await?;
    let patient = entry.value.patient;
    let first: AccessLogPage = client
        .get(&format!("/v1/patients/{patient}/access-log?limit=1"))
        .await?;
    let from = first
        .total
        .saturating_sub(medchain_types::limits::ACCESS_LOG_PAGE_MAX_ENTRIES as u64);
    let page: AccessLogPage = client
        .get(&format!("/v1/patients/{patient}/access-log?from={from}"))
        .await?;
    let Some(decided) = page
        .entries
        .iter()
        .find(|e| e.value.tx_hash.to_string() == tx_hash)
    else {
        bail!("the access request committed but is not in the patient's recent access log");
    };
    let value = &decided.value;
    println!(
        "decision: {} ({}){}",
        serde_json::to_value(value.decision)?
            .as_str()
            .unwrap_or("?"),
        serde_json::to_value(value.reason)?.as_str().unwrap_or("?"),
        if value.break_glass {
            ", break-glass: flagged for review"
        } else {
            ""
        }
    );
    Ok(())
}

/// A page of an access log as the API serves it.
#[derive(serde::Deserialize)]
struct AccessLogPage {
    total: u64,
    entries: Vec<Proven<medchain_state::AccessLogEntry>>,
    next: Option<u64>,
}

pub async fn audit(cmd: AuditCommand) -> Result<()> {
    match cmd {
        AuditCommand::Block {
            api,
            height,
            genesis,
        } => {
            let genesis = medchain_node::config::load_genesis(&genesis)?;
            let client = Client::new(&api.api)?;
            let response = client.block(height).await?;
            let verified = medchain_node::verify::finalized_block(&genesis, &response)?;
            println!(
                "block {height} is final: digest {}, state root {}, certified by {} of {} validators",
                verified.digest, verified.state_root, verified.signers, verified.validators
            );
        }
        AuditCommand::Record { api, id, genesis } => {
            let id: RecordId = parse_id(&id, "--id must be a hex record id")?;
            let path = format!("/v1/records/{id}");
            audit_proven::<medchain_state::RecordEntry>(
                &api,
                &genesis,
                &path,
                &medchain_state::keys::record(&id),
            )
            .await?;
        }
        AuditCommand::Consent { api, id, genesis } => {
            let id: ConsentId = parse_id(&id, "--id must be a hex consent id")?;
            let path = format!("/v1/consents/{id}");
            audit_proven::<medchain_state::ConsentEntry>(
                &api,
                &genesis,
                &path,
                &medchain_state::keys::consent(&id),
            )
            .await?;
        }
        AuditCommand::AccessLog {
            api,
            patient,
            genesis,
        } => {
            let genesis = medchain_node::config::load_genesis(&genesis)?;
            let client = Client::new(&api.api)?;
            let patient: AccountId = parse_id(&patient, "--patient must be a hex pseudonym")?;
            audit_access_log(&client, &genesis, &patient).await?;
        }
    }
    Ok(())
}

/// Fetches one proven ledger value, verifies it against the finalized block it names and the
/// genesis validators, and prints it.
async fn audit_proven<T>(api: &ApiArgs, genesis: &Path, path: &str, state_key: &[u8]) -> Result<()>
where
    T: commonware_codec::Read<Cfg = ()>
        + PartialEq
        + serde::Serialize
        + serde::de::DeserializeOwned,
{
    let genesis = medchain_node::config::load_genesis(genesis)?;
    let client = Client::new(&api.api)?;
    let proven: Proven<T> = client.get(path).await?;
    let block = client.block(proven.proof.height).await?;
    let value = medchain_node::verify::proven_value(&genesis, &block, state_key, &proven)?;
    println!("{}", serde_json::to_string_pretty(&value)?);
    println!(
        "verified: proven in the state of finalized block {}",
        block.height
    );
    Ok(())
}

/// Prints every access-log entry of a pseudonym, each verified against a finalized block.
async fn audit_access_log(
    client: &Client,
    genesis: &medchain_types::Genesis,
    patient: &AccountId,
) -> Result<()> {
    let mut from = 0;
    let mut blocks = std::collections::HashMap::new();
    loop {
        let page: AccessLogPage = client
            .get(&format!("/v1/patients/{patient}/access-log?from={from}"))
            .await?;
        for entry in &page.entries {
            let height = entry.proof.height;
            let block = match blocks.entry(height) {
                std::collections::hash_map::Entry::Occupied(known) => known.into_mut(),
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(client.block(height).await?)
                }
            };
            let key = medchain_state::keys::access_log(patient, entry.value.sequence);
            let value = medchain_node::verify::proven_value(genesis, block, &key, entry)?;
            println!(
                "#{} height {} {} {} purpose {} -> {} ({}){}",
                value.sequence,
                value.height,
                value.requester,
                value.record,
                serde_json::to_value(value.purpose)?.as_str().unwrap_or("?"),
                serde_json::to_value(value.decision)?
                    .as_str()
                    .unwrap_or("?"),
                serde_json::to_value(value.reason)?.as_str().unwrap_or("?"),
                if value.break_glass {
                    " BREAK-GLASS"
                } else {
                    ""
                }
            );
        }
        match page.next {
            Some(next) => from = next,
            None => {
                println!(
                    "{} accesses, every entry verified against a finalized block",
                    page.total
                );
                return Ok(());
            }
        }
    }
}

pub async fn bench(cmd: BenchCommand) -> Result<()> {
    // The crypto groups are CPU-bound and blocking; they run off the async runtime's workers.
    let crypto = |groups: Vec<fn() -> Result<String>>| async move {
        let summaries = tokio::task::spawn_blocking(move || {
            groups
                .into_iter()
                .map(|run| run())
                .collect::<Result<Vec<_>>>()
        })
        .await??;
        Ok::<_, anyhow::Error>(summaries)
    };
    let summaries = match cmd {
        BenchCommand::Crypto => {
            crypto(vec![
                medchain_bench::paillier::run,
                medchain_bench::umbral::run,
                medchain_bench::ring::run,
                medchain_bench::aead::run,
            ])
            .await?
        }
        BenchCommand::Paillier => crypto(vec![medchain_bench::paillier::run]).await?,
        BenchCommand::Umbral => crypto(vec![medchain_bench::umbral::run]).await?,
        BenchCommand::Ring => crypto(vec![medchain_bench::ring::run]).await?,
        BenchCommand::Aead => crypto(vec![medchain_bench::aead::run]).await?,
        BenchCommand::Ledger {
            transactions,
            data_dir,
            http,
            p2p_port,
        } => vec![
            crate::ledger_bench::run(crate::ledger_bench::LedgerBenchOptions {
                transactions,
                data_dir,
                http,
                p2p_port,
            })
            .await?,
        ],
    };
    // Each group printed its summary line as it finished; repeat them together at the end.
    println!();
    for line in summaries {
        println!("{line}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

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
        ])
        .unwrap();
        let expected = Payload::ProposeMembership {
            change: MembershipChange::AddValidator {
                institution: InstitutionId::new("north-clinic").unwrap(),
                validator: validator.parse().unwrap(),
                p2p_address: "10.0.0.5:7100".into(),
            },
            ttl_blocks: DEFAULT_PROPOSAL_TTL_BLOCKS,
        };
        assert_eq!(payload, expected);
    }

    #[test]
    fn add_validator_with_a_bad_key_or_address_fails_before_signing() {
        let validator = account_hex(1);
        let base = [
            "propose",
            "add-validator",
            "--node-key",
            "v.key",
            "--institution",
            "north-clinic",
        ];
        let with = |key: &str, address: &str| {
            let mut args = base.to_vec();
            args.extend(["--validator-key", key, "--p2p-address", address]);
            format!("{:#}", propose(&args).unwrap_err())
        };
        assert!(
            with("zz", "10.0.0.5:7100").starts_with("--validator-key must be a hex account"),
            "{}",
            with("zz", "10.0.0.5:7100")
        );
        let host = with(&validator, "node-1:7100");
        assert!(
            host.starts_with("the proposal is invalid: p2p address \"node-1:7100\" is not ip:port"),
            "{host}"
        );
        let padded = with(&validator, "10.0.0.5:07100");
        assert!(padded.ends_with("write it as 10.0.0.5:7100"), "{padded}");
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
    fn a_new_validator_key_is_written_once_and_loads_as_a_node_key() {
        let dir = std::env::temp_dir().join(format!("medchain-gov-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("validator.key");
        let _ = std::fs::remove_file(&path);
        new_validator_key(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let seed =
            medchain_crypto::keys::MasterSeed::from_slice(&hex::decode(&text).unwrap()).unwrap();
        let expected = medchain_node::config::validator_keys(&seed).unwrap();
        let loaded = medchain_node::config::load_validator_keys(&path).unwrap();
        assert_eq!(loaded.signing.public_key(), expected.signing.public_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(
            new_validator_key(&path).is_err(),
            "an existing key is never overwritten"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
