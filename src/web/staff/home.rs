//! The staff home page: the upload form, uploads waiting for review, one's own submissions,
//! current notices.

use super::*;

/// The kinds staff upload, for the form.
pub(super) fn kinds(lang: Lang) -> Vec<minijinja::Value> {
    Kind::ALL
        .iter()
        .map(|k| minijinja::context! { kind => k.as_str(), title => crate::web::pages::kind_title(*k, lang) })
        .collect()
}

/// `GET /staff`: the start page. Publishers see the uploads waiting for the offices they are
/// responsible for (all, for publishers without offices), and no approve button on uploads
/// they uploaded or submitted themselves.
pub(super) async fn home(
    State(state): State<Arc<AppState>>,
    StaffPage(session, pl): StaffPage,
) -> Response {
    let reviews = match staff_db(&state).and_then(|db| db.reviews(false).map_err(internal)) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let me = session.user.name.as_str();
    let mine: Vec<_> = reviews
        .iter()
        .filter(|r| r.uploaded_by == me || r.submitted_by == me)
        .take(20)
        .cloned()
        .collect();
    let allow_self = state.settings.allow_self_approval;
    let waiting: Vec<minijinja::Value> = reviews
        .iter()
        .filter(|r| r.state == "submitted" && r.concerns(&session.user))
        .map(|r| {
            minijinja::context! {
                may_decide => r.may_be_approved_by(me, allow_self),
                ..minijinja::Value::from(minijinja::value::Serde(r))
            }
        })
        .collect();
    let offices: Vec<String> = match known_offices(&state).await {
        Ok(o) => o.into_iter().filter(|o| session.user.may_edit(o)).collect(),
        Err(e) => return e.into_response(),
    };
    let notices: Vec<minijinja::Value> = match store(&state).and_then(|s| s.current_notices(None).map_err(internal)) {
        Ok(n) => n
            .into_iter()
            .filter(|n| session.user.may_edit(&n.1))
            .map(|(id, office, text, until)| minijinja::context! { id => id, office => office, text => text, until => crate::present::format::until_text(&until, pl.lang) })
            .collect(),
        Err(e) => return e.into_response(),
    };
    page(
        &state,
        &pl,
        "staff_home.html",
        Some(&session),
        minijinja::context! {
            title => pl.pick("Arbeitsbereich", "Staff area"),
            notices => notices,
            kinds => kinds(pl.lang),
            offices => offices,
            mine => minijinja::Value::from(minijinja::value::Serde(&mine)),
            waiting => waiting,
            max_mb => state.settings.max_upload_bytes / (1 << 20),
        },
    )
}
