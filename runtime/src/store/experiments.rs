//! Experiments and the runs that are their jobs (Dioptra's model: a job belongs to one
//! experiment). A run becomes a job either by being created in the experiment or by being
//! attached to it later (a run written through any API). Job lists are filtered with
//! search terms that arrive parsed ([`crate::search`]) and are bound as parameters.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::connection::{AnyConnection, Store};
use super::model::{Backend, JsonObject, Run, StoreError};
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

    fn column(self) -> Option<&'static str> {
        match self {
            JobField::Description => Some("j.description"),
            JobField::Status => Some("j.status"),
            JobField::Timeout => Some("j.timeout"),
            JobField::Tag => None,
        }
    }
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

impl JobSort {
    fn column(self) -> &'static str {
        match self {
            JobSort::Id => "j.run_id",
            JobSort::Description => "j.description",
            JobSort::CreatedOn => "r.created_us",
            JobSort::LastModifiedOn => "r.updated_us",
            JobSort::Status => "j.status",
            JobSort::Experiment => "j.experiment_id",
            JobSort::Entrypoint => "j.entrypoint_id",
            JobSort::Queue => "j.queue_id",
        }
    }
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

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// A value bound to a statement built at run time.
enum Bind {
    Int(i64),
    Text(String),
}

/// `sql` (with `$n` placeholders) for `backend`: SQLite spells them `?n`.
fn numbered(sql: &str, backend: Backend) -> String {
    match backend {
        Backend::Postgres => sql.to_string(),
        Backend::Sqlite => sql.replace('$', "?"),
    }
}

/// Runs a statement whose text is fixed fragments and whose values are all in `binds`.
fn load_bound<R>(conn: &mut AnyConnection, sql: &str, binds: &[Bind]) -> QueryResult<Vec<R>>
where
    R: QueryableByName<diesel::pg::Pg> + QueryableByName<diesel::sqlite::Sqlite> + 'static,
{
    with_conn!(conn, |c| {
        let mut q = diesel::sql_query(sql).into_boxed();
        for b in binds {
            q = match b {
                Bind::Int(i) => q.bind::<BigInt, _>(*i),
                Bind::Text(s) => q.bind::<Text, _>(s.clone()),
            };
        }
        q.load::<R>(c)
    })
}

/// The WHERE clause of a job list (`$1` experiment, `$2` tenant, then one parameter per
/// pattern) and its values.
fn job_filter(q: &JobList) -> (String, Vec<Bind>) {
    let mut sql = String::from("FROM experiment_jobs j JOIN runs r ON r.id = j.run_id WHERE j.experiment_id = $1 AND r.tenant = $2");
    let mut binds = vec![Bind::Int(q.experiment_id), Bind::Text(q.tenant.clone())];
    for term in &q.terms {
        let columns: Vec<&str> = match term.field {
            Some(f) => f.column().into_iter().collect(),
            None => JobField::ALL.iter().filter_map(|(_, f)| f.column()).collect(),
        };
        if columns.is_empty() {
            sql.push_str(" AND 1 = 0");
            continue;
        }
        binds.push(Bind::Text(term.pattern.to_like('\\', true)));
        let p = binds.len();
        let tests: Vec<String> = columns.iter().map(|c| format!("lower({c}) LIKE ${p} ESCAPE '\\'")).collect();
        sql.push_str(&format!(" AND ({})", tests.join(" OR ")));
    }
    (sql, binds)
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
        let backend = self.backend();
        let (filter, mut binds) = job_filter(q);
        let mut conn = self.conn()?;
        let total = load_bound::<CountRow>(&mut conn, &numbered(&format!("SELECT COUNT(*) AS n {filter}"), backend), &binds)?
            .first()
            .map_or(0, |r| r.n);
        if total == 0 || q.limit <= 0 {
            return Ok((Vec::new(), total));
        }
        let (col, dir, nulls) = match (q.sort.unwrap_or(JobSort::Id), q.descending && q.sort.is_some()) {
            (s, false) => (s.column(), "ASC", "DESC"),
            (s, true) => (s.column(), "DESC", "ASC"),
        };
        binds.push(Bind::Int(q.limit));
        binds.push(Bind::Int(q.offset.max(0)));
        let n = binds.len();
        let sql = format!(
            "SELECT j.run_id AS id {filter} ORDER BY ({col} IS NULL) {nulls}, {col} {dir}, j.run_id {dir} LIMIT ${} OFFSET ${n}",
            n - 1
        );
        let ids: Vec<i64> = load_bound::<IdRow>(&mut conn, &numbered(&sql, backend), &binds)?.into_iter().map(|r| r.id).collect();
        let mut jobs = jobs_by_ids(&mut conn, &ids)?;
        Ok((ids.iter().filter_map(|id| jobs.remove(id)).collect(), total))
    }
}
