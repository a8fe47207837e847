//! Re-encryption key fragments (Nuñez 2018, §3 ReKeyGen, with umbral-pre 0.11.0's non-interactive
//! variant, notes A.4): the delegator splits a·d⁻¹ with a degree t−1 polynomial whose share
//! indices are hashed from a DH point only the receiver can recompute, and signs each fragment.

use std::fmt;

use k256::{ProjectivePoint, Scalar};
use rand_core::CryptoRng;
use zeroize::{Zeroize, Zeroizing};

use super::capsule::{DST_POLYNOMIAL_ARG, DST_SHARED_SECRET};
use super::group::{
    PARAMETER_U_BYTES, POINT_SIZE_BYTES, Point, SCALAR_SIZE_BYTES, ScalarHash, invert_nonzero,
    random_nonzero_scalar, scalar_from_bytes, scalar_to_bytes,
};
use super::keys::{PublicKey, SIGNATURE_SIZE_BYTES, SecretKey, Signature, Signer};
use super::wire::{Reader, Writer};
use super::{KFRAG_SHARES_MAX_COUNT, UmbralError};

pub const KFRAG_SIZE_BYTES: usize = 310;
pub const KFRAG_ID_SIZE_BYTES: usize = 32;

/// What `generate_kfrags` produces and which public keys the proxies' signatures commit to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyFragParams {
    /// Fragments needed to decapsulate, 1 <= threshold <= shares.
    pub threshold: usize,
    /// Fragments made (one per proxy), shares <= `KFRAG_SHARES_MAX_COUNT`.
    pub shares: usize,
    pub sign_delegating_key: bool,
    pub sign_receiving_key: bool,
}

/// One proxy's share of the re-encryption key. `key` is secret to that proxy: zeroized on drop
/// and left out of `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyFrag {
    pub(crate) id: [u8; KFRAG_ID_SIZE_BYTES],
    key: Scalar,
    pub(crate) precursor: Point,
    pub(crate) commitment: Point,
    signature_for_proxy: Signature,
    pub(crate) signature_for_receiver: Signature,
    delegating_key_signed: bool,
    receiving_key_signed: bool,
}

/// A fragment whose commitment and signature were checked (or that this process made).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct VerifiedKeyFrag(KeyFrag);

/// The signed message: id || U1 || X_A || flag_A [|| A] || flag_B [|| B] (notes A.2).
pub(crate) fn kfrag_signature_message(
    id: &[u8; KFRAG_ID_SIZE_BYTES],
    commitment: &Point,
    precursor: &Point,
    delegating_pk: Option<&PublicKey>,
    receiving_pk: Option<&PublicKey>,
) -> Vec<u8> {
    let mut message = Vec::with_capacity(KFRAG_ID_SIZE_BYTES + 4 * POINT_SIZE_BYTES + 2);
    message.extend_from_slice(id);
    message.extend_from_slice(&commitment.bytes);
    message.extend_from_slice(&precursor.bytes);
    for key in [delegating_pk, receiving_pk] {
        match key {
            Some(key) => {
                message.push(1);
                message.extend_from_slice(&key.to_compressed_bytes());
            }
            None => message.push(0),
        }
    }
    message
}

