//! specmill-client: a typed async client of the APIs specmill serves, generated from the
//! same spec files as the server (`specs/`).
//!
//! (Crate documentation: see the bottom of this file.)

pub mod errors;
pub mod protocol;
pub mod transport;

#[allow(clippy::all)]
pub mod generated;

pub use errors::{AwsError, ClearMlError, CometError, DioptraError, Error, LensError};
pub use generated::*;
pub use specmill_wire::wire::{Double, EpochSeconds, FilePart};
pub use specmill_wire::{sigv4, validate};
pub use transport::{AwsKeys, ClearMlAuth, Client, Credentials, RawResponse, Request};
