//! ClearML authentication: `auth.login` with key/secret, bearer tokens (header or cookie)
//! on the events service, ClearML's 401 codes, and tenants that never see each other's runs.

mod common;

use base64::Engine;
use common::{basic, clearml_login as login, Backend, Server};
use serde_json::{json, Value};

fn claims(token: &str) -> Value {
    let body = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(body).unwrap()).unwrap()
}

fn with_config(backend: Backend) {
    let Some(s) = Server::start_with_config(backend, common::CLEARML_TENANTS) else { return };
    // Login: a JWT whose claims the SDK reads.
    let acme = login(&s, "AK-ACME", "secret-acme");
    let c = claims(&acme);
    assert_eq!(c["api_version"], specmill::generated::clearml::MAX_VERSION);
    assert_eq!(c["identity"]["company"], "acme");
    assert!(c["exp"].as_i64().unwrap() > c["iat"].as_i64().unwrap());
    let short = s.json_with("POST", "/auth.login", &[("Authorization", &basic("AK-ACME", "secret-acme"))], json!({"expiration_sec": 60}));
    let c = claims(short.json()["data"]["token"].as_str().unwrap());
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 60);

    // Refusals, in ClearML's codes.
    let r = s.json("POST", "/auth.login", json!({}));
    assert_eq!((r.status, r.json()["meta"]["result_subcode"].clone()), (401, json!(20)), "{}", r.text);
    let r = s.json_with("POST", "/auth.login", &[("Authorization", &basic("AK-ACME", "nope"))], json!({}));
    assert_eq!((r.status, r.json()["meta"]["result_subcode"].clone()), (401, json!(22)));
    let r = s.json("POST", "/events.get_task_log", json!({"task": "t"}));
    assert_eq!((r.status, r.json()["meta"]["result_subcode"].clone()), (401, json!(20)));
    let r = s.json_with("POST", "/events.get_task_log", &[("Authorization", "Bearer not.a.token")], json!({"task": "t"}));
    assert_eq!((r.status, r.json()["meta"]["result_subcode"].clone()), (401, json!(30)));
    let mut forged: Vec<String> = acme.split('.').map(str::to_string).collect();
    forged[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(&json!({"identity": {"company": "globex"}, "exp": 9999999999i64})).unwrap());
    let r = s.json_with("POST", "/events.get_task_log", &[("Authorization", &format!("Bearer {}", forged.join(".")))], json!({"task": "t"}));
    assert_eq!(r.status, 401, "a token with altered claims is refused");

    // Writes and reads with the bearer token; the same task id in another tenant is another run.
    let bearer = format!("Bearer {acme}");
    let r = s.json_with("POST", "/events.add", &[("Authorization", &bearer)], json!({"task": "shared-id", "type": "log", "msg": "acme's"}));
    assert_eq!(r.status, 200, "{}", r.text);
    let globex = login(&s, "AK-GLOBEX", "secret-globex");
    let r = s.json_with("POST", "/events.get_task_log", &[("Authorization", &format!("Bearer {globex}"))], json!({"task": "shared-id"}));
    assert_eq!((r.status, r.json()["meta"]["result_subcode"].clone()), (400, json!(101)), "globex must not see acme's task");
    // The cookie works like the header; Basic credentials work on any endpoint too.
    let r = s.json_with("POST", "/events.get_task_log", &[("Cookie", &format!("other=1; clearml_token_basic={acme}"))], json!({"task": "shared-id"}));
    assert_eq!(r.json()["data"]["events"][0]["msg"], "acme's", "{}", r.text);
    let r = s.json_with("POST", "/events.get_task_log", &[("Authorization", &basic("AK-ACME", "secret-acme"))], json!({"task": "shared-id"}));
    assert_eq!(r.json()["data"]["total"], 1.0);
    // A scroll id of one tenant is no good to another.
    let r = s.json_with("POST", "/events.get_task_events", &[("Authorization", &bearer)], json!({"task": "shared-id", "batch_size": 1}));
    let scroll = r.json()["data"]["scroll_id"].as_str().unwrap().to_string();
    s.json_with("POST", "/events.add", &[("Authorization", &format!("Bearer {globex}"))], json!({"task": "shared-id", "type": "log", "msg": "globex's"}));
    let r = s.json_with("POST", "/events.get_task_events", &[("Authorization", &format!("Bearer {globex}"))], json!({"task": "shared-id", "scroll_id": scroll}));
    assert_eq!((r.status, r.json()["meta"]["result_subcode"].clone()), (400, json!(1104)), "{}", r.text);
}

fn open_without_config(backend: Backend) {
    let Some(s) = Server::start(backend) else { return };
    // Open: login needs no credentials, and the token it gives (or none at all) works.
    let r = s.json("GET", "/auth.login", json!({}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(claims(r.json()["data"]["token"].as_str().unwrap())["identity"]["company"], "default");
    assert_eq!(s.json("POST", "/events.add", json!({"task": "t", "type": "log", "msg": "m"})).status, 200);
}

#[test]
fn sqlite_open() {
    open_without_config(Backend::Sqlite);
}

#[test]
fn refuses_to_listen_openly_beyond_loopback() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_specmill"))
        .args(["--database-url", &common::fresh_store(Backend::Sqlite).unwrap().0, "serve", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to listen on 0.0.0.0:0 with no credentials"));
}

#[test]
fn listens_openly_beyond_loopback_only_when_told() {
    let port = std::net::TcpListener::bind("0.0.0.0:0").unwrap().local_addr().unwrap().port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_specmill"))
        .args(["--database-url", &common::fresh_store(Backend::Sqlite).unwrap().0, "serve", "--allow-open", "--listen", &format!("0.0.0.0:{port}")])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/clientlib/isAlive/ver");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        match ureq::get(&url).call() {
            Ok(r) => break r.status(),
            Err(_) if std::time::Instant::now() < deadline => std::thread::sleep(std::time::Duration::from_millis(50)),
            Err(e) => panic!("the server did not answer on 0.0.0.0:{port}: {e}"),
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 200);
}

per_backend! {
    with_config => with_config;
}
