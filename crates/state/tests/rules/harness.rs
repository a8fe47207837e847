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

/// The Umbral key of the member or pseudonym with key `seed`.
pub fn pre_secret(seed: u64) -> medchain_crypto::umbral::SecretKey {
    let bytes = blake3::hash(&seed.to_be_bytes());
    medchain_crypto::umbral::SecretKey::from_be_bytes(bytes.as_bytes())
        .expect("a BLAKE3 output is a secp256k1 scalar but with probability 2^-128")
}

/// The X25519 key of the member with key `seed`.
pub fn encryption_secret(seed: u64) -> medchain_crypto::keys::hpke::EncryptionSecretKey {
    let bytes = blake3::hash(&[&b"x25519"[..], &seed.to_be_bytes()].concat());
    medchain_crypto::keys::hpke::EncryptionSecretKey::derive(bytes.as_bytes()).0
}

/// A registration of the member with key `seed` (all three keys proven), by `role`.
pub fn member_payload(chain_id: &ChainId, seed: u64, role: Role) -> Payload {
    let (account_key, pre, encryption) = (key(seed), pre_secret(seed), encryption_secret(seed));
    medchain_state::registration::register_member(
        &mut medchain_crypto::rng::seeded_u64(seed),
        chain_id,
        role,
        &medchain_state::registration::MemberKeys {
            account: &account_key,
            pre: &pre,
            encryption: &encryption,
        },
    )
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
    /// Record payloads made so far: each gets its own ciphertext hash (the first RECORD_HASH).
    records_made: std::cell::Cell<u64>,
}

/// The X25519 key of validator `validator`, derived from its account key.
pub fn validator_encryption_secret(
    validator: &PrivateKey,
) -> medchain_crypto::keys::hpke::EncryptionSecretKey {
    let ikm = blake3::hash(&[&b"validator x25519"[..], account(validator).0.as_ref()].concat());
    medchain_crypto::keys::hpke::EncryptionSecretKey::derive(ikm.as_bytes()).0
}

/// A genesis of `validators` and the institutions of `admins`, every founding key proven.
pub fn genesis_for(
    validators: &[PrivateKey],
    admins: &[(&str, InstitutionKind, &PrivateKey)],
) -> Genesis {
    let mut genesis = Genesis {
        chain_name: "medchain-test".into(),
        genesis_time_ms: START_MS,
        institutions: admins
            .iter()
            .map(|(slug, kind, admin)| GenesisInstitution {
                id: inst(slug),
                kind: *kind,
                admin: account(admin),
                admin_proof: [0; 64],
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
                encryption_key: validator_encryption_secret(v).public_key().to_bytes(),
                proofs: ValidatorKeyProofs {
                    account: [0; 64],
                    encryption_key: [0; 64],
                },
            })
            .collect(),
        observers: vec![],
        members: vec![],
        epoch_length_blocks: medchain_types::limits::EPOCH_LENGTH_DEFAULT_BLOCKS,
    };
    founding_keyring(validators, admins)
        .sign(&mut medchain_crypto::rng::seeded_u64(1), &mut genesis)
        .expect("every founding key is in the keyring");
    genesis
}

