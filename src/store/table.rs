//! The revision and lease bookkeeping of the in-process stores
//! ([`InMemoryStore`](super::InMemoryStore), [`DirectoryStore`](super::DirectoryStore)):
//! one table of rows behind the store's mutex, each row with its payload
//! (the session's JSON, or nothing when the session lives in a file).

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Holder, Lease, SessionKey, StoreError, WorkerId};
use crate::session::PortingSession;
use crate::time::Timestamp;

/// One stored session's bookkeeping.
#[derive(Debug)]
pub(crate) struct Row<P> {
    pub(crate) payload: P,
    pub(crate) revision: u64,
    due: Timestamp,
    finished: bool,
    /// The live or lapsed lease, until released.
    lease: Option<Holder>,
    /// The fencing token of `lease` (the last one drawn for this row; 0
    /// for none). Tokens grow table-wide: a pass skips rows leased since
    /// it began by their token.
    token: u64,
    /// The revision being written outside the table's lock (the directory
    /// store writes files unlocked): no other write may start, and a save
    /// refused meanwhile is told this revision is the stored one.
    writing: Option<u64>,
}

impl<P> Row<P> {
    pub(crate) fn is_finished(&self) -> bool {
        self.finished
    }

    fn live_holder(&self, now: Timestamp) -> Option<&Holder> {
        self.lease.as_ref().filter(|holder| holder.until() > now)
    }

    fn holds(&self, lease: &Lease) -> bool {
        self.token == lease.token()
            && self
                .lease
                .as_ref()
                .is_some_and(|holder| holder.worker() == lease.worker())
    }

    fn lease_for(
        &mut self,
        key: &SessionKey,
        worker: &WorkerId,
        now: Timestamp,
        lease_for: Duration,
        token: u64,
    ) -> Lease {
        self.token = token;
        let until = now.saturating_add(lease_for);
        self.lease = Some(Holder::new(worker.clone(), until));
        Lease::new(key.clone(), worker.clone(), self.token, until)
    }
}

/// What a save writes besides its payload.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Meta {
    pub(crate) revision: u64,
    pub(crate) due: Timestamp,
    pub(crate) finished: bool,
}

impl Meta {
    pub(crate) fn of(session: &PortingSession) -> Self {
        Self {
            revision: session.revision(),
            due: super::due_at(session),
            finished: session.is_finished(),
        }
    }
}

/// Sessions by key, with their revisions and leases.
#[derive(Debug)]
pub(crate) struct Table<P> {
    rows: BTreeMap<SessionKey, Row<P>>,
    /// The last fencing token drawn, for any row.
    last_token: u64,
}

impl<P> Default for Table<P> {
    fn default() -> Self {
        Self {
            rows: BTreeMap::new(),
            last_token: 0,
        }
    }
}

impl<P> Table<P> {
    /// A fencing token above every one drawn before.
    fn draw_token(&mut self) -> u64 {
        self.last_token = self.last_token.saturating_add(1);
        self.last_token
    }

    pub(crate) fn get(&self, key: &SessionKey) -> Option<&Row<P>> {
        self.rows.get(key)
    }

    pub(crate) fn rows(&self) -> impl Iterator<Item = (&SessionKey, &Row<P>)> {
        self.rows.iter()
    }

    /// Adds a row read back from durable storage (no lease).
    pub(crate) fn restore(&mut self, key: SessionKey, meta: Meta, payload: P) {
        self.rows.insert(
            key,
            Row {
                payload,
                revision: meta.revision,
                due: meta.due,
                finished: meta.finished,
                lease: None,
                token: 0,
                writing: None,
            },
        );
    }

    /// Whether a save of `key` as `meta.revision` under `lease` may be
    /// written at `now` (see [`SessionStore::save`](super::SessionStore::save)).
    pub(crate) fn check_save(
        &self,
        key: &SessionKey,
        revision: u64,
        lease: Option<&Lease>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let Some(row) = self.rows.get(key) else {
            if lease.is_some() {
                return Err(StoreError::fenced(key, None));
            }
            if revision != 1 {
                return Err(StoreError::conflict(key, None));
            }
            return Ok(());
        };
        match lease {
            Some(lease) if !row.holds(lease) || lease.key() != key => {
                return Err(StoreError::fenced(key, row.lease.clone()));
            }
            Some(_) => {}
            None => {
                if let Some(holder) = row.live_holder(now) {
                    return Err(StoreError::fenced(key, Some(holder.clone())));
                }
            }
        }
        if let Some(pending) = row.writing {
            return Err(StoreError::conflict(key, Some(pending)));
        }
        if row.revision.checked_add(1) != Some(revision) {
            return Err(StoreError::conflict(key, Some(row.revision)));
        }
        Ok(())
    }

    /// Marks `key` as being written as `revision` (after
    /// [`check_save`](Self::check_save) passed); `placeholder` makes the row
    /// of a session not stored yet.
    pub(crate) fn begin_write(
        &mut self,
        key: &SessionKey,
        revision: u64,
        placeholder: impl FnOnce() -> P,
    ) {
        match self.rows.get_mut(key) {
            Some(row) => row.writing = Some(revision),
            None => {
                self.restore(
                    key.clone(),
                    Meta {
                        revision: 0,
                        due: Timestamp::from_unix_millis(0),
                        finished: false,
                    },
                    placeholder(),
                );
                if let Some(row) = self.rows.get_mut(key) {
                    row.writing = Some(revision);
                }
            }
        }
    }

