//! The values stored in state, one type per table. Each encodes canonically
//! (it is hashed into the state root) and serialises to JSON for the API.

use bytes::{BufMut, Bytes};
use commonware_codec::{Buf, EncodeSize, Error, Read, ReadExt, Write};
use medchain_types::codec_util::{
    bytes_cfg, opt_str_encode_size, read_opt_str, read_str, str_encode_size, vec_cfg,
    write_opt_str, write_str,
};
use medchain_types::{
    AccountId, ChainId, ConsentId, ConsentPolicy, Decision, FragmentCommitment, InstitutionId,
    InstitutionKind, MembershipChange, ProposalId, Purpose, RecordCategory, RecordId,
    ReviewFinding, Role, StudyId, StudySpec, TxHash, hexser, impl_struct_codec, impl_tag_codec,
    limits,
};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChainEntry {
    pub chain_id: ChainId,
    pub genesis_time_ms: u64,
}
impl_struct_codec!(ChainEntry {
    chain_id: (),
    genesis_time_ms: ()
});

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InstitutionEntry {
    pub id: InstitutionId,
    pub kind: InstitutionKind,
    pub admin: AccountId,
    /// False once removed by governance; ids are never reused.
    pub active: bool,
    pub admitted_height: u64,
    pub removed_height: Option<u64>,
}
impl_struct_codec!(InstitutionEntry {
    id: (),
    kind: (),
    admin: (),
    active: (),
    admitted_height: (),
    removed_height: (),
});

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValidatorEntry {
    pub account: AccountId,
    pub institution: InstitutionId,
    /// `host:port` the other validators dial: from the genesis file, or from the
    /// `AddValidator` proposal that admitted it (then a canonical `ip:port`).
    pub p2p_address: String,
    /// `host:port` of its HTTP API, from the same source as `p2p_address`.
    pub http_address: String,
    /// X25519 key that patients seal its re-encryption key fragments to.
    #[serde(with = "hexser::array")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub encryption_key: [u8; 32],
    pub since_height: u64,
}

impl Write for ValidatorEntry {
    fn write(&self, buf: &mut impl BufMut) {
        self.account.write(buf);
        self.institution.write(buf);
        write_str(&self.p2p_address, buf);
        write_str(&self.http_address, buf);
        self.encryption_key.write(buf);
        self.since_height.write(buf);
    }
}

impl EncodeSize for ValidatorEntry {
    fn encode_size(&self) -> usize {
        self.account.encode_size()
            + self.institution.encode_size()
            + str_encode_size(&self.p2p_address)
            + str_encode_size(&self.http_address)
            + self.encryption_key.encode_size()
            + self.since_height.encode_size()
    }
}

impl Read for ValidatorEntry {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        Ok(Self {
            account: AccountId::read(buf)?,
            institution: InstitutionId::read(buf)?,
            // `Genesis::validate` only bounds the length of genesis addresses; read them as it does.
            p2p_address: read_str(buf, 1, limits::ADDRESS_SIZE_MAX_BYTES)?,
            http_address: read_str(buf, 1, limits::ADDRESS_SIZE_MAX_BYTES)?,
            encryption_key: <[u8; 32]>::read(buf)?,
            since_height: u64::read(buf)?,
        })
    }
}

/// The current validator set, sorted by account (one value so it reads in one get).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValidatorSet {
    pub validators: Vec<ValidatorEntry>,
}
impl_struct_codec!(ValidatorSet {
    validators: vec_cfg(limits::VALIDATORS_MAX)
});

impl ValidatorSet {
    pub fn contains(&self, account: &AccountId) -> bool {
        self.get(account).is_some()
    }

    /// The current validator with this account, if it is one.
    pub fn get(&self, account: &AccountId) -> Option<&ValidatorEntry> {
        self.validators.iter().find(|v| &v.account == account)
    }

    pub fn len(&self) -> usize {
        self.validators.len()
    }

    pub fn is_empty(&self) -> bool {
        self.validators.is_empty()
    }

    /// Fragments needed to re-encrypt: t = f + 1 for n = 3f + 1 (at least one honest validator).
    pub fn reencryption_threshold(&self) -> usize {
        self.validators.len().saturating_sub(1) / 3 + 1
    }

