//! `medchain record`: write a record's content (encrypt, store on the validators, commit) and
//! read it back, checking everything against proven ledger values.
//!
//! Put: a fresh data key (the Umbral KEM seed encapsulated to the patient's proven PRE key, so
//! the capsule is the data key sealed to the patient), the file encrypted with the envelope
//! STREAM format into a temporary file (constant memory), the ciphertext streamed to every
//! validator of the proven set, and `CreateRecord` committed only with receipts from 2f+1 of
//! them. Get: the record's proven entry, the ciphertext from any validator of the proven set
//! (the next one on failure or a wrong hash), decrypted into a temporary file beside the
//! output that is renamed into place only once the whole stream authenticated.

use crate::commands::{ApiArgs, IdentityArgs, TrustArgs, parse_id, submit};
use anyhow::{Context as _, Result, bail};
use clap::Subcommand;
use commonware_cryptography::Signer as _;
use medchain_client::{Client, blob::BlobProgress};
use medchain_crypto::{envelope, keys::PseudonymKeys, umbral};
use medchain_state::{AccessLogEntry, AccessReason, RecordEntry, ValidatorSet};
use medchain_types::{
    AccountId, Decision, Payload, Purpose, RecordId, api::TxState, codes::RecordCategory,
};
use std::io::Write as _;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum RecordCommand {
    /// Write a record for a patient (as a clinician): encrypts the file under a fresh data key
    /// sealed to the patient, stores the ciphertext on every validator, and commits the record
    /// once 2f+1 of them signed that they hold it. Prints the record id.
    Put {
        #[command(flatten)]
        identity: IdentityArgs,
        #[command(flatten)]
        api: ApiArgs,
        #[command(flatten)]
        trust: TrustArgs,
        /// The patient's pseudonym at your institution (hex account).
        #[arg(long)]
        patient: String,
        /// Coarse category, e.g. laboratory, imaging, encounter.
        #[arg(long)]
        category: String,
        /// The content: any bytes (FHIR JSON, a PDF, an image).
        #[arg(long)]
        file: PathBuf,
    },
    /// Erase one of your records (as its patient): from the block that commits it every read is
    /// denied (and logged), each validator deletes the ciphertext and signs a receipt, and the
    /// receipts go on the ledger (`audit record` shows them). Run it again to collect the
    /// receipts of validators that were down.
    Erase {
        #[command(flatten)]
        identity: IdentityArgs,
        #[command(flatten)]
        api: ApiArgs,
        #[command(flatten)]
        trust: TrustArgs,
        /// The record id (hex).
        record: String,
    },
    /// Read a record: its patient with their own key; a member under a patient's consent by
    /// committing an access request and, once the permit is final, combining the capsule
    /// fragments t validators release. Fetches the ciphertext from any validator, checks it,
    /// and decrypts it to --out.
    Get {
        #[command(flatten)]
        identity: IdentityArgs,
        #[command(flatten)]
        api: ApiArgs,
        #[command(flatten)]
        trust: TrustArgs,
        /// The record id (hex), as `record put` printed it.
        record: String,
        /// Where the plaintext goes; written only once the whole record authenticated.
        #[arg(long)]
        out: PathBuf,
        /// Replace --out if it exists.
        #[arg(long)]
        force: bool,
        /// Purpose of use for a member's read (treat, etreat, hresch, ...).
        #[arg(long, default_value = "treat")]
        purpose: String,
        /// Why, for a break-glass read (purpose etreat); no names or other identifiers.
        #[arg(long)]
        justification: Option<String>,
        /// Your institution's emergency key service, which hands over the key of a break-glass
        /// read (`medchain up` prints each one's address).
        #[arg(long, env = "MEDCHAIN_EMERGENCY_SERVICE")]
        emergency_service: Option<String>,
    },
}

