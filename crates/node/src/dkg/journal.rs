//! A round in progress on disk, so a validator restarted in the middle of a round resumes it.
//! Without it the restarted dealer would deal a fresh polynomial, which its peers refuse (they
//! hold the first one), and the restarted player would have lost the shares of every dealer
//! that already holds its acknowledgement: it would count as one of the round's faulty
//! participants and end without a share.
//!
//! What is kept, each written before the message that depends on it leaves the node:
//! - the dealer's 32-byte seed, from which `Dealer::start` re-derives the same dealing (written
//!   before the first dealing is sent);
//! - every dealing this player acknowledged, commitment and share (written before the ack is
//!   sent, as `Player::resume` requires);
//! - this dealer's signed log, once signed (written before it is sent), so a restart does not
//!   sign a second, different log.
//!
//! The seed and the shares are as secret as the finished share and are sealed the same way
//! (HPKE to the node's own X25519 key, with an `info` naming chain and round, the public part
//! as associated data); the commitments and the log are public and stay in the clear, so the
//! sealed part stays far below the sealing limit at any validator count. The file is replaced
//! whole (temporary file, fsync, rename, fsync of the directory) and removed once the finished
//! round is stored.

use bytes::BufMut;
use commonware_codec::{
    Buf, Decode as _, DecodeExt as _, Encode as _, EncodeSize, Error, RangeCfg, Read, Write,
};
use commonware_cryptography::bls12381::{
    dkg::feldman_desmedt::{DealerPrivMsg, DealerPubMsg, SignedDealerLog},
    primitives::variant::MinPk,
};
use commonware_cryptography::ed25519;
use medchain_crypto::keys::hpke::{
    EncryptionPublicKey, EncryptionSecretKey, SEAL_OVERHEAD_BYTES, open_with, seal_to,
};
use medchain_crypto::rng::SeededRng;
use medchain_types::ChainId;
use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

use super::sealed::{SealedError, read_bounded, write_durably};
use super::wire::DKG_PARTICIPANTS_MAX;

type Pk = ed25519::PublicKey;

/// Size of the seed a dealer derives its dealing from.
pub const DEALER_SEED_SIZE_BYTES: usize = 32;

/// What a validator has done so far in a round it has not finished.
#[derive(Clone)]
pub struct Journal {
    pub dealer_seed: Zeroizing<[u8; DEALER_SEED_SIZE_BYTES]>,
    /// The dealings this player acknowledged, by dealer.
    pub dealings: BTreeMap<Pk, (DealerPubMsg<MinPk>, DealerPrivMsg)>,
    /// This dealer's signed log, once signed.
    pub log: Option<SignedDealerLog<MinPk, Pk>>,
}

pub fn journal_path(dir: &Path, round: u64) -> PathBuf {
    dir.join(format!("round-{round}.journal"))
}

/// The HPKE `info` of a journal's secrets: chain and round, so a journal moved to another
/// chain or round does not open.
fn seal_info(chain_id: &ChainId, round: u64) -> Vec<u8> {
    format!("medchain/dkg-journal/v1/chain/{chain_id}/epoch/{round}").into_bytes()
}

fn participants_max() -> NonZeroU32 {
    NonZeroU32::new(DKG_PARTICIPANTS_MAX).expect("the ledger admits at least one validator")
}

/// The secrets before sealing: the seed and one share per acknowledged dealing, in dealer order.
fn secrets_size_max_bytes() -> usize {
    DEALER_SEED_SIZE_BYTES
        + DKG_PARTICIPANTS_MAX as usize * <DealerPrivMsg as commonware_codec::FixedSize>::SIZE
}

fn sealed_size_max_bytes() -> usize {
    secrets_size_max_bytes() + SEAL_OVERHEAD_BYTES
}

/// The public part: commitments by dealer, and the signed log.
struct Public {
    commitments: BTreeMap<Pk, DealerPubMsg<MinPk>>,
    log: Option<SignedDealerLog<MinPk, Pk>>,
}

impl Write for Public {
    fn write(&self, buf: &mut impl BufMut) {
        self.commitments.write(buf);
        self.log.write(buf);
    }
}

impl EncodeSize for Public {
    fn encode_size(&self) -> usize {
        self.commitments.encode_size() + self.log.encode_size()
    }
}

impl Read for Public {
    type Cfg = NonZeroU32;

    fn read_cfg(buf: &mut impl Buf, max: &NonZeroU32) -> Result<Self, Error> {
        let dealers = RangeCfg::new(0..=max.get() as usize);
        Ok(Self {
            commitments: BTreeMap::read_cfg(buf, &(dealers, ((), *max)))?,
            log: Option::<SignedDealerLog<MinPk, Pk>>::read_cfg(buf, max)?,
        })
    }
}

