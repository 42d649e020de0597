//! The staff area under `/staff`. Every upload goes through the same reading, validation and
//! store as `kennzahl import`. Handlers are thin: the rules live in [`crate::staff`] and
//! [`crate::store`]. This file holds what every handler needs (session and CSRF guards,
//! cookies, page rendering); the handlers are grouped by what staff do:
//!
//! - `account`: log in, log out, change the password
//! - `home`: the start page
//! - `upload` and `mapping`: upload with a preview; the form for unknown headers
//! - `review`: submit, approve, reject (four eyes)
//! - `history`: revisions, original files, rollback
//! - `notes`: notes on a month, current notices
//! - `admin`: users, targets, the audit log
//!
//! The pages speak German or English like the public pages: `?lang=de|en` wins (and is
//! remembered in a cookie, since forms and redirects do not carry the query on), then that
//! cookie, then the browser's Accept-Language ([`PageLang`]).

// Guards return a finished response to send instead (a redirect, a refusal): a Response in
// the error variant is what axum handlers return anyway.
#![allow(clippy::result_large_err)]

use super::form::form_urlencoded;
use super::{AppState, WebError};
use crate::i18n::Lang;
use crate::ingest::{self, Options};
use crate::kinds::Kind;
use crate::kpi::{self, Dim, Query, Value};
use crate::net::IpRange;
use crate::staff::MAX_TEXT;
use crate::staff::sessions::{MAX_SECS, Session};
use crate::store::{Store, Submission};
use axum::Router;
use axum::extract::{
    ConnectInfo, FromRequest, FromRequestParts, Multipart, Path, RawQuery, Request, State,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SESSION_COOKIE: &str = "kz_session";
const LOGIN_COOKIE: &str = "kz_login";
/// The language chosen with `?lang=`, kept for a year.
const LANG_COOKIE: &str = "kennzahl_lang";
const LANG_COOKIE_SECS: u32 = 365 * 24 * 3600;
mod account;
mod admin;
mod history;
mod home;
mod mapping;
mod notes;
mod review;
mod upload;

use home::kinds;
pub use mapping::PendingMapping;
pub use upload::{RefusedUpload, clean_file_name};
use upload::{Staged, UploadedFile, stage, staged_response};

/// The staff routes (merged into the public router).
pub fn routes(max_upload: u64) -> Router<Arc<AppState>> {
    Router::new()
        .route("/staff", get(home::home))
        .route(
            "/staff/login",
            get(account::login_form).post(account::login),
        )
        .route("/staff/logout", post(account::logout))
        .route(
            "/staff/upload",
            post(upload::upload).layer(axum::extract::DefaultBodyLimit::max(
                (max_upload as usize).saturating_add(1 << 20),
            )),
        )
        .route("/staff/uploads/{token}", get(upload::refused_page))
        .route("/staff/batches/{id}/submit", post(review::submit))
        .route("/staff/batches/{id}/approve", post(review::approve))
        .route("/staff/batches/{id}/reject", post(review::reject))
        .route("/staff/batches/{id}/original", get(history::original))
        .route("/staff/history", get(history::history))
        .route("/staff/rollback", post(history::rollback))
        .route("/staff/notes", post(notes::add_note))
        .route("/staff/notices", post(notes::add_notice))
        .route("/staff/notices/{id}/end", post(notes::end_notice))
        .route(
            "/staff/password",
            get(account::password_form).post(account::change_password),
        )
        .route("/staff/audit", get(admin::audit_log))
        .route(
            "/staff/mapping/{token}",
            get(mapping::form).post(mapping::apply),
        )
        .route("/staff/admin", get(admin::admin))
        .route("/staff/admin/users", post(admin::admin_add_user))
        .route("/staff/admin/users/{name}", post(admin::admin_change_user))
        .route("/staff/admin/targets", post(admin::admin_set_target))
        .layer(axum::middleware::from_fn(remember_lang))
}

/// The language of a staff page, and the address that shows the same page again by GET: the
/// header's language link goes there in the other language. A page answering a form post has
/// such an address only where its handler names one ([`PageLang::at`]); elsewhere the link is
/// left out rather than leading away from what the post answered (a preview, say).
#[derive(Clone, Debug)]
pub struct PageLang {
    pub lang: Lang,
    here: Option<String>,
}

impl PageLang {
    /// `?lang=` wins, then the language chosen before (its cookie), then Accept-Language.
    fn of(parts: &Parts) -> Self {
        let query = parts.uri.query().unwrap_or("");
        let mut params = form_urlencoded(query);
        if query_lang(query).is_none() {
            params.remove("lang");
            if let Some(chosen) =
                raw_cookie(&parts.headers, LANG_COOKIE).and_then(|c| c.parse::<Lang>().ok())
            {
                params.insert("lang".into(), super::lang_code(chosen).into());
            }
        }
        let lang = super::negotiate(&params, &parts.headers);
        let here = (parts.method == Method::GET).then(|| without_lang(parts.uri.path(), query));
        PageLang { lang, here }
    }

    /// The same language, with the language link going to `here` (an address for GET).
    fn at(&self, here: impl Into<String>) -> Self {
        PageLang {
            lang: self.lang,
            here: Some(here.into()),
        }
    }

    /// The German or the English text.
    fn pick<'a>(&self, de: &'a str, en: &'a str) -> &'a str {
        self.lang.pick(de, en)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PageLang {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(PageLang::of(parts))
    }
}

/// The language a query asks for with `lang=`, if it names one.
fn query_lang(query: &str) -> Option<Lang> {
    form_urlencoded(query).get("lang")?.parse().ok()
}

/// `path?query` without its `lang` parameters.
fn without_lang(path: &str, query: &str) -> String {
    let rest: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !form_urlencoded(p).contains_key("lang"))
        .collect();
    if rest.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", rest.join("&"))
    }
}

