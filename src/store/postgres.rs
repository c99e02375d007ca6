//! [`PostgresStore`]: sessions in a Postgres table, shared by replicas on
//! many machines. Every operation is one SQL statement (a refused write
//! reads the row once more to say why), so a few shared connections
//! pipeline every task's operations without a pool.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use tokio_postgres::types::{FromSql, ToSql};
use tokio_postgres::{Client, Config, NoTls, Row, Statement};

use super::{
    parse, to_json, Acquired, Claimed, Holder, Lease, RateShare, SessionKey, SessionStore,
    StoreError, WorkerId, WORKER_TTL,
};
use crate::session::PortingSession;
use crate::time::Timestamp;

/// The schema, for the default table name (replaced by the configured one).
const SCHEMA: &str = include_str!("postgres.sql");

/// How many times a refused write is tried again when the row, read back,
/// would have taken it (it changed between the write and the read).
const ATTEMPTS: usize = 3;

/// A worker's rate-budget row is deleted this long after it was last seen
/// (and its pause has passed): well past [`WORKER_TTL`], so replicas whose
/// clocks disagree a little never drop one that is still stepping.
const WORKER_FORGET_AFTER: Duration = Duration::from_secs(10 * 60);

/// The longest table name: with `_workers` added it is still within
/// Postgres's 63-byte identifiers.
const MAX_TABLE_NAME: usize = 55;

/// The key of the transaction-scoped advisory lock taken while creating
/// the schema, so replicas starting at once create it one at a time
/// (`CREATE ... IF NOT EXISTS` alone can race on the catalog).
const SCHEMA_LOCK: i64 = 0x7761_6261_706f_7274; // "wabaport"

/// Sessions in a Postgres table (feature `postgres`): the store for
/// replicas on many machines. Follows the whole [`SessionStore`] contract
/// with one SQL statement per operation — compare-and-swap saves as
/// conditional `UPDATE`s (`INSERT ... ON CONFLICT DO NOTHING` for a new
/// session), leases and fencing tokens in the row, and claims as one
/// `UPDATE` of the rows picked by `SELECT ... FOR UPDATE SKIP LOCKED`, so
/// replicas claiming at once never wait on each other nor get the same
/// session. Fencing tokens come from a sequence, `<table>_tokens`; the
/// shared rate budget ([`SessionStore::share_rate`]) lives in a second
/// table, `<table>_workers`.
///
/// ```no_run
/// use std::sync::Arc;
/// use waba_porting::{PostgresStore, SessionStore};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// // Creates the tables if missing; keeps 4 connections.
/// let store = Arc::new(
///     PostgresStore::builder("postgres://porting@127.0.0.1/porting")
///         .table("waba_porting_sessions")
///         .connections(4)
///         .connect()
///         .await?,
/// );
/// for session in store.list_unfinished().await? {
///     println!("{:?}: {}", session.phone_number(), session.state().name());
/// }
/// // Every replica: `Fleet::builder(client, Arc::clone(&store))`.
/// # Ok(()) }
/// ```
///
/// **Connections.** [`connect`](PostgresStoreBuilder::connect) opens
/// [`connections`](PostgresStoreBuilder::connections) connections
/// ([`DEFAULT_CONNECTIONS`](Self::DEFAULT_CONNECTIONS) by default) and
/// prepares its statements on each; operations take them in turn, and
/// concurrent operations on one connection are pipelined. A connection
/// that closed (a server restart, a network cut) is opened again by the
/// next operation that takes it; the operation that met the failure
/// returns a [`Backend`](super::StoreErrorKind::Backend) error and wrote
/// nothing it did not commit. Its connections need a tokio runtime
/// (each runs on a task spawned with `tokio::spawn`). Named prepared
/// statements need a session-mode pooler if one sits between (PgBouncer
/// 1.21+ handles them in transaction mode too).
///
/// **No TLS.** Connections are made without TLS (`NoTls`): reach the
/// server on loopback, a Unix socket (`host=/var/run/postgresql`) or a
/// private network, or through a local TLS-terminating proxy (a sidecar).
/// A URL with `sslmode=require` is refused by the connect.
///
/// Timeouts come from the connection string: `connect_timeout`, and
/// `tcp_user_timeout` or `keepalives_idle` for a server that vanishes
/// without closing the connection.
///
/// **Durability.** A save is durable when it returns as far as the
/// server's commit is: keep `synchronous_commit` on (the default).
///
/// # The schema
///
/// Made at connect time (unless
/// [`create_table(false)`](PostgresStoreBuilder::create_table)), under a
/// transaction-scoped advisory lock so replicas starting together do not
/// race; every statement is `IF NOT EXISTS`, so it is also a migration to
/// run yourself. For the default table, `waba_porting_sessions` (in the
/// connection's `search_path` schema; another table name replaces it
/// throughout):
///
#[doc = concat!("```sql\n", include_str!("postgres.sql"), "```")]
///
/// `revision`, `due_at`, `finished`, `state` and the lease columns are
/// what the store decides on; `session` (the [`PortingSession`] as JSON)
/// is what it loads. Query them for reports; change them only through the
/// store.
pub struct PostgresStore {
    config: Config,
    sql: Arc<Sql>,
    slots: Vec<RwLock<Arc<Conn>>>,
    next: AtomicUsize,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the connection string: it may carry a password.
        f.debug_struct("PostgresStore")
            .field("table", &self.sql.table)
            .field("connections", &self.slots.len())
            .finish_non_exhaustive()
    }
}

