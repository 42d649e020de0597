//! ZMS statistics downloads (it-at-m/eappointment): Kundenstatistik, Wartestatistik and
//! Dienstleistungsstatistik. They hold per-day and per-hour aggregates of one location, not
//! tickets; `docs/zms-statistics.md` says, from ZMS's writer code, what is in each cell.
//!
//! Everything is found by its label text (`Zeitraum:`, `Datum`, `Max.`, `Zeitabschnitte`, block
//! titles), never by position, because the rows shift with the number of locations and
//! between ZMS versions. Each report becomes visits rows that stand for `n` visits, tagged with
//! the [`Marginal`] they come from, so that the KPI engine takes each figure from the report
//! that has it (see [`crate::kpi::visits`]).

use super::problem::{Issue, UploadError};
use super::read::{Sheet, cell_of};
use super::{Notice, Options, Upload};
use crate::kinds::visits::{Aggregate, Marginal};
use crate::kinds::{Batch, Kind, Parsed};
use crate::rows::cell::Cell;
use crate::rows::row::Problems;
use crate::timefmt::{civil_from_days, days_from_civil, days_in_month};
use std::collections::BTreeMap;

/// The three reports, by the title ZMS writes into A1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    /// `Kundenstatistik`: per day, persons served and missed, with and without appointment.
    Clients,
    /// `Wartesituation` (the Wartestatistik): per day and hour band, tickets waiting and their
    /// mean wait, on the sheets Gesamt, Terminkunden and Spontankunden.
    Waiting,
    /// `Dienstleistungsstatistik`: per service and day, services rendered.
    Requests,
}

impl Report {
    /// The report a workbook's first sheet announces in A1, if it is a ZMS download.
    pub fn recognise(first: &Sheet) -> Option<Report> {
        let a1 = first.rows.first()?.first().map(cell_of)?;
        match a1.text()? {
            "Kundenstatistik" => Some(Report::Clients),
            "Wartesituation" | "Wartestatistik" => Some(Report::Waiting),
            "Dienstleistungsstatistik" => Some(Report::Requests),
            _ => None,
        }
    }

    /// The report's name as office staff know it.
    pub fn name(self) -> &'static str {
        match self {
            Report::Clients => "Kundenstatistik",
            Report::Waiting => "Wartestatistik",
            Report::Requests => "Dienstleistungsstatistik",
        }
    }

    /// What a published month holds of this report: one part per report and location, so
    /// that the three reports of a month complement each other and the same report again
    /// replaces its earlier upload.
    fn part(self, location: &str) -> String {
        format!("zms:{}:{location}", self.name())
    }
}

/// The ZMS statistics downloads as a [`super::Recogniser`].
pub struct Zms;

impl super::Recogniser for Zms {
    fn recognises(&self, first: &Sheet) -> bool {
        Report::recognise(first).is_some()
    }

    fn read(&self, sheets: &[Sheet], opts: &Options) -> Result<Upload, UploadError> {
        match sheets.first().and_then(Report::recognise) {
            Some(report) => read(report, sheets, opts),
            None => Err(UploadError::NoRows),
        }
    }
}

