//! `medchain up`: runs a local consortium of N validators and M observers, each a separate
//! `medchain node` process on 127.0.0.1, until Ctrl-C. The first start creates the genesis, keys and a demo
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
    pub observers: usize,
    pub data_dir: PathBuf,
    pub http: SocketAddr,
    pub p2p_base_port: u16,
    pub chain_name: String,
    /// Used only when the data directory is new.
    pub epoch_length_blocks: u64,
}

/// One running `medchain node` process.
struct NodeProcess {
    /// `validator 2` or `observer 0`, for messages.
    name: String,
    log: PathBuf,
    child: Child,
}

/// The running node processes; dropping it stops them.
struct Consortium {
    children: Vec<NodeProcess>,
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
            "creating a new consortium of {} validators and {} observers in {}",
            options.validators,
            options.observers,
            options.data_dir.display()
        );
        init::create(
            &options.data_dir,
            &init::ConsortiumSpec {
                validators: options.validators,
                observers: options.observers,
                http_first: options.http,
                p2p_base_port: options.p2p_base_port,
                chain_name: &options.chain_name,
                epoch_length_blocks: options.epoch_length_blocks,
            },
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
        if genesis.observers.len() != options.observers {
            bail!(
                "{} holds a chain with {} observers; run with --observers {} or use another --data-dir",
                options.data_dir.display(),
                genesis.observers.len(),
                genesis.observers.len()
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
        let node = spawn_node(
            &exe,
            format!("validator {index}"),
            &layout.node_config(index),
            layout.node_log(index),
        )?;
        consortium.children.push(node);
    }
    for index in 0..genesis.observers.len() {
        let node = spawn_node(
            &exe,
            format!("observer {index}"),
            &layout.observer_config(index),
            layout.observer_log(index),
        )?;
        consortium.children.push(node);
    }

    let urls: Vec<String> = genesis
        .validators
        .iter()
        .map(|v| &v.http_address)
        .chain(genesis.observers.iter().map(|o| &o.http_address))
        .map(|address| format!("http://{address}"))
        .collect();
    let clients: Vec<Client> = urls
        .iter()
        .map(|u| Client::new(u))
        .collect::<Result<_, _>>()?;
    wait_until(NODE_START_TIMEOUT_MS, &mut consortium, async || {
        for client in &clients {
            if client.status().await.is_err() {
                return false;
            }
        }
        true
    })
    .await
    .context("nodes did not start; see their node.log files")?;
    wait_until(
        FIRST_BLOCK_TIMEOUT_MS,
        &mut consortium,
        async || matches!(clients[0].status().await, Ok(s) if s.height >= 1),
    )
    .await
    .context("the consortium did not finalize a block; see the node.log files")?;

    let services =
        spawn_emergency_services(&exe, &layout, &urls[0], options.http, &mut consortium)?;
    let service_clients: Vec<Client> = services
        .iter()
        .map(|(_, url)| Client::new(url))
        .collect::<Result<_, _>>()?;
    wait_until(NODE_START_TIMEOUT_MS, &mut consortium, async || {
        for client in &service_clients {
            if client.get::<serde_json::Value>("/v1/status").await.is_err() {
                return false;
            }
        }
        true
    })
    .await
    .context("the emergency key services did not start; see their service.log files")?;
    if fresh {
        demo::populate(&clients[0], &layout, &services)
            .await
            .context("demo membership could not be set up")?;
    }
    print_ready(&genesis, &urls, &services, &layout);

    // Proven against the genesis: "ready" means a finalized block holds the key.
    let verified = clients[0]
        .clone()
        .trusting(medchain_client::Trust::new(genesis.clone()));
    let mut analytics_key_ready = false;
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = ticker.tick() => {
                report_exits(&mut consortium);
                if !analytics_key_ready && let Ok(key) = verified.analytics_key().await {
                    analytics_key_ready = true;
                    println!("analytics key ready (the validators' DKG key, adopted at height {})", key.value.since_height);
                }
            }
        }
    }
    println!("stopping {} processes...", consortium.children.len());
    stop_all(&mut consortium.children);
    println!("stopped; run the same command again to resume this chain");
    Ok(())
}

fn spawn_node(exe: &Path, name: String, config: &Path, log_path: PathBuf) -> Result<NodeProcess> {
    let args = ["node".as_ref(), "--config".as_ref(), config.as_os_str()];
    spawn(exe, name, &args, log_path)
}

