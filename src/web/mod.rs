//! The public web layer: an axum router over the KPI engine. Handlers are thin: they ask
//! [`views`] for view models and render templates; pages and charts are cached by data
//! version and served with ETags.

pub mod format;
pub mod views;

use crate::config::Settings;
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
    store: Mutex<Store>,
    templates: minijinja::Environment<'static>,
    cache: std::sync::RwLock<HashMap<String, Cached>>,
    version: Mutex<(CatalogStamp, i64)>,
    catalog_files: [std::path::PathBuf; 2],
    settings: Settings,
    requests: AtomicU64,
    renders: AtomicU64,
}

/// Size and modification time of the catalogue and its write-ahead log: every commit, also
/// by another process (an import on the command line), changes one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct CatalogStamp([(u64, i128); 2]);

impl AppState {
    /// The data version, asking SQLite only when the catalogue files changed.
    fn data_version(&self) -> Result<i64, WebError> {
        let mut stamp = CatalogStamp::default();
        for (i, p) in self.catalog_files.iter().enumerate() {
            if let Ok(m) = std::fs::metadata(p) {
                let t = m
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| d.as_nanos() as i128)
                    .unwrap_or(0);
                stamp.0[i] = (m.len(), t);
            }
        }
        let mut known = self
            .version
            .lock()
            .map_err(|_| WebError::Internal("version lock poisoned".into()))?;
        if known.0 != stamp || known.1 < 0 {
            let store = self
                .store
                .lock()
                .map_err(|_| WebError::Internal("store lock poisoned".into()))?;
            let v = store
                .data_version()
                .map_err(|e| WebError::Internal(e.to_string()))?;
            *known = (stamp, v);
        }
        Ok(known.1)
    }
}

/// A rendered response for one data version.
#[derive(Clone)]
struct Cached {
    version: i64,
    etag: String,
    content_type: &'static str,
    body: axum::body::Bytes,
}

/// Errors shown to a visitor as a plain page.
#[derive(Debug)]
pub enum WebError {
    NotFound,
    BadRequest(String),
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
    ] {
        env.add_template(name, src)
            .expect("templates are checked by the tests");
    }
    env
}

/// Builds the router over a store.
pub fn router(store: Store, settings: Settings) -> Router {
    let root = store.root().to_path_buf();
    let state = Arc::new(AppState {
        store: Mutex::new(store),
        templates: templates(),
        cache: std::sync::RwLock::new(HashMap::new()),
        version: Mutex::new((CatalogStamp::default(), -1)),
        catalog_files: [root.join("catalog.sqlite"), root.join("catalog.sqlite-wal")],
        settings,
        requests: AtomicU64::new(0),
        renders: AtomicU64::new(0),
    });
    Router::new()
        .route("/", get(overview))
        .route("/dashboards/{slug}", get(office_page))
        .route("/charts/{slug}/{file}", get(chart_file))
        .route("/api/v1/kpi/{kind}", get(api_kpi))
        .route("/api/v1/openapi.json", get(openapi))
        .route("/downloads/{file}", get(download))
        .route("/opendata", get(opendata))
        .route("/reports/{file}", get(report))
        .route("/opendata/catalog.jsonld", get(opendata_catalog))
        .route("/methodik", get(methodology))
        .route("/barrierefreiheit", get(accessibility))
        .route("/leichte-sprache", get(easy_language))
        .route("/assets/style.css", get(stylesheet))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
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
        .with_state(state)
}

