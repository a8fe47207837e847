//! Consensus epochs: a validator set voted by governance takes effect at the next epoch
//! boundary. The last block of each epoch lists the next epoch's roster (see `block`), checked
//! by every validator against its own execution. This module keeps the roster of every epoch
//! the node has reached, gives marshal the scheme that verifies each epoch's certificates, and
//! runs one simplex instance at a time, switching at each boundary (the design of
//! `commonware_glue::dkg::orchestrator`, for a plain ed25519 set instead of a reshared key).
//!
//! A node outside an epoch's set (an observer, a validator not yet admitted or already removed)
//! runs that epoch's simplex with a keyless scheme: it verifies and follows, never votes.

use commonware_actor::Feedback;
use commonware_consensus::{
    Heightable as _, Reporter,
    marshal::{self, Identifier, core::Mailbox as MarshalMailbox, standard::Standard},
    simplex::{config::Floor, scheme::ed25519 as ed25519_scheme},
    types::{Epoch, Epocher as _, FixedEpocher, Height},
};
use commonware_cryptography::{
    Digestible as _,
    certificate::{self, Scoped},
    ed25519, sha256,
};
use commonware_macros::select_loop;
use commonware_p2p::{
    Channel, Message, Receiver, Sender,
    utils::mux::{Builder as _, MuxHandle, Muxer, SubReceiver, SubSender},
};
use commonware_runtime::{
    Handle, Metrics, Spawner, Storage,
    telemetry::metrics::{Gauge, GaugeExt as _, MetricsExt as _},
};
use commonware_utils::{channel::mpsc, ordered::Set, vec::NonEmptyVec};
use medchain_verify::{Block, RosterEntry};
pub use medchain_verify::{RosterError, roster_validators};
use std::{
    collections::BTreeMap,
    sync::{Arc, RwLock},
};
use tracing::{debug, info, warn};

/// The validators of one epoch and the scheme that signs (if this node is one) or verifies
/// their votes.
#[derive(Debug)]
pub struct EpochRoster {
    pub epoch: Epoch,
    /// Sorted by key, as consensus indexes signers.
    pub roster: Vec<RosterEntry>,
    pub validators: Set<ed25519::PublicKey>,
    /// The boundary block that introduced this roster (none for the genesis epoch).
    pub introduced_at: Option<Height>,
    scheme: Arc<ed25519_scheme::Scheme>,
    signs: bool,
}

impl EpochRoster {
    /// Whether this node votes in the epoch.
    pub fn signs(&self) -> bool {
        self.signs
    }

    pub fn scheme(&self) -> &ed25519_scheme::Scheme {
        &self.scheme
    }
}

struct Registry {
    rosters: BTreeMap<Epoch, Arc<EpochRoster>>,
    active: Epoch,
    /// The epochs whose validators differ from the epoch before, with the boundary block that
    /// introduced them, in order: kept as epochs are learned so a block request does not
    /// compare every epoch's set.
    changes: Vec<(Epoch, Height)>,
}

/// The roster of every epoch this node knows, shared by the orchestrator, marshal (as its
/// certificate scheme provider) and the API.
#[derive(Clone)]
pub struct Epochs {
    registry: Arc<RwLock<Registry>>,
    namespace: Arc<Vec<u8>>,
    signer: ed25519::PrivateKey,
    epocher: FixedEpocher,
}

impl Epochs {
    /// Starts at epoch zero with the genesis roster.
    pub fn new(
        namespace: Vec<u8>,
        signer: ed25519::PrivateKey,
        epocher: FixedEpocher,
        genesis_roster: Vec<RosterEntry>,
    ) -> Result<Self, RosterError> {
        let epochs = Self {
            registry: Arc::new(RwLock::new(Registry {
                rosters: BTreeMap::new(),
                active: Epoch::zero(),
                changes: Vec::new(),
            })),
            namespace: Arc::new(namespace),
            signer,
            epocher,
        };
        epochs.learn(Epoch::zero(), genesis_roster, None)?;
        Ok(epochs)
    }

    pub fn epocher(&self) -> &FixedEpocher {
        &self.epocher
    }

