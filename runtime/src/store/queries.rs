//! Reads by metric, variant and iteration (listings, pages by step or iteration, the last
//! iterations of a run or of each series, events that carry a `url`) and the deletion of
//! a run's points and events. Pages are keyset pages bounded by a snapshot id (`max_id`):
//! rows written after a scroll started are not part of it (an overwrite keeps its row id).

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{Array, BigInt, HasSqlType, Nullable, Text, Untyped};
use diesel::sqlite::Sqlite;

use super::connection::Store;
use super::model::{Backend, Event, Scalar, StoreError, SCALAR_EVENT_TYPE};
use super::events::EventRow;
use super::scalars::ScalarRow;
use super::schema::{events, scalar_rollup, scalars};

/// Position in a page of scalars ordered by step descending (NULL steps last), then
/// ts_us and id descending.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StepCursor {
    pub step: Option<i64>,
    pub ts_us: i64,
    pub id: i64,
}

impl StepCursor {
    /// The cursor just after `s` (pass it as [`StepPage::after`] to continue).
    pub fn of(s: &Scalar) -> StepCursor {
        StepCursor { step: s.step, ts_us: s.ts_us, id: s.id }
    }
}

/// A page of one run's scalars, newest step first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepPage {
    pub run_id: i64,
    /// Only this metric (`None`: all).
    pub metric: Option<String>,
    /// Only rows with `id <= max_id`.
    pub max_id: i64,
    /// Exclusive.
    pub after: Option<StepCursor>,
    pub limit: i64,
}

/// Which iterations [`IterQuery::last_iters`] keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum LastIters {
    /// The `n` highest distinct iterations of each run.
    PerRun(i64),
    /// The `n` highest distinct iterations of each (run, metric, variant).
    PerSeries(i64),
}

/// Events of some runs that have an iteration, ordered by (iter, id).
#[derive(Clone, Debug, PartialEq)]
pub struct IterQuery {
    pub run_ids: Vec<i64>,
    pub event_type: String,
    pub metric: Option<String>,
    pub variant: Option<String>,
    pub last_iters: Option<LastIters>,
    /// Keep only events whose payload's `valid_plot` is true, null or absent (applied
    /// after `last_iters` chose the iterations).
    pub valid_plots_only: bool,
    /// Only rows with `id <= max_id` (`None`: all).
    pub max_id: Option<i64>,
    /// (iter, id) descending instead of ascending.
    pub descending: bool,
    /// Exclusive (iter, id) position in the query's direction.
    pub after: Option<(i64, i64)>,
    pub limit: i64,
}

impl IterQuery {
    /// All events of `event_type` of `run_id` that have an iteration, ascending.
    pub fn new(run_ids: Vec<i64>, event_type: &str) -> IterQuery {
        IterQuery {
            run_ids,
            event_type: event_type.to_string(),
            metric: None,
            variant: None,
            last_iters: None,
            valid_plots_only: false,
            max_id: None,
            descending: false,
            after: None,
            limit: i64::MAX,
        }
    }
}

/// An event that carries a `url` (an image, a file), without its payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlRef {
    pub id: i64,
    pub metric: String,
    pub variant: String,
    pub iter: i64,
    pub url: String,
}


#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct UrlRefRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    metric: String,
    #[diesel(sql_type = Text)]
    variant: String,
    #[diesel(sql_type = BigInt)]
    iter: i64,
    #[diesel(sql_type = Nullable<Text>)]
    url: Option<String>,
}

/// What the statements of this module spell differently per backend.
trait Dialect: diesel::backend::Backend + HasSqlType<BigInt> + HasSqlType<Text> {
    /// True when `r.payload`'s `valid_plot` is true, JSON null or absent.
    const VALID_PLOT: &'static str;
    /// ` IN (…)` (or ` = ANY(…)`): membership in `ids`, bound as one parameter.
    fn push_one_of<'b>(out: AstPass<'_, 'b, Self>, ids: &'b RunIds<'_>) -> QueryResult<()>;
}

impl Dialect for Sqlite {
    const VALID_PLOT: &'static str = "COALESCE(json_type(r.payload, '$.valid_plot'), 'null') IN ('null', 'true')";
    fn push_one_of<'b>(mut out: AstPass<'_, 'b, Self>, ids: &'b RunIds<'_>) -> QueryResult<()> {
        out.push_sql(" IN (SELECT value FROM json_each(");
        out.push_bind_param::<Text, _>(&ids.json)?;
        out.push_sql("))");
        Ok(())
    }
}

