//! Studies: the analytics key, ring keys, proposal and approval, anonymous and institutional
//! contributions, closing and the threshold release, and every refusal the issue lists.

use crate::harness::*;
use commonware_cryptography::Signer as _;
use commonware_cryptography::bls12381::dkg::feldman_desmedt;
use commonware_cryptography::bls12381::primitives::group::{Private, Scalar, Share};
use commonware_cryptography::bls12381::primitives::{sharing::Mode, variant::MinPk};
use commonware_cryptography::ed25519::PrivateKey;
use commonware_utils::{N3f1, TryCollect as _, ordered::Set};
use medchain_crypto::ring::{RingPublicKey, RingSecretKey};
use medchain_crypto::rng::seeded_u64;
use medchain_state::study_payloads;
use medchain_state::*;
use medchain_types::*;

mod noise;

/// A consortium of 4 validators whose analytics key (dealt here; the node runs the DKG) is in
/// force, with a researcher at St Mary and a clinician at each hospital.
struct Lab {
    chain: Chain,
    /// Share of each validator, by account.
    shares: Vec<(AccountId, Share)>,
    output: DkgOutput,
    researcher: PrivateKey,
    clinicians: Vec<(&'static str, PrivateKey)>,
    one_time_seed: u64,
    /// Each patient's record, by its seed.
    records: std::collections::BTreeMap<u64, RecordId>,
}

type ValidatorKey = commonware_cryptography::ed25519::PublicKey;
type DkgOutput = feldman_desmedt::Output<MinPk, ValidatorKey>;

fn players(validators: &[PrivateKey]) -> Set<ValidatorKey> {
    validators
        .iter()
        .map(|v| v.public_key())
        .try_collect()
        .expect("distinct validator keys")
}

/// A key dealt to `validators` as the DKG would leave it (the node runs the real protocol):
/// the encoded output the ledger takes, and each validator's share.
fn dealt(seed: u64, validators: &[PrivateKey]) -> (DkgOutput, Vec<(AccountId, Share)>) {
    let (output, shares) = feldman_desmedt::deal::<MinPk, _, N3f1>(
        seeded_u64(seed),
        Mode::NonZeroCounter,
        players(validators),
    )
    .expect("at least one player");
    let shares = shares
        .iter_pairs()
        .map(|(key, share)| (AccountId(key.clone()), share.clone()))
        .collect();
    (output, shares)
}

/// A resharing round of commonware's DKG run in memory: every holder of `previous` deals its
/// share to `to`, every player acknowledges every dealing, and the players finalize from the
/// dealers' logs. The secret, so the public key, stays the same.
fn reshared(
    seed: u64,
    round: u64,
    previous: &DkgOutput,
    shares: &[(AccountId, Share)],
    holders: &[PrivateKey],
    to: &[PrivateKey],
) -> (DkgOutput, Vec<(AccountId, Share)>) {
    use commonware_parallel::Sequential;
    let mut rng = seeded_u64(seed);
    // In key order, as the dealers address their private messages.
    let mut to = to.to_vec();
    to.sort_by_key(|k| k.public_key());
    let info = feldman_desmedt::Info::<MinPk, ValidatorKey>::new::<N3f1>(
        b"medchain/test/reshare",
        round,
        Some(previous.clone()),
        Mode::NonZeroCounter,
        feldman_desmedt::Reveal::V1,
        players(holders),
        players(&to),
    )
    .expect("a valid resharing round");
    let mut receivers: Vec<_> = to
        .iter()
        .map(|key| feldman_desmedt::Player::new(info.clone(), key.clone()).expect("a player"))
        .collect();
    let mut logs = feldman_desmedt::Logs::<MinPk, ValidatorKey, N3f1>::new(info.clone());
    for holder in holders {
        let share = shares
            .iter()
            .find(|(holder_account, _)| *holder_account == account(holder))
            .map(|(_, share)| share.clone());
        let (mut dealer, public, private) =
            feldman_desmedt::Dealer::start::<N3f1>(&mut rng, info.clone(), holder.clone(), share)
                .expect("a holder deals");
        for (player, (receiver, (key, message))) in to.iter().zip(receivers.iter_mut().zip(private))
        {
            assert_eq!(player.public_key(), key, "private messages in player order");
            let ack = receiver
                .dealer_message::<N3f1>(holder.public_key(), public.clone(), message)
                .expect("a valid dealing")
                .expect("acknowledged");
            dealer
                .receive_player_ack(key, ack)
                .expect("a valid acknowledgement");
        }
        let (dealer_key, log) = dealer
            .finalize::<N3f1>()
            .check(&info)
            .expect("a log its dealer signed");
        logs.record(dealer_key, log);
    }
    let mut output = None;
    let mut new_shares = Vec::new();
    for (key, receiver) in to.iter().zip(receivers) {
        let (out, share) = receiver
            .finalize::<N3f1>(&mut rng, logs.clone(), &Sequential)
            .expect("the players finalize");
        output = Some(out);
        new_shares.push((account(key), share));
    }
    (output.expect("at least one player"), new_shares)
}

fn encoded(output: &DkgOutput) -> Vec<u8> {
    use commonware_codec::Encode as _;
    output.encode().to_vec()
}

fn submit_key(epoch: u64, output: &[u8]) -> Payload {
    Payload::SubmitAnalyticsKey {
        epoch,
        output: output.to_vec().into(),
    }
}

impl Lab {
    fn new() -> Self {
        let mut chain = Chain::new();
        let validators = chain.validators.clone();
        let (output, shares) = dealt(7, &validators);
        for validator in &validators[..3] {
            chain.ok(validator, submit_key(1, &encoded(&output)));
        }
        let participants = chain
            .query(async |s| query::analytics_key(s).await)
            .expect("adopted at 2f+1")
            .participants;
        let dealt_to: Vec<AccountId> = shares.iter().map(|(a, _)| a.clone()).collect();
        assert_eq!(participants, dealt_to, "shares in participant order");
        let admin = chain.st_mary_admin.clone();
        let researcher = chain.member(&admin, 300, Role::Researcher);
        let st_mary = chain.clinician(&admin, 301);
        let north_admin = chain.north_admin.clone();
        let north = chain.clinician(&north_admin, 302);
        Self {
            chain,
            shares,
            output,
            researcher,
            clinicians: vec![(ST_MARY, st_mary), (NORTH, north)],
            one_time_seed: 50_000,
            records: Default::default(),
        }
    }

