//! Sending: the [`Client`] (base URL, HTTP client, credentials), the request a generated
//! method builds ([`Request`]) and the raw layer every call goes through
//! ([`Client::send_raw`] → [`RawResponse`]), which applies each API's credentials.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use specmill_wire::sigv4;
use specmill_wire::wire::FilePart;

use crate::errors::Error;

/// ClearML credentials: a key pair sent as HTTP Basic with every call, or a token from
/// `auth.login` sent as `Authorization: Bearer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClearMlAuth {
    Key { access_key: String, secret_key: String },
    Token(String),
}

/// AWS keys that sign SageMaker calls with Signature Version 4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsKeys {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub region: String,
    /// Sent as `X-Amz-Security-Token` (and signed) when set.
    pub session_token: Option<String>,
}

/// The credentials of every API the client may call; an API whose entry is empty is
/// called without credentials (the server's open mode, or Lens without configured tokens).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    pub clearml: Option<ClearMlAuth>,
    pub aws: Option<AwsKeys>,
    /// Comet API key, sent as `Authorization: <key>`.
    pub comet_api_key: Option<String>,
    /// A Dioptra session: the `Cookie` header value (`session=…`) that `POST /auth/login` set.
    pub dioptra_cookie: Option<String>,
    /// Lens bearer token, sent as `Authorization: Bearer <token>`.
    pub lens_token: Option<String>,
}

/// The SigV4 service name of `api`, if its spec says its requests are signed.
fn signing_name(api: &str) -> Option<&'static str> {
    crate::generated::SIGNING_NAMES.iter().find(|(a, _)| *a == api).map(|(_, n)| *n)
}

/// A client of one specmill server (or any server speaking these APIs).
///
/// Cheap to clone (the HTTP client is shared). Service handles come from the generated
/// accessors (`client.events()`, `client.sage_maker_metrics()`, `client.comet()`, …).
#[derive(Debug, Clone)]
pub struct Client {
    base: reqwest::Url,
    http: reqwest::Client,
    credentials: Credentials,
    validate: bool,
}

impl Client {
    /// A client of the server at `base_url` (`http://127.0.0.1:8008`), without credentials.
    pub fn new(base_url: &str) -> Result<Client, Error> {
        let base = reqwest::Url::parse(base_url).map_err(|e| Error::Url(format!("{base_url}: {e}")))?;
        if base.host_str().is_none() {
            return Err(Error::Url(format!("{base_url}: no host")));
        }
        Ok(Client { base, http: reqwest::Client::new(), credentials: Credentials::default(), validate: false })
    }

    /// The same client with another HTTP client (timeouts, proxies, TLS settings).
    pub fn with_http_client(mut self, http: reqwest::Client) -> Client {
        self.http = http;
        self
    }

    /// The same client with these credentials.
    pub fn with_credentials(mut self, credentials: Credentials) -> Client {
        self.credentials = credentials;
        self
    }

    /// ClearML calls carry this key pair (HTTP Basic).
    pub fn with_clearml_key(mut self, access_key: impl Into<String>, secret_key: impl Into<String>) -> Client {
        self.credentials.clearml = Some(ClearMlAuth::Key { access_key: access_key.into(), secret_key: secret_key.into() });
        self
    }

    /// ClearML calls carry this token (`Authorization: Bearer`), as `auth.login` returns it.
    pub fn with_clearml_token(mut self, token: impl Into<String>) -> Client {
        self.credentials.clearml = Some(ClearMlAuth::Token(token.into()));
        self
    }

    /// SageMaker calls are signed (SigV4) with these keys for `region`.
    pub fn with_aws_keys(mut self, access_key_id: impl Into<String>, secret_access_key: impl Into<String>, region: impl Into<String>) -> Client {
        self.credentials.aws =
            Some(AwsKeys { access_key_id: access_key_id.into(), secret_access_key: secret_access_key.into(), region: region.into(), session_token: None });
        self
    }

    /// Comet calls carry this API key.
    pub fn with_comet_api_key(mut self, key: impl Into<String>) -> Client {
        self.credentials.comet_api_key = Some(key.into());
        self
    }

    /// Dioptra calls carry this `Cookie` header value (`session=…`).
    pub fn with_dioptra_cookie(mut self, cookie: impl Into<String>) -> Client {
        self.credentials.dioptra_cookie = Some(cookie.into());
        self
    }

    /// Lens calls carry this bearer token.
    pub fn with_lens_token(mut self, token: impl Into<String>) -> Client {
        self.credentials.lens_token = Some(token.into());
        self
    }

