//! Simplex finalization certificates, checked without the consensus engine: a certificate is a
//! quorum (more than 2/3) of one epoch's validators signing, under the `_FINALIZE` namespace, the
//! proposal (round, parent view, block digest). The signature check is commonware's own
//! (`commonware_cryptography`'s ed25519 certificate scheme, batch-verified); this module only
//! names the subject the way simplex does (`simplex::scheme::Namespace` and `Subject::Finalize`),
//! which the conformance tests below hold to against certificates the engine assembles.
use bytes::BufMut;

use crate::block::Round;
use bytes::Bytes;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt as _, Write};
use commonware_cryptography::{certificate, ed25519, impl_certificate_ed25519, sha256};
use commonware_parallel::Sequential;
use commonware_utils::{N3f1, ordered::Set, union};

/// The namespace every consensus signature of the chain named `chain_name` is made under
/// (the p2p layer uses another, so a vote can never pass for a handshake).
pub fn consensus_namespace(chain_name: &str) -> Vec<u8> {
    union(b"medchain/consensus/", chain_name.as_bytes())
}

/// What a finalize vote signs: the proposal of a round.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    pub round: Round,
    pub parent_view: u64,
    /// The digest of the proposed block.
    pub payload: sha256::Digest,
}

impl Write for Proposal {
    fn write(&self, buf: &mut impl BufMut) {
        self.round.write(buf);
        commonware_codec::varint::UInt(self.parent_view).write(buf);
        self.payload.write(buf);
    }
}

impl EncodeSize for Proposal {
    fn encode_size(&self) -> usize {
        self.round.encode_size()
            + commonware_codec::varint::UInt(self.parent_view).encode_size()
            + self.payload.encode_size()
    }
}

impl Read for Proposal {
    type Cfg = ();

    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            round: Round::read(buf)?,
            parent_view: commonware_codec::varint::UInt::<u64>::read(buf)?.into(),
            payload: sha256::Digest::read(buf)?,
        })
    }
}

/// The `_FINALIZE` namespace simplex derives from the consensus namespace.
#[derive(Clone, Debug)]
pub struct FinalizeNamespace(Vec<u8>);

impl certificate::Namespace for FinalizeNamespace {
    fn derive(namespace: &[u8]) -> Self {
        Self(union(namespace, b"_FINALIZE"))
    }
}

/// A finalize vote's subject, as simplex's `Subject::Finalize` presents it to the scheme.
#[derive(Clone, Debug)]
pub struct FinalizeSubject<'a> {
    pub proposal: &'a Proposal,
}

impl certificate::Subject for FinalizeSubject<'_> {
    type Namespace = FinalizeNamespace;

    fn namespace<'b>(&self, derived: &'b FinalizeNamespace) -> &'b [u8] {
        &derived.0
    }

    fn message(&self) -> Bytes {
        commonware_codec::Encode::encode(self.proposal)
    }
}

// The macro's test fixture is behind a `mocks` feature this crate does not have.
#[allow(unexpected_cfgs)]
mod scheme {
    use super::{FinalizeNamespace, FinalizeSubject, N3f1, impl_certificate_ed25519};
    impl_certificate_ed25519!(FinalizeSubject<'a>, FinalizeNamespace, N3f1);
}

pub use scheme::Scheme as FinalizeScheme;

/// A finalization certificate: the proposal and the quorum's signatures over it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finalization {
    pub proposal: Proposal,
    pub certificate: ed25519::certificate::Certificate,
}

impl Write for Finalization {
    fn write(&self, buf: &mut impl BufMut) {
        self.proposal.write(buf);
        self.certificate.write(buf);
    }
}

impl EncodeSize for Finalization {
    fn encode_size(&self) -> usize {
        self.proposal.encode_size() + self.certificate.encode_size()
    }
}

impl Read for Finalization {
    /// The most validators the certificate's signer bitmap may name.
    type Cfg = usize;

    fn read_cfg(buf: &mut impl Buf, signers_max: &usize) -> Result<Self, CodecError> {
        Ok(Self {
            proposal: Proposal::read(buf)?,
            certificate: ed25519::certificate::Certificate::read_cfg(buf, signers_max)?,
        })
    }
}

impl Finalization {
    /// Decodes a certificate given as hex (as the API serves it), naming at most `signers_max`
    /// validators.
    pub fn from_hex(text: &str, signers_max: usize) -> Result<Self, String> {
        let bytes = hex::decode(text).map_err(|e| e.to_string())?;
        <Self as commonware_codec::Decode>::decode_cfg(
            commonware_codec::Copying(bytes.as_slice()),
            &signers_max,
        )
        .map_err(|e| e.to_string())
    }