/// Configures and connects a [`PostgresStore`].
#[derive(Clone)]
#[must_use = "a builder does nothing until connect() is called"]
pub struct PostgresStoreBuilder {
    url: String,
    table: String,
    connections: usize,
    create_table: bool,
}

impl fmt::Debug for PostgresStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStoreBuilder")
            .field("table", &self.table)
            .field("connections", &self.connections)
            .field("create_table", &self.create_table)
            .finish_non_exhaustive()
    }
}

impl PostgresStoreBuilder {
    /// The table holding the sessions (default
    /// [`PostgresStore::DEFAULT_TABLE`]): lowercase ASCII letters, digits
    /// and `_`, starting with a letter or `_`, at most 55 bytes. The rate
    /// budget's table is `<table>_workers`, the fencing tokens' sequence
    /// `<table>_tokens`. Checked by
    /// [`connect`](Self::connect).
    pub fn table(mut self, table: impl Into<String>) -> Self {
        self.table = table.into();
        self
    }

    /// How many connections the store keeps (default
    /// [`PostgresStore::DEFAULT_CONNECTIONS`]; at least 1).
    pub fn connections(mut self, connections: usize) -> Self {
        self.connections = connections.max(1);
        self
    }

    /// Whether [`connect`](Self::connect) creates the tables and index if
    /// missing (default `true`). Turn it off when the database user may
    /// not create tables and the schema is migrated separately.
    pub fn create_table(mut self, create: bool) -> Self {
        self.create_table = create;
        self
    }

    /// Connects, creates the schema if asked, and prepares the statements.
    ///
    /// # Errors
    /// A backend error when the connection string does not parse, the
    /// table name is not allowed, there is no tokio runtime, or the server
    /// cannot be reached, refuses the login or the schema.
    pub async fn connect(self) -> Result<PostgresStore, StoreError> {
        check_table_name(&self.table)?;
        let mut config: Config = self
            .url
            .parse()
            .map_err(|e| StoreError::new("postgres: the connection string does not parse", e))?;
        if config.get_application_name().is_none() {
            config.application_name("waba-porting");
        }
        let sql = Arc::new(Sql::new(&self.table));
        if self.create_table {
            create_schema(&config, &sql).await?;
        }
        let mut slots = Vec::with_capacity(self.connections);
        for _ in 0..self.connections {
            slots.push(RwLock::new(Arc::new(Conn::open(&config, &sql).await?)));
        }
        Ok(PostgresStore {
            config,
            sql,
            slots,
            next: AtomicUsize::new(0),
        })
    }
}

impl PostgresStore {
    /// The table [`connect`](Self::connect) uses: `waba_porting_sessions`.
    pub const DEFAULT_TABLE: &'static str = "waba_porting_sessions";

