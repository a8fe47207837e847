//! The validators' dealerless analytics key (issue 11, DESIGN.md flow 5). At the chain's start
//! (epoch 0) the genesis validators run one Joint-Feldman DKG round (Gennaro, Jarecki,
//! Krawczyk, Rabin, "Secure distributed key generation for discrete-log based cryptosystems",
//! EUROCRYPT 1999, section 3; commonware's `bls12381::dkg::feldman_desmedt` with `MinPk`, so
//! the key is a G1 point as `medchain_crypto::analytics` expects) over the p2p channel
//! [`channel::DKG`](crate::engine::channel::DKG). Nobody ever holds the secret; each
//! validator keeps only its share, sealed at rest ([`sealed`]).
//!
//! **Why not commonware-glue's `dkg` orchestrator.** It owns consensus: it runs one simplex
//! per epoch under the threshold scheme it registers and requires blocks that carry dealer
//! logs (`ReshareBlock`). This node runs its own `epochs` orchestrator with ed25519 votes and
//! blocks of transactions, so adopting it would replace the consensus adapter rather than add
//! a key. This module drives `Dealer` and `Player` itself, and the ledger agrees on the
//! output instead: n − f (2f+1 for n = 3f+1) byte-identical `SubmitAnalyticsKey` (`medchain_state` studies setup).
//!
//! **Protocol** (synchronous once a quorum is up, as `feldman_desmedt` assumes). Each
//! validator deals to every validator, resending a dealing every [`DKG_RESEND_INTERVAL_MS`]
//! until acknowledged. A dealer signs its log (acks, and reveals for players that did not
//! acknowledge) once every player acknowledged, or [`DKG_ACK_GRACE_MS`] after a quorum (n − f)
//! did; before a quorum is up it keeps waiting, as consensus does, so validators started
//! minutes apart all take part. It then sends its log to every peer whose log it lacks, asking
//! for theirs. A player finalizes once it holds every dealer's log, or [`DKG_LOG_GRACE_MS`]
//! after it first held a quorum of them. `Logs` picks the first quorum of valid logs in key
//! order, so players holding the same logs end with the same output; if a byzantine dealer
//! shows its log to only some, outputs can differ and the ledger adopts the one n − f
//! validators submitted.
//!
//! **Exclusion.** A player refuses a share that does not match its dealer's commitment, so that
//! dealer's log must reveal the share. A dealer whose log reveals any share is left out
//! whenever a quorum of logs reveals none: the rule reads only the logs, so every player
//! applies it alike, and no revealed share becomes part of the key.
//!
//! **Restart.** A finished round is read back from disk and never rerun. A round in progress
//! is journaled ([`journal`]): a validator restarted in the middle of it re-derives the same
//! dealing from its sealed seed, replays the dealings it acknowledged, and keeps the log it
//! signed, so it finishes with its share like the others. A validator that comes up only after
//! the others finished gets their logs in answer to its dealing and finalizes from them: its
//! share was revealed in those logs (it could not acknowledge in time), which it logs as a
//! warning.
//!
//! **Resharing.** When governance changes the validators, [`keeper`] runs a round numbered by
//! the new epoch whose dealers are the holders of the adopted key (each deals its share as the
//! constant term, `Dealer::start` with `Some(share)`) and whose players are the epoch's
//! validators; `Info` carries the previous output, so a player refuses a dealing whose constant
//! does not match the dealer's public share, and the players' shares interpolate to the same
//! secret (Desmedt and Jajodia, "Redistributing secret shares to new access structures", 1997;
//! the dealer-side check as in Wong, Wang, Wing, "Verifiable secret redistribution", 2002).
//! A holder that is not a player deals and is done ([`RoundEnd::Dealt`]); a player that did not
//! hold a share (a newcomer) only receives. Players with no log of their own ask dealers for
//! theirs (`LogRequest`).

pub mod journal;
pub mod keeper;
pub mod release;
pub mod sealed;
pub mod submit;
pub mod wire;

