//! What studies need on the ledger before any can run: each pseudonym's ring key, and the
//! validators' analytics key.
//!
//! **Analytics key.** The node of every validator runs the DKG (commonware's `feldman_desmedt`)
//! and submits the public output it ended with (`SubmitAnalyticsKey`). The state cannot check a
//! DKG transcript, so it trusts agreement instead: the key is adopted only once n − f current
//! validators (`ValidatorSet::agreement_quorum`, 2f+1 when n = 3f+1) submitted byte-identical
//! sharings for the same epoch. With at most f byzantine validators, at least f+1 honest ones
//! then vouch for it, and no two different keys can both reach the quorum for one epoch: two
//! quorums share at least f+1 submitters, so an honest one, and an honest node submits one
//! output per epoch. (2f+1 would not do when n is not 3f+1: of 5 validators, two sets of 3
//! share only one, possibly byzantine.) Only votes of validators still in the set count, and
//! once a key is adopted an epoch's later submissions are refused as stale. The sharing must be
//! one for the whole current set (one participant per validator, in account order) with
//! threshold n − f, the DKG's own quorum, so no smaller coalition decrypts.
//!
//! **Ring keys.** A pseudonym registers one ristretto255 ring key, with a proof of possession
//! over the possession message naming the chain, the pseudonym and the key (a bLSAG over the
//! key and a decoy nobody holds). One key per pseudonym and one pseudonym per key, never
//! replaced: a pseudonym that could swap keys could contribute to a study twice (the key image
//! depends on the key). A patient has a pseudonym per institution, so a study whose cohort
//! spans several institutions can receive one value per pseudonym the patient holds in it.

use super::{corrupt, refuse};
use crate::entries::{
    AnalyticsKeyEntry, AnalyticsKeySubmissions, RingDirectoryEntry, RingKeyEntry, ValidatorSet,
};
use crate::error::{StudyFault, TxError};
use crate::exec::{Call, Outcome};
use crate::store::Store;
use crate::{keys, query, rw};
use medchain_crypto::analytics::threshold::AnalyticsKey;
use medchain_crypto::ring::{RingPublicKey, RingSignature, verify_possession};
use medchain_types::possession::{KeyKind, message};
use medchain_types::{AccountId, limits};

pub(crate) async fn register_ring_key<S: Store>(
    store: &mut S,
    call: &Call<'_>,
    ring_key: &[u8; 32],
    proof: &[u8],
) -> Result<Outcome, TxError> {
    let Some(pseudonym) = rw::pseudonym(store, call.sender).await? else {
        return Err(TxError::UnknownPseudonym(Box::new(call.sender.clone())));
    };
    if query::ring_key(store, call.sender).await?.is_some() {
        return Err(refuse(StudyFault::RingKeyAlreadyRegistered));
    }
    if query::ring_key_owner(store, ring_key).await?.is_some() {
        return Err(refuse(StudyFault::RingKeyTaken));
    }
    let bad = |e: medchain_crypto::ring::RingError| refuse(StudyFault::BadRingKey(e.to_string()));
    let public = RingPublicKey::from_bytes(ring_key).map_err(bad)?;
    let signature = RingSignature::from_bytes(proof).map_err(bad)?;
    let statement = message(KeyKind::Ring, &call.env.chain_id, call.sender, ring_key);
    verify_possession(&public, &statement, &signature).map_err(bad)?;
    let entry = RingKeyEntry {
        ring_key: *ring_key,
        registered_height: call.env.height,
    };
    rw::write(store, keys::ring_key(call.sender), &entry);
    rw::write(store, keys::ring_key_owner(ring_key), call.sender);
    rw::append(
        store,
        keys::ring_directory_count(),
        keys::ring_directory,
        "ring_directory_count",
        |sequence| RingDirectoryEntry {
            sequence,
            pseudonym: call.sender.clone(),
            institution: pseudonym.institution,
            ring_key: *ring_key,
        },
    )
    .await?;
    Ok(Outcome::RingKeyRegistered {
        pseudonym: call.sender.clone(),
    })
}

