//! SageMaker Metrics over the store: a trial component is a run (its name is the run's uid).

use specmill_runtime::protocol::sagemaker::Error;
use specmill_runtime::protocol::RequestContext;
use specmill_runtime::store::{NewScalar, Store};

use super::blocking;
use crate::generated::sagemaker::types::{BatchPutMetricsRequest, BatchPutMetricsResponse};
use crate::generated::sagemaker::SageMakerMetricsService;

pub const SOURCE: &str = "sagemaker";

pub struct SageMakerMetrics {
    store: Store,
}

impl SageMakerMetrics {
    pub fn new(store: Store) -> Self {
        SageMakerMetrics { store }
    }
}

impl SageMakerMetricsService for SageMakerMetrics {
    /// Stores every point in one transaction. A point's identity is (metric, step,
    /// timestamp): re-sending it overwrites instead of duplicating.
    async fn batch_put_metrics(&self, ctx: &RequestContext, request: BatchPutMetricsRequest) -> Result<BatchPutMetricsResponse, Error> {
        let points: Vec<NewScalar> = request
            .metric_data
            .iter()
            .map(|m| {
                let ts_us = m.timestamp.as_micros();
                let step = m.step.map(i64::from);
                NewScalar {
                    metric: m.metric_name.clone(),
                    variant: String::new(),
                    step,
                    ts_us,
                    value: m.value.0,
                    source: SOURCE.into(),
                    point_key: format!("{SOURCE}|{}|{}|{ts_us}", m.metric_name, step.map(|s| s.to_string()).unwrap_or_default()),
                    extra: None,
                }
            })
            .collect();
        let store = self.store.clone();
        let tenant = ctx.tenant.clone();
        let name = request.trial_component_name.clone();
        blocking(move || {
            let run = store.ensure_run(&tenant, &name, SOURCE)?;
            store.put_scalars(run.id, &points)
        })
        .await
        .map_err(Error::internal)?;
        Ok(BatchPutMetricsResponse { errors: None })
    }
}
