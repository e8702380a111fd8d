//! The statements of the hot write path (scalar points and their rollup rows), written so
//! that diesel keeps them prepared.
//!
//! Diesel never caches an upsert built with its DSL (`DO UPDATE` marks a statement unsafe
//! to cache), nor a multi-row insert, nor `IN (…)` with binds on SQLite. So every scalar
//! write parsed (SQLite) or parsed and planned (PostgreSQL) its statements again: about half
//! of the writer thread's time under single-point writes. Here each statement is one fixed
//! SQL text with bind parameters and a static query id, which diesel's statement cache
//! keeps by type:
//! - on SQLite, one row per execution: the database is in-process, so running a prepared
//!   statement per row costs less than parsing one statement per write;
//! - on PostgreSQL, all rows in one execution, each column bound as an array and expanded
//!   with `unnest`: one round trip and one plan, whatever the number of rows.
//!
//! Values only ever travel as bind parameters; the SQL text is constant.

use diesel::pg::{Pg, PgConnection};
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Double, Nullable, SmallInt, Text};
use diesel::sqlite::{Sqlite, SqliteConnection};

use super::rollup::RollupRow;
use super::scalars::NewScalarRow;
use super::schema::scalars;

const ROLLUP_INSERT: &str =
    "INSERT INTO scalar_rollup (run_id, metric, variant, width, bucket, n, total, points) ";
/// Adds the row's counts to the stored bucket.
const ROLLUP_CONFLICT: &str =
    " ON CONFLICT (run_id, width, metric, variant, bucket) DO UPDATE SET \
     n = scalar_rollup.n + excluded.n, total = scalar_rollup.total + excluded.total, \
     points = scalar_rollup.points + excluded.points";

const SCALAR_INSERT: &str = "INSERT INTO scalars (run_id, metric, variant, step, ts_us, value, special, source, point_key, extra) ";
/// A stored point with the same key is overwritten in place (it keeps its id).
const SCALAR_CONFLICT: &str = " ON CONFLICT (run_id, point_key) DO UPDATE SET \
     metric = excluded.metric, variant = excluded.variant, step = excluded.step, ts_us = excluded.ts_us, \
     value = excluded.value, special = excluded.special, source = excluded.source, extra = excluded.extra";

/// The write statements of the hot path, per backend.
pub(crate) trait HotWrites {
    /// Adds each row's n, total and points to its bucket (creating it). The rows' keys are
    /// distinct.
    fn add_rollup_rows(&mut self, rows: &[RollupRow<'_>]) -> QueryResult<usize>;
    /// Upserts the points (distinct keys per run) by `(run_id, point_key)`.
    fn upsert_scalars(&mut self, rows: &[NewScalarRow]) -> QueryResult<usize>;
    /// (metric, variant, step, value, special) of the stored points of `run_id` with these keys.
    fn stored_points(&mut self, run_id: i64, keys: &[&str]) -> QueryResult<Vec<StoredPoint>>;
}

/// A stored point as the rollup takes it back: (metric, variant, step, value, special).
pub(crate) type StoredPoint = (String, String, Option<i64>, f64, i16);

/// Declares a statement type whose query id is its own (`'static`) type, so diesel caches
/// its prepared form.
macro_rules! cached_statement {
    ($name:ident) => {
        impl QueryId for $name<'_> {
            type QueryId = $name<'static>;
            const HAS_STATIC_QUERY_ID: bool = true;
        }
        impl<Conn> RunQueryDsl<Conn> for $name<'_> {}
    };
}

/// Pushes bind parameters, comma-separated: `binds!(out; Type => value, …)`.
macro_rules! binds {
    ($out:ident; $first_ty:ty => $first:expr $(, $ty:ty => $value:expr)* $(,)?) => {{
        $out.push_bind_param::<$first_ty, _>($first)?;
        $(
            $out.push_sql(", ");
            $out.push_bind_param::<$ty, _>($value)?;
        )*
    }};
}

/// One rollup row's upsert (SQLite).
struct SqliteRollupAdd<'a>(&'a RollupRow<'a>);
cached_statement!(SqliteRollupAdd);

impl QueryFragment<Sqlite> for SqliteRollupAdd<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        let r = self.0;
        out.push_sql(ROLLUP_INSERT);
        out.push_sql("VALUES (");
        binds!(out;
            BigInt => &r.run_id,
            Text => r.metric,
            Text => r.variant,
            BigInt => &r.width,
            BigInt => &r.bucket,
            BigInt => &r.n,
            Double => &r.total,
            BigInt => &r.points,
        );
        out.push_sql(")");
        out.push_sql(ROLLUP_CONFLICT);
        Ok(())
    }
}

/// One point's upsert (SQLite).
struct SqliteScalarUpsert<'a>(&'a NewScalarRow);
cached_statement!(SqliteScalarUpsert);

impl QueryFragment<Sqlite> for SqliteScalarUpsert<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        let r = self.0;
        out.push_sql(SCALAR_INSERT);
        out.push_sql("VALUES (");
        binds!(out;
            BigInt => &r.run_id,
            Text => &r.metric,
            Text => &r.variant,
            Nullable<BigInt> => &r.step,
            BigInt => &r.ts_us,
            Double => &r.value,
            SmallInt => &r.special,
            Text => &r.source,
            Text => &r.point_key,
            Nullable<Text> => &r.extra,
        );
        out.push_sql(")");
        out.push_sql(SCALAR_CONFLICT);
        Ok(())
    }
}