    /// Check every typed request against the spec's constraints (lengths, patterns, ranges,
    /// item counts) before sending it; a request that breaks one fails with
    /// [`Error::Invalid`] and is not sent. Off by default: the server checks anyway, and a
    /// caller may want to see the server's own refusal.
    pub fn with_request_validation(mut self, on: bool) -> Client {
        self.validate = on;
        self
    }

    /// [`Error::Invalid`] when request validation is on and `request` breaks a constraint.
    pub fn check<T: specmill_wire::validate::Validate + ?Sized>(&self, request: &T) -> Result<(), Error> {
        if self.validate {
            specmill_wire::validate::validate(request).map_err(Error::Invalid)?;
        }
        Ok(())
    }

    pub fn base_url(&self) -> &reqwest::Url {
        &self.base
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Send a request as it is, with the credentials this client has for `api` (the API's
    /// name in the specs: `clearml`, `sagemaker`, `lens`, `dioptra`, `comet`) added: ClearML
    /// Basic or Bearer, a SigV4 signature over exactly these bytes, the Comet key, the
    /// Dioptra cookie, the Lens bearer token. Headers already in `headers` win over the credentials' (except the
    /// signature, which covers them). Nothing is checked or decoded: any status comes back
    /// as a [`RawResponse`]; only a failure to talk HTTP at all is an error.
    ///
    /// `path_and_query` is appended to the base URL's origin (`/v2.1/events.add`,
    /// `/v1/workloads/x/metrics/data?metrics=all`).
    pub async fn send_raw(&self, api: &str, method: &str, path_and_query: &str, headers: &[(String, String)], body: Vec<u8>) -> Result<RawResponse, Error> {
        let mut headers = headers.to_vec();
        self.authorize(api, method, path_and_query, &mut headers, &body);
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| Error::Encode(format!("method {method}: {e}")))?;
        let url = self.base.join(path_and_query).map_err(|e| Error::Url(format!("{path_and_query}: {e}")))?;
        let mut req = self.http.request(method, url).body(body);
        for (k, v) in &headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().iter().map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect();
        let body = resp.bytes().await?.to_vec();
        Ok(RawResponse { status, headers, body })
    }

    /// Send a request a generated method built.
    pub(crate) async fn send(&self, request: Request) -> Result<RawResponse, Error> {
        let (path_and_query, mut headers, body) = request.encode();
        headers.insert(0, ("accept".into(), "application/json".into()));
        self.send_raw(request.api, &request.method, &path_and_query, &headers, body).await
    }

    /// `host[:port]` as this client sends it in `Host`.
    fn host(&self) -> String {
        let host = self.base.host_str().unwrap_or_default();
        match self.base.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        }
    }

    fn authorize(&self, api: &str, method: &str, path_and_query: &str, headers: &mut Vec<(String, String)>, body: &[u8]) {
        let has = |headers: &[(String, String)], name: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
        let c = &self.credentials;
        match api {
            "clearml" => match &c.clearml {
                Some(ClearMlAuth::Key { access_key, secret_key }) if !has(headers, "authorization") => {
                    headers.push(("authorization".into(), format!("Basic {}", base64(format!("{access_key}:{secret_key}").as_bytes()))));
                }
                Some(ClearMlAuth::Token(t)) if !has(headers, "authorization") => headers.push(("authorization".into(), format!("Bearer {t}"))),
                _ => {}
            },
            _ if signing_name(api).is_some() => {
                if let (Some(keys), Some(service)) = (&c.aws, signing_name(api)) {
                    self.sign(keys, service, method, path_and_query, headers, body);
                }
            }
            "comet" => {
                if let Some(k) = c.comet_api_key.as_ref().filter(|_| !has(headers, "authorization")) {
                    headers.push(("authorization".into(), k.clone()));
                }
            }
            "dioptra" => {
                if let Some(cookie) = c.dioptra_cookie.as_ref().filter(|_| !has(headers, "cookie")) {
                    headers.push(("cookie".into(), cookie.clone()));
                }
            }
            "lens" => {
                if let Some(t) = c.lens_token.as_ref().filter(|_| !has(headers, "authorization")) {
                    headers.push(("authorization".into(), format!("Bearer {t}")));
                }
            }
            _ => {}
        }
    }

