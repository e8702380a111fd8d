//! Experiments and the runs that are their jobs (Dioptra's model: a job belongs to one
//! experiment). A run becomes a job either by being created in the experiment or by being
//! attached to it later (a run written through any API). Job lists are filtered with
//! search terms that arrive parsed ([`crate::search`]), with diesel's query builder: their
//! patterns are bound parameters.

use diesel::prelude::*;
use diesel::sql_types::{Bool, Nullable, Text};

use super::connection::{AnyConnection, Store};
use super::model::{JsonObject, Run, StoreError};
use super::schema::{experiment_jobs, experiments, runs};
use super::{json_from_text, json_to_text, now_us};
use crate::search::Pattern;

/// An experiment.
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = experiments)]
pub struct Experiment {
    pub id: i64,
    pub tenant: String,
    pub group_id: i64,
    pub name: String,
    pub description: Option<String>,
    pub created_us: i64,
    pub updated_us: i64,
}

/// What a job is beyond its run.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct JobAttrs {
    pub description: Option<String>,
    /// `queued`, `started`, `deferred`, `finished`, `failed` or `reset`.
    pub status: String,
    pub timeout: Option<String>,
    pub queue_id: Option<i64>,
    pub entrypoint_id: Option<i64>,
    pub entrypoint_snapshot_id: Option<i64>,
    pub values: Option<JsonObject>,
}

/// A run with, when it is a job of an experiment, that experiment and the job's attributes.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub run: Run,
    pub membership: Option<Membership>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Membership {
    pub experiment: Experiment,
    pub attrs: JobAttrs,
    /// When the run became a job of the experiment, and when its attributes last changed.
    pub created_us: i64,
    pub updated_us: i64,
}

/// What [`Store::attach_job`] did.
#[derive(Clone, Debug, PartialEq)]
pub enum Attach {
    /// The run is (now, or still) a job of the experiment.
    Attached(Box<Job>),
    NoExperiment,
    NoRun,
    /// The run already is a job of this other experiment.
    InOtherExperiment(i64),
}

/// A job field a search term can look at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobField {
    Description,
    Status,
    Timeout,
    /// Job tags: not modelled, so a `tag` term matches no job.
    Tag,
}

impl JobField {
    /// Every searchable field with its name in Dioptra's search language.
    pub const ALL: [(&'static str, JobField); 4] =
        [("description", JobField::Description), ("status", JobField::Status), ("timeout", JobField::Timeout), ("tag", JobField::Tag)];
}

/// One AND-ed condition of a job list: `field` matches `pattern` in full, or (no field) some
/// field contains it (the pattern carries its own leading and trailing wildcards).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobTerm {
    pub field: Option<JobField>,
    pub pattern: Pattern,
}

/// Sort keys of a job list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobSort {
    Id,
    Description,
    CreatedOn,
    LastModifiedOn,
    Status,
    Experiment,
    Entrypoint,
    Queue,
}

/// A page of an experiment's jobs.
#[derive(Clone, Debug, PartialEq)]
pub struct JobList {
    pub tenant: String,
    pub experiment_id: i64,
    pub terms: Vec<JobTerm>,
    /// `None`: by job id. Ties are always broken by job id.
    pub sort: Option<JobSort>,
    /// Reverses the whole order (NULLs, lowest in ascending order, come last).
    pub descending: bool,
    pub offset: i64,
    pub limit: i64,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = experiment_jobs)]
struct JobRow {
    experiment_id: i64,
    description: Option<String>,
    status: String,
    timeout: Option<String>,
    queue_id: Option<i64>,
    entrypoint_id: Option<i64>,
    entrypoint_snapshot_id: Option<i64>,
    job_values: Option<String>,
    created_us: i64,
    updated_us: i64,
}

impl JobRow {
    fn membership(self, experiment: Experiment) -> Result<Membership, StoreError> {
        debug_assert_eq!(self.experiment_id, experiment.id);
        Ok(Membership {
            experiment,
            attrs: JobAttrs {
                description: self.description,
                status: self.status,
                timeout: self.timeout,
                queue_id: self.queue_id,
                entrypoint_id: self.entrypoint_id,
                entrypoint_snapshot_id: self.entrypoint_snapshot_id,
                values: self.job_values.as_deref().map(json_from_text).transpose()?,
            },
            created_us: self.created_us,
            updated_us: self.updated_us,
        })
    }
}

diesel::define_sql_function! {
    /// SQL `lower` (the search patterns are lowercased in the same ASCII way).
    fn lower(text: Nullable<Text>) -> Nullable<Text>;
}

