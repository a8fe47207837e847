//! A finished round on disk: the public output in the clear, this validator's share sealed
//! (HPKE, `medchain_crypto::keys::hpke`) to its own X25519 key with an `info` naming the chain
//! and the round, and its signed dealer log so it can still answer peers after a restart. The
//! output is the sealing's associated data, so a share cannot be paired with another output.

use bytes::BufMut;
use commonware_codec::{
    Buf, Decode as _, DecodeExt as _, Encode as _, EncodeSize, Error, RangeCfg, Read, Write,
};
use commonware_cryptography::bls12381::{
    dkg::feldman_desmedt::{Output, SignedDealerLog},
    primitives::{group::Share, sharing::ModeVersion, variant::MinPk},
};
use commonware_cryptography::ed25519;
use medchain_crypto::keys::hpke::{
    EncryptionPublicKey, EncryptionSecretKey, SEAL_OVERHEAD_BYTES, open_with, seal_to,
};
use medchain_types::ChainId;
use rand::CryptoRng;
use std::io::Write as _;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

use super::wire::DKG_PARTICIPANTS_MAX;

/// Encoded size of a sealed share: the share (index and scalar) plus HPKE's overhead.
const SEALED_SHARE_SIZE_MAX_BYTES: usize = 4 + 32 + SEAL_OVERHEAD_BYTES;
/// Largest round file: output, log and share, each bounded by the participants limit. Read
/// files longer than this are refused unread.
pub const ROUND_FILE_SIZE_MAX_BYTES: u64 = 1024 * 1024;

/// What a validator keeps of a finished round.
pub struct FinishedRound {
    pub output: Output<MinPk, ed25519::PublicKey>,
    pub share: Share,
    /// This validator's own signed log, served to peers that still lack it.
    pub log: Option<SignedDealerLog<MinPk, ed25519::PublicKey>>,
}

/// Why a round file could not be written or read back.
#[derive(Debug, thiserror::Error)]
pub enum SealedError {
    #[error(
        "the DKG round file {path} cannot be accessed: {source}; check storage_dir and its permissions"
    )]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the DKG round file {path} is corrupt ({reason}); restore it from a backup, or remove it and have the consortium run a new round"
    )]
    Corrupt { path: PathBuf, reason: String },
}

/// The HPKE `info` of a share: chain and round, so a share file moved to another chain or
/// round does not open.
fn seal_info(chain_id: &ChainId, round: u64) -> Vec<u8> {
    format!("medchain/dkg-share/v1/chain/{chain_id}/epoch/{round}").into_bytes()
}

pub fn round_path(dir: &Path, round: u64) -> PathBuf {
    dir.join(format!("round-{round}.dkg"))
}

struct RoundFile {
    output: Output<MinPk, ed25519::PublicKey>,
    sealed_share: Vec<u8>,
    log: Option<SignedDealerLog<MinPk, ed25519::PublicKey>>,
}

impl Write for RoundFile {
    fn write(&self, buf: &mut impl BufMut) {
        self.output.write(buf);
        self.sealed_share.write(buf);
        self.log.write(buf);
    }
}

impl EncodeSize for RoundFile {
    fn encode_size(&self) -> usize {
        self.output.encode_size() + self.sealed_share.encode_size() + self.log.encode_size()
    }
}

impl Read for RoundFile {
    type Cfg = NonZeroU32;

    fn read_cfg(buf: &mut impl Buf, max: &NonZeroU32) -> Result<Self, Error> {
        Ok(Self {
            output: Output::read_cfg(buf, &(*max, ModeVersion::v0()))?,
            sealed_share: Vec::<u8>::read_cfg(
                buf,
                &(RangeCfg::new(0..=SEALED_SHARE_SIZE_MAX_BYTES), ()),
            )?,
            log: Option::<SignedDealerLog<MinPk, ed25519::PublicKey>>::read_cfg(buf, max)?,
        })
    }
}

/// Seals the share and writes the round durably (temporary file, fsync, rename, fsync of the
/// directory): a crash leaves either no file or the whole round.
pub fn store(
    rng: &mut impl CryptoRng,
    dir: &Path,
    chain_id: &ChainId,
    round: u64,
    recipient: &EncryptionPublicKey,
    finished: &FinishedRound,
) -> Result<(), SealedError> {
    let path = round_path(dir, round);
    let plaintext = zeroize::Zeroizing::new(finished.share.encode().to_vec());
    let aad = finished.output.encode();
    let sealed_share = seal_to(
        rng,
        recipient,
        &seal_info(chain_id, round),
        &aad,
        &plaintext,
    )
    .expect("a share is far below the sealing limit");
    let file = RoundFile {
        output: finished.output.clone(),
        sealed_share,
        log: finished.log.clone(),
    };
    write_durably(dir, &path, &file.encode())
}

/// Replaces `path` in `dir` with `bytes` (temporary file, fsync, rename, fsync of the
/// directory): a crash leaves the old file or the new one, never a torn one.
pub(super) fn write_durably(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), SealedError> {
    let io = |source| SealedError::Io {
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut staged = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    staged.write_all(bytes).map_err(io)?;
    staged.as_file().sync_all().map_err(io)?;
    staged.persist(path).map_err(|e| io(e.error))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io)
}

/// The bytes of `path`, `None` if it does not exist; a file over `limit` bytes is refused
/// unread.
pub(super) fn read_bounded(path: &Path, limit: u64) -> Result<Option<Vec<u8>>, SealedError> {
    let io = |source| SealedError::Io {
        path: path.to_path_buf(),
        source,
    };
    let size = match std::fs::metadata(path) {
        Ok(meta) => meta.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    if size > limit {
        return Err(SealedError::Corrupt {
            path: path.to_path_buf(),
            reason: format!("it is {size} bytes, over the {limit}-byte limit"),
        });
    }
    std::fs::read(path).map(Some).map_err(io)
}

/// Reads back a finished round, `None` if this node never finished it. The share must open
/// with this node's key and match the public polynomial at its index.
pub fn load(
    dir: &Path,
    chain_id: &ChainId,
    round: u64,
    secret: &EncryptionSecretKey,
) -> Result<Option<FinishedRound>, SealedError> {
    let path = round_path(dir, round);
    let corrupt = |reason: String| SealedError::Corrupt {
        path: path.clone(),
        reason,
    };
    let Some(bytes) = read_bounded(&path, ROUND_FILE_SIZE_MAX_BYTES)? else {
        return Ok(None);
    };
    let max = NonZeroU32::new(DKG_PARTICIPANTS_MAX).expect("at least one participant");
    let file = RoundFile::decode_cfg(commonware_codec::Copying(bytes.as_slice()), &max)
        .map_err(|e| corrupt(format!("it does not decode: {e}")))?;
    let aad = file.output.encode();
    let plaintext = open_with(
        secret,
        &seal_info(chain_id, round),
        &aad,
        &file.sealed_share,
    )
    .map_err(|e| corrupt(format!("the share does not open with this node's key: {e}")))?;
    let share = Share::decode(commonware_codec::Copying(plaintext.as_slice()))
        .map_err(|e| corrupt(format!("the share does not decode: {e}")))?;
    let expected = file
        .output
        .public()
        .partial_public(share.index)
        .map_err(|e| corrupt(format!("the share's index is not in the output: {e}")))?;
    if share.public::<MinPk>() != expected {
        return Err(corrupt(
            "the share does not match the public polynomial".to_string(),
        ));
    }
    Ok(Some(FinishedRound {
        output: file.output,
        share,
        log: file.log,
    }))
}
