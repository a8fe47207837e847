//! Contributions, checked in the order `medchain_crypto::analytics` prescribes and added to the
//! study's aggregates homomorphically.
//!
//! **What is proven.** Each slot's ciphertext is proven (CDS range proof bound to chain, study
//! and, for a patient, the key image) to hold an integer of the slot's bound: for a contribution
//! of `n` values, the sum in `[n·lo, n·hi]`, the sum of squares in `[n·lo², n·hi²]`, each bucket
//! in `[0, n]`, and with a histogram the buckets add up to exactly `n`. Not proven: that the sum
//! of squares is the square of the value, that the bucket set is the value's bucket, and, for
//! an institution, that its `n` patients exist and are eligible. A dishonest contributor's
//! influence is therefore bounded by the declared ranges, not removed.
//!
//! **Anonymous contributions** have no sender account: `ContributeAnonymously` is an ordinary
//! transaction whose sender is a one-time Ed25519 key with nonce 0 that is no member or
//! pseudonym (refused otherwise, so a client cannot name its patient by mistake). Its signature
//! only binds the envelope; the authorisation is the ring signature. Replay is stopped by the
//! key image per study (and the one-time key's nonce). A patient may contribute through any
//! node; that node sees the client's network address, which is why patients should submit
//! through another institution's node or a relay.

use super::verdicts::{ProofInputs, prepared_ring};
use super::{approved_key, corrupt, load, refuse};
use crate::entries::{StudyEntry, StudyStatus};
use crate::error::{StudyFault, TxError};
use crate::exec::{Call, Outcome};
use crate::store::Store;
use crate::{keys, query, rw};
use medchain_crypto::analytics::range::{Range, RangeProof, RangeStatement, verify_batch};
use medchain_crypto::analytics::{AnalyticsPublicKey, Ciphertext, ProofContext};
use medchain_crypto::ring::{PreparedRing, Ring, RingError, RingPublicKey, RingSignature};
use medchain_types::study::anonymous_contribution_message;
use medchain_types::{Role, StudyContribution, StudyId, StudySpec};

/// Step 1: the study's parameters from state; refused before any proof if it is not open.
async fn open_study<S: Store>(
    store: &S,
    call: &Call<'_>,
    id: &StudyId,
    values: u64,
) -> Result<StudyEntry, TxError> {
    let study = load(store, id).await?;
    if study.status != StudyStatus::Approved {
        return Err(refuse(StudyFault::NotOpen {
            status: study.status.name(),
        }));
    }
    if call.env.height > study.spec.deadline_height {
        return Err(refuse(StudyFault::PastDeadline {
            deadline: study.spec.deadline_height,
        }));
    }
    let got = study.values.saturating_add(values);
    if got > study.spec.values_max {
        return Err(refuse(StudyFault::TooManyValues {
            values_max: study.spec.values_max,
            got,
        }));
    }
    Ok(study)
}

pub(crate) async fn contribute_anonymously<S: Store>(
    store: &mut S,
    call: &Call<'_>,
    id: &StudyId,
    ring: &[[u8; 32]],
    ring_signature: &[u8],
    contribution: &StudyContribution,
) -> Result<Outcome, TxError> {
    let mut study = open_study(store, call, id, 1).await?;
    let known = rw::member(store, call.sender).await?.is_some()
        || rw::pseudonym(store, call.sender).await?.is_some();
    if call.nonce != 0 || known {
        return Err(refuse(StudyFault::NotOneTimeSender));
    }
    check_shape(&study.spec, contribution)?;
    // Step 2: the ring, then its signature, then the key image.
    let required = study.spec.ring_size as usize;
    if ring.len() < required {
        return Err(refuse(StudyFault::RingTooSmall {
            got: ring.len(),
            required,
        }));
    }
    for (member, key) in ring.iter().enumerate() {
        check_eligible(store, &study.spec, member, key).await?;
    }
    let bad_ring =
        |e: medchain_crypto::ring::RingError| refuse(StudyFault::BadRingSignature(e.to_string()));
    // Inputs this node verified before (at admission, for a transaction it now executes) are
    // not checked again, so their ring, which decoded then, is not decoded either.
    let inputs = ProofInputs::of(call, &study);
    let ring = if inputs.verified_before() {
        None
    } else {
        Some(decode_ring(id, ring).map_err(bad_ring)?)
    };
    let signature = RingSignature::from_bytes(ring_signature).map_err(bad_ring)?;
    let key_image = signature.key_image().to_bytes();
    // The ring signature (step 2) and the range proofs (step 3) are checked on two cores at
    // once, a third and a half of the cost each; their verdicts are then taken in step order,
    // so the refusal is the same as checking one after the other.
    let (signed, proven) = match &ring {
        None => {
            let decoded =
                verify_contribution(call, &study, 1, contribution, Some(&key_image), true);
            (Ok(()), decoded)
        }
        Some(ring) => {
            let message = anonymous_contribution_message(&call.env.chain_id, id, contribution);
            rayon::join(
                || ring.verify(&message, &signature),
                || verify_contribution(call, &study, 1, contribution, Some(&key_image), false),
            )
        }
    };
    signed.map_err(bad_ring)?;
    let image_key = keys::study_key_image(id, &key_image);
    if store.get(&image_key).await?.is_some() {
        return Err(refuse(StudyFault::KeyImageSeen));
    }
    // Steps 3 and 4: the range proofs in the key image's context, then the aggregate.
    let ciphertexts = proven?;
    inputs.remember_verified();
    aggregate(&mut study, &ciphertexts)?;
    study.values += 1;
    study.anonymous_contributions += 1;
    rw::write(store, image_key, &call.env.height);
    rw::write(store, keys::study(id), &study);
    Ok(contributed(&study))
}

