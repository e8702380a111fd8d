//! Assets: uploaded files kept whole in the database, listed and downloaded by asset id.

use serde_json::Value;
use specmill_runtime::protocol::comet::Error;
use specmill_runtime::protocol::{RawBody, RawReply, RequestContext};
use specmill_runtime::store::assets::{AssetInfo, NewAsset};

use super::{Comet, SOURCE};
use crate::generated::comet::types::UploadExperimentAssetRequest;
use crate::generated::comet::types::{Asset, AssetList, AssetUploadResponse, GetExperimentAssetListRequest, GetExperimentAssetRequest};

/// The largest asset accepted, in bytes (10 MiB). A request body is limited to 16 MiB in all
/// (`server::MAX_BODY`).
pub const MAX_ASSET_BYTES: usize = 10 * 1024 * 1024;

/// The type of assets uploaded without one.
const DEFAULT_TYPE: &str = "asset";

/// `s` for a query string: unreserved characters as they are, the rest percent-encoded.
fn query_escape(s: &str) -> String {
    specmill_runtime::sigv4::uri_encode(s, false)
}

/// Where the API serves an asset.
fn download_link(key: &str, asset_id: &str) -> String {
    format!(
        "/api/rest/v2/experiment/asset/get-asset?experimentKey={}&assetId={}",
        query_escape(key),
        query_escape(asset_id)
    )
}

fn listed(key: &str, a: AssetInfo) -> Asset {
    Asset {
        link: download_link(key, &a.asset_id),
        file_size: a.file_size,
        run_context: a.context.map(Value::String).unwrap_or(Value::Null),
        step: a.step.map(Value::from).unwrap_or(Value::Null),
        created_at: a.created_us.div_euclid(1000),
        dir: if a.asset_type == "image" { "images" } else { "assets" }.to_string(),
        can_view: false,
        audio: a.asset_type == "audio",
        video: a.asset_type == "video",
        histogram: a.asset_type == "histogram_combined_3d",
        image: a.asset_type == "image",
        metadata: a.metadata.map(Value::String).unwrap_or(Value::Null),
        asset_id: a.asset_id,
        file_name: a.file_name,
        type_: a.asset_type,
        remote: false,
    }
}

impl Comet {
    /// Store the `file` part; 413 when it is over [`MAX_ASSET_BYTES`], 400 when the metadata
    /// part is not a JSON object.
    pub(super) async fn upload_asset(&self, ctx: &RequestContext, r: UploadExperimentAssetRequest) -> Result<AssetUploadResponse, Error> {
        let size = r.file.bytes.len();
        if size > MAX_ASSET_BYTES {
            return Err(Error::new(
                413,
                format!("the asset has {size} bytes, more than the {MAX_ASSET_BYTES} allowed"),
            ));
        }
        let metadata = r.metadata.filter(|m| !m.trim().is_empty());
        if let Some(m) = &metadata {
            if !matches!(serde_json::from_str::<Value>(m), Ok(Value::Object(_))) {
                return Err(Error::bad_request("the metadata part is not a JSON object"));
            }
        }
        let run = self.experiment(ctx, &r.experiment_key).await?;
        let file_name = r
            .file_name
            .filter(|n| !n.is_empty())
            .or(r.file.filename)
            .unwrap_or_else(|| "file".to_string());
        let asset = NewAsset {
            asset_id: uuid::Uuid::new_v4().simple().to_string(),
            file_name,
            asset_type: r.type_.filter(|t| !t.is_empty()).unwrap_or_else(|| DEFAULT_TYPE.to_string()),
            step: r.step,
            epoch: r.epoch,
            context: r.context,
            metadata,
            source: SOURCE.into(),
            content: r.file.bytes,
        };
        let (id, overwrite) = (run.id, r.overwrite);
        let stored = self.call(move |s| s.put_asset(id, &asset, overwrite)).await?;
        let link = download_link(&run.uid, &stored.asset_id);
        Ok(AssetUploadResponse {
            asset_id: stored.asset_id,
            file_name: stored.file_name,
            file_size: stored.file_size,
            web: link.clone(),
            api: link,
        })
    }

    pub(super) async fn asset_list(&self, ctx: &RequestContext, r: GetExperimentAssetListRequest) -> Result<AssetList, Error> {
        let run = self.experiment(ctx, &r.experiment_key).await?;
        let id = run.id;
        let wanted = Some(r.type_).filter(|t| !t.is_empty() && t != "all");
        let assets = self.call(move |s| s.assets(id, wanted.as_deref())).await?;
        Ok(AssetList {
            assets: assets.into_iter().map(|a| listed(&run.uid, a)).collect(),
        })
    }

    /// The asset's bytes, sent raw; 404 for an asset of another experiment or tenant.
    pub(super) async fn download_asset(&self, ctx: &RequestContext, r: GetExperimentAssetRequest) -> Result<RawReply, Error> {
        let run_ids = match &r.experiment_key {
            Some(key) => Some(vec![self.experiment(ctx, key).await?.id]),
            None => None,
        };
        let (tenant, asset_id) = (ctx.tenant.clone(), r.asset_id.clone());
        let found = self
            .call(move |s| {
                let Some((info, content)) = s.asset_content(&asset_id, run_ids.as_deref())? else {
                    return Ok(None);
                };
                // Without an experiment key the asset must still belong to the caller's tenant.
                Ok(s.run_by_id(&tenant, info.run_id)?.map(|_| content))
            })
            .await?;
        match found {
            Some(content) => Ok(RawReply {
                content_type: "application/octet-stream".into(),
                filename: None,
                body: RawBody::Bytes(content),
            }),
            None => Err(Error::not_found(format!("Asset {} not found", r.asset_id))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_escape_their_parameters() {
        assert_eq!(
            download_link("abc", "0f"),
            "/api/rest/v2/experiment/asset/get-asset?experimentKey=abc&assetId=0f"
        );
        assert_eq!(query_escape("a b&c/é"), "a%20b%26c%2F%C3%A9");
    }
}
