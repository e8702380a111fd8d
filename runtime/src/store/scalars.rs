//! Scalar points: batched upserts, filtered reads, latest value per series.

use diesel::prelude::*;

use super::connection::{AnyConnection, Store};
use super::model::{
    NewScalar, Scalar, ScalarOrder, ScalarQuery, StoreError, TimelineCursor, CURSOR_KIND_SCALAR,
};
use super::schema::scalars;
use super::{json_from_text, json_to_text, last_occurrence_mask};

// Private encoding of values the column cannot hold as such: SQLite stores NaN as
// NULL (refused by NOT NULL) and folds -0.0 into 0.0, so every non-plain value is
// kept as `value = 0` plus a code in `special`.
const SPECIAL_FINITE: i16 = 0;
const SPECIAL_NAN: i16 = 1;
const SPECIAL_POS_INF: i16 = 2;
const SPECIAL_NEG_INF: i16 = 3;
const SPECIAL_NEG_ZERO: i16 = 4;

pub(crate) fn encode_value(v: f64) -> (f64, i16) {
    if v.is_nan() {
        (0.0, SPECIAL_NAN)
    } else if v == f64::INFINITY {
        (0.0, SPECIAL_POS_INF)
    } else if v == f64::NEG_INFINITY {
        (0.0, SPECIAL_NEG_INF)
    } else if v == 0.0 && v.is_sign_negative() {
        (0.0, SPECIAL_NEG_ZERO)
    } else {
        (v, SPECIAL_FINITE)
    }
}

pub(crate) fn decode_value(value: f64, special: i16) -> f64 {
    match special {
        SPECIAL_NAN => f64::NAN,
        SPECIAL_POS_INF => f64::INFINITY,
        SPECIAL_NEG_INF => f64::NEG_INFINITY,
        SPECIAL_NEG_ZERO => -0.0,
        _ => value,
    }
}

#[derive(Queryable, Selectable, QueryableByName)]
#[diesel(table_name = scalars)]
pub(crate) struct ScalarRow {
    id: i64,
    run_id: i64,
    metric: String,
    variant: String,
    step: Option<i64>,
    ts_us: i64,
    value: f64,
    special: i16,
    source: String,
    point_key: String,
    extra: Option<String>,
}

impl ScalarRow {
    pub(crate) fn into_scalar(self) -> Result<Scalar, StoreError> {
        Ok(Scalar {
            id: self.id,
            run_id: self.run_id,
            metric: self.metric,
            variant: self.variant,
            step: self.step,
            ts_us: self.ts_us,
            value: decode_value(self.value, self.special),
            source: self.source,
            point_key: self.point_key,
            extra: self.extra.as_deref().map(json_from_text).transpose()?,
        })
    }
}

fn into_scalars(rows: Vec<ScalarRow>) -> Result<Vec<Scalar>, StoreError> {
    rows.into_iter().map(ScalarRow::into_scalar).collect()
}

/// A scalar row to write, owned (built in the caller's thread, written by the store's
/// writer thread).
#[derive(Insertable)]
#[diesel(table_name = scalars, treat_none_as_default_value = false)]
pub(crate) struct NewScalarRow {
    pub(crate) run_id: i64,
    pub(crate) metric: String,
    pub(crate) variant: String,
    pub(crate) step: Option<i64>,
    pub(crate) ts_us: i64,
    pub(crate) value: f64,
    pub(crate) special: i16,
    pub(crate) source: String,
    pub(crate) point_key: String,
    pub(crate) extra: Option<String>,
}

impl NewScalarRow {
    pub(crate) fn new(run_id: i64, p: &NewScalar) -> Result<Self, StoreError> {
        let (value, special) = encode_value(p.value);
        Ok(NewScalarRow {
            run_id,
            metric: p.metric.clone(),
            variant: p.variant.clone(),
            step: p.step,
            ts_us: p.ts_us,
            value,
            special,
            source: p.source.clone(),
            point_key: p.point_key.clone(),
            extra: p.extra.as_ref().map(json_to_text).transpose()?,
        })
    }

