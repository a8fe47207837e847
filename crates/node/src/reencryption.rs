//! The validator's re-encryption service: it keeps the sealed key fragments patients hand it
//! off-chain, and releases a capsule fragment to a grantee only for a final permit.
//!
//! - `PUT /v1/fragments/{consent}`: the patient's client hands over this validator's sealed
//!   fragment once the grant is final. The node keeps it only if the committed consent commits
//!   to exactly these bytes for this validator, and the fragment opens (its HPKE `info` names
//!   chain, consent, patient, grantee and this validator) and verifies as the patient's key
//!   fragment for the grantee. It is stored as it came, sealed to this validator's X25519 key,
//!   so it stays encrypted at rest, and written durably (temporary file, fsync, rename) so it
//!   survives a restart.
//! - `GET /v1/fragments/{consent}`: whether this validator holds the fragment the consent
//!   commits to now (`consent show` asks each); after `ReissueFragments` an old one does not
//!   count, and is replaced when the patient hands over the new one.
//! - `POST /v1/releases`: a grantee's signed [`ReleaseRequest`] naming one entry of a patient's
//!   access log. The node releases only if, in its finalized state, that entry is a permit for
//!   the signer backed by a consent that is neither revoked nor expired at the latest finalized
//!   block time, whose grantee is the signer, and that this validator holds a fragment of; and
//!   only once per entry (a marker file created exclusively, which is also the release log).
//!   The capsule fragment goes back sealed to the grantee's registered X25519 key.
//!   A break-glass permit (a clinician's ETREAT read the patient allowed for its institution)
//!   releases to that institution's emergency key service instead, which signs the request:
//!   the fragment is that of the patient's ETREAT consent to the service, and the service hands
//!   the key to its clinician (`medchain emergency serve`).
//!
//! Every refusal is logged with who asked for what. A revoked or expired consent's fragment is
//! deleted at the next sweep ([`FRAGMENT_SWEEP_INTERVAL_MS`]) or the next request that finds
//! it so. The node never decides "allowed or not" itself: the access entry is the state
//! machine's decision; the service only checks it is final and still backed.

use crate::api::{ApiError, ApiState};
use crate::queries::finalized_value;
use axum::{
    Json,
    extract::{Path, State},
};
use medchain_crypto::{keys::hpke, umbral};
use medchain_state::{
    AccessLogEntry, AccessReason, ConsentEntry, EmergencyAccessEntry, EmergencyServiceEntry,
    MemberEntry, PatientConsents, PseudonymEntry, RecordEntry, keys,
};
use medchain_types::{
    AccountId, ChainId, ConsentId, Decision, SealedFragment,
    api::ApiErrorCode,
    fragment_seal_info,
    release::{FragmentHeld, FragmentUpload, ReleaseRequest, ReleaseResponse, cfrag_seal_info},
    sealed_fragment_digest,
};
use std::io::Write as _;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use tracing::{info, warn};

/// How often the node deletes fragments of consents that were revoked or expired.
pub const FRAGMENT_SWEEP_INTERVAL_MS: u64 = 5_000;

/// What the re-encryption endpoints need besides the ledger: where fragments and the release
/// log live, and this validator's keys.
#[derive(Clone)]
pub struct ReencryptionService {
    inner: Arc<Inner>,
}

struct Inner {
    fragments_dir: PathBuf,
    releases_dir: PathBuf,
    /// This validator's account (its consensus key), which fragments are committed to.
    validator: AccountId,
    /// The X25519 secret patients seal fragments to.
    encryption: hpke::EncryptionSecretKey,
    chain_id: ChainId,
}

impl ReencryptionService {
    /// Opens (creating) the service's directories under `dir`.
    pub fn open(
        dir: &FsPath,
        validator: AccountId,
        encryption: hpke::EncryptionSecretKey,
        chain_id: ChainId,
    ) -> std::io::Result<Self> {
        let fragments_dir = dir.join("fragments");
        let releases_dir = dir.join("releases");
        std::fs::create_dir_all(&fragments_dir)?;
        std::fs::create_dir_all(&releases_dir)?;
        Ok(Self {
            inner: Arc::new(Inner {
                fragments_dir,
                releases_dir,
                validator,
                encryption,
                chain_id,
            }),
        })
    }

    pub fn validator(&self) -> &AccountId {
        &self.inner.validator
    }

    fn fragment_path(&self, consent: &ConsentId) -> PathBuf {
        self.inner.fragments_dir.join(consent.to_string())
    }

