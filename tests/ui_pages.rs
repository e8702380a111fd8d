//! The dashboard's API pages over real HTTP: `/ui/api` shows every generated route with its
//! spec's descriptions, members and an example curl; `/ui/api/diff` compares spec
//! directories under `serve --spec-versions`, refuses other names, and says how to enable it.

mod common;

use std::path::{Path, PathBuf};

use common::{Backend, Server, CLEARML_TENANTS};
use specmill::generated::ROUTES;

/// The text of an HTML page with askama's escapes undone.
fn unescape(html: &str) -> String {
    html.replace("&#39;", "'").replace("&#34;", "\"").replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// The `<details>` of one operation on the API page.
fn operation<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page.find(&format!("<details class=\"op\" id=\"{id}\">")).unwrap_or_else(|| panic!("no operation {id}"));
    let end = start + page[start..].find("</details>").unwrap();
    &page[start..end]
}

#[test]
fn the_api_page_shows_every_route_with_its_spec() {
    let Some(server) = Server::start(Backend::Sqlite) else { return };
    let res = server.send("GET", "/ui/api", "", "");
    assert_eq!(res.status, 200);
    assert!(res.header("content-type").unwrap().starts_with("text/html"));
    let page = unescape(&res.text);
    let mut routes = 0;
    for r in ROUTES.iter().flat_map(|t| t.iter()) {
        let method = r.method.unwrap_or("any");
        assert!(page.contains(&format!("<code>{method} {}</code>", r.path)), "{method} {} is not listed", r.path);
        assert!(page.contains(&format!("id=\"api-{}\"", r.api)), "API {} has no section", r.api);
        routes += 1;
    }
    assert!(page.contains(&format!("{routes} routes in 5 APIs")), "the totals are shown");
    // generated/ROUTES.md lists the same routes
    let md = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("generated/ROUTES.md")).unwrap();
    for line in md.lines().filter(|l| l.starts_with("| ") && l.contains("| `/")) {
        let path = line.split('`').nth(1).unwrap();
        assert!(page.contains(&format!(" {path}</code>")), "{path} from ROUTES.md is not listed");
    }

    // ClearML events.get_task_log, from specs/clearml/events.conf
    let op = operation(&page, "op-clearml-events-get_task_log");
    assert!(op.contains("<code class=\"op-name\">events.get_task_log</code>"), "{op}");
    assert!(op.contains("Get 'log' events for this task"), "the summary of the latest version");
    assert!(op.contains("<div class=\"desc\">Get all 'log' events for this task</div>"), "version 1.5's own description");
    for v in ["1.5", "1.7", "2.9"] {
        assert!(op.contains(&format!("<code>any /v{v}/events.get_task_log</code>")), "version {v} is a row");
    }
    assert!(op.contains("<code>GetTaskLogV2_9Request</code>") && op.contains("<code>get_task_log_v2_9</code>"));
    let v29 = &op[op.find("id=\"op-clearml-events-get_task_log-v2_9\"").unwrap()..];
    assert!(
        v29.contains("<tr><td><code>task</code></td><td>body</td><td><code>string</code></td><td>required</td><td class=\"desc\">Task ID</td></tr>"),
        "the request member `task`: {v29}"
    );
    assert!(v29.contains("<td><code>navigate_earlier</code></td>"), "2.9's own members");
    assert!(v29.contains("<td><code>returned</code></td><td><code>integer (int64)</code></td>"), "the response's data members");
    let curl = format!(
        "<pre class=\"curl\">curl -X POST {}/v2.9/events.get_task_log -H 'Content-Type: application/json' -d '{{\"task\":\"example\"}}'</pre>",
        server.base
    );
    assert!(v29.contains(&curl), "the example curl with this server's address: {v29}");

    // a REST API: path parameters and a $ref'd body, one level deep
    let op = operation(&page, "op-dioptra-dioptra-create_experiment_job");
    assert!(op.contains("<code>POST /api/v1/experiments/{id}/jobs</code>"), "{op}");
    assert!(op.contains("<tr><td><code>id</code></td><td>path</td>"), "the path parameter: {op}");
    assert!(op.contains("<td><code>queue</code></td><td>body</td>"), "a member of dioptra.JobCreate: {op}");
    assert!(op.contains("Creates a job under an experiment"), "the operation's description");

    // the diff page is linked
    assert!(page.contains("<a href=\"/ui/api/diff\" id=\"diff-link\">"));
}

