//! Scalar reads: `scalar_metrics_iter_histogram` with clearml-server's interval and
//! variant-grouping downsampling.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use specmill_runtime::protocol::clearml::Error;
use specmill_runtime::protocol::RequestContext;
use specmill_runtime::store::{ScalarOrder, ScalarQuery};

use super::ClearmlEvents;
use crate::api::blocking;
use crate::generated::clearml::types::*;

/// clearml-server's cap on the points of one histogram group.
const MAX_GROUP_POINTS: i64 = 6000;
/// clearml-server's cap on the variants of one histogram group.
const MAX_GROUP_VARIANTS: usize = 50;

/// The bucket width of one series: 1 when it has fewer points than `samples`, else
/// `ceil((max - min + 1) / samples)`; with the points that width is expected to give.
fn series_interval(points: &[(i64, f64)], samples: i64) -> (i64, i64) {
    let min = points.iter().map(|p| p.0).min().unwrap_or(0);
    let max = points.iter().map(|p| p.0).max().unwrap_or(0);
    let range = max - min + 1;
    let interval = if (points.len() as i64) < samples { 1 } else { ((range as f64 / samples as f64).ceil() as i64).max(1) };
    (interval, (range as f64 / interval as f64).ceil() as i64)
}

/// Bucket widths of several series, grouped as clearml-server groups them: series sorted by
/// width; a group closes when a width exceeds the group's first width by more than 10 %,
/// when it holds 50 series, or when its expected points would pass 6000; every series of a
/// group uses the group's largest width. Returns one width per input series.
pub fn group_intervals(series: &[&[(i64, f64)]], samples: i64) -> Vec<i64> {
    let measured: Vec<(i64, i64)> = series.iter().map(|p| series_interval(p, samples)).collect();
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

impl ClearmlEvents {
    /// `{metric: {variant: {name, x, y}}}`, each series downsampled to about `samples`
    /// buckets (default 6000, 1..6000) with clearml-server's interval grouping.
    pub(super) async fn scalar_histogram(
        &self,
        ctx: &RequestContext,
        request: ScalarMetricsIterHistogramV2_1Request,
    ) -> Result<ScalarMetricsIterHistogramV2_1Response, Error> {
        let samples = request.samples.unwrap_or(6000);
        if !(1..=6000).contains(&samples) {
            return Err(Error::validation(format!("samples {samples} is out of range 1..6000")));
        }
        let key = request.key.unwrap_or(ScalarKeyEnum::Iter);
        let run_id = self.run_id(ctx, &request.task).await?;
        let store = self.store.clone();
        let rows = blocking(move || store.scalars(&ScalarQuery { order: ScalarOrder::StepAsc, ..ScalarQuery::for_run(run_id) }))
            .await
            .map_err(Error::internal)?;
        let mut series: BTreeMap<(String, String), Vec<(i64, f64)>> = BTreeMap::new();
        for s in rows.iter().filter(|s| s.value.is_finite()) {
            let x = match key {
                ScalarKeyEnum::Iter => s.step.unwrap_or(0),
                _ => s.ts_us.div_euclid(1000),
            };
            series.entry((s.metric.clone(), s.variant.clone())).or_default().push((x, s.value));
        }
        let slices: Vec<&[(i64, f64)]> = series.values().map(Vec::as_slice).collect();
        let widths = group_intervals(&slices, samples);
        let mut out = Map::new();
        for (((metric, variant), points), width) in series.iter().zip(widths) {
            let (metric, variant) = (metric.clone(), variant.clone());
            let (x, y) = histogram(points, width);
            let x: Vec<Value> = match key {
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
            let entry = out.entry(metric).or_insert_with(|| json!({}));
            entry[variant.as_str()] = json!({ "name": variant, "x": x, "y": y });
        }
        Ok(ScalarMetricsIterHistogramV2_1Response { images: None, extra: out })
    }
}

#[cfg(test)]
mod tests {
    use super::{group_intervals, histogram};

    #[test]
    fn histogram_buckets_like_clearml() {
        // clearml-server's own test: iterations 0..99, value = iter, samples=10.
        let points: Vec<(i64, f64)> = (0..100).map(|i| (i, i as f64)).collect();
        let widths = group_intervals(&[&points], 10);
        assert_eq!(widths, vec![10]);
        let (x, y) = histogram(&points, widths[0]);
        assert_eq!(x, (0..10).map(|i| i * 10).collect::<Vec<_>>());
        assert_eq!(y, (0..10).map(|i| i as f64 * 10.0 + 4.5).collect::<Vec<_>>());
        assert_eq!(group_intervals(&[&points], 6000), vec![1]);
    }

    #[test]
    fn variants_share_the_largest_width_of_their_group() {
        let a: Vec<(i64, f64)> = (0..1000).map(|i| (i, 1.0)).collect(); // width 100 at samples=10
        let b: Vec<(i64, f64)> = (0..1050).map(|i| (i, 1.0)).collect(); // width 105: within 10 %
        let c: Vec<(i64, f64)> = (0..5000).map(|i| (i, 1.0)).collect(); // width 500: a new group
        let short: Vec<(i64, f64)> = (0..5).map(|i| (i, 1.0)).collect(); // fewer points than samples: width 1
        assert_eq!(group_intervals(&[&a, &b, &c, &short], 10), vec![105, 105, 500, 1]);
    }
}
