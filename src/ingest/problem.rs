//! What can be wrong with an upload, said so that an office clerk knows what to do.
//!
//! Row problems ([`Problem`]) are collected for the whole file and reported together; file
//! problems ([`UploadError`]) stop reading at once because no row can be trusted.

use crate::i18n::Lang;
pub use crate::rows::problem::{Issue, MAX_LISTED_PROBLEMS, Problem};
use thiserror::Error;

/// Why an upload was refused as a whole. Nothing is stored when this is returned.
#[derive(Debug, Error)]
pub enum UploadError {
    #[error("Die Datei ist leer. / The file is empty.")]
    Empty,
    #[error(
        "Die Datei ist größer als erlaubt ({size} Bytes, höchstens {limit}). / The file is larger than allowed ({size} bytes, at most {limit})."
    )]
    TooLarge { size: u64, limit: u64 },
    #[error(
        "Das ist keine Text- oder Excel-Datei (Byte {offset} ist ein Steuerzeichen). Bitte als CSV oder XLSX exportieren. / This is not a text or Excel file (byte {offset} is a control character). Export as CSV or XLSX."
    )]
    Binary { offset: usize },
    #[error(
        "Altes Excel-Format (.xls). Bitte in Excel als .xlsx oder .csv speichern. / Old Excel format (.xls). Save it as .xlsx or .csv in Excel."
    )]
    OldExcel,
    #[error(
        "Die Excel-Datei ist beschädigt oder gepackt zu groß ({0}). / The Excel file is damaged or unpacks too large ({0})."
    )]
    BadXlsx(String),
    #[error(
        "Anführungszeichen in Zeile {line} wird nie geschlossen; die Datei ist wohl abgeschnitten oder kein CSV. / The quote opened on line {line} is never closed; the file is probably cut off or not a CSV."
    )]
    UnterminatedQuote { line: usize },
    #[error(
        "Keine Datenzeilen gefunden: nur Kopfzeile oder Titel. / No data rows found: only a header or title."
    )]
    NoRows,
    #[error(
        "Zeile {line} hat mehr als {limit} Spalten; so breit ist kein Export. Bitte nur die Spalten des Exports hochladen. / The row on line {line} has more than {limit} columns; no export is that wide. Upload the export's columns only."
    )]
    TooManyColumns { line: usize, limit: usize },
    #[error(
        "Zeile {line} ist {bytes} Bytes lang, erlaubt sind höchstens {limit}. Ist das wirklich ein Export? / The row on line {line} is {bytes} bytes long, at most {limit} are allowed. Is this really an export?"
    )]
    RowTooLong {
        line: usize,
        bytes: usize,
        limit: usize,
    },
    #[error(
        "Die Datei wiederholt sich: ab Zeile {line} stehen dieselben {rows} Zeilen noch einmal wie ab Zeile {first_line}. Wohl wurde der Export zweimal angehängt; bitte die Wiederholung ab Zeile {line} löschen und erneut hochladen. / The file repeats itself: from line {line} on, the same {rows} rows come again as from line {first_line}. The export was probably appended twice; delete the repetition from line {line} on and upload again."
    )]
    Repeated {
        /// Where the second copy starts.
        line: usize,
        /// Where the first copy starts.
        first_line: usize,
        /// Rows in each copy.
        rows: usize,
    },
    #[error("{0}")]
    Headers(#[from] HeaderError),
    #[error("{}", render_problems(.problems, *.total, crate::i18n::Lang::De))]
    Invalid {
        problems: Vec<Problem>,
        total: usize,
    },
    #[error("Das Zuordnungsprofil ist fehlerhaft: {0} / The mapping profile is invalid: {0}")]
    Profile(String),
}

/// Renders a list of problems, one per line, with a summary first.
pub fn render_problems(problems: &[Problem], total: usize, lang: Lang) -> String {
    let mut out = match lang {
        Lang::De => format!(
            "Die Datei wurde nicht importiert: {total} Problem(e) gefunden. Bitte korrigieren und erneut hochladen; es wurde nichts gespeichert.\n"
        ),
        Lang::En => format!(
            "The file was not imported: {total} problem(s) found. Correct them and upload again; nothing was stored.\n"
        ),
    };
    for p in problems {
        out.push_str("  ");
        out.push_str(&p.render(lang));
        out.push('\n');
    }
    if total > problems.len() {
        out.push_str(&match lang {
            Lang::De => format!("  … und {} weitere.\n", total - problems.len()),
            Lang::En => format!("  … and {} more.\n", total - problems.len()),
        });
    }
    out
}

impl UploadError {
    /// The message in one language (the `Display` form carries both).
    pub fn render(&self, lang: Lang) -> String {
        match self {
            UploadError::Invalid { problems, total } => render_problems(problems, *total, lang),
            UploadError::Headers(h) => h.render(lang),
            other => {
                let s = other.to_string();
                match s.split_once(" / ") {
                    Some((de, en)) => lang.pick(de, en).to_string(),
                    None => s,
                }
            }
        }
    }
}

