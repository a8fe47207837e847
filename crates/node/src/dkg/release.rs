//! This validator's part in releasing studies: once a study's deadline has passed it closes the
//! study; for a study with ε it adds its encrypted noise shares; once a study is closed for
//! release it posts its partial decryptions of the study's (noised) aggregates, made with its
//! DKG share and proven against its public share.
//!
//! The worker decides only from this node's finalized state and decrypts nothing else: the
//! only ciphertexts it ever partially decrypts are the aggregates of a study the ledger holds
//! as closed for release (never a single contribution, never a ciphertext a client sends; no
//! API asks it to decrypt). A study closed below its minimum cohort is never touched.

use super::keeper::Shares;
use super::submit::admit_payload;
use crate::api::ApiState;
use crate::mempool::TxStatus;
use crate::snapshot::SnapshotStore;
use commonware_cryptography::{Signer as _, ed25519};
use medchain_state::{StudyEntry, StudyStatus, query, study_payloads};
use medchain_types::{AccountId, Payload, StudyId, TxHash, limits};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use tracing::{info, warn};

/// Pause between two looks at the finalized state for studies to close or release.
pub const STUDY_RELEASE_POLL_INTERVAL_MS: u64 = 1_000;

/// What the worker holds between polls.
struct Releaser {
    state: ApiState,
    signer: ed25519::PrivateKey,
    me: AccountId,
    /// This validator's shares by key epoch: it decrypts with the one of the key in force.
    shares: Shares,
    /// Next study-index line to read.
    cursor: u64,
    /// Studies not yet released or closed below their cohort.
    open: BTreeSet<StudyId>,
    /// This node's transactions still waiting, one per study.
    in_flight: BTreeMap<StudyId, TxHash>,
    /// Studies this validator cannot release (logged once).
    unable: BTreeSet<StudyId>,
}

/// Runs until the process stops.
pub async fn release_studies(state: ApiState, signer: ed25519::PrivateKey, shares: Shares) {
    let me = AccountId::from(signer.public_key());
    let mut releaser = Releaser {
        state,
        signer,
        me,
        shares,
        cursor: 0,
        open: BTreeSet::new(),
        in_flight: BTreeMap::new(),
        unable: BTreeSet::new(),
    };
    loop {
        tokio::time::sleep(Duration::from_millis(STUDY_RELEASE_POLL_INTERVAL_MS)).await;
        if let Err(e) = releaser.poll().await {
            warn!(error = %e, "cannot read studies from the state; retrying");
        }
    }
}

impl Releaser {
    async fn poll(&mut self) -> Result<(), medchain_state::StateError> {
        let snapshot = SnapshotStore::new(self.state.databases().await);
        let lines = query::study_index(
            &snapshot,
            self.cursor,
            limits::STUDY_INDEX_PAGE_MAX_ENTRIES as u64,
        )
        .await?;
        self.cursor += lines.len() as u64;
        self.open.extend(lines.into_iter().map(|line| line.study));
        let Some(tip) = self.state.handles().chain.tip() else {
            return Ok(());
        };
        let mempool = &self.state.handles().mempool;
        self.in_flight
            .retain(|_, hash| matches!(mempool.status(hash), Some(TxStatus::Pending)));
        let key_epoch = query::analytics_key(&snapshot).await?.map(|k| k.epoch);
        // A node that never held a share of any key (an observer, a validator before its first
        // round) neither closes nor decrypts.
        if self.shares.is_empty() {
            return Ok(());
        }
        for id in self.open.clone() {
            if self.in_flight.contains_key(&id) {
                continue;
            }
            let Some(study) = query::study(&snapshot, &id).await? else {
                continue;
            };
            match study.status {
                StudyStatus::Proposed => {}
                StudyStatus::Approved if tip.height >= study.spec.deadline_height => {
                    self.submit(id, Payload::CloseStudy { study: id }, "close")
                        .await;
                }
                StudyStatus::Approved => {}
                StudyStatus::AddingNoise => self.add_noise(&study, key_epoch).await,
                StudyStatus::Releasing => self.post_partials(&study, key_epoch).await,
                StudyStatus::Released | StudyStatus::BelowMinimumCohort => {
                    self.open.remove(&id);
                }
            }
        }
        Ok(())
    }

    /// Draws and posts this validator's noise shares, once per study: only a holder of the key
    /// in force adds noise (the ledger counts shares from the key's participants).
    async fn add_noise(&mut self, study: &StudyEntry, key_epoch: Option<u64>) {
        if study.noise_from.contains(&self.me)
            || key_epoch.and_then(|epoch| self.shares.get(epoch)).is_none()
        {
            return;
        }
        // Only a study with ε closes into `AddingNoise`, so its spec always has noise slots.
        let Some(noise) = study.spec.slot_noise() else {
            return;
        };
        // The generator is not `Send`: it is dropped before the submission awaits.
        let made = {
            let mut rng = rand::rng();
            study_payloads::draw_noise_shares(&mut rng, &noise)
                .map_err(medchain_crypto::Error::from)
                .and_then(|shares| {
                    study_payloads::study_noise(
                        &mut rng,
                        self.state.chain_id(),
                        study,
                        &self.me,
                        &noise,
                        &shares,
                    )
                })
        };
        match made {
            Ok(payload) => self.submit(study.id, payload, "noise shares").await,
            Err(e) => {
                if self.unable.insert(study.id) {
                    warn!(study = %study.id, error = %e, "cannot make this validator's noise shares");
                }
            }
        }
    }

    async fn post_partials(&mut self, study: &StudyEntry, key_epoch: Option<u64>) {
        let posted = study
            .partials
            .iter()
            .any(|p| p.validator == self.me && Some(p.key_epoch) == key_epoch);
        if posted {
            return;
        }
        let Some(share) = key_epoch.and_then(|epoch| self.shares.get(epoch)) else {
            if self.unable.insert(study.id) {
                warn!(study = %study.id, ?key_epoch, "this validator holds no share of the analytics key in force; it cannot decrypt this study");
            }
            return;
        };
        let made = study_payloads::partial_decryptions(
            &mut rand::rng(),
            self.state.chain_id(),
            study,
            &share,
        );
        match made {
            Ok(payload) => self.submit(study.id, payload, "partial decryption").await,
            Err(e) => {
                if self.unable.insert(study.id) {
                    warn!(study = %study.id, error = %e, "cannot make this validator's partial decryptions");
                }
            }
        }
    }

    async fn submit(&mut self, id: StudyId, payload: Payload, what: &'static str) {
        match admit_payload(&self.state, &self.signer, &self.me, payload).await {
            Ok(hash) => {
                info!(study = %id, %hash, what, "submitted this validator's study transaction");
                self.in_flight.insert(id, hash);
            }
            Err(message) => {
                warn!(study = %id, what, error = %message, "the study transaction was not admitted; retrying");
            }
        }
    }
}
