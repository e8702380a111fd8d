//! The generated OpenAPI document (`generated/openapi.json`, served at `/openapi.json`):
//! it describes every route the server registers, the server serves it and a page that
//! renders it, and schemathesis, fuzzing the live server from it, finds no server error
//! and no reply that violates it.

mod common;

use std::process::Command;

use common::{python, Backend, Server};
use serde_json::Value;
use specmill::generated::ROUTES;

fn document() -> Value {
    serde_json::from_str(specmill::docs::OPENAPI_JSON).expect("generated/openapi.json is JSON")
}

#[test]
fn every_served_route_is_described_once() {
    let doc = document();
    let paths = doc["paths"].as_object().expect("paths");
    let mut described = 0;
    for route in ROUTES.iter().flat_map(|t| t.iter()) {
        // ClearML routes accept any method; the document shows POST.
        let method = route.method.unwrap_or("POST").to_ascii_lowercase();
        let op = &paths.get(route.path).unwrap_or_else(|| panic!("{} is not in openapi.json", route.path))[method.as_str()];
        assert!(op.is_object(), "{method} {} is not in openapi.json", route.path);
        assert_eq!(op["tags"][0], route.api, "{} is tagged with its API", route.path);
        assert!(op["responses"]["200"].is_object(), "{} documents its success", route.path);
        described += 1;
    }
    let operations: usize = paths.values().map(|item| item.as_object().map(|m| m.len()).unwrap_or(0)).sum();
    assert_eq!(operations, described, "the document describes exactly the served routes");
    let ids: std::collections::BTreeSet<&str> =
        paths.values().flat_map(|item| item.as_object().into_iter().flat_map(|m| m.values())).filter_map(|op| op["operationId"].as_str()).collect();
    assert_eq!(ids.len(), operations, "operationIds are unique");
}

#[test]
fn clearml_replies_are_described_inside_their_envelope() {
    let doc = document();
    let op = &doc["paths"]["/v2.9/events.get_task_log"]["post"];
    let ok = &op["responses"]["200"]["content"]["application/json"]["schema"];
    assert_eq!(ok["required"], serde_json::json!(["meta", "data"]));
    assert_eq!(ok["properties"]["data"]["properties"]["events"]["type"], "array");
    let meta = &doc["components"]["schemas"]["clearml._envelope_meta"];
    assert_eq!(meta["properties"]["result_subcode"]["type"], "integer");
    let batch = &doc["paths"]["/v2.1/events.add_batch"]["post"]["requestBody"];
    assert!(batch["description"].as_str().unwrap().contains("One JSON object per line"), "{batch}");
}

#[test]
fn the_server_serves_the_document_and_a_page_that_renders_it() {
    let Some(server) = Server::start(Backend::Sqlite) else { return };
    let doc = server.send("GET", "/openapi.json", "", "");
    assert_eq!(doc.status, 200);
    assert_eq!(doc.header("content-type"), Some("application/json"));
    assert_eq!(doc.json(), document());
    let page = server.send("GET", "/docs", "", "");
    assert_eq!(page.status, 200);
    assert!(page.header("content-type").unwrap().starts_with("text/html"));
    assert!(page.text.contains("fetch(\"/openapi.json\")"), "the page loads the served document");
}

/// schemathesis (examples from the schema, coverage, fuzzing and stateful phases, bounded by
/// examples per operation and by time) against a fresh server: no 5xx, no reply that
/// violates the document. The run's numbers are printed.
#[test]
fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    let Some(python) = python() else { return };
    let Some(server) = Server::start(Backend::Sqlite) else { return };
    let cli = python.with_file_name("schemathesis");
    assert!(cli.exists(), "{} missing: schemathesis is in tests/python/requirements.txt", cli.display());
    let max_time = std::env::var("SPECMILL_SCHEMATHESIS_SECONDS").unwrap_or_else(|_| "90".into());
    let out = Command::new(&cli)
        .args(["run", &format!("{}/openapi.json", server.base)])
        .args(["--checks", "not_a_server_error,response_schema_conformance"])
        .args(["--max-examples", "15", "--max-time", &max_time, "--seed", "1", "--workers", "1"])
        .args(["--generation-database", "none", "--no-color", "--request-timeout", "10"])
        .env("HOME", std::env::temp_dir())
        .current_dir(std::env::temp_dir())
        .output()
        .expect("run schemathesis");
    let text = String::from_utf8_lossy(&out.stdout);
    let summary = text.find("SUMMARY").map(|i| &text[i..]).unwrap_or(&text);
    println!("schemathesis summary:\n{summary}");
    assert!(out.status.success(), "schemathesis found failures:\n{text}\n{}", String::from_utf8_lossy(&out.stderr));
    let operations = ROUTES.iter().map(|t| t.len()).sum::<usize>();
    assert!(text.contains(&format!("Tested: {operations}")), "every operation was tested:\n{summary}");
}
