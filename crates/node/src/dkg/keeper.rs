//! Keeps the analytics key with the validators of the epoch. A genesis validator runs the
//! genesis round at start. Then, from the finalized state, at every epoch whose validators
//! differ from the holders of the adopted key (governance admitted or removed one), this node
//! takes part in a resharing round numbered by that epoch if it is a holder (it deals its share)
//! or one of the epoch's validators (it receives one). The new validators submit the output
//! and the ledger adopts it like the genesis key, checking that the public key is unchanged.
//!
//! Each round runs on its own subchannel of [`channel::DKG`](crate::engine::channel::DKG)
//! (commonware's p2p mux, keyed by round), so a finished round keeps serving its log to late
//! peers while the next one runs; messages for a round this node has not started are dropped
//! and resent by their sender.
//!
//! The round is started at the epoch boundary rather than when the governance vote passes: the
//! epoch's roster is fixed for the whole epoch, so every participant derives the same round
//! from its own finalized state. If governance changes the set again before the ledger adopts
//! the output, the submission is refused (its players are no longer the validators) and the
//! next epoch's round reshares to the newer set.

use super::{DkgConfig, Previous, RoundEnd, sealed, submit};
use crate::api::ApiState;
use crate::snapshot::SnapshotStore;
use commonware_codec::Decode as _;
use commonware_cryptography::bls12381::{
    dkg::feldman_desmedt::Output,
    primitives::{group::Share, sharing::ModeVersion, variant::MinPk},
};
use commonware_cryptography::{Signer as _, ed25519};
use commonware_p2p::{Receiver, Sender, utils::mux::MuxHandle};
use commonware_runtime::telemetry::metrics::Gauge;
use commonware_runtime::{Handle, Spawner as _, Supervisor as _, tokio};
use commonware_utils::ordered::{Quorum as _, Set};
use medchain_crypto::keys::hpke::EncryptionSecretKey;
use medchain_types::{ChainId, limits};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tracing::{error, info, warn};

type Pk = ed25519::PublicKey;

/// This validator's shares of the analytics key, by the round (key epoch) they are from, for
/// the study releaser.
#[derive(Clone, Default)]
pub struct Shares(Arc<RwLock<BTreeMap<u64, Share>>>);

impl Shares {
    pub fn get(&self, round: u64) -> Option<Share> {
        self.0
            .read()
            .expect("shares lock poisoned")
            .get(&round)
            .cloned()
    }

    pub fn is_empty(&self) -> bool {
        self.0.read().expect("shares lock poisoned").is_empty()
    }

    fn insert(&self, round: u64, share: Share) {
        self.0
            .write()
            .expect("shares lock poisoned")
            .insert(round, share);
    }
}

/// Who this node is in the rounds.
pub struct DkgIdentity {
    pub chain_id: ChainId,
    pub signer: ed25519::PrivateKey,
    pub encryption: EncryptionSecretKey,
    /// Where finished rounds and journals are kept (`<storage_dir>/dkg`).
    pub dir: PathBuf,
}

/// Runs until the process stops: the genesis round if `genesis_validators` lists this node,
/// then a resharing round at each epoch that changes the validators.
pub async fn keep_analytics_key<S, R>(
    context: tokio::Context,
    state: ApiState,
    identity: DkgIdentity,
    genesis_validators: Set<Pk>,
    (sender, receiver): (S, R),
    adopted: Gauge,
) where
    S: Sender<PublicKey = Pk>,
    R: Receiver<PublicKey = Pk>,
{
    let (mux, handle) =
        commonware_p2p::utils::mux::Muxer::new(context.child("dkg_mux"), sender, receiver);
    mux.start();
    let shares = Shares::default();
    // It acts only once this node holds a share of the key in force.
    ::tokio::spawn(super::release::release_studies(
        state.clone(),
        identity.signer.clone(),
        shares.clone(),
    ));
    let mut keeper = Keeper {
        context,
        state,
        identity,
        mux: handle,
        shares,
        adopted,
        resharing: None,
    };
    let me = keeper.identity.signer.public_key();
    if genesis_validators.position(&me).is_some() {
        let genesis = DkgConfig::genesis(
            keeper.identity.chain_id,
            keeper.identity.signer.clone(),
            keeper.identity.encryption.clone(),
            genesis_validators,
            keeper.identity.dir.clone(),
        );
        // The genesis round runs for the life of the process (it serves its log to late peers).
        let _ = keeper.start_round(genesis).await;
    }
    loop {
        keeper.poll().await;
        ::tokio::time::sleep(Duration::from_millis(
            submit::ANALYTICS_KEY_POLL_INTERVAL_MS,
        ))
        .await;
    }
}

struct Keeper<S: Sender<PublicKey = Pk>> {
    context: tokio::Context,
    state: ApiState,
    identity: DkgIdentity,
    mux: MuxHandle<S>,
    shares: Shares,
    adopted: Gauge,
    /// The latest resharing round this node started: its number, its players, its task.
    resharing: Option<(u64, Set<Pk>, Handle<()>)>,
}

