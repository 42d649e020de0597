//! Every revision of a kind, office and month, the original files, and rollback.

use super::*;

/// `GET /staff/batches/{id}/original`: the uploaded file byte for byte, for staff of every
/// office it covers.
pub(super) async fn original(
    State(state): State<Arc<AppState>>,
    BatchId(id): BatchId,
    Remote(remote): Remote,
    StaffPage(session, pl): StaffPage,
) -> Response {
    if let Err(r) = need_batch_access(&state, &pl, &session, id) {
        return r;
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

/// `GET /staff/history?kind=…&office=…&month=…`: every revision of a cell with its batch.
pub(super) async fn history(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    StaffPage(session, pl): StaffPage,
) -> Response {
    let params = form_urlencoded(query.as_deref().unwrap_or(""));
    let kind: Kind = params
        .get("kind")
        .and_then(|k| k.parse().ok())
        .unwrap_or(Kind::Visits);
    let office = params.get("office").filter(|o| !o.is_empty()).cloned();
    if let Some(o) = &office
        && !session.user.may_edit(o)
    {
        return forbidden(
            &state,
            &pl,
            &session,
            pl.pick(
                "Für dieses Amt sind Sie nicht zuständig.",
                "You are not responsible for this office.",
            ),
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
        &pl,
        "staff_history.html",
        Some(&session),
        minijinja::context! {
            title => pl.pick("Verlauf", "History"),
            kinds => kinds(pl.lang),
            kind => kind.as_str(),
            office => office,
            month => month.map(crate::timefmt::format_month),
            revisions => revisions,
        },
    )
}

/// `POST /staff/rollback`: publishes an earlier revision's batch again, with a reason
/// (publishers of that office).
pub(super) async fn rollback(
    State(state): State<Arc<AppState>>,
    Remote(remote): Remote,
    StaffForm {
        session,
        form,
        lang: pl,
        ..
    }: StaffForm,
) -> Response {
    if let Err(r) = need_publisher(&state, &pl, &session, ("Zurücksetzen", "roll back")) {
        return r;
    }
    let not_rolled_back = pl.pick("Nicht zurückgesetzt", "Not rolled back");
    let kind: Option<Kind> = form.get("kind").and_then(|k| k.parse().ok());
    let office = form.get("office").cloned().unwrap_or_default();
    let month = form
        .get("month")
        .and_then(|m| crate::timefmt::parse_month_arg(m));
    let revision: Option<i64> = form.get("revision").and_then(|r| r.parse().ok());
    let reason = field(&form, "reason");
    let (Some(kind), Some(month), Some(revision)) = (kind, month, revision) else {
        return message(
            &state,
            &pl,
            Some(&session),
            StatusCode::BAD_REQUEST,
            not_rolled_back,
            pl.pick(
                "Datenart, Monat und Revision fehlen.",
                "The kind of data, the month and the revision are missing.",
            ),
        );
    };
    if !session.user.may_edit(&office) {
        return forbidden(
            &state,
            &pl,
            &session,
            pl.pick(
                "Für dieses Amt sind Sie nicht zuständig: zurücksetzen dürfen nur Personen mit der Rolle publisher für dieses Amt.",
                "You are not responsible for this office: only people with the role publisher for this office may roll it back.",
            ),
        );
    }
    if reason.is_empty() {
        return unprocessable(
            &state,
            &pl,
            &session,
            not_rolled_back,
            pl.pick(
                "Bitte einen Grund angeben (er wird öffentlich gezeigt).",
                "Please give a reason (it is shown publicly).",
            ),
        );
    }
    let done = store(&state).and_then(|mut s| {
        s.rollback(kind, &office, month, revision, &session.user.name, &reason)
            .map_err(|e| WebError::BadRequest(store_error_text(&e, pl.lang)))
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
                crate::present::views::url_encode(&office),
                crate::timefmt::format_month(month)
            ))
            .into_response()
        }
        Err(WebError::BadRequest(text)) => {
            unprocessable(&state, &pl, &session, not_rolled_back, &text)
        }
        Err(e) => e.into_response(),
    }
}
