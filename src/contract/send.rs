//! Putting a case on the wire: the one place the harness speaks HTTP. It goes through the
//! generated client's raw layer ([`specmill_client::Client::send_raw`]), the same transport
//! the typed client methods use, so credentials and signing are the client's.

use std::time::Duration;

/// What came back: status, headers (names lower-case) and the body — the client's raw reply,
/// which its typed error decoders read (see [`super::native`]).
pub use specmill_client::RawResponse as Reply;

/// A request ready to send: the API it belongs to, method, path with its query (relative
/// to the server's base URL), content type and body.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub api: String,
    pub method: String,
    pub path: String,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// The body of `reply` as text, cut for messages.
pub fn excerpt(reply: &Reply) -> String {
    let text = String::from_utf8_lossy(&reply.body);
    match text.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.into_owned(),
    }
}

/// Sends requests to one server, one at a time (the harness compares the store between
/// requests), on a runtime of its own.
pub struct Sender {
    client: specmill_client::Client,
    runtime: tokio::runtime::Runtime,
}

impl Sender {
    pub fn new(base_url: &str) -> anyhow::Result<Sender> {
        let http = specmill_client::reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .redirect(specmill_client::reqwest::redirect::Policy::none())
            .build()?;
        let client = specmill_client::Client::new(base_url)?.with_http_client(http);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        Ok(Sender { client, runtime })
    }

    /// Send `p`; any status is a reply, only a transport failure is an error.
    pub fn send(&self, p: &Prepared) -> Result<Reply, String> {
        let headers: Vec<(String, String)> = p.content_type.iter().map(|ct| ("content-type".to_string(), ct.clone())).collect();
        self.runtime
            .block_on(self.client.send_raw(&p.api, &p.method, &p.path, &headers, p.body.clone()))
            .map_err(|e| format!("{} {}: {e}", p.method, p.path))
    }
}