use commonware_codec::Encode as _;
use commonware_cryptography::bls12381::primitives::group::Share;
use commonware_cryptography::bls12381::{
    dkg::feldman_desmedt::{
        Dealer, DealerLog, DealerLogSummary, DealerPrivMsg, DealerPubMsg, Info, Logs, Output,
        Player, PlayerAck, Reveal, SignedDealerLog, observe,
    },
    primitives::{sharing::Mode, variant::MinPk},
};
use commonware_cryptography::{Signer as _, ed25519};
use commonware_p2p::{Receiver, Recipients, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::Clock;
use commonware_utils::{Faults as _, N3f1, ordered::Set};
use journal::Journal;
use medchain_crypto::keys::hpke::EncryptionSecretKey;
use medchain_types::ChainId;
use rand::CryptoRng;
use sealed::{FinishedRound, SealedError};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};
use tracing::{debug, info, warn};
use wire::DkgMessage;

/// Pause between two resends of an unacknowledged dealing or of a log a peer still lacks.
pub const DKG_RESEND_INTERVAL_MS: u64 = 1_000;
/// Once a quorum (n − f) of players acknowledged its dealing, how long a dealer waits for the
/// rest before signing its log with reveals for them. It costs nothing when every validator is
/// up (the log is signed at the last acknowledgement) and delays the key by this much when one
/// is down.
pub const DKG_ACK_GRACE_MS: u64 = 300_000;
/// Once a quorum of dealers' logs is in, how long a player waits for the rest before
/// finalizing with the quorum.
pub const DKG_LOG_GRACE_MS: u64 = 60_000;
const _: () = assert!(DKG_RESEND_INTERVAL_MS < DKG_ACK_GRACE_MS);
const _: () = assert!(DKG_RESEND_INTERVAL_MS < DKG_LOG_GRACE_MS);

type Pk = ed25519::PublicKey;

/// The round timing ([`DKG_RESEND_INTERVAL_MS`], [`DKG_ACK_GRACE_MS`], [`DKG_LOG_GRACE_MS`]).
#[derive(Clone, Copy, Debug)]
pub struct DkgTimeouts {
    pub resend: Duration,
    /// After a quorum acknowledged this dealer's dealing.
    pub acks: Duration,
    /// After this player first held a quorum of logs.
    pub logs: Duration,
}

impl Default for DkgTimeouts {
    fn default() -> Self {
        Self {
            resend: Duration::from_millis(DKG_RESEND_INTERVAL_MS),
            acks: Duration::from_millis(DKG_ACK_GRACE_MS),
            logs: Duration::from_millis(DKG_LOG_GRACE_MS),
        }
    }
}

/// The key a resharing round carries over: the output the ledger adopted for it, and this
/// node's share of it when this node deals.
#[derive(Clone)]
pub struct Previous {
    pub output: Output<MinPk, Pk>,
    /// `None` for a holder that lost its share, and for a node that holds none.
    pub share: Option<Share>,
}

/// One node's part in a round.
#[derive(Clone)]
pub struct DkgConfig {
    pub chain_id: ChainId,
    /// The round number: the epoch whose validators end with the key (0 for the genesis round).
    pub round: u64,
    pub signer: ed25519::PrivateKey,
    /// This node's X25519 key; the share is sealed to its public half.
    pub encryption: EncryptionSecretKey,
    /// Who deals, in key order: the genesis validators, or the holders of the key reshared.
    pub dealers: Set<Pk>,
    /// Who ends with a share, in key order (the ledger's account order): the epoch's validators.
    pub players: Set<Pk>,
    /// The key being reshared; `None` for the genesis round, which makes a fresh one.
    pub previous: Option<Previous>,
    /// Where finished rounds are kept (`<storage_dir>/dkg`).
    pub dir: PathBuf,
    pub timeouts: DkgTimeouts,
    /// Test only: this dealer sends `player` a share that does not match its commitment.
    #[cfg(test)]
    pub corrupt_share_for: Option<Pk>,
}

impl DkgConfig {
    /// The genesis round: every validator deals a fresh secret to every validator.
    pub fn genesis(
        chain_id: ChainId,
        signer: ed25519::PrivateKey,
        encryption: EncryptionSecretKey,
        validators: Set<Pk>,
        dir: PathBuf,
    ) -> Self {
        Self {
            chain_id,
            round: 0,
            signer,
            encryption,
            dealers: validators.clone(),
            players: validators,
            previous: None,
            dir,
            timeouts: DkgTimeouts::default(),
            #[cfg(test)]
            corrupt_share_for: None,
        }
    }

