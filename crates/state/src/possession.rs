//! Proofs of possession for the keys a transaction registers (see `medchain_types::possession`
//! for the messages and `medchain_crypto::keys::possession` for the signatures), checked against
//! the chain the block runs on and the account each key is registered for.

use crate::error::{GenesisError, TxError};
use medchain_crypto::keys::hpke::EncryptionPublicKey;
use medchain_crypto::keys::possession::{verify_encryption_key, verify_pre_key};
use medchain_types::possession::{self, KeyKind};
use medchain_types::{AccountId, ChainId, Genesis, MemberKeyProofs, ValidationError};

fn refused(what: &'static str) -> TxError {
    TxError::Invalid(ValidationError::PossessionProof(what))
}

/// The account key signed its own possession message: the registrant holds it.
pub(crate) fn check_account(
    chain_id: &ChainId,
    account: &AccountId,
    proof: &[u8; 64],
    what: &'static str,
) -> Result<(), TxError> {
    account.check_registrable(what)?;
    if !possession::verify_account(chain_id, account, proof) {
        return Err(refused(what));
    }
    Ok(())
}

/// The Umbral key (a secp256k1 point) signed its possession message for `account`.
pub(crate) fn check_pre_key(
    chain_id: &ChainId,
    account: &AccountId,
    pre_public_key: &[u8; 33],
    proof: &[u8; 64],
) -> Result<(), TxError> {
    let message = possession::message(
        KeyKind::ProxyReEncryption,
        chain_id,
        account,
        pre_public_key,
    );
    if !verify_pre_key(pre_public_key, &message, proof) {
        return Err(refused("Umbral PRE key"));
    }
    Ok(())
}

/// The X25519 key is a canonical point of large order and signed (XEdDSA) its possession
/// message for `account`.
pub(crate) fn check_encryption_key(
    chain_id: &ChainId,
    account: &AccountId,
    encryption_key: &[u8; 32],
    proof: &[u8; 64],
) -> Result<(), TxError> {
    let Ok(public) = EncryptionPublicKey::from_bytes(encryption_key) else {
        return Err(TxError::Invalid(ValidationError::Transaction(
            "the X25519 encryption key is not a canonical point outside the small subgroup; generate a fresh key",
        )));
    };
    let message = possession::message(KeyKind::Encryption, chain_id, account, encryption_key);
    if !verify_encryption_key(&public, &message, proof) {
        return Err(refused("X25519 encryption key"));
    }
    Ok(())
}

/// All three keys of a new member.
pub(crate) fn check_member_keys(
    chain_id: &ChainId,
    account: &AccountId,
    pre_public_key: &[u8; 33],
    encryption_key: &[u8; 32],
    proofs: &MemberKeyProofs,
) -> Result<(), TxError> {
    check_account(chain_id, account, &proofs.account, "member account key")?;
    check_pre_key(chain_id, account, pre_public_key, &proofs.pre_public_key)?;
    check_encryption_key(chain_id, account, encryption_key, &proofs.encryption_key)
}

/// Every founding key of `genesis` proved against its possession chain id: each institution's
/// admin, each validator's account and X25519 keys, each observer's account, each member's three
/// keys. Without this, a genesis could list a key its holder never signed for, and its fragments
/// or votes would go to whoever copied it.
pub(crate) fn check_genesis_keys(genesis: &Genesis) -> Result<(), GenesisError> {
    let chain_id = genesis.possession_chain_id();
    let refused = |entry: String| move |reason: TxError| GenesisError::KeyProof { entry, reason };
    for institution in &genesis.institutions {
        let admin = &institution.admin;
        check_account(
            &chain_id,
            admin,
            &institution.admin_proof,
            "institution admin key",
        )
        .map_err(refused(format!(
            "institution {} admin {admin}",
            institution.id
        )))?;
    }
    for validator in &genesis.validators {
        let account = &validator.account;
        let entry = || format!("validator {account}");
        check_account(
            &chain_id,
            account,
            &validator.proofs.account,
            "validator key",
        )
        .map_err(refused(entry()))?;
        check_encryption_key(
            &chain_id,
            account,
            &validator.encryption_key,
            &validator.proofs.encryption_key,
        )
        .map_err(refused(entry()))?;
    }
    for observer in &genesis.observers {
        let account = &observer.account;
        check_account(&chain_id, account, &observer.account_proof, "observer key")
            .map_err(refused(format!("observer {account}")))?;
    }
    for member in &genesis.members {
        check_member_keys(
            &chain_id,
            &member.account,
            &member.pre_public_key,
            &member.encryption_key,
            &member.proofs,
        )
        .map_err(refused(format!("member {}", member.account)))?;
    }
    Ok(())
}
