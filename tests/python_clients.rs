//! The real Python client libraries (tests/python, run with pytest) against a running
//! specmill, on SQLite and on PostgreSQL, in the virtualenv [`common::python`] finds.

mod common;

use std::process::Command;

use common::{python, Backend, Server};

/// The server's credentials for the clients (ClearML's key/secret, boto3's AWS key pair for
/// SigV4, the Comet API key, the Lens bearer token), all of tenant `default`, so the clients'
/// cross-API reads meet in one tenant.
const CONFIG: &str = r#"
[[tenant]]
name = "default"
[[tenant.clearml]]
access_key = "AK-PYTHON"
secret_key = "SK-PYTHON"
[[tenant.aws]]
access_key_id = "AKIDEXAMPLE"
secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
[[tenant.comet]]
api_key = "COMET-PYTHON-KEY"
[[tenant.lens]]
token = "LENS-PYTHON-TOKEN"
"#;

fn run_pytest(backend: Backend) {
    let Some(python) = python() else { return };
    let Some(server) = Server::start_with_config(backend, CONFIG) else { return };
    let status = Command::new(python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/python"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("SPECMILL_URL", &server.base)
        .env("SPECMILL_CLEARML_KEY", "AK-PYTHON")
        .env("SPECMILL_CLEARML_SECRET", "SK-PYTHON")
        .env("SPECMILL_AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("SPECMILL_AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
        .env("SPECMILL_CLEARML_MAX_VERSION", specmill::generated::clearml::MAX_VERSION)
        // comet_ml talks to this server only, never to comet.com.
        .env("COMET_URL_OVERRIDE", format!("{}/clientlib/", server.base))
        .env("SPECMILL_COMET_KEY", "COMET-PYTHON-KEY")
        .env("SPECMILL_LENS_TOKEN", "LENS-PYTHON-TOKEN")
        // The SDK must not find a user's clearml.conf or write into the home directory.
        .env("CLEARML_CONFIG_FILE", "/dev/null")
        .env("HOME", std::env::temp_dir())
        .status()
        .expect("run pytest");
    assert!(status.success(), "pytest failed against {backend:?}");
}

per_backend! {
    run_pytest => run_pytest;
}
