//! The series behind every chart, downsampled on the server with the ClearML histogram's
//! code ([`group_intervals`] sizes the buckets of all series together, the store's
//! per-bucket aggregates answer them), so a metric of a million points draws from about
//! `samples` buckets per series. `GET /ui/chart` answers the same data in JSON for a zoom
//! (a step or time range) or another x axis.

use std::collections::{BTreeMap, BTreeSet};

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use specmill_runtime::store::{Run, Store, StoreError};

use super::{blocking, Ui, Viewer};
use crate::api::clearml::{group_intervals, histogram, SeriesStats};

/// Buckets per series a chart asks for (the ClearML histogram's `samples`).
pub const SAMPLES: i64 = 1000;
/// Buckets per series of the tables shown in place of the charts.
pub const TABLE_SAMPLES: i64 = 40;
/// At most this many runs on one chart.
pub const MAX_RUNS: usize = 10;

/// What the x axis counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Axis {
    /// The iteration (a point without one counts as step 0, as in ClearML).
    #[default]
    Step,
    /// The point's time (x in epoch seconds).
    Time,
}

impl Axis {
    pub fn parse(text: Option<&str>) -> Option<Axis> {
        match text.unwrap_or("step") {
            "step" | "" => Some(Axis::Step),
            "time" => Some(Axis::Time),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Axis::Step => "step",
            Axis::Time => "time",
        }
    }
}

/// One series on a chart before alignment: its label and its buckets (x, mean).
struct Line {
    label: String,
    points: Vec<(i64, f64)>,
}

/// One chart, as uPlot takes it: `data[0]` the x values, `data[i]` series `labels[i-1]`
/// aligned on them (`null` where a series has no bucket).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Chart {
    pub metric: String,
    pub axis: Axis,
    pub labels: Vec<String>,
    #[serde(serialize_with = "compact_columns")]
    pub data: Vec<Vec<Option<f64>>>,
    /// The x range asked for (a zoom), in the axis' units.
    pub range: Option<(f64, f64)>,
    /// Per series, the bucket width chosen (steps, or milliseconds on the time axis).
    pub widths: Vec<i64>,
}

impl Chart {
    fn of(metric: &str, axis: Axis, range: Option<(i64, i64)>, lines: Vec<Line>, widths: Vec<i64>) -> Chart {
        // a zoom's first bucket starts before the range (buckets are aligned on multiples of
        // their width) but holds only points in it: it is drawn at the range's start
        let clamp = |x: i64| range.map_or(x, |(from, _)| x.max(from));
        let xs: BTreeSet<i64> = lines.iter().flat_map(|l| l.points.iter().map(|p| clamp(p.0))).collect();
        let index: BTreeMap<i64, usize> = xs.iter().enumerate().map(|(i, x)| (*x, i)).collect();
        let unit = |x: i64| match axis {
            Axis::Step => x as f64,
            Axis::Time => x as f64 / 1000.0,
        };
        let mut data = vec![xs.iter().map(|x| Some(unit(*x))).collect::<Vec<_>>()];
        for line in &lines {
            let mut ys = vec![None; xs.len()];
            for (x, y) in &line.points {
                ys[index[&clamp(*x)]] = Some(*y);
            }
            data.push(ys);
        }
        Chart {
            metric: metric.to_string(),
            axis,
            labels: lines.into_iter().map(|l| l.label).collect(),
            data,
            range: range.map(|(a, b)| (unit(a), unit(b))),
            widths,
        }
    }

    /// The number of buckets drawn (x values).
    pub fn len(&self) -> usize {
        self.data.first().map_or(0, Vec::len)
    }

    /// The chart as table rows: the x value and each series' value, formatted.
    pub fn table_rows(&self) -> Vec<(String, Vec<String>)> {
        (0..self.len())
            .map(|i| {
                let x = self.data[0][i].unwrap_or(0.0);
                let x = match self.axis {
                    Axis::Step => format!("{}", x as i64),
                    Axis::Time => super::format_time((x * 1e6) as i64),
                };
                (x, self.data[1..].iter().map(|ys| ys[i].map(super::format_value).unwrap_or_default()).collect())
            })
            .collect()
    }
}

