//! The ClearML events service over the store: a task is a run (the task id is the run's
//! uid, created by the first event written to it); scalar events are scalar points, the
//! other event types are events with their JSON kept.
//!
//! `mod.rs` holds the trait implementation, one line per endpoint version; the work is in
//! the modules named after what they serve.

mod delete;
mod download;
mod images;
mod log;
mod metrics;
mod plots;
mod render;
mod scalars;
mod scroll;
mod vectors;
mod write;

pub use scalars::{group_intervals, histogram, SeriesStats};
use specmill_runtime::protocol::clearml::{Batch, Error};
use specmill_runtime::protocol::RequestContext;
use specmill_runtime::store::Store;
use specmill_runtime::token::Tokens;

use super::blocking;
use crate::generated::clearml::types::*;
use crate::generated::clearml::EventsService;

pub const SOURCE: &str = "clearml";
/// The event types ClearML knows.
pub const EVENT_TYPES: &[&str] = &["training_stats_scalar", "training_stats_vector", "training_debug_image", "plot", "log"];

pub struct ClearmlEvents {
    store: Store,
    tokens: Tokens,
}

impl ClearmlEvents {
    pub fn new(store: Store, tokens: Tokens) -> Self {
        ClearmlEvents { store, tokens }
    }

    /// The run of `task` in the caller's tenant; an unknown task is 400/101.
    async fn run_id(&self, ctx: &RequestContext, task: &str) -> Result<i64, Error> {
        let store = self.store.clone();
        let (tenant, uid) = (ctx.tenant.clone(), task.to_string());
        let run = blocking(move || store.run_by_uid(&tenant, &uid)).await.map_err(Error::from)?;
        run.map(|r| r.id).ok_or_else(|| Error::invalid_task_id(task))
    }
}

/// A page size: default 500 (also for 0, which the spec's plain integer allows), at most 10 000.
fn batch_size(requested: Option<i64>) -> Result<i64, Error> {
    match requested {
        None | Some(0) => Ok(500),
        Some(n) if (1..=10_000).contains(&n) => Ok(n),
        Some(n) => Err(Error::validation(format!("batch_size {n} is out of range 1..10000"))),
    }
}

impl EventsService for ClearmlEvents {
    async fn add_v2_1(&self, ctx: &RequestContext, request: AddV2_1Request) -> Result<AddV2_1Response, Error> {
        self.add(ctx, request).await
    }

    async fn add_batch_v2_1(&self, ctx: &RequestContext, request: Batch<AddV2_1Request>) -> Result<AddBatchV2_1Response, Error> {
        self.add_events(ctx, request.items).await
    }

    async fn get_task_events_v2_1(&self, ctx: &RequestContext, request: GetTaskEventsV2_1Request) -> Result<GetTaskEventsV2_1Response, Error> {
        self.task_events(ctx, request).await
    }

    async fn get_task_log_v1_5(&self, ctx: &RequestContext, request: GetTaskLogV1_5Request) -> Result<GetTaskLogV1_5Response, Error> {
        self.task_log_v1_5(ctx, request).await
    }

    async fn get_task_log_v1_7(&self, ctx: &RequestContext, request: GetTaskLogV1_7Request) -> Result<GetTaskLogV1_7Response, Error> {
        self.task_log_v1_7(ctx, request).await
    }

    async fn get_task_log_v2_9(&self, ctx: &RequestContext, request: GetTaskLogV2_9Request) -> Result<GetTaskLogV2_9Response, Error> {
        self.task_log_v2_9(ctx, request).await
    }

    async fn scalar_metrics_iter_histogram_v2_1(
        &self,
        ctx: &RequestContext,
        request: ScalarMetricsIterHistogramV2_1Request,
    ) -> Result<ScalarMetricsIterHistogramV2_1Response, Error> {
        self.scalar_histogram(ctx, request).await
    }

    async fn multi_task_scalar_metrics_iter_histogram_v2_1(
        &self,
        ctx: &RequestContext,
        request: MultiTaskScalarMetricsIterHistogramV2_1Request,
    ) -> Result<MultiTaskScalarMetricsIterHistogramV2_1Response, Error> {
        self.multi_task_histogram(ctx, request).await
    }

