//! The `medchain` command line: run a local consortium or one validator, manage keys, and
//! work with records, consent, access and audits through a node's API.

mod access;
mod audit;
mod commands;
mod consent;
mod demo;
mod emergency;
mod governance;
mod identity;
mod init;
mod join;
mod ledger_bench;
mod records;
mod sharing;
mod sharing_bench;
mod study;
mod study_bench;
mod up;

use anyhow::Result;

/// jemalloc instead of glibc malloc: under consensus load glibc kept ~190 MB per validator in
/// per-thread arenas beyond the ~95 MB of live heap (measured with heaptrack and smaps), and
/// jemalloc's decay returns such pages to the OS.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
use clap::{Parser, Subcommand};
use medchain_types::limits;
use std::{net::SocketAddr, path::PathBuf};

/// Default API address of the first local validator; the others use the following ports.
const DEFAULT_HTTP: &str = "127.0.0.1:8100";
/// Default p2p port of the first local validator.
const DEFAULT_P2P_BASE_PORT: u16 = 7100;
/// Default data directory of `medchain up`.
const DEFAULT_DATA_DIR: &str = ".medchain";

// The client must outwait a `?wait=true` submission, which the node holds up to its limit.
const _: () = assert!(medchain_client::REQUEST_TIMEOUT_MS > medchain_node::api::SUBMIT_WAIT_MAX_MS);

#[derive(Parser)]
#[command(
    name = "medchain",
    version,
    about = "A consortium blockchain for sharing medical records under patient consent"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a local consortium of validators and observers (separate processes on 127.0.0.1)
    /// until Ctrl-C.
    Up {
        /// Number of validators (n = 3f+1 tolerates f faulty ones).
        #[arg(long, default_value_t = 4)]
        validators: usize,
        /// Number of observer nodes (follow and verify every block, serve reads, never vote).
        #[arg(long, default_value_t = 1)]
        observers: usize,
        /// Where the chain, keys and logs live; an existing directory resumes its chain.
        #[arg(long, default_value = DEFAULT_DATA_DIR)]
        data_dir: PathBuf,
        /// HTTP API address of the first validator; the others take the next ports.
        #[arg(long, default_value = DEFAULT_HTTP)]
        http: SocketAddr,
        /// p2p port of the first validator; the others take the next ports.
        #[arg(long, default_value_t = DEFAULT_P2P_BASE_PORT)]
        p2p_port: u16,
        /// Blocks per consensus epoch of a new chain (a voted validator change waits for the
        /// next epoch boundary); ignored when resuming.
        #[arg(long, default_value_t = limits::EPOCH_LENGTH_DEFAULT_BLOCKS)]
        epoch_length_blocks: u64,
    },
    /// Run one node from its node.toml (as `up` does for each); its key decides whether it is a
    /// validator or an observer.
    Node {
        #[arg(long)]
        config: PathBuf,
    },
    /// Create a consortium's genesis, validator keys and node configurations without starting it.
    Init {
        #[arg(long, default_value_t = 4)]
        validators: usize,
        #[arg(long, default_value_t = 1)]
        observers: usize,
        #[arg(long, default_value = DEFAULT_DATA_DIR)]
        data_dir: PathBuf,
        #[arg(long, default_value = DEFAULT_HTTP)]
        http: SocketAddr,
        #[arg(long, default_value_t = DEFAULT_P2P_BASE_PORT)]
        p2p_port: u16,
        #[arg(long, default_value = "medchain-local")]
        chain_name: String,
        /// Blocks per consensus epoch (a voted validator change waits for the next boundary).
        #[arg(long, default_value_t = limits::EPOCH_LENGTH_DEFAULT_BLOCKS)]
        epoch_length_blocks: u64,
    },
    /// Prepare the node of an institution joining a running consortium as a validator: a new
    /// key, the consortium's genesis and a node.toml. Prints what the validators must vote.
    Join {
        /// The consortium's genesis.toml.
        #[arg(long)]
        genesis: PathBuf,
        /// The new node's directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// Where the new node listens for its peers (ip:port reachable by them).
        #[arg(long)]
        p2p: SocketAddr,
        /// Where its HTTP API listens.
        #[arg(long)]
        http: SocketAddr,
    },
    /// Create or inspect identity key files.
    #[command(subcommand)]
    Keys(commands::KeysCommand),
    /// Show a node's view of the chain.
    Status(commands::ApiArgs),
    /// Act as a patient: register pseudonyms.
    #[command(subcommand)]
    Patient(commands::PatientCommand),
    /// Write a record's content (encrypted, stored on the validators) and read it back.
    #[command(subcommand)]
    Record(records::RecordCommand),
    /// Grant or revoke consent (as a patient).
    #[command(subcommand)]
    Consent(consent::ConsentCommand),
    /// Request access to a record (as a clinician or researcher).
    #[command(subcommand)]
    Access(access::AccessCommand),
    /// Verify ledger contents with Merkle proofs against finalized headers.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Run an institution's break-glass key service.
    #[command(subcommand)]
    Emergency(emergency::EmergencyCommand),
    /// Change the consortium as a validator: propose and vote on validators and institutions.
    #[command(subcommand)]
    Governance(governance::GovernanceCommand),
    /// Privacy-preserving studies: propose, approve, enroll, contribute, and read status and
    /// results proven against the genesis.
    #[command(subcommand)]
    Study(study::StudyCommand),
    /// Measure performance against the machine's limits and peer libraries.
    #[command(subcommand)]
    Bench(commands::BenchCommand),
}

