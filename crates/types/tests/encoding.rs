//! Canonical encoding, JSON form, signatures, batch verification, Merkle roots.

use bytes::Bytes;
use commonware_codec::{DecodeExt, Encode, Error};
use commonware_cryptography::{Signer, ed25519::PrivateKey};
use medchain_types::*;
use proptest::prelude::*;

fn key(seed: u64) -> PrivateKey {
    PrivateKey::from_seed(seed)
}

fn signed(seed: u64, nonce: u64, payload: Payload) -> SignedTransaction {
    let signer = key(seed);
    let tx = Transaction {
        chain_id: ChainId([7; 32]),
        sender: AccountId(signer.public_key()),
        nonce,
        payload,
    };
    SignedTransaction::sign(&signer, tx)
}

fn every_payload() -> Vec<Payload> {
    let someone = AccountId(key(1).public_key());
    let slug = InstitutionId::new("st-mary").unwrap();
    let policy = ConsentPolicy {
        decision: Decision::Permit,
        actors: vec![
            ConsentActor::Person(someone.clone()),
            ConsentActor::Role {
                institution: Some(slug.clone()),
                role: Role::Clinician,
            },
            ConsentActor::Role {
                institution: None,
                role: Role::Researcher,
            },
            ConsentActor::Institution(slug.clone()),
        ],
        actions: vec![ConsentAction::Access, ConsentAction::Disclose],
        purposes: vec![Purpose::Treat, Purpose::Hresch],
        period: Period {
            start_ms: 1,
            end_ms: 2,
        },
        data: DataScope::Categories(vec![RecordCategory::Genomic]),
        exceptions: vec![ConsentProvision {
            actors: vec![],
            actions: vec![ConsentAction::Correct],
            purposes: vec![],
            data: DataScope::Records(vec![RecordId([3; 32])]),
        }],
    };
    let changes = [
        MembershipChange::AdmitInstitution {
            id: slug.clone(),
            kind: InstitutionKind::Regulator,
            admin: someone.clone(),
            admin_proof: [0x10; 64],
        },
        MembershipChange::RemoveInstitution { id: slug.clone() },
        MembershipChange::AddValidator {
            institution: slug.clone(),
            validator: someone.clone(),
            p2p_address: "10.0.0.5:7100".into(),
            http_address: "10.0.0.5:8100".into(),
            encryption_key: [0x5a; 32],
            validator_proof: [0x11; 64],
            encryption_key_proof: [0x12; 64],
        },
        MembershipChange::AddValidator {
            institution: slug.clone(),
            validator: someone.clone(),
            p2p_address: "[2001:db8::5]:7100".into(),
            http_address: "[2001:db8::5]:8100".into(),
            encryption_key: [0xa5; 32],
            validator_proof: [0x13; 64],
            encryption_key_proof: [0x14; 64],
        },
        MembershipChange::RemoveValidator {
            validator: someone.clone(),
        },
        MembershipChange::SetConsortiumPolicy {
            schema_version: 1,
            policies: "@id(\"p\") permit (principal, action, resource);".into(),
        },
    ];
    let mut payloads: Vec<Payload> = changes
        .into_iter()
        .map(|change| Payload::ProposeMembership {
            change,
            ttl_blocks: 5,
        })
        .collect();
    payloads.extend([
        Payload::Vote {
            proposal: ProposalId([4; 32]),
            approve: false,
        },
        Payload::RegisterMember {
            account: someone.clone(),
            role: Role::Auditor,
            pre_public_key: [2; 33],
            encryption_key: [5; 32],
            proofs: MemberKeyProofs {
                account: [0x21; 64],
                pre_public_key: [0x22; 64],
                encryption_key: [0x23; 64],
            },
        },
        Payload::RevokeMember {
            account: someone.clone(),
        },
        Payload::RegisterPseudonym {
            institution: slug.clone(),
            pre_public_key: [3; 33],
            pre_key_proof: [0x31; 64],
            registrar: someone.clone(),
            registrar_signature: [0x32; 64],
        },
        Payload::SetEmergencyAccess {
            institution: slug,
            enabled: true,
        },
        Payload::CreateRecord {
            patient: someone.clone(),
            category: RecordCategory::MentalHealth,
            size_bytes: 8_192,
            content_hash: [6; 32],
            capsule: Bytes::from(vec![1; limits::CAPSULE_SIZE_BYTES]),
            storage_receipts: vec![StorageReceipt::sign(
                &PrivateKey::from_seed(5),
                &ChainId([4; 32]),
                [6; 32],
                8_192,
            )],
        },
        Payload::GrantConsent {
            policy,
            fragment_commitments: vec![FragmentCommitment {
                validator: someone,
                sealed_digest: [9; 32],
            }],
        },
        Payload::RevokeConsent {
            consent: ConsentId([8; 32]),
        },
        Payload::RequestAccess {
            record: RecordId([1; 32]),
            purpose: Purpose::Etreat,
            justification: Some("cardiac arrest".into()),
        },
        Payload::RequestAccess {
            record: RecordId([1; 32]),
            purpose: Purpose::Pubhlth,
            justification: None,
        },
    ]);
    payloads
}