    /// Storage receipts a record needs: 2f + 1 for n = 3f + 1, so that even if f signers are
    /// byzantine, f + 1 honest validators hold the ciphertext.
    pub fn storage_quorum(&self) -> usize {
        2 * (self.validators.len().saturating_sub(1) / 3) + 1
    }

    /// Validators whose agreement f byzantine ones cannot fake: n − f, with f = ⌊(n − 1)/3⌋
    /// (2f + 1 when n = 3f + 1, and the quorum of commonware's DKG, `N3f1`). Any two such
    /// quorums share at least n − 2f ≥ f + 1 validators, so an honest one.
    pub fn agreement_quorum(&self) -> usize {
        let n = self.validators.len();
        n - n.saturating_sub(1) / 3
    }

    pub(crate) fn insert(&mut self, entry: ValidatorEntry) {
        self.validators.push(entry);
        self.validators.sort_by(|a, b| a.account.cmp(&b.account));
    }
}

/// A member's Umbral and X25519 public keys (admins admitted by governance have none).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberKeys {
    #[serde(with = "hexser::array")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub pre_public_key: [u8; 33],
    #[serde(with = "hexser::array")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub encryption_key: [u8; 32],
}
impl_struct_codec!(MemberKeys {
    pre_public_key: (),
    encryption_key: ()
});

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberEntry {
    pub account: AccountId,
    pub institution: InstitutionId,
    pub role: Role,
    pub keys: Option<MemberKeys>,
    pub registered_height: u64,
    pub revoked_height: Option<u64>,
}
impl_struct_codec!(MemberEntry {
    account: (),
    institution: (),
    role: (),
    keys: (),
    registered_height: (),
    revoked_height: (),
});

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PseudonymEntry {
    pub account: AccountId,
    pub institution: InstitutionId,
    #[serde(with = "hexser::array")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub pre_public_key: [u8; 33],
    pub registered_height: u64,
}
impl_struct_codec!(PseudonymEntry {
    account: (),
    institution: (),
    pre_public_key: (),
    registered_height: ()
});

/// Present while the pseudonym allows break-glass reads by one institution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmergencyAccessEntry {
    pub enabled_height: u64,
}
impl_struct_codec!(EmergencyAccessEntry { enabled_height: () });

/// An institution's break-glass key service: the one active member with role
/// `emergency_service`, whose PRE key patients delegate emergency fragments to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmergencyServiceEntry {
    pub account: AccountId,
    pub registered_height: u64,
}
impl_struct_codec!(EmergencyServiceEntry {
    account: (),
    registered_height: ()
});

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordEntry {
    pub id: RecordId,
    pub patient: AccountId,
    pub author: AccountId,
    pub institution: InstitutionId,
    pub category: RecordCategory,
    pub size_bytes: u64,
    #[serde(with = "hexser::array")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub content_hash: [u8; 32],
    #[serde(with = "hexser::bytes")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub capsule: Bytes,
    pub created_height: u64,
    pub created_ms: u64,
    /// Set by the patient's `EraseRecord`: no read is permitted after it.
    pub erasure: Option<RecordErasure>,
}

/// A record's erasure: when the patient asked, and which validators confirmed deleting the
/// ciphertext (their receipts, in the order they were committed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordErasure {
    pub requested_height: u64,
    pub receipts: Vec<medchain_types::ErasureReceipt>,
}
impl_struct_codec!(RecordErasure {
    requested_height: (),
    receipts: vec_cfg(limits::STORAGE_RECEIPTS_MAX),
});
impl_struct_codec!(RecordEntry {
    id: (),
    patient: (),
    author: (),
    institution: (),
    category: (),
    size_bytes: (),
    content_hash: (),
    capsule: bytes_cfg(limits::CAPSULE_SIZE_BYTES),
    created_height: (),
    created_ms: (),
    erasure: (),
});

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentEntry {
    pub id: ConsentId,
    pub patient: AccountId,
    pub policy: ConsentPolicy,
    /// One commitment per validator that holds a sealed fragment of this consent off-chain.
    pub fragments: Vec<FragmentCommitment>,
    /// Capsule fragments a grantee combines: t = f + 1 of the validator set at the grant.
    pub threshold: u32,
    pub granted_height: u64,
    /// Set by `RevokeConsent`; a revoked consent never applies again.
    pub revoked_height: Option<u64>,
}
impl_struct_codec!(ConsentEntry {
    id: (),
    patient: (),
    policy: (),
    fragments: vec_cfg(limits::SEALED_FRAGMENTS_MAX),
    threshold: (),
    granted_height: (),
    revoked_height: (),
});

