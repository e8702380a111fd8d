//! Opening a store: URL parsing, the connection pool, SQLite pragmas and migrations.

use std::fmt;
use std::path::Path;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{
    self, CustomizeConnection, HandleError, ManageConnection, Pool, PooledConnection,
};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::committer::{Committer, Tx};
use super::model::{Backend, StoreError};

/// One connection to either backend. Queries that diesel can express on the
/// multi-connection run on it directly; the rest match on the variant.
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Key of the PostgreSQL advisory lock that serialises concurrent migrators.
const MIGRATION_LOCK_KEY: i64 = 0x5350_4543_4d49_4c4c; // "SPECMILL"

/// Set on every SQLite connection: wait for locks instead of failing at once (first,
/// so the others wait too), write-ahead log, fsync on commit so an acknowledged write
/// survives a crash, and enforce foreign keys (off by default in SQLite).
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; \
                              PRAGMA journal_mode = WAL; \
                              PRAGMA synchronous = FULL; \
                              PRAGMA foreign_keys = ON;";

/// Set on the PostgreSQL writer connection: plan each of its (cached, prepared) statements
/// for the values it runs with, instead of the generic plan PostgreSQL may adopt after five
/// runs of a prepared statement. The 10-minute soak showed the writer's point lookup
/// (`point_key = ANY($1)`) slowing as the table grew (write p99 from 80 ms to 3 s); with
/// custom plans it stays flat. Planning these statements costs a fraction of a millisecond.
const WRITER_PG_SETTINGS: &str = "SET plan_cache_mode = force_custom_plan";

const SQLITE_POOL_SIZE: u32 = 8;
const POSTGRES_POOL_SIZE: u32 = 16;
/// How long a read waits for a pooled connection before it fails as unavailable (each
/// API's 503, which clients retry): long enough to ride out a busy pool, short enough
/// that a database that is down is reported while the client still waits.
const POOL_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Where to connect, decided once from the URL (the derived
/// `MultiConnection::establish` would instead try every backend in turn).
#[derive(Clone)]
enum Target {
    Postgres(String),
    /// A file path, or a SQLite `file:` URI.
    Sqlite(String),
}

impl Target {
    fn parse(url: &str) -> Result<Target, StoreError> {
        let url = url.trim();
        if url.is_empty() {
            return Err(StoreError::InvalidUrl("empty database url".into()));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Target::Postgres(url.to_string()));
        }
        let (sqlite, plain_path) = if let Some(rest) = url.strip_prefix("sqlite://") {
            (rest, true)
        } else if let Some(rest) = url.strip_prefix("sqlite:") {
            (rest, true)
        } else if url.starts_with("file:") {
            (url, false)
        } else if let Some((scheme, _)) = url.split_once("://") {
            return Err(StoreError::InvalidUrl(format!(
                "unsupported scheme {scheme:?}: use postgres://, postgresql://, sqlite://, file: or a path"
            )));
        } else {
            (url, true)
        };
        if sqlite.is_empty() || sqlite == "file:" {
            return Err(StoreError::InvalidUrl("empty SQLite path".into()));
        }
        if sqlite.contains(":memory:") || sqlite.contains("mode=memory") {
            return Err(StoreError::InvalidUrl(
                "in-memory SQLite is not supported (every pooled connection would see its own database): use a file"
                    .into(),
            ));
        }
        if plain_path {
            if let Some(dir) = Path::new(sqlite).parent() {
                if !dir.as_os_str().is_empty() && !dir.exists() {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        StoreError::Connection(diesel::ConnectionError::BadConnection(format!(
                            "cannot create directory {}: {e}",
                            dir.display()
                        )))
                    })?;
                }
            }
        }
        Ok(Target::Sqlite(sqlite.to_string()))
    }

    fn backend(&self) -> Backend {
        match self {
            Target::Postgres(_) => Backend::Postgres,
            Target::Sqlite(_) => Backend::Sqlite,
        }
    }

    fn establish(&self) -> diesel::ConnectionResult<AnyConnection> {
        match self {
            Target::Postgres(url) => PgConnection::establish(url).map(AnyConnection::Postgresql),
            Target::Sqlite(path) => SqliteConnection::establish(path).map(AnyConnection::Sqlite),
        }
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // never print a PostgreSQL URL: it may carry a password
            Target::Postgres(_) => f.write_str("Postgres(..)"),
            Target::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
        }
    }
}