#[test]
fn every_payload_round_trips_through_binary_and_json() {
    for (nonce, payload) in every_payload().into_iter().enumerate() {
        let tx = signed(2, nonce as u64, payload);
        assert_eq!(SignedTransaction::decode(tx.encode()).unwrap(), tx);
        let json = serde_json::to_string(&tx).unwrap();
        let back: SignedTransaction = serde_json::from_str(&json).unwrap();
        assert_eq!(back, tx);
        assert!(back.verify());
    }
}

#[test]
fn trailing_bytes_are_refused() {
    let tx = signed(
        2,
        0,
        Payload::RevokeConsent {
            consent: ConsentId([8; 32]),
        },
    );
    let mut bytes = tx.encode().to_vec();
    bytes.push(0);
    assert!(matches!(
        SignedTransaction::decode_bounded(&bytes),
        Err(Error::ExtraData(1))
    ));
}

#[test]
fn unknown_tags_and_bad_slugs_are_refused_by_the_decoder() {
    let tx = signed(
        2,
        0,
        Payload::RegisterPseudonym {
            institution: InstitutionId::new("abc").unwrap(),
            pre_public_key: [3; 33],
            pre_key_proof: [0; 64],
            registrar: AccountId(key(3).public_key()),
            registrar_signature: [0; 64],
        },
    );
    let bytes = tx.encode().to_vec();
    // Layout: chain id (32), sender (32), nonce (8), payload tag.
    let mut bad_tag = bytes.clone();
    bad_tag[72] = 0xff;
    assert!(matches!(
        SignedTransaction::decode_bounded(&bad_tag),
        Err(Error::InvalidEnum(0xff))
    ));
    // The slug follows the tag and its length byte: make it uppercase.
    let mut bad_slug = bytes;
    bad_slug[74] = b'A';
    assert!(SignedTransaction::decode_bounded(&bad_slug).is_err());
}

fn add_validator(p2p_address: &str, http_address: &str) -> MembershipChange {
    MembershipChange::AddValidator {
        institution: InstitutionId::new("st-mary").unwrap(),
        validator: AccountId(key(1).public_key()),
        p2p_address: p2p_address.into(),
        http_address: http_address.into(),
        encryption_key: std::array::from_fn(|i| i as u8),
        validator_proof: [0xaa; 64],
        encryption_key_proof: [0xbb; 64],
    }
}

#[test]
fn add_validator_encodes_institution_validator_addresses_encryption_key_then_its_proofs() {
    let encoded = add_validator("10.0.0.5:7100", "10.0.0.5:8100")
        .encode()
        .to_vec();
    let mut expected = vec![2, 7];
    expected.extend_from_slice(b"st-mary");
    expected.extend_from_slice(key(1).public_key().as_ref());
    expected.push(13);
    expected.extend_from_slice(b"10.0.0.5:7100");
    expected.push(13);
    expected.extend_from_slice(b"10.0.0.5:8100");
    expected.extend(0u8..32);
    expected.extend([0xaa; 64]);
    expected.extend([0xbb; 64]);
    assert_eq!(encoded, expected);
    assert_eq!(
        MembershipChange::decode(commonware_codec::Copying(encoded.as_slice())).unwrap(),
        add_validator("10.0.0.5:7100", "10.0.0.5:8100")
    );
}

#[test]
fn add_validator_cut_inside_its_encryption_key_does_not_decode() {
    let encoded = add_validator("10.0.0.5:7100", "10.0.0.5:8100").encode();
    let cut = &encoded[..encoded.len() - 1];
    assert!(matches!(
        MembershipChange::decode(commonware_codec::Copying(cut)),
        Err(Error::EndOfBuffer)
    ));
}