    /// Ends a write begun by [`begin_write`](Self::begin_write): records
    /// `meta` and `payload` when it was written, or forgets it (and a
    /// placeholder row) when it failed.
    pub(crate) fn end_write(&mut self, key: &SessionKey, written: Option<(Meta, P)>) {
        let Some(row) = self.rows.get_mut(key) else {
            return;
        };
        row.writing = None;
        match written {
            Some((meta, payload)) => {
                row.payload = payload;
                row.revision = meta.revision;
                row.due = meta.due;
                row.finished = meta.finished;
            }
            None if row.revision == 0 => {
                self.rows.remove(key);
            }
            None => {}
        }
    }

    /// Writes a checked save at once (the in-memory store).
    pub(crate) fn commit(&mut self, key: &SessionKey, meta: Meta, payload: P) {
        match self.rows.get_mut(key) {
            Some(row) => {
                row.payload = payload;
                row.revision = meta.revision;
                row.due = meta.due;
                row.finished = meta.finished;
            }
            None => self.restore(key.clone(), meta, payload),
        }
    }

    /// Leases up to `limit` due, unleased, unfinished rows for `worker`
    /// (see [`SessionStore::claim`](super::SessionStore::claim)).
    pub(crate) fn claim(
        &mut self,
        worker: &WorkerId,
        limit: usize,
        now: Timestamp,
        lease_for: Duration,
        pass: Option<u64>,
    ) -> Vec<Lease> {
        if limit == 0 {
            return Vec::new();
        }
        let mut due: Vec<(Timestamp, &SessionKey)> = self
            .rows
            .iter()
            .filter(|(_, row)| {
                !row.finished
                    && row.writing.is_none()
                    && row.revision > 0
                    && row.due <= now
                    && row.live_holder(now).is_none()
                    && pass.is_none_or(|floor| row.token < floor)
            })
            .map(|(key, row)| (row.due, key))
            .collect();
        if due.len() > limit {
            due.select_nth_unstable(limit - 1);
            due.truncate(limit);
        }
        due.sort_unstable();
        let keys: Vec<SessionKey> = due.into_iter().map(|(_, key)| key.clone()).collect();
        let mut leases = Vec::with_capacity(keys.len());
        for key in keys {
            let token = self.draw_token();
            if let Some(row) = self.rows.get_mut(&key) {
                leases.push(row.lease_for(&key, worker, now, lease_for, token));
            }
        }
        leases
    }

    /// Leases `key` for `worker`, or says who holds it; `None` when no
    /// session is stored under it.
    pub(crate) fn acquire(
        &mut self,
        key: &SessionKey,
        worker: &WorkerId,
        now: Timestamp,
        lease_for: Duration,
    ) -> Option<Result<Lease, Holder>> {
        let token = self.last_token.saturating_add(1);
        let row = self.rows.get_mut(key)?;
        if let Some(holder) = row.live_holder(now) {
            return Some(Err(holder.clone()));
        }
        if row.writing.is_some() {
            // Being stored by another acquire right now.
            return Some(Err(Holder::new(worker.clone(), now)));
        }
        self.last_token = token;
        Some(Ok(row.lease_for(key, worker, now, lease_for, token)))
    }

    /// Leases a row just inserted by the caller.
    pub(crate) fn lease_new(
        &mut self,
        key: &SessionKey,
        worker: &WorkerId,
        now: Timestamp,
        lease_for: Duration,
    ) -> Option<Lease> {
        let token = self.last_token.saturating_add(1);
        let row = self.rows.get_mut(key)?;
        self.last_token = token;
        Some(row.lease_for(key, worker, now, lease_for, token))
    }

    pub(crate) fn renew(
        &mut self,
        lease: &Lease,
        now: Timestamp,
        lease_for: Duration,
    ) -> Result<Lease, StoreError> {
        let key = lease.key();
        match self.rows.get_mut(key) {
            Some(row) if row.holds(lease) => {
                let until = now.saturating_add(lease_for);
                row.lease = Some(Holder::new(lease.worker().clone(), until));
                Ok(lease.renewed_until(until))
            }
            Some(row) => Err(StoreError::fenced(key, row.lease.clone())),
            None => Err(StoreError::fenced(key, None)),
        }
    }

    pub(crate) fn release(&mut self, lease: &Lease) {
        if let Some(row) = self.rows.get_mut(lease.key()) {
            if row.holds(lease) {
                row.lease = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreErrorKind;

    fn key() -> SessionKey {
        SessionKey::from_stored("1-2")
    }

    /// A save refused while another is written (the directory store
    /// writes unlocked) names the revision being written: never 0, which
    /// no session is ever stored as.
    #[test]
    fn a_save_refused_during_a_write_names_the_revision_being_written() {
        let mut table: Table<()> = Table::default();
        let now = Timestamp::from_unix_millis(1);
        table.check_save(&key(), 1, None, now).unwrap();
        table.begin_write(&key(), 1, || ());
        let err = table.check_save(&key(), 1, None, now).unwrap_err();
        assert_eq!(*err.kind(), StoreErrorKind::Conflict { stored: Some(1) });
        table.end_write(
            &key(),
            Some((
                Meta {
                    revision: 1,
                    due: now,
                    finished: false,
                },
                (),
            )),
        );
        table.begin_write(&key(), 2, || ());
        let err = table.check_save(&key(), 2, None, now).unwrap_err();
        assert_eq!(*err.kind(), StoreErrorKind::Conflict { stored: Some(2) });
    }
}
