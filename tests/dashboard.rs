//! The dashboard (`/ui/`) over real HTTP, without a browser: what its pages hold with
//! JavaScript off (tables), the chart data and its zoom, search, sort and paging, login and
//! tenant isolation, and escaping. The browser tests (tests/ui_browser.rs) draw the charts.
mod common;

use common::{Backend, Reply, Server};
use serde_json::{json, Value};

const COMET: &str = "/api/rest/v2";

/// Two tenants: `acme` signs in with a ClearML key pair or a Comet key, `globex` with a
/// Dioptra user.
const TENANTS: &str = r#"
[[tenant]]
name = "acme"
[[tenant.clearml]]
access_key = "AK-ACME"
secret_key = "secret-acme"
[[tenant.comet]]
api_key = "CK-ACME"

[[tenant]]
name = "globex"
[[tenant.dioptra]]
username = "gina"
password = "pw-globex"
[[tenant.clearml]]
access_key = "AK-GLOBEX"
secret_key = "secret-globex"
"#;

/// A client that does not follow redirects, so the tests see them.
fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().redirects(0).build()
}

fn reply(r: Result<ureq::Response, ureq::Error>, what: &str) -> Reply {
    match r {
        Ok(r) | Err(ureq::Error::Status(_, r)) => Reply::from(r),
        Err(e) => panic!("{what}: {e}"),
    }
}

fn get(s: &Server, path: &str, cookie: Option<&str>) -> Reply {
    let mut req = agent().get(&s.url(path));
    if let Some(c) = cookie {
        req = req.set("Cookie", c);
    }
    reply(req.call(), path)
}

fn login(s: &Server, user: &str, secret: &str, next: &str) -> Reply {
    reply(agent().post(&s.url("/ui/login")).send_form(&[("user", user), ("secret", secret), ("next", next)]), "login")
}

/// The session cookie (`specmill_ui=…`) a successful login sets.
fn session(s: &Server, user: &str, secret: &str) -> String {
    let r = login(s, user, secret, "/ui/");
    assert_eq!(r.status, 303, "{}", r.text);
    let cookie = r.header("set-cookie").expect("a session cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/ui"), "{cookie}");
    cookie.split(';').next().unwrap().to_string()
}

/// ClearML scalars of task `task` (with a bearer token on a server with credentials).
fn clearml_scalars(s: &Server, token: Option<&str>, task: &str, series: &[(&str, &str)], steps: std::ops::Range<i64>) {
    let events: Vec<Value> = steps
        .flat_map(|i| {
            series.iter().map(move |(m, v)| {
                json!({"type": "training_stats_scalar", "task": task, "iter": i, "metric": m, "variant": v, "value": (i as f64) / 1000.0 + if *v == "val" { 1.0 } else { 0.0 }})
            })
        })
        .collect();
    for chunk in events.chunks(5000) {
        let body = Value::Array(chunk.to_vec());
        let r = match token {
            Some(t) => s.json_with("POST", "/v2.9/events.add_batch", &[("Authorization", &format!("Bearer {t}"))], body),
            None => s.json("POST", "/v2.9/events.add_batch", body),
        };
        assert_eq!(r.status, 200, "{}", r.text);
    }
}

fn clearml_event(s: &Server, event: Value) {
    let r = s.json("POST", "/v2.9/events.add_batch", json!([event]));
    assert_eq!(r.status, 200, "{}", r.text);
}

fn comet(s: &Server, key: Option<&str>, path: &str, body: Value) -> Value {
    let mut headers = Vec::new();
    if let Some(k) = key {
        headers.push(("Authorization", k));
    }
    let r = s.json_with("POST", &format!("{COMET}/{path}"), &headers, body);
    assert!(r.status < 400, "{path}: {} {}", r.status, r.text);
    r.json()
}

/// The ids of the runs a runs page lists, in order.
fn listed(html: &str) -> Vec<i64> {
    html.split("<tr class=\"run\" data-run-id=\"").skip(1).map(|rest| rest[..rest.find('"').unwrap()].parse().unwrap()).collect()
}

/// The chart data embedded in a page, by metric.
fn embedded_charts(html: &str) -> Vec<Value> {
    html.split("<script type=\"application/json\" class=\"chart-data\">")
        .skip(1)
        .map(|rest| serde_json::from_str(&rest[..rest.find("</script>").unwrap()].replace("<\\/", "</")).unwrap())
        .collect()
}

