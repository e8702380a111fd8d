//! Per-bucket aggregates of scalar series (`scalar_rollup`), kept exact inside the scalar
//! write transaction, and the reads built on them: the bounds of each series and its
//! bucketed means, as the ClearML histogram needs them, without reading the points.
//!
//! For each width `w` of [`WIDTHS`] (the 1-2-5 ladder from 5 to 10^7) and each series
//! (run, metric, variant), the row of bucket `floor(step / w) * w` (a NULL step counts as
//! step 0) holds `n`, the number of finite values in it, `total`, their sum, and `points`,
//! the number of points of any value. A write first subtracts what the rows it overwrites
//! (same `point_key`) contributed, then adds the new points; the deltas of one write are
//! summed per bucket and applied as one upsert per bucket.

use std::collections::{BTreeMap, HashMap};

use diesel::prelude::*;

use super::connection::Store;
use super::model::StoreError;
use super::prepared::HotWrites;
use super::schema::{scalar_rollup, scalars};

/// Bucket widths with maintained aggregates; each divides every later width that is a
/// multiple of it (5 | 10 | 20, 10 | 50 | 100, …). Keep in step with the migration
/// `2025-01-05-000000_read_paths`, which fills the table for points stored before it
/// (`2025-01-06-000000_rollup_clustered` makes it `WITHOUT ROWID` on SQLite).
pub const WIDTHS: [i64; 20] = [
    5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000,
    2_000_000, 5_000_000, 10_000_000,
];
/// The widest maintained width: one or a few rows per series, read to list the series.
pub(crate) const TOP_WIDTH: i64 = 10_000_000;

/// `special` codes of finite values (plain and -0.0), as encoded in `scalars.rs`.
const FINITE_SPECIALS: [i16; 2] = [0, 4];

/// One point as written (or as stored before an overwrite), seen by the rollup.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RollupPoint<'a> {
    pub key: &'a str,
    pub metric: &'a str,
    pub variant: &'a str,
    pub step: Option<i64>,
    /// The stored `value` column (0 for non-finite values).
    pub value: f64,
    pub special: i16,
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Agg {
    n: i64,
    total: f64,
    points: i64,
}

impl Agg {
    fn add(&mut self, o: Agg) {
        self.n += o.n;
        self.total += o.total;
        self.points += o.points;
    }
}

/// One bucket's delta, as [`HotWrites::add_rollup_rows`] adds it.
pub(crate) struct RollupRow<'a> {
    pub(crate) run_id: i64,
    pub(crate) metric: &'a str,
    pub(crate) variant: &'a str,
    pub(crate) width: i64,
    pub(crate) bucket: i64,
    pub(crate) n: i64,
    pub(crate) total: f64,
    pub(crate) points: i64,
}

/// What the rollup needs from a backend's connection inside the write transaction, beside
/// the statements of [`HotWrites`] (reading the points a write overwrites, adding rows).
pub(crate) trait RollupConn: HotWrites {
    /// Serialises the rollup writes of one run until the transaction ends, so that what a
    /// write reads as stored (to take it back) is what it overwrites: a no-op on SQLite,
    /// where `BEGIN IMMEDIATE` already serialises writers; a transaction-scoped advisory
    /// lock on PostgreSQL (two replicas, or two writers, on one run).
    fn lock_run(&mut self, run_id: i64) -> QueryResult<()>;
}

/// First key of the advisory locks of [`RollupConn::lock_run`] ("ROLL"); the second is the run id.
const ROLLUP_LOCK_CLASS: i32 = 0x524F_4C4C;

impl RollupConn for diesel::sqlite::SqliteConnection {
    fn lock_run(&mut self, _run_id: i64) -> QueryResult<()> {
        Ok(())
    }
}

impl RollupConn for diesel::pg::PgConnection {
    fn lock_run(&mut self, run: i64) -> QueryResult<()> {
        // the run id folded into 32 bits: a collision only serialises two runs' writes
        diesel::select(pg_advisory_xact_lock(ROLLUP_LOCK_CLASS, (run ^ (run >> 32)) as i32)).execute(self).map(|_| ())
    }
}

