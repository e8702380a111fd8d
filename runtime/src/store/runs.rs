//! Runs: get-or-create by (tenant, uid), lookups.

use diesel::prelude::*;

use super::connection::{AnyConnection, Store};
use super::model::{Run, StoreError};
use super::now_us;
use super::schema::runs;

#[derive(Insertable)]
#[diesel(table_name = runs)]
struct NewRunRow {
    tenant: String,
    uid: String,
    created_by: String,
    created_us: i64,
    updated_us: i64,
}

fn find_by_uid(conn: &mut AnyConnection, tenant: &str, uid: &str) -> QueryResult<Option<Run>> {
    runs::table
        .filter(runs::tenant.eq(tenant))
        .filter(runs::uid.eq(uid))
        .select(Run::as_select())
        .first(conn)
        .optional()
}

impl Store {
    /// Gets the run `uid` of `tenant`, creating it (by `created_by`, with an empty name)
    /// if missing. Safe under concurrent callers: all get the same run.
    pub fn ensure_run(&self, tenant: &str, uid: &str, created_by: &str) -> Result<Run, StoreError> {
        // the common case reads only, so it waits for no write
        if let Some(run) = find_by_uid(&mut *self.conn()?, tenant, uid)? {
            return Ok(run);
        }
        let now = now_us();
        let row = NewRunRow {
            tenant: tenant.to_string(),
            uid: uid.to_string(),
            created_by: created_by.to_string(),
            created_us: now,
            updated_us: now,
        };
        self.write(1, move |tx| {
            let inserted = with_conn!(&mut *tx.conn, |c| diesel::insert_into(runs::table)
                .values(&row)
                .on_conflict((runs::tenant, runs::uid))
                .do_nothing()
                .execute(c))?;
            let run = find_by_uid(tx.conn, &row.tenant, &row.uid)?.ok_or(StoreError::Query(diesel::result::Error::NotFound))?;
            if inserted > 0 {
                tracing::debug!(tenant = %row.tenant, uid = %row.uid, created_by = %row.created_by, "created run");
                super::run_list::add_sources(tx.conn, run.id, [row.created_by.as_str()])?;
            }
            Ok(run)
        })
    }

    /// The run `uid` of `tenant`.
    pub fn run_by_uid(&self, tenant: &str, uid: &str) -> Result<Option<Run>, StoreError> {
        Ok(find_by_uid(&mut *self.conn()?, tenant, uid)?)
    }

    /// The run with numeric id `id`, if it belongs to `tenant`.
    pub fn run_by_id(&self, tenant: &str, id: i64) -> Result<Option<Run>, StoreError> {
        Ok(runs::table
            .filter(runs::id.eq(id))
            .filter(runs::tenant.eq(tenant))
            .select(Run::as_select())
            .first(&mut *self.conn()?)
            .optional()?)
    }
}