    fn rollup_point(&self) -> super::rollup::RollupPoint<'_> {
        super::rollup::RollupPoint {
            key: &self.point_key,
            metric: &self.metric,
            variant: &self.variant,
            step: self.step,
            value: self.value,
            special: self.special,
        }
    }
}

/// Upserts `rows` (distinct point keys) inside the write transaction of the caller (the
/// group commit): a row whose `(run_id, point_key)` is stored overwrites it. Returns the
/// number of rows inserted or overwritten. Every scalar write of the store goes through here.
pub(crate) fn insert_scalars(conn: &mut AnyConnection, rows: &[NewScalarRow]) -> Result<usize, StoreError> {
    // The per-bucket totals first: they take back what the overwritten rows added.
    let mut run_ids: Vec<i64> = rows.iter().map(|r| r.run_id).collect();
    run_ids.dedup();
    for run_id in run_ids {
        let points: Vec<_> = rows.iter().filter(|r| r.run_id == run_id).map(NewScalarRow::rollup_point).collect();
        with_conn!(&mut *conn, |c| super::rollup::record(c, run_id, &points))?;
    }
    let written = with_conn!(&mut *conn, |c| super::prepared::HotWrites::upsert_scalars(c, rows))?;
    // the API families of the write, once each (the runs list reads them without the points)
    let sources: std::collections::BTreeSet<(i64, &str)> = rows.iter().map(|r| (r.run_id, r.source.as_str())).collect();
    for (run_id, source) in sources {
        super::run_list::add_sources(conn, run_id, [source])?;
    }
    Ok(written)
}

impl Store {
    /// Writes `points` to run `run_id` in one transaction. A point whose `point_key` is
    /// already stored for the run overwrites that row (metric, variant, step, ts_us,
    /// value, source, extra); of repeated keys within `points` the last wins. Bumps the
    /// run's `updated_us`. Returns the number of rows inserted or overwritten.
    pub fn put_scalars(&self, run_id: i64, points: &[NewScalar]) -> Result<usize, StoreError> {
        if points.is_empty() {
            return Ok(0);
        }
        let keep = last_occurrence_mask(points.iter().map(|p| Some(p.point_key.as_str())));
        let rows = points
            .iter()
            .zip(keep)
            .filter(|(_, keep)| *keep)
            .map(|(p, _)| NewScalarRow::new(run_id, p))
            .collect::<Result<Vec<_>, _>>()?;
        self.write(rows.len(), move |tx| {
            let written = insert_scalars(tx.conn, &rows)?;
            tx.touch(run_id);
            Ok(written)
        })
    }

    /// Scalars of one run, filtered, ordered and paged as `q` says.
    pub fn scalars(&self, q: &ScalarQuery) -> Result<Vec<Scalar>, StoreError> {
        let mut query = scalars::table
            .filter(scalars::run_id.eq(q.run_id))
            .select(ScalarRow::as_select())
            .into_boxed();
        if let Some(metrics) = &q.metrics {
            if metrics.is_empty() {
                return Ok(Vec::new());
            }
            query = query.filter(scalars::metric.eq_any(metrics));
        }
        if let Some(variants) = &q.variants {
            if variants.is_empty() {
                return Ok(Vec::new());
            }
            query = query.filter(scalars::variant.eq_any(variants));
        }
        if let Some(from) = q.ts_from_us {
            query = query.filter(scalars::ts_us.ge(from));
        }
        if let Some(to) = q.ts_to_us {
            query = query.filter(scalars::ts_us.le(to));
        }
        if let Some(from) = q.step_from {
            query = query.filter(scalars::step.ge(from));
        }
        if let Some(to) = q.step_to {
            query = query.filter(scalars::step.le(to));
        }
        // `step IS NULL` as the first key puts NULL steps lowest on both backends
        // (SQLite sorts NULL first, PostgreSQL last)
        query = match q.order {
            ScalarOrder::StepAsc => query.order((
                scalars::step.is_null().desc(),
                scalars::step.asc(),
                scalars::ts_us.asc(),
                scalars::id.asc(),
            )),
            ScalarOrder::StepDesc => query.order((
                scalars::step.is_null().asc(),
                scalars::step.desc(),
                scalars::ts_us.desc(),
                scalars::id.desc(),
            )),
            ScalarOrder::TsAsc => query.order((scalars::ts_us.asc(), scalars::id.asc())),
            ScalarOrder::TsDesc => query.order((scalars::ts_us.desc(), scalars::id.desc())),
        };
        if q.offset > 0 {
            query = query.offset(q.offset);
        }
        // always set a LIMIT: the multi-connection renders a bare OFFSET for SQLite,
        // which SQLite rejects (it needs LIMIT before OFFSET)
        query = query.limit(q.limit.map_or(i64::MAX, |l| l.max(0)));
        into_scalars(query.load(&mut *self.conn()?)?)
    }

