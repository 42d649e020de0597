//! The public web layer: an axum router over the KPI engine. Handlers are thin: they ask
//! [`views`] for view models and render templates; pages and charts are cached by data
//! version and served with ETags.

mod cache;
pub mod format;
mod opendata;
pub mod server;
pub mod staff;
pub mod views;

use crate::config::Settings;
use crate::dashboards::{DashboardErrors, Dashboards};
use crate::i18n::Lang;
use crate::kinds::Kind;
use crate::kpi::{self, Query};
use crate::store::Store;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;

/// Strict by construction: no inline scripts or styles, nothing from elsewhere.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// What every handler shares.
pub struct AppState {
    /// The store staff write through (and everything that is not a page render).
    store: Mutex<Store>,
    /// Stores of their own for the renders (one per computation at once): each has its own
    /// SQLite connection, so pages computed at the same time do not wait for each other.
    readers: Vec<Mutex<Store>>,
    staff: Mutex<crate::staff::StaffDb>,
    /// Refused uploads' problem lists, for paging (by a random token, for an hour; a few per
    /// user and a bounded number in all, see `staff::upload`).
    refused: Mutex<HashMap<String, staff::RefusedUpload>>,
    /// Uploads waiting for their columns to be mapped (by a random token, for an hour; a few
    /// per user and a bounded number in all, see `staff::mapping`).
    mappings: Mutex<HashMap<String, Arc<staff::PendingMapping>>>,
    templates: minijinja::Environment<'static>,
    cache: cache::ResponseCache,
    compute: cache::ComputeGate,
    /// Renders under way, by key and version: whoever asks for the same answer meanwhile
    /// waits for it instead of taking another turn at the gate.
    in_flight: Mutex<HashMap<(String, Version), InFlight>>,
    version: Mutex<KnownVersion>,
    /// The data version and notice epoch last looked up (-1: not yet), for requests that
    /// arrive while another looks them up.
    seen: (std::sync::atomic::AtomicI64, AtomicU64),
    dashboards: std::sync::RwLock<(Arc<Dashboards>, u64)>,
    dashboards_watch: Option<Mutex<DashboardsWatch>>,
    catalog_files: [std::path::PathBuf; 2],
    settings: Settings,
    requests: AtomicU64,
    renders: AtomicU64,
}

/// The dashboards folder as last seen: files with size and modification time, checked at
/// most every [`DASHBOARDS_CHECK`] so that an edited file shows on the next page load.
struct DashboardsWatch {
    dir: std::path::PathBuf,
    checked: std::time::Instant,
    stamp: Vec<(std::path::PathBuf, u64, i128)>,
}

/// How often the dashboards folder is looked at.
const DASHBOARDS_CHECK: std::time::Duration = std::time::Duration::from_millis(200);

fn dashboards_stamp(dir: &std::path::Path) -> Vec<(std::path::PathBuf, u64, i128)> {
    crate::dashboards::toml_files(dir)
        .unwrap_or_default()
        .into_iter()
        .map(|p| {
            let (len, time) = file_stamp(&p);
            (p, len, time)
        })
        .collect()
}

fn file_stamp(p: &std::path::Path) -> (u64, i128) {
    match std::fs::metadata(p) {
        Ok(m) => (
            m.len(),
            m.modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_nanos() as i128)
                .unwrap_or(0),
        ),
        Err(_) => (0, 0),
    }
}

/// Size and modification time of the catalogue and its write-ahead log: every commit, also
/// by another process (an import on the command line), changes one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct CatalogStamp([(u64, i128); 2]);

/// What the pages were last rendered from.
#[derive(Default)]
struct KnownVersion {
    stamp: CatalogStamp,
    /// The catalogue's data generation; `None` before the first look.
    data: Option<i64>,
    /// When the next running notice ends (local time text), if one runs.
    notice_end: Option<String>,
    /// Counts notices that ran out: a page showing one is stale afterwards.
    epoch: u64,
}

impl AppState {
    /// The data version and the notice epoch, asking SQLite only when the catalogue files
    /// changed or a notice ran out.
    fn data_version(&self) -> Result<(i64, u64), WebError> {
        let mut stamp = CatalogStamp::default();
        for (i, p) in self.catalog_files.iter().enumerate() {
            stamp.0[i] = file_stamp(p);
        }
        // One request looks the version up while the others go on with the last one seen: a
        // catalogue busy with another process's commit must not hold up every request.
        let mut known = match self.version.try_lock() {
            Ok(known) => known,
            Err(std::sync::TryLockError::WouldBlock)
                if self.seen.0.load(Ordering::Acquire) >= 0 =>
            {
                return Ok((
                    self.seen.0.load(Ordering::Acquire),
                    self.seen.1.load(Ordering::Acquire),
                ));
            }
            Err(_) => self
                .version
                .lock()
                .map_err(|_| WebError::Internal("version lock poisoned".into()))?,
        };
        let ran_out = known.notice_end.as_ref().is_some_and(|end| {
            chrono::Local::now().format("%Y-%m-%dT%H:%M:%S").to_string() >= *end
        });
        if known.stamp != stamp || known.data.is_none() || ran_out {
            // While a render holds the store, the pages of the version known so far are
            // served: a publish never makes readers of cached pages wait.
            let store = match self.store.try_lock() {
                Ok(store) => store,
                Err(std::sync::TryLockError::WouldBlock) if known.data.is_some() && !ran_out => {
                    return Ok((known.data.unwrap_or(0), known.epoch));
                }
                Err(_) => self
                    .store
                    .lock()
                    .map_err(|_| WebError::Internal("store lock poisoned".into()))?,
            };
            known.data = Some(
                store
                    .data_version()
                    .map_err(|e| WebError::Internal(e.to_string()))?,
            );
            known.notice_end = store
                .next_notice_end()
                .map_err(|e| WebError::Internal(e.to_string()))?;
            known.stamp = stamp;
            if ran_out {
                known.epoch += 1;
            }
        }
        self.seen.1.store(known.epoch, Ordering::Release);
        self.seen
            .0
            .store(known.data.unwrap_or(0), Ordering::Release);
        Ok((known.data.unwrap_or(0), known.epoch))
    }

