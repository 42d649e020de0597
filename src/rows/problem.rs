//! What can be wrong with one value or row of an export, said so that an office clerk knows
//! what to do. Row problems are collected for the whole file and reported together.

use crate::i18n::Lang;

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
    /// A ZMS Wartestatistik of several locations (maxima and unweighted means, no weights).
    ZmsSeveralLocations,
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
            ZmsSeveralLocations => lang.pick("eine Wartestatistik mehrerer Standorte enthält keine verwertbaren Zahlen: ZMS nimmt dort je Stunde die größte Zahl Wartender und den einfachen Durchschnitt der Mittelwerte. Bitte die Wartestatistik je Standort herunterladen", "a Wartestatistik of several locations holds no usable figures: ZMS takes the largest number waiting and the plain mean of the means per hour. Download the Wartestatistik per location").into(),
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
