//! The [`SessionStore`] conformance suite: checks that a store keeps the
//! contract — revisions, leases with fencing tokens, listing, atomic
//! claims — so your own store (or a shipped one on your database) can be
//! trusted by a [`Fleet`](crate::Fleet) and by replicas sharing it.
//!
//! Give it two handles on the same **empty** storage: two connections (or
//! two opens) for a store that several processes share, the same store
//! twice for an in-process one. Each check writes its own sessions (a
//! WABA id of its own), hands the two handles work crosswise, and leaves
//! nothing claimable behind (it leases what it leaves to a worker named
//! `conformance-park` for a century), so the checks can run in any order
//! on one storage, each once. Times are passed in explicitly (from
//! 2030-01-01): nothing sleeps.
//!
//! ```
//! use waba_porting::test_util::store_conformance::{check_store, Check};
//! use waba_porting::InMemoryStore;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store = InMemoryStore::new();
//! check_store(&store, &store).await?;
//! // Or one check at a time (each once per storage):
//! let other = InMemoryStore::new();
//! Check::Fencing.run(&other, &other).await?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The concurrency checks poll their contenders together on the calling
//! task: a store whose calls really wait (a database connection, a
//! blocking pool) runs them in parallel; a store that finishes each call
//! without yielding runs them one after the other, so test it from several
//! threads as well.

mod acquire;
mod claims;
mod concurrency;
mod expect;
mod failure;
mod fixtures;
mod leases;
mod listing;
mod revisions;

use crate::store::SessionStore;

pub use failure::{Check, ConformanceFailure};

/// Runs every check ([`Check::ALL`], in order) on `a` and `b`, two handles
/// on the same empty storage; the first failure says which check and case
/// failed, and why.
///
/// # Errors
/// The first [`ConformanceFailure`].
pub async fn check_store(
    a: &dyn SessionStore,
    b: &dyn SessionStore,
) -> Result<(), ConformanceFailure> {
    for check in Check::ALL {
        check.run(a, b).await?;
    }
    Ok(())
}

/// Load returns what was saved, with its revision, through either handle;
/// sessions are kept apart by key.
///
/// # Errors
/// The case that failed.
pub async fn round_trip(
    a: &dyn SessionStore,
    b: &dyn SessionStore,
) -> Result<(), ConformanceFailure> {
    revisions::round_trip(a, b).await
}

/// Revision `n + 1` saves over `n`; any other save (a second `n + 1`, a
/// skipped revision, revision 2 or 0 where nothing is stored) is a
/// [`Conflict`](crate::StoreErrorKind::Conflict) naming the stored revision
/// and writes nothing; of two concurrent first saves exactly one wins.
///
/// # Errors
/// The case that failed.
pub async fn revision_conflicts(
    a: &dyn SessionStore,
    b: &dyn SessionStore,
) -> Result<(), ConformanceFailure> {
    revisions::revision_conflicts(a, b).await
}

/// A writer holding an old copy can never overwrite a newer one, with or
/// without a lease.
///
/// # Errors
/// The case that failed.
pub async fn stale_writes(
    a: &dyn SessionStore,
    b: &dyn SessionStore,
) -> Result<(), ConformanceFailure> {
    revisions::stale_writes(a, b).await
}

/// `claim` hands out only due, unfinished, unleased sessions, earliest due
/// first then by key, up to `limit`, with tokens that grow store-wide and
/// a pass floor that skips sessions leased since (by anyone), each with
/// its stored revision and a lease until `now + lease_for`.
///
/// # Errors
/// The case that failed.
pub async fn claim_selection(
    a: &dyn SessionStore,
    b: &dyn SessionStore,
) -> Result<(), ConformanceFailure> {
    claims::claim_selection(a, b).await
}

/// A claimed session stays out of reach until its lease lapses or is
/// released; renewal extends it; a lapsed lease is taken over with a
/// greater token, after which the old lease's saves and renewals are
/// [`Fenced`](crate::StoreErrorKind::Fenced) naming the new holder and
/// its release does nothing.
///
/// # Errors
/// The case that failed.
pub async fn lease_lifecycle(
    a: &dyn SessionStore,
    b: &dyn SessionStore,
) -> Result<(), ConformanceFailure> {
    leases::lease_lifecycle(a, b).await
}

/// A save without a lease is fenced while another worker holds a live one
/// and allowed once it lapsed; a lease the store does not hold (another
/// token, another worker, another session, nothing stored) writes
/// nothing.
///
/// # Errors
/// The case that failed.
pub async fn fencing(a: &dyn SessionStore, b: &dyn SessionStore) -> Result<(), ConformanceFailure> {
    leases::fencing(a, b).await
}

/// `acquire` stores an absent session as revision 1 and leases it, leases
/// the stored session when one is there, and says
/// [`Held`](crate::Acquired::Held) while a live lease holds it.
///
/// # Errors
/// The case that failed.
pub async fn acquire(a: &dyn SessionStore, b: &dyn SessionStore) -> Result<(), ConformanceFailure> {
    acquire::acquire(a, b).await
}

/// `list_unfinished` lists every unfinished session, leased or not, in key
/// order, and no finished one.
///
/// # Errors
/// The case that failed.
pub async fn listing(a: &dyn SessionStore, b: &dyn SessionStore) -> Result<(), ConformanceFailure> {
    listing::listing(a, b).await
}

/// Workers claiming at once through both handles never get one session
/// twice, and together get every due one.
///
/// # Errors
/// The case that failed.
pub async fn concurrent_claims(
    a: &dyn SessionStore,
    b: &dyn SessionStore,
) -> Result<(), ConformanceFailure> {
    concurrency::concurrent_claims(a, b).await
}

/// Many writers saving the same revision of one session at once: exactly
/// one wins each revision; of several acquires of a new session at once,
/// exactly one leases it.
///
/// # Errors
/// The case that failed.
pub async fn concurrent_saves(
    a: &dyn SessionStore,
    b: &dyn SessionStore,
) -> Result<(), ConformanceFailure> {
    concurrency::concurrent_saves(a, b).await
}
