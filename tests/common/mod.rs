//! Test harness: the real `specmill` binary on a fresh store, over real HTTP.
#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use specmill_runtime::store::{testdb, Store};

pub mod ingest;
pub mod pg_cluster;

/// Two tenants with one ClearML key pair each (`acme`: AK-ACME/secret-acme, `globex`:
/// AK-GLOBEX/secret-globex).
pub const CLEARML_TENANTS: &str = r#"
[[tenant]]
name = "acme"
[[tenant.clearml]]
access_key = "AK-ACME"
secret_key = "secret-acme"

[[tenant]]
name = "globex"
[[tenant.clearml]]
access_key = "AK-GLOBEX"
secret_key = "secret-globex"
"#;

pub struct Server {
    child: Child,
    _config: Option<tempfile::TempDir>,
    config_text: Option<String>,
    args: Vec<String>,
    pub base: String,
    pub database_url: String,
    cleanup: Option<(String, String)>,
}

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The `--backend` arguments of `specmill bench` and `specmill soak` for `backend` (with the
/// PostgreSQL server to use), or None (printed SKIP) when PostgreSQL is not reachable
/// outside CI. In CI a missing PostgreSQL fails the test.
pub fn backend_args(backend: Backend) -> Option<Vec<String>> {
    match backend {
        Backend::Sqlite => Some(vec!["--backend".into(), "sqlite".into()]),
        Backend::Postgres => match testdb::probe_postgres() {
            Ok(admin) => Some(vec!["--backend".into(), "postgres".into(), "--postgres-url".into(), admin]),
            Err(reason) if std::env::var_os("CI").is_some() => panic!("PostgreSQL is required in CI: {reason}"),
            Err(reason) => {
                eprintln!("SKIP postgres: {reason}");
                None
            }
        },
    }
}

/// A fresh store URL for `backend`, or None (printed SKIP) when PostgreSQL is not reachable
/// outside CI. In CI (`CI` set) a missing PostgreSQL fails the test.
pub fn fresh_store(backend: Backend) -> Option<(String, Option<(String, String)>)> {
    match backend {
        Backend::Sqlite => Some((testdb::fresh_sqlite_path().display().to_string(), None)),
        Backend::Postgres => match testdb::probe_postgres() {
            Ok(admin) => {
                let url = testdb::fresh_postgres_database(&admin).expect("create a fresh PostgreSQL database");
                Some((url.clone(), Some((admin, url))))
            }
            Err(reason) => {
                if std::env::var_os("CI").is_some() {
                    panic!("PostgreSQL is required in CI: {reason}");
                }
                eprintln!("SKIP postgres: {reason}");
                None
            }
        },
    }
}

fn binary() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_BIN_EXE_specmill"))
}

impl Server {
    pub fn start(backend: Backend) -> Option<Server> {
        Server::start_binary(binary(), backend)
    }

    /// Start `bin` (a specmill binary) on a fresh store of `backend`.
    pub fn start_binary(bin: &std::path::Path, backend: Backend) -> Option<Server> {
        Server::launch(bin, backend, None, &[])
    }

    /// Start the server with `config` (TOML) as its config file.
    pub fn start_with_config(backend: Backend, config: &str) -> Option<Server> {
        Server::launch(binary(), backend, Some(config), &[])
    }

    /// Start the server with extra `serve` arguments (and a config file when given).
    pub fn start_with_args(backend: Backend, config: Option<&str>, args: &[&str]) -> Option<Server> {
        Server::launch(binary(), backend, config, args)
    }

    fn launch(bin: &std::path::Path, backend: Backend, config: Option<&str>, args: &[&str]) -> Option<Server> {
        let (database_url, cleanup) = fresh_store(backend)?;
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        Some(Server::spawn(bin, database_url, cleanup, config, args))
    }

    /// A server on `database_url`, a database the caller made and drops.
    pub fn start_on(database_url: &str) -> Server {
        Server::spawn(binary(), database_url.to_string(), None, None, Vec::new())
    }

    /// Another server (a replica) on this server's database, with the same config and
    /// arguments. It leaves the database to this server to drop: drop it first.
    pub fn replica(&self) -> Server {
        Server::spawn(binary(), self.database_url.clone(), None, self.config_text.as_deref(), self.args.clone())
    }