/// Starts each hospital's emergency key service (`medchain emergency serve`) as its demo
/// identity, reading the ledger through the first validator; answers their URLs.
fn spawn_emergency_services(
    exe: &Path,
    layout: &Layout,
    api: &str,
    http_first: SocketAddr,
    consortium: &mut Consortium,
) -> Result<Vec<(String, String)>> {
    let mut urls = Vec::new();
    for (index, (name, institution)) in init::EMERGENCY_SERVICES.into_iter().enumerate() {
        let port = http_first
            .port()
            .checked_add(init::EMERGENCY_SERVICE_PORT_OFFSET + index as u16)
            .context("emergency service port out of range; choose a lower --http port")?;
        let listen = SocketAddr::new(http_first.ip(), port);
        let dir = layout.emergency_dir(institution);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let (listen_arg, genesis) = (listen.to_string(), layout.genesis());
        let args = [
            "emergency".as_ref(),
            "serve".as_ref(),
            "--as".as_ref(),
            name.as_ref(),
            "--data-dir".as_ref(),
            layout.root.as_os_str(),
            "--api".as_ref(),
            api.as_ref(),
            "--genesis".as_ref(),
            genesis.as_os_str(),
            "--listen".as_ref(),
            listen_arg.as_ref(),
            "--dir".as_ref(),
            dir.as_os_str(),
        ];
        let service = spawn(
            exe,
            format!("{institution}'s emergency key service"),
            &args,
            dir.join("service.log"),
        )?;
        consortium.children.push(service);
        urls.push((institution.to_string(), format!("http://{listen}")));
    }
    Ok(urls)
}

fn spawn(
    exe: &Path,
    name: String,
    args: &[&std::ffi::OsStr],
    log_path: PathBuf,
) -> Result<NodeProcess> {
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("cannot open {}", log_path.display()))?;
    let err = log.try_clone().context("cannot duplicate log handle")?;
    let child = Command::new(exe)
        .args(args)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .spawn()
        .with_context(|| format!("cannot start {name}"))?;
    Ok(NodeProcess {
        name,
        log: log_path,
        child,
    })
}

/// Polls `ready` until it holds, failing early if a node exits.
async fn wait_until(
    timeout_ms: u64,
    consortium: &mut Consortium,
    mut ready: impl AsyncFnMut() -> bool,
) -> Result<()> {
    let deadline = Instant::now() + Duration::from_millis(timeout_ms);
    loop {
        if ready().await {
            return Ok(());
        }
        for node in consortium.children.iter_mut() {
            if let Ok(Some(status)) = node.child.try_wait() {
                bail!(
                    "{} exited ({status}); its log is {}",
                    node.name,
                    node.log.display()
                );
            }
        }
        if Instant::now() >= deadline {
            bail!("timed out after {timeout_ms} ms");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn report_exits(consortium: &mut Consortium) {
    consortium
        .children
        .retain_mut(|node| match node.child.try_wait() {
            Ok(Some(status)) => {
                eprintln!(
                    "{} exited ({status}); the others continue. Log: {}",
                    node.name,
                    node.log.display()
                );
                false
            }
            _ => true,
        });
}

fn stop_all(children: &mut Vec<NodeProcess>) {
    for node in children.iter() {
        terminate(&node.child);
    }
    let deadline = Instant::now() + Duration::from_millis(NODE_STOP_TIMEOUT_MS);
    for NodeProcess { child, .. } in children.iter_mut() {
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

fn print_ready(
    genesis: &medchain_types::Genesis,
    urls: &[String],
    services: &[(String, String)],
    layout: &Layout,
) {
    println!();
    println!(
        "medchain consortium \"{}\" is ready: {} validators, {} observers, chain id {}",
        genesis.chain_name,
        genesis.validators.len(),
        genesis.observers.len(),
        genesis.chain_id()
    );
    let validators = genesis.validators.len();
    println!("  API:        {}/v1/status", urls[0]);
    for url in &urls[1..validators] {
        println!("              {url}/v1/status");
    }
    for url in &urls[validators..] {
        println!("  Observer:   {url}/v1/status (read-only replica, verifies every block)");
    }
    for (index, (institution, url)) in services.iter().enumerate() {
        let label = if index == 0 { "Emergency:" } else { "" };
        println!("  {label:<11} {url} ({institution}'s break-glass key service)");
    }
    println!("  OpenAPI:    {}/v1/openapi.json", urls[0]);
    println!("  Metrics:    {}/metrics", urls[0]);
    println!(
        "  Logs:       {}",
        layout
            .root
            .join("{validators,observers}/node-*/node.log")
            .display()
    );
    println!(
        "  Identities: {} (demo keys for the CLI)",
        layout.identities().display()
    );
    println!("  Try:        medchain status --api {}", urls[0]);
    println!("Press Ctrl-C to stop.");
}
