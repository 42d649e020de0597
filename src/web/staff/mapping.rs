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
use crate::ingest::problem::HeaderError;
use crate::rows::parse::DateFormat;
use crate::staff::accounts::User;
use crate::web::staff::upload::Bilingual;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long an upload waits for its mapping, and how many wait per user and in all (they
/// hold the file): a user's newest few, never pushed out by a colleague's uploads.
const KEEP: Duration = Duration::from_secs(3600);
const PENDING_PER_USER: usize = 3;
const MAX_PENDING: usize = 24;

/// What waiting uploads are kept as in the catalogue.
const MAPPING: &str = "mapping";

/// An upload whose headers were not all recognised, kept while staff map them: in this
/// replica's memory, and in the catalogue (its file in the store's files), so that the next
/// step of the form may reach another replica, or this one after a restart.
pub struct PendingMapping {
    user: String,
    file: UploadedFile,
    /// Why the headers were not enough, as the reader said it.
    reason: Bilingual,
    /// The header row found for each kind the form asked about: the file is decoded once
    /// per kind, not at every step of the form.
    guesses: Mutex<Vec<(Option<Kind>, ingest::HeaderGuess)>>,
    at: Instant,
    /// Kept in the catalogue too: once it is gone from there, it was stored (or dropped)
    /// elsewhere. An upload the catalogue never took stays in this replica's memory.
    in_store: std::sync::atomic::AtomicBool,
}

impl PendingMapping {
    /// Keeps an upload for the form, with the header row the import found (for its kind).
    pub(super) fn new(
        user: &User,
        file: UploadedFile,
        reason: HeaderError,
        guess: Option<ingest::HeaderGuess>,
    ) -> Self {
        let guesses = guess.map(|g| vec![(file.kind, g)]).unwrap_or_default();
        PendingMapping {
            user: user.name.clone(),
            file,
            reason: Bilingual {
                de: reason_text(&reason, Lang::De),
                en: reason_text(&reason, Lang::En),
            },
            guesses: Mutex::new(guesses),
            at: Instant::now(),
            in_store: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

/// A waiting upload as the catalogue keeps it (the file apart).
#[derive(serde::Serialize, serde::Deserialize)]
struct KeptMapping {
    file_name: String,
    kind: Option<String>,
    office: Option<String>,
    reason: Bilingual,
}

/// Keeps a waiting upload in the catalogue and its file in the store's files; drops what
/// the limits push out.
fn keep_in_store(state: &AppState, token: &str, pending: &PendingMapping) -> Result<(), WebError> {
    let kept = KeptMapping {
        file_name: pending.file.file_name.clone(),
        kind: pending.file.kind.map(|k| k.as_str().to_string()),
        office: pending.file.office.clone(),
        reason: pending.reason.clone(),
    };
    let payload = serde_json::to_string(&kept).map_err(|e| WebError::Internal(e.to_string()))?;
    let uploads = store(state)?.kept_uploads();
    uploads
        .keep(token, &pending.file.bytes)
        .map_err(|e| WebError::Internal(e.to_string()))?;
    let dropped = staff_db(state)
        .and_then(|db| {
            db.keep_for_user(
                MAPPING,
                token,
                &pending.user,
                &payload,
                crate::staff::kept::Limits {
                    keep_secs: KEEP.as_secs() as i64,
                    per_user: PENDING_PER_USER,
                    total: MAX_PENDING,
                },
            )
            .map_err(|e| WebError::Internal(e.to_string()))
        })
        // A file no catalogue row names would never be removed.
        .inspect_err(|_| uploads.forget(token))?;
    for token in dropped {
        uploads.forget(&token);
    }
    Ok(())
}

/// A waiting upload kept by another replica (or by this one before a restart).
fn from_store(state: &AppState, user: &str, token: &str) -> Option<PendingMapping> {
    let (payload, age) = staff_db(state)
        .ok()?
        .kept_for_user(MAPPING, token, user, KEEP.as_secs() as i64)
        .ok()??;
    let kept: KeptMapping = serde_json::from_str(&payload).ok()?;
    let uploads = store(state).ok()?.kept_uploads();
    let bytes = uploads.get(token).ok()?;
    Some(PendingMapping {
        user: user.to_string(),
        file: UploadedFile {
            file_name: kept.file_name,
            bytes,
            kind: kept.kind.and_then(|k| k.parse().ok()),
            office: kept.office,
        },
        reason: kept.reason,
        guesses: Mutex::new(Vec::new()),
        at: instant_of_age(age),
        in_store: std::sync::atomic::AtomicBool::new(true),
    })
}

/// Forgets a waiting upload everywhere (it was stored).
fn forget(state: &AppState, token: &str) {
    if let Ok(mut map) = state.mappings.lock() {
        map.remove(token);
    }
    if let Ok(db) = staff_db(state) {
        let _ = db.forget_kept(token);
    }
    if let Ok(uploads) = store(state).map(|s| s.kept_uploads()) {
        uploads.forget(token);
    }
}

/// Why the headers were not enough, for the form (no command-line hints) in one language.
fn reason_text(e: &HeaderError, lang: Lang) -> String {
    if lang == Lang::De {
        return e.for_mapping_form();
    }
    let quoted = |v: &[String]| {
        v.iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match e {
        HeaderError::Unknown { kind, missing, .. } => format!(
            "The columns do not fit the kind of data \"{kind}\": missing {}.",
            missing.join(", ")
        ),
        HeaderError::PersonalData { columns, .. } => format!(
            "The columns {} hold personal data: please choose \"leave out\".",
            quoted(columns)
        ),
        HeaderError::DuplicateColumn { canonical, headers } => format!(
            "Several columns mean the same ({canonical}): {}. Please map only one of them.",
            quoted(headers)
        ),
        HeaderError::KindNotRecognised { .. } => {
            "The kind of data cannot be told from the columns: please choose it.".to_string()
        }
        HeaderError::MixedLayout { totals, per_call } => format!(
            "The columns mix totals ({}) and single calls ({}): please map only one of the two forms.",
            quoted(totals),
            quoted(per_call)
        ),
    }
}

/// Keeps an upload for mapping and shows the form.
pub(super) async fn start(
    state: &Arc<AppState>,
    pl: &PageLang,
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
    let (st, kept, t) = (Arc::clone(state), Arc::clone(&pending), token.clone());
    match tokio::task::spawn_blocking(move || keep_in_store(&st, &t, &kept)).await {
        Ok(Ok(())) => pending
            .in_store
            .store(true, std::sync::atomic::Ordering::Release),
        Ok(Err(e)) => tracing::warn!("upload waiting for its mapping not kept in the store: {e:?}"),
        Err(e) => tracing::warn!("upload waiting for its mapping not kept in the store: {e}"),
    }
    let kind = pending.file.kind;
    render(
        state,
        pl,
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

/// The user's upload waiting under `token` (shared, not copied: it holds the file), from
/// this replica's memory or else from the store.
async fn pending(
    state: &Arc<AppState>,
    pl: &PageLang,
    session: &Session,
    token: &str,
) -> Result<Arc<PendingMapping>, Response> {
    // The catalogue says whether it still waits (another replica may have stored it); this
    // replica's memory may still hold the file.
    let (st, user, t) = (
        Arc::clone(state),
        session.user.name.clone(),
        token.to_string(),
    );
    // Some(false): the catalogue says it no longer waits; None: the catalogue could not be
    // asked, and this replica's copy (if any) is used.
    let waiting: Option<bool> = tokio::task::spawn_blocking(move || {
        let db = staff_db(&st).ok()?;
        db.kept_for_user(MAPPING, &t, &user, KEEP.as_secs() as i64)
            .ok()
            .map(|k| k.is_some())
    })
    .await
    .ok()
    .flatten();
    let here = state.mappings.lock().ok().and_then(|mut m| {
        let kept = m
            .get(token)
            .is_some_and(|p| p.in_store.load(std::sync::atomic::Ordering::Acquire));
        if waiting == Some(false) && kept {
            m.remove(token);
        }
        m.get(token).cloned()
    });
    let waiting = waiting.unwrap_or(false);
    let here = here.filter(|p| p.user == session.user.name && p.at.elapsed() < KEEP);
    let found = match here {
        Some(p) => Some(p),
        None if !waiting => None,
        None => {
            let (st, user, t) = (
                Arc::clone(state),
                session.user.name.clone(),
                token.to_string(),
            );
            let loaded = tokio::task::spawn_blocking(move || from_store(&st, &user, &t))
                .await
                .ok()
                .flatten()
                .map(Arc::new);
            if let (Some(p), Ok(mut map)) = (&loaded, state.mappings.lock()) {
                map.insert(token.to_string(), Arc::clone(p));
            }
            loaded
        }
    };
    found.ok_or_else(|| {
        message(
            state,
            pl,
            Some(session),
            StatusCode::NOT_FOUND,
            pl.pick("Nicht mehr vorhanden", "No longer there"),
            pl.pick(
                "Diese Zuordnung ist abgelaufen. Bitte die Datei noch einmal hochladen.",
                "This mapping has expired. Please upload the file again.",
            ),
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
fn required_text(kind: Kind, lang: Lang) -> Vec<String> {
    let or = lang.pick(" oder ", " or ");
    kind.required()
        .iter()
        .map(|alternatives| {
            alternatives
                .iter()
                .map(|a| a.replace('+', " + "))
                .collect::<Vec<_>>()
                .join(or)
        })
        .collect()
}

/// The mapping form: each header of the file with a value from its first row and a choice
/// of canonical column; `chosen` keeps what was sent when the form comes back with problems.
#[allow(clippy::too_many_arguments)]
async fn render(
    state: &Arc<AppState>,
    pl: &PageLang,
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
                pl,
                Some(session),
                StatusCode::UNPROCESSABLE_ENTITY,
                pl.pick("Hochladen abgelehnt", "Upload refused"),
                &e.render(pl.lang),
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
                        // German shows the help as written ("Amt / office"); English
                        // only its English part where it has one.
                        label => format!("{}: {}", c.name, match pl.lang {
                            Lang::De => c.help,
                            Lang::En => in_lang(c.help, Lang::En),
                        }),
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
    // The language link shows the form again (as it was first shown, for this kind).
    let here = match kind {
        Some(k) => format!("/staff/mapping/{token}?kind={}", k.as_str()),
        None => format!("/staff/mapping/{token}"),
    };
    let mut resp = page(
        state,
        &pl.at(here),
        "staff_mapping.html",
        Some(session),
        minijinja::context! {
            title => pl.pick("Spalten zuordnen", "Map the columns"),
            token => token,
            file_name => pending.file.file_name.clone(),
            reason => pending.reason.text(pl.lang).to_string(),
            header_line => guess.line,
            kind => kind.map(Kind::as_str),
            kind_title => kind.map(|k| crate::web::pages::kind_title(k, pl.lang)),
            kinds => kinds(pl.lang),
            required => kind.map(|k| required_text(k, pl.lang)).unwrap_or_default(),
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
    StaffPage(session, pl): StaffPage,
) -> Response {
    let pending = match pending(&state, &pl, &session, &token).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let kind = form_urlencoded(query.as_deref().unwrap_or(""))
        .get("kind")
        .and_then(|k| k.parse::<Kind>().ok())
        .or(pending.file.kind);
    render(
        &state,
        &pl,
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
    lang: Lang,
) -> Result<Profile, Vec<String>> {
    let guess = guess_headers(pending, Some(kind))
        .await
        .map_err(|e| vec![e.render(lang)])?;
    let mut problems = Vec::new();
    let mut columns: BTreeMap<String, String> = BTreeMap::new();
    let mut drop = Vec::new();
    for (i, header) in guess.headers.iter().enumerate() {
        if header.trim().is_empty() {
            continue;
        }
        let position = i + 1;
        match form.get(&format!("c{i}")).map(String::as_str).unwrap_or("") {
            "" => problems.push(match lang {
                Lang::De => format!(
                    "Spalte {position} „{header}“: bitte eine Spalte wählen oder „nicht übernehmen“."
                ),
                Lang::En => format!(
                    "Column {position} \"{header}\": please choose a column or \"leave out\"."
                ),
            }),
            "drop" => drop.push(header.clone()),
            name => match kind.columns().iter().find(|c| c.name == name) {
                Some(c) => {
                    if let Some(first) = columns.get(c.name) {
                        problems.push(match lang {
                            Lang::De => format!(
                                "Spalte {position} „{header}“: „{}“ ist schon „{first}“ zugeordnet; jede Spalte nur einmal.",
                                c.name
                            ),
                            Lang::En => format!(
                                "Column {position} \"{header}\": \"{}\" is already mapped to \"{first}\"; each column only once.",
                                c.name
                            ),
                        });
                    } else {
                        columns.insert(c.name.to_string(), header.clone());
                    }
                }
                None => problems.push(match lang {
                    Lang::De => format!(
                        "Spalte {position} „{header}“: „{name}“ ist keine Spalte dieser Datenart."
                    ),
                    Lang::En => format!(
                        "Column {position} \"{header}\": \"{name}\" is not a column of this kind of data."
                    ),
                }),
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
        let label = lang.pick("Datumsformat", "Date format");
        problems.push(format!("{label}: {}.", in_lang(&e, lang)));
    }
    let empty = match empty_values(form.get("empty").map(String::as_str).unwrap_or(""), lang) {
        Ok(v) => v,
        Err(p) => {
            problems.push(p);
            Vec::new()
        }
    };
    let values = match code_mapping(
        form.get("values").map(String::as_str).unwrap_or(""),
        kind,
        lang,
    ) {
        Ok(v) => v,
        Err(mut p) => {
            problems.append(&mut p);
            BTreeMap::new()
        }
    };
    let has = |n: &str| columns.contains_key(n);
    for missing in kind.missing_columns(&has, office.is_some()) {
        let text = if missing == "office" {
            lang.pick(
                "Es fehlt das Amt: bitte oben ein Amt wählen oder eine Spalte „office“ zuordnen.",
                "The office is missing: please choose an office above or map a column to \"office\".",
            )
            .to_string()
        } else {
            let help = kind
                .columns()
                .iter()
                .find(|c| c.name == missing.split('+').next().unwrap_or(missing))
                .map(|c| c.help)
                .unwrap_or("");
            match lang {
                Lang::De => format!("Es fehlt eine Zuordnung für „{missing}“ ({help})."),
                Lang::En => format!(
                    "No column is mapped to \"{missing}\" ({}).",
                    in_lang(help, lang)
                ),
            }
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
/// Every mistake is listed, in `lang`.
fn code_mapping(text: &str, kind: Kind, lang: Lang) -> Result<CodeMapping, Vec<String>> {
    let mut out: CodeMapping = BTreeMap::new();
    let mut problems = Vec::new();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.len() > MAX_CODE_LINES {
        return Err(vec![match lang {
            Lang::De => format!("Codes: höchstens {MAX_CODE_LINES} Zeilen."),
            Lang::En => format!("Codes: at most {MAX_CODE_LINES} lines."),
        }]);
    }
    for (i, line) in lines.iter().enumerate() {
        let n = i + 1;
        let Some((column, rest)) = line.split_once(':') else {
            problems.push(match lang {
                Lang::De => format!(
                    "Codes, Zeile {n}: bitte „Spalte: Wert = Code, Code; …“ schreiben, z. B. „outcome: answered = AGENT; abandoned = HANG“."
                ),
                Lang::En => format!(
                    "Codes, line {n}: please write \"column: value = code, code; …\", for example \"outcome: answered = AGENT; abandoned = HANG\"."
                ),
            });
            continue;
        };
        let column = column.trim();
        if !kind.columns().iter().any(|c| c.name == column) {
            problems.push(match lang {
                Lang::De => {
                    format!("Codes, Zeile {n}: „{column}“ ist keine Spalte dieser Datenart.")
                }
                Lang::En => {
                    format!("Codes, line {n}: \"{column}\" is not a column of this kind of data.")
                }
            });
            continue;
        }
        let table = out.entry(column.to_string()).or_default();
        for pair in rest.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((value, codes)) = pair.split_once('=') else {
                problems.push(match lang {
                    Lang::De => format!(
                        "Codes, Zeile {n}: „{pair}“ hat kein „=“; bitte „Wert = Code, Code“ schreiben."
                    ),
                    Lang::En => format!(
                        "Codes, line {n}: \"{pair}\" has no \"=\"; please write \"value = code, code\"."
                    ),
                });
                continue;
            };
            let codes: Vec<String> = codes
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect();
            if codes.is_empty() || codes.iter().any(|c| c.chars().count() > MAX_CODE_CHARS) {
                problems.push(match lang {
                    Lang::De => format!(
                        "Codes, Zeile {n}: für „{}“ bitte einen oder mehrere Codes (je höchstens {MAX_CODE_CHARS} Zeichen) nennen.",
                        value.trim()
                    ),
                    Lang::En => format!(
                        "Codes, line {n}: please give one or more codes for \"{}\" (each at most {MAX_CODE_CHARS} characters).",
                        value.trim()
                    ),
                });
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
            problems.push(format!("Codes: {}", upload_error_text(&e, lang)));
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

/// A refusal of the reader in one language. A profile's own message is "Deutsch / English"
/// inside the reader's two-language sentence, so it is picked from separately.
fn upload_error_text(e: &ingest::problem::UploadError, lang: Lang) -> String {
    match e {
        ingest::problem::UploadError::Profile(inner) => format!(
            "{} {}",
            lang.pick(
                "Das Zuordnungsprofil ist fehlerhaft:",
                "The mapping profile is invalid:"
            ),
            in_lang(inner, lang)
        ),
        other => other.render(lang),
    }
}

/// The form's "values meaning no value", separated by commas: trimmed, each once.
fn empty_values(text: &str, lang: Lang) -> Result<Vec<String>, String> {
    let mut values: Vec<String> = Vec::new();
    for v in text.split(',').map(str::trim).filter(|v| !v.is_empty()) {
        if v.chars().count() > MAX_EMPTY_VALUE_CHARS {
            return Err(match lang {
                Lang::De => {
                    format!("Leere Werte: „{v}“ ist länger als {MAX_EMPTY_VALUE_CHARS} Zeichen.")
                }
                Lang::En => format!(
                    "Empty values: \"{v}\" is longer than {MAX_EMPTY_VALUE_CHARS} characters."
                ),
            });
        }
        if !values.iter().any(|x| x == v) {
            values.push(v.to_string());
        }
    }
    if values.len() > MAX_EMPTY_VALUES {
        return Err(match lang {
            Lang::De => {
                format!("Leere Werte: höchstens {MAX_EMPTY_VALUES}, durch Komma getrennt.")
            }
            Lang::En => format!("Empty values: at most {MAX_EMPTY_VALUES}, separated by commas."),
        });
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
    StaffForm {
        session,
        form,
        lang: pl,
        ..
    }: StaffForm,
) -> Response {
    let pending = match pending(&state, &pl, &session, &token).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some(kind) = form.get("kind").and_then(|k| k.parse::<Kind>().ok()) else {
        return render(
            &state,
            &pl,
            &session,
            &token,
            &pending,
            None,
            Some(&form),
            vec![
                pl.pick(
                    "Bitte zuerst die Datenart wählen.",
                    "Please choose the kind of data first.",
                )
                .into(),
            ],
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
        let text = match pl.lang {
            Lang::De => format!("Sie dürfen nicht für „{o}“ hochladen."),
            Lang::En => format!("You may not upload for \"{o}\"."),
        };
        return forbidden(&state, &pl, &session, &text);
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
                &pl,
                &session,
                &token,
                &pending,
                Some(kind),
                Some(&form),
                vec![
                    pl.pick(
                        "Bitte das Amt wählen, für das die Zuordnung gilt: Sie sind nicht für alle Ämter zuständig.",
                        "Please choose the office the mapping is for: you are not responsible for all offices.",
                    )
                    .into(),
                ],
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let profile = match profile_from_form(&pending, kind, office, &form, pl.lang).await {
        Ok(p) => p,
        Err(problems) => {
            return render(
                &state,
                &pl,
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
    let lang = pl.lang;
    let staged = tokio::task::spawn_blocking(move || {
        stage(&st, &user, &remote, file, Some((key, profile)), lang)
    })
    .await;
    match staged {
        Ok(Ok(Staged::NeedsMapping(again))) => {
            render(
                &state,
                &pl,
                &session,
                &token,
                &pending,
                Some(kind),
                Some(&form),
                vec![again.reason.text(pl.lang).to_string()],
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Ok(Ok(staged)) => {
            let (st, t) = (Arc::clone(&state), token.clone());
            let _ = tokio::task::spawn_blocking(move || forget(&st, &t)).await;
            staged_response(&state, &pl, &session, staged).await
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
            Lang::De,
        )
        .unwrap();
        assert_eq!(m["outcome"]["answered"], vec!["AGENT", "OK"]);
        assert_eq!(m["outcome"]["ignore"], vec!["PHANTOM"]);
        assert_eq!(m["outcome"]["abandoned"], vec!["HANG"]);
        let errors = code_mapping(
            "colour: red = R\noutcome answered\noutcome: answered\noutcome: a = X; b = X",
            Kind::Contacts,
            Lang::De,
        )
        .unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].contains("„colour“ ist keine Spalte"));
        assert!(errors[1].contains("Zeile 2"));
        assert!(errors[2].contains("kein „=“"));
        let twice = code_mapping("outcome: a = X; b = X", Kind::Contacts, Lang::De).unwrap_err();
        assert!(twice[0].contains("„X“"), "{twice:?}");
        let twice = code_mapping("outcome: a = X; b = X", Kind::Contacts, Lang::En).unwrap_err();
        assert!(
            twice[0].starts_with("Codes: The mapping profile is invalid:")
                && twice[0].contains("\"X\" is listed under")
                && !twice[0].contains("steht unter"),
            "{twice:?}"
        );
    }

    #[test]
    fn empty_values_from_the_form() {
        assert_eq!(
            empty_values(" NA, -,,0:00:00 , NA", Lang::De).unwrap(),
            vec!["NA", "-", "0:00:00"]
        );
        assert!(empty_values("", Lang::De).unwrap().is_empty());
        assert!(empty_values(&"x".repeat(41), Lang::De).is_err());
        let many: Vec<String> = (0..21).map(|i| i.to_string()).collect();
        assert!(empty_values(&many.join(","), Lang::De).is_err());
    }
}
