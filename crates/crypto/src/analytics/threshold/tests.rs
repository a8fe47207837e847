use super::*;
use crate::analytics::range::{Range, RangeProof, RangeStatement, verify_batch};
use crate::rng::seeded_u64;
use commonware_cryptography::bls12381::{
    dkg::feldman_desmedt::{self, Dealer, DealerPrivMsg, Info, Logs, Player, Reveal},
    primitives::{group::Private, sharing::Mode},
};
use commonware_cryptography::{Signer, ed25519};
use commonware_utils::{N3f1, NZU32, TryCollect, ordered::Set};

const CHAIN: &[u8] = b"medchain-test";
const STUDY: &[u8] = b"study:hba1c-2026";

fn release() -> ProofContext<'static> {
    ProofContext {
        chain_id: CHAIN,
        study_id: STUDY,
        key_image: None,
    }
}

/// A trusted-dealer sharing for 4 validators (quorum 3), for the tests that are not about the
/// DKG itself; `a_real_dkg_...` below runs the dealerless one.
fn dealt(seed: u64) -> (AnalyticsKey, Vec<Share>) {
    let (sharing, shares) = feldman_desmedt::deal_anonymous::<MinPk, N3f1>(
        seeded_u64(seed),
        Mode::NonZeroCounter,
        NZU32!(4),
    );
    (AnalyticsKey::new(sharing).unwrap(), shares)
}

fn encrypted_sum(seed: u64, key: &AnalyticsPublicKey, values: &[u64]) -> Ciphertext {
    let mut rng = seeded_u64(seed);
    let ciphertexts: Vec<Ciphertext> = values
        .iter()
        .map(|value| Ciphertext::encrypt(&mut rng, key, *value).0)
        .collect();
    Ciphertext::sum(&ciphertexts)
}

fn partials(seed: u64, shares: &[Share], ciphertext: &Ciphertext) -> Vec<PartialDecryption> {
    let mut rng = seeded_u64(seed);
    shares
        .iter()
        .map(|share| PartialDecryption::new(&mut rng, share, ciphertext, &release()).unwrap())
        .collect()
}

#[test]
fn a_quorum_of_partials_decrypts_a_sum() {
    let (key, shares) = dealt(1);
    assert_eq!((key.required(), key.total()), (3, 4));
    let values = [120, 45, 0, 65535, 7];
    let aggregate = encrypted_sum(2, &key.public_key(), &values);
    let table = DiscreteLogTable::new(5 * 65535).unwrap();
    let all = partials(3, &shares, &aggregate);
    for quorum in [
        &all[..3],
        &all[1..],
        &[all[0].clone(), all[3].clone(), all[1].clone()],
    ] {
        let (value, combined) = decrypt(&key, &aggregate, &release(), quorum, &table).unwrap();
        assert_eq!(value, values.iter().sum::<u64>());
        assert_eq!(combined.used.len(), 3);
        assert!(combined.excluded.is_empty());
    }
}

#[test]
fn a_wrong_partial_is_excluded_and_the_result_still_correct() {
    let (key, shares) = dealt(4);
    let aggregate = encrypted_sum(5, &key.public_key(), &[10, 20, 30]);
    let table = DiscreteLogTable::new(3 * 100).unwrap();
    let mut all = partials(6, &shares, &aggregate);
    // Validator 1 lies: it posts a different point with a proof made for it by a wrong share.
    let liar = Share::new(Participant::new(1), Private::new(Scalar::from_u64(12345)));
    all[1] = PartialDecryption::new(&mut seeded_u64(7), &liar, &aggregate, &release()).unwrap();
    assert_eq!(
        all[1].verify(&key, &aggregate, &release()),
        Err(AnalyticsError::InvalidPartial { index: 1 })
    );
    let (value, combined) = decrypt(&key, &aggregate, &release(), &all, &table).unwrap();
    assert_eq!(value, 60);
    assert_eq!(combined.used, vec![0, 2, 3]);
    assert_eq!(combined.excluded, vec![1]);
}

