use crate::harness::*;
use medchain_state::*;
use medchain_types::*;

fn propose(
    chain: &mut Chain,
    change: MembershipChange,
    ttl_blocks: u64,
) -> (ProposalId, ProposalStatus) {
    let proposer = chain.validators[0].clone();
    match chain.ok(&proposer, Payload::ProposeMembership { change, ttl_blocks }) {
        Outcome::ProposalOpened { proposal, status } => (proposal, status),
        other => panic!("unexpected outcome {other:?}"),
    }
}

fn vote(chain: &mut Chain, voter: usize, proposal: ProposalId, approve: bool) -> ProposalStatus {
    let voter = chain.validators[voter].clone();
    match chain.ok(&voter, Payload::Vote { proposal, approve }) {
        Outcome::Voted { status, .. } => status,
        other => panic!("unexpected outcome {other:?}"),
    }
}

/// Proposer plus two more of four validators: 3 of 4 is more than 2/3.
fn pass(chain: &mut Chain, change: MembershipChange) -> ProposalId {
    let (id, _) = propose(chain, change, 100);
    assert_eq!(vote(chain, 1, id, true), ProposalStatus::Open);
    assert_eq!(vote(chain, 2, id, true), ProposalStatus::Applied);
    id
}

/// Bytes of an X25519 key, for the encoding test.
const NEWCOMER_ENCRYPTION_KEY: [u8; 32] = [0x77; 32];

/// The X25519 key a newcomer of `add_validator` holds: its own per validator, since two
/// validators may not share one.
fn newcomer_encryption(
    validator: &commonware_cryptography::ed25519::PrivateKey,
) -> medchain_crypto::keys::hpke::EncryptionSecretKey {
    let ikm = blake3::hash(&account(validator).to_bytes());
    medchain_crypto::keys::hpke::EncryptionSecretKey::derive(ikm.as_bytes()).0
}

/// The test chain's id (every test that gets as far as the proofs runs on `Chain::new()`).
fn test_chain_id() -> ChainId {
    Chain::new().genesis.chain_id()
}

/// Its HTTP API listens on the p2p ip, port + 1000 (a fixed good address when the p2p address
/// does not parse), so tests about one address never trip over the other.
fn add_validator(
    validator: &commonware_cryptography::ed25519::PrivateKey,
    p2p_address: &str,
) -> MembershipChange {
    let http_address = match p2p_address.parse::<std::net::SocketAddr>() {
        Ok(p2p) => std::net::SocketAddr::new(p2p.ip(), p2p.port().wrapping_add(1000)).to_string(),
        Err(_) => "10.0.0.5:8100".to_string(),
    };
    add_validator_at(validator, p2p_address, &http_address)
}

fn add_validator_at(
    validator: &commonware_cryptography::ed25519::PrivateKey,
    p2p_address: &str,
    http_address: &str,
) -> MembershipChange {
    medchain_state::registration::add_validator(
        &mut medchain_crypto::rng::seeded_u64(7),
        &test_chain_id(),
        inst(NORTH),
        validator,
        &newcomer_encryption(validator),
        (p2p_address.into(), http_address.into()),
    )
}

/// Proposes as validator 0 a change that must be refused; `Chain::err` checks nothing was written.
fn refused_proposal(chain: &mut Chain, change: MembershipChange) -> TxError {
    let proposer = chain.validators[0].clone();
    chain.err(
        &proposer,
        Payload::ProposeMembership {
            change,
            ttl_blocks: 10,
        },
    )
}

fn admit_south(
    chain: &Chain,
    admin: &commonware_cryptography::ed25519::PrivateKey,
) -> MembershipChange {
    registration::admit_institution(
        &chain.genesis.chain_id(),
        inst("south-hospital"),
        InstitutionKind::Hospital,
        admin,
    )
}

