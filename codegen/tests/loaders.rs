//! The three loaders on the project's real spec files, and their errors on broken ones.

use std::path::{Path, PathBuf};

use specmill_codegen::ir::{Body, Kind, ParamLocation, Protocol, Version};
use specmill_codegen::load;

fn specs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs")
}

fn v(s: &str) -> Option<Version> {
    Version::parse(s)
}

#[test]
fn clearml_events_conf() {
    let apis = load::load_dir(&specs()).unwrap();
    let api = apis.iter().find(|a| a.name == "clearml").unwrap();
    assert_eq!(api.protocol, Protocol::ClearMl);
    assert_eq!(api.services.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), vec!["auth", "events"]);
    let events = &api.services[1];
    let login = &api.services[0].operations[0];
    assert_eq!((login.name.as_str(), login.versions[0].authorize), ("login", false));
    assert!(events.operations.iter().all(|o| o.versions.iter().all(|v| v.authorize)));
    assert_eq!(events.operations.len(), 19, "{:?}", events.operations.iter().map(|o| &o.name).collect::<Vec<_>>());
    let log = events.operations.iter().find(|o| o.name == "get_task_log").unwrap();
    assert_eq!(log.versions.iter().map(|x| x.version).collect::<Vec<_>>(), vec![v("1.5"), v("1.7"), v("2.9")]);
    assert_eq!(log.versions[0].http.path, "/events.get_task_log");
    assert_eq!(log.versions[0].http.method, None);
    let batch = events.operations.iter().find(|o| o.name == "add_batch").unwrap();
    assert_eq!(batch.versions[0].body, Body::JsonLines { operation: "add".into(), version: v("1.5") });
    assert_eq!(api.max_version(), v("2.12"));
    // Definitions keep consts, refs and the misspelled name as the file has them.
    let scalar = &api.types.named["metrics_scalar_event"];
    let Kind::Object(obj) = &scalar.kind else { panic!("object expected") };
    let ty = obj.properties.iter().find(|p| p.name == "type").unwrap();
    assert!(ty.required);
    assert_eq!(ty.schema.kind, Kind::Const(serde_json::json!("training_stats_scalar")));
    assert!(api.types.named.contains_key("debug_image_sample_reposnse"));
    // Triple-quoted multi-line descriptions survive.
    assert!(scalar.description.contains("scalar metrics"));
}

#[test]
fn sagemaker_model() {
    let apis = load::load_dir(&specs()).unwrap();
    let api = apis.iter().find(|a| a.name == "sagemaker").unwrap();
    assert_eq!(api.protocol, Protocol::AwsRestJson);
    assert_eq!(api.signing_name.as_deref(), Some("sagemaker"));
    let put = api.services[0].operations.iter().find(|o| o.name == "BatchPutMetrics").unwrap();
    assert_eq!(put.versions[0].http.method.as_deref(), Some("PUT"));
    assert_eq!(put.versions[0].http.path, "/BatchPutMetrics");
    let Kind::Object(req) = &api.types.named["BatchPutMetricsRequest"].kind else { panic!() };
    let tc = req.properties.iter().find(|p| p.name == "TrialComponentName").unwrap();
    assert!(tc.required);
    assert_eq!(
        tc.schema.kind,
        Kind::String { min_length: Some(1), max_length: Some(120), pattern: Some("^[a-z0-9](-*[a-z0-9]){0,119}".into()), format: None }
    );
    assert_eq!(api.types.named["RawMetricDataList"].kind, Kind::Array {
        items: Box::new(specmill_codegen::ir::Schema::new(Kind::Ref("RawMetricData".into()))),
        min_items: Some(1),
        max_items: Some(10)
    });
    let Kind::Object(raw) = &api.types.named["RawMetricData"].kind else { panic!() };
    let value = raw.properties.iter().find(|p| p.name == "Value").unwrap();
    assert!(matches!(value.schema.kind, Kind::Number { nonfinite_as_strings: true, .. }));
    let step = raw.properties.iter().find(|p| p.name == "Step").unwrap();
    assert!(matches!(step.schema.kind, Kind::Integer { minimum: Some(0), .. }));
    assert!(!step.required);
    assert!(api.types.named["MetricStatistic"].kind == Kind::Enum(["Min", "Max", "Avg", "Count", "StdDev", "Last"].map(String::from).to_vec()));
}