/// Runs a record command until it ends or the user presses Ctrl-C. On Ctrl-C the command's
/// future is dropped, and with it every temporary file it owns (a half-encrypted ciphertext, a
/// partial download or plaintext: `NamedTempFile`s, removed on drop; one a blocking encryption
/// step holds goes when that step returns, before the process exits). An upload cut off leaves
/// only staging objects on the validators, never a readable blob, and they collect them.
pub async fn run(cmd: RecordCommand) -> Result<()> {
    tokio::select! {
        done = run_to_end(cmd) => done,
        _ = tokio::signal::ctrl_c() => {
            // Stops a blocking encryption or decryption at its next read, so its temporary
            // file goes at once rather than when the whole record has been processed.
            INTERRUPTED.store(true, std::sync::atomic::Ordering::Relaxed);
            bail!(
            "interrupted: temporary files are removed and --out was not written; an interrupted put committed nothing unless its transaction had already been sent (a record id is printed only once it is committed)"
            )
        }
    }
}

/// Set once the user pressed Ctrl-C.
static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A reader that fails once the user pressed Ctrl-C.
struct Interruptible<R>(R);

impl<R: std::io::Read> std::io::Read for Interruptible<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if INTERRUPTED.load(std::sync::atomic::Ordering::Relaxed) {
            // Not `ErrorKind::Interrupted`: std's read loops retry that kind.
            return Err(std::io::Error::other("interrupted by Ctrl-C"));
        }
        self.0.read(buf)
    }
}

async fn run_to_end(cmd: RecordCommand) -> Result<()> {
    match cmd {
        RecordCommand::Erase {
            identity,
            api,
            trust,
            record,
        } => {
            let identity = identity.load()?;
            let client = trust.client(&api)?;
            let record: RecordId = parse_id(&record, "the record id must be hex")?;
            erase(&client, &identity, &record).await
        }
        RecordCommand::Put {
            identity,
            api,
            trust,
            patient,
            category,
            file,
        } => {
            let keys = identity.load()?.member_keys()?;
            let client = trust.client(&api)?;
            let patient: AccountId = parse_id(&patient, "--patient must be a hex account")?;
            let category =
                crate::commands::parse_code::<RecordCategory>("record category", &category)?;
            let record = put(&client, &keys, &patient, category, &file).await?;
            println!("record id: {record}");
            Ok(())
        }
        RecordCommand::Get {
            identity,
            api,
            trust,
            record,
            out,
            force,
            purpose,
            justification,
            emergency_service,
        } => {
            let identity = identity.load()?;
            let client = trust.client(&api)?;
            let record: RecordId = parse_id(&record, "the record id must be hex")?;
            let read = Read {
                purpose: crate::commands::parse_code::<Purpose>("purpose", &purpose)?,
                justification,
                emergency_service,
            };
            let written = get(&client, &identity, &record, &read, &out, force).await?;
            println!(
                "record {record}: {written} bytes decrypted to {}",
                out.display()
            );
            Ok(())
        }
    }
}

/// Encrypts `file` for `patient`, stores it on the proven validators and commits the record.
pub async fn put(
    client: &Client,
    keys: &PseudonymKeys,
    patient: &AccountId,
    category: RecordCategory,
    file: &Path,
) -> Result<RecordId> {
    let input = std::fs::File::open(file)
        .with_context(|| format!("cannot open the record's file {}", file.display()))?;
    let plaintext_len_bytes = input
        .metadata()
        .with_context(|| format!("cannot read {}", file.display()))?
        .len();
    let author = AccountId::from(keys.signing.public_key());
    let patient_pre = client.record_recipient(&author, patient).await?;
    let validators = client
        .validators()
        .await
        .context("cannot verify the validator set to store the record on")?
        .value;
    let sealed = encrypt_to_temp(input, plaintext_len_bytes, &patient_pre).await?;
    let upload = upload(client, &validators, sealed.ciphertext.path()).await?;
    Ok(client
        .commit_record(keys, patient, category, upload, &sealed.capsule)
        .await?)
}

/// A record encrypted into a temporary file, with the capsule that holds its data key.
struct Sealed {
    ciphertext: tempfile::NamedTempFile,
    capsule: umbral::Capsule,
}

/// Bytes above which `put` shows a progress bar (below it, the whole put is a blink).
const PROGRESS_MIN_BYTES: u64 = 8 * 1024 * 1024;

fn progress_bar(total_bytes: u64, what: &'static str) -> indicatif::ProgressBar {
    use std::io::IsTerminal as _;
    if total_bytes < PROGRESS_MIN_BYTES || !std::io::stdout().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total_bytes);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg:>10} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what);
    bar
}

