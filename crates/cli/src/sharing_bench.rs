//! `medchain bench sharing`: records put and read back on a local 4-validator consortium (real
//! `medchain node` processes on 127.0.0.1, local blob stores on this machine's disk), as the
//! CLI does them: encrypt, upload to every validator, commit with 2f+1 receipts; read the
//! proven entry, fetch, check, decrypt.
//!
//! Reported, each against what bounds it, measured in the same run:
//! - put and get latency p50/p99 for 1 KB, 1 MB and 100 MB;
//! - ingest throughput of a 100 MB put as a ratio to what the disk takes: its own sequential
//!   write speed with fdatasync (as `dd conv=fdatasync`), divided by the replicas written to
//!   it (every validator's store is on this one disk), target >= 0.6;
//! - grant-to-first-read latency: from the patient's `consent grant` (fragments sealed,
//!   committed, handed to the validators) to the grantee's plaintext on disk (access request
//!   committed, t capsule fragments released and combined, ciphertext fetched and decrypted),
//!   target p50 < 500 ms;
//! - peak resident memory of this client process and of each validator over the run, which
//!   includes a put and a get of a large record (1 GB = 10^9 bytes by default, under the
//!   1 GiB record limit with the envelope's overhead): constant memory means the
//!   peak does not grow with the record, target < 150 MB.

use crate::consent::grant;
use crate::identity::{Identity, IdentityFile, pre_secret_key};
use crate::init::Layout;
use crate::ledger_bench::{peak_rss_mb, percentile, start_consortium};
use crate::records::{self, Read};
use anyhow::{Context as _, Result, bail};
use commonware_cryptography::Signer as _;
use medchain_client::{Client, Trust};
use medchain_types::{
    AccountId, InstitutionId, RecordId,
    api::TxState,
    codes::{ConsentAction, Decision, Purpose, RecordCategory},
    consent::{ConsentActor, ConsentPolicy, DataScope, Period},
};
use std::io::Write as _;
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

const HOSPITAL: &str = "st-mary-hospital";
const VALIDATORS: usize = 4;
/// Every validator of the local consortium writes each ciphertext to this machine's disk.
const REPLICAS_ON_THIS_DISK: f64 = VALIDATORS as f64;
const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;
/// (size, puts and gets measured) of each latency size.
const LATENCY_SIZES: [(usize, usize); 3] = [(KIB, 20), (MIB, 10), (100 * MIB, 3)];
/// Grants measured, each followed by the grantee's first read of a 1 KB record.
const GRANTS: usize = 10;
/// Size of the disk reference write.
const DISK_REFERENCE_BYTES: usize = 512 * MIB;

pub struct SharingBenchOptions {
    pub data_dir: Option<PathBuf>,
    pub http: SocketAddr,
    pub p2p_port: u16,
    /// Size (MB, 10^6 bytes) of the record whose put and get the memory peak covers.
    pub large_mb: u64,
}

/// Sequential write speed of the disk under `dir` in bytes per second: 1 MiB writes, then
/// fdatasync, timed together, as `dd bs=1M conv=fdatasync` does.
fn disk_write_bytes_per_second(dir: &Path) -> Result<f64> {
    let path = dir.join("disk-reference.bin");
    let chunk = vec![0x5au8; MIB];
    let started = Instant::now();
    let mut file = std::fs::File::create(&path)
        .with_context(|| format!("cannot write the disk reference in {}", dir.display()))?;
    for _ in 0..DISK_REFERENCE_BYTES / MIB {
        file.write_all(&chunk)?;
    }
    file.sync_data()?;
    let elapsed = started.elapsed().as_secs_f64();
    drop(file);
    std::fs::remove_file(&path)?;
    Ok(DISK_REFERENCE_BYTES as f64 / elapsed)
}

/// Writes `len` bytes of a deterministic stream (not compressible, not all zero) to `path`
/// without holding them in memory.
fn write_content(path: &Path, len: usize, seed: u64) -> Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut state = seed | 1;
    let mut block = vec![0u8; 64 * KIB];
    let mut left = len;
    while left > 0 {
        for byte in block.iter_mut() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *byte = state as u8;
        }
        let n = left.min(block.len());
        out.write_all(&block[..n])?;
        left -= n;
    }
    out.flush()?;
    Ok(())
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

