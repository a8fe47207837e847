//! Property tests: execution is a pure function of the blocks, and the order of
//! independent senders' transactions does not change what they achieve.
//! Seeded (`PROPTEST_SEED`) so every run explores the same cases.

#[allow(dead_code)]
#[path = "rules/harness.rs"]
mod harness;

use commonware_cryptography::ed25519::PrivateKey;
use futures::executor::block_on;
use harness::*;
use medchain_state::*;
use medchain_types::*;
use proptest::prelude::*;

const PROPTEST_SEED: u64 = 0x7374_6174_655f_7631;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        rng_seed: proptest::test_runner::RngSeed::Fixed(PROPTEST_SEED),
        ..ProptestConfig::default()
    }
}

/// One step of a random workload; indices pick from small fixed casts.
#[derive(Clone, Debug)]
enum Op {
    RegisterPatient(usize),
    EnableEmergency(usize),
    CreateRecord(usize, usize),
    Grant(usize, usize),
    RevokeFirstConsent(usize),
    Request(usize, usize, bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (0..4usize).prop_map(Op::RegisterPatient),
        2 => (0..4usize).prop_map(Op::EnableEmergency),
        2 => (0..2usize, 0..4usize).prop_map(|(c, p)| Op::CreateRecord(c, p)),
        2 => (0..4usize, 0..2usize).prop_map(|(p, c)| Op::Grant(p, c)),
        2 => (0..4usize).prop_map(Op::RevokeFirstConsent),
        4 => (0..2usize, 0..8usize, any::<bool>()).prop_map(|(c, r, e)| Op::Request(c, r, e)),
    ]
}

struct World {
    chain: Chain,
    clinicians: Vec<PrivateKey>,
    patients: Vec<PrivateKey>,
    records: Vec<RecordId>,
}

fn world() -> World {
    let mut chain = Chain::new();
    let admin = chain.st_mary_admin.clone();
    let clinicians = vec![chain.clinician(&admin, 900), chain.clinician(&admin, 901)];
    // Three of four patients are registered up front so most random steps can succeed.
    let mut patients: Vec<PrivateKey> = (0..3).map(|i| chain.patient(ST_MARY, 950 + i)).collect();
    patients.push(key(953));
    World {
        chain,
        clinicians,
        patients,
        records: Vec::new(),
    }
}

impl World {
    /// Turns ops into signed candidates, one per sender per block, with live nonces.
    fn candidates(&self, ops: &[Op]) -> Vec<SignedTransaction> {
        let mut used = std::collections::BTreeSet::new();
        let mut txs = Vec::new();
        for op in ops {
            let (signer, payload) = self.payload(op);
            let Some(payload) = payload else { continue };
            let sender = account(&signer);
            if !used.insert(sender.clone()) {
                continue;
            }
            let nonce = block_on(query::next_nonce(&self.chain.store, &sender)).unwrap();
            let tx = Transaction {
                chain_id: self.chain.genesis.chain_id(),
                sender,
                nonce,
                payload,
            };
            txs.push(SignedTransaction::sign(&signer, tx));
        }
        txs
    }

    fn payload(&self, op: &Op) -> (PrivateKey, Option<Payload>) {
        match op {
            Op::RegisterPatient(p) => (
                self.patients[*p].clone(),
                Some(self.chain.pseudonym_payload(
                    ST_MARY,
                    950 + *p as u64,
                    &self.chain.st_mary_admin,
                )),
            ),
            Op::EnableEmergency(p) => (
                self.patients[*p].clone(),
                Some(Payload::SetEmergencyAccess {
                    institution: inst(ST_MARY),
                    enabled: true,
                }),
            ),
            Op::CreateRecord(c, p) => (
                self.clinicians[*c].clone(),
                Some(
                    self.chain
                        .record_payload(&self.patients[*p], RecordCategory::Encounter),
                ),
            ),
            Op::Grant(p, c) => {
                let fragments = self.chain.fragments(2);
                let payload = Payload::GrantConsent {
                    policy: permit_person(&self.clinicians[*c]),
                    fragment_commitments: fragments,
                };
                (self.patients[*p].clone(), Some(payload))
            }
            Op::RevokeFirstConsent(p) => {
                let consents = block_on(query::patient_consents(
                    &self.chain.store,
                    &account(&self.patients[*p]),
                ))
                .unwrap();
                let payload = consents
                    .first()
                    .map(|c| Payload::RevokeConsent { consent: c.id });
                (self.patients[*p].clone(), payload)
            }
            Op::Request(c, r, emergency) => {
                let payload = (!self.records.is_empty()).then(|| {
                    let (purpose, justification) = if *emergency {
                        (Purpose::Etreat, Some("suspected sepsis".to_string()))
                    } else {
                        (Purpose::Treat, None)
                    };
                    Payload::RequestAccess {
                        record: self.records[r % self.records.len()],
                        purpose,
                        justification,
                    }
                });
                (self.clinicians[*c].clone(), payload)
            }
        }
    }
}

proptest! {
    #![proptest_config(config(24))]

    /// Proposer builds blocks from a random workload; a verifier replays them from
    /// genesis; a second verifier replays again. Same roots and receipts every block.
    #[test]
    fn replaying_the_same_blocks_gives_the_same_root(blocks in prop::collection::vec(prop::collection::vec(op(), 1..6), 1..10)) {
        let mut proposer = world();
        let genesis_store = proposer.chain.store.clone();
        let (mut first, mut second) = (genesis_store.clone(), genesis_store);
        for ops in &blocks {
            let candidates = proposer.candidates(ops);
            let env = proposer.chain.env();
            let built = block_on(build_block(&mut proposer.chain.store, &env, candidates));
            let txs: Vec<SignedTransaction> = built.included.iter().map(|(tx, _)| tx.clone()).collect();
            let receipts: Vec<Receipt> = built.included.iter().map(|(_, r)| r.clone()).collect();
            for receipt in &receipts {
                if let Outcome::RecordCreated { record } = receipt.outcome {
                    proposer.records.push(record);
                }
            }
            prop_assert_eq!(&block_on(execute_block(&mut first, &env, &txs)).unwrap(), &receipts);
            prop_assert_eq!(&block_on(execute_block(&mut second, &env, &txs)).unwrap(), &receipts);
            prop_assert_eq!(first.root(), proposer.chain.store.root());
            prop_assert_eq!(second.root(), first.root());
            proposer.chain.advance(1);
        }
    }
}

