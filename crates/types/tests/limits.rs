//! Every limit in `limits` is accepted at its value and refused one past it,
//! by `validate()` and, where the value is on the wire, by the decoder.

use bytes::Bytes;
use commonware_codec::{DecodeExt, Encode, EncodeSize};
use commonware_cryptography::{Signer, ed25519::PrivateKey};
use medchain_types::*;

fn account(seed: u64) -> AccountId {
    AccountId(PrivateKey::from_seed(seed).public_key())
}

fn policy() -> ConsentPolicy {
    ConsentPolicy {
        decision: Decision::Permit,
        actors: vec![ConsentActor::Person(account(1))],
        actions: vec![ConsentAction::Access],
        purposes: vec![Purpose::Treat],
        period: Period {
            start_ms: 0,
            end_ms: 10,
        },
        data: DataScope::All,
        exceptions: vec![],
    }
}

fn limit_error(limit: &'static str, max: usize) -> ValidationError {
    ValidationError::LimitExceeded {
        limit,
        max: max as u64,
        got: max as u64 + 1,
    }
}

/// `build(n)` makes a policy with n items of one kind: n = max passes, max + 1 is refused both ways.
fn check_policy_limit(limit: &'static str, max: usize, build: impl Fn(usize) -> ConsentPolicy) {
    let at = build(max);
    assert_eq!(at.validate(), Ok(()), "{limit} at the limit");
    assert_eq!(ConsentPolicy::decode(at.encode()).unwrap(), at);
    let over = build(max + 1);
    assert_eq!(over.validate(), Err(limit_error(limit, max)));
    assert!(
        ConsentPolicy::decode(over.encode()).is_err(),
        "{limit} decode must refuse"
    );
}

#[test]
fn consent_policy_list_limits_hold() {
    check_policy_limit("consent_actors_max", limits::CONSENT_ACTORS_MAX, |n| {
        ConsentPolicy {
            actors: (0..n as u64)
                .map(|i| ConsentActor::Person(account(i)))
                .collect(),
            ..policy()
        }
    });
    check_policy_limit("consent_actions_max", limits::CONSENT_ACTIONS_MAX, |n| {
        ConsentPolicy {
            actions: vec![ConsentAction::Access; n],
            ..policy()
        }
    });
    check_policy_limit("consent_purposes_max", limits::CONSENT_PURPOSES_MAX, |n| {
        ConsentPolicy {
            purposes: vec![Purpose::Treat; n],
            ..policy()
        }
    });
    check_policy_limit(
        "consent_scope_max_items",
        limits::CONSENT_SCOPE_MAX_ITEMS,
        |n| ConsentPolicy {
            data: DataScope::Categories(vec![RecordCategory::Other; n]),
            ..policy()
        },
    );
    check_policy_limit(
        "consent_scope_max_items",
        limits::CONSENT_SCOPE_MAX_ITEMS,
        |n| ConsentPolicy {
            data: DataScope::Records((0..n).map(|i| RecordId([i as u8; 32])).collect()),
            ..policy()
        },
    );
    let exception = ConsentProvision {
        actors: vec![],
        actions: vec![],
        purposes: vec![],
        data: DataScope::All,
    };
    check_policy_limit(
        "consent_exceptions_max",
        limits::CONSENT_EXCEPTIONS_MAX,
        |n| ConsentPolicy {
            exceptions: vec![exception.clone(); n],
            ..policy()
        },
    );
}

fn grant(fragments: Vec<FragmentCommitment>) -> Payload {
    Payload::GrantConsent {
        policy: policy(),
        fragment_commitments: fragments,
    }
}

fn fragment(seed: u64) -> FragmentCommitment {
    FragmentCommitment {
        validator: account(seed),
        sealed_digest: [seed as u8; 32],
    }
}

