//! Non-scalar events (vector, image, plot, log, ...) and the merged run timeline.

use diesel::prelude::*;
use diesel::upsert::excluded;

use super::connection::{AnyConnection, Store};
use super::model::{
    Event, NewEvent, Scalar, StoreError, TimelineCursor, TimelineItem, TimelineQuery,
    CURSOR_KIND_EVENT, SCALAR_EVENT_TYPE,
};
use super::scalars::{count_scalars, timeline_scalars, Keyset};
use super::schema::events;
use super::{json_from_text, json_to_text, last_occurrence_mask, INSERT_CHUNK};

/// An `events` row as stored (shared by the event queries of this module and `queries.rs`).
#[derive(Queryable, Selectable, QueryableByName)]
#[diesel(table_name = events)]
pub(super) struct EventRow {
    id: i64,
    run_id: i64,
    event_type: String,
    metric: String,
    variant: String,
    iter: Option<i64>,
    ts_us: i64,
    point_key: Option<String>,
    payload: String,
}

impl EventRow {
    pub(super) fn into_event(self) -> Result<Event, StoreError> {
        Ok(Event {
            id: self.id,
            run_id: self.run_id,
            event_type: self.event_type,
            metric: self.metric,
            variant: self.variant,
            iter: self.iter,
            ts_us: self.ts_us,
            point_key: self.point_key,
            payload: json_from_text(&self.payload)?,
        })
    }
}

/// An event row to write, owned (built in the caller's thread).
#[derive(Insertable)]
#[diesel(table_name = events, treat_none_as_default_value = false)]
struct NewEventRow {
    run_id: i64,
    event_type: String,
    metric: String,
    variant: String,
    iter: Option<i64>,
    ts_us: i64,
    point_key: Option<String>,
    payload: String,
}

impl NewEventRow {
    fn new(run_id: i64, e: &NewEvent) -> Result<Self, StoreError> {
        Ok(NewEventRow {
            run_id,
            event_type: e.event_type.clone(),
            metric: e.metric.clone(),
            variant: e.variant.clone(),
            iter: e.iter,
            ts_us: e.ts_us,
            point_key: e.point_key.clone(),
            payload: json_to_text(&e.payload)?,
        })
    }
}

/// Splits a timeline type filter into (include scalars?, event types to read;
/// `None` = all event types, `Some(empty)` = no events).
fn split_types(types: Option<&[String]>) -> (bool, Option<Vec<&str>>) {
    match types {
        None => (true, None),
        Some(types) => {
            let scalars = types.iter().any(|t| t == SCALAR_EVENT_TYPE);
            let events = types
                .iter()
                .map(String::as_str)
                .filter(|t| *t != SCALAR_EVENT_TYPE)
                .collect();
            (scalars, Some(events))
        }
    }
}

fn timeline_events(
    conn: &mut AnyConnection,
    run_id: i64,
    types: Option<&[&str]>,
    after: Option<TimelineCursor>,
    descending: bool,
    limit: i64,
) -> Result<Vec<Event>, StoreError> {
    let mut query = events::table
        .filter(events::run_id.eq(run_id))
        .select(EventRow::as_select())
        .into_boxed();
    if let Some(types) = types {
        query = query.filter(events::event_type.eq_any(types));
    }
    query = match Keyset::new(after, CURSOR_KIND_EVENT, descending) {
        Keyset::All => query,
        Keyset::TsGt(t) => query.filter(events::ts_us.gt(t)),
        Keyset::TsGe(t) => query.filter(events::ts_us.ge(t)),
        Keyset::After(t, id) => query
            .filter(events::ts_us.ge(t))
            .filter(events::ts_us.gt(t).or(events::id.gt(id))),
        Keyset::TsLt(t) => query.filter(events::ts_us.lt(t)),
        Keyset::TsLe(t) => query.filter(events::ts_us.le(t)),
        Keyset::Before(t, id) => query
            .filter(events::ts_us.le(t))
            .filter(events::ts_us.lt(t).or(events::id.lt(id))),
    };
    query = if descending {
        query.order((events::ts_us.desc(), events::id.desc()))
    } else {
        query.order((events::ts_us.asc(), events::id.asc()))
    };
    query
        .limit(limit)
        .load::<EventRow>(conn)?
        .into_iter()
        .map(EventRow::into_event)
        .collect()
}

