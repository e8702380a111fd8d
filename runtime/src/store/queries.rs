//! Reads by metric, variant and iteration (listings, pages by step or iteration, the last
//! iterations of a run or of each series, events that carry a `url`) and the deletion of
//! a run's points and events. Pages are keyset pages bounded by a snapshot id (`max_id`):
//! rows written after a scroll started are not part of it (an overwrite keeps its row id).

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

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

/// The statement for `backend`: written with `$n` placeholders, which SQLite spells `?n`
/// (a `$` not followed by a digit, as in a JSON path, stays).
fn placeholders(sql: &str, backend: Backend) -> String {
    if backend == Backend::Postgres {
        return sql.to_string();
    }
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        let numbered = c == '$' && chars.peek().is_some_and(char::is_ascii_digit);
        out.push(if numbered { '?' } else { c });
    }
    out
}

/// `payload.<member>` as text (NULL when absent or JSON null), per backend.
fn json_member_text(backend: Backend, column: &str, member: &str) -> String {
    match backend {
        Backend::Sqlite => format!("CAST(json_extract({column}, '$.{member}') AS TEXT)"),
        Backend::Postgres => format!("({column}::jsonb ->> '{member}')"),
    }
}

/// True when `payload.valid_plot` is true, JSON null or absent.
fn valid_plot_condition(backend: Backend, column: &str) -> String {
    match backend {
        Backend::Sqlite => format!("COALESCE(json_type({column}, '$.valid_plot'), 'null') IN ('null', 'true')"),
        Backend::Postgres => format!("COALESCE(({column}::jsonb -> 'valid_plot')::text, 'null') IN ('null', 'true')"),
    }
}

/// The ranked selection of an [`IterQuery`] (binds `$1` event type, `$2` max id, `$3`
/// metric, `$4` variant, `$5` rank bound), aliased `r`, with its outer filter.
fn iter_selection(q: &IterQuery, backend: Backend) -> String {
    let runs = q.run_ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
    let partition = match q.last_iters {
        Some(LastIters::PerSeries(_)) => "e.run_id, e.metric, e.variant",
        _ => "e.run_id",
    };
    let valid = if q.valid_plots_only { valid_plot_condition(backend, "r.payload") } else { "1 = 1".to_string() };
    format!(
        "FROM (SELECT e.id, e.run_id, e.event_type, e.metric, e.variant, e.iter, e.ts_us, e.point_key, e.payload, \
         DENSE_RANK() OVER (PARTITION BY {partition} ORDER BY e.iter DESC) AS rk \
         FROM events e WHERE e.run_id IN ({runs}) AND e.event_type = $1 AND e.iter IS NOT NULL AND e.id <= $2 \
         AND ($3 IS NULL OR e.metric = $3) AND ($4 IS NULL OR e.variant = $4)) r \
         WHERE r.rk <= $5 AND {valid}"
    )
}