    /// The dashboards and their generation, re-read when a file in the folder changed. A
    /// file with a mistake is logged and the last good dashboards stay in place.
    fn dashboards(&self) -> (Arc<Dashboards>, u64) {
        if let Some(watch) = &self.dashboards_watch
            && let Ok(mut w) = watch.try_lock()
            && w.checked.elapsed() >= DASHBOARDS_CHECK
        {
            w.checked = std::time::Instant::now();
            let stamp = dashboards_stamp(&w.dir);
            if stamp != w.stamp {
                w.stamp = stamp;
                match Dashboards::load_dir(&w.dir) {
                    Ok(d) => {
                        if let Ok(mut cur) = self.dashboards.write() {
                            let generation = cur.1 + 1;
                            *cur = (Arc::new(d), generation);
                            tracing::info!("Dashboards neu geladen aus {}", w.dir.display());
                        }
                    }
                    Err(e) => tracing::error!(
                        "Dashboards nicht neu geladen, die bisherigen bleiben / dashboards not reloaded, keeping the previous ones:\n{e}"
                    ),
                }
            }
        }
        self.dashboards
            .read()
            .map(|d| (d.0.clone(), d.1))
            .unwrap_or_else(|p| (p.get_ref().0.clone(), p.get_ref().1))
    }
}

use cache::Cached;

/// What a rendered answer was made from: (data version, notice epoch, dashboards generation).
type Version = (i64, u64, u64);

/// One render under way: everyone asking for its answer awaits the same cell.
type InFlight = Arc<tokio::sync::OnceCell<Cached>>;

/// Whether an Accept-Encoding value allows gzip (`gzip`, `gzip;q=0.8`, `*`; not `q=0`).
fn accepts_gzip(accept: &str) -> bool {
    accept.split(',').any(|item| {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim();
        let q = parts
            .find_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
            })
            .unwrap_or(1.0);
        (coding.eq_ignore_ascii_case("gzip") || coding == "*") && q > 0.0
    })
}

/// Compresses a body worth compressing (text, over 1 KB).
fn gzip(content_type: &str, body: &[u8]) -> Option<axum::body::Bytes> {
    use std::io::Write;
    let text = content_type.starts_with("text/")
        || content_type.contains("json")
        || content_type.contains("svg");
    if !text || body.len() < 1024 {
        return None;
    }
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(body).ok()?;
    enc.finish().ok().map(Into::into)
}

/// Errors shown to a visitor as a plain page.
#[derive(Debug)]
pub enum WebError {
    NotFound,
    BadRequest(String),
    /// Too many computations at once: the client may try again in a few seconds.
    Busy,
    Internal(String),
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, text) = match self {
            WebError::NotFound => (
                StatusCode::NOT_FOUND,
                "Seite nicht gefunden / page not found".to_string(),
            ),
            WebError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            WebError::Busy => {
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [
                        (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                        (header::RETRY_AFTER, "5"),
                    ],
                    "Gerade sehr viel los; bitte in ein paar Sekunden erneut versuchen / busy, please retry in a few seconds",
                )
                    .into_response();
            }
            WebError::Internal(m) => {
                tracing::error!("{m}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Interner Fehler; bitte später erneut versuchen / internal error".to_string(),
                )
            }
        };
        (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            text,
        )
            .into_response()
    }
}

impl From<kpi::KpiError> for WebError {
    fn from(e: kpi::KpiError) -> Self {
        match e {
            kpi::KpiError::BadDimension { .. } => WebError::BadRequest(e.to_string()),
            other => WebError::Internal(other.to_string()),
        }
    }
}

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
    let staff_db = crate::staff::StaffDb::open(&root)?;
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
        .map(|_| Store::open(&root).map(Mutex::new))
        .collect::<Result<Vec<_>, _>>()?;
    let state = Arc::new(AppState {
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
        .route("/metrics", get(metrics))
        .merge(staff::routes(max_upload))
        .fallback(|| async { WebError::NotFound })
        .layer(CompressionLayer::new())
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .with_state(state))
}

