//! The ledger's block: a header (parent, height, time, transactions root, state root, state-sync
//! target), the consensus context it was proposed in, and the transactions. Its encoding is the
//! one the consensus engine orders and certifies by digest (SHA-256 of the encoding); the context
//! fields are written exactly as commonware's simplex `Context` writes them (varint epoch, view,
//! leader key, varint parent view, parent digest), which the `consensus` feature's conversions
//! and this crate's conformance tests hold to.
use bytes::BufMut;

use commonware_codec::{
    Buf, Encode, EncodeSize, Error as CodecError, FixedSize, RangeCfg, Read, ReadExt as _, Write,
    varint::UInt,
};
use commonware_cryptography::{Digest as _, Digestible, Hasher, Sha256, ed25519, sha256};
use commonware_storage::mmr::Location;
use commonware_utils::range::NonEmptyRange;
use medchain_types::{
    SignedTransaction,
    codec_util::{read_str, str_encode_size, vec_cfg, write_str},
    limits,
};

/// Largest encoding of a varint `u64`.
const VARINT_U64_SIZE_MAX_BYTES: usize = 10;

fn read_varint(buf: &mut impl Buf) -> Result<u64, CodecError> {
    Ok(UInt::<u64>::read(buf)?.into())
}

/// A consensus round: the epoch (validator set) and the view within it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Round {
    pub epoch: u64,
    pub view: u64,
}

impl Write for Round {
    fn write(&self, buf: &mut impl BufMut) {
        UInt(self.epoch).write(buf);
        UInt(self.view).write(buf);
    }
}

impl EncodeSize for Round {
    fn encode_size(&self) -> usize {
        UInt(self.epoch).encode_size() + UInt(self.view).encode_size()
    }
}

impl Read for Round {
    type Cfg = ();

    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            epoch: read_varint(buf)?,
            view: read_varint(buf)?,
        })
    }
}

/// The consensus context a block was proposed in: its round, the round's leader (the block's
/// proposer), and the view and digest of the block it extends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockContext {
    pub round: Round,
    pub leader: ed25519::PublicKey,
    pub parent_view: u64,
    pub parent_digest: sha256::Digest,
}

impl BlockContext {
    /// The largest encoding of a context.
    pub const SIZE_MAX_BYTES: usize =
        3 * VARINT_U64_SIZE_MAX_BYTES + ed25519::PublicKey::SIZE + sha256::Digest::SIZE;
}

impl Write for BlockContext {
    fn write(&self, buf: &mut impl BufMut) {
        self.round.write(buf);
        self.leader.write(buf);
        UInt(self.parent_view).write(buf);
        self.parent_digest.write(buf);
    }
}

impl EncodeSize for BlockContext {
    fn encode_size(&self) -> usize {
        self.round.encode_size()
            + self.leader.encode_size()
            + UInt(self.parent_view).encode_size()
            + self.parent_digest.encode_size()
    }
}

impl Read for BlockContext {
    type Cfg = ();

    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            round: Round::read(buf)?,
            leader: ed25519::PublicKey::read(buf)?,
            parent_view: read_varint(buf)?,
            parent_digest: sha256::Digest::read(buf)?,
        })
    }
}

/// One validator of an epoch: who signs, and where its peers reach it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RosterEntry {
    pub validator: ed25519::PublicKey,
    pub p2p_address: String,
}

impl Write for RosterEntry {
    fn write(&self, buf: &mut impl BufMut) {
        self.validator.write(buf);
        write_str(&self.p2p_address, buf);
    }
}

impl EncodeSize for RosterEntry {
    fn encode_size(&self) -> usize {
        self.validator.encode_size() + str_encode_size(&self.p2p_address)
    }
}

impl Read for RosterEntry {
    type Cfg = ();

    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            validator: ed25519::PublicKey::read(buf)?,
            p2p_address: read_str(buf, 1, limits::ADDRESS_SIZE_MAX_BYTES)?,
        })
    }
}

/// The largest encoding of one roster entry.
const ROSTER_ENTRY_SIZE_MAX_BYTES: usize =
    ed25519::PublicKey::SIZE + 5 + limits::ADDRESS_SIZE_MAX_BYTES;