#[test]
fn add_validator_addresses_that_are_not_canonical_ip_port_are_refused_by_decoder_and_validate() {
    let refused = [
        ("node-1.example:7100", "syntax"),
        ("10.0.0.5", "syntax"),
        ("10.0.0.5:70000", "syntax"),
        ("", "syntax"),
        ("10.0.0.5:07100", "10.0.0.5:7100"),
        ("[2001:DB8::5]:7100", "[2001:db8::5]:7100"),
        ("0.0.0.0:7100", "dial"),
        ("[::]:7100", "dial"),
        ("10.0.0.5:0", "dial"),
        ("224.0.0.1:7100", "dial"),
    ];
    let good = "10.0.0.5:7100";
    for (address, expected) in refused {
        for (field, change) in [
            ("p2p_address", add_validator(address, good)),
            ("http_address", add_validator(good, address)),
        ] {
            // Write does not check; a peer could send these bytes.
            match MembershipChange::decode(change.encode()) {
                Err(Error::Invalid("MembershipChange", reason)) => {
                    assert!(reason.starts_with(field), "{field}: {reason}")
                }
                // The length prefix refuses an empty string before the address rules run.
                Err(Error::InvalidLength(0)) if address.is_empty() => {}
                other => panic!("{field} {address:?} must not decode: {other:?}"),
            }
            let error = change.validate().unwrap_err();
            match (expected, &error) {
                (
                    "syntax",
                    ValidationError::AddressSyntax {
                        field: f,
                        address: got,
                    },
                )
                | (
                    "dial",
                    ValidationError::AddressNotDialable {
                        field: f,
                        address: got,
                    },
                ) => {
                    assert_eq!((*f, got.as_str()), (field, address))
                }
                (
                    canonical,
                    ValidationError::AddressNotCanonical {
                        field: f,
                        canonical: got,
                        ..
                    },
                ) => assert_eq!((*f, got.as_str()), (field, canonical)),
                _ => panic!("{field} {address:?}: unexpected {error:?}"),
            }
            let payload = Payload::ProposeMembership {
                change,
                ttl_blocks: 5,
            };
            assert_eq!(payload.validate(), Err(error));
        }
    }
    assert_eq!(add_validator(good, "10.0.0.5:8100").validate(), Ok(()));
}

#[test]
fn add_validator_json_names_the_addresses_and_a_bad_one_fails_validation() {
    let json = serde_json::to_value(add_validator("10.0.0.5:7100", "10.0.0.5:8100")).unwrap();
    assert_eq!(json["type"], "add_validator");
    assert_eq!(json["p2p_address"], "10.0.0.5:7100");
    assert_eq!(json["http_address"], "10.0.0.5:8100");
    let mut bad = json;
    bad["http_address"] = "localhost:8100".into();
    let parsed: MembershipChange = serde_json::from_value(bad).unwrap();
    assert_eq!(
        parsed.validate(),
        Err(ValidationError::AddressSyntax {
            field: "http_address",
            address: "localhost:8100".into()
        })
    );
}

#[test]
fn add_validator_json_writes_the_encryption_key_as_64_hex_characters_and_refuses_others() {
    let mut json = serde_json::to_value(add_validator("10.0.0.5:7100", "10.0.0.5:8100")).unwrap();
    let expected: String = (0u8..32).map(|b| format!("{b:02x}")).collect();
    assert_eq!(json["encryption_key"], expected.as_str());
    assert_eq!(
        serde_json::from_value::<MembershipChange>(json.clone()).unwrap(),
        add_validator("10.0.0.5:7100", "10.0.0.5:8100")
    );
    json["encryption_key"] = expected[..62].into();
    assert!(serde_json::from_value::<MembershipChange>(json).is_err());
}

#[test]
fn json_uses_hex_and_hl7_codes() {
    let tx = signed(
        2,
        0,
        Payload::RequestAccess {
            record: RecordId([0xab; 32]),
            purpose: Purpose::Etreat,
            justification: Some("sepsis".into()),
        },
    );
    let json: serde_json::Value = serde_json::to_value(&tx).unwrap();
    let payload = &json["transaction"]["payload"];
    assert_eq!(payload["type"], "request_access");
    assert_eq!(payload["purpose"], "ETREAT");
    assert_eq!(payload["record"], "ab".repeat(32));
    assert_eq!(
        json["transaction"]["sender"],
        AccountId(key(2).public_key()).to_string()
    );
    assert_eq!(json["signature"].as_str().unwrap().len(), 128);
}

