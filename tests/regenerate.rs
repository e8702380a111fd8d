//! A spec change as clearml-server's schema files make them, regenerated with no hand edit:
//! a copy of the specs gains an include file (`_notes_common.conf`, a definition with
//! backslashes as ClearML writes them) that `events.conf` and a new service file
//! `notes.conf` include; `get_task_log` gains versions 2.30 (2.9 by `${…}` reference and
//! object concatenation, plus a member typed by the included definition) and 3.0; a new
//! endpoint `get_task_notes` 3.0. The codegen output gains their types, trait methods,
//! routes and client methods; a server rebuilt from the copy serves the new versions with
//! 2.9's implementation, answers the new endpoint and service with ClearML's "not
//! implemented" envelope, and announces 3.0; the contract tests, run on the changed specs
//! with no change to the harness, gain the new versions' cases.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use specmill_codegen::Tree;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The spec change: what clearml-server's schema files do from release to release.
fn change_specs(specs: &Path) {
    let clearml = specs.join("clearml");
    std::fs::write(
        clearml.join("_notes_common.conf"),
        r#"// shared by events.conf and notes.conf
note {
    type: object
    description: "A note on a task (backslashes as ClearML writes them: \d+ \>)"
    properties {
        text { type: string, description: "The note" }
        level { type: string, enum: [ info, warning ] }
    }
}
"#,
    )
    .unwrap();
    let events = std::fs::read_to_string(clearml.join("events.conf")).unwrap();
    let events = events.replacen("_definitions {", "_definitions {\n        include \"_notes_common.conf\"", 1);
    let end = events.rfind('}').expect("events.conf is one object");
    let added = r##"
    get_task_log."2.30": ${get_task_log."2.9"} {
        description: "Get 'log' events for this task (2.30: `note` may be given)"
        request.properties.note { "$ref": "#/definitions/note" }
    }
    get_task_log."3.0": ${get_task_log."2.30"} {}
    get_task_notes {
        "3.0" {
            description: "Notes of a task"
            request { type: object, required: [ task ], properties { task { type: string } } }
            response { type: object, properties { notes { type: array, items { "$ref": "#/definitions/note" } } } }
        }
    }
"##;
    std::fs::write(clearml.join("events.conf"), format!("{}{added}{}", &events[..end], &events[end..])).unwrap();
    std::fs::write(
        clearml.join("notes.conf"),
        r##"{
    _description: "Task notes"
    _definitions { include "_notes_common.conf" }
    create {
        "2.30" {
            description: "Add a note"
            request { type: object, required: [ task, note ], properties { task { type: string }, note { "$ref": "#/definitions/note" } } }
            response { type: object, properties { added { type: integer } } }
        }
    }
}
"##,
    )
    .unwrap();
}

