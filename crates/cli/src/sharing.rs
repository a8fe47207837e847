//! What a patient's client sends with a consent: Umbral re-encryption key fragments for the
//! grantee, one per validator, each sealed (HPKE) to that validator, any t = f+1 of which let
//! the grantee open the patient's records once the ledger permits a read. Every key sealed to
//! and the validator count (which sets t) are proven ledger values, checked by the client.

use anyhow::{Context as _, Result, bail};
use medchain_client::Client;
use medchain_crypto::{
    keys::{PseudonymKeys, hpke},
    umbral,
};
use medchain_state::ValidatorSet;
use medchain_types::{AccountId, ChainId, ConsentId, SealedFragment, fragment_seal_info};
use medchain_verify::Verified;

/// Where a consent's fragments belong: the HPKE `info` of each names all of it plus the
/// validator (`medchain_types::fragment_seal_info`), so a fragment opens only there.
pub struct FragmentBinding<'a> {
    pub chain_id: &'a ChainId,
    pub consent: &'a ConsentId,
    pub patient: &'a AccountId,
    pub grantee: &'a AccountId,
}

/// The grantee's Umbral key, as registered on the ledger by their institution (proven, and the
/// membership not revoked).
pub async fn grantee_pre_key(client: &Client, grantee: &AccountId) -> Result<umbral::PublicKey> {
    let member = client
        .member(grantee)
        .await
        .with_context(|| format!("cannot use {grantee} as a grantee"))?;
    if let Some(revoked) = member.value.revoked_height {
        bail!(
            "{grantee}'s membership was revoked at height {revoked}; a consent would release keys to a revoked member"
        );
    }
    let Some(keys) = member.value.keys else {
        bail!(
            "{grantee} has no re-encryption key registered; ask their institution's admin to register one"
        );
    };
    Ok(umbral::PublicKey::from_compressed_bytes(
        &keys.pre_public_key,
    )?)
}

/// Key fragments for `grantee_pre`, sealed one to each validator of the proven set, threshold
/// t = f+1 of that set.
pub fn sealed_fragments(
    patient: &PseudonymKeys,
    grantee_pre: &umbral::PublicKey,
    validator_set: &ValidatorSet,
    binding: &FragmentBinding<'_>,
) -> Result<Vec<SealedFragment>> {
    if validator_set.is_empty() {
        bail!(
            "the proven validator set is empty; the chain has not applied its genesis yet: retry in a moment"
        );
    }
    let validators = &validator_set.validators;
    let threshold = validator_set.reencryption_threshold();
    let delegating = umbral::SecretKey::from_be_bytes(patient.pre.as_bytes())?;
    let signer = umbral::Signer::new(&delegating);
    let kfrags = umbral::generate_kfrags(
        &mut rand::rng(),
        &delegating,
        grantee_pre,
        &signer,
        umbral::KeyFragParams {
            threshold,
            shares: validators.len(),
            sign_delegating_key: true,
            sign_receiving_key: true,
        },
    )?;
    let mut sealed = Vec::with_capacity(validators.len());
    for (kfrag, validator) in kfrags.iter().zip(validators) {
        let recipient = hpke::EncryptionPublicKey::from_bytes(&validator.encryption_key)
            .with_context(|| {
                format!(
                    "validator {} has an invalid encryption key",
                    validator.account
                )
            })?;
        let info = fragment_seal_info(
            binding.chain_id,
            binding.consent,
            binding.patient,
            binding.grantee,
            &validator.account,
        );
        let ciphertext =
            hpke::seal_to(&mut rand::rng(), &recipient, &info, b"", &kfrag.to_bytes())?;
        sealed.push(SealedFragment {
            validator: validator.account.clone(),
            ciphertext: ciphertext.into(),
        });
    }
    Ok(sealed)
}

/// The ledger's current validators, proven, to seal fragments to.
pub async fn validators(client: &Client) -> Result<Verified<ValidatorSet>> {
    client
        .validators()
        .await
        .context("cannot verify the validator set the fragments are sealed to")
}
