//! `medchain emergency serve`: runs an institution's break-glass key service
//! (`medchain-emergency`) as its registered emergency-service member, until Ctrl-C.

use crate::commands::{ApiArgs, IdentityArgs, TrustArgs};
use anyhow::{Context as _, Result};
use clap::Subcommand;
use medchain_emergency::EmergencyService;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum EmergencyCommand {
    /// Run the institution's emergency key service: it hands a record's key to one of its
    /// clinicians only for a final, flagged break-glass read, and logs each hand-over.
    Serve {
        /// The service's member identity (role emergency_service).
        #[command(flatten)]
        identity: IdentityArgs,
        #[command(flatten)]
        api: ApiArgs,
        #[command(flatten)]
        trust: TrustArgs,
        /// Where the service listens for its clinicians.
        #[arg(long, default_value = "127.0.0.1:8300")]
        listen: SocketAddr,
        /// Where its release log lives.
        #[arg(long)]
        dir: PathBuf,
    },
}

pub async fn run(cmd: EmergencyCommand) -> Result<()> {
    let EmergencyCommand::Serve {
        identity,
        api,
        trust,
        listen,
        dir,
    } = cmd;
    crate::commands::init_logging();
    let keys = identity.load()?.member_keys()?;
    let client = trust.client(&api)?;
    let service = EmergencyService::open(keys, client, &dir)
        .await
        .context("the emergency key service cannot start")?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    println!(
        "emergency key service of {} ({}) listening on http://{listen}",
        service.institution(),
        service.account()
    );
    tokio::select! {
        served = service.serve(listener) => served.context("the emergency key service stopped")?,
        _ = tokio::signal::ctrl_c() => println!("stopped"),
    }
    Ok(())
}
