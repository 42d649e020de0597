//! The routes of the public site and the staff area with their security headers, the page
//! templates and stylesheet, health and metrics, and [`serve`], which runs it all.

use super::api::{api_kpi, openapi};
use super::pages::{
    accessibility, chart_file, download, easy_language, embed, methodology, office_page, opendata,
    overview, report,
};
use super::state::{AppState, DashboardsWatch, KnownVersion, computations, dashboards_stamp};
use super::{WebError, cache, opendata, server, staff};
use crate::config::Settings;
use crate::dashboards::{DashboardErrors, Dashboards};
use crate::store::Store;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;

/// Strict by construction: no inline scripts or styles, nothing from elsewhere.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

fn templates() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.add_filter("t", |text: String, lang: String| -> String {
        match lang.as_str() {
            "en" => crate::i18n::english(&text).unwrap_or(&text).to_string(),
            _ => text,
        }
    });
    for (name, src) in [
        ("base.html", include_str!("templates/base.html")),
        ("overview.html", include_str!("templates/overview.html")),
        ("office.html", include_str!("templates/office.html")),
        (
            "methodology.html",
            include_str!("templates/methodology.html"),
        ),
        (
            "accessibility.html",
            include_str!("templates/accessibility.html"),
        ),
        ("easy.html", include_str!("templates/easy.html")),
        ("opendata.html", include_str!("templates/opendata.html")),
        ("embed.html", include_str!("templates/embed.html")),
        ("staff_base.html", include_str!("templates/staff_base.html")),
        (
            "staff_login.html",
            include_str!("templates/staff_login.html"),
        ),
        (
            "staff_message.html",
            include_str!("templates/staff_message.html"),
        ),
        ("staff_home.html", include_str!("templates/staff_home.html")),
        (
            "staff_preview.html",
            include_str!("templates/staff_preview.html"),
        ),
        (
            "staff_refused.html",
            include_str!("templates/staff_refused.html"),
        ),
        (
            "staff_history.html",
            include_str!("templates/staff_history.html"),
        ),
        (
            "staff_password.html",
            include_str!("templates/staff_password.html"),
        ),
        (
            "staff_audit.html",
            include_str!("templates/staff_audit.html"),
        ),
        (
            "staff_mapping.html",
            include_str!("templates/staff_mapping.html"),
        ),
        (
            "staff_admin.html",
            include_str!("templates/staff_admin.html"),
        ),
    ] {
        env.add_template(name, src)
            .expect("templates are checked by the tests");
    }
    env
}

/// Why the web layer could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Dashboards(#[from] DashboardErrors),
    #[error("{0}")]
    Staff(#[from] crate::staff::StaffError),
    #[error("{0}")]
    Store(#[from] crate::store::StoreError),
}

/// Builds the router over a store. The dashboards folder of the settings (if any) is checked
/// here, so that a mistake stops the start with file, line and column.
pub fn router(store: Store, settings: Settings) -> Result<Router, StartError> {
    let root = store.root().to_path_buf();
    let staff_db = crate::staff::StaffDb::open_at(&root, store.database_url())?;
    let max_upload = settings.max_upload_bytes;
    let (dashboards, watch) = match &settings.dashboards {
        Some(dir) => (
            Dashboards::load_dir(dir)?,
            Some(Mutex::new(DashboardsWatch {
                dir: dir.clone(),
                checked: std::time::Instant::now(),
                stamp: dashboards_stamp(dir),
            })),
        ),
        None => (Dashboards::embedded(), None),
    };
    let readers = (0..computations(&settings))
        .map(|_| store.reopen().map(Mutex::new))
        .collect::<Result<Vec<_>, _>>()?;
    let shared_catalog = store.shared_catalog();
    let notified = Arc::new(AtomicU64::new(0));
    if let Some(url) = store.database_url() {
        let (alive, count) = (Arc::downgrade(&notified), Arc::downgrade(&notified));
        crate::store::db::listen(
            url,
            move || alive.strong_count() > 0,
            move || {
                if let Some(n) = count.upgrade() {
                    n.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
                }
            },
        );
    }
    let state = Arc::new(AppState {
        shared_catalog,
        notified,
        store: Mutex::new(store),
        readers,
        staff: Mutex::new(staff_db),
        refused: Mutex::new(HashMap::new()),
        mappings: Mutex::new(HashMap::new()),
        templates: templates(),
        cache: cache::ResponseCache::new(settings.cache_max_bytes),
        compute: cache::ComputeGate::new(
            computations(&settings),
            4 * computations(&settings),
            std::time::Duration::from_secs(10),
        ),
        in_flight: Mutex::new(HashMap::new()),
        filter_options: Mutex::new(HashMap::new()),
        version: Mutex::new(KnownVersion::default()),
        seen: (std::sync::atomic::AtomicI64::new(-1), AtomicU64::new(0)),
        dashboards: std::sync::RwLock::new((Arc::new(dashboards), 0)),
        dashboards_watch: watch,
        catalog_files: [root.join("catalog.sqlite"), root.join("catalog.sqlite-wal")],
        settings,
        requests: AtomicU64::new(0),
        renders: AtomicU64::new(0),
    });
    Ok(Router::new()
        .route("/", get(overview))
        .route("/dashboards/{slug}", get(office_page))
        .route("/charts/{slug}/{file}", get(chart_file))
        .route("/embed/{slug}/{chart}", get(embed))
        .route("/feed.atom", get(super::feed::site))
        .route("/feed/{file}", get(super::feed::office))
        .route("/api/v1/kpi/{kind}", get(api_kpi))
        .route("/api/v1/openapi.json", get(openapi))
        .route("/downloads/{file}", get(download))
        .route("/opendata", get(opendata))
        .route("/reports/{file}", get(report))
        .route("/opendata/catalog.jsonld", get(opendata::catalog))
        .route("/methodik", get(methodology))
        .route("/barrierefreiheit", get(accessibility))
        .route("/leichte-sprache", get(easy_language))
        .route("/assets/style.css", get(stylesheet))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(staff::routes(max_upload))
        .fallback(|| async { WebError::NotFound })
        .layer(CompressionLayer::new())
        .layer(axum::middleware::map_response(frame_policy))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .with_state(state))
}

/// [`CSP`] on every response that does not bring its own (only the embed pages do, to name
/// the origins that may frame them), and `X-Frame-Options: DENY` wherever framing is
/// forbidden, for browsers that do not read `frame-ancestors`.
async fn frame_policy(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
    }
    let unframeable = h
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.contains("frame-ancestors 'none'"));
    if unframeable {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    resp
}

