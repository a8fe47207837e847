//! State keys: a one-byte table tag, then the canonical encoding of the key.
//! Public so the node can produce a proof for the key behind any query.

use commonware_codec::Encode;
use medchain_types::{
    AccountId, ConsentId, InstitutionId, ProposalId, RecordCategory, RecordId, StudyId,
};

/// Table tags. Never reuse or renumber one: they are part of the state root.
pub mod table {
    pub const CHAIN: u8 = 0x01;
    pub const NONCE: u8 = 0x02;
    pub const INSTITUTION: u8 = 0x03;
    pub const VALIDATOR_SET: u8 = 0x04;
    pub const MEMBER: u8 = 0x05;
    pub const PSEUDONYM: u8 = 0x06;
    pub const EMERGENCY_ACCESS: u8 = 0x07;
    pub const RECORD: u8 = 0x08;
    pub const CONSENT: u8 = 0x09;
    pub const PATIENT_CONSENTS: u8 = 0x0a;
    pub const PROPOSAL: u8 = 0x0b;
    pub const ACCESS_LOG: u8 = 0x0c;
    pub const ACCESS_LOG_COUNT: u8 = 0x0d;
    pub const CONSORTIUM_POLICY: u8 = 0x0e;
    pub const RECORD_BY_CONTENT: u8 = 0x0f;
    pub const EMERGENCY_SERVICE: u8 = 0x10;
    pub const REVIEW_QUEUE: u8 = 0x11;
    pub const REVIEW_QUEUE_COUNT: u8 = 0x12;
    // Studies, far from the tables above (0x10–0x3f are left for other features).
    pub const ANALYTICS_KEY: u8 = 0x40;
    pub const ANALYTICS_KEY_SUBMISSION: u8 = 0x41;
    pub const RING_KEY: u8 = 0x42;
    pub const RING_KEY_OWNER: u8 = 0x43;
    pub const STUDY: u8 = 0x44;
    pub const STUDY_KEY_IMAGE: u8 = 0x45;
    pub const STUDY_INSTITUTION: u8 = 0x46;
    pub const PATIENT_CATEGORY: u8 = 0x47;
    pub const RING_DIRECTORY: u8 = 0x48;
    pub const RING_DIRECTORY_COUNT: u8 = 0x49;
    pub const STUDY_INDEX: u8 = 0x4a;
    pub const STUDY_INDEX_COUNT: u8 = 0x4b;
}

fn key(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut out = vec![tag];
    for part in parts {
        out.extend_from_slice(part);
    }
    out
}

/// The chain id and genesis time written by `apply_genesis`.
pub fn chain() -> Vec<u8> {
    vec![table::CHAIN]
}

pub fn nonce(account: &AccountId) -> Vec<u8> {
    key(table::NONCE, &[&account.encode()])
}

pub fn institution(id: &InstitutionId) -> Vec<u8> {
    key(table::INSTITUTION, &[&id.encode()])
}

/// The whole validator set is one value: the node reads it in one get.
pub fn validator_set() -> Vec<u8> {
    vec![table::VALIDATOR_SET]
}

pub fn member(account: &AccountId) -> Vec<u8> {
    key(table::MEMBER, &[&account.encode()])
}

pub fn pseudonym(account: &AccountId) -> Vec<u8> {
    key(table::PSEUDONYM, &[&account.encode()])
}

pub fn emergency_access(pseudonym: &AccountId, institution: &InstitutionId) -> Vec<u8> {
    key(
        table::EMERGENCY_ACCESS,
        &[&pseudonym.encode(), &institution.encode()],
    )
}

pub fn record(id: &RecordId) -> Vec<u8> {
    key(table::RECORD, &[&id.encode()])
}

/// The record whose ciphertext has this BLAKE3 hash: how a validator knows a stored blob is
/// committed (and keeps it) or not (and collects it after a while).
pub fn record_by_content(content_hash: &[u8; 32]) -> Vec<u8> {
    key(table::RECORD_BY_CONTENT, &[content_hash])
}

pub fn consent(id: &ConsentId) -> Vec<u8> {
    key(table::CONSENT, &[&id.encode()])
}