#[test]
fn an_open_server_shows_every_api_s_runs_without_javascript() {
    let Some(s) = Server::start(Backend::Sqlite) else { return };
    // a ClearML task with two variants of `loss` (5000 steps each) and `accuracy`, a log line
    // and a plot; then Comet points, a parameter and a tag on the same run
    clearml_scalars(&s, None, "task-a", &[("loss", "train"), ("loss", "val")], 0..5000);
    clearml_scalars(&s, None, "task-a", &[("accuracy", "val")], 0..50);
    clearml_event(&s, json!({"type": "log", "task": "task-a", "msg": "epoch <1> done", "level": "info"}));
    clearml_event(&s, json!({"type": "plot", "task": "task-a", "metric": "roc", "variant": "curve", "iter": 3, "plot_str": "{\"data\": []}"}));
    let key = comet(&s, None, "write/experiment/create", json!({"workspaceName": "ws", "projectName": "p", "experimentName": "comet <run>"}))["experimentKey"]
        .as_str()
        .unwrap()
        .to_string();
    for step in 0..20 {
        comet(&s, None, "write/experiment/metric", json!({"experimentKey": key, "metricName": "loss", "metricValue": 2.0 - step as f64 / 10.0, "step": step}));
    }
    comet(&s, None, "write/experiment/parameter", json!({"experimentKey": key, "parameterName": "lr", "parameterValue": 0.01}));
    let store = s.store();
    let task = store.run_by_uid("default", "task-a").unwrap().unwrap();
    let comet_run = store.run_by_uid("default", &key).unwrap().unwrap();

    // runs page: both runs, newest activity first, with their APIs, metric and point counts
    let page = get(&s, "/ui/", None);
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(listed(&page.text), vec![comet_run.id, task.id]);
    assert!(page.text.contains("Runs 1–2 of 2"), "{}", page.text);
    assert!(page.text.contains("comet &#60;run&#62;") && !page.text.contains("comet <run>"), "names are escaped");
    let task_row = &page.text[page.text.find(&format!("data-run-id=\"{}\"", task.id)).unwrap()..];
    let task_row = &task_row[..task_row.find("</tr>").unwrap()];
    assert!(task_row.contains("api-clearml") && !task_row.contains("api-comet"), "{task_row}");
    assert!(task_row.contains(&format!("ClearML task · Dioptra job {}", task.id)), "{task_row}");
    assert!(task_row.contains(">2</td>") && task_row.contains(">10050</td>"), "2 metrics, 10,050 points: {task_row}");
    // the Dioptra search language: a field term, free text, a refused query
    assert_eq!(listed(&get(&s, "/ui/?q=api:comet", None).text), vec![comet_run.id]);
    assert_eq!(listed(&get(&s, "/ui/?q=metric:accuracy", None).text), vec![task.id]);
    assert_eq!(listed(&get(&s, "/ui/?q=task", None).text), vec![task.id]);
    assert_eq!(listed(&get(&s, "/ui/?q=name:comet*,api:comet", None).text), vec![comet_run.id]);
    let bad = get(&s, "/ui/?q=color:red", None);
    assert_eq!(bad.status, 400);
    assert!(bad.text.contains("&#39;color&#39; is not a valid field"), "{}", bad.text);
    // sorting
    assert_eq!(listed(&get(&s, "/ui/?sort=metrics&dir=desc", None).text), vec![task.id, comet_run.id]);
    assert_eq!(listed(&get(&s, "/ui/?sort=uid&dir=asc", None).text)[1], task.id, "a hex key sorts before `task-a`");
    assert_eq!(get(&s, "/ui/?sort=colour", None).status, 400);

    // run page: one chart per metric, both variants on `loss`, downsampled
    let run = get(&s, &format!("/ui/runs/{}", task.id), None);
    assert_eq!(run.status, 200, "{}", run.text);
    let charts = embedded_charts(&run.text);
    let names: Vec<&str> = charts.iter().map(|c| c["metric"].as_str().unwrap()).collect();
    assert_eq!(names, ["accuracy", "loss"]);
    let loss = &charts[1];
    assert_eq!(loss["labels"], json!(["train", "val"]));
    let xs = loss["data"][0].as_array().unwrap();
    assert!(xs.len() >= 500 && xs.len() <= 1000, "5000 steps in about 1000 buckets: {}", xs.len());
    // bucket means: `train` of bucket 0 (width 5) is the mean of 0.000..0.004
    assert_eq!(loss["widths"], json!([5, 5]));
    assert!((loss["data"][1][0].as_f64().unwrap() - 0.002).abs() < 1e-9, "{}", loss["data"][1][0]);
    assert!((loss["data"][2][0].as_f64().unwrap() - 1.002).abs() < 1e-9);
    // without JavaScript: the values tables, the latest values, the log, the plot
    assert!(run.text.contains("<th>step</th><th>train</th><th>val</th>"), "a values table per chart");
    let latest = &run.text[run.text.find("id=\"latest\"").unwrap()..];
    assert!(latest.contains("<td>loss</td><td>train</td><td class=\"num\">4.999</td><td class=\"num\">4999</td>"), "{}", &latest[..600]);
    assert!(run.text.contains("epoch &#60;1&#62; done"), "the log, escaped");
    assert!(run.text.contains("id=\"plots\"") && run.text.contains("roc"));
    // the Comet run shows its parameter
    let comet_page = get(&s, &format!("/ui/runs/{}", comet_run.id), None).text;
    assert!(comet_page.contains("<h2>Parameters</h2>") && comet_page.contains("<th>lr</th><td>0.01</td>"), "{comet_page}");

    // chart data: a zoom re-reads the range with finer buckets
    let zoom = s.send("GET", &format!("/ui/chart?runs={}&metric=loss&from=1000&to=1199", task.id), "", "");
    assert_eq!(zoom.status, 200, "{}", zoom.text);
    let z = zoom.json();
    let zx: Vec<f64> = z["data"][0].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(zx.len(), 200, "200 steps in range, each its own bucket");
    assert!(zx.iter().all(|x| (1000.0..=1199.0).contains(x)));
    assert_eq!(z["range"], json!([1000.0, 1199.0]));
    assert_eq!(z["data"][1][0].as_f64(), Some(1.0), "step 1000 of `train` is 1.0");
    // by time
    let by_time = s.send("GET", &format!("/ui/chart?runs={}&metric=loss&x=time", task.id), "", "").json();
    assert_eq!(by_time["axis"], "time");
    assert_eq!(by_time["labels"], json!(["train", "val"]));
    let times = by_time["data"][0].as_array().unwrap();
    assert!(!times.is_empty() && times.iter().all(|t| t.as_f64().unwrap() > 1.7e9), "x in epoch seconds: {times:?}");
    let by_time_page = get(&s, &format!("/ui/runs/{}?x=time", task.id), None).text;
    assert_eq!(embedded_charts(&by_time_page).len(), 2);
    // two runs on one chart, labelled by run
    let both = s.send("GET", &format!("/ui/chart?runs={},{}&metric=loss", task.id, comet_run.id), "", "").json();
    assert_eq!(both["labels"], json!(["task-a · train", "task-a · val", "comet <run>"]));
    let compare = get(&s, &format!("/ui/compare?run={}&run={}", task.id, comet_run.id), None);
    assert_eq!(compare.status, 200);
    assert_eq!(embedded_charts(&compare.text)[0]["labels"].as_array().unwrap().len(), 3, "loss is the metric both have");
    // refused input: JSON errors for the chart data, pages for the pages; nothing is a 500
    for (path, status) in [
        ("/ui/chart?runs=x&metric=loss".to_string(), 400),
        (format!("/ui/chart?runs={}&metric=loss&from=5", task.id), 400),
        (format!("/ui/chart?runs={}&metric=loss&from=9&to=1", task.id), 400),
        (format!("/ui/chart?runs={}&metric=loss&x=epoch", task.id), 400),
        (format!("/ui/chart?runs={}&metric=loss&samples=0", task.id), 400),
        ("/ui/chart?runs=999&metric=loss".to_string(), 404),
        ("/ui/chart?metric=loss".to_string(), 400),
    ] {
        let r = s.send("GET", &path, "", "");
        assert_eq!(r.status, status, "{path}: {}", r.text);
        assert!(r.json()["error"].is_string(), "{path}");
    }
    for (path, status) in [("/ui/runs/999", 404), ("/ui/runs/abc", 404), ("/ui/compare", 400), ("/ui/?page=x", 400), ("/ui/nothing", 404)] {
        assert_eq!(get(&s, path, None).status, status, "{path}");
    }
    // static files: the vendored uPlot with its licence, cacheable
    let js = get(&s, "/ui/static/uPlot.iife.min.js", None);
    assert_eq!(js.status, 200);
    assert!(js.header("cache-control").unwrap().contains("immutable"));
    assert!(get(&s, "/ui/static/uPlot.LICENSE.txt", None).text.starts_with("The MIT License"));
    assert_eq!(get(&s, "/ui/static/../Cargo.toml", None).status, 404);
    // pages are gzipped when the browser asks; the APIs' replies never are
    let gz = |path: &str| agent().get(&s.url(path)).set("Accept-Encoding", "gzip").call().unwrap();
    let page = gz(&format!("/ui/runs/{}", task.id));
    assert_eq!(page.header("content-encoding"), Some("gzip"));
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut page.into_reader(), &mut body).unwrap();
    assert!(body.starts_with(&[0x1f, 0x8b]) && body.len() < run.text.len() / 2, "{} of {}", body.len(), run.text.len());
    assert_eq!(gz(&format!("{COMET}/experiment/metrics/summary?experimentKey={key}")).header("content-encoding"), None);
}

