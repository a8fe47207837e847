//! The registration payloads with their proofs, built the one way the state machine checks
//! them: for clients (the CLI, the demo), benchmarks and tests. Pure: keys and randomness come in.

use commonware_cryptography::{Signer as _, ed25519};
use medchain_crypto::keys::hpke::EncryptionSecretKey;
use medchain_crypto::keys::possession::{prove_encryption_key, prove_pre_key};
use medchain_crypto::rng::CryptoRng;
use medchain_crypto::umbral;
use medchain_types::possession::{self, KeyKind};
use medchain_types::{
    AccountId, ChainId, Genesis, InstitutionId, InstitutionKind, MemberKeyProofs, MembershipChange,
    Payload, Role, ValidatorKeyProofs,
};
use std::collections::BTreeMap;

/// A patient's `RegisterPseudonym` for the key `pseudonym` (the transaction's sender), its
/// Umbral key `pre` and the co-signature of `registrar`, an active admin or clinician of
/// `institution`.
pub fn register_pseudonym(
    chain_id: &ChainId,
    pseudonym: &ed25519::PrivateKey,
    pre: &umbral::SecretKey,
    institution: InstitutionId,
    registrar: &ed25519::PrivateKey,
) -> Payload {
    let account = AccountId::from(pseudonym.public_key());
    let registrar_signature = possession::cosign_pseudonym(
        registrar,
        chain_id,
        &account,
        &institution,
        &pre.public_key().to_compressed_bytes(),
    );
    cosigned_pseudonym(
        chain_id,
        &account,
        pre,
        institution,
        AccountId::from(registrar.public_key()),
        registrar_signature,
    )
}

/// [`register_pseudonym`] with a co-signature the registrar made elsewhere
/// (`possession::cosign_pseudonym`, e.g. `medchain patient cosign` on the registrar's machine).
pub fn cosigned_pseudonym(
    chain_id: &ChainId,
    pseudonym: &AccountId,
    pre: &umbral::SecretKey,
    institution: InstitutionId,
    registrar: AccountId,
    registrar_signature: [u8; 64],
) -> Payload {
    let pre_public_key = pre.public_key().to_compressed_bytes();
    let message = possession::message(
        KeyKind::ProxyReEncryption,
        chain_id,
        pseudonym,
        &pre_public_key,
    );
    Payload::RegisterPseudonym {
        institution,
        pre_public_key,
        pre_key_proof: prove_pre_key(pre, &message),
        registrar,
        registrar_signature,
    }
}

/// The keys a new member proves it holds: its account, Umbral and X25519 keys.
pub struct MemberKeys<'a> {
    pub account: &'a ed25519::PrivateKey,
    pub pre: &'a umbral::SecretKey,
    pub encryption: &'a EncryptionSecretKey,
}

/// The proofs of a new member's three keys on `chain_id`.
pub fn member_key_proofs(
    rng: &mut impl CryptoRng,
    chain_id: &ChainId,
    keys: &MemberKeys<'_>,
) -> MemberKeyProofs {
    let account = AccountId::from(keys.account.public_key());
    let pre_public_key = keys.pre.public_key().to_compressed_bytes();
    let encryption_key = keys.encryption.public_key().to_bytes();
    let pre_message = possession::message(
        KeyKind::ProxyReEncryption,
        chain_id,
        &account,
        &pre_public_key,
    );
    let encryption_message =
        possession::message(KeyKind::Encryption, chain_id, &account, &encryption_key);
    MemberKeyProofs {
        account: possession::prove_account(keys.account, chain_id),
        pre_public_key: prove_pre_key(keys.pre, &pre_message),
        encryption_key: prove_encryption_key(keys.encryption, rng, &encryption_message),
    }
}

/// An admin's `RegisterMember` for a member holding `keys`.
pub fn register_member(
    rng: &mut impl CryptoRng,
    chain_id: &ChainId,
    role: Role,
    keys: &MemberKeys<'_>,
) -> Payload {
    Payload::RegisterMember {
        account: AccountId::from(keys.account.public_key()),
        role,
        pre_public_key: keys.pre.public_key().to_compressed_bytes(),
        encryption_key: keys.encryption.public_key().to_bytes(),
        proofs: member_key_proofs(rng, chain_id, keys),
    }
}

/// The two proofs a joining validator gives: its account key and its X25519 key.
pub fn validator_key_proofs(
    rng: &mut impl CryptoRng,
    chain_id: &ChainId,
    validator: &ed25519::PrivateKey,
    encryption: &EncryptionSecretKey,
) -> ([u8; 64], [u8; 64]) {
    let account = AccountId::from(validator.public_key());
    let encryption_key = encryption.public_key().to_bytes();
    let message = possession::message(KeyKind::Encryption, chain_id, &account, &encryption_key);
    (
        possession::prove_account(validator, chain_id),
        prove_encryption_key(encryption, rng, &message),
    )
}