/// The CSP of an embed page: [`CSP`] with the configured origins as `frame-ancestors`
/// (none configured: still unframeable).
pub(super) fn embed_csp(origins: &[String]) -> HeaderValue {
    let ancestors = if origins.is_empty() {
        "'none'".to_string()
    } else {
        origins.join(" ")
    };
    let csp = CSP.replace(
        "frame-ancestors 'none'",
        &format!("frame-ancestors {ancestors}"),
    );
    // The origins were checked at start-up (`Settings::check`): only scheme, host and port.
    HeaderValue::from_str(&csp).unwrap_or(HeaderValue::from_static(CSP))
}

/// The stylesheet's content hash: its URL changes with it, so it can be cached for a year.
pub(super) fn css_version() -> &'static str {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION.get_or_init(|| {
        format!(
            "{:08x}",
            xxhash_rust::xxh3::xxh3_64(include_bytes!("../../assets/style.css")) as u32
        )
    })
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        include_str!("../../assets/style.css"),
    )
        .into_response()
}

async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    // A store busy with a render is a working store; only a failing one is unhealthy.
    let ok = match state.store.try_lock() {
        Ok(s) => s.data_version().is_ok(),
        Err(std::sync::TryLockError::WouldBlock) => true,
        Err(_) => false,
    };
    if ok {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n").into_response()
    }
}

/// For load balancers: ready when the catalogue and the object store (if any) answer, asked
/// on a store of its own so that a long render never makes a replica look down.
async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let free = state
        .readers
        .iter()
        .find_map(|r| r.try_lock().ok())
        .or_else(|| state.store.try_lock().ok());
    // Every store busy (renders, a publish): the replica is working, not down.
    let checked = match free {
        Some(store) => store.check_reachable(),
        None => Ok(()),
    };
    match checked {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(e) => {
            tracing::warn!("not ready: {e}");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n").into_response()
        }
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    // Never wait for a render to ask the version: the metrics must answer under load.
    let version = state.version.lock().ok().and_then(|v| v.data).unwrap_or(-1);
    let (cache_bytes, cache_entries) = state.cache.usage();
    let computing = state.compute.running(computations(&state.settings));
    let body = format!(
        "# HELP kennzahl_requests_total Requests to cached pages.\n# TYPE kennzahl_requests_total counter\nkennzahl_requests_total {}\n# HELP kennzahl_renders_total Pages rendered (cache misses).\n# TYPE kennzahl_renders_total counter\nkennzahl_renders_total {}\n# HELP kennzahl_data_version Version of the published data.\n# TYPE kennzahl_data_version gauge\nkennzahl_data_version {version}\n# HELP kennzahl_cache_bytes Bytes of rendered answers kept.\n# TYPE kennzahl_cache_bytes gauge\nkennzahl_cache_bytes {cache_bytes}\n# HELP kennzahl_cache_entries Rendered answers kept.\n# TYPE kennzahl_cache_entries gauge\nkennzahl_cache_entries {cache_entries}\n# HELP kennzahl_computations Computations running now.\n# TYPE kennzahl_computations gauge\nkennzahl_computations {computing}\n# HELP kennzahl_catalogue_notifications_total Changes announced by a shared catalogue (NOTIFY) or made through this replica.\n# TYPE kennzahl_catalogue_notifications_total counter\nkennzahl_catalogue_notifications_total {}\n",
        state.requests.load(Ordering::Relaxed),
        state.renders.load(Ordering::Relaxed),
        state.notified.load(Ordering::Relaxed)
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// Runs the server until Ctrl-C or SIGTERM, with the limits of [`server`].
pub async fn serve(store: Store, settings: Settings) -> anyhow::Result<()> {
    let limits = server::Limits::from_settings(&settings);
    if settings.public_url.is_none() {
        tracing::warn!(
            "public_url ist nicht gesetzt: die Links des Open-Data-Katalogs zeigen auf {} / public_url is not set (KENNZAHL_PUBLIC_URL): catalogue links point there",
            settings.base_url()
        );
    }
    let missing = settings.missing_for_govdata();
    if !missing.is_empty() {
        tracing::warn!(
            "Für GovData fehlt im Open-Data-Katalog: {} / GovData needs these settings: {}",
            missing.join(", "),
            missing.join(", ")
        );
    }
    let listener = tokio::net::TcpListener::bind(&settings.listen).await?;
    let app = router(store, settings)?.layer(tower_http::trace::TraceLayer::new_for_http());
    tracing::info!(
        "Kennzahl läuft auf http://{} (höchstens {} Verbindungen)",
        listener.local_addr()?,
        limits.max_connections
    );
    server::run(listener, app, limits, shutdown()).await?;
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("Kennzahl wird beendet");
}
