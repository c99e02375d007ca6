//! Several workers at once: claims never overlap, one save wins each
//! revision, one acquire leases a new session.

use std::collections::BTreeSet;
use std::time::Duration;

use futures_util::future::join_all;

use super::failure::{Check, ConformanceFailure};
use super::fixtures::{due, next, Fixture};
use crate::store::{
    Acquired, Claimed, SessionKey, SessionStore, StoreError, StoreErrorKind, WorkerId,
};
use crate::time::Timestamp;

/// How many workers contend.
const WORKERS: usize = 8;
/// How many sessions they claim.
const SESSIONS: u8 = 48;
/// How many revisions they race for.
const ROUNDS: u64 = 4;
const HOUR: Duration = Duration::from_secs(3_600);

/// A worker claiming three at a time until nothing is left.
async fn claimer(
    store: &dyn SessionStore,
    worker: WorkerId,
    now: Timestamp,
) -> Result<Vec<Claimed>, StoreError> {
    let mut all = Vec::new();
    loop {
        let got = store.claim(&worker, 3, now, HOUR, None).await?;
        if got.is_empty() {
            return Ok(all);
        }
        all.extend(got);
    }
}

/// `a` for even contenders, `b` for odd ones.
fn handle<'s>(i: usize, a: &'s dyn SessionStore, b: &'s dyn SessionStore) -> &'s dyn SessionStore {
    if i.is_multiple_of(2) {
        a
    } else {
        b
    }
}

pub(super) async fn concurrent_claims(
    a: &dyn SessionStore,
    b: &dyn SessionStore,
) -> Result<(), ConformanceFailure> {
    let f = Fixture::new(Check::ConcurrentClaims, a).await?;
    let mut all = BTreeSet::new();
    for n in 1..=SESSIONS {
        let session = f.saved(handle(usize::from(n), a, b), n, None).await?;
        all.insert(SessionKey::of(&session));
    }
    let now = f.minutes(10);
    let workers: Vec<WorkerId> = (0..WORKERS)
        .map(|i| WorkerId::new(format!("conformance-claimer-{i}")))
        .collect();
    let results = join_all(
        workers
            .iter()
            .enumerate()
            .map(|(i, worker)| claimer(handle(i, a, b), worker.clone(), now)),
    )
    .await;

    let case = "workers claiming at once through both handles never get one session twice";
    let mut seen = BTreeSet::new();
    let mut twice = Vec::new();
    let mut leases = Vec::new();
    for (worker, result) in workers.iter().zip(results) {
        for claimed in f.store(case, result)? {
            let lease = claimed.lease().clone();
            f.ensure(lease.worker() == worker, case, || {
                format!("{worker} got {lease:?}")
            })?;
            if !seen.insert(lease.key().clone()) {
                twice.push(lease.key().clone());
            }
            leases.push(lease);
        }
    }
    f.ensure(twice.is_empty(), case, || {
        format!("claimed twice: {twice:?}")
    })?;
    let case = "together they claim every due session";
    f.ensure(seen == all, case, || {
        let missing: Vec<_> = all.difference(&seen).collect();
        format!("never claimed: {missing:?}")
    })?;
    for lease in &leases {
        f.store("release", a.release(lease).await)?;
    }
    f.park(a).await
}

pub(super) async fn concurrent_saves(
    a: &dyn SessionStore,
    b: &dyn SessionStore,
) -> Result<(), ConformanceFailure> {
    let f = Fixture::new(Check::ConcurrentSaves, a).await?;
    let now = f.minutes(10);
    let first = f.saved(a, 1, None).await?;
    let key = SessionKey::of(&first);
    let case = "of many writers saving revision n + 1 at once, exactly one wins; the others conflict naming n + 1";
    for round in 0..ROUNDS {
        let Some(current) = f.store(case, b.load(&key).await)? else {
            return Err(f.fail(case, "the session did not load"));
        };
        let stored = current.revision().saturating_add(1);
        let copies: Vec<_> = (0..WORKERS as u64)
            .map(|i| next(due(current.clone(), Some(f.minutes(100 + round * 10 + i)))))
            .collect();
        let results = join_all(
            copies
                .iter()
                .enumerate()
                .map(|(i, copy)| handle(i, a, b).save(copy, None, now)),
        )
        .await;
        let mut winners = Vec::new();
        for (copy, result) in copies.iter().zip(results) {
            match result {
                Ok(()) => winners.push(copy),
                Err(e)
                    if *e.kind()
                        == (StoreErrorKind::Conflict {
                            stored: Some(stored),
                        }) => {}
                Err(e) => return Err(f.fail(case, format!("a loser got {:?}: {e}", e.kind()))),
            }
        }
        let [winner] = winners.as_slice() else {
            return Err(f.fail(
                case,
                format!("{} writers won revision {stored}", winners.len()),
            ));
        };
        let loaded = f.store(case, a.load(&key).await)?;
        f.ensure(loaded.as_ref() == Some(*winner), case, || {
            format!("the winner saved {winner:?}, loaded {loaded:?}")
        })?;
    }

    let case = "of several acquires of a new session at once, exactly one leases it; the others are told who holds it";
    let fresh = next(f.session(2)?);
    let workers: Vec<WorkerId> = (0..WORKERS)
        .map(|i| WorkerId::new(format!("conformance-acquirer-{i}")))
        .collect();
    let results = join_all(
        workers
            .iter()
            .enumerate()
            .map(|(i, worker)| handle(i, a, b).acquire(&fresh, worker, now, HOUR)),
    )
    .await;
    let mut leases = Vec::new();
    let mut holders = Vec::new();
    for result in results {
        match f.store(case, result)? {
            Acquired::Claimed(claimed) => leases.push(claimed.into_parts().1),
            Acquired::Held(holder) => holders.push(holder),
        }
    }
    let [lease] = leases.as_slice() else {
        return Err(f.fail(case, format!("{} acquires leased it", leases.len())));
    };
    f.ensure(holders.iter().all(|h| *h == lease.holder()), case, || {
        format!(
            "leased by {:?}; the others were told {holders:?}",
            lease.holder()
        )
    })?;
    f.store("release", a.release(lease).await)?;
    f.park(a).await
}
