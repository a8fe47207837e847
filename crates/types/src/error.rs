//! The one error type of this crate: a value that decoded (or deserialised)
//! but breaks a ledger rule that needs no state to check.

use crate::phi_guard::PhiViolation;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValidationError {
    #[error(
        "{limit} exceeded: got {got}, at most {max} allowed; split the request or shorten the value"
    )]
    LimitExceeded {
        limit: &'static str,
        max: u64,
        got: u64,
    },
    #[error(
        "institution id {0:?} is not a slug: use 3 to 32 characters from a-z, 0-9 and '-', starting and ending with a letter or digit, with no date or long number in it"
    )]
    InstitutionId(String),
    #[error(
        "free text looks like it contains a direct identifier ({0}); remove it, the ledger must hold no PHI"
    )]
    DirectIdentifier(#[from] PhiViolation),
    #[error(
        "{0} is a small-order or non-canonically encoded Ed25519 key, which anyone can sign for or which names another key; generate a fresh key"
    )]
    WeakKey(&'static str),
    #[error(
        "the proof of possession of the {0} does not verify: sign the possession message for this chain and account with that key"
    )]
    PossessionProof(&'static str),
    #[error("invalid consent policy: {0}")]
    Policy(&'static str),
    #[error("invalid transaction: {0}")]
    Transaction(&'static str),
    #[error("invalid genesis document: {0}")]
    Genesis(String),
    #[error(
        "{field} {address:?} is not ip:port (e.g. 10.0.0.5:7100 or [2001:db8::5]:7100); host names are refused because each node could resolve them differently"
    )]
    AddressSyntax {
        field: &'static str,
        address: String,
    },
    #[error("{field} {address:?} is not written canonically; write it as {canonical}")]
    AddressNotCanonical {
        field: &'static str,
        address: String,
        canonical: String,
    },
    #[error(
        "{field} {address:?} cannot be dialed (port 0, 0.0.0.0, :: or a multicast ip); give the address other nodes and clients reach the node at"
    )]
    AddressNotDialable {
        field: &'static str,
        address: String,
    },
}

impl ValidationError {
    pub(crate) fn check_len(limit: &'static str, got: usize, max: usize) -> Result<(), Self> {
        if got > max {
            return Err(Self::LimitExceeded {
                limit,
                max: max as u64,
                got: got as u64,
            });
        }
        Ok(())
    }
}
