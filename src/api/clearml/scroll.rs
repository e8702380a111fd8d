//! Scrolls over a task's timeline. A scroll id is a sealed token carrying the whole query
//! and position, so any replica continues it; an exhausted scroll answers `"FFFF"`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use specmill_runtime::protocol::clearml::Error;
use specmill_runtime::protocol::RequestContext;
use specmill_runtime::store::{TimelineCursor, TimelineQuery};

use super::render::event_json;
use super::{batch_size, ClearmlEvents};
use crate::api::blocking;
use crate::generated::clearml::types::{GetTaskEventsV2_1Request, GetTaskEventsV2_1RequestOrder, GetTaskEventsV2_1Response};

/// The scroll id ClearML returns once a scroll is exhausted.
pub const SCROLL_END: &str = "FFFF";
const TOKEN_KIND: &str = "clearml.scroll";

pub struct Page {
    pub events: Vec<Map<String, Value>>,
    pub total: i64,
    pub scroll_id: String,
}

/// Where a scroll is: the query it runs and the last item it returned.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScrollState {
    pub run: i64,
    pub types: Option<Vec<String>>,
    pub descending: bool,
    pub after: Option<TimelineCursor>,
    pub batch: i64,
}

impl ScrollState {
    pub fn new(types: Option<Vec<String>>, descending: bool, batch: i64) -> ScrollState {
        ScrollState { run: 0, types, descending, after: None, batch }
    }
}

impl ClearmlEvents {
    /// One page of a scroll over `task`'s timeline: from `start`, or from where `scroll_id`
    /// left off (its query wins over `start`, as in clearml-server).
    pub(super) async fn scroll(&self, ctx: &RequestContext, task: &str, start: ScrollState, scroll_id: Option<&str>) -> Result<Page, Error> {
        let run_id = self.run_id(ctx, task).await?;
        let state = match scroll_id.filter(|s| !s.is_empty()) {
            Some(SCROLL_END) => return Ok(Page { events: Vec::new(), total: 0, scroll_id: SCROLL_END.into() }),
            Some(id) => self
                .tokens
                .open::<ScrollState>(TOKEN_KIND, &ctx.tenant, id)
                .filter(|s| s.run == run_id && s.batch > 0)
                .ok_or_else(|| Error::invalid_scroll_id(id))?,
            None => ScrollState { run: run_id, ..start },
        };
        let store = self.store.clone();
        let (types, descending, after, limit) = (state.types.clone(), state.descending, state.after, state.batch);
        let (items, total) = blocking(move || {
            let items = store.timeline(&TimelineQuery { run_id, types: types.clone(), descending, after, limit })?;
            let total = store.count_timeline(run_id, types.as_deref())?;
            Ok((items, total))
        })
        .await
        .map_err(Error::from)?;
        let scroll_id = match items.last() {
            Some(last) => self.tokens.seal(TOKEN_KIND, &ctx.tenant, &ScrollState { after: Some(last.cursor()), ..state }),
            None => SCROLL_END.into(),
        };
        Ok(Page { events: items.iter().map(|i| event_json(task, i)).collect(), total, scroll_id })
    }

    /// Every event of a task (or of one type), by timestamp, in scroll pages.
    pub(super) async fn task_events(&self, ctx: &RequestContext, request: GetTaskEventsV2_1Request) -> Result<GetTaskEventsV2_1Response, Error> {
        let types = match request.event_type.as_deref() {
            None | Some("") => None,
            // The spec types `event_type` as a string: one that is no event type matches nothing.
            Some(t) => Some(vec![t.to_string()]),
        };
        let descending = matches!(request.order, Some(GetTaskEventsV2_1RequestOrder::Desc));
        let start = ScrollState::new(types, descending, batch_size(request.batch_size)?);
        let page = self.scroll(ctx, &request.task, start, request.scroll_id.as_deref()).await?;
        Ok(GetTaskEventsV2_1Response {
            returned: Some(page.events.len() as i64),
            events: Some(page.events),
            total: Some(page.total as f64),
            scroll_id: Some(page.scroll_id),
            extra: Map::new(),
        })
    }
}