impl ConsentEntry {
    /// An unrevoked ETREAT permit whose grantee is `service`: a patient's delegation of
    /// break-glass key fragments to an institution's emergency key service.
    pub fn delegates_emergency_to(&self, service: &AccountId) -> bool {
        self.revoked_height.is_none()
            && self.policy.decision == Decision::Permit
            && self.policy.grantee() == Some(service)
            && self.policy.purposes.contains(&Purpose::Etreat)
    }
}

/// Ids of a pseudonym's unrevoked consents, in grant order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PatientConsents {
    pub consents: Vec<ConsentId>,
}
impl_struct_codec!(PatientConsents {
    consents: vec_cfg(limits::CONSENTS_PER_PATIENT_MAX)
});

/// Stored status of a proposal. `Expired` is never stored: see `ProposalEntry::status_at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ProposalStatus {
    Open,
    /// Passed with more than 2/3 of validators and applied.
    Applied,
    /// Can no longer reach more than 2/3.
    Rejected,
    /// Passed, but the change no longer applied (e.g. the institution was removed meanwhile).
    Inapplicable,
    /// Still open past its expiry height.
    Expired,
}
impl_tag_codec!(ProposalStatus { Open = 0, Applied = 1, Rejected = 2, Inapplicable = 3, Expired = 4 });

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProposalEntry {
    pub id: ProposalId,
    pub proposer: AccountId,
    pub change: MembershipChange,
    pub created_height: u64,
    /// Last height at which a vote is accepted.
    pub expires_height: u64,
    pub approvals: Vec<AccountId>,
    pub rejections: Vec<AccountId>,
    pub status: ProposalStatus,
    pub closed_height: Option<u64>,
}
impl_struct_codec!(ProposalEntry {
    id: (),
    proposer: (),
    change: (),
    created_height: (),
    expires_height: (),
    approvals: vec_cfg(limits::VALIDATORS_MAX),
    rejections: vec_cfg(limits::VALIDATORS_MAX),
    status: (),
    closed_height: (),
});

impl ProposalEntry {
    /// Status as seen at `height`: an open proposal past its expiry is expired.
    /// Evaluated by block height, so every node agrees without a sweep.
    pub fn status_at(&self, height: u64) -> ProposalStatus {
        if self.status == ProposalStatus::Open && height > self.expires_height {
            return ProposalStatus::Expired;
        }
        self.status
    }
}

/// The consortium's own access rules in force (Cedar, see `medchain-policy`), stored with the
/// schema they were validated against. Genesis writes the default set as version 1; each
/// `SetConsortiumPolicy` proposal that passes writes the next version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsortiumPolicyEntry {
    /// 1 at genesis, then one more per applied change.
    pub version: u64,
    pub schema_version: u32,
    /// The Cedar schema text of `schema_version`.
    pub schema: String,
    /// The Cedar policy set, as proposed.
    pub policies: String,
    pub since_height: u64,
    /// The proposal that set it (none for the genesis default).
    pub proposal: Option<ProposalId>,
}

impl Write for ConsortiumPolicyEntry {
    fn write(&self, buf: &mut impl BufMut) {
        self.version.write(buf);
        self.schema_version.write(buf);
        write_str(&self.schema, buf);
        write_str(&self.policies, buf);
        self.since_height.write(buf);
        self.proposal.write(buf);
    }
}

impl EncodeSize for ConsortiumPolicyEntry {
    fn encode_size(&self) -> usize {
        self.version.encode_size()
            + self.schema_version.encode_size()
            + str_encode_size(&self.schema)
            + str_encode_size(&self.policies)
            + self.since_height.encode_size()
            + self.proposal.encode_size()
    }
}

