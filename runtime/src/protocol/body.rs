//! JSON request bodies.

use serde::de::DeserializeOwned;

use super::RequestProblem;

/// Decode a JSON body. An empty body is read as `{}` so that a body whose members are all
/// optional may be left out. Objects are objects: an array is not taken for a struct
/// ([`super::strict`]).
pub fn json<T: DeserializeOwned>(body: &[u8]) -> Result<T, RequestProblem> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) { b"{}" } else { body };
    let mut de = serde_json::Deserializer::from_slice(body);
    super::strict::deserialize(&mut de).and_then(|v| de.end().map(|()| v)).map_err(|e| RequestProblem::from_serde(&e))
}

/// `T` from a decoded JSON value, structs only from objects (as [`json`] reads a body).
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> serde_json::Result<T> {
    super::strict::deserialize(value)
}

pub use crate::wire::FilePart;

/// One part of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

/// A `multipart/form-data` body (RFC 7578), read whole.
#[derive(Debug, Default)]
pub struct Form {
    pub parts: Vec<Part>,
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from > haystack.len() {
        return None;
    }
    haystack[from..].windows(needle.len()).position(|w| w == needle).map(|i| i + from)
}

/// `name="value"` parameters of a header value (quotes removed, `\"` unescaped).
fn header_param(value: &str, key: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        if !k.trim().eq_ignore_ascii_case(key) {
            return None;
        }
        let v = v.trim();
        Some(v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).map(|v| v.replace("\\\"", "\"")).unwrap_or_else(|| v.to_string()))
    })
}

impl Form {
    /// Parse `body` with the boundary of the request's `Content-Type`.
    pub fn parse(req: &actix_web::HttpRequest, body: &[u8]) -> Result<Form, RequestProblem> {
        let content_type = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
        if !content_type.to_ascii_lowercase().starts_with("multipart/form-data") {
            return Err(RequestProblem::Malformed(format!("expected a multipart/form-data body, got `{content_type}`")));
        }
        let boundary = header_param(content_type, "boundary").ok_or_else(|| RequestProblem::Malformed("multipart body without a boundary".into()))?;
        Form::parse_bytes(body, &boundary)
    }

    pub fn parse_bytes(body: &[u8], boundary: &str) -> Result<Form, RequestProblem> {
        let bad = |m: &str| RequestProblem::Malformed(format!("multipart body: {m}"));
        let delimiter = format!("--{boundary}").into_bytes();
        let mut pos = find(body, &delimiter, 0).ok_or_else(|| bad("no boundary line"))? + delimiter.len();
        let mut parts = Vec::new();
        loop {
            if body[pos..].starts_with(b"--") {
                return Ok(Form { parts });
            }
            // The rest of the boundary line.
            pos = find(body, b"\r\n", pos).ok_or_else(|| bad("boundary line not ended"))? + 2;
            let head_end = find(body, b"\r\n\r\n", pos).ok_or_else(|| bad("part headers not ended"))?;
            let head = std::str::from_utf8(&body[pos..head_end]).map_err(|_| bad("part headers are not UTF-8"))?;
            let mut part = Part { name: String::new(), filename: None, content_type: None, data: Vec::new() };
            for line in head.split("\r\n") {
                let Some((k, v)) = line.split_once(':') else { continue };
                match k.trim().to_ascii_lowercase().as_str() {
                    "content-disposition" => {
                        part.name = header_param(v, "name").ok_or_else(|| bad("a part without a name"))?;
                        part.filename = header_param(v, "filename");
                    }
                    "content-type" => part.content_type = Some(v.trim().to_string()),
                    _ => {}
                }
            }
            let data_start = head_end + 4;
            let mut end_marker = b"\r\n".to_vec();
            end_marker.extend_from_slice(&delimiter);
            let data_end = find(body, &end_marker, data_start).ok_or_else(|| bad("part not closed by the boundary"))?;
            part.data = body[data_start..data_end].to_vec();
            // A field (no file name) is text unless its type says otherwise (RFC 7578 4.4), and
            // form text is UTF-8: bytes that are not would be read as an absent field.
            let text = part.filename.is_none()
                && part.content_type.as_deref().is_none_or(|c| {
                    let c = c.to_ascii_lowercase();
                    c.starts_with("text/") || c.starts_with("application/json")
                });
            if text && std::str::from_utf8(&part.data).is_err() {
                return Err(bad(&format!("part `{}` is not UTF-8 text", part.name)));
            }
            parts.push(part);
            pos = data_end + end_marker.len();
        }
    }

    fn part(&self, name: &str) -> Option<&Part> {
        self.parts.iter().find(|p| p.name == name)
    }

    /// A text part (UTF-8).
    pub fn text(&self, name: &str) -> Option<&str> {
        self.part(name).and_then(|p| std::str::from_utf8(&p.data).ok())
    }

