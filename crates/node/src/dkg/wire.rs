//! The DKG channel's messages and their bounded codec. Every message names the round it
//! belongs to, so a message of another round is recognised and dropped, never mixed in.

use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error, FixedSize, Read, ReadExt as _, Write};
use commonware_cryptography::bls12381::{
    dkg::feldman_desmedt::{DealerPrivMsg, DealerPubMsg, PlayerAck, SignedDealerLog},
    primitives::variant::MinPk,
};
use commonware_cryptography::ed25519;
use medchain_types::limits;
use std::num::NonZeroU32;

/// Participants one round may have: one per validator, as many as the ledger admits.
pub const DKG_PARTICIPANTS_MAX: u32 = limits::VALIDATORS_MAX as u32;

const TAG_DEALING: u8 = 0;
const TAG_ACK: u8 = 1;
const TAG_LOG: u8 = 2;
const TAG_LOG_REQUEST: u8 = 3;

/// One message between two validators on the DKG channel.
#[derive(Clone)]
pub enum DkgMessage {
    /// Dealer to one player: the dealer's public commitment and that player's private share
    /// (the authenticated p2p channel encrypts it in transit).
    Dealing {
        round: u64,
        public: DealerPubMsg<MinPk>,
        private: DealerPrivMsg,
    },
    /// Player to dealer: the signed acknowledgement of a dealing that checked out.
    Ack {
        round: u64,
        ack: PlayerAck<ed25519::PublicKey>,
    },
    /// Dealer to everyone: its signed transcript. `reply` asks the recipient to answer with its
    /// own log (the sender lacks it); an answer never asks back, so two nodes do not ping-pong.
    Log {
        round: u64,
        log: Box<SignedDealerLog<MinPk, ed25519::PublicKey>>,
        reply: bool,
    },
    /// Player to dealer: a player with no log of its own to offer (it does not deal) asks for
    /// the dealer's log; the dealer answers with it once signed.
    LogRequest { round: u64 },
}

impl DkgMessage {
    pub fn round(&self) -> u64 {
        match self {
            Self::Dealing { round, .. }
            | Self::Ack { round, .. }
            | Self::Log { round, .. }
            | Self::LogRequest { round } => *round,
        }
    }

    /// Decodes exactly one message of at most [`message_size_max_bytes`], refusing anything
    /// longer before parsing it.
    pub fn decode_bounded(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() > message_size_max_bytes() {
            return Err(Error::InvalidLength(bytes.len()));
        }
        use commonware_codec::Decode as _;
        Self::decode_cfg(commonware_codec::Copying(bytes), &participants_max())
    }
}

fn participants_max() -> NonZeroU32 {
    NonZeroU32::new(DKG_PARTICIPANTS_MAX).expect("the ledger admits at least one validator")
}

/// The largest message a round of [`DKG_PARTICIPANTS_MAX`] participants sends: a signed log
/// (a commitment of 2f+1 points and one ack or reveal per player) dominates.
pub fn message_size_max_bytes() -> usize {
    let max = participants_max();
    let header = u8::SIZE + u64::SIZE;
    let dealing = DealerPubMsg::<MinPk>::max_encode_size(max) + DealerPrivMsg::SIZE;
    let ack = PlayerAck::<ed25519::PublicKey>::SIZE;
    let log = SignedDealerLog::<MinPk, ed25519::PublicKey>::max_encode_size(max) + bool::SIZE;
    header + dealing.max(ack).max(log)
}

impl Write for DkgMessage {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            Self::Dealing {
                round,
                public,
                private,
            } => {
                TAG_DEALING.write(buf);
                round.write(buf);
                public.write(buf);
                private.write(buf);
            }
            Self::Ack { round, ack } => {
                TAG_ACK.write(buf);
                round.write(buf);
                ack.write(buf);
            }
            Self::Log { round, log, reply } => {
                TAG_LOG.write(buf);
                round.write(buf);
                log.write(buf);
                reply.write(buf);
            }
            Self::LogRequest { round } => {
                TAG_LOG_REQUEST.write(buf);
                round.write(buf);
            }
        }
    }
}

impl EncodeSize for DkgMessage {
    fn encode_size(&self) -> usize {
        u8::SIZE
            + u64::SIZE
            + match self {
                Self::Dealing {
                    public, private, ..
                } => public.encode_size() + private.encode_size(),
                Self::Ack { ack, .. } => ack.encode_size(),
                Self::Log { log, reply, .. } => log.encode_size() + reply.encode_size(),
                Self::LogRequest { .. } => 0,
            }
    }
}

impl Read for DkgMessage {
    type Cfg = NonZeroU32;

    fn read_cfg(buf: &mut impl Buf, max: &NonZeroU32) -> Result<Self, Error> {
        let tag = u8::read(buf)?;
        let round = u64::read(buf)?;
        match tag {
            TAG_DEALING => Ok(Self::Dealing {
                round,
                public: DealerPubMsg::read_cfg(buf, max)?,
                private: DealerPrivMsg::read(buf)?,
            }),
            TAG_ACK => Ok(Self::Ack {
                round,
                ack: PlayerAck::read(buf)?,
            }),
            TAG_LOG => Ok(Self::Log {
                round,
                log: Box::new(SignedDealerLog::read_cfg(buf, max)?),
                reply: bool::read(buf)?,
            }),
            TAG_LOG_REQUEST => Ok(Self::LogRequest { round }),
            other => Err(Error::InvalidEnum(other)),
        }
    }
}
