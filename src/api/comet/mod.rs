//! Comet REST v2 (what `comet_ml.API` / `APIExperiment` use) over the store: an experiment is a
//! run, its key the run's `uid`. Metrics are scalars (source `comet`); parameters, others,
//! tags, system details, git metadata, HTML, code and graph are run metadata; output lines
//! are log events; assets live in the `assets` table.

mod assets;
mod facts;
mod metrics;

use serde_json::{json, Value};
use specmill_runtime::protocol::comet::{self, Error};
use specmill_runtime::protocol::RequestContext;
use specmill_runtime::store::meta::MetaEntry;
use specmill_runtime::store::{Run, Store, StoreError};

use super::blocking;
use crate::generated::comet::types::*;
use crate::generated::comet::CometService;

pub const SOURCE: &str = "comet";

/// `run_meta` kind of the Comet-only facts of an experiment (keys below).
pub const KIND_EXPERIMENT: &str = "comet";
const KEY_PROJECT: &str = "project";
const KEY_START: &str = "startTimeMillis";
const KEY_END: &str = "endTimeMillis";
const KEY_FILE_PATH: &str = "filePath";

/// The project of runs that were not created through this API.
pub const DEFAULT_PROJECT: &str = "general";

pub struct Comet {
    store: Store,
}

impl Comet {
    pub fn new(store: Store) -> Self {
        Comet { store }
    }

    /// Run a store call off the actix workers; a store failure is a 500 (the client retries
    /// it, which is right for a failure that may pass).
    async fn call<T, F>(&self, f: F) -> Result<T, Error>
    where
        F: FnOnce(Store) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let store = self.store.clone();
        blocking(move || f(store)).await.map_err(Error::from)
    }

    /// The experiment `key` of the caller's tenant; 404 when there is none.
    async fn experiment(&self, ctx: &RequestContext, key: &str) -> Result<Run, Error> {
        let (tenant, uid) = (ctx.tenant.clone(), key.to_string());
        self.call(move |s| s.run_by_uid(&tenant, &uid)).await?.ok_or_else(|| not_found(key))
    }
}

fn not_found(key: &str) -> Error {
    Error::not_found(format!("Experiment {key} not found"))
}

/// The reply of the JSON writes.
fn written(run: &Run) -> WriteResponse {
    WriteResponse {
        experiment_key: run.uid.clone(),
    }
}

/// Epoch milliseconds now.
fn now_ms() -> i64 {
    specmill_runtime::store::now_us().div_euclid(1000)
}

/// The workspace and project of an experiment (the tenant's default workspace and `general`
/// for runs of other APIs).
fn project_of(tenant: &str, meta: &[MetaEntry]) -> (String, String) {
    meta.iter()
        .find(|e| e.key == KEY_PROJECT)
        .and_then(|e| serde_json::from_str::<(String, String)>(&e.value).ok())
        .unwrap_or_else(|| (tenant.to_string(), DEFAULT_PROJECT.to_string()))
}

fn project_value(workspace: &str, project: &str) -> String {
    json!([workspace, project]).to_string()
}

fn meta_i64(meta: &[MetaEntry], key: &str) -> Option<i64> {
    meta.iter().find(|e| e.key == key).and_then(|e| e.value.parse().ok())
}

