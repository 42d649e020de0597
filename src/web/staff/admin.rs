//! What only admins do: users, targets, and reading the audit log.

use super::*;

/// Audit entries a page.
const AUDIT_PAGE: i64 = 100;

/// `GET /staff/audit[?before=ID|?after=ID]`: the audit log, newest first, 100 entries a page
/// (admins). Pages are cut at entry ids, so entries logged meanwhile never shift the next
/// page, and reading an old page costs no more than the first.
pub(super) async fn audit_log(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    StaffPage(session, pl): StaffPage,
) -> Response {
    use crate::staff::audit::AuditPage;
    if !session.user.is_admin() {
        return forbidden(
            &state,
            &pl,
            &session,
            pl.pick(
                "Das Protokoll sehen nur Personen mit der Rolle admin.",
                "Only people with the role admin see the audit log.",
            ),
        );
    }
    let params = form_urlencoded(query.as_deref().unwrap_or(""));
    let id = |k: &str| params.get(k).and_then(|v| v.parse::<i64>().ok());
    let wanted = match (id("before"), id("after")) {
        (Some(b), _) => AuditPage::Before(b),
        (None, Some(a)) => AuditPage::After(a),
        _ => AuditPage::Newest,
    };
    let st = state.clone();
    let found = tokio::task::spawn_blocking(move || {
        staff_db(&st).and_then(|db| db.audit_page(wanted, AUDIT_PAGE).map_err(internal))
    })
    .await
    .map_err(internal);
    match found {
        Ok(Ok(p)) => page(
            &state,
            &pl,
            "staff_audit.html",
            Some(&session),
            minijinja::context! {
                title => pl.pick("Protokoll", "Audit log"),
                entries => minijinja::Value::from(minijinja::value::Serde(&p.entries)),
                newest => wanted == AuditPage::Newest,
                newer => p.newer.then(|| p.entries.first().map(|e| e.id)).flatten(),
                older => p.older.then(|| p.entries.last().map(|e| e.id)).flatten(),
                back_to_newest => p.newer || (p.entries.is_empty() && wanted != AuditPage::Newest),
            },
        ),
        Ok(Err(e)) | Err(e) => e.into_response(),
    }
}

/// Admins only; everyone else gets a refusal page.
pub(super) fn need_admin(
    state: &AppState,
    pl: &PageLang,
    session: &Session,
) -> Result<(), Response> {
    if session.user.is_admin() {
        Ok(())
    } else {
        Err(forbidden(
            state,
            pl,
            session,
            pl.pick(
                "Benutzer und Ziele verwalten nur Personen mit der Rolle admin.",
                "Only people with the role admin manage users and targets.",
            ),
        ))
    }
}

