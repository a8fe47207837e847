//! Execution: apply one transaction (all-or-nothing through an overlay),
//! verify a proposed block, or build one from mempool candidates.

use crate::entries::{AccessReason, ChainEntry, ProposalStatus, StudyStatus};
use crate::error::{BlockError, GenesisError, TxError};
use crate::store::{Overlay, Store, commit};
use crate::{
    access, consent, directory, governance, keys, patients, query, records, review, rw, studies,
};
use commonware_codec::EncodeSize;
use medchain_types::{
    AccountId, ChainId, ConsentId, Decision, Genesis, InstitutionId, Payload, ProposalId, RecordId,
    ReviewFinding, SignedTransaction, StudyId, TxHash, limits, verify_batch,
};
use serde::{Deserialize, Serialize};

/// What the state machine knows about the block being executed. The
/// timestamp is the block's, never a local clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockEnv {
    pub chain_id: ChainId,
    pub height: u64,
    pub timestamp_ms: u64,
    pub proposer: AccountId,
}

/// What a successful transaction did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Outcome {
    ProposalOpened {
        proposal: ProposalId,
        status: ProposalStatus,
    },
    Voted {
        proposal: ProposalId,
        status: ProposalStatus,
    },
    MemberRegistered {
        account: AccountId,
    },
    MemberRevoked {
        account: AccountId,
    },
    PseudonymRegistered {
        account: AccountId,
    },
    EmergencyAccessSet {
        institution: InstitutionId,
        enabled: bool,
    },
    RecordCreated {
        record: RecordId,
    },
    RecordErased {
        record: RecordId,
    },
    /// The erased record's confirmations now count `confirmed` validators.
    ErasureConfirmed {
        record: RecordId,
        confirmed: usize,
    },
    ConsentGranted {
        consent: ConsentId,
    },
    ConsentRevoked {
        consent: ConsentId,
    },
    /// Logged as entry `sequence` of the patient's access log.
    AccessDecided {
        patient: AccountId,
        sequence: u64,
        decision: Decision,
        reason: AccessReason,
        break_glass: bool,
    },
    /// The consent's fragments are committed anew for the current validators.
    FragmentsReissued {
        consent: ConsentId,
        threshold: u32,
    },
    /// Item `item` of the break-glass review queue now carries the auditor's finding.
    BreakGlassReviewed {
        item: u64,
        finding: ReviewFinding,
    },
    RingKeyRegistered {
        pseudonym: AccountId,
    },
    /// `submissions` current validators submitted this sharing for `epoch`; `adopted` once
    /// they reached 2f+1 and it became the analytics key.
    AnalyticsKeySubmitted {
        epoch: u64,
        submissions: usize,
        adopted: bool,
    },
    StudyProposed {
        study: StudyId,
    },
    /// The study now aggregates `values` values from `contributions` contributions.
    StudyContributed {
        study: StudyId,
        values: u64,
        contributions: u64,
    },
    StudyClosed {
        study: StudyId,
        status: StudyStatus,
        values: u64,
    },
    /// `added` validators' noise shares are in the aggregates; `releasing` once enough are.
    StudyNoiseAdded {
        study: StudyId,
        added: usize,
        releasing: bool,
    },
    /// `posted` validators' partials are in; `released` once they decrypted the aggregates.
    PartialDecryptionPosted {
        study: StudyId,
        posted: usize,
        released: bool,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Receipt {
    pub tx_hash: TxHash,
    pub outcome: Outcome,
}

/// A proposed block's contents and what happened to the other candidates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltBlock {
    pub included: Vec<(SignedTransaction, Receipt)>,
    /// Failed now; drop them from the mempool.
    pub rejected: Vec<(TxHash, TxError)>,
    /// Valid as far as checked but did not fit the block limits; offer them again.
    pub deferred: Vec<SignedTransaction>,
    /// How many of `rejected` were refused without being executed: later nonces of a sender
    /// whose transaction already failed in this block, which could only fail for the gap.
    pub unexecuted: usize,
}

