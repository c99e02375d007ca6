//! Revisions: what is saved loads back, and only `n + 1` saves over `n`.

use std::time::Duration;

use futures_util::future::join;

use super::failure::{Check, ConformanceFailure};
use super::fixtures::{due, next, registered, started, Fixture};
use crate::store::{Acquired, SessionKey, SessionStore, WorkerId};

pub(super) async fn round_trip(
    a: &dyn SessionStore,
    b: &dyn SessionStore,
) -> Result<(), ConformanceFailure> {
    let f = Fixture::new(Check::RoundTrip, a).await?;
    let key = f.key(1)?;
    let case = "a key never saved loads as nothing";
    let loaded = f.store(case, b.load(&key).await)?;
    f.ensure(loaded.is_none(), case, || format!("loaded {loaded:?}"))?;

    let case = "a session saved through one handle loads through the other, with its revision";
    let first = f.saved(a, 1, None).await?;
    let loaded = f.store(case, b.load(&key).await)?;
    f.ensure(loaded.as_ref() == Some(&first), case, || {
        format!("saved revision 1, loaded {loaded:?}")
    })?;

    let case = "a later revision replaces it";
    let second = next(due(
        f.made(started(first, f.minutes(1)))?,
        Some(f.minutes(30)),
    ));
    f.store(case, b.save(&second, None, f.minutes(1)).await)?;
    let loaded = f.store(case, a.load(&key).await)?;
    f.ensure(loaded.as_ref() == Some(&second), case, || {
        format!("saved revision 2 {second:?}, loaded {loaded:?}")
    })?;

    let case = "a finished session round trips, history and all";
    let third = next(f.made(registered(second, f.minutes(2)))?);
    f.store(case, a.save(&third, None, f.minutes(2)).await)?;
    let loaded = f.store(case, b.load(&key).await)?;
    f.ensure(loaded.as_ref() == Some(&third), case, || {
        format!("saved revision 3 {third:?}, loaded {loaded:?}")
    })?;

    let case = "sessions are kept apart by key";
    let other = f.saved(b, 2, Some(f.minutes(5))).await?;
    let loaded_other = f.store(case, a.load(&SessionKey::of(&other)).await)?;
    let loaded = f.store(case, a.load(&key).await)?;
    f.ensure(
        loaded_other.as_ref() == Some(&other) && loaded.as_ref() == Some(&third),
        case,
        || format!("loaded {loaded_other:?} and {loaded:?}"),
    )?;
    f.park(a).await
}

pub(super) async fn revision_conflicts(
    a: &dyn SessionStore,
    b: &dyn SessionStore,
) -> Result<(), ConformanceFailure> {
    let f = Fixture::new(Check::RevisionConflicts, a).await?;
    let now = f.at(0);
    let key = f.key(1)?;
    let never = f.session(1)?;

    let case = "revision 2 where nothing is stored is a conflict with nothing stored";
    let two = next(next(never.clone()));
    f.conflict(case, a.save(&two, None, now).await, None)?;
    let case = "revision 0 (never saved) is a conflict with nothing stored";
    f.conflict(case, a.save(&never, None, now).await, None)?;
    let case = "a refused first save writes nothing";
    let loaded = f.store(case, b.load(&key).await)?;
    f.ensure(loaded.is_none(), case, || format!("loaded {loaded:?}"))?;

    let one = f.saved(a, 1, None).await?;
    let case = "a second revision 1 over a stored 1 is a conflict naming 1";
    let other_one = next(due(f.session(1)?, Some(f.minutes(9))));
    f.conflict(case, b.save(&other_one, None, now).await, Some(1))?;

    let case = "revision n + 1 saves over n";
    let first_two = next(due(one.clone(), Some(f.minutes(1))));
    f.store(case, b.save(&first_two, None, now).await)?;
    let case = "a second save of revision n + 1 is a conflict naming n + 1";
    let second_two = next(due(one.clone(), Some(f.minutes(2))));
    f.conflict(case, a.save(&second_two, None, now).await, Some(2))?;
    let case = "a skipped revision (n + 2 over n) is a conflict naming n";
    let four = next(next(first_two.clone()));
    f.conflict(case, a.save(&four, None, now).await, Some(2))?;
    let case = "refused saves write nothing";
    let loaded = f.store(case, b.load(&key).await)?;
    f.ensure(loaded.as_ref() == Some(&first_two), case, || {
        format!("the first revision 2 was {first_two:?}, loaded {loaded:?}")
    })?;

    let case = "of two concurrent first saves, exactly one wins";
    let x = next(due(f.session(2)?, Some(f.minutes(1))));
    let y = next(due(f.session(2)?, Some(f.minutes(2))));
    let (rx, ry) = join(a.save(&x, None, now), b.save(&y, None, now)).await;
    let winner = match (&rx, &ry) {
        (Ok(()), Err(_)) => {
            f.conflict(case, ry, Some(1))?;
            x
        }
        (Err(_), Ok(())) => {
            f.conflict(case, rx, Some(1))?;
            y
        }
        _ => return Err(f.fail(case, format!("results: {rx:?} and {ry:?}"))),
    };
    let loaded = f.store(case, a.load(&SessionKey::of(&winner)).await)?;
    f.ensure(loaded.as_ref() == Some(&winner), case, || {
        format!("the winner saved {winner:?}, loaded {loaded:?}")
    })?;
    f.park(a).await
}

