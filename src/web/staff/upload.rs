//! Uploads in the browser: the file checked like `kennzahl import`, refused with every problem
//! (paged) or kept as a pending batch and shown as a preview beside what is published now.

use super::*;

/// Problems shown per page of a refused upload.
pub(super) const PROBLEMS_PER_PAGE: usize = 100;

/// How long a refused upload's problems are kept for paging, how many per user and how many
/// in all (each holds up to 10 000 problem texts): a user's newest few, without one user's
/// uploads pushing out a colleague's.
const REFUSED_KEEP: std::time::Duration = std::time::Duration::from_secs(3600);
const REFUSED_PER_USER: usize = 3;
const REFUSED_TOTAL: usize = 32;

/// The file name as kept, or `None` when it is empty, names a path (`../`, `/`, `\`),
/// starts with a dot, carries control characters or is longer than 200 characters: browsers
/// send a bare name, so anything else did not come from a file picker.
pub fn clean_file_name(name: &str) -> Option<String> {
    let name = name.trim();
    let bad = name.is_empty()
        || name.contains(['/', '\\'])
        || name.starts_with('.')
        || name.chars().any(char::is_control)
        || name.chars().count() > 200;
    if bad { None } else { Some(name.to_string()) }
}

/// A text kept in both languages: a page shows it again later in the language it then has.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Bilingual {
    pub de: String,
    pub en: String,
}

impl Bilingual {
    fn new(de: impl Into<String>, en: impl Into<String>) -> Self {
        Bilingual {
            de: de.into(),
            en: en.into(),
        }
    }

    /// The text in one language.
    pub fn text(&self, lang: Lang) -> &str {
        lang.pick(&self.de, &self.en)
    }
}

/// What an upload is refused for, kept a while (a user's newest few) so that long problem
/// lists can be paged, in either language. Kept in the catalogue too (see
/// `staff::kept`), so that the next page may come from another replica.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct RefusedUpload {
    pub user: String,
    pub file_name: String,
    pub summary: Bilingual,
    pub problems: Vec<Bilingual>,
    pub total: usize,
    #[serde(skip, default = "std::time::Instant::now")]
    pub at: std::time::Instant,
}

/// What refused uploads are kept as in the catalogue.
const REFUSED: &str = "refused";

fn refused_limits() -> crate::staff::kept::Limits {
    crate::staff::kept::Limits {
        keep_secs: REFUSED_KEEP.as_secs() as i64,
        per_user: REFUSED_PER_USER,
        total: REFUSED_TOTAL,
    }
}

