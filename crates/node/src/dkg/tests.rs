//! Four validators run the genesis DKG over commonware's simulated p2p network in the
//! deterministic runtime. Replay a failure with `MEDCHAIN_SIM_SEED=<seed>`.

use super::*;
use crate::engine::channel;
use commonware_p2p::{
    Manager as _,
    simulated::{self, Link, Network, Oracle},
};
use commonware_runtime::{Quota, Runner as _, Spawner as _, Supervisor as _, deterministic};
use commonware_utils::{NZU32, NZUsize, TryCollect as _, probability};
use medchain_crypto::analytics::{
    Ciphertext, ProofContext,
    dlog::DiscreteLogTable,
    threshold::{AnalyticsKey, PartialDecryption, decrypt},
};

const VALIDATORS: usize = 4;
/// Simulated time after which a run that has not finished fails.
const RUN_TIMEOUT: Duration = Duration::from_secs(1_800);
/// Shorter graces than a deployment's, so rounds with a silent participant end quickly.
const TEST_TIMEOUTS: DkgTimeouts = DkgTimeouts {
    resend: Duration::from_secs(1),
    acks: Duration::from_secs(20),
    logs: Duration::from_secs(20),
};
/// The value encrypted under the formed key and decrypted by threshold.
const SECRET_VALUE: u64 = 1_234;

fn seed() -> u64 {
    let seed = std::env::var("MEDCHAIN_SIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x0064_6b67);
    println!("simulation seed: {seed} (replay with MEDCHAIN_SIM_SEED={seed})");
    seed
}

/// Runs `test` in the deterministic runtime under the printed (replayable) seed.
fn simulate<F, Fut>(test: F)
where
    F: FnOnce(deterministic::Context) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let config = deterministic::Config::new()
        .with_seed(seed())
        .with_timeout(Some(RUN_TIMEOUT));
    deterministic::Runner::new(config).start(test)
}

/// The finished rounds of nodes that are all players.
fn shares_of(ends: Vec<RoundEnd>) -> Vec<FinishedRound> {
    ends.into_iter()
        .map(|end| match end {
            RoundEnd::Share(done) => *done,
            RoundEnd::Dealt => panic!("every node here is a player"),
        })
        .collect()
}

fn chain_id() -> ChainId {
    ChainId([7; 32])
}

struct Validator {
    signer: ed25519::PrivateKey,
    encryption: EncryptionSecretKey,
    dir: tempfile::TempDir,
}

fn validators() -> Vec<Validator> {
    (0..VALIDATORS as u64)
        .map(|i| Validator {
            signer: ed25519::PrivateKey::from_seed(i),
            encryption: EncryptionSecretKey::derive(&[i as u8 + 1; 32]).0,
            dir: tempfile::tempdir().expect("a temporary directory"),
        })
        .collect()
}

fn validator_set(validators: &[Validator]) -> Set<Pk> {
    validators
        .iter()
        .map(|v| v.signer.public_key())
        .try_collect()
        .expect("distinct keys")
}

fn dkg_config(validators: &[Validator], index: usize, corrupt_share_for: Option<Pk>) -> DkgConfig {
    let v = &validators[index];
    DkgConfig {
        timeouts: TEST_TIMEOUTS,
        corrupt_share_for,
        ..DkgConfig::genesis(
            chain_id(),
            v.signer.clone(),
            v.encryption.clone(),
            validator_set(validators),
            v.dir.path().to_path_buf(),
        )
    }
}

/// The public sharing of an output, as the threshold module reads it.
fn analytics_key_bytes(output: &Output<MinPk, Pk>) -> Vec<u8> {
    output.public().encode().to_vec()
}

async fn network(
    context: &deterministic::Context,
    label: &'static str,
    keys: &Set<Pk>,
) -> Oracle<Pk, deterministic::Context> {
    let (network, oracle) = Network::<_, Pk>::new(
        context.child(label),
        simulated::Config {
            max_size: crate::engine::max_message_size(),
            max_peers_per_set: std::num::NonZeroUsize::new(keys.len()).expect("some peers"),
            disconnect_on_block: false,
            tracked_peer_sets: NZUsize!(1),
        },
    );
    network.start();
    oracle.manager().track(0, keys.clone());
    let link = Link {
        latency: Duration::from_millis(20),
        jitter: Duration::from_millis(10),
        success_rate: probability!(0.9),
    };
    for from in keys.iter() {
        for to in keys.iter().filter(|to| *to != from) {
            oracle
                .add_link(from.clone(), to.clone(), link.clone())
                .await
                .expect("a fresh link between two simulated peers");
        }
    }
    oracle
}