pub(super) async fn stale_writes(
    a: &dyn SessionStore,
    b: &dyn SessionStore,
) -> Result<(), ConformanceFailure> {
    let f = Fixture::new(Check::StaleWrites, a).await?;
    let now = f.at(0);
    let key = f.key(1)?;
    f.saved(a, 1, None).await?;

    let case = "two writers load the same revision";
    let old = f.store(case, a.load(&key).await)?;
    let fresh = f.store(case, b.load(&key).await)?;
    let (Some(old), Some(fresh)) = (old, fresh) else {
        return Err(f.fail(case, "a saved session did not load"));
    };
    let case = "the first writer's next revision saves";
    let newer = next(f.made(started(fresh, f.minutes(1)))?);
    f.store(case, b.save(&newer, None, now).await)?;
    let case = "the writer holding the old copy cannot overwrite the newer one";
    let stale = next(due(old.clone(), Some(f.minutes(7))));
    f.conflict(case, a.save(&stale, None, now).await, Some(2))?;
    let case = "nor save the stored revision again, nor an older one";
    f.conflict(case, a.save(&newer, None, now).await, Some(2))?;
    f.conflict(case, a.save(&old, None, now).await, Some(2))?;
    let case = "the newer session is still stored";
    let loaded = f.store(case, a.load(&key).await)?;
    f.ensure(loaded.as_ref() == Some(&newer), case, || {
        format!("saved {newer:?}, loaded {loaded:?}")
    })?;
    let case = "the stale writer reloads and saves the next revision";
    let reloaded = f.store(case, a.load(&key).await)?;
    let Some(reloaded) = reloaded else {
        return Err(f.fail(case, "the session did not load"));
    };
    let third = next(due(reloaded, Some(f.minutes(3))));
    f.store(case, a.save(&third, None, now).await)?;

    let case = "a lease does not let an old copy overwrite a newer one";
    let worker = WorkerId::new("conformance-stale");
    let acquired = f.store(
        case,
        b.acquire(&third, &worker, now, Duration::from_secs(600))
            .await,
    )?;
    let Acquired::Claimed(claimed) = acquired else {
        return Err(f.fail(
            case,
            format!("acquire of an unleased session: {acquired:?}"),
        ));
    };
    let (held, lease) = claimed.into_parts();
    let fourth = next(due(held.clone(), Some(f.minutes(4))));
    f.store(case, b.save(&fourth, Some(&lease), now).await)?;
    let late = next(due(held, Some(f.minutes(5))));
    f.conflict(case, a.save(&late, Some(&lease), now).await, Some(4))?;
    f.store(case, a.release(&lease).await)?;
    f.park(a).await
}