/// A number as few bytes of JSON as a chart needs: whole numbers as integers, others (when
/// `round`) to 7 significant digits, more than a chart or its legend can show. The x values
/// are not rounded: epoch seconds need their 13 digits.
fn compact(v: f64, round: bool) -> serde_json::Value {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        serde_json::Value::from(v as i64)
    } else {
        let v = if round { format!("{v:.6e}").parse().unwrap_or(v) } else { v };
        serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, serde_json::Value::Number)
    }
}

fn compact_columns<S: serde::Serializer>(data: &[Vec<Option<f64>>], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(data.len()))?;
    for (i, column) in data.iter().enumerate() {
        let column: Vec<serde_json::Value> = column.iter().map(|v| v.map_or(serde_json::Value::Null, |v| compact(v, i > 0))).collect();
        seq.serialize_element(&column)?;
    }
    seq.end()
}

/// The series of one run to draw: (metric, variant) with its point count and step bounds.
struct Source {
    run: Run,
    metric: String,
    variant: String,
    stats: SeriesStats,
}

/// How a series is labelled: its variant on a one-run chart, the run (and the variant when
/// a run has several) on a chart of several runs.
fn label(src: &Source, several_runs: bool, variants_of_run: usize) -> String {
    let run = if src.run.name.is_empty() { src.run.uid.clone() } else { src.run.name.clone() };
    match (several_runs, variants_of_run > 1 || src.variant.is_empty()) {
        (false, _) if src.variant.is_empty() => src.metric.clone(),
        (false, _) => src.variant.clone(),
        (true, true) if src.variant.is_empty() => run,
        (true, true) => format!("{run} · {}", src.variant),
        (true, false) => run,
    }
}

/// The bucket width of each source: every run's series are grouped and sized on their own,
/// as clearml-server does per task of a multi-task histogram.
fn widths(sources: &[Source], runs: &[Run], samples: i64) -> Vec<i64> {
    let mut widths = vec![1; sources.len()];
    for run in runs {
        let idx: Vec<usize> = (0..sources.len()).filter(|i| sources[*i].run.id == run.id).collect();
        let stats: Vec<SeriesStats> = idx.iter().map(|i| sources[*i].stats).collect();
        for (i, w) in idx.into_iter().zip(group_intervals(&stats, samples)) {
            widths[i] = w;
        }
    }
    widths
}

/// Downsamples `metric` of `runs` (every metric when `None`) once per entry of `samples`:
/// for each, one chart per metric, in name order. The series are found (and, by time, their
/// points read) once. By step, from the store's rollup (only series of fewer than about
/// 2 × `samples` points read points); by time, from the finite values in range.
pub fn charts(
    store: &Store,
    runs: &[Run],
    metric: Option<&str>,
    axis: Axis,
    range: Option<(i64, i64)>,
    samples: &[i64],
) -> Result<Vec<Vec<Chart>>, StoreError> {
    match axis {
        Axis::Step => step_charts(store, runs, metric, range, samples),
        Axis::Time => time_charts(store, runs, metric, range, samples),
    }
}

/// The label of every source, in order.
fn labels(sources: &[Source], runs: &[Run]) -> Vec<String> {
    sources
        .iter()
        .map(|src| {
            let variants = sources.iter().filter(|s| s.run.id == src.run.id && s.metric == src.metric).count();
            label(src, runs.len() > 1, variants)
        })
        .collect()
}

fn step_charts(store: &Store, runs: &[Run], metric: Option<&str>, range: Option<(i64, i64)>, samples: &[i64]) -> Result<Vec<Vec<Chart>>, StoreError> {
    let mut sources = Vec::new();
    for run in runs {
        for b in store.series_bounds(run.id)? {
            if metric.is_some_and(|m| m != b.metric) {
                continue;
            }
            let stats = match range {
                None => SeriesStats { count: b.count, min: b.min_step, max: b.max_step },
                Some((from, to)) => {
                    let (min, max) = (from.max(b.min_step), to.min(b.max_step));
                    if min > max {
                        continue;
                    }
                    SeriesStats { count: store.series_count_in(run.id, &b.metric, &b.variant, (min, max))?, min, max }
                }
            };
            sources.push(Source { run: run.clone(), metric: b.metric, variant: b.variant, stats });
        }
    }
    let labels = labels(&sources, runs);
    let mut out = Vec::with_capacity(samples.len());
    for n in samples {
        let widths = widths(&sources, runs, *n);
        let mut lines: Vec<(Line, i64, String)> = Vec::with_capacity(sources.len());
        for ((src, width), label) in sources.iter().zip(&widths).zip(&labels) {
            let points = store.series_buckets_in(src.run.id, &src.metric, &src.variant, *width, range)?;
            lines.push((Line { label: label.clone(), points }, *width, src.metric.clone()));
        }
        out.push(assemble(lines, Axis::Step, range));
    }
    Ok(out)
}