/// Headers quoted the way the language does: „A“, „B“ or "A", "B".
fn per_quote(headers: &[String], lang: Lang) -> String {
    headers
        .iter()
        .map(|h| match lang {
            Lang::De => format!("„{h}“"),
            Lang::En => format!("\"{h}\""),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The headers could not be matched to the kind's columns.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum HeaderError {
    #[error("{}", self.render(Lang::De))]
    Unknown {
        kind: &'static str,
        found: Vec<String>,
        missing: Vec<&'static str>,
        profile_hint: String,
    },
    #[error("{}", self.render(Lang::De))]
    PersonalData { columns: Vec<String>, line: usize },
    #[error("{}", self.render(Lang::De))]
    DuplicateColumn {
        canonical: &'static str,
        headers: Vec<String>,
    },
    #[error("{}", self.render(Lang::De))]
    KindNotRecognised { found: Vec<String> },
    /// Columns of two layouts of one kind in one file: contacts as totals per day or month
    /// (`offered` …) and as one row per call (`queued`, `outcome` …).
    #[error("{}", self.render(Lang::De))]
    MixedLayout {
        totals: Vec<String>,
        per_call: Vec<String>,
    },
}

impl HeaderError {
    /// The message for the upload form's column mapping (German, no command-line hints).
    pub fn for_mapping_form(&self) -> String {
        let quoted = |v: &[String]| {
            v.iter()
                .map(|c| format!("„{c}“"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            HeaderError::Unknown { kind, missing, .. } => format!(
                "Die Spalten passen nicht zur Datenart „{kind}“: es fehlt {}.",
                missing.join(", ")
            ),
            HeaderError::PersonalData { columns, .. } => format!(
                "Die Spalten {} enthalten personenbezogene Daten: bitte „nicht übernehmen“ wählen.",
                quoted(columns)
            ),
            HeaderError::DuplicateColumn { canonical, headers } => format!(
                "Mehrere Spalten meinen dasselbe ({canonical}): {}. Bitte nur eine davon zuordnen.",
                quoted(headers)
            ),
            HeaderError::KindNotRecognised { .. } => {
                "Die Datenart ist an den Spalten nicht zu erkennen: bitte wählen.".to_string()
            }
            HeaderError::MixedLayout { totals, per_call } => format!(
                "Die Spalten mischen Summen ({}) und einzelne Anrufe ({}): bitte nur eine der beiden Formen zuordnen.",
                quoted(totals),
                quoted(per_call)
            ),
        }
    }

    /// The message in one language.
    pub fn render(&self, lang: Lang) -> String {
        match (self, lang) {
            (
                HeaderError::Unknown {
                    kind,
                    found,
                    missing,
                    profile_hint,
                },
                Lang::De,
            ) => format!(
                "Die Spalten passen nicht zur Datenart „{kind}“.\nGefundene Spalten: {}\nEs fehlt: {}\nLegen Sie ein Zuordnungsprofil an (--profile DATEI), z. B.:\n\n{profile_hint}",
                found.join(" | "),
                missing.join(", ")
            ),
            (
                HeaderError::Unknown {
                    kind,
                    found,
                    missing,
                    profile_hint,
                },
                Lang::En,
            ) => format!(
                "The columns do not fit the data kind \"{kind}\".\nColumns found: {}\nMissing: {}\nCreate a mapping profile (--profile FILE), for example:\n\n{profile_hint}",
                found.join(" | "),
                missing.join(", ")
            ),
            (HeaderError::PersonalData { columns, line }, Lang::De) => format!(
                "Zeile {line}: Die Spalten {} enthalten personenbezogene Daten und werden nicht angenommen. Entfernen Sie sie aus dem Export oder tragen Sie sie im Zuordnungsprofil unter drop = [...] ein.",
                columns
                    .iter()
                    .map(|c| format!("„{c}“"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            (HeaderError::PersonalData { columns, line }, Lang::En) => format!(
                "line {line}: the columns {} hold personal data and are not accepted. Remove them from the export or list them in the mapping profile under drop = [...].",
                columns
                    .iter()
                    .map(|c| format!("\"{c}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            (HeaderError::DuplicateColumn { canonical, headers }, Lang::De) => format!(
                "Mehrere Spalten meinen dasselbe ({canonical}): {}. Bitte eine davon im Profil unter drop eintragen.",
                headers.join(", ")
            ),
            (HeaderError::DuplicateColumn { canonical, headers }, Lang::En) => format!(
                "Several columns mean the same ({canonical}): {}. List one of them under drop in the profile.",
                headers.join(", ")
            ),
            (HeaderError::KindNotRecognised { found }, Lang::De) => format!(
                "Die Datenart ist an den Spalten nicht zu erkennen ({}). Bitte mit --kind angeben.",
                found.join(" | ")
            ),
            (HeaderError::KindNotRecognised { found }, Lang::En) => format!(
                "The data kind cannot be told from the columns ({}). Give it with --kind.",
                found.join(" | ")
            ),
            (HeaderError::MixedLayout { totals, per_call }, Lang::De) => format!(
                "Die Datei mischt Summen je Tag oder Monat (Spalten {}) und einzelne Anrufe (Spalten {}). Eine Datei enthält entweder Summen oder eine Zeile je Anruf; bitte getrennt hochladen oder die nicht gemeinten Spalten im Zuordnungsprofil unter drop = [...] eintragen.",
                per_quote(totals, Lang::De),
                per_quote(per_call, Lang::De)
            ),
            (HeaderError::MixedLayout { totals, per_call }, Lang::En) => format!(
                "The file mixes totals per day or month (columns {}) and single calls (columns {}). A file holds either totals or one row per call; upload them separately or list the columns not meant in the mapping profile under drop = [...].",
                per_quote(totals, Lang::En),
                per_quote(per_call, Lang::En)
            ),
        }
    }
}