#[test]
fn a_sealed_fragment_has_exactly_its_size() {
    let sealed = |len: usize| SealedFragment {
        validator: account(1),
        ciphertext: Bytes::from(vec![7u8; len]),
    };
    assert_eq!(
        sealed(limits::SEALED_FRAGMENT_SIZE_BYTES).validate(),
        Ok(())
    );
    for len in [0, limits::SEALED_FRAGMENT_SIZE_BYTES - 1] {
        assert!(matches!(
            sealed(len).validate(),
            Err(ValidationError::Transaction(_))
        ));
    }
    assert_eq!(
        sealed(limits::SEALED_FRAGMENT_SIZE_BYTES + 1).validate(),
        Err(limit_error(
            "sealed_fragment_size_bytes",
            limits::SEALED_FRAGMENT_SIZE_BYTES
        ))
    );
    // What a consent commits to moves with every byte of the fragment.
    let mut other = sealed(limits::SEALED_FRAGMENT_SIZE_BYTES);
    let first = other.commitment();
    other.ciphertext = Bytes::from(vec![8u8; limits::SEALED_FRAGMENT_SIZE_BYTES]);
    assert_ne!(first, other.commitment());
}

#[test]
fn sealed_fragments_max_holds() {
    let at = grant(
        (0..limits::SEALED_FRAGMENTS_MAX as u64)
            .map(fragment)
            .collect(),
    );
    assert_eq!(at.validate(), Ok(()));
    assert_eq!(Payload::decode(at.encode()).unwrap(), at);
    let over = grant(
        (0..=limits::SEALED_FRAGMENTS_MAX as u64)
            .map(fragment)
            .collect(),
    );
    assert_eq!(
        over.validate(),
        Err(limit_error(
            "sealed_fragments_max",
            limits::SEALED_FRAGMENTS_MAX
        ))
    );
    assert!(Payload::decode(over.encode()).is_err());
}

/// A record whose capsule has `capsule_bytes` bytes (not a real capsule: the stateless rules
/// check its length, the state machine parses it).
fn record(capsule_bytes: usize, size_bytes: u64) -> Payload {
    record_with_receipts(capsule_bytes, size_bytes, 0)
}

/// A record carrying `receipts` storage receipts (well formed; the state machine checks whose).
fn record_with_receipts(capsule_bytes: usize, size_bytes: u64, receipts: usize) -> Payload {
    Payload::CreateRecord {
        patient: account(1),
        category: RecordCategory::Imaging,
        size_bytes,
        content_hash: [0; 32],
        capsule: Bytes::from(vec![1u8; capsule_bytes]),
        storage_receipts: (0..receipts as u64)
            .map(|seed| {
                StorageReceipt::sign(
                    &PrivateKey::from_seed(seed),
                    &ChainId([1; 32]),
                    [0; 32],
                    size_bytes,
                )
            })
            .collect(),
    }
}

#[test]
fn storage_receipts_max_holds() {
    let (capsule, class) = (
        limits::CAPSULE_SIZE_BYTES,
        limits::RECORD_SIZE_CLASS_MIN_BYTES,
    );
    let at = record_with_receipts(capsule, class, limits::STORAGE_RECEIPTS_MAX);
    assert_eq!(at.validate(), Ok(()));
    assert_eq!(Payload::decode(at.encode()).unwrap(), at);
    let over = record_with_receipts(capsule, class, limits::STORAGE_RECEIPTS_MAX + 1);
    assert_eq!(
        over.validate(),
        Err(limit_error(
            "storage_receipts_max",
            limits::STORAGE_RECEIPTS_MAX
        ))
    );
    assert!(Payload::decode(over.encode()).is_err());
}

#[test]
fn a_capsule_is_exactly_capsule_size_bytes() {
    let class = limits::RECORD_SIZE_CLASS_MIN_BYTES;
    let at = record(limits::CAPSULE_SIZE_BYTES, class);
    assert_eq!(at.validate(), Ok(()));
    assert_eq!(Payload::decode(at.encode()).unwrap(), at);
    let over = record(limits::CAPSULE_SIZE_BYTES + 1, class);
    assert_eq!(
        over.validate(),
        Err(limit_error(
            "capsule_size_max_bytes",
            limits::CAPSULE_SIZE_BYTES
        ))
    );
    assert!(Payload::decode(over.encode()).is_err());
    for short in [0, limits::CAPSULE_SIZE_BYTES - 1] {
        assert_eq!(
            record(short, class).validate(),
            Err(ValidationError::Transaction(
                "a record needs its Umbral capsule, exactly 105 bytes"
            ))
        );
    }
}

