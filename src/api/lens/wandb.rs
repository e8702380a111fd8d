//! The W&B exporter's routes of the Lens telemetry-processor (`POST /wandb/metrics`,
//! `/wandb/logs`, `/wandb/batch`): every numeric value becomes a point of the workload's
//! run with source `wandb`, read by every API.

use std::collections::HashMap;

use serde_json::{json, Map, Value};
use specmill_runtime::protocol::lens::Error;
use specmill_runtime::protocol::{RequestContext, StoreFailure};
use specmill_runtime::store::series::PointQuery;
use specmill_runtime::store::{now_us, NewScalar, Store};

use super::{Lens, CREATED_BY, WANDB_SOURCE};
use crate::api::blocking;
use crate::generated::lens::types::{
    WandBBatchPartResult, WandBBatchRequest, WandBBatchResponse, WandBBatchResponseStatus, WandBBatchResults, WandBIngestResponse,
    WandBIngestResponseStatus, WandBLogsRequest, WandBMetricsRequest,
};

const NO_WORKLOAD: &str = "either workload_uid or pod_name is required";

/// The workload: `workload_uid`, else `pod_name` (specmill has no pod inventory).
fn workload(workload_uid: Option<&str>, pod_name: Option<&str>) -> Result<String, Error> {
    [workload_uid, pod_name]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| Error::bad_request(NO_WORKLOAD))
}

/// Unix seconds as µs, when given and positive.
fn seconds_us(s: Option<f64>) -> Option<i64> {
    s.filter(|s| s.is_finite() && *s > 0.0).map(|s| (s * 1e6).round() as i64)
}

/// One W&B value as a point (its identity is the metric and the step).
fn point(metric: &str, step: i64, ts_us: i64, value: f64, extra: &Map<String, Value>) -> NewScalar {
    NewScalar {
        metric: metric.to_string(),
        variant: String::new(),
        step: Some(step),
        ts_us,
        value,
        source: WANDB_SOURCE.into(),
        point_key: format!("{WANDB_SOURCE}|{metric}|{step}"),
        extra: (!extra.is_empty()).then(|| extra.clone()),
    }
}

/// Stores `points` under workload `uid` (created if missing). A point that replaces a
/// stored one keeps the time that one was first reported, as Lens keeps a row's time.
async fn store_points(store: &Store, tenant: &str, uid: String, mut points: Vec<NewScalar>) -> Result<(), StoreFailure> {
    let (store, tenant) = (store.clone(), tenant.to_string());
    blocking(move || {
        let run = store.ensure_run(&tenant, &uid, CREATED_BY)?;
        if points.is_empty() {
            return Ok(());
        }
        let mut names: Vec<String> = points.iter().map(|p| p.metric.clone()).collect();
        names.sort();
        names.dedup();
        let stored =
            store.points(&PointQuery { run_id: run.id, source: Some(WANDB_SOURCE.into()), metrics: Some(names), ..Default::default() })?;
        let first: HashMap<String, i64> = stored.into_iter().map(|s| (s.point_key, s.ts_us)).collect();
        for p in &mut points {
            if let Some(ts) = first.get(&p.point_key) {
                p.ts_us = *ts;
            }
        }
        store.put_scalars(run.id, &points).map(|_| ())
    })
    .await
}

fn base_extra(run_id: Option<&str>, pod_uid: Option<&str>) -> Map<String, Value> {
    let mut extra = Map::new();
    if let Some(r) = run_id.filter(|s| !s.is_empty()) {
        extra.insert("run_id".into(), json!(r));
    }
    if let Some(p) = pod_uid.filter(|s| !s.is_empty()) {
        extra.insert("pod_uid".into(), json!(p));
    }
    extra
}

/// Stores a metrics report; the number of values it had.
async fn ingest_metrics(store: &Store, tenant: &str, request: &WandBMetricsRequest) -> Result<i64, Error> {
    let uid = workload(request.workload_uid.as_deref(), request.pod_name.as_deref())?;
    let now = now_us();
    let request_ts = seconds_us(request.timestamp);
    let base = base_extra(request.run_id.as_deref(), request.pod_uid.as_deref());
    let metrics = request.metrics.as_deref().unwrap_or_default();
    let points = metrics
        .iter()
        .map(|m| {
            let mut extra = base.clone();
            if let Some(tags) = m.tags.as_ref().filter(|t| !t.is_empty()) {
                extra.insert("tags".into(), json!(tags));
            }
            let ts = seconds_us(m.timestamp).or(request_ts).unwrap_or(now);
            point(&m.name, m.step, ts, m.value, &extra)
        })
        .collect();
    store_points(store, tenant, uid, points).await.map_err(|f| Error::store(f, "failed to process metrics"))?;
    Ok(metrics.len() as i64)
}

