//! Capsule fragments (Nuñez 2018, §3 ReEncFrag, plus the proof of correct re-encryption that
//! umbral-pre 0.11.0 attaches, notes A.4): a proxy computes (E1, V1) = rk·(E, V) and a
//! Chaum–Pedersen proof that log_E E1 = log_V V1 = log_U U1, so a cheating proxy is caught.

use k256::elliptic_curve::ops::LinearCombination;
use k256::{ProjectivePoint, Scalar};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::UmbralError;
use super::capsule::Capsule;
use super::group::{
    POINT_SIZE_BYTES, Point, SCALAR_SIZE_BYTES, ScalarHash, random_nonzero_scalar,
    scalar_from_bytes, scalar_to_bytes,
};
use super::keys::{PublicKey, SIGNATURE_SIZE_BYTES, Signature};
use super::kfrag::{KFRAG_ID_SIZE_BYTES, VerifiedKeyFrag, kfrag_signature_message};
use super::wire::{Reader, Writer};

pub const CFRAG_SIZE_BYTES: usize = 381;
/// E1 || V1 || id || X_A || E2 || V2 || U1 || U2 || z3 || signature.
pub const CFRAG_SIMPLE_SIZE_BYTES: usize = 359;

const DST_CFRAG_VERIFICATION: &[u8] = b"CFRAG_VERIFICATION";

/// DLEQ proof: commitments E2 = t·E, V2 = t·V, U2 = t·U, response z3 = t + h·rk, plus the
/// grant signer's signature over the kfrag, which binds U1 = rk·U to this grant's keys.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct ReencryptionProof {
    e2: Point,
    v2: Point,
    kfrag_commitment: Point,
    kfrag_pok: Point,
    signature: Scalar,
    kfrag_signature: Signature,
}

/// One proxy's re-encryption of one capsule, as it arrives from the network: decode, then
/// `verify` against the capsule and the grant's keys before using it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct CapsuleFrag {
    e1: Point,
    v1: Point,
    kfrag_id: [u8; KFRAG_ID_SIZE_BYTES],
    precursor: Point,
    proof: ReencryptionProof,
}

/// A fragment whose proof was checked against its capsule and the grant's keys.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct VerifiedCapsuleFrag(CapsuleFrag);

fn challenge(capsule: &Capsule, e1: &Point, v1: &Point, proof: &ReencryptionProof) -> Scalar {
    ScalarHash::new(DST_CFRAG_VERIFICATION)
        .point(&capsule.e)
        .point(e1)
        .point(&proof.e2)
        .point(&capsule.v)
        .point(v1)
        .point(&proof.v2)
        .point(Point::parameter_u())
        .point(&proof.kfrag_commitment)
        .point(&proof.kfrag_pok)
        .finalize()
}

/// The proxy's work: re-encrypts `capsule` under one verified key fragment.
pub fn reencrypt<R: CryptoRng + ?Sized>(
    rng: &mut R,
    capsule: &Capsule,
    kfrag: &VerifiedKeyFrag,
) -> Result<VerifiedCapsuleFrag, UmbralError> {
    let kfrag = kfrag.kfrag();
    let rk = kfrag.key();
    // Zeroizing: the nonce t and rk together give away rk through z3.
    let t = Zeroizing::new(random_nonzero_scalar(rng));
    let u = Point::parameter_u();
    let [e1, v1, e2, v2, kfrag_pok] = Point::new_batch(
        [
            capsule.e.point * rk,
            capsule.v.point * rk,
            capsule.e.point * *t,
            capsule.v.point * *t,
            u.point * *t,
        ],
        [
            "cfrag point E1",
            "cfrag point V1",
            "proof point E2",
            "proof point V2",
            "proof point U2",
        ],
    )?;
    let mut proof = ReencryptionProof {
        e2,
        v2,
        kfrag_commitment: kfrag.commitment,
        kfrag_pok,
        signature: Scalar::ZERO,
        kfrag_signature: kfrag.signature_for_receiver,
    };
    let h = challenge(capsule, &e1, &v1, &proof);
    proof.signature = *t + h * rk;
    Ok(VerifiedCapsuleFrag(CapsuleFrag {
        e1,
        v1,
        kfrag_id: kfrag.id,
        precursor: kfrag.precursor,
        proof,
    }))
}