/// Keeps a language chosen with `?lang=` in a cookie (Path=/staff), so that it holds across
/// the forms and redirects of the staff area, which do not carry the query on.
async fn remember_lang(req: Request, next: Next) -> Response {
    let chosen = req.uri().query().and_then(query_lang);
    let https = forwarded_https(req.headers());
    let mut resp = next.run(req).await;
    if let Some(lang) = chosen {
        set_cookie(
            &mut resp,
            format!(
                "{LANG_COOKIE}={}; Path=/staff; HttpOnly; SameSite=Strict; Max-Age={LANG_COOKIE_SECS}{}",
                super::lang_code(lang),
                if https { "; Secure" } else { "" }
            ),
        );
    }
    resp
}

/// One language of a message written "Deutsch / English", the way the store's, the
/// accounts' and the reader's messages are (they reach the command line too); a message
/// without an English part stays whole.
fn in_lang(text: &str, lang: Lang) -> &str {
    match text.split_once(" / ") {
        Some((de, en)) => lang.pick(de, en),
        None => text,
    }
}

/// A message of the staff records in one language; failures of the catalogue itself stay
/// whole (their German part says nothing without the detail).
fn staff_error_text(e: &crate::staff::StaffError, lang: Lang) -> String {
    use crate::staff::StaffError;
    let text = e.to_string();
    match e {
        StaffError::Db(_) | StaffError::Hash(_) => text,
        _ => in_lang(&text, lang).to_string(),
    }
}

/// A message of the store in one language; failures of the store itself stay whole.
fn store_error_text(e: &crate::store::StoreError, lang: Lang) -> String {
    use crate::store::StoreError;
    let text = e.to_string();
    match e {
        StoreError::Io { .. }
        | StoreError::Db(_)
        | StoreError::Parquet(_)
        | StoreError::Damaged { .. } => text,
        _ => in_lang(&text, lang).to_string(),
    }
}

/// The client's address, for the audit log and the login brake: the TCP peer, or behind a
/// proxy named in the `trusted_proxies` setting the client that proxy names in
/// `X-Forwarded-For`. From anyone else the header is ignored: a client must not choose the
/// address it is counted under, and a proxy must not make the whole staff one address.
pub struct Remote(pub String);

