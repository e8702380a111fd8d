//! Reads across every writer of a run's points, as Lens and Dioptra need them: points by
//! source and time with their count, per-source and per-series counts, the first point of
//! each step, and the latest point of each series of several runs at once.

use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::connection::Store;
use super::model::{Backend, Scalar, ScalarOrder, StoreError};
use super::scalars::ScalarRow;
use super::schema::scalars;

/// `special` codes of finite values (plain, and -0.0) in the private value encoding of
/// `scalars.rs` (0 finite, 1 NaN, 2 +inf, 3 -inf, 4 -0.0).
const FINITE_SPECIALS: [i16; 2] = [0, 4];

/// A filtered read of one run's points (every source unless `source` is set).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PointQuery {
    pub run_id: i64,
    /// Only points written by this API family (`scalars.source`).
    pub source: Option<String>,
    /// Only these metric names (`Some(vec![])` matches nothing).
    pub metrics: Option<Vec<String>>,
    /// Only these variants (`Some(vec![])` matches nothing).
    pub variants: Option<Vec<String>>,
    /// Inclusive.
    pub ts_from_us: Option<i64>,
    /// Inclusive.
    pub ts_to_us: Option<i64>,
    /// Leave out NaN and infinite values.
    pub finite_only: bool,
    pub order: ScalarOrder,
    pub offset: i64,
    /// `None`: no limit.
    pub limit: Option<i64>,
    /// Keyset paging in [`ScalarOrder::TsAsc`] order: only points after this `(ts_us, id)`,
    /// the last point of the previous page.
    pub after_ts_id: Option<(i64, i64)>,
}

/// Number of finite points of one (metric, variant) from one source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeriesCount {
    pub metric: String,
    pub variant: String,
    pub source: String,
    pub finite_points: i64,
}

/// The filters of a [`PointQuery`] on a boxed query of `scalars`.
macro_rules! point_filters {
    ($query:expr, $q:expr) => {{
        let q = $q;
        let mut query = $query.filter(scalars::run_id.eq(q.run_id));
        if let Some(source) = &q.source {
            query = query.filter(scalars::source.eq(source.clone()));
        }
        if let Some(metrics) = &q.metrics {
            query = query.filter(scalars::metric.eq_any(metrics.clone()));
        }
        if let Some(variants) = &q.variants {
            query = query.filter(scalars::variant.eq_any(variants.clone()));
        }
        if let Some(from) = q.ts_from_us {
            query = query.filter(scalars::ts_us.ge(from));
        }
        if let Some(to) = q.ts_to_us {
            query = query.filter(scalars::ts_us.le(to));
        }
        if q.finite_only {
            query = query.filter(scalars::special.eq_any(FINITE_SPECIALS));
        }
        query
    }};
}

fn matches_nothing(q: &PointQuery) -> bool {
    q.metrics.as_ref().is_some_and(Vec::is_empty) || q.variants.as_ref().is_some_and(Vec::is_empty)
}

/// The first point (lowest ts_us, then id) of each step; see [`Store::first_point_per_step`].
/// Binds 1 run, 2 source, 3 from, 4 to; `$p` is the backend's placeholder prefix.
macro_rules! first_per_step_sql {
    ($p:literal) => {
        concat!(
            "SELECT id, run_id, metric, variant, step, ts_us, value, special, source, point_key, extra ",
            "FROM (SELECT s.*, ROW_NUMBER() OVER (PARTITION BY s.step ORDER BY s.ts_us ASC, s.id ASC) AS rn ",
            "FROM scalars s WHERE s.run_id = ", $p, "1 AND s.step IS NOT NULL AND (", $p, "2 IS NULL OR s.source = ", $p, "2) ",
            "AND (", $p, "3 IS NULL OR s.ts_us >= ", $p, "3) AND (", $p, "4 IS NULL OR s.ts_us <= ", $p, "4)) ranked ",
            "WHERE rn = 1 ORDER BY step ASC"
        )
    };
}
const FIRST_PER_STEP_SQLITE: &str = first_per_step_sql!("?");
const FIRST_PER_STEP_POSTGRES: &str = first_per_step_sql!("$");