    /// How many connections a store keeps unless told: 4.
    pub const DEFAULT_CONNECTIONS: usize = 4;

    /// Connects to the database at `url` (a `postgres://` URL or a
    /// `key=value` connection string) with the defaults: the
    /// [`DEFAULT_TABLE`](Self::DEFAULT_TABLE), created if missing, and
    /// [`DEFAULT_CONNECTIONS`](Self::DEFAULT_CONNECTIONS) connections.
    ///
    /// # Errors
    /// As [`PostgresStoreBuilder::connect`].
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::builder(url).connect().await
    }

    /// A builder for a store on the database at `url` (a `postgres://` URL
    /// or a `key=value` connection string; `NoTls`, see above).
    pub fn builder(url: impl Into<String>) -> PostgresStoreBuilder {
        PostgresStoreBuilder {
            url: url.into(),
            table: Self::DEFAULT_TABLE.to_owned(),
            connections: Self::DEFAULT_CONNECTIONS,
            create_table: true,
        }
    }

    /// The sessions' table.
    pub fn table(&self) -> &str {
        &self.sql.table
    }

    /// The next connection in turn, opened again if it closed.
    async fn conn(&self) -> Result<Arc<Conn>, StoreError> {
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len().max(1);
        let Some(slot) = self.slots.get(index) else {
            return Err(StoreError::new(
                "postgres: the store has no connection",
                "no connection",
            ));
        };
        let conn = slot.read().unwrap_or_else(PoisonError::into_inner).clone();
        if !conn.client.is_closed() {
            return Ok(conn);
        }
        let fresh = Arc::new(Conn::open(&self.config, &self.sql).await?);
        let mut current = slot.write().unwrap_or_else(PoisonError::into_inner);
        if current.client.is_closed() {
            *current = fresh.clone();
            Ok(fresh)
        } else {
            // Another task reopened it meanwhile: use that one.
            Ok(current.clone())
        }
    }

    /// The row's revision and lease, to tell why a write was refused.
    async fn inspect(&self, conn: &Conn, key: &SessionKey) -> Result<Option<Stored>, StoreError> {
        let row = conn
            .client
            .query_opt(&conn.inspect, &[&key.as_str()])
            .await
            .map_err(|e| db_error(format!("cannot read session {key}"), e))?;
        row.map(|row| Stored::from_row(&row, key)).transpose()
    }

    /// Gives back a lease taken by a claim or acquire that cannot be
    /// handed out (its session does not parse).
    async fn give_back(&self, conn: &Conn, lease: &Lease) {
        let _ = conn
            .client
            .execute(
                &conn.release,
                &[
                    &lease.key().as_str(),
                    &lease.worker().as_str(),
                    &int(lease.token()),
                ],
            )
            .await;
    }
}

/// The statements' text, for one table.
#[derive(Debug)]
struct Sql {
    table: String,
    schema: String,
    load: String,
    insert: String,
    update_leased: String,
    update_unleased: String,
    inspect: String,
    claim: String,
    acquire_insert: String,
    acquire_update: String,
    renew: String,
    release: String,
    list: String,
    share_rate: String,
}

