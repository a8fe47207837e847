//! The demo membership `medchain up` sets up on a new consortium, through the API exactly as
//! users would: patients register pseudonyms at two hospitals, a clinician writes an encrypted
//! lab result, the patient grants a consent and enables break-glass through the hospital's
//! emergency key service, and a clinician requests access.

use crate::{
    commands::submit,
    identity::{Identity, IdentityFile, pre_secret_key},
    init::Layout,
};
use anyhow::{Context as _, Result, bail};
use commonware_cryptography::Signer as _;
use medchain_client::Client;
use medchain_types::{
    AccountId, InstitutionId, Payload,
    codes::{ConsentAction, Decision, Purpose, RecordCategory},
    consent::{ConsentActor, ConsentPolicy, DataScope, Period},
};

/// Demo patients: each has one master seed and a pseudonym at each hospital.
const DEMO_PATIENTS: [&str; 3] = ["patient-1", "patient-2", "patient-3"];
const DEMO_HOSPITALS: [&str; 2] = ["st-mary-hospital", "riverside-hospital"];
/// A lab result in FHIR R4 JSON: content the ledger never sees, only its encrypted hash.
const DEMO_OBSERVATION: &str = r#"{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"4548-4","display":"Hemoglobin A1c"}]},"valueQuantity":{"value":6.1,"unit":"%"}}"#;

/// `services`: each hospital's emergency key service, (institution, URL), already running.
pub async fn populate(
    client: &Client,
    layout: &Layout,
    services: &[(String, String)],
) -> Result<()> {
    let path = layout.identities();
    let mut identities = IdentityFile::load(&path)?;
    let chain_id = crate::commands::chain_id(client).await?;
    let mut patients = Vec::new();
    for name in DEMO_PATIENTS {
        let patient = Identity::generate();
        for hospital in DEMO_HOSPITALS {
            let institution = InstitutionId::new(hospital)?;
            let keys = patient.keys_at(&institution)?;
            // Each hospital admits its own patients: its admin co-signs the pseudonym.
            let registrar = identities
                .get(&format!("admin-{hospital}"))?
                .member_keys()?;
            let payload = medchain_state::registration::register_pseudonym(
                &chain_id,
                &keys.signing,
                &pre_secret_key(&keys)?,
                institution,
                &registrar.signing,
            );
            expect_committed(
                submit(client, &keys.signing, payload).await?,
                "register a pseudonym",
            )?;
        }
        identities.insert(name, &patient);
        patients.push(patient);
    }
    identities.save_replacing(&path)?;

    let st_mary = InstitutionId::new(DEMO_HOSPITALS[0])?;
    let alice = identities.get("dr-alice")?.member_keys()?;
    let bob = identities.get("dr-bob")?.member_keys()?;
    let patient = patients[0].keys_at(&st_mary)?;
    let pseudonym = AccountId::from(patient.signing.public_key());

    // dr-alice writes an encrypted lab result for patient-1, as `record put` does: sealed to the
    // patient's proven PRE key, stored on the validators, committed with their receipts.
    let genesis = medchain_node::config::load_genesis(&layout.genesis())?;
    let verifying = client
        .clone()
        .trusting(medchain_client::Trust::new(genesis));
    let demo = layout.root.join("demo");
    std::fs::create_dir_all(&demo).context("cannot create the demo directory")?;
    let observation = demo.join("lab-result.json");
    std::fs::write(&observation, DEMO_OBSERVATION).context("cannot write the demo lab result")?;
    let record = crate::records::put(
        &verifying,
        &alice,
        &pseudonym,
        RecordCategory::Laboratory,
        &observation,
    )
    .await
    .context("could not create the demo record")?;

    // patient-1 lets dr-bob read lab results for treatment for 30 days.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as u64;
    let policy = ConsentPolicy {
        decision: Decision::Permit,
        actors: vec![ConsentActor::Person(AccountId::from(
            bob.signing.public_key(),
        ))],
        actions: vec![ConsentAction::Access],
        purposes: vec![Purpose::Treat],
        period: Period {
            start_ms: now.saturating_sub(60_000),
            end_ms: now + 30 * 86_400_000,
        },
        data: DataScope::Categories(vec![RecordCategory::Laboratory]),
        exceptions: Vec::new(),
    };
    // Sealed to the proven validator set and handed to the validators, as `consent grant` does.
    let granted = crate::consent::grant(&verifying, &patient, policy).await?;
    expect_committed(granted.outcome, "grant consent")?;
    match granted.fragments {
        Some(f) if f.held >= f.threshold => {}
        _ => bail!(
            "too few validators took their key fragment of the demo consent; check the nodes' logs"
        ),
    }

    // patient-1 allows break-glass reads by st-mary's clinicians: the flag, and key fragments
    // delegated to st-mary's emergency key service, as `consent emergency` does.
    let delegated = crate::consent::enable_emergency(&verifying, &patient, &st_mary)
        .await
        .context("could not enable the demo's emergency access")?;
    if delegated.fragments.is_some_and(|f| f.held < f.threshold) {
        bail!("too few validators took their emergency key fragment; check the nodes' logs");
    }

    // dr-bob reads under consent.
    let request = Payload::RequestAccess {
        record,
        purpose: Purpose::Treat,
        justification: None,
    };
    expect_committed(
        submit(client, &bob.signing, request).await?,
        "request access",
    )?;
    println!(
        "demo membership ready: 3 patients (pseudonyms at both hospitals), consent from patient-1 to dr-bob"
    );
    println!("  patient-1 at st-mary-hospital: pseudonym {pseudonym}");
    println!("  lab result for patient-1:      record {record}");
    println!(
        "  read it back as the patient:   medchain record get {record} --as patient-1 --out lab-result.json"
    );
    println!(
        "  read it as dr-bob (consent):   medchain record get {record} --as dr-bob --out lab-result-bob.json"
    );
    if let Some((_, url)) = services.iter().find(|(i, _)| i == st_mary.as_str()) {
        println!(
            "  break-glass read (flagged):    medchain record get {record} --as dr-bob --purpose etreat --justification \"unconscious on arrival\" --emergency-service {url} --out lab-result-etreat.json"
        );
    }
    println!("  auditors' review queue:        medchain audit review");
    Ok(())
}

fn expect_committed(outcome: medchain_types::api::TxStatusResponse, what: &str) -> Result<()> {
    if outcome.status == medchain_types::api::TxState::Committed {
        return Ok(());
    }
    let reason = outcome
        .error
        .map(|e| format!("{}: {}", e.code, e.message))
        .unwrap_or_default();
    bail!(
        "could not {what}: transaction {} is {} {reason}",
        outcome.hash,
        outcome.status
    )
}