#[test]
fn a_right_point_with_a_forged_proof_is_excluded() {
    let (key, shares) = dealt(8);
    let aggregate = encrypted_sum(9, &key.public_key(), &[1, 2]);
    let mut all = partials(10, &shares, &aggregate);
    all[2].response += &Scalar::from_u64(1);
    let combined = combine(&key, &aggregate, &release(), &all).unwrap();
    assert_eq!(combined.excluded, vec![2]);
    assert_eq!(combined.used, vec![0, 1, 3]);
}

#[test]
fn fewer_than_a_quorum_of_valid_partials_reveals_nothing() {
    let (key, shares) = dealt(11);
    let aggregate = encrypted_sum(12, &key.public_key(), &[5, 6]);
    let mut some = partials(13, &shares[..3], &aggregate);
    some[0].response += &Scalar::from_u64(1);
    assert_eq!(
        combine(&key, &aggregate, &release(), &some),
        Err(AnalyticsError::NotEnoughPartials {
            valid: 2,
            required: 3,
            invalid: vec![0]
        })
    );
    let twice = vec![some[1].clone(), some[1].clone(), some[2].clone()];
    assert_eq!(
        combine(&key, &aggregate, &release(), &twice),
        Err(AnalyticsError::NotEnoughPartials {
            valid: 2,
            required: 3,
            invalid: vec![]
        }),
        "a partial counted twice is still one validator"
    );
}

#[test]
fn a_partial_for_another_ciphertext_or_study_is_refused() {
    let (key, shares) = dealt(14);
    let aggregate = encrypted_sum(15, &key.public_key(), &[5]);
    let single = encrypted_sum(16, &key.public_key(), &[9]);
    let partial =
        PartialDecryption::new(&mut seeded_u64(17), &shares[0], &aggregate, &release()).unwrap();
    assert_eq!(partial.verify(&key, &aggregate, &release()), Ok(()));
    assert_eq!(
        partial.verify(&key, &single, &release()),
        Err(AnalyticsError::InvalidPartial { index: 0 })
    );
    let other_study = ProofContext {
        study_id: b"study:other",
        ..release()
    };
    assert_eq!(
        partial.verify(&key, &aggregate, &other_study),
        Err(AnalyticsError::InvalidPartial { index: 0 })
    );
}

#[test]
fn a_partial_from_an_unknown_participant_is_excluded() {
    let (key, shares) = dealt(18);
    let aggregate = encrypted_sum(19, &key.public_key(), &[5]);
    let stranger = Share::new(Participant::new(9), Private::new(Scalar::from_u64(3)));
    let mut all = partials(20, &shares, &aggregate);
    all.push(
        PartialDecryption::new(&mut seeded_u64(21), &stranger, &aggregate, &release()).unwrap(),
    );
    assert_eq!(
        all[4].verify(&key, &aggregate, &release()),
        Err(AnalyticsError::UnknownParticipant { index: 9, total: 4 })
    );
    assert_eq!(
        combine(&key, &aggregate, &release(), &all)
            .unwrap()
            .excluded,
        vec![9]
    );
}

#[test]
fn a_partial_round_trips_and_its_codec_refuses_malformed_bytes() {
    let (key, shares) = dealt(22);
    let aggregate = encrypted_sum(23, &key.public_key(), &[5]);
    let partial = &partials(24, &shares, &aggregate)[3];
    let bytes = partial.to_bytes();
    assert_eq!(PartialDecryption::from_bytes(&bytes).as_ref(), Ok(partial));
    assert_eq!(
        PartialDecryption::from_bytes(&bytes[..PARTIAL_SIZE_BYTES - 1]),
        Err(AnalyticsError::BadLength {
            what: "partial decryption",
            got_bytes: PARTIAL_SIZE_BYTES - 1,
            expected_bytes: PARTIAL_SIZE_BYTES
        })
    );
    let mut bad_point = bytes;
    bad_point[4..52].fill(0xff);
    assert_eq!(
        PartialDecryption::from_bytes(&bad_point),
        Err(AnalyticsError::InvalidPoint {
            what: "partial decryption"
        })
    );
}