/// The ids of a pseudonym's active (unrevoked) consents.
pub fn patient_consents(pseudonym: &AccountId) -> Vec<u8> {
    key(table::PATIENT_CONSENTS, &[&pseudonym.encode()])
}

pub fn proposal(id: &ProposalId) -> Vec<u8> {
    key(table::PROPOSAL, &[&id.encode()])
}

/// One access-log entry; `sequence` counts from 0 per pseudonym.
pub fn access_log(pseudonym: &AccountId, sequence: u64) -> Vec<u8> {
    key(
        table::ACCESS_LOG,
        &[&pseudonym.encode(), &sequence.encode()],
    )
}

pub fn access_log_count(pseudonym: &AccountId) -> Vec<u8> {
    key(table::ACCESS_LOG_COUNT, &[&pseudonym.encode()])
}

/// The consortium's current Cedar policy set with its schema (one value).
pub fn consortium_policy() -> Vec<u8> {
    vec![table::CONSORTIUM_POLICY]
}

/// An institution's active emergency key service.
pub fn emergency_service(institution: &InstitutionId) -> Vec<u8> {
    key(table::EMERGENCY_SERVICE, &[&institution.encode()])
}

/// One item of the consortium's break-glass review queue; `item` counts from 0.
pub fn review_item(item: u64) -> Vec<u8> {
    key(table::REVIEW_QUEUE, &[&item.encode()])
}

/// How many items the review queue has had (reviewed ones stay, with their finding).
pub fn review_queue_count() -> Vec<u8> {
    vec![table::REVIEW_QUEUE_COUNT]
}

/// The validators' analytics key in force (one value).
pub fn analytics_key() -> Vec<u8> {
    vec![table::ANALYTICS_KEY]
}

/// Who submitted this exact sharing (by its BLAKE3 digest) for `epoch`.
pub fn analytics_key_submission(epoch: u64, digest: &[u8; 32]) -> Vec<u8> {
    key(table::ANALYTICS_KEY_SUBMISSION, &[&epoch.encode(), digest])
}

/// A pseudonym's ring key.
pub fn ring_key(pseudonym: &AccountId) -> Vec<u8> {
    key(table::RING_KEY, &[&pseudonym.encode()])
}

/// The pseudonym a ring key belongs to: how a ring's members are checked against a cohort.
pub fn ring_key_owner(ring_key: &[u8; 32]) -> Vec<u8> {
    key(table::RING_KEY_OWNER, &[ring_key])
}

pub fn study(id: &StudyId) -> Vec<u8> {
    key(table::STUDY, &[&id.encode()])
}

/// Present once a key image contributed to the study (its height): a second one is refused.
pub fn study_key_image(study: &StudyId, key_image: &[u8; 32]) -> Vec<u8> {
    key(table::STUDY_KEY_IMAGE, &[&study.encode(), key_image])
}

/// Present once an institution contributed to the study.
pub fn study_institution(study: &StudyId, institution: &InstitutionId) -> Vec<u8> {
    key(
        table::STUDY_INSTITUTION,
        &[&study.encode(), &institution.encode()],
    )
}

/// How many unerased records of `category` a pseudonym holds (a study's cohort filter).
pub fn patient_category(pseudonym: &AccountId, category: RecordCategory) -> Vec<u8> {
    key(
        table::PATIENT_CATEGORY,
        &[&pseudonym.encode(), &category.encode()],
    )
}

/// One line of the ring-key directory; `sequence` counts from 0.
pub fn ring_directory(sequence: u64) -> Vec<u8> {
    key(table::RING_DIRECTORY, &[&sequence.encode()])
}

/// How many ring keys were ever registered.
pub fn ring_directory_count() -> Vec<u8> {
    vec![table::RING_DIRECTORY_COUNT]
}

/// One line of the study index; `sequence` counts from 0.
pub fn study_index(sequence: u64) -> Vec<u8> {
    key(table::STUDY_INDEX, &[&sequence.encode()])
}

/// How many studies were ever proposed.
pub fn study_index_count() -> Vec<u8> {
    vec![table::STUDY_INDEX_COUNT]
}
