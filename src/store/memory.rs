//! [`InMemoryStore`]: sessions in memory, with revisions and leases.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;

use super::table::{Meta, Table};
use super::{
    parse, to_json, Acquired, Claimed, Lease, SessionKey, SessionStore, StoreError, WorkerId,
};
use super::{RateBoard, RateShare};
use crate::session::PortingSession;
use crate::time::Timestamp;

/// Sessions in memory (tests, short-lived tools, one process); share it
/// behind an `Arc`. Follows the whole [`SessionStore`] contract: fleets and
/// tasks of one process sharing it never advance one session at once.
#[derive(Debug, Default)]
pub struct InMemoryStore {
    /// Each session's JSON, exactly as long as it is (no spare capacity: a
    /// hundred thousand sessions are ~75 MB, not ~100).
    table: Mutex<Table<Box<str>>>,
    rate: Mutex<RateBoard>,
}

impl InMemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn table(&self) -> MutexGuard<'_, Table<Box<str>>> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn parse_row(key: &SessionKey, json: &str) -> Result<PortingSession, StoreError> {
        parse(json, key.as_str())
    }
}

#[async_trait]
impl SessionStore for InMemoryStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<PortingSession>, StoreError> {
        let saved = self
            .table()
            .get(key)
            .filter(|row| row.revision > 0)
            .map(|row| row.payload.clone());
        saved.map(|json| Self::parse_row(key, &json)).transpose()
    }

    async fn save(
        &self,
        session: &PortingSession,
        lease: Option<&Lease>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let json = to_json(session)?.into_boxed_str();
        let key = SessionKey::of(session);
        let meta = Meta::of(session);
        let mut table = self.table();
        table.check_save(&key, meta.revision, lease, now)?;
        table.commit(&key, meta, json);
        Ok(())
    }

    async fn claim(
        &self,
        worker: &WorkerId,
        limit: usize,
        now: Timestamp,
        lease_for: Duration,
        pass: Option<u64>,
    ) -> Result<Vec<Claimed>, StoreError> {
        let claimed: Vec<(Lease, Box<str>)> = {
            let mut table = self.table();
            let leases = table.claim(worker, limit, now, lease_for, pass);
            leases
                .into_iter()
                .filter_map(|lease| {
                    let json = table.get(lease.key())?.payload.clone();
                    Some((lease, json))
                })
                .collect()
        };
        let mut out = Vec::with_capacity(claimed.len());
        for (lease, json) in claimed {
            match Self::parse_row(lease.key(), &json) {
                Ok(session) => out.push(Claimed::new(session, lease)),
                Err(error) => {
                    // Give back what is not handed out.
                    let mut table = self.table();
                    table.release(&lease);
                    for claimed in &out {
                        table.release(claimed.lease());
                    }
                    return Err(error);
                }
            }
        }
        Ok(out)
    }

    async fn acquire(
        &self,
        session: &PortingSession,
        worker: &WorkerId,
        now: Timestamp,
        lease_for: Duration,
    ) -> Result<Acquired, StoreError> {
        let key = SessionKey::of(session);
        let new_json = to_json(session)?.into_boxed_str();
        // One lock for the look-up and the insert: two acquires of a new
        // session at once lease it once (the other is told it is held).
        let stored = {
            let mut table = self.table();
            match table.acquire(&key, worker, now, lease_for) {
                Some(Err(holder)) => return Ok(Acquired::Held(holder)),
                Some(Ok(lease)) => table.get(&key).map(|row| (lease, row.payload.clone())),
                None => {
                    // Nothing stored: store this one, as revision 1, leased.
                    let meta = Meta::of(session);
                    table.check_save(&key, meta.revision, None, now)?;
                    table.commit(&key, meta, new_json);
                    return match table.lease_new(&key, worker, now, lease_for) {
                        Some(lease) => Ok(Acquired::Claimed(Claimed::new(session.clone(), lease))),
                        None => Err(StoreError::conflict(&key, None)),
                    };
                }
            }
        };
        match stored {
            Some((lease, json)) => match Self::parse_row(&key, &json) {
                Ok(stored) => Ok(Acquired::Claimed(Claimed::new(stored, lease))),
                Err(error) => {
                    self.table().release(&lease);
                    Err(error)
                }
            },
            None => Err(StoreError::conflict(&key, None)),
        }
    }

    async fn renew(
        &self,
        lease: &Lease,
        now: Timestamp,
        lease_for: Duration,
    ) -> Result<Lease, StoreError> {
        self.table().renew(lease, now, lease_for)
    }

    async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        self.table().release(lease);
        Ok(())
    }

    async fn list_unfinished(&self) -> Result<Vec<PortingSession>, StoreError> {
        let saved: Vec<(SessionKey, Box<str>)> = self
            .table()
            .rows()
            .filter(|(_, row)| row.revision > 0 && !row.is_finished())
            .map(|(k, row)| (k.clone(), row.payload.clone()))
            .collect();
        let mut out = Vec::new();
        for (key, json) in saved {
            let session = Self::parse_row(&key, &json)?;
            if !session.is_finished() {
                out.push(session);
            }
        }
        Ok(out)
    }

    async fn share_rate(
        &self,
        worker: &WorkerId,
        now: Timestamp,
        paused_until: Option<Timestamp>,
    ) -> Result<RateShare, StoreError> {
        let mut board = self.rate.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(board.share(worker, now, paused_until))
    }
}