impl FromRequestParts<Arc<AppState>> for Remote {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let Some(peer) = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
        else {
            return Ok(Remote("local".into()));
        };
        // A few entries at most, checked at start-up: parsed per request, no state to keep.
        let trusted: Vec<IpRange> = state
            .settings
            .trusted_proxies
            .iter()
            .filter_map(|p| IpRange::parse(p))
            .collect();
        let forwarded: Vec<&str> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        Ok(Remote(
            crate::net::client_address(peer, &forwarded, &trusted).to_string(),
        ))
    }
}

/// A token cookie: 64 hex digits, or nothing.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    raw_cookie(headers, name).filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A cookie's value as sent.
fn raw_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Whether a proxy says the site was reached over HTTPS.
fn forwarded_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// `Secure` when the site is reached over HTTPS (directly or behind a proxy that says so).
fn secure(state: &AppState, headers: &HeaderMap) -> &'static str {
    if forwarded_https(headers) || state.settings.secure_cookies {
        "; Secure"
    } else {
        ""
    }
}

fn set_cookie(resp: &mut Response, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Equal in time whatever the input, so that a token cannot be guessed byte by byte.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

fn staff_db(
    state: &AppState,
) -> Result<std::sync::MutexGuard<'_, crate::staff::StaffDb>, WebError> {
    state
        .staff
        .lock()
        .map_err(|_| WebError::Internal("staff lock poisoned".into()))
}

fn store(state: &AppState) -> Result<StoreGuard<'_>, WebError> {
    let guard = state
        .store
        .lock()
        .map_err(|_| WebError::Internal("store lock poisoned".into()))?;
    Ok(StoreGuard {
        guard,
        notified: &state.notified,
    })
}

/// The store as a staff action holds it. When the action is done, the pages are told to ask
/// the catalogue again: on a shared catalogue they would otherwise wait for the database's
/// notice or the next check, and staff would not see their own change at once.
pub(super) struct StoreGuard<'a> {
    guard: std::sync::MutexGuard<'a, Store>,
    notified: &'a std::sync::atomic::AtomicU64,
}

impl std::ops::Deref for StoreGuard<'_> {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.guard
    }
}

impl std::ops::DerefMut for StoreGuard<'_> {
    fn deref_mut(&mut self) -> &mut Store {
        &mut self.guard
    }
}

impl Drop for StoreGuard<'_> {
    fn drop(&mut self) {
        self.notified
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }
}

fn internal(e: impl std::fmt::Display) -> WebError {
    WebError::Internal(e.to_string())
}

/// The session of the request, if any.
fn current(state: &AppState, headers: &HeaderMap) -> Result<Option<(String, Session)>, WebError> {
    let Some(id) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let s = staff_db(state)?.session(&id).map_err(internal)?;
    Ok(s.map(|s| (id, s)))
}

/// Pages need a session: without one, the way to the login.
fn need_session(state: &AppState, headers: &HeaderMap) -> Result<Session, Response> {
    match current(state, headers) {
        Ok(Some((_, s))) => Ok(s),
        Ok(None) => Err(Redirect::to("/staff/login").into_response()),
        Err(e) => Err(e.into_response()),
    }
}

/// Form posts need a session and its CSRF token; anything else is refused outright (with a
/// plain text in both languages: it answers no page of ours).
fn need_form_session(
    state: &AppState,
    headers: &HeaderMap,
    csrf: Option<&String>,
) -> Result<Session, Response> {
    let s = match current(state, headers) {
        Ok(Some((_, s))) => s,
        Ok(None) => {
            return Err(refused(
                StatusCode::FORBIDDEN,
                "Bitte zuerst anmelden. / Please log in first.",
            ));
        }
        Err(e) => return Err(e.into_response()),
    };
    match csrf {
        Some(t) if same(t, &s.csrf) => Ok(s),
        _ => Err(refused(
            StatusCode::FORBIDDEN,
            "Das Formular ist abgelaufen oder kam nicht von dieser Seite. Bitte die Seite neu laden und noch einmal senden. / The form expired or did not come from this site; reload the page and send it again.",
        )),
    }
}