    fn spawn(bin: &std::path::Path, database_url: String, cleanup: Option<(String, String)>, config: Option<&str>, args: Vec<String>) -> Server {
        let config_dir = config.map(|text| {
            let dir = tempfile::tempdir().expect("temp dir");
            std::fs::write(dir.path().join("specmill.toml"), text).expect("write config");
            dir
        });
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut command = Command::new(bin);
        command.args(["--database-url", &database_url, "serve", "--listen", &format!("127.0.0.1:{port}"), "--workers", "2"]);
        command.args(&args);
        if let Some(dir) = &config_dir {
            command.arg("--config").arg(dir.path().join("specmill.toml"));
        }
        let child = command
            .env("SPECMILL_LOG", std::env::var("SPECMILL_TEST_SERVER_LOG").unwrap_or_else(|_| "warn".into()))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start specmill");
        let server = Server {
            child,
            _config: config_dir,
            config_text: config.map(str::to_string),
            args,
            base: format!("http://127.0.0.1:{port}"),
            database_url,
            cleanup,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "specmill did not start listening");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// How the server process ended, when it has (None while it runs).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Kill the server process at once (SIGKILL: no shutdown of any kind).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// A typed client of this server, without credentials.
    pub fn client(&self) -> specmill_client::Client {
        specmill_client::Client::new(&self.base).expect("the server's URL")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Send a request; any status comes back as a response (no error for 4xx/5xx).
    pub fn send(&self, method: &str, path: &str, content_type: &str, body: &str) -> Reply {
        let req = ureq::request(method, &self.url(path)).set("Content-Type", content_type);
        let resp = if body.is_empty() && method == "GET" { req.call() } else { req.send_string(body) };
        let resp = match resp {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        Reply::from(resp)
    }

    pub fn json(&self, method: &str, path: &str, body: serde_json::Value) -> Reply {
        self.send(method, path, "application/json", &body.to_string())
    }

    /// Send a JSON request with extra headers.
    pub fn json_with(&self, method: &str, path: &str, headers: &[(&str, &str)], body: serde_json::Value) -> Reply {
        let mut req = ureq::request(method, &self.url(path)).set("Content-Type", "application/json");
        for (k, v) in headers {
            req = req.set(k, v);
        }
        let resp = match req.send_string(&body.to_string()) {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        Reply::from(resp)
    }

    /// The store the server uses, opened beside it.
    pub fn store(&self) -> Store {
        Store::open(&self.database_url).expect("open the server's store")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some((admin, url)) = &self.cleanup {
            let _ = testdb::drop_postgres_database(admin, url);
        }
    }
}

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub text: String,
}

impl From<ureq::Response> for Reply {
    fn from(resp: ureq::Response) -> Reply {
        let status = resp.status();
        let headers: Vec<(String, String)> =
            resp.headers_names().iter().map(|h| (h.to_ascii_lowercase(), resp.header(h).unwrap_or("").to_string())).collect();
        let text = resp.into_string().unwrap_or_default();
        Reply { status, headers, text }
    }
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == &name.to_ascii_lowercase()).map(|(_, v)| v.as_str())
    }
}

// ---- credentials, shared by the tests of each API's authentication and tests/tenants.rs ----

/// `Authorization: Basic …` of a ClearML key pair.
pub fn basic(key: &str, secret: &str) -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{key}:{secret}")))
}

/// A ClearML token from `auth.login` with a key pair.
pub fn clearml_login(s: &Server, key: &str, secret: &str) -> String {
    let r = s.json_with("GET", "/auth.login", &[("Authorization", &basic(key, secret))], serde_json::json!({}));
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()["data"]["token"].as_str().unwrap().to_string()
}

/// The `Cookie` header value (`session=…`) a Dioptra login sets.
pub fn dioptra_login(s: &Server, username: &str, password: &str) -> String {
    let r = s.json("POST", "/api/v1/auth/login", serde_json::json!({"username": username, "password": password}));
    assert_eq!(r.status, 200, "{}", r.text);
    r.header("set-cookie").expect("a session cookie").split(';').next().unwrap().to_string()
}

