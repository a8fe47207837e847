//! Review: the consortium's auditors work through the break-glass review queue. Every permitted
//! ETREAT read is queued by [`crate::access`]; an active auditor (of any institution: the
//! regulator reviews all of them) records one finding per item, and a finding is final.

use crate::entries::{Review, ReviewItem};
use crate::error::TxError;
use crate::exec::{Call, Outcome};
use crate::store::Store;
use crate::{keys, rw};
use medchain_types::{ReviewFinding, Role};

pub(crate) async fn review<S: Store>(
    store: &mut S,
    call: &Call<'_>,
    item: u64,
    finding: ReviewFinding,
    note: Option<&str>,
) -> Result<Outcome, TxError> {
    let auditor = rw::active_member_with_role(
        store,
        call.sender,
        Role::Auditor,
        "review break-glass reads",
    )
    .await?;
    let key = keys::review_item(item);
    let mut queued: ReviewItem = rw::read(store, &key, "review_queue")
        .await?
        .ok_or_else(|| {
            TxError::NotAuthorized(format!(
                "the review queue has no item {item}; list it with `medchain audit review`"
            ))
        })?;
    if let Some(done) = &queued.review {
        return Err(TxError::NotAuthorized(format!(
            "review item {item} was already reviewed by {} at height {} ({:?}); a finding is final",
            done.auditor, done.height, done.finding
        )));
    }
    queued.review = Some(Review {
        auditor: auditor.account,
        finding,
        note: note.map(str::to_owned),
        height: call.env.height,
    });
    rw::write(store, key, &queued);
    Ok(Outcome::BreakGlassReviewed { item, finding })
}
