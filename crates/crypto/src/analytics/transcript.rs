//! Fiat–Shamir transcripts of the analytics proofs. Every variable-length input is
//! length-prefixed (u64 big-endian) after a domain tag, so no two different statements share an
//! encoding; challenges are RFC 9380 hash-to-field (`expand_message_xmd` with SHA-256) of the
//! whole transcript, through commonware's [`Scalar::map`].

use commonware_codec::Write;
use commonware_cryptography::bls12381::primitives::group::{G1, Scalar};

use super::{AnalyticsError, CONTEXT_FIELD_SIZE_MAX_BYTES};

/// What a proof is bound to: the chain, the study, and for an anonymous contribution the ring
/// signature's key image. A proof verifies only in the context it was made for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProofContext<'a> {
    pub chain_id: &'a [u8],
    pub study_id: &'a [u8],
    /// The contributor's key image (`None` for an institutional contribution).
    pub key_image: Option<&'a [u8; 32]>,
}

impl ProofContext<'_> {
    pub(crate) fn check(&self) -> Result<(), AnalyticsError> {
        for (what, field) in [("chain id", self.chain_id), ("study id", self.study_id)] {
            if field.len() > CONTEXT_FIELD_SIZE_MAX_BYTES {
                return Err(AnalyticsError::ContextTooLarge {
                    what,
                    got_bytes: field.len(),
                });
            }
        }
        Ok(())
    }
}

/// An append-only statement encoding that ends in one challenge scalar.
pub(crate) struct Transcript {
    dst: &'static [u8],
    bytes: Vec<u8>,
}

impl Transcript {
    pub(crate) fn new(dst: &'static [u8], context: &ProofContext<'_>) -> Self {
        let mut transcript = Self {
            dst,
            bytes: Vec::with_capacity(4096),
        };
        transcript.bytes_field(dst);
        transcript.bytes_field(context.chain_id);
        transcript.bytes_field(context.study_id);
        match context.key_image {
            None => transcript.bytes.push(0),
            Some(image) => {
                transcript.bytes.push(1);
                transcript.bytes.extend_from_slice(image);
            }
        }
        transcript
    }

    pub(crate) fn bytes_field(&mut self, field: &[u8]) {
        self.bytes
            .extend_from_slice(&(field.len() as u64).to_be_bytes());
        self.bytes.extend_from_slice(field);
    }

    pub(crate) fn u64(&mut self, value: u64) {
        self.bytes.extend_from_slice(&value.to_be_bytes());
    }

    pub(crate) fn point(&mut self, point: &G1) {
        point.write(&mut self.bytes);
    }

    /// A point as a range proof carries it (fixed size, so no length prefix).
    pub(crate) fn wire_point(&mut self, encoding: &[u8; super::wire::WIRE_POINT_SIZE_BYTES]) {
        self.bytes.extend_from_slice(encoding);
    }

    pub(crate) fn challenge(&self) -> Scalar {
        Scalar::map(self.dst, &self.bytes)
    }
}
