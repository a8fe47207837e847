//! Sharing through threshold re-encryption, as every client does it (the CLI, the emergency key
//! service, the benchmarks, later the portal).
//!
//! The patient's client makes Umbral key fragments for a grantee, one per validator, each
//! HPKE-sealed to that validator, any t = f+1 of which let the grantee open the patient's
//! records once the ledger permits a read; the consent commits to their hashes and each validator
//! gets its own off-chain once the grant is final. The grantee's client asks the holders for
//! capsule fragments of a permitted read, checks each against the capsule and the keys, and
//! combines t of them into the record's data key. Every key sealed to and the validator count
//! (which sets t) are proven ledger values; a validator's answer is checked by its proof.

use crate::{Client, ClientError};
use commonware_cryptography::Signer as _;
use medchain_crypto::{
    envelope,
    keys::{PseudonymKeys, hpke},
    umbral,
};
use medchain_state::{AccessLogEntry, ConsentEntry, RecordEntry, ValidatorSet};
use medchain_types::{
    AccountId, ChainId, ConsentId, ConsentPolicy, Decision, Payload, Purpose, SealedFragment,
    TxHash,
    api::{ApiErrorCode, TxState, TxStatusResponse},
    fragment_seal_info,
    release::{ReleaseRequest, SEALED_CFRAG_SIZE_MAX_BYTES, cfrag_seal_info},
};
use std::time::{Duration, Instant};

/// How long a hand-over of fragments (or a release) retries a validator that has not yet
/// applied the block that committed the grant (or the access request): a few blocks.
pub const VALIDATOR_CATCH_UP_MAX_MS: u64 = 10_000;
const VALIDATOR_RETRY_INTERVAL_MS: u64 = 200;

/// Where a consent's fragments belong: the HPKE `info` of each names all of it plus the
/// validator (`medchain_types::fragment_seal_info`), so a fragment opens only there.
pub struct FragmentBinding<'a> {
    pub chain_id: &'a ChainId,
    pub consent: &'a ConsentId,
    pub patient: &'a AccountId,
    pub grantee: &'a AccountId,
}

fn key_error(what: impl std::fmt::Display) -> ClientError {
    ClientError::KeyMaterial(what.to_string())
}

/// A key set's Umbral secret key.
pub fn pre_secret_key(keys: &PseudonymKeys) -> Result<umbral::SecretKey, ClientError> {
    umbral::SecretKey::from_be_bytes(keys.pre.as_bytes()).map_err(|_| {
        key_error("your derived proxy re-encryption key is out of range; generate a new identity")
    })
}

impl Client {
    /// The chain id of the genesis this client trusts (what every signature is bound to).
    pub fn chain_id(&self) -> Result<ChainId, ClientError> {
        Ok(self.trust()?.genesis.chain_id())
    }

    /// The grantee's Umbral key, as registered on the ledger by their institution (proven, and
    /// the membership not revoked).
    pub async fn grantee_pre_key(
        &self,
        grantee: &AccountId,
    ) -> Result<umbral::PublicKey, ClientError> {
        let member = self.member(grantee).await?.value;
        if let Some(revoked) = member.revoked_height {
            return Err(ClientError::NotAGrantee(format!(
                "{grantee}'s membership was revoked at height {revoked}; a consent would release keys to a revoked member"
            )));
        }
        let Some(keys) = member.keys else {
            return Err(ClientError::NotAGrantee(format!(
                "{grantee} has no re-encryption key registered; ask their institution's admin to register one"
            )));
        };
        umbral::PublicKey::from_compressed_bytes(&keys.pre_public_key)
            .map_err(|_| key_error(format!("{grantee}'s proven PRE key does not parse")))
    }

    /// Hands each validator its sealed fragment of `consent`, committed at `committed_height`,
    /// retrying one that is still behind that block; answers each validator's outcome (true:
    /// it holds it).
    pub async fn deliver_fragments(
        &self,
        validators: &ValidatorSet,
        consent: &ConsentId,
        sealed: &[SealedFragment],
        committed_height: Option<u64>,
    ) -> Vec<(AccountId, Result<bool, ClientError>)> {
        let mut outcomes = Vec::with_capacity(sealed.len());
        for fragment in sealed {
            let Some(validator) = validators.get(&fragment.validator) else {
                continue;
            };
            let delivered = retry_while_behind(|| {
                self.put_fragment(
                    &validator.http_address,
                    consent,
                    &fragment.ciphertext,
                    committed_height,
                )
            })
            .await
            .map(|answer| answer.held);
            outcomes.push((validator.account.clone(), delivered));
        }
        outcomes
    }

