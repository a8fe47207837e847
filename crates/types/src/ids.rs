//! Identifiers on the ledger: 32-byte digests shown as hex, account keys,
//! and institution slugs. None of them carries a direct identifier.

use crate::{codec_util, error::ValidationError, hexser, limits};
use bytes::BufMut;
use commonware_codec::{Buf, DecodeExt, EncodeSize, Error, FixedSize, Read, ReadExt, Write};
use commonware_cryptography::ed25519;
use curve25519_dalek::edwards::CompressedEdwardsY;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};
use std::fmt;
use std::str::FromStr;

macro_rules! digest_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            pub const fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self)
            }
        }
        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                hexser::parse::<32>(s).map(Self)
            }
        }
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_string())
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                text.parse().map_err(D::Error::custom)
            }
        }
        impl Write for $name {
            fn write(&self, buf: &mut impl BufMut) {
                buf.put_slice(&self.0);
            }
        }
        impl FixedSize for $name {
            const SIZE: usize = 32;
        }
        impl Read for $name {
            type Cfg = ();
            fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
                <[u8; 32]>::read(buf).map(Self)
            }
        }
        #[cfg(feature = "openapi")]
        crate::openapi::hex_string_schema!($name, 64);
    };
}

digest_id!(
    /// BLAKE3 of the canonical genesis document; in every signed transaction.
    ChainId
);
digest_id!(
    /// Domain-separated BLAKE3 of a transaction's canonical encoding (signature excluded, so it cannot be malleated).
    TxHash
);
digest_id!(
    /// Derived from the creating transaction's hash.
    RecordId
);
digest_id!(
    /// Derived from the granting transaction's hash.
    ConsentId
);
digest_id!(
    /// Derived from the proposing transaction's hash.
    ProposalId
);
digest_id!(
    /// Derived from the `ProposeStudy` transaction's hash; the ring context and range-proof
    /// study id of every contribution to it.
    StudyId
);

/// Keyed BLAKE3 (derive-key mode) so that ids of different kinds never collide.
pub(crate) fn derive(context: &str, parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new_derive_key(context);
    for part in parts {
        hasher.update(part);
    }
    *hasher.finalize().as_bytes()
}

impl RecordId {
    pub fn from_tx(tx: &TxHash) -> Self {
        Self(derive("medchain 2026 record id v1", &[&tx.0]))
    }
}

impl ConsentId {
    /// The id of the consent that `patient` grants with its transaction at `nonce` on
    /// `chain_id`. It is known before the transaction is signed (a hash of the transaction
    /// could not be, since the transaction carries fragments sealed to this id), and it is
    /// unique because a sender's nonce is used once per chain.
    pub fn for_grant(chain_id: &ChainId, patient: &AccountId, nonce: u64) -> Self {
        Self(derive(
            "medchain 2026 consent id v2",
            &[&chain_id.0, &patient.to_bytes(), &nonce.to_be_bytes()],
        ))
    }
}

impl ProposalId {
    pub fn from_tx(tx: &TxHash) -> Self {
        Self(derive("medchain 2026 proposal id v1", &[&tx.0]))
    }
}

impl StudyId {
    pub fn from_tx(tx: &TxHash) -> Self {
        Self(derive("medchain 2026 study id v1", &[&tx.0]))
    }
}

/// An Ed25519 public key: a member, a validator or a patient pseudonym.
/// Decoding checks the point, so an `AccountId` always verifies signatures.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountId(pub ed25519::PublicKey);

impl AccountId {
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, Error> {
        ed25519::PublicKey::decode(commonware_codec::Copying(bytes.as_slice())).map(Self)
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(self.0.as_ref());
        out
    }

    /// True if the key may be registered: the canonical encoding of a point outside the
    /// small-order subgroup. Commonware's decoder follows ZIP 215 and accepts both kinds, which
    /// is right for verifying consensus signatures but not for a key someone registers: a
    /// small-order key has signatures that verify for many messages without any secret, and a
    /// non-canonical encoding lets two byte strings name the same key (two accounts, one
    /// holder).
    pub fn is_registrable(&self) -> bool {
        let bytes = self.to_bytes();
        CompressedEdwardsY(bytes)
            .decompress()
            .is_some_and(|point| !point.is_small_order() && point.compress().to_bytes() == bytes)
    }

    /// [`Self::is_registrable`] as a validation error naming `what` the key is.
    pub fn check_registrable(&self, what: &'static str) -> Result<(), ValidationError> {
        if self.is_registrable() {
            Ok(())
        } else {
            Err(ValidationError::WeakKey(what))
        }
    }
}

impl From<ed25519::PublicKey> for AccountId {
    fn from(key: ed25519::PublicKey) -> Self {
        Self(key)
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0.as_ref()))
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountId({self})")
    }
}

impl FromStr for AccountId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let raw = hexser::parse::<32>(s)?;
        Self::from_bytes(raw).map_err(|e| format!("not an Ed25519 public key: {e}"))
    }
}

impl Serialize for AccountId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for AccountId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(D::Error::custom)
    }
}

impl Write for AccountId {
    fn write(&self, buf: &mut impl BufMut) {
        self.0.write(buf);
    }
}

impl FixedSize for AccountId {
    const SIZE: usize = 32;
}

impl Read for AccountId {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        ed25519::PublicKey::read(buf).map(Self)
    }
}

#[cfg(feature = "openapi")]
crate::openapi::hex_string_schema!(AccountId, 64);

/// An institution's slug, e.g. `st-mary-hospital`: `[a-z0-9-]{3,32}`, no
/// leading or trailing '-', nothing the PHI guard refuses (`mrn-1234567`,
/// `x-2024-03-12`). Validated on construction, decode and deserialise.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$"))]
pub struct InstitutionId(String);

impl InstitutionId {
    pub fn new(slug: impl Into<String>) -> Result<Self, ValidationError> {
        let slug = slug.into();
        let bytes = slug.as_bytes();
        let length_ok = (limits::INSTITUTION_ID_SIZE_MIN_BYTES
            ..=limits::INSTITUTION_ID_SIZE_MAX_BYTES)
            .contains(&bytes.len());
        let chars_ok = bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
        let ends_ok = bytes.first() != Some(&b'-') && bytes.last() != Some(&b'-');
        // Slugs are on the ledger for good: keep numbers shaped like dates or MRNs out of them too.
        let phi_ok = crate::phi_guard::check(&slug).is_ok();
        if length_ok && chars_ok && ends_ok && phi_ok {
            Ok(Self(slug))
        } else {
            Err(ValidationError::InstitutionId(slug))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for InstitutionId {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, ValidationError> {
        Self::new(value)
    }
}

impl From<InstitutionId> for String {
    fn from(value: InstitutionId) -> Self {
        value.0
    }
}

impl FromStr for InstitutionId {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, ValidationError> {
        Self::new(s)
    }
}

impl fmt::Display for InstitutionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for InstitutionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InstitutionId({})", self.0)
    }
}

impl Write for InstitutionId {
    fn write(&self, buf: &mut impl BufMut) {
        codec_util::write_str(&self.0, buf);
    }
}

impl EncodeSize for InstitutionId {
    fn encode_size(&self) -> usize {
        codec_util::str_encode_size(&self.0)
    }
}

impl Read for InstitutionId {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        let slug = codec_util::read_str(
            buf,
            limits::INSTITUTION_ID_SIZE_MIN_BYTES,
            limits::INSTITUTION_ID_SIZE_MAX_BYTES,
        )?;
        Self::new(slug).map_err(|_| Error::Invalid("InstitutionId", "not a [a-z0-9-] slug"))
    }
}