/// The metadata of `run` from its Comet facts (`KIND_EXPERIMENT` entries).
fn metadata(tenant: &str, run: &Run, meta: &[MetaEntry]) -> ExperimentMetadata {
    let (workspace, project) = project_of(tenant, meta);
    let (set_start, set_end) = (meta_i64(meta, KEY_START), meta_i64(meta, KEY_END));
    let start = set_start
        .or(set_end.map(|e| e.saturating_sub(1000)))
        .unwrap_or(run.created_us.div_euclid(1000));
    let end = set_end
        .or(set_start.map(|s| s.saturating_add(1000)))
        .unwrap_or(run.updated_us.div_euclid(1000));
    let file_path = meta.iter().find(|e| e.key == KEY_FILE_PATH).map(|e| e.value.clone());
    let file_name = file_path.as_deref().map(|p| p.rsplit(['/', '\\']).next().unwrap_or(p).to_string());
    ExperimentMetadata {
        experiment_key: run.uid.clone(),
        experiment_name: if run.name.is_empty() { Value::Null } else { json!(run.name) },
        project_id: comet::project_id(tenant, &workspace, &project),
        project_name: project,
        workspace_name: workspace,
        start_time_millis: start,
        end_time_millis: end,
        duration_millis: end.saturating_sub(start),
        archived: false,
        file_name: file_name.map(Value::String).unwrap_or(Value::Null),
        file_path: file_path.map(Value::String).unwrap_or(Value::Null),
        optimization_id: Value::Null,
        running: false,
        has_crashed: false,
        throttle: false,
    }
}

impl CometService for Comet {
    async fn get_backend_version(&self, _ctx: &RequestContext, _r: GetBackendVersionRequest) -> Result<BackendVersion, Error> {
        Ok(BackendVersion {
            version: comet::BACKEND_VERSION.to_string(),
        })
    }

    /// The tenant's workspace and every workspace an experiment was created in.
    async fn get_workspaces(&self, ctx: &RequestContext, _r: GetWorkspacesRequest) -> Result<Workspaces, Error> {
        let tenant = ctx.tenant.clone();
        let projects = self.call(move |s| s.meta_values(&tenant, KIND_EXPERIMENT, KEY_PROJECT)).await?;
        let mut names: Vec<String> = projects
            .iter()
            .filter_map(|v| serde_json::from_str::<(String, String)>(v).ok())
            .map(|(ws, _)| ws)
            .collect();
        names.push(ctx.tenant.clone());
        names.sort();
        names.dedup();
        Ok(Workspaces { workspace_names: names })
    }

    async fn get_account_details(&self, ctx: &RequestContext, _r: GetAccountDetailsRequest) -> Result<AccountDetails, Error> {
        Ok(AccountDetails {
            user_name: ctx.tenant.clone(),
            default_workspace_name: ctx.tenant.clone(),
        })
    }

    /// A new run with a fresh key, its workspace and project, and its name (also the other
    /// `Name`, as `set_name` stores it).
    async fn create_experiment(&self, ctx: &RequestContext, r: CreateExperimentRequest) -> Result<CreateExperimentResponse, Error> {
        let key = uuid::Uuid::new_v4().simple().to_string();
        let (tenant, uid) = (ctx.tenant.clone(), key.clone());
        let project = project_value(&r.workspace_name, &r.project_name);
        let name = r.experiment_name.clone().filter(|n| !n.is_empty());
        self.call(move |s| {
            let run = s.ensure_run(&tenant, &uid, SOURCE)?;
            s.put_meta(run.id, KIND_EXPERIMENT, &[(KEY_PROJECT.to_string(), project)])?;
            if let Some(name) = name {
                s.set_run_name(run.id, &name)?;
                s.observe_value(run.id, facts::KIND_OTHER, facts::OTHER_NAME, &name, now_ms(), None)?;
            }
            Ok(())
        })
        .await?;
        Ok(CreateExperimentResponse {
            link: format!("/{}/{}/{key}", r.workspace_name, r.project_name),
            experiment_key: key,
            workspace_name: r.workspace_name,
            project_name: r.project_name,
        })
    }

    async fn get_experiment_metadata(&self, ctx: &RequestContext, r: GetExperimentMetadataRequest) -> Result<ExperimentMetadata, Error> {
        let run = self.experiment(ctx, &r.experiment_key).await?;
        let id = run.id;
        let meta = self.call(move |s| s.meta(id, KIND_EXPERIMENT)).await?;
        Ok(metadata(&ctx.tenant, &run, &meta))
    }