/// When a validator's part runs: it starts `start` into the run; with `crash = (after, down)`
/// it is stopped `after` its start, asserted to have left a journal (so the crash is in the
/// middle of the round), and started again from its directory `down` later.
#[derive(Clone, Copy, Default)]
struct Schedule {
    start: Duration,
    crash: Option<(Duration, Duration)>,
}

/// Runs every validator's part; `bad = (dealer, victim)` makes that dealer send the victim a
/// bad share. Returns each validator's finished round, in validator order.
async fn run_round_of(
    context: &deterministic::Context,
    validators: &[Validator],
    bad: Option<(usize, usize)>,
) -> Vec<FinishedRound> {
    let schedules = vec![Schedule::default(); validators.len()];
    run_scheduled(context, validators, bad, &schedules, TEST_TIMEOUTS).await
}

async fn run_scheduled(
    context: &deterministic::Context,
    validators: &[Validator],
    bad: Option<(usize, usize)>,
    schedules: &[Schedule],
    timeouts: DkgTimeouts,
) -> Vec<FinishedRound> {
    let configs = (0..validators.len())
        .map(|index| {
            let victim = bad
                .filter(|(dealer, _)| *dealer == index)
                .map(|(_, victim)| validators[victim].signer.public_key());
            let mut config = dkg_config(validators, index, victim);
            config.timeouts = timeouts;
            config
        })
        .collect();
    shares_of(run_configs(context, "network", configs, schedules).await)
}

/// Runs each config's part on a fresh simulated network named `label`; returns how each
/// ended, in config order.
async fn run_configs(
    context: &deterministic::Context,
    label: &'static str,
    configs: Vec<DkgConfig>,
    schedules: &[Schedule],
) -> Vec<RoundEnd> {
    let keys: Set<Pk> = configs
        .iter()
        .map(|c| c.signer.public_key())
        .try_collect()
        .expect("distinct keys");
    let oracle = network(context, label, &keys).await;
    let mut results = Vec::new();
    for (config, schedule) in configs.into_iter().zip(schedules.iter().copied()) {
        let control = oracle.control(config.signer.public_key());
        let (result, finished) = futures::channel::oneshot::channel();
        context.child("validator").spawn(move |context| async move {
            let start = |context: deterministic::Context, config: DkgConfig| {
                let control = control.clone();
                async move {
                    // A restarted node registers the channel again, as a fresh process would.
                    let (sender, receiver) = control
                        .register(channel::DKG, Quota::per_second(NZU32!(1_000)))
                        .await
                        .expect("the DKG channel registers");
                    let (done, finished) = futures::channel::oneshot::channel();
                    let handle = context.child("dkg").spawn(move |context| async move {
                        let _ = run(context, config, sender, receiver, done).await;
                    });
                    (handle, finished)
                }
            };
            context.sleep(schedule.start).await;
            let (handle, mut finished) = start(context.child("first"), config.clone()).await;
            if let Some((after, down)) = schedule.crash {
                context.sleep(after).await;
                handle.abort();
                assert!(
                    journal::journal_path(&config.dir, config.round).exists()
                        && !sealed::round_path(&config.dir, config.round).exists(),
                    "the crash is in the middle of the round"
                );
                context.sleep(down).await;
                finished = start(context.child("restarted"), config).await.1;
            }
            let _ = result.send(finished.await.expect("the node finishes the round"));
            // The node keeps serving its log to peers still in the round: its task is this
            // one's child and would stop with it.
            futures::future::pending::<()>().await;
        });
        results.push(finished);
    }
    let mut out = Vec::new();
    for finished in results {
        out.push(finished.await.expect("every node finishes the round"));
    }
    out
}

