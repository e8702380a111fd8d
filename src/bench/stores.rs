//! A fresh store per measured backend, removed afterwards: a SQLite file in a new temp
//! directory, or a new PostgreSQL database (dropped when done).

use std::path::PathBuf;

use anyhow::Context;
use specmill_runtime::store::{testdb, Store};

/// Which database a run of the benchmark measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn label(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite (WAL, synchronous=FULL)",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

enum Cleanup {
    /// The directory holding the database, its WAL and shared-memory files.
    SqliteDir(PathBuf),
    Postgres { admin_url: String },
}

/// An empty, migrated store that is removed on drop.
pub struct FreshStore {
    pub backend: Backend,
    pub url: String,
    cleanup: Cleanup,
}

impl FreshStore {
    /// A new SQLite file in a new temp directory.
    pub fn sqlite() -> anyhow::Result<FreshStore> {
        let path = testdb::fresh_sqlite_path();
        let dir = path.parent().context("temp path has no directory")?.to_path_buf();
        let url = path.to_str().context("temp path is not UTF-8")?.to_string();
        let store = FreshStore { backend: Backend::Sqlite, url, cleanup: Cleanup::SqliteDir(dir) };
        Store::open(&store.url).context("create the SQLite store")?;
        Ok(store)
    }

    /// A new database on the PostgreSQL server of `admin_url`.
    pub fn postgres(admin_url: &str) -> anyhow::Result<FreshStore> {
        testdb::probe_postgres_url(admin_url).map_err(anyhow::Error::msg)?;
        let url = testdb::fresh_postgres_database(admin_url).context("create a PostgreSQL database")?;
        let store = FreshStore { backend: Backend::Postgres, url, cleanup: Cleanup::Postgres { admin_url: admin_url.to_string() } };
        Store::open(&store.url).context("migrate the PostgreSQL database")?;
        Ok(store)
    }

    /// Bytes the store takes on disk. SQLite: the database file plus its WAL (measure with
    /// no connection open, so the WAL is checkpointed); PostgreSQL: `pg_database_size`.
    pub fn size_bytes(&self) -> anyhow::Result<u64> {
        match &self.cleanup {
            Cleanup::SqliteDir(_) => {
                let file = |suffix: &str| std::fs::metadata(format!("{}{suffix}", self.url)).map(|m| m.len()).unwrap_or(0);
                Ok(file("") + file("-wal"))
            }
            Cleanup::Postgres { .. } => Ok(Store::open(&self.url)?.size_bytes()?),
        }
    }
}

impl Drop for FreshStore {
    fn drop(&mut self) {
        let result = match &self.cleanup {
            Cleanup::SqliteDir(dir) => std::fs::remove_dir_all(dir).map_err(anyhow::Error::from),
            Cleanup::Postgres { admin_url } => {
                testdb::drop_postgres_database(admin_url, &self.url).map_err(anyhow::Error::from)
            }
        };
        if let Err(e) = result {
            eprintln!("bench: could not remove the {} store: {e:#}", self.backend.label());
        }
    }
}