/// Reads a ZMS report into visits rows. Every problem is listed at once with sheet and cell.
pub fn read(report: Report, sheets: &[Sheet], opts: &Options) -> Result<Upload, UploadError> {
    let mut problems = Problems::default();
    let first = &sheets[0];
    let info = InfoHeader::read(first, &mut problems);
    let office = info
        .as_ref()
        .and_then(|i| i.department.clone())
        .or_else(|| opts.office.clone());
    let today = opts.today.unwrap_or_else(crate::timefmt::today);
    let mut out = Aggregate::default();
    if let Some(info) = &info
        && report == Report::Waiting
        && info.locations > 1
    {
        // ZMS takes the largest count and the plain mean of the means over the chosen
        // locations: no weights to compute a mean wait with.
        problems.push(
            info.period_line,
            format!("Standorte (Blatt „{}“)", first.name),
            &Cell::Text(&info.location),
            Issue::ZmsSeveralLocations,
        );
    } else if let (Some(info), Some(office)) = (&info, &office) {
        let target = Target {
            office,
            location: &info.location,
            first_day: info.first_day,
            last_day: info.last_day,
            today,
        };
        match report {
            Report::Clients => clients(first, &target, &mut out, &mut problems),
            Report::Waiting => waiting(sheets, &target, &mut out, &mut problems),
            Report::Requests => requests(first, &target, &mut out, &mut problems),
        }
    } else if info.is_some() {
        problems.push(
            1,
            format!("{} (Blatt „{}“)", report.name(), first.name),
            &Cell::Empty,
            Issue::ZmsNoOffice,
        );
    }
    if problems.total > 0 {
        return Err(UploadError::Invalid {
            problems: problems.list,
            total: problems.total,
        });
    }
    let info = info.expect("no problems, so the header was read");
    let rows = out.len();
    if rows == 0 {
        return Err(UploadError::NoRows);
    }
    let mut notices = vec![Notice {
        de: format!(
            "ZMS-{} für „{}“, {} bis {}: Summen je Tag{}, keine einzelnen Besuche. Median, 90-%-Wert und Anteil innerhalb der Zielwartezeit sind daraus nicht berechenbar.",
            report.name(),
            info.location,
            crate::timefmt::format_date(info.first_day),
            crate::timefmt::format_date(info.last_day),
            if report == Report::Waiting {
                " und Stunde"
            } else {
                ""
            },
        ),
        en: format!(
            "ZMS {} for \"{}\", {} to {}: totals per day{}, not single visits. The median, 90th percentile and share within the target wait cannot be computed from it.",
            report.name(),
            info.location,
            crate::timefmt::format_date(info.first_day),
            crate::timefmt::format_date(info.last_day),
            if report == Report::Waiting {
                " and hour"
            } else {
                ""
            },
        ),
    }];
    if info.locations > 1 {
        notices.push(Notice {
            de: format!(
                "Der Bericht fasst {} Standorte zusammen; ihre Zahlen lassen sich nicht trennen. Für Zahlen je Standort bitte je Standort herunterladen.",
                info.locations
            ),
            en: format!(
                "The report adds up {} locations; their figures cannot be separated. Download one report per location for figures per location.",
                info.locations
            ),
        });
    }
    let parsed = Parsed::new(out.finish());
    Ok(Upload {
        batch: Batch {
            kind: Kind::Visits,
            parsed,
            skipped: 0,
            notices,
            part: report.part(&info.location),
        },
        problems: Vec::new(),
        encoding: None,
        header_line: info.period_line,
    })
}

/// The info rows above every ZMS table.
struct InfoHeader {
    /// The Behörde: the office (only on the month page).
    department: Option<String>,
    /// The location, or the selected locations joined by " + ".
    location: String,
    locations: usize,
    first_day: i32,
    last_day: i32,
    /// The line of `Zeitraum:`.
    period_line: usize,
}

