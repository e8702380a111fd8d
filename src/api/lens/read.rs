//! The training-performance reads: sources, available metrics, metric data and iteration
//! times, with Lens's parameter forms and key filtering.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use specmill_runtime::protocol::lens::Error;
use specmill_runtime::protocol::{RequestContext, StreamPage, Streamed};
use specmill_runtime::store::series::PointQuery;
use specmill_runtime::store::{Scalar, ScalarOrder, SCALAR_EVENT_TYPE};

use super::Lens;
use crate::api::dioptra::path_segment;
use crate::api::{blocking, display_name};
use crate::generated::lens::types::{
    AvailableMetricsResponse, DataSourceInfo, DataSourcesResponse, GetWorkloadAvailableMetricsRequest, GetWorkloadIterationTimesRequest,
    GetWorkloadMetricsDataRequest, GetWorkloadMetricsSourcesRequest, MetricDataPoint, MetricInfo, MetricsDataResponse,
};

/// Keys Lens never reports as metrics: they are what iteration-times reports.
const COMMON_METADATA: [&str; 2] = ["iteration", "target_iteration"];
/// Keys the Lens W&B processor adds to every row.
const WANDB_METADATA: [&str; 6] = ["step", "run_id", "source", "history", "created_at", "updated_at"];
/// Keys the Lens TensorBoard reader adds to every row.
const TENSORFLOW_METADATA: [&str; 5] = ["step", "wall_time", "file", "scalars", "texts"];

