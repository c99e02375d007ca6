//! Leases: how long a worker holds a session, and how a lost lease is
//! fenced.

use std::time::Duration;

use super::failure::{Check, ConformanceFailure};
use super::fixtures::{due, next, Fixture};
use crate::store::{Acquired, Claimed, Lease, SessionKey, SessionStore, WorkerId};
use crate::time::Timestamp;
use crate::PortingSession;

const MINUTE: Duration = Duration::from_secs(60);

/// The one session a claim of `case` must have taken: `session`, as
/// stored, leased to `worker`.
fn only(
    f: &Fixture,
    case: &'static str,
    claimed: Vec<Claimed>,
    session: &PortingSession,
    worker: &WorkerId,
) -> Result<Lease, ConformanceFailure> {
    let keys: Vec<&SessionKey> = claimed.iter().map(|c| c.lease().key()).collect();
    let detail = format!(
        "claimed {keys:?}, expected only {}",
        SessionKey::of(session)
    );
    let mut claimed = claimed.into_iter();
    match (claimed.next(), claimed.next()) {
        (Some(one), None) => {
            let (got, lease) = one.into_parts();
            f.ensure(&got == session && lease.worker() == worker, case, || {
                format!("claimed {got:?} under {lease:?}, expected {session:?} for {worker}")
            })?;
            Ok(lease)
        }
        _ => Err(f.fail(case, detail)),
    }
}

/// A claim of `case` that must take nothing (of this check's sessions:
/// the others are parked).
fn none(f: &Fixture, case: &'static str, claimed: &[Claimed]) -> Result<(), ConformanceFailure> {
    f.ensure(claimed.is_empty(), case, || {
        let keys: Vec<&SessionKey> = claimed.iter().map(|c| c.lease().key()).collect();
        format!("claimed {keys:?}")
    })
}

fn ms(at: Timestamp, ms: u64) -> Timestamp {
    at.saturating_add(Duration::from_millis(ms))
}

pub(super) async fn lease_lifecycle(
    a: &dyn SessionStore,
    b: &dyn SessionStore,
) -> Result<(), ConformanceFailure> {
    let f = Fixture::new(Check::LeaseLifecycle, a).await?;
    let (w1, w2, w3) = (
        WorkerId::new("conformance-1"),
        WorkerId::new("conformance-2"),
        WorkerId::new("conformance-3"),
    );
    let s1 = f.saved(a, 1, None).await?;
    let t = f.minutes(10);

    let case = "a claim leases the session until now + lease_for";
    let l1 = only(
        &f,
        case,
        f.store(case, a.claim(&w1, 10, t, MINUTE, None).await)?,
        &s1,
        &w1,
    )?;
    f.ensure(l1.until() == ms(t, 60_000), case, || format!("{l1:?}"))?;
    let case = "a live lease keeps other workers out (to its last millisecond)";
    none(
        &f,
        case,
        &f.store(case, b.claim(&w2, 10, ms(t, 59_999), MINUTE, None).await)?,
    )?;

    let case = "renew extends the lease to now + lease_for, same token";
    let l1 = f.store(case, b.renew(&l1, ms(t, 30_000), MINUTE).await)?;
    f.ensure(
        l1.until() == ms(t, 90_000) && l1.worker() == &w1 && l1.key() == &SessionKey::of(&s1),
        case,
        || format!("renewed: {l1:?}"),
    )?;
    none(
        &f,
        case,
        &f.store(case, b.claim(&w2, 10, ms(t, 60_000), MINUTE, None).await)?,
    )?;

    let case = "a lapsed lease (at its until) is taken over with a greater token";
    let l2 = only(
        &f,
        case,
        f.store(case, b.claim(&w2, 10, ms(t, 90_000), MINUTE, None).await)?,
        &s1,
        &w2,
    )?;
    f.ensure(l2.token() > l1.token(), case, || {
        format!("old {l1:?}, new {l2:?}")
    })?;

    let case = "a save under the old lease after the take-over is Fenced naming the new holder";
    let s2 = next(due(s1.clone(), Some(f.minutes(5))));
    f.fenced(
        case,
        a.save(&s2, Some(&l1), ms(t, 91_000)).await,
        Some(&l2.holder()),
    )?;
    let case = "a renewal of the old lease after the take-over is Fenced naming the new holder";
    f.fenced(
        case,
        a.renew(&l1, ms(t, 91_000), MINUTE).await,
        Some(&l2.holder()),
    )?;
    let case = "fenced writes write nothing";
    let loaded = f.store(case, b.load(&SessionKey::of(&s1)).await)?;
    f.ensure(loaded.as_ref() == Some(&s1), case, || {
        format!("loaded {loaded:?}")
    })?;

    let case = "releasing a lost lease does nothing";
    f.store(case, a.release(&l1).await)?;
    none(
        &f,
        case,
        &f.store(case, a.claim(&w3, 10, ms(t, 100_000), MINUTE, None).await)?,
    )?;
    let case = "the holder saves under its lease, and keeps it";
    f.store(case, b.save(&s2, Some(&l2), ms(t, 100_000)).await)?;
    none(
        &f,
        case,
        &f.store(case, a.claim(&w3, 10, ms(t, 101_000), MINUTE, None).await)?,
    )?;

    let case = "release frees the session at once";
    f.store(case, a.release(&l2).await)?;
    let case = "a save under a released lease is Fenced, naming nobody";
    let s3 = next(due(s2.clone(), Some(f.minutes(31))));
    f.fenced(case, b.save(&s3, Some(&l2), ms(t, 102_000)).await, None)?;
    let case = "a renewal of a released lease is Fenced, naming nobody";
    f.fenced(case, b.renew(&l2, ms(t, 102_000), MINUTE).await, None)?;
    let case = "a released session is claimed at once, with a greater token";
    let l3 = only(
        &f,
        case,
        f.store(case, b.claim(&w3, 10, ms(t, 102_000), MINUTE, None).await)?,
        &s2,
        &w3,
    )?;
    f.ensure(l3.token() > l2.token(), case, || {
        format!("old {l2:?}, new {l3:?}")
    })?;

    let case = "a lapsed lease nobody took over is still the store's: it renews and saves";
    let l3 = f.store(case, a.renew(&l3, ms(t, 200_000), MINUTE).await)?;
    f.ensure(l3.until() == ms(t, 260_000), case, || {
        format!("renewed: {l3:?}")
    })?;
    f.store(case, a.save(&s3, Some(&l3), ms(t, 200_000)).await)?;
    f.store(case, b.release(&l3).await)?;
    f.park(a).await
}