#[test]
fn a_record_size_must_be_a_size_class() {
    let capsule = limits::CAPSULE_SIZE_BYTES;
    for class in [4_096, 8_192, 1 << 20, limits::RECORD_SIZE_MAX_BYTES] {
        assert_eq!(record(capsule, class).validate(), Ok(()), "{class}");
    }
    for exact in [0, 1, 4_095, 4_097, 5_000, (1 << 20) + 1] {
        assert!(record(capsule, exact).validate().is_err(), "{exact}");
    }
    let rounded: Vec<u64> = [0, 1, 4_096, 4_097, 100_000, 1 << 20]
        .iter()
        .map(|len| limits::record_size_class_bytes(*len))
        .collect();
    assert_eq!(rounded, [4_096, 4_096, 4_096, 8_192, 131_072, 1 << 20]);
}

#[test]
fn record_size_max_bytes_holds() {
    let capsule = limits::CAPSULE_SIZE_BYTES;
    assert_eq!(
        record(capsule, limits::RECORD_SIZE_MAX_BYTES).validate(),
        Ok(())
    );
    let over = record(capsule, limits::RECORD_SIZE_MAX_BYTES + 1).validate();
    let max = limits::RECORD_SIZE_MAX_BYTES;
    assert_eq!(
        over,
        Err(ValidationError::LimitExceeded {
            limit: "record_size_max_bytes",
            max,
            got: max + 1
        })
    );
}

#[test]
fn justification_size_max_bytes_holds() {
    let request = |text: String| Payload::RequestAccess {
        record: RecordId([0; 32]),
        purpose: Purpose::Etreat,
        justification: Some(text),
    };
    let at = request("a".repeat(limits::JUSTIFICATION_SIZE_MAX_BYTES));
    assert_eq!(at.validate(), Ok(()));
    assert_eq!(Payload::decode(at.encode()).unwrap(), at);
    let over = request("a".repeat(limits::JUSTIFICATION_SIZE_MAX_BYTES + 1));
    let expected = limit_error(
        "justification_size_max_bytes",
        limits::JUSTIFICATION_SIZE_MAX_BYTES,
    );
    assert_eq!(over.validate(), Err(expected));
    assert!(Payload::decode(over.encode()).is_err());
}

#[test]
fn review_note_size_max_bytes_holds() {
    let review = |text: String| Payload::ReviewBreakGlass {
        item: 0,
        finding: ReviewFinding::Justified,
        note: Some(text),
    };
    let at = review("a".repeat(limits::REVIEW_NOTE_SIZE_MAX_BYTES));
    assert_eq!(at.validate(), Ok(()));
    assert_eq!(Payload::decode(at.encode()).unwrap(), at);
    let over = review("a".repeat(limits::REVIEW_NOTE_SIZE_MAX_BYTES + 1));
    let expected = limit_error(
        "review_note_size_max_bytes",
        limits::REVIEW_NOTE_SIZE_MAX_BYTES,
    );
    assert_eq!(over.validate(), Err(expected));
    assert!(Payload::decode(over.encode()).is_err());
}

#[test]
fn a_review_note_carrying_an_identifier_is_refused() {
    let review = Payload::ReviewBreakGlass {
        item: 3,
        finding: ReviewFinding::Unjustified,
        note: Some("patient MRN 12345678 was not in the ED".into()),
    };
    assert!(matches!(
        review.validate(),
        Err(ValidationError::DirectIdentifier(_))
    ));
}

