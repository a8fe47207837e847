//! Studies end to end, in real processes: a consortium made by `medchain init` with four
//! `medchain node` processes runs the genesis DKG on its own and the ledger adopts the analytics
//! key (each validator's share sealed under its storage directory, never in the clear). Then
//! the CLI as users run it: a researcher proposes a study, the validators approve it by vote,
//! three patients enroll ring keys and contribute anonymously, the hospital contributes its
//! patients' values, and at the deadline the nodes close the study and post their partial
//! decryptions on their own; the result is exact and proven. A second study of the same data
//! with ε = 1 is released the same way after the nodes added their noise shares. Refusals along the way: a value
//! out of range, a second contribution from the same pseudonym, a result asked for too early, a
//! study whose field carries a birth date.
//!
//! **Anonymity across the ledger.** The source data is a synthetic patient list with names,
//! MRNs, birth dates and addresses. Their lab results are stored as records (encrypted), each
//! patient grants a clinician a consent, and each contributes to the study; at the end every
//! byte under every validator's directory (ledger database, blocks, blob store, DKG files and
//! node log) is scanned for each identifier, in any letter case, and none is found.

mod common;

use common::*;
use medchain_client::{Client, Trust};
use medchain_state::StudyStatus;

const VALIDATORS: usize = 4;
/// This test's ports among the process's (see `common::base_ports`).
const PORT_OFFSET: u16 = 40;
/// The patients' HbA1c values in 0.1 %, and the hospital's own patients'.
const ANONYMOUS_VALUES: [u64; 3] = [55, 72, 130];
const HOSPITAL_VALUES: [u64; 2] = [90, 41];

/// One synthetic patient as a hospital's own system holds them: every field but the value is a
/// direct identifier that must never reach the ledger.
struct SourcePatient {
    name: &'static str,
    mrn: &'static str,
    birth_date: &'static str,
    address: &'static str,
}

const SOURCE: [SourcePatient; 3] = [
    SourcePatient {
        name: "Margaret Okonkwo-Lindqvist",
        mrn: "MRN-4417-2290",
        birth_date: "1957-03-14",
        address: "17 Larkspur Crescent, Bramford",
    },
    SourcePatient {
        name: "Tobias Achterberg",
        mrn: "MRN-0092-7781",
        birth_date: "1981-11-02",
        address: "4 Quayside Mews, Ellesmere Port",
    },
    SourcePatient {
        name: "Ines Vasconcelos-Reyes",
        mrn: "MRN-6630-1458",
        birth_date: "1999-06-27",
        address: "Flat 9, 212 Harrowgate Road",
    },
];