    /// How many of the consent's committed fragment holders (still current validators) say
    /// they hold their fragment, and how many holders the consent committed to.
    pub async fn fragment_holders(
        &self,
        validators: &ValidatorSet,
        consent: &ConsentEntry,
    ) -> (usize, usize) {
        let mut held = 0;
        for commitment in &consent.fragments {
            let Some(validator) = validators.get(&commitment.validator) else {
                continue;
            };
            if let Ok(answer) = self
                .fragment_held(&validator.http_address, &consent.id)
                .await
                && answer.held
            {
                held += 1;
            }
        }
        (held, consent.fragments.len())
    }

    /// The data key of `record` for the holder of `keys`, the grantee of `consent_id`, through
    /// threshold re-encryption: capsule fragments for the permit `entry` (a proven entry of the
    /// patient's access log), asked of the consent's holders one after another until t of them
    /// verified against the capsule, the patient's key and the grantee's.
    pub async fn reencrypted_data_key(
        &self,
        keys: &PseudonymKeys,
        record: &RecordEntry,
        entry: &AccessLogEntry,
        consent_id: &ConsentId,
    ) -> Result<envelope::DataKey, ClientError> {
        let consent = self.consent(consent_id).await?.value;
        let patient = self.pseudonym(&record.patient).await?.value;
        let validators = self.validators().await?.value;
        let patient_pre = umbral::PublicKey::from_compressed_bytes(&patient.pre_public_key)
            .map_err(|_| key_error("the patient's proven PRE key does not parse"))?;
        let my_secret = pre_secret_key(keys)?;
        let capsule = umbral::Capsule::from_bytes(&record.capsule)
            .map_err(|_| key_error("the record's proven capsule does not parse"))?;
        let release = Release {
            keys,
            chain_id: self.chain_id()?,
            capsule: &capsule,
            patient_pre: &patient_pre,
            my_pre: my_secret.public_key(),
            patient: &record.patient,
            sequence: entry.sequence,
        };
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
            match self.released_cfrag(&release, validator).await {
                Ok(cfrag) => cfrags.push(cfrag),
                Err(e) => failures.push(format!(
                    "  {} ({}): {e}",
                    validator.account, validator.http_address
                )),
            }
        }
        if cfrags.len() < threshold {
            return Err(ClientError::TooFewFragments {
                released: cfrags.len(),
                threshold,
                failures: failures.join("\n"),
            });
        }
        let seed = umbral::decapsulate_reencrypted(&my_secret, &patient_pre, &capsule, &cfrags)
            .map_err(|e| {
                key_error(format!(
                    "the released key fragments do not open the record's capsule: {e}"
                ))
            })?;
        Ok(envelope::DataKey::from_bytes(*seed.derive_key()))
    }

    /// One validator's capsule fragment of the read, opened and verified.
    async fn released_cfrag(
        &self,
        release: &Release<'_>,
        validator: &medchain_state::ValidatorEntry,
    ) -> Result<umbral::VerifiedCapsuleFrag, ClientError> {
        let request = ReleaseRequest::sign(
            &release.keys.signing,
            &release.chain_id,
            release.patient.clone(),
            release.sequence,
            validator.account.clone(),
        );
        let answer = retry_while_behind(|| self.release(&validator.http_address, &request)).await?;
        let cfrag = open_cfrag(
            release.keys,
            &request,
            &release.chain_id,
            &answer.sealed_cfrag,
        )?;
        cfrag
            .verify(
                release.capsule,
                release.patient_pre,
                release.patient_pre,
                &release.my_pre,
            )
            .map_err(|e| {
                ClientError::BadFragment(format!("its capsule fragment does not verify: {e}"))
            })
    }
}

/// What every release request of one read shares.
struct Release<'a> {
    keys: &'a PseudonymKeys,
    chain_id: ChainId,
    capsule: &'a umbral::Capsule,
    patient_pre: &'a umbral::PublicKey,
    my_pre: umbral::PublicKey,
    patient: &'a AccountId,
    sequence: u64,
}

