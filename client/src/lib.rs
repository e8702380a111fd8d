//! A typed async client of the APIs specmill serves — ClearML events, SageMaker Metrics,
//! Primus-SAFE Lens, NIST Dioptra and Comet REST v2 — generated from the same spec files as
//! the server (`specs/` of the specmill workspace) by `specmill-codegen`.
//!
//! # Typed calls
//!
//! One method per operation version, on a handle per service that [`Client`] hands out
//! (`events()`, `auth()`, `sage_maker_metrics()`, `lens()`, `dioptra()`, `comet()`). A
//! ClearML method names its version (`get_task_log_v1_7` sends to
//! `/v1.7/events.get_task_log`, so the server runs exactly that version); the other APIs are
//! unversioned (`batch_put_metrics`). Methods take the generated request type of their
//! API's `types` module and return its response type (a raw reply, such as a downloaded
//! log, is `Vec<u8>`); the rustdoc of each method and type is the spec's description.
//! OpenAPI operations take one request struct holding their path, query, header and form
//! parameters plus `body`.
//!
//! ```no_run
//! use specmill_client::clearml::types::GetTaskLogV1_7Request;
//! use specmill_client::sagemaker::types::{BatchPutMetricsRequest, RawMetricData};
//! use specmill_client::{Client, Double, EpochSeconds, Error};
//!
//! # async fn demo() -> Result<(), Error> {
//! let client = Client::new("http://127.0.0.1:8008")?
//!     .with_clearml_key("AK1", "SK1")
//!     .with_aws_keys("AKID1", "secret1", "us-east-1");
//!
//! let put = BatchPutMetricsRequest {
//!     trial_component_name: "my-tc-1".into(),
//!     metric_data: vec![RawMetricData {
//!         metric_name: "loss".into(),
//!         timestamp: EpochSeconds(1_704_164_645.5),
//!         step: Some(0),
//!         value: Double(0.5),
//!     }],
//! };
//! let reply = client.sage_maker_metrics().batch_put_metrics(&put).await?;
//! assert!(reply.errors.is_none());
//!
//! let log = GetTaskLogV1_7Request {
//!     task: "my-tc-1".into(),
//!     order: None,
//!     from: None,
//!     scroll_id: None,
//!     batch_size: Some(100),
//!     extra: Default::default(),
//! };
//! match client.events().get_task_log_v1_7(&log).await {
//!     Ok(page) => println!("{} log events", page.returned.unwrap_or(0)),
//!     Err(Error::ClearMl(e)) => eprintln!("ClearML {}/{}: {}", e.result_code, e.result_subcode, e.result_msg),
//!     Err(e) => return Err(e),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Credentials
//!
//! [`Credentials`] holds one entry per API and each call uses its own API's: ClearML a key
//! pair (HTTP Basic) or a token from `auth.login` ([`Client::with_clearml_token`]);
//! SageMaker AWS keys, with which every call is signed with Signature Version 4 (the
//! signing code is the one the server verifies with, [`sigv4`]); Comet an API key; Dioptra
//! the session cookie its login sets; Lens a bearer token. Without an entry the call goes
//! without credentials (a server without a config file is open, and so is Lens on a server
//! whose config has no Lens token).
//!
//! # Validation
//!
//! The generated types carry the spec's constraints (the same checks the server runs).
//! With [`Client::with_request_validation`] a request that breaks one fails with
//! [`Error::Invalid`] (every violation, with its path) instead of being sent.
//!
//! # Errors
//!
//! [`Error`] has one variant per API's native error reply, decoded into its type —
//! [`ClearMlError`] (the envelope's `result_code`/`result_subcode`/`result_msg`),
//! [`AwsError`] (`x-amzn-ErrorType`/`__type` and the message), [`LensError`],
//! [`DioptraError`], [`CometError`] — plus [`Error::Status`] for an error reply that is not
//! in the API's format, [`Error::Decode`] for a success that does not fit the response
//! type, [`Error::Invalid`] for a request refused before sending, and transport and
//! encoding errors.
//!
//! # Raw layer
//!
//! For generic tools (a contract-test harness that walks the route table):
//! [`Client::send_raw`] sends any method, path, headers and body with the client's
//! credentials for the named API applied (SigV4 signed over exactly those bytes) and
//! returns a [`RawResponse`] (status, headers, body) whatever the status. Each error type
//! has a public `from_reply(&RawResponse) -> Option<Self>` that returns `None` when a reply
//! is not an error in that API's format, and [`Error::from_reply`] picks the API's decoder
//! by name.
//!
//! ```no_run
//! # async fn demo(client: specmill_client::Client) -> Result<(), specmill_client::Error> {
//! let headers = [("content-type".to_string(), "application/json".to_string())];
//! let reply = client.send_raw("clearml", "POST", "/v2.1/events.add", &headers, b"{}".to_vec()).await?;
//! if let Some(e) = specmill_client::ClearMlError::from_reply(&reply) {
//!     assert_eq!((e.result_code, e.result_subcode), (400, 11));
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Features
//!
//! None by default: plain `http://`. `rustls` enables `https://` through reqwest's rustls.
//!
//! # Layout
//!
//! `generated/` (one module per API: `types` and `services`, and the accessors of
//! [`Client`]) is written by specmill-codegen and committed; the rest is hand-written:
//! [`transport`] (the client, credentials, requests, the raw layer), [`protocol`] (each
//! protocol's framing of replies) and [`errors`].

// The native errors travel by value so callers can match on their fields; a call's latency
// dwarfs moving a few hundred bytes.
#![allow(clippy::result_large_err)]

pub mod errors;
pub mod protocol;
pub mod transport;

#[allow(clippy::all)]
pub mod generated;

/// The HTTP client underneath, for [`Client::with_http_client`].
pub use reqwest;
pub use errors::{AwsError, ClearMlError, CometError, DioptraError, Error, LensError};
pub use generated::*;
pub use specmill_wire::wire::{Double, EpochSeconds, FilePart};
pub use specmill_wire::{sigv4, validate};
pub use transport::{AwsKeys, ClearMlAuth, Client, Credentials, RawResponse, Request};
