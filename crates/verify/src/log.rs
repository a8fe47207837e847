//! A complete access log. Checking each entry alone is not enough: a node could leave one out
//! (say, a break-glass read) and every entry it did serve would still verify. So a page is
//! accepted only when the log's length is proven in the same state as its entries, and the
//! entries are exactly the contiguous sequence numbers the length implies.
//!
//! A long log comes in pages read at increasing heights (the node can only prove its current
//! state). That is sound because the state machine only ever appends to a log: entry `i`, once
//! written, is the same at every later height, and each page's length must be at least the
//! previous page's.

use crate::{
    finality::VerifiedBlock,
    proof::{ProofError, proven_at},
};
use commonware_codec::Read;
use medchain_types::api::{Proven, StateProof};

/// Why a served page of an access log is not the whole log it claims to be.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error(
        "the node served no proof of the log's length for a registered pseudonym (a registration writes a length of 0): it is hiding the log; try another node"
    )]
    MissingCount,
    #[error(
        "the node served entries {from}..{served_end} but the proven length {count} needs {from}..{expected_end}: it left entries out; try another node"
    )]
    Incomplete {
        from: u64,
        served_end: u64,
        expected_end: u64,
        count: u64,
    },
    #[error(
        "entry {index} of the page has sequence {sequence}, expected {expected}: the node reordered or substituted entries"
    )]
    OutOfSequence {
        index: usize,
        sequence: u64,
        expected: u64,
    },
    #[error(
        "the log's proven length went from {earlier} down to {now}: a log only grows; the node served an older state"
    )]
    Shrank { earlier: u64, now: u64 },
    #[error("the log's length: {0}")]
    Count(ProofError),
    #[error("entry {sequence}: {error}")]
    Entry { sequence: u64, error: ProofError },
}

/// One page of a log, checked complete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogPage<T> {
    /// The log's proven length at the page's height.
    pub count: u64,
    pub entries: Vec<T>,
    /// Where the next page starts, if the log goes on.
    pub next: Option<u64>,
}

/// What identifies a log and its entries in the state.
pub struct LogKeys<'a, T> {
    pub count: &'a [u8],
    pub entry: &'a dyn Fn(u64) -> Vec<u8>,
    pub sequence: &'a dyn Fn(&T) -> u64,
    /// Most entries a page may hold: a page shorter than this and than the rest of the log is
    /// incomplete.
    pub page_max: u64,
}

/// Checks a page starting at `from`: the length (`count_proof`) and every entry are proven in
/// the state of `block` (already verified final), the entries are `from..` in order with none
/// left out, and the length is at least `previous_count` (the length an earlier page proved).
pub fn complete_page<T>(
    block: &VerifiedBlock,
    keys: &LogKeys<'_, T>,
    from: u64,
    count_proof: Option<&StateProof>,
    entries: &[Proven<T>],
    previous_count: u64,
) -> Result<LogPage<T>, LogError>
where
    T: Read<Cfg = ()> + PartialEq,
{
    let count_proof = count_proof.ok_or(LogError::MissingCount)?;
    let count: u64 = proven_at(block, keys.count, count_proof).map_err(LogError::Count)?;
    if count < previous_count {
        return Err(LogError::Shrank {
            earlier: previous_count,
            now: count,
        });
    }
    let expected_end = from.saturating_add(keys.page_max).min(count).max(from);
    let served_end = from.saturating_add(entries.len() as u64);
    if served_end != expected_end {
        return Err(LogError::Incomplete {
            from,
            served_end,
            expected_end,
            count,
        });
    }
    let mut out = Vec::with_capacity(entries.len());
    for (index, (entry, expected)) in entries.iter().zip(from..).enumerate() {
        let value: T =
            proven_at(block, &(keys.entry)(expected), &entry.proof).map_err(|error| {
                LogError::Entry {
                    sequence: expected,
                    error,
                }
            })?;
        let sequence = (keys.sequence)(&value);
        if sequence != expected {
            return Err(LogError::OutOfSequence {
                index,
                sequence,
                expected,
            });
        }
        if value != entry.value {
            return Err(LogError::Entry {
                sequence: expected,
                error: ProofError::ValueMismatch,
            });
        }
        out.push(value);
    }
    Ok(LogPage {
        count,
        entries: out,
        next: (expected_end < count).then_some(expected_end),
    })
}