/// The page language: `?lang=de|en` if given, else the browser's Accept-Language, else German.
pub fn negotiate(params: &HashMap<String, String>, headers: &HeaderMap) -> Lang {
    if let Some(l) = params.get("lang").and_then(|l| l.parse().ok()) {
        return l;
    }
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut best: Option<(f32, Lang)> = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .find_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
            })
            .unwrap_or(1.0);
        let lang = match tag.split('-').next() {
            Some("de") => Lang::De,
            Some("en") => Lang::En,
            _ => continue,
        };
        if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, lang));
        }
    }
    best.map(|b| b.1).unwrap_or_default()
}

fn lang_code(lang: Lang) -> &'static str {
    lang.pick("de", "en")
}

/// Computations at once: the setting, or one per core.
fn computations(settings: &Settings) -> usize {
    match settings.max_computations {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    }
}

/// Serves a cached response for the current data version, or renders and caches it.
async fn cached(
    state: Arc<AppState>,
    key: String,
    headers: &HeaderMap,
    content_type: &'static str,
    render: impl FnOnce(&AppState, &Store, &Dashboards) -> Result<Vec<u8>, WebError> + Send + 'static,
) -> Result<Response, WebError> {
    state.requests.fetch_add(1, Ordering::Relaxed);
    // Fast path: the catalogue files are unchanged and the page is cached.
    let (dashboards, generation) = state.dashboards();
    let (data, epoch) = state.data_version()?;
    let version = (data, epoch, generation);
    let hit = match state.cache.get(&key, version) {
        Some(c) => c,
        None => {
            let flight_key = (key.clone(), version);
            let (flight, first) = {
                let mut flights = state
                    .in_flight
                    .lock()
                    .map_err(|_| WebError::Internal("in-flight lock poisoned".into()))?;
                match flights.get(&flight_key) {
                    Some(f) => (f.clone(), false),
                    None => {
                        let f = InFlight::default();
                        flights.insert(flight_key.clone(), f.clone());
                        (f, true)
                    }
                }
            };
            // Whoever asked first waits for the new answer (so a publisher sees their
            // publish at once); whoever comes while it renders gets the previous version's
            // answer at once, if there is one, instead of queueing behind the render.
            let stale = (!first).then(|| state.cache.get_stale(&key)).flatten();
            // The first takes the render off the list when it ends, also when its client
            // went away meanwhile (the render itself goes on and is kept).
            let done = first.then(|| FlightDone {
                state: state.clone(),
                key: flight_key.clone(),
                flight: flight.clone(),
            });
            let st = state.clone();
            let rendered = match stale {
                Some(stale) => Ok(stale),
                None => flight
                    .get_or_try_init(|| async move {
                        // A turn to compute first: the work an anonymous client can cause is
                        // bounded.
                        let turn = st.compute.enter().await.map_err(|_| WebError::Busy)?;
                        tokio::task::spawn_blocking(move || {
                            let _turn = turn;
                            render_and_keep(
                                &st,
                                key,
                                epoch,
                                generation,
                                content_type,
                                dashboards,
                                render,
                            )
                        })
                        .await
                        .map_err(|e| WebError::Internal(e.to_string()))?
                    })
                    .await
                    .cloned(),
            };
            drop(done);
            match rendered {
                Ok(c) => c,
                // Too busy to compute: an answer of an earlier data version beats none.
                Err(WebError::Busy) => {
                    state.cache.get_stale(&flight_key.0).ok_or(WebError::Busy)?
                }
                Err(e) => return Err(e),
            }
        }
    };
    let gzip = hit.gzip.as_ref().filter(|_| {
        headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(accepts_gzip)
    });
    // The compressed variant has its own ETag, as HTTP asks of different bytes.
    let etag = match gzip {
        Some(_) => format!("{}-gz\"", hit.etag.trim_end_matches('"')),
        None => hit.etag.clone(),
    };
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut resp = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        match gzip {
            Some(z) => {
                let mut r = Response::new(Body::from(z.clone()));
                r.headers_mut()
                    .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                r
            }
            None => Response::new(Body::from(hit.body.clone())),
        }
    };
    let h = resp.headers_mut();
    h.insert(
        header::ETAG,
        HeaderValue::from_str(&etag).expect("ascii etag"),
    );
    if hit.gzip.is_some() {
        h.append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, no-cache"),
    );
    if content_type == HTML {
        h.append(header::VARY, HeaderValue::from_static("Accept-Language"));
    }
    if !not_modified {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(hit.content_type),
        );
    }
    Ok(resp)
}

/// Takes a render off the in-flight list when its first asker is done with it.
struct FlightDone {
    state: Arc<AppState>,
    key: (String, Version),
    flight: InFlight,
}

impl Drop for FlightDone {
    fn drop(&mut self) {
        if let Ok(mut flights) = self.state.in_flight.lock()
            && flights
                .get(&self.key)
                .is_some_and(|f| Arc::ptr_eq(f, &self.flight))
        {
            flights.remove(&self.key);
        }
    }
}

