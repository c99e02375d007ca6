//! The store's operations on one connection, each one transaction: what
//! runs on the blocking pool.

use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use crate::session::PortingSession;
use crate::store::{
    parse, to_json, Acquired, Claimed, Holder, Lease, RateShare, SessionKey, StoreError, WorkerId,
};
use crate::time::Timestamp;

/// A time as its column holds it (Unix milliseconds; the far future
/// saturates).
pub(super) fn millis(at: Timestamp) -> i64 {
    i64::try_from(at.as_unix_millis()).unwrap_or(i64::MAX)
}

fn timestamp(millis: i64) -> Timestamp {
    Timestamp::from_unix_millis(u64::try_from(millis).unwrap_or(0))
}

/// A revision or token as its column holds it (SQLite integers are
/// signed; neither gets near 2^63).
fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A revision or token read back.
fn uint(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn db(what: &str) -> impl FnOnce(rusqlite::Error) -> StoreError + '_ {
    move |e| StoreError::new(format!("SQLite store: cannot {what}"), e)
}

fn begin(conn: &mut Connection) -> Result<Transaction<'_>, StoreError> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db("begin a write transaction"))
}

fn commit(tx: Transaction<'_>) -> Result<(), StoreError> {
    tx.commit().map_err(db("commit"))
}

/// What a save writes: the session's JSON and the columns beside it.
#[derive(Debug)]
pub(super) struct Written {
    key: SessionKey,
    waba_id: String,
    revision: u64,
    state: &'static str,
    due_at: i64,
    finished: bool,
    json: String,
}

impl Written {
    pub(super) fn of(session: &PortingSession) -> Result<Self, StoreError> {
        Ok(Self {
            key: SessionKey::of(session),
            waba_id: session.waba_id().as_str().to_owned(),
            revision: session.revision(),
            state: session.state().name().as_str(),
            due_at: millis(crate::store::due_at(session)),
            finished: session.is_finished(),
            json: to_json(session)?,
        })
    }
}

/// A row's revision and lease, to say why a write did not apply.
#[derive(Debug)]
struct Stored {
    revision: u64,
    owner: Option<String>,
    token: u64,
    until: Option<i64>,
}

impl Stored {
    fn read(tx: &Transaction<'_>, key: &SessionKey) -> Result<Option<Self>, StoreError> {
        tx.query_row(
            "SELECT revision, lease_owner, lease_token, lease_until FROM porting_sessions \
             WHERE key = ?1",
            [key.as_str()],
            |row| {
                Ok(Self {
                    revision: uint(row.get(0)?),
                    owner: row.get(1)?,
                    token: uint(row.get(2)?),
                    until: row.get(3)?,
                })
            },
        )
        .optional()
        .map_err(db("read a session's lease"))
    }

    /// The lease recorded, live or lapsed, until released.
    fn holder(&self) -> Option<Holder> {
        match (&self.owner, self.until) {
            (Some(owner), Some(until)) => Some(Holder::new(WorkerId::new(owner), timestamp(until))),
            _ => None,
        }
    }

    fn live_holder(&self, now: i64) -> Option<Holder> {
        self.holder()
            .filter(|_| self.until.is_some_and(|until| until > now))
    }

    fn holds(&self, lease: &Lease) -> bool {
        self.token == lease.token() && self.owner.as_deref() == Some(lease.worker().as_str())
    }
}

/// Why a save of `written` under `lease` at `now` was not applied, from
/// the row as it is (the same checks, in the same order, as the
/// in-process stores).
fn refusal(
    written: &Written,
    lease: Option<&Lease>,
    now: i64,
    stored: Option<Stored>,
) -> StoreError {
    let key = &written.key;
    let Some(stored) = stored else {
        return match lease {
            Some(_) => StoreError::fenced(key, None),
            None => StoreError::conflict(key, None),
        };
    };
    match lease {
        Some(lease) if !stored.holds(lease) || lease.key() != key => {
            return StoreError::fenced(key, stored.holder());
        }
        Some(_) => {}
        None => {
            if let Some(holder) = stored.live_holder(now) {
                return StoreError::fenced(key, Some(holder));
            }
        }
    }
    StoreError::conflict(key, Some(stored.revision))
}