async fn encrypt_to_temp(
    input: std::fs::File,
    plaintext_len_bytes: u64,
    patient_pre: &umbral::PublicKey,
) -> Result<Sealed> {
    let (capsule, seed) = umbral::encapsulate(&mut rand::rng(), patient_pre)?;
    let data_key = envelope::DataKey::from_bytes(*seed.derive_key());
    let mut nonce_prefix = [0u8; envelope::NONCE_PREFIX_SIZE_BYTES];
    rand::fill(&mut nonce_prefix);
    let ciphertext = tempfile::NamedTempFile::new()
        .context("cannot create a temporary file for the ciphertext (check TMPDIR)")?;
    let bar = progress_bar(plaintext_len_bytes, "encrypting");
    let ciphertext = tokio::task::spawn_blocking(move || -> Result<tempfile::NamedTempFile> {
        let mut output = std::io::BufWriter::new(ciphertext.as_file());
        let reader = Interruptible(bar.wrap_read(input));
        envelope::encrypt_stream(&data_key, nonce_prefix, reader, &mut output)
            .context("cannot encrypt the record")?;
        output.flush().context("cannot write the ciphertext")?;
        drop(output);
        bar.finish_and_clear();
        Ok(ciphertext)
    })
    .await??;
    Ok(Sealed {
        ciphertext,
        capsule,
    })
}

/// The data key of a break-glass read, from the reader's institution's emergency key service
/// (found on the ledger, proven), which checks the flagged permit is final before it answers.
async fn emergency_data_key(
    client: &Client,
    member: &medchain_crypto::keys::PseudonymKeys,
    record: &RecordEntry,
    permit: &AccessLogEntry,
    read: &Read,
) -> Result<envelope::DataKey> {
    let Some(url) = read.emergency_service.as_deref() else {
        bail!(
            "the read was permitted as break-glass (flagged for review, entry {} of the patient's access log); the key comes from your institution's emergency key service: run again with --emergency-service URL (or MEDCHAIN_EMERGENCY_SERVICE); `medchain up` prints each institution's",
            permit.sequence
        );
    };
    let me = AccountId::from(member.signing.public_key());
    let institution = client.member(&me).await?.value.institution;
    let service = client
        .emergency_service(&institution)
        .await
        .with_context(|| format!("{institution} has no emergency key service on the ledger"))?
        .value
        .account;
    let key = crate::sharing::retry_while_behind(|| {
        client.emergency_data_key(url, member, &service, &record.patient, permit.sequence)
    })
    .await
    .with_context(|| format!("the emergency key service at {url} did not hand over the key"))?;
    Ok(key)
}

/// Uploads to every validator; at least 2f+1 receipts or an error naming those that failed.
async fn upload(
    client: &Client,
    validators: &ValidatorSet,
    path: &Path,
) -> Result<medchain_client::blob::BlobUpload> {
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let bar = progress_bar(size.saturating_mul(validators.len() as u64), "uploading");
    let reporter = bar.clone();
    let progress: BlobProgress = std::sync::Arc::new(move |n| reporter.inc(n));
    let upload = client
        .upload_blob_reporting(validators, path, Some(progress))
        .await?;
    bar.finish_and_clear();
    let needed = validators.storage_quorum();
    if upload.receipts.len() < needed {
        let failed: Vec<String> = upload
            .failures
            .iter()
            .map(|(account, e)| {
                let address = validators
                    .get(account)
                    .map_or("", |v| v.http_address.as_str());
                format!("  {account} ({address}): {e}")
            })
            .collect();
        bail!(
            "only {} of {} validators stored the ciphertext, {needed} are needed; nothing was committed. These failed:\n{}",
            upload.receipts.len(),
            validators.len(),
            failed.join("\n")
        );
    }
    Ok(upload)
}

/// Why a member reads (a patient reading their own record needs no purpose).
pub struct Read {
    pub purpose: Purpose,
    pub justification: Option<String>,
    /// The URL of the reader's institution's emergency key service, for a break-glass read.
    pub emergency_service: Option<String>,
}