impl AppState {
    /// A store for a render: a free one, else the first to become free.
    fn reader(&self) -> Result<std::sync::MutexGuard<'_, Store>, WebError> {
        for r in &self.readers {
            if let Ok(store) = r.try_lock() {
                return Ok(store);
            }
        }
        let n = self.renders.load(Ordering::Relaxed) as usize % self.readers.len().max(1);
        self.readers
            .get(n)
            .unwrap_or(&self.store)
            .lock()
            .map_err(|_| WebError::Internal("store lock poisoned".into()))
    }
}

/// Renders an answer with a reader store and keeps it in the cache.
fn render_and_keep(
    st: &AppState,
    key: String,
    epoch: u64,
    generation: u64,
    content_type: &'static str,
    dashboards: Arc<Dashboards>,
    render: impl FnOnce(&AppState, &Store, &Dashboards) -> Result<Vec<u8>, WebError>,
) -> Result<Cached, WebError> {
    let store = st.reader()?;
    let version = (
        store
            .data_version()
            .map_err(|e| WebError::Internal(e.to_string()))?,
        epoch,
        generation,
    );
    // Whoever waited behind the render of this same page (asked under another notion of the
    // version) finds it done.
    if let Some(done) = st.cache.get(&key, version) {
        return Ok(done);
    }
    st.renders.fetch_add(1, Ordering::Relaxed);
    let body = render(st, &store, &dashboards)?;
    let hash = xxhash_rust::xxh3::xxh3_64(&body);
    let c = Cached {
        version,
        etag: format!("\"v{}-{}-{}-{hash:016x}\"", version.0, version.1, version.2),
        content_type,
        gzip: gzip(content_type, &body),
        body: body.into(),
    };
    st.cache.insert(key, c.clone());
    Ok(c)
}

/// Where a page is and how to reach it in the other language.
struct PageLinks {
    lang: Lang,
    path: String,
    /// The view's query without `lang` ("from=…&location=…"), or "".
    query: String,
}

impl PageLinks {
    fn new(lang: Lang, path: impl Into<String>, query: impl Into<String>) -> Self {
        PageLinks {
            lang,
            path: path.into(),
            query: query.into(),
        }
    }

    fn cache_key(&self) -> String {
        format!("{}?{}|{}", self.path, self.query, lang_code(self.lang))
    }
}

fn render(
    state: &AppState,
    name: &str,
    links: &PageLinks,
    ctx: minijinja::Value,
) -> Result<Vec<u8>, WebError> {
    let t = state
        .templates
        .get_template(name)
        .map_err(|e| WebError::Internal(e.to_string()))?;
    let site = minijinja::context! { site_name => state.settings.site_name.clone(), contact_email => state.settings.contact_email.clone() };
    let other = match links.lang {
        Lang::De => Lang::En,
        Lang::En => Lang::De,
    };
    let sep = if links.query.is_empty() { "" } else { "&" };
    let lang = lang_code(links.lang);
    t.render(minijinja::context! {
        site => site,
        lang => lang,
        css => css_version(),
        lq => links.lang.pick("", "?lang=en"),
        la => links.lang.pick("", "&lang=en"),
        switch_url => format!("{}?{}{sep}lang={}", links.path, links.query, lang_code(other)),
        switch_lang => lang_code(other),
        switch_label => links.lang.pick("English", "Deutsch"),
        ..ctx
    })
    .map(String::into_bytes)
    .map_err(|e| WebError::Internal(e.to_string()))
}

const HTML: &str = "text/html; charset=utf-8";

fn params_of(query: &Option<String>) -> HashMap<String, String> {
    form_urlencoded(query.as_deref().unwrap_or(""))
}

async fn overview(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let links = PageLinks::new(negotiate(&params_of(&query), &headers), "/", "");
    cached(state, links.cache_key(), &headers, HTML, move |st, store, dash| {
        let tiles = views::tiles(store, &dash.overview, st.settings.min_cell, links.lang)?;
        let title = dash
            .overview
            .title
            .as_ref()
            .map(|t| t.get(links.lang).to_string())
            .unwrap_or_else(|| links.lang.pick("Übersicht", "Overview").into());
        render(st, "overview.html", &links, minijinja::context! { tiles => minijinja::Value::from(minijinja::value::Serde(&tiles)), title => title, nav => "overview" })
    })
    .await
}

/// The office of a slug with the kinds it has published.
fn find_office(store: &Store, slug: &str) -> Result<(String, Vec<Kind>), WebError> {
    views::offices(store)?
        .into_iter()
        .find(|(o, _)| format::slug(o) == slug)
        .ok_or(WebError::NotFound)
}

