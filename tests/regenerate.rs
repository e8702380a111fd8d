//! A spec change regenerates the server with no hand edit: a copy of `events.conf` gains a
//! version "2.13" of `get_task_log` and a new endpoint `get_task_summary`; the codegen
//! output gains their types, trait methods and routes, and a server rebuilt from the copy
//! answers them with ClearML's "not implemented" envelope while old versions keep working.
//! The contract tests (`specmill::contract`), run on the modified specs with no change to
//! the harness, gain the new version's cases and list the new operations as not implemented.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;
use specmill_codegen::Tree;

const ADDITION: &str = r#"
    get_task_log {
        "2.13" {
            description: "Get a task's log, newest first (added by the regeneration test)"
            request {
                type: object
                required: [ task ]
                properties {
                    task { description: "Task ID", type: string }
                    batch_size { description: "Events per page", type: integer, minimum: 1, maximum: 10000 }
                }
            }
            response {
                type: object
                properties {
                    events { type: array, items { type: object } }
                    returned { type: integer }
                }
            }
        }
    }
    get_task_summary {
        "2.13" {
            description: "A new endpoint (added by the regeneration test)"
            request {
                type: object
                required: [ task ]
                properties { task { description: "Task ID", type: string } }
            }
            response {
                type: object
                properties { metrics { type: integer } }
            }
        }
    }
"#;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `src` copied to `dst` (files and directories, recursively).
fn copy_tree(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let p = entry.unwrap().path();
        let to = dst.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_tree(&p, &to);
        } else {
            std::fs::copy(&p, &to).unwrap();
        }
    }
}