/// Serves a cached response for the current data version, or renders and caches it.
async fn cached(
    state: Arc<AppState>,
    key: String,
    headers: &HeaderMap,
    content_type: &'static str,
    render: impl FnOnce(&AppState, &Store) -> Result<Vec<u8>, WebError> + Send + 'static,
) -> Result<Response, WebError> {
    state.requests.fetch_add(1, Ordering::Relaxed);
    // Fast path: the catalogue files are unchanged and the page is cached.
    let version = state.data_version()?;
    let fresh = state
        .cache
        .read()
        .ok()
        .and_then(|c| c.get(&key).filter(|c| c.version == version).cloned());
    let st = state.clone();
    let hit = match fresh {
        Some(c) => c,
        None => tokio::task::spawn_blocking(move || -> Result<Cached, WebError> {
            let store = st
                .store
                .lock()
                .map_err(|_| WebError::Internal("store lock poisoned".into()))?;
            let version = store
                .data_version()
                .map_err(|e| WebError::Internal(e.to_string()))?;
            st.renders.fetch_add(1, Ordering::Relaxed);
            let body = render(&st, &store)?;
            let hash = xxhash_rust::xxh3::xxh3_64(&body);
            let c = Cached {
                version,
                etag: format!("\"v{version}-{hash:016x}\""),
                content_type,
                body: body.into(),
            };
            if let Ok(mut cache) = st.cache.write() {
                cache.insert(key, c.clone());
            }
            Ok(c)
        })
        .await
        .map_err(|e| WebError::Internal(e.to_string()))??,
    };
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == hit.etag));
    let mut resp = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        Response::new(Body::from(hit.body.clone()))
    };
    let h = resp.headers_mut();
    h.insert(
        header::ETAG,
        HeaderValue::from_str(&hit.etag).expect("ascii etag"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, no-cache"),
    );
    if !not_modified {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(hit.content_type),
        );
    }
    Ok(resp)
}

fn render(state: &AppState, name: &str, ctx: minijinja::Value) -> Result<Vec<u8>, WebError> {
    let t = state
        .templates
        .get_template(name)
        .map_err(|e| WebError::Internal(e.to_string()))?;
    let site = minijinja::context! { site_name => state.settings.site_name.clone(), contact_email => state.settings.contact_email.clone() };
    t.render(minijinja::context! { site => site, ..ctx })
        .map(String::into_bytes)
        .map_err(|e| WebError::Internal(e.to_string()))
}

const HTML: &str = "text/html; charset=utf-8";

async fn overview(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    cached(state, "/".into(), &headers, HTML, |st, store| {
        let tiles = views::tiles(store, st.settings.min_cell)?;
        render(st, "overview.html", minijinja::context! { tiles => minijinja::Value::from(minijinja::value::Serde(&tiles)), title => "Übersicht" })
    })
    .await
}