async fn office_page(
    State(state): State<Arc<AppState>>,
    Path(slug): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let params = params_of(&query);
    let lang = negotiate(&params, &headers);
    let filter = views::ViewFilter::from_params(&params).map_err(WebError::BadRequest)?;
    let fq = filter.query(lang);
    let links = PageLinks::new(
        lang,
        format!("/dashboards/{slug}"),
        filter.query(Lang::De).trim_start_matches('?').to_string(),
    );
    cached(state, links.cache_key(), &headers, HTML, move |st, store, dash| {
        let (office, kinds) = find_office(store, &slug)?;
        let page = dash.office_page(&office);
        let notes = office_notes(store, &office)?;
        let mut sections = Vec::new();
        for section in page.sections.iter().filter(|s| kinds.contains(&s.kind)) {
            let mut charts = Vec::new();
            for spec in &section.charts {
                charts.push(office_chart(st, store, spec, &office, &notes, &filter, lang)?);
            }
            sections.push(minijinja::context! {
                id => section.kind.as_str(),
                title => section.title.get(lang),
                charts => minijinja::Value::from(minijinja::value::Serde(&charts)),
            });
        }
        let shown: Vec<Kind> = page.sections.iter().map(|s| s.kind).filter(|k| kinds.contains(k)).collect();
        let options = views::filter_options(store, &office, &shown, lang)?;
        let with = |f: crate::dashboards::Filter| page.filters.contains(&f);
        let notes_view: Vec<(String, String)> = notes.iter().map(|(m, t)| (format::month_long_in(*m, lang), t.clone())).collect();
        let notices: Vec<minijinja::Value> = store
            .current_notices(Some(&office))
            .map_err(|e| WebError::Internal(e.to_string()))?
            .into_iter()
            .map(|(_, _, text, until)| minijinja::context! { text => text, until => format::until_text(&until, lang) })
            .collect();
        // Published months that were replaced: the public sees each revision and its reason.
        let mut corrections = Vec::new();
        for kind in &kinds {
            for r in store.history(*kind, Some(&office), None).map_err(|e| WebError::Internal(e.to_string()))? {
                if r.revision > 1 {
                    corrections.push(minijinja::context! {
                        month => format::month_long_in(r.month, lang),
                        kind => kind_title(*kind, lang),
                        revision => r.revision,
                        date => r.published_at.get(..10).unwrap_or("").to_string(),
                        reason => r.reason,
                    });
                }
            }
        }
        render(st, "office.html", &links, minijinja::context! {
            office => office.clone(),
            slug => slug,
            sections => sections,
            notes => notes_view,
            corrections => corrections,
            notices => notices,
            title => office,
            fq => fq,
            filtered => !filter.is_empty(),
            filter => minijinja::context! {
                from => filter.from.map(crate::timefmt::format_month),
                to => filter.to.map(crate::timefmt::format_month),
                location => filter.location.clone(),
                service => filter.service.clone(),
            },
            options => minijinja::Value::from(minijinja::value::Serde(&options)),
            show_period => with(crate::dashboards::Filter::Period) && !options.months.is_empty(),
            show_location => with(crate::dashboards::Filter::Location) && !options.locations.is_empty(),
            show_service => with(crate::dashboards::Filter::Service) && !options.services.is_empty(),
        })
    })
    .await
}

/// One chart of an office page, from the engine's table.
fn office_chart(
    st: &AppState,
    store: &Store,
    spec: &crate::dashboards::ChartSpec,
    office: &str,
    notes: &[(i32, String)],
    filter: &views::ViewFilter,
    lang: Lang,
) -> Result<views::ChartView, WebError> {
    let table = views::chart_table(store, spec, office, filter, st.settings.min_cell)?;
    let target = views::chart_target(store, spec, office, lang)?;
    Ok(views::chart_view(
        spec,
        table,
        &views::ChartContext {
            office,
            notes,
            target,
            filter,
            lang,
        },
    ))
}

/// The notes staff attached to an office's months: (month, text).
fn office_notes(store: &Store, office: &str) -> Result<Vec<(i32, String)>, WebError> {
    Ok(store
        .notes(Some(office))
        .map_err(|e| WebError::Internal(e.to_string()))?
        .into_iter()
        .map(|(_, m, t)| (m, t))
        .collect())
}

