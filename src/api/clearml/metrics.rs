//! Listings of what a task reported: `get_task_metrics` (metric names per task and event
//! type), `get_scalar_metrics_and_variants` and `get_vector_metrics_and_variants`; and the
//! task lookups the multi-task reads share.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use specmill_runtime::protocol::clearml::Error;
use specmill_runtime::protocol::RequestContext;
use specmill_runtime::store::{Run, SCALAR_EVENT_TYPE};

use super::scalars::missing_tasks;
use super::ClearmlEvents;
use crate::api::blocking;
use crate::generated::clearml::types::*;

/// clearml-server's cap on the metrics a listing returns (per task).
pub(super) const MAX_METRICS: usize = 100;
/// clearml-server's cap on the variants a listing returns (per metric).
pub(super) const MAX_VARIANTS: usize = 100;

/// `{metric: [variant, …]}`, both sorted bytewise, at most 100 × 100.
fn metric_variant_map(pairs: Vec<(String, String)>) -> Map<String, Value> {
    let mut by_metric: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (metric, variant) in pairs {
        by_metric.entry(metric).or_default().push(variant);
    }
    by_metric
        .into_iter()
        .take(MAX_METRICS)
        .map(|(metric, mut variants)| {
            variants.truncate(MAX_VARIANTS);
            (metric, json!(variants))
        })
        .collect()
}

impl ClearmlEvents {
    /// The run of `task` in the caller's tenant; an unknown task is 400/101.
    pub(super) async fn find_run(&self, ctx: &RequestContext, task: &str) -> Result<Run, Error> {
        let found = self.find_runs(ctx, &[task.to_string()]).await?;
        found.into_iter().flatten().next().ok_or_else(|| Error::invalid_task_id(task))
    }

    /// The run of each of `tasks` in the caller's tenant (`None` for an unknown task).
    pub(super) async fn find_runs(&self, ctx: &RequestContext, tasks: &[String]) -> Result<Vec<Option<Run>>, Error> {
        let store = self.store.clone();
        let (tenant, tasks) = (ctx.tenant.clone(), tasks.to_vec());
        blocking(move || tasks.iter().map(|t| store.run_by_uid(&tenant, t)).collect()).await.map_err(Error::from)
    }

    /// The runs of `tasks`, all of which must exist: else 400/101 `Invalid task id:
    /// ids=(…)` listing every unknown one.
    pub(super) async fn require_runs(&self, ctx: &RequestContext, tasks: &[String]) -> Result<Vec<Run>, Error> {
        let found = self.find_runs(ctx, tasks).await?;
        let missing = missing_tasks(tasks, &found);
        if !missing.is_empty() {
            return Err(Error::invalid_task_id(&missing.join(", ")));
        }
        Ok(found.into_iter().flatten().collect())
    }

    /// The distinct (metric, variant) a run reported as `event_type`.
    async fn metric_variants(&self, run_id: i64, event_type: &'static str) -> Result<Vec<(String, String)>, Error> {
        let store = self.store.clone();
        blocking(move || store.metric_variants(run_id, event_type)).await.map_err(Error::from)
    }

    /// `{"metrics": [{"task": id, "metrics": [name, …]}]}`: per task (in the order asked),
    /// the metrics it reported as `event_type` (scalars from the scalar points, the other
    /// types from the events), sorted, at most 100. Without `event_type` (optional in the
    /// spec; clearml-server requires it) every event type counts.
    pub(super) async fn task_metrics(
        &self,
        ctx: &RequestContext,
        request: GetTaskMetricsV2_7Request,
    ) -> Result<GetTaskMetricsV2_7Response, Error> {
        let event_types: Vec<&'static str> = match &request.event_type {
            Some(t) => vec![t.as_str()],
            None => super::EVENT_TYPES.to_vec(),
        };
        if request.tasks.is_empty() {
            return Err(Error::validation("tasks: at least 1 task is required"));
        }
        let runs = self.require_runs(ctx, &request.tasks).await?;
        let mut out = Vec::with_capacity(runs.len());
        for (task, run) in request.tasks.iter().zip(&runs) {
            let mut metrics = Vec::new();
            for t in &event_types {
                metrics.extend(self.metric_variants(run.id, t).await?.into_iter().map(|(m, _)| m));
            }
            metrics.sort();
            metrics.dedup();
            metrics.truncate(MAX_METRICS);
            let mut item = Map::new();
            item.insert("task".into(), json!(task));
            item.insert("metrics".into(), json!(metrics));
            out.push(item);
        }
        Ok(GetTaskMetricsV2_7Response { metrics: Some(out), extra: Map::new() })
    }

    /// `{"metrics": {metric: [variant, …]}}` of a task's scalars.
    pub(super) async fn scalar_metrics_and_variants(
        &self,
        ctx: &RequestContext,
        request: GetScalarMetricsAndVariantsV2_1Request,
    ) -> Result<GetScalarMetricsAndVariantsV2_1Response, Error> {
        let run_id = self.run_id(ctx, &request.task).await?;
        let pairs = self.metric_variants(run_id, SCALAR_EVENT_TYPE).await?;
        Ok(GetScalarMetricsAndVariantsV2_1Response { metrics: Some(metric_variant_map(pairs)), extra: Map::new() })
    }

    /// `{"metrics": [{"metric": name, "variants": [variant, …]}, …]}` of a task's vector
    /// events, sorted: the spec types `metrics` as an array of objects (clearml-server sends
    /// the `{metric: [variant, …]}` map that `get_scalar_metrics_and_variants` documents).
    pub(super) async fn vector_metrics_and_variants(
        &self,
        ctx: &RequestContext,
        request: GetVectorMetricsAndVariantsV2_1Request,
    ) -> Result<GetVectorMetricsAndVariantsV2_1Response, Error> {
        let run_id = self.run_id(ctx, &request.task).await?;
        let pairs = self.metric_variants(run_id, super::vectors::VECTOR_EVENT_TYPE).await?;
        let metrics = metric_variant_map(pairs)
            .into_iter()
            .map(|(metric, variants)| {
                let mut item = Map::new();
                item.insert("metric".into(), Value::String(metric));
                item.insert("variants".into(), variants);
                item
            })
            .collect();
        Ok(GetVectorMetricsAndVariantsV2_1Response { metrics: Some(metrics), extra: Map::new() })
    }
}