async fn office_page(
    State(state): State<Arc<AppState>>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    cached(state, format!("/dashboards/{slug}"), &headers, HTML, move |st, store| {
        let (office, kinds) = views::offices(store)?
            .into_iter()
            .find(|(o, _)| format::slug(o) == slug)
            .ok_or(WebError::NotFound)?;
        let notes = office_notes(store, &office)?;
        let mut charts = Vec::new();
        for spec in views::CHARTS.iter().filter(|c| kinds.contains(&c.kind)) {
            let table = views::chart_table(store, spec, &office, st.settings.min_cell)?;
            let target = chart_target(store, spec, &office)?;
            charts.push(views::chart_view(spec, &office, table, &notes, target));
        }
        let notes_view: Vec<(String, String)> = notes.iter().map(|(m, t)| (format::month_long(*m), t.clone())).collect();
        let quiet = if kinds.contains(&Kind::Visits) { views::quiet_times(store, &office, st.settings.min_cell)? } else { None };
        render(st, "office.html", minijinja::context! { office => office.clone(), slug => slug, charts => minijinja::Value::from(minijinja::value::Serde(&charts)), quiet => minijinja::Value::from(minijinja::value::Serde(&quiet)), notes => notes_view, title => office })
    })
    .await
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

fn chart_target(
    store: &Store,
    spec: &views::ChartSpec,
    office: &str,
) -> Result<Option<(f64, String)>, WebError> {
    let targets = store
        .targets(spec.kind)
        .map_err(|e| WebError::Internal(e.to_string()))?;
    let first = spec.kpis[0];
    Ok(
        match targets
            .iter()
            .find(|t| t.office == office && t.kpi == first)
        {
            Some(t) => Some((t.value, format!("Ziel {}", t.value))),
            None if first == "wait_median_min" => {
                let wait = targets
                    .iter()
                    .find(|t| t.office == office && t.kpi == kpi::visits::WAIT_TARGET_KPI)
                    .map(|t| t.value)
                    .unwrap_or(kpi::DEFAULT_WAIT_TARGET_MIN);
                Some((wait, format!("Zielwartezeit {wait} Min.")))
            }
            None => None,
        },
    )
}

async fn chart_file(
    State(state): State<Arc<AppState>>,
    Path((slug, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let (stem, ext) = file.rsplit_once('.').ok_or(WebError::NotFound)?;
    let (id, excel) = match stem.strip_suffix("-excel") {
        Some(id) => (id, true),
        None => (stem, false),
    };
    let spec = *views::CHARTS
        .iter()
        .find(|c| c.id == id)
        .ok_or(WebError::NotFound)?;
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
    cached(
        state,
        format!("/charts/{slug}/{file}"),
        &headers,
        content_type,
        move |st, store| {
            let (office, _) = views::offices(store)?
                .into_iter()
                .find(|(o, k)| format::slug(o) == slug && k.contains(&spec.kind))
                .ok_or(WebError::NotFound)?;
            let table = views::chart_table(store, &spec, &office, st.settings.min_cell)?;
            Ok(match ext.as_str() {
                "csv" => table.to_csv().into_bytes(),
                "excel" => table.to_csv_excel_de(),
                "json" => serde_json::to_vec_pretty(&table.to_json()).unwrap_or_default(),
                _ => {
                    let target = chart_target(store, &spec, &office)?;
                    let notes = office_notes(store, &office)?;
                    views::chart_view(&spec, &office, table, &notes, target)
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
    State(state): State<Arc<AppState>>,
    Path(kind): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let kind: Kind = kind.parse().map_err(|_| WebError::NotFound)?;
    let params: HashMap<String, String> = form_urlencoded(query.as_deref().unwrap_or(""));
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
                crate::timefmt::parse_month_arg(v).ok_or_else(|| {
                    WebError::BadRequest(format!("{k}={v:?}: erwartet YYYY-MM / expected YYYY-MM"))
                })
            })
            .transpose()
    };
    let mut q = Query::new(kind, by);
    q.from = month("from")?;
    q.to = month("to")?;
    q.office = params.get("office").cloned();
    q.location = params.get("location").cloned();
    q.service = params.get("service").cloned();
    q.compare = params
        .get("compare")
        .is_some_and(|v| v == "true" || v == "1");
    let csv = params.get("format").is_some_and(|f| f == "csv");
    let key = format!("/api/v1/kpi/{kind}?{}", query.unwrap_or_default());
    cached(
        state,
        key,
        &headers,
        if csv {
            "text/csv; charset=utf-8"
        } else {
            "application/json"
        },
        move |st, store| {
            q.min_cell = st.settings.min_cell;
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
    let kind: Kind = kind.parse().map_err(|_| WebError::NotFound)?;
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
        move |st, store| {
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

/// `/reports/2026-03.xlsx` (also `.csv`, `.json`): the monthly report.
async fn report(
    State(state): State<Arc<AppState>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let (month, ext) = file.rsplit_once('.').ok_or(WebError::NotFound)?;
    let month = crate::timefmt::parse_month_arg(month).ok_or(WebError::NotFound)?;
    let content_type = match ext {
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "csv" => "text/csv; charset=utf-8",
        "json" => "application/json",
        _ => return Err(WebError::NotFound),
    };
    let ext = ext.to_string();
    cached(
        state,
        format!("/reports/{file}"),
        &headers,
        content_type,
        move |st, store| {
            crate::reports::render(store, month, &ext, st.settings.min_cell)
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

/// The DCAT-AP.de catalogue: one dataset per data kind with its downloads.
fn catalogue(settings: &Settings, base: &str) -> serde_json::Value {
    use serde_json::json;
    let attribution = format!("{}, Kennzahlen der Verwaltung", settings.site_name);
    let datasets: Vec<serde_json::Value> = Kind::ALL
        .iter()
        .map(|k| {
            let id = format!("{base}/opendata#{k}");
            let dist = |file: &str, media: &str, title: &str| {
                json!({
                    "@type": "dcat:Distribution",
                    "dct:title": title,
                    "dcat:accessURL": {"@id": format!("{base}/downloads/{file}")},
                    "dcat:downloadURL": {"@id": format!("{base}/downloads/{file}")},
                    "dcat:mediaType": {"@id": format!("https://www.iana.org/assignments/media-types/{media}")},
                    "dct:license": {"@id": LICENCE_URI},
                    "dcatde:licenseAttributionByText": attribution,
                })
            };
            json!({
                "@id": id,
                "@type": "dcat:Dataset",
                "dct:title": format!("Kennzahlen {}: {}", settings.site_name, kind_title(*k)),
                "dct:description": format!("Monatliche Kennzahlen je Amt ({}), berechnet aus den Exporten der Fachverfahren. Definitionen: {base}/methodik", kind_title(*k)),
                "dct:publisher": {"@type": "foaf:Organization", "foaf:name": settings.site_name},
                "dcat:contactPoint": {"@type": "vcard:Organization", "vcard:fn": settings.site_name, "vcard:hasEmail": {"@id": format!("mailto:{}", settings.contact_email)}},
                "dcat:theme": {"@id": "http://publications.europa.eu/resource/authority/data-theme/GOVE"},
                "dct:accrualPeriodicity": {"@id": "http://publications.europa.eu/resource/authority/frequency/MONTHLY"},
                "dcatde:contributorID": {"@id": "http://dcat-ap.de/def/contributors/"},
                "dcat:keyword": ["Verwaltung", "Kennzahlen", "Transparenz", k.as_str()],
                "dcat:distribution": [
                    dist(&format!("{k}.csv"), "text/csv", "CSV (maschinenlesbar, RFC 4180)"),
                    dist(&format!("{k}-excel.csv"), "text/csv", "CSV für Excel (Semikolon, Dezimalkomma)"),
                    dist(&format!("{k}.json"), "application/json", "JSON"),
                ],
            })
        })
        .collect();
    json!({
        "@context": {
            "dcat": "http://www.w3.org/ns/dcat#",
            "dct": "http://purl.org/dc/terms/",
            "dcatde": "http://dcat-ap.de/def/dcatde/",
            "foaf": "http://xmlns.com/foaf/0.1/",
            "vcard": "http://www.w3.org/2006/vcard/ns#"
        },
        "@id": format!("{base}/opendata/catalog.jsonld"),
        "@type": "dcat:Catalog",
        "dct:title": format!("Offene Daten: Kennzahlen {}", settings.site_name),
        "dct:publisher": {"@type": "foaf:Organization", "foaf:name": settings.site_name},
        "dct:license": {"@id": LICENCE_URI},
        "dcat:dataset": datasets,
    })
}

fn kind_title(k: Kind) -> &'static str {
    match k {
        Kind::Visits => "Besuche und Wartezeiten",
        Kind::Cases => "Bearbeitungsdauer von Verfahren",
        Kind::Digital => "Online-Dienste",
        Kind::Services => "Dienstleistungskatalog",
        Kind::Contacts => "Service-Center",
    }
}

fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let host: String = host
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '-' | '[' | ']'))
        .collect();
    format!("http://{host}")
}

async fn opendata_catalog(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let base = base_url(&headers);
    cached(
        state,
        format!("/opendata/catalog.jsonld@{base}"),
        &headers,
        "application/ld+json",
        move |st, _| {
            Ok(serde_json::to_vec_pretty(&catalogue(&st.settings, &base)).unwrap_or_default())
        },
    )
    .await
}

async fn opendata(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    cached(state, "/opendata".into(), &headers, HTML, |st, _| {
        let kinds: Vec<minijinja::Value> = Kind::ALL
            .iter()
            .map(|k| minijinja::context! { kind => k.as_str(), title => kind_title(*k) })
            .collect();
        render(
            st,
            "opendata.html",
            minijinja::context! { kinds => kinds, title => "Offene Daten", licence => LICENCE_URI },
        )
    })
    .await
}

/// Decodes `a=1&b=x%20y`.
fn form_urlencoded(q: &str) -> HashMap<String, String> {
    fn decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < b.len() => {
                    match u8::from_str_radix(
                        std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"),
                        16,
                    ) {
                        Ok(v) => {
                            out.push(v);
                            i += 2;
                        }
                        Err(_) => out.push(b'%'),
                    }
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
    headers: HeaderMap,
) -> Result<Response, WebError> {
    cached(state, "/methodik".into(), &headers, HTML, |st, _| {
        let kinds: Vec<minijinja::Value> = Kind::ALL
            .iter()
            .map(|k| {
                let defs: Vec<minijinja::Value> = kpi::definitions::for_kind(*k)
                    .iter()
                    .map(|d| minijinja::context! { name => d.name, label => d.label_de, definition => d.definition_de, base => d.base })
                    .collect();
                minijinja::context! { kind => k.as_str(), defs => defs }
            })
            .collect();
        render(st, "methodology.html", minijinja::context! { kinds => kinds, title => "So rechnen wir", min_cell => st.settings.min_cell })
    })
    .await
}

async fn accessibility(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    cached(
        state,
        "/barrierefreiheit".into(),
        &headers,
        HTML,
        |st, _| {
            render(
                st,
                "accessibility.html",
                minijinja::context! { title => "Erklärung zur Barrierefreiheit" },
            )
        },
    )
    .await
}

async fn easy_language(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    cached(state, "/leichte-sprache".into(), &headers, HTML, |st, _| {
        render(
            st,
            "easy.html",
            minijinja::context! { title => "Leichte Sprache" },
        )
    })
    .await
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
    let ok = state
        .store
        .lock()
        .map(|s| s.data_version().is_ok())
        .unwrap_or(false);
    if ok {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n").into_response()
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let version = state
        .store
        .lock()
        .ok()
        .and_then(|s| s.data_version().ok())
        .unwrap_or(-1);
    let body = format!(
        "# HELP kennzahl_requests_total Requests to cached pages.\n# TYPE kennzahl_requests_total counter\nkennzahl_requests_total {}\n# HELP kennzahl_renders_total Pages rendered (cache misses).\n# TYPE kennzahl_renders_total counter\nkennzahl_renders_total {}\n# HELP kennzahl_data_version Version of the published data.\n# TYPE kennzahl_data_version gauge\nkennzahl_data_version {version}\n",
        state.requests.load(Ordering::Relaxed),
        state.renders.load(Ordering::Relaxed)
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// Runs the server until Ctrl-C or SIGTERM.
pub async fn serve(store: Store, settings: Settings) -> anyhow::Result<()> {
    let listen = settings.listen.clone();
    let app = router(store, settings).layer(tower_http::trace::TraceLayer::new_for_http());
    use axum::serve::ListenerExt;
    // Small responses go out at once (no 40 ms Nagle/delayed-ACK stall on streamed bodies).
    let listener = tokio::net::TcpListener::bind(&listen).await?.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tracing::info!(
        "Kennzahl läuft auf http://{}",
        axum::serve::Listener::local_addr(&listener)?
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await?;
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
