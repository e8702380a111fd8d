//! Implementations of the generated service traits: each maps its API's request types to
//! store calls and store rows back to its reply types. Cross-API rules live here:
//! a run's string key (`uid`) is the ClearML task id, the SageMaker trial component name,
//! the Lens workload uid and the Comet experiment key; its numeric id is the Dioptra job id.

pub mod clearml;
pub mod clearml_auth;
pub mod comet;
pub mod dioptra;
pub mod lens;
pub mod sagemaker;

use specmill_runtime::store::StoreError;

/// Run a blocking store call on actix's thread pool. The reply is sent only after the
/// call (and its transaction) has returned.
pub async fn blocking<T, F>(f: F) -> Result<T, String>
where
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    match actix_web::web::block(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "store call failed");
            Err(e.to_string())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// The one name a metric has in APIs that know no variants (Lens, Dioptra, SageMaker):
/// the metric itself when the variant is empty or repeats it, else `metric/variant`.
pub fn display_name(metric: &str, variant: &str) -> String {
    if variant.is_empty() || variant == metric {
        metric.to_string()
    } else {
        format!("{metric}/{variant}")
    }
}
