//! `acquire`: leasing one session by key, stored or new.

use std::time::Duration;

use super::failure::{Check, ConformanceFailure};
use super::fixtures::{due, next, registered, Fixture};
use crate::store::{Acquired, Claimed, Holder, SessionKey, SessionStore, WorkerId};
use crate::time::Timestamp;

const MINUTE: Duration = Duration::from_secs(60);

fn claimed(
    f: &Fixture,
    case: &'static str,
    acquired: Acquired,
) -> Result<Claimed, ConformanceFailure> {
    match acquired {
        Acquired::Claimed(claimed) => Ok(claimed),
        other => Err(f.fail(case, format!("expected it leased, got {other:?}"))),
    }
}

fn held(
    f: &Fixture,
    case: &'static str,
    acquired: Acquired,
    holder: &Holder,
) -> Result<(), ConformanceFailure> {
    match acquired {
        Acquired::Held(got) if &got == holder => Ok(()),
        other => Err(f.fail(case, format!("expected Held by {holder:?}, got {other:?}"))),
    }
}

fn ms(at: Timestamp, ms: u64) -> Timestamp {
    at.saturating_add(Duration::from_millis(ms))
}

pub(super) async fn acquire(
    a: &dyn SessionStore,
    b: &dyn SessionStore,
) -> Result<(), ConformanceFailure> {
    let f = Fixture::new(Check::Acquire, a).await?;
    let (w1, w2, w3) = (
        WorkerId::new("conformance-1"),
        WorkerId::new("conformance-2"),
        WorkerId::new("conformance-3"),
    );
    let t = f.minutes(10);
    let s1 = next(f.session(1)?);
    let key = SessionKey::of(&s1);

    let case = "an absent session is stored as revision 1 and leased until now + lease_for";
    let (got, l1) = claimed(
        &f,
        case,
        f.store(case, a.acquire(&s1, &w1, t, MINUTE).await)?,
    )?
    .into_parts();
    f.ensure(
        got == s1 && l1.key() == &key && l1.worker() == &w1 && l1.until() == ms(t, 60_000),
        case,
        || format!("got {got:?} under {l1:?}"),
    )?;
    let loaded = f.store(case, b.load(&key).await)?;
    f.ensure(loaded.as_ref() == Some(&s1), case, || {
        format!("loaded {loaded:?}")
    })?;

    let case = "an absent session of another revision than 1 is a conflict with nothing stored";
    let zero = f.session(2)?;
    f.conflict(case, a.acquire(&zero, &w1, t, MINUTE).await, None)?;
    f.conflict(
        case,
        b.acquire(&next(next(zero.clone())), &w1, t, MINUTE).await,
        None,
    )?;
    let loaded = f.store(case, a.load(&SessionKey::of(&zero)).await)?;
    f.ensure(loaded.is_none(), case, || format!("loaded {loaded:?}"))?;

    let case = "a session under another worker's live lease is Held, naming it";
    held(
        &f,
        case,
        f.store(case, b.acquire(&s1, &w2, ms(t, 1_000), MINUTE).await)?,
        &l1.holder(),
    )?;
    let case = "a second acquire by the same worker is Held too (another claim)";
    held(
        &f,
        case,
        f.store(case, a.acquire(&s1, &w1, ms(t, 2_000), MINUTE).await)?,
        &l1.holder(),
    )?;
    let case = "an acquired session is not claimed";
    let got = f.store(case, b.claim(&w2, 10, ms(t, 2_000), MINUTE, None).await)?;
    f.ensure(got.is_empty(), case, || {
        format!("claimed {} sessions", got.len())
    })?;

    let s2 = next(due(s1.clone(), Some(f.minutes(30))));
    f.store(
        "the holder saves under its lease",
        a.save(&s2, Some(&l1), ms(t, 2_000)).await,
    )?;
    f.store("the holder releases", a.release(&l1).await)?;
    let case =
        "a stored session is leased as stored, whatever the caller passed, with a greater token";
    let stale = due(s1.clone(), Some(f.minutes(99)));
    let (got, l2) = claimed(
        &f,
        case,
        f.store(case, b.acquire(&stale, &w2, ms(t, 3_000), MINUTE).await)?,
    )?
    .into_parts();
    f.ensure(
        got == s2 && l2.token() > l1.token() && l2.worker() == &w2,
        case,
        || format!("got {got:?} under {l2:?}; stored {s2:?}, old lease {l1:?}"),
    )?;
    let case = "a lapsed lease is taken over by acquire, with a greater token";
    let (got, l3) = claimed(
        &f,
        case,
        f.store(case, a.acquire(&s1, &w3, ms(t, 63_000), MINUTE).await)?,
    )?
    .into_parts();
    f.ensure(got == s2 && l3.token() > l2.token(), case, || {
        format!("got {got:?} under {l3:?}; old lease {l2:?}")
    })?;
    f.fenced(
        "the old lease is fenced",
        b.renew(&l2, ms(t, 63_000), MINUTE).await,
        Some(&l3.holder()),
    )?;

    let case = "a finished session is leased like the others";
    let done = next(f.made(registered(f.session(3)?, t))?);
    f.store(case, b.save(&done, None, t).await)?;
    let (got, l4) = claimed(
        &f,
        case,
        f.store(case, a.acquire(&done, &w1, t, MINUTE).await)?,
    )?
    .into_parts();
    f.ensure(got == done, case, || format!("got {got:?}"))?;
    held(
        &f,
        case,
        f.store(case, b.acquire(&done, &w2, ms(t, 1_000), MINUTE).await)?,
        &l4.holder(),
    )?;

    f.store("release", a.release(&l3).await)?;
    f.store("release", b.release(&l4).await)?;
    f.park(a).await
}
