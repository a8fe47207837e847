//! `medchain bench study`: the cryptographic costs of a study (`medchain_bench::study`: one
//! contribution's verification on one core, the release, and the phe and Prio3 peers), then a
//! study on a local 4-validator consortium of real `medchain node` processes: anonymous
//! contributions of a 16-bit value, each ring-signed among 64 enrolled pseudonyms from its own
//! one-time key, committed as fast as the validators verify them, plus one contribution from
//! each of the consortium's 4 institutions. Committed contributions per second are compared
//! with the limit the same run measured: cores × contributions one core verifies per second ÷
//! validators (every validator verifies every contribution, on this one machine's cores).
//!
//! The release on the ledger is measured on a second study of the same spec (so the same
//! discrete-log bound) closed by the nodes at its deadline: from the block that closed it to
//! the block holding its result, consensus rounds included.

use crate::init::Layout;
use crate::ledger_bench::{registrations, saturate, start_consortium};
use anyhow::{Context as _, Result, bail};
use commonware_cryptography::{Signer as _, ed25519};
use medchain_client::{Client, Trust};
use medchain_crypto::ring::{RingPublicKey, RingSecretKey};
use medchain_crypto::rng::seeded_u64;
use medchain_state::{StudyEntry, StudyStatus, study_payloads};
use medchain_types::limits::STUDY_DEADLINE_MAX_BLOCKS;
use medchain_types::{
    AccountId, ChainId, CohortFilter, MembershipChange, Payload, ProposalId, SignedTransaction,
    StudyId, StudySpec, Transaction, TxHash,
};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const VALIDATORS: usize = 4;
/// Members of every anonymous contribution's ring.
const RING_MEMBERS: usize = 64;
const VALUE_MAX: u64 = 65_535;
/// Values each institution contributes.
const INSTITUTION_VALUES: usize = 10;
const INSTITUTIONS: [&str; 4] = [
    "st-mary-hospital",
    "riverside-hospital",
    "central-lab",
    "health-regulator",
];
/// Seeds of the benchmark's pseudonyms (and their ring keys), far from the ledger bench's.
const PSEUDONYM_SEED_BASE: u64 = 7_000_000_000;
const ONE_TIME_SEED_BASE: u64 = 8_000_000_000;
const COMMIT_RATIO_TARGET: f64 = 0.5;
/// Blocks the release study stays open (its three contributions land well within).
const RELEASE_STUDY_BLOCKS: u64 = 40;
const WAIT_MAX: Duration = Duration::from_secs(600);

pub struct StudyBenchOptions {
    pub contributions: u64,
    pub data_dir: Option<PathBuf>,
    pub http: SocketAddr,
    pub p2p_port: u16,
}

/// The value of `key=` in a summary line.
fn summary_value(line: &str, key: &str) -> Result<f64> {
    line.split_whitespace()
        .find_map(|field| field.strip_prefix(&format!("{key}=")))
        .with_context(|| format!("no {key} in {line}"))?
        .parse()
        .with_context(|| format!("{key} in {line}"))
}

fn spec(values_max: u64, deadline_height: u64) -> StudySpec {
    StudySpec {
        field: "bench-value".into(),
        unit: "unit".into(),
        scale_divisor: 1,
        lo: 0,
        hi: VALUE_MAX,
        cohort: CohortFilter::default(),
        sum_of_squares: false,
        histogram: vec![],
        min_cohort: 3,
        values_max,
        deadline_height,
        ring_size: RING_MEMBERS as u32,
        epsilon_milli: None,
    }
}

async fn committed(client: &Client, key: &ed25519::PrivateKey, payload: Payload) -> Result<TxHash> {
    let outcome = client.sign_and_submit(key, payload).await?;
    if outcome.status != medchain_types::api::TxState::Committed {
        bail!(
            "a set-up transaction was not committed: {:?} {:?}",
            outcome.status,
            outcome.error.map(|e| e.message)
        );
    }
    crate::commands::parse_id(&outcome.hash, "transaction hash")
}

/// Proposes a study as the demo researcher and approves it by three validators' votes.
async fn approved_study(
    client: &Client,
    layout: &Layout,
    researcher: &ed25519::PrivateKey,
    spec: StudySpec,
) -> Result<StudyId> {
    let tx = committed(client, researcher, Payload::ProposeStudy { spec }).await?;
    let study = StudyId::from_tx(&tx);
    let validator = |i: usize| {
        medchain_node::config::load_validator_keys(&layout.node_dir(i).join("validator.key"))
            .map(|k| k.signing)
    };
    let change = MembershipChange::ApproveStudy { study };
    let tx = committed(
        client,
        &validator(0)?,
        Payload::ProposeMembership {
            change,
            ttl_blocks: 1_000,
        },
    )
    .await?;
    let proposal = ProposalId::from_tx(&tx);
    for i in 1..3 {
        let vote = Payload::Vote {
            proposal,
            approve: true,
        };
        committed(client, &validator(i)?, vote).await?;
    }
    Ok(study)
}

