//! Proof of possession for every public key the ledger registers, and the institution's
//! co-signature on a new pseudonym.
//!
//! Without a proof, anyone could register a key they do not hold: copy a validator's X25519
//! key to collect its re-encryption fragments, or squat a member's account or PRE key. Each
//! registered key therefore signs one domain-separated message that names the chain, the
//! account the key is registered for, the key's kind and the key itself, so a proof made for
//! one chain, account or key proves nothing about another (a rogue-key defence in the sense of
//! Ristenpart–Yilek, "The Power of Proofs-of-Possession", EUROCRYPT 2007).
//!
//! How each kind signs (the signatures themselves are in `medchain-crypto`, except Ed25519):
//! - the Ed25519 account key: Ed25519 under [`POSSESSION_NAMESPACE`];
//! - the Umbral PRE key (secp256k1): ECDSA-SHA256, as Umbral's own signer;
//! - the X25519 encryption key, which cannot sign as such: XEdDSA (Perrin, "The XEdDSA and
//!   VXEdDSA Signature Schemes", Signal, 2016), an EdDSA signature by the Edwards form of the
//!   X25519 secret, verified against the Montgomery public key.

use crate::codes::Role;
use crate::ids::{AccountId, ChainId, InstitutionId};
use commonware_codec::{DecodeExt, Encode};
use commonware_cryptography::{Signer, Verifier, ed25519};

/// Ed25519 namespace of account-key proofs; also the first part of every possession message.
pub const POSSESSION_NAMESPACE: &[u8] = b"medchain/key-possession/v1";
/// Ed25519 namespace of an institution's co-signature on a pseudonym registration.
pub const PSEUDONYM_COSIGN_NAMESPACE: &[u8] = b"medchain/pseudonym-registration/v1";
/// Every proof (Ed25519, ECDSA r‖s, XEdDSA R‖s) and co-signature is 64 bytes.
pub const PROOF_SIZE_BYTES: usize = 64;

/// Which key a proof is for; each kind has its own label in the signed message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// The Ed25519 account key itself (member, validator, institution admin).
    Account,
    /// The Umbral secp256k1 key that records are encapsulated to (33-byte compressed point).
    ProxyReEncryption,
    /// The X25519 key that sealed deliveries go to.
    Encryption,
    /// A pseudonym's ristretto255 ring key, for anonymous study contributions (proven by a
    /// bLSAG over the key and a decoy nobody holds, `medchain_crypto::ring::prove_possession`).
    Ring,
}

impl KeyKind {
    fn label(self) -> &'static [u8] {
        match self {
            KeyKind::Account => b"ed25519-account",
            KeyKind::ProxyReEncryption => b"secp256k1-umbral-pre",
            KeyKind::Encryption => b"x25519-encryption",
            KeyKind::Ring => b"ristretto255-ring",
        }
    }
}

/// What the holder of `key` signs: namespace ‖ len ‖ kind ‖ chain id ‖ account ‖ key.
/// Every part but the label has a fixed length per kind, so the encoding is unambiguous.
pub fn message(kind: KeyKind, chain_id: &ChainId, account: &AccountId, key: &[u8]) -> Vec<u8> {
    let label = kind.label();
    let mut out = Vec::with_capacity(POSSESSION_NAMESPACE.len() + 1 + label.len() + 64 + key.len());
    out.extend_from_slice(POSSESSION_NAMESPACE);
    out.push(label.len() as u8);
    out.extend_from_slice(label);
    out.extend_from_slice(chain_id.as_bytes());
    out.extend_from_slice(&account.to_bytes());
    out.extend_from_slice(key);
    out
}

/// The account key's proof: its Ed25519 signature over its own possession message.
pub fn prove_account(key: &ed25519::PrivateKey, chain_id: &ChainId) -> [u8; PROOF_SIZE_BYTES] {
    let account = AccountId::from(key.public_key());
    let msg = message(KeyKind::Account, chain_id, &account, &account.to_bytes());
    signature_bytes(&key.sign(POSSESSION_NAMESPACE, &msg))
}

/// True if `proof` is `account`'s signature over its possession message on `chain_id`.
pub fn verify_account(chain_id: &ChainId, account: &AccountId, proof: &[u8; 64]) -> bool {
    let msg = message(KeyKind::Account, chain_id, account, &account.to_bytes());
    verify_ed25519(account, POSSESSION_NAMESPACE, &msg, proof)
}