/// Every rule a genesis must meet before a chain starts from it: the document's own rules and a
/// valid proof of possession for every founding key.
pub fn check_genesis(genesis: &Genesis) -> Result<(), GenesisError> {
    genesis.validate()?;
    crate::possession::check_genesis_keys(genesis)
}

/// Writes the genesis institutions, admins, validators and members into an empty store.
pub async fn apply_genesis<S: Store>(store: &mut S, genesis: &Genesis) -> Result<(), GenesisError> {
    check_genesis(genesis)?;
    if let Some(existing) = query::chain(store).await? {
        return Err(GenesisError::AlreadyApplied(existing.chain_id));
    }
    let chain = ChainEntry {
        chain_id: genesis.chain_id(),
        genesis_time_ms: genesis.genesis_time_ms,
    };
    rw::write(store, keys::chain(), &chain);
    governance::write_genesis(store, genesis);
    directory::write_genesis_members(store, genesis);
    // An empty queue has a provable length, so an auditor's first page is provably complete.
    rw::write(store, keys::review_queue_count(), &0u64);
    Ok(())
}

/// Full admission check for the mempool and the API: signature, then every
/// rule, against `env` (the next block's expected height and time). Writes nothing.
pub async fn check_transaction<S: Store>(
    store: &S,
    env: &BlockEnv,
    tx: &SignedTransaction,
) -> Result<(), TxError> {
    if !tx.verify() {
        return Err(TxError::BadSignature);
    }
    let mut overlay = Overlay::new(store);
    apply_transaction(&mut overlay, env, tx).await.map(|_| ())
}

/// Verifies and executes a proposed block. Every transaction must succeed;
/// otherwise nothing is written and the first failure is returned.
pub async fn execute_block<S: Store>(
    store: &mut S,
    env: &BlockEnv,
    txs: &[SignedTransaction],
) -> Result<Vec<Receipt>, BlockError> {
    check_block_limits(txs)?;
    verify_batch(txs).map_err(|e| BlockError {
        index: e.first_bad_index,
        error: TxError::BadSignature,
    })?;
    // Anonymous contributions' proofs are checked ahead, the range proofs of the whole block in
    // one batch; what verifies there is not checked again below.
    studies::verify_contributions_ahead(&*store, env, txs).await;
    let mut block = Overlay::new(&*store);
    let mut receipts = Vec::with_capacity(txs.len());
    for (index, tx) in txs.iter().enumerate() {
        let mut overlay = Overlay::new(&block);
        let receipt = apply_transaction(&mut overlay, env, tx)
            .await
            .map_err(|error| BlockError { index, error })?;
        let writes = overlay.into_writes();
        commit(&mut block, writes);
        receipts.push(receipt);
    }
    let writes = block.into_writes();
    commit(store, writes);
    Ok(receipts)
}

fn check_block_limits(txs: &[SignedTransaction]) -> Result<(), BlockError> {
    if txs.len() > limits::BLOCK_TRANSACTIONS_MAX {
        let error = TxError::LimitExceeded {
            limit: "block_transactions_max",
            max: limits::BLOCK_TRANSACTIONS_MAX as u64,
            got: txs.len() as u64,
        };
        return Err(BlockError {
            index: limits::BLOCK_TRANSACTIONS_MAX,
            error,
        });
    }
    let mut total_bytes = 0usize;
    for (index, tx) in txs.iter().enumerate() {
        total_bytes += tx.encode_size();
        if total_bytes > limits::BLOCK_SIZE_MAX_BYTES {
            let error = TxError::LimitExceeded {
                limit: "block_size_max_bytes",
                max: limits::BLOCK_SIZE_MAX_BYTES as u64,
                got: total_bytes as u64,
            };
            return Err(BlockError { index, error });
        }
    }
    Ok(())
}