impl KeyFrag {
    /// msgpack `[[U], id, key, precursor, [U1, sig_proxy, sig_receiver, flag_A, flag_B]]`, 310 bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut writer = Writer::with_capacity(KFRAG_SIZE_BYTES);
        writer.array(5);
        writer.array(1);
        writer.bin(&PARAMETER_U_BYTES);
        writer.bin(&self.id);
        writer.bin(&scalar_to_bytes(&self.key));
        writer.bin(&self.precursor.bytes);
        writer.array(5);
        writer.bin(&self.commitment.bytes);
        writer.bin(&self.signature_for_proxy.to_be_bytes());
        writer.bin(&self.signature_for_receiver.to_be_bytes());
        writer.bool(self.delegating_key_signed);
        writer.bool(self.receiving_key_signed);
        writer.finish()
    }

    /// Strict decode. The embedded parameter U must be the constant: umbral-pre 0.11.0 accepts
    /// any point there and then checks the commitment against it, which we refuse to do.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, UmbralError> {
        let mut reader = Reader::new(bytes, "key fragment");
        reader.array(5)?;
        reader.array(1)?;
        if reader.bin(POINT_SIZE_BYTES)? != PARAMETER_U_BYTES {
            return Err(UmbralError::ParameterMismatch);
        }
        let id = reader
            .bin(KFRAG_ID_SIZE_BYTES)?
            .try_into()
            .expect("length checked by bin");
        let key = scalar_from_bytes(reader.bin(SCALAR_SIZE_BYTES)?, "key fragment key")?;
        let precursor = Point::from_bytes(reader.bin(POINT_SIZE_BYTES)?, "kfrag precursor")?;
        reader.array(5)?;
        let commitment = Point::from_bytes(reader.bin(POINT_SIZE_BYTES)?, "kfrag commitment")?;
        let signature_for_proxy = Signature::from_be_bytes(reader.bin(SIGNATURE_SIZE_BYTES)?)?;
        let signature_for_receiver = Signature::from_be_bytes(reader.bin(SIGNATURE_SIZE_BYTES)?)?;
        let delegating_key_signed = reader.bool()?;
        let receiving_key_signed = reader.bool()?;
        reader.finish()?;
        Ok(Self {
            id,
            key,
            precursor,
            commitment,
            signature_for_proxy,
            signature_for_receiver,
            delegating_key_signed,
            receiving_key_signed,
        })
    }

    /// Checks U1 = rk·U, then the proxy signature. A key the fragment says was signed must be
    /// supplied; a supplied key the fragment did not sign is left out of the proxy signature's
    /// message (as umbral-pre does).
    pub fn verify(
        self,
        verifying_pk: &PublicKey,
        delegating_pk: Option<&PublicKey>,
        receiving_pk: Option<&PublicKey>,
    ) -> Result<VerifiedKeyFrag, UmbralError> {
        if Point::parameter_u().point * self.key != self.commitment.point {
            return Err(UmbralError::KeyFragCommitmentMismatch);
        }
        if self.delegating_key_signed && delegating_pk.is_none() {
            return Err(UmbralError::DelegatingKeyNotProvided);
        }
        if self.receiving_key_signed && receiving_pk.is_none() {
            return Err(UmbralError::ReceivingKeyNotProvided);
        }
        let message = kfrag_signature_message(
            &self.id,
            &self.commitment,
            &self.precursor,
            delegating_pk.filter(|_| self.delegating_key_signed),
            receiving_pk.filter(|_| self.receiving_key_signed),
        );
        if !self.signature_for_proxy.verify(verifying_pk, &message) {
            return Err(UmbralError::KeyFragSignatureInvalid);
        }
        // Stricter than umbral-pre: when both keys are known, also check the signature the
        // receiver will check, so a proxy never re-encrypts with a fragment that yields
        // capsule fragments the receiver must reject.
        if let (Some(delegating_pk), Some(receiving_pk)) = (delegating_pk, receiving_pk) {
            let message = kfrag_signature_message(
                &self.id,
                &self.commitment,
                &self.precursor,
                Some(delegating_pk),
                Some(receiving_pk),
            );
            if !self.signature_for_receiver.verify(verifying_pk, &message) {
                return Err(UmbralError::KeyFragSignatureInvalid);
            }
        }
        Ok(VerifiedKeyFrag(self))
    }

    pub(crate) fn key(&self) -> &Scalar {
        &self.key
    }
}

impl Drop for KeyFrag {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

impl fmt::Debug for KeyFrag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyFrag")
            .field("id", &hex_string(&self.id))
            .field("key", &"<redacted>")
            .field("precursor", &hex_string(&self.precursor.bytes))
            .finish_non_exhaustive()
    }
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

impl VerifiedKeyFrag {
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes()
    }

    pub fn unverify(self) -> KeyFrag {
        self.0
    }

    pub(crate) fn kfrag(&self) -> &KeyFrag {
        &self.0
    }
}