pub fn now_s() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Send `body` signed with AWS key `key` (SigV4, service `sagemaker`), or unsigned, with
/// `X-Amz-Date` `skew` seconds off; `tamper` replaces the body after signing.
pub fn signed(s: &Server, method: &str, path: &str, body: &str, key: Option<(&str, &str)>, skew: i64, tamper: Option<&str>) -> Reply {
    use specmill_runtime::sigv4;
    let host = s.base.trim_start_matches("http://").to_string();
    let date = sigv4::format_amz_date(now_s() + skew);
    let mut headers =
        vec![("Host".to_string(), host), ("Content-Type".to_string(), "application/json".to_string()), ("X-Amz-Date".to_string(), date)];
    if let Some((akid, secret)) = key {
        let req = sigv4::Request { method, path, query: "", headers: headers.clone(), body: body.as_bytes() };
        headers.push(("Authorization".into(), sigv4::sign(&req, akid, secret, "eu-central-1", "sagemaker", "content-type;host;x-amz-date")));
    }
    let mut req = ureq::request(method, &s.url(path));
    for (k, v) in headers.iter().filter(|(k, _)| k != "Host") {
        req = req.set(k, v);
    }
    match req.send_string(tamper.unwrap_or(body)) {
        Ok(r) => Reply::from(r),
        Err(ureq::Error::Status(_, r)) => Reply::from(r),
        Err(e) => panic!("{method} {path}: {e}"),
    }
}

/// A signed token (a sealed scroll id or session, `payload.tag`, or a JWT,
/// `header.payload.signature`) with one character of its signed payload changed.
pub fn tampered(token: &str) -> String {
    let (signed, tag) = token.rsplit_once('.').expect("a signed token");
    let (head, payload) = match signed.rsplit_once('.') {
        Some((head, payload)) => (format!("{head}."), payload),
        None => (String::new(), signed),
    };
    let mut p: Vec<char> = payload.chars().collect();
    p[2] = if p[2] == 'A' { 'B' } else { 'A' };
    format!("{head}{}.{tag}", p.into_iter().collect::<String>())
}

/// Run a typed client's call to completion (one runtime per call: tests are synchronous).
pub fn block_on<F: std::future::Future>(call: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime").block_on(call)
}

/// A generated type from a JSON literal (the way tests spell requests).
pub fn typed<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{value} is not a {}: {e}", std::any::type_name::<T>()))
}

/// A generated value as JSON (the way tests compare replies).
pub fn untyped<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).expect("generated types serialize")
}

/// Run a test body once per backend.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident => $body:ident;)*) => {
        mod sqlite { $( #[test] fn $name() { if let Some(s) = $crate::common::Server::start($crate::common::Backend::Sqlite) { super::$body(&s) } } )* }
        mod postgres { $( #[test] fn $name() { if let Some(s) = $crate::common::Server::start($crate::common::Backend::Postgres) { super::$body(&s) } } )* }
    };
}

/// Run a test that starts its own server (a config, …) once per backend: `name => f;`
/// calls `f(Backend)`.
#[macro_export]
macro_rules! per_backend {
    ($($name:ident => $body:ident;)*) => {
        mod on_sqlite { $( #[test] fn $name() { super::$body($crate::common::Backend::Sqlite) } )* }
        mod on_postgres { $( #[test] fn $name() { super::$body($crate::common::Backend::Postgres) } )* }
    };
}

/// The Python of the test virtualenv `.venv` (made by `.ci/run` from
/// tests/python/requirements.txt; `SPECMILL_PYTHON` names another interpreter). Without it a
/// test prints SKIP locally and fails in CI.
pub fn python() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("SPECMILL_PYTHON") {
        return Some(std::path::PathBuf::from(p));
    }
    let venv = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    if venv.exists() {
        return Some(venv);
    }
    if std::env::var_os("CI").is_some() {
        panic!("no Python client environment: .ci/run creates .venv with tests/python/requirements.txt");
    }
    eprintln!("SKIP python clients: no .venv (python3 -m venv .venv && .venv/bin/pip install -r tests/python/requirements.txt)");
    None
}

/// `src` copied to `dst` (files and directories, recursively).
pub fn copy_tree(src: &std::path::Path, dst: &std::path::Path) {
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