#[test]
fn json_with_a_malformed_key_or_slug_is_refused() {
    let tx = signed(
        2,
        0,
        Payload::RevokeMember {
            account: AccountId(key(3).public_key()),
        },
    );
    let mut json = serde_json::to_value(&tx).unwrap();
    json["transaction"]["sender"] = "zz".into();
    assert!(serde_json::from_value::<SignedTransaction>(json).is_err());
    assert!(serde_json::from_str::<InstitutionId>("\"Bad_Slug\"").is_err());
    assert!(serde_json::from_str::<InstitutionId>("\"-abc\"").is_err());
    assert!(
        InstitutionId::new("mrn-1234567").is_err(),
        "slugs pass the PHI guard too"
    );
    assert!(InstitutionId::new("x-2024-03-12").is_err());
    assert_eq!(
        serde_json::from_str::<InstitutionId>("\"st-mary-2\"")
            .unwrap()
            .as_str(),
        "st-mary-2"
    );
}

#[test]
fn a_signature_binds_chain_nonce_and_payload() {
    let tx = signed(
        2,
        0,
        Payload::RevokeConsent {
            consent: ConsentId([8; 32]),
        },
    );
    assert!(tx.verify());
    let mut other_chain = tx.clone();
    other_chain.transaction.chain_id = ChainId([8; 32]);
    assert!(!other_chain.verify());
    let mut other_nonce = tx.clone();
    other_nonce.transaction.nonce = 1;
    assert!(!other_nonce.verify());
    // A signature over the same bytes in another namespace does not verify as a transaction.
    let mut wrong_namespace = tx.clone();
    wrong_namespace.signature = key(2).sign(b"medchain/other/v1", &tx.transaction.encode());
    assert!(!wrong_namespace.verify());
}

#[test]
fn the_tx_hash_ignores_the_signature_and_changes_with_the_transaction() {
    let tx = signed(
        2,
        0,
        Payload::RevokeConsent {
            consent: ConsentId([8; 32]),
        },
    );
    let mut resigned = tx.clone();
    resigned.signature = key(9).sign(TX_NAMESPACE, b"anything");
    assert_eq!(resigned.hash(), tx.hash());
    assert_ne!(
        signed(
            2,
            1,
            Payload::RevokeConsent {
                consent: ConsentId([8; 32])
            }
        )
        .hash(),
        tx.hash()
    );
    assert_ne!(
        RecordId::from_tx(&tx.hash()).0,
        ConsentId::for_grant(&tx.transaction.chain_id, &tx.transaction.sender, 0).0
    );
}

#[test]
fn batch_verification_accepts_good_batches_and_names_the_first_bad_one() {
    let mut txs: Vec<SignedTransaction> = (0..6)
        .map(|i| {
            signed(
                10 + i,
                i,
                Payload::RevokeConsent {
                    consent: ConsentId([i as u8; 32]),
                },
            )
        })
        .collect();
    assert_eq!(verify_batch(&txs), Ok(()));
    assert_eq!(verify_batch(&[]), Ok(()));
    txs[4].signature = txs[1].signature.clone();
    assert_eq!(verify_batch(&txs), Err(BatchError { first_bad_index: 4 }));
    txs[2].transaction.nonce += 1;
    assert_eq!(verify_batch(&txs), Err(BatchError { first_bad_index: 2 }));
}

#[test]
fn transactions_root_depends_on_content_and_order_and_never_duplicates_a_leaf() {
    let txs: Vec<SignedTransaction> = (0..3)
        .map(|i| {
            signed(
                20,
                i,
                Payload::RevokeConsent {
                    consent: ConsentId([0; 32]),
                },
            )
        })
        .collect();
    let root = transactions_root(&txs);
    assert_eq!(root, transactions_root(&txs.clone()));
    assert_ne!(transactions_root(&[]), transactions_root(&txs[..1]));
    let swapped = vec![txs[1].clone(), txs[0].clone(), txs[2].clone()];
    assert_ne!(transactions_root(&swapped), root);
    // Bitcoin's tree gives [a, b, c] and [a, b, c, c] the same root; this one must not.
    let mut padded = txs.clone();
    padded.push(txs[2].clone());
    assert_ne!(transactions_root(&padded), root);
}