/// An `AdmitInstitution` change for the institution whose admin holds `admin`.
pub fn admit_institution(
    chain_id: &ChainId,
    id: InstitutionId,
    kind: InstitutionKind,
    admin: &ed25519::PrivateKey,
) -> MembershipChange {
    MembershipChange::AdmitInstitution {
        id,
        kind,
        admin: AccountId::from(admin.public_key()),
        admin_proof: possession::prove_account(admin, chain_id),
    }
}

/// An `AddValidator` change for the node holding `validator` and `encryption`.
pub fn add_validator(
    rng: &mut impl CryptoRng,
    chain_id: &ChainId,
    institution: InstitutionId,
    validator: &ed25519::PrivateKey,
    encryption: &EncryptionSecretKey,
    addresses: (String, String),
) -> MembershipChange {
    let (validator_proof, encryption_key_proof) =
        validator_key_proofs(rng, chain_id, validator, encryption);
    MembershipChange::AddValidator {
        institution,
        validator: AccountId::from(validator.public_key()),
        p2p_address: addresses.0,
        http_address: addresses.1,
        encryption_key: encryption.public_key().to_bytes(),
        validator_proof,
        encryption_key_proof,
    }
}

/// The founding keys' secrets, for signing a genesis's proofs of possession: `medchain init`,
/// which generates every founding key of a local consortium, and tests. Each proof goes to the
/// entries whose account matches a key given here.
#[derive(Default)]
pub struct GenesisKeyring {
    accounts: BTreeMap<AccountId, ed25519::PrivateKey>,
    encryption: BTreeMap<AccountId, EncryptionSecretKey>,
    pre: BTreeMap<AccountId, umbral::SecretKey>,
}

/// A genesis entry whose account has no secret in the keyring.
#[derive(Debug, thiserror::Error)]
#[error("no secret key was given for founding account {0}; add it to the keyring")]
pub struct MissingFoundingKey(pub String);

impl GenesisKeyring {
    /// An institution admin's or observer's account key.
    pub fn account(&mut self, key: &ed25519::PrivateKey) -> &mut Self {
        self.accounts
            .insert(AccountId::from(key.public_key()), key.clone());
        self
    }

    /// A validator's account and X25519 keys.
    pub fn validator(
        &mut self,
        key: &ed25519::PrivateKey,
        encryption: &EncryptionSecretKey,
    ) -> &mut Self {
        self.encryption
            .insert(AccountId::from(key.public_key()), encryption.clone());
        self.account(key)
    }

    /// A member's three keys.
    pub fn member(&mut self, keys: &MemberKeys<'_>) -> &mut Self {
        let account = AccountId::from(keys.account.public_key());
        self.encryption
            .insert(account.clone(), keys.encryption.clone());
        self.pre.insert(account, keys.pre.clone());
        self.account(keys.account)
    }

    /// Fills every proof of `genesis` for its possession chain id (which the proofs do not
    /// change, so they can be filled in any order).
    pub fn sign(
        &self,
        rng: &mut impl CryptoRng,
        genesis: &mut Genesis,
    ) -> Result<(), MissingFoundingKey> {
        let chain_id = genesis.possession_chain_id();
        for institution in &mut genesis.institutions {
            institution.admin_proof =
                possession::prove_account(self.key(&institution.admin)?, &chain_id);
        }
        for validator in &mut genesis.validators {
            let key = self.key(&validator.account)?;
            let encryption = self
                .encryption
                .get(&validator.account)
                .ok_or_else(|| MissingFoundingKey(validator.account.to_string()))?;
            let (account, encryption_key) = validator_key_proofs(rng, &chain_id, key, encryption);
            validator.proofs = ValidatorKeyProofs {
                account,
                encryption_key,
            };
        }
        for observer in &mut genesis.observers {
            observer.account_proof =
                possession::prove_account(self.key(&observer.account)?, &chain_id);
        }
        for member in &mut genesis.members {
            let missing = || MissingFoundingKey(member.account.to_string());
            let keys = MemberKeys {
                account: self.key(&member.account)?,
                pre: self.pre.get(&member.account).ok_or_else(missing)?,
                encryption: self.encryption.get(&member.account).ok_or_else(missing)?,
            };
            member.proofs = member_key_proofs(rng, &chain_id, &keys);
        }
        Ok(())
    }

    fn key(&self, account: &AccountId) -> Result<&ed25519::PrivateKey, MissingFoundingKey> {
        self.accounts
            .get(account)
            .ok_or_else(|| MissingFoundingKey(account.to_string()))
    }
}
