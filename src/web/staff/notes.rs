//! Notes on an office's month (shown on the public charts and tables) and current notices with
//! an end time.

use super::*;

/// `POST /staff/notes`: a note on an office's month, shown on the public charts and tables.
pub(super) async fn add_note(
    State(state): State<Arc<AppState>>,
    Remote(remote): Remote,
    StaffForm { session, form, .. }: StaffForm,
) -> Response {
    let office = field(&form, "office");
    let month = form
        .get("month")
        .and_then(|m| crate::timefmt::parse_month_arg(m));
    let text = field(&form, "text");
    if office.is_empty() || !session.user.may_edit(&office) {
        return forbidden(&state, &session, "Für dieses Amt sind Sie nicht zuständig.");
    }
    let Some(month) = month else {
        return unprocessable(
            &state,
            &session,
            "Kein Hinweis gespeichert",
            "Bitte den Monat als JJJJ-MM angeben, z. B. 2026-03.",
        );
    };
    if text.is_empty() || text.chars().count() > 500 {
        return unprocessable(
            &state,
            &session,
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

/// `POST /staff/notices`: a current notice for an office, shown until its end time.
pub(super) async fn add_notice(
    State(state): State<Arc<AppState>>,
    Remote(remote): Remote,
    StaffForm { session, form, .. }: StaffForm,
) -> Response {
    let office = field(&form, "office");
    let text = field(&form, "text");
    let until = field(&form, "until");
    if office.is_empty() || !session.user.may_edit(&office) {
        return forbidden(&state, &session, "Für dieses Amt sind Sie nicht zuständig.");
    }
    if text.is_empty() || text.chars().count() > 300 {
        return unprocessable(
            &state,
            &session,
            "Keine Mitteilung veröffentlicht",
            "Die Mitteilung muss 1 bis 300 Zeichen lang sein.",
        );
    }
    // `datetime-local` sends 2026-11-25T15:30; seconds are kept if given.
    let Ok(end) = chrono::NaiveDateTime::parse_from_str(&until, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(&until, "%Y-%m-%dT%H:%M:%S"))
    else {
        return unprocessable(
            &state,
            &session,
            "Keine Mitteilung veröffentlicht",
            "Bitte das Ende als Datum und Uhrzeit angeben, z. B. 2026-11-25T15:30.",
        );
    };
    if end <= chrono::Local::now().naive_local() {
        return unprocessable(
            &state,
            &session,
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

/// `POST /staff/notices/{id}/end`: ends a notice before its time.
pub(super) async fn end_notice(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Remote(remote): Remote,
    StaffForm { session, .. }: StaffForm,
) -> Response {
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