    /// A resharing round for epoch `round`: the holders of `previous` deal their shares to
    /// `players`, who end with shares of the same secret (the public key does not change).
    pub fn reshare(
        chain_id: ChainId,
        round: u64,
        signer: ed25519::PrivateKey,
        encryption: EncryptionSecretKey,
        previous: Previous,
        players: Set<Pk>,
        dir: PathBuf,
    ) -> Self {
        Self {
            chain_id,
            round,
            signer,
            encryption,
            dealers: previous.output.players().clone(),
            players,
            previous: Some(previous),
            dir,
            timeouts: DkgTimeouts::default(),
            #[cfg(test)]
            corrupt_share_for: None,
        }
    }
}

/// How this node's part in a round ended.
pub enum RoundEnd {
    /// A player: the round's output and this node's share of it.
    Share(Box<FinishedRound>),
    /// A dealer that is not a player (a validator leaving the set): it dealt its share of the
    /// previous key, and its log, kept in the journal, is served to players that lack it.
    Dealt,
}

/// Why this node cannot take part in a round.
#[derive(Debug, thiserror::Error)]
pub enum DkgError {
    #[error(
        "this node's key is neither a dealer nor a player of the round; only validators run the DKG"
    )]
    NotAParticipant,
    #[error("the DKG round cannot be set up: {0}; check the genesis validator list")]
    Setup(String),
    #[error(
        "this node's share cannot be derived from the agreed logs: {0}; its share for this round is lost, the key still forms from the others"
    )]
    Finalize(String),
    #[error(
        "this node's journal of the round in progress does not replay: {0}; remove the journal file to rejoin the round as a new participant (its dealing is then refused and its share revealed)"
    )]
    Resume(String),
    #[error("{0}")]
    Sealed(#[from] SealedError),
    #[error("the DKG p2p channel closed; the node is stopping")]
    ChannelClosed,
}

/// The round's namespace: chain-specific, so no transcript of one chain counts on another.
fn namespace(chain_id: &ChainId) -> Vec<u8> {
    format!("medchain/dkg/v1/chain/{chain_id}").into_bytes()
}

fn round_info(config: &DkgConfig) -> Result<Info<MinPk, Pk>, DkgError> {
    Info::new::<N3f1>(
        &namespace(&config.chain_id),
        config.round,
        config.previous.as_ref().map(|p| p.output.clone()),
        Mode::NonZeroCounter,
        Reveal::V1,
        config.dealers.clone(),
        config.players.clone(),
    )
    .map_err(|e| DkgError::Setup(e.to_string()))
}

/// Runs this node's part in `config.round` (or reads it back if already finished), hands the
/// result to `finished`, then keeps answering peers that still lack this node's log, until
/// the channel closes.
pub async fn run<E, S, R>(
    mut context: E,
    config: DkgConfig,
    mut sender: S,
    mut receiver: R,
    finished: futures::channel::oneshot::Sender<RoundEnd>,
) -> Result<(), DkgError>
where
    E: Clock + CryptoRng,
    S: Sender<PublicKey = Pk>,
    R: Receiver<PublicKey = Pk>,
{
    let stored = sealed::load(
        &config.dir,
        &config.chain_id,
        config.round,
        &config.encryption,
    )?;
    let end = match stored {
        Some(done) => {
            info!(
                round = config.round,
                "DKG round already finished; share read back from disk"
            );
            // A crash between storing the round and removing its journal leaves the journal.
            Journal::remove(&config.dir, config.round)?;
            RoundEnd::Share(Box::new(done))
        }
        None => {
            let journal = Journal::load(
                &config.dir,
                &config.chain_id,
                config.round,
                &config.encryption,
            )?;
            let end = run_round(&mut context, &config, &mut sender, &mut receiver, journal).await?;
            if let RoundEnd::Share(done) = &end {
                let recipient = config.encryption.public_key();
                sealed::store(
                    &mut context,
                    &config.dir,
                    &config.chain_id,
                    config.round,
                    &recipient,
                    done,
                )?;
                Journal::remove(&config.dir, config.round)?;
            }
            end
        }
    };
    let log = match &end {
        RoundEnd::Share(done) => done.log.clone(),
        // A dealer that is not a player keeps its journal, whose log it serves after a restart.
        RoundEnd::Dealt => Journal::load(
            &config.dir,
            &config.chain_id,
            config.round,
            &config.encryption,
        )?
        .and_then(|journal| journal.log),
    };
    let _ = finished.send(end);
    serve(config.round, log, &mut sender, &mut receiver).await
}