/// A contribution's ring, prepared for verification in its study's context.
pub(super) fn decode_ring(id: &StudyId, ring: &[[u8; 32]]) -> Result<PreparedRing, RingError> {
    let members = ring
        .iter()
        .map(RingPublicKey::from_bytes)
        .collect::<Result<Vec<_>, _>>()?;
    prepared_ring(id, Ring::new(members)?)
}

/// An institution's admin contributes the partial aggregates of `values` of its patients.
pub(crate) async fn contribute_institutional<S: Store>(
    store: &mut S,
    call: &Call<'_>,
    id: &StudyId,
    values: u64,
    contribution: &StudyContribution,
) -> Result<Outcome, TxError> {
    let mut study = open_study(store, call, id, values).await?;
    let admin =
        rw::active_member_with_role(store, call.sender, Role::Admin, "contribute to a study")
            .await?;
    let institution = admin.institution;
    let cohort = &study.spec.cohort.institutions;
    if !cohort.is_empty() && !cohort.contains(&institution) {
        return Err(refuse(StudyFault::InstitutionOutsideCohort(institution)));
    }
    if values == 0 {
        return Err(refuse(StudyFault::NoValues(values)));
    }
    let marker = keys::study_institution(id, &institution);
    if store.get(&marker).await?.is_some() {
        return Err(refuse(StudyFault::InstitutionAlreadyContributed(
            institution,
        )));
    }
    check_shape(&study.spec, contribution)?;
    let inputs = ProofInputs::of(call, &study);
    let ciphertexts = verify_contribution(
        call,
        &study,
        values,
        contribution,
        None,
        inputs.verified_before(),
    )?;
    inputs.remember_verified();
    aggregate(&mut study, &ciphertexts)?;
    study.values += values;
    study.institutional_contributions += 1;
    rw::write(store, marker, &call.env.height);
    rw::write(store, keys::study(id), &study);
    Ok(contributed(&study))
}

fn contributed(study: &StudyEntry) -> Outcome {
    Outcome::StudyContributed {
        study: study.id,
        values: study.values,
        contributions: study.anonymous_contributions + study.institutional_contributions,
    }
}

pub(super) fn check_shape(
    spec: &StudySpec,
    contribution: &StudyContribution,
) -> Result<(), TxError> {
    let expected = spec.slots().len();
    if contribution.slots.len() != expected {
        return Err(refuse(StudyFault::WrongSlots {
            expected,
            got: contribution.slots.len(),
        }));
    }
    if spec.histogram.is_empty() != contribution.bucket_total_proof.is_empty() {
        return Err(refuse(StudyFault::BucketTotalProof));
    }
    Ok(())
}

/// A ring member is eligible if its key is a pseudonym's whose institution and records match
/// the study's cohort filter.
async fn check_eligible<S: Store>(
    store: &S,
    spec: &StudySpec,
    member: usize,
    ring_key: &[u8; 32],
) -> Result<(), TxError> {
    let not = |reason| Err(refuse(StudyFault::NotEligible { member, reason }));
    let Some(owner) = query::ring_key_owner(store, ring_key).await? else {
        return not("no pseudonym registered this ring key");
    };
    let pseudonym = rw::pseudonym(store, &owner)
        .await?
        .ok_or_else(|| corrupt("ring_key_owner", "names no pseudonym"))?;
    let institutions = &spec.cohort.institutions;
    if !institutions.is_empty() && !institutions.contains(&pseudonym.institution) {
        return not("its pseudonym is at an institution outside the cohort");
    }
    if spec.cohort.categories.is_empty() {
        return Ok(());
    }
    for category in &spec.cohort.categories {
        if query::patient_category(store, &owner, *category).await? > 0 {
            return Ok(());
        }
    }
    not("its pseudonym holds no unerased record of the cohort's categories")
}

