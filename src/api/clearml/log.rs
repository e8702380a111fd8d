//! `get_task_log` in its three versions: 1.5 and 1.7 scroll, 2.9 pages by timestamp.

use serde_json::{Map, Value};
use specmill_runtime::protocol::clearml::Error;
use specmill_runtime::protocol::RequestContext;
use specmill_runtime::store::{TimelineCursor, TimelineQuery};

use super::render::event_json;
use super::scroll::ScrollState;
use super::{batch_size, ClearmlEvents};
use crate::api::blocking;
use crate::generated::clearml::types::*;

/// At most this many same-timestamp events complete a 2.9 page.
const MAX_BOUNDARY_EVENTS: i64 = 10_000;

fn log_types() -> Option<Vec<String>> {
    Some(vec!["log".to_string()])
}

impl ClearmlEvents {
    /// Version 1.5: a scroll over the log, newest first unless `order` is `asc` (the
    /// server's default, which the schema's text contradicts).
    pub(super) async fn task_log_v1_5(&self, ctx: &RequestContext, request: GetTaskLogV1_5Request) -> Result<GetTaskLogV1_5Response, Error> {
        let descending = !matches!(request.order, Some(GetTaskLogV1_5RequestOrder::Asc));
        let start = ScrollState::new(log_types(), descending, batch_size(request.batch_size)?);
        let page = self.scroll(ctx, &request.task, start, request.scroll_id.as_deref()).await?;
        Ok(GetTaskLogV1_5Response {
            returned: Some(page.events.len() as i64),
            events: Some(page.events),
            total: Some(page.total),
            scroll_id: Some(page.scroll_id),
            extra: Map::new(),
        })
    }

    /// Version 1.7: scrolls from the `head` (oldest first) or the `tail` (newest first); each
    /// page is reversed when `order` (default desc) differs from the scroll direction.
    pub(super) async fn task_log_v1_7(&self, ctx: &RequestContext, request: GetTaskLogV1_7Request) -> Result<GetTaskLogV1_7Response, Error> {
        let from_tail = matches!(request.from, Some(GetTaskLogV1_7RequestFrom::Tail));
        let want_desc = !matches!(request.order, Some(GetTaskLogV1_7RequestOrder::Asc));
        let start = ScrollState::new(log_types(), from_tail, batch_size(request.batch_size)?);
        let mut page = self.scroll(ctx, &request.task, start, request.scroll_id.as_deref()).await?;
        if want_desc != from_tail {
            page.events.reverse();
        }
        Ok(GetTaskLogV1_7Response {
            returned: Some(page.events.len() as i64),
            events: Some(page.events),
            total: Some(page.total as f64),
            scroll_id: Some(page.scroll_id),
            extra: Map::new(),
        })
    }

    /// Version 2.9: no scroll; pages by `from_timestamp` (ms, exclusive), earlier by default.
    /// A page ends with every event that shares its last event's timestamp, so it may hold
    /// more than `batch_size` events.
    pub(super) async fn task_log_v2_9(&self, ctx: &RequestContext, request: GetTaskLogV2_9Request) -> Result<GetTaskLogV2_9Response, Error> {
        let run_id = self.run_id(ctx, &request.task).await?;
        let earlier = request.navigate_earlier.unwrap_or(true);
        let limit = batch_size(request.batch_size)?;
        let after = request.from_timestamp.filter(|t| *t != 0.0).map(|t| {
            let ts_us = (t * 1000.0).round() as i64;
            if earlier {
                TimelineCursor { ts_us, kind: 0, id: i64::MIN }
            } else {
                TimelineCursor { ts_us, kind: u8::MAX, id: i64::MAX }
            }
        });
        let store = self.store.clone();
        let (items, total) = blocking(move || {
            let mut items = store.timeline(&TimelineQuery { run_id, types: log_types(), descending: earlier, after, limit })?;
            // As clearml-server does, complete the page with the other events that share the
            // last event's timestamp, so the next page (from that timestamp) skips none.
            if let Some(last) = items.last().map(|i| i.cursor()) {
                let more = store.timeline(&TimelineQuery {
                    run_id,
                    types: log_types(),
                    descending: earlier,
                    after: Some(last),
                    limit: MAX_BOUNDARY_EVENTS,
                })?;
                items.extend(more.into_iter().take_while(|i| i.ts_us() == last.ts_us));
            }
            Ok((items, store.count_timeline(run_id, log_types().as_deref())?))
        })
        .await
        .map_err(Error::from)?;
        let mut events: Vec<Map<String, Value>> = items.iter().map(|i| event_json(&request.task, i)).collect();
        let want_desc = !matches!(request.order, Some(GetTaskLogV2_9RequestOrder::Asc));
        if want_desc != earlier {
            events.reverse();
        }
        Ok(GetTaskLogV2_9Response { returned: Some(events.len() as i64), events: Some(events), total: Some(total as f64), extra: Map::new() })
    }
}
