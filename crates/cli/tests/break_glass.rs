//! Break-glass end to end, in real processes: four validators from `medchain init`, the
//! hospital's emergency key service (`medchain emergency serve`), and the CLI as a clinician, a
//! patient and an auditor use it. A flagged ETREAT read releases the record's key only through
//! the service, only once per access entry and only after the ledger flagged it; the auditors'
//! review queue shows each such read; disabling emergency access stops the next one.

mod common;

use common::*;
use commonware_cryptography::{Signer as _, ed25519};
use medchain_client::Client;
use medchain_types::{AccountId, emergency::EmergencyKeyRequest, release::ReleaseRequest};
use std::process::Stdio;

const VALIDATORS: usize = 4;
const RECORD_SEED: u64 = 0x5eed_0b61;
const WHY: &str = "unconscious on arrival, suspected anaphylaxis";

/// `medchain emergency serve` as the hospital's demo emergency-service identity.
fn start_emergency_service(dir: &std::path::Path, api: &str, listen: &str) -> Node {
    let service_dir = dir.join("emergency");
    std::fs::create_dir_all(&service_dir).unwrap();
    let log = std::fs::File::create(service_dir.join("service.log")).unwrap();
    let child = medchain()
        .args(["emergency", "serve", "--as", "emergency-st-mary-hospital"])
        .arg("--data-dir")
        .arg(dir)
        .args(["--api", api, "--listen", listen, "--dir"])
        .arg(&service_dir)
        .arg("--genesis")
        .arg(dir.join("genesis.toml"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("medchain emergency serve starts");
    Node { child }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_break_glass_read_gets_its_key_only_through_the_emergency_service_and_is_reviewed() {
    println!("content seed {RECORD_SEED:#x}");
    let (dir, http) = init_consortium_with("break-glass", VALIDATORS, 0, &["--observers", "0"]);
    let _validators: Vec<Node> = (0..VALIDATORS).map(|i| start_node(&dir, i)).collect();
    let api = format!("http://127.0.0.1:{http}");
    let client = Client::new(&api).unwrap();
    wait_for("the first block", async || height(&client).await >= 1).await;
    let genesis_path = dir.join("genesis.toml");
    let genesis = medchain_node::config::load_genesis(&genesis_path).unwrap();
    let chain_id = genesis.chain_id();
    let trusted = client
        .clone()
        .trusting(medchain_client::Trust::new(genesis));
    let service_url = format!("http://127.0.0.1:{}", http + VALIDATORS as u16);
    let _service = start_emergency_service(
        &dir,
        &api,
        &format!("127.0.0.1:{}", http + VALIDATORS as u16),
    );
    let service_client = Client::new(&service_url).unwrap();
    wait_for("the emergency service", async || {
        service_client
            .get::<serde_json::Value>("/v1/status")
            .await
            .is_ok()
    })
    .await;
    let data_dir = dir.to_str().unwrap().to_string();
    let path = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let run = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--api", &api, "--genesis", genesis_path.to_str().unwrap()]);
        all.extend(["--data-dir", &data_dir]);
        cli_with_passphrase(&all)
    };

    // A patient at the hospital; dr-alice writes a record for them.
    let patient_key = path("patient.key");
    let pseudonym = register_patient(&patient_key, &api, &data_dir);
    let plaintext = content(RECORD_SEED, 200_000);
    let file = path("allergies.bin");
    std::fs::write(&file, &plaintext).unwrap();
    let (ok, stdout, stderr) = run(&[
        "record",
        "put",
        "--as",
        "dr-alice",
        "--patient",
        &pseudonym,
        "--category",
        "allergy",
        "--file",
        &file,
    ]);
    assert!(ok, "record put failed: {stderr}");
    let record = field(&stdout, "record id:").to_string();
    let out = |name: &str| path(&format!("out-{name}"));
    let bob_etreat = |name: &str, with_service: bool| {
        let target = out(name);
        let mut args = vec![
            "record",
            "get",
            &record,
            "--as",
            "dr-bob",
            "--purpose",
            "etreat",
            "--justification",
            WHY,
            "--out",
            &target,
        ];
        if with_service {
            args.extend(["--emergency-service", &service_url]);
        }
        let owned: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
        run(&refs)
    };

    // Without emergency access, the ledger denies (and logs) the break-glass attempt.
    let (ok, _, stderr) = bob_etreat("denied.bin", true);
    assert!(
        !ok && stderr.contains("EmergencyAccessNotEnabled"),
        "{stderr}"
    );

    // The patient enables emergency access: the flag and fragments for the service.
    let (ok, stdout, stderr) = run(&[
        "consent",
        "emergency",
        "--key",
        &patient_key,
        "--institution",
        HOSPITAL,
    ]);
    assert!(ok, "consent emergency failed: {stderr}");
    assert!(
        stdout.contains("key fragments held by 4 of 4 validators (2 needed for a read)"),
        "{stdout}"
    );

    // Flagged on the ledger, but without the service the clinician gets no key.
    let (ok, _, stderr) = bob_etreat("no-service.bin", false);
    assert!(!ok && stderr.contains("--emergency-service"), "{stderr}");
    assert!(!std::path::Path::new(&out("no-service.bin")).exists());

    // Through the service, the read is byte-identical.
    let (ok, _, stderr) = bob_etreat("read.bin", true);
    assert!(ok, "the break-glass read failed: {stderr}");
    assert!(std::fs::read(out("read.bin")).unwrap() == plaintext);

    let patient: AccountId = pseudonym.parse().unwrap();
    let log = trusted.access_log(&patient).await.unwrap().value;
    let reasons: Vec<String> = log
        .iter()
        .map(|e| format!("{:?} {}", e.reason, e.break_glass))
        .collect();
    assert_eq!(
        reasons,
        [
            "EmergencyAccessNotEnabled false",
            "BreakGlass true",
            "BreakGlass true"
        ]
    );
    let served = log[2].sequence;

    // Attacks, each refused with its code; no key leaves the service or a validator.
    let bob = demo_keys(&dir, "dr-bob");
    let service = trusted
        .emergency_service(&medchain_types::InstitutionId::new(HOSPITAL).unwrap())
        .await
        .unwrap()
        .value
        .account;
    let replay = trusted
        .emergency_data_key(&service_url, &bob, &service, &patient, served)
        .await;
    assert_eq!(refused_code(replay), "release_replayed");
    let denial = trusted
        .emergency_data_key(&service_url, &bob, &service, &patient, log[0].sequence)
        .await;
    assert_eq!(refused_code(denial), "not_permitted");
    let carol = demo_keys_at(&dir, "dr-carol", "riverside-hospital");
    let not_theirs = trusted
        .emergency_data_key(&service_url, &carol, &service, &patient, log[1].sequence)
        .await;
    assert_eq!(refused_code(not_theirs), "not_permitted");
    let mut forged = EmergencyKeyRequest::sign(
        &carol.signing,
        &chain_id,
        patient.clone(),
        log[1].sequence,
        service.clone(),
    );
    forged.requester = AccountId::from(bob.signing.public_key());
    let (status, code) = post_raw(
        &format!("{service_url}/v1/emergency-keys"),
        "application/json",
        serde_json::to_vec(&forged).unwrap(),
    )
    .await;
    assert_eq!((status, code.as_str()), (400, "bad_signature"));
    let (status, code) = post_raw(
        &format!("{service_url}/v1/emergency-keys"),
        "application/json",
        b"{\"patient\": 1}".to_vec(),
    )
    .await;
    assert_eq!((status, code.as_str()), (400, "malformed"));
    // The clinician asking a validator directly for the break-glass entry's fragment.
    let validator = &trusted.validators().await.unwrap().value.validators[0];
    let direct = ReleaseRequest::sign(
        &bob.signing,
        &chain_id,
        patient.clone(),
        log[1].sequence,
        validator.account.clone(),
    );
    assert_eq!(
        refused_code(trusted.release(&validator.http_address, &direct).await),
        "not_permitted"
    );
    // Someone else's key posing as the service gets nothing from a validator either.
    let impostor = ed25519::PrivateKey::from_seed(0xbad);
    let posing = ReleaseRequest::sign(
        &impostor,
        &chain_id,
        patient.clone(),
        log[1].sequence,
        validator.account.clone(),
    );
    assert_eq!(
        refused_code(trusted.release(&validator.http_address, &posing).await),
        "not_permitted"
    );
    let hand_overs = std::fs::read_dir(dir.join("emergency/releases")).unwrap();
    assert_eq!(hand_overs.count(), 1, "one key handed over");

    // The auditors' queue holds both flagged reads; auditor-eve closes one.
    let (ok, stdout, stderr) = run(&["audit", "review"]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("2 open of 2 break-glass reads, the queue proven complete"),
        "{stdout}"
    );
    assert!(stdout.contains(WHY), "{stdout}");
    let (ok, _, stderr) = run(&[
        "audit",
        "review",
        "--as",
        "auditor-eve",
        "--item",
        "1",
        "--finding",
        "justified",
        "--note",
        "confirmed with the emergency department",
    ]);
    assert!(ok, "{stderr}");
    let (ok, stdout, _) = run(&["audit", "review", "--all"]);
    assert!(ok);
    assert!(stdout.contains("1 open of 2 break-glass reads"), "{stdout}");
    assert!(stdout.contains("[justified by "), "{stdout}");
    let (ok, _, stderr) = run(&[
        "audit",
        "review",
        "--as",
        "dr-bob",
        "--item",
        "0",
        "--finding",
        "unjustified",
    ]);
    assert!(!ok && stderr.contains("Auditor"), "{stderr}");

    // The patient disables emergency access: the delegation is revoked, the next read denied.
    let (ok, stdout, stderr) = run(&[
        "consent",
        "emergency",
        "--key",
        &patient_key,
        "--institution",
        HOSPITAL,
        "--disable",
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("revoked the delegation"), "{stdout}");
    let (ok, _, stderr) = bob_etreat("after.bin", true);
    assert!(
        !ok && stderr.contains("EmergencyAccessNotEnabled"),
        "{stderr}"
    );
    let log = trusted.access_log(&patient).await.unwrap().value;
    assert_eq!(log.len(), 4, "every attempt is on the ledger");
}