/// After the round: answers a peer's request for this node's log.
async fn serve<S, R>(
    round: u64,
    log: Option<SignedDealerLog<MinPk, Pk>>,
    sender: &mut S,
    receiver: &mut R,
) -> Result<(), DkgError>
where
    S: Sender<PublicKey = Pk>,
    R: Receiver<PublicKey = Pk>,
{
    loop {
        let (from, bytes) = receiver.recv().await.map_err(|_| DkgError::ChannelClosed)?;
        let Some(message) = decode(&from, bytes.as_ref()) else {
            continue;
        };
        // A peer asking for this node's log, or dealing in a round this node has finished (it
        // came up late): either way it needs this node's log to finalize.
        let wants_log = matches!(
            message,
            DkgMessage::Log { reply: true, .. }
                | DkgMessage::LogRequest { .. }
                | DkgMessage::Dealing { .. }
        );
        if let (true, Some(log)) = (wants_log, &log)
            && message.round() == round
        {
            let answer = DkgMessage::Log {
                round,
                log: Box::new(log.clone()),
                reply: false,
            };
            send(sender, from, &answer);
        }
    }
}

/// Decodes a peer's message; a malformed or oversized one is dropped and logged.
fn decode(from: &Pk, bytes: &[u8]) -> Option<DkgMessage> {
    match DkgMessage::decode_bounded(bytes) {
        Ok(message) => Some(message),
        Err(e) => {
            warn!(peer = %hex::encode(from.as_ref()), bytes = bytes.len(), error = %e, "dropped a malformed DKG message");
            None
        }
    }
}

fn send<S: Sender<PublicKey = Pk>>(sender: &mut S, to: Pk, message: &DkgMessage) {
    // A send that finds the peer unreachable is retried by the next resend, so its result is
    // not needed here.
    let _ = sender.send(Recipients::One(to), message.encode(), false);
}

async fn run_round<E, S, R>(
    context: &mut E,
    config: &DkgConfig,
    sender: &mut S,
    receiver: &mut R,
    journal: Option<Journal>,
) -> Result<RoundEnd, DkgError>
where
    E: Clock + CryptoRng,
    S: Sender<PublicKey = Pk>,
    R: Receiver<PublicKey = Pk>,
{
    let resumed = journal.is_some();
    let mut round = Round::start(&mut *context, config, journal)?;
    info!(
        round = config.round,
        dealers = config.dealers.len(),
        players = config.players.len(),
        reshare = config.previous.is_some(),
        deals = round.dealing.is_some(),
        plays = round.playing.is_some(),
        resumed,
        "DKG round started"
    );
    loop {
        for (to, message) in round.tick(context.current())? {
            send(sender, to, &message);
        }
        let now = context.current();
        if let Some(end) = round.try_finish(&mut *context, now)? {
            match &end {
                RoundEnd::Share(done) => info!(
                    round = config.round,
                    dealers = done.output.dealers().len(),
                    "DKG round finished"
                ),
                RoundEnd::Dealt => info!(
                    round = config.round,
                    "DKG round dealt: this node's share went to the new validators"
                ),
            }
            return Ok(end);
        }
        commonware_macros::select! {
            _ = context.sleep(config.timeouts.resend) => {},
            received = receiver.recv() => {
                let (from, bytes) = received.map_err(|_| DkgError::ChannelClosed)?;
                let Some(message) = decode(&from, bytes.as_ref()) else {
                    continue;
                };
                if message.round() != config.round {
                    debug!(peer = %hex::encode(from.as_ref()), round = message.round(), "dropped a DKG message of another round");
                    continue;
                }
                for (to, answer) in round.on_message(from, message)? {
                    send(sender, to, &answer);
                }
            },
        }
    }
}

/// Where and how a round's [`Journal`] is written.
struct JournalStore {
    dir: PathBuf,
    chain_id: ChainId,
    round: u64,
    recipient: medchain_crypto::keys::hpke::EncryptionPublicKey,
    /// For the sealing's ephemeral keys, drawn once from the node's generator.
    rng: medchain_crypto::rng::SeededRng,
}

