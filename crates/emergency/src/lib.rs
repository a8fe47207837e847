//! An institution's break-glass key service.
//!
//! A patient who enables emergency access for an institution delegates Umbral key fragments to
//! the institution's emergency service (its one member with role `emergency_service`), not to
//! any one clinician, so the right to read in an emergency stays with the institution and every
//! use of it is on the ledger. A clinician of the institution reads under purpose ETREAT with a
//! justification: the ledger decides, flags the read and queues it for the auditors. The
//! clinician then signs an [`EmergencyKeyRequest`] naming that access-log entry, and this
//! service, trusting no node (every read is a proven `medchain-client` read):
//!
//! 1. checks the request is for this service and signed by its requester on this chain;
//! 2. checks the requester is an active clinician of this institution;
//! 3. checks the entry is a final break-glass permit for that clinician, and the record is not
//!    erased;
//! 4. asks the validators for capsule fragments of that entry (they check the same permit and
//!    release to this service only), verifies and combines t of them into the data key with
//!    the patient's ETREAT consent to this service;
//! 5. seals the data key to the clinician's registered X25519 key, and logs the hand-over once
//!    per entry (a marker file created exclusively, kept as the service's release log).
//!
//! Everything refused is logged with who asked for what, and answers a stable error code.

use axum::{
    Json, Router,
    body::Bytes,
    extract::{DefaultBodyLimit, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use commonware_cryptography::Signer as _;
use medchain_client::{Client, ClientError};
use medchain_crypto::keys::{PseudonymKeys, hpke};
use medchain_state::{AccessLogEntry, AccessReason, MemberEntry, RecordEntry};
use medchain_types::{
    AccountId, ConsentId, Decision, InstitutionId, Role,
    api::{ApiErrorCode, ErrorBody, ErrorDetail},
    emergency::{EmergencyKeyRequest, EmergencyKeyResponse, emergency_key_seal_info},
};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tracing::{info, warn};

/// Largest request body the service reads: a key request is about 400 bytes of JSON.
pub const REQUEST_SIZE_MAX_BYTES: usize = 4_096;

/// Why the service cannot start.
#[derive(Debug, thiserror::Error)]
pub enum EmergencyError {
    #[error("cannot read the ledger to check this service's registration: {0}")]
    Ledger(#[from] ClientError),
    #[error(
        "{account} is not registered as an emergency service ({reason}); its institution admin registers it as a member with role emergency_service (or the genesis does)"
    )]
    NotRegistered { account: AccountId, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A refused request: a stable code and a message that says what to do.
#[derive(Debug)]
pub struct Refusal {
    pub code: ApiErrorCode,
    pub message: String,
}

impl Refusal {
    fn new(code: ApiErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl From<ClientError> for Refusal {
    fn from(error: ClientError) -> Self {
        let code = match &error {
            ClientError::Api { code, .. } => *code,
            ClientError::TooFewFragments { .. } => ApiErrorCode::NotPermitted,
            _ => ApiErrorCode::StateUnavailable,
        };
        Refusal::new(
            code,
            format!("the ledger did not back this request: {error}"),
        )
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        use ApiErrorCode as C;
        let status = match self.code {
            C::BadSignature | C::Malformed => StatusCode::BAD_REQUEST,
            C::NotAuthorized | C::NotPermitted => StatusCode::FORBIDDEN,
            C::UnknownMember | C::UnknownRecord | C::FragmentNotHeld | C::NotFound => {
                StatusCode::NOT_FOUND
            }
            C::ReleaseReplayed | C::AlreadyErased => StatusCode::CONFLICT,
            C::StateUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
            },
        };
        (status, Json(body)).into_response()
    }
}

/// The running service: its keys, its institution, the ledger it reads and its release log.
#[derive(Clone)]
pub struct EmergencyService {
    inner: Arc<Inner>,
}

struct Inner {
    keys: PseudonymKeys,
    account: AccountId,
    institution: InstitutionId,
    ledger: Client,
    releases_dir: PathBuf,
}

impl EmergencyService {
    /// Opens the service for the member holding `keys`, after checking on the ledger (proven)
    /// that it is its institution's active emergency service; keeps its release log in
    /// `state_dir`.
    pub async fn open(
        keys: PseudonymKeys,
        ledger: Client,
        state_dir: &Path,
    ) -> Result<Self, EmergencyError> {
        let account = AccountId::from(keys.signing.public_key());
        let not_registered = |reason: String| EmergencyError::NotRegistered {
            account: account.clone(),
            reason,
        };
        let member = ledger.member(&account).await?.value;
        if member.role != Role::EmergencyService {
            return Err(not_registered(format!("its role is {:?}", member.role)));
        }
        if let Some(height) = member.revoked_height {
            return Err(not_registered(format!("it was revoked at height {height}")));
        }
        let current = ledger.emergency_service(&member.institution).await?.value;
        if current.account != account {
            return Err(not_registered(format!(
                "{}'s emergency service is {}",
                member.institution, current.account
            )));
        }
        let releases_dir = state_dir.join("releases");
        std::fs::create_dir_all(&releases_dir).map_err(|source| EmergencyError::Io {
            path: releases_dir.clone(),
            source,
        })?;
        Ok(Self {
            inner: Arc::new(Inner {
                keys,
                account,
                institution: member.institution,
                ledger,
                releases_dir,
            }),
        })
    }

    pub fn account(&self) -> &AccountId {
        &self.inner.account
    }

    pub fn institution(&self) -> &InstitutionId {
        &self.inner.institution
    }

    /// `POST /v1/emergency-keys` and `GET /v1/status`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/v1/emergency-keys", post(emergency_key))
            .route("/v1/status", get(status))
            .fallback(|| async {
                Refusal::new(
                    ApiErrorCode::NotFound,
                    "no such endpoint; the service answers POST /v1/emergency-keys",
                )
            })
            .layer(DefaultBodyLimit::max(REQUEST_SIZE_MAX_BYTES))
            .with_state(self.clone())
    }

    /// Serves until the listener fails.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        axum::serve(listener, self.router()).await
    }

    /// Hands the data key of the break-glass permit `request` names to its clinician, sealed
    /// to them, after every check in the module's list.
    pub async fn hand_over(
        &self,
        request: &EmergencyKeyRequest,
    ) -> Result<EmergencyKeyResponse, Refusal> {
        let this = &self.inner;
        if request.service != this.account {
            return Err(Refusal::new(
                ApiErrorCode::NotAuthorized,
                format!(
                    "this request is for service {}, this is {}",
                    request.service, this.account
                ),
            ));
        }
        let chain_id = this.ledger.chain_id()?;
        if !request.verify(&chain_id) {
            return Err(Refusal::new(
                ApiErrorCode::BadSignature,
                "the request is not signed by its requester for this chain",
            ));
        }
        if self.release_path(request).exists() {
            return Err(replayed(request));
        }
        let clinician = self.clinician(&request.requester).await?;
        let (entry, record) = self.flagged_permit(request).await?;
        let consent = self.delegation(&request.patient).await?;
        let data_key = this
            .ledger
            .reencrypted_data_key(&this.keys, &record, &entry, &consent)
            .await?;
        let recipient = clinician
            .keys
            .as_ref()
            .and_then(|k| hpke::EncryptionPublicKey::from_bytes(&k.encryption_key).ok())
            .ok_or_else(|| {
                Refusal::new(
                    ApiErrorCode::UnknownMember,
                    format!(
                        "{} has no usable encryption key registered",
                        request.requester
                    ),
                )
            })?;
        let sealed_key = hpke::seal_to(
            &mut rand::rng(),
            &recipient,
            &emergency_key_seal_info(request, &chain_id),
            b"",
            data_key.as_bytes(),
        )
        .map_err(|e| Refusal::new(ApiErrorCode::Internal, e.to_string()))?;
        self.log_hand_over(request, &entry, &consent).await?;
        Ok(EmergencyKeyResponse {
            service: this.account.clone(),
            sealed_key: sealed_key.into(),
        })
    }

    /// The requester, if an active clinician of this institution.
    async fn clinician(&self, account: &AccountId) -> Result<MemberEntry, Refusal> {
        let member = self.inner.ledger.member(account).await?.value;
        let refuse = |why: String| Err(Refusal::new(ApiErrorCode::NotPermitted, why));
        if let Some(height) = member.revoked_height {
            return refuse(format!("{account} was revoked at height {height}"));
        }
        if member.role != Role::Clinician {
            return refuse(format!(
                "{account} is a {:?}; only clinicians read under break-glass",
                member.role
            ));
        }
        if member.institution != self.inner.institution {
            return refuse(format!(
                "{account} works at {}; this is {}'s emergency service",
                member.institution, self.inner.institution
            ));
        }
        Ok(member)
    }

    /// The named access-log entry, proven final: a break-glass permit for the requester, of a
    /// record not erased since.
    async fn flagged_permit(
        &self,
        request: &EmergencyKeyRequest,
    ) -> Result<(AccessLogEntry, RecordEntry), Refusal> {
        let ledger = &self.inner.ledger;
        let page = ledger
            .access_log_page(&request.patient, request.sequence, 0)
            .await?;
        let entry = page
            .value
            .entries
            .into_iter()
            .next()
            .filter(|e| e.sequence == request.sequence)
            .ok_or_else(|| {
                Refusal::new(
                    ApiErrorCode::StateUnavailable,
                    format!(
                        "the patient's access log has no final entry {} yet; retry once your access request is committed",
                        request.sequence
                    ),
                )
            })?;
        let flagged = entry.requester == request.requester
            && entry.decision == Decision::Permit
            && entry.reason == AccessReason::BreakGlass
            && entry.break_glass;
        if !flagged {
            return Err(Refusal::new(
                ApiErrorCode::NotPermitted,
                format!(
                    "entry {} is not a break-glass permit for {} (it is {:?} {:?} for {})",
                    request.sequence,
                    request.requester,
                    entry.decision,
                    entry.reason,
                    entry.requester
                ),
            ));
        }
        let record = ledger.record(&entry.record).await?.value;
        if record.erasure.is_some() {
            return Err(Refusal::new(
                ApiErrorCode::AlreadyErased,
                format!("record {} was erased by its patient", record.id),
            ));
        }
        Ok((entry, record))
    }

    /// The patient's unrevoked ETREAT consent to this service, whose fragments the validators
    /// re-encrypt with.
    async fn delegation(&self, patient: &AccountId) -> Result<ConsentId, Refusal> {
        let ledger = &self.inner.ledger;
        let consents = match ledger.patient_consents(patient).await {
            Ok(consents) => consents.value.consents,
            Err(ClientError::Api { status: 404, .. }) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        for id in consents {
            let consent = ledger.consent(&id).await?.value;
            if consent.delegates_emergency_to(&self.inner.account) {
                return Ok(id);
            }
        }
        Err(Refusal::new(
            ApiErrorCode::FragmentNotHeld,
            format!(
                "the patient delegated no emergency fragments to {}'s service; they re-enable emergency access to delegate them",
                self.inner.institution
            ),
        ))
    }

    fn release_path(&self, request: &EmergencyKeyRequest) -> PathBuf {
        self.inner
            .releases_dir
            .join(format!("{}-{}.json", request.patient, request.sequence))
    }

    /// Records the hand-over, exactly once per access-log entry.
    async fn log_hand_over(
        &self,
        request: &EmergencyKeyRequest,
        entry: &AccessLogEntry,
        consent: &ConsentId,
    ) -> Result<(), Refusal> {
        let line = serde_json::json!({
            "patient": request.patient.to_string(),
            "sequence": request.sequence,
            "clinician": request.requester.to_string(),
            "record": entry.record.to_string(),
            "consent": consent.to_string(),
            "access_height": entry.height,
            "justification": entry.justification,
        })
        .to_string();
        let path = self.release_path(request);
        let dir = self.inner.releases_dir.clone();
        let first = tokio::task::spawn_blocking(move || write_once(&path, &dir, &line))
            .await
            .map_err(|e| Refusal::new(ApiErrorCode::Internal, e.to_string()))?
            .map_err(|e| {
                Refusal::new(
                    ApiErrorCode::Internal,
                    format!("cannot write the release log: {e}"),
                )
            })?;
        if !first {
            return Err(replayed(request));
        }
        info!(
            patient = %request.patient,
            sequence = request.sequence,
            clinician = %request.requester,
            record = %entry.record,
            "handed a break-glass data key to its clinician"
        );
        Ok(())
    }
}

fn replayed(request: &EmergencyKeyRequest) -> Refusal {
    Refusal::new(
        ApiErrorCode::ReleaseReplayed,
        format!(
            "the key for entry {} was already handed over; request access again for another read",
            request.sequence
        ),
    )
}

/// Creates `path` with `line`, durably; false if it already existed.
fn write_once(path: &Path, dir: &Path, line: &str) -> std::io::Result<bool> {
    let mut file = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
        Err(e) => return Err(e),
    };
    file.write_all(line.as_bytes())?;
    file.sync_all()?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(true)
}

async fn emergency_key(
    State(service): State<EmergencyService>,
    body: Bytes,
) -> Result<Json<EmergencyKeyResponse>, Refusal> {
    let request: EmergencyKeyRequest = serde_json::from_slice(&body).map_err(|e| {
        Refusal::new(
            ApiErrorCode::Malformed,
            format!("the body is not an emergency key request: {e}"),
        )
    })?;
    let result = service.hand_over(&request).await;
    if let Err(refusal) = &result {
        warn!(
            patient = %request.patient,
            sequence = request.sequence,
            requester = %request.requester,
            code = %refusal.code,
            message = %refusal.message,
            "refused a break-glass key request"
        );
    }
    result.map(Json)
}

async fn status(State(service): State<EmergencyService>) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "service": service.account().to_string(),
        "institution": service.institution().as_str(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hand_over_is_logged_once_per_entry_and_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p-4.json");
        assert!(write_once(&path, dir.path(), "{}").unwrap());
        assert!(!write_once(&path, dir.path(), "{}").unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}");
    }

    #[test]
    fn refusals_answer_their_status_and_code() {
        let cases = [
            (ApiErrorCode::BadSignature, StatusCode::BAD_REQUEST),
            (ApiErrorCode::NotPermitted, StatusCode::FORBIDDEN),
            (ApiErrorCode::ReleaseReplayed, StatusCode::CONFLICT),
            (
                ApiErrorCode::StateUnavailable,
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            (ApiErrorCode::FragmentNotHeld, StatusCode::NOT_FOUND),
        ];
        for (code, status) in cases {
            let response = Refusal::new(code, "why").into_response();
            assert_eq!(response.status(), status, "{code}");
        }
    }
}