    /// Records the roster of `epoch` (idempotent: a known epoch keeps its roster).
    pub fn learn(
        &self,
        epoch: Epoch,
        mut roster: Vec<RosterEntry>,
        introduced_at: Option<Height>,
    ) -> Result<Arc<EpochRoster>, RosterError> {
        if let Some(known) = self.roster(epoch) {
            return Ok(known);
        }
        roster.sort();
        let validators = roster_validators(&roster)?;
        let signing = ed25519_scheme::Scheme::signer(
            &self.namespace,
            validators.clone(),
            self.signer.clone(),
        );
        let signs = signing.is_some();
        let scheme = signing.unwrap_or_else(|| {
            ed25519_scheme::Scheme::verifier(&self.namespace, validators.clone())
        });
        let entry = Arc::new(EpochRoster {
            epoch,
            roster,
            validators,
            introduced_at,
            scheme: Arc::new(scheme),
            signs,
        });
        let mut registry = self.registry.write().expect("epoch registry lock poisoned");
        if let Some(known) = registry.rosters.get(&epoch) {
            return Ok(known.clone());
        }
        let previous = registry.rosters.range(..epoch).next_back();
        if let (Some((_, previous)), Some(boundary)) = (previous, introduced_at)
            && previous.validators != entry.validators
        {
            registry.changes.push((epoch, boundary));
            registry.changes.sort();
        }
        registry.rosters.insert(epoch, entry.clone());
        Ok(entry)
    }

    pub fn roster(&self, epoch: Epoch) -> Option<Arc<EpochRoster>> {
        let registry = self.registry.read().expect("epoch registry lock poisoned");
        registry.rosters.get(&epoch).cloned()
    }

    /// The epoch whose simplex instance runs now.
    pub fn active(&self) -> Arc<EpochRoster> {
        let registry = self.registry.read().expect("epoch registry lock poisoned");
        registry.rosters[&registry.active].clone()
    }

    fn set_active(&self, epoch: Epoch) {
        let mut registry = self.registry.write().expect("epoch registry lock poisoned");
        assert!(
            registry.rosters.contains_key(&epoch),
            "an epoch is entered only once its roster is known"
        );
        registry.active = epoch;
    }

    /// The epoch the block at `height` belongs to.
    pub fn epoch_of(&self, height: Height) -> Epoch {
        self.epocher
            .containing(height)
            .expect("a fixed epocher covers every height")
            .epoch()
    }

    /// Whether `height` is the last block of its epoch (and so carries the next roster).
    pub fn is_boundary(&self, height: Height) -> bool {
        self.epocher.last(self.epoch_of(height)) == Some(height)
    }

    /// The boundary blocks, up to the one that introduced `epoch`'s roster, after which the
    /// set of validators changed: what a client needs to walk from the genesis set to `epoch`'s.
    pub fn handoffs_until(&self, epoch: Epoch) -> Vec<Height> {
        let registry = self.registry.read().expect("epoch registry lock poisoned");
        registry
            .changes
            .iter()
            .take_while(|(changed, _)| *changed <= epoch)
            .map(|(_, boundary)| *boundary)
            .collect()
    }
}

impl certificate::Provider for Epochs {
    type Scope = Epoch;
    type Scheme = ed25519_scheme::Scheme;

    /// An epoch this node has not reached yet has no scheme: marshal ignores its certificates
    /// until the boundary block that names its validators is final here.
    fn scoped(&self, epoch: Epoch) -> Option<Scoped<Self::Scheme>> {
        self.roster(epoch)
            .map(|roster| Scoped::scheme(roster.scheme.clone()))
    }
}

/// Passes marshal's finalized blocks on to the ledger and, for each boundary block, tells the
/// orchestrator to switch epochs. The switch need not finish before the block is acknowledged:
/// after a restart the orchestrator derives the epoch from the processed height and the stored
/// boundary blocks, so both orders end in the same epoch.
#[derive(Clone)]
pub struct EpochReporter<R> {
    inner: R,
    epochs: Epochs,
    boundaries: mpsc::UnboundedSender<Block>,
}

