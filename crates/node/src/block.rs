//! The block as the consensus engine sees it: a ledger header, the consensus context it was
//! proposed in, and the transactions. Only this module and `engine` know commonware's types.

use commonware_codec::{
    Buf, Encode, EncodeSize, Error as CodecError, FixedSize, MaxEncodeSize, RangeCfg, Read,
    ReadExt as _, Write,
};
use commonware_consensus::{
    Block as ConsensusBlock, BoundedBlock, CertifiableBlock, Heightable,
    simplex::types::Context,
    types::{Epoch, Height, Round, View},
};
use commonware_cryptography::{Digest as _, Digestible, Hasher, Sha256, ed25519, sha256};
use commonware_runtime::BufMut;
use commonware_storage::mmr::Location;
use commonware_utils::range::NonEmptyRange;
use medchain_types::{
    SignedTransaction,
    codec_util::{read_str, str_encode_size, vec_cfg, write_str},
    limits,
};

/// The consensus context a block was proposed in (round, leader, parent view).
pub type BlockContext = Context<sha256::Digest, ed25519::PublicKey>;

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
    pub height: Height,
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
            context: Context {
                round: Round::new(Epoch::zero(), View::zero()),
                leader,
                parent: (View::zero(), sha256::Digest::EMPTY),
            },
            parent: sha256::Digest::EMPTY,
            height: Height::zero(),
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
}

impl Write for Block {
    fn write(&self, buf: &mut impl BufMut) {
        self.context.write(buf);
        self.parent.write(buf);
        self.height.write(buf);
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
            + self.height.encode_size()
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
        let height = Height::read(buf)?;
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

impl Heightable for Block {
    fn height(&self) -> Height {
        self.height
    }
}

impl ConsensusBlock for Block {
    fn parent(&self) -> sha256::Digest {
        self.parent
    }
}

impl CertifiableBlock for Block {
    type Context = BlockContext;

    fn context(&self) -> BlockContext {
        self.context.clone()
    }
}

impl BoundedBlock for Block {
    fn max_encode_size(_: &()) -> usize {
        BlockContext::MAX_ENCODE_SIZE
            + 3 * sha256::Digest::SIZE
            + Height::MAX_ENCODE_SIZE
            + u64::SIZE
            + 32
            + NonEmptyRange::<Location>::MAX_ENCODE_SIZE
            // Vec length prefix (varint) plus the block's byte budget for transactions.
            + 5
            + limits::BLOCK_SIZE_MAX_BYTES
            + 5
            + limits::VALIDATORS_MAX * ROSTER_ENTRY_SIZE_MAX_BYTES
    }
}

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
        assert!(encoded.len() <= Block::max_encode_size(&()));
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
}
