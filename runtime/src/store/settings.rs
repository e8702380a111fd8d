//! Server-wide settings every replica shares, kept in the store.

use diesel::prelude::*;

use super::connection::Store;
use super::model::StoreError;
use super::schema::settings;

impl Store {
    /// The setting `key`; when it is missing, `init()` is stored first. Replicas racing
    /// here all end up with the value that was stored first.
    pub fn setting_or_init(&self, key: &str, init: impl FnOnce() -> String) -> Result<String, StoreError> {
        let mut conn = self.conn()?;
        let current: Option<String> = settings::table.filter(settings::key.eq(key)).select(settings::value).first(&mut *conn).optional()?;
        if let Some(v) = current {
            return Ok(v);
        }
        let value = init();
        with_conn!(&mut *conn, |c| diesel::insert_into(settings::table)
            .values((settings::key.eq(key), settings::value.eq(&value)))
            .on_conflict(settings::key)
            .do_nothing()
            .execute(c))?;
        Ok(settings::table.filter(settings::key.eq(key)).select(settings::value).first(&mut *conn)?)
    }
}