impl Read for ConsortiumPolicyEntry {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        Ok(Self {
            version: u64::read(buf)?,
            schema_version: u32::read(buf)?,
            schema: read_str(buf, 1, limits::CONSORTIUM_POLICY_SIZE_MAX_BYTES)?,
            policies: read_str(buf, 1, limits::CONSORTIUM_POLICY_SIZE_MAX_BYTES)?,
            since_height: u64::read(buf)?,
            proposal: Option::<ProposalId>::read_cfg(buf, &())?,
        })
    }
}

/// Why an access request was decided the way it was; stable codes for audit tools.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AccessReason {
    /// Permit: the requester wrote the record and reads it for treatment at its institution.
    Author,
    /// Permit: an unrevoked, current consent covers actor, action, purpose and data.
    Consent,
    /// Permit: emergency access (purpose ETREAT) enabled by the patient for the requester's institution.
    BreakGlass,
    /// Deny: a deny consent matches the request.
    ConsentDenied,
    /// Deny: a permit matched but one of its deny exceptions matches too.
    ConsentException,
    /// Deny: no consent covers the request.
    NoConsent,
    /// Deny: the requester was revoked or its institution removed.
    RequesterInactive,
    /// Deny: ETREAT requested but the patient did not enable emergency access for this institution.
    EmergencyAccessNotEnabled,
    /// Deny: ETREAT requested by someone who is not a clinician.
    BreakGlassNotClinician,
    /// Deny: consent permitted, but the consortium's Cedar policy forbids the read (the log
    /// entry names the policies that decided, sorted).
    ConsortiumPolicy,
    /// Deny: the patient erased the record.
    RecordErased,
    /// Deny: an institution's emergency key service never reads for itself; its clinicians
    /// read under ETREAT and the service hands them the key.
    ServiceAccount,
}
// Tags 0 (the record's patient) and 8 (a non-member) are retired: neither request is logged
// any more (`TxError::NotMember`), and a tag once on a ledger never changes meaning.
impl_tag_codec!(AccessReason {
    Author = 1,
    Consent = 2,
    BreakGlass = 3,
    ConsentDenied = 4,
    ConsentException = 5,
    NoConsent = 6,
    RequesterInactive = 7,
    EmergencyAccessNotEnabled = 9,
    BreakGlassNotClinician = 10,
    ConsortiumPolicy = 11,
    RecordErased = 12,
    ServiceAccount = 13,
});

impl AccessReason {
    pub fn decision(self) -> Decision {
        match self {
            AccessReason::Author | AccessReason::Consent | AccessReason::BreakGlass => {
                Decision::Permit
            }
            _ => Decision::Deny,
        }
    }
}

/// One access request as logged, permitted or denied, under the record's patient.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessLogEntry {
    pub sequence: u64,
    pub record: RecordId,
    pub requester: AccountId,
    pub purpose: Purpose,
    pub decision: Decision,
    pub reason: AccessReason,
    /// The consent that permitted the read, if one did.
    pub consent: Option<ConsentId>,
    /// Flagged for review: a permitted read under purpose ETREAT, whether break-glass, a consent
    /// or the author permitted it.
    pub break_glass: bool,
    pub justification: Option<String>,
    pub height: u64,
    pub timestamp_ms: u64,
    pub tx_hash: TxHash,
    /// With reason `consortium_policy`: the `@id`s of the policies that forbade the read,
    /// sorted; empty otherwise.
    #[serde(default)]
    pub policy_reasons: Vec<String>,
}

impl Write for AccessLogEntry {
    fn write(&self, buf: &mut impl BufMut) {
        self.sequence.write(buf);
        self.record.write(buf);
        self.requester.write(buf);
        self.purpose.write(buf);
        self.decision.write(buf);
        self.reason.write(buf);
        self.consent.write(buf);
        self.break_glass.write(buf);
        write_opt_str(self.justification.as_deref(), buf);
        self.height.write(buf);
        self.timestamp_ms.write(buf);
        self.tx_hash.write(buf);
        self.policy_reasons.len().write(buf);
        for id in &self.policy_reasons {
            write_str(id, buf);
        }
    }
}

impl EncodeSize for AccessLogEntry {
    fn encode_size(&self) -> usize {
        self.sequence.encode_size()
            + self.record.encode_size()
            + self.requester.encode_size()
            + self.purpose.encode_size()
            + self.decision.encode_size()
            + self.reason.encode_size()
            + self.consent.encode_size()
            + self.break_glass.encode_size()
            + opt_str_encode_size(self.justification.as_deref())
            + self.height.encode_size()
            + self.timestamp_ms.encode_size()
            + self.tx_hash.encode_size()
            + self.policy_reasons.len().encode_size()
            + self
                .policy_reasons
                .iter()
                .map(|id| str_encode_size(id))
                .sum::<usize>()
    }
}