impl Dialect for Pg {
    const VALID_PLOT: &'static str = "COALESCE((r.payload::jsonb -> 'valid_plot')::text, 'null') IN ('null', 'true')";
    fn push_one_of<'b>(mut out: AstPass<'_, 'b, Self>, ids: &'b RunIds<'_>) -> QueryResult<()> {
        out.push_sql(" = ANY(");
        out.push_bind_param::<Array<BigInt>, _>(ids.ids)?;
        out.push_sql(")");
        Ok(())
    }
}

/// Run ids as one bind parameter: an array (PostgreSQL) or a JSON array (SQLite).
struct RunIds<'a> {
    ids: &'a [i64],
    json: String,
}

/// An [`IterQuery`] as one statement: its page, or (`count`) the number of events it
/// selects regardless of `after` and `limit`. The events of the runs are ranked by
/// iteration (descending, per run or per series) in a subquery and the outer query keeps
/// the ranks `last_iters` asks for. The text is put together from fixed pieces and every
/// value is a bind parameter.
struct IterStatement<'a> {
    q: &'a IterQuery,
    runs: RunIds<'a>,
    max_id: i64,
    rank_bound: i64,
    count: bool,
}

impl<'a> IterStatement<'a> {
    fn new(q: &'a IterQuery, count: bool) -> Self {
        let rank_bound = match q.last_iters {
            Some(LastIters::PerRun(n)) | Some(LastIters::PerSeries(n)) => n,
            None => i64::MAX,
        };
        let runs = RunIds { ids: &q.run_ids, json: super::json_ids(&q.run_ids) };
        IterStatement { q, runs, max_id: q.max_id.unwrap_or(i64::MAX), rank_bound, count }
    }
}

impl QueryId for IterStatement<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for IterStatement<'_> {
    type SqlType = Untyped;
}

impl<Conn> RunQueryDsl<Conn> for IterStatement<'_> {}

impl<DB: Dialect> QueryFragment<DB> for IterStatement<'_>
where
    i64: ToSql<BigInt, DB>,
    String: ToSql<Text, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let q = self.q;
        out.push_sql(if self.count {
            "SELECT COUNT(*) AS n "
        } else {
            "SELECT r.id, r.run_id, r.event_type, r.metric, r.variant, r.iter, r.ts_us, r.point_key, r.payload "
        });
        out.push_sql(
            "FROM (SELECT e.id, e.run_id, e.event_type, e.metric, e.variant, e.iter, e.ts_us, e.point_key, e.payload, \
             DENSE_RANK() OVER (PARTITION BY ",
        );
        out.push_sql(match q.last_iters {
            Some(LastIters::PerSeries(_)) => "e.run_id, e.metric, e.variant",
            _ => "e.run_id",
        });
        out.push_sql(" ORDER BY e.iter DESC) AS rk FROM events e WHERE e.run_id");
        DB::push_one_of(out.reborrow(), &self.runs)?;
        out.push_sql(" AND e.event_type = ");
        out.push_bind_param::<Text, _>(&q.event_type)?;
        out.push_sql(" AND e.iter IS NOT NULL AND e.id <= ");
        out.push_bind_param::<BigInt, _>(&self.max_id)?;
        if let Some(metric) = &q.metric {
            out.push_sql(" AND e.metric = ");
            out.push_bind_param::<Text, _>(metric)?;
        }
        if let Some(variant) = &q.variant {
            out.push_sql(" AND e.variant = ");
            out.push_bind_param::<Text, _>(variant)?;
        }
        out.push_sql(") r WHERE r.rk <= ");
        out.push_bind_param::<BigInt, _>(&self.rank_bound)?;
        if q.valid_plots_only {
            out.push_sql(" AND ");
            out.push_sql(DB::VALID_PLOT);
        }
        if self.count {
            return Ok(());
        }
        if let Some((iter, id)) = &q.after {
            out.push_sql(if q.descending { " AND (r.iter < " } else { " AND (r.iter > " });
            out.push_bind_param::<BigInt, _>(iter)?;
            out.push_sql(" OR (r.iter = ");
            out.push_bind_param::<BigInt, _>(iter)?;
            out.push_sql(if q.descending { " AND r.id < " } else { " AND r.id > " });
            out.push_bind_param::<BigInt, _>(id)?;
            out.push_sql("))");
        }
        out.push_sql(if q.descending { " ORDER BY r.iter DESC, r.id DESC LIMIT " } else { " ORDER BY r.iter ASC, r.id ASC LIMIT " });
        out.push_bind_param::<BigInt, _>(&q.limit)?;
        Ok(())
    }
}

