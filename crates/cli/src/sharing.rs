//! Sharing through threshold re-encryption. The patient's client makes Umbral key fragments for
//! the grantee, one per validator, each sealed (HPKE) to that validator, any t = f+1 of which
//! let the grantee open the patient's records once the ledger permits a read; the consent
//! commits to their hashes and each validator gets its own off-chain once the grant is final.
//! The grantee's client asks the holders for capsule fragments of a permitted read, checks
//! each, and combines t of them into the record's data key. Every key sealed to and the
//! validator count (which sets t) are proven ledger values, checked by the client.

use anyhow::{Context as _, Result, bail};
use medchain_client::{Client, ClientError};
use medchain_crypto::{
    envelope,
    keys::{PseudonymKeys, hpke},
    umbral,
};
use medchain_state::{AccessLogEntry, ConsentEntry, RecordEntry, ValidatorSet};
use medchain_types::{
    AccountId, ChainId, ConsentId, SealedFragment,
    api::ApiErrorCode,
    fragment_seal_info,
    release::{ReleaseRequest, SEALED_CFRAG_SIZE_MAX_BYTES, cfrag_seal_info},
};
use medchain_verify::Verified;

/// Where a consent's fragments belong: the HPKE `info` of each names all of it plus the
/// validator (`medchain_types::fragment_seal_info`), so a fragment opens only there.
pub struct FragmentBinding<'a> {
    pub chain_id: &'a ChainId,
    pub consent: &'a ConsentId,
    pub patient: &'a AccountId,
    pub grantee: &'a AccountId,
}

/// The grantee's Umbral key, as registered on the ledger by their institution (proven, and the
/// membership not revoked).
pub async fn grantee_pre_key(client: &Client, grantee: &AccountId) -> Result<umbral::PublicKey> {
    let member = client
        .member(grantee)
        .await
        .with_context(|| format!("cannot use {grantee} as a grantee"))?;
    if let Some(revoked) = member.value.revoked_height {
        bail!(
            "{grantee}'s membership was revoked at height {revoked}; a consent would release keys to a revoked member"
        );
    }
    let Some(keys) = member.value.keys else {
        bail!(
            "{grantee} has no re-encryption key registered; ask their institution's admin to register one"
        );
    };
    Ok(umbral::PublicKey::from_compressed_bytes(
        &keys.pre_public_key,
    )?)
}

/// Key fragments for `grantee_pre`, sealed one to each validator of the proven set, threshold
/// t = f+1 of that set.
pub fn sealed_fragments(
    patient: &PseudonymKeys,
    grantee_pre: &umbral::PublicKey,
    validator_set: &ValidatorSet,
    binding: &FragmentBinding<'_>,
) -> Result<Vec<SealedFragment>> {
    if validator_set.is_empty() {
        bail!(
            "the proven validator set is empty; the chain has not applied its genesis yet: retry in a moment"
        );
    }
    let validators = &validator_set.validators;
    let threshold = validator_set.reencryption_threshold();
    let delegating = umbral::SecretKey::from_be_bytes(patient.pre.as_bytes())?;
    let signer = umbral::Signer::new(&delegating);
    let kfrags = umbral::generate_kfrags(
        &mut rand::rng(),
        &delegating,
        grantee_pre,
        &signer,
        umbral::KeyFragParams {
            threshold,
            shares: validators.len(),
            sign_delegating_key: true,
            sign_receiving_key: true,
        },
    )?;
    let mut sealed = Vec::with_capacity(validators.len());
    for (kfrag, validator) in kfrags.iter().zip(validators) {
        let recipient = hpke::EncryptionPublicKey::from_bytes(&validator.encryption_key)
            .with_context(|| {
                format!(
                    "validator {} has an invalid encryption key",
                    validator.account
                )
            })?;
        let info = fragment_seal_info(
            binding.chain_id,
            binding.consent,
            binding.patient,
            binding.grantee,
            &validator.account,
        );
        let ciphertext =
            hpke::seal_to(&mut rand::rng(), &recipient, &info, b"", &kfrag.to_bytes())?;
        sealed.push(SealedFragment {
            validator: validator.account.clone(),
            ciphertext: ciphertext.into(),
        });
    }
    Ok(sealed)
}

/// The ledger's current validators, proven, to seal fragments to.
pub async fn validators(client: &Client) -> Result<Verified<ValidatorSet>> {
    client
        .validators()
        .await
        .context("cannot verify the validator set the fragments are sealed to")
}

/// How long the hand-over of fragments (and a release) retries a validator that has not yet
/// applied the block that committed the grant (or the access request): a few blocks.
const VALIDATOR_CATCH_UP_MAX_MS: u64 = 10_000;
const VALIDATOR_RETRY_INTERVAL_MS: u64 = 200;

/// True for the answers a validator gives while it is behind the block the caller waited for.
pub(crate) fn behind(error: &ClientError) -> bool {
    matches!(
        error,
        ClientError::Api {
            code: ApiErrorCode::UnknownConsent | ApiErrorCode::StateUnavailable,
            ..
        }
    )
}

/// Calls `attempt` until it succeeds, fails for a reason other than the validator being
/// behind, or [`VALIDATOR_CATCH_UP_MAX_MS`] passed.
pub(crate) async fn retry_while_behind<T, F, Fut>(mut attempt: F) -> Result<T, ClientError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ClientError>>,
{
    let deadline =
        std::time::Instant::now() + std::time::Duration::from_millis(VALIDATOR_CATCH_UP_MAX_MS);
    loop {
        match attempt().await {
            Err(e) if behind(&e) && std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(
                    VALIDATOR_RETRY_INTERVAL_MS,
                ))
                .await;
            }
            other => return other,
        }
    }
}