#[test]
fn openapi_documents() {
    let apis = load::load_dir(&specs()).unwrap();
    let lens = apis.iter().find(|a| a.name == "lens").unwrap();
    assert_eq!(lens.mounts, vec!["/v1".to_string(), "/lens/v1".to_string()]);
    let data = lens.services[0].operations.iter().find(|o| o.name == "get_workload_metrics_data").unwrap();
    let ver = &data.versions[0];
    assert_eq!((ver.http.method.as_deref(), ver.http.path.as_str()), (Some("GET"), "/workloads/{uid}/metrics/data"));
    let uid = ver.params.iter().find(|p| p.name == "uid").unwrap();
    assert_eq!((uid.location, uid.required), (ParamLocation::Path, true));
    let start = ver.params.iter().find(|p| p.name == "start").unwrap();
    assert_eq!(start.location, ParamLocation::Query);
    assert!(matches!(start.schema.kind, Kind::Integer { bits: 64, .. }));
    assert!(ver.errors.iter().any(|e| e.status == 400));
    let streamed = ver.streamed.as_ref().expect("metrics/data is streamed (x-specmill-stream)");
    assert_eq!((streamed.items.as_str(), streamed.count.as_deref()), ("data", Some("total_count")));
    let dioptra = apis.iter().find(|a| a.name == "dioptra").unwrap();
    assert_eq!(dioptra.mounts, vec!["/api/v1".to_string()]);
    let Kind::Object(metric_in) = &dioptra.types.named["MetricIn"].kind else { panic!() };
    assert_eq!(metric_in.additional, specmill_codegen::ir::Additional::Forbid);
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

#[test]
fn a_broken_spec_names_file_and_reason() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "clearml/events.conf", "{ add { \"2.1\" { request ] type: object } } }\n");
    let err = load::load_dir(tmp.path()).unwrap_err().to_string();
    assert!(err.contains("events.conf") && err.contains("HOCON"), "{err}");

    // A file cut short is an error naming the line, not a silently shorter spec.
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "clearml/events.conf", "{\n  add {\n    \"2.1\" { request { type: object } }\n");
    let err = load::load_dir(tmp.path()).unwrap_err().to_string();
    assert!(err.contains("events.conf") && err.contains("line 2: `{` is never closed"), "{err}");

    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "clearml/events.conf", "{ add { \"two\" { request { type: object } } } }");
    let err = load::load_dir(tmp.path()).unwrap_err().to_string();
    assert!(err.contains("`two` is not a version"), "{err}");

    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "openapi/x.yaml", "openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths:\n  /a/{id}:\n    get:\n      responses: {'200': {description: ok}}\n");
    let err = load::load_dir(tmp.path()).unwrap_err().to_string();
    assert!(err.contains("x.yaml") && err.contains("GET /a/{id}: path parameter `id` is not declared"), "{err}");

    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "aws/m.json", r#"{"metadata": {"protocol": "rest-json"}, "shapes": {"S": {"type": "string", "pattern": "(("}}, "operations": {}}"#);
    let err = load::load_dir(tmp.path()).unwrap_err().to_string();
    assert!(err.contains("m.json") && err.contains("pattern"), "{err}");
}

/// ClearML schema files as clearml-server ships them: include files, `${…}` references and
/// object concatenation between versions, `_default` blocks, backslashes that are not
/// escapes, definitions shared between services.
#[test]
fn clearml_includes_references_and_escapes() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "clearml/_common.conf", "metadata_item {\n  type: object\n  properties { key { type: string, description: \"a \\> b\" } }\n}\n");
    write(
        tmp.path(),
        "clearml/svc.conf",
        r##"{
    _description: "A service"
    _default { internal: false, allow_roles: ["*"], authorize: false }
    _definitions {
        include "_common.conf"
        local { type: object, properties { m { "$ref": "#/definitions/metadata_item" } } }
    }
    get_log {
        "1.7" {
            description: "old \d"
            request { type: object, properties { task { type: string } } }
            response { type: object, properties { ok { type: boolean } } }
        }
        "2.9": ${get_log."1.7"} {
            description: "new"
            request.properties.limit { type: integer }
        }
        "2.30": ${get_log."2.9"} {}
    }
}
"##,
    );
    write(
        tmp.path(),
        "clearml/other.conf",
        "_definitions {\n  include \"_common.conf\"\n  local { type: string }\n}\nping { \"3.0\" { request { type: object, properties { l { \"$ref\": \"#/definitions/local\" } } } } }\n",
    );
    let apis = load::load_dir(tmp.path()).unwrap();
    let api = &apis[0];
    assert_eq!(api.services.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["other", "svc"], "`_common.conf` is include-only");
    assert_eq!(api.max_version(), v("3.0"));
    let svc = &api.services[1];
    let op = &svc.operations[0];
    assert_eq!(op.versions.iter().map(|x| x.version).collect::<Vec<_>>(), [v("1.7"), v("2.9"), v("2.30")]);
    assert_eq!(op.versions[0].description, r"old \d", "the backslash is kept");
    assert_eq!(op.versions[2].description, "new", "2.30 is 2.9 as it is");
    assert!(op.versions.iter().all(|x| !x.authorize), "`_default.authorize: false` opens every endpoint");
    let fields = |x: &specmill_codegen::ir::OperationVersion| match &x.body {
        Body::Json { schema: specmill_codegen::ir::Schema { kind: Kind::Object(o), .. }, .. } => o.properties.iter().map(|p| p.name.clone()).collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    assert_eq!(fields(&op.versions[0]), ["task"]);
    assert_eq!(fields(&op.versions[1]), ["task", "limit"], "2.9 adds `limit` to 1.7's request");
    assert_eq!(fields(&op.versions[2]), ["task", "limit"]);
    assert!(op.versions[2].response.is_some());
    // the included definition is one type; `local` differs between the services, so the
    // second service's own is renamed, with its references
    let Kind::Object(item) = &api.types.named["metadata_item"].kind else { panic!() };
    assert_eq!(item.properties[0].schema.description, r"a \> b");
    assert!(matches!(api.types.named["local"].kind, Kind::String { .. } | Kind::Object(_)));
    assert!(api.types.named.contains_key("svc_local"), "{:?}", api.types.named.keys().collect::<Vec<_>>());
    let Kind::Object(local) = &api.types.named["svc_local"].kind else { panic!("svc's `local` is its object") };
    assert_eq!(local.properties[0].schema.kind, Kind::Ref("metadata_item".into()));
}

