//! The staff area under `/staff`: log in, upload with a preview, submit for review, approve
//! or reject, history with originals and rollback, notes, password, audit log. Every upload
//! goes through the same reading, validation and store as `kennzahl import`. Handlers are
//! thin: the rules live in [`crate::staff`] and [`crate::store`].

// Guards return a finished response to send instead (a redirect, a refusal): a Response in
// the error variant is what axum handlers return anyway.
#![allow(clippy::result_large_err)]

use super::{AppState, WebError, form_urlencoded};
use crate::i18n::Lang;
use crate::ingest::{self, Options};
use crate::kinds::Kind;
use crate::kpi::{self, Dim, Query, Value};
use crate::staff::sessions::{MAX_SECS, Session};
use crate::store::{Store, Submission};
use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts, Multipart, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

const SESSION_COOKIE: &str = "kz_session";
const LOGIN_COOKIE: &str = "kz_login";
/// Problems shown per page of a refused upload.
const PROBLEMS_PER_PAGE: usize = 100;

/// The staff routes (merged into the public router).
mod mapping;

pub use mapping::PendingMapping;

pub fn routes(max_upload: u64) -> Router<Arc<AppState>> {
    Router::new()
        .route("/staff", get(home))
        .route("/staff/login", get(login_form).post(login))
        .route("/staff/logout", post(logout))
        .route(
            "/staff/upload",
            post(upload).layer(axum::extract::DefaultBodyLimit::max(
                (max_upload as usize).saturating_add(1 << 20),
            )),
        )
        .route("/staff/uploads/{token}", get(refused_page))
        .route("/staff/batches/{id}/submit", post(submit))
        .route("/staff/batches/{id}/approve", post(approve))
        .route("/staff/batches/{id}/reject", post(reject))
        .route("/staff/batches/{id}/original", get(original))
        .route("/staff/history", get(history))
        .route("/staff/rollback", post(rollback))
        .route("/staff/notes", post(add_note))
        .route("/staff/notices", post(add_notice))
        .route("/staff/notices/{id}/end", post(end_notice))
        .route("/staff/password", get(password_form).post(change_password))
        .route("/staff/audit", get(audit_log))
        .route(
            "/staff/mapping/{token}",
            get(mapping::form).post(mapping::apply),
        )
        .route("/staff/admin", get(admin))
        .route("/staff/admin/users", post(admin_add_user))
        .route("/staff/admin/users/{name}", post(admin_change_user))
        .route("/staff/admin/targets", post(admin_set_target))
}