fn label(size: usize) -> String {
    if size >= MIB {
        format!("{}mb", size / MIB)
    } else {
        format!("{}kb", size / KIB)
    }
}

/// The patient's consent for `grantee` to read everything for treatment, for a day.
fn treatment_consent(grantee: &AccountId) -> Result<ConsentPolicy> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as u64;
    Ok(ConsentPolicy {
        decision: Decision::Permit,
        actors: vec![ConsentActor::Person(grantee.clone())],
        actions: vec![ConsentAction::Access],
        purposes: vec![Purpose::Treat],
        period: Period {
            start_ms: now.saturating_sub(60_000),
            end_ms: now + 86_400_000,
        },
        data: DataScope::All,
        exceptions: Vec::new(),
    })
}

pub async fn run(options: SharingBenchOptions) -> Result<String> {
    let dir = options.data_dir.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("medchain-bench-sharing-{}", std::process::id()))
    });
    let (nodes, _) = start_consortium(
        &dir,
        options.http,
        options.p2p_port,
        "medchain-bench-sharing",
    )
    .await?;
    let layout = Layout::new(&dir);
    println!(
        "reference: sequential writes with fdatasync into {} ...",
        dir.display()
    );
    let disk = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || disk_write_bytes_per_second(&dir)).await??
    };
    let disk_per_replica = disk / REPLICAS_ON_THIS_DISK;
    println!(
        "  {:.0} MB/s, {:.0} MB/s per replica for {VALIDATORS} replicas on this disk",
        disk / 1e6,
        disk_per_replica / 1e6
    );

    let genesis = medchain_node::config::load_genesis(&layout.genesis())?;
    let api = format!("http://{}", options.http);
    let client = Client::new(&api)?.trusting(Trust::new(genesis));
    let identities = IdentityFile::load(&layout.identities())?;
    let alice = identities.get("dr-alice")?.member_keys()?;
    let bob = identities.get("dr-bob")?;
    let bob_keys = bob.member_keys()?;
    let registrar = identities
        .get(&format!("admin-{HOSPITAL}"))?
        .member_keys()?;
    let hospital = InstitutionId::new(HOSPITAL)?;

    // A patient registered at the hospital, co-signed by its admin.
    let patient = Identity::generate();
    let patient_keys = patient.keys_at(&hospital)?;
    let pseudonym = AccountId::from(patient_keys.signing.public_key());
    let chain_id = crate::commands::chain_id(&client).await?;
    let registration = medchain_state::registration::register_pseudonym(
        &chain_id,
        &patient_keys.signing,
        &pre_secret_key(&patient_keys)?,
        hospital.clone(),
        &registrar.signing,
    );
    let outcome = crate::commands::submit(&client, &patient_keys.signing, registration).await?;
    if outcome.status != TxState::Committed {
        bail!("the benchmark patient's registration was not committed");
    }

    let files = dir.join("bench-files");
    std::fs::create_dir_all(&files)?;
    let as_patient = Read {
        purpose: Purpose::Treat,
        justification: None,
        emergency_service: None,
    };
    let mut summary = Vec::new();
    let mut ingest_ratio = 0.0;
    for (size, rounds) in LATENCY_SIZES {
        let input = files.join(format!("in-{}", label(size)));
        write_content(&input, size, size as u64)?;
        let (mut puts, mut gets) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            let started = Instant::now();
            let record = records::put(
                &client,
                &alice,
                &pseudonym,
                RecordCategory::Laboratory,
                &input,
            )
            .await?;
            let put = started.elapsed();
            puts.push(millis(put));
            let out = files.join(format!("out-{}-{round}", label(size)));
            let started = Instant::now();
            records::get(&client, &patient, &record, &as_patient, &out, true).await?;
            gets.push(millis(started.elapsed()));
            std::fs::remove_file(&out)?;
            if size == 100 * MIB {
                ingest_ratio = f64::max(
                    ingest_ratio,
                    size as f64 / put.as_secs_f64() / disk_per_replica,
                );
            }
        }
        let (puts, gets) = (sorted(puts), sorted(gets));
        println!(
            "{:>6}: put p50 {:.0} ms p99 {:.0} ms, get p50 {:.0} ms p99 {:.0} ms ({rounds} each)",
            label(size),
            percentile(&puts, 0.5),
            percentile(&puts, 0.99),
            percentile(&gets, 0.5),
            percentile(&gets, 0.99),
        );
        if size == 100 * MIB {
            println!(
                "  ingest {:.1} MB/s = {ingest_ratio:.2} of the disk's {:.0} MB/s per replica (best of {rounds})",
                ingest_ratio * disk_per_replica / 1e6,
                disk_per_replica / 1e6
            );
        }
        if size == MIB {
            summary.push(format!("put_1mb_p50_ms={:.0}", percentile(&puts, 0.5)));
            summary.push(format!("get_1mb_p50_ms={:.0}", percentile(&gets, 0.5)));
        }
        std::fs::remove_file(&input)?;
    }

    // Grant to first read: a fresh 1 KB record each time, so every read needs the new consent.
    let small = files.join("grant-1kb");
    write_content(&small, KIB, 7)?;
    let bob_account = AccountId::from(bob_keys.signing.public_key());
    let as_grantee = Read {
        purpose: Purpose::Treat,
        justification: None,
        emergency_service: None,
    };
    let mut grant_to_read = Vec::new();
    for round in 0..GRANTS {
        let record: RecordId = records::put(
            &client,
            &alice,
            &pseudonym,
            RecordCategory::Laboratory,
            &small,
        )
        .await?;
        let out = files.join(format!("granted-{round}"));
        let started = Instant::now();
        let granted = grant(&client, &patient_keys, treatment_consent(&bob_account)?).await?;
        if granted.outcome.status != TxState::Committed {
            bail!("the benchmark's consent was not committed");
        }
        records::get(&client, &bob, &record, &as_grantee, &out, true).await?;
        grant_to_read.push(millis(started.elapsed()));
        std::fs::remove_file(&out)?;
        // Revoked again, so the next round's read depends on the next round's grant.
        let revoke = medchain_types::Payload::RevokeConsent {
            consent: granted.consent,
        };
        crate::commands::submit(&client, &patient_keys.signing, revoke).await?;
    }
    let grant_to_read = sorted(grant_to_read);
    let grant_p50 = percentile(&grant_to_read, 0.5);
    println!(
        "grant to first read: p50 {grant_p50:.0} ms, p99 {:.0} ms ({GRANTS} grants)",
        percentile(&grant_to_read, 0.99)
    );

    // Memory: a large record put and read back; peaks are over the whole run.
    let large = files.join("large");
    let large_bytes = options.large_mb as usize * 1_000_000;
    write_content(&large, large_bytes, 11)?;
    let started = Instant::now();
    let record = records::put(&client, &alice, &pseudonym, RecordCategory::Imaging, &large).await?;
    let put_large = started.elapsed();
    std::fs::remove_file(&large)?;
    let out = files.join("large-out");
    let started = Instant::now();
    let read = records::get(&client, &patient, &record, &as_patient, &out, true).await?;
    let get_large = started.elapsed();
    std::fs::remove_file(&out)?;
    if read != large_bytes as u64 {
        bail!("the large record read back {read} bytes, {large_bytes} were put");
    }
    let client_rss = peak_rss_mb(std::process::id());
    let validator_rss: Vec<f64> = nodes.0.iter().map(|n| peak_rss_mb(n.id())).collect();
    let validator_max = validator_rss.iter().copied().fold(0.0, f64::max);
    println!(
        "{} MB record: put {:.1} s, get {:.1} s; peak RSS client {client_rss:.0} MB, validators {}",
        options.large_mb,
        put_large.as_secs_f64(),
        get_large.as_secs_f64(),
        validator_rss
            .iter()
            .map(|r| format!("{r:.0} MB"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    drop(nodes);
    let _ = std::fs::remove_dir_all(&dir);

    summary.push(format!("ingest_ratio={ingest_ratio:.2}"));
    summary.push(format!("grant_to_read_p50_ms={grant_p50:.0}"));
    summary.push(format!("rss_mb={:.0}", client_rss.max(validator_max)));
    Ok(format!("sharing {}", summary.join(" ")))
}
