//! A real browser for the dashboard tests: Debian's headless Chromium driven through
//! chromedriver (started here on a free port) with fantoccini, over plain HTTP on loopback.
//!
//! Only tests/ui_browser.rs includes this module (`#[path]`), so the other test binaries do
//! not compile fantoccini's API. Without chromium and chromedriver a test prints SKIP locally
//! and fails in CI (`CI` set), as the Python and PostgreSQL tests do; `.ci/run` installs them.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// How long a wait for the page (an element, a chart drawn, a navigation) may take.
pub const WAIT: Duration = Duration::from_secs(20);

/// `name` on `PATH` (or in /usr/bin), if it is there.
fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).chain([PathBuf::from("/usr/bin")]).map(|dir| dir.join(name)).find(|p| p.is_file())
}

/// The chromium and chromedriver binaries, or None (printed SKIP) when either is missing
/// outside CI. In CI a missing one fails the test.
pub fn binaries() -> Option<(PathBuf, PathBuf)> {
    match (which("chromium"), which("chromedriver")) {
        (Some(chromium), Some(driver)) => Some((chromium, driver)),
        (chromium, driver) => {
            let missing: Vec<&str> =
                [("chromium", chromium.is_none()), ("chromedriver", driver.is_none())].into_iter().filter(|(_, m)| *m).map(|(n, _)| n).collect();
            let reason = format!("no {} (apt-get install chromium chromium-driver; .ci/run does)", missing.join(" and "));
            if std::env::var_os("CI").is_some() {
                panic!("a browser is required in CI: {reason}");
            }
            eprintln!("SKIP browser: {reason}");
            None
        }
    }
}

/// Where the screenshots go: `<target>/ui-screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("the target directory").join("ui-screenshots")
}

/// chromedriver with one headless Chromium session.
pub struct Browser {
    pub client: Client,
    driver: Child,
    driver_url: String,
    session: Option<String>,
    /// The server's base URL (`http://127.0.0.1:N`): paths are relative to it.
    pub base: String,
}

impl Browser {
    /// Starts chromedriver on a free port, waits until it answers and opens a session of
    /// `chromium` (from [`binaries`]) that pages of `base` are loaded from.
    pub async fn start(chromium: &Path, chromedriver: &Path, base: &str) -> Browser {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = std::env::var_os("SPECMILL_TEST_CHROMEDRIVER_LOG").is_some();
        let mut driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(if log { Stdio::inherit() } else { Stdio::null() })
            .stderr(if log { Stdio::inherit() } else { Stdio::null() })
            .spawn()
            .expect("start chromedriver");
        let driver_url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + WAIT;
        loop {
            let ready = ureq::get(&format!("{driver_url}/status"))
                .timeout(Duration::from_secs(2))
                .call()
                .ok()
                .and_then(|r| r.into_json::<Value>().ok())
                .is_some_and(|v| v["value"]["ready"] == json!(true));
            if ready {
                break;
            }
            if let Ok(Some(status)) = driver.try_wait() {
                panic!("chromedriver exited: {status}");
            }
            if Instant::now() > deadline {
                let _ = driver.kill();
                panic!("chromedriver did not answer on {driver_url} within {WAIT:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000", "--disable-dev-shm-usage"],
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = match ClientBuilder::new(connector).capabilities(caps).connect(&driver_url).await {
            Ok(c) => c,
            Err(e) => {
                let _ = driver.kill();
                let _ = driver.wait();
                panic!("no Chromium session from chromedriver: {e}");
            }
        };
        let session = client.session_id().await.ok().flatten();
        Browser { client, driver, driver_url, session, base: base.trim_end_matches('/').to_string() }
    }

    /// Load `path` of the server.
    pub async fn goto(&self, path: &str) {
        self.client.goto(&format!("{}{path}", self.base)).await.unwrap_or_else(|e| panic!("load {path}: {e}"));
    }

    /// The value of a script's `return`.
    pub async fn js(&self, script: &str) -> Value {
        self.client.execute(script, Vec::new()).await.unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Waits until `condition` (a JavaScript expression) is truthy; `what` names it in the
    /// panic when it is not within [`WAIT`].
    pub async fn wait_js(&self, condition: &str, what: &str) {
        if !self.wait_js_for(condition, WAIT).await {
            let url = self.client.current_url().await.map(|u| u.to_string()).unwrap_or_default();
            panic!("waited {WAIT:?} for {what} on {url}: `{condition}` stayed false");
        }
    }

    /// Whether `condition` became truthy within `limit`.
    pub async fn wait_js_for(&self, condition: &str, limit: Duration) -> bool {
        let script = format!("try {{ return !!({condition}); }} catch (e) {{ return false; }}");
        let deadline = Instant::now() + limit;
        loop {
            if self.js(&script).await == json!(true) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the page at `path` (`location.pathname`) has loaded.
    pub async fn wait_page(&self, path: &str) {
        let cond = format!("location.pathname === {} && document.readyState === 'complete'", json!(path));
        self.wait_js(&cond, &format!("page {path}")).await;
    }

    /// The elements `css` matches.
    pub async fn all(&self, css: &str) -> Vec<fantoccini::elements::Element> {
        self.client.find_all(Locator::Css(css)).await.unwrap_or_else(|e| panic!("find {css}: {e}"))
    }

    /// The one element `css` matches first.
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("find {css}: {e}"))
    }

    /// Attribute `name` of the first element `css` matches.
    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.find(css).await.attr(name).await.unwrap_or_else(|e| panic!("{css} [{name}]: {e}"))
    }

    /// Saves a PNG of the viewport as `<target>/ui-screenshots/<name>.png` and prints its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        save_png(name, &png)
    }

    /// Saves a PNG of the first element `css` matches, as [`Browser::screenshot`] does.
    pub async fn screenshot_of(&self, css: &str, name: &str) -> PathBuf {
        let png = self.find(css).await.screenshot().await.unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        save_png(name, &png)
    }

    /// Ends the session (Chromium quits) and chromedriver.
    pub async fn close(mut self) {
        if self.session.take().is_some() {
            let _ = self.client.clone().close().await;
        }
    }
}

fn save_png(name: &str, png: &[u8]) -> PathBuf {
    assert!(png.starts_with(b"\x89PNG"), "screenshot {name} is not a PNG");
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).expect("create the screenshot directory");
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, png).expect("write the screenshot");
    println!("screenshot: {}", path.display());
    path
}

impl Drop for Browser {
    fn drop(&mut self) {
        // a test that panicked still ends the session, so Chromium does not outlive the test
        if let Some(id) = self.session.take() {
            let _ = ureq::delete(&format!("{}/session/{id}", self.driver_url)).timeout(Duration::from_secs(10)).call();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