/// Reads record `id` into `out`, as its patient or as a member under the patient's consent;
/// returns the plaintext's size.
pub async fn get(
    client: &Client,
    identity: &crate::identity::Identity,
    id: &RecordId,
    read: &Read,
    out: &Path,
    force: bool,
) -> Result<u64> {
    let directory = check_output(out, force)?;
    let entry = proven_record(client, id).await?;
    let data_key = match identity.member_keys() {
        // A member's read of an erased record still goes on the ledger: denied and logged.
        Ok(member) => {
            let permit = request_access(client, &member, &entry, read).await?;
            if permit.reason == AccessReason::BreakGlass {
                emergency_data_key(client, &member, &entry, &permit, read).await?
            } else {
                crate::sharing::grantee_data_key(client, &member, &entry, &permit).await?
            }
        }
        Err(_) => {
            if let Some(erasure) = &entry.erasure {
                bail!(
                    "record {id} was erased at height {}; nothing of it can be read",
                    erasure.requested_height
                );
            }
            patient_data_key(identity, &entry)?
        }
    };
    let validators = client
        .validators()
        .await
        .context("cannot verify the validator set to read the record from")?
        .value;
    let ciphertext = fetch_ciphertext(client, &validators, &entry, &directory).await?;
    let plaintext = tempfile::NamedTempFile::new_in(&directory)
        .with_context(|| format!("cannot write in {}", directory.display()))?;
    let (plaintext, written) =
        tokio::task::spawn_blocking(move || -> Result<(tempfile::NamedTempFile, u64)> {
            let input = Interruptible(std::io::BufReader::new(ciphertext.reopen()?));
            let mut output = std::io::BufWriter::new(plaintext.as_file());
            let summary = envelope::decrypt_stream(&data_key, input, &mut output)
                .context("the record does not decrypt; nothing was written")?;
            output.flush()?;
            drop(output);
            plaintext.as_file().sync_all()?;
            Ok((plaintext, summary.plaintext_len_bytes))
        })
        .await??;
    let placed = if force {
        plaintext.persist(out).map_err(|e| e.error)
    } else {
        plaintext.persist_noclobber(out).map_err(|e| e.error)
    };
    placed.with_context(|| format!("cannot move the record into {}", out.display()))?;
    Ok(written)
}

/// Erases record `id` as its patient: commits the erasure (unless it is already on the
/// ledger), asks every validator of the proven set to delete the ciphertext, checks their
/// receipts and commits the new ones.
pub async fn erase(
    client: &Client,
    identity: &crate::identity::Identity,
    id: &RecordId,
) -> Result<()> {
    let entry = proven_record(client, id).await?;
    let keys = identity.keys_at(&entry.institution)?;
    if AccountId::from(keys.signing.public_key()) != entry.patient {
        bail!("this key file is not the patient of record {id}; only its patient erases a record");
    }
    let already: Vec<AccountId> = match &entry.erasure {
        Some(erasure) => erasure
            .receipts
            .iter()
            .map(|r| r.validator.clone())
            .collect(),
        None => {
            let outcome =
                submit(client, &keys.signing, Payload::EraseRecord { record: *id }).await?;
            crate::commands::report(&outcome)?;
            if outcome.status != TxState::Committed {
                bail!("the erasure is not committed; nothing was deleted yet");
            }
            Vec::new()
        }
    };
    let validators = client
        .validators()
        .await
        .context("cannot verify the validator set to erase the record from")?
        .value;
    let chain_id = crate::commands::chain_id(client).await?;
    let mut receipts = Vec::new();
    let mut missing = Vec::new();
    for validator in validators
        .validators
        .iter()
        .filter(|v| !already.contains(&v.account))
    {
        let answer =
            crate::sharing::retry_while_behind(|| client.erase_on(&validator.http_address, id))
                .await;
        match answer {
            Ok(receipt)
                if receipt.validator == validator.account
                    && receipt.verify(&chain_id, id, &entry.content_hash) =>
            {
                receipts.push(receipt)
            }
            Ok(_) => missing.push(format!(
                "  {} ({}): its receipt does not verify",
                validator.account, validator.http_address
            )),
            Err(e) => missing.push(format!(
                "  {} ({}): {e}",
                validator.account, validator.http_address
            )),
        }
    }
    let mut confirmed = already.len();
    if !receipts.is_empty() {
        confirmed += receipts.len();
        let payload = Payload::ConfirmErasure {
            record: *id,
            receipts,
        };
        let outcome = submit(client, &keys.signing, payload).await?;
        if outcome.status != TxState::Committed {
            bail!(
                "the validators deleted the ciphertext, but their receipts were not committed ({}); run `medchain record erase {id}` again",
                outcome
                    .error
                    .map_or("no reason given".to_string(), |e| e.message)
            );
        }
    }
    println!(
        "record {id} erased: {confirmed} of {} validators confirmed deleting its ciphertext (receipts on the ledger)",
        validators.len()
    );
    if !missing.is_empty() {
        println!(
            "not confirmed yet; run `medchain record erase {id}` again once they are back:\n{}",
            missing.join("\n")
        );
    }
    Ok(())
}