fn refused(status: StatusCode, text: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text.to_string(),
    )
        .into_response()
}

/// A staff page in the language of `pl`, with the header's link to the other language.
fn page(
    state: &AppState,
    pl: &PageLang,
    name: &str,
    session: Option<&Session>,
    ctx: minijinja::Value,
) -> Response {
    let t = match state.templates.get_template(name) {
        Ok(t) => t,
        Err(e) => return internal(e).into_response(),
    };
    let user = session.map(|s| {
        minijinja::context! {
            name => s.user.name.clone(),
            role => s.user.role.as_str(),
            may_publish => s.user.may_publish(),
            is_admin => s.user.is_admin(),
            offices => s.user.offices.clone(),
        }
    });
    let site = minijinja::context! { site_name => state.settings.site_name.clone() };
    let other = pl.pick("en", "de");
    let switch_url = pl.here.as_ref().map(|here| {
        let sep = if here.contains('?') { '&' } else { '?' };
        format!("{here}{sep}lang={other}")
    });
    match t.render(minijinja::context! {
        site => site,
        user => user,
        csrf => session.map(|s| s.csrf.clone()),
        css => super::router::css_version(),
        lang => super::lang_code(pl.lang),
        switch_url => switch_url,
        switch_lang => other,
        switch_label => pl.pick("English", "Deutsch"),
        ..ctx
    }) {
        Ok(html) => {
            let mut resp =
                ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
            // Staff pages are personal: never kept by a browser or a proxy.
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp
        }
        Err(e) => internal(e).into_response(),
    }
}

fn message(
    state: &AppState,
    pl: &PageLang,
    session: Option<&Session>,
    status: StatusCode,
    title: &str,
    text: &str,
) -> Response {
    let mut r = page(
        state,
        pl,
        "staff_message.html",
        session,
        minijinja::context! { title => title, text => text },
    );
    *r.status_mut() = status;
    r
}

/// A staff page request: the session and the page's language, or (as the rejection) the way
/// to the login.
pub struct StaffPage(pub Session, pub PageLang);

impl FromRequestParts<Arc<AppState>> for StaffPage {
    type Rejection = Response;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        need_session(state, &parts.headers).map(|s| StaffPage(s, PageLang::of(parts)))
    }
}

/// Largest form post (URL-encoded fields; files go through the upload route): room for a
/// text of [`MAX_TEXT`] characters even if every one is sent as four %XX-encoded bytes, and
/// for the mapping form of a wide export; nothing a form of ours needs more of.
const FORM_LIMIT: usize = 32 << 10;

/// Largest login post: a name, a password and a token.
const LOGIN_LIMIT: usize = 16 << 10;

/// The first field of a form longer than [`MAX_TEXT`] characters, refused with its name.
fn too_long(form: &HashMap<String, String>, lang: Lang) -> Option<String> {
    let (name, _) = form.iter().find(|(_, v)| v.chars().count() > MAX_TEXT)?;
    let label = match name.as_str() {
        "reason" => lang.pick("Grund", "Reason"),
        "text" => "Text",
        "name" => "Name",
        "office" => lang.pick("Amt", "Office"),
        "password" | "old" | "new" | "repeat" => lang.pick("Passwort", "Password"),
        other => other,
    };
    Some(match lang {
        Lang::De => format!(
            "Das Feld „{label}“ ist zu lang: höchstens {MAX_TEXT} Zeichen. Es wurde nichts gespeichert."
        ),
        Lang::En => format!(
            "The field \"{label}\" is too long: at most {MAX_TEXT} characters. Nothing was saved."
        ),
    })
}

/// A staff form post: the session, checked against the form's CSRF token, and its fields.
pub struct StaffForm {
    pub session: Session,
    /// Fields by name (of a repeated field, the last).
    pub form: HashMap<String, String>,
    /// Fields in order, for multi-selects that send one pair per choice.
    pub pairs: Vec<(String, String)>,
    /// The language of the page that answers the post.
    pub lang: PageLang,
}

