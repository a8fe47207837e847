//! The CLI's side of sharing: the flows live in `medchain_client::sharing`; this module only
//! reports what they did in the terminal.

use anyhow::{Context as _, Result, bail};
use medchain_client::Client;
use medchain_crypto::{envelope, keys::PseudonymKeys};
use medchain_state::{AccessLogEntry, RecordEntry, ValidatorSet};
use medchain_verify::Verified;

pub use medchain_client::sharing::retry_while_behind;

/// The ledger's current validators, proven, to seal fragments to.
pub async fn validators(client: &Client) -> Result<Verified<ValidatorSet>> {
    client
        .validators()
        .await
        .context("cannot verify the validator set the fragments are sealed to")
}

/// The data key of `record` for the grantee holding `keys`, through threshold re-encryption of
/// the permit `entry` (a proven entry of the patient's access log).
pub async fn grantee_data_key(
    client: &Client,
    keys: &PseudonymKeys,
    record: &RecordEntry,
    entry: &AccessLogEntry,
) -> Result<envelope::DataKey> {
    let Some(consent) = entry.consent else {
        bail!(
            "the read was permitted without a consent ({:?}), so no validator holds a key fragment for it; only reads under a patient's consent (or break-glass, through your institution's emergency service) release keys",
            entry.reason
        );
    };
    Ok(client
        .reencrypted_data_key(keys, record, entry, &consent)
        .await?)
}