/// Stores a logs report (numeric values only); the number of entries it had.
async fn ingest_logs(store: &Store, tenant: &str, request: &WandBLogsRequest) -> Result<i64, Error> {
    let uid = workload(request.workload_uid.as_deref(), request.pod_name.as_deref())?;
    let now = now_us();
    let request_ts = seconds_us(request.timestamp);
    let extra = base_extra(request.run_id.as_deref(), request.pod_uid.as_deref());
    let logs = request.logs.as_deref().unwrap_or_default();
    let mut points = Vec::new();
    for entry in logs {
        let ts = seconds_us(entry.timestamp).or(request_ts).unwrap_or(now);
        for (key, value) in &entry.data {
            if let Some(v) = value.as_f64().filter(|_| value.is_number()) {
                points.push(point(key, entry.step, ts, v, &extra));
            }
        }
    }
    store_points(store, tenant, uid, points).await.map_err(|f| Error::store(f, "failed to process logs"))?;
    Ok(logs.len() as i64)
}

fn ingested(message: &str, count: i64) -> WandBIngestResponse {
    WandBIngestResponse { status: WandBIngestResponseStatus::Ok, message: message.into(), count }
}

pub(super) async fn metrics(l: &Lens, ctx: &RequestContext, request: WandBMetricsRequest) -> Result<WandBIngestResponse, Error> {
    let count = ingest_metrics(&l.store, &ctx.tenant, &request).await?;
    Ok(ingested("metrics reported successfully", count))
}

pub(super) async fn logs(l: &Lens, ctx: &RequestContext, request: WandBLogsRequest) -> Result<WandBIngestResponse, Error> {
    let count = ingest_logs(&l.store, &ctx.tenant, &request).await?;
    Ok(ingested("training data reported successfully", count))
}

fn part(result: Result<i64, Error>) -> WandBBatchPartResult {
    match result {
        Ok(count) => WandBBatchPartResult { success: true, count: Some(count), error: None },
        Err(e) => WandBBatchPartResult { success: false, count: None, error: Some(e.message) },
    }
}

/// A batch part as its route's request: decoded and validated on its own, so a part that
/// does not fit fails alone (with the message the route would give).
fn decode_part<T: serde::de::DeserializeOwned + specmill_runtime::validate::Validate>(part: Map<String, Value>) -> Result<T, Error> {
    let value: T = specmill_runtime::protocol::body::from_value(Value::Object(part))
        .map_err(|e| Error::bad_request(format!("invalid request format: {e}")))?;
    specmill_runtime::validate::validate(&value)
        .map_err(|v| Error::bad_request(v.iter().map(|x| x.message.clone()).collect::<Vec<_>>().join("; ")))?;
    Ok(value)
}

pub(super) async fn batch(l: &Lens, ctx: &RequestContext, request: WandBBatchRequest) -> Result<WandBBatchResponse, Error> {
    let metrics = match request.metrics {
        Some(m) => Some(part(match decode_part::<WandBMetricsRequest>(m.into_iter().collect()) {
            Ok(m) => ingest_metrics(&l.store, &ctx.tenant, &m).await,
            Err(e) => Err(e),
        })),
        None => None,
    };
    let logs = match request.logs {
        Some(m) => Some(part(match decode_part::<WandBLogsRequest>(m.into_iter().collect()) {
            Ok(m) => ingest_logs(&l.store, &ctx.tenant, &m).await,
            Err(e) => Err(e),
        })),
        None => None,
    };
    let success = metrics.iter().chain(logs.iter()).all(|p| p.success);
    Ok(WandBBatchResponse { status: WandBBatchResponseStatus::Ok, success, results: WandBBatchResults { metrics, logs } })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workload_and_times() {
        assert_eq!(workload(Some("w"), Some("p")).unwrap(), "w");
        assert_eq!(workload(Some(" "), Some("p")).unwrap(), "p");
        assert_eq!(workload(None, None).unwrap_err().message, NO_WORKLOAD);
        assert_eq!(seconds_us(Some(1.5)), Some(1_500_000));
        assert_eq!(seconds_us(Some(0.0)), None);
        assert_eq!(seconds_us(None), None);
    }
}

/// Properties (issue 10): W&B times (Unix seconds, fractional) as µs.
#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn seconds_read_to_the_microsecond(us in 1i64..(1 << 51)) {
            // within ±71 years of 1970 a µs fraction survives the f64 seconds
            prop_assert_eq!(seconds_us(Some(us as f64 / 1e6)), Some(us));
        }

        #[test]
        fn only_positive_finite_seconds_are_times(s in any::<f64>()) {
            let got = seconds_us(Some(s));
            prop_assert_eq!(got.is_some(), s.is_finite() && s > 0.0);
        }
    }
}
