//! `specmill soak` in its short form (the long form is the README's documented command):
//! mixed writes through four APIs and reads at a steady rate for 45 s per backend, with the
//! server's memory, open files, threads and latencies sampled in 15 windows. It must end
//! with no error and no growth after warm-up (the soak itself judges growth; its checks
//! are unit-tested in `src/bench/soak.rs`).

mod common;

use std::process::Command;

use common::Backend;

per_backend! {
    short_soak_is_steady => short_soak_is_steady;
}

const WINDOWS: usize = 15;

fn short_soak_is_steady(backend: Backend) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_specmill"));
    cmd.args(["soak", "--seconds", "45", "--windows", &WINDOWS.to_string(), "--points-per-s", "1000", "--reads-per-s", "20"]);
    let Some(backend_args) = common::backend_args(backend) else { return };
    cmd.args(backend_args);
    let out = cmd.output().expect("run specmill soak");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}");
    assert!(out.status.success(), "specmill soak failed: {}\n{stdout}\n{stderr}", out.status);
    assert!(stdout.contains("\nsoak: OK"), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    let header = lines.iter().position(|l| l.starts_with("| at | RSS MiB |")).expect("a table header");
    let rows: Vec<Vec<f64>> = lines[header + 2..]
        .iter()
        .take_while(|l| l.starts_with("| "))
        .map(|l| l.trim_matches('|').split(" | ").map(|c| c.trim().trim_end_matches(" s").parse::<f64>().unwrap_or_else(|e| panic!("{l}: {e}"))).collect())
        .collect();
    assert_eq!(rows.len(), WINDOWS, "{stdout}");
    for r in &rows {
        // RSS, open files, threads, points/s, reads/s all measured; no error in any window
        assert!(r[1] > 0.0 && r[2] > 0.0 && r[4] > 0.0 && r[5] > 0.0 && r[6] > 0.0, "{r:?}\n{stdout}");
        assert_eq!(r[7], 0.0, "{stdout}");
        // connections to PostgreSQL, counted apart: the pool (16) and the writer at most
        match backend {
            Backend::Sqlite => assert_eq!(r[3], 0.0, "{stdout}"),
            Backend::Postgres => assert!(r[3] >= 1.0 && r[3] <= 17.0, "{r:?}\n{stdout}"),
        }
    }
    assert!(stdout.contains(" 0 errors in "), "{stdout}");
}
