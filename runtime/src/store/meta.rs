//! Run metadata (`run_meta`): facts about a run grouped by kind (parameters, tags, "others",
//! system details, git metadata, …), one value per (run, kind, key); value summaries (the
//! current, lowest and highest value logged under a key); runs found by their metadata.

use std::cmp::Ordering;

use diesel::prelude::*;
use diesel::upsert::excluded;

use super::connection::{AnyConnection, Store};
use super::model::{Run, StoreError};
use super::now_us;
use super::schema::{run_meta, runs};

/// One stored fact.
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = run_meta)]
pub struct MetaEntry {
    pub run_id: i64,
    pub kind: String,
    pub key: String,
    pub value: String,
    /// When it was last written (epoch µs, server time).
    pub ts_us: i64,
}

/// A `run_meta` row to write, owned (built in the caller's thread).
#[derive(Insertable)]
#[diesel(table_name = run_meta, treat_none_as_default_value = false)]
struct NewMetaRow {
    run_id: i64,
    kind: String,
    key: String,
    value: String,
    ts_us: i64,
}

/// Sets each row's `(run, kind, key)` to its value and time, inside the caller's write
/// transaction (the one upsert of `run_meta`).
fn upsert_meta(conn: &mut AnyConnection, rows: &[NewMetaRow]) -> Result<(), StoreError> {
    for chunk in rows.chunks(super::INSERT_CHUNK) {
        with_conn!(&mut *conn, |c| diesel::insert_into(run_meta::table)
            .values(chunk)
            .on_conflict((run_meta::run_id, run_meta::kind, run_meta::key))
            .do_update()
            .set((
                run_meta::value.eq(excluded(run_meta::value)),
                run_meta::ts_us.eq(excluded(run_meta::ts_us)),
            ))
            .execute(c))?;
    }
    Ok(())
}

/// The values logged under one key: the current (last written) one and the lowest and
/// highest, each with the timestamp (ms, as the caller gave it) and step it came with.
/// Kept as JSON in `run_meta.value`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValueSummary {
    pub value_current: String,
    pub value_min: String,
    pub value_max: String,
    pub timestamp_current: i64,
    pub timestamp_min: i64,
    pub timestamp_max: i64,
    pub step_current: Option<i64>,
    pub step_min: Option<i64>,
    pub step_max: Option<i64>,
}

/// Order of logged values: numerically when both read as finite numbers, else as text.
pub fn compare_values(a: &str, b: &str) -> Ordering {
    match (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
        (Ok(x), Ok(y)) if x.is_finite() && y.is_finite() => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => a.cmp(b),
    }
}

impl ValueSummary {
    pub fn first(value: &str, ts_ms: i64, step: Option<i64>) -> ValueSummary {
        ValueSummary {
            value_current: value.to_string(),
            value_min: value.to_string(),
            value_max: value.to_string(),
            timestamp_current: ts_ms,
            timestamp_min: ts_ms,
            timestamp_max: ts_ms,
            step_current: step,
            step_min: step,
            step_max: step,
        }
    }

    /// Log `value` again: it becomes current, and the lowest or highest when it is.
    pub fn observe(&mut self, value: &str, ts_ms: i64, step: Option<i64>) {
        if compare_values(value, &self.value_min) == Ordering::Less {
            (self.value_min, self.timestamp_min, self.step_min) = (value.to_string(), ts_ms, step);
        }
        if compare_values(value, &self.value_max) == Ordering::Greater {
            (self.value_max, self.timestamp_max, self.step_max) = (value.to_string(), ts_ms, step);
        }
        (self.value_current, self.timestamp_current, self.step_current) = (value.to_string(), ts_ms, step);
    }
}

