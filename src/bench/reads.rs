//! Reads of the read set over real HTTP: ClearML's histogram, Lens's data of one metric over
//! a time window (both repeated for latency percentiles), Dioptra's snapshots and ClearML's
//! `get_scalar_metric_data` paged through one whole metric. Every reply is decoded into the
//! generated response type and checked against what was loaded.

use std::time::{Duration, Instant};

use super::floor::{ReadSet, STEP_US};
use super::http::Client;
use super::report::Latencies;
use crate::generated::clearml::types::{
    GetScalarMetricDataV2_1Request, GetScalarMetricDataV2_1Response, ScalarMetricsIterHistogramV2_1Request,
    ScalarMetricsIterHistogramV2_1Response,
};
use crate::generated::dioptra::types::MetricsSnapshotPage;
use crate::generated::lens::types::MetricsDataResponse;

/// Histogram samples, as the ClearML UI asks for.
pub const HISTOGRAM_SAMPLES: i64 = 6000;
/// Dioptra's largest page.
pub const DIOPTRA_PAGE: u64 = 1000;
/// The metric the single-metric reads read.
const METRIC: usize = 3;
/// A repeated read runs at least this many times…
const MIN_REPEATS: usize = 3;
/// …and at most this many, stopping once this much time has passed.
const MAX_REPEATS: usize = 50;
const REPEAT_BUDGET: Duration = Duration::from_secs(8);
/// A paged read stops (and says so) after this long.
const PAGING_BUDGET: Duration = Duration::from_secs(60);

/// What one read measured.
#[derive(Debug, Default)]
pub struct Read {
    pub label: String,
    /// Rows (points) returned, over all requests.
    pub rows: u64,
    pub latencies: Latencies,
    /// Time spent in requests.
    pub busy: Duration,
    pub problems: Vec<String>,
}

impl Read {
    pub fn new(label: String) -> Read {
        Read { label, ..Default::default() }
    }

    pub fn rows_per_s(&self) -> f64 {
        self.rows as f64 / self.busy.as_secs_f64().max(1e-9)
    }

    pub fn timed<T>(&mut self, f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
        let t = Instant::now();
        let r = f();
        let d = t.elapsed();
        self.latencies.push(d);
        self.busy += d;
        r
    }
}

/// All four reads, in table order.
pub fn run(base: &str, set: &ReadSet) -> Vec<Read> {
    let client = Client::new(base);
    vec![histogram(&client, set), lens_window(&client, set), dioptra_snapshots(&client, set), clearml_scroll(&client, set)]
}

/// Repeats `one` (which returns the rows of one request) within the repeat budget.
pub fn repeat(read: &mut Read, mut one: impl FnMut(&mut Read) -> Result<u64, String>) {
    let started = Instant::now();
    for i in 0..MAX_REPEATS {
        if i >= MIN_REPEATS && started.elapsed() >= REPEAT_BUDGET {
            break;
        }
        match one(read) {
            Ok(rows) => read.rows += rows,
            Err(e) => {
                read.problems.push(e);
                break;
            }
        }
    }
}

fn histogram(client: &Client, set: &ReadSet) -> Read {
    let mut read = Read::new(format!(
        "read: ClearML scalar_metrics_iter_histogram, samples={HISTOGRAM_SAMPLES}, {} points",
        set.points()
    ));
    let body = ScalarMetricsIterHistogramV2_1Request {
        task: set.run_uid.clone(),
        samples: Some(HISTOGRAM_SAMPLES),
        key: None,
        extra: Default::default(),
    };
    let body = serde_json::to_string(&body).unwrap_or_default();
    let per_series = set.steps.min(HISTOGRAM_SAMPLES as u64);
    repeat(&mut read, |read| {
        let reply: ScalarMetricsIterHistogramV2_1Response =
            read.timed(|| client.clearml("/events.scalar_metrics_iter_histogram", super::http::JSON, &body))?;
        let mut rows = 0;
        for metric in &set.metrics {
            let x = reply.extra.get(metric).and_then(|v| v.get("")).and_then(|s| s.get("x")).and_then(|x| x.as_array());
            let n = x.map_or(0, Vec::len) as u64;
            // 6000 samples of a longer series give about 6000 buckets (interval rounding)
            if n == 0 || n > per_series + 1 || n * 2 < per_series {
                return Err(format!("histogram: {metric} has {n} points, about {per_series} expected"));
            }
            rows += n;
        }
        Ok(rows)
    });
    read
}