impl Store {
    /// Points of one run as `q` selects, orders and pages them.
    pub fn points(&self, q: &PointQuery) -> Result<Vec<Scalar>, StoreError> {
        if matches_nothing(q) {
            return Ok(Vec::new());
        }
        let mut query = point_filters!(scalars::table.select(ScalarRow::as_select()).into_boxed(), q);
        if let Some((ts, id)) = q.after_ts_id {
            // `ts_us >= ts` bounds the index range; the rest breaks ties within ts
            query = query.filter(scalars::ts_us.ge(ts)).filter(scalars::ts_us.gt(ts).or(scalars::id.gt(id)));
        }
        query = match q.order {
            ScalarOrder::StepAsc => {
                query.order((scalars::step.is_null().desc(), scalars::step.asc(), scalars::ts_us.asc(), scalars::id.asc()))
            }
            ScalarOrder::StepDesc => {
                query.order((scalars::step.is_null().asc(), scalars::step.desc(), scalars::ts_us.desc(), scalars::id.desc()))
            }
            ScalarOrder::TsAsc => query.order((scalars::ts_us.asc(), scalars::id.asc())),
            ScalarOrder::TsDesc => query.order((scalars::ts_us.desc(), scalars::id.desc())),
        };
        if q.offset > 0 {
            query = query.offset(q.offset);
        }
        // always a LIMIT: SQLite rejects OFFSET without one
        query = query.limit(q.limit.map_or(i64::MAX, |l| l.max(0)));
        let rows: Vec<ScalarRow> = query.load(&mut *self.conn()?)?;
        rows.into_iter().map(ScalarRow::into_scalar).collect()
    }

    /// One page of one series (run, metric, variant) in step order (NULL steps first, then
    /// ts_us and id), `offset` rows in, and the series' size: the unstepped points and then
    /// the stepped ones, each read in the order of the `(run_id, metric, variant, step,
    /// ts_us, id)` index (no sort).
    pub fn series_page(&self, run_id: i64, metric: &str, variant: &str, offset: i64, limit: i64) -> Result<(Vec<Scalar>, i64), StoreError> {
        // the series' size from its rollup row, not counted from the points
        let total = self.scalar_point_count(run_id, Some(metric), Some(variant))?;
        let mut conn = self.conn()?;
        let series = || {
            scalars::table
                .filter(scalars::run_id.eq(run_id))
                .filter(scalars::metric.eq(metric.to_string()))
                .filter(scalars::variant.eq(variant.to_string()))
                .into_boxed()
        };
        let unstepped: i64 = series().filter(scalars::step.is_null()).select(count_star()).get_result(&mut *conn)?;
        let (offset, limit) = (offset.max(0), limit.max(0));
        let mut rows: Vec<ScalarRow> = Vec::new();
        if offset < unstepped && limit > 0 {
            rows = series()
                .filter(scalars::step.is_null())
                .select(ScalarRow::as_select())
                .order((scalars::ts_us.asc(), scalars::id.asc()))
                .offset(offset)
                .limit(limit)
                .load(&mut *conn)?;
        }
        let left = limit - rows.len() as i64;
        if left > 0 {
            rows.extend(
                series()
                    .filter(scalars::step.is_not_null())
                    .select(ScalarRow::as_select())
                    .order((scalars::step.asc(), scalars::ts_us.asc(), scalars::id.asc()))
                    .offset((offset - unstepped).max(0))
                    .limit(left)
                    .load::<ScalarRow>(&mut *conn)?,
            );
        }
        Ok((rows.into_iter().map(ScalarRow::into_scalar).collect::<Result<_, _>>()?, total))
    }