/// [`Store::url_refs`]: binds 1 run, 2 event type, 3 metric (NULL: any); `$url` is the
/// payload's `url` member as text (NULL when absent or JSON null), `$p` the backend's
/// placeholder prefix.
macro_rules! url_refs_sql {
    ($url:literal, $p:literal) => {
        concat!(
            "SELECT e.id, e.metric, e.variant, e.iter, ", $url, " AS url FROM events e ",
            "WHERE e.run_id = ", $p, "1 AND e.event_type = ", $p, "2 AND e.iter IS NOT NULL AND (", $p, "3 IS NULL OR e.metric = ", $p, "3) ",
            "AND ", $url, " IS NOT NULL ORDER BY e.metric, e.variant, e.iter, e.id"
        )
    };
}
const URL_REFS_SQLITE: &str = url_refs_sql!("CAST(json_extract(e.payload, '$.url') AS TEXT)", "?");
const URL_REFS_POSTGRES: &str = url_refs_sql!("(e.payload::jsonb ->> 'url')", "$");

impl Store {
    /// The distinct (metric, variant) of a run's scalars (`event_type` =
    /// [`SCALAR_EVENT_TYPE`]) or of its events of `event_type`, sorted bytewise.
    pub fn metric_variants(&self, run_id: i64, event_type: &str) -> Result<Vec<(String, String)>, StoreError> {
        if event_type == SCALAR_EVENT_TYPE {
            // from the per-bucket aggregates: a few rows per series, not the run's points
            return self.scalar_series(run_id);
        }
        let mut conn = self.conn()?;
        let rows = {
            events::table
                .filter(events::run_id.eq(run_id))
                .filter(events::event_type.eq(event_type))
                .select((events::metric, events::variant))
                .distinct()
                .order((events::metric.asc(), events::variant.asc()))
                .load::<(String, String)>(&mut *conn)?
        };
        Ok(rows)
    }

    /// The highest scalar id in the store (0 when it has none): the snapshot bound of a
    /// [`StepPage`] scroll (a run's rows at or below it are the rows it had when the scroll
    /// began; an overwrite keeps its row's id). One seek at the end of the id key, where
    /// the highest id of one run would scan the run.
    pub fn max_scalar_id(&self) -> Result<i64, StoreError> {
        let max: Option<i64> = scalars::table.select(diesel::dsl::max(scalars::id)).first(&mut *self.conn()?)?;
        Ok(max.unwrap_or(0))
    }

    /// The highest event id of some runs (0 when they have none): the snapshot bound of
    /// an [`IterQuery`] scroll.
    pub fn max_event_id(&self, run_ids: &[i64]) -> Result<i64, StoreError> {
        let max: Option<i64> =
            events::table.filter(events::run_id.eq_any(run_ids)).select(diesel::dsl::max(events::id)).first(&mut *self.conn()?)?;
        Ok(max.unwrap_or(0))
    }

