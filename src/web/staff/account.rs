//! Logging in and out (with the login brake and a fresh session each time), and changing one's
//! own password.

use super::*;

/// `GET /staff/login`: the login form, bound to a token in its own cookie (a logged-in user
/// goes on to `/staff`).
pub(super) async fn login_form(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
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

/// `POST /staff/login`: checks the password behind the login brake and starts a fresh
/// session (a session id never survives a login).
pub(super) async fn login(
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
    StaffPage(session): StaffPage,
) -> Response {
    page(
        &state,
        "staff_password.html",
        Some(&session),
        minijinja::context! { title => "Passwort ändern", min => crate::staff::accounts::MIN_PASSWORD },
    )
}

/// `POST /staff/password`: needs the current password; the change ends every session of the
/// user, this one included.
pub(super) async fn change_password(
    State(state): State<Arc<AppState>>,
    Remote(remote): Remote,
    StaffForm { session, form, .. }: StaffForm,
) -> Response {
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let (old, new, repeat) = (get("old"), get("new"), get("repeat"));
    if new != repeat {
        return unprocessable(
            &state,
            &session,
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
        Ok(Ok(Err(text))) => unprocessable(&state, &session, "Passwort nicht geändert", &text),
        Ok(Err(e)) => e.into_response(),
        Err(e) => internal(e).into_response(),
    }
}
