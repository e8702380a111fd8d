//! JSON request bodies.

use serde::de::DeserializeOwned;

use super::RequestProblem;

/// Decode a JSON body. An empty body is read as `{}` so that a body whose members are all
/// optional may be left out.
pub fn json<T: DeserializeOwned>(body: &[u8]) -> Result<T, RequestProblem> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) { b"{}" } else { body };
    serde_json::from_slice(body).map_err(|e| RequestProblem::from_serde(&e))
}