async fn chart_file(
    State(state): State<Arc<AppState>>,
    Path((slug, file)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let params = params_of(&query);
    let lang = negotiate(&params, &headers);
    let filter = views::ViewFilter::from_params(&params).map_err(WebError::BadRequest)?;
    let (stem, ext) = file.rsplit_once('.').ok_or(WebError::NotFound)?;
    let (id, excel) = match stem.strip_suffix("-excel") {
        Some(id) => (id.to_string(), true),
        None => (stem.to_string(), false),
    };
    let content_type = match (ext, excel) {
        ("svg", false) => "image/svg+xml",
        ("csv", _) => "text/csv; charset=utf-8",
        ("json", false) => "application/json",
        _ => return Err(WebError::NotFound),
    };
    let ext = if excel {
        "excel".to_string()
    } else {
        ext.to_string()
    };
    // Only the SVG speaks a language; the data files are the same for everyone.
    let key = format!(
        "/charts/{slug}/{file}{}{}",
        filter.query(Lang::De),
        if ext == "svg" { lang_code(lang) } else { "" }
    );
    cached(
        state,
        key,
        &headers,
        content_type,
        move |st, store, dash| {
            let (office, kinds) = find_office(store, &slug)?;
            let spec = dash
                .office_page(&office)
                .charts()
                .find(|c| c.id == id && kinds.contains(&c.kind))
                .ok_or(WebError::NotFound)?
                .clone();
            let table = views::chart_table(store, &spec, &office, &filter, st.settings.min_cell)?;
            Ok(match ext.as_str() {
                "csv" => table.to_csv().into_bytes(),
                "excel" => table.to_csv_excel_de(),
                "json" => serde_json::to_vec_pretty(&table.to_json()).unwrap_or_default(),
                _ => {
                    let notes = office_notes(store, &office)?;
                    office_chart(st, store, &spec, &office, &notes, &filter, lang)?
                        .svg
                        .into_bytes()
                }
            })
        },
    )
    .await
}

/// `/api/v1/kpi/{kind}?by=month,office&from=2025-01&to=2025-12&office=…`: the same table as
/// `kennzahl kpi`.
async fn api_kpi(
    state: State<Arc<AppState>>,
    kind: Path<String>,
    query: RawQuery,
    headers: HeaderMap,
) -> Response {
    match api_kpi_answer(state, kind, query, headers).await {
        Ok(r) => r,
        Err(e) => problem(e),
    }
}

/// An error of the data API as `application/problem+json` (RFC 9457): status, a title, the
/// message in German (`detail`) and English (`detail_en`). Control characters a client sent
/// are escaped by JSON, never echoed raw.
pub fn problem(e: WebError) -> Response {
    let (status, text) = match e {
        WebError::NotFound => (
            StatusCode::NOT_FOUND,
            "Nicht gefunden / not found".to_string(),
        ),
        WebError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
        WebError::Busy => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Gerade sehr viel los; bitte in ein paar Sekunden erneut versuchen / busy, please retry in a few seconds".to_string(),
        ),
        WebError::Internal(m) => {
            tracing::error!("{m}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Interner Fehler; bitte später erneut versuchen / internal error, please retry later"
                    .to_string(),
            )
        }
    };
    let (de, en) = match text.split_once(" / ") {
        Some((de, en)) => (de.to_string(), en.to_string()),
        None => (text.clone(), text),
    };
    let body = serde_json::json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": de,
        "detail_en": en,
    });
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        serde_json::to_vec(&body).unwrap_or_default(),
    )
        .into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    response
}

async fn api_kpi_answer(
    State(state): State<Arc<AppState>>,
    Path(kind): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let kind = canonical_kind(&kind)?;
    let (q, csv) = api_query(kind, query.as_deref().unwrap_or(""))?;
    let key = api_key(&q, csv);
    cached(
        state,
        key,
        &headers,
        if csv {
            "text/csv; charset=utf-8"
        } else {
            "application/json"
        },
        move |st, store, _| {
            let q = Query {
                min_cell: st.settings.min_cell,
                ..q
            };
            let table = kpi::compute(store, &q)?;
            Ok(if csv {
                table.to_csv().into_bytes()
            } else {
                serde_json::to_vec(&table.to_json()).unwrap_or_default()
            })
        },
    )
    .await
}

/// A kind as it is spelled in URLs (`visits`): other spellings are not found, so that one
/// answer has one address (and one cache entry).
fn canonical_kind(text: &str) -> Result<Kind, WebError> {
    Kind::ALL
        .into_iter()
        .find(|k| k.as_str() == text)
        .ok_or(WebError::NotFound)
}

/// The query parameters the KPI API knows.
const API_PARAMS: [&str; 8] = [
    "by", "from", "to", "office", "location", "service", "compare", "format",
];

/// Reads the API's query strictly: unknown, repeated or malformed parameters are refused
/// with a message, so that every accepted request has exactly one canonical form.
fn api_query(kind: Kind, query: &str) -> Result<(Query, bool), WebError> {
    let mut params: HashMap<String, String> = HashMap::new();
    for (k, v) in form_pairs(query) {
        if !API_PARAMS.contains(&k.as_str()) {
            return Err(WebError::BadRequest(format!(
                "Unbekannter Parameter {k:?}; erlaubt: {allowed} / unknown parameter {k:?}; allowed: {allowed}",
                allowed = API_PARAMS.join(", ")
            )));
        }
        if params.insert(k.clone(), v).is_some() {
            return Err(WebError::BadRequest(format!(
                "Parameter {k:?} mehrfach angegeben / parameter {k:?} given more than once"
            )));
        }
    }
    let by = kpi::parse_dims(
        params
            .get("by")
            .map(String::as_str)
            .unwrap_or("month,office"),
    )
    .map_err(WebError::BadRequest)?;
    let month = |k: &str| -> Result<Option<i32>, WebError> {
        params
            .get(k)
            .map(|v| {
                crate::timefmt::parse_month_canonical(v).ok_or_else(|| {
                    WebError::BadRequest(format!(
                        "{k}={v:?}: erwartet JJJJ-MM, z. B. 2026-03 / {k}={v:?}: expected YYYY-MM, e.g. 2026-03"
                    ))
                })
            })
            .transpose()
    };
    let text = |k: &str| -> Result<Option<String>, WebError> {
        match params.get(k) {
            Some(v) if v.chars().count() > views::MAX_FILTER_CHARS => {
                Err(WebError::BadRequest(format!(
                    "{k}: höchstens {n} Zeichen / {k}: at most {n} characters",
                    n = views::MAX_FILTER_CHARS
                )))
            }
            v => Ok(v.cloned()),
        }
    };
    let mut q = Query::new(kind, by);
    q.from = month("from")?;
    q.to = month("to")?;
    q.office = text("office")?;
    q.location = text("location")?;
    q.service = text("service")?;
    q.compare = match params.get("compare").map(String::as_str) {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(v) => {
            return Err(WebError::BadRequest(format!(
                "compare={v:?}: erwartet true oder false / compare={v:?}: expected true or false"
            )));
        }
    };
    let csv = match params.get("format").map(String::as_str) {
        None | Some("json") => false,
        Some("csv") => true,
        Some(v) => {
            return Err(WebError::BadRequest(format!(
                "format={v:?}: erwartet json oder csv / format={v:?}: expected json or csv"
            )));
        }
    };
    Ok((q, csv))
}