pub(super) fn load(
    conn: &mut Connection,
    key: &SessionKey,
) -> Result<Option<PortingSession>, StoreError> {
    let json: Option<String> = conn
        .query_row(
            "SELECT session FROM porting_sessions WHERE key = ?1",
            [key.as_str()],
            |row| row.get(0),
        )
        .optional()
        .map_err(db("load a session"))?;
    json.map(|json| parse(&json, key.as_str())).transpose()
}

/// The largest fencing token drawn in the file (each new one goes above
/// it: tokens grow file-wide, which passes over the store rely on).
fn last_token(tx: &Transaction<'_>) -> Result<i64, StoreError> {
    tx.query_row(
        "SELECT COALESCE(MAX(lease_token), 0) FROM porting_sessions",
        [],
        |row| row.get(0),
    )
    .map_err(db("read the last lease token"))
}

/// Inserts `written` as a new row (revision 1), leased to `lease` when
/// given; false when the key is taken.
fn insert(
    tx: &Transaction<'_>,
    written: &Written,
    lease: Option<(&WorkerId, i64, i64)>,
    now: i64,
) -> Result<bool, StoreError> {
    let (owner, until, token, claimed_at) = match lease {
        Some((worker, until, token)) => (Some(worker.as_str()), Some(until), token, Some(now)),
        None => (None, None, 0, None),
    };
    let inserted = tx
        .execute(
            "INSERT INTO porting_sessions (key, waba_id, revision, state, due_at, finished, \
             lease_owner, lease_token, lease_until, claimed_at, session, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
             ON CONFLICT (key) DO NOTHING",
            params![
                written.key.as_str(),
                written.waba_id,
                int(written.revision),
                written.state,
                written.due_at,
                written.finished,
                owner,
                token,
                until,
                claimed_at,
                written.json,
                now,
            ],
        )
        .map_err(db("insert a session"))?;
    Ok(inserted == 1)
}

/// Saves `written` over revision `n - 1` (or as a new row for revision
/// 1), under `lease` or under no live lease: one conditional write, and
/// on refusal the row read in the same transaction to say why.
pub(super) fn save(
    conn: &mut Connection,
    written: &Written,
    lease: Option<&Lease>,
    now: i64,
) -> Result<(), StoreError> {
    let tx = begin(conn)?;
    let applied = match (lease, written.revision.checked_sub(1)) {
        (None, Some(0)) => insert(&tx, written, None, now)?,
        (_, None) => false,
        (Some(lease), Some(_)) if lease.key() != &written.key => false,
        (Some(lease), Some(previous)) => {
            tx.execute(
                "UPDATE porting_sessions SET waba_id = ?2, revision = ?3, state = ?4, \
                 due_at = ?5, finished = ?6, session = ?7, updated_at = ?8 \
                 WHERE key = ?1 AND revision = ?9 AND lease_owner = ?10 AND lease_token = ?11",
                params![
                    written.key.as_str(),
                    written.waba_id,
                    int(written.revision),
                    written.state,
                    written.due_at,
                    written.finished,
                    written.json,
                    now,
                    int(previous),
                    lease.worker().as_str(),
                    int(lease.token()),
                ],
            )
            .map_err(db("save a session"))?
                == 1
        }
        (None, Some(previous)) => {
            tx.execute(
                "UPDATE porting_sessions SET waba_id = ?2, revision = ?3, state = ?4, \
                 due_at = ?5, finished = ?6, session = ?7, updated_at = ?8 \
                 WHERE key = ?1 AND revision = ?9 AND (lease_until IS NULL OR lease_until <= ?8)",
                params![
                    written.key.as_str(),
                    written.waba_id,
                    int(written.revision),
                    written.state,
                    written.due_at,
                    written.finished,
                    written.json,
                    now,
                    int(previous),
                ],
            )
            .map_err(db("save a session"))?
                == 1
        }
    };
    if applied {
        return commit(tx);
    }
    let stored = Stored::read(&tx, &written.key)?;
    Err(refusal(written, lease, now, stored))
}