diesel::define_sql_function! {
    /// PostgreSQL's transaction-scoped advisory lock on a pair of keys.
    fn pg_advisory_xact_lock(class: diesel::sql_types::Integer, id: diesel::sql_types::Integer) -> diesel::sql_types::Untyped;
}

/// The largest maintained width that divides `interval` (None for 1, 2 and widths the
/// ladder does not divide).
pub fn rollup_width(interval: i64) -> Option<i64> {
    WIDTHS.iter().rev().copied().find(|w| interval % w == 0)
}

/// Bucket start of `step` at `width`.
fn bucket_of(step: i64, width: i64) -> i64 {
    step.div_euclid(width).saturating_mul(width)
}

/// Per (metric, variant), the delta of each bucket of the finest width.
type SeriesDeltas<'a> = HashMap<(&'a str, &'a str), HashMap<i64, Agg>>;

fn add_point<'a>(deltas: &mut SeriesDeltas<'a>, metric: &'a str, variant: &'a str, step: Option<i64>, value: f64, special: i16, sign: i64) {
    let finite = FINITE_SPECIALS.contains(&special);
    let d = Agg {
        n: if finite { sign } else { 0 },
        total: if finite { sign as f64 * value } else { 0.0 },
        points: sign,
    };
    deltas.entry((metric, variant)).or_default().entry(bucket_of(step.unwrap_or(0), WIDTHS[0])).or_default().add(d);
}

/// The rollup part of a scalar write, called inside its transaction BEFORE the points are
/// upserted: `points` are the rows about to be written (keys unique within them).
pub(crate) fn record<C: RollupConn>(c: &mut C, run_id: i64, points: &[RollupPoint<'_>]) -> Result<(), StoreError> {
    if points.is_empty() {
        return Ok(());
    }
    c.lock_run(run_id)?;
    let keys: Vec<&str> = points.iter().map(|p| p.key).collect();
    let stored = c.stored_points(run_id, &keys)?;
    let mut deltas: SeriesDeltas = HashMap::new();
    for (metric, variant, step, value, special) in &stored {
        add_point(&mut deltas, metric, variant, *step, *value, *special, -1);
    }
    for p in points {
        add_point(&mut deltas, p.metric, p.variant, p.step, p.value, p.special, 1);
    }
    let mut rows = Vec::new();
    for ((metric, variant), finest) in &deltas {
        // each width from the widest earlier width that divides it
        let mut levels: Vec<HashMap<i64, Agg>> = Vec::with_capacity(WIDTHS.len());
        for (i, &width) in WIDTHS.iter().enumerate() {
            let level = if i == 0 {
                finest.clone()
            } else {
                let from = (0..i).rev().find(|j| width % WIDTHS[*j] == 0).unwrap_or(0);
                let mut level: HashMap<i64, Agg> = HashMap::new();
                for (bucket, agg) in &levels[from] {
                    level.entry(bucket_of(*bucket, width)).or_default().add(*agg);
                }
                level
            };
            for (bucket, agg) in &level {
                if *agg != Agg::default() {
                    rows.push(RollupRow {
                        run_id,
                        metric,
                        variant,
                        width,
                        bucket: *bucket,
                        n: agg.n,
                        total: agg.total,
                        points: agg.points,
                    });
                }
            }
            levels.push(level);
        }
    }
    c.add_rollup_rows(&rows)?;
    Ok(())
}

/// One series of a run as the histogram sizes it: its finite values' count and the lowest
/// and highest step among them (a NULL step counts as 0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeriesBounds {
    pub metric: String,
    pub variant: String,
    pub count: i64,
    pub min_step: i64,
    pub max_step: i64,
}