/// A copy of the spec directory with the change.
fn modified_specs(dir: &Path) {
    common::copy_tree(&root().join("specs"), dir);
    change_specs(dir);
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
        (client_types, "pub struct GetTaskNotesV3_0Request"),
        (client, "pub async fn get_task_log_v2_30("),
        (client, "pub async fn create_v2_30("),
        (client, "\"/v3.0/events.get_task_notes\""),
        (&client_tree["mod.rs"], "pub fn notes(&self) -> clearml::Notes<'_>"),
        (types, "pub struct GetTaskLogV2_30Request"),
        (types, "pub struct GetTaskLogV3_0Request"),
        (types, "pub struct CreateV2_30Request"),
        (types, r"/// A note on a task (backslashes as ClearML writes them: \d+ \>)"),
        (types, "/// Get 'log' events for this task (2.30: `note` may be given)"),
        (server, "async fn get_task_log_v2_30("),
        (server, "/// By default it runs version 2.9 ([`Self::get_task_log_v2_9`])"),
        (server, "async fn get_task_notes_v3_0("),
        (server, "pub trait NotesService"),
        (server, "pub const MAX_VERSION: &str = \"3.0\";"),
        (server, "\"/notes.create\""),
        (routes, "| any | `/v3.0/events.get_task_notes` | 3.0 |"),
        (python, "class GetTaskNotesV3_0Request:"),
        (python, "    def get_task_log_v2_30(self, request: Optional[GetTaskLogV2_30Request] = None, /, **fields: Any) -> GetTaskLogV2_30Response:"),
        (python, "        call = _Call(\"POST\", \"/v2.30/notes.create\")"),
    ] {
        assert!(text.contains(needle), "regenerated code lacks `{needle}`");
        assert!(!before.values().flat_map(|tree| tree.values()).any(|t| t.contains(needle)), "`{needle}` was there before the change");
    }
    // 2.30 is 2.9's request with `note` added: 2.9's members, then `note`, validated by the
    // included definition (its enum)
    let req = |v: &str| {
        let t = types.split(&format!("pub struct GetTaskLog{v}Request {{")).nth(1).unwrap();
        t[..t.find("\n}\n").unwrap()].lines().filter_map(|l| l.trim().strip_prefix("pub ")).map(|l| l.split(':').next().unwrap().to_string()).collect::<Vec<_>>()
    };
    let (v2_9, mut v2_30) = (req("V2_9"), req("V2_30"));
    let at = v2_30.iter().position(|f| f == "note").unwrap_or_else(|| panic!("no `note` in {v2_30:?}"));
    v2_30.remove(at);
    assert_eq!(v2_30, v2_9, "2.30 has 2.9's members");
    // Nothing else changed: the other APIs are byte for byte the same.
    // (the Python client, the OpenAPI document and the client's accessors of every service
    // describe every API in one file)
    for (tree, files) in &before {
        for (path, text) in files {
            if !path.starts_with("clearml/") && !["ROUTES.md", "python/specmill_client.py", "openapi.json", "mod.rs"].contains(&path.as_str()) {
                assert_eq!(&after[tree][path], text, "{tree:?} {path} changed");
            }
        }
    }
}

/// Rebuild the server from a copy of the project with the changed specs (in its own target
/// directory under `target/`: the running `cargo test` holds the main one) and talk to it.
#[test]
fn rebuilt_server_serves_the_new_routes() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("specmill");
    for entry in ["Cargo.toml", "Cargo.lock", "build.rs"] {
        std::fs::create_dir_all(&project).unwrap();
        std::fs::copy(root().join(entry), project.join(entry)).unwrap();
    }
    for dir in ["codegen", "runtime", "wire", "client", "src", "generated", "examples", "templates"] {
        common::copy_tree(&root().join(dir), &project.join(dir));
    }
    modified_specs(&project.join("specs"));
    let target = root().join("target").join("regenerate-test");
    let started = std::time::Instant::now();
    let status = Command::new(env!("CARGO"))
        .args(["build", "--offline", "--locked", "--quiet", "--bin", "specmill"])
        .current_dir(&project)
        .env("CARGO_TARGET_DIR", &target)
        // the outer run checks generated/ against the specs; this build must write it
        .env_remove("SPECMILL_CODEGEN_CHECK")
        .status()
        .expect("run cargo");
    assert!(status.success(), "the modified project does not build");
    eprintln!("regenerated and built in {:.0?}", started.elapsed());
    // The build regenerated the copy's generated/ from its specs.
    let server_rs = std::fs::read_to_string(project.join("generated/clearml/server.rs")).unwrap();
    assert!(server_rs.contains("async fn get_task_notes_v3_0("));

    let bin = target.join("debug").join("specmill");
    let s = common::Server::start_binary(&bin, common::Backend::Sqlite).expect("sqlite needs no setup");
    for msg in ["first", "second"] {
        let r = s.json("POST", "/events.add", json!({"task": "t", "type": "log", "msg": msg}));
        assert_eq!(r.status, 200, "{}", r.text);
    }
    // 2.30 and 3.0 run 2.9's implementation (their request and reply convert); no version
    // in the path is the highest, 3.0; a version between two is the one below
    for (path, actual) in [
        ("/v2.30/events.get_task_log", "2.30"),
        ("/v3.0/events.get_task_log", "3.0"),
        ("/events.get_task_log", "3.0"),
        ("/v2.31/events.get_task_log", "2.30"),
    ] {
        let r = s.json("POST", path, json!({"task": "t", "note": {"text": "checked", "level": "info"}}));
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        let v = r.json();
        assert_eq!(v["meta"]["endpoint"]["actual_version"], actual, "{path}");
        let mut msgs: Vec<&str> = v["data"]["events"].as_array().unwrap().iter().filter_map(|e| e["msg"].as_str()).collect();
        msgs.sort();
        assert_eq!(msgs, ["first", "second"], "{path}: {}", r.text);
    }
    // Requests for older versions still run 2.9.
    let r = s.json("POST", "/v2.12/events.get_task_log", json!({"task": "t"}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["meta"]["endpoint"]["actual_version"], "2.9");
    // The new member is validated by the included definition before anything runs.
    let r = s.json("POST", "/v2.30/events.get_task_log", json!({"task": "t", "note": {"level": "loud"}}));
    assert_eq!((r.status, r.json()["meta"]["result_code"].clone()), (400, json!(400)), "{}", r.text);
    assert!(r.json()["meta"]["result_msg"].as_str().unwrap().contains("`loud`"), "{}", r.text);
    // The new endpoint and the new service answer ClearML's not-implemented envelope
    // (after validation).
    for (path, body) in [("/v3.0/events.get_task_notes", json!({"task": "t"})), ("/notes.create", json!({"task": "t", "note": {"text": "x"}}))] {
        let r = s.json("POST", path, body);
        let meta = &r.json()["meta"];
        assert_eq!((r.status, meta["result_code"].clone()), (501, json!(501)), "{path}: {}", r.text);
    }
    let r = s.json("POST", "/notes.create", json!({"note": {"text": "x"}}));
    assert_eq!((r.status, r.json()["meta"]["result_subcode"].clone()), (400, json!(11)), "missing field: {}", r.text);
    // The server announces the new highest version to the SDK at login.
    let r = s.json("POST", "/auth.login", json!({}));
    assert_eq!(r.status, 200, "{}", r.text);
    let token = r.json()["data"]["token"].as_str().unwrap().to_string();
    use base64::Engine as _;
    let claims: Value = serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap();
    assert_eq!(claims["api_version"], "3.0", "{claims}");

    contract_follows_the_spec_change(&project.join("specs"), &s, tmp.path());
}