impl JournalStore {
    fn write(&mut self, journal: &Journal) -> Result<(), DkgError> {
        journal.store(
            &mut self.rng,
            &self.dir,
            &self.chain_id,
            self.round,
            &self.recipient,
        )?;
        Ok(())
    }
}

/// This node's part as a dealer.
struct Dealing {
    /// `None` once this dealer signed its log.
    dealer: Option<Dealer<MinPk, ed25519::PrivateKey>>,
    public: DealerPubMsg<MinPk>,
    private: BTreeMap<Pk, DealerPrivMsg>,
    /// Players that acknowledged this node's dealing.
    acked: BTreeSet<Pk>,
    /// When a quorum of players had acknowledged it.
    quorum_acked_at: Option<SystemTime>,
}

/// This node's part as a player.
struct Playing {
    /// `None` once finalized.
    player: Option<Player<MinPk, ed25519::PrivateKey>>,
    /// This player's ack to each dealer, resent when a dealer resends its dealing.
    acks: BTreeMap<Pk, PlayerAck<Pk>>,
    /// When this player first held a quorum of logs.
    quorum_logs_at: Option<SystemTime>,
    /// How many logs the last failed finalization attempt had, so it is not retried unchanged.
    attempted_with: usize,
}

/// One round in progress, as dealer, player, or both.
struct Round {
    round: u64,
    info: Info<MinPk, Pk>,
    dealers: Set<Pk>,
    players: Set<Pk>,
    me: Pk,
    timeouts: DkgTimeouts,
    /// Acknowledgements a dealer needs before its grace starts: a quorum (n − f) of players.
    ack_quorum: usize,
    /// Logs a player needs: a quorum of dealers, and of the previous key's holders when
    /// resharing (commonware's `required_commitments`).
    log_quorum: usize,
    /// `None` when this node does not deal (not a dealer, or a holder without its share).
    dealing: Option<Dealing>,
    /// `None` when this node is not a player.
    playing: Option<Playing>,
    /// Checked logs, by dealer.
    logs: BTreeMap<Pk, DealerLog<MinPk, Pk>>,
    my_log: Option<SignedDealerLog<MinPk, Pk>>,
    journal: Journal,
    store: JournalStore,
}