/// The one key of an API answer, built from what was understood, not from how it was asked.
fn api_key(q: &Query, csv: bool) -> String {
    let by: Vec<&str> = q.by.iter().map(|d| d.as_str()).collect();
    let month = |m: Option<i32>| m.map(crate::timefmt::format_month).unwrap_or_default();
    format!(
        "/api/v1/kpi/{}?by={}&from={}&to={}&office={:?}&location={:?}&service={:?}&compare={}&csv={csv}",
        q.kind,
        by.join(","),
        month(q.from),
        month(q.to),
        q.office,
        q.location,
        q.service,
        q.compare
    )
}

/// The full aggregates of a kind, per month and office: `visits.csv`, `visits-excel.csv`,
/// `visits.json`.
async fn download(
    State(state): State<Arc<AppState>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let (stem, ext) = file.rsplit_once('.').ok_or(WebError::NotFound)?;
    let (kind, excel) = match stem.strip_suffix("-excel") {
        Some(k) => (k, true),
        None => (stem, false),
    };
    let kind = canonical_kind(kind)?;
    let (content_type, format) = match (ext, excel) {
        ("csv", true) => ("text/csv; charset=utf-8", "excel"),
        ("csv", false) => ("text/csv; charset=utf-8", "csv"),
        ("json", false) => ("application/json", "json"),
        _ => return Err(WebError::NotFound),
    };
    cached(
        state,
        format!("/downloads/{file}"),
        &headers,
        content_type,
        move |st, store, _| {
            let q = Query {
                min_cell: st.settings.min_cell,
                ..Query::new(kind, vec![kpi::Dim::Month, kpi::Dim::Office])
            };
            let table = kpi::compute(store, &q)?;
            Ok(match format {
                "excel" => table.to_csv_excel_de(),
                "csv" => table.to_csv().into_bytes(),
                _ => serde_json::to_vec_pretty(&table.to_json()).unwrap_or_default(),
            })
        },
    )
    .await
}

/// `/reports/2026-03.xlsx` (also `.pdf`, `.csv`, `.json`): the monthly report.
async fn report(
    State(state): State<Arc<AppState>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let (month, ext) = file.rsplit_once('.').ok_or(WebError::NotFound)?;
    // Only the canonical spelling (2026-03): `2026-0003` or ` 2026-3` would be the same report
    // rendered again under another address.
    let month = crate::timefmt::parse_month_canonical(month).ok_or(WebError::NotFound)?;
    let content_type = match ext {
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "csv" => "text/csv; charset=utf-8",
        "json" => "application/json",
        "pdf" => "application/pdf",
        _ => return Err(WebError::NotFound),
    };
    let ext = ext.to_string();
    cached(
        state,
        format!("/reports/{file}"),
        &headers,
        content_type,
        move |st, store, dash| {
            let cx = crate::reports::ReportContext {
                dashboards: dash,
                site_name: &st.settings.site_name,
            };
            crate::reports::render(store, month, &ext, st.settings.min_cell, &cx)
                .map_err(|e| WebError::Internal(e.to_string()))
        },
    )
    .await
}

async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("../../assets/openapi.json"),
    )
        .into_response()
}

/// The licence of every published figure (Datenlizenz Deutschland – Namensnennung 2.0).
pub const LICENCE_URI: &str = "http://dcat-ap.de/def/licenses/dl-by-de/2.0";

fn kind_title(k: Kind, lang: Lang) -> &'static str {
    match k {
        Kind::Visits => lang.pick("Besuche und Wartezeiten", "Visits and waiting times"),
        Kind::Cases => lang.pick(
            "Bearbeitungsdauer von Verfahren",
            "Processing time of cases",
        ),
        Kind::Digital => lang.pick("Online-Dienste", "Online services"),
        Kind::Services => lang.pick("Dienstleistungskatalog", "Catalogue of services"),
        Kind::Contacts => lang.pick("Service-Center", "Service centre"),
    }
}