#[test]
fn consortium_policy_size_max_bytes_holds() {
    let propose = |policies: String| Payload::ProposeMembership {
        change: MembershipChange::SetConsortiumPolicy {
            schema_version: 1,
            policies,
        },
        ttl_blocks: 10,
    };
    let at = propose("a".repeat(limits::CONSORTIUM_POLICY_SIZE_MAX_BYTES));
    assert_eq!(at.validate(), Ok(()));
    assert_eq!(Payload::decode(at.encode()).unwrap(), at);
    let over = propose("a".repeat(limits::CONSORTIUM_POLICY_SIZE_MAX_BYTES + 1));
    let expected = limit_error(
        "consortium_policy_size_max_bytes",
        limits::CONSORTIUM_POLICY_SIZE_MAX_BYTES,
    );
    assert_eq!(over.validate(), Err(expected));
    assert!(Payload::decode(over.encode()).is_err());
}

#[test]
fn proposal_ttl_max_blocks_holds() {
    let propose = |ttl_blocks| Payload::ProposeMembership {
        change: MembershipChange::RemoveValidator {
            validator: account(1),
        },
        ttl_blocks,
    };
    let max = limits::PROPOSAL_TTL_MAX_BLOCKS;
    assert_eq!(propose(max).validate(), Ok(()));
    let over = ValidationError::LimitExceeded {
        limit: "proposal_ttl_max_blocks",
        max,
        got: max + 1,
    };
    assert_eq!(propose(max + 1).validate(), Err(over));
    assert!(matches!(
        propose(0).validate(),
        Err(ValidationError::Transaction(_))
    ));
}

#[test]
fn institution_id_size_limits_hold() {
    assert!(InstitutionId::new("a".repeat(limits::INSTITUTION_ID_SIZE_MIN_BYTES)).is_ok());
    assert!(InstitutionId::new("a".repeat(limits::INSTITUTION_ID_SIZE_MIN_BYTES - 1)).is_err());
    assert!(InstitutionId::new("a".repeat(limits::INSTITUTION_ID_SIZE_MAX_BYTES)).is_ok());
    assert!(InstitutionId::new("a".repeat(limits::INSTITUTION_ID_SIZE_MAX_BYTES + 1)).is_err());
}

/// A signed record whose canonical encoding is exactly `target` bytes. Its capsule is far
/// larger than a capsule may be: no valid transaction is as large as the limit, which still
/// bounds what any decoder reads before it looks at a field.
fn signed_tx_of_size(target: usize) -> SignedTransaction {
    let key = PrivateKey::from_seed(9);
    let with_capsule = |len: usize| Transaction {
        chain_id: ChainId([1; 32]),
        sender: AccountId(key.public_key()),
        nonce: 0,
        payload: Payload::CreateRecord {
            patient: account(1),
            category: RecordCategory::Laboratory,
            size_bytes: 4096,
            content_hash: [0; 32],
            capsule: Bytes::from(vec![0u8; len]),
            storage_receipts: Vec::new(),
        },
    };
    let signed_size = |tx: &Transaction| tx.encode_size() + 64;
    // An empty capsule has a 1-byte length prefix; one of 16 KiB to 2 MiB has a 3-byte one.
    let empty = signed_size(&with_capsule(0));
    let len = target - empty + 1 - 3;
    assert!((16 * 1024..2 * 1024 * 1024).contains(&len));
    let signed = SignedTransaction::sign(&key, with_capsule(len));
    assert_eq!(signed.encode_size(), target);
    signed
}

#[test]
fn tx_size_max_bytes_holds() {
    // At the limit the size check passes; the oversized capsule is what is refused.
    let at = signed_tx_of_size(limits::TX_SIZE_MAX_BYTES);
    assert!(matches!(
        at.validate(),
        Err(ValidationError::LimitExceeded {
            limit: "capsule_size_max_bytes",
            ..
        })
    ));
    assert!(SignedTransaction::decode_bounded(&at.encode()).is_err());
    let over = signed_tx_of_size(limits::TX_SIZE_MAX_BYTES + 1);
    assert_eq!(
        over.validate(),
        Err(limit_error("tx_size_max_bytes", limits::TX_SIZE_MAX_BYTES))
    );
    assert!(matches!(
        SignedTransaction::decode_bounded(&over.encode()),
        Err(commonware_codec::Error::InvalidLength(len)) if len == limits::TX_SIZE_MAX_BYTES + 1
    ));
    assert!(
        SignedTransaction::decode(over.encode()).is_err(),
        "the decoder itself enforces the limit"
    );
}

