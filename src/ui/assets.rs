//! The dashboard's static files, compiled into the binary: the vendored uPlot (see
//! `static/vendor/uplot/README.md`), the chart script and the style sheet.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

/// The vendored uPlot's version (its files' URLs carry it, so a cached copy never outlives it).
pub const UPLOT_VERSION: &str = "1.6.32";

/// Name, content type and bytes of every file under `/ui/static/`.
const FILES: &[(&str, &str, &[u8])] = &[
    ("uPlot.iife.min.js", "text/javascript; charset=utf-8", include_bytes!("static/vendor/uplot/uPlot.iife.min.js")),
    ("uPlot.min.css", "text/css; charset=utf-8", include_bytes!("static/vendor/uplot/uPlot.min.css")),
    ("uPlot.LICENSE.txt", "text/plain; charset=utf-8", include_bytes!("static/vendor/uplot/LICENSE")),
    ("charts.js", "text/javascript; charset=utf-8", include_bytes!("static/charts.js")),
    ("ui.css", "text/css; charset=utf-8", include_bytes!("static/ui.css")),
];

/// A version tag for the URLs of the project's own files (changes with their content).
pub fn asset_tag() -> &'static str {
    static TAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TAG.get_or_init(|| {
        // FNV-1a over every file: stable across builds of the same files
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for (_, _, bytes) in FILES {
            for b in *bytes {
                h = (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
            }
        }
        format!("{UPLOT_VERSION}-{:08x}", h as u32)
    })
}

pub async fn file(name: web::Path<String>) -> HttpResponse {
    match FILES.iter().find(|(n, _, _)| *n == name.as_str()) {
        Some((_, content_type, bytes)) => HttpResponse::Ok()
            .content_type(*content_type)
            // the pages link them with `?v=<asset_tag>`
            .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
            .body(*bytes),
        None => HttpResponse::NotFound().content_type("text/plain; charset=utf-8").body("no such file"),
    }
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    /// The vendored files are the npm package's, byte for byte (hashes in its README).
    #[test]
    fn vendored_uplot_is_the_pinned_release() {
        let readme = include_str!("static/vendor/uplot/README.md");
        assert!(readme.contains(&format!("uplot@{}", super::UPLOT_VERSION)));
        for (name, bytes) in [
            ("uPlot.iife.min.js", &include_bytes!("static/vendor/uplot/uPlot.iife.min.js")[..]),
            ("uPlot.min.css", &include_bytes!("static/vendor/uplot/uPlot.min.css")[..]),
        ] {
            let hex: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
            assert!(readme.contains(&format!("`{name}` `{hex}`")), "{name} is not the recorded release: {hex}");
        }
        let js = include_str!("static/vendor/uplot/uPlot.iife.min.js");
        assert!(js.starts_with(&format!("/*! https://github.com/leeoniya/uPlot (v{})", super::UPLOT_VERSION)));
        assert!(include_str!("static/vendor/uplot/LICENSE").starts_with("The MIT License"));
    }
}