impl Store {
    /// The (metric, variant) of a run's scalars that have at least one point, bytewise
    /// sorted: read from the rollup, not from the points.
    pub fn scalar_series(&self, run_id: i64) -> Result<Vec<(String, String)>, StoreError> {
        let rows: Vec<(String, String, i64)> = scalar_rollup::table
            .filter(scalar_rollup::run_id.eq(run_id))
            .filter(scalar_rollup::width.eq(TOP_WIDTH))
            .filter(scalar_rollup::points.gt(0))
            .select((scalar_rollup::metric, scalar_rollup::variant, scalar_rollup::points))
            .order((scalar_rollup::metric.asc(), scalar_rollup::variant.asc()))
            .load(&mut *self.conn()?)?;
        let mut out: Vec<(String, String)> = rows.into_iter().map(|(m, v, _)| (m, v)).collect();
        out.dedup();
        Ok(out)
    }

    /// The number of points of a run, of any value, of one metric and of one variant when
    /// they are given: read from the rollup's widest buckets, not counted from the points.
    pub fn scalar_point_count(&self, run_id: i64, metric: Option<&str>, variant: Option<&str>) -> Result<i64, StoreError> {
        let mut query = scalar_rollup::table
            .filter(scalar_rollup::run_id.eq(run_id))
            .filter(scalar_rollup::width.eq(TOP_WIDTH))
            .select(scalar_rollup::points)
            .into_boxed();
        if let Some(metric) = metric {
            query = query.filter(scalar_rollup::metric.eq(metric.to_string()));
        }
        if let Some(variant) = variant {
            query = query.filter(scalar_rollup::variant.eq(variant.to_string()));
        }
        // one row per series (per 10^7 steps)
        Ok(query.load::<i64>(&mut *self.conn()?)?.into_iter().sum())
    }

    /// Every series of a run with at least one finite value, with its bounds, bytewise
    /// sorted by metric and variant. Reads the rollup and two or three index seeks per series.
    pub fn series_bounds(&self, run_id: i64) -> Result<Vec<SeriesBounds>, StoreError> {
        let mut conn = self.conn()?;
        let rows: Vec<(String, String, i64)> = scalar_rollup::table
            .filter(scalar_rollup::run_id.eq(run_id))
            .filter(scalar_rollup::width.eq(TOP_WIDTH))
            .filter(scalar_rollup::n.gt(0))
            .select((scalar_rollup::metric, scalar_rollup::variant, scalar_rollup::n))
            .load(&mut *conn)?;
        let mut counts: BTreeMap<(String, String), i64> = BTreeMap::new();
        for (m, v, n) in rows {
            *counts.entry((m, v)).or_default() += n;
        }
        let mut out = Vec::with_capacity(counts.len());
        for ((metric, variant), count) in counts {
            let series = || {
                scalars::table
                    .filter(scalars::run_id.eq(run_id))
                    .filter(scalars::metric.eq(metric.clone()))
                    .filter(scalars::variant.eq(variant.clone()))
                    .filter(scalars::special.eq_any(FINITE_SPECIALS))
                    .into_boxed()
            };
            let lowest: Option<Option<i64>> = series()
                .filter(scalars::step.is_not_null())
                .select(scalars::step)
                .order(scalars::step.asc())
                .first(&mut *conn)
                .optional()?;
            let highest: Option<Option<i64>> = series()
                .filter(scalars::step.is_not_null())
                .select(scalars::step)
                .order(scalars::step.desc())
                .first(&mut *conn)
                .optional()?;
            let unstepped: Option<i64> = series().filter(scalars::step.is_null()).select(scalars::id).first(&mut *conn).optional()?;
            let mut steps: Vec<i64> = [lowest.flatten(), highest.flatten()].into_iter().flatten().collect();
            if unstepped.is_some() {
                steps.push(0);
            }
            let (Some(min_step), Some(max_step)) = (steps.iter().min().copied(), steps.iter().max().copied()) else { continue };
            out.push(SeriesBounds { metric, variant, count, min_step, max_step });
        }
        Ok(out)
    }