/// All validators agree on the output and hold distinct shares, and any quorum of them
/// decrypts a lifted-ElGamal ciphertext under the key.
fn assert_key_works(rounds: &[FinishedRound], rng: &mut impl CryptoRng) -> AnalyticsKey {
    let sharing = analytics_key_bytes(&rounds[0].output);
    for round in rounds {
        assert_eq!(
            analytics_key_bytes(&round.output),
            sharing,
            "one output for all"
        );
    }
    let shares: BTreeSet<Vec<u8>> = rounds.iter().map(|r| r.share.encode().to_vec()).collect();
    assert_eq!(
        shares.len(),
        VALIDATORS,
        "every validator holds its own share"
    );
    let key = AnalyticsKey::from_bytes(&sharing, wire::DKG_PARTICIPANTS_MAX)
        .expect("the output is a sharing the ledger accepts");
    assert_eq!(key.total() as usize, VALIDATORS);
    assert_eq!(key.required(), 3, "2f+1 = 3 of 4 validators decrypt");
    let (ciphertext, _) = Ciphertext::encrypt(rng, &key.public_key(), SECRET_VALUE);
    let context = ProofContext {
        chain_id: b"medchain-test",
        study_id: b"study-1",
        key_image: None,
    };
    let table = DiscreteLogTable::new(10_000).expect("a small bound");
    let partials: Vec<PartialDecryption> = rounds
        .iter()
        .map(|r| PartialDecryption::new(rng, &r.share, &ciphertext, &context).expect("valid"))
        .collect();
    // The last three, then the first three: any quorum gives the value.
    for quorum in [&partials[1..], &partials[..3]] {
        let (value, _) = decrypt(&key, &ciphertext, &context, quorum, &table)
            .expect("a quorum of valid partials decrypts");
        assert_eq!(value, SECRET_VALUE);
    }
    let too_few = decrypt(&key, &ciphertext, &context, &partials[..2], &table);
    assert!(too_few.is_err(), "two of four shares reveal nothing");
    key
}

#[test]
fn four_validators_form_one_key_that_decrypts_by_threshold() {
    let validators = validators();
    simulate(|mut context| async move {
        let rounds = run_round_of(&context, &validators, None).await;
        assert_key_works(&rounds, &mut context);
        // The key sums the first quorum of valid logs in key order.
        let first_three: Vec<Pk> = validator_set(&validators).iter().take(3).cloned().collect();
        for round in &rounds {
            let dealers: Vec<Pk> = round.output.dealers().iter().cloned().collect();
            assert_eq!(dealers, first_three, "the first 2f+1 dealers in key order");
            assert!(round.output.revealed().is_empty(), "no share was revealed");
        }
    });
}

/// The output of one whole round under `seed`.
fn key_under(seed: u64) -> Vec<u8> {
    let validators = validators();
    let config = deterministic::Config::new()
        .with_seed(seed)
        .with_timeout(Some(RUN_TIMEOUT));
    deterministic::Runner::new(config).start(|context| async move {
        let rounds = run_round_of(&context, &validators, None).await;
        analytics_key_bytes(&rounds[0].output)
    })
}

#[test]
fn the_same_seed_replays_the_same_key_and_another_seed_does_not() {
    let seed = seed();
    let first = key_under(seed);
    assert_eq!(key_under(seed), first, "a failing seed can be replayed");
    assert_ne!(
        key_under(seed.wrapping_add(1)),
        first,
        "the key comes from the run's randomness"
    );
}

#[test]
fn a_dealer_sending_a_bad_share_is_left_out_and_the_key_still_forms() {
    let validators = validators();
    // The dealer first in key order: without the exclusion rule its log would be selected.
    let first = validator_set(&validators)
        .iter()
        .next()
        .cloned()
        .expect("four keys");
    let bad_dealer = validators
        .iter()
        .position(|v| v.signer.public_key() == first)
        .expect("one of them");
    let victim = (bad_dealer + 1) % VALIDATORS;
    simulate(|mut context| async move {
        let rounds = run_round_of(&context, &validators, Some((bad_dealer, victim))).await;
        assert_key_works(&rounds, &mut context);
        let bad = validators[bad_dealer].signer.public_key();
        for round in &rounds {
            let dealers = round.output.dealers();
            let expected: Vec<Pk> = validator_set(&validators)
                .iter()
                .filter(|k| **k != bad)
                .cloned()
                .collect();
            let got: Vec<Pk> = dealers.iter().cloned().collect();
            assert_eq!(
                got, expected,
                "the three honest dealers, without the bad one"
            );
            assert!(
                dealers.position(&bad).is_none(),
                "the bad dealer is excluded"
            );
            assert!(
                round.output.revealed().is_empty(),
                "no revealed share is in the key"
            );
        }
    });
}