/// The same harness on the changed specs: the new versions' constraints give new negative
/// cases, which the rebuilt server refuses; the new endpoint and service are listed as not
/// implemented, which an allowlist naming them accepts and an empty one does not.
fn contract_follows_the_spec_change(specs: &Path, s: &common::Server, tmp: &Path) {
    use specmill::contract::{run, Options, Outcome};
    let allow = tmp.join("not_implemented.txt");
    std::fs::write(&allow, "# written for the changed copy\nclearml get_task_notes 3.0\nclearml create 2.30\n").unwrap();
    let opts = Options { specs: specs.to_path_buf(), url: s.base.clone(), allowlist: Some(allow), database_url: Some(s.database_url.clone()) };
    let report = run(&opts).expect("the harness runs");
    let printed = report.render();
    println!("{printed}");
    assert!(report.passed(), "{printed}");
    let mut listed: Vec<String> = report.not_implemented.iter().map(|o| o.to_string()).collect();
    listed.sort();
    assert_eq!(listed, ["clearml create 2.30", "clearml get_task_notes 3.0"], "{printed}");
    // The new member's enum gives new negative cases, refused by the generated validation.
    let new_cases = report.cases_of("clearml get_task_log 2.30");
    let refused: Vec<&str> = new_cases.iter().filter(|c| c.label.contains("note") && matches!(c.outcome, Outcome::Refused(_))).map(|c| c.label.as_str()).collect();
    assert!(!refused.is_empty(), "no refused case at `note`:\n{}", report.render_cases());
    // Without the allowlist, the new not-implemented operations fail the run.
    let strict = run(&Options { allowlist: None, ..opts }).expect("the harness runs");
    let printed = strict.render();
    assert_eq!(strict.failures(), 2, "{printed}");
    assert!(printed.contains("clearml get_task_notes 3.0: answers \"not implemented\" but is not in the allowlist"), "{printed}");
}