#[test]
fn a_sharing_in_another_evaluation_mode_is_refused() {
    let (sharing, _) = feldman_desmedt::deal_anonymous::<MinPk, N3f1>(
        seeded_u64(25),
        Mode::RootsOfUnity,
        NZU32!(4),
    );
    assert_eq!(
        AnalyticsKey::new(sharing).err(),
        Some(AnalyticsError::UnsupportedSharingMode)
    );
}

#[test]
fn a_sum_past_the_declared_bound_is_refused_at_release() {
    let (key, shares) = dealt(26);
    let aggregate = encrypted_sum(27, &key.public_key(), &[60, 60]);
    let table = DiscreteLogTable::new(100).unwrap();
    let all = partials(28, &shares, &aggregate);
    assert_eq!(
        decrypt(&key, &aggregate, &release(), &all, &table).err(),
        Some(AnalyticsError::ValueAboveBound { bound: 100 })
    );
}

/// Runs commonware's Joint-Feldman DKG for 4 validators in process; dealer 3 sends bad shares to
/// two players (more than the f = 1 reveals a dealer may make), so its dealing is excluded and
/// the key forms from the other three. Then range-proved contributions are aggregated and the
/// sum is released from 3 partial decryptions.
#[test]
fn a_real_dkg_with_a_bad_dealer_yields_a_key_that_decrypts_a_sum_with_3_partials() {
    let seed = 2026;
    println!("seed {seed}");
    let mut rng = seeded_u64(seed);
    let signers: Vec<ed25519::PrivateKey> = (0..4u64)
        .map(|i| ed25519::PrivateKey::random(seeded_u64(seed + i)))
        .collect();
    let set: Set<ed25519::PublicKey> = signers
        .iter()
        .map(|k| k.public_key())
        .try_collect()
        .unwrap();
    let info = Info::<MinPk, ed25519::PublicKey>::new::<N3f1>(
        b"medchain-test-analytics",
        0,
        None,
        Mode::NonZeroCounter,
        Reveal::V1,
        set.clone(),
        set.clone(),
    )
    .unwrap();
    let mut players: Vec<Player<MinPk, ed25519::PrivateKey>> = signers
        .iter()
        .map(|k| Player::new(info.clone(), k.clone()).unwrap())
        .collect();
    let position = |pk: &ed25519::PublicKey| signers.iter().position(|k| &k.public_key() == pk);
    let bad_dealer = 3;
    let mut logs = Logs::<MinPk, ed25519::PublicKey, N3f1>::new(info.clone());
    let mut refused = 0;
    for (d, dealer_key) in signers.iter().enumerate() {
        let (mut dealer, pub_msg, priv_msgs) =
            Dealer::start::<N3f1>(&mut rng, info.clone(), dealer_key.clone(), None).unwrap();
        for (player_pk, priv_msg) in priv_msgs {
            let p = position(&player_pk).unwrap();
            let priv_msg = if d == bad_dealer && (p == 0 || p == 1) {
                DealerPrivMsg::new(Scalar::from_u64(42 + p as u64))
            } else {
                priv_msg
            };
            match players[p].dealer_message::<N3f1>(
                dealer_key.public_key(),
                pub_msg.clone(),
                priv_msg,
            ) {
                Ok(Some(ack)) => dealer.receive_player_ack(player_pk, ack).unwrap(),
                Ok(None) => panic!("no duplicate was sent"),
                Err(_) => refused += 1,
            }
        }
        if let Some((dealer_pk, log)) = dealer.finalize::<N3f1>().check(&info) {
            logs.record(dealer_pk, log);
        }
    }
    assert_eq!(refused, 2, "players 0 and 1 refuse dealer 3's bad shares");
    let mut shares = Vec::new();
    let mut outputs = Vec::new();
    for player in players {
        let (output, share) = player
            .finalize::<N3f1>(&mut rng, logs.clone(), &Sequential)
            .unwrap();
        outputs.push(output);
        shares.push(share);
    }
    let output = outputs[0].clone();
    assert!(outputs.iter().all(|o| *o == output), "every player agrees");
    assert!(
        !output
            .dealers()
            .iter()
            .any(|d| *d == signers[bad_dealer].public_key()),
        "the bad dealer's dealing is excluded"
    );
    assert_eq!(output.dealers().len(), 3);

    let key = AnalyticsKey::new(output.public().clone()).unwrap();
    let public = AnalyticsPublicKey::from_output(&output);
    assert_eq!(key.public_key(), public);
    assert_eq!(key.required(), 3);
    for share in &shares {
        assert_eq!(
            key.public_share(share.index.get()).unwrap(),
            share.public::<MinPk>()
        );
    }

    let range = Range::new(0, 65535).unwrap();
    let values = [512u64, 65535, 0, 7, 1000, 31337];
    let images: Vec<[u8; 32]> = (0..values.len() as u8).map(|i| [i; 32]).collect();
    let contexts: Vec<ProofContext<'_>> = images
        .iter()
        .map(|image| ProofContext {
            chain_id: CHAIN,
            study_id: STUDY,
            key_image: Some(image),
        })
        .collect();
    let contributions: Vec<(Ciphertext, RangeProof)> = values
        .iter()
        .zip(&contexts)
        .map(|(value, ctx)| RangeProof::encrypt(&mut rng, &public, *value, &range, ctx).unwrap())
        .collect();
    let statements: Vec<RangeStatement<'_>> = contributions
        .iter()
        .zip(&contexts)
        .map(|((ciphertext, proof), context)| RangeStatement {
            key: &public,
            ciphertext,
            range: &range,
            context: *context,
            proof,
        })
        .collect();
    assert_eq!(verify_batch(&mut rng, &statements), Ok(()));
    let aggregate = Ciphertext::sum(contributions.iter().map(|(c, _)| c));

    let table = DiscreteLogTable::new(values.len() as u64 * range.hi()).unwrap();
    // Participant indices follow the sorted key set, not the order of `signers`.
    let posters = [&shares[3], &shares[0], &shares[2]];
    let mut expected_used: Vec<u32> = posters.iter().map(|s| s.index.get()).collect();
    expected_used.sort_unstable();
    let posted: Vec<PartialDecryption> = posters
        .into_iter()
        .map(|share| PartialDecryption::new(&mut rng, share, &aggregate, &release()).unwrap())
        .collect();
    let (sum, combined) = decrypt(&key, &aggregate, &release(), &posted, &table).unwrap();
    assert_eq!(sum, values.iter().sum::<u64>());
    assert_eq!(combined.used, expected_used);
}