/// A finalized or candidate block of the medchain ledger.
///
/// `state_root` is the canonical root of the authenticated state after executing
/// `transactions`; `ops_root` and `ops_range` are the state-sync target of the same state.
/// The last block of an epoch lists in `next_roster` the validators of the next epoch (the
/// state's validator set after the block); every other block leaves it empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub context: BlockContext,
    pub parent: sha256::Digest,
    pub height: u64,
    /// Milliseconds since the Unix epoch, chosen by the proposer and checked by every validator
    /// against the parent (strictly later) and its own clock (bounded drift).
    pub timestamp_ms: u64,
    pub transactions_root: [u8; 32],
    pub state_root: sha256::Digest,
    pub ops_root: sha256::Digest,
    pub ops_range: NonEmptyRange<Location>,
    pub transactions: Vec<SignedTransaction>,
    pub next_roster: Vec<RosterEntry>,
}

impl Block {
    /// The genesis block: height 0, no transactions, committing to the genesis state.
    pub fn genesis(
        timestamp_ms: u64,
        state_root: sha256::Digest,
        ops_root: sha256::Digest,
        ops_range: NonEmptyRange<Location>,
        leader: ed25519::PublicKey,
    ) -> Self {
        Self {
            context: BlockContext {
                round: Round { epoch: 0, view: 0 },
                leader,
                parent_view: 0,
                parent_digest: sha256::Digest::EMPTY,
            },
            parent: sha256::Digest::EMPTY,
            height: 0,
            timestamp_ms,
            transactions_root: medchain_types::transactions_root(&[]),
            state_root,
            ops_root,
            ops_range,
            transactions: Vec::new(),
            next_roster: Vec::new(),
        }
    }

    /// The proposer's public key (the leader of the round the block was proposed in).
    pub fn proposer(&self) -> &ed25519::PublicKey {
        &self.context.leader
    }

    /// The largest encoding of any block the ledger accepts.
    pub fn size_max_bytes() -> usize {
        BlockContext::SIZE_MAX_BYTES
            + 3 * sha256::Digest::SIZE
            + VARINT_U64_SIZE_MAX_BYTES
            + u64::SIZE
            + 32
            + 2 * VARINT_U64_SIZE_MAX_BYTES
            // Vec length prefix (varint) plus the block's byte budget for transactions.
            + 5
            + limits::BLOCK_SIZE_MAX_BYTES
            + 5
            + limits::VALIDATORS_MAX * ROSTER_ENTRY_SIZE_MAX_BYTES
    }

    /// Decodes a block from its canonical encoding given as hex (as the API serves it).
    pub fn from_hex(text: &str) -> Result<Self, String> {
        let bytes = hex::decode(text).map_err(|e| e.to_string())?;
        commonware_codec::DecodeExt::decode(commonware_codec::Copying(bytes.as_slice()))
            .map_err(|e: CodecError| e.to_string())
    }
}

impl Write for Block {
    fn write(&self, buf: &mut impl BufMut) {
        self.context.write(buf);
        self.parent.write(buf);
        UInt(self.height).write(buf);
        self.timestamp_ms.write(buf);
        self.transactions_root.write(buf);
        self.state_root.write(buf);
        self.ops_root.write(buf);
        self.ops_range.write(buf);
        self.transactions.write(buf);
        self.next_roster.write(buf);
    }
}

impl EncodeSize for Block {
    fn encode_size(&self) -> usize {
        self.context.encode_size()
            + self.parent.encode_size()
            + UInt(self.height).encode_size()
            + self.timestamp_ms.encode_size()
            + self.transactions_root.encode_size()
            + self.state_root.encode_size()
            + self.ops_root.encode_size()
            + self.ops_range.encode_size()
            + self.transactions.encode_size()
            + self.next_roster.encode_size()
    }
}

impl Read for Block {
    type Cfg = ();

    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let context = BlockContext::read(buf)?;
        let parent = sha256::Digest::read(buf)?;
        let height = read_varint(buf)?;
        let timestamp_ms = u64::read(buf)?;
        let transactions_root = <[u8; 32]>::read(buf)?;
        let state_root = sha256::Digest::read(buf)?;
        let ops_root = sha256::Digest::read(buf)?;
        let ops_range = NonEmptyRange::<Location>::read(buf)?;
        let range: RangeCfg<usize> = (0..=limits::BLOCK_TRANSACTIONS_MAX).into();
        let transactions = Vec::<SignedTransaction>::read_cfg(buf, &(range, ()))?;
        let next_roster = Vec::<RosterEntry>::read_cfg(buf, &vec_cfg(limits::VALIDATORS_MAX))?;
        Ok(Self {
            context,
            parent,
            height,
            timestamp_ms,
            transactions_root,
            state_root,
            ops_root,
            ops_range,
            transactions,
            next_roster,
        })
    }
}

impl Digestible for Block {
    type Digest = sha256::Digest;

    fn digest(&self) -> sha256::Digest {
        Sha256::hash(&[&self.encode()])
    }
}