/// `count` anonymous contributions, contributor `i` signing among the 64 pseudonyms of its
/// block of the directory, each from its own one-time key; made on every core.
fn anonymous_contributions(
    chain_id: ChainId,
    study: &StudyEntry,
    secrets: &[RingSecretKey],
    count: usize,
) -> Result<Vec<SignedTransaction>> {
    let publics: Vec<RingPublicKey> = secrets.iter().map(RingSecretKey::public_key).collect();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let make = |i: usize| -> Result<SignedTransaction> {
        let block = i / RING_MEMBERS * RING_MEMBERS;
        let ring = &publics[block..block + RING_MEMBERS];
        let mut rng = seeded_u64(ONE_TIME_SEED_BASE + i as u64);
        let value = (i as u64 * 7_919) % (VALUE_MAX + 1);
        let payload = study_payloads::anonymous_contribution(
            &mut rng,
            &chain_id,
            study,
            ring,
            &secrets[i],
            value,
        )?;
        let one_time = ed25519::PrivateKey::from_seed(ONE_TIME_SEED_BASE + i as u64);
        Ok(SignedTransaction::sign(
            &one_time,
            Transaction {
                chain_id,
                sender: AccountId(one_time.public_key()),
                nonce: 0,
                payload,
            },
        ))
    };
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..cores)
            .map(|core| {
                let make = &make;
                scope.spawn(move || {
                    (core..count)
                        .step_by(cores)
                        .map(|i| make(i).map(|tx| (i, tx)))
                        .collect::<Result<Vec<_>>>()
                })
            })
            .collect();
        let mut all = Vec::with_capacity(count);
        for worker in workers {
            all.extend(
                worker
                    .join()
                    .map_err(|_| anyhow::anyhow!("a signer panicked"))??,
            );
        }
        all.sort_by_key(|(i, _)| *i);
        Ok(all.into_iter().map(|(_, tx)| tx).collect())
    })
}

