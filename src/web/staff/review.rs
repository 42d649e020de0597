//! Four eyes: the uploader submits (with a reason when published months are replaced), a
//! publisher of the batch's offices who neither uploaded nor submitted it approves or rejects.

use super::*;

/// `POST /staff/batches/{id}/submit`: the uploader (or an admin) hands a pending batch to
/// review (with a reason when it replaces published months). Nobody else: whoever submits
/// is one of the four eyes.
pub(super) async fn submit(
    State(state): State<Arc<AppState>>,
    BatchId(id): BatchId,
    Remote(remote): Remote,
    StaffForm {
        session,
        form,
        lang: pl,
        ..
    }: StaffForm,
) -> Response {
    if let Err(r) = need_batch_access(&state, &pl, &session, id) {
        return r;
    }
    let uploader = match store(&state).and_then(|s| s.batch(id).map_err(internal)) {
        Ok(Some(b)) => b.uploaded_by,
        Ok(None) => return WebError::NotFound.into_response(),
        Err(e) => return e.into_response(),
    };
    if !crate::staff::reviews::may_submit(&uploader, &session.user) {
        return forbidden(
            &state,
            &pl,
            &session,
            pl.pick(
                "Nur wer die Datei hochgeladen hat (oder eine Person mit der Rolle admin), kann sie zur Freigabe einreichen.",
                "Only the person who uploaded the file (or a person with the role admin) can submit it for approval.",
            ),
        );
    }
    let reason = field(&form, "reason");
    // Replacing a published month needs a reason, checked before anything changes.
    let check = (|| -> Result<Result<(), String>, WebError> {
        let store = store(&state)?;
        let batch = store
            .batch(id)
            .map_err(internal)?
            .ok_or(WebError::NotFound)?;
        if batch.status != "pending" {
            return Ok(Err(match pl.lang {
                Lang::De => format!("Lieferung {id} ist nicht mehr offen ({}).", batch.status),
                Lang::En => format!("Batch {id} is no longer open ({}).", batch.status),
            }));
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
                &batch.part,
                &cells,
                Some(reason.as_str()).filter(|r| !r.is_empty()),
            )
            .map_err(|e| store_error_text(&e, pl.lang)))
    })();
    let not_submitted = pl.pick("Nicht eingereicht", "Not submitted");
    match check {
        Ok(Ok(())) => {}
        Ok(Err(text)) => {
            return unprocessable(&state, &pl, &session, not_submitted, &text);
        }
        Err(e) => return e.into_response(),
    }
    let done = staff_db(&state).and_then(|db| {
        db.submit(id, &session.user.name, &reason)
            .map_err(|e| WebError::BadRequest(staff_error_text(&e, pl.lang)))?;
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
            &pl,
            Some(&session),
            StatusCode::CONFLICT,
            not_submitted,
            &text,
        ),
        Err(e) => e.into_response(),
    }
}

/// `POST /staff/batches/{id}/approve`: a publisher of every office the batch covers, neither
/// its uploader nor its submitter (unless self-approval is allowed), publishes the batch.
pub(super) async fn approve(
    State(state): State<Arc<AppState>>,
    BatchId(id): BatchId,
    Remote(remote): Remote,
    StaffForm {
        session, lang: pl, ..
    }: StaffForm,
) -> Response {
    if let Err(r) = need_publisher(&state, &pl, &session, ("Freigeben", "approve")) {
        return r;
    }
    if let Err(r) = need_batch_access(&state, &pl, &session, id) {
        return r;
    }
    let not_approved = pl.pick("Nicht freigegeben", "Not approved");
    let review = match staff_db(&state).and_then(|db| db.review(id).map_err(internal)) {
        Ok(Some(r)) if r.state == "submitted" => r,
        Ok(_) => {
            return message(
                &state,
                &pl,
                Some(&session),
                StatusCode::CONFLICT,
                not_approved,
                pl.pick(
                    "Diese Lieferung wartet nicht auf Freigabe.",
                    "This batch is not waiting for approval.",
                ),
            );
        }
        Err(e) => return e.into_response(),
    };
    if !review.may_be_approved_by(&session.user.name, state.settings.allow_self_approval) {
        return message(
            &state,
            &pl,
            Some(&session),
            StatusCode::FORBIDDEN,
            pl.pick("Vier-Augen-Prinzip", "Four-eyes principle"),
            pl.pick(
                "Eine Lieferung, die Sie hochgeladen oder eingereicht haben, kann nicht von Ihnen freigegeben werden: eine zweite Person mit der Rolle publisher gibt sie frei.",
                "You cannot approve a batch that you uploaded or submitted yourself: a second person with the role publisher approves it.",
            ),
        );
    }
    let published = store(&state).and_then(|mut s| {
        s.approve_and_publish(
            id,
            &session.user.name,
            Some(review.reason.as_str()).filter(|r| !r.is_empty()),
        )
        .map_err(|e| WebError::BadRequest(store_error_text(&e, pl.lang)))
    });
    match published {
        Ok(revs) => {
            if let Ok(db) = staff_db(&state) {
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
            &pl,
            Some(&session),
            StatusCode::CONFLICT,
            not_approved,
            &text,
        ),
        Err(e) => e.into_response(),
    }
}

/// `POST /staff/batches/{id}/reject`: a publisher of every office the batch covers refuses it
/// with a reason the uploader sees.
pub(super) async fn reject(
    State(state): State<Arc<AppState>>,
    BatchId(id): BatchId,
    Remote(remote): Remote,
    StaffForm {
        session,
        form,
        lang: pl,
        ..
    }: StaffForm,
) -> Response {
    if let Err(r) = need_publisher(&state, &pl, &session, ("Ablehnen", "reject")) {
        return r;
    }
    if let Err(r) = need_batch_access(&state, &pl, &session, id) {
        return r;
    }
    let reason = form.get("reason").cloned().unwrap_or_default();
    let done = staff_db(&state).and_then(|mut db| {
        db.reject(id, &session.user.name, &reason)
            .map_err(|e| WebError::BadRequest(staff_error_text(&e, pl.lang)))?;
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
        Err(WebError::BadRequest(text)) => unprocessable(
            &state,
            &pl,
            &session,
            pl.pick("Nicht abgelehnt", "Not rejected"),
            &text,
        ),
        Err(e) => e.into_response(),
    }
}
