//! Recognising each API's native error format in a reply: the one place the harness knows
//! what ClearML, AWS, Lens, Dioptra and Comet errors look like (the formats of
//! `specmill_runtime::protocol::{clearml,sagemaker,lens,dioptra,comet}`).

use serde_json::Value;

use super::send::Reply;

/// What an error reply says, in the API's own terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Native {
    /// The operation is in the spec but not implemented.
    NotImplemented,
    /// The request was refused as malformed or invalid.
    Validation(String),
    /// Refused for another reason (an unknown task, a missing login).
    Refusal(String),
    /// Not this API's error format.
    Foreign(String),
}

/// The native reading of an error reply of `api`.
pub fn recognise(api: &str, reply: &Reply) -> Native {
    let body = reply.json().unwrap_or(Value::Null);
    let status = reply.status;
    let foreign = |why: &str| Native::Foreign(format!("{why}: {}", reply.excerpt()));
    match api {
        // {"meta": {"result_code": status, "result_subcode": n, "result_msg": …}, "data": …}
        "clearml" => {
            let meta = &body["meta"];
            let (Some(code), Some(sub)) = (meta["result_code"].as_u64(), meta["result_subcode"].as_u64()) else {
                return foreign("no meta.result_code/result_subcode");
            };
            if code != u64::from(status) || !meta["result_msg"].is_string() {
                return foreign("meta.result_code differs from the HTTP status");
            }
            let what = format!("{code}/{sub} {}", meta["result_msg"].as_str().unwrap_or_default());
            match (code, sub) {
                (501, _) => Native::NotImplemented,
                // 0: undecodable body, 11: missing fields, 12: validation error.
                (400, 0 | 11 | 12) => Native::Validation(what),
                _ => Native::Refusal(what),
            }
        }
        // x-amzn-ErrorType header and {"__type", "message"}.
        "sagemaker" => {
            let Some(kind) = reply.header("x-amzn-ErrorType") else { return foreign("no x-amzn-ErrorType header") };
            let kind = kind.split(':').next().unwrap_or(kind);
            if body["__type"].as_str() != Some(kind) || !body["message"].is_string() {
                return foreign("body is not {\"__type\", \"message\"} of the error type");
            }
            let what = format!("{kind}: {}", body["message"].as_str().unwrap_or_default());
            match kind {
                "NotImplemented" => Native::NotImplemented,
                "ValidationException" | "SerializationException" => Native::Validation(what),
                _ => Native::Refusal(what),
            }
        }
        // {"error": "…"}
        "lens" => {
            let Some(msg) = body["error"].as_str() else { return foreign("no \"error\" string") };
            match status {
                501 if msg.starts_with("not implemented") => Native::NotImplemented,
                400 => Native::Validation(msg.to_string()),
                _ => Native::Refusal(msg.to_string()),
            }
        }
        // {"error", "message", "detail", "originating_path"}, {"errors": {field: [msg]}}, {"message"}
        "dioptra" => {
            if let Some(errors) = body["errors"].as_object() {
                return Native::Validation(Value::Object(errors.clone()).to_string());
            }
            if let (Some(error), Some(msg)) = (body["error"].as_str(), body["message"].as_str()) {
                let what = format!("{error}: {msg}");
                return match error {
                    "NotImplementedError" => Native::NotImplemented,
                    e if e.ends_with("ValidationError") || e == "SearchParseError" => Native::Validation(what),
                    _ => Native::Refusal(what),
                };
            }
            match body["message"].as_str() {
                Some(m) if status == 400 => Native::Validation(m.to_string()),
                Some(m) => Native::Refusal(m.to_string()),
                None => foreign("none of Dioptra's error bodies"),
            }
        }
        // {"msg", "code", "sdk_error_code"}
        "comet" => {
            let (Some(msg), Some(code)) = (body["msg"].as_str(), body["code"].as_u64()) else {
                return foreign("no msg/code");
            };
            if code != u64::from(status) || !body["sdk_error_code"].is_i64() {
                return foreign("code differs from the HTTP status or no sdk_error_code");
            }
            match status {
                501 => Native::NotImplemented,
                400 => Native::Validation(msg.to_string()),
                _ => Native::Refusal(msg.to_string()),
            }
        }
        other => Native::Foreign(format!("no native error format known for API {other}")),
    }
}

/// Whether a 2xx reply of `api` refuses the request's items one by one, as the spec
/// documents: SageMaker `BatchPutMetrics` answers 200 with `Errors` (`VALIDATION_ERROR`
/// items), `BatchGetMetrics` with a `MetricQueryResults` item of `Status: ValidationError`.
pub fn reports_item_errors(api: &str, reply: &Reply) -> bool {
    let Some(body) = reply.json() else { return false };
    match api {
        "sagemaker" => {
            let put = body["Errors"].as_array().is_some_and(|e| !e.is_empty());
            let get = body["MetricQueryResults"].as_array().is_some_and(|r| r.iter().any(|q| q["Status"] == "ValidationError"));
            put || get
        }
        _ => false,
    }
}

/// The part of a 2xx reply the response schema describes: ClearML's `data` (inside an
/// envelope with result code 200), everything else's whole body.
pub fn payload(api: &str, reply: &Reply) -> Result<Value, String> {
    let body: Value = serde_json::from_slice(&reply.body).map_err(|e| format!("reply is not JSON ({e}): {}", reply.excerpt()))?;
    match api {
        "clearml" => {
            if body["meta"]["result_code"] != 200 {
                return Err(format!("envelope without meta.result_code 200: {}", reply.excerpt()));
            }
            Ok(body.get("data").cloned().unwrap_or(Value::Null))
        }
        _ => Ok(body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, headers: &[(&str, &str)], body: &str) -> Reply {
        Reply { status, headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(), body: body.as_bytes().to_vec() }
    }

    #[test]
    fn each_api_format_is_told_apart() {
        let r = reply(400, &[], r#"{"meta":{"result_code":400,"result_subcode":12,"result_msg":"Validation error"},"data":{}}"#);
        assert!(matches!(recognise("clearml", &r), Native::Validation(_)));
        let r = reply(400, &[], r#"{"meta":{"result_code":400,"result_subcode":101,"result_msg":"Invalid task id"},"data":{}}"#);
        assert!(matches!(recognise("clearml", &r), Native::Refusal(_)));
        let r = reply(400, &[("x-amzn-errortype", "ValidationException")], r#"{"__type":"ValidationException","message":"x"}"#);
        assert!(matches!(recognise("sagemaker", &r), Native::Validation(_)));
        assert!(matches!(recognise("sagemaker", &reply(400, &[], r#"{"__type":"ValidationException","message":"x"}"#)), Native::Foreign(_)));
        assert_eq!(recognise("dioptra", &reply(501, &[], r#"{"error":"NotImplementedError","message":"m","detail":{}}"#)), Native::NotImplemented);
        assert!(matches!(recognise("comet", &reply(404, &[], r#"{"msg":"no","code":404,"sdk_error_code":404}"#)), Native::Refusal(_)));
        assert!(matches!(recognise("comet", &reply(404, &[], r#"{"msg":"no","code":400,"sdk_error_code":404}"#)), Native::Foreign(_)));
        assert!(matches!(recognise("lens", &reply(500, &[], "oops")), Native::Foreign(_)));
    }
}
