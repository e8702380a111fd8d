//! Putting a case on the wire: the one place the harness speaks HTTP.

use std::time::Duration;

/// A request ready to send: method, path with its query (relative to the server's base
/// URL), content type and body.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub method: String,
    pub path: String,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// What came back: status, headers (names lower-case) and the body.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
    /// The body as text, cut for messages.
    pub fn excerpt(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        match text.char_indices().nth(300) {
            Some((i, _)) => format!("{}…", &text[..i]),
            None => text.into_owned(),
        }
    }
}

/// Sends requests to one server.
pub struct Sender {
    base: String,
    agent: ureq::Agent,
}

impl Sender {
    pub fn new(base_url: &str) -> Sender {
        let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(60)).redirects(0).build();
        Sender { base: base_url.trim_end_matches('/').to_string(), agent }
    }

    /// Send `p`; any status is a reply, only a transport failure is an error.
    pub fn send(&self, p: &Prepared) -> Result<Reply, String> {
        let mut req = self.agent.request(&p.method, &format!("{}{}", self.base, p.path));
        if let Some(ct) = &p.content_type {
            req = req.set("Content-Type", ct);
        }
        let result = if p.body.is_empty() && p.content_type.is_none() { req.call() } else { req.send_bytes(&p.body) };
        let resp = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => return Err(format!("{} {}: {e}", p.method, p.path)),
        };
        let status = resp.status();
        let headers = resp.headers_names().iter().map(|h| (h.to_ascii_lowercase(), resp.header(h).unwrap_or("").to_string())).collect();
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut resp.into_reader(), &mut body).map_err(|e| format!("{} {}: reading the reply: {e}", p.method, p.path))?;
        Ok(Reply { status, headers, body })
    }
}