/// One validator's vote for the DKG output of `epoch`; adopted at n − f identical votes.
pub(crate) async fn submit_analytics_key<S: Store>(
    store: &mut S,
    call: &Call<'_>,
    epoch: u64,
    output: &[u8],
) -> Result<Outcome, TxError> {
    let set = rw::validator_set(store).await?;
    if !set.contains(call.sender) {
        return Err(TxError::NotAuthorized(format!(
            "only current validators submit the analytics key; {} is not one",
            call.sender
        )));
    }
    let current = query::analytics_key(store).await?;
    if let Some(current) = &current
        && epoch <= current.epoch
    {
        return Err(refuse(StudyFault::StaleAnalyticsKey {
            current: current.epoch,
            got: epoch,
        }));
    }
    let checked = check_output(output, &set)?;
    let public_key = checked.key.public_key().to_bytes().to_vec();
    if let Some(current) = &current
        && current.public_key.as_ref() != public_key.as_slice()
    {
        return Err(refuse(StudyFault::BadAnalyticsKey(
            "a resharing must keep the consortium's public key (contributions already made are encrypted under it), and this output has another".to_string(),
        )));
    }
    let digest = analytics_key_digest(output);
    let slot = keys::analytics_key_submission(epoch, &digest);
    let mut submissions: AnalyticsKeySubmissions =
        rw::read(store, &slot, "analytics_key_submission")
            .await?
            .unwrap_or_default();
    if submissions.submitters.contains(call.sender) {
        return Err(refuse(StudyFault::AlreadySubmitted));
    }
    submissions.submitters.push(call.sender.clone());
    let vouching = submissions
        .submitters
        .iter()
        .filter(|s| set.contains(s))
        .count();
    let adopted = vouching >= set.agreement_quorum();
    if adopted {
        let entry = AnalyticsKeyEntry {
            epoch,
            output: output.to_vec().into(),
            sharing: checked.sharing.into(),
            public_key: public_key.into(),
            participants: checked.players,
            since_height: call.env.height,
        };
        rw::write(store, keys::analytics_key(), &entry);
    }
    rw::write(store, slot, &submissions);
    Ok(Outcome::AnalyticsKeySubmitted {
        epoch,
        submissions: vouching,
        adopted,
    })
}

/// A submitted output, checked against the current validator set.
struct CheckedOutput {
    key: AnalyticsKey,
    /// The public sharing's encoding, as `threshold_key` reads it.
    sharing: Vec<u8>,
    /// The players in share-index order.
    players: Vec<AccountId>,
}

/// The output must decode, give a share to exactly the current validators, and need exactly
/// n − f of them to decrypt.
fn check_output(output: &[u8], set: &ValidatorSet) -> Result<CheckedOutput, TxError> {
    use commonware_codec::{Decode as _, Encode as _};
    use commonware_cryptography::bls12381::{
        dkg::feldman_desmedt::Output,
        primitives::{sharing::ModeVersion, variant::MinPk},
    };
    let bad = |reason: String| refuse(StudyFault::BadAnalyticsKey(reason));
    let max = std::num::NonZeroU32::new(limits::VALIDATORS_MAX as u32)
        .expect("the ledger admits at least one validator");
    let decoded = Output::<MinPk, commonware_cryptography::ed25519::PublicKey>::decode_cfg(
        commonware_codec::Copying(output),
        &(max, ModeVersion::v0()),
    )
    .map_err(|e| bad(format!("it is not an encoded DKG output ({e})")))?;
    let players: Vec<AccountId> = decoded.players().iter().cloned().map(AccountId).collect();
    let mut validators: Vec<AccountId> = set.validators.iter().map(|v| v.account.clone()).collect();
    validators.sort();
    if players != validators {
        return Err(bad(format!(
            "its {} players are not the {} current validators",
            players.len(),
            validators.len()
        )));
    }
    let sharing = decoded.public().encode().to_vec();
    let key = AnalyticsKey::from_bytes(&sharing, limits::VALIDATORS_MAX as u32)
        .map_err(|e| bad(e.to_string()))?;
    if key.total() as usize != players.len() {
        return Err(bad(format!(
            "its sharing has {} participants for {} players",
            key.total(),
            players.len()
        )));
    }
    let quorum = set.agreement_quorum();
    if key.required() as usize != quorum {
        return Err(bad(format!(
            "it needs {} partial decryptions, the consortium requires n - f = {quorum}",
            key.required()
        )));
    }
    Ok(CheckedOutput {
        key,
        sharing,
        players,
    })
}

fn analytics_key_digest(sharing: &[u8]) -> [u8; 32] {
    use commonware_cryptography::{Hasher, Sha256};
    let digest = Sha256::hash(&[b"medchain/analytics-key-submission/v1", sharing]);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// The analytics key in force as the threshold module uses it.
pub(crate) fn threshold_key(entry: &AnalyticsKeyEntry) -> Result<AnalyticsKey, TxError> {
    AnalyticsKey::from_bytes(&entry.sharing, limits::VALIDATORS_MAX as u32)
        .map_err(|e| corrupt("analytics_key", e))
}