impl Sql {
    fn new(table: &str) -> Self {
        let t = format!("\"{table}\"");
        let w = format!("\"{table}_workers\"");
        let token = format!("nextval('\"{table}_tokens\"')");
        let columns = "key, waba_id, revision, state, due_at, finished, session";
        let values = "$1, $2, $3, $4, $5, $6, $7::text::jsonb";
        let set = "waba_id = $2, revision = $3, state = $4, due_at = $5, finished = $6, \
                   session = $7::text::jsonb, updated_at = now()";
        Self {
            table: table.to_owned(),
            schema: SCHEMA.replace(PostgresStore::DEFAULT_TABLE, table),
            load: format!("SELECT session::text FROM {t} WHERE key = $1"),
            insert: format!(
                "INSERT INTO {t} ({columns}) VALUES ({values}) ON CONFLICT (key) DO NOTHING"
            ),
            update_leased: format!(
                "UPDATE {t} SET {set} WHERE key = $1 AND revision = $3::bigint - 1 \
                 AND lease_owner = $8 AND lease_token = $9"
            ),
            update_unleased: format!(
                "UPDATE {t} SET {set} WHERE key = $1 AND revision = $3::bigint - 1 \
                 AND (lease_until IS NULL OR lease_until <= $8)"
            ),
            inspect: format!(
                "SELECT revision, lease_owner, lease_token, lease_until FROM {t} WHERE key = $1"
            ),
            claim: format!(
                "WITH picked AS MATERIALIZED ( \
                   SELECT key FROM {t} \
                   WHERE NOT finished AND due_at <= $2 \
                     AND (lease_until IS NULL OR lease_until <= $2) \
                     AND ($5::bigint IS NULL OR lease_token < $5::bigint) \
                   ORDER BY due_at, key \
                   LIMIT $4 \
                   FOR UPDATE SKIP LOCKED \
                 ) \
                 UPDATE {t} AS s SET lease_owner = $1, lease_token = {token}, \
                   lease_until = $3, claimed_at = $2 \
                 FROM picked WHERE s.key = picked.key \
                 RETURNING s.key, s.lease_token, s.due_at, s.session::text"
            ),
            acquire_insert: format!(
                "INSERT INTO {t} AS s ({columns}, lease_owner, lease_token, lease_until, \
                   claimed_at) \
                 VALUES ({values}, $8, {token}, $9, $10) \
                 ON CONFLICT (key) DO UPDATE SET lease_owner = EXCLUDED.lease_owner, \
                   lease_token = EXCLUDED.lease_token, lease_until = EXCLUDED.lease_until, \
                   claimed_at = EXCLUDED.claimed_at \
                 WHERE s.lease_until IS NULL OR s.lease_until <= $10 \
                 RETURNING s.lease_token, s.session::text"
            ),
            acquire_update: format!(
                "UPDATE {t} SET lease_owner = $2, lease_token = {token}, \
                   lease_until = $3, claimed_at = $4 \
                 WHERE key = $1 AND (lease_until IS NULL OR lease_until <= $4) \
                 RETURNING lease_token, session::text"
            ),
            renew: format!(
                "UPDATE {t} SET lease_until = $4 \
                 WHERE key = $1 AND lease_owner = $2 AND lease_token = $3"
            ),
            release: format!(
                "UPDATE {t} SET lease_owner = NULL, lease_until = NULL \
                 WHERE key = $1 AND lease_owner = $2 AND lease_token = $3"
            ),
            list: format!("SELECT key, session::text FROM {t} WHERE NOT finished ORDER BY key"),
            // The upsert is not visible to the counting SELECT (one
            // snapshot): the caller is counted and its pause taken apart.
            share_rate: format!(
                "WITH seen AS ( \
                   INSERT INTO {w} AS r (worker, seen_at, paused_until) VALUES ($1, $2, $3) \
                   ON CONFLICT (worker) DO UPDATE \
                   SET seen_at = GREATEST(r.seen_at, EXCLUDED.seen_at), \
                     paused_until = GREATEST(r.paused_until, EXCLUDED.paused_until) \
                   RETURNING 1 \
                 ), forgotten AS ( \
                   DELETE FROM {w} WHERE worker IN ( \
                     SELECT worker FROM {w} \
                     WHERE worker <> $1 AND seen_at < $5 \
                       AND (paused_until IS NULL OR paused_until <= $2) \
                     LIMIT 100 FOR UPDATE SKIP LOCKED) \
                   RETURNING 1 \
                 ) \
                 SELECT 1 + (SELECT count(*) FROM {w} WHERE worker <> $1 AND seen_at >= $4), \
                   GREATEST((SELECT max(paused_until) FROM {w}), $3::bigint)"
            ),
        }
    }
}

/// One connection and its prepared statements.
struct Conn {
    client: Client,
    load: Statement,
    insert: Statement,
    update_leased: Statement,
    update_unleased: Statement,
    inspect: Statement,
    claim: Statement,
    acquire_insert: Statement,
    acquire_update: Statement,
    renew: Statement,
    release: Statement,
    list: Statement,
    share_rate: Statement,
}

