//! Claims: which sessions a worker gets, in what order.

use std::time::Duration;

use super::failure::{Check, ConformanceFailure};
use super::fixtures::{next, registered, rejected, Fixture};
use crate::store::{Acquired, Claimed, SessionKey, SessionStore, WorkerId};
use crate::time::Timestamp;

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// The keys of `claimed`, in order.
fn keys(claimed: &[Claimed]) -> Vec<SessionKey> {
    claimed.iter().map(|c| c.lease().key().clone()).collect()
}

/// `claimed` holds exactly `expected`, in order, each as stored, leased
/// to `worker` until `until`.
fn claimed_exactly(
    f: &Fixture,
    case: &'static str,
    claimed: &[Claimed],
    expected: &[&crate::PortingSession],
    worker: &WorkerId,
    until: Timestamp,
) -> Result<(), ConformanceFailure> {
    let want: Vec<SessionKey> = expected.iter().map(|s| SessionKey::of(s)).collect();
    f.ensure(keys(claimed) == want, case, || {
        format!("claimed {:?}, expected {want:?}", keys(claimed))
    })?;
    for (got, want) in claimed.iter().zip(expected) {
        f.ensure(got.session() == *want, case, || {
            format!("claimed {:?}, stored {want:?}", got.session())
        })?;
        let lease = got.lease();
        f.ensure(
            lease.worker() == worker && lease.until() == until,
            case,
            || format!("lease {lease:?}: expected worker {worker} until {until:?}"),
        )?;
    }
    Ok(())
}

pub(super) async fn claim_selection(
    a: &dyn SessionStore,
    b: &dyn SessionStore,
) -> Result<(), ConformanceFailure> {
    let f = Fixture::new(Check::ClaimSelection, a).await?;
    let t = f.minutes(60);
    let (w1, w2, other) = (
        WorkerId::new("conformance-1"),
        WorkerId::new("conformance-2"),
        WorkerId::new("conformance-other"),
    );
    let now_due = f.saved(a, 1, None).await?;
    let past = f.saved(b, 2, Some(f.minutes(50))).await?;
    let past_too = f.saved(a, 3, Some(f.minutes(50))).await?;
    let future = f.saved(b, 4, Some(f.minutes(120))).await?;
    let finished = next(f.made(registered(f.session(5)?, f.at(0)))?);
    f.store(
        "a registered session saves",
        a.save(&finished, None, f.at(0)).await,
    )?;
    let rejected_one = next(f.made(rejected(f.session(6)?, f.at(0)))?);
    f.store(
        "a rejected session saves",
        b.save(&rejected_one, None, f.at(0)).await,
    )?;
    let leased = f.saved(a, 7, None).await?;
    let case = "acquire leases a stored session";
    let held = f.store(case, b.acquire(&leased, &other, t, DAY).await)?;
    f.ensure(matches!(held, Acquired::Claimed(_)), case, || {
        format!("{held:?}")
    })?;
    let at_now = f.saved(b, 8, Some(t)).await?;

    let case = "limit 0 claims nothing";
    let got = f.store(case, a.claim(&w1, 0, t, DAY, None).await)?;
    f.ensure(got.is_empty(), case, || format!("claimed {:?}", keys(&got)))?;
    let case = "claim takes the due, unfinished, unleased sessions, earliest due first, then by key, up to its limit";
    let first = f.store(case, a.claim(&w1, 2, t, DAY, None).await)?;
    let until = t.saturating_add(DAY);
    claimed_exactly(&f, case, &first, &[&now_due, &past], &w1, until)?;
    let case = "a second claim takes the rest that is due (due exactly now included)";
    let got = f.store(case, b.claim(&w2, 10, t, DAY, None).await)?;
    claimed_exactly(&f, case, &got, &[&past_too, &at_now], &w2, until)?;
    let case = "claimed, finished, leased and future sessions are not claimed";
    let got = f.store(case, a.claim(&w1, 10, t, DAY, None).await)?;
    f.ensure(got.is_empty(), case, || format!("claimed {:?}", keys(&got)))?;

    let case = "a session becomes claimable when it falls due";
    let later = f.minutes(120);
    let got = f.store(case, b.claim(&w2, 10, later, DAY, None).await)?;
    claimed_exactly(&f, case, &got, &[&future], &w2, later.saturating_add(DAY))?;

    let case = "a pass skips every session leased since its first claim, by anyone";
    let Some(first) = first.first() else {
        return Err(f.fail(case, "the first claim's lease is gone"));
    };
    f.store(case, b.release(first.lease()).await)?;
    let never = f.saved(a, 9, None).await?;
    // Leased and given back before the pass begins: the pass may take it.
    let before = f.saved(b, 10, None).await?;
    let at = f.minutes(130);
    let got = f.store(case, a.acquire(&before, &other, at, DAY).await)?;
    let Acquired::Claimed(before_lease) = got else {
        return Err(f.fail(case, format!("acquire of an unleased session: {got:?}")));
    };
    f.store(case, a.release(before_lease.lease()).await)?;
    let pass = f.store(case, a.claim(&w1, 1, at, DAY, None).await)?;
    claimed_exactly(&f, case, &pass, &[&now_due], &w1, at.saturating_add(DAY))?;
    let floor = pass.iter().map(|c| c.lease().token()).min().unwrap_or(0);
    f.ensure(floor > before_lease.lease().token(), case, || {
        format!(
            "tokens must grow store-wide: the pass drew {floor} after {}",
            before_lease.lease().token()
        )
    })?;
    for claimed in &pass {
        f.store(case, a.release(claimed.lease()).await)?;
    }
    // Another worker claims the never-leased one meanwhile and gives it
    // back: the pass has seen neither since its floor.
    let other_pass = f.store(case, b.acquire(&never, &w2, at, DAY).await)?;
    let Acquired::Claimed(other_lease) = other_pass else {
        return Err(f.fail(
            case,
            format!("acquire of an unleased session: {other_pass:?}"),
        ));
    };
    f.store(case, b.release(other_lease.lease()).await)?;
    let got = f.store(case, b.claim(&w1, 10, at, DAY, Some(floor)).await)?;
    claimed_exactly(&f, case, &got, &[&before], &w1, at.saturating_add(DAY))?;
    for claimed in &got {
        f.store(case, a.release(claimed.lease()).await)?;
    }
    let got = f.store(case, a.claim(&w1, 10, at, DAY, Some(floor)).await)?;
    f.ensure(got.is_empty(), case, || format!("claimed {:?}", keys(&got)))?;
    let case = "a new pass claims them all again";
    let at = f.minutes(131);
    let got = f.store(case, b.claim(&w2, 10, at, DAY, None).await)?;
    claimed_exactly(
        &f,
        case,
        &got,
        &[&now_due, &never, &before],
        &w2,
        at.saturating_add(DAY),
    )?;
    f.park(a).await
}