impl InfoHeader {
    /// Reads rows 2 … up to `Zeitraum: | dd.mm.yyyy | bis | dd.mm.yyyy`.
    fn read(sheet: &Sheet, problems: &mut Problems) -> Option<InfoHeader> {
        let at = |r: usize, c: usize| -> Cell<'_> {
            sheet
                .rows
                .get(r)
                .and_then(|row| row.get(c))
                .map(cell_of)
                .unwrap_or(Cell::Empty)
        };
        let Some(period_row) =
            (1..sheet.rows.len().min(60)).find(|&r| at(r, 0).text() == Some("Zeitraum:"))
        else {
            problems.push(
                1,
                format!("Zeitraum: (Blatt „{}“)", sheet.name),
                &Cell::Empty,
                Issue::ZmsMissing,
            );
            return None;
        };
        let mut day = |c: usize| -> Option<i32> {
            let cell = at(period_row, c);
            let d = cell.text().and_then(crate::rows::parse::date);
            if d.is_none() {
                problems.push(
                    period_row + 1,
                    format!(
                        "Zeitraum (Blatt „{}“, Zelle {})",
                        sheet.name,
                        address(period_row, c)
                    ),
                    &cell,
                    Issue::NotADate,
                );
            }
            d
        };
        let (first_day, last_day) = (day(1)?, day(3)?);
        let lines: Vec<String> = (1..period_row)
            .filter_map(|r| at(r, 0).text().map(str::to_string))
            .collect();
        let (y, m, d) = civil_from_days(first_day);
        let whole_month = d == 1 && last_day == days_from_civil(y, m, days_in_month(y, m));
        // The month page writes organisation, department and location; the page with chosen
        // locations writes one row per location and no department.
        let (department, locations): (Option<String>, Vec<String>) =
            if whole_month && lines.len() == 3 {
                (Some(lines[1].clone()), vec![lines[2].clone()])
            } else {
                (None, lines)
            };
        if locations.is_empty() {
            problems.push(
                period_row,
                format!("Standort (Blatt „{}“)", sheet.name),
                &Cell::Empty,
                Issue::ZmsMissing,
            );
            return None;
        }
        Some(InfoHeader {
            department,
            location: locations.join(" + "),
            locations: locations.len(),
            first_day,
            last_day,
            period_line: period_row + 1,
        })
    }
}

/// Where the rows go: office, location and the period the days must lie in.
struct Target<'a> {
    office: &'a str,
    location: &'a str,
    first_day: i32,
    last_day: i32,
    today: i32,
}

/// A sheet's cells with located problems.
struct Cells<'a> {
    sheet: &'a Sheet,
}

impl<'a> Cells<'a> {
    fn at(&self, r: usize, c: usize) -> Cell<'a> {
        self.sheet
            .rows
            .get(r)
            .and_then(|row| row.get(c))
            .map(cell_of)
            .unwrap_or(Cell::Empty)
    }

    fn text(&self, r: usize, c: usize) -> Option<&'a str> {
        self.at(r, c).text()
    }

    /// The first row (from `from`) whose cell in column `c` is `label`.
    fn find_row(&self, from: usize, c: usize, label: &str) -> Option<usize> {
        (from..self.sheet.rows.len()).find(|&r| self.text(r, c) == Some(label))
    }

    fn problem(&self, problems: &mut Problems, r: usize, c: usize, label: &str, issue: Issue) {
        problems.push(
            r + 1,
            format!(
                "{label} (Blatt „{}“, Zelle {})",
                self.sheet.name,
                address(r, c)
            ),
            &self.at(r, c),
            issue,
        );
    }

    /// A count: blank is 0 (ZMS writes a numeric 0 as an empty cell), a number or a text
    /// holding a whole number.
    fn count(&self, problems: &mut Problems, r: usize, c: usize, label: &str) -> Option<i64> {
        let v = match self.at(r, c) {
            Cell::Empty => Some(0.0),
            Cell::Number(n) => Some(n),
            Cell::Text(t) if t.trim().is_empty() => Some(0.0),
            Cell::Text(t) => t.trim().parse::<f64>().ok(),
            _ => None,
        };
        match v {
            Some(n) if n >= 0.0 && n.fract() == 0.0 && n < 1e9 => Some(n as i64),
            Some(n) if n < 0.0 => {
                self.problem(problems, r, c, label, Issue::Negative);
                None
            }
            _ => {
                self.problem(problems, r, c, label, Issue::NotAWholeNumber);
                None
            }
        }
    }

    /// A duration written `mm:ss` (minutes:seconds, minutes may pass 59) as minutes; `-` or
    /// blank is no value, a plain 0 is zero.
    fn minutes(
        &self,
        problems: &mut Problems,
        r: usize,
        c: usize,
        label: &str,
    ) -> Option<Option<f64>> {
        let parsed = match self.at(r, c) {
            Cell::Empty => Some(None),
            Cell::Number(0.0) => Some(Some(0.0)),
            Cell::Text(t) => {
                let t = t.trim();
                if t == "-" || t.is_empty() {
                    Some(None)
                } else {
                    minutes_seconds(t).map(Some)
                }
            }
            _ => None,
        };
        if parsed.is_none() {
            self.problem(problems, r, c, label, Issue::NotMinutesSeconds);
        }
        parsed
    }

    /// A day in the period of the report.
    fn day(&self, problems: &mut Problems, r: usize, c: usize, t: &Target) -> Option<i32> {
        let cell = self.at(r, c);
        let Some(day) = cell.text().and_then(crate::rows::parse::date) else {
            self.problem(problems, r, c, "Datum", Issue::NotADate);
            return None;
        };
        if day > t.today {
            self.problem(problems, r, c, "Datum", Issue::InFuture);
            return None;
        }
        if day < t.first_day || day > t.last_day {
            self.problem(problems, r, c, "Datum", Issue::ZmsOutsidePeriod);
            return None;
        }
        Some(day)
    }
}

