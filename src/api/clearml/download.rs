//! `download_task_log`: the task's whole log as a text file, one line per event, either
//! JSON or formatted with a Python `str.format` line format, read from the store in pages.

use serde_json::{Map, Value};
use specmill_runtime::protocol::clearml::Error;
use specmill_runtime::protocol::{RawBody, RawReply, RequestContext};
use specmill_runtime::store::{TimelineItem, TimelineQuery};

use super::render::event_json;
use super::ClearmlEvents;
use crate::api::blocking;
use crate::generated::clearml::types::*;

/// Log events read per store query (clearml-server scrolls in pages of 1000 too).
const LOG_PAGE: i64 = 1000;
/// The placeholders a text line format may use.
const LOG_FIELDS: &[&str] = &["asctime", "timestamp", "level", "worker", "msg"];

/// The rest of a log download: where the next page starts.
struct LogPages {
    store: specmill_runtime::store::Store,
    run_id: i64,
    task: String,
    pieces: Option<Vec<Piece>>,
    after: Option<specmill_runtime::store::TimelineCursor>,
    done: bool,
}

impl LogPages {
    /// The next page rendered, or `None` when the log is done. A store failure ends the
    /// stream with an error (the client sees a cut-off download, as with clearml-server).
    async fn next_page(&mut self) -> Option<Result<actix_web::web::Bytes, std::io::Error>> {
        if self.done {
            return None;
        }
        let store = self.store.clone();
        let query = TimelineQuery { run_id: self.run_id, types: Some(vec!["log".to_string()]), descending: false, after: self.after, limit: LOG_PAGE };
        let items: Vec<TimelineItem> = match blocking(move || store.timeline(&query)).await {
            Ok(items) => items,
            Err(e) => {
                self.done = true;
                return Some(Err(std::io::Error::other(e.message)));
            }
        };
        let mut body = String::new();
        for item in &items {
            let event = event_json(&self.task, item);
            match &self.pieces {
                Some(pieces) => text_line(pieces, &event, &mut body),
                None => json_line(event, &mut body),
            }
        }
        match items.last() {
            Some(last) if items.len() as i64 == LOG_PAGE => self.after = Some(last.cursor()),
            _ => self.done = true,
        }
        if body.is_empty() && self.done {
            return None;
        }
        Some(Ok(actix_web::web::Bytes::from(body)))
    }
}

/// One piece of a parsed line format.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    /// A placeholder: the field and its conversion (`r`, `s`, `a`).
    Field(String, Option<char>),
}

/// A line format that Python's `str.format` rejects (400/16 "invalid line format").
fn invalid_format(error: &str) -> Error {
    Error::new(400, 16, format!("Invalid value for fields (invalid line format): error={error}"))
}

