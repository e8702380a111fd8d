//! Helpers for tests that need a real database: a fresh SQLite file, or a fresh
//! PostgreSQL database on the server named by `SPECMILL_TEST_POSTGRES_URL`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use diesel::pg::{Pg, PgConnection};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::{Connection, QueryResult, RunQueryDsl};

use super::model::StoreError;

/// Environment variable naming the PostgreSQL server (and a database to connect to for
/// administration) that tests create their databases on.
pub const POSTGRES_URL_ENV: &str = "SPECMILL_TEST_POSTGRES_URL";
/// Used when [`POSTGRES_URL_ENV`] is unset or empty.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
/// Prefix of every database and directory these helpers create.
pub const TEST_DB_PREFIX: &str = "specmill_t_";

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// `specmill_t_<pid>_<counter>_<nanos>`: unique across threads and processes.
fn unique_name() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{TEST_DB_PREFIX}{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The admin URL from the environment (or the default), whether or not it answers.
pub fn postgres_admin_url_setting() -> String {
    std::env::var(POSTGRES_URL_ENV)
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_POSTGRES_URL.to_string())
}

/// Runs `test` with the URL of a fresh SQLite store, then of a fresh PostgreSQL database,
/// removing each afterwards. Without a PostgreSQL server the second run is skipped, with a
/// note on the real stderr (the harness captures `eprintln!` of passing tests); when `CI`
/// is set that is a failure instead.
pub fn on_each_backend(test: impl Fn(&str)) {
    let path = fresh_sqlite_path();
    test(&path.display().to_string());
    let _ = std::fs::remove_dir_all(path.parent().unwrap_or(&path));
    let admin = match probe_postgres() {
        Ok(url) => url,
        Err(reason) if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) => {
            panic!("PostgreSQL is required when CI is set: {reason}")
        }
        Err(reason) => {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "SKIP postgres: {reason}");
            return;
        }
    };
    let url = fresh_postgres_database(&admin).expect("create a fresh PostgreSQL database");
    test(&url);
    let _ = drop_postgres_database(&admin, &url);
}

/// Tries to connect to the admin URL: `Ok(url)`, or `Err(reason)` to report a skip.
pub fn probe_postgres() -> Result<String, String> {
    probe_postgres_url(&postgres_admin_url_setting())
}

/// Tries to connect to `url` (waiting at most 5 s): `Ok(url)`, or `Err(reason)`.
pub fn probe_postgres_url(url: &str) -> Result<String, String> {
    let url = url.to_string();
    // bound the wait when the address does not answer at all
    let probe = if url.contains("connect_timeout=") {
        url.clone()
    } else if url.contains('?') {
        format!("{url}&connect_timeout=5")
    } else {
        format!("{url}?connect_timeout=5")
    };
    match PgConnection::establish(&probe) {
        Ok(_) => Ok(url),
        Err(e) => Err(format!(
            "cannot connect to {} ({POSTGRES_URL_ENV}): {}",
            redact(&url),
            e.to_string().trim()
        )),
    }
}

/// The PostgreSQL admin URL (env `SPECMILL_TEST_POSTGRES_URL`, default
/// `postgres://postgres@127.0.0.1:5432/test`), or `None` when the server does not answer.
pub fn postgres_admin_url() -> Option<String> {
    probe_postgres().ok()
}

/// A database name this module may create or drop: `specmill_t_` then `[a-z0-9_]`,
/// at most 63 bytes (PostgreSQL's identifier limit).
fn validate_identifier(name: &str) -> Result<(), StoreError> {
    let ok = name.starts_with(TEST_DB_PREFIX)
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidUrl(format!(
            "refusing database name {name:?}"
        )))
    }
}

/// `url` with its database (path) replaced by `db`, keeping any `?query`.
fn with_database(url: &str, db: &str) -> Result<String, StoreError> {
    let scheme_end = url
        .find("://")
        .ok_or_else(|| StoreError::InvalidUrl(format!("not a URL: {}", redact(url))))?
        + 3;
    let (head, query) = match url[scheme_end..].find('?') {
        Some(q) => url.split_at(scheme_end + q),
        None => (url, ""),
    };
    let authority_end = head[scheme_end..]
        .find('/')
        .map_or(head.len(), |i| scheme_end + i);
    Ok(format!("{}/{db}{query}", &head[..authority_end]))
}

