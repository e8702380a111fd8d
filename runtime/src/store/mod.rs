//! The diesel store every API shares: runs, scalar points, non-scalar events and run
//! metadata, on SQLite (default) or PostgreSQL.
//!
//! All calls are blocking; the HTTP layer calls them from a thread pool. Reads go
//! through one [`AnyConnection`] (a diesel `MultiConnection`) taken from an r2d2 pool;
//! writes are queued to the store's writer thread, which commits concurrent writes
//! together (group commit, [`committer`]) and answers each only after the commit;
//! where diesel cannot express a statement on the multi-connection (upserts), the code
//! matches on the variant with [`with_conn!`] and runs the same DSL code on each backend.

/// Runs `$body` with `$c` bound to the backend-specific connection (`&mut PgConnection`
/// or `&mut SqliteConnection`) inside `$conn: &mut AnyConnection`. The body is compiled
/// once per backend, so diesel DSL that only exists per backend (upserts) works.
macro_rules! with_conn {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::store::connection::AnyConnection::Postgresql($c) => $body,
            $crate::store::connection::AnyConnection::Sqlite($c) => $body,
        }
    };
}

pub mod assets;
pub(crate) mod committer;
pub mod connection;
pub mod events;
pub mod experiments;
pub mod fingerprint;
pub mod meta;
pub mod model;
mod prepared;
pub mod queries;
pub mod rollup;
pub mod run_list;
pub mod runs;
pub mod scalars;
pub mod schema;
pub mod series;
pub mod settings;
pub mod size;
pub mod testdb;

pub use connection::{AnyConnection, Store};
pub use model::{
    Backend, Event, JsonObject, NewEvent, NewScalar, Run, Scalar, ScalarOrder, ScalarQuery,
    StoreError, TimelineCursor, TimelineItem, TimelineQuery, CURSOR_KIND_EVENT, CURSOR_KIND_SCALAR,
    SCALAR_EVENT_TYPE,
};

/// Current time in epoch microseconds.
pub fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// Rows per multi-row INSERT: well below the bind-parameter limits of both backends
/// (SQLite 32766, PostgreSQL 65535) at ~10 columns a row.
pub(crate) const INSERT_CHUNK: usize = 500;

/// Serialises a JSON object for a TEXT column.
pub(crate) fn json_to_text(map: &JsonObject) -> Result<String, StoreError> {
    serde_json::to_string(map)
        .map_err(|e| StoreError::Query(diesel::result::Error::SerializationError(Box::new(e))))
}

/// Ids as a JSON array: how SQLite takes a list as one bind parameter (`json_each(?)`).
pub(crate) fn json_ids(ids: &[i64]) -> String {
    serde_json::Value::from(ids.to_vec()).to_string()
}

/// Parses a TEXT column that must hold a JSON object.
pub(crate) fn json_from_text(text: &str) -> Result<JsonObject, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Query(diesel::result::Error::DeserializationError(Box::new(e))))
}

/// For a batch keyed by `keys` (None = never deduplicated), marks which entries to
/// write: of several entries with the same key only the last is kept (a later re-send
/// wins, and one multi-row upsert never touches the same row twice).
pub(crate) fn last_occurrence_mask<'a>(keys: impl Iterator<Item = Option<&'a str>>) -> Vec<bool> {
    let keys: Vec<Option<&str>> = keys.collect();
    let mut seen = std::collections::HashSet::new();
    let mut keep = vec![true; keys.len()];
    for (i, key) in keys.iter().enumerate().rev() {
        if let Some(k) = key {
            if !seen.insert(*k) {
                keep[i] = false;
            }
        }
    }
    keep
}