fn time_charts(store: &Store, runs: &[Run], metric: Option<&str>, range: Option<(i64, i64)>, samples: &[i64]) -> Result<Vec<Vec<Chart>>, StoreError> {
    let mut sources = Vec::new();
    let mut points = Vec::new();
    for run in runs {
        let (from, to) = (range.map(|r| r.0.saturating_mul(1000)), range.map(|r| r.1.saturating_mul(1000).saturating_add(999)));
        let mut by_series: BTreeMap<(String, String), Vec<(i64, f64)>> = BTreeMap::new();
        for (metric, variant, ts_us, value) in store.finite_values_by_time(run.id, metric, from, to)? {
            by_series.entry((metric, variant)).or_default().push((ts_us.div_euclid(1000), value));
        }
        for ((metric, variant), pts) in by_series {
            sources.push(Source { run: run.clone(), metric, variant, stats: SeriesStats::of(&pts) });
            points.push(pts);
        }
    }
    let labels = labels(&sources, runs);
    let mut out = Vec::with_capacity(samples.len());
    for n in samples {
        let widths = widths(&sources, runs, *n);
        let lines = sources
            .iter()
            .zip(&points)
            .zip(&widths)
            .zip(&labels)
            .map(|(((src, pts), width), label)| {
                let (x, y) = histogram(pts, *width);
                (Line { label: label.clone(), points: x.into_iter().zip(y).collect() }, *width, src.metric.clone())
            })
            .collect();
        out.push(assemble(lines, Axis::Time, range));
    }
    Ok(out)
}

/// Groups lines into one chart per metric (in metric order, lines in their given order).
fn assemble(lines: Vec<(Line, i64, String)>, axis: Axis, range: Option<(i64, i64)>) -> Vec<Chart> {
    let mut by_metric: BTreeMap<String, (Vec<Line>, Vec<i64>)> = BTreeMap::new();
    for (line, width, metric) in lines {
        let entry = by_metric.entry(metric).or_default();
        entry.0.push(line);
        entry.1.push(width);
    }
    by_metric.into_iter().map(|(metric, (lines, widths))| Chart::of(&metric, axis, range, lines, widths)).collect()
}

#[derive(Deserialize)]
pub struct ChartQuery {
    /// Run ids, comma-separated.
    runs: String,
    metric: String,
    x: Option<String>,
    /// The zoomed range, in the axis' units (steps, or epoch seconds).
    from: Option<f64>,
    to: Option<f64>,
    samples: Option<i64>,
}

fn bad_request(message: impl Into<String>) -> HttpResponse {
    HttpResponse::BadRequest().json(serde_json::json!({ "error": message.into() }))
}

/// Run ids from a comma-separated list: each a number, 1..=MAX_RUNS of them, no repeats.
pub fn parse_run_ids(text: &str) -> Result<Vec<i64>, String> {
    let mut ids = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let id: i64 = part.parse().map_err(|_| format!("run id `{part}` is not a number"))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.is_empty() || ids.len() > MAX_RUNS {
        return Err(format!("give 1 to {MAX_RUNS} run ids, not {}", ids.len()));
    }
    Ok(ids)
}

/// The viewer's runs of `ids`, in that order; `Err` names the first one that is not theirs.
pub fn own_runs(store: &Store, tenant: &str, ids: &[i64]) -> Result<Result<Vec<Run>, i64>, StoreError> {
    let mut runs = Vec::with_capacity(ids.len());
    for id in ids {
        match store.run_by_id(tenant, *id)? {
            Some(run) => runs.push(run),
            None => return Ok(Err(*id)),
        }
    }
    Ok(Ok(runs))
}