/// The `metrics` parameter as Lens's legacy handler reads it: trimmed; empty, `all` (any
/// case) or `{}` mean every metric; Grafana's `{a,b}` braces are stripped; the rest is a
/// comma-separated list whose items are trimmed (empty items match nothing). `None` =
/// every metric.
pub fn metric_filter(raw: Option<&str>) -> Option<Vec<String>> {
    let raw = raw?.trim();
    let raw = raw.strip_prefix('{').and_then(|r| r.strip_suffix('}')).unwrap_or(raw);
    if raw.trim().is_empty() || raw.trim().eq_ignore_ascii_case("all") {
        return None;
    }
    Some(raw.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
}

/// Whether `key` of a point from `source` is a metric Lens reports (`isMetricField` plus the
/// common metadata keys).
pub fn is_metric_key(source: &str, key: &str) -> bool {
    if COMMON_METADATA.contains(&key) {
        return false;
    }
    match source {
        "wandb" => !WANDB_METADATA.contains(&key),
        "tensorflow" => !TENSORFLOW_METADATA.contains(&key) && !key.contains(" vs samples") && !key.contains(" vs steps"),
        _ => true,
    }
}

/// The uid (its `%2F`/`%25`/`%2B` decoded), or Lens's 400 when it is blank.
fn workload_uid(uid: &str) -> Result<String, Error> {
    if uid.trim().is_empty() {
        return Err(Error::bad_request("workload_uid is required"));
    }
    Ok(path_segment(uid))
}

/// The `data_source` filter (`None` when absent or empty).
fn source_filter(data_source: Option<&str>) -> Option<String> {
    data_source.filter(|s| !s.is_empty()).map(str::to_string)
}

/// `start`/`end` (ms, inclusive) as a µs range; applied only when both are given.
fn time_range(start: Option<i64>, end: Option<i64>) -> (Option<i64>, Option<i64>) {
    match (start, end) {
        (Some(s), Some(e)) => (Some(s.saturating_mul(1000)), Some(e.saturating_mul(1000).saturating_add(999))),
        _ => (None, None),
    }
}

fn iteration(step: Option<i64>) -> i32 {
    step.unwrap_or(0).clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

pub(super) async fn sources(
    l: &Lens,
    ctx: &RequestContext,
    request: GetWorkloadMetricsSourcesRequest,
) -> Result<DataSourcesResponse, Error> {
    let workload = workload_uid(&request.uid)?;
    let uid = workload.clone();
    let store = l.store.clone();
    let tenant = ctx.tenant.clone();
    let counts = blocking(move || match store.run_by_uid(&tenant, &uid)? {
        Some(run) => store.source_counts(run.id),
        None => Ok(Vec::new()),
    })
    .await
    .map_err(Error::from)?;
    let data_sources: Vec<DataSourceInfo> = counts.into_iter().map(|(name, count)| DataSourceInfo { name, count }).collect();
    Ok(DataSourcesResponse { workload_uid: workload, total_count: data_sources.len() as i64, data_sources })
}

pub(super) async fn available(
    l: &Lens,
    ctx: &RequestContext,
    request: GetWorkloadAvailableMetricsRequest,
) -> Result<AvailableMetricsResponse, Error> {
    let workload = workload_uid(&request.uid)?;
    let uid = workload.clone();
    let source = source_filter(request.data_source.as_deref());
    let store = l.store.clone();
    let tenant = ctx.tenant.clone();
    let series = blocking(move || match store.run_by_uid(&tenant, &uid)? {
        Some(run) => store.series_counts(run.id, source.as_deref()),
        None => Ok(Vec::new()),
    })
    .await
    .map_err(Error::from)?;
    let mut by_name: BTreeMap<String, (BTreeSet<String>, i64)> = BTreeMap::new();
    for s in series {
        let name = display_name(&s.metric, &s.variant);
        if !is_metric_key(&s.source, &name) {
            continue;
        }
        let entry = by_name.entry(name).or_default();
        entry.0.insert(s.source);
        entry.1 += s.finite_points;
    }
    let metrics: Vec<MetricInfo> = by_name
        .into_iter()
        .map(|(name, (sources, count))| MetricInfo { name, data_source: sources.into_iter().collect(), count })
        .collect();
    Ok(AvailableMetricsResponse { workload_uid: workload, total_count: metrics.len() as i64, metrics })
}

/// Points read from the store per streamed page of `metrics/data`.
const DATA_PAGE: i64 = 20_000;

/// `metrics/data`, streamed: the reply's other members first, then the points a page at a
/// time (keyset pages in time order), then `total_count`, so a long run is never held in
/// memory. The workload and the first page are read before the reply starts, so a failing
/// store still gets Lens's own error.
pub(super) async fn data(l: &Lens, ctx: &RequestContext, request: GetWorkloadMetricsDataRequest) -> Result<Streamed<MetricsDataResponse>, Error> {
    let workload = workload_uid(&request.uid)?;
    let uid = workload.clone();
    let wanted = metric_filter(request.metrics.as_deref());
    let source = source_filter(request.data_source.as_deref());
    let (from, to) = time_range(request.start, request.end);
    let store = l.store.clone();
    let tenant = ctx.tenant.clone();
    let (wanted_q, source_q) = (wanted.clone(), source.clone());
    let first = blocking(move || {
        let Some(run) = store.run_by_uid(&tenant, &uid)? else { return Ok(None) };
        let mut q = PointQuery {
            run_id: run.id,
            source: source_q,
            ts_from_us: from,
            ts_to_us: to,
            finite_only: true,
            order: ScalarOrder::TsAsc,
            limit: Some(DATA_PAGE),
            ..Default::default()
        };
        if let Some(wanted) = &wanted_q {
            // narrow the read to the series whose display name is wanted
            let pairs: Vec<(String, String)> = store
                .metric_variants(run.id, SCALAR_EVENT_TYPE)?
                .into_iter()
                .filter(|(m, v)| wanted.contains(&display_name(m, v)))
                .collect();
            if pairs.is_empty() {
                return Ok(None);
            }
            q.metrics = Some(pairs.iter().map(|(m, _)| m.clone()).collect::<BTreeSet<_>>().into_iter().collect());
            q.variants = Some(pairs.iter().map(|(_, v)| v.clone()).collect::<BTreeSet<_>>().into_iter().collect());
        }
        let rows = store.points(&q)?;
        Ok(Some((q, rows)))
    })
    .await
    .map_err(Error::from)?;
    let head = MetricsDataResponse { workload_uid: workload, data_source: source, total_count: 0, data: Vec::new() };
    let store = l.store.clone();
    // state: the query, the page read and not yet sent, the filter
    let pages = futures_util::stream::unfold(first.map(|(q, rows)| (q, Some(rows), wanted, store)), |state| async move {
        let (mut q, pending, wanted, store) = state?;
        let rows = match pending {
            Some(rows) => rows,
            None => {
                let (s, page) = (store.clone(), q.clone());
                match blocking(move || s.points(&page)).await {
                    Ok(rows) => rows,
                    Err(e) => return Some((Err(e.message), None)),
                }
            }
        };
        if rows.is_empty() {
            return None;
        }
        let more = rows.len() as i64 >= DATA_PAGE;
        q.after_ts_id = rows.last().map(|s| (s.ts_us, s.id));
        let page = StreamPage::of(&data_points(rows, wanted.as_ref()));
        Some((page, more.then_some((q, None, wanted, store))))
    });
    Ok(Streamed { head, pages: Box::pin(pages) })
}

/// The points Lens reports of `rows`: metric keys only (and only the wanted ones).
fn data_points(rows: Vec<Scalar>, wanted: Option<&Vec<String>>) -> Vec<MetricDataPoint> {
    rows.into_iter()
        .filter_map(|s| {
            let name = display_name(&s.metric, &s.variant);
            let keep = is_metric_key(&s.source, &name) && wanted.is_none_or(|w| w.contains(&name));
            keep.then(|| MetricDataPoint {
                metric_name: name,
                value: s.value,
                timestamp: s.ts_us.div_euclid(1000),
                iteration: iteration(s.step),
                data_source: s.source,
            })
        })
        .collect()
}

pub(super) async fn iteration_times(
    l: &Lens,
    ctx: &RequestContext,
    request: GetWorkloadIterationTimesRequest,
) -> Result<MetricsDataResponse, Error> {
    let workload = workload_uid(&request.uid)?;
    let uid = workload.clone();
    let source = source_filter(request.data_source.as_deref());
    let (from, to) = time_range(request.start, request.end);
    let store = l.store.clone();
    let tenant = ctx.tenant.clone();
    let source_q = source.clone();
    let (firsts, targets) = blocking(move || {
        let Some(run) = store.run_by_uid(&tenant, &uid)? else { return Ok((Vec::new(), Vec::new())) };
        let firsts = store.first_point_per_step(run.id, source_q.as_deref(), from, to)?;
        let targets = store.points(&PointQuery {
            run_id: run.id,
            source: source_q,
            metrics: Some(vec!["target_iteration".into()]),
            variants: Some(vec![String::new(), "target_iteration".into()]),
            finite_only: true,
            order: ScalarOrder::TsAsc,
            ..Default::default()
        })?;
        Ok((firsts, targets))
    })
    .await
    .map_err(Error::from)?;
    // the first target_iteration of each (step, source)
    let mut target: HashMap<(i64, String), f64> = HashMap::new();
    for t in targets {
        if let Some(step) = t.step {
            target.entry((step, t.source)).or_insert(t.value);
        }
    }
    let mut data = Vec::new();
    for first in firsts {
        let Some(step) = first.step else { continue };
        let timestamp = first.ts_us.div_euclid(1000);
        data.push(MetricDataPoint {
            metric_name: "iteration".into(),
            value: step as f64,
            timestamp,
            iteration: iteration(Some(step)),
            data_source: first.source.clone(),
        });
        if let Some(value) = target.get(&(step, first.source.clone())) {
            data.push(MetricDataPoint {
                metric_name: "target_iteration".into(),
                value: *value,
                timestamp,
                iteration: iteration(Some(step)),
                data_source: first.source,
            });
        }
    }
    Ok(MetricsDataResponse { workload_uid: workload, data_source: source, total_count: data.len() as i64, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_parameter_forms() {
        let v = |xs: &[&str]| Some(xs.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(metric_filter(None), None);
        assert_eq!(metric_filter(Some("")), None);
        assert_eq!(metric_filter(Some(" ALL ")), None);
        assert_eq!(metric_filter(Some("all")), None);
        assert_eq!(metric_filter(Some("{}")), None);
        assert_eq!(metric_filter(Some("{all}")), None);
        assert_eq!(metric_filter(Some("{loss, acc}")), v(&["loss", "acc"]));
        assert_eq!(metric_filter(Some("loss,,acc")), v(&["loss", "acc"]));
        assert_eq!(metric_filter(Some(",")), v(&[]));
        assert_eq!(metric_filter(Some("loss/train")), v(&["loss/train"]));
    }

    #[test]
    fn key_filtering_per_source() {
        assert!(!is_metric_key("clearml", "iteration"));
        assert!(!is_metric_key("wandb", "target_iteration"));
        assert!(!is_metric_key("wandb", "run_id"));
        assert!(is_metric_key("clearml", "run_id"));
        assert!(is_metric_key("wandb", "loss"));
        assert!(!is_metric_key("tensorflow", "wall_time"));
        assert!(!is_metric_key("tensorflow", "loss vs steps"));
        assert!(is_metric_key("log", "current_iteration"));
    }

    #[test]
    fn time_range_needs_both_bounds() {
        assert_eq!(time_range(Some(1), None), (None, None));
        assert_eq!(time_range(None, Some(1)), (None, None));
        assert_eq!(time_range(Some(1), Some(2)), (Some(1000), Some(2999)));
    }
}

/// Properties (issue 10): the `metrics` list and the `start`/`end` window.
#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    /// A metric name as a list may carry it: no comma or brace, no whitespace at its ends.
    fn metric() -> impl Strategy<Value = String> {
        "[A-Za-z0-9_./:@-]([A-Za-z0-9_./:@ -]{0,8}[A-Za-z0-9_./:@-])?"
    }

    proptest! {
        #[test]
        fn metric_lists_read_back(names in prop::collection::vec(metric(), 1..6), spaces in prop::collection::vec(("[ \t]{0,2}", "[ \t]{0,2}", 0..3usize), 1..6), braces in any::<bool>(), outer in "[ \t]{0,2}") {
            let mut items = Vec::new();
            for (i, (name, (before, after, empties))) in names.iter().zip(spaces.iter().cycle()).enumerate() {
                // empty items (`a,,b`) between names are dropped
                if i > 0 {
                    items.extend(std::iter::repeat_n(before.clone(), *empties));
                }
                items.push(format!("{before}{name}{after}"));
            }
            let list = items.join(",");
            let raw = if braces { format!("{outer}{{{list}}}{outer}") } else { format!("{outer}{list}{outer}") };
            let all = names.len() == 1 && names[0].eq_ignore_ascii_case("all");
            prop_assert_eq!(metric_filter(Some(&raw)), if all { None } else { Some(names) }, "{:?}", raw);
        }

        #[test]
        fn any_metrics_text_is_read(raw in "\\PC{0,30}|[a{}, \tA-Z]{0,20}") {
            if let Some(items) = metric_filter(Some(&raw)) {
                for item in &items {
                    prop_assert!(!item.is_empty() && item.trim() == item && !item.contains(','), "{:?} -> {:?}", raw, items);
                }
            } else {
                let t = raw.trim();
                let t = t.strip_prefix('{').and_then(|r| r.strip_suffix('}')).unwrap_or(t).trim();
                prop_assert!(t.is_empty() || t.eq_ignore_ascii_case("all"), "{:?}", raw);
            }
        }

        #[test]
        fn time_windows_hold_exactly_the_milliseconds_asked(start in any::<i64>(), end in any::<i64>(), ms in any::<i64>()) {
            prop_assert_eq!(time_range(Some(start), None), (None, None));
            prop_assert_eq!(time_range(None, Some(end)), (None, None));
            let (Some(lo), Some(hi)) = time_range(Some(start), Some(end)) else { return Err(TestCaseError::fail("both bounds give a window")) };
            let limit = i64::MAX / 1000 - 1;
            if [start, end, ms].iter().all(|t| (-limit..limit).contains(t)) {
                // every µs of the inclusive ms range, nothing else
                let inside = |us: i64| lo <= us && us <= hi;
                prop_assert_eq!(inside(ms * 1000) && inside(ms * 1000 + 999), start <= ms && ms <= end);
                prop_assert_eq!(inside(ms * 1000), inside(ms * 1000 + 999));
            }
        }
    }
}