    fn release_path(&self, patient: &AccountId, sequence: u64) -> PathBuf {
        self.inner
            .releases_dir
            .join(format!("{patient}-{sequence}.json"))
    }

    /// Stores `sealed` durably: a crash leaves either the old state or the whole fragment.
    fn store_fragment(&self, consent: &ConsentId, sealed: &[u8]) -> std::io::Result<()> {
        let mut staged = tempfile::NamedTempFile::new_in(&self.inner.fragments_dir)?;
        staged.write_all(sealed)?;
        staged.as_file().sync_all()?;
        staged
            .persist(self.fragment_path(consent))
            .map_err(|e| e.error)?;
        std::fs::File::open(&self.inner.fragments_dir)?.sync_all()
    }

    fn load_fragment(&self, consent: &ConsentId) -> std::io::Result<Option<Vec<u8>>> {
        match std::fs::read(self.fragment_path(consent)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// This validator's fragment of `consent` if it holds the one the consent commits to now: a
    /// fragment of an earlier issue (before `ReissueFragments`) would combine with nothing.
    fn current_fragment(&self, consent: &ConsentEntry) -> std::io::Result<Option<Vec<u8>>> {
        let committed = consent
            .fragments
            .iter()
            .find(|c| &c.validator == self.validator());
        Ok(self.load_fragment(&consent.id)?.filter(|sealed| {
            committed.is_some_and(|c| c.sealed_digest == sealed_fragment_digest(sealed))
        }))
    }

    pub(crate) fn delete_fragment(&self, consent: &ConsentId, why: &str) {
        match std::fs::remove_file(self.fragment_path(consent)) {
            Ok(()) => info!(%consent, why, "deleted a consent's re-encryption fragment"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => warn!(%consent, error = %e, "cannot delete a re-encryption fragment"),
        }
    }

    /// The consents this validator holds a fragment of.
    fn held_consents(&self) -> std::io::Result<Vec<ConsentId>> {
        let mut held = Vec::new();
        for entry in std::fs::read_dir(&self.inner.fragments_dir)? {
            let name = entry?.file_name();
            // Temporary files of an interrupted store have other names and are skipped.
            if let Some(id) = name.to_str().and_then(|n| n.parse::<ConsentId>().ok()) {
                held.push(id);
            }
        }
        Ok(held)
    }

    /// Records a release, exactly once per access-log entry: false if it was released before.
    fn record_release(&self, request: &ReleaseRequest, line: &str) -> std::io::Result<bool> {
        let path = self.release_path(&request.patient, request.sequence);
        let mut file = match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
            Err(e) => return Err(e),
        };
        file.write_all(line.as_bytes())?;
        file.sync_all()?;
        std::fs::File::open(&self.inner.releases_dir)?.sync_all()?;
        Ok(true)
    }

    /// Opens this validator's sealed fragment of `consent` and verifies it as the patient's key
    /// fragment for the grantee.
    fn open_fragment(
        &self,
        consent: &ConsentEntry,
        keys: &ConsentKeys,
        sealed: &[u8],
    ) -> Result<umbral::VerifiedKeyFrag, String> {
        let info = fragment_seal_info(
            &self.inner.chain_id,
            &consent.id,
            &consent.patient,
            &keys.grantee,
            &self.inner.validator,
        );
        let bytes = hpke::open_with(&self.inner.encryption, &info, b"", sealed).map_err(|_| {
            "the fragment does not open for this validator, consent, patient and grantee"
                .to_string()
        })?;
        let kfrag = umbral::KeyFrag::from_bytes(&bytes)
            .map_err(|e| format!("the sealed bytes are not an Umbral key fragment: {e}"))?;
        // The patient's client signs kfrags with the PRE key itself, both keys included.
        kfrag
            .verify(
                &keys.patient_pre,
                Some(&keys.patient_pre),
                Some(&keys.grantee_pre),
            )
            .map_err(|e| {
                format!("the key fragment is not the patient's fragment for the grantee: {e}")
            })
    }
}

/// The keys a consent's fragments are made with, from the ledger.
struct ConsentKeys {
    grantee: AccountId,
    patient_pre: umbral::PublicKey,
    grantee_pre: umbral::PublicKey,
    /// Where released capsule fragments are sealed to.
    grantee_encryption: hpke::EncryptionPublicKey,
}

fn refused(code: ApiErrorCode, message: impl Into<String>) -> ApiError {
    ApiError::new(code, message)
}

fn corrupt(what: &str) -> ApiError {
    ApiError::new(
        ApiErrorCode::Internal,
        format!("the ledger's {what} does not parse; check the node's log"),
    )
}

async fn consent_keys(state: &ApiState, consent: &ConsentEntry) -> Result<ConsentKeys, ApiError> {
    let grantee = consent.policy.grantee().cloned().ok_or_else(|| {
        refused(
            ApiErrorCode::BadFragments,
            "this consent names no person grantee; it releases nothing",
        )
    })?;
    let pseudonym: PseudonymEntry = finalized_value(state, keys::pseudonym(&consent.patient))
        .await?
        .ok_or_else(|| corrupt("consent's patient pseudonym"))?;
    let member: MemberEntry = finalized_value(state, keys::member(&grantee))
        .await?
        .ok_or_else(|| {
            refused(
                ApiErrorCode::UnknownMember,
                format!("the grantee {grantee} is not a member"),
            )
        })?;
    if let Some(height) = member.revoked_height {
        return Err(refused(
            ApiErrorCode::NotPermitted,
            format!("the grantee {grantee}'s membership was revoked at height {height}"),
        ));
    }
    let member_keys = member.keys.ok_or_else(|| {
        refused(
            ApiErrorCode::UnknownMember,
            format!("the grantee {grantee} has no registered keys"),
        )
    })?;
    Ok(ConsentKeys {
        patient_pre: umbral::PublicKey::from_compressed_bytes(&pseudonym.pre_public_key)
            .map_err(|_| corrupt("patient PRE key"))?,
        grantee_pre: umbral::PublicKey::from_compressed_bytes(&member_keys.pre_public_key)
            .map_err(|_| corrupt("grantee PRE key"))?,
        grantee_encryption: hpke::EncryptionPublicKey::from_bytes(&member_keys.encryption_key)
            .map_err(|_| corrupt("grantee encryption key"))?,
        grantee,
    })
}

/// The latest finalized block time, which expiry is judged by.
fn finalized_time_ms(state: &ApiState) -> Result<u64, ApiError> {
    state
        .handles()
        .chain
        .tip()
        .map(|tip| tip.timestamp_ms)
        .ok_or_else(|| {
            refused(
                ApiErrorCode::StateUnavailable,
                "no block is finalized yet; retry in a moment",
            )
        })
}

/// Why a consent no longer releases anything, if it does not.
fn lapsed(consent: &ConsentEntry, now_ms: u64) -> Option<String> {
    if let Some(height) = consent.revoked_height {
        return Some(format!(
            "consent {} was revoked at height {height}",
            consent.id
        ));
    }
    if !consent.policy.period.contains(now_ms) {
        return Some(format!(
            "consent {} is not in force at the latest block time (it runs {}..{} ms)",
            consent.id, consent.policy.period.start_ms, consent.policy.period.end_ms
        ));
    }
    None
}

fn parse_consent(id: &str) -> Result<ConsentId, ApiError> {
    id.parse().map_err(|_| {
        refused(
            ApiErrorCode::Malformed,
            "consent id is malformed (64 hex characters)",
        )
    })
}

#[utoipa::path(put, path = "/v1/fragments/{consent}", request_body = FragmentUpload,
    params(("consent" = String, Path, description = "consent id, hex")),
    responses((status = 200, body = FragmentHeld), (status = 422, body = medchain_types::api::ErrorBody)))]
