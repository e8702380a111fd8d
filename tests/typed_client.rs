//! The generated typed client (`specmill-client`) against the real server, on SQLite and
//! PostgreSQL: ClearML login and tokens, OpenAPI parameters and bodies, each API's error
//! reply decoded into its typed error, and the raw layer (`send_raw` and the decoders).

mod common;

use common::{block_on, typed, untyped, Backend, Server, CLEARML_TENANTS};
use serde_json::json;
use specmill_client::{AwsError, ClearMlError, CometError, DioptraError, Error, LensError};

per_backend! {
    clearml_login_and_tokens => clearml_login_and_tokens;
    openapi_calls_and_errors => openapi_calls_and_errors;
    comet_keys => comet_keys;
    dioptra_session => dioptra_session;
    raw_layer => raw_layer;
}

fn clearml_login_and_tokens(backend: Backend) {
    let Some(s) = Server::start_with_config(backend, CLEARML_TENANTS) else { return };
    // The key pair logs in (HTTP Basic) for a token; the token writes and reads.
    let keyed = s.client().with_clearml_key("AK-ACME", "secret-acme");
    let login = block_on(keyed.auth().login_v2_1(&Default::default())).unwrap();
    let token = login.token.expect("auth.login answers a token");
    let client = s.client().with_clearml_token(token);
    let event = typed(json!({"task": "typed-task", "type": "training_stats_scalar", "metric": "loss", "variant": "train", "iter": 3, "value": 0.5}));
    block_on(client.events().add_v2_1(&event)).unwrap();
    let got = block_on(client.events().get_scalar_metrics_and_variants_v2_1(&typed(json!({"task": "typed-task"})))).unwrap();
    assert_eq!(untyped(&got), json!({"metrics": {"loss": ["train"]}}));
    // The key pair works directly too, and another tenant does not see the task.
    let other = s.client().with_clearml_key("AK-GLOBEX", "secret-globex");
    match block_on(other.events().get_scalar_metrics_and_variants_v2_1(&typed(json!({"task": "typed-task"})))) {
        Err(Error::ClearMl(e)) => assert_eq!((e.status, e.result_code, e.result_subcode), (400, 400, 101), "{e}"),
        other => panic!("another tenant's task: {other:?}"),
    }
    // Refusals: no credentials (401/20), a bad key pair (401/22), a bad token (401/30).
    for (client, subcode) in [
        (s.client(), 20),
        (s.client().with_clearml_key("AK-ACME", "wrong"), 22),
        (s.client().with_clearml_token("not.a.token"), 30),
    ] {
        match block_on(client.events().add_v2_1(&event)) {
            Err(Error::ClearMl(ClearMlError { status, result_code, result_subcode, endpoint, .. })) => {
                assert_eq!((status, result_code, result_subcode, endpoint.as_str()), (401, 401, subcode, "events.add"));
            }
            other => panic!("not refused with 401/{subcode}: {other:?}"),
        }
    }
    match block_on(s.client().with_clearml_key("AK-ACME", "wrong").auth().login_v2_1(&Default::default())) {
        Err(Error::ClearMl(e)) => assert_eq!((e.result_code, e.result_subcode), (401, 22), "{e}"),
        other => panic!("a bad login: {other:?}"),
    }
}