#[test]
fn a_broken_include_or_reference_names_its_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "clearml/_common.conf", "a { type: object }\nb {\n  type: = = \n}\n");
    write(tmp.path(), "clearml/svc.conf", "_definitions { include \"_common.conf\" }\nx { \"1.0\" { request { type: object } } }\n");
    let err = load::load_dir(tmp.path()).unwrap_err().to_string();
    assert!(err.contains("_common.conf") && err.contains("line 3"), "{err}");

    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "clearml/svc.conf", "x {\n  \"1.0\" { request { type: object } }\n  \"1.1\": ${x.\"1.9\"} {}\n}\n");
    let err = load::load_dir(tmp.path()).unwrap_err().to_string();
    assert!(err.contains("svc.conf") && err.contains("line 3"), "{err}");

    // a missing include is an error, not a smaller spec
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "clearml/svc.conf", "_definitions { include required(\"_gone.conf\") }\nx { \"1.0\" { request { type: object } } }\n");
    let err = load::load_dir(tmp.path()).unwrap_err().to_string();
    assert!(err.contains("svc.conf") && err.contains("_gone.conf"), "{err}");
}

#[test]
fn writing_is_idempotent_and_check_sees_staleness() {
    let generated = specmill_codegen::generate_dir(&specs()).unwrap();
    let files = &generated[&specmill_codegen::Tree::Server];
    let out = tempfile::tempdir().unwrap();
    let written = specmill_codegen::write_if_changed(out.path(), files).unwrap();
    assert_eq!(written.len(), files.len());
    assert!(specmill_codegen::check(out.path(), files).unwrap().is_empty());
    // A second run writes nothing (no rebuild loops).
    assert!(specmill_codegen::write_if_changed(out.path(), files).unwrap().is_empty());
    // A hand edit and a leftover file are both reported, then repaired.
    std::fs::write(out.path().join("clearml/types.rs"), "// edited").unwrap();
    std::fs::write(out.path().join("old.rs"), "").unwrap();
    let diffs = specmill_codegen::check(out.path(), files).unwrap();
    assert_eq!(diffs.len(), 2, "{diffs:?}");
    assert_eq!(specmill_codegen::write_if_changed(out.path(), files).unwrap().len(), 2);
    assert!(!out.path().join("old.rs").exists());
    // The committed trees (generated/, client/src/generated/) are exactly what the specs produce.
    let dirs = specmill_codegen::workspace_dirs(&Path::new(env!("CARGO_MANIFEST_DIR")).join(".."));
    assert_eq!(specmill_codegen::check_all(&dirs, &generated).unwrap(), Vec::<String>::new());
}

#[test]
fn names() {
    use specmill_codegen::names::*;
    assert_eq!(field_name("type"), "type_");
    assert_eq!(field_name("pageLength"), "page_length");
    assert_eq!(field_name("@timestamp"), "timestamp");
    assert_eq!(type_name("debug_image_sample_reposnse"), "DebugImageSampleReposnse");
    assert_eq!(type_name("2fa"), "T2fa");
    assert_eq!(variant_name("-inf"), "NegInf");
    assert_eq!(variant_name("inf"), "Inf");
    assert_eq!(version_suffix(Version::parse("2.12")), "V2_12");
}

