//! `specmill bench` end to end in a tiny configuration (2000 points, 2 clients, 1 s per ingest
//! phase), once per backend: it exits successfully (no server error, no short read) and
//! prints one table whose every row has a positive figure. No timing is asserted: speed is
//! what the benchmark reports, not what a test checks.

mod common;

use std::process::Command;

use common::Backend;

per_backend! {
    tiny_bench_prints_a_full_table => tiny_bench_prints_a_full_table;
}

/// The rows every table has, by the start of their measure.
const MEASURES: [&str; 19] = [
    "floor: Store::put_scalars",
    "ingest: ClearML events.add_batch",
    "ingest: SageMaker BatchPutMetrics",
    "ingest: Dioptra POST /jobs/{id}/metrics",
    "ingest: Comet write/experiment/metric",
    "read: ClearML scalar_metrics_iter_histogram",
    "read: Lens metrics/data",
    "read: Dioptra snapshots",
    "read: ClearML get_scalar_metric_data",
    "read: dashboard run page",
    "read: dashboard zoom",
    "dashboard run page size",
    "dashboard zoom reply size",
    "dashboard run page size, gzip",
    "dashboard zoom reply size, gzip",
    "server peak RSS while ingesting",
    "server peak RSS while reading",
    "store size per 1M points",
    "full codegen of",
];

fn tiny_bench_prints_a_full_table(backend: Backend) {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_specmill"));
    cmd.args(["bench", "--points", "2000", "--clients", "2", "--single-point-clients", "8", "--ingest-seconds", "1", "--specs"])
        .arg(format!("{root}/specs"));
    let Some(backend_args) = common::backend_args(backend) else { return };
    cmd.args(backend_args);
    let out = cmd.output().expect("run specmill bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "specmill bench failed: {}\n{stdout}\n{stderr}", out.status);

    let lines: Vec<&str> = stdout.lines().collect();
    let header = lines.iter().position(|l| l.starts_with("| measure | figure | unit |")).expect("a table header");
    assert!(lines[header + 1].starts_with("|---|"), "{stdout}");
    let rows: Vec<Vec<&str>> = lines[header + 2..]
        .iter()
        .take_while(|l| l.starts_with("| "))
        .map(|l| l.trim_matches('|').split(" | ").map(str::trim).collect())
        .collect();
    assert_eq!(rows.len(), MEASURES.len(), "{stdout}");
    for (row, measure) in rows.iter().zip(MEASURES) {
        assert_eq!(row.len(), 7, "{row:?}");
        assert!(row[0].starts_with(measure), "row {row:?}, expected {measure}");
        let figure: f64 = row[1].parse().unwrap_or_else(|e| panic!("figure of {row:?}: {e}"));
        assert!(figure > 0.0 && figure.is_finite(), "{row:?}");
        assert!(!row[2].is_empty(), "unit of {row:?}");
        // the counted rows: the floor, ingest and reads wrote or read something
        if measure.starts_with("floor") || measure.starts_with("ingest") || measure.starts_with("read") {
            let count: u64 = row[3].parse().unwrap_or_else(|e| panic!("count of {row:?}: {e}"));
            assert!(count > 0, "{row:?}");
        }
        if measure.starts_with("ingest") || measure.starts_with("read") {
            for p in &row[4..6] {
                assert!(p.parse::<f64>().is_ok_and(|v| v > 0.0), "latency of {row:?}");
            }
        }
        if measure.starts_with("floor") || measure.starts_with("ingest") {
            assert!(row[6].parse::<f64>().is_ok_and(|v| v > 0.0), "ratio of {row:?}");
        }
    }
    // the floor and the read set: 2000 points, read back in full by the paged reads
    assert_eq!(rows[0][3], "2000", "{stdout}");
    assert_eq!(rows[7][3], "200", "{stdout}");
    assert_eq!(rows[8][3], "200", "{stdout}");
    assert!(!stdout.contains("Problems:"), "{stdout}");
}
