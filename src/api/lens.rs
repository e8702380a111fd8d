//! Lens training-performance reads over the store: a workload is a run (its uid is the
//! run's uid); a point's `data_source` is the API that wrote it.

use specmill_runtime::protocol::lens::Error;
use specmill_runtime::protocol::RequestContext;
use specmill_runtime::store::{ScalarOrder, ScalarQuery, Store};

use super::{blocking, display_name};
use crate::generated::lens::types::{GetWorkloadMetricsDataRequest, MetricDataPoint, MetricsDataResponse};
use crate::generated::lens::LensService;

pub struct Lens {
    store: Store,
}

impl Lens {
    pub fn new(store: Store) -> Self {
        Lens { store }
    }
}

/// The `metrics` parameter as Lens's legacy handler reads it: trimmed; empty, `all` (any
/// case) or `{}` mean every metric; Grafana's `{a,b}` braces are stripped; the rest is a
/// comma-separated list. `None` = every metric.
pub fn metric_filter(raw: Option<&str>) -> Option<Vec<String>> {
    let raw = raw?.trim();
    let raw = raw.strip_prefix('{').and_then(|r| r.strip_suffix('}')).unwrap_or(raw);
    if raw.is_empty() || raw.eq_ignore_ascii_case("all") {
        return None;
    }
    let names: Vec<String> = raw.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    if names.is_empty() {
        None
    } else {
        Some(names)
    }
}

impl LensService for Lens {
    /// Points of the workload, oldest first. `start`/`end` (ms, inclusive) filter only when
    /// both are given, as Lens does. Non-finite values are left out (the doc's "NaN filtered";
    /// JSON cannot carry them).
    async fn get_workload_metrics_data(&self, ctx: &RequestContext, request: GetWorkloadMetricsDataRequest) -> Result<MetricsDataResponse, Error> {
        let wanted = metric_filter(request.metrics.as_deref());
        let store = self.store.clone();
        let tenant = ctx.tenant.clone();
        let uid = request.uid.clone();
        let (from, to) = match (request.start, request.end) {
            (Some(s), Some(e)) => (Some(s.saturating_mul(1000)), Some(e.saturating_mul(1000).saturating_add(999))),
            _ => (None, None),
        };
        let rows = blocking(move || {
            let Some(run) = store.run_by_uid(&tenant, &uid)? else { return Ok(Vec::new()) };
            store.scalars(&ScalarQuery { run_id: run.id, ts_from_us: from, ts_to_us: to, order: ScalarOrder::TsAsc, ..Default::default() })
        })
        .await
        .map_err(Error::internal)?;
        let source = request.data_source.clone().filter(|s| !s.is_empty());
        let data: Vec<MetricDataPoint> = rows
            .into_iter()
            .filter(|s| s.value.is_finite())
            .filter(|s| source.as_deref().map(|d| d == s.source).unwrap_or(true))
            .map(|s| MetricDataPoint {
                metric_name: display_name(&s.metric, &s.variant),
                value: s.value,
                timestamp: s.ts_us.div_euclid(1000),
                iteration: s.step.unwrap_or(0).clamp(i32::MIN as i64, i32::MAX as i64) as i32,
                data_source: s.source,
            })
            .filter(|p| wanted.as_ref().map(|w| w.contains(&p.metric_name)).unwrap_or(true))
            .collect();
        Ok(MetricsDataResponse { workload_uid: request.uid, data_source: source, total_count: data.len() as i64, data })
    }
}

#[cfg(test)]
mod tests {
    use super::metric_filter;

    #[test]
    fn metrics_parameter_forms() {
        assert_eq!(metric_filter(None), None);
        assert_eq!(metric_filter(Some(" ALL ")), None);
        assert_eq!(metric_filter(Some("{}")), None);
        assert_eq!(metric_filter(Some("{loss, acc}")), Some(vec!["loss".to_string(), "acc".to_string()]));
        assert_eq!(metric_filter(Some("loss,,acc")), Some(vec!["loss".to_string(), "acc".to_string()]));
    }
}
