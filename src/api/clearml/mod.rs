//! The ClearML events service over the store: a task is a run (the task id is the run's
//! uid, created by the first event written to it); scalar events are scalar points, the
//! other event types are events with their JSON kept.
//!
//! `mod.rs` holds the trait implementation, one line per endpoint version; the work is in
//! the modules named after what they serve.

mod log;
mod render;
mod scalars;
mod scroll;
mod write;

pub use scalars::{group_intervals, histogram};
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
        let run = blocking(move || store.run_by_uid(&tenant, &uid)).await.map_err(Error::internal)?;
        run.map(|r| r.id).ok_or_else(|| Error::invalid_task_id(task))
    }
}

/// A page size: default 500, at most 10 000.
fn batch_size(requested: Option<i64>) -> Result<i64, Error> {
    match requested {
        None => Ok(500),
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
}