    /// The finite values of a run (of one metric when given) with their time, between
    /// `from_us` and `to_us` (inclusive, when given): (metric, variant, ts_us, value), in no
    /// particular order. Reads only those four columns (charts by time downsample them).
    pub fn finite_values_by_time(
        &self,
        run_id: i64,
        metric: Option<&str>,
        from_us: Option<i64>,
        to_us: Option<i64>,
    ) -> Result<Vec<(String, String, i64, f64)>, StoreError> {
        let mut query = scalars::table
            .filter(scalars::run_id.eq(run_id))
            .filter(scalars::special.eq_any(FINITE_SPECIALS))
            .select((scalars::metric, scalars::variant, scalars::ts_us, scalars::value))
            .into_boxed();
        if let Some(m) = metric {
            query = query.filter(scalars::metric.eq(m.to_string()));
        }
        if let Some(from) = from_us {
            query = query.filter(scalars::ts_us.ge(from));
        }
        if let Some(to) = to_us {
            query = query.filter(scalars::ts_us.le(to));
        }
        Ok(query.load(&mut *self.conn()?)?)
    }

    /// How many points `q` selects, ignoring its order, offset and limit.
    pub fn count_points(&self, q: &PointQuery) -> Result<i64, StoreError> {
        if matches_nothing(q) {
            return Ok(0);
        }
        let query = point_filters!(scalars::table.select(count_star()).into_boxed(), q);
        Ok(query.get_result(&mut *self.conn()?)?)
    }

    /// Per source of a run's points, how many points it wrote (any value), by source name.
    pub fn source_counts(&self, run_id: i64) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(scalars::table
            .filter(scalars::run_id.eq(run_id))
            .group_by(scalars::source)
            .select((scalars::source, count_star()))
            .order(scalars::source.asc())
            .load(&mut *self.conn()?)?)
    }

    /// Per (metric, variant, source) of a run (of one source), its number of finite points;
    /// series with none are left out. Ordered by metric, variant and source.
    pub fn series_counts(&self, run_id: i64, source: Option<&str>) -> Result<Vec<SeriesCount>, StoreError> {
        let mut query = scalars::table
            .filter(scalars::run_id.eq(run_id))
            .filter(scalars::special.eq_any(FINITE_SPECIALS))
            .group_by((scalars::metric, scalars::variant, scalars::source))
            .select((scalars::metric, scalars::variant, scalars::source, count_star()))
            .order((scalars::metric.asc(), scalars::variant.asc(), scalars::source.asc()))
            .into_boxed();
        if let Some(source) = source {
            query = query.filter(scalars::source.eq(source.to_string()));
        }
        let rows: Vec<(String, String, String, i64)> = query.load(&mut *self.conn()?)?;
        Ok(rows
            .into_iter()
            .map(|(metric, variant, source, finite_points)| SeriesCount { metric, variant, source, finite_points })
            .collect())
    }

    /// For each step of a run's points (of one source, within a time range), the point that
    /// came first (lowest ts_us, then lowest id), ordered by step. Points without a step are
    /// left out.
    pub fn first_point_per_step(
        &self,
        run_id: i64,
        source: Option<&str>,
        ts_from_us: Option<i64>,
        ts_to_us: Option<i64>,
    ) -> Result<Vec<Scalar>, StoreError> {
        let query = match self.backend() {
            Backend::Postgres => diesel::sql_query(FIRST_PER_STEP_POSTGRES),
            Backend::Sqlite => diesel::sql_query(FIRST_PER_STEP_SQLITE),
        };
        let rows: Vec<ScalarRow> = query
            .bind::<BigInt, _>(run_id)
            .bind::<Nullable<Text>, _>(source)
            .bind::<Nullable<BigInt>, _>(ts_from_us)
            .bind::<Nullable<BigInt>, _>(ts_to_us)
            .load(&mut *self.conn()?)?;
        rows.into_iter().map(ScalarRow::into_scalar).collect()
    }

    /// [`Store::latest_scalars`] of several runs, ordered by run, metric and variant.
    pub fn latest_scalars_of_runs(&self, run_ids: &[i64]) -> Result<Vec<Scalar>, StoreError> {
        let mut ids = run_ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut out = Vec::new();
        for run_id in ids {
            out.extend(self.latest_scalars(run_id)?);
        }
        Ok(out)
    }
}