    /// Per (metric, variant) of the run, the point with the highest step (a NULL step
    /// counts lowest; ties go to the latest ts_us, then the highest id), ordered by
    /// metric then variant (bytewise). The series come from the rollup and each point is
    /// one or two index seeks, so the cost follows the number of series, not of points.
    pub fn latest_scalars(&self, run_id: i64) -> Result<Vec<Scalar>, StoreError> {
        let series = self.scalar_series(run_id)?;
        let mut conn = self.conn()?;
        let mut out = Vec::with_capacity(series.len());
        for (metric, variant) in &series {
            if let Some(row) = latest_of_series(&mut conn, run_id, metric, variant)? {
                out.push(row.into_scalar()?);
            }
        }
        out.sort_by(|a, b| (&a.metric, &a.variant).cmp(&(&b.metric, &b.variant)));
        Ok(out)
    }
}

/// The latest point of one series (see [`Store::latest_scalars`]).
pub(crate) fn latest_of_series(conn: &mut AnyConnection, run_id: i64, metric: &str, variant: &str) -> Result<Option<ScalarRow>, StoreError> {
    Ok(recent_of_series(conn, run_id, metric, variant, 1)?.pop())
}

/// The `n` latest points of one series, latest first: the highest steps by a backward range
/// of the `(run, metric, variant, step, ts, id)` index (ties to the latest ts_us, then the
/// highest id), then, when fewer than `n`, the latest unstepped points (a NULL step counts
/// lowest). At most two index ranges of at most `n` rows each, whatever the series' length.
pub(crate) fn recent_of_series(conn: &mut AnyConnection, run_id: i64, metric: &str, variant: &str, n: i64) -> Result<Vec<ScalarRow>, StoreError> {
    let series = || scalars::table.filter(scalars::run_id.eq(run_id)).filter(scalars::metric.eq(metric)).filter(scalars::variant.eq(variant));
    let mut rows: Vec<ScalarRow> = series()
        .filter(scalars::step.is_not_null())
        .order((scalars::step.desc(), scalars::ts_us.desc(), scalars::id.desc()))
        .select(ScalarRow::as_select())
        .limit(n)
        .load(conn)?;
    let left = n - rows.len() as i64;
    if left > 0 {
        rows.extend(
            series()
                .filter(scalars::step.is_null())
                .order((scalars::ts_us.desc(), scalars::id.desc()))
                .select(ScalarRow::as_select())
                .limit(left)
                .load(conn)?,
        );
    }
    Ok(rows)
}

/// Keyset bound of one table of the timeline: rows strictly after `after` in the
/// (ts_us, kind, id) order (or strictly before when descending), given that every row
/// of the table has cursor kind `kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Keyset {
    All,
    /// ts_us > t
    TsGt(i64),
    /// ts_us >= t
    TsGe(i64),
    /// (ts_us, id) > (t, id)
    After(i64, i64),
    /// ts_us < t
    TsLt(i64),
    /// ts_us <= t
    TsLe(i64),
    /// (ts_us, id) < (t, id)
    Before(i64, i64),
}

impl Keyset {
    pub(crate) fn new(after: Option<TimelineCursor>, kind: u8, descending: bool) -> Keyset {
        let Some(c) = after else { return Keyset::All };
        use std::cmp::Ordering::*;
        match (descending, kind.cmp(&c.kind)) {
            (false, Less) => Keyset::TsGt(c.ts_us),
            (false, Greater) => Keyset::TsGe(c.ts_us),
            (false, Equal) => Keyset::After(c.ts_us, c.id),
            (true, Greater) => Keyset::TsLt(c.ts_us),
            (true, Less) => Keyset::TsLe(c.ts_us),
            (true, Equal) => Keyset::Before(c.ts_us, c.id),
        }
    }
}