impl Read for AccessLogEntry {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        Ok(Self {
            sequence: u64::read(buf)?,
            record: RecordId::read(buf)?,
            requester: AccountId::read(buf)?,
            purpose: Purpose::read(buf)?,
            decision: Decision::read(buf)?,
            reason: AccessReason::read(buf)?,
            consent: Option::<ConsentId>::read_cfg(buf, &())?,
            break_glass: bool::read(buf)?,
            justification: read_opt_str(buf, limits::JUSTIFICATION_SIZE_MAX_BYTES)?,
            height: u64::read(buf)?,
            timestamp_ms: u64::read(buf)?,
            tx_hash: TxHash::read(buf)?,
            policy_reasons: read_policy_ids(buf)?,
        })
    }
}

/// At most `consortium_policies_max` ids, each at most `consortium_policy_id_size_max_bytes`.
fn read_policy_ids(buf: &mut impl Buf) -> Result<Vec<String>, Error> {
    let count = usize::read_cfg(buf, &bytes_cfg(limits::CONSORTIUM_POLICIES_MAX))?;
    (0..count)
        .map(|_| read_str(buf, 1, limits::CONSORTIUM_POLICY_ID_SIZE_MAX_BYTES))
        .collect()
}

/// One flagged read in the consortium's review queue: every permitted ETREAT read lands here,
/// in commit order, until an auditor records a finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewItem {
    /// Position in the queue, from 0.
    pub item: u64,
    /// The access-log entry flagged: the patient's pseudonym and its sequence there.
    pub patient: AccountId,
    pub sequence: u64,
    pub record: RecordId,
    pub requester: AccountId,
    /// The requester's institution at the time of the read.
    pub institution: InstitutionId,
    pub reason: AccessReason,
    pub justification: Option<String>,
    pub height: u64,
    pub timestamp_ms: u64,
    /// The auditor's finding, once reviewed.
    pub review: Option<Review>,
}

/// An auditor's finding on a review item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Review {
    pub auditor: AccountId,
    pub finding: ReviewFinding,
    pub note: Option<String>,
    pub height: u64,
}

impl Write for Review {
    fn write(&self, buf: &mut impl BufMut) {
        self.auditor.write(buf);
        self.finding.write(buf);
        write_opt_str(self.note.as_deref(), buf);
        self.height.write(buf);
    }
}

impl EncodeSize for Review {
    fn encode_size(&self) -> usize {
        self.auditor.encode_size()
            + self.finding.encode_size()
            + opt_str_encode_size(self.note.as_deref())
            + self.height.encode_size()
    }
}

impl Read for Review {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        Ok(Self {
            auditor: AccountId::read(buf)?,
            finding: ReviewFinding::read(buf)?,
            note: read_opt_str(buf, limits::REVIEW_NOTE_SIZE_MAX_BYTES)?,
            height: u64::read(buf)?,
        })
    }
}

impl Write for ReviewItem {
    fn write(&self, buf: &mut impl BufMut) {
        self.item.write(buf);
        self.patient.write(buf);
        self.sequence.write(buf);
        self.record.write(buf);
        self.requester.write(buf);
        self.institution.write(buf);
        self.reason.write(buf);
        write_opt_str(self.justification.as_deref(), buf);
        self.height.write(buf);
        self.timestamp_ms.write(buf);
        self.review.write(buf);
    }
}

impl EncodeSize for ReviewItem {
    fn encode_size(&self) -> usize {
        self.item.encode_size()
            + self.patient.encode_size()
            + self.sequence.encode_size()
            + self.record.encode_size()
            + self.requester.encode_size()
            + self.institution.encode_size()
            + self.reason.encode_size()
            + opt_str_encode_size(self.justification.as_deref())
            + self.height.encode_size()
            + self.timestamp_ms.encode_size()
            + self.review.encode_size()
    }
}

