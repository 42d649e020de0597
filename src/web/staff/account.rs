//! Logging in and out (with the login brake and a fresh session each time), and changing one's
//! own password.

use super::*;

/// `GET /staff/login`: the login form, bound to a token in its own cookie (a logged-in user
/// goes on to `/staff`).
pub(super) async fn login_form(
    State(state): State<Arc<AppState>>,
    pl: PageLang,
    headers: HeaderMap,
) -> Response {
    if let Ok(Some(_)) = current(&state, &headers) {
        return Redirect::to("/staff").into_response();
    }
    let token = crate::staff::random_token();
    let mut r = page(
        &state,
        &pl,
        "staff_login.html",
        None,
        minijinja::context! { title => pl.pick("Anmelden", "Log in"), login_token => token.clone() },
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

/// The login page again with `error`, answered with `status`.
fn login_again(
    state: &AppState,
    pl: &PageLang,
    headers: &HeaderMap,
    status: StatusCode,
    error: &str,
    name: Option<&str>,
) -> Response {
    let token = cookie(headers, LOGIN_COOKIE).unwrap_or_default();
    let mut r = page(
        state,
        &pl.at("/staff/login"),
        "staff_login.html",
        None,
        minijinja::context! { title => pl.pick("Anmelden", "Log in"), login_token => token, error => error, name => name },
    );
    *r.status_mut() = status;
    r
}

/// "in 5 Sekunden" / "in 5 seconds", minutes from two minutes on.
fn wait_text(secs: i64) -> (String, String) {
    match secs {
        1 => ("1 Sekunde".into(), "1 second".into()),
        s if s < 120 => (format!("{s} Sekunden"), format!("{s} seconds")),
        s => {
            let m = (s + 59) / 60;
            (format!("{m} Minuten"), format!("{m} minutes"))
        }
    }
}

/// `POST /staff/login`: checks the password behind the login brake and starts a fresh
/// session (a session id never survives a login). The form is small and so is what is read
/// of it; a name or password no account can have is refused before anything is counted or
/// logged. A try the brake holds back is answered with the wait (and `Retry-After`) without
/// checking the password, so waiting cannot be skipped by guessing faster.
pub(super) async fn login(
    State(state): State<Arc<AppState>>,
    Remote(remote): Remote,
    pl: PageLang,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let Ok(bytes) = axum::body::to_bytes(body, LOGIN_LIMIT).await else {
        return refused(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Das Anmeldeformular ist zu groß. / The login form is too large.",
        );
    };
    let form = form_urlencoded(&String::from_utf8_lossy(&bytes));
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
    use crate::staff::accounts::{MAX_NAME, MAX_PASSWORD_BYTES};
    if name.trim().chars().count() > MAX_NAME {
        let text = match pl.lang {
            Lang::De => format!("Der Name ist zu lang: Namen haben höchstens {MAX_NAME} Zeichen."),
            Lang::En => format!("The name is too long: names have at most {MAX_NAME} characters."),
        };
        return login_again(&state, &pl, &headers, StatusCode::BAD_REQUEST, &text, None);
    }
    if password.len() > MAX_PASSWORD_BYTES {
        let text = match pl.lang {
            Lang::De => format!("Das Passwort ist zu lang: höchstens {MAX_PASSWORD_BYTES} Bytes."),
            Lang::En => format!("The password is too long: at most {MAX_PASSWORD_BYTES} bytes."),
        };
        return login_again(
            &state,
            &pl,
            &headers,
            StatusCode::BAD_REQUEST,
            &text,
            Some(name),
        );
    }
    let st = state.clone();
    let (name, password) = (name.clone(), password.clone());
    let result =
        tokio::task::spawn_blocking(move || -> Result<Result<(String, String), i64>, WebError> {
            let db = staff_db(&st)?;
            let wait = db.login_wait(&name, &remote).map_err(internal)?;
            if wait > 0 {
                if db.login_braked(&name, &remote).map_err(internal)? {
                    db.audit(
                        &name,
                        "login refused (throttled)",
                        &format!(
                            "{wait} s; weitere abgewiesene Versuche bis zum nächsten Fehlversuch nicht einzeln / further refused tries until the next failure not logged"
                        ),
                        &remote,
                    )
                    .map_err(internal)?;
                }
                return Ok(Err(wait));
            }
            match db.verify(&name, &password).map_err(internal)? {
                Some(user) => {
                    db.login_succeeded(&name, &remote).map_err(internal)?;
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
        Ok(Ok(Err(wait))) if wait > 0 => {
            let (de, en) = wait_text(wait);
            let text = match pl.lang {
                Lang::De => format!(
                    "Zu viele Fehlversuche. Bitte in {de} erneut versuchen; das Passwort wurde nicht geprüft."
                ),
                Lang::En => format!(
                    "Too many failed attempts. Please try again in {en}; the password was not checked."
                ),
            };
            let mut r = login_again(
                &state,
                &pl,
                &headers,
                StatusCode::TOO_MANY_REQUESTS,
                &text,
                form.get("name").map(String::as_str),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(wait));
            r
        }
        Ok(Ok(Err(_))) => login_again(
            &state,
            &pl,
            &headers,
            StatusCode::UNAUTHORIZED,
            pl.pick(
                "Name oder Passwort stimmen nicht.",
                "The name or the password is wrong.",
            ),
            form.get("name").map(String::as_str),
        ),
        Ok(Err(e)) => e.into_response(),
        Err(e) => internal(e).into_response(),
    }
}

/// `POST /staff/logout`: ends the session and clears its cookie.
pub(super) async fn logout(
    State(state): State<Arc<AppState>>,
    Remote(remote): Remote,
    headers: HeaderMap,
    StaffForm { session, .. }: StaffForm,
) -> Response {
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

/// `GET /staff/password`: the form to change one's own password.
pub(super) async fn password_form(
    State(state): State<Arc<AppState>>,
    StaffPage(session, pl): StaffPage,
) -> Response {
    page(
        &state,
        &pl,
        "staff_password.html",
        Some(&session),
        minijinja::context! { title => pl.pick("Passwort ändern", "Change password"), min => crate::staff::accounts::MIN_PASSWORD },
    )
}

/// `POST /staff/password`: needs the current password (behind the login brake); the change
/// ends every session of the user, this one included.
pub(super) async fn change_password(
    State(state): State<Arc<AppState>>,
    Remote(remote): Remote,
    StaffForm {
        session,
        form,
        lang: pl,
        ..
    }: StaffForm,
) -> Response {
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let (old, new, repeat) = (get("old"), get("new"), get("repeat"));
    let not_changed = pl.pick("Passwort nicht geändert", "Password not changed");
    if new != repeat {
        return unprocessable(
            &state,
            &pl,
            &session,
            not_changed,
            pl.pick(
                "Die beiden neuen Passwörter sind nicht gleich.",
                "The two new passwords are not the same.",
            ),
        );
    }
    let st = state.clone();
    let name = session.user.name.clone();
    let lang = pl.lang;
    let result = tokio::task::spawn_blocking(move || -> Result<Result<(), String>, WebError> {
        let db = staff_db(&st)?;
        // The current password is asked for here too: the same brake as at the login, so a
        // session left open is no way to guess it.
        let wait = db.login_wait(&name, &remote).map_err(internal)?;
        if wait > 0 {
            let (de, en) = wait_text(wait);
            return Ok(Err(match lang {
                Lang::De => format!("Zu viele Fehlversuche. Bitte in {de} erneut versuchen."),
                Lang::En => format!("Too many failed attempts. Please try again in {en}."),
            }));
        }
        if db.verify(&name, &old).map_err(internal)?.is_none() {
            db.login_failed(&name, &remote).map_err(internal)?;
            db.audit(&name, "password change failed", "", &remote)
                .map_err(internal)?;
            return Ok(Err(lang
                .pick(
                    "Das bisherige Passwort stimmt nicht.",
                    "The current password is wrong.",
                )
                .into()));
        }
        match db.set_password(&name, &new) {
            Ok(()) => {
                db.audit(&name, "password change", "", &remote)
                    .map_err(internal)?;
                Ok(Ok(()))
            }
            Err(e) => Ok(Err(staff_error_text(&e, lang))),
        }
    })
    .await;
    match result {
        // All sessions end with a new password: log in again.
        Ok(Ok(Ok(()))) => Redirect::to("/staff/login").into_response(),
        Ok(Ok(Err(text))) => unprocessable(&state, &pl, &session, not_changed, &text),
        Ok(Err(e)) => e.into_response(),
        Err(e) => internal(e).into_response(),
    }
}