/// `GET /staff/admin`: users and targets (admins).
pub(super) async fn admin(
    State(state): State<Arc<AppState>>,
    StaffPage(session, pl): StaffPage,
) -> Response {
    if let Err(r) = need_admin(&state, &pl, &session) {
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
            kpis.push(minijinja::context! { value => format!("{kind}:{}", d.name), label => format!("{} ({kind}: {})", pl.pick(d.label_de, d.label_en), d.name) });
        }
        if kind == Kind::Visits {
            let label = pl.pick(
                "Zielwartezeit in Minuten für „Anteil innerhalb der Zielwartezeit“",
                "Target wait in minutes for \"share within the target wait\"",
            );
            kpis.push(minijinja::context! { value => format!("visits:{}", crate::kpi::visits::WAIT_TARGET_KPI), label => format!("{label} (visits: wait_target_min)") });
        }
        if kind == Kind::Contacts {
            let label = pl.pick(
                "Zielannahmezeit in Sekunden für den Servicelevel",
                "Target answer time in seconds for the service level",
            );
            kpis.push(minijinja::context! { value => format!("contacts:{}", crate::kpi::contacts::ANSWER_TARGET_KPI), label => format!("{label} (contacts: answer_target_s)") });
        }
    }
    let offices = match known_offices(&state).await {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    page(
        &state,
        &pl,
        "staff_admin.html",
        Some(&session),
        minijinja::context! {
            title => pl.pick("Benutzer und Ziele", "Users and targets"),
            users => users.iter().map(|u| minijinja::context! {
                name => u.name.clone(),
                url => crate::present::views::url_encode(&u.name),
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

/// `POST /staff/admin/users`: a new user with role, offices (none = all) and first password.
pub(super) async fn admin_add_user(
    State(state): State<Arc<AppState>>,
    Remote(remote): Remote,
    StaffForm {
        session,
        form,
        pairs,
        lang: pl,
    }: StaffForm,
) -> Response {
    if let Err(r) = need_admin(&state, &pl, &session) {
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
    let lang = pl.lang;
    run_action(
        &state,
        &pl,
        &session,
        "/staff/admin",
        pl.pick("Nicht angelegt", "Not added"),
        move || {
            let db = staff_db(&st)?;
            let role: crate::staff::accounts::Role = match role.parse() {
                Ok(r) => r,
                Err(e) => return Ok(Err(staff_error_text(&e, lang))),
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
                Err(e) => Ok(Err(staff_error_text(&e, lang))),
            }
        },
    )
    .await
}

/// `POST /staff/admin/users/{name}`: disable, enable, or set a password (admins cannot
/// disable themselves).
pub(super) async fn admin_change_user(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    Remote(remote): Remote,
    StaffForm {
        session,
        form,
        lang: pl,
        ..
    }: StaffForm,
) -> Response {
    if let Err(r) = need_admin(&state, &pl, &session) {
        return r;
    }
    let action = form.get("action").cloned().unwrap_or_default();
    if name == session.user.name && action == "disable" {
        return unprocessable(
            &state,
            &pl,
            &session,
            pl.pick("Nicht gesperrt", "Not disabled"),
            pl.pick(
                "Sie können sich nicht selbst sperren.",
                "You cannot disable yourself.",
            ),
        );
    }
    let password = form.get("password").cloned().unwrap_or_default();
    let st = state.clone();
    let by = session.user.name.clone();
    let lang = pl.lang;
    run_action(
        &state,
        &pl,
        &session,
        "/staff/admin",
        pl.pick("Nicht geändert", "Not changed"),
        move || {
            let db = staff_db(&st)?;
            let done = match action.as_str() {
                "disable" => db.set_disabled(&name, true),
                "enable" => db.set_disabled(&name, false),
                "password" => db.set_password(&name, &password),
                _ => {
                    return Ok(Err(lang
                        .pick("Unbekannte Aktion.", "Unknown action.")
                        .into()));
                }
            };
            match done {
                Ok(()) => {
                    db.audit(&by, &format!("user {action}"), &name, &remote)
                        .map_err(internal)?;
                    Ok(Ok(()))
                }
                Err(e) => Ok(Err(staff_error_text(&e, lang))),
            }
        },
    )
    .await
}

/// `POST /staff/admin/targets`: sets or changes a target; the public pages show it at once.
pub(super) async fn admin_set_target(
    State(state): State<Arc<AppState>>,
    Remote(remote): Remote,
    StaffForm {
        session,
        form,
        lang: pl,
        ..
    }: StaffForm,
) -> Response {
    if let Err(r) = need_admin(&state, &pl, &session) {
        return r;
    }
    let title = pl.pick("Ziel nicht gespeichert", "Target not saved");
    let fail = |de: &str, en: &str| unprocessable(&state, &pl, &session, title, pl.pick(de, en));
    let office = field(&form, "office");
    let Some((kind, kpi)) = form.get("kpi").and_then(|k| k.split_once(':')) else {
        return fail("Bitte eine Kennzahl wählen.", "Please choose a figure.");
    };
    let Ok(kind) = kind.parse::<Kind>() else {
        return fail("Unbekannte Datenart.", "Unknown kind of data.");
    };
    let known = crate::kpi::takes_target(kind, kpi);
    let value: Option<f64> = form
        .get("value")
        .and_then(|v| v.trim().replace(',', ".").parse().ok())
        .filter(|v: &f64| v.is_finite() && *v >= 0.0);
    let direction = form.get("direction").map(String::as_str).unwrap_or("lower");
    if !known || office.is_empty() {
        return fail(
            "Bitte Amt und Kennzahl angeben.",
            "Please give the office and the figure.",
        );
    }
    let Some(value) = value else {
        return fail(
            "Der Zielwert muss eine Zahl ab 0 sein, z. B. 20 (Minuten) oder 0,8 (für 80 %).",
            "The target must be a number from 0 on, for example 20 (minutes) or 0.8 (for 80 %).",
        );
    };
    if direction != "lower" && direction != "higher" {
        return fail(
            "Richtung: niedriger oder höher ist besser.",
            "Direction: lower or higher is better.",
        );
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