/// The files under `dir` (recursively) that hold `needle` in any ASCII letter case.
fn files_holding(dir: &std::path::Path, needle: &str) -> Vec<std::path::PathBuf> {
    let needle = needle.to_ascii_lowercase();
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_holding(&path, &needle));
        } else if let Ok(bytes) = std::fs::read(&path) {
            let lower = bytes.to_ascii_lowercase();
            if lower.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                found.push(path);
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_study_runs_on_the_validators_dkg_key_and_releases_itself_at_its_deadline() {
    let (dir, http) =
        init_consortium_with("studies", VALIDATORS, PORT_OFFSET, &["--observers", "0"]);
    let _nodes: Vec<_> = (0..VALIDATORS).map(|i| start_node(&dir, i)).collect();
    let api = format!("http://127.0.0.1:{http}");
    let genesis_path = dir.join("genesis.toml");
    let genesis = medchain_node::config::load_genesis(&genesis_path).unwrap();
    let client = Client::new(&api).unwrap().trusting(Trust::new(genesis));
    wait_for("the ledger to adopt the analytics key", async || {
        client.analytics_key().await.is_ok()
    })
    .await;
    let key = client.analytics_key().await.unwrap().value;
    assert_eq!(key.epoch, 0, "the genesis round");
    assert_eq!(key.participants.len(), VALIDATORS);
    let sharing = medchain_crypto::analytics::threshold::AnalyticsKey::from_bytes(&key.sharing, 64)
        .expect("the adopted sharing decodes");
    assert_eq!(sharing.required(), 3);
    assert_eq!(
        sharing.public_key().to_bytes().to_vec(),
        key.public_key.to_vec()
    );
    // The ledger adopts the key once 2f+1 submitted; a slower validator may still be sealing
    // its share, so each one is waited for (its file is written atomically by a rename).
    for index in 0..VALIDATORS {
        let node_dir = dir.join(format!("validators/node-{index}"));
        wait_for(
            &format!("validator {index} to seal its round file"),
            async || !files_named(&node_dir, "round-0.dkg").is_empty(),
        )
        .await;
        assert_eq!(files_named(&node_dir, "round-0.dkg").len(), 1);
    }

    let data_dir = dir.to_str().unwrap().to_string();
    let path = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let run = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--api", &api, "--data-dir", &data_dir]);
        cli_with_passphrase(&all)
    };
    let trusted = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--api", &api, "--genesis", genesis_path.to_str().unwrap()]);
        cli_with_passphrase(&all)
    };

    // Three patients at the hospital, each with a lab record carrying their identifiers (the
    // hospital's export, encrypted before it leaves the CLI), a consent and a ring key.
    let bob = {
        use commonware_cryptography::Signer as _;
        medchain_types::AccountId::from(demo_keys(&dir, "dr-bob").signing.public_key()).to_string()
    };
    let patients: Vec<String> = (0..3).map(|i| path(&format!("patient-{i}.key"))).collect();
    for ((key, source), value) in patients.iter().zip(&SOURCE).zip(ANONYMOUS_VALUES) {
        let pseudonym = register_patient(key, &api, &data_dir);
        let export = path(&format!("{}.json", source.mrn));
        let document = serde_json::json!({
            "resourceType": "Observation",
            "subject": { "name": source.name, "identifier": source.mrn,
                         "birthDate": source.birth_date, "address": source.address },
            "code": "4548-4", "valueQuantity": { "value": value as f64 / 10.0, "unit": "%" },
        });
        std::fs::write(&export, document.to_string()).unwrap();
        let (ok, _, stderr) = trusted(&[
            "record",
            "put",
            "--as",
            "dr-alice",
            "--data-dir",
            &data_dir,
            "--patient",
            &pseudonym,
            "--category",
            "laboratory",
            "--file",
            &export,
        ]);
        assert!(ok, "record put failed: {stderr}");
        let (ok, _, stderr) = trusted(&[
            "consent",
            "grant",
            "--key",
            key,
            "--data-dir",
            &data_dir,
            "--institution",
            HOSPITAL,
            "--grantee",
            &bob,
            "--purpose",
            "treat",
        ]);
        assert!(ok, "consent grant failed: {stderr}");
        let (ok, stdout, stderr) =
            run(&["study", "enroll", "--key", key, "--institution", HOSPITAL]);
        assert!(ok, "study enroll failed: {stderr}");
        assert!(stdout.contains("ring key enrolled"), "{stdout}");
    }

    // A field that carries an identifier is refused before anything is sent.
    let (ok, _, stderr) = run(&[
        "study",
        "propose",
        "--as",
        "researcher-dan",
        "--field",
        "hba1c-1957-03-14",
        "--unit",
        "%",
        "--min",
        "40",
        "--max",
        "200",
        "--min-cohort",
        "3",
        "--values-max",
        "100",
        "--deadline-in-blocks",
        "300",
        "--ring-size",
        "3",
    ]);
    assert!(!ok && stderr.contains("refused"), "{stderr}");

    // The researcher proposes two studies of the same field, the second released with
    // distributed differential privacy at ε = 1; the validators approve both by vote.
    let propose = |extra: &[&str]| {
        let mut args = vec![
            "study",
            "propose",
            "--as",
            "researcher-dan",
            "--field",
            "hba1c",
            "--unit",
            "%",
            "--scale-divisor",
            "10",
            "--min",
            "40",
            "--max",
            "200",
            "--institution",
            HOSPITAL,
            "--category",
            "laboratory",
            "--sum-of-squares",
            "--histogram",
            "40,60,100",
            "--min-cohort",
            "3",
            "--values-max",
            "100",
            "--deadline-in-blocks",
            "200",
            "--ring-size",
            "3",
        ];
        args.extend(extra);
        let (ok, stdout, stderr) = run(&args);
        assert!(ok, "study propose failed: {stderr}");
        field(&stdout, "study id:").to_string()
    };
    let study = propose(&[]);
    let private_study = propose(&["--epsilon", "1"]);
    let (ok, stdout, _) = trusted(&["study", "result", &study]);
    assert!(!ok && stdout.is_empty(), "no result before release");
    let node_key = |i: usize| path(&format!("validators/node-{i}/validator.key"));
    let as_validator = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--api", &api]);
        cli_with_passphrase(&all)
    };
    for study in [&study, &private_study] {
        let (ok, stdout, stderr) =
            as_validator(&["study", "approve", study, "--node-key", &node_key(0)]);
        assert!(ok, "study approve failed: {stderr}");
        let proposal = field(&stdout, "approval proposal id:").to_string();
        for i in 1..3 {
            let (ok, _, stderr) = as_validator(&[
                "governance",
                "vote",
                &proposal,
                "--approve",
                "--node-key",
                &node_key(i),
            ]);
            assert!(ok, "vote failed: {stderr}");
        }
    }
    let (ok, stdout, stderr) = trusted(&["study", "status", &study]);
    assert!(ok && stdout.contains("approved"), "{stdout}{stderr}");

    // Each patient contributes anonymously; a value out of range and a second contribution
    // from the same pseudonym are refused.
    let contribute_to = |study: &str, key: &str, value: &str| {
        let mut args = vec![
            "study",
            "contribute",
            study,
            "--key",
            key,
            "--institution",
            HOSPITAL,
        ];
        args.extend(["--value", value, "--api", &api, "--genesis"]);
        args.push(genesis_path.to_str().unwrap());
        cli_with_passphrase(&args)
    };
    let contribute = |key: &str, value: &str| contribute_to(&study, key, value);
    let (ok, _, stderr) = contribute(&patients[0], "201");
    assert!(
        !ok && stderr.contains("outside the study's range"),
        "{stderr}"
    );
    for (key, value) in patients.iter().zip(ANONYMOUS_VALUES) {
        for study in [&study, &private_study] {
            let (ok, _, stderr) = contribute_to(study, key, &value.to_string());
            assert!(ok, "anonymous contribution failed: {stderr}");
        }
    }
    let (ok, _, stderr) = contribute(&patients[1], "60");
    assert!(
        !ok && stderr.contains("one contribution per pseudonym"),
        "{stderr}"
    );

    // The hospital's admin contributes its own patients' values.
    let values = path("hospital-values.txt");
    let lines: Vec<String> = HOSPITAL_VALUES.iter().map(u64::to_string).collect();
    std::fs::write(&values, format!("# HbA1c, 0.1 %\n{}\n", lines.join("\n"))).unwrap();
    let admin = format!("admin-{HOSPITAL}");
    for study in [&study, &private_study] {
        let (ok, _, stderr) = cli_with_passphrase(&[
            "study",
            "contribute",
            study,
            "--as",
            &admin,
            "--data-dir",
            &data_dir,
            "--values-file",
            &values,
            "--api",
            &api,
            "--genesis",
            genesis_path.to_str().unwrap(),
        ]);
        assert!(ok, "institutional contribution failed: {stderr}");
    }

    // Nobody closes or releases by hand: the validators' nodes do at the deadline. The chain
    // makes about two empty blocks a second, so the wait scales with the blocks left.
    let id = study.parse().unwrap();
    let deadline = client.study(&id).await.unwrap().value.spec.deadline_height;
    let blocks_left = deadline.saturating_sub(height(&client).await);
    let patience = std::time::Duration::from_secs(60 + blocks_left);
    let start = std::time::Instant::now();
    while height(&client).await <= deadline {
        assert!(
            start.elapsed() < patience,
            "the chain did not reach the deadline height {deadline}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    wait_for("the validators to release the study", async || {
        client
            .study(&id)
            .await
            .is_ok_and(|s| s.value.status == StudyStatus::Released)
    })
    .await;
    let released = client.study(&id).await.unwrap().value;
    let result = released.result.expect("a released study has its result");
    // sum 388; squares 3025 + 5184 + 16900 + 8100 + 1681; buckets [40,60) [60,100) [100,200].
    assert_eq!(result.values, 5);
    assert_eq!(result.contributions, 4);
    assert_eq!(result.totals, vec![388, 34_890, 2, 2, 1]);
    assert_eq!(released.anonymous_contributions, 3);
    let (ok, stdout, stderr) = trusted(&["study", "result", &study]);
    assert!(ok, "study result failed: {stderr}");
    assert!(stdout.contains("5 values from 4 contributions"), "{stdout}");
    assert!(stdout.contains("mean:     7.760 %"), "{stdout}");
    assert!(stdout.contains("verified: proven"), "{stdout}");
    let (ok, stdout, _) = trusted(&["study", "list"]);
    assert!(
        ok && stdout.contains(&study) && stdout.contains("study index: 2 studies"),
        "{stdout}"
    );

    // The private study: the nodes added their noise shares (f + 1 = 2 of 4) before any
    // decryption; its totals are the same data's, noised, within their possible ranges.
    let private_id = private_study.parse().unwrap();
    wait_for("the validators to release the private study", async || {
        client
            .study(&private_id)
            .await
            .is_ok_and(|s| s.value.status == StudyStatus::Released)
    })
    .await;
    let private = client.study(&private_id).await.unwrap().value;
    assert_eq!(private.noise_from.len(), 2);
    let noised = private.result.expect("released");
    assert_eq!(noised.values, 5);
    let noise = noised.noise.expect("the result carries its ε");
    assert_eq!((noise.epsilon_milli, noise.shares), (1_000, 2));
    let bounds = private.spec.slot_bounds(5).unwrap();
    for (total, bound) in noised.totals.iter().zip(&bounds) {
        assert!(
            (bound.lo..=bound.hi).contains(total),
            "{total} outside {bound:?}"
        );
    }
    let (ok, stdout, stderr) = trusted(&["study", "result", &private_study]);
    assert!(ok, "study result failed: {stderr}");
    assert!(
        stdout.contains("differentially private at ε = 1") && stdout.contains("from 2 validators"),
        "{stdout}"
    );

    // Nothing the hospital's source system knew about its patients is anywhere a validator
    // keeps data: ledger, blocks, blobs, DKG files, logs.
    let validators_dir = dir.join("validators");
    for source in &SOURCE {
        for identifier in [source.name, source.mrn, source.birth_date, source.address] {
            // The scan finds what is there: the hospital's own export holds each identifier.
            let export = dir.join(format!("{}.json", source.mrn));
            assert!(files_holding(&dir, identifier).contains(&export));
            let leaks = files_holding(&validators_dir, identifier);
            assert!(leaks.is_empty(), "{identifier:?} found in {leaks:?}");
        }
    }
}