fn openapi_calls_and_errors(backend: Backend) {
    let Some(s) = Server::start(backend) else { return };
    let client = s.client();
    // Written through SageMaker, read through Lens (path and query parameters).
    let put = typed(json!({"TrialComponentName": "typed-run", "MetricData": [
        {"MetricName": "loss", "Timestamp": 1704164400, "Step": 0, "Value": 0.5},
        {"MetricName": "loss", "Timestamp": 1704164401, "Step": 1, "Value": 0.25},
    ]}));
    assert_eq!(block_on(client.sage_maker_metrics().batch_put_metrics(&put)).unwrap().errors, None);
    let data = block_on(client.lens().get_workload_metrics_data(&typed(json!({"uid": "typed-run", "metrics": "loss"})))).unwrap();
    let data = untyped(&data);
    let points: Vec<(f64, f64)> = data["data"].as_array().unwrap().iter().map(|p| (p["iteration"].as_f64().unwrap(), p["value"].as_f64().unwrap())).collect();
    assert_eq!(points, vec![(0.0, 0.5), (1.0, 0.25)], "{data}");
    // Lens: a blank uid.
    match block_on(client.lens().get_workload_metrics_data(&typed(json!({"uid": " "})))) {
        Err(Error::Lens(LensError { status: 400, error })) => assert_eq!(error, "workload_uid is required"),
        other => panic!("not a Lens 400: {other:?}"),
    }
    // Dioptra: a path parameter and a JSON body; a job that does not exist.
    let metric = typed(json!({"id": 987654, "body": {"name": "loss", "value": 0.5}}));
    match block_on(client.dioptra().append_job_metric(&metric)) {
        Err(Error::Dioptra(DioptraError { status: 404, error, .. })) => assert_eq!(error.as_deref(), Some("EntityDoesNotExistError")),
        other => panic!("not a Dioptra 404: {other:?}"),
    }
    // SageMaker: a request the model refuses, by the server, or before sending when the
    // client validates requests.
    let bad = typed(json!({"TrialComponentName": "BAD_NAME", "MetricData": [{"MetricName": "m", "Timestamp": 1704164400, "Value": 1}]}));
    let eleven: Vec<_> = (0..11).map(|i| json!({"MetricName": "m", "Timestamp": 1704164400, "Step": i, "Value": 1})).collect();
    let too_many = typed(json!({"TrialComponentName": "local-check", "MetricData": eleven}));
    match block_on(s.client().with_request_validation(true).sage_maker_metrics().batch_put_metrics(&too_many)) {
        Err(Error::Invalid(violations)) => {
            let paths: Vec<&str> = violations.iter().map(|v| v.path.as_str()).collect();
            assert_eq!(paths, vec!["MetricData"], "{violations:?}");
        }
        other => panic!("not refused before sending: {other:?}"),
    }
    assert!(s.store().run_by_uid("default", "local-check").unwrap().is_none());
    match block_on(client.sage_maker_metrics().batch_put_metrics(&too_many)) {
        Err(Error::Aws(e)) => assert_eq!((e.status, e.code.as_str()), (400, "ValidationException")),
        other => panic!("not refused by the server: {other:?}"),
    }
    match block_on(client.sage_maker_metrics().batch_put_metrics(&bad)) {
        Err(Error::Aws(AwsError { status: 400, code, message })) => {
            assert_eq!(code, "ValidationException");
            assert!(message.contains("TrialComponentName"), "{message}");
        }
        other => panic!("not a ValidationException: {other:?}"),
    }
}

fn comet_keys(backend: Backend) {
    let config = "[[tenant]]\nname = \"acme\"\n[[tenant.comet]]\napi_key = \"CK1\"\n";
    let Some(s) = Server::start_with_config(backend, config) else { return };
    let create = typed(json!({"workspaceName": "acme", "projectName": "general", "experimentName": "typed"}));
    match block_on(s.client().comet().create_experiment(&create)) {
        Err(Error::Comet(CometError { status: 401, sdk_error_code, .. })) => assert_eq!(sdk_error_code, Some(90212)),
        other => panic!("not a Comet 401: {other:?}"),
    }
    let client = s.client().with_comet_api_key("CK1");
    let created = block_on(client.comet().create_experiment(&create)).unwrap();
    assert_eq!(created.experiment_key.len(), 32, "{created:?}");
    let key = created.experiment_key;
    let metric = typed(json!({"experimentKey": key, "metricName": "loss", "metricValue": 0.5, "step": 2, "timestamp": 1704164400000i64}));
    block_on(client.comet().log_experiment_metric(&metric)).unwrap();
    let summary = block_on(client.comet().get_experiment_metrics_summary(&typed(json!({"experimentKey": key})))).unwrap();
    let names: Vec<String> = summary.values.iter().map(|v| untyped(v)["name"].as_str().unwrap_or_default().to_string()).collect();
    assert_eq!(names, vec!["loss"], "{summary:?}");
    // An unknown experiment: 404 in Comet's body.
    match block_on(client.comet().get_experiment_metrics_summary(&typed(json!({"experimentKey": "0".repeat(32)})))) {
        Err(Error::Comet(CometError { status: 404, .. })) => {}
        other => panic!("not a Comet 404: {other:?}"),
    }
}