impl CapsuleFrag {
    /// msgpack `[E1, V1, id, X_A, [E2, V2, U1, U2, z3, signature]]`, 381 bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let proof = &self.proof;
        let mut writer = Writer::with_capacity(CFRAG_SIZE_BYTES);
        writer.array(5);
        writer.bin(&self.e1.bytes);
        writer.bin(&self.v1.bytes);
        writer.bin(&self.kfrag_id);
        writer.bin(&self.precursor.bytes);
        writer.array(6);
        for point in [
            &proof.e2,
            &proof.v2,
            &proof.kfrag_commitment,
            &proof.kfrag_pok,
        ] {
            writer.bin(&point.bytes);
        }
        writer.bin(&scalar_to_bytes(&proof.signature));
        writer.bin(&proof.kfrag_signature.to_be_bytes());
        writer.finish()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, UmbralError> {
        let mut reader = Reader::new(bytes, "capsule fragment");
        let point = |reader: &mut Reader<'_>, what| {
            reader
                .bin(POINT_SIZE_BYTES)
                .and_then(|field| Point::from_bytes(field, what))
        };
        reader.array(5)?;
        let e1 = point(&mut reader, "cfrag point E1")?;
        let v1 = point(&mut reader, "cfrag point V1")?;
        let kfrag_id = reader
            .bin(KFRAG_ID_SIZE_BYTES)?
            .try_into()
            .expect("length checked by bin");
        let precursor = point(&mut reader, "cfrag precursor")?;
        reader.array(6)?;
        let e2 = point(&mut reader, "proof point E2")?;
        let v2 = point(&mut reader, "proof point V2")?;
        let kfrag_commitment = point(&mut reader, "proof kfrag commitment")?;
        let kfrag_pok = point(&mut reader, "proof point U2")?;
        let signature = scalar_from_bytes(reader.bin(SCALAR_SIZE_BYTES)?, "proof response z3")?;
        let kfrag_signature = Signature::from_be_bytes(reader.bin(SIGNATURE_SIZE_BYTES)?)?;
        reader.finish()?;
        let proof = ReencryptionProof {
            e2,
            v2,
            kfrag_commitment,
            kfrag_pok,
            signature,
            kfrag_signature,
        };
        Ok(Self {
            e1,
            v1,
            kfrag_id,
            precursor,
            proof,
        })
    }

    /// The 359-byte concatenation umbral-pre calls `to_bytes_simple`.
    pub fn to_bytes_simple(&self) -> Vec<u8> {
        let proof = &self.proof;
        let mut bytes = Vec::with_capacity(CFRAG_SIMPLE_SIZE_BYTES);
        for point in [&self.e1, &self.v1] {
            bytes.extend_from_slice(&point.bytes);
        }
        bytes.extend_from_slice(&self.kfrag_id);
        for point in [
            &self.precursor,
            &proof.e2,
            &proof.v2,
            &proof.kfrag_commitment,
            &proof.kfrag_pok,
        ] {
            bytes.extend_from_slice(&point.bytes);
        }
        bytes.extend_from_slice(&scalar_to_bytes(&proof.signature));
        bytes.extend_from_slice(&proof.kfrag_signature.to_be_bytes());
        bytes
    }

    /// Checks the signer's signature over the kfrag (with both public keys), then the three
    /// DLEQ equations z3·X = X2 + h·X1 for X in (E, V, U).
    pub fn verify(
        self,
        capsule: &Capsule,
        verifying_pk: &PublicKey,
        delegating_pk: &PublicKey,
        receiving_pk: &PublicKey,
    ) -> Result<VerifiedCapsuleFrag, UmbralError> {
        let proof = &self.proof;
        let message = kfrag_signature_message(
            &self.kfrag_id,
            &proof.kfrag_commitment,
            &self.precursor,
            Some(delegating_pk),
            Some(receiving_pk),
        );
        if !proof.kfrag_signature.verify(verifying_pk, &message) {
            return Err(UmbralError::CapsuleFragSignatureInvalid);
        }
        let h = challenge(capsule, &self.e1, &self.v1, proof);
        let z3 = proof.signature;
        // z3·X − h·X1 = X2, checked as one variable-time double multiplication each (public data).
        let holds = |base: &Point, image: &Point, commitment: &Point| {
            ProjectivePoint::lincomb_vartime(&[(base.point, z3), (image.point, -h)])
                == commitment.point
        };
        let u = Point::parameter_u();
        if !holds(&capsule.e, &self.e1, &proof.e2)
            || !holds(&capsule.v, &self.v1, &proof.v2)
            || !holds(u, &proof.kfrag_commitment, &proof.kfrag_pok)
        {
            return Err(UmbralError::CapsuleFragProofInvalid);
        }
        Ok(VerifiedCapsuleFrag(self))
    }
}

impl VerifiedCapsuleFrag {
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes()
    }

    pub fn to_bytes_simple(&self) -> Vec<u8> {
        self.0.to_bytes_simple()
    }

    pub fn unverify(self) -> CapsuleFrag {
        self.0
    }

    pub(crate) fn precursor(&self) -> &Point {
        &self.0.precursor
    }

    pub(crate) fn kfrag_id(&self) -> &[u8; KFRAG_ID_SIZE_BYTES] {
        &self.0.kfrag_id
    }

    pub(crate) fn e1(&self) -> &Point {
        &self.0.e1
    }

    pub(crate) fn v1(&self) -> &Point {
        &self.0.v1
    }
}
