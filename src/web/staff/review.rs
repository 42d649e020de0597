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
    StaffForm { session, form, .. }: StaffForm,
) -> Response {
    if let Err(r) = need_batch_access(&state, &session, id) {
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
            &session,
            "Nur wer die Datei hochgeladen hat (oder eine Person mit der Rolle admin), kann sie zur Freigabe einreichen. / Only the uploader (or an admin) can submit an upload.",
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
                &batch.part,
                &cells,
                Some(reason.as_str()).filter(|r| !r.is_empty()),
            )
            .map_err(|e| e.to_string()))
    })();
    match check {
        Ok(Ok(())) => {}
        Ok(Err(text)) => {
            return unprocessable(&state, &session, "Nicht eingereicht", &text);
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

/// `POST /staff/batches/{id}/approve`: a publisher of every office the batch covers, neither
/// its uploader nor its submitter (unless self-approval is allowed), publishes the batch.
pub(super) async fn approve(
    State(state): State<Arc<AppState>>,
    BatchId(id): BatchId,
    Remote(remote): Remote,
    StaffForm { session, .. }: StaffForm,
) -> Response {
    if let Err(r) = need_publisher(&state, &session, "Freigeben") {
        return r;
    }
    if let Err(r) = need_batch_access(&state, &session, id) {
        return r;
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
    if !review.may_be_approved_by(&session.user.name, state.settings.allow_self_approval) {
        return message(
            &state,
            Some(&session),
            StatusCode::FORBIDDEN,
            "Vier-Augen-Prinzip",
            "Eine Lieferung, die Sie hochgeladen oder eingereicht haben, kann nicht von Ihnen freigegeben werden: eine zweite Person mit der Rolle publisher gibt sie frei. / You uploaded or submitted this batch: a second publisher approves it.",
        );
    }
    let published = store(&state).and_then(|mut s| {
        s.approve_and_publish(
            id,
            &session.user.name,
            Some(review.reason.as_str()).filter(|r| !r.is_empty()),
        )
        .map_err(|e| WebError::BadRequest(e.to_string()))
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
            Some(&session),
            StatusCode::CONFLICT,
            "Nicht freigegeben",
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
    StaffForm { session, form, .. }: StaffForm,
) -> Response {
    if let Err(r) = need_publisher(&state, &session, "Ablehnen") {
        return r;
    }
    if let Err(r) = need_batch_access(&state, &session, id) {
        return r;
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
        Err(WebError::BadRequest(text)) => {
            unprocessable(&state, &session, "Nicht abgelehnt", &text)
        }
        Err(e) => e.into_response(),
    }
}
