//! Consensus fault evidence: a validator that signed two different proposals' votes in one view,
//! or both nullified and finalized one view. Simplex has verified the signatures before reporting
//! it; this reporter counts it in `/metrics` and logs the offender's key, so that the consortium
//! can act on provable misbehaviour (and p2p has already blocked the peer).

use commonware_actor::Feedback;
use commonware_consensus::{
    Reporter, Viewable as _,
    simplex::{
        scheme::ed25519 as ed25519_scheme,
        types::{Activity, Attributable as _},
    },
};
use commonware_cryptography::{ed25519, sha256};
use commonware_runtime::telemetry::metrics::Counter;
use commonware_utils::ordered::Set;
use tracing::warn;

/// Counts and logs the fault evidence simplex reports; ignores every other activity.
#[derive(Clone)]
pub struct FaultReporter {
    validators: Set<ed25519::PublicKey>,
    faults: Counter,
}

impl FaultReporter {
    pub fn new(validators: Set<ed25519::PublicKey>, faults: Counter) -> Self {
        Self { validators, faults }
    }
}

impl Reporter for FaultReporter {
    type Activity = Activity<ed25519_scheme::Scheme, sha256::Digest>;

    fn report(&mut self, activity: Self::Activity) -> Feedback {
        let (kind, signer, view) = match &activity {
            Activity::ConflictingNotarize(f) => {
                ("conflicting notarize votes", f.signer(), f.view())
            }
            Activity::ConflictingFinalize(f) => {
                ("conflicting finalize votes", f.signer(), f.view())
            }
            Activity::NullifyFinalize(f) => {
                ("nullify and finalize in one view", f.signer(), f.view())
            }
            _ => return Feedback::Ok,
        };
        self.faults.inc();
        let offender = self
            .validators
            .get(usize::from(signer))
            .map(|key| hex::encode(key.as_ref()));
        warn!(kind, %view, ?offender, "consensus fault evidence from a validator");
        Feedback::Ok
    }
}