pub async fn put_fragment(
    State(state): State<ApiState>,
    Path(consent): Path<String>,
    Json(upload): Json<FragmentUpload>,
) -> Result<Json<FragmentHeld>, ApiError> {
    let service = state.reencryption().clone();
    let id = parse_consent(&consent)?;
    if let Some(height) = upload.committed_height {
        let tip = state.handles().chain.tip().map_or(0, |t| t.height);
        if tip < height {
            return Err(refused(
                ApiErrorCode::StateUnavailable,
                format!(
                    "this validator has finalized block {tip}, not yet block {height} that committed this fragment's consent; retry in a moment"
                ),
            ));
        }
    }
    let sealed = SealedFragment {
        validator: service.validator().clone(),
        ciphertext: upload.ciphertext,
    };
    sealed
        .validate()
        .map_err(|e| refused(ApiErrorCode::BadFragments, e.to_string()))?;
    let entry: ConsentEntry = finalized_value(&state, keys::consent(&id))
        .await?
        .ok_or_else(|| {
            refused(
                ApiErrorCode::UnknownConsent,
                format!(
                    "no consent {id} is final yet; hand over fragments once the grant is committed"
                ),
            )
        })?;
    if let Some(reason) = lapsed(&entry, finalized_time_ms(&state)?) {
        return Err(refused(ApiErrorCode::AlreadyRevoked, reason));
    }
    let digest = sealed_fragment_digest(&sealed.ciphertext);
    let committed = entry
        .fragments
        .iter()
        .find(|c| &c.validator == service.validator())
        .ok_or_else(|| {
            refused(
                ApiErrorCode::BadFragments,
                format!(
                    "consent {id} commits no fragment to this validator ({})",
                    service.validator()
                ),
            )
        })?;
    if committed.sealed_digest != digest {
        warn!(consent = %id, "refused a fragment that is not the one its consent commits to");
        return Err(refused(
            ApiErrorCode::BadFragments,
            format!("this is not the fragment consent {id} commits to for this validator"),
        ));
    }
    let keys = consent_keys(&state, &entry).await?;
    service
        .open_fragment(&entry, &keys, &sealed.ciphertext)
        .map_err(|reason| {
            warn!(consent = %id, %reason, "refused a fragment");
            refused(ApiErrorCode::BadFragments, reason)
        })?;
    let bytes = sealed.ciphertext.to_vec();
    let stored = service.clone();
    tokio::task::spawn_blocking(move || stored.store_fragment(&id, &bytes))
        .await
        .map_err(crate::api::internal)?
        .map_err(crate::api::internal)?;
    info!(consent = %id, "holding a re-encryption fragment");
    Ok(Json(FragmentHeld {
        validator: service.validator().clone(),
        held: true,
    }))
}

