//! What can be wrong with an upload, said so that an office clerk knows what to do.
//!
//! Row problems ([`Problem`]) are collected for the whole file and reported together; file
//! problems ([`UploadError`]) stop reading at once because no row can be trusted.

use crate::i18n::Lang;
use thiserror::Error;

/// What is wrong with one cell or row.
#[derive(Debug, Clone, PartialEq)]
pub enum Issue {
    NotADate,
    NotADateTime,
    /// A date or datetime not in the profile's `date_format`: the format and an example.
    NotInDateFormat {
        format: String,
        example: String,
    },
    NotATime,
    NotANumber,
    NotAWholeNumber,
    NotABool,
    NotAMonth,
    Missing,
    Negative,
    InFuture,
    CalledBeforeArrived,
    FinishedBeforeCalled,
    DecidedBeforeReceived,
    NoArrival,
    NoMonth,
    Duplicate {
        first_line: usize,
    },
    /// The identity (ticket or case number) of an earlier row; `per_day`: on the same day.
    DuplicateId {
        first_line: usize,
        per_day: bool,
    },
    CellTooLong,
    MoreThanTotal {
        total: &'static str,
    },
    /// A call's outcome that is neither answered nor abandoned (contacts).
    NotAnOutcome,
    /// A call answered before it entered the queue, also across midnight (contacts).
    AnsweredBeforeQueued,
    /// A call's service ended before it was answered, also across midnight (contacts).
    EndedBeforeAnswered,
    /// A call marked abandoned that has a time it was answered (contacts).
    AbandonedWithAnswer,
    /// A ZMS report without a label, column or sheet it always has.
    ZmsMissing,
    /// A ZMS Wartestatistik sheet without one of its blocks.
    ZmsMissingBlock,
    /// A day outside the report's `Zeitraum`.
    ZmsOutsidePeriod,
    /// A ZMS report of several locations, which names no office, uploaded without one.
    ZmsNoOffice,
    /// A ZMS duration that is not `mm:ss`.
    NotMinutesSeconds,
}

/// One problem, located by the line number as the user sees it in an editor or Excel
/// (header = the line it is on) and by the column header as written in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub line: usize,
    pub column: String,
    pub value: String,
    pub issue: Issue,
}