#[test]
fn genesis_registers_institutions_admins_and_validators() {
    let chain = Chain::new();
    let st_mary = chain
        .query(async |s| query::institution(s, &inst(ST_MARY)).await)
        .unwrap();
    assert_eq!(st_mary.admin, account(&chain.st_mary_admin));
    assert!(st_mary.active);
    let admin = chain
        .query(async |s| query::member(s, &account(&chain.st_mary_admin)).await)
        .unwrap();
    assert_eq!((admin.member.role, admin.active), (Role::Admin, true));
    let set = chain.query(async |s| query::validators(s).await);
    let mut expected: Vec<AccountId> = chain.validators.iter().map(account).collect();
    expected.sort();
    assert_eq!(
        set.validators
            .iter()
            .map(|v| v.account.clone())
            .collect::<Vec<_>>(),
        expected
    );
    for entry in &set.validators {
        let listed = chain
            .genesis
            .validators
            .iter()
            .find(|g| g.account == entry.account)
            .unwrap();
        assert_eq!(
            (
                &entry.p2p_address,
                &entry.http_address,
                entry.encryption_key,
                entry.since_height
            ),
            (
                &listed.p2p_address,
                &listed.http_address,
                listed.encryption_key,
                0
            )
        );
    }
    let stored = chain.query(async |s| query::chain(s).await).unwrap();
    assert_eq!(stored.chain_id, chain.genesis.chain_id());
}

#[test]
fn genesis_cannot_be_applied_twice() {
    let mut chain = Chain::new();
    let genesis = chain.genesis.clone();
    let error = futures::executor::block_on(apply_genesis(&mut chain.store, &genesis)).unwrap_err();
    assert_eq!(error, GenesisError::AlreadyApplied(genesis.chain_id()));
}

#[test]
fn only_validators_propose() {
    let mut chain = Chain::new();
    let admin = chain.st_mary_admin.clone();
    let change = admit_south(&chain, &key(300));
    let error = chain.err(
        &admin,
        Payload::ProposeMembership {
            change,
            ttl_blocks: 10,
        },
    );
    assert_eq!(error.code(), "not_authorized");
}

#[test]
fn only_validators_vote() {
    let mut chain = Chain::new();
    let (id, _) = {
        let change = admit_south(&chain, &key(300));
        propose(&mut chain, change, 10)
    };
    let admin = chain.st_mary_admin.clone();
    assert_eq!(
        chain
            .err(
                &admin,
                Payload::Vote {
                    proposal: id,
                    approve: true
                }
            )
            .code(),
        "not_authorized"
    );
}

#[test]
fn proposal_passes_with_more_than_two_thirds_and_applies_at_once() {
    let mut chain = Chain::new();
    let south_admin = key(300);
    let (id, status) = {
        let change = admit_south(&chain, &south_admin);
        propose(&mut chain, change, 100)
    };
    assert_eq!(status, ProposalStatus::Open);
    // 2 of 4 is not more than 2/3.
    assert_eq!(vote(&mut chain, 1, id, true), ProposalStatus::Open);
    assert!(
        chain
            .query(async |s| query::institution(s, &inst("south-hospital")).await)
            .is_none()
    );
    assert_eq!(vote(&mut chain, 2, id, true), ProposalStatus::Applied);
    let south = chain
        .query(async |s| query::institution(s, &inst("south-hospital")).await)
        .unwrap();
    assert_eq!(
        (south.active, south.admitted_height),
        (true, chain.height - 1)
    );
    let proposal = chain
        .query(async |s| query::proposal(s, &id).await)
        .unwrap();
    assert_eq!(
        (proposal.status, proposal.closed_height),
        (ProposalStatus::Applied, Some(chain.height - 1))
    );
}

#[test]
fn proposal_is_rejected_once_two_thirds_can_no_longer_be_reached() {
    let mut chain = Chain::new();
    let (id, _) = {
        let change = admit_south(&chain, &key(300));
        propose(&mut chain, change, 100)
    };
    // 1 rejection of 4: 3 could still approve.
    assert_eq!(vote(&mut chain, 1, id, false), ProposalStatus::Open);
    assert_eq!(vote(&mut chain, 2, id, false), ProposalStatus::Rejected);
    let voter = chain.validators[3].clone();
    let error = chain.err(
        &voter,
        Payload::Vote {
            proposal: id,
            approve: true,
        },
    );
    assert_eq!(
        error,
        TxError::ProposalClosed {
            proposal: id,
            status: ProposalStatus::Rejected
        }
    );
}