impl Round {
    /// Starts this node's part, or resumes it from `journal`: the same dealing (from the
    /// journaled seed), the acknowledged dealings replayed, the signed log kept.
    fn start(
        rng: &mut impl CryptoRng,
        config: &DkgConfig,
        journal: Option<Journal>,
    ) -> Result<Self, DkgError> {
        let me = config.signer.public_key();
        let is_dealer = config.dealers.position(&me).is_some();
        let is_player = config.players.position(&me).is_some();
        if !is_dealer && !is_player {
            return Err(DkgError::NotAParticipant);
        }
        let info = round_info(config)?;
        let setup = |e: commonware_cryptography::bls12381::dkg::feldman_desmedt::Error| {
            DkgError::Setup(e.to_string())
        };
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let mut store = JournalStore {
            dir: config.dir.clone(),
            chain_id: config.chain_id,
            round: config.round,
            recipient: config.encryption.public_key(),
            rng: medchain_crypto::rng::seeded(seed),
        };
        let journal = match journal {
            Some(journal) => journal,
            None => {
                // Written before any dealing leaves, so a restart deals the same polynomial.
                let journal = Journal::fresh(&mut *rng);
                store.write(&journal)?;
                journal
            }
        };
        let share = match &config.previous {
            None => Some(None),
            Some(Previous { share: Some(s), .. }) => Some(Some(s.clone())),
            Some(Previous { share: None, .. }) => None,
        };
        let dealing = match (is_dealer, share) {
            (true, Some(share)) => {
                let (dealer, public, private) = Dealer::start::<N3f1>(
                    journal.dealer_rng(),
                    info.clone(),
                    config.signer.clone(),
                    share,
                )
                .map_err(setup)?;
                #[allow(unused_mut)]
                let mut private: BTreeMap<Pk, DealerPrivMsg> = private.into_iter().collect();
                #[cfg(test)]
                if let Some(victim) = &config.corrupt_share_for {
                    use commonware_math::algebra::Random as _;
                    let bad = commonware_cryptography::bls12381::primitives::group::Scalar::random(
                        &mut *rng,
                    );
                    private.insert(victim.clone(), DealerPrivMsg::new(bad));
                }
                Some(Dealing {
                    dealer: Some(dealer),
                    public,
                    private,
                    acked: BTreeSet::new(),
                    quorum_acked_at: None,
                })
            }
            (true, None) => {
                warn!(
                    round = config.round,
                    "this validator holds no share of the key being reshared, so it cannot deal; the others' dealings carry the key"
                );
                None
            }
            (false, _) => None,
        };
        let playing = if !is_player {
            None
        } else if journal.dealings.is_empty() {
            let player = Player::new(info.clone(), config.signer.clone()).map_err(setup)?;
            Some(Playing {
                player: Some(player),
                acks: BTreeMap::new(),
                quorum_logs_at: None,
                attempted_with: 0,
            })
        } else {
            let replayed = journal.dealings.iter().map(|(dealer, (public, private))| {
                (dealer.clone(), public.clone(), private.clone())
            });
            let (player, acks) = Player::resume::<N3f1>(
                info.clone(),
                config.signer.clone(),
                &BTreeMap::new(),
                replayed,
            )
            .map_err(|e| DkgError::Resume(e.to_string()))?;
            Some(Playing {
                player: Some(player),
                acks,
                quorum_logs_at: None,
                attempted_with: 0,
            })
        };
        let previous_quorum = config
            .previous
            .as_ref()
            .map_or(0, |p| p.output.quorum::<N3f1>() as usize);
        let mut round = Self {
            round: config.round,
            info,
            dealers: config.dealers.clone(),
            players: config.players.clone(),
            me: me.clone(),
            timeouts: config.timeouts,
            ack_quorum: N3f1::quorum(config.players.len()) as usize,
            log_quorum: (N3f1::quorum(config.dealers.len()) as usize).max(previous_quorum),
            dealing,
            playing,
            logs: BTreeMap::new(),
            my_log: None,
            journal,
            store,
        };
        if let Some(signed) = round.journal.log.clone() {
            let (dealer, log) = signed
                .clone()
                .check(&round.info)
                .filter(|(dealer, _)| *dealer == me)
                .ok_or_else(|| {
                    DkgError::Resume("the journaled log is not this dealer's".to_string())
                })?;
            if let Some(dealing) = round.dealing.as_mut() {
                dealing.dealer = None;
            }
            round.logs.insert(dealer, log);
            round.my_log = Some(signed);
        } else if round.dealing.is_some() && round.playing.is_some() {
            let own_ack = round
                .playing
                .as_ref()
                .and_then(|p| p.acks.get(&me).cloned());
            if let Some(ack) = own_ack {
                round.on_ack(me, ack);
            } else {
                // This node is its own first player.
                let dealing = round.dealing.as_ref().expect("checked above");
                let (public, own) = (dealing.public.clone(), dealing.private[&me].clone());
                let _ = round.on_dealing(me, public, own)?;
            }
        }
        Ok(round)
    }

    /// What to (re)send now: unacknowledged dealings; this node's log, once signed, to dealers
    /// whose log is missing; a request for each missing log while this player has no log of
    /// its own to offer.
    fn tick(&mut self, now: SystemTime) -> Result<Vec<(Pk, DkgMessage)>, DkgError> {
        let mut out = Vec::new();
        if let Some(dealing) = self.dealing.as_mut() {
            if dealing.quorum_acked_at.is_none() && dealing.acked.len() >= self.ack_quorum {
                dealing.quorum_acked_at = Some(now);
            }
            let all_acked = dealing.acked.len() == self.players.len();
            let grace_over = dealing
                .quorum_acked_at
                .is_some_and(|at| now >= at + self.timeouts.acks);
            if dealing.dealer.is_some() && (all_acked || grace_over) {
                self.sign_log()?;
            }
        }
        if let Some(dealing) = &self.dealing
            && dealing.dealer.is_some()
        {
            for (player, private) in &dealing.private {
                if !dealing.acked.contains(player) {
                    let message = DkgMessage::Dealing {
                        round: self.round,
                        public: dealing.public.clone(),
                        private: private.clone(),
                    };
                    out.push((player.clone(), message));
                }
            }
        }
        let still_playing = self.playing.as_ref().is_some_and(|p| p.player.is_some());
        for dealer in self.dealers.iter() {
            if *dealer == self.me || self.logs.contains_key(dealer) {
                continue;
            }
            let message = match &self.my_log {
                Some(log) => DkgMessage::Log {
                    round: self.round,
                    log: Box::new(log.clone()),
                    reply: true,
                },
                None if still_playing => DkgMessage::LogRequest { round: self.round },
                None => continue,
            };
            out.push((dealer.clone(), message));
        }
        Ok(out)
    }