/// Commits the member's request to read `record` and returns its proven access-log entry, if
/// the ledger permitted it.
async fn request_access(
    client: &Client,
    keys: &PseudonymKeys,
    record: &RecordEntry,
    read: &Read,
) -> Result<AccessLogEntry> {
    let logged = client
        .request_access(keys, record, read.purpose, read.justification.clone())
        .await?;
    if logged.decision != Decision::Permit {
        let policies = if logged.policy_reasons.is_empty() {
            String::new()
        } else {
            format!(" (policies {})", logged.policy_reasons.join(", "))
        };
        bail!(
            "the ledger denied the read: {:?}{policies}; the attempt is entry {} of the patient's access log",
            logged.reason,
            logged.sequence
        );
    }
    Ok(logged)
}

/// Record `id`'s proven entry, or an error saying it is not on the ledger.
async fn proven_record(client: &Client, id: &RecordId) -> Result<RecordEntry> {
    match client.record(id).await {
        Ok(entry) => Ok(entry.value),
        Err(e) if medchain_client::records::not_found(&e) => {
            bail!("no record {id} on the ledger; check the id")
        }
        Err(e) => Err(e).context("cannot verify the record"),
    }
}

/// The directory `out` goes in, after checking it exists and `out` may be written.
fn check_output(out: &Path, force: bool) -> Result<PathBuf> {
    let directory = match out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !directory.is_dir() {
        bail!(
            "the directory {} does not exist; create it first or choose another --out",
            directory.display()
        );
    }
    if out.exists() && !force {
        bail!(
            "{} already exists; choose another --out or pass --force to replace it",
            out.display()
        );
    }
    Ok(directory)
}

/// The record's data key for its patient, with the key set at the record's institution.
fn patient_data_key(
    identity: &crate::identity::Identity,
    entry: &RecordEntry,
) -> Result<envelope::DataKey> {
    let keys = identity.keys_at(&entry.institution)?;
    medchain_client::records::patient_data_key(&keys, entry)
        .context("`record get` reads only your own records: use the patient's key file")
}

/// The record's ciphertext, hash-checked, from the first validator of the proven set that
/// serves it intact, into a temporary file in `directory`.
async fn fetch_ciphertext(
    client: &Client,
    validators: &ValidatorSet,
    entry: &RecordEntry,
    directory: &Path,
) -> Result<tempfile::NamedTempFile> {
    let file = tempfile::NamedTempFile::new_in(directory)
        .with_context(|| format!("cannot write in {}", directory.display()))?;
    client
        .fetch_record_ciphertext(validators, entry, file.path(), |validator, e| {
            eprintln!(
                "validator {} ({}) did not serve the ciphertext intact: {e}; trying the next",
                validator.account, validator.http_address
            );
        })
        .await
        .context("nothing was written")?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_output_in_a_missing_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("missing").join("record.json");
        let error = check_output(&out, false).unwrap_err().to_string();
        assert!(error.contains("does not exist; create it first"), "{error}");
    }

    #[test]
    fn an_existing_output_is_kept_unless_forced() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("record.json");
        std::fs::write(&out, b"keep me").unwrap();
        let error = check_output(&out, false).unwrap_err().to_string();
        assert!(error.contains("pass --force to replace it"), "{error}");
        assert_eq!(check_output(&out, true).unwrap(), dir.path());
        assert_eq!(std::fs::read(&out).unwrap(), b"keep me");
    }
}
