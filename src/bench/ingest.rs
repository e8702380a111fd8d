//! Ingest over real HTTP: concurrent clients, one run each, writing through one API until
//! the phase's time or point budget is spent. Bodies are built from the generated request
//! types, so they follow the specs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use specmill_runtime::wire::{Double, EpochSeconds};

use super::http::Client;
use super::report::Latencies;
use crate::generated::clearml::types::{AddBatchV2_1Response, MetricsScalarEvent, MetricsScalarEventType};
use crate::generated::comet::types::{
    CreateExperimentRequest as CometCreate, CreateExperimentResponse as CometCreated, MetricRequest, MetricRequestMetricValue,
    WriteResponse,
};
use crate::generated::dioptra::types::{Experiment, ExperimentCreate, Job, JobCreate, Metric, MetricIn, MetricValueIn};
use crate::generated::sagemaker::types::{BatchPutMetricsRequest, BatchPutMetricsResponse, RawMetricData};

/// Events per ClearML `add_batch` request.
pub const CLEARML_BATCH: u64 = 1000;
/// Points per `BatchPutMetrics` request: the model's maximum.
pub const SAGEMAKER_BATCH: u64 = 10;
/// Metric names the writers rotate through.
const METRICS: u64 = 10;
/// Distinct error messages kept per phase.
const KEPT_ERRORS: usize = 3;

/// The APIs measured, in table order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    Clearml,
    Sagemaker,
    Dioptra,
    Comet,
}

impl Api {
    pub const ALL: [Api; 4] = [Api::Clearml, Api::Sagemaker, Api::Dioptra, Api::Comet];

    pub fn label(self) -> &'static str {
        match self {
            Api::Clearml => "ingest: ClearML events.add_batch, 1000 events/request",
            Api::Sagemaker => "ingest: SageMaker BatchPutMetrics, 10 points/request",
            Api::Dioptra => "ingest: Dioptra POST /jobs/{id}/metrics, 1 point/request",
            Api::Comet => "ingest: Comet write/experiment/metric, 1 point/request",
        }
    }

    pub fn points_per_request(self) -> u64 {
        match self {
            Api::Clearml => CLEARML_BATCH,
            Api::Sagemaker => SAGEMAKER_BATCH,
            Api::Dioptra | Api::Comet => 1,
        }
    }
}

/// How much one phase writes.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub clients: usize,
    /// At most this many points in the phase (whole requests only).
    pub max_points: u64,
    pub duration: Duration,
}

/// What one phase measured.
#[derive(Debug, Default)]
pub struct Phase {
    /// Points the server acknowledged.
    pub points: u64,
    pub requests: u64,
    /// From the moment every client was ready to the end of the last one.
    pub elapsed: Duration,
    pub latencies: Latencies,
    pub errors: u64,
    pub error_messages: Vec<String>,
}

