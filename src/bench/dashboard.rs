//! The dashboard's speed on the read set: the run page of the whole run (one chart per
//! metric, every series downsampled on the server, plus the tables shown without
//! JavaScript) and a zoom of one chart, over real HTTP. Reports the server time per request
//! and the bytes each sends, as is and gzipped (as browsers ask for it); each reply is
//! checked for the charts it must hold.

use std::io::Read as _;

use super::floor::ReadSet;
use super::http::Client;
use super::reads::{repeat, Read};

/// What the dashboard reads measured: the reads, and the bytes of one run page and one zoom.
pub struct DashboardReads {
    pub reads: Vec<Read>,
    pub page_bytes: u64,
    pub zoom_bytes: u64,
    /// The same replies' bytes when the request accepts gzip (None: not compressed).
    pub page_gzip_bytes: Option<u64>,
    pub zoom_gzip_bytes: Option<u64>,
}

/// The bytes of `path`'s reply body when the request accepts gzip, if it came compressed.
fn gzip_bytes(base: &str, path: &str) -> Option<u64> {
    let reply = ureq::get(&format!("{base}{path}")).set("Accept-Encoding", "gzip").call().ok()?;
    if reply.header("Content-Encoding") != Some("gzip") {
        return None;
    }
    let mut body = Vec::new();
    reply.into_reader().read_to_end(&mut body).ok()?;
    Some(body.len() as u64)
}

/// The run page, then a zoom to 10 % of one metric's steps (repeated for percentiles).
pub fn run(base: &str, set: &ReadSet) -> DashboardReads {
    let client = Client::new(base);
    let mut page = Read::new(format!("read: dashboard run page /ui/runs/{{id}}, {} charts of {} points", set.metrics.len(), set.points()));
    let mut page_bytes = 0;
    let page_path = format!("/ui/runs/{}", set.run_id);
    let path = page_path.clone();
    repeat(&mut page, |read| {
        let html = read.timed(|| client.send("GET", &path, "text/html", None))?;
        page_bytes = html.len() as u64;
        let charts = html.matches("class=\"chart-data\"").count();
        if charts != set.metrics.len() || set.metrics.iter().any(|m| !html.contains(&format!("data-metric=\"{m}\""))) {
            return Err(format!("run page: {charts} charts, {} expected", set.metrics.len()));
        }
        Ok(1)
    });
    let metric = &set.metrics[set.metrics.len() / 2];
    let (lo, hi) = (set.steps * 45 / 100, set.steps * 55 / 100);
    let mut zoom = Read::new(format!("read: dashboard zoom /ui/chart, 1 metric, steps {lo}..{hi} of {}", set.steps));
    let mut zoom_bytes = 0;
    let zoom_path = format!("/ui/chart?runs={}&metric={metric}&from={lo}&to={hi}", set.run_id);
    let path = zoom_path.clone();
    repeat(&mut zoom, |read| {
        let text = read.timed(|| client.send("GET", &path, "application/json", None))?;
        zoom_bytes = text.len() as u64;
        let chart: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("zoom: {e}"))?;
        let xs = chart["data"][0].as_array().map(Vec::len).unwrap_or(0) as u64;
        let inside = chart["data"][0].as_array().is_some_and(|x| x.iter().filter_map(|v| v.as_f64()).all(|x| x >= (lo as f64) - (hi - lo) as f64 && x <= hi as f64));
        if xs == 0 || !inside {
            return Err(format!("zoom: {xs} buckets, or buckets outside {lo}..{hi}"));
        }
        Ok(1)
    });
    DashboardReads {
        reads: vec![page, zoom],
        page_bytes,
        zoom_bytes,
        page_gzip_bytes: gzip_bytes(base, &page_path),
        zoom_gzip_bytes: gzip_bytes(base, &zoom_path),
    }
}