impl Store {
    /// Sets `(kind, key) = value` for each entry (of repeated keys the last wins), in one
    /// transaction; bumps the run's `updated_us`.
    pub fn put_meta(&self, run_id: i64, kind: &str, entries: &[(String, String)]) -> Result<(), StoreError> {
        let now = now_us();
        let keep = super::last_occurrence_mask(entries.iter().map(|(k, _)| Some(k.as_str())));
        let rows: Vec<NewMetaRow> = entries
            .iter()
            .zip(keep)
            .filter(|(_, keep)| *keep)
            .map(|((key, value), _)| NewMetaRow {
                run_id,
                kind: kind.to_string(),
                key: key.clone(),
                value: value.clone(),
                ts_us: now,
            })
            .collect();
        self.write(rows.len(), move |tx| {
            upsert_meta(tx.conn, &rows)?;
            tx.touch(run_id);
            Ok(())
        })
    }

    /// Adds the keys of `kind` that are not stored yet (with an empty value); stored keys keep
    /// their value and time. For sets such as tags: new keys get increasing times in the given
    /// order, so [`Store::meta`] lists them in the order they were first added.
    pub fn add_meta_keys(&self, run_id: i64, kind: &str, keys: &[String]) -> Result<(), StoreError> {
        let now = now_us();
        let mut seen = std::collections::HashSet::new();
        let rows: Vec<NewMetaRow> = keys
            .iter()
            .filter(|key| seen.insert(key.as_str()))
            .enumerate()
            .map(|(i, key)| NewMetaRow {
                run_id,
                kind: kind.to_string(),
                key: key.clone(),
                value: String::new(),
                ts_us: now + i as i64,
            })
            .collect();
        self.write(rows.len(), move |tx| {
            for chunk in rows.chunks(super::INSERT_CHUNK) {
                with_conn!(&mut *tx.conn, |c| diesel::insert_into(run_meta::table)
                    .values(chunk)
                    .on_conflict((run_meta::run_id, run_meta::kind, run_meta::key))
                    .do_nothing()
                    .execute(c))?;
            }
            tx.touch(run_id);
            Ok(())
        })
    }

    /// Replaces the value of `(kind, key)` by `update(current value)`, read and written in one
    /// write transaction (concurrent updates of the same key serialise). Returns the new value.
    /// `update` may be called again when the write is retried, with the value then stored.
    pub fn update_meta(
        &self,
        run_id: i64,
        kind: &str,
        key: &str,
        update: impl Fn(Option<&str>) -> Result<String, StoreError> + Send + 'static,
    ) -> Result<String, StoreError> {
        let now = now_us();
        let (kind, key) = (kind.to_string(), key.to_string());
        self.write(1, move |tx| {
            let current: Option<String> = run_meta::table
                .filter(run_meta::run_id.eq(run_id))
                .filter(run_meta::kind.eq(&kind))
                .filter(run_meta::key.eq(&key))
                .select(run_meta::value)
                .first(tx.conn)
                .optional()?;
            let value = update(current.as_deref())?;
            upsert_meta(tx.conn, &[NewMetaRow { run_id, kind: kind.clone(), key: key.clone(), value: value.clone(), ts_us: now }])?;
            tx.touch(run_id);
            Ok(value)
        })
    }

    /// Records `value` logged at `ts_ms`/`step` in the [`ValueSummary`] of `(kind, key)`.
    pub fn observe_value(
        &self,
        run_id: i64,
        kind: &str,
        key: &str,
        value: &str,
        ts_ms: i64,
        step: Option<i64>,
    ) -> Result<ValueSummary, StoreError> {
        let value = value.to_string();
        let text = self.update_meta(run_id, kind, key, move |current| {
            let summary = match current.and_then(|c| serde_json::from_str::<ValueSummary>(c).ok()) {
                Some(mut s) => {
                    s.observe(&value, ts_ms, step);
                    s
                }
                None => ValueSummary::first(&value, ts_ms, step),
            };
            serde_json::to_string(&summary).map_err(|e| StoreError::Query(diesel::result::Error::SerializationError(Box::new(e))))
        })?;
        serde_json::from_str(&text).map_err(|e| StoreError::Query(diesel::result::Error::DeserializationError(Box::new(e))))
    }

