//! Scalar reads: `scalar_metrics_iter_histogram` and `multi_task_scalar_metrics_iter_histogram`
//! with clearml-server's interval and variant-grouping downsampling, `get_scalar_metric_data`
//! (a scroll by iteration) and `get_task_latest_scalar_values`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use specmill_runtime::protocol::clearml::Error;
use specmill_runtime::protocol::RequestContext;
use specmill_runtime::store::queries::{StepCursor, StepPage};
use specmill_runtime::store::{Scalar, ScalarOrder, ScalarQuery, Store, StoreError};

use super::render::scalar_json;
use super::scroll::SCROLL_END;
use super::ClearmlEvents;
use crate::api::blocking;
use crate::generated::clearml::types::*;

/// clearml-server's cap on the points of one histogram group.
const MAX_GROUP_POINTS: i64 = 6000;
/// clearml-server's cap on the variants of one histogram group.
const MAX_GROUP_VARIANTS: usize = 50;
/// Events per page of `get_scalar_metric_data`.
const METRIC_DATA_PAGE: i64 = 500;
/// How many of the last values `last_100_value` averages.
const LAST_VALUES_AVERAGED: i64 = 100;
/// At most this many tasks in one multi-task histogram.
const MAX_COMPARED_TASKS: usize = 10;
const METRIC_DATA_TOKEN: &str = "clearml.scalar_metric_data";

/// The smallest value of the 1-2-5 ladder (1, 2, 5, 10, 20, 50, …) that is at least `n`.
pub fn snap_interval(n: i64) -> i64 {
    let mut decade: i64 = 1;
    loop {
        for m in [1, 2, 5] {
            if let Some(v) = decade.checked_mul(m) {
                if v >= n {
                    return v;
                }
            } else {
                return i64::MAX;
            }
        }
        decade = match decade.checked_mul(10) {
            Some(d) => d,
            None => return i64::MAX,
        };
    }
}

/// The count, lowest and highest x of one series, which size its buckets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeriesStats {
    pub count: i64,
    pub min: i64,
    pub max: i64,
}

impl SeriesStats {
    pub fn of(points: &[(i64, f64)]) -> SeriesStats {
        SeriesStats {
            count: points.len() as i64,
            min: points.iter().map(|p| p.0).min().unwrap_or(0),
            max: points.iter().map(|p| p.0).max().unwrap_or(0),
        }
    }
}

/// The bucket width of one series: 1 when it has fewer points than `samples`, else
/// `ceil((max - min + 1) / samples)` rounded up to the 1-2-5 ladder (so that the
/// per-bucket aggregates of the store can answer it); with the points that width is
/// expected to give.
fn series_interval(s: SeriesStats, samples: i64) -> (i64, i64) {
    let range = s.max.saturating_sub(s.min).saturating_add(1);
    let interval = if s.count < samples { 1 } else { snap_interval(((range as f64 / samples as f64).ceil() as i64).max(1)) };
    (interval, (range as f64 / interval as f64).ceil() as i64)
}

/// Bucket widths of several series, grouped as clearml-server groups them: series sorted by
/// width; a group closes when a width exceeds the group's first width by more than 10 %,
/// when it holds 50 series, or when its expected points would pass 6000; every series of a
/// group uses the group's largest width. Returns one width per input series.
pub fn group_intervals(series: &[SeriesStats], samples: i64) -> Vec<i64> {
    let measured: Vec<(i64, i64)> = series.iter().map(|s| series_interval(*s, samples)).collect();
    let mut order: Vec<usize> = (0..series.len()).collect();
    order.sort_by_key(|i| measured[*i].0);
    let mut widths = vec![1; series.len()];
    let mut group: Vec<usize> = Vec::new();
    let mut group_points = 0;
    let mut close = |group: &mut Vec<usize>| {
        let width = group.iter().map(|i| measured[*i].0).max().unwrap_or(1);
        for i in group.drain(..) {
            widths[i] = width;
        }
    };
    for i in order {
        let (interval, points) = measured[i];
        if let Some(first) = group.first().map(|f| measured[*f].0) {
            if interval > first + first / 10 || group.len() >= MAX_GROUP_VARIANTS || group_points + points > MAX_GROUP_POINTS {
                close(&mut group);
                group_points = 0;
            }
        }
        group.push(i);
        group_points += points;
    }
    close(&mut group);
    widths
}