/// Timeline half from the scalars table: at most `limit` rows past the keyset, in
/// timeline order.
pub(crate) fn timeline_scalars(
    conn: &mut AnyConnection,
    run_id: i64,
    after: Option<TimelineCursor>,
    descending: bool,
    limit: i64,
) -> Result<Vec<Scalar>, StoreError> {
    let mut query = scalars::table
        .filter(scalars::run_id.eq(run_id))
        .select(ScalarRow::as_select())
        .into_boxed();
    // spelled as a range on ts_us plus a tie-break, so the (run_id, ts_us) index seeks
    query = match Keyset::new(after, CURSOR_KIND_SCALAR, descending) {
        Keyset::All => query,
        Keyset::TsGt(t) => query.filter(scalars::ts_us.gt(t)),
        Keyset::TsGe(t) => query.filter(scalars::ts_us.ge(t)),
        Keyset::After(t, id) => query
            .filter(scalars::ts_us.ge(t))
            .filter(scalars::ts_us.gt(t).or(scalars::id.gt(id))),
        Keyset::TsLt(t) => query.filter(scalars::ts_us.lt(t)),
        Keyset::TsLe(t) => query.filter(scalars::ts_us.le(t)),
        Keyset::Before(t, id) => query
            .filter(scalars::ts_us.le(t))
            .filter(scalars::ts_us.lt(t).or(scalars::id.lt(id))),
    };
    query = if descending {
        query.order((scalars::ts_us.desc(), scalars::id.desc()))
    } else {
        query.order((scalars::ts_us.asc(), scalars::id.asc()))
    };
    into_scalars(query.limit(limit).load(conn)?)
}

/// Number of scalars of a run.
pub(crate) fn count_scalars(conn: &mut AnyConnection, run_id: i64) -> Result<i64, StoreError> {
    Ok(scalars::table
        .filter(scalars::run_id.eq(run_id))
        .count()
        .get_result(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_encoding_round_trips_bit_exactly() {
        for v in [
            0.0,
            -0.0,
            1.0,
            -1.5,
            1e-300,
            -1e-300,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            f64::MIN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            let (stored, special) = encode_value(v);
            assert!(stored.is_finite());
            assert_eq!(decode_value(stored, special).to_bits(), v.to_bits(), "{v}");
        }
        let (stored, special) = encode_value(f64::NAN);
        assert_eq!((stored, special), (0.0, SPECIAL_NAN));
        assert!(decode_value(stored, special).is_nan());
    }

    #[test]
    fn keyset_bounds_follow_the_tuple_order() {
        let c = |kind| {
            Some(TimelineCursor {
                ts_us: 10,
                kind,
                id: 7,
            })
        };
        assert_eq!(Keyset::new(None, 0, false), Keyset::All);
        assert_eq!(Keyset::new(c(0), 0, false), Keyset::After(10, 7));
        assert_eq!(Keyset::new(c(1), 0, false), Keyset::TsGt(10));
        assert_eq!(Keyset::new(c(0), 1, false), Keyset::TsGe(10));
        assert_eq!(Keyset::new(c(0), 0, true), Keyset::Before(10, 7));
        assert_eq!(Keyset::new(c(1), 0, true), Keyset::TsLe(10));
        assert_eq!(Keyset::new(c(0), 1, true), Keyset::TsLt(10));
    }
}

/// Properties (issue 10): the store's (value, special) encoding keeps every f64, NaN, ±∞ and -0.0 included.
#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn values_survive_the_store_encoding(v in any::<f64>()) {
            let (value, special) = encode_value(v);
            // what the column holds is a finite number (SQLite would turn NaN into NULL)
            prop_assert!(value.is_finite());
            let back = decode_value(value, special);
            prop_assert!(back.to_bits() == v.to_bits() || (v.is_nan() && back.is_nan()));
        }
    }
}