impl<R> EpochReporter<R> {
    pub fn new(inner: R, epochs: Epochs, boundaries: mpsc::UnboundedSender<Block>) -> Self {
        Self {
            inner,
            epochs,
            boundaries,
        }
    }
}

impl<R> Reporter for EpochReporter<R>
where
    R: Reporter<Activity = marshal::Update<Block>>,
{
    type Activity = marshal::Update<Block>;

    fn report(&mut self, activity: Self::Activity) -> Feedback {
        if let marshal::Update::Block(block, _) = &activity
            && self.epochs.is_boundary(block.height())
        {
            // The orchestrator lives as long as the engine; if it stopped, so does the node.
            let _ = self.boundaries.send(block.inner().clone());
        }
        self.inner.report(activity)
    }
}

/// The per-epoch sub-channels of one p2p channel.
pub type SubChannel<S> = (SubSender<S>, SubReceiver<ed25519::PublicKey>);

/// What the engine needs to start one epoch's simplex instance.
pub struct EpochStart<S: Sender<PublicKey = ed25519::PublicKey>> {
    pub roster: Arc<EpochRoster>,
    pub floor: Floor<ed25519_scheme::Scheme, sha256::Digest>,
    pub votes: SubChannel<S>,
    pub certificates: SubChannel<S>,
    pub resolver: SubChannel<S>,
}

/// Starts a simplex instance for an epoch (built by `engine`, which knows the application).
pub type StartSimplex<S> = Box<dyn FnMut(EpochStart<S>) -> Handle<()> + Send>;

/// Opens the p2p peer set of an epoch (the lookup oracle in production, the simulated
/// network's manager in tests).
pub type TrackPeers = Box<dyn FnMut(&EpochRoster) + Send>;

/// The storage partition of `epoch`'s simplex journal (its votes, kept so that a restarted
/// node never votes twice in a view).
pub fn simplex_partition(prefix: &str, epoch: Epoch) -> String {
    format!("{prefix}-simplex-epoch-{}", epoch.get())
}

/// Runs one simplex instance per epoch and moves to the next at each boundary block.
pub struct Orchestrator<E, S: Sender<PublicKey = ed25519::PublicKey>> {
    pub context: E,
    /// Names this node's storage partitions (see `simplex_partition`).
    pub partition_prefix: String,
    pub epochs: Epochs,
    pub marshal: MarshalMailbox<ed25519_scheme::Scheme, Standard<Block>>,
    pub genesis_digest: sha256::Digest,
    pub boundaries: mpsc::UnboundedReceiver<Block>,
    pub start_simplex: StartSimplex<S>,
    pub track_peers: TrackPeers,
}

struct Channels<S: Sender<PublicKey = ed25519::PublicKey>> {
    votes: MuxHandle<S>,
    votes_ahead: mpsc::Receiver<(Channel, Message<S::PublicKey>)>,
    certificates: MuxHandle<S>,
    certificates_ahead: mpsc::Receiver<(Channel, Message<S::PublicKey>)>,
    resolver: MuxHandle<S>,
}

struct Active {
    epoch: Epoch,
    handle: Handle<()>,
}

impl Drop for Active {
    fn drop(&mut self) {
        // A replaced epoch's instance stops; its journal is removed an epoch later.
        self.handle.abort();
    }
}