#[test]
fn the_api_page_needs_a_login_when_the_server_has_credentials() {
    let Some(server) = Server::start_with_config(Backend::Sqlite, CLEARML_TENANTS) else { return };
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    for path in ["/ui/api", "/ui/api/diff"] {
        let res = match agent.get(&server.url(path)).call() {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{path}: {e}"),
        };
        assert_eq!(res.status(), 303, "{path}");
        let to = res.header("location").unwrap();
        assert!(to.starts_with("/ui/login"), "{path} → {to}");
    }
}

fn specs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("specs")
}

/// Replace the first `from` in `file` (which must hold it) with `to`.
fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains(from), "{} does not contain {from:?}", file.display());
    std::fs::write(file, text.replacen(from, to, 1)).unwrap();
}

/// A `--spec-versions` root: `v1` a copy of `specs/`; `v2` the same with Lens's
/// `WandBMetric.step` required (breaking) and a new optional member `run_name`; `broken` one
/// that does not load.
fn spec_versions() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    for name in ["v1", "v2", "broken"] {
        common::copy_tree(&specs(), &root.path().join(name));
    }
    let lens = root.path().join("v2/openapi/lens.yaml");
    edit(&lens, "      required:\n        - name\n        - value\n", "      required:\n        - name\n        - value\n        - step\n");
    edit(
        &lens,
        "        tags:\n          type: object\n          description: Extra string tags",
        "        run_name:\n          type: string\n        tags:\n          type: object\n          description: Extra string tags",
    );
    edit(&root.path().join("broken/openapi/lens.yaml"), "openapi: 3.0.3", "openapi: [");
    std::fs::write(root.path().join("not-a-dir.txt"), "").unwrap();
    root
}

#[test]
fn the_diff_page_compares_spec_directories() {
    let root = spec_versions();
    let Some(server) = Server::start_with_args(Backend::Sqlite, None, &["--spec-versions", root.path().to_str().unwrap()]) else { return };

    // the form lists the subdirectories only
    let res = server.send("GET", "/ui/api/diff", "", "");
    assert_eq!(res.status, 200);
    for name in ["broken", "v1", "v2"] {
        assert!(res.text.contains(&format!("<option value=\"{name}\"")), "{name} is offered");
    }
    assert!(!res.text.contains("not-a-dir.txt"));
    assert!(!res.text.contains("id=\"diff\""), "nothing compared yet");

    let res = server.send("GET", "/ui/api/diff?old=v1&new=v2", "", "");
    assert_eq!(res.status, 200);
    let page = unescape(&res.text);
    assert!(page.contains("2 changes from <b>v1</b> to <b>v2</b>, 1 breaking."), "{page}");
    assert!(
        page.contains("<tr class=\"change breaking\"><td>changed</td><td><b>yes</b></td><td><span class=\"api api-lens\">lens</span></td><td><code>POST /wandb/metrics</code></td><td></td><td><code>request.metrics[].step</code></td><td>now required</td></tr>"),
        "{page}"
    );
    assert!(page.contains("<tr class=\"change\"><td>added</td><td>no</td>"), "the optional member is not breaking");
    assert!(page.contains("<code>request.metrics[].run_name</code></td><td>added, optional string</td>"));

    let res = server.send("GET", "/ui/api/diff?old=v1&new=v1", "", "");
    assert!(res.text.contains("No changes from <b>v1</b> to <b>v1</b>."), "{}", res.text);

    // a directory that does not load: a message on the page
    let res = server.send("GET", "/ui/api/diff?old=v1&new=broken", "", "");
    assert_eq!(res.status, 200);
    assert!(res.text.contains("id=\"diff-error\"") && res.text.contains("lens.yaml"), "{}", res.text);

    // only the listed names
    for q in ["old=../etc&new=v1", "old=v1&new=..", "old=v1&new=%2Fetc", "old=v1&new=v3", "old=not-a-dir.txt&new=v1", "old=v1%2F..%2Fv2&new=v1"] {
        let res = server.send("GET", &format!("/ui/api/diff?{q}"), "", "");
        assert_eq!(res.status, 400, "{q}");
        assert!(res.text.contains("is not a spec directory under"), "{q}: {}", res.text);
    }
}

#[test]
fn without_spec_versions_the_diff_page_says_how() {
    let Some(server) = Server::start(Backend::Sqlite) else { return };
    let res = server.send("GET", "/ui/api/diff?old=v1&new=v2", "", "");
    assert_eq!(res.status, 200);
    assert!(res.text.contains("id=\"diff-disabled\""), "{}", res.text);
    assert!(res.text.contains("<code>--spec-versions DIR</code>"));
    assert!(res.text.contains("<code>specmill codegen --diff OLD NEW</code>"));
    assert!(!res.text.contains("<select"), "no form without directories");
}
