//! A small consortium for the rule tests: two hospitals and a lab, four
//! validators, one transaction per block, deterministic keys from seeds.

use commonware_cryptography::{Signer, ed25519::PrivateKey};
use futures::executor::block_on;
use medchain_state::*;
use medchain_types::*;
use std::collections::BTreeMap;

pub fn key(seed: u64) -> PrivateKey {
    PrivateKey::from_seed(seed)
}

pub fn account(key: &PrivateKey) -> AccountId {
    AccountId(key.public_key())
}

pub fn inst(slug: &str) -> InstitutionId {
    InstitutionId::new(slug).expect("test slugs are valid")
}

pub const ST_MARY: &str = "st-mary";
pub const CITY_LAB: &str = "city-lab";
pub const NORTH: &str = "north-clinic";
pub const START_MS: u64 = 1_700_000_000_000;
pub const BLOCK_MS: u64 = 1_000;

pub struct Chain {
    pub store: MemoryStore,
    pub genesis: Genesis,
    pub height: u64,
    pub time_ms: u64,
    pub validators: Vec<PrivateKey>,
    pub st_mary_admin: PrivateKey,
    pub city_lab_admin: PrivateKey,
    pub north_admin: PrivateKey,
    nonces: BTreeMap<AccountId, u64>,
}

pub fn genesis_for(
    validators: &[PrivateKey],
    admins: &[(&str, InstitutionKind, &PrivateKey)],
) -> Genesis {
    Genesis {
        chain_name: "medchain-test".into(),
        genesis_time_ms: START_MS,
        institutions: admins
            .iter()
            .map(|(slug, kind, admin)| GenesisInstitution {
                id: inst(slug),
                kind: *kind,
                admin: account(admin),
            })
            .collect(),
        validators: validators
            .iter()
            .enumerate()
            .map(|(i, v)| GenesisValidator {
                account: account(v),
                institution: inst(if i % 2 == 0 { ST_MARY } else { CITY_LAB }),
                p2p_address: format!("127.0.0.1:{}", 3000 + i),
                http_address: format!("127.0.0.1:{}", 8080 + i),
                // Distinct per validator so a test can tell whose key an entry carries.
                encryption_key: [0x40 + i as u8; 32],
            })
            .collect(),
        observers: vec![],
        members: vec![],
        epoch_length_blocks: medchain_types::limits::EPOCH_LENGTH_DEFAULT_BLOCKS,
    }
}

impl Chain {
    pub fn new() -> Self {
        Self::with_validators(4)
    }

    pub fn with_validators(count: u64) -> Self {
        let validators: Vec<PrivateKey> = (0..count).map(|i| key(100 + i)).collect();
        let (st_mary_admin, city_lab_admin, north_admin) = (key(200), key(201), key(202));
        let genesis = genesis_for(
            &validators,
            &[
                (ST_MARY, InstitutionKind::Hospital, &st_mary_admin),
                (CITY_LAB, InstitutionKind::Laboratory, &city_lab_admin),
                (NORTH, InstitutionKind::Hospital, &north_admin),
            ],
        );
        let mut store = MemoryStore::new();
        block_on(apply_genesis(&mut store, &genesis)).expect("test genesis applies");
        Self {
            store,
            genesis,
            height: 1,
            time_ms: START_MS + BLOCK_MS,
            validators,
            st_mary_admin,
            city_lab_admin,
            north_admin,
            nonces: BTreeMap::new(),
        }
    }

    pub fn env(&self) -> BlockEnv {
        BlockEnv {
            chain_id: self.genesis.chain_id(),
            height: self.height,
            timestamp_ms: self.time_ms,
            proposer: account(&self.validators[0]),
        }
    }

    /// Signs with the sender's next nonce (as tracked by successful submissions).
    pub fn tx(&self, signer: &PrivateKey, payload: Payload) -> SignedTransaction {
        let sender = account(signer);
        let nonce = self.nonces.get(&sender).copied().unwrap_or(0);
        let transaction = Transaction {
            chain_id: self.genesis.chain_id(),
            sender,
            nonce,
            payload,
        };
        SignedTransaction::sign(signer, transaction)
    }

    /// Executes a block of exactly these transactions; advances height on success.
    pub fn block(&mut self, txs: &[SignedTransaction]) -> Result<Vec<Receipt>, BlockError> {
        let env = self.env();
        let receipts = block_on(execute_block(&mut self.store, &env, txs))?;
        for tx in txs {
            let sender = tx.transaction.sender.clone();
            self.nonces.insert(sender, tx.transaction.nonce + 1);
        }
        self.advance(1);
        Ok(receipts)
    }

    pub fn advance(&mut self, blocks: u64) {
        self.height += blocks;
        self.time_ms += blocks * BLOCK_MS;
    }