#[test]
fn an_analytics_key_round_trips_and_refuses_too_many_participants() {
    let (key, _) = dealt(41);
    let bytes = key.to_bytes();
    let decoded = AnalyticsKey::from_bytes(&bytes, 4).unwrap();
    assert_eq!(decoded.public_key(), key.public_key());
    assert_eq!((decoded.required(), decoded.total()), (3, 4));
    assert_eq!(
        AnalyticsKey::from_bytes(&bytes, 3).err(),
        Some(AnalyticsError::InvalidSharing)
    );
    assert_eq!(
        AnalyticsKey::from_bytes(&bytes[..bytes.len() - 1], 4).err(),
        Some(AnalyticsError::InvalidSharing)
    );
}

#[test]
fn the_opening_of_a_sum_proves_the_sum_in_range() {
    let (key, _) = dealt(42);
    let pk = key.public_key();
    let mut rng = seeded_u64(43);
    let (a, opening_a) = Ciphertext::encrypt(&mut rng, &pk, 0);
    let (b, opening_b) = Ciphertext::encrypt(&mut rng, &pk, 1);
    let total = crate::analytics::Opening::sum([&opening_a, &opening_b]).unwrap();
    let sum = Ciphertext::sum([&a, &b]);
    let exactly_one = Range::new(1, 1).unwrap();
    let proof = RangeProof::prove(&mut rng, &pk, &sum, &total, &exactly_one, &release()).unwrap();
    assert_eq!(
        proof.verify(&mut rng, &pk, &sum, &exactly_one, &release()),
        Ok(())
    );
}
