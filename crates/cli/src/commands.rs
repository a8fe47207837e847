//! The subcommands that talk to a node's API, and what they share: where the node is
//! (`ApiArgs`), who the caller is (`IdentityArgs`), what reads are checked against
//! (`TrustArgs`), and signing and submitting a transaction. Consent, access and audit have their
//! own modules, as governance does.

use crate::identity::{Identity, IdentityFile, demo_identities_path};
use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use commonware_cryptography::{Signer as _, ed25519};
use medchain_client::{Client, Trust};
use medchain_types::{
    AccountId, ChainId, InstitutionId, Payload,
    api::{TxState, TxStatusResponse},
};
use std::path::{Path, PathBuf};

/// Where to reach a node.
#[derive(Args, Clone)]
pub struct ApiArgs {
    /// A validator's API address.
    #[arg(long, default_value = "http://127.0.0.1:8100", env = "MEDCHAIN_API")]
    pub api: String,
}

/// What verified reads are checked against: the genesis (the only thing trusted) and how old a
/// proof may be.
#[derive(Args, Clone)]
pub struct TrustArgs {
    /// The consortium's genesis: the only thing trusted (not the node).
    #[arg(long, default_value = ".medchain/genesis.toml")]
    pub genesis: PathBuf,
    /// Seconds of block time a proof may lag your clock before it is refused as stale.
    #[arg(long, default_value_t = medchain_verify::freshness::MAX_STALENESS_DEFAULT_MS / 1000)]
    pub max_staleness: u64,
}

impl TrustArgs {
    /// A client of `api` whose reads are verified against this genesis and staleness bound.
    pub fn client(&self, api: &ApiArgs) -> Result<Client> {
        let genesis = medchain_node::config::load_genesis(&self.genesis).with_context(|| {
            format!(
                "every read is checked against the consortium's genesis, and {} cannot be loaded: pass --genesis with the genesis.toml your consortium uses (`medchain up --data-dir DIR` writes DIR/genesis.toml)",
                self.genesis.display()
            )
        })?;
        let trust =
            Trust::new(genesis).with_max_staleness_ms(self.max_staleness.saturating_mul(1000));
        Ok(Client::new(&api.api)?.trusting(trust))
    }
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
        /// Also print the account key's proof of possession for the chain of this genesis file
        /// (what `governance propose admit-institution --admin-proof` takes).
        #[arg(long, value_name = "GENESIS")]
        prove_for: Option<PathBuf>,
    },
    /// Print an identity's public keys (a patient's at a given institution).
    Show {
        #[command(flatten)]
        identity: IdentityArgs,
        /// For a patient: the institution whose pseudonym to show.
        #[arg(long)]
        institution: Option<String>,
        /// Also print the account key's proof of possession for the chain of this genesis file.
        #[arg(long, value_name = "GENESIS")]
        prove_for: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum PatientCommand {
    /// Register your pseudonym at an institution (derived from your seed; nothing identifying).
    /// The institution co-signs: an admin or clinician there runs `medchain patient cosign` with
    /// the pseudonym and PRE key that `medchain keys show --institution ID` prints, and you pass
    /// its account and signature here (or, in the demo, name the registrar with --registrar-as).
    Register {
        #[command(flatten)]
        identity: IdentityArgs,
        #[command(flatten)]
        api: ApiArgs,
        #[arg(long)]
        institution: String,
        /// The co-signing admin or clinician's account (hex), from `medchain patient cosign`.
        #[arg(
            long,
            requires = "registrar_signature",
            conflicts_with = "registrar_as"
        )]
        registrar: Option<String>,
        /// The registrar's co-signature (hex), from `medchain patient cosign`.
        #[arg(long, requires = "registrar")]
        registrar_signature: Option<String>,
        /// A demo identity (from DATA_DIR/demo/identities.toml) that co-signs, e.g. dr-alice.
        #[arg(long)]
        registrar_as: Option<String>,
    },
    /// Co-sign a patient's pseudonym registration at your institution (as its admin or a
    /// clinician); prints the account and signature the patient passes to `patient register`.
    Cosign {
        #[command(flatten)]
        identity: IdentityArgs,
        #[command(flatten)]
        api: ApiArgs,
        /// The patient's pseudonym (hex account) at your institution.
        #[arg(long)]
        pseudonym: String,
        /// The pseudonym's PRE public key (66 hex characters).
        #[arg(long)]
        pre_public_key: String,
    },
}