    /// A pseudonym at `institution` with a ring key and one record of `category`.
    fn patient(
        &mut self,
        institution: &'static str,
        seed: u64,
        category: RecordCategory,
    ) -> RingSecretKey {
        let patient = self.chain.patient(institution, seed);
        let ring_secret = RingSecretKey::generate(&mut seeded_u64(seed));
        let payload = study_payloads::register_ring_key(
            &mut seeded_u64(seed),
            &self.chain.genesis.chain_id(),
            &account(&patient),
            &ring_secret,
        )
        .unwrap();
        self.chain.ok(&patient, payload);
        let clinician = self
            .clinicians
            .iter()
            .find(|(at, _)| *at == institution)
            .map(|(_, c)| c.clone())
            .expect("a clinician at each hospital");
        let record = self.chain.record(&clinician, &patient, category);
        self.records.insert(seed, record);
        ring_secret
    }

    fn propose(&mut self, spec: StudySpec) -> StudyId {
        let researcher = self.researcher.clone();
        match self.chain.ok(&researcher, Payload::ProposeStudy { spec }) {
            Outcome::StudyProposed { study } => study,
            other => panic!("unexpected {other:?}"),
        }
    }

    fn approve(&mut self, study: StudyId) {
        let validators = self.chain.validators.clone();
        let change = MembershipChange::ApproveStudy { study };
        let proposal = match self.chain.ok(
            &validators[0],
            Payload::ProposeMembership {
                change,
                ttl_blocks: 100,
            },
        ) {
            Outcome::ProposalOpened { proposal, .. } => proposal,
            other => panic!("unexpected {other:?}"),
        };
        for validator in &validators[1..3] {
            self.chain.ok(
                validator,
                Payload::Vote {
                    proposal,
                    approve: true,
                },
            );
        }
    }

    fn approved(&mut self, spec: StudySpec) -> StudyId {
        let study = self.propose(spec);
        self.approve(study);
        study
    }

    fn study(&self, id: StudyId) -> StudyEntry {
        self.chain
            .query(async |s| query::study(s, &id).await)
            .expect("the study exists")
    }

    fn one_time_key(&mut self) -> PrivateKey {
        self.one_time_seed += 1;
        key(self.one_time_seed)
    }

    fn anonymous(
        &mut self,
        id: StudyId,
        ring: &[RingPublicKey],
        signer: &RingSecretKey,
        value: u64,
    ) -> Payload {
        let study = self.study(id);
        study_payloads::anonymous_contribution(
            &mut seeded_u64(value ^ self.one_time_seed),
            &self.chain.genesis.chain_id(),
            &study,
            ring,
            signer,
            value,
        )
        .unwrap()
    }

    fn contribute_anonymously(&mut self, payload: Payload) -> Result<Outcome, TxError> {
        let sender = self.one_time_key();
        self.chain.run(&sender, payload)
    }

    fn institutional(&self, id: StudyId, values: &[u64]) -> Payload {
        study_payloads::institutional_contribution(
            &mut seeded_u64(values.iter().sum()),
            &self.chain.genesis.chain_id(),
            &self.study(id),
            values,
        )
        .unwrap()
    }

    fn close(&mut self, id: StudyId) -> Outcome {
        let deadline = self.study(id).spec.deadline_height;
        if self.chain.height <= deadline {
            self.chain.advance(deadline + 1 - self.chain.height);
        }
        let researcher = self.researcher.clone();
        self.chain
            .ok(&researcher, Payload::CloseStudy { study: id })
    }

    fn validator(&self, account_id: &AccountId) -> PrivateKey {
        self.chain
            .validators
            .iter()
            .find(|v| &account(v) == account_id)
            .cloned()
            .expect("a harness validator")
    }

    fn partials(&self, id: StudyId, share: &Share) -> Payload {
        study_payloads::partial_decryptions(
            &mut seeded_u64(u64::from(share.index.get())),
            &self.chain.genesis.chain_id(),
            &self.study(id),
            share,
        )
        .unwrap()
    }