/// The backend of the store's connections.
type Db = <AnyConnection as Connection>::Backend;

/// An experiment job joined with its run.
type JobSource = diesel::dsl::InnerJoinQuerySource<experiment_jobs::table, runs::table>;

/// A condition on a job (of a search term).
type JobCondition = Box<dyn BoxableExpression<JobSource, Db, SqlType = Nullable<Bool>>>;

/// A search term's test: `LIKE` against the lowercased field (or any field), the pattern and
/// its escape character bound. `None` for a field that is not modelled (`tag`).
fn term_test(term: &JobTerm) -> Option<JobCondition> {
    let like = term.pattern.to_like('\\', true);
    let description = lower(experiment_jobs::description).like(like.clone()).escape('\\');
    let status = lower(experiment_jobs::status.nullable()).like(like.clone()).escape('\\');
    let timeout = lower(experiment_jobs::timeout).like(like).escape('\\');
    match term.field {
        Some(JobField::Description) => Some(Box::new(description)),
        Some(JobField::Status) => Some(Box::new(status)),
        Some(JobField::Timeout) => Some(Box::new(timeout)),
        Some(JobField::Tag) => None,
        None => Some(Box::new(description.or(status).or(timeout))),
    }
}

/// Every condition at once, as a balanced tree of `AND`s: SQLite's parser refuses the
/// deep nesting that a left-leaning chain of many terms would be.
fn all_of(mut conditions: Vec<JobCondition>) -> Option<JobCondition> {
    match conditions.len() {
        0 => None,
        1 => conditions.pop(),
        n => {
            let right = conditions.split_off(n / 2);
            Some(Box::new(all_of(conditions)?.and(all_of(right)?)))
        }
    }
}

/// The jobs of a job list: of its experiment and tenant, matching every search term.
fn job_query(q: &JobList) -> diesel::dsl::IntoBoxed<'static, diesel::dsl::InnerJoin<experiment_jobs::table, runs::table>, Db> {
    let mut query = experiment_jobs::table
        .inner_join(runs::table)
        .into_boxed()
        .filter(experiment_jobs::experiment_id.eq(q.experiment_id))
        .filter(runs::tenant.eq(q.tenant.clone()));
    if let Some(all) = all_of(q.terms.iter().filter_map(term_test).collect()) {
        query = query.filter(all);
    }
    query
}

/// `query` ordered by `col` (NULLs lowest) then by job id, both ascending or both descending.
macro_rules! order_jobs {
    ($query:expr, $col:expr, $descending:expr) => {
        if $descending {
            $query.order(($col.is_null().asc(), $col.desc(), experiment_jobs::run_id.desc()))
        } else {
            $query.order(($col.is_null().desc(), $col.asc(), experiment_jobs::run_id.asc()))
        }
    };
}

#[derive(Insertable)]
#[diesel(table_name = experiment_jobs)]
struct NewJobRow {
    run_id: i64,
    experiment_id: i64,
    description: Option<String>,
    status: String,
    timeout: Option<String>,
    queue_id: Option<i64>,
    entrypoint_id: Option<i64>,
    entrypoint_snapshot_id: Option<i64>,
    job_values: Option<String>,
    created_us: i64,
    updated_us: i64,
}

impl NewJobRow {
    fn new(run_id: i64, experiment_id: i64, attrs: &JobAttrs, now: i64) -> Result<Self, StoreError> {
        Ok(NewJobRow {
            run_id,
            experiment_id,
            description: attrs.description.clone(),
            status: attrs.status.clone(),
            timeout: attrs.timeout.clone(),
            queue_id: attrs.queue_id,
            entrypoint_id: attrs.entrypoint_id,
            entrypoint_snapshot_id: attrs.entrypoint_snapshot_id,
            job_values: attrs.values.as_ref().map(json_to_text).transpose()?,
            created_us: now,
            updated_us: now,
        })
    }
}

/// Whether experiment `id` exists for `tenant` (the check every job write starts with).
fn experiment_exists(conn: &mut AnyConnection, tenant: &str, id: i64) -> QueryResult<bool> {
    let found: Option<i64> = experiments::table
        .filter(experiments::id.eq(id))
        .filter(experiments::tenant.eq(tenant))
        .select(experiments::id)
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}

fn find_experiment(conn: &mut AnyConnection, tenant: &str, id: i64) -> QueryResult<Option<Experiment>> {
    experiments::table
        .filter(experiments::id.eq(id))
        .filter(experiments::tenant.eq(tenant))
        .select(Experiment::as_select())
        .first(conn)
        .optional()
}

