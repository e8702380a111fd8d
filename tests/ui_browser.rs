//! The dashboard in real browsers (headless Chromium through chromedriver, headless Firefox ESR
//! through geckodriver; the same steps in each): runs written by
//! the real client libraries (boto3's sagemaker-metrics, the clearml SDK's session), then the
//! login form, the runs page and its search, a run's charts drawn by uPlot, a zoom that
//! re-reads the server, and the compare page. Screenshots go to `target/ui-screenshots/`.
//!
//! Without a browser and its driver or the Python virtualenv it prints SKIP locally and fails in
//! CI. One backend (SQLite): the store's reads behind the pages are tested on both elsewhere.

mod common;
#[path = "common/browser.rs"]
mod browser;

use std::process::Command;
use std::time::Duration;

use browser::{Browser, Kind};
use common::{block_on, python, Backend, Server};
use fantoccini::actions::{InputSource, MouseActions, PointerAction};
use serde_json::{json, Value};

/// One tenant with a ClearML key pair (the SDK and the login form) and an AWS key pair (boto3).
const CONFIG: &str = r#"
[[tenant]]
name = "lab"
[[tenant.clearml]]
access_key = "AK-UI-BROWSER"
secret_key = "SK-UI-BROWSER"
[[tenant.aws]]
access_key_id = "AKIDUIBROWSER"
secret_access_key = "ui/browser/secret/access/key/EXAMPLE"
"#;

const SAGEMAKER_RUN: &str = "ui-boto3-trial";
const CLEARML_TASK: &str = "ui-clearml-task";