impl Conn {
    async fn open(config: &Config, sql: &Sql) -> Result<Self, StoreError> {
        let client = connect(config).await?;
        let prepare = |text: &str| {
            let client = &client;
            let text = text.to_owned();
            async move {
                client.prepare(&text).await.map_err(|e| {
                    db_error(
                        format!("cannot prepare the statements on table {}", sql.table),
                        e,
                    )
                })
            }
        };
        Ok(Self {
            load: prepare(&sql.load).await?,
            insert: prepare(&sql.insert).await?,
            update_leased: prepare(&sql.update_leased).await?,
            update_unleased: prepare(&sql.update_unleased).await?,
            inspect: prepare(&sql.inspect).await?,
            claim: prepare(&sql.claim).await?,
            acquire_insert: prepare(&sql.acquire_insert).await?,
            acquire_update: prepare(&sql.acquire_update).await?,
            renew: prepare(&sql.renew).await?,
            release: prepare(&sql.release).await?,
            list: prepare(&sql.list).await?,
            share_rate: prepare(&sql.share_rate).await?,
            client,
        })
    }
}

/// Opens one connection, its I/O on a task of the current tokio runtime.
async fn connect(config: &Config) -> Result<Client, StoreError> {
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|e| StoreError::new("postgres: PostgresStore needs a tokio runtime", e))?;
    let (client, connection) = config
        .connect(NoTls)
        .await
        .map_err(|e| db_error("cannot connect to the database".to_owned(), e))?;
    // Ends with an error when the connection breaks: the client then says
    // it is closed, and the store opens another.
    runtime.spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// Creates the tables and index if missing, one replica at a time.
async fn create_schema(config: &Config, sql: &Sql) -> Result<(), StoreError> {
    let mut client = connect(config).await?;
    let failed = |e| db_error(format!("cannot create table {}", sql.table), e);
    let transaction = client.transaction().await.map_err(failed)?;
    transaction
        .execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
        .await
        .map_err(failed)?;
    transaction
        .batch_execute(&sql.schema)
        .await
        .map_err(failed)?;
    transaction.commit().await.map_err(failed)
}

fn check_table_name(table: &str) -> Result<(), StoreError> {
    let mut chars = table.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if starts_well && rest_ok && table.len() <= MAX_TABLE_NAME {
        Ok(())
    } else {
        Err(StoreError::new(
            format!("postgres: table name {table:?} is not allowed"),
            "use lowercase ASCII letters, digits and '_', starting with a letter or '_', \
             at most 55 bytes",
        ))
    }
}

/// A backend error saying `what` failed (with the server's message, when
/// the server sent one).
fn db_error(what: String, error: tokio_postgres::Error) -> StoreError {
    let what = match error.as_db_error() {
        Some(db) => format!("postgres: {what}: {} ({})", db.message(), db.code().code()),
        None => format!("postgres: {what}: {error}"),
    };
    StoreError::new(what, error)
}

/// A count or time as a BIGINT (saturating: times past year 292 million).
fn int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn millis(time: Timestamp) -> i64 {
    int(time.as_unix_millis())
}