#[test]
fn a_finished_round_is_read_back_after_a_restart_and_not_rerun() {
    let validators = validators();
    simulate(|context| async move {
        let rounds = run_round_of(&context, &validators, None).await;
        let v = &validators[1];
        let path = sealed::round_path(v.dir.path(), 0);
        let on_disk = std::fs::read(&path).expect("the round file exists");
        let share = rounds[1].share.encode();
        assert!(
            !on_disk.windows(share.len()).any(|w| w == share.as_ref()),
            "the share is not on disk in the clear"
        );
        // A restarted node with no peers at all: it can only finish by reading the file.
        let (network, oracle) = Network::<_, Pk>::new(
            context.child("restarted_network"),
            simulated::Config {
                max_size: crate::engine::max_message_size(),
                max_peers_per_set: NZUsize!(VALIDATORS),
                disconnect_on_block: false,
                tracked_peer_sets: NZUsize!(1),
            },
        );
        network.start();
        let (sender, receiver) = oracle
            .control(v.signer.public_key())
            .register(channel::DKG, Quota::per_second(NZU32!(1_000)))
            .await
            .expect("registered once");
        let (done, finished) = futures::channel::oneshot::channel();
        let restarted = dkg_config(&validators, 1, None);
        context.child("restarted").spawn(move |context| async move {
            let _ = run(context, restarted, sender, receiver, done).await;
        });
        let RoundEnd::Share(again) = finished
            .await
            .expect("the restarted node reads its round back")
        else {
            panic!("a genesis validator is a player");
        };
        assert_eq!(again.output, rounds[1].output);
        assert_eq!(again.share, rounds[1].share);
        assert_eq!(
            std::fs::read(&path).expect("still there"),
            on_disk,
            "not rewritten"
        );
    });
}

/// The validator whose key comes first: its log is among the first quorum the output takes.
fn first_in_key_order(validators: &[Validator]) -> usize {
    let first = validator_set(validators)
        .iter()
        .next()
        .cloned()
        .expect("four keys");
    validators
        .iter()
        .position(|v| v.signer.public_key() == first)
        .expect("one of them")
}

#[test]
fn a_validator_restarted_in_the_middle_of_the_round_resumes_it_and_keeps_its_share() {
    let validators = validators();
    let restarted = first_in_key_order(&validators);
    let late = (restarted + 1) % VALIDATORS;
    // Nobody can finish before the last validator is up at 10 s, so the crash at 3 s falls
    // after the restarted node dealt and acknowledged, and before any log is signed.
    let mut schedules = vec![Schedule::default(); VALIDATORS];
    schedules[restarted].crash = Some((Duration::from_secs(3), Duration::from_secs(3)));
    schedules[late].start = Duration::from_secs(10);
    simulate(|mut context| async move {
        let rounds = run_scheduled(&context, &validators, None, &schedules, TEST_TIMEOUTS).await;
        assert_key_works(&rounds, &mut context);
        let first_three: Vec<Pk> = validator_set(&validators).iter().take(3).cloned().collect();
        for round in &rounds {
            let dealers: Vec<Pk> = round.output.dealers().iter().cloned().collect();
            assert_eq!(
                dealers, first_three,
                "the restarted dealer's dealing is the one its peers acknowledged"
            );
            assert!(round.output.revealed().is_empty(), "no share was revealed");
        }
        for v in &validators {
            assert!(
                !journal::journal_path(v.dir.path(), 0).exists(),
                "a finished round leaves no journal"
            );
        }
    });
}

#[test]
fn validators_started_minutes_apart_all_take_part_with_no_share_revealed() {
    let validators = validators();
    let mut schedules = vec![Schedule::default(); VALIDATORS];
    schedules[3].start = Duration::from_secs(120);
    schedules[1].start = Duration::from_secs(45);
    simulate(|mut context| async move {
        let rounds = run_scheduled(
            &context,
            &validators,
            None,
            &schedules,
            DkgTimeouts::default(),
        )
        .await;
        assert_key_works(&rounds, &mut context);
        for round in &rounds {
            assert_eq!(round.output.dealers().len(), 3, "a quorum of clean logs");
            assert!(
                round.output.revealed().is_empty(),
                "the last validator, up two minutes after the first, was not counted out"
            );
        }
    });
}