impl Phase {
    pub fn points_per_s(&self) -> f64 {
        self.points as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn error(&mut self, msg: String) {
        self.errors += 1;
        self.keep_message(msg);
    }

    fn keep_message(&mut self, msg: String) {
        if self.error_messages.len() < KEPT_ERRORS && !self.error_messages.contains(&msg) {
            self.error_messages.push(msg);
        }
    }

    /// Adds a client's counts to the phase's.
    fn merge(&mut self, other: Phase) {
        self.points += other.points;
        self.requests += other.requests;
        self.errors += other.errors;
        self.latencies.extend(other.latencies);
        for m in other.error_messages {
            self.keep_message(m);
        }
    }
}

/// Where one client writes: its own run in the API's terms.
enum Target {
    Task(String),
    TrialComponent(String),
    Job(i64),
    Experiment(String),
}

/// One client: its connection, its run and how many points it has sent.
pub(super) struct Writer {
    client: Client,
    target: Target,
    sent: u64,
}

fn now_ms() -> f64 {
    specmill_runtime::store::now_us() as f64 / 1000.0
}

impl Writer {
    /// Makes the client's run the way that API's clients do.
    pub(super) fn new(base: &str, api: Api, tag: &str, index: usize, experiment: Option<i64>) -> Result<Writer, String> {
        let client = Client::new(base);
        let target = match api {
            Api::Clearml => Target::Task(format!("bench-clearml-{tag}-{index}")),
            Api::Sagemaker => Target::TrialComponent(format!("bench-sagemaker-{tag}-{index}")),
            Api::Dioptra => {
                let experiment = experiment.ok_or("no Dioptra experiment")?;
                let body = JobCreate {
                    queue: 1,
                    entrypoint: 1,
                    entrypoint_snapshot: None,
                    values: None,
                    artifact_values: None,
                    description: Some(format!("bench client {index}")),
                    timeout: "24h".into(),
                };
                let job: Job = client.json("POST", &format!("/api/v1/experiments/{experiment}/jobs"), &body)?;
                Target::Job(job.id)
            }
            Api::Comet => {
                let body = CometCreate {
                    workspace_name: "default".into(),
                    project_name: "bench".into(),
                    experiment_name: Some(format!("bench-{tag}-{index}")),
                };
                let created: CometCreated = client.json("POST", "/api/rest/v2/write/experiment/create", &body)?;
                Target::Experiment(created.experiment_key)
            }
        };
        Ok(Writer { client, target, sent: 0 })
    }

    /// The run's key in its API's routes: task id, trial component, job id, experiment key.
    pub(super) fn key(&self) -> String {
        match &self.target {
            Target::Task(k) | Target::TrialComponent(k) | Target::Experiment(k) => k.clone(),
            Target::Job(id) => id.to_string(),
        }
    }

    /// Sends the next request; the points the server acknowledged.
    pub(super) fn send(&mut self) -> Result<u64, String> {
        let first = self.sent;
        let result = match &self.target {
            Target::Task(task) => self.clearml(task, first),
            Target::TrialComponent(name) => self.sagemaker(name, first),
            Target::Job(id) => self.dioptra(*id, first),
            Target::Experiment(key) => self.comet(key, first),
        };
        self.sent += match &self.target {
            Target::Task(_) => CLEARML_BATCH,
            Target::TrialComponent(_) => SAGEMAKER_BATCH,
            _ => 1,
        };
        result
    }

    /// Point `n` of a client: metric `n % 10` at step `n / 10`.
    fn name_and_step(n: u64) -> (String, u64) {
        (format!("metric_{}", n % METRICS), n / METRICS)
    }

    fn clearml(&self, task: &str, first: u64) -> Result<u64, String> {
        let ts = now_ms();
        let mut body = String::with_capacity(CLEARML_BATCH as usize * 160);
        for n in first..first + CLEARML_BATCH {
            let (metric, step) = Self::name_and_step(n);
            let event = MetricsScalarEvent {
                timestamp: Some(ts),
                type_: MetricsScalarEventType::TrainingStatsScalar,
                task: task.to_string(),
                iter: Some(step as i64),
                metric: Some(metric),
                variant: Some("train".into()),
                value: Some(1.0 / (1.0 + step as f64)),
                extra: Default::default(),
            };
            body.push_str(&serde_json::to_string(&event).map_err(|e| e.to_string())?);
            body.push('\n');
        }
        let reply: AddBatchV2_1Response = self.client.clearml("/events.add_batch", "application/json-lines", &body)?;
        match (reply.added, reply.errors.unwrap_or(0)) {
            (Some(added), 0) => Ok(added.max(0) as u64),
            (added, errors) => Err(format!("events.add_batch: added {added:?}, {errors} errors: {:?}", reply.errors_info)),
        }
    }

    fn sagemaker(&self, name: &str, first: u64) -> Result<u64, String> {
        let ts = now_ms() / 1000.0;
        let metric_data = (first..first + SAGEMAKER_BATCH)
            .map(|n| {
                let (metric, step) = Self::name_and_step(n);
                RawMetricData {
                    metric_name: metric,
                    timestamp: EpochSeconds(ts),
                    step: Some(step as i32),
                    value: Double(1.0 / (1.0 + step as f64)),
                }
            })
            .collect();
        let body = BatchPutMetricsRequest { trial_component_name: name.to_string(), metric_data };
        let reply: BatchPutMetricsResponse = self.client.json("PUT", "/BatchPutMetrics", &body)?;
        match reply.errors {
            Some(errors) if !errors.is_empty() => Err(format!("BatchPutMetrics: {} items refused: {errors:?}", errors.len())),
            _ => Ok(SAGEMAKER_BATCH),
        }
    }