    /// Validators post in participant order until the study is released.
    fn release(&mut self, id: StudyId) -> StudyResult {
        for (validator, share) in self.shares.clone() {
            let payload = self.partials(id, &share);
            let signer = self.validator(&validator);
            if let Outcome::PartialDecryptionPosted { released: true, .. } =
                self.chain.ok(&signer, payload)
            {
                break;
            }
        }
        self.study(id).result.expect("released")
    }
}

/// HbA1c in 0.1 % over laboratory records, with every aggregate.
fn hba1c(deadline_height: u64) -> StudySpec {
    StudySpec {
        field: "hba1c".into(),
        unit: "%".into(),
        scale_divisor: 10,
        lo: 40,
        hi: 200,
        cohort: CohortFilter {
            categories: vec![RecordCategory::Laboratory],
            institutions: vec![],
        },
        sum_of_squares: true,
        histogram: vec![40, 60, 100],
        min_cohort: 3,
        values_max: 1_000,
        deadline_height,
        ring_size: 3,
        epsilon_milli: None,
    }
}

/// A sum-only study (cheaper proofs) for the refusal tests.
fn sum_only(deadline_height: u64) -> StudySpec {
    StudySpec {
        sum_of_squares: false,
        histogram: vec![],
        ..hba1c(deadline_height)
    }
}

fn fault(error: TxError) -> StudyFault {
    match error {
        TxError::Study(fault) => fault,
        other => panic!("expected a study refusal, got {other:?}"),
    }
}

/// Three lab patients at two hospitals, and their ring.
fn cohort(lab: &mut Lab) -> (Vec<RingSecretKey>, Vec<RingPublicKey>) {
    let secrets = vec![
        lab.patient(ST_MARY, 400, RecordCategory::Laboratory),
        lab.patient(NORTH, 401, RecordCategory::Laboratory),
        lab.patient(ST_MARY, 402, RecordCategory::Laboratory),
    ];
    let ring = secrets.iter().map(RingSecretKey::public_key).collect();
    (secrets, ring)
}

#[test]
fn a_full_study_releases_anonymous_and_institutional_contributions_exactly() {
    let mut lab = Lab::new();
    let (secrets, ring) = cohort(&mut lab);
    let id = lab.approved(hba1c(lab.chain.height + 40));
    for (secret, value) in secrets.iter().zip([55, 72, 130]) {
        let payload = lab.anonymous(id, &ring, secret, value);
        lab.contribute_anonymously(payload).unwrap();
    }
    let city_lab = lab.chain.city_lab_admin.clone();
    let payload = lab.institutional(id, &[90, 41]);
    assert_eq!(
        lab.chain.ok(&city_lab, payload),
        Outcome::StudyContributed {
            study: id,
            values: 5,
            contributions: 4
        }
    );
    assert_eq!(
        lab.close(id),
        Outcome::StudyClosed {
            study: id,
            status: StudyStatus::Releasing,
            values: 5
        }
    );
    let result = lab.release(id);
    // sum 388, squares 3025 + 5184 + 16900 + 8100 + 1681, buckets [40,60) [60,100) [100,200].
    assert_eq!(result.values, 5);
    assert_eq!(result.contributions, 4);
    assert_eq!(result.totals, vec![388, 34_890, 2, 2, 1]);
    assert_eq!(result.decrypted_by, vec![0, 1, 2]);
    assert_eq!(lab.study(id).status, StudyStatus::Released);
}

#[test]
fn ring_keys_and_studies_are_listed_in_order_with_the_pseudonyms_institution() {
    let mut lab = Lab::new();
    let (_, ring) = cohort(&mut lab);
    let directory = lab
        .chain
        .query(async |s| query::ring_directory(s, 0, 100).await);
    let listed: Vec<(u64, [u8; 32], &str)> = directory
        .iter()
        .map(|e| (e.sequence, e.ring_key, e.institution.as_str()))
        .collect();
    let expected: Vec<(u64, [u8; 32], &str)> = ring
        .iter()
        .zip([ST_MARY, NORTH, ST_MARY])
        .enumerate()
        .map(|(i, (key, at))| (i as u64, key.to_bytes(), at))
        .collect();
    assert_eq!(listed, expected);
    for entry in &directory {
        let owner = lab
            .chain
            .query(async |s| query::ring_key_owner(s, &entry.ring_key).await);
        assert_eq!(owner.as_ref(), Some(&entry.pseudonym));
    }
    let page = lab
        .chain
        .query(async |s| query::ring_directory(s, 1, 1).await);
    assert_eq!(page, directory[1..2].to_vec());
    let first = lab.propose(sum_only(lab.chain.height + 40));
    let second = lab.propose(hba1c(lab.chain.height + 40));
    let index = lab
        .chain
        .query(async |s| query::study_index(s, 0, 100).await);
    let studies: Vec<(u64, StudyId)> = index.iter().map(|e| (e.sequence, e.study)).collect();
    assert_eq!(studies, vec![(0, first), (1, second)]);
}

#[test]
fn a_value_proven_for_a_wider_range_or_a_tampered_proof_is_refused() {
    let mut lab = Lab::new();
    let (secrets, ring) = cohort(&mut lab);
    let id = lab.approved(sum_only(lab.chain.height + 40));
    // 250 is above hi = 200: no proof exists for [40, 200], so the contributor proves [40, 300].
    let mut wider = lab.study(id);
    wider.spec.hi = 300;
    let payload = study_payloads::anonymous_contribution(
        &mut seeded_u64(1),
        &lab.chain.genesis.chain_id(),
        &wider,
        &ring,
        &secrets[0],
        250,
    )
    .unwrap();
    assert!(matches!(
        fault(lab.contribute_anonymously(payload).unwrap_err()),
        StudyFault::BadProof(_)
    ));
    let city_lab = lab.chain.city_lab_admin.clone();
    let Payload::ContributeToStudy {
        study,
        values,
        mut contribution,
    } = lab.institutional(id, &[90, 41])
    else {
        unreachable!()
    };
    let last = contribution.slots[0].range_proof.len() - 1;
    let mut proof = contribution.slots[0].range_proof.to_vec();
    proof[last] ^= 1;
    contribution.slots[0].range_proof = proof.into();
    let tampered = Payload::ContributeToStudy {
        study,
        values,
        contribution,
    };
    assert!(matches!(
        fault(lab.chain.err(&city_lab, tampered)),
        StudyFault::BadProof(_)
    ));
    assert_eq!(lab.study(id).values, 0);
}

#[test]
fn a_proof_made_for_another_study_is_refused() {
    let mut lab = Lab::new();
    let (secrets, ring) = cohort(&mut lab);
    let first = lab.approved(sum_only(lab.chain.height + 40));
    let second = lab.approved(sum_only(lab.chain.height + 41));
    let city_lab = lab.chain.city_lab_admin.clone();
    let Payload::ContributeToStudy {
        values,
        contribution,
        ..
    } = lab.institutional(first, &[90, 41])
    else {
        unreachable!()
    };
    let moved = Payload::ContributeToStudy {
        study: second,
        values,
        contribution,
    };
    assert!(matches!(
        fault(lab.chain.err(&city_lab, moved)),
        StudyFault::BadProof(_)
    ));
    // An anonymous contributor re-signs the first study's proofs for the second: the ring
    // signature holds, the range proofs (bound to the first study and its key image) do not.
    let Payload::ContributeAnonymously { contribution, .. } =
        lab.anonymous(first, &ring, &secrets[0], 60)
    else {
        unreachable!()
    };
    let chain_id = lab.chain.genesis.chain_id();
    let members = medchain_crypto::ring::Ring::new(ring.clone()).unwrap();
    let message =
        medchain_types::study::anonymous_contribution_message(&chain_id, &second, &contribution);
    let signature = medchain_crypto::ring::sign(
        &mut seeded_u64(3),
        &secrets[0],
        &members,
        second.as_bytes(),
        &message,
    )
    .unwrap();
    let resigned = Payload::ContributeAnonymously {
        study: second,
        ring: members
            .members()
            .iter()
            .map(RingPublicKey::to_bytes)
            .collect(),
        ring_signature: signature.to_bytes().into(),
        contribution,
    };
    assert!(matches!(
        fault(lab.contribute_anonymously(resigned).unwrap_err()),
        StudyFault::BadProof(_)
    ));
}

#[test]
fn a_second_contribution_with_the_same_key_image_is_refused() {
    let mut lab = Lab::new();
    let (secrets, ring) = cohort(&mut lab);
    let id = lab.approved(sum_only(lab.chain.height + 40));
    let first = lab.anonymous(id, &ring, &secrets[1], 70);
    lab.contribute_anonymously(first).unwrap();
    let again = lab.anonymous(id, &ring, &secrets[1], 80);
    assert_eq!(
        fault(lab.contribute_anonymously(again).unwrap_err()),
        StudyFault::KeyImageSeen
    );
    assert_eq!(lab.study(id).values, 1);
}

#[test]
fn a_ring_outside_the_eligible_set_or_below_the_ring_size_is_refused() {
    let mut lab = Lab::new();
    let (secrets, mut ring) = cohort(&mut lab);
    // A pseudonym with only an imaging record is outside a laboratory cohort.
    let imaging = lab.patient(NORTH, 403, RecordCategory::Imaging);
    let id = lab.approved(sum_only(lab.chain.height + 40));
    let with_imaging = [ring.clone(), vec![imaging.public_key()]].concat();
    let payload = lab.anonymous(id, &with_imaging, &secrets[0], 60);
    assert_eq!(
        fault(lab.contribute_anonymously(payload).unwrap_err()),
        StudyFault::NotEligible {
            member: 3,
            reason: "its pseudonym holds no unerased record of the cohort's categories"
        }
    );
    let stranger = RingSecretKey::generate(&mut seeded_u64(9)).public_key();
    let with_stranger = [ring.clone(), vec![stranger]].concat();
    let payload = lab.anonymous(id, &with_stranger, &secrets[0], 60);
    assert_eq!(
        fault(lab.contribute_anonymously(payload).unwrap_err()),
        StudyFault::NotEligible {
            member: 3,
            reason: "no pseudonym registered this ring key"
        }
    );
    ring.truncate(2);
    let payload = lab.anonymous(id, &ring, &secrets[0], 60);
    assert_eq!(
        fault(lab.contribute_anonymously(payload).unwrap_err()),
        StudyFault::RingTooSmall {
            got: 2,
            required: 3
        }
    );
}

#[test]
fn a_wrong_partial_decryption_is_refused_and_the_honest_ones_still_release_the_exact_sum() {
    let mut lab = Lab::new();
    let (secrets, ring) = cohort(&mut lab);
    let id = lab.approved(sum_only(lab.chain.height + 40));
    for (secret, value) in secrets.iter().zip([50, 60, 70]) {
        let payload = lab.anonymous(id, &ring, secret, value);
        lab.contribute_anonymously(payload).unwrap();
    }
    lab.close(id);
    let (liar_account, honest) = lab.shares[1].clone();
    let wrong_share = Share::new(honest.index, Private::new(Scalar::from_u64(12_345)));
    let lie = lab.partials(id, &wrong_share);
    let liar = lab.validator(&liar_account);
    assert!(matches!(
        fault(lab.chain.err(&liar, lie)),
        StudyFault::BadPartial(_)
    ));
    let shares = lab.shares.clone();
    for index in [0, 2, 3] {
        let (validator, share) = &shares[index];
        let payload = lab.partials(id, share);
        let signer = lab.validator(validator);
        lab.chain.ok(&signer, payload);
    }
    let result = lab
        .study(id)
        .result
        .expect("released by three honest validators");
    assert_eq!(result.totals, vec![180]);
    assert_eq!(result.decrypted_by, vec![0, 2, 3]);
}

#[test]
fn a_study_below_its_minimum_cohort_is_closed_and_never_decrypted() {
    let mut lab = Lab::new();
    let (secrets, ring) = cohort(&mut lab);
    let id = lab.approved(sum_only(lab.chain.height + 40));
    for (secret, value) in secrets[..2].iter().zip([50, 60]) {
        let payload = lab.anonymous(id, &ring, secret, value);
        lab.contribute_anonymously(payload).unwrap();
    }
    assert_eq!(
        lab.close(id),
        Outcome::StudyClosed {
            study: id,
            status: StudyStatus::BelowMinimumCohort,
            values: 2
        }
    );
    let (validator, share) = lab.shares[0].clone();
    let payload = lab.partials(id, &share);
    let signer = lab.validator(&validator);
    assert_eq!(
        fault(lab.chain.err(&signer, payload)),
        StudyFault::NotReleasing {
            status: "closed below its minimum cohort"
        }
    );
    assert_eq!(lab.study(id).result, None);
}

#[test]
fn an_unapproved_study_takes_no_contribution() {
    let mut lab = Lab::new();
    let (secrets, ring) = cohort(&mut lab);
    let id = lab.propose(sum_only(lab.chain.height + 40));
    let mut pretend = lab.study(id);
    // The contributor encrypts to the key in force, as if the study had been approved.
    let key = lab
        .chain
        .query(async |s| query::analytics_key(s).await)
        .unwrap();
    pretend.approval = Some(StudyApproval {
        proposal: ProposalId([0; 32]),
        height: 0,
        key_epoch: key.epoch,
        public_key: key.public_key,
    });
    let payload = study_payloads::anonymous_contribution(
        &mut seeded_u64(1),
        &lab.chain.genesis.chain_id(),
        &pretend,
        &ring,
        &secrets[0],
        60,
    )
    .unwrap();
    assert_eq!(
        fault(lab.contribute_anonymously(payload).unwrap_err()),
        StudyFault::NotOpen {
            status: "proposed (not approved)"
        }
    );
}

#[test]
fn a_partial_decryption_of_anything_but_the_closed_aggregate_is_refused() {
    let mut lab = Lab::new();
    let (secrets, ring) = cohort(&mut lab);
    let id = lab.approved(sum_only(lab.chain.height + 40));
    let mut single = None;
    for (secret, value) in secrets.iter().zip([50, 60, 70]) {
        let payload = lab.anonymous(id, &ring, secret, value);
        if let Payload::ContributeAnonymously { contribution, .. } = &payload {
            single.get_or_insert(contribution.slots[0].ciphertext.clone());
        }
        lab.contribute_anonymously(payload).unwrap();
    }
    let (validator, share) = lab.shares[0].clone();
    let signer = lab.validator(&validator);
    // Before closing, the aggregate is not released.
    let early = lab.partials(id, &share);
    assert_eq!(
        fault(lab.chain.err(&signer, early)),
        StudyFault::NotReleasing { status: "approved" }
    );
    lab.close(id);
    // A partial of the first contribution alone does not verify against the aggregate.
    let mut study = lab.study(id);
    study.aggregates = vec![single.expect("three contributions")];
    let of_one = study_payloads::partial_decryptions(
        &mut seeded_u64(1),
        &lab.chain.genesis.chain_id(),
        &study,
        &share,
    )
    .unwrap();
    assert!(matches!(
        fault(lab.chain.err(&signer, of_one)),
        StudyFault::BadPartial(_)
    ));
}

#[test]
fn a_contribution_after_the_deadline_is_refused() {
    let mut lab = Lab::new();
    let (secrets, ring) = cohort(&mut lab);
    let deadline = lab.chain.height + 40;
    let id = lab.approved(sum_only(deadline));
    let payload = lab.anonymous(id, &ring, &secrets[0], 60);
    lab.chain.advance(deadline + 1 - lab.chain.height);
    assert_eq!(
        fault(lab.contribute_anonymously(payload).unwrap_err()),
        StudyFault::PastDeadline { deadline }
    );
}

#[test]
fn an_anonymous_contribution_from_a_registered_key_is_refused() {
    let mut lab = Lab::new();
    let (secrets, ring) = cohort(&mut lab);
    let id = lab.approved(sum_only(lab.chain.height + 40));
    let payload = lab.anonymous(id, &ring, &secrets[0], 60);
    let researcher = lab.researcher.clone();
    assert_eq!(
        fault(lab.chain.err(&researcher, payload)),
        StudyFault::NotOneTimeSender
    );
}

#[test]
fn the_analytics_key_is_adopted_only_at_2f_plus_1_identical_submissions() {
    let mut chain = Chain::new();
    let v = chain.validators.clone();
    let (output, _) = dealt(7, &v);
    let (other, _) = dealt(8, &v);
    let (sharing, other) = (encoded(&output), encoded(&other));
    let adopted = |submissions, adopted| Outcome::AnalyticsKeySubmitted {
        epoch: 1,
        submissions,
        adopted,
    };
    assert_eq!(chain.ok(&v[0], submit_key(1, &sharing)), adopted(1, false));
    assert_eq!(chain.ok(&v[1], submit_key(1, &other)), adopted(1, false));
    assert_eq!(chain.ok(&v[2], submit_key(1, &sharing)), adopted(2, false));
    assert_eq!(chain.query(async |s| query::analytics_key(s).await), None);
    assert_eq!(
        fault(chain.err(&v[0], submit_key(1, &sharing))),
        StudyFault::AlreadySubmitted
    );
    assert_eq!(chain.ok(&v[3], submit_key(1, &sharing)), adopted(3, true));
    let key = chain
        .query(async |s| query::analytics_key(s).await)
        .unwrap();
    assert_eq!(key.output.as_ref(), sharing.as_slice());
    assert_eq!(
        key.sharing.as_ref(),
        commonware_codec::Encode::encode(output.public()).as_ref()
    );
    assert_eq!(key.participants.len(), 4);
    assert_eq!(
        fault(chain.err(&v[1], submit_key(1, &sharing))),
        StudyFault::StaleAnalyticsKey { current: 1, got: 1 }
    );
    let outsider = key_for_outsider();
    assert!(matches!(
        chain.err(&outsider, submit_key(2, &sharing)),
        TxError::NotAuthorized(_)
    ));
}

#[test]
fn the_analytics_key_quorum_is_the_dkg_quorum_for_every_set_size() {
    use commonware_utils::Faults as _;
    let lab = Lab::new();
    let one = lab
        .chain
        .query(async |s| query::validators(s).await)
        .validators[0]
        .clone();
    for n in 1..=limits::VALIDATORS_MAX {
        let set = ValidatorSet {
            validators: vec![one.clone(); n],
        };
        assert_eq!(set.agreement_quorum(), N3f1::quorum(n) as usize, "n = {n}");
        // Two quorums overlap in more than the f validators that may be byzantine.
        let faults = N3f1::max_faults(n) as usize;
        assert!(2 * set.agreement_quorum() - n > faults, "n = {n}");
    }
}

fn key_for_outsider() -> PrivateKey {
    key(999)
}

#[test]
fn an_analytics_key_for_another_set_size_or_threshold_is_refused() {
    let mut chain = Chain::new();
    let v = chain.validators.clone();
    let (three, _) = dealt(1, &v[..3]);
    assert_eq!(
        fault(chain.err(&v[0], submit_key(1, &encoded(&three)))),
        StudyFault::BadAnalyticsKey("its 3 players are not the 4 current validators".into())
    );
    // Four players, one of them not a validator: a share would go to an outsider.
    let with_outsider = [v[0].clone(), v[1].clone(), v[2].clone(), key_for_outsider()];
    let (outsider, _) = dealt(2, &with_outsider);
    assert_eq!(
        fault(chain.err(&v[0], submit_key(1, &encoded(&outsider)))),
        StudyFault::BadAnalyticsKey("its 4 players are not the 4 current validators".into())
    );
    for garbage in [&b"not an output"[..], &[]] {
        assert!(matches!(
            fault(chain.err(&v[0], submit_key(1, garbage))),
            StudyFault::BadAnalyticsKey(reason) if reason.starts_with("it is not an encoded DKG output")
        ));
    }
    // A bare sharing, as an earlier release submitted, is not an output.
    let bare = commonware_codec::Encode::encode(three.public()).to_vec();
    assert!(matches!(
        fault(chain.err(&v[0], submit_key(1, &bare))),
        StudyFault::BadAnalyticsKey(_)
    ));
}

#[test]
fn a_ring_key_needs_its_own_proof_and_is_registered_once() {
    let mut lab = Lab::new();
    let patient = lab.chain.patient(ST_MARY, 410);
    let other = lab.chain.patient(ST_MARY, 411);
    let secret = RingSecretKey::generate(&mut seeded_u64(410));
    let chain_id = lab.chain.genesis.chain_id();
    // A proof made for another pseudonym's account does not register the key for this one.
    let for_other =
        study_payloads::register_ring_key(&mut seeded_u64(1), &chain_id, &account(&other), &secret)
            .unwrap();
    assert!(matches!(
        fault(lab.chain.err(&patient, for_other)),
        StudyFault::BadRingKey(_)
    ));
    let own = study_payloads::register_ring_key(
        &mut seeded_u64(2),
        &chain_id,
        &account(&patient),
        &secret,
    )
    .unwrap();
    assert_eq!(
        lab.chain.ok(&patient, own.clone()),
        Outcome::RingKeyRegistered {
            pseudonym: account(&patient)
        }
    );
    assert_eq!(
        fault(lab.chain.err(&patient, own)),
        StudyFault::RingKeyAlreadyRegistered
    );
    let taken =
        study_payloads::register_ring_key(&mut seeded_u64(3), &chain_id, &account(&other), &secret)
            .unwrap();
    assert_eq!(
        fault(lab.chain.err(&other, taken)),
        StudyFault::RingKeyTaken
    );
    let researcher = lab.researcher.clone();
    let not_a_pseudonym = study_payloads::register_ring_key(
        &mut seeded_u64(4),
        &chain_id,
        &account(&researcher),
        &secret,
    )
    .unwrap();
    assert!(matches!(
        lab.chain.err(&researcher, not_a_pseudonym),
        TxError::UnknownPseudonym(_)
    ));
}

#[test]
fn only_a_researcher_proposes_and_only_with_an_analytics_key_is_a_study_approved() {
    let mut chain = Chain::new();
    let admin = chain.st_mary_admin.clone();
    let researcher = chain.member(&admin, 300, Role::Researcher);
    let clinician = chain.clinician(&admin, 301);
    let spec = sum_only(chain.height + 40);
    assert!(matches!(
        chain.err(&clinician, Payload::ProposeStudy { spec: spec.clone() }),
        TxError::NotAuthorized(_)
    ));
    let Outcome::StudyProposed { study } = chain.ok(&researcher, Payload::ProposeStudy { spec })
    else {
        panic!("proposed")
    };
    let validator = chain.validators[0].clone();
    let error = chain.err(
        &validator,
        Payload::ProposeMembership {
            change: MembershipChange::ApproveStudy { study },
            ttl_blocks: 10,
        },
    );
    assert!(matches!(error, TxError::InvalidChange(reason) if reason.contains("no analytics key")));
}

// Limits: each at the limit and one past it.

fn propose_spec(lab: &mut Lab, spec: StudySpec) -> Result<Outcome, TxError> {
    let researcher = lab.researcher.clone();
    lab.chain.run(&researcher, Payload::ProposeStudy { spec })
}

#[test]
fn the_deadline_may_lie_up_to_study_deadline_max_blocks_ahead() {
    let mut lab = Lab::new();
    let at = lab.chain.height + limits::STUDY_DEADLINE_MAX_BLOCKS;
    assert!(propose_spec(&mut lab, sum_only(at)).is_ok());
    let past = lab.chain.height + limits::STUDY_DEADLINE_MAX_BLOCKS + 1;
    assert!(matches!(
        fault(propose_spec(&mut lab, sum_only(past)).unwrap_err()),
        StudyFault::Unrunnable(_)
    ));
    let now = lab.chain.height;
    assert!(matches!(
        fault(propose_spec(&mut lab, sum_only(now)).unwrap_err()),
        StudyFault::Unrunnable(_)
    ));
}

#[test]
fn the_release_table_may_reach_study_dlog_table_entries_max_and_no_further() {
    let mut lab = Lab::new();
    let deadline = lab.chain.height + 40;
    // values_max 3 × width 1,431,655,765 = 2^32 − 1: exactly 2^16 baby steps.
    let at = StudySpec {
        lo: 0,
        hi: 1_431_655_765,
        values_max: 3,
        ..sum_only(deadline)
    };
    assert!(propose_spec(&mut lab, at.clone()).is_ok());
    let past = StudySpec {
        hi: 1_431_655_766,
        ..at
    };
    let StudyFault::Unrunnable(reason) = fault(propose_spec(&mut lab, past).unwrap_err()) else {
        panic!("refused as unrunnable")
    };
    assert!(
        reason.contains("65537 discrete-log table entries"),
        "{reason}"
    );
}

#[test]
fn spec_limits_hold_at_the_limit_and_refuse_one_past() {
    let base = sum_only(100);
    let ok = |spec: &StudySpec| spec.validate();
    let ring_at = StudySpec {
        ring_size: limits::STUDY_RING_SIZE_MAX_MEMBERS as u32,
        ..base.clone()
    };
    assert_eq!(ok(&ring_at), Ok(()));
    let ring_past = StudySpec {
        ring_size: limits::STUDY_RING_SIZE_MAX_MEMBERS as u32 + 1,
        ..base.clone()
    };
    assert_eq!(
        ok(&ring_past),
        Err(ValidationError::LimitExceeded {
            limit: "study_ring_size_max_members",
            max: limits::STUDY_RING_SIZE_MAX_MEMBERS as u64,
            got: limits::STUDY_RING_SIZE_MAX_MEMBERS as u64 + 1
        })
    );
    let ring_min = StudySpec {
        ring_size: limits::STUDY_RING_SIZE_MIN_MEMBERS as u32,
        ..base.clone()
    };
    assert_eq!(ok(&ring_min), Ok(()));
    let ring_one = StudySpec {
        ring_size: 1,
        ..base.clone()
    };
    assert!(ok(&ring_one).is_err());
    let k_at = StudySpec {
        min_cohort: limits::STUDY_MIN_COHORT_MIN,
        ..base.clone()
    };
    assert_eq!(ok(&k_at), Ok(()));
    let k_below = StudySpec {
        min_cohort: limits::STUDY_MIN_COHORT_MIN - 1,
        ..base.clone()
    };
    assert!(ok(&k_below).is_err());
    let values_at = StudySpec {
        values_max: limits::STUDY_VALUES_MAX,
        ..base.clone()
    };
    assert_eq!(ok(&values_at), Ok(()));
    let values_past = StudySpec {
        values_max: limits::STUDY_VALUES_MAX + 1,
        ..base.clone()
    };
    assert!(matches!(
        ok(&values_past),
        Err(ValidationError::LimitExceeded {
            limit: "study_values_max",
            ..
        })
    ));
    let edges = |n: u64| (0..n).map(|i| 40 + i).collect::<Vec<_>>();
    let buckets_at = StudySpec {
        histogram: edges(limits::STUDY_HISTOGRAM_BUCKETS_MAX as u64),
        ..base.clone()
    };
    assert_eq!(ok(&buckets_at), Ok(()));
    let buckets_past = StudySpec {
        histogram: edges(limits::STUDY_HISTOGRAM_BUCKETS_MAX as u64 + 1),
        ..base.clone()
    };
    assert!(matches!(
        ok(&buckets_past),
        Err(ValidationError::LimitExceeded {
            limit: "study_histogram_buckets_max",
            ..
        })
    ));
}

#[test]
fn an_anonymous_ring_may_reach_study_ring_size_max_members_and_no_further() {
    let ring = |members: usize| Payload::ContributeAnonymously {
        study: StudyId([1; 32]),
        ring: vec![[7; 32]; members],
        ring_signature: bytes::Bytes::new(),
        contribution: StudyContribution {
            slots: vec![],
            bucket_total_proof: bytes::Bytes::new(),
        },
    };
    assert_eq!(ring(limits::STUDY_RING_SIZE_MAX_MEMBERS).validate(), Ok(()));
    assert_eq!(
        ring(limits::STUDY_RING_SIZE_MAX_MEMBERS + 1).validate(),
        Err(ValidationError::LimitExceeded {
            limit: "study_ring_size_max_members",
            max: limits::STUDY_RING_SIZE_MAX_MEMBERS as u64,
            got: limits::STUDY_RING_SIZE_MAX_MEMBERS as u64 + 1
        })
    );
}

#[test]
fn a_partial_decryption_list_may_reach_study_partials_max_and_no_further() {
    let post = |count: usize| Payload::PostPartialDecryption {
        study: StudyId([1; 32]),
        partials: vec![vec![0u8; limits::STUDY_PARTIAL_SIZE_BYTES].into(); count],
    };
    assert_eq!(post(limits::STUDY_PARTIALS_MAX).validate(), Ok(()));
    assert!(matches!(
        post(limits::STUDY_PARTIALS_MAX + 1).validate(),
        Err(ValidationError::LimitExceeded {
            limit: "study_partials_max",
            ..
        })
    ));
}

#[test]
fn study_payloads_round_trip_through_the_codec_under_their_tags() {
    use commonware_codec::{DecodeExt, Encode};
    let lab = Lab::new();
    let payloads = [
        (submit_key(3, &encoded(&lab.output)), 17u8),
        (Payload::ProposeStudy { spec: hba1c(90) }, 18),
        (
            Payload::CloseStudy {
                study: StudyId([2; 32]),
            },
            21,
        ),
    ];
    for (payload, tag) in payloads {
        let bytes = payload.encode();
        assert_eq!(bytes[0], tag, "{}", payload.kind());
        assert_eq!(Payload::decode(bytes).unwrap(), payload);
    }
}

#[test]
fn an_institution_contributes_once_and_only_inside_the_cohort() {
    let mut lab = Lab::new();
    let spec = StudySpec {
        cohort: CohortFilter {
            categories: vec![],
            institutions: vec![inst(CITY_LAB)],
        },
        ..sum_only(lab.chain.height + 40)
    };
    let id = lab.approved(spec);
    let city_lab = lab.chain.city_lab_admin.clone();
    let payload = lab.institutional(id, &[90, 41]);
    lab.chain.ok(&city_lab, payload);
    let again = lab.institutional(id, &[70]);
    assert_eq!(
        fault(lab.chain.err(&city_lab, again)),
        StudyFault::InstitutionAlreadyContributed(inst(CITY_LAB))
    );
    let st_mary = lab.chain.st_mary_admin.clone();
    let outside = lab.institutional(id, &[70]);
    assert_eq!(
        fault(lab.chain.err(&st_mary, outside)),
        StudyFault::InstitutionOutsideCohort(inst(ST_MARY))
    );
}

#[test]
fn histogram_buckets_that_do_not_add_up_to_the_declared_count_are_refused() {
    let mut lab = Lab::new();
    let id = lab.approved(hba1c(lab.chain.height + 40));
    // Two honest one-value contributions in buckets 0 and 1; the forgery takes the first's
    // slots and the second's bucket 1, so two buckets hold 1: each slot proof still verifies,
    // the bucket-total proof (for the first's buckets) does not.
    let Payload::ContributeToStudy {
        contribution: low, ..
    } = lab.institutional(id, &[45])
    else {
        unreachable!()
    };
    let Payload::ContributeToStudy {
        contribution: mid, ..
    } = lab.institutional(id, &[70])
    else {
        unreachable!()
    };
    let mut forged = low.clone();
    forged.slots[3] = mid.slots[3].clone();
    let city_lab = lab.chain.city_lab_admin.clone();
    let payload = Payload::ContributeToStudy {
        study: id,
        values: 1,
        contribution: forged,
    };
    assert!(matches!(
        fault(lab.chain.err(&city_lab, payload)),
        StudyFault::BadProof(_)
    ));
    let honest = Payload::ContributeToStudy {
        study: id,
        values: 1,
        contribution: low,
    };
    assert_eq!(
        lab.chain.ok(&city_lab, honest),
        Outcome::StudyContributed {
            study: id,
            values: 1,
            contributions: 1
        }
    );
}

#[test]
fn an_erased_record_takes_its_pseudonym_out_of_the_cohort() {
    let mut lab = Lab::new();
    let (secrets, ring) = cohort(&mut lab);
    let id = lab.approved(sum_only(lab.chain.height + 40));
    // Patient 402 (ring member 2) erases its only laboratory record.
    let record = lab.records[&402];
    lab.chain.ok(&key(402), Payload::EraseRecord { record });
    let payload = lab.anonymous(id, &ring, &secrets[0], 60);
    assert_eq!(
        fault(lab.contribute_anonymously(payload).unwrap_err()),
        StudyFault::NotEligible {
            member: 2,
            reason: "its pseudonym holds no unerased record of the cohort's categories"
        }
    );
}

#[test]
fn below_a_quorum_of_partials_the_release_waits_and_reveals_nothing() {
    let mut lab = Lab::new();
    let (secrets, ring) = cohort(&mut lab);
    let id = lab.approved(sum_only(lab.chain.height + 40));
    for (secret, value) in secrets.iter().zip([50, 60, 70]) {
        let payload = lab.anonymous(id, &ring, secret, value);
        lab.contribute_anonymously(payload).unwrap();
    }
    lab.close(id);
    let shares = lab.shares.clone();
    for (posted, (validator, share)) in shares[..2].iter().enumerate() {
        let payload = lab.partials(id, share);
        let signer = lab.validator(validator);
        assert_eq!(
            lab.chain.ok(&signer, payload.clone()),
            Outcome::PartialDecryptionPosted {
                study: id,
                posted: posted + 1,
                released: false
            }
        );
        assert_eq!(
            fault(lab.chain.err(&signer, payload)),
            StudyFault::AlreadyPosted
        );
    }
    let study = lab.study(id);
    assert_eq!((study.status, study.result), (StudyStatus::Releasing, None));
}

#[test]
fn a_fresh_key_cannot_replace_the_adopted_one_and_a_resharing_of_it_releases_studies() {
    let mut lab = Lab::new();
    let (secrets, ring) = cohort(&mut lab);
    let id = lab.approved(sum_only(lab.chain.height + 40));
    for (secret, value) in secrets.iter().zip([50, 60, 70]) {
        let payload = lab.anonymous(id, &ring, secret, value);
        lab.contribute_anonymously(payload).unwrap();
    }
    lab.close(id);
    let validators = lab.chain.validators.clone();
    // A fresh DKG (another secret) would leave the study's ciphertexts undecryptable.
    let (fresh, _) = dealt(99, &validators);
    assert!(matches!(
        fault(lab.chain.err(&validators[0], submit_key(2, &encoded(&fresh)))),
        StudyFault::BadAnalyticsKey(reason) if reason.starts_with("a resharing must keep the consortium's public key")
    ));
    // A resharing of the same secret (the holders deal their shares again) is adopted.
    let (output, shares) = reshared(5, 2, &lab.output, &lab.shares, &validators, &validators);
    assert_eq!(output.public().public(), lab.output.public().public());
    for validator in &validators[..3] {
        lab.chain.ok(validator, submit_key(2, &encoded(&output)));
    }
    let key = lab
        .chain
        .query(async |s| query::analytics_key(s).await)
        .unwrap();
    assert_eq!(key.epoch, 2);
    // A partial from a share of the previous round no longer verifies: each holder's share
    // changed, only the secret did not.
    let (validator, old_share) = lab.shares[0].clone();
    let stale = lab.partials(id, &old_share);
    let signer = lab.validator(&validator);
    assert!(matches!(
        fault(lab.chain.err(&signer, stale)),
        StudyFault::BadPartial(_)
    ));
    lab.shares = shares;
    let result = lab.release(id);
    assert_eq!(
        result.totals[0], 180,
        "the reshared key decrypts what the old one encrypted"
    );
}

/// Runs the same study twice from the same seeds; returns the state root and the result.
fn run_study_from_seeds() -> ([u8; 32], StudyResult) {
    let mut lab = Lab::new();
    let (secrets, ring) = cohort(&mut lab);
    let id = lab.approved(hba1c(lab.chain.height + 40));
    for (secret, value) in secrets.iter().zip([41, 99, 200]) {
        let payload = lab.anonymous(id, &ring, secret, value);
        lab.contribute_anonymously(payload).unwrap();
    }
    lab.close(id);
    let result = lab.release(id);
    (lab.chain.store.root(), result)
}

#[test]
fn a_study_replays_to_the_same_state_root_and_result() {
    let (root, result) = run_study_from_seeds();
    assert_eq!(
        result.totals,
        vec![340, 41 * 41 + 99 * 99 + 200 * 200, 1, 1, 1]
    );
    assert_eq!(run_study_from_seeds(), (root, result));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(6))]
        #[test]
        fn any_values_in_range_release_their_exact_aggregates(values in proptest::collection::vec(40u64..=200, 3)) {
            let mut lab = Lab::new();
            let (secrets, ring) = cohort(&mut lab);
            let spec = hba1c(lab.chain.height + 40);
            let id = lab.approved(spec.clone());
            for (secret, value) in secrets.iter().zip(&values) {
                let payload = lab.anonymous(id, &ring, secret, *value);
                lab.contribute_anonymously(payload).unwrap();
            }
            lab.close(id);
            let result = lab.release(id);
            let mut expected = vec![values.iter().sum(), values.iter().map(|v| v * v).sum()];
            for bucket in 0..spec.histogram.len() {
                expected.push(values.iter().filter(|v| spec.bucket_of(**v) == Some(bucket)).count() as u64);
            }
            prop_assert_eq!(result.totals, expected);
            prop_assert_eq!(result.values, 3);
        }
    }
}