#[test]
fn proposal_expires_after_its_ttl_in_blocks() {
    let mut chain = Chain::new();
    let (id, _) = {
        let change = admit_south(&chain, &key(300));
        propose(&mut chain, change, 2)
    };
    let proposal = chain
        .query(async |s| query::proposal(s, &id).await)
        .unwrap();
    assert_eq!(proposal.expires_height, proposal.created_height + 2);
    // The last accepted height is expires_height; one block later the vote is refused.
    chain.height = proposal.expires_height + 1;
    let voter = chain.validators[1].clone();
    let error = chain.err(
        &voter,
        Payload::Vote {
            proposal: id,
            approve: true,
        },
    );
    assert_eq!(
        error,
        TxError::ProposalClosed {
            proposal: id,
            status: ProposalStatus::Expired
        }
    );
    assert_eq!(
        proposal.status_at(proposal.expires_height),
        ProposalStatus::Open
    );
    assert_eq!(
        proposal.status_at(proposal.expires_height + 1),
        ProposalStatus::Expired
    );
}

#[test]
fn a_validator_votes_once() {
    let mut chain = Chain::new();
    let (id, _) = {
        let change = admit_south(&chain, &key(300));
        propose(&mut chain, change, 100)
    };
    let proposer = chain.validators[0].clone();
    assert_eq!(
        chain.err(
            &proposer,
            Payload::Vote {
                proposal: id,
                approve: true
            }
        ),
        TxError::AlreadyVoted { proposal: id }
    );
}

#[test]
fn admitting_an_institution_registers_its_admin() {
    let mut chain = Chain::new();
    let south_admin = key(300);
    {
        let change = admit_south(&chain, &south_admin);
        pass(&mut chain, change)
    };
    let admin = chain
        .query(async |s| query::member(s, &account(&south_admin)).await)
        .unwrap();
    assert_eq!(
        (
            admin.member.role,
            admin.member.institution.as_str(),
            admin.active
        ),
        (Role::Admin, "south-hospital", true)
    );
    // The new admin can act at once.
    let clinician = chain.clinician(&south_admin, 301);
    let entry = chain
        .query(async |s| query::member(s, &account(&clinician)).await)
        .unwrap();
    assert_eq!(entry.member.institution, inst("south-hospital"));
}

#[test]
fn admitting_an_existing_institution_id_is_refused() {
    let mut chain = Chain::new();
    let change = registration::admit_institution(
        &chain.genesis.chain_id(),
        inst(ST_MARY),
        InstitutionKind::Hospital,
        &key(300),
    );
    let proposer = chain.validators[0].clone();
    let error = chain.err(
        &proposer,
        Payload::ProposeMembership {
            change,
            ttl_blocks: 10,
        },
    );
    assert_eq!(error.code(), "invalid_change");
}

#[test]
fn admitting_an_admin_key_without_its_holders_proof_is_refused() {
    let mut chain = Chain::new();
    let proposer = chain.validators[0].clone();
    let honest = admit_south(&chain, &key(300));
    let MembershipChange::AdmitInstitution {
        id, kind, admin, ..
    } = honest.clone()
    else {
        unreachable!("admit_south builds an AdmitInstitution")
    };
    let copied = MembershipChange::AdmitInstitution {
        id: id.clone(),
        kind,
        admin: admin.clone(),
        // The proposer signs with its own key: it does not hold the admin key it names.
        admin_proof: medchain_types::possession::prove_account(
            &proposer,
            &chain.genesis.chain_id(),
        ),
    };
    let other_chain = MembershipChange::AdmitInstitution {
        id,
        kind,
        admin: admin.clone(),
        admin_proof: medchain_types::possession::prove_account(&key(300), &ChainId([9; 32])),
    };
    for change in [copied, other_chain] {
        let error = chain.err(
            &proposer,
            Payload::ProposeMembership {
                change,
                ttl_blocks: 10,
            },
        );
        assert_eq!(error.code(), "invalid_transaction", "{error}");
        assert!(
            error.to_string().contains("institution admin key"),
            "{error}"
        );
    }
    let (_, status) = propose(&mut chain, honest, 10);
    assert_eq!(
        status,
        ProposalStatus::Open,
        "the holder's own proof is accepted"
    );
}

