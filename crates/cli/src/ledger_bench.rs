//! `medchain bench ledger`: drives signed transactions into a local 4-validator consortium (real
//! `medchain node` processes on 127.0.0.1) and reports sustained committed TPS, commit latency
//! at half that rate, and the validators' peak memory, against the machine's own limit measured
//! in the same run: Ed25519 single verifications per second on all cores, divided by the number
//! of validators (every validator verifies every transaction).
//!
//! Envelope: on this 2-core machine the four validators, the load generator and the API share
//! two cores, so the CPU bound is signature checks (admission + execution on each validator)
//! plus state writes; the network is loopback and the disk sees a few hundred bytes per
//! transaction per validator.
//!
//! With `--adversarial` the saturating load also runs beside `SPAM_SENDERS` adversarial
//! senders, between two clean runs, and `spam_ratio` is the honest committed TPS under spam over
//! the mean of the clean runs'. A run's registration costs what an honest transaction costs
//! (an admission, an execution on all four validators); its second transaction is refused at
//! admission by two state reads and a mempool lookup, before the signature check, so nothing
//! built to fail reaches block building. Each adversarial sender connects from its own loopback
//! address (127.0.0.2 and up), so once its refusals pass the nodes' per-client admission budget
//! its submissions are held back unread (`medchain_node::ratelimit::AdmissionPenalty`). The spam
//! then takes from the honest load about the share of registrations its senders get in.

use crate::init::{self, Layout};
use anyhow::{Context as _, Result, bail};
use commonware_cryptography::{Signer as _, Verifier as _, ed25519};
use medchain_client::Client;
use medchain_types::{AccountId, ChainId, InstitutionId, SignedTransaction, Transaction};
use std::{
    collections::HashMap,
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};
use tokio::sync::Mutex;

/// Blocks per epoch of the benchmark's chain: short enough that a run crosses several epoch
/// boundaries (each starts a new consensus instance) under load, as a long-lived chain does.
const BENCH_EPOCH_LENGTH_BLOCKS: u64 = 100;
const VALIDATORS: usize = 4;
/// Requests in flight at once from the load generator.
const SUBMITTERS: usize = 64;
/// How long the reference measurement runs on each core.
const REFERENCE_MS: u64 = 2_000;
/// How long the paced (half-rate) latency phase runs.
const PACED_PHASE_MS: u64 = 10_000;
const HOSPITAL: &str = "st-mary-hospital";
/// Adversarial senders in the spammed run, each submitting runs built to fail at block building.
const SPAM_SENDERS: usize = 50;
/// Transactions in one spam run: a registration, a second registration of the same key, then
/// nonce-gap followers. Admission lets a key the ledger does not know have one waiting
/// transaction, so each run gets its (valid) registration in and its second transaction is
/// refused before any signature check; the sender then moves on to a fresh key.
const SPAM_RUN_TRANSACTIONS: u64 = 64;
/// Runs signed in advance per adversarial sender (the attacker's signing is not the ledger's
/// work to measure); a sender that has used them all replays them until the run ends.
const SPAM_RUNS_PER_SENDER: u64 = 40;
/// First key seed of the spam runs, clear of the honest phases' keys.
const SPAM_KEY_SEED_BASE: u64 = 3_000_000_000;

pub struct LedgerBenchOptions {
    pub transactions: u64,
    pub data_dir: Option<PathBuf>,
    pub http: SocketAddr,
    pub p2p_port: u16,
    pub adversarial: bool,
}

/// The benchmark's node processes, killed on drop.
pub(crate) struct Nodes(pub(crate) Vec<Child>);