/// `12:30` or `75:04` (minutes:seconds) as minutes.
fn minutes_seconds(t: &str) -> Option<f64> {
    let (m, s) = t.split_once(':')?;
    if m.is_empty() || m.len() > 6 || s.len() != 2 {
        return None;
    }
    let m: u32 = m.parse().ok()?;
    let s: u32 = s.parse().ok()?;
    (s < 60).then(|| m as f64 + s as f64 / 60.0)
}

/// `C10` for row index 9, column index 2.
fn address(r: usize, c: usize) -> String {
    let mut letters = Vec::new();
    let mut n = c + 1;
    while n > 0 {
        letters.push(b'A' + ((n - 1) % 26) as u8);
        n = (n - 1) / 26;
    }
    letters.reverse();
    format!("{}{}", String::from_utf8_lossy(&letters), r + 1)
}

/// Kundenstatistik: the header row has `Datum` in B; the totals row (month name, year) sits
/// above the day rows and is not read, since it is their sum.
fn clients(sheet: &Sheet, t: &Target, out: &mut Aggregate, problems: &mut Problems) {
    let cells = Cells { sheet };
    let Some(header) = cells.find_row(0, 1, "Datum") else {
        cells.problem(problems, 0, 1, "Datum", Issue::ZmsMissing);
        return;
    };
    let width = sheet.rows[header].len();
    let column = |name: &str| (0..width).find(|&c| cells.text(header, c) == Some(name));
    let needed = [
        "Kunden Erschienen",
        "Kunden Nicht Erschienen",
        "davon Terminkunden Erschienen",
        "davon Terminkunden Nicht Erschienen",
    ];
    let mut cols = [0usize; 4];
    let mut missing = false;
    for (i, name) in needed.iter().enumerate() {
        match column(name) {
            Some(c) => cols[i] = c,
            None => {
                cells.problem(problems, header, width, name, Issue::ZmsMissing);
                missing = true;
            }
        }
    }
    if missing {
        return;
    }
    for r in header + 1..sheet.rows.len() {
        let b = cells.at(r, 1);
        if b.is_empty() && cells.at(r, 0).is_empty() {
            continue;
        }
        // The totals row: a month name and the year as a number.
        if matches!(b, Cell::Number(_)) {
            continue;
        }
        let Some(day) = cells.day(problems, r, 1, t) else {
            continue;
        };
        let v: Vec<Option<i64>> = needed
            .iter()
            .zip(cols)
            .map(|(name, c)| cells.count(problems, r, c, name))
            .collect();
        let [Some(came), Some(missed), Some(came_appt), Some(missed_appt)] = v[..] else {
            continue;
        };
        if came_appt > came {
            cells.problem(
                problems,
                r,
                cols[2],
                needed[2],
                Issue::MoreThanTotal {
                    total: "Kunden Erschienen",
                },
            );
            continue;
        }
        if missed_appt > missed {
            cells.problem(
                problems,
                r,
                cols[3],
                needed[3],
                Issue::MoreThanTotal {
                    total: "Kunden Nicht Erschienen",
                },
            );
            continue;
        }
        for (appointment, no_show, n) in [
            (true, false, came_appt),
            (false, false, came - came_appt),
            (true, true, missed_appt),
            (false, true, missed - missed_appt),
        ] {
            out.push(
                Marginal::Day,
                t.office,
                t.location,
                day,
                None,
                None,
                Some(appointment),
                no_show,
                None,
                n,
            );
        }
    }
}

