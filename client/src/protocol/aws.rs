//! AWS rest-json framing: the request members are the JSON body (signed with SigV4 when the
//! client has AWS keys), a success is the JSON response shape, an error is an [`AwsError`].

use serde::de::DeserializeOwned;

use crate::errors::{AwsError, Error};
use crate::transport::{Client, RawResponse, Request};

pub async fn call<T: DeserializeOwned>(client: &Client, request: Request) -> Result<T, Error> {
    let reply = client.send(request).await?;
    check(&reply)?;
    reply.decode()
}

pub async fn call_raw(client: &Client, request: Request) -> Result<Vec<u8>, Error> {
    let reply = client.send(request).await?;
    check(&reply)?;
    Ok(reply.body)
}

fn check(reply: &RawResponse) -> Result<(), Error> {
    if reply.is_success() {
        return Ok(());
    }
    Err(AwsError::from_reply(reply).map(Error::from).unwrap_or_else(|| Error::Status { status: reply.status, body: reply.body.clone() }))
}
