//! Experiments and jobs, minimally: create an experiment, create a job (a new run) in it,
//! attach an existing run of any API to it (specmill extension), read a job.

use serde_json::{json, Map, Value};
use specmill_runtime::protocol::dioptra::Error;
use specmill_runtime::protocol::RequestContext;
use specmill_runtime::store::experiments::{Attach, Experiment as StoredExperiment, Job as StoredJob, JobAttrs};

use super::{iso, Dioptra, SOURCE};
use crate::api::blocking;
use crate::generated::dioptra::types::{
    AttachExperimentRunRequest, CreateExperimentJobRequest, CreateExperimentRequest, Experiment, GetJobRequest, Job, JobStatus,
    ResourceSnapshotRef,
};

/// Status of a run that no experiment holds, and default of a newly attached run.
const ATTACHED_STATUS: &str = "started";

fn status(s: &str) -> JobStatus {
    match s {
        "queued" => JobStatus::Queued,
        "deferred" => JobStatus::Deferred,
        "finished" => JobStatus::Finished,
        "failed" => JobStatus::Failed,
        "reset" => JobStatus::Reset,
        _ => JobStatus::Started,
    }
}

fn experiment_out(e: &StoredExperiment) -> Experiment {
    Experiment {
        id: e.id,
        snapshot: e.id,
        name: e.name.clone(),
        description: e.description.clone(),
        group: None,
        user: None,
        created_on: iso(e.created_us),
        snapshot_created_on: iso(e.created_us),
        last_modified_on: iso(e.updated_us),
        latest_snapshot: true,
        has_draft: false,
        tags: None,
        entrypoints: None,
    }
}

fn job_out(job: &StoredJob) -> Job {
    let run = &job.run;
    let membership = job.membership.as_ref();
    let attrs = membership.map(|m| &m.attrs);
    let modified = membership.map_or(run.updated_us, |m| m.updated_us.max(run.updated_us));
    Job {
        id: run.id,
        uid: Some(run.uid.clone()),
        snapshot: run.id,
        description: attrs.and_then(|a| a.description.clone()),
        status: attrs.map_or(JobStatus::Started, |a| status(&a.status)),
        experiment: membership.map(|m| ResourceSnapshotRef {
            id: m.experiment.id,
            snapshot_id: m.experiment.id,
            name: m.experiment.name.clone(),
            group: None,
            url: format!("/api/v1/experiments/{0}/snapshots/{0}", m.experiment.id),
        }),
        queue: None,
        entrypoint: None,
        group: None,
        user: None,
        tags: None,
        values: attrs.map(|a| {
            a.values.iter().flatten().map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))).collect()
        }),
        timeout: attrs.and_then(|a| a.timeout.clone()),
        created_on: iso(run.created_us),
        snapshot_created_on: iso(run.created_us),
        last_modified_on: iso(modified),
        latest_snapshot: true,
        has_draft: false,
    }
}

pub(super) async fn create_experiment(d: &Dioptra, ctx: &RequestContext, request: CreateExperimentRequest) -> Result<Experiment, Error> {
    let store = d.store.clone();
    let tenant = ctx.tenant.clone();
    let (group, name, description) = (request.group, request.name.clone(), request.description.clone());
    let created =
        blocking(move || store.create_experiment(&tenant, group, &name, description.as_deref())).await.map_err(Error::from)?;
    match created {
        Some(e) => Ok(experiment_out(&e)),
        None => Err(Error::exists(
            format!("The experiment name \"{}\" is not available.", request.name),
            json!({ "entity_type": "experiment", "name": request.name, "group_id": request.group }),
        )),
    }
}

pub(super) async fn create_experiment_job(d: &Dioptra, ctx: &RequestContext, request: CreateExperimentJobRequest) -> Result<Job, Error> {
    let body = request.body;
    let values: Option<Map<String, Value>> = body.values.map(|v| v.into_iter().map(|(k, v)| (k, Value::String(v))).collect());
    let attrs = JobAttrs {
        description: body.description,
        status: "queued".into(),
        timeout: Some(body.timeout),
        queue_id: Some(body.queue),
        entrypoint_id: Some(body.entrypoint),
        entrypoint_snapshot_id: body.entrypoint_snapshot,
        values: Some(values.unwrap_or_default()),
    };
    let store = d.store.clone();
    let tenant = ctx.tenant.clone();
    let experiment_id = request.id;
    let uid = uuid::Uuid::new_v4().simple().to_string();
    let job = blocking(move || store.create_job(&tenant, experiment_id, &uid, SOURCE, &attrs)).await.map_err(Error::from)?;
    job.as_ref().map(job_out).ok_or_else(|| Error::not_found("experiment", "experiment_id", json!(experiment_id)))
}

pub(super) async fn attach_experiment_run(d: &Dioptra, ctx: &RequestContext, request: AttachExperimentRunRequest) -> Result<Job, Error> {
    let body = request.body;
    if body.id.is_some() == body.uid.is_some() {
        return Err(Error::field("_schema", "Give exactly one of id and uid."));
    }
    let store = d.store.clone();
    let tenant = ctx.tenant.clone();
    let experiment_id = request.id;
    let (by_id, by_uid) = (body.id, body.uid.clone());
    let description = body.description.clone();
    let wanted_status = body.status.map(|s| s.as_str());
    let outcome = blocking(move || {
        let run_id = match (by_id, &by_uid) {
            (Some(id), _) => id,
            (None, Some(uid)) => match store.run_by_uid(&tenant, uid)? {
                Some(run) => run.id,
                None => return Ok(None),
            },
            (None, None) => return Ok(None),
        };
        store.attach_job(&tenant, experiment_id, run_id, description.as_deref(), wanted_status, ATTACHED_STATUS).map(|a| Some((run_id, a)))
    })
    .await
    .map_err(Error::from)?;
    let missing_run = || match (&body.id, &body.uid) {
        (Some(id), _) => Error::not_found("job", "job_id", json!(id)),
        (None, uid) => Error::not_found("job", "uid", json!(uid)),
    };
    match outcome {
        None | Some((_, Attach::NoRun)) => Err(missing_run()),
        Some((_, Attach::NoExperiment)) => Err(Error::not_found("experiment", "experiment_id", json!(experiment_id))),
        Some((run_id, Attach::InOtherExperiment(other))) => Err(Error::exists(
            format!("The job {run_id} already belongs to experiment {other}."),
            json!({ "entity_type": "job", "job_id": run_id, "experiment_id": other }),
        )),
        Some((_, Attach::Attached(job))) => Ok(job_out(&job)),
    }
}

pub(super) async fn get_job(d: &Dioptra, ctx: &RequestContext, request: GetJobRequest) -> Result<Job, Error> {
    let store = d.store.clone();
    let tenant = ctx.tenant.clone();
    let id = request.id;
    let job = blocking(move || store.job(&tenant, id)).await.map_err(Error::from)?;
    job.as_ref().map(job_out).ok_or_else(|| Error::not_found("job", "job_id", json!(id)))
}
