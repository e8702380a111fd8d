//! Validation of decoded requests: the generated types' [`Validate`] impls and the
//! [`Validator`] live in `specmill-wire` (the client runs them too); the server adds
//! [`checked`], which turns violations into its request problem.

pub use specmill_wire::validate::*;

use crate::protocol::RequestProblem;

/// `value` back if it is valid (the form generated handlers chain on).
pub fn checked<T: Validate>(value: T) -> Result<T, RequestProblem> {
    validate(&value).map_err(RequestProblem::Invalid)?;
    Ok(value)
}