/// The sheets of a Wartestatistik and the customers each one counts.
const WAITING_SHEETS: [(&str, Option<bool>); 3] = [
    ("Gesamt", None),
    ("Terminkunden", Some(true)),
    ("Spontankunden", Some(false)),
];

/// Wartestatistik: per sheet, the date row (`Max.` in B), then blocks headed `Zeitabschnitte`
/// with the band in A and one column per day. The rows under the date row
/// (`Stundendurchschnitt` …) are unweighted means of means and are never read.
fn waiting(sheets: &[Sheet], t: &Target, out: &mut Aggregate, problems: &mut Problems) {
    let mut found = 0;
    for (name, appointment) in WAITING_SHEETS {
        let Some(sheet) = sheets.iter().find(|s| s.name == name) else {
            continue;
        };
        found += 1;
        let marginal = if appointment.is_some() {
            Marginal::HourByAppointment
        } else {
            Marginal::Hour
        };
        waiting_sheet(sheet, appointment, marginal, t, out, problems);
    }
    if found == 0 {
        let first = &sheets[0];
        Cells { sheet: first }.problem(
            problems,
            0,
            0,
            "Blatt Gesamt / Terminkunden / Spontankunden",
            Issue::ZmsMissing,
        );
    }
}

fn waiting_sheet(
    sheet: &Sheet,
    appointment: Option<bool>,
    marginal: Marginal,
    t: &Target,
    out: &mut Aggregate,
    problems: &mut Problems,
) {
    let cells = Cells { sheet };
    let Some(date_row) = cells.find_row(0, 1, "Max.") else {
        cells.problem(problems, 0, 1, "Max.", Issue::ZmsMissing);
        return;
    };
    let mut days: Vec<(usize, i32)> = Vec::new();
    for c in 2..sheet.rows[date_row].len() {
        if cells.at(date_row, c).is_empty() {
            continue;
        }
        if let Some(d) = cells.day(problems, date_row, c, t) {
            days.push((c, d));
        }
    }
    // Block title (in C of the `Zeitabschnitte` row) → (first band row, band rows).
    let mut blocks: BTreeMap<String, (usize, Vec<(usize, i32)>)> = BTreeMap::new();
    let mut r = date_row + 1;
    while let Some(start) = cells.find_row(r, 0, "Zeitabschnitte") {
        let title = cells.text(start, 2).unwrap_or("").to_string();
        let mut bands = Vec::new();
        let mut b = start + 1;
        while let Some(hour) = cells.text(b, 0).and_then(band_hour) {
            bands.push((b, hour));
            b += 1;
        }
        blocks.insert(title, (start, bands));
        r = b.max(start + 1);
    }
    let kind = sheet.name.as_str();
    let wait_title = format!("Durchschnittliche Wartezeit in Min. ({kind})");
    let count_title = format!(
        "Wartende {}",
        if kind == "Gesamt" {
            "Gesamtkunden"
        } else {
            kind
        }
    );
    let (Some((_, wait_bands)), Some((_, count_bands))) =
        (blocks.get(&wait_title), blocks.get(&count_title))
    else {
        for title in [&wait_title, &count_title] {
            if !blocks.contains_key(title.as_str()) {
                cells.problem(problems, date_row, 0, title, Issue::ZmsMissingBlock);
            }
        }
        return;
    };
    for &(count_row, hour) in count_bands {
        let Some(&(wait_row, _)) = wait_bands.iter().find(|(_, h)| *h == hour) else {
            cells.problem(problems, count_row, 0, &wait_title, Issue::ZmsMissing);
            continue;
        };
        for &(c, day) in &days {
            let n = cells.count(problems, count_row, c, &count_title);
            let w = cells.minutes(problems, wait_row, c, &wait_title);
            let (Some(n), Some(w)) = (n, w) else {
                continue;
            };
            if n > 0 {
                out.push(
                    marginal,
                    t.office,
                    t.location,
                    day,
                    Some(hour),
                    None,
                    appointment,
                    false,
                    w,
                    n,
                );
            }
        }
    }
}