/// `POST /staff/upload` (multipart): reads the file like `kennzahl import` and answers with
/// the preview, the problems, or the mapping form.
pub(super) async fn upload(
    State(state): State<Arc<AppState>>,
    Remote(remote): Remote,
    pl: PageLang,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Response {
    // No session, no reading of the body.
    match current(&state, &headers) {
        Ok(Some(_)) => {}
        Ok(None) => {
            return refused(
                StatusCode::FORBIDDEN,
                "Bitte zuerst anmelden. / Please log in first.",
            );
        }
        Err(e) => return e.into_response(),
    }
    let mut fields: HashMap<String, String> = HashMap::new();
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let limit = state.settings.max_upload_bytes;
    let too_large = || {
        let size = if limit >= 1 << 20 {
            format!("{} MB", limit >> 20)
        } else {
            format!("{} KB", limit >> 10)
        };
        match pl.lang {
            Lang::De => format!(
                "Die Datei ist größer als erlaubt (höchstens {size}). Bitte den Export auf einen Monat beschränken."
            ),
            Lang::En => format!(
                "The file is larger than allowed (at most {size}). Please limit the export to one month."
            ),
        }
    };
    let refused_title = pl.pick("Hochladen abgelehnt", "Upload refused");
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                let text = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    too_large()
                } else {
                    match pl.lang {
                        Lang::De => format!(
                            "Das Formular kam unvollständig an ({e}). Bitte noch einmal senden."
                        ),
                        Lang::En => {
                            format!("The form arrived incomplete ({e}). Please send it again.")
                        }
                    }
                };
                return message(
                    &state,
                    &pl,
                    None,
                    StatusCode::BAD_REQUEST,
                    refused_title,
                    &text,
                );
            }
        };
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            let file_name = field.file_name().unwrap_or("").to_string();
            if files.len() >= MAX_FILES {
                let text = match pl.lang {
                    Lang::De => format!("Höchstens {MAX_FILES} Dateien auf einmal."),
                    Lang::En => format!("At most {MAX_FILES} files at once."),
                };
                return message(
                    &state,
                    &pl,
                    None,
                    StatusCode::BAD_REQUEST,
                    refused_title,
                    &text,
                );
            }
            match field.bytes().await {
                Ok(b) => files.push((file_name, b.to_vec())),
                Err(e) => {
                    let text = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        too_large()
                    } else {
                        match pl.lang {
                            Lang::De => format!(
                                "Die Datei kam unvollständig an ({e}). Bitte noch einmal senden."
                            ),
                            Lang::En => {
                                format!("The file arrived incomplete ({e}). Please send it again.")
                            }
                        }
                    };
                    return message(
                        &state,
                        &pl,
                        None,
                        StatusCode::PAYLOAD_TOO_LARGE,
                        refused_title,
                        &text,
                    );
                }
            }
        } else if let Ok(text) = field.text().await {
            // The other fields are a token, a kind and an office: short, or not ours.
            if text.chars().count() > MAX_TEXT {
                let text = match pl.lang {
                    Lang::De => format!(
                        "Ein Feld des Formulars ist zu lang (höchstens {MAX_TEXT} Zeichen)."
                    ),
                    Lang::En => {
                        format!("A field of the form is too long (at most {MAX_TEXT} characters).")
                    }
                };
                return message(
                    &state,
                    &pl,
                    None,
                    StatusCode::BAD_REQUEST,
                    refused_title,
                    &text,
                );
            }
            fields.insert(name, text);
        }
    }
    let session = match need_form_session(&state, &headers, fields.get("csrf")) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let refuse = |text: String| unprocessable(&state, &pl, &session, refused_title, &text);
    files.retain(|(n, b)| !n.is_empty() || !b.is_empty());
    if files.is_empty() {
        return refuse(
            pl.pick("Bitte eine Datei auswählen.", "Please choose a file.")
                .into(),
        );
    }
    let kind: Option<Kind> = fields
        .get("kind")
        .filter(|k| !k.is_empty() && *k != "auto")
        .and_then(|k| k.parse().ok());
    let office = fields
        .get("office")
        .map(|o| o.trim().to_string())
        .filter(|o| !o.is_empty());
    if let Some(o) = &office
        && !session.user.may_edit(o)
    {
        return refuse(match pl.lang {
            Lang::De => format!("Sie dürfen nicht für „{o}“ hochladen."),
            Lang::En => format!("You may not upload for \"{o}\"."),
        });
    }
    let mut uploaded = Vec::with_capacity(files.len());
    for (raw_name, bytes) in files {
        let Some(file_name) = clean_file_name(&raw_name) else {
            let shown = raw_name.chars().take(200).collect::<String>();
            return refuse(match pl.lang {
                Lang::De => format!(
                    "Der Dateiname „{shown}“ ist ungültig: bitte eine Datei mit einfachem Namen ohne Pfadangaben wie ../ wählen. Es wurde nichts gespeichert."
                ),
                Lang::En => format!(
                    "The file name \"{shown}\" is invalid: please choose a file with a plain name, without a path such as ../. Nothing was stored."
                ),
            });
        };
        let ext = file_name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        if !["csv", "txt", "tsv", "xlsx"].contains(&ext.as_str()) {
            return refuse(match pl.lang {
                Lang::De => format!(
                    "„{file_name}“ ist keine CSV- oder XLSX-Datei. Bitte den Export als CSV oder Excel-Arbeitsmappe (.xlsx) speichern. Es wurde nichts gespeichert."
                ),
                Lang::En => format!(
                    "\"{file_name}\" is not a CSV or XLSX file. Please save the export as CSV or as an Excel workbook (.xlsx). Nothing was stored."
                ),
            });
        }
        if bytes.len() as u64 > limit {
            return refuse(too_large());
        }
        uploaded.push(UploadedFile {
            file_name,
            bytes,
            kind,
            office: office.clone(),
        });
    }
    let st = state.clone();
    let user = session.user.clone();
    let lang = pl.lang;
    let staged = tokio::task::spawn_blocking(move || {
        if uploaded.len() == 1 {
            let file = uploaded.pop().expect("one file");
            stage(&st, &user, &remote, file, None, lang)
        } else {
            stage_several(&st, &user, &remote, uploaded, lang)
        }
    })
    .await;
    match staged {
        Ok(Ok(staged)) => staged_response(&state, &pl, &session, staged).await,
        Ok(Err(e)) => e.into_response(),
        Err(e) => internal(e).into_response(),
    }
}