/// Leases up to `limit` due, unfinished, unleased rows (with a token
/// below `pass`, when given) for `worker`, earliest due first, then by key.
pub(super) fn claim(
    conn: &mut Connection,
    worker: &WorkerId,
    limit: usize,
    now: Timestamp,
    lease_for: Duration,
    pass: Option<u64>,
) -> Result<Vec<Claimed>, StoreError> {
    let pass = pass.map(int);
    if limit == 0 {
        return Ok(Vec::new());
    }
    let (at, until) = (millis(now), now.saturating_add(lease_for));
    let tx = begin(conn)?;
    let due: Vec<(String, String)> = {
        let mut select = tx
            .prepare(
                "SELECT key, session FROM porting_sessions \
                 WHERE finished = 0 AND due_at <= ?1 \
                 AND (lease_until IS NULL OR lease_until <= ?1) \
                 AND (?2 IS NULL OR lease_token < ?2) \
                 ORDER BY due_at, key LIMIT ?3",
            )
            .map_err(db("select due sessions"))?;
        let rows = select
            .query_map(
                params![at, pass, i64::try_from(limit).unwrap_or(i64::MAX)],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .map_err(db("select due sessions"))?;
        rows.collect::<Result<_, _>>()
            .map_err(db("select due sessions"))?
    };
    let mut claimed = Vec::with_capacity(due.len());
    let mut drawn = last_token(&tx)?;
    for (key, json) in due {
        drawn = drawn.saturating_add(1);
        tx.execute(
            "UPDATE porting_sessions SET lease_owner = ?2, lease_token = ?3, lease_until = ?4, \
             claimed_at = ?5 WHERE key = ?1",
            params![key, worker.as_str(), drawn, millis(until), at],
        )
        .map_err(db("lease a session"))?;
        // A row that does not parse fails the whole claim: nothing leased.
        let session = parse(&json, &key)?;
        let lease = Lease::new(
            SessionKey::from_stored(key),
            worker.clone(),
            uint(drawn),
            until,
        );
        claimed.push(Claimed::new(session, lease));
    }
    commit(tx)?;
    Ok(claimed)
}

/// Leases `written`'s key for `worker`: the stored session, or `written`
/// inserted as revision 1 (`new`: the session it was made from).
pub(super) fn acquire(
    conn: &mut Connection,
    written: &Written,
    new: PortingSession,
    worker: &WorkerId,
    now: Timestamp,
    lease_for: Duration,
) -> Result<Acquired, StoreError> {
    let (at, until) = (millis(now), now.saturating_add(lease_for));
    let key = &written.key;
    let tx = begin(conn)?;
    let row: Option<(Stored, String)> = tx
        .query_row(
            "SELECT revision, lease_owner, lease_token, lease_until, session \
             FROM porting_sessions WHERE key = ?1",
            [key.as_str()],
            |row| {
                let stored = Stored {
                    revision: uint(row.get(0)?),
                    owner: row.get(1)?,
                    token: uint(row.get(2)?),
                    until: row.get(3)?,
                };
                Ok((stored, row.get(4)?))
            },
        )
        .optional()
        .map_err(db("read a session"))?;
    let Some((stored, json)) = row else {
        if written.revision != 1 {
            return Err(StoreError::conflict(key, None));
        }
        let token = last_token(&tx)?.saturating_add(1);
        if !insert(&tx, written, Some((worker, millis(until), token)), at)? {
            return Err(StoreError::conflict(key, None));
        }
        commit(tx)?;
        let lease = Lease::new(key.clone(), worker.clone(), uint(token), until);
        return Ok(Acquired::Claimed(Claimed::new(new, lease)));
    };
    if let Some(holder) = stored.live_holder(at) {
        return Ok(Acquired::Held(holder));
    }
    let session = parse(&json, key.as_str())?;
    let token = uint(last_token(&tx)?.saturating_add(1));
    tx.execute(
        "UPDATE porting_sessions SET lease_owner = ?2, lease_token = ?3, lease_until = ?4, \
         claimed_at = ?5 WHERE key = ?1",
        params![key.as_str(), worker.as_str(), int(token), millis(until), at],
    )
    .map_err(db("lease a session"))?;
    commit(tx)?;
    let lease = Lease::new(key.clone(), worker.clone(), token, until);
    Ok(Acquired::Claimed(Claimed::new(session, lease)))
}

/// Extends `lease` to `now + lease_for` while the row holds it.
pub(super) fn renew(
    conn: &mut Connection,
    lease: &Lease,
    now: Timestamp,
    lease_for: Duration,
) -> Result<Lease, StoreError> {
    let until = now.saturating_add(lease_for);
    let tx = begin(conn)?;
    let renewed = tx
        .execute(
            "UPDATE porting_sessions SET lease_until = ?4 \
             WHERE key = ?1 AND lease_owner = ?2 AND lease_token = ?3",
            params![
                lease.key().as_str(),
                lease.worker().as_str(),
                int(lease.token()),
                millis(until)
            ],
        )
        .map_err(db("renew a lease"))?;
    if renewed == 1 {
        commit(tx)?;
        return Ok(lease.renewed_until(until));
    }
    let holder = Stored::read(&tx, lease.key())?.and_then(|stored| stored.holder());
    Err(StoreError::fenced(lease.key(), holder))
}

/// Gives `lease` back, if the row still holds it.
pub(super) fn release(conn: &mut Connection, lease: &Lease) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE porting_sessions SET lease_owner = NULL, lease_until = NULL \
         WHERE key = ?1 AND lease_owner = ?2 AND lease_token = ?3",
        params![
            lease.key().as_str(),
            lease.worker().as_str(),
            int(lease.token())
        ],
    )
    .map_err(db("release a lease"))?;
    Ok(())
}