impl Drop for Nodes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Ed25519 single verifications per second on all cores (commonware's implementation, the one
/// the ledger uses).
/// How long a submitter waits before retrying a transaction a full mempool refused.
const MEMPOOL_FULL_RETRY_MS: u64 = 50;

/// The per-client API rate the benchmark's nodes allow: far above what one machine can submit.
const BENCH_CLIENT_REQUESTS_PER_SECOND: i64 = 1_000_000;

fn verification_limit_per_second() -> f64 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let handles: Vec<_> = (0..cores)
        .map(|i| {
            std::thread::spawn(move || {
                let key = ed25519::PrivateKey::from_seed(i as u64);
                let public = key.public_key();
                let message = [7u8; 200];
                let signature = key.sign(b"medchain/bench", &message);
                let started = Instant::now();
                let mut count = 0u64;
                while started.elapsed() < Duration::from_millis(REFERENCE_MS) {
                    assert!(public.verify(b"medchain/bench", &message, &signature));
                    count += 1;
                }
                count as f64 / started.elapsed().as_secs_f64()
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap_or(0.0)).sum()
}

/// Key `seed`'s registration of its pseudonym at the hospital, signed with `nonce`: co-signed by
/// the hospital's `registrar` (its admin) as the ledger requires, with a real Umbral key and its
/// proof of possession.
pub(crate) fn registration(
    chain_id: ChainId,
    registrar: &ed25519::PrivateKey,
    seed: u64,
    nonce: u64,
) -> Result<SignedTransaction> {
    let key = ed25519::PrivateKey::from_seed(seed);
    let pre = medchain_crypto::umbral::SecretKey::from_be_bytes(
        blake3::hash(&seed.to_be_bytes()).as_bytes(),
    )?;
    let payload = medchain_state::registration::register_pseudonym(
        &chain_id,
        &key,
        &pre,
        InstitutionId::new(HOSPITAL)?,
        registrar,
    );
    Ok(SignedTransaction::sign(
        &key,
        Transaction {
            chain_id,
            sender: AccountId(key.public_key()),
            nonce,
            payload,
        },
    ))
}

/// Pseudonym registrations by fresh keys, each at nonce 0.
pub(crate) fn registrations(
    chain_id: ChainId,
    registrar: &ed25519::PrivateKey,
    first: u64,
    count: u64,
) -> Result<Vec<SignedTransaction>> {
    (first..first + count)
        .map(|seed| registration(chain_id, registrar, seed, 0))
        .collect()
}

/// Adversarial sender `sender`'s runs: each a fresh key registering at every nonce, so that the
/// second registration fails at block building and leaves the rest as nonce gaps. The spammers
/// hold a registrar's co-signature, as a misbehaving or compromised institution would.
fn spam_runs(
    chain_id: ChainId,
    registrar: &ed25519::PrivateKey,
    sender: usize,
) -> Result<Vec<Vec<SignedTransaction>>> {
    (0..SPAM_RUNS_PER_SENDER)
        .map(|run| {
            let seed = SPAM_KEY_SEED_BASE + sender as u64 * 1_000 + run;
            (0..SPAM_RUN_TRANSACTIONS)
                .map(|nonce| registration(chain_id, registrar, seed, nonce))
                .collect()
        })
        .collect()
}

/// What the adversarial senders got through admission.
#[derive(Default)]
struct SpamTally {
    runs: u64,
    admitted: u64,
    refused: u64,
}

/// Submits `runs` one transaction at a time until `stop`, moving to the next run at the first
/// refusal. Once every run was tried the sender starts over, so the pressure lasts the whole
/// spammed run: the keys are registered by then, and each replay is refused at admission by
/// its nonce, before its signature is checked.
async fn spam(
    client: Client,
    runs: Vec<Vec<SignedTransaction>>,
    stop: Arc<AtomicBool>,
) -> SpamTally {
    let mut tally = SpamTally::default();
    'runs: for run in runs.iter().cycle() {
        tally.runs += 1;
        for tx in run {
            if stop.load(Ordering::Relaxed) {
                break 'runs;
            }
            match client.submit(tx, false).await {
                Ok(_) => tally.admitted += 1,
                Err(_) => {
                    tally.refused += 1;
                    break;
                }
            }
        }
    }
    tally
}

/// Proposals over their execution budget so far, summed over the validators' `/metrics`.
async fn proposals_over_budget(clients: &[Client]) -> Result<u64> {
    let http = reqwest::Client::new();
    let mut total = 0u64;
    for client in clients {
        let text = http
            .get(format!("{}/metrics", client.base_url()))
            .send()
            .await?
            .text()
            .await?;
        let value = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .find(|l| {
                l.split_whitespace()
                    .next()
                    .is_some_and(|name| name.ends_with("proposer_over_budget_total"))
            })
            .and_then(|l| l.split_whitespace().last())
            .and_then(|v| v.parse::<f64>().ok())
            .context("a validator's /metrics has no proposer_over_budget_total")?;
        total += value as u64;
    }
    Ok(total)
}

/// The benchmark measures the ledger, not the API's per-client protection: its single load
/// generator on 127.0.0.1 would otherwise be throttled as one client.
fn lift_client_rate_limit(node_toml: &std::path::Path) -> Result<()> {
    let text = std::fs::read_to_string(node_toml)?;
    let mut config: toml::Table = toml::from_str(&text)?;
    config.insert(
        "api_requests_per_second_per_client".into(),
        toml::Value::Integer(BENCH_CLIENT_REQUESTS_PER_SECOND),
    );
    std::fs::write(node_toml, toml::to_string(&config)?)?;
    Ok(())
}

/// Submission instants by transaction hash, and commit instants as blocks are observed.
#[derive(Default)]
struct Ledgerbook {
    submitted: HashMap<String, Instant>,
    committed: HashMap<String, Instant>,
}

/// Follows finalized blocks on one validator, recording when each transaction was first seen.
async fn follow(
    client: Client,
    book: Arc<Mutex<Ledgerbook>>,
    until: u64,
    mut next_height: u64,
) -> Result<()> {
    loop {
        let height = client.status().await?.height;
        while next_height <= height {
            let block = client.block(next_height).await?;
            let now = Instant::now();
            let mut book = book.lock().await;
            // Only this phase's own transactions count (not the spam's, nor stragglers').
            for hash in block.transaction_hashes {
                if book.submitted.contains_key(&hash) {
                    book.committed.entry(hash).or_insert(now);
                }
            }
            next_height += 1;
        }
        if book.lock().await.committed.len() as u64 >= until {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Submits `txs` with `SUBMITTERS` requests in flight, optionally paced to `rate` per second.
async fn submit_all(
    clients: &[Client],
    txs: Vec<SignedTransaction>,
    rate: Option<f64>,
    book: Arc<Mutex<Ledgerbook>>,
) -> Result<()> {
    // First in, first out: the pacing below gives each transaction its due time by position.
    let queue = Arc::new(Mutex::new(
        txs.into_iter()
            .enumerate()
            .collect::<std::collections::VecDeque<_>>(),
    ));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..SUBMITTERS {
        let client = clients[worker % clients.len()].clone();
        let queue = queue.clone();
        let book = book.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let Some((index, tx)) = queue.lock().await.pop_front() else {
                    return Ok::<_, anyhow::Error>(());
                };
                if let Some(rate) = rate {
                    let due = started + Duration::from_secs_f64(index as f64 / rate);
                    tokio::time::sleep_until(due.into()).await;
                }
                book.lock()
                    .await
                    .submitted
                    .insert(tx.hash().to_string(), Instant::now());
                submit_with_backpressure(&client, &tx).await?;
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(())
}

/// Submits one transaction, waiting and retrying while the node's mempool is full, as a
/// well-behaved client does: the saturating phase offers load faster than the chain commits.
async fn submit_with_backpressure(client: &Client, tx: &SignedTransaction) -> Result<()> {
    loop {
        match client.submit(tx, false).await {
            Ok(_) => return Ok(()),
            Err(medchain_client::ClientError::Api {
                code: medchain_types::api::ApiErrorCode::MempoolFull,
                ..
            }) => {
                tokio::time::sleep(Duration::from_millis(MEMPOOL_FULL_RETRY_MS)).await;
            }
            Err(e) => return Err(e).context("a benchmark transaction was refused"),
        }
    }
}

/// Submits `txs` as fast as the API admits them and returns the committed TPS, from the first
/// submission until validator 0 has seen every one of them in a finalized block.
pub(crate) async fn saturate(clients: &[Client], txs: Vec<SignedTransaction>) -> Result<f64> {
    let count = txs.len() as u64;
    let book = Arc::new(Mutex::new(Ledgerbook::default()));
    let start_height = clients[0].status().await?.height + 1;
    let follower = tokio::spawn(follow(
        clients[0].clone(),
        book.clone(),
        count,
        start_height,
    ));
    let started = Instant::now();
    submit_all(clients, txs, None, book).await?;
    follower.await??;
    Ok(count as f64 / started.elapsed().as_secs_f64())
}

/// Adversarial sender `sender`'s own loopback address (127.0.0.2 and up; the honest load comes
/// from 127.0.0.1), so that the nodes' per-client admission penalty sees each attacker apart
/// from the honest clients, as it would on a network.
fn spammer_address(sender: usize) -> std::net::IpAddr {
    const { assert!(SPAM_SENDERS < 250, "each spammer needs its own 127.0.0.x") };
    std::net::Ipv4Addr::new(127, 0, 0, 2 + (sender % 250) as u8).into()
}

/// The saturating load beside the adversarial senders; returns the honest committed TPS and
/// what the spam got through admission.
async fn saturate_under_spam(
    clients: &[Client],
    txs: Vec<SignedTransaction>,
    spam_runs: Vec<Vec<Vec<SignedTransaction>>>,
) -> Result<(f64, SpamTally)> {
    let stop = Arc::new(AtomicBool::new(false));
    let spammers: Vec<_> = spam_runs
        .into_iter()
        .enumerate()
        .map(|(sender, runs)| {
            let node = clients[sender % clients.len()].base_url();
            let client = Client::from_local_address(node, spammer_address(sender))?;
            Ok(tokio::spawn(spam(client, runs, stop.clone())))
        })
        .collect::<Result<_>>()?;
    let honest = saturate(clients, txs).await;
    stop.store(true, Ordering::Relaxed);
    let mut tally = SpamTally::default();
    for spammer in spammers {
        let one = spammer.await?;
        tally.runs += one.runs;
        tally.admitted += one.admitted;
        tally.refused += one.refused;
    }
    Ok((honest?, tally))
}

pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Peak resident memory of a process in MiB (VmHWM), 0 if unknown.
pub(crate) fn peak_rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_string)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// A fresh local consortium of `VALIDATORS` real `medchain node` processes in `dir` (which must
/// not exist), each allowing any request rate (the benchmark's clients share 127.0.0.1), once
/// every node has finalized a block; the nodes stop when the returned guard drops.
pub(crate) async fn start_consortium(
    dir: &std::path::Path,
    http: SocketAddr,
    p2p_port: u16,
    chain_name: &str,
) -> Result<(Nodes, Vec<Client>)> {
    if dir.exists() {
        bail!(
            "{} exists; the benchmark needs a fresh directory",
            dir.display()
        );
    }
    init::create(
        dir,
        &init::ConsortiumSpec {
            validators: VALIDATORS,
            observers: 0,
            http_first: http,
            p2p_base_port: p2p_port,
            chain_name,
            epoch_length_blocks: BENCH_EPOCH_LENGTH_BLOCKS,
        },
    )?;
    let layout = Layout::new(dir);
    for i in 0..VALIDATORS {
        lift_client_rate_limit(&layout.node_config(i))?;
    }
    let exe = std::env::current_exe()?;
    let mut nodes = Nodes(Vec::new());
    for i in 0..VALIDATORS {
        let log = std::fs::File::create(layout.node_log(i))?;
        nodes.0.push(
            Command::new(&exe)
                .args(["node", "--config"])
                .arg(layout.node_config(i))
                // Quiet by default; MEDCHAIN_BENCH_NODE_LOG (a RUST_LOG filter) to investigate.
                .env(
                    "RUST_LOG",
                    std::env::var("MEDCHAIN_BENCH_NODE_LOG").unwrap_or_else(|_| "warn".into()),
                )
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()?,
        );
    }
    let clients: Vec<Client> = (0..VALIDATORS)
        .map(|i| {
            init::addresses(http, p2p_port, i)
                .and_then(|(_, http)| Ok(Client::new(&format!("http://{http}"))?))
        })
        .collect::<Result<_>>()?;
    let deadline = Instant::now() + Duration::from_secs(60);
    for client in &clients {
        while !matches!(client.status().await, Ok(s) if s.height >= 1) {
            if Instant::now() > deadline {
                bail!(
                    "the benchmark consortium did not start; see {}",
                    dir.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok((nodes, clients))
}

pub async fn run(options: LedgerBenchOptions) -> Result<String> {
    println!(
        "reference: Ed25519 single verifications on all cores for {} ms...",
        REFERENCE_MS
    );
    let verifications = tokio::task::spawn_blocking(verification_limit_per_second).await?;
    let limit_tps = verifications / VALIDATORS as f64;
    println!(
        "  {verifications:.0} verifications/s -> limit {limit_tps:.0} TPS for {VALIDATORS} validators"
    );

    let dir = options.data_dir.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("medchain-bench-{}", std::process::id()))
    });
    let (nodes, clients) =
        start_consortium(&dir, options.http, options.p2p_port, "medchain-bench").await?;
    let layout = Layout::new(&dir);
    let chain_id: ChainId =
        crate::commands::parse_id(&clients[0].status().await?.chain_id, "chain id")?;
    let registrar = crate::identity::IdentityFile::load(&layout.identities())?
        .get(&format!("admin-{HOSPITAL}"))?
        .member_keys()?
        .signing;
    let phase2_registrar = registrar.clone();
    let spam_registrar = registrar.clone();

    // Phase 1: saturate.
    println!("signing {} transactions...", options.transactions);
    let txs = tokio::task::spawn_blocking(move || {
        registrations(chain_id, &registrar, 1_000_000, options.transactions)
    })
    .await??;
    let over_budget_start = proposals_over_budget(&clients).await?;
    let tps = saturate(&clients, txs).await?;
    println!(
        "saturated: {} committed = {tps:.0} TPS",
        options.transactions
    );
    let spam_summary = if options.adversarial {
        Some(
            adversarial(
                &clients,
                chain_id,
                &spam_registrar,
                options.transactions,
                tps,
                over_budget_start,
            )
            .await?,
        )
    } else {
        None
    };

    // Phase 2: half the sustained rate, for latency.
    let rate = (tps / 2.0).max(1.0);
    let paced = ((rate * PACED_PHASE_MS as f64 / 1000.0) as u64).max(10);
    let txs = tokio::task::spawn_blocking(move || {
        registrations(chain_id, &phase2_registrar, 50_000_000, paced)
    })
    .await??;
    let book = Arc::new(Mutex::new(Ledgerbook::default()));
    let start_height = clients[0].status().await?.height + 1;
    let follower = tokio::spawn(follow(
        clients[0].clone(),
        book.clone(),
        paced,
        start_height,
    ));
    submit_all(&clients, txs, Some(rate), book.clone()).await?;
    follower.await??;
    let book = book.lock().await;
    let mut latencies: Vec<f64> = book
        .submitted
        .iter()
        .filter_map(|(hash, at)| {
            book.committed
                .get(hash)
                .map(|c| c.duration_since(*at).as_secs_f64() * 1000.0)
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let (p50, p99) = (percentile(&latencies, 0.5), percentile(&latencies, 0.99));
    println!(
        "paced at {rate:.0} TPS: commit latency p50 {p50:.0} ms, p99 {p99:.0} ms over {} transactions",
        latencies.len()
    );

    let end = clients[0].status().await?;
    println!(
        "chain at height {} in consensus epoch {} (a new simplex instance every {} blocks)",
        end.height, end.epoch, BENCH_EPOCH_LENGTH_BLOCKS
    );
    let rss = nodes
        .0
        .iter()
        .map(|c| peak_rss_mb(c.id()))
        .fold(0.0, f64::max);
    drop(nodes);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(format!(
        "ledger tps={tps:.0} limit_tps={limit_tps:.0} ratio={:.3} p50_ms={p50:.0} p99_ms={p99:.0} rss_mb={rss:.0}{}",
        tps / limit_tps,
        spam_summary.unwrap_or_default()
    ))
}

/// The spammed run and a second clean run after it (so that the clean reference brackets the
/// spammed run as the state grows); returns the summary line's adversarial fields.
async fn adversarial(
    clients: &[Client],
    chain_id: ChainId,
    registrar: &ed25519::PrivateKey,
    transactions: u64,
    clean_tps: f64,
    over_budget_start: u64,
) -> Result<String> {
    println!(
        "signing {transactions} honest and {} spam transactions for the spammed run...",
        SPAM_SENDERS as u64 * SPAM_RUNS_PER_SENDER * SPAM_RUN_TRANSACTIONS
    );
    let registrar = registrar.clone();
    let (honest, second_clean, runs) = tokio::task::spawn_blocking(move || -> Result<_> {
        let runs = (0..SPAM_SENDERS)
            .map(|s| spam_runs(chain_id, &registrar, s))
            .collect::<Result<Vec<_>>>()?;
        Ok((
            registrations(chain_id, &registrar, 100_000_000, transactions)?,
            registrations(chain_id, &registrar, 200_000_000, transactions)?,
            runs,
        ))
    })
    .await??;
    let over_budget_clean = proposals_over_budget(clients).await? - over_budget_start;
    let (spam_tps, tally) = saturate_under_spam(clients, honest, runs).await?;
    let over_budget_spam =
        proposals_over_budget(clients).await? - over_budget_start - over_budget_clean;
    println!(
        "under spam from {SPAM_SENDERS} senders: {transactions} honest committed = {spam_tps:.0} TPS; spam runs {}, admitted {}, refused at admission {}",
        tally.runs, tally.admitted, tally.refused
    );
    let before = proposals_over_budget(clients).await?;
    let second_tps = saturate(clients, second_clean).await?;
    let over_budget_clean = over_budget_clean + proposals_over_budget(clients).await? - before;
    println!("saturated again (clean): {transactions} committed = {second_tps:.0} TPS");
    let reference = (clean_tps + second_tps) / 2.0;
    let spam_ratio = spam_tps / reference;
    println!(
        "spam_ratio {spam_ratio:.3} = {spam_tps:.0} / mean({clean_tps:.0}, {second_tps:.0}); proposals over the execution budget: {over_budget_clean} clean, {over_budget_spam} under spam"
    );
    Ok(format!(
        " spam_ratio={spam_ratio:.3} spam_tps={spam_tps:.0} spam_admitted={} over_budget_clean={over_budget_clean} over_budget_spam={over_budget_spam}",
        tally.admitted
    ))
}