impl Read for ReviewItem {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        Ok(Self {
            item: u64::read(buf)?,
            patient: AccountId::read(buf)?,
            sequence: u64::read(buf)?,
            record: RecordId::read(buf)?,
            requester: AccountId::read(buf)?,
            institution: InstitutionId::read(buf)?,
            reason: AccessReason::read(buf)?,
            justification: read_opt_str(buf, limits::JUSTIFICATION_SIZE_MAX_BYTES)?,
            height: u64::read(buf)?,
            timestamp_ms: u64::read(buf)?,
            review: Option::<Review>::read_cfg(buf, &())?,
        })
    }
}

/// The validators' analytics key in force: the DKG's public sharing (whose constant term is
/// the ElGamal key studies encrypt to, and whose evaluations are the validators' public
/// shares that partial decryptions are checked against), the epoch it was produced for, and
/// its participants: participant `i` is `participants[i]`, the validator set in account order
/// when the key was adopted, as the DKG orders its players.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AnalyticsKeyEntry {
    pub epoch: u64,
    /// The whole DKG output as submitted (what the next resharing round starts from).
    #[serde(with = "hexser::bytes")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub output: Bytes,
    /// The output's public sharing (the threshold module's encoding).
    #[serde(with = "hexser::bytes")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub sharing: Bytes,
    /// The group public key (48-byte compressed G1), for clients that only encrypt.
    #[serde(with = "hexser::bytes")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub public_key: Bytes,
    pub participants: Vec<AccountId>,
    pub since_height: u64,
}
impl_struct_codec!(AnalyticsKeyEntry {
    epoch: (),
    output: bytes_cfg(limits::ANALYTICS_KEY_OUTPUT_SIZE_MAX_BYTES),
    sharing: bytes_cfg(limits::ANALYTICS_KEY_SIZE_MAX_BYTES),
    public_key: bytes_cfg(48),
    participants: vec_cfg(limits::VALIDATORS_MAX),
    since_height: (),
});

/// The validators that submitted one exact sharing for one epoch, until 2f+1 did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalyticsKeySubmissions {
    pub submitters: Vec<AccountId>,
}
impl_struct_codec!(AnalyticsKeySubmissions {
    submitters: vec_cfg(limits::VALIDATORS_MAX)
});

/// A pseudonym's ristretto255 ring key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RingKeyEntry {
    #[serde(with = "hexser::array")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub ring_key: [u8; 32],
    pub registered_height: u64,
}
impl_struct_codec!(RingKeyEntry {
    ring_key: (),
    registered_height: ()
});

/// One line of the ring-key directory, in registration order: the eligible ring members a
/// patient's client picks decoys from, proven complete like an access log so a lying node
/// cannot hand it a ring of its own keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RingDirectoryEntry {
    pub sequence: u64,
    pub pseudonym: AccountId,
    pub institution: InstitutionId,
    #[serde(with = "hexser::array")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub ring_key: [u8; 32],
}
impl_struct_codec!(RingDirectoryEntry {
    sequence: (),
    pseudonym: (),
    institution: (),
    ring_key: (),
});

/// One line of the study index, in proposal order: how nodes and researchers find studies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StudyIndexEntry {
    pub sequence: u64,
    pub study: StudyId,
    pub proposed_height: u64,
}
impl_struct_codec!(StudyIndexEntry {
    sequence: (),
    study: (),
    proposed_height: (),
});

/// Where a study is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum StudyStatus {
    /// Waiting for the consortium's vote.
    Proposed,
    /// Taking contributions until its deadline.
    Approved,
    /// Past its deadline with at least k values: waiting for a quorum of partial decryptions.
    Releasing,
    /// Decrypted: the result is in the entry.
    Released,
    /// Closed with fewer than k values: nothing was or will be decrypted.
    BelowMinimumCohort,
    /// Past its deadline with at least k values, with ε: waiting for the validators' encrypted
    /// noise shares; only then does it take partial decryptions.
    AddingNoise,
}
impl_tag_codec!(StudyStatus {
    Proposed = 0,
    Approved = 1,
    Releasing = 2,
    Released = 3,
    BelowMinimumCohort = 4,
    AddingNoise = 5,
});