    /// One series bucketed by `interval` (bucket key `floor(step / interval) * interval`, a
    /// NULL step counting as 0): per non-empty bucket, in key order, the key and the mean of
    /// the finite values in it. From the rollup when a maintained width divides `interval`,
    /// else from the points (an index range scan of the series).
    pub fn series_buckets(&self, run_id: i64, metric: &str, variant: &str, interval: i64) -> Result<Vec<(i64, f64)>, StoreError> {
        self.series_buckets_in(run_id, metric, variant, interval, None)
    }

    /// [`Store::series_buckets`] of the steps in `range` (inclusive) only: the buckets that
    /// overlap it, each averaging all its points (those of a bucket that `range` cuts
    /// through too, when the rollup answers).
    pub fn series_buckets_in(
        &self,
        run_id: i64,
        metric: &str,
        variant: &str,
        interval: i64,
        range: Option<(i64, i64)>,
    ) -> Result<Vec<(i64, f64)>, StoreError> {
        let interval = interval.max(1);
        let mut conn = self.conn()?;
        let mut buckets: BTreeMap<i64, (f64, i64)> = BTreeMap::new();
        match rollup_width(interval) {
            Some(width) => {
                let mut query = scalar_rollup::table
                    .filter(scalar_rollup::run_id.eq(run_id))
                    .filter(scalar_rollup::width.eq(width))
                    .filter(scalar_rollup::metric.eq(metric))
                    .filter(scalar_rollup::variant.eq(variant))
                    .filter(scalar_rollup::n.gt(0))
                    .select((scalar_rollup::bucket, scalar_rollup::n, scalar_rollup::total))
                    .order(scalar_rollup::bucket.asc())
                    .into_boxed();
                if let Some((from, to)) = range {
                    query = query.filter(scalar_rollup::bucket.ge(bucket_of(from, width))).filter(scalar_rollup::bucket.le(to));
                }
                let rows: Vec<(i64, i64, f64)> = query.load(&mut *conn)?;
                if width == interval {
                    // one stored bucket per bucket, already in key order
                    return Ok(rows.into_iter().map(|(bucket, n, total)| (bucket, total / n as f64)).collect());
                }
                for (bucket, n, total) in rows {
                    let b = buckets.entry(bucket_of(bucket, interval)).or_default();
                    b.0 += total;
                    b.1 += n;
                }
            }
            None => {
                let mut query = scalars::table
                    .filter(scalars::run_id.eq(run_id))
                    .filter(scalars::metric.eq(metric))
                    .filter(scalars::variant.eq(variant))
                    .filter(scalars::special.eq_any(FINITE_SPECIALS))
                    .select((scalars::step, scalars::value))
                    .into_boxed();
                if let Some((from, to)) = range {
                    // a NULL step counts as step 0
                    let null_inside = from <= 0 && 0 <= to;
                    let stepped = scalars::step.ge(from).and(scalars::step.le(to));
                    query = if null_inside {
                        query.filter(stepped.or(scalars::step.is_null()).assume_not_null())
                    } else {
                        query.filter(stepped.assume_not_null())
                    };
                }
                let rows: Vec<(Option<i64>, f64)> = query.load(&mut *conn)?;
                for (step, value) in rows {
                    let b = buckets.entry(bucket_of(step.unwrap_or(0), interval)).or_default();
                    b.0 += value;
                    b.1 += 1;
                }
            }
        }
        Ok(buckets.into_iter().map(|(k, (total, n))| (k, total / n as f64)).collect())
    }