#[test]
fn multipart_form_parts_become_form_parameters() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "openapi/up.yaml",
        r#"openapi: 3.0.3
info: {title: up, version: '1'}
paths:
  /upload:
    post:
      operationId: upload
      requestBody:
        required: true
        content:
          multipart/form-data:
            schema: {$ref: '#/components/schemas/Upload'}
      responses: {'200': {description: ok}}
components:
  schemas:
    Upload:
      type: object
      required: [file]
      properties:
        file: {type: string, format: binary, description: the bytes}
        metadata: {type: string, description: JSON text}
"#,
    );
    let apis = load::load_dir(tmp.path()).unwrap();
    let v = &apis[0].services[0].operations[0].versions[0];
    assert_eq!(v.body, Body::None);
    let parts: Vec<(&str, ParamLocation, bool)> = v.params.iter().map(|p| (p.name.as_str(), p.location, p.required)).collect();
    assert_eq!(parts, vec![("file", ParamLocation::Form, true), ("metadata", ParamLocation::Form, false)]);
    let generated = specmill_codegen::emit::generate(&apis).unwrap();
    let files = &generated[&specmill_codegen::Tree::Server];
    let types = &files["up/types.rs"];
    assert!(types.contains("pub file: ::specmill_runtime::wire::FilePart"), "{types}");
    // The client's copy of the type takes the wire crate's FilePart and sends it as a file part.
    let client = &generated[&specmill_codegen::Tree::Client];
    assert!(client["up/types.rs"].contains("pub file: ::specmill_wire::wire::FilePart"), "{}", client["up/types.rs"]);
    assert!(client["up/services.rs"].contains("call.form_file(\"file\", &request.file);"), "{}", client["up/services.rs"]);
    let server = &files["up/server.rs"];
    assert!(server.contains("Form::parse(&req, body)") && server.contains("form.file(\"file\")"), "{server}");
}

#[test]
fn parameter_references_resolve() {
    let tmp = tempfile::tempdir().unwrap();
    let doc = |param: &str| {
        format!(
            r#"openapi: 3.0.3
info: {{title: p, version: '1'}}
paths:
  /things/{{id}}:
    parameters:
      - $ref: '#/components/parameters/{param}'
    get:
      operationId: get_thing
      parameters:
        - {{name: verbose, in: query, schema: {{type: boolean}}}}
      responses: {{'200': {{description: ok}}}}
components:
  parameters:
    Id: {{name: id, in: path, required: true, description: The thing, schema: {{type: integer}}}}
"#
        )
    };
    write(tmp.path(), "openapi/p.yaml", &doc("Id"));
    let apis = load::load_dir(tmp.path()).unwrap();
    let v = &apis[0].services[0].operations[0].versions[0];
    let names: Vec<(&str, ParamLocation)> = v.params.iter().map(|p| (p.name.as_str(), p.location)).collect();
    assert_eq!(names, vec![("id", ParamLocation::Path), ("verbose", ParamLocation::Query)]);
    assert_eq!(v.params[0].description, "The thing");
    write(tmp.path(), "openapi/p.yaml", &doc("Nope"));
    let err = load::load_dir(tmp.path()).unwrap_err().to_string();
    assert!(err.contains("parameter `Nope` is not defined"), "{err}");
}

#[test]
fn a_streamed_reply_must_name_an_array_member() {
    let doc = |items: &str| {
        format!(
            r#"openapi: 3.0.3
info: {{title: s, version: '1'}}
paths:
  /rows:
    get:
      operationId: rows
      x-specmill-stream: {{items: {items}, count: n}}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {{$ref: '#/components/schemas/Rows'}}
components:
  schemas:
    Rows:
      type: object
      properties:
        rows: {{type: array, items: {{type: integer}}}}
        n: {{type: integer}}
        label: {{type: string}}
"#
        )
    };
    let api = specmill_codegen::load::openapi::load_str(&doc("rows"), "openapi/s.yaml", "s").unwrap();
    let streamed = api.services[0].operations[0].versions[0].streamed.clone().unwrap();
    assert_eq!((streamed.items.as_str(), streamed.count.as_deref()), ("rows", Some("n")));
    let err = specmill_codegen::load::openapi::load_str(&doc("label"), "openapi/s.yaml", "s").unwrap_err();
    assert!(err.contains("`label` is not an array member"), "{err}");
}