/// One series bucketed by `interval` (bucket key = floor(x / interval) * interval), `y` the
/// mean of the values in the bucket; buckets without points are left out.
pub fn histogram(points: &[(i64, f64)], interval: i64) -> (Vec<i64>, Vec<f64>) {
    let interval = interval.max(1);
    let mut buckets: BTreeMap<i64, (f64, u32)> = BTreeMap::new();
    for (x, y) in points {
        let b = buckets.entry(x.div_euclid(interval) * interval).or_insert((0.0, 0));
        b.0 += y;
        b.1 += 1;
    }
    buckets.into_iter().map(|(k, (sum, n))| (k, sum / n as f64)).unzip()
}

/// `samples`: default 6000; 0 returns all the points, as the spec documents
/// (clearml-server's request model refuses 0); a negative amount is 400/12.
fn check_samples(samples: Option<i64>) -> Result<i64, Error> {
    match samples.unwrap_or(6000) {
        0 => Ok(i64::MAX),
        n if n > 0 => Ok(n),
        n => Err(Error::validation(format!("samples {n} is lower than minimum 0"))),
    }
}

/// One downsampled series: its metric, variant and the bucketed x and y.
struct Series {
    metric: String,
    variant: String,
    x: Vec<Value>,
    y: Vec<f64>,
}

/// Every (metric, variant) of one run's scalars (finite values only), downsampled to about
/// `samples` buckets with the interval grouping of the run's series; in name order.
fn downsample(rows: &[Scalar], key: ScalarKeyEnum, samples: i64) -> Vec<Series> {
    let mut series: BTreeMap<(String, String), Vec<(i64, f64)>> = BTreeMap::new();
    for s in rows.iter().filter(|s| s.value.is_finite()) {
        let x = match key {
            ScalarKeyEnum::Iter => s.step.unwrap_or(0),
            _ => s.ts_us.div_euclid(1000),
        };
        series.entry((s.metric.clone(), s.variant.clone())).or_default().push((x, s.value));
    }
    let stats: Vec<SeriesStats> = series.values().map(|p| SeriesStats::of(p)).collect();
    let widths = group_intervals(&stats, samples);
    series
        .iter()
        .zip(widths)
        .map(|(((metric, variant), points), width)| {
            let (x, y) = histogram(points, width);
            let x = match key {
                ScalarKeyEnum::IsoTime => x
                    .iter()
                    .map(|ms| {
                        json!(chrono::DateTime::from_timestamp_millis(*ms)
                            .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
                            .unwrap_or_default())
                    })
                    .collect(),
                _ => x.into_iter().map(|v| json!(v)).collect(),
            };
            Series { metric: metric.clone(), variant: variant.clone(), x, y }
        })
        .collect()
}

/// Where a `get_scalar_metric_data` scroll is.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct MetricDataScroll {
    run: i64,
    metric: Option<String>,
    max_id: i64,
    /// The number of events of the scroll (fixed by `max_id`), counted when it starts.
    total: i64,
    after: Option<StepCursor>,
}

/// Every (metric, variant) of one run's scalars (finite values only) keyed by iteration,
/// downsampled as [`downsample`] does, from the store's per-bucket aggregates: the points
/// are read only for series whose width is 1 or 2 (fewer than about 2 × `samples` of them).
fn downsample_iterations(store: &Store, run_id: i64, samples: i64) -> Result<Vec<Series>, StoreError> {
    let bounds = store.series_bounds(run_id)?;
    let stats: Vec<SeriesStats> = bounds.iter().map(|b| SeriesStats { count: b.count, min: b.min_step, max: b.max_step }).collect();
    let widths = group_intervals(&stats, samples);
    let mut out = Vec::with_capacity(bounds.len());
    for (b, width) in bounds.into_iter().zip(widths) {
        let (x, y): (Vec<i64>, Vec<f64>) = store.series_buckets(run_id, &b.metric, &b.variant, width)?.into_iter().unzip();
        out.push(Series { metric: b.metric, variant: b.variant, x: x.into_iter().map(|v| json!(v)).collect(), y });
    }
    Ok(out)
}

