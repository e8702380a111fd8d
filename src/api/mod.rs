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

use specmill_runtime::protocol::StoreFailure;
use specmill_runtime::store::StoreError;

/// Run a blocking store call on actix's thread pool. The reply is sent only after the
/// call (and its transaction) has returned. A failure says whether the store was out of
/// reach, which each API's error turns into its 503 (`From<StoreFailure>`).
pub async fn blocking<T, F>(f: F) -> Result<T, StoreFailure>
where
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    match actix_web::web::block(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => {
            let failure = StoreFailure::from(e);
            if failure.unavailable {
                tracing::warn!(error = %failure.message, "store unavailable");
            } else {
                tracing::error!(error = %failure.message, "store call failed");
            }
            Err(failure)
        }
        Err(e) => Err(StoreFailure { message: e.to_string(), unavailable: false }),
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