/// Parses a `str.format` line format as clearml-server validates it: it formats the line
/// with every known field set to `None`, so a placeholder may only name a field (no index
/// or attribute, no positional `{}`), may carry a conversion (`!r`, `!s`, `!a`) but no
/// format spec (None has none). Unknown names are 400/16 "undefined placeholders".
fn parse_line_format(format: &str) -> Result<Vec<Piece>, Error> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut unknown: Vec<String> = Vec::new();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                text.push('}');
            }
            '}' => return Err(invalid_format("Single '}' encountered in format string")),
            '{' => {
                let mut field = String::new();
                let mut depth = 0;
                loop {
                    match chars.next() {
                        None => return Err(invalid_format("expected '}' before end of string")),
                        Some('{') => {
                            depth += 1;
                            field.push('{');
                        }
                        Some('}') if depth == 0 => break,
                        Some('}') => {
                            depth -= 1;
                            field.push('}');
                        }
                        Some(ch) => field.push(ch),
                    }
                }
                let (head, spec) = match field.split_once(':') {
                    Some((h, s)) => (h, Some(s)),
                    None => (field.as_str(), None),
                };
                let (name, conversion) = match head.split_once('!') {
                    Some((n, conv)) => {
                        let mut cs = conv.chars();
                        match (cs.next(), cs.next()) {
                            (Some(ch @ ('r' | 's' | 'a')), None) => (n, Some(ch)),
                            (None, _) => return Err(invalid_format("end of string while looking for conversion specifier")),
                            (Some(_), Some(_)) => return Err(invalid_format("expected ':' after conversion specifier")),
                            (Some(ch), None) => return Err(invalid_format(&format!("Unknown conversion specifier {ch}"))),
                        }
                    }
                    None => (head, None),
                };
                if name.is_empty() || name.chars().all(|ch| ch.is_ascii_digit()) {
                    let index = if name.is_empty() { "0" } else { name };
                    return Err(invalid_format(&format!("Replacement index {index} out of range for positional args tuple")));
                }
                let bare = name.split(['.', '[']).next().unwrap_or(name);
                if !LOG_FIELDS.contains(&bare) {
                    if !unknown.iter().any(|u| u == bare) {
                        unknown.push(bare.to_string());
                    }
                    continue;
                }
                if let Some(rest) = name.strip_prefix(bare).filter(|r| !r.is_empty()) {
                    let error = match rest.strip_prefix('.') {
                        Some(attr) => format!("'NoneType' object has no attribute '{}'", attr.split(['.', '[']).next().unwrap_or(attr)),
                        None => "'NoneType' object is not subscriptable".to_string(),
                    };
                    return Err(invalid_format(&error));
                }
                if spec.is_some_and(|s| !s.is_empty()) {
                    return Err(invalid_format("unsupported format string passed to NoneType.__format__"));
                }
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Field(bare.to_string(), conversion));
            }
            other => text.push(other),
        }
    }
    if !unknown.is_empty() {
        return Err(Error::new(
            400,
            16,
            format!("Invalid value for fields (undefined placeholders in line format): placeholders=({})", unknown.join(", ")),
        ));
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

/// Python's `repr` of a float.
fn py_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    // The shortest digits that read back, and of those the closest to `f`, a tie to the even
    // digit (Python's choice: 2077061605272714.25 is `…714.2`, where `{f}` writes `…714.3`).
    let shortest = format!("{f:e}");
    let digits = shortest.split('e').next().unwrap_or("").bytes().filter(u8::is_ascii_digit).count().max(1);
    let sci = format!("{f:.*e}", digits - 1);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..16).contains(&exp) {
        let sign = if f.is_sign_negative() { "-" } else { "" };
        let d: String = mantissa.chars().filter(char::is_ascii_digit).collect();
        let point = exp + 1;
        if point <= 0 {
            format!("{sign}0.{}{d}", "0".repeat(-point as usize))
        } else if point as usize >= d.len() {
            format!("{sign}{d}{}.0", "0".repeat(point as usize - d.len()))
        } else {
            format!("{sign}{}.{}", &d[..point as usize], &d[point as usize..])
        }
    } else {
        format!("{mantissa}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    }
}

/// Python's `repr` of a string (single quotes unless it holds one and no double quote).
fn py_str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `repr` of a JSON value as `json.loads` returns it.
fn py_repr(v: &Value) -> String {
    match v {
        Value::String(s) => py_str_repr(s),
        other => py_str(other),
    }
}

/// Python's `str` of a JSON value as `json.loads` returns it.
fn py_str(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) if n.is_f64() => py_float(n.as_f64().unwrap_or(f64::NAN)),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => format!("[{}]", items.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => {
            format!("{{{}}}", m.iter().map(|(k, v)| format!("{}: {}", py_str_repr(k), py_repr(v))).collect::<Vec<_>>().join(", "))
        }
    }
}

/// Python's `ascii` of a JSON value: its `repr` with non-ASCII escaped.
fn py_ascii(v: &Value) -> String {
    let mut out = String::new();
    for c in py_repr(v).chars() {
        match c as u32 {
            0..=0x7f => out.push(c),
            n @ 0x80..=0xff => out.push_str(&format!("\\x{n:02x}")),
            n @ 0x100..=0xffff => out.push_str(&format!("\\u{n:04x}")),
            n => out.push_str(&format!("\\U{n:08x}")),
        }
    }
    out
}

