//! A fingerprint of everything the store holds: every table loaded through diesel's typed
//! DSL in key order and hashed. Two equal fingerprints mean equal contents; the contract
//! tests compare one taken before and one after a refused request.

use diesel::prelude::*;
use sha2::{Digest, Sha256};

use super::connection::{AnyConnection, Store};
use super::model::StoreError;
use super::schema::{assets, events, experiment_jobs, experiments, run_meta, run_sources, runs, scalars, settings};

/// The contents of the store as a hash, with the number of rows of each table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// SHA-256 over every row of every table, hex.
    pub digest: String,
    /// `(table, rows)` in a fixed order.
    pub rows: Vec<(&'static str, usize)>,
}

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let counts: Vec<String> = self.rows.iter().map(|(t, n)| format!("{t}={n}")).collect();
        write!(f, "{} ({})", &self.digest[..16.min(self.digest.len())], counts.join(" "))
    }
}

/// Hashes the rows of one table (each row's `Debug` form, which is exact for every column
/// type the schema uses, floats included) and records how many there were.
fn table<T: std::fmt::Debug>(h: &mut Sha256, rows_out: &mut Vec<(&'static str, usize)>, name: &'static str, rows: Vec<T>) {
    h.update(name.as_bytes());
    h.update([0]);
    for row in &rows {
        h.update(format!("{row:?}").as_bytes());
        h.update([0]);
    }
    rows_out.push((name, rows.len()));
}

type ScalarRow = (i64, i64, String, String, Option<i64>, i64, f64, i16, String, String, Option<String>);
type EventRow = (i64, i64, String, String, String, Option<i64>, i64, Option<String>, String);
type JobRow = (i64, i64, Option<String>, String, Option<String>, Option<i64>, Option<i64>, Option<i64>, Option<String>, i64, i64);
/// Assets in two halves (tuples of more than twelve do not implement `Debug`).
type AssetRow = ((i64, i64, String, String, String, Option<i64>), (Option<i64>, Option<String>, Option<String>, String, i64, i64, Vec<u8>));

fn compute(conn: &mut AnyConnection) -> QueryResult<Fingerprint> {
    let mut h = Sha256::new();
    let mut rows = Vec::new();
    let r: Vec<(i64, String, String, String, String, i64, i64)> = runs::table.order(runs::id).load(conn)?;
    table(&mut h, &mut rows, "runs", r);
    let r: Vec<ScalarRow> = scalars::table.order(scalars::id).load(conn)?;
    table(&mut h, &mut rows, "scalars", r);
    let r: Vec<EventRow> = events::table.order(events::id).load(conn)?;
    table(&mut h, &mut rows, "events", r);
    let r: Vec<(i64, String, String, String, i64)> =
        run_meta::table.order((run_meta::run_id, run_meta::kind, run_meta::key)).load(conn)?;
    table(&mut h, &mut rows, "run_meta", r);
    let r: Vec<(String, String)> = settings::table.order(settings::key).load(conn)?;
    table(&mut h, &mut rows, "settings", r);
    let r: Vec<(i64, String, i64, String, Option<String>, i64, i64)> = experiments::table.order(experiments::id).load(conn)?;
    table(&mut h, &mut rows, "experiments", r);
    let r: Vec<JobRow> = experiment_jobs::table.order(experiment_jobs::run_id).load(conn)?;
    table(&mut h, &mut rows, "experiment_jobs", r);
    let r: Vec<AssetRow> = assets::table
        .order(assets::id)
        .select((
            (assets::id, assets::run_id, assets::asset_id, assets::file_name, assets::asset_type, assets::step),
            (assets::epoch, assets::context, assets::metadata, assets::source, assets::file_size, assets::created_us, assets::content),
        ))
        .load(conn)?;
    table(&mut h, &mut rows, "assets", r);
    let r: Vec<(i64, String)> = run_sources::table.order((run_sources::run_id, run_sources::source)).load(conn)?;
    table(&mut h, &mut rows, "run_sources", r);
    let digest = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(Fingerprint { digest, rows })
}

impl Store {
    /// A fingerprint of the whole store, read in one transaction (one consistent snapshot).
    pub fn fingerprint(&self) -> Result<Fingerprint, StoreError> {
        let mut conn = self.conn()?;
        Ok(diesel::Connection::transaction(&mut *conn, |c| compute(c))?)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::testdb;

    #[test]
    fn a_write_changes_the_fingerprint_and_a_read_does_not() {
        let store = crate::store::Store::open(&testdb::fresh_sqlite_path().display().to_string()).unwrap();
        let empty = store.fingerprint().unwrap();
        assert_eq!(empty, store.fingerprint().unwrap());
        assert!(empty.rows.iter().all(|(_, n)| *n == 0), "{empty}");
        store.ensure_run("default", "t1", "test").unwrap();
        let one = store.fingerprint().unwrap();
        assert_ne!(empty.digest, one.digest);
        assert_eq!(one.rows[0], ("runs", 1));
        store.run_by_uid("default", "t1").unwrap();
        assert_eq!(one, store.fingerprint().unwrap());
    }
}