#[test]
fn a_validator_up_only_after_the_round_gets_the_key_from_the_logs_and_knows_its_share_was_revealed()
{
    let validators = validators();
    let late = 2;
    let mut schedules = vec![Schedule::default(); VALIDATORS];
    // The others finish within the two 20 s graces; this one comes up well after.
    schedules[late].start = Duration::from_secs(200);
    simulate(|context| async move {
        let rounds = run_scheduled(&context, &validators, None, &schedules, TEST_TIMEOUTS).await;
        let late_key = validators[late].signer.public_key();
        for round in &rounds {
            assert_eq!(round.output, rounds[0].output, "one output for all");
            assert!(
                round.output.revealed().position(&late_key).is_some(),
                "the late validator's share was revealed"
            );
            assert!(round.output.dealers().position(&late_key).is_none());
        }
        let expected = rounds[late]
            .output
            .public()
            .partial_public(rounds[late].share.index)
            .expect("its index is in the output");
        assert_eq!(
            rounds[late].share.public::<MinPk>(),
            expected,
            "the late validator still holds the share the output gives it"
        );
    });
}

#[test]
fn a_journal_does_not_open_for_another_chain_round_or_key_and_a_damaged_one_is_refused() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let validators = validators();
    let mut rng = medchain_crypto::rng::seeded_u64(seed());
    let journal = Journal::fresh(&mut rng);
    let recipient = validators[0].encryption.public_key();
    journal
        .store(&mut rng, dir.path(), &chain_id(), 0, &recipient)
        .expect("stored");
    let on_disk = std::fs::read(journal::journal_path(dir.path(), 0)).expect("written");
    assert!(
        !on_disk
            .windows(journal.dealer_seed.len())
            .any(|w| w == journal.dealer_seed.as_ref()),
        "the dealer seed is not on disk in the clear"
    );
    let back = Journal::load(dir.path(), &chain_id(), 0, &validators[0].encryption)
        .expect("reads back")
        .expect("present");
    assert_eq!(*back.dealer_seed, *journal.dealer_seed);
    for (chain, key) in [
        (ChainId([8; 32]), &validators[0].encryption),
        (chain_id(), &validators[1].encryption),
    ] {
        assert!(matches!(
            Journal::load(dir.path(), &chain, 0, key),
            Err(SealedError::Corrupt { .. })
        ));
    }
    // Moved to another round's name, it does not open either.
    std::fs::copy(
        journal::journal_path(dir.path(), 0),
        journal::journal_path(dir.path(), 1),
    )
    .expect("copied");
    assert!(matches!(
        Journal::load(dir.path(), &chain_id(), 1, &validators[0].encryption),
        Err(SealedError::Corrupt { .. })
    ));
    let mut damaged = on_disk.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 1;
    std::fs::write(journal::journal_path(dir.path(), 0), &damaged).expect("written");
    assert!(matches!(
        Journal::load(dir.path(), &chain_id(), 0, &validators[0].encryption),
        Err(SealedError::Corrupt { .. })
    ));
    std::fs::write(journal::journal_path(dir.path(), 0), &on_disk[..3]).expect("written");
    assert!(matches!(
        Journal::load(dir.path(), &chain_id(), 0, &validators[0].encryption),
        Err(SealedError::Corrupt { .. })
    ));
    Journal::remove(dir.path(), 0).expect("removed");
    assert!(matches!(
        Journal::load(dir.path(), &chain_id(), 0, &validators[0].encryption),
        Ok(None)
    ));
}

#[test]
fn a_share_file_does_not_open_for_another_chain_or_key() {
    let validators = validators();
    simulate(|context| async move {
        let _ = run_round_of(&context, &validators, None).await;
        let dir = validators[0].dir.path();
        let other_chain = sealed::load(dir, &ChainId([8; 32]), 0, &validators[0].encryption);
        assert!(
            matches!(other_chain, Err(SealedError::Corrupt { .. })),
            "chain is bound"
        );
        let other_key = sealed::load(dir, &chain_id(), 0, &validators[1].encryption);
        assert!(
            matches!(other_key, Err(SealedError::Corrupt { .. })),
            "key is bound"
        );
        let never_run = sealed::load(dir, &chain_id(), 1, &validators[0].encryption);
        assert!(matches!(never_run, Ok(None)), "an unrun round has no file");
    });
}

#[test]
fn dkg_messages_fit_the_p2p_message_limit() {
    // The keeper's mux prefixes each message with its round as a varint (at most 10 bytes).
    let max = wire::message_size_max_bytes() + 10;
    assert!(
        max <= crate::engine::max_message_size() as usize,
        "{max} bytes"
    );
}