/// A BIGINT read back as a count or time (never negative as written).
fn uint(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// A stored row's revision and lease.
#[derive(Debug)]
struct Stored {
    revision: u64,
    owner: Option<String>,
    token: u64,
    until: Option<Timestamp>,
}

impl Stored {
    fn from_row(row: &Row, key: &SessionKey) -> Result<Self, StoreError> {
        let read = |e| {
            StoreError::new(
                format!("postgres: the row of session {key} cannot be read"),
                e,
            )
        };
        Ok(Self {
            revision: uint(row.try_get(0).map_err(read)?),
            owner: row.try_get(1).map_err(read)?,
            token: uint(row.try_get(2).map_err(read)?),
            until: row
                .try_get::<_, Option<i64>>(3)
                .map_err(read)?
                .map(|until| Timestamp::from_unix_millis(uint(until))),
        })
    }

    /// The lease in the row, live or lapsed, until released.
    fn holder(&self) -> Option<Holder> {
        let owner = self.owner.as_ref()?;
        let until = self.until?;
        Some(Holder::new(WorkerId::new(owner.clone()), until))
    }

    fn live_holder(&self, now: Timestamp) -> Option<Holder> {
        self.holder().filter(|holder| holder.until() > now)
    }

    fn holds(&self, lease: &Lease) -> bool {
        self.token == lease.token() && self.owner.as_deref() == Some(lease.worker().as_str())
    }
}

/// Why a save of `key` as `revision` under `lease` at `now` was refused,
/// from the row read after it; `None` when the row would take it now (it
/// changed in between: try again). The reference rules of
/// `Table::check_save`.
fn refusal(
    key: &SessionKey,
    stored: Option<&Stored>,
    revision: u64,
    lease: Option<&Lease>,
    now: Timestamp,
) -> Option<StoreError> {
    let Some(row) = stored else {
        if lease.is_some() {
            return Some(StoreError::fenced(key, None));
        }
        if revision != 1 {
            return Some(StoreError::conflict(key, None));
        }
        return None;
    };
    match lease {
        Some(lease) if !row.holds(lease) || lease.key() != key => {
            return Some(StoreError::fenced(key, row.holder()));
        }
        Some(_) => {}
        None => {
            if let Some(holder) = row.live_holder(now) {
                return Some(StoreError::fenced(key, Some(holder)));
            }
        }
    }
    if row.revision.checked_add(1) != Some(revision) {
        return Some(StoreError::conflict(key, Some(row.revision)));
    }
    None
}

/// Column `index` of a row of session `key`.
fn read<'a, T: FromSql<'a>>(row: &'a Row, index: usize, key: &str) -> Result<T, StoreError> {
    row.try_get(index).map_err(|e| {
        StoreError::new(
            format!("postgres: the row of session {key} cannot be read"),
            e,
        )
    })
}

/// Where a session came from, for a parse error.
fn origin(table: &str, key: &str) -> String {
    format!("postgres table {table}, key {key}")
}

#[async_trait]
impl SessionStore for PostgresStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<PortingSession>, StoreError> {
        let conn = self.conn().await?;
        let row = conn
            .client
            .query_opt(&conn.load, &[&key.as_str()])
            .await
            .map_err(|e| db_error(format!("cannot load session {key}"), e))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let json = read::<String>(&row, 0, key.as_str())?;
        parse(&json, &origin(&self.sql.table, key.as_str())).map(Some)
    }

    async fn save(
        &self,
        session: &PortingSession,
        lease: Option<&Lease>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let json = to_json(session)?;
        let key = SessionKey::of(session);
        let revision = session.revision();
        let stored_revision = i64::try_from(revision).map_err(|e| {
            StoreError::new(format!("postgres: session {key}: revision out of range"), e)
        })?;
        let waba_id = session.waba_id().as_str();
        let state = session.state().name().as_str();
        let due = millis(super::due_at(session));
        let finished = session.is_finished();
        let now_ms = millis(now);
        let conn = self.conn().await?;
        let mut stored = None;
        for _ in 0..ATTEMPTS {
            let common: [&(dyn ToSql + Sync); 7] = [
                &key.as_str(),
                &waba_id,
                &stored_revision,
                &state,
                &due,
                &finished,
                &json,
            ];
            let result = match lease {
                // A lease of another session never writes this one.
                Some(lease) if lease.key() != &key => Ok(0),
                Some(lease) => {
                    let (worker, token) = (lease.worker().as_str(), int(lease.token()));
                    let [a, b, c, d, e, f, g] = common;
                    conn.client
                        .execute(&conn.update_leased, &[a, b, c, d, e, f, g, &worker, &token])
                        .await
                }
                None if revision == 1 => conn.client.execute(&conn.insert, &common).await,
                None => {
                    let [a, b, c, d, e, f, g] = common;
                    conn.client
                        .execute(&conn.update_unleased, &[a, b, c, d, e, f, g, &now_ms])
                        .await
                }
            };
            let written = result.map_err(|e| db_error(format!("cannot save session {key}"), e))?;
            if written > 0 {
                return Ok(());
            }
            stored = self.inspect(&conn, &key).await?;
            if let Some(error) = refusal(&key, stored.as_ref(), revision, lease, now) {
                return Err(error);
            }
        }
        // The row kept changing under this save: it is not the one loaded.
        Err(StoreError::conflict(
            &key,
            stored.map(|stored| stored.revision),
        ))
    }

    async fn claim(
        &self,
        worker: &WorkerId,
        limit: usize,
        now: Timestamp,
        lease_for: Duration,
        pass: Option<u64>,
    ) -> Result<Vec<Claimed>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let until = now.saturating_add(lease_for);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // A floor above every BIGINT token is no floor.
        let pass = pass.map(int);
        let conn = self.conn().await?;
        let rows = conn
            .client
            .query(
                &conn.claim,
                &[
                    &worker.as_str(),
                    &millis(now),
                    &millis(until),
                    &limit,
                    &pass,
                ],
            )
            .await
            .map_err(|e| db_error("cannot claim sessions".to_owned(), e))?;
        let mut picked = Vec::with_capacity(rows.len());
        let mut failure = None;
        for row in &rows {
            let columns = read::<String>(row, 0, "?").and_then(|key| {
                let token = read::<i64>(row, 1, &key)?;
                let due = read::<i64>(row, 2, &key)?;
                let json = read::<String>(row, 3, &key)?;
                Ok((due, key, token, json))
            });
            match columns {
                Ok(columns) => picked.push(columns),
                Err(error) => failure = failure.or(Some(error)),
            }
        }
        // Earliest due first, then by key (RETURNING keeps no order).
        picked.sort_unstable_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        let mut claimed = Vec::with_capacity(picked.len());
        let mut leases = Vec::with_capacity(picked.len());
        for (_, key, token, json) in picked {
            let lease = Lease::new(
                SessionKey::from_stored(key.clone()),
                worker.clone(),
                uint(token),
                until,
            );
            match parse(&json, &origin(&self.sql.table, &key)) {
                Ok(session) => claimed.push(Claimed::new(session, lease.clone())),
                Err(error) => failure = failure.or(Some(error)),
            }
            leases.push(lease);
        }
        if let Some(error) = failure {
            // Give back what is not handed out.
            for lease in &leases {
                self.give_back(&conn, lease).await;
            }
            return Err(error);
        }
        Ok(claimed)
    }

    async fn acquire(
        &self,
        session: &PortingSession,
        worker: &WorkerId,
        now: Timestamp,
        lease_for: Duration,
    ) -> Result<Acquired, StoreError> {
        let key = SessionKey::of(session);
        let until = now.saturating_add(lease_for);
        let (now_ms, until_ms) = (millis(now), millis(until));
        let conn = self.conn().await?;
        let new = session.revision() == 1;
        let json = if new { Some(to_json(session)?) } else { None };
        for _ in 0..ATTEMPTS {
            let row = match &json {
                Some(json) => {
                    let revision = 1_i64;
                    let due = millis(super::due_at(session));
                    conn.client
                        .query_opt(
                            &conn.acquire_insert,
                            &[
                                &key.as_str(),
                                &session.waba_id().as_str(),
                                &revision,
                                &session.state().name().as_str(),
                                &due,
                                &session.is_finished(),
                                json,
                                &worker.as_str(),
                                &until_ms,
                                &now_ms,
                            ],
                        )
                        .await
                }
                None => {
                    conn.client
                        .query_opt(
                            &conn.acquire_update,
                            &[&key.as_str(), &worker.as_str(), &until_ms, &now_ms],
                        )
                        .await
                }
            }
            .map_err(|e| db_error(format!("cannot lease session {key}"), e))?;
            if let Some(row) = row {
                let token = read::<i64>(&row, 0, key.as_str())?;
                let stored = read::<String>(&row, 1, key.as_str())?;
                let lease = Lease::new(key.clone(), worker.clone(), uint(token), until);
                return match parse(&stored, &origin(&self.sql.table, key.as_str())) {
                    Ok(stored) => Ok(Acquired::Claimed(Claimed::new(stored, lease))),
                    Err(error) => {
                        self.give_back(&conn, &lease).await;
                        Err(error)
                    }
                };
            }
            match self.inspect(&conn, &key).await? {
                None if !new => return Err(StoreError::conflict(&key, None)),
                Some(stored) => {
                    if let Some(holder) = stored.live_holder(now) {
                        return Ok(Acquired::Held(holder));
                    }
                }
                None => {}
            }
        }
        Err(StoreError::new(
            format!("postgres: cannot lease session {key}"),
            "its row kept changing; try again",
        ))
    }

    async fn renew(
        &self,
        lease: &Lease,
        now: Timestamp,
        lease_for: Duration,
    ) -> Result<Lease, StoreError> {
        let key = lease.key();
        let until = now.saturating_add(lease_for);
        let conn = self.conn().await?;
        let renewed = conn
            .client
            .execute(
                &conn.renew,
                &[
                    &key.as_str(),
                    &lease.worker().as_str(),
                    &int(lease.token()),
                    &millis(until),
                ],
            )
            .await
            .map_err(|e| db_error(format!("cannot renew the lease of session {key}"), e))?;
        if renewed > 0 {
            return Ok(lease.renewed_until(until));
        }
        let holder = self
            .inspect(&conn, key)
            .await?
            .and_then(|stored| stored.holder());
        Err(StoreError::fenced(key, holder))
    }

    async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        let key = lease.key();
        let conn = self.conn().await?;
        conn.client
            .execute(
                &conn.release,
                &[&key.as_str(), &lease.worker().as_str(), &int(lease.token())],
            )
            .await
            .map_err(|e| db_error(format!("cannot release the lease of session {key}"), e))?;
        Ok(())
    }

    async fn list_unfinished(&self) -> Result<Vec<PortingSession>, StoreError> {
        let conn = self.conn().await?;
        let rows = conn
            .client
            .query(&conn.list, &[])
            .await
            .map_err(|e| db_error("cannot list sessions".to_owned(), e))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let key = read::<String>(row, 0, "?")?;
            let json = read::<String>(row, 1, &key)?;
            let session = parse(&json, &origin(&self.sql.table, &key))?;
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
        let now_ms = millis(now);
        let paused = paused_until.map(millis);
        let live_since = now_ms.saturating_sub(int(
            u64::try_from(WORKER_TTL.as_millis()).unwrap_or(u64::MAX)
        ));
        let forget_before = now_ms
            .saturating_sub(int(
                u64::try_from(WORKER_FORGET_AFTER.as_millis()).unwrap_or(u64::MAX)
            ));
        let conn = self.conn().await?;
        let row = conn
            .client
            .query_one(
                &conn.share_rate,
                &[
                    &worker.as_str(),
                    &now_ms,
                    &paused,
                    &live_since,
                    &forget_before,
                ],
            )
            .await
            .map_err(|e| db_error("cannot share the rate budget".to_owned(), e))?;
        let read = |e| StoreError::new("postgres: the rate budget cannot be read", e);
        let workers: i64 = row.try_get(0).map_err(read)?;
        let paused: Option<i64> = row.try_get(1).map_err(read)?;
        let paused = paused
            .map(|until| Timestamp::from_unix_millis(uint(until)))
            .filter(|until| *until > now);
        Ok(RateShare::new(
            paused,
            u32::try_from(workers).unwrap_or(u32::MAX),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_plain_identifiers() {
        for good in ["waba_porting_sessions", "_t", "t1", &"a".repeat(55)] {
            assert!(check_table_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "1t",
            "Sessions",
            "a-b",
            "a\"b",
            "a;drop table x",
            "é",
            &"a".repeat(56),
        ] {
            assert!(check_table_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_schema_is_renamed_throughout() {
        let sql = Sql::new("ports");
        assert!(!sql.schema.contains("waba_porting_sessions"));
        assert!(sql.schema.contains("\"ports\" ("));
        assert!(sql.schema.contains("\"ports_due\""));
        assert!(sql.schema.contains("\"ports_workers\""));
        assert!(sql.schema.contains("\"ports_tokens\""));
        assert!(sql.claim.contains("nextval('\"ports_tokens\"')"));
    }

    #[test]
    fn counts_and_tokens_saturate_into_bigint() {
        assert_eq!(int(u64::MAX), i64::MAX);
        assert_eq!(uint(-1), 0);
    }
}