    /// The experiments created in the workspace and project, oldest first.
    async fn get_project_experiments(&self, ctx: &RequestContext, r: GetProjectExperimentsRequest) -> Result<ExperimentList, Error> {
        if r.archived {
            return Ok(ExperimentList { experiments: Vec::new() });
        }
        let tenant = ctx.tenant.clone();
        let project = project_value(&r.workspace_name, &r.project_name);
        let found = self
            .call(move |s| {
                let runs = s.runs_with_meta(&tenant, KIND_EXPERIMENT, KEY_PROJECT, &project)?;
                runs.into_iter()
                    .map(|run| Ok((s.meta(run.id, KIND_EXPERIMENT)?, run)))
                    .collect::<Result<Vec<_>, StoreError>>()
            })
            .await?;
        Ok(ExperimentList {
            experiments: found.iter().map(|(meta, run)| metadata(&ctx.tenant, run, meta)).collect(),
        })
    }

    async fn set_experiment_start_end_time(&self, ctx: &RequestContext, r: StartEndTimeRequest) -> Result<WriteResponse, Error> {
        let run = self.experiment(ctx, &r.experiment_key).await?;
        let mut entries = Vec::new();
        if let Some(start) = r.start_time_millis {
            entries.push((KEY_START.to_string(), start.to_string()));
        }
        if let Some(end) = r.end_time_millis {
            entries.push((KEY_END.to_string(), end.to_string()));
        }
        let id = run.id;
        self.call(move |s| s.put_meta(id, KIND_EXPERIMENT, &entries)).await?;
        Ok(written(&run))
    }

    async fn set_experiment_file_path(&self, ctx: &RequestContext, r: FilePathRequest) -> Result<WriteResponse, Error> {
        let run = self.experiment(ctx, &r.experiment_key).await?;
        let (id, path) = (run.id, r.file_path);
        self.call(move |s| s.put_meta(id, KIND_EXPERIMENT, &[(KEY_FILE_PATH.to_string(), path)]))
            .await?;
        Ok(written(&run))
    }

    async fn log_experiment_metric(&self, ctx: &RequestContext, r: MetricRequest) -> Result<WriteResponse, Error> {
        self.log_metric(ctx, r).await
    }

    async fn get_experiment_metrics(&self, ctx: &RequestContext, r: GetExperimentMetricsRequest) -> Result<MetricList, Error> {
        self.metric_points(ctx, &r.experiment_key, None).await
    }

    async fn get_experiment_metric(&self, ctx: &RequestContext, r: GetExperimentMetricRequest) -> Result<MetricList, Error> {
        self.metric_points(ctx, &r.experiment_key, Some(r.metric_name)).await
    }

    async fn get_experiment_metrics_summary(
        &self,
        ctx: &RequestContext,
        r: GetExperimentMetricsSummaryRequest,
    ) -> Result<SummaryList, Error> {
        self.metrics_summary(ctx, &r.experiment_key).await
    }

    async fn log_experiment_parameter(&self, ctx: &RequestContext, r: ParameterRequest) -> Result<WriteResponse, Error> {
        self.log_parameter(ctx, r).await
    }

    async fn get_experiment_parameters(&self, ctx: &RequestContext, r: GetExperimentParametersRequest) -> Result<SummaryList, Error> {
        self.parameters(ctx, &r.experiment_key).await
    }

    async fn log_experiment_other(&self, ctx: &RequestContext, r: LogOtherRequest) -> Result<WriteResponse, Error> {
        self.log_other(ctx, r).await
    }

    async fn get_experiment_others(&self, ctx: &RequestContext, r: GetExperimentOthersRequest) -> Result<OtherSummaryList, Error> {
        self.others(ctx, &r.experiment_key).await
    }

    async fn add_experiment_tags(&self, ctx: &RequestContext, r: TagsRequest) -> Result<WriteResponse, Error> {
        self.add_tags(ctx, r).await
    }