impl FromRequest<Arc<AppState>> for StaffForm {
    type Rejection = Response;
    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, FORM_LIMIT).await.map_err(|_| {
            refused(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Das Formular ist zu groß. / The form is too large.",
            )
        })?;
        let body = String::from_utf8_lossy(&bytes);
        let form = form_urlencoded(&body);
        let session = need_form_session(state, &parts.headers, form.get("csrf"))?;
        let lang = PageLang::of(&parts);
        if let Some(text) = too_long(&form, lang.lang) {
            let title = lang.pick("Zu lang", "Too long");
            return Err(unprocessable(state, &lang, &session, title, &text));
        }
        Ok(StaffForm {
            session,
            form,
            pairs: form_pairs(&body),
            lang,
        })
    }
}

/// `a=1&b=2&b=3` as pairs in order.
fn form_pairs(body: &str) -> Vec<(String, String)> {
    body.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let one = form_urlencoded(p);
            one.into_iter().next().unwrap_or_default()
        })
        .collect()
}

/// A batch id from the path; anything else is "no such batch".
pub struct BatchId(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for BatchId {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        id.parse().map(BatchId).map_err(|_| {
            refused(
                StatusCode::NOT_FOUND,
                "Diese Lieferung gibt es nicht / no such batch",
            )
        })
    }
}

/// The refusal page for something the user's role or offices do not allow.
fn forbidden(state: &AppState, pl: &PageLang, session: &Session, text: &str) -> Response {
    message(
        state,
        pl,
        Some(session),
        StatusCode::FORBIDDEN,
        pl.pick("Nicht erlaubt", "Not allowed"),
        text,
    )
}

/// The page for a form whose content cannot be used, saying what to change.
fn unprocessable(
    state: &AppState,
    pl: &PageLang,
    session: &Session,
    title: &str,
    text: &str,
) -> Response {
    message(
        state,
        pl,
        Some(session),
        StatusCode::UNPROCESSABLE_ENTITY,
        title,
        text,
    )
}

/// A form field, trimmed; empty when missing.
fn field(form: &HashMap<String, String>, name: &str) -> String {
    form.get(name)
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}

/// What a staff action on the catalogue ends in: done, refused with a reason for the user, or
/// failed.
type Outcome = Result<Result<(), String>, WebError>;

/// Runs a catalogue action off the async threads and answers with a redirect to `done` or
/// with the reason on a page titled `refused_title`.
async fn run_action(
    state: &AppState,
    pl: &PageLang,
    session: &Session,
    done: &str,
    refused_title: &str,
    action: impl FnOnce() -> Outcome + Send + 'static,
) -> Response {
    match tokio::task::spawn_blocking(action).await {
        Ok(Ok(Ok(()))) => Redirect::to(done).into_response(),
        Ok(Ok(Err(text))) => unprocessable(state, pl, session, refused_title, &text),
        Ok(Err(e)) => e.into_response(),
        Err(e) => internal(e).into_response(),
    }
}

/// Approving, rejecting and rolling back are for publishers and admins; `what` names the
/// action in the refusal in German and English, as in `("Freigeben", "approve")`.
fn need_publisher(
    state: &AppState,
    pl: &PageLang,
    session: &Session,
    what: (&str, &str),
) -> Result<(), Response> {
    if session.user.may_publish() {
        Ok(())
    } else {
        let text = match pl.lang {
            Lang::De => format!(
                "{} dürfen nur Personen mit der Rolle publisher oder admin.",
                what.0
            ),
            Lang::En => format!(
                "Only people with the role publisher or admin may {}.",
                what.1
            ),
        };
        Err(forbidden(state, pl, session, &text))
    }
}

/// The offices with published data, by name; the KPI engine runs off the async threads.
async fn known_offices(state: &Arc<AppState>) -> Result<Vec<String>, WebError> {
    let st = state.clone();
    tokio::task::spawn_blocking(move || {
        let store = store(&st)?;
        Ok(crate::present::views::offices(&store)?
            .into_iter()
            .map(|(o, _)| o)
            .collect())
    })
    .await
    .map_err(internal)?
}