/// The client's address, for the audit log and the login brake.
pub struct Remote(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Remote {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Remote(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string())
                .unwrap_or_else(|| "local".into()),
        ))
    }
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `Secure` when the site is reached over HTTPS (directly or behind a proxy that says so).
fn secure(state: &AppState, headers: &HeaderMap) -> &'static str {
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    if https || state.settings.secure_cookies {
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

fn store(state: &AppState) -> Result<std::sync::MutexGuard<'_, Store>, WebError> {
    state
        .store
        .lock()
        .map_err(|_| WebError::Internal("store lock poisoned".into()))
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

/// Form posts need a session and its CSRF token; anything else is refused outright.
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

fn page(
    state: &AppState,
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
    match t.render(minijinja::context! {
        site => site,
        user => user,
        csrf => session.map(|s| s.csrf.clone()),
        css => super::css_version(),
        lang => "de",
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
    session: Option<&Session>,
    status: StatusCode,
    title: &str,
    text: &str,
) -> Response {
    let mut r = page(
        state,
        "staff_message.html",
        session,
        minijinja::context! { title => title, text => text },
    );
    *r.status_mut() = status;
    r
}

async fn login_form(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Ok(Some(_)) = current(&state, &headers) {
        return Redirect::to("/staff").into_response();
    }
    let token = crate::staff::random_token();
    let mut r = page(
        &state,
        "staff_login.html",
        None,
        minijinja::context! { title => "Anmelden", login_token => token.clone() },
    );
    set_cookie(
        &mut r,
        format!(
            "{LOGIN_COOKIE}={token}; Path=/staff; HttpOnly; SameSite=Strict; Max-Age=3600{}",
            secure(&state, &headers)
        ),
    );
    r
}

async fn login(
    State(state): State<Arc<AppState>>,
    Remote(remote): Remote,
    headers: HeaderMap,
    body: String,
) -> Response {
    let form = form_urlencoded(&body);
    let (Some(name), Some(password)) = (form.get("name"), form.get("password")) else {
        return refused(
            StatusCode::BAD_REQUEST,
            "Name und Passwort fehlen / name and password missing",
        );
    };
    // The login form carries a token that must match its cookie (no logins from other sites).
    match (form.get("csrf"), cookie(&headers, LOGIN_COOKIE)) {
        (Some(t), Some(c)) if same(t, &c) => {}
        _ => {
            return refused(
                StatusCode::FORBIDDEN,
                "Das Anmeldeformular ist abgelaufen. Bitte /staff/login neu laden. / The login form expired; reload /staff/login.",
            );
        }
    }
    let st = state.clone();
    let (name, password) = (name.clone(), password.clone());
    let result =
        tokio::task::spawn_blocking(move || -> Result<Result<(String, String), i64>, WebError> {
            let db = staff_db(&st)?;
            let wait = db.login_wait(&name, &remote).map_err(internal)?;
            if wait > 0 {
                db.audit(&name, "login refused (throttled)", "", &remote)
                    .map_err(internal)?;
                return Ok(Err(wait));
            }
            match db.verify(&name, &password).map_err(internal)? {
                Some(user) => {
                    db.login_succeeded(&name).map_err(internal)?;
                    let (id, _) = db.start_session(&user).map_err(internal)?;
                    db.audit(&user.name, "login", "", &remote)
                        .map_err(internal)?;
                    Ok(Ok((id, user.name)))
                }
                None => {
                    db.login_failed(&name, &remote).map_err(internal)?;
                    db.audit(&name, "login failed", "", &remote)
                        .map_err(internal)?;
                    Ok(Err(0))
                }
            }
        })
        .await;
    match result {
        Ok(Ok(Ok((id, _)))) => {
            let mut r = Redirect::to("/staff").into_response();
            set_cookie(
                &mut r,
                format!(
                    "{SESSION_COOKIE}={id}; Path=/staff; HttpOnly; SameSite=Strict; Max-Age={MAX_SECS}{}",
                    secure(&state, &headers)
                ),
            );
            r
        }
        Ok(Ok(Err(wait))) => {
            let text = if wait > 0 {
                format!(
                    "Zu viele Fehlversuche. Bitte in {} Minuten erneut versuchen. / Too many failed attempts; try again in {} minutes.",
                    (wait + 59) / 60,
                    (wait + 59) / 60
                )
            } else {
                "Name oder Passwort stimmen nicht. / Name or password is wrong.".to_string()
            };
            let token = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
            let mut r = page(
                &state,
                "staff_login.html",
                None,
                minijinja::context! { title => "Anmelden", login_token => token, error => text, name => form.get("name") },
            );
            *r.status_mut() = if wait > 0 {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::UNAUTHORIZED
            };
            r
        }
        Ok(Err(e)) => e.into_response(),
        Err(e) => internal(e).into_response(),
    }
}

async fn logout(
    State(state): State<Arc<AppState>>,
    Remote(remote): Remote,
    headers: HeaderMap,
    body: String,
) -> Response {
    let form = form_urlencoded(&body);
    let session = match need_form_session(&state, &headers, form.get("csrf")) {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let (Some(id), Ok(db)) = (cookie(&headers, SESSION_COOKIE), staff_db(&state)) {
        let _ = db.end_session(&id);
        let _ = db.audit(&session.user.name, "logout", "", &remote);
    }
    let mut r = Redirect::to("/staff/login").into_response();
    set_cookie(
        &mut r,
        format!("{SESSION_COOKIE}=; Path=/staff; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    r
}

/// The kinds staff upload, for the form.
fn kinds() -> Vec<minijinja::Value> {
    Kind::ALL
        .iter()
        .map(|k| minijinja::context! { kind => k.as_str(), title => super::kind_title(*k, Lang::De) })
        .collect()
}

async fn home(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let session = match need_session(&state, &headers) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let reviews = match staff_db(&state).and_then(|db| db.reviews(false).map_err(internal)) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let mine: Vec<_> = reviews
        .iter()
        .filter(|r| r.submitted_by == session.user.name)
        .take(20)
        .cloned()
        .collect();
    let waiting: Vec<_> = reviews
        .iter()
        .filter(|r| r.state == "submitted")
        .cloned()
        .collect();
    // The KPI engine runs off the async threads.
    let st = state.clone();
    let offices = tokio::task::spawn_blocking(move || {
        store(&st).and_then(|s| super::views::offices(&s).map_err(WebError::from))
    })
    .await;
    let offices: Vec<String> = match offices {
        Ok(Ok(o)) => o
            .into_iter()
            .map(|(o, _)| o)
            .filter(|o| session.user.may_edit(o))
            .collect(),
        Ok(Err(e)) => return e.into_response(),
        Err(e) => return internal(e).into_response(),
    };
    let notices: Vec<minijinja::Value> = match store(&state).and_then(|s| s.current_notices(None).map_err(internal)) {
        Ok(n) => n
            .into_iter()
            .filter(|n| session.user.may_edit(&n.1))
            .map(|(id, office, text, until)| minijinja::context! { id => id, office => office, text => text, until => super::format::until_text(&until, Lang::De) })
            .collect(),
        Err(e) => return e.into_response(),
    };
    page(
        &state,
        "staff_home.html",
        Some(&session),
        minijinja::context! {
            title => "Arbeitsbereich",
            notices => notices,
            kinds => kinds(),
            offices => offices,
            mine => minijinja::Value::from(minijinja::value::Serde(&mine)),
            waiting => minijinja::Value::from(minijinja::value::Serde(&waiting)),
            self_approval => state.settings.allow_self_approval,
            max_mb => state.settings.max_upload_bytes / (1 << 20),
        },
    )
}

/// The file name as kept, or `None` when it is empty, names a path (`../`, `/`, `\`),
/// starts with a dot, carries control characters or is longer than 200 characters: browsers
/// send a bare name, so anything else did not come from a file picker.
pub fn clean_file_name(name: &str) -> Option<String> {
    let name = name.trim();
    let bad = name.is_empty()
        || name.contains(['/', '\\'])
        || name.starts_with('.')
        || name.chars().any(char::is_control)
        || name.chars().count() > 200;
    if bad { None } else { Some(name.to_string()) }
}

/// What an upload is refused for, kept a while so that long problem lists can be paged.
#[derive(Clone)]
pub struct RefusedUpload {
    pub user: String,
    pub file_name: String,
    pub summary: String,
    pub problems: Vec<String>,
    pub total: usize,
    pub at: std::time::Instant,
}

async fn upload(
    State(state): State<Arc<AppState>>,
    Remote(remote): Remote,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Response {
    // No session, no reading of the body.
    match current(&state, &headers) {
        Ok(Some(_)) => {}
        Ok(None) => {
            return refused(
                StatusCode::FORBIDDEN,
                "Bitte zuerst anmelden. / Please log in first.",
            );
        }
        Err(e) => return e.into_response(),
    }
    let mut fields: HashMap<String, String> = HashMap::new();
    let mut file: Option<(String, Vec<u8>)> = None;
    let limit = state.settings.max_upload_bytes;
    let too_large = || {
        let size = if limit >= 1 << 20 {
            format!("{} MB", limit >> 20)
        } else {
            format!("{} KB", limit >> 10)
        };
        format!(
            "Die Datei ist größer als erlaubt (höchstens {size}). Bitte den Export auf einen Monat beschränken. / The file is larger than allowed (at most {size})."
        )
    };
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                let text = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    too_large()
                } else {
                    format!("Das Formular kam unvollständig an ({e}). Bitte noch einmal senden.")
                };
                return message(
                    &state,
                    None,
                    StatusCode::BAD_REQUEST,
                    "Hochladen abgelehnt",
                    &text,
                );
            }
        };
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            let file_name = field.file_name().unwrap_or("").to_string();
            match field.bytes().await {
                Ok(b) => file = Some((file_name, b.to_vec())),
                Err(e) => {
                    let text = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        too_large()
                    } else {
                        format!("Die Datei kam unvollständig an ({e}). Bitte noch einmal senden.")
                    };
                    return message(
                        &state,
                        None,
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "Hochladen abgelehnt",
                        &text,
                    );
                }
            }
        } else if let Ok(text) = field.text().await {
            fields.insert(name, text);
        }
    }
    let session = match need_form_session(&state, &headers, fields.get("csrf")) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let refuse = |text: String| {
        message(
            &state,
            Some(&session),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Hochladen abgelehnt",
            &text,
        )
    };
    let Some((raw_name, bytes)) = file.filter(|(n, _)| !n.is_empty()) else {
        return refuse("Bitte eine Datei auswählen. / Please choose a file.".into());
    };
    let Some(file_name) = clean_file_name(&raw_name) else {
        return refuse(format!(
            "Der Dateiname „{}“ ist ungültig: bitte eine Datei mit einfachem Namen ohne Pfadangaben wie ../ wählen. Es wurde nichts gespeichert. / The file name is invalid: choose a file with a plain name, no path like ../. Nothing was stored.",
            raw_name.chars().take(200).collect::<String>()
        ));
    };
    let ext = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if !["csv", "txt", "tsv", "xlsx"].contains(&ext.as_str()) {
        return refuse(format!(
            "„{file_name}“ ist keine CSV- oder XLSX-Datei. Bitte den Export als CSV oder Excel-Arbeitsmappe (.xlsx) speichern. / Not a CSV or XLSX file."
        ));
    }
    if bytes.len() as u64 > limit {
        return refuse(too_large());
    }
    let kind: Option<Kind> = fields
        .get("kind")
        .filter(|k| !k.is_empty() && *k != "auto")
        .and_then(|k| k.parse().ok());
    let office = fields
        .get("office")
        .map(|o| o.trim().to_string())
        .filter(|o| !o.is_empty());
    if let Some(o) = &office
        && !session.user.may_edit(o)
    {
        return refuse(format!(
            "Sie dürfen nicht für „{o}“ hochladen. / You may not upload for {o}."
        ));
    }
    let st = state.clone();
    let user = session.user.clone();
    let staged = tokio::task::spawn_blocking(move || {
        let file = UploadedFile {
            file_name,
            bytes,
            kind,
            office,
        };
        stage(&st, &user, &remote, file, None)
    })
    .await;
    match staged {
        Ok(Ok(staged)) => staged_response(&state, &session, staged),
        Ok(Err(e)) => e.into_response(),
        Err(e) => internal(e).into_response(),
    }
}

/// An export as it came from the upload form.
#[derive(Clone)]
pub struct UploadedFile {
    pub file_name: String,
    pub bytes: Vec<u8>,
    pub kind: Option<Kind>,
    pub office: Option<String>,
}

/// Where an upload went: into a pending batch with its preview, back with its problems, or to
/// the form that maps unknown headers.
enum Staged {
    Preview(i64, minijinja::Value),
    Refused(RefusedUpload),
    NeedsMapping(mapping::PendingMapping),
}

/// Reads an upload and keeps it as a pending batch. Headers the built-in aliases do not know
/// are tried against the saved profiles of the user's offices; `mapped` is a profile just made
/// in the mapping form (saved for the office once it maps the headers).
fn stage(
    state: &Arc<AppState>,
    user: &crate::staff::accounts::User,
    remote: &str,
    file: UploadedFile,
    mapped: Option<(String, ingest::map::Profile)>,
) -> Result<Staged, WebError> {
    let opts = Options {
        kind: file.kind,
        office: file.office.clone(),
        profile: mapped.as_ref().map(|(_, p)| p.clone()),
        skip_invalid: false,
        max_bytes: state.settings.max_upload_bytes,
        today: None,
    };
    let mut read = ingest::read_upload(&file.bytes, &opts);
    if mapped.is_none()
        && matches!(read, Err(ingest::problem::UploadError::Headers(_)))
        && let Some((office, upload)) = mapping::try_saved_profiles(state, user, &file, &opts)?
    {
        read = upload.map(|mut u| {
            u.notices.push(ingest::Notice {
                de: format!("Die gespeicherte Spaltenzuordnung für „{office}“ wurde verwendet."),
                en: format!("The saved column mapping for \"{office}\" was used."),
            });
            u
        });
    }
    let file_name = file.file_name.clone();
    let mut upload = match read {
        Ok(u) => u,
        Err(ingest::problem::UploadError::Headers(e)) => {
            return Ok(Staged::NeedsMapping(mapping::PendingMapping::new(
                user,
                file,
                e.for_mapping_form(),
            )));
        }
        Err(e) => {
            if let Some((office, profile)) = &mapped {
                mapping::save(state, user, remote, office, profile)?;
            }
            let (problems, total) = match &e {
                ingest::problem::UploadError::Invalid { problems, total } => (
                    problems.iter().map(|p| p.render(Lang::De)).collect(),
                    *total,
                ),
                other => (vec![other.render(Lang::De)], 1),
            };
            return Ok(Staged::Refused(RefusedUpload {
                user: user.name.clone(),
                file_name: file_name.clone(),
                summary: format!(
                    "„{file_name}“ wurde nicht übernommen: {total} Problem(e). Bitte in der Datei korrigieren und erneut hochladen; es wurde nichts gespeichert."
                ),
                problems,
                total,
                at: std::time::Instant::now(),
            }));
        }
    };
    if let Some((office, profile)) = &mapped {
        mapping::save(state, user, remote, office, profile)?;
    }
    let cells: Vec<(String, i32)> = upload.parsed.partitions.keys().cloned().collect();
    if let Some((o, _)) = cells.iter().find(|(o, _)| !user.may_edit(o)) {
        return Ok(Staged::Refused(RefusedUpload {
            user: user.name.clone(),
            file_name: file_name.clone(),
            summary: format!(
                "„{file_name}“ wurde nicht übernommen: die Datei enthält Zeilen für „{o}“, für das Sie nicht hochladen dürfen. Es wurde nichts gespeichert."
            ),
            problems: Vec::new(),
            total: 0,
            at: std::time::Instant::now(),
        }));
    }
    let preview = preview(state, &upload, &file_name)?;
    let mut store = store(state)?;
    let batch = store
        .put_batch(
            &mut upload,
            &file.bytes,
            &Submission {
                file_name: &file_name,
                user: &user.name,
            },
        )
        .map_err(internal)?;
    drop(store);
    staff_db(state)?
        .audit(
            &user.name,
            "upload",
            &format!("batch {batch}: {file_name}, {} rows", upload.parsed.rows),
            remote,
        )
        .map_err(internal)?;
    Ok(Staged::Preview(batch, preview))
}

/// The page for a staged upload.
fn staged_response(state: &AppState, session: &Session, staged: Staged) -> Response {
    match staged {
        Staged::Preview(batch, preview) => page(
            state,
            "staff_preview.html",
            Some(session),
            minijinja::context! { title => "Vorschau", batch => batch, ..preview },
        ),
        Staged::Refused(refused_upload) => {
            let token = crate::staff::random_token();
            if let Ok(mut map) = state.refused.lock() {
                map.retain(|_, r| r.at.elapsed() < std::time::Duration::from_secs(3600));
                map.insert(token.clone(), refused_upload);
            }
            problems_page(state, session, &token, 1, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Staged::NeedsMapping(pending) => mapping::start(state, session, pending),
    }
}

fn problems_page(
    state: &AppState,
    session: &Session,
    token: &str,
    page_no: usize,
    status: StatusCode,
) -> Response {
    let found = state
        .refused
        .lock()
        .ok()
        .and_then(|m| m.get(token).cloned())
        .filter(|r| r.user == session.user.name);
    let Some(r) = found else {
        return message(
            state,
            Some(session),
            StatusCode::NOT_FOUND,
            "Nicht mehr vorhanden",
            "Diese Fehlerliste ist abgelaufen. Bitte die Datei noch einmal hochladen.",
        );
    };
    let pages = r.problems.len().div_ceil(PROBLEMS_PER_PAGE).max(1);
    let page_no = page_no.clamp(1, pages);
    let shown: Vec<String> = r
        .problems
        .iter()
        .skip((page_no - 1) * PROBLEMS_PER_PAGE)
        .take(PROBLEMS_PER_PAGE)
        .cloned()
        .collect();
    let mut resp = page(
        state,
        "staff_refused.html",
        Some(session),
        minijinja::context! {
            title => "Hochladen abgelehnt",
            summary => r.summary,
            problems => shown,
            total => r.total,
            listed => r.problems.len(),
            page => page_no,
            pages => pages,
            token => token,
            kinds => kinds(),
        },
    );
    *resp.status_mut() = status;
    resp
}

async fn refused_page(
    State(state): State<Arc<AppState>>,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let session = match need_session(&state, &headers) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let page_no = form_urlencoded(query.as_deref().unwrap_or(""))
        .get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1);
    problems_page(&state, &session, &token, page_no, StatusCode::OK)
}

/// The KPIs an upload will produce per office and month, beside what is published now.
fn preview(
    state: &AppState,
    upload: &ingest::Upload,
    file_name: &str,
) -> Result<minijinja::Value, WebError> {
    let kind = upload.kind;
    let months: Vec<i32> = upload.parsed.partitions.keys().map(|(_, m)| *m).collect();
    let (from, to) = (
        months.iter().min().copied().unwrap_or(0),
        months.iter().max().copied().unwrap_or(0),
    );
    let mut offices: Vec<String> = upload
        .parsed
        .partitions
        .keys()
        .map(|(o, _)| o.clone())
        .collect();
    offices.dedup();
    let store = store(state)?;
    let mut changes = Vec::new();
    let mut replaces = Vec::new();
    if kind != Kind::Services {
        let q = Query {
            from: Some(from),
            to: Some(to),
            min_cell: state.settings.min_cell,
            ..Query::new(kind, vec![Dim::Month, Dim::Office])
        };
        let targets = store.targets(kind).map_err(internal)?;
        let new = kpi::compute_from(
            Some(polars::prelude::IntoLazy::lazy(upload.parsed.frame.clone())),
            &q,
            &targets,
        )?;
        let now = kpi::compute(&store, &q)?;
        // The figures the overview shows for this kind (its dashboard file), else the first five.
        let (dashboards, _) = state.dashboards();
        let key_kpis: Vec<&str> = match dashboards.overview.tiles.iter().find(|t| t.kind == kind) {
            Some(t) => t.kpis.clone(),
            None => crate::kpi::definitions::for_kind(kind)
                .iter()
                .map(|d| d.name)
                .take(5)
                .collect(),
        };
        for row in &new.rows {
            let (Value::Text(month), Value::Text(office)) = (&row[0], &row[1]) else {
                continue;
            };
            let published = now.rows.iter().find(|r| r[0] == row[0] && r[1] == row[1]);
            if published.is_some() {
                replaces.push(format!("{office} {month}"));
            }
            for name in &key_kpis {
                let Some(i) = new.column(name) else { continue };
                let def = crate::kpi::definitions::find(name).map(|(_, d)| d);
                let unit = def
                    .map(|d| d.unit)
                    .unwrap_or(crate::kpi::definitions::Unit::Count);
                let before = published
                    .and_then(|p| now.column(name).map(|j| p[j].clone()))
                    .map(|v| super::format::value(&v, unit))
                    .unwrap_or_else(|| "–".into());
                let after = super::format::value(&row[i], unit);
                let changed = before != after;
                changes.push(minijinja::context! {
                    office => office,
                    month => month,
                    kpi => def.map(|d| d.label_de).unwrap_or(name),
                    before => before,
                    after => after.clone(),
                    changed => changed,
                });
            }
        }
    }
    Ok(minijinja::context! {
        file_name => file_name,
        kind => kind.as_str(),
        kind_title => super::kind_title(kind, Lang::De),
        rows => upload.parsed.rows,
        period => if from == to { crate::timefmt::format_month(from) } else { format!("{} bis {}", crate::timefmt::format_month(from), crate::timefmt::format_month(to)) },
        offices => offices,
        notices => upload.notices.iter().map(|n| n.de.clone()).collect::<Vec<_>>(),
        changes => changes,
        replaces => replaces,
    })
}

fn batch_id(id: &str) -> Result<i64, Response> {
    id.parse().map_err(|_| {
        refused(
            StatusCode::NOT_FOUND,
            "Diese Lieferung gibt es nicht / no such batch",
        )
    })
}

/// Whether the user may act on a batch: every office it covers is theirs.
fn may_touch(state: &AppState, session: &Session, batch: i64) -> Result<bool, WebError> {
    let cells = store(state)?.batch_cells(batch).map_err(internal)?;
    Ok(!cells.is_empty() && cells.iter().all(|(o, _, _)| session.user.may_edit(o)))
}

async fn submit(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Remote(remote): Remote,
    headers: HeaderMap,
    body: String,
) -> Response {
    let form = form_urlencoded(&body);
    let session = match need_form_session(&state, &headers, form.get("csrf")) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let id = match batch_id(&id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    match may_touch(&state, &session, id) {
        Ok(true) => {}
        Ok(false) => {
            return message(
                &state,
                Some(&session),
                StatusCode::FORBIDDEN,
                "Nicht erlaubt",
                "Diese Lieferung betrifft ein Amt, für das Sie nicht zuständig sind.",
            );
        }
        Err(e) => return e.into_response(),
    }
    let reason = form
        .get("reason")
        .map(|r| r.trim().to_string())
        .unwrap_or_default();
    // Replacing a published month needs a reason, checked before anything changes.
    let check = (|| -> Result<Result<(), String>, WebError> {
        let store = store(&state)?;
        let batch = store
            .batch(id)
            .map_err(internal)?
            .ok_or(WebError::NotFound)?;
        if batch.status != "pending" {
            return Ok(Err(format!(
                "Lieferung {id} ist nicht mehr offen ({}).",
                batch.status
            )));
        }
        let kind: Kind = batch
            .kind
            .parse()
            .map_err(|_| WebError::Internal("kind".into()))?;
        let cells: std::collections::BTreeMap<(String, i32), usize> = store
            .batch_cells(id)
            .map_err(internal)?
            .into_iter()
            .map(|(o, m, r)| ((o, m), r as usize))
            .collect();
        Ok(store
            .check_replace(
                kind,
                &cells,
                Some(reason.as_str()).filter(|r| !r.is_empty()),
            )
            .map_err(|e| e.to_string()))
    })();
    match check {
        Ok(Ok(())) => {}
        Ok(Err(text)) => {
            return message(
                &state,
                Some(&session),
                StatusCode::UNPROCESSABLE_ENTITY,
                "Nicht eingereicht",
                &text,
            );
        }
        Err(e) => return e.into_response(),
    }
    let done = staff_db(&state).and_then(|db| {
        db.submit(id, &session.user.name, &reason)
            .map_err(|e| WebError::BadRequest(e.to_string()))?;
        db.audit(
            &session.user.name,
            "submit",
            &format!("batch {id}; {reason}"),
            &remote,
        )
        .map_err(internal)
    });
    match done {
        Ok(()) => Redirect::to("/staff").into_response(),
        Err(WebError::BadRequest(text)) => message(
            &state,
            Some(&session),
            StatusCode::CONFLICT,
            "Nicht eingereicht",
            &text,
        ),
        Err(e) => e.into_response(),
    }
}

async fn approve(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Remote(remote): Remote,
    headers: HeaderMap,
    body: String,
) -> Response {
    let form = form_urlencoded(&body);
    let session = match need_form_session(&state, &headers, form.get("csrf")) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let id = match batch_id(&id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    if !session.user.may_publish() {
        return message(
            &state,
            Some(&session),
            StatusCode::FORBIDDEN,
            "Nicht erlaubt",
            "Freigeben dürfen nur Personen mit der Rolle publisher oder admin.",
        );
    }
    let review = match staff_db(&state).and_then(|db| db.review(id).map_err(internal)) {
        Ok(Some(r)) if r.state == "submitted" => r,
        Ok(_) => {
            return message(
                &state,
                Some(&session),
                StatusCode::CONFLICT,
                "Nicht freigegeben",
                "Diese Lieferung wartet nicht auf Freigabe.",
            );
        }
        Err(e) => return e.into_response(),
    };
    if review.submitted_by == session.user.name && !state.settings.allow_self_approval {
        return message(
            &state,
            Some(&session),
            StatusCode::FORBIDDEN,
            "Vier-Augen-Prinzip",
            "Eine eigene Lieferung kann nicht selbst freigegeben werden: eine zweite Person mit der Rolle publisher gibt sie frei.",
        );
    }
    let published = store(&state).and_then(|mut s| {
        s.publish(
            id,
            &session.user.name,
            Some(review.reason.as_str()).filter(|r| !r.is_empty()),
        )
        .map_err(|e| WebError::BadRequest(e.to_string()))
    });
    match published {
        Ok(revs) => {
            if let Ok(db) = staff_db(&state) {
                let _ = db.approved(id, &session.user.name);
                let _ = db.audit(
                    &session.user.name,
                    "approve",
                    &format!("batch {id}: {} revisions", revs.len()),
                    &remote,
                );
            }
            Redirect::to("/staff").into_response()
        }
        Err(WebError::BadRequest(text)) => message(
            &state,
            Some(&session),
            StatusCode::CONFLICT,
            "Nicht freigegeben",
            &text,
        ),
        Err(e) => e.into_response(),
    }
}

async fn reject(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Remote(remote): Remote,
    headers: HeaderMap,
    body: String,
) -> Response {
    let form = form_urlencoded(&body);
    let session = match need_form_session(&state, &headers, form.get("csrf")) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let id = match batch_id(&id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    if !session.user.may_publish() {
        return message(
            &state,
            Some(&session),
            StatusCode::FORBIDDEN,
            "Nicht erlaubt",
            "Ablehnen dürfen nur Personen mit der Rolle publisher oder admin.",
        );
    }
    let reason = form.get("reason").cloned().unwrap_or_default();
    let done = staff_db(&state).and_then(|mut db| {
        db.reject(id, &session.user.name, &reason)
            .map_err(|e| WebError::BadRequest(e.to_string()))?;
        db.audit(
            &session.user.name,
            "reject",
            &format!("batch {id}: {reason}"),
            &remote,
        )
        .map_err(internal)
    });
    match done {
        Ok(()) => Redirect::to("/staff").into_response(),
        Err(WebError::BadRequest(text)) => message(
            &state,
            Some(&session),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Nicht abgelehnt",
            &text,
        ),
        Err(e) => e.into_response(),
    }
}

async fn original(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Remote(remote): Remote,
    headers: HeaderMap,
) -> Response {
    let session = match need_session(&state, &headers) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let id = match batch_id(&id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    match may_touch(&state, &session, id) {
        Ok(true) => {}
        Ok(false) => {
            return message(
                &state,
                Some(&session),
                StatusCode::FORBIDDEN,
                "Nicht erlaubt",
                "Diese Lieferung betrifft ein Amt, für das Sie nicht zuständig sind.",
            );
        }
        Err(e) => return e.into_response(),
    }
    let found = store(&state).and_then(|s| {
        let b = s.batch(id).map_err(internal)?.ok_or(WebError::NotFound)?;
        Ok((b.file_name, s.original(id).map_err(internal)?))
    });
    match found {
        Ok((name, bytes)) => {
            if let Ok(db) = staff_db(&state) {
                let _ = db.audit(
                    &session.user.name,
                    "download original",
                    &format!("batch {id}"),
                    &remote,
                );
            }
            let ascii: String = name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            let mut r = bytes.into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{ascii}\"")) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => e.into_response(),
    }
}

async fn history(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let session = match need_session(&state, &headers) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let params = form_urlencoded(query.as_deref().unwrap_or(""));
    let kind: Kind = params
        .get("kind")
        .and_then(|k| k.parse().ok())
        .unwrap_or(Kind::Visits);
    let office = params.get("office").filter(|o| !o.is_empty()).cloned();
    if let Some(o) = &office
        && !session.user.may_edit(o)
    {
        return message(
            &state,
            Some(&session),
            StatusCode::FORBIDDEN,
            "Nicht erlaubt",
            "Für dieses Amt sind Sie nicht zuständig.",
        );
    }
    let month = params
        .get("month")
        .and_then(|m| crate::timefmt::parse_month_arg(m));
    let revisions = match store(&state)
        .and_then(|s| s.history(kind, office.as_deref(), month).map_err(internal))
    {
        Ok(r) => r
            .into_iter()
            .rev()
            .filter(|r| session.user.may_edit(&r.office))
            .map(|r| {
                let batch = store(&state)
                    .ok()
                    .and_then(|s| s.batch(r.batch_id).ok().flatten());
                minijinja::context! {
                    office => r.office,
                    month => crate::timefmt::format_month(r.month),
                    revision => r.revision,
                    batch_id => r.batch_id,
                    published_by => r.published_by,
                    published_at => r.published_at,
                    reason => r.reason,
                    rows => r.rows,
                    sha256 => batch.as_ref().map(|b| b.sha256.clone()),
                    file_name => batch.as_ref().map(|b| b.file_name.clone()),
                    uploaded_by => batch.as_ref().map(|b| b.uploaded_by.clone()),
                }
            })
            .collect::<Vec<_>>(),
        Err(e) => return e.into_response(),
    };
    page(
        &state,
        "staff_history.html",
        Some(&session),
        minijinja::context! {
            title => "Verlauf",
            kinds => kinds(),
            kind => kind.as_str(),
            office => office,
            month => month.map(crate::timefmt::format_month),
            revisions => revisions,
        },
    )
}

async fn rollback(
    State(state): State<Arc<AppState>>,
    Remote(remote): Remote,
    headers: HeaderMap,
    body: String,
) -> Response {
    let form = form_urlencoded(&body);
    let session = match need_form_session(&state, &headers, form.get("csrf")) {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !session.user.may_publish() {
        return message(
            &state,
            Some(&session),
            StatusCode::FORBIDDEN,
            "Nicht erlaubt",
            "Zurücksetzen dürfen nur Personen mit der Rolle publisher oder admin.",
        );
    }
    let kind: Option<Kind> = form.get("kind").and_then(|k| k.parse().ok());
    let office = form.get("office").cloned().unwrap_or_default();
    let month = form
        .get("month")
        .and_then(|m| crate::timefmt::parse_month_arg(m));
    let revision: Option<i64> = form.get("revision").and_then(|r| r.parse().ok());
    let reason = form
        .get("reason")
        .map(|r| r.trim().to_string())
        .unwrap_or_default();
    let (Some(kind), Some(month), Some(revision)) = (kind, month, revision) else {
        return message(
            &state,
            Some(&session),
            StatusCode::BAD_REQUEST,
            "Nicht zurückgesetzt",
            "Datenart, Monat und Revision fehlen.",
        );
    };
    if reason.is_empty() || !session.user.may_edit(&office) {
        return message(
            &state,
            Some(&session),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Nicht zurückgesetzt",
            "Bitte einen Grund angeben (er wird öffentlich gezeigt).",
        );
    }
    let done = store(&state).and_then(|mut s| {
        s.rollback(kind, &office, month, revision, &session.user.name, &reason)
            .map_err(|e| WebError::BadRequest(e.to_string()))
    });
    match done {
        Ok(rev) => {
            if let Ok(db) = staff_db(&state) {
                let _ = db.audit(
                    &session.user.name,
                    "rollback",
                    &format!(
                        "{kind}/{office}/{} to revision {revision} (now {}): {reason}",
                        crate::timefmt::format_month(month),
                        rev.revision
                    ),
                    &remote,
                );
            }
            Redirect::to(&format!(
                "/staff/history?kind={kind}&office={}&month={}",
                super::views::url_encode(&office),
                crate::timefmt::format_month(month)
            ))
            .into_response()
        }
        Err(WebError::BadRequest(text)) => message(
            &state,
            Some(&session),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Nicht zurückgesetzt",
            &text,
        ),
        Err(e) => e.into_response(),
    }
}

async fn add_note(
    State(state): State<Arc<AppState>>,
    Remote(remote): Remote,
    headers: HeaderMap,
    body: String,
) -> Response {
    let form = form_urlencoded(&body);
    let session = match need_form_session(&state, &headers, form.get("csrf")) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let office = form
        .get("office")
        .map(|o| o.trim().to_string())
        .unwrap_or_default();
    let month = form
        .get("month")
        .and_then(|m| crate::timefmt::parse_month_arg(m));
    let text = form
        .get("text")
        .map(|t| t.trim().to_string())
        .unwrap_or_default();
    if office.is_empty() || !session.user.may_edit(&office) {
        return message(
            &state,
            Some(&session),
            StatusCode::FORBIDDEN,
            "Nicht erlaubt",
            "Für dieses Amt sind Sie nicht zuständig.",
        );
    }
    let Some(month) = month else {
        return message(
            &state,
            Some(&session),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Kein Hinweis gespeichert",
            "Bitte den Monat als JJJJ-MM angeben, z. B. 2026-03.",
        );
    };
    if text.is_empty() || text.chars().count() > 500 {
        return message(
            &state,
            Some(&session),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Kein Hinweis gespeichert",
            "Der Hinweis muss 1 bis 500 Zeichen lang sein.",
        );
    }
    let done = store(&state).and_then(|s| {
        s.add_note(&office, month, &text, &session.user.name)
            .map_err(internal)
    });
    match done {
        Ok(()) => {
            if let Ok(db) = staff_db(&state) {
                let _ = db.audit(
                    &session.user.name,
                    "note",
                    &format!("{office} {}: {text}", crate::timefmt::format_month(month)),
                    &remote,
                );
            }
            Redirect::to("/staff").into_response()
        }
        Err(e) => e.into_response(),
    }
}

async fn add_notice(
    State(state): State<Arc<AppState>>,
    Remote(remote): Remote,
    headers: HeaderMap,
    body: String,
) -> Response {
    let form = form_urlencoded(&body);
    let session = match need_form_session(&state, &headers, form.get("csrf")) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let office = form
        .get("office")
        .map(|o| o.trim().to_string())
        .unwrap_or_default();
    let text = form
        .get("text")
        .map(|t| t.trim().to_string())
        .unwrap_or_default();
    let until = form
        .get("until")
        .map(|t| t.trim().to_string())
        .unwrap_or_default();
    if office.is_empty() || !session.user.may_edit(&office) {
        return message(
            &state,
            Some(&session),
            StatusCode::FORBIDDEN,
            "Nicht erlaubt",
            "Für dieses Amt sind Sie nicht zuständig.",
        );
    }
    if text.is_empty() || text.chars().count() > 300 {
        return message(
            &state,
            Some(&session),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Keine Mitteilung veröffentlicht",
            "Die Mitteilung muss 1 bis 300 Zeichen lang sein.",
        );
    }
    // `datetime-local` sends 2026-11-25T15:30; seconds are kept if given.
    let Ok(end) = chrono::NaiveDateTime::parse_from_str(&until, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(&until, "%Y-%m-%dT%H:%M:%S"))
    else {
        return message(
            &state,
            Some(&session),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Keine Mitteilung veröffentlicht",
            "Bitte das Ende als Datum und Uhrzeit angeben, z. B. 2026-11-25T15:30.",
        );
    };
    if end <= chrono::Local::now().naive_local() {
        return message(
            &state,
            Some(&session),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Keine Mitteilung veröffentlicht",
            "Das Ende liegt in der Vergangenheit.",
        );
    }
    let until = end.format("%Y-%m-%dT%H:%M:%S").to_string();
    match store(&state).and_then(|s| {
        s.add_notice(&office, &text, &until, &session.user.name)
            .map_err(internal)
    }) {
        Ok(id) => {
            if let Ok(db) = staff_db(&state) {
                let _ = db.audit(
                    &session.user.name,
                    "notice",
                    &format!("{id}: {office} until {until}: {text}"),
                    &remote,
                );
            }
            Redirect::to("/staff").into_response()
        }
        Err(e) => e.into_response(),
    }
}

async fn end_notice(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Remote(remote): Remote,
    headers: HeaderMap,
    body: String,
) -> Response {
    let form = form_urlencoded(&body);
    let session = match need_form_session(&state, &headers, form.get("csrf")) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<i64>() else {
        return refused(StatusCode::NOT_FOUND, "Diese Mitteilung gibt es nicht");
    };
    let found = store(&state).and_then(|s| {
        let n = s
            .current_notices(None)
            .map_err(internal)?
            .into_iter()
            .find(|n| n.0 == id);
        match n {
            Some(n) if session.user.may_edit(&n.1) => {
                s.end_notice(id).map(|_| true).map_err(internal)
            }
            _ => Ok(false),
        }
    });
    match found {
        Ok(true) => {
            if let Ok(db) = staff_db(&state) {
                let _ = db.audit(&session.user.name, "notice end", &id.to_string(), &remote);
            }
            Redirect::to("/staff").into_response()
        }
        Ok(false) => message(
            &state,
            Some(&session),
            StatusCode::NOT_FOUND,
            "Nicht gefunden",
            "Diese Mitteilung läuft nicht mehr oder betrifft ein anderes Amt.",
        ),
        Err(e) => e.into_response(),
    }
}

async fn password_form(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    match need_session(&state, &headers) {
        Ok(s) => page(
            &state,
            "staff_password.html",
            Some(&s),
            minijinja::context! { title => "Passwort ändern", min => crate::staff::accounts::MIN_PASSWORD },
        ),
        Err(r) => r,
    }
}

async fn change_password(
    State(state): State<Arc<AppState>>,
    Remote(remote): Remote,
    headers: HeaderMap,
    body: String,
) -> Response {
    let form = form_urlencoded(&body);
    let session = match need_form_session(&state, &headers, form.get("csrf")) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let (old, new, repeat) = (get("old"), get("new"), get("repeat"));
    if new != repeat {
        return message(
            &state,
            Some(&session),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Passwort nicht geändert",
            "Die beiden neuen Passwörter sind nicht gleich.",
        );
    }
    let st = state.clone();
    let name = session.user.name.clone();
    let result = tokio::task::spawn_blocking(move || -> Result<Result<(), String>, WebError> {
        let db = staff_db(&st)?;
        if db.verify(&name, &old).map_err(internal)?.is_none() {
            return Ok(Err("Das bisherige Passwort stimmt nicht.".into()));
        }
        match db.set_password(&name, &new) {
            Ok(()) => {
                db.audit(&name, "password change", "", &remote)
                    .map_err(internal)?;
                Ok(Ok(()))
            }
            Err(e) => Ok(Err(e.to_string())),
        }
    })
    .await;
    match result {
        // All sessions end with a new password: log in again.
        Ok(Ok(Ok(()))) => Redirect::to("/staff/login").into_response(),
        Ok(Ok(Err(text))) => message(
            &state,
            Some(&session),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Passwort nicht geändert",
            &text,
        ),
        Ok(Err(e)) => e.into_response(),
        Err(e) => internal(e).into_response(),
    }
}

async fn audit_log(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let session = match need_session(&state, &headers) {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !session.user.is_admin() {
        return message(
            &state,
            Some(&session),
            StatusCode::FORBIDDEN,
            "Nicht erlaubt",
            "Das Protokoll sehen nur Personen mit der Rolle admin.",
        );
    }
    let page_no: i64 = form_urlencoded(query.as_deref().unwrap_or(""))
        .get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1i64)
        .max(1);
    match staff_db(&state).and_then(|db| db.audit_log(100, (page_no - 1) * 100).map_err(internal)) {
        Ok(entries) => page(
            &state,
            "staff_audit.html",
            Some(&session),
            minijinja::context! { title => "Protokoll", entries => minijinja::Value::from(minijinja::value::Serde(&entries)), page => page_no, more => entries.len() == 100 },
        ),
        Err(e) => e.into_response(),
    }
}

/// Admins only; everyone else gets a refusal page.
fn need_admin(state: &AppState, session: &Session) -> Result<(), Response> {
    if session.user.is_admin() {
        Ok(())
    } else {
        Err(message(
            state,
            Some(session),
            StatusCode::FORBIDDEN,
            "Nicht erlaubt",
            "Benutzer und Ziele verwalten nur Personen mit der Rolle admin.",
        ))
    }
}

async fn admin(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let session = match need_session(&state, &headers) {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(r) = need_admin(&state, &session) {
        return r;
    }
    let users = match staff_db(&state).and_then(|db| db.users().map_err(internal)) {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    let mut targets = Vec::new();
    let mut kpis = Vec::new();
    for kind in [Kind::Visits, Kind::Cases, Kind::Contacts, Kind::Digital] {
        match store(&state).and_then(|s| s.targets(kind).map_err(internal)) {
            Ok(t) => targets.extend(t.into_iter().map(|t| {
                minijinja::context! { kind => kind.as_str(), office => t.office, kpi => t.kpi, value => t.value, direction => t.direction }
            })),
            Err(e) => return e.into_response(),
        }
        for d in crate::kpi::definitions::for_kind(kind) {
            kpis.push(minijinja::context! { value => format!("{kind}:{}", d.name), label => format!("{} ({kind}: {})", d.label_de, d.name) });
        }
        if kind == Kind::Visits {
            kpis.push(minijinja::context! { value => format!("visits:{}", crate::kpi::visits::WAIT_TARGET_KPI), label => "Zielwartezeit in Minuten für „Anteil innerhalb der Zielwartezeit“ (visits: wait_target_min)".to_string() });
        }
    }
    let st = state.clone();
    let offices = tokio::task::spawn_blocking(move || {
        store(&st).and_then(|s| super::views::offices(&s).map_err(WebError::from))
    })
    .await;
    let offices: Vec<String> = match offices {
        Ok(Ok(o)) => o.into_iter().map(|(o, _)| o).collect(),
        Ok(Err(e)) => return e.into_response(),
        Err(e) => return internal(e).into_response(),
    };
    page(
        &state,
        "staff_admin.html",
        Some(&session),
        minijinja::context! {
            title => "Benutzer und Ziele",
            users => users.iter().map(|u| minijinja::context! {
                name => u.name.clone(),
                url => super::views::url_encode(&u.name),
                role => u.role.as_str(),
                offices => u.offices.clone(),
                disabled => u.disabled,
            }).collect::<Vec<_>>(),
            offices_size => offices.len().clamp(2, 6),
            targets => targets,
            kpis => kpis,
            offices => offices,
            min => crate::staff::accounts::MIN_PASSWORD,
        },
    )
}

async fn admin_add_user(
    State(state): State<Arc<AppState>>,
    Remote(remote): Remote,
    headers: HeaderMap,
    body: String,
) -> Response {
    let pairs = form_pairs(&body);
    let form: HashMap<String, String> = pairs.iter().cloned().collect();
    let session = match need_form_session(&state, &headers, form.get("csrf")) {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(r) = need_admin(&state, &session) {
        return r;
    }
    let offices: Vec<String> = pairs
        .iter()
        .filter(|(k, v)| k == "offices" && !v.is_empty())
        .map(|(_, v)| v.clone())
        .collect();
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let st = state.clone();
    let (name, role, password) = (get("name"), get("role"), get("password"));
    let by = session.user.name.clone();
    let result = tokio::task::spawn_blocking(move || -> Result<Result<(), String>, WebError> {
        let db = staff_db(&st)?;
        let role: crate::staff::accounts::Role = match role.parse() {
            Ok(r) => r,
            Err(e) => return Ok(Err(format!("{e}"))),
        };
        match db.add_user(&name, role, &offices, &password) {
            Ok(u) => {
                db.audit(
                    &by,
                    "user add",
                    &format!("{} ({})", u.name, role.as_str()),
                    &remote,
                )
                .map_err(internal)?;
                Ok(Ok(()))
            }
            Err(e) => Ok(Err(e.to_string())),
        }
    })
    .await;
    match result {
        Ok(Ok(Ok(()))) => Redirect::to("/staff/admin").into_response(),
        Ok(Ok(Err(text))) => message(
            &state,
            Some(&session),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Nicht angelegt",
            &text,
        ),
        Ok(Err(e)) => e.into_response(),
        Err(e) => internal(e).into_response(),
    }
}

/// `a=1&b=2&b=3` as pairs in order (a multi-select sends one pair per choice).
fn form_pairs(body: &str) -> Vec<(String, String)> {
    body.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let one = form_urlencoded(p);
            one.into_iter().next().unwrap_or_default()
        })
        .collect()
}

async fn admin_change_user(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    Remote(remote): Remote,
    headers: HeaderMap,
    body: String,
) -> Response {
    let form = form_urlencoded(&body);
    let session = match need_form_session(&state, &headers, form.get("csrf")) {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(r) = need_admin(&state, &session) {
        return r;
    }
    let action = form.get("action").cloned().unwrap_or_default();
    if name == session.user.name && action == "disable" {
        return message(
            &state,
            Some(&session),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Nicht gesperrt",
            "Sie können sich nicht selbst sperren.",
        );
    }
    let password = form.get("password").cloned().unwrap_or_default();
    let st = state.clone();
    let by = session.user.name.clone();
    let result = tokio::task::spawn_blocking(move || -> Result<Result<(), String>, WebError> {
        let db = staff_db(&st)?;
        let done = match action.as_str() {
            "disable" => db.set_disabled(&name, true),
            "enable" => db.set_disabled(&name, false),
            "password" => db.set_password(&name, &password),
            _ => return Ok(Err("Unbekannte Aktion.".into())),
        };
        match done {
            Ok(()) => {
                db.audit(&by, &format!("user {action}"), &name, &remote)
                    .map_err(internal)?;
                Ok(Ok(()))
            }
            Err(e) => Ok(Err(e.to_string())),
        }
    })
    .await;
    match result {
        Ok(Ok(Ok(()))) => Redirect::to("/staff/admin").into_response(),
        Ok(Ok(Err(text))) => message(
            &state,
            Some(&session),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Nicht geändert",
            &text,
        ),
        Ok(Err(e)) => e.into_response(),
        Err(e) => internal(e).into_response(),
    }
}

async fn admin_set_target(
    State(state): State<Arc<AppState>>,
    Remote(remote): Remote,
    headers: HeaderMap,
    body: String,
) -> Response {
    let form = form_urlencoded(&body);
    let session = match need_form_session(&state, &headers, form.get("csrf")) {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(r) = need_admin(&state, &session) {
        return r;
    }
    let fail = |text: &str| {
        message(
            &state,
            Some(&session),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Ziel nicht gespeichert",
            text,
        )
    };
    let office = form
        .get("office")
        .map(|o| o.trim().to_string())
        .unwrap_or_default();
    let Some((kind, kpi)) = form.get("kpi").and_then(|k| k.split_once(':')) else {
        return fail("Bitte eine Kennzahl wählen.");
    };
    let Ok(kind) = kind.parse::<Kind>() else {
        return fail("Unbekannte Datenart.");
    };
    let known = kpi == crate::kpi::visits::WAIT_TARGET_KPI
        || crate::kpi::definitions::for_kind(kind)
            .iter()
            .any(|d| d.name == kpi);
    let value: Option<f64> = form
        .get("value")
        .and_then(|v| v.trim().replace(',', ".").parse().ok())
        .filter(|v: &f64| v.is_finite() && *v >= 0.0);
    let direction = form.get("direction").map(String::as_str).unwrap_or("lower");
    if !known || office.is_empty() {
        return fail("Bitte Amt und Kennzahl angeben.");
    }
    let Some(value) = value else {
        return fail(
            "Der Zielwert muss eine Zahl ab 0 sein, z. B. 20 (Minuten) oder 0,8 (für 80 %).",
        );
    };
    if direction != "lower" && direction != "higher" {
        return fail("Richtung: niedriger oder höher ist besser.");
    }
    let target = crate::store::catalog::Target {
        office: office.clone(),
        kpi: kpi.to_string(),
        value,
        direction: direction.to_string(),
    };
    match store(&state).and_then(|s| s.set_target(kind, &target).map_err(internal)) {
        Ok(()) => {
            if let Ok(db) = staff_db(&state) {
                let _ = db.audit(
                    &session.user.name,
                    "target",
                    &format!("{kind}/{office}/{kpi} = {value} ({direction})"),
                    &remote,
                );
            }
            Redirect::to("/staff/admin").into_response()
        }
        Err(e) => e.into_response(),
    }
}