/// Key fragments for `grantee_pre`, sealed one to each validator of the proven set, threshold
/// t = f+1 of that set.
pub fn sealed_fragments(
    patient: &PseudonymKeys,
    grantee_pre: &umbral::PublicKey,
    validator_set: &ValidatorSet,
    binding: &FragmentBinding<'_>,
) -> Result<Vec<SealedFragment>, ClientError> {
    if validator_set.is_empty() {
        return Err(ClientError::BadResponse(
            "the proven validator set is empty; the chain has not applied its genesis yet: retry in a moment".into(),
        ));
    }
    let validators = &validator_set.validators;
    let delegating = pre_secret_key(patient)?;
    let signer = umbral::Signer::new(&delegating);
    let kfrags = umbral::generate_kfrags(
        &mut rand::rng(),
        &delegating,
        grantee_pre,
        &signer,
        umbral::KeyFragParams {
            threshold: validator_set.reencryption_threshold(),
            shares: validators.len(),
            sign_delegating_key: true,
            sign_receiving_key: true,
        },
    )
    .map_err(key_error)?;
    let mut sealed = Vec::with_capacity(validators.len());
    for (kfrag, validator) in kfrags.iter().zip(validators) {
        let recipient =
            hpke::EncryptionPublicKey::from_bytes(&validator.encryption_key).map_err(|_| {
                key_error(format!(
                    "validator {} has an invalid encryption key on the ledger",
                    validator.account
                ))
            })?;
        let info = fragment_seal_info(
            binding.chain_id,
            binding.consent,
            binding.patient,
            binding.grantee,
            &validator.account,
        );
        let ciphertext = hpke::seal_to(&mut rand::rng(), &recipient, &info, b"", &kfrag.to_bytes())
            .map_err(key_error)?;
        sealed.push(SealedFragment {
            validator: validator.account.clone(),
            ciphertext: ciphertext.into(),
        });
    }
    Ok(sealed)
}

/// True for the answers a validator gives while it is behind the block the caller waited for.
pub fn behind(error: &ClientError) -> bool {
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
pub async fn retry_while_behind<T, F, Fut>(mut attempt: F) -> Result<T, ClientError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ClientError>>,
{
    let deadline = Instant::now() + Duration::from_millis(VALIDATOR_CATCH_UP_MAX_MS);
    loop {
        match attempt().await {
            Err(e) if behind(&e) && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(VALIDATOR_RETRY_INTERVAL_MS)).await;
            }
            other => return other,
        }
    }
}

fn open_cfrag(
    keys: &PseudonymKeys,
    request: &ReleaseRequest,
    chain_id: &ChainId,
    sealed: &[u8],
) -> Result<umbral::CapsuleFrag, ClientError> {
    if sealed.len() > SEALED_CFRAG_SIZE_MAX_BYTES {
        return Err(ClientError::BadFragment(format!(
            "its sealed capsule fragment is {} bytes, longer than {SEALED_CFRAG_SIZE_MAX_BYTES}",
            sealed.len()
        )));
    }
    let bytes = hpke::open_with(
        &keys.encryption,
        &cfrag_seal_info(request, chain_id),
        b"",
        sealed,
    )
    .map_err(|_| {
        ClientError::BadFragment("its answer does not open with your encryption key".into())
    })?;
    umbral::CapsuleFrag::from_bytes(&bytes)
        .map_err(|_| ClientError::BadFragment("its answer is not a capsule fragment".into()))
}

/// How the hand-over of a grant's fragments went: each validator's answer (true: it holds its
/// fragment), how many were sealed, and how many a read needs.
pub struct FragmentDelivery {
    pub outcomes: Vec<(AccountId, Result<bool, ClientError>)>,
    pub sealed: usize,
    pub threshold: usize,
}

impl FragmentDelivery {
    /// Validators that now hold their fragment.
    pub fn held(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|(_, outcome)| matches!(outcome, Ok(true)))
            .count()
    }
}

/// What a grant did: the transaction, the consent's id, and for a committed permit the
/// hand-over of its fragments.
pub struct Grant {
    pub outcome: TxStatusResponse,
    pub consent: ConsentId,
    pub delivery: Option<FragmentDelivery>,
}

impl Client {
    /// Grants `policy` as the patient pseudonym `keys`: a permit's key fragments are sealed to
    /// the proven validator set for its grantee (their proven key), the consent committed with
    /// the fragments' commitments, then each validator handed its own.
    pub async fn grant_consent(
        &self,
        keys: &PseudonymKeys,
        policy: ConsentPolicy,
    ) -> Result<Grant, ClientError> {
        let chain_id = self.chain_id()?;
        let patient = AccountId::from(keys.signing.public_key());
        // The consent id is fixed by the grant's nonce, so its fragments can be sealed to it
        // before the transaction exists.
        let nonce = self.next_nonce(&patient).await?;
        let consent = ConsentId::for_grant(&chain_id, &patient, nonce);
        let sealing = match policy.decision {
            Decision::Deny => None,
            Decision::Permit => {
                let grantee = policy.grantee().cloned().ok_or_else(|| {
                    ClientError::NotAGrantee(
                        "a permit needs a person grantee to release keys to (roles and institutions may be added beside it)".into(),
                    )
                })?;
                let binding = FragmentBinding {
                    chain_id: &chain_id,
                    consent: &consent,
                    patient: &patient,
                    grantee: &grantee,
                };
                Some(self.seal_for(keys, &binding).await?)
            }
        };
        let commitments = sealing
            .as_ref()
            .map(|(_, sealed)| sealed.iter().map(SealedFragment::commitment).collect())
            .unwrap_or_default();
        let payload = Payload::GrantConsent {
            policy,
            fragment_commitments: commitments,
        };
        let outcome = self
            .sign_and_submit_at(&keys.signing, chain_id, nonce, payload)
            .await?;
        let delivery = match sealing {
            Some((validators, sealed)) if outcome.status == TxState::Committed => Some(
                self.hand_over(&validators, &consent, &sealed, outcome.height)
                    .await,
            ),
            _ => None,
        };
        Ok(Grant {
            outcome,
            consent,
            delivery,
        })
    }