/// `7-8 Uhr` → 7.
fn band_hour(s: &str) -> Option<i32> {
    let (from, rest) = s.strip_suffix(" Uhr")?.split_once('-')?;
    let from: i32 = from.trim().parse().ok()?;
    let to: i32 = rest.trim().parse().ok()?;
    (to == from + 1 && (0..24).contains(&from)).then_some(from)
}

/// Dienstleistungsstatistik: header `Dienstleistung | Ø Bearbeitungsdauer | Summe | days…`,
/// one row per service up to an empty row, then the `Summe` row (not read).
fn requests(sheet: &Sheet, t: &Target, out: &mut Aggregate, problems: &mut Problems) {
    let cells = Cells { sheet };
    let Some(header) = cells.find_row(0, 0, "Dienstleistung") else {
        cells.problem(problems, 0, 0, "Dienstleistung", Issue::ZmsMissing);
        return;
    };
    let mut days: Vec<(usize, i32)> = Vec::new();
    for c in 1..sheet.rows[header].len() {
        let Some(text) = cells.text(header, c) else {
            continue;
        };
        if crate::rows::parse::date(text).is_some()
            && let Some(d) = cells.day(problems, header, c, t)
        {
            days.push((c, d));
        }
    }
    if days.is_empty() {
        cells.problem(problems, header, 3, "Datum", Issue::ZmsMissing);
        return;
    }
    for r in header + 1..sheet.rows.len() {
        let Some(service) = cells.text(r, 0) else {
            break;
        };
        if service == "Summe" {
            break;
        }
        for &(c, day) in &days {
            if let Some(n) = cells.count(problems, r, c, service)
                && n > 0
            {
                out.push(
                    Marginal::Service,
                    t.office,
                    t.location,
                    day,
                    None,
                    Some(service),
                    None,
                    false,
                    None,
                    n,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_seconds_reads_zms_durations() {
        assert_eq!(minutes_seconds("00:00"), Some(0.0));
        assert_eq!(minutes_seconds("04:06"), Some(4.1));
        assert_eq!(minutes_seconds("75:24"), Some(75.4));
        assert_eq!(minutes_seconds("130:00"), Some(130.0));
        assert_eq!(minutes_seconds("12:60"), None);
        assert_eq!(minutes_seconds("12:5"), None);
        assert_eq!(minutes_seconds("ca. 5"), None);
    }

    #[test]
    fn bands_and_addresses() {
        assert_eq!(band_hour("7-8 Uhr"), Some(7));
        assert_eq!(band_hour("18-19 Uhr"), Some(18));
        assert_eq!(band_hour("7-9 Uhr"), None);
        assert_eq!(band_hour("Zeitabschnitte"), None);
        assert_eq!(address(9, 2), "C10");
        assert_eq!(address(0, 26), "AA1");
    }
}
