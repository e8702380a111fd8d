//! Vector reads: `vector_metrics_iter_histogram`, the vectors of one metric/variant by
//! iteration.

use serde_json::{json, Map, Value};
use specmill_runtime::protocol::clearml::Error;
use specmill_runtime::protocol::RequestContext;
use specmill_runtime::store::queries::IterQuery;

use super::ClearmlEvents;
use crate::api::blocking;
use crate::generated::clearml::types::*;

pub(super) const VECTOR_EVENT_TYPE: &str = "training_stats_vector";
/// clearml-server returns at most this many vectors.
const MAX_VECTORS: i64 = 10_000;

impl ClearmlEvents {
    /// `{metric, variant, vectors: [[…], …], iterations: […]}`: the `value` arrays of the
    /// task's vector events of that metric and variant, lowest iteration first, at most
    /// 10 000. The schema's `images` member is not what clearml-server sends; the reply's
    /// members travel as undeclared ones.
    pub(super) async fn vector_histogram(
        &self,
        ctx: &RequestContext,
        request: VectorMetricsIterHistogramV2_1Request,
    ) -> Result<VectorMetricsIterHistogramV2_1Response, Error> {
        let run_id = self.run_id(ctx, &request.task).await?;
        let store = self.store.clone();
        let query = IterQuery {
            metric: Some(request.metric.clone()),
            variant: Some(request.variant.clone()),
            limit: MAX_VECTORS,
            ..IterQuery::new(vec![run_id], VECTOR_EVENT_TYPE)
        };
        let rows = blocking(move || store.events_by_iter(&query)).await.map_err(Error::from)?;
        let (mut vectors, mut iterations) = (Vec::with_capacity(rows.len()), Vec::with_capacity(rows.len()));
        for e in rows {
            vectors.push(e.payload.get("value").cloned().unwrap_or(Value::Null));
            iterations.push(json!(e.iter));
        }
        let mut extra = Map::new();
        extra.insert("metric".into(), json!(request.metric));
        extra.insert("variant".into(), json!(request.variant));
        extra.insert("vectors".into(), Value::Array(vectors));
        extra.insert("iterations".into(), Value::Array(iterations));
        Ok(VectorMetricsIterHistogramV2_1Response { images: None, extra })
    }
}