/// The user may act on a batch only if every office it covers is theirs.
fn need_batch_access(
    state: &AppState,
    pl: &PageLang,
    session: &Session,
    batch: i64,
) -> Result<(), Response> {
    let cells = store(state)
        .and_then(|s| s.batch_cells(batch).map_err(internal))
        .map_err(IntoResponse::into_response)?;
    if !cells.is_empty() && cells.iter().all(|(o, _, _)| session.user.may_edit(o)) {
        Ok(())
    } else {
        Err(forbidden(
            state,
            pl,
            session,
            pl.pick(
                "Diese Lieferung betrifft ein Amt, für das Sie nicht zuständig sind.",
                "This batch concerns an office you are not responsible for.",
            ),
        ))
    }
}

/// Keeps what waits per user in memory (uploads waiting for their mapping, problem lists of
/// refused uploads) within bounds before one more of `user`'s is added: entries older than
/// `keep` go, then `user`'s oldest beyond `per_user - 1`, then, while `total` or more remain,
/// the oldest of whoever holds the most. So one user's many uploads never push out a
/// colleague's, and all of them together never hold more than `total`.
/// The moment that lies `age_secs` back (for entries read back from the catalogue).
fn instant_of_age(age_secs: i64) -> Instant {
    Instant::now()
        .checked_sub(Duration::from_secs(age_secs.max(0) as u64))
        .unwrap_or_else(Instant::now)
}

fn make_room<V>(
    map: &mut HashMap<String, V>,
    user: &str,
    keep: Duration,
    per_user: usize,
    total: usize,
    owner: impl Fn(&V) -> (&str, Instant),
) {
    map.retain(|_, v| owner(v).1.elapsed() < keep);
    let oldest_of = |map: &HashMap<String, V>, who: &str| -> Option<String> {
        map.iter()
            .filter(|(_, v)| owner(v).0 == who)
            .min_by_key(|(_, v)| owner(v).1)
            .map(|(k, _)| k.clone())
    };
    while map.values().filter(|v| owner(v).0 == user).count() >= per_user.max(1) {
        match oldest_of(map, user) {
            Some(k) => map.remove(&k),
            None => break,
        };
    }
    while map.len() >= total.max(1) {
        let mut held: HashMap<&str, (usize, Instant)> = HashMap::new();
        for v in map.values() {
            let (who, at) = owner(v);
            let e = held.entry(who).or_insert((0, at));
            e.0 += 1;
            e.1 = e.1.min(at);
        }
        // The most entries; among equals, the one holding the oldest.
        let Some(busiest) = held
            .into_iter()
            .max_by(|a, b| a.1.0.cmp(&b.1.0).then(b.1.1.cmp(&a.1.1)))
            .map(|(who, _)| who.to_string())
        else {
            break;
        };
        match oldest_of(map, &busiest) {
            Some(k) => map.remove(&k),
            None => break,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_users_many_entries_do_not_push_out_anothers() {
        let mut map: HashMap<String, (String, Instant)> = HashMap::new();
        let start = Instant::now();
        let add = |map: &mut HashMap<String, (String, Instant)>, key: &str, who: &str, n: u64| {
            make_room(map, who, Duration::from_secs(3600), 3, 5, |v| {
                (v.0.as_str(), v.1)
            });
            map.insert(key.into(), (who.into(), start + Duration::from_millis(n)));
        };
        add(&mut map, "e1", "erika", 0);
        for i in 0..8 {
            add(&mut map, &format!("m{i}"), "emil", 1 + i);
        }
        assert!(map.contains_key("e1"), "erika's one stays");
        assert_eq!(map.len(), 4, "emil keeps his newest three");
        assert!(map.contains_key("m7") && map.contains_key("m5") && !map.contains_key("m4"));
        for (i, who) in ["a", "b", "c"].iter().enumerate() {
            add(&mut map, who, who, 20 + i as u64);
        }
        assert_eq!(map.len(), 5, "never more than the total");
        assert!(
            map.contains_key("e1") && map.contains_key("c"),
            "{:?}",
            map.keys()
        );
    }
}
