//! The runs of a tenant as the dashboard lists them: searched with Dioptra's search
//! language ([`crate::search`]), sorted, paged, each with its API families (`run_sources`)
//! and its metric and point counts (the rollup's widest buckets). A page costs a few index
//! reads per run, never a scan of the points.
//!
//! `run_sources` is kept inside the write transaction: the creator when a run is created
//! ([`Store::ensure_run`], [`Store::create_job`]), the source of each point when points are
//! written ([`super::scalars::insert_scalars`]); deleting a run's data
//! ([`Store::delete_run_data`]) leaves only the creator. A point overwritten by another API
//! family keeps the family that first wrote it listed.

use std::collections::HashMap;

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text};

use super::connection::{AnyConnection, Store};
use super::model::{Run, StoreError};
use super::rollup::TOP_WIDTH;
use super::schema::{run_sources, runs, scalar_rollup};
use crate::search::Pattern;

/// A run field a search term can look at (Dioptra's search language, runtime/src/search.rs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunField {
    Name,
    Uid,
    Id,
    Api,
    Metric,
}

impl RunField {
    /// Every searchable field with its name in the search language.
    pub const ALL: [(&'static str, RunField); 5] =
        [("name", RunField::Name), ("uid", RunField::Uid), ("id", RunField::Id), ("api", RunField::Api), ("metric", RunField::Metric)];
}

/// One AND-ed condition: `field` matches `pattern` in full, or (no field) name or uid contains it (the pattern carries its own wildcards, as search::parse produces them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunTerm {
    pub field: Option<RunField>,
    pub pattern: Pattern,
}

/// Sort keys of a runs list. Ties are broken by run id, in the same direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RunSort {
    Name,
    Uid,
    Created,
    #[default]
    LastActivity,
    /// By [`RunSummary::metric_count`].
    Metrics,
}

/// A page of a tenant's runs.
#[derive(Clone, Debug, PartialEq)]
pub struct RunListQuery {
    pub tenant: String,
    pub terms: Vec<RunTerm>,
    pub sort: RunSort,
    pub descending: bool,
    pub offset: i64,
    pub limit: i64,
}

/// One run of a runs list.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSummary {
    pub run: Run,
    /// API families that created the run or wrote scalar points to it, sorted (created_by
    /// always included; events and metadata carry no source).
    pub sources: Vec<String>,
    /// Distinct metric names with at least one scalar point.
    pub metric_count: i64,
    /// All scalar points of the run (any value).
    pub point_count: i64,
    /// runs.updated_us (bumped by every write).
    pub last_activity_us: i64,
}

/// Records that `sources` wrote to run `run_id` (inside the caller's write transaction);
/// sources already recorded are left as they are.
pub(crate) fn add_sources<'a>(conn: &mut AnyConnection, run_id: i64, sources: impl IntoIterator<Item = &'a str>) -> Result<(), StoreError> {
    for source in sources {
        let row = (run_sources::run_id.eq(run_id), run_sources::source.eq(source));
        with_conn!(&mut *conn, |c| diesel::insert_into(run_sources::table).values(row).on_conflict_do_nothing().execute(c))?;
    }
    Ok(())
}

/// Forgets the sources of run `run_id` but its creator (its points are gone).
pub(crate) fn reset_sources(conn: &mut AnyConnection, run_id: i64) -> Result<(), StoreError> {
    let creator: Option<String> = runs::table.find(run_id).select(runs::created_by).first(conn).optional()?;
    let Some(creator) = creator else { return Ok(()) };
    diesel::delete(run_sources::table.filter(run_sources::run_id.eq(run_id)).filter(run_sources::source.ne(&creator))).execute(conn)?;
    add_sources(conn, run_id, [creator.as_str()])
}

diesel::define_sql_function! {
    /// SQL `lower` (the search patterns are lowercased in the same ASCII way).
    fn lower(text: Nullable<Text>) -> Nullable<Text>;
}

/// The backend of the store's connections.
type Db = <AnyConnection as Connection>::Backend;

/// A condition on a run (of a search term).
type RunCondition = Box<dyn BoxableExpression<runs::table, Db, SqlType = Nullable<Bool>>>;