    fn dioptra(&self, job: i64, n: u64) -> Result<u64, String> {
        let (name, step) = Self::name_and_step(n);
        let body = MetricIn { name, value: MetricValueIn::Number(1.0 / (1.0 + step as f64)), step: step as i64, timestamp: None };
        let _: Metric = self.client.json("POST", &format!("/api/v1/jobs/{job}/metrics"), &body)?;
        Ok(1)
    }

    fn comet(&self, key: &str, n: u64) -> Result<u64, String> {
        let (name, step) = Self::name_and_step(n);
        let body = MetricRequest {
            experiment_key: key.to_string(),
            metric_name: name,
            metric_value: MetricRequestMetricValue::Number(1.0 / (1.0 + step as f64)),
            step: Some(step as i64),
            epoch: None,
            timestamp: Some(now_ms() as i64),
            context: None,
        };
        let text = serde_json::to_string(&body).map_err(|e| e.to_string())?;
        let reply = self.client.send("POST", "/api/rest/v2/write/experiment/metric", "application/json;charset=utf-8", Some(&text))?;
        let _: WriteResponse = serde_json::from_str(&reply).map_err(|e| format!("write/experiment/metric: {e}: {reply}"))?;
        Ok(1)
    }
}

/// A Dioptra experiment for the jobs of writers tagged `tag`; its id.
pub(super) fn dioptra_experiment(base: &str, tag: &str) -> Result<i64, String> {
    let body = ExperimentCreate { name: format!("bench-{tag}"), group: 1, description: None, entrypoints: None };
    let e: Experiment = Client::new(base).json("POST", "/api/v1/experiments/", &body)?;
    Ok(e.id)
}

/// One ingest phase of `api` against the server at `base`. `tag` makes the runs' names
/// unique in the store.
pub fn run(base: &str, api: Api, limits: Limits, tag: &str) -> Result<Phase, String> {
    let clients = limits.clients.max(1);
    let experiment = match api {
        Api::Dioptra => Some(dioptra_experiment(base, tag)?),
        _ => None,
    };
    let writers = (0..clients).map(|i| Writer::new(base, api, tag, i, experiment)).collect::<Result<Vec<_>, _>>()?;
    let reserved = Arc::new(AtomicU64::new(0));
    let phase = Arc::new(Mutex::new(Phase::default()));
    let start = Arc::new(Barrier::new(clients + 1));
    let handles: Vec<_> = writers
        .into_iter()
        .map(|mut w| {
            let (reserved, phase, start) = (reserved.clone(), phase.clone(), start.clone());
            std::thread::spawn(move || {
                let mut mine = Phase::default();
                start.wait();
                let deadline = Instant::now() + limits.duration;
                let k = api.points_per_request();
                while Instant::now() < deadline && reserved.fetch_add(k, Ordering::Relaxed) + k <= limits.max_points {
                    let sent = Instant::now();
                    let result = w.send();
                    mine.latencies.push(sent.elapsed());
                    mine.requests += 1;
                    match result {
                        Ok(n) => mine.points += n,
                        Err(e) => mine.error(e),
                    }
                }
                phase.lock().unwrap_or_else(|p| p.into_inner()).merge(mine);
            })
        })
        .collect();
    start.wait();
    let started = Instant::now();
    for h in handles {
        h.join().map_err(|_| "an ingest client panicked".to_string())?;
    }
    let elapsed = started.elapsed();
    let mut phase = std::mem::take(&mut *phase.lock().unwrap_or_else(|p| p.into_inner()));
    phase.elapsed = elapsed;
    Ok(phase)
}
