//! REST framing of the OpenAPI APIs: parameters where the spec puts them, `body` as JSON,
//! a success is the JSON response (or the bytes of a raw one), an error is the API's own
//! error body ([`crate::LensError`], [`crate::DioptraError`], [`crate::CometError`]).

use serde::de::DeserializeOwned;

use crate::errors::Error;
use crate::transport::{Client, RawResponse, Request};

pub async fn call<T: DeserializeOwned>(client: &Client, request: Request) -> Result<T, Error> {
    let api = request.api;
    let reply = client.send(request).await?;
    check(api, &reply)?;
    reply.decode()
}

pub async fn call_raw(client: &Client, request: Request) -> Result<Vec<u8>, Error> {
    let api = request.api;
    let reply = client.send(request).await?;
    check(api, &reply)?;
    Ok(reply.body)
}

/// A call whose reply is one of several success statuses, decoded by `decode` (the
/// generated reply enum's `from_status`).
pub async fn call_status<T>(client: &Client, request: Request, decode: fn(u16, &[u8]) -> Result<T, serde_json::Error>) -> Result<T, Error> {
    let api = request.api;
    let reply = client.send(request).await?;
    check(api, &reply)?;
    decode(reply.status, &reply.body).map_err(|e| Error::Decode { status: reply.status, message: e.to_string(), body: reply.body.clone() })
}

fn check(api: &str, reply: &RawResponse) -> Result<(), Error> {
    if reply.is_success() {
        Ok(())
    } else {
        Err(Error::from_reply(api, reply))
    }
}
