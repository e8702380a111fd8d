//! How much room the store takes: the database's size as the database reports it.

use diesel::sql_types::BigInt;
use diesel::RunQueryDsl;

use super::connection::{AnyConnection, Store};
use super::model::StoreError;

#[derive(diesel::QueryableByName)]
struct SizeRow {
    #[diesel(sql_type = BigInt)]
    bytes: i64,
}

/// PostgreSQL: every relation of the current database (tables, indexes, TOAST, free space).
const POSTGRES_SIZE_SQL: &str = "SELECT pg_database_size(current_database()) AS bytes";
/// SQLite: the pages of the main file, as if the WAL were checkpointed into it.
const SQLITE_SIZE_SQL: &str =
    "SELECT page_count * page_size AS bytes FROM pragma_page_count(), pragma_page_size()";

impl Store {
    /// The size of the database in bytes: PostgreSQL's `pg_database_size` of the current
    /// database; for SQLite the pages of the database (page count × page size), which counts
    /// pages still in the WAL as if they had been checkpointed, and no WAL file overhead.
    pub fn size_bytes(&self) -> Result<u64, StoreError> {
        let mut conn = self.conn()?;
        let row: SizeRow = match &mut *conn {
            AnyConnection::Postgresql(c) => diesel::sql_query(POSTGRES_SIZE_SQL).get_result(c),
            AnyConnection::Sqlite(c) => diesel::sql_query(SQLITE_SIZE_SQL).get_result(c),
        }?;
        Ok(row.bytes.max(0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{testdb, NewScalar, Store};

    fn points(n: usize) -> Vec<NewScalar> {
        (0..n)
            .map(|i| NewScalar {
                metric: "loss".into(),
                variant: String::new(),
                step: Some(i as i64),
                ts_us: i as i64,
                value: i as f64,
                source: "test".into(),
                point_key: format!("test|{i}"),
                extra: None,
            })
            .collect()
    }

    fn grows_with_points(url: &str) {
        let store = Store::open(url).unwrap();
        let empty = store.size_bytes().unwrap();
        assert!(empty > 0, "{empty}");
        let run = store.ensure_run("t", "r", "test").unwrap();
        store.put_scalars(run.id, &points(20_000)).unwrap();
        let full = store.size_bytes().unwrap();
        assert!(full > empty + 20_000 * 16, "{empty} -> {full}");
    }

    #[test]
    fn size_grows_with_points_on_both_backends() {
        testdb::on_each_backend(grows_with_points);
    }
}