    /// Validators whose signatures the certificate carries.
    pub fn signers(&self) -> usize {
        self.certificate.signers.count()
    }

    /// Whether a quorum of `validators` signed this proposal under `namespace`.
    pub fn verify(&self, namespace: &[u8], validators: &Set<ed25519::PublicKey>) -> bool {
        use certificate::Verifier as _;
        let verifier = FinalizeScheme::verifier(namespace, validators.clone());
        verifier.verify_certificate::<_, sha256::Digest>(
            &mut rand::rng(),
            FinalizeSubject {
                proposal: &self.proposal,
            },
            &self.certificate,
            &Sequential,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::{Decode as _, Encode as _};
    use commonware_consensus::{
        simplex::{
            scheme::ed25519 as engine_scheme,
            types::{Finalization as EngineFinalization, Finalize, Proposal as EngineProposal},
        },
        types::{Epoch, Round as EngineRound, View},
    };
    use commonware_cryptography::{Hasher as _, Sha256, Signer as _};
    use commonware_utils::{TryCollect as _, iter::NonEmpty};

    fn set(seeds: &[u64]) -> Set<ed25519::PublicKey> {
        seeds
            .iter()
            .map(|s| ed25519::PrivateKey::from_seed(*s).public_key())
            .try_collect()
            .unwrap()
    }

    /// A finalization the engine itself assembles from `signers`' votes, encoded.
    fn engine_finalization(namespace: &[u8], validators: &[u64], signers: &[u64]) -> Vec<u8> {
        let proposal = EngineProposal::new(
            EngineRound::new(Epoch::new(2), View::new(77)),
            View::new(76),
            Sha256::hash(&[b"block"]),
        );
        let votes: Vec<_> = signers
            .iter()
            .map(|seed| {
                let scheme = engine_scheme::Scheme::signer(
                    namespace,
                    set(validators),
                    ed25519::PrivateKey::from_seed(*seed),
                )
                .unwrap();
                Finalize::sign(&scheme, proposal.clone()).unwrap()
            })
            .collect();
        let verifier = engine_scheme::Scheme::verifier(namespace, set(validators));
        EngineFinalization::from_finalizes(
            &verifier,
            NonEmpty::try_new(votes.iter()).unwrap(),
            &Sequential,
        )
        .unwrap()
        .encode()
        .to_vec()
    }

    #[test]
    fn an_engine_finalization_decodes_and_verifies_here() {
        let namespace = consensus_namespace("conformance");
        let bytes = engine_finalization(&namespace, &[0, 1, 2, 3], &[0, 2, 3]);
        let ours = Finalization::from_hex(&hex::encode(&bytes), 4).unwrap();
        assert_eq!(ours.encode().to_vec(), bytes, "re-encodes byte for byte");
        assert_eq!(ours.proposal.round, Round { epoch: 2, view: 77 });
        assert_eq!(ours.proposal.parent_view, 76);
        assert_eq!(ours.signers(), 3);
        assert!(ours.verify(&namespace, &set(&[0, 1, 2, 3])));
    }

    #[test]
    fn a_finalization_under_another_namespace_or_set_is_refused() {
        let namespace = consensus_namespace("conformance");
        let bytes = engine_finalization(&namespace, &[0, 1, 2, 3], &[0, 1, 2]);
        let ours =
            Finalization::decode_cfg(commonware_codec::Copying(bytes.as_slice()), &4).unwrap();
        assert!(!ours.verify(&consensus_namespace("another-chain"), &set(&[0, 1, 2, 3])));
        assert!(!ours.verify(&namespace, &set(&[0, 1, 2, 4])));
    }

    #[test]
    fn a_changed_proposal_no_longer_verifies() {
        let namespace = consensus_namespace("conformance");
        let bytes = engine_finalization(&namespace, &[0, 1, 2, 3], &[0, 1, 2, 3]);
        let mut ours =
            Finalization::decode_cfg(commonware_codec::Copying(bytes.as_slice()), &4).unwrap();
        ours.proposal.payload = Sha256::hash(&[b"another block"]);
        assert!(!ours.verify(&namespace, &set(&[0, 1, 2, 3])));
    }

    #[test]
    fn fewer_than_a_quorum_cannot_be_assembled_or_verified() {
        // 2 of 4 is not more than 2/3: the decoded certificate must not pass.
        let namespace = consensus_namespace("conformance");
        let full = engine_finalization(&namespace, &[0, 1, 2, 3], &[0, 1, 2]);
        let mut ours =
            Finalization::decode_cfg(commonware_codec::Copying(full.as_slice()), &4).unwrap();
        ours.certificate.signatures.pop();
        assert!(!ours.verify(&namespace, &set(&[0, 1, 2, 3])));
    }
}