/// The engine's view of the block (only the node enables this).
#[cfg(feature = "consensus")]
mod engine {
    use super::{Block, BlockContext, Round};
    use commonware_consensus::{
        Block as ConsensusBlock, BoundedBlock, CertifiableBlock, Heightable,
        simplex::types::Context,
        types::{self, Epoch, Height, View},
    };
    use commonware_cryptography::{ed25519, sha256};

    /// The simplex context type the engine proposes blocks in.
    pub type EngineContext = Context<sha256::Digest, ed25519::PublicKey>;

    impl From<&EngineContext> for BlockContext {
        fn from(context: &EngineContext) -> Self {
            Self {
                round: Round {
                    epoch: context.round.epoch().get(),
                    view: context.round.view().get(),
                },
                leader: context.leader.clone(),
                parent_view: context.parent.0.get(),
                parent_digest: context.parent.1,
            }
        }
    }

    impl From<&BlockContext> for EngineContext {
        fn from(context: &BlockContext) -> Self {
            Self {
                round: types::Round::new(
                    Epoch::new(context.round.epoch),
                    View::new(context.round.view),
                ),
                leader: context.leader.clone(),
                parent: (View::new(context.parent_view), context.parent_digest),
            }
        }
    }

    impl Heightable for Block {
        fn height(&self) -> Height {
            Height::new(self.height)
        }
    }

    impl ConsensusBlock for Block {
        fn parent(&self) -> sha256::Digest {
            self.parent
        }
    }

    impl CertifiableBlock for Block {
        type Context = EngineContext;

        fn context(&self) -> EngineContext {
            EngineContext::from(&self.context)
        }
    }

    impl BoundedBlock for Block {
        fn max_encode_size(_: &()) -> usize {
            Block::size_max_bytes()
        }
    }
}

#[cfg(feature = "consensus")]
pub use engine::EngineContext;

// The bound this crate decodes contexts with covers the engine's own.
#[cfg(test)]
const _: () = assert!(
    BlockContext::SIZE_MAX_BYTES
        >= <commonware_consensus::simplex::types::Context<sha256::Digest, ed25519::PublicKey> as commonware_codec::MaxEncodeSize>::MAX_ENCODE_SIZE
);

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::DecodeExt as _;
    use commonware_cryptography::Signer as _;
    use commonware_utils::non_empty_range;

    fn with_roster(entries: usize) -> Block {
        let mut block = Block::genesis(
            0,
            sha256::Digest::EMPTY,
            sha256::Digest::EMPTY,
            non_empty_range!(Location::new(0), Location::new(1)),
            ed25519::PrivateKey::from_seed(0).public_key(),
        );
        block.next_roster = (0..entries as u64)
            .map(|seed| RosterEntry {
                validator: ed25519::PrivateKey::from_seed(seed).public_key(),
                p2p_address: "127.0.0.1:7100".into(),
            })
            .collect();
        block
    }

    #[test]
    fn a_roster_of_validators_max_decodes_and_one_more_is_refused() {
        let at = with_roster(limits::VALIDATORS_MAX);
        let encoded = at.encode();
        assert!(encoded.len() <= Block::size_max_bytes());
        assert_eq!(Block::decode(encoded).unwrap(), at);
        let over = with_roster(limits::VALIDATORS_MAX + 1).encode();
        assert!(Block::decode(over).is_err());
    }

    #[test]
    fn an_empty_roster_address_is_refused() {
        let mut block = with_roster(1);
        block.next_roster[0].p2p_address.clear();
        assert!(Block::decode(block.encode()).is_err());
    }

    /// The context is written as the engine writes its own, so the digest the engine certifies
    /// is the digest this crate computes.
    #[test]
    fn the_context_encodes_as_the_engines_context() {
        use commonware_consensus::{
            simplex::types::Context,
            types::{Epoch, Round as EngineRound, View},
        };
        let leader = ed25519::PrivateKey::from_seed(3).public_key();
        let parent = Sha256::hash(&[b"parent"]);
        let engine: Context<sha256::Digest, ed25519::PublicKey> = Context {
            round: EngineRound::new(Epoch::new(300), View::new(1 << 40)),
            leader: leader.clone(),
            parent: (View::new(129), parent),
        };
        let ours = BlockContext {
            round: Round {
                epoch: 300,
                view: 1 << 40,
            },
            leader,
            parent_view: 129,
            parent_digest: parent,
        };
        assert_eq!(ours.encode(), engine.encode());
        assert_eq!(BlockContext::decode(engine.encode()).unwrap(), ours);
    }
}