fn rank_bound(q: &IterQuery) -> i64 {
    match q.last_iters {
        Some(LastIters::PerRun(n)) | Some(LastIters::PerSeries(n)) => n,
        None => i64::MAX,
    }
}

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
    /// (bytewise) and then from the highest step down.
    pub fn recent_scalars(&self, run_id: i64, n: i64) -> Result<Vec<Scalar>, StoreError> {
        let sql = placeholders(
            "SELECT id, run_id, metric, variant, step, ts_us, value, special, source, point_key, extra \
             FROM (SELECT s.*, ROW_NUMBER() OVER (PARTITION BY s.metric, s.variant \
             ORDER BY (s.step IS NULL) ASC, s.step DESC, s.ts_us DESC, s.id DESC) AS rn \
             FROM scalars s WHERE s.run_id = $1) ranked WHERE rn <= $2 ORDER BY metric, variant, rn",
            self.backend(),
        );
        let rows: Vec<ScalarRow> = diesel::sql_query(sql).bind::<BigInt, _>(run_id).bind::<BigInt, _>(n).load(&mut *self.conn()?)?;
        rows.into_iter().map(ScalarRow::into_scalar).collect()
    }

    /// The latest ts_us of a run's scalars.
    pub fn last_scalar_ts(&self, run_id: i64) -> Result<Option<i64>, StoreError> {
        Ok(scalars::table.filter(scalars::run_id.eq(run_id)).select(diesel::dsl::max(scalars::ts_us)).first(&mut *self.conn()?)?)
    }

    /// The highest iteration (step) of a run over its scalars and events.
    pub fn max_iteration(&self, run_id: i64) -> Result<Option<i64>, StoreError> {
        let mut conn = self.conn()?;
        let s: Option<i64> = scalars::table.filter(scalars::run_id.eq(run_id)).select(diesel::dsl::max(scalars::step)).first(&mut *conn)?;
        let e: Option<i64> = events::table.filter(events::run_id.eq(run_id)).select(diesel::dsl::max(events::iter)).first(&mut *conn)?;
        Ok(s.max(e))
    }

    /// One page of an [`IterQuery`].
    pub fn events_by_iter(&self, q: &IterQuery) -> Result<Vec<Event>, StoreError> {
        if q.run_ids.is_empty() || q.limit <= 0 {
            return Ok(Vec::new());
        }
        let backend = self.backend();
        let (cmp, dir, start) = if q.descending { ("<", "DESC", i64::MAX) } else { (">", "ASC", i64::MIN) };
        let (iter, id) = q.after.unwrap_or((start, start));
        let sql = placeholders(
            &format!(
                "SELECT r.id, r.run_id, r.event_type, r.metric, r.variant, r.iter, r.ts_us, r.point_key, r.payload {} \
                 AND (r.iter {cmp} $6 OR (r.iter = $6 AND r.id {cmp} $7)) ORDER BY r.iter {dir}, r.id {dir} LIMIT $8",
                iter_selection(q, backend)
            ),
            backend,
        );
        let rows: Vec<EventRow> = diesel::sql_query(sql)
            .bind::<Text, _>(q.event_type.as_str())
            .bind::<BigInt, _>(q.max_id.unwrap_or(i64::MAX))
            .bind::<Nullable<Text>, _>(q.metric.as_deref())
            .bind::<Nullable<Text>, _>(q.variant.as_deref())
            .bind::<BigInt, _>(rank_bound(q))
            .bind::<BigInt, _>(iter)
            .bind::<BigInt, _>(id)
            .bind::<BigInt, _>(q.limit)
            .load(&mut *self.conn()?)?;
        rows.into_iter().map(EventRow::into_event).collect()
    }

    /// Number of events an [`IterQuery`] selects, ignoring `after` and `limit`.
    pub fn count_events_by_iter(&self, q: &IterQuery) -> Result<i64, StoreError> {
        if q.run_ids.is_empty() {
            return Ok(0);
        }
        let backend = self.backend();
        let sql = placeholders(&format!("SELECT COUNT(*) AS n {}", iter_selection(q, backend)), backend);
        let row: CountRow = diesel::sql_query(sql)
            .bind::<Text, _>(q.event_type.as_str())
            .bind::<BigInt, _>(q.max_id.unwrap_or(i64::MAX))
            .bind::<Nullable<Text>, _>(q.metric.as_deref())
            .bind::<Nullable<Text>, _>(q.variant.as_deref())
            .bind::<BigInt, _>(rank_bound(q))
            .get_result(&mut *self.conn()?)?;
        Ok(row.n)
    }

    /// The events of `event_type` of a run (of one metric) that have an iteration and a
    /// non-null `url` in their payload, without payloads, ordered by metric, variant,
    /// iteration and id.
    pub fn url_refs(&self, run_id: i64, event_type: &str, metric: Option<&str>) -> Result<Vec<UrlRef>, StoreError> {
        let backend = self.backend();
        let url = json_member_text(backend, "e.payload", "url");
        let sql = placeholders(
            &format!(
                "SELECT e.id, e.metric, e.variant, e.iter, {url} AS url FROM events e \
                 WHERE e.run_id = $1 AND e.event_type = $2 AND e.iter IS NOT NULL AND ($3 IS NULL OR e.metric = $3) \
                 AND {url} IS NOT NULL ORDER BY e.metric, e.variant, e.iter, e.id"
            ),
            backend,
        );
        let rows: Vec<UrlRefRow> = diesel::sql_query(sql)
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
            tx.touch(run_id);
            Ok(deleted)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_statements_use_numbered_parameters() {
        assert_eq!(placeholders("a = $1 OR b = $12", Backend::Sqlite), "a = ?1 OR b = ?12");
        assert_eq!(placeholders("json_extract(p, '$.url') = $3", Backend::Sqlite), "json_extract(p, '$.url') = ?3");
        assert_eq!(placeholders("a = $1", Backend::Postgres), "a = $1");
    }
}