/// Proposes a block: takes candidates in order, skips (and reports) those
/// that fail, defers those that no longer fit, and writes the included ones.
/// Once a sender's transaction fails, the sender's later nonces are refused as
/// gaps without a signature check or a state read, so a sender queueing a run
/// built to fail costs the proposer one execution, not one per transaction.
pub async fn build_block<S: Store>(
    store: &mut S,
    env: &BlockEnv,
    candidates: Vec<SignedTransaction>,
) -> BuiltBlock {
    build_block_within(store, env, candidates, || false).await
}

/// [`build_block`], deferring every candidate left once `out_of_time` says so (asked before
/// each candidate after the first included one, so a block always makes progress). The
/// proposer passes its execution budget here: a block of expensive transactions (range proofs,
/// ring signatures) stops growing when the budget is spent, and the others verify it in about
/// the same time, instead of a fixed count overrunning consensus timeouts. Which transactions a
/// proposer includes is its own choice; the block it builds is valid either way.
pub async fn build_block_within<S: Store>(
    store: &mut S,
    env: &BlockEnv,
    candidates: Vec<SignedTransaction>,
    mut out_of_time: impl FnMut() -> bool,
) -> BuiltBlock {
    let mut built = BuiltBlock {
        included: Vec::new(),
        rejected: Vec::new(),
        deferred: Vec::new(),
        unexecuted: 0,
    };
    // Senders whose transaction failed in this block, with their next nonce, which only a
    // transaction of theirs at that very nonce can move.
    let mut stuck: std::collections::HashMap<AccountId, u64> = Default::default();
    let mut total_bytes = 0usize;
    for tx in candidates {
        let size = tx.encode_size();
        let full = built.included.len() == limits::BLOCK_TRANSACTIONS_MAX;
        let spent = !built.included.is_empty() && out_of_time();
        if full || spent || total_bytes + size > limits::BLOCK_SIZE_MAX_BYTES {
            built.deferred.push(tx);
            continue;
        }
        let sender = &tx.transaction.sender;
        if let Some(&expected) = stuck.get(sender)
            && tx.transaction.nonce > expected
        {
            let got = tx.transaction.nonce;
            built.unexecuted += 1;
            built
                .rejected
                .push((tx.hash(), TxError::NonceGap { expected, got }));
            continue;
        }
        if !tx.verify() {
            built.rejected.push((tx.hash(), TxError::BadSignature));
            continue;
        }
        let mut overlay = Overlay::new(&*store);
        match apply_transaction(&mut overlay, env, &tx).await {
            Ok(receipt) => {
                let writes = overlay.into_writes();
                commit(store, writes);
                total_bytes += size;
                stuck.remove(sender);
                built.included.push((tx, receipt));
            }
            Err(error) => {
                if let Ok(expected) = query::next_nonce(&*store, sender).await {
                    stuck.insert(sender.clone(), expected);
                }
                built.rejected.push((tx.hash(), error));
            }
        }
    }
    built
}

/// Everything but the signature: chain, stateless rules, nonce, the payload's handler.
/// Writes go to `store`, which callers make an overlay so a failure leaves nothing.
async fn apply_transaction<S: Store>(
    store: &mut S,
    env: &BlockEnv,
    tx: &SignedTransaction,
) -> Result<Receipt, TxError> {
    let transaction = &tx.transaction;
    if transaction.chain_id != env.chain_id {
        return Err(TxError::WrongChain {
            expected: env.chain_id,
            got: transaction.chain_id,
        });
    }
    tx.validate()?;
    let sender = &transaction.sender;
    let expected = query::next_nonce(store, sender).await?;
    if transaction.nonce < expected {
        return Err(TxError::NonceReplayed {
            expected,
            got: transaction.nonce,
        });
    }
    if transaction.nonce > expected {
        return Err(TxError::NonceGap {
            expected,
            got: transaction.nonce,
        });
    }
    let tx_hash = tx.hash();
    let call = Call {
        env,
        sender,
        nonce: transaction.nonce,
        tx_hash,
    };
    let outcome = dispatch(store, &call, &transaction.payload).await?;
    rw::write(store, keys::nonce(sender), &(expected + 1));
    Ok(Receipt { tx_hash, outcome })
}

