//! A node-local memo of contribution proofs that verified.
//!
//! A contribution's ring signature and range proofs are a pure function of the transaction's
//! bytes (chain, study, ring, ciphertexts, proofs) and of the study's approved key and spec, which
//! never change once the study is approved. A node checks a transaction when its API admits it
//! and again when the block holding it executes; the second check would repeat the first to the
//! bit, at about 7 ms a contribution. So a verdict is remembered under a digest of all of those
//! inputs, and only for proofs that verified, and only in this process: a peer cannot plant one,
//! and a miss (another node's admission, a restart, an eviction) verifies again. Every node
//! reaches the verdict it would reach without the memo; the eligibility of the ring, the key
//! image and every other rule are still checked against state each time.

use std::collections::{HashSet, VecDeque};
use std::sync::{Mutex, OnceLock};

use commonware_codec::Encode;
use commonware_cryptography::{Hasher, Sha256};
use medchain_crypto::ring::{KeyImageBases, PreparedRing, Ring, RingError};
use medchain_types::StudyId;

use crate::entries::StudyEntry;
use crate::exec::Call;

/// Studies whose members' key-image bases a node keeps ([`KeyImageBases`], at most a few MiB
/// each): the ones receiving contributions now.
const STUDIES_WITH_RING_BASES: usize = 4;

/// `ring` prepared for verification in study `id`'s context, with the key-image bases of members
/// seen in earlier contributions to it taken from memory. Like the verdicts, the bases are a
/// pure function of their inputs, so remembering them changes no outcome.
pub(super) fn prepared_ring(id: &StudyId, ring: Ring) -> Result<PreparedRing, RingError> {
    static BASES: OnceLock<Mutex<Vec<(StudyId, KeyImageBases)>>> = OnceLock::new();
    let Ok(mut studies) = BASES.get_or_init(Mutex::default).lock() else {
        return PreparedRing::new(ring, id.as_bytes());
    };
    let index = match studies.iter().position(|(study, _)| study == id) {
        Some(index) => index,
        None => {
            if studies.len() == STUDIES_WITH_RING_BASES {
                studies.remove(0);
            }
            studies.push((*id, KeyImageBases::new(id.as_bytes())?));
            studies.len() - 1
        }
    };
    Ok(studies[index].1.prepare(ring))
}

/// How many verdicts a node remembers: 32-byte digests, a few MiB with the index, many times
/// the contributions that wait in a mempool between admission and execution.
const VERDICTS_REMEMBERED: usize = 32_768;

#[derive(Default)]
struct Memo {
    known: HashSet<[u8; 32]>,
    order: VecDeque<[u8; 32]>,
}

fn memo() -> &'static Mutex<Memo> {
    static MEMO: OnceLock<Mutex<Memo>> = OnceLock::new();
    MEMO.get_or_init(Mutex::default)
}

/// The inputs of one contribution's proof checks, digested.
pub(super) struct ProofInputs([u8; 32]);

impl ProofInputs {
    pub(super) fn of(call: &Call<'_>, study: &StudyEntry) -> Self {
        let key: &[u8] = study
            .approval
            .as_ref()
            .map_or(&[], |approval| &approval.public_key);
        let spec = study.spec.encode();
        let digest = Sha256::hash(&[
            b"medchain/study-proof-verdict/v1",
            &call.tx_hash.0,
            study.id.as_bytes(),
            key,
            &spec,
        ]);
        let mut inputs = [0u8; 32];
        inputs.copy_from_slice(digest.as_ref());
        Self(inputs)
    }

    pub(super) fn digest(&self) -> &[u8; 32] {
        &self.0
    }

    /// Whether this process already verified these inputs' proofs. A poisoned lock reads as
    /// "not known": the proofs are simply checked again.
    pub(super) fn verified_before(&self) -> bool {
        memo()
            .lock()
            .map(|memo| memo.known.contains(&self.0))
            .unwrap_or(false)
    }

    /// Records that these inputs' proofs verified; the oldest verdict goes when the memo is full.
    pub(super) fn remember_verified(self) {
        let Ok(mut memo) = memo().lock() else {
            return;
        };
        if memo.known.insert(self.0) {
            memo.order.push_back(self.0);
            if memo.order.len() > VERDICTS_REMEMBERED
                && let Some(oldest) = memo.order.pop_front()
            {
                memo.known.remove(&oldest);
            }
        }
    }
}