/// Most files one upload form may carry (the three ZMS reports of a few locations).
const MAX_FILES: usize = 12;

/// An export as it came from the upload form.
#[derive(Clone)]
pub struct UploadedFile {
    pub file_name: String,
    pub bytes: Vec<u8>,
    pub kind: Option<Kind>,
    pub office: Option<String>,
}

/// Where an upload went: into pending batches with their previews, back with its problems, or
/// to the form that maps unknown headers.
pub(super) enum Staged {
    Previews(Vec<(i64, minijinja::Value)>),
    Refused(RefusedUpload),
    NeedsMapping(mapping::PendingMapping),
}

/// An upload read for a user, before anything is stored.
enum Reading {
    Ready(Box<ingest::Upload>, UploadedFile),
    Refused(RefusedUpload),
    NeedsMapping(mapping::PendingMapping),
}

/// Reads an upload and keeps it as a pending batch. Headers the built-in aliases do not know
/// are tried against the saved profiles of the user's offices; `mapped` is a profile just made
/// in the mapping form, with the office it is saved for: saved only together with the batch
/// it read, so a mapping whose upload is refused decides nothing about later files. The
/// preview is made in `lang`.
pub(super) fn stage(
    state: &Arc<AppState>,
    user: &crate::staff::accounts::User,
    remote: &str,
    file: UploadedFile,
    mapped: Option<(String, ingest::map::Profile)>,
    lang: Lang,
) -> Result<Staged, WebError> {
    Ok(match read_for(state, user, file, mapped.as_ref())? {
        Reading::Ready(upload, file) => Staged::Previews(vec![keep(
            state,
            user,
            remote,
            *upload,
            &file,
            mapped.as_ref(),
            lang,
        )?]),
        Reading::Refused(r) => Staged::Refused(r),
        Reading::NeedsMapping(p) => Staged::NeedsMapping(p),
    })
}

/// Several files of one form (the three ZMS reports of a month, say): all are read first, and
/// kept only if every one is readable; files that need their columns mapped are refused with
/// the advice to upload them alone.
fn stage_several(
    state: &Arc<AppState>,
    user: &crate::staff::accounts::User,
    remote: &str,
    files: Vec<UploadedFile>,
    lang: Lang,
) -> Result<Staged, WebError> {
    let count = files.len();
    let mut ready: Vec<(ingest::Upload, UploadedFile)> = Vec::new();
    let mut problems = Vec::new();
    let mut total = 0;
    let mut refused_files = Vec::new();
    for file in files {
        let name = file.file_name.clone();
        match read_for(state, user, file, None)? {
            Reading::Ready(upload, file) => ready.push((*upload, file)),
            Reading::Refused(r) => {
                total += r.total.max(1);
                let named = |b: &Bilingual| {
                    Bilingual::new(format!("{name}: {}", b.de), format!("{name}: {}", b.en))
                };
                problems.push(named(&r.summary));
                problems.extend(r.problems.iter().map(named));
                refused_files.push(name);
            }
            Reading::NeedsMapping(_) => {
                total += 1;
                problems.push(Bilingual::new(
                    format!(
                        "{name}: die Spalten sind nicht bekannt. Bitte diese Datei allein hochladen, um ihre Spalten zuzuordnen."
                    ),
                    format!(
                        "{name}: the columns are not known. Please upload this file on its own to map its columns."
                    ),
                ));
                refused_files.push(name);
            }
        }
    }
    for (i, (a, fa)) in ready.iter().enumerate() {
        for (b, fb) in &ready[..i] {
            if a.collides_with(b) {
                total += 1;
                problems.push(Bilingual::new(
                    format!(
                        "{} und {} betreffen dieselben Monate desselben Berichts; bitte nur eine davon hochladen.",
                        fb.file_name, fa.file_name
                    ),
                    format!(
                        "{} and {} cover the same months of the same report; please upload only one of them.",
                        fb.file_name, fa.file_name
                    ),
                ));
                refused_files.push(fa.file_name.clone());
            }
        }
    }
    if !problems.is_empty() {
        return Ok(Staged::Refused(RefusedUpload {
            user: user.name.clone(),
            file_name: refused_files.join(", "),
            summary: Bilingual::new(
                format!(
                    "{} von {count} Dateien wurden nicht übernommen ({}). Es wurde keine der Dateien gespeichert: bitte korrigieren und alle erneut hochladen.",
                    refused_files.len(),
                    refused_files.join(", ")
                ),
                format!(
                    "{} of {count} files were not accepted ({}). None of the files was stored: please correct them and upload all of them again.",
                    refused_files.len(),
                    refused_files.join(", ")
                ),
            ),
            problems,
            total,
            at: std::time::Instant::now(),
        }));
    }
    let mut previews = Vec::with_capacity(ready.len());
    for (upload, file) in ready {
        previews.push(keep(state, user, remote, upload, &file, None, lang)?);
    }
    Ok(Staged::Previews(previews))
}

