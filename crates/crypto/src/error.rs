//! The crate-boundary error: each module keeps its own precise error enum and this one wraps
//! them, so callers that do not care which part failed can use a single `?`.

use thiserror::Error;

use crate::{
    analytics::AnalyticsError, envelope::EnvelopeError, keys::KeyError, keys::file::KeyFileError,
    ring::RingError,
};

/// Any error returned by `medchain-crypto`.
#[derive(Debug, Error)]
pub enum Error {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    #[error(transparent)]
    Ring(#[from] RingError),
    #[error(transparent)]
    Analytics(#[from] AnalyticsError),
}
