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

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_consensus::{
        simplex::types::{ConflictingNotarize, Notarize, Proposal},
        types::{Epoch, Round, View},
    };
    use commonware_cryptography::{Hasher as _, Sha256, Signer as _};
    use commonware_runtime::{Runner as _, deterministic, telemetry::metrics::MetricsExt as _};
    use commonware_utils::TryCollect as _;

    fn scheme(signers: &[ed25519::PrivateKey], index: usize) -> ed25519_scheme::Scheme {
        let validators: Set<ed25519::PublicKey> = signers
            .iter()
            .map(|s| s.public_key())
            .try_collect()
            .unwrap();
        ed25519_scheme::Scheme::signer(b"faults-test", validators, signers[index].clone()).unwrap()
    }

    #[test]
    fn double_notarize_is_counted_and_other_activity_is_not() {
        let signers: Vec<_> = (0..4).map(ed25519::PrivateKey::from_seed).collect();
        let offender = scheme(&signers, 2);
        let round = Round::new(Epoch::zero(), View::new(7));
        let vote = |payload: &[u8]| {
            let proposal = Proposal::new(round, View::new(6), Sha256::hash(&[payload]));
            Notarize::<_, sha256::Digest>::sign(&offender, proposal).unwrap()
        };
        deterministic::Runner::default().start(|context| async move {
            let faults = context.counter("faults", "fault evidence");
            let mut reporter = FaultReporter::new(
                signers
                    .iter()
                    .map(|s| s.public_key())
                    .try_collect()
                    .unwrap(),
                faults.clone(),
            );
            let _ = reporter.report(Activity::Notarize(vote(b"a")));
            assert_eq!(faults.get(), 0, "an honest vote is not evidence");
            let evidence = ConflictingNotarize::new(vote(b"a"), vote(b"b"));
            let _ = reporter.report(Activity::ConflictingNotarize(evidence));
            assert_eq!(faults.get(), 1);
        });
    }
}