/// The secrets of `genesis_for`'s founding keys, to sign a genesis a test extends.
pub fn founding_keyring(
    validators: &[PrivateKey],
    admins: &[(&str, InstitutionKind, &PrivateKey)],
) -> medchain_state::registration::GenesisKeyring {
    let mut keyring = medchain_state::registration::GenesisKeyring::default();
    for validator in validators {
        keyring.validator(validator, &validator_encryption_secret(validator));
    }
    for (_, _, admin) in admins {
        keyring.account(admin);
    }
    keyring
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
            records_made: std::cell::Cell::new(0),
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
        let payload = member_payload(&self.genesis.chain_id(), seed, role);
        self.ok(admin, payload);
        key(seed)
    }

    /// The genesis admin of `institution`.
    pub fn admin_of(&self, institution: &str) -> &PrivateKey {
        match institution {
            ST_MARY => &self.st_mary_admin,
            CITY_LAB => &self.city_lab_admin,
            NORTH => &self.north_admin,
            other => panic!("no test institution {other}"),
        }
    }

    /// A pseudonym registration of key `seed` at `institution`, co-signed by `registrar`.
    pub fn pseudonym_payload(
        &self,
        institution: &str,
        seed: u64,
        registrar: &PrivateKey,
    ) -> Payload {
        medchain_state::registration::register_pseudonym(
            &self.genesis.chain_id(),
            &key(seed),
            &pre_secret(seed),
            inst(institution),
            registrar,
        )
    }

    /// A patient's pseudonym at `institution`, co-signed by that institution's admin.
    pub fn patient(&mut self, institution: &str, seed: u64) -> PrivateKey {
        let patient = key(seed);
        let registrar = self.admin_of(institution).clone();
        let payload = self.pseudonym_payload(institution, seed, &registrar);
        self.ok(&patient, payload);
        patient
    }

    pub fn record(
        &mut self,
        clinician: &PrivateKey,
        patient: &PrivateKey,
        category: RecordCategory,
    ) -> RecordId {
        let payload = self.record_payload(patient, category);
        match self.ok(clinician, payload) {
            Outcome::RecordCreated { record } => record,
            other => panic!("unexpected outcome {other:?}"),
        }
    }

    /// Fragments for the first `count` validators.
    pub fn fragments(&self, count: usize) -> Vec<FragmentCommitment> {
        self.validators
            .iter()
            .take(count)
            .map(|v| FragmentCommitment {
                validator: account(v),
                sealed_digest: medchain_types::sealed_fragment_digest(&account(v).to_bytes()),
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
                fragment_commitments: fragments,
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

impl Chain {
    /// A record of `RECORD_HASH` and `RECORD_SIZE_CLASS_BYTES` with storage receipts from a
    /// quorum (2f+1) of the current validators.
    pub fn record_payload(&self, patient: &PrivateKey, category: RecordCategory) -> Payload {
        let quorum = self
            .query(async |s| query::validators(s).await)
            .storage_quorum();
        let made = self.records_made.replace(self.records_made.get() + 1);
        let mut content_hash = RECORD_HASH;
        if made > 0 {
            content_hash[24..].copy_from_slice(&made.to_be_bytes());
        }
        Payload::CreateRecord {
            patient: account(patient),
            category,
            size_bytes: RECORD_SIZE_CLASS_BYTES,
            content_hash,
            capsule: capsule_for(patient).into(),
            storage_receipts: self.storage_receipts(quorum, &content_hash, RECORD_SIZE_CLASS_BYTES),
        }
    }

    /// Receipts for this chain from the first `count` current validators whose keys the
    /// harness holds, in the set's order.
    pub fn storage_receipts(
        &self,
        count: usize,
        content_hash: &[u8; 32],
        size_bytes: u64,
    ) -> Vec<StorageReceipt> {
        let set = self.query(async |s| query::validators(s).await);
        set.validators
            .iter()
            .filter_map(|v| self.validators.iter().find(|k| account(k) == v.account))
            .take(count)
            .map(|k| StorageReceipt::sign(k, &self.genesis.chain_id(), *content_hash, size_bytes))
            .collect()
    }
}

/// The ciphertext hash of the harness's records.
pub const RECORD_HASH: [u8; 32] = [5; 32];
/// The size class of the harness's records.
pub const RECORD_SIZE_CLASS_BYTES: u64 = 4_096;

/// A real Umbral capsule, deterministic per patient: the ledger checks that it parses and passes
/// the capsule check, not whose key it was made for.
pub fn capsule_for(patient: &PrivateKey) -> Vec<u8> {
    let seed = u64::from_be_bytes(account(patient).to_bytes()[..8].try_into().unwrap());
    let mut rng = medchain_crypto::rng::seeded_u64(seed);
    let public = pre_secret(seed).public_key();
    let (capsule, _) = medchain_crypto::umbral::encapsulate(&mut rng, &public)
        .expect("encapsulating to a valid key succeeds");
    capsule.to_bytes()
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
