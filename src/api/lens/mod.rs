//! Lens over the store: a workload is a run (its uid is the run's uid); a point's
//! `data_source` is the API that wrote it (`clearml`, `sagemaker`, `dioptra`, `comet`, or
//! `wandb` for the W&B routes).
//!
//! - `read`: the four training-performance reads (legacy, unwrapped bodies);
//! - `wandb`: the W&B exporter's ingest routes of the Lens telemetry-processor.

mod read;
mod wandb;

use specmill_runtime::protocol::lens::Error;
use specmill_runtime::protocol::{RequestContext, Streamed};
use specmill_runtime::store::Store;

use crate::generated::lens::types::{
    AvailableMetricsResponse, DataSourcesResponse, GetWorkloadAvailableMetricsRequest, GetWorkloadIterationTimesRequest,
    GetWorkloadMetricsDataRequest, GetWorkloadMetricsSourcesRequest, MetricsDataResponse, WandBBatchRequest, WandBBatchResponse,
    WandBIngestResponse, WandBLogsRequest, WandBMetricsRequest,
};
use crate::generated::lens::LensService;

pub use read::{is_metric_key, metric_filter};

/// The data source of points the W&B routes write (as Lens names it).
pub const WANDB_SOURCE: &str = "wandb";

/// How the runs the W&B routes create are marked (`runs.created_by`).
pub const CREATED_BY: &str = "lens";

pub struct Lens {
    store: Store,
}

impl Lens {
    pub fn new(store: Store) -> Self {
        Lens { store }
    }
}

impl LensService for Lens {
    async fn get_workload_metrics_sources(
        &self,
        ctx: &RequestContext,
        request: GetWorkloadMetricsSourcesRequest,
    ) -> Result<DataSourcesResponse, Error> {
        read::sources(self, ctx, request).await
    }

    async fn get_workload_available_metrics(
        &self,
        ctx: &RequestContext,
        request: GetWorkloadAvailableMetricsRequest,
    ) -> Result<AvailableMetricsResponse, Error> {
        read::available(self, ctx, request).await
    }

    /// Points of the workload, oldest first. `start`/`end` (ms, inclusive) filter only when
    /// both are given, as Lens does. Non-finite values are left out.
    async fn get_workload_metrics_data(
        &self,
        ctx: &RequestContext,
        request: GetWorkloadMetricsDataRequest,
    ) -> Result<Streamed<MetricsDataResponse>, Error> {
        read::data(self, ctx, request).await
    }

    async fn get_workload_iteration_times(
        &self,
        ctx: &RequestContext,
        request: GetWorkloadIterationTimesRequest,
    ) -> Result<MetricsDataResponse, Error> {
        read::iteration_times(self, ctx, request).await
    }

    async fn post_wandb_metrics(&self, ctx: &RequestContext, request: WandBMetricsRequest) -> Result<WandBIngestResponse, Error> {
        wandb::metrics(self, ctx, request).await
    }

    async fn post_wandb_logs(&self, ctx: &RequestContext, request: WandBLogsRequest) -> Result<WandBIngestResponse, Error> {
        wandb::logs(self, ctx, request).await
    }

    async fn post_wandb_batch(&self, ctx: &RequestContext, request: WandBBatchRequest) -> Result<WandBBatchResponse, Error> {
        wandb::batch(self, ctx, request).await
    }
}
