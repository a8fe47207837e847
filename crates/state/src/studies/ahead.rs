//! A block's anonymous contributions, checked before the block executes: each ring signature on
//! its own, spread over every core, and every range proof of the block in one batch, which
//! costs a third of checking them one by one (`medchain bench study`). What verifies is
//! remembered ([`ProofInputs`]), so executing the transactions does not check it again.
//! Anything else (a study approved earlier in the same block, a malformed contribution, a batch
//! that fails) is left to the transaction's own check, which gives the refusal its index and
//! its reason: this pass decides nothing.

use commonware_cryptography::{Hasher, Sha256};
use medchain_crypto::analytics::range::{Range, RangeProof, RangeStatement, verify_batch};
use medchain_crypto::analytics::{AnalyticsPublicKey, Ciphertext, ProofContext};
use medchain_crypto::ring::{PreparedRing, RingSignature};
use medchain_types::study::anonymous_contribution_message;
use medchain_types::{Payload, SignedTransaction, StudyId};
use rayon::prelude::*;

use super::approved_key;
use super::contribute::{check_shape, decode_ring, decode_slots};
use super::verdicts::ProofInputs;
use crate::entries::StudyStatus;
use crate::exec::{BlockEnv, Call};
use crate::query;
use crate::store::Store;

/// One contribution's proofs, decoded and waiting for the block's batch.
struct Pending {
    inputs: ProofInputs,
    study: StudyId,
    ring: PreparedRing,
    signature: RingSignature,
    message: Vec<u8>,
    key: AnalyticsPublicKey,
    key_image: [u8; 32],
    statements: Vec<(Ciphertext, Range, RangeProof)>,
}

/// Verifies the proofs of `txs`' anonymous contributions ahead of their execution and
/// remembers those that hold.
pub(crate) async fn verify_contributions_ahead<S: Store>(
    store: &S,
    env: &BlockEnv,
    txs: &[SignedTransaction],
) {
    let mut pending = Vec::new();
    for tx in txs {
        if let Some(contribution) = decode(store, env, tx).await {
            pending.push(contribution);
        }
    }
    if pending.is_empty() {
        return;
    }
    let signed: Vec<bool> = pending
        .par_iter()
        .map(|p| p.ring.verify(&p.message, &p.signature).is_ok())
        .collect();
    let statements: Vec<RangeStatement<'_>> = pending
        .iter()
        .flat_map(|p| {
            p.statements
                .iter()
                .map(|(ciphertext, range, proof)| RangeStatement {
                    key: &p.key,
                    ciphertext,
                    range,
                    context: ProofContext {
                        chain_id: env.chain_id.as_bytes(),
                        study_id: p.study.as_bytes(),
                        key_image: Some(&p.key_image),
                    },
                    proof,
                })
        })
        .collect();
    // The weights come from the contributions' input digests, which cover their transactions'
    // hashes and so every proof: fixed only once the proofs are. Two halves, one per core.
    let digests: Vec<u8> = pending.iter().flat_map(|p| *p.inputs.digest()).collect();
    let seed = Sha256::hash(&[b"medchain/block-range-proof-batch/v1", &digests]);
    let (first, second) = statements.split_at(statements.len() / 2);
    let weights = |half: u8| {
        let mut seed_bytes = [0u8; 32];
        seed_bytes.copy_from_slice(seed.as_ref());
        seed_bytes[0] ^= half;
        medchain_crypto::rng::seeded(seed_bytes)
    };
    let (a, b) = rayon::join(
        || verify_batch(&mut weights(0), first),
        || verify_batch(&mut weights(1), second),
    );
    if a.is_err() || b.is_err() {
        return;
    }
    for (contribution, signed) in pending.into_iter().zip(signed) {
        if signed {
            contribution.inputs.remember_verified();
        }
    }
}

/// An anonymous contribution to an approved study whose proofs this node has not verified yet.
async fn decode<S: Store>(store: &S, env: &BlockEnv, tx: &SignedTransaction) -> Option<Pending> {
    let Payload::ContributeAnonymously {
        study: id,
        ring,
        ring_signature,
        contribution,
    } = &tx.transaction.payload
    else {
        return None;
    };
    let study = query::study(store, id).await.ok()??;
    if study.status != StudyStatus::Approved {
        return None;
    }
    let call = Call {
        env,
        sender: &tx.transaction.sender,
        nonce: tx.transaction.nonce,
        tx_hash: tx.hash(),
    };
    let inputs = ProofInputs::of(&call, &study);
    if inputs.verified_before() {
        return None;
    }
    check_shape(&study.spec, contribution).ok()?;
    let ring = decode_ring(id, ring).ok()?;
    let signature = RingSignature::from_bytes(ring_signature).ok()?;
    let (_, statements) = decode_slots(&study, 1, contribution).ok()?;
    Some(Pending {
        inputs,
        study: *id,
        ring,
        key_image: signature.key_image().to_bytes(),
        signature,
        message: anonymous_contribution_message(&env.chain_id, id, contribution),
        key: approved_key(&study).ok()?,
        statements,
    })
}