/// Largest journal file; longer files are refused unread.
fn file_size_max_bytes() -> u64 {
    let max = participants_max();
    let commitments = max.get() as usize
        * (<Pk as commonware_codec::FixedSize>::SIZE + DealerPubMsg::<MinPk>::max_encode_size(max));
    let log = SignedDealerLog::<MinPk, Pk>::max_encode_size(max);
    // 16 bytes cover the length prefixes and the log's presence byte.
    (16 + commitments + log + sealed_size_max_bytes()) as u64
}

impl Journal {
    /// A journal for a round this dealer is about to start, with a fresh seed.
    pub fn fresh(rng: &mut impl rand::CryptoRng) -> Self {
        let mut seed = Zeroizing::new([0u8; DEALER_SEED_SIZE_BYTES]);
        rng.fill_bytes(seed.as_mut());
        Self {
            dealer_seed: seed,
            dealings: BTreeMap::new(),
            log: None,
        }
    }

    /// The generator this dealer's dealing is drawn from: the same seed gives the same dealing.
    pub fn dealer_rng(&self) -> SeededRng {
        medchain_crypto::rng::seeded(*self.dealer_seed)
    }

    /// Writes the journal durably; a crash leaves the previous version or this one.
    pub fn store(
        &self,
        rng: &mut impl rand::CryptoRng,
        dir: &Path,
        chain_id: &ChainId,
        round: u64,
        recipient: &EncryptionPublicKey,
    ) -> Result<(), SealedError> {
        let public = Public {
            commitments: self
                .dealings
                .iter()
                .map(|(dealer, (public, _))| (dealer.clone(), public.clone()))
                .collect(),
            log: self.log.clone(),
        };
        let aad = public.encode();
        let mut secrets = Zeroizing::new(Vec::with_capacity(secrets_size_max_bytes()));
        secrets.extend_from_slice(self.dealer_seed.as_ref());
        for (_, private) in self.dealings.values() {
            secrets.extend_from_slice(&Zeroizing::new(private.encode().to_vec()));
        }
        let sealed = seal_to(rng, recipient, &seal_info(chain_id, round), &aad, &secrets)
            .expect("the seed and one share per validator are far below the sealing limit");
        let mut file = aad.to_vec();
        sealed.write(&mut file);
        write_durably(dir, &journal_path(dir, round), &file)
    }

    /// Reads back the journal of an unfinished round, `None` if this node never started it.
    pub fn load(
        dir: &Path,
        chain_id: &ChainId,
        round: u64,
        secret: &EncryptionSecretKey,
    ) -> Result<Option<Self>, SealedError> {
        let path = journal_path(dir, round);
        let corrupt = |reason: String| SealedError::Corrupt {
            path: path.clone(),
            reason,
        };
        let Some(bytes) = read_bounded(&path, file_size_max_bytes())? else {
            return Ok(None);
        };
        let mut buf = commonware_codec::Copying(bytes.as_slice());
        let public = Public::read_cfg(&mut buf, &participants_max())
            .map_err(|e| corrupt(format!("its public part does not decode: {e}")))?;
        let (aad, rest) = bytes.split_at(bytes.len() - buf.0.len());
        let sealed = Vec::<u8>::decode_cfg(
            commonware_codec::Copying(rest),
            &(RangeCfg::new(0..=sealed_size_max_bytes()), ()),
        )
        .map_err(|e| corrupt(format!("its sealed part does not decode: {e}")))?;
        let secrets = open_with(secret, &seal_info(chain_id, round), aad, &sealed)
            .map_err(|e| corrupt(format!("its secrets do not open with this node's key: {e}")))?;
        let share_size = <DealerPrivMsg as commonware_codec::FixedSize>::SIZE;
        let expected = DEALER_SEED_SIZE_BYTES + public.commitments.len() * share_size;
        if secrets.len() != expected {
            return Err(corrupt(format!(
                "its secrets are {} bytes where its {} dealings need {expected}",
                secrets.len(),
                public.commitments.len()
            )));
        }
        let mut dealer_seed = Zeroizing::new([0u8; DEALER_SEED_SIZE_BYTES]);
        dealer_seed.copy_from_slice(&secrets[..DEALER_SEED_SIZE_BYTES]);
        let mut dealings = BTreeMap::new();
        for ((dealer, public), share) in public
            .commitments
            .into_iter()
            .zip(secrets[DEALER_SEED_SIZE_BYTES..].chunks_exact(share_size))
        {
            let private = DealerPrivMsg::decode(commonware_codec::Copying(share))
                .map_err(|e| corrupt(format!("a share does not decode: {e}")))?;
            dealings.insert(dealer, (public, private));
        }
        Ok(Some(Self {
            dealer_seed,
            dealings,
            log: public.log,
        }))
    }

    /// Removes the journal of a finished round.
    pub fn remove(dir: &Path, round: u64) -> Result<(), SealedError> {
        let path = journal_path(dir, round);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(SealedError::Io { path, source }),
        }
    }
}