    /// Sign with AWS Signature Version 4 (the header form boto3 sends), over `host`,
    /// `x-amz-date`, `content-type` when present and the session token when set.
    fn sign(&self, keys: &AwsKeys, service: &str, method: &str, path_and_query: &str, headers: &mut Vec<(String, String)>, body: &[u8]) {
        headers.retain(|(k, _)| !["host", "x-amz-date", "authorization", "x-amz-security-token"].iter().any(|n| k.eq_ignore_ascii_case(n)));
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or_default();
        headers.push(("host".into(), self.host()));
        headers.push(("x-amz-date".into(), sigv4::format_amz_date(now)));
        let mut signed = vec!["host", "x-amz-date"];
        if let Some(token) = &keys.session_token {
            headers.push(("x-amz-security-token".into(), token.clone()));
            signed.push("x-amz-security-token");
        }
        if headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
            signed.push("content-type");
        }
        signed.sort_unstable();
        let signed = signed.join(";");
        let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
        let req = sigv4::Request { method, path, query, headers: headers.clone(), body };
        let auth = sigv4::sign(&req, &keys.access_key_id, &keys.secret_access_key, &keys.region, service, &signed);
        headers.push(("authorization".into(), auth));
    }
}

/// A reply as it came: status, headers (names lowercase, in order) and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as JSON, if it is.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The cookies the reply sets (`Set-Cookie`), as a `Cookie` header value
    /// (`name=value; name2=value2`); a cookie set to an empty value (cleared) is left out.
    /// A Dioptra login's reply gives [`Client::with_dioptra_cookie`] its session this way.
    pub fn cookie_header(&self) -> Option<String> {
        let pairs: Vec<&str> = self
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .filter_map(|(_, v)| v.split(';').next())
            .map(str::trim)
            .filter(|pair| pair.split_once('=').is_some_and(|(name, value)| !name.is_empty() && !value.is_empty()))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Decode a successful JSON body as `T` (an empty body reads as `null`).
    pub(crate) fn decode<T: serde::de::DeserializeOwned>(&self) -> Result<T, Error> {
        let body: &[u8] = if self.body.iter().all(u8::is_ascii_whitespace) { b"null" } else { &self.body };
        serde_json::from_slice(body).map_err(|e| Error::Decode { status: self.status, message: e.to_string(), body: self.body.clone() })
    }
}

/// A request body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
enum Body {
    #[default]
    Empty,
    Bytes { content_type: &'static str, bytes: Vec<u8> },
    Form(Vec<FormPart>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct FormPart {
    name: String,
    filename: Option<String>,
    content_type: Option<String>,
    data: Vec<u8>,
}

/// One call, as a generated method binds it: the API it belongs to, method, path (its
/// `{name}` placeholders filled by [`Request::path_param`]), query, headers and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub(crate) api: &'static str,
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Body,
}

/// A parameter value as text: strings as they are, numbers and booleans as JSON prints
/// them, lists and objects as JSON text (what the server parses for such parameters);
/// `None` for `null`.
fn param_text<T: Serialize + ?Sized>(value: &T) -> Result<Option<String>, Error> {
    Ok(match serde_json::to_value(value).map_err(|e| Error::Encode(e.to_string()))? {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s),
        other => Some(other.to_string()),
    })
}

impl Request {
    pub fn new(api: &'static str, method: &str, path: &str) -> Request {
        Request { api, method: method.to_string(), path: path.to_string(), query: Vec::new(), headers: Vec::new(), body: Body::Empty }
    }

    /// Fill the `{name}` placeholder of the path (percent-encoded).
    pub fn path_param<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> Result<(), Error> {
        let text = param_text(value)?.unwrap_or_default();
        self.path = self.path.replace(&format!("{{{name}}}"), &sigv4::uri_encode(&text, false));
        Ok(())
    }

    pub fn query<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> Result<(), Error> {
        if let Some(text) = param_text(value)? {
            self.query.push((name.to_string(), text));
        }
        Ok(())
    }

    pub fn header<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> Result<(), Error> {
        if let Some(text) = param_text(value)? {
            self.headers.push((name.to_string(), text));
        }
        Ok(())
    }

    /// A text part of a `multipart/form-data` body.
    pub fn form_text<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> Result<(), Error> {
        if let Some(text) = param_text(value)? {
            self.form().push(FormPart { name: name.to_string(), filename: None, content_type: None, data: text.into_bytes() });
        }
        Ok(())
    }

    /// A file part of a `multipart/form-data` body.
    pub fn form_file(&mut self, name: &str, file: &FilePart) {
        let part = FormPart {
            name: name.to_string(),
            filename: Some(file.filename.clone().unwrap_or_else(|| name.to_string())),
            content_type: file.content_type.clone(),
            data: file.bytes.clone(),
        };
        self.form().push(part);
    }

    fn form(&mut self) -> &mut Vec<FormPart> {
        if !matches!(self.body, Body::Form(_)) {
            self.body = Body::Form(Vec::new());
        }
        match &mut self.body {
            Body::Form(parts) => parts,
            _ => unreachable!("set just above"),
        }
    }