use crate::import::Outcome;

/// Reads one upload as the user may: refused, waiting for a mapping, or ready to keep.
fn read_for(
    state: &Arc<AppState>,
    user: &crate::staff::accounts::User,
    file: UploadedFile,
    mapped: Option<&(String, ingest::map::Profile)>,
) -> Result<Reading, WebError> {
    let opts = Options {
        kind: file.kind,
        office: file.office.clone(),
        profile: mapped.map(|(_, p)| p.clone()),
        skip_invalid: false,
        max_bytes: state.settings.max_upload_bytes,
        today: None,
    };
    let read = crate::import::import(&file.bytes, &opts, || {
        mapping::saved_profiles_for(state, user, file.office.as_deref())
    });
    let file_name = file.file_name.clone();
    let upload = match read {
        Outcome::Ready(u) => *u,
        Outcome::NeedsMapping(needs) => {
            return Ok(Reading::NeedsMapping(mapping::PendingMapping::new(
                user,
                file,
                needs.error,
                needs.guess,
            )));
        }
        Outcome::Refused(e) => {
            let both = |render: &dyn Fn(Lang) -> String| {
                Bilingual::new(render(Lang::De), render(Lang::En))
            };
            let (problems, total) = match &e {
                ingest::problem::UploadError::Invalid { problems, total } => (
                    problems.iter().map(|p| both(&|l| p.render(l))).collect(),
                    *total,
                ),
                other => (vec![both(&|l| other.render(l))], 1),
            };
            return Ok(Reading::Refused(RefusedUpload {
                user: user.name.clone(),
                file_name: file_name.clone(),
                summary: Bilingual::new(
                    format!(
                        "„{file_name}“ wurde nicht übernommen: {total} Problem(e). Bitte in der Datei korrigieren und erneut hochladen; es wurde nichts gespeichert."
                    ),
                    format!(
                        "\"{file_name}\" was not accepted: {total} problem(s). Please correct the file and upload it again; nothing was stored."
                    ),
                ),
                problems,
                total,
                at: std::time::Instant::now(),
            }));
        }
    };
    let cells: Vec<(String, i32)> = upload.parsed.partitions.keys().cloned().collect();
    if let Some((o, _)) = cells.iter().find(|(o, _)| !user.may_edit(o)) {
        return Ok(Reading::Refused(RefusedUpload {
            user: user.name.clone(),
            file_name: file_name.clone(),
            summary: Bilingual::new(
                format!(
                    "„{file_name}“ wurde nicht übernommen: die Datei enthält Zeilen für „{o}“, für das Sie nicht hochladen dürfen. Es wurde nichts gespeichert."
                ),
                format!(
                    "\"{file_name}\" was not accepted: the file holds rows for \"{o}\", which you may not upload for. Nothing was stored."
                ),
            ),
            problems: Vec::new(),
            total: 0,
            at: std::time::Instant::now(),
        }));
    }
    Ok(Reading::Ready(Box::new(upload), file))
}

/// Keeps a read upload as a pending batch (and a mapping made for it) and makes its preview.
fn keep(
    state: &Arc<AppState>,
    user: &crate::staff::accounts::User,
    remote: &str,
    mut upload: ingest::Upload,
    file: &UploadedFile,
    mapped: Option<&(String, ingest::map::Profile)>,
    lang: Lang,
) -> Result<(i64, minijinja::Value), WebError> {
    let file_name = &file.file_name;
    let preview = preview(state, &upload, file_name, lang)?;
    let mut store = store(state)?;
    let batch = store
        .put_batch(
            &mut upload,
            &file.bytes,
            &Submission {
                file_name,
                user: &user.name,
            },
        )
        .map_err(internal)?;
    drop(store);
    staff_db(state)?
        .audit(
            &user.name,
            "upload",
            &format!("batch {batch}: {file_name}, {} rows", upload.parsed.rows),
            remote,
        )
        .map_err(internal)?;
    if let Some((office, profile)) = mapped {
        mapping::save(state, user, remote, office, profile)?;
    }
    Ok((batch, preview))
}