    async fn get_experiment_tags(&self, ctx: &RequestContext, r: GetExperimentTagsRequest) -> Result<Tags, Error> {
        self.tags(ctx, &r.experiment_key).await
    }

    async fn log_experiment_output(&self, ctx: &RequestContext, r: OutputRequest) -> Result<WriteResponse, Error> {
        self.log_output(ctx, r).await
    }

    async fn get_experiment_output(&self, ctx: &RequestContext, r: GetExperimentOutputRequest) -> Result<Output, Error> {
        self.output(ctx, &r.experiment_key).await
    }

    async fn log_experiment_html(&self, ctx: &RequestContext, r: HtmlRequest) -> Result<WriteResponse, Error> {
        self.log_html(ctx, r).await
    }

    async fn get_experiment_html(&self, ctx: &RequestContext, r: GetExperimentHtmlRequest) -> Result<Html, Error> {
        Ok(Html {
            html: self.document(ctx, &r.experiment_key, facts::DOC_HTML).await?,
        })
    }

    async fn set_experiment_system_details(&self, ctx: &RequestContext, r: SystemDetailsRequest) -> Result<WriteResponse, Error> {
        self.set_system_details(ctx, r).await
    }

    async fn get_experiment_system_details(
        &self,
        ctx: &RequestContext,
        r: GetExperimentSystemDetailsRequest,
    ) -> Result<SystemDetails, Error> {
        self.system_details(ctx, &r.experiment_key).await
    }

    async fn set_experiment_git_metadata(&self, ctx: &RequestContext, r: GitMetadataRequest) -> Result<WriteResponse, Error> {
        self.set_git_metadata(ctx, r).await
    }

    async fn get_experiment_git_metadata(&self, ctx: &RequestContext, r: GetExperimentGitMetadataRequest) -> Result<GitMetadata, Error> {
        self.git_metadata(ctx, &r.experiment_key).await
    }

    /// Git patches are not stored: always the client's "no patch" body.
    async fn get_experiment_git_patch(&self, ctx: &RequestContext, r: GetExperimentGitPatchRequest) -> Result<NoGitPatch, Error> {
        self.experiment(ctx, &r.experiment_key).await?;
        Ok(NoGitPatch {
            msg: "No git patch was logged for this experiment".to_string(),
        })
    }

    async fn set_experiment_code(&self, ctx: &RequestContext, r: CodeRequest) -> Result<WriteResponse, Error> {
        self.set_document(ctx, &r.experiment_key, facts::DOC_CODE, r.code).await
    }

    async fn get_experiment_code(&self, ctx: &RequestContext, r: GetExperimentCodeRequest) -> Result<Code, Error> {
        Ok(Code {
            code: self.document(ctx, &r.experiment_key, facts::DOC_CODE).await?,
        })
    }

    async fn set_experiment_graph(&self, ctx: &RequestContext, r: GraphRequest) -> Result<WriteResponse, Error> {
        self.set_document(ctx, &r.experiment_key, facts::DOC_GRAPH, r.graph).await
    }

    async fn get_experiment_graph(&self, ctx: &RequestContext, r: GetExperimentGraphRequest) -> Result<Graph, Error> {
        Ok(Graph {
            graph: self.document(ctx, &r.experiment_key, facts::DOC_GRAPH).await?,
        })
    }

    async fn upload_experiment_asset(&self, ctx: &RequestContext, r: UploadExperimentAssetRequest) -> Result<AssetUploadResponse, Error> {
        self.upload_asset(ctx, r).await
    }

    async fn get_experiment_asset_list(&self, ctx: &RequestContext, r: GetExperimentAssetListRequest) -> Result<AssetList, Error> {
        self.asset_list(ctx, r).await
    }

    async fn get_experiment_asset(&self, ctx: &RequestContext, r: GetExperimentAssetRequest) -> Result<specmill_runtime::protocol::RawReply, Error> {
        self.download_asset(ctx, r).await
    }
}