pub(super) async fn fencing(
    a: &dyn SessionStore,
    b: &dyn SessionStore,
) -> Result<(), ConformanceFailure> {
    let f = Fixture::new(Check::Fencing, a).await?;
    let (w1, w2, w3) = (
        WorkerId::new("conformance-1"),
        WorkerId::new("conformance-2"),
        WorkerId::new("conformance-3"),
    );
    let s1 = f.saved(a, 1, None).await?;
    let key = SessionKey::of(&s1);
    let t = f.minutes(10);
    let case = "acquire leases a stored, unleased session";
    let l1 = match f.store(case, a.acquire(&s1, &w1, t, MINUTE).await)? {
        Acquired::Claimed(claimed) => claimed.into_parts().1,
        other => return Err(f.fail(case, format!("{other:?}"))),
    };

    let case = "a save without a lease, while another worker holds a live one, is Fenced naming it";
    let s2 = next(due(s1.clone(), Some(f.minutes(15))));
    f.fenced(
        case,
        b.save(&s2, None, ms(t, 1_000)).await,
        Some(&l1.holder()),
    )?;
    f.fenced(
        case,
        b.save(&s2, None, ms(t, 59_999)).await,
        Some(&l1.holder()),
    )?;
    let case = "a save without a lease is allowed once the lease lapsed";
    f.store(case, b.save(&s2, None, ms(t, 60_000)).await)?;
    let case = "the lapsed holder's save of the same revision is then refused";
    let late = next(due(s1.clone(), Some(f.minutes(41))));
    match a.save(&late, Some(&l1), ms(t, 61_000)).await {
        Err(e) if e.is_superseded() => {}
        other => return Err(f.fail(case, format!("expected Conflict or Fenced, got {other:?}"))),
    }

    let t2 = f.minutes(20);
    let case = "a claim leases the session";
    let claimed = f.store(case, b.claim(&w2, 10, t2, MINUTE, None).await)?;
    let Some(l2) = claimed.first().map(|c| c.lease().clone()) else {
        return Err(f.fail(case, "nothing was claimed"));
    };
    let s3 = next(due(s2.clone(), Some(f.minutes(42))));
    let case = "a lease with the holder's worker but another token writes nothing";
    let forged = Lease::new(
        key.clone(),
        w2.clone(),
        l2.token().saturating_add(1),
        l2.until(),
    );
    f.fenced(
        case,
        a.save(&s3, Some(&forged), t2).await,
        Some(&l2.holder()),
    )?;
    let case = "a lease with the holder's token but another worker writes nothing";
    let forged = Lease::new(key.clone(), w3.clone(), l2.token(), l2.until());
    f.fenced(
        case,
        a.save(&s3, Some(&forged), t2).await,
        Some(&l2.holder()),
    )?;
    let case = "a lease the store never gave does not renew";
    f.fenced(case, a.renew(&forged, t2, MINUTE).await, Some(&l2.holder()))?;
    let case = "a lease of another session does not write this one";
    let other = f.saved(a, 2, None).await?;
    let other2 = next(due(other.clone(), Some(f.minutes(43))));
    f.fenced_any(case, b.save(&other2, Some(&l2), t2).await)?;
    let case = "a lease on a session never stored writes nothing";
    let never = next(f.session(3)?);
    let ghost = Lease::new(SessionKey::of(&never), w2.clone(), 1, l2.until());
    f.fenced(case, b.save(&never, Some(&ghost), t2).await, None)?;
    let loaded = f.store(case, a.load(&SessionKey::of(&never)).await)?;
    f.ensure(loaded.is_none(), case, || format!("loaded {loaded:?}"))?;
    let case = "fenced saves write nothing";
    let loaded = f.store(case, a.load(&key).await)?;
    f.ensure(loaded.as_ref() == Some(&s2), case, || {
        format!("loaded {loaded:?}")
    })?;
    let case = "the holder's own save goes through";
    f.store(case, a.save(&s3, Some(&l2), t2).await)?;
    match f.store(case, a.load(&key).await)? {
        Some(loaded) if loaded == s3 => {}
        loaded => return Err(f.fail(case, format!("saved {s3:?}, loaded {loaded:?}"))),
    }
    f.store(case, b.release(&l2).await)?;
    f.park(a).await
}