    /// One page of a run's scalars: step descending (NULL steps last), then ts_us and id
    /// descending, strictly after `q.after`. Read in two keyset ranges, the stepped points
    /// and then the unstepped ones, each in the order of the `(run_id, metric, step, ts_us,
    /// id)` index, so a page costs its own rows whatever its position in the scroll.
    pub fn scalars_by_step_desc(&self, q: &StepPage) -> Result<Vec<Scalar>, StoreError> {
        let limit = q.limit.max(0);
        let mut conn = self.conn()?;
        let base = || {
            let mut query = scalars::table
                .filter(scalars::run_id.eq(q.run_id))
                .filter(scalars::id.le(q.max_id))
                .select(ScalarRow::as_select())
                .into_boxed();
            if let Some(metric) = &q.metric {
                query = query.filter(scalars::metric.eq(metric.clone()));
            }
            query
        };
        let mut rows: Vec<ScalarRow> = Vec::new();
        // stepped points, unless the cursor is already among the unstepped ones
        if q.after.is_none_or(|c| c.step.is_some()) {
            let mut query = base().filter(scalars::step.is_not_null());
            if let Some(StepCursor { step: Some(step), ts_us, id }) = q.after {
                // `step <= s` bounds the index range; the rest breaks ties within step s
                query = query.filter(scalars::step.le(step)).filter(
                    scalars::step
                        .lt(step)
                        .or(scalars::ts_us.lt(ts_us))
                        .or(scalars::ts_us.eq(ts_us).and(scalars::id.lt(id))),
                );
            }
            rows = query.order((scalars::step.desc(), scalars::ts_us.desc(), scalars::id.desc())).limit(limit).load(&mut *conn)?;
        }
        let left = limit - rows.len() as i64;
        if left > 0 {
            let mut query = base().filter(scalars::step.is_null());
            if let Some(StepCursor { step: None, ts_us, id }) = q.after {
                query = query.filter(scalars::ts_us.le(ts_us)).filter(scalars::ts_us.lt(ts_us).or(scalars::id.lt(id)));
            }
            rows.extend(query.order((scalars::ts_us.desc(), scalars::id.desc())).limit(left).load::<ScalarRow>(&mut *conn)?);
        }
        rows.into_iter().map(ScalarRow::into_scalar).collect()
    }

    /// Per (metric, variant) of a run, its `n` points with the highest steps (NULL steps
    /// lowest; ties to the latest ts_us, then the highest id), ordered by metric, variant
    /// (bytewise) and then from the highest step down. The series come from the rollup and
    /// each is read by index ranges of at most `n` rows, so the cost follows the number of
    /// series, not the run's length.
    pub fn recent_scalars(&self, run_id: i64, n: i64) -> Result<Vec<Scalar>, StoreError> {
        let mut series = self.scalar_series(run_id)?;
        series.sort();
        let mut conn = self.conn()?;
        let mut out = Vec::new();
        for (metric, variant) in &series {
            for row in super::scalars::recent_of_series(&mut conn, run_id, metric, variant, n)? {
                out.push(row.into_scalar()?);
            }
        }
        Ok(out)
    }

    /// The latest ts_us of a run's scalars.
    pub fn last_scalar_ts(&self, run_id: i64) -> Result<Option<i64>, StoreError> {
        Ok(scalars::table.filter(scalars::run_id.eq(run_id)).select(diesel::dsl::max(scalars::ts_us)).first(&mut *self.conn()?)?)
    }

    /// The highest iteration (step) of a run over its scalars and events.
    pub fn max_iteration(&self, run_id: i64) -> Result<Option<i64>, StoreError> {
        let series = self.scalar_series(run_id)?;
        let mut conn = self.conn()?;
        // the highest step of each series: one backward index seek each (a max over the
        // run would read every point of it)
        let mut s: Option<i64> = None;
        for (metric, variant) in series {
            let top: Option<Option<i64>> = scalars::table
                .filter(scalars::run_id.eq(run_id))
                .filter(scalars::metric.eq(metric))
                .filter(scalars::variant.eq(variant))
                .filter(scalars::step.is_not_null())
                .select(scalars::step)
                .order(scalars::step.desc())
                .first(&mut *conn)
                .optional()?;
            s = s.max(top.flatten());
        }
        let e: Option<i64> = events::table.filter(events::run_id.eq(run_id)).select(diesel::dsl::max(events::iter)).first(&mut *conn)?;
        Ok(s.max(e))
    }

    /// One page of an [`IterQuery`].
    pub fn events_by_iter(&self, q: &IterQuery) -> Result<Vec<Event>, StoreError> {
        if q.run_ids.is_empty() || q.limit <= 0 {
            return Ok(Vec::new());
        }
        let statement = IterStatement::new(q, false);
        let rows: Vec<EventRow> = with_conn!(&mut *self.conn()?, |c| statement.load(c))?;
        rows.into_iter().map(EventRow::into_event).collect()
    }

    /// Number of events an [`IterQuery`] selects, ignoring `after` and `limit`.
    pub fn count_events_by_iter(&self, q: &IterQuery) -> Result<i64, StoreError> {
        if q.run_ids.is_empty() {
            return Ok(0);
        }
        let statement = IterStatement::new(q, true);
        let row: CountRow = with_conn!(&mut *self.conn()?, |c| statement.get_result(c))?;
        Ok(row.n)
    }