/// Every unfinished session, in key order.
pub(super) fn list_unfinished(conn: &mut Connection) -> Result<Vec<PortingSession>, StoreError> {
    let mut select = conn
        .prepare("SELECT key, session FROM porting_sessions WHERE finished = 0 ORDER BY key")
        .map_err(db("list sessions"))?;
    let rows = select
        .query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })
        .map_err(db("list sessions"))?;
    let mut out = Vec::new();
    for row in rows {
        let (key, json) = row.map_err(db("list sessions"))?;
        let session = parse(&json, &key)?;
        if !session.is_finished() {
            out.push(session);
        }
    }
    Ok(out)
}

/// Records `worker` as stepping at `now` (and a pause it saw), and reads
/// the shared view back (see `SessionStore::share_rate`).
pub(super) fn share_rate(
    conn: &mut Connection,
    worker: &WorkerId,
    now: Timestamp,
    paused_until: Option<Timestamp>,
) -> Result<RateShare, StoreError> {
    let at = millis(now);
    let tx = begin(conn)?;
    tx.execute(
        "INSERT INTO porting_workers (worker, seen_at, paused_until) VALUES (?1, ?2, ?3) \
         ON CONFLICT (worker) DO UPDATE SET seen_at = ?2, \
         paused_until = MAX(COALESCE(paused_until, 0), COALESCE(?3, 0))",
        params![worker.as_str(), at, paused_until.map(millis)],
    )
    .map_err(db("record a worker"))?;
    let ttl = i64::try_from(crate::store::WORKER_TTL.as_millis()).unwrap_or(i64::MAX);
    let (workers, paused): (i64, Option<i64>) = tx
        .query_row(
            "SELECT COUNT(*), MAX(paused_until) FROM porting_workers WHERE seen_at >= ?1 - ?2 \
             OR paused_until > ?1",
            params![at, ttl],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .map_err(db("read the workers"))?;
    tx.execute(
        "DELETE FROM porting_workers WHERE seen_at < ?1 - ?2 AND COALESCE(paused_until, 0) <= ?1",
        params![at, ttl],
    )
    .map_err(db("forget old workers"))?;
    commit(tx)?;
    let paused = paused
        .and_then(|ms| u64::try_from(ms).ok())
        .map(Timestamp::from_unix_millis)
        .filter(|until| *until > now);
    Ok(RateShare::new(
        paused,
        u32::try_from(workers.max(1)).unwrap_or(u32::MAX),
    ))
}