/// Step 3: decodes every slot and verifies all range proofs (and the bucket total) as one
/// batch, with weights drawn from the transaction's hash, which covers every proof: the same
/// on every node, fixed only once the proofs are. With `verified_before` (this node verified
/// the same inputs, see [`super::verdicts`]) it only decodes.
fn verify_contribution(
    call: &Call<'_>,
    study: &StudyEntry,
    values: u64,
    contribution: &StudyContribution,
    key_image: Option<&[u8; 32]>,
    verified_before: bool,
) -> Result<Vec<Ciphertext>, TxError> {
    let (ciphertexts, statements) = decode_slots(study, values, contribution)?;
    if !verified_before {
        let key = approved_key(study)?;
        verify_all(call, &key, study.id, &statements, key_image).map_err(bad_proof)?;
    }
    Ok(ciphertexts)
}

fn bad_proof(e: medchain_crypto::analytics::AnalyticsError) -> TxError {
    refuse(StudyFault::BadProof(e.to_string()))
}

/// A contribution's slot ciphertexts, and what its range proofs state: each slot within its
/// bound for `values` values and, with a histogram, the buckets adding up to `values`.
pub(super) type DecodedSlots = (Vec<Ciphertext>, Vec<(Ciphertext, Range, RangeProof)>);

pub(super) fn decode_slots(
    study: &StudyEntry,
    values: u64,
    contribution: &StudyContribution,
) -> Result<DecodedSlots, TxError> {
    let bounds = study.spec.slot_bounds(values).ok_or_else(|| {
        refuse(StudyFault::TooManyValues {
            values_max: study.spec.values_max,
            got: values,
        })
    })?;
    let mut decoded = Vec::with_capacity(bounds.len() + 1);
    for (slot, bound) in contribution.slots.iter().zip(&bounds) {
        let range = Range::new(bound.lo, bound.hi).map_err(bad_proof)?;
        let ciphertext = Ciphertext::from_bytes(&slot.ciphertext).map_err(bad_proof)?;
        let proof = RangeProof::from_bytes(&slot.range_proof, &range).map_err(bad_proof)?;
        decoded.push((ciphertext, range, proof));
    }
    let ciphertexts: Vec<Ciphertext> = decoded.iter().map(|(c, _, _)| *c).collect();
    if !study.spec.histogram.is_empty() {
        let buckets = &ciphertexts[ciphertexts.len() - study.spec.histogram.len()..];
        let total = Ciphertext::sum(buckets);
        let range = Range::new(values, values).map_err(bad_proof)?;
        let proof =
            RangeProof::from_bytes(&contribution.bucket_total_proof, &range).map_err(bad_proof)?;
        decoded.push((total, range, proof));
    }
    Ok((ciphertexts, decoded))
}

pub(super) fn verify_all(
    call: &Call<'_>,
    key: &AnalyticsPublicKey,
    study: StudyId,
    decoded: &[(Ciphertext, Range, RangeProof)],
    key_image: Option<&[u8; 32]>,
) -> Result<(), medchain_crypto::analytics::AnalyticsError> {
    let context = ProofContext {
        chain_id: call.env.chain_id.as_bytes(),
        study_id: study.as_bytes(),
        key_image,
    };
    let statements: Vec<RangeStatement<'_>> = decoded
        .iter()
        .map(|(ciphertext, range, proof)| RangeStatement {
            key,
            ciphertext,
            range,
            context,
            proof,
        })
        .collect();
    let mut rng = medchain_crypto::rng::seeded(call.tx_hash.0);
    verify_batch(&mut rng, &statements)
}

/// Step 4: adds the contribution into the study's aggregates. An aggregate whose `c1` or
/// `c2` became the identity is refused: its randomness cancelled (only a contributor who knows
/// all of it can do that) and it would decrypt without the validators.
pub(super) fn aggregate(study: &mut StudyEntry, ciphertexts: &[Ciphertext]) -> Result<(), TxError> {
    let sums: Vec<Ciphertext> = if study.aggregates.is_empty() {
        ciphertexts.to_vec()
    } else {
        assert_eq!(
            study.aggregates.len(),
            ciphertexts.len(),
            "check_shape matched the contribution to the spec's slots"
        );
        study
            .aggregates
            .iter()
            .zip(ciphertexts)
            .map(|(stored, new)| {
                Ciphertext::from_bytes(stored)
                    .map(|agg| agg.add(new))
                    .map_err(|e| corrupt("study", e))
            })
            .collect::<Result<_, _>>()?
    };
    let mut encoded = Vec::with_capacity(sums.len());
    for sum in &sums {
        let bytes = sum.to_bytes();
        if Ciphertext::from_bytes(&bytes).is_err() {
            return Err(refuse(StudyFault::DegenerateAggregate));
        }
        encoded.push(bytes.to_vec().into());
    }
    study.aggregates = encoded;
    Ok(())
}
