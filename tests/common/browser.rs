//! A real browser for the dashboard tests: Debian's headless Chromium through chromedriver
//! and Debian's Firefox ESR through geckodriver (each driver started here on a free port),
//! driven with fantoccini over plain HTTP on loopback.
//!
//! Only tests/ui_browser.rs includes this module (`#[path]`), so the other test binaries do
//! not compile fantoccini's API. Without a browser or its driver a test prints SKIP locally
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

/// The browsers the dashboard is tested in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Debian's `chromium`, driven by `chromedriver` (package chromium-driver).
    Chromium,
    /// Debian's `firefox-esr`, driven by `geckodriver` (`cargo install geckodriver`).
    Firefox,
}

impl Kind {
    /// The browser's and its driver's program names.
    fn programs(self) -> (&'static str, &'static str) {
        match self {
            Kind::Chromium => ("chromium", "chromedriver"),
            Kind::Firefox => ("firefox-esr", "geckodriver"),
        }
    }

    /// How to install them, for the SKIP line and the CI failure.
    fn install_hint(self) -> &'static str {
        match self {
            Kind::Chromium => "apt-get install chromium chromium-driver; .ci/run does",
            Kind::Firefox => "apt-get install firefox-esr and cargo install --locked geckodriver; .ci/run does",
        }
    }

    /// The name screenshots of this browser start with: none for Chromium (the README's
    /// screenshots), `firefox-` for Firefox.
    pub fn screenshot_prefix(self) -> &'static str {
        match self {
            Kind::Chromium => "",
            Kind::Firefox => "firefox-",
        }
    }

    /// The session's capabilities: headless, a 1400×1000 window, `binary` as the browser.
    fn capabilities(self, binary: &Path) -> serde_json::Map<String, Value> {
        let mut caps = serde_json::Map::new();
        match self {
            Kind::Chromium => caps.insert(
                "goog:chromeOptions".into(),
                json!({
                    "binary": binary,
                    "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000", "--disable-dev-shm-usage"],
                }),
            ),
            Kind::Firefox => caps.insert(
                "moz:firefoxOptions".into(),
                json!({ "binary": binary, "args": ["-headless", "--width=1400", "--height=1000"] }),
            ),
        };
        caps
    }
}

/// `name` on `PATH` (or in /usr/bin or cargo's bin directory), if it is there.
fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|d| d.join("bin"));
    std::env::split_paths(&path).chain([PathBuf::from("/usr/bin")]).chain(cargo_bin).map(|dir| dir.join(name)).find(|p| p.is_file())
}

/// The browser and driver binaries of `kind`, or None (printed SKIP) when either is missing
/// outside CI. In CI a missing one fails the test.
pub fn binaries(kind: Kind) -> Option<(PathBuf, PathBuf)> {
    let (browser, driver) = kind.programs();
    match (which(browser), which(driver)) {
        (Some(b), Some(d)) => Some((b, d)),
        (b, d) => {
            let missing: Vec<&str> = [(browser, b.is_none()), (driver, d.is_none())].into_iter().filter(|(_, m)| *m).map(|(n, _)| n).collect();
            let reason = format!("no {} ({})", missing.join(" and "), kind.install_hint());
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

/// A WebDriver server (chromedriver or geckodriver) with one headless browser session.
pub struct Browser {
    pub kind: Kind,
    pub client: Client,
    driver: Child,
    driver_url: String,
    session: Option<String>,
    /// The server's base URL (`http://127.0.0.1:N`): paths are relative to it.
    pub base: String,
}

impl Browser {
    /// Starts the driver on a free port, waits until it answers and opens a session of the
    /// browser (both from [`binaries`]) that pages of `base` are loaded from. With
    /// `SPECMILL_TEST_BROWSER_LOG` set the driver's output is shown.
    pub async fn start(kind: Kind, browser: &Path, driver_program: &Path, base: &str) -> Browser {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = std::env::var_os("SPECMILL_TEST_BROWSER_LOG").is_some();
        let port_args = match kind {
            Kind::Chromium => vec![format!("--port={port}")],
            // geckodriver's Marionette port is chosen by the system unless one is given
            Kind::Firefox => vec!["--host".to_string(), "127.0.0.1".to_string(), "--port".to_string(), port.to_string()],
        };
        let mut driver = Command::new(driver_program)
            .args(&port_args)
            .stdout(if log { Stdio::inherit() } else { Stdio::null() })
            .stderr(if log { Stdio::inherit() } else { Stdio::null() })
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", driver_program.display()));
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
                panic!("{} exited: {status}", driver_program.display());
            }
            if Instant::now() > deadline {
                let _ = driver.kill();
                panic!("{} did not answer on {driver_url} within {WAIT:?}", driver_program.display());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let caps = kind.capabilities(browser);
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = match ClientBuilder::new(connector).capabilities(caps).connect(&driver_url).await {
            Ok(c) => c,
            Err(e) => {
                let _ = driver.kill();
                let _ = driver.wait();
                panic!("no {kind:?} session from {}: {e}", driver_program.display());
            }
        };
        let session = client.session_id().await.ok().flatten();
        Browser { kind, client, driver, driver_url, session, base: base.trim_end_matches('/').to_string() }
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

    /// Saves a PNG of the viewport as `<target>/ui-screenshots/<prefix><name>.png` (the prefix
    /// is [`Kind::screenshot_prefix`]) and prints its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        save_png(&format!("{}{name}", self.kind.screenshot_prefix()), &png)
    }

    /// Saves a PNG of the first element `css` matches, as [`Browser::screenshot`] does.
    pub async fn screenshot_of(&self, css: &str, name: &str) -> PathBuf {
        let png = self.find(css).await.screenshot().await.unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        save_png(&format!("{}{name}", self.kind.screenshot_prefix()), &png)
    }

    /// Ends the session (the browser quits) and the driver.
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
        // a test that panicked still ends the session, so the browser does not outlive the test
        if let Some(id) = self.session.take() {
            let _ = ureq::delete(&format!("{}/session/{id}", self.driver_url)).timeout(Duration::from_secs(10)).call();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