impl<E, S> Orchestrator<E, S>
where
    E: Spawner + Metrics + commonware_runtime::Clock + Storage,
    S: Sender<PublicKey = ed25519::PublicKey>,
{
    pub fn start<R>(self, votes: (S, R), certificates: (S, R), resolver: (S, R)) -> Handle<()>
    where
        R: Receiver<PublicKey = ed25519::PublicKey>,
    {
        let context = self.context.child("orchestrator");
        context.spawn(move |context| self.run(context, votes, certificates, resolver))
    }

    async fn run<R>(mut self, context: E, votes: (S, R), certificates: (S, R), resolver: (S, R))
    where
        R: Receiver<PublicKey = ed25519::PublicKey>,
    {
        let gauge: Gauge = context.gauge("epoch", "The consensus epoch this node runs");
        let mut channels = mux_channels(&context, votes, certificates, resolver);
        let (epoch, floor) = self.recover().await;
        let Some(mut active) = self.enter(epoch, floor, &mut channels, &gauge).await else {
            return;
        };
        select_loop! {
            context,
            on_stopped => {
                debug!("runtime stopping, orchestrator exits");
            },
            Some(boundary) = self.boundaries.recv() else {
                debug!("marshal stopped reporting, orchestrator exits");
                break;
            } => {
                if self.epochs.epoch_of(Height::new(boundary.height)) != active.epoch {
                    // Redelivered after a restart that already derived the next epoch.
                    continue;
                }
                // Validators refuse a boundary block whose roster differs from the state's set,
                // so a finalized unusable roster means the ledger's own set cannot run
                // consensus: no epoch can follow, and guessing one would fork.
                let (next, floor) = match self.learn_next(&boundary, boundary.digest()) {
                    Ok(next) => next,
                    Err(e) => crate::fatal::halt(
                        &format!(
                            "finalized boundary block {} carries an unusable roster for the next epoch",
                            boundary.height
                        ),
                        &e,
                    ),
                };
                let Some(entered) = self.enter(next, floor, &mut channels, &gauge).await else {
                    break;
                };
                active = entered;
            },
            Some((their_epoch, (from, _))) = channels.votes_ahead.recv() else {
                break;
            } => {
                self.hint(active.epoch, their_epoch, from);
            },
            Some((their_epoch, (from, _))) = channels.certificates_ahead.recv() else {
                break;
            } => {
                self.hint(active.epoch, their_epoch, from);
            },
            result = &mut active.handle => {
                match result {
                    Ok(()) => debug!(epoch = %active.epoch, "simplex stopped, orchestrator exits"),
                    Err(e) => warn!(epoch = %active.epoch, error = %e, "simplex failed, orchestrator exits"),
                }
                break;
            },
        }
    }

    /// The epoch to run after a (re)start and where its simplex instance starts: the epoch of
    /// the first block marshal has not yet handed to the ledger. Every earlier boundary block is
    /// in marshal's archive, so their rosters are read back in order.
    async fn recover(&mut self) -> (Epoch, Floor<ed25519_scheme::Scheme, sha256::Digest>) {
        let processed = self
            .marshal
            .get_processed()
            .await
            .map_or(Height::zero(), |p| p.height());
        let epoch = self.epochs.epoch_of(processed.next());
        let mut floor = Floor::Genesis(self.genesis_digest);
        let mut reached = Epoch::zero();
        while reached < epoch {
            let height = self
                .epochs
                .epocher()
                .last(reached)
                .expect("a fixed epocher covers every epoch");
            // Marshal delivered every block before `processed`, so a missing or unusable
            // boundary among them is this node's own archive failing.
            let Some(boundary) = self.marshal.get_block(Identifier::Height(height)).await else {
                crate::fatal::halt(
                    &format!("boundary block {height} is missing from the local block archive"),
                    &"its epoch's roster cannot be recovered",
                );
            };
            match self.learn_next(boundary.inner(), boundary.digest()) {
                Ok((next, next_floor)) => (reached, floor) = (next, next_floor),
                Err(e) => crate::fatal::halt(
                    &format!("stored boundary block {height} carries an unusable roster"),
                    &e,
                ),
            }
        }
        (epoch, floor)
    }

    /// Records the roster `boundary` (the last block of its epoch, with digest `digest`) hands
    /// to the next epoch, and returns that epoch and where its simplex instance starts: from
    /// the boundary block.
    fn learn_next(
        &self,
        boundary: &Block,
        digest: sha256::Digest,
    ) -> Result<(Epoch, Floor<ed25519_scheme::Scheme, sha256::Digest>), RosterError> {
        let height = Height::new(boundary.height);
        let next = self.epochs.epoch_of(height).next();
        self.epochs
            .learn(next, boundary.next_roster.clone(), Some(height))?;
        Ok((next, Floor::Genesis(digest)))
    }

    /// Opens `epoch`'s peer set and sub-channels and starts its simplex instance.
    async fn enter(
        &mut self,
        epoch: Epoch,
        floor: Floor<ed25519_scheme::Scheme, sha256::Digest>,
        channels: &mut Channels<S>,
        gauge: &Gauge,
    ) -> Option<Active> {
        let roster = self
            .epochs
            .roster(epoch)
            .expect("an epoch is entered only once its roster is known");
        (self.track_peers)(&roster);
        let sub = epoch.get();
        let (Ok(votes), Ok(certificates), Ok(resolver)) = (
            channels.votes.register(sub).await,
            channels.certificates.register(sub).await,
            channels.resolver.register(sub).await,
        ) else {
            debug!(%epoch, "p2p channels closed, orchestrator exits");
            return None;
        };
        self.epochs.set_active(epoch);
        let handle = (self.start_simplex)(EpochStart {
            roster: roster.clone(),
            floor,
            votes,
            certificates,
            resolver,
        });
        let _ = gauge.try_set(epoch.get());
        if let Some(ended) = epoch.get().checked_sub(2).map(Epoch::new) {
            let partition = simplex_partition(&self.partition_prefix, ended);
            remove_ended_journal(self.context.child("journal_pruning"), partition, ended).await;
        }
        info!(
            %epoch,
            validators = roster.validators.len(),
            votes = roster.signs(),
            "entered epoch"
        );
        Some(Active { epoch, handle })
    }

    /// Traffic from a later epoch means its sender finalized our epoch's last block: ask it
    /// for that block, whose roster lets this node enter the next epoch.
    fn hint(&self, ours: Epoch, theirs: u64, from: ed25519::PublicKey) {
        if Epoch::new(theirs) <= ours {
            return;
        }
        let boundary = self
            .epochs
            .epocher()
            .last(ours)
            .expect("a fixed epocher covers every epoch");
        debug!(%ours, theirs, %boundary, "peer is in a later epoch; fetching our epoch's last block");
        self.marshal
            .hint_finalized(boundary, NonEmptyVec::new(from));
    }
}

