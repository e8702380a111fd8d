//! The SigV4 verifier against requests signed by the real boto3/botocore, recorded by
//! `fixtures/sigv4/generate.py` with frozen clocks, plus tampered copies, each with the
//! verdict the verifier must reach; and the reference's worked example step by step.

use serde_json::Value;
use sha2::{Digest, Sha256};
use specmill_runtime::sigv4::{self, parse_amz_date, Failure, Request};

fn fixtures() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sigv4/boto3_requests.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture file")).expect("fixture JSON")
}

fn request(v: &Value) -> Request<'_> {
    Request {
        method: v["method"].as_str().unwrap(),
        path: v["path"].as_str().unwrap(),
        query: v["query"].as_str().unwrap(),
        headers: v["headers"].as_array().unwrap().iter().map(|h| (h[0].as_str().unwrap().to_string(), h[1].as_str().unwrap().to_string())).collect(),
        body: v["body"].as_str().unwrap().as_bytes(),
    }
}

/// (tenant, secret) of a configured key id.
fn lookup<'a>(keys: &'a Value) -> impl Fn(&str) -> Option<(String, String)> + 'a {
    move |akid| {
        keys.as_array()
            .unwrap()
            .iter()
            .find(|k| k["access_key_id"] == akid)
            .map(|k| (k["tenant"].as_str().unwrap().to_string(), k["secret_access_key"].as_str().unwrap().to_string()))
    }
}

#[test]
fn every_recorded_request_gets_its_verdict() {
    let doc = fixtures();
    let service = doc["service"].as_str().unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let mut failures = Vec::new();
    let (mut accepted, mut refused) = (0, 0);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let now = parse_amz_date(case["now"].as_str().unwrap()).unwrap();
        let req = request(&case["request"]);
        let expect = &case["expect"];
        let got = sigv4::verify(&req, service, now, lookup(&doc["keys"]));
        match (expect["ok"].as_bool().unwrap(), got) {
            (true, Ok((verified, tenant))) => {
                accepted += 1;
                if verified.access_key_id != expect["access_key_id"] || tenant != expect["tenant"] || verified.region != expect["region"] {
                    failures.push(format!("{name}: accepted as {verified:?} / {tenant}, expected {expect}"));
                }
            }
            (false, Err(failure)) => {
                refused += 1;
                let contains = expect["message_contains"].as_str().unwrap();
                if failure.code() != expect["code"] || !failure.message().contains(contains) {
                    failures.push(format!("{name}: refused {} '{}', expected {expect}", failure.code(), failure.message()));
                }
            }
            (true, Err(failure)) => failures.push(format!("{name}: refused {} '{}', expected acceptance", failure.code(), failure.message())),
            (false, Ok((verified, _))) => failures.push(format!("{name}: accepted ({verified:?}), expected {expect}")),
        }
    }
    assert!(failures.is_empty(), "{} of {} cases wrong:\n{}", failures.len(), cases.len(), failures.join("\n"));
    assert!(accepted >= 15 && refused >= 25, "{accepted} accepted, {refused} refused");
}

#[test]
fn session_token_is_reported() {
    let doc = fixtures();
    let case = doc["cases"].as_array().unwrap().iter().find(|c| c["name"] == "boto3_session_token").unwrap();
    let now = parse_amz_date(case["now"].as_str().unwrap()).unwrap();
    let (verified, _) = sigv4::verify(&request(&case["request"]), "sagemaker", now, lookup(&doc["keys"])).unwrap();
    assert!(verified.session_token.unwrap().starts_with("FQoG"));
}