#[derive(Subcommand)]
pub enum BenchCommand {
    /// All cryptography groups below, one summary line each.
    Crypto,
    /// Umbral re-encryption and decapsulation against python umbral-pre.
    Umbral,
    /// Linkable ring signatures at ring sizes 16, 64 and 256.
    Ring,
    /// Envelope encryption throughput against the raw AEAD and openssl.
    Aead,
    /// Studies: per-contribution verification (range proof + ring signature) and release cost,
    /// against phe and Prio3, then anonymous contributions committed on a local 4-validator
    /// consortium against the verification limit, and a release on the ledger.
    Study {
        /// Anonymous contributions committed (each from its own enrolled pseudonym).
        #[arg(long, default_value_t = 10_000)]
        contributions: u64,
        /// Where the benchmark consortium lives (default: a fresh temporary directory).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[arg(long, default_value = "127.0.0.1:8400")]
        http: std::net::SocketAddr,
        #[arg(long, default_value_t = 7400)]
        p2p_port: u16,
    },
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
        /// Also run the saturating load beside adversarial senders whose transactions are
        /// built to fail at block building, between two clean runs, and report spam_ratio.
        #[arg(long)]
        adversarial: bool,
    },
    /// A local 4-validator consortium: record put/get latency, ingest against the disk's own
    /// write speed, grant-to-first-read latency, and peak memory over a large record.
    Sharing {
        /// Where the benchmark consortium lives (default: a fresh temporary directory).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[arg(long, default_value = "127.0.0.1:8350")]
        http: std::net::SocketAddr,
        #[arg(long, default_value_t = 7350)]
        p2p_port: u16,
        /// Size in MB (10^6 bytes) of the record whose put and get the memory peak covers.
        #[arg(long, default_value_t = 1000)]
        large_mb: u64,
    },
}

pub fn node(config: &Path) -> Result<()> {
    let config = medchain_node::config::NodeConfig::load(config)?;
    init_logging();
    medchain_node::run::run_node(config)?;
    Ok(())
}

pub(crate) fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

pub fn keys(cmd: KeysCommand) -> Result<()> {
    match cmd {
        KeysCommand::Generate {
            out,
            institution,
            prove_for,
        } => {
            let mut identity = Identity::generate();
            if let Some(slug) = institution {
                identity = identity.with_home(InstitutionId::new(&slug)?);
            }
            let genesis = prove_for.as_deref().map(load_genesis).transpose()?;
            identity.save_sealed(&out)?;
            println!("wrote {}", out.display());
            print_identity(&identity, None, genesis.as_ref())
        }
        KeysCommand::Show {
            identity,
            institution,
            prove_for,
        } => {
            let identity = identity.load()?;
            let institution = institution.map(|s| InstitutionId::new(&s)).transpose()?;
            let genesis = prove_for.as_deref().map(load_genesis).transpose()?;
            print_identity(&identity, institution.as_ref(), genesis.as_ref())
        }
    }
}

fn load_genesis(path: &std::path::Path) -> Result<medchain_types::Genesis> {
    medchain_node::config::load_genesis(path)
        .with_context(|| format!("--prove-for {} is not a usable genesis", path.display()))
}