/// Removes the journal of an epoch that ended before the previous one: its instance stopped a
/// whole epoch ago and its last block is final, so its votes can never be needed again. Without
/// this, a chain would keep one journal per epoch forever.
async fn remove_ended_journal<E: Storage>(context: E, partition: String, ended: Epoch) {
    match context.remove(&partition, None).await {
        Ok(()) => debug!(%ended, "removed the journal of an ended epoch"),
        Err(commonware_runtime::Error::PartitionMissing(_)) => {}
        Err(e) => warn!(%ended, error = %e, "cannot remove the journal of an ended epoch"),
    }
}

fn mux_channels<E, S, R>(
    context: &E,
    (vote_sender, vote_receiver): (S, R),
    (certificate_sender, certificate_receiver): (S, R),
    (resolver_sender, resolver_receiver): (S, R),
) -> Channels<S>
where
    E: Spawner + Metrics,
    S: Sender<PublicKey = ed25519::PublicKey>,
    R: Receiver<PublicKey = ed25519::PublicKey>,
{
    let (mux, votes, votes_ahead) =
        Muxer::builder(context.child("vote_mux"), vote_sender, vote_receiver)
            .with_backup()
            .build();
    mux.start();
    let (mux, certificates, certificates_ahead) = Muxer::builder(
        context.child("certificate_mux"),
        certificate_sender,
        certificate_receiver,
    )
    .with_backup()
    .build();
    mux.start();
    let (mux, resolver) = Muxer::new(
        context.child("resolver_mux"),
        resolver_sender,
        resolver_receiver,
    );
    mux.start();
    Channels {
        votes,
        votes_ahead,
        certificates,
        certificates_ahead,
        resolver,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_cryptography::{Signer as _, certificate::Provider as _};
    use commonware_utils::NZU64;

    fn roster(seeds: &[u64]) -> Vec<RosterEntry> {
        seeds
            .iter()
            .map(|seed| RosterEntry {
                validator: ed25519::PrivateKey::from_seed(*seed).public_key(),
                p2p_address: format!("127.0.0.1:{}", 7000 + seed),
            })
            .collect()
    }

    fn epochs(me: u64) -> Epochs {
        Epochs::new(
            b"epochs-test".to_vec(),
            ed25519::PrivateKey::from_seed(me),
            FixedEpocher::new(NZU64!(10)),
            roster(&[0, 1, 2, 3]),
        )
        .unwrap()
    }

    #[test]
    fn boundaries_are_the_last_height_of_each_epoch() {
        let epochs = epochs(0);
        assert!(!epochs.is_boundary(Height::zero()));
        assert!(epochs.is_boundary(Height::new(9)));
        assert!(!epochs.is_boundary(Height::new(10)));
        assert!(epochs.is_boundary(Height::new(19)));
        assert_eq!(epochs.epoch_of(Height::new(10)), Epoch::new(1));
    }

    #[test]
    fn a_node_signs_only_in_epochs_whose_roster_lists_it() {
        let candidate = epochs(4);
        assert!(!candidate.active().signs(), "not in the genesis roster");
        let next = candidate
            .learn(
                Epoch::new(1),
                roster(&[0, 1, 2, 3, 4]),
                Some(Height::new(9)),
            )
            .unwrap();
        assert!(next.signs());
        let removed = candidate
            .learn(Epoch::new(2), roster(&[0, 1, 2]), Some(Height::new(19)))
            .unwrap();
        assert!(!removed.signs());
    }

    #[test]
    fn marshal_gets_no_scheme_for_an_epoch_not_reached() {
        let epochs = epochs(0);
        assert!(epochs.scoped(Epoch::zero()).is_some());
        assert!(epochs.scoped(Epoch::new(1)).is_none());
        epochs
            .learn(Epoch::new(1), roster(&[0, 1, 2, 3]), Some(Height::new(9)))
            .unwrap();
        assert!(epochs.scoped(Epoch::new(1)).is_some());
    }

    #[test]
    fn learning_an_epoch_twice_keeps_the_first_roster() {
        let epochs = epochs(0);
        let first = epochs
            .learn(
                Epoch::new(1),
                roster(&[0, 1, 2, 3, 4]),
                Some(Height::new(9)),
            )
            .unwrap();
        let again = epochs
            .learn(Epoch::new(1), roster(&[0, 1]), Some(Height::new(9)))
            .unwrap();
        assert_eq!(again.validators, first.validators);
    }

    #[test]
    fn unusable_rosters_are_refused() {
        let epochs = epochs(0);
        assert!(matches!(
            epochs.learn(Epoch::new(1), Vec::new(), Some(Height::new(9))),
            Err(RosterError::Empty)
        ));
        let mut twice = roster(&[0, 1]);
        twice.push(twice[0].clone());
        assert!(matches!(
            epochs.learn(Epoch::new(1), twice, Some(Height::new(9))),
            Err(RosterError::Duplicate)
        ));
        assert!(epochs.roster(Epoch::new(1)).is_none(), "nothing recorded");
    }

    #[test]
    fn handoffs_list_only_boundaries_where_the_set_changed() {
        let epochs = epochs(0);
        let same = roster(&[0, 1, 2, 3]);
        let grown = roster(&[0, 1, 2, 3, 4]);
        epochs
            .learn(Epoch::new(1), same.clone(), Some(Height::new(9)))
            .unwrap();
        epochs
            .learn(Epoch::new(2), grown.clone(), Some(Height::new(19)))
            .unwrap();
        epochs
            .learn(Epoch::new(3), grown, Some(Height::new(29)))
            .unwrap();
        epochs
            .learn(Epoch::new(4), same, Some(Height::new(39)))
            .unwrap();
        assert!(epochs.handoffs_until(Epoch::new(1)).is_empty());
        assert_eq!(epochs.handoffs_until(Epoch::new(3)), vec![Height::new(19)]);
        assert_eq!(
            epochs.handoffs_until(Epoch::new(4)),
            vec![Height::new(19), Height::new(39)]
        );
    }
}