#[test]
fn an_anonymous_contribution_passes_admission_from_a_fresh_key_and_writes_nothing() {
    let mut lab = Lab::new();
    let (secrets, ring) = cohort(&mut lab);
    let id = lab.approved(sum_only(lab.chain.height + 40));
    let payload = lab.anonymous(id, &ring, &secrets[0], 60);
    let sender = lab.one_time_key();
    let tx = lab.chain.tx(&sender, payload);
    let root = lab.chain.store.root();
    let env = lab.chain.env();
    assert_eq!(
        futures::executor::block_on(check_transaction(&lab.chain.store, &env, &tx)),
        Ok(())
    );
    assert_eq!(lab.chain.store.root(), root);
    assert_eq!(lab.study(id).values, 0);
}

/// A node remembers proofs it verified at admission and does not check them again when the
/// block executes: the outcome is the same, and a refusal is never remembered.
#[test]
fn proofs_verified_at_admission_execute_the_same_and_refusals_are_not_remembered() {
    let mut lab = Lab::new();
    let (secrets, ring) = cohort(&mut lab);
    let id = lab.approved(sum_only(lab.chain.height + 40));
    let env = lab.chain.env();
    // A proof for [40, 300] of 250, validly ring-signed: the range proof is what fails.
    let mut wider = lab.study(id);
    wider.spec.hi = 300;
    let out_of_range = study_payloads::anonymous_contribution(
        &mut seeded_u64(2),
        &lab.chain.genesis.chain_id(),
        &wider,
        &ring,
        &secrets[1],
        250,
    )
    .unwrap();
    let tamperer = lab.one_time_key();
    let refused = lab.chain.tx(&tamperer, out_of_range);
    for attempt in 0..2 {
        let outcome =
            futures::executor::block_on(check_transaction(&lab.chain.store, &env, &refused));
        assert!(
            matches!(fault(outcome.unwrap_err()), StudyFault::BadProof(_)),
            "attempt {attempt}"
        );
    }
    assert!(lab.chain.block(std::slice::from_ref(&refused)).is_err());
    let sender = lab.one_time_key();
    let payload = lab.anonymous(id, &ring, &secrets[1], 70);
    let admitted = lab.chain.tx(&sender, payload);
    for _ in 0..2 {
        assert_eq!(
            futures::executor::block_on(check_transaction(&lab.chain.store, &env, &admitted)),
            Ok(())
        );
    }
    let receipts = lab.chain.block(std::slice::from_ref(&admitted)).unwrap();
    assert!(matches!(
        receipts[0].outcome,
        Outcome::StudyContributed { values: 1, .. }
    ));
    assert_eq!(lab.study(id).values, 1);
}