/// The per-grant values every fragment is computed from. `coefficients` is the secret polynomial
/// f with f(0) = a·d⁻¹; it is zeroized when the grant is done.
struct Delegation<'a> {
    precursor: Point,
    dh_point: Point,
    delegating_pk: PublicKey,
    receiving_pk: &'a PublicKey,
    coefficients: Zeroizing<Vec<Scalar>>,
}

impl Delegation<'_> {
    fn fragment<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        signer: &Signer,
        params: KeyFragParams,
    ) -> Result<VerifiedKeyFrag, UmbralError> {
        let mut id = [0u8; KFRAG_ID_SIZE_BYTES];
        rng.fill_bytes(&mut id);
        let share_index = ScalarHash::new(DST_POLYNOMIAL_ARG)
            .point(&self.precursor)
            .point(self.receiving_pk.point())
            .point(&self.dh_point)
            .chain(&id)
            .finalize();
        // Horner's rule from the highest coefficient down.
        let key = self
            .coefficients
            .iter()
            .rev()
            .fold(Scalar::ZERO, |acc, c| acc * share_index + c);
        let commitment = Point::new(Point::parameter_u().point * key, "kfrag commitment")?;
        let sign = |a: Option<&PublicKey>, b: Option<&PublicKey>| {
            signer.sign(&kfrag_signature_message(
                &id,
                &commitment,
                &self.precursor,
                a,
                b,
            ))
        };
        let signature_for_receiver = sign(Some(&self.delegating_pk), Some(self.receiving_pk));
        let signature_for_proxy = sign(
            Some(&self.delegating_pk).filter(|_| params.sign_delegating_key),
            Some(self.receiving_pk).filter(|_| params.sign_receiving_key),
        );
        Ok(VerifiedKeyFrag(KeyFrag {
            id,
            key,
            precursor: self.precursor,
            commitment,
            signature_for_proxy,
            signature_for_receiver,
            delegating_key_signed: params.sign_delegating_key,
            receiving_key_signed: params.sign_receiving_key,
        }))
    }
}

/// Splits the re-encryption key from `delegating_sk` to `receiving_pk` into `params.shares`
/// fragments, any `params.threshold` of which re-encrypt a capsule for the receiver.
pub fn generate_kfrags<R: CryptoRng + ?Sized>(
    rng: &mut R,
    delegating_sk: &SecretKey,
    receiving_pk: &PublicKey,
    signer: &Signer,
    params: KeyFragParams,
) -> Result<Vec<VerifiedKeyFrag>, UmbralError> {
    let KeyFragParams {
        threshold, shares, ..
    } = params;
    if threshold == 0 || threshold > shares || shares > KFRAG_SHARES_MAX_COUNT {
        return Err(UmbralError::ThresholdOutOfRange {
            threshold,
            shares,
            max_shares: KFRAG_SHARES_MAX_COUNT,
        });
    }
    let precursor_secret = Zeroizing::new(random_nonzero_scalar(rng));
    let precursor = Point::new(
        ProjectivePoint::mul_by_generator(&precursor_secret),
        "precursor",
    )?;
    let dh_point = Point::new(receiving_pk.point().point * *precursor_secret, "DH point")?;
    let d = Zeroizing::new(
        ScalarHash::new(DST_SHARED_SECRET)
            .point(&precursor)
            .point(receiving_pk.point())
            .point(&dh_point)
            .finalize(),
    );
    let mut coefficients = Zeroizing::new(Vec::with_capacity(threshold));
    coefficients.push(*delegating_sk.scalar() * invert_nonzero(&d));
    coefficients.extend((1..threshold).map(|_| random_nonzero_scalar(rng)));
    let delegation = Delegation {
        precursor,
        dh_point,
        delegating_pk: delegating_sk.public_key(),
        receiving_pk,
        coefficients,
    };
    (0..shares)
        .map(|_| delegation.fragment(rng, signer, params))
        .collect()
}
