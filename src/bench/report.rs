//! The benchmark's table: rows of figures, latency percentiles, and the Markdown it prints.

use std::fmt::Write as _;
use std::time::Duration;

/// Request latencies of one measure.
#[derive(Debug, Default, Clone)]
pub struct Latencies(Vec<Duration>);

impl Latencies {
    pub fn push(&mut self, d: Duration) {
        self.0.push(d);
    }

    pub fn extend(&mut self, other: Latencies) {
        self.0.extend(other.0);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `p`-quantile (0 < p ≤ 1) by nearest rank, in milliseconds; None without samples.
    pub fn percentile_ms(&self, p: f64) -> Option<f64> {
        if self.0.is_empty() {
            return None;
        }
        let mut sorted = self.0.clone();
        sorted.sort();
        let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        Some(sorted[rank - 1].as_secs_f64() * 1000.0)
    }
}

/// One line of the table.
#[derive(Debug, Clone)]
pub struct Row {
    pub measure: String,
    /// The main figure, in `unit`; every row of a sound run has a positive one.
    pub figure: f64,
    pub unit: &'static str,
    /// Points written or rows read, when the row counts any.
    pub count: Option<u64>,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// The figure divided by the floor's (ingest rows).
    pub vs_floor: Option<f64>,
}

impl Row {
    pub fn new(measure: impl Into<String>, figure: f64, unit: &'static str) -> Row {
        Row { measure: measure.into(), figure, unit, count: None, p50_ms: None, p99_ms: None, vs_floor: None }
    }

    pub fn count(mut self, n: u64) -> Row {
        self.count = Some(n);
        self
    }

    pub fn latencies(mut self, l: &Latencies) -> Row {
        self.p50_ms = l.percentile_ms(0.50);
        self.p99_ms = l.percentile_ms(0.99);
        self
    }

    pub fn vs_floor(mut self, ratio: f64) -> Row {
        self.vs_floor = Some(ratio);
        self
    }
}

/// The table of one backend.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub title: String,
    /// Lines printed under the title (configuration, machine).
    pub context: Vec<String>,
    pub rows: Vec<Row>,
    /// Anything that went wrong while measuring (server errors, short reads).
    pub problems: Vec<String>,
}

/// Column headers, in order.
pub const HEADER: &str = "| measure | figure | unit | count | p50 ms | p99 ms | vs floor |";

impl Table {
    /// Markdown: a heading, the context lines, the table, then the problems (if any).
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "### {}\n", self.title);
        for line in &self.context {
            let _ = writeln!(out, "{line}  ");
        }
        let _ = writeln!(out, "\n{HEADER}");
        let _ = writeln!(out, "|---|---:|---|---:|---:|---:|---:|");
        for r in &self.rows {
            let opt = |v: Option<f64>| v.map(sig3).unwrap_or_default();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                r.measure,
                sig3(r.figure),
                r.unit,
                r.count.map(|n| n.to_string()).unwrap_or_default(),
                opt(r.p50_ms),
                opt(r.p99_ms),
                r.vs_floor.map(|v| format!("{v:.3}")).unwrap_or_default(),
            );
        }
        if !self.problems.is_empty() {
            let _ = writeln!(out, "\nProblems:");
            for p in &self.problems {
                let _ = writeln!(out, "- {p}");
            }
        }
        out
    }
}

/// At least three significant digits, no exponent, no grouping: `412345`, `51.2`, `0.00420`.
pub fn sig3(x: f64) -> String {
    if !x.is_finite() || x == 0.0 {
        return format!("{x}");
    }
    let decimals = (2 - x.abs().log10().floor() as i32).max(0) as usize;
    format!("{x:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let mut l = Latencies::default();
        assert_eq!(l.percentile_ms(0.5), None);
        for ms in [5, 1, 4, 2, 3] {
            l.push(Duration::from_millis(ms));
        }
        assert_eq!(l.percentile_ms(0.5), Some(3.0));
        assert_eq!(l.percentile_ms(0.99), Some(5.0));
        assert_eq!(l.percentile_ms(0.2), Some(1.0));
    }

    #[test]
    fn figures_keep_three_significant_digits() {
        assert_eq!(sig3(412345.4), "412345");
        assert_eq!(sig3(51.23), "51.2");
        assert_eq!(sig3(1.0), "1.00");
        assert_eq!(sig3(0.0042), "0.00420");
        assert_eq!(sig3(0.0), "0");
    }

    #[test]
    fn table_renders_every_row_under_the_header() {
        let mut l = Latencies::default();
        l.push(Duration::from_millis(2));
        let t = Table {
            title: "SQLite".into(),
            context: vec!["1000 points".into()],
            rows: vec![
                Row::new("floor", 1000.0, "points/s").count(1000).vs_floor(1.0),
                Row::new("read", 50.0, "rows/s").latencies(&l),
            ],
            problems: vec!["a 500".into()],
        };
        let text = t.render();
        assert!(text.starts_with("### SQLite\n\n1000 points  \n"), "{text}");
        assert!(text.contains(&format!("{HEADER}\n|---|")), "{text}");
        assert!(text.contains("| floor | 1000 | points/s | 1000 |  |  | 1.000 |\n"), "{text}");
        assert!(text.contains("| read | 50.0 | rows/s |  | 2.00 | 2.00 |  |\n"), "{text}");
        assert!(text.ends_with("Problems:\n- a 500\n"), "{text}");
    }
}