fn lens_window(client: &Client, set: &ReadSet) -> Read {
    let (lo, hi) = (set.steps * 45 / 100, (set.steps * 55 / 100).max(set.steps * 45 / 100 + 1));
    let start_ms = (set.t0_us + lo as i64 * STEP_US) / 1000;
    let end_ms = (set.t0_us + hi as i64 * STEP_US) / 1000;
    let metric = &set.metrics[METRIC];
    let mut read = Read::new(format!("read: Lens metrics/data, 1 metric, {} of its {} steps by time", hi - lo, set.steps));
    let path = format!("/v1/workloads/{}/metrics/data?metrics={metric}&start={start_ms}&end={end_ms}", set.run_uid);
    repeat(&mut read, |read| {
        let reply: MetricsDataResponse = read.timed(|| client.get(&path))?;
        let n = reply.data.len() as u64;
        if n == 0 || n > hi - lo + 1 || reply.data.iter().any(|p| &p.metric_name != metric) {
            return Err(format!("Lens data: {n} points of the window (~{} expected) or another metric", hi - lo));
        }
        Ok(n)
    });
    read
}

fn dioptra_snapshots(client: &Client, set: &ReadSet) -> Read {
    let metric = &set.metrics[METRIC];
    let mut read =
        Read::new(format!("read: Dioptra snapshots, pageLength={DIOPTRA_PAGE}, all {} rows of 1 metric", set.steps));
    let started = Instant::now();
    let mut index = 0u64;
    loop {
        let path = format!("/api/v1/jobs/{}/metrics/{metric}/snapshots?index={index}&pageLength={DIOPTRA_PAGE}", set.run_id);
        let page: MetricsSnapshotPage = match read.timed(|| client.get(&path)) {
            Ok(p) => p,
            Err(e) => {
                read.problems.push(e);
                break;
            }
        };
        read.rows += page.data.len() as u64;
        if page.total_num_results as u64 != set.steps {
            read.problems.push(format!("Dioptra snapshots: totalNumResults {} of {} rows", page.total_num_results, set.steps));
            break;
        }
        if page.is_complete || page.data.is_empty() {
            break;
        }
        index += page.data.len() as u64;
        if started.elapsed() > PAGING_BUDGET {
            read.problems.push(format!("Dioptra snapshots: stopped after {PAGING_BUDGET:?} at {} rows", read.rows));
            return read;
        }
    }
    if read.problems.is_empty() && read.rows != set.steps {
        read.problems.push(format!("Dioptra snapshots: {} rows of {}", read.rows, set.steps));
    }
    read
}

fn clearml_scroll(client: &Client, set: &ReadSet) -> Read {
    let metric = &set.metrics[METRIC];
    let mut read = Read::new(format!("read: ClearML get_scalar_metric_data, scroll of all {} rows of 1 metric", set.steps));
    let started = Instant::now();
    let mut scroll_id: Option<String> = None;
    loop {
        let mut body = GetScalarMetricDataV2_1Request { task: Some(set.run_uid.clone()), metric: Some(metric.clone()), extra: Default::default() };
        if let Some(id) = &scroll_id {
            body.extra.insert("scroll_id".into(), id.clone().into());
        }
        let body = serde_json::to_string(&body).unwrap_or_default();
        let page: GetScalarMetricDataV2_1Response =
            match read.timed(|| client.clearml("/events.get_scalar_metric_data", super::http::JSON, &body)) {
                Ok(p) => p,
                Err(e) => {
                    read.problems.push(e);
                    break;
                }
            };
        let n = page.events.as_ref().map_or(0, Vec::len) as u64;
        if n == 0 {
            // the last request only says the scroll is over: not a page of rows
            break;
        }
        read.rows += n;
        scroll_id = page.scroll_id;
        if scroll_id.is_none() {
            read.problems.push("get_scalar_metric_data: a page without scroll_id".into());
            break;
        }
        if started.elapsed() > PAGING_BUDGET {
            read.problems.push(format!("get_scalar_metric_data: stopped after {PAGING_BUDGET:?} at {} rows", read.rows));
            return read;
        }
    }
    if read.problems.is_empty() && read.rows != set.steps {
        read.problems.push(format!("get_scalar_metric_data: {} rows of {}", read.rows, set.steps));
    }
    read
}