    /// Makes the patient's permit `id`'s fragments anew for the current (proven) validator
    /// set, commits their commitments (`ReissueFragments`) and hands each validator its own.
    pub async fn reissue_fragments(
        &self,
        keys: &PseudonymKeys,
        id: &ConsentId,
    ) -> Result<(TxStatusResponse, Option<FragmentDelivery>), ClientError> {
        let patient = AccountId::from(keys.signing.public_key());
        let consent = self.consent(id).await?.value;
        if consent.patient != patient {
            return Err(ClientError::NotAGrantee(format!(
                "consent {id} was granted by another pseudonym; re-issue it as its patient"
            )));
        }
        let Some(grantee) = consent
            .policy
            .grantee()
            .filter(|_| consent.policy.decision == Decision::Permit)
        else {
            return Err(ClientError::NotAGrantee(format!(
                "consent {id} is not a permit for a person; it has no fragments"
            )));
        };
        let chain_id = self.chain_id()?;
        let binding = FragmentBinding {
            chain_id: &chain_id,
            consent: id,
            patient: &patient,
            grantee,
        };
        let (validators, sealed) = self.seal_for(keys, &binding).await?;
        let payload = Payload::ReissueFragments {
            consent: *id,
            fragment_commitments: sealed.iter().map(SealedFragment::commitment).collect(),
        };
        let outcome = self.sign_and_submit(&keys.signing, payload).await?;
        let delivery = if outcome.status == TxState::Committed {
            Some(
                self.hand_over(&validators, id, &sealed, outcome.height)
                    .await,
            )
        } else {
            None
        };
        Ok((outcome, delivery))
    }

    /// Fragments for the binding's grantee, from proven values only: their member entry (key,
    /// not revoked) and the current validator set (keys, and the count that sets t).
    async fn seal_for(
        &self,
        keys: &PseudonymKeys,
        binding: &FragmentBinding<'_>,
    ) -> Result<(ValidatorSet, Vec<SealedFragment>), ClientError> {
        let grantee_pre = self.grantee_pre_key(binding.grantee).await?;
        let validators = self.validators().await?.value;
        let sealed = sealed_fragments(keys, &grantee_pre, &validators, binding)?;
        Ok((validators, sealed))
    }

    async fn hand_over(
        &self,
        validators: &ValidatorSet,
        consent: &ConsentId,
        sealed: &[SealedFragment],
        committed_height: Option<u64>,
    ) -> FragmentDelivery {
        FragmentDelivery {
            outcomes: self
                .deliver_fragments(validators, consent, sealed, committed_height)
                .await,
            sealed: sealed.len(),
            threshold: validators.reencryption_threshold(),
        }
    }

    /// Commits `keys`' request to read `record` and answers its entry in the patient's proven
    /// access log: a permit or a denial, as the ledger decided it.
    pub async fn request_access(
        &self,
        keys: &PseudonymKeys,
        record: &RecordEntry,
        purpose: Purpose,
        justification: Option<String>,
    ) -> Result<AccessLogEntry, ClientError> {
        let payload = Payload::RequestAccess {
            record: record.id,
            purpose,
            justification,
        };
        let outcome = self.sign_and_submit(&keys.signing, payload).await?;
        if outcome.status != TxState::Committed {
            let reason = outcome.error.map_or("no reason given".to_string(), |e| {
                format!("{} ({})", e.message, e.code)
            });
            return Err(ClientError::NotCommitted {
                what: "the access request".into(),
                reason,
            });
        }
        let hash: TxHash = outcome.hash.parse().map_err(|_| {
            ClientError::BadResponse("the node answered a malformed transaction hash".into())
        })?;
        let log = self.access_log(&record.patient).await?;
        log.value
            .into_iter()
            .rev()
            .find(|e| e.tx_hash == hash)
            .ok_or_else(|| {
                ClientError::BadResponse(format!(
                    "the access request {hash} is committed but not in the patient's proven access log; the node may be lying: try another node"
                ))
            })
    }
}