#[test]
fn removing_an_institution_deactivates_its_members_and_validators() {
    let mut chain = Chain::new();
    let admin = chain.city_lab_admin.clone();
    let clinician = chain.clinician(&admin, 310);
    let patient = chain.patient(CITY_LAB, 311);
    pass(
        &mut chain,
        MembershipChange::RemoveInstitution { id: inst(CITY_LAB) },
    );
    let lab = chain
        .query(async |s| query::institution(s, &inst(CITY_LAB)).await)
        .unwrap();
    assert!(!lab.active);
    let member = chain
        .query(async |s| query::member(s, &account(&clinician)).await)
        .unwrap();
    assert!(!member.active);
    let error = chain.err(
        &clinician,
        chain.record_payload(&patient, RecordCategory::Laboratory),
    );
    assert_eq!(error.code(), "not_authorized");
    let set = chain.query(async |s| query::validators(s).await);
    assert_eq!(set.len(), 2);
    assert!(
        set.validators
            .iter()
            .all(|v| v.institution == inst(ST_MARY))
    );
}

#[test]
fn validator_set_changes_are_recorded_in_state() {
    let mut chain = Chain::new();
    let newcomer = key(320);
    pass(&mut chain, add_validator(&newcomer, "10.0.0.5:7100"));
    let set = chain.query(async |s| query::validators(s).await);
    let added = set
        .validators
        .iter()
        .find(|v| v.account == account(&newcomer))
        .unwrap();
    assert_eq!(
        (
            set.len(),
            added.institution.as_str(),
            added.p2p_address.as_str(),
            added.http_address.as_str(),
            added.encryption_key,
            added.since_height
        ),
        (
            5,
            NORTH,
            "10.0.0.5:7100",
            "10.0.0.5:8100",
            newcomer_encryption(&newcomer).public_key().to_bytes(),
            chain.height - 1
        )
    );
    // 5 validators: proposer + 3 approvals are needed (4 * 3 > 10, 3 * 3 is not).
    let (id, _) = propose(
        &mut chain,
        MembershipChange::RemoveValidator {
            validator: account(&newcomer),
        },
        100,
    );
    assert_eq!(vote(&mut chain, 1, id, true), ProposalStatus::Open);
    assert_eq!(vote(&mut chain, 2, id, true), ProposalStatus::Open);
    assert_eq!(vote(&mut chain, 3, id, true), ProposalStatus::Applied);
    assert_eq!(chain.query(async |s| query::validators(s).await).len(), 4);
}

#[test]
fn a_passed_change_that_no_longer_applies_is_closed_inapplicable() {
    let mut chain = Chain::new();
    let (first, _) = {
        let change = admit_south(&chain, &key(300));
        propose(&mut chain, change, 100)
    };
    let (second, _) = {
        let change = admit_south(&chain, &key(301));
        propose(&mut chain, change, 100)
    };
    vote(&mut chain, 1, first, true);
    assert_eq!(vote(&mut chain, 2, first, true), ProposalStatus::Applied);
    vote(&mut chain, 1, second, true);
    assert_eq!(
        vote(&mut chain, 2, second, true),
        ProposalStatus::Inapplicable
    );
    let south = chain
        .query(async |s| query::institution(s, &inst("south-hospital")).await)
        .unwrap();
    assert_eq!(south.admin, account(&key(300)));
}

#[test]
fn a_single_validator_consortium_governs_itself() {
    let mut chain = Chain::with_validators(1);
    let (_, status) = {
        let change = admit_south(&chain, &key(300));
        propose(&mut chain, change, 10)
    };
    assert_eq!(status, ProposalStatus::Applied);
}

#[test]
fn genesis_members_are_registered_with_their_keys() {
    let validator = key(100);
    let admin = key(200);
    let nurse_seed = 330;
    let admins = [(ST_MARY, InstitutionKind::Hospital, &admin)];
    let mut genesis = genesis_for(std::slice::from_ref(&validator), &admins);
    let (nurse, pre, encryption) = (
        key(nurse_seed),
        pre_secret(nurse_seed),
        encryption_secret(nurse_seed),
    );
    let nurse_keys = medchain_state::registration::MemberKeys {
        account: &nurse,
        pre: &pre,
        encryption: &encryption,
    };
    genesis.members.push(GenesisMember {
        account: account(&nurse),
        institution: inst(ST_MARY),
        role: Role::Clinician,
        pre_public_key: pre.public_key().to_compressed_bytes(),
        encryption_key: encryption.public_key().to_bytes(),
        proofs: MemberKeyProofs {
            account: [0; 64],
            pre_public_key: [0; 64],
            encryption_key: [0; 64],
        },
    });
    let mut keyring = founding_keyring(std::slice::from_ref(&validator), &admins);
    keyring.member(&nurse_keys);
    keyring
        .sign(&mut medchain_crypto::rng::seeded_u64(2), &mut genesis)
        .unwrap();
    let mut store = MemoryStore::new();
    futures::executor::block_on(apply_genesis(&mut store, &genesis)).unwrap();
    let view = futures::executor::block_on(query::member(&store, &account(&nurse)))
        .unwrap()
        .unwrap();
    assert_eq!((view.member.role, view.active), (Role::Clinician, true));
    assert_eq!(
        view.member.keys.unwrap().encryption_key,
        encryption.public_key().to_bytes()
    );
}