impl StudyStatus {
    pub fn name(self) -> &'static str {
        match self {
            StudyStatus::Proposed => "proposed (not approved)",
            StudyStatus::Approved => "approved",
            StudyStatus::Releasing => "closed for release",
            StudyStatus::Released => "released",
            StudyStatus::BelowMinimumCohort => "closed below its minimum cohort",
            StudyStatus::AddingNoise => "closed, waiting for the validators' noise",
        }
    }
}

/// The consortium's approval: when, and the analytics key contributions encrypt to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StudyApproval {
    pub proposal: ProposalId,
    pub height: u64,
    pub key_epoch: u64,
    #[serde(with = "hexser::bytes")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "hex"))]
    pub public_key: Bytes,
}
impl_struct_codec!(StudyApproval {
    proposal: (),
    height: (),
    key_epoch: (),
    public_key: bytes_cfg(48),
});

/// One validator's verified partial decryptions of every aggregate, under one key epoch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PostedPartials {
    pub validator: AccountId,
    pub key_epoch: u64,
    pub index: u32,
    #[serde(with = "hexser::bytes_list")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub partials: Vec<Bytes>,
}
impl_struct_codec!(PostedPartials {
    validator: (),
    key_epoch: (),
    index: (),
    partials: (
        commonware_codec::RangeCfg::new(0..=limits::STUDY_PARTIALS_MAX),
        bytes_cfg(limits::STUDY_PARTIAL_SIZE_BYTES)
    ),
});

/// The differential privacy a released study's totals carry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResultNoise {
    /// The study's ε in thousandths; δ is below 10^-16 (`STUDY_NOISE_TAIL_SCALES`).
    pub epsilon_milli: u32,
    /// Validators whose noise shares were added (each alone gives ε; the chain waits for f + 1
    /// so that at least one is honest).
    pub shares: u32,
}
impl_struct_codec!(ResultNoise {
    epsilon_milli: (),
    shares: (),
});

/// A released study's numbers: per slot (sum, sum of squares, buckets, in the spec's slot
/// order) the decrypted total, with the number of values and contributions. Mean and variance
/// follow: `sum / values`, `sum_of_squares / values − mean²` (in the spec's scaled unit). With
/// `noise`, each total is the true one plus the validators' noise, clamped to the range the
/// true total could take (post-processing, which keeps the guarantee).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StudyResult {
    pub values: u64,
    pub contributions: u64,
    pub totals: Vec<u64>,
    /// Participant indices whose partials were combined.
    pub decrypted_by: Vec<u32>,
    pub height: u64,
    pub noise: Option<ResultNoise>,
}
impl_struct_codec!(StudyResult {
    values: (),
    contributions: (),
    totals: vec_cfg(limits::STUDY_SLOTS_MAX),
    decrypted_by: vec_cfg(limits::VALIDATORS_MAX),
    height: (),
    noise: (),
});

/// A study: its spec, its state, its encrypted aggregates, and once released its result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StudyEntry {
    pub id: StudyId,
    pub researcher: AccountId,
    pub spec: StudySpec,
    pub status: StudyStatus,
    pub proposed_height: u64,
    pub approval: Option<StudyApproval>,
    /// One ciphertext per slot (96 bytes each); empty until the first contribution.
    #[serde(with = "hexser::bytes_list")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub aggregates: Vec<Bytes>,
    /// Values aggregated: one per anonymous contribution, the declared count per institution.
    pub values: u64,
    pub anonymous_contributions: u64,
    pub institutional_contributions: u64,
    pub closed_height: Option<u64>,
    pub partials: Vec<PostedPartials>,
    /// Validators whose encrypted noise shares were added to the aggregates, in ledger order.
    pub noise_from: Vec<AccountId>,
    pub result: Option<StudyResult>,
}
impl_struct_codec!(StudyEntry {
    id: (),
    researcher: (),
    spec: (),
    status: (),
    proposed_height: (),
    approval: (),
    aggregates: (
        commonware_codec::RangeCfg::new(0..=limits::STUDY_SLOTS_MAX),
        bytes_cfg(limits::STUDY_CIPHERTEXT_SIZE_BYTES)
    ),
    values: (),
    anonymous_contributions: (),
    institutional_contributions: (),
    closed_height: (),
    partials: vec_cfg(limits::VALIDATORS_MAX),
    noise_from: vec_cfg(limits::VALIDATORS_MAX),
    result: (),
});