fn find_run(conn: &mut AnyConnection, tenant: &str, id: i64) -> QueryResult<Option<Run>> {
    runs::table.filter(runs::id.eq(id)).filter(runs::tenant.eq(tenant)).select(Run::as_select()).first(conn).optional()
}

/// The jobs with these run ids (of any experiment), keyed by run id.
fn jobs_by_ids(conn: &mut AnyConnection, ids: &[i64]) -> Result<std::collections::HashMap<i64, Job>, StoreError> {
    let mut out = std::collections::HashMap::new();
    for chunk in ids.chunks(super::INSERT_CHUNK) {
        let rows: Vec<(JobRow, Run, Experiment)> = experiment_jobs::table
            .inner_join(runs::table)
            .inner_join(experiments::table)
            .filter(experiment_jobs::run_id.eq_any(chunk))
            .select((JobRow::as_select(), Run::as_select(), Experiment::as_select()))
            .load(conn)?;
        for (row, run, experiment) in rows {
            out.insert(run.id, Job { run, membership: Some(row.membership(experiment)?) });
        }
    }
    Ok(out)
}

impl Store {
    /// Creates an experiment; `None` when the tenant's group already has one of that name.
    pub fn create_experiment(
        &self,
        tenant: &str,
        group_id: i64,
        name: &str,
        description: Option<&str>,
    ) -> Result<Option<Experiment>, StoreError> {
        let now = now_us();
        let (tenant, name, description) = (tenant.to_string(), name.to_string(), description.map(str::to_string));
        self.write(1, move |tx| {
            let row = (
                experiments::tenant.eq(&tenant),
                experiments::group_id.eq(group_id),
                experiments::name.eq(&name),
                experiments::description.eq(&description),
                experiments::created_us.eq(now),
                experiments::updated_us.eq(now),
            );
            let inserted = with_conn!(&mut *tx.conn, |c| diesel::insert_into(experiments::table)
                .values(row)
                .on_conflict((experiments::tenant, experiments::group_id, experiments::name))
                .do_nothing()
                .execute(c))?;
            if inserted == 0 {
                return Ok(None);
            }
            Ok(experiments::table
                .filter(experiments::tenant.eq(&tenant))
                .filter(experiments::group_id.eq(group_id))
                .filter(experiments::name.eq(&name))
                .select(Experiment::as_select())
                .first(tx.conn)
                .optional()?)
        })
    }

    /// The experiment `id` of `tenant`.
    pub fn experiment(&self, tenant: &str, id: i64) -> Result<Option<Experiment>, StoreError> {
        Ok(find_experiment(&mut *self.conn()?, tenant, id)?)
    }

    /// Creates a run `uid` (by `created_by`) as a new job of experiment `experiment_id`, in
    /// one transaction. `None` when the experiment does not exist.
    pub fn create_job(
        &self,
        tenant: &str,
        experiment_id: i64,
        uid: &str,
        created_by: &str,
        attrs: &JobAttrs,
    ) -> Result<Option<Job>, StoreError> {
        let now = now_us();
        let (tenant, uid, created_by) = (tenant.to_string(), uid.to_string(), created_by.to_string());
        let attrs = attrs.clone();
        let created: Option<i64> = self.write(1, move |tx| {
            if !experiment_exists(tx.conn, &tenant, experiment_id)? {
                return Ok(None);
            }
            let run_id: i64 = with_conn!(&mut *tx.conn, |c| diesel::insert_into(runs::table)
                .values((
                    runs::tenant.eq(&tenant),
                    runs::uid.eq(&uid),
                    runs::created_by.eq(&created_by),
                    runs::created_us.eq(now),
                    runs::updated_us.eq(now),
                ))
                .returning(runs::id)
                .get_result(c))?;
            super::run_list::add_sources(tx.conn, run_id, [created_by.as_str()])?;
            diesel::insert_into(experiment_jobs::table).values(NewJobRow::new(run_id, experiment_id, &attrs, now)?).execute(tx.conn)?;
            Ok(Some(run_id))
        })?;
        match created {
            Some(id) => Ok(jobs_by_ids(&mut *self.conn()?, &[id])?.remove(&id)),
            None => Ok(None),
        }
    }