/// The page for a staged upload.
pub(super) async fn staged_response(
    state: &Arc<AppState>,
    pl: &PageLang,
    session: &Session,
    staged: Staged,
) -> Response {
    match staged {
        Staged::Previews(previews) => {
            let previews: Vec<minijinja::Value> = previews
                .into_iter()
                .map(|(batch, preview)| minijinja::context! { batch => batch, ..preview })
                .collect();
            page(
                state,
                pl,
                "staff_preview.html",
                Some(session),
                minijinja::context! { title => pl.pick("Vorschau", "Preview"), previews => previews },
            )
        }
        Staged::Refused(refused_upload) => {
            let token = crate::staff::random_token();
            if let Ok(mut map) = state.refused.lock() {
                make_room(
                    &mut map,
                    &refused_upload.user,
                    REFUSED_KEEP,
                    REFUSED_PER_USER,
                    REFUSED_TOTAL,
                    |r| (r.user.as_str(), r.at),
                );
                map.insert(token.clone(), refused_upload.clone());
            }
            // Kept in the catalogue off the async threads (a transaction that may wait).
            let (st, t, user) = (
                Arc::clone(state),
                token.clone(),
                refused_upload.user.clone(),
            );
            let payload = serde_json::to_string(&refused_upload).unwrap_or_default();
            let kept = tokio::task::spawn_blocking(move || {
                staff_db(&st)?
                    .keep_for_user(REFUSED, &t, &user, &payload, refused_limits())
                    .map(|_| ())
                    .map_err(|e| WebError::Internal(e.to_string()))
            })
            .await;
            if let Ok(Err(e)) = kept {
                tracing::warn!("refused upload not kept in the catalogue: {e:?}");
            }
            problems_page(
                state,
                pl,
                session,
                &token,
                1,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Staged::NeedsMapping(pending) => mapping::start(state, pl, session, pending).await,
    }
}

/// One page of a refused upload's problems.
pub(super) fn problems_page(
    state: &AppState,
    pl: &PageLang,
    session: &Session,
    token: &str,
    page_no: usize,
    status: StatusCode,
) -> Response {
    let found = state
        .refused
        .lock()
        .ok()
        .and_then(|m| m.get(token).cloned())
        .filter(|r| r.user == session.user.name && r.at.elapsed() < REFUSED_KEEP)
        .or_else(|| refused_from_catalogue(state, &session.user.name, token));
    let Some(r) = found else {
        return message(
            state,
            pl,
            Some(session),
            StatusCode::NOT_FOUND,
            pl.pick("Nicht mehr vorhanden", "No longer there"),
            pl.pick(
                "Diese Fehlerliste ist abgelaufen. Bitte die Datei noch einmal hochladen.",
                "This list of problems has expired. Please upload the file again.",
            ),
        );
    };
    let pages = r.problems.len().div_ceil(PROBLEMS_PER_PAGE).max(1);
    let page_no = page_no.clamp(1, pages);
    let shown: Vec<String> = r
        .problems
        .iter()
        .skip((page_no - 1) * PROBLEMS_PER_PAGE)
        .take(PROBLEMS_PER_PAGE)
        .map(|p| p.text(pl.lang).to_string())
        .collect();
    // The language link shows this page of the list again.
    let here = if page_no > 1 {
        format!("/staff/uploads/{token}?page={page_no}")
    } else {
        format!("/staff/uploads/{token}")
    };
    let mut resp = page(
        state,
        &pl.at(here),
        "staff_refused.html",
        Some(session),
        minijinja::context! {
            title => pl.pick("Hochladen abgelehnt", "Upload refused"),
            summary => r.summary.text(pl.lang).to_string(),
            problems => shown,
            total => r.total,
            listed => r.problems.len(),
            page => page_no,
            pages => pages,
            token => token,
            kinds => kinds(pl.lang),
        },
    );
    *resp.status_mut() = status;
    resp
}

/// A refused upload kept by another replica (or by this one before a restart).
fn refused_from_catalogue(state: &AppState, user: &str, token: &str) -> Option<RefusedUpload> {
    let db = staff_db(state).ok()?;
    let (payload, age) = db
        .kept_for_user(REFUSED, token, user, REFUSED_KEEP.as_secs() as i64)
        .ok()??;
    let mut r: RefusedUpload = serde_json::from_str(&payload).ok()?;
    r.at = instant_of_age(age);
    Some(r)
}

/// `GET /staff/uploads/{token}?page=N`: further pages of a refused upload's problems.
pub(super) async fn refused_page(
    State(state): State<Arc<AppState>>,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
    StaffPage(session, pl): StaffPage,
) -> Response {
    let page_no = form_urlencoded(query.as_deref().unwrap_or(""))
        .get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1);
    problems_page(&state, &pl, &session, &token, page_no, StatusCode::OK)
}

/// The KPIs an upload will produce per office and month, beside what is published now.
pub(super) fn preview(
    state: &AppState,
    upload: &ingest::Upload,
    file_name: &str,
    lang: Lang,
) -> Result<minijinja::Value, WebError> {
    let kind = upload.kind;
    let months: Vec<i32> = upload.parsed.partitions.keys().map(|(_, m)| *m).collect();
    let (from, to) = (
        months.iter().min().copied().unwrap_or(0),
        months.iter().max().copied().unwrap_or(0),
    );
    let mut offices: Vec<String> = upload
        .parsed
        .partitions
        .keys()
        .map(|(o, _)| o.clone())
        .collect();
    offices.dedup();
    let store = store(state)?;
    let mut changes = Vec::new();
    let mut replaces = Vec::new();
    if kind != Kind::Services {
        let q = Query {
            from: Some(from),
            to: Some(to),
            min_cell: state.settings.min_cell,
            ..Query::new(kind, vec![Dim::Month, Dim::Office])
        };
        let targets = store.targets(kind).map_err(internal)?;
        let mut rows = polars::prelude::IntoLazy::lazy(upload.parsed.frame.clone());
        // A report that is one part of its months (ZMS) is shown together with the other
        // parts published for them, as the month will be after the release.
        if !upload.part.is_empty()
            && let Some(others) = store
                .published_rows_but(kind, Some(&upload.part))
                .map_err(internal)?
        {
            rows = polars::prelude::concat([others, rows], polars::prelude::UnionArgs::default())
                .map_err(|e| internal(e.to_string()))?;
        }
        let new = kpi::compute_from(Some(rows), &q, &targets)?;
        let now = kpi::compute(&store, &q)?;
        // The figures the overview shows for this kind (its dashboard file), else the first five.
        let (dashboards, _) = state.dashboards();
        let key_kpis: Vec<&str> = match dashboards.overview.tiles.iter().find(|t| t.kind == kind) {
            Some(t) => t.kpis.clone(),
            None => crate::kpi::definitions::for_kind(kind)
                .iter()
                .map(|d| d.name)
                .take(5)
                .collect(),
        };
        for row in &new.rows {
            let (Value::Text(month), Value::Text(office)) = (&row[0], &row[1]) else {
                continue;
            };
            let published = now.rows.iter().find(|r| r[0] == row[0] && r[1] == row[1]);
            let Some(m) = crate::timefmt::parse_month_canonical(month) else {
                continue;
            };
            if !upload.parsed.partitions.contains_key(&(office.clone(), m)) {
                continue;
            }
            if store
                .replaced_by(kind, &upload.part, &[(office.clone(), m)])
                .map_err(internal)?
            {
                replaces.push(format!("{office} {month}"));
            }
            for name in &key_kpis {
                let Some(i) = new.column(name) else { continue };
                let def = crate::kpi::definitions::find(name).map(|(_, d)| d);
                let unit = def
                    .map(|d| d.unit)
                    .unwrap_or(crate::kpi::definitions::Unit::Count);
                let before = published
                    .and_then(|p| now.column(name).map(|j| p[j].clone()))
                    .map(|v| crate::present::format::value_in(&v, unit, lang))
                    .unwrap_or_else(|| "–".into());
                let after = crate::present::format::value_in(&row[i], unit, lang);
                let changed = before != after;
                changes.push(minijinja::context! {
                    office => office,
                    month => month,
                    kpi => def.map(|d| lang.pick(d.label_de, d.label_en)).unwrap_or(name),
                    before => before,
                    after => after.clone(),
                    changed => changed,
                });
            }
        }
    }
    Ok(minijinja::context! {
        file_name => file_name,
        kind => kind.as_str(),
        kind_title => crate::web::pages::kind_title(kind, lang),
        rows => upload.parsed.rows,
        period => if from == to { crate::timefmt::format_month(from) } else { format!("{} {} {}", crate::timefmt::format_month(from), lang.pick("bis", "to"), crate::timefmt::format_month(to)) },
        offices => offices,
        notices => upload.notices.iter().map(|n| n.text(lang).to_string()).collect::<Vec<_>>(),
        changes => changes,
        replaces => replaces,
    })
}