    /// The value summaries of `kind`, by key (bytewise). Entries that are not summaries are
    /// left out.
    pub fn value_summaries(&self, run_id: i64, kind: &str) -> Result<Vec<(String, ValueSummary)>, StoreError> {
        let mut out: Vec<(String, ValueSummary)> = self
            .meta(run_id, kind)?
            .into_iter()
            .filter_map(|e| serde_json::from_str(&e.value).ok().map(|s| (e.key, s)))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// The entries of `kind`, oldest write first (then by key).
    pub fn meta(&self, run_id: i64, kind: &str) -> Result<Vec<MetaEntry>, StoreError> {
        Ok(run_meta::table
            .filter(run_meta::run_id.eq(run_id))
            .filter(run_meta::kind.eq(kind))
            .order((run_meta::ts_us.asc(), run_meta::key.asc()))
            .select(MetaEntry::as_select())
            .load(&mut *self.conn()?)?)
    }

    /// The value of `(kind, key)`.
    pub fn meta_value(&self, run_id: i64, kind: &str, key: &str) -> Result<Option<String>, StoreError> {
        Ok(run_meta::table
            .filter(run_meta::run_id.eq(run_id))
            .filter(run_meta::kind.eq(kind))
            .filter(run_meta::key.eq(key))
            .select(run_meta::value)
            .first(&mut *self.conn()?)
            .optional()?)
    }

    /// The runs of `tenant` whose `(kind, key)` is `value`, oldest first.
    pub fn runs_with_meta(&self, tenant: &str, kind: &str, key: &str, value: &str) -> Result<Vec<Run>, StoreError> {
        Ok(runs::table
            .inner_join(run_meta::table)
            .filter(runs::tenant.eq(tenant))
            .filter(run_meta::kind.eq(kind))
            .filter(run_meta::key.eq(key))
            .filter(run_meta::value.eq(value))
            .order(runs::id.asc())
            .select(Run::as_select())
            .load(&mut *self.conn()?)?)
    }

    /// The distinct values of `(kind, key)` over the runs of `tenant`, sorted (bytewise).
    pub fn meta_values(&self, tenant: &str, kind: &str, key: &str) -> Result<Vec<String>, StoreError> {
        Ok(runs::table
            .inner_join(run_meta::table)
            .filter(runs::tenant.eq(tenant))
            .filter(run_meta::kind.eq(kind))
            .filter(run_meta::key.eq(key))
            .select(run_meta::value)
            .distinct()
            .order(run_meta::value.asc())
            .load(&mut *self.conn()?)?)
    }

    /// Renames a run; bumps its `updated_us`.
    pub fn set_run_name(&self, run_id: i64, name: &str) -> Result<(), StoreError> {
        let name = name.to_string();
        self.write(1, move |tx| {
            diesel::update(runs::table.find(run_id)).set(runs::name.eq(&name)).execute(tx.conn)?;
            tx.touch(run_id);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_compare_as_numbers_when_both_are() {
        assert_eq!(compare_values("9", "10"), Ordering::Less);
        assert_eq!(compare_values("1e3", "999"), Ordering::Greater);
        assert_eq!(compare_values("b", "a"), Ordering::Greater);
        assert_eq!(compare_values("9", "a"), Ordering::Less);
        assert_eq!(compare_values("NaN", "1"), "NaN".cmp("1"));
    }

    #[test]
    fn summaries_track_current_lowest_and_highest() {
        let mut s = ValueSummary::first("32", 1000, Some(0));
        s.observe("64", 2000, Some(5));
        s.observe("16", 3000, None);
        assert_eq!((s.value_current.as_str(), s.timestamp_current, s.step_current), ("16", 3000, None));
        assert_eq!((s.value_min.as_str(), s.timestamp_min, s.step_min), ("16", 3000, None));
        assert_eq!((s.value_max.as_str(), s.timestamp_max, s.step_max), ("64", 2000, Some(5)));
        let text = serde_json::to_string(&s).unwrap();
        assert!(text.contains("\"valueCurrent\":\"16\""), "{text}");
        assert_eq!(serde_json::from_str::<ValueSummary>(&text).unwrap(), s);
    }
}
