//! Freshness: a proof is only as current as its block. A node cut off from the consortium (or
//! lying) can serve a genuine, finalized but old state, say from before a consent was revoked;
//! the client refuses a block older than a bound the user sets, measured against the user's own
//! clock. The clock is a parameter: nothing in this crate reads time.

/// The default bound: 30 s of block time behind the user's clock (blocks come every second or
/// faster while the chain is live, empty ones at least every `EMPTY_BLOCK_INTERVAL_MS`).
pub const MAX_STALENESS_DEFAULT_MS: u64 = 30_000;

/// Why a proven value is too old to act on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the node's newest proof is from block {height} at time {}, {} s behind your clock (limit {} s); the node may be partitioned or lying: try another node or pass --max-staleness",
    utc(*block_time_ms),
    behind_ms / 1000,
    max_staleness_ms / 1000
)]
pub struct Stale {
    pub height: u64,
    pub block_time_ms: u64,
    pub behind_ms: u64,
    pub max_staleness_ms: u64,
}

/// Whether the block at `height` with time `block_time_ms` is at most `max_staleness_ms` behind
/// `now_ms` (the user's clock). A block ahead of the clock is fresh (validators bound how far
/// ahead a block may be; a user's clock may lag).
pub fn check_fresh(
    height: u64,
    block_time_ms: u64,
    now_ms: u64,
    max_staleness_ms: u64,
) -> Result<(), Stale> {
    let behind_ms = now_ms.saturating_sub(block_time_ms);
    if behind_ms > max_staleness_ms {
        return Err(Stale {
            height,
            block_time_ms,
            behind_ms,
            max_staleness_ms,
        });
    }
    Ok(())
}

/// `ms` since the Unix epoch as `YYYY-MM-DD HH:MM:SS UTC` (civil-from-days, H. Hinnant).
pub fn utc(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let (h, m, s) = (secs % 86_400 / 3600, secs % 3600 / 60, secs % 60);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {h:02}:{m:02}:{s:02} UTC")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_at_the_bound_is_fresh_and_one_millisecond_more_is_stale() {
        assert_eq!(check_fresh(7, 1_000, 31_000, 30_000), Ok(()));
        let stale = check_fresh(7, 1_000, 31_001, 30_000).unwrap_err();
        assert_eq!(stale.behind_ms, 30_001);
    }

    #[test]
    fn a_block_ahead_of_the_users_clock_is_fresh() {
        assert_eq!(check_fresh(7, 50_000, 10_000, 30_000), Ok(()));
    }

    #[test]
    fn the_stale_error_says_how_far_behind_and_what_to_do() {
        let stale = check_fresh(412, 1_764_612_000_000, 1_764_612_095_000, 30_000).unwrap_err();
        assert_eq!(
            stale.to_string(),
            "the node's newest proof is from block 412 at time 2025-12-01 18:00:00 UTC, 95 s behind your clock (limit 30 s); the node may be partitioned or lying: try another node or pass --max-staleness"
        );
    }

    #[test]
    fn utc_formats_the_epoch_and_a_leap_day() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00 UTC");
    }
}