    /// Makes run `run_id` a job of experiment `experiment_id`. A run that already is a job
    /// of it keeps its attributes except those given; a new job gets `description` and
    /// `status` (default `default_status`). Bumps the run's `updated_us`.
    pub fn attach_job(
        &self,
        tenant: &str,
        experiment_id: i64,
        run_id: i64,
        description: Option<&str>,
        status: Option<&str>,
        default_status: &str,
    ) -> Result<Attach, StoreError> {
        let now = now_us();
        let tenant = tenant.to_string();
        let (description, status, default_status) =
            (description.map(str::to_string), status.map(str::to_string), default_status.to_string());
        // None: attached
        let refused: Option<Attach> = self.write(1, move |tx| {
            if !experiment_exists(tx.conn, &tenant, experiment_id)? {
                return Ok(Some(Attach::NoExperiment));
            }
            let run: Option<i64> =
                runs::table.filter(runs::id.eq(run_id)).filter(runs::tenant.eq(&tenant)).select(runs::id).first(tx.conn).optional()?;
            if run.is_none() {
                return Ok(Some(Attach::NoRun));
            }
            let current: Option<i64> = experiment_jobs::table
                .filter(experiment_jobs::run_id.eq(run_id))
                .select(experiment_jobs::experiment_id)
                .first(tx.conn)
                .optional()?;
            let c = &mut *tx.conn;
            match current {
                Some(other) if other != experiment_id => return Ok(Some(Attach::InOtherExperiment(other))),
                Some(_) => {
                    if let Some(d) = &description {
                        diesel::update(experiment_jobs::table.find(run_id)).set(experiment_jobs::description.eq(d)).execute(c)?;
                    }
                    if let Some(s) = &status {
                        diesel::update(experiment_jobs::table.find(run_id)).set(experiment_jobs::status.eq(s)).execute(c)?;
                    }
                    diesel::update(experiment_jobs::table.find(run_id)).set(experiment_jobs::updated_us.eq(now)).execute(c)?;
                }
                None => {
                    let attrs = JobAttrs {
                        description: description.clone(),
                        status: status.clone().unwrap_or_else(|| default_status.clone()),
                        ..Default::default()
                    };
                    diesel::insert_into(experiment_jobs::table).values(NewJobRow::new(run_id, experiment_id, &attrs, now)?).execute(c)?;
                }
            }
            tx.touch(run_id);
            Ok(None)
        })?;
        if let Some(refused) = refused {
            return Ok(refused);
        }
        match jobs_by_ids(&mut *self.conn()?, &[run_id])?.remove(&run_id) {
            Some(job) => Ok(Attach::Attached(Box::new(job))),
            None => Ok(Attach::NoRun),
        }
    }

    /// The run `run_id` of `tenant` as a job (with its experiment when it has one).
    pub fn job(&self, tenant: &str, run_id: i64) -> Result<Option<Job>, StoreError> {
        let mut conn = self.conn()?;
        let Some(run) = find_run(&mut conn, tenant, run_id)? else { return Ok(None) };
        Ok(Some(jobs_by_ids(&mut conn, &[run_id])?.remove(&run_id).unwrap_or(Job { run, membership: None })))
    }

    /// One page of an experiment's jobs as `q` filters and sorts them, and how many jobs
    /// match in all.
    pub fn experiment_jobs(&self, q: &JobList) -> Result<(Vec<Job>, i64), StoreError> {
        // a `tag` term matches no job (tags are not modelled)
        if q.terms.iter().any(|t| t.field == Some(JobField::Tag)) {
            return Ok((Vec::new(), 0));
        }
        let mut conn = self.conn()?;
        let total: i64 = job_query(q).count().get_result(&mut *conn)?;
        if total == 0 || q.limit <= 0 {
            return Ok((Vec::new(), total));
        }
        let query = job_query(q).select(experiment_jobs::run_id);
        let descending = q.descending && q.sort.is_some();
        let query = match q.sort.unwrap_or(JobSort::Id) {
            JobSort::Id => order_jobs!(query, experiment_jobs::run_id, descending),
            JobSort::Description => order_jobs!(query, experiment_jobs::description, descending),
            JobSort::CreatedOn => order_jobs!(query, runs::created_us, descending),
            JobSort::LastModifiedOn => order_jobs!(query, runs::updated_us, descending),
            JobSort::Status => order_jobs!(query, experiment_jobs::status, descending),
            JobSort::Experiment => order_jobs!(query, experiment_jobs::experiment_id, descending),
            JobSort::Entrypoint => order_jobs!(query, experiment_jobs::entrypoint_id, descending),
            JobSort::Queue => order_jobs!(query, experiment_jobs::queue_id, descending),
        };
        let ids: Vec<i64> = query.limit(q.limit).offset(q.offset.max(0)).load(&mut *conn)?;
        let mut jobs = jobs_by_ids(&mut conn, &ids)?;
        Ok((ids.iter().filter_map(|id| jobs.remove(id)).collect(), total))
    }
}