/// What an institution's registrar signs to vouch for a new pseudonym: the chain, the
/// pseudonym, the institution and the PRE key. It names nothing about the patient's other
/// pseudonyms, so the co-signature links the pseudonym to this institution only.
pub fn pseudonym_registration_message(
    chain_id: &ChainId,
    pseudonym: &AccountId,
    institution: &InstitutionId,
    pre_public_key: &[u8; 33],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + 32 + 33 + 1 + institution.as_str().len());
    out.extend_from_slice(chain_id.as_bytes());
    out.extend_from_slice(&pseudonym.to_bytes());
    out.extend_from_slice(pre_public_key);
    out.extend_from_slice(&institution.encode());
    out
}

/// The registrar's co-signature on a pseudonym registration.
pub fn cosign_pseudonym(
    registrar: &ed25519::PrivateKey,
    chain_id: &ChainId,
    pseudonym: &AccountId,
    institution: &InstitutionId,
    pre_public_key: &[u8; 33],
) -> [u8; PROOF_SIZE_BYTES] {
    let msg = pseudonym_registration_message(chain_id, pseudonym, institution, pre_public_key);
    signature_bytes(&registrar.sign(PSEUDONYM_COSIGN_NAMESPACE, &msg))
}

/// True if `signature` is `registrar`'s co-signature on this registration.
pub fn verify_pseudonym_cosignature(
    registrar: &AccountId,
    chain_id: &ChainId,
    pseudonym: &AccountId,
    institution: &InstitutionId,
    pre_public_key: &[u8; 33],
    signature: &[u8; 64],
) -> bool {
    let msg = pseudonym_registration_message(chain_id, pseudonym, institution, pre_public_key);
    verify_ed25519(registrar, PSEUDONYM_COSIGN_NAMESPACE, &msg, signature)
}

/// The roles whose active members may co-sign a pseudonym for their institution: the people
/// who admit patients (an admin's front desk or a treating clinician).
pub fn may_register_patients(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Clinician)
}

fn signature_bytes(signature: &ed25519::Signature) -> [u8; PROOF_SIZE_BYTES] {
    let mut out = [0u8; PROOF_SIZE_BYTES];
    out.copy_from_slice(signature.as_ref());
    out
}

/// True if `signature` (64 bytes) is `account`'s Ed25519 signature over `msg` in `namespace`.
pub(crate) fn verify_ed25519(
    account: &AccountId,
    namespace: &[u8],
    msg: &[u8],
    signature: &[u8; 64],
) -> bool {
    match ed25519::Signature::decode(commonware_codec::Copying(&signature[..])) {
        Ok(signature) => account.0.verify(namespace, msg, &signature),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u64) -> ed25519::PrivateKey {
        ed25519::PrivateKey::from_seed(seed)
    }

    #[test]
    fn account_proof_binds_chain_and_account() {
        let chain = ChainId([1; 32]);
        let member = key(1);
        let account = AccountId::from(member.public_key());
        let proof = prove_account(&member, &chain);
        assert!(verify_account(&chain, &account, &proof));
        assert!(!verify_account(&ChainId([2; 32]), &account, &proof));
        let other = AccountId::from(key(2).public_key());
        assert!(!verify_account(&chain, &other, &proof));
    }

    #[test]
    fn cosignature_binds_every_field() {
        let chain = ChainId([1; 32]);
        let registrar = key(1);
        let registrar_id = AccountId::from(registrar.public_key());
        let pseudonym = AccountId::from(key(2).public_key());
        let st_mary = InstitutionId::new("st-mary").unwrap();
        let pre = [2u8; 33];
        let signature = cosign_pseudonym(&registrar, &chain, &pseudonym, &st_mary, &pre);
        let verify = |chain: &ChainId, pseudonym: &AccountId, institution: &InstitutionId| {
            verify_pseudonym_cosignature(
                &registrar_id,
                chain,
                pseudonym,
                institution,
                &pre,
                &signature,
            )
        };
        assert!(verify(&chain, &pseudonym, &st_mary));
        assert!(!verify(&ChainId([2; 32]), &pseudonym, &st_mary));
        assert!(!verify(
            &chain,
            &AccountId::from(key(3).public_key()),
            &st_mary
        ));
        assert!(!verify(
            &chain,
            &pseudonym,
            &InstitutionId::new("riverside").unwrap()
        ));
    }
}