fn genesis(validators: usize, institutions: usize, members: usize) -> Genesis {
    let slug = |i: usize| InstitutionId::new(format!("inst-{i}")).unwrap();
    Genesis {
        chain_name: "limits".into(),
        genesis_time_ms: 0,
        institutions: (0..institutions)
            .map(|i| GenesisInstitution {
                id: slug(i),
                kind: InstitutionKind::Hospital,
                admin: account(1_000_000 + i as u64),
                admin_proof: [0; 64],
            })
            .collect(),
        validators: (0..validators)
            .map(|i| GenesisValidator {
                account: account(i as u64),
                institution: slug(0),
                p2p_address: "127.0.0.1:3000".into(),
                http_address: "127.0.0.1:8080".into(),
                encryption_key: [9; 32],
                proofs: ValidatorKeyProofs {
                    account: [0; 64],
                    encryption_key: [0; 64],
                },
            })
            .collect(),
        observers: Vec::new(),
        members: (0..members)
            .map(|i| GenesisMember {
                account: account(2_000_000 + i as u64),
                institution: slug(0),
                role: Role::Clinician,
                pre_public_key: [2; 33],
                encryption_key: [3; 32],
                proofs: MemberKeyProofs {
                    account: [0; 64],
                    pre_public_key: [0; 64],
                    encryption_key: [0; 64],
                },
            })
            .collect(),
        epoch_length_blocks: limits::EPOCH_LENGTH_DEFAULT_BLOCKS,
    }
}

#[test]
fn validators_max_holds_in_genesis() {
    let at = genesis(limits::VALIDATORS_MAX, 1, 0);
    assert_eq!(at.validate(), Ok(()));
    assert_eq!(Genesis::decode(at.encode()).unwrap(), at);
    let over = genesis(limits::VALIDATORS_MAX + 1, 1, 0);
    assert_eq!(
        over.validate(),
        Err(limit_error("validators_max", limits::VALIDATORS_MAX))
    );
    assert!(Genesis::decode(over.encode()).is_err());
}

fn observer(i: usize) -> GenesisObserver {
    GenesisObserver {
        account: account(3_000_000 + i as u64),
        institution: InstitutionId::new("inst-0").unwrap(),
        p2p_address: "127.0.0.1:3100".into(),
        http_address: "127.0.0.1:8180".into(),
        account_proof: [0; 64],
    }
}

#[test]
fn observers_max_holds_in_genesis() {
    let mut at = genesis(1, 1, 0);
    at.observers = (0..limits::OBSERVERS_MAX).map(observer).collect();
    assert_eq!(at.validate(), Ok(()));
    assert_eq!(Genesis::decode(at.encode()).unwrap(), at);
    let mut over = at.clone();
    over.observers.push(observer(limits::OBSERVERS_MAX));
    assert_eq!(
        over.validate(),
        Err(limit_error("observers_max", limits::OBSERVERS_MAX))
    );
    assert!(Genesis::decode(over.encode()).is_err());
}

#[test]
fn an_observer_cannot_also_be_a_validator_or_listed_twice() {
    let mut g = genesis(1, 1, 0);
    let mut twin = observer(0);
    twin.account = g.validators[0].account.clone();
    g.observers = vec![twin];
    assert!(
        matches!(g.validate(), Err(ValidationError::Genesis(m)) if m.contains("as a validator or an observer"))
    );
    g.observers = vec![observer(1), observer(1)];
    assert!(matches!(g.validate(), Err(ValidationError::Genesis(m)) if m.contains("listed twice")));
    let mut stranger = observer(2);
    stranger.institution = InstitutionId::new("elsewhere").unwrap();
    g.observers = vec![stranger];
    assert!(
        matches!(g.validate(), Err(ValidationError::Genesis(m)) if m.contains("not in `institutions`"))
    );
}