/// Each patient's own script: register, enable emergency access, grant, revoke.
fn patient_script(chain: &Chain, seed: u64, clinician: &PrivateKey) -> Vec<SignedTransaction> {
    let patient = &key(seed);
    let payloads = [
        chain.pseudonym_payload(ST_MARY, seed, &chain.st_mary_admin),
        Payload::SetEmergencyAccess {
            institution: inst(CITY_LAB),
            enabled: true,
        },
        Payload::GrantConsent {
            policy: permit_person(clinician),
            fragment_commitments: chain.fragments(2),
        },
        Payload::GrantConsent {
            policy: permit_person(patient),
            fragment_commitments: chain.fragments(3),
        },
    ];
    let mut txs: Vec<SignedTransaction> = payloads
        .into_iter()
        .enumerate()
        .map(|(nonce, payload)| {
            let tx = Transaction {
                chain_id: chain.genesis.chain_id(),
                sender: account(patient),
                nonce: nonce as u64,
                payload,
            };
            SignedTransaction::sign(patient, tx)
        })
        .collect();
    let first_grant = ConsentId::for_grant(&chain.genesis.chain_id(), &account(patient), 2);
    let revoke = Transaction {
        chain_id: chain.genesis.chain_id(),
        sender: account(patient),
        nonce: 4,
        payload: Payload::RevokeConsent {
            consent: first_grant,
        },
    };
    txs.push(SignedTransaction::sign(patient, revoke));
    txs
}

/// Interleaves the scripts by sorting (key, patient) pairs: each patient keeps its own order.
fn interleave(scripts: &[Vec<SignedTransaction>], keys: &[u32]) -> Vec<SignedTransaction> {
    let owners = scripts
        .iter()
        .enumerate()
        .flat_map(|(patient, script)| script.iter().map(move |_| patient));
    let mut slots: Vec<(u32, usize)> = keys.iter().copied().zip(owners).collect();
    slots.sort();
    let mut next = vec![0usize; scripts.len()];
    slots
        .into_iter()
        .map(|(_, patient)| {
            next[patient] += 1;
            scripts[patient][next[patient] - 1].clone()
        })
        .collect()
}

/// What the patients achieved, without the heights at which it happened.
fn achieved(store: &MemoryStore, patients: &[PrivateKey]) -> Vec<String> {
    patients
        .iter()
        .map(|p| {
            let who = account(p);
            let pseudonym = block_on(query::pseudonym(store, &who))
                .unwrap()
                .map(|e| e.institution);
            let emergency =
                block_on(query::emergency_access(store, &who, &inst(CITY_LAB))).unwrap();
            let consents: Vec<(ConsentId, ConsentPolicy, usize)> =
                block_on(query::patient_consents(store, &who))
                    .unwrap()
                    .into_iter()
                    .map(|c| (c.id, c.policy, c.fragments.len()))
                    .collect();
            let nonce = block_on(query::next_nonce(store, &who)).unwrap();
            format!("{who} {pseudonym:?} {emergency} {consents:?} {nonce}")
        })
        .collect()
}

const PATIENTS: usize = 3;
const SCRIPT_LEN: usize = 5;

proptest! {
    #![proptest_config(config(32))]

    /// One transaction per block, in any interleaving: every patient ends in the same state
    /// (registration, emergency access, active consents, nonce). Heights differ by design.
    #[test]
    fn independent_senders_in_any_order_across_blocks_end_in_the_same_state(keys in prop::collection::vec(any::<u32>(), PATIENTS * SCRIPT_LEN)) {
        let base = Chain::new();
        let clinician = key(960);
        let patients: Vec<PrivateKey> = (0..PATIENTS as u64).map(|i| key(970 + i)).collect();
        let scripts: Vec<Vec<SignedTransaction>> = (0..PATIENTS as u64).map(|i| patient_script(&base, 970 + i, &clinician)).collect();
        let mut in_order = Chain::new();
        for tx in scripts.concat() {
            in_order.block(&[tx]).unwrap();
        }
        let mut shuffled = Chain::new();
        for tx in interleave(&scripts, &keys) {
            shuffled.block(&[tx]).unwrap();
        }
        prop_assert_eq!(achieved(&shuffled.store, &patients), achieved(&in_order.store, &patients));
    }

    /// Within one block (one height, one time) any interleaving gives the identical root.
    #[test]
    fn independent_senders_in_any_order_within_a_block_give_the_same_root(keys in prop::collection::vec(any::<u32>(), PATIENTS * SCRIPT_LEN)) {
        let base = Chain::new();
        let clinician = key(960);
        let scripts: Vec<Vec<SignedTransaction>> = (0..PATIENTS as u64).map(|i| patient_script(&base, 970 + i, &clinician)).collect();
        let mut in_order = Chain::new();
        in_order.block(&scripts.concat()).unwrap();
        let mut shuffled = Chain::new();
        shuffled.block(&interleave(&scripts, &keys)).unwrap();
        prop_assert_eq!(shuffled.store.root(), in_order.store.root());
    }
}