    /// A file part.
    pub fn file(&self, name: &str) -> Option<FilePart> {
        self.part(name).map(|p| FilePart { filename: p.filename.clone(), content_type: p.content_type.clone(), bytes: p.data.clone() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_python_requests_sends() {
        // As `requests` builds it for files={"file": ("file", b"..."), "metadata": (None, "{...}")}.
        let body = b"--b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"file\"\r\n\r\nline 1\r\nline 2\r\n--b0undary\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n{\"k\": \"v\"}\r\n--b0undary--\r\n";
        let form = Form::parse_bytes(body, "b0undary").unwrap();
        assert_eq!(form.parts.len(), 2);
        let file = form.file("file").unwrap();
        assert_eq!((file.filename.as_deref(), file.bytes.as_slice()), (Some("file"), &b"line 1\r\nline 2"[..]));
        assert_eq!(form.text("metadata"), Some("{\"k\": \"v\"}"));
        assert_eq!(form.text("missing"), None);
    }

    #[test]
    fn refuses_broken_bodies() {
        for (body, boundary) in [
            (&b"no boundary here"[..], "x"),
            (&b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated"[..], "x"),
            (&b"--x\r\nContent-Disposition: form-data\r\n\r\nv\r\n--x--"[..], "x"),
            (&b"--x\r\nContent-Disposition: form-data; name=\"m\"\r\n\r\n{\"k\": \"\xff\"}\r\n--x--"[..], "x"),
        ] {
            assert!(matches!(Form::parse_bytes(body, boundary), Err(RequestProblem::Malformed(_))), "{:?}", String::from_utf8_lossy(body));
        }
        assert_eq!(Form::parse_bytes(b"--x--\r\n", "x").unwrap().parts.len(), 0);
        // Bytes that are not UTF-8 are fine in a file, or in a field typed as binary.
        let file = b"--x\r\nContent-Disposition: form-data; name=\"f\"; filename=\"f\"\r\n\r\n\xff\r\n--x\r\nContent-Disposition: form-data; name=\"b\"\r\nContent-Type: application/octet-stream\r\n\r\n\xfe\r\n--x--";
        assert_eq!(Form::parse_bytes(file, "x").unwrap().parts.len(), 2);
    }
}

/// Properties (issue 10): a multipart body reads back as the parts it was built from;
/// any other body is refused as malformed, never a panic.
#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    fn part() -> impl Strategy<Value = Part> {
        (prop::option::of("[A-Za-z0-9._ -]{1,10}"), prop::option::of("[a-z]{1,6}/[a-z0-9.+-]{1,10}"), prop::collection::vec(any::<u8>(), 0..48))
            .prop_map(|(filename, content_type, data)| {
                // a text field (no file name, no binary type) carries UTF-8, as form text must
                let text = filename.is_none() && content_type.as_deref().is_none_or(|c| c.starts_with("text/") || c.starts_with("application/json"));
                let data = if text { String::from_utf8_lossy(&data).into_owned().into_bytes() } else { data };
                Part { name: String::new(), filename, content_type, data }
            })
    }

    /// The body as Python's `requests` builds it.
    fn build(parts: &[Part], boundary: &str) -> Vec<u8> {
        let mut body = Vec::new();
        for p in parts {
            body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"", p.name).as_bytes());
            if let Some(f) = &p.filename {
                body.extend_from_slice(format!("; filename=\"{f}\"").as_bytes());
            }
            body.extend_from_slice(b"\r\n");
            if let Some(t) = &p.content_type {
                body.extend_from_slice(format!("Content-Type: {t}\r\n").as_bytes());
            }
            body.extend_from_slice(b"\r\n");
            body.extend_from_slice(&p.data);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        body
    }

    proptest! {
        #[test]
        fn forms_read_back(parts in prop::collection::vec(("[a-z_]{1,8}", part()), 0..5), boundary in "[A-Za-z0-9'()+_,.-]{1,40}") {
            let parts: Vec<Part> = parts.into_iter().map(|(name, p)| Part { name, ..p }).collect();
            // the boundary is chosen not to occur in the data (as clients do)
            let delimiter = format!("\r\n--{boundary}");
            prop_assume!(parts.iter().all(|p| find(&[&b"\r\n"[..], &p.data, b"\r\n"].concat(), delimiter.as_bytes(), 0).is_none()));
            let form = Form::parse_bytes(&build(&parts, &boundary), &boundary).unwrap();
            prop_assert_eq!(form.parts, parts);
        }

        #[test]
        fn any_body_is_read_or_refused(body in prop::collection::vec(any::<u8>(), 0..64), text in "(--b|\r\n|Content-Disposition: form-data; name=\"a\"|x|-)*", boundary in "b|[a-z-]{1,3}") {
            for b in [&body[..], text.as_bytes()] {
                match Form::parse_bytes(b, &boundary) {
                    Ok(form) => {
                        // each part opens with a delimiter and the body closes with one
                        let delimiter = format!("--{boundary}");
                        let count = b.windows(delimiter.len()).filter(|w| *w == delimiter.as_bytes()).count();
                        prop_assert!(count > form.parts.len(), "{} parts, {} delimiters", form.parts.len(), count);
                    }
                    Err(e) => prop_assert!(matches!(e, RequestProblem::Malformed(_)), "{:?}", e),
                }
            }
        }
    }
}
