//! Recognising each API's native error format in a reply: the one place the harness knows
//! what ClearML, AWS, Lens, Dioptra and Comet errors look like. The reading is the generated
//! client's (its typed errors' `from_reply` decoders); on top, the harness asks for the
//! format in full (the AWS code in both header and body, the ClearML and Comet codes equal
//! to the HTTP status), which a lenient client does not need.

use serde_json::Value;
use specmill_client::{AwsError, ClearMlError, CometError, DioptraError, LensError};

use super::send::{excerpt, Reply};

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
    let foreign = |why: &str| Native::Foreign(format!("{why}: {}", excerpt(reply)));
    match api {
        // {"meta": {"result_code": status, "result_subcode": n, "result_msg": …}, "data": …}
        "clearml" => {
            let Some(e) = ClearMlError::from_reply(reply) else { return foreign("not a ClearML error envelope") };
            if e.result_code != i64::from(status) || !body["meta"]["result_subcode"].is_i64() || !body["meta"]["result_msg"].is_string() {
                return foreign("meta.result_code differs from the HTTP status, or no result_subcode/result_msg");
            }
            let what = format!("{}/{} {}", e.result_code, e.result_subcode, e.result_msg);
            match (e.result_code, e.result_subcode) {
                (501, _) => Native::NotImplemented,
                // 0: undecodable body, 11: missing fields, 12: validation error.
                (400, 0 | 11 | 12) => Native::Validation(what),
                _ => Native::Refusal(what),
            }
        }
        // x-amzn-ErrorType header and {"__type", "message"}.
        "sagemaker" => {
            let Some(e) = AwsError::from_reply(reply) else { return foreign("not an AWS error") };
            let header = reply.header("x-amzn-ErrorType").map(|h| h.split(':').next().unwrap_or(h));
            if header != Some(e.code.as_str()) || body["__type"].as_str() != Some(e.code.as_str()) || !body["message"].is_string() {
                return foreign("the error code is not in both x-amzn-ErrorType and {\"__type\", \"message\"}");
            }
            let what = format!("{}: {}", e.code, e.message);
            match e.code.as_str() {
                "NotImplemented" => Native::NotImplemented,
                "ValidationException" | "SerializationException" => Native::Validation(what),
                _ => Native::Refusal(what),
            }
        }
        // {"error": "…"}
        "lens" => {
            let Some(e) = LensError::from_reply(reply) else { return foreign("no \"error\" string") };
            match status {
                501 if e.error.starts_with("not implemented") => Native::NotImplemented,
                400 => Native::Validation(e.error),
                _ => Native::Refusal(e.error),
            }
        }
        // {"error", "message", "detail", "originating_path"}, {"errors": {field: [msg]}}, {"message"}
        "dioptra" => {
            let Some(e) = DioptraError::from_reply(reply) else { return foreign("none of Dioptra's error bodies") };
            if let Some(errors) = e.errors {
                return Native::Validation(Value::Object(errors).to_string());
            }
            match (e.error, e.message) {
                (Some(error), Some(msg)) => {
                    let what = format!("{error}: {msg}");
                    match error.as_str() {
                        "NotImplementedError" => Native::NotImplemented,
                        x if x.ends_with("ValidationError") || x == "SearchParseError" => Native::Validation(what),
                        _ => Native::Refusal(what),
                    }
                }
                (None, Some(m)) if status == 400 => Native::Validation(m),
                (None, Some(m)) => Native::Refusal(m),
                _ => foreign("an error class without a message"),
            }
        }
        // {"msg", "code", "sdk_error_code"}
        "comet" => {
            let Some(e) = CometError::from_reply(reply) else { return foreign("no msg") };
            if e.code != Some(i64::from(status)) || e.sdk_error_code.is_none() {
                return foreign("code differs from the HTTP status or no sdk_error_code");
            }
            match status {
                501 => Native::NotImplemented,
                400 => Native::Validation(e.msg),
                _ => Native::Refusal(e.msg),
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
    let body: Value = serde_json::from_slice(&reply.body).map_err(|e| format!("reply is not JSON ({e}): {}", excerpt(reply)))?;
    match api {
        "clearml" => {
            if body["meta"]["result_code"] != 200 {
                return Err(format!("envelope without meta.result_code 200: {}", excerpt(reply)));
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
