//! Studies as their participants use them: the proven study, index and ring-key directory
//! reads, the ring an anonymous contributor signs with, and the contributions themselves, built
//! by `medchain_state::study_payloads` (the one way the state machine checks them).
//!
//! **The ring.** A patient's client picks the other members of its ring from the proven,
//! complete ring-key directory, keeping only pseudonyms the study's cohort filter admits (their
//! institution from the directory, their record categories from proven reads), uniformly at
//! random, with its own key at a random position. A node cannot hand it a ring of keys the node
//! controls: every member comes from the ledger's own directory, and the state machine refuses
//! any member outside the eligible set.

use crate::{Client, ClientError, LogSource, records::not_found};
use commonware_codec::DecodeExt as _;
use commonware_cryptography::ed25519;
use medchain_crypto::ring::{RingPublicKey, RingSecretKey};
use medchain_crypto::rng::CryptoRng;
use medchain_state::{
    RingDirectoryEntry, StudyEntry, StudyIndexEntry, StudyStatus, keys, study_payloads,
};
use medchain_types::{
    AccountId, RecordCategory, StudyId, StudySpec, api::TxStatusResponse, limits,
};
use medchain_verify::Verified;

impl Client {
    /// The study with its proof.
    pub async fn study(&self, id: &StudyId) -> Result<Verified<StudyEntry>, ClientError> {
        self.proven(&format!("/v1/studies/{id}"), &keys::study(id), "study")
            .await
    }

    /// Every study ever proposed, in proposal order, proven complete.
    pub async fn study_index(&self) -> Result<Verified<Vec<StudyIndexEntry>>, ClientError> {
        let log = LogSource {
            name: "the study index".into(),
            path: "/v1/studies".into(),
            count: keys::study_index_count(),
            entry: Box::new(keys::study_index),
            sequence: |entry: &StudyIndexEntry| entry.sequence,
            page_max: limits::STUDY_INDEX_PAGE_MAX_ENTRIES,
        };
        self.whole_log(&log).await
    }

    /// Every registered ring key with its pseudonym and institution, proven complete.
    pub async fn ring_directory(&self) -> Result<Verified<Vec<RingDirectoryEntry>>, ClientError> {
        let log = LogSource {
            name: "the ring-key directory".into(),
            path: "/v1/ring-keys".into(),
            count: keys::ring_directory_count(),
            entry: Box::new(keys::ring_directory),
            sequence: |entry: &RingDirectoryEntry| entry.sequence,
            page_max: limits::RING_DIRECTORY_PAGE_MAX_ENTRIES,
        };
        self.whole_log(&log).await
    }