/// Each founding key of a genesis needs its own valid proof: a zeroed proof, a proof copied
/// from another entry, a proof made for another document, and a key changed after signing are
/// each refused, naming the entry.
#[test]
fn a_genesis_key_without_its_holders_proof_is_refused() {
    let validators = [key(100), key(101)];
    let (admin, lab_admin) = (key(200), key(201));
    let admins = [
        (ST_MARY, InstitutionKind::Hospital, &admin),
        (CITY_LAB, InstitutionKind::Laboratory, &lab_admin),
    ];
    let signed = genesis_for(&validators, &admins);
    let refused = |genesis: &Genesis| {
        let mut store = MemoryStore::new();
        futures::executor::block_on(apply_genesis(&mut store, genesis))
            .expect_err("a genesis with a bad proof must not apply")
    };

    let mut zeroed = signed.clone();
    zeroed.institutions[0].admin_proof = [0; 64];
    let error = refused(&zeroed);
    assert!(matches!(error, GenesisError::KeyProof { .. }), "{error}");
    assert!(
        error.to_string().contains("institution st-mary admin"),
        "{error}"
    );

    let mut copied = signed.clone();
    copied.validators[1].proofs = copied.validators[0].proofs.clone();
    assert!(
        refused(&copied)
            .to_string()
            .contains(&format!("validator {}", account(&validators[1])))
    );

    // Proofs from a document with another name do not carry over.
    let mut renamed = genesis_for(&validators, &admins);
    renamed.chain_name = "another-chain".into();
    assert!(matches!(refused(&renamed), GenesisError::KeyProof { .. }));

    // A squatted X25519 key: the first validator's key listed for the second.
    let mut squatted = signed.clone();
    squatted.validators[1].encryption_key = squatted.validators[0].encryption_key;
    assert!(matches!(refused(&squatted), GenesisError::KeyProof { .. }));

    let mut store = MemoryStore::new();
    futures::executor::block_on(apply_genesis(&mut store, &signed)).unwrap();
}

#[test]
fn adding_a_validator_beyond_validators_max_is_refused() {
    let mut chain = Chain::with_validators(limits::VALIDATORS_MAX as u64);
    let change = add_validator(&key(340), "10.0.0.9:7100");
    let proposer = chain.validators[0].clone();
    let error = chain.err(
        &proposer,
        Payload::ProposeMembership {
            change,
            ttl_blocks: 10,
        },
    );
    assert_eq!(error.code(), "invalid_change");
    assert!(error.to_string().contains("validators_max"));
}

#[test]
fn an_add_validator_whose_address_is_not_ip_port_is_refused_at_proposal() {
    let mut chain = Chain::new();
    for (address, says) in [
        ("north-clinic.example:7100", "is not ip:port"),
        ("10.0.0.5", "is not ip:port"),
        ("10.0.0.5:07100", "write it as 10.0.0.5:7100"),
        ("0.0.0.0:7100", "cannot be dialed"),
    ] {
        let error = refused_proposal(&mut chain, add_validator(&key(320), address));
        assert_eq!(error.code(), "invalid_change", "{address}");
        assert!(error.to_string().contains(says), "{address}: {error}");
    }
    let over = "1".repeat(limits::ADDRESS_SIZE_MAX_BYTES + 1);
    let error = refused_proposal(&mut chain, add_validator(&key(320), &over));
    assert_eq!(
        error,
        TxError::LimitExceeded {
            limit: "address_size_max_bytes",
            max: limits::ADDRESS_SIZE_MAX_BYTES as u64,
            got: limits::ADDRESS_SIZE_MAX_BYTES as u64 + 1,
        }
    );
    assert_eq!(chain.query(async |s| query::validators(s).await).len(), 4);
}