fn dioptra_session(backend: Backend) {
    let config = "[[tenant]]\nname = \"acme\"\n[[tenant.dioptra]]\nusername = \"alice\"\npassword = \"secret\"\n";
    let Some(s) = Server::start_with_config(backend, config) else { return };
    let create = typed(json!({"name": "typed-exp", "group": 1}));
    // Without a session: Flask-Login's 401 `{"message"}`.
    match block_on(s.client().dioptra().create_experiment(&create)) {
        Err(Error::Dioptra(DioptraError { status: 401, message, error: None, .. })) => assert!(message.is_some()),
        other => panic!("not a Dioptra 401: {other:?}"),
    }
    // A bad password: Dioptra's own error class.
    match block_on(s.client().dioptra().auth_login(&typed(json!({"username": "alice", "password": "nope"})))) {
        Err(Error::Dioptra(e)) => assert_eq!((e.status, e.error.as_deref()), (401, Some("UserPasswordError")), "{e}"),
        other => panic!("a bad login: {other:?}"),
    }
    // The login's cookies (through the raw layer, which keeps headers) open the session.
    let headers = [("content-type".to_string(), "application/json".to_string())];
    let login = block_on(s.client().send_raw("dioptra", "POST", "/api/v1/auth/login", &headers, br#"{"username":"alice","password":"secret"}"#.to_vec()));
    let login = login.unwrap();
    assert_eq!(login.status, 200, "{}", String::from_utf8_lossy(&login.body));
    let client = s.client().with_dioptra_cookie(login.cookie_header().expect("the login sets the session cookie"));
    let created = untyped(&block_on(client.dioptra().create_experiment(&create)).unwrap());
    assert_eq!(created["name"], "typed-exp", "{created}");
}

fn raw_layer(backend: Backend) {
    let Some(s) = Server::start_with_config(backend, CLEARML_TENANTS) else { return };
    let client = s.client().with_clearml_key("AK-ACME", "secret-acme");
    // Credentials are applied per API: the ClearML key pair goes to ClearML only.
    let body = br#"{"task": "raw-task", "type": "log", "msg": "hi"}"#.to_vec();
    let headers = [("content-type".to_string(), "application/json".to_string())];
    let reply = block_on(client.send_raw("clearml", "POST", "/v2.1/events.add", &headers, body.clone())).unwrap();
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    assert!(ClearMlError::from_reply(&reply).is_none());
    let reply = block_on(s.client().send_raw("clearml", "POST", "/v2.1/events.add", &headers, body)).unwrap();
    let e = ClearMlError::from_reply(&reply).expect("an error envelope");
    assert_eq!((e.status, e.result_code, e.result_subcode), (401, 401, 20));
    // Each decoder recognises its own API's format only.
    assert!(AwsError::from_reply(&reply).is_none() && CometError::from_reply(&reply).is_none() && LensError::from_reply(&reply).is_none());
    let reply = block_on(client.send_raw("sagemaker", "PUT", "/BatchPutMetrics", &headers, b"{not json".to_vec())).unwrap();
    let e = AwsError::from_reply(&reply).expect("an AWS error");
    assert_eq!((e.status, e.code.as_str()), (403, "MissingAuthenticationTokenException"));
    assert!(ClearMlError::from_reply(&reply).is_none());
    // (this config has no Lens token, so Lens refuses every caller, in its own format)
    let reply = block_on(client.send_raw("lens", "GET", "/v1/workloads/x/metrics/data?start=abc&end=1", &[], Vec::new())).unwrap();
    assert_eq!(
        LensError::from_reply(&reply).map(|e| (e.status, e.error)),
        Some((401, "authorization required: send Authorization: Bearer <token>".to_string()))
    );
    assert!(ClearMlError::from_reply(&reply).is_none() && AwsError::from_reply(&reply).is_none());
}