/// A copy of the spec directory whose events.conf has the addition.
fn modified_specs(dir: &Path) {
    copy_tree(&root().join("specs"), dir);
    let conf = dir.join("clearml/events.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    let end = text.rfind('}').expect("events.conf is one object");
    std::fs::write(&conf, format!("{}{ADDITION}{}", &text[..end], &text[end..])).unwrap();
}

#[test]
fn codegen_output_follows_the_spec_change() {
    let tmp = tempfile::tempdir().unwrap();
    modified_specs(tmp.path());
    let before = specmill_codegen::generate_dir(&root().join("specs")).unwrap();
    let after = specmill_codegen::generate_dir(tmp.path()).unwrap();
    let (server_tree, client_tree) = (&after[&Tree::Server], &after[&Tree::Client]);
    let (types, server, routes) = (&server_tree["clearml/types.rs"], &server_tree["clearml/server.rs"], &server_tree["ROUTES.md"]);
    let (client_types, client) = (&client_tree["clearml/types.rs"], &client_tree["clearml/services.rs"]);
    let python = &server_tree["python/specmill_client.py"];
    for (text, needle) in [
        (client_types, "pub struct GetTaskSummaryV2_13Request"),
        (client, "pub async fn get_task_summary_v2_13("),
        (client, "\"/v2.13/events.get_task_summary\""),
        (types, "pub struct GetTaskLogV2_13Request"),
        (types, "pub struct GetTaskSummaryV2_13Request"),
        (types, "/// A new endpoint (added by the regeneration test)"),
        (server, "async fn get_task_log_v2_13("),
        (server, "async fn get_task_summary_v2_13("),
        (server, "pub const MAX_VERSION: &str = \"2.13\";"),
        (server, "\"/events.get_task_summary\""),
        (routes, "| any | `/v2.13/events.get_task_summary` | 2.13 |"),
        (python, "class GetTaskSummaryV2_13Request:"),
        (python, "    def get_task_log_v2_13(self, request: Optional[GetTaskLogV2_13Request] = None, /, **fields: Any) -> GetTaskLogV2_13Response:"),
        (python, "    def get_task_summary_v2_13(self, request: Optional[GetTaskSummaryV2_13Request] = None, /, **fields: Any)"),
        (python, "        call = _Call(\"POST\", \"/v2.13/events.get_task_summary\")"),
        (python, "        \"\"\"A new endpoint (added by the regeneration test)"),
    ] {
        assert!(text.contains(needle), "regenerated code lacks `{needle}`");
        assert!(!before.values().flat_map(|tree| tree.values()).any(|t| t.contains(needle)), "`{needle}` was there before the change");
    }
    // Constraints of the new version become validation.
    let validate = types.split("impl ::specmill_runtime::validate::Validate for GetTaskLogV2_13Request").nth(1).unwrap();
    let validate = &validate[..validate.find("\n}\n").unwrap()];
    for needle in ["v.enter(\"batch_size\")", "v.range(", "::std::option::Option::Some(1f64)", "::std::option::Option::Some(10000f64)"] {
        assert!(validate.contains(needle), "validation of 2.13 lacks `{needle}`:\n{validate}");
    }
    // Nothing else changed: the other APIs are byte for byte the same.
    // (the Python client and the OpenAPI document describe every API in one file)
    for (tree, files) in &before {
        for (path, text) in files {
            if !path.starts_with("clearml/") && !["ROUTES.md", "python/specmill_client.py", "openapi.json"].contains(&path.as_str()) {
                assert_eq!(&after[tree][path], text, "{tree:?} {path} changed");
            }
        }
    }
}

/// Rebuild the server from a copy of the project with the modified spec (in its own target
/// directory under `target/`, so the outer build is untouched) and talk to it.
#[test]
fn rebuilt_server_serves_the_new_routes() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("specmill");
    for entry in ["Cargo.toml", "Cargo.lock", "build.rs"] {
        std::fs::create_dir_all(&project).unwrap();
        std::fs::copy(root().join(entry), project.join(entry)).unwrap();
    }
    for dir in ["codegen", "runtime", "wire", "client", "src", "generated"] {
        copy_tree(&root().join(dir), &project.join(dir));
    }
    modified_specs(&project.join("specs"));
    let target = root().join("target").join("regenerate-test");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--offline", "--quiet", "--bin", "specmill"])
        .current_dir(&project)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("SPECMILL_CODEGEN_CHECK")
        .status()
        .expect("run cargo");
    assert!(status.success(), "the modified project does not build");
    // The build regenerated the copy's generated/ from its spec.
    let server_rs = std::fs::read_to_string(project.join("generated/clearml/server.rs")).unwrap();
    assert!(server_rs.contains("async fn get_task_summary_v2_13("));

    let bin = target.join("debug").join("specmill");
    let s = common::Server::start_binary(&bin, common::Backend::Sqlite).expect("sqlite needs no setup");
    let r = s.json("POST", "/events.add", json!({"task": "t", "type": "log", "msg": "hi"}));
    assert_eq!(r.status, 200, "{}", r.text);
    // The new version and the new endpoint answer ClearML's not-implemented envelope.
    for path in ["/v2.13/events.get_task_log", "/events.get_task_log", "/events.get_task_summary", "/v2.13/events.get_task_summary"] {
        let r = s.json("POST", path, json!({"task": "t"}));
        let meta = &r.json()["meta"];
        assert_eq!((r.status, meta["result_code"].clone()), (501, json!(501)), "{path}: {}", r.text);
        assert_eq!(meta["endpoint"]["actual_version"], "2.13", "{path}");
    }
    // Requests for older versions still run the implemented 2.9.
    let r = s.json("POST", "/v2.12/events.get_task_log", json!({"task": "t"}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["meta"]["endpoint"]["actual_version"], "2.9");
    assert_eq!(r.json()["data"]["events"][0]["msg"], "hi");
    // The new version validates its constraints before the (missing) implementation.
    let r = s.json("POST", "/v2.13/events.get_task_log", json!({"task": "t", "batch_size": 0}));
    assert_eq!((r.status, r.json()["meta"]["result_subcode"].clone()), (400, json!(12)), "{}", r.text);

    contract_follows_the_spec_change(&project.join("specs"), &s, tmp.path());
}

/// The same harness on the modified specs: the new version's constraint gives new negative
/// cases, which the rebuilt server refuses; the two new operation versions are listed as
/// not implemented, which an allowlist naming them accepts and an empty one does not.
fn contract_follows_the_spec_change(specs: &Path, s: &common::Server, tmp: &Path) {
    use specmill::contract::{run, Options, Outcome};
    let allow = tmp.join("not_implemented.txt");
    std::fs::write(&allow, "# written for the modified copy\nclearml get_task_log 2.13\nclearml get_task_summary 2.13\n").unwrap();
    let opts = Options { specs: specs.to_path_buf(), url: s.base.clone(), allowlist: Some(allow), database_url: Some(s.database_url.clone()) };
    let report = run(&opts).expect("the harness runs");
    let printed = report.render();
    println!("{printed}");
    assert!(report.passed(), "{printed}");
    let listed: Vec<String> = report.not_implemented.iter().map(|o| o.to_string()).collect();
    assert_eq!(listed, ["clearml get_task_log 2.13", "clearml get_task_summary 2.13"], "{printed}");
    assert!(printed.contains("not implemented (2):\n  clearml get_task_log 2.13\n  clearml get_task_summary 2.13\n"), "{printed}");
    // The new member's bounds are new negative cases, refused by the generated validation.
    let new_cases = report.cases_of("clearml get_task_log 2.13");
    for label in ["above maximum at batch_size", "below minimum at batch_size", "wrong type at batch_size", "required member removed at task"] {
        let case = new_cases.iter().find(|c| c.label == label).unwrap_or_else(|| panic!("no case `{label}`:\n{}", report.render_cases()));
        assert!(matches!(case.outcome, Outcome::Refused(_)), "{label}: {:?}", case.outcome);
    }
    // The unmodified specs have no such cases: the change came from the spec alone.
    let original = specmill_codegen::load::load_dir(&root().join("specs")).unwrap();
    assert!(!original.iter().any(|a| a.operation_versions().any(|(_, o, v)| o.name == "get_task_summary" || (o.name == "get_task_log" && v.version.map(|x| x.to_string()).as_deref() == Some("2.13")))));
    // Without the allowlist, the new not-implemented operations fail the run.
    let strict = run(&Options { allowlist: None, ..opts }).expect("the harness runs");
    let printed = strict.render();
    assert_eq!(strict.failures(), 2, "{printed}");
    assert!(printed.contains("clearml get_task_summary 2.13: answers \"not implemented\" but is not in the allowlist"), "{printed}");
}