    /// How many unerased records of `category` the pseudonym holds, proven; 0 when the node
    /// says it never held one (unproven, so a lying node can only shrink a ring's choice).
    pub async fn patient_category(
        &self,
        pseudonym: &AccountId,
        category: RecordCategory,
    ) -> Result<u64, ClientError> {
        let name = match serde_json::to_value(category) {
            Ok(serde_json::Value::String(name)) => name,
            _ => unreachable!("a record category serializes as its snake_case name"),
        };
        match self
            .proven::<u64>(
                &format!("/v1/patients/{pseudonym}/categories/{name}"),
                &keys::patient_category(pseudonym, category),
                "a pseudonym's record count",
            )
            .await
        {
            Ok(count) => Ok(count.value),
            Err(e) if not_found(&e) => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Whether `entry`'s pseudonym passes the study's cohort filter, from proven state.
    async fn eligible(
        &self,
        spec: &StudySpec,
        entry: &RingDirectoryEntry,
    ) -> Result<bool, ClientError> {
        let institutions = &spec.cohort.institutions;
        if !institutions.is_empty() && !institutions.contains(&entry.institution) {
            return Ok(false);
        }
        if spec.cohort.categories.is_empty() {
            return Ok(true);
        }
        for category in &spec.cohort.categories {
            if self.patient_category(&entry.pseudonym, *category).await? > 0 {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// A ring of `study.spec.ring_size` eligible ring keys holding `own`, the others picked
    /// uniformly at random from the proven directory, `own` at a random position.
    pub async fn study_ring(
        &self,
        rng: &mut impl CryptoRng,
        study: &StudyEntry,
        own: &RingPublicKey,
    ) -> Result<Vec<RingPublicKey>, ClientError> {
        let own_bytes = own.to_bytes();
        let directory = self.ring_directory().await?.value;
        let Some(me) = directory.iter().find(|e| e.ring_key == own_bytes) else {
            return Err(ClientError::Refused(
                "your ring key is not registered for this pseudonym; run `medchain study enroll` first".into(),
            ));
        };
        if !self.eligible(&study.spec, me).await? {
            return Err(ClientError::Refused(
                "your pseudonym is outside the study's cohort (its institution or record categories); the ledger would refuse the contribution".into(),
            ));
        }
        let mut candidates: Vec<&RingDirectoryEntry> = directory
            .iter()
            .filter(|e| e.ring_key != own_bytes)
            .collect();
        shuffle(rng, &mut candidates);
        let wanted = study.spec.ring_size as usize - 1;
        let mut ring = Vec::with_capacity(wanted + 1);
        for entry in candidates {
            if ring.len() == wanted {
                break;
            }
            if self.eligible(&study.spec, entry).await? {
                let key = RingPublicKey::from_bytes(&entry.ring_key).map_err(|e| {
                    ClientError::BadResponse(format!("a directory ring key is invalid: {e}"))
                })?;
                ring.push(key);
            }
        }
        if ring.len() < wanted {
            return Err(ClientError::Refused(format!(
                "only {} other eligible pseudonyms have a ring key; the study needs a ring of {}, so contributing now would narrow who you are to {} people. Wait until more patients enroll",
                ring.len(),
                study.spec.ring_size,
                ring.len() + 1
            )));
        }
        let position = uniform(rng, ring.len() as u64 + 1) as usize;
        ring.insert(position, *own);
        Ok(ring)
    }

    /// Contributes `value` to `study` anonymously: ring-signed among eligible pseudonyms and
    /// sent from a fresh one-time key, so the transaction names nobody.
    pub async fn contribute_anonymously(
        &self,
        rng: &mut impl CryptoRng,
        study: &StudyEntry,
        secret: &RingSecretKey,
        value: u64,
    ) -> Result<TxStatusResponse, ClientError> {
        check_open(study, self.status().await?.height)?;
        check_value(&study.spec, value)?;
        let ring = self.study_ring(rng, study, &secret.public_key()).await?;
        let chain_id = self.signing_chain_id().await?;
        let payload =
            study_payloads::anonymous_contribution(rng, &chain_id, study, &ring, secret, value)
                .map_err(|e| ClientError::KeyMaterial(e.to_string()))?;
        // A fresh key that signs this one transaction at nonce 0 and is never used again.
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut *seed);
        let one_time = ed25519::PrivateKey::decode(commonware_codec::Copying(&seed[..]))
            .map_err(|e| ClientError::KeyMaterial(format!("one-time key: {e}")))?;
        self.sign_and_submit_at(&one_time, chain_id, 0, payload)
            .await
    }

    /// An institution's admin contributes its patients' `values` to `study`.
    pub async fn contribute_for_institution(
        &self,
        rng: &mut impl CryptoRng,
        admin: &ed25519::PrivateKey,
        study: &StudyEntry,
        values: &[u64],
    ) -> Result<TxStatusResponse, ClientError> {
        check_open(study, self.status().await?.height)?;
        if values.is_empty() {
            return Err(ClientError::Refused(
                "no values to contribute; an institution contributes at least one".into(),
            ));
        }
        for value in values {
            check_value(&study.spec, *value)?;
        }
        let chain_id = self.signing_chain_id().await?;
        let payload = study_payloads::institutional_contribution(rng, &chain_id, study, values)
            .map_err(|e| ClientError::KeyMaterial(e.to_string()))?;
        self.sign_and_submit(admin, payload).await
    }
}

fn check_open(study: &StudyEntry, height: u64) -> Result<(), ClientError> {
    if study.status != StudyStatus::Approved {
        return Err(ClientError::Refused(format!(
            "study {} is {}; only an approved study takes contributions",
            study.id,
            study.status.name()
        )));
    }
    if height >= study.spec.deadline_height {
        return Err(ClientError::Refused(format!(
            "study {} took contributions until height {}; the chain is at {height}",
            study.id, study.spec.deadline_height
        )));
    }
    Ok(())
}

fn check_value(spec: &StudySpec, value: u64) -> Result<(), ClientError> {
    if !(spec.lo..=spec.hi).contains(&value) {
        return Err(ClientError::Refused(format!(
            "{value} is outside the study's range [{}, {}] (in 1/{} {}); the ledger only takes values it can prove in range",
            spec.lo, spec.hi, spec.scale_divisor, spec.unit
        )));
    }
    Ok(())
}

/// A uniform integer below `bound` (> 0) by rejection, so no member position is likelier.
fn uniform(rng: &mut impl CryptoRng, bound: u64) -> u64 {
    let zone = u64::MAX - u64::MAX % bound;
    loop {
        let draw = rng.next_u64();
        if draw < zone {
            return draw % bound;
        }
    }
}

/// Fisher–Yates.
fn shuffle<T>(rng: &mut impl CryptoRng, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        let j = uniform(rng, i as u64 + 1) as usize;
        items.swap(i, j);
    }
}