#[utoipa::path(get, path = "/v1/fragments/{consent}",
    params(("consent" = String, Path, description = "consent id, hex")),
    responses((status = 200, body = FragmentHeld)))]
pub async fn get_fragment(
    State(state): State<ApiState>,
    Path(consent): Path<String>,
) -> Result<Json<FragmentHeld>, ApiError> {
    let service = state.reencryption();
    let id = parse_consent(&consent)?;
    let held = match finalized_value::<ConsentEntry>(&state, keys::consent(&id)).await? {
        Some(entry) => service
            .current_fragment(&entry)
            .map_err(crate::api::internal)?
            .is_some(),
        None => false,
    };
    Ok(Json(FragmentHeld {
        validator: service.validator().clone(),
        held,
    }))
}

/// What the ledger says about a release request, read under one snapshot.
struct ReleaseFacts {
    entry: AccessLogEntry,
    consent: ConsentEntry,
}

async fn release_facts(
    state: &ApiState,
    request: &ReleaseRequest,
) -> Result<ReleaseFacts, ApiError> {
    let entry: AccessLogEntry =
        finalized_value(state, keys::access_log(&request.patient, request.sequence))
            .await?
            .ok_or_else(|| {
                // This node may be a block behind the one that logged the request: retriable.
                refused(
                    ApiErrorCode::StateUnavailable,
                    format!(
                        "this node has no final entry {} in the patient's access log; retry once the access request is committed",
                        request.sequence
                    ),
                )
            })?;
    if entry.decision != Decision::Permit {
        return Err(refused(
            ApiErrorCode::NotPermitted,
            format!(
                "entry {} of the patient's access log is a denial ({:?})",
                request.sequence, entry.reason
            ),
        ));
    }
    let consent_id = match (entry.reason, entry.consent) {
        (AccessReason::BreakGlass, None) => emergency_consent(state, request, &entry).await?,
        (_, Some(consent)) if entry.requester == request.requester => consent,
        (_, Some(_)) => {
            return Err(refused(
                ApiErrorCode::NotPermitted,
                format!(
                    "entry {} of the patient's access log was requested by another member",
                    request.sequence
                ),
            ));
        }
        (reason, None) => {
            return Err(refused(
                ApiErrorCode::NotPermitted,
                format!(
                    "entry {} was permitted without a consent ({reason:?}); no validator holds fragments for it",
                    request.sequence
                ),
            ));
        }
    };
    let consent: ConsentEntry = finalized_value(state, keys::consent(&consent_id))
        .await?
        .ok_or_else(|| corrupt("consent an access entry names"))?;
    Ok(ReleaseFacts { entry, consent })
}

