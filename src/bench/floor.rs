//! The floor: the read set's points written straight into the fresh store with the
//! runtime's own bulk insert (`Store::put_scalars`, one call = one transaction), before the
//! server starts. The same points are what the read phases then read over HTTP.

use std::time::{Duration, Instant};

use anyhow::Context;
use specmill_runtime::store::{NewScalar, Store};

/// Metrics of the read set; each gets `points / METRICS` steps.
pub const METRICS: u64 = 10;
/// Tenant of an open server (no config file).
pub const TENANT: &str = "default";
/// The task / workload / trial component the reads address.
pub const READ_RUN: &str = "bench-read";
/// Time between two steps of a metric.
pub const STEP_US: i64 = 10_000;

/// The run the read phases read: `METRICS` metrics `metric_0…` with steps `0..steps`.
#[derive(Debug, Clone)]
pub struct ReadSet {
    pub run_uid: String,
    /// Its numeric id, the Dioptra job id.
    pub run_id: i64,
    pub steps: u64,
    pub metrics: Vec<String>,
    /// Timestamp of step 0 (epoch µs); step `s` is at `t0_us + s * STEP_US`.
    pub t0_us: i64,
}

impl ReadSet {
    pub fn points(&self) -> u64 {
        self.steps * self.metrics.len() as u64
    }
}

/// What the floor measured.
#[derive(Debug, Clone)]
pub struct Floor {
    pub points: u64,
    pub elapsed: Duration,
}

impl Floor {
    pub fn points_per_s(&self) -> f64 {
        self.points as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// The points as ClearML's `add_batch` stores them (metric, empty variant, iteration, its
/// point key), without the payload members ClearML keeps beside them.
fn points_of(set: &ReadSet) -> Vec<NewScalar> {
    let mut out = Vec::with_capacity(set.points() as usize);
    for (m, metric) in set.metrics.iter().enumerate() {
        for step in 0..set.steps as i64 {
            out.push(NewScalar {
                metric: metric.clone(),
                variant: String::new(),
                step: Some(step),
                ts_us: set.t0_us + step * STEP_US,
                value: m as f64 + 1.0 / (1.0 + step as f64),
                source: "clearml".into(),
                point_key: format!("clearml|{}|{step}|{metric}|", set.run_uid),
                extra: None,
            });
        }
    }
    out
}

/// Creates the read run in the store at `url` and writes its `points` (rounded down to a
/// multiple of `METRICS`, at least one step) in one `put_scalars` call, timed. Every
/// connection is closed on return, so a SQLite WAL is checkpointed.
pub fn load(url: &str, points: u64) -> anyhow::Result<(ReadSet, Floor)> {
    let steps = (points / METRICS).max(1);
    let store = Store::open(url).context("open the store for the floor")?;
    let run = store.ensure_run(TENANT, READ_RUN, "clearml")?;
    let span_us = steps as i64 * STEP_US;
    let set = ReadSet {
        run_uid: run.uid.clone(),
        run_id: run.id,
        steps,
        metrics: (0..METRICS).map(|m| format!("metric_{m}")).collect(),
        t0_us: specmill_runtime::store::now_us() - span_us - 60_000_000,
    };
    let batch = points_of(&set);
    let started = Instant::now();
    let written = store.put_scalars(run.id, &batch).context("bulk insert of the floor")?;
    let floor = Floor { points: written as u64, elapsed: started.elapsed() };
    anyhow::ensure!(written as u64 == set.points(), "the floor wrote {written} of {} points", set.points());
    Ok((set, floor))
}