/// The context one handler sees.
pub(crate) struct Call<'a> {
    pub env: &'a BlockEnv,
    pub sender: &'a AccountId,
    /// The transaction's nonce (its sender's next): with the sender, it names a consent.
    pub nonce: u64,
    pub tx_hash: TxHash,
}

async fn dispatch<S: Store>(
    store: &mut S,
    call: &Call<'_>,
    payload: &Payload,
) -> Result<Outcome, TxError> {
    match payload {
        Payload::ProposeMembership { change, ttl_blocks } => {
            governance::propose(store, call, change, *ttl_blocks).await
        }
        Payload::Vote { proposal, approve } => {
            governance::vote(store, call, proposal, *approve).await
        }
        Payload::RegisterMember {
            account,
            role,
            pre_public_key,
            encryption_key,
            proofs,
        } => {
            directory::register_member(
                store,
                call,
                account,
                *role,
                pre_public_key,
                encryption_key,
                proofs,
            )
            .await
        }
        Payload::RevokeMember { account } => directory::revoke_member(store, call, account).await,
        Payload::RegisterPseudonym { .. } => {
            patients::register_pseudonym(store, call, payload).await
        }
        Payload::SetEmergencyAccess {
            institution,
            enabled,
        } => patients::set_emergency_access(store, call, institution, *enabled).await,
        Payload::CreateRecord { .. } => records::create_record(store, call, payload).await,
        Payload::GrantConsent {
            policy,
            fragment_commitments,
        } => consent::grant(store, call, policy, fragment_commitments).await,
        Payload::RevokeConsent { consent: id } => consent::revoke(store, call, id).await,
        Payload::RequestAccess {
            record,
            purpose,
            justification,
        } => access::request(store, call, record, *purpose, justification.as_deref()).await,
        Payload::EraseRecord { record } => records::erase(store, call, record).await,
        Payload::ConfirmErasure { record, receipts } => {
            records::confirm_erasure(store, call, record, receipts).await
        }
        Payload::ReissueFragments {
            consent: id,
            fragment_commitments,
        } => consent::reissue(store, call, id, fragment_commitments).await,
        Payload::ReviewBreakGlass {
            item,
            finding,
            note,
        } => review::review(store, call, *item, *finding, note.as_deref()).await,
        _ => dispatch_study(store, call, payload).await,
    }
}

async fn dispatch_study<S: Store>(
    store: &mut S,
    call: &Call<'_>,
    payload: &Payload,
) -> Result<Outcome, TxError> {
    match payload {
        Payload::RegisterRingKey { ring_key, proof } => {
            studies::register_ring_key(store, call, ring_key, proof).await
        }
        Payload::SubmitAnalyticsKey { epoch, output } => {
            studies::submit_analytics_key(store, call, *epoch, output).await
        }
        Payload::ProposeStudy { spec } => studies::propose(store, call, spec).await,
        Payload::ContributeToStudy {
            study,
            values,
            contribution,
        } => studies::contribute_institutional(store, call, study, *values, contribution).await,
        Payload::ContributeAnonymously {
            study,
            ring,
            ring_signature,
            contribution,
        } => {
            studies::contribute_anonymously(store, call, study, ring, ring_signature, contribution)
                .await
        }
        Payload::CloseStudy { study } => studies::close(store, call, study).await,
        Payload::PostPartialDecryption { study, partials } => {
            studies::post_partials(store, call, study, partials).await
        }
        Payload::AddStudyNoise { study, noise } => {
            studies::add_noise(store, call, study, noise).await
        }
        other => unreachable!("dispatch routes {} itself", other.kind()),
    }
}
