//! Public types of the store: what the API layers write and read.
//!
//! Values are plain `f64` here; how NaN, infinities and -0.0 are kept in the database
//! is private to the store.

use serde_json::{Map, Value};

/// The event type name under which scalars appear in a timeline (and which selects the
/// `scalars` table in [`TimelineQuery::types`]).
pub const SCALAR_EVENT_TYPE: &str = "training_stats_scalar";

/// A JSON object, as kept in `scalars.extra` and `events.payload`.
pub type JsonObject = Map<String, Value>;

/// Which database a [`Store`](super::Store) talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached or opened.
    #[error("database connection failed: {0}")]
    Connection(#[from] diesel::ConnectionError),
    /// A statement failed (constraint violations included, e.g. an unknown run id).
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    /// A schema migration could not be applied.
    #[error("database migration failed: {0}")]
    Migration(String),
    /// No pooled connection could be had (pool exhausted or database down).
    #[error("database connection pool: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    /// A write was not committed: its group's transaction failed, or the store's writer
    /// stopped.
    #[error("write not committed: {0}")]
    Write(String),
    /// The database URL is not one the store understands.
    #[error("invalid database url: {0}")]
    InvalidUrl(String),
    /// The database cannot be reached right now (down, restarting, connection lost); the
    /// write was not committed. Worth retrying: the store reconnects.
    #[error("database unavailable: {0}")]
    Unavailable(String),
}

impl StoreError {
    /// True when the failure is the database being out of reach rather than the request:
    /// each API answers it with its own "service unavailable" (503), which clients retry.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Connection(_) | StoreError::Pool(_) | StoreError::Unavailable(_) => true,
            StoreError::Query(e) => database_out_of_reach(e),
            StoreError::Migration(_) | StoreError::Write(_) | StoreError::InvalidUrl(_) => false,
        }
    }
}

/// True for the errors a statement gets when its connection is gone: diesel's own kinds,
/// PostgreSQL's messages when the server shuts down or restarts (diesel reports those as
/// `Unknown`), and SQLite's lock still held by another process past `busy_timeout`.
pub(crate) fn database_out_of_reach(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand, _) => true,
        Error::DatabaseError(_, info) => {
            let m = info.message();
            [
                "terminating connection",
                "server closed the connection",
                "the database system is",
                "connection to server",
                "no connection to the server",
                "database is locked",
            ]
                .iter()
                .any(|needle| m.contains(needle))
        }
        _ => false,
    }
}

/// A run: the one record every API hangs its data on (ClearML task, SageMaker trial
/// component, Dioptra job, Lens workload, Comet experiment).
#[derive(Clone, Debug, PartialEq, Eq, diesel::Queryable, diesel::Selectable)]
#[diesel(table_name = super::schema::runs)]
pub struct Run {
    /// Numeric id (also the Dioptra job id).
    pub id: i64,
    pub tenant: String,
    /// The run's string key, unique per tenant.
    pub uid: String,
    pub name: String,
    /// API family that created the run ("clearml", "sagemaker", ...).
    pub created_by: String,
    pub created_us: i64,
    pub updated_us: i64,
}

/// A scalar point to write.
#[derive(Clone, Debug, PartialEq)]
pub struct NewScalar {
    pub metric: String,
    pub variant: String,
    pub step: Option<i64>,
    /// Epoch microseconds.
    pub ts_us: i64,
    /// Any `f64`, NaN and infinities included.
    pub value: f64,
    /// API family that wrote the point.
    pub source: String,
    /// The writing API's identity of the point; re-sending the same key overwrites.
    pub point_key: String,
    pub extra: Option<JsonObject>,
}

/// A stored scalar point.
#[derive(Clone, Debug, PartialEq)]
pub struct Scalar {
    pub id: i64,
    pub run_id: i64,
    pub metric: String,
    pub variant: String,
    pub step: Option<i64>,
    pub ts_us: i64,
    pub value: f64,
    pub source: String,
    pub point_key: String,
    pub extra: Option<JsonObject>,
}

/// Result order of [`ScalarQuery`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ScalarOrder {
    /// Step ascending (NULL steps first), then ts_us, then id.
    #[default]
    StepAsc,
    /// Exact reverse of `StepAsc`.
    StepDesc,
    /// ts_us ascending, then id.
    TsAsc,
    /// Exact reverse of `TsAsc`.
    TsDesc,
}

/// A filtered read of one run's scalars.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScalarQuery {
    pub run_id: i64,
    /// Keep only these metric names (`Some(vec![])` matches nothing).
    pub metrics: Option<Vec<String>>,
    /// Keep only these variants (`Some(vec![])` matches nothing).
    pub variants: Option<Vec<String>>,
    /// Inclusive.
    pub ts_from_us: Option<i64>,
    /// Inclusive.
    pub ts_to_us: Option<i64>,
    /// Inclusive; points without a step never match a step bound.
    pub step_from: Option<i64>,
    /// Inclusive.
    pub step_to: Option<i64>,
    pub order: ScalarOrder,
    /// Rows to skip (negative counts as 0).
    pub offset: i64,
    /// At most this many rows (negative counts as 0); `None` = no limit.
    pub limit: Option<i64>,
}