fn print_identity(
    identity: &Identity,
    institution: Option<&InstitutionId>,
    genesis: Option<&medchain_types::Genesis>,
) -> Result<()> {
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
    if let Some(genesis) = genesis {
        let proof = medchain_types::possession::prove_account(&keys.signing, &genesis.chain_id());
        println!("account proof:   {}", hex::encode(proof));
    }
    Ok(())
}

pub async fn status(args: ApiArgs) -> Result<()> {
    let status = Client::new(&args.api)?.status().await?;
    println!("chain:        {} ({})", status.chain_name, status.chain_id);
    println!("node role:    {}", status.role);
    println!("epoch:        {}", status.epoch);
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
    Ok(client.sign_and_submit(key, payload).await?)
}

pub(crate) fn report(outcome: &TxStatusResponse) -> Result<()> {
    match outcome.status {
        TxState::Committed => {
            println!(
                "committed at height {} (transaction {})",
                outcome.height.unwrap_or(0),
                outcome.hash
            );
            Ok(())
        }
        TxState::Pending => {
            println!(
                "submitted; still pending after 30 s (transaction {})",
                outcome.hash
            );
            Ok(())
        }
        TxState::Rejected => bail!(
            "transaction {} was rejected: {}",
            outcome.hash,
            outcome
                .error
                .as_ref()
                .map_or("no reason given", |e| e.message.as_str())
        ),
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
pub(crate) fn parse_code<T: serde::de::DeserializeOwned>(kind: &str, text: &str) -> Result<T> {
    [text.to_lowercase(), text.to_uppercase()]
        .into_iter()
        .find_map(|spelling| serde_json::from_value(serde_json::Value::String(spelling)).ok())
        .with_context(|| format!("{text:?} is not a known {kind}"))
}

/// A code as the JSON API spells it (snake_case, HL7 purposes upper case), so the CLI prints
/// what the API and `parse_code` use.
pub(crate) fn code_name<T: serde::Serialize>(code: &T) -> String {
    match serde_json::to_value(code) {
        Ok(serde_json::Value::String(name)) => name,
        _ => "?".to_string(),
    }
}

pub async fn patient(cmd: PatientCommand) -> Result<()> {
    match cmd {
        PatientCommand::Register {
            identity,
            api,
            institution,
            registrar,
            registrar_signature,
            registrar_as,
        } => {
            let data_dir = identity.data_dir.clone();
            let identity = identity.load()?;
            let institution = InstitutionId::new(&institution)?;
            let keys = identity.keys_at(&institution)?;
            let client = Client::new(&api.api)?;
            let chain_id = chain_id(&client).await?;
            let pseudonym = AccountId::from(keys.signing.public_key());
            let pre = crate::identity::pre_secret_key(&keys)?;
            let payload = match (registrar_as, registrar, registrar_signature) {
                (Some(name), _, _) => {
                    let registrar = IdentityFile::load(&demo_identities_path(&data_dir))?
                        .get(&name)?
                        .member_keys()?;
                    medchain_state::registration::register_pseudonym(
                        &chain_id,
                        &keys.signing,
                        &pre,
                        institution,
                        &registrar.signing,
                    )
                }
                (None, Some(account), Some(signature)) => {
                    let registrar: AccountId =
                        parse_id(&account, "--registrar must be a hex account")?;
                    let signature = parse_hex_array::<64>(&signature, "--registrar-signature")?;
                    medchain_state::registration::cosigned_pseudonym(
                        &chain_id,
                        &pseudonym,
                        &pre,
                        institution,
                        registrar,
                        signature,
                    )
                }
                _ => bail!(
                    "the institution co-signs a pseudonym: pass --registrar and --registrar-signature from `medchain patient cosign` (or --registrar-as NAME in the demo)"
                ),
            };
            check_cosignature(&chain_id, &pseudonym, &payload)?;
            let outcome = submit(&client, &keys.signing, payload).await?;
            report(&outcome)?;
            println!("pseudonym: {pseudonym}");
            Ok(())
        }
        PatientCommand::Cosign {
            identity,
            api,
            pseudonym,
            pre_public_key,
        } => {
            let identity = identity.load()?;
            let Some(institution) = identity.home().cloned() else {
                bail!(
                    "only an institution's admin or clinician co-signs; this is a patient identity"
                );
            };
            let registrar = identity.member_keys()?;
            let client = Client::new(&api.api)?;
            let chain_id = chain_id(&client).await?;
            let pseudonym: AccountId = parse_id(&pseudonym, "--pseudonym must be a hex account")?;
            let pre_public_key = parse_hex_array::<33>(&pre_public_key, "--pre-public-key")?;
            let signature = medchain_types::possession::cosign_pseudonym(
                &registrar.signing,
                &chain_id,
                &pseudonym,
                &institution,
                &pre_public_key,
            );
            println!(
                "registrar:           {}",
                AccountId::from(registrar.signing.public_key())
            );
            println!("registrar signature: {}", hex::encode(signature));
            Ok(())
        }
    }
}

/// Refuses locally a co-signature that the ledger would refuse (wrong pseudonym, institution
/// or chain), so a mistyped value fails before a round trip.
fn check_cosignature(chain_id: &ChainId, pseudonym: &AccountId, payload: &Payload) -> Result<()> {
    if let Payload::RegisterPseudonym {
        institution,
        pre_public_key,
        registrar,
        registrar_signature,
        ..
    } = payload
    {
        let valid = medchain_types::possession::verify_pseudonym_cosignature(
            registrar,
            chain_id,
            pseudonym,
            institution,
            pre_public_key,
            registrar_signature,
        );
        if !valid {
            bail!(
                "the registrar's signature is not for this pseudonym, institution and chain; ask the registrar to run `medchain patient cosign` again with the values `medchain keys show --institution {institution}` prints"
            );
        }
    }
    Ok(())
}

/// The chain id transactions are signed for (the trusted genesis's, else the node's word).
pub(crate) async fn chain_id(client: &Client) -> Result<ChainId> {
    Ok(client.signing_chain_id().await?)
}

/// `N` bytes written as hex, for keys and signatures given on the command line.
pub(crate) fn parse_hex_array<const N: usize>(text: &str, what: &str) -> Result<[u8; N]> {
    let bytes = hex::decode(text.trim()).with_context(|| format!("{what} must be hex"))?;
    bytes.try_into().map_err(|b: Vec<u8>| {
        anyhow::anyhow!(
            "{what} must be {N} bytes ({} hex characters), got {}",
            2 * N,
            b.len()
        )
    })
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
                medchain_bench::umbral::run,
                medchain_bench::ring::run,
                medchain_bench::aead::run,
            ])
            .await?
        }
        BenchCommand::Umbral => crypto(vec![medchain_bench::umbral::run]).await?,
        BenchCommand::Ring => crypto(vec![medchain_bench::ring::run]).await?,
        BenchCommand::Aead => crypto(vec![medchain_bench::aead::run]).await?,
        BenchCommand::Study {
            contributions,
            data_dir,
            http,
            p2p_port,
        } => vec![
            crate::study_bench::run(crate::study_bench::StudyBenchOptions {
                contributions,
                data_dir,
                http,
                p2p_port,
            })
            .await?,
        ],
        BenchCommand::Ledger {
            transactions,
            data_dir,
            http,
            p2p_port,
            adversarial,
        } => vec![
            crate::ledger_bench::run(crate::ledger_bench::LedgerBenchOptions {
                transactions,
                data_dir,
                http,
                p2p_port,
                adversarial,
            })
            .await?,
        ],
        BenchCommand::Sharing {
            data_dir,
            http,
            p2p_port,
            large_mb,
        } => vec![
            crate::sharing_bench::run(crate::sharing_bench::SharingBenchOptions {
                data_dir,
                http,
                p2p_port,
                large_mb,
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