#[test]
fn an_add_validator_reusing_a_current_validators_address_is_refused_at_proposal() {
    let mut chain = Chain::new();
    // The harness gives genesis validator i the address 127.0.0.1:(3000 + i).
    let taken = chain.genesis.validators[1].p2p_address.clone();
    let error = refused_proposal(&mut chain, add_validator(&key(320), &taken));
    assert_eq!(error.code(), "invalid_change");
    assert_eq!(
        error.to_string(),
        format!(
            "membership change does not apply: p2p_address {taken} is already used by validator {}; give the new validator its own address",
            chain.genesis.validators[1].account
        )
    );
    let set = chain.query(async |s| query::validators(s).await);
    assert!(!set.contains(&account(&key(320))));
}

#[test]
fn a_passed_add_validator_whose_address_was_taken_meanwhile_is_inapplicable() {
    let mut chain = Chain::new();
    let (first, _) = propose(&mut chain, add_validator(&key(320), "10.0.0.5:7100"), 100);
    let (second, _) = propose(&mut chain, add_validator(&key(321), "10.0.0.5:7100"), 100);
    vote(&mut chain, 1, first, true);
    assert_eq!(vote(&mut chain, 2, first, true), ProposalStatus::Applied);
    // Five validators now: the second needs four approvals.
    vote(&mut chain, 1, second, true);
    vote(&mut chain, 2, second, true);
    assert_eq!(
        vote(&mut chain, 3, second, true),
        ProposalStatus::Inapplicable
    );
    let set = chain.query(async |s| query::validators(s).await);
    assert_eq!((set.len(), set.contains(&account(&key(321)))), (5, false));
}

#[test]
fn a_removed_validators_address_can_be_given_to_a_new_one() {
    let mut chain = Chain::new();
    pass(&mut chain, add_validator(&key(320), "10.0.0.5:7100"));
    let (id, _) = propose(
        &mut chain,
        MembershipChange::RemoveValidator {
            validator: account(&key(320)),
        },
        100,
    );
    for voter in 1..=3 {
        vote(&mut chain, voter, id, true);
    }
    pass(&mut chain, add_validator(&key(321), "10.0.0.5:7100"));
    let set = chain.query(async |s| query::validators(s).await);
    let entry = set
        .validators
        .iter()
        .find(|v| v.account == account(&key(321)))
        .unwrap();
    assert_eq!(entry.p2p_address, "10.0.0.5:7100");
}

#[test]
fn an_add_validator_whose_http_address_is_not_dialable_ip_port_is_refused_at_proposal() {
    let mut chain = Chain::new();
    for (address, says) in [
        (
            "north-clinic.example:8100",
            "http_address \"north-clinic.example:8100\" is not ip:port",
        ),
        ("10.0.0.5:08100", "write it as 10.0.0.5:8100"),
        ("[::]:8100", "http_address \"[::]:8100\" cannot be dialed"),
    ] {
        let change = add_validator_at(&key(320), "10.0.0.5:7100", address);
        let error = refused_proposal(&mut chain, change);
        assert_eq!(error.code(), "invalid_change", "{address}");
        assert!(error.to_string().contains(says), "{address}: {error}");
    }
    let over = "1".repeat(limits::ADDRESS_SIZE_MAX_BYTES + 1);
    let error = refused_proposal(
        &mut chain,
        add_validator_at(&key(320), "10.0.0.5:7100", &over),
    );
    assert_eq!(
        error,
        TxError::LimitExceeded {
            limit: "address_size_max_bytes",
            max: limits::ADDRESS_SIZE_MAX_BYTES as u64,
            got: limits::ADDRESS_SIZE_MAX_BYTES as u64 + 1,
        }
    );
    assert_eq!(chain.query(async |s| query::validators(s).await).len(), 4);
}

#[test]
fn an_add_validator_reusing_a_current_validators_http_address_is_refused_at_proposal() {
    let mut chain = Chain::new();
    // The harness gives genesis validator i the HTTP address 127.0.0.1:(8080 + i).
    let taken = chain.genesis.validators[2].http_address.clone();
    let change = add_validator_at(&key(320), "10.0.0.5:7100", &taken);
    let error = refused_proposal(&mut chain, change);
    assert_eq!(
        error.to_string(),
        format!(
            "membership change does not apply: http_address {taken} is already used by validator {}; give the new validator its own address",
            chain.genesis.validators[2].account
        )
    );
    let set = chain.query(async |s| query::validators(s).await);
    assert!(!set.contains(&account(&key(320))));
}