#[test]
fn malformed_and_oversized_dkg_messages_are_refused_not_parsed() {
    let too_long = vec![0u8; wire::message_size_max_bytes() + 1];
    assert!(DkgMessage::decode_bounded(&too_long).is_err());
    assert!(DkgMessage::decode_bounded(&[]).is_err());
    assert!(
        DkgMessage::decode_bounded(&[9, 0, 0, 0, 0, 0, 0, 0, 0]).is_err(),
        "unknown tag"
    );
    // A length prefix claiming far more than the limit allows.
    let huge = [0u8, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f];
    assert!(DkgMessage::decode_bounded(&huge).is_err());
}

fn validators_n(n: usize) -> Vec<Validator> {
    (0..n as u64)
        .map(|i| Validator {
            signer: ed25519::PrivateKey::from_seed(i),
            encryption: EncryptionSecretKey::derive(&[i as u8 + 1; 32]).0,
            dir: tempfile::tempdir().expect("a temporary directory"),
        })
        .collect()
}

/// Node `index`'s part in resharing `genesis` (the first validators' round, in validator
/// order) to `to` in round 1: a holder deals its share, a newcomer holds none.
fn reshare_config(
    validators: &[Validator],
    index: usize,
    genesis: &[FinishedRound],
    to: &Set<Pk>,
) -> DkgConfig {
    let v = &validators[index];
    let previous = Previous {
        output: genesis[0].output.clone(),
        share: genesis.get(index).map(|round| round.share.clone()),
    };
    DkgConfig {
        timeouts: TEST_TIMEOUTS,
        ..DkgConfig::reshare(
            chain_id(),
            1,
            v.signer.clone(),
            v.encryption.clone(),
            previous,
            to.clone(),
            v.dir.path().to_path_buf(),
        )
    }
}

/// The players' rounds agree on one output that keeps `genesis`'s public key, hold distinct
/// shares matching it, and any `quorum` of them (but no fewer) decrypts a ciphertext made
/// under the genesis key.
fn assert_reshared(
    genesis: &[FinishedRound],
    reshared: &[FinishedRound],
    quorum: usize,
    rng: &mut impl CryptoRng,
) {
    let output = &reshared[0].output;
    assert_eq!(
        output.public().public(),
        genesis[0].output.public().public(),
        "the public key does not change"
    );
    for round in reshared {
        assert_eq!(round.output, *output, "one output for all");
        assert_eq!(
            round.share.public::<MinPk>(),
            output
                .public()
                .partial_public(round.share.index)
                .expect("its index is in the output"),
            "each share matches the output"
        );
    }
    let shares: BTreeSet<Vec<u8>> = reshared.iter().map(|r| r.share.encode().to_vec()).collect();
    assert_eq!(shares.len(), reshared.len(), "distinct shares");
    let key = AnalyticsKey::from_bytes(&analytics_key_bytes(output), wire::DKG_PARTICIPANTS_MAX)
        .expect("a sharing the ledger accepts");
    assert_eq!(key.required() as usize, quorum);
    let genesis_key = AnalyticsKey::from_bytes(
        &analytics_key_bytes(&genesis[0].output),
        wire::DKG_PARTICIPANTS_MAX,
    )
    .expect("a sharing");
    let (ciphertext, _) = Ciphertext::encrypt(rng, &genesis_key.public_key(), SECRET_VALUE);
    let context = ProofContext {
        chain_id: b"medchain-test",
        study_id: b"study-1",
        key_image: None,
    };
    let table = DiscreteLogTable::new(10_000).expect("a small bound");
    let partials: Vec<PartialDecryption> = reshared
        .iter()
        .map(|r| PartialDecryption::new(rng, &r.share, &ciphertext, &context).expect("valid"))
        .collect();
    let (value, _) = decrypt(
        &key,
        &ciphertext,
        &context,
        &partials[partials.len() - quorum..],
        &table,
    )
    .expect("a quorum of the new shares decrypts what the old key encrypted");
    assert_eq!(value, SECRET_VALUE);
    let too_few = decrypt(&key, &ciphertext, &context, &partials[..quorum - 1], &table);
    assert!(too_few.is_err(), "fewer than the quorum reveal nothing");
}

