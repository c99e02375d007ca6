//! `list_unfinished`: every unfinished session, in key order.

use std::time::Duration;

use super::failure::{Check, ConformanceFailure};
use super::fixtures::{next, registered, rejected, Fixture};
use crate::session::PortingSession;
use crate::store::{Acquired, SessionKey, SessionStore, WorkerId};

/// This check's sessions in `listed`.
fn own(f: &Fixture, listed: &[PortingSession]) -> Vec<PortingSession> {
    listed.iter().filter(|s| f.owns(s)).cloned().collect()
}

fn in_key_order(listed: &[PortingSession]) -> bool {
    let keys: Vec<SessionKey> = listed.iter().map(SessionKey::of).collect();
    keys.windows(2).all(|pair| matches!(pair, [x, y] if x < y))
}

pub(super) async fn listing(
    a: &dyn SessionStore,
    b: &dyn SessionStore,
) -> Result<(), ConformanceFailure> {
    let f = Fixture::new(Check::Listing, a).await?;
    let t = f.minutes(10);
    let case = "none of this check's sessions is listed before it saves any";
    let listed = f.store(case, a.list_unfinished().await)?;
    f.ensure(own(&f, &listed).is_empty(), case, || {
        format!("listed {:?}", own(&f, &listed))
    })?;

    let s5 = f.saved(a, 5, Some(f.minutes(500))).await?;
    let s1 = f.saved(b, 1, None).await?;
    let s3 = f.saved(a, 3, Some(f.minutes(1))).await?;
    let done = next(f.made(registered(f.session(2)?, t))?);
    f.store("a registered session saves", b.save(&done, None, t).await)?;
    let refused = next(f.made(rejected(f.session(4)?, t))?);
    f.store("a rejected session saves", a.save(&refused, None, t).await)?;
    let s6 = next(f.session(6)?);
    let worker = WorkerId::new("conformance-1");
    let lease = match f.store(
        "acquire",
        b.acquire(&s6, &worker, t, Duration::from_secs(60)).await,
    )? {
        Acquired::Claimed(claimed) => claimed.into_parts().1,
        other => return Err(f.fail("acquire", format!("{other:?}"))),
    };

    let case =
        "every unfinished session is listed, leased or not, in key order, and no finished one";
    let listed = f.store(case, b.list_unfinished().await)?;
    let want = vec![s1.clone(), s3.clone(), s5.clone(), s6.clone()];
    f.ensure(own(&f, &listed) == want, case, || {
        format!("listed {:?}, expected {want:?}", own(&f, &listed))
    })?;
    let case = "the whole list is in key order";
    f.ensure(in_key_order(&listed), case, || {
        let keys: Vec<SessionKey> = listed.iter().map(SessionKey::of).collect();
        format!("listed {keys:?}")
    })?;

    let case = "a session saved finished leaves the list";
    let s3_done = next(f.made(registered(s3, t))?);
    f.store(case, a.save(&s3_done, None, t).await)?;
    let listed = f.store(case, a.list_unfinished().await)?;
    let want = vec![s1, s5, s6];
    f.ensure(own(&f, &listed) == want, case, || {
        format!("listed {:?}, expected {want:?}", own(&f, &listed))
    })?;
    f.store("release", b.release(&lease).await)?;
    f.park(a).await
}