fn main() {
    let cli = Cli::parse();
    if let Err(error) = run(cli) {
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        // The validator owns its runtime (commonware's tokio runner), so it starts outside ours.
        Command::Node { config } => commands::node(&config),
        command => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(run_async(command))
        }
    }
}

async fn run_async(command: Command) -> Result<()> {
    match command {
        Command::Up {
            validators,
            observers,
            data_dir,
            http,
            p2p_port,
            epoch_length_blocks,
        } => {
            up::run(up::UpOptions {
                validators,
                observers,
                data_dir,
                http,
                p2p_base_port: p2p_port,
                chain_name: "medchain-local".to_string(),
                epoch_length_blocks,
            })
            .await
        }
        Command::Init {
            validators,
            observers,
            data_dir,
            http,
            p2p_port,
            chain_name,
            epoch_length_blocks,
        } => {
            let genesis = init::create(
                &data_dir,
                &init::ConsortiumSpec {
                    validators,
                    observers,
                    http_first: http,
                    p2p_base_port: p2p_port,
                    chain_name: &chain_name,
                    epoch_length_blocks,
                },
            )?;
            println!(
                "created consortium \"{}\" (chain id {}) with {} validators and {} observers in {}",
                genesis.chain_name,
                genesis.chain_id(),
                genesis.validators.len(),
                genesis.observers.len(),
                data_dir.display()
            );
            println!(
                "start it with: medchain up --data-dir {} --validators {validators} --observers {observers}",
                data_dir.display()
            );
            Ok(())
        }
        Command::Join {
            genesis,
            data_dir,
            p2p,
            http,
        } => {
            let joined = join::prepare(&genesis, &data_dir, p2p, http)?;
            println!("prepared a joining node in {}", data_dir.display());
            println!("  validator key:  {}", joined.validator_key);
            println!("  encryption key: {}", joined.encryption_key);
            println!("  validator proof:      {}", joined.validator_proof);
            println!("  encryption key proof: {}", joined.encryption_key_proof);
            println!("  p2p address:    {}", joined.p2p_address);
            println!("  http address:   {}", joined.http_address);
            println!(
                "ask the consortium's validators to propose and approve it:\n  {}",
                governance::add_validator_command_line(&joined)
            );
            println!(
                "start it now with: medchain node --config {}\nit follows the chain once admitted and votes from the next epoch boundary",
                joined.config.display()
            );
            Ok(())
        }
        Command::Keys(cmd) => commands::keys(cmd),
        Command::Status(args) => commands::status(args).await,
        Command::Patient(cmd) => commands::patient(cmd).await,
        Command::Record(cmd) => records::run(cmd).await,
        Command::Consent(cmd) => consent::run(cmd).await,
        Command::Access(cmd) => access::run(cmd).await,
        Command::Audit(cmd) => audit::run(cmd).await,
        Command::Emergency(cmd) => emergency::run(cmd).await,
        Command::Governance(cmd) => governance::run(cmd).await,
        Command::Study(cmd) => study::run(cmd).await,
        Command::Bench(cmd) => commands::bench(cmd).await,
        Command::Node { .. } => unreachable!("handled before the async runtime starts"),
    }
}
