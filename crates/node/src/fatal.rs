//! Stopping the node when its own data cannot be trusted. A node whose state database fails,
//! whose stored state does not decode, or whose finalized chain hands it an unusable validator
//! set must not keep voting or serving reads on a state it cannot vouch for: it stops with one
//! message saying what failed and what to do (TigerBeetle's rule: crash on corruption).
//!
//! Stopping is a panic: the runtime runs without catching panics (`run::run_node`), so the
//! process exits non-zero with the message, and a restart recovers from the journal and the
//! finalized blocks on disk.

use std::fmt::Display;
use tracing::error;

/// What the operator reads when the node stops: what failed, why the node stops, what to do.
pub fn halt_message(what: &str, error: &dyn Display) -> String {
    format!(
        "medchain node halted: {what}: {error}. The node stops rather than vote on or serve a \
         state it cannot trust. Restart it: it re-executes the finalized blocks from its data \
         directory. If this repeats, check the disk, then move the data directory aside and \
         restart so the node replays the chain from its peers."
    )
}

/// Logs [`halt_message`] and stops the node.
pub fn halt(what: &str, error: &dyn Display) -> ! {
    let message = halt_message(what, error);
    error!("{message}");
    panic!("{message}");
}
