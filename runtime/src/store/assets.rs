//! Assets: files attached to a run (Comet's `log_asset`), kept whole in the database.

use diesel::prelude::*;

use super::connection::Store;
use super::model::StoreError;
use super::now_us;
use super::schema::assets;

/// An asset to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAsset {
    /// The asset's public id (unique in the store).
    pub asset_id: String,
    pub file_name: String,
    pub asset_type: String,
    pub step: Option<i64>,
    pub epoch: Option<i64>,
    pub context: Option<String>,
    /// JSON text, as the client sent it.
    pub metadata: Option<String>,
    /// API family that stored it.
    pub source: String,
    pub content: Vec<u8>,
}

/// A stored asset, without its bytes.
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = assets)]
pub struct AssetInfo {
    pub id: i64,
    pub run_id: i64,
    pub asset_id: String,
    pub file_name: String,
    pub asset_type: String,
    pub step: Option<i64>,
    pub epoch: Option<i64>,
    pub context: Option<String>,
    pub metadata: Option<String>,
    pub source: String,
    pub file_size: i64,
    /// Upload time, epoch µs.
    pub created_us: i64,
}

#[derive(Insertable)]
#[diesel(table_name = assets, treat_none_as_default_value = false)]
struct NewAssetRow {
    run_id: i64,
    asset_id: String,
    file_name: String,
    asset_type: String,
    step: Option<i64>,
    epoch: Option<i64>,
    context: Option<String>,
    metadata: Option<String>,
    source: String,
    file_size: i64,
    created_us: i64,
    content: Vec<u8>,
}

impl Store {
    /// Stores `asset` for run `run_id`, in one transaction. With `replace_same_name`, the run's
    /// assets of the same file name are deleted first. Bumps the run's `updated_us`.
    pub fn put_asset(&self, run_id: i64, asset: &NewAsset, replace_same_name: bool) -> Result<AssetInfo, StoreError> {
        let row = NewAssetRow {
            run_id,
            asset_id: asset.asset_id.clone(),
            file_name: asset.file_name.clone(),
            asset_type: asset.asset_type.clone(),
            step: asset.step,
            epoch: asset.epoch,
            context: asset.context.clone(),
            metadata: asset.metadata.clone(),
            source: asset.source.clone(),
            file_size: asset.content.len() as i64,
            created_us: now_us(),
            content: asset.content.clone(),
        };
        self.write(1, move |tx| {
            if replace_same_name {
                diesel::delete(assets::table.filter(assets::run_id.eq(run_id)).filter(assets::file_name.eq(&row.file_name)))
                    .execute(tx.conn)?;
            }
            diesel::insert_into(assets::table).values(&row).execute(tx.conn)?;
            tx.touch(run_id);
            Ok(assets::table.filter(assets::asset_id.eq(&row.asset_id)).select(AssetInfo::as_select()).first(tx.conn)?)
        })
    }

    /// The assets of a run (of one type), in upload order.
    pub fn assets(&self, run_id: i64, asset_type: Option<&str>) -> Result<Vec<AssetInfo>, StoreError> {
        let mut query = assets::table
            .filter(assets::run_id.eq(run_id))
            .select(AssetInfo::as_select())
            .into_boxed();
        if let Some(t) = asset_type {
            query = query.filter(assets::asset_type.eq(t.to_string()));
        }
        Ok(query.order(assets::id.asc()).load(&mut *self.conn()?)?)
    }

    /// The asset `asset_id` with its bytes, if it belongs to one of `run_ids` (any run when
    /// `run_ids` is `None`).
    pub fn asset_content(&self, asset_id: &str, run_ids: Option<&[i64]>) -> Result<Option<(AssetInfo, Vec<u8>)>, StoreError> {
        let mut query = assets::table
            .filter(assets::asset_id.eq(asset_id.to_string()))
            .select((AssetInfo::as_select(), assets::content))
            .into_boxed();
        if let Some(ids) = run_ids {
            query = query.filter(assets::run_id.eq_any(ids.to_vec()));
        }
        Ok(query.first(&mut *self.conn()?).optional()?)
    }
}