    /// Signs this dealer's log and journals it before it is sent anywhere.
    fn sign_log(&mut self) -> Result<(), DkgError> {
        let Some(dealer) = self.dealing.as_mut().and_then(|d| d.dealer.take()) else {
            return Ok(());
        };
        let signed = dealer.finalize::<N3f1>();
        let (dealer, log) = signed
            .clone()
            .check(&self.info)
            .expect("a log this node just signed checks");
        assert_eq!(dealer, self.me, "this node signs its own log");
        if let DealerLogSummary::Ok { reveals, .. } = log.summary()
            && !reveals.is_empty()
        {
            warn!(
                round = self.round,
                reveals = reveals.len(),
                "signed the DKG log with reveals: some players did not acknowledge this node's dealing in time"
            );
        }
        self.journal.log = Some(signed.clone());
        self.store.write(&self.journal)?;
        self.logs.insert(dealer, log);
        self.my_log = Some(signed);
        Ok(())
    }

    fn on_message(
        &mut self,
        from: Pk,
        message: DkgMessage,
    ) -> Result<Vec<(Pk, DkgMessage)>, DkgError> {
        Ok(match message {
            DkgMessage::Dealing {
                public, private, ..
            } => self
                .on_dealing(from.clone(), public, private)?
                .map(|ack| {
                    let message = DkgMessage::Ack {
                        round: self.round,
                        ack,
                    };
                    vec![(from, message)]
                })
                .unwrap_or_default(),
            DkgMessage::Ack { ack, .. } => {
                self.on_ack(from, ack);
                Vec::new()
            }
            DkgMessage::Log { log, reply, .. } => self.on_log(from, *log, reply),
            DkgMessage::LogRequest { .. } => self.answer_with_log(from),
        })
    }

    /// Checks a dealing against its commitment and journals it before acknowledging it;
    /// answers the ack again for a resent one.
    fn on_dealing(
        &mut self,
        dealer: Pk,
        public: DealerPubMsg<MinPk>,
        private: DealerPrivMsg,
    ) -> Result<Option<PlayerAck<Pk>>, DkgError> {
        let Some(playing) = self.playing.as_mut() else {
            debug!(round = self.round, dealer = %hex::encode(dealer.as_ref()), "dropped a DKG dealing: this node is not a player of the round");
            return Ok(None);
        };
        let Some(player) = playing.player.as_mut() else {
            return Ok(None);
        };
        let kept = (public.clone(), private.clone());
        match player.dealer_message::<N3f1>(dealer.clone(), public, private) {
            Ok(Some(ack)) => {
                playing.acks.insert(dealer.clone(), ack.clone());
                self.journal.dealings.insert(dealer.clone(), kept);
                self.store.write(&self.journal)?;
                if dealer == self.me {
                    self.on_ack(dealer, ack.clone());
                }
                Ok(Some(ack))
            }
            Ok(None) => Ok(playing.acks.get(&dealer).cloned()),
            Err(e) => {
                warn!(round = self.round, dealer = %hex::encode(dealer.as_ref()), error = %e, "refused a DKG dealing: not acknowledging it, so its dealer must reveal the share and is left out of the key");
                Ok(None)
            }
        }
    }

    fn on_ack(&mut self, player: Pk, ack: PlayerAck<Pk>) {
        let Some(dealing) = self.dealing.as_mut() else {
            return;
        };
        let Some(dealer) = dealing.dealer.as_mut() else {
            return;
        };
        match dealer.receive_player_ack(player.clone(), ack) {
            Ok(()) => {
                dealing.acked.insert(player);
            }
            Err(e) => {
                warn!(round = self.round, player = %hex::encode(player.as_ref()), error = %e, "dropped a DKG acknowledgement");
            }
        }
    }