/// r2d2 manager that connects to the backend chosen from the URL.
#[derive(Debug)]
pub struct AnyConnectionManager {
    target: Target,
}

impl ManageConnection for AnyConnectionManager {
    type Connection = AnyConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<AnyConnection, r2d2::Error> {
        self.target
            .establish()
            .map_err(r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), r2d2::Error> {
        r2d2::R2D2Connection::ping(conn).map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut AnyConnection) -> bool {
        std::thread::panicking() || r2d2::R2D2Connection::is_broken(conn)
    }
}

/// Applies [`SQLITE_PRAGMAS`] to every new pooled SQLite connection.
#[derive(Debug)]
struct ConnectionSetup;

impl CustomizeConnection<AnyConnection, r2d2::Error> for ConnectionSetup {
    fn on_acquire(&self, conn: &mut AnyConnection) -> Result<(), r2d2::Error> {
        setup_connection(conn).map_err(r2d2::Error::QueryError)
    }
}

fn setup_connection(conn: &mut AnyConnection) -> diesel::QueryResult<()> {
    match conn {
        AnyConnection::Sqlite(c) => c.batch_execute(SQLITE_PRAGMAS),
        AnyConnection::Postgresql(_) => Ok(()),
    }
}

/// Sends pool errors (failed reconnects) to tracing rather than the `log` crate.
#[derive(Debug)]
struct TracingErrorHandler;

impl HandleError<r2d2::Error> for TracingErrorHandler {
    fn handle_error(&self, error: r2d2::Error) {
        tracing::warn!(error = %error, "store connection pool error");
    }
}

type MigrationResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Applies pending migrations under an exclusive lock (SQLite: `BEGIN IMMEDIATE`;
/// PostgreSQL: a transaction-scoped advisory lock), so concurrent openers of one
/// database cannot both apply the same migration. Returns the applied names.
fn run_migrations(conn: &mut AnyConnection) -> Result<Vec<String>, StoreError> {
    fn names<DB: diesel::backend::Backend>(
        pending: &[Box<dyn diesel::migration::Migration<DB>>],
    ) -> Vec<String> {
        pending.iter().map(|m| m.name().to_string()).collect()
    }
    let result: MigrationResult<Vec<String>> = match conn {
        AnyConnection::Sqlite(c) => c.immediate_transaction(|c| {
            let pending = c.pending_migrations(SQLITE_MIGRATIONS)?;
            c.run_migrations(&pending)?;
            MigrationResult::Ok(names(&pending))
        }),
        AnyConnection::Postgresql(c) => c.transaction(|c| {
            diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
                .bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK_KEY)
                .execute(c)?;
            let pending = c.pending_migrations(POSTGRES_MIGRATIONS)?;
            c.run_migrations(&pending)?;
            MigrationResult::Ok(names(&pending))
        }),
    };
    let applied = result.map_err(|e| StoreError::Migration(e.to_string()))?;
    for name in &applied {
        tracing::info!(migration = %name, "applied store migration");
    }
    Ok(applied)
}

/// The store: a pool of connections to one database for reads, and one writer thread
/// (group commit, see [`super::committer`]) for writes. Cheap to clone; clones share both.
#[derive(Clone)]
pub struct Store {
    pool: Pool<AnyConnectionManager>,
    backend: Backend,
    committer: Committer,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

pub(crate) type Conn = PooledConnection<AnyConnectionManager>;

impl Store {
    /// Opens a store and applies pending migrations.
    ///
    /// `postgres://…` / `postgresql://…` select PostgreSQL; `sqlite://path`,
    /// `sqlite:path`, `file:path` (a SQLite URI) or a plain path select a SQLite file,
    /// created (with its directory) if missing. In-memory SQLite is refused.
    pub fn open(url: &str) -> Result<Store, StoreError> {
        Ok(Store::open_migrated(url)?.0)
    }