impl ClearmlEvents {
    /// One run's series downsampled by `key`: by iteration from the per-bucket aggregates,
    /// by time from the points.
    async fn run_histogram(&self, run_id: i64, key: ScalarKeyEnum, samples: i64) -> Result<Vec<Series>, Error> {
        if matches!(key, ScalarKeyEnum::Iter) {
            let store = self.store.clone();
            return blocking(move || downsample_iterations(&store, run_id, samples)).await.map_err(Error::from);
        }
        let rows = self.run_scalars(run_id).await?;
        Ok(downsample(&rows, key, samples))
    }

    /// All scalars of a run in step order.
    async fn run_scalars(&self, run_id: i64) -> Result<Vec<Scalar>, Error> {
        let store = self.store.clone();
        blocking(move || store.scalars(&ScalarQuery { order: ScalarOrder::StepAsc, ..ScalarQuery::for_run(run_id) }))
            .await
            .map_err(Error::from)
    }

    /// `{metric: {variant: {name, x, y}}}`, each series downsampled to about `samples`
    /// buckets (default 6000, 1..6000) with clearml-server's interval grouping.
    pub(super) async fn scalar_histogram(
        &self,
        ctx: &RequestContext,
        request: ScalarMetricsIterHistogramV2_1Request,
    ) -> Result<ScalarMetricsIterHistogramV2_1Response, Error> {
        let samples = check_samples(request.samples)?;
        let key = request.key.unwrap_or(ScalarKeyEnum::Iter);
        let run_id = self.run_id(ctx, &request.task).await?;
        let mut out = Map::new();
        for s in self.run_histogram(run_id, key, samples).await? {
            let entry = out.entry(s.metric).or_insert_with(|| json!({}));
            entry[s.variant.as_str()] = json!({ "name": s.variant, "x": s.x, "y": s.y });
        }
        Ok(ScalarMetricsIterHistogramV2_1Response { images: None, extra: out })
    }

    /// `{"metrics": {metric: {variant: {task: {name, x, y}}}}}` for 1..10 tasks, `name` the
    /// task's name; each task's series are downsampled (and grouped) on their own, as
    /// clearml-server does. Unknown tasks are 400/101, all of them listed.
    pub(super) async fn multi_task_histogram(
        &self,
        ctx: &RequestContext,
        request: MultiTaskScalarMetricsIterHistogramV2_1Request,
    ) -> Result<MultiTaskScalarMetricsIterHistogramV2_1Response, Error> {
        if request.tasks.is_empty() || request.tasks.len() > MAX_COMPARED_TASKS {
            return Err(Error::validation(format!("tasks: {} given, 1..{MAX_COMPARED_TASKS} allowed", request.tasks.len())));
        }
        let samples = check_samples(request.samples)?;
        let key = request.key.unwrap_or(ScalarKeyEnum::Iter);
        let mut tasks: Vec<String> = Vec::new();
        for t in request.tasks {
            if !tasks.contains(&t) {
                tasks.push(t);
            }
        }
        let found = self.find_runs(ctx, &tasks).await?;
        let missing = missing_tasks(&tasks, &found);
        if !missing.is_empty() {
            return Err(Error::new(400, 101, format!("Invalid task id: company={}, ids=({})", ctx.tenant, missing.join(", "))));
        }
        let mut out: BTreeMap<String, BTreeMap<String, Map<String, Value>>> = BTreeMap::new();
        for (task, run) in tasks.iter().zip(found.into_iter().flatten()) {
            for s in self.run_histogram(run.id, key, samples).await? {
                let by_task = out.entry(s.metric).or_default().entry(s.variant).or_default();
                by_task.insert(task.clone(), json!({ "name": run.name, "x": s.x, "y": s.y }));
            }
        }
        let metrics: Map<String, Value> = out
            .into_iter()
            .map(|(metric, variants)| {
                let variants: Map<String, Value> = variants.into_iter().map(|(v, by_task)| (v, Value::Object(by_task))).collect();
                (metric, Value::Object(variants))
            })
            .collect();
        let mut reply = Map::new();
        reply.insert("metrics".into(), Value::Object(metrics));
        Ok(reply)
    }