    pub fn run(&mut self, signer: &PrivateKey, payload: Payload) -> Result<Outcome, TxError> {
        let tx = self.tx(signer, payload);
        match self.block(std::slice::from_ref(&tx)) {
            Ok(mut receipts) => Ok(receipts.remove(0).outcome),
            Err(BlockError { error, .. }) => Err(error),
        }
    }

    #[track_caller]
    pub fn ok(&mut self, signer: &PrivateKey, payload: Payload) -> Outcome {
        match self.run(signer, payload) {
            Ok(outcome) => outcome,
            Err(error) => panic!("expected success, got {}: {error}", error.code()),
        }
    }

    /// Runs a transaction that must fail, and checks the store did not change.
    #[track_caller]
    pub fn err(&mut self, signer: &PrivateKey, payload: Payload) -> TxError {
        let root = self.store.root();
        let error = self
            .run(signer, payload)
            .expect_err("expected the transaction to fail");
        assert_eq!(
            self.store.root(),
            root,
            "a failed transaction must leave no write"
        );
        error
    }

    pub fn clinician(&mut self, admin: &PrivateKey, seed: u64) -> PrivateKey {
        self.member(admin, seed, Role::Clinician)
    }

    pub fn member(&mut self, admin: &PrivateKey, seed: u64, role: Role) -> PrivateKey {
        let member = key(seed);
        let payload = Payload::RegisterMember {
            account: account(&member),
            role,
            pre_public_key: [2; 33],
            encryption_key: [9; 32],
        };
        self.ok(admin, payload);
        member
    }

    pub fn patient(&mut self, institution: &str, seed: u64) -> PrivateKey {
        let patient = key(seed);
        self.ok(
            &patient,
            Payload::RegisterPseudonym {
                institution: inst(institution),
                pre_public_key: [3; 33],
            },
        );
        patient
    }

    pub fn record(
        &mut self,
        clinician: &PrivateKey,
        patient: &PrivateKey,
        category: RecordCategory,
    ) -> RecordId {
        match self.ok(clinician, record_payload(patient, category)) {
            Outcome::RecordCreated { record } => record,
            other => panic!("unexpected outcome {other:?}"),
        }
    }

    /// Fragments for the first `count` validators.
    pub fn fragments(&self, count: usize) -> Vec<SealedFragment> {
        self.validators
            .iter()
            .take(count)
            .map(|v| SealedFragment {
                validator: account(v),
                ciphertext: vec![7u8; 80].into(),
            })
            .collect()
    }

    pub fn grant(&mut self, patient: &PrivateKey, policy: ConsentPolicy) -> ConsentId {
        let fragments = if policy.decision == Decision::Permit {
            self.fragments(2)
        } else {
            vec![]
        };
        match self.ok(
            patient,
            Payload::GrantConsent {
                policy,
                reencryption_fragments: fragments,
            },
        ) {
            Outcome::ConsentGranted { consent } => consent,
            other => panic!("unexpected outcome {other:?}"),
        }
    }

    /// Requests access and returns (decision, reason, break_glass).
    pub fn request(
        &mut self,
        requester: &PrivateKey,
        record: RecordId,
        purpose: Purpose,
        justification: Option<&str>,
    ) -> (Decision, medchain_state::AccessReason, bool) {
        let payload = Payload::RequestAccess {
            record,
            purpose,
            justification: justification.map(str::to_owned),
        };
        match self.ok(requester, payload) {
            Outcome::AccessDecided {
                decision,
                reason,
                break_glass,
                ..
            } => (decision, reason, break_glass),
            other => panic!("unexpected outcome {other:?}"),
        }
    }

    pub fn query<T>(&self, f: impl AsyncFnOnce(&MemoryStore) -> Result<T, StateError>) -> T {
        block_on(f(&self.store)).expect("query reads a healthy store")
    }
}

pub fn record_payload(patient: &PrivateKey, category: RecordCategory) -> Payload {
    Payload::CreateRecord {
        patient: account(patient),
        category,
        size_bytes: 4_096,
        content_hash: [5; 32],
        capsule: vec![1u8; 98].into(),
    }
}

/// A permit for one person, reading for treatment, all data, for a long while.
pub fn permit_person(person: &PrivateKey) -> ConsentPolicy {
    ConsentPolicy {
        decision: Decision::Permit,
        actors: vec![ConsentActor::Person(account(person))],
        actions: vec![ConsentAction::Access],
        purposes: vec![Purpose::Treat],
        period: Period {
            start_ms: START_MS,
            end_ms: START_MS + 1_000_000_000,
        },
        data: DataScope::All,
        exceptions: vec![],
    }
}