/// For a break-glass permit, the release goes to the clinician's institution's emergency
/// service, never to the clinician: the request must come from that service, the patient must
/// still allow emergency access there, and the fragments used are those of the patient's
/// unrevoked ETREAT consent to the service.
async fn emergency_consent(
    state: &ApiState,
    request: &ReleaseRequest,
    entry: &AccessLogEntry,
) -> Result<ConsentId, ApiError> {
    let clinician: MemberEntry = finalized_value(state, keys::member(&entry.requester))
        .await?
        .ok_or_else(|| corrupt("member an access entry names"))?;
    let service: Option<EmergencyServiceEntry> =
        finalized_value(state, keys::emergency_service(&clinician.institution)).await?;
    if service.as_ref().map(|s| &s.account) != Some(&request.requester) {
        return Err(refused(
            ApiErrorCode::NotPermitted,
            format!(
                "entry {} is a break-glass read: only {}'s active emergency service receives its fragment; the clinician asks that service for the key",
                request.sequence, clinician.institution
            ),
        ));
    }
    let enabled: Option<EmergencyAccessEntry> = finalized_value(
        state,
        keys::emergency_access(&request.patient, &clinician.institution),
    )
    .await?;
    if enabled.is_none() {
        return Err(refused(
            ApiErrorCode::NotPermitted,
            format!(
                "the patient no longer allows emergency access for {}",
                clinician.institution
            ),
        ));
    }
    let consents: Option<PatientConsents> =
        finalized_value(state, keys::patient_consents(&request.patient)).await?;
    for id in consents.map(|c| c.consents).unwrap_or_default() {
        let consent: Option<ConsentEntry> = finalized_value(state, keys::consent(&id)).await?;
        let delegates = consent.is_some_and(|c| c.delegates_emergency_to(&request.requester));
        if delegates {
            return Ok(id);
        }
    }
    Err(refused(
        ApiErrorCode::FragmentNotHeld,
        format!(
            "the patient delegated no emergency fragments to {}'s service; they enable emergency access again to delegate them",
            clinician.institution
        ),
    ))
}

#[utoipa::path(post, path = "/v1/releases", request_body = ReleaseRequest,
    responses((status = 200, body = ReleaseResponse), (status = 403, body = medchain_types::api::ErrorBody),
        (status = 409, body = medchain_types::api::ErrorBody)))]
pub async fn release(
    State(state): State<ApiState>,
    Json(request): Json<ReleaseRequest>,
) -> Result<Json<ReleaseResponse>, ApiError> {
    let result = release_inner(&state, &request).await;
    if let Err(refusal) = &result {
        warn!(
            patient = %request.patient,
            sequence = request.sequence,
            requester = %request.requester,
            code = %refusal.code,
            "refused a re-encryption release"
        );
    }
    result.map(Json)
}

async fn release_inner(
    state: &ApiState,
    request: &ReleaseRequest,
) -> Result<ReleaseResponse, ApiError> {
    let service = state.reencryption().clone();
    let chain_id = &service.inner.chain_id;
    if &request.validator != service.validator() {
        return Err(refused(
            ApiErrorCode::NotAuthorized,
            format!(
                "this request is for validator {}, this is {}; sign one for each validator",
                request.validator,
                service.validator()
            ),
        ));
    }
    if !request.verify(chain_id) {
        return Err(refused(
            ApiErrorCode::BadSignature,
            "the release request is not signed by its requester for this chain",
        ));
    }
    let ReleaseFacts { entry, consent } = release_facts(state, request).await?;
    if let Some(reason) = lapsed(&consent, finalized_time_ms(state)?) {
        service.delete_fragment(&consent.id, &reason);
        return Err(refused(ApiErrorCode::NotPermitted, reason));
    }
    if consent.policy.grantee() != Some(&request.requester) {
        return Err(refused(
            ApiErrorCode::NotPermitted,
            format!("consent {}'s fragments are for another grantee", consent.id),
        ));
    }
    let sealed = service
        .current_fragment(&consent)
        .map_err(crate::api::internal)?
        .ok_or_else(|| {
            refused(
                ApiErrorCode::FragmentNotHeld,
                format!(
                    "this validator holds no current fragment of consent {}; ask the other validators",
                    consent.id
                ),
            )
        })?;
    let record: RecordEntry = finalized_value(state, keys::record(&entry.record))
        .await?
        .ok_or_else(|| corrupt("record an access entry names"))?;
    let keys = consent_keys(state, &consent).await?;
    let kfrag = service
        .open_fragment(&consent, &keys, &sealed)
        .map_err(|reason| {
            crate::api::internal(format!("a stored fragment no longer verifies: {reason}"))
        })?;
    let capsule =
        umbral::Capsule::from_bytes(&record.capsule).map_err(|_| corrupt("record capsule"))?;
    let cfrag = umbral::reencrypt(&mut rand::rng(), &capsule, &kfrag)
        .map_err(|e| crate::api::internal(format!("re-encryption failed: {e}")))?;
    let sealed_cfrag = hpke::seal_to(
        &mut rand::rng(),
        &keys.grantee_encryption,
        &cfrag_seal_info(request, chain_id),
        b"",
        &cfrag.to_bytes(),
    )
    .map_err(crate::api::internal)?;
    let line = serde_json::json!({
        "patient": request.patient.to_string(),
        "sequence": request.sequence,
        "requester": request.requester.to_string(),
        "record": entry.record.to_string(),
        "consent": consent.id.to_string(),
        "access_height": entry.height,
    })
    .to_string();
    let (logged, request_copy) = (service.clone(), request.clone());
    let first = tokio::task::spawn_blocking(move || logged.record_release(&request_copy, &line))
        .await
        .map_err(crate::api::internal)?
        .map_err(crate::api::internal)?;
    if !first {
        return Err(refused(
            ApiErrorCode::ReleaseReplayed,
            format!(
                "this validator already released its fragment for entry {}; request access again for another read",
                request.sequence
            ),
        ));
    }
    info!(
        patient = %request.patient,
        sequence = request.sequence,
        requester = %request.requester,
        record = %entry.record,
        consent = %consent.id,
        "released a capsule fragment"
    );
    Ok(ReleaseResponse {
        validator: service.validator().clone(),
        sealed_cfrag: sealed_cfrag.into(),
    })
}

