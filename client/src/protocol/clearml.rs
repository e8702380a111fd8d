//! ClearML framing: calls go to `/v<version>/<service>.<action>` with a JSON (or JSON-lines)
//! body; replies are the `{"meta": …, "data": …}` envelope, whose `data` is the generated
//! response type and whose `meta` is a [`ClearMlError`] when `result_code` is not 200.

use serde::de::DeserializeOwned;

use crate::errors::{ClearMlError, Error};
use crate::transport::{Client, RawResponse, Request};

/// Send `request` and decode the envelope's `data` as `T`.
pub async fn call<T: DeserializeOwned>(client: &Client, request: Request) -> Result<T, Error> {
    let reply = client.send(request).await?;
    data(&reply)
}

/// Send `request` whose successful reply is sent as it is (a file, a text); errors are
/// still envelopes.
pub async fn call_raw(client: &Client, request: Request) -> Result<Vec<u8>, Error> {
    let reply = client.send(request).await?;
    if let Some(e) = ClearMlError::from_reply(&reply) {
        return Err(e.into());
    }
    if !reply.is_success() {
        return Err(Error::Status { status: reply.status, body: reply.body });
    }
    Ok(reply.body)
}

/// The `data` of a successful envelope as `T`, or the error the envelope carries.
pub fn data<T: DeserializeOwned>(reply: &RawResponse) -> Result<T, Error> {
    if let Some(e) = ClearMlError::from_reply(reply) {
        return Err(e.into());
    }
    let Some(serde_json::Value::Object(mut envelope)) = reply.json() else {
        return Err(if reply.is_success() {
            Error::Decode { status: reply.status, message: "not a ClearML envelope".into(), body: reply.body.clone() }
        } else {
            Error::Status { status: reply.status, body: reply.body.clone() }
        });
    };
    let data = envelope.remove("data").unwrap_or(serde_json::Value::Null);
    serde_json::from_value(data).map_err(|e| Error::Decode { status: reply.status, message: e.to_string(), body: reply.body.clone() })
}
