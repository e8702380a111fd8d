//! A blocking HTTP client for one benchmark thread (one keep-alive connection), with the
//! envelopes of the APIs it talks to. Failures are messages: the benchmark counts and
//! reports them instead of stopping.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// Longest a single request may take (a slow full read of a large run included).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

pub struct Client {
    agent: ureq::Agent,
    base: String,
}

/// Content type of JSON bodies, as the Python clients send it.
pub const JSON: &str = "application/json";

impl Client {
    pub fn new(base: &str) -> Client {
        Client { agent: ureq::AgentBuilder::new().timeout(REQUEST_TIMEOUT).build(), base: base.to_string() }
    }

    /// Sends `body` and returns the reply's text on a 2xx, else a message naming the
    /// request, the status and the start of the reply.
    pub fn send(&self, method: &str, path: &str, content_type: &str, body: Option<&str>) -> Result<String, String> {
        let req = self.agent.request(method, &format!("{}{path}", self.base)).set("Content-Type", content_type);
        let reply = match body {
            Some(b) => req.send_string(b),
            None => req.call(),
        };
        match reply {
            Ok(r) => r.into_string().map_err(|e| format!("{method} {path}: reading the reply: {e}")),
            Err(ureq::Error::Status(code, r)) => {
                let text = r.into_string().unwrap_or_default();
                let head: String = text.chars().take(300).collect();
                Err(format!("{method} {path}: HTTP {code}: {head}"))
            }
            Err(e) => Err(format!("{method} {path}: {e}")),
        }
    }

    /// A JSON request whose 2xx reply decodes as `R`.
    pub fn json<B: Serialize, R: DeserializeOwned>(&self, method: &str, path: &str, body: &B) -> Result<R, String> {
        let text = serde_json::to_string(body).map_err(|e| e.to_string())?;
        let reply = self.send(method, path, JSON, Some(&text))?;
        decode(path, &reply)
    }

    /// A GET whose 2xx reply decodes as `R`.
    pub fn get<R: DeserializeOwned>(&self, path: &str) -> Result<R, String> {
        let reply = self.send("GET", path, JSON, None)?;
        decode(path, &reply)
    }

    /// A ClearML call: `body` sent as is, the reply's `data` decoded as `R`.
    pub fn clearml<R: DeserializeOwned>(&self, path: &str, content_type: &str, body: &str) -> Result<R, String> {
        let reply = self.send("POST", path, content_type, Some(body))?;
        let mut envelope: Value = decode(path, &reply)?;
        let data = envelope.get_mut("data").map(Value::take).ok_or_else(|| format!("{path}: no `data` in the reply"))?;
        serde_json::from_value(data).map_err(|e| format!("{path}: reply does not match the spec: {e}"))
    }
}

fn decode<R: DeserializeOwned>(path: &str, text: &str) -> Result<R, String> {
    serde_json::from_str(text).map_err(|e| {
        let head: String = text.chars().take(200).collect();
        format!("{path}: reply does not match the spec: {e}: {head}")
    })
}