const GENESIS_TOML: &str = r#"
chain_name = "medchain-demo"
genesis_time_ms = 1700000000000

[[institutions]]
id = "st-mary"
kind = "hospital"
admin = "ADMIN"
admin_proof = "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"

[[validators]]
account = "VALIDATOR"
institution = "st-mary"
p2p_address = "127.0.0.1:3000"
http_address = "127.0.0.1:8080"
encryption_key = "0909090909090909090909090909090909090909090909090909090909090909"
proofs = { account = "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", encryption_key = "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" }
"#;

#[test]
fn genesis_reads_from_toml_and_its_chain_id_is_the_hash_of_its_encoding() {
    let text = GENESIS_TOML
        .replace("ADMIN", &AccountId(key(1).public_key()).to_string())
        .replace("VALIDATOR", &AccountId(key(2).public_key()).to_string());
    let genesis: Genesis = toml::from_str(&text).unwrap();
    genesis.validate().unwrap();
    assert!(genesis.members.is_empty());
    assert_eq!(Genesis::decode(genesis.encode()).unwrap(), genesis);
    let id = genesis.chain_id();
    assert_eq!(id, genesis.clone().chain_id());
    let mut later = genesis.clone();
    later.genesis_time_ms += 1;
    assert_ne!(later.chain_id(), id);
    assert_eq!(id.to_string().parse::<ChainId>().unwrap(), id);
}

/// The proofs sign the possession chain id, so filling them in must not change it; the chain
/// id hashes them, so a swapped proof makes another chain.
#[test]
fn the_possession_chain_id_leaves_out_the_proofs_and_the_chain_id_does_not() {
    let text = GENESIS_TOML
        .replace("ADMIN", &AccountId(key(1).public_key()).to_string())
        .replace("VALIDATOR", &AccountId(key(2).public_key()).to_string());
    let genesis: Genesis = toml::from_str(&text).unwrap();
    let mut proven = genesis.clone();
    proven.institutions[0].admin_proof = [7; 64];
    proven.validators[0].proofs.encryption_key = [8; 64];
    assert_eq!(proven.possession_chain_id(), genesis.possession_chain_id());
    assert_ne!(proven.chain_id(), genesis.chain_id());
    assert_ne!(genesis.possession_chain_id(), genesis.chain_id());
    let mut renamed = genesis.clone();
    renamed.chain_name = "another".into();
    assert_ne!(renamed.possession_chain_id(), genesis.possession_chain_id());
}

#[test]
fn a_genesis_validator_must_name_a_listed_institution() {
    let text = GENESIS_TOML
        .replace("ADMIN", &AccountId(key(1).public_key()).to_string())
        .replace("VALIDATOR", &AccountId(key(2).public_key()).to_string())
        .replace("institution = \"st-mary\"", "institution = \"elsewhere\"");
    let genesis: Genesis = toml::from_str(&text).unwrap();
    assert!(
        matches!(genesis.validate(), Err(ValidationError::Genesis(message)) if message.contains("elsewhere"))
    );
}

/// Fixed seed so every run explores the same cases (replayable on failure).
const PROPTEST_SEED: u64 = 0x6d65_6463_6861_696e;

proptest! {
    #![proptest_config(ProptestConfig {
        rng_seed: proptest::test_runner::RngSeed::Fixed(PROPTEST_SEED),
        ..ProptestConfig::default()
    })]

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = SignedTransaction::decode_bounded(&bytes);
        let _ = Genesis::decode(Bytes::from(bytes));
    }

    #[test]
    fn the_phi_guard_never_panics(text in ".{0,300}") {
        let _ = phi_guard::check(&text);
    }

    #[test]
    fn access_requests_round_trip(record in any::<[u8; 32]>(), purpose in 0usize..7, nonce in any::<u64>(), text in "[a-z ]{1,200}") {
        let purpose = Purpose::ALL[purpose];
        let justification = (purpose == Purpose::Etreat).then_some(text.clone());
        let tx = signed(3, nonce, Payload::RequestAccess { record: RecordId(record), purpose, justification });
        prop_assert_eq!(SignedTransaction::decode_bounded(&tx.encode()).unwrap(), tx.clone());
        // Letters and spaces hold no identifier; only a blank break-glass reason is refused.
        let blank_break_glass = purpose == Purpose::Etreat && text.trim().is_empty();
        prop_assert_eq!(tx.validate().is_ok(), !blank_break_glass);
    }
}