impl HotWrites for SqliteConnection {
    fn add_rollup_rows(&mut self, rows: &[RollupRow<'_>]) -> QueryResult<usize> {
        rows.iter().map(|r| SqliteRollupAdd(r).execute(self)).sum()
    }

    fn upsert_scalars(&mut self, rows: &[NewScalarRow]) -> QueryResult<usize> {
        rows.iter()
            .map(|r| SqliteScalarUpsert(r).execute(self))
            .sum()
    }

    fn stored_points(&mut self, run_id: i64, keys: &[&str]) -> QueryResult<Vec<StoredPoint>> {
        // one cached index seek per key (`IN (…)` would be parsed again every time)
        let mut out = Vec::new();
        for key in keys {
            out.extend(
                scalars::table
                    .filter(scalars::run_id.eq(run_id))
                    .filter(scalars::point_key.eq(*key))
                    .select((
                        scalars::metric,
                        scalars::variant,
                        scalars::step,
                        scalars::value,
                        scalars::special,
                    ))
                    .first::<StoredPoint>(self)
                    .optional()?,
            );
        }
        Ok(out)
    }
}

/// Every rollup row's upsert in one statement, the columns as arrays (PostgreSQL).
struct PgRollupAdd<'a> {
    run_id: Vec<i64>,
    metric: Vec<&'a str>,
    variant: Vec<&'a str>,
    width: Vec<i64>,
    bucket: Vec<i64>,
    n: Vec<i64>,
    total: Vec<f64>,
    points: Vec<i64>,
}
cached_statement!(PgRollupAdd);

impl<'a> PgRollupAdd<'a> {
    fn of(rows: &'a [RollupRow<'a>]) -> Self {
        PgRollupAdd {
            run_id: rows.iter().map(|r| r.run_id).collect(),
            metric: rows.iter().map(|r| r.metric).collect(),
            variant: rows.iter().map(|r| r.variant).collect(),
            width: rows.iter().map(|r| r.width).collect(),
            bucket: rows.iter().map(|r| r.bucket).collect(),
            n: rows.iter().map(|r| r.n).collect(),
            total: rows.iter().map(|r| r.total).collect(),
            points: rows.iter().map(|r| r.points).collect(),
        }
    }
}

impl QueryFragment<Pg> for PgRollupAdd<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(ROLLUP_INSERT);
        out.push_sql("SELECT * FROM unnest(");
        binds!(out;
            Array<BigInt> => &self.run_id,
            Array<Text> => &self.metric,
            Array<Text> => &self.variant,
            Array<BigInt> => &self.width,
            Array<BigInt> => &self.bucket,
            Array<BigInt> => &self.n,
            Array<Double> => &self.total,
            Array<BigInt> => &self.points,
        );
        out.push_sql(")");
        out.push_sql(ROLLUP_CONFLICT);
        Ok(())
    }
}

/// Every point's upsert in one statement, the columns as arrays (PostgreSQL).
struct PgScalarUpsert<'a> {
    run_id: Vec<i64>,
    metric: Vec<&'a str>,
    variant: Vec<&'a str>,
    step: Vec<Option<i64>>,
    ts_us: Vec<i64>,
    value: Vec<f64>,
    special: Vec<i16>,
    source: Vec<&'a str>,
    point_key: Vec<&'a str>,
    extra: Vec<Option<&'a str>>,
}
cached_statement!(PgScalarUpsert);

impl<'a> PgScalarUpsert<'a> {
    fn of(rows: &'a [NewScalarRow]) -> Self {
        PgScalarUpsert {
            run_id: rows.iter().map(|r| r.run_id).collect(),
            metric: rows.iter().map(|r| r.metric.as_str()).collect(),
            variant: rows.iter().map(|r| r.variant.as_str()).collect(),
            step: rows.iter().map(|r| r.step).collect(),
            ts_us: rows.iter().map(|r| r.ts_us).collect(),
            value: rows.iter().map(|r| r.value).collect(),
            special: rows.iter().map(|r| r.special).collect(),
            source: rows.iter().map(|r| r.source.as_str()).collect(),
            point_key: rows.iter().map(|r| r.point_key.as_str()).collect(),
            extra: rows.iter().map(|r| r.extra.as_deref()).collect(),
        }
    }
}

impl QueryFragment<Pg> for PgScalarUpsert<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(SCALAR_INSERT);
        out.push_sql("SELECT * FROM unnest(");
        binds!(out;
            Array<BigInt> => &self.run_id,
            Array<Text> => &self.metric,
            Array<Text> => &self.variant,
            Array<Nullable<BigInt>> => &self.step,
            Array<BigInt> => &self.ts_us,
            Array<Double> => &self.value,
            Array<SmallInt> => &self.special,
            Array<Text> => &self.source,
            Array<Text> => &self.point_key,
            Array<Nullable<Text>> => &self.extra,
        );
        out.push_sql(")");
        out.push_sql(SCALAR_CONFLICT);
        Ok(())
    }
}

impl HotWrites for PgConnection {
    fn add_rollup_rows(&mut self, rows: &[RollupRow<'_>]) -> QueryResult<usize> {
        if rows.is_empty() {
            return Ok(0);
        }
        PgRollupAdd::of(rows).execute(self)
    }

    fn upsert_scalars(&mut self, rows: &[NewScalarRow]) -> QueryResult<usize> {
        if rows.is_empty() {
            return Ok(0);
        }
        PgScalarUpsert::of(rows).execute(self)
    }

    fn stored_points(&mut self, run_id: i64, keys: &[&str]) -> QueryResult<Vec<StoredPoint>> {
        // `= ANY($1)` on PostgreSQL: one bind whatever the number of keys, so it is cached
        scalars::table
            .filter(scalars::run_id.eq(run_id))
            .filter(scalars::point_key.eq_any(keys))
            .select((
                scalars::metric,
                scalars::variant,
                scalars::step,
                scalars::value,
                scalars::special,
            ))
            .load::<StoredPoint>(self)
    }
}