#[test]
fn pages_are_paged() {
    let Some(s) = Server::start(Backend::Sqlite) else { return };
    for i in 0..55 {
        clearml_scalars(&s, None, &format!("run-{i:02}"), &[("loss", "")], 0..2);
    }
    let first = get(&s, "/ui/?sort=uid&dir=asc", None).text;
    let ids = listed(&first);
    assert_eq!(ids.len(), 50);
    assert!(first.contains("Runs 1–50 of 55") && first.contains("rel=\"next\"") && !first.contains("rel=\"prev\""));
    let second = get(&s, "/ui/?sort=uid&dir=asc&page=2", None).text;
    assert_eq!(listed(&second).len(), 5);
    assert!(second.contains("Runs 51–55 of 55") && second.contains("rel=\"prev\""));
    let store = s.store();
    assert_eq!(ids[0], store.run_by_uid("default", "run-00").unwrap().unwrap().id);
    assert_eq!(listed(&second)[4], store.run_by_uid("default", "run-54").unwrap().unwrap().id);
}

#[test]
fn with_credentials_the_dashboard_signs_in_and_shows_one_tenant() {
    let Some(s) = Server::start_with_config(Backend::Sqlite, TENANTS) else { return };
    let acme = common::clearml_login(&s, "AK-ACME", "secret-acme");
    let globex = common::clearml_login(&s, "AK-GLOBEX", "secret-globex");
    clearml_scalars(&s, Some(&acme), "acme-task", &[("loss", "")], 0..10);
    clearml_scalars(&s, Some(&globex), "globex-task", &[("loss", "")], 0..10);
    let store = s.store();
    let acme_run = store.run_by_uid("acme", "acme-task").unwrap().unwrap();
    let globex_run = store.run_by_uid("globex", "globex-task").unwrap().unwrap();
    let before = store.fingerprint().unwrap();

    // not signed in: pages go to the login form (and come back), chart data is a 401
    let r = get(&s, &format!("/ui/runs/{}?x=step", acme_run.id), None);
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some(format!("/ui/login?next=%2Fui%2Fruns%2F{}%3Fx%3Dstep", acme_run.id).as_str()));
    assert_eq!(get(&s, "/ui/", None).status, 303);
    assert_eq!(get(&s, "/ui/api", None).status, 303);
    assert_eq!(get(&s, &format!("/ui/chart?runs={}&metric=loss", acme_run.id), None).status, 401);
    assert!(get(&s, "/ui/login", None).text.contains("name=\"secret\""));
    // wrong credentials: the form again, with a 401; a forged cookie is no session
    for (user, secret) in [("AK-ACME", "secret-globex"), ("gina", "wrong"), ("", "secret-acme"), ("", "")] {
        let r = login(&s, user, secret, "/ui/");
        assert_eq!(r.status, 401, "{user}/{secret}");
        assert!(r.text.contains("id=\"login-error\""));
        assert!(r.header("set-cookie").is_none());
    }
    assert_eq!(get(&s, "/ui/", Some("specmill_ui=forged")).status, 303);

    // signed in with a ClearML key pair: acme's run only; the login goes back where it was sent from
    let r = login(&s, "AK-ACME", "secret-acme", &format!("/ui/runs/{}", acme_run.id));
    assert_eq!(r.header("location"), Some(format!("/ui/runs/{}", acme_run.id).as_str()));
    assert_eq!(login(&s, "AK-ACME", "secret-acme", "https://evil.example/").header("location"), Some("/ui/"));
    let cookie = session(&s, "AK-ACME", "secret-acme");
    let page = get(&s, "/ui/", Some(&cookie));
    assert_eq!(page.status, 200);
    assert_eq!(listed(&page.text), vec![acme_run.id]);
    assert!(page.text.contains("tenant <b>acme</b>"));
    assert_eq!(get(&s, &format!("/ui/runs/{}", acme_run.id), Some(&cookie)).status, 200);
    assert_eq!(get(&s, &format!("/ui/runs/{}", globex_run.id), Some(&cookie)).status, 404, "another tenant's run");
    assert_eq!(get(&s, &format!("/ui/chart?runs={}&metric=loss", globex_run.id), Some(&cookie)).status, 404);
    assert_eq!(get(&s, &format!("/ui/compare?run={}&run={}", acme_run.id, globex_run.id), Some(&cookie)).status, 404);
    // a Comet API key alone signs in too; a Dioptra user signs in to globex
    assert_eq!(listed(&get(&s, "/ui/", Some(&session(&s, "", "CK-ACME"))).text), vec![acme_run.id]);
    assert_eq!(listed(&get(&s, "/ui/", Some(&session(&s, "gina", "pw-globex"))).text), vec![globex_run.id]);
    // signing out clears the cookie
    let out = reply(agent().post(&s.url("/ui/logout")).set("Cookie", &cookie).call(), "logout");
    assert_eq!(out.status, 303);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    // looking changed nothing
    assert_eq!(store.fingerprint().unwrap(), before);
}