#[test]
fn a_validator_entry_encodes_its_http_address_and_encryption_key_after_the_p2p_address() {
    let entry = ValidatorEntry {
        account: account(&key(320)),
        institution: inst(NORTH),
        p2p_address: "10.0.0.5:7100".into(),
        http_address: "10.0.0.5:8100".into(),
        encryption_key: NEWCOMER_ENCRYPTION_KEY,
        since_height: 42,
    };
    let encoded = commonware_codec::Encode::encode(&entry).to_vec();
    let mut expected = account(&key(320)).0.as_ref().to_vec();
    expected.push(NORTH.len() as u8);
    expected.extend_from_slice(NORTH.as_bytes());
    expected.push(13);
    expected.extend_from_slice(b"10.0.0.5:7100");
    expected.push(13);
    expected.extend_from_slice(b"10.0.0.5:8100");
    expected.extend_from_slice(&NEWCOMER_ENCRYPTION_KEY);
    expected.extend_from_slice(&42u64.to_be_bytes());
    assert_eq!(encoded, expected);
    let decoded: ValidatorEntry =
        commonware_codec::DecodeExt::decode(commonware_codec::Copying(encoded.as_slice())).unwrap();
    assert_eq!(decoded, entry);
    let json = serde_json::to_value(&entry).unwrap();
    assert_eq!(
        (
            json["http_address"].as_str(),
            json["encryption_key"].as_str()
        ),
        (Some("10.0.0.5:8100"), Some("77".repeat(32).as_str()))
    );
}

#[test]
fn a_validator_whose_keys_are_not_proven_is_refused() {
    let mut chain = Chain::new();
    let newcomer = key(350);
    let good = add_validator(&newcomer, "10.0.0.5:7100");
    let MembershipChange::AddValidator {
        validator_proof,
        encryption_key_proof,
        ..
    } = good.clone()
    else {
        unreachable!()
    };
    // Another validator's encryption key claimed as one's own: the proof cannot be made.
    let mut copied_key = good.clone();
    let mut swapped_proofs = good.clone();
    let mut other_chain = good.clone();
    if let MembershipChange::AddValidator { encryption_key, .. } = &mut copied_key {
        *encryption_key = newcomer_encryption(&key(351)).public_key().to_bytes();
    }
    if let MembershipChange::AddValidator {
        validator_proof: v,
        encryption_key_proof: e,
        ..
    } = &mut swapped_proofs
    {
        (*v, *e) = (encryption_key_proof, validator_proof);
    }
    if let MembershipChange::AddValidator {
        validator_proof: v, ..
    } = &mut other_chain
    {
        *v = medchain_types::possession::prove_account(&newcomer, &ChainId([7; 32]));
    }
    assert_eq!(
        refused_proposal(&mut chain, copied_key),
        TxError::Invalid(ValidationError::PossessionProof("X25519 encryption key"))
    );
    assert_eq!(
        refused_proposal(&mut chain, swapped_proofs),
        TxError::Invalid(ValidationError::PossessionProof("validator key"))
    );
    assert_eq!(
        refused_proposal(&mut chain, other_chain),
        TxError::Invalid(ValidationError::PossessionProof("validator key"))
    );
    pass(&mut chain, good);
}

#[test]
fn a_validator_may_not_reuse_another_validators_encryption_key() {
    let mut chain = Chain::new();
    pass(&mut chain, add_validator(&key(352), "10.0.0.5:7100"));
    // The second newcomer proves the first one's key: impossible without its secret, and
    // refused before any proof is looked at.
    let reused = medchain_state::registration::add_validator(
        &mut medchain_crypto::rng::seeded_u64(8),
        &test_chain_id(),
        inst(NORTH),
        &key(353),
        &newcomer_encryption(&key(352)),
        ("10.0.0.6:7100".into(), "10.0.0.6:8100".into()),
    );
    let error = refused_proposal(&mut chain, reused);
    assert_eq!(error.code(), "invalid_change");
    assert!(error.to_string().contains("already validator"), "{error}");
}