    /// [`Store::open`], also returning the names of the migrations it applied (empty when
    /// the schema was current). Concurrent openers of one database apply each migration
    /// once: the run holds a lock (SQLite's write lock; a PostgreSQL advisory lock).
    pub fn open_migrated(url: &str) -> Result<(Store, Vec<String>), StoreError> {
        let target = Target::parse(url)?;
        let backend = target.backend();
        // One direct connection first: a bad URL or a down server fails here at once
        // (a pool would retry until its timeout), and migrations run before any use.
        let mut conn = target.establish()?;
        setup_connection(&mut conn)?;
        let applied = run_migrations(&mut conn)?;
        drop(conn);
        let size = match backend {
            Backend::Sqlite => SQLITE_POOL_SIZE,
            Backend::Postgres => POSTGRES_POOL_SIZE,
        };
        let writer_target = target.clone();
        let committer = Committer::start(move || {
            let mut conn = writer_target.establish()?;
            setup_connection(&mut conn)?;
            if let AnyConnection::Postgresql(c) = &mut conn {
                c.batch_execute(WRITER_PG_SETTINGS)?;
            }
            Ok(conn)
        })?;
        let pool = Pool::builder()
            .max_size(size)
            .min_idle(Some(1))
            .connection_timeout(POOL_WAIT)
            .connection_customizer(Box::new(ConnectionSetup))
            .error_handler(Box::new(TracingErrorHandler))
            .build(AnyConnectionManager { target })?;
        tracing::debug!(?backend, "store opened");
        Ok((Store { pool, backend, committer }, applied))
    }

    /// Applies pending migrations; returns the names of those applied (empty when the
    /// schema is current).
    pub fn migrate(&self) -> Result<Vec<String>, StoreError> {
        run_migrations(&mut *self.conn()?)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Checks the database's own structure after a crash: SQLite's `PRAGMA
    /// integrity_check` (every page, index and constraint of the file); PostgreSQL checks
    /// its own files on startup, so there only a query must succeed. `Ok(Err(problems))`
    /// when the check found some.
    pub fn check_integrity(&self) -> Result<Result<(), String>, StoreError> {
        #[derive(diesel::QueryableByName)]
        struct Line {
            #[diesel(sql_type = diesel::sql_types::Text)]
            integrity_check: String,
        }
        let mut conn = self.conn()?;
        let lines: Vec<Line> = match &mut *conn {
            AnyConnection::Sqlite(c) => diesel::sql_query("PRAGMA integrity_check").load(c)?,
            AnyConnection::Postgresql(c) => diesel::sql_query("SELECT 'ok' AS integrity_check").load(c)?,
        };
        let lines: Vec<String> = lines.into_iter().map(|l| l.integrity_check).collect();
        Ok(if lines == ["ok"] { Ok(()) } else { Err(lines.join("; ")) })
    }

    /// A pooled connection.
    pub(crate) fn conn(&self) -> Result<Conn, StoreError> {
        Ok(self.pool.get()?)
    }

    /// Runs `body` as one write of the next group commit and returns its result once the
    /// group's transaction has committed (see [`super::committer`]). `rows`: about how many
    /// rows it writes. The body runs inside the group's write transaction (in its own
    /// savepoint when a write of the group failed), so it uses `with_conn!` and must not
    /// call the store; it may run twice, only the run that commits counts.
    pub(crate) fn write<T, F>(&self, rows: usize, body: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnMut(&mut Tx<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        self.committer.write(rows, body)
    }
}