/// A block's anonymous contributions are checked ahead in one batch: a bad one among them is
/// still refused at its own index with its own reason, and the honest ones then execute.
#[test]
fn a_block_of_contributions_with_one_bad_proof_is_refused_at_its_index() {
    let mut lab = Lab::new();
    let (secrets, ring) = cohort(&mut lab);
    let id = lab.approved(sum_only(lab.chain.height + 40));
    let mut wider = lab.study(id);
    wider.spec.hi = 300;
    let bad = study_payloads::anonymous_contribution(
        &mut seeded_u64(3),
        &lab.chain.genesis.chain_id(),
        &wider,
        &ring,
        &secrets[2],
        250,
    )
    .unwrap();
    let mut honest = Vec::new();
    for (index, value) in [(0usize, 41u64), (1, 150)] {
        let payload = lab.anonymous(id, &ring, &secrets[index], value);
        let sender = lab.one_time_key();
        honest.push(lab.chain.tx(&sender, payload));
    }
    let sender = lab.one_time_key();
    let bad = lab.chain.tx(&sender, bad);
    let block = [honest[0].clone(), bad, honest[1].clone()];
    let refused = lab.chain.block(&block).unwrap_err();
    assert_eq!(refused.index, 1);
    assert!(matches!(fault(refused.error), StudyFault::BadProof(_)));
    assert_eq!(
        lab.study(id).values,
        0,
        "nothing of the refused block was applied"
    );
    let receipts = lab.chain.block(&honest).unwrap();
    assert_eq!(receipts.len(), 2);
    assert_eq!(lab.study(id).values, 2);
}

#[test]
fn the_output_size_limit_holds_the_largest_dkg_output_the_ledger_admits() {
    let max = std::num::NonZeroU32::new(limits::VALIDATORS_MAX as u32).unwrap();
    assert!(
        DkgOutput::max_encode_size(max) <= limits::ANALYTICS_KEY_OUTPUT_SIZE_MAX_BYTES,
        "{} bytes",
        DkgOutput::max_encode_size(max)
    );
}
