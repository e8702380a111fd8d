//! `delete_for_task`: every scalar point and event of a task goes; the task (run) stays.

use serde_json::{json, Map};
use specmill_runtime::protocol::clearml::Error;
use specmill_runtime::protocol::RequestContext;

use super::ClearmlEvents;
use crate::api::blocking;
use crate::generated::clearml::types::*;

impl ClearmlEvents {
    /// Deletes the task's scalars and events. `deleted` is typed as the schema types it (a
    /// boolean: true when anything was deleted); the count clearml-server sends in its
    /// place travels as `deleted_count`. An unknown task is 400/101 with clearml-server's
    /// message (`(or task published)` unless `allow_locked`; tasks are never locked here).
    pub(super) async fn delete_for_task(
        &self,
        ctx: &RequestContext,
        request: DeleteForTaskV2_1Request,
    ) -> Result<DeleteForTaskV2_1Response, Error> {
        let found = self.find_runs(ctx, std::slice::from_ref(&request.task)).await?;
        let Some(run) = found.into_iter().flatten().next() else {
            let extra = if request.allow_locked { "" } else { " (or task published)" };
            return Err(Error::new(400, 101, format!("Invalid task id{extra}: company={}, id={}", ctx.tenant, request.task)));
        };
        let store = self.store.clone();
        let deleted = blocking(move || store.delete_run_data(run.id)).await.map_err(Error::from)?;
        let mut extra = Map::new();
        extra.insert("deleted_count".into(), json!(deleted));
        Ok(DeleteForTaskV2_1Response { deleted: Some(deleted > 0), extra })
    }
}