/// Deletes the fragments of consents that are revoked or expired at the latest block time.
pub async fn sweep(state: &ApiState) {
    let service = state.reencryption().clone();
    let Ok(now_ms) = finalized_time_ms(state) else {
        return;
    };
    let held = match service.held_consents() {
        Ok(held) => held,
        Err(e) => {
            warn!(error = %e, "cannot list held re-encryption fragments");
            return;
        }
    };
    for id in held {
        match finalized_value::<ConsentEntry>(state, keys::consent(&id)).await {
            Ok(Some(consent)) => {
                if let Some(reason) = lapsed(&consent, now_ms) {
                    service.delete_fragment(&id, &reason);
                }
            }
            // Stored only after the consent was read from finalized state: it cannot vanish.
            Ok(None) => warn!(consent = %id, "a held fragment's consent is not on the ledger"),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_cryptography::{Signer as _, ed25519};

    fn service(dir: &FsPath) -> ReencryptionService {
        let (secret, _) = hpke::EncryptionSecretKey::derive(&[3; 32]);
        ReencryptionService::open(
            dir,
            AccountId::from(ed25519::PrivateKey::from_seed(1).public_key()),
            secret,
            ChainId([1; 32]),
        )
        .unwrap()
    }

    fn request(sequence: u64) -> ReleaseRequest {
        ReleaseRequest::sign(
            &ed25519::PrivateKey::from_seed(2),
            &ChainId([1; 32]),
            AccountId::from(ed25519::PrivateKey::from_seed(3).public_key()),
            sequence,
            AccountId::from(ed25519::PrivateKey::from_seed(1).public_key()),
        )
    }

    #[test]
    fn an_access_entry_is_released_once_and_the_release_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let first = service(dir.path());
        assert!(first.record_release(&request(4), "{}").unwrap());
        assert!(!first.record_release(&request(4), "{}").unwrap());
        assert!(first.record_release(&request(5), "{}").unwrap());
        let reopened = service(dir.path());
        assert!(!reopened.record_release(&request(4), "{}").unwrap());
    }

    #[test]
    fn a_stored_fragment_survives_a_restart_and_only_finished_stores_are_listed() {
        let dir = tempfile::tempdir().unwrap();
        let first = service(dir.path());
        let id = ConsentId([9; 32]);
        first.store_fragment(&id, &[7; 358]).unwrap();
        // What an interrupted store leaves behind is not a held fragment.
        std::fs::write(dir.path().join("fragments").join(".tmpXYZ"), b"half").unwrap();
        let reopened = service(dir.path());
        assert_eq!(reopened.load_fragment(&id).unwrap(), Some(vec![7; 358]));
        assert_eq!(reopened.held_consents().unwrap(), vec![id]);
        reopened.delete_fragment(&id, "test");
        assert_eq!(reopened.load_fragment(&id).unwrap(), None);
    }
}