/// Waits until every node has finalized the height validator 0 is at now.
async fn caught_up(clients: &[Client]) -> Result<()> {
    let height = clients[0].status().await?.height;
    let started = Instant::now();
    for client in clients {
        while client.status().await?.height < height {
            if started.elapsed() > WAIT_MAX {
                bail!("a node did not reach height {height} in time");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

async fn wait_for_status(client: &Client, id: &StudyId, status: StudyStatus) -> Result<StudyEntry> {
    let started = Instant::now();
    loop {
        let study = client.study(id).await?.value;
        if study.status == status {
            return Ok(study);
        }
        if started.elapsed() > WAIT_MAX {
            bail!("study {id} did not become {} in time", status.name());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub async fn run(options: StudyBenchOptions) -> Result<String> {
    if options.contributions < 3 {
        bail!("--contributions must be at least 3 (the study's minimum cohort)");
    }
    let crypto = tokio::task::spawn_blocking(medchain_bench::study::run).await??;
    let verify_ms = summary_value(&crypto, "verify_ms")?;
    let compute_release_ms = summary_value(&crypto, "release_ms")?;
    let phe_add_us = summary_value(&crypto, "phe_add_us")?;
    let prio3_verify_us = summary_value(&crypto, "prio3_verify_us")?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let limit = cores as f64 * (1_000.0 / verify_ms) / VALIDATORS as f64;

    let dir = options.data_dir.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("medchain-bench-study-{}", std::process::id()))
    });
    println!(
        "study on the ledger: a {VALIDATORS}-validator consortium in {}",
        dir.display()
    );
    let (nodes, clients) =
        start_consortium(&dir, options.http, options.p2p_port, "medchain-bench-study").await?;
    let layout = Layout::new(&dir);
    let genesis = medchain_node::config::load_genesis(&layout.genesis())?;
    let chain_id = genesis.chain_id();
    let client = clients[0].clone().trusting(Trust::new(genesis));
    let started = Instant::now();
    while client.analytics_key().await.is_err() {
        if started.elapsed() > WAIT_MAX {
            bail!(
                "the validators' analytics key was not adopted; see the node logs in {}",
                dir.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let identities = crate::identity::IdentityFile::load(&layout.identities())?;
    let member = |name: &str| -> Result<ed25519::PrivateKey> {
        Ok(identities.get(name)?.member_keys()?.signing)
    };

    // Enough enrolled pseudonyms for one per contribution, in whole rings.
    let count = options.contributions as usize;
    let pseudonyms = count.div_ceil(RING_MEMBERS) * RING_MEMBERS;
    println!("enrolling {pseudonyms} pseudonyms with ring keys...");
    let registrar = member("admin-st-mary-hospital")?;
    let txs = tokio::task::spawn_blocking(move || {
        registrations(chain_id, &registrar, PSEUDONYM_SEED_BASE, pseudonyms as u64)
    })
    .await??;
    saturate(&clients, txs).await?;
    // The ring keys come at nonce 1 and go to every node: each must have the registrations.
    caught_up(&clients).await?;
    let (secrets, txs) = tokio::task::spawn_blocking(move || {
        let mut secrets = Vec::with_capacity(pseudonyms);
        let mut txs = Vec::with_capacity(pseudonyms);
        for i in 0..pseudonyms as u64 {
            let seed = PSEUDONYM_SEED_BASE + i;
            let key = ed25519::PrivateKey::from_seed(seed);
            let secret = RingSecretKey::generate(&mut seeded_u64(seed));
            let account = AccountId(key.public_key());
            let payload = study_payloads::register_ring_key(
                &mut seeded_u64(seed),
                &chain_id,
                &account,
                &secret,
            )?;
            txs.push(SignedTransaction::sign(
                &key,
                Transaction {
                    chain_id,
                    sender: account,
                    nonce: 1,
                    payload,
                },
            ));
            secrets.push(secret);
        }
        Ok::<_, anyhow::Error>((secrets, txs))
    })
    .await??;
    saturate(&clients, txs).await?;
    caught_up(&clients).await?;

    let researcher = member("researcher-dan")?;
    let values_max = options.contributions + (INSTITUTIONS.len() * INSTITUTION_VALUES) as u64;
    let height = client.status().await?.height;
    let throughput_id = approved_study(
        &client,
        &layout,
        &researcher,
        // As far ahead as a study may close: no contribution meets the deadline.
        spec(values_max, height + STUDY_DEADLINE_MAX_BLOCKS),
    )
    .await?;
    let study = client.study(&throughput_id).await?.value;
    caught_up(&clients).await?;
    println!("making {count} anonymous contributions (ring {RING_MEMBERS}, 16-bit value)...");
    let txs = tokio::task::spawn_blocking(move || {
        anonymous_contributions(chain_id, &study, &secrets, count)
    })
    .await??;
    let committed_per_second = saturate(&clients, txs).await?;
    let study = client.study(&throughput_id).await?.value;
    for institution in INSTITUTIONS {
        let admin = member(&format!("admin-{institution}"))?;
        let values: Vec<u64> = (0..INSTITUTION_VALUES as u64).map(|v| v * 6_553).collect();
        client
            .contribute_for_institution(&mut rand::rng(), &admin, &study, &values)
            .await?;
    }
    let study = client.study(&throughput_id).await?.value;
    if study.anonymous_contributions != options.contributions
        || study.institutional_contributions != INSTITUTIONS.len() as u64
    {
        bail!(
            "the study holds {} anonymous and {} institutional contributions, expected {} and {}",
            study.anonymous_contributions,
            study.institutional_contributions,
            options.contributions,
            INSTITUTIONS.len()
        );
    }
    let commit_ratio = committed_per_second / limit;
    println!(
        "  committed {count} anonymous contributions at {committed_per_second:.1}/s; limit {limit:.1}/s ({cores} cores x {:.1}/s per core / {VALIDATORS} validators): ratio {commit_ratio:.3} [target >= {COMMIT_RATIO_TARGET}: {}]",
        1_000.0 / verify_ms,
        if commit_ratio >= COMMIT_RATIO_TARGET {
            "met"
        } else {
            "not met"
        }
    );

    // The release, on a second study of the same bound that the nodes close at its deadline.
    let height = client.status().await?.height;
    let release_id = approved_study(
        &client,
        &layout,
        &researcher,
        spec(values_max, height + RELEASE_STUDY_BLOCKS),
    )
    .await?;
    let study = client.study(&release_id).await?.value;
    for institution in &INSTITUTIONS[..3] {
        let admin = member(&format!("admin-{institution}"))?;
        client
            .contribute_for_institution(&mut rand::rng(), &admin, &study, &[VALUE_MAX, 1, 2])
            .await?;
    }
    let released = wait_for_status(&client, &release_id, StudyStatus::Released).await?;
    let result = released.result.context("a released study has its result")?;
    if result.totals != vec![3 * (VALUE_MAX + 3)] {
        bail!(
            "the release decrypted {:?}, expected {}",
            result.totals,
            3 * (VALUE_MAX + 3)
        );
    }
    let closed = released
        .closed_height
        .context("a released study was closed")?;
    let closed_at = client.finalized_block(closed).await?.block.timestamp_ms;
    let released_at = client
        .finalized_block(result.height)
        .await?
        .block
        .timestamp_ms;
    let ledger_release_ms = released_at.saturating_sub(closed_at);
    println!(
        "  release on the ledger: closed at height {closed}, result at height {} ({ledger_release_ms} ms of block time, consensus included; the computation alone is {compute_release_ms:.1} ms)",
        result.height
    );
    drop(nodes);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(format!(
        "study verify_ms={verify_ms:.3} commit_ratio={commit_ratio:.3} release_ms={compute_release_ms:.1} phe_add_us={phe_add_us:.2} prio3_verify_us={prio3_verify_us:.1} committed_per_s={committed_per_second:.1} limit_per_s={limit:.1} ledger_release_ms={ledger_release_ms}"
    ))
}