/// The database name in a PostgreSQL URL.
fn database_of(url: &str) -> Option<&str> {
    let rest = &url[url.find("://")? + 3..];
    let rest = rest.split('?').next()?;
    rest.split_once('/').map(|(_, db)| db)
}

/// Hides a password in a URL for messages.
fn redact(url: &str) -> String {
    if let (Some(s), Some(at)) = (url.find("://"), url.find('@')) {
        let userinfo = &url[s + 3..at];
        if let Some((user, _)) = userinfo.split_once(':') {
            return format!("{}{user}:***{}", &url[..s + 3], &url[at..]);
        }
    }
    url.to_string()
}

/// `CREATE DATABASE` / `DROP DATABASE`, which take no bind parameters: the (validated)
/// name goes in as an identifier, quoted by diesel.
enum DatabaseDdl<'a> {
    Create(&'a str),
    /// Closing any connections still open to it.
    Drop(&'a str),
}

impl QueryId for DatabaseDdl<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<Pg> for DatabaseDdl<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.unsafe_to_cache_prepared();
        match self {
            DatabaseDdl::Create(name) => {
                out.push_sql("CREATE DATABASE ");
                out.push_identifier(name)
            }
            DatabaseDdl::Drop(name) => {
                out.push_sql("DROP DATABASE IF EXISTS ");
                out.push_identifier(name)?;
                out.push_sql(" WITH (FORCE)");
                Ok(())
            }
        }
    }
}

impl RunQueryDsl<PgConnection> for DatabaseDdl<'_> {}

/// Creates a uniquely named empty database on the server of `admin_url` and returns
/// its URL.
pub fn fresh_postgres_database(admin_url: &str) -> Result<String, StoreError> {
    let name = unique_name();
    validate_identifier(&name)?;
    let url = with_database(admin_url, &name)?;
    let mut conn = PgConnection::establish(admin_url)?;
    DatabaseDdl::Create(&name).execute(&mut conn)?;
    Ok(url)
}

/// Drops a database made by [`fresh_postgres_database`] (given its URL), closing any
/// connections still open to it. Refuses names this module did not generate.
pub fn drop_postgres_database(admin_url: &str, database_url: &str) -> Result<(), StoreError> {
    let name = database_of(database_url).ok_or_else(|| {
        StoreError::InvalidUrl(format!("no database in {}", redact(database_url)))
    })?;
    validate_identifier(name)?;
    let mut conn = PgConnection::establish(admin_url)?;
    DatabaseDdl::Drop(name).execute(&mut conn)?;
    Ok(())
}

/// A path for a new SQLite database file, in a new directory under the temp dir
/// (the directory holds the WAL and shared-memory files too).
pub fn fresh_sqlite_path() -> PathBuf {
    let dir = std::env::temp_dir().join(unique_name());
    // best effort: Store::open creates a missing directory as well
    let _ = std::fs::create_dir_all(&dir);
    dir.join("store.db")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_are_rewritten() {
        assert_eq!(
            with_database("postgres://u@h:5432/test", "specmill_t_1").unwrap(),
            "postgres://u@h:5432/specmill_t_1"
        );
        assert_eq!(
            with_database("postgresql://u:p@h/test?sslmode=disable", "specmill_t_1").unwrap(),
            "postgresql://u:p@h/specmill_t_1?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h:5432", "specmill_t_1").unwrap(),
            "postgres://h:5432/specmill_t_1"
        );
        assert_eq!(
            database_of("postgres://u@h/specmill_t_1?x=1"),
            Some("specmill_t_1")
        );
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
    }

    #[test]
    fn only_generated_names_are_accepted() {
        let name = unique_name();
        assert!(validate_identifier(&name).is_ok(), "{name}");
        assert!(validate_identifier("postgres").is_err());
        assert!(validate_identifier("specmill_t_x\"; DROP").is_err());
        assert!(validate_identifier(&format!("{TEST_DB_PREFIX}{}", "a".repeat(60))).is_err());
    }
}