    /// About how many finite values one series has at steps in `range` (inclusive), from the
    /// rollup: the buckets of the widest maintained width that still cuts the range into at
    /// least 100 pieces, so the estimate is off by at most the two buckets at its ends; exact
    /// (counted from the points) for a range of fewer than 500 steps.
    pub fn series_count_in(&self, run_id: i64, metric: &str, variant: &str, range: (i64, i64)) -> Result<i64, StoreError> {
        let (from, to) = range;
        let span = to.saturating_sub(from).saturating_add(1);
        if span <= 0 {
            return Ok(0);
        }
        let mut conn = self.conn()?;
        let Some(width) = WIDTHS.iter().rev().copied().find(|w| span / w >= 100) else {
            let null_inside = from <= 0 && 0 <= to;
            let stepped = scalars::step.ge(from).and(scalars::step.le(to));
            let query = scalars::table
                .filter(scalars::run_id.eq(run_id))
                .filter(scalars::metric.eq(metric))
                .filter(scalars::variant.eq(variant))
                .filter(scalars::special.eq_any(FINITE_SPECIALS))
                .select(diesel::dsl::count_star())
                .into_boxed();
            let query = if null_inside {
                query.filter(stepped.or(scalars::step.is_null()).assume_not_null())
            } else {
                query.filter(stepped.assume_not_null())
            };
            return Ok(query.get_result(&mut *conn)?);
        };
        let counts: Vec<i64> = scalar_rollup::table
            .filter(scalar_rollup::run_id.eq(run_id))
            .filter(scalar_rollup::width.eq(width))
            .filter(scalar_rollup::metric.eq(metric))
            .filter(scalar_rollup::variant.eq(variant))
            .filter(scalar_rollup::bucket.ge(bucket_of(from, width)))
            .filter(scalar_rollup::bucket.le(to))
            .select(scalar_rollup::n)
            .load(&mut *conn)?;
        Ok(counts.into_iter().sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_width_is_derived_from_an_earlier_one_that_divides_it() {
        for (i, w) in WIDTHS.iter().enumerate().skip(1) {
            assert!(WIDTHS[..i].iter().any(|v| w % v == 0), "{w}");
        }
        assert_eq!(rollup_width(20), Some(20));
        assert_eq!(rollup_width(2), None);
        assert_eq!(rollup_width(1), None);
        assert_eq!(rollup_width(50_000_000), Some(10_000_000));
        assert_eq!(bucket_of(-1, 5), -5);
        assert_eq!(bucket_of(9, 5), 5);
    }

    #[test]
    fn ranged_buckets_and_counts_read_only_the_range() {
        use crate::store::{testdb, NewScalar};
        let path = testdb::fresh_sqlite_path();
        let store = Store::open(&path.display().to_string()).unwrap();
        let run = store.ensure_run("t", "r", "test").unwrap();
        let points: Vec<NewScalar> = (0..20_000)
            .map(|i| NewScalar {
                metric: "loss".into(),
                variant: "train".into(),
                step: Some(i),
                ts_us: i,
                value: i as f64,
                source: "test".into(),
                point_key: format!("k{i}"),
                extra: None,
            })
            .collect();
        store.put_scalars(run.id, &points).unwrap();
        // from the rollup (width 10 divides 10): the buckets 1000..1990, each the mean of its ten steps
        let b = store.series_buckets_in(run.id, "loss", "train", 10, Some((1000, 1999))).unwrap();
        assert_eq!(b.len(), 100);
        assert_eq!(b[0], (1000, 1004.5));
        assert_eq!(b[99], (1990, 1994.5));
        // from the points (no maintained width divides 3); the first bucket is cut by the range
        let b = store.series_buckets_in(run.id, "loss", "train", 3, Some((100, 109))).unwrap();
        assert_eq!(b, vec![(99, 100.5), (102, 103.0), (105, 106.0), (108, 108.5)]);
        assert_eq!(store.series_buckets_in(run.id, "loss", "train", 10, None).unwrap().len(), 2000);
        // counts: exact for short ranges, within two buckets of the truth for long ones
        assert_eq!(store.series_count_in(run.id, "loss", "train", (100, 349)).unwrap(), 250);
        let wide = store.series_count_in(run.id, "loss", "train", (1234, 15_678)).unwrap();
        assert!((wide - 14_445).abs() <= 2 * 100, "{wide}");
        assert_eq!(store.series_count_in(run.id, "loss", "train", (30_000, 40_000)).unwrap(), 0);
        assert_eq!(store.series_count_in(run.id, "loss", "other", (0, 100)).unwrap(), 0);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}