/// The escape character of the LIKE patterns (bound, as diesel's `.escape` binds it).
const ESCAPE: char = '\\';

/// A search term's test: `LIKE` against the lowercased field (or name or uid), the pattern
/// and its escape character bound. The run's sources and metrics are correlated `EXISTS`
/// subqueries, each an index seek on the run's rows (diesel's DSL cannot correlate them).
fn term_test(term: &RunTerm) -> RunCondition {
    let like = term.pattern.to_like(ESCAPE, true);
    let name = || lower(runs::name.nullable()).like(like.clone()).escape(ESCAPE);
    let uid = || lower(runs::uid.nullable()).like(like.clone()).escape(ESCAPE);
    match term.field {
        Some(RunField::Name) => Box::new(name()),
        Some(RunField::Uid) => Box::new(uid()),
        Some(RunField::Id) => Box::new(lower(sql::<Nullable<Text>>("CAST(runs.id AS TEXT)")).like(like).escape(ESCAPE)),
        Some(RunField::Api) => Box::new(
            sql::<Nullable<Bool>>("EXISTS (SELECT 1 FROM run_sources rs WHERE rs.run_id = runs.id AND lower(rs.source) LIKE ")
                .bind::<Text, _>(like)
                .sql(" ESCAPE ")
                .bind::<Text, _>(ESCAPE.to_string())
                .sql(")"),
        ),
        Some(RunField::Metric) => Box::new(
            sql::<Nullable<Bool>>("EXISTS (SELECT 1 FROM scalar_rollup sr WHERE sr.run_id = runs.id AND sr.width = ")
                .bind::<BigInt, _>(TOP_WIDTH)
                .sql(" AND sr.points > 0 AND lower(sr.metric) LIKE ")
                .bind::<Text, _>(like)
                .sql(" ESCAPE ")
                .bind::<Text, _>(ESCAPE.to_string())
                .sql(")"),
        ),
        None => Box::new(name().or(uid())),
    }
}

/// Every condition at once, as a balanced tree of `AND`s: SQLite's parser refuses the
/// deep nesting that a left-leaning chain of many terms would be.
fn all_of(mut conditions: Vec<RunCondition>) -> Option<RunCondition> {
    match conditions.len() {
        0 => None,
        1 => conditions.pop(),
        n => {
            let right = conditions.split_off(n / 2);
            Some(Box::new(all_of(conditions)?.and(all_of(right)?)))
        }
    }
}

/// The runs of a runs list: of its tenant, matching every search term.
fn run_query(q: &RunListQuery) -> runs::BoxedQuery<'static, Db> {
    let mut query = runs::table.into_boxed().filter(runs::tenant.eq(q.tenant.clone()));
    if let Some(all) = all_of(q.terms.iter().map(term_test).collect()) {
        query = query.filter(all);
    }
    query
}

/// `query` ordered by `col` then by run id, both ascending or both descending.
macro_rules! order_runs {
    ($query:expr, $col:expr, $descending:expr) => {
        if $descending {
            $query.order(($col.desc(), runs::id.desc()))
        } else {
            $query.order(($col.asc(), runs::id.asc()))
        }
    };
}