    /// The scalar events of one metric of a task, highest iteration first, in scroll pages
    /// of 500. Without `task` there is no task to read (400/101); an empty or absent `metric`
    /// selects every metric (clearml-server filters on the metric only when it is non-empty). The scroll
    /// id (`scroll_id`, a member the schema does not name) carries the query and position.
    pub(super) async fn scalar_metric_data(
        &self,
        ctx: &RequestContext,
        request: GetScalarMetricDataV2_1Request,
    ) -> Result<GetScalarMetricDataV2_1Response, Error> {
        // The spec makes both optional: no task names no task (400/101, as an unknown one),
        // no metric selects every metric (as an empty one does).
        let task = request.task.unwrap_or_default();
        let metric = request.metric.unwrap_or_default();
        let scroll_id = match request.extra.get("scroll_id") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => return Err(Error::validation(format!("scroll_id must be a string, not {other}"))),
        };
        let run_id = self.run_id(ctx, &task).await?;
        let state = match scroll_id.as_deref() {
            Some(SCROLL_END) => {
                return Ok(GetScalarMetricDataV2_1Response {
                    events: Some(Vec::new()),
                    returned: Some(0),
                    total: Some(0),
                    scroll_id: Some(SCROLL_END.into()),
                    extra: Map::new(),
                })
            }
            Some(id) => self
                .tokens
                .open::<MetricDataScroll>(METRIC_DATA_TOKEN, &ctx.tenant, id)
                .filter(|s| s.run == run_id)
                .ok_or_else(|| Error::invalid_scroll_id(id))?,
            None => {
                let store = self.store.clone();
                let metric = Some(metric).filter(|m| !m.is_empty());
                let m = metric.clone();
                // `total` counts what the run holds as the scroll begins (a point written
                // between the two reads is counted but not scrolled, as with ES's scroll)
                let (max_id, total) = blocking(move || {
                    let max_id = store.max_scalar_id()?;
                    Ok((max_id, store.scalar_point_count(run_id, m.as_deref(), None)?))
                })
                .await
                .map_err(Error::from)?;
                MetricDataScroll { run: run_id, metric, max_id, total, after: None }
            }
        };
        let store = self.store.clone();
        let total = state.total;
        let page = StepPage { run_id, metric: state.metric.clone(), max_id: state.max_id, after: state.after, limit: METRIC_DATA_PAGE };
        let rows = blocking(move || store.scalars_by_step_desc(&page)).await.map_err(Error::from)?;
        let scroll_id = match rows.last() {
            Some(last) => {
                self.tokens.seal(METRIC_DATA_TOKEN, &ctx.tenant, &MetricDataScroll { after: Some(StepCursor::of(last)), ..state })
            }
            None => SCROLL_END.into(),
        };
        let events: Vec<Map<String, Value>> = rows.iter().map(|s| scalar_json(&task, s)).collect();
        Ok(GetScalarMetricDataV2_1Response {
            returned: Some(events.len() as i64),
            events: Some(events),
            total: Some(total),
            scroll_id: Some(scroll_id),
            extra: Map::new(),
        })
    }

    /// Per metric, per variant: `last_value` (the value at the highest iteration),
    /// `last_100_value` (what the schema documents: the mean of the finite values among the
    /// last 100 reported, by iteration; left out when none is finite) and `last_10_value` (the
    /// member clearml-server sends, where it repeats the last value); a last value that is
    /// NaN or infinite is left out (JSON has no number for it); then `last_iter` (the
    /// highest iteration over every event type), `name`, `status` and `last_timestamp` (the
    /// latest scalar timestamp, epoch ms as a float; 0 without scalars).
    ///
    /// Every scalar counts: clearml-server only looks at values > 0 (`value:>0` in its
    /// query), a filter its schema does not document, so it is not reproduced here.
    pub(super) async fn latest_scalar_values(
        &self,
        ctx: &RequestContext,
        request: GetTaskLatestScalarValuesV2_1Request,
    ) -> Result<GetTaskLatestScalarValuesV2_1Response, Error> {
        let run = self.find_run(ctx, &request.task).await?;
        let store = self.store.clone();
        let run_id = run.id;
        let (recent, last_iter, last_ts) = blocking(move || {
            Ok((store.recent_scalars(run_id, LAST_VALUES_AVERAGED)?, store.max_iteration(run_id)?, store.last_scalar_ts(run_id)?))
        })
        .await
        .map_err(Error::from)?;
        // recent: by metric, variant, then highest step first
        let mut series: BTreeMap<&str, BTreeMap<&str, Vec<f64>>> = BTreeMap::new();
        for s in &recent {
            series.entry(&s.metric).or_default().entry(&s.variant).or_default().push(s.value);
        }
        let metrics = series
            .into_iter()
            .take(super::metrics::MAX_METRICS)
            .map(|(metric, variants)| GetTaskLatestScalarValuesV2_1ResponseMetricsItem {
                name: Some(metric.to_string()),
                variants: Some(
                    variants
                        .into_iter()
                        .take(super::metrics::MAX_VARIANTS)
                        .map(|(variant, values)| {
                            let last = values.first().copied().unwrap_or(f64::NAN);
                            let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
                            let mean = (!finite.is_empty()).then(|| finite.iter().sum::<f64>() / finite.len() as f64);
                            // The spec types the values as numbers: a NaN or infinite last
                            // value, or no finite value to average, leaves the member out.
                            let last = Some(last).filter(|v| v.is_finite());
                            let mut extra = Map::new();
                            if let Some(last) = last {
                                extra.insert("last_10_value".into(), json!(last));
                            }
                            GetTaskLatestScalarValuesV2_1ResponseMetricsItemVariantsItem {
                                name: Some(variant.to_string()),
                                last_value: last,
                                last_100_value: mean,
                                extra,
                            }
                        })
                        .collect(),
                ),
                extra: Map::new(),
            })
            .collect();
        let mut extra = Map::new();
        extra.insert("last_iter".into(), json!(last_iter.unwrap_or(0)));
        extra.insert("name".into(), json!(run.name));
        extra.insert("status".into(), json!("in_progress"));
        extra.insert("last_timestamp".into(), json!(last_ts.map(|us| us as f64 / 1000.0).unwrap_or(0.0)));
        Ok(GetTaskLatestScalarValuesV2_1Response { metrics: Some(metrics), extra })
    }
}