impl Problem {
    /// The plain-language explanation with what to do.
    pub fn message(&self, lang: Lang) -> String {
        use Issue::*;
        match &self.issue {
            NotADate => lang.pick("kein gültiges Datum; erwartet z. B. 31.03.2025 oder 2025-03-31", "not a valid date; expected e.g. 31.03.2025 or 2025-03-31").into(),
            NotADateTime => lang.pick("kein gültiger Zeitpunkt; erwartet z. B. 31.03.2025 09:15 oder 2025-03-31T09:15:00", "not a valid date and time; expected e.g. 31.03.2025 09:15 or 2025-03-31T09:15:00").into(),
            NotInDateFormat { format, example } => match lang {
                Lang::De => format!("passt nicht zum Datumsformat „{format}“ des Zuordnungsprofils; erwartet z. B. {example}"),
                Lang::En => format!("does not match the mapping profile's date format \"{format}\"; expected e.g. {example}"),
            },
            NotATime => lang.pick("keine gültige Uhrzeit; erwartet z. B. 09:15 oder 09:15:30", "not a valid time; expected e.g. 09:15 or 09:15:30").into(),
            NotANumber => lang.pick("keine Zahl; erwartet z. B. 12 oder 12,5", "not a number; expected e.g. 12 or 12.5").into(),
            NotAWholeNumber => lang.pick("keine ganze Zahl; erwartet z. B. 12", "not a whole number; expected e.g. 12").into(),
            NotABool => lang.pick("weder ja noch nein; erlaubt sind ja/nein, 1/0, x/leer, true/false", "neither yes nor no; allowed are ja/nein, 1/0, x/empty, true/false").into(),
            NotAMonth => lang.pick("kein Monat; erwartet z. B. 2025-03 oder 03/2025", "not a month; expected e.g. 2025-03 or 03/2025").into(),
            Missing => lang.pick("Pflichtangabe fehlt; bitte ausfüllen oder beim Import angeben (--office)", "required value is missing; fill it in or give it with the import (--office)").into(),
            Negative => lang.pick("darf nicht negativ sein", "must not be negative").into(),
            InFuture => lang.pick("liegt in der Zukunft; bitte Datum und Zeitraum des Exports prüfen", "lies in the future; check the date and the export's period").into(),
            CalledBeforeArrived => lang.pick("Aufruf liegt vor der Ankunft; bitte Uhrzeiten prüfen", "called before arrival; check the times").into(),
            FinishedBeforeCalled => lang.pick("Ende liegt vor dem Aufruf; bitte Uhrzeiten prüfen", "finished before being called; check the times").into(),
            DecidedBeforeReceived => lang.pick("Entscheidung liegt vor dem Eingang; bitte Daten prüfen", "decided before received; check the dates").into(),
            NoArrival => lang.pick("Ankunft fehlt, aber die Zeile ist kein nicht wahrgenommener Termin; Ankunftszeit ergänzen oder als nicht erschienen markieren", "arrival missing but the row is not a missed appointment; add the arrival time or mark it as no-show").into(),
            NoMonth => lang.pick("kein Datum, aus dem sich der Monat ergibt (Ankunft, Termin oder Datum)", "no date to take the month from (arrival, appointment or date)").into(),
            Duplicate { first_line } => match lang {
                Lang::De => format!("doppelte Zeile: gleich wie Zeile {first_line}; bitte eine davon löschen"),
                Lang::En => format!("duplicate row: same as line {first_line}; delete one of them"),
            },
            DuplicateId { first_line, per_day } => match (lang, per_day) {
                (Lang::De, false) => format!("doppelte Nummer: steht schon in Zeile {first_line}; jede Nummer darf nur einmal vorkommen. Bitte prüfen, welche Zeile stimmt, und die andere löschen"),
                (Lang::De, true) => format!("doppelte Nummer: steht am selben Tag schon in Zeile {first_line}; jede Nummer darf je Tag nur einmal vorkommen. Bitte prüfen, welche Zeile stimmt, und die andere löschen"),
                (Lang::En, false) => format!("duplicate number: already on line {first_line}; each number may occur only once. Check which row is right and delete the other"),
                (Lang::En, true) => format!("duplicate number: already on line {first_line}, the same day; each number may occur only once a day. Check which row is right and delete the other"),
            },
            CellTooLong => lang.pick("Zelle ist zu lang (über 4.096 Zeichen); ist das die richtige Datei?", "cell is too long (over 4,096 characters); is this the right file?").into(),
            MoreThanTotal { total } => match lang {
                Lang::De => format!("größer als {total}; bitte Zahlen prüfen"),
                Lang::En => format!("larger than {total}; check the numbers"),
            },
            NotAnOutcome => lang.pick("unbekanntes Ergebnis; erlaubt sind answered (angenommen) und abandoned (aufgelegt); andere Codes im Zuordnungsprofil unter [values.outcome] zuordnen", "unknown outcome; allowed are answered and abandoned; map other codes in the mapping profile under [values.outcome]").into(),
            AnsweredBeforeQueued => lang.pick("Annahme liegt vor dem Eingang in die Warteschlange (auch über Mitternacht gerechnet wären es über 12 Stunden); bitte Uhrzeiten prüfen", "answered before entering the queue (even across midnight it would be over 12 hours); check the times").into(),
            EndedBeforeAnswered => lang.pick("Gesprächsende liegt vor der Annahme (auch über Mitternacht gerechnet wären es über 12 Stunden); bitte Uhrzeiten prüfen", "the call ended before it was answered (even across midnight it would be over 12 hours); check the times").into(),
            AbandonedWithAnswer => lang.pick("der Anruf ist als aufgelegt (abandoned) markiert, hat aber eine Annahmezeit; bitte Ergebnis oder Uhrzeit prüfen", "the call is marked abandoned but has a time it was answered; check the outcome or the time").into(),
            ZmsMissing => lang.pick("fehlt; der ZMS-Bericht ist unvollständig oder verändert. Bitte erneut aus ZMS herunterladen und unverändert hochladen", "missing; the ZMS report is incomplete or was edited. Download it from ZMS again and upload it unchanged").into(),
            ZmsMissingBlock => lang.pick("dieser Block fehlt auf dem Blatt; ohne ihn lässt sich die mittlere Wartezeit nicht gewichten. Bitte die Wartestatistik erneut aus ZMS herunterladen und unverändert hochladen", "this block is missing from the sheet; without it the mean wait cannot be weighted. Download the Wartestatistik from ZMS again and upload it unchanged").into(),
            ZmsOutsidePeriod => lang.pick("liegt außerhalb des Zeitraums, den der Bericht oben nennt; bitte den Bericht unverändert hochladen", "lies outside the period the report states at the top; upload the report unchanged").into(),
            ZmsNoOffice => lang.pick("der Bericht fasst ausgewählte Standorte zusammen und nennt kein Amt; bitte das Amt beim Hochladen angeben (Feld „Amt“ oder --office)", "the report adds up chosen locations and names no office; give the office with the upload (field \"office\" or --office)").into(),
            NotMinutesSeconds => lang.pick("keine Dauer; erwartet Minuten:Sekunden wie 04:30 oder 75:04", "not a duration; expected minutes:seconds such as 04:30 or 75:04").into(),
        }
    }

    /// `Zeile 4, Spalte „Aufruf“, Wert „08:55“: …` in the chosen language.
    pub fn render(&self, lang: Lang) -> String {
        match lang {
            Lang::De => format!(
                "Zeile {}, Spalte „{}“, Wert „{}“: {}",
                self.line,
                self.column,
                self.value,
                self.message(lang)
            ),
            Lang::En => format!(
                "line {}, column \"{}\", value \"{}\": {}",
                self.line,
                self.column,
                self.value,
                self.message(lang)
            ),
        }
    }
}

/// Most problems a report lists; a file with more is surely the wrong file or layout, and the
/// count of the rest is still given.
pub const MAX_LISTED_PROBLEMS: usize = 10_000;

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