    /// A JSON body.
    pub fn json<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let bytes = serde_json::to_vec(value).map_err(|e| Error::Encode(e.to_string()))?;
        self.body = Body::Bytes { content_type: "application/json", bytes };
        Ok(())
    }

    /// A JSON-lines body: one object per line.
    pub fn json_lines<T: Serialize>(&mut self, items: &[T]) -> Result<(), Error> {
        let mut bytes = Vec::new();
        for item in items {
            serde_json::to_writer(&mut bytes, item).map_err(|e| Error::Encode(e.to_string()))?;
            bytes.push(b'\n');
        }
        self.body = Body::Bytes { content_type: "application/json-lines", bytes };
        Ok(())
    }

    /// Path and query, headers and body bytes as they go on the wire.
    fn encode(&self) -> (String, Vec<(String, String)>, Vec<u8>) {
        let mut path = self.path.clone();
        if !self.query.is_empty() {
            let pairs: Vec<String> = self.query.iter().map(|(k, v)| format!("{}={}", sigv4::uri_encode(k, false), sigv4::uri_encode(v, false))).collect();
            path = format!("{path}?{}", pairs.join("&"));
        }
        let mut headers = self.headers.clone();
        let body = match &self.body {
            Body::Empty => Vec::new(),
            Body::Bytes { content_type, bytes } => {
                headers.push(("content-type".into(), content_type.to_string()));
                bytes.clone()
            }
            Body::Form(parts) => {
                let (content_type, bytes) = multipart(parts);
                headers.push(("content-type".into(), content_type));
                bytes
            }
        };
        (path, headers, body)
    }
}

/// A `multipart/form-data` body (RFC 7578) and its content type.
fn multipart(parts: &[FormPart]) -> (String, Vec<u8>) {
    // A boundary that no part contains.
    let mut boundary = String::from("specmill-client-boundary");
    while parts.iter().any(|p| p.data.windows(boundary.len()).any(|w| w == boundary.as_bytes())) {
        boundary.push('x');
    }
    let quote = |s: &str| s.replace('"', "\\\"");
    let mut body = Vec::new();
    for p in parts {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"", quote(&p.name)).as_bytes());
        if let Some(f) = &p.filename {
            body.extend_from_slice(format!("; filename=\"{}\"", quote(f)).as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        if let Some(ct) = &p.content_type {
            body.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(&p.data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Standard base64 with padding (HTTP Basic credentials).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_pads() {
        assert_eq!(base64(b"AK1:SK1"), "QUsxOlNLMQ==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
        assert_eq!(base64(b""), "");
    }

    #[test]
    fn cookies_of_a_reply() {
        let header = |v: &str| ("Set-Cookie".to_string(), v.to_string());
        let reply = RawResponse {
            status: 200,
            headers: vec![header("session=abc.def; HttpOnly; Path=/"), header("remember=r1; Expires=Thu, 01 Jan 2099 00:00:00 GMT"), header("old=; Max-Age=0")],
            body: Vec::new(),
        };
        assert_eq!(reply.cookie_header().as_deref(), Some("session=abc.def; remember=r1"));
        assert_eq!(RawResponse { status: 200, headers: Vec::new(), body: Vec::new() }.cookie_header(), None);
    }

    #[test]
    fn binds_parameters() {
        let mut r = Request::new("lens", "GET", "/v1/workloads/{uid}/metrics/data");
        r.path_param("uid", "a b/c").unwrap();
        r.query("metrics", "loss,acc").unwrap();
        r.query("start", &5i64).unwrap();
        r.query("missing", &Option::<i64>::None).unwrap();
        let (path, headers, body) = r.encode();
        assert_eq!(path, "/v1/workloads/a%20b%2Fc/metrics/data?metrics=loss%2Cacc&start=5");
        assert!(headers.is_empty() && body.is_empty());
    }

    #[test]
    fn encodes_forms() {
        let mut r = Request::new("comet", "POST", "/upload");
        r.form_text("experimentKey", "k1").unwrap();
        r.form_file("file", &FilePart { filename: Some("a.txt".into()), content_type: None, bytes: b"x\r\ny".to_vec() });
        let (_, headers, body) = r.encode();
        assert_eq!(headers, vec![("content-type".to_string(), "multipart/form-data; boundary=specmill-client-boundary".to_string())]);
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "--specmill-client-boundary\r\nContent-Disposition: form-data; name=\"experimentKey\"\r\n\r\nk1\r\n--specmill-client-boundary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nx\r\ny\r\n--specmill-client-boundary--\r\n"
        );
    }
}