    /// The events of `event_type` of a run (of one metric) that have an iteration and a
    /// non-null `url` in their payload, without payloads, ordered by metric, variant,
    /// iteration and id.
    pub fn url_refs(&self, run_id: i64, event_type: &str, metric: Option<&str>) -> Result<Vec<UrlRef>, StoreError> {
        let query = match self.backend() {
            Backend::Sqlite => diesel::sql_query(URL_REFS_SQLITE),
            Backend::Postgres => diesel::sql_query(URL_REFS_POSTGRES),
        };
        let rows: Vec<UrlRefRow> = query
            .bind::<BigInt, _>(run_id)
            .bind::<Text, _>(event_type)
            .bind::<Nullable<Text>, _>(metric)
            .load(&mut *self.conn()?)?;
        Ok(rows
            .into_iter()
            .filter_map(|r| Some(UrlRef { id: r.id, metric: r.metric, variant: r.variant, iter: r.iter, url: r.url? }))
            .collect())
    }

    /// The events of `run_ids` with these ids (in no particular order).
    pub fn events_by_ids(&self, run_ids: &[i64], ids: &[i64]) -> Result<Vec<Event>, StoreError> {
        let mut conn = self.conn()?;
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(super::INSERT_CHUNK) {
            let rows: Vec<EventRow> = events::table
                .filter(events::run_id.eq_any(run_ids))
                .filter(events::id.eq_any(chunk))
                .select(EventRow::as_select())
                .load(&mut *conn)?;
            for row in rows {
                out.push(row.into_event()?);
            }
        }
        Ok(out)
    }

    /// Deletes every scalar point and event of a run (the run stays), in one transaction;
    /// bumps the run's `updated_us`. Returns the number of rows deleted.
    pub fn delete_run_data(&self, run_id: i64) -> Result<usize, StoreError> {
        self.write(1, move |tx| {
            with_conn!(&mut *tx.conn, |c| super::rollup::RollupConn::lock_run(c, run_id))?;
            let mut deleted = diesel::delete(scalars::table.filter(scalars::run_id.eq(run_id))).execute(tx.conn)?;
            deleted += diesel::delete(events::table.filter(events::run_id.eq(run_id))).execute(tx.conn)?;
            diesel::delete(scalar_rollup::table.filter(scalar_rollup::run_id.eq(run_id))).execute(tx.conn)?;
            // the points' API families go with them; the creator stays
            super::run_list::reset_sources(tx.conn, run_id)?;
            tx.touch(run_id);
            Ok(deleted)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The statement's text depends on the query's shape, never on its values.
    #[test]
    fn iter_statements_bind_every_value() {
        let text = |q: &IterQuery, count: bool| {
            let s = IterStatement::new(q, count);
            (diesel::debug_query::<Sqlite, _>(&s).to_string(), diesel::debug_query::<Pg, _>(&s).to_string())
        };
        let shape = |t: (String, String)| (t.0.split(" -- binds").next().unwrap().to_string(), t.1.split(" -- binds").next().unwrap().to_string());
        let a = IterQuery {
            metric: Some("loss".into()),
            last_iters: Some(LastIters::PerSeries(3)),
            valid_plots_only: true,
            after: Some((4, 17)),
            limit: 10,
            ..IterQuery::new(vec![1, 2], "plot")
        };
        let b = IterQuery {
            run_ids: vec![7, 8, 9, 10],
            metric: Some("x' OR 1=1 --".into()),
            last_iters: Some(LastIters::PerSeries(50)),
            after: Some((-1, 99)),
            limit: 500,
            event_type: "log".into(),
            ..a.clone()
        };
        assert_eq!(shape(text(&a, false)), shape(text(&b, false)));
        assert_eq!(shape(text(&a, true)), shape(text(&b, true)));
        let (sqlite, pg) = shape(text(&b, false));
        for t in [&sqlite, &pg] {
            assert!(!t.contains("OR 1=1") && !t.contains("500") && !t.contains("log"), "{t}");
        }
        assert!(sqlite.contains("e.run_id IN (SELECT value FROM json_each(?))"), "{sqlite}");
        assert!(pg.contains("e.run_id = ANY($1)") && pg.contains("LIMIT $9"), "{pg}");
    }
}