impl Store {
    /// One page of a tenant's runs as `q` filters and sorts them (ties broken by run id, in the same direction), and how many match in all.
    pub fn run_list(&self, q: &RunListQuery) -> Result<(Vec<RunSummary>, i64), StoreError> {
        let mut conn = self.conn()?;
        let total: i64 = run_query(q).count().get_result(&mut *conn)?;
        if total == 0 || q.limit <= 0 {
            return Ok((Vec::new(), total));
        }
        let query = run_query(q).select(Run::as_select());
        let query = match q.sort {
            RunSort::Name => order_runs!(query, runs::name, q.descending),
            RunSort::Uid => order_runs!(query, runs::uid, q.descending),
            RunSort::Created => order_runs!(query, runs::created_us, q.descending),
            RunSort::LastActivity => order_runs!(query, runs::updated_us, q.descending),
            // the number of metrics with a point, as RunSummary::metric_count: an index range per run
            RunSort::Metrics => order_runs!(
                query,
                sql::<BigInt>("(SELECT COUNT(DISTINCT sr.metric) FROM scalar_rollup sr WHERE sr.run_id = runs.id AND sr.width = ")
                    .bind::<BigInt, _>(TOP_WIDTH)
                    .sql(" AND sr.points > 0)"),
                q.descending
            ),
        };
        let page: Vec<Run> = query.limit(q.limit).offset(q.offset.max(0)).load(&mut *conn)?;
        let ids: Vec<i64> = page.iter().map(|r| r.id).collect();

        let mut sources: HashMap<i64, Vec<String>> = HashMap::new();
        let rows: Vec<(i64, String)> = run_sources::table
            .filter(run_sources::run_id.eq_any(&ids))
            .select((run_sources::run_id, run_sources::source))
            .load(&mut *conn)?;
        for (run_id, source) in rows {
            sources.entry(run_id).or_default().push(source);
        }
        // per run, per metric, its points (one row per series and 10^7 steps)
        let mut metrics: HashMap<i64, HashMap<String, i64>> = HashMap::new();
        let rows: Vec<(i64, String, i64)> = scalar_rollup::table
            .filter(scalar_rollup::run_id.eq_any(&ids))
            .filter(scalar_rollup::width.eq(TOP_WIDTH))
            .filter(scalar_rollup::points.gt(0))
            .select((scalar_rollup::run_id, scalar_rollup::metric, scalar_rollup::points))
            .load(&mut *conn)?;
        for (run_id, metric, points) in rows {
            *metrics.entry(run_id).or_default().entry(metric).or_default() += points;
        }
        let summaries = page
            .into_iter()
            .map(|run| {
                let by_metric = metrics.remove(&run.id).unwrap_or_default();
                let sources = finish_sources(&run, sources.remove(&run.id).unwrap_or_default());
                RunSummary {
                    sources,
                    metric_count: by_metric.len() as i64,
                    point_count: by_metric.values().sum(),
                    last_activity_us: run.updated_us,
                    run,
                }
            })
            .collect();
        Ok((summaries, total))
    }

    /// The sources of one run (as RunSummary::sources).
    pub fn run_sources(&self, run_id: i64) -> Result<Vec<String>, StoreError> {
        let mut conn = self.conn()?;
        let Some(run) = runs::table.find(run_id).select(Run::as_select()).first(&mut *conn).optional()? else {
            return Ok(Vec::new());
        };
        let sources: Vec<String> =
            run_sources::table.filter(run_sources::run_id.eq(run_id)).select(run_sources::source).load(&mut *conn)?;
        Ok(finish_sources(&run, sources))
    }
}