/// Runs `tests/python/ui_writers.py <command> <name>` against the server.
fn write_with_client(python: &std::path::Path, server: &Server, command: &str, name: &str) {
    let out = Command::new(python)
        .args(["tests/python/ui_writers.py", command, name])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("SPECMILL_URL", &server.base)
        .env("SPECMILL_CLEARML_KEY", "AK-UI-BROWSER")
        .env("SPECMILL_CLEARML_SECRET", "SK-UI-BROWSER")
        .env("SPECMILL_AWS_ACCESS_KEY_ID", "AKIDUIBROWSER")
        .env("SPECMILL_AWS_SECRET_ACCESS_KEY", "ui/browser/secret/access/key/EXAMPLE")
        // the SDK must not find a user's clearml.conf or write into the home directory
        .env("CLEARML_CONFIG_FILE", "/dev/null")
        .env("HOME", std::env::temp_dir())
        .output()
        .expect("run tests/python/ui_writers.py");
    print!("{}", String::from_utf8_lossy(&out.stdout));
    assert!(out.status.success(), "ui_writers.py {command} failed:\n{}", String::from_utf8_lossy(&out.stderr));
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// The chart element of `metric` on the page.
fn chart(metric: &str) -> String {
    format!(".chart[data-metric=\"{metric}\"]")
}

#[test]
fn dashboard_in_chromium() {
    dashboard_in(Kind::Chromium);
}

#[test]
fn dashboard_in_firefox() {
    dashboard_in(Kind::Firefox);
}

/// Login, runs page and search, the ClearML run's charts, zoom and compare in `kind`.
fn dashboard_in(kind: Kind) {
    let Some(python) = python() else { return };
    let Some((browser_program, driver_program)) = browser::binaries(kind) else { return };
    let Some(server) = Server::start_with_config(Backend::Sqlite, CONFIG) else { return };
    write_with_client(&python, &server, "sagemaker", SAGEMAKER_RUN);
    write_with_client(&python, &server, "clearml", CLEARML_TASK);

    block_on(async {
        let b = Browser::start(kind, &browser_program, &driver_program, &server.base).await;

        // ---- login: the dashboard sends an unknown viewer to the form, which refuses a
        // wrong secret and takes the ClearML key pair
        b.goto("/ui/").await;
        b.wait_page("/ui/login").await;
        let sign_in = |user: &'static str, secret: &'static str| {
            let b = &b;
            async move {
                b.find("form.login input[name=user]").await.send_keys(user).await.unwrap();
                b.find("form.login input[name=secret]").await.send_keys(secret).await.unwrap();
                b.find("form.login button[type=submit]").await.click().await.unwrap();
            }
        };
        sign_in("AK-UI-BROWSER", "wrong-secret").await;
        b.wait_js("document.getElementById('login-error')", "the login error").await;
        let error = b.find("#login-error").await.text().await.unwrap();
        assert!(error.contains("not configured"), "{error}");
        sign_in("AK-UI-BROWSER", "SK-UI-BROWSER").await;
        b.wait_page("/ui/").await;
        assert!(b.find(".who").await.text().await.unwrap().contains("lab"), "the header names the tenant");

        // ---- runs page: both runs, then a search for the boto3 one
        b.wait_js("document.querySelectorAll('table#runs tr.run').length === 2", "two runs").await;
        let runs = b.js("return Array.from(document.querySelectorAll('tr.run')).map(tr => [tr.dataset.runId, tr.querySelector('code.uid').textContent])").await;
        let run_id = |uid: &str| -> String {
            runs.as_array().unwrap().iter().find(|r| r[1] == json!(uid)).unwrap_or_else(|| panic!("no run {uid} in {runs}"))[0].as_str().unwrap().to_string()
        };
        let (sm_id, cl_id) = (run_id(SAGEMAKER_RUN), run_id(CLEARML_TASK));
        assert!(b.find("#run-count").await.text().await.unwrap().contains("of 2"));
        b.screenshot("runs").await;

        let q = b.find("form#search input[name=q]").await;
        q.clear().await.unwrap();
        q.send_keys("api:sagemaker").await.unwrap();
        b.find("form#search button[type=submit]").await.click().await.unwrap();
        b.wait_js("new URLSearchParams(location.search).get('q') === 'api:sagemaker' && document.readyState === 'complete'", "the search").await;
        let found = b.js("return Array.from(document.querySelectorAll('tr.run')).map(tr => tr.dataset.runId)").await;
        assert_eq!(found, json!([sm_id]), "api:sagemaker finds only the boto3 run");
        assert_eq!(b.attr("form#search input[name=q]", "value").await.as_deref(), Some("api:sagemaker"), "the form keeps the search");

        // ---- the ClearML run, through its link on the runs page
        b.goto("/ui/").await;
        b.wait_page("/ui/").await;
        b.find(&format!("tr.run[data-run-id=\"{cl_id}\"] a.run-link")).await.click().await.unwrap();
        b.wait_page(&format!("/ui/runs/{cl_id}")).await;
        b.wait_js(
            "document.querySelectorAll('.chart').length >= 2 && Array.from(document.querySelectorAll('.chart')).every(c => +c.dataset.loads >= 1)",
            "every chart drawn",
        )
        .await;
        let loss = chart("loss");
        let accuracy = chart("accuracy");
        assert_eq!(b.all(&format!("{loss} canvas")).await.len(), 1, "uPlot drew the loss chart on a canvas");
        assert_eq!(b.all(&format!("{accuracy} canvas")).await.len(), 1);
        assert_eq!(b.attr(&loss, "data-series").await.as_deref(), Some("2"), "loss: train and val");
        assert_eq!(b.attr(&accuracy, "data-series").await.as_deref(), Some("1"));
        assert_eq!(b.js("return window.specmillCharts['loss'].plot.series.slice(1).map(s => s.label)").await, json!(["train", "val"]));
        let points_before: f64 = b.attr(&loss, "data-points").await.unwrap().parse().unwrap();
        assert!(points_before > 100.0 && points_before < 2000.0, "5000 iterations downsampled, not {points_before} points");
        assert_eq!(b.attr(&loss, "data-range").await.as_deref(), Some(""));
        assert_eq!(b.attr(&loss, "data-loads").await.as_deref(), Some("1"));
        let accuracy_points: f64 = b.attr(&accuracy, "data-points").await.unwrap().parse().unwrap();
        assert_eq!(accuracy_points, 100.0, "accuracy's 100 points are drawn as they are");
        let latest = b.js("return Array.from(document.querySelectorAll('table#latest tbody tr')).map(tr => Array.from(tr.cells).slice(0, 4).map(td => td.textContent))").await;
        let latest = latest.as_array().unwrap();
        let loss_train = latest.iter().find(|r| r[0] == json!("loss") && r[1] == json!("train")).unwrap_or_else(|| panic!("no loss/train in {latest:?}"));
        assert_eq!(loss_train[3], json!("4999"), "the latest loss/train point is the last iteration");
        assert!(latest.iter().any(|r| r[0] == json!("accuracy")), "{latest:?}");
        assert!(b.find("#log").await.text().await.unwrap().contains("training finished"), "the SDK's log lines are shown");
        b.screenshot("run").await;

        // ---- zoom the loss chart: a real drag across the plot first, the page's zoom
        // function if the headless browser's drag does not reach uPlot
        let over = b.find(&format!("{loss} .u-over")).await;
        let (_, _, width, _) = over.rectangle().await.unwrap();
        let drag = MouseActions::new("mouse".into())
            .then(PointerAction::MoveToElement { element: over.clone(), duration: None, x: -0.3 * width, y: 0.0 })
            .then(PointerAction::Down { button: 0 })
            .then(PointerAction::MoveToElement { element: over.clone(), duration: Some(Duration::from_millis(150)), x: -0.2 * width, y: 5.0 })
            .then(PointerAction::MoveToElement { element: over.clone(), duration: Some(Duration::from_millis(150)), x: -0.1 * width, y: 10.0 })
            .then(PointerAction::Up { button: 0 });
        b.client.perform_actions(drag).await.unwrap();
        b.client.release_actions().await.unwrap();
        let dragged = b.wait_js_for(&format!("document.querySelector('{}').dataset.loads === '2'", loss.replace('\'', "\\'")), Duration::from_secs(5)).await;
        if dragged {
            println!("zoom ({kind:?}): the mouse drag across .u-over zoomed the chart");
        } else {
            println!("zoom ({kind:?}): the mouse drag did not zoom; zooming with specmillZoom");
            b.js("return window.specmillZoom('loss', 1500, 2500).then(() => true)").await;
        }
        b.wait_js(&format!("document.querySelector('{}').dataset.loads === '2'", loss.replace('\'', "\\'")), "the zoomed chart").await;
        let range = b.attr(&loss, "data-range").await.unwrap();
        let (from, to) = range.split_once(',').unwrap_or_else(|| panic!("data-range `{range}` is not from,to"));
        let (from, to): (f64, f64) = (from.parse().unwrap(), to.parse().unwrap());
        assert!(0.0 <= from && from < to && to <= 4999.0, "range {from}..{to}");
        let xs = b.js("return window.specmillCharts['loss'].plot.data[0]").await;
        let xs: Vec<f64> = xs.as_array().unwrap().iter().map(num).collect();
        assert!(!xs.is_empty(), "the zoomed chart has points");
        assert!(xs.iter().all(|x| (from..=to).contains(x)), "x values outside {from}..{to}: {xs:?}");
        let points_after: f64 = b.attr(&loss, "data-points").await.unwrap().parse().unwrap();
        assert_eq!(points_after, xs.len() as f64);
        let (density_before, density_after) = (points_before / 4999.0, points_after / (to - from).max(1.0));
        assert!(density_after > 1.5 * density_before, "finer buckets after the zoom: {density_before:.3} → {density_after:.3} points per step");
        assert!(b.find(&format!("{loss} .chart-status")).await.text().await.unwrap().contains("zoomed to"));
        println!("zoom ({kind:?}): {points_before} points over 0..4999, then {points_after} over {from}..{to}");
        b.screenshot_of(".chart-card:has(.chart[data-metric=\"loss\"])", "run-zoomed").await;
        // double-click zooms out
        let over = b.find(&format!("{loss} .u-over")).await;
        let dbl = MouseActions::new("mouse".into())
            .then(PointerAction::MoveToElement { element: over, duration: None, x: 0.0, y: 0.0 })
            .then(PointerAction::Down { button: 0 })
            .then(PointerAction::Up { button: 0 })
            .then(PointerAction::Down { button: 0 })
            .then(PointerAction::Up { button: 0 });
        b.client.perform_actions(dbl).await.unwrap();
        b.client.release_actions().await.unwrap();
        if b.wait_js_for(&format!("document.querySelector('{}').dataset.loads === '3'", loss.replace('\'', "\\'")), Duration::from_secs(5)).await {
            assert_eq!(b.attr(&loss, "data-range").await.as_deref(), Some(""), "double-click zooms out");
            assert_eq!(b.attr(&loss, "data-points").await.unwrap().parse::<f64>().unwrap(), points_before);
            println!("zoom out ({kind:?}): the double-click zoomed out");
        } else {
            println!("zoom out ({kind:?}): the double-click did not reach uPlot");
        }

        // ---- compare: both runs ticked on the runs page
        b.goto("/ui/").await;
        b.wait_page("/ui/").await;
        for id in [&sm_id, &cl_id] {
            b.find(&format!("form#compare-form input[name=run][value=\"{id}\"]")).await.click().await.unwrap();
        }
        let button = b.find("form#compare-form button[type=submit]").await;
        assert_eq!(button.text().await.unwrap(), "Compare selected");
        button.click().await.unwrap();
        b.wait_page("/ui/compare").await;
        let compared = b.js("return Array.from(document.querySelectorAll('#compared code')).map(c => c.textContent)").await;
        assert_eq!(compared.as_array().unwrap().len(), 2, "{compared}");
        // the metric both runs have is the one shown first; accuracy (ClearML's only) by its link
        assert_eq!(b.find("p.metrics b").await.text().await.unwrap(), "loss");
        b.find("a.metric-link").await.click().await.unwrap();
        b.wait_js("new URLSearchParams(location.search).get('metric') === 'accuracy' && document.readyState === 'complete'", "the accuracy comparison").await;
        b.wait_js("+document.querySelector('.chart').dataset.loads >= 1", "the accuracy chart").await;
        assert_eq!(b.attr(&accuracy, "data-series").await.as_deref(), Some("1"));
        let back = b.all("a.metric-link").await;
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].text().await.unwrap(), "loss");
        back[0].click().await.unwrap();
        b.wait_js("new URLSearchParams(location.search).get('metric') === 'loss' && document.readyState === 'complete'", "the loss comparison").await;
        b.wait_js("+document.querySelector('.chart').dataset.loads >= 1", "the loss chart").await;
        assert_eq!(b.all(&format!("{loss} canvas")).await.len(), 1);
        assert_eq!(b.attr(&loss, "data-series").await.as_deref(), Some("3"), "the boto3 run's loss and the ClearML run's train and val");
        let labels = b.js("return Object.values(window.specmillCharts)[0].plot.series.slice(1).map(s => s.label)").await;
        let mut labels: Vec<String> = labels.as_array().unwrap().iter().map(|l| l.as_str().unwrap().to_string()).collect();
        labels.sort();
        // labelled by run: the run alone for a run of one series, run · variant otherwise
        assert_eq!(labels, [SAGEMAKER_RUN.to_string(), format!("{CLEARML_TASK} · train"), format!("{CLEARML_TASK} · val")]);
        b.screenshot("compare").await;

        b.close().await;
    });
}