/// `GET /ui/chart?runs=1,2&metric=loss&x=step&from=100&to=200`: one metric's chart, zoomed
/// to the range when one is given, as JSON.
pub async fn data(ui: web::Data<Ui>, viewer: Viewer, q: web::Query<ChartQuery>) -> HttpResponse {
    let ids = match parse_run_ids(&q.runs) {
        Ok(ids) => ids,
        Err(e) => return bad_request(e),
    };
    let Some(axis) = Axis::parse(q.x.as_deref()) else { return bad_request("x must be `step` or `time`") };
    let samples = q.samples.unwrap_or(SAMPLES);
    if !(1..=10_000).contains(&samples) {
        return bad_request("samples must be 1..10000");
    }
    let range = match (q.from, q.to) {
        (None, None) => None,
        (Some(a), Some(b)) if a.is_finite() && b.is_finite() && a <= b => Some(match axis {
            Axis::Step => (a.floor() as i64, b.ceil() as i64),
            Axis::Time => ((a * 1000.0).floor() as i64, (b * 1000.0).ceil() as i64),
        }),
        _ => return bad_request("from and to go together, as numbers with from <= to"),
    };
    let (store, tenant, metric) = (ui.store.clone(), viewer.tenant.clone(), q.metric.clone());
    let result = blocking(move || {
        let runs = match own_runs(&store, &tenant, &ids)? {
            Ok(runs) => runs,
            Err(id) => return Ok(Err(id)),
        };
        Ok(Ok(charts(&store, &runs, Some(&metric), axis, range, &[samples])?.pop().unwrap_or_default()))
    })
    .await;
    match result {
        Ok(Ok(mut charts)) => {
            let chart = charts.pop().unwrap_or_else(|| Chart::of(&q.metric, axis, range, Vec::new(), Vec::new()));
            HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(chart)
        }
        Ok(Err(id)) => HttpResponse::NotFound().json(serde_json::json!({ "error": format!("no run {id}") })),
        Err(e) if e.is_unavailable() => HttpResponse::ServiceUnavailable().json(serde_json::json!({ "error": "store unavailable" })),
        Err(e) => {
            tracing::error!(error = %e, "chart data failed");
            HttpResponse::InternalServerError().json(serde_json::json!({ "error": "store error" }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_align_series_and_keep_time_exact() {
        let lines = vec![
            Line { label: "a".into(), points: vec![(1_796_301_230_620, 0.123456789), (1_796_301_231_620, 2.0)] },
            Line { label: "b".into(), points: vec![(1_796_301_231_620, -1.5)] },
        ];
        let chart = Chart::of("loss", Axis::Time, None, lines, vec![1, 1]);
        let json = serde_json::to_value(&chart).unwrap();
        // x in seconds with their milliseconds; y to 7 digits; a gap is null
        assert_eq!(json["data"], serde_json::json!([[1796301230.62, 1796301231.62], [0.1234568, 2], [null, -1.5]]));
        assert_eq!(chart.table_rows()[1].1, vec!["2".to_string(), "-1.5".to_string()]);
        assert_eq!(chart.len(), 2);
    }

    #[test]
    fn labels_name_runs_only_when_there_are_several() {
        let run = Run { id: 1, tenant: "t".into(), uid: "task-a".into(), name: String::new(), created_by: "clearml".into(), created_us: 0, updated_us: 0 };
        let src = |variant: &str| Source { run: run.clone(), metric: "loss".into(), variant: variant.into(), stats: SeriesStats { count: 1, min: 0, max: 0 } };
        assert_eq!(label(&src("train"), false, 2), "train");
        assert_eq!(label(&src(""), false, 1), "loss");
        assert_eq!(label(&src("train"), true, 2), "task-a · train");
        assert_eq!(label(&src("train"), true, 1), "task-a");
        assert_eq!(label(&src(""), true, 1), "task-a");
    }

    #[test]
    fn a_zooms_partial_first_bucket_is_drawn_inside_the_range() {
        // width 2 from step 987: the bucket of 986..987 holds only 987
        let line = Line { label: "train".into(), points: vec![(986, 1.0), (988, 2.0), (990, 3.0)] };
        let chart = Chart::of("loss", Axis::Step, Some((987, 990)), vec![line], vec![2]);
        assert_eq!(chart.data, vec![vec![Some(987.0), Some(988.0), Some(990.0)], vec![Some(1.0), Some(2.0), Some(3.0)]]);
        let line = Line { label: "train".into(), points: vec![(986, 1.0)] };
        assert_eq!(Chart::of("loss", Axis::Step, None, vec![line], vec![2]).data[0], vec![Some(986.0)]);
    }
}