#[test]
fn a_validator_admitted_later_receives_a_share_of_the_same_key_by_resharing() {
    let validators = validators_n(VALIDATORS + 1);
    simulate(|mut context| async move {
        let genesis = run_round_of(&context, &validators[..VALIDATORS], None).await;
        let to = validator_set(&validators);
        let configs = (0..validators.len())
            .map(|index| reshare_config(&validators, index, &genesis, &to))
            .collect();
        let schedules = vec![Schedule::default(); validators.len()];
        let ends = run_configs(&context, "reshare_network", configs, &schedules).await;
        let reshared = shares_of(ends);
        // 5 validators tolerate one fault: 4 of them decrypt, the newcomer among them.
        assert_reshared(&genesis, &reshared, 4, &mut context);
        let newcomer = validators[VALIDATORS].signer.public_key();
        assert!(reshared[0].output.players().position(&newcomer).is_some());
        assert!(
            reshared[0].output.revealed().is_empty(),
            "no share revealed"
        );
        assert!(
            reshared[0].output.dealers().position(&newcomer).is_none(),
            "the newcomer held no share, so it did not deal"
        );
    });
}

#[test]
fn a_removed_validator_deals_its_share_away_and_a_holder_that_is_gone_does_not_stop_it() {
    let validators = validators();
    simulate(|mut context| async move {
        let genesis = run_round_of(&context, &validators, None).await;
        // Governance removes the last validator; it still runs, deals, and ends with nothing.
        let to = validator_set(&validators[..VALIDATORS - 1]);
        let configs = (0..VALIDATORS)
            .map(|index| reshare_config(&validators, index, &genesis, &to))
            .collect();
        let schedules = vec![Schedule::default(); VALIDATORS];
        let mut ends = run_configs(&context, "removal_network", configs, &schedules).await;
        assert!(
            matches!(ends.pop(), Some(RoundEnd::Dealt)),
            "the removed validator only deals"
        );
        let reshared = shares_of(ends);
        let removed = validators[VALIDATORS - 1].signer.public_key();
        assert!(reshared[0].output.players().position(&removed).is_none());
        assert_reshared(&genesis, &reshared, 3, &mut context);

        // Again from the genesis key, with the removed validator's node gone for good: the
        // three remaining holders are the previous key's quorum, which is enough.
        let gone = with_fresh_dirs(&validators);
        let configs = (0..VALIDATORS - 1)
            .map(|index| reshare_config(&gone, index, &genesis, &to))
            .collect();
        let schedules = vec![Schedule::default(); VALIDATORS - 1];
        let ends = run_configs(&context, "gone_network", configs, &schedules).await;
        let reshared = shares_of(ends);
        assert!(reshared[0].output.dealers().position(&removed).is_none());
        assert_reshared(&genesis, &reshared, 3, &mut context);
    });
}

/// The same validators with fresh directories, for a second run of the same round.
fn with_fresh_dirs(validators: &[Validator]) -> Vec<Validator> {
    validators
        .iter()
        .map(|v| Validator {
            signer: v.signer.clone(),
            encryption: v.encryption.clone(),
            dir: tempfile::tempdir().expect("a temporary directory"),
        })
        .collect()
}

#[test]
fn a_holder_without_its_share_cannot_deal_and_one_dealing_a_wrong_share_is_left_out() {
    let validators = validators();
    simulate(|mut context| async move {
        let genesis = run_round_of(&context, &validators, None).await;
        let to = validator_set(&validators);
        // Holder 0 lost its share; then, in a second run, holder 1 deals validator 2's share as
        // if it were its own, so its commitment does not match its public share in the
        // previous output and every player refuses it. Either way the three others suffice.
        for (label, faulty) in [("lost_network", 0), ("wrong_network", 1)] {
            let nodes = with_fresh_dirs(&validators);
            let mut configs: Vec<DkgConfig> = (0..VALIDATORS)
                .map(|index| reshare_config(&nodes, index, &genesis, &to))
                .collect();
            configs[faulty].previous.as_mut().expect("resharing").share =
                (faulty == 1).then(|| genesis[2].share.clone());
            let schedules = vec![Schedule::default(); VALIDATORS];
            let reshared = shares_of(run_configs(&context, label, configs, &schedules).await);
            let faulty_key = validators[faulty].signer.public_key();
            assert!(
                reshared[0].output.dealers().position(&faulty_key).is_none(),
                "holder {faulty} is not among the dealers"
            );
            assert_eq!(reshared[0].output.dealers().len(), 3);
            assert_reshared(&genesis, &reshared, 3, &mut context);
        }
    });
}