impl ScalarQuery {
    /// All scalars of a run, in `StepAsc` order.
    pub fn for_run(run_id: i64) -> Self {
        ScalarQuery {
            run_id,
            ..Default::default()
        }
    }
}

/// A non-scalar event to write (vector, image, plot, log, ...).
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    pub event_type: String,
    pub metric: String,
    pub variant: String,
    pub iter: Option<i64>,
    pub ts_us: i64,
    /// `Some`: re-sending the same (event_type, point_key) overwrites; `None`: never
    /// deduplicated (logs).
    pub point_key: Option<String>,
    pub payload: JsonObject,
}

/// A stored non-scalar event.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub id: i64,
    pub run_id: i64,
    pub event_type: String,
    pub metric: String,
    pub variant: String,
    pub iter: Option<i64>,
    pub ts_us: i64,
    pub point_key: Option<String>,
    pub payload: JsonObject,
}

/// One entry of a run's timeline.
#[derive(Clone, Debug, PartialEq)]
pub enum TimelineItem {
    Scalar(Scalar),
    Event(Event),
}

/// Position in a timeline: items are ordered by (ts_us, kind, id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TimelineCursor {
    pub ts_us: i64,
    /// 0 scalar, 1 event.
    pub kind: u8,
    pub id: i64,
}

impl TimelineCursor {
    pub(crate) fn key(&self) -> (i64, u8, i64) {
        (self.ts_us, self.kind, self.id)
    }
}

/// Cursor `kind` of scalars.
pub const CURSOR_KIND_SCALAR: u8 = 0;
/// Cursor `kind` of events.
pub const CURSOR_KIND_EVENT: u8 = 1;

impl TimelineItem {
    /// The cursor of this item; pass it as [`TimelineQuery::after`] to continue after it.
    pub fn cursor(&self) -> TimelineCursor {
        match self {
            TimelineItem::Scalar(s) => TimelineCursor {
                ts_us: s.ts_us,
                kind: CURSOR_KIND_SCALAR,
                id: s.id,
            },
            TimelineItem::Event(e) => TimelineCursor {
                ts_us: e.ts_us,
                kind: CURSOR_KIND_EVENT,
                id: e.id,
            },
        }
    }

    pub fn ts_us(&self) -> i64 {
        match self {
            TimelineItem::Scalar(s) => s.ts_us,
            TimelineItem::Event(e) => e.ts_us,
        }
    }

    /// The event type: [`SCALAR_EVENT_TYPE`] for scalars.
    pub fn event_type(&self) -> &str {
        match self {
            TimelineItem::Scalar(_) => SCALAR_EVENT_TYPE,
            TimelineItem::Event(e) => &e.event_type,
        }
    }
}

/// A page of one run's timeline (scalars and events merged).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TimelineQuery {
    pub run_id: i64,
    /// Event types to include (`None` = all); [`SCALAR_EVENT_TYPE`] selects the scalars.
    pub types: Option<Vec<String>>,
    /// Order by (ts_us, kind, id) descending instead of ascending.
    pub descending: bool,
    /// Exclusive: start right after this position (in the query's direction).
    pub after: Option<TimelineCursor>,
    /// Page size (0 or negative returns nothing).
    pub limit: i64,
}

#[cfg(test)]
mod unavailable_tests {
    use super::StoreError;
    use diesel::result::{DatabaseErrorKind, Error};

    fn db(kind: DatabaseErrorKind, message: &str) -> StoreError {
        StoreError::Query(Error::DatabaseError(kind, Box::new(message.to_string())))
    }

    /// What the APIs answer with their 503 (retry) and what stays a request's own failure.
    #[test]
    fn out_of_reach_is_told_from_a_failing_request() {
        assert!(db(DatabaseErrorKind::ClosedConnection, "server closed the connection unexpectedly").is_unavailable());
        assert!(db(DatabaseErrorKind::UnableToSendCommand, "no connection to the server").is_unavailable());
        assert!(db(DatabaseErrorKind::Unknown, "terminating connection due to administrator command").is_unavailable());
        assert!(db(DatabaseErrorKind::Unknown, "database is locked").is_unavailable());
        assert!(StoreError::Unavailable("down".into()).is_unavailable());
        assert!(StoreError::Connection(diesel::ConnectionError::BadConnection("connection refused".into())).is_unavailable());
        assert!(!db(DatabaseErrorKind::ForeignKeyViolation, "FOREIGN KEY constraint failed").is_unavailable());
        assert!(!db(DatabaseErrorKind::Unknown, "no such column: x").is_unavailable());
        assert!(!StoreError::Write("refused by the write itself".into()).is_unavailable());
        assert!(!StoreError::Query(Error::NotFound).is_unavailable());
    }
}