#[test]
fn genesis_institutions_max_holds() {
    assert_eq!(
        genesis(1, limits::GENESIS_INSTITUTIONS_MAX, 0).validate(),
        Ok(())
    );
    let over = genesis(1, limits::GENESIS_INSTITUTIONS_MAX + 1, 0).validate();
    assert_eq!(
        over,
        Err(limit_error(
            "genesis_institutions_max",
            limits::GENESIS_INSTITUTIONS_MAX
        ))
    );
}

#[test]
fn epoch_length_min_blocks_holds() {
    let mut at = genesis(1, 1, 0);
    at.epoch_length_blocks = limits::EPOCH_LENGTH_MIN_BLOCKS;
    assert_eq!(at.validate(), Ok(()));
    let mut under = at.clone();
    under.epoch_length_blocks = limits::EPOCH_LENGTH_MIN_BLOCKS - 1;
    let error = under.validate().unwrap_err().to_string();
    assert!(error.contains("epoch_length_min_blocks"), "{error}");
}

#[test]
fn genesis_members_max_holds() {
    assert_eq!(
        genesis(1, 1, limits::GENESIS_MEMBERS_MAX).validate(),
        Ok(())
    );
    let over = genesis(1, 1, limits::GENESIS_MEMBERS_MAX + 1).validate();
    assert_eq!(
        over,
        Err(limit_error(
            "genesis_members_max",
            limits::GENESIS_MEMBERS_MAX
        ))
    );
}

#[test]
fn chain_name_and_address_sizes_hold() {
    let mut g = genesis(1, 1, 0);
    g.chain_name = "n".repeat(limits::CHAIN_NAME_SIZE_MAX_BYTES);
    assert_eq!(g.validate(), Ok(()));
    g.chain_name.push('n');
    assert!(matches!(g.validate(), Err(ValidationError::Genesis(_))));
    assert!(Genesis::decode(g.encode()).is_err());
    let mut g = genesis(1, 1, 0);
    g.validators[0].p2p_address = "a".repeat(limits::ADDRESS_SIZE_MAX_BYTES);
    assert_eq!(g.validate(), Ok(()));
    g.validators[0].p2p_address.push('a');
    assert!(matches!(g.validate(), Err(ValidationError::Genesis(_))));
    assert!(Genesis::decode(g.encode()).is_err());
}

#[test]
fn add_validator_address_size_max_bytes_holds_for_both_addresses() {
    let good = "10.0.0.5:7100".to_string();
    let changes = |address: String| {
        let change = |p2p_address, http_address| MembershipChange::AddValidator {
            institution: InstitutionId::new("st-mary").unwrap(),
            validator: account(1),
            p2p_address,
            http_address,
            encryption_key: [7; 32],
            validator_proof: [0; 64],
            encryption_key_proof: [0; 64],
        };
        [
            ("p2p_address", change(address.clone(), good.clone())),
            ("http_address", change(good.clone(), address)),
        ]
    };
    // No ip:port is 256 bytes long: at the limit the length passes and the syntax check refuses.
    let at = "a".repeat(limits::ADDRESS_SIZE_MAX_BYTES);
    for (field, change) in changes(at.clone()) {
        assert_eq!(
            change.validate(),
            Err(ValidationError::AddressSyntax {
                field,
                address: at.clone()
            })
        );
        assert!(matches!(
            MembershipChange::decode(change.encode()),
            Err(commonware_codec::Error::Invalid("MembershipChange", _))
        ));
    }
    let over = "a".repeat(limits::ADDRESS_SIZE_MAX_BYTES + 1);
    for (field, change) in changes(over) {
        assert_eq!(
            change.validate(),
            Err(limit_error(
                "address_size_max_bytes",
                limits::ADDRESS_SIZE_MAX_BYTES
            )),
            "{field}"
        );
        assert!(matches!(
            MembershipChange::decode(change.encode()),
            Err(commonware_codec::Error::InvalidLength(_))
        ));
    }
}