async fn opendata(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let links = PageLinks::new(negotiate(&params_of(&query), &headers), "/opendata", "");
    cached(state, links.cache_key(), &headers, HTML, move |st, _, _| {
        let kinds: Vec<minijinja::Value> = Kind::ALL
            .iter()
            .map(|k| minijinja::context! { kind => k.as_str(), title => kind_title(*k, links.lang) })
            .collect();
        let title = links.lang.pick("Offene Daten", "Open data");
        render(
            st,
            "opendata.html",
            &links,
            minijinja::context! { kinds => kinds, title => title, nav => "opendata", licence => LICENCE_URI, report_month => crate::timefmt::format_month(crate::timefmt::prev_month(views::running_month())) },
        )
    })
    .await
}

/// Decodes `a=1&b=x%20y` (the last of repeated names wins).
fn form_urlencoded(q: &str) -> HashMap<String, String> {
    form_pairs(q).into_iter().collect()
}

/// Decodes `a=1&b=x%20y` into its pairs in order, repeated names included.
pub fn form_pairs(q: &str) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < b.len()
                    && b[i + 1].is_ascii_hexdigit()
                    && b[i + 2].is_ascii_hexdigit() =>
                {
                    let hex = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
                    out.push(hex(b[i + 1]) * 16 + hex(b[i + 2]));
                    i += 2;
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

async fn methodology(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let links = PageLinks::new(negotiate(&params_of(&query), &headers), "/methodik", "");
    cached(state, links.cache_key(), &headers, HTML, move |st, store, _| {
        let lang = links.lang;
        let kinds: Vec<minijinja::Value> = Kind::ALL
            .iter()
            .map(|k| {
                let defs: Vec<minijinja::Value> = kpi::definitions::for_kind(*k)
                    .iter()
                    .map(|d| minijinja::context! { name => d.name, label => lang.pick(d.label_de, d.label_en), definition => lang.pick(d.definition_de, d.definition_en), base => d.base })
                    .collect();
                minijinja::context! { kind => k.as_str(), title => kind_title(*k, lang), defs => defs }
            })
            .collect();
        let title = lang.pick("So rechnen wir", "How we calculate");
        // Offices whose visits come from totals reports (ZMS), and which reports.
        let mut from_totals: Vec<(String, Vec<String>)> = Vec::new();
        for (office, part) in store
            .published_parts(Kind::Visits)
            .map_err(|e| WebError::Internal(e.to_string()))?
        {
            let mut fields = part.splitn(3, ':').skip(1);
            let (report, location) = (fields.next().unwrap_or(""), fields.next().unwrap_or(""));
            let text = format!("{report} ({location})");
            match from_totals.last_mut() {
                Some((o, reports)) if *o == office => reports.push(text),
                _ => from_totals.push((office, vec![text])),
            }
        }
        render(st, "methodology.html", &links, minijinja::context! { kinds => kinds, title => title, nav => "methodik", min_cell => st.settings.min_cell, from_totals => from_totals })
    })
    .await
}

/// A page whose text is all in its template.
async fn text_page(
    state: Arc<AppState>,
    query: Option<String>,
    headers: HeaderMap,
    path: &'static str,
    template: &'static str,
    title: (&'static str, &'static str),
) -> Result<Response, WebError> {
    let links = PageLinks::new(negotiate(&params_of(&query), &headers), path, "");
    cached(state, links.cache_key(), &headers, HTML, move |st, _, _| {
        let title = links.lang.pick(title.0, title.1);
        render(
            st,
            template,
            &links,
            minijinja::context! { title => title, nav => path },
        )
    })
    .await
}

async fn accessibility(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    text_page(
        state,
        query,
        headers,
        "/barrierefreiheit",
        "accessibility.html",
        ("Erklärung zur Barrierefreiheit", "Accessibility statement"),
    )
    .await
}

async fn easy_language(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    text_page(
        state,
        query,
        headers,
        "/leichte-sprache",
        "easy.html",
        ("Leichte Sprache", "Plain language"),
    )
    .await
}

/// The stylesheet's content hash: its URL changes with it, so it can be cached for a year.
fn css_version() -> &'static str {
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

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    // Never wait for a render to ask the version: the metrics must answer under load.
    let version = state.version.lock().ok().and_then(|v| v.data).unwrap_or(-1);
    let (cache_bytes, cache_entries) = state.cache.usage();
    let computing = state.compute.running(computations(&state.settings));
    let body = format!(
        "# HELP kennzahl_requests_total Requests to cached pages.\n# TYPE kennzahl_requests_total counter\nkennzahl_requests_total {}\n# HELP kennzahl_renders_total Pages rendered (cache misses).\n# TYPE kennzahl_renders_total counter\nkennzahl_renders_total {}\n# HELP kennzahl_data_version Version of the published data.\n# TYPE kennzahl_data_version gauge\nkennzahl_data_version {version}\n# HELP kennzahl_cache_bytes Bytes of rendered answers kept.\n# TYPE kennzahl_cache_bytes gauge\nkennzahl_cache_bytes {cache_bytes}\n# HELP kennzahl_cache_entries Rendered answers kept.\n# TYPE kennzahl_cache_entries gauge\nkennzahl_cache_entries {cache_entries}\n# HELP kennzahl_computations Computations running now.\n# TYPE kennzahl_computations gauge\nkennzahl_computations {computing}\n",
        state.requests.load(Ordering::Relaxed),
        state.renders.load(Ordering::Relaxed)
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