    /// Keeps a log signed by one of the round's dealers (relayed or not); answers with this
    /// node's log when asked.
    fn on_log(
        &mut self,
        from: Pk,
        signed: SignedDealerLog<MinPk, Pk>,
        reply: bool,
    ) -> Vec<(Pk, DkgMessage)> {
        match signed.check(&self.info) {
            Some((dealer, log)) if self.dealers.position(&dealer).is_some() => {
                self.logs.entry(dealer).or_insert(log);
            }
            _ => {
                warn!(round = self.round, peer = %hex::encode(from.as_ref()), "dropped a DKG log that is not signed by one of the round's dealers");
            }
        }
        if reply {
            self.answer_with_log(from)
        } else {
            Vec::new()
        }
    }

    /// This node's log for a peer that asked for it, once signed.
    fn answer_with_log(&self, to: Pk) -> Vec<(Pk, DkgMessage)> {
        match &self.my_log {
            Some(log) => vec![(
                to,
                DkgMessage::Log {
                    round: self.round,
                    log: Box::new(log.clone()),
                    reply: false,
                },
            )],
            None => Vec::new(),
        }
    }
}

impl Round {
    /// A dealer that is not a player is done once its log is signed. A player finalizes once
    /// every dealer's log is in, or [`DkgTimeouts::logs`] after a quorum of them was; a failed
    /// attempt is retried only when more logs arrive.
    fn try_finish(
        &mut self,
        rng: &mut impl CryptoRng,
        now: SystemTime,
    ) -> Result<Option<RoundEnd>, DkgError> {
        let have = self.logs.len();
        let Some(playing) = self.playing.as_mut() else {
            return Ok(self.my_log.is_some().then_some(RoundEnd::Dealt));
        };
        if playing.quorum_logs_at.is_none() && have >= self.log_quorum {
            playing.quorum_logs_at = Some(now);
        }
        let waited = playing
            .quorum_logs_at
            .is_some_and(|at| now >= at + self.timeouts.logs);
        let ready = have == self.dealers.len() || waited;
        if !ready || have == playing.attempted_with || playing.player.is_none() {
            return Ok(None);
        }
        playing.attempted_with = have;
        let logs = self.selected_logs();
        // `observe` tells whether these logs make an output without consuming the player, so
        // a failure leaves it ready for more logs.
        if let Err(e) = observe::<MinPk, Pk, N3f1>(&mut *rng, logs.clone(), &Sequential) {
            warn!(round = self.round, logs = have, error = %e, "the DKG logs received so far do not make a key; waiting for more");
            return Ok(None);
        }
        let player = self
            .playing
            .as_mut()
            .and_then(|p| p.player.take())
            .expect("checked above");
        let (output, share) = player
            .finalize::<N3f1>(&mut *rng, logs, &Sequential)
            .map_err(|e| DkgError::Finalize(e.to_string()))?;
        if output.revealed().position(&self.me).is_some() {
            warn!(
                round = self.round,
                "this validator's share of the analytics key was revealed in the dealers' logs (it did not acknowledge their dealings in time, e.g. it came up after the round): it counts as one of the key's faulty holders until the key is reshared"
            );
        }
        Ok(Some(RoundEnd::Share(Box::new(FinishedRound {
            output,
            share,
            log: self.my_log.clone(),
        }))))
    }

    /// The logs to finalize with: only those revealing no share when enough of them do (a
    /// reveal means a dealer sent a bad share or a player did not acknowledge), else all.
    fn selected_logs(&self) -> Logs<MinPk, Pk, N3f1> {
        let clean: Vec<(&Pk, &DealerLog<MinPk, Pk>)> = self
            .logs
            .iter()
            .filter(|(_, log)| {
                matches!(log.summary(), DealerLogSummary::Ok { reveals, .. } if reveals.is_empty())
            })
            .collect();
        let chosen: Vec<(&Pk, &DealerLog<MinPk, Pk>)> = if clean.len() >= self.log_quorum {
            clean
        } else {
            self.logs.iter().collect()
        };
        let mut logs = Logs::new(self.info.clone());
        for (dealer, log) in chosen {
            logs.record(dealer.clone(), log.clone());
        }
        logs
    }
}

/// What a validator submits in `SubmitAnalyticsKey`: the whole public output, which the next
/// resharing round's transcript commits to and new validators read from the ledger.
pub fn analytics_key_output(output: &Output<MinPk, Pk>) -> Vec<u8> {
    output.encode().to_vec()
}

#[cfg(test)]
mod tests;
