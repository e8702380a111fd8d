//! A private PostgreSQL server for tests that stop and restart it (the shared one on
//! :5432 serves every other test): `initdb` into a temp dir, `pg_ctl` on a free port.
//! Run as the `postgres` user when the tests run as root (PostgreSQL refuses root).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Cluster {
    _dir: tempfile::TempDir,
    data: PathBuf,
    bin: PathBuf,
    pub port: u16,
    as_postgres: bool,
}

/// The newest installed PostgreSQL's programs (Debian's layout), if any.
fn bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql").ok()?.filter_map(|e| e.ok()).map(|e| e.path().join("bin")).filter(|p| p.join("pg_ctl").exists()).collect();
    versions.sort_by_key(|p| p.parent().and_then(|v| v.file_name()).and_then(|v| v.to_str()).and_then(|v| v.parse::<u32>().ok()));
    versions.pop()
}

impl Cluster {
    /// A new cluster, started. None (SKIP printed) when PostgreSQL's programs are not
    /// installed, outside CI; in CI that fails the test.
    pub fn start() -> Option<Cluster> {
        let Some(bin) = bin_dir() else {
            if std::env::var_os("CI").is_some() {
                panic!("PostgreSQL's programs (initdb, pg_ctl) are required in CI");
            }
            eprintln!("SKIP: no /usr/lib/postgresql/*/bin/pg_ctl");
            return None;
        };
        let as_postgres = unsafe { libc_geteuid() } == 0;
        let dir = tempfile::Builder::new().prefix("specmill-pg").tempdir().expect("temp dir");
        let data = dir.path().join("data");
        if as_postgres {
            let status = Command::new("chown").args(["-R", "postgres:postgres"]).arg(dir.path()).status().expect("chown");
            assert!(status.success(), "chown the cluster dir to postgres");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let cluster = Cluster { _dir: dir, data, bin, port, as_postgres };
        cluster.run("initdb", &["-D", &cluster.data_str(), "-A", "trust", "-U", "postgres", "--no-instructions"]);
        let conf = format!(
            "port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\nmax_connections = 60\nshared_buffers = 32MB\nfsync = on\nsynchronous_commit = on\n",
            cluster.socket_dir()
        );
        let conf_path = cluster.data.join("postgresql.auto.conf");
        let mut text = std::fs::read_to_string(&conf_path).unwrap_or_default();
        text.push_str(&conf);
        std::fs::write(&conf_path, text).expect("write postgresql.auto.conf");
        cluster.pg_ctl(&["start", "-w", "-t", "60"]);
        Some(cluster)
    }

    fn data_str(&self) -> String {
        self.data.display().to_string()
    }

    fn socket_dir(&self) -> String {
        self.data.parent().unwrap().display().to_string()
    }

    /// Runs one of PostgreSQL's programs (as `postgres` when we are root); panics on failure.
    fn run(&self, program: &str, args: &[&str]) {
        let path = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let out = command.args(args).current_dir(Path::new("/")).output().expect("run a PostgreSQL program");
        assert!(out.status.success(), "{program} {args:?}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }

    fn pg_ctl(&self, args: &[&str]) {
        let mut all = vec!["-D".to_string(), self.data_str(), "-l".to_string(), self.data.parent().unwrap().join("log").display().to_string()];
        all.extend(args.iter().map(|a| a.to_string()));
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        self.run("pg_ctl", &all);
    }

    /// The admin URL (database `postgres`).
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server the way an operator's restart does (`-m fast`: clients are
    /// disconnected, open transactions roll back, a checkpoint is written).
    pub fn stop(&self) {
        self.pg_ctl(&["stop", "-m", "fast", "-w"]);
    }

    /// Stops it as a crash would (`-m immediate`: no checkpoint; recovery replays the WAL).
    pub fn crash(&self) {
        self.pg_ctl(&["stop", "-m", "immediate", "-w"]);
    }

    pub fn start_again(&self) {
        self.pg_ctl(&["start", "-w", "-t", "60"]);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let path = self.bin.join("pg_ctl");
        let data = self.data_str();
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let _ = command.args(["-D", &data, "stop", "-m", "immediate"]).output();
    }
}

extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}