/// The tasks of `tasks` that `found` (one entry per task) has no run for.
pub(super) fn missing_tasks<T>(tasks: &[String], found: &[Option<T>]) -> Vec<String> {
    let mut missing: Vec<String> = Vec::new();
    for (t, r) in tasks.iter().zip(found) {
        if r.is_none() && !missing.contains(t) {
            missing.push(t.clone());
        }
    }
    missing
}

#[cfg(test)]
mod tests {
    use super::{group_intervals, histogram, missing_tasks, snap_interval, SeriesStats};

    #[test]
    fn histogram_buckets_like_clearml() {
        // clearml-server's own test: iterations 0..99, value = iter, samples=10.
        let points: Vec<(i64, f64)> = (0..100).map(|i| (i, i as f64)).collect();
        let widths = group_intervals(&[SeriesStats::of(&points)], 10);
        assert_eq!(widths, vec![10]);
        let (x, y) = histogram(&points, widths[0]);
        assert_eq!(x, (0..10).map(|i| i * 10).collect::<Vec<_>>());
        assert_eq!(y, (0..10).map(|i| i as f64 * 10.0 + 4.5).collect::<Vec<_>>());
        assert_eq!(group_intervals(&[SeriesStats::of(&points)], 6000), vec![1]);
    }

    #[test]
    fn variants_share_the_largest_width_of_their_group() {
        let s = |n: i64| SeriesStats { count: n, min: 0, max: n - 1 };
        // at samples=10: 1000 points → width 100; 1800 → 180 → 200 on the ladder (a new
        // group, over 10 %); 2000 → 200 (same group); 5 points, fewer than samples → 1
        assert_eq!(group_intervals(&[s(1000), s(1800), s(2000), s(5)], 10), vec![100, 200, 200, 1]);
    }

    #[test]
    fn intervals_round_up_the_one_two_five_ladder() {
        let snapped: Vec<i64> = [1, 2, 3, 5, 6, 10, 11, 17, 20, 21, 50, 51, 100].into_iter().map(snap_interval).collect();
        assert_eq!(snapped, vec![1, 2, 5, 5, 10, 10, 20, 20, 20, 50, 50, 100, 100]);
        assert_eq!(snap_interval(i64::MAX), i64::MAX);
        // 100k iterations at samples=6000: ceil(100000 / 6000) = 17 → 20
        assert_eq!(group_intervals(&[SeriesStats { count: 100_000, min: 0, max: 99_999 }], 6000), vec![20]);
    }

    #[test]
    fn missing_tasks_are_listed_once_in_order() {
        let tasks: Vec<String> = ["a", "b", "c", "b"].iter().map(|s| s.to_string()).collect();
        assert_eq!(missing_tasks(&tasks, &[Some(1), None, Some(2), None]), vec!["b".to_string()]);
    }
}