#[test]
fn reference_worked_example_step_by_step() {
    let doc = fixtures();
    let case = doc["cases"].as_array().unwrap().iter().find(|c| c["name"] == "reference_worked_example").unwrap();
    let req = request(&case["request"]);
    let body_hash = sigv4::hex(&Sha256::digest(req.body));
    assert_eq!(body_hash, "f6407d53cfaba60e0e7438da3e9d72ea0983a0db4d7af6d4ef4b62564113409f");
    let canonical = sigv4::canonical_request(&req, "content-type;host;x-amz-date", &body_hash);
    assert_eq!(
        canonical,
        "PUT\n/BatchPutMetrics\n\ncontent-type:application/json\nhost:127.0.0.1:43737\nx-amz-date:20261124T055708Z\n\n\
         content-type;host;x-amz-date\nf6407d53cfaba60e0e7438da3e9d72ea0983a0db4d7af6d4ef4b62564113409f"
    );
    let to_sign = sigv4::string_to_sign("20261124T055708Z", "20261124/us-east-1/sagemaker/aws4_request", &canonical);
    let hash = to_sign.rsplit('\n').next().unwrap();
    assert!(hash.starts_with("398c46cc") && hash.ends_with("f739"), "{to_sign}");
    assert_eq!(to_sign.rsplit_once('\n').unwrap().0, "AWS4-HMAC-SHA256\n20261124T055708Z\n20261124/us-east-1/sagemaker/aws4_request");
    // signing it ourselves gives the header boto3 sent
    let header =
        sigv4::sign(&req, "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "sagemaker", "content-type;host;x-amz-date");
    assert_eq!(
        header,
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261124/us-east-1/sagemaker/aws4_request, SignedHeaders=content-type;host;x-amz-date, \
         Signature=a3cc0c18ffaa63448e135796edaaa6fd16b7e18b103d63e86f31f47b564a7b9d"
    );
}

#[test]
fn skew_messages_name_both_times() {
    let doc = fixtures();
    let case = doc["cases"].as_array().unwrap().iter().find(|c| c["name"] == "reference_worked_example").unwrap();
    let req = request(&case["request"]);
    let t0 = parse_amz_date("20261124T055708Z").unwrap();
    let e = sigv4::verify(&req, "sagemaker", t0 + 3600, lookup(&doc["keys"])).unwrap_err();
    assert_eq!(e, Failure::Invalid("Signature expired: 20261124T055708Z is now earlier than 20261124T064208Z (20261124T065708Z - 15 min.)".into()));
    let e = sigv4::verify(&req, "sagemaker", t0 - 3600, lookup(&doc["keys"])).unwrap_err();
    assert_eq!(
        e,
        Failure::Invalid("Signature not yet current: 20261124T055708Z is still later than 20261124T051208Z (20261124T045708Z + 15 min.)".into())
    );
    // the service is checked against the one asked for
    let e = sigv4::verify(&req, "metrics", t0, lookup(&doc["keys"])).unwrap_err();
    assert_eq!(e.code(), "InvalidSignatureException");
}

#[test]
fn own_signer_round_trips_through_the_verifier() {
    let body = br#"{"MetricQueries": []}"#;
    let mut req = Request {
        method: "POST",
        path: "/BatchGetMetrics",
        query: "",
        headers: vec![
            ("Host".into(), "localhost:8008".into()),
            ("Content-Type".into(), "application/json".into()),
            ("X-Amz-Date".into(), "20240102T030405Z".into()),
        ],
        body,
    };
    let auth = sigv4::sign(&req, "AK", "SK", "local", "sagemaker", "content-type;host;x-amz-date");
    req.headers.push(("Authorization".into(), auth));
    let now = parse_amz_date("20240102T030405Z").unwrap();
    let keys = |k: &str| (k == "AK").then(|| ((), "SK".to_string()));
    let (v, ()) = sigv4::verify(&req, "sagemaker", now, keys).unwrap();
    assert_eq!((v.access_key_id.as_str(), v.region.as_str(), v.session_token), ("AK", "local", None));
    let keys = |k: &str| (k == "AK").then(|| ((), "other".to_string()));
    assert_eq!(sigv4::verify(&req, "sagemaker", now, keys).unwrap_err(), Failure::Invalid(sigv4::MISMATCH.into()));
}