/// One text line: `asctime` (and `timestamp`) is the event's raw timestamp in ms; a field
/// the event lacks is empty.
fn text_line(pieces: &[Piece], event: &Map<String, Value>, out: &mut String) {
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Field(name, conversion) => {
                let key = if name == "asctime" { "timestamp" } else { name.as_str() };
                if let Some(v) = event.get(key) {
                    out.push_str(&match conversion {
                        Some('r') => py_repr(v),
                        Some('a') => py_ascii(v),
                        _ => py_str(v),
                    });
                }
            }
        }
    }
    out.push('\n');
}

/// One JSON line: the event without `type` and `task`, `timestamp` renamed `asctime` and
/// moved to the end.
fn json_line(mut event: Map<String, Value>, out: &mut String) {
    event.shift_remove("type");
    event.shift_remove("task");
    if let Some(ts) = event.shift_remove("timestamp") {
        event.insert("asctime".into(), ts);
    }
    out.push_str(&Value::Object(event).to_string());
    out.push('\n');
}

impl ClearmlEvents {
    /// `task_<id>.log` (text/plain): every log event of the task, oldest first. `line_type`
    /// json (default): one compact JSON object per line; text: `line_format` (default
    /// `"{asctime} {worker} {level} {msg}"`), whose placeholders must be among asctime,
    /// timestamp, level, worker and msg (else 400/16). clearml-server pops `timestamp` when
    /// it renames it, so `{timestamp}` (valid by its check) and any field an event lacks
    /// break its stream mid-file; here `{timestamp}` is the raw ms like `{asctime}`, and a
    /// missing field is empty.
    pub(super) async fn download_task_log(
        &self,
        ctx: &RequestContext,
        request: DownloadTaskLogV2_1Request,
    ) -> Result<DownloadTaskLogV2_1Response, Error> {
        let text = matches!(request.line_type, Some(DownloadTaskLogV2_1RequestLineType::Text));
        let pieces = if text {
            if request.line_format.is_empty() {
                return Err(Error::new(400, 11, "Missing required fields (line_format is required for plain text lines)"));
            }
            Some(parse_line_format(request.line_format.trim_end_matches('\n'))?)
        } else {
            None
        };
        let run_id = self.run_id(ctx, &request.task).await?;
        // The reply streams: each page of the log is read and rendered as the previous one
        // is being sent, so a large log never sits in memory whole.
        let pages = LogPages { store: self.store.clone(), run_id, task: request.task.clone(), pieces, after: None, done: false };
        let stream = futures_util::stream::unfold(pages, |mut pages| async move {
            let chunk = pages.next_page().await?;
            Some((chunk, pages))
        });
        Ok(RawReply {
            content_type: "text/plain".into(),
            filename: Some(format!("task_{}.log", request.task)),
            body: RawBody::Stream(Box::pin(stream)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(format: &str) -> Vec<Piece> {
        parse_line_format(format).unwrap()
    }

    #[test]
    fn line_formats_are_checked_as_python_checks_them() {
        assert_eq!(fields("{{x}} {msg!r}"), vec![Piece::Text("{x} ".into()), Piece::Field("msg".into(), Some('r'))]);
        let err = parse_line_format("{foo} {msg} {bar} {foo}").unwrap_err();
        assert_eq!((err.code, err.subcode), (400, 16));
        assert_eq!(err.msg, "Invalid value for fields (undefined placeholders in line format): placeholders=(foo, bar)");
        for bad in ["{}", "{0}", "{msg:>10}", "{msg!x}", "{msg.x}", "{msg[0]}", "{msg", "msg}"] {
            let err = parse_line_format(bad).unwrap_err();
            assert_eq!(
                (err.subcode, err.msg.starts_with("Invalid value for fields (invalid line format)")),
                (16, true),
                "{bad}: {}",
                err.msg
            );
        }
    }

    #[test]
    fn values_render_as_python_str() {
        assert_eq!(py_str(&json!(1.0)), "1.0");
        assert_eq!(py_str(&json!(1e16)), "1e+16");
        assert_eq!(py_str(&json!(0.00001)), "1e-05");
        assert_eq!(py_str(&json!(1700000000000i64)), "1700000000000");
        assert_eq!(py_str(&json!(null)), "None");
        assert_eq!(py_str(&json!({"a": [1, "b", true]})), "{'a': [1, 'b', True]}");
        assert_eq!(py_repr(&json!("it's")), "\"it's\"");
        assert_eq!(py_ascii(&json!("é")), "'\\xe9'");
        let mut out = String::new();
        text_line(
            &fields("{asctime}|{level}|{worker}|{timestamp}"),
            json!({"timestamp": 5, "level": "info"}).as_object().unwrap(),
            &mut out,
        );
        assert_eq!(out, "5|info||5\n");
    }
}

/// Properties (issue 10): log line formats and Python's float repr.
#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    /// Found comparing `py_float` with Python's `repr` on random doubles: where two shortest
    /// forms are equally near, Python takes the even last digit and `{f}` did not.
    #[test]
    fn float_repr_ties_go_to_the_even_digit() {
        for (v, repr) in [
            (2077061605272714.25, "2077061605272714.2"),
            (2077061605272714.75, "2077061605272714.8"),
            (-766587369146952.25, "-766587369146952.2"),
            (1e23, "1e+23"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-0.0, "-0.0"),
            (123.456, "123.456"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
        ] {
            assert_eq!(py_float(v), repr, "{v:?}");
        }
    }

    /// A generated format piece: literal text (braces doubled when written) or a known field.
    fn piece() -> impl Strategy<Value = Piece> {
        prop_oneof![
            "[^{}]{1,6}|[{}a ]{1,4}".prop_map(Piece::Text),
            (prop::sample::select(LOG_FIELDS), prop::option::of(prop::sample::select(vec!['r', 's', 'a'])))
                .prop_map(|(f, c)| Piece::Field(f.to_string(), c)),
        ]
    }

    fn write(pieces: &[Piece]) -> String {
        pieces
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.replace('{', "{{").replace('}', "}}"),
                Piece::Field(f, None) => format!("{{{f}}}"),
                Piece::Field(f, Some(c)) => format!("{{{f}!{c}}}"),
            })
            .collect()
    }

    /// Adjacent texts read as one.
    fn merged(pieces: Vec<Piece>) -> Vec<Piece> {
        let mut out: Vec<Piece> = Vec::new();
        for p in pieces {
            match (out.last_mut(), p) {
                (Some(Piece::Text(a)), Piece::Text(b)) => a.push_str(&b),
                (_, p) => out.push(p),
            }
        }
        out
    }

    proptest! {
        #[test]
        fn line_formats_read_back(pieces in prop::collection::vec(piece(), 0..8)) {
            let format = write(&pieces);
            prop_assert_eq!(parse_line_format(&format).unwrap(), merged(pieces), "{}", format);
        }

        #[test]
        fn any_line_format_is_read_or_refused(format in "[{}!:.\\[\\]0a-z ]{0,16}|\\PC{0,16}") {
            match parse_line_format(&format) {
                Ok(pieces) => prop_assert_eq!(parse_line_format(&write(&pieces)).unwrap(), pieces),
                Err(e) => prop_assert_eq!((e.code, e.subcode), (400, 16)),
            }
        }

        #[test]
        fn python_float_reprs_are_plain_in_pythons_range(m in 1u64..10_000_000_000_000_000, exp in -25i32..25) {
            let v = m as f64 * 10f64.powi(exp);
            let text = py_float(v);
            let (_, e) = format!("{v:e}").split_once('e').map(|(a, e)| (a.to_string(), e.parse::<i32>().unwrap())).unwrap();
            prop_assert_eq!(text.contains('e'), !(-4..16).contains(&e), "{}", text);
            prop_assert_eq!(text.parse::<f64>().unwrap(), v);
        }

        #[test]
        fn python_float_reprs_read_back(v in any::<f64>()) {
            let text = py_float(v);
            let back: f64 = text.parse().unwrap();
            prop_assert!(back.to_bits() == v.to_bits() || (v.is_nan() && back.is_nan()), "{} -> {}", v, text);
            // a float's repr always shows it is one
            prop_assert!(text.contains(['.', 'e', 'n']), "{}", text);
        }
    }
}
