//! The actix app: every generated route table, each served by its implementation in
//! `api/`, request logging, and native 404s for unknown paths.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use actix_web::dev::{Service as _, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpServer};
use specmill_runtime::auth::{Auth, Config as AuthConfig};
use specmill_runtime::store::Store;
use specmill_runtime::token::{self, Tokens};
use tracing::{info, warn};

use crate::api::clearml_auth::ClearmlAuth;
use crate::api::{clearml::ClearmlEvents, dioptra::Dioptra, lens::Lens, sagemaker::SageMakerMetrics};
use crate::generated;

/// Largest request body accepted by default (ClearML's SDK splits batches at 15 MiB);
/// `serve --max-body-bytes` sets another.
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// Register every API on `cfg`, all over `store`, with the default body limit.
pub fn configure(cfg: &mut web::ServiceConfig, store: &Store, auth: &Auth) {
    configure_limited(cfg, store, auth, MAX_BODY)
}

/// Register every API on `cfg`, all over `store`; bodies over `max_body` bytes are refused
/// (with [`native_errors`], in each API's format).
pub fn configure_limited(cfg: &mut web::ServiceConfig, store: &Store, auth: &Auth, max_body: usize) {
    configure_with(cfg, store, auth, max_body, None)
}

/// [`configure_limited`], and the dashboard's API page compares the spec directories under
/// `spec_versions` (`serve --spec-versions`).
pub fn configure_with(cfg: &mut web::ServiceConfig, store: &Store, auth: &Auth, max_body: usize, spec_versions: Option<&Path>) {
    let tokens = auth.tokens().clone();
    cfg.app_data(web::Data::new(auth.clone()))
        .app_data(web::Data::new(ClearmlAuth::new(auth.clone())))
        .app_data(web::Data::new(ClearmlEvents::new(store.clone(), tokens)))
        .app_data(web::Data::new(SageMakerMetrics::new(store.clone())))
        .app_data(web::Data::new(Lens::new(store.clone())))
        .app_data(web::Data::new(Dioptra::new(store.clone(), auth.clone())))
        .app_data(web::Data::new(crate::api::comet::Comet::new(store.clone())))
        .app_data(web::PayloadConfig::new(max_body));
    generated::clearml::configure_auth::<ClearmlAuth>(cfg);
    generated::clearml::configure_events::<ClearmlEvents>(cfg);
    generated::sagemaker::configure_sage_maker_metrics::<SageMakerMetrics>(cfg);
    generated::lens::configure_lens::<Lens>(cfg);
    generated::dioptra::configure_dioptra::<Dioptra>(cfg);
    generated::comet::configure_comet::<crate::api::comet::Comet>(cfg);
    // services the specs define and nothing above implements: the native "not implemented"
    generated::clearml::configure_unimplemented(cfg, &["auth", "events"]);
    generated::sagemaker::configure_unimplemented(cfg, &["SageMakerMetrics"]);
    generated::lens::configure_unimplemented(cfg, &["lens"]);
    generated::dioptra::configure_unimplemented(cfg, &["dioptra"]);
    generated::comet::configure_unimplemented(cfg, &["comet"]);
    crate::docs::configure(cfg);
    crate::ui::configure(cfg, crate::ui::Ui { store: store.clone(), auth: auth.clone(), spec_versions: spec_versions.map(Path::to_path_buf) });
}

async fn not_found(req: HttpRequest) -> actix_web::HttpResponse {
    specmill_runtime::protocol::fallback::not_found(&req, generated::clearml::MAX_VERSION)
}

/// The token signer, with the key every replica of this store shares.
pub fn tokens_of(store: &Store) -> std::io::Result<Tokens> {
    let key = store.setting_or_init(token::KEY_SETTING, token::new_key).map_err(std::io::Error::other)?;
    Ok(Tokens::new(key.as_bytes()))
}

/// Turns actix's own replies to a refused body (413, from the body extractor) into the
/// native error of the API the path belongs to. Replies a handler made are left alone.
pub fn native_errors(res: ServiceResponse, max_body: usize) -> ServiceResponse {
    if res.status() != StatusCode::PAYLOAD_TOO_LARGE || res.response().error().is_none() {
        return res;
    }
    let (req, _) = res.into_parts();
    let reply = specmill_runtime::protocol::fallback::payload_too_large(&req, generated::ROUTES, generated::clearml::MAX_VERSION, max_body);
    ServiceResponse::new(req, reply)
}

/// Serve until stopped, with the default body limit.
pub async fn serve(addr: SocketAddr, store: Store, config: AuthConfig, workers: Option<usize>) -> std::io::Result<()> {
    serve_with(store, config, ServeOptions { addr, workers, max_body: MAX_BODY, allow_open: false, spec_versions: None }).await
}

/// How `serve_with` listens.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub addr: SocketAddr,
    /// HTTP worker threads (None: one per core).
    pub workers: Option<usize>,
    /// Request bodies over this many bytes get a 413 in the API's own format.
    pub max_body: usize,
    /// Listen beyond loopback with no credentials configured (everyone who can reach the
    /// port is tenant `default`): only when asked for explicitly.
    pub allow_open: bool,
    /// A directory of spec directories the dashboard's API page compares (None: it says how).
    pub spec_versions: Option<PathBuf>,
}

/// Serve until stopped. With no credentials configured the server is open, and then it
/// only listens on a loopback address unless `allow_open` says otherwise.
pub async fn serve_with(store: Store, config: AuthConfig, opts: ServeOptions) -> std::io::Result<()> {
    let ServeOptions { addr, workers, max_body, allow_open, spec_versions } = opts;
    let auth = Auth::new(config, tokens_of(&store)?);
    if auth.is_open() {
        if !addr.ip().is_loopback() && !allow_open {
            return Err(std::io::Error::other(format!(
                "refusing to listen on {addr} with no credentials configured: give a --config with tenants, listen on loopback, or pass --allow-open"
            )));
        }
        if addr.ip().is_loopback() {
            warn!("no credentials configured: open to every caller on {addr} (loopback only), all runs in tenant `default`");
        } else {
            warn!("no credentials configured and --allow-open given: anyone who can reach {addr} reads and writes every run (tenant `default`)");
        }
    }
    let s = store.clone();
    let mut server = HttpServer::new(move || {
        let (store, auth) = (s.clone(), auth.clone());
        App::new()
            .configure(|cfg| configure_with(cfg, &store, &auth, max_body, spec_versions.as_deref()))
            .default_service(web::to(not_found))
            .wrap_fn(move |req, srv| {
                let method = req.method().clone();
                let path = req.path().to_string();
                let started = std::time::Instant::now();
                let fut = srv.call(req);
                async move {
                    let res = native_errors(fut.await?, max_body);
                    tracing::info!(target: "specmill::http", %method, %path, status = res.status().as_u16(), elapsed_us = started.elapsed().as_micros() as u64);
                    Ok(res)
                }
            })
    })
    .bind(addr)?;
    if let Some(w) = workers {
        server = server.workers(w);
    }
    info!(%addr, "specmill listening");
    server.run().await
}