impl<S: Sender<PublicKey = Pk>> Keeper<S> {
    async fn poll(&mut self) {
        let snapshot = SnapshotStore::new(self.state.databases().await);
        let key = match medchain_state::query::analytics_key(&snapshot).await {
            Ok(Some(key)) => key,
            Ok(None) => return,
            Err(e) => {
                warn!(error = %e, "cannot read the analytics key from the state; retrying");
                return;
            }
        };
        let me = self.identity.signer.public_key();
        // After a restart the share of the key in force is on disk, not in memory.
        if self.shares.get(key.epoch).is_none()
            && key.participants.iter().any(|p| p.0 == me)
            && let Some(finished) = self.load(key.epoch)
        {
            self.shares.insert(key.epoch, finished.share);
        }
        let epoch = self.state.handles().epochs.active();
        let round = epoch.epoch.get();
        let holders: Vec<&Pk> = key.participants.iter().map(|p| &p.0).collect();
        let unchanged = holders.len() == epoch.validators.len()
            && holders
                .iter()
                .all(|h| epoch.validators.position(h).is_some());
        // A round still running for the same players is kept across epochs (it may be waiting
        // for a quorum of them to come up); only a newer set replaces it.
        let started = self
            .resharing
            .as_ref()
            .is_some_and(|(r, players, _)| *r >= round || *players == epoch.validators);
        let involved = holders.contains(&&me) || epoch.validators.position(&me).is_some();
        if key.epoch >= round || unchanged || started || !involved {
            return;
        }
        let output = match Output::<MinPk, Pk>::decode_cfg(
            commonware_codec::Copying(key.output.as_ref()),
            &(participants_max(), ModeVersion::v0()),
        ) {
            Ok(output) => output,
            Err(e) => {
                error!(key_epoch = key.epoch, error = %e, "the ledger's analytics key output does not decode; cannot reshare it");
                return;
            }
        };
        let share = self.share_of(key.epoch, &output);
        if let Some((superseded, _, task)) = self.resharing.take() {
            info!(
                superseded,
                round, "the validators changed again: leaving the unfinished resharing round"
            );
            task.abort();
        }
        info!(
            round,
            key_epoch = key.epoch,
            holders = holders.len(),
            validators = epoch.validators.len(),
            "the validators changed: resharing the analytics key to the epoch's set"
        );
        let config = DkgConfig::reshare(
            self.identity.chain_id,
            round,
            self.identity.signer.clone(),
            self.identity.encryption.clone(),
            Previous { output, share },
            epoch.validators.clone(),
            self.identity.dir.clone(),
        );
        if let Some(task) = self.start_round(config).await {
            self.resharing = Some((round, epoch.validators.clone(), task));
        }
    }

    /// This node's share of the key adopted at `key_epoch`, if it holds one matching the
    /// ledger's output (a node whose round ended with another output holds a useless share).
    fn share_of(&self, key_epoch: u64, output: &Output<MinPk, Pk>) -> Option<Share> {
        let me = self.identity.signer.public_key();
        output.players().position(&me)?;
        let share = self
            .shares
            .get(key_epoch)
            .or_else(|| self.load(key_epoch).map(|finished| finished.share));
        let matches = share.as_ref().is_some_and(|share| {
            output.players().index(&me) == Some(share.index)
                && output.public().partial_public(share.index).ok() == Some(share.public::<MinPk>())
        });
        if !matches {
            warn!(
                key_epoch,
                "this validator holds no share matching the ledger's analytics key; it takes part in the resharing without dealing"
            );
            return None;
        }
        share
    }

    fn load(&self, round: u64) -> Option<sealed::FinishedRound> {
        let id = &self.identity;
        match sealed::load(&id.dir, &id.chain_id, round, &id.encryption) {
            Ok(finished) => finished,
            Err(e) => {
                error!(round, error = %e, "cannot read this validator's DKG round from disk");
                None
            }
        }
    }

    /// Starts `config`'s round on its own subchannel; when it ends with a share, the share goes
    /// to the releaser and the output to the ledger.
    async fn start_round(&mut self, config: DkgConfig) -> Option<Handle<()>> {
        let round = config.round;
        let (sender, receiver) = match self.mux.register(round).await {
            Ok(channel) => channel,
            Err(e) => {
                error!(round, error = %e, "cannot open the DKG round's p2p subchannel");
                return None;
            }
        };
        let (done, finished) = futures::channel::oneshot::channel();
        let task = self.context.child("dkg").spawn(move |context| async move {
            if let Err(e) = super::run(context, config, sender, receiver, done).await {
                error!(round, error = %e, "the analytics-key DKG round stopped");
            }
        });
        let (state, signer, shares, adopted) = (
            self.state.clone(),
            self.identity.signer.clone(),
            self.shares.clone(),
            self.adopted.clone(),
        );
        ::tokio::spawn(async move {
            if let Ok(RoundEnd::Share(done)) = finished.await {
                shares.insert(round, done.share.clone());
                let output = super::analytics_key_output(&done.output);
                submit::submit_until_adopted(state, signer, round, output, adopted).await;
            }
        });
        Some(task)
    }
}

fn participants_max() -> std::num::NonZeroU32 {
    std::num::NonZeroU32::new(limits::VALIDATORS_MAX as u32)
        .expect("the ledger admits at least one validator")
}
