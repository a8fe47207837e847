//! `medchain up`: runs a local consortium of N validators, each a separate `medchain node`
//! process on 127.0.0.1, until Ctrl-C. The first start creates the genesis, keys and a demo
//! membership; later starts on the same data directory resume the same chain.

use crate::{
    demo,
    init::{self, Layout},
};
use anyhow::{Context as _, Result, bail};
use medchain_client::Client;
use std::{
    fs::OpenOptions,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// How long `up` waits for every validator's API to answer after starting it.
pub const NODE_START_TIMEOUT_MS: u64 = 60_000;
/// How long `up` waits for the chain to finalize its first block.
pub const FIRST_BLOCK_TIMEOUT_MS: u64 = 60_000;
/// How long a validator gets to stop after SIGTERM before it is killed.
pub const NODE_STOP_TIMEOUT_MS: u64 = 10_000;

pub struct UpOptions {
    pub validators: usize,
    pub data_dir: PathBuf,
    pub http: SocketAddr,
    pub p2p_base_port: u16,
    pub chain_name: String,
}

/// The running validator processes; dropping it stops them.
struct Consortium {
    children: Vec<(usize, Child)>,
}

impl Drop for Consortium {
    fn drop(&mut self) {
        stop_all(&mut self.children);
    }
}

pub async fn run(options: UpOptions) -> Result<()> {
    let layout = Layout::new(&options.data_dir);
    let fresh = !layout.genesis().exists();
    let genesis = if fresh {
        println!(
            "creating a new {}-validator consortium in {}",
            options.validators,
            options.data_dir.display()
        );
        init::create(
            &options.data_dir,
            options.validators,
            options.http,
            options.p2p_base_port,
            &options.chain_name,
        )?
    } else {
        let genesis = medchain_node::config::load_genesis(&layout.genesis())?;
        if genesis.validators.len() != options.validators {
            bail!(
                "{} holds a {}-validator chain; run with --validators {} or use another --data-dir",
                options.data_dir.display(),
                genesis.validators.len(),
                genesis.validators.len()
            );
        }
        println!("resuming the consortium in {}", options.data_dir.display());
        genesis
    };

    let exe = std::env::current_exe().context("cannot find the medchain executable")?;
    let mut consortium = Consortium {
        children: Vec::new(),
    };
    for index in 0..genesis.validators.len() {
        let child = spawn_node(&exe, &layout, index)?;
        consortium.children.push((index, child));
    }

    let urls: Vec<String> = genesis
        .validators
        .iter()
        .map(|v| format!("http://{}", v.http_address))
        .collect();
    let clients: Vec<Client> = urls
        .iter()
        .map(|u| Client::new(u))
        .collect::<Result<_, _>>()?;
    wait_until(
        NODE_START_TIMEOUT_MS,
        &mut consortium,
        &layout,
        async || {
            for client in &clients {
                if client.status().await.is_err() {
                    return false;
                }
            }
            true
        },
    )
    .await
    .context("validators did not start; see their node.log files")?;
    wait_until(
        FIRST_BLOCK_TIMEOUT_MS,
        &mut consortium,
        &layout,
        async || matches!(clients[0].status().await, Ok(s) if s.height >= 1),
    )
    .await
    .context("the consortium did not finalize a block; see the node.log files")?;

    if fresh {
        demo::populate(&clients[0], &layout)
            .await
            .context("demo membership could not be set up")?;
    }
    print_ready(&genesis, &urls, &layout);

    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = ticker.tick() => report_exits(&mut consortium, &layout),
        }
    }
    println!("stopping {} validators...", consortium.children.len());
    stop_all(&mut consortium.children);
    println!("stopped; run the same command again to resume this chain");
    Ok(())
}

fn spawn_node(exe: &Path, layout: &Layout, index: usize) -> Result<Child> {
    let log_path = layout.node_log(index);
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("cannot open {}", log_path.display()))?;
    let err = log.try_clone().context("cannot duplicate log handle")?;
    Command::new(exe)
        .arg("node")
        .arg("--config")
        .arg(layout.node_config(index))
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .spawn()
        .with_context(|| format!("cannot start validator {index}"))
}

/// Polls `ready` until it holds, failing early if a validator exits.
async fn wait_until(
    timeout_ms: u64,
    consortium: &mut Consortium,
    layout: &Layout,
    mut ready: impl AsyncFnMut() -> bool,
) -> Result<()> {
    let deadline = Instant::now() + Duration::from_millis(timeout_ms);
    loop {
        if ready().await {
            return Ok(());
        }
        for (index, child) in consortium.children.iter_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                bail!(
                    "validator {index} exited ({status}); its log is {}",
                    layout.node_log(*index).display()
                );
            }
        }
        if Instant::now() >= deadline {
            bail!("timed out after {timeout_ms} ms");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn report_exits(consortium: &mut Consortium, layout: &Layout) {
    consortium
        .children
        .retain_mut(|(index, child)| match child.try_wait() {
            Ok(Some(status)) => {
                eprintln!(
                    "validator {index} exited ({status}); the others continue. Log: {}",
                    layout.node_log(*index).display()
                );
                false
            }
            _ => true,
        });
}

fn stop_all(children: &mut Vec<(usize, Child)>) {
    for (_, child) in children.iter() {
        terminate(child);
    }
    let deadline = Instant::now() + Duration::from_millis(NODE_STOP_TIMEOUT_MS);
    for (_, child) in children.iter_mut() {
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if !matches!(child.try_wait(), Ok(Some(_))) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
    children.clear();
}

fn terminate(child: &Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
}

fn print_ready(genesis: &medchain_types::Genesis, urls: &[String], layout: &Layout) {
    println!();
    println!(
        "medchain consortium \"{}\" is ready: {} validators, chain id {}",
        genesis.chain_name,
        genesis.validators.len(),
        genesis.chain_id()
    );
    println!("  API:        {}/v1/status", urls[0]);
    for url in &urls[1..] {
        println!("              {url}/v1/status");
    }
    println!("  OpenAPI:    {}/v1/openapi.json", urls[0]);
    println!("  Metrics:    {}/metrics", urls[0]);
    println!(
        "  Logs:       {}",
        layout.root.join("validators/node-*/node.log").display()
    );
    println!(
        "  Identities: {} (demo keys for the CLI)",
        layout.identities().display()
    );
    println!("  Try:        medchain status --api {}", urls[0]);
    println!("Press Ctrl-C to stop.");
}