    async fn get_scalar_metric_data_v2_1(
        &self,
        ctx: &RequestContext,
        request: GetScalarMetricDataV2_1Request,
    ) -> Result<GetScalarMetricDataV2_1Response, Error> {
        self.scalar_metric_data(ctx, request).await
    }

    async fn get_task_latest_scalar_values_v2_1(
        &self,
        ctx: &RequestContext,
        request: GetTaskLatestScalarValuesV2_1Request,
    ) -> Result<GetTaskLatestScalarValuesV2_1Response, Error> {
        self.latest_scalar_values(ctx, request).await
    }

    async fn get_task_metrics_v2_7(
        &self,
        ctx: &RequestContext,
        request: GetTaskMetricsV2_7Request,
    ) -> Result<GetTaskMetricsV2_7Response, Error> {
        self.task_metrics(ctx, request).await
    }

    async fn get_scalar_metrics_and_variants_v2_1(
        &self,
        ctx: &RequestContext,
        request: GetScalarMetricsAndVariantsV2_1Request,
    ) -> Result<GetScalarMetricsAndVariantsV2_1Response, Error> {
        self.scalar_metrics_and_variants(ctx, request).await
    }

    async fn get_vector_metrics_and_variants_v2_1(
        &self,
        ctx: &RequestContext,
        request: GetVectorMetricsAndVariantsV2_1Request,
    ) -> Result<GetVectorMetricsAndVariantsV2_1Response, Error> {
        self.vector_metrics_and_variants(ctx, request).await
    }

    async fn vector_metrics_iter_histogram_v2_1(
        &self,
        ctx: &RequestContext,
        request: VectorMetricsIterHistogramV2_1Request,
    ) -> Result<VectorMetricsIterHistogramV2_1Response, Error> {
        self.vector_histogram(ctx, request).await
    }

    async fn get_task_plots_v2_1(&self, ctx: &RequestContext, request: GetTaskPlotsV2_1Request) -> Result<GetTaskPlotsV2_1Response, Error> {
        self.task_plots(ctx, request).await
    }

    async fn get_multi_task_plots_v2_1(
        &self,
        ctx: &RequestContext,
        request: GetMultiTaskPlotsV2_1Request,
    ) -> Result<GetMultiTaskPlotsV2_1Response, Error> {
        self.multi_task_plots(ctx, request).await
    }

    async fn debug_images_v2_1(&self, ctx: &RequestContext, request: DebugImagesV2_1Request) -> Result<DebugImagesV2_1Response, Error> {
        self.images_v2_1(ctx, request).await
    }

    async fn debug_images_v2_7(&self, ctx: &RequestContext, request: DebugImagesV2_7Request) -> Result<DebugImagesV2_7Response, Error> {
        self.images_v2_7(ctx, request).await
    }

    async fn get_debug_image_sample_v2_12(
        &self,
        ctx: &RequestContext,
        request: GetDebugImageSampleV2_12Request,
    ) -> Result<GetDebugImageSampleV2_12Response, Error> {
        self.debug_image_sample(ctx, request).await
    }

    async fn next_debug_image_sample_v2_12(
        &self,
        ctx: &RequestContext,
        request: NextDebugImageSampleV2_12Request,
    ) -> Result<NextDebugImageSampleV2_12Response, Error> {
        self.next_debug_image_sample(ctx, request).await
    }

    async fn delete_for_task_v2_1(
        &self,
        ctx: &RequestContext,
        request: DeleteForTaskV2_1Request,
    ) -> Result<DeleteForTaskV2_1Response, Error> {
        self.delete_for_task(ctx, request).await
    }

    async fn download_task_log_v2_1(
        &self,
        ctx: &RequestContext,
        request: DownloadTaskLogV2_1Request,
    ) -> Result<DownloadTaskLogV2_1Response, Error> {
        self.download_task_log(ctx, request).await
    }
}
