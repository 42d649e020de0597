//! Notes on an office's month (shown on the public charts and tables) and current notices with
//! an end time.

use super::*;

/// `POST /staff/notes`: a note on an office's month, shown on the public charts and tables.
pub(super) async fn add_note(
    State(state): State<Arc<AppState>>,
    Remote(remote): Remote,
    StaffForm {
        session,
        form,
        lang: pl,
        ..
    }: StaffForm,
) -> Response {
    let office = field(&form, "office");
    let month = form
        .get("month")
        .and_then(|m| crate::timefmt::parse_month_arg(m));
    let text = field(&form, "text");
    if office.is_empty() || !session.user.may_edit(&office) {
        return forbidden(&state, &pl, &session, not_yours(&pl));
    }
    let not_saved = pl.pick("Kein Hinweis gespeichert", "No note saved");
    let Some(month) = month else {
        return unprocessable(
            &state,
            &pl,
            &session,
            not_saved,
            pl.pick(
                "Bitte den Monat als JJJJ-MM angeben, z. B. 2026-03.",
                "Please give the month as YYYY-MM, for example 2026-03.",
            ),
        );
    };
    if text.is_empty() || text.chars().count() > 500 {
        return unprocessable(
            &state,
            &pl,
            &session,
            not_saved,
            pl.pick(
                "Der Hinweis muss 1 bis 500 Zeichen lang sein.",
                "The note must be 1 to 500 characters long.",
            ),
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

/// The refusal for an office the user is not responsible for.
fn not_yours(pl: &PageLang) -> &'static str {
    pl.pick(
        "Für dieses Amt sind Sie nicht zuständig.",
        "You are not responsible for this office.",
    )
}

/// `POST /staff/notices`: a current notice for an office, shown until its end time.
pub(super) async fn add_notice(
    State(state): State<Arc<AppState>>,
    Remote(remote): Remote,
    StaffForm {
        session,
        form,
        lang: pl,
        ..
    }: StaffForm,
) -> Response {
    let office = field(&form, "office");
    let text = field(&form, "text");
    let until = field(&form, "until");
    if office.is_empty() || !session.user.may_edit(&office) {
        return forbidden(&state, &pl, &session, not_yours(&pl));
    }
    let not_published = pl.pick("Keine Mitteilung veröffentlicht", "No notice published");
    if text.is_empty() || text.chars().count() > 300 {
        return unprocessable(
            &state,
            &pl,
            &session,
            not_published,
            pl.pick(
                "Die Mitteilung muss 1 bis 300 Zeichen lang sein.",
                "The notice must be 1 to 300 characters long.",
            ),
        );
    }
    // `datetime-local` sends 2026-11-25T15:30; seconds are kept if given.
    let Ok(end) = chrono::NaiveDateTime::parse_from_str(&until, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(&until, "%Y-%m-%dT%H:%M:%S"))
    else {
        return unprocessable(
            &state,
            &pl,
            &session,
            not_published,
            pl.pick(
                "Bitte das Ende als Datum und Uhrzeit angeben, z. B. 2026-11-25T15:30.",
                "Please give the end as a date and time, for example 2026-11-25T15:30.",
            ),
        );
    };
    if end <= chrono::Local::now().naive_local() {
        return unprocessable(
            &state,
            &pl,
            &session,
            not_published,
            pl.pick(
                "Das Ende liegt in der Vergangenheit.",
                "The end lies in the past.",
            ),
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
    StaffForm {
        session, lang: pl, ..
    }: StaffForm,
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
            &pl,
            Some(&session),
            StatusCode::NOT_FOUND,
            pl.pick("Nicht gefunden", "Not found"),
            pl.pick(
                "Diese Mitteilung läuft nicht mehr oder betrifft ein anderes Amt.",
                "This notice is no longer running or concerns another office.",
            ),
        ),
        Err(e) => e.into_response(),
    }
}
