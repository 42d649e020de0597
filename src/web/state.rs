//! What every handler shares ([`AppState`]) and the one response cache: versions, renders
//! under way, the compute gate and gzip around the store of answers in `cache`.

use super::cache::{self, Cached};
use super::staff;
use super::{HTML, WebError};
use crate::config::Settings;
use crate::dashboards::Dashboards;
use crate::i18n::Lang;
use crate::kinds::Kind;
use crate::present::views::{self, FilterOptions};
use crate::store::Store;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// What every handler shares.
pub struct AppState {
    /// The store staff write through (and everything that is not a page render).
    pub(super) store: Mutex<Store>,
    /// Stores of their own for the renders (one per computation at once): each has its own
    /// SQLite connection, so pages computed at the same time do not wait for each other.
    pub(super) readers: Vec<Mutex<Store>>,
    pub(super) staff: Mutex<crate::staff::StaffDb>,
    /// Refused uploads' problem lists, for paging (by a random token, for an hour; a few per
    /// user and a bounded number in all, see `staff::upload`).
    pub(super) refused: Mutex<HashMap<String, staff::RefusedUpload>>,
    /// Uploads waiting for their columns to be mapped (by a random token, for an hour; a few
    /// per user and a bounded number in all, see `staff::mapping`).
    pub(super) mappings: Mutex<HashMap<String, Arc<staff::PendingMapping>>>,
    pub(super) templates: minijinja::Environment<'static>,
    pub(super) cache: cache::ResponseCache,
    pub(super) compute: cache::ComputeGate,
    /// Renders under way, by key and version: whoever asks for the same answer meanwhile
    /// waits for it instead of taking another turn at the gate.
    pub(super) in_flight: Mutex<HashMap<(String, Version), InFlight>>,
    /// The filter choices of office pages by (office, kinds shown, English), with the data
    /// version they were read at: every filtered view of an office offers the same choices,
    /// which cost questions over all its history (see [`AppState::filter_options`]).
    pub(super) filter_options: Mutex<FilterChoices>,
    pub(super) version: Mutex<KnownVersion>,
    /// The data version and notice epoch last looked up (-1: not yet), for requests that
    /// arrive while another looks them up.
    pub(super) seen: (std::sync::atomic::AtomicI64, AtomicU64),
    pub(super) dashboards: std::sync::RwLock<(Arc<Dashboards>, u64)>,
    pub(super) dashboards_watch: Option<Mutex<DashboardsWatch>>,
    pub(super) catalog_files: [std::path::PathBuf; 2],
    /// The catalogue is on a server other replicas write to: its version is asked for at
    /// most every [`SHARED_VERSION_CHECK`] instead of when the catalogue's files change.
    pub(super) shared_catalog: bool,
    /// Counts `NOTIFY kennzahl` of a shared catalogue: a change shows at once, not only at
    /// the next check.
    pub(super) notified: Arc<AtomicU64>,
    pub(super) settings: Settings,
    pub(super) requests: AtomicU64,
    pub(super) renders: AtomicU64,
}

/// The dashboards folder as last seen: files with size and modification time, checked at
/// most every [`DASHBOARDS_CHECK`] so that an edited file shows on the next page load.
pub(super) struct DashboardsWatch {
    pub(super) dir: std::path::PathBuf,
    pub(super) checked: std::time::Instant,
    pub(super) stamp: Vec<(std::path::PathBuf, u64, i128)>,
}

/// How often a replica asks a shared catalogue whether published data changed: a publish
/// through another replica shows here within this time (plus a render).
const SHARED_VERSION_CHECK: std::time::Duration = std::time::Duration::from_millis(500);

/// How often the dashboards folder is looked at.
const DASHBOARDS_CHECK: std::time::Duration = std::time::Duration::from_millis(200);

pub(super) fn dashboards_stamp(dir: &std::path::Path) -> Vec<(std::path::PathBuf, u64, i128)> {
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
pub(super) struct KnownVersion {
    stamp: CatalogStamp,
    /// The catalogue's data generation; `None` before the first look.
    pub(super) data: Option<i64>,
    /// When the next running notice ends (local time text), if one runs.
    notice_end: Option<String>,
    /// Counts notices that ran out: a page showing one is stale afterwards.
    epoch: u64,
    /// When the catalogue was last asked.
    checked: Option<std::time::Instant>,
    /// The notifications counted when it was last asked.
    notified: u64,
}

/// Filter choices by (office, kinds shown, English): (data version, choices).
pub(super) type FilterChoices = HashMap<(String, Vec<Kind>, bool), (i64, FilterOptions)>;

/// Most offices' filter choices kept (a city has tens of offices; past it all are dropped).
const FILTER_CHOICES_KEPT: usize = 512;

impl AppState {
    /// The filter choices of an office page, read once per data version.
    pub(super) fn filter_options(
        &self,
        store: &Store,
        office: &str,
        kinds: &[Kind],
        lang: Lang,
    ) -> Result<FilterOptions, WebError> {
        let version = store
            .data_version()
            .map_err(|e| WebError::Internal(e.to_string()))?;
        let key = (office.to_string(), kinds.to_vec(), lang == Lang::En);
        if let Ok(kept) = self.filter_options.lock()
            && let Some((v, options)) = kept.get(&key)
            && *v == version
        {
            return Ok(options.clone());
        }
        let options = views::filter_options(store, office, kinds, lang)?;
        if let Ok(mut kept) = self.filter_options.lock() {
            if kept.len() >= FILTER_CHOICES_KEPT {
                kept.clear();
            }
            kept.insert(key, (version, options.clone()));
        }
        Ok(options)
    }
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
        let notified = self.notified.load(Ordering::Acquire);
        let shared_due = self.shared_catalog
            && (known.notified != notified
                || known
                    .checked
                    .is_none_or(|t| t.elapsed() >= SHARED_VERSION_CHECK));
        if known.stamp != stamp || known.data.is_none() || ran_out || shared_due {
            // While a render holds the store, the pages of the version known so far are
            // served: a publish never makes readers of cached pages wait.
            let store = match self.store.try_lock() {
                Ok(store) => Some(store),
                // On a shared catalogue a reader's connection will do: a long import here
                // must not hide what other replicas publish meanwhile.
                Err(std::sync::TryLockError::WouldBlock) if self.shared_catalog => {
                    self.readers.iter().find_map(|r| r.try_lock().ok())
                }
                Err(std::sync::TryLockError::WouldBlock) => None,
                Err(_) => return Err(WebError::Internal("store lock poisoned".into())),
            };
            let store = match store {
                Some(store) => store,
                None if known.data.is_some() && !ran_out => {
                    return Ok((known.data.unwrap_or(0), known.epoch));
                }
                None => self
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
            known.checked = Some(std::time::Instant::now());
            known.notified = notified;
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
    pub(super) fn dashboards(&self) -> (Arc<Dashboards>, u64) {
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

/// Computations at once: the setting, or one per core.
pub(super) fn computations(settings: &Settings) -> usize {
    match settings.max_computations {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    }
}

/// Serves a cached response for the current data version, or renders and caches it.
pub(super) async fn cached(
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