impl Store {
    /// Writes `events` to run `run_id` in one transaction, in the given order. An event
    /// with a `point_key` already stored for the run under the same event type
    /// overwrites that row (metric, variant, iter, ts_us, payload); of repeated keys
    /// within `events` the last wins. Events without a `point_key` are always inserted.
    /// Bumps the run's `updated_us`. Returns the number of rows inserted or overwritten.
    pub fn put_events(&self, run_id: i64, events: &[NewEvent]) -> Result<usize, StoreError> {
        if events.is_empty() {
            return Ok(0);
        }
        // dedupe on (event_type, point_key); the key joins both with a separator that
        // cannot occur in an event type
        let keys: Vec<Option<String>> = events
            .iter()
            .map(|e| {
                e.point_key
                    .as_ref()
                    .map(|k| format!("{}\u{0}{k}", e.event_type))
            })
            .collect();
        let keep = last_occurrence_mask(keys.iter().map(|k| k.as_deref()));
        let rows = events
            .iter()
            .zip(keep)
            .filter(|(_, keep)| *keep)
            .map(|(e, _)| NewEventRow::new(run_id, e))
            .collect::<Result<Vec<_>, _>>()?;
        self.write(rows.len(), move |tx| {
            let mut written = 0;
            // consecutive runs of keyed / unkeyed rows, so ids follow the input order
            for segment in rows.chunk_by(|a, b| a.point_key.is_some() == b.point_key.is_some()) {
                let keyed = segment[0].point_key.is_some();
                for chunk in segment.chunks(INSERT_CHUNK) {
                    written += with_conn!(&mut *tx.conn, |c| if keyed {
                        diesel::insert_into(events::table)
                            .values(chunk)
                            .on_conflict((events::run_id, events::event_type, events::point_key))
                            .do_update()
                            .set((
                                events::metric.eq(excluded(events::metric)),
                                events::variant.eq(excluded(events::variant)),
                                events::iter.eq(excluded(events::iter)),
                                events::ts_us.eq(excluded(events::ts_us)),
                                events::payload.eq(excluded(events::payload)),
                            ))
                            .execute(c)
                    } else {
                        diesel::insert_into(events::table).values(chunk).execute(c)
                    })?;
                }
            }
            tx.touch(run_id);
            Ok(written)
        })
    }

    /// One page of a run's timeline: its scalars (event type [`SCALAR_EVENT_TYPE`])
    /// and events merged in (ts_us, kind, id) order, ascending or exactly reversed,
    /// starting strictly after `q.after`. Reads at most `q.limit` rows per table.
    pub fn timeline(&self, q: &TimelineQuery) -> Result<Vec<TimelineItem>, StoreError> {
        if q.limit <= 0 {
            return Ok(Vec::new());
        }
        let (with_scalars, event_types) = split_types(q.types.as_deref());
        let mut conn = self.conn()?;
        let scalars = if with_scalars {
            timeline_scalars(&mut conn, q.run_id, q.after, q.descending, q.limit)?
        } else {
            Vec::new()
        };
        let events = match event_types.as_deref() {
            Some([]) => Vec::new(),
            types => timeline_events(&mut conn, q.run_id, types, q.after, q.descending, q.limit)?,
        };
        Ok(merge(scalars, events, q.descending, q.limit as usize))
    }

    /// Number of timeline items of a run (the `types` filter as in [`TimelineQuery`]).
    pub fn count_timeline(&self, run_id: i64, types: Option<&[String]>) -> Result<i64, StoreError> {
        let (with_scalars, event_types) = split_types(types);
        let mut conn = self.conn()?;
        let mut total = 0;
        if with_scalars {
            total += count_scalars(&mut conn, run_id)?;
        }
        let mut query = events::table
            .filter(events::run_id.eq(run_id))
            .count()
            .into_boxed();
        match event_types {
            Some(types) if types.is_empty() => return Ok(total),
            Some(types) => query = query.filter(events::event_type.eq_any(types)),
            None => {}
        }
        total += query.get_result::<i64>(&mut *conn)?;
        Ok(total)
    }
}

/// Merges two lists already in timeline order into the first `limit` items.
fn merge(
    scalars: Vec<Scalar>,
    events: Vec<Event>,
    descending: bool,
    limit: usize,
) -> Vec<TimelineItem> {
    let mut out = Vec::with_capacity(limit.min(scalars.len() + events.len()));
    let mut scalars = scalars.into_iter().map(TimelineItem::Scalar).peekable();
    let mut events = events.into_iter().map(TimelineItem::Event).peekable();
    while out.len() < limit {
        let take_scalar = match (scalars.peek(), events.peek()) {
            (Some(s), Some(e)) => {
                let (s, e) = (s.cursor().key(), e.cursor().key());
                if descending {
                    s > e
                } else {
                    s < e
                }
            }
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let next = if take_scalar {
            scalars.next()
        } else {
            events.next()
        };
        out.extend(next);
    }
    out
}