/// The sources as listed: with the creator, sorted bytewise, each once.
fn finish_sources(run: &Run, mut sources: Vec<String>) -> Vec<String> {
    sources.push(run.created_by.clone());
    sources.sort();
    sources.dedup();
    sources
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;

    use super::*;
    use crate::store::model::NewScalar;
    use crate::store::schema::runs;
    use crate::store::testdb;

    /// Runs `test` on a fresh SQLite store, then on a fresh PostgreSQL database.
    fn on_both(test: fn(&Store)) {
        testdb::on_each_backend(|url| test(&Store::open(url).unwrap()));
    }

    fn point(metric: &str, step: Option<i64>, value: f64, source: &str, key: &str) -> NewScalar {
        NewScalar {
            metric: metric.into(),
            variant: "v".into(),
            step,
            ts_us: 1,
            value,
            source: source.into(),
            point_key: key.into(),
            extra: None,
        }
    }

    /// The terms of a search-language query, as the dashboard builds them.
    fn terms(query: &str) -> Vec<RunTerm> {
        let names: Vec<&str> = RunField::ALL.iter().map(|(n, _)| *n).collect();
        crate::search::parse(query, &names)
            .unwrap()
            .into_iter()
            .map(|t| RunTerm {
                field: t.field.map(|f| RunField::ALL.iter().find(|(n, _)| *n == f).unwrap().1),
                pattern: t.pattern,
            })
            .collect()
    }

    fn list(store: &Store, tenant: &str, query: &str) -> (Vec<RunSummary>, i64) {
        let q = RunListQuery { tenant: tenant.into(), terms: terms(query), sort: RunSort::Created, descending: false, offset: 0, limit: 100 };
        store.run_list(&q).unwrap()
    }

    fn uids(store: &Store, tenant: &str, query: &str) -> Vec<String> {
        let (page, total) = list(store, tenant, query);
        assert_eq!(total, page.len() as i64, "{query}");
        page.into_iter().map(|s| s.run.uid).collect()
    }

    fn set_times(store: &Store, run_id: i64, created_us: i64, updated_us: i64) {
        diesel::update(runs::table.find(run_id))
            .set((runs::created_us.eq(created_us), runs::updated_us.eq(updated_us)))
            .execute(&mut *store.conn().unwrap())
            .unwrap();
    }

    fn sources_are_kept_per_write(store: &Store) {
        let a = store.ensure_run("t", "a", "clearml").unwrap();
        store.put_scalars(a.id, &[point("loss", Some(1), 1.0, "sagemaker", "k1"), point("loss", Some(2), 1.0, "comet", "k2")]).unwrap();
        store.put_scalars(a.id, &[point("acc", Some(1), 1.0, "sagemaker", "k3")]).unwrap();
        let b = store.ensure_run("t", "b", "comet").unwrap();
        // getting a run again records nothing new
        store.ensure_run("t", "b", "sagemaker").unwrap();
        assert_eq!(store.run_sources(a.id).unwrap(), ["clearml", "comet", "sagemaker"]);
        assert_eq!(store.run_sources(b.id).unwrap(), ["comet"]);
        let (page, total) = list(store, "t", "");
        assert_eq!(total, 2);
        assert_eq!(page[0].sources, ["clearml", "comet", "sagemaker"]);
        assert_eq!(page[1].sources, ["comet"]);

        // a job created in an experiment has its creator
        let e = store.create_experiment("t", 1, "e", None).unwrap().unwrap();
        let job = store.create_job("t", e.id, "j", "dioptra", &Default::default()).unwrap().unwrap();
        assert_eq!(store.run_sources(job.run.id).unwrap(), ["dioptra"]);

        // deleting the run's data leaves its creator
        store.delete_run_data(a.id).unwrap();
        assert_eq!(store.run_sources(a.id).unwrap(), ["clearml"]);
        assert_eq!(store.run_sources(i64::MAX).unwrap(), Vec::<String>::new());
    }

    fn sources_migration_backfills(store: &Store) {
        let a = store.ensure_run("t", "a", "clearml").unwrap();
        store.put_scalars(a.id, &[point("loss", Some(1), 1.0, "sagemaker", "k1"), point("loss", Some(2), 1.0, "clearml", "k2")]).unwrap();
        let b = store.ensure_run("t", "b", "comet").unwrap();
        // back to the schema before the migration, with the runs and points kept
        let mut conn = store.conn().unwrap();
        with_conn!(&mut *conn, |c| c.batch_execute(
            "DROP TABLE run_sources; DELETE FROM __diesel_schema_migrations WHERE version = '20250107000000';"
        ))
        .unwrap();
        drop(conn);
        assert_eq!(store.migrate().unwrap(), ["2025-01-07-000000_run_sources"]);
        let stored: Vec<(i64, String)> = run_sources::table
            .order((run_sources::run_id, run_sources::source))
            .load(&mut *store.conn().unwrap())
            .unwrap();
        assert_eq!(stored, [(a.id, "clearml".into()), (a.id, "sagemaker".into()), (b.id, "comet".into())]);
        // and it is maintained from there
        store.put_scalars(b.id, &[point("x", None, 1.0, "lens", "k")]).unwrap();
        assert_eq!(store.run_sources(b.id).unwrap(), ["comet", "lens"]);
    }

    fn search_terms_filter(store: &Store) {
        let one = store.ensure_run("t", "alpha-1", "clearml").unwrap();
        store.set_run_name(one.id, "Exp-One").unwrap();
        store.put_scalars(one.id, &[point("loss", Some(1), 1.0, "sagemaker", "k")]).unwrap();
        let two = store.ensure_run("t", "beta-2", "comet").unwrap();
        store.set_run_name(two.id, "exp_two").unwrap();
        store.put_scalars(two.id, &[point("accuracy", Some(1), 1.0, "comet", "k")]).unwrap();
        let three = store.ensure_run("t", "gamma", "sagemaker").unwrap();
        store.set_run_name(three.id, "other alpha").unwrap();
        store.put_scalars(three.id, &[point("val_loss", Some(1), 1.0, "sagemaker", "k")]).unwrap();
        // another tenant's run that would match every query below
        let foreign = store.ensure_run("u", "alpha-beta", "sagemaker").unwrap();
        store.set_run_name(foreign.id, "exp-alpha").unwrap();
        store.put_scalars(foreign.id, &[point("loss", Some(1), 1.0, "sagemaker", "k")]).unwrap();
        for (i, run) in [&one, &two, &three].into_iter().enumerate() {
            set_times(store, run.id, i as i64, 0);
        }

        assert_eq!(uids(store, "t", ""), ["alpha-1", "beta-2", "gamma"]);
        // free text: name or uid contains it, ASCII case aside
        assert_eq!(uids(store, "t", "alpha"), ["alpha-1", "gamma"]);
        assert_eq!(uids(store, "t", "ALP"), ["alpha-1", "gamma"]);
        assert_eq!(uids(store, "t", "two"), ["beta-2"]);
        assert_eq!(uids(store, "t", "\"a-\""), ["alpha-1", "beta-2"]);
        // fields match in full
        assert_eq!(uids(store, "t", "api:sagemaker"), ["alpha-1", "gamma"]);
        assert_eq!(uids(store, "t", "api:clear*"), ["alpha-1"]);
        assert_eq!(uids(store, "t", "api:sage"), Vec::<String>::new());
        assert_eq!(uids(store, "t", "metric:loss"), ["alpha-1"]);
        assert_eq!(uids(store, "t", "metric:*LOSS"), ["alpha-1", "gamma"]);
        assert_eq!(uids(store, "t", "name:exp*"), ["alpha-1", "beta-2"]);
        assert_eq!(uids(store, "t", "name:exp_two"), ["beta-2"]);
        // `_` is a literal, not LIKE's any-one
        assert_eq!(uids(store, "t", "name:exp_one"), Vec::<String>::new());
        assert_eq!(uids(store, "t", "name:exp?one"), ["alpha-1"]);
        assert_eq!(uids(store, "t", "uid:gam*"), ["gamma"]);
        assert_eq!(uids(store, "t", &format!("id:{}", two.id)), ["beta-2"]);
        assert_eq!(uids(store, "t", &format!("id:{}", foreign.id)), Vec::<String>::new());
        // terms are AND-ed
        assert_eq!(uids(store, "t", "api:sagemaker, metric:*loss"), ["alpha-1", "gamma"]);
        assert_eq!(uids(store, "t", "api:sagemaker, name:exp*"), ["alpha-1"]);
        assert_eq!(uids(store, "t", "alpha, api:comet"), Vec::<String>::new());
        // the other tenant sees its run only
        assert_eq!(uids(store, "u", "alpha"), ["alpha-beta"]);
        assert_eq!(uids(store, "nobody", ""), Vec::<String>::new());
    }

    fn counts_come_from_the_rollup(store: &Store) {
        let run = store.ensure_run("t", "r", "clearml").unwrap();
        store
            .put_scalars(
                run.id,
                &[
                    point("loss", Some(1), 1.0, "clearml", "a"),
                    point("loss", Some(2), f64::NAN, "clearml", "b"),
                    // a second bucket of the widest width
                    point("loss", Some(25_000_000), 3.0, "clearml", "c"),
                    point("acc", None, 0.5, "clearml", "d"),
                    point("old", Some(1), 0.5, "clearml", "e"),
                ],
            )
            .unwrap();
        // "e" moves to another metric: "old" has no point left
        store.put_scalars(run.id, &[point("acc", Some(3), 0.5, "clearml", "e")]).unwrap();
        let empty = store.ensure_run("t", "empty", "clearml").unwrap();
        let (page, _) = list(store, "t", "");
        let of = |id: i64| page.iter().find(|s| s.run.id == id).unwrap();
        assert_eq!((of(run.id).metric_count, of(run.id).point_count), (2, 5));
        assert_eq!((of(empty.id).metric_count, of(empty.id).point_count), (0, 0));
        assert_eq!(of(run.id).point_count, store.scalar_point_count(run.id, None, None).unwrap());
        let now = store.run_by_id("t", run.id).unwrap().unwrap();
        assert_eq!(of(run.id).last_activity_us, now.updated_us);
        assert_eq!(of(run.id).run, now);
    }

    fn sorts_and_pages(store: &Store) {
        // name, created_us, updated_us, metrics: with ties in each key
        let specs = [("b", 30, 5, 2), ("a", 10, 5, 0), ("b", 30, 7, 1), ("c", 20, 1, 2), ("a", 10, 9, 1)];
        let mut runs_made = Vec::new();
        for (i, (name, created, updated, metrics)) in specs.iter().enumerate() {
            // uids not in id order
            let run = store.ensure_run("t", &format!("u{}", (i * 3) % 5), "clearml").unwrap();
            store.set_run_name(run.id, name).unwrap();
            let points: Vec<NewScalar> = (0..*metrics).map(|m| point(&format!("m{m}"), Some(1), 1.0, "clearml", &format!("k{m}"))).collect();
            store.put_scalars(run.id, &points).unwrap();
            set_times(store, run.id, *created, *updated);
            runs_made.push(store.run_by_id("t", run.id).unwrap().unwrap());
        }
        store.ensure_run("other", "u9", "clearml").unwrap();
        let key = |sort: RunSort, i: usize| -> (String, i64) {
            let r = &runs_made[i];
            match sort {
                RunSort::Name => (r.name.clone(), 0),
                RunSort::Uid => (r.uid.clone(), 0),
                RunSort::Created => (String::new(), r.created_us),
                RunSort::LastActivity => (String::new(), r.updated_us),
                RunSort::Metrics => (String::new(), specs[i].3),
            }
        };
        for sort in [RunSort::Name, RunSort::Uid, RunSort::Created, RunSort::LastActivity, RunSort::Metrics] {
            for descending in [false, true] {
                let mut expected: Vec<usize> = (0..runs_made.len()).collect();
                expected.sort_by_key(|&i| (key(sort, i), runs_made[i].id));
                if descending {
                    expected.reverse();
                }
                let expected: Vec<i64> = expected.into_iter().map(|i| runs_made[i].id).collect();
                let q = RunListQuery { tenant: "t".into(), terms: Vec::new(), sort, descending, offset: 0, limit: 100 };
                let (page, total) = store.run_list(&q).unwrap();
                assert_eq!(total, 5);
                assert_eq!(page.iter().map(|s| s.run.id).collect::<Vec<_>>(), expected, "{sort:?} descending={descending}");
                // pages of two add up to the same order, each with the full total
                let mut paged = Vec::new();
                for offset in (0..6).step_by(2) {
                    let (page, total) = store.run_list(&RunListQuery { offset, limit: 2, ..q.clone() }).unwrap();
                    assert_eq!(total, 5);
                    assert!(page.len() <= 2);
                    paged.extend(page.into_iter().map(|s| s.run.id));
                }
                assert_eq!(paged, expected, "{sort:?} descending={descending} paged");
            }
        }
        // the default sort is by last activity; an empty page still counts
        assert_eq!(RunSort::default(), RunSort::LastActivity);
        let q = RunListQuery { tenant: "t".into(), terms: Vec::new(), sort: RunSort::default(), descending: false, offset: 10, limit: 5 };
        assert_eq!(store.run_list(&q).unwrap(), (Vec::new(), 5));
        assert_eq!(store.run_list(&RunListQuery { offset: 0, limit: 0, ..q }).unwrap(), (Vec::new(), 5));
    }

    #[test]
    fn sources_are_kept_per_write_on_both_backends() {
        on_both(sources_are_kept_per_write);
    }

    #[test]
    fn sources_migration_backfills_on_both_backends() {
        on_both(sources_migration_backfills);
    }

    #[test]
    fn search_terms_filter_on_both_backends() {
        on_both(search_terms_filter);
    }

    #[test]
    fn counts_come_from_the_rollup_on_both_backends() {
        on_both(counts_come_from_the_rollup);
    }

    #[test]
    fn sorts_and_pages_on_both_backends() {
        on_both(sorts_and_pages);
    }
}