/// Hands each validator its sealed fragment of the committed `consent`; returns how many took
/// theirs, after printing why any did not.
pub async fn deliver_fragments(
    client: &Client,
    validators: &ValidatorSet,
    consent: &ConsentId,
    sealed: &[SealedFragment],
) -> usize {
    let mut held = 0;
    for fragment in sealed {
        let Some(validator) = validators.get(&fragment.validator) else {
            continue;
        };
        let delivered = retry_while_behind(|| {
            client.put_fragment(&validator.http_address, consent, &fragment.ciphertext)
        })
        .await;
        match delivered {
            Ok(answer) if answer.held => held += 1,
            Ok(_) => eprintln!(
                "validator {} ({}) did not keep its fragment",
                validator.account, validator.http_address
            ),
            Err(e) => eprintln!(
                "validator {} ({}) did not take its fragment: {e}",
                validator.account, validator.http_address
            ),
        }
    }
    held
}

/// How many of the consent's committed fragment holders (still current validators) say they
/// hold their fragment, and how many holders the consent committed to.
pub async fn fragment_holders(
    client: &Client,
    validators: &ValidatorSet,
    consent: &ConsentEntry,
) -> (usize, usize) {
    let mut held = 0;
    for commitment in &consent.fragments {
        let Some(validator) = validators.get(&commitment.validator) else {
            continue;
        };
        if let Ok(answer) = client
            .fragment_held(&validator.http_address, &consent.id)
            .await
            && answer.held
        {
            held += 1;
        }
    }
    (held, consent.fragments.len())
}

/// The data key of `record` for the grantee holding `keys`, through threshold re-encryption:
/// the capsule fragments of the permit `entry` (a proven entry of the patient's access log),
/// asked of the consent's fragment holders one after another until t of them verified.
pub async fn grantee_data_key(
    client: &Client,
    keys: &PseudonymKeys,
    record: &RecordEntry,
    entry: &AccessLogEntry,
) -> Result<envelope::DataKey> {
    let Some(consent_id) = entry.consent else {
        bail!(
            "the read was permitted without a consent ({:?}), so no validator holds a key fragment for it; only reads under a patient's consent release keys",
            entry.reason
        );
    };
    let consent = client
        .consent(&consent_id)
        .await
        .context("cannot verify the consent that permitted the read")?
        .value;
    let patient = client
        .pseudonym(&record.patient)
        .await
        .context("cannot verify the record's patient pseudonym")?
        .value;
    let validators = validators(client).await?.value;
    let patient_pre = umbral::PublicKey::from_compressed_bytes(&patient.pre_public_key)
        .context("the patient's proven PRE key does not parse")?;
    let my_secret = crate::identity::pre_secret_key(keys)?;
    let my_pre = my_secret.public_key();
    let capsule = umbral::Capsule::from_bytes(&record.capsule)
        .context("the record's proven capsule does not parse")?;
    let chain_id = crate::commands::chain_id(client).await?;
    let threshold = consent.threshold as usize;
    let mut cfrags = Vec::with_capacity(threshold);
    let mut failures = Vec::new();
    for commitment in &consent.fragments {
        if cfrags.len() == threshold {
            break;
        }
        let Some(validator) = validators.get(&commitment.validator) else {
            failures.push(format!("  {}: no longer a validator", commitment.validator));
            continue;
        };
        let request = ReleaseRequest::sign(
            &keys.signing,
            &chain_id,
            record.patient.clone(),
            entry.sequence,
            validator.account.clone(),
        );
        let opened = match retry_while_behind(|| client.release(&validator.http_address, &request))
            .await
        {
            Ok(answer) => {
                open_cfrag(keys, &request, &chain_id, &answer.sealed_cfrag).and_then(|cfrag| {
                    cfrag
                        .verify(&capsule, &patient_pre, &patient_pre, &my_pre)
                        .map_err(|e| anyhow::anyhow!("its capsule fragment does not verify: {e}"))
                })
            }
            Err(e) => Err(e.into()),
        };
        match opened {
            Ok(cfrag) => cfrags.push(cfrag),
            Err(e) => failures.push(format!(
                "  {} ({}): {e}",
                validator.account, validator.http_address
            )),
        }
    }
    if cfrags.len() < threshold {
        bail!(
            "only {} of the {threshold} key fragments needed were released; nothing was decrypted. These validators did not release one:\n{}",
            cfrags.len(),
            failures.join("\n")
        );
    }
    let seed = umbral::decapsulate_reencrypted(&my_secret, &patient_pre, &capsule, &cfrags)
        .context("the released key fragments do not open the record's capsule")?;
    Ok(envelope::DataKey::from_bytes(*seed.derive_key()))
}

fn open_cfrag(
    keys: &PseudonymKeys,
    request: &ReleaseRequest,
    chain_id: &ChainId,
    sealed: &[u8],
) -> Result<umbral::CapsuleFrag> {
    if sealed.len() > SEALED_CFRAG_SIZE_MAX_BYTES {
        bail!(
            "its sealed capsule fragment is {} bytes, too long",
            sealed.len()
        );
    }
    let bytes = hpke::open_with(
        &keys.encryption,
        &cfrag_seal_info(request, chain_id),
        b"",
        sealed,
    )
    .context("its answer does not open with your encryption key")?;
    umbral::CapsuleFrag::from_bytes(&bytes).context("its answer is not a capsule fragment")
}
