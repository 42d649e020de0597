//! The form that maps an export's unknown headers to canonical columns (or drops them). What
//! staff choose is saved as the office's mapping profile and used on its next upload without
//! asking again, the same profile `kennzahl import --profile` reads from a file.
//!
//! A profile decides how an office's files are read, so it belongs to offices its author is
//! responsible for: an editor's to their office, a profile for files that name their offices
//! themselves ("mehrere Ämter", tried for everyone) only to someone responsible for all
//! offices. And it is saved only with an upload it read and that was stored.

use super::*;
use crate::ingest::map::{self, Profile};
use crate::rows::parse::DateFormat;
use crate::staff::accounts::User;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long an upload waits for its mapping, and how many wait per user and in all (they
/// hold the file): a user's newest few, never pushed out by a colleague's uploads.
const KEEP: Duration = Duration::from_secs(3600);
const PENDING_PER_USER: usize = 3;
const MAX_PENDING: usize = 24;

/// An upload whose headers were not all recognised, kept while staff map them.
pub struct PendingMapping {
    user: String,
    file: UploadedFile,
    /// Why the headers were not enough, as the reader said it.
    reason: String,
    /// The header row found for each kind the form asked about: the file is decoded once
    /// per kind, not at every step of the form.
    guesses: Mutex<Vec<(Option<Kind>, ingest::HeaderGuess)>>,
    at: Instant,
}

impl PendingMapping {
    /// Keeps an upload for the form, with the header row the import found (for its kind).
    pub(super) fn new(
        user: &User,
        file: UploadedFile,
        reason: String,
        guess: Option<ingest::HeaderGuess>,
    ) -> Self {
        let guesses = guess.map(|g| vec![(file.kind, g)]).unwrap_or_default();
        PendingMapping {
            user: user.name.clone(),
            file,
            reason,
            guesses: Mutex::new(guesses),
            at: Instant::now(),
        }
    }
}

/// Keeps an upload for mapping and shows the form.
pub(super) async fn start(
    state: &Arc<AppState>,
    session: &Session,
    pending: PendingMapping,
) -> Response {
    let pending = Arc::new(pending);
    let token = crate::staff::random_token();
    if let Ok(mut map) = state.mappings.lock() {
        make_room(
            &mut map,
            &pending.user,
            KEEP,
            PENDING_PER_USER,
            MAX_PENDING,
            |p| (p.user.as_str(), p.at),
        );
        map.insert(token.clone(), Arc::clone(&pending));
    }
    let kind = pending.file.kind;
    render(
        state,
        session,
        &token,
        &pending,
        kind,
        None,
        Vec::new(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

/// The user's upload waiting under `token` (shared, not copied: it holds the file).
fn pending(
    state: &AppState,
    session: &Session,
    token: &str,
) -> Result<Arc<PendingMapping>, Response> {
    state
        .mappings
        .lock()
        .ok()
        .and_then(|m| m.get(token).cloned())
        .filter(|p| p.user == session.user.name && p.at.elapsed() < KEEP)
        .ok_or_else(|| {
            message(
                state,
                Some(session),
                StatusCode::NOT_FOUND,
                "Nicht mehr vorhanden",
                "Diese Zuordnung ist abgelaufen. Bitte die Datei noch einmal hochladen.",
            )
        })
}

/// The offices the user may choose: their own, or every office with data.
async fn offices(state: &Arc<AppState>, user: &User) -> Result<Vec<String>, WebError> {
    if user.offices.is_empty() {
        known_offices(state).await
    } else {
        Ok(user.offices.clone())
    }
}

/// "arrived_at oder date + arrived" for each group of required columns.
fn required_text(kind: Kind) -> Vec<String> {
    kind.required()
        .iter()
        .map(|alternatives| {
            alternatives
                .iter()
                .map(|a| a.replace('+', " + "))
                .collect::<Vec<_>>()
                .join(" oder ")
        })
        .collect()
}

/// The mapping form: each header of the file with a value from its first row and a choice
/// of canonical column; `chosen` keeps what was sent when the form comes back with problems.
#[allow(clippy::too_many_arguments)]
async fn render(
    state: &Arc<AppState>,
    session: &Session,
    token: &str,
    pending: &Arc<PendingMapping>,
    kind: Option<Kind>,
    chosen: Option<&HashMap<String, String>>,
    problems: Vec<String>,
    status: StatusCode,
) -> Response {
    let guess = match guess_headers(pending, kind).await {
        Ok(g) => g,
        Err(e) => {
            return message(
                state,
                Some(session),
                StatusCode::UNPROCESSABLE_ENTITY,
                "Hochladen abgelehnt",
                &e.render(Lang::De),
            );
        }
    };
    let kind = kind.or(guess.kind);
    let columns: Vec<minijinja::Value> = guess
        .headers
        .iter()
        .enumerate()
        .filter(|(_, h)| !h.trim().is_empty())
        .map(|(i, h)| {
            let selected = match chosen.and_then(|c| c.get(&format!("c{i}"))) {
                Some(v) => v.clone(),
                None => kind
                    .and_then(|k| map::recognise(k, h))
                    .map(str::to_string)
                    .or_else(|| map::is_personal(h).then(|| "drop".to_string()))
                    .unwrap_or_default(),
            };
            let options: Vec<minijinja::Value> = kind
                .map(|k| k.columns())
                .unwrap_or_default()
                .iter()
                .map(|c| {
                    minijinja::context! {
                        value => c.name,
                        label => format!("{}: {}", c.name, c.help),
                        selected => c.name == selected,
                    }
                })
                .collect();
            minijinja::context! {
                field => format!("c{i}"),
                position => i + 1,
                header => h,
                sample => guess.samples.get(i).cloned().unwrap_or_default(),
                personal => map::is_personal(h),
                options => options,
                dropped => selected == "drop",
                unchosen => selected.is_empty(),
            }
        })
        .collect();
    let offices = match offices(state, &session.user).await {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    let office = chosen
        .and_then(|c| c.get("office").cloned())
        .or_else(|| pending.file.office.clone())
        .unwrap_or_default();
    let mut resp = page(
        state,
        "staff_mapping.html",
        Some(session),
        minijinja::context! {
            title => "Spalten zuordnen",
            token => token,
            file_name => pending.file.file_name.clone(),
            reason => pending.reason.clone(),
            header_line => guess.line,
            kind => kind.map(Kind::as_str),
            kind_title => kind.map(|k| crate::web::pages::kind_title(k, Lang::De)),
            kinds => kinds(),
            required => kind.map(required_text).unwrap_or_default(),
            columns => columns,
            offices => offices,
            office => office,
            date_format => chosen.and_then(|c| c.get("date_format").cloned()).unwrap_or_default(),
            empty => chosen.and_then(|c| c.get("empty").cloned()).unwrap_or_default(),
            values => chosen.and_then(|c| c.get("values").cloned()).unwrap_or_default(),
            all_offices => session.user.offices.is_empty(),
            problems => problems,
        },
    );
    *resp.status_mut() = status;
    resp
}

/// `GET /staff/mapping/{token}[?kind=…]`: the form again, for another kind if asked.
pub(super) async fn form(
    State(state): State<Arc<AppState>>,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
    StaffPage(session): StaffPage,
) -> Response {
    let pending = match pending(&state, &session, &token) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let kind = form_urlencoded(query.as_deref().unwrap_or(""))
        .get("kind")
        .and_then(|k| k.parse::<Kind>().ok())
        .or(pending.file.kind);
    render(
        &state,
        &session,
        &token,
        &pending,
        kind,
        None,
        Vec::new(),
        StatusCode::OK,
    )
    .await
}

/// Finds the header row of a waiting upload off the async threads: reading a file of
/// megabytes must not hold up the pages everyone else is asking for.
async fn guess_headers(
    pending: &Arc<PendingMapping>,
    kind: Option<Kind>,
) -> Result<ingest::HeaderGuess, ingest::problem::UploadError> {
    let known = pending.guesses.lock().ok().and_then(|g| {
        g.iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, guess)| guess.clone())
    });
    if let Some(guess) = known {
        return Ok(guess);
    }
    let pending = Arc::clone(pending);
    tokio::task::spawn_blocking(move || {
        let guess = ingest::guess_headers(&pending.file.bytes, kind)?;
        if let Ok(mut g) = pending.guesses.lock() {
            g.push((kind, guess.clone()));
        }
        Ok(guess)
    })
    .await
    .unwrap_or(Err(ingest::problem::UploadError::NoRows))
}

/// What the form says, checked: every problem at once, or the profile and the office it is
/// saved for ("" for an export that names its offices itself).
async fn profile_from_form(
    pending: &Arc<PendingMapping>,
    kind: Kind,
    office: Option<&str>,
    form: &HashMap<String, String>,
) -> Result<Profile, Vec<String>> {
    let guess = guess_headers(pending, Some(kind))
        .await
        .map_err(|e| vec![e.render(Lang::De)])?;
    let mut problems = Vec::new();
    let mut columns: BTreeMap<String, String> = BTreeMap::new();
    let mut drop = Vec::new();
    for (i, header) in guess.headers.iter().enumerate() {
        if header.trim().is_empty() {
            continue;
        }
        let position = i + 1;
        match form.get(&format!("c{i}")).map(String::as_str).unwrap_or("") {
            "" => problems.push(format!(
                "Spalte {position} „{header}“: bitte eine Spalte wählen oder „nicht übernehmen“."
            )),
            "drop" => drop.push(header.clone()),
            name => match kind.columns().iter().find(|c| c.name == name) {
                Some(c) => {
                    if let Some(first) = columns.get(c.name) {
                        problems.push(format!(
                            "Spalte {position} „{header}“: „{}“ ist schon „{first}“ zugeordnet; jede Spalte nur einmal.",
                            c.name
                        ));
                    } else {
                        columns.insert(c.name.to_string(), header.clone());
                    }
                }
                None => problems.push(format!(
                    "Spalte {position} „{header}“: „{name}“ ist keine Spalte dieser Datenart."
                )),
            },
        }
    }
    let date_format = form
        .get("date_format")
        .map(|f| f.trim())
        .filter(|f| !f.is_empty());
    if let Some(f) = date_format
        && let Err(e) = DateFormat::new(f)
    {
        let de = e.split(" / ").next().unwrap_or(&e);
        problems.push(format!("Datumsformat: {de}."));
    }
    let empty = match empty_values(form.get("empty").map(String::as_str).unwrap_or("")) {
        Ok(v) => v,
        Err(p) => {
            problems.push(p);
            Vec::new()
        }
    };
    let values = match code_mapping(form.get("values").map(String::as_str).unwrap_or(""), kind) {
        Ok(v) => v,
        Err(mut p) => {
            problems.append(&mut p);
            BTreeMap::new()
        }
    };
    let has = |n: &str| columns.contains_key(n);
    for missing in kind.missing_columns(&has, office.is_some()) {
        let text = if missing == "office" {
            "Es fehlt das Amt: bitte oben ein Amt wählen oder eine Spalte „office“ zuordnen."
                .to_string()
        } else {
            let help = kind
                .columns()
                .iter()
                .find(|c| c.name == missing.split('+').next().unwrap_or(missing))
                .map(|c| c.help)
                .unwrap_or("");
            format!("Es fehlt eine Zuordnung für „{missing}“ ({help}).")
        };
        problems.push(text);
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Profile {
        kind: Some(kind.as_str().to_string()),
        office: office.filter(|_| !has("office")).map(str::to_string),
        date_format: date_format.map(str::to_string),
        drop,
        empty,
        columns,
        values,
    })
}

/// Per canonical column: canonical value → the export's codes (a profile's `values`).
type CodeMapping = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// Most lines of the form's code mapping, and the longest code.
const MAX_CODE_LINES: usize = 20;
const MAX_CODE_CHARS: usize = 40;

/// The form's code mapping, one line per column: `outcome: answered = AGENT, OK; ignore =
/// PHANTOM` (the export's codes for each canonical value; `ignore` leaves the rows out).
/// Every mistake is listed.
fn code_mapping(text: &str, kind: Kind) -> Result<CodeMapping, Vec<String>> {
    let mut out: CodeMapping = BTreeMap::new();
    let mut problems = Vec::new();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.len() > MAX_CODE_LINES {
        return Err(vec![format!("Codes: höchstens {MAX_CODE_LINES} Zeilen.")]);
    }
    for (i, line) in lines.iter().enumerate() {
        let n = i + 1;
        let Some((column, rest)) = line.split_once(':') else {
            problems.push(format!(
                "Codes, Zeile {n}: bitte „Spalte: Wert = Code, Code; …“ schreiben, z. B. „outcome: answered = AGENT; abandoned = HANG“."
            ));
            continue;
        };
        let column = column.trim();
        if !kind.columns().iter().any(|c| c.name == column) {
            problems.push(format!(
                "Codes, Zeile {n}: „{column}“ ist keine Spalte dieser Datenart."
            ));
            continue;
        }
        let table = out.entry(column.to_string()).or_default();
        for pair in rest.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((value, codes)) = pair.split_once('=') else {
                problems.push(format!(
                    "Codes, Zeile {n}: „{pair}“ hat kein „=“; bitte „Wert = Code, Code“ schreiben."
                ));
                continue;
            };
            let codes: Vec<String> = codes
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect();
            if codes.is_empty() || codes.iter().any(|c| c.chars().count() > MAX_CODE_CHARS) {
                problems.push(format!(
                    "Codes, Zeile {n}: für „{}“ bitte einen oder mehrere Codes (je höchstens {MAX_CODE_CHARS} Zeichen) nennen.",
                    value.trim()
                ));
                continue;
            }
            table
                .entry(value.trim().to_string())
                .or_default()
                .extend(codes);
        }
    }
    if problems.is_empty() {
        let check = Profile {
            values: out.clone(),
            ..Profile::default()
        };
        if let Err(e) = check.check_values(kind) {
            problems.push(format!("Codes: {}", e.render(Lang::De)));
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// Most values the form takes as meaning "no value", and their longest.
const MAX_EMPTY_VALUES: usize = 20;
const MAX_EMPTY_VALUE_CHARS: usize = 40;

/// The form's "values meaning no value", separated by commas: trimmed, each once.
fn empty_values(text: &str) -> Result<Vec<String>, String> {
    let mut values: Vec<String> = Vec::new();
    for v in text.split(',').map(str::trim).filter(|v| !v.is_empty()) {
        if v.chars().count() > MAX_EMPTY_VALUE_CHARS {
            return Err(format!(
                "Leere Werte: „{v}“ ist länger als {MAX_EMPTY_VALUE_CHARS} Zeichen."
            ));
        }
        if !values.iter().any(|x| x == v) {
            values.push(v.to_string());
        }
    }
    if values.len() > MAX_EMPTY_VALUES {
        return Err(format!(
            "Leere Werte: höchstens {MAX_EMPTY_VALUES}, durch Komma getrennt."
        ));
    }
    Ok(values)
}

/// `POST /staff/mapping/{token}`: checks the mapping, reads the upload with it and goes on
/// like any upload (preview or problems); the mapping is saved as the office's profile only
/// when the upload is stored.
pub(super) async fn apply(
    State(state): State<Arc<AppState>>,
    Path(token): Path<String>,
    Remote(remote): Remote,
    StaffForm { session, form, .. }: StaffForm,
) -> Response {
    let pending = match pending(&state, &session, &token) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some(kind) = form.get("kind").and_then(|k| k.parse::<Kind>().ok()) else {
        return render(
            &state,
            &session,
            &token,
            &pending,
            None,
            Some(&form),
            vec!["Bitte zuerst die Datenart wählen.".into()],
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let chosen = form
        .get("office")
        .map(|o| o.trim())
        .filter(|o| !o.is_empty());
    if let Some(o) = chosen
        && !session.user.may_edit(o)
    {
        return forbidden(
            &state,
            &session,
            &format!("Sie dürfen nicht für „{o}“ hochladen."),
        );
    }
    // Without an office the profile would be one for files naming their offices, tried for
    // everyone: only for those responsible for all offices. An editor of one office gets it
    // bound to that office; of several, chooses.
    let office: Option<&str> = match (chosen, session.user.offices.as_slice()) {
        (Some(o), _) => Some(o),
        (None, []) => None,
        (None, [only]) => Some(only.as_str()),
        (None, _) => {
            return render(
                &state,
                &session,
                &token,
                &pending,
                Some(kind),
                Some(&form),
                vec![
                    "Bitte das Amt wählen, für das die Zuordnung gilt: Sie sind nicht für alle Ämter zuständig. / Please choose the office the mapping is for."
                        .into(),
                ],
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let profile = match profile_from_form(&pending, kind, office, &form).await {
        Ok(p) => p,
        Err(problems) => {
            return render(
                &state,
                &session,
                &token,
                &pending,
                Some(kind),
                Some(&form),
                problems,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let file = UploadedFile {
        kind: Some(kind),
        office: office.map(str::to_string),
        ..pending.file.clone()
    };
    let st = state.clone();
    let user = session.user.clone();
    let key = office.unwrap_or("").to_string();
    let staged =
        tokio::task::spawn_blocking(move || stage(&st, &user, &remote, file, Some((key, profile))))
            .await;
    match staged {
        Ok(Ok(Staged::NeedsMapping(again))) => {
            render(
                &state,
                &session,
                &token,
                &pending,
                Some(kind),
                Some(&form),
                vec![again.reason],
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Ok(Ok(staged)) => {
            if let Ok(mut map) = state.mappings.lock() {
                map.remove(&token);
            }
            staged_response(&state, &session, staged).await
        }
        Ok(Err(e)) => e.into_response(),
        Err(e) => internal(e).into_response(),
    }
}

/// The saved profiles a user's upload may be read with, in the order to try them: the chosen
/// office's first, then the user's other offices', the general ones (for files that name their
/// offices) last, so that an office's own profile always wins over one made for everybody.
/// A catalogue that cannot be read gives none (the upload then goes to the mapping form).
pub(super) fn saved_profiles_for(
    state: &AppState,
    user: &User,
    chosen_office: Option<&str>,
) -> Vec<(String, Profile)> {
    let texts = store(state)
        .and_then(|s| s.profiles().map_err(internal))
        .unwrap_or_default();
    let mut mine: Vec<(String, Profile)> = crate::import::read_profiles(texts)
        .into_iter()
        .filter(|(office, _)| office.is_empty() || user.may_edit(office))
        .collect();
    mine.sort_by_key(|(office, _)| {
        if chosen_office == Some(office.as_str()) {
            0
        } else if !office.is_empty() {
            1
        } else {
            2
        }
    });
    mine
}

/// Saves a profile made in the form for its office, and notes it in the audit log.
pub(super) fn save(
    state: &AppState,
    user: &User,
    remote: &str,
    office: &str,
    profile: &Profile,
) -> Result<(), WebError> {
    let kind = profile.kind.as_deref().unwrap_or("");
    store(state)?
        .save_profile(office, kind, &profile.to_toml(), &user.name)
        .map_err(internal)?;
    let office = if office.is_empty() {
        "mehrere Ämter"
    } else {
        office
    };
    staff_db(state)?
        .audit(&user.name, "profile", &format!("{kind}: {office}"), remote)
        .map_err(internal)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_mapping_from_the_form() {
        let m = code_mapping(
            "outcome: answered = AGENT, OK; ignore = PHANTOM\n\n outcome: abandoned = HANG",
            Kind::Contacts,
        )
        .unwrap();
        assert_eq!(m["outcome"]["answered"], vec!["AGENT", "OK"]);
        assert_eq!(m["outcome"]["ignore"], vec!["PHANTOM"]);
        assert_eq!(m["outcome"]["abandoned"], vec!["HANG"]);
        let errors = code_mapping(
            "colour: red = R\noutcome answered\noutcome: answered\noutcome: a = X; b = X",
            Kind::Contacts,
        )
        .unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].contains("„colour“ ist keine Spalte"));
        assert!(errors[1].contains("Zeile 2"));
        assert!(errors[2].contains("kein „=“"));
        let twice = code_mapping("outcome: a = X; b = X", Kind::Contacts).unwrap_err();
        assert!(twice[0].contains("„X“"), "{twice:?}");
    }

    #[test]
    fn empty_values_from_the_form() {
        assert_eq!(
            empty_values(" NA, -,,0:00:00 , NA").unwrap(),
            vec!["NA", "-", "0:00:00"]
        );
        assert!(empty_values("").unwrap().is_empty());
        assert!(empty_values(&"x".repeat(41)).is_err());
        let many: Vec<String> = (0..21).map(|i| i.to_string()).collect();
        assert!(empty_values(&many.join(",")).is_err());
    }
}
